//! The `shop` command line (see CONTRACT.md).

use anyhow::Context as _;
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
            Application::build(&settings).await?.run_until_stopped().await?;
            Ok(())
        }
        Command::Migrate { action } => {
            tokio::task::spawn_blocking(move || run_migrations(action, &settings)).await?
        }
        Command::CreateAdmin { email } => create_admin(&email, &settings).await,
        Command::Openapi => {
            println!("{}", kernel::server::openapi(&app::compiled()).to_pretty_json()?);
            Ok(())
        }
        Command::Modules => {
            print_modules(&settings);
            Ok(())
        }
    }
}

fn selected(module: Option<&str>) -> anyhow::Result<Vec<&'static ModuleInfo>> {
    match module {
        None => Ok(app::compiled()),
        Some(name) => app::find_compiled(name).map(|m| vec![m]).with_context(|| {
            let known: Vec<_> = app::compiled().iter().map(|m| m.name).collect();
            format!("module `{name}` is not compiled into this binary (it has: {})", known.join(", "))
        }),
    }
}

fn run_migrations(action: MigrateAction, settings: &Settings) -> anyhow::Result<()> {
    let (module, verb) = match &action {
        MigrateAction::Run { module } => (module, "run"),
        MigrateAction::Revert { module } => (module, "revert"),
        MigrateAction::Status { module } => (module, "status"),
    };
    for info in selected(module.as_deref())? {
        let url = DatabaseUrl::parse(&settings.database_url(info.name)).map_err(anyhow::Error::msg)?;
        match verb {
            "run" => {
                let applied = migrate::run(&url, &info.migrations)?;
                println!("{}: {} ({} applied)", info.name, url, applied.len());
                for name in applied {
                    println!("  applied {name}");
                }
            }
            "revert" => match migrate::revert(&url, &info.migrations)? {
                Some(name) => println!("{}: reverted {name}", info.name),
                None => println!("{}: nothing to revert", info.name),
            },
            _ => {
                println!("{}: {}", info.name, url);
                for m in migrate::status(&url, &info.migrations)? {
                    println!("  [{}] {}", if m.applied { "applied" } else { "pending" }, m.name);
                }
            }
        }
    }
    Ok(())
}

#[cfg(feature = "auth")]
async fn create_admin(email: &str, settings: &Settings) -> anyhow::Result<()> {
    use std::io::BufRead as _;
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    let composition = app::compose(settings).await?;
    let (user, created) = composition
        .auth
        .create_admin(email, password)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.problem().detail))?;
    if created {
        println!("created admin {} ({})", user.email, user.id);
    } else {
        println!("promoted {} ({}) to admin; its password is unchanged", user.email, user.id);
    }
    Ok(())
}

#[cfg(not(feature = "auth"))]
async fn create_admin(_email: &str, _settings: &Settings) -> anyhow::Result<()> {
    anyhow::bail!("create-admin runs where the auth module is compiled in; this binary does not have it")
}

fn print_modules(settings: &Settings) {
    let compiled = app::compiled();
    for name in app::ALL_MODULES {
        match compiled.iter().find(|m| m.name == name) {
            Some(info) if info.depends_on.is_empty() => println!("{name}: compiled in"),
            Some(info) => println!("{name}: compiled in (calls {})", info.depends_on.join(", ")),
            None => match settings.remote_url(name) {
                Ok(url) => println!("{name}: remote at {url}"),
                Err(_) => println!("{name}: remote, no remote.{name}.url configured"),
            },
        }
    }
}
