//! The media server: the shared UDP socket (and ICE-TCP listener), the rooms, and joining.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use str0m::config::{CryptoProvider, DtlsCert};
use str0m::net::{Protocol, TcpType};
use str0m::{Candidate, IceCreds, Rtc};
use tokio::net::{TcpListener, UdpSocket};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, error, warn};

use crate::demux::{Demux, Route};
use crate::handle::{PeerEvent, PeerEvents, PeerHandle};
use crate::link::{PeerInput, PeerKey, PeerLink, new_forwarding};
use crate::peer::{PeerChannels, PeerTask, Transport, log_exit};
use crate::room::{LeaveReason, Room, RoomShared, Rooms};
use crate::tcp::{self, TcpConnections};
use crate::{MediaConfig, MediaError};

/// Datagrams and forwarded frames a peer's task may have waiting before more are dropped:
/// about a second of one HD video and a few audio streams; beyond that the task is not
/// keeping up and dropping is kinder than queueing (late media is useless).
const PEER_INPUT_QUEUE: usize = 1024;
/// Larger than any datagram WebRTC sends (str0m's MTU is at most 1500 bytes minus headers).
const RECEIVE_BUFFER: usize = 2048;

struct ServerInner {
    config: MediaConfig,
    rooms: Arc<Rooms>,
    demux: Arc<Demux>,
    /// The sockets, and the host candidates every participant is given.
    transport: Arc<Transport>,
    crypto: Arc<CryptoProvider>,
    /// One certificate for every session: its generation is the costly part of a join,
    /// and the fingerprint only has to match what this server's answers say.
    dtls_cert: DtlsCert,
    runtime: Handle,
    /// The UDP receiving task and the ICE-TCP accepting task.
    listeners: Vec<JoinHandle<()>>,
    next_key: AtomicU64,
}

impl Drop for ServerInner {
    fn drop(&mut self) {
        for listener in &self.listeners {
            listener.abort();
        }
    }
}

/// The SFU. Cheap to clone; the socket closes when the last clone is dropped (sessions
/// still running then end at their ICE timeout).
#[derive(Clone)]
pub struct MediaServer {
    inner: Arc<ServerInner>,
}

impl MediaServer {
    /// Binds the media socket and starts receiving. Must run inside a Tokio runtime, which
    /// then runs every session's task.
    pub async fn bind(config: MediaConfig) -> Result<MediaServer, MediaError> {
        if config.max_participants == 0 {
            return Err(MediaError::Config("max_participants must be at least 1".into()));
        }
        let socket = UdpSocket::bind(config.udp_listen)
            .await
            .map_err(|source| MediaError::Socket { addr: config.udp_listen, source })?;
        let bound = socket
            .local_addr()
            .map_err(|source| MediaError::Socket { addr: config.udp_listen, source })?;
        let announced = SocketAddr::new(config.announced_ip(bound)?, bound.port());
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        let dtls_cert = crypto.dtls_provider.generate_certificate().ok_or_else(|| {
            MediaError::Config("the crypto provider cannot make a DTLS certificate".into())
        })?;
        let tcp_listener = match config.tcp_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| MediaError::Socket { addr, source })?,
            ),
            None => None,
        };
        let tcp_candidate = match &tcp_listener {
            Some(listener) => {
                let bound = listener
                    .local_addr()
                    .map_err(|source| MediaError::Socket { addr: bound, source })?;
                Some(SocketAddr::new(announced.ip(), bound.port()))
            }
            None => None,
        };
        let socket = Arc::new(socket);
        let demux = Arc::new(Demux::default());
        let tcp = Arc::new(TcpConnections::default());
        let runtime = Handle::current();
        let mut listeners = vec![runtime.spawn(receive(socket.clone(), demux.clone()))];
        if let Some(listener) = tcp_listener {
            listeners.push(runtime.spawn(tcp::accept(listener, demux.clone(), tcp.clone())));
        }
        let transport =
            Arc::new(Transport { udp: socket, udp_candidate: announced, tcp_candidate, tcp });
        Ok(MediaServer {
            inner: Arc::new(ServerInner {
                config,
                rooms: Arc::default(),
                demux,
                transport,
                crypto,
                dtls_cert,
                runtime,
                listeners,
                next_key: AtomicU64::new(1),
            }),
        })
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.transport.udp.local_addr().unwrap_or(self.inner.config.udp_listen)
    }

    /// The most a client may send of one video, kbit/s (0: no cap).
    pub fn max_video_kbps(&self) -> u32 {
        self.inner.config.max_video_kbps
    }

    /// The address announced to clients (the UDP ICE host candidate).
    pub fn announced_addr(&self) -> SocketAddr {
        self.inner.transport.udp_candidate
    }

    /// The ICE-TCP candidate's address, when ICE-TCP is on.
    pub fn announced_tcp_addr(&self) -> Option<SocketAddr> {
        self.inner.transport.tcp_candidate
    }

    /// The room `id`, if anyone is in it.
    pub fn room(&self, id: &str) -> Option<Room> {
        self.inner.rooms.lock().get(id).map(|shared| Room { shared: shared.clone() })
    }

    /// Admits `participant` into room `room_id` (created on first join) and starts their
    /// session. Next: pass the client's offer to [`PeerHandle::accept_offer`], and relay
    /// the [`PeerEvents`] (server offers) to the client.
    pub fn join(
        &self,
        room_id: &str,
        participant: &str,
    ) -> Result<(PeerHandle, PeerEvents), MediaError> {
        let inner = &self.inner;
        let key: PeerKey = inner.next_key.fetch_add(1, Ordering::Relaxed);
        let (media_tx, media_rx) = mpsc::channel(PEER_INPUT_QUEUE);
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (alive_tx, alive_rx) = oneshot::channel();
        let forwarding = new_forwarding();
        let link = PeerLink {
            key,
            participant: participant.to_owned(),
            media: media_tx.clone(),
            control: control_tx.clone(),
            forwarding: forwarding.clone(),
        };

        let mut rooms = inner.rooms.lock();
        let room = rooms
            .entry(room_id.to_owned())
            .or_insert_with(|| {
                RoomShared::new(
                    room_id.to_owned(),
                    inner.config.max_participants,
                    inner.demux.clone(),
                    Arc::downgrade(&inner.rooms),
                    &inner.runtime,
                )
            })
            .clone();
        let admitted = room.admit(link);
        if admitted.is_err() && room.is_empty() {
            rooms.remove(room_id);
        }
        let existing_tracks = admitted?;
        drop(rooms);

        let credentials = IceCreds::new();
        let ufrag = credentials.ufrag.clone();
        inner.demux.register(ufrag.clone(), Route { key, input: media_tx });
        let rtc = self.new_rtc(credentials);
        let task = PeerTask::new(
            key,
            participant.to_owned(),
            room.clone(),
            rtc,
            inner.transport.clone(),
            forwarding,
            events_tx.clone(),
            ufrag,
            existing_tracks,
            inner.config.max_video_kbps,
        );
        let channels =
            PeerChannels { media: media_rx, control: control_rx, handles_gone: alive_rx };
        spawn_peer(&inner.runtime, task, channels, room.clone(), events_tx);
        let handle = PeerHandle::new(participant, Room { shared: room }, control_tx, alive_tx);
        Ok((handle, PeerEvents { events: events_rx }))
    }

    fn new_rtc(&self, credentials: IceCreds) -> Rtc {
        let inner = &self.inner;
        let mut rtc = Rtc::builder()
            .set_ice_lite(true)
            .set_local_ice_credentials(credentials)
            .set_crypto_provider(inner.crypto.clone())
            .set_dtls_cert(inner.dtls_cert.clone())
            // Codecs in order of preference; a track reaches a subscriber only in a codec
            // both accepted (the browser's answer intersects).
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            // Loss reported by the client drives its simulcast layers (see
            // `simulcast::LossEstimate`; str0m's TWCC estimator paces every leg at its
            // estimate, which starved rooms of twenty and cost a third more CPU). Stats
            // cost CPU in proportion to their rate: every two seconds is enough for this.
            .set_stats_interval(Some(crate::simulcast::LOSS_REPORT_INTERVAL))
            .build(Instant::now());
        let transport = &inner.transport;
        let udp = Candidate::host(transport.udp_candidate, "udp");
        // Passive: the client connects to us (RFC 6544); an ICE-lite server never dials.
        let tcp = transport
            .tcp_candidate
            .map(|addr| Candidate::builder().tcp().host(addr).tcptype(TcpType::Passive).build());
        for candidate in std::iter::once(udp).chain(tcp) {
            match candidate {
                Ok(candidate) => {
                    rtc.add_local_candidate(candidate);
                }
                // Only an unusable address fails here, and `bind` already refused those.
                Err(e) => error!("host candidate: {e}"),
            }
        }
        rtc
    }
}

/// Runs a peer's task and, however it ends (left, transport lost, error, panic), removes
/// the peer from its room. Its `JoinError` is how a panic inside str0m is contained: the
/// task unwinds, this watcher carries on.
fn spawn_peer(
    runtime: &Handle,
    task: PeerTask,
    channels: PeerChannels,
    room: Arc<RoomShared>,
    events: mpsc::UnboundedSender<PeerEvent>,
) {
    let (key, participant) = (task.key, task.participant.clone());
    let session = runtime.spawn(task.run(channels));
    runtime.spawn(async move {
        let reason = match session.await {
            Ok(reason) => reason,
            Err(e) if e.is_panic() => {
                error!(participant, room = %room.id, "media session panicked; closed alone");
                LeaveReason::Failed("internal error in the media session".into())
            }
            Err(_) => LeaveReason::Failed("the media session was cancelled".into()),
        };
        log_exit(&participant, &room.id, &reason);
        room.remove(key, &participant, reason.clone());
        let _ = events.send(PeerEvent::Closed(reason));
    });
}

/// The socket loop: every datagram to the peer it belongs to.
async fn receive(socket: Arc<UdpSocket>, demux: Arc<Demux>) {
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    loop {
        let (len, source) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(e) => {
                // Linux reports an earlier send's ICMP error on the next receive; the
                // socket itself is fine.
                warn!("media socket receive: {e}");
                continue;
            }
        };
        let received = Instant::now();
        let datagram = &buffer[..len];
        let Some(route) = demux.route(source, datagram) else {
            debug!(%source, len, "datagram for no session");
            continue;
        };
        let input =
            PeerInput::Datagram { proto: Protocol::Udp, source, data: datagram.to_vec(), received };
        // Full: the session is behind; the datagram is lost as on a congested link.
        let _ = route.input.try_send(input);
    }
}
