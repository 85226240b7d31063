//! The orders module's contract. No module calls orders today, so there is no
//! trait yet: only the order's shape, shared by the module, its clients and tests.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const MODULE: &str = "orders";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Cancelled,
    Refunded,
    Expired,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Paid => "paid",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::PendingPayment, Self::Paid, Self::Cancelled, Self::Refunded, Self::Expired]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One line of an order: name and price as they were when it was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderItemDto {
    pub product_id: Uuid,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i64,
    pub line_total_cents: i64,
}

/// The shipping address as it was when the order was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShippingAddress {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderDto {
    pub id: Uuid,
    pub user_id: Uuid,
    pub status: OrderStatus,
    pub items: Vec<OrderItemDto>,
    pub total_cents: i64,
    pub currency: String,
    pub shipping_address: Option<ShippingAddress>,
    /// Set once the order is paid.
    pub payment_id: Option<Uuid>,
    /// When an unpaid order expires and its stock is released.
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
