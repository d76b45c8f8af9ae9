//! Users and sessions for the scenarios, made the way an operator and
//! people would: tenants through `sekisho admin create-tenant`, registration
//! and logins through the gateway's own pages. Nothing is written to the
//! store behind the gateway's back.

use crate::http::{self, HttpClient};
use sekisho_policy::paths;
use std::path::Path;
use std::process::Command;

/// The password every load-test user registers with.
pub const PASSWORD: &str = "Loadtest-Sekisho-2024!";

fn create_tenant(
    sekisho: &Path,
    config: &Path,
    email: &str,
    two_step: bool,
) -> anyhow::Result<String> {
    let out = Command::new(sekisho)
        .args(["admin", "--config"])
        .arg(config)
        .args([
            "create-tenant",
            "--plan",
            "basic",
            "--holder-email",
            email,
            "--holder-name",
            "Load Test",
            // Password logins alone (P4), or with the authenticator app.
            "--two-step",
            if two_step { "on" } else { "off" },
        ])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "create-tenant failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("registration link:")
                .map(|s| s.trim().to_string())
        })
        .ok_or_else(|| anyhow::anyhow!("create-tenant printed no link"))
}

/// Registers through the invitation link: form, confirmation, completion.
async fn register(
    client: &HttpClient,
    base: &str,
    link: &str,
    cookie_name: &str,
) -> anyhow::Result<()> {
    let path = &link[link
        .find(paths::PREFIX)
        .ok_or_else(|| anyhow::anyhow!("odd link {link}"))?..];
    let ticket = link.split("ticket=").nth(1).unwrap_or("");
    let resp = client
        .request(http::request(
            "GET",
            &format!("{base}{path}"),
            None,
            None,
            http::empty(),
        ))
        .await?;
    let pre_name = format!("{cookie_name}-pre");
    let pre = http::set_cookie(&resp, &pre_name)
        .ok_or_else(|| anyhow::anyhow!("no pre-session cookie"))?;
    let (_, page) = http::read_body(resp, 64 * 1024).await?;
    let csrf = http::hidden(&page, "csrf")
        .ok_or_else(|| anyhow::anyhow!("no csrf on the registration page"))?;
    let cookie = format!("{pre_name}={pre}");
    for step in ["check", "confirm"] {
        let body = http::form(&[
            ("csrf", &csrf),
            ("ticket", ticket),
            ("step", step),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ]);
        let resp = client
            .request(http::request(
                "POST",
                &format!("{base}/.sekisho/register"),
                None,
                Some(&cookie),
                body,
            ))
            .await?;
        anyhow::ensure!(
            resp.status() == 200,
            "registration step {step} answered {}",
            resp.status()
        );
        http::read_body(resp, 0).await?;
    }
    Ok(())
}

/// A user of a tenant of their own, registered through the invitation:
/// the tenant's holder, with the load test's password.
async fn registered_holder(
    sekisho: &Path,
    config: &Path,
    client: &HttpClient,
    base: &str,
    cookie_name: &str,
    email: &str,
    two_step: bool,
) -> anyhow::Result<()> {
    let link = create_tenant(sekisho, config, email, two_step)?;
    register(client, base, &link, cookie_name).await
}

/// Creates `n` users whose tenants ask for two-step verification and sets
/// up the authenticator app for each through the pages; returns lines of
/// "email password secret step".
pub async fn enrol_two_step_users(
    sekisho: &Path,
    config: &Path,
    base: &str,
    cookie_name: &str,
    n: usize,
    tag: &str,
) -> anyhow::Result<Vec<String>> {
    let client = http::client(4);
    let mut lines = Vec::new();
    for i in 0..n {
        let email = format!("load2fa{i}-{tag}@loadtest.example.jp");
        registered_holder(sekisho, config, &client, base, cookie_name, &email, true).await?;
        let answer = post_login(&client, base, &email, cookie_name).await?;
        let (pre, pending) = match answer.pending {
            Some(p) => (answer.pre, p),
            None => anyhow::bail!("{email}: no second step asked"),
        };
        let secret = crate::two_step::enrol(&client, base, cookie_name, &pre, &pending).await?;
        let step = crate::two_step::current_step();
        lines.push(format!("{email} {PASSWORD} {secret} {step}"));
    }
    Ok(lines)
}

/// Creates `n` users on tenants without two-step verification, and
/// registers a software passkey for each through the account menu, right
/// after a password login (the fresh sign-in registration asks for), for
/// the site at `origin`. Returns the passkeys.
pub async fn enrol_passkey_users(
    sekisho: &Path,
    config: &Path,
    base: &str,
    cookie_name: &str,
    n: usize,
    tag: &str,
    origin: &str,
) -> anyhow::Result<Vec<crate::passkey::SoftPasskey>> {
    let client = http::client(4);
    let mut made = Vec::new();
    for i in 0..n {
        let email = format!("loadpk{i}-{tag}@loadtest.example.jp");
        registered_holder(sekisho, config, &client, base, cookie_name, &email, false).await?;
        let session = login(&client, base, &email, cookie_name).await?;
        let cookie = format!("{cookie_name}={session}");
        let call = |method: &'static str, path: &'static str, body| {
            client.request(http::request(
                method,
                &format!("{base}{path}"),
                None,
                Some(&cookie),
                body,
            ))
        };
        let resp = call("GET", paths::MENU_PASSKEYS, http::empty()).await?;
        anyhow::ensure!(
            resp.status() == 200,
            "{email}: the passkey menu answered {} (are passkeys on? the public URL needs a host name)",
            resp.status()
        );
        let (_, page) = http::read_body(resp, 256 * 1024).await?;
        let csrf = http::hidden(&page, "csrf")
            .ok_or_else(|| anyhow::anyhow!("no csrf on the passkey menu"))?;
        let resp = call(
            "POST",
            paths::MENU_PASSKEYS_OPTIONS,
            http::form(&[("csrf", &csrf)]),
        )
        .await?;
        anyhow::ensure!(
            resp.status() == 200,
            "{email}: options answered {}",
            resp.status()
        );
        let (_, body) = http::read_body(resp, 64 * 1024).await?;
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        let pk = &v["options"]["publicKey"];
        let (Some(id), Some(challenge), Some(rp_id), Some(handle)) = (
            v["challenge"].as_str(),
            pk["challenge"].as_str(),
            pk["rp"]["id"].as_str(),
            pk["user"]["id"].as_str(),
        ) else {
            anyhow::bail!("{email}: odd registration options {v}");
        };
        let passkey = crate::passkey::SoftPasskey::new(&email, rp_id, origin, handle);
        let resp = call(
            "POST",
            paths::MENU_PASSKEYS_ADD,
            http::form(&[
                ("csrf", &csrf),
                ("challenge", id),
                ("credential", &passkey.attestation(challenge)),
                ("name", "loadtest"),
            ]),
        )
        .await?;
        let added = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l.contains("done=added"));
        let status = resp.status();
        let (_, page) = http::read_body(resp, 256 * 1024).await?;
        anyhow::ensure!(
            added,
            "{email}: registration answered {status}: {}",
            String::from_utf8_lossy(&page)
                .lines()
                .find(|l| l.contains("class=\"error\""))
                .unwrap_or("")
        );
        made.push(passkey);
    }
    Ok(made)
}

/// What the login form answered.
struct LoginAnswer {
    pre: String,
    status: u16,
    session: Option<String>,
    /// The pending login's cookie, when a second step is asked.
    pending: Option<String>,
    /// The DBSC offer (`Secure-Session-Registration`) the sign-in made.
    registration: Option<String>,
}

/// Opens the login page and posts the credentials.
async fn post_login(
    client: &HttpClient,
    base: &str,
    email: &str,
    cookie_name: &str,
) -> anyhow::Result<LoginAnswer> {
    post_login_with(client, base, (email, PASSWORD), cookie_name).await
}

/// The users `setup` wrote (users.txt: "email password" lines).
pub fn read_users(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(e, p)| (e.to_string(), p.to_string()))
        .collect())
}

/// Signs `email` in with `password` (cookies named `sekisho`, as the bench
/// runs gateways): the session cookie's value, and the DBSC offer.
pub async fn sign_in(
    client: &HttpClient,
    base: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<(String, Option<String>)> {
    let a = post_login_with(client, base, (email, password), "sekisho").await?;
    let session = a
        .session
        .ok_or_else(|| anyhow::anyhow!("login answered {} without a session", a.status))?;
    Ok((session, a.registration))
}

async fn post_login_with(
    client: &HttpClient,
    base: &str,
    (email, password): (&str, &str),
    cookie_name: &str,
) -> anyhow::Result<LoginAnswer> {
    let resp = client
        .request(http::request(
            "GET",
            &format!("{base}/.sekisho/login"),
            None,
            None,
            http::empty(),
        ))
        .await?;
    let pre_name = format!("{cookie_name}-pre");
    let pre = http::set_cookie(&resp, &pre_name)
        .ok_or_else(|| anyhow::anyhow!("no pre-session cookie"))?;
    let (_, page) = http::read_body(resp, 64 * 1024).await?;
    let csrf =
        http::hidden(&page, "csrf").ok_or_else(|| anyhow::anyhow!("no csrf on the login page"))?;
    let body = http::form(&[("csrf", &csrf), ("email", email), ("password", password)]);
    let resp = client
        .request(http::request(
            "POST",
            &format!("{base}/.sekisho/login"),
            None,
            Some(&format!("{pre_name}={pre}")),
            body,
        ))
        .await?;
    let answer = LoginAnswer {
        pre,
        status: resp.status().as_u16(),
        session: http::set_cookie(&resp, cookie_name),
        pending: http::set_cookie(&resp, &format!("{cookie_name}-2fa")),
        registration: resp
            .headers()
            .get("secure-session-registration")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    http::read_body(resp, 0).await?;
    Ok(answer)
}

/// Logs in once and returns the session cookie's value.
async fn login(
    client: &HttpClient,
    base: &str,
    email: &str,
    cookie_name: &str,
) -> anyhow::Result<String> {
    let a = post_login(client, base, email, cookie_name).await?;
    a.session
        .ok_or_else(|| anyhow::anyhow!("login answered {} without a session", a.status))
}

/// Creates `users` users and `sessions` sessions over them; returns the
/// users (email, password) and the session cookie values.
pub async fn prepare(
    sekisho: &Path,
    config: &Path,
    base: &str,
    cookie_name: &str,
    users: usize,
    sessions: usize,
    tag: &str,
) -> anyhow::Result<(Vec<(String, String)>, Vec<String>)> {
    let client = http::client(16);
    let mut made = Vec::new();
    for i in 0..users {
        let email = format!("load{i}-{tag}@loadtest.example.jp");
        registered_holder(sekisho, config, &client, base, cookie_name, &email, false).await?;
        made.push((email, PASSWORD.to_string()));
    }
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let made_arc = std::sync::Arc::new(made.clone());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, next, made, base, name) = (
            client.clone(),
            next.clone(),
            made_arc.clone(),
            base.to_string(),
            cookie_name.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= sessions {
                    return Ok::<_, anyhow::Error>(got);
                }
                let (email, _) = &made[n % made.len()];
                got.push(login(&client, &base, email, &name).await?);
            }
        }));
    }
    let mut cookies = Vec::new();
    for t in tasks {
        cookies.extend(t.await??);
    }
    Ok((made, cookies))
}
