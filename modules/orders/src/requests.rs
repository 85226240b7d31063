//! Bodies of the orders endpoints.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use validator::Validate;

/// `user_id`, prices and status are never taken from the client.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, utoipa::ToSchema)]
pub struct CreateOrder {
    #[validate(length(min = 1, max = 100, message = "must have 1 to 100 lines"), nested)]
    pub items: Vec<OrderLine>,
    /// One of the caller's addresses, copied into the order.
    pub shipping_address_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, utoipa::ToSchema)]
pub struct OrderLine {
    pub product_id: Uuid,
    #[validate(range(min = 1, max = 10_000, message = "must be between 1 and 10000"))]
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, utoipa::ToSchema)]
pub struct PayOrder {
    /// The payment provider's card token, e.g. `tok_visa`.
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "kernel::text::plain_text")
    )]
    pub payment_token: String,
}
