//! The users module: profiles, roles, shipping addresses. Other modules reach
//! it only through `users_api::UsersApi`.

mod countries;
mod http;
mod requests;
mod schema;
mod service;
mod store;

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::embed_migrations;
use kernel::db::{Database, ModuleMigrations};
use kernel::module::{Module, ModuleInfo};

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

pub struct UsersModule {
    service: web::Data<UsersService>,
}

impl UsersModule {
    pub fn new(service: Arc<UsersService>) -> Self {
        Self { service: web::Data::from(service) }
    }
}

impl Module for UsersModule {
    fn info(&self) -> &'static ModuleInfo {
        &INFO
    }

    fn database(&self) -> &Database {
        self.service.database()
    }

    fn public_routes(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.service.clone());
        http::public::routes(cfg);
    }

    fn internal_routes(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.service.clone());
        http::internal::routes(cfg);
    }
}
