//! `/api/v1/users`: the caller's profile and addresses; the admin's user list.

use actix_web::{web, HttpResponse};
use kernel::auth::AuthUser;
use kernel::error::responses::{
    BadRequest, Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
};
use kernel::pagination::{Page, PageParams};
use kernel::ApiError;
use users_api::{AddressDto, UserDto, UsersApi};
use uuid::Uuid;

use crate::requests::{AddressInput, AdminUserUpdate, UpdateProfile};
use crate::service::UsersService;

type Service = web::Data<UsersService>;
type Answer<T> = Result<T, ApiError>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("").get(list_users))
        .service(web::resource("/me").get(get_me).patch(update_me))
        .service(web::resource("/me/addresses").get(list_addresses).post(create_address))
        .service(
            web::resource("/me/addresses/{id}").get(get_address).put(update_address).delete(delete_address),
        )
        .service(web::resource("/{id}").patch(update_user));
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = UserDto),
        (status = 401, response = Unauthorized),
    ))]
pub async fn get_me(users: Service, user: AuthUser) -> Answer<web::Json<UserDto>> {
    Ok(web::Json(users.get_user(user.id).await?))
}

/// Changes the caller's name; `role` and other fields are ignored.
#[utoipa::path(patch, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])), request_body = UpdateProfile,
    responses(
        (status = 200, description = "The updated profile", body = UserDto),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn update_me(
    users: Service,
    user: AuthUser,
    body: web::Json<UpdateProfile>,
) -> Answer<web::Json<UserDto>> {
    Ok(web::Json(users.update_profile(user.id, body.into_inner()).await?))
}

/// The caller's shipping addresses.
#[utoipa::path(get, path = "/api/v1/users/me/addresses", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "All addresses, as one page", body = Page<AddressDto>),
        (status = 401, response = Unauthorized),
    ))]
pub async fn list_addresses(users: Service, user: AuthUser) -> Answer<web::Json<Page<AddressDto>>> {
    Ok(web::Json(Page::all(users.list_addresses(user.id).await?)))
}

/// Adds a shipping address.
#[utoipa::path(post, path = "/api/v1/users/me/addresses", tag = "users", security(("bearer" = [])), request_body = AddressInput,
    responses(
        (status = 201, description = "Created", body = AddressDto),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn create_address(
    users: Service,
    user: AuthUser,
    body: web::Json<AddressInput>,
) -> Answer<HttpResponse> {
    let address = users.create_address(user.id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(address))
}

/// One of the caller's addresses.
#[utoipa::path(get, path = "/api/v1/users/me/addresses/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Address id")),
    responses(
        (status = 200, description = "The address", body = AddressDto),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ))]
pub async fn get_address(
    users: Service,
    user: AuthUser,
    id: web::Path<Uuid>,
) -> Answer<web::Json<AddressDto>> {
    Ok(web::Json(users.get_address(user.id, id.into_inner()).await?))
}

/// Replaces one of the caller's addresses.
#[utoipa::path(put, path = "/api/v1/users/me/addresses/{id}", tag = "users", security(("bearer" = [])), request_body = AddressInput,
    params(("id" = Uuid, Path, description = "Address id")),
    responses(
        (status = 200, description = "The updated address", body = AddressDto),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn update_address(
    users: Service,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<AddressInput>,
) -> Answer<web::Json<AddressDto>> {
    Ok(web::Json(users.update_address(user.id, id.into_inner(), body.into_inner()).await?))
}

/// Deletes one of the caller's addresses.
#[utoipa::path(delete, path = "/api/v1/users/me/addresses/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Address id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ))]
pub async fn delete_address(users: Service, user: AuthUser, id: web::Path<Uuid>) -> Answer<HttpResponse> {
    users.delete_address(user.id, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every user, newest first (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(PageParams),
    responses(
        (status = 200, description = "One page of users", body = Page<UserDto>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Invalid),
    ))]
pub async fn list_users(
    users: Service,
    user: AuthUser,
    page: web::Query<PageParams>,
) -> Answer<web::Json<Page<UserDto>>> {
    user.require_admin()?;
    Ok(web::Json(users.list_users(page.into_inner().validate()?).await?))
}

/// Changes a user's role or disables the account (admin).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), request_body = AdminUserUpdate,
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The updated user", body = UserDto),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
        (status = 400, response = BadRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    ))]
pub async fn update_user(
    users: Service,
    user: AuthUser,
    id: web::Path<Uuid>,
    body: web::Json<AdminUserUpdate>,
) -> Answer<web::Json<UserDto>> {
    user.require_admin()?;
    Ok(web::Json(users.admin_update(user, id.into_inner(), body.into_inner()).await?))
}
