//! Each module's migrations, per backend: create the database when missing,
//! apply, revert the last, report status. Runs on a dedicated connection, not the pool.

use diesel::backend::Backend;
use diesel::migration::{Migration, MigrationSource};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

use super::connection::{establish, DbConnection};
use super::url::DatabaseUrl;

/// A module's migrations for both backends, embedded in the binary.
pub struct ModuleMigrations {
    pub sqlite: EmbeddedMigrations,
    pub mysql: EmbeddedMigrations,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub name: String,
    pub applied: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("migrations of {url}: {message}")]
pub struct MigrationError {
    url: String,
    message: String,
}

impl MigrationError {
    fn new(url: &DatabaseUrl, e: impl std::fmt::Display) -> Self {
        Self { url: url.to_string(), message: e.to_string() }
    }
}

/// Runs `$body` with `$h` bound to a concrete connection (a `MigrationHarness`)
/// and `$src` to the matching migrations: the body is compiled once per backend.
macro_rules! on_backend {
    ($url:expr, $m:expr, |$h:ident, $src:ident| $body:expr) => {{
        let url = $url;
        ensure_database(url)?;
        let conn = establish(url).map_err(|e| MigrationError::new(url, e))?;
        let result: Result<_, BoxError> = match conn {
            #[cfg(feature = "sqlite")]
            DbConnection::Sqlite(mut c) => {
                let $h = &mut c;
                let $src = &$m.sqlite;
                $body
            }
            #[cfg(feature = "mysql")]
            DbConnection::Mysql(mut c) => {
                let $h = &mut c;
                let $src = &$m.mysql;
                $body
            }
        };
        result.map_err(|e| MigrationError::new(url, e))
    }};
}

/// Applies pending migrations; returns the names applied.
pub fn run(url: &DatabaseUrl, m: &ModuleMigrations) -> Result<Vec<String>, MigrationError> {
    on_backend!(url, m, |h, src| run_on(h, src))
}

/// Reverts the last applied migration; `None` when nothing is applied.
pub fn revert(url: &DatabaseUrl, m: &ModuleMigrations) -> Result<Option<String>, MigrationError> {
    on_backend!(url, m, |h, src| revert_on(h, src))
}

/// Every known migration, in order, with whether it is applied.
pub fn status(url: &DatabaseUrl, m: &ModuleMigrations) -> Result<Vec<MigrationStatus>, MigrationError> {
    on_backend!(url, m, |h, src| status_of(h, src))
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn run_on<DB: Backend>(
    h: &mut impl MigrationHarness<DB>,
    src: &EmbeddedMigrations,
) -> Result<Vec<String>, BoxError>
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    let pending: Vec<String> =
        h.pending_migrations(Source(src))?.iter().map(|m| m.name().to_string()).collect();
    h.run_pending_migrations(Source(src))?;
    Ok(pending)
}

fn revert_on<DB: Backend>(
    h: &mut impl MigrationHarness<DB>,
    src: &EmbeddedMigrations,
) -> Result<Option<String>, BoxError>
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    if h.applied_migrations()?.is_empty() {
        return Ok(None);
    }
    let version = h.revert_last_migration(Source(src))?;
    let name = MigrationSource::<DB>::migrations(src)?
        .iter()
        .map(|m| m.name())
        .find(|n| n.version() == version)
        .map_or_else(|| version.to_string(), ToString::to_string);
    Ok(Some(name))
}

fn status_of<DB: Backend>(
    h: &mut impl MigrationHarness<DB>,
    src: &EmbeddedMigrations,
) -> Result<Vec<MigrationStatus>, BoxError>
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    let applied = h.applied_migrations()?;
    let all = MigrationSource::<DB>::migrations(src)?;
    Ok(all
        .iter()
        .map(|mig| MigrationStatus {
            name: mig.name().to_string(),
            applied: applied.contains(&mig.name().version()),
        })
        .collect())
}

/// Lends the embedded migrations to diesel, whose harness takes its source by value.
struct Source<'a>(&'a EmbeddedMigrations);

impl<DB: Backend> MigrationSource<DB> for Source<'_>
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<DB>>>> {
        MigrationSource::<DB>::migrations(self.0)
    }
}

/// MySQL: `CREATE DATABASE IF NOT EXISTS` on the server. SQLite creates its
/// file (and folder) on first connection.
fn ensure_database(url: &DatabaseUrl) -> Result<(), MigrationError> {
    match url {
        DatabaseUrl::Sqlite { .. } => Ok(()),
        #[cfg(feature = "mysql")]
        DatabaseUrl::Mysql { server, database, .. } => {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            let mut conn = diesel::mysql::MysqlConnection::establish(server)
                .map_err(|e| MigrationError::new(url, format!("cannot connect to the server: {e}")))?;
            // The name is restricted to [A-Za-z0-9_] by `DatabaseUrl::parse`.
            conn.batch_execute(&format!(
                "CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            ))
            .map_err(|e| MigrationError::new(url, format!("cannot create database {database}: {e}")))
        }
        #[cfg(not(feature = "mysql"))]
        DatabaseUrl::Mysql { .. } => {
            Err(MigrationError::new(url, "this binary was built without the `mysql` feature"))
        }
    }
}
