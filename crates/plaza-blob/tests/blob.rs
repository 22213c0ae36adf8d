//! The blob store on local disk and on a real S3-compatible server (`s3s-fs`, which
//! `.ci/run` installs; started here on a free loopback port). Without `s3s-fs` on the
//! PATH the S3 half says so and passes, unless `PLAZA_REQUIRE_S3=1` (as in CI).
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use plaza_blob::{ObjectBlobStore, S3Config};
use plaza_core::files::{BlobError, BlobStore, ByteStream};

fn body(chunks: Vec<Vec<u8>>) -> ByteStream {
    futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c)))).boxed()
}

async fn read(store: &dyn BlobStore, key: &str, range: Option<(u64, u64)>) -> Vec<u8> {
    let mut stream = store.get(key, range).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

/// What every blob store must do.
async fn contract(store: &dyn BlobStore) {
    // Big enough to take several multipart parts.
    let data: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let chunks: Vec<Vec<u8>> = data.chunks(64 * 1024).map(<[u8]>::to_vec).collect();
    let stored = store.put("files/big", body(chunks), data.len() as u64).await.unwrap();
    assert_eq!(stored, data.len() as u64);
    assert!(read(store, "files/big", None).await == data, "read back byte-identical");
    let start = 8 * 1024 * 1024 - 10;
    assert_eq!(
        read(store, "files/big", Some((start, start + 20))).await,
        data[start as usize..start as usize + 20],
        "a range across a part boundary"
    );

    // Too long, or a body that breaks off: nothing becomes visible.
    let too_long = store.put("files/long", body(vec![vec![1; 10], vec![2; 10]]), 15).await;
    assert!(matches!(too_long, Err(BlobError::TooLong)), "{too_long:?}");
    assert!(matches!(store.get("files/long", None).await, Err(BlobError::NotFound)));
    let broken: ByteStream = futures_util::stream::iter(vec![
        Ok(Bytes::from_static(b"partial")),
        Err(std::io::Error::other("client went away")),
    ])
    .boxed();
    assert!(matches!(store.put("files/broken", broken, 100).await, Err(BlobError::Body(_))));
    assert!(matches!(store.get("files/broken", None).await, Err(BlobError::NotFound)));

    store.put("files/small", body(vec![b"hello".to_vec()]), 5).await.unwrap();
    assert_eq!(read(store, "files/small", None).await, b"hello");
    store.delete("files/small").await.unwrap();
    store.delete("files/small").await.unwrap();
    assert!(matches!(store.get("files/small", None).await, Err(BlobError::NotFound)));
}

#[tokio::test]
async fn local_disk_honours_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::local(dir.path()).unwrap();
    store.check().await.unwrap();
    contract(&store).await;
}

/// An `s3s-fs` server on a free port, stopped when dropped.
struct S3Server {
    child: Child,
    endpoint: String,
    _dir: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_s3() -> Option<S3Server> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plaza")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
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
    Some(S3Server { child, endpoint: format!("http://127.0.0.1:{port}"), _dir: dir })
}

#[tokio::test]
async fn s3_compatible_storage_honours_the_contract() {
    let Some(server) = start_s3() else { return };
    let config = S3Config {
        endpoint: server.endpoint.clone(),
        bucket: "plaza".into(),
        region: "us-east-1".into(),
        access_key_id: "plaza-test".into(),
        secret_access_key: "plaza-test-secret".into(),
        virtual_hosted_style: false,
    };
    let store = ObjectBlobStore::s3(&config).unwrap();
    store.check().await.unwrap();
    contract(&store).await;

    let wrong =
        ObjectBlobStore::s3(&S3Config { secret_access_key: "wrong".into(), ..config }).unwrap();
    assert!(wrong.check().await.is_err(), "a wrong secret is refused");
}
