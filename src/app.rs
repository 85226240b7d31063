//! The composition root: for each module, its in-process service when its
//! feature is compiled in, else its HTTP client. Nothing else in the program
//! knows which modules run where.

use std::net::TcpListener;
use std::sync::Arc;

use anyhow::Context as _;
use catalog_api::CatalogApi;
use kernel::auth::{KeySource, TokenVerifier};
use kernel::config::Settings;
use kernel::db::{Database, DatabaseUrl};
use kernel::http::internal::InternalToken;
use kernel::http::RemoteClient;
use kernel::module::{Module, ModuleInfo};
use kernel::server::{JobRunner, JobSchedule, RunningServer, ServerParts};
use payments_api::PaymentsApi;
use users_api::UsersApi;

/// Every module of shop, compiled in or not.
pub const ALL_MODULES: [&str; 5] = ["auth", "users", "catalog", "payments", "orders"];

/// The modules compiled into this binary.
pub fn compiled() -> Vec<&'static ModuleInfo> {
    vec![
        #[cfg(feature = "auth")]
        &auth::INFO,
        #[cfg(feature = "users")]
        &users::INFO,
        #[cfg(feature = "catalog")]
        &catalog::INFO,
        #[cfg(feature = "payments")]
        &payments::INFO,
        #[cfg(feature = "orders")]
        &orders::INFO,
    ]
}

pub fn find_compiled(name: &str) -> Option<&'static ModuleInfo> {
    compiled().into_iter().find(|m| m.name == name)
}

/// The running modules and what they were wired to.
pub struct Composition {
    pub modules: Vec<Arc<dyn Module>>,
    pub remotes: Vec<RemoteClient>,
    pub verifier: Arc<TokenVerifier>,
    #[cfg(feature = "auth")]
    pub auth: Arc<auth::AuthService>,
}

/// Builds every compiled module and the clients of the remote ones they need.
pub async fn compose(settings: &Settings) -> anyhow::Result<Composition> {
    let hosted = compiled();
    if hosted.len() < ALL_MODULES.len() && settings.internal.token.is_none() {
        anyhow::bail!(
            "this binary hosts only {}: set internal.token (SHOP__INTERNAL__TOKEN) to the credential \
             shared by the services",
            hosted.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
        );
    }
    let mut c = Composer::new(settings);
    for info in compiled() {
        match info.name {
            #[cfg(feature = "users")]
            users_api::MODULE => drop(c.users().await?),
            #[cfg(feature = "auth")]
            auth_api::MODULE => drop(c.auth().await?),
            #[cfg(feature = "catalog")]
            catalog_api::MODULE => drop(c.catalog().await?),
            #[cfg(feature = "payments")]
            payments_api::MODULE => drop(c.payments().await?),
            #[cfg(feature = "orders")]
            orders_api::MODULE => c.orders().await?,
            _ => {}
        }
    }
    c.finish().await
}

/// Builds services on first use, so each exists once and a remote client is
/// made only when a compiled module needs it.
struct Composer<'a> {
    settings: &'a Settings,
    modules: Vec<Arc<dyn Module>>,
    remotes: Vec<RemoteClient>,
    users: Option<Arc<dyn UsersApi>>,
    catalog: Option<Arc<dyn CatalogApi>>,
    payments: Option<Arc<dyn PaymentsApi>>,
    #[cfg(feature = "auth")]
    auth: Option<Arc<auth::AuthService>>,
}

impl<'a> Composer<'a> {
    fn new(settings: &'a Settings) -> Self {
        Self {
            settings,
            modules: Vec::new(),
            remotes: Vec::new(),
            users: None,
            catalog: None,
            payments: None,
            #[cfg(feature = "auth")]
            auth: None,
        }
    }

    #[allow(dead_code)] // unused in a build with neither users, auth nor orders
    async fn users(&mut self) -> anyhow::Result<Arc<dyn UsersApi>> {
        if let Some(api) = &self.users {
            return Ok(api.clone());
        }
        #[cfg(feature = "users")]
        let api: Arc<dyn UsersApi> = {
            let db = open_database(&users::INFO, self.settings).await?;
            let service = Arc::new(users::UsersService::new(db));
            self.modules.push(Arc::new(users::module(service.clone())));
            service
        };
        #[cfg(not(feature = "users"))]
        let api: Arc<dyn UsersApi> = Arc::new(users_api::HttpUsers::new(self.remote(users_api::MODULE)?));
        self.users = Some(api.clone());
        Ok(api)
    }

    #[allow(dead_code)] // unused in a build with neither catalog nor orders
    async fn catalog(&mut self) -> anyhow::Result<Arc<dyn CatalogApi>> {
        if let Some(api) = &self.catalog {
            return Ok(api.clone());
        }
        #[cfg(feature = "catalog")]
        let api: Arc<dyn CatalogApi> = {
            let db = open_database(&catalog::INFO, self.settings).await?;
            let service = Arc::new(catalog::CatalogService::new(db));
            self.modules.push(Arc::new(catalog::module(service.clone())));
            service
        };
        #[cfg(not(feature = "catalog"))]
        let api: Arc<dyn CatalogApi> =
            Arc::new(catalog_api::HttpCatalog::new(self.remote(catalog_api::MODULE)?));
        self.catalog = Some(api.clone());
        Ok(api)
    }

    #[allow(dead_code)] // unused in a build with neither payments nor orders
    async fn payments(&mut self) -> anyhow::Result<Arc<dyn PaymentsApi>> {
        if let Some(api) = &self.payments {
            return Ok(api.clone());
        }
        #[cfg(feature = "payments")]
        let api: Arc<dyn PaymentsApi> = {
            let db = open_database(&payments::INFO, self.settings).await?;
            let provider = Arc::new(payments::provider::TestProvider::default());
            let service = Arc::new(payments::PaymentsService::new(db, provider));
            self.modules.push(Arc::new(payments::module(service.clone())));
            service
        };
        #[cfg(not(feature = "payments"))]
        let api: Arc<dyn PaymentsApi> =
            Arc::new(payments_api::HttpPayments::new(self.remote(payments_api::MODULE)?));
        self.payments = Some(api.clone());
        Ok(api)
    }

    #[cfg(feature = "orders")]
    async fn orders(&mut self) -> anyhow::Result<()> {
        let (catalog, payments, users) = (self.catalog().await?, self.payments().await?, self.users().await?);
        let db = open_database(&orders::INFO, self.settings).await?;
        let ttl = self.settings.orders.reservation_ttl;
        let service = Arc::new(orders::OrdersService::new(db, catalog, payments, users, ttl));
        self.modules.push(Arc::new(orders::module(service, ttl)));
        Ok(())
    }

    #[cfg(feature = "auth")]
    async fn auth(&mut self) -> anyhow::Result<Arc<auth::AuthService>> {
        if let Some(service) = &self.auth {
            return Ok(service.clone());
        }
        let users = self.users().await?;
        let db = open_database(&auth::INFO, self.settings).await?;
        let service = Arc::new(auth::service(self.settings, db, users)?);
        self.modules.push(Arc::new(auth::module(service.clone())));
        self.auth = Some(service.clone());
        Ok(service)
    }

    /// The access-token keys: from the auth module in-process, else its JWKS endpoint.
    async fn key_source(&mut self) -> anyhow::Result<Arc<dyn KeySource>> {
        #[cfg(feature = "auth")]
        return Ok(self.auth().await?);
        #[cfg(not(feature = "auth"))]
        return Ok(Arc::new(auth_api::HttpAuthKeys::new(self.remote(auth_api::MODULE)?)));
    }

    /// A client of a module hosted elsewhere (`compose` has checked `internal.token`).
    #[allow(dead_code)] // unused when every module is compiled in
    fn remote(&mut self, module: &'static str) -> anyhow::Result<RemoteClient> {
        let url = self.settings.remote_url(module)?;
        let client = RemoteClient::new(module, &url, self.settings.internal.token.clone());
        self.remotes.push(client.clone());
        Ok(client)
    }

    async fn finish(mut self) -> anyhow::Result<Composition> {
        let source = self.key_source().await?;
        let auth = &self.settings.auth;
        let verifier = Arc::new(TokenVerifier::new(source, &auth.issuer, &auth.audience));
        if let Err(e) = verifier.refresh().await {
            // Not fatal: the auth service may start later; keys are fetched again on demand.
            tracing::warn!(error = %e, "cannot load the access-token keys yet");
        }
        Ok(Composition {
            modules: self.modules,
            remotes: self.remotes,
            verifier,
            #[cfg(feature = "auth")]
            auth: self.auth.context("the auth module was not built")?,
        })
    }
}

/// Opens a compiled module's database, applying its migrations first when
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

/// A server bound to its port, ready to run.
pub struct Application {
    server: RunningServer,
}

impl Application {
    /// Composes the modules and binds `server.bind` (port 0 picks a free port).
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, JobSchedule::Timed).await
    }

    /// [`Self::build`], choosing whether background jobs run on their timers.
    pub async fn build_with(settings: &Settings, jobs: JobSchedule) -> anyhow::Result<Self> {
        let composition = compose(settings).await?;
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
                internal_token: InternalToken(settings.internal.token.clone()),
                workers: settings.server.workers,
                jobs,
            },
        )?;
        tracing::info!(port = server.port(), modules = ?names, remote = ?remote, "shop is listening");
        Ok(Self { server })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The background jobs, to run on demand (see [`JobSchedule::Manual`]).
    pub fn jobs(&self) -> JobRunner {
        self.server.jobs()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.run_until_stopped().await
    }
}
