use kernel::error::{shared, ContractError, FieldError, Problem, ProblemType};
use kernel::ApiError;

use crate::MODULE;

pub const USER_NOT_FOUND: ProblemType = ProblemType::new("user_not_found", 404);
pub const ADDRESS_NOT_FOUND: ProblemType = ProblemType::new("address_not_found", 404);
pub const EMAIL_TAKEN: ProblemType = ProblemType::new("email_taken", 409);
pub const ADDRESS_LIMIT: ProblemType = ProblemType::new("address_limit", 409);
/// An admin demoting or disabling their own account.
pub const SELF_LOCKOUT: ProblemType = ProblemType::new("self_lockout", 409);

/// The users module's problem types.
pub const PROBLEMS: &[ProblemType] =
    &[USER_NOT_FOUND, ADDRESS_NOT_FOUND, EMAIL_TAKEN, ADDRESS_LIMIT, SELF_LOCKOUT];

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("user not found")]
    NotFound,
    #[error("address not found")]
    AddressNotFound,
    #[error("the email is already registered")]
    EmailTaken,
    #[error("a user keeps at most {limit} addresses")]
    AddressLimit { limit: u32 },
    #[error("admins cannot demote or disable themselves")]
    SelfLockout,
    #[error("invalid fields: {0:?}")]
    Invalid(Vec<FieldError>),
    /// Users (or its database) is down, or the call's outcome is unknown: retry.
    #[error("users unavailable: {0}")]
    Unavailable(String),
    #[error("users failed: {0}")]
    Internal(String),
}

impl UsersError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        UsersError::Invalid(vec![FieldError::new(field, message)])
    }

    /// Reads a problem written by `From<UsersError> for ApiError`.
    fn from_problem(p: Problem) -> Self {
        if p.is(&USER_NOT_FOUND) {
            UsersError::NotFound
        } else if p.is(&ADDRESS_NOT_FOUND) {
            UsersError::AddressNotFound
        } else if p.is(&EMAIL_TAKEN) {
            UsersError::EmailTaken
        } else if let (true, Some(limit)) = (p.is(&ADDRESS_LIMIT), p.extension("limit")) {
            UsersError::AddressLimit { limit }
        } else if p.is(&SELF_LOCKOUT) {
            UsersError::SelfLockout
        } else {
            UsersError::from_other_problem(MODULE, p)
        }
    }
}

kernel::contract_error!(UsersError);

impl From<UsersError> for ApiError {
    fn from(e: UsersError) -> Self {
        match e {
            UsersError::NotFound => ApiError::new(USER_NOT_FOUND, "user not found"),
            UsersError::AddressNotFound => ApiError::new(ADDRESS_NOT_FOUND, "address not found"),
            UsersError::EmailTaken => ApiError::new(EMAIL_TAKEN, "this email is already registered"),
            UsersError::AddressLimit { limit } => {
                ApiError::new(ADDRESS_LIMIT, format!("a user keeps at most {limit} addresses"))
                    .with_extension("limit", limit)
            }
            UsersError::SelfLockout => {
                ApiError::new(SELF_LOCKOUT, "admins cannot demote or disable themselves")
            }
            UsersError::Invalid(errors) => shared::invalid(errors),
            UsersError::Unavailable(cause) => shared::unavailable(MODULE, cause),
            UsersError::Internal(cause) => shared::internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::http::RemoteError;

    #[test]
    fn every_variant_survives_the_wire() {
        let roundtrip = |e: UsersError| UsersError::from(RemoteError::Problem(ApiError::from(e).problem()));
        assert!(matches!(roundtrip(UsersError::NotFound), UsersError::NotFound));
        assert!(matches!(roundtrip(UsersError::AddressNotFound), UsersError::AddressNotFound));
        assert!(matches!(roundtrip(UsersError::EmailTaken), UsersError::EmailTaken));
        assert!(matches!(
            roundtrip(UsersError::AddressLimit { limit: 20 }),
            UsersError::AddressLimit { limit: 20 }
        ));
        assert!(matches!(roundtrip(UsersError::SelfLockout), UsersError::SelfLockout));
        assert!(matches!(roundtrip(UsersError::invalid("name", "empty")), UsersError::Invalid(_)));
    }
}
