//! Forgotten password (PRODUCT §3.10, manual §6-2) and the unblock-mail
//! resend. Both answer the same page whatever the address (S03), send mail
//! in the background so timing says nothing either, and send at most one
//! mail per user per `lock.mail_interval_seconds` (S13).

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::{maybe_cookie, pre_binding, pre_session, read_post, Outcome};
use crate::request::Req;
use crate::state::App;
use crate::store::User;
use crate::web::{Answer, Form};
use pingora::proxy::Session;
use sekisho_pages::{render, ForgotPage};
use sekisho_policy::email::{canonical_identifier, login_identifier};
use sekisho_policy::model::{LoginMethod, UserStatus};
use sekisho_policy::paths;
use sekisho_policy::ticket::TicketPurpose;
use std::sync::Arc;

fn form_page(app: &App, req: &Req, status: u16, email: &str, error: Option<&str>) -> Answer {
    let (pre, cookie) = pre_session(app, req);
    let c = answers::chrome(app, req);
    let html = render(&ForgotPage {
        c: &c,
        csrf: &app.csrf.token(&pre_binding(&pre)),
        email,
        error,
    });
    maybe_cookie(Answer::html(status, html), cookie)
}

/// GET: asks for the address.
pub fn show(app: &App, req: &Req) -> Outcome {
    ("forgot_page", form_page(app, req, 200, "", None))
}

/// Issues a ticket of `purpose` for `user` unless one went out within the
/// mail interval; returns the link when one was issued.
async fn issue(app: &App, user: &User, purpose: TicketPurpose) -> Result<Option<String>, ()> {
    let (token, ticket) = crate::tickets::issue(app.clock.now(), &user.id, purpose, None);
    let interval = app.config.lock.mail_interval.as_secs() as i64;
    match app.store.issue_ticket_unless_recent(ticket, interval).await {
        Ok(true) => Ok(Some(crate::tickets::link(
            &app.config.internet.public_url,
            purpose,
            &token,
        ))),
        Ok(false) => Ok(None),
        Err(_) => Err(()),
    }
}

/// The checks both requests share: same-site, CSRF, an address that can
/// be someone's, then the limits. Only a request past CSRF is charged, so
/// bare POSTs naming someone cannot hold back their own request (S56).
async fn read(
    app: &App,
    session: &mut Session,
    req: &Req,
    endpoint: &'static str,
) -> Result<(Form, String), Outcome> {
    let form = read_post(app, session, req).await?;
    let csrf_ok = req
        .cookies
        .pre()
        .is_some_and(|pre| app.csrf.accepts(&pre_binding(pre), form.get("csrf")));
    if !csrf_ok {
        return Err((
            "csrf_failed",
            form_page(
                app,
                req,
                403,
                form.get("email"),
                Some(req.lang.texts().form_expired),
            ),
        ));
    }
    let typed = form.get("email");
    if canonical_identifier(typed).is_empty() {
        // The login page's パスワードを忘れた方はこちら with no address typed
        // (its form carries `next`): the page opens to be filled in, not
        // on an error.
        if form.has("next") {
            return Err(("forgot_page", form_page(app, req, 200, "", None)));
        }
        return Err((
            "email_missing",
            form_page(app, req, 422, "", Some(req.lang.texts().email_missing)),
        ));
    }
    // An address that can be no one's never reaches the store (S57); what
    // was typed stays in the field.
    let Some(email) = login_identifier(typed) else {
        return Err((
            "email_malformed",
            form_page(app, req, 422, typed, Some(req.lang.texts().email_malformed)),
        ));
    };
    if let Some(answer) = crate::refusals::throttled_account(app, req, endpoint, &email) {
        return Err(("throttled", answer));
    }
    Ok((form, email))
}

/// POST: mails a reset link to a password user; the same answer for anyone.
pub async fn submit(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let (_, email) = match read(app, session, req, "forgot").await {
        Ok(r) => r,
        Err(o) => return o,
    };
    let user = match app.store.find_user_by_email(&email).await {
        Ok(u) => u.filter(|u| u.status == UserStatus::Active && u.method == LoginMethod::Password),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let who = Who {
        user_id: user.as_ref().map(|u| u.id.as_str()),
        tenant_id: user.as_ref().map(|u| u.tenant_id.as_str()),
        client_ip: Some(&req.client_ip),
        route: None,
    };
    if let Some(user) = &user {
        match issue(app, user, TicketPurpose::Reset).await {
            Ok(Some(link)) => {
                let text = sekisho_pages::mail::reset(&app.config.service_name, &user.name, &link);
                app.mailer.send_later("reset", user.email.clone(), text);
                crate::metrics::ACCOUNT_EVENTS
                    .with_label_values(&["reset_requested"])
                    .inc();
                audit::event(crate::audit::Event::ResetRequested, &who, "mailed");
            }
            Ok(None) => audit::event(
                crate::audit::Event::ResetRequested,
                &who,
                "within_mail_interval",
            ),
            Err(()) => return ("store_unavailable", answers::error_page(app, req, 503)),
        }
    } else {
        audit::event(
            crate::audit::Event::ResetRequested,
            &who,
            "no_password_account",
        );
    }
    let t = req.lang.texts();
    let link = Some((paths::LOGIN, t.back_to_login));
    (
        "forgot_sent",
        answers::message_page(app, req, 200, t.forgot_sent_title, t.forgot_sent_text, link),
    )
}

/// POST: mails a fresh unblock link to a locked account; the same answer
/// for anyone.
pub async fn resend_unlock(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let (_, email) = match read(app, session, req, "unlock_resend").await {
        Ok(r) => r,
        Err(o) => return o,
    };
    let user = match app.store.find_user_by_email(&email).await {
        Ok(u) => u.filter(|u| u.status == UserStatus::Active && u.locked),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    if let Some(user) = &user {
        let who = Who {
            user_id: Some(&user.id),
            tenant_id: Some(&user.tenant_id),
            client_ip: Some(&req.client_ip),
            route: None,
        };
        match issue(app, user, TicketPurpose::Unlock).await {
            Ok(Some(link)) => {
                let text = sekisho_pages::mail::unlock(&app.config.service_name, &user.name, &link);
                app.mailer.send_later("unlock", user.email.clone(), text);
                crate::metrics::ACCOUNT_EVENTS
                    .with_label_values(&["unlock_mail_resent"])
                    .inc();
                audit::event(crate::audit::Event::UnlockMailResent, &who, "");
            }
            Ok(None) => audit::event(
                crate::audit::Event::UnlockMailResent,
                &who,
                "within_mail_interval",
            ),
            Err(()) => return ("store_unavailable", answers::error_page(app, req, 503)),
        }
    }
    let t = req.lang.texts();
    let link = Some((paths::LOGIN, t.back_to_login));
    (
        "unlock_resent",
        answers::message_page(
            app,
            req,
            200,
            t.forgot_sent_title,
            t.unlock_resent_text,
            link,
        ),
    )
}
