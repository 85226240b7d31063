//! Each failure path of the order saga, driven by test implementations of the
//! catalog, payments and users traits that fail at a chosen step (before or
//! after their side effect), checking stock, payments and order state end consistent.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use catalog_api::{CatalogApi, CatalogError, ProductOffer, Reservation, ReserveRequest};
use kernel::auth::{AuthUser, Role};
use kernel::db::Database;
use kernel::ApiError;
use orders::requests::{CreateOrder, OrderLine, PayOrder};
use orders::OrdersService;
use orders_api::OrderStatus;
use payments_api::{ChargeRequest, PaymentDto, PaymentStatus, PaymentsApi, PaymentsError};
use users_api::{AddressDto, NewUser, UserDto, UsersApi, UsersError};
use uuid::Uuid;

use crate::catalog::{create_product, stock_in};
use crate::helpers::{spawn_app, TestApp};

/// Where a fake fails. `…Lost` steps do their work, then lose the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Fault {
    Reserve,
    ReserveLost,
    Release,
    Commit,
    ChargeLost,
    Refund,
    Address,
}

#[derive(Default)]
struct Faults(Mutex<HashSet<Fault>>);

impl Faults {
    fn set(&self, fault: Fault) {
        self.0.lock().expect("lock").insert(fault);
    }
    fn clear(&self) {
        self.0.lock().expect("lock").clear();
    }
    fn has(&self, fault: Fault) -> bool {
        self.0.lock().expect("lock").contains(&fault)
    }
}

fn outage() -> ApiError {
    ApiError::unavailable("injected fault")
}

struct FlakyCatalog(Arc<dyn CatalogApi>, Arc<Faults>);
struct FlakyPayments(Arc<dyn PaymentsApi>, Arc<Faults>);
struct FlakyUsers(Arc<dyn UsersApi>, Arc<Faults>);

#[async_trait::async_trait]
impl CatalogApi for FlakyCatalog {
    async fn offers(&self, ids: Vec<Uuid>) -> Result<Vec<ProductOffer>, CatalogError> {
        self.0.offers(ids).await
    }
    async fn reserve(&self, request: ReserveRequest) -> Result<Reservation, CatalogError> {
        if self.1.has(Fault::Reserve) {
            return Err(outage().into());
        }
        let done = self.0.reserve(request).await;
        if self.1.has(Fault::ReserveLost) {
            return Err(outage().into());
        }
        done
    }
    async fn release(&self, order_id: Uuid) -> Result<(), CatalogError> {
        if self.1.has(Fault::Release) {
            return Err(outage().into());
        }
        self.0.release(order_id).await
    }
    async fn commit(&self, order_id: Uuid) -> Result<(), CatalogError> {
        if self.1.has(Fault::Commit) {
            return Err(outage().into());
        }
        self.0.commit(order_id).await
    }
    async fn restock(&self, order_id: Uuid) -> Result<(), CatalogError> {
        self.0.restock(order_id).await
    }
}

#[async_trait::async_trait]
impl PaymentsApi for FlakyPayments {
    async fn charge(&self, request: ChargeRequest) -> Result<PaymentDto, PaymentsError> {
        let done = self.0.charge(request).await;
        if self.1.has(Fault::ChargeLost) {
            return Err(outage().into());
        }
        done
    }
    async fn refund(&self, payment_id: Uuid) -> Result<PaymentDto, PaymentsError> {
        if self.1.has(Fault::Refund) {
            return Err(PaymentsError::ProviderUnavailable);
        }
        self.0.refund(payment_id).await
    }
    async fn payments_for_order(&self, order_id: Uuid) -> Result<Vec<PaymentDto>, PaymentsError> {
        self.0.payments_for_order(order_id).await
    }
}

#[async_trait::async_trait]
impl UsersApi for FlakyUsers {
    async fn create_user(&self, new: NewUser) -> Result<UserDto, UsersError> {
        self.0.create_user(new).await
    }
    async fn get_user(&self, id: Uuid) -> Result<UserDto, UsersError> {
        self.0.get_user(id).await
    }
    async fn set_role(&self, id: Uuid, role: Role) -> Result<UserDto, UsersError> {
        self.0.set_role(id, role).await
    }
    async fn get_address(&self, user_id: Uuid, address_id: Uuid) -> Result<AddressDto, UsersError> {
        if self.1.has(Fault::Address) {
            return Err(outage().into());
        }
        self.0.get_address(user_id, address_id).await
    }
    async fn access_changes(&self, since: i64) -> Result<Vec<kernel::auth::AccessChange>, UsersError> {
        self.0.access_changes(since).await
    }
}

/// An orders service over the test app's databases, with faults to inject.
struct Saga {
    /// The app: keeps its databases alive, and holds the catalog's stock.
    app: TestApp,
    orders: OrdersService,
    catalog: Arc<dyn CatalogApi>,
    payments: Arc<dyn PaymentsApi>,
    /// The same payments service, for its settlement job.
    payments_service: Arc<payments::PaymentsService>,
    faults: Arc<Faults>,
    customer: AuthUser,
    admin: AuthUser,
    product: serde_json::Value,
}

fn db(app: &TestApp, module: &'static str) -> Database {
    Database::connect(module, &app.settings.database_url(module), &app.settings.database).expect("database")
}

async fn saga(ttl: Duration) -> Saga {
    let app = spawn_app().await;
    let admin_user = app.admin("saga-admin@example.com").await;
    let customer_user = app.customer("saga@example.com").await;
    let product = create_product(&app, &admin_user, "SAGA", 700, 5).await;
    let catalog: Arc<dyn CatalogApi> = Arc::new(catalog::CatalogService::new(db(&app, "catalog")));
    let payments_service = Arc::new(payments::PaymentsService::new(
        db(&app, "payments"),
        Arc::new(payments::provider::TestProvider::default()),
    ));
    let payments: Arc<dyn PaymentsApi> = payments_service.clone();
    let users: Arc<dyn UsersApi> = Arc::new(users::UsersService::new(db(&app, "users")));
    let faults = Arc::new(Faults::default());
    let orders = OrdersService::new(
        db(&app, "orders"),
        Arc::new(FlakyCatalog(catalog.clone(), faults.clone())),
        Arc::new(FlakyPayments(payments.clone(), faults.clone())),
        Arc::new(FlakyUsers(users, faults.clone())),
        ttl,
    );
    let as_user = |id: &str, role| AuthUser { id: Uuid::parse_str(id).expect("uuid"), role };
    Saga {
        customer: as_user(&customer_user.id, Role::Customer),
        admin: as_user(&admin_user.id, Role::Admin),
        app,
        orders,
        catalog,
        payments,
        payments_service,
        faults,
        product,
    }
}

impl Saga {
    fn product_id(&self) -> Uuid {
        Uuid::parse_str(self.product["id"].as_str().expect("id")).expect("uuid")
    }
    fn request(&self, quantity: i64) -> CreateOrder {
        CreateOrder {
            items: vec![OrderLine { product_id: self.product_id(), quantity }],
            shipping_address_id: None,
        }
    }
    async fn stock(&self) -> i64 {
        stock_in(&self.app, &self.product_id().to_string()).await
    }
    async fn order_count(&self) -> i64 {
        let page = kernel::pagination::PageParams::default().validate().expect("page");
        self.orders.list(self.admin, page).await.expect("list").total
    }
    async fn status(&self, id: Uuid) -> OrderStatus {
        self.orders.get(self.admin, id).await.expect("order").status
    }
    async fn settle(&self) {
        self.orders.reconcile_older_than(chrono::Duration::zero()).await.expect("reconcile");
    }
}

fn visa() -> PayOrder {
    PayOrder { payment_token: "tok_visa".into() }
}

#[tokio::test]
async fn a_catalog_outage_before_reserving_leaves_nothing() {
    let s = saga(Duration::from_secs(900)).await;
    s.faults.set(Fault::Reserve);
    let err = s.orders.create(s.customer, s.request(2)).await.expect_err("outage");
    assert_eq!(err.status().as_u16(), 503);
    assert_eq!((s.stock().await, s.order_count().await), (5, 0));
}

#[tokio::test]
async fn a_reservation_whose_answer_is_lost_is_released() {
    let s = saga(Duration::from_secs(900)).await;
    s.faults.set(Fault::ReserveLost);
    let err = s.orders.create(s.customer, s.request(2)).await.expect_err("lost answer");
    assert_eq!(err.status().as_u16(), 503);
    assert_eq!((s.stock().await, s.order_count().await), (5, 0), "no reservation without an order");
}

#[tokio::test]
async fn a_users_outage_for_the_address_reserves_nothing() {
    let s = saga(Duration::from_secs(900)).await;
    s.faults.set(Fault::Address);
    let mut request = s.request(1);
    request.shipping_address_id = Some(Uuid::now_v7());
    let err = s.orders.create(s.customer, request).await.expect_err("outage");
    assert_eq!(err.status().as_u16(), 503);
    assert_eq!((s.stock().await, s.order_count().await), (5, 0));
}

#[tokio::test]
async fn a_lost_charge_answer_is_recovered_by_retry_without_charging_twice() {
    let s = saga(Duration::from_secs(900)).await;
    let order = s.orders.create(s.customer, s.request(2)).await.expect("order");
    s.faults.set(Fault::ChargeLost);
    assert_eq!(s.orders.pay(s.customer, order.id, visa()).await.expect_err("lost").status().as_u16(), 503);
    assert_eq!(s.status(order.id).await, OrderStatus::PendingPayment);
    s.faults.clear();
    let paid = s.orders.pay(s.customer, order.id, visa()).await.expect("retry");
    assert_eq!(paid.status, OrderStatus::Paid);
    let payments = s.payments.payments_for_order(order.id).await.expect("payments");
    assert_eq!(payments.len(), 1, "one charge");
    assert_eq!(paid.payment_id, Some(payments[0].id));
    assert_eq!(s.stock().await, 3);
    assert!(
        matches!(s.catalog.release(order.id).await, Err(CatalogError::ReservationConflict { .. })),
        "stock committed"
    );
}

#[tokio::test]
async fn after_a_lost_charge_answer_another_card_is_not_charged() {
    let s = saga(Duration::from_secs(900)).await;
    let order = s.orders.create(s.customer, s.request(1)).await.expect("order");
    s.faults.set(Fault::ChargeLost);
    s.orders.pay(s.customer, order.id, visa()).await.expect_err("lost");
    s.faults.clear();
    let other_card = PayOrder { payment_token: "tok_mastercard".into() };
    let paid = s.orders.pay(s.customer, order.id, other_card).await.expect("paid");
    assert_eq!(paid.status, OrderStatus::Paid);
    let payments = s.payments.payments_for_order(order.id).await.expect("payments");
    assert_eq!(payments.len(), 1, "the first, succeeded charge was used: {payments:?}");
    assert_eq!(paid.payment_id, Some(payments[0].id));
}

#[tokio::test]
async fn a_lost_charge_answer_is_recovered_by_the_reconciler() {
    let s = saga(Duration::from_secs(900)).await;
    let order = s.orders.create(s.customer, s.request(1)).await.expect("order");
    s.faults.set(Fault::ChargeLost);
    s.orders.pay(s.customer, order.id, visa()).await.expect_err("lost");
    s.faults.clear();
    s.settle().await;
    let now = s.orders.get(s.admin, order.id).await.expect("order");
    assert_eq!(now.status, OrderStatus::Paid, "no succeeded payment without a paid order");
    assert!(now.payment_id.is_some());
    assert!(
        matches!(s.catalog.release(order.id).await, Err(CatalogError::ReservationConflict { .. })),
        "stock committed"
    );
}

#[tokio::test]
async fn a_payment_for_an_order_that_expired_meanwhile_is_refunded() {
    let s = saga(Duration::from_millis(500)).await;
    let order = s.orders.create(s.customer, s.request(2)).await.expect("order");
    s.faults.set(Fault::ChargeLost);
    s.orders.pay(s.customer, order.id, visa()).await.expect_err("lost");
    s.faults.clear();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(s.orders.expire_due().await.expect("expire").handled, 1);
    assert_eq!(s.stock().await, 5, "expired stock released");
    s.settle().await;
    assert_eq!(s.status(order.id).await, OrderStatus::Expired);
    let payments = s.payments.payments_for_order(order.id).await.expect("payments");
    assert_eq!(payments.iter().map(|p| p.status).collect::<Vec<_>>(), [PaymentStatus::Refunded]);
}

#[tokio::test]
async fn a_failed_stock_commit_after_payment_is_finished_later() {
    let s = saga(Duration::from_secs(900)).await;
    let order = s.orders.create(s.customer, s.request(2)).await.expect("order");
    s.faults.set(Fault::Commit);
    let paid = s.orders.pay(s.customer, order.id, visa()).await.expect("paid");
    assert_eq!(paid.status, OrderStatus::Paid, "the customer paid: the order is paid");
    s.faults.clear();
    s.settle().await;
    assert!(
        matches!(s.catalog.release(order.id).await, Err(CatalogError::ReservationConflict { .. })),
        "committed now"
    );
    assert_eq!(s.stock().await, 3);
}

#[tokio::test]
async fn a_failed_refund_leaves_the_order_paid_and_stock_sold() {
    let s = saga(Duration::from_secs(900)).await;
    let order = s.orders.create(s.customer, s.request(2)).await.expect("order");
    s.orders.pay(s.customer, order.id, visa()).await.expect("paid");
    s.faults.set(Fault::Refund);
    let err = s.orders.cancel(s.admin, order.id).await.expect_err("refund down");
    assert_eq!(err.status().as_u16(), 503);
    assert_eq!(s.status(order.id).await, OrderStatus::Paid);
    assert_eq!(s.stock().await, 3);
    s.faults.clear();
    assert_eq!(s.orders.cancel(s.admin, order.id).await.expect("refund").status, OrderStatus::Refunded);
    assert_eq!(s.stock().await, 5);
}

#[tokio::test]
async fn a_failed_release_on_cancel_is_finished_later() {
    let s = saga(Duration::from_secs(900)).await;
    let order = s.orders.create(s.customer, s.request(3)).await.expect("order");
    s.faults.set(Fault::Release);
    assert_eq!(s.orders.cancel(s.customer, order.id).await.expect("cancel").status, OrderStatus::Cancelled);
    assert_eq!(s.stock().await, 2, "still held");
    s.faults.clear();
    s.settle().await;
    assert_eq!(s.stock().await, 5, "released by the reconciler");
}

fn token(token: &str) -> PayOrder {
    PayOrder { payment_token: token.into() }
}

impl Saga {
    async fn payment_statuses(&self, order: Uuid) -> Vec<PaymentStatus> {
        let payments = self.payments.payments_for_order(order).await.expect("payments");
        payments.iter().map(|p| p.status).collect()
    }
    async fn settle_payments(&self) -> kernel::module::JobOutcome {
        self.payments_service.settle_pending_older_than(chrono::Duration::zero()).await.expect("settle")
    }
}

#[tokio::test]
async fn a_charge_made_while_its_answer_was_lost_is_settled_and_the_order_paid() {
    let s = saga(Duration::from_secs(900)).await;
    let order = s.orders.create(s.customer, s.request(2)).await.expect("order");
    let lost = s.orders.pay(s.customer, order.id, token(payments::provider::LOST_ANSWER_TOKEN)).await;
    assert_eq!(lost.expect_err("answer lost").status().as_u16(), 503);
    assert_eq!(s.payment_statuses(order.id).await, [PaymentStatus::Pending]);
    s.settle().await;
    assert_eq!(s.status(order.id).await, OrderStatus::PendingPayment, "nothing known yet");

    assert_eq!(s.settle_payments().await.handled, 1);
    assert_eq!(s.payment_statuses(order.id).await, [PaymentStatus::Succeeded], "the provider had charged");
    s.settle().await;
    assert_eq!(s.status(order.id).await, OrderStatus::Paid);
    assert_eq!(s.stock().await, 3, "the paid order's stock is sold");
}

#[tokio::test]
async fn a_lost_charge_for_an_order_that_expired_meanwhile_is_refunded() {
    let s = saga(Duration::from_millis(500)).await;
    let order = s.orders.create(s.customer, s.request(2)).await.expect("order");
    let lost = s.orders.pay(s.customer, order.id, token(payments::provider::LOST_ANSWER_TOKEN)).await;
    lost.expect_err("answer lost");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(s.orders.expire_due().await.expect("expire").handled, 1);
    s.settle().await;
    assert_eq!(
        s.payment_statuses(order.id).await,
        [PaymentStatus::Pending],
        "still to settle, not forgotten"
    );

    s.settle_payments().await;
    s.settle().await;
    assert_eq!(s.status(order.id).await, OrderStatus::Expired);
    assert_eq!(
        s.payment_statuses(order.id).await,
        [PaymentStatus::Refunded],
        "no money kept without an order"
    );
    assert_eq!(s.stock().await, 5);
}

#[tokio::test]
async fn a_charge_the_provider_never_received_fails_and_the_order_stays_payable() {
    let s = saga(Duration::from_secs(900)).await;
    let order = s.orders.create(s.customer, s.request(1)).await.expect("order");
    let outage = s.orders.pay(s.customer, order.id, token(payments::provider::OUTAGE_TOKEN)).await;
    outage.expect_err("outage");
    assert_eq!(s.settle_payments().await.handled, 1);
    assert_eq!(s.payment_statuses(order.id).await, [PaymentStatus::Failed]);
    s.settle().await;
    assert_eq!(s.status(order.id).await, OrderStatus::PendingPayment);
    let paid = s.orders.pay(s.customer, order.id, visa()).await.expect("paid with another card");
    assert_eq!(paid.status, OrderStatus::Paid);
}
