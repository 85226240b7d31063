use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A product as the catalog shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductDto {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: String,
    /// Integer minor units (cents).
    pub price_cents: i64,
    /// ISO 4217.
    pub currency: String,
    /// Units available to order now.
    pub stock: i64,
    pub category_id: Option<Uuid>,
    /// Archived products are inactive: not listed, not orderable.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What orders need of a product to price a line: it never carries stock (the
/// reservation decides that), so it may be kept between a catalog's writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductOffer {
    pub id: Uuid,
    pub name: String,
    /// Integer minor units (cents).
    pub price_cents: i64,
    /// ISO 4217.
    pub currency: String,
    /// Archived products are inactive: not orderable.
    pub active: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LookupRequest {
    pub ids: Vec<Uuid>,
}

/// The most products one reservation may hold.
pub const MAX_RESERVATION_LINES: usize = 100;
/// The most units of one product one reservation may hold.
pub const MAX_UNITS_PER_PRODUCT: i64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationLine {
    pub product_id: Uuid,
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReserveRequest {
    pub order_id: Uuid,
    pub lines: Vec<ReservationLine>,
    /// How long the catalog holds the stock if nobody commits or releases it.
    pub hold_seconds: u64,
}

kernel::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum ReservationStatus {
        Held => "held",
        Committed => "committed",
        Released => "released",
        Restocked => "restocked",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub order_id: Uuid,
    pub status: ReservationStatus,
    /// Sorted by product id, one line per product.
    pub lines: Vec<ReservationLine>,
    pub expires_at: DateTime<Utc>,
}

/// A line that cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Shortfall {
    pub product_id: Uuid,
    pub requested: i64,
    pub available: i64,
}
