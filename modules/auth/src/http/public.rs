//! `/api/v1/auth`.

use actix_web::{web, HttpRequest, HttpResponse};
use jsonwebtoken::jwk::JwkSet;
use kernel::error::responses::{
    BadRequest, Conflict, Invalid, PayloadTooLarge, TooManyRequests, UnsupportedMediaType,
};
use kernel::error::Problem;
use kernel::http::headers::NO_STORE;
use kernel::ApiError;

use crate::requests::{LoginRequest, RefreshRequest, RegisterRequest, RegisteredUser, TokenPair};
use crate::service::AuthService;

type Service = web::Data<AuthService>;
type Answer<T> = Result<T, ApiError>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/register").post(register))
        .service(web::resource("/login").post(login))
        .service(web::resource("/refresh").post(refresh))
        .service(web::resource("/logout").post(logout))
        .service(web::resource("/jwks").get(jwks));
}

/// Creates a customer account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "The new account", body = RegisteredUser),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 429, response = TooManyRequests),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn register(
    auth: Service,
    req: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> Answer<HttpResponse> {
    let client = client_address(&req, auth.trusts_forwarded_for());
    let user = auth.register(body.into_inner(), &client).await?;
    Ok(HttpResponse::Created().json(user))
}

/// Exchanges email and password for an access and a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "A token pair", body = TokenPair),
        (status = 401, description = "Wrong email or password (one answer for both)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 429, response = TooManyRequests),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn login(auth: Service, req: HttpRequest, body: web::Json<LoginRequest>) -> Answer<HttpResponse> {
    let client = client_address(&req, auth.trusts_forwarded_for());
    Ok(tokens(auth.login(body.into_inner(), &client).await?))
}

/// A token pair, which no cache may keep.
fn tokens(pair: TokenPair) -> HttpResponse {
    HttpResponse::Ok().insert_header(NO_STORE).json(pair)
}

/// The socket's peer, or behind a trusted gateway the address that gateway
/// appended last to `X-Forwarded-For` (entries before it are client-supplied).
fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> String {
    let forwarded = trust_forwarded_for
        .then(|| req.headers().get("x-forwarded-for")?.to_str().ok()?.rsplit(',').next().map(str::trim))
        .flatten()
        .filter(|addr| !addr.is_empty())
        .map(str::to_owned);
    forwarded.or_else(|| req.peer_addr().map(|a| a.ip().to_string())).unwrap_or_else(|| "unknown".into())
}

/// Rotates a refresh token: the old one stops working.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenPair),
        (status = 401, description = "Invalid, expired, spent or revoked refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn refresh(auth: Service, body: web::Json<RefreshRequest>) -> Answer<HttpResponse> {
    Ok(tokens(auth.refresh(&body.refresh_token).await?))
}

/// Revokes the refresh token and every token rotated from the same login.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 204, description = "Logged out"),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    ))]
pub async fn logout(auth: Service, body: web::Json<RefreshRequest>) -> Answer<HttpResponse> {
    auth.logout(&body.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The public keys that verify access tokens.
#[utoipa::path(get, path = "/api/v1/auth/jwks", tag = "auth",
    responses((status = 200, description = "A JWK set", body = Object)))]
pub async fn jwks(auth: Service) -> web::Json<JwkSet> {
    web::Json(auth.jwks())
}
