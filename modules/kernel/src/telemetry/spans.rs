//! Trace spans sent to an OpenTelemetry collector over OTLP/HTTP (JSON
//! encoding, `POST {telemetry.otlp_endpoint}/v1/traces`), only when
//! `telemetry.otlp_endpoint` is set: a server span per request, a client
//! span per call to another module and one per call to the module's own
//! database (`db::Database::run`), with the W3C ids that the logs and the
//! `traceparent` headers carry (see `http::trace`). Without the setting,
//! [`record`] is one check of an unset cell.
//!
//! Written here rather than with opentelemetry-otlp + tracing-opentelemetry:
//! shop's spans are exactly these three with ids it already generates, and
//! the OTLP/JSON encoding is a few structs, where the SDK stack would add a
//! second span model beside `tracing` and several minutes to every build.
//! Export is best effort: a full queue or a collector that is down drops spans
//! (counted in the log), never slows a request.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::sync::mpsc;

/// Spans waiting for the exporter; beyond this they are dropped.
const QUEUE: usize = 8192;
/// Spans per request to the collector.
const BATCH: usize = 512;
/// How long a span may wait for its batch.
const EXPORT_EVERY: Duration = Duration::from_secs(1);

/// The OTLP span kinds shop produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Server = 2,
    Client = 3,
}

/// A span that has ended.
#[derive(Debug, Clone)]
pub struct FinishedSpan {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent_id: Option<[u8; 8]>,
    pub name: String,
    pub kind: SpanKind,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: Vec<(&'static str, String)>,
    pub error: bool,
}

static EXPORTER: OnceLock<mpsc::Sender<FinishedSpan>> = OnceLock::new();

/// Starts exporting to `endpoint` as `service`; call once, inside the runtime.
pub fn start(endpoint: &str, service: String) {
    let (sender, receiver) = mpsc::channel(QUEUE);
    if EXPORTER.set(sender).is_err() {
        return; // already exporting (tests build several apps in one process)
    }
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    tracing::info!(%url, %service, "exporting trace spans over OTLP/HTTP");
    tokio::spawn(export(receiver, url, service));
}

/// Whether spans are being exported (so callers can skip building them).
pub fn enabled() -> bool {
    EXPORTER.get().is_some()
}

/// Queues an ended span for export, or drops it when the queue is full.
pub fn record(span: FinishedSpan) {
    if let Some(sender) = EXPORTER.get() {
        let _ = sender.try_send(span);
    }
}

async fn export(mut receiver: mpsc::Receiver<FinishedSpan>, url: String, service: String) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap_or_default();
    let mut failures = 0u32;
    loop {
        let Some(first) = receiver.recv().await else { return };
        let mut batch = vec![first];
        let deadline = tokio::time::sleep(EXPORT_EVERY);
        tokio::pin!(deadline);
        while batch.len() < BATCH {
            tokio::select! {
                span = receiver.recv() => match span {
                    Some(span) => batch.push(span),
                    None => break,
                },
                () = &mut deadline => break,
            }
        }
        let body = encode(&service, &batch);
        let sent = http.post(&url).json(&body).send().await.and_then(reqwest::Response::error_for_status);
        match sent {
            Ok(_) => failures = 0,
            Err(e) => {
                failures += 1;
                // At the 1st, 2nd, 4th, 8th… failure in a row: a collector that is down must not flood the log.
                if failures.is_power_of_two() {
                    tracing::warn!(error = %e, spans = batch.len(), failures, "could not export trace spans; dropped");
                }
            }
        }
    }
}

/// The OTLP/JSON `ExportTraceServiceRequest` of `spans` (ids in hex, times
/// in Unix nanoseconds as strings).
pub fn encode(service: &str, spans: &[FinishedSpan]) -> Value {
    let nanos = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos().to_string();
    let spans: Vec<Value> = spans
        .iter()
        .map(|span| {
            let attributes: Vec<Value> = span
                .attributes
                .iter()
                .map(|(key, value)| json!({ "key": key, "value": { "stringValue": value } }))
                .collect();
            json!({
                "traceId": crate::hex(&span.trace_id),
                "spanId": crate::hex(&span.span_id),
                "parentSpanId": span.parent_id.map(|p| crate::hex(&p)).unwrap_or_default(),
                "name": span.name,
                "kind": span.kind as u8,
                "startTimeUnixNano": nanos(span.start),
                "endTimeUnixNano": nanos(span.end),
                "attributes": attributes,
                "status": { "code": if span.error { 2 } else { 1 } },
            })
        })
        .collect();
    json!({
        "resourceSpans": [{
            "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": service } }] },
            "scopeSpans": [{ "scope": { "name": "shop", "version": env!("CARGO_PKG_VERSION") }, "spans": spans }],
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_otlp_json_shape() {
        let now = SystemTime::now();
        let span = FinishedSpan {
            trace_id: [0xab; 16],
            span_id: [0x01; 8],
            parent_id: Some([0x02; 8]),
            name: "POST /api/v1/orders".into(),
            kind: SpanKind::Server,
            start: now,
            end: now + Duration::from_millis(3),
            attributes: vec![("http.response.status_code", "201".into())],
            error: false,
        };
        let body = encode("shop-orders", &[span]);
        let resource = &body["resourceSpans"][0];
        assert_eq!(resource["resource"]["attributes"][0]["value"]["stringValue"], "shop-orders");
        let encoded = &resource["scopeSpans"][0]["spans"][0];
        assert_eq!(encoded["traceId"], "abababababababababababababababab");
        assert_eq!(encoded["parentSpanId"], "0202020202020202");
        assert_eq!(encoded["kind"], 2);
        let (start, end) = (encoded["startTimeUnixNano"].as_str(), encoded["endTimeUnixNano"].as_str());
        let elapsed = end.and_then(|e| e.parse::<u128>().ok()).unwrap_or(0)
            - start.and_then(|s| s.parse::<u128>().ok()).unwrap_or(0);
        assert_eq!(elapsed, 3_000_000);
    }
}
