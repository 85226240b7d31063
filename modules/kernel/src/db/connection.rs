//! The connection type every store uses: opened for the backend the URL
//! names, reporting the real connection error, and told apart when lost.

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
            create_private(path).map_err(|e| fail(&e))?;
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

/// Creates a missing SQLite file readable by its owner only (0600): a module's
/// database may hold password hashes or tokens. SQLite gives its `-wal` and
/// `-shm` files the same mode. An existing file is left as it is.
#[cfg(feature = "sqlite")]
fn create_private(path: &str) -> std::io::Result<()> {
    if path == ":memory:" || std::path::Path::new(path).exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

/// True when `e` says the connection itself is gone (the server went away or
/// closed it, the network dropped it) rather than the statement being wrong:
/// the connection must be dropped, and the caller answers "unavailable".
pub fn is_connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::DatabaseError(_, info) => names_a_lost_connection(info.message()),
        Error::RollbackErrorOnCommit { rollback_error, commit_error } => {
            is_connection_lost(rollback_error) || is_connection_lost(commit_error)
        }
        Error::BrokenTransactionManager => true,
        _ => false,
    }
}

/// The client libraries' words for a connection that is gone
/// (MySQL/MariaDB CR_SERVER_GONE_ERROR, CR_SERVER_LOST, a reset socket).
fn names_a_lost_connection(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    ["gone away", "lost connection", "broken pipe", "connection reset", "can't connect", "not connected"]
        .iter()
        .any(|words| message.contains(words))
}
