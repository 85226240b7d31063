//! Statement budgets: the SQL statements each hot endpoint sends, per module,
//! as the databases' own instrumentation counts them (`db_statements_total` in
//! `/metrics`; BEGIN and COMMIT count). A change that adds a round trip to a
//! hot path fails here. Deterministic: background jobs never run on their own
//! in tests, and the requests measured are sent one at a time.

use std::collections::BTreeMap;
use std::future::Future;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::catalog::create_product;
use crate::helpers::{body, spawn_app, TestApp, User};

/// The statements sent by each module while `request` ran (modules that sent none left out).
async fn cost<F: Future<Output = reqwest::Response>>(
    app: &TestApp,
    request: F,
) -> (Value, BTreeMap<String, u64>) {
    let before = app.statements().await;
    let response = request.await;
    assert!(response.status().is_success(), "{}", response.status());
    let answer = body(response).await;
    let after = app.statements().await;
    let spent = after
        .into_iter()
        .map(|(module, n)| {
            let spent = n - before.get(&module).copied().unwrap_or(0);
            (module, spent)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    (answer, spent)
}

fn budget(entries: &[(&str, u64)]) -> BTreeMap<String, u64> {
    entries.iter().map(|(module, n)| ((*module).to_owned(), *n)).collect()
}

/// An app with a customer and `products` products in the catalog.
async fn shop_with(products: usize) -> (TestApp, User, Vec<String>) {
    let app = spawn_app().await;
    let admin = app.admin(&format!("budget-admin-{products}@example.com")).await;
    let customer = app.customer(&format!("budget-{products}@example.com")).await;
    let mut ids = Vec::new();
    for i in 0..products {
        let product = create_product(&app, &admin, &format!("BUDGET-{i}"), 100 + i as i64, 1000).await;
        ids.push(product["id"].as_str().expect("id").to_owned());
    }
    (app, customer, ids)
}

async fn place(app: &TestApp, customer: &User, lines: &[&String]) -> reqwest::Response {
    let items: Vec<Value> = lines.iter().map(|id| json!({"product_id": id, "quantity": 2})).collect();
    app.post("/api/v1/orders", Some(&customer.access), &json!({ "items": items })).await
}

#[tokio::test]
async fn catalog_reads_cost_one_statement_per_query() {
    for size in [1, 30] {
        let (app, _, ids) = shop_with(size).await;
        let (_, spent) = cost(&app, app.get(&format!("/api/v1/catalog/products/{}", ids[0]), None)).await;
        assert_eq!(spent, budget(&[("catalog", 1)]), "GET product, {size} products");
        let (page, spent) =
            cost(&app, app.get("/api/v1/catalog/products?per_page=20&sort=price_asc", None)).await;
        assert_eq!(page["total"], size, "the page answers");
        assert_eq!(spent, budget(&[("catalog", 2)]), "list: the page and its count, {size} products");
    }
}

#[tokio::test]
async fn placing_and_paying_an_order_cost_a_fixed_number_of_statements() {
    // orders: read, payment pending, paid, stock done; payments: claim, settle; catalog: commit
    let pay_budget = budget(&[("catalog", 1), ("orders", 4), ("payments", 2)]);
    for (size, lines) in [(1, 1), (30, 1), (30, 3)] {
        let (app, customer, ids) = shop_with(size).await;
        let chosen: Vec<&String> = ids.iter().take(lines).collect();
        // catalog: the offers (prices); BEGIN, the reservation, the stock of every line in one UPDATE, COMMIT.
        // orders: the order as placing (its intent, before the stock), then pending_payment.
        let place_budget = budget(&[("catalog", 5), ("orders", 2)]);
        let (order, spent) = cost(&app, place(&app, &customer, &chosen)).await;
        assert_eq!(order["status"], "pending_payment");
        assert_eq!(spent, place_budget, "POST order, {lines} line(s), {size} products");
        let id = order["id"].as_str().expect("id");
        let (path, card) = (format!("/api/v1/orders/{id}/pay"), json!({"payment_token": "tok_visa"}));
        let (paid, spent) = cost(&app, app.post(&path, Some(&customer.access), &card)).await;
        assert_eq!(paid["status"], "paid");
        assert_eq!(spent, pay_budget, "pay, {lines} line(s), {size} products");
        let product = app.get(&format!("/api/v1/catalog/products/{}", ids[0]), None).await;
        assert_eq!(product.status(), StatusCode::OK);
        assert_eq!(body(product).await["stock"], 998, "the stock taken by the order");
    }
}

/// Orders price their lines from the catalog's offers, which the catalog keeps
/// for up to a second (`read_cache.rs`): an order for products priced within that
/// second spends no statement on their prices.
#[tokio::test]
async fn an_order_priced_within_the_second_skips_the_price_lookup() {
    let (app, customer, ids) = shop_with(2).await;
    let chosen: Vec<&String> = ids.iter().collect();
    let priced = std::time::Instant::now();
    let (_, spent) = cost(&app, place(&app, &customer, &chosen)).await;
    assert_eq!(spent, budget(&[("catalog", 5), ("orders", 2)]), "the first order reads the prices");
    let (order, spent) = cost(&app, place(&app, &customer, &chosen)).await;
    if priced.elapsed() < std::time::Duration::from_millis(500) {
        assert_eq!(spent, budget(&[("catalog", 4), ("orders", 2)]), "the second finds them kept");
    }
    assert_eq!(order["total_cents"], 2 * 100 + 2 * 101, "priced as the catalog says");
}
