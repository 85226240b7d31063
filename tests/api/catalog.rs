//! The catalog's public API and its reservation trait, in-process and over HTTP.

use std::sync::Arc;

use catalog_api::{
    CatalogApi, CatalogError, HttpCatalog, ProductOffer, Reservation, ReservationLine, ReservationStatus,
    ReserveRequest,
};
use kernel::http::RemoteClient;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_problem, body, spawn_app, TestApp, User, INTERNAL_TOKEN};

pub async fn create_product(app: &TestApp, admin: &User, sku: &str, price_cents: i64, stock: i64) -> Value {
    let response = app
        .post(
            "/api/v1/catalog/products",
            Some(&admin.access),
            &json!({"sku": sku, "name": format!("Product {sku}"), "price_cents": price_cents, "stock": stock}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    body(response).await
}

/// The stock as the catalog's database holds it (never a kept answer).
pub async fn stock_in(app: &TestApp, id: &str) -> i64 {
    use diesel::prelude::*;
    diesel::table! { products (id) { id -> Text, stock -> BigInt } }
    let url = app.settings.database_url("catalog");
    let db = kernel::db::Database::connect("catalog", &url, &app.settings.database).expect("catalog db");
    let id = id.to_owned();
    db.query(move |c| products::table.find(id).select(products::stock).first(c)).await.expect("the product")
}

pub async fn stock_of(app: &TestApp, id: &str) -> i64 {
    body(app.get(&format!("/api/v1/catalog/products/{id}"), None).await).await["stock"]
        .as_i64()
        .expect("stock")
}

fn in_process(app: &TestApp) -> Arc<dyn CatalogApi> {
    let url = app.settings.database_url("catalog");
    let db = kernel::db::Database::connect("catalog", &url, &app.settings.database).expect("catalog db");
    Arc::new(catalog::CatalogService::new(db))
}

fn over_http(app: &TestApp) -> Arc<dyn CatalogApi> {
    let token = Some(SecretString::from(INTERNAL_TOKEN));
    Arc::new(HttpCatalog::new(RemoteClient::new("catalog", &app.address, token)))
}

fn line(product: &Value, quantity: i64) -> ReservationLine {
    ReservationLine {
        product_id: Uuid::parse_str(product["id"].as_str().expect("id")).expect("uuid"),
        quantity,
    }
}

fn reserve(order_id: Uuid, lines: Vec<ReservationLine>) -> ReserveRequest {
    ReserveRequest { order_id, lines, hold_seconds: 600 }
}

#[tokio::test]
async fn admins_create_products_and_everyone_reads_them() {
    let app = spawn_app().await;
    let admin = app.admin("cat-admin@example.com").await;
    let customer = app.customer("shopper@example.com").await;
    let category = body(
        app.post("/api/v1/catalog/categories", Some(&admin.access), &json!({"name": "Kitchen & Garden"}))
            .await,
    )
    .await;
    assert_eq!(category["slug"], "kitchen-garden");

    let created = app
        .post(
            "/api/v1/catalog/products",
            Some(&admin.access),
            &json!({"sku": "MUG-1", "name": "Mug", "description": "Blue", "price_cents": 1299,
                    "stock": 7, "category_id": category["id"]}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let product = body(created).await;
    assert_eq!(product["currency"], "EUR");
    assert_eq!(product["active"], true);
    assert_eq!(product["category_id"], category["id"]);
    for field in
        ["id", "sku", "name", "description", "price_cents", "currency", "stock", "created_at", "updated_at"]
    {
        assert!(product.get(field).is_some(), "{field} in {product}");
    }
    let fetched = body(
        app.get(&format!("/api/v1/catalog/products/{}", product["id"].as_str().expect("id")), None).await,
    )
    .await;
    assert_eq!(fetched, product);

    let payload = json!({"sku": "X-1", "name": "X", "price_cents": 1});
    assert_problem(
        app.post("/api/v1/catalog/products", Some(&customer.access), &payload).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post("/api/v1/catalog/products", None, &payload).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_problem(
        app.post("/api/v1/catalog/categories", Some(&customer.access), &json!({"name": "Nope"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let categories = body(app.get("/api/v1/catalog/categories", None).await).await;
    assert_eq!(categories["total"], 1);
    assert_problem(
        app.post("/api/v1/catalog/categories", Some(&admin.access), &json!({"name": "Kitchen Garden"})).await,
        StatusCode::CONFLICT,
        "duplicate_slug",
    )
    .await;
}

#[tokio::test]
async fn a_duplicate_sku_is_409() {
    let app = spawn_app().await;
    let admin = app.admin("sku-admin@example.com").await;
    create_product(&app, &admin, "SKU-1", 100, 1).await;
    let second = create_product(&app, &admin, "SKU-2", 100, 1).await;
    assert_problem(
        app.post(
            "/api/v1/catalog/products",
            Some(&admin.access),
            &json!({"sku": "SKU-1", "name": "Again", "price_cents": 5}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_sku",
    )
    .await;
    let path = format!("/api/v1/catalog/products/{}", second["id"].as_str().expect("id"));
    assert_problem(
        app.send_json(Method::PATCH, &path, Some(&admin.access), &json!({"sku": "SKU-1"})).await,
        StatusCode::CONFLICT,
        "duplicate_sku",
    )
    .await;
    assert_eq!(body(app.get(&path, None).await).await["sku"], "SKU-2");
}

#[tokio::test]
async fn bad_product_input_is_422_and_stores_nothing() {
    let app = spawn_app().await;
    let admin = app.admin("bad-admin@example.com").await;
    for payload in [
        json!({"sku": "NEG", "name": "Negative", "price_cents": -1}),
        json!({"sku": "STK", "name": "Stock", "price_cents": 1, "stock": -5}),
        json!({"sku": "has space", "name": "Space", "price_cents": 1}),
        json!({"sku": "CUR", "name": "Currency", "price_cents": 1, "currency": "euro"}),
        json!({"sku": "CAT", "name": "Category", "price_cents": 1, "category_id": Uuid::now_v7()}),
        json!({"sku": "NAME", "name": "", "price_cents": 1}),
        json!({"sku": "TYPE", "name": "Type", "price_cents": "12"}),
    ] {
        assert_problem(
            app.post("/api/v1/catalog/products", Some(&admin.access), &payload).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    assert_eq!(body(app.get("/api/v1/catalog/products", None).await).await["total"], 0);
    for query in [
        "per_page=1000",
        "sort=cheapest",
        "page=0",
        "min_price_cents=-1",
        "min_price_cents=10&max_price_cents=5",
        "category_id=nope",
    ] {
        assert_problem(
            app.get(&format!("/api/v1/catalog/products?{query}"), None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    assert_eq!(app.get("/api/v1/catalog/products/not-a-uuid", None).await.status(), StatusCode::NOT_FOUND);
    assert_problem(
        app.get(&format!("/api/v1/catalog/products/{}", Uuid::now_v7()), None).await,
        StatusCode::NOT_FOUND,
        "product_not_found",
    )
    .await;
}

#[tokio::test]
async fn the_list_filters_sorts_and_paginates() {
    let app = spawn_app().await;
    let admin = app.admin("list-admin@example.com").await;
    let tools =
        body(app.post("/api/v1/catalog/categories", Some(&admin.access), &json!({"name": "Tools"})).await)
            .await;
    for (sku, name, price, category) in [
        ("A", "Hammer", 1500, true),
        ("B", "Screwdriver", 700, true),
        ("C", "Apple", 90, false),
        ("D", "100% Cotton Shirt", 2500, false),
        ("E", "Banana", 30, false),
    ] {
        let mut payload = json!({"sku": sku, "name": name, "price_cents": price, "stock": 3});
        if category {
            payload["category_id"] = tools["id"].clone();
        }
        assert_eq!(
            app.post("/api/v1/catalog/products", Some(&admin.access), &payload).await.status(),
            StatusCode::CREATED
        );
    }
    let names = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|p| p["name"].as_str().expect("name").to_owned())
            .collect()
    };

    assert_eq!(
        names(list(&app, "sort=price_asc").await),
        ["Banana", "Apple", "Screwdriver", "Hammer", "100% Cotton Shirt"]
    );
    assert_eq!(names(list(&app, "sort=price_desc&per_page=2").await), ["100% Cotton Shirt", "Hammer"]);
    assert_eq!(
        names(list(&app, "sort=name").await),
        ["100% Cotton Shirt", "Apple", "Banana", "Hammer", "Screwdriver"]
    );
    assert_eq!(names(list(&app, "sort=newest&per_page=1").await), ["Banana"]);
    assert_eq!(names(list(&app, "q=AN&sort=name").await), ["Banana"]);
    assert_eq!(names(list(&app, "q=%25&sort=name").await), ["100% Cotton Shirt"], "% is literal");
    assert_eq!(names(list(&app, "q=_&sort=name").await), Vec::<String>::new(), "_ is literal");
    let tools_id = tools["id"].as_str().expect("id");
    assert_eq!(
        names(list(&app, &format!("category_id={tools_id}&sort=name")).await),
        ["Hammer", "Screwdriver"]
    );
    assert_eq!(
        names(list(&app, "min_price_cents=90&max_price_cents=1500&sort=price_asc").await),
        ["Apple", "Screwdriver", "Hammer"]
    );

    let page = list(&app, "sort=name&page=2&per_page=2").await;
    assert_eq!(
        (page["page"].clone(), page["per_page"].clone(), page["total"].clone()),
        (json!(2), json!(2), json!(5))
    );
    assert_eq!(names(page), ["Banana", "Hammer"]);
}

#[tokio::test]
async fn archiving_hides_a_product_but_keeps_it_readable() {
    let app = spawn_app().await;
    let admin = app.admin("arch-admin@example.com").await;
    let product = create_product(&app, &admin, "OLD", 100, 5).await;
    let path = format!("/api/v1/catalog/products/{}", product["id"].as_str().expect("id"));
    let deleted = app.client.delete(app.url(&path)).bearer_auth(&admin.access).send().await.expect("delete");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(body(app.get("/api/v1/catalog/products", None).await).await["total"], 0);
    assert_eq!(body(app.get(&path, None).await).await["active"], false);
    // An archived product cannot be reserved.
    let result = in_process(&app).reserve(reserve(Uuid::now_v7(), vec![line(&product, 1)])).await;
    assert!(matches!(result, Err(CatalogError::UnknownProducts { product_ids: ids }) if ids.len() == 1));
}

#[tokio::test]
async fn admins_set_stock_and_prices() {
    let app = spawn_app().await;
    let admin = app.admin("stock-admin@example.com").await;
    let customer = app.customer("stock-customer@example.com").await;
    let product = create_product(&app, &admin, "STOCK", 100, 5).await;
    let id = product["id"].as_str().expect("id");
    let stock_path = format!("/api/v1/catalog/products/{id}/stock");
    let set = app.send_json(Method::PUT, &stock_path, Some(&admin.access), &json!({"stock": 42})).await;
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(stock_of(&app, id).await, 42);
    assert_problem(
        app.send_json(Method::PUT, &stock_path, Some(&admin.access), &json!({"stock": -1})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.send_json(Method::PUT, &stock_path, Some(&customer.access), &json!({"stock": 0})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(stock_of(&app, id).await, 42);
    let patched = body(
        app.send_json(
            Method::PATCH,
            &format!("/api/v1/catalog/products/{id}"),
            Some(&admin.access),
            &json!({"price_cents": 250, "stock": 1}),
        )
        .await,
    )
    .await;
    assert_eq!(patched["price_cents"], 250);
    assert_eq!(patched["stock"], 42, "stock is only set through its own endpoint");
}

/// The same reservation story, whichever side of the trait runs it.
async fn list(app: &TestApp, query: &str) -> Value {
    body(app.get(&format!("/api/v1/catalog/products?{query}"), None).await).await
}

async fn reservation_story(app: &TestApp, admin: &User, api: Arc<dyn CatalogApi>, prefix: &str) {
    let a = create_product(app, admin, &format!("{prefix}-A"), 100, 5).await;
    let b = create_product(app, admin, &format!("{prefix}-B"), 200, 1).await;
    let (a_id, b_id) = (a["id"].as_str().expect("id"), b["id"].as_str().expect("id"));

    // All or nothing: the second line cannot be served, so the first takes nothing.
    let order = Uuid::now_v7();
    match api.reserve(reserve(order, vec![line(&a, 2), line(&b, 3)])).await {
        Err(CatalogError::InsufficientStock { shortfalls: short }) => {
            assert_eq!(short.len(), 1);
            assert_eq!((short[0].requested, short[0].available), (3, 1));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!((stock_in(app, a_id).await, stock_in(app, b_id).await), (5, 1));

    // Unknown products are named.
    let ghost = json!({"id": Uuid::now_v7().to_string()});
    assert!(matches!(
        api.reserve(reserve(Uuid::now_v7(), vec![line(&a, 1), line(&ghost, 1)])).await,
        Err(CatalogError::UnknownProducts { product_ids: ids }) if ids.len() == 1
    ));
    assert_eq!(stock_in(app, a_id).await, 5);

    // Reserve is idempotent by order id; other lines for that order conflict.
    let held = api.reserve(reserve(order, vec![line(&a, 2), line(&b, 1)])).await.expect("reserve");
    assert_eq!(held.status, ReservationStatus::Held);
    let again =
        api.reserve(reserve(order, vec![line(&b, 1), line(&a, 1), line(&a, 1)])).await.expect("replay");
    assert_eq!(again, held);
    assert_eq!((stock_in(app, a_id).await, stock_in(app, b_id).await), (3, 0));
    assert!(matches!(
        api.reserve(reserve(order, vec![line(&a, 1)])).await,
        Err(CatalogError::ReservationConflict { .. })
    ));

    // Release gives stock back once; commit after release is refused.
    api.release(order).await.expect("release");
    api.release(order).await.expect("release again");
    assert_eq!((stock_in(app, a_id).await, stock_in(app, b_id).await), (5, 1));
    assert!(matches!(api.commit(order).await, Err(CatalogError::ReservationConflict { .. })));
    api.release(Uuid::now_v7()).await.expect("releasing an unknown order is fine");

    // Commit is final and idempotent; restock returns stock once.
    let paid = Uuid::now_v7();
    api.reserve(reserve(paid, vec![line(&a, 4)])).await.expect("reserve");
    api.commit(paid).await.expect("commit");
    api.commit(paid).await.expect("commit again");
    assert_eq!(stock_in(app, a_id).await, 1);
    assert!(matches!(api.release(paid).await, Err(CatalogError::ReservationConflict { .. })));
    api.restock(paid).await.expect("restock");
    api.restock(paid).await.expect("restock again");
    assert_eq!(stock_in(app, a_id).await, 5);
    assert!(matches!(api.commit(Uuid::now_v7()).await, Err(CatalogError::ReservationNotFound)));
    assert!(matches!(api.restock(Uuid::now_v7()).await, Err(CatalogError::ReservationNotFound)));

    let found = api.offers(vec![Uuid::parse_str(a_id).expect("uuid"), Uuid::now_v7()]).await.expect("lookup");
    assert_eq!(found.len(), 1, "an unknown id is left out");
    assert_eq!((found[0].price_cents, found[0].name.as_str()), (100, format!("Product {prefix}-A").as_str()));
}

#[tokio::test]
async fn reservations_behave_the_same_in_process_and_over_http() {
    let app = spawn_app().await;
    let admin = app.admin("story-admin@example.com").await;
    reservation_story(&app, &admin, in_process(&app), "LOCAL").await;
    reservation_story(&app, &admin, over_http(&app), "REMOTE").await;
}

#[tokio::test]
async fn bad_reservations_are_rejected_before_touching_stock() {
    let app = spawn_app().await;
    let admin = app.admin("badres-admin@example.com").await;
    let a = create_product(&app, &admin, "BR", 100, 5).await;
    for api in [in_process(&app), over_http(&app)] {
        for lines in [vec![], vec![line(&a, 0)], vec![line(&a, -3)], vec![line(&a, 6000), line(&a, 6000)]] {
            let result = api.reserve(reserve(Uuid::now_v7(), lines)).await;
            match result {
                Err(CatalogError::Invalid(errors)) => assert!(!errors.is_empty()),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(stock_of(&app, a["id"].as_str().expect("id")).await, 5);
}

async fn race(app: &TestApp, api: Arc<dyn CatalogApi>, product: &Value) {
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let api = api.clone();
            let line = line(product, 1);
            tokio::spawn(async move { api.reserve(reserve(Uuid::now_v7(), vec![line])).await })
        })
        .collect();
    let (mut won, mut short) = (0, 0);
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => won += 1,
            Err(CatalogError::InsufficientStock { .. }) => short += 1,
            Err(e) => panic!("unexpected: {e:?}"),
        }
    }
    assert_eq!((won, short), (10, 40));
    assert_eq!(stock_in(app, product["id"].as_str().expect("id")).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_reservations_never_oversell() {
    let app = spawn_app().await;
    let admin = app.admin("race-admin@example.com").await;
    let local = create_product(&app, &admin, "RACE-LOCAL", 100, 10).await;
    race(&app, in_process(&app), &local).await;
    let remote = create_product(&app, &admin, "RACE-HTTP", 100, 10).await;
    race(&app, over_http(&app), &remote).await;
}

/// A catalog service whose database has one connection, and a way to run
/// calls so that they queue for one turn (`kernel::db::Combined`): the
/// connection is held while they start.
struct OneConnection {
    db: kernel::db::Database,
    service: Arc<catalog::CatalogService>,
}

impl OneConnection {
    fn new(app: &TestApp) -> Self {
        let url = app.settings.database_url("catalog");
        let one = kernel::config::DatabaseSettings { pool_size: Some(1), ..app.settings.database.clone() };
        let db = kernel::db::Database::connect("catalog", &url, &one).expect("catalog db");
        Self { service: Arc::new(catalog::CatalogService::new(db.clone())), db }
    }

    /// Starts every call while the connection is held, then lets them run; their answers in order.
    async fn in_one_turn<T, F>(&self, calls: Vec<F>) -> Vec<T>
    where
        F: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holder = tokio::spawn({
            let db = self.db.clone();
            async move { db.query(move |_| Ok(released.recv().ok())).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let calls: Vec<_> = calls.into_iter().map(tokio::spawn).collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(release);
        holder.await.expect("holder").expect("held");
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.expect("task"));
        }
        answers
    }

    async fn reserve_in_one_turn(
        &self,
        batch: Vec<Vec<ReservationLine>>,
    ) -> Vec<Result<Reservation, CatalogError>> {
        let calls = batch
            .into_iter()
            .map(|lines| {
                let service = self.service.clone();
                let request = ReserveRequest { order_id: Uuid::now_v7(), lines, hold_seconds: 60 };
                async move { service.reserve(request).await }
            })
            .collect();
        self.in_one_turn(calls).await
    }
}

/// Reservations that wait for the same turn are made together (one
/// transaction), or, when one of them cannot be served, each alone: either way
/// each gets the answer it would have had alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reservations_made_together_each_get_their_own_answer() {
    let app = spawn_app().await;
    let admin = app.admin("together-admin@example.com").await;
    let shared = create_product(&app, &admin, "TOGETHER-SHARED", 100, 10).await;
    let scarce = create_product(&app, &admin, "TOGETHER-SCARCE", 100, 1).await;
    let catalog = OneConnection::new(&app);

    // All can be served: made together, in one transaction of four statements
    // (begin, both rows in one INSERT, the stock in one UPDATE, commit) instead of eight.
    let before = catalog.db.statements();
    let answers = catalog.reserve_in_one_turn(vec![vec![line(&shared, 2)], vec![line(&shared, 3)]]).await;
    assert!(answers.iter().all(|a| matches!(a, Ok(r) if r.status == ReservationStatus::Held)), "{answers:?}");
    assert_eq!(catalog.db.statements() - before, 4);
    assert_eq!(stock_in(&app, shared["id"].as_str().expect("id")).await, 5);

    // One cannot be served: the others are still made, that one is refused and takes nothing.
    let answers = catalog
        .reserve_in_one_turn(vec![
            vec![line(&shared, 1)],
            vec![line(&scarce, 2)],
            vec![line(&shared, 4), line(&scarce, 1)],
        ])
        .await;
    assert!(answers[0].is_ok(), "{answers:?}");
    assert!(matches!(answers[1], Err(CatalogError::InsufficientStock { .. })), "{answers:?}");
    assert!(answers[2].is_ok(), "{answers:?}");
    assert_eq!(stock_in(&app, shared["id"].as_str().expect("id")).await, 0);
    assert_eq!(stock_in(&app, scarce["id"].as_str().expect("id")).await, 0);
}

/// Offers looked up at the same moment are read by one statement, and each
/// lookup gets exactly the products it asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offers_looked_up_together_each_get_their_own_products() {
    let app = spawn_app().await;
    let admin = app.admin("lookups-admin@example.com").await;
    let a = create_product(&app, &admin, "LOOKUP-A", 100, 1).await;
    let b = create_product(&app, &admin, "LOOKUP-B", 200, 1).await;
    let c = create_product(&app, &admin, "LOOKUP-C", 300, 1).await;
    let ids = |products: &[&Value]| -> Vec<Uuid> { products.iter().map(|p| line(p, 1).product_id).collect() };
    let catalog = OneConnection::new(&app);

    let before = catalog.db.statements();
    let calls = [ids(&[&a]), ids(&[&b]), ids(&[&a, &c])]
        .into_iter()
        .map(|wanted| {
            let service = catalog.service.clone();
            async move { service.offers(wanted).await }
        })
        .collect();
    let answers = catalog.in_one_turn(calls).await;
    assert_eq!(catalog.db.statements() - before, 1, "one SELECT for the three lookups");
    let prices = |answer: &Result<Vec<ProductOffer>, CatalogError>| -> Vec<i64> {
        let mut prices: Vec<i64> = answer.as_ref().expect("offers").iter().map(|o| o.price_cents).collect();
        prices.sort_unstable();
        prices
    };
    assert_eq!(prices(&answers[0]), vec![100]);
    assert_eq!(prices(&answers[1]), vec![200]);
    assert_eq!(prices(&answers[2]), vec![100, 300]);
}

#[tokio::test]
async fn expired_reservations_are_released_by_the_catalog() {
    let app = spawn_app().await;
    let admin = app.admin("exp-admin@example.com").await;
    let product = create_product(&app, &admin, "EXP", 100, 3).await;
    let url = app.settings.database_url("catalog");
    let db = kernel::db::Database::connect("catalog", &url, &app.settings.database).expect("db");
    let service = catalog::CatalogService::new(db);
    let order = Uuid::now_v7();
    service
        .reserve(ReserveRequest { order_id: order, lines: vec![line(&product, 2)], hold_seconds: 1 })
        .await
        .expect("reserve");
    let id = product["id"].as_str().expect("id");
    assert_eq!(stock_in(&app, id).await, 1);
    assert_eq!(service.release_expired().await.expect("sweep").handled, 0, "not expired yet");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(service.release_expired().await.expect("sweep").handled, 1);
    assert_eq!(stock_in(&app, id).await, 3);
    assert!(matches!(service.commit(order).await, Err(CatalogError::ReservationConflict { .. })));
}

async fn read(app: &TestApp, path: &str) -> Value {
    body(app.get(path, None).await).await
}

/// Public product reads and list pages are kept for at most a second
/// (`read_cache.rs`): a replica that did not make a write may answer with what it
/// read before it, but never once a second has passed; the replica that wrote reads it at once.
#[tokio::test]
async fn no_replica_answers_with_a_price_or_stock_older_than_a_second() {
    let a = spawn_app().await;
    let b = a.replica().await;
    let admin = a.admin("cache-admin@example.com").await;
    let product = create_product(&a, &admin, "CACHE-1", 100, 5).await;
    let id = product["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/catalog/products/{id}");
    let page = "/api/v1/catalog/products?sort=price_asc";

    let kept_by_b = std::time::Instant::now();
    assert_eq!(read(&b, &path).await["price_cents"], 100);
    assert_eq!(read(&b, page).await["items"][0]["stock"], 5);

    let changed = a.send_json(Method::PATCH, &path, Some(&admin.access), &json!({"price_cents": 250})).await;
    assert_eq!(changed.status(), StatusCode::OK);
    let restocked =
        a.send_json(Method::PUT, &format!("{path}/stock"), Some(&admin.access), &json!({"stock": 9})).await;
    assert_eq!(restocked.status(), StatusCode::OK);
    let written = std::time::Instant::now();

    let on_a = read(&a, &path).await;
    assert_eq!(
        (on_a["price_cents"].clone(), on_a["stock"].clone()),
        (json!(250), json!(9)),
        "a reads its writes"
    );
    assert_eq!(read(&a, page).await["items"][0]["stock"], 9);
    if kept_by_b.elapsed() < std::time::Duration::from_millis(500) {
        assert_eq!(read(&b, &path).await["price_cents"], 100, "b answers from what it kept");
    }

    tokio::time::sleep(std::time::Duration::from_secs(1).saturating_sub(written.elapsed())).await;
    let on_b = read(&b, &path).await;
    assert_eq!(
        (on_b["price_cents"].clone(), on_b["stock"].clone()),
        (json!(250), json!(9)),
        "a second after the write"
    );
    let listed = read(&b, page).await;
    assert_eq!(
        (listed["items"][0]["price_cents"].clone(), listed["items"][0]["stock"].clone()),
        (json!(250), json!(9))
    );
}
