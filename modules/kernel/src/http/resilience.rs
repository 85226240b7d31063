//! What keeps one slow or failing module from taking its callers down: a
//! circuit breaker per target module, a retry budget per target, jittered
//! backoff, and the outgoing-call metrics (`remote_calls_total`,
//! `remote_call_duration_seconds`, `remote_breaker_open`).
//!
//! Hand-written rather than a crate: the policies are thirty lines each, and
//! the crates that offer them (tower's `retry`/`limit`, `failsafe`) would bring
//! a second middleware stack beside actix and reqwest for no extra behaviour.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// Consecutive failures that open the breaker.
const OPEN_AFTER: u32 = 5;
/// How long an open breaker answers at once before it lets one probe through.
const OPEN_FOR: Duration = Duration::from_secs(5);

/// Per target: closed (calls go through), open (calls fail at once) until
/// [`OPEN_FOR`] has passed, then half-open (one probe; its outcome decides).
#[derive(Default)]
pub struct Breaker {
    consecutive_failures: AtomicU32,
    opened_at: Mutex<Option<Instant>>,
    probing: AtomicBool,
}

/// May this call go through?
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    Closed,
    /// The one call that tests whether the target is back.
    Probe,
    Open,
}

impl Breaker {
    pub fn admit(&self) -> Admission {
        let opened_at = *self.opened_at.lock().unwrap_or_else(|p| p.into_inner());
        match opened_at {
            None => Admission::Closed,
            Some(at) if at.elapsed() < OPEN_FOR => Admission::Open,
            Some(_) if !self.probing.swap(true, Ordering::AcqRel) => Admission::Probe,
            Some(_) => Admission::Open,
        }
    }

    /// Records a call's outcome; returns true when this opened the breaker.
    pub fn record(&self, admission: &Admission, ok: bool) -> bool {
        if *admission == Admission::Probe {
            self.probing.store(false, Ordering::Release);
        }
        let mut opened_at = self.opened_at.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            self.consecutive_failures.store(0, Ordering::Release);
            *opened_at = None;
            return false;
        }
        let failures = self.consecutive_failures.fetch_add(1, Ordering::AcqRel) + 1;
        let reopen = *admission == Admission::Probe || (opened_at.is_none() && failures >= OPEN_AFTER);
        if reopen {
            *opened_at = Some(Instant::now());
        }
        reopen && *admission != Admission::Probe
    }

    pub fn is_open(&self) -> bool {
        self.opened_at.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }
}

/// Retries may add at most about a tenth to a target's calls, plus a small
/// reserve: each call that needs no retry earns a tenth of one.
pub struct RetryBudget {
    /// In tenths of a retry.
    balance: AtomicI64,
}

const RETRY_COST: i64 = 10;
const BUDGET_RESERVE: i64 = 10 * RETRY_COST;
const BUDGET_MAX: i64 = 20 * RETRY_COST;

impl Default for RetryBudget {
    fn default() -> Self {
        Self { balance: AtomicI64::new(BUDGET_RESERVE) }
    }
}

impl RetryBudget {
    pub fn earn(&self) {
        let _ =
            self.balance.fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| Some((b + 1).min(BUDGET_MAX)));
    }

    /// Takes one retry from the budget, if it has one.
    pub fn spend(&self) -> bool {
        self.balance
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                (b >= RETRY_COST).then_some(b - RETRY_COST)
            })
            .is_ok()
    }
}

/// Full-jitter exponential backoff before retry `attempt` (1-based): a random
/// wait up to 50 ms × 2^attempt, so callers that failed together do not come back together.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = 50u64 << attempt.min(4);
    let mut bytes = [0u8; 8];
    let random = if getrandom::fill(&mut bytes).is_ok() { u64::from_le_bytes(bytes) } else { ceiling / 2 };
    Duration::from_millis(random % ceiling.max(1))
}

/// How an outgoing call ended, as the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    ClientError,
    ServerError,
    Timeout,
    Unavailable,
    BreakerOpen,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ClientError => "4xx",
            Outcome::ServerError => "5xx",
            Outcome::Timeout => "timeout",
            Outcome::Unavailable => "unavailable",
            Outcome::BreakerOpen => "breaker_open",
        }
    }

    /// Whether the call says the target is unhealthy (a 4xx is the caller's business).
    pub fn is_failure(self) -> bool {
        !matches!(self, Outcome::Ok | Outcome::ClientError)
    }
}

/// The outgoing-call metrics of the whole process; `/metrics` renders them.
pub struct RemoteMetrics {
    pub registry: Registry,
    calls: IntCounterVec,
    latency: HistogramVec,
    breaker_open: IntGaugeVec,
}

pub static REMOTE_METRICS: LazyLock<RemoteMetrics> = LazyLock::new(|| {
    let registry = Registry::new();
    let calls = IntCounterVec::new(
        Opts::new("remote_calls_total", "Calls to other modules, by target module, operation and outcome"),
        &["target", "operation", "outcome"],
    )
    .expect("valid metric definition");
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "remote_call_duration_seconds",
            "Time a call to another module took, retries included",
        )
        .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        &["target", "operation"],
    )
    .expect("valid metric definition");
    let breaker_open = IntGaugeVec::new(
        Opts::new("remote_breaker_open", "1 while the circuit breaker toward the target module is open"),
        &["target"],
    )
    .expect("valid metric definition");
    for collector in [
        Box::new(calls.clone()) as Box<dyn prometheus::core::Collector>,
        Box::new(latency.clone()),
        Box::new(breaker_open.clone()),
    ] {
        registry.register(collector).expect("metric names are unique");
    }
    RemoteMetrics { registry, calls, latency, breaker_open }
});

impl RemoteMetrics {
    pub fn observe(&self, target: &str, operation: &str, outcome: Outcome, seconds: f64) {
        self.calls.with_label_values(&[target, operation, outcome.label()]).inc();
        self.latency.with_label_values(&[target, operation]).observe(seconds);
    }

    pub fn set_breaker(&self, target: &str, open: bool) {
        self.breaker_open.with_label_values(&[target]).set(i64::from(open));
    }
}

/// The `operation` label of a call: its method and path with ids replaced by
/// `{id}` and the query dropped, so the label set is bounded by the code.
pub fn operation_label(method: &reqwest::Method, path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| if uuid::Uuid::parse_str(segment).is_ok() { "{id}" } else { segment })
        .collect();
    format!("{method} {}", segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_consecutive_failures_and_one_probe_closes_it() {
        let breaker = Breaker::default();
        for _ in 0..OPEN_AFTER - 1 {
            assert_eq!(breaker.admit(), Admission::Closed);
            assert!(!breaker.record(&Admission::Closed, false));
        }
        assert!(breaker.record(&Admission::Closed, false), "the fifth failure opens it");
        assert_eq!(breaker.admit(), Admission::Open);
        *breaker.opened_at.lock().expect("lock") = Some(Instant::now() - OPEN_FOR);
        assert_eq!(breaker.admit(), Admission::Probe);
        assert_eq!(breaker.admit(), Admission::Open, "one probe at a time");
        breaker.record(&Admission::Probe, true);
        assert_eq!(breaker.admit(), Admission::Closed);
        assert!(!breaker.is_open());
    }

    #[test]
    fn a_failed_probe_opens_the_breaker_again() {
        let breaker = Breaker::default();
        *breaker.opened_at.lock().expect("lock") = Some(Instant::now() - OPEN_FOR);
        assert_eq!(breaker.admit(), Admission::Probe);
        breaker.record(&Admission::Probe, false);
        assert_eq!(breaker.admit(), Admission::Open);
    }

    #[test]
    fn the_retry_budget_runs_out_and_is_earned_back() {
        let budget = RetryBudget::default();
        for _ in 0..BUDGET_RESERVE / RETRY_COST {
            assert!(budget.spend());
        }
        assert!(!budget.spend(), "the reserve is spent");
        for _ in 0..RETRY_COST {
            budget.earn();
        }
        assert!(budget.spend(), "ten good calls earn one retry");
    }

    #[test]
    fn operations_are_templated() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(operation_label(&reqwest::Method::GET, &format!("/users/{id}")), "GET /users/{id}");
        assert_eq!(operation_label(&reqwest::Method::GET, "/access-changes?since=5"), "GET /access-changes");
        assert!(backoff(1) < Duration::from_millis(100));
    }
}
