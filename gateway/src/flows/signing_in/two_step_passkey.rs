//! A passkey as the second step of a password login (S53), or the only one
//! under the tenant's passkey requirement: the challenge for this pending
//! login's user, and the signed answer checked against it.

use crate::answers;
use crate::flows::sign_in::Done;
use crate::flows::two_step::{page, read_pending_post, step_passed, Pending, View};
use crate::flows::two_step_entry::store_down;
use crate::flows::Outcome;
use crate::request::Req;
use crate::state::App;
use crate::web::Answer;
use pingora::proxy::Session;
use sekisho_policy::paths;
use std::sync::Arc;

/// POST from the step's script: a challenge naming the user's passkeys,
/// kept for this pending login.
pub async fn passkey_options(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let (p, _) = match read_pending_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let Some(rp) = app.passkeys.as_ref().filter(|_| !p.passkeys.is_empty()) else {
        return crate::refusals::json_refusal(404, "no_passkeys");
    };
    let Ok((options, state)) = rp.start_second_step(&p.passkeys) else {
        return crate::refusals::json_refusal(503, "passkey_unavailable");
    };
    match rp
        .keep(
            &*app.store,
            app.clock.now(),
            crate::passkeys::Asked {
                ceremony: crate::passkeys::Ceremony::SecondStep,
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
            Answer::json(200, crate::passkeys::challenge_json(&id, &options)),
        ),
        Err(_) => crate::refusals::json_refusal(503, "store_unavailable"),
    }
}

/// POST: the passkey's answer; when webauthn-rs accepts it for this user,
/// the second step has passed.
pub async fn submit_passkey(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    use crate::audit;
    use crate::passkeys::{Ceremony, Refusal};
    let (p, form) = match read_pending_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let Some(rp) = app.passkeys.as_ref().filter(|_| !p.passkeys.is_empty()) else {
        return ("redirect", Answer::redirect(paths::TWO_STEP));
    };
    let t = req.lang.texts();
    let refused = |r: &Refusal| {
        let (event, outcome) = if *r == Refusal::Cloned {
            (crate::audit::Event::PasskeyCloneRefused, "cloned")
        } else {
            (crate::audit::Event::PasskeyRefused, "failed")
        };
        audit::event(event, &p.who(req), r.detail());
        crate::metrics::PASSKEYS
            .with_label_values(&["second_step", outcome])
            .inc();
    };
    let state: webauthn_rs::prelude::PasskeyAuthentication = match rp
        .take(
            &*app.store,
            app.clock.now(),
            crate::passkeys::Asked {
                ceremony: Ceremony::SecondStep,
                route: req.route,
                binding: &p.binding(),
            },
            form.get("challenge"),
        )
        .await
    {
        Ok((user_id, state)) if user_id == p.user.id => state,
        Err(Refusal::Store) => return store_down(app, req),
        Ok(_) | Err(_) => {
            refused(&Refusal::ChallengeGone);
            return ("passkey_failed", passkey_failed_page(app, req, &p, t));
        }
    };
    match rp
        .finish_second_step(
            &*app.store,
            app.clock.now(),
            req.route,
            &p.user.id,
            form.get("credential"),
            &state,
        )
        .await
    {
        Ok(_) => {}
        Err((Refusal::Store, _)) => return store_down(app, req),
        Err((r, _)) => {
            refused(&r);
            return ("passkey_failed", passkey_failed_page(app, req, &p, t));
        }
    }
    crate::metrics::PASSKEYS
        .with_label_values(&["second_step", "succeeded"])
        .inc();
    let remember = form.get("remember") == "yes";
    step_passed(app, req, p, remember, Done::Verified("passkey")).await
}

/// The step's page again, with the passkey's refusal on top.
fn passkey_failed_page(app: &App, req: &Req, p: &Pending, t: &sekisho_pages::Texts) -> Answer {
    let c = answers::chrome(app, req);
    let v = View {
        status: 400,
        problems: vec![t.passkey_step_failed.to_string()],
        links: vec![(paths::TWO_STEP, t.back_button)],
        ..View::default()
    };
    page(app, p, &c, v)
}
