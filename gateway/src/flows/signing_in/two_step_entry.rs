//! Entering the second step of a password login, and leaving it
//! remembered: a pending login opened after the password (or under the
//! tenant's passkey requirement), a remembered browser that passes it, and
//! the trust cookie issued when the step ends. The sign-in pipeline opens
//! the step here; the step's own pages (two_step.rs) end it there.

use crate::answers;
use crate::audit::{self, Who};
use crate::crypto;
use crate::flows::Outcome;
use crate::request::Req;
use crate::state::App;
use crate::store::{PasskeyDemand, PendingLogin, StoreError, TrustedBrowser, User};
use crate::web::Answer;
use sekisho_policy::model::Route;
use sekisho_policy::passkey::{required_step, RequiredStep};
use sekisho_policy::paths;

const TRUST_MAC: &str = "sekisho-trust";

pub(super) fn store_down(app: &App, req: &Req) -> Outcome {
    ("store_unavailable", answers::error_page(app, req, 503))
}

pub(super) fn event(name: &'static str) {
    crate::metrics::TWO_STEP.with_label_values(&[name]).inc();
}

/// Back to the login page, the pending login forgotten: it expired, was
/// finished elsewhere, or is not this browser's.
pub(super) fn start_over(app: &App, notice: &str) -> Answer {
    Answer::redirect(&paths::login_with_notice(notice))
        .with_cookie(app.cookies.clear(app.cookies.pending))
}

/// Whether this browser carries a valid trust cookie for `user`; when it
/// does, its window slides and the cookie is renewed (S28).
pub async fn trusted_browser(
    app: &App,
    req: &Req,
    user: &User,
) -> Result<Option<String>, StoreError> {
    let Some((token, mac)) = req.cookies.trust().and_then(|v| v.split_once('.')) else {
        return Ok(None);
    };
    let expected = trust_mac(app, token, user);
    if !crypto::looks_like_token(token) || !crypto::same(&expected, mac) {
        return Ok(None);
    }
    let window = app.config.two_step.trust.as_secs() as i64;
    let trusted = app
        .store
        .use_trusted_browser(
            &crypto::token_hash(token),
            &user.id,
            user.two_step_generation,
            window,
            app.clock.now(),
        )
        .await?;
    Ok(trusted.then(|| {
        app.cookies
            .set_lasting(app.cookies.trust, &format!("{token}.{mac}"), window)
    }))
}

/// The trust cookie's signature: bound to the user and the registration's
/// generation, so it is worthless to anyone else and after any reset.
fn trust_mac(app: &App, token: &str, user: &User) -> String {
    let generation = user.two_step_generation.to_string();
    crypto::keyed_hash(
        &app.two_step_key,
        TRUST_MAC,
        &[token, &user.id, &generation],
    )
}

/// Starts the second step after a correct password: a pending login and
/// its cookie, then the step's page.
pub async fn begin(app: &App, req: &Req, login: Opening<'_>) -> Outcome {
    open(app, req, login, PasskeyDemand::NotRequired, false).await
}

/// The login a pending login is opened for.
pub struct Opening<'a> {
    pub user: &'a User,
    pub route: Route,
    /// Started at the account menu's login page.
    pub menu: bool,
    pub next: &'a str,
}

/// Starts a password login under the tenant's passkey requirement (S53):
/// a user with passkeys is asked for one of them only; a user with none
/// passes the tenant's second step first (`second_step`, unless this
/// browser is remembered) and then registers one before the session
/// starts.
pub async fn begin_required(
    app: &App,
    req: &Req,
    login: Opening<'_>,
    second_step: bool,
) -> Outcome {
    let passkeys = match app.store.list_passkeys(&login.user.id).await {
        Ok(p) => p,
        Err(_) => return store_down(app, req),
    };
    let mut renewed_trust = None;
    let owed = if second_step && passkeys.is_empty() {
        match trusted_browser(app, req, login.user).await {
            Ok(Some(cookie)) => {
                event("trusted");
                renewed_trust = Some(cookie);
                false
            }
            Ok(None) => true,
            Err(_) => return store_down(app, req),
        }
    } else {
        second_step
    };
    let (demand, passed) = match required_step(!passkeys.is_empty(), owed) {
        RequiredStep::UsePasskey => (PasskeyDemand::Use, false),
        RequiredStep::SecondStepThenEnrol => (PasskeyDemand::Enrol, false),
        RequiredStep::Enrol => (PasskeyDemand::Enrol, true),
    };
    let (outcome, answer) = open(app, req, login, demand, passed).await;
    match renewed_trust {
        Some(cookie) => (outcome, answer.with_cookie(cookie)),
        None => (outcome, answer),
    }
}

/// Opens the pending login: its record, its cookie, then the step's page.
/// `passed` when nothing but an enrolment is owed.
async fn open(
    app: &App,
    req: &Req,
    login: Opening<'_>,
    demand: PasskeyDemand,
    passed: bool,
) -> Outcome {
    let Opening {
        user,
        route,
        menu,
        next,
    } = login;
    let Some(pre) = req.cookies.pre() else {
        return ("two_step_expired", start_over(app, "expired"));
    };
    let now = app.clock.now();
    let token = crypto::random_token();
    let rec = PendingLogin {
        id_hash: crypto::token_hash(&token),
        browser: crypto::token_hash(pre),
        user_id: user.id.clone(),
        route,
        menu,
        next: next.to_string(),
        generation: user.two_step_generation,
        created_at: now,
        expires_at: now + app.config.two_step.pending_lifetime.as_secs() as i64,
        sms: None,
        remember: false,
        passed,
        recovery_sealed: None,
        passkey: demand,
    };
    if app.store.put_pending(rec).await.is_err() {
        return store_down(app, req);
    }
    event("asked");
    let who = Who {
        user_id: Some(&user.id),
        tenant_id: Some(&user.tenant_id),
        route: Some(route),
        client_ip: Some(&req.client_ip),
    };
    let detail = match (demand, passed, user.two_step.is_some()) {
        (PasskeyDemand::Use, _, _) => "passkey required",
        (PasskeyDemand::Enrol, true, _) => "passkey enrolment",
        (_, _, true) => "verify",
        (_, _, false) => "set-up",
    };
    audit::event(crate::audit::Event::TwoStepAsked, &who, detail);
    (
        "two_step_asked",
        Answer::redirect(paths::TWO_STEP).with_cookie(app.cookies.set(app.cookies.pending, &token)),
    )
}

/// Issues the trust cookie and its server-side record.
pub(super) async fn remember_browser(
    app: &App,
    req: &Req,
    user: &User,
) -> Result<String, StoreError> {
    let now = app.clock.now();
    let token = crypto::random_token();
    let mac = trust_mac(app, &token, user);
    app.store
        .add_trusted_browser(TrustedBrowser {
            id_hash: crypto::token_hash(&token),
            id: crypto::random_id(),
            user_id: user.id.clone(),
            generation: user.two_step_generation,
            created_at: now,
            last_used: now,
            user_agent: req.user_agent.chars().take(200).collect(),
            client_ip: req.client_ip.clone(),
        })
        .await?;
    event("remembered");
    let window = app.config.two_step.trust.as_secs() as i64;
    Ok(app
        .cookies
        .set_lasting(app.cookies.trust, &format!("{token}.{mac}"), window))
}
