//! `/internal/v1/users`: the server side of `users_api::HttpUsers`.

use actix_web::web;
use kernel::auth::AccessChange;
use kernel::ApiError;
use users_api::{AddressDto, NewUser, SetRole, UserDto, UsersApi};
use uuid::Uuid;

use crate::service::UsersService;

type Service = web::Data<UsersService>;
type Answer<T> = Result<T, ApiError>;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users").post(create_user))
        .service(web::resource("/users/{id}").get(get_user))
        .service(web::resource("/users/{id}/role").put(set_role))
        .service(web::resource("/users/{id}/addresses/{address_id}").get(get_address))
        .service(web::resource("/access-changes").get(access_changes));
}

#[derive(serde::Deserialize)]
struct Since {
    since: i64,
}

async fn access_changes(users: Service, query: web::Query<Since>) -> Answer<web::Json<Vec<AccessChange>>> {
    Ok(web::Json(users.access_changes(query.since).await?))
}

async fn create_user(users: Service, body: web::Json<NewUser>) -> Answer<web::Json<UserDto>> {
    Ok(web::Json(users.create_user(body.into_inner()).await?))
}

async fn get_user(users: Service, id: web::Path<Uuid>) -> Answer<web::Json<UserDto>> {
    Ok(web::Json(users.get_user(id.into_inner()).await?))
}

async fn set_role(
    users: Service,
    id: web::Path<Uuid>,
    body: web::Json<SetRole>,
) -> Answer<web::Json<UserDto>> {
    Ok(web::Json(users.set_role(id.into_inner(), body.role).await?))
}

async fn get_address(users: Service, ids: web::Path<(Uuid, Uuid)>) -> Answer<web::Json<AddressDto>> {
    let (user, address) = ids.into_inner();
    Ok(web::Json(users.get_address(user, address).await?))
}
