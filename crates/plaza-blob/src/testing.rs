//! A real S3-compatible server for tests: `s3s-fs` (from crates.io; `.ci/run` installs
//! it) serving a temporary directory on a free loopback port, with one bucket, `plaza`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::S3Config;

/// A running `s3s-fs`, stopped (and its directory removed) when dropped.
pub struct S3TestServer {
    child: Child,
    dir: tempfile::TempDir,
    pub config: S3Config,
}

impl S3TestServer {
    /// Starts the server, or says why not and answers `None` when `s3s-fs` is missing,
    /// unless `PLAZA_REQUIRE_S3=1` (as in CI), where that is a test failure.
    pub fn start() -> Option<S3TestServer> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(dir.path().join("plaza")).expect("the bucket directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let spawned = Command::new("s3s-fs")
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", "plaza-test", "--secret-key", "plaza-test-secret"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(error) => {
                let required = std::env::var("PLAZA_REQUIRE_S3").is_ok_and(|v| v == "1");
                assert!(!required, "s3s-fs is required but did not start: {error}");
                eprintln!("skipping S3: s3s-fs is not installed ({error})");
                return None;
            }
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let config = S3Config {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: "plaza".into(),
            region: "us-east-1".into(),
            access_key_id: "plaza-test".into(),
            secret_access_key: "plaza-test-secret".into(),
            virtual_hosted_style: false,
        };
        Some(S3TestServer { child, dir, config })
    }

    /// Where the bucket's objects lie on disk.
    pub fn bucket_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("plaza")
    }
}

impl Drop for S3TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
