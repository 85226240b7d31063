use actix_web::http::StatusCode;
use kernel::http::RemoteError;
use kernel::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("user not found")]
    NotFound,
    #[error("address not found")]
    AddressNotFound,
    #[error("the email is already registered")]
    EmailTaken,
    #[error("{0}")]
    Api(ApiError),
}

const USER_NOT_FOUND: &str = "user_not_found";
const ADDRESS_NOT_FOUND: &str = "address_not_found";
const EMAIL_TAKEN: &str = "email_taken";

impl From<UsersError> for ApiError {
    fn from(e: UsersError) -> Self {
        match e {
            UsersError::NotFound => ApiError::new(StatusCode::NOT_FOUND, USER_NOT_FOUND, "user not found"),
            UsersError::AddressNotFound => {
                ApiError::new(StatusCode::NOT_FOUND, ADDRESS_NOT_FOUND, "address not found")
            }
            UsersError::EmailTaken => ApiError::conflict(EMAIL_TAKEN, "this email is already registered"),
            UsersError::Api(e) => e,
        }
    }
}

impl From<ApiError> for UsersError {
    fn from(e: ApiError) -> Self {
        UsersError::Api(e)
    }
}

impl From<kernel::db::DbError> for UsersError {
    fn from(e: kernel::db::DbError) -> Self {
        UsersError::Api(e.into())
    }
}

impl From<RemoteError> for UsersError {
    /// Turns the problem codes [`From<UsersError> for ApiError`] writes back into variants.
    fn from(e: RemoteError) -> Self {
        match &e {
            RemoteError::Problem(p) if p.code() == USER_NOT_FOUND => UsersError::NotFound,
            RemoteError::Problem(p) if p.code() == ADDRESS_NOT_FOUND => UsersError::AddressNotFound,
            RemoteError::Problem(p) if p.code() == EMAIL_TAKEN => UsersError::EmailTaken,
            _ => UsersError::Api(e.into()),
        }
    }
}
