//! Stock reservations: one row per order, its lines inside it.

use catalog_api::ReservationStatus;
use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::serialize::ToSql;
use diesel::sql_types::{Text, Timestamp};
use kernel::db::{execute, DbConnection, InsertRow, InsertRows, RowValues};
use serde::{Deserialize, Serialize};

use super::QueryResult;
use crate::schema::reservations;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reservations, treat_none_as_default_value = false)]
pub struct ReservationRow {
    pub order_id: String,
    pub status: String,
    /// The lines as JSON (see [`Line`]).
    pub items: String,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// How much of one product a reservation holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub product_id: String,
    pub quantity: i64,
}

impl ReservationRow {
    pub fn lines(&self) -> Result<Vec<Line>, serde_json::Error> {
        serde_json::from_str(&self.items)
    }
}

/// `lines` as stored in [`ReservationRow::items`].
pub fn encode_lines(lines: &[Line]) -> String {
    serde_json::to_string(lines).expect("strings and integers always serialize")
}

pub fn insert(conn: &mut DbConnection, row: &ReservationRow) -> QueryResult<()> {
    diesel::insert_into(reservations::table).values(row).execute(conn).map(drop)
}

/// Writes the reservations in one statement (orders reserving at the same moment).
pub fn insert_many(conn: &mut DbConnection, rows: &[ReservationRow]) -> QueryResult<usize> {
    execute(conn, InsertRows(rows))
}

/// The columns of `schema.rs`, in its order.
impl<DB> InsertRow<DB> for ReservationRow
where
    DB: Backend,
    String: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    const INTO: &'static str = "reservations (order_id, status, items, expires_at, created_at, updated_at)";

    fn bind_values<'b>(&'b self, values: &mut RowValues<'_, '_, 'b, DB>) -> QueryResult<()> {
        values
            .bind::<Text, _>(&self.order_id)?
            .bind::<Text, _>(&self.status)?
            .bind::<Text, _>(&self.items)?
            .bind::<Timestamp, _>(&self.expires_at)?
            .bind::<Timestamp, _>(&self.created_at)?
            .bind::<Timestamp, _>(&self.updated_at)?;
        Ok(())
    }
}

pub fn find(conn: &mut DbConnection, order_id: &str) -> QueryResult<Option<ReservationRow>> {
    reservations::table.find(order_id).select(ReservationRow::as_select()).first(conn).optional()
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
        .filter(
            reservations::status.eq(ReservationStatus::Held.as_str()).and(reservations::expires_at.lt(now)),
        )
        .order(reservations::expires_at.asc())
        .limit(limit)
        .select(reservations::order_id)
        .load(conn)
}
