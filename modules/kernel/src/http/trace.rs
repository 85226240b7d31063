//! W3C Trace Context (`traceparent`, `tracestate`), read and written by
//! OpenTelemetry's `TraceContextPropagator`: every request continues the
//! caller's trace or starts one, its `trace_id` is a field of the request span
//! (so it is in every log line of the request), and every call to another
//! module carries the trace on with a new span id.

use std::sync::LazyLock;

use actix_web::http::header::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator as _, RandomIdGenerator};

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

static PROPAGATOR: LazyLock<TraceContextPropagator> = LazyLock::new(TraceContextPropagator::new);

/// The trace a request belongs to, and this process's span in it.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceContext {
    /// This request's (server) span: trace id, span id, sampling flag, tracestate.
    pub span: SpanContext,
    /// The caller's span, when the trace was continued.
    pub parent_id: Option<SpanId>,
}

tokio::task_local! {
    /// The trace of the request being served, for outgoing calls.
    pub static TRACE: TraceContext;
}

impl TraceContext {
    /// Continues the trace a valid `traceparent` names, else starts one.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        if !headers.contains_key(TRACEPARENT) {
            return Self::start();
        }
        let remote = PROPAGATOR.extract(&HeaderExtractor(headers));
        let caller = remote.span().span_context().clone();
        if !caller.is_valid() {
            return Self::start();
        }
        Self { span: child_of(&caller), parent_id: Some(caller.span_id()) }
    }

    /// A new trace, for a request that came without one.
    pub fn start() -> Self {
        let ids = RandomIdGenerator::default();
        let span = SpanContext::new(
            ids.new_trace_id(),
            ids.new_span_id(),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        );
        Self { span, parent_id: None }
    }

    pub fn trace_id(&self) -> TraceId {
        self.span.trace_id()
    }

    /// The span of an outgoing call: this trace, a new span id, the same
    /// sampling decision and tracestate.
    pub fn child(&self) -> SpanContext {
        child_of(&self.span)
    }
}

/// A new span of this process in the trace of `span`.
fn child_of(span: &SpanContext) -> SpanContext {
    let span_id = RandomIdGenerator::default().new_span_id();
    SpanContext::new(span.trace_id(), span_id, span.trace_flags(), false, span.trace_state().clone())
}

/// The `traceparent` (and `tracestate`, when there is one) that carry `span`
/// to the module called.
pub fn headers_for(span: &SpanContext) -> Vec<(&'static str, String)> {
    let mut headers = TraceHeaders(Vec::with_capacity(2));
    PROPAGATOR.inject_context(&Context::new().with_remote_span_context(span.clone()), &mut headers);
    headers.0
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct TraceHeaders(Vec<(&'static str, String)>);

impl Injector for TraceHeaders {
    fn set(&mut self, key: &str, value: String) {
        let name = match key {
            TRACEPARENT => TRACEPARENT,
            TRACESTATE if !value.is_empty() => TRACESTATE,
            _ => return,
        };
        self.0.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(traceparent: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(HeaderName::from_static(TRACEPARENT), HeaderValue::from_str(traceparent).expect("value"));
        map
    }

    #[test]
    fn continues_a_valid_trace_with_a_new_span() {
        let mut map = headers("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        map.insert(HeaderName::from_static(TRACESTATE), HeaderValue::from_static("vendor=abc"));
        let cx = TraceContext::from_headers(&map);
        assert_eq!(cx.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(cx.parent_id.map(|p| p.to_string()).as_deref(), Some("00f067aa0ba902b7"));
        assert!(cx.span.is_sampled());
        assert_ne!(cx.span.span_id().to_string(), "00f067aa0ba902b7");
        let child = cx.child();
        let sent = headers_for(&child);
        assert_eq!(
            sent,
            [
                (TRACEPARENT, format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", child.span_id())),
                (TRACESTATE, "vendor=abc".to_owned()),
            ]
        );
    }

    #[test]
    fn new_traces_have_distinct_ids_shown_as_hex() {
        let (a, b) = (TraceContext::start(), TraceContext::start());
        assert_ne!(a.trace_id(), b.trace_id());
        assert_ne!(a.span.span_id(), b.span.span_id());
        let hex = a.trace_id().to_string();
        assert!(
            hex.len() == 32 && hex.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{hex}"
        );
        // A new trace sends no tracestate.
        assert_eq!(headers_for(&a.child()).len(), 1);
    }

    #[test]
    fn starts_a_new_trace_for_an_invalid_header() {
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "garbage",
        ] {
            let cx = TraceContext::from_headers(&headers(bad));
            assert_eq!(cx.parent_id, None, "{bad}");
            assert_ne!(cx.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736", "{bad}");
        }
    }
}
