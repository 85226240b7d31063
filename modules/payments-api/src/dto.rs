use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

kernel::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum PaymentStatus {
        /// Sent to the provider, outcome unknown yet (never shown publicly).
        Pending => "pending",
        Succeeded => "succeeded",
        Failed => "failed",
        Refunded => "refunded",
    }
}

/// A payment attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentDto {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount_cents: i64,
    pub currency: String,
    /// `succeeded`, `failed` or `refunded`.
    pub status: PaymentStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeRequest {
    /// Chosen by the caller; the same key never charges twice.
    pub idempotency_key: String,
    pub order_id: Uuid,
    /// The order's owner: who may read the payment.
    pub user_id: Uuid,
    pub amount_cents: i64,
    pub currency: String,
    /// The provider's card token, e.g. `tok_visa`.
    pub payment_token: String,
}
