//! Builds the HTTP server from the modules compiled into this process:
//! middleware, operations endpoints, API docs, module routes, background jobs.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use tokio::sync::watch;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{TokenVerifier, KEYS_REFRESH_EVERY};
use crate::http::health::{self, Dependencies};
use crate::http::internal::{require_internal_token, InternalToken};
use crate::http::observe::observe_requests;
use crate::http::problems;
use crate::http::RemoteClient;
use crate::metrics::Metrics;
use crate::module::Module;

/// Everything the server needs, as composed by the application.
pub struct ServerParts {
    pub modules: Vec<Arc<dyn Module>>,
    pub remotes: Vec<RemoteClient>,
    pub verifier: Arc<TokenVerifier>,
    pub internal_token: InternalToken,
    pub workers: Option<usize>,
    pub jobs: JobSchedule,
}

/// Whether the modules' background jobs run on their timers, or only when a
/// caller runs them (tests, so that nothing runs behind their back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobSchedule {
    Timed,
    Manual,
}

/// Every module's background jobs, to run once on demand.
#[derive(Clone)]
pub struct JobRunner {
    jobs: Vec<crate::module::BackgroundJob>,
}

impl JobRunner {
    /// Runs every job once, one after the other, in module order.
    pub async fn run_all(&self) {
        for job in &self.jobs {
            (job.run)().await;
        }
    }
}

/// A server bound to its port; `run_until_stopped` serves.
pub struct RunningServer {
    port: u16,
    server: Server,
    stop_jobs: watch::Sender<bool>,
    jobs: JobRunner,
}

impl RunningServer {
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn jobs(&self) -> JobRunner {
        self.jobs.clone()
    }

    /// Serves until a signal, then stops the jobs. SIGTERM is graceful
    /// (in-flight requests get up to 20 s); SIGINT stops at once.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        let _ = self.stop_jobs.send(true);
        result
    }
}

/// The OpenAPI document of the given modules.
pub fn openapi(infos: &[&'static crate::module::ModuleInfo]) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApiBuilder};
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("shop")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("E-commerce backend. Errors are application/problem+json (RFC 9457).")),
        )
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    "bearer",
                    SecurityScheme::Http(
                        HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
                    ),
                )
                .schema_from::<crate::error::Problem>()
                .response_from::<crate::error::responses::BadRequest>()
                .response_from::<crate::error::responses::Unauthorized>()
                .response_from::<crate::error::responses::Forbidden>()
                .response_from::<crate::error::responses::NotFound>()
                .response_from::<crate::error::responses::Conflict>()
                .response_from::<crate::error::responses::PayloadTooLarge>()
                .response_from::<crate::error::responses::UnsupportedMediaType>()
                .response_from::<crate::error::responses::Invalid>()
                .response_from::<crate::error::responses::TooManyRequests>()
                .response_from::<crate::error::responses::Unavailable>()
                .build(),
        ))
        .build();
    for info in infos {
        doc.merge((info.openapi)());
    }
    doc
}

pub fn build(listener: TcpListener, parts: ServerParts) -> std::io::Result<RunningServer> {
    let port = listener.local_addr()?.port();
    let infos: Vec<_> = parts.modules.iter().map(|m| m.info()).collect();
    let doc = openapi(&infos);
    let deps = web::Data::new(Dependencies {
        databases: parts.modules.iter().map(|m| m.database().clone()).collect(),
        remotes: parts.remotes,
    });
    let metrics = web::Data::new(Metrics::new());
    let verifier = web::Data::from(parts.verifier);
    let internal_token = web::Data::new(parts.internal_token);
    let modules = parts.modules;
    let (stop_jobs, stopped) = watch::channel(false);
    let mut jobs: Vec<_> = modules.iter().flat_map(|m| m.background_jobs()).collect();
    jobs.push(access_changes_job(verifier.clone().into_inner()));
    jobs.push(signing_keys_job(verifier.clone().into_inner()));
    if parts.jobs == JobSchedule::Timed {
        for job in &jobs {
            spawn_job(job.clone(), stopped.clone());
        }
    }

    let app_modules = modules.clone();
    let mut server = HttpServer::new(move || {
        let mut app = App::new()
            .app_data(problems::json_config())
            .app_data(problems::query_config())
            .app_data(problems::path_config())
            .app_data(metrics.clone())
            .app_data(deps.clone())
            .app_data(verifier.clone())
            .app_data(internal_token.clone())
            .wrap(problems::problem_responses())
            .wrap(from_fn(observe_requests))
            .service(web::resource("/health/live").get(health::live))
            .service(web::resource("/health/ready").get(health::ready))
            .service(web::resource("/metrics").get(health::metrics));
        // The API first: routes are tried in order, and the docs' catch-all pattern is the slowest.
        let mut internal = web::scope("/internal/v1").wrap(from_fn(require_internal_token));
        for module in &app_modules {
            let name = module.info().name;
            let m = module.clone();
            app = app
                .service(web::scope(&format!("/api/v1/{name}")).configure(move |cfg| m.public_routes(cfg)));
            let m = module.clone();
            internal = internal
                .service(web::scope(&format!("/{name}")).configure(move |cfg| m.internal_routes(cfg)));
        }
        app.service(internal)
            .service(web::resource("/docs").get(|| async {
                HttpResponse::PermanentRedirect().insert_header(("location", "/docs/")).finish()
            }))
            .service(SwaggerUi::new("/docs/{_:.*}").url("/api-docs/openapi.json", doc.clone()))
    })
    .shutdown_timeout(20)
    // Longer than the idle timeout of every client that pools connections to
    // shop (nginx upstream keepalive and reqwest: 60 s), so an idle connection
    // is always closed by the client, never by shop while a request is on its way.
    .keep_alive(std::time::Duration::from_secs(75))
    .listen(listener)?;
    if let Some(workers) = parts.workers {
        server = server.workers(workers.max(1));
    }
    Ok(RunningServer { port, server: server.run(), stop_jobs, jobs: JobRunner { jobs } })
}

/// How often every process asks for accounts disabled or demoted: well within
/// the 30 s in which their tokens must lose their powers.
const ACCESS_CHANGES_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

fn access_changes_job(verifier: Arc<TokenVerifier>) -> crate::module::BackgroundJob {
    crate::module::BackgroundJob {
        name: "poll access changes",
        every: ACCESS_CHANGES_EVERY,
        run: Arc::new(move || {
            let verifier = verifier.clone();
            Box::pin(async move {
                if let Err(e) = verifier.poll_access_changes().await {
                    tracing::warn!(error = %e, "cannot poll access changes; tokens keep their last known standing");
                }
            })
        }),
    }
}

fn signing_keys_job(verifier: Arc<TokenVerifier>) -> crate::module::BackgroundJob {
    crate::module::BackgroundJob {
        name: "refresh signing keys",
        every: KEYS_REFRESH_EVERY,
        run: Arc::new(move || {
            let verifier = verifier.clone();
            Box::pin(async move {
                if let Err(e) = verifier.refresh_scheduled().await {
                    tracing::warn!(error = %e, "cannot refresh the token signing keys; keeping the ones held");
                }
            })
        }),
    }
}

fn spawn_job(job: crate::module::BackgroundJob, mut stopped: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(job.every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => (job.run)().await,
                _ = stopped.changed() => break,
            }
        }
        tracing::info!(job = job.name, "background job stopped");
    });
}
