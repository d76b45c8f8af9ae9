//! 「心当たりがない場合」 (S63): the new-browser mail's one-time link. Opening
//! it shows what was reported and one button; a GET changes nothing, so a
//! mail scanner that follows the link locks nobody out. The button locks
//! the account down in one store step: every session, remembered browser,
//! known browser, passkey, pending login and mailed link ends, and the
//! account stays locked until a new password is set through the reset link
//! mailed with the news (the unlock link does not lift it). The tenant's
//! holder is told, and the audit log keeps the record.

use crate::answers;
use crate::audit::{self, Event, Who};
use crate::flows::{forget_all, maybe_cookie, pre_binding, pre_session, Outcome};
use crate::request::Req;
use crate::state::App;
use crate::store::{StoreError, User};
use crate::web::{Answer, Form};
use sekisho_pages::{render, ConfirmPage};
use sekisho_policy::model::{LoginMethod, Role};
use sekisho_policy::paths;
use sekisho_policy::ticket::{looks_like_ticket, TicketPurpose};
use std::sync::Arc;

fn invalid(app: &App, req: &Req) -> Outcome {
    crate::flows::link_unusable(app, req, TicketPurpose::NotMe)
}

pub async fn show(app: &App, req: &Req) -> Outcome {
    let ticket = req.query_param("ticket").unwrap_or_default();
    if !looks_like_ticket(&ticket) {
        return invalid(app, req);
    }
    let hash = crate::crypto::token_hash(&ticket);
    let record = match app
        .store
        .peek_ticket(&hash, TicketPurpose::NotMe, app.clock.now())
        .await
    {
        Ok(Some(record)) => record,
        Ok(None) => return invalid(app, req),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let t = req.lang.texts();
    // The sign-in the mail was about: when, browser, address.
    let staged = record.staged.unwrap_or_default();
    let mut lines = staged.lines().map(str::to_string);
    let facts = [t.not_me_when, t.not_me_browser, t.not_me_address]
        .into_iter()
        .zip(lines.by_ref())
        .collect();
    let (pre, cookie) = pre_session(app, req);
    let c = answers::chrome(app, req);
    let html = render(&ConfirmPage {
        c: &c,
        title: t.not_me_title,
        text: t.not_me_text,
        facts,
        consequences: vec![
            t.not_me_consequence_sessions,
            t.not_me_consequence_links,
            t.not_me_consequence_reset,
        ],
        action: paths::NOT_ME,
        csrf: &app.csrf.token(&pre_binding(&pre)),
        hidden: vec![("ticket", ticket)],
        confirm_label: t.not_me_button,
        cancel_href: paths::LOGIN,
        danger: true,
    });
    ("not_me_page", maybe_cookie(Answer::html(200, html), cookie))
}

pub async fn submit(app: &Arc<App>, req: &Req, form: Form) -> Outcome {
    let ticket = form.get("ticket");
    if !looks_like_ticket(ticket) || form.get("confirmed") != "yes" {
        return invalid(app, req);
    }
    let hash = crate::crypto::token_hash(ticket);
    let now = app.clock.now();
    // Whose link it is, for the reset link made with the lockdown; the
    // lockdown checks the ticket again, in its own step.
    let user_id = match app
        .store
        .peek_ticket(&hash, TicketPurpose::NotMe, now)
        .await
    {
        Ok(Some(record)) => record.user_id,
        Ok(None) => return invalid(app, req),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let (reset_token, reset) = crate::tickets::issue(now, &user_id, TicketPurpose::Reset, None);
    let (user, ended) = match app.store.lock_down(&hash, reset, now).await {
        Ok(done) => done,
        Err(StoreError::TicketInvalid) | Err(StoreError::NotFound) => return invalid(app, req),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    forget_all(app, &ended);
    crate::metrics::ACCOUNT_EVENTS
        .with_label_values(&["lockdown"])
        .inc();
    let who = Who {
        user_id: Some(&user.id),
        tenant_id: Some(&user.tenant_id),
        client_ip: Some(&req.client_ip),
        route: None,
    };
    let detail = format!("{} sessions ended", ended.len());
    audit::event(Event::AccountLockedDown, &who, &detail);
    let password_user = user.method == LoginMethod::Password;
    let reset_link = password_user.then(|| {
        crate::tickets::link(
            &app.config.internet.public_url,
            TicketPurpose::Reset,
            &reset_token,
        )
    });
    let when = sekisho_pages::mail::format_jst(now);
    let service = &app.config.service_name;
    let text = sekisho_pages::mail::locked_down(service, &user.name, &when, reset_link.as_deref());
    app.mailer
        .send_later("locked_down", user.email.clone(), text);
    tell_holder(app, &user, &when).await;
    let t = req.lang.texts();
    let (text, ways) = if password_user {
        (t.not_me_done_text, vec![(paths::LOGIN, t.back_to_login)])
    } else {
        (
            t.not_me_done_text_provider,
            vec![(paths::LOGIN, t.back_to_login)],
        )
    };
    (
        "locked_down",
        answers::page_with_ways(app, req, 200, t.not_me_done_title, text, ways),
    )
}

/// Mails the tenant's contract holder, unless the holder is the one who
/// locked their account (their own mail said it all).
async fn tell_holder(app: &Arc<App>, user: &User, when: &str) {
    if user.role == Role::ContractHolder {
        return;
    }
    let holder = match app.store.list_users(Some(&user.tenant_id)).await {
        Ok(users) => users.into_iter().find(|u| u.role == Role::ContractHolder),
        Err(_) => None,
    };
    if let Some(holder) = holder {
        let text = sekisho_pages::mail::locked_down_holder(
            &app.config.service_name,
            &holder.name,
            &user.email,
            when,
        );
        app.mailer
            .send_later("locked_down_holder", holder.email, text);
    }
}
