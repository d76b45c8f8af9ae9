//! Password login (PRODUCT §3.1, §3.7) and the account menu's own login
//! (認証・契約情報変更ログイン, §3.9): one generic failure for every reason
//! (S01), the lock message at the threshold, the trial's end honoured, a
//! fresh session id on success (S29), and only a same-origin return path
//! (S35).

use crate::answers;
use crate::audit::Who;
use crate::flows::login_page::{page, Kind, View};
use crate::flows::password_check::{self, Checked};
use crate::flows::sign_in::{Proof, SignIn};
use crate::flows::{pre_binding, read_post, Outcome};
use crate::request::Req;
use crate::state::App;
use pingora::proxy::Session;
use sekisho_policy::email::login_identifier;
use sekisho_policy::model::Route;
use sekisho_policy::return_path::safe_return_path;
use std::sync::Arc;

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
        passkey_autofill: true,
    };
    let csrf_ok = req
        .cookies
        .pre()
        .is_some_and(|pre| app.csrf.accepts(&pre_binding(pre), form.get("csrf")));
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
    // Empty when it can be no one's (S57): refused below without the store.
    let identifier = login_identifier(typed_email).unwrap_or_default();
    let password = form.get("password");
    // Only a real attempt meets the limits and marks its address (S56):
    // past the CSRF check, with an address and a password.
    let attempt = (!identifier.is_empty() && !password.is_empty())
        .then(|| req.client_ip.parse::<std::net::IpAddr>().ok())
        .flatten();
    if attempt.is_some() {
        if let Some(seconds) = crate::refusals::login_wait(req, app, &identifier) {
            // The same page, the address kept, the wait said (issue 32).
            let wait = format!("{}{seconds}{}", t.login_wait_before, t.login_wait_after);
            let answer = page(app, req, kind, view(429, &wait, false));
            return (
                "throttled",
                answer.with_header("retry-after", seconds.to_string()),
            );
        }
    }
    let checked = password_check::check(app, &identifier, password, &who).await;
    if let Some(ip) = attempt {
        match &checked {
            Checked::Valid(_) => app.throttle.note_login_success(ip, &identifier),
            Checked::Invalid | Checked::Locked | Checked::LockedDown => {
                app.throttle.note_login_failure(ip, &identifier)
            }
            Checked::Busy | Checked::Unavailable => {}
        }
    }
    let user = match checked {
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
        Checked::LockedDown => {
            return (
                "login_locked_down",
                page(app, req, kind, view(200, t.locked_down_login, false)),
            )
        }
        Checked::Busy => {
            return (
                "hash_busy",
                answers::error_page(app, req, 503).with_header("retry-after", "2".into()),
            )
        }
        Checked::Unavailable => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let sign_in = SignIn {
        user: &user,
        proof: Proof::Password,
        route,
        menu: kind == Kind::Menu,
        next: &next,
    };
    crate::flows::sign_in::finish(app, req, sign_in).await
}
