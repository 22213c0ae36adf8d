//! The media plane of this node: the SFU that `[media]` describes, started with the
//! server and handed to the socket layer (and, for admin mutes, to the meetings).

use std::sync::Arc;

use anyhow::Context;

use crate::settings;

/// Starts this node's SFU when `media.enabled`: binds its UDP (and ICE-TCP) port.
pub(crate) async fn start_media(
    settings: &settings::MediaSettings,
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<Arc<plaza_realtime::MediaPlane>>> {
    if !settings.enabled {
        return Ok(None);
    }
    let config = plaza_realtime::MediaPlaneConfig {
        engine: plaza_media::MediaConfig {
            udp_listen: settings.udp_listen,
            public_ip: settings.public_ip,
            tcp_listen: settings.tcp_listen,
            max_participants: settings.max_participants,
            max_video_kbps: settings.max_video_kbps,
        },
        ice_servers: settings
            .ice_servers
            .iter()
            .map(|server| plaza_wire::media::IceServer {
                urls: server.urls.clone(),
                username: server.username.clone(),
                credential: server.credential.clone(),
            })
            .collect(),
        recordings_dir: data_dir.join("recordings"),
    };
    let plane = plaza_realtime::MediaPlane::start(config).await.with_context(|| {
        format!(
            "media.udp_listen = {} / media.tcp_listen = {:?}",
            settings.udp_listen, settings.tcp_listen
        )
    })?;
    Ok(Some(plane))
}
