//! The built-in demo upstream: a tiny page that shows the identity headers it
//! received and whether the assertion verified against the gateway's key —
//! what a real storage service would check. Only in the demo configuration.

use crate::assertion::Claims;
use async_trait::async_trait;
use http::Response;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use sekisho_policy::paths;

pub struct DemoUpstream {
    key: DecodingKey,
    audience: String,
    issuer: String,
    service: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl DemoUpstream {
    pub fn new(
        jwks: &str,
        audience: &str,
        issuer: &str,
        service: &str,
    ) -> anyhow::Result<DemoUpstream> {
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(jwks)?;
        let jwk = set
            .keys
            .first()
            .ok_or_else(|| anyhow::anyhow!("empty key set"))?;
        Ok(DemoUpstream {
            key: DecodingKey::from_jwk(jwk)?,
            audience: audience.to_string(),
            issuer: issuer.to_string(),
            service: service.to_string(),
        })
    }

    fn verify(&self, token: &str) -> Result<Claims, String> {
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&[&self.audience]);
        v.set_issuer(&[&self.issuer]);
        jsonwebtoken::decode::<Claims>(token, &self.key, &v)
            .map(|d| d.claims)
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl ServeHttp for DemoUpstream {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let mut received = 0usize;
        while let Ok(Some(chunk)) = session.read_request_body().await {
            received += chunk.len();
        }
        let req = session.req_header();
        let header = |n: &str| {
            req.headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let mut rows = String::new();
        for name in sekisho_policy::headers::IDENTITY_HEADERS {
            let value = header(name);
            let shown = if name == "x-auth-assertion" && value.len() > 40 {
                format!("{}…", &value[..40])
            } else {
                value
            };
            rows.push_str(&format!(
                "<tr><th>{name}</th><td>{}</td></tr>",
                escape(&shown)
            ));
        }
        let verdict = match self.verify(&header("x-auth-assertion")) {
            Ok(c) if c.sub == header("x-auth-user") && c.email == header("x-auth-email") => {
                "✅ 署名を検証しました (signature verified, claims match the headers)".to_string()
            }
            Ok(_) => {
                "❌ 署名は正しいがヘッダーと一致しません (claims differ from headers)".to_string()
            }
            Err(e) => format!("❌ 検証できません (not verified): {}", escape(&e)),
        };
        let body = format!(
            "<!doctype html><html lang=\"ja\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
             <title>{service} (demo upstream)</title>\
             <style>body{{font:16px/1.6 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}}\
             th{{text-align:left;padding-right:1rem}}td{{word-break:break-all}}</style>\
             <h1>{service} — デモ用ストレージ画面</h1>\
             <p>ゲートウェイから受け取った本人情報 (identity received from Sekisho) for <code>{method} {path}</code>{upload}:</p>\
             <table>{rows}</table><p>{verdict}</p>\
             <p><a href=\"/files/demo?page=2\">別のページ (another page)</a> · <a href=\"{logout}\">ログアウト (log out)</a></p>",
            service = escape(&self.service),
            logout = paths::LOGOUT,
            method = escape(req.method.as_str()),
            path = escape(&req.uri.to_string()),
            upload = if received > 0 { format!(" ({received} bytes received)") } else { String::new() },
        );
        Response::builder()
            .status(200)
            .header("content-type", "text/html; charset=utf-8")
            .header("content-length", body.len().to_string())
            .header("cache-control", "no-store")
            .body(body.into_bytes())
            .expect("static response parts")
    }
}
