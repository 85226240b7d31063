//! W3C Trace Context (`traceparent`, `tracestate`): every request continues
//! the caller's trace or starts one, its `trace_id` is a field of the request
//! span (so it is in every log line of the request), and every call to another
//! module carries the trace on with a new span id.

use actix_web::http::header::HeaderMap;

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

/// The trace a request belongs to, and this process's span in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    /// This request's (server) span.
    pub span_id: [u8; 8],
    /// The caller's span, when the trace was continued.
    pub parent_id: Option<[u8; 8]>,
    pub sampled: bool,
    pub tracestate: Option<String>,
}

tokio::task_local! {
    /// The trace of the request being served, for outgoing calls.
    pub static TRACE: TraceContext;
}

impl TraceContext {
    /// Continues the trace a valid `traceparent` names, else starts one.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match header(TRACEPARENT).and_then(parse_traceparent) {
            Some((trace_id, parent_id, sampled)) => Self {
                trace_id,
                span_id: random_id(),
                parent_id: Some(parent_id),
                sampled,
                // Passed on only with the traceparent it belongs to.
                tracestate: header(TRACESTATE).filter(|s| s.len() <= 512).map(str::to_owned),
            },
            None => Self::start(),
        }
    }

    /// A new trace, for a request that came without one.
    pub fn start() -> Self {
        Self { trace_id: random_id(), span_id: random_id(), parent_id: None, sampled: true, tracestate: None }
    }

    pub fn trace_id_hex(&self) -> String {
        crate::hex(&self.trace_id)
    }

    /// The trace id as lower-case hex, written without allocating (for log fields).
    pub fn trace_id_display(&self) -> impl std::fmt::Display + '_ {
        struct Hex<'a>(&'a [u8]);
        impl std::fmt::Display for Hex<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                const DIGITS: &[u8; 16] = b"0123456789abcdef";
                let mut out = [0u8; 32];
                for (i, byte) in self.0.iter().take(16).enumerate() {
                    out[2 * i] = DIGITS[usize::from(byte >> 4)];
                    out[2 * i + 1] = DIGITS[usize::from(byte & 0xf)];
                }
                f.write_str(std::str::from_utf8(&out[..2 * self.0.len().min(16)]).unwrap_or_default())
            }
        }
        Hex(&self.trace_id)
    }

    /// The `traceparent` of an outgoing call: this trace, a new span id (the
    /// client span, returned too), and the sampling decision.
    pub fn child_traceparent(&self) -> (String, [u8; 8]) {
        let span: [u8; 8] = random_id();
        let flags = if self.sampled { "01" } else { "00" };
        (format!("00-{}-{}-{flags}", crate::hex(&self.trace_id), crate::hex(&span)), span)
    }
}

/// A span id for a span of this process inside the current trace.
pub fn new_span_id() -> [u8; 8] {
    random_id()
}

/// `version-traceid-parentid-flags`, lower-case hex; all-zero ids, version
/// `ff` and a version 00 header with extra fields are invalid (W3C §3.2).
fn parse_traceparent(text: &str) -> Option<([u8; 16], [u8; 8], bool)> {
    let mut parts = text.trim().split('-');
    let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let extra = parts.next().is_some();
    if version.len() != 2 || version == "ff" || (version == "00" && extra) {
        return None;
    }
    from_hex::<1>(version)?;
    let trace_id = from_hex::<16>(trace)?;
    let parent_id = from_hex::<8>(parent)?;
    let flags = from_hex::<1>(flags)?;
    if trace_id == [0; 16] || parent_id == [0; 8] {
        return None;
    }
    Some((trace_id, parent_id, flags[0] & 1 == 1))
}

fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// A random, non-zero id. Trace and span ids must be unpredictable enough not
/// to collide, not secret: a per-thread generator seeded once from the OS
/// keeps two system calls off every request.
fn random_id<const N: usize>() -> [u8; N] {
    thread_local! {
        static STATE: std::cell::Cell<u64> = std::cell::Cell::new(seed());
    }
    let mut id = [0u8; N];
    STATE.with(|state| {
        for chunk in id.chunks_mut(8) {
            let next = splitmix64(state.get());
            state.set(next.0);
            chunk.copy_from_slice(&next.1.to_le_bytes()[..chunk.len()]);
        }
    });
    if id.iter().all(|b| *b == 0) {
        id[N - 1] = 1;
    }
    id
}

/// The generator's seed: the OS's randomness, or the clock if it fails.
fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_ok() {
        return u64::from_le_bytes(bytes);
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    nanos.as_nanos() as u64 ^ u64::from(std::process::id())
}

/// SplitMix64: (next state, output).
fn splitmix64(state: u64) -> (u64, u64) {
    let next = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = next;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (next, z ^ (z >> 31))
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
        let cx =
            TraceContext::from_headers(&headers("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assert_eq!(cx.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(cx.parent_id.map(|p| crate::hex(&p)).as_deref(), Some("00f067aa0ba902b7"));
        assert!(cx.sampled);
        let (child, span) = cx.child_traceparent();
        assert!(child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{child}");
        assert!(child.ends_with(&format!("{}-01", crate::hex(&span))), "{child}");
    }

    #[test]
    fn ids_are_distinct_and_displayed_as_hex() {
        let (a, b) = (TraceContext::start(), TraceContext::start());
        assert_ne!(a.trace_id, b.trace_id);
        assert_ne!(a.span_id, b.span_id);
        assert_eq!(a.trace_id_display().to_string(), a.trace_id_hex());
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
            assert_ne!(cx.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736", "{bad}");
        }
    }
}
