use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, errors::ErrorKind, DecodingKey, Validation};

use uuid::Uuid;

use super::{AccessChange, AccessChangeSource, AccessClaims, AuthUser, Role, ALGORITHM};
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
/// How often every process loads the key set anyway (a kernel job). A signing
/// key rotation waits this long between publishing a key and signing with it
/// (docs/operations.md).
pub const KEYS_REFRESH_EVERY: Duration = Duration::from_secs(30);
/// Tokens whose signature was checked, remembered until they expire: a client
/// sends the same access token for its whole life, and checking an Ed25519
/// signature costs more than the rest of a typical request. Bounded: when full,
/// it starts over.
const VERIFIED_TOKENS: usize = 4096;
/// How far back access changes are kept and first fetched: longer than any
/// access token lives.
const CHANGES_KEPT: i64 = 24 * 3600;
/// Each poll asks again for this many seconds before the last one started, so
/// a change committed while a poll ran is not missed.
const POLL_OVERLAP: i64 = 5;

pub struct TokenVerifier {
    source: Arc<dyn KeySource>,
    keys: RwLock<HashMap<String, DecodingKey>>,
    last_fetch: Mutex<Option<Instant>>,
    validation: Validation,
    /// Exact token text → who it names, when it was issued and when it
    /// expires (Unix seconds).
    verified: Mutex<HashMap<String, Verified>>,
    access: Option<AccessChanges>,
}

#[derive(Clone, Copy)]
struct Verified {
    user: AuthUser,
    iat: i64,
    exp: i64,
}

/// The latest access change per account, and where to ask for more.
struct AccessChanges {
    source: Arc<dyn AccessChangeSource>,
    latest: RwLock<HashMap<Uuid, AccessChange>>,
    next_since: Mutex<i64>,
}

impl TokenVerifier {
    pub fn new(source: Arc<dyn KeySource>, issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            source,
            keys: RwLock::new(HashMap::new()),
            last_fetch: Mutex::new(None),
            validation,
            verified: Mutex::new(HashMap::new()),
            access: None,
        }
    }

    /// Withdraws what tokens allowed once their account is disabled or
    /// demoted, as [`Self::poll_access_changes`] learns of it.
    pub fn with_access_changes(mut self, source: Arc<dyn AccessChangeSource>) -> Self {
        self.access = Some(AccessChanges {
            source,
            latest: RwLock::new(HashMap::new()),
            next_since: Mutex::new(chrono::Utc::now().timestamp() - CHANGES_KEPT),
        });
        self
    }

    /// Fetches the access changes made since the last poll (a background job,
    /// every few seconds); returns how many arrived.
    pub async fn poll_access_changes(&self) -> Result<usize, String> {
        let Some(access) = &self.access else { return Ok(0) };
        let started = chrono::Utc::now().timestamp();
        let since = *access.next_since.lock().unwrap_or_else(|p| p.into_inner());
        let changes = access.source.access_changes(since).await?;
        let mut latest = access.latest.write().unwrap_or_else(|p| p.into_inner());
        for change in &changes {
            let newer = latest.get(&change.user_id).is_none_or(|known| known.changed_at <= change.changed_at);
            if newer {
                latest.insert(change.user_id, *change);
            }
        }
        latest.retain(|_, change| change.changed_at > started - CHANGES_KEPT);
        *access.next_since.lock().unwrap_or_else(|p| p.into_inner()) = started - POLL_OVERLAP;
        Ok(changes.len())
    }

    /// The token's user as the account stands now: a change at or after the
    /// token was issued disables it (401) or lowers its role to the current one.
    fn as_it_stands(&self, verified: Verified) -> Result<AuthUser, ApiError> {
        let Some(access) = &self.access else { return Ok(verified.user) };
        let latest = access.latest.read().unwrap_or_else(|p| p.into_inner());
        match latest.get(&verified.user.id) {
            Some(change) if change.changed_at >= verified.iat => {
                if change.disabled {
                    return Err(ApiError::unauthorized("the account is disabled"));
                }
                let role = if change.role == Role::Customer { Role::Customer } else { verified.user.role };
                Ok(AuthUser { id: verified.user.id, role })
            }
            _ => Ok(verified.user),
        }
    }

    /// Loads the key set; called at start and when a token names an unknown key.
    pub async fn refresh(&self) -> Result<usize, String> {
        *self.last_fetch.lock().map_err(|e| e.to_string())? = Some(Instant::now());
        self.refresh_scheduled().await
    }

    /// Loads the key set on the kernel's schedule (every [`KEYS_REFRESH_EVERY`]),
    /// so a key published before anyone signs with it is known here before the
    /// first token it signed arrives. Leaves the unknown-`kid` allowance alone.
    pub async fn refresh_scheduled(&self) -> Result<usize, String> {
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
        let mut keys = self.keys.write().map_err(|e| e.to_string())?;
        let same_keys = keys.len() == count && fresh.keys().all(|kid| keys.contains_key(kid));
        *keys = fresh;
        if !same_keys {
            // A key that left the set must stop vouching for the tokens it signed.
            self.verified.lock().map_err(|e| e.to_string())?.clear();
        }
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

    /// Checks signature, algorithm, expiry, not-before, issue time, issuer and
    /// audience, then what the account may do now.
    pub async fn verify(&self, token: &str) -> Result<AuthUser, ApiError> {
        let checked = match self.already_verified(token)? {
            Some(checked) => checked,
            None => {
                let checked = self.check(token).await?;
                let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
                if verified.len() >= VERIFIED_TOKENS {
                    verified.clear();
                }
                verified.insert(token.to_owned(), checked);
                checked
            }
        };
        self.as_it_stands(checked)
    }

    /// A token seen before, while it is unexpired; the expiry error once it is not.
    fn already_verified(&self, token: &str) -> Result<Option<Verified>, ApiError> {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        match verified.get(token) {
            Some(v) if chrono::Utc::now().timestamp() <= v.exp + self.validation.leeway as i64 => {
                Ok(Some(*v))
            }
            Some(_) => Err(ApiError::unauthorized("the access token has expired")),
            None => Ok(None),
        }
    }

    async fn check(&self, token: &str) -> Result<Verified, ApiError> {
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
        // A token issued in the future was not issued by our clock.
        if data.claims.iat > chrono::Utc::now().timestamp() + self.validation.leeway as i64 {
            return Err(invalid());
        }
        let user = AuthUser { id: data.claims.sub, role: data.claims.role };
        Ok(Verified { user, iat: data.claims.iat, exp: data.claims.exp })
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{encode, EncodingKey, Header};

    use super::*;

    /// Two throwaway Ed25519 keys made for this test, and their public halves.
    const KEY_A: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAlNDtA58R14ey3QNhN8PfxEbzv9MjG7CDDwdrPLsopi\n-----END PRIVATE KEY-----\n";
    const PUBLIC_A: &str = "xWGW19K8hXX5sp8ebs7wLmIdG_7N_bdQHe0fAPe8n2Q";
    const KEY_B: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIEoJ6y3e1qiVq1yudQYEulXdPgJ+C6Dn1VWx/oOE4Bjq\n-----END PRIVATE KEY-----\n";
    const PUBLIC_B: &str = "FX2BSa44t9K96JocGgqMs4MezwZe5WdEraVHPUxTYFc";

    /// An auth service whose published keys the test changes.
    struct Published(Mutex<Vec<(&'static str, &'static str)>>);

    #[async_trait::async_trait]
    impl KeySource for Published {
        async fn fetch_keys(&self) -> Result<JwkSet, String> {
            let keys: Vec<serde_json::Value> = self
                .0
                .lock()
                .expect("lock")
                .iter()
                .map(|(kid, x)| serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}))
                .collect();
            serde_json::from_value(serde_json::json!({ "keys": keys })).map_err(|e| e.to_string())
        }
    }

    fn token(pem: &str, kid: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            sub: Uuid::nil(),
            role: Role::Customer,
            iss: "shop".into(),
            aud: "shop-api".into(),
            iat: now,
            exp: now + 300,
            jti: "test".into(),
        };
        let header = Header { kid: Some(kid.into()), ..Header::new(ALGORITHM) };
        encode(&header, &claims, &EncodingKey::from_ed_pem(pem.as_bytes()).expect("pem")).expect("sign")
    }

    #[tokio::test]
    async fn a_key_published_before_it_signs_verifies_its_first_token() {
        let published = Arc::new(Published(Mutex::new(vec![("a", PUBLIC_A)])));
        let verifier = TokenVerifier::new(published.clone(), "shop", "shop-api");
        verifier.refresh().await.expect("first load");
        assert!(verifier.verify(&token(KEY_A, "a")).await.is_ok());

        // An unknown key right after a fetch: not fetched again so soon.
        assert_eq!(verifier.verify(&token(KEY_B, "b")).await.expect_err("unknown").status().as_u16(), 401);

        // Rotation step 2: the new key is published; the scheduled refresh loads it.
        published.0.lock().expect("lock").push(("b", PUBLIC_B));
        verifier.refresh_scheduled().await.expect("scheduled load");
        assert!(verifier.verify(&token(KEY_B, "b")).await.is_ok(), "the first token of the new key");
        assert!(verifier.verify(&token(KEY_A, "a")).await.is_ok(), "the old key still verifies");

        // The old key leaves the set: its tokens, even ones already checked, stop verifying.
        let old = token(KEY_A, "a");
        assert!(verifier.verify(&old).await.is_ok());
        published.0.lock().expect("lock").retain(|(kid, _)| *kid == "b");
        verifier.refresh_scheduled().await.expect("scheduled load");
        assert_eq!(verifier.verify(&old).await.expect_err("removed key").status().as_u16(), 401);
    }
}
