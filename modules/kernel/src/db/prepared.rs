//! Running the statements Diesel would prepare anew on every call.
//!
//! Diesel keeps a connection's prepared statements, but never those of an
//! UPDATE (a changeset may skip absent fields), a multi-row INSERT or an
//! `IN` list: their SQL can change from one call to the next while their type
//! stays the same. On MySQL each such statement then costs a prepare, an
//! execute and a close, and the server parses it every time. [`execute`]
//! renders the statement and its binds first and runs that, keyed by its SQL
//! text, as Diesel keys every statement without a static type: the same text
//! is the same statement, so keeping it prepared is safe. On SQLite preparing
//! is an in-process call, so the statement just runs.
//!
//! This uses the part of Diesel's API meant for backend authors (`to_sql`,
//! `collect_binds`, `CollectedQuery`), opted into in `Cargo.toml`, which pins
//! Diesel to 2.3.x for it.

use diesel::connection::Connection;
use diesel::query_builder::{QueryFragment, QueryId};
use diesel::QueryResult;

use super::DbConnection;

/// A statement both backends of this binary can run (each `cfg` lists them).
#[cfg(all(feature = "sqlite", feature = "mysql"))]
pub trait PortableStatement:
    QueryFragment<diesel::sqlite::Sqlite> + QueryFragment<diesel::mysql::Mysql> + QueryId
{
}
#[cfg(all(feature = "sqlite", feature = "mysql"))]
impl<T: QueryFragment<diesel::sqlite::Sqlite> + QueryFragment<diesel::mysql::Mysql> + QueryId>
    PortableStatement for T
{
}

/// A statement both backends of this binary can run (each `cfg` lists them).
#[cfg(all(feature = "sqlite", not(feature = "mysql")))]
pub trait PortableStatement: QueryFragment<diesel::sqlite::Sqlite> + QueryId {}
#[cfg(all(feature = "sqlite", not(feature = "mysql")))]
impl<T: QueryFragment<diesel::sqlite::Sqlite> + QueryId> PortableStatement for T {}

/// A statement both backends of this binary can run (each `cfg` lists them).
#[cfg(all(feature = "mysql", not(feature = "sqlite")))]
pub trait PortableStatement: QueryFragment<diesel::mysql::Mysql> + QueryId {}
#[cfg(all(feature = "mysql", not(feature = "sqlite")))]
impl<T: QueryFragment<diesel::mysql::Mysql> + QueryId> PortableStatement for T {}

/// Executes `statement` (an UPDATE, a DELETE, an INSERT of one or many rows, a
/// hand-written [`QueryFragment`]) on the backend's own connection inside
/// `conn` (the same connection, in the same transaction), keeping its prepared
/// statement on MySQL. Returns the rows affected (matched, on MySQL).
pub fn execute<S: PortableStatement>(conn: &mut DbConnection, statement: S) -> QueryResult<usize> {
    match conn {
        #[cfg(feature = "sqlite")]
        DbConnection::Sqlite(c) => c.execute_returning_count(&statement),
        #[cfg(feature = "mysql")]
        DbConnection::Mysql(c) => c.execute_returning_count(&rendered_for_mysql(&statement)?),
    }
}

/// A fixed SQL text without binds (`COMMIT`), kept prepared like any other statement.
#[cfg(feature = "mysql")]
pub(super) fn cached_text(sql: &str) -> QueryResult<Rendered> {
    rendered_for_mysql(&diesel::sql_query(sql))
}

/// The statement's SQL and binds, collected once: a query that says it may be cached.
#[cfg(feature = "mysql")]
fn rendered_for_mysql<S: QueryFragment<diesel::mysql::Mysql>>(statement: &S) -> QueryResult<Rendered> {
    use diesel::backend::Backend;
    use diesel::mysql::{Mysql, MysqlQueryBuilder};
    use diesel::query_builder::{CollectedQuery, MoveableBindCollector, QueryBuilder};

    let mut sql = MysqlQueryBuilder::new();
    statement.to_sql(&mut sql, &Mysql)?;
    let mut binds = <Mysql as Backend>::BindCollector::default();
    statement.collect_binds(&mut binds, &mut (), &Mysql)?;
    Ok(Rendered(CollectedQuery::new(sql.finish(), true, binds.moveable())))
}

/// A rendered MySQL statement; no static id, so the cache keys it by its SQL text.
#[cfg(feature = "mysql")]
pub(super) struct Rendered(
    diesel::query_builder::CollectedQuery<
        <<diesel::mysql::Mysql as diesel::backend::Backend>::BindCollector<'static> as diesel::query_builder::MoveableBindCollector<diesel::mysql::Mysql>>::BindData,
    >,
);

#[cfg(feature = "mysql")]
impl QueryFragment<diesel::mysql::Mysql> for Rendered {
    fn walk_ast<'b>(
        &'b self,
        pass: diesel::query_builder::AstPass<'_, 'b, diesel::mysql::Mysql>,
    ) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }
}

#[cfg(feature = "mysql")]
impl QueryId for Rendered {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}
/// On MySQL (with `SHOP_TEST_MYSQL_URL`) the statement is prepared once and
/// reused; on SQLite it runs as Diesel runs it. Either way it does its work.
#[cfg(test)]
pub(super) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
    use diesel::prelude::*;

    use super::*;
    use crate::db::{establish, DatabaseUrl};

    diesel::table! {
        things (id) {
            id -> Integer,
            n -> BigInt,
        }
    }

    /// Counts the statements a connection prepares for its cache, and the ones it sends.
    #[derive(Clone, Default)]
    struct Counts {
        cached: Arc<AtomicUsize>,
    }

    impl Instrumentation for Counts {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::CacheQuery { .. } = event {
                self.cached.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A scratch database: MySQL when `SHOP_TEST_MYSQL_URL` is set (and built in), else
    /// SQLite; the MySQL one is dropped with the returned guard.
    pub(in crate::db) fn scratch(dir: &std::path::Path) -> (DbConnection, Option<DropDatabase>) {
        #[cfg(feature = "mysql")]
        if let Ok(server) = std::env::var("SHOP_TEST_MYSQL_URL") {
            let server = server.trim_end_matches('/').to_owned();
            let name = format!("shop_kernel_{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
            let mut admin = diesel::mysql::MysqlConnection::establish(&server).expect("mysql");
            admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create");
            let url = DatabaseUrl::parse(&format!("{server}/{name}")).expect("url");
            return (establish(&url).expect("connect"), Some(DropDatabase { server, name }));
        }
        let url = DatabaseUrl::parse(&format!("sqlite://{}/t.db", dir.display())).expect("url");
        (establish(&url).expect("connect"), None)
    }

    pub(in crate::db) struct DropDatabase {
        #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
        server: String,
        #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
        name: String,
    }

    impl Drop for DropDatabase {
        fn drop(&mut self) {
            #[cfg(feature = "mysql")]
            if let Ok(mut admin) = diesel::mysql::MysqlConnection::establish(&self.server) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {}", self.name));
            }
        }
    }

    #[test]
    fn an_update_runs_and_on_mysql_stays_prepared() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut conn, mysql_database) = scratch(dir.path());
        conn.batch_execute("CREATE TEMPORARY TABLE things (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)")
            .expect("schema");
        conn.batch_execute("INSERT INTO things VALUES (1, 0)").expect("row");
        let counts = Counts::default();
        conn.set_instrumentation(counts.clone());
        for _ in 0..3 {
            let update = diesel::update(things::table.find(1)).set(things::n.eq(things::n + 1));
            assert_eq!(execute(&mut conn, update).expect("update"), 1);
        }
        let n: i64 = things::table.find(1).select(things::n).first(&mut conn).expect("read");
        assert_eq!(n, 3);
        if mysql_database.is_some() {
            assert_eq!(
                counts.cached.load(Ordering::Relaxed),
                2,
                "the update and the read, each prepared once"
            );
        }
    }
}
