//! Access-token verification shared by every module: claims, roles, the key
//! cache fed by the auth module's JWKS, and the `AuthUser` extractor.

mod access;
mod claims;
mod extractor;
mod verifier;

pub use access::{AccessChange, AccessChangeSource};
pub use claims::{AccessClaims, Role};
pub use extractor::AuthUser;
pub use verifier::{KeySource, TokenVerifier, KEYS_REFRESH_EVERY};

/// The two keys of the `[auth]` section every process reads: what access
/// tokens say they come from and are for. The auth module writes them into
/// the tokens it signs; every verifier requires them.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self { issuer: "shop".into(), audience: "shop".into() }
    }
}

/// The only signing algorithm accepted: tokens naming another are rejected.
pub const ALGORITHM: jsonwebtoken::Algorithm = jsonwebtoken::Algorithm::EdDSA;
