//! Stock reservations: a header per order and its lines.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kernel::db::{execute, DbConnection};

use super::QueryResult;
use crate::schema::{reservation_lines, reservations};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reservations, treat_none_as_default_value = false)]
pub struct ReservationRow {
    pub order_id: String,
    pub status: String,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = reservation_lines, treat_none_as_default_value = false)]
pub struct LineRow {
    pub order_id: String,
    pub product_id: String,
    pub quantity: i64,
}

pub fn insert(conn: &mut DbConnection, row: &ReservationRow) -> QueryResult<()> {
    diesel::insert_into(reservations::table).values(row).execute(conn).map(drop)
}

/// Every line in one statement.
pub fn insert_lines(conn: &mut DbConnection, lines: &[LineRow]) -> QueryResult<()> {
    kernel::insert_rows!(conn, reservation_lines::table, lines).map(drop)
}

pub fn find(conn: &mut DbConnection, order_id: &str) -> QueryResult<Option<ReservationRow>> {
    reservations::table.find(order_id).select(ReservationRow::as_select()).first(conn).optional()
}

pub fn lines(conn: &mut DbConnection, order_id: &str) -> QueryResult<Vec<LineRow>> {
    reservation_lines::table
        .filter(reservation_lines::order_id.eq(order_id))
        .order(reservation_lines::product_id.asc())
        .select(LineRow::as_select())
        .load(conn)
}

/// Moves a reservation from `from` to `to`: 1 if this call moved it, else 0.
/// The conditional update is what makes concurrent callers (replicas, retries) safe.
pub fn transition(
    conn: &mut DbConnection,
    order_id: &str,
    from: &str,
    to: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(
            reservations::table
                .filter(reservations::order_id.eq(order_id).and(reservations::status.eq(from))),
        )
        .set((reservations::status.eq(to), reservations::updated_at.eq(at))),
    )
}

/// Held reservations past their expiry, oldest first.
pub fn expired_held(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<String>> {
    reservations::table
        .filter(reservations::status.eq("held").and(reservations::expires_at.lt(now)))
        .order(reservations::expires_at.asc())
        .limit(limit)
        .select(reservations::order_id)
        .load(conn)
}
