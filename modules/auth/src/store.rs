//! The auth module's queries. Synchronous: called inside `Database::run`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kernel::db::{execute, DbConnection};

use crate::schema::{credentials, refresh_tokens};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credentials, treat_none_as_default_value = false)]
pub struct CredentialRow {
    pub user_id: String,
    pub email: String,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, treat_none_as_default_value = false)]
pub struct RefreshTokenRow {
    pub id: String,
    pub family_id: String,
    pub user_id: String,
    pub token_hash: String,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

type QueryResult<T> = Result<T, diesel::result::Error>;

pub fn insert_credential(conn: &mut DbConnection, row: &CredentialRow) -> QueryResult<()> {
    diesel::insert_into(credentials::table).values(row).execute(conn).map(drop)
}

pub fn find_credential_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<CredentialRow>> {
    credentials::table
        .filter(credentials::email.eq(email))
        .select(CredentialRow::as_select())
        .first(conn)
        .optional()
}

pub fn delete_credential(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(credentials::table.find(user_id)).execute(conn)
}

pub fn insert_refresh_token(conn: &mut DbConnection, row: &RefreshTokenRow) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table).values(row).execute(conn).map(drop)
}

pub fn find_refresh_token(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Spends a token once: 1 if this call spent it, 0 if it was already spent or revoked.
pub fn spend_refresh_token(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(
            refresh_tokens::table.filter(
                refresh_tokens::id
                    .eq(id)
                    .and(refresh_tokens::used_at.is_null())
                    .and(refresh_tokens::revoked_at.is_null()),
            ),
        )
        .set(refresh_tokens::used_at.eq(at)),
    )
}

pub fn revoke_family(conn: &mut DbConnection, family_id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    execute(
        conn,
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::family_id.eq(family_id).and(refresh_tokens::revoked_at.is_null())),
        )
        .set(refresh_tokens::revoked_at.eq(at)),
    )
}

/// Removes tokens expired before `before`; they can no longer be used or reused.
pub fn delete_expired_tokens(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(before))).execute(conn)
}
