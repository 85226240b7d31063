//! Products and categories.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kernel::db::{DbBackend, DbConnection};
use kernel::pagination::PageRequest;

use super::QueryResult;
use crate::schema::{categories, products};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = products)]
pub struct ProductRow {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub currency: String,
    pub stock: i64,
    pub category_id: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An admin's partial update; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = products)]
pub struct ProductChanges {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_cents: Option<i64>,
    pub currency: Option<String>,
    /// `Some(None)` clears the category.
    pub category_id: Option<Option<String>>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = categories)]
pub struct CategoryRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Newest,
    PriceAsc,
    PriceDesc,
    Name,
}

/// Filters of the public product list; only active products are listed.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// Matched anywhere in the name, case-insensitively; `%` and `_` are literal.
    pub name_contains: Option<String>,
    pub category_id: Option<String>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
}

fn filtered(filter: &ProductFilter) -> products::BoxedQuery<'static, DbBackend> {
    let mut query = products::table.filter(products::active.eq(true)).into_boxed();
    if let Some(text) = &filter.name_contains {
        let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        query = query.filter(products::name.like(format!("%{escaped}%")).escape('\\'));
    }
    if let Some(category) = &filter.category_id {
        query = query.filter(products::category_id.eq(category.clone()));
    }
    if let Some(min) = filter.min_price_cents {
        query = query.filter(products::price_cents.ge(min));
    }
    if let Some(max) = filter.max_price_cents {
        query = query.filter(products::price_cents.le(max));
    }
    query
}

/// One page and the total: two queries, whatever the page size.
pub fn list(
    conn: &mut DbConnection,
    filter: &ProductFilter,
    sort: Sort,
    page: PageRequest,
) -> QueryResult<(Vec<ProductRow>, i64)> {
    let query = filtered(filter);
    let query = match sort {
        Sort::Newest => query.order((products::created_at.desc(), products::id.desc())),
        Sort::PriceAsc => query.order((products::price_cents.asc(), products::id.asc())),
        Sort::PriceDesc => query.order((products::price_cents.desc(), products::id.asc())),
        Sort::Name => query.order((products::name.asc(), products::id.asc())),
    };
    let rows = query.limit(page.limit()).offset(page.offset()).select(ProductRow::as_select()).load(conn)?;
    let total = filtered(filter).count().get_result(conn)?;
    Ok((rows, total))
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ProductRow>> {
    products::table.find(id).select(ProductRow::as_select()).first(conn).optional()
}

pub fn find_many(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<ProductRow>> {
    products::table.filter(products::id.eq_any(ids)).select(ProductRow::as_select()).load(conn)
}

pub fn insert(conn: &mut DbConnection, row: &ProductRow) -> QueryResult<()> {
    diesel::insert_into(products::table).values(row).execute(conn).map(drop)
}

pub fn update(conn: &mut DbConnection, id: &str, changes: &ProductChanges) -> QueryResult<usize> {
    diesel::update(products::table.find(id)).set(changes).execute(conn)
}

pub fn set_stock(conn: &mut DbConnection, id: &str, stock: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(products::table.find(id))
        .set((products::stock.eq(stock), products::updated_at.eq(at)))
        .execute(conn)
}

/// Takes `quantity` if that much is available on an active product: 1 row, else 0.
pub fn take_stock(conn: &mut DbConnection, id: &str, quantity: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        products::table
            .filter(products::id.eq(id).and(products::active.eq(true)).and(products::stock.ge(quantity))),
    )
    .set((products::stock.eq(products::stock - quantity), products::updated_at.eq(at)))
    .execute(conn)
}

/// Gives `quantity` back, whether or not the product is still active.
pub fn return_stock(
    conn: &mut DbConnection,
    id: &str,
    quantity: i64,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(products::table.find(id))
        .set((products::stock.eq(products::stock + quantity), products::updated_at.eq(at)))
        .execute(conn)
}

pub fn category_exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(categories::table.find(id))).get_result(conn)
}

pub fn insert_category(conn: &mut DbConnection, row: &CategoryRow) -> QueryResult<()> {
    diesel::insert_into(categories::table).values(row).execute(conn).map(drop)
}

pub fn list_categories(conn: &mut DbConnection) -> QueryResult<Vec<CategoryRow>> {
    categories::table
        .order((categories::name.asc(), categories::id.asc()))
        .select(CategoryRow::as_select())
        .load(conn)
}
