//! Per-request observability: a request id (accepted from `X-Request-Id` or
//! generated, echoed back), the W3C trace it belongs to, a tracing span
//! carrying both, an access log line and the request metrics.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use tracing::Instrument as _;

use super::trace::{TraceContext, TRACE};
use crate::metrics::Metrics;
use opentelemetry::trace::SpanKind;
use opentelemetry::KeyValue;

use crate::telemetry::spans::{self, FinishedSpan};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The id of the request being served, for outgoing calls to other services.
    pub static REQUEST_ID: String;
}

/// The id of the request, also in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Accepts a caller's id only if it is short and printable, so it is safe in logs.
fn accepted_id(value: Option<&HeaderValue>) -> Option<String> {
    let text = value?.to_str().ok()?;
    let ok = !text.is_empty()
        && text.len() <= 128
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| text.to_owned())
}

/// `actix_web::middleware::from_fn` middleware; wrap it outermost.
pub async fn observe_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = accepted_id(req.headers().get(&REQUEST_ID_HEADER))
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = crate::metrics::method_label(req.method());
    let path = req.path().to_owned();
    let trace = TraceContext::from_headers(req.headers());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        trace_id = %trace.trace_id(),
        method = %req.method(),
        path = %path
    );
    req.extensions_mut().insert(RequestId(id.clone()));
    let started = Instant::now();
    // Wall-clock start, for an exported span only.
    let started_at = spans::enabled().then(std::time::SystemTime::now);
    let ids = (trace.span.clone(), trace.parent_id);

    let result =
        TRACE.scope(trace, REQUEST_ID.scope(id.clone(), next.call(req))).instrument(span.clone()).await;

    let elapsed = started.elapsed();
    let (status, route) = match &result {
        Ok(res) => (res.status(), res.request().match_pattern().unwrap_or_else(|| "unmatched".into())),
        Err(e) => (e.as_response_error().status_code(), "unmatched".into()),
    };
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            route = %route,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request completed"
        );
    });
    if let Some(metrics) = metrics {
        metrics.observe_request(method, &route, status.as_u16(), elapsed.as_secs_f64());
    }
    if let Some(started_at) = started_at {
        let (context, parent_id) = ids;
        spans::record(FinishedSpan {
            context,
            parent_id,
            parent_is_remote: true,
            name: format!("{method} {route}").into(),
            kind: SpanKind::Server,
            start: started_at,
            end: started_at + elapsed,
            attributes: vec![
                KeyValue::new("http.request.method", method),
                KeyValue::new("http.route", route.to_string()),
                KeyValue::new("http.response.status_code", i64::from(status.as_u16())),
                KeyValue::new("shop.request_id", id.clone()),
            ],
            error: status.is_server_error(),
        });
    }
    let mut res = result?;
    super::headers::add_security_headers(&path, res.headers_mut());
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_request_ids_are_accepted() {
        let ok = HeaderValue::from_static("abc-123_x.y:z");
        assert_eq!(accepted_id(Some(&ok)).as_deref(), Some("abc-123_x.y:z"));
        let spaces = HeaderValue::from_static("a b");
        assert_eq!(accepted_id(Some(&spaces)), None);
        let long = HeaderValue::from_str(&"a".repeat(129)).expect("header");
        assert_eq!(accepted_id(Some(&long)), None);
    }
}
