//! Transactions that cost one round trip to open and one to close on MySQL.
//!
//! Diesel opens and closes a MySQL transaction with `batch_execute`, which
//! turns the session's multi-statement mode on before the text query and off
//! after it: three round trips for `BEGIN` and three for `COMMIT` (MariaDB
//! counts them as `Com_set_option`, two per transaction statement). Here the
//! transaction statements are prepared statements the connection keeps
//! (`prepared.rs`), one round trip each. Diesel's transaction state is kept in
//! step, so a transaction left open (a `COMMIT` or `ROLLBACK` that failed) makes
//! the connection broken and its thread drops it. On SQLite Diesel's own
//! transaction is an in-process call and is used as it is.

use diesel::result::Error;

use super::DbConnection;

/// Runs `work` in a transaction on `conn`: committed when it returns `Ok`,
/// rolled back when it returns `Err`. Not nestable: `work` must not open another.
pub fn transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<Error>,
{
    match conn {
        #[cfg(feature = "mysql")]
        DbConnection::Mysql(_) => mysql::transaction(conn, work),
        #[allow(unreachable_patterns, clippy::disallowed_methods)]
        _ => diesel::Connection::transaction(conn, work),
    }
}

#[cfg(feature = "mysql")]
mod mysql {
    use diesel::connection::{
        AnsiTransactionManager, Connection, TransactionDepthChange, TransactionManager,
        ValidTransactionManagerStatus,
    };
    use diesel::mysql::MysqlConnection;
    use diesel::result::Error;

    use crate::db::prepared::cached_text;
    use crate::db::DbConnection;

    pub(super) fn transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<Error>,
    {
        let begin = |c: &mut MysqlConnection| -> Result<(), Error> {
            if state(c)?.transaction_depth().is_some() {
                return Err(Error::AlreadyInTransaction);
            }
            c.execute_returning_count(&cached_text("START TRANSACTION")?)?;
            state(c)?.change_transaction_depth(TransactionDepthChange::IncreaseDepth)
        };
        begin(inner(conn))?;
        match work(conn) {
            Ok(value) => {
                end(inner(conn), "COMMIT")?;
                Ok(value)
            }
            Err(e) => {
                // A failed rollback leaves the state open: the connection is dropped.
                let _ = end(inner(conn), "ROLLBACK");
                Err(e)
            }
        }
    }

    fn end(c: &mut MysqlConnection, sql: &'static str) -> Result<(), Error> {
        c.execute_returning_count(&cached_text(sql)?)?;
        state(c)?.change_transaction_depth(TransactionDepthChange::DecreaseDepth)
    }

    fn state(c: &mut MysqlConnection) -> Result<&mut ValidTransactionManagerStatus, Error> {
        <AnsiTransactionManager as TransactionManager<MysqlConnection>>::transaction_manager_status_mut(c)
            .transaction_state()
    }

    fn inner(conn: &mut DbConnection) -> &mut MysqlConnection {
        match conn {
            DbConnection::Mysql(c) => c,
            #[allow(unreachable_patterns)]
            _ => unreachable!("called for MySQL connections only"),
        }
    }
}

/// On MySQL (with `SHOP_TEST_MYSQL_URL`) the real thing; on SQLite, Diesel's.
#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::r2d2::R2D2Connection;

    use super::*;
    use crate::db::prepared::tests::scratch;

    diesel::table! {
        things (id) {
            id -> Integer,
        }
    }

    #[cfg(feature = "mysql")]
    #[derive(diesel::QueryableByName)]
    struct Status {
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[diesel(column_name = Value)]
        value: String,
    }

    /// Round trips that switched multi-statement mode (MySQL only).
    #[cfg(feature = "mysql")]
    fn set_option_count(conn: &mut DbConnection) -> Option<u64> {
        #[allow(irrefutable_let_patterns)]
        let DbConnection::Mysql(_) = conn
        else {
            return None;
        };
        let rows: Vec<Status> =
            diesel::sql_query("SHOW SESSION STATUS LIKE 'Com_set_option'").load(conn).expect("status");
        rows.first().and_then(|r| r.value.parse().ok())
    }

    #[cfg(not(feature = "mysql"))]
    fn set_option_count(_: &mut DbConnection) -> Option<u64> {
        None
    }

    fn ids(conn: &mut DbConnection) -> Vec<i32> {
        things::table.select(things::id).order(things::id).load(conn).expect("read")
    }

    #[test]
    fn commits_on_ok_rolls_back_on_err_and_leaves_the_connection_usable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut conn, _database) = scratch(dir.path());
        conn.batch_execute("CREATE TABLE things (id INTEGER PRIMARY KEY)").expect("schema");
        let before = set_option_count(&mut conn);

        let kept: Result<(), Error> = transaction(&mut conn, |c| {
            diesel::insert_into(things::table).values(things::id.eq(1)).execute(c).map(drop)
        });
        kept.expect("committed");
        let undone: Result<(), Error> = transaction(&mut conn, |c| {
            diesel::insert_into(things::table).values(things::id.eq(2)).execute(c)?;
            Err(Error::RollbackTransaction)
        });
        assert!(matches!(undone, Err(Error::RollbackTransaction)));

        assert_eq!(ids(&mut conn), vec![1], "the first committed, the second rolled back");
        assert!(!conn.is_broken(), "no transaction left open");
        if let (Some(before), Some(after)) = (before, set_option_count(&mut conn)) {
            assert_eq!(after, before, "no round trip switched the session's statement mode");
        }
    }
}
