//! A Facebook-like OAuth 2.0 endpoint on loopback: its dialog answers at
//! once for the person the test names, its token endpoint checks the code
//! (once) and the PKCE verifier, and `/me` says who the token is for.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    next_user: String,
    /// code → (user, PKCE challenge)
    codes: HashMap<String, (String, String)>,
    issued: u64,
}

pub struct FakeFacebook {
    pub base: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

fn query(uri: &hyper::Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

async fn handle(req: Request<Incoming>, state: Arc<Mutex<State>>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let respond = |status: u16, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    match path.as_str() {
        "/dialog/oauth" => {
            let q = query(req.uri());
            let mut s = state.lock().unwrap();
            s.issued += 1;
            let code = format!("fb-code-{}", s.issued);
            let user = s.next_user.clone();
            let challenge = q.get("code_challenge").cloned().unwrap_or_default();
            s.codes.insert(code.clone(), (user, challenge));
            let location = format!(
                "{}?code={code}&state={}",
                q.get("redirect_uri").cloned().unwrap_or_default(),
                q.get("state").cloned().unwrap_or_default()
            );
            Response::builder()
                .status(302)
                .header("location", location)
                .body(Full::new(Bytes::new()))
                .unwrap()
        }
        "/oauth/access_token" => {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let form: HashMap<String, String> =
                form_urlencoded::parse(&body).into_owned().collect();
            let code = form.get("code").cloned().unwrap_or_default();
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let found = state.lock().unwrap().codes.remove(&code);
            match found {
                Some((user, challenge))
                    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge =>
                {
                    respond(
                        200,
                        format!(
                            r#"{{"access_token":"tok-{user}","token_type":"bearer","expires_in":3600}}"#
                        ),
                    )
                }
                _ => respond(400, r#"{"error":"invalid_grant"}"#.into()),
            }
        }
        "/me" => {
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            match auth.strip_prefix("Bearer tok-") {
                Some(user) => respond(200, format!(r#"{{"id":"fb-{user}","name":"{user}"}}"#)),
                None => respond(401, r#"{"error":"no token"}"#.into()),
            }
        }
        _ => respond(404, "{}".into()),
    }
}

impl FakeFacebook {
    pub async fn start() -> FakeFacebook {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state: Arc<Mutex<State>> = Arc::default();
        let st = state.clone();
        let task = crate::serve::http1(listener, move |req| handle(req, st.clone()));
        FakeFacebook { base, state, task }
    }

    /// Who signs in at the next dialog.
    pub fn next_user(&self, user: &str) {
        self.state.lock().unwrap().next_user = user.to_string();
    }

    /// The `[federation.facebook]` table for it; the secret goes to `dir`.
    pub fn config(&self, dir: &std::path::Path) -> String {
        let secret = dir.join("facebook-secret");
        std::fs::write(&secret, "fb-secret").unwrap();
        format!(
            "[federation.facebook]\nclient_id = \"fb-app\"\nclient_secret_file = \"{}\"\nauthorize_url = \"{b}/dialog/oauth\"\ntoken_url = \"{b}/oauth/access_token\"\nuser_url = \"{b}/me\"\n",
            secret.display(),
            b = self.base
        )
    }
}

impl Drop for FakeFacebook {
    fn drop(&mut self) {
        self.task.abort();
    }
}
