//! `/health/live`, `/health/ready` and `/metrics`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::remote::RemoteClient;
use crate::db::Database;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// What readiness depends on: this process's databases and the remote modules it calls.
pub struct Dependencies {
    pub databases: Vec<Database>,
    pub remotes: Vec<RemoteClient>,
}

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn ready(deps: web::Data<Dependencies>) -> Result<HttpResponse, ApiError> {
    let mut failing = Vec::new();
    for db in &deps.databases {
        if !db.ping().await {
            failing.push(format!("database of {}", db.module()));
        }
    }
    for remote in &deps.remotes {
        if !remote.is_alive().await {
            failing.push(format!("remote module {}", remote.module()));
        }
    }
    if failing.is_empty() {
        Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
    } else {
        Err(ApiError::unavailable(format!("not ready: {} not answering", failing.join(", "))))
    }
}

pub async fn metrics(metrics: web::Data<Metrics>, deps: web::Data<Dependencies>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4"))
        .body(metrics.render(&deps.databases))
}
