//! Password login (PRODUCT §3.1, §3.7) and the account menu's own login
//! (認証・契約情報変更ログイン, §3.9): one generic failure for every reason
//! (S01), the lock message at the threshold, the trial's end honoured, a
//! fresh session id on success (S29), and only a same-origin return path
//! (S35).

use super::password_check::{self, Checked};
use super::sign_in::{Proof, SignIn};
use super::{maybe_cookie, pre_binding, pre_session, read_post, Outcome};
use crate::audit::Who;
use crate::state::App;
use crate::web::{Answer, Req};
use pingora::proxy::Session;
use sekisho_pages::{render, LoginPage};
use sekisho_policy::email::canonical_identifier;
use sekisho_policy::model::Route;
use sekisho_policy::paths;
use sekisho_policy::plan::PlanState;
use sekisho_policy::return_path::safe_return_path;
use std::sync::Arc;

/// Which login page: the service's, or the account menu's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Service,
    Menu,
}

impl Kind {
    fn action(self) -> &'static str {
        match self {
            Kind::Service => paths::LOGIN,
            Kind::Menu => paths::MENU_LOGIN,
        }
    }
}

struct View<'a> {
    status: u16,
    email: &'a str,
    next: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
    locked: bool,
}

fn page(app: &App, req: &Req, kind: Kind, v: View<'_>) -> Answer {
    let (pre, cookie) = pre_session(app, req);
    let c = app.chrome(req);
    let (title, intro) = match kind {
        Kind::Service => (c.t.login_title, None),
        Kind::Menu => (c.t.menu_login_title, Some(c.t.menu_login_intro)),
    };
    let html = render(&LoginPage {
        c: &c,
        title,
        intro,
        action: kind.action(),
        csrf: &app.csrf(&pre_binding(&pre)),
        email: v.email,
        next: v.next,
        error: v.error,
        notice: v.notice,
        show_forgot_link: true,
        show_menu_link: kind == Kind::Service,
        show_resend_unlock: v.locked,
        providers: super::providers::buttons(app, c.t, false),
        purpose: if kind == Kind::Menu { "menu" } else { "login" },
        ad_href: super::providers::prompt_href(
            app,
            if kind == Kind::Menu { "menu" } else { "login" },
            v.next,
        ),
        ad_label: super::providers::button(c.t, sekisho_policy::model::LoginMethod::Ad, false),
        passkey: super::passkey_login::offered(app, req).is_some(),
    });
    maybe_cookie(Answer::html(v.status, html), cookie)
}

/// GET: the login page, with an optional notice (`logged_out`,
/// `registered`, `unlocked`, `changed`).
pub fn show(app: &App, req: &Req, kind: Kind) -> Outcome {
    let t = req.lang.texts();
    let default_next = if kind == Kind::Menu { paths::MENU } else { "/" };
    let next = safe_return_path(
        &req.query_param("next")
            .unwrap_or_else(|| default_next.to_string()),
    );
    let notice = match req.query_param("notice").as_deref() {
        Some("logged_out") => Some(t.logged_out),
        Some("registered") => Some(t.registered_notice),
        Some("unlocked") => Some(t.unlock_done_text),
        Some("expired") => Some(t.two_step_expired),
        Some("cancelled") => Some(t.two_step_cancelled),
        Some("locked") => Some(t.two_step_locked),
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
    ("login_page", page(app, req, kind, v))
}

/// The login page again with `error`, after a sign-in that did not come
/// from its password form (a passkey's).
pub fn again(app: &App, req: &Req, kind: Kind, next: &str, error: &str, status: u16) -> Outcome {
    let v = View {
        status,
        email: "",
        next,
        error: Some(error),
        notice: None,
        locked: false,
    };
    ("login_failed", page(app, req, kind, v))
}

/// The page for a tenant whose trial has ended (or that is closed).
pub fn trial_ended(app: &App, req: &Req, state: PlanState) -> Answer {
    let t = req.lang.texts();
    let text = if state == PlanState::Closed {
        t.tenant_closed_text
    } else {
        t.trial_ended_text
    };
    app.message_page(req, 403, t.trial_ended_title, text, None)
}

/// POST: counts the attempt and checks the password; the sign-in's tail
/// (the gate, the second step, the session) is `sign_in::finish`'s.
pub async fn submit(
    app: &Arc<App>,
    session: &mut Session,
    req: &Req,
    route: Route,
    kind: Kind,
) -> Outcome {
    let form = match read_post(app, session, req).await {
        Ok(f) => f,
        Err(o) => return o,
    };
    let named = canonical_identifier(form.get("email"));
    if let Some(answer) = app.throttled_account(req, "login", &named) {
        return ("throttled", answer);
    }
    let t = req.lang.texts();
    let next = safe_return_path(form.get("next"));
    let typed_email = form.get("email");
    let view = |status, error, locked| View {
        status,
        email: typed_email,
        next: &next,
        error: Some(error),
        notice: None,
        locked,
    };
    let csrf_ok = req
        .cookies
        .pre()
        .is_some_and(|pre| app.csrf_ok(&pre_binding(pre), form.get("csrf")));
    if !csrf_ok {
        return (
            "csrf_failed",
            page(app, req, kind, view(403, t.form_expired, false)),
        );
    }
    let who = Who {
        client_ip: Some(&req.client_ip),
        route: Some(route),
        ..Default::default()
    };
    let user = match password_check::check(
        app,
        &canonical_identifier(typed_email),
        form.get("password"),
        &who,
    )
    .await
    {
        Checked::Valid(user) => *user,
        Checked::Invalid => {
            return (
                "login_failed",
                page(app, req, kind, view(200, t.login_failed, false)),
            )
        }
        Checked::Locked => {
            return (
                "login_locked",
                page(app, req, kind, view(200, t.locked, true)),
            )
        }
        Checked::Busy => {
            return (
                "hash_busy",
                app.error_page(req, 503)
                    .with_header("retry-after", "2".into()),
            )
        }
        Checked::Unavailable => return ("store_unavailable", app.error_page(req, 503)),
    };
    let sign_in = SignIn {
        user: &user,
        proof: Proof::Password,
        route,
        menu: kind == Kind::Menu,
        next: &next,
    };
    super::sign_in::finish(app, req, sign_in).await
}
