//! The payments module: charges and refunds through a [`provider::PaymentProvider`],
//! exactly once per idempotency key. Other modules reach it only through
//! `payments_api::PaymentsApi`.

mod http;
pub mod provider;
mod schema;
mod service;
mod store;

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::embed_migrations;
use kernel::db::{Database, ModuleMigrations};
use kernel::module::{Module, ModuleInfo};

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

pub struct PaymentsModule {
    service: web::Data<PaymentsService>,
}

impl PaymentsModule {
    pub fn new(service: Arc<PaymentsService>) -> Self {
        Self { service: web::Data::from(service) }
    }
}

impl Module for PaymentsModule {
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
