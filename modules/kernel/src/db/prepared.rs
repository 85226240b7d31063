//! Running the statements Diesel would prepare anew on every call.
//!
//! Diesel keeps a connection's prepared statements, but never those of an
//! UPDATE (a changeset may skip absent fields), a multi-row INSERT or a
//! hand-written statement: their SQL can change from one call to the next
//! while their type stays the same. On MySQL each such statement then costs
//! a prepare, an execute and a close, and the server parses it every time.
//! [`execute`] keeps them prepared, keyed by their SQL text (and bind types),
//! which is how Diesel keys every statement without a static query id: the
//! same text is the same statement, so reusing it is safe.
//!
//! The statement runs on the backend's own connection inside [`DbConnection`]
//! (the same connection, in the same transaction): through `MultiConnection`
//! Diesel would re-check cacheability and drop it again.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

use super::DbConnection;

/// A statement both backends of this binary can run (each `cfg` lists them).
#[cfg(all(feature = "sqlite", feature = "mysql"))]
pub trait PortableStatement:
    QueryFragment<diesel::sqlite::Sqlite> + QueryFragment<diesel::mysql::Mysql>
{
}
#[cfg(all(feature = "sqlite", feature = "mysql"))]
impl<T: QueryFragment<diesel::sqlite::Sqlite> + QueryFragment<diesel::mysql::Mysql>> PortableStatement for T {}

/// A statement both backends of this binary can run (each `cfg` lists them).
#[cfg(all(feature = "sqlite", not(feature = "mysql")))]
pub trait PortableStatement: QueryFragment<diesel::sqlite::Sqlite> {}
#[cfg(all(feature = "sqlite", not(feature = "mysql")))]
impl<T: QueryFragment<diesel::sqlite::Sqlite>> PortableStatement for T {}

/// A statement both backends of this binary can run (each `cfg` lists them).
#[cfg(all(feature = "mysql", not(feature = "sqlite")))]
pub trait PortableStatement: QueryFragment<diesel::mysql::Mysql> {}
#[cfg(all(feature = "mysql", not(feature = "sqlite")))]
impl<T: QueryFragment<diesel::mysql::Mysql>> PortableStatement for T {}

/// Executes `statement` (an UPDATE, a DELETE, an INSERT of one or many rows, a
/// hand-written [`QueryFragment`]) and keeps its prepared statement for the next
/// call with the same SQL. Returns the rows affected (matched, on MySQL).
pub fn execute<S: PortableStatement>(conn: &mut DbConnection, statement: S) -> QueryResult<usize> {
    let statement = KeptPrepared(statement);
    match conn {
        #[cfg(feature = "sqlite")]
        DbConnection::Sqlite(c) => statement.execute(c),
        #[cfg(feature = "mysql")]
        DbConnection::Mysql(c) => statement.execute(c),
    }
}

/// `statement`, to run on a backend's own connection with its prepared
/// statement kept (see [`insert_rows!`](crate::insert_rows)).
pub fn kept_prepared<S>(statement: S) -> KeptPrepared<S> {
    KeptPrepared(statement)
}

/// `S`, cached by its SQL text.
pub struct KeptPrepared<S>(S);

impl<S: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for KeptPrepared<S> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    // A method Diesel keeps out of its documented API (it belongs to the part
    // for backend authors); overriding it is what keeps the statement.
    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id, so the statement cache keys it by its SQL text.
impl<S> QueryId for KeptPrepared<S> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<S, Conn> RunQueryDsl<Conn> for KeptPrepared<S> {}

/// `INSERT INTO $table … VALUES (…), (…)` for a slice of rows, in one
/// statement, through [`DbConnection`]: one row stays a single-row INSERT
/// (a statement Diesel keeps prepared); several go to the backend's own
/// connection, which can build the multi-row form that `MultiConnection`
/// cannot (on MySQL kept prepared too). The rows derive `Insertable` with
/// `treat_none_as_default_value = false`. Evaluates to `QueryResult<usize>`.
#[cfg(all(feature = "sqlite", feature = "mysql"))]
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $rows {
            [row] => diesel::insert_into($table).values(row).execute($conn),
            rows => match $conn {
                $crate::db::DbConnection::Sqlite(c) => diesel::insert_into($table).values(rows).execute(c),
                $crate::db::DbConnection::Mysql(c) => {
                    $crate::db::kept_prepared(diesel::insert_into($table).values(rows)).execute(c)
                }
            },
        }
    };
}

/// See the definition for both backends.
#[cfg(all(feature = "sqlite", not(feature = "mysql")))]
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $rows {
            [row] => diesel::insert_into($table).values(row).execute($conn),
            rows => match $conn {
                $crate::db::DbConnection::Sqlite(c) => diesel::insert_into($table).values(rows).execute(c),
            },
        }
    };
}

/// See the definition for both backends.
#[cfg(all(feature = "mysql", not(feature = "sqlite")))]
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $rows {
            [row] => diesel::insert_into($table).values(row).execute($conn),
            rows => match $conn {
                $crate::db::DbConnection::Mysql(c) => {
                    $crate::db::kept_prepared(diesel::insert_into($table).values(rows)).execute(c)
                }
            },
        }
    };
}
