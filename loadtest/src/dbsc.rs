//! Device-bound sessions at rate (S62, no budget of its own): sessions
//! signed in and bound by a software DBSC key (ES256, as a browser with
//! DBSC does), the refresh rate they sustain, and the gateway's CPU per
//! refresh; the bound sessions' cookies are written for wrk, so the cost of
//! a bound request is measured beside P1's unbound one.

use crate::http::{self, HttpClient};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use sekisho_policy::paths;
use std::path::Path;
use std::time::{Duration, Instant};

/// What the stage measured.
#[derive(serde::Serialize)]
pub struct Figures {
    pub sessions: usize,
    pub refreshes: u64,
    pub errors: u64,
    pub seconds: f64,
    pub refreshes_per_second: f64,
    /// The gateway's user and system CPU over the refresh loop.
    pub gateway_cpu_seconds: f64,
    /// Refreshes per second of one core of the gateway's.
    pub refreshes_per_cpu_second: f64,
}

/// One bound session as the load tool holds it.
struct Bound {
    key: SigningKey,
    session: String,
    id: String,
    challenge: String,
}

fn new_key() -> SigningKey {
    loop {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).expect("the system's random source");
        if let Ok(k) = SigningKey::from_bytes(&b.into()) {
            return k;
        }
    }
}

/// The draft's proof: a `dbsc+jwt` JWT over `challenge`, with the public
/// key at registration.
fn proof(key: &SigningKey, challenge: &str, with_key: bool) -> String {
    let point = key.verifying_key().to_encoded_point(false);
    let mut header = serde_json::json!({ "alg": "ES256", "typ": "dbsc+jwt" });
    if with_key {
        header["jwk"] = serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": B64.encode(point.x().expect("an uncompressed point")),
            "y": B64.encode(point.y().expect("an uncompressed point")),
        });
    }
    let signed = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(serde_json::json!({ "jti": challenge }).to_string())
    );
    let signature: Signature = key.sign(signed.as_bytes());
    format!("{signed}.{}", B64.encode(signature.to_bytes()))
}

/// The quoted value of a structured-field header (`"…";…`), or of a named
/// parameter in one.
fn quoted<'a>(value: &'a str, after: &str) -> Option<&'a str> {
    let start = value.find(after)? + after.len();
    let end = value[start..].find('"')? + start;
    Some(&value[start..end])
}

fn header(resp: &hyper::Response<hyper::body::Incoming>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Signs `email` in through the login page and binds the new session.
async fn sign_in_and_bind(
    client: &HttpClient,
    base: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<Bound> {
    let (session, offer) = crate::setup::sign_in(client, base, email, password).await?;
    let offer = offer
        .ok_or_else(|| anyhow::anyhow!("no Secure-Session-Registration (device_binding off?)"))?;
    let challenge = quoted(&offer, "challenge=\"")
        .ok_or_else(|| anyhow::anyhow!("no challenge in {offer}"))?
        .to_string();
    let key = new_key();
    let mut req = http::request(
        "POST",
        &format!("{base}{}", paths::DBSC_REGISTER),
        None,
        Some(&format!("sekisho={session}")),
        http::empty(),
    );
    req.headers_mut().insert(
        "secure-session-response",
        format!("\"{}\"", proof(&key, &challenge, true)).parse()?,
    );
    let resp = client.request(req).await?;
    anyhow::ensure!(
        resp.status() == 200,
        "registration answered {}",
        resp.status()
    );
    let next = header(&resp, "secure-session-challenge")
        .ok_or_else(|| anyhow::anyhow!("no challenge after registration"))?;
    let (_, body) = http::read_body(resp, 64 * 1024).await?;
    let instructions: serde_json::Value = serde_json::from_slice(&body)?;
    let id = instructions["session_identifier"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no session_identifier"))?
        .to_string();
    Ok(Bound {
        key,
        session,
        id,
        challenge: quoted(&next, "\"").unwrap_or_default().to_string(),
    })
}

/// One refresh over the challenge kept from the last answer; the answer's
/// challenge is kept for the next. Returns the new bound cookie.
async fn refresh(client: &HttpClient, base: &str, b: &mut Bound) -> anyhow::Result<String> {
    let mut req = http::request(
        "POST",
        &format!("{base}{}", paths::DBSC_REFRESH),
        None,
        Some(&format!("sekisho={}", b.session)),
        http::empty(),
    );
    let h = req.headers_mut();
    h.insert("sec-secure-session-id", format!("\"{}\"", b.id).parse()?);
    h.insert(
        "secure-session-response",
        format!("\"{}\"", proof(&b.key, &b.challenge, false)).parse()?,
    );
    let resp = client.request(req).await?;
    let status = resp.status().as_u16();
    if let Some(next) = header(&resp, "secure-session-challenge") {
        b.challenge = quoted(&next, "\"").unwrap_or_default().to_string();
    }
    let bound = http::set_cookie(&resp, "sekisho-bound");
    http::read_body(resp, 0).await?;
    anyhow::ensure!(status == 200, "refresh answered {status}");
    bound.ok_or_else(|| anyhow::anyhow!("no bound cookie"))
}

/// User and system CPU seconds of process `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command's closing parenthesis; utime and stime
    // are the 12th and 13th of them.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Binds `sessions` sessions of the users in `users` (lines of "email
/// password"), writes their cookies for wrk (`SESSION; sekisho-bound=…`,
/// for `rotate.lua` with the name `sekisho`), then refreshes them in a
/// closed loop of `concurrency` for `seconds`.
pub async fn measure(
    base: &str,
    users: &Path,
    sessions: usize,
    (seconds, concurrency): (u64, usize),
    gateway_pid: Option<u32>,
    cookies_out: &Path,
) -> anyhow::Result<Figures> {
    let users = crate::setup::read_users(users)?;
    anyhow::ensure!(!users.is_empty(), "no users");
    let client = http::client(concurrency.max(8));
    let mut bound = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let (email, password) = &users[i % users.len()];
        bound.push(sign_in_and_bind(&client, base, email, password).await?);
    }
    // A first refresh of each gives the bound cookie wrk sends.
    let mut lines = String::new();
    for b in &mut bound {
        let cookie = refresh(&client, base, b).await?;
        lines.push_str(&format!("{}; sekisho-bound={cookie}\n", b.session));
    }
    std::fs::write(cookies_out, lines)?;

    let cpu_before = gateway_pid.map(cpu_seconds);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let shares: Vec<Vec<Bound>> = {
        let mut shares: Vec<Vec<Bound>> = (0..concurrency.max(1)).map(|_| Vec::new()).collect();
        for (i, b) in bound.into_iter().enumerate() {
            shares[i % concurrency.max(1)].push(b);
        }
        shares
    };
    let mut tasks = Vec::new();
    for mut share in shares.into_iter().filter(|s| !s.is_empty()) {
        let (client, base) = (client.clone(), base.to_string());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut i) = (0u64, 0u64, 0usize);
            while Instant::now() < deadline {
                let n = share.len();
                match refresh(&client, &base, &mut share[i % n]).await {
                    Ok(_) => ok += 1,
                    Err(_) => errors += 1,
                }
                i += 1;
            }
            (ok, errors)
        }));
    }
    let (mut refreshes, mut errors) = (0, 0);
    for t in tasks {
        let (ok, e) = t.await?;
        refreshes += ok;
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = match (gateway_pid, cpu_before) {
        (Some(pid), Some(before)) => cpu_seconds(pid) - before,
        _ => f64::NAN,
    };
    Ok(Figures {
        sessions,
        refreshes,
        errors,
        seconds: elapsed,
        refreshes_per_second: refreshes as f64 / elapsed,
        gateway_cpu_seconds: cpu,
        refreshes_per_cpu_second: refreshes as f64 / cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_read_from_the_drafts_headers() {
        let offer = "(ES256);path=\"/.sekisho/dbsc/register\";challenge=\"r.0.1.abc\"";
        assert_eq!(quoted(offer, "challenge=\""), Some("r.0.1.abc"));
        assert_eq!(quoted("\"f.2.3.x\";id=\"b\"", "\""), Some("f.2.3.x"));
    }
}
