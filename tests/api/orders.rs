//! The orders contract over HTTP, on the monolith.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::catalog::{create_product, stock_in, stock_of};
use crate::helpers::{assert_problem, body, spawn_app, spawn_app_with, TestApp, User};

async fn order(app: &TestApp, user: &User, items: Value) -> reqwest::Response {
    app.post("/api/v1/orders", Some(&user.access), &json!({ "items": items })).await
}

async fn pay(app: &TestApp, user: &User, order_id: &str, token: &str) -> reqwest::Response {
    app.post(
        &format!("/api/v1/orders/{order_id}/pay"),
        Some(&user.access),
        &json!({ "payment_token": token }),
    )
    .await
}

async fn cancel(app: &TestApp, user: &User, order_id: &str) -> reqwest::Response {
    app.post(&format!("/api/v1/orders/{order_id}/cancel"), Some(&user.access), &json!({})).await
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn order_pay_and_refund_end_to_end() {
    let app = spawn_app().await;
    let admin = app.admin("ord-admin@example.com").await;
    let customer = app.customer("ord-customer@example.com").await;
    let product = create_product(&app, &admin, "MUG", 1299, 5).await;
    let address = body(
        app.post(
            "/api/v1/users/me/addresses",
            Some(&customer.access),
            &json!({"line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}),
        )
        .await,
    )
    .await;

    // Prices, names and owner come from the server, whatever the client sends.
    let created = app
        .post(
            "/api/v1/orders",
            Some(&customer.access),
            &json!({
                "items": [{"product_id": id(&product), "quantity": 2, "unit_price_cents": 1, "name": "free"}],
                "shipping_address_id": id(&address),
                "user_id": admin.id, "total_cents": 1, "status": "paid"
            }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let placed = body(created).await;
    assert_eq!(placed["status"], "pending_payment");
    assert_eq!(placed["user_id"], customer.id.as_str());
    assert_eq!(placed["total_cents"], 2598);
    assert_eq!(placed["currency"], "EUR");
    assert_eq!(
        placed["items"],
        json!([{"product_id": id(&product), "name": "Product MUG", "unit_price_cents": 1299, "quantity": 2, "line_total_cents": 2598}])
    );
    assert_eq!(placed["shipping_address"]["city"], "Berlin");
    assert_eq!(stock_of(&app, &id(&product)).await, 3);
    let order_id = id(&placed);

    let paid = pay(&app, &customer, &order_id, "tok_visa").await;
    assert_eq!(paid.status(), StatusCode::OK);
    let paid = body(paid).await;
    assert_eq!(paid["status"], "paid");
    let payment_id = paid["payment_id"].as_str().expect("payment id").to_owned();
    let payment =
        body(app.get(&format!("/api/v1/payments/{payment_id}"), Some(&customer.access)).await).await;
    assert_eq!(
        (payment["status"].clone(), payment["amount_cents"].clone()),
        (json!("succeeded"), json!(2598))
    );
    assert_eq!(stock_of(&app, &id(&product)).await, 3, "paid stock stays taken");

    assert_problem(
        pay(&app, &customer, &order_id, "tok_visa").await,
        StatusCode::CONFLICT,
        "order_not_payable",
    )
    .await;
    assert_problem(cancel(&app, &customer, &order_id).await, StatusCode::FORBIDDEN, "forbidden").await;

    let refunded = cancel(&app, &admin, &order_id).await;
    assert_eq!(refunded.status(), StatusCode::OK);
    assert_eq!(body(refunded).await["status"], "refunded");
    assert_eq!(stock_of(&app, &id(&product)).await, 5, "stock comes back");
    let payment =
        body(app.get(&format!("/api/v1/payments/{payment_id}"), Some(&customer.access)).await).await;
    assert_eq!(payment["status"], "refunded");
    assert_problem(cancel(&app, &admin, &order_id).await, StatusCode::CONFLICT, "order_not_cancellable")
        .await;
}

#[tokio::test]
async fn a_declined_card_is_402_and_the_order_stays_payable() {
    let app = spawn_app().await;
    let admin = app.admin("dec-admin@example.com").await;
    let customer = app.customer("dec-customer@example.com").await;
    let product = create_product(&app, &admin, "DEC", 500, 2).await;
    let placed =
        body(order(&app, &customer, json!([{"product_id": id(&product), "quantity": 1}])).await).await;
    let order_id = id(&placed);

    assert_problem(
        pay(&app, &customer, &order_id, "tok_chargeDeclined").await,
        StatusCode::PAYMENT_REQUIRED,
        "payment_declined",
    )
    .await;
    let after = body(app.get(&format!("/api/v1/orders/{order_id}"), Some(&customer.access)).await).await;
    assert_eq!(after["status"], "pending_payment");
    assert_eq!(after["payment_id"], Value::Null);

    assert_problem(
        pay(&app, &customer, &order_id, "tok_providerOutage").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "payment_provider_unavailable",
    )
    .await;
    let paid = pay(&app, &customer, &order_id, "tok_visa").await;
    assert_eq!(paid.status(), StatusCode::OK);
    let payments =
        body(app.get(&format!("/api/v1/payments?order_id={order_id}"), Some(&customer.access)).await).await;
    let statuses: Vec<_> =
        payments["items"].as_array().expect("items").iter().map(|p| p["status"].clone()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == json!("succeeded")).count(), 1, "{payments}");
}

#[tokio::test]
async fn cancelling_a_pending_order_releases_its_stock() {
    let app = spawn_app().await;
    let admin = app.admin("can-admin@example.com").await;
    let customer = app.customer("can-customer@example.com").await;
    let product = create_product(&app, &admin, "CAN", 100, 4).await;
    let placed =
        body(order(&app, &customer, json!([{"product_id": id(&product), "quantity": 3}])).await).await;
    assert_eq!(stock_of(&app, &id(&product)).await, 1);
    let cancelled = cancel(&app, &customer, &id(&placed)).await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    assert_eq!(body(cancelled).await["status"], "cancelled");
    assert_eq!(stock_of(&app, &id(&product)).await, 4);
    assert_problem(
        cancel(&app, &customer, &id(&placed)).await,
        StatusCode::CONFLICT,
        "order_not_cancellable",
    )
    .await;
    assert_problem(
        pay(&app, &customer, &id(&placed), "tok_visa").await,
        StatusCode::CONFLICT,
        "order_not_payable",
    )
    .await;
}

#[tokio::test]
async fn orders_that_cannot_be_served_reserve_nothing() {
    let app = spawn_app().await;
    let admin = app.admin("bad-ord-admin@example.com").await;
    let customer = app.customer("bad-ord@example.com").await;
    let other = app.customer("bad-ord-other@example.com").await;
    let a = create_product(&app, &admin, "OA", 100, 2).await;
    let b = create_product(&app, &admin, "OB", 100, 1).await;
    let archived = create_product(&app, &admin, "OC", 100, 9).await;
    app.client
        .delete(app.url(&format!("/api/v1/catalog/products/{}", id(&archived))))
        .bearer_auth(&admin.access)
        .send()
        .await
        .expect("archive");
    let foreign_address = body(
        app.post(
            "/api/v1/users/me/addresses",
            Some(&other.access),
            &json!({"line1": "2 Side St", "city": "Rome", "postal_code": "00100", "country": "IT"}),
        )
        .await,
    )
    .await;

    let short = order(
        &app,
        &customer,
        json!([{"product_id": id(&a), "quantity": 2}, {"product_id": id(&b), "quantity": 2}]),
    )
    .await;
    let problem = assert_problem(short, StatusCode::CONFLICT, "insufficient_stock").await;
    assert_eq!(problem["errors"][0]["field"], id(&b).as_str());
    assert_problem(
        order(&app, &customer, json!([{"product_id": uuid::Uuid::now_v7(), "quantity": 1}])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_products",
    )
    .await;
    assert_problem(
        order(&app, &customer, json!([{"product_id": id(&archived), "quantity": 1}])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_products",
    )
    .await;
    assert_problem(
        app.post(
            "/api/v1/orders",
            Some(&customer.access),
            &json!({"items": [{"product_id": id(&a), "quantity": 1}], "shipping_address_id": id(&foreign_address)}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    for items in [
        json!([]),
        json!([{"product_id": id(&a), "quantity": 0}]),
        json!([{"product_id": "nope", "quantity": 1}]),
    ] {
        assert_problem(
            order(&app, &customer, items).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    assert_eq!((stock_of(&app, &id(&a)).await, stock_of(&app, &id(&b)).await), (2, 1));
    assert_eq!(body(app.get("/api/v1/orders", Some(&customer.access)).await).await["total"], 0);
}

#[tokio::test]
async fn another_customers_order_is_404_and_never_listed() {
    let app = spawn_app().await;
    let admin = app.admin("bola-admin@example.com").await;
    let owner = app.customer("bola-owner@example.com").await;
    let intruder = app.customer("bola-intruder@example.com").await;
    let product = create_product(&app, &admin, "BOLA", 100, 5).await;
    let placed = body(order(&app, &owner, json!([{"product_id": id(&product), "quantity": 1}])).await).await;
    let path = format!("/api/v1/orders/{}", id(&placed));

    assert_problem(app.get(&path, Some(&intruder.access)).await, StatusCode::NOT_FOUND, "order_not_found")
        .await;
    assert_problem(
        pay(&app, &intruder, &id(&placed), "tok_visa").await,
        StatusCode::NOT_FOUND,
        "order_not_found",
    )
    .await;
    assert_problem(cancel(&app, &intruder, &id(&placed)).await, StatusCode::NOT_FOUND, "order_not_found")
        .await;
    assert_eq!(body(app.get("/api/v1/orders", Some(&intruder.access)).await).await["total"], 0);
    assert_problem(app.get(&path, None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;

    assert_eq!(app.get(&path, Some(&owner.access)).await.status(), StatusCode::OK);
    assert_eq!(app.get(&path, Some(&admin.access)).await.status(), StatusCode::OK);
    let all = body(app.get("/api/v1/orders", Some(&admin.access)).await).await;
    assert_eq!(all["total"], 1);
    assert_eq!(
        body(app.get(&path, Some(&owner.access)).await).await["status"],
        "pending_payment",
        "untouched"
    );
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer() {
    let app = spawn_app().await;
    let admin = app.admin("idem-admin@example.com").await;
    let customer = app.customer("idem@example.com").await;
    let product = create_product(&app, &admin, "IDEM", 100, 5).await;
    let payload = json!({"items": [{"product_id": id(&product), "quantity": 2}]});
    let send = |key: &'static str, payload: Value| {
        app.client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&customer.access)
            .header("idempotency-key", key)
            .json(&payload)
            .send()
    };

    let first = send("order-1", payload.clone()).await.expect("first");
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = body(first).await;
    let replay = send("order-1", payload.clone()).await.expect("replay");
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(body(replay).await, first);
    assert_eq!(stock_of(&app, &id(&product)).await, 3, "acted once");
    assert_eq!(body(app.get("/api/v1/orders", Some(&customer.access)).await).await["total"], 1);

    let other_body = json!({"items": [{"product_id": id(&product), "quantity": 1}]});
    assert_problem(
        send("order-1", other_body).await.expect("mismatch"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;

    // A replayed error is the first error, even once the cause is gone.
    let too_many = json!({"items": [{"product_id": id(&product), "quantity": 4}]});
    assert_problem(
        send("order-2", too_many.clone()).await.expect("short"),
        StatusCode::CONFLICT,
        "insufficient_stock",
    )
    .await;
    let order_id = id(&first);
    let pay_with = |key: &'static str| {
        app.client
            .post(app.url(&format!("/api/v1/orders/{order_id}/pay")))
            .bearer_auth(&customer.access)
            .header("idempotency-key", key)
            .json(&json!({"payment_token": "tok_visa"}))
            .send()
    };
    let paid = pay_with("pay-1").await.expect("pay");
    assert_eq!(paid.status(), StatusCode::OK);
    let paid = body(paid).await;
    let again = pay_with("pay-1").await.expect("pay replay");
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(body(again).await, paid);
    assert_problem(pay_with("pay-2").await.expect("new key"), StatusCode::CONFLICT, "order_not_payable")
        .await;
    let payments =
        body(app.get(&format!("/api/v1/payments?order_id={order_id}"), Some(&customer.access)).await).await;
    assert_eq!(payments["total"], 1, "charged once");
    // Keys are per user: another customer's identical key is theirs alone.
    let stranger = app.customer("idem-stranger@example.com").await;
    let theirs = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(&stranger.access)
        .header("idempotency-key", "order-1")
        .json(&payload)
        .send()
        .await
        .expect("stranger");
    assert_eq!(theirs.status(), StatusCode::CREATED);
    assert_ne!(body(theirs).await["id"], first["id"]);
}

/// More orders fall due than one batch holds: one run of the job expires them all.
#[tokio::test]
async fn expiry_catches_up_with_more_than_one_batch_in_one_run() {
    let app = spawn_app_with(|s| s.set("orders.reservation_ttl", "2s").expect("set")).await;
    let admin = app.admin("many-exp-admin@example.com").await;
    let customer = app.customer("many-exp@example.com").await;
    let product = create_product(&app, &admin, "MANY", 100, 250).await;
    for _ in 0..230 {
        let placed = order(&app, &customer, json!([{"product_id": id(&product), "quantity": 1}])).await;
        assert_eq!(placed.status(), StatusCode::CREATED);
    }
    assert_eq!(stock_of(&app, &id(&product)).await, 20);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    app.run_jobs().await;
    assert_eq!(stock_of(&app, &id(&product)).await, 250, "all 230 expired in one run (batches of 100)");
}

#[tokio::test]
async fn unpaid_orders_expire_and_release_their_stock() {
    let app = spawn_app_with(|s| s.set("orders.reservation_ttl", "1s").expect("set")).await;
    let admin = app.admin("exp-ord-admin@example.com").await;
    let customer = app.customer("exp-ord@example.com").await;
    let product = create_product(&app, &admin, "EXPO", 100, 2).await;
    let placed =
        body(order(&app, &customer, json!([{"product_id": id(&product), "quantity": 2}])).await).await;
    assert_eq!(stock_of(&app, &id(&product)).await, 0);
    let path = format!("/api/v1/orders/{}", id(&placed));
    app.run_jobs().await;
    assert_eq!(body(app.get(&path, Some(&customer.access)).await).await["status"], "pending_payment");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.run_jobs().await;
    assert_eq!(body(app.get(&path, Some(&customer.access)).await).await["status"], "expired");
    assert_eq!(stock_of(&app, &id(&product)).await, 2);
    assert_problem(
        pay(&app, &customer, &id(&placed), "tok_visa").await,
        StatusCode::CONFLICT,
        "order_not_payable",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_customers_race_for_five_units() {
    // Thirty registrations from one address: over the default per-client limit.
    let app = spawn_app_with(|s| s.set("auth.max_registrations_per_client", 30).expect("set")).await;
    let admin = app.admin("race-ord-admin@example.com").await;
    let product = create_product(&app, &admin, "RACE5", 100, 5).await;
    let mut customers = Vec::new();
    for i in 0..30 {
        customers.push(app.customer(&format!("racer{i}@example.com")).await);
    }
    let product_id = id(&product);
    let attempts: Vec<_> = customers
        .iter()
        .map(|c| {
            let request = app
                .client
                .post(app.url("/api/v1/orders"))
                .bearer_auth(&c.access)
                .json(&json!({"items": [{"product_id": product_id, "quantity": 1}]}));
            tokio::spawn(async move { request.send().await.expect("order").status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.expect("task"));
    }
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((created, refused), (5, 25), "{statuses:?}");
    assert_eq!(stock_of(&app, &product_id).await, 0);
    assert_eq!(body(app.get("/api/v1/orders", Some(&admin.access)).await).await["total"], 5);
}

/// Orders placed at the same moment have their rows written together
/// (`kernel::db::Combined`): each must still be exactly the order its request made.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_placed_at_the_same_moment_are_each_recorded_as_made() {
    let app = spawn_app().await;
    let admin = app.admin("together-admin@example.com").await;
    let customer = app.customer("together@example.com").await;
    let product = create_product(&app, &admin, "TOGETHER", 100, 1000).await;
    let product_id = id(&product);
    let attempts: Vec<_> = (1..=20)
        .map(|quantity| {
            let request = app
                .client
                .post(app.url("/api/v1/orders"))
                .bearer_auth(&customer.access)
                .json(&json!({"items": [{"product_id": product_id, "quantity": quantity}]}));
            tokio::spawn(async move {
                let response = request.send().await.expect("order");
                (quantity, response.status(), response.json::<Value>().await.expect("json"))
            })
        })
        .collect();
    for attempt in attempts {
        let (quantity, status, placed) = attempt.await.expect("task");
        assert_eq!(status, StatusCode::CREATED, "{placed}");
        assert_eq!(placed["status"], "pending_payment");
        let path = format!("/api/v1/orders/{}", id(&placed));
        let stored = body(app.get(&path, Some(&customer.access)).await).await;
        assert_eq!(stored["status"], "pending_payment");
        assert_eq!(stored["total_cents"], 100 * quantity, "order of {quantity} units");
        assert_eq!(stored["items"][0]["quantity"], quantity);
        assert_eq!(stored["updated_at"], placed["updated_at"]);
    }
    assert_eq!(stock_in(&app, &product_id).await, 1000 - (1..=20).sum::<i64>());
    assert_eq!(body(app.get("/api/v1/orders", Some(&customer.access)).await).await["total"], 20);
}

#[tokio::test]
async fn malformed_order_requests_are_problems() {
    let app = spawn_app().await;
    let customer = app.customer("mal@example.com").await;
    let malformed = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(&customer.access)
        .header("content-type", "application/json")
        .body("{\"items\": [")
        .send()
        .await
        .expect("request");
    assert_problem(malformed, StatusCode::BAD_REQUEST, "malformed_request").await;
    assert_problem(
        app.send_json(
            Method::POST,
            &format!("/api/v1/orders/{}/pay", uuid::Uuid::now_v7()),
            Some(&customer.access),
            &json!({}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_problem(
        pay(&app, &customer, &uuid::Uuid::now_v7().to_string(), "tok_visa").await,
        StatusCode::NOT_FOUND,
        "order_not_found",
    )
    .await;
    assert_eq!(
        app.get("/api/v1/orders/not-a-uuid", Some(&customer.access)).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// Orders price their lines with the catalog's offers, which a replica keeps
/// for at most a second (`read_cache.rs`): the replica that changed a price
/// charges it at once, any other within a second of the change. An offer kept
/// from before an archive never sells the product: the reservation refuses it.
#[tokio::test]
async fn no_replica_charges_a_price_older_than_a_second() {
    let a = spawn_app().await;
    let b = a.replica().await;
    let admin = a.admin("price-admin@example.com").await;
    let customer = a.customer("price-customer@example.com").await;
    let product = create_product(&a, &admin, "PRICE-1", 100, 50).await;
    let path = format!("/api/v1/catalog/products/{}", id(&product));
    let line = json!([{"product_id": id(&product), "quantity": 1}]);
    let unit_price = |order: Value| order["items"][0]["unit_price_cents"].clone();

    let mut placed = 2; // the first on b and the one on a
    let kept_by_b = std::time::Instant::now();
    let first = order(&b, &customer, line.clone()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(unit_price(body(first).await), 100);

    let changed = a.send_json(Method::PATCH, &path, Some(&admin.access), &json!({"price_cents": 250})).await;
    assert_eq!(changed.status(), StatusCode::OK);
    let written = std::time::Instant::now();
    assert_eq!(unit_price(body(order(&a, &customer, line.clone()).await).await), 250, "a charges its change");
    if kept_by_b.elapsed() < std::time::Duration::from_millis(500) {
        assert_eq!(
            unit_price(body(order(&b, &customer, line.clone()).await).await),
            100,
            "b prices from what it kept"
        );
        placed += 1;
    }
    tokio::time::sleep(std::time::Duration::from_secs(1).saturating_sub(written.elapsed())).await;
    assert_eq!(
        unit_price(body(order(&b, &customer, line.clone()).await).await),
        250,
        "a second after the change"
    );
    placed += 1;

    // b now keeps the product as active; a archives it.
    let archived = a.send_json(Method::DELETE, &path, Some(&admin.access), &json!({})).await;
    assert_eq!(archived.status(), StatusCode::NO_CONTENT);
    let refused = order(&b, &customer, line).await;
    assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "unknown_products").await;
    assert_eq!(stock_in(&a, &id(&product)).await, 50 - placed, "each order took one; the refused one none");
}
