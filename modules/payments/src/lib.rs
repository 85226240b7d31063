//! The payments module: charges and refunds through a [`provider::PaymentProvider`],
//! exactly once per idempotency key. Other modules reach it only through
//! `payments_api::PaymentsApi`.

mod http;
pub mod provider;
mod schema;
mod service;
mod store;

use std::sync::Arc;
use std::time::Duration;

use diesel_migrations::embed_migrations;
use kernel::db::ModuleMigrations;
use kernel::module::{Module, ModuleInfo, ServiceModule};
use kernel::wiring::{ModuleEntry, Wiring, WiringError};
use payments_api::PaymentsApi;

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

/// A charge still pending after this lost its answer (a call gives up long
/// before): the provider is asked what became of it.
const SETTLE_PENDING_AFTER: chrono::Duration = chrono::Duration::seconds(60);

/// The payments module's entry in the composition root's table.
pub static ENTRY: ModuleEntry = ModuleEntry { info: &INFO, build };

/// Payments needs its database and a provider (the test provider, the only
/// one wired in); it provides `PaymentsApi`.
fn build(wiring: &mut Wiring<'_>) -> Result<Arc<dyn Module>, WiringError> {
    let db = wiring.database(INFO.name)?;
    let provider = Arc::new(provider::TestProvider::default());
    let service = Arc::new(PaymentsService::new(db.clone(), provider));
    wiring.provide::<dyn PaymentsApi>(service.clone());
    let module = ServiceModule::new(&INFO, service, db, http::public::routes, http::internal::routes)
        .with_job("settle pending payments", Duration::from_secs(30), |s| {
            Box::pin(async move { s.settle_pending_older_than(SETTLE_PENDING_AFTER).await })
        });
    Ok(Arc::new(module))
}
