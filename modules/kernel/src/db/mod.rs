//! Per-module databases: a fixed set of connection threads per module (blocking
//! Diesel work never runs on the async threads), migrations per backend.

mod combine;
mod connection;
mod insert_rows;
pub mod migrate;
mod prepared;
mod transaction;
mod url;
mod workers;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

pub use combine::{Combined, ForEach};
pub use connection::{establish, is_connection_lost, ConnectError, DbConnection};
pub use insert_rows::{InsertRow, InsertRows, RowValues};
pub use migrate::{MigrationStatus, ModuleMigrations};
pub use prepared::{execute, PortableStatement};
pub use transaction::transaction;
pub use url::{redact, Backend, DatabaseUrl};

/// Diesel's error, for crates that do not depend on Diesel.
pub use diesel::result::Error as QueryError;

use opentelemetry::trace::SpanKind;
use opentelemetry::KeyValue;

use crate::config::DatabaseSettings;
use crate::error::ApiError;
use crate::http::trace::TRACE;
use crate::telemetry::spans::{self, FinishedSpan};
use workers::{Job, Workers, ABANDONED, QUEUED};

/// The backend type of [`DbConnection`], for boxed (dynamically filtered) queries.
pub type DbBackend = <DbConnection as diesel::Connection>::Backend;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had in time, or it was lost: the database is
    /// down or saturated (answered 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("query failed: {0}")]
    Query(#[source] diesel::result::Error),
    /// A row that breaks the module's own invariants (an id that is not a UUID, …).
    #[error("corrupted row: {0}")]
    Corrupt(String),
    #[error("database task failed: {0}")]
    Task(String),
}

impl From<diesel::result::Error> for DbError {
    /// A lost connection, or a lock still held after the wait and the retries,
    /// is the database being unavailable (503), not the statement failing.
    fn from(e: diesel::result::Error) -> Self {
        if is_connection_lost(&e) || is_lock_conflict(&e) {
            DbError::Unavailable(e.to_string())
        } else {
            DbError::Query(e)
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        DbError::from(e).into()
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(_) => {
                ApiError::unavailable("a database is unavailable; try again shortly").caused_by(e)
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
pub fn stored_id(text: &str) -> Result<uuid::Uuid, DbError> {
    uuid::Uuid::parse_str(text)
        .map_err(|e| DbError::Corrupt(format!("stored id `{text}` is not a UUID: {e}")))
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
    /// `db.system.name` and `db.namespace` of the module's trace spans.
    backend: Backend,
    namespace: Arc<str>,
    workers: Arc<Workers>,
    /// How long a call may wait for a free connection before it is answered 503.
    wait: Duration,
}

impl Database {
    /// Opens one connection to report a wrong URL or password at once; it
    /// becomes the first thread's connection.
    pub fn connect(
        module: &'static str,
        url: &str,
        settings: &DatabaseSettings,
    ) -> Result<Self, ConnectError> {
        let url = DatabaseUrl::parse(url).map_err(|e| ConnectError(format!("module {module}: {e}")))?;
        let first = establish(&url).map_err(|e| ConnectError(format!("module {module}: {e}")))?;
        let (backend, namespace) = match &url {
            DatabaseUrl::Sqlite { path } => (Backend::Sqlite, path.as_str().into()),
            DatabaseUrl::Mysql { database, .. } => (Backend::Mysql, database.as_str().into()),
        };
        let workers = Workers::new(module, url, settings.connections(), first);
        Ok(Self {
            module,
            backend,
            namespace,
            workers: Arc::new(workers),
            wait: Duration::from_secs(settings.connect_timeout_secs.max(1)),
        })
    }

    pub fn module(&self) -> &'static str {
        self.module
    }

    /// Runs blocking Diesel work on one of the module's connection threads,
    /// inside the caller's tracing span. The work either runs to its end or,
    /// when no connection frees up within `database.connect_timeout_secs` (or
    /// the caller goes away), never starts. While spans are exported, each
    /// call inside a request is a client span of that request's trace.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let Some((context, parent_id)) =
            spans::enabled().then(|| TRACE.try_with(|cx| (cx.child(), cx.span.span_id())).ok()).flatten()
        else {
            return self.run_untraced(work).await;
        };
        let (started_at, started) = (SystemTime::now(), Instant::now());
        let result = self.run_untraced(work).await;
        spans::record(FinishedSpan {
            context,
            parent_id: Some(parent_id),
            parent_is_remote: false,
            name: format!("{} database", self.module).into(),
            kind: SpanKind::Client,
            start: started_at,
            end: started_at + started.elapsed(),
            attributes: vec![
                KeyValue::new("db.system.name", self.backend.to_string()),
                KeyValue::new("db.namespace", self.namespace.to_string()),
                KeyValue::new("shop.module", self.module),
            ],
            error: result.is_err(),
        });
        result
    }

    async fn run_untraced<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let claim = Arc::new(AtomicU8::new(QUEUED));
        let span = tracing::Span::current();
        self.workers.submit(Job {
            claim: claim.clone(),
            run: Box::new(move |conn| {
                let _entered = span.enter();
                let _ = answer.send(conn.map_err(E::from).and_then(work));
            }),
        });
        let _abandon = AbandonOnDrop(&claim);
        let mut answered = answered;
        tokio::select! {
            result = &mut answered => return result.map_err(|_| E::from(DbError::Task("the database thread stopped".into())))?,
            () = tokio::time::sleep(self.wait) => {}
        }
        if claim.compare_exchange(QUEUED, ABANDONED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            return Err(E::from(DbError::Unavailable(format!(
                "no {} database connection was free within {:?}",
                self.module, self.wait
            ))));
        }
        // A thread has started the work: its outcome is the answer.
        answered.await.map_err(|_| E::from(DbError::Task("the database thread stopped".into())))?
    }

    /// [`Self::run`] for work that only queries: its Diesel errors become [`DbError`]s,
    /// which every module's error type takes with `?`.
    pub async fn query<T, F>(&self, work: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut DbConnection) -> diesel::QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| work(conn).map_err(DbError::from)).await
    }

    /// Whether a connection can be had and answers.
    pub async fn ping(&self) -> bool {
        use diesel::connection::SimpleConnection;
        self.query(|conn| conn.batch_execute("SELECT 1")).await.is_ok()
    }

    /// (open connections, connections running a call) for the metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let stats = self.workers.stats();
        (stats.open.load(Ordering::Relaxed), stats.busy.load(Ordering::Relaxed))
    }

    /// SQL statements sent so far, transaction statements included.
    pub fn statements(&self) -> u64 {
        self.workers.stats().statements.load(Ordering::Relaxed)
    }
}

/// Marks a call that never started as abandoned when its caller goes away
/// (timeout, or the request future dropped), so no thread starts it later.
struct AbandonOnDrop<'a>(&'a AtomicU8);

impl Drop for AbandonOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.compare_exchange(QUEUED, ABANDONED, Ordering::AcqRel, Ordering::Acquire);
    }
}
