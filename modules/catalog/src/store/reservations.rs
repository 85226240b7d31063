//! Stock reservations: one row per order, its lines inside it.

use catalog_api::ReservationStatus;
use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::serialize::ToSql;
use diesel::sql_types::{Text, Timestamp};
use kernel::db::{execute, DbConnection};
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
    execute(conn, InsertReservations(rows))
}

/// `INSERT INTO reservations (…) VALUES (…), (…), …`. Diesel builds a
/// multi-row INSERT for each backend but not one both accept through one
/// connection type, so this writes its SQL itself, in `schema.rs`'s column order.
struct InsertReservations<'a>(&'a [ReservationRow]);

/// No static id: its SQL depends on how many rows it has.
impl diesel::query_builder::QueryId for InsertReservations<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for InsertReservations<'_>
where
    DB: Backend,
    String: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO reservations (order_id, status, items, expires_at, created_at, updated_at) VALUES ",
        );
        for (i, row) in self.0.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<Text, _>(&row.order_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&row.status)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(&row.items)?;
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
