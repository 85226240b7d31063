//! The payments module's contract: what orders may ask of it, in-process or
//! over `/internal/v1/payments` through [`HttpPayments`].

mod client;
mod dto;
mod error;

pub use client::HttpPayments;
pub use dto::{ChargeRequest, PaymentDto, PaymentStatus};
pub use error::*;

use std::sync::Arc;

use kernel::http::RemoteClient;
use kernel::wiring::{Contract, Provided};
use uuid::Uuid;

pub const MODULE: &str = "payments";

/// Payments reached over HTTP when it runs in another process.
pub const CONTRACT: Contract = Contract { name: MODULE, remote };

fn remote(client: RemoteClient, provided: &mut Provided) {
    provided.provide::<dyn PaymentsApi>(Arc::new(HttpPayments::new(client)));
}

#[async_trait::async_trait]
pub trait PaymentsApi: Send + Sync {
    /// Charges once per idempotency key: a repeated call (say, after its answer
    /// was lost) returns the first outcome and never charges again. A declined
    /// card is `Ok` with status `failed`; a provider outage is
    /// `Err(ProviderUnavailable)` and leaves the charge to be retried with the same key.
    async fn charge(&self, request: ChargeRequest) -> Result<PaymentDto, PaymentsError>;

    /// Refunds a succeeded payment; refunding it again returns it unchanged.
    async fn refund(&self, payment_id: Uuid) -> Result<PaymentDto, PaymentsError>;

    /// Every payment attempt of an order, pending ones included (for reconciliation).
    async fn payments_for_order(&self, order_id: Uuid) -> Result<Vec<PaymentDto>, PaymentsError>;
}
