//! The signed identity assertion sent upstream in `X-Auth-Assertion`: an
//! EdDSA (Ed25519) JWT, at most five minutes long, audience = the upstream,
//! with the public key published at `/.sekisho/jwks.json`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The claims of an assertion; the same values as the identity headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub email: String,
    pub tenant: String,
    pub role: String,
    pub plan: String,
    pub method: String,
    pub route: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<String>,
}

/// Signs assertions with the gateway's key.
pub struct Signer {
    key: EncodingKey,
    header: Header,
    jwks: String,
}

/// Writes a new private key (PKCS#8 PEM, mode 0600) to `path`; refuses to
/// overwrite an existing file.
pub fn generate_key_file(path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    if path.exists() {
        anyhow::bail!(
            "{} already exists; remove it first to replace the key",
            path.display()
        );
    }
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let bytes: [u8; 32] = crate::crypto::random_bytes(32)
        .try_into()
        .expect("32 bytes");
    let key = SigningKey::from_bytes(&bytes);
    let pem = key.to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(pem.as_bytes())?;
    Ok(())
}

impl Signer {
    /// Loads the key at `path`, generating it first when allowed.
    pub fn load(path: &Path, generate_if_missing: bool) -> anyhow::Result<Signer> {
        if !path.exists() && generate_if_missing {
            generate_key_file(path)?;
            tracing::info!(path = %path.display(), "generated a new assertion signing key");
        }
        let pem = std::fs::read_to_string(path).map_err(|e| {
            crate::error::InputError::error(format!(
                "assertion.signing_key_file: cannot read {}: {e}",
                path.display()
            ))
        })?;
        Signer::from_pem(&pem).map_err(|e| {
            crate::error::InputError::error(format!(
                "assertion.signing_key_file: {}: {e}",
                path.display()
            ))
        })
    }

    /// Builds a signer from a PKCS#8 PEM Ed25519 private key.
    pub fn from_pem(pem: &str) -> anyhow::Result<Signer> {
        let signing = SigningKey::from_pkcs8_pem(pem)
            .map_err(|e| anyhow::anyhow!("not an Ed25519 PKCS#8 key: {e}"))?;
        let public = signing.verifying_key().to_bytes();
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(public)[..12]);
        let key = EncodingKey::from_ed_pem(pem.as_bytes())?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        let jwks = serde_json::json!({
            "keys": [{ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": URL_SAFE_NO_PAD.encode(public) }]
        })
        .to_string();
        Ok(Signer { key, header, jwks })
    }

    /// Also publishes the public keys of the PEM files `others` (by their
    /// config keys) in the JWKS, after the signing key: during a rotation
    /// the storage service knows the next key before it signs, and the
    /// previous one until its last assertion has expired.
    pub fn also_publishing(mut self, others: &[std::path::PathBuf]) -> anyhow::Result<Signer> {
        let mut jwks: serde_json::Value = serde_json::from_str(&self.jwks)?;
        let keys = jwks["keys"].as_array_mut().expect("a JWKS has keys");
        for (i, file) in others.iter().enumerate() {
            let key = format!("assertion.also_publish_key_files[{i}]");
            let pem = std::fs::read_to_string(file).map_err(|e| {
                crate::error::InputError::error(format!(
                    "{key}: cannot read {}: {e}",
                    file.display()
                ))
            })?;
            let other = Signer::from_pem(&pem).map_err(|e| {
                crate::error::InputError::error(format!("{key}: {}: {e}", file.display()))
            })?;
            let theirs: serde_json::Value = serde_json::from_str(&other.jwks)?;
            let jwk = theirs["keys"][0].clone();
            if !keys.iter().any(|k| k["kid"] == jwk["kid"]) {
                keys.push(jwk);
            }
        }
        self.jwks = jwks.to_string();
        Ok(self)
    }

    pub fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&self.header, claims, &self.key)
            .expect("signing with a loaded Ed25519 key")
    }

    /// The JWK Set served at `/.sekisho/jwks.json`.
    pub fn jwks(&self) -> &str {
        &self.jwks
    }

    pub fn kid(&self) -> &str {
        self.header.kid.as_deref().unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn signs_and_publishes_a_verifiable_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let signer = Signer::load(&path, true).unwrap();
        assert!(generate_key_file(&path).is_err(), "never overwrites");
        let claims = Claims {
            iss: "https://ff.example.net".into(),
            sub: "u1".into(),
            aud: "storage".into(),
            iat: 1,
            exp: 4_000_000_000,
            email: "a@example.jp".into(),
            tenant: "t1".into(),
            role: "user".into(),
            plan: "basic".into(),
            method: "password".into(),
            route: "internet".into(),
            line: None,
        };
        let token = signer.sign(&claims);
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(signer.jwks()).unwrap();
        let jwk = jwks.find(signer.kid()).unwrap();
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&["storage"]);
        let decoded =
            jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
                .unwrap();
        assert_eq!(decoded.claims, claims);
        assert_eq!(
            Signer::load(&path, false).unwrap().kid(),
            signer.kid(),
            "same key after reload"
        );
    }

    #[test]
    fn a_rotation_publishes_both_keys_and_signs_with_one() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.pem");
        let new = dir.path().join("new.pem");
        let previous = Signer::load(&old, true).unwrap();
        let next_kid = Signer::load(&new, true).unwrap().kid().to_string();
        // Phase 1: sign with the old key, publish the new one too.
        let signer = Signer::load(&old, false)
            .unwrap()
            .also_publishing(&[new.clone(), new.clone(), old.clone()])
            .unwrap();
        assert_eq!(signer.kid(), previous.kid());
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(signer.jwks()).unwrap();
        let kids: Vec<_> = jwks
            .keys
            .iter()
            .map(|k| k.common.key_id.clone().unwrap())
            .collect();
        assert_eq!(
            kids,
            vec![previous.kid().to_string(), next_kid],
            "each key once, the signing key first"
        );
        // A file that is not a key is refused by its key.
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not a key").unwrap();
        let err = Signer::load(&old, false)
            .unwrap()
            .also_publishing(&[bad])
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("assertion.also_publish_key_files[0]"),
            "{err}"
        );
    }
}
