pub mod internal;
pub mod public;

/// The auth module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(public::register, public::login, public::refresh, public::logout, public::jwks),
    tags((name = "auth", description = "Accounts, login and tokens"))
)]
pub struct AuthDoc;
