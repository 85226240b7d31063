//! Products and categories.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Text, Timestamp};
use kernel::db::{execute, DbBackend, DbConnection};
use kernel::pagination::PageRequest;

use super::counts;
use super::reservations::Line;
use super::QueryResult;
use crate::schema::{categories, products};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = products, treat_none_as_default_value = false)]
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

impl ProductChanges {
    /// `row` with these changes made.
    pub fn applied_to(&self, row: ProductRow) -> ProductRow {
        let changes = self.clone();
        ProductRow {
            sku: changes.sku.unwrap_or(row.sku),
            name: changes.name.unwrap_or(row.name),
            description: changes.description.unwrap_or(row.description),
            price_cents: changes.price_cents.unwrap_or(row.price_cents),
            currency: changes.currency.unwrap_or(row.currency),
            category_id: changes.category_id.unwrap_or(row.category_id),
            active: changes.active.unwrap_or(row.active),
            updated_at: changes.updated_at.unwrap_or(row.updated_at),
            ..row
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = categories, treat_none_as_default_value = false)]
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

/// One page and the total: two queries, whatever the page size. Without a
/// text or price filter the total is the scope's kept count, else a count of the matches.
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
    let counted = filter.name_contains.is_none()
        && filter.min_price_cents.is_none()
        && filter.max_price_cents.is_none();
    let kept = if counted {
        counts::active_products(conn, &counts::scope_of(filter.category_id.as_deref()))?
    } else {
        None
    };
    let total = match kept {
        Some(total) => total,
        None => filtered(filter).count().get_result(conn)?,
    };
    Ok((rows, total))
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ProductRow>> {
    products::table.find(id).select(ProductRow::as_select()).first(conn).optional()
}

/// One statement. A single id (the usual order) is looked up as `find` does:
/// Diesel keeps that statement prepared, while an `IN` list is prepared anew each time.
pub fn find_many(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<ProductRow>> {
    match ids {
        [id] => Ok(find(conn, id)?.into_iter().collect()),
        ids => products::table.filter(products::id.eq_any(ids)).select(ProductRow::as_select()).load(conn),
    }
}

pub fn insert(conn: &mut DbConnection, row: &ProductRow) -> QueryResult<()> {
    diesel::insert_into(products::table).values(row).execute(conn).map(drop)
}

pub fn update(conn: &mut DbConnection, id: &str, changes: &ProductChanges) -> QueryResult<usize> {
    execute(conn, diesel::update(products::table.find(id)).set(changes))
}

/// Marks the row updated: 1 if it exists. Inside a transaction, it locks the row first.
pub fn touch(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    execute(conn, diesel::update(products::table.find(id)).set(products::updated_at.eq(at)))
}

pub fn set_stock(conn: &mut DbConnection, id: &str, stock: i64, at: NaiveDateTime) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(products::table.find(id))
            .set((products::stock.eq(stock), products::updated_at.eq(at))),
    )
}

/// Takes every line's quantity in one statement, all or nothing: the rows it
/// matched, which is `lines.len()` only if every product is active and has
/// the stock (any less, and the caller rolls back).
pub fn take_stock(conn: &mut DbConnection, lines: &[Line], at: NaiveDateTime) -> QueryResult<usize> {
    if lines.is_empty() {
        return Ok(0);
    }
    execute(conn, StockChange { lines, take: true, at })
}

/// Gives every line's quantity back in one statement, whether or not the products are still active.
pub fn return_stock(conn: &mut DbConnection, lines: &[Line], at: NaiveDateTime) -> QueryResult<usize> {
    if lines.is_empty() {
        return Ok(0);
    }
    execute(conn, StockChange { lines, take: false, at })
}

/// `UPDATE products SET stock = stock ∓ CASE id WHEN ? THEN ? … END,
/// updated_at = ? WHERE id IN (…)`, and when taking, `AND active AND stock >=`
/// the same CASE. Diesel's DSL cannot build a CASE whose length is known only
/// at run time, so the statement writes its SQL itself; the names are those of
/// `schema.rs`.
struct StockChange<'a> {
    lines: &'a [Line],
    take: bool,
    at: NaiveDateTime,
}

impl StockChange<'_> {
    fn quantity_by_id<'b, DB>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()>
    where
        DB: Backend,
        String: ToSql<Text, DB>,
        i64: ToSql<BigInt, DB>,
    {
        out.push_sql("CASE id");
        for line in self.lines {
            out.push_sql(" WHEN ");
            out.push_bind_param::<Text, _>(&line.product_id)?;
            out.push_sql(" THEN ");
            out.push_bind_param::<BigInt, _>(&line.quantity)?;
        }
        out.push_sql(" END");
        Ok(())
    }
}

/// No static id: its SQL depends on how many lines it has.
impl diesel::query_builder::QueryId for StockChange<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for StockChange<'_>
where
    DB: Backend,
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(if self.take {
            "UPDATE products SET stock = stock - "
        } else {
            "UPDATE products SET stock = stock + "
        });
        self.quantity_by_id(&mut out)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(" WHERE id IN (");
        for (i, line) in self.lines.iter().enumerate() {
            out.push_sql(if i == 0 { "" } else { ", " });
            out.push_bind_param::<Text, _>(&line.product_id)?;
        }
        out.push_sql(")");
        if self.take {
            out.push_sql(" AND active = TRUE AND stock >= ");
            self.quantity_by_id(&mut out)?;
        }
        Ok(())
    }
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
