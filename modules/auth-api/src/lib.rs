//! The auth module's contract. Other modules need two things from it: the
//! public keys that verify access tokens (`kernel::auth::KeySource`) and the
//! accounts disabled or demoted since (`kernel::auth::AccessChangeSource`).
//! In-process, the auth service is the source; elsewhere, [`HttpAuthKeys`]
//! reads the public JWKS endpoint. The command line also creates admins
//! through [`Accounts`], where auth is compiled in.

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use kernel::auth::{AccessChange, AccessChangeSource, KeySource};
use kernel::error::ProblemType;
use kernel::http::RemoteClient;
use kernel::wiring::{Contract, Provided};
use kernel::ApiError;
use uuid::Uuid;

pub const MODULE: &str = "auth";

/// Where the auth module publishes its public keys.
pub const JWKS_PATH: &str = "/api/v1/auth/jwks";

/// Same answer for an unknown email and a wrong password.
pub const INVALID_CREDENTIALS: ProblemType = ProblemType::new("invalid_credentials", 401);
pub const INVALID_REFRESH_TOKEN: ProblemType = ProblemType::new("invalid_refresh_token", 401);
pub const ACCOUNT_DISABLED: ProblemType = ProblemType::new("account_disabled", 403);

/// The auth module's problem types.
pub const PROBLEMS: &[ProblemType] = &[INVALID_CREDENTIALS, INVALID_REFRESH_TOKEN, ACCOUNT_DISABLED];

/// Elsewhere, the access-token keys come from auth's JWKS.
pub const CONTRACT: Contract = Contract { name: MODULE, remote };

fn remote(client: RemoteClient, provided: &mut Provided) {
    let keys = Arc::new(HttpAuthKeys::new(client));
    provided.provide::<dyn KeySource>(keys.clone());
    provided.provide::<dyn AccessChangeSource>(keys);
}

/// An admin made or promoted by `shop create-admin`.
#[derive(Debug, Clone)]
pub struct AdminAccount {
    pub id: Uuid,
    pub email: String,
    /// False when an existing account was promoted (its password unchanged).
    pub created: bool,
}

/// Accounts the command line manages; provided where auth is compiled in.
#[async_trait::async_trait]
pub trait Accounts: Send + Sync {
    async fn create_admin(&self, email: &str, password: String) -> Result<AdminAccount, ApiError>;
}

/// [`KeySource`] and [`AccessChangeSource`] over HTTP, for processes that do
/// not host the auth module.
pub struct HttpAuthKeys {
    remote: RemoteClient,
}

impl HttpAuthKeys {
    pub fn new(remote: RemoteClient) -> Self {
        Self { remote }
    }
}

#[async_trait::async_trait]
impl KeySource for HttpAuthKeys {
    async fn fetch_keys(&self) -> Result<JwkSet, String> {
        self.remote
            .get_public(JWKS_PATH)
            .await
            .map_err(|e| format!("cannot fetch the auth module's keys: {e}"))
    }
}

#[async_trait::async_trait]
impl AccessChangeSource for HttpAuthKeys {
    async fn access_changes(&self, since: i64) -> Result<Vec<AccessChange>, String> {
        self.remote
            .get(&format!("/access-changes?since={since}"))
            .await
            .map_err(|e| format!("cannot fetch access changes from the auth module: {e}"))
    }
}
