//! Settings precedence: defaults < TOML file < PLAZA__ environment < command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;

use plaza_core::identity::RegistrationMode;
use plaza_server::settings::{EXAMPLE_CONFIG, LogFormat, SecretUrl};
use plaza_server::{Overrides, Settings};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("plaza.toml");
    std::fs::write(&path, text).unwrap();
    (folder, path)
}

#[test]
fn each_layer_beats_the_one_below() {
    let (_folder, path) = file(
        "[server]\nlisten = \"127.0.0.1:9001\"\ndata_dir = \"/from-file\"\n\
         [auth]\nregistration = \"invite\"\n[log]\nfilter = \"debug\"\nformat = \"json\"\n",
    );
    let environment = env(&[
        ("PLAZA__SERVER__LISTEN", "127.0.0.1:9002"),
        ("PLAZA__AUTH__REGISTRATION", "closed"),
        ("PLAZA__SERVER__BODY_LIMIT_BYTES", "2048"),
        ("PLAZA__SERVER__CORS_ORIGINS", "[\"https://a.example\", \"https://b.example\"]"),
        ("UNRELATED", "ignored"),
    ]);
    let flags =
        Overrides { listen: Some("127.0.0.1:9003".parse().unwrap()), ..Overrides::default() };
    let settings = Settings::load(Some(&path), environment.clone(), &flags).unwrap();
    assert_eq!(
        settings.server.listen,
        "127.0.0.1:9003".parse::<SocketAddr>().unwrap(),
        "flag beats env"
    );
    assert_eq!(settings.auth.registration, RegistrationMode::Closed, "env beats file");
    assert_eq!(settings.server.data_dir, PathBuf::from("/from-file"), "file beats default");
    assert_eq!(settings.log.filter, "debug");
    assert_eq!(settings.log.format, LogFormat::Json);
    assert_eq!(settings.server.body_limit_bytes, 2048, "env values are typed");
    assert_eq!(settings.server.cors_origins, ["https://a.example", "https://b.example"]);
    assert_eq!(settings.server.shutdown_grace_secs, 10, "untouched keys keep their default");

    let without_flags = Settings::load(Some(&path), environment, &Overrides::default()).unwrap();
    assert_eq!(
        without_flags.server.listen,
        "127.0.0.1:9002".parse::<SocketAddr>().unwrap(),
        "env beats file"
    );
    let file_only = Settings::load(Some(&path), Vec::new(), &Overrides::default()).unwrap();
    assert_eq!(
        file_only.server.listen,
        "127.0.0.1:9001".parse::<SocketAddr>().unwrap(),
        "file beats default"
    );
    assert_eq!(file_only.auth.registration, RegistrationMode::Invite);
    let defaults = Settings::load(None, Vec::new(), &Overrides::default()).unwrap();
    assert_eq!(defaults, Settings::default());
    assert_eq!(defaults.server.listen, "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
    assert_eq!(defaults.server.data_dir, PathBuf::from("./plaza-data"));
    assert_eq!(defaults.database_url(), "sqlite://./plaza-data/plaza.db");
}

#[test]
fn mistakes_in_settings_are_reported_not_ignored() {
    let (_a, unknown_key) = file("[server]\nlisen = \"127.0.0.1:1\"\n");
    assert!(Settings::load(Some(&unknown_key), Vec::new(), &Overrides::default()).is_err());
    let (_b, bad_value) = file("[server]\nlisten = \"not an address\"\n");
    assert!(Settings::load(Some(&bad_value), Vec::new(), &Overrides::default()).is_err());
    assert!(
        Settings::load(
            Some(std::path::Path::new("/no/such/plaza.toml")),
            Vec::new(),
            &Overrides::default()
        )
        .is_err()
    );
    let bad_env = env(&[("PLAZA__AUTH__REGISTRATION", "sometimes")]);
    assert!(Settings::load(None, bad_env, &Overrides::default()).is_err());
    let bad_url = env(&[("PLAZA__DATABASE__URL", "mysql://x")]);
    assert!(Settings::load(None, bad_url, &Overrides::default()).is_err());
}

#[test]
fn the_example_config_is_valid_and_states_the_defaults() {
    let (_folder, path) = file(EXAMPLE_CONFIG);
    let settings = Settings::load(Some(&path), Vec::new(), &Overrides::default()).unwrap();
    assert_eq!(settings, Settings::default());
}

#[test]
fn the_debian_package_config_is_valid_and_only_moves_the_data_dir() {
    // packaging/debian/plaza.toml, installed as /etc/plaza/plaza.toml: the example with
    // the unit's StateDirectory as data_dir. Regenerate it from `plaza default-config`
    // when the defaults change.
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/debian/plaza.toml");
    let settings = Settings::load(Some(&path), Vec::new(), &Overrides::default()).unwrap();
    let mut expected = Settings::default();
    expected.server.data_dir = PathBuf::from("/var/lib/plaza");
    assert_eq!(settings, expected, "packaging/debian/plaza.toml states an old default");
    assert_eq!(settings.server.listen, "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
}

#[test]
fn database_passwords_never_show_in_debug_output() {
    let mut settings = Settings::default();
    settings.database.url =
        Some(SecretUrl("postgres://plaza:hunter2@db.example:5432/plaza".into()));
    let printed = format!("{settings:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(printed.contains("db.example"));
    let redacted = plaza_server::settings::redact_url(
        "postgres://u@db.example/plaza?password=hunter2&sslmode=require",
    );
    assert!(!redacted.contains("hunter2") && redacted.contains("sslmode=require"), "{redacted}");
}
