//! File attachments: signed upload URLs, streamed uploads, download authorisation,
//! thumbnails, and the check that messages attach only their sender's uploads.
//!
//! The flow is the Spaces one: `getuploadurl` hands out a short-lived signed URL and a
//! file key per file; the client PUTs the raw bytes there; a message names the key as
//! `content.data[].fileId`. Downloads go through signed URLs too, handed only to the
//! uploader and to people who can read a message that attaches the file.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use hmac::{Hmac, Mac};
use plaza_db::{FileRecord, FileState, ObjectId, Store, Timestamp};
use sha2::Sha256;

use crate::content::Attachment;
use crate::identity::Principal;
use crate::limits::{LocalRateLimiter, Rate, RateLimiter, rate_limited};
use crate::{CoreError, CoreResult, ErrorCode};

mod thumbnail;

/// Bytes as they arrive or leave, in chunks.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Where file bytes live: local disk or S3-compatible storage (see `plaza-blob`).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `body` under `key`, visible only once complete: a failed or cut-off write
    /// leaves nothing behind. Fails with [`BlobError::TooLong`] as soon as more than
    /// `max_len` bytes arrive. Returns how many bytes were stored.
    async fn put(&self, key: &str, body: ByteStream, max_len: u64) -> Result<u64, BlobError>;

    /// Reads `range` (start inclusive, end exclusive) of the blob, or all of it.
    async fn get(&self, key: &str, range: Option<(u64, u64)>) -> Result<ByteStream, BlobError>;

    /// Removes the blob; a missing one is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such blob")]
    NotFound,
    #[error("more bytes than announced")]
    TooLong,
    #[error("the upload stream failed: {0}")]
    Body(std::io::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Limits and lifetimes of file handling.
#[derive(Debug, Clone)]
pub struct FileConfig {
    pub max_file_bytes: u64,
    /// Bytes each user may store; 0 means no quota.
    pub user_quota_bytes: u64,
    /// MIME types accepted (`image/png`, or `image/*`); empty accepts any.
    pub allowed_types: Vec<String>,
    pub upload_url_ttl: Duration,
    pub download_url_ttl: Duration,
    /// Images larger than this get no server-made thumbnail.
    pub thumbnail_source_max_bytes: u64,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            max_file_bytes: 100 * 1024 * 1024,
            user_quota_bytes: 0,
            allowed_types: Vec::new(),
            upload_url_ttl: Duration::from_secs(15 * 60),
            download_url_ttl: Duration::from_secs(60 * 60),
            thumbnail_source_max_bytes: 32 * 1024 * 1024,
        }
    }
}

/// One file a client wants to upload.
#[derive(Debug, Clone)]
pub struct UploadRequest {
    pub content_type: String,
    pub content_length: u64,
    pub name: Option<String>,
}

/// A signed URL (as a server-relative path and query) for one file key.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedUrl {
    pub file_key: String,
    pub path: String,
}

/// A file being downloaded: its record, the byte range served, and the bytes.
pub struct Download {
    pub file: FileRecord,
    /// `(start, end exclusive)` when a range was asked for.
    pub range: Option<(u64, u64)>,
    pub body: ByteStream,
}

/// A `Range: bytes=...` request, before it is resolved against the file's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=a-b` (both inclusive).
    Bounded(u64, u64),
    /// `bytes=a-`
    From(u64),
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// `(start, end exclusive)` within a file of `size` bytes, or `None` when the range
    /// lies outside it.
    pub fn resolve(self, size: u64) -> Option<(u64, u64)> {
        let (start, end) = match self {
            ByteRange::Bounded(a, b) => (a, b.saturating_add(1).min(size)),
            ByteRange::From(a) => (a, size),
            ByteRange::Suffix(n) => (size.saturating_sub(n), size),
        };
        (start < end).then_some((start, end))
    }
}

/// What a signature covers: the action, the file and the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlAction {
    Upload,
    Download,
}

impl UrlAction {
    fn as_str(self) -> &'static str {
        match self {
            UrlAction::Upload => "upload",
            UrlAction::Download => "download",
        }
    }
}

/// `fileType` of an attachment from its MIME type (seed 004).
fn file_type_of(mime: &str) -> &'static str {
    match mime.split('/').next().unwrap_or_default() {
        "image" => "image",
        "video" => "video",
        "audio" => "audio",
        _ => "document",
    }
}

/// The MIME type without parameters, lowercased (`Image/PNG; q=1` → `image/png`).
fn essence(mime: &str) -> String {
    mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn valid_mime(mime: &str) -> bool {
    let mut parts = mime.splitn(2, '/');
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    matches!((parts.next(), parts.next()), (Some(a), Some(b)) if token(a) && token(b))
}

fn not_found() -> CoreError {
    CoreError::new(ErrorCode::FileNotFound, "no such file, or you may not read it")
}

fn url_invalid() -> CoreError {
    CoreError::new(
        ErrorCode::FileUrlInvalid,
        "this file URL is altered or expired; ask for a new one",
    )
}

pub struct FileService {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    config: FileConfig,
    /// Signs file URLs; shared by every node through the database.
    url_key: Vec<u8>,
    /// Counts each user's upload requests.
    upload_limiter: Arc<dyn RateLimiter>,
    /// Bounds thumbnail decodes in number and in memory.
    decodes: thumbnail::DecodeBudget,
}

/// Where blobs go: uploads under `files/`, so other kinds can live beside them.
fn blob_key(file_key: &str) -> String {
    format!("files/{file_key}")
}

impl FileService {
    /// Builds the service, loading (or creating, once for the whole cluster) the key that
    /// signs file URLs.
    pub async fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        config: FileConfig,
    ) -> CoreResult<Self> {
        let candidate: [u8; 32] = rand::random();
        let key = store
            .secret("file-url-signing", &URL_SAFE_NO_PAD.encode(candidate), Timestamp::now())
            .await?;
        let url_key = URL_SAFE_NO_PAD
            .decode(key)
            .map_err(|e| CoreError::internal(anyhow::anyhow!("stored URL key: {e}")))?;
        let upload_limiter = Arc::new(LocalRateLimiter::new(Rate { per_second: 0, burst: 0 }));
        let decodes = thumbnail::DecodeBudget::default();
        Ok(FileService { store, blobs, config, url_key, upload_limiter, decodes })
    }

    /// Limits each user's upload requests with `limiter`.
    pub fn with_upload_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.upload_limiter = limiter;
        self
    }

    pub fn config(&self) -> &FileConfig {
        &self.config
    }

    /// The MAC over what a URL signature covers: action, key and deadline.
    fn mac(&self, action: UrlAction, key: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.url_key).expect("HMAC takes any key");
        mac.update(format!("{}\n{key}\n{expires}", action.as_str()).as_bytes());
        mac
    }

    fn sign(&self, action: UrlAction, key: &str, ttl: Duration) -> SignedUrl {
        let expires = Timestamp::now().add_millis(ttl.as_millis() as i64).millis();
        let signature =
            URL_SAFE_NO_PAD.encode(self.mac(action, key, expires).finalize().into_bytes());
        SignedUrl {
            file_key: key.to_owned(),
            path: format!(
                "/api/files/{}/{key}?expires={expires}&signature={signature}",
                action.as_str()
            ),
        }
    }

    fn verify(
        &self,
        action: UrlAction,
        key: &str,
        expires: &str,
        signature: &str,
    ) -> CoreResult<()> {
        let expires: i64 = expires.parse().map_err(|_| url_invalid())?;
        let given = URL_SAFE_NO_PAD.decode(signature).map_err(|_| url_invalid())?;
        // Compared in constant time through the MAC, so timing reveals nothing.
        if self.mac(action, key, expires).verify_slice(&given).is_err() {
            return Err(url_invalid());
        }
        if expires < Timestamp::now().millis() {
            return Err(url_invalid());
        }
        Ok(())
    }

    fn type_allowed(&self, mime: &str) -> bool {
        self.config.allowed_types.is_empty()
            || self.config.allowed_types.iter().any(|allowed| {
                let allowed = allowed.trim().to_ascii_lowercase();
                match allowed.strip_suffix("/*") {
                    Some(family) => mime.split('/').next() == Some(family),
                    None => allowed == mime,
                }
            })
    }

    /// `POST /api/files/getuploadurl`: one signed upload URL and file key per file.
    pub async fn upload_urls(
        &self,
        principal: &Principal,
        files: &[UploadRequest],
        space_id: Option<&str>,
    ) -> CoreResult<Vec<SignedUrl>> {
        if files.is_empty() || files.len() > 20 {
            return Err(CoreError::invalid("files", "names 1 to 20 files"));
        }
        if let Err(wait) = self.upload_limiter.check(&principal.user_id().to_string()).await {
            return Err(rate_limited(wait, "uploads"));
        }
        let space_id = match space_id.filter(|s| !s.is_empty()) {
            Some(id) => Some(
                id.parse::<ObjectId>()
                    .map_err(|_| CoreError::invalid("topicId", "is not a space id"))?,
            ),
            None => None,
        };
        let mut total = 0u64;
        for (i, file) in files.iter().enumerate() {
            let mime = essence(&file.content_type);
            if !valid_mime(&mime) {
                return Err(CoreError::invalid(
                    format!("files[{i}].Content-Type"),
                    "must be a MIME type such as image/png",
                ));
            }
            if !self.type_allowed(&mime) {
                return Err(CoreError::new(
                    ErrorCode::FileTypeNotAllowed,
                    format!("this server does not accept {mime} files"),
                ));
            }
            if file.content_length > self.config.max_file_bytes {
                return Err(CoreError::new(
                    ErrorCode::FileTooLarge,
                    format!("a file is at most {} bytes", self.config.max_file_bytes),
                ));
            }
            total = total.saturating_add(file.content_length);
        }
        let now = Timestamp::now();
        if self.config.user_quota_bytes > 0 {
            let used = self.bytes_stored(principal.user_id(), now).await?;
            if used.saturating_add(total) > self.config.user_quota_bytes {
                return Err(CoreError::new(
                    ErrorCode::FileQuotaExceeded,
                    format!(
                        "your files would take {} of your {} bytes",
                        used.saturating_add(total),
                        self.config.user_quota_bytes
                    ),
                ));
            }
        }
        let expires = now.add_millis(self.config.upload_url_ttl.as_millis() as i64);
        let mut urls = Vec::with_capacity(files.len());
        for file in files {
            let key = uuid::Uuid::new_v4().to_string();
            let name = file.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
            self.store
                .insert_file(&FileRecord {
                    key: key.clone(),
                    owner_id: principal.user_id(),
                    space_id,
                    name: name.map(|n| n.chars().take(255).collect()),
                    content_type: essence(&file.content_type),
                    content_length: file.content_length as i64,
                    state: FileState::Pending,
                    thumbnail_key: None,
                    created: now,
                    expires_at: Some(expires),
                })
                .await?;
            urls.push(self.sign(UrlAction::Upload, &key, self.config.upload_url_ttl));
        }
        Ok(urls)
    }

    /// `PUT` of a signed upload URL: streams the body to storage. The announced type and
    /// exact length must match; otherwise nothing is stored.
    pub async fn receive(
        &self,
        key: &str,
        expires: &str,
        signature: &str,
        content_type: Option<&str>,
        content_length: Option<u64>,
        body: ByteStream,
    ) -> CoreResult<FileRecord> {
        self.verify(UrlAction::Upload, key, expires, signature)?;
        let file = self.store.file(key).await?.ok_or_else(url_invalid)?;
        if file.state != FileState::Pending {
            return Err(CoreError::new(
                ErrorCode::FileUploadMismatch,
                "this file was already uploaded; ask for a new upload URL",
            ));
        }
        let declared = file.content_length as u64;
        if content_type.map(essence).as_deref() != Some(file.content_type.as_str()) {
            return Err(CoreError::new(
                ErrorCode::FileUploadMismatch,
                format!("Content-Type must be {}, as announced", file.content_type),
            ));
        }
        if content_length != Some(declared) {
            return Err(CoreError::new(
                ErrorCode::FileUploadMismatch,
                format!("Content-Length must be exactly {declared}, as announced"),
            ));
        }
        let blob = blob_key(key);
        let stored = match self.blobs.put(&blob, body, declared).await {
            Ok(stored) => stored,
            Err(BlobError::TooLong) => {
                return Err(CoreError::new(
                    ErrorCode::FileUploadMismatch,
                    format!("the body is longer than the {declared} bytes announced"),
                ));
            }
            Err(BlobError::Body(error)) => {
                return Err(CoreError::new(
                    ErrorCode::FileUploadMismatch,
                    format!("the upload broke off: {error}"),
                ));
            }
            Err(error) => return Err(CoreError::internal(error)),
        };
        if stored != declared {
            let _ = self.blobs.delete(&blob).await;
            return Err(CoreError::new(
                ErrorCode::FileUploadMismatch,
                format!("the body has {stored} bytes, not the {declared} announced"),
            ));
        }
        let thumbnail = self.make_thumbnail(&file).await;
        let now = Timestamp::now();
        if !self.store.complete_file(key, now, thumbnail.as_ref()).await? {
            let _ = self.blobs.delete(&blob).await;
            if let Some(thumbnail) = &thumbnail {
                let _ = self.blobs.delete(&blob_key(&thumbnail.key)).await;
            }
            return Err(url_invalid());
        }
        Ok(FileRecord {
            state: FileState::Ready,
            expires_at: None,
            thumbnail_key: thumbnail.map(|t| t.key),
            ..file
        })
    }

    /// What `owner` may still store (`None`: no quota).
    pub async fn quota_left(&self, owner: ObjectId) -> Option<u64> {
        if self.config.user_quota_bytes == 0 {
            return None;
        }
        let used = self.bytes_stored(owner, Timestamp::now()).await.ok()?;
        Some(self.config.user_quota_bytes.saturating_sub(used))
    }

    /// The bytes `owner`'s files take now.
    async fn bytes_stored(&self, owner: ObjectId, now: Timestamp) -> CoreResult<u64> {
        Ok(self.store.file_bytes_of(owner, now).await?.max(0) as u64)
    }

    /// Stores a file the server made (a meeting recording's track) as `owner`'s, in
    /// `space_id`, streamed from `path` in chunks; it counts in the owner's quota.
    pub async fn import(
        &self,
        owner: ObjectId,
        space_id: Option<ObjectId>,
        path: &std::path::Path,
        name: &str,
        content_type: &str,
    ) -> CoreResult<FileRecord> {
        let length = tokio::fs::metadata(path)
            .await
            .map_err(|e| CoreError::internal(anyhow::anyhow!("{}: {e}", path.display())))?
            .len();
        // No quota check: a recording is stopped when it has written what its owner's
        // quota leaves (the meetings watch it), and what it wrote is kept, the last half
        // second's overshoot included.
        let now = Timestamp::now();
        let key = uuid::Uuid::new_v4().to_string();
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| CoreError::internal(anyhow::anyhow!("{}: {e}", path.display())))?;
        let body: ByteStream = Box::pin(futures_util::stream::unfold(file, |mut file| async {
            use tokio::io::AsyncReadExt;
            let mut chunk = vec![0u8; 256 * 1024];
            match file.read(&mut chunk).await {
                Ok(0) => None,
                Ok(n) => {
                    chunk.truncate(n);
                    Some((Ok(Bytes::from(chunk)), file))
                }
                Err(error) => Some((Err(error), file)),
            }
        }));
        let stored =
            self.blobs.put(&blob_key(&key), body, length).await.map_err(|e| {
                CoreError::internal(anyhow::anyhow!("storing {}: {e}", path.display()))
            })?;
        let record = FileRecord {
            key: key.clone(),
            owner_id: owner,
            space_id,
            name: Some(name.chars().take(255).collect()),
            content_type: content_type.to_owned(),
            content_length: stored as i64,
            state: FileState::Pending,
            thumbnail_key: None,
            created: now,
            expires_at: Some(now.add_millis(self.config.upload_url_ttl.as_millis() as i64)),
        };
        self.store.insert_file(&record).await?;
        if !self.store.complete_file(&key, Timestamp::now(), None).await? {
            let _ = self.blobs.delete(&blob_key(&key)).await;
            return Err(CoreError::internal(anyhow::anyhow!("the stored file {key} vanished")));
        }
        Ok(FileRecord { state: FileState::Ready, expires_at: None, ..record })
    }

    /// A thumbnail for an image without one, stored as a file of the same owner; `None`
    /// for other files, and when the image cannot be decoded within the limits.
    async fn make_thumbnail(&self, file: &FileRecord) -> Option<FileRecord> {
        if !thumbnail::supported(&file.content_type)
            || file.content_length as u64 > self.config.thumbnail_source_max_bytes
        {
            return None;
        }
        let bytes = self.read_all(&blob_key(&file.key), file.content_length as u64).await.ok()?;
        let jpeg = match self.decodes.thumbnail(bytes.into()).await {
            Ok(jpeg) => jpeg,
            Err(error) => {
                tracing::info!(file = %file.key, %error, "no thumbnail");
                return None;
            }
        };
        let key = uuid::Uuid::new_v4().to_string();
        let length = jpeg.len() as u64;
        let body: ByteStream = Box::pin(futures_util::stream::once(async move { Ok(jpeg) }));
        if let Err(error) = self.blobs.put(&blob_key(&key), body, length).await {
            tracing::warn!(file = %file.key, %error, "storing a thumbnail failed");
            return None;
        }
        Some(FileRecord {
            key,
            name: file.name.as_ref().map(|n| format!("{n}.thumbnail.jpg")),
            content_type: "image/jpeg".to_owned(),
            content_length: length as i64,
            state: FileState::Ready,
            thumbnail_key: None,
            expires_at: None,
            ..file.clone()
        })
    }

    async fn read_all(&self, blob: &str, max: u64) -> Result<Vec<u8>, BlobError> {
        use futures_util::StreamExt;
        let mut stream = self.blobs.get(blob, None).await?;
        let mut bytes = Vec::with_capacity(max as usize);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(BlobError::Body)?;
            if (bytes.len() + chunk.len()) as u64 > max {
                return Err(BlobError::TooLong);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// Whether the caller may read the file: its uploader, or a reader of a live
    /// message that attaches it.
    async fn readable(&self, principal: &Principal, key: &str) -> CoreResult<FileRecord> {
        let file = self.store.file(key).await?.filter(|f| f.state == FileState::Ready);
        let file = file.ok_or_else(not_found)?;
        if file.owner_id == principal.user_id()
            || self.store.file_readable_through_message(key, principal.user_id()).await?
        {
            Ok(file)
        } else {
            Err(not_found())
        }
    }

    /// `POST /api/files/getdownloadurl`: a signed download URL per key, all or nothing.
    pub async fn download_urls(
        &self,
        principal: &Principal,
        keys: &[String],
    ) -> CoreResult<Vec<(SignedUrl, FileRecord)>> {
        if keys.is_empty() || keys.len() > 100 {
            return Err(CoreError::invalid("fileKeys", "names 1 to 100 file keys"));
        }
        let mut urls = Vec::with_capacity(keys.len());
        for key in keys {
            let file = self.readable(principal, key).await.map_err(|error| CoreError {
                message: format!("{}: {key}", error.message).into(),
                ..error
            })?;
            urls.push((self.sign(UrlAction::Download, key, self.config.download_url_ttl), file));
        }
        Ok(urls)
    }

    /// The signed download URL of one file, for `GET /api/files/{key}`.
    pub async fn download_url(&self, principal: &Principal, key: &str) -> CoreResult<SignedUrl> {
        self.readable(principal, key).await?;
        Ok(self.sign(UrlAction::Download, key, self.config.download_url_ttl))
    }

    /// `GET` of a signed download URL: the file, or the asked-for part of it.
    pub async fn open(
        &self,
        key: &str,
        expires: &str,
        signature: &str,
        range: Option<ByteRange>,
    ) -> CoreResult<Download> {
        self.verify(UrlAction::Download, key, expires, signature)?;
        let file = self.store.file(key).await?.filter(|f| f.state == FileState::Ready);
        let file = file.ok_or_else(not_found)?;
        let size = file.content_length as u64;
        let range = match range {
            None => None,
            Some(range) => Some(range.resolve(size).ok_or_else(|| {
                CoreError::new(
                    ErrorCode::FileRangeNotSatisfiable,
                    format!("the file has {size} bytes"),
                )
            })?),
        };
        let body = match self.blobs.get(&blob_key(key), range).await {
            Ok(body) => body,
            Err(BlobError::NotFound) => return Err(not_found()),
            Err(error) => return Err(CoreError::internal(error)),
        };
        Ok(Download { file, range, body })
    }

    /// Checks and completes a message's `content.data[]`: every native attachment must
    /// be a file `sender` uploaded; size and type come from the stored file, and an image
    /// without a thumbnail gets the server-made one.
    pub async fn attach(&self, sender: ObjectId, attachments: &mut [Attachment]) -> CoreResult<()> {
        for (i, item) in attachments.iter_mut().enumerate() {
            let field = |name: &str| format!("content.data[{i}].{name}");
            if !item.is_native() {
                // A link to another provider's file: its ids are that provider's and are
                // never indexed as ours (`MessageRecord::file_keys`). One that names a
                // file stored here is refused, so "attached" always means "checked".
                for (name, key) in
                    [("fileId", &item.file_id), ("thumbnailFile", &item.thumbnail_file)]
                {
                    let Some(key) = key.as_deref() else { continue };
                    if !key.is_empty() && self.store.file(key).await?.is_some() {
                        return Err(CoreError::invalid(
                            field(name),
                            "names a file stored here: attach it with provider \"native\"",
                        ));
                    }
                }
                continue;
            }
            let mine = |file: &Option<FileRecord>| {
                file.as_ref().is_some_and(|f| f.owner_id == sender && f.state == FileState::Ready)
            };
            let key = item
                .file_id
                .clone()
                .ok_or_else(|| CoreError::invalid(field("fileId"), "is required"))?;
            let file = self.store.file(&key).await?;
            if !mine(&file) {
                return Err(CoreError::invalid(
                    field("fileId"),
                    "is not a completed upload of the sender",
                ));
            }
            let file = file.expect("checked above");
            match item.thumbnail_file.as_deref().filter(|t| !t.is_empty()) {
                Some(thumbnail) => {
                    if !mine(&self.store.file(thumbnail).await?) {
                        return Err(CoreError::invalid(
                            field("thumbnailFile"),
                            "is not a completed upload of the sender",
                        ));
                    }
                }
                None => {
                    if let Some(made) = &file.thumbnail_key {
                        item.thumbnail_file = Some(made.clone());
                    }
                }
            }
            item.file_size = Some(file.content_length);
            item.provider = Some("native".to_owned());
            if item.provider_file_type.as_deref().is_none_or(str::is_empty) {
                item.provider_file_type = Some(file.content_type.clone());
            }
            let file_type = item.file_type.as_deref().unwrap_or_default();
            if !["image", "video", "audio", "document"].contains(&file_type) {
                // Some clients put the MIME type here (catalog §7.5).
                item.file_type = Some(file_type_of(&file.content_type).to_owned());
            }
            match item.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                None => item.name = Some(file.name.clone().unwrap_or_else(|| "file".to_owned())),
                // Downloads then carry the name the message shows.
                Some(name) if file.name.is_none() => {
                    let name: String = name.chars().take(255).collect();
                    self.store.name_file(&key, &name).await?;
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Forgets uploads whose URL expired before their bytes arrived, and deletes any
    /// bytes they left. Returns how many it removed.
    pub async fn sweep_expired(&self) -> CoreResult<usize> {
        let mut removed = 0;
        loop {
            let expired = self.store.take_expired_files(Timestamp::now(), 500).await?;
            if expired.is_empty() {
                return Ok(removed);
            }
            for file in &expired {
                if let Err(error) = self.blobs.delete(&blob_key(&file.key)).await {
                    tracing::warn!(file = %file.key, %error, "deleting an expired upload failed");
                }
            }
            removed += expired.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_like_rfc_9110() {
        assert_eq!(ByteRange::Bounded(0, 9).resolve(5), Some((0, 5)));
        assert_eq!(ByteRange::Suffix(3).resolve(10), Some((7, 10)));
        assert_eq!(ByteRange::Suffix(30).resolve(10), Some((0, 10)));
        assert_eq!(ByteRange::From(10).resolve(10), None);
        assert_eq!(ByteRange::Suffix(0).resolve(10), None);
    }

    #[test]
    fn mime_types_are_checked_and_classified() {
        assert_eq!(essence(" Image/PNG; q=1"), "image/png");
        assert!(valid_mime("application/vnd.ms-excel"));
        assert!(!valid_mime("image"));
        assert!(!valid_mime("image/png\r\nX-Evil: 1"));
        assert_eq!(file_type_of("video/mp4"), "video");
        assert_eq!(file_type_of("application/pdf"), "document");
    }
}
