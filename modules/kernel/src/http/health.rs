//! `/health/live`, `/health/ready` and `/metrics`.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use futures_util::future::join_all;
use serde_json::json;
use tokio::time::timeout;

use super::remote::RemoteClient;
use crate::db::Database;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// What readiness looks at: this process's databases decide it; the remote
/// modules it calls are only reported, so one service being down never takes
/// the others out of their load balancers (its callers answer 503 instead).
pub struct Dependencies {
    pub databases: Vec<Database>,
    pub remotes: Vec<RemoteClient>,
}

/// Every check runs at once and gives up after this, so readiness answers
/// within 2 s even while a database or a service hangs.
const CHECK_WITHIN: Duration = Duration::from_millis(1500);

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn ready(deps: web::Data<Dependencies>) -> Result<HttpResponse, ApiError> {
    let databases = join_all(
        deps.databases
            .iter()
            .map(|db| async move { (db.module(), timeout(CHECK_WITHIN, db.ping()).await.unwrap_or(false)) }),
    );
    let remotes = join_all(deps.remotes.iter().map(|remote| async move {
        (remote.module(), timeout(CHECK_WITHIN, remote.is_alive()).await.unwrap_or(false))
    }));
    let (databases, remotes) = tokio::join!(databases, remotes);
    let down: Vec<_> = databases.iter().filter(|(_, up)| !up).map(|(module, _)| *module).collect();
    if !down.is_empty() {
        return Err(ApiError::unavailable(format!(
            "not ready: the database of {} is not answering",
            down.join(", ")
        )));
    }
    let dependencies: serde_json::Map<_, _> = remotes
        .into_iter()
        .map(|(module, up)| (module.to_owned(), json!(if up { "up" } else { "down" })))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "status": "ready", "dependencies": dependencies })))
}

pub async fn metrics(metrics: web::Data<Metrics>, deps: web::Data<Dependencies>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4"))
        .body(metrics.render(&deps.databases))
}
