//! Orders and their items.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kernel::db::{execute, DbBackend, DbConnection};
use kernel::pagination::PageRequest;

use super::QueryResult;
use crate::schema::{order_items, orders};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders, treat_none_as_default_value = false)]
pub struct OrderRow {
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub total_cents: i64,
    pub currency: String,
    pub ship_line1: Option<String>,
    pub ship_line2: Option<String>,
    pub ship_city: Option<String>,
    pub ship_postal_code: Option<String>,
    pub ship_country: Option<String>,
    pub payment_id: Option<String>,
    pub payment_pending: bool,
    pub stock_pending: bool,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_items, treat_none_as_default_value = false)]
pub struct ItemRow {
    pub order_id: String,
    pub product_id: String,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i64,
    pub line_total_cents: i64,
}

/// The order and its items in one transaction.
pub fn insert(conn: &mut DbConnection, order: &OrderRow, items: &[ItemRow]) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::insert_into(orders::table).values(order).execute(conn)?;
        kernel::insert_rows!(conn, order_items::table, items).map(drop)
    })
}

/// An order with its items.
pub type OrderWithItems = (OrderRow, Vec<ItemRow>);

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<OrderWithItems>> {
    let Some(order) = find_order(conn, id)? else {
        return Ok(None);
    };
    Ok(Some((order, items(conn, id)?)))
}

/// The order row alone, for steps that decide on its state.
pub fn find_order(conn: &mut DbConnection, id: &str) -> QueryResult<Option<OrderRow>> {
    orders::table.find(id).select(OrderRow::as_select()).first(conn).optional()
}

pub fn items(conn: &mut DbConnection, order_id: &str) -> QueryResult<Vec<ItemRow>> {
    order_items::table
        .filter(order_items::order_id.eq(order_id))
        .order(order_items::product_id.asc())
        .select(ItemRow::as_select())
        .load(conn)
}

fn visible(user_id: Option<&str>) -> orders::BoxedQuery<'static, DbBackend> {
    match user_id {
        Some(user) => orders::table.filter(orders::user_id.eq(user.to_owned())).into_boxed(),
        None => orders::table.into_boxed(),
    }
}

/// A page of orders (one user's, or everyone's) with their items: three
/// queries whatever the page size.
pub fn list(
    conn: &mut DbConnection,
    user_id: Option<&str>,
    page: PageRequest,
) -> QueryResult<(Vec<OrderWithItems>, i64)> {
    let rows: Vec<OrderRow> = visible(user_id)
        .order((orders::created_at.desc(), orders::id.desc()))
        .limit(page.limit())
        .offset(page.offset())
        .select(OrderRow::as_select())
        .load(conn)?;
    let total = visible(user_id).count().get_result(conn)?;
    let ids: Vec<&str> = rows.iter().map(|o| o.id.as_str()).collect();
    let mut items: Vec<ItemRow> = order_items::table
        .filter(order_items::order_id.eq_any(&ids))
        .order((order_items::order_id.asc(), order_items::product_id.asc()))
        .select(ItemRow::as_select())
        .load(conn)?;
    let orders = rows
        .into_iter()
        .map(|order| {
            let (mine, rest): (Vec<_>, Vec<_>) = items.drain(..).partition(|i| i.order_id == order.id);
            items = rest;
            (order, mine)
        })
        .collect();
    Ok((orders, total))
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
