//! One participant's media session: a `str0m::Rtc` owned and driven by its own task.
//!
//! The task is the only code touching its `Rtc`, so no lock guards it, and a panic inside
//! str0m (which panics on internal bugs by design) unwinds this task alone: the room's
//! watcher sees the `JoinError` and cleans up (see `server::spawn_peer`).
//!
//! The drive loop keeps str0m's single-mutation invariant: every mutation (an input, a
//! forwarded frame, an SDP change) is followed by draining `poll_output` until it returns
//! a timeout, before the next one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use str0m::bwe::BweKind;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequest, KeyframeRequestKind, MediaAdded, MediaData};
use str0m::media::{MediaKind, Mid, Rid, Rids};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::MediaError;
use crate::handle::PeerEvent;
use crate::link::{Control, Forwarded, Forwarding, PeerInput, PeerKey, TrackIn, TrackKind};
use crate::room::{LeaveReason, RoomEvent, RoomShared};
use crate::simulcast::{
    Demand, FrameVerdict, LAYER_EVALUATION_INTERVAL, LayerMeter, LayerSwitch, Layers, LossEstimate,
    Quality, allocate,
};
use crate::tcp::TcpConnections;

/// The longest SDP accepted. An SDP grows by about 1.8 kB per m-line and a subscriber
/// has two per publisher: 20 publishers make 73 kB, 100 make 360 kB.
pub const MAX_SDP_BYTES: usize = 512 * 1024;
/// A publisher is asked for a keyframe at most this often: every subscriber's picture
/// loss and every new subscriber would otherwise each cost a full keyframe.
const KEYFRAME_REQUEST_MIN_INTERVAL: Duration = Duration::from_millis(500);
/// A session whose client has not connected (ICE and DTLS) this long after joining is
/// closed: an offer that never came, or a media port the client cannot reach. Once
/// connected, str0m's ICE-lite agent ends a session after 15 s without consent checks.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

static NEXT_TRACK_ID: AtomicU64 = AtomicU64::new(1);

/// What an audio subscription is assumed to take of a subscriber's bandwidth when the
/// simulcast layers are chosen (Opus at browsers' default rate, with headers).
const AUDIO_RESERVE_BPS: u64 = 50_000;

struct Published {
    track: Arc<TrackIn>,
    /// Measures the simulcast layers' bitrates (simulcast tracks only).
    meter: Option<LayerMeter>,
    /// When a keyframe of each layer (`None`: the track without simulcast) was last asked.
    last_keyframe_request: Vec<(Option<Rid>, Instant)>,
    /// Requests that came within the interval of the last one: asked once it has passed
    /// (the keyframe that answered the earlier request may have come too soon for them,
    /// e.g. before a recording started).
    deferred_keyframes: Vec<(Option<Rid>, KeyframeRequestKind)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SubscriptionState {
    /// To be offered to the client.
    ToOpen,
    /// In our offer, waiting for the answer.
    Negotiating(Mid),
    Open(Mid),
    /// The publisher left or turned the track off: the m-line is to be stopped.
    ToStop(Mid),
    NegotiatingStop(Mid),
}

struct Subscription {
    track: Arc<TrackIn>,
    state: SubscriptionState,
    /// The track was withdrawn while its m-line was being negotiated.
    withdrawn: bool,
    /// The simulcast layer forwarded, and the timestamps across switches.
    layer: LayerSwitch,
}

impl Subscription {
    fn new(track: Arc<TrackIn>) -> Subscription {
        Subscription {
            track,
            state: SubscriptionState::ToOpen,
            withdrawn: false,
            layer: LayerSwitch::default(),
        }
    }
}

pub(crate) struct PeerTask {
    pub key: PeerKey,
    pub participant: String,
    pub room: Arc<RoomShared>,
    pub rtc: Rtc,
    pub transport: Arc<Transport>,
    pub forwarding: Arc<Forwarding>,
    pub events: mpsc::UnboundedSender<PeerEvent>,
    /// Our current ICE username fragment (it changes with an ICE restart).
    ufrag: String,
    published: Vec<Published>,
    subscriptions: Vec<Subscription>,
    pending: Option<SdpPendingOffer>,
    /// Server offers wait for the client's first offer to be answered.
    answered_first_offer: bool,
    connected: bool,
    next_timeout: Instant,
    connect_deadline: Instant,
    exit: Option<LeaveReason>,
    /// The bandwidth estimate towards our client (bits per second), from the loss it
    /// reports, updated each layer evaluation.
    egress_estimate: Option<u64>,
    loss: LossEstimate,
    /// The client's own estimate, when it sends REMB.
    remb_estimate: Option<u64>,
    /// The quality our client asked for each publisher's simulcast video.
    qualities: Vec<(String, Quality)>,
    /// When the simulcast layers are next chosen (and our published layers measured).
    next_layer_evaluation: Instant,
    /// The cap on each video our client sends, written in our answers (0: none).
    max_video_kbps: u32,
    /// When deferred keyframe requests are next due.
    deferred_keyframes_at: Option<Instant>,
    /// What we send our client, measured each layer evaluation.
    egress: EgressMeter,
}

/// Bytes sent to the client since the last evaluation, as a bitrate.
struct EgressMeter {
    bytes: u64,
    since: Instant,
    rate_bps: u64,
}

impl EgressMeter {
    fn new() -> Self {
        EgressMeter { bytes: 0, since: Instant::now(), rate_bps: 0 }
    }

    /// The rate over the interval since the last call, then a new interval.
    fn rate_bps(&mut self) -> u64 {
        let elapsed = self.since.elapsed().as_secs_f64();
        if elapsed >= 0.2 {
            self.rate_bps = (self.bytes as f64 * 8.0 / elapsed) as u64;
            self.bytes = 0;
            self.since = Instant::now();
        }
        self.rate_bps
    }
}

/// The server's sockets, shared by every session.
pub(crate) struct Transport {
    pub udp: Arc<UdpSocket>,
    /// Our UDP host candidate: the destination str0m expects on UDP input.
    pub udp_candidate: SocketAddr,
    /// Our passive TCP host candidate, when ICE-TCP is on.
    pub tcp_candidate: Option<SocketAddr>,
    pub tcp: Arc<TcpConnections>,
}

pub(crate) struct PeerChannels {
    pub media: mpsc::Receiver<PeerInput>,
    pub control: mpsc::UnboundedReceiver<Control>,
    /// Resolves when every `PeerHandle` of the session is gone.
    pub handles_gone: oneshot::Receiver<()>,
}

impl PeerTask {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        key: PeerKey,
        participant: String,
        room: Arc<RoomShared>,
        rtc: Rtc,
        transport: Arc<Transport>,
        forwarding: Arc<Forwarding>,
        events: mpsc::UnboundedSender<PeerEvent>,
        ufrag: String,
        existing_tracks: Vec<Arc<TrackIn>>,
        max_video_kbps: u32,
    ) -> Self {
        let subscriptions = existing_tracks.into_iter().map(Subscription::new).collect();
        PeerTask {
            key,
            participant,
            room,
            rtc,
            transport,
            forwarding,
            events,
            ufrag,
            published: Vec::new(),
            subscriptions,
            pending: None,
            answered_first_offer: false,
            connected: false,
            next_timeout: Instant::now(),
            connect_deadline: Instant::now() + CONNECT_TIMEOUT,
            exit: None,
            egress_estimate: None,
            loss: LossEstimate::default(),
            remb_estimate: None,
            qualities: Vec::new(),
            next_layer_evaluation: Instant::now() + LAYER_EVALUATION_INTERVAL,
            max_video_kbps,
            deferred_keyframes_at: None,
            egress: EgressMeter::new(),
        }
    }

    /// Drives the `Rtc` until the session ends; returns why.
    pub async fn run(mut self, mut channels: PeerChannels) -> LeaveReason {
        loop {
            if let Err(reason) = self.drain().await {
                return reason;
            }
            if self.negotiate_if_needed()
                && let Err(reason) = self.drain().await
            {
                return reason;
            }
            let deadline = match self.connected {
                true => self.next_timeout.min(self.next_layer_evaluation),
                false => self.next_timeout.min(self.connect_deadline),
            };
            let deadline = self.deferred_keyframes_at.map_or(deadline, |at| deadline.min(at));
            let deadline = tokio::time::Instant::from_std(deadline);
            tokio::select! {
                biased;
                _ = &mut channels.handles_gone => return self.close().await,
                Some(command) = channels.control.recv() => {
                    if matches!(command, Control::Leave) {
                        return self.close().await;
                    }
                    self.handle_control(command);
                }
                Some(input) = channels.media.recv() => self.handle_input(input),
                () = tokio::time::sleep_until(deadline) => {
                    let now = Instant::now();
                    if !self.connected && now >= self.connect_deadline {
                        let why = format!("no media connection within {CONNECT_TIMEOUT:?}");
                        return LeaveReason::Failed(why);
                    }
                    if self.deferred_keyframes_at.is_some_and(|at| now >= at) {
                        self.deferred_keyframes_at = None;
                        self.ask_deferred_keyframes();
                        continue;
                    }
                    if self.connected && now >= self.next_layer_evaluation {
                        self.next_layer_evaluation = now + LAYER_EVALUATION_INTERVAL;
                        self.measure_published_layers(now);
                        let sending = self.egress.rate_bps();
                        let from_loss = self.loss.update(sending);
                        self.egress_estimate = match (from_loss, self.remb_estimate) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                        self.choose_layers();
                        continue;
                    }
                    self.feed(Input::Timeout(now));
                }
            }
        }
    }

    /// Sends what str0m wants sent (DTLS close_notify, RTCP BYE) and ends.
    async fn close(&mut self) -> LeaveReason {
        if self.rtc.close().is_ok() {
            let _ = self.drain().await;
        }
        LeaveReason::Left
    }

    fn feed(&mut self, input: Input<'_>) {
        if let Err(e) = self.rtc.handle_input(input) {
            self.exit = Some(LeaveReason::Failed(format!("webrtc: {e}")));
        }
    }

    fn handle_input(&mut self, input: PeerInput) {
        match input {
            PeerInput::Datagram { proto, source, data, received } => {
                let Ok(contents) = data.as_slice().try_into() else {
                    debug!(participant = %self.participant, "unrecognised datagram dropped");
                    return;
                };
                // The destination str0m expects is our candidate's address for that
                // transport, whatever address the socket is bound to.
                let destination = match proto {
                    Protocol::Udp => self.transport.udp_candidate,
                    _ => match self.transport.tcp_candidate {
                        Some(addr) => addr,
                        None => return,
                    },
                };
                let receive = Receive { proto, source, destination, contents };
                self.feed(Input::Receive(received, receive));
            }
            PeerInput::Media(forwarded) => self.write_forwarded(&forwarded),
        }
    }

    /// Polls str0m until it only has a timeout left: transmits, handles events.
    async fn drain(&mut self) -> Result<(), LeaveReason> {
        loop {
            if let Some(reason) = self.exit.take() {
                return Err(reason);
            }
            if !self.rtc.is_alive() {
                return Err(LeaveReason::Disconnected);
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.next_timeout = at;
                    return Ok(());
                }
                Ok(Output::Transmit(transmit)) => {
                    let counters = &self.room.counters;
                    counters.sent_datagrams.fetch_add(1, Ordering::Relaxed);
                    counters
                        .sent_bytes
                        .fetch_add(transmit.contents.len() as u64, Ordering::Relaxed);
                    self.egress.bytes += transmit.contents.len() as u64;
                    if transmit.proto != Protocol::Udp {
                        self.transport.tcp.send(transmit.destination, &transmit.contents);
                        continue;
                    }
                    // A send error (e.g. no route) is the network's loss, like a dropped
                    // datagram; ICE notices if it lasts.
                    if let Err(e) =
                        self.transport.udp.send_to(&transmit.contents, transmit.destination).await
                    {
                        debug!(participant = %self.participant, "send failed: {e}");
                    }
                }
                Ok(Output::Event(event)) => self.handle_event(event),
                Err(e) => return Err(LeaveReason::Failed(format!("webrtc: {e}"))),
            }
        }
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Connected => {
                self.connected = true;
                self.room.emit(RoomEvent::Connected { participant: self.participant.clone() });
                let _ = self.events.send(PeerEvent::Connected);
                self.ask_keyframes_for_subscriptions();
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                // ICE-lite: the client's consent checks stopped. Reconnection (ICE restart
                // within a grace period) is for the signalling integration to add.
                self.exit = Some(LeaveReason::Disconnected);
            }
            Event::MediaAdded(added) => self.publish(added),
            Event::MediaChanged(changed) => self.direction_changed(changed.mid, changed.direction),
            Event::MediaData(data) => self.forward(data),
            Event::KeyframeRequest(request) => self.relay_keyframe_request(request),
            // A receiver's own estimate (REMB), from clients that send one.
            Event::EgressBitrateEstimate(BweKind::Remb { estimate, .. }) => {
                self.remb_estimate = Some(estimate.as_u64());
            }
            Event::MediaEgressStats(stats) => {
                if let Some(loss) = stats.loss {
                    self.loss.record(loss);
                }
            }
            _ => {}
        }
    }

    fn handle_control(&mut self, command: Control) {
        match command {
            Control::AcceptOffer { sdp, reply } => {
                let _ = reply.send(self.accept_offer(&sdp));
            }
            Control::AcceptAnswer { sdp, reply } => {
                let _ = reply.send(self.accept_answer(&sdp));
            }
            Control::AddCandidate { candidate, reply } => {
                let _ = reply.send(self.add_candidate(&candidate));
            }
            Control::TrackOpened(track) => self.subscriptions.push(Subscription::new(track)),
            Control::TrackClosed(track_id) => self.withdraw(track_id),
            Control::KeyframeRequest { mid, rid, kind } => {
                if let Some(index) = self.published.iter().position(|p| p.track.mid == mid) {
                    self.request_keyframes(index, rid, kind);
                }
            }
            Control::RequestKeyframes => {
                for index in 0..self.published.len() {
                    if self.published[index].track.kind == MediaKind::Video {
                        self.request_keyframes(index, None, KeyframeRequestKind::Pli);
                    }
                }
            }
            Control::SetQuality { publisher, quality } => {
                match self.qualities.iter_mut().find(|(p, _)| *p == publisher) {
                    Some(entry) => entry.1 = quality,
                    None => self.qualities.push((publisher, quality)),
                }
                self.choose_layers();
            }
            Control::Leave => {}
            #[cfg(test)]
            Control::Panic => panic!("fault injected into the peer task of {}", self.participant),
        }
    }

    fn accept_offer(&mut self, sdp: &str) -> Result<String, MediaError> {
        let offer = SdpOffer::from_sdp_string(bounded_sdp(sdp)?)
            .map_err(|e| MediaError::MalformedSdp(e.to_string()))?;
        // str0m drops any offer of ours still waiting for an answer (glare: the client's
        // offer wins); what it carried is offered again afterwards.
        let result = self.rtc.sdp_api().accept_offer(offer);
        self.pending = None;
        self.subscriptions.retain_mut(|sub| match sub.state {
            SubscriptionState::Negotiating(_) if sub.withdrawn => false,
            SubscriptionState::Negotiating(_) => {
                sub.state = SubscriptionState::ToOpen;
                true
            }
            SubscriptionState::NegotiatingStop(mid) => {
                sub.state = SubscriptionState::ToStop(mid);
                true
            }
            _ => true,
        });
        let answer = result.map_err(|e| MediaError::SdpRefused(e.to_string()))?.to_sdp_string();
        let answer = cap_video_bitrate(answer, self.max_video_kbps);
        self.answered_first_offer = true;
        // A client that restarts ICE (e.g. its network changed) makes str0m pick new local
        // credentials: the socket's routing table must know the new ufrag, or the checks
        // from the client's new address would reach no one.
        if let Some(ufrag) = session_ufrag(&answer)
            && ufrag != self.ufrag
        {
            self.room.route_ufrag(self.key, &self.participant, ufrag.to_owned());
            self.ufrag = ufrag.to_owned();
        }
        Ok(answer)
    }

    fn accept_answer(&mut self, sdp: &str) -> Result<(), MediaError> {
        let answer = SdpAnswer::from_sdp_string(bounded_sdp(sdp)?)
            .map_err(|e| MediaError::MalformedSdp(e.to_string()))?;
        let pending = self.pending.take().ok_or(MediaError::NoPendingOffer)?;
        let result = self.rtc.sdp_api().accept_answer(pending, answer);
        let accepted = result.is_ok();
        self.subscriptions.retain_mut(|sub| match sub.state {
            SubscriptionState::Negotiating(mid) => {
                sub.state = match (accepted, sub.withdrawn) {
                    (true, true) => SubscriptionState::ToStop(mid),
                    (true, false) => SubscriptionState::Open(mid),
                    // Refused: offered again with the next offer.
                    (false, _) => SubscriptionState::ToOpen,
                };
                !sub.withdrawn || accepted
            }
            SubscriptionState::NegotiatingStop(mid) => {
                if accepted {
                    false
                } else {
                    sub.state = SubscriptionState::ToStop(mid);
                    true
                }
            }
            _ => true,
        });
        result.map_err(|e| MediaError::SdpRefused(e.to_string()))?;
        self.ask_keyframes_for_subscriptions();
        Ok(())
    }

    fn add_candidate(&mut self, line: &str) -> Result<(), MediaError> {
        let line = line.trim().trim_start_matches("a=");
        let candidate = Candidate::from_sdp_string(line)
            .map_err(|e| MediaError::MalformedCandidate(e.to_string()))?;
        self.rtc.add_remote_candidate(candidate);
        Ok(())
    }

    /// Offers the client the tracks it should receive (or stop receiving), one exchange at
    /// a time. Returns whether an offer was made (a mutation: drain after it).
    fn negotiate_if_needed(&mut self) -> bool {
        if !self.answered_first_offer || self.pending.is_some() {
            return false;
        }
        let changes = self.subscriptions.iter().any(|sub| {
            matches!(sub.state, SubscriptionState::ToOpen | SubscriptionState::ToStop(_))
        });
        if !changes {
            return false;
        }
        let mut change = self.rtc.sdp_api();
        for sub in &mut self.subscriptions {
            match sub.state {
                SubscriptionState::ToOpen => {
                    // The stream id (msid) names the publisher: the client groups a
                    // person's audio and video by it.
                    let mid = change.add_media(
                        sub.track.kind,
                        Direction::SendOnly,
                        Some(sub.track.origin.clone()),
                        Some(format!("{}-{}", sub.track.kind, sub.track.id)),
                        None,
                    );
                    sub.state = SubscriptionState::Negotiating(mid);
                }
                SubscriptionState::ToStop(mid) => {
                    change.stop_media(mid);
                    sub.state = SubscriptionState::NegotiatingStop(mid);
                }
                _ => {}
            }
        }
        let Some((offer, pending)) = change.apply() else {
            return false;
        };
        self.pending = Some(pending);
        let _ = self.events.send(PeerEvent::Offer(offer.to_sdp_string()));
        true
    }

    /// The client added an m-line it sends on: a track for everyone else.
    fn publish(&mut self, added: MediaAdded) {
        if !receives(added.direction) {
            return;
        }
        // The layers we receive: the client's `a=simulcast:send`, our `recv`.
        let rids: Vec<Rid> = added
            .simulcast
            .as_ref()
            .map(|simulcast| simulcast.recv.iter().map(|layer| layer.rid).collect())
            .unwrap_or_default();
        self.publish_track(added.mid, added.kind, rids);
    }

    fn publish_track(&mut self, mid: Mid, kind: MediaKind, rids: Vec<Rid>) {
        let track = Arc::new(TrackIn {
            id: NEXT_TRACK_ID.fetch_add(1, Ordering::Relaxed),
            origin: self.participant.clone(),
            origin_key: self.key,
            mid,
            kind,
            layers: Layers::new(&rids),
        });
        let meter = track.layers.is_simulcast().then(|| LayerMeter::new(rids));
        self.published.push(Published {
            track: track.clone(),
            meter,
            last_keyframe_request: Vec::new(),
            deferred_keyframes: Vec::new(),
        });
        self.room.publish(track);
    }

    /// The client renegotiated an m-line's direction: a camera or screen share turned off
    /// (`inactive`, or stopped) withdraws its track from everyone; turned on again, or a
    /// transceiver the client reuses to send, publishes it anew.
    fn direction_changed(&mut self, mid: Mid, direction: Direction) {
        let published = self.published.iter().position(|p| p.track.mid == mid);
        match (published, receives(direction)) {
            (None, true) => {
                let media = self.rtc.media(mid).map(|media| {
                    let rids = match media.rids_rx() {
                        Rids::Specific(rids) => rids.to_vec(),
                        _ => Vec::new(),
                    };
                    (media.kind(), rids)
                });
                if let Some((kind, rids)) = media {
                    self.publish_track(mid, kind, rids);
                }
            }
            (Some(index), false) => {
                let withdrawn = self.published.remove(index);
                self.room.unpublish(&withdrawn.track);
            }
            _ => {}
        }
    }

    /// A frame from our client: to every other participant's task, unless muted.
    fn forward(&mut self, data: MediaData) {
        let Some(index) = self.published.iter().position(|p| p.track.mid == data.mid) else {
            return;
        };
        let published = &mut self.published[index];
        if let Some(meter) = &mut published.meter {
            // Every layer is forwarded; each subscriber keeps the one it was given.
            let Some(rid) = data.rid.filter(|rid| published.track.layers.contains(*rid)) else {
                return;
            };
            meter.record(rid, data.data.len());
        }
        let kind = TrackKind::of(published.track.kind);
        let track = published.track.clone();
        if kind == TrackKind::Video && !data.contiguous {
            // Packets were lost beyond what NACK recovered: subscribers' decoders need a
            // fresh keyframe.
            self.request_keyframes(index, data.rid, KeyframeRequestKind::Pli);
        }
        if !self.forwarding.allows(kind) {
            return;
        }
        if kind == TrackKind::Audio
            && let Some(level) = data.ext_vals.audio_level
        {
            self.room.speaker().record(&self.participant, level, data.ext_vals.voice_activity);
        }
        let forwarded = Arc::new(Forwarded { track, data });
        self.room.record(&forwarded);
        let counters = &self.room.counters;
        for link in self.room.links().iter().filter(|link| link.key != self.key) {
            match link.media.try_send(PeerInput::Media(forwarded.clone())) {
                Ok(()) => counters.forwarded.fetch_add(1, Ordering::Relaxed),
                Err(mpsc::error::TrySendError::Full(_)) => {
                    counters.dropped.fetch_add(1, Ordering::Relaxed)
                }
                Err(mpsc::error::TrySendError::Closed(_)) => 0,
            };
        }
    }

    /// A frame of someone else's track, to our client.
    fn write_forwarded(&mut self, forwarded: &Forwarded) {
        if !self.connected {
            return;
        }
        let Some(sub) =
            self.subscriptions.iter_mut().find(|sub| sub.track.id == forwarded.track.id)
        else {
            return;
        };
        let SubscriptionState::Open(mid) = sub.state else { return };
        let data = &forwarded.data;
        let time = match sub.track.layers.is_simulcast() {
            false => data.time,
            true => {
                match sub.layer.admit(data.rid, data.is_keyframe(), data.time, data.network_time) {
                    FrameVerdict::Write(time) => time,
                    FrameVerdict::Skip => return,
                }
            }
        };
        let Some(writer) = self.rtc.writer(mid) else { return };
        // The same codec under the client's own payload type number; none when the client
        // did not accept that codec (e.g. H.264 to a VP8-only client).
        let Some(pt) = writer.match_params(data.params) else { return };
        let writer = match data.ext_vals.audio_level {
            Some(level) => writer.audio_level(level, data.ext_vals.voice_activity.unwrap_or(true)),
            None => writer,
        };
        if let Err(e) = writer.write(pt, data.network_time, time, data.data.clone()) {
            debug!(participant = %self.participant, "forwarded frame not written: {e}");
        }
    }

    /// Our client cannot decode a track it receives: ask that track's publisher.
    fn relay_keyframe_request(&mut self, request: KeyframeRequest) {
        let Some(sub) =
            self.subscriptions.iter().find(|sub| sub.state == SubscriptionState::Open(request.mid))
        else {
            return;
        };
        self.room.ask_keyframe(&sub.track, sub.layer.current(), request.kind);
    }

    /// A subscriber that just connected, or whose new m-lines were just accepted, needs a
    /// keyframe of every video it receives before it can show anything.
    fn ask_keyframes_for_subscriptions(&self) {
        if !self.connected {
            return;
        }
        for sub in &self.subscriptions {
            if sub.track.kind != MediaKind::Video
                || !matches!(sub.state, SubscriptionState::Open(_))
            {
                continue;
            }
            // The layer wanted next, or (none chosen yet) every layer.
            let rid = sub.layer.target.or(sub.layer.current());
            self.room.ask_keyframe(&sub.track, rid, KeyframeRequestKind::Pli);
        }
    }

    /// Asks our client for a keyframe of a track we receive: of layer `rid`, or of every
    /// layer (`None`, or a track without simulcast).
    fn request_keyframes(&mut self, index: usize, rid: Option<Rid>, kind: KeyframeRequestKind) {
        let rids: Vec<Option<Rid>> = match rid {
            Some(rid) => vec![Some(rid)],
            None if self.published[index].track.layers.is_simulcast() => {
                self.published[index].track.layers.rids().into_iter().map(Some).collect()
            }
            None => vec![None],
        };
        for rid in rids {
            self.request_keyframe(index, rid, kind);
        }
    }

    fn request_keyframe(&mut self, index: usize, rid: Option<Rid>, kind: KeyframeRequestKind) {
        let now = Instant::now();
        let published = &mut self.published[index];
        let last = published.last_keyframe_request.iter().find(|(layer, _)| *layer == rid);
        if let Some((_, at)) = last
            && now.duration_since(*at) < KEYFRAME_REQUEST_MIN_INTERVAL
        {
            if !published.deferred_keyframes.iter().any(|(layer, _)| *layer == rid) {
                published.deferred_keyframes.push((rid, kind));
            }
            let due = *at + KEYFRAME_REQUEST_MIN_INTERVAL;
            self.deferred_keyframes_at =
                Some(self.deferred_keyframes_at.map_or(due, |d| d.min(due)));
            return;
        }
        let mid = published.track.mid;
        let Some(mut writer) = self.rtc.writer(mid) else { return };
        // FIR is only possible where negotiated; PLI is what browsers always accept.
        let kind =
            if writer.is_request_keyframe_possible(kind) { kind } else { KeyframeRequestKind::Pli };
        match writer.request_keyframe(rid, kind) {
            Ok(()) => {
                let requests = &mut self.published[index].last_keyframe_request;
                requests.retain(|(layer, _)| *layer != rid);
                requests.push((rid, now));
            }
            // No stream received yet for that mid: nothing to ask.
            Err(e) => debug!(participant = %self.participant, "keyframe request: {e}"),
        }
    }

    /// Asks the keyframes that were deferred by the interval between requests.
    fn ask_deferred_keyframes(&mut self) {
        for index in 0..self.published.len() {
            for (rid, kind) in std::mem::take(&mut self.published[index].deferred_keyframes) {
                self.request_keyframe(index, rid, kind);
            }
        }
    }

    /// Stores the bitrates of the simulcast layers our client sends, for subscribers.
    fn measure_published_layers(&mut self, now: Instant) {
        for published in &mut self.published {
            if let Some(meter) = &mut published.meter {
                meter.publish_if_due(now, &published.track.layers);
            }
        }
    }

    /// Chooses the layer of each simulcast video our client receives (see `simulcast`)
    /// and asks the publishers for keyframes of the layers switched to.
    fn choose_layers(&mut self) {
        let is_open = |sub: &Subscription| matches!(sub.state, SubscriptionState::Open(_));
        let audio = self
            .subscriptions
            .iter()
            .filter(|sub| sub.track.kind == MediaKind::Audio && is_open(sub))
            .count() as u64;
        let reserve = audio * AUDIO_RESERVE_BPS;
        let mut simulcast: Vec<&mut Subscription> = self
            .subscriptions
            .iter_mut()
            .filter(|sub| sub.track.layers.is_simulcast() && is_open(sub))
            .collect();
        let demands: Vec<Demand> = simulcast
            .iter()
            .map(|sub| Demand {
                ranked: sub.track.layers.ranked(),
                quality: quality_for(&self.qualities, &sub.track.origin),
            })
            .collect();
        let budget = self.egress_estimate.map(|estimate| estimate.saturating_sub(reserve));
        let targets = allocate(&demands, budget);
        for (sub, target) in simulcast.iter_mut().zip(&targets) {
            if *target == sub.layer.target || target.is_none() {
                continue;
            }
            sub.layer.target = *target;
            if *target != sub.layer.current() {
                let kind = KeyframeRequestKind::Pli;
                self.room.ask_keyframe(&sub.track, *target, kind);
            }
        }
    }

    /// The publisher of `track_id` left or turned it off.
    fn withdraw(&mut self, track_id: u64) {
        self.subscriptions.retain_mut(|sub| {
            if sub.track.id != track_id {
                return true;
            }
            sub.withdrawn = true;
            match sub.state {
                SubscriptionState::ToOpen => false,
                SubscriptionState::Open(mid) => {
                    sub.state = SubscriptionState::ToStop(mid);
                    true
                }
                _ => true,
            }
        });
    }
}

/// Whether an m-line of this direction (ours) carries media from the client.
fn receives(direction: Direction) -> bool {
    matches!(direction, Direction::RecvOnly | Direction::SendRecv)
}

/// The quality our client asked for `publisher`'s video (high unless asked otherwise).
fn quality_for(qualities: &[(String, Quality)], publisher: &str) -> Quality {
    qualities.iter().find(|(p, _)| p == publisher).map(|(_, quality)| *quality).unwrap_or_default()
}

/// Writes `b=AS:<kbps>` into every video section of an SDP answer of ours (after its
/// `c=` line, where RFC 8866 puts it): browsers keep what they send on that m-line,
/// simulcast layers together, under it. str0m writes no bandwidth lines of its own.
fn cap_video_bitrate(sdp: String, kbps: u32) -> String {
    if kbps == 0 {
        return sdp;
    }
    let mut capped = String::with_capacity(sdp.len() + 64);
    let mut pending_cap = false;
    for line in sdp.split_inclusive("\r\n") {
        let bare = line.trim_end();
        if bare.starts_with("m=") {
            pending_cap = bare.starts_with("m=video");
        } else if pending_cap && bare.starts_with("b=") {
            // The section has a bandwidth line already: it stays as it is.
            pending_cap = false;
        } else if pending_cap && !bare.starts_with("i=") && !bare.starts_with("c=") {
            // The first line after m=, i= and c=: the bandwidth line goes before it.
            capped.push_str(&format!("b=AS:{kbps}\r\n"));
            pending_cap = false;
        }
        capped.push_str(line);
    }
    if pending_cap {
        capped.push_str(&format!("b=AS:{kbps}\r\n"));
    }
    capped
}

/// The `a=ice-ufrag` of an SDP we wrote (str0m writes one per m-line, all equal).
fn session_ufrag(sdp: &str) -> Option<&str> {
    sdp.lines().find_map(|line| line.strip_prefix("a=ice-ufrag:")).map(str::trim)
}

fn bounded_sdp(sdp: &str) -> Result<&str, MediaError> {
    if sdp.len() > MAX_SDP_BYTES {
        return Err(MediaError::MalformedSdp(format!(
            "{} bytes, more than the {MAX_SDP_BYTES} accepted",
            sdp.len()
        )));
    }
    Ok(sdp)
}

/// Logged when a peer's task ends other than by leaving.
pub(crate) fn log_exit(participant: &str, room: &str, reason: &LeaveReason) {
    if let LeaveReason::Failed(why) = reason {
        warn!(participant, room, "media session failed: {why}");
    }
}

#[cfg(test)]
mod tests {
    use super::cap_video_bitrate;

    #[test]
    fn video_sections_of_an_answer_get_a_bandwidth_line_after_their_connection_line() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\n";
        let capped = cap_video_bitrate(sdp.to_owned(), 1200);
        let lines: Vec<&str> = capped.split("\r\n").collect();
        let at = |wanted: &str| lines.iter().position(|l| *l == wanted).unwrap();
        assert_eq!(lines.iter().filter(|l| **l == "b=AS:1200").count(), 2, "{capped}");
        assert_eq!(lines[at("a=mid:1") - 1], "b=AS:1200");
        assert_eq!(lines[at("a=mid:2") - 1], "b=AS:1200");
        assert_eq!(lines[at("a=mid:0") - 1], "c=IN IP4 0.0.0.0", "audio is not capped");
        assert_eq!(cap_video_bitrate(sdp.to_owned(), 0), sdp);
    }
}
