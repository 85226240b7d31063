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
pub mod text;
pub mod wiring;

pub use error::ApiError;

/// Lower-case hexadecimal of `bytes` (digests, keys).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// A status enum stored as text: `as_str`, `parse` and `ALL` from one list of
/// `Variant => "text"` pairs, so the strings a store writes come from the enum.
///
/// ```ignore
/// kernel::text_enum! { pub enum PaymentStatus { Pending => "pending", Succeeded => "succeeded" } }
/// ```
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

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
