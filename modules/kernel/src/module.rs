//! How a domain module presents itself to the application.

use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use futures_util::future::BoxFuture;

use crate::db::{Database, ModuleMigrations};

/// What is known about a module without running it: enough for the CLI
/// (`migrate`, `openapi`, `modules`).
pub struct ModuleInfo {
    pub name: &'static str,
    /// Modules it calls through their traits.
    pub depends_on: &'static [&'static str],
    pub migrations: ModuleMigrations,
    pub openapi: fn() -> utoipa::openapi::OpenApi,
}

/// A running module: the app mounts its routes and runs its jobs, and knows
/// nothing else of it.
pub trait Module: Send + Sync + 'static {
    fn info(&self) -> &'static ModuleInfo;

    fn database(&self) -> &Database;

    /// Mounted under `/api/v1/<name>`.
    fn public_routes(&self, cfg: &mut web::ServiceConfig);

    /// Mounted under `/internal/v1/<name>`, behind the internal credential.
    fn internal_routes(&self, cfg: &mut web::ServiceConfig);

    fn background_jobs(&self) -> Vec<BackgroundJob>;
}

/// Work a module repeats while the server runs (expiring orders, releasing
/// stale reservations). Each run must be safe alongside other replicas.
#[derive(Clone)]
pub struct BackgroundJob {
    pub name: &'static str,
    pub every: Duration,
    pub run: Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>,
}

/// What one run of a job did: items it finished, and items it could not
/// (logged each, left for the next run). One bad item never stops the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobOutcome {
    pub handled: usize,
    pub failed: usize,
}

impl JobOutcome {
    /// Counts one item's result, logging why it failed.
    pub fn count<T, E: std::error::Error + 'static>(
        &mut self,
        job: &str,
        item: &impl Display,
        result: Result<T, E>,
    ) {
        match result {
            Ok(_) => self.handled += 1,
            Err(e) => {
                self.failed += 1;
                tracing::warn!(job, item = %item, error = %crate::error::chain(&e), "left for the next run");
            }
        }
    }
}

impl std::ops::AddAssign for JobOutcome {
    fn add_assign(&mut self, other: Self) {
        self.handled += other.handled;
        self.failed += other.failed;
    }
}

type Routes = fn(&mut web::ServiceConfig);

/// The shape every shop module has: one service, shared with its public and
/// internal handlers as `web::Data<S>`, plus the jobs it runs.
pub struct ServiceModule<S: 'static> {
    info: &'static ModuleInfo,
    service: web::Data<S>,
    database: Database,
    public: Routes,
    internal: Routes,
    jobs: Vec<BackgroundJob>,
}

impl<S: Send + Sync + 'static> ServiceModule<S> {
    pub fn new(
        info: &'static ModuleInfo,
        service: Arc<S>,
        database: Database,
        public: Routes,
        internal: Routes,
    ) -> Self {
        Self { info, service: web::Data::from(service), database, public, internal, jobs: Vec::new() }
    }

    /// Runs `work` every `every`; logs what it handled and failed, or why it could not run.
    pub fn with_job<E: std::error::Error + 'static>(
        mut self,
        name: &'static str,
        every: Duration,
        work: fn(Arc<S>) -> BoxFuture<'static, Result<JobOutcome, E>>,
    ) -> Self {
        let service = self.service.clone().into_inner();
        self.jobs.push(BackgroundJob {
            name,
            every,
            run: Arc::new(move || {
                let service = service.clone();
                Box::pin(async move {
                    match work(service).await {
                        Ok(JobOutcome { handled: 0, failed: 0 }) => {}
                        Ok(JobOutcome { handled, failed }) => {
                            tracing::info!(job = name, handled, failed, "background job")
                        }
                        Err(e) => tracing::warn!(job = name, error = %crate::error::chain(&e), "background job failed"),
                    }
                })
            }),
        });
        self
    }
}

impl<S: Send + Sync + 'static> Module for ServiceModule<S> {
    fn info(&self) -> &'static ModuleInfo {
        self.info
    }

    fn database(&self) -> &Database {
        &self.database
    }

    fn public_routes(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.service.clone());
        (self.public)(cfg);
    }

    fn internal_routes(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.service.clone());
        (self.internal)(cfg);
    }

    fn background_jobs(&self) -> Vec<BackgroundJob> {
        self.jobs.clone()
    }
}
