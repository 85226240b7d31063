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

use actix_web::web;
use diesel_migrations::embed_migrations;
use kernel::db::{Database, ModuleMigrations};
use kernel::module::{BackgroundJob, Module, ModuleInfo};

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

pub struct CatalogModule {
    service: web::Data<CatalogService>,
}

impl CatalogModule {
    pub fn new(service: Arc<CatalogService>) -> Self {
        Self { service: web::Data::from(service) }
    }
}

impl Module for CatalogModule {
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

    fn background_jobs(&self) -> Vec<BackgroundJob> {
        let service = self.service.clone();
        vec![BackgroundJob {
            name: "release expired reservations",
            every: Duration::from_secs(30),
            run: Arc::new(move || {
                let service = service.clone();
                Box::pin(async move {
                    match service.release_expired().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(released = n, "released expired stock reservations"),
                        Err(e) => tracing::warn!(error = %e, "could not release expired reservations"),
                    }
                })
            }),
        }]
    }
}
