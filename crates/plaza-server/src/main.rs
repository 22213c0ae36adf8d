//! `plaza`: the server binary and its administration commands.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use plaza_core::identity::{Actor, NewClient, NewServiceApp, NewUserByAdmin};
use plaza_core::{ClientKind, ObjectId};
use plaza_server::settings::{LogFormat, Overrides, Settings};
use plaza_server::{Application, Services, shutdown_signal};
use serde_json::json;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "plaza",
    version,
    about = "A self-hosted team collaboration server that speaks the Avaya Spaces API"
)]
struct Cli {
    /// A TOML settings file (see `plaza default-config`). Without this flag: the file
    /// PLAZA_CONFIG names, else /etc/plaza/plaza.toml when it exists (the Debian
    /// package's), else none (the built-in defaults).
    #[arg(long, global = true, value_name = "FILE", env = "PLAZA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// Flags that override every other settings source.
#[derive(Args, Default)]
struct ServerFlags {
    /// Address to listen on [env: PLAZA__SERVER__LISTEN] [default: 127.0.0.1:8080].
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Folder for the SQLite database, keys and files [env: PLAZA__SERVER__DATA_DIR] [default: ./plaza-data].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://... [env: PLAZA__DATABASE__URL].
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
}

impl ServerFlags {
    fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen,
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(#[command(flatten)] ServerFlags),
    /// Apply pending database migrations and exit.
    Migrate(#[command(flatten)] ServerFlags),
    /// Print the commented example settings file.
    DefaultConfig,
    /// Write a consistent backup of the database while the server keeps running.
    /// The file holds the server's secrets: keep it safe.
    Backup {
        #[command(flatten)]
        flags: ServerFlags,
        /// Where to write it; `-` writes to standard output.
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
    },
    /// Load a backup into a new, empty database (SQLite or PostgreSQL, whichever the
    /// settings name), all or nothing.
    Restore {
        #[command(flatten)]
        flags: ServerFlags,
        /// The backup file; `-` reads standard input.
        #[arg(long, short, value_name = "FILE")]
        input: PathBuf,
    },
    /// Administer accounts, service apps and OAuth clients.
    Admin {
        #[command(flatten)]
        flags: ServerFlags,
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Registered user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Service apps: server-to-server clients acting as their own service account.
    #[command(subcommand)]
    ServiceApp(ServiceAppCommand),
    /// OAuth2 clients that act for users.
    #[command(subcommand)]
    OauthClient(OAuthClientCommand),
    /// Meeting recordings on this node's disk.
    #[command(subcommand)]
    Recording(RecordingCommand),
    /// The security audit log, newest first, one JSON object per line.
    Audit {
        /// An action (`auth.login`) or a prefix ending in `.` (`space.`).
        #[arg(long)]
        action: Option<String>,
        /// Only events by this user id.
        #[arg(long)]
        actor: Option<String>,
        #[arg(long, default_value_t = 50)]
        size: u32,
    },
}

#[derive(Subcommand)]
enum RecordingCommand {
    /// Makes playable WebM files from the frame dumps (`.plzr`) of a recording the server
    /// did not finish (it was killed mid-recording): every dump in FOLDER (a recording's
    /// folder under `<data_dir>/recordings/`), or one dump, becomes `<name>.rebuilt.webm`
    /// beside it. Prints one JSON object per file. Needs no database.
    Rebuild {
        /// A recording's folder, or one `.plzr` file.
        path: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (whatever the registration mode).
    Create {
        #[arg(long)]
        username: String,
        /// The password; prefer the environment variable to keep it out of shell history.
        #[arg(long, env = "PLAZA_NEW_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        displayname: Option<String>,
        /// Make the account a server admin.
        #[arg(long)]
        server_admin: bool,
    },
    /// List accounts.
    List {
        #[arg(long, default_value_t = 100)]
        size: u32,
        /// Continue after this user id.
        #[arg(long)]
        after: Option<String>,
    },
    /// Disable an account (by id or username): its tokens stop working at once.
    Disable { user: String },
    /// Re-enable a disabled account.
    Enable { user: String },
    /// Let an email register while registration is by invitation.
    Invite { email: String },
}

#[derive(Subcommand)]
enum ServiceAppCommand {
    /// Create a service app; prints its client id and secret (shown once).
    Create {
        #[arg(long)]
        name: String,
    },
    List,
    /// Revoke a service app: its tokens stop working at once.
    Revoke {
        client_id: String,
    },
}

#[derive(Subcommand)]
enum OAuthClientCommand {
    /// Register an OAuth2 client; prints its client id and secret (shown once).
    Create {
        #[arg(long)]
        name: String,
        /// An allowed redirect URI (repeatable).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A public client (browser or mobile app): no secret, PKCE required.
        #[arg(long)]
        public: bool,
    },
    List,
    /// Revoke a client: its codes and tokens stop working at once.
    Revoke {
        client_id: String,
    },
}

fn init_tracing(settings: &Settings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match settings.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// A new file readable and writable by its owner only.
fn private_file(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).with_context(|| format!("create {}", path.display()))
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The Debian package's settings, read when no file is named.
    let packaged = std::path::Path::new("/etc/plaza/plaza.toml");
    let config = cli.config.as_deref().or_else(|| packaged.is_file().then_some(packaged));
    let load = |flags: &ServerFlags| Settings::load(config, std::env::vars(), &flags.overrides());
    match &cli.command {
        Command::DefaultConfig => {
            print!("{}", plaza_server::settings::EXAMPLE_CONFIG);
            Ok(())
        }
        Command::Serve(flags) => {
            let settings = load(flags)?;
            init_tracing(&settings);
            tracing::info!(
                listen = %settings.server.listen,
                data_dir = %settings.server.data_dir.display(),
                database = %plaza_server::settings::redact_url(&settings.database_url()),
                registration = ?settings.auth.registration,
                "starting plaza"
            );
            let app = Application::build(settings).await?;
            tracing::info!(address = %app.local_addr()?, "listening");
            app.run_until(shutdown_signal()).await?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Migrate(flags) => {
            let settings = load(flags)?;
            init_tracing(&settings);
            plaza_server::open_store(&settings).await?;
            println!(
                "migrations applied to {}",
                plaza_server::settings::redact_url(&settings.database_url())
            );
            Ok(())
        }
        Command::Backup { flags, output } => {
            let settings = load(flags)?;
            init_tracing(&settings);
            eprintln!(
                "backing up {}",
                plaza_server::settings::redact_url(&settings.database_url())
            );
            let (_, database) = plaza_server::open_database(&settings).await?;
            let progress = |line: &str| eprintln!("  {line}");
            let summary = if output.as_os_str() == "-" {
                let mut out = std::io::BufWriter::new(std::io::stdout());
                plaza_server::backup::write_backup(database.as_ref(), &mut out, progress).await?
            } else {
                // Written beside its final name and renamed when complete, so a failed
                // backup never leaves a truncated file that looks finished.
                let partial = output.with_extension("partial");
                let file = private_file(&partial)?;
                let mut out = std::io::BufWriter::new(file);
                let summary =
                    plaza_server::backup::write_backup(database.as_ref(), &mut out, progress)
                        .await?;
                out.into_inner()?.sync_all()?;
                std::fs::rename(&partial, output)
                    .with_context(|| format!("move the backup to {}", output.display()))?;
                summary
            };
            eprintln!("backed up {} rows of {} tables", summary.rows, summary.tables);
            Ok(())
        }
        Command::Restore { flags, input } => {
            let settings = load(flags)?;
            init_tracing(&settings);
            eprintln!(
                "restoring into {}",
                plaza_server::settings::redact_url(&settings.database_url())
            );
            let (_, database) = plaza_server::open_database(&settings).await?;
            let rows = if input.as_os_str() == "-" {
                let stdin = std::io::BufReader::new(std::io::stdin());
                plaza_server::backup::restore_backup(database.as_ref(), stdin).await?
            } else {
                let file = std::fs::File::open(input)
                    .with_context(|| format!("open {}", input.display()))?;
                plaza_server::backup::restore_backup(
                    database.as_ref(),
                    std::io::BufReader::new(file),
                )
                .await?
            };
            eprintln!("restored {rows} rows");
            Ok(())
        }
        Command::Admin { command: AdminCommand::Recording(command), .. } => recording(command),
        Command::Admin { flags, command } => {
            let settings = load(flags)?;
            init_tracing(&settings);
            // Admin commands act on whatever database the settings name: say which, so
            // a command run from the wrong folder is noticed.
            eprintln!("using {}", plaza_server::settings::redact_url(&settings.database_url()));
            let services = Services::build(&settings).await?;
            admin(&services, command, settings.server.public_url.as_deref().unwrap_or("")).await
        }
    }
}

/// `plaza admin recording ...`: works on files only.
fn recording(command: &RecordingCommand) -> anyhow::Result<()> {
    let RecordingCommand::Rebuild { path } = command;
    let dumps: Vec<PathBuf> = if path.is_dir() {
        plaza_media::recording_dumps(path).with_context(|| format!("read {}", path.display()))?
    } else {
        vec![path.clone()]
    };
    anyhow::ensure!(!dumps.is_empty(), "no frame dump (.plzr) in {}", path.display());
    let mut failed = 0;
    for dump in dumps {
        let output = dump.with_extension("rebuilt.webm");
        match plaza_media::rebuild_recording(&dump, &output) {
            Ok(file) => println!(
                "{}",
                serde_json::json!({
                    "dump": dump.display().to_string(),
                    "output": output.display().to_string(),
                    "kind": file.kind.as_str(),
                    "frames": file.frames,
                    "durationMs": file.duration_ms,
                    "bytes": file.bytes,
                })
            ),
            Err(error) => {
                failed += 1;
                eprintln!("{}: {error}", dump.display());
            }
        }
    }
    anyhow::ensure!(failed == 0, "{failed} dump(s) could not be rebuilt");
    Ok(())
}

async fn admin(services: &Services, command: &AdminCommand, base_url: &str) -> anyhow::Result<()> {
    let identity = &services.identity;
    let actor = Actor::System;
    let fail = |e: plaza_core::CoreError| match e.cause {
        Some(cause) => cause.context(format!("{}: {}", e.code, e.message)),
        None => anyhow::anyhow!("{}: {}", e.code, e.message),
    };
    match command {
        AdminCommand::User(UserCommand::Create {
            username,
            password,
            displayname,
            server_admin,
        }) => {
            let user = identity
                .admin_create_user(
                    actor,
                    NewUserByAdmin {
                        username: username.clone(),
                        password: password.clone(),
                        displayname: displayname.clone(),
                        server_admin: *server_admin,
                    },
                )
                .await
                .map_err(fail)?;
            print_json(&plaza_wire::User::of(&user, base_url))
        }
        AdminCommand::User(UserCommand::List { size, after }) => {
            let after = after
                .as_deref()
                .map(|a| a.parse::<ObjectId>().context("--after must be a user id"))
                .transpose()?;
            let users = identity.admin_list_users(actor, after, *size).await.map_err(fail)?;
            for user in users {
                let flags = [(user.is_server_admin, "admin"), (user.disabled, "disabled")]
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, name)| *name)
                    .collect::<Vec<_>>()
                    .join(",");
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    user.id,
                    user.kind.as_str(),
                    user.username,
                    user.displayname,
                    flags
                );
            }
            Ok(())
        }
        AdminCommand::User(UserCommand::Disable { user }) => {
            let user = identity.admin_set_disabled(actor, user, true).await.map_err(fail)?;
            println!("disabled {} ({})", user.username, user.id);
            Ok(())
        }
        AdminCommand::User(UserCommand::Enable { user }) => {
            let user = identity.admin_set_disabled(actor, user, false).await.map_err(fail)?;
            println!("enabled {} ({})", user.username, user.id);
            Ok(())
        }
        AdminCommand::User(UserCommand::Invite { email }) => {
            let email = identity.admin_invite(actor, email).await.map_err(fail)?;
            println!("{email} may now register");
            Ok(())
        }
        AdminCommand::ServiceApp(ServiceAppCommand::Create { name }) => {
            let (client, secret, account) = identity
                .admin_create_service_app(actor, NewServiceApp { name: name.clone() })
                .await
                .map_err(fail)?;
            let mut value =
                serde_json::to_value(plaza_wire::OAuthClient::of(&client, Some(&secret)))?;
            value["serviceAccount"] = json!({"_id": account.id, "username": account.username});
            print_json(&value)
        }
        AdminCommand::ServiceApp(ServiceAppCommand::List) => {
            list_clients(services, ClientKind::ServiceApp).await
        }
        AdminCommand::OauthClient(OAuthClientCommand::List) => {
            list_clients(services, ClientKind::OAuth).await
        }
        AdminCommand::ServiceApp(ServiceAppCommand::Revoke { client_id })
        | AdminCommand::OauthClient(OAuthClientCommand::Revoke { client_id }) => {
            identity.admin_revoke_client(actor, client_id).await.map_err(fail)?;
            println!("revoked {client_id}");
            Ok(())
        }
        AdminCommand::Recording(command) => recording(command),
        AdminCommand::Audit { action, actor, size } => {
            let actor_id = actor
                .as_deref()
                .map(|a| a.parse::<ObjectId>().context("--actor must be a user id"))
                .transpose()?;
            let query = plaza_core::audit::AuditQuery {
                action: action.clone(),
                actor_id,
                limit: *size,
                ..Default::default()
            };
            for event in identity.audit().list(None, query).await.map_err(fail)? {
                println!("{}", plaza_http::audit::event(&event));
            }
            Ok(())
        }
        AdminCommand::OauthClient(OAuthClientCommand::Create { name, redirect_uris, public }) => {
            let (client, secret) = identity
                .admin_create_client(
                    actor,
                    NewClient {
                        name: name.clone(),
                        redirect_uris: redirect_uris.clone(),
                        public: *public,
                    },
                )
                .await
                .map_err(fail)?;
            print_json(&plaza_wire::OAuthClient::of(&client, secret.as_deref()))
        }
    }
}

async fn list_clients(services: &Services, kind: ClientKind) -> anyhow::Result<()> {
    let clients = services
        .identity
        .admin_list_clients(Actor::System, Some(kind))
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    for client in clients {
        let state = if client.revoked { "revoked" } else { "active" };
        println!("{}\t{}\t{}\t{}", client.client_id, client.kind.as_str(), state, client.name);
    }
    Ok(())
}
