//! The SMS carrier's stand-in: a local HTTP server speaking the generic
//! JSON API the gateway's adapter is configured for. It records every
//! message (and the credential it came with) and can be told to fail.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The credential the gateway is configured to send.
pub const SMS_TOKEN: &str = "Bearer sms-test-credential";

/// One message as the provider received it.
#[derive(Debug, Clone)]
pub struct Sms {
    pub to: String,
    pub text: String,
    pub authorization: String,
}

impl Sms {
    /// The six-digit code in the text.
    pub fn code(&self) -> String {
        let digits: Vec<char> = self.text.chars().collect();
        digits
            .windows(6)
            .find(|w| w.iter().all(|c| c.is_ascii_digit()))
            .map(|w| w.iter().collect())
            .unwrap_or_else(|| panic!("no code in {:?}", self.text))
    }
}

pub struct SmsProvider {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Sms>>>,
    /// Status to answer with (200 unless a test says otherwise).
    status: Arc<AtomicU16>,
    task: tokio::task::JoinHandle<()>,
    /// Holds the credential file the gateway reads.
    dir: tempfile::TempDir,
}

impl SmsProvider {
    pub async fn start() -> SmsProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Sms>>> = Arc::default();
        let status = Arc::new(AtomicU16::new(200));
        let (seen2, status2) = (seen.clone(), status.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (seen, status) = (seen2.clone(), status2.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (seen, status) = (seen.clone(), status.clone());
                        async move { Ok::<_, hyper::Error>(handle(req, seen, status).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        SmsProvider {
            addr,
            seen,
            status,
            task,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The `[sms]` table pointing the gateway here, with the credential
    /// in a file of its own.
    pub fn config(&self) -> String {
        let secret = self.dir.path().join("sms-credential");
        std::fs::write(&secret, format!("{SMS_TOKEN}\n")).unwrap();
        format!(
            "[sms]\ntransport = \"http\"\n[sms.http]\nurl = \"http://{}/v1/messages\"\nauth_secret_file = \"{}\"\nbody = '{{\"to\":\"{{{{to}}}}\",\"text\":\"{{{{text}}}}\"}}'\ntimeout_ms = 2000\n",
            self.addr,
            secret.display()
        )
    }

    pub fn messages(&self) -> Vec<Sms> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits for the `n`-th message (1-based) to `to`.
    pub fn wait_for(&self, to: &str, n: usize) -> Sms {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let to_them: Vec<Sms> = self.messages().into_iter().filter(|m| m.to == to).collect();
            if to_them.len() >= n {
                return to_them[n - 1].clone();
            }
            assert!(
                Instant::now() < deadline,
                "no SMS #{n} to {to}: {:?}",
                self.messages()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Answers every later message with `status`.
    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}

impl Drop for SmsProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    req: Request<Incoming>,
    seen: Arc<Mutex<Vec<Sms>>>,
    status: Arc<AtomicU16>,
) -> Response<Full<Bytes>> {
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    let json: serde_json::Value = body
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let code = status.load(Ordering::SeqCst);
    if code == 200 {
        seen.lock().unwrap().push(Sms {
            to: json["to"].as_str().unwrap_or("").to_string(),
            text: json["text"].as_str().unwrap_or("").to_string(),
            authorization,
        });
    }
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{\"ok\":true}")))
        .unwrap()
}
