//! 管理コンソール (PRODUCT §3.5, §3.8; manual §1-5, §2-2): for the contract
//! holder and administrators of a tenant. Users list and detail, invitation
//! and its resend, the email-change or method-change link (never both at
//! once), unlock, removal. Every action is a CSRF-checked POST, audited.

use super::email_change::{check_new_address, refusal_text, send_link, AddressRefusal};
use super::{forget_all, read_session_post, require_session, Outcome};
use crate::audit::{self, Who};
use crate::sessions::Live;
use crate::state::App;
use crate::store::{StoreError, User};
use crate::web::{Answer, Form, Req};
use pingora::proxy::Session;
use sekisho_pages::{
    render, AdminUserPage, AdminUsersPage, ConfirmPage, Field, FormPage, Select, Texts, UserRow,
};
use sekisho_policy::email::{canonical_identifier, validate_email};
use sekisho_policy::model::{LoginMethod, Role, UserStatus};
use sekisho_policy::ticket::TicketPurpose;
use std::sync::Arc;

fn role_label(t: &'static Texts, r: Role) -> &'static str {
    match r {
        Role::ContractHolder => t.role_contract_holder,
        Role::Admin => t.role_admin,
        Role::User => t.role_user,
    }
}

fn row(t: &'static Texts, u: &User) -> UserRow {
    UserRow {
        id: u.id.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        role: role_label(t, u.role),
        status: match (u.status, u.locked) {
            (UserStatus::Invited, _) => t.status_invited,
            (UserStatus::Active, true) => t.status_locked,
            (UserStatus::Active, false) => t.status_active,
        },
        method: super::method_label(t, u.method),
    }
}

fn who<'a>(live: &'a Live, req: &'a Req) -> Who<'a> {
    Who {
        user_id: Some(&live.view.user.id),
        tenant_id: Some(&live.view.tenant.id),
        client_ip: Some(&req.client_ip),
        route: None,
    }
}

pub async fn users(app: &App, req: &Req) -> Outcome {
    let live = match require_session(app, req).await {
        Ok(l) => l,
        Err(o) => return o,
    };
    let list = match app.store.list_users(Some(&live.view.tenant.id)).await {
        Ok(l) => l,
        Err(_) => return ("store_unavailable", app.error_page(req, 503)),
    };
    let c = app.chrome(req);
    let rows = list.iter().map(|u| row(c.t, u)).collect();
    (
        "admin_users",
        Answer::html(200, render(&AdminUsersPage { c: &c, rows })),
    )
}

fn invite_form(
    app: &App,
    req: &Req,
    live: &Live,
    status: u16,
    f: Option<&Form>,
    problems: Vec<String>,
) -> Answer {
    let c = app.chrome(req);
    let t = c.t;
    let value = |n: &str| f.map(|f| f.get(n).to_string()).unwrap_or_default();
    let role = value("role");
    let html = render(&FormPage {
        c: &c,
        title: t.invite_title,
        intro: vec![t.invite_intro],
        facts: Vec::new(),
        problems,
        action: "/.sekisho/admin/invite",
        csrf: &app.csrf(&live.id_hash),
        hidden: Vec::new(),
        fields: vec![
            Field {
                label: t.name_label,
                name: "name",
                kind: "text",
                value: value("name"),
                autocomplete: "off",
            },
            Field {
                label: t.email_label,
                name: "email",
                kind: "email",
                value: value("email"),
                autocomplete: "off",
            },
        ],
        select: Some(Select {
            label: t.role_label,
            name: "role",
            options: vec![
                ("user", t.role_user, role != "admin"),
                ("admin", t.role_admin, role == "admin"),
            ],
        }),
        checkbox: None,
        extra: Vec::new(),
        rule: false,
        submit: t.invite_button,
        back: Some(("/.sekisho/admin/", t.to_user_list)),
    });
    Answer::html(status, html)
}

pub async fn show_invite(app: &App, req: &Req) -> Outcome {
    match require_session(app, req).await {
        Ok(live) => (
            "invite_page",
            invite_form(app, req, &live, 200, None, Vec::new()),
        ),
        Err(o) => o,
    }
}

/// The contract holder's address, named in the invitation (manual §1-5).
async fn holder_email(app: &App, tenant_id: &str) -> Result<String, StoreError> {
    let users = app.store.list_users(Some(tenant_id)).await?;
    Ok(users
        .into_iter()
        .find(|u| u.role == Role::ContractHolder)
        .map(|u| u.email)
        .unwrap_or_default())
}

async fn mail_invitation(app: &Arc<App>, user: &User, token: &str) -> Result<(), StoreError> {
    let inviter = holder_email(app, &user.tenant_id).await?;
    let link = crate::tickets::link(
        &app.config.internet.public_url,
        TicketPurpose::Invitation,
        token,
    );
    let text = sekisho_pages::mail::invitation(
        &app.config.service_name,
        &user.name,
        Some(&inviter),
        &link,
    );
    app.send_mail_later("invitation", user.email.clone(), text);
    Ok(())
}

pub async fn submit_invite(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let (live, f) = match read_session_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let t = req.lang.texts();
    let name = f.get("name").trim().to_string();
    let mut problems = Vec::new();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        problems.push(t.name_invalid.to_string());
    }
    let email = validate_email(f.get("email"));
    if email.is_err() {
        problems.push(t.email_malformed.to_string());
    }
    let role = match f.get("role") {
        "admin" => Some(Role::Admin),
        "user" => Some(Role::User),
        _ => None,
    };
    let (Ok(email), Some(role), true) = (email, role, problems.is_empty()) else {
        return (
            "invite_refused",
            invite_form(app, req, &live, 422, Some(&f), problems),
        );
    };
    let now = app.clock.now();
    let user = User {
        id: crate::crypto::random_id(),
        tenant_id: live.view.tenant.id.clone(),
        email,
        name,
        role,
        status: UserStatus::Invited,
        method: LoginMethod::Password,
        password_hash: None,
        created_at: now,
        locked: false,
        two_step: None,
        two_step_generation: 0,
        last_totp_step: None,
        last_login_at: None,
        identity: None,
    };
    let (token, ticket) = crate::tickets::issue(now, &user.id, TicketPurpose::Invitation, None);
    match app.store.create_invited_user(user.clone(), ticket).await {
        Ok(()) => {
            if mail_invitation(app, &user, &token).await.is_err() {
                return ("store_unavailable", app.error_page(req, 503));
            }
            audit::event(
                "user_invited",
                &who(&live, req),
                &format!("user={} role={}", user.id, role.as_str()),
            );
        }
        // The same answer as a success: whose address it is stays unsaid (S03).
        Err(StoreError::EmailTaken) => {
            audit::event("user_invite_refused", &who(&live, req), "address_in_use")
        }
        Err(_) => return ("store_unavailable", app.error_page(req, 503)),
    }
    let link = Some(("/.sekisho/admin/", t.to_user_list));
    (
        "user_invited",
        app.message_page(req, 200, t.invited_title, t.invited_text, link),
    )
}

/// A user of the administrator's own tenant; anyone else is "not found".
async fn target(app: &App, live: &Live, id: &str) -> Result<Option<User>, StoreError> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    Ok(app
        .store
        .get_user(id)
        .await?
        .filter(|u| u.tenant_id == live.view.tenant.id))
}

fn detail(
    app: &App,
    req: &Req,
    live: &Live,
    user: &User,
    status: u16,
    typed: &str,
    problems: Vec<String>,
) -> Answer {
    let c = app.chrome(req);
    let is_holder = user.role == Role::ContractHolder;
    let html = render(&AdminUserPage {
        c: &c,
        csrf: &app.csrf(&live.id_hash),
        user: row(c.t, user),
        invited: user.status == UserStatus::Invited,
        locked: user.locked,
        can_send_change_link: !is_holder && user.status == UserStatus::Active,
        can_remove: !is_holder && user.id != live.view.user.id,
        problems,
        new_email: if typed.is_empty() {
            user.email.clone()
        } else {
            typed.to_string()
        },
    });
    Answer::html(status, html)
}

fn done(app: &App, req: &Req, text: &'static str, back: &str) -> Answer {
    let t = req.lang.texts();
    app.message_page(
        req,
        200,
        t.action_done_title,
        text,
        Some((back, t.to_user_list)),
    )
}

/// `/.sekisho/admin/users/{id}` and its actions.
pub async fn user_route(
    app: &Arc<App>,
    session: &mut Session,
    req: &Req,
    get: bool,
    post: bool,
) -> Outcome {
    let rest = req.path.trim_start_matches("/.sekisho/admin/users/");
    let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
    let live = match if post {
        read_session_post(app, session, req)
            .await
            .map(|(l, f)| (l, Some(f)))
    } else {
        require_session(app, req).await.map(|l| (l, None))
    } {
        Ok(x) => x,
        Err(o) => return o,
    };
    let (live, form) = live;
    let user = match target(app, &live, id).await {
        Ok(Some(u)) => u,
        Ok(None) => return ("not_found", app.error_page(req, 404)),
        Err(_) => return ("store_unavailable", app.error_page(req, 503)),
    };
    let t = req.lang.texts();
    let back = format!("/.sekisho/admin/users/{}", user.id);
    let form = form.unwrap_or_default();
    match (action, get, post) {
        ("", true, _) => (
            "admin_user",
            detail(app, req, &live, &user, 200, "", Vec::new()),
        ),
        ("resend", _, true) if user.status == UserStatus::Invited => {
            let (token, ticket) =
                crate::tickets::issue(app.clock.now(), &user.id, TicketPurpose::Invitation, None);
            if app.store.replace_ticket(ticket).await.is_err()
                || mail_invitation(app, &user, &token).await.is_err()
            {
                return ("store_unavailable", app.error_page(req, 503));
            }
            audit::event(
                "invitation_resent",
                &who(&live, req),
                &format!("user={}", user.id),
            );
            ("invitation_resent", done(app, req, t.invited_text, &back))
        }
        ("unlock", _, true) => match app.store.unlock_user(&user.id).await {
            Ok(_) => {
                crate::metrics::ACCOUNT_EVENTS
                    .with_label_values(&["unlock_admin"])
                    .inc();
                audit::event(
                    "account_unlocked",
                    &who(&live, req),
                    &format!("user={} by=console", user.id),
                );
                ("user_unlocked", done(app, req, t.user_unlocked_text, &back))
            }
            Err(_) => ("store_unavailable", app.error_page(req, 503)),
        },
        ("change-link", _, true)
            if user.role != Role::ContractHolder && user.status == UserStatus::Active =>
        {
            let typed = form.get("email");
            let same_address = canonical_identifier(typed) == user.email;
            if form.get("confirmed") != "yes" {
                // Refuse a bad address now, not after the confirmation.
                if !same_address {
                    match check_new_address(app, &user, typed).await {
                        Ok(_) => {}
                        Err(AddressRefusal::Unavailable) => {
                            return ("store_unavailable", app.error_page(req, 503))
                        }
                        Err(r) => {
                            let problems = vec![refusal_text(t, &r).to_string()];
                            return (
                                "email_refused",
                                detail(app, req, &live, &user, 422, typed, problems),
                            );
                        }
                    }
                }
                let text = if same_address {
                    t.method_change_link_confirm_text
                } else {
                    t.email_change_link_confirm_text
                };
                let page = ConfirmPage {
                    c: &app.chrome(req),
                    title: t.change_link_confirm_title,
                    text,
                    facts: vec![
                        (t.col_name, user.name.clone()),
                        (t.email_label, canonical_identifier(typed)),
                    ],
                    consequences: vec![t.change_link_confirm_voids],
                    action: &req.path,
                    csrf: &app.csrf(&live.id_hash),
                    hidden: vec![("email", typed.to_string())],
                    confirm_label: t.send_confirm_button,
                    cancel_href: &back,
                    danger: false,
                };
                return ("change_link_confirm", Answer::html(200, render(&page)));
            }
            if same_address {
                // The address stays: the method-change link goes to the user.
                let (token, ticket) = crate::tickets::issue(
                    app.clock.now(),
                    &user.id,
                    TicketPurpose::MethodChange,
                    None,
                );
                if app.store.issue_change_link(ticket).await.is_err() {
                    return ("store_unavailable", app.error_page(req, 503));
                }
                let link = crate::tickets::link(
                    &app.config.internet.public_url,
                    TicketPurpose::MethodChange,
                    &token,
                );
                let text =
                    sekisho_pages::mail::method_change(&app.config.service_name, &user.name, &link);
                app.send_mail_later("method_change", user.email.clone(), text);
                audit::event(
                    "method_change_link_sent",
                    &who(&live, req),
                    &format!("user={}", user.id),
                );
                return (
                    "method_change_link_sent",
                    done(app, req, t.change_link_sent_text, &back),
                );
            }
            match send_link(app, &user, typed).await {
                Ok(_) => {
                    audit::event(
                        "email_change_link_sent",
                        &who(&live, req),
                        &format!("user={}", user.id),
                    );
                    (
                        "email_change_link_sent",
                        done(app, req, t.change_link_sent_text, &back),
                    )
                }
                Err(AddressRefusal::Unavailable) => ("store_unavailable", app.error_page(req, 503)),
                Err(r) => (
                    "email_refused",
                    detail(
                        app,
                        req,
                        &live,
                        &user,
                        422,
                        typed,
                        vec![refusal_text(t, &r).to_string()],
                    ),
                ),
            }
        }
        ("remove", _, true)
            if user.role != Role::ContractHolder && user.id != live.view.user.id =>
        {
            if form.get("confirmed") != "yes" {
                let page = ConfirmPage {
                    c: &app.chrome(req),
                    title: t.remove_confirm_title,
                    text: t.remove_confirm_text,
                    facts: vec![
                        (t.col_name, user.name.clone()),
                        (t.email_label, user.email.clone()),
                    ],
                    consequences: vec![t.remove_confirm_sessions],
                    action: &req.path,
                    csrf: &app.csrf(&live.id_hash),
                    hidden: Vec::new(),
                    confirm_label: t.remove_confirm_button,
                    cancel_href: &back,
                    danger: true,
                };
                return ("remove_confirm", Answer::html(200, render(&page)));
            }
            match app.store.remove_user(&user.id).await {
                Ok(ended) => {
                    forget_all(app, &ended);
                    audit::event(
                        "user_removed",
                        &who(&live, req),
                        &format!("user={} sessions_ended={}", user.id, ended.len()),
                    );
                    (
                        "user_removed",
                        done(app, req, t.user_removed_text, "/.sekisho/admin/"),
                    )
                }
                Err(_) => ("store_unavailable", app.error_page(req, 503)),
            }
        }
        ("", _, _) => ("method_not_allowed", app.error_page(req, 405).closing()),
        (_, _, true) => ("forbidden", app.error_page(req, 403)),
        _ => ("not_found", app.error_page(req, 404)),
    }
}
