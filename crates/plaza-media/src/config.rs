//! The media engine's settings (`[media]` in the server configuration, once wired).

use std::net::{IpAddr, SocketAddr, UdpSocket};

use crate::MediaError;

/// Settings of the SFU.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// The one UDP address all media of all rooms arrives on (`media.udp_listen`). Port 0
    /// picks a free port (tests); deployments open a fixed one in their firewall.
    pub udp_listen: SocketAddr,
    /// The address announced to clients as the ICE host candidate (`media.public_ip`): the
    /// public address of a server behind 1:1 NAT. When unset, the listen address is
    /// announced, or, when that is unspecified (`0.0.0.0`), the address of the interface
    /// holding the default route.
    pub public_ip: Option<IpAddr>,
    /// The TCP address for ICE-TCP (RFC 6544), the fallback for networks that block UDP
    /// (`media.tcp_listen`); announced as a passive candidate with the same IP as the UDP
    /// one. `None`: UDP only.
    pub tcp_listen: Option<SocketAddr>,
    /// How many people one room (meeting) may hold (`media.max_participants`); one more is
    /// refused with [`MediaError::RoomFull`].
    pub max_participants: usize,
    /// The most one client may send of one video (camera or screen share, all its
    /// simulcast layers together), in kbit/s (`media.max_video_kbps`): written as `b=AS`
    /// in the server's answers, which browsers obey. 0: no cap.
    pub max_video_kbps: u32,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            udp_listen: SocketAddr::from(([0, 0, 0, 0], 50_000)),
            public_ip: None,
            tcp_listen: None,
            max_participants: 50,
            max_video_kbps: 2_500,
        }
    }
}

impl MediaConfig {
    /// The IP address to announce for a socket bound to `bound`.
    pub(crate) fn announced_ip(&self, bound: SocketAddr) -> Result<IpAddr, MediaError> {
        if let Some(ip) = self.public_ip {
            if ip.is_unspecified() {
                return Err(MediaError::Config(format!(
                    "public_ip {ip} is unspecified: announce an address clients can reach"
                )));
            }
            return Ok(ip);
        }
        if !bound.ip().is_unspecified() {
            return Ok(bound.ip());
        }
        default_route_ip(bound.is_ipv6()).ok_or_else(|| {
            MediaError::Config(format!(
                "udp_listen {bound} is unspecified and no default route was found: set public_ip"
            ))
        })
    }
}

/// The local address the kernel would use to reach the outside world. Connecting a UDP
/// socket sends nothing; it only asks the routing table. The peer is a documentation
/// address (TEST-NET-1, RFC 5737; 2001:db8::/32, RFC 3849) so no real host is named.
fn default_route_ip(ipv6: bool) -> Option<IpAddr> {
    let (bind, probe): (SocketAddr, SocketAddr) = if ipv6 {
        ("[::]:0".parse().ok()?, "[2001:db8::1]:9".parse().ok()?)
    } else {
        ("0.0.0.0:0".parse().ok()?, "192.0.2.1:9".parse().ok()?)
    };
    let socket = UdpSocket::bind(bind).ok()?;
    socket.connect(probe).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_ip_wins_over_the_listen_address() {
        let config = MediaConfig {
            public_ip: Some("203.0.113.7".parse().unwrap()),
            ..MediaConfig::default()
        };
        let ip = config.announced_ip("127.0.0.1:4000".parse().unwrap()).unwrap();
        assert_eq!(ip, "203.0.113.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_specific_listen_address_is_announced_as_is() {
        let config = MediaConfig::default();
        let ip = config.announced_ip("127.0.0.1:4000".parse().unwrap()).unwrap();
        assert_eq!(ip, "127.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_unspecified_public_ip_is_refused() {
        let config =
            MediaConfig { public_ip: Some("0.0.0.0".parse().unwrap()), ..MediaConfig::default() };
        let err = config.announced_ip("127.0.0.1:4000".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("unspecified"), "{err}");
    }
}
