//! How a domain module presents itself to the application.

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

    fn background_jobs(&self) -> Vec<BackgroundJob> {
        Vec::new()
    }
}

/// Work a module repeats while the server runs (expiring orders, releasing
/// stale reservations). Each run must be safe alongside other replicas.
pub struct BackgroundJob {
    pub name: &'static str,
    pub every: Duration,
    pub run: Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>,
}
