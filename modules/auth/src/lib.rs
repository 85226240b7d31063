//! The auth module: credentials (Argon2id), access tokens (EdDSA JWTs) and
//! rotating refresh tokens. Reaches users only through `users_api::UsersApi`.

mod http;
mod keys;
mod limiter;
mod passwords;
mod requests;
mod schema;
mod service;
mod settings;
mod store;
mod tokens;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use auth_api::Accounts;
use diesel_migrations::embed_migrations;
use kernel::auth::{AccessChangeSource, KeySource, TokenSettings};
use kernel::db::ModuleMigrations;
use kernel::module::{Module, ModuleInfo, ServiceModule};
use kernel::wiring::{ModuleEntry, Wiring, WiringError};
use users_api::UsersApi;

use crate::settings::{AuthSettings, DEVELOPMENT_KEY_FILE};

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

/// The auth module's entry in the composition root's table.
pub static ENTRY: ModuleEntry = ModuleEntry { info: &INFO, build };

/// Auth needs its database, its `[auth]` settings and `UsersApi`; it provides
/// the token keys (`KeySource`) and admin accounts (`Accounts`). The signing
/// key is generated only outside production; in production it must be configured.
fn build(wiring: &mut Wiring<'_>) -> Result<Arc<dyn Module>, WiringError> {
    let settings: AuthSettings = wiring.section(INFO.name)?;
    settings.validate().map_err(WiringError)?;
    let tokens: TokenSettings = wiring.section(INFO.name)?;
    let production = wiring.settings().is_production();
    let key_file = match settings.signing_key_file.as_deref().map(str::trim) {
        Some(file) if !file.is_empty() => file.to_owned(),
        _ if production => return Err(WiringError(
            "auth.signing_key_file is required in production: point it (or SHOP__AUTH__SIGNING_KEY_FILE) \
                 at an Ed25519 PKCS#8 PEM"
                .into(),
        )),
        _ => DEVELOPMENT_KEY_FILE.to_owned(),
    };
    let keys = keys::SigningKeys::load(Path::new(&key_file), !production)
        .and_then(|keys| keys.with_previous(&settings.previous_key_files))
        .map_err(|e| WiringError(e.to_string()))?;
    let threads = settings.hashing_threads.unwrap_or_else(passwords::PasswordHasher::default_threads);
    let hasher = passwords::PasswordHasher::new(threads).map_err(|e| WiringError(e.to_string()))?;
    let throttles = limiter::Throttles::new(&settings);
    let issuer = tokens::TokenIssuer {
        keys,
        issuer: tokens.issuer,
        audience: tokens.audience,
        access_ttl: settings.access_token_ttl,
        refresh_ttl: settings.refresh_token_ttl,
    };
    let db = wiring.database(INFO.name)?;
    let users = wiring.require::<dyn UsersApi>()?;
    let service = Arc::new(AuthService::new(
        db.clone(),
        users,
        hasher,
        throttles,
        issuer,
        settings.trust_forwarded_for,
    ));
    wiring.provide::<dyn KeySource>(service.clone());
    wiring.provide::<dyn AccessChangeSource>(service.clone());
    wiring.provide::<dyn Accounts>(service.clone());
    let module = ServiceModule::new(&INFO, service, db, http::public::routes, http::internal::routes)
        .with_job("purge expired refresh tokens", Duration::from_secs(3600), |s| {
            Box::pin(async move { s.purge_expired_tokens().await })
        });
    Ok(Arc::new(module))
}
