//! The auth module's contract. Other modules need one thing from it: the
//! public keys that verify access tokens, through `kernel::auth::KeySource`.
//! In-process, the auth service is the source; elsewhere, [`HttpAuthKeys`]
//! reads the public JWKS endpoint.

use jsonwebtoken::jwk::JwkSet;
use kernel::auth::KeySource;
use kernel::http::RemoteClient;

pub const MODULE: &str = "auth";

/// Where the auth module publishes its public keys.
pub const JWKS_PATH: &str = "/api/v1/auth/jwks";

/// [`KeySource`] over HTTP, for processes that do not host the auth module.
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
