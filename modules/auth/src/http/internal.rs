//! `/internal/v1/auth`: the server side of `auth_api::HttpAuthKeys`'s access changes.

use actix_web::web;
use kernel::auth::{AccessChange, AccessChangeSource};
use kernel::ApiError;

use crate::service::AuthService;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/access-changes").get(access_changes));
}

#[derive(serde::Deserialize)]
struct Since {
    since: i64,
}

async fn access_changes(
    auth: web::Data<AuthService>,
    query: web::Query<Since>,
) -> Result<web::Json<Vec<AccessChange>>, ApiError> {
    let changes = auth.access_changes(query.since).await.map_err(ApiError::unavailable)?;
    Ok(web::Json(changes))
}
