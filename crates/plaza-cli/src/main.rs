//! `plaza-cli`: Plaza (or any Spaces server) from the command line.
//!
//! `login` stores the server and a token in the user's config folder (file mode 0600);
//! every other command uses them, or `--server` and `PLAZA_TOKEN`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use plaza_client::live::{LiveClient, LiveEvent};
use plaza_client::realtime::Credentials;
use plaza_client::rest::{Message, NewTask, Plaza};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Parser)]
#[command(name = "plaza-cli", version, about = "Plaza from the command line")]
struct Cli {
    /// The server, e.g. https://plaza.example.com (default: the one `login` stored).
    #[arg(long, global = true, env = "PLAZA_SERVER")]
    server: Option<String>,
    /// Where the stored login lives (default: $XDG_CONFIG_HOME/plaza or ~/.config/plaza).
    #[arg(long, global = true, env = "PLAZA_CONFIG_DIR")]
    config_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Logs in and stores the token (mode 0600).
    Login {
        #[arg(long)]
        username: String,
        /// Read from PLAZA_PASSWORD when not given.
        #[arg(long, env = "PLAZA_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Logs out: the token stops working and is forgotten.
    Logout,
    /// Who the stored token belongs to.
    Whoami,
    #[command(subcommand)]
    Spaces(SpacesCommand),
    /// Sends a chat message.
    Send { space: String, text: String },
    /// Streams a space's messages as they come (pretty, or one JSON object a line).
    Tail {
        space: String,
        #[arg(long)]
        json: bool,
        /// Stop after this many messages.
        #[arg(long)]
        count: Option<usize>,
    },
    /// Uploads a file to a space, as a chat message carrying it.
    Upload {
        space: String,
        file: PathBuf,
        /// The message's text (default: the file name).
        #[arg(long)]
        message: Option<String>,
        /// The MIME type (default: from the file's extension).
        #[arg(long)]
        content_type: Option<String>,
    },
    /// Downloads a file by its key.
    Download { file_key: String, output: PathBuf },
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// Writes a space's whole history as JSON Lines, oldest first.
    Export {
        space: String,
        /// Default: standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SpacesCommand {
    /// My spaces, most recently active first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Creates a group space; prints its id.
    Create { title: String },
    /// Invites someone by user id or email.
    Invite {
        space: String,
        #[arg(long, conflicts_with = "email", required_unless_present = "email")]
        user: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// admin, member or guest.
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// A space's members.
    Members { space: String },
}

#[derive(Subcommand)]
enum TasksCommand {
    List {
        space: String,
    },
    Create {
        space: String,
        title: String,
        #[arg(long)]
        description: Option<String>,
        /// A user id; repeat for several.
        #[arg(long = "assignee")]
        assignees: Vec<String>,
        /// ISO-8601, e.g. 2026-12-24T10:00:00Z.
        #[arg(long)]
        due: Option<String>,
    },
    Complete {
        task: String,
    },
}

/// What `login` stores.
#[derive(Serialize, Deserialize)]
struct StoredLogin {
    server: String,
    token: String,
    username: String,
}

fn config_dir(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir.to_owned());
    }
    if let Some(config) = std::env::var_os("XDG_CONFIG_HOME").filter(|c| !c.is_empty()) {
        return Ok(PathBuf::from(config).join("plaza"));
    }
    let home = std::env::var_os("HOME").context("neither XDG_CONFIG_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".config").join("plaza"))
}

fn login_path(dir: &Path) -> PathBuf {
    dir.join("login.json")
}

fn store_login(dir: &Path, login: &StoredLogin) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let path = login_path(dir);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).with_context(|| format!("write {}", path.display()))?;
    // An existing file keeps its mode on open: make sure it is the owner's only.
    #[cfg(unix)]
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(serde_json::to_string_pretty(login)?.as_bytes())?;
    Ok(())
}

/// The server and token to use: flags and environment first, then the stored login.
fn session(cli: &Cli) -> anyhow::Result<(Plaza, String, String)> {
    let stored = std::fs::read_to_string(login_path(&config_dir(cli.config_dir.as_deref())?))
        .ok()
        .and_then(|text| serde_json::from_str::<StoredLogin>(&text).ok());
    let server = cli
        .server
        .clone()
        .or_else(|| stored.as_ref().map(|s| s.server.clone()))
        .context("no server: log in first, or pass --server")?;
    let token = std::env::var("PLAZA_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .or_else(|| stored.map(|s| s.token))
        .context("not logged in: run `plaza-cli login`")?;
    Ok((Plaza::new(&server)?.with_jwt(&token), server, token))
}

fn bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

fn content_type_of(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("pdf") => "application/pdf",
        Some("txt" | "md") => "text/plain",
        Some("json") => "application/json",
        Some("mp4") => "video/mp4",
        Some("mp3") => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

fn print_message(message: &Message) {
    let status = message.content.status.as_deref().map(|s| format!(" [{s}]")).unwrap_or_default();
    println!(
        "{} {} ({}){}: {}",
        message.created,
        message.sender.displayname,
        message.category,
        status,
        message.content.body_text
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        Command::Login { username, password } => {
            let server = cli.server.clone().context("login needs --server")?;
            let session = Plaza::new(&server)?.login(username, password).await?;
            let dir = config_dir(cli.config_dir.as_deref())?;
            store_login(
                &dir,
                &StoredLogin { server, token: session.token, username: username.clone() },
            )?;
            println!("logged in as {} ({})", session.user.displayname, session.user.id);
        }
        Command::Logout => {
            let (plaza, _, _) = session(&cli)?;
            plaza.logout().await?;
            let path = login_path(&config_dir(cli.config_dir.as_deref())?);
            let _ = std::fs::remove_file(path);
            println!("logged out");
        }
        Command::Whoami => {
            let (plaza, server, _) = session(&cli)?;
            let me = plaza.me().await?;
            println!("{} <{}> {} on {server}", me.displayname, me.username, me.id);
        }
        Command::Spaces(SpacesCommand::List { json }) => {
            let (plaza, _, _) = session(&cli)?;
            let spaces: Vec<_> = plaza.spaces().try_collect().await?;
            for space in spaces {
                if *json {
                    println!("{}", serde_json::to_string(&space)?);
                } else {
                    println!("{}  {:8} {}", space.id, space.kind, space.title);
                }
            }
        }
        Command::Spaces(SpacesCommand::Create { title }) => {
            let (plaza, _, _) = session(&cli)?;
            println!("{}", plaza.create_space(title).await?.id);
        }
        Command::Spaces(SpacesCommand::Invite { space, user, email, role }) => {
            let (plaza, _, _) = session(&cli)?;
            match (user, email) {
                (Some(user), _) => plaza.add_member(space, user, role).await?,
                (None, Some(email)) => drop(plaza.invite_email(space, email, role).await?),
                (None, None) => bail!("name --user or --email"),
            }
            println!("invited");
        }
        Command::Spaces(SpacesCommand::Members { space }) => {
            let (plaza, _, _) = session(&cli)?;
            let members: Vec<_> = plaza.members(space).try_collect().await?;
            for member in members {
                println!(
                    "{}  {:6} {} <{}>",
                    member.member, member.role, member.displayname, member.username
                );
            }
        }
        Command::Send { space, text } => {
            let (plaza, _, _) = session(&cli)?;
            println!("{}", plaza.send_chat(space, text).await?.id);
        }
        Command::Tail { space, json, count } => {
            let (_, server, token) = session(&cli)?;
            let mut live = LiveClient::connect(&server, Credentials::jwt(token)).await?;
            live.subscribe(space).await?;
            // Tells whoever runs us that the subscription is live (scripts wait for it).
            eprintln!("tailing {space}");
            let mut seen = 0;
            while let Some(event) = live.next().await {
                match event {
                    LiveEvent::MessageSent(message) => {
                        if *json {
                            println!("{}", serde_json::to_string(&message)?);
                        } else {
                            print_message(&message);
                        }
                        std::io::stdout().flush()?;
                        seen += 1;
                        if count.is_some_and(|count| seen >= count) {
                            break;
                        }
                    }
                    LiveEvent::Unsubscribed { .. } => bail!("removed from the space"),
                    LiveEvent::Reconnected => eprintln!("reconnected"),
                    _ => {}
                }
            }
            live.close().await;
        }
        Command::Upload { space, file, message, content_type } => {
            let (plaza, _, _) = session(&cli)?;
            let bytes = std::fs::read(file).with_context(|| format!("read {}", file.display()))?;
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file").to_owned();
            let kind = content_type.clone().unwrap_or_else(|| content_type_of(file).to_owned());
            let progress = bar(bytes.len() as u64, "upload");
            let reporter = progress.clone();
            let attachment = plaza
                .upload_with_progress(Some(space), &name, &kind, bytes, move |sent| {
                    reporter.set_position(sent)
                })
                .await?;
            progress.finish_and_clear();
            let text = message.clone().unwrap_or_else(|| name.clone());
            let sent = plaza.send_files(space, &text, vec![attachment.clone()]).await?;
            println!("{} {}", sent.id, attachment["fileId"].as_str().unwrap_or_default());
        }
        Command::Download { file_key, output } => {
            let (plaza, _, _) = session(&cli)?;
            let progress = bar(0, "download");
            let bytes = plaza
                .download_with_progress(file_key, |received, total| {
                    if let Some(total) = total {
                        progress.set_length(total);
                    }
                    progress.set_position(received);
                })
                .await?;
            progress.finish_and_clear();
            std::fs::write(output, &bytes)
                .with_context(|| format!("write {}", output.display()))?;
            println!("{} bytes", bytes.len());
        }
        Command::Tasks(TasksCommand::List { space }) => {
            let (plaza, _, _) = session(&cli)?;
            let tasks: Vec<_> = plaza.tasks(space).try_collect().await?;
            for task in tasks {
                let status = task.content.status.as_deref().unwrap_or("pending");
                let due = task.content.due_date.as_deref().unwrap_or("-");
                println!("{}  {:9} due {due}  {}", task.id, status, task.content.body_text);
            }
        }
        Command::Tasks(TasksCommand::Create { space, title, description, assignees, due }) => {
            let (plaza, _, _) = session(&cli)?;
            let task = NewTask {
                title: title.clone(),
                description: description.clone().unwrap_or_default(),
                assignees: assignees.clone(),
                due_date: due.clone(),
            };
            println!("{}", plaza.create_task(space, &task).await?.id);
        }
        Command::Tasks(TasksCommand::Complete { task }) => {
            let (plaza, _, _) = session(&cli)?;
            let done = plaza.set_task_status(task, true).await?;
            println!("{} {}", done.id, done.content.status.unwrap_or_default());
        }
        Command::Export { space, output } => {
            let (plaza, _, _) = session(&cli)?;
            let progress = ProgressBar::new_spinner();
            progress.set_style(
                ProgressStyle::with_template("{spinner} {pos} messages read")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            let mut history = plaza.history(space);
            let mut messages = Vec::new();
            while let Some(message) = history.try_next().await? {
                messages.push(message);
                progress.inc(1);
            }
            progress.finish_and_clear();
            // Pages come newest first; an export reads best oldest first.
            messages.reverse();
            let mut sink: Box<dyn Write> = match output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("create {}", path.display()))?,
                )),
                None => Box::new(std::io::stdout().lock()),
            };
            for message in &messages {
                writeln!(sink, "{}", serde_json::to_string(message)?)?;
            }
            sink.flush()?;
            eprintln!("{}", json!({"exported": messages.len()}));
        }
    }
    Ok(())
}
