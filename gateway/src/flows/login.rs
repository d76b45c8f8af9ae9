//! Password login (PRODUCT §3.1): one generic failure for every reason (S01),
//! the same argon2 work whether or not the address exists (S02), a fresh
//! session id on success (S29), and only a same-origin return path (S35).

use super::{maybe_cookie, pre_binding, pre_session, read_post, Outcome};
use crate::audit::{self, Who};
use crate::hashing::HashError;
use crate::sessions::NewSession;
use crate::state::App;
use crate::web::{Answer, Req};
use pingora::proxy::Session;
use sekisho_pages::{render, LoginPage};
use sekisho_policy::email::canonical_identifier;
use sekisho_policy::model::{LoginMethod, Route, UserStatus};
use sekisho_policy::password::{normalize, too_long_to_verify};
use sekisho_policy::return_path::safe_return_path;

struct View<'a> {
    status: u16,
    email: &'a str,
    next: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
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
        show_forgot_link: false,
        show_menu_link: false,
    });
    maybe_cookie(Answer::html(v.status, html), cookie)
}

/// GET: the login page, with an optional notice (`logged_out`, `registered`).
pub fn show(app: &App, req: &Req) -> Outcome {
    let t = req.lang.texts();
    let next = safe_return_path(&req.query_param("next").unwrap_or_default());
    let notice = match req.query_param("notice").as_deref() {
        Some("logged_out") => Some(t.logged_out),
        Some("registered") => Some(t.registered_notice),
        _ => None,
    };
    (
        "login_page",
        page(
            app,
            req,
            View {
                status: 200,
                email: "",
                next: &next,
                error: None,
                notice,
            },
        ),
    )
}

/// POST: checks the password and starts a session.
pub async fn submit(app: &App, session: &mut Session, req: &Req, route: Route) -> Outcome {
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
        };
        return ("csrf_failed", page(app, req, v));
    }

    let email = canonical_identifier(typed_email);
    let who = Who {
        client_ip: Some(&req.client_ip),
        route: Some(route),
        ..Default::default()
    };
    let failed = |app: &App, user_id: Option<&str>, tenant_id: Option<&str>, reason: &str| {
        crate::metrics::LOGINS.with_label_values(&["failed"]).inc();
        audit::event(
            "login_failed",
            &Who {
                user_id,
                tenant_id,
                ..who.clone()
            },
            reason,
        );
        let v = View {
            status: 200,
            email: typed_email,
            next: &next,
            error: Some(t.login_failed),
            notice: None,
        };
        ("login_failed", page(app, req, v))
    };

    let password = form.get("password");
    if password.is_empty() || email.is_empty() || too_long_to_verify(password) {
        return failed(app, None, None, "empty_or_oversized");
    }
    let user = match app.store.find_user_by_email(&email).await {
        Ok(u) => u,
        Err(_) => {
            crate::metrics::STORE_ERRORS
                .with_label_values(&["find_user"])
                .inc();
            return ("store_unavailable", app.error_page(req, 503));
        }
    };
    let eligible = user.as_ref().filter(|u| {
        u.status == UserStatus::Active && u.method == LoginMethod::Password && !u.locked
    });
    let stored_hash = eligible.and_then(|u| u.password_hash.as_deref());
    let matched = match app.hasher.verify(normalize(password), stored_hash).await {
        Ok(m) => m,
        Err(HashError::Busy) => {
            crate::metrics::LOGINS.with_label_values(&["busy"]).inc();
            return (
                "hash_busy",
                app.error_page(req, 503)
                    .with_header("retry-after", "2".into()),
            );
        }
    };
    let (Some(user), true) = (eligible, matched) else {
        let reason = match &user {
            None => "unknown_identifier",
            Some(u) if u.status != UserStatus::Active => "not_active",
            Some(u) if u.locked => "locked",
            Some(u) if u.method != LoginMethod::Password => "other_method",
            Some(_) => "wrong_password",
        };
        let user_id = user.as_ref().map(|u| u.id.as_str());
        let tenant_id = user.as_ref().map(|u| u.tenant_id.as_str());
        return failed(app, user_id, tenant_id, reason);
    };

    let now = app.clock.now();
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
