//! Token verification: only genuine, live Plaza JWTs get in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, claims_of, jwt, now_secs, spawn_app};

/// The server's own signing key, read from its data folder, and its `kid`.
pub(crate) async fn server_key(app: &TestApp) -> (EncodingKey, String, Vec<u8>) {
    use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    let pem = std::fs::read_to_string(app.data_dir.join("keys/jwt-ed25519.pem")).expect("key file");
    let der = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap().to_pkcs8_der().unwrap();
    let jwks = app.get("/.well-known/jwks.json", None).await;
    let key = &jwks.body["keys"][0];
    let public = URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap();
    (EncodingKey::from_ed_der(der.as_bytes()), key["kid"].as_str().unwrap().to_owned(), public)
}

pub(crate) fn claims_for(user_id: &str, exp: i64) -> Value {
    json!({"iss": "plaza", "sub": user_id, "typ": "user", "jti": format!("{:024x}", rand::random::<u64>()), "iat": now_secs(), "exp": exp})
}

fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test]
async fn a_token_forged_with_the_real_key_works_only_while_live() {
    let app = spawn_app().await;
    let (_, user) = app.register("gina@example.com").await;
    let user_id = user["_id"].as_str().unwrap();
    let (key, kid, _) = server_key(&app).await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);

    // Control: the same construction with a future expiry is accepted, so the refusal
    // below is about expiry and nothing else.
    let live = jsonwebtoken::encode(&header, &claims_for(user_id, now_secs() + 600), &key).unwrap();
    assert_eq!(app.get("/api/users/me", Some(&jwt(&live))).await.status, StatusCode::OK);

    let expired =
        jsonwebtoken::encode(&header, &claims_for(user_id, now_secs() - 600), &key).unwrap();
    app.get("/api/users/me", Some(&jwt(&expired))).await.assert_error(401, "auth.invalid_token");

    let mut other_issuer = claims_for(user_id, now_secs() + 600);
    other_issuer["iss"] = json!("someone-else");
    let token = jsonwebtoken::encode(&header, &other_issuer, &key).unwrap();
    app.get("/api/users/me", Some(&jwt(&token))).await.assert_error(401, "auth.invalid_token");

    header.kid = Some("unknown-kid".to_owned());
    let token =
        jsonwebtoken::encode(&header, &claims_for(user_id, now_secs() + 600), &key).unwrap();
    app.get("/api/users/me", Some(&jwt(&token))).await.assert_error(401, "auth.invalid_token");
}

#[tokio::test]
async fn tampered_alg_none_and_hmac_with_the_public_key_are_refused() {
    let app = spawn_app().await;
    let (token, user) = app.register("hank@example.com").await;
    let (_, other) = app.register("ivy@example.com").await;
    let (_, kid, public) = server_key(&app).await;

    // Tampered: the payload now names another user; the signature is the original's.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims = claims_of(&token);
    claims["sub"] = other["_id"].clone();
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = parts.join(".");
    app.get("/api/users/me", Some(&jwt(&tampered))).await.assert_error(401, "auth.invalid_token");

    let live = claims_for(user["_id"].as_str().unwrap(), now_secs() + 600);
    for header in
        [json!({"alg": "none", "typ": "JWT"}), json!({"alg": "none", "typ": "JWT", "kid": kid})]
    {
        for signature in ["", "AAAA"] {
            let forged = unsigned(&header, &live, signature);
            app.get("/api/users/me", Some(&jwt(&forged)))
                .await
                .assert_error(401, "auth.invalid_token");
        }
    }

    // The classic confusion attack: HS256 keyed with the published public key, in each
    // form an attacker could find it (raw bytes, the base64url x, the JWKS text).
    let jwks_text = app.get("/.well-known/jwks.json", None).await.text;
    let x = URL_SAFE_NO_PAD.encode(&public);
    for secret in [public.clone(), x.into_bytes(), jwks_text.into_bytes()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        let forged =
            jsonwebtoken::encode(&header, &live, &EncodingKey::from_secret(&secret)).unwrap();
        app.get("/api/users/me", Some(&jwt(&forged))).await.assert_error(401, "auth.invalid_token");
    }

    for garbage in ["abc", "a.b.c", "", "jwt"] {
        let answer = app.get("/api/users/me", Some(&format!("jwt {garbage}"))).await;
        answer.assert_error(401, "auth.invalid_token");
    }
    let unknown_scheme = app.get("/api/users/me", Some(&format!("Basic {token}"))).await;
    unknown_scheme.assert_error(401, "auth.invalid_token");
    let missing = app.get("/api/users/me", None).await;
    missing.assert_error(401, "auth.required");
    assert!(missing.headers.get("www-authenticate").is_some());
}

#[tokio::test]
async fn a_user_jwt_is_not_a_service_app_token() {
    let app = spawn_app().await;
    let (token, _) = app.register("jack@example.com").await;
    app.get("/api/users/me", Some(&format!("service_app {token}")))
        .await
        .assert_error(401, "auth.invalid_token");
    app.get("/api/users/me", Some(&format!("bearer {token}")))
        .await
        .assert_error(401, "auth.invalid_token");
}

#[tokio::test]
async fn the_published_jwks_verifies_issued_tokens() {
    let app = spawn_app().await;
    let (token, user) = app.register("kate@example.com").await;
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, StatusCode::OK);
    let key = &jwks.body["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str(), key["alg"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let decoding = DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&["plaza"]);
    let verified = jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
    assert_eq!(verified.claims["sub"], user["_id"]);
}

#[tokio::test]
async fn the_signing_key_survives_a_restart() {
    let folder = tempfile::tempdir().unwrap();
    let data_dir = folder.path().to_path_buf();
    let first = crate::helpers::spawn_app_with(|s| s.server.data_dir = data_dir.clone()).await;
    let (token, _) = first.register("leo@example.com").await;
    first.stop().await.unwrap();
    let second = crate::helpers::spawn_app_with(|s| s.server.data_dir = data_dir.clone()).await;
    let me = second.get("/api/users/me", Some(&jwt(&token))).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
}

#[tokio::test]
async fn tokens_of_unknown_users_and_of_guests_past_their_day_are_refused() {
    let app = spawn_app().await;
    let (key, kid, _) = server_key(&app).await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);
    // Signed with the real key for a user that does not exist (or was deleted).
    let nobody = format!("{:024x}", rand::random::<u64>());
    let token =
        jsonwebtoken::encode(&header, &claims_for(&nobody, now_secs() + 600), &key).unwrap();
    app.get("/api/users/me", Some(&jwt(&token))).await.assert_error(401, "auth.invalid_token");

    // A guest's account lasts 24 hours whatever its token says: once its day is over
    // (set back in the database, rather than waiting), every token of it stops working.
    let guest = app.anonymous("Visitor").await;
    assert_eq!(app.get("/api/users/me", Some(&jwt(&guest))).await.status, StatusCode::OK);
    let guest_id = claims_of(&guest)["sub"].as_str().unwrap().to_owned();
    let url = format!("sqlite://{}", app.data_dir.join("plaza.db").display());
    let database = sqlx::SqlitePool::connect(&url).await.unwrap();
    let day_ago = (now_secs() - 86_400) * 1000;
    sqlx::query("UPDATE app_user SET expires_at = $1 WHERE user_id = $2")
        .bind(day_ago)
        .bind(&guest_id)
        .execute(&database)
        .await
        .unwrap();
    app.get("/api/users/me", Some(&jwt(&guest))).await.assert_error(401, "auth.invalid_token");
    let forged =
        jsonwebtoken::encode(&header, &claims_for(&guest_id, now_secs() + 600), &key).unwrap();
    app.get("/api/users/me", Some(&jwt(&forged))).await.assert_error(401, "auth.invalid_token");
}
