//! Signing in with a passkey (S53), from the login page's button or the
//! email field's autofill: no password and no second step, for a passkey
//! with user verification is two factors by itself. The same gate as every
//! login decides the rest: the lock, the trial's end, the access route and
//! line (a passkey replaces the password, never the line), and removal (a
//! removed passkey or user is no passkey).

use crate::answers;
use crate::audit::{self, Event, Who};
use crate::flows::login_page;
use crate::flows::providers::passkeys_offered as offered;
use crate::flows::sign_in::{Proof, SignIn};
use crate::flows::{pre_binding, read_post, Outcome};
use crate::passkeys::{challenge_json, Ceremony, Refusal};
use crate::refusals::json_refusal;
use crate::request::Req;
use crate::state::App;
use crate::web::Answer;
use pingora::proxy::Session;
use sekisho_policy::model::{LoginMethod, UserStatus};
use sekisho_policy::return_path::safe_return_path;
use std::sync::Arc;
use webauthn_rs::prelude::DiscoverableAuthentication;

/// POST from the login page's script: a challenge any of this site's
/// passkeys can answer, kept for this browser's pre-session.
pub async fn options(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let Some(rp) = offered(app, req) else {
        return json_refusal(404, "passkeys_off");
    };
    if let Some(answer) = crate::refusals::throttled(app, req, "passkey") {
        return ("throttled", answer);
    }
    let form = match read_post(app, session, req).await {
        Ok(f) => f,
        Err(o) => return o,
    };
    let Some(binding) = req.cookies.pre().map(pre_binding) else {
        return json_refusal(403, "csrf_failed");
    };
    if !app.csrf.accepts(&binding, form.get("csrf")) {
        return json_refusal(403, "csrf_failed");
    }
    let Ok((options, state)) = rp.start_login() else {
        return json_refusal(503, "passkey_unavailable");
    };
    match rp
        .keep(
            &*app.store,
            app.clock.now(),
            crate::passkeys::Asked {
                ceremony: Ceremony::Login,
                route: req.route,
                binding: &binding,
            },
            "",
            &state,
        )
        .await
    {
        Ok(id) => (
            "passkey_challenge",
            Answer::json(200, challenge_json(&id, &options)),
        ),
        Err(_) => json_refusal(503, "store_unavailable"),
    }
}

/// POST: the browser's signed answer. Checks it, asks the gate, and starts
/// the session, or shows the login page again with one message.
pub async fn submit(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let Some(rp) = offered(app, req) else {
        return ("not_found", answers::error_page(app, req, 404));
    };
    if let Some(answer) = crate::refusals::throttled(app, req, "passkey") {
        return ("throttled", answer);
    }
    let form = match read_post(app, session, req).await {
        Ok(f) => f,
        Err(o) => return o,
    };
    let menu = form.get("purpose") == "menu";
    let kind = if menu {
        login_page::Kind::Menu
    } else {
        login_page::Kind::Service
    };
    let next = safe_return_path(form.get("next"));
    let t = req.lang.texts();
    let Some(binding) = req.cookies.pre().map(pre_binding) else {
        return login_page::again(app, req, kind, &next, t.form_expired, 403);
    };
    if !app.csrf.accepts(&binding, form.get("csrf")) {
        return login_page::again(app, req, kind, &next, t.form_expired, 403);
    }
    let failed = || login_page::again(app, req, kind, &next, t.passkey_login_failed, 200);
    let who = Who {
        client_ip: Some(&req.client_ip),
        route: Some(req.route),
        ..Default::default()
    };
    let refused = |refusal: &Refusal, user: Option<&str>| {
        let event = if *refusal == Refusal::Cloned {
            Event::PasskeyCloneRefused
        } else {
            Event::PasskeyRefused
        };
        audit::event(
            event,
            &Who {
                user_id: user,
                ..who
            },
            refusal.detail(),
        );
        let outcome = if *refusal == Refusal::Cloned {
            "cloned"
        } else {
            "failed"
        };
        crate::metrics::PASSKEYS
            .with_label_values(&["login", outcome])
            .inc();
    };
    let state: DiscoverableAuthentication = match rp
        .take(
            &*app.store,
            app.clock.now(),
            crate::passkeys::Asked {
                ceremony: Ceremony::Login,
                route: req.route,
                binding: &binding,
            },
            form.get("challenge"),
        )
        .await
    {
        Ok((_, state)) => state,
        Err(Refusal::Store) => return ("store_unavailable", answers::error_page(app, req, 503)),
        Err(r) => {
            refused(&r, None);
            return failed();
        }
    };
    let record = match rp
        .finish_login(
            &*app.store,
            app.clock.now(),
            req.route,
            form.get("credential"),
            state,
        )
        .await
    {
        Ok(r) => r,
        Err((Refusal::Store, _)) => {
            return ("store_unavailable", answers::error_page(app, req, 503))
        }
        Err((r, record)) => {
            refused(&r, record.as_ref().map(|p| p.user_id.as_str()));
            return failed();
        }
    };
    let user = match app.store.get_user(&record.user_id).await {
        Ok(Some(u)) if u.status == UserStatus::Active && u.method == LoginMethod::Password => u,
        Ok(_) => {
            refused(&Refusal::UnknownCredential, Some(&record.user_id));
            return failed();
        }
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let sign_in = SignIn {
        user: &user,
        proof: Proof::Passkey,
        route: req.route,
        menu,
        next: &next,
    };
    crate::flows::sign_in::finish(app, req, sign_in).await
}
