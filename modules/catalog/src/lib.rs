//! The catalog module: products, categories, stock, and the reservations
//! orders take on that stock. Other modules reach it only through
//! `catalog_api::CatalogApi`.

mod http;
mod requests;
mod schema;
mod service;
mod store;

use std::sync::Arc;
use std::time::Duration;

use diesel_migrations::embed_migrations;
use kernel::db::ModuleMigrations;
use kernel::module::{ModuleInfo, ServiceModule};

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

/// The running module: the service behind its routes, and the sweep that
/// releases reservations whose order never confirmed them.
pub fn module(service: Arc<CatalogService>) -> ServiceModule<CatalogService> {
    let db = service.database().clone();
    ServiceModule::new(&INFO, service, db, http::public::routes, http::internal::routes).with_job(
        "release expired reservations",
        Duration::from_secs(30),
        |s| Box::pin(async move { s.release_expired().await }),
    )
}
