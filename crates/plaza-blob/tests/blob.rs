//! The blob store on local disk and on a real S3-compatible server (`s3s-fs`, which
//! `.ci/run` installs; started here on a free loopback port). Without `s3s-fs` on the
//! PATH the S3 half says so and passes, unless `PLAZA_REQUIRE_S3=1` (as in CI).
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use bytes::Bytes;
use futures_util::StreamExt;
use plaza_blob::testing::S3TestServer;
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

#[tokio::test]
async fn s3_compatible_storage_honours_the_contract() {
    let Some(server) = S3TestServer::start() else { return };
    let config = server.config.clone();
    let store = ObjectBlobStore::s3(&config).unwrap();
    store.check().await.unwrap();
    contract(&store).await;

    let wrong =
        ObjectBlobStore::s3(&S3Config { secret_access_key: "wrong".into(), ..config }).unwrap();
    assert!(wrong.check().await.is_err(), "a wrong secret is refused");
}
