//! Security headers every response carries (contract, "Response headers"):
//! `nosniff` everywhere; on the Swagger UI pages, a Content-Security-Policy
//! that allows only its own bundled assets, and no framing. Responses that
//! carry tokens set `Cache-Control: no-store` in their handlers ([`NO_STORE`]).

use actix_web::http::header::{self, HeaderMap, HeaderValue};

/// `Cache-Control` of a response that carries credentials.
pub const NO_STORE: (header::HeaderName, HeaderValue) =
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));

/// The Swagger UI's assets are served from this process; its styles are set
/// inline by its script, and its icons are data URIs.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub fn add_security_headers(path: &str, headers: &mut HeaderMap) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if path == "/docs" || path.starts_with("/docs/") {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}
