//! The payment provider seam, and a deterministic provider for development
//! and tests that follows Stripe's test-mode tokens.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct ProviderCharge<'a> {
    /// Passed to the provider so that a retried request charges at most once.
    pub idempotency_key: &'a str,
    pub amount_cents: i64,
    pub currency: &'a str,
    pub token: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded { reference: String },
    Declined { reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Unreachable, timed out or failing: the outcome is unknown, retry with the same key.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    async fn charge(&self, charge: ProviderCharge<'_>) -> Result<ChargeOutcome, ProviderError>;
    async fn refund(&self, reference: &str, idempotency_key: &str) -> Result<(), ProviderError>;
    /// What became of the charge sent with `idempotency_key`, as real
    /// providers let one ask: its outcome, or `None` if it was never made.
    async fn lookup(&self, idempotency_key: &str) -> Result<Option<ChargeOutcome>, ProviderError>;
}

/// Test-mode tokens: `tok_visa` and `tok_mastercard` succeed,
/// `tok_chargeDeclined` (and its `…InsufficientFunds` variant) are declined,
/// `tok_providerOutage` simulates the provider being down (no charge made),
/// `tok_providerLostAnswer` a charge that succeeded while its answer was lost;
/// anything else is declined as an invalid token. Like a real provider, it remembers
/// idempotency keys: a repeated key returns the first outcome.
#[derive(Default)]
pub struct TestProvider {
    seen: Mutex<HashMap<String, ChargeOutcome>>,
}

pub const OUTAGE_TOKEN: &str = "tok_providerOutage";
pub const LOST_ANSWER_TOKEN: &str = "tok_providerLostAnswer";

#[async_trait::async_trait]
impl PaymentProvider for TestProvider {
    async fn charge(&self, charge: ProviderCharge<'_>) -> Result<ChargeOutcome, ProviderError> {
        if charge.token == OUTAGE_TOKEN {
            return Err(ProviderError::Unavailable("simulated outage".into()));
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let outcome = seen.entry(charge.idempotency_key.to_owned()).or_insert_with(|| match charge.token {
            "tok_visa" | "tok_mastercard" | LOST_ANSWER_TOKEN => {
                ChargeOutcome::Succeeded { reference: reference("ch", charge.idempotency_key) }
            }
            "tok_chargeDeclined" => ChargeOutcome::Declined { reason: "card_declined".into() },
            "tok_chargeDeclinedInsufficientFunds" => {
                ChargeOutcome::Declined { reason: "insufficient_funds".into() }
            }
            _ => ChargeOutcome::Declined { reason: "invalid_token".into() },
        });
        if charge.token == LOST_ANSWER_TOKEN {
            return Err(ProviderError::Unavailable("simulated timeout after the charge was made".into()));
        }
        Ok(outcome.clone())
    }

    async fn refund(&self, _reference: &str, _idempotency_key: &str) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn lookup(&self, idempotency_key: &str) -> Result<Option<ChargeOutcome>, ProviderError> {
        Ok(self.seen.lock().unwrap_or_else(|p| p.into_inner()).get(idempotency_key).cloned())
    }
}

/// A stable provider reference derived from the idempotency key.
fn reference(prefix: &str, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("test_{prefix}_{}", kernel::hex(&digest[..12]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge<'a>(key: &'a str, token: &'a str) -> ProviderCharge<'a> {
        ProviderCharge { idempotency_key: key, amount_cents: 100, currency: "EUR", token }
    }

    #[tokio::test]
    async fn follows_the_test_tokens_and_remembers_keys() {
        let provider = TestProvider::default();
        let ok = provider.charge(charge("k1", "tok_visa")).await.expect("ok");
        assert!(matches!(ok, ChargeOutcome::Succeeded { .. }));
        assert_eq!(provider.charge(charge("k1", "tok_chargeDeclined")).await.expect("replay"), ok);
        assert!(matches!(
            provider.charge(charge("k2", "tok_chargeDeclined")).await.expect("declined"),
            ChargeOutcome::Declined { .. }
        ));
        assert!(provider.charge(charge("k3", OUTAGE_TOKEN)).await.is_err());
        assert_eq!(provider.lookup("k3").await.expect("lookup"), None, "an outage charges nothing");
        assert!(provider.charge(charge("k4", LOST_ANSWER_TOKEN)).await.is_err());
        let made = provider.lookup("k4").await.expect("lookup");
        assert!(matches!(made, Some(ChargeOutcome::Succeeded { .. })), "{made:?}");
    }
}
