//! パスキー in the account menu: the user's passkeys with when each was
//! registered and last used, rename and remove, and registering another
//! after a fresh sign-in. Registration and removal each send a notice.

use crate::answers;
use crate::audit::{self, Event, Who};
use crate::flows::providers::passkeys_offered as offered;
use crate::flows::Outcome;
use crate::passkeys::{challenge_json, Ceremony, Refusal};
use crate::refusals::json_refusal;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::store::{PasskeyRecord, StoreError};
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::{render, PasskeyRow, PasskeysPage};
use sekisho_policy::passkey::{fresh_enough, normalize_name, MAX_PER_USER};
use sekisho_policy::paths;
use std::sync::Arc;
use webauthn_rs::prelude::PasskeyRegistration;

/// The session's binding for registration challenges.
fn binding(live: &Live) -> String {
    format!("passkey-register:{}", live.id_hash)
}

fn fresh(app: &App, live: &Live) -> bool {
    fresh_enough(
        live.view.session.created_at,
        app.clock.now(),
        app.config.passkeys.fresh_sign_in.as_secs() as i64,
    )
}

fn who<'a>(live: &'a Live, req: &'a Req) -> Who<'a> {
    Who {
        user_id: Some(&live.view.user.id),
        tenant_id: Some(&live.view.tenant.id),
        client_ip: Some(&req.client_ip),
        route: Some(req.route),
    }
}

async fn list_page(
    app: &App,
    req: &Req,
    live: &Live,
    status: u16,
    notice: Option<&str>,
    problem: Option<&str>,
) -> Outcome {
    let passkeys = match app.store.list_passkeys(&live.view.user.id).await {
        Ok(p) => p,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let when = |at| sekisho_pages::format_time(at, req.lang);
    let rows = passkeys
        .iter()
        .map(|p| PasskeyRow {
            id: p.credential_id.clone(),
            name: p.name.clone(),
            created: when(p.created_at),
            last_used: p.last_used_at.map(when),
            synced: p.backup_state,
        })
        .collect();
    let c = answers::chrome(app, req);
    let html = render(&PasskeysPage {
        c: &c,
        csrf: &app.csrf.token(&live.id_hash),
        rows,
        notice,
        problem,
        can_register: fresh(app, live),
        full: passkeys.len() >= MAX_PER_USER,
    });
    ("passkeys", Answer::html(status, html))
}

/// GET: the user's passkeys.
pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    let t = req.lang.texts();
    let notice = match req.query_param("done").as_deref() {
        Some("added") => Some(t.passkey_registered),
        Some("renamed") => Some(t.passkey_renamed),
        Some("removed") => Some(t.passkey_removed),
        _ => None,
    };
    list_page(app, req, &live, 200, notice, None).await
}

/// POST from the page's script: a registration challenge for this user,
/// kept for this session, after a fresh sign-in only.
pub async fn options(app: &Arc<App>, req: &Req, live: Live, _: Form) -> Outcome {
    let Some(rp) = offered(app, req) else {
        return json_refusal(404, "passkeys_off");
    };
    if !fresh(app, &live) {
        return json_refusal(403, "sign_in_again");
    }
    let existing = match app.store.list_passkeys(&live.view.user.id).await {
        Ok(p) => p,
        Err(_) => return json_refusal(503, "store_unavailable"),
    };
    if existing.len() >= MAX_PER_USER {
        return json_refusal(409, "too_many");
    }
    let Ok((options, state)) = rp.start_registration(&live.view.user, &existing) else {
        return json_refusal(503, "passkey_unavailable");
    };
    match rp
        .keep(
            &*app.store,
            app.clock.now(),
            crate::passkeys::Asked {
                ceremony: Ceremony::Register,
                route: req.route,
                binding: &binding(&live),
            },
            &live.view.user.id,
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

/// POST: the new credential, checked against its challenge and kept.
pub async fn add(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    let Some(rp) = offered(app, req) else {
        return ("not_found", answers::error_page(app, req, 404));
    };
    let t = req.lang.texts();
    if !fresh(app, &live) {
        return list_page(app, req, &live, 403, None, Some(t.passkeys_fresh_needed)).await;
    }
    let user = &live.view.user;
    let agent = crate::web::readable_agent(&req.user_agent, req.lang);
    let Ok(name) = normalize_name(form.get("name"), &agent) else {
        return list_page(app, req, &live, 400, None, Some(t.passkey_name_too_long)).await;
    };
    let failed = |r: &Refusal| {
        audit::event(Event::PasskeyRefused, &who(&live, req), r.detail());
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
                binding: &binding(&live),
            },
            form.get("challenge"),
        )
        .await
    {
        Ok((for_user, state)) if for_user == user.id => state,
        Ok(_) | Err(Refusal::ChallengeGone) => {
            failed(&Refusal::ChallengeGone);
            return list_page(app, req, &live, 400, None, Some(t.passkey_register_failed)).await;
        }
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let record = match rp.finish_registration(
        req.route,
        user,
        form.get("credential"),
        &state,
        name,
        app.clock.now(),
    ) {
        Ok(r) => r,
        Err(r) => {
            failed(&r);
            return list_page(app, req, &live, 400, None, Some(t.passkey_register_failed)).await;
        }
    };
    let count = match app.store.list_passkeys(&user.id).await {
        Ok(p) => p.len(),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    if count >= MAX_PER_USER {
        return list_page(app, req, &live, 409, None, Some(t.passkey_too_many)).await;
    }
    let name = record.name.clone();
    match app.store.add_passkey(record).await {
        Ok(()) => {}
        Err(StoreError::IdentityTaken) => {
            return list_page(app, req, &live, 409, None, Some(t.passkey_already)).await
        }
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    }
    crate::metrics::PASSKEYS
        .with_label_values(&["register", "succeeded"])
        .inc();
    audit::event(Event::PasskeyRegistered, &who(&live, req), "");
    notify(
        app,
        &live.view.user,
        "パスキーの登録",
        &format!("登録したパスキー: {name}"),
    );
    (
        "passkey_added",
        Answer::redirect(&format!(
            "{MENU_PASSKEYS}?done=added",
            MENU_PASSKEYS = paths::MENU_PASSKEYS
        )),
    )
}

/// POST: a new name for one of the user's passkeys.
pub async fn rename(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    let t = req.lang.texts();
    let Ok(name) = normalize_name(form.get("name"), "") else {
        return list_page(app, req, &live, 400, None, Some(t.passkey_name_too_long)).await;
    };
    if name.is_empty() {
        return list_page(app, req, &live, 400, None, Some(t.passkey_name_too_long)).await;
    }
    match app
        .store
        .rename_passkey(&live.view.user.id, form.get("passkey"), &name)
        .await
    {
        Ok(true) => {}
        Ok(false) => return list_page(app, req, &live, 404, None, Some(t.passkey_not_found)).await,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    }
    audit::event(Event::PasskeyRenamed, &who(&live, req), "");
    (
        "passkey_renamed",
        Answer::redirect(&format!(
            "{MENU_PASSKEYS}?done=renamed",
            MENU_PASSKEYS = paths::MENU_PASSKEYS
        )),
    )
}

/// POST: removes one of the user's passkeys. Every gateway reads the
/// passkeys from the store at each use, so it is refused everywhere at once.
pub async fn remove(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    let t = req.lang.texts();
    let removed: PasskeyRecord = match app
        .store
        .remove_passkey(&live.view.user.id, form.get("passkey"))
        .await
    {
        Ok(Some(p)) => p,
        Ok(None) => return list_page(app, req, &live, 404, None, Some(t.passkey_not_found)).await,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    audit::event(Event::PasskeyRemoved, &who(&live, req), "");
    notify(
        app,
        &live.view.user,
        "パスキーの削除",
        &format!("削除したパスキー: {}", removed.name),
    );
    (
        "passkey_removed",
        Answer::redirect(&format!(
            "{MENU_PASSKEYS}?done=removed",
            MENU_PASSKEYS = paths::MENU_PASSKEYS
        )),
    )
}

/// The notice mail of a registration or removal: a new way in never goes
/// unnoticed.
pub(crate) fn notify(app: &Arc<App>, user: &crate::store::User, what: &str, detail: &str) {
    let text = sekisho_pages::mail::sign_in_changed_notice(
        &app.config.service_name,
        &user.name,
        what,
        &sekisho_pages::mail::format_jst(app.clock.now()),
        detail,
    );
    app.mailer
        .send_later("passkey_notice", user.email.clone(), text);
}
