//! Bodies of the users module's public endpoints, validated at the edge.

use kernel::auth::Role;
use serde::Deserialize;
use validator::Validate;

/// `PATCH /users/me`. Any other field (such as `role`) is ignored.
#[derive(Debug, Clone, Deserialize, Validate, utoipa::ToSchema)]
pub struct UpdateProfile {
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "kernel::text::plain_text")
    )]
    pub name: Option<String>,
}

/// A shipping address as written by its owner.
#[derive(Debug, Clone, Deserialize, Validate, utoipa::ToSchema)]
pub struct AddressInput {
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "kernel::text::plain_text")
    )]
    pub line1: String,
    #[validate(
        length(max = 200, message = "must be at most 200 characters"),
        custom(function = "kernel::text::plain_text")
    )]
    pub line2: Option<String>,
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "kernel::text::plain_text")
    )]
    pub city: String,
    #[validate(
        length(min = 1, max = 20, message = "must be 1 to 20 characters"),
        custom(function = "kernel::text::plain_text")
    )]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. `FR`.
    pub country: String,
}

/// `PATCH /users/{id}` by an admin.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AdminUserUpdate {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// Trims and drops empty optional text, so " " does not pass a length check.
pub fn clean(text: &str) -> String {
    text.trim().to_owned()
}
