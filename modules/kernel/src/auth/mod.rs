//! Access-token verification shared by every module: claims, roles, the key
//! cache fed by the auth module's JWKS, and the `AuthUser` extractor.

mod claims;
mod extractor;
mod verifier;

pub use claims::{AccessClaims, Role};
pub use extractor::AuthUser;
pub use verifier::{KeySource, TokenVerifier};

/// The only signing algorithm accepted: tokens naming another are rejected.
pub const ALGORITHM: jsonwebtoken::Algorithm = jsonwebtoken::Algorithm::EdDSA;
