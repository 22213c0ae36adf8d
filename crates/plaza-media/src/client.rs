//! A Rust WebRTC client on str0m, for tests and load tools: it binds its own UDP socket,
//! makes the offer (full ICE, the controlling side), publishes generated media — 20 ms
//! Opus-shaped audio frames carrying an audio level, and VP8-shaped video (a keyframe at
//! start, on request and every two seconds, delta frames otherwise) — and counts what it
//! receives per publisher. No codec runs: the payloads only have the shape (VP8 frame tag,
//! keyframe start code) that the SFU and a receiver's depacketizer look at.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpApi, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, KeyframeRequestKind, MediaData, MediaKind, MediaTime};
use str0m::media::{Mid, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::rtp::RawPacket;
use str0m::rtp::rtcp::Rtcp;
use str0m::{Candidate, Event, Input, Output, Rtc};
use thiserror::Error;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::TrackKind;

pub(crate) mod shapes;
mod tcp;
use tcp::{ClientTcp, Frame};

/// One audio frame every 20 ms, as browsers send Opus.
const AUDIO_FRAME: Duration = Duration::from_millis(20);
/// 25 frames a second keeps a test machine's CPU for the SFU, not the client.
const VIDEO_FRAME: Duration = Duration::from_millis(40);
/// A keyframe this often even unasked, as encoders do.
const KEYFRAME_EVERY: u64 = 50;
const AUDIO_PAYLOAD_BYTES: usize = 80;
/// The simulcast layers published with [`ClientOptions::simulcast`], smallest first (as
/// browsers name them when asked for three).
pub const SIMULCAST_RIDS: [&str; 3] = ["l", "m", "h"];

/// What the client publishes.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Publish a microphone track.
    pub audio: bool,
    /// Publish a camera track.
    pub video: bool,
    /// The audio level written in every audio packet (0 loudest, -127 silence).
    pub audio_level_dbov: i8,
    /// Connect over ICE-TCP only, as behind a firewall that drops UDP: the client offers
    /// an active TCP candidate and no UDP one.
    pub tcp_only: bool,
    /// Offer an active ICE-TCP candidate beside the UDP one, as a browser does: where UDP
    /// is dropped on the way, ICE settles on TCP.
    pub tcp_fallback: bool,
    /// The one video codec the client offers and sends: `Codec::Vp8` or `Codec::H264`.
    pub video_codec: Codec,
    /// Count the RTCP the server sends ([`ClientStats::rtcp_received`]); it costs a copy
    /// of every packet (str0m's raw packet events), so only tests ask for it.
    pub count_rtcp: bool,
    /// A lossy network: every Nth incoming RTP datagram is dropped (0: none), so that the
    /// server's NACK/RTX handling shows.
    pub drop_every_nth_rtp: u64,
    /// The local address the client's sockets bind to: loopback by default; an
    /// interface's address to reach a server elsewhere (another network namespace).
    pub local_ip: std::net::IpAddr,
    /// Publish the camera as three simulcast layers ([`SIMULCAST_RIDS`]), each frame of
    /// layer `n` twice the size of layer `n - 1`'s, as a browser asked for simulcast does.
    pub simulcast: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            audio: true,
            video: true,
            audio_level_dbov: -30,
            tcp_only: false,
            tcp_fallback: false,
            video_codec: Codec::Vp8,
            count_rtcp: false,
            drop_every_nth_rtp: 0,
            local_ip: std::net::IpAddr::from([127, 0, 0, 1]),
            simulcast: false,
        }
    }
}

/// What arrived from one publisher's track.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    /// Frames (for audio: packets).
    pub frames: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// Keyframes among the frames (VP8 or H.264).
    pub keyframes: u64,
    /// Frames after a gap that retransmission did not fill.
    pub discontinuities: u64,
    /// Video frames never received: gaps in the numbers the sender put in its frames.
    pub missing_frames: u64,
    /// The number of the last video frame received.
    pub last_frame_number: Option<u64>,
    /// The codec of the last frame.
    pub codec: Option<Codec>,
    /// Video frames received per simulcast layer (0 smallest; without simulcast, 2).
    pub layers: [u64; 3],
    /// The layer of the last video frame.
    pub last_layer: Option<u8>,
    /// Changes of layer between consecutive video frames.
    pub layer_switches: u64,
    /// Changes of layer whose first frame was not a keyframe (a frozen or broken picture
    /// in a real decoder): a correct SFU makes none.
    pub switches_without_keyframe: u64,
}

/// The client's counters.
#[derive(Debug, Clone, Default)]
pub struct ClientStats {
    /// ICE and DTLS are up.
    pub connected: bool,
    /// Received media by publisher (the stream id the server gave the m-line) and kind.
    pub received: HashMap<(String, TrackKind), Received>,
    /// Audio frames written.
    pub sent_audio: u64,
    /// Video frames written.
    pub sent_video: u64,
    /// Keyframe requests (PLI/FIR) the server sent us.
    pub keyframe_requests: u64,
    /// Of those, the ones for each simulcast layer (by RID).
    pub keyframe_requests_by_rid: HashMap<String, u64>,
    /// Packets received over ICE-TCP.
    pub tcp_packets: u64,
    /// RTCP received by kind (`twcc`, `nack`, `pli`, `fir`, `sr`, `rr`, `remb`, ...), with
    /// [`ClientOptions::count_rtcp`].
    pub rtcp_received: HashMap<&'static str, u64>,
    /// RTCP the client sent, by kind (with [`ClientOptions::count_rtcp`]).
    pub rtcp_sent: HashMap<&'static str, u64>,
    /// RTP datagrams dropped as [`ClientOptions::drop_every_nth_rtp`] asks.
    pub rtp_dropped: u64,
}

impl ClientStats {
    /// What arrived from `publisher`'s audio or video so far.
    pub fn received(&self, publisher: &str, kind: TrackKind) -> Received {
        self.received.get(&(publisher.to_owned(), kind)).copied().unwrap_or_default()
    }
}

/// A refusal by the client's own WebRTC stack (its SDP was refused, or it has stopped).
#[derive(Debug, Error)]
#[error("test client: {0}")]
pub struct ClientError(String);

type Reply<T> = oneshot::Sender<Result<T, ClientError>>;

enum Command {
    CreateOffer(Reply<String>),
    AcceptAnswer(String, Reply<()>),
    AcceptOffer(String, Reply<String>),
    RequestKeyframe(String, Reply<()>),
    SetAudioLevel(i8),
    RestartIce(Reply<String>),
    AddTrack(TrackKind, Reply<String>),
    SetSending(TrackKind, bool, Reply<String>),
    MoveToNewSocket(Reply<SocketAddr>),
}

/// A running client. Dropping it stops it (its socket closes, its session times out at
/// the server unless left first).
pub struct MediaClient {
    commands: mpsc::UnboundedSender<Command>,
    stats: Arc<Mutex<ClientStats>>,
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for MediaClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MediaClient {
    /// Binds a socket on 127.0.0.1 and starts the client's task.
    pub async fn start(options: ClientOptions) -> std::io::Result<MediaClient> {
        let socket = UdpSocket::bind(SocketAddr::new(options.local_ip, 0)).await?;
        let local_addr = socket.local_addr()?;
        // Only Opus and the one video codec: the server must forward that codec or nothing.
        let builder = Rtc::builder().clear_codecs().enable_opus(true, false);
        let builder = match options.video_codec {
            Codec::H264 => builder.enable_h264(true),
            _ => builder.enable_vp8(true),
        };
        let mut rtc = builder.enable_raw_packets(options.count_rtcp).build(Instant::now());
        fn invalid(e: impl std::fmt::Display) -> std::io::Error {
            std::io::Error::other(e.to_string())
        }
        let tcp = if options.tcp_only || options.tcp_fallback {
            let (tcp, addr) = ClientTcp::bind(options.local_ip)?;
            let candidate = Candidate::builder().tcp().host(addr).tcptype(TcpType::Active).build();
            rtc.add_local_candidate(candidate.map_err(invalid)?);
            Some((tcp, addr))
        } else {
            None
        };
        if !options.tcp_only {
            rtc.add_local_candidate(Candidate::host(local_addr, "udp").map_err(invalid)?);
        }
        let (tcp_frames, tcp_received) = mpsc::unbounded_channel();
        let stats = Arc::new(Mutex::new(ClientStats::default()));
        let (commands, receiver) = mpsc::unbounded_channel();
        let now = Instant::now();
        let task = ClientTask {
            rtc,
            socket,
            local_addr,
            audio_level: options.audio_level_dbov,
            options,
            stats: stats.clone(),
            pending: None,
            audio_mid: None,
            video_mid: None,
            offered_mids: Vec::new(),
            deferred_candidate: None,
            next_audio: now,
            next_video: now,
            rtp_seen: 0,
            audio_paused: false,
            video_paused: false,
            audio_frames: 0,
            video_frames: 0,
            keyframe_wanted: [true; 3],
            next_timeout: now,
            tcp,
            tcp_frames,
        };
        let task = tokio::spawn(task.run(receiver, tcp_received));
        Ok(MediaClient { commands, stats, local_addr, task })
    }

    /// The client's first UDP address (see [`MediaClient::change_network`]).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The offer to send to the server: the tracks chosen in [`ClientOptions`] as
    /// send-only m-lines, or a data channel when publishing nothing (an offer needs one
    /// m-line at least).
    pub async fn create_offer(&self) -> Result<String, ClientError> {
        self.request(Command::CreateOffer).await
    }

    /// Applies the server's answer to [`MediaClient::create_offer`].
    pub async fn accept_answer(&self, sdp: &str) -> Result<(), ClientError> {
        let sdp = sdp.to_owned();
        self.request(|reply| Command::AcceptAnswer(sdp, reply)).await
    }

    /// Answers a server offer (tracks of others to receive, or to stop).
    pub async fn accept_offer(&self, sdp: &str) -> Result<String, ClientError> {
        let sdp = sdp.to_owned();
        self.request(|reply| Command::AcceptOffer(sdp, reply)).await
    }

    /// Sends a PLI for the video received from `publisher`, as a browser whose decoder
    /// lost the picture does.
    pub async fn request_keyframe(&self, publisher: &str) -> Result<(), ClientError> {
        let publisher = publisher.to_owned();
        self.request(|reply| Command::RequestKeyframe(publisher, reply)).await
    }

    /// Simulates a network change (a laptop moving from Wi-Fi to a cable): the client
    /// restarts ICE with new credentials and continues from a new UDP socket. Returns the
    /// ICE-restart offer to pass to the server, whose answer goes to
    /// [`MediaClient::accept_answer`].
    pub async fn change_network(&self) -> Result<String, ClientError> {
        let offer = self.request(Command::RestartIce).await?;
        self.request(Command::MoveToNewSocket).await?;
        Ok(offer)
    }

    /// Starts publishing a track after joining (a camera turned on, a screen share):
    /// returns the offer to pass to the server, whose answer goes to
    /// [`MediaClient::accept_answer`].
    pub async fn add_track(&self, kind: TrackKind) -> Result<String, ClientError> {
        self.request(|reply| Command::AddTrack(kind, reply)).await
    }

    /// Turns a published track off (`inactive`, as a browser's `transceiver.direction`
    /// does) or on again: returns the offer, as [`MediaClient::add_track`].
    pub async fn set_sending(&self, kind: TrackKind, sending: bool) -> Result<String, ClientError> {
        self.request(|reply| Command::SetSending(kind, sending, reply)).await
    }

    /// Changes the audio level written in the next audio packets.
    pub fn set_audio_level(&self, level_dbov: i8) {
        let _ = self.commands.send(Command::SetAudioLevel(level_dbov));
    }

    /// A copy of the counters now.
    pub fn stats(&self) -> ClientStats {
        lock(&self.stats).clone()
    }

    /// Waits until `condition` holds for the counters, checking every 10 ms; after
    /// `timeout`, returns the last counters as the error.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        condition: impl Fn(&ClientStats) -> bool,
    ) -> Result<ClientStats, ClientStats> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let stats = self.stats();
            if condition(&stats) {
                return Ok(stats);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(stats);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn request<T>(
        &self,
        command: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, ClientError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || ClientError("the client has stopped".into());
        self.commands.send(command(reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn lock(stats: &Mutex<ClientStats>) -> MutexGuard<'_, ClientStats> {
    stats.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct ClientTask {
    rtc: Rtc,
    socket: UdpSocket,
    local_addr: SocketAddr,
    options: ClientOptions,
    audio_level: i8,
    stats: Arc<Mutex<ClientStats>>,
    pending: Option<SdpPendingOffer>,
    audio_mid: Option<Mid>,
    video_mid: Option<Mid>,
    /// The m-lines the server added (others' tracks).
    offered_mids: Vec<Mid>,
    /// The new socket's candidate, waiting for the ICE restart to complete.
    deferred_candidate: Option<Candidate>,
    next_audio: Instant,
    next_video: Instant,
    /// RTP datagrams received, for [`ClientOptions::drop_every_nth_rtp`].
    rtp_seen: u64,
    /// Turned off by [`MediaClient::set_sending`].
    audio_paused: bool,
    video_paused: bool,
    audio_frames: u64,
    video_frames: u64,
    /// A keyframe is owed on each layer (index 2 without simulcast).
    keyframe_wanted: [bool; 3],
    next_timeout: Instant,
    /// ICE-TCP (with `tcp_only`): the connection and its local address.
    tcp: Option<(ClientTcp, SocketAddr)>,
    tcp_frames: mpsc::UnboundedSender<Frame>,
}

enum Wake {
    Command(Option<Command>),
    Datagram(std::io::Result<(usize, SocketAddr)>),
    TcpFrame(Frame),
    Timer,
}

impl ClientTask {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut tcp_frames: mpsc::UnboundedReceiver<Frame>,
    ) {
        let mut buffer = vec![0u8; 2048];
        loop {
            if !self.drain().await {
                return;
            }
            if self.pending.is_none()
                && let Some(candidate) = self.deferred_candidate.take()
            {
                self.rtc.add_local_candidate(candidate);
                continue;
            }
            let deadline = self.next_deadline();
            let wake = tokio::select! {
                command = commands.recv() => Wake::Command(command),
                received = self.socket.recv_from(&mut buffer) => Wake::Datagram(received),
                Some(frame) = tcp_frames.recv() => Wake::TcpFrame(frame),
                () = tokio::time::sleep_until(deadline.into()) => Wake::Timer,
            };
            // One mutation of the `Rtc` per turn, then drain (str0m's invariant).
            match wake {
                Wake::Command(None) => return,
                Wake::Command(Some(command)) => self.handle_command(command),
                Wake::Datagram(Ok((len, source))) => {
                    if self.drops(&buffer[..len]) {
                        continue;
                    }
                    let Ok(contents) = buffer[..len].try_into() else { continue };
                    let receive = Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: self.local_addr,
                        contents,
                    };
                    if self.rtc.handle_input(Input::Receive(Instant::now(), receive)).is_err() {
                        return;
                    }
                }
                Wake::Datagram(Err(_)) => {}
                Wake::TcpFrame((source, frame)) => {
                    let Some(destination) = self.tcp.as_ref().map(|(_, addr)| *addr) else {
                        continue;
                    };
                    let Ok(contents) = frame.as_slice().try_into() else { continue };
                    lock(&self.stats).tcp_packets += 1;
                    let receive = Receive { proto: Protocol::Tcp, source, destination, contents };
                    if self.rtc.handle_input(Input::Receive(Instant::now(), receive)).is_err() {
                        return;
                    }
                }
                Wake::Timer => self.on_timer(),
            }
        }
    }

    fn connected(&self) -> bool {
        lock(&self.stats).connected
    }

    fn next_deadline(&self) -> Instant {
        let mut deadline = self.next_timeout;
        if self.connected() {
            if self.audio_mid.is_some() {
                deadline = deadline.min(self.next_audio);
            }
            if self.video_mid.is_some() {
                deadline = deadline.min(self.next_video);
            }
        }
        deadline
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        let connected = self.connected();
        if connected && self.audio_mid.is_some() && now >= self.next_audio {
            self.next_audio += AUDIO_FRAME;
            self.write_audio(now);
        } else if connected && self.video_mid.is_some() && now >= self.next_video {
            self.next_video += VIDEO_FRAME;
            self.write_video(now);
        } else {
            let _ = self.rtc.handle_input(Input::Timeout(now));
        }
    }

    fn write_audio(&mut self, now: Instant) {
        if self.audio_paused {
            // Media time keeps pace with the clock, as a paused browser track's does.
            self.audio_frames += 1;
            return;
        }
        let Some(writer) = self.audio_mid.and_then(|mid| self.rtc.writer(mid)) else { return };
        let Some(pt) =
            writer.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt())
        else {
            return;
        };
        // An Opus TOC byte (CELT, fullband, 20 ms, one frame), then filler.
        let mut payload = vec![0xFC_u8];
        payload.extend((0..AUDIO_PAYLOAD_BYTES - 1).map(|i| (i as u64 + self.audio_frames) as u8));
        let time = MediaTime::new(self.audio_frames * 960, Frequency::FORTY_EIGHT_KHZ);
        let written = writer.audio_level(self.audio_level, true).write(pt, now, time, payload);
        if written.is_ok() {
            self.audio_frames += 1;
            lock(&self.stats).sent_audio += 1;
        }
    }

    fn write_video(&mut self, now: Instant) {
        if self.video_paused {
            self.video_frames += 1;
            return;
        }
        let codec = self.options.video_codec;
        let Some(mid) = self.video_mid else { return };
        let layers: &[u8] = if self.options.simulcast { &[0, 1, 2] } else { &[2] };
        let mut written = false;
        for &layer in layers {
            let Some(writer) = self.rtc.writer(mid) else { return };
            let Some(pt) =
                writer.payload_params().find(|p| p.spec().codec == codec).map(|p| p.pt())
            else {
                return;
            };
            let writer = match self.options.simulcast {
                true => writer.rid(Rid::from(SIMULCAST_RIDS[usize::from(layer)])),
                false => writer,
            };
            let wanted = &mut self.keyframe_wanted[usize::from(layer)];
            let keyframe = *wanted || self.video_frames.is_multiple_of(KEYFRAME_EVERY);
            let payload = shapes::video_frame(codec, keyframe, self.video_frames, layer);
            // Each layer on its own RTP clock, as a browser's simulcast streams are: the
            // SFU must make the times continuous when it switches a subscriber's layer.
            let offset = u64::from(layer) * 900_000;
            let time = MediaTime::new(offset + self.video_frames * 3600, Frequency::NINETY_KHZ);
            if writer.write(pt, now, time, payload).is_ok() {
                *wanted &= !keyframe;
                written = true;
            }
        }
        if written {
            self.video_frames += 1;
            lock(&self.stats).sent_video += 1;
        }
    }

    fn video_simulcast(&self) -> Option<Simulcast> {
        self.options.simulcast.then(|| {
            let mut simulcast = Simulcast::new();
            simulcast.send = SIMULCAST_RIDS.iter().map(|rid| SimulcastLayer::new(rid)).collect();
            simulcast
        })
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::CreateOffer(reply) => {
                let simulcast = self.video_simulcast();
                let mut change = self.rtc.sdp_api();
                if self.options.audio {
                    let mid =
                        change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
                    self.audio_mid = Some(mid);
                }
                if self.options.video {
                    let mid = change.add_media(
                        MediaKind::Video,
                        Direction::SendOnly,
                        None,
                        None,
                        simulcast,
                    );
                    self.video_mid = Some(mid);
                }
                if !self.options.audio && !self.options.video {
                    change.add_channel("plaza".into());
                }
                let result = match change.apply() {
                    Some((offer, pending)) => {
                        self.pending = Some(pending);
                        Ok(offer.to_sdp_string())
                    }
                    None => Err(ClientError("nothing to offer".into())),
                };
                let _ = reply.send(result);
            }
            Command::AcceptAnswer(sdp, reply) => {
                let result = (|| {
                    let answer =
                        SdpAnswer::from_sdp_string(&sdp).map_err(|e| ClientError(e.to_string()))?;
                    let pending =
                        self.pending.take().ok_or(ClientError("no offer pending".into()))?;
                    self.rtc
                        .sdp_api()
                        .accept_answer(pending, answer)
                        .map_err(|e| ClientError(e.to_string()))
                })();
                let _ = reply.send(result);
            }
            Command::AcceptOffer(sdp, reply) => {
                let result = SdpOffer::from_sdp_string(&sdp)
                    .map_err(|e| ClientError(e.to_string()))
                    .and_then(|offer| {
                        self.rtc
                            .sdp_api()
                            .accept_offer(offer)
                            .map_err(|e| ClientError(e.to_string()))
                    })
                    .map(|answer| answer.to_sdp_string());
                let _ = reply.send(result);
            }
            Command::RequestKeyframe(publisher, reply) => {
                let _ = reply.send(self.request_keyframe(&publisher));
            }
            Command::SetAudioLevel(level) => self.audio_level = level,
            Command::RestartIce(reply) => {
                let mut change = self.rtc.sdp_api();
                // The old socket's candidate goes with it; the new one is added next turn.
                change.ice_restart(false);
                let result = match change.apply() {
                    Some((offer, pending)) => {
                        self.pending = Some(pending);
                        Ok(offer.to_sdp_string())
                    }
                    None => Err(ClientError("no ICE restart to offer".into())),
                };
                let _ = reply.send(result);
            }
            Command::MoveToNewSocket(reply) => {
                let _ = reply.send(self.move_to_new_socket());
            }
            Command::AddTrack(kind, reply) => {
                let media_kind = match kind {
                    TrackKind::Audio => MediaKind::Audio,
                    TrackKind::Video => MediaKind::Video,
                };
                let simulcast = match kind {
                    TrackKind::Video => self.video_simulcast(),
                    TrackKind::Audio => None,
                };
                let mut change = self.rtc.sdp_api();
                let mid = change.add_media(media_kind, Direction::SendOnly, None, None, simulcast);
                let offer = offer(change);
                *self.mid_of(kind) = Some(mid);
                let _ = reply.send(self.keep_pending(offer));
            }
            Command::SetSending(kind, sending, reply) => {
                let Some(mid) = *self.mid_of(kind) else {
                    let _ = reply.send(Err(ClientError(format!("no {kind:?} track"))));
                    return;
                };
                let direction = if sending { Direction::SendOnly } else { Direction::Inactive };
                match kind {
                    TrackKind::Audio => self.audio_paused = !sending,
                    TrackKind::Video => self.video_paused = !sending,
                }
                self.keyframe_wanted = self.keyframe_wanted.map(|wanted| wanted || sending);
                let mut change = self.rtc.sdp_api();
                change.set_direction(mid, direction);
                let offer = offer(change);
                let _ = reply.send(self.keep_pending(offer));
            }
        }
    }

    fn mid_of(&mut self, kind: TrackKind) -> &mut Option<Mid> {
        match kind {
            TrackKind::Audio => &mut self.audio_mid,
            TrackKind::Video => &mut self.video_mid,
        }
    }

    fn keep_pending(&mut self, offer: Result<Offer, ClientError>) -> Result<String, ClientError> {
        offer.map(|(sdp, pending)| {
            self.pending = Some(pending);
            sdp
        })
    }

    fn move_to_new_socket(&mut self) -> Result<SocketAddr, ClientError> {
        let socket = std::net::UdpSocket::bind(SocketAddr::new(self.options.local_ip, 0))
            .and_then(|socket| {
                socket.set_nonblocking(true)?;
                UdpSocket::from_std(socket)
            })
            .map_err(|e| ClientError(format!("new socket: {e}")))?;
        let addr = socket.local_addr().map_err(|e| ClientError(e.to_string()))?;
        let candidate = Candidate::host(addr, "udp").map_err(|e| ClientError(e.to_string()))?;
        self.socket = socket;
        self.local_addr = addr;
        // str0m applies our ICE restart (dropping the old local candidates) when the
        // answer arrives; the new candidate is added after that (see `run`).
        self.deferred_candidate = Some(candidate);
        Ok(addr)
    }

    fn request_keyframe(&mut self, publisher: &str) -> Result<(), ClientError> {
        let mid = self
            .received_video_mid(publisher)
            .ok_or_else(|| ClientError(format!("no video received from {publisher}")))?;
        let mut writer = self.rtc.writer(mid).ok_or(ClientError("no writer".into()))?;
        writer
            .request_keyframe(None, KeyframeRequestKind::Pli)
            .map_err(|e| ClientError(e.to_string()))
    }

    fn received_video_mid(&self, publisher: &str) -> Option<Mid> {
        self.offered_mids.iter().copied().find(|mid| {
            self.rtc.media(*mid).is_some_and(|media| {
                media.kind() == MediaKind::Video && media.stream_id() == publisher
            })
        })
    }

    /// Polls the `Rtc` down to its next timeout; `false` when it has closed.
    async fn drain(&mut self) -> bool {
        loop {
            if !self.rtc.is_alive() {
                return false;
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.next_timeout = at;
                    return true;
                }
                Ok(Output::Transmit(transmit)) => match (transmit.proto, &mut self.tcp) {
                    (Protocol::Udp, _) => {
                        let _ = self.socket.send_to(&transmit.contents, transmit.destination).await;
                    }
                    (_, Some((tcp, _))) => {
                        tcp.send(transmit.destination, &transmit.contents, &self.tcp_frames).await;
                    }
                    (_, None) => {}
                },
                Ok(Output::Event(event)) => self.handle_event(event),
                Err(_) => return false,
            }
        }
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Connected => {
                let now = Instant::now();
                self.next_audio = now;
                self.next_video = now;
                lock(&self.stats).connected = true;
            }
            Event::MediaAdded(added) => self.offered_mids.push(added.mid),
            Event::MediaData(data) => self.count(&data),
            Event::RawPacket(raw) => {
                let mut stats = lock(&self.stats);
                match *raw {
                    RawPacket::RtcpRx(rtcp) => {
                        *stats.rtcp_received.entry(rtcp_kind(&rtcp)).or_default() += 1;
                    }
                    RawPacket::RtcpTx(rtcp) => {
                        *stats.rtcp_sent.entry(rtcp_kind(&rtcp)).or_default() += 1;
                    }
                    _ => {}
                }
            }
            Event::KeyframeRequest(request) => {
                let layer = request
                    .rid
                    .and_then(|rid| SIMULCAST_RIDS.iter().position(|name| rid == Rid::from(*name)));
                match layer {
                    Some(layer) => self.keyframe_wanted[layer] = true,
                    None => self.keyframe_wanted = [true; 3],
                }
                let mut stats = lock(&self.stats);
                stats.keyframe_requests += 1;
                if let Some(rid) = request.rid {
                    *stats.keyframe_requests_by_rid.entry(rid.to_string()).or_default() += 1;
                }
            }
            _ => {}
        }
    }

    /// Whether this datagram is one the simulated lossy network drops: SRTP (RTP version
    /// 2 in the first byte, a payload type outside RTCP's 192 to 223), every Nth.
    fn drops(&mut self, datagram: &[u8]) -> bool {
        let nth = self.options.drop_every_nth_rtp;
        let is_rtp =
            datagram.len() > 12 && datagram[0] >> 6 == 2 && !(192..=223).contains(&datagram[1]);
        if nth == 0 || !is_rtp {
            return false;
        }
        self.rtp_seen += 1;
        let drop = self.rtp_seen.is_multiple_of(nth);
        if drop {
            lock(&self.stats).rtp_dropped += 1;
        }
        drop
    }

    fn count(&mut self, data: &MediaData) {
        let Some(media) = self.rtc.media(data.mid) else { return };
        let kind = match media.kind() {
            MediaKind::Audio => TrackKind::Audio,
            MediaKind::Video => TrackKind::Video,
        };
        let key = (media.stream_id().to_owned(), kind);
        let mut stats = lock(&self.stats);
        let received = stats.received.entry(key).or_default();
        received.frames += 1;
        received.bytes += data.data.len() as u64;
        received.discontinuities += u64::from(!data.contiguous);
        let codec = data.params.spec().codec;
        received.codec = Some(codec);
        let keyframe = kind == TrackKind::Video && shapes::is_keyframe(codec, &data.data);
        received.keyframes += u64::from(keyframe);
        if kind == TrackKind::Video
            && let Some(layer) = shapes::frame_layer(&data.data).filter(|layer| *layer < 3)
        {
            received.layers[usize::from(layer)] += 1;
            if received.last_layer.is_some_and(|last| last != layer) {
                received.layer_switches += 1;
                received.switches_without_keyframe += u64::from(!keyframe);
            }
            received.last_layer = Some(layer);
        }
        if kind == TrackKind::Video
            && let Some(number) = shapes::frame_number(&data.data)
        {
            if let Some(last) = received.last_frame_number
                && number > last
            {
                received.missing_frames += number - last - 1;
            }
            received.last_frame_number = Some(number);
        }
    }
}

fn rtcp_kind(rtcp: &Rtcp) -> &'static str {
    match rtcp {
        Rtcp::SenderReport(_) => "sr",
        Rtcp::ReceiverReport(_) => "rr",
        Rtcp::ExtendedReport(_) => "xr",
        Rtcp::SourceDescription(_) => "sdes",
        Rtcp::Goodbye(_) => "bye",
        Rtcp::Nack(_) => "nack",
        Rtcp::Pli(_) => "pli",
        Rtcp::Fir(_) => "fir",
        Rtcp::Twcc(_) => "twcc",
        Rtcp::Remb(_) => "remb",
        _ => "other",
    }
}

type Offer = (String, SdpPendingOffer);

fn offer(change: SdpApi<'_>) -> Result<Offer, ClientError> {
    let (offer, pending) = change.apply().ok_or(ClientError("nothing to offer".into()))?;
    Ok((offer.to_sdp_string(), pending))
}
