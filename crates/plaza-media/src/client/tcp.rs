//! The client's side of ICE-TCP (RFC 6544): an active candidate, the connection made when
//! the ICE agent first sends to the server's passive candidate, RFC 4571 framing.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpSocket;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

/// A frame received from the server: its address and the packet.
pub(super) type Frame = (SocketAddr, Vec<u8>);

pub(super) enum ClientTcp {
    /// Bound (so the candidate names the real address), not yet connected.
    Bound(TcpSocket),
    Connected {
        server: SocketAddr,
        writer: OwnedWriteHalf,
    },
    /// The connection failed or closed; ICE-TCP is over for this client.
    Closed,
}

impl ClientTcp {
    pub fn bind(ip: std::net::IpAddr) -> std::io::Result<(ClientTcp, SocketAddr)> {
        let socket = if ip.is_ipv6() { TcpSocket::new_v6()? } else { TcpSocket::new_v4()? };
        socket.bind(SocketAddr::new(ip, 0))?;
        let addr = socket.local_addr()?;
        Ok((ClientTcp::Bound(socket), addr))
    }

    /// Sends one packet to `server`, connecting first if needed; received frames go to
    /// `frames`.
    pub async fn send(
        &mut self,
        server: SocketAddr,
        packet: &[u8],
        frames: &mpsc::UnboundedSender<Frame>,
    ) {
        if let ClientTcp::Bound(_) = self {
            let ClientTcp::Bound(socket) = std::mem::replace(self, ClientTcp::Closed) else {
                return;
            };
            let Ok(stream) = socket.connect(server).await else { return };
            let _ = stream.set_nodelay(true);
            let (reader, writer) = stream.into_split();
            tokio::spawn(read_frames(BufReader::new(reader), server, frames.clone()));
            *self = ClientTcp::Connected { server, writer };
        }
        let ClientTcp::Connected { server: connected, writer } = self else { return };
        let Ok(len) = u16::try_from(packet.len()) else { return };
        if *connected != server {
            return;
        }
        let mut framed = Vec::with_capacity(packet.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(packet);
        if writer.write_all(&framed).await.is_err() {
            *self = ClientTcp::Closed;
        }
    }
}

async fn read_frames(
    mut reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    server: SocketAddr,
    frames: mpsc::UnboundedSender<Frame>,
) {
    loop {
        let Ok(len) = reader.read_u16().await else { return };
        let mut frame = vec![0u8; usize::from(len)];
        if reader.read_exact(&mut frame).await.is_err() || frames.send((server, frame)).is_err() {
            return;
        }
    }
}
