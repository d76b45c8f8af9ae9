//! The unblock link (manual §6-1). Opening it shows one button: a GET never
//! changes state (S34), so a mail scanner that fetches the link does not
//! use it. Every unusable link gets one generic page that points to the
//! forgotten-password flow, which unblocks too (S14).

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::{maybe_cookie, pre_binding, pre_session, Outcome};
use crate::request::Req;
use crate::state::App;
use crate::store::StoreError;
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::{render, UnlockPage};
use sekisho_policy::paths;
use sekisho_policy::ticket::{looks_like_ticket, TicketPurpose};

/// A used, expired or wrong link: its next step (`flows::link_unusable`).
fn invalid(app: &App, req: &Req) -> Outcome {
    crate::flows::link_unusable(app, req, TicketPurpose::Unlock)
}

pub async fn show(app: &App, req: &Req) -> Outcome {
    let ticket = req.query_param("ticket").unwrap_or_default();
    if !looks_like_ticket(&ticket) {
        return invalid(app, req);
    }
    let hash = crate::crypto::token_hash(&ticket);
    match app
        .store
        .peek_ticket(&hash, TicketPurpose::Unlock, app.clock.now())
        .await
    {
        Ok(Some(_)) => {
            let (pre, cookie) = pre_session(app, req);
            let c = answers::chrome(app, req);
            let html = render(&UnlockPage {
                c: &c,
                csrf: &app.csrf.token(&pre_binding(&pre)),
                ticket: &ticket,
            });
            ("unlock_page", maybe_cookie(Answer::html(200, html), cookie))
        }
        Ok(None) => invalid(app, req),
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}

pub async fn submit(app: &App, req: &Req, form: Form) -> Outcome {
    let ticket = form.get("ticket");
    if !looks_like_ticket(ticket) {
        return invalid(app, req);
    }
    match app
        .store
        .unlock_with_ticket(&crate::crypto::token_hash(ticket), app.clock.now())
        .await
    {
        Ok(user) => {
            crate::metrics::ACCOUNT_EVENTS
                .with_label_values(&["unlock_link"])
                .inc();
            let who = Who {
                user_id: Some(&user.id),
                tenant_id: Some(&user.tenant_id),
                client_ip: Some(&req.client_ip),
                route: None,
            };
            audit::event(crate::audit::Event::AccountUnlocked, &who, "link");
            (
                "unlocked",
                Answer::redirect(&paths::login_with_notice("unlocked")),
            )
        }
        Err(StoreError::TicketInvalid) | Err(StoreError::NotFound) => invalid(app, req),
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}
