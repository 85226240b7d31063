//! The orders module: checkout as a saga over catalog, payments and users,
//! each reached only through its `-api` trait, in-process or over HTTP.

mod http;
pub mod requests;
mod schema;
mod service;
mod settings;
mod store;

use std::sync::Arc;
use std::time::Duration;

use catalog_api::CatalogApi;
use diesel_migrations::embed_migrations;
use kernel::db::ModuleMigrations;
use kernel::module::{Module, ModuleInfo, ServiceModule};
use kernel::wiring::{ModuleEntry, Wiring, WiringError};
use payments_api::PaymentsApi;
use users_api::UsersApi;

use crate::settings::OrdersSettings;

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

/// The orders module's entry in the composition root's table.
pub static ENTRY: ModuleEntry = ModuleEntry { info: &INFO, build };

/// Orders needs its database, its `[orders]` settings, and the catalog,
/// payments and users traits; it runs its upkeep jobs. Expiry runs at least
/// every 30 s, and more often for short TTLs.
fn build(wiring: &mut Wiring<'_>) -> Result<Arc<dyn Module>, WiringError> {
    let settings: OrdersSettings = wiring.section(INFO.name)?;
    settings.validate().map_err(WiringError)?;
    let db = wiring.database(INFO.name)?;
    let service = Arc::new(OrdersService::new(
        db.clone(),
        wiring.require::<dyn CatalogApi>()?,
        wiring.require::<dyn PaymentsApi>()?,
        wiring.require::<dyn UsersApi>()?,
        settings.reservation_ttl,
    ));
    let sweep_every = (settings.reservation_ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
    let module = ServiceModule::new(&INFO, service, db, http::public::routes, |_| {})
        .with_job("expire unpaid orders", sweep_every, |s| Box::pin(async move { s.expire_due().await }))
        .with_job("reconcile interrupted orders", Duration::from_secs(15), |s| {
            Box::pin(async move { s.reconcile().await })
        })
        .with_job("purge idempotency keys", Duration::from_secs(3600), |s| {
            Box::pin(async move { s.purge_idempotency_keys().await })
        });
    Ok(Arc::new(module))
}
