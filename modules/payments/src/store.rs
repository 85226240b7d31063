//! The payments module's queries. Synchronous: called inside `Database::run`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kernel::db::{execute, DbBackend, DbConnection};
use kernel::pagination::PageRequest;
use payments_api::PaymentStatus;

use crate::schema::payments;

pub type QueryResult<T> = Result<T, diesel::result::Error>;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payments, treat_none_as_default_value = false)]
pub struct PaymentRow {
    pub id: String,
    pub idempotency_key: String,
    pub order_id: String,
    pub user_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub status: String,
    pub provider_ref: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: &PaymentRow) -> QueryResult<()> {
    diesel::insert_into(payments::table).values(row).execute(conn).map(drop)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<PaymentRow>> {
    payments::table.find(id).select(PaymentRow::as_select()).first(conn).optional()
}

pub fn find_by_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<PaymentRow>> {
    payments::table
        .filter(payments::idempotency_key.eq(key))
        .select(PaymentRow::as_select())
        .first(conn)
        .optional()
}

pub fn for_order(conn: &mut DbConnection, order_id: &str) -> QueryResult<Vec<PaymentRow>> {
    payments::table
        .filter(payments::order_id.eq(order_id))
        .order((payments::created_at.asc(), payments::id.asc()))
        .select(PaymentRow::as_select())
        .load(conn)
}

/// Payments still pending that were last touched before `before`, oldest first.
pub fn pending_before(
    conn: &mut DbConnection,
    before: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<PaymentRow>> {
    payments::table
        .filter(payments::status.eq(PaymentStatus::Pending.as_str()).and(payments::updated_at.lt(before)))
        .order((payments::updated_at.asc(), payments::id.asc()))
        .limit(limit)
        .select(PaymentRow::as_select())
        .load(conn)
}

/// Settles a pending payment: 1 if this call settled it, 0 if it was not pending.
pub fn settle(
    conn: &mut DbConnection,
    id: &str,
    status: &str,
    provider_ref: Option<&str>,
    failure_reason: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(
            payments::table
                .filter(payments::id.eq(id).and(payments::status.eq(PaymentStatus::Pending.as_str()))),
        )
        .set((
            payments::status.eq(status),
            payments::provider_ref.eq(provider_ref),
            payments::failure_reason.eq(failure_reason),
            payments::updated_at.eq(at),
        )),
    )
}

pub fn mark_refunded(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(
            payments::table
                .filter(payments::id.eq(id).and(payments::status.eq(PaymentStatus::Succeeded.as_str()))),
        )
        .set((payments::status.eq(PaymentStatus::Refunded.as_str()), payments::updated_at.eq(at))),
    )
}

/// Who may see which settled payments in a list.
pub struct Visible {
    /// `None`: every user's (admin).
    pub user_id: Option<String>,
    pub order_id: Option<String>,
}

fn visible(filter: &Visible) -> payments::BoxedQuery<'static, DbBackend> {
    let mut query = payments::table.filter(payments::status.ne(PaymentStatus::Pending.as_str())).into_boxed();
    if let Some(user) = &filter.user_id {
        query = query.filter(payments::user_id.eq(user.clone()));
    }
    if let Some(order) = &filter.order_id {
        query = query.filter(payments::order_id.eq(order.clone()));
    }
    query
}

pub fn list(
    conn: &mut DbConnection,
    filter: &Visible,
    page: PageRequest,
) -> QueryResult<(Vec<PaymentRow>, i64)> {
    let rows = visible(filter)
        .order((payments::created_at.desc(), payments::id.desc()))
        .limit(page.limit())
        .offset(page.offset())
        .select(PaymentRow::as_select())
        .load(conn)?;
    let total = visible(filter).count().get_result(conn)?;
    Ok((rows, total))
}
