//! Prometheus metrics: requests by route template, method and status (every
//! label from a bounded set); latency
//! histogram; connection-pool gauges and statement counts read at scrape time.

use std::sync::Mutex;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::db::Database;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    statements: IntCounterVec,
    /// Scrapes bring the statement counters up to the databases' own counts, one at a time.
    scrape: Mutex<()>,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let labels = &["method", "route", "status"];
        let requests = IntCounterVec::new(Opts::new("http_requests_total", "HTTP requests answered"), labels)
            .expect("valid metric definition");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer an HTTP request")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            labels,
        )
        .expect("valid metric definition");
        let pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections by module and state"),
            &["module", "state"],
        )
        .expect("valid metric definition");
        let statements = IntCounterVec::new(
            Opts::new(
                "db_statements_total",
                "SQL statements sent, by module (transaction statements included)",
            ),
            &["module"],
        )
        .expect("valid metric definition");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool.clone()),
            Box::new(statements.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Self { registry, requests, latency, pool, statements, scrape: Mutex::new(()) }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The text exposition, with pool gauges and statement counts refreshed from `databases`.
    pub fn render(&self, databases: &[Database]) -> String {
        let _one_at_a_time = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        for db in databases {
            let (open, in_use) = db.pool_state();
            self.pool.with_label_values(&[db.module(), "open"]).set(i64::from(open));
            self.pool.with_label_values(&[db.module(), "idle"]).set(i64::from(open.saturating_sub(in_use)));
            self.pool.with_label_values(&[db.module(), "in_use"]).set(i64::from(in_use));
            let counter = self.statements.with_label_values(&[db.module()]);
            counter.inc_by(db.statements().saturating_sub(counter.get()));
        }
        let mut out = Vec::new();
        let mut families = self.registry.gather();
        families.extend(crate::http::resilience::REMOTE_METRICS.registry.gather());
        if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The `method` label: the standard methods by name, anything else as
/// `other`, so a client cannot add series by inventing methods.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
