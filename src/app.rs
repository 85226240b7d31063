//! The composition root: the table of the modules this binary hosts (the one
//! place that names module features) and of every module's contract. Each
//! hosted module is built by its own crate from what it declares it needs;
//! each module hosted elsewhere that something here calls is reached through
//! the HTTP client its contract provides.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;

use anyhow::Context as _;
use kernel::auth::{AccessChangeSource, KeySource, TokenSettings, TokenVerifier};
use kernel::config::Settings;
use kernel::db::{Database, DatabaseUrl};
use kernel::http::internal::InternalToken;
use kernel::http::RemoteClient;
use kernel::module::{Module, ModuleInfo};
use kernel::server::{JobRunner, JobSchedule, RunningServer, ServerParts};
use kernel::wiring::{Contract, ModuleEntry, Provided, Wiring};

/// The modules this binary hosts.
pub fn hosted() -> Vec<&'static ModuleEntry> {
    vec![
        #[cfg(feature = "users")]
        &users::ENTRY,
        #[cfg(feature = "auth")]
        &auth::ENTRY,
        #[cfg(feature = "catalog")]
        &catalog::ENTRY,
        #[cfg(feature = "payments")]
        &payments::ENTRY,
        #[cfg(feature = "orders")]
        &orders::ENTRY,
    ]
}

/// Every module's contract, hosted here or not.
pub const CONTRACTS: [&Contract; 5] = [
    &auth_api::CONTRACT,
    &users_api::CONTRACT,
    &catalog_api::CONTRACT,
    &payments_api::CONTRACT,
    &orders_api::CONTRACT,
];

/// Every problem type any module answers: the kernel's and each contract's
/// (`docs/api.md` lists them; a test holds the two together).
pub fn problem_types() -> Vec<kernel::error::ProblemType> {
    [
        kernel::error::PROBLEMS,
        auth_api::PROBLEMS,
        users_api::PROBLEMS,
        catalog_api::PROBLEMS,
        payments_api::PROBLEMS,
        orders_api::PROBLEMS,
    ]
    .concat()
}

pub fn hosted_info() -> Vec<&'static ModuleInfo> {
    hosted().iter().map(|entry| entry.info).collect()
}

pub fn find_hosted(name: &str) -> Option<&'static ModuleInfo> {
    hosted_info().into_iter().find(|info| info.name == name)
}

/// The running modules, what they were wired to, and the traits they provide.
pub struct Composition {
    pub modules: Vec<Arc<dyn Module>>,
    pub remotes: Vec<RemoteClient>,
    pub verifier: Arc<TokenVerifier>,
    pub provided: Provided,
}

/// Builds every hosted module, each after the modules it calls, with HTTP
/// clients for the ones hosted elsewhere.
pub async fn compose(settings: &Settings) -> anyhow::Result<Composition> {
    let hosted = hosted();
    let is_hosted = |name: &str| hosted.iter().any(|entry| entry.info.name == name);
    if hosted.len() < CONTRACTS.len() && settings.internal.token.is_none() {
        anyhow::bail!(
            "this binary hosts only {}: set internal.token (SHOP__INTERNAL__TOKEN) to the credential \
             shared by the services",
            hosted.iter().map(|entry| entry.info.name).collect::<Vec<_>>().join(", ")
        );
    }

    // Clients of the modules called from here but hosted elsewhere; auth's
    // keys are needed by every process that verifies tokens.
    let mut provided = Provided::default();
    let mut remotes = Vec::new();
    for contract in CONTRACTS {
        let called = hosted.iter().any(|entry| entry.info.depends_on.contains(&contract.name));
        let keys = contract.name == auth_api::MODULE;
        if !is_hosted(contract.name) && (called || keys) {
            let url = settings.remote_url(contract.name)?;
            let client = RemoteClient::new(contract.name, &url, settings.internal.token.clone());
            (contract.remote)(client.clone(), &mut provided);
            remotes.push(client);
        }
    }

    let mut databases = HashMap::new();
    for entry in &hosted {
        databases.insert(entry.info.name, open_database(entry.info, settings).await?);
    }

    let mut modules: Vec<Arc<dyn Module>> = Vec::new();
    let mut waiting = hosted.clone();
    while !waiting.is_empty() {
        let ready = waiting.iter().position(|entry| {
            let built = |name: &&str| modules.iter().any(|m| m.info().name == *name) || !is_hosted(name);
            entry.info.depends_on.iter().all(built)
        });
        let entry = waiting.remove(ready.context("the modules' depends_on form a cycle")?);
        let mut wiring = Wiring::new(settings, &databases, &mut provided);
        let module = (entry.build)(&mut wiring).with_context(|| format!("module {}", entry.info.name))?;
        modules.push(module);
    }

    let source = provided.get::<dyn KeySource>().context("nothing provides the access-token keys")?;
    let tokens: TokenSettings = settings.section(auth_api::MODULE)?;
    let mut verifier = TokenVerifier::new(source, &tokens.issuer, &tokens.audience);
    if let Some(changes) = provided.get::<dyn AccessChangeSource>() {
        verifier = verifier.with_access_changes(changes);
    }
    let verifier = Arc::new(verifier);
    if let Err(e) = verifier.refresh().await {
        // Not fatal: the auth service may start later; keys are fetched again on demand.
        tracing::warn!(error = %e, "cannot load the access-token keys yet");
    }
    Ok(Composition { modules, remotes, verifier, provided })
}

/// Opens a hosted module's database, applying its migrations first when
/// `database.auto_migrate` is on.
async fn open_database(info: &'static ModuleInfo, settings: &Settings) -> anyhow::Result<Database> {
    let url = settings.database_url(info.name);
    let database = settings.database.clone();
    tokio::task::spawn_blocking(move || {
        if database.auto_migrate {
            let parsed = DatabaseUrl::parse(&url).map_err(anyhow::Error::msg)?;
            let applied = kernel::db::migrate::run(&parsed, &info.migrations)?;
            if !applied.is_empty() {
                tracing::info!(module = info.name, ?applied, "applied migrations");
            }
        }
        Ok(Database::connect(info.name, &url, &database)?)
    })
    .await?
}

/// `shop` for the monolith, else `shop-` and the hosted modules (`shop-orders`).
fn service_name(composition: &Composition) -> String {
    if composition.modules.len() == CONTRACTS.len() {
        return "shop".into();
    }
    let names: Vec<_> = composition.modules.iter().map(|m| m.info().name).collect();
    format!("shop-{}", names.join("+"))
}

/// A server bound to its port, ready to run.
pub struct Application {
    server: RunningServer,
    provided: Arc<Provided>,
}

impl Application {
    /// Composes the modules and binds `server.bind` (port 0 picks a free port).
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, JobSchedule::Timed).await
    }

    /// [`Self::build`], choosing whether background jobs run on their timers.
    pub async fn build_with(settings: &Settings, jobs: JobSchedule) -> anyhow::Result<Self> {
        let composition = compose(settings).await?;
        if let Some(endpoint) = &settings.telemetry.otlp_endpoint {
            kernel::telemetry::spans::start(endpoint, service_name(&composition))
                .context("cannot set up the trace exporter (telemetry.otlp_endpoint)")?;
        }
        let listener = TcpListener::bind(&settings.server.bind)
            .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
        let names: Vec<_> = composition.modules.iter().map(|m| m.info().name).collect();
        let remote: Vec<_> =
            composition.remotes.iter().map(|r| format!("{}={}", r.module(), r.base())).collect();
        let server = kernel::server::build(
            listener,
            ServerParts {
                modules: composition.modules,
                remotes: composition.remotes,
                verifier: composition.verifier,
                internal_token: InternalToken {
                    current: settings.internal.token.clone(),
                    previous: settings.internal.previous_token.clone(),
                },
                workers: settings.server.workers,
                jobs,
            },
        )?;
        tracing::info!(port = server.port(), modules = ?names, remote = ?remote, "shop is listening");
        Ok(Self { server, provided: Arc::new(composition.provided) })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The background jobs, to run on demand (see [`JobSchedule::Manual`]).
    pub fn jobs(&self) -> JobRunner {
        self.server.jobs()
    }

    /// The traits the modules provide (for tools and tests: admin accounts, …).
    pub fn provided(&self) -> Arc<Provided> {
        self.provided.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.run_until_stopped().await
    }
}
