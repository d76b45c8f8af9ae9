//! Password login (PRODUCT §3.1, §3.7): one generic failure for every reason
//! (S01), the same argon2 work whether or not the address exists (S02), the
//! attempt counted before the password is checked and the 10th failure
//! locking (S09–S11), a fresh session id on success (S29), and only a
//! same-origin return path (S35).

use super::{maybe_cookie, pre_binding, pre_session, read_post, Outcome};
use crate::audit::{self, Who};
use crate::hashing::HashError;
use crate::sessions::NewSession;
use crate::state::App;
use crate::store::User;
use crate::web::{Answer, Req};
use pingora::proxy::Session;
use sekisho_pages::{render, LoginPage};
use sekisho_policy::email::canonical_identifier;
use sekisho_policy::lock::{locks_now, Admission};
use sekisho_policy::model::{LoginMethod, Route, UserStatus};
use sekisho_policy::password::{normalize, too_long_to_verify};
use sekisho_policy::return_path::safe_return_path;
use sekisho_policy::ticket::{expiry, TicketPurpose, TICKET_LIFETIME};
use std::sync::Arc;

struct View<'a> {
    status: u16,
    email: &'a str,
    next: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
    locked: bool,
}

fn page(app: &App, req: &Req, v: View<'_>) -> Answer {
    let (pre, cookie) = pre_session(app, req);
    let c = app.chrome(req);
    let html = render(&LoginPage {
        c: &c,
        csrf: &app.csrf(&pre_binding(&pre)),
        email: v.email,
        next: v.next,
        error: v.error,
        notice: v.notice,
        show_forgot_link: true,
        show_menu_link: false,
        show_resend_unlock: v.locked,
    });
    maybe_cookie(Answer::html(v.status, html), cookie)
}

/// GET: the login page, with an optional notice (`logged_out`, `registered`,
/// `unlocked`, `reset`).
pub fn show(app: &App, req: &Req) -> Outcome {
    let t = req.lang.texts();
    let next = safe_return_path(&req.query_param("next").unwrap_or_default());
    let notice = match req.query_param("notice").as_deref() {
        Some("logged_out") => Some(t.logged_out),
        Some("registered") => Some(t.registered_notice),
        Some("unlocked") => Some(t.unlock_done_text),
        _ => None,
    };
    let v = View {
        status: 200,
        email: "",
        next: &next,
        error: None,
        notice,
        locked: false,
    };
    ("login_page", page(app, req, v))
}

/// Issues the unlock ticket, locks the user and mails the link (once: only
/// the attempt that reaches the threshold gets here).
async fn lock(app: &Arc<App>, user: &User, who: &Who<'_>) {
    let token = crate::crypto::random_token();
    let now = app.clock.now();
    let ticket = crate::store::TicketRecord {
        hash: crate::crypto::token_hash(&token),
        purpose: TicketPurpose::Unlock.as_str().into(),
        user_id: user.id.clone(),
        issued_at: now,
        expires_at: expiry(now, TICKET_LIFETIME),
        staged: None,
    };
    if app.store.lock_user(&user.id, ticket).await.is_err() {
        crate::metrics::STORE_ERRORS
            .with_label_values(&["lock_user"])
            .inc();
        return;
    }
    crate::metrics::ACCOUNT_EVENTS
        .with_label_values(&["lock"])
        .inc();
    audit::event("account_locked", who, "");
    let link = app.public_link(&format!("/.sekisho/unlock?ticket={token}"));
    let text = sekisho_pages::mail::unlock(&app.config.service_name, &user.name, &link);
    app.send_mail_later("unlock", user.email.clone(), text);
}

/// POST: counts the attempt, checks the password, starts a session.
pub async fn submit(app: &Arc<App>, session: &mut Session, req: &Req, route: Route) -> Outcome {
    if let Some(answer) = app.throttled(req, "login") {
        return ("throttled", answer);
    }
    let form = match read_post(app, session, req).await {
        Ok(f) => f,
        Err(o) => return o,
    };
    let t = req.lang.texts();
    let next = safe_return_path(form.get("next"));
    let typed_email = form.get("email");
    let csrf_ok = req
        .cookies
        .unique(app.cookies.pre)
        .is_some_and(|pre| app.csrf_ok(&pre_binding(pre), form.get("csrf")));
    if !csrf_ok {
        let v = View {
            status: 403,
            email: typed_email,
            next: &next,
            error: Some(t.form_expired),
            notice: None,
            locked: false,
        };
        return ("csrf_failed", page(app, req, v));
    }

    let email = canonical_identifier(typed_email);
    let who = Who {
        client_ip: Some(&req.client_ip),
        route: Some(route),
        ..Default::default()
    };
    let answer = |error: &'static str, locked: bool| {
        let v = View {
            status: 200,
            email: typed_email,
            next: &next,
            error: Some(error),
            notice: None,
            locked,
        };
        page(app, req, v)
    };
    let failed = |user: Option<&User>, reason: &str| {
        crate::metrics::LOGINS.with_label_values(&["failed"]).inc();
        let w = Who {
            user_id: user.map(|u| u.id.as_str()),
            tenant_id: user.map(|u| u.tenant_id.as_str()),
            ..who.clone()
        };
        audit::event("login_failed", &w, reason);
    };
    let password = form.get("password");
    if email.is_empty() || password.is_empty() {
        failed(None, "empty");
        return ("login_failed", answer(t.login_failed, false));
    }

    // Count first, check after: no race can try more than the threshold.
    let now = app.clock.now();
    let attempt = match app
        .store
        .admit_attempt(&email, app.config.lock.threshold, now)
        .await
    {
        Ok(Admission::Checked(n)) => n,
        Ok(Admission::Locked) => {
            crate::metrics::LOGINS.with_label_values(&["locked"]).inc();
            audit::event("login_refused_locked", &who, "");
            return ("login_locked", answer(t.locked, true));
        }
        Err(_) => {
            crate::metrics::STORE_ERRORS
                .with_label_values(&["admit_attempt"])
                .inc();
            return ("store_unavailable", app.error_page(req, 503));
        }
    };
    let user = match app.store.find_user_by_email(&email).await {
        Ok(u) => u,
        Err(_) => {
            crate::metrics::STORE_ERRORS
                .with_label_values(&["find_user"])
                .inc();
            return ("store_unavailable", app.error_page(req, 503));
        }
    };
    let eligible = user
        .as_ref()
        .filter(|u| u.status == UserStatus::Active && u.method == LoginMethod::Password);
    let stored_hash = eligible.and_then(|u| u.password_hash.as_deref());
    let matched = if too_long_to_verify(password) {
        false
    } else {
        match app.hasher.verify(normalize(password), stored_hash).await {
            Ok(m) => m,
            Err(HashError::Busy) => {
                crate::metrics::LOGINS.with_label_values(&["busy"]).inc();
                return (
                    "hash_busy",
                    app.error_page(req, 503)
                        .with_header("retry-after", "2".into()),
                );
            }
        }
    };

    let (Some(user), true) = (eligible, matched) else {
        let reason = match &user {
            None => "unknown_identifier",
            Some(u) if u.status != UserStatus::Active => "not_active",
            Some(u) if u.method != LoginMethod::Password => "other_method",
            Some(_) => "wrong_password",
        };
        failed(user.as_ref(), reason);
        if locks_now(attempt, app.config.lock.threshold) {
            // Unknown addresses "lock" exactly like real ones; only an
            // active account is really locked and mailed.
            if let Some(u) = user.as_ref().filter(|u| u.status == UserStatus::Active) {
                let w = Who {
                    user_id: Some(&u.id),
                    tenant_id: Some(&u.tenant_id),
                    ..who.clone()
                };
                lock(app, u, &w).await;
            }
            return ("login_locked", answer(t.locked, true));
        }
        return ("login_failed", answer(t.login_failed, false));
    };

    if app.store.clear_failures(&email).await.is_err() {
        return ("store_unavailable", app.error_page(req, 503));
    }
    let new = NewSession {
        user,
        route,
        method: LoginMethod::Password,
        client_ip: &req.client_ip,
        user_agent: &req.user_agent,
    };
    let cookie = match app
        .sessions
        .start(new, req.cookies.unique(app.cookies.session), now)
        .await
    {
        Ok(c) => c,
        Err(_) => return ("store_unavailable", app.error_page(req, 503)),
    };
    crate::metrics::LOGINS
        .with_label_values(&["succeeded"])
        .inc();
    audit::event(
        "login_succeeded",
        &Who {
            user_id: Some(&user.id),
            tenant_id: Some(&user.tenant_id),
            ..who
        },
        "password",
    );
    (
        "login_succeeded",
        Answer::redirect(&next).with_cookie(app.cookies.set(app.cookies.session, &cookie)),
    )
}
