//! Access-token attacks against an authenticated endpoint: each must be 401.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp};

fn claims(sub: &str, role: &str, exp_offset: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": sub, "role": role, "iss": "shop", "aud": "shop", "iat": now, "exp": now + exp_offset, "jti": "t"})
}

fn sign(pem: &[u8], kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, &EncodingKey::from_ed_pem(pem).expect("pem")).expect("sign")
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).expect("header").kid.expect("kid")
}

async fn assert_rejected(app: &TestApp, token: &str) {
    assert_problem(app.get("/api/v1/users/me", Some(token)).await, StatusCode::UNAUTHORIZED, "unauthorized")
        .await;
}

#[tokio::test]
async fn a_token_signed_with_the_real_key_is_accepted() {
    let app = spawn_app().await;
    let user = app.customer("t0@example.com").await;
    let pem = std::fs::read(app.key_file()).expect("key file");
    let token = sign(&pem, &kid(&user.access), &claims(&user.id, "customer", 300));
    assert_eq!(app.get("/api/v1/users/me", Some(&token)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn missing_or_malformed_tokens_are_401() {
    let app = spawn_app().await;
    assert_problem(app.get("/api/v1/users/me", None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_rejected(&app, "not-a-jwt").await;
    let basic = app
        .client
        .get(app.url("/api/v1/users/me"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .expect("request");
    assert_problem(basic, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let app = spawn_app().await;
    let user = app.customer("t1@example.com").await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(&user.id, "admin", 300).to_string());
    assert_rejected(&app, &format!("{header}.{payload}.")).await;
}

#[tokio::test]
async fn a_tampered_payload_is_rejected() {
    let app = spawn_app().await;
    let user = app.customer("t2@example.com").await;
    let parts: Vec<&str> = user.access.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(claims(&user.id, "admin", 300).to_string());
    assert_rejected(&app, &format!("{}.{forged}.{}", parts[0], parts[2])).await;
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let app = spawn_app().await;
    let user = app.customer("t3@example.com").await;
    let pem = std::fs::read(app.key_file()).expect("key file");
    let token = sign(&pem, &kid(&user.access), &claims(&user.id, "customer", -120));
    let problem = assert_problem(
        app.get("/api/v1/users/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert!(problem["detail"].as_str().expect("detail").contains("expired"));
}

#[tokio::test]
async fn a_token_from_another_key_is_rejected_even_with_the_right_kid() {
    let app = spawn_app().await;
    let user = app.customer("t4@example.com").await;
    let other = auth::generate_pem().expect("key");
    let token = sign(other.as_bytes(), &kid(&user.access), &claims(&user.id, "admin", 300));
    assert_rejected(&app, &token).await;
    let unknown_kid = sign(other.as_bytes(), "someone-elses-key", &claims(&user.id, "admin", 300));
    assert_rejected(&app, &unknown_kid).await;
}

#[tokio::test]
async fn wrong_audience_or_issuer_is_rejected() {
    let app = spawn_app().await;
    let user = app.customer("t5@example.com").await;
    let pem = std::fs::read(app.key_file()).expect("key file");
    let kid = kid(&user.access);
    let mut wrong_aud = claims(&user.id, "customer", 300);
    wrong_aud["aud"] = json!("another-service");
    assert_rejected(&app, &sign(&pem, &kid, &wrong_aud)).await;
    let mut wrong_iss = claims(&user.id, "customer", 300);
    wrong_iss["iss"] = json!("evil");
    assert_rejected(&app, &sign(&pem, &kid, &wrong_iss)).await;
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_rejected() {
    let app = spawn_app().await;
    let user = app.customer("t6@example.com").await;
    let jwks = crate::helpers::body(app.get("/api/v1/auth/jwks", None).await).await;
    let public = jwks["keys"][0]["x"].as_str().expect("x").to_owned();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid(&user.access));
    let token =
        encode(&header, &claims(&user.id, "admin", 300), &EncodingKey::from_secret(public.as_bytes()))
            .expect("sign");
    assert_rejected(&app, &token).await;
}

#[tokio::test]
async fn a_token_not_yet_valid_or_issued_in_the_future_is_rejected() {
    let app = spawn_app().await;
    let user = app.customer("t9@example.com").await;
    let pem = std::fs::read(app.key_file()).expect("key file");
    let now = chrono::Utc::now().timestamp();
    let mut not_yet = claims(&user.id, "customer", 3600);
    not_yet["nbf"] = json!(now + 600);
    assert_rejected(&app, &sign(&pem, &kid(&user.access), &not_yet)).await;
    let mut from_the_future = claims(&user.id, "customer", 3600 * 24 * 365);
    from_the_future["iat"] = json!(now + 3600 * 24 * 300);
    assert_rejected(&app, &sign(&pem, &kid(&user.access), &from_the_future)).await;
}

#[tokio::test]
async fn tokens_signed_with_a_key_rotated_out_keep_verifying() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old_key = dir.path().join("old.pem");
    std::fs::write(&old_key, auth::generate_pem().expect("key")).expect("write");
    let old_path = old_key.display().to_string();
    let app =
        crate::helpers::spawn_app_with(|s| s.set("auth.previous_key_files", old_path).expect("set")).await;
    let user = app.customer("rotated@example.com").await;
    let jwks: Value = app.get("/api/v1/auth/jwks", None).await.json().await.expect("jwks");
    let kids: Vec<&str> =
        jwks["keys"].as_array().expect("keys").iter().filter_map(|k| k["kid"].as_str()).collect();
    assert_eq!(kids.len(), 2, "the current key and the one rotated out: {jwks}");
    let old_kid = kids.iter().find(|k| **k != kid(&user.access)).expect("old kid");
    let pem = std::fs::read(&old_key).expect("old key");
    let token = sign(&pem, old_kid, &claims(&user.id, "customer", 300));
    assert_eq!(app.get("/api/v1/users/me", Some(&token)).await.status(), StatusCode::OK);
    let fresh = body_access(&app).await;
    assert_eq!(kid(&fresh), kid(&user.access), "new tokens are signed with the current key only");
}

async fn body_access(app: &TestApp) -> String {
    let login: Value =
        app.login("rotated@example.com", crate::helpers::PASSWORD).await.json().await.expect("login");
    login["access_token"].as_str().expect("token").to_owned()
}
