//! What every shop module shares and nothing domain-specific: configuration,
//! problem+json errors, per-module databases, access-token verification,
//! pagination, request ids, telemetry and metrics, the base client for remote
//! modules, and the `Module` trait the application composes.

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod metrics;
pub mod module;
pub mod pagination;
pub mod server;
pub mod telemetry;

pub use error::ApiError;

/// A new time-ordered id (UUIDv7): sortable, made by the app, safe across services.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// The current UTC time at microsecond precision, as both backends store it.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}

#[cfg(not(any(feature = "sqlite", feature = "mysql")))]
compile_error!("enable at least one database backend: the `sqlite` or `mysql` feature");
