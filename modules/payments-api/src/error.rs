use kernel::error::{shared, ContractError, FieldError, Problem, ProblemType, IDEMPOTENCY_KEY_REUSED};
use kernel::ApiError;

use crate::MODULE;

pub const PAYMENT_NOT_FOUND: ProblemType = ProblemType::new("payment_not_found", 404);
/// The provider could not be reached: nothing was charged twice, and the same call can be retried.
pub const PAYMENT_PROVIDER_UNAVAILABLE: ProblemType = ProblemType::new("payment_provider_unavailable", 503);
pub const NOT_REFUNDABLE: ProblemType = ProblemType::new("not_refundable", 409);

/// The payments module's problem types (a reused charge key is the kernel's `idempotency_key_reused`).
pub const PROBLEMS: &[ProblemType] = &[PAYMENT_NOT_FOUND, PAYMENT_PROVIDER_UNAVAILABLE, NOT_REFUNDABLE];

#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    #[error("payment not found")]
    NotFound,
    /// The provider could not be reached; the same call can be retried safely.
    #[error("the payment provider is unavailable")]
    ProviderUnavailable,
    /// The idempotency key was used before for another charge.
    #[error("idempotency key reused for a different charge")]
    KeyReused,
    #[error("only a succeeded payment can be refunded")]
    NotRefundable,
    #[error("invalid fields: {0:?}")]
    Invalid(Vec<FieldError>),
    /// Payments (or its database) is down, or the call's outcome is unknown: retry.
    #[error("payments unavailable: {0}")]
    Unavailable(String),
    #[error("payments failed: {0}")]
    Internal(String),
}

impl PaymentsError {
    /// Reads a problem written by `From<PaymentsError> for ApiError`.
    fn from_problem(p: Problem) -> Self {
        if p.is(&PAYMENT_NOT_FOUND) {
            PaymentsError::NotFound
        } else if p.is(&PAYMENT_PROVIDER_UNAVAILABLE) {
            PaymentsError::ProviderUnavailable
        } else if p.is(&IDEMPOTENCY_KEY_REUSED) {
            PaymentsError::KeyReused
        } else if p.is(&NOT_REFUNDABLE) {
            PaymentsError::NotRefundable
        } else {
            PaymentsError::from_other_problem(MODULE, p)
        }
    }
}

kernel::contract_error!(PaymentsError);

impl From<PaymentsError> for ApiError {
    fn from(e: PaymentsError) -> Self {
        match e {
            PaymentsError::NotFound => ApiError::new(PAYMENT_NOT_FOUND, "payment not found"),
            PaymentsError::ProviderUnavailable => ApiError::new(
                PAYMENT_PROVIDER_UNAVAILABLE,
                "the payment provider is unavailable; nothing was charged twice, retry later",
            ),
            PaymentsError::KeyReused => {
                ApiError::new(IDEMPOTENCY_KEY_REUSED, "this idempotency key was used for a different charge")
            }
            PaymentsError::NotRefundable => {
                ApiError::new(NOT_REFUNDABLE, "only a succeeded payment can be refunded")
            }
            PaymentsError::Invalid(errors) => shared::invalid(errors),
            PaymentsError::Unavailable(cause) => shared::unavailable(MODULE, cause),
            PaymentsError::Internal(cause) => shared::internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::http::RemoteError;

    #[test]
    fn every_variant_survives_the_wire() {
        let roundtrip =
            |e: PaymentsError| PaymentsError::from(RemoteError::Problem(ApiError::from(e).problem()));
        assert!(matches!(roundtrip(PaymentsError::NotFound), PaymentsError::NotFound));
        assert!(matches!(roundtrip(PaymentsError::ProviderUnavailable), PaymentsError::ProviderUnavailable));
        assert!(matches!(roundtrip(PaymentsError::KeyReused), PaymentsError::KeyReused));
        assert!(matches!(roundtrip(PaymentsError::NotRefundable), PaymentsError::NotRefundable));
        assert!(matches!(roundtrip(PaymentsError::Unavailable("x".into())), PaymentsError::Unavailable(_)));
    }
}
