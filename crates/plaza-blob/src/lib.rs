//! Where file bytes live: a directory on local disk (the default, under the data dir) or
//! an S3-compatible bucket, both through the `object_store` crate, behind
//! `plaza_core::files::BlobStore`.
#![forbid(unsafe_code)]

#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use plaza_core::files::{BlobError, BlobStore, ByteStream};

/// How to reach an S3-compatible bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// `https://s3.eu-west-1.amazonaws.com`, or any S3-compatible server.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Bucket in the host name (AWS) rather than the path (most other servers).
    pub virtual_hosted_style: bool,
}

/// Parts are uploaded in chunks of this size (S3's minimum part is 5 MiB).
const PART: usize = 8 * 1024 * 1024;

pub struct ObjectBlobStore {
    inner: Arc<dyn ObjectStore>,
}

fn other(error: object_store::Error) -> BlobError {
    match error {
        object_store::Error::NotFound { .. } => BlobError::NotFound,
        error => BlobError::Other(error.into()),
    }
}

fn path(key: &str) -> Result<Path, BlobError> {
    Path::parse(key).map_err(|e| BlobError::Other(anyhow::anyhow!("blob key {key:?}: {e}")))
}

impl ObjectBlobStore {
    /// Blobs as files under `dir` (created if missing). Writes go to a temporary file
    /// that is renamed into place when complete.
    pub fn local(dir: &std::path::Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let store = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
        Ok(ObjectBlobStore { inner: Arc::new(store) })
    }

    /// Blobs in an S3-compatible bucket. Multipart uploads become visible only when
    /// completed, and are aborted when a body fails.
    pub fn s3(config: &S3Config) -> anyhow::Result<Self> {
        let store = AmazonS3Builder::new()
            .with_endpoint(&config.endpoint)
            .with_allow_http(config.endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(config.virtual_hosted_style)
            .with_region(&config.region)
            .with_bucket_name(&config.bucket)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .build()?;
        Ok(ObjectBlobStore { inner: Arc::new(store) })
    }

    /// Checks the storage answers: writes, reads back and deletes a small probe blob.
    pub async fn check(&self) -> anyhow::Result<()> {
        let probe = Path::from("plaza-probe");
        self.inner.put(&probe, bytes::Bytes::from_static(b"ok").into()).await?;
        let read = self.inner.get(&probe).await?.bytes().await?;
        anyhow::ensure!(read.as_ref() == b"ok", "the storage returned other bytes than written");
        self.inner.delete(&probe).await?;
        Ok(())
    }
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(&self, key: &str, mut body: ByteStream, max_len: u64) -> Result<u64, BlobError> {
        let location = path(key)?;
        let upload = self.inner.put_multipart(&location).await.map_err(other)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(BlobError::Body(error));
                }
            };
            written += chunk.len() as u64;
            if written > max_len {
                let _ = writer.abort().await;
                return Err(BlobError::TooLong);
            }
            // Bounded memory: at most a few parts in flight.
            if let Err(error) = writer.wait_for_capacity(2).await {
                return Err(other(error));
            }
            writer.write(&chunk);
        }
        writer.finish().await.map_err(other)?;
        Ok(written)
    }

    async fn get(&self, key: &str, range: Option<(u64, u64)>) -> Result<ByteStream, BlobError> {
        let options = GetOptions {
            range: range.map(|(start, end)| GetRange::Bounded(start..end)),
            ..GetOptions::default()
        };
        let result = self.inner.get_opts(&path(key)?, options).await.map_err(other)?;
        let stream = result.into_stream().map(|chunk| chunk.map_err(std::io::Error::other)).boxed();
        Ok(stream)
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.inner.delete(&path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(other(error)),
        }
    }
}
