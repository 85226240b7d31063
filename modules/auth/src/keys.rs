//! The Ed25519 key that signs access tokens, and its public half as a JWK.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::EncodingKey;
use sha2::{Digest, Sha256};

pub struct SigningKeys {
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwks: JwkSet,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

impl SigningKeys {
    /// Loads the PKCS#8 PEM at `path`. When it is missing and `generate` is
    /// set (development), makes a new key and saves it there, readable by the owner only.
    pub fn load(path: &Path, generate: bool) -> Result<Self, KeyError> {
        let pem = match std::fs::read_to_string(path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && generate => {
                let pem = generate_pem()?;
                save_private(path, &pem)?;
                tracing::info!(path = %path.display(), "generated a development signing key");
                pem
            }
            Err(e) => {
                return Err(KeyError(format!("auth.signing_key_file: cannot read {}: {e}", path.display())))
            }
        };
        Self::from_pem(&pem).map_err(|e| KeyError(format!("auth.signing_key_file: {}", e.0)))
    }

    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (kid, jwk) = public_jwk(pem)?;
        let encoding = EncodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| KeyError(e.to_string()))?;
        Ok(Self { kid, encoding, jwks: JwkSet { keys: vec![jwk] } })
    }

    /// Publishes the public halves of the keys rotated out (never signs with
    /// them), so the tokens they signed keep verifying until they expire.
    pub fn with_previous(mut self, paths: &[String]) -> Result<Self, KeyError> {
        for path in paths {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| KeyError(format!("auth.previous_key_files: cannot read {path}: {e}")))?;
            let (kid, jwk) = public_jwk(&pem).map_err(|e| KeyError(format!("{path}: {}", e.0)))?;
            if !self.jwks.keys.iter().any(|known| known.common.key_id.as_deref() == Some(kid.as_str())) {
                self.jwks.keys.push(jwk);
            }
        }
        Ok(self)
    }
}

/// The key id (derived from the public key) and the public JWK of a PKCS#8 PEM.
fn public_jwk(pem: &str) -> Result<(String, Jwk), KeyError> {
    let key = SigningKey::from_pkcs8_pem(pem)
        .map_err(|e| KeyError(format!("not an Ed25519 PKCS#8 private key: {e}")))?;
    let public = key.verifying_key().to_bytes();
    let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(public)[..12]);
    let jwk: Jwk = serde_json::from_value(serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(public),
        "kid": kid,
        "use": "sig",
        "alg": "EdDSA",
    }))
    .map_err(|e| KeyError(e.to_string()))?;
    Ok((kid, jwk))
}

/// A fresh Ed25519 private key as PKCS#8 PEM.
pub fn generate_pem() -> Result<String, KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError(format!("no randomness: {e}")))?;
    let pem =
        SigningKey::from_bytes(&seed).to_pkcs8_pem(LineEnding::LF).map_err(|e| KeyError(e.to_string()))?;
    Ok(pem.to_string())
}

fn save_private(path: &Path, pem: &str) -> Result<(), KeyError> {
    use std::io::Write as _;
    let fail = |e: std::io::Error| KeyError(format!("cannot write {}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).and_then(|mut f| f.write_all(pem.as_bytes())).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_saved_once_and_reloaded_with_the_same_kid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/key.pem");
        let first = SigningKeys::load(&path, true).expect("generate");
        let again = SigningKeys::load(&path, true).expect("reload");
        assert_eq!(first.kid, again.kid);
        assert_eq!(first.jwks.keys.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "the private key must not be readable by others");
        }
    }

    #[test]
    fn a_missing_key_is_an_error_when_generation_is_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = SigningKeys::load(&dir.path().join("absent.pem"), false).err().expect("missing");
        assert!(err.to_string().contains("absent.pem"));
    }
}
