//! The orders module: checkout as a saga over catalog, payments and users,
//! each reached only through its `-api` trait, in-process or over HTTP.

mod http;
pub mod requests;
mod schema;
mod service;
mod store;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use diesel_migrations::embed_migrations;
use futures_util::future::BoxFuture;
use kernel::db::{Database, ModuleMigrations};
use kernel::module::{BackgroundJob, Module, ModuleInfo};

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

pub struct OrdersModule {
    service: web::Data<OrdersService>,
    sweep_every: Duration,
}

impl OrdersModule {
    /// Expiry runs at least every 30 s, and more often for short TTLs.
    pub fn new(service: Arc<OrdersService>, reservation_ttl: Duration) -> Self {
        let sweep_every = (reservation_ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
        Self { service: web::Data::from(service), sweep_every }
    }

    fn job(
        &self,
        name: &'static str,
        every: Duration,
        work: fn(web::Data<OrdersService>) -> BoxFuture<'static, Result<usize, kernel::ApiError>>,
    ) -> BackgroundJob {
        let service = self.service.clone();
        BackgroundJob {
            name,
            every,
            run: Arc::new(move || {
                let service = service.clone();
                Box::pin(async move {
                    match work(service).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(job = name, handled = n, "background job"),
                        Err(e) => tracing::warn!(job = name, error = %e, "background job failed"),
                    }
                })
            }),
        }
    }
}

impl Module for OrdersModule {
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

    fn internal_routes(&self, _cfg: &mut web::ServiceConfig) {}

    fn background_jobs(&self) -> Vec<BackgroundJob> {
        vec![
            self.job("expire unpaid orders", self.sweep_every, |s| {
                Box::pin(async move { s.expire_due().await })
            }),
            self.job("reconcile interrupted orders", Duration::from_secs(15), |s| {
                Box::pin(async move { s.reconcile().await })
            }),
            self.job("purge idempotency keys", Duration::from_secs(3600), |s| {
                Box::pin(async move { s.purge_idempotency_keys().await })
            }),
        ]
    }
}
