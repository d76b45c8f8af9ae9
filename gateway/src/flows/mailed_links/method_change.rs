//! ログイン方法の設定 (PRODUCT §3.8, manual §2-1 ①, §2-2 ①): the contract
//! holder of a basic plan from the menu, other users through a link an
//! administrator sends. The rules are `policy::menu::method_change`. The
//! page offers a new password and the configured providers' buttons (a
//! provider's account is proven at the provider first, see
//! `flows::federation`). Afterwards every session ends and a notice is
//! mailed; the holder's change also resets two-step registration.

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::{forget_all, maybe_cookie, method_label, pre_binding, pre_session, Outcome};
use crate::hashing::HashError;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::store::{FederatedIdentity, MethodChange, StoreError, Tenant, TicketRecord, User};
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::{password_problems, render, ExtraForm, Field, FormPage};
use sekisho_policy::menu::{allowed, method_change, MenuItem, MethodChangeRefusal};
use sekisho_policy::model::{LoginMethod, Role};
use sekisho_policy::paths;
use sekisho_policy::ticket::{looks_like_ticket, TicketPurpose};
use std::sync::Arc;

/// Where the form posts, and what it carries.
enum Via<'a> {
    Menu { csrf: String },
    Link { ticket: &'a str },
}

fn form(
    app: &App,
    req: &Req,
    via: Via<'_>,
    user: &User,
    tenant: &Tenant,
    status: u16,
    problems: Vec<String>,
) -> Answer {
    let plan = tenant.plan;
    let c = answers::chrome(app, req);
    let t = c.t;
    let by_link = matches!(via, Via::Link { .. });
    let (action, csrf, hidden, cookie, purpose) = match via {
        Via::Menu { csrf } => (paths::MENU_METHOD, csrf, Vec::new(), None, "method"),
        Via::Link { ticket } => {
            let (pre, cookie) = pre_session(app, req);
            (
                paths::METHOD_LINK,
                app.csrf.token(&pre_binding(&pre)),
                vec![("ticket", ticket.to_string())],
                cookie,
                "method_link",
            )
        }
    };
    // The providers this user may change to (the rules of §2-1).
    let extra = crate::flows::providers::buttons(app, t, true)
        .into_iter()
        .filter(|(id, _)| {
            LoginMethod::parse(id).is_some_and(|m| {
                m != user.method && method_change(user.role, plan, user.method, m, false).is_ok()
            })
        })
        .map(|(id, label)| {
            let mut hidden = hidden.clone();
            hidden.push(("provider", id.to_string()));
            hidden.push(("purpose", purpose.to_string()));
            ExtraForm {
                action: paths::FEDERATION_START,
                hidden,
                label,
            }
        })
        .collect::<Vec<_>>();
    // A tenant's Active Directory, by link only: the holder, who changes
    // from the menu, can never choose it (§2-1 注意).
    let mut extra = extra;
    let ad_allowed = user.method != LoginMethod::Ad
        && method_change(user.role, plan, user.method, LoginMethod::Ad, false).is_ok();
    if by_link && ad_allowed && crate::flows::providers::settings(app, tenant).is_some() {
        if let Some(ad) = &tenant.ad {
            let mut hidden = hidden.clone();
            hidden.push(("connection_id", ad.connection_id.clone()));
            hidden.push(("purpose", purpose.to_string()));
            extra.push(ExtraForm {
                action: paths::AD_FIND,
                hidden,
                label: crate::flows::providers::button(t, LoginMethod::Ad, true),
            });
        }
    }
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
        title: t.method_title,
        intro: vec![t.method_intro, t.method_notes],
        facts: vec![
            (t.method_current, method_label(t, user.method).to_string()),
            (t.email_label, user.email.clone()),
        ],
        problems,
        action,
        csrf: &csrf,
        hidden,
        fields: vec![
            field(t.password_label, "password"),
            field(t.password_confirm_label, "password_confirm"),
        ],
        select: None,
        checkbox: None,
        extra,
        rule: true,
        submit: t.register_button,
        back: Some((paths::MENU, t.back_to_menu)),
        guide: None,
    });
    maybe_cookie(Answer::html(status, html), cookie)
}

fn refusal(t: &'static sekisho_pages::Texts, r: MethodChangeRefusal) -> String {
    match r {
        MethodChangeRefusal::TrialPlan => t.error_403_text.to_string(),
        MethodChangeRefusal::HolderCannotUseAd | MethodChangeRefusal::FacebookToFacebook => {
            t.method_notes.to_string()
        }
    }
}

/// The new method of a change.
pub enum NewMethod<'a> {
    Password {
        password: &'a str,
        confirm: &'a str,
    },
    Provider {
        method: LoginMethod,
        identity: FederatedIdentity,
    },
}

/// Checks the rules (and a new password), then changes the method: every
/// session ends, a notice goes out, and the holder's change resets the
/// two-step registration.
pub async fn apply(
    app: &Arc<App>,
    req: &Req,
    user: &User,
    tenant: &Tenant,
    ticket_hash: Option<String>,
    new: NewMethod<'_>,
) -> Result<User, (u16, Vec<String>)> {
    let t = req.lang.texts();
    let method = match &new {
        NewMethod::Password { .. } => LoginMethod::Password,
        NewMethod::Provider { method, .. } => *method,
    };
    method_change(user.role, tenant.plan, user.method, method, false)
        .map_err(|r| (403, vec![refusal(t, r)]))?;
    let (password_hash, identity) = match new {
        NewMethod::Password { password, confirm } => {
            let password = app
                .check_new_password(password, confirm)
                .await
                .map_err(|p| (422, password_problems(t, &p)))?;
            let hash = app
                .hasher
                .hash(password)
                .await
                .map_err(|HashError::Busy| (503, vec![t.error_503_text.to_string()]))?;
            (Some(hash), None)
        }
        NewMethod::Provider { identity, .. } => (None, Some(identity)),
    };
    let change = MethodChange {
        user_id: user.id.clone(),
        method,
        password_hash,
        reset_two_step: user.role == Role::ContractHolder,
        ticket_hash,
        identity,
    };
    let (changed, ended) = app
        .store
        .change_method(change, app.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::TicketInvalid | StoreError::NotFound => {
                (400, vec![t.method_change_invalid_text.to_string()])
            }
            StoreError::IdentityTaken => (409, vec![t.federation_taken_text.to_string()]),
            _ => (503, vec![t.error_503_text.to_string()]),
        })?;
    forget_all(app, &ended);
    let who = Who {
        user_id: Some(&changed.id),
        tenant_id: Some(&changed.tenant_id),
        client_ip: Some(&req.client_ip),
        route: None,
    };
    audit::event(
        crate::audit::Event::LoginMethodChanged,
        &who,
        &format!(
            "to={} sessions_ended={}",
            changed.method.as_str(),
            ended.len()
        ),
    );
    let notice = sekisho_pages::mail::sign_in_changed_notice(
        &app.config.service_name,
        &changed.name,
        "ログイン方法",
        &sekisho_pages::mail::format_jst(app.clock.now()),
        &format!(
            "新しいログイン方法: {}\nすべての端末からログアウトしました。",
            method_label(&sekisho_pages::JA, changed.method)
        ),
    );
    app.mailer
        .send_later("method_changed_notice", changed.email.clone(), notice);
    Ok(changed)
}

pub fn done(app: &App, req: &Req) -> Answer {
    let t = req.lang.texts();
    answers::message_page(
        app,
        req,
        200,
        t.method_changed_title,
        t.method_changed_text,
        Some((paths::LOGIN, t.go_login)),
    )
    .with_cookie(app.cookies.clear(app.cookies.session))
}

/// The menu matrix's rule for a change of login method, for the provider
/// start (its page is not under the menu's paths).
pub fn may(user: &User, tenant: &Tenant) -> bool {
    allowed(MenuItem::LoginMethod, user.role, tenant.plan, user.method)
}

pub async fn show_menu(app: &App, req: &Req, live: Live) -> Outcome {
    {
        let via = Via::Menu {
            csrf: app.csrf.token(&live.id_hash),
        };
        (
            "method_page",
            form(
                app,
                req,
                via,
                &live.view.user,
                &live.view.tenant,
                200,
                Vec::new(),
            ),
        )
    }
}

pub async fn submit_menu(app: &Arc<App>, req: &Req, live: Live, f: Form) -> Outcome {
    let (user, tenant) = (&live.view.user, &live.view.tenant);
    match apply(
        app,
        req,
        user,
        tenant,
        None,
        NewMethod::Password {
            password: f.get("password"),
            confirm: f.get("password_confirm"),
        },
    )
    .await
    {
        Ok(_) => ("method_changed", done(app, req)),
        Err((status, problems)) => {
            let via = Via::Menu {
                csrf: app.csrf.token(&live.id_hash),
            };
            (
                "method_refused",
                form(app, req, via, user, tenant, status, problems),
            )
        }
    }
}

/// A used, expired or wrong link: its next step (`flows::link_unusable`).
fn invalid(app: &App, req: &Req) -> Outcome {
    crate::flows::link_unusable(app, req, TicketPurpose::MethodChange)
}

pub async fn pending(
    app: &App,
    ticket: &str,
) -> Result<Option<(TicketRecord, User, Tenant)>, StoreError> {
    if !looks_like_ticket(ticket) {
        return Ok(None);
    }
    let hash = crate::crypto::token_hash(ticket);
    let Some(record) = app
        .store
        .peek_ticket(&hash, TicketPurpose::MethodChange, app.clock.now())
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = app.store.get_user(&record.user_id).await? else {
        return Ok(None);
    };
    let Some(tenant) = app.store.get_tenant(&user.tenant_id).await? else {
        return Ok(None);
    };
    Ok(Some((record, user, tenant)))
}

pub async fn show_link(app: &App, req: &Req) -> Outcome {
    let ticket = req.query_param("ticket").unwrap_or_default();
    match pending(app, &ticket).await {
        Ok(Some((_, user, tenant))) => (
            "method_page",
            form(
                app,
                req,
                Via::Link { ticket: &ticket },
                &user,
                &tenant,
                200,
                Vec::new(),
            ),
        ),
        Ok(None) => invalid(app, req),
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}

pub async fn submit_link(app: &Arc<App>, req: &Req, f: Form) -> Outcome {
    let ticket = f.get("ticket");
    let (record, user, tenant) = match pending(app, ticket).await {
        Ok(Some(found)) => found,
        Ok(None) => return invalid(app, req),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    match apply(
        app,
        req,
        &user,
        &tenant,
        Some(record.hash),
        NewMethod::Password {
            password: f.get("password"),
            confirm: f.get("password_confirm"),
        },
    )
    .await
    {
        Ok(_) => ("method_changed", done(app, req)),
        Err((status, problems)) => (
            "method_refused",
            form(
                app,
                req,
                Via::Link { ticket },
                &user,
                &tenant,
                status,
                problems,
            ),
        ),
    }
}
