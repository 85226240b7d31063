//! Black-box tests of the HTTP surface (docs/api.md and the OpenAPI document), one app per test.
//! SQLite by default; MySQL when SHOP_TEST_MYSQL_URL is set.

mod helpers;

mod architecture;

#[cfg(all(feature = "auth", feature = "users"))]
mod auth;
#[cfg(all(
    feature = "auth",
    feature = "users",
    feature = "catalog",
    feature = "payments",
    feature = "orders"
))]
mod budgets;
#[cfg(all(feature = "auth", feature = "users", feature = "catalog"))]
mod catalog;
#[cfg(all(feature = "auth", feature = "users"))]
mod cli;
#[cfg(all(
    feature = "auth",
    feature = "users",
    feature = "catalog",
    feature = "payments",
    feature = "orders"
))]
mod hardening;
#[cfg(all(feature = "auth", feature = "users"))]
mod operations;
#[cfg(all(
    feature = "auth",
    feature = "users",
    feature = "catalog",
    feature = "payments",
    feature = "orders"
))]
mod orders;
#[cfg(all(feature = "auth", feature = "users", feature = "payments"))]
mod payments;
mod resilience;
#[cfg(all(
    feature = "auth",
    feature = "users",
    feature = "catalog",
    feature = "payments",
    feature = "orders"
))]
mod saga;
#[cfg(all(feature = "auth", feature = "users"))]
mod tokens;
#[cfg(all(feature = "auth", feature = "users"))]
mod users;
