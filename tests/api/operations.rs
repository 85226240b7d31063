//! Health, metrics, request ids, docs, errors produced by the framework, and
//! the internal API's guard.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_problem, body, spawn_app, spawn_app_with, INTERNAL_TOKEN};

#[tokio::test]
async fn health_endpoints_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health/live", None).await.status(), StatusCode::OK);
    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(body(ready).await["status"], "ready");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn_app().await;
    let given = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .expect("request");
    assert_eq!(given.headers()["x-request-id"], "trace-abc-123");
    let generated = app.get("/health/live", None).await;
    let id = generated.headers()["x-request-id"].to_str().expect("ascii").to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let unsafe_id = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "has spaces<script>")
        .send()
        .await
        .expect("request");
    assert_ne!(unsafe_id.headers()["x-request-id"], "has spaces<script>");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = spawn_app().await;
    let user = app.customer("metrics@example.com").await;
    app.get("/api/v1/users/me", Some(&user.access)).await;
    app.get(&format!("/api/v1/users/me/addresses/{}", uuid::Uuid::now_v7()), Some(&user.access)).await;
    let text = app.get("/metrics", None).await.text().await.expect("text");
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/v1/users/me",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="/api/v1/users/me/addresses/{id}",status="404""#), "{text}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains(r#"db_pool_connections{module="users",state="open"}"#), "{text}");
}

#[tokio::test]
async fn framework_errors_are_problems_too() {
    let app = spawn_app().await;
    assert_problem(app.get("/no/such/route", None).await, StatusCode::NOT_FOUND, "not_found").await;
    let wrong_method = app.client.delete(app.url("/api/v1/auth/login")).send().await.expect("request");
    assert_problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let malformed = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .expect("request");
    assert_problem(malformed, StatusCode::BAD_REQUEST, "malformed_request").await;
    let huge = json!({"email": "big@example.com", "password": "x".repeat(300 * 1024), "name": "Big"});
    assert_problem(
        app.post("/api/v1/auth/register", None, &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    let not_json = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("email=a")
        .send()
        .await
        .expect("request");
    assert_problem(not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
}

#[tokio::test]
async fn the_internal_api_needs_the_internal_credential() {
    let app = spawn_app().await;
    let user = app.customer("internal@example.com").await;
    let path = app.url(&format!("/internal/v1/users/users/{}", user.id));
    let anonymous = app.client.get(&path).send().await.expect("request");
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let with_user_token = app.client.get(&path).bearer_auth(&user.access).send().await.expect("request");
    assert_problem(with_user_token, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let wrong = app.client.get(&path).header("x-internal-token", "guess").send().await.expect("request");
    assert_problem(wrong, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let ok = app.client.get(&path).header("x-internal-token", INTERNAL_TOKEN).send().await.expect("request");
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(body(ok).await["email"], "internal@example.com");
}

#[tokio::test]
async fn swagger_ui_and_the_document_are_served_offline() {
    let app = spawn_app().await;
    let redirect = app.get("/docs", None).await;
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers()["location"], "/docs/");
    let page = app.get("/docs/", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.expect("html").contains("swagger-ui"));
    let init = app.get("/docs/swagger-initializer.js", None).await.text().await.expect("js");
    assert!(init.contains("/api-docs/openapi.json"), "{init}");
    let doc = body(app.get("/api-docs/openapi.json", None).await).await;
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/users/me", "/api/v1/users/{id}"] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
}

#[cfg(all(feature = "catalog", feature = "payments", feature = "orders"))]
#[test]
fn every_contract_route_is_documented_with_its_errors() {
    let doc = serde_json::to_value(kernel::server::openapi(&shop::app::hosted_info())).expect("json");
    let routes = [
        ("post", "/api/v1/auth/register"),
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/refresh"),
        ("post", "/api/v1/auth/logout"),
        ("get", "/api/v1/auth/jwks"),
        ("get", "/api/v1/users/me"),
        ("patch", "/api/v1/users/me"),
        ("get", "/api/v1/users/me/addresses"),
        ("post", "/api/v1/users/me/addresses"),
        ("get", "/api/v1/users/me/addresses/{id}"),
        ("put", "/api/v1/users/me/addresses/{id}"),
        ("delete", "/api/v1/users/me/addresses/{id}"),
        ("get", "/api/v1/users"),
        ("patch", "/api/v1/users/{id}"),
        ("get", "/api/v1/catalog/products"),
        ("get", "/api/v1/catalog/products/{id}"),
        ("post", "/api/v1/catalog/products"),
        ("patch", "/api/v1/catalog/products/{id}"),
        ("delete", "/api/v1/catalog/products/{id}"),
        ("put", "/api/v1/catalog/products/{id}/stock"),
        ("get", "/api/v1/catalog/categories"),
        ("post", "/api/v1/catalog/categories"),
        ("post", "/api/v1/orders"),
        ("get", "/api/v1/orders"),
        ("get", "/api/v1/orders/{id}"),
        ("post", "/api/v1/orders/{id}/pay"),
        ("post", "/api/v1/orders/{id}/cancel"),
        ("get", "/api/v1/payments"),
        ("get", "/api/v1/payments/{id}"),
    ];
    for (method, path) in routes {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is documented");
        let responses = operation["responses"].as_object().expect("responses");
        assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path} documents its success");
        if operation["requestBody"].is_object() {
            for status in ["400", "413", "415"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} takes a body: it documents {status}"
                );
            }
        }
        for (status, response) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
            // A shared response is a reference into components.responses.
            let response = match response["$ref"].as_str() {
                Some(reference) => {
                    let name = reference.rsplit('/').next().expect("name");
                    &doc["components"]["responses"][name]
                }
                None => response,
            };
            assert!(
                response["content"]["application/problem+json"].is_object(),
                "{method} {path} {status} is documented as problem+json"
            );
        }
    }
    let secured = ["/api/v1/users/me", "/api/v1/orders", "/api/v1/payments"];
    for path in secured {
        assert!(doc["paths"][path]["get"]["security"].is_array(), "{path} needs a bearer token");
    }
}

#[test]
fn the_openapi_document_is_stable() {
    let doc = kernel::server::openapi(&shop::app::hosted_info());
    insta::assert_json_snapshot!("openapi", doc, { ".info.version" => "[version]" });
}

#[tokio::test]
async fn the_previous_internal_credential_is_accepted_while_it_is_rotated_out() {
    let app = spawn_app_with(|s| s.internal.previous_token = Some("the-old-token".to_owned().into())).await;
    let user = app.customer("rotating@example.com").await;
    let path = app.url(&format!("/internal/v1/users/users/{}", user.id));
    for token in [INTERNAL_TOKEN, "the-old-token"] {
        let answer = app.client.get(&path).header("x-internal-token", token).send().await.expect("request");
        assert_eq!(answer.status(), StatusCode::OK, "{token}");
    }
    let other =
        app.client.get(&path).header("x-internal-token", "the-older-token").send().await.expect("request");
    assert_problem(other, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
