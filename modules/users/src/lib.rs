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
use kernel::module::{ModuleInfo, ServiceModule};

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

/// The running module: the service behind its routes.
pub fn module(service: Arc<UsersService>) -> ServiceModule<UsersService> {
    let db = service.database().clone();
    ServiceModule::new(&INFO, service, db, http::public::routes, http::internal::routes)
}
