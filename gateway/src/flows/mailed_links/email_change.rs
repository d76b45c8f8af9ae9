//! Email change (PRODUCT §3.8, manual §2-1 ②, §2-2 ②). The contract holder
//! of a basic plan asks from the menu; other users get a link from an
//! administrator (see `admin_console`). Either way a link goes to the *new*
//! address, and opening it completes the change: password users set their
//! password again; the login ID changes, two-step registration resets,
//! every session ends and a notice goes to the old address (S19).

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::{forget_all, maybe_cookie, method_label, pre_binding, pre_session, Outcome};
use crate::hashing::HashError;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::store::{StoreError, TicketRecord, User};
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::{password_problems, render, Field, FormPage};
use sekisho_policy::email::validate_email;
use sekisho_policy::model::LoginMethod;
use sekisho_policy::paths;
use sekisho_policy::ticket::{looks_like_ticket, TicketPurpose};
use std::sync::Arc;

/// Why a new address was refused, in the user's words.
pub enum AddressRefusal {
    Malformed,
    Same,
    Unusable,
    Unavailable,
}

/// Whether `typed` can become `user`'s login ID: its canonical form, or
/// why not.
pub async fn check_new_address(
    app: &App,
    user: &User,
    typed: &str,
) -> Result<String, AddressRefusal> {
    let new = validate_email(typed).map_err(|_| AddressRefusal::Malformed)?;
    if new == user.email {
        return Err(AddressRefusal::Same);
    }
    // Taken by anyone: the same words, never whose (S19).
    match app.store.find_user_by_email(&new).await {
        Ok(Some(_)) => Err(AddressRefusal::Unusable),
        Ok(None) => Ok(new),
        Err(_) => Err(AddressRefusal::Unavailable),
    }
}

/// Checks `typed` as a new login ID for `user` and, when fine, issues the
/// email-change link and mails it to the new address.
pub async fn send_link(app: &Arc<App>, user: &User, typed: &str) -> Result<String, AddressRefusal> {
    let new = check_new_address(app, user, typed).await?;
    let (token, ticket): (String, TicketRecord) = crate::tickets::issue(
        app.clock.now(),
        &user.id,
        TicketPurpose::EmailChange,
        Some(new.clone()),
    );
    app.store
        .issue_change_link(ticket)
        .await
        .map_err(|_| AddressRefusal::Unavailable)?;
    let link = crate::tickets::link(
        &app.config.internet.public_url,
        TicketPurpose::EmailChange,
        &token,
    );
    let text = sekisho_pages::mail::email_change(&app.config.service_name, &user.name, &link);
    app.mailer.send_later("email_change", new.clone(), text);
    Ok(new)
}

/// The words for a refusal.
pub fn refusal_text(t: &'static sekisho_pages::Texts, r: &AddressRefusal) -> &'static str {
    match r {
        AddressRefusal::Malformed => t.email_malformed,
        AddressRefusal::Same => t.email_same,
        AddressRefusal::Unusable | AddressRefusal::Unavailable => t.email_unusable,
    }
}

fn request_form(
    app: &App,
    req: &Req,
    live: &Live,
    status: u16,
    typed: &str,
    problems: Vec<String>,
) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let field = |label, name| Field {
        label,
        name,
        kind: "email",
        value: typed.to_string(),
        autocomplete: "email",
    };
    let html = render(&FormPage {
        invalid: None,
        c: &c,
        title: t.item_email_change,
        intro: vec![t.email_change_intro],
        facts: vec![(t.email_label, live.view.user.email.clone())],
        problems,
        action: paths::MENU_EMAIL,
        csrf: &app.csrf.token(&live.id_hash),
        hidden: Vec::new(),
        fields: vec![
            field(t.new_email_label, "email"),
            field(t.new_email_confirm_label, "email_confirm"),
        ],
        select: None,
        checkbox: None,
        extra: Vec::new(),
        rule: false,
        submit: t.send_mail_button,
        back: Some((paths::MENU, t.back_to_menu)),
        guide: None,
    });
    Answer::html(status, html)
}

pub async fn show_request(app: &App, req: &Req, live: Live) -> Outcome {
    (
        "email_change_page",
        request_form(app, req, &live, 200, "", Vec::new()),
    )
}

pub async fn submit_request(app: &Arc<App>, req: &Req, live: Live, f: Form) -> Outcome {
    let t = req.lang.texts();
    let typed = f.get("email");
    if sekisho_policy::email::canonical_identifier(typed)
        != sekisho_policy::email::canonical_identifier(f.get("email_confirm"))
    {
        return (
            "email_mismatch",
            request_form(
                app,
                req,
                &live,
                422,
                typed,
                vec![t.email_mismatch.to_string()],
            ),
        );
    }
    let user = &live.view.user;
    let who = Who {
        user_id: Some(&user.id),
        tenant_id: Some(&user.tenant_id),
        client_ip: Some(&req.client_ip),
        route: None,
    };
    match send_link(app, user, typed).await {
        Ok(_) => {
            audit::event(crate::audit::Event::EmailChangeRequested, &who, "by_holder");
            let link = Some((paths::MENU, t.back_to_menu));
            (
                "email_change_sent",
                answers::message_page(app, req, 200, t.email_sent_title, t.email_sent_text, link),
            )
        }
        Err(AddressRefusal::Unavailable) => {
            ("store_unavailable", answers::error_page(app, req, 503))
        }
        Err(r) => {
            audit::event(crate::audit::Event::EmailChangeRefused, &who, "");
            (
                "email_refused",
                request_form(
                    app,
                    req,
                    &live,
                    422,
                    typed,
                    vec![refusal_text(t, &r).to_string()],
                ),
            )
        }
    }
}

/// A used, expired or wrong link: its next step (`flows::link_unusable`).
fn invalid(app: &App, req: &Req) -> Outcome {
    crate::flows::link_unusable(app, req, TicketPurpose::EmailChange)
}

/// The live email-change ticket behind `ticket`, with its user.
async fn pending(app: &App, ticket: &str) -> Result<Option<(TicketRecord, User)>, StoreError> {
    if !looks_like_ticket(ticket) {
        return Ok(None);
    }
    let hash = crate::crypto::token_hash(ticket);
    let Some(record) = app
        .store
        .peek_ticket(&hash, TicketPurpose::EmailChange, app.clock.now())
        .await?
    else {
        return Ok(None);
    };
    Ok(app
        .store
        .get_user(&record.user_id)
        .await?
        .map(|u| (record, u)))
}

fn confirm_form(
    app: &App,
    req: &Req,
    status: u16,
    ticket: &str,
    record: &TicketRecord,
    user: &User,
    problems: Vec<String>,
) -> Answer {
    let (pre, cookie) = pre_session(app, req);
    let c = answers::chrome(app, req);
    let t = c.t;
    let password_user = user.method == LoginMethod::Password;
    let field = |label, name| Field {
        label,
        name,
        kind: "password",
        value: String::new(),
        autocomplete: "new-password",
    };
    let html = render(&FormPage {
        invalid: None,
        c: &c,
        title: t.email_confirm_title,
        intro: vec![if password_user {
            t.email_confirm_intro_password
        } else {
            t.email_confirm_intro_other
        }],
        facts: vec![
            (t.new_email_label, record.staged.clone().unwrap_or_default()),
            (t.method_current, method_label(t, user.method).to_string()),
        ],
        problems,
        action: paths::EMAIL_CONFIRM,
        csrf: &app.csrf.token(&pre_binding(&pre)),
        hidden: vec![("ticket", ticket.to_string())],
        fields: if password_user {
            vec![
                field(t.password_label, "password"),
                field(t.password_confirm_label, "password_confirm"),
            ]
        } else {
            Vec::new()
        },
        select: None,
        checkbox: None,
        extra: Vec::new(),
        rule: password_user,
        submit: t.register_button,
        back: None,
        guide: None,
    });
    maybe_cookie(Answer::html(status, html), cookie)
}

pub async fn show_confirm(app: &App, req: &Req) -> Outcome {
    let ticket = req.query_param("ticket").unwrap_or_default();
    match pending(app, &ticket).await {
        Ok(Some((record, user))) => (
            "email_confirm_page",
            confirm_form(app, req, 200, &ticket, &record, &user, Vec::new()),
        ),
        Ok(None) => invalid(app, req),
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}

pub async fn submit_confirm(app: &Arc<App>, req: &Req, f: Form) -> Outcome {
    let ticket = f.get("ticket");
    let (record, user) = match pending(app, ticket).await {
        Ok(Some(found)) => found,
        Ok(None) => return invalid(app, req),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let t = req.lang.texts();
    let password_hash = if user.method == LoginMethod::Password {
        let password = match app
            .check_new_password(f.get("password"), f.get("password_confirm"))
            .await
        {
            Ok(p) => p,
            Err(problems) => {
                return (
                    "password_refused",
                    confirm_form(
                        app,
                        req,
                        422,
                        ticket,
                        &record,
                        &user,
                        password_problems(t, &problems),
                    ),
                )
            }
        };
        match app.hasher.hash(password).await {
            Ok(h) => Some(h),
            Err(HashError::Busy) => {
                return (
                    "hash_busy",
                    answers::error_page(app, req, 503).with_header("retry-after", "2".into()),
                )
            }
        }
    } else {
        None
    };
    let now = app.clock.now();
    let (user, old_email, ended) = match app
        .store
        .complete_email_change(&record.hash, password_hash, now)
        .await
    {
        Ok(done) => done,
        Err(StoreError::EmailTaken) => {
            return (
                "email_taken",
                confirm_form(
                    app,
                    req,
                    409,
                    ticket,
                    &record,
                    &user,
                    vec![t.email_unusable.to_string()],
                ),
            )
        }
        Err(StoreError::TicketInvalid) | Err(StoreError::NotFound) => return invalid(app, req),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    forget_all(app, &ended);
    let who = Who {
        user_id: Some(&user.id),
        tenant_id: Some(&user.tenant_id),
        client_ip: Some(&req.client_ip),
        route: None,
    };
    audit::event(
        crate::audit::Event::EmailChanged,
        &who,
        &format!("sessions_ended={}", ended.len()),
    );
    let notice = sekisho_pages::mail::sign_in_changed_notice(
        &app.config.service_name,
        &user.name,
        "メールアドレス",
        &sekisho_pages::mail::format_jst(now),
        &format!("新しいメールアドレス: {}\nすべての端末からログアウトし、2段階認証の登録がリセットされました。", user.email),
    );
    app.mailer
        .send_later("email_changed_notice", old_email, notice);
    let link = Some((paths::LOGIN, t.go_login));
    let answer = answers::message_page(
        app,
        req,
        200,
        t.email_changed_title,
        t.email_changed_text,
        link,
    )
    .with_cookie(app.cookies.clear(app.cookies.session));
    ("email_changed", answer)
}
