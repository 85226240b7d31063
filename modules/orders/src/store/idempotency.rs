//! Stored answers of requests sent with an `Idempotency-Key`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kernel::db::{execute, DbConnection};

use super::QueryResult;
use crate::schema::idempotency_keys;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys, treat_none_as_default_value = false)]
pub struct KeyRow {
    pub user_id: String,
    pub scope: String,
    pub idempotency_key: String,
    pub fingerprint: String,
    /// `None` while the first request is still running.
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &KeyRow) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table).values(row).execute(conn).map(drop)
}

type Is<'a, Column> = diesel::dsl::Eq<Column, &'a str>;
type ByKey<'a> = diesel::dsl::Filter<
    idempotency_keys::table,
    diesel::dsl::And<
        diesel::dsl::And<Is<'a, idempotency_keys::user_id>, Is<'a, idempotency_keys::scope>>,
        Is<'a, idempotency_keys::idempotency_key>,
    >,
>;

fn keyed<'a>(user_id: &'a str, scope: &'a str, key: &'a str) -> ByKey<'a> {
    idempotency_keys::table.filter(
        idempotency_keys::user_id
            .eq(user_id)
            .and(idempotency_keys::scope.eq(scope))
            .and(idempotency_keys::idempotency_key.eq(key)),
    )
}

pub fn find(conn: &mut DbConnection, user_id: &str, scope: &str, key: &str) -> QueryResult<Option<KeyRow>> {
    keyed(user_id, scope, key).select(KeyRow::as_select()).first(conn).optional()
}

pub fn complete(
    conn: &mut DbConnection,
    user_id: &str,
    scope: &str,
    key: &str,
    status: i32,
    body: &str,
) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(keyed(user_id, scope, key))
            .set((idempotency_keys::response_status.eq(status), idempotency_keys::response_body.eq(body))),
    )
}

/// Forgets a key whose request failed in a way worth retrying (5xx).
pub fn forget(conn: &mut DbConnection, user_id: &str, scope: &str, key: &str) -> QueryResult<usize> {
    diesel::delete(keyed(user_id, scope, key)).execute(conn)
}

/// Takes over a key whose first request never finished (a crash), if it
/// started before `stale_before`: 1 if this call took it over.
pub fn take_over(
    conn: &mut DbConnection,
    user_id: &str,
    scope: &str,
    key: &str,
    stale_before: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(
            keyed(user_id, scope, key)
                .filter(idempotency_keys::response_status.is_null())
                .filter(idempotency_keys::created_at.lt(stale_before)),
        )
        .set(idempotency_keys::created_at.eq(now)),
    )
}

/// Drops stored answers older than `before`.
pub fn purge(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before))).execute(conn)
}
