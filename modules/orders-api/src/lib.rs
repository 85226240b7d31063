//! The orders module's contract. No module calls orders today, so there is no
//! trait yet: only the order's shape and its problem types, shared by the
//! module, its clients and tests.

use chrono::{DateTime, Utc};
use kernel::error::ProblemType;
use kernel::wiring::{Contract, Provided};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const MODULE: &str = "orders";

/// No module calls orders, so nothing is provided when it runs elsewhere.
pub const CONTRACT: Contract = Contract { name: MODULE, remote: |_, _: &mut Provided| {} };

pub const ORDER_NOT_FOUND: ProblemType = ProblemType::new("order_not_found", 404);
/// Only a pending order can be paid; `order_status` says what it is.
pub const ORDER_NOT_PAYABLE: ProblemType = ProblemType::new("order_not_payable", 409);
pub const ORDER_NOT_CANCELLABLE: ProblemType = ProblemType::new("order_not_cancellable", 409);
pub const PAYMENT_DECLINED: ProblemType = ProblemType::new("payment_declined", 402);

/// The orders module's problem types.
pub const PROBLEMS: &[ProblemType] =
    &[ORDER_NOT_FOUND, ORDER_NOT_PAYABLE, ORDER_NOT_CANCELLABLE, PAYMENT_DECLINED];

kernel::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum OrderStatus {
        PendingPayment => "pending_payment",
        Paid => "paid",
        Cancelled => "cancelled",
        Refunded => "refunded",
        Expired => "expired",
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
