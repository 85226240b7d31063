use actix_web::web::Bytes;
use catalog_api::{CatalogError, ProductDto};
use kernel::db::{is_unique_violation, stored_id, transaction, TxError};
use kernel::error::{validate, FieldError};
use kernel::pagination::{Page, PageParams};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{product_dto, CatalogService, Result};
use crate::requests::{
    slugify, valid_slug, NewCategory, NewProduct, ProductQuery, ProductUpdate, StockUpdate,
};
use crate::store::counts;
use crate::store::products::{self as store, CategoryRow, ProductChanges, ProductFilter, ProductRow, Sort};

/// A product category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CategoryDto {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
}

fn unknown_category() -> CatalogError {
    CatalogError::invalid("category_id", "no such category")
}

/// Maps a unique violation on insert or update to 409 `duplicate_sku`.
fn sku_conflict(e: diesel::result::Error) -> TxError<CatalogError> {
    if is_unique_violation(&e) {
        TxError::Rejected(CatalogError::DuplicateSku)
    } else {
        TxError::Db(e)
    }
}

impl CatalogService {
    /// A page of the public list as JSON, from the read cache while fresh.
    pub async fn list_json(&self, query: ProductQuery) -> Result<Bytes> {
        let key = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            query.page,
            query.per_page,
            query.q,
            query.category_id,
            query.min_price_cents,
            query.max_price_cents,
            query.sort
        );
        if let Some(json) = self.cache.page(&key) {
            return Ok(json);
        }
        let start = self.cache.start_read();
        let json = to_json(&self.list_products(query).await?)?;
        self.cache.keep_page(key, start, json.clone());
        Ok(json)
    }

    /// A product as public JSON, from the read cache while fresh.
    pub async fn product_json(&self, id: Uuid) -> Result<Bytes> {
        if let Some(json) = self.cache.product(id) {
            return Ok(json);
        }
        let start = self.cache.start_read();
        let json = to_json(&self.product(id).await?)?;
        self.cache.keep_product(id, start, json.clone());
        Ok(json)
    }

    pub async fn list_products(&self, query: ProductQuery) -> Result<Page<ProductDto>> {
        let page = PageParams { page: query.page, per_page: query.per_page }.validate()?;
        let mut errors = Vec::new();
        let sort = match query.sort.as_deref() {
            None | Some("newest") => Sort::Newest,
            Some("price_asc") => Sort::PriceAsc,
            Some("price_desc") => Sort::PriceDesc,
            Some("name") => Sort::Name,
            Some(_) => {
                errors.push(FieldError {
                    field: "sort".into(),
                    message: "must be one of newest, price_asc, price_desc, name".into(),
                });
                Sort::Newest
            }
        };
        for (field, value) in
            [("min_price_cents", query.min_price_cents), ("max_price_cents", query.max_price_cents)]
        {
            if value.is_some_and(|v| v < 0) {
                errors.push(FieldError { field: field.into(), message: "must not be negative".into() });
            }
        }
        if let (Some(min), Some(max)) = (query.min_price_cents, query.max_price_cents) {
            if min > max {
                errors.push(FieldError {
                    field: "min_price_cents".into(),
                    message: "must not exceed max_price_cents".into(),
                });
            }
        }
        let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if q.is_some_and(|q| q.chars().count() > 100) {
            errors.push(FieldError { field: "q".into(), message: "must be at most 100 characters".into() });
        }
        if q.is_some_and(kernel::text::has_forbidden_chars) {
            errors.push(FieldError {
                field: "q".into(),
                message: "must not contain control characters".into(),
            });
        }
        if !errors.is_empty() {
            return Err(CatalogError::Invalid(errors));
        }
        let filter = ProductFilter {
            name_contains: q.map(str::to_owned),
            category_id: query.category_id.map(|id| id.to_string()),
            min_price_cents: query.min_price_cents,
            max_price_cents: query.max_price_cents,
        };
        let (rows, total) = self.db.query(move |c| store::list(c, &filter, sort, page)).await?;
        let items = rows.into_iter().map(product_dto).collect::<Result<Vec<_>>>()?;
        Ok(Page::new(items, page, total))
    }

    pub async fn product(&self, id: Uuid) -> Result<ProductDto> {
        let key = id.to_string();
        let row = self.db.query(move |c| store::find(c, &key)).await?;
        product_dto(row.ok_or(CatalogError::ProductNotFound)?)
    }

    pub async fn create_product(&self, input: NewProduct) -> Result<ProductDto> {
        let input = NewProduct {
            sku: input.sku.trim().to_owned(),
            name: input.name.trim().to_owned(),
            description: input.description.trim().to_owned(),
            ..input
        };
        validate(&input)?;
        let now = kernel::now();
        let row = ProductRow {
            id: kernel::new_id().to_string(),
            sku: input.sku,
            name: input.name,
            description: input.description,
            price_cents: input.price_cents,
            currency: input.currency,
            stock: input.stock,
            category_id: input.category_id.map(|id| id.to_string()),
            active: true,
            created_at: now,
            updated_at: now,
        };
        let saved = row.clone();
        self.db
            .run(move |c| {
                transaction(c, |c| {
                    if let Some(category) = &row.category_id {
                        if !store::category_exists(c, category)? {
                            return Err(TxError::Rejected(unknown_category()));
                        }
                    }
                    store::insert(c, &row).map_err(sku_conflict)?;
                    counts::product_changed(c, None, (row.active, row.category_id.as_deref()))?;
                    Ok(())
                })
                .map_err(TxError::into_inner)
            })
            .await?;
        let product = product_dto(saved)?;
        self.cache.forget_products(&[product.id]);
        Ok(product)
    }

    pub async fn update_product(&self, id: Uuid, update: ProductUpdate) -> Result<ProductDto> {
        let update = ProductUpdate {
            sku: update.sku.map(|s| s.trim().to_owned()),
            name: update.name.map(|s| s.trim().to_owned()),
            description: update.description.map(|s| s.trim().to_owned()),
            ..update
        };
        validate(&update)?;
        let changes = ProductChanges {
            sku: update.sku,
            name: update.name,
            description: update.description,
            price_cents: update.price_cents,
            currency: update.currency,
            category_id: update.category_id.map(|c| c.map(|id| id.to_string())),
            active: update.active,
            updated_at: Some(kernel::now()),
        };
        product_dto(self.change(id, changes).await?)
    }

    /// Archives: the product stops being listed and ordered; orders keep their history.
    pub async fn archive_product(&self, id: Uuid) -> Result<()> {
        let changes =
            ProductChanges { active: Some(false), updated_at: Some(kernel::now()), ..Default::default() };
        self.change(id, changes).await.map(drop)
    }

    /// Applies an admin's changes in one transaction, with the list counts;
    /// returns the product as it now is.
    async fn change(&self, id: Uuid, changes: ProductChanges) -> Result<ProductRow> {
        let key = id.to_string();
        let changed = self
            .db
            .run(move |c| {
                transaction(c, |c| {
                    // Writing first locks the row, so what is read next stays true until commit.
                    if store::touch(c, &key, kernel::now())? == 0 {
                        return Err(TxError::Rejected(CatalogError::ProductNotFound));
                    }
                    let before =
                        store::find(c, &key)?.ok_or(TxError::Rejected(CatalogError::ProductNotFound))?;
                    if let Some(Some(category)) = &changes.category_id {
                        if !store::category_exists(c, category)? {
                            return Err(TxError::Rejected(unknown_category()));
                        }
                    }
                    store::update(c, &key, &changes).map_err(sku_conflict)?;
                    let after = changes.applied_to(before.clone());
                    counts::product_changed(
                        c,
                        Some((before.active, before.category_id.as_deref())),
                        (after.active, after.category_id.as_deref()),
                    )?;
                    Ok(after)
                })
                .map_err(TxError::into_inner)
            })
            .await;
        self.cache.forget_products(&[id]);
        changed
    }

    pub async fn set_stock(&self, id: Uuid, update: StockUpdate) -> Result<ProductDto> {
        validate(&update)?;
        let key = id.to_string();
        let stock = update.stock;
        let changed = self.db.query(move |c| store::set_stock(c, &key, stock, kernel::now())).await?;
        self.cache.forget_stock(&[id]);
        match changed {
            0 => Err(CatalogError::ProductNotFound),
            _ => self.product(id).await,
        }
    }

    pub async fn categories(&self) -> Result<Vec<CategoryDto>> {
        let rows = self.db.query(store::list_categories).await?;
        rows.into_iter().map(category_dto).collect()
    }

    pub async fn create_category(&self, input: NewCategory) -> Result<CategoryDto> {
        let input = NewCategory { name: input.name.trim().to_owned(), slug: input.slug };
        validate(&input)?;
        let slug = input.slug.map(|s| s.trim().to_owned()).unwrap_or_else(|| slugify(&input.name));
        if !valid_slug(&slug) {
            return Err(CatalogError::invalid("slug", "must be lower-case letters, digits and -"));
        }
        let row = CategoryRow {
            id: kernel::new_id().to_string(),
            name: input.name,
            slug,
            created_at: kernel::now(),
        };
        let saved = row.clone();
        self.db
            .run(move |c| {
                transaction(c, |c| {
                    store::insert_category(c, &row).map_err(|e| {
                        if is_unique_violation(&e) {
                            TxError::Rejected(CatalogError::DuplicateSlug)
                        } else {
                            TxError::Db(e)
                        }
                    })?;
                    counts::start(c, &counts::category(&row.id))?;
                    Ok(())
                })
                .map_err(TxError::into_inner)
            })
            .await?;
        category_dto(saved)
    }
}

fn to_json(value: &impl Serialize) -> Result<Bytes> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|e| CatalogError::Internal(e.to_string()))
}

fn category_dto(row: CategoryRow) -> Result<CategoryDto> {
    Ok(CategoryDto { id: stored_id(&row.id)?, name: row.name, slug: row.slug })
}
