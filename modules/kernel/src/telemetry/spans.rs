//! Trace spans sent to an OpenTelemetry collector, only when
//! `telemetry.otlp_endpoint` is set: a server span per request, a client span
//! per call to another module and one per call to the module's own database
//! (`db::Database::run`), with the W3C ids that the logs and the `traceparent`
//! headers carry (see `http::trace`). Without the setting, [`record`] is one
//! check of an unset cell.
//!
//! Export is OpenTelemetry's own: the SDK's batch span processor (its own
//! thread, a bounded queue) and opentelemetry-otlp's OTLP/HTTP exporter with
//! the JSON encoding (`POST {telemetry.otlp_endpoint}/v1/traces`). Shop hands
//! the processor spans it has already measured ([`FinishedSpan`]) rather than
//! running the tracing-opentelemetry layer: that layer would give requests
//! their ids only while it is installed, where shop's logs carry the trace id
//! with export off too, at no cost worth measuring. Export is best effort: a
//! full queue or a collector that is down drops spans (failures are logged),
//! never slows a request.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SpanData, SpanEvents, SpanExporter, SpanLinks, SpanProcessor,
};
use opentelemetry_sdk::Resource;

/// Spans waiting for the exporter; beyond this they are dropped.
const QUEUE: usize = 8192;
/// Spans per request to the collector.
const BATCH: usize = 512;
/// How long a span may wait for its batch.
const EXPORT_EVERY: Duration = Duration::from_secs(1);
/// How long one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// A span that has ended, as shop measured it.
#[derive(Debug, Clone)]
pub struct FinishedSpan {
    /// Its trace, its own id and the sampling decision.
    pub context: SpanContext,
    pub parent_id: Option<SpanId>,
    /// Whether the parent is another process's span (a caller's).
    pub parent_is_remote: bool,
    pub name: Cow<'static, str>,
    pub kind: SpanKind,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: Vec<KeyValue>,
    pub error: bool,
}

/// Where this process's spans go: the batch processor in front of an exporter.
#[derive(Debug)]
pub struct SpanSink {
    processor: BatchSpanProcessor,
    scope: InstrumentationScope,
}

impl SpanSink {
    /// A sink exporting through `exporter` as the service `service`.
    pub fn new<E: SpanExporter + 'static>(exporter: E, service: String) -> Self {
        let config = BatchConfigBuilder::default()
            .with_max_queue_size(QUEUE)
            .with_max_export_batch_size(BATCH)
            .with_scheduled_delay(EXPORT_EVERY)
            .build();
        let mut processor =
            BatchSpanProcessor::builder(LoggedFailures::new(exporter)).with_batch_config(config).build();
        processor.set_resource(&Resource::builder_empty().with_service_name(service).build());
        let scope = InstrumentationScope::builder("shop").with_version(env!("CARGO_PKG_VERSION")).build();
        Self { processor, scope }
    }

    /// Queues an ended span for export, or drops it when the queue is full
    /// or its trace is not sampled (a caller's `traceparent` with flags `00`).
    pub fn record(&self, span: FinishedSpan) {
        if !span.context.is_sampled() {
            return;
        }
        self.processor.on_end(SpanData {
            span_context: span.context,
            parent_span_id: span.parent_id.unwrap_or(SpanId::INVALID),
            parent_span_is_remote: span.parent_is_remote,
            span_kind: span.kind,
            name: span.name,
            start_time: span.start,
            end_time: span.end,
            attributes: span.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: if span.error { Status::error("") } else { Status::Unset },
            instrumentation_scope: self.scope.clone(),
        });
    }

    /// Exports what is queued; waits for it (up to the processor's timeout).
    pub fn flush(&self) -> OTelSdkResult {
        self.processor.force_flush()
    }
}

static SINK: OnceLock<SpanSink> = OnceLock::new();

/// Starts exporting over OTLP/HTTP to `endpoint` as `service`; call once.
pub fn start(endpoint: &str, service: String) -> Result<(), opentelemetry_otlp::ExporterBuildError> {
    if SINK.get().is_some() {
        return Ok(()); // already exporting (tests build several apps in one process)
    }
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(url.clone())
        .with_timeout(EXPORT_TIMEOUT)
        .build()?;
    tracing::info!(%url, %service, "exporting trace spans over OTLP/HTTP");
    let _ = SINK.set(SpanSink::new(exporter, service));
    Ok(())
}

/// Whether spans are being exported (so callers can skip building them).
pub fn enabled() -> bool {
    SINK.get().is_some()
}

/// Queues an ended span for export, when exporting.
pub fn record(span: FinishedSpan) {
    if let Some(sink) = SINK.get() {
        sink.record(span);
    }
}

/// Exports what is still queued; call as the process stops.
pub fn flush() {
    if let Some(sink) = SINK.get() {
        if let Err(e) = sink.flush() {
            tracing::warn!(error = %e, "could not export the last trace spans");
        }
    }
}

/// An exporter that logs its failures at the 1st, 2nd, 4th, 8th… in a row: a
/// collector that is down must not flood the log.
#[derive(Debug)]
struct LoggedFailures<E> {
    inner: E,
    failures: AtomicU32,
}

impl<E> LoggedFailures<E> {
    fn new(inner: E) -> Self {
        Self { inner, failures: AtomicU32::new(0) }
    }
}

impl<E: SpanExporter> SpanExporter for LoggedFailures<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        match &result {
            Ok(()) => self.failures.store(0, Ordering::Relaxed),
            Err(e) => {
                let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                if failures.is_power_of_two() {
                    tracing::warn!(error = %e, spans, failures, "could not export trace spans; dropped");
                }
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{TraceFlags, TraceId, TraceState};
    use opentelemetry_sdk::trace::InMemorySpanExporter;

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    fn server_span(span_id: &str, flags: TraceFlags, start: SystemTime) -> FinishedSpan {
        let trace_id = TraceId::from_hex(TRACE).expect("hex");
        let span_id = SpanId::from_hex(span_id).expect("hex");
        FinishedSpan {
            context: SpanContext::new(trace_id, span_id, flags, false, TraceState::NONE),
            parent_id: Some(SpanId::from_hex("0202020202020202").expect("hex")),
            parent_is_remote: true,
            name: "POST /api/v1/orders".into(),
            kind: SpanKind::Server,
            start,
            end: start + Duration::from_millis(3),
            attributes: vec![KeyValue::new("http.response.status_code", 503)],
            error: true,
        }
    }

    #[test]
    fn exports_sampled_spans_with_their_ids_parent_kind_times_and_status() {
        let exporter = InMemorySpanExporter::default();
        let sink = SpanSink::new(exporter.clone(), "shop-orders".into());
        let start = SystemTime::now();
        sink.record(server_span("0101010101010101", TraceFlags::SAMPLED, start));
        sink.record(server_span("0303030303030303", TraceFlags::default(), start));
        sink.flush().expect("flush");

        let spans = exporter.get_finished_spans().expect("spans");
        assert_eq!(spans.len(), 1, "the span of an unsampled trace is not exported");
        let span = &spans[0];
        assert_eq!(span.span_context.trace_id().to_string(), TRACE);
        assert_eq!(span.span_context.span_id().to_string(), "0101010101010101");
        assert_eq!(span.parent_span_id.to_string(), "0202020202020202");
        assert!(span.parent_span_is_remote);
        assert_eq!(span.span_kind, SpanKind::Server);
        assert_eq!(span.end_time.duration_since(span.start_time).expect("ordered"), Duration::from_millis(3));
        assert_eq!(span.status, Status::error(""));
        assert_eq!(span.attributes, [KeyValue::new("http.response.status_code", 503)]);
        assert_eq!(span.instrumentation_scope.name(), "shop");
    }
}
