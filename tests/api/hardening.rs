//! What a security and fault campaign checks from outside: response headers,
//! bounded metrics, readiness, and input the backends must treat alike.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::catalog::{create_product, stock_of};
use crate::helpers::{assert_problem, body, spawn_app, PASSWORD};

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/health/live", "/api/v1/catalog/products", "/no/such/path"] {
        let response = app.get(path, None).await;
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    app.register("hdr@example.com").await;
    let login = app.login("hdr@example.com", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    assert_eq!(login.headers()["cache-control"], "no-store");
    let refresh_token = body(login).await["refresh_token"].as_str().expect("token").to_owned();
    let refreshed = app.post("/api/v1/auth/refresh", None, &json!({ "refresh_token": refresh_token })).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    assert_eq!(refreshed.headers()["cache-control"], "no-store");
    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status(), StatusCode::OK);
    assert_eq!(docs.headers()["x-frame-options"], "DENY");
    let csp = docs.headers()["content-security-policy"].to_str().expect("ascii");
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
}

#[tokio::test]
async fn invented_methods_add_no_metric_series() {
    let app = spawn_app().await;
    let long = "X".repeat(4000);
    for method in ["XMETH1", "XMETH2", "XMETH3", long.as_str()] {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        app.client.request(method, app.url("/health/live")).send().await.expect("request");
    }
    let text = app.get("/metrics", None).await.text().await.expect("text");
    assert!(!text.contains("XMETH") && !text.contains(&long[..100]), "client-chosen label values leaked");
    assert!(text.contains(r#"http_requests_total{method="other",route="/health/live""#), "{text}");
}

#[tokio::test]
async fn readiness_reports_its_remote_dependencies() {
    let app = spawn_app().await;
    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.status(), StatusCode::OK);
    let ready = body(ready).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["dependencies"], json!({}), "the monolith calls no other process");
}

#[tokio::test]
async fn a_product_priced_zero_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin("zero@example.com").await;
    let refused = app
        .post(
            "/api/v1/catalog/products",
            Some(&admin.access),
            &json!({"sku": "FREE", "name": "Free", "price_cents": 0}),
        )
        .await;
    let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "price_cents");
    let product = create_product(&app, &admin, "CHEAP", 1, 5).await;
    let path = format!("/api/v1/catalog/products/{}", product["id"].as_str().expect("id"));
    let patched = app.send_json(Method::PATCH, &path, Some(&admin.access), &json!({"price_cents": 0})).await;
    assert_problem(patched, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body(app.get(&path, None).await).await["price_cents"], 1);
}

#[tokio::test]
async fn merged_lines_over_the_limit_name_items_and_reserve_nothing() {
    let app = spawn_app().await;
    let admin = app.admin("merge-admin@example.com").await;
    let customer = app.customer("merge@example.com").await;
    let product = create_product(&app, &admin, "BULK", 100, 20_000).await;
    let id = product["id"].as_str().expect("id");
    let line = json!({"product_id": id, "quantity": 6000});
    let refused = app.post("/api/v1/orders", Some(&customer.access), &json!({"items": [line, line]})).await;
    let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "items", "{problem}");
    assert_eq!(stock_of(&app, id).await, 20_000);
}

#[tokio::test]
async fn control_characters_are_refused_in_text_fields() {
    let app = spawn_app().await;
    let admin = app.admin("ctl@example.com").await;
    for (field, payload) in [
        ("name", json!({"sku": "NUL", "name": "a\u{0}b", "price_cents": 1})),
        ("name", json!({"sku": "BIDI", "name": "abc\u{202E}gpj.exe", "price_cents": 1})),
        (
            "description",
            json!({"sku": "DESC", "name": "Desc", "description": "x\u{2066}y", "price_cents": 1}),
        ),
    ] {
        let refused = app.post("/api/v1/catalog/products", Some(&admin.access), &payload).await;
        let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let multiline =
        json!({"sku": "LINES", "name": "Lines", "description": "one\ntwo\tthree", "price_cents": 1});
    let accepted = app.post("/api/v1/catalog/products", Some(&admin.access), &multiline).await;
    assert_eq!(accepted.status(), StatusCode::CREATED, "line breaks are fine in a description");
    for query in ["q=%00", "q=a%E2%80%AEb"] {
        let refused = app.get(&format!("/api/v1/catalog/products?{query}"), None).await;
        assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let register = json!({"email": "nul@example.com", "password": PASSWORD, "name": "N\u{0}"});
    let refused = app.post("/api/v1/auth/register", None, &register).await;
    assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body(app.get("/api/v1/catalog/products", None).await).await["total"], 1);
}

#[tokio::test]
async fn skus_and_emails_compare_case_insensitively() {
    let app = spawn_app().await;
    let admin = app.admin("case@example.com").await;
    create_product(&app, &admin, "MUG-1", 100, 1).await;
    let again = app
        .post(
            "/api/v1/catalog/products",
            Some(&admin.access),
            &json!({"sku": "mug-1", "name": "Mug", "price_cents": 1}),
        )
        .await;
    assert_problem(again, StatusCode::CONFLICT, "duplicate_sku").await;
    assert_eq!(app.register("Case.Sensitive@Example.com").await.status(), StatusCode::CREATED);
    assert_problem(app.register("case.sensitive@example.COM").await, StatusCode::CONFLICT, "email_taken")
        .await;
    assert_eq!(app.login("CASE.SENSITIVE@example.com", PASSWORD).await.status(), StatusCode::OK);
}

#[cfg(unix)]
#[tokio::test]
async fn sqlite_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let app = spawn_app().await;
    let url = app.settings.database_url("auth");
    // On the MySQL run the databases are not files: nothing to check.
    let Some(path) = url.strip_prefix("sqlite://") else { return };
    let mode = std::fs::metadata(path).expect("auth.db").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{path} holds password hashes");
}
