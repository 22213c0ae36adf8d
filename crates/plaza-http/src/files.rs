//! Files over REST: signed upload URLs, the streamed `PUT` itself, download URLs, the
//! download with ranges, and the redirect behind an attachment's `path`.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use futures_util::TryStreamExt;
use plaza_core::files::UploadRequest;
use plaza_wire::Data;
use plaza_wire::files::{DownloadUrl, UploadUrl, UploadedFile};
use serde::Deserialize;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;
use crate::extract::{Auth, Json, Path, Query};
use crate::{AppState, Routes, base_url};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    upload_urls,
    download_urls,
    download_urls_by_query,
    upload,
    download,
    redirect_to_file
))]
pub(crate) struct Doc;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/api/files/getuploadurl", post(upload_urls))
        .route("/api/files/getdownloadurl", post(download_urls).get(download_urls_by_query))
        // The body is streamed to storage and bounded by the announced length, not by
        // the JSON body limit.
        .route("/api/files/upload/{key}", put(upload).layer(DefaultBodyLimit::disable()))
        .route("/api/files/download/{key}", get(download))
        .route("/api/files/{key}", get(redirect_to_file))
}

/// A whole number of bytes, as a number or a string.
fn byte_count() -> RefOr<Schema> {
    Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
            .item(ObjectBuilder::new().schema_type(Type::String))
            .build(),
    )
    .into()
}

/// One file to upload (`contentType` and `contentLength` are accepted too).
#[derive(Deserialize, ToSchema)]
struct UploadFile {
    #[serde(rename = "Content-Type", alias = "contentType", alias = "content-type")]
    content_type: String,
    #[serde(rename = "Content-Length", alias = "contentLength", alias = "content-length")]
    #[schema(schema_with = byte_count)]
    content_length: Value,
    /// A Plaza addition: the name downloads carry.
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
struct UploadUrlsBody {
    files: Vec<UploadFile>,
    /// The space the files are for.
    #[serde(default, rename = "topicId")]
    topic_id: Option<String>,
}

/// POST /api/files/getuploadurl: `{files:[{Content-Type, Content-Length}], topicId?}` →
/// `{data:[{url, fileKey}]}`.
///
/// Each `url` takes one `PUT` of the file's bytes, with the announced type and length.
#[utoipa::path(
    post,
    path = "/api/files/getuploadurl",
    tag = "files",
    operation_id = "getUploadUrls",
    request_body = UploadUrlsBody,
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: [{url, fileKey}]}`, one per file", body = Data<Vec<UploadUrl>>))
)]
async fn upload_urls(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Json(body): Json<UploadUrlsBody>,
) -> ApiResult<axum::Json<Data<Vec<UploadUrl>>>> {
    let mut files = Vec::with_capacity(body.files.len());
    for (i, file) in body.files.into_iter().enumerate() {
        // Clients send the length as a number or a string.
        let length = match &file.content_length {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            plaza_core::CoreError::invalid(
                format!("files[{i}].Content-Length"),
                "must be a whole number of bytes",
            )
        })?;
        files.push(UploadRequest {
            content_type: file.content_type,
            content_length: length,
            name: file.name,
        });
    }
    let urls = state.files.upload_urls(&principal, &files, body.topic_id.as_deref()).await?;
    let base = base_url(&state, &headers);
    let data: Vec<UploadUrl> = urls
        .into_iter()
        .map(|u| UploadUrl { url: format!("{base}{}", u.path), file_key: u.file_key })
        .collect();
    Ok(axum::Json(Data::new(data)))
}

/// The signature of an upload or download URL.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Signed {
    #[serde(default)]
    expires: String,
    #[serde(default)]
    signature: String,
}

/// PUT <upload url>: the raw bytes, streamed to storage.
///
/// Authorised by the URL's signature, not by a header.
#[utoipa::path(
    put,
    path = "/api/files/upload/{key}",
    tag = "files",
    operation_id = "uploadFile",
    params(("key" = String, Path, description = "The file key"), Signed),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file's bytes, with the `Content-Type` and `Content-Length` announced"),
    responses((status = 200, description = "`{fileKey, contentType, contentLength, thumbnailFile}`", body = UploadedFile))
)]
async fn upload(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(signed): Query<Signed>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<axum::Json<UploadedFile>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let content_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let file = state
        .files
        .receive(
            &key,
            &signed.expires,
            &signed.signature,
            content_type,
            content_length,
            Box::pin(stream),
        )
        .await?;
    state.metrics.uploaded(u64::try_from(file.content_length).unwrap_or(0));
    Ok(axum::Json(UploadedFile {
        file_key: file.key,
        content_type: file.content_type,
        content_length: file.content_length,
        thumbnail_file: file.thumbnail_key,
    }))
}

#[derive(Deserialize, ToSchema)]
struct DownloadUrlsBody {
    #[serde(rename = "fileKeys")]
    file_keys: Vec<String>,
}

async fn download_urls_for(
    state: &AppState,
    headers: &HeaderMap,
    principal: &plaza_core::identity::Principal,
    keys: &[String],
) -> ApiResult<axum::Json<Data<Vec<DownloadUrl>>>> {
    let urls = state.files.download_urls(principal, keys).await?;
    let base = base_url(state, headers);
    let data: Vec<DownloadUrl> = urls
        .into_iter()
        .map(|(url, file)| DownloadUrl {
            file_key: url.file_key,
            url: format!("{base}{}", url.path),
            content_type: file.content_type,
            content_length: file.content_length,
            name: file.name,
            thumbnail_file: file.thumbnail_key,
        })
        .collect();
    Ok(axum::Json(Data::new(data)))
}

/// POST /api/files/getdownloadurl `{fileKeys:[...]}` → `{data:[{fileKey, url, ...}]}`.
#[utoipa::path(
    post,
    path = "/api/files/getdownloadurl",
    tag = "files",
    operation_id = "getDownloadUrls",
    request_body = DownloadUrlsBody,
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: [{fileKey, url, contentType, contentLength, name, thumbnailFile}]}`", body = Data<Vec<DownloadUrl>>))
)]
async fn download_urls(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Json(body): Json<DownloadUrlsBody>,
) -> ApiResult<axum::Json<Data<Vec<DownloadUrl>>>> {
    download_urls_for(&state, &headers, &principal, &body.file_keys).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DownloadUrlsQuery {
    /// File keys, comma-separated (`fileKey` is accepted too).
    #[serde(rename = "fileKeys", alias = "fileKey", default)]
    file_keys: String,
}

/// GET /api/files/getdownloadurl?fileKeys=a,b: the guide's spelling of the same call.
#[utoipa::path(
    get,
    path = "/api/files/getdownloadurl",
    tag = "files",
    operation_id = "getDownloadUrlsByQuery",
    params(DownloadUrlsQuery),
    security(("authorization" = [])),
    responses((status = 200, description = "`{data: [{fileKey, url, contentType, contentLength, name, thumbnailFile}]}`", body = Data<Vec<DownloadUrl>>))
)]
async fn download_urls_by_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Query(query): Query<DownloadUrlsQuery>,
) -> ApiResult<axum::Json<Data<Vec<DownloadUrl>>>> {
    let keys: Vec<String> = query
        .file_keys
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    download_urls_for(&state, &headers, &principal, &keys).await
}

/// A header value that cannot fail: control characters and quotes become `_`.
fn disposition(name: &str) -> HeaderValue {
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{safe}\"; filename*=UTF-8''{}",
        encoded.replace('+', "%20")
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// GET <download url>: the file, or one range of it (206), streamed from storage.
///
/// Authorised by the URL's signature, not by a header.
#[utoipa::path(
    get,
    path = "/api/files/download/{key}",
    tag = "files",
    operation_id = "downloadFile",
    params(
        ("key" = String, Path, description = "The file key"),
        Signed,
        ("Range" = Option<String>, Header, description = "One byte range: `bytes=start-end`"),
    ),
    responses(
        (status = 200, description = "The file, with its own content type", body = Vec<u8>, content_type = "*/*"),
        (status = 206, description = "The range asked for", body = Vec<u8>, content_type = "*/*"),
    )
)]
async fn download(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(signed): Query<Signed>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::headers::byte_range);
    let download = state.files.open(&key, &signed.expires, &signed.signature, range).await?;
    let size = download.file.content_length as u64;
    let content_type = HeaderValue::from_str(&download.file.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let name = download.file.name.clone().unwrap_or_else(|| key.clone());
    let mut response = Body::from_stream(download.body).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, content_type);
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response_headers.insert(header::CONTENT_DISPOSITION, disposition(&name));
    response_headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    response_headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    // Whatever an uploader declared, a download opened from our origin runs nothing and
    // reaches nothing: an uploaded HTML or SVG file cannot act as the API's own page.
    response_headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; style-src 'unsafe-inline'"),
    );
    let length = match download.range {
        Some((start, end)) => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let range = format!("bytes {start}-{}/{size}", end - 1);
            response
                .headers_mut()
                .insert(header::CONTENT_RANGE, HeaderValue::from_str(&range).expect("ascii"));
            end - start
        }
        None => size,
    };
    response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

/// GET /api/files/{key}: a message attachment's `path`. Authorised like a download-URL
/// request, answered with a redirect to a fresh signed URL.
#[utoipa::path(
    get,
    path = "/api/files/{key}",
    tag = "files",
    operation_id = "fileRedirect",
    params(("key" = String, Path, description = "The file key")),
    security(("authorization" = [])),
    responses((status = 303, description = "To a fresh signed download URL",
        headers(("Location" = String, description = "The download URL"))))
)]
async fn redirect_to_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(principal): Auth,
    Path(key): Path<String>,
) -> ApiResult<Redirect> {
    let url = state.files.download_url(&principal, &key).await?;
    Ok(Redirect::to(&format!("{}{}", base_url(&state, &headers), url.path)))
}
