use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, body, spawn_app, PASSWORD};

fn address() -> Value {
    json!({"line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "fr"})
}

#[tokio::test]
async fn the_profile_is_the_callers_own_and_role_cannot_be_patched() {
    let app = spawn_app().await;
    let user = app.customer("me@example.com").await;
    let me = body(app.get("/api/v1/users/me", Some(&user.access)).await).await;
    assert_eq!(me["id"], user.id.as_str());
    assert_eq!(me["email"], "me@example.com");
    assert_eq!(me["role"], "customer");
    assert!(chrono::DateTime::parse_from_rfc3339(me["created_at"].as_str().expect("created_at")).is_ok());

    let patched = app
        .send_json(
            Method::PATCH,
            "/api/v1/users/me",
            Some(&user.access),
            &json!({"name": "  New Name ", "role": "admin"}),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let patched = body(patched).await;
    assert_eq!(patched["name"], "New Name");
    assert_eq!(patched["role"], "customer");

    // A fresh login still carries the customer role.
    let tokens = body(app.login("me@example.com", PASSWORD).await).await;
    let me = body(app.get("/api/v1/users/me", tokens["access_token"].as_str()).await).await;
    assert_eq!(me["role"], "customer");
    assert_eq!(me["name"], "New Name");
}

#[tokio::test]
async fn an_empty_name_is_422_and_changes_nothing() {
    let app = spawn_app().await;
    let user = app.customer("nn@example.com").await;
    assert_problem(
        app.send_json(Method::PATCH, "/api/v1/users/me", Some(&user.access), &json!({"name": "   "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let me = body(app.get("/api/v1/users/me", Some(&user.access)).await).await;
    assert_eq!(me["name"], "Test User");
}

#[tokio::test]
async fn addresses_round_trip_for_their_owner() {
    let app = spawn_app().await;
    let user = app.customer("addr@example.com").await;
    let created = app.post("/api/v1/users/me/addresses", Some(&user.access), &address()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = body(created).await;
    assert_eq!(created["country"], "FR");
    assert_eq!(created["line2"], Value::Null);
    let id = created["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/users/me/addresses/{id}");

    let list = body(app.get("/api/v1/users/me/addresses", Some(&user.access)).await).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["page"], 1);
    assert_eq!(list["items"][0], created);

    let mut changed = address();
    changed["line2"] = json!("Apt 4");
    changed["city"] = json!("Lyon");
    let updated = app.send_json(Method::PUT, &path, Some(&user.access), &changed).await;
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(body(app.get(&path, Some(&user.access)).await).await["city"], "Lyon");

    let deleted = app.client.delete(app.url(&path)).bearer_auth(&user.access).send().await.expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get(&path, Some(&user.access)).await, StatusCode::NOT_FOUND, "address_not_found")
        .await;
    assert_eq!(body(app.get("/api/v1/users/me/addresses", Some(&user.access)).await).await["total"], 0);
}

#[tokio::test]
async fn invalid_addresses_are_422_per_field_and_not_stored() {
    let app = spawn_app().await;
    let user = app.customer("bad-addr@example.com").await;
    let problem = assert_problem(
        app.post(
            "/api/v1/users/me/addresses",
            Some(&user.access),
            &json!({"line1": "", "city": "Paris", "postal_code": "75001", "country": "XX"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<_> =
        problem["errors"].as_array().expect("errors").iter().map(|e| e["field"].clone()).collect();
    assert!(fields.contains(&json!("line1")) && fields.contains(&json!("country")), "{problem}");
    assert_eq!(body(app.get("/api/v1/users/me/addresses", Some(&user.access)).await).await["total"], 0);
}

#[tokio::test]
async fn another_users_address_is_404_for_every_method() {
    let app = spawn_app().await;
    let owner = app.customer("owner@example.com").await;
    let other = app.customer("other@example.com").await;
    let id = body(app.post("/api/v1/users/me/addresses", Some(&owner.access), &address()).await).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/api/v1/users/me/addresses/{id}");
    assert_problem(app.get(&path, Some(&other.access)).await, StatusCode::NOT_FOUND, "address_not_found")
        .await;
    assert_problem(
        app.send_json(Method::PUT, &path, Some(&other.access), &address()).await,
        StatusCode::NOT_FOUND,
        "address_not_found",
    )
    .await;
    let deleted = app.client.delete(app.url(&path)).bearer_auth(&other.access).send().await.expect("delete");
    assert_problem(deleted, StatusCode::NOT_FOUND, "address_not_found").await;
    // Still there for its owner.
    assert_eq!(app.get(&path, Some(&owner.access)).await.status(), StatusCode::OK);
    // A path id that is not a UUID names nothing.
    assert_eq!(
        app.get("/api/v1/users/me/addresses/not-a-uuid", Some(&owner.access)).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn only_admins_list_users_with_pagination() {
    let app = spawn_app().await;
    let admin = app.admin("boss@example.com").await;
    let customer = app.customer("c1@example.com").await;
    app.customer("c2@example.com").await;

    assert_problem(
        app.get("/api/v1/users", Some(&customer.access)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(app.get("/api/v1/users", None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let page = body(app.get("/api/v1/users?page=1&per_page=2", Some(&admin.access)).await).await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["per_page"], 2);
    assert_eq!(page["items"].as_array().expect("items").len(), 2);
    let second = body(app.get("/api/v1/users?page=2&per_page=2", Some(&admin.access)).await).await;
    assert_eq!(second["items"].as_array().expect("items").len(), 1);
    assert_ne!(page["items"][0]["id"], second["items"][0]["id"]);

    for query in ["per_page=1000", "per_page=0", "page=0", "page=abc"] {
        assert_problem(
            app.get(&format!("/api/v1/users?{query}"), Some(&admin.access)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
}

#[tokio::test]
async fn an_admin_promotes_and_the_next_token_carries_the_role() {
    let app = spawn_app().await;
    let admin = app.admin("chief@example.com").await;
    let user = app.customer("rising@example.com").await;
    let promoted = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/users/{}", user.id),
            Some(&admin.access),
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(promoted.status(), StatusCode::OK);
    assert_eq!(body(promoted).await["role"], "admin");
    let tokens = body(app.login("rising@example.com", PASSWORD).await).await;
    assert_eq!(app.get("/api/v1/users", tokens["access_token"].as_str()).await.status(), StatusCode::OK);

    assert_problem(
        app.send_json(
            Method::PATCH,
            &format!("/api/v1/users/{}", user.id),
            Some(&admin.access),
            &json!({"role": "owner"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.send_json(
            Method::PATCH,
            &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
            Some(&admin.access),
            &json!({"disabled": true}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    )
    .await;
    assert_problem(
        app.send_json(
            Method::PATCH,
            &format!("/api/v1/users/{}", admin.id),
            Some(&admin.access),
            &json!({"disabled": true}),
        )
        .await,
        StatusCode::CONFLICT,
        "self_lockout",
    )
    .await;
    assert_problem(
        app.send_json(
            Method::PATCH,
            &format!("/api/v1/users/{}", user.id),
            Some(&user.access),
            &json!({"disabled": true}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

/// Disabling or demoting takes effect on tokens already issued, once every
/// process has polled the change (a job every 10 s; run here on demand).
#[tokio::test]
async fn disabled_and_demoted_accounts_lose_their_tokens_powers() {
    let app = spawn_app().await;
    let admin = app.admin("root@example.com").await;
    let customer = app.customer("leaving@example.com").await;
    let deputy = app.admin("deputy@example.com").await;
    assert_eq!(app.get("/api/v1/users", Some(&deputy.access)).await.status(), StatusCode::OK);

    for (user, change) in [(&customer, json!({"disabled": true})), (&deputy, json!({"role": "customer"}))] {
        let path = format!("/api/v1/users/{}", user.id);
        let patched = app.send_json(Method::PATCH, &path, Some(&admin.access), &change).await;
        assert_eq!(patched.status(), StatusCode::OK);
    }
    app.run_jobs().await;

    let me = app.get("/api/v1/users/me", Some(&customer.access)).await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let admin_route = app.get("/api/v1/users", Some(&deputy.access)).await;
    assert_problem(admin_route, StatusCode::FORBIDDEN, "forbidden").await;
    let own_profile = app.get("/api/v1/users/me", Some(&deputy.access)).await;
    assert_eq!(own_profile.status(), StatusCode::OK, "a demoted admin is still a customer");
    assert_eq!(app.get("/api/v1/users", Some(&admin.access)).await.status(), StatusCode::OK);
}
