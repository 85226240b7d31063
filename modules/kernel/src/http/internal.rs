//! Guards `/internal/v1`: only callers presenting the shared `internal.token`
//! (or, while it is rotated out, `internal.previous_token`) get through. With
//! no token configured, nothing gets through.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, ResponseError};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The header that carries the service-to-service credential.
pub const INTERNAL_TOKEN_HEADER: &str = "x-internal-token";

/// The credentials accepted (the current one, and the one being rotated
/// out), registered as app data.
#[derive(Clone)]
pub struct InternalToken {
    pub current: Option<SecretString>,
    pub previous: Option<SecretString>,
}

impl InternalToken {
    fn accepts(&self, presented: &[u8]) -> bool {
        let matches = |token: &Option<SecretString>| match token {
            Some(expected) if !expected.expose_secret().is_empty() => {
                bool::from(expected.expose_secret().as_bytes().ct_eq(presented))
            }
            _ => false,
        };
        // Both compared, so the answer's timing does not say which one matched.
        matches(&self.current) | matches(&self.previous)
    }
}

/// `actix_web::middleware::from_fn` middleware for the internal scope.
pub async fn require_internal_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let allowed = match (req.app_data::<web::Data<InternalToken>>(), req.headers().get(INTERNAL_TOKEN_HEADER))
    {
        (Some(token), Some(presented)) => token.accepts(presented.as_bytes()),
        _ => false,
    };
    if !allowed {
        let response = ApiError::unauthorized("the internal credential is missing or wrong").error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}
