//! Bodies of the auth endpoints.

use kernel::auth::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use validator::Validate;

/// `role` or any other field sent here is ignored: every registration is a customer.
#[derive(Debug, Clone, Deserialize, Validate, utoipa::ToSchema)]
pub struct RegisterRequest {
    #[validate(
        email(message = "must be a valid email address"),
        length(max = 254, message = "must be at most 254 characters"),
        custom(function = "kernel::text::plain_text")
    )]
    pub email: String,
    /// At least 10 characters.
    #[validate(length(min = 10, max = 1024, message = "must be 10 to 1024 characters"))]
    pub password: String,
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "kernel::text::plain_text")
    )]
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// The account a registration created.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegisteredUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// Emails compare trimmed and lower-cased.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}
