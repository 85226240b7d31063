//! The auth module: credentials (Argon2id), access tokens (EdDSA JWTs) and
//! rotating refresh tokens. Reaches users only through `users_api::UsersApi`.

mod http;
mod keys;
mod limiter;
mod passwords;
mod requests;
mod schema;
mod service;
mod store;
mod tokens;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use diesel_migrations::embed_migrations;
use kernel::config::Settings;
use kernel::db::{Database, ModuleMigrations};
use kernel::module::{BackgroundJob, Module, ModuleInfo};
use users_api::UsersApi;

pub use keys::generate_pem;
pub use service::AuthService;

pub static INFO: ModuleInfo = ModuleInfo {
    name: auth_api::MODULE,
    depends_on: &[users_api::MODULE],
    migrations: ModuleMigrations {
        sqlite: embed_migrations!("../../migrations/auth/sqlite"),
        mysql: embed_migrations!("../../migrations/auth/mysql"),
    },
    openapi: || <http::AuthDoc as utoipa::OpenApi>::openapi(),
};

/// Builds the service from the `auth` settings. The signing key is generated
/// only outside production; in production it must be configured.
pub fn service(settings: &Settings, db: Database, users: Arc<dyn UsersApi>) -> anyhow::Result<AuthService> {
    let auth = &settings.auth;
    let key_file = auth.signing_key_file.trim();
    if key_file.is_empty() {
        anyhow::bail!(
            "auth.signing_key_file is required{}: point it (or SHOP__AUTH__SIGNING_KEY_FILE) at an Ed25519 PKCS#8 PEM",
            if settings.is_production() { " in production" } else { "" }
        );
    }
    let keys = keys::SigningKeys::load(Path::new(key_file), !settings.is_production())?;
    let threads = auth.hashing_threads.unwrap_or_else(passwords::PasswordHasher::default_threads);
    let hasher = passwords::PasswordHasher::new(threads)?;
    let limiter = limiter::LoginLimiter::new(
        auth.failed_login_window,
        auth.max_failed_logins_per_account,
        auth.max_failed_logins_per_client,
    );
    let issuer = tokens::TokenIssuer {
        keys,
        issuer: auth.issuer.clone(),
        audience: auth.audience.clone(),
        access_ttl: auth.access_token_ttl,
        refresh_ttl: auth.refresh_token_ttl,
    };
    Ok(AuthService::new(db, users, hasher, limiter, issuer))
}

pub struct AuthModule {
    service: web::Data<AuthService>,
    trust_forwarded_for: web::Data<http::public::TrustForwardedFor>,
}

impl AuthModule {
    pub fn new(service: Arc<AuthService>, settings: &Settings) -> Self {
        Self {
            service: web::Data::from(service),
            trust_forwarded_for: web::Data::new(http::public::TrustForwardedFor(
                settings.auth.trust_forwarded_for,
            )),
        }
    }
}

impl Module for AuthModule {
    fn info(&self) -> &'static ModuleInfo {
        &INFO
    }

    fn database(&self) -> &Database {
        self.service.database()
    }

    fn public_routes(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.service.clone()).app_data(self.trust_forwarded_for.clone());
        http::public::routes(cfg);
    }

    fn internal_routes(&self, _cfg: &mut web::ServiceConfig) {}

    fn background_jobs(&self) -> Vec<BackgroundJob> {
        let service = self.service.clone();
        vec![BackgroundJob {
            name: "purge expired refresh tokens",
            every: Duration::from_secs(3600),
            run: Arc::new(move || {
                let service = service.clone();
                Box::pin(async move {
                    match service.purge_expired_tokens().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(deleted = n, "purged expired refresh tokens"),
                        Err(e) => tracing::warn!(error = %e, "could not purge expired refresh tokens"),
                    }
                })
            }),
        }]
    }
}
