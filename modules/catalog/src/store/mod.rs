//! The catalog module's queries. Synchronous: called inside `Database::run`.

pub mod counts;
pub mod products;
pub mod reservations;

pub type QueryResult<T> = Result<T, diesel::result::Error>;
