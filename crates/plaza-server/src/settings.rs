//! Typed settings. Precedence, lowest to highest: built-in defaults, the TOML file given
//! with `--config`, `PLAZA__SECTION__KEY` environment variables, then command-line flags.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::{Figment, Provider};
use plaza_core::identity::{IdentityConfig, RegistrationMode};
use serde::{Deserialize, Serialize};

/// The commented example configuration `plaza default-config` prints.
pub const EXAMPLE_CONFIG: &str = include_str!("../plaza.example.toml");

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub messages: MessageSettings,
    pub files: FileSettings,
    pub meetings: MeetingSettings,
    pub media: MediaSettings,
    pub realtime: RealtimeSettings,
    pub limits: LimitSettings,
    pub audit: AuditSettings,
    pub web: WebSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub email: EmailSettings,
}

/// Outgoing mail over SMTP: invitations, password resets, digests of missed messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSettings {
    /// The SMTP server; empty sends no mail (invitations then answer with the link to
    /// share by hand, and password reset by email is off).
    pub host: String,
    /// 587 for `starttls`, 465 for `tls`, 25 for a local relay.
    pub port: u16,
    /// `starttls` (upgrade required), `tls` (from the first byte) or `none` (only for a
    /// relay on this machine).
    pub security: String,
    /// Sign in to the SMTP server with these when `username` is set.
    pub username: String,
    pub password: Secret,
    /// The `From` of every mail.
    pub from: String,
    /// The server's name in subjects and greetings.
    pub server_name: String,
    /// How long one delivery may take.
    pub timeout_secs: u64,
    /// How long a password-reset link works.
    pub reset_link_minutes: u64,
    /// How long a mention or direct message waits, unread and with its person offline,
    /// before a digest mails it (people turn it off with the `emailDigest` setting).
    pub digest_after_secs: u64,
    /// How often each node looks for digests to send.
    pub digest_check_secs: u64,
}

impl Default for EmailSettings {
    fn default() -> Self {
        EmailSettings {
            host: String::new(),
            port: 587,
            security: "starttls".to_owned(),
            username: String::new(),
            password: Secret::default(),
            from: "Plaza <plaza@localhost>".to_owned(),
            server_name: "Plaza".to_owned(),
            timeout_secs: 15,
            reset_link_minutes: 30,
            digest_after_secs: 3600,
            digest_check_secs: 60,
        }
    }
}

/// Prometheus metrics at `GET /metrics`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// The bearer token a scrape must send (`Authorization: Bearer <token>`). Empty
    /// turns `/metrics` off (404): metrics are never open by accident.
    pub token: Secret,
    /// An address of its own serving `GET /metrics` without a token, for a network only
    /// Prometheus reaches (e.g. `127.0.0.1:9464`); unset, none is opened.
    pub listen: Option<std::net::SocketAddr>,
}

/// Limits that keep one client, address or slow reader from hurting everyone else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Sustained sign-in attempts (register, login, guest and token requests) per
    /// client address per second; 0 turns the limit off.
    pub auth_per_second: u32,
    /// Sign-in attempts an address may make at once before the sustained rate applies.
    pub auth_burst: u32,
    /// Sustained upload requests per user per second; 0 turns the limit off.
    pub uploads_per_second: u32,
    pub upload_burst: u32,
    /// Socket.IO connections one user may hold open on one node; 0 means no limit.
    pub connections_per_user: u32,
    /// Packets waiting to be written to one socket. A client that falls this far
    /// behind misses what does not fit until its next heartbeat finds no room and
    /// drops it (it reconnects and catches up): memory stays bounded.
    pub socket_queue: usize,
    /// How long a REST request may take, in seconds (file transfers aside).
    pub request_timeout_secs: u64,
    /// Sustained attempts at space PINs per caller per second (right or wrong: each
    /// PIN presented counts), and the burst allowed; each space allows three times as
    /// many from everyone together. 0 turns the limit off.
    pub pin_attempts_per_second: u32,
    pub pin_attempt_burst: u32,
    /// Sustained `SEND_PRESENCE_EVENT`s per socket per second, and the burst; one user's
    /// sockets together may send twice as many. 0 turns the limit off.
    pub presence_per_second: u32,
    pub presence_burst: u32,
    /// Seconds a client has to send a request's headers, or its next request on a
    /// keep-alive connection, before the connection is closed.
    pub header_read_timeout_secs: u64,
    /// Connections one client address may hold open (trusted proxies excepted); 0
    /// means no cap.
    pub connections_per_address: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            auth_per_second: 1,
            auth_burst: 30,
            uploads_per_second: 2,
            upload_burst: 30,
            connections_per_user: 64,
            socket_queue: 1024,
            request_timeout_secs: 30,
            pin_attempts_per_second: 1,
            pin_attempt_burst: 10,
            presence_per_second: 5,
            presence_burst: 20,
            header_read_timeout_secs: 10,
            connections_per_address: 512,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Days the security audit log keeps an event; 0 keeps events forever.
    pub retention_days: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings { retention_days: 365 }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSettings {
    /// Serve the browser client from this folder instead of the copy built into the
    /// binary (for working on the client); unset serves the built-in copy.
    pub assets_dir: Option<PathBuf>,
}

/// Where uploaded files are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStorage {
    /// Under `<data_dir>/files`.
    #[default]
    Local,
    /// In the S3-compatible bucket of `[files.s3]`.
    S3,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileSettings {
    pub storage: FileStorage,
    /// With several nodes and local storage: that `<data_dir>/files` is on a disk every
    /// node shares (NFS and the like). Without it, several nodes need S3.
    pub local_is_shared: bool,
    pub max_file_bytes: u64,
    /// Bytes each user may store; 0 means no quota.
    pub user_quota_bytes: u64,
    /// Accepted MIME types (`image/png` or `image/*`); empty accepts any.
    pub allowed_types: Vec<String>,
    pub upload_url_ttl_secs: u64,
    pub download_url_ttl_secs: u64,
    pub s3: S3Settings,
}

impl Default for FileSettings {
    fn default() -> Self {
        FileSettings {
            storage: FileStorage::Local,
            local_is_shared: false,
            max_file_bytes: 100 * 1024 * 1024,
            user_quota_bytes: 0,
            allowed_types: Vec::new(),
            upload_url_ttl_secs: 15 * 60,
            download_url_ttl_secs: 60 * 60,
            s3: S3Settings::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Settings {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub virtual_hosted_style: bool,
}

impl Default for S3Settings {
    fn default() -> Self {
        S3Settings {
            endpoint: String::new(),
            bucket: String::new(),
            region: "us-east-1".to_owned(),
            access_key_id: String::new(),
            secret_access_key: Secret::default(),
            virtual_hosted_style: false,
        }
    }
}

/// A secret setting that never shows in logs or `Debug`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessageSettings {
    /// Largest message (its JSON content), in bytes.
    pub max_bytes: usize,
    /// Sustained sends per user per second; 0 turns the limit off.
    pub sends_per_second: u32,
    /// Sends a user may make at once before the sustained rate applies.
    pub send_burst: u32,
}

impl Default for MessageSettings {
    fn default() -> Self {
        MessageSettings { max_bytes: 64 * 1024, sends_per_second: 10, send_burst: 50 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RealtimeSettings {
    /// How socket events reach the other nodes: "local" (one node), a Redis URL
    /// ("redis://host:6379/0"), or "postgres" (the database's LISTEN/NOTIFY). Printed
    /// with its password masked.
    pub adapter: SecretUrl,
    /// Names this deployment's Redis channels and keys, so that several deployments
    /// (or test runs) can share one Redis.
    pub channel_prefix: String,
    /// A node silent this long (ms) is taken for dead: its connections count as dropped.
    pub node_timeout_ms: u64,
    /// How often (ms) the server pings each connection, and how long (ms) it waits for
    /// the answer before taking the connection for dead.
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        RealtimeSettings {
            adapter: SecretUrl("local".into()),
            channel_prefix: "plaza".into(),
            node_timeout_ms: 15_000,
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeetingSettings {
    /// How long an attendee whose connection dropped stays in the meeting, in ms.
    pub drop_grace_ms: u64,
    /// How long a 1:1 call rings before it is not answered, in ms.
    pub ring_timeout_ms: u64,
    /// How long a media token works, in seconds.
    pub media_token_ttl_secs: u64,
    /// The telephone numbers that dial into meetings (`GET /api/confnumbers`).
    pub dial_in_numbers: Vec<plaza_http::DialInNumber>,
}

impl Default for MeetingSettings {
    fn default() -> Self {
        MeetingSettings {
            drop_grace_ms: 30_000,
            ring_timeout_ms: 45_000,
            media_token_ttl_secs: 3600,
            dial_in_numbers: Vec::new(),
        }
    }
}

/// The media plane: the WebRTC SFU that carries meetings' audio, video and screen shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaSettings {
    /// Run the SFU; without it meetings are signalling only (`MEDIA_JOIN` is refused).
    pub enabled: bool,
    /// The one UDP address all media arrives on; open its port to clients.
    pub udp_listen: SocketAddr,
    /// The TCP address for ICE-TCP, the fallback for networks that drop UDP; none: UDP only.
    pub tcp_listen: Option<SocketAddr>,
    /// The address clients are told to send media to: the public address of a server
    /// behind 1:1 NAT. Unset: the listen address, or the default route's when unspecified.
    pub public_ip: Option<std::net::IpAddr>,
    /// People in one meeting's media room at most; one more is refused (`meeting.full`).
    pub max_participants: usize,
    /// The most a client may send of one video (camera or screen share), kbit/s: told to
    /// clients in `MEDIA_JOINED` and written as `b=AS` in the SFU's answers. 0: no cap.
    pub max_video_kbps: u32,
    /// TURN (or STUN) servers handed to clients in `MEDIA_JOINED`.
    pub ice_servers: Vec<IceServerSettings>,
}

impl Default for MediaSettings {
    fn default() -> Self {
        MediaSettings {
            enabled: true,
            udp_listen: SocketAddr::from(([0, 0, 0, 0], 7882)),
            tcp_listen: None,
            public_ip: None,
            max_participants: 50,
            max_video_kbps: 2_500,
            ice_servers: Vec::new(),
        }
    }
}

/// One entry of `media.ice_servers`, as a browser's `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServerSettings {
    pub urls: Vec<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub credential: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// Holds the SQLite database, the signing key and uploaded files.
    pub data_dir: PathBuf,
    /// The base URL clients reach this server at: what absolute URLs (invitation links,
    /// upload URLs, attachment paths) are built from.
    pub public_url: Option<String>,
    /// Without `public_url`, the host names (`plaza.lan`, `plaza.lan:8080`) whose `Host`
    /// header absolute URLs may be built from; loopback names and the listen address
    /// (any IP literal when listening on all addresses) are always trusted.
    pub allowed_hosts: Vec<String>,
    pub body_limit_bytes: usize,
    /// Allowed CORS origins; empty allows any.
    pub cors_origins: Vec<String>,
    /// How long open requests may finish after a shutdown signal.
    pub shutdown_grace_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` header names the real client address
    /// (for per-address limits and the audit log); empty trusts no header.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://...` or `postgres://...`; unset means `sqlite://<data_dir>/plaza.db`.
    pub url: Option<SecretUrl>,
    /// PostgreSQL pool size.
    pub max_connections: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    pub registration: RegistrationMode,
    pub issuer: String,
    pub user_token_ttl_hours: i64,
    pub access_token_ttl_minutes: i64,
    pub refresh_token_ttl_days: i64,
    pub service_token_ttl_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `plaza_http=debug,info`; `RUST_LOG` wins.
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./plaza-data"),
            public_url: None,
            body_limit_bytes: 1024 * 1024,
            cors_origins: Vec::new(),
            shutdown_grace_secs: 10,
            trusted_proxies: Vec::new(),
            allowed_hosts: Vec::new(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings { url: None, max_connections: 16 }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            registration: RegistrationMode::Open,
            issuer: "plaza".to_owned(),
            user_token_ttl_hours: 7 * 24,
            access_token_ttl_minutes: 60,
            refresh_token_ttl_days: 30,
            service_token_ttl_minutes: 60,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings { format: LogFormat::Text, filter: "info".to_owned() }
    }
}

/// Values given on the command line, which beat every other source. Not `Debug`: the
/// database URL may hold a password.
#[derive(Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
}

impl Settings {
    /// Loads settings from the layers, reading the environment through `env` (the real
    /// process environment in `main`, a fixed map in tests).
    pub fn load(
        config_file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> anyhow::Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config_file {
            if !path.is_file() {
                anyhow::bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // figment's Env reads the process environment; feeding it a snapshot keeps the
        // precedence testable without mutating global state.
        let vars: Vec<(String, String)> =
            env.into_iter().filter(|(k, _)| k.starts_with("PLAZA__")).collect();
        for (key, value) in &vars {
            let path = key["PLAZA__".len()..].to_lowercase().replace("__", ".");
            figment = figment.merge(Serialized::default(&path, parse_env_value(value)));
        }
        if let Some(listen) = overrides.listen {
            figment = figment.merge(Serialized::default("server.listen", listen));
        }
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("server.data_dir", dir));
        }
        if let Some(url) = &overrides.database_url {
            figment = figment.merge(Serialized::default("database.url", url));
        }
        let settings: Settings =
            figment.extract().map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.database.url
            && !(url.0.starts_with("sqlite:")
                || url.0.starts_with("postgres://")
                || url.0.starts_with("postgresql://"))
        {
            anyhow::bail!("database.url must start with sqlite: or postgres://");
        }
        if self.limits.header_read_timeout_secs == 0 {
            anyhow::bail!("limits.header_read_timeout_secs must be at least 1");
        }
        if self.limits.socket_queue < 16 {
            anyhow::bail!("limits.socket_queue must be at least 16");
        }
        if self.realtime.ping_interval_ms < 100 || self.realtime.ping_timeout_ms < 100 {
            anyhow::bail!("realtime.ping_interval_ms and ping_timeout_ms must be at least 100");
        }
        if self.limits.request_timeout_secs == 0 {
            anyhow::bail!("limits.request_timeout_secs must be positive");
        }
        if self.server.body_limit_bytes < 1024 {
            anyhow::bail!("server.body_limit_bytes must be at least 1024");
        }
        for (name, value) in [
            ("auth.user_token_ttl_hours", self.auth.user_token_ttl_hours),
            ("auth.access_token_ttl_minutes", self.auth.access_token_ttl_minutes),
            ("auth.refresh_token_ttl_days", self.auth.refresh_token_ttl_days),
            ("auth.service_token_ttl_minutes", self.auth.service_token_ttl_minutes),
        ] {
            if value <= 0 {
                anyhow::bail!("{name} must be positive");
            }
        }
        if !self.email.host.is_empty() {
            self.smtp_config()?;
        }
        if self.email.digest_check_secs == 0 || self.email.reset_link_minutes == 0 {
            anyhow::bail!("email.digest_check_secs and email.reset_link_minutes must be positive");
        }
        Ok(())
    }

    /// The SMTP settings, when `email.host` is set.
    pub fn smtp_config(&self) -> anyhow::Result<Option<plaza_mail::SmtpConfig>> {
        let email = &self.email;
        if email.host.is_empty() {
            return Ok(None);
        }
        let security = plaza_mail::Security::parse(&email.security).ok_or_else(|| {
            anyhow::anyhow!(
                "email.security must be starttls, tls or none, not {:?}",
                email.security
            )
        })?;
        Ok(Some(plaza_mail::SmtpConfig {
            host: email.host.clone(),
            port: email.port,
            security,
            username: (!email.username.is_empty()).then(|| email.username.clone()),
            password: (!email.password.0.is_empty()).then(|| email.password.0.clone()),
            from: email.from.clone(),
            timeout: std::time::Duration::from_secs(email.timeout_secs.max(1)),
        }))
    }

    /// The database URL in effect: the configured one or the SQLite file in `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.0.clone(),
            None => format!("sqlite://{}", self.server.data_dir.join("plaza.db").display()),
        }
    }

    pub fn identity_config(&self) -> IdentityConfig {
        IdentityConfig {
            issuer: self.auth.issuer.clone(),
            registration: self.auth.registration,
            user_token_ttl_secs: self.auth.user_token_ttl_hours * 3600,
            access_token_ttl_secs: self.auth.access_token_ttl_minutes * 60,
            refresh_token_ttl_secs: self.auth.refresh_token_ttl_days * 24 * 3600,
            service_token_ttl_secs: self.auth.service_token_ttl_minutes * 60,
            password_reset_ttl_secs: i64::try_from(self.email.reset_link_minutes * 60)
                .unwrap_or(i64::MAX),
            ..IdentityConfig::default()
        }
    }
}

/// Environment values are typed like TOML values where they parse as one (`true`, `42`,
/// `["a", "b"]`) and are strings otherwise.
fn parse_env_value(raw: &str) -> figment::value::Value {
    let parsed: Result<figment::value::Value, _> = Toml::string(&format!("v = {raw}"))
        .data()
        .ok()
        .and_then(|mut profiles| profiles.remove(&figment::Profile::Default))
        .and_then(|mut dict| dict.remove("v"))
        .ok_or(());
    parsed.unwrap_or_else(|_| figment::value::Value::from(raw.to_owned()))
}

/// A database URL that never shows its password in logs or `Debug`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(pub String);

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.0.contains("://") {
            // A word such as "local", not a URL: nothing to hide.
            return write!(f, "{:?}", self.0);
        }
        write!(f, "{}", redact_url(&self.0))
    }
}

/// The URL with any password (in the user info or a `password=` parameter) replaced
/// by `***`.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else { return "<unparsable url>".to_owned() };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query_pairs().any(|(k, _)| k.eq_ignore_ascii_case("password")) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}
