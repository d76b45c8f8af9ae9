//! The second step as the load tool walks it: the authenticator app's code
//! computed from the secret enrolled at set-up, posted on the step's page.
//! A TOTP step is accepted once per user, so a user signs in at most once
//! per 30 s: [`Users`] hands out only users whose current step is unused.

use crate::http::{self, HttpClient};
use sekisho_policy::paths;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use totp_rs::{Algorithm, Builder, Secret};

const PERIOD: u64 = 30;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The app's current code for `secret` (base32).
pub fn code(secret: &str) -> Option<String> {
    let bytes = Secret::try_from_base32(secret).ok()?.as_bytes().to_vec();
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(PERIOD)
        .with_secret(bytes)
        .build()
        .ok()?;
    Some(totp.generate(unix_now()).to_string())
}

/// A load-test user: email, password and, once enrolled, the app's secret.
pub struct User {
    pub email: String,
    pub password: String,
    pub secret: Option<String>,
    /// The TOTP step last used for this user (+1; 0 = never).
    last_step: AtomicU64,
}

impl User {
    /// Parses "email password [secret step]": the step is the one used at
    /// enrolment, which cannot serve again.
    pub fn parse(line: &str) -> Option<User> {
        let mut parts = line.split_whitespace();
        let email = parts.next()?.to_string();
        let password = parts.next()?.to_string();
        let secret = parts.next().map(str::to_string);
        let used: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        Some(User {
            email,
            password,
            secret,
            last_step: AtomicU64::new(used + 1),
        })
    }
}

/// Picks the user for the `n`-th login: users without two-step in turn;
/// with two-step, the next one whose current TOTP step is still unused,
/// waiting for the next step when all have signed in during this one.
pub async fn pick(users: &[User], n: usize) -> Option<&User> {
    let first = users.get(n % users.len())?;
    if first.secret.is_none() {
        return Some(first);
    }
    for _ in 0..2 {
        let step = unix_now() / PERIOD + 1;
        for i in 0..users.len() {
            let u = &users[(n + i) % users.len()];
            let last = u.last_step.load(Ordering::Relaxed);
            if last < step
                && u.last_step
                    .compare_exchange(last, step, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                return Some(u);
            }
        }
        let wait = PERIOD - unix_now() % PERIOD;
        tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(50)).await;
    }
    None
}

/// Passes the step with the app's code; returns the session cookie's value.
pub async fn pass(
    client: &HttpClient,
    base: &str,
    host: Option<&str>,
    cookie_name: &str,
    pre: &str,
    pending: &str,
    secret: &str,
) -> Result<String, &'static str> {
    let cookies = format!("{cookie_name}-pre={pre}; {cookie_name}-2fa={pending}");
    let resp = client
        .request(http::request(
            "GET",
            &format!("{base}/.sekisho/2fa"),
            host,
            Some(&cookies),
            http::empty(),
        ))
        .await
        .map_err(|_| "connect_or_io")?;
    let (_, page) = http::read_body(resp, 64 * 1024).await.map_err(|_| "body")?;
    let csrf = http::hidden(&page, "csrf").ok_or("no_csrf_2fa")?;
    let code = code(secret).ok_or("bad_secret")?;
    let resp = client
        .request(http::request(
            "POST",
            &format!("{base}/.sekisho/2fa/app"),
            host,
            Some(&cookies),
            http::form(&[("csrf", &csrf), ("code", &code)]),
        ))
        .await
        .map_err(|_| "connect_or_io")?;
    let status = resp.status().as_u16();
    let session = http::set_cookie(&resp, cookie_name);
    http::read_body(resp, 0).await.map_err(|_| "body")?;
    match (status, session) {
        (303, Some(s)) => Ok(s),
        (503, _) => Err("busy_503"),
        _ => Err("second_step_refused"),
    }
}

/// The text of the element with `id`.
fn element_text(html: &[u8], id: &str) -> Option<String> {
    let html = std::str::from_utf8(html).ok()?;
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('<')? + start;
    Some(html[start..end].trim().to_string())
}

/// The TOTP step of now.
pub fn current_step() -> u64 {
    unix_now() / PERIOD
}

/// Sets up the authenticator app for a user standing at the second step
/// (cookies `pre` and `pending`) and returns its secret.
pub async fn enrol(
    client: &HttpClient,
    base: &str,
    cookie_name: &str,
    pre: &str,
    pending: &str,
) -> anyhow::Result<String> {
    let cookies = format!("{cookie_name}-pre={pre}; {cookie_name}-2fa={pending}");
    let get = |path: &str| {
        http::request(
            "GET",
            &format!("{base}{path}"),
            None,
            Some(&cookies),
            http::empty(),
        )
    };
    let resp = client.request(get(paths::TWO_STEP_APP)).await?;
    let (_, page) = http::read_body(resp, 64 * 1024).await?;
    // Shown in groups of four for typing in.
    let secret = element_text(&page, "totp-secret")
        .ok_or_else(|| anyhow::anyhow!("no authenticator secret on the set-up page"))?
        .replace(' ', "");
    let csrf = http::hidden(&page, "csrf").ok_or_else(|| anyhow::anyhow!("no csrf"))?;
    let code = code(&secret).ok_or_else(|| anyhow::anyhow!("unusable secret"))?;
    let resp = client
        .request(http::request(
            "POST",
            &format!("{base}/.sekisho/2fa/app"),
            None,
            Some(&cookies),
            http::form(&[("csrf", &csrf), ("code", &code)]),
        ))
        .await?;
    anyhow::ensure!(resp.status() == 200, "set-up answered {}", resp.status());
    let (_, page) = http::read_body(resp, 64 * 1024).await?;
    let csrf = http::hidden(&page, "csrf").ok_or_else(|| anyhow::anyhow!("no csrf"))?;
    let resp = client
        .request(http::request(
            "POST",
            &format!("{base}/.sekisho/2fa/saved"),
            None,
            Some(&cookies),
            http::form(&[("csrf", &csrf), ("saved", "yes")]),
        ))
        .await?;
    anyhow::ensure!(
        resp.status() == 200,
        "completion answered {}",
        resp.status()
    );
    http::read_body(resp, 0).await?;
    Ok(secret)
}
