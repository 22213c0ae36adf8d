//! The `plaza` binary's commands, run as an operator would.

use std::path::Path;
use std::process::Output;

use plaza_server::{Overrides, Settings};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, jwt, spawn_app_with};

async fn plaza(args: &[&str], data_dir: &Path) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_plaza"));
    command.args(args).arg("--data-dir").arg(data_dir).env("RUST_LOG", "warn");
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("PLAZA__")) {
        command.env_remove(key);
    }
    tokio::task::spawn_blocking(move || command.output().expect("run plaza")).await.unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "plaza failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test]
async fn default_config_prints_the_settings_a_bare_server_uses() {
    let output = tokio::task::spawn_blocking(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_plaza"))
            .arg("default-config")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = stdout(&output);
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("plaza.toml");
    std::fs::write(&path, text).unwrap();
    assert_eq!(
        Settings::load(Some(&path), Vec::new(), &Overrides::default()).unwrap(),
        Settings::default()
    );
}

#[tokio::test]
async fn admin_commands_manage_users_and_service_apps_of_a_live_server() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = folder.path().join("data");
    let migrated = plaza(&["migrate"], &data_dir).await;
    assert!(stdout(&migrated).contains("migrations applied"));

    let created = plaza(
        &[
            "admin",
            "user",
            "create",
            "--username",
            "ops@example.com",
            "--password",
            PASSWORD,
            "--server-admin",
        ],
        &data_dir,
    )
    .await;
    let user: Value = serde_json::from_str(&stdout(&created)).unwrap();
    assert_eq!(user["isServerAdmin"], true);
    let listed = stdout(&plaza(&["admin", "user", "list"], &data_dir).await);
    assert!(listed.contains("ops@example.com") && listed.contains("admin"));

    let app_output =
        plaza(&["admin", "service-app", "create", "--name", "Build bot"], &data_dir).await;
    let service_app: Value = serde_json::from_str(&stdout(&app_output)).unwrap();
    let client_id = service_app["clientId"].as_str().unwrap().to_owned();
    let secret = service_app["clientSecret"].as_str().unwrap().to_owned();
    assert!(
        stdout(&plaza(&["admin", "service-app", "list"], &data_dir).await).contains(&client_id)
    );

    // A server on the same data folder honours what the commands did.
    let app = spawn_app_with(|s| s.server.data_dir = data_dir.clone()).await;
    let login = app
        .post(
            "/api/auth/login",
            None,
            &json!({"username": "ops@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    let granted = app
        .post_form(
            "/oauth2/access_token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &secret),
            ],
        )
        .await;
    let token = granted.body["access_token"].as_str().expect("a service token").to_owned();
    assert_eq!(
        app.get("/api/users/me", Some(&format!("service_app {token}"))).await.body["displayname"],
        "Build bot"
    );

    stdout(&plaza(&["admin", "service-app", "revoke", &client_id], &data_dir).await);
    app.get("/api/users/me", Some(&format!("service_app {token}")))
        .await
        .assert_error(401, "auth.invalid_token");

    stdout(&plaza(&["admin", "user", "disable", "ops@example.com"], &data_dir).await);
    let user_token = login.body["token"].as_str().unwrap();
    app.get("/api/users/me", Some(&jwt(user_token)))
        .await
        .assert_error(403, "auth.account_disabled");

    let failed = plaza(
        &["admin", "user", "create", "--username", "not-an-email", "--password", PASSWORD],
        &data_dir,
    )
    .await;
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("email"));
}

#[tokio::test]
async fn an_ordinary_account_made_from_the_command_line_does_not_take_the_first_admin_slot() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = folder.path().join("data");
    let created = plaza(
        &["admin", "user", "create", "--username", "plain@example.com", "--password", PASSWORD],
        &data_dir,
    )
    .await;
    let user: Value = serde_json::from_str(&stdout(&created)).unwrap();
    assert_eq!(user["isServerAdmin"], false);
    let app = spawn_app_with(|s| s.server.data_dir = data_dir.clone()).await;
    let (_, first) = app.register("first@example.com").await;
    assert_eq!(first["isServerAdmin"], true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data_dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the data folder is private");
    }
}

#[tokio::test]
async fn oauth_clients_are_created_from_the_command_line() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = folder.path().join("data");
    let output = plaza(
        &[
            "admin",
            "oauth-client",
            "create",
            "--name",
            "Mobile",
            "--redirect-uri",
            "com.example.app:/cb",
            "--public",
        ],
        &data_dir,
    )
    .await;
    let client: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(client["public"], true);
    assert!(client.get("clientSecret").is_none());
    let listed = stdout(&plaza(&["admin", "oauth-client", "list"], &data_dir).await);
    assert!(listed.contains("Mobile") && listed.contains("active"));
}
