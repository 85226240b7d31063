//! The two writes every order makes while it is placed, each written for many
//! orders at once when their requests meet (`kernel::db::Combined`): the
//! intents as one multi-row INSERT, the marks as one UPDATE.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
use kernel::db::{execute, DbConnection};
use orders_api::OrderStatus;

use super::orders::{OrderRow, PLACING};
use super::QueryResult;
use crate::schema::orders;

/// Orders written at most per statement.
pub const MAX_PER_STATEMENT: usize = 16;

/// Writes the orders (status `placing`) in one statement.
pub fn insert_placing(conn: &mut DbConnection, rows: &[OrderRow]) -> QueryResult<Vec<()>> {
    execute(conn, InsertOrders(rows))?;
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

/// `INSERT INTO orders (…) VALUES (…), (…), …`. Diesel builds a multi-row
/// INSERT for each backend but not one both accept through one connection
/// type, so this writes its SQL itself, in `schema.rs`'s column order.
struct InsertOrders<'a>(&'a [OrderRow]);

/// No static id: its SQL depends on how many rows it has.
impl diesel::query_builder::QueryId for InsertOrders<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for InsertOrders<'_>
where
    DB: Backend + diesel::sql_types::HasSqlType<Bool>,
    String: ToSql<Text, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    i64: ToSql<BigInt, DB>,
    bool: ToSql<Bool, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO orders (id, user_id, status, total_cents, currency, items, shipping_address, \
             payment_id, payment_pending, stock_pending, expires_at, created_at, updated_at) VALUES ",
        );
        for (i, row) in self.0.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<Text, _>(&row.id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&row.user_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&row.status)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&row.total_cents)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&row.currency)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&row.items)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(&row.shipping_address)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, _>(&row.payment_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Bool, _>(&row.payment_pending)?;
            out.push_sql(", ");
            out.push_bind_param::<Bool, _>(&row.stock_pending)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&row.expires_at)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&row.created_at)?;
            out.push_sql(", ");
            out.push_bind_param::<Timestamp, _>(&row.updated_at)?;
            out.push_sql(")");
        }
        Ok(())
    }
}
