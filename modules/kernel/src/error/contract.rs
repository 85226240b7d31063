//! What every contract's error enum shares: besides its domain variants, each
//! has `Invalid(field errors)`, `Unavailable(cause)` and `Internal(cause)`.
//! [`ContractError`] names those three, and [`contract_error!`] implements it
//! and writes the conversions that only need them, so the contract crates
//! write just their own.

use super::{ApiError, FieldError, Problem, SERVICE_UNAVAILABLE, VALIDATION_FAILED};
use crate::db::DbError;

pub trait ContractError: Sized {
    fn invalid(errors: Vec<FieldError>) -> Self;
    /// The outcome is unknown or the work was not done because something it
    /// needs is down: retrying is safe.
    fn unavailable(cause: String) -> Self;
    fn internal(cause: String) -> Self;

    /// The problems that are not the contract's own: validation, unavailability, the rest.
    fn from_other_problem(module: &str, p: Problem) -> Self {
        if p.is(&VALIDATION_FAILED) {
            Self::invalid(p.errors)
        } else if p.is(&SERVICE_UNAVAILABLE) || p.status == 503 {
            Self::unavailable(format!("{module}: {}", p.detail))
        } else {
            Self::internal(format!(
                "{module} answered an unexpected problem: {} {}: {}",
                p.status,
                p.code(),
                p.detail
            ))
        }
    }

    fn from_db(e: DbError) -> Self {
        match e {
            DbError::Unavailable(cause) => Self::unavailable(cause),
            other => Self::internal(other.to_string()),
        }
    }

    /// An [`ApiError`] from a kernel helper (validation, pagination, a stored id).
    fn from_api(e: ApiError) -> Self {
        match e.status().as_u16() {
            422 => Self::invalid(e.errors().to_vec()),
            503 => Self::unavailable(e.to_string()),
            _ => Self::internal(e.to_string()),
        }
    }

    /// A remote call that got no problem back (unreachable, timed out, nonsense).
    fn from_unreachable(cause: String) -> Self {
        Self::unavailable(cause)
    }
}

/// The three shared variants' side of an error enum: its [`ContractError`]
/// (from the variants `Invalid`, `Unavailable` and `Internal`), and the
/// conversions `From<DbError>`, `From<ApiError>`, `From<QueryError>` (Diesel's,
/// via DbError), and `From<RemoteError>` given the enum's own
/// `fn from_problem(Problem) -> Self`.
#[macro_export]
macro_rules! contract_error {
    ($error:ident) => {
        impl $crate::error::ContractError for $error {
            fn invalid(errors: Vec<$crate::error::FieldError>) -> Self {
                $error::Invalid(errors)
            }
            fn unavailable(cause: String) -> Self {
                $error::Unavailable(cause)
            }
            fn internal(cause: String) -> Self {
                $error::Internal(cause)
            }
        }

        impl From<$crate::db::DbError> for $error {
            fn from(e: $crate::db::DbError) -> Self {
                <$error as $crate::error::ContractError>::from_db(e)
            }
        }

        impl From<$crate::db::QueryError> for $error {
            fn from(e: $crate::db::QueryError) -> Self {
                <$error as $crate::error::ContractError>::from_db($crate::db::DbError::from(e))
            }
        }

        impl From<$crate::ApiError> for $error {
            fn from(e: $crate::ApiError) -> Self {
                <$error as $crate::error::ContractError>::from_api(e)
            }
        }

        impl From<$crate::http::RemoteError> for $error {
            fn from(e: $crate::http::RemoteError) -> Self {
                match e {
                    $crate::http::RemoteError::Problem(p) => <$error>::from_problem(p),
                    $crate::http::RemoteError::Unavailable(cause) => {
                        <$error as $crate::error::ContractError>::from_unreachable(cause)
                    }
                }
            }
        }
    };
}

/// For `ContractError` implementors' `Into<ApiError>`: the shared variants' answers.
pub fn invalid(errors: Vec<FieldError>) -> ApiError {
    ApiError::validation(errors)
}

pub fn unavailable(module: &str, cause: String) -> ApiError {
    ApiError::unavailable(format!("the {module} service is unavailable; try again shortly")).caused_by(cause)
}

pub fn internal(cause: String) -> ApiError {
    ApiError::internal(cause)
}
