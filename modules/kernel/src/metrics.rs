//! Prometheus metrics: requests by route template, method and status; latency
//! histogram; connection-pool gauges read at scrape time.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::db::Database;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
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
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Self { registry, requests, latency, pool }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The text exposition, with pool gauges refreshed from `databases`.
    pub fn render(&self, databases: &[Database]) -> String {
        for db in databases {
            let (open, idle) = db.pool_state();
            self.pool.with_label_values(&[db.module(), "open"]).set(i64::from(open));
            self.pool.with_label_values(&[db.module(), "idle"]).set(i64::from(idle));
            self.pool.with_label_values(&[db.module(), "in_use"]).set(i64::from(open.saturating_sub(idle)));
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
