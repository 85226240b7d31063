//! Orders, one row each, their items inside it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kernel::db::{execute, DbBackend, DbConnection};
use kernel::pagination::PageRequest;
use serde::{Deserialize, Serialize};

use super::QueryResult;
use crate::schema::orders;

/// Stored status of an order being placed: written before its stock is
/// reserved, replaced by `pending_payment` once it is. Never shown.
pub const PLACING: &str = "placing";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders, treat_none_as_default_value = false)]
pub struct OrderRow {
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub total_cents: i64,
    pub currency: String,
    /// The items as JSON (see [`Item`]).
    pub items: String,
    /// The shipping address as JSON (see [`Address`]).
    pub shipping_address: Option<String>,
    pub payment_id: Option<String>,
    pub payment_pending: bool,
    pub stock_pending: bool,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One line of an order, as it was when placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub product_id: String,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i64,
    pub line_total_cents: i64,
}

/// Where an order ships, as it was when placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

impl OrderRow {
    pub fn items(&self) -> Result<Vec<Item>, serde_json::Error> {
        serde_json::from_str(&self.items)
    }

    pub fn shipping_address(&self) -> Result<Option<Address>, serde_json::Error> {
        self.shipping_address.as_deref().map(serde_json::from_str).transpose()
    }
}

/// Items or an address as stored in an [`OrderRow`].
pub fn encode(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("strings and integers always serialize")
}

/// The order, unless it is still being placed.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<OrderRow>> {
    orders::table
        .find(id)
        .filter(orders::status.ne(PLACING))
        .select(OrderRow::as_select())
        .first(conn)
        .optional()
}

/// Orders a customer (or, with `None`, an admin) can see: all but those being placed.
fn visible(user_id: Option<&str>) -> orders::BoxedQuery<'static, DbBackend> {
    let placed = orders::table.filter(orders::status.ne(PLACING)).into_boxed();
    match user_id {
        Some(user) => placed.filter(orders::user_id.eq(user.to_owned())),
        None => placed,
    }
}

/// A page of orders (one user's, or everyone's): two queries whatever the page size.
pub fn list(
    conn: &mut DbConnection,
    user_id: Option<&str>,
    page: PageRequest,
) -> QueryResult<(Vec<OrderRow>, i64)> {
    let rows = visible(user_id)
        .order((orders::created_at.desc(), orders::id.desc()))
        .limit(page.limit())
        .offset(page.offset())
        .select(OrderRow::as_select())
        .load(conn)?;
    let total = visible(user_id).count().get_result(conn)?;
    Ok((rows, total))
}

/// Deletes an order that never got past placing: 1 if this call removed it.
pub fn forget_placing(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(orders::table.filter(orders::id.eq(id).and(orders::status.eq(PLACING)))).execute(conn)
}

/// Orders left placing since before `before` (their request crashed or gave up), oldest first.
pub fn stale_placing(conn: &mut DbConnection, before: NaiveDateTime, limit: i64) -> QueryResult<Vec<String>> {
    orders::table
        .filter(orders::status.eq(PLACING).and(orders::created_at.lt(before)))
        .order(orders::created_at.asc())
        .limit(limit)
        .select(orders::id)
        .load(conn)
}

/// Moves an order from `from` to `to`, flagging the catalog step the new
/// status needs: 1 if this call moved it, 0 if it was not in `from`.
pub fn transition(
    conn: &mut DbConnection,
    id: &str,
    from: &str,
    to: &str,
    stock_pending: bool,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(orders::table.filter(orders::id.eq(id).and(orders::status.eq(from)))).set((
            orders::status.eq(to),
            orders::stock_pending.eq(stock_pending),
            orders::updated_at.eq(at),
        )),
    )
}

/// pending_payment → paid with its payment, stock commit pending.
pub fn mark_paid(
    conn: &mut DbConnection,
    id: &str,
    payment_id: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(orders::table.filter(orders::id.eq(id).and(orders::status.eq("pending_payment"))))
            .set((
                orders::status.eq("paid"),
                orders::payment_id.eq(payment_id),
                orders::payment_pending.eq(false),
                orders::stock_pending.eq(true),
                orders::updated_at.eq(at),
            )),
    )
}

pub fn set_payment_pending(
    conn: &mut DbConnection,
    id: &str,
    pending: bool,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(orders::table.find(id))
            .set((orders::payment_pending.eq(pending), orders::updated_at.eq(at))),
    )
}

pub fn touch(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    execute(conn, diesel::update(orders::table.find(id)).set(orders::updated_at.eq(at)))
}

/// Clears the catalog flag once the catalog has done what `status` needs;
/// conditional on the status, so a newer transition's flag is not cleared.
pub fn stock_done(conn: &mut DbConnection, id: &str, status: &str) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(orders::table.filter(orders::id.eq(id).and(orders::status.eq(status))))
            .set(orders::stock_pending.eq(false)),
    )
}

/// Unpaid orders past their expiry.
pub fn due_to_expire(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<String>> {
    orders::table
        .filter(orders::status.eq("pending_payment").and(orders::expires_at.lt(now)))
        .order(orders::expires_at.asc())
        .limit(limit)
        .select(orders::id)
        .load(conn)
}

/// Orders with a catalog step or a payment outcome still to settle, untouched since `before`.
pub fn unsettled(conn: &mut DbConnection, before: NaiveDateTime, limit: i64) -> QueryResult<Vec<OrderRow>> {
    orders::table
        .filter(orders::stock_pending.eq(true).or(orders::payment_pending.eq(true)))
        .filter(orders::updated_at.lt(before))
        .order(orders::updated_at.asc())
        .limit(limit)
        .select(OrderRow::as_select())
        .load(conn)
}
