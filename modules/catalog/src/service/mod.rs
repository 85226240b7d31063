//! The catalog's rules: products and categories for the public API
//! (`products.rs`), stock reservations for orders (`reservations.rs`).

mod products;
mod reservations;

use catalog_api::{CatalogError, ProductDto};
use kernel::db::Database;
use kernel::ApiError;
use uuid::Uuid;

use crate::store::products::ProductRow;

pub use products::CategoryDto;

pub struct CatalogService {
    db: Database,
}

type Result<T> = std::result::Result<T, CatalogError>;

impl CatalogService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }
}

fn parse_id(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text)
        .map_err(|e| ApiError::internal(format!("stored id `{text}` is not a UUID: {e}")).into())
}

fn product_dto(row: ProductRow) -> Result<ProductDto> {
    Ok(ProductDto {
        id: parse_id(&row.id)?,
        category_id: row.category_id.as_deref().map(parse_id).transpose()?,
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
