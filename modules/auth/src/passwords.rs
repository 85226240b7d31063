//! Argon2id hashing on a bounded number of blocking threads, so a login storm
//! queues password work instead of starving every other request.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::Semaphore;

/// OWASP's recommended Argon2id parameters: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified when the email is unknown, so that answer costs the same as a wrong password.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    /// `threads`: how many hashes may run at once.
    pub fn new(threads: usize) -> Result<Self, HashError> {
        let dummy = argon2()
            .hash_password(b"timing-equaliser-not-a-real-password")
            .map_err(|e| HashError(e.to_string()))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(threads.max(1))),
            dummy_hash: Arc::new(dummy.to_string()),
        })
    }

    /// Half the cores, at least one.
    pub fn default_threads() -> usize {
        std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move || {
            argon2()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| HashError(e.to_string()))
        })
        .await?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when
    /// there is no stored hash (and then answers false).
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, HashError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let matches = self
            .run(move || {
                let parsed = PasswordHash::new(&hash).map_err(|e| HashError(e.to_string()))?;
                Ok(argon2().verify_password(password.as_bytes(), &parsed).is_ok())
            })
            .await??;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self.permits.acquire().await.map_err(|e| HashError(e.to_string()))?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work)).await.map_err(|e| HashError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let hasher = PasswordHasher::new(1).expect("hasher");
        let hash = hasher.hash("correct horse battery".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse battery".into(), Some(hash.clone())).await.expect("verify"));
        assert!(!hasher.verify("wrong horse battery".into(), Some(hash)).await.expect("verify"));
        let dummy_password = "timing-equaliser-not-a-real-password".to_owned();
        assert!(!hasher.verify(dummy_password, None).await.expect("verify"));
    }
}
