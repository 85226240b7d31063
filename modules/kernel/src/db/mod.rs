//! Per-module databases: a pool per module, blocking Diesel work moved off the
//! async threads, migrations per backend.

mod connection;
pub mod migrate;
mod url;

use std::time::Duration;

use tracing::Instrument as _;

pub use connection::{establish, ConnectError, DbConnection};
pub use migrate::{MigrationStatus, ModuleMigrations};
pub use url::{redact, Backend, DatabaseUrl};

use crate::config::DatabaseSettings;
use crate::error::ApiError;

pub type Pool = r2d2::Pool<connection::ConnectionManager>;

/// The backend type of [`DbConnection`], for boxed (dynamically filtered) queries.
pub type DbBackend = <DbConnection as diesel::Connection>::Backend;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had in time: the database is down or saturated.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database task failed: {0}")]
    Task(String),
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::unavailable("a database is unavailable; try again shortly")
            }
            other => ApiError::internal(other),
        }
    }
}

/// The error of a transaction that can fail on the database or on a business
/// rule checked inside it; either way the transaction rolls back.
#[derive(Debug)]
pub enum TxError<E> {
    Db(diesel::result::Error),
    Rejected(E),
}

impl<E> From<diesel::result::Error> for TxError<E> {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}

impl<E: From<DbError>> TxError<E> {
    pub fn into_inner(self) -> E {
        match self {
            TxError::Db(e) => E::from(DbError::from(e)),
            TxError::Rejected(e) => e,
        }
    }
}

/// An id read back from a module's own table. Ids are written by the app, so a
/// value that is not a UUID is a corrupted row: an internal error, never the client's.
pub fn stored_id(text: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(text)
        .map_err(|e| ApiError::internal(format!("stored id `{text}` is not a UUID: {e}")))
}

/// True when the database gave up on `e`'s transaction because of a lock
/// conflict (MySQL deadlock or lock wait timeout, SQLite busy): retrying it is safe.
pub fn is_lock_conflict(e: &diesel::result::Error) -> bool {
    match e {
        diesel::result::Error::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            message.contains("deadlock")
                || message.contains("lock wait timeout")
                || message.contains("database is locked")
        }
        _ => false,
    }
}

/// Runs `work` again (up to `attempts` times) while it fails on a lock conflict.
pub fn retry_on_lock_conflict<T, E>(
    attempts: u32,
    mut work: impl FnMut() -> Result<T, TxError<E>>,
) -> Result<T, TxError<E>> {
    let mut attempt = 1;
    loop {
        match work() {
            Err(TxError::Db(e)) if attempt < attempts && is_lock_conflict(&e) => {
                tracing::debug!(attempt, error = %e, "lock conflict; retrying the transaction");
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(5 * u64::from(attempt)));
            }
            other => return other,
        }
    }
}

/// True when `e` is a unique-constraint violation (a duplicate key).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// One module's database.
#[derive(Clone)]
pub struct Database {
    module: &'static str,
    url: DatabaseUrl,
    pool: Pool,
}

impl Database {
    /// Opens one connection to report a wrong URL or password at once, then builds the pool.
    pub fn connect(
        module: &'static str,
        url: &str,
        settings: &DatabaseSettings,
    ) -> Result<Self, ConnectError> {
        let url = DatabaseUrl::parse(url).map_err(|e| ConnectError(format!("module {module}: {e}")))?;
        establish(&url).map_err(|e| ConnectError(format!("module {module}: {e}")))?;
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(settings.connect_timeout_secs.max(1)))
            .build_unchecked(connection::ConnectionManager::new(url.clone()));
        Ok(Self { module, url, pool })
    }

    pub fn module(&self) -> &'static str {
        self.module
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    /// Runs blocking Diesel work on the blocking thread pool with a pooled
    /// connection, inside the caller's tracing span.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(|e| DbError::Unavailable(e.to_string()))?;
            work(&mut conn)
        })
        .instrument(tracing::Span::current())
        .await
        .map_err(|e| E::from(DbError::Task(e.to_string())))?
    }

    /// Whether a connection can be had and answers.
    pub async fn ping(&self) -> bool {
        use diesel::connection::SimpleConnection;
        self.run(|conn| conn.batch_execute("SELECT 1").map_err(DbError::from)).await.is_ok()
    }

    /// (open connections, idle connections) for the metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }
}
