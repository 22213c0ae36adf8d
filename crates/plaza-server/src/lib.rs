//! The Plaza server: settings, wiring, serving and graceful shutdown.
//!
//! `main.rs` is the thin command line; everything it does is here so that integration
//! tests can start a real server on port 0 with [`Application::build_with_listener`].
#![forbid(unsafe_code)]

pub mod backup;
mod cluster;
mod media;
mod serve;
pub mod settings;

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use plaza_blob::{ObjectBlobStore, S3Config};
use plaza_core::digest::{DigestNotes, Digests};
use plaza_core::events::{EventSink, Fanout, LogSink};
use plaza_core::files::{BlobStore, FileConfig, FileService};
use plaza_core::identity::{IdentityService, SigningKeys};
use plaza_core::limits::{LocalRateLimiter, Rate, RateLimiter, StoreRateLimiter};
use plaza_core::mail::{Mailer, Postman, Site};
use plaza_core::meetings::{
    CallRegistry, LocalCallRegistry, MeetingConfig, MeetingReactions, MeetingService,
    StoreCallRegistry,
};
use plaza_core::messages::MessageService;
use plaza_core::spaces::SpaceService;
use plaza_db::Store;
use plaza_db_postgres::PostgresStore;
use plaza_db_sqlite::SqliteStore;
use plaza_http::{AppState, HttpConfig};
use plaza_realtime::RealtimeSink;
use tokio::net::TcpListener;

pub use settings::{FileStorage, Overrides, Settings};

/// How often expired revocations, codes and tokens are swept.
const PURGE_INTERVAL: Duration = Duration::from_secs(600);

/// Opens the database the settings name, creating the data folder for SQLite, and
/// applies pending migrations.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open_database(settings).await?.0)
}

/// The database the settings name, migrated, as the store and as backups see it.
pub async fn open_database(
    settings: &Settings,
) -> anyhow::Result<(Arc<dyn Store>, Arc<dyn plaza_db::Backup>)> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") {
        create_private_dir(&settings.server.data_dir)?;
        let store = SqliteStore::connect(&url)
            .await
            .with_context(|| format!("open {}", settings::redact_url(&url)))?;
        store.migrate().await.context("migrate the SQLite database")?;
        let store = Arc::new(store);
        Ok((store.clone(), store))
    } else {
        let store = PostgresStore::connect(&url, settings.database.max_connections)
            .await
            .with_context(|| format!("connect to {}", settings::redact_url(&url)))?;
        store.migrate().await.context("migrate the PostgreSQL database")?;
        let store = Arc::new(store);
        Ok((store.clone(), store))
    }
}

/// Creates a folder readable by its owner only (it holds the database and the key).
fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).with_context(|| format!("create data folder {}", path.display()))
}

/// Where a node keeps the key it signs JWTs with.
fn signing_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("jwt-ed25519.pem")
}

/// Writes `pem` as the node's key file, readable by its owner only, unless one exists.
fn write_signing_key(data_dir: &Path, pem: &str) -> anyhow::Result<()> {
    let path = signing_key_path(data_dir);
    create_private_dir(data_dir)?;
    create_private_dir(&data_dir.join("keys"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(pem.as_bytes())?;
            file.sync_all()?;
            Ok(())
        }
        // Another process wrote it first; the database decides which key counts.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("write {}", path.display())),
    }
}

/// The key every node signs JWTs with: the first node's, kept in the database, so
/// that a token from one node is good on all. A single node's existing key file becomes
/// that key (upgrading invalidates no token); a new node writes the shared key to its
/// key file.
async fn shared_signing_keys(store: &dyn Store, data_dir: &Path) -> anyhow::Result<SigningKeys> {
    let path = signing_key_path(data_dir);
    let local_pem = match std::fs::read_to_string(&path) {
        Ok(pem) => Some(pem),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    let candidate = match &local_pem {
        Some(pem) => pem.clone(),
        None => SigningKeys::generate().map_err(|e| anyhow::anyhow!("{e}"))?.1,
    };
    let shared = store
        .secret(JWT_KEY_SECRET, &candidate, plaza_core::Timestamp::now())
        .await
        .context("read the shared JWT signing key")?;
    let keys = SigningKeys::from_pkcs8_pem(&shared).map_err(|e| anyhow::anyhow!("{e}"))?;
    match local_pem {
        None => {
            write_signing_key(data_dir, &shared)?;
            tracing::info!(path = %path.display(), kid = keys.kid(), "stored the JWT signing key");
        }
        Some(pem) if pem != shared => tracing::warn!(
            path = %path.display(),
            kid = keys.kid(),
            "this node's key file differs from the key the database holds; signing with the \
             database's, which every node shares"
        ),
        Some(_) => {}
    }
    Ok(keys)
}

/// The `server_secret` holding the JWT signing key (PKCS#8 PEM).
const JWT_KEY_SECRET: &str = "jwt-signing-key";

/// The adapter `realtime.adapter` names: `local`, or a `redis://` / `rediss://` URL.
fn realtime_adapter(settings: &Settings) -> anyhow::Result<plaza_realtime::AdapterConfig> {
    let value = settings.realtime.adapter.0.trim();
    if value.is_empty() || value == "local" {
        return Ok(plaza_realtime::AdapterConfig::Local);
    }
    if value == "postgres" {
        let url = settings.database.url.as_ref().map(|u| u.0.clone()).unwrap_or_default();
        anyhow::ensure!(
            url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "realtime.adapter = \"postgres\" fans out through the PostgreSQL database, so \
             database.url must be a postgres:// URL"
        );
        return Ok(plaza_realtime::AdapterConfig::Postgres {
            url,
            prefix: settings.realtime.channel_prefix.trim().to_owned(),
        });
    }
    if value.starts_with("redis://") || value.starts_with("rediss://") {
        let prefix = settings.realtime.channel_prefix.trim();
        anyhow::ensure!(!prefix.is_empty(), "realtime.channel_prefix must not be empty");
        return Ok(plaza_realtime::AdapterConfig::Redis {
            url: value.to_owned(),
            prefix: prefix.to_owned(),
        });
    }
    anyhow::bail!(
        "realtime.adapter must be \"local\", \"postgres\" or a redis:// URL, not {:?}",
        settings.realtime.adapter
    )
}

/// Where rate-limit counts live: in this process, or shared by every node.
enum SharedCounts {
    Local,
    /// In the database, under keys named after the deployment's prefix.
    Store(Arc<dyn Store>, String),
    Redis(redis::aio::ConnectionManager, String),
}

impl SharedCounts {
    /// A limiter for `what` (sends, uploads, …) at `rate`.
    fn limiter(&self, what: &str, rate: Rate) -> Arc<dyn RateLimiter> {
        match self {
            SharedCounts::Local => Arc::new(LocalRateLimiter::new(rate)),
            SharedCounts::Store(store, prefix) => {
                Arc::new(StoreRateLimiter::new(store.clone(), &format!("{prefix}:{what}"), rate))
            }
            SharedCounts::Redis(redis, prefix) => Arc::new(cluster::RedisRateLimiter::new(
                redis.clone(),
                &format!("{prefix}:rate:{what}"),
                rate,
            )),
        }
    }
}

/// The services built from settings, shared by `serve` and the admin commands.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub identity: Arc<IdentityService>,
    pub spaces: Arc<SpaceService>,
    pub messages: Arc<MessageService>,
    pub files: Arc<FileService>,
    pub meetings: Arc<MeetingService>,
    /// `SEND_PRESENCE_EVENT`s per user, counted across nodes.
    pub presence_limiter: Arc<dyn RateLimiter>,
    /// The digests of missed mentions and direct messages (sent only with `[email]`).
    pub digests: Arc<Digests>,
}

/// The mail sender `[email]` describes (none when `email.host` is empty), with links
/// into the web client at `base_url`.
fn postman(settings: &Settings, base_url: &str) -> anyhow::Result<Postman> {
    let mailer: Option<Arc<dyn Mailer>> = match settings.smtp_config()? {
        Some(config) => {
            Some(Arc::new(plaza_mail::SmtpMailer::new(&config).map_err(|e| anyhow::anyhow!(e))?))
        }
        None => None,
    };
    let site = Site { name: settings.email.server_name.clone(), base_url: base_url.to_owned() };
    Ok(Postman::new(mailer, site))
}

/// The blob store `[files]` names, checked to answer before the server starts.
async fn open_blobs(settings: &Settings) -> anyhow::Result<Arc<dyn BlobStore>> {
    let files = &settings.files;
    let several_nodes =
        matches!(realtime_adapter(settings)?, plaza_realtime::AdapterConfig::Redis { .. });
    anyhow::ensure!(
        !(several_nodes && files.storage == FileStorage::Local && !files.local_is_shared),
        "several nodes (realtime.adapter is not \"local\") cannot keep files on one node's disk: set \
         files.storage = \"s3\", or files.local_is_shared = true if {} is on a disk every \
         node shares",
        settings.server.data_dir.join("files").display()
    );
    let blobs = match files.storage {
        FileStorage::Local => {
            let dir = settings.server.data_dir.join("files");
            ObjectBlobStore::local(&dir)
                .with_context(|| format!("file storage in {}", dir.display()))?
        }
        FileStorage::S3 => {
            let s3 = &files.s3;
            anyhow::ensure!(
                !s3.endpoint.is_empty() && !s3.bucket.is_empty(),
                "files.storage = \"s3\" needs files.s3.endpoint and files.s3.bucket"
            );
            ObjectBlobStore::s3(&S3Config {
                endpoint: s3.endpoint.clone(),
                bucket: s3.bucket.clone(),
                region: s3.region.clone(),
                access_key_id: s3.access_key_id.clone(),
                secret_access_key: s3.secret_access_key.0.clone(),
                virtual_hosted_style: s3.virtual_hosted_style,
            })?
        }
    };
    blobs.check().await.with_context(|| {
        format!("file storage ({:?}) does not answer reads and writes", files.storage)
    })?;
    Ok(Arc::new(blobs))
}

impl Services {
    /// Builds the services; domain events go to `events`. Mail links lead to
    /// `server.public_url`, else `server.listen`.
    pub async fn build_with_events(
        settings: &Settings,
        events: Arc<dyn EventSink>,
    ) -> anyhow::Result<Services> {
        let base_url = match &settings.server.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", settings.server.listen),
        };
        Self::build_for(settings, events, &base_url).await
    }

    /// As [`Services::build_with_events`], with mail links leading to `base_url`.
    pub async fn build_for(
        settings: &Settings,
        events: Arc<dyn EventSink>,
        base_url: &str,
    ) -> anyhow::Result<Services> {
        let store = open_store(settings).await?;
        let postman = Arc::new(postman(settings, base_url)?);
        let keys = shared_signing_keys(store.as_ref(), &settings.server.data_dir).await?;
        let limits = &settings.limits;
        // Several nodes share counts and ringing calls through Redis or the database;
        // one node keeps them here.
        let (shared, calls): (SharedCounts, Arc<dyn CallRegistry>) =
            match realtime_adapter(settings)? {
                plaza_realtime::AdapterConfig::Local => {
                    (SharedCounts::Local, Arc::new(LocalCallRegistry::default()))
                }
                plaza_realtime::AdapterConfig::Postgres { prefix, .. } => (
                    SharedCounts::Store(store.clone(), prefix),
                    Arc::new(StoreCallRegistry::new(store.clone())),
                ),
                plaza_realtime::AdapterConfig::Redis { url, prefix } => {
                    let redis = cluster::connect(&url).await.with_context(|| {
                        format!("realtime.adapter = {:?}", settings.realtime.adapter)
                    })?;
                    let calls = Arc::new(cluster::RedisCallRegistry::new(redis.clone(), &prefix));
                    (SharedCounts::Redis(redis, prefix), calls)
                }
            };
        let identity = Arc::new(
            IdentityService::new(store.clone(), keys, settings.identity_config())
                .with_events(events.clone())
                .with_postman(postman.clone())
                .with_auth_limiter(shared.limiter(
                    "auth",
                    Rate { per_second: limits.auth_per_second, burst: limits.auth_burst },
                )),
        );
        let message_limits = &settings.messages;
        let send_limiter = shared.limiter(
            "sends",
            Rate { per_second: message_limits.sends_per_second, burst: message_limits.send_burst },
        );
        let file_settings = &settings.files;
        let file_config = FileConfig {
            max_file_bytes: file_settings.max_file_bytes,
            user_quota_bytes: file_settings.user_quota_bytes,
            allowed_types: file_settings.allowed_types.clone(),
            upload_url_ttl: Duration::from_secs(file_settings.upload_url_ttl_secs),
            download_url_ttl: Duration::from_secs(file_settings.download_url_ttl_secs),
            ..FileConfig::default()
        };
        let files = Arc::new(
            FileService::new(store.clone(), open_blobs(settings).await?, file_config)
                .await?
                .with_upload_limiter(shared.limiter(
                    "uploads",
                    Rate { per_second: limits.uploads_per_second, burst: limits.upload_burst },
                )),
        );
        // The meeting service reacts to events it also publishes (a removed member
        // leaves the meeting): it hears them through a listener bound once it exists.
        let reactions = Arc::new(MeetingReactions::default());
        let mut sinks: Vec<Arc<dyn EventSink>> = vec![events, reactions.clone()];
        if postman.configured() {
            // Only with mail: noting digest items costs a clone of every message event.
            sinks.push(Arc::new(DigestNotes::start(store.clone())));
        }
        let events: Arc<dyn EventSink> = Arc::new(Fanout(sinks));
        let pin_rate =
            Rate { per_second: limits.pin_attempts_per_second, burst: limits.pin_attempt_burst };
        let space_pin_rate =
            Rate { per_second: pin_rate.per_second * 3, burst: pin_rate.burst * 3 };
        let spaces = Arc::new(
            SpaceService::new(store.clone(), events.clone())
                .with_pin_limiters(
                    shared.limiter("pins", pin_rate),
                    shared.limiter("space-pins", space_pin_rate),
                )
                .with_postman(postman.clone()),
        );
        let messages = Arc::new(MessageService::new(
            store.clone(),
            events.clone(),
            files.clone(),
            message_limits.max_bytes,
            send_limiter,
        ));
        let meeting_settings = &settings.meetings;
        let millis = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        let meetings = Arc::new(MeetingService::new(
            store.clone(),
            events,
            identity.clone(),
            MeetingConfig {
                drop_grace_ms: millis(meeting_settings.drop_grace_ms),
                ring_timeout_ms: millis(meeting_settings.ring_timeout_ms),
                media_token_ttl_secs: millis(meeting_settings.media_token_ttl_secs),
                node_id: plaza_core::ObjectId::new().to_string(),
                node_timeout_ms: millis(settings.realtime.node_timeout_ms),
            },
            calls,
        ));
        reactions.bind(&meetings);
        let presence_limiter = shared.limiter(
            "presence",
            Rate { per_second: limits.presence_per_second * 2, burst: limits.presence_burst * 2 },
        );
        let digest_after = i64::try_from(settings.email.digest_after_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX);
        let digests =
            Arc::new(Digests::new(store.clone(), identity.clone(), postman, digest_after));
        Ok(Services {
            store,
            identity,
            spaces,
            messages,
            files,
            meetings,
            presence_limiter,
            digests,
        })
    }

    /// Builds the services with events logged (the server has no realtime yet).
    pub async fn build(settings: &Settings) -> anyhow::Result<Services> {
        Self::build_with_events(settings, Arc::new(LogSink)).await
    }
}

/// A server bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    identity: Arc<IdentityService>,
    files: Arc<FileService>,
    meetings: Arc<MeetingService>,
    digests: Arc<Digests>,
    online: plaza_realtime::OnlineProbe,
    digest_every: Duration,
    grace: Duration,
    /// How long audit events are kept; `None` keeps them all.
    audit_retention: Option<Duration>,
    /// Socket events in progress, finished before the process lets go.
    drain: plaza_realtime::Drain,
    closer: plaza_realtime::ConnectionCloser,
    /// This node's SFU: its recordings are finished on the way out.
    media: Option<Arc<plaza_realtime::MediaPlane>>,
    connection_limits: serve::ConnectionLimits,
    /// The `metrics.listen` address, bound, and what it serves.
    metrics_listener: Option<(TcpListener, axum::Router)>,
}

impl Application {
    /// Builds the server and binds `server.listen`.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.server.listen)
            .await
            .with_context(|| format!("listen on {}", settings.server.listen))?;
        Self::build_with_listener(settings, listener).await
    }

    /// Builds the server on an already bound listener (tests bind port 0 first).
    pub async fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
    ) -> anyhow::Result<Application> {
        Self::build_with_events(settings, listener, Arc::new(LogSink)).await
    }

    /// As [`Application::build_with_listener`], publishing domain events to `events`.
    pub async fn build_with_events(
        settings: Settings,
        listener: TcpListener,
        events: Arc<dyn EventSink>,
    ) -> anyhow::Result<Application> {
        // Sockets hear every event; so does whatever else the caller listens with.
        let realtime = Arc::new(RealtimeSink::default());
        let fanout: Arc<dyn EventSink> = Arc::new(Fanout(vec![realtime.clone(), events]));
        let base_url = realtime_base_url(&settings, &listener);
        let services = Services::build_for(&settings, fanout, &base_url).await?;
        let pool_store = services.store.clone();
        let probes = plaza_http::metrics::Probes {
            pool: Some(Box::new(move || pool_store.connections())),
            socket_packets: Some(Box::new(plaza_realtime::socket_packet_counts)),
        };
        let metrics = plaza_http::metrics::Metrics::with_probes(
            Some(settings.metrics.token.0.clone()),
            probes,
        );
        let metrics_for_listen = metrics.clone();
        let state = AppState {
            metrics: metrics.clone(),
            identity: services.identity.clone(),
            spaces: services.spaces.clone(),
            messages: services.messages.clone(),
            files: services.files.clone(),
            meetings: services.meetings.clone(),
            config: Arc::new(HttpConfig {
                public_url: settings.server.public_url.clone(),
                body_limit_bytes: settings.server.body_limit_bytes,
                cors_origins: settings.server.cors_origins.clone(),
                trusted_proxies: settings.server.trusted_proxies.clone(),
                request_timeout: Duration::from_secs(settings.limits.request_timeout_secs),
                dial_in_numbers: settings.meetings.dial_in_numbers.clone(),
                allowed_hosts: settings.server.allowed_hosts.clone(),
                listen: listener.local_addr().ok(),
            }),
        };
        let adapter = realtime_adapter(&settings)?;
        let media = media::start_media(&settings.media, &settings.server.data_dir).await?;
        if let Some(plane) = &media {
            services.meetings.bind_media(plane.clone(), services.files.clone());
        }
        let drain = plaza_realtime::Drain::default();
        let web = match &settings.web.assets_dir {
            Some(folder) => plaza_web::Assets::Folder(folder.clone()),
            None => plaza_web::Assets::Embedded,
        };
        let (router, closer, online) = plaza_realtime::attach(
            plaza_http::router(state).merge(plaza_web::router(web)),
            plaza_realtime::RealtimeState {
                identity: services.identity.clone(),
                spaces: services.spaces.clone(),
                messages: services.messages.clone(),
                meetings: services.meetings.clone(),
                base_url,
                limits: plaza_realtime::RealtimeLimits {
                    connections_per_user: settings.limits.connections_per_user,
                    socket_queue: settings.limits.socket_queue,
                    ping_interval: Duration::from_millis(settings.realtime.ping_interval_ms),
                    ping_timeout: Duration::from_millis(settings.realtime.ping_timeout_ms),
                },
                presence_per_socket: Arc::new(LocalRateLimiter::new(Rate {
                    per_second: settings.limits.presence_per_second,
                    burst: settings.limits.presence_burst,
                })),
                presence_per_user: services.presence_limiter.clone(),
                metrics,
                connections: Default::default(),
                drain: drain.clone(),
                media: media.clone(),
                presence: Default::default(),
            },
            &realtime,
            &adapter,
        )
        .await
        .with_context(|| format!("realtime.adapter = {:?}", settings.realtime.adapter))?;
        let metrics_listener = match settings.metrics.listen {
            Some(address) => {
                let listener = TcpListener::bind(address)
                    .await
                    .with_context(|| format!("metrics.listen = {address}"))?;
                Some((listener, plaza_http::metrics::metrics_router(metrics_for_listen)))
            }
            None => None,
        };
        Ok(Application {
            metrics_listener,
            listener,
            router,
            identity: services.identity,
            files: services.files,
            meetings: services.meetings,
            digests: services.digests,
            online,
            digest_every: Duration::from_secs(settings.email.digest_check_secs),
            grace: Duration::from_secs(settings.server.shutdown_grace_secs),
            drain,
            closer,
            media: media.clone(),
            connection_limits: serve::ConnectionLimits {
                header_read_timeout: Duration::from_secs(settings.limits.header_read_timeout_secs),
                per_address: settings.limits.connections_per_address,
                uncapped: settings.server.trusted_proxies.clone(),
            },
            audit_retention: (settings.audit.retention_days > 0)
                .then(|| Duration::from_secs(settings.audit.retention_days * 24 * 3600)),
        })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` completes, then stops accepting and gives open requests
    /// the grace period to finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let purge = tokio::spawn(purge_periodically(
            self.identity.clone(),
            self.files.clone(),
            self.audit_retention,
            stop_rx.clone(),
        ));
        let drops = tokio::spawn(expire_meeting_drops(self.meetings.clone(), stop_rx.clone()));
        let heartbeat = tokio::spawn(keep_node_alive(self.meetings.clone(), stop_rx.clone()));
        let digests = tokio::spawn(send_digests(
            self.digests.clone(),
            self.online.clone(),
            self.digest_every,
            stop_rx.clone(),
        ));
        let metrics_server = self.metrics_listener.map(|(listener, router)| {
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let stopped = async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                };
                if let Err(error) =
                    axum::serve(listener, router).with_graceful_shutdown(stopped).await
                {
                    tracing::warn!(%error, "the metrics listener failed");
                }
            })
        });
        let server =
            serve::serve(self.listener, self.router, self.connection_limits, stop_rx.clone());
        let mut server = tokio::spawn(server);
        tokio::select! {
            finished = &mut server => {
                return finished.context("server task")?.context("serve");
            }
            () = shutdown => {}
        }
        tracing::info!("shutting down: finishing open requests and socket events");
        let _ = stop_tx.send(true);
        let started = std::time::Instant::now();
        if !self.drain.close_and_wait(self.grace).await {
            tracing::warn!(
                in_flight = self.drain.in_flight(),
                "socket events still running after the grace period"
            );
        }
        // Then the connections close after what is queued for them (the answers to
        // the events just finished): clients reconnect to another node or to this one.
        let left = self.grace.saturating_sub(started.elapsed()).max(Duration::from_millis(100));
        if tokio::time::timeout(left, self.closer.close()).await.is_err() {
            tracing::warn!("socket connections still closing after the grace period");
        }
        // Running recordings' files are closed (playable); they are stored when their
        // meeting ends, here after a restart or on another node.
        if let Some(media) = &self.media {
            media.finish_recordings().await;
        }
        let grace = self.grace.saturating_sub(started.elapsed());
        purge.abort();
        drops.abort();
        heartbeat.abort();
        digests.abort();
        if let Some(metrics_server) = metrics_server {
            metrics_server.abort();
        }
        match tokio::time::timeout(grace, &mut server).await {
            Ok(finished) => finished.context("server task")?.context("serve")?,
            Err(_) => {
                tracing::warn!(
                    grace_secs = self.grace.as_secs(),
                    "requests still open after the grace period; closing"
                );
                server.abort();
            }
        }
        Ok(())
    }
}

async fn purge_periodically(
    identity: Arc<IdentityService>,
    files: Arc<FileService>,
    audit_retention: Option<Duration>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(PURGE_INTERVAL);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        match identity.purge_expired_credentials().await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "purged expired credentials"),
            Err(error) => tracing::warn!(%error, "purging expired credentials failed"),
        }
        match files.sweep_expired().await {
            Ok(0) => {}
            Ok(swept) => tracing::debug!(swept, "removed expired uploads"),
            Err(error) => tracing::warn!(%error, "removing expired uploads failed"),
        }
        if let Some(retention) = audit_retention {
            match identity.audit().purge_older_than(retention).await {
                Ok(0) => {}
                Ok(purged) => tracing::debug!(purged, "forgot old audit events"),
                Err(error) => tracing::warn!(%error, "forgetting old audit events failed"),
            }
        }
    }
}

/// Mails the digests that are due, every `every`. Every node runs it; taking an item
/// deletes it, so each is mailed by one node.
async fn send_digests(
    digests: Arc<Digests>,
    online: plaza_realtime::OnlineProbe,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        match digests.sweep(&online).await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "sent digests of missed messages"),
            Err(error) => tracing::warn!(%error, "sending digests failed"),
        }
    }
}

/// Lets meeting attendees whose connection dropped leave once their grace is over.
/// Every node runs it; meeting changes are compare-and-swap, so they never clash.
async fn expire_meeting_drops(
    meetings: Arc<MeetingService>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // A tenth of the grace (within 100 ms..1 s), so leaving is late by at most that.
    let tick = (meetings.config().drop_grace_ms / 10).clamp(100, 1000);
    let mut ticker = tokio::time::interval(Duration::from_millis(tick as u64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        if let Err(error) = meetings.expire_drops().await {
            tracing::warn!(%error, "ending dropped meeting attendees' grace failed");
        }
    }
}

/// Tells the other nodes this one is alive, a few times per `realtime.node_timeout_ms`,
/// and lets the attendees of nodes that went silent drop.
async fn keep_node_alive(
    meetings: Arc<MeetingService>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let beat = (meetings.config().node_timeout_ms / 4).max(50);
    let mut ticker = tokio::time::interval(Duration::from_millis(beat as u64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        if let Err(error) = meetings.keep_alive().await {
            tracing::warn!(%error, "the node heartbeat failed");
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// The base of the absolute URLs in socket events (attachment paths, pictures):
/// `server.public_url`, else the address the server listens on (`localhost` for an
/// unspecified one). A broadcast goes to every socket alike, so unlike REST it cannot
/// follow each client's `Host`; deployments set `server.public_url`.
fn realtime_base_url(settings: &Settings, listener: &TcpListener) -> String {
    if let Some(url) = &settings.server.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    match listener.local_addr() {
        Ok(address) if address.ip().is_unspecified() => {
            format!("http://localhost:{}", address.port())
        }
        Ok(address) => format!("http://{address}"),
        Err(_) => String::new(),
    }
}
