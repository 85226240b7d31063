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

use diesel_migrations::embed_migrations;
use kernel::config::Settings;
use kernel::db::{Database, ModuleMigrations};
use kernel::module::{ModuleInfo, ServiceModule};
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
    Ok(AuthService::new(db, users, hasher, limiter, issuer, auth.trust_forwarded_for))
}

/// The running module: the service behind its routes, and the purge of
/// expired refresh tokens.
pub fn module(service: Arc<AuthService>) -> ServiceModule<AuthService> {
    let db = service.database().clone();
    ServiceModule::new(&INFO, service, db, http::public::routes, |_| {}).with_job(
        "purge expired refresh tokens",
        Duration::from_secs(3600),
        |s| Box::pin(async move { s.purge_expired_tokens().await }),
    )
}
