//! `/internal/v1/users`: the server side of `users_api::HttpUsers`.

use actix_web::{web, HttpResponse};
use kernel::ApiError;
use users_api::{AddressDto, NewUser, SetRole, UserDto, UsersApi};
use uuid::Uuid;

use crate::service::UsersService;

type Service = web::Data<UsersService>;
type Answer<T> = Result<T, ApiError>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::post().to(create_user))
        .route("/users/{id}", web::get().to(get_user))
        .route("/users/{id}", web::delete().to(delete_user))
        .route("/users/{id}/role", web::put().to(set_role))
        .route("/users/{id}/addresses/{address_id}", web::get().to(get_address));
}

async fn create_user(users: Service, body: web::Json<NewUser>) -> Answer<web::Json<UserDto>> {
    Ok(web::Json(users.create_user(body.into_inner()).await?))
}

async fn get_user(users: Service, id: web::Path<Uuid>) -> Answer<web::Json<UserDto>> {
    Ok(web::Json(users.get_user(id.into_inner()).await?))
}

async fn delete_user(users: Service, id: web::Path<Uuid>) -> Answer<HttpResponse> {
    users.delete_user(id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn set_role(users: Service, id: web::Path<Uuid>, body: web::Json<SetRole>) -> Answer<web::Json<UserDto>> {
    Ok(web::Json(users.set_role(id.into_inner(), body.role).await?))
}

async fn get_address(users: Service, ids: web::Path<(Uuid, Uuid)>) -> Answer<web::Json<AddressDto>> {
    let (user, address) = ids.into_inner();
    Ok(web::Json(users.get_address(user, address).await?))
}
