//! The payments trait (in-process and over HTTP) and the public reads.

use std::sync::Arc;

use kernel::http::RemoteClient;
use payments_api::{ChargeRequest, HttpPayments, PaymentStatus, PaymentsApi, PaymentsError};
use reqwest::StatusCode;
use secrecy::SecretString;
use uuid::Uuid;

use crate::helpers::{assert_problem, body, spawn_app, TestApp, INTERNAL_TOKEN};

fn in_process(app: &TestApp) -> Arc<dyn PaymentsApi> {
    let url = app.settings.database_url("payments");
    let db = kernel::db::Database::connect("payments", &url, &app.settings.database).expect("payments db");
    Arc::new(payments::PaymentsService::new(db, Arc::new(payments::provider::TestProvider::default())))
}

fn over_http(app: &TestApp) -> Arc<dyn PaymentsApi> {
    let token = Some(SecretString::from(INTERNAL_TOKEN));
    Arc::new(HttpPayments::new(RemoteClient::new("payments", &app.address, token)))
}

fn charge(user: &str, order: Uuid, key: &str, token: &str) -> ChargeRequest {
    ChargeRequest {
        idempotency_key: key.to_owned(),
        order_id: order,
        user_id: Uuid::parse_str(user).expect("uuid"),
        amount_cents: 4200,
        currency: "EUR".into(),
        payment_token: token.into(),
    }
}

async fn charging_story(api: Arc<dyn PaymentsApi>, user: &str) {
    // One key, one charge: the replay answers the same payment.
    let order = Uuid::now_v7();
    let first = api.charge(charge(user, order, &format!("{order}:1"), "tok_visa")).await.expect("charge");
    assert_eq!(first.status, PaymentStatus::Succeeded);
    assert_eq!((first.amount_cents, first.currency.as_str(), first.order_id), (4200, "EUR", order));
    let replay = api.charge(charge(user, order, &format!("{order}:1"), "tok_visa")).await.expect("replay");
    assert_eq!(replay, first);
    assert_eq!(api.payments_for_order(order).await.expect("list").len(), 1);

    // The same key for another amount is refused.
    let mut other = charge(user, order, &format!("{order}:1"), "tok_visa");
    other.amount_cents = 1;
    assert!(matches!(api.charge(other).await, Err(PaymentsError::KeyReused)));

    // A decline is an answer, remembered like a success.
    let declined_order = Uuid::now_v7();
    let declined = api
        .charge(charge(user, declined_order, &format!("{declined_order}:1"), "tok_chargeDeclined"))
        .await
        .expect("declined is an outcome");
    assert_eq!(declined.status, PaymentStatus::Failed);
    let again = api
        .charge(charge(user, declined_order, &format!("{declined_order}:1"), "tok_visa"))
        .await
        .expect("replay");
    assert_eq!(again, declined);

    // An outage leaves a pending attempt; the retry with the same key settles it, once.
    let outage_order = Uuid::now_v7();
    let key = format!("{outage_order}:1");
    assert!(matches!(
        api.charge(charge(user, outage_order, &key, payments::provider::OUTAGE_TOKEN)).await,
        Err(PaymentsError::ProviderUnavailable)
    ));
    let pending = api.payments_for_order(outage_order).await.expect("list");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].status, PaymentStatus::Pending);
    let settled = api.charge(charge(user, outage_order, &key, "tok_visa")).await.expect("retry");
    assert_eq!(settled.status, PaymentStatus::Succeeded);
    assert_eq!(settled.id, pending[0].id);
    assert_eq!(api.payments_for_order(outage_order).await.expect("list").len(), 1);

    // Refunds are idempotent and only for succeeded payments.
    let refunded = api.refund(first.id).await.expect("refund");
    assert_eq!(refunded.status, PaymentStatus::Refunded);
    assert_eq!(api.refund(first.id).await.expect("refund again"), refunded);
    assert!(matches!(api.refund(declined.id).await, Err(PaymentsError::NotRefundable)));
    assert!(matches!(api.refund(Uuid::now_v7()).await, Err(PaymentsError::NotFound)));

    // Nonsense is rejected before anything is stored.
    let mut bad = charge(user, Uuid::now_v7(), "bad-1", "tok_visa");
    bad.amount_cents = 0;
    match api.charge(bad).await {
        Err(PaymentsError::Invalid(errors)) => assert!(!errors.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn charges_behave_the_same_in_process_and_over_http() {
    let app = spawn_app().await;
    let user = app.customer("payer@example.com").await;
    charging_story(in_process(&app), &user.id).await;
    charging_story(over_http(&app), &user.id).await;
}

#[tokio::test]
async fn only_the_owner_or_an_admin_reads_a_payment() {
    let app = spawn_app().await;
    let owner = app.customer("owner-pay@example.com").await;
    let stranger = app.customer("stranger-pay@example.com").await;
    let admin = app.admin("admin-pay@example.com").await;
    let api = in_process(&app);
    let order = Uuid::now_v7();
    let payment = api.charge(charge(&owner.id, order, "read-1", "tok_visa")).await.expect("charge");
    let pending_order = Uuid::now_v7();
    let outage =
        api.charge(charge(&owner.id, pending_order, "read-2", payments::provider::OUTAGE_TOKEN)).await;
    assert!(matches!(outage, Err(PaymentsError::ProviderUnavailable)), "{outage:?}");
    let pending = api.payments_for_order(pending_order).await.expect("attempts");
    assert_eq!(
        pending.iter().map(|p| p.status).collect::<Vec<_>>(),
        vec![PaymentStatus::Pending],
        "a pending row"
    );

    let path = format!("/api/v1/payments/{}", payment.id);
    let seen = body(app.get(&path, Some(&owner.access)).await).await;
    assert_eq!(seen["status"], "succeeded");
    assert_eq!(seen["amount_cents"], 4200);
    assert_eq!(seen["order_id"], order.to_string());
    for field in ["id", "currency", "created_at"] {
        assert!(seen.get(field).is_some(), "{field}");
    }
    assert_eq!(app.get(&path, Some(&admin.access)).await.status(), StatusCode::OK);
    assert_problem(app.get(&path, Some(&stranger.access)).await, StatusCode::NOT_FOUND, "payment_not_found")
        .await;
    assert_problem(app.get(&path, None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let mine = body(app.get(&format!("/api/v1/payments?order_id={order}"), Some(&owner.access)).await).await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["items"][0]["id"], payment.id.to_string());
    let theirs =
        body(app.get(&format!("/api/v1/payments?order_id={order}"), Some(&stranger.access)).await).await;
    assert_eq!(theirs["total"], 0);
    // Pending attempts are not payments yet.
    let all_mine = body(app.get("/api/v1/payments", Some(&owner.access)).await).await;
    assert_eq!(all_mine["total"], 1);
    let everyone = body(app.get("/api/v1/payments", Some(&admin.access)).await).await;
    assert_eq!(everyone["total"], 1);
    assert_problem(
        app.get("/api/v1/payments?order_id=nope", Some(&owner.access)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}
