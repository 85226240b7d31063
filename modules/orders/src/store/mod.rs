//! The orders module's queries. Synchronous: called inside `Database::run`.

pub mod idempotency;
pub mod orders;
pub mod placing;

pub type QueryResult<T> = Result<T, diesel::result::Error>;
