use actix_web::http::StatusCode;
use kernel::http::RemoteError;
use kernel::ApiError;

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
    #[error("{0}")]
    Api(ApiError),
}

const NOT_FOUND: &str = "payment_not_found";
const PROVIDER_UNAVAILABLE: &str = "payment_provider_unavailable";
const KEY_REUSED: &str = "idempotency_key_reused";
const NOT_REFUNDABLE: &str = "not_refundable";

impl From<PaymentsError> for ApiError {
    fn from(e: PaymentsError) -> Self {
        match e {
            PaymentsError::NotFound => ApiError::new(StatusCode::NOT_FOUND, NOT_FOUND, "payment not found"),
            PaymentsError::ProviderUnavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                PROVIDER_UNAVAILABLE,
                "the payment provider is unavailable; nothing was charged twice, retry later",
            ),
            PaymentsError::KeyReused => {
                ApiError::conflict(KEY_REUSED, "this idempotency key was used for a different charge")
            }
            PaymentsError::NotRefundable => {
                ApiError::conflict(NOT_REFUNDABLE, "only a succeeded payment can be refunded")
            }
            PaymentsError::Api(e) => e,
        }
    }
}

impl From<ApiError> for PaymentsError {
    fn from(e: ApiError) -> Self {
        PaymentsError::Api(e)
    }
}

impl From<kernel::db::DbError> for PaymentsError {
    fn from(e: kernel::db::DbError) -> Self {
        PaymentsError::Api(e.into())
    }
}

impl From<RemoteError> for PaymentsError {
    fn from(e: RemoteError) -> Self {
        match &e {
            RemoteError::Problem(p) if p.code() == NOT_FOUND => PaymentsError::NotFound,
            RemoteError::Problem(p) if p.code() == PROVIDER_UNAVAILABLE => PaymentsError::ProviderUnavailable,
            RemoteError::Problem(p) if p.code() == KEY_REUSED => PaymentsError::KeyReused,
            RemoteError::Problem(p) if p.code() == NOT_REFUNDABLE => PaymentsError::NotRefundable,
            _ => PaymentsError::Api(e.into()),
        }
    }
}
