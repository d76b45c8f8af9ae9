//! Registration from an invitation link (PRODUCT §3.5, manual §1-5): the
//! password form with the rule shown, the confirmation page (申込確認), then
//! completion. The new password's hash waits on the ticket between the two
//! steps, so the password never travels back to the browser; the ticket is
//! used, and the user activated, in one store step.

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::{maybe_cookie, pre_binding, pre_session, Outcome};
use crate::hashing::HashError;
use crate::request::Req;
use crate::state::App;
use crate::store::{StoreError, TicketRecord, User};
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::{password_problems, render, RegisterConfirmPage, RegisterPage};
use sekisho_policy::model::UserStatus;
use sekisho_policy::paths;
use sekisho_policy::ticket::{looks_like_ticket, TicketPurpose};

/// The one page for every unusable link: unknown, used, expired, altered.
/// A used, expired or wrong link: its next step (`flows::link_unusable`).
fn invalid(app: &App, req: &Req) -> Outcome {
    crate::flows::link_unusable(app, req, TicketPurpose::Invitation)
}

/// The live invitation behind `ticket` and its invited user.
async fn invitation(app: &App, ticket: &str) -> Result<Option<(TicketRecord, User)>, StoreError> {
    if !looks_like_ticket(ticket) {
        return Ok(None);
    }
    let now = app.clock.now();
    let Some(record) = app
        .store
        .peek_ticket(
            &crate::crypto::token_hash(ticket),
            TicketPurpose::Invitation,
            now,
        )
        .await?
    else {
        return Ok(None);
    };
    let user = app.store.get_user(&record.user_id).await?;
    Ok(user
        .filter(|u| u.status == UserStatus::Invited)
        .map(|u| (record, u)))
}

fn form_page(
    app: &App,
    req: &Req,
    status: u16,
    ticket: &str,
    user: &User,
    problems: Vec<String>,
    tenant: Option<&crate::store::Tenant>,
) -> Answer {
    let (pre, cookie) = pre_session(app, req);
    let c = answers::chrome(app, req);
    // "Active Directoryアカウントで登録" once the holder set AD up (§1-5).
    let ad = tenant
        .filter(|t| crate::flows::providers::settings(app, t).is_some())
        .and_then(|t| t.ad.as_ref())
        .map(|a| {
            let label =
                crate::flows::providers::button(c.t, sekisho_policy::model::LoginMethod::Ad, true);
            (a.connection_id.clone(), label)
        });
    let html = render(&RegisterPage {
        c: &c,
        csrf: &app.csrf.token(&pre_binding(&pre)),
        ticket,
        email: &user.email,
        problems,
        providers: crate::flows::providers::buttons(app, c.t, true),
        ad,
    });
    maybe_cookie(Answer::html(status, html), cookie)
}

pub async fn show(app: &App, req: &Req) -> Outcome {
    let ticket = req.query_param("ticket").unwrap_or_default();
    match invitation(app, &ticket).await {
        Ok(Some((_, user))) => {
            let tenant = app.store.get_tenant(&user.tenant_id).await.ok().flatten();
            (
                "register_page",
                form_page(app, req, 200, &ticket, &user, Vec::new(), tenant.as_ref()),
            )
        }
        Ok(None) => invalid(app, req),
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}

pub async fn submit(app: &App, req: &Req, form: Form) -> Outcome {
    let ticket = form.get("ticket");
    let (record, user) = match invitation(app, ticket).await {
        Ok(Some(found)) => found,
        Ok(None) => return invalid(app, req),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let who = Who {
        user_id: Some(&user.id),
        tenant_id: Some(&user.tenant_id),
        client_ip: Some(&req.client_ip),
        route: None,
    };
    let now = app.clock.now();
    match form.get("step") {
        "confirm" => match app.store.complete_registration(&record.hash, now).await {
            Ok(user) => {
                audit::event(
                    crate::audit::Event::RegistrationCompleted,
                    &Who {
                        user_id: Some(&user.id),
                        ..who
                    },
                    "password",
                );
                let t = req.lang.texts();
                let login = paths::login_with_notice("registered");
                let link = Some((login.as_str(), t.ok_button));
                (
                    "registered",
                    answers::message_page(app, req, 200, t.done_title, t.done_text, link),
                )
            }
            Err(StoreError::TicketInvalid) | Err(StoreError::NotFound) => invalid(app, req),
            Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
        },
        _ => {
            let t = req.lang.texts();
            let password = match app
                .check_new_password(form.get("password"), form.get("password_confirm"))
                .await
            {
                Ok(p) => p,
                Err(problems) => {
                    audit::event(
                        crate::audit::Event::PasswordRuleRefused,
                        &who,
                        "registration",
                    );
                    let tenant = app.store.get_tenant(&user.tenant_id).await.ok().flatten();
                    return (
                        "password_refused",
                        form_page(
                            app,
                            req,
                            422,
                            ticket,
                            &user,
                            password_problems(t, &problems),
                            tenant.as_ref(),
                        ),
                    );
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
            match app
                .store
                .stage_ticket(&record.hash, TicketPurpose::Invitation, &hash, now)
                .await
            {
                Ok(()) => {}
                Err(StoreError::TicketInvalid) => return invalid(app, req),
                Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
            }
            let (pre, cookie) = pre_session(app, req);
            let c = answers::chrome(app, req);
            let html = render(&RegisterConfirmPage {
                c: &c,
                csrf: &app.csrf.token(&pre_binding(&pre)),
                ticket,
                email: &user.email,
                email_label: if user.role == sekisho_policy::model::Role::User {
                    t.email_label
                } else {
                    t.confirm_email_label
                },
                method_label: t.confirm_method_password,
            });
            (
                "register_confirm",
                maybe_cookie(Answer::html(200, html), cookie),
            )
        }
    }
}
