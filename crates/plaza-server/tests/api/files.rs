//! File attachments end to end: the seed's flow with npm socket.io-client, the upload
//! rules (type, exact length, signatures, expiry, limits, quota), downloads with ranges,
//! who may download, and the same on S3-compatible storage (`s3s-fs`).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, jwt, spawn_app, spawn_app_with};

/// A real PNG: a 640 × 480 gradient.
fn png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Asks for an upload URL: `(url, fileKey)`.
async fn upload_url(app: &TestApp, token: &str, mime: &str, length: usize) -> (String, String) {
    let answer = app
        .post(
            "/api/files/getuploadurl",
            Some(&jwt(token)),
            &json!({"files": [{"Content-Type": mime, "Content-Length": length}]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let entry = &answer.body["data"][0];
    (entry["url"].as_str().unwrap().to_owned(), entry["fileKey"].as_str().unwrap().to_owned())
}

async fn put(app: &TestApp, url: &str, mime: &str, bytes: Vec<u8>) -> reqwest::Response {
    app.client.put(url).header("content-type", mime).body(bytes).send().await.unwrap()
}

/// Uploads `bytes` and returns the file key.
pub(crate) async fn upload(app: &TestApp, token: &str, mime: &str, bytes: Vec<u8>) -> String {
    let (url, key) = upload_url(app, token, mime, bytes.len()).await;
    let stored = put(app, &url, mime, bytes).await;
    assert_eq!(stored.status(), StatusCode::OK, "{}", stored.text().await.unwrap());
    key
}

pub(crate) async fn download_url(app: &TestApp, token: &str, key: &str) -> String {
    let answer =
        app.post("/api/files/getdownloadurl", Some(&jwt(token)), &json!({"fileKeys": [key]})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"][0]["url"].as_str().unwrap().to_owned()
}

async fn chat_with(app: &TestApp, token: &str, space: &str, key: &str) -> crate::helpers::Answer {
    app.post(
        &format!("/api/spaces/{space}/chats"),
        Some(&jwt(token)),
        &json!({"content": {"bodyText": "see attached", "data": [{"fileId": key, "name": "pic.png", "fileType": "image/png"}]}}),
    )
    .await
}

#[tokio::test]
async fn the_seed_file_flow_works_with_socket_io_client() {
    let app = spawn_app().await;
    let (sender, _) = app.register("sender@example.com").await;
    let (receiver, receiver_user) = app.register("receiver@example.com").await;
    let (outsider, _) = app.register("outsider@example.com").await;
    let space = app.create_space(&sender, "Photos").await;
    app.post(
        &format!("/api/spaces/{space}/attendees/userId/{}", receiver_user["_id"].as_str().unwrap()),
        Some(&jwt(&sender)),
        &json!({"role": "member"}),
    )
    .await;
    let guest = app.anonymous("Late guest").await;
    let image = png();
    let image_path = app.data_dir.join("sample-1.png");
    std::fs::write(&image_path, &image).unwrap();
    let args = json!({
        "sender": sender, "receiver": receiver, "space": space, "guest": guest,
        "outsider": outsider, "imagePath": image_path,
    });
    let Some(seen) = crate::realtime::scenario(&app, "files", args).await else { return };
    assert_eq!(seen["putStatus"], 200, "{seen}");
    let attachment = &seen["message"]["content"]["data"][0];
    assert_eq!(attachment["fileSize"], image.len());
    assert_eq!(attachment["fileType"], "image");
    assert_eq!(attachment["providerFileType"], "image/png");
    assert!(attachment["path"].as_str().unwrap().ends_with(attachment["fileId"].as_str().unwrap()));
    assert!(attachment["thumbnailFile"].is_string(), "the server made a thumbnail: {attachment}");
    assert!(seen["message"].get("loopbackMetadata").is_none(), "the receiver's copy has none");

    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    use sha2::Digest;
    let sha256: String = sha2::Sha256::digest(&image).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(seen["download"]["sha256"], sha256, "downloaded byte-identical");
    assert_eq!(seen["download"]["type"], "image/png");
    assert!(seen["download"]["disposition"].as_str().unwrap().contains("sample-1.png"));
    assert_eq!(
        (seen["thumbnail"]["status"].as_u64(), seen["thumbnail"]["type"].as_str()),
        (Some(200), Some("image/jpeg"))
    );
    assert!(seen["thumbnail"]["length"].as_u64().unwrap() > 100);
    assert_eq!(seen["range"]["status"], 206);
    assert_eq!(seen["range"]["contentRange"], format!("bytes 0-7/{}", image.len()));
    assert_eq!(engine.decode(seen["range"]["base64"].as_str().unwrap()).unwrap(), image[..8]);
    assert_eq!(
        (seen["viaPath"]["status"].as_u64(), seen["viaPath"]["length"].as_u64()),
        (Some(200), Some(image.len() as u64))
    );
    assert_eq!(seen["guest"]["status"], 404, "a guest who joined later: {}", seen["guest"]);
    assert_eq!(seen["guest"]["body"]["code"], "file.not_found");
    assert_eq!(seen["outsider"]["status"], 404);
    assert_eq!(seen["outsiderPath"], 404);
}

#[tokio::test]
async fn uploads_must_match_what_was_announced() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let bytes = b"%PDF-1.7 a small document".to_vec();

    let (url, _) = upload_url(&app, &owner, "application/pdf", bytes.len()).await;
    let wrong_type = put(&app, &url, "text/plain", bytes.clone()).await;
    assert_eq!(wrong_type.status(), StatusCode::BAD_REQUEST);
    let body: Value = wrong_type.json().await.unwrap();
    assert_eq!(body["code"], "file.upload_mismatch");
    let short = put(&app, &url, "application/pdf", bytes[..5].to_vec()).await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST, "a different Content-Length");

    let forged = url.replace("signature=", "signature=x");
    assert_eq!(
        put(&app, &forged, "application/pdf", bytes.clone()).await.status(),
        StatusCode::FORBIDDEN
    );
    let other_key = url.replace("/upload/", "/upload/0");
    assert_eq!(
        put(&app, &other_key, "application/pdf", bytes.clone()).await.status(),
        StatusCode::FORBIDDEN
    );

    // The announced type and length, once.
    let done = put(&app, &url, "application/pdf; charset=binary", bytes.clone()).await;
    assert_eq!(done.status(), StatusCode::OK);
    let again = put(&app, &url, "application/pdf", bytes.clone()).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "an upload URL stores once");

    // A chunked body without Content-Length is refused before anything is stored.
    let (url, key) = upload_url(&app, &owner, "application/pdf", 16).await;
    let stream =
        futures_util::stream::iter(vec![Ok::<_, std::io::Error>(vec![1u8; 8]), Ok(vec![2u8; 8])]);
    let chunked = app
        .client
        .put(&url)
        .header("content-type", "application/pdf")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(chunked.status(), StatusCode::BAD_REQUEST);
    let refused = app
        .post("/api/files/getdownloadurl", Some(&jwt(&owner)), &json!({"fileKeys": [key]}))
        .await;
    refused.assert_error(404, "file.not_found");

    // Malformed requests.
    app.post("/api/files/getuploadurl", Some(&jwt(&owner)), &json!({"files": []}))
        .await
        .assert_error(400, "request.invalid");
    app.post(
        "/api/files/getuploadurl",
        Some(&jwt(&owner)),
        &json!({"files": [{"Content-Type": "not a type", "Content-Length": 3}]}),
    )
    .await
    .assert_error(400, "request.invalid");
    app.post(
        "/api/files/getuploadurl",
        Some(&jwt(&owner)),
        &json!({"files": [{"Content-Type": "image/png", "Content-Length": -3}]}),
    )
    .await
    .assert_error(400, "request.invalid");
    app.post("/api/files/getuploadurl", None, &json!({"files": []}))
        .await
        .assert_error(401, "auth.required");
}

#[tokio::test]
async fn limits_types_and_quotas_are_enforced_with_clear_errors() {
    let app = spawn_app_with(|settings| {
        settings.files.max_file_bytes = 1000;
        settings.files.user_quota_bytes = 1500;
        settings.files.allowed_types = vec!["image/*".into(), "application/pdf".into()];
    })
    .await;
    let (owner, _) = app.register("owner@example.com").await;
    let ask = |mime: &str, length: u64| {
        let body = json!({"files": [{"Content-Type": mime, "Content-Length": length}]});
        let (app, token) = (&app, jwt(&owner));
        async move { app.post("/api/files/getuploadurl", Some(&token), &body).await }
    };
    ask("image/png", 1001).await.assert_error(413, "file.too_large");
    ask("text/html", 10).await.assert_error(415, "file.type_not_allowed");
    assert_eq!(ask("image/gif", 900).await.status, StatusCode::OK);
    ask("application/pdf", 700).await.assert_error(403, "file.quota_exceeded");
    assert_eq!(ask("application/pdf", 600).await.status, StatusCode::OK, "pending uploads count");
}

#[tokio::test]
async fn messages_attach_only_their_senders_finished_uploads() {
    let app = spawn_app().await;
    let (owner, _) = app.register("owner@example.com").await;
    let (other, other_user) = app.register("other@example.com").await;
    let space = app.create_space(&owner, "Docs").await;
    app.post(
        &format!("/api/spaces/{space}/attendees/userId/{}", other_user["_id"].as_str().unwrap()),
        Some(&jwt(&owner)),
        &json!({"role": "member"}),
    )
    .await;
    let theirs = upload(&app, &other, "application/pdf", b"%PDF theirs".to_vec()).await;
    chat_with(&app, &owner, &space, &theirs).await.assert_error(400, "request.invalid");
    let (_, pending) = upload_url(&app, &owner, "application/pdf", 5).await;
    chat_with(&app, &owner, &space, &pending).await.assert_error(400, "request.invalid");
    chat_with(&app, &owner, &space, "no-such-key").await.assert_error(400, "request.invalid");

    let mine = upload(&app, &owner, "application/pdf", b"%PDF mine".to_vec()).await;
    let sent = chat_with(&app, &owner, &space, &mine).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    let attachment = &sent.body["data"]["content"]["data"][0];
    assert_eq!(attachment["fileType"], "document", "a MIME type in fileType is corrected");
    assert_eq!(attachment["fileSize"], 9);
    assert!(attachment.get("thumbnailFile").is_none(), "no thumbnail for a PDF");

    // The other member may now download it; listed among messages with attachments.
    let url = download_url(&app, &other, &mine).await;
    let got = app.client.get(&url).send().await.unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"%PDF mine");
    let listed = app.get("/api/users/me/attachments/natives", Some(&jwt(&other))).await;
    assert_eq!(listed.body["total"], 1, "{}", listed.text);
    assert_eq!(listed.body["data"][0]["content"]["data"][0]["fileId"], mine.as_str());

    // A range past the end, and an expired URL.
    let past = app.client.get(&url).header("range", "bytes=100-200").send().await.unwrap();
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let expired = url.replace("expires=", "expires=1");
    assert_eq!(app.client.get(&expired).send().await.unwrap().status(), StatusCode::FORBIDDEN);

    // Deleting the message takes the other member's access with it.
    let id = sent.body["data"]["_id"].as_str().unwrap();
    app.delete(&format!("/api/messages/{id}"), Some(&jwt(&owner))).await;
    app.post("/api/files/getdownloadurl", Some(&jwt(&other)), &json!({"fileKeys": [mine]}))
        .await
        .assert_error(404, "file.not_found");
}

#[tokio::test]
async fn files_live_in_s3_compatible_storage_when_configured() {
    let Some(s3) = plaza_blob::testing::S3TestServer::start() else { return };
    let config = s3.config.clone();
    let app = spawn_app_with(move |settings| {
        settings.files.storage = plaza_server::FileStorage::S3;
        settings.files.s3.endpoint = config.endpoint;
        settings.files.s3.bucket = config.bucket;
        settings.files.s3.access_key_id = config.access_key_id;
        settings.files.s3.secret_access_key.0 = config.secret_access_key;
    })
    .await;
    let (owner, _) = app.register("owner@example.com").await;
    let image = png();
    let key = upload(&app, &owner, "image/png", image.clone()).await;
    let url = download_url(&app, &owner, &key).await;
    let got = app.client.get(&url).send().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert!(got.bytes().await.unwrap().as_ref() == image.as_slice(), "byte-identical from S3");
    let part = app.client.get(&url).header("range", "bytes=-4").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &image[image.len() - 4..]);
    assert!(
        std::fs::read_dir(s3.bucket_dir().join("files")).unwrap().count() >= 2,
        "the file and its thumbnail are in the bucket"
    );
}

#[tokio::test]
async fn a_misconfigured_s3_storage_stops_the_server_at_start() {
    let folder = tempfile::tempdir().unwrap();
    let mut settings = plaza_server::Settings::default();
    settings.server.data_dir = folder.path().join("data");
    settings.files.storage = plaza_server::FileStorage::S3;
    let error = plaza_server::Services::build(&settings).await.err().expect("refused");
    assert!(format!("{error:#}").contains("files.s3.endpoint"), "{error:#}");
    settings.files.s3.endpoint = "http://127.0.0.1:9".into();
    settings.files.s3.bucket = "plaza".into();
    let error = plaza_server::Services::build(&settings).await.err().expect("refused");
    assert!(format!("{error:#}").contains("file storage"), "{error:#}");
}

#[tokio::test]
async fn an_expired_upload_url_stores_nothing() {
    let app = spawn_app_with(|settings| settings.files.upload_url_ttl_secs = 0).await;
    let (owner, _) = app.register("owner@example.com").await;
    let (url, key) = upload_url(&app, &owner, "text/plain", 2).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let late = put(&app, &url, "text/plain", b"hi".to_vec()).await;
    assert_eq!(late.status(), StatusCode::FORBIDDEN);
    let body: Value = late.json().await.unwrap();
    assert_eq!(body["code"], "file.url_invalid");
    app.post("/api/files/getdownloadurl", Some(&jwt(&owner)), &json!({"fileKeys": [key]}))
        .await
        .assert_error(404, "file.not_found");
}
