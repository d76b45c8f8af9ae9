//! Registering a passkey inside a login, under the tenant's requirement
//! (パスキー設定: 必須, S53): a password user without one registers it once
//! the login's second step (if any) has passed, and only then does the
//! session start. The ceremony is the menu's (discoverable, verified,
//! this site's RP ID); its challenge is bound to the pending login.

use crate::answers;
use crate::audit::{self, Event};
use crate::flows::sign_in::Done;
use crate::flows::two_step::{enrol_page, read_pending_post, take_and_complete};
use crate::flows::two_step::{Pending, Stage};
use crate::flows::two_step_entry::store_down;
use crate::flows::Outcome;
use crate::passkeys::{challenge_json, Ceremony, Refusal};
use crate::request::Req;
use crate::state::App;
use crate::store::StoreError;
use crate::web::Answer;
use pingora::proxy::Session;
use sekisho_policy::passkey::normalize_name;
use sekisho_policy::paths;
use std::sync::Arc;
use webauthn_rs::prelude::PasskeyRegistration;

/// The pending login of this POST, when it is at its enrolment.
async fn enrolling(
    app: &Arc<App>,
    session: &mut Session,
    req: &Req,
) -> Result<(Pending, crate::web::Form), Outcome> {
    let (p, form) = read_pending_post(app, session, req).await?;
    if p.stage() != Stage::Enrol {
        return Err(("redirect", Answer::redirect(paths::TWO_STEP)));
    }
    Ok((p, form))
}

/// POST from the page's script: a registration challenge for the user,
/// kept for this pending login.
pub async fn options(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let Some(rp) = crate::flows::providers::passkeys_offered(app, req) else {
        return crate::refusals::json_refusal(404, "passkeys_off");
    };
    let (p, _) = match enrolling(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let Ok((options, state)) = rp.start_registration(&p.user, &p.passkeys) else {
        return crate::refusals::json_refusal(503, "passkey_unavailable");
    };
    match rp
        .keep(
            &*app.store,
            app.clock.now(),
            crate::passkeys::Asked {
                ceremony: Ceremony::Register,
                route: req.route,
                binding: &p.binding(),
            },
            &p.user.id,
            &state,
        )
        .await
    {
        Ok(id) => (
            "passkey_challenge",
            Answer::json(200, challenge_json(&id, &options)),
        ),
        Err(_) => crate::refusals::json_refusal(503, "store_unavailable"),
    }
}

/// POST: the new credential. Once webauthn-rs accepts it and the store
/// keeps it, the notice is mailed and the session starts.
pub async fn submit(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let Some(rp) = crate::flows::providers::passkeys_offered(app, req) else {
        return ("not_found", answers::error_page(app, req, 404));
    };
    let (p, form) = match enrolling(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let t = req.lang.texts();
    let again = |status, problem: &str| {
        (
            "passkey_failed",
            enrol_page(app, req, &p, status, Some(problem)),
        )
    };
    let agent = crate::web::readable_agent(&req.user_agent, req.lang);
    let Ok(name) = normalize_name(form.get("name"), &agent) else {
        return again(400, t.passkey_name_too_long);
    };
    let failed = |r: &Refusal| {
        audit::event(Event::PasskeyRefused, &p.who(req), r.detail());
        crate::metrics::PASSKEYS
            .with_label_values(&["register", "failed"])
            .inc();
    };
    let state: PasskeyRegistration = match rp
        .take(
            &*app.store,
            app.clock.now(),
            crate::passkeys::Asked {
                ceremony: Ceremony::Register,
                route: req.route,
                binding: &p.binding(),
            },
            form.get("challenge"),
        )
        .await
    {
        Ok((for_user, state)) if for_user == p.user.id => state,
        Err(Refusal::Store) => return store_down(app, req),
        Ok(_) | Err(_) => {
            failed(&Refusal::ChallengeGone);
            return again(400, t.passkey_register_failed);
        }
    };
    let record = match rp.finish_registration(
        req.route,
        &p.user,
        form.get("credential"),
        &state,
        name,
        app.clock.now(),
    ) {
        Ok(r) => r,
        Err(r) => {
            failed(&r);
            return again(400, t.passkey_register_failed);
        }
    };
    let name = record.name.clone();
    match app.store.add_passkey(record).await {
        Ok(()) => {}
        Err(StoreError::IdentityTaken) => return again(409, t.passkey_already),
        Err(_) => return store_down(app, req),
    }
    crate::metrics::PASSKEYS
        .with_label_values(&["register", "succeeded"])
        .inc();
    audit::event(Event::PasskeyRegistered, &p.who(req), "at login (required)");
    crate::flows::passkey_menu::notify(
        app,
        &p.user,
        "パスキーの登録",
        &format!("登録したパスキー: {name}"),
    );
    let remember = p.rec.remember;
    take_and_complete(app, req, p, remember, Done::Enrolled).await
}
