//! The payments module: charges and refunds through a [`provider::PaymentProvider`],
//! exactly once per idempotency key. Other modules reach it only through
//! `payments_api::PaymentsApi`.

mod http;
pub mod provider;
mod schema;
mod service;
mod store;

use std::sync::Arc;

use diesel_migrations::embed_migrations;
use kernel::db::ModuleMigrations;
use kernel::module::{ModuleInfo, ServiceModule};

pub use service::PaymentsService;

pub static INFO: ModuleInfo = ModuleInfo {
    name: payments_api::MODULE,
    depends_on: &[],
    migrations: ModuleMigrations {
        sqlite: embed_migrations!("../../migrations/payments/sqlite"),
        mysql: embed_migrations!("../../migrations/payments/mysql"),
    },
    openapi: || <http::PaymentsDoc as utoipa::OpenApi>::openapi(),
};

/// The running module: the service behind its routes.
pub fn module(service: Arc<PaymentsService>) -> ServiceModule<PaymentsService> {
    let db = service.database().clone();
    ServiceModule::new(&INFO, service, db, http::public::routes, http::internal::routes)
}
