//! The two writes every order makes while it is placed, each written for many
//! orders at once when their requests meet (`kernel::db::Combined`): the
//! intents as one multi-row INSERT, the marks as one UPDATE.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Nullable, Text, Timestamp};
use kernel::db::{execute, DbConnection, InsertRow, InsertRows, RowValues};
use orders_api::OrderStatus;

use super::orders::{OrderRow, PLACING};
use super::QueryResult;
use crate::schema::orders;

/// Orders written at most per statement.
pub const MAX_PER_STATEMENT: usize = 16;

/// Writes the orders (status `placing`) in one statement.
pub fn insert_placing(conn: &mut DbConnection, rows: &[OrderRow]) -> QueryResult<Vec<()>> {
    execute(conn, InsertRows(rows))?;
    Ok(vec![(); rows.len()])
}

/// Marks the placing orders `pending_payment` in one statement: for each id,
/// when it was marked, or `None` if it was no longer placing (the reconciler
/// removed it).
pub fn mark_placed(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<Option<NaiveDateTime>>> {
    let at = kernel::now();
    let marked = execute(
        conn,
        diesel::update(orders::table.filter(orders::id.eq_any(ids).and(orders::status.eq(PLACING))))
            .set((orders::status.eq(OrderStatus::PendingPayment.as_str()), orders::updated_at.eq(at))),
    )?;
    if marked == ids.len() {
        return Ok(vec![Some(at); ids.len()]);
    }
    // Rare: some were removed. The rows left are the ones this statement marked.
    let left: Vec<String> = orders::table.filter(orders::id.eq_any(ids)).select(orders::id).load(conn)?;
    Ok(ids.iter().map(|id| left.contains(id).then_some(at)).collect())
}

/// The columns of `schema.rs`, in its order.
impl<DB> InsertRow<DB> for OrderRow
where
    DB: Backend + HasSqlType<Bool>,
    String: ToSql<Text, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    i64: ToSql<BigInt, DB>,
    bool: ToSql<Bool, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    const INTO: &'static str =
        "orders (id, user_id, status, total_cents, currency, items, shipping_address, \
         payment_id, payment_pending, stock_pending, expires_at, created_at, updated_at)";

    fn bind_values<'b>(&'b self, values: &mut RowValues<'_, '_, 'b, DB>) -> QueryResult<()> {
        values
            .bind::<Text, _>(&self.id)?
            .bind::<Text, _>(&self.user_id)?
            .bind::<Text, _>(&self.status)?
            .bind::<BigInt, _>(&self.total_cents)?
            .bind::<Text, _>(&self.currency)?
            .bind::<Text, _>(&self.items)?
            .bind::<Nullable<Text>, _>(&self.shipping_address)?
            .bind::<Nullable<Text>, _>(&self.payment_id)?
            .bind::<Bool, _>(&self.payment_pending)?
            .bind::<Bool, _>(&self.stock_pending)?
            .bind::<Timestamp, _>(&self.expires_at)?
            .bind::<Timestamp, _>(&self.created_at)?
            .bind::<Timestamp, _>(&self.updated_at)?;
        Ok(())
    }
}
