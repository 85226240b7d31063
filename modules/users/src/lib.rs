//! The users module: profiles, roles, shipping addresses. Other modules reach
//! it only through `users_api::UsersApi`.

mod countries;
mod http;
mod requests;
mod schema;
mod service;
mod store;

use std::sync::Arc;

use diesel_migrations::embed_migrations;
use kernel::db::ModuleMigrations;
use kernel::module::{Module, ModuleInfo, ServiceModule};
use kernel::wiring::{ModuleEntry, Wiring, WiringError};
use users_api::UsersApi;

pub use service::UsersService;

pub static INFO: ModuleInfo = ModuleInfo {
    name: users_api::MODULE,
    depends_on: &[],
    migrations: ModuleMigrations {
        sqlite: embed_migrations!("../../migrations/users/sqlite"),
        mysql: embed_migrations!("../../migrations/users/mysql"),
    },
    openapi: || <http::UsersDoc as utoipa::OpenApi>::openapi(),
};

/// The users module's entry in the composition root's table.
pub static ENTRY: ModuleEntry = ModuleEntry { info: &INFO, build };

/// Users needs its database only; it provides `UsersApi`.
fn build(wiring: &mut Wiring<'_>) -> Result<Arc<dyn Module>, WiringError> {
    let db = wiring.database(INFO.name)?;
    let service = Arc::new(UsersService::new(db.clone()));
    wiring.provide::<dyn UsersApi>(service.clone());
    Ok(Arc::new(ServiceModule::new(&INFO, service, db, http::public::routes, http::internal::routes)))
}
