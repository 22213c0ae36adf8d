//! `plaza-cli` run as a user would, against a live server on a loopback port: login
//! (token stored with mode 0600), spaces, send while `tail` listens, upload and
//! download byte-identical, tasks, export, logout.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use plaza_client::rest::Plaza;
use plaza_server::{Application, Overrides, Settings};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";

fn cli(config: &Path, server: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plaza-cli"));
    command.args(args).arg("--config-dir").arg(config).arg("--server").arg(server);
    command.env_remove("PLAZA_TOKEN").env_remove("PLAZA_SERVER").env_remove("PLAZA_PASSWORD");
    command
}

async fn run(mut command: Command) -> String {
    let output: Output =
        tokio::task::spawn_blocking(move || command.output().expect("run plaza-cli"))
            .await
            .unwrap();
    assert!(
        output.status.success(),
        "plaza-cli failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_drives_a_live_server() {
    let folder = tempfile::tempdir().unwrap();
    let mut settings = Settings::load(None, Vec::new(), &Overrides::default()).unwrap();
    settings.server.data_dir = folder.path().join("data");
    settings.log.filter = "warn".into();
    settings.media.udp_listen = "127.0.0.1:0".parse().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = Application::build_with_listener(settings, listener).await.unwrap();
    let server = format!("http://{}", app.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let plaza = Plaza::new(&server).unwrap();
    plaza.register("ann@example.com", PASSWORD, Some("Ann")).await.unwrap();
    let bob = plaza.register("bob@example.com", PASSWORD, Some("Bob")).await.unwrap();
    let config = folder.path().join("config");

    // Login stores the token for the owner's eyes only.
    let mut login = cli(&config, &server, &["login", "--username", "ann@example.com"]);
    login.env("PLAZA_PASSWORD", PASSWORD);
    assert!(run(login).await.contains("logged in as Ann"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config.join("login.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(run(cli(&config, &server, &["whoami"])).await.contains("ann@example.com"));

    // Spaces.
    let space =
        run(cli(&config, &server, &["spaces", "create", "From the CLI"])).await.trim().to_owned();
    run(cli(
        &config,
        &server,
        &["spaces", "invite", &space, "--user", &bob.user.id, "--role", "member"],
    ))
    .await;
    let members = run(cli(&config, &server, &["spaces", "members", &space])).await;
    assert!(members.contains("admin") && members.contains("bob@example.com"), "{members}");
    let listed = run(cli(&config, &server, &["spaces", "list", "--json"])).await;
    let first: Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(first["title"], "From the CLI");

    // `tail` receives what `send` sends.
    let mut tail = cli(&config, &server, &["tail", &space, "--json", "--count", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = BufReader::new(tail.stderr.take().unwrap());
    let mut line = String::new();
    tokio::task::block_in_place(|| ready.read_line(&mut line)).unwrap();
    assert!(line.starts_with("tailing"), "{line}");
    let sent_id =
        run(cli(&config, &server, &["send", &space, "hello from the cli"])).await.trim().to_owned();
    let tailed =
        tokio::task::spawn_blocking(move || tail.wait_with_output().unwrap()).await.unwrap();
    assert!(tailed.status.success());
    let received: Value = serde_json::from_slice(&tailed.stdout).unwrap();
    assert_eq!(
        (received["_id"].as_str(), received["content"]["bodyText"].as_str()),
        (Some(sent_id.as_str()), Some("hello from the cli"))
    );

    // Upload and download, byte-identical.
    let original: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
    let source = folder.path().join("data.bin");
    std::fs::write(&source, &original).unwrap();
    let uploaded = run(cli(&config, &server, &["upload", &space, source.to_str().unwrap()])).await;
    let key = uploaded.split_whitespace().nth(1).unwrap().to_owned();
    let target = folder.path().join("copy.bin");
    run(cli(&config, &server, &["download", &key, target.to_str().unwrap()])).await;
    assert_eq!(std::fs::read(&target).unwrap(), original);

    // Tasks.
    let task = run(cli(
        &config,
        &server,
        &[
            "tasks",
            "create",
            &space,
            "Ship it",
            "--assignee",
            &bob.user.id,
            "--due",
            "2026-12-24T10:00:00Z",
        ],
    ))
    .await
    .trim()
    .to_owned();
    assert!(run(cli(&config, &server, &["tasks", "list", &space])).await.contains("pending"));
    assert!(run(cli(&config, &server, &["tasks", "complete", &task])).await.contains("completed"));
    assert!(run(cli(&config, &server, &["tasks", "list", &space])).await.contains("completed"));

    // Export: every message, oldest first, one JSON object a line.
    let exported = folder.path().join("history.jsonl");
    run(cli(&config, &server, &["export", &space, "--output", exported.to_str().unwrap()])).await;
    let lines: Vec<Value> = std::fs::read_to_string(&exported)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let texts: Vec<&str> =
        lines.iter().map(|m| m["content"]["bodyText"].as_str().unwrap()).collect();
    assert_eq!(texts, ["hello from the cli", "data.bin", "Ship it"]);

    // Logout forgets the token, and the server no longer takes it.
    run(cli(&config, &server, &["logout"])).await;
    assert!(!config.join("login.json").exists());
    let output = cli(&config, &server, &["whoami"]).output().unwrap();
    assert!(!output.status.success());

    let _ = stop.send(());
    let _ = running.await;
}
