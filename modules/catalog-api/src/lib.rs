//! The catalog module's contract: what orders may ask of it, in-process or
//! over `/internal/v1/catalog` through [`HttpCatalog`].

mod client;
mod dto;
mod error;

pub use client::HttpCatalog;
pub use dto::{
    LookupRequest, ProductDto, ProductOffer, Reservation, ReservationLine, ReservationStatus, ReserveRequest,
    Shortfall, MAX_RESERVATION_LINES, MAX_UNITS_PER_PRODUCT,
};
pub use error::*;

use std::sync::Arc;

use kernel::http::RemoteClient;
use kernel::wiring::{Contract, Provided};
use uuid::Uuid;

pub const MODULE: &str = "catalog";

/// The catalog reached over HTTP when it runs in another process.
pub const CONTRACT: Contract = Contract { name: MODULE, remote };

fn remote(client: RemoteClient, provided: &mut Provided) {
    provided.provide::<dyn CatalogApi>(Arc::new(HttpCatalog::new(client)));
}

/// Orders price their lines with `offers`. Stock reservations follow one order
/// through a saga: `reserve` when the order is placed, then `commit` when it is
/// paid or `release` when it is cancelled or expires; `restock` returns
/// committed stock on a refund.
/// Every call is idempotent by order id.
#[async_trait::async_trait]
pub trait CatalogApi: Send + Sync {
    /// The products that exist among `ids` (archived ones included, with
    /// `active: false`), as orders price them: as of at most
    /// `catalog.read_cache_ttl` (1 s) ago, and as of this catalog's own last
    /// change of them. A product archived meanwhile is still refused by `reserve`.
    async fn offers(&self, ids: Vec<Uuid>) -> Result<Vec<ProductOffer>, CatalogError>;

    /// Takes stock for every line or for none. Repeating the call with the same
    /// lines returns the same reservation; other lines for the same order are a conflict.
    async fn reserve(&self, request: ReserveRequest) -> Result<Reservation, CatalogError>;

    /// Gives held stock back. Unknown or already released: fine.
    async fn release(&self, order_id: Uuid) -> Result<(), CatalogError>;

    /// Makes a held reservation final (the order was paid).
    async fn commit(&self, order_id: Uuid) -> Result<(), CatalogError>;

    /// Returns committed stock (the order was refunded).
    async fn restock(&self, order_id: Uuid) -> Result<(), CatalogError>;
}
