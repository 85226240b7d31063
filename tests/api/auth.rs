use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_problem, body, spawn_app, spawn_app_with, TestApp, PASSWORD};

#[tokio::test]
async fn register_creates_a_customer_and_ignores_a_requested_role() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "  Ada@Example.COM ", "password": PASSWORD, "name": "Ada", "role": "admin", "id": "x"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let user = body(response).await;
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["name"], "Ada");
    assert_eq!(user["role"], "customer");
    assert!(uuid::Uuid::parse_str(user["id"].as_str().expect("id")).is_ok());

    let tokens = body(app.login("ada@example.com", PASSWORD).await).await;
    let me = body(app.get("/api/v1/users/me", tokens["access_token"].as_str()).await).await;
    assert_eq!(me["role"], "customer");
    assert_eq!(me["id"], user["id"]);
}

#[tokio::test]
async fn a_taken_email_is_409_whatever_its_case() {
    let app = spawn_app().await;
    assert_eq!(app.register("bob@example.com").await.status(), StatusCode::CREATED);
    assert_problem(app.register("BOB@example.com").await, StatusCode::CONFLICT, "email_taken").await;
}

#[tokio::test]
async fn bad_registrations_are_422_with_the_field_and_create_nothing() {
    let app = spawn_app().await;
    for (payload, field) in [
        (json!({"email": "weak@example.com", "password": "short", "name": "W"}), "password"),
        (json!({"email": "not-an-email", "password": PASSWORD, "name": "W"}), "email"),
        (json!({"email": "noname@example.com", "password": PASSWORD, "name": "  "}), "name"),
        (json!({"email": "missing@example.com", "name": "W"}), "password"),
        (json!({"email": 42, "password": PASSWORD, "name": "W"}), "body"),
    ] {
        let problem = assert_problem(
            app.post("/api/v1/auth/register", None, &payload).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        let fields: Vec<_> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().expect("field").to_owned())
            .collect();
        assert!(fields.contains(&field.to_owned()), "{payload} → {problem}");
    }
    // Nothing was half-created: the weak-password email is still free.
    assert_eq!(app.register("weak@example.com").await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn login_answers_a_bearer_pair() {
    let app = spawn_app().await;
    app.register("cy@example.com").await;
    let response = app.login("CY@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens = body(response).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert!(tokens["refresh_token"].as_str().expect("refresh").len() >= 32);
    let header = jsonwebtoken::decode_header(tokens["access_token"].as_str().expect("access")).expect("jwt");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let jwks = body(app.get("/api/v1/auth/jwks", None).await).await;
    assert_eq!(jwks["keys"][0]["kid"].as_str(), header.kid.as_deref());
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(jwks["keys"][0].get("d").is_none(), "the private key is never published");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    app.register("dee@example.com").await;
    let wrong = assert_problem(
        app.login("dee@example.com", "wrong password!").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let unknown = assert_problem(
        app.login("nobody@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_with_retry_after() {
    let app = spawn_app_with(|s| s.set("auth.max_failed_logins_per_account", 3).expect("set")).await;
    app.register("eve@example.com").await;
    for _ in 0..3 {
        assert_eq!(app.login("eve@example.com", "wrong password!").await.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = app.login("eve@example.com", PASSWORD).await;
    let retry_after: u64 = locked
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!(retry_after > 0 && retry_after <= 900);
    assert_problem(locked, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    // Another account from the same client is not locked by this one.
    app.register("fay@example.com").await;
    assert_eq!(app.login("fay@example.com", PASSWORD).await.status(), StatusCode::OK);
}

/// A login from `client` (behind a gateway that sets `X-Forwarded-For`).
async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", client)
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login")
}

fn retry_after_secs(response: &reqwest::Response) -> u64 {
    let header = response.headers().get("retry-after").expect("Retry-After");
    header.to_str().ok().and_then(|v| v.parse().ok()).expect("Retry-After in seconds")
}

#[tokio::test]
async fn a_guessing_client_never_locks_out_the_owner() {
    let app = spawn_app_with(|s| s.set("auth.trust_forwarded_for", true).expect("set")).await;
    app.register("ivy@example.com").await;
    for _ in 0..5 {
        let guess = login_from(&app, "203.0.113.9", "ivy@example.com", "wrong password!").await;
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = login_from(&app, "203.0.113.9", "ivy@example.com", PASSWORD).await;
    assert!(locked.headers().contains_key("retry-after"));
    assert_problem(locked, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    let owner = login_from(&app, "198.51.100.7", "ivy@example.com", PASSWORD).await;
    assert_eq!(owner.status(), StatusCode::OK, "the owner's client has not failed");
}

#[tokio::test]
async fn failures_from_many_clients_only_slow_the_account_down() {
    let app = spawn_app_with(|s| {
        s.set("auth.trust_forwarded_for", true).expect("set");
        s.set("auth.max_failed_logins_per_account", 2).expect("set");
    })
    .await;
    app.register("jo@example.com").await;
    for i in 0..8 {
        login_from(&app, &format!("203.0.113.{i}"), "jo@example.com", "wrong password!").await;
    }
    let slowed = login_from(&app, "198.51.100.7", "jo@example.com", PASSWORD).await;
    let retry_after = retry_after_secs(&slowed);
    assert!((1..=60).contains(&retry_after), "an account-wide wait is at most 60 s: {retry_after}");
    assert_problem(slowed, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
}

#[tokio::test]
async fn registrations_are_throttled_per_client() {
    let app = spawn_app_with(|s| s.set("auth.max_registrations_per_client", 3).expect("set")).await;
    for i in 0..3 {
        assert_eq!(app.register(&format!("r{i}@example.com")).await.status(), StatusCode::CREATED);
    }
    let refused = app.register("r3@example.com").await;
    let retry_after = retry_after_secs(&refused);
    assert!((1..=600).contains(&retry_after));
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert_eq!(
        app.login("r3@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "the refused registration created no account"
    );
}

#[tokio::test]
async fn a_client_spraying_accounts_is_throttled() {
    let app = spawn_app_with(|s| s.set("auth.max_failed_logins_per_client", 4).expect("set")).await;
    for i in 0..4 {
        app.login(&format!("ghost{i}@example.com"), PASSWORD).await;
    }
    assert_problem(
        app.login("ghost9@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
    )
    .await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let user = app.customer("gus@example.com").await;

    let first = app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": user.refresh})).await;
    assert_eq!(first.status(), StatusCode::OK);
    let rotated = body(first).await;
    let new_refresh = rotated["refresh_token"].as_str().expect("refresh").to_owned();
    assert_ne!(new_refresh, user.refresh);
    let me = app.get("/api/v1/users/me", rotated["access_token"].as_str()).await;
    assert_eq!(me.status(), StatusCode::OK);

    // The spent token no longer works, and its reuse revokes the new one too.
    assert_problem(
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": user.refresh})).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    assert_problem(
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": new_refresh})).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;

    // Another login is a separate family and still works.
    let again = body(app.login("gus@example.com", PASSWORD).await).await;
    let ok = app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": again["refresh_token"]})).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let user = app.customer("hal@example.com").await;
    let out = app.post("/api/v1/auth/logout", None, &json!({"refresh_token": user.refresh})).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": user.refresh})).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    // Logging out twice, or with an unknown token, is still 204.
    let again = app.post("/api/v1/auth/logout", None, &json!({"refresh_token": "nonsense"})).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_or_refresh() {
    let app = spawn_app().await;
    let admin = app.admin("root@example.com").await;
    let user = app.customer("ivy@example.com").await;
    let disabled = app
        .send_json(
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{}", user.id),
            Some(&admin.access),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::OK);
    assert_eq!(body(disabled).await["disabled"], true);

    assert_problem(app.login("ivy@example.com", PASSWORD).await, StatusCode::FORBIDDEN, "account_disabled")
        .await;
    assert_problem(
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": user.refresh})).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    )
    .await;
    // A wrong password on a disabled account says nothing about the account.
    assert_problem(
        app.login("ivy@example.com", "wrong password!").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

/// Simulates a registration that crashed between its two writes: a credential
/// without a profile, `age_minutes` old.
async fn orphan_credential(app: &crate::helpers::TestApp, email: &str, age_minutes: i64) {
    use diesel::sql_types::{Text, Timestamp};
    use diesel::RunQueryDsl;
    let url = app.settings.database_url("auth");
    let db = kernel::db::Database::connect("auth", &url, &app.settings.database).expect("auth db");
    let email = email.to_owned();
    db.run(move |c| {
        let at = (chrono::Utc::now() - chrono::Duration::minutes(age_minutes)).naive_utc();
        diesel::sql_query(
            "INSERT INTO credentials (user_id, email, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind::<Text, _>(uuid::Uuid::now_v7().to_string())
        .bind::<Text, _>(email)
        .bind::<Text, _>("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
        .bind::<Timestamp, _>(at)
        .bind::<Timestamp, _>(at)
        .execute(c)
        .map_err(kernel::db::DbError::from)
    })
    .await
    .expect("insert the orphan credential");
}

#[tokio::test]
async fn an_abandoned_registration_does_not_block_the_email_forever() {
    let app = spawn_app().await;
    orphan_credential(&app, "crashed@example.com", 10).await;
    assert_problem(
        app.login("crashed@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(app.register("crashed@example.com").await.status(), StatusCode::CREATED);
    assert_eq!(app.login("crashed@example.com", PASSWORD).await.status(), StatusCode::OK);

    // One still in flight (just written) is respected.
    orphan_credential(&app, "inflight@example.com", 0).await;
    assert_problem(app.register("inflight@example.com").await, StatusCode::CONFLICT, "email_taken").await;
}
