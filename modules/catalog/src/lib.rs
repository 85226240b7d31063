//! The catalog module: products, categories, stock, and the reservations
//! orders take on that stock. Other modules reach it only through
//! `catalog_api::CatalogApi`.

mod http;
mod requests;
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

use crate::settings::CatalogSettings;

pub use service::CatalogService;

pub static INFO: ModuleInfo = ModuleInfo {
    name: catalog_api::MODULE,
    depends_on: &[],
    migrations: ModuleMigrations {
        sqlite: embed_migrations!("../../migrations/catalog/sqlite"),
        mysql: embed_migrations!("../../migrations/catalog/mysql"),
    },
    openapi: || <http::CatalogDoc as utoipa::OpenApi>::openapi(),
};

/// The catalog module's entry in the composition root's table.
pub static ENTRY: ModuleEntry = ModuleEntry { info: &INFO, build };

/// The catalog needs its database and its `[catalog]` settings; it provides
/// `CatalogApi`, and sweeps reservations whose order never confirmed them.
fn build(wiring: &mut Wiring<'_>) -> Result<Arc<dyn Module>, WiringError> {
    let settings: CatalogSettings = wiring.section(INFO.name)?;
    settings.validate().map_err(WiringError)?;
    let db = wiring.database(INFO.name)?;
    let service = Arc::new(CatalogService::new(db.clone()).with_read_cache_ttl(settings.read_cache_ttl));
    wiring.provide::<dyn CatalogApi>(service.clone());
    let module = ServiceModule::new(&INFO, service, db, http::public::routes, http::internal::routes)
        .with_job("release expired reservations", Duration::from_secs(30), |s| {
            Box::pin(async move { s.release_expired().await })
        });
    Ok(Arc::new(module))
}
