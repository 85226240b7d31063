//! The base client every `Http<Domain>` builds on: the internal credential,
//! the caller's request id and trace, per-call timeouts, retries of fast
//! failures, a circuit breaker per target (see `resilience`), the outgoing-call
//! metrics, and problem+json answers decoded back into errors.
//!
//! Every internal endpoint is idempotent by contract (a retried reserve, charge
//! or create returns the first result: docs/adding-a-module.md), so a call that
//! failed before an answer may be sent again. Timeouts are never retried: the
//! target is slow, and a retry would only double the wait.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::trace::SpanKind;
use opentelemetry::KeyValue;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{de::DeserializeOwned, Serialize};

use super::internal::INTERNAL_TOKEN_HEADER;
use super::observe::{REQUEST_ID, REQUEST_ID_HEADER};
use super::resilience::{backoff, operation_label, Admission, Breaker, Outcome, RetryBudget, REMOTE_METRICS};
use super::trace::{headers_for, TRACE};
use crate::error::{ApiError, Problem};
use crate::telemetry::spans::{self, FinishedSpan};

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The remote module answered with a problem.
    #[error("{} {}: {}", .0.status, .0.code(), .0.detail)]
    Problem(Problem),
    /// The remote module could not be reached, timed out, or answered nonsense.
    #[error("{0}")]
    Unavailable(String),
}

impl From<RemoteError> for ApiError {
    fn from(e: RemoteError) -> Self {
        match e {
            RemoteError::Problem(p) => ApiError::from(p),
            RemoteError::Unavailable(_) => {
                ApiError::unavailable("a service this request depends on is unavailable").caused_by(e)
            }
        }
    }
}

/// A read waits this long for its answer.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// A write (a saga step) waits longer, still within what a client waits for
/// checkout; an answer lost to it is recovered through the step's key.
const WRITE_TIMEOUT: Duration = Duration::from_millis(2500);
/// Retries of one call, within the target's retry budget.
const MAX_RETRIES: u32 = 2;

#[derive(Clone)]
pub struct RemoteClient {
    module: &'static str,
    base: String,
    token: Option<SecretString>,
    http: reqwest::Client,
    health: Arc<TargetHealth>,
}

/// Shared by every clone of a client: what this process knows of the target.
#[derive(Default)]
struct TargetHealth {
    breaker: Breaker,
    budget: RetryBudget,
}

impl RemoteClient {
    /// `base` is the service root (e.g. `http://catalog:8080`); calls go to
    /// `{base}/internal/v1/{module}{path}` with `token`. Without a token only
    /// public endpoints ([`Self::get_public`]) can be called.
    pub fn new(module: &'static str, base: &str, token: Option<SecretString>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(WRITE_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .expect("a client without TLS builds");
        let health = Arc::default();
        Self { module, base: base.trim_end_matches('/').to_owned(), token, http, health }
    }

    pub fn module(&self) -> &'static str {
        self.module
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, RemoteError> {
        self.call(Method::GET, path, None::<&()>).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, RemoteError> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, RemoteError> {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// A POST without a body, answered with 204.
    pub async fn post_empty(&self, path: &str) -> Result<(), RemoteError> {
        self.send(Method::POST, path, None::<&()>).await.map(drop)
    }

    /// Whether the remote service says it is alive.
    pub async fn is_alive(&self) -> bool {
        let url = format!("{}/health/live", self.base);
        matches!(self.http.get(url).timeout(Duration::from_secs(2)).send().await, Ok(r) if r.status().is_success())
    }

    /// A public (non-internal) GET, for endpoints like the auth module's JWKS.
    pub async fn get_public<T: DeserializeOwned>(&self, path: &str) -> Result<T, RemoteError> {
        let url = format!("{}{path}", self.base);
        let request = with_trace(self.http.get(url).timeout(READ_TIMEOUT));
        let res = request.send().await.map_err(|e| self.unreachable(e))?;
        self.decode(res).await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, RemoteError> {
        let res = self.send(method, path, body).await?;
        self.decode(res).await
    }

    /// One call as the caller sees it: refused at once while the target's
    /// breaker is open, else sent, and sent again after a fast failure while
    /// the retry budget allows; measured once, retries included.
    async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<reqwest::Response, RemoteError> {
        let operation = operation_label(&method, path);
        let started = Instant::now();
        let admission = self.health.breaker.admit();
        if admission == Admission::Open {
            REMOTE_METRICS.observe(self.module, &operation, Outcome::BreakerOpen, 0.0);
            return Err(RemoteError::Unavailable(format!(
                "{} keeps failing: calls to it are refused for a few seconds (circuit breaker open)",
                self.module
            )));
        }
        let timeout = if method == Method::GET { READ_TIMEOUT } else { WRITE_TIMEOUT };
        // One client span per call, retries included: its id goes out in `traceparent`.
        let trace = TRACE.try_with(|trace| (trace.span.span_id(), trace.child())).ok();
        let trace_headers = trace.as_ref().map(|(_, span)| headers_for(span)).unwrap_or_default();
        let started_at = std::time::SystemTime::now();
        let mut retries = 0;
        let (result, outcome) = loop {
            let (result, outcome) = self.attempt(&method, path, body, timeout, &trace_headers).await;
            let fast_failure = matches!(outcome, Outcome::Unavailable | Outcome::ServerError);
            if fast_failure
                && retries < MAX_RETRIES
                && admission == Admission::Closed
                && self.health.budget.spend()
            {
                retries += 1;
                tokio::time::sleep(backoff(retries)).await;
                continue;
            }
            break (result, outcome);
        };
        if outcome == Outcome::Ok {
            self.health.budget.earn();
        }
        if self.health.breaker.record(&admission, !outcome.is_failure()) {
            tracing::warn!(target_module = self.module, "calls keep failing: circuit breaker opened");
        }
        REMOTE_METRICS.set_breaker(self.module, self.health.breaker.is_open());
        REMOTE_METRICS.observe(self.module, &operation, outcome, started.elapsed().as_secs_f64());
        if let (true, Some((parent_id, context))) = (spans::enabled(), trace) {
            spans::record(FinishedSpan {
                context,
                parent_id: Some(parent_id),
                parent_is_remote: false,
                name: operation.clone().into(),
                kind: SpanKind::Client,
                start: started_at,
                end: started_at + started.elapsed(),
                attributes: vec![
                    KeyValue::new("peer.service", self.module),
                    KeyValue::new("shop.outcome", format!("{outcome:?}")),
                    KeyValue::new("shop.retries", i64::from(retries)),
                ],
                error: outcome.is_failure(),
            });
        }
        result
    }

    async fn attempt<B: Serialize>(
        &self,
        method: &Method,
        path: &str,
        body: Option<&B>,
        timeout: Duration,
        trace_headers: &[(&'static str, String)],
    ) -> (Result<reqwest::Response, RemoteError>, Outcome) {
        let url = format!("{}/internal/v1/{}{path}", self.base, self.module);
        let mut request = self.http.request(method.clone(), url).timeout(timeout);
        if let Some(token) = &self.token {
            request = request.header(INTERNAL_TOKEN_HEADER, token.expose_secret());
        }
        if let Ok(id) = REQUEST_ID.try_with(Clone::clone) {
            request = request.header(REQUEST_ID_HEADER.as_str(), id);
        }
        for (name, value) in trace_headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        match request.send().await {
            Err(e) if e.is_timeout() => (
                Err(RemoteError::Unavailable(format!("{} did not answer within {timeout:?}", self.module))),
                Outcome::Timeout,
            ),
            Err(e) => (Err(self.unreachable(e)), Outcome::Unavailable),
            Ok(res) if res.status().is_success() => (Ok(res), Outcome::Ok),
            Ok(res) => {
                let outcome =
                    if res.status().is_server_error() { Outcome::ServerError } else { Outcome::ClientError };
                (Err(self.problem(res).await), outcome)
            }
        }
    }

    async fn decode<T: DeserializeOwned>(&self, res: reqwest::Response) -> Result<T, RemoteError> {
        if !res.status().is_success() {
            return Err(self.problem(res).await);
        }
        res.json::<T>().await.map_err(|e| {
            RemoteError::Unavailable(format!("{} answered an unreadable body: {e}", self.module))
        })
    }

    async fn problem(&self, res: reqwest::Response) -> RemoteError {
        let status = res.status();
        // Our own credential was refused: a deployment fault, not the end user's.
        if status == StatusCode::UNAUTHORIZED {
            return RemoteError::Unavailable(format!("{} refused the internal credential", self.module));
        }
        // A 5xx other than 503 says the remote side is broken: the caller sees 503, not its internals.
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            return RemoteError::Unavailable(format!("{} answered {status}", self.module));
        }
        match res.json::<Problem>().await {
            Ok(problem) => RemoteError::Problem(problem),
            Err(_) => {
                RemoteError::Unavailable(format!("{} answered {status} without a problem body", self.module))
            }
        }
    }

    fn unreachable(&self, e: reqwest::Error) -> RemoteError {
        RemoteError::Unavailable(format!("{} at {} is unreachable: {e}", self.module, self.base))
    }
}

/// Carries the request's trace on to the called module, with a new span id.
fn with_trace(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    let headers = TRACE.try_with(|trace| headers_for(&trace.child())).unwrap_or_default();
    headers.into_iter().fold(request, |request, (name, value)| request.header(name, value))
}
