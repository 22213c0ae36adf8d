//! The media server: the shared UDP socket, the rooms, and joining.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use str0m::config::{CryptoProvider, DtlsCert};
use str0m::{Candidate, IceCreds, Rtc};
use tokio::net::UdpSocket;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, error, warn};

use crate::demux::{Demux, Route};
use crate::link::{PeerInput, PeerKey, PeerLink, new_forwarding};
use crate::peer::{PeerChannels, PeerEvent, PeerEvents, PeerHandle, PeerTask, log_exit};
use crate::room::{LeaveReason, Room, RoomShared, Rooms};
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
    socket: Arc<UdpSocket>,
    /// The ICE host candidate every participant is given.
    announced: SocketAddr,
    crypto: Arc<CryptoProvider>,
    /// One certificate for every session: its generation is the costly part of a join,
    /// and the fingerprint only has to match what this server's answers say.
    dtls_cert: DtlsCert,
    runtime: Handle,
    receiver: JoinHandle<()>,
    next_key: AtomicU64,
}

impl Drop for ServerInner {
    fn drop(&mut self) {
        self.receiver.abort();
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
        let socket = Arc::new(socket);
        let demux = Arc::new(Demux::default());
        let runtime = Handle::current();
        let receiver = runtime.spawn(receive(socket.clone(), demux.clone()));
        Ok(MediaServer {
            inner: Arc::new(ServerInner {
                config,
                rooms: Arc::default(),
                demux,
                socket,
                announced,
                crypto,
                dtls_cert,
                runtime,
                receiver,
                next_key: AtomicU64::new(1),
            }),
        })
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.socket.local_addr().unwrap_or(self.inner.config.udp_listen)
    }

    /// The address announced to clients (the ICE host candidate).
    pub fn announced_addr(&self) -> SocketAddr {
        self.inner.announced
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
            inner.socket.clone(),
            inner.announced,
            forwarding,
            events_tx.clone(),
            ufrag,
            existing_tracks,
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
            .build(Instant::now());
        match Candidate::host(inner.announced, "udp") {
            Ok(candidate) => {
                rtc.add_local_candidate(candidate);
            }
            // Only an unusable address fails here, and `bind` already refused those.
            Err(e) => error!("host candidate {}: {e}", inner.announced),
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
        let input = PeerInput::Datagram { source, data: datagram.to_vec(), received };
        // Full: the session is behind; the datagram is lost as on a congested link.
        let _ = route.input.try_send(input);
    }
}
