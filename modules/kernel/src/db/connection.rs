//! The connection type every store uses, and a pool manager that picks the
//! backend from the URL and reports the real connection error.

use diesel::connection::SimpleConnection;
use diesel::Connection;

use super::url::DatabaseUrl;

/// One connection to whichever backend the module's URL names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    #[cfg(feature = "sqlite")]
    Sqlite(diesel::sqlite::SqliteConnection),
    #[cfg(feature = "mysql")]
    Mysql(diesel::mysql::MysqlConnection),
}

/// Statements run on every new SQLite connection: wait for locks instead of
/// failing, write-ahead logging for concurrent readers, enforce foreign keys.
#[cfg(feature = "sqlite")]
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(pub String);

/// Opens one connection, with the backend's session settings applied.
pub fn establish(url: &DatabaseUrl) -> Result<DbConnection, ConnectError> {
    let fail = |e: &dyn std::fmt::Display| ConnectError(format!("cannot connect to {url}: {e}"));
    match url {
        #[cfg(feature = "sqlite")]
        DatabaseUrl::Sqlite { path } => {
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
                }
            }
            let mut conn = diesel::sqlite::SqliteConnection::establish(path).map_err(|e| fail(&e))?;
            conn.batch_execute(SQLITE_PRAGMAS).map_err(|e| fail(&e))?;
            Ok(DbConnection::Sqlite(conn))
        }
        #[cfg(feature = "mysql")]
        DatabaseUrl::Mysql { url: raw, .. } => {
            let mut conn = diesel::mysql::MysqlConnection::establish(raw).map_err(|e| fail(&e))?;
            conn.batch_execute("SET time_zone = '+00:00'").map_err(|e| fail(&e))?;
            Ok(DbConnection::Mysql(conn))
        }
        #[allow(unreachable_patterns)]
        other => Err(ConnectError(format!(
            "{other} needs the `{}` feature, which this binary was built without",
            other.backend()
        ))),
    }
}

/// r2d2 manager over [`establish`].
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConnection, ConnectError> {
        establish(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectError> {
        use diesel::r2d2::R2D2Connection;
        conn.ping().map_err(|e| ConnectError(e.to_string()))
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.is_broken()
    }
}
