//! The threads that run one module's blocking Diesel work, each owning one
//! connection. There are never more threads than connections (`database.pool_size`),
//! so no thread waits for a connection and no pool lock is fought over: a call
//! is one hand-off to a thread that already holds its connection, and one back.
//!
//! Threads start on demand (one at first, another when every thread is busy),
//! connect lazily and keep their connection. A connection is not pinged before
//! each use; one that fails with a connection-level error (or has sat idle long
//! enough for the server to have closed it) is dropped and made again.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::Connection as _;

use super::connection::{establish, is_connection_lost, DbConnection};
use super::url::DatabaseUrl;
use super::DbError;

/// A connection unused this long is checked with one round trip before it is
/// used again: servers and middleboxes close idle connections.
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(60);
/// After a failed connection attempt, calls fail at once for this long
/// instead of each trying (and waiting) again.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(500);

/// What the metrics show of a module's connections.
#[derive(Default)]
pub struct PoolStats {
    /// Threads that hold an open connection.
    pub open: AtomicU32,
    /// Threads running a call right now.
    pub busy: AtomicU32,
    /// Threads waiting for a call.
    idle: AtomicU32,
    /// SQL statements sent (transaction statements included), for the
    /// statement-budget tests and `db_statements_total`.
    pub statements: AtomicU64,
}

/// The work of a call, given the thread's connection (or why there is none).
pub(super) type Work = Box<dyn FnOnce(Result<&mut DbConnection, DbError>) + Send>;

/// A call waiting for a thread. `claim` makes "the caller gave up" and "a
/// thread started it" exclusive: a call either runs to its end or never starts.
pub(super) struct Job {
    pub claim: Arc<AtomicU8>,
    pub run: Work,
}

pub(super) const QUEUED: u8 = 0;
const STARTED: u8 = 1;
pub(super) const ABANDONED: u8 = 2;

impl Job {
    fn start(&self) -> bool {
        self.claim.compare_exchange(QUEUED, STARTED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

pub(super) struct Workers {
    module: &'static str,
    url: DatabaseUrl,
    max: u32,
    jobs: crossbeam_channel::Sender<Job>,
    queue: crossbeam_channel::Receiver<Job>,
    /// Threads started.
    started: AtomicU32,
    stats: Arc<PoolStats>,
    /// The connection opened by `Database::connect` to check the URL, handed to the first thread.
    first: Mutex<Option<DbConnection>>,
}

impl Workers {
    pub fn new(module: &'static str, url: DatabaseUrl, max: u32, first: DbConnection) -> Self {
        let (jobs, queue) = crossbeam_channel::unbounded();
        let workers = Self {
            module,
            url,
            max: max.max(1),
            jobs,
            queue,
            started: AtomicU32::new(0),
            stats: Arc::new(PoolStats::default()),
            first: Mutex::new(Some(first)),
        };
        workers.spawn_if_needed();
        workers
    }

    pub fn stats(&self) -> &PoolStats {
        &self.stats
    }

    pub fn submit(&self, job: Job) {
        // The queue's receiver lives in `self`, so sending cannot fail.
        let _ = self.jobs.send(job);
        if self.stats.idle.load(Ordering::Acquire) == 0 {
            self.spawn_if_needed();
        }
    }

    /// Starts one more thread unless `max` are running.
    fn spawn_if_needed(&self) {
        let mut started = self.started.load(Ordering::Acquire);
        loop {
            if started >= self.max {
                return;
            }
            match self.started.compare_exchange(started, started + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => started = now,
            }
        }
        let queue = self.queue.clone();
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut worker = Worker::new(self, first);
        let name = format!("db-{}-{started}", self.module);
        let spawned = std::thread::Builder::new().name(name).spawn(move || worker.serve(&queue));
        if let Err(e) = spawned {
            self.started.fetch_sub(1, Ordering::AcqRel);
            tracing::error!(module = self.module, error = %e, "cannot start a database thread");
        }
    }
}

/// One thread's state: its connection and when it was last used.
struct Worker {
    module: &'static str,
    url: DatabaseUrl,
    stats: Arc<PoolStats>,
    conn: Option<DbConnection>,
    health: Arc<ConnectionHealth>,
    last_used: Instant,
    retry_at: Option<Instant>,
}

impl Worker {
    fn new(workers: &Workers, first: Option<DbConnection>) -> Self {
        let mut worker = Self {
            module: workers.module,
            url: workers.url.clone(),
            stats: workers.stats.clone(),
            conn: None,
            health: Arc::new(ConnectionHealth::default()),
            last_used: Instant::now(),
            retry_at: None,
        };
        if let Some(conn) = first {
            worker.adopt(conn);
        }
        worker
    }

    /// Runs jobs until the database is dropped (its queue sender goes away).
    fn serve(&mut self, queue: &crossbeam_channel::Receiver<Job>) {
        loop {
            self.stats.idle.fetch_add(1, Ordering::AcqRel);
            let job = queue.recv();
            self.stats.idle.fetch_sub(1, Ordering::AcqRel);
            match job {
                Ok(job) if job.start() => self.run(job),
                Ok(_) => {} // its caller gave up before a thread was free
                Err(_) => return,
            }
        }
    }

    fn run(&mut self, job: Job) {
        self.stats.busy.fetch_add(1, Ordering::Relaxed);
        match self.connection() {
            Ok(conn) => {
                (job.run)(Ok(conn));
                self.last_used = Instant::now();
                let broken = self.health.lost.swap(false, Ordering::AcqRel)
                    || self.conn.as_mut().is_some_and(diesel::r2d2::R2D2Connection::is_broken);
                if broken {
                    tracing::warn!(module = self.module, "dropping a broken database connection");
                    self.close();
                }
            }
            Err(e) => (job.run)(Err(e)),
        }
        self.stats.busy.fetch_sub(1, Ordering::Relaxed);
    }

    /// The thread's connection: kept, checked after a long idle, or made anew.
    fn connection(&mut self) -> Result<&mut DbConnection, DbError> {
        if self.conn.is_some() && self.last_used.elapsed() > IDLE_CHECK_AFTER {
            use diesel::connection::SimpleConnection as _;
            let alive = self.conn.as_mut().is_some_and(|c| c.batch_execute("SELECT 1").is_ok());
            if !alive {
                self.close();
            }
        }
        if self.conn.is_none() {
            if self.retry_at.is_some_and(|at| Instant::now() < at) {
                return Err(DbError::Unavailable(format!("the {} database is not answering", self.module)));
            }
            match establish(&self.url) {
                Ok(conn) => {
                    self.retry_at = None;
                    self.adopt(conn);
                }
                Err(e) => {
                    self.retry_at = Some(Instant::now() + RECONNECT_BACKOFF);
                    return Err(DbError::Unavailable(e.to_string()));
                }
            }
        }
        self.conn.as_mut().ok_or_else(|| DbError::Unavailable("no connection".into()))
    }

    fn adopt(&mut self, mut conn: DbConnection) {
        self.health = Arc::new(ConnectionHealth::default());
        conn.set_instrumentation(Watch { health: self.health.clone(), stats: self.stats.clone() });
        self.conn = Some(conn);
        self.last_used = Instant::now();
        self.stats.open.fetch_add(1, Ordering::Relaxed);
    }

    fn close(&mut self) {
        if self.conn.take().is_some() {
            self.stats.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.close();
    }
}

/// Set when a statement fails because the connection itself is gone.
#[derive(Default)]
struct ConnectionHealth {
    lost: std::sync::atomic::AtomicBool,
}

/// Diesel instrumentation on every pooled connection: counts statements and
/// notices a lost connection.
struct Watch {
    health: Arc<ConnectionHealth>,
    stats: Arc<PoolStats>,
}

impl Instrumentation for Watch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { error, .. } = event {
            self.stats.statements.fetch_add(1, Ordering::Relaxed);
            if error.is_some_and(is_connection_lost) {
                self.health.lost.store(true, Ordering::Release);
            }
        }
    }
}
