//! The `[auth]` configuration section (keys and defaults as in the contract).

use std::time::Duration;

use kernel::config::{duration, string_list};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    // `auth.issuer` and `auth.audience` are read by every process's token
    // verifier: `kernel::auth::TokenSettings`.
    #[serde(deserialize_with = "duration")]
    pub access_token_ttl: Duration,
    #[serde(deserialize_with = "duration")]
    pub refresh_token_ttl: Duration,
    /// PEM private key that signs access tokens. Unset: generated under
    /// `data/` outside production; required in production.
    pub signing_key_file: Option<String>,
    /// PEM keys rotated out: their public halves stay in the JWKS, so tokens
    /// they signed keep verifying until they expire.
    #[serde(deserialize_with = "string_list")]
    pub previous_key_files: Vec<String>,
    /// Hashes that may run at once; unset: half the cores, at least one.
    pub hashing_threads: Option<usize>,
    pub max_failed_logins_per_account: u32,
    pub max_failed_logins_per_client: u32,
    #[serde(deserialize_with = "duration")]
    pub failed_login_window: Duration,
    /// Take the client address from the last `X-Forwarded-For` entry (only
    /// behind a gateway that overwrites it), else from the socket.
    pub trust_forwarded_for: bool,
    pub max_registrations_per_client: u32,
    #[serde(deserialize_with = "duration")]
    pub registration_window: Duration,
}

/// Where a development key is made when `signing_key_file` is unset.
pub const DEVELOPMENT_KEY_FILE: &str = "data/auth_signing_key.pem";

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            signing_key_file: None,
            previous_key_files: Vec::new(),
            hashing_threads: None,
            max_failed_logins_per_account: 5,
            max_failed_logins_per_client: 100,
            failed_login_window: Duration::from_secs(15 * 60),
            trust_forwarded_for: false,
            max_registrations_per_client: 20,
            registration_window: Duration::from_secs(10 * 60),
        }
    }
}

impl AuthSettings {
    /// Values that would make the module misbehave rather than fail loudly.
    pub fn validate(&self) -> Result<(), String> {
        let mut wrong = Vec::new();
        for (key, value) in [
            ("access_token_ttl", self.access_token_ttl),
            ("refresh_token_ttl", self.refresh_token_ttl),
            ("failed_login_window", self.failed_login_window),
            ("registration_window", self.registration_window),
        ] {
            if value.is_zero() {
                wrong.push(format!("auth.{key} must be longer than zero"));
            }
        }
        if self.hashing_threads == Some(0) {
            wrong.push("auth.hashing_threads must be at least 1".into());
        }
        if self.max_failed_logins_per_account == 0 || self.max_failed_logins_per_client == 0 {
            wrong.push("auth.max_failed_logins_per_account and _per_client must be at least 1".into());
        }
        if self.max_registrations_per_client == 0 {
            wrong.push("auth.max_registrations_per_client must be at least 1".into());
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join("; "))
        }
    }
}
