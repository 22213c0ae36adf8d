//! ICE-TCP (RFC 6544): the fallback for networks that block UDP. The server listens on
//! `tcp_listen` and announces it as a passive TCP host candidate; a client connects, and
//! every STUN, DTLS, SRTP and SRTCP packet then travels on that connection framed as in
//! RFC 4571 (a 2-byte big-endian length before each packet).
//!
//! A connection belongs to the session its first frame names: a STUN binding request
//! whose USERNAME carries a session's ufrag (the only thing a client sends first). Any
//! other first frame, or none within [`FIRST_FRAME_TIMEOUT`], closes the connection. The
//! session's `Rtc` answers through [`TcpConnections::send`], by the client's address.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use str0m::net::Protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tracing::debug;

use crate::demux::{Demux, stun_local_ufrag};
use crate::link::PeerInput;

/// A client must identify its session this soon after connecting.
pub const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections not yet identified at once, from everyone together: beyond this, a new
/// connection is closed at once, so a flood of idle connections costs a bounded number
/// of tasks and descriptors for at most [`FIRST_FRAME_TIMEOUT`].
pub const MAX_UNIDENTIFIED_CONNECTIONS: usize = 256;
/// WebRTC packets fit a UDP datagram; a longer frame is not ICE-TCP traffic.
const MAX_FRAME: usize = 2048;
/// Packets waiting to be written to one connection before more are dropped (a TCP
/// connection that cannot keep up loses packets as a congested UDP path would).
const WRITE_QUEUE: usize = 512;

/// The open ICE-TCP connections by client address, for sessions to answer through.
#[derive(Default)]
pub(crate) struct TcpConnections {
    writers: RwLock<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>,
}

impl TcpConnections {
    /// Queues `packet` for the connection from `client`; dropped when there is none (an
    /// ICE-lite server never connects out) or it is backed up.
    pub fn send(&self, client: SocketAddr, packet: &[u8]) {
        let writers = self.writers.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(writer) = writers.get(&client) {
            let _ = writer.try_send(packet.to_vec());
        }
    }

    fn insert(&self, client: SocketAddr, writer: mpsc::Sender<Vec<u8>>) {
        self.writers
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(client, writer);
    }

    fn remove(&self, client: SocketAddr) {
        self.writers.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&client);
    }
}

/// Accepts ICE-TCP connections until the listener fails (the server is dropped).
pub(crate) async fn accept(
    listener: TcpListener,
    demux: Arc<Demux>,
    connections: Arc<TcpConnections>,
) {
    let unidentified = Arc::new(Semaphore::new(MAX_UNIDENTIFIED_CONNECTIONS));
    loop {
        match listener.accept().await {
            Ok((stream, client)) => {
                let Ok(permit) = unidentified.clone().try_acquire_owned() else {
                    debug!(%client, "ICE-TCP connection refused: too many unidentified");
                    continue;
                };
                tokio::spawn(serve(stream, client, permit, demux.clone(), connections.clone()));
            }
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                debug!("ICE-TCP accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve(
    stream: TcpStream,
    client: SocketAddr,
    unidentified: OwnedSemaphorePermit,
    demux: Arc<Demux>,
    connections: Arc<TcpConnections>,
) {
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut frame = Vec::with_capacity(MAX_FRAME);

    let first =
        tokio::time::timeout(FIRST_FRAME_TIMEOUT, read_frame(&mut reader, &mut frame)).await;
    let Ok(Ok(())) = first else { return };
    let Some(route) = stun_local_ufrag(&frame).and_then(|ufrag| demux.route_ufrag(ufrag)) else {
        debug!(%client, "ICE-TCP connection naming no session closed");
        return;
    };
    drop(unidentified);

    let (queue, outgoing) = mpsc::channel(WRITE_QUEUE);
    connections.insert(client, queue);
    let writing = tokio::spawn(write_frames(writer, outgoing));
    loop {
        let input = PeerInput::Datagram {
            proto: Protocol::Tcp,
            source: client,
            data: frame.clone(),
            received: Instant::now(),
        };
        match route.input.try_send(input) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
            // The session ended: so does its connection.
            Err(mpsc::error::TrySendError::Closed(_)) => break,
        }
        if read_frame(&mut reader, &mut frame).await.is_err() {
            break;
        }
    }
    connections.remove(client);
    writing.abort();
}

/// Reads one RFC 4571 frame into `frame`.
async fn read_frame(
    reader: &mut BufReader<OwnedReadHalf>,
    frame: &mut Vec<u8>,
) -> std::io::Result<()> {
    let len = usize::from(reader.read_u16().await?);
    if len == 0 || len > MAX_FRAME {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "frame length"));
    }
    frame.resize(len, 0);
    reader.read_exact(frame).await?;
    Ok(())
}

async fn write_frames(mut writer: OwnedWriteHalf, mut outgoing: mpsc::Receiver<Vec<u8>>) {
    let mut framed = Vec::with_capacity(MAX_FRAME + 2);
    while let Some(packet) = outgoing.recv().await {
        let Ok(len) = u16::try_from(packet.len()) else { continue };
        framed.clear();
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&packet);
        if writer.write_all(&framed).await.is_err() {
            return;
        }
    }
}
