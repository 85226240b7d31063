//! Minting access tokens (signed JWTs) and refresh tokens (random, stored hashed).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{encode, Header};
use kernel::auth::{AccessClaims, Role, ALGORITHM};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::keys::SigningKeys;

pub struct TokenIssuer {
    pub keys: SigningKeys,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl TokenIssuer {
    pub fn access_token(&self, user: Uuid, role: Role) -> Result<String, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user,
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
            jti: kernel::new_id().to_string(),
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.keys.kid.clone());
        encode(&header, &claims, &self.keys.encoding)
    }
}

/// A new opaque refresh token: 256 random bits, URL-safe.
pub fn new_refresh_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database keeps of a refresh token: its SHA-256, hex.
pub fn hash_refresh_token(token: &str) -> String {
    kernel::hex(&Sha256::digest(token.as_bytes()))
}
