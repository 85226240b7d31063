//! The users module's queries. Synchronous: called inside `Database::run`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kernel::db::{execute, DbConnection};
use kernel::pagination::PageRequest;

use crate::schema::{addresses, users};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = addresses, treat_none_as_default_value = false)]
pub struct AddressRow {
    pub id: String,
    pub user_id: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The fields of an address a user can write.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = addresses, treat_none_as_null = true)]
pub struct AddressChanges {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    pub updated_at: NaiveDateTime,
}

type QueryResult<T> = Result<T, diesel::result::Error>;

pub fn insert_user(conn: &mut DbConnection, row: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table).values(row).execute(conn).map(drop)
}

pub fn find_user(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UserRow>> {
    users::table.find(id).select(UserRow::as_select()).first(conn).optional()
}

pub fn list_users(conn: &mut DbConnection, page: PageRequest) -> QueryResult<(Vec<UserRow>, i64)> {
    let rows = users::table
        .order((users::created_at.desc(), users::id.desc()))
        .limit(page.limit())
        .offset(page.offset())
        .select(UserRow::as_select())
        .load(conn)?;
    let total = users::table.count().get_result(conn)?;
    Ok((rows, total))
}

pub fn update_name(conn: &mut DbConnection, id: &str, name: &str, at: NaiveDateTime) -> QueryResult<usize> {
    execute(conn, diesel::update(users::table.find(id)).set((users::name.eq(name), users::updated_at.eq(at))))
}

pub fn update_role(conn: &mut DbConnection, id: &str, role: &str, at: NaiveDateTime) -> QueryResult<usize> {
    let changes = (users::role.eq(role), users::updated_at.eq(at), users::access_changed_at.eq(at));
    execute(conn, diesel::update(users::table.find(id)).set(changes))
}

pub fn update_disabled(
    conn: &mut DbConnection,
    id: &str,
    disabled: bool,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    let changes = (users::disabled.eq(disabled), users::updated_at.eq(at), users::access_changed_at.eq(at));
    execute(conn, diesel::update(users::table.find(id)).set(changes))
}

/// An account's standing after its role or disabled flag changed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct AccessRow {
    pub id: String,
    pub role: String,
    pub disabled: bool,
    pub access_changed_at: Option<NaiveDateTime>,
}

/// The accounts whose role or disabled flag changed at or after `since`.
pub fn access_changes(conn: &mut DbConnection, since: NaiveDateTime) -> QueryResult<Vec<AccessRow>> {
    users::table.filter(users::access_changed_at.ge(since)).select(AccessRow::as_select()).load(conn)
}

pub fn insert_address(conn: &mut DbConnection, row: &AddressRow) -> QueryResult<()> {
    diesel::insert_into(addresses::table).values(row).execute(conn).map(drop)
}

pub fn list_addresses(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<AddressRow>> {
    addresses::table
        .filter(addresses::user_id.eq(user_id))
        .order((addresses::created_at.asc(), addresses::id.asc()))
        .select(AddressRow::as_select())
        .load(conn)
}

pub fn count_addresses(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    addresses::table.filter(addresses::user_id.eq(user_id)).count().get_result(conn)
}

/// Scoped to the owner: another user's address is simply not found.
pub fn find_address(conn: &mut DbConnection, user_id: &str, id: &str) -> QueryResult<Option<AddressRow>> {
    addresses::table
        .filter(addresses::id.eq(id).and(addresses::user_id.eq(user_id)))
        .select(AddressRow::as_select())
        .first(conn)
        .optional()
}

pub fn update_address(
    conn: &mut DbConnection,
    user_id: &str,
    id: &str,
    changes: &AddressChanges,
) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(addresses::table.filter(addresses::id.eq(id).and(addresses::user_id.eq(user_id))))
            .set(changes),
    )
}

pub fn delete_address(conn: &mut DbConnection, user_id: &str, id: &str) -> QueryResult<usize> {
    diesel::delete(addresses::table.filter(addresses::id.eq(id).and(addresses::user_id.eq(user_id))))
        .execute(conn)
}
