//! A software DBSC client (S62): what a browser with Device Bound Session
//! Credentials does, made here as `loadtest`'s software passkey is, so the
//! tests can drive registration and refresh against the real binary. An
//! ES256 (P-256) key, the draft's proof (a JWT of type `dbsc+jwt`), and the
//! headers of the W3C draft Chromium speaks (`Secure-Session-*`).

use crate::{Client, Resp};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use sekisho_policy::paths;

/// A browser's device-bound key.
pub struct SoftDbsc {
    key: SigningKey,
}

impl Default for SoftDbsc {
    fn default() -> Self {
        Self::new()
    }
}

impl SoftDbsc {
    pub fn new() -> SoftDbsc {
        let key = loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).unwrap();
            if let Ok(k) = SigningKey::from_bytes(&bytes.into()) {
                break k;
            }
        };
        SoftDbsc { key }
    }

    /// A proof over `challenge`, with the public key when registering.
    pub fn proof(&self, challenge: &str, with_key: bool) -> String {
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut header = serde_json::json!({ "alg": "ES256", "typ": "dbsc+jwt" });
        if with_key {
            header["jwk"] = serde_json::json!({
                "kty": "EC",
                "crv": "P-256",
                "x": B64.encode(point.x().unwrap()),
                "y": B64.encode(point.y().unwrap()),
            });
        }
        let signed = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(serde_json::json!({ "jti": challenge }).to_string())
        );
        let signature: Signature = self.key.sign(signed.as_bytes());
        format!("{signed}.{}", B64.encode(signature.to_bytes()))
    }

    /// Registers the session `client` signed in with, answering the
    /// `Secure-Session-Registration` header of `sign_in`.
    pub async fn register(&self, client: &mut Client, sign_in: &Resp) -> Resp {
        let (path, challenge) = registration(sign_in).expect("a registration header");
        assert_eq!(path, paths::DBSC_REGISTER);
        self.post_proof(client, &path, None, Some(&self.proof(&challenge, true)))
            .await
    }

    /// One refresh request: the session's id, and a proof when given.
    pub async fn post_proof(
        &self,
        client: &mut Client,
        path: &str,
        session_id: Option<&str>,
        proof: Option<&str>,
    ) -> Resp {
        let mut extra = Vec::new();
        if let Some(id) = session_id {
            extra.push(("sec-secure-session-id".to_string(), format!("\"{id}\"")));
        }
        if let Some(p) = proof {
            extra.push(("secure-session-response".to_string(), format!("\"{p}\"")));
        }
        client.extra.extend(extra.iter().cloned());
        let r = client.post_empty(path).await;
        client.extra.retain(|e| !extra.contains(e));
        r
    }

    /// A full refresh as a browser does it: asks, and answers the
    /// challenge a 403 gives (at most twice).
    pub async fn refresh(&self, client: &mut Client, session_id: &str) -> Resp {
        let mut r = self
            .post_proof(client, paths::DBSC_REFRESH, Some(session_id), None)
            .await;
        for _ in 0..2 {
            if r.status != 403 {
                break;
            }
            let challenge = challenge(&r).expect("a 403 carries a challenge");
            r = self
                .post_proof(
                    client,
                    paths::DBSC_REFRESH,
                    Some(session_id),
                    Some(&self.proof(&challenge, false)),
                )
                .await;
        }
        r
    }
}

/// The path and challenge of a `Secure-Session-Registration` header.
pub fn registration(r: &Resp) -> Option<(String, String)> {
    let value = r.header("secure-session-registration")?;
    assert!(value.starts_with("(ES256);"), "{value}");
    let param = |name: &str| {
        let marker = format!("{name}=\"");
        let start = value.find(&marker)? + marker.len();
        let end = value[start..].find('"')? + start;
        Some(value[start..end].to_string())
    };
    Some((param("path")?, param("challenge")?))
}

/// The challenge of a `Secure-Session-Challenge` header.
pub fn challenge(r: &Resp) -> Option<String> {
    let value = r.header("secure-session-challenge")?;
    let rest = value.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}
