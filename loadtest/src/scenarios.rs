//! The scenarios. Every loop is bounded by a deadline and a request budget,
//! and stops by itself.
//!
//! * `browse`: authenticated GETs, each with the next of many session
//!   cookies (one cookie would measure a cache, not the gateway).
//! * `login`: the login page, the credentials with its CSRF token, the
//!   authenticator app's code for users with two-step verification, then
//!   the page the login leads to.
//! * `passkey-login`: the login page, a passkey challenge, the software
//!   passkey's signed answer, then the page the login leads to.
//! * `mixed`: a login flood beside steady browsing; measured separately.
//! * `upload` / `download`: large bodies streamed through.
//! * `idle`: many keep-alive connections opened and held.

use crate::http::{self, HttpClient};
use crate::pacing;
use crate::stats::{Recorder, Summary};
use sekisho_policy::paths;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where requests go and with what.
pub struct Target {
    pub base: String,
    pub host: Option<String>,
    pub path: String,
    pub cookie_name: String,
    pub cookies: Vec<String>,
    pub users: Vec<crate::two_step::User>,
    pub passkeys: Vec<crate::passkey::SoftPasskey>,
    /// Each user's browser (its device cookie), kept across logins.
    pub browsers: Browsers,
}

/// Each user's browser, as people sign in from the same one day after day:
/// the gateway's long-lived device cookie, kept per user from the user's
/// first login on. Only that first login is from a new browser (and gets
/// the user S63's mail), as in use; without it every login of the run
/// would mail its user.
#[derive(Default)]
pub struct Browsers(std::sync::Mutex<std::collections::HashMap<String, String>>);

impl Browsers {
    /// `cookie` with the user's device cookie added, once the user has one.
    fn with_device(&self, t: &Target, who: &str, cookie: &str) -> String {
        let known = self.0.lock().ok().and_then(|m| m.get(who).cloned());
        match known {
            Some(device) => format!("{cookie}; {}-device={device}", t.cookie_name),
            None => cookie.to_string(),
        }
    }

    /// Keeps the device cookie a sign-in's answer set (renewed each time).
    fn keep(&self, t: &Target, who: &str, resp: &hyper::Response<hyper::body::Incoming>) {
        if let Some(device) = http::set_cookie(resp, &format!("{}-device", t.cookie_name)) {
            if let Ok(mut m) = self.0.lock() {
                m.insert(who.to_string(), device);
            }
        }
    }
}

/// How hard and for how long.
#[derive(Clone, Copy)]
pub struct Load {
    pub concurrency: usize,
    /// Fixed rate (requests/second); `None` is closed loop.
    pub rate: Option<f64>,
    pub duration: Duration,
    pub max_requests: u64,
}

fn status_error(code: u16) -> String {
    format!("status_{code}")
}

/// One authenticated GET.
async fn browse_once(
    client: &HttpClient,
    t: &Target,
    n: usize,
    rec: &mut Recorder,
    started: Instant,
) {
    let cookie = (!t.cookies.is_empty())
        .then(|| format!("{}={}", t.cookie_name, t.cookies[n % t.cookies.len()]));
    let url = format!("{}{}", t.base, t.path);
    let req = http::request(
        "GET",
        &url,
        t.host.as_deref(),
        cookie.as_deref(),
        http::empty(),
    );
    match tokio::time::timeout(Duration::from_secs(30), client.request(req)).await {
        Ok(Ok(resp)) => {
            let code = resp.status().as_u16();
            match http::read_body(resp, 0).await {
                Ok(_) if code == 200 => rec.ok(started.elapsed()),
                Ok(_) => rec.error(status_error(code)),
                Err(_) => rec.error("body"),
            }
        }
        Ok(Err(_)) => rec.error("connect_or_io"),
        Err(_) => rec.error("timeout"),
    }
}

/// One full password login (with the authenticator app's code when the
/// user has two-step verification) and the first page after it.
async fn login_once(client: &HttpClient, t: &Target, n: usize, rec: &mut Recorder) {
    let Some(user) = crate::two_step::pick(&t.users, n).await else {
        rec.error("no_user_free_this_totp_step");
        return;
    };
    let started = Instant::now();
    let result = async {
        let (email, password) = (&user.email, &user.password);
        let pre_name = format!("{}-pre", t.cookie_name);
        let resp = client
            .request(http::request(
                "GET",
                &format!("{}/.sekisho/login", t.base),
                t.host.as_deref(),
                None,
                http::empty(),
            ))
            .await
            .map_err(|_| "connect_or_io")?;
        let pre = http::set_cookie(&resp, &pre_name).ok_or("no_pre_session")?;
        let (_, page) = http::read_body(resp, 64 * 1024).await.map_err(|_| "body")?;
        let csrf = http::hidden(&page, "csrf").ok_or("no_csrf")?;
        let body = http::form(&[
            ("csrf", &csrf),
            ("email", email),
            ("password", password),
            ("next", &t.path),
        ]);
        let cookie = t
            .browsers
            .with_device(t, email, &format!("{pre_name}={pre}"));
        let resp = client
            .request(
                http::request(
                    "POST",
                    &format!("{}/.sekisho/login", t.base),
                    t.host.as_deref(),
                    Some(&cookie),
                    body,
                )
                .map(|b| b),
            )
            .await
            .map_err(|_| "connect_or_io")?;
        t.browsers.keep(t, email, &resp);
        let code = resp.status().as_u16();
        let session = http::set_cookie(&resp, &t.cookie_name);
        let pending = http::set_cookie(&resp, &format!("{}-2fa", t.cookie_name));
        http::read_body(resp, 0).await.map_err(|_| "body")?;
        if code == 503 {
            return Err("busy_503");
        }
        let session = match (session, pending, &user.secret) {
            (Some(s), _, _) => s,
            (None, Some(pending), Some(secret)) => {
                crate::two_step::pass(
                    client,
                    &t.base,
                    t.host.as_deref(),
                    &t.cookie_name,
                    &pre,
                    &pending,
                    secret,
                )
                .await?
            }
            (None, Some(_), None) => return Err("second_step_without_secret"),
            (None, None, _) => return Err("login_refused"),
        };
        after_login(client, t, &session).await
    };
    record_login(rec, started, result).await;
}

/// The page a login leads to, with its new session: 200, or the error.
async fn after_login(client: &HttpClient, t: &Target, session: &str) -> Result<(), &'static str> {
    let cookie = format!("{}={session}", t.cookie_name);
    let resp = client
        .request(http::request(
            "GET",
            &format!("{}{}", t.base, t.path),
            t.host.as_deref(),
            Some(&cookie),
            http::empty(),
        ))
        .await
        .map_err(|_| "connect_or_io")?;
    let code = resp.status().as_u16();
    http::read_body(resp, 0).await.map_err(|_| "body")?;
    if code != 200 {
        return Err("after_login_not_200");
    }
    Ok(())
}

/// Waits for one login (at most a minute) and records how it ended.
async fn record_login(
    rec: &mut Recorder,
    started: Instant,
    login: impl std::future::Future<Output = Result<(), &'static str>>,
) {
    match tokio::time::timeout(Duration::from_secs(60), login).await {
        Ok(Ok(())) => rec.ok(started.elapsed()),
        Ok(Err(kind)) => rec.error(kind),
        Err(_) => rec.error("timeout"),
    }
}

/// One passkey sign-in, as the login page's button makes it, and the
/// first page after it.
async fn passkey_login_once(client: &HttpClient, t: &Target, n: usize, rec: &mut Recorder) {
    let passkey = &t.passkeys[n % t.passkeys.len()];
    let started = Instant::now();
    let result = async {
        let pre_name = format!("{}-pre", t.cookie_name);
        let call = |method: &'static str, path: &str, cookie: Option<&str>, body| {
            client.request(http::request(
                method,
                &format!("{}{path}", t.base),
                t.host.as_deref(),
                cookie,
                body,
            ))
        };
        let resp = call("GET", paths::LOGIN, None, http::empty())
            .await
            .map_err(|_| "connect_or_io")?;
        let pre = http::set_cookie(&resp, &pre_name).ok_or("no_pre_session")?;
        let (_, page) = http::read_body(resp, 64 * 1024).await.map_err(|_| "body")?;
        let csrf = http::hidden(&page, "csrf").ok_or("no_csrf")?;
        let cookie = format!("{pre_name}={pre}");
        let resp = call(
            "POST",
            paths::PASSKEY_LOGIN_OPTIONS,
            Some(&cookie),
            http::form(&[("csrf", &csrf)]),
        )
        .await
        .map_err(|_| "connect_or_io")?;
        if resp.status() != 200 {
            return Err("no_challenge");
        }
        let (_, body) = http::read_body(resp, 64 * 1024).await.map_err(|_| "body")?;
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|_| "odd_challenge")?;
        let (Some(id), Some(challenge)) = (
            v["challenge"].as_str(),
            v["options"]["publicKey"]["challenge"].as_str(),
        ) else {
            return Err("odd_challenge");
        };
        let signing_in = t.browsers.with_device(t, &passkey.email, &cookie);
        let resp = call(
            "POST",
            paths::PASSKEY_LOGIN,
            Some(&signing_in),
            http::form(&[
                ("csrf", &csrf),
                ("challenge", id),
                ("credential", &passkey.assertion(challenge)),
                ("next", &t.path),
            ]),
        )
        .await
        .map_err(|_| "connect_or_io")?;
        let session = http::set_cookie(&resp, &t.cookie_name);
        t.browsers.keep(t, &passkey.email, &resp);
        http::read_body(resp, 0).await.map_err(|_| "body")?;
        let session = session.ok_or("passkey_refused")?;
        after_login(client, t, &session).await
    };
    record_login(rec, started, result).await;
}

/// One streamed upload (PUT) of `bytes`.
async fn upload_once(client: &HttpClient, t: &Target, bytes: u64, n: usize, rec: &mut Recorder) {
    let started = Instant::now();
    let cookie = (!t.cookies.is_empty())
        .then(|| format!("{}={}", t.cookie_name, t.cookies[n % t.cookies.len()]));
    let req = http::request(
        "PUT",
        &format!("{}{}", t.base, t.path),
        t.host.as_deref(),
        cookie.as_deref(),
        http::Stream::body(bytes),
    );
    match client.request(req).await {
        Ok(resp) if resp.status().is_success() => match http::read_body(resp, 0).await {
            Ok(_) => rec.ok(started.elapsed()),
            Err(_) => rec.error("body"),
        },
        Ok(resp) => rec.error(status_error(resp.status().as_u16())),
        Err(_) => rec.error("connect_or_io"),
    }
}

/// One streamed download; counts an error unless at least `expect` bytes came.
async fn download_once(client: &HttpClient, t: &Target, expect: u64, n: usize, rec: &mut Recorder) {
    let started = Instant::now();
    let cookie = (!t.cookies.is_empty())
        .then(|| format!("{}={}", t.cookie_name, t.cookies[n % t.cookies.len()]));
    let req = http::request(
        "GET",
        &format!("{}{}", t.base, t.path),
        t.host.as_deref(),
        cookie.as_deref(),
        http::empty(),
    );
    match client.request(req).await {
        Ok(resp) if resp.status().is_success() => match http::read_body(resp, 0).await {
            Ok((got, _)) if got >= expect => rec.ok(started.elapsed()),
            Ok(_) => rec.error("short_body"),
            Err(_) => rec.error("body"),
        },
        Ok(resp) => rec.error(status_error(resp.status().as_u16())),
        Err(_) => rec.error("connect_or_io"),
    }
}

#[derive(Clone, Copy)]
pub enum Kind {
    Browse,
    Login,
    PasskeyLogin,
    Upload(u64),
    Download(u64),
}

/// Runs `kind` under `load` against `target`; returns the summary.
pub async fn run(name: &str, kind: Kind, target: Arc<Target>, load: Load) -> Summary {
    let client = http::client(load.concurrency.max(8));
    let started = Instant::now();
    let deadline = started + load.duration;
    let next = Arc::new(AtomicUsize::new(0));
    let budget = Arc::new(AtomicU64::new(load.max_requests));
    let total = match load.rate {
        None => closed_loop(kind, &client, &target, load, deadline, next, budget).await,
        Some(rate) => open_loop(kind, &client, &target, load, rate, started).await,
    };
    if total.error_count() > 0 {
        eprintln!("{name}: {} errors: {:?}", total.error_count(), total.errors);
    }
    total.summary(name, started.elapsed())
}

async fn one(
    kind: Kind,
    client: &HttpClient,
    t: &Target,
    n: usize,
    rec: &mut Recorder,
    started: Instant,
) {
    match kind {
        Kind::Browse => browse_once(client, t, n, rec, started).await,
        Kind::Login => login_once(client, t, n, rec).await,
        Kind::PasskeyLogin => passkey_login_once(client, t, n, rec).await,
        Kind::Upload(bytes) => upload_once(client, t, bytes, n, rec).await,
        Kind::Download(bytes) => download_once(client, t, bytes, n, rec).await,
    }
}

async fn closed_loop(
    kind: Kind,
    client: &HttpClient,
    target: &Arc<Target>,
    load: Load,
    deadline: Instant,
    next: Arc<AtomicUsize>,
    budget: Arc<AtomicU64>,
) -> Recorder {
    let mut tasks = Vec::new();
    for _ in 0..load.concurrency {
        let (client, target, next, budget) =
            (client.clone(), target.clone(), next.clone(), budget.clone());
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::default();
            while Instant::now() < deadline
                && budget
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
                    .is_ok()
            {
                let n = next.fetch_add(1, Ordering::Relaxed);
                one(kind, &client, &target, n, &mut rec, Instant::now()).await;
            }
            rec
        }));
    }
    let mut total = Recorder::default();
    for t in tasks {
        if let Ok(rec) = t.await {
            total.merge(&rec);
        }
    }
    total
}

async fn open_loop(
    kind: Kind,
    client: &HttpClient,
    target: &Arc<Target>,
    load: Load,
    rate: f64,
    started: Instant,
) -> Recorder {
    let planned = pacing::planned_requests(load.duration, rate, load.max_requests);
    // A fixed pool of workers, each with one histogram, takes requests off
    // the schedule; when all are busy the schedule waits in the queue and
    // that wait counts as latency (measured from the intended start).
    let (tx, rx) = tokio::sync::mpsc::channel::<(u64, Instant)>(65_536);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut workers = Vec::new();
    for _ in 0..load.concurrency.clamp(1, 64) {
        let (client, target, rx) = (client.clone(), target.clone(), rx.clone());
        workers.push(tokio::spawn(async move {
            let mut rec = Recorder::default();
            loop {
                let job = rx.lock().await.recv().await;
                let Some((n, intended)) = job else { return rec };
                one(kind, &client, &target, n as usize, &mut rec, intended).await;
            }
        }));
    }
    for n in 0..planned {
        let intended = started + pacing::intended_offset(n, rate);
        // Sleep only when ahead of schedule: a sleep with a past deadline
        // still waits for the next timer tick (1 ms).
        if intended > Instant::now() + Duration::from_micros(500) {
            tokio::time::sleep_until(intended.into()).await;
        }
        if tx.send((n, intended)).await.is_err() {
            break;
        }
    }
    drop(tx);
    let mut total = Recorder::default();
    for w in workers {
        if let Ok(rec) = w.await {
            total.merge(&rec);
        }
    }
    total
}

/// Opens `connections` keep-alive connections, makes one request on each,
/// holds them `hold`, then closes them. Returns (established, answered).
pub async fn idle(
    addr: std::net::SocketAddr,
    host: &str,
    path: &str,
    cookie: Option<String>,
    connections: usize,
    hold: Duration,
) -> (usize, usize) {
    let mut streams = Vec::with_capacity(connections);
    let mut answered = 0;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{}Connection: keep-alive\r\n\r\n",
        cookie
            .map(|c| format!("Cookie: {c}\r\n"))
            .unwrap_or_default()
    );
    for i in 0..connections {
        // From 50 loopback addresses, as many clients would come: one
        // address alone would meet the gateway's per-address cap.
        let from = std::net::SocketAddr::from(([127, 0, 1, 1 + (i % 50) as u8], 0));
        let connect = async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(from)?;
            socket.connect(addr).await
        };
        let Ok(Ok(mut s)) = tokio::time::timeout(Duration::from_secs(5), connect).await else {
            continue;
        };
        if s.write_all(request.as_bytes()).await.is_ok() {
            let mut buf = vec![0u8; 16 * 1024];
            if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await
            {
                if n > 0 && buf.starts_with(b"HTTP/1.1 200") {
                    answered += 1;
                }
            }
        }
        streams.push(s);
    }
    let established = streams.len();
    tokio::time::sleep(hold).await;
    drop(streams);
    (established, answered)
}
