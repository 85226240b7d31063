use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, errors::ErrorKind, DecodingKey, Validation};

use super::{AccessClaims, AuthUser, ALGORITHM};
use crate::error::ApiError;

/// Where the public keys come from: the auth module in-process, or its
/// `/api/v1/auth/jwks` over HTTP.
#[async_trait::async_trait]
pub trait KeySource: Send + Sync {
    async fn fetch_keys(&self) -> Result<JwkSet, String>;
}

/// An unknown `kid` triggers a refetch at most this often, so forged key ids
/// cannot turn every request into a call to the auth service.
const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Tokens whose signature was checked, remembered until they expire: a client
/// sends the same access token for its whole life, and checking an Ed25519
/// signature costs more than the rest of a typical request. Bounded: when full,
/// it starts over.
const VERIFIED_TOKENS: usize = 4096;

pub struct TokenVerifier {
    source: Arc<dyn KeySource>,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_fetch: Mutex<Option<Instant>>,
    validation: Validation,
    /// Exact token text → who it names and when it expires (Unix seconds).
    verified: Mutex<HashMap<String, (AuthUser, i64)>>,
}

impl TokenVerifier {
    pub fn new(source: Arc<dyn KeySource>, issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            source,
            keys: RwLock::new(HashMap::new()),
            last_fetch: Mutex::new(None),
            validation,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// Loads the key set; called at start and when a token names an unknown key.
    pub async fn refresh(&self) -> Result<usize, String> {
        *self.last_fetch.lock().map_err(|e| e.to_string())? = Some(Instant::now());
        let set = self.source.fetch_keys().await?;
        let mut fresh = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk)) else {
                tracing::warn!("ignoring a published key without kid or of an unusable type");
                continue;
            };
            fresh.insert(kid, key);
        }
        let count = fresh.len();
        *self.keys.write().map_err(|e| e.to_string())? = fresh;
        // A key that left the set must stop vouching for the tokens it signed.
        self.verified.lock().map_err(|e| e.to_string())?.clear();
        Ok(count)
    }

    fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.read().ok()?.get(kid).cloned()
    }

    /// With no keys yet (the auth service was down at start), always; else at
    /// most once per interval.
    fn may_refetch(&self) -> bool {
        let no_keys = self.keys.read().map(|k| k.is_empty()).unwrap_or(true);
        no_keys
            || self
                .last_fetch
                .lock()
                .map(|last| last.is_none_or(|t| t.elapsed() >= REFETCH_INTERVAL))
                .unwrap_or(false)
    }

    /// Checks signature, algorithm, expiry, issuer and audience.
    pub async fn verify(&self, token: &str) -> Result<AuthUser, ApiError> {
        if let Some(user) = self.already_verified(token)? {
            return Ok(user);
        }
        let (user, exp) = self.check(token).await?;
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= VERIFIED_TOKENS {
            verified.clear();
        }
        verified.insert(token.to_owned(), (user, exp));
        Ok(user)
    }

    /// A token seen before: its user while it is unexpired, the expiry error once it is not.
    fn already_verified(&self, token: &str) -> Result<Option<AuthUser>, ApiError> {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        match verified.get(token) {
            Some((user, exp)) if chrono::Utc::now().timestamp() <= exp + self.validation.leeway as i64 => {
                Ok(Some(*user))
            }
            Some(_) => Err(ApiError::unauthorized("the access token has expired")),
            None => Ok(None),
        }
    }

    async fn check(&self, token: &str) -> Result<(AuthUser, i64), ApiError> {
        let invalid = || ApiError::unauthorized("the access token is invalid");
        let header = decode_header(token).map_err(|_| invalid())?;
        if header.alg != ALGORITHM {
            return Err(invalid());
        }
        let kid = header.kid.ok_or_else(invalid)?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None if self.may_refetch() => {
                if let Err(e) = self.refresh().await {
                    return Err(ApiError::unavailable("cannot verify access tokens right now")
                        .caused_by(format!("cannot refresh the token signing keys: {e}")));
                }
                self.key(&kid).ok_or_else(invalid)?
            }
            None => return Err(invalid()),
        };
        let data = decode::<AccessClaims>(token, &key, &self.validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => ApiError::unauthorized("the access token has expired"),
            _ => invalid(),
        })?;
        Ok((AuthUser { id: data.claims.sub, role: data.claims.role }, data.claims.exp))
    }
}
