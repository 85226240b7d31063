//! The `shop` command line: serve, migrate, create-admin, openapi, modules.

use anyhow::Context as _;
use auth_api::Accounts;
use clap::{Parser, Subcommand};
use kernel::config::Settings;
use kernel::db::{migrate, DatabaseUrl};
use kernel::module::ModuleInfo;

use crate::app::{self, Application};

#[derive(Debug, Parser)]
#[command(name = "shop", version, about = "E-commerce backend: a modular monolith that splits into services")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve every module compiled into this binary (the default command).
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080 (default: server.bind).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Create databases and apply, revert or list migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Create an admin account, or promote an existing one; reads the password from stdin.
    CreateAdmin {
        #[arg(long)]
        email: String,
    },
    /// Print the OpenAPI document of the compiled modules as JSON.
    Openapi,
    /// List the compiled modules and the remote URLs of the others.
    Modules,
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Create each module's database if missing and apply pending migrations.
    Run {
        #[arg(long)]
        module: Option<String>,
    },
    /// Undo the last applied migration of each module (or of --module).
    Revert {
        #[arg(long)]
        module: Option<String>,
    },
    /// List applied and pending migrations per module.
    Status {
        #[arg(long)]
        module: Option<String>,
    },
}

pub async fn run(cli: Cli, mut settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve { bind: None }) {
        Command::Serve { bind } => {
            if let Some(bind) = bind {
                settings.server.bind = bind;
            }
            let served = Application::build(&settings).await?.run_until_stopped().await;
            // The spans of the last requests, before the process ends (blocks up to 5 s).
            tokio::task::spawn_blocking(kernel::telemetry::spans::flush).await?;
            Ok(served?)
        }
        Command::Migrate { action } => {
            let report = tokio::task::spawn_blocking(move || run_migrations(action, &settings)).await??;
            print(&report)
        }
        Command::CreateAdmin { email } => print(&create_admin(&email, &settings).await?),
        Command::Openapi => {
            print(&format!("{}\n", kernel::server::openapi(&app::hosted_info()).to_pretty_json()?))
        }
        Command::Modules => print(&modules(&settings)),
    }
}

/// Writes a command's output; a reader that went away (`| head`) is not an error.
fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn selected(module: Option<&str>) -> anyhow::Result<Vec<&'static ModuleInfo>> {
    match module {
        None => Ok(app::hosted_info()),
        Some(name) => app::find_hosted(name).map(|m| vec![m]).with_context(|| {
            let known: Vec<_> = app::hosted_info().iter().map(|m| m.name).collect();
            format!("module `{name}` is not compiled into this binary (it has: {})", known.join(", "))
        }),
    }
}

fn run_migrations(action: MigrateAction, settings: &Settings) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let (module, verb) = match &action {
        MigrateAction::Run { module } => (module, "run"),
        MigrateAction::Revert { module } => (module, "revert"),
        MigrateAction::Status { module } => (module, "status"),
    };
    let mut out = String::new();
    for info in selected(module.as_deref())? {
        let url = DatabaseUrl::parse(&settings.database_url(info.name)).map_err(anyhow::Error::msg)?;
        match verb {
            "run" => {
                let applied = migrate::run(&url, &info.migrations)?;
                writeln!(out, "{}: {} ({} applied)", info.name, url, applied.len())?;
                for name in applied {
                    writeln!(out, "  applied {name}")?;
                }
            }
            "revert" => match migrate::revert(&url, &info.migrations)? {
                Some(name) => writeln!(out, "{}: reverted {name}", info.name)?,
                None => writeln!(out, "{}: nothing to revert", info.name)?,
            },
            _ => {
                writeln!(out, "{}: {}", info.name, url)?;
                for m in migrate::status(&url, &info.migrations)? {
                    writeln!(out, "  [{}] {}", if m.applied { "applied" } else { "pending" }, m.name)?;
                }
            }
        }
    }
    Ok(out)
}

/// `shop create-admin`, where the auth module is compiled in (it provides `Accounts`).
async fn create_admin(email: &str, settings: &Settings) -> anyhow::Result<String> {
    use std::io::BufRead as _;
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    if app::find_hosted(auth_api::MODULE).is_none() {
        anyhow::bail!("create-admin runs where the auth module is compiled in; this binary does not have it");
    }
    let composition = app::compose(settings).await?;
    let accounts =
        composition.provided.get::<dyn Accounts>().context("the auth module provides no admin accounts")?;
    let admin = accounts
        .create_admin(email, password)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.problem().detail))?;
    Ok(if admin.created {
        format!("created admin {} ({})\n", admin.email, admin.id)
    } else {
        format!("promoted {} ({}) to admin; its password is unchanged\n", admin.email, admin.id)
    })
}

/// `shop modules`: every module, compiled in (with what it calls) or where it is reached.
fn modules(settings: &Settings) -> String {
    let mut out = String::new();
    for contract in app::CONTRACTS {
        let name = contract.name;
        let line = match app::find_hosted(name) {
            Some(info) if info.depends_on.is_empty() => format!("{name}: compiled in"),
            Some(info) => format!("{name}: compiled in (calls {})", info.depends_on.join(", ")),
            None => match settings.remote_url(name) {
                Ok(url) => format!("{name}: remote at {url}"),
                Err(_) => format!("{name}: remote, no remote.{name}.url configured"),
            },
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}
