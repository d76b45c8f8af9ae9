//! The reset link (manual §6-2): a new password with the rule shown; on
//! success, in one store step, the password is set, the account unlocked,
//! two-step registration marked for reset and every session ended (S18);
//! then a notice is mailed.

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::{maybe_cookie, pre_binding, pre_session, Outcome};
use crate::hashing::HashError;
use crate::request::Req;
use crate::state::App;
use crate::store::StoreError;
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::{password_problems, render, ResetPage};
use sekisho_policy::paths;
use sekisho_policy::ticket::{looks_like_ticket, TicketPurpose};
use std::sync::Arc;

/// A used, expired or wrong link: its next step (`flows::link_unusable`).
fn invalid(app: &App, req: &Req) -> Outcome {
    crate::flows::link_unusable(app, req, TicketPurpose::Reset)
}

async fn live(app: &App, ticket: &str) -> Result<bool, StoreError> {
    if !looks_like_ticket(ticket) {
        return Ok(false);
    }
    let hash = crate::crypto::token_hash(ticket);
    Ok(app
        .store
        .peek_ticket(&hash, TicketPurpose::Reset, app.clock.now())
        .await?
        .is_some())
}

fn form_page(app: &App, req: &Req, status: u16, ticket: &str, problems: Vec<String>) -> Answer {
    let (pre, cookie) = pre_session(app, req);
    let c = answers::chrome(app, req);
    let html = render(&ResetPage {
        c: &c,
        csrf: &app.csrf.token(&pre_binding(&pre)),
        ticket,
        problems,
    });
    maybe_cookie(Answer::html(status, html), cookie)
}

pub async fn show(app: &App, req: &Req) -> Outcome {
    let ticket = req.query_param("ticket").unwrap_or_default();
    match live(app, &ticket).await {
        Ok(true) => ("reset_page", form_page(app, req, 200, &ticket, Vec::new())),
        Ok(false) => invalid(app, req),
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}

pub async fn submit(app: &Arc<App>, req: &Req, form: Form) -> Outcome {
    let ticket = form.get("ticket");
    match live(app, ticket).await {
        Ok(true) => {}
        Ok(false) => return invalid(app, req),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    }
    let t = req.lang.texts();
    let password = match app
        .check_new_password(form.get("password"), form.get("password_confirm"))
        .await
    {
        Ok(p) => p,
        Err(problems) => {
            return (
                "password_refused",
                form_page(app, req, 422, ticket, password_problems(t, &problems)),
            )
        }
    };
    let hash = match app.hasher.hash(password).await {
        Ok(h) => h,
        Err(HashError::Busy) => {
            return (
                "hash_busy",
                answers::error_page(app, req, 503).with_header("retry-after", "2".into()),
            )
        }
    };
    let now = app.clock.now();
    let (user, ended) = match app
        .store
        .complete_reset(&crate::crypto::token_hash(ticket), &hash, now)
        .await
    {
        Ok(done) => done,
        Err(StoreError::TicketInvalid) | Err(StoreError::NotFound) => return invalid(app, req),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    for id_hash in &ended {
        app.sessions.forget(id_hash);
    }
    crate::metrics::ACCOUNT_EVENTS
        .with_label_values(&["reset_completed"])
        .inc();
    let who = Who {
        user_id: Some(&user.id),
        tenant_id: Some(&user.tenant_id),
        client_ip: Some(&req.client_ip),
        route: None,
    };
    audit::event(
        crate::audit::Event::PasswordReset,
        &who,
        &format!("sessions_ended={}", ended.len()),
    );
    // Passkeys survive a reset; the notice names those still registered.
    let passkeys: Vec<String> = app
        .store
        .list_passkeys(&user.id)
        .await
        .map(|list| list.into_iter().map(|p| p.name).collect())
        .unwrap_or_default();
    let notice = sekisho_pages::mail::password_reset_notice(
        &app.config.service_name,
        &user.name,
        &sekisho_pages::mail::format_jst(now),
        &passkeys,
    );
    app.mailer
        .send_later("reset_notice", user.email.clone(), notice);
    let link = Some((paths::LOGIN, t.ok_button));
    // Whatever session this browser had is gone with the others.
    let answer = answers::message_page(app, req, 200, t.reset_done_title, t.reset_done_text, link)
        .with_cookie(app.cookies.clear(app.cookies.session));
    ("password_reset", answer)
}
