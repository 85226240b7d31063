//! The catalog's rules: products and categories for the public API
//! (`products.rs`, answered through `read_cache.rs`), offers and stock
//! reservations for orders (`reservations.rs`, offers kept in `read_cache.rs` too,
//! looked up together in `offer_lookups.rs`).

mod offer_lookups;
mod products;
mod read_cache;
mod reservations;

use catalog_api::{CatalogError, ProductDto, ProductOffer, Reservation};
use kernel::db::{stored_id, Combined, Database};

use crate::store::products::ProductRow;

pub use products::CategoryDto;
use read_cache::ReadCache;

pub struct CatalogService {
    db: Database,
    cache: ReadCache,
    /// Offers looked up at the same moment, looked up together.
    lookups: Combined<Vec<String>, Vec<ProductRow>>,
    /// Reservations made at the same moment, made together.
    reservations: Combined<reservations::Requested, Result<Reservation>>,
}

type Result<T> = std::result::Result<T, CatalogError>;

impl CatalogService {
    /// The service with its public reads kept for the longest the contract allows, 1 s.
    pub fn new(db: Database) -> Self {
        let (lookups, reservations) =
            (offer_lookups::combined(db.clone()), reservations::combined(db.clone()));
        Self { db, cache: ReadCache::new(std::time::Duration::from_secs(1)), lookups, reservations }
    }

    /// How long public reads may be answered from what was read before (`catalog.read_cache_ttl`).
    pub fn with_read_cache_ttl(self, ttl: std::time::Duration) -> Self {
        Self { cache: ReadCache::new(ttl), ..self }
    }
}

fn product_dto(row: ProductRow) -> Result<ProductDto> {
    Ok(ProductDto {
        id: stored_id(&row.id)?,
        category_id: row.category_id.as_deref().map(stored_id).transpose()?,
        sku: row.sku,
        name: row.name,
        description: row.description,
        price_cents: row.price_cents,
        currency: row.currency,
        stock: row.stock,
        active: row.active,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

fn offer(row: ProductRow) -> Result<ProductOffer> {
    Ok(ProductOffer {
        id: stored_id(&row.id)?,
        name: row.name,
        price_cents: row.price_cents,
        currency: row.currency,
        active: row.active,
    })
}
