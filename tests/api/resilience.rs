//! The internal client toward a module that is down or hung: bounded waits,
//! a breaker that answers at once, and what `/metrics` says about it.

use std::time::{Duration, Instant};

use catalog_api::{CatalogApi, CatalogError, HttpCatalog, ReservationLine, ReserveRequest};
use kernel::http::RemoteClient;
use secrecy::SecretString;
use uuid::Uuid;

use crate::helpers::INTERNAL_TOKEN;

fn catalog_at(address: &str) -> HttpCatalog {
    HttpCatalog::new(RemoteClient::new("catalog", address, Some(SecretString::from(INTERNAL_TOKEN))))
}

fn remote_metrics() -> String {
    kernel::metrics::Metrics::new().render(&[])
}

#[tokio::test]
async fn a_dependency_that_keeps_failing_is_refused_at_once_by_its_breaker() {
    let closed_port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let catalog = catalog_at(&format!("http://127.0.0.1:{closed_port}"));
    for _ in 0..5 {
        let failed = catalog.offers(vec![Uuid::now_v7()]).await;
        assert!(matches!(failed, Err(CatalogError::Unavailable(_))), "{failed:?}");
    }
    let started = Instant::now();
    let refused = catalog.offers(vec![Uuid::now_v7()]).await;
    assert!(started.elapsed() < Duration::from_millis(50), "an open breaker answers at once");
    match refused {
        Err(CatalogError::Unavailable(why)) => assert!(why.contains("circuit breaker"), "{why}"),
        other => panic!("expected the breaker to refuse: {other:?}"),
    }
    let text = remote_metrics();
    assert!(
        text.contains(
            r#"remote_calls_total{operation="POST /products/lookup",outcome="breaker_open",target="catalog"}"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"outcome="unavailable",target="catalog""#), "{text}");
}

#[tokio::test]
async fn a_hung_dependency_costs_a_bounded_wait() {
    // Accepts connections and never answers, like a process stopped with SIGSTOP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let catalog = catalog_at(&address);
    let started = Instant::now();
    let line = ReservationLine { product_id: Uuid::now_v7(), quantity: 1 };
    let hung = catalog
        .reserve(ReserveRequest { order_id: Uuid::now_v7(), lines: vec![line], hold_seconds: 60 })
        .await;
    let waited = started.elapsed();
    assert!(matches!(hung, Err(CatalogError::Unavailable(_))), "{hung:?}");
    assert!(waited < Duration::from_secs(3), "a write gives up within 3 s, waited {waited:?}");
    assert!(remote_metrics().contains(r#"operation="POST /reservations",outcome="timeout",target="catalog""#));
}
