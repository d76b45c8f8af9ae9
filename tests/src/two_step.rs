//! Walking the second step of a login as a person would: reading the
//! authenticator secret and the recovery code off the pages, computing the
//! app's codes, reading SMS codes from the carrier's stand-in.

use crate::{Client, Resp, SmsProvider};
use sekisho_policy::paths;
use totp_rs::{Algorithm, Builder, Secret};

/// The text of the element with `id` (the first text node after it).
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\">");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('<')? + start;
    Some(html[start..end].trim().to_string())
}

/// The authenticator app's code for `secret` (base32) at `unix`.
pub fn totp_code(secret: &str, unix: i64) -> String {
    let bytes = Secret::try_from_base32(secret)
        .expect("a base32 secret")
        .as_bytes()
        .to_vec();
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(bytes)
        .build()
        .expect("a valid TOTP")
        .generate(unix as u64)
        .to_string()
}

/// What a finished set-up leaves the test with.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The app's secret (authenticator set-ups).
    pub secret: Option<String>,
    pub recovery_code: String,
}

/// Logs in with the password and expects to be sent to the second step.
pub async fn password_step(c: &mut Client, email: &str, password: &str) {
    let r = c.login(email, password).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), paths::TWO_STEP, "{}", r.body);
}

/// Sets up the authenticator app on a client standing at the second step;
/// `now` is the gateway's clock. Returns the secret and recovery code, and
/// leaves the client logged in.
pub async fn enrol_app(c: &mut Client, now: i64, remember: bool) -> Enrolled {
    let page = c.get(paths::TWO_STEP_APP).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<svg"), "the QR code is drawn inline");
    let secret = element_text(&page.body, "totp-secret")
        .expect("the secret as text")
        .replace(' ', "");
    let code = totp_code(&secret, now);
    let mut form = vec![("csrf", page.csrf()), ("code", code)];
    if remember {
        form.push(("remember", "yes".into()));
    }
    let shown = post_owned(c, paths::TWO_STEP_APP, &form).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let recovery_code = element_text(&shown.body, "recovery-code").expect("the recovery code");
    acknowledge(c, &shown).await;
    Enrolled {
        secret: Some(secret),
        recovery_code,
    }
}

/// Sets up SMS with `phone` (as typed) on a client at the second step;
/// `to` is the number in E.164 as the carrier sees it.
pub async fn enrol_sms(
    c: &mut Client,
    sms: &SmsProvider,
    phone: &str,
    to: &str,
    remember: bool,
) -> Enrolled {
    let page = c.get(paths::TWO_STEP).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let before = sms.messages().iter().filter(|m| m.to == to).count();
    let sent = c
        .post(
            paths::TWO_STEP_SMS_SEND,
            &[("csrf", &page.csrf()), ("phone", phone)],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let code = sms.wait_for(to, before + 1).code();
    let entry = c.get(sent.location()).await;
    assert_eq!(entry.status, 200, "{}", entry.body);
    let mut form = vec![("csrf", entry.csrf()), ("code", code)];
    if remember {
        form.push(("remember", "yes".into()));
    }
    let shown = post_owned(c, paths::TWO_STEP_SMS, &form).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let recovery_code = element_text(&shown.body, "recovery-code").expect("the recovery code");
    acknowledge(c, &shown).await;
    Enrolled {
        secret: None,
        recovery_code,
    }
}

/// Ticks "saved" on the recovery-code page and expects the completion page.
async fn acknowledge(c: &mut Client, shown: &Resp) {
    let done = c
        .post(
            paths::TWO_STEP_SAVED,
            &[("csrf", &shown.csrf()), ("saved", "yes")],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("2段階認証完了"), "{}", done.body);
}

/// Enters the app's code at a later login; returns the gateway's answer.
pub async fn verify_app(c: &mut Client, secret: &str, now: i64, remember: bool) -> Resp {
    let page = c.get(paths::TWO_STEP).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut form = vec![("csrf", page.csrf()), ("code", totp_code(secret, now))];
    if remember {
        form.push(("remember", "yes".into()));
    }
    post_owned(c, paths::TWO_STEP_APP, &form).await
}

pub async fn post_owned(c: &mut Client, path: &str, form: &[(&str, String)]) -> Resp {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.post(path, &pairs).await
}
