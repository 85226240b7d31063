//! The orders module: checkout as a saga over catalog, payments and users,
//! each reached only through its `-api` trait, in-process or over HTTP.

mod http;
pub mod requests;
mod schema;
mod service;
mod store;

use std::sync::Arc;
use std::time::Duration;

use diesel_migrations::embed_migrations;
use kernel::db::ModuleMigrations;
use kernel::module::{ModuleInfo, ServiceModule};

pub use service::OrdersService;

pub static INFO: ModuleInfo = ModuleInfo {
    name: orders_api::MODULE,
    depends_on: &[catalog_api::MODULE, payments_api::MODULE, users_api::MODULE],
    migrations: ModuleMigrations {
        sqlite: embed_migrations!("../../migrations/orders/sqlite"),
        mysql: embed_migrations!("../../migrations/orders/mysql"),
    },
    openapi: || <http::OrdersDoc as utoipa::OpenApi>::openapi(),
};

/// The running module: the service behind its routes, and its upkeep jobs.
/// Expiry runs at least every 30 s, and more often for short TTLs.
pub fn module(service: Arc<OrdersService>, reservation_ttl: Duration) -> ServiceModule<OrdersService> {
    let db = service.database().clone();
    let sweep_every = (reservation_ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
    ServiceModule::new(&INFO, service, db, http::public::routes, |_| {})
        .with_job("expire unpaid orders", sweep_every, |s| Box::pin(async move { s.expire_due().await }))
        .with_job("reconcile interrupted orders", Duration::from_secs(15), |s| {
            Box::pin(async move { s.reconcile().await })
        })
        .with_job("purge idempotency keys", Duration::from_secs(3600), |s| {
            Box::pin(async move { s.purge_idempotency_keys().await })
        })
}
