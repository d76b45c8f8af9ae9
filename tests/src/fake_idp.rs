//! A fake OpenID provider inside the tests, for the ID tokens a real one
//! never sends (SECURITY S36): it serves discovery and its JWKS, and its
//! token endpoint answers with whatever token the test set next.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub struct FakeIdp {
    pub issuer: String,
    /// The RSA key's PEM (private) and the public key's PEM.
    private_pem: Vec<u8>,
    pub public_pem: Vec<u8>,
    next_token: Arc<Mutex<String>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

fn openssl(args: &[&str], dir: &std::path::Path) -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl {args:?} failed");
    out.stdout
}

/// How the provider describes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// RS256 only, a `kid` on its key, public subjects.
    Plain,
    /// As public descriptions of docomo's d ACCOUNT Connect list: the code
    /// flow only, no PKCE metadata, pairwise subjects, ID tokens in HS256
    /// (the client secret) or RS256, a JWKS key without `kid`, and no
    /// end-session endpoint.
    Daccount,
}

impl FakeIdp {
    pub async fn start() -> FakeIdp {
        FakeIdp::start_shaped(Shape::Plain).await
    }

    pub async fn start_shaped(shape: Shape) -> FakeIdp {
        let dir = tempfile::tempdir().unwrap();
        openssl(&["genrsa", "-out", "key.pem", "2048"], dir.path());
        let private_pem = std::fs::read(dir.path().join("key.pem")).unwrap();
        let public_pem = openssl(&["rsa", "-in", "key.pem", "-pubout"], dir.path());
        let modulus = String::from_utf8(openssl(
            &["rsa", "-in", "key.pem", "-noout", "-modulus"],
            dir.path(),
        ))
        .unwrap();
        let n_hex = modulus.trim().trim_start_matches("Modulus=");
        let n = hex_bytes(n_hex);
        let mut key = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1",
            "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB",
        });
        if shape == Shape::Daccount {
            key.as_object_mut().unwrap().remove("kid");
        }
        let jwks = json!({ "keys": [key] });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let issuer = format!("http://{addr}");
        let (subjects, algs) = match shape {
            Shape::Plain => (json!(["public"]), json!(["RS256"])),
            Shape::Daccount => (json!(["pairwise"]), json!(["HS256", "RS256"])),
        };
        let discovery = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/auth"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": subjects,
            "id_token_signing_alg_values_supported": algs,
        });
        let next_token = Arc::new(Mutex::new(String::new()));
        let (d, j, t) = (discovery.to_string(), jwks.to_string(), next_token.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (d, j, t) = (d.clone(), j.clone(), t.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let body = match req.uri().path() {
                            "/.well-known/openid-configuration" => d.clone(),
                            "/jwks" => j.clone(),
                            "/token" => json!({
                                "access_token": "at", "token_type": "Bearer",
                                "expires_in": 60, "id_token": t.lock().unwrap().clone(),
                            })
                            .to_string(),
                            _ => String::new(),
                        };
                        async move {
                            Ok::<_, hyper::Error>(
                                Response::builder()
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(body)))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeIdp {
            issuer,
            private_pem,
            public_pem,
            next_token,
            task,
            _dir: dir,
        }
    }

    /// Claims of a correct token for `client_id` and `nonce`.
    pub fn claims(&self, client_id: &str, nonce: &str, now: i64) -> Value {
        json!({
            "iss": self.issuer, "sub": "mallory", "aud": client_id,
            "iat": now, "exp": now + 300, "nonce": nonce,
        })
    }

    /// Signs `claims` with RS256 and kid `kid`.
    pub fn sign_rs256(&self, claims: &Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(&self.private_pem).unwrap(),
        )
        .unwrap()
    }

    /// An HS256 token keyed with the provider's public key (the classic
    /// algorithm confusion).
    pub fn sign_hs256_with_public_key(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&self.public_pem)).unwrap()
    }

    /// RS256 with no `kid` in the header (d ACCOUNT's key has none).
    pub fn sign_rs256_without_kid(&self, claims: &Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            claims,
            &EncodingKey::from_rsa_pem(&self.private_pem).unwrap(),
        )
        .unwrap()
    }

    /// HS256 under `secret`: the client secret, as d ACCOUNT signs.
    pub fn sign_hs256_with_secret(&self, claims: &Value, secret: &str) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    /// An unsigned token (`alg: none`).
    pub fn unsigned(&self, claims: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"k1"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{header}.{payload}.")
    }

    /// What the token endpoint answers next.
    pub fn answer_with(&self, token: String) {
        *self.next_token.lock().unwrap() = token;
    }
}

impl Drop for FakeIdp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
