//! 管理コンソール (PRODUCT §3.5, §3.8; manual §1-5, §2-2): for the contract
//! holder and administrators of a tenant. Users list and detail, invitation
//! and its resend, the email-change or method-change link (never both at
//! once), unlock, removal. Every action is a CSRF-checked POST, audited.

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::email_change::{check_new_address, refusal_text, send_link, AddressRefusal};
use crate::flows::{forget_all, Outcome};
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::store::{StoreError, TwoStepKind, User};
use crate::web::{Answer, Form};
use sekisho_pages::{
    render, AdminUserPage, AdminUsersPage, ConfirmPage, Field, FormPage, Select, Texts, UserRow,
};
use sekisho_policy::email::{canonical_identifier, validate_email};
use sekisho_policy::model::{Role, UserStatus};
use sekisho_policy::paths;
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
            _ if !u.active() => t.user_deactivated,
            (UserStatus::Invited, _) => t.status_invited,
            (UserStatus::Active, true) => t.status_locked,
            (UserStatus::Active, false) => t.status_active,
        },
        method: crate::flows::method_label(t, u.method),
        two_step: match u.two_step.as_ref().map(|r| r.kind) {
            Some(TwoStepKind::Sms) => t.two_step_sms_state,
            Some(TwoStepKind::Totp) => t.two_step_app_state,
            None => t.two_step_none_state,
        },
        last_login: u.last_login_at.map_or_else(
            || t.never_logged_in.to_string(),
            |at| {
                let lang = if std::ptr::eq(t, &sekisho_pages::EN) {
                    sekisho_pages::Lang::En
                } else {
                    sekisho_pages::Lang::Ja
                };
                sekisho_pages::format_time(at, lang)
            },
        ),
        locked: u.locked,
    }
}

/// Users per page of the console's list.
const PAGE_SIZE: usize = 50;

/// How the console lists a tenant's users (query `q`, `status`, `sort`,
/// `page`): a tenant may have hundreds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listing {
    search: String,
    status: &'static str,
    sort: &'static str,
    page: usize,
}

const STATUSES: [&str; 4] = ["all", "active", "invited", "locked"];
const SORTS: [&str; 4] = ["name", "email", "last_login", "role"];

impl Listing {
    fn from_req(req: &Req) -> Listing {
        let pick = |name: &str, known: &[&'static str]| {
            let v = req.query_param(name).unwrap_or_default();
            known.iter().copied().find(|k| *k == v).unwrap_or(known[0])
        };
        Listing {
            search: req
                .query_param("q")
                .unwrap_or_default()
                .chars()
                .take(100)
                .collect(),
            status: pick("status", &STATUSES),
            sort: pick("sort", &SORTS),
            page: req
                .query_param("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1),
        }
    }

    fn matches(&self, u: &User) -> bool {
        let q = self.search.trim().to_lowercase();
        let found = q.is_empty()
            || u.name.to_lowercase().contains(&q)
            || u.email.contains(&canonical_identifier(&q));
        found
            && match self.status {
                "active" => u.status == UserStatus::Active && !u.locked,
                "invited" => u.status == UserStatus::Invited,
                "locked" => u.locked,
                _ => true,
            }
    }

    /// The users this listing shows, its page (clamped) and the number of
    /// pages and matches.
    fn apply(&self, mut users: Vec<User>) -> (Vec<User>, usize, usize, usize) {
        users.retain(|u| self.matches(u));
        let rank = |r: Role| match r {
            Role::ContractHolder => 0,
            Role::Admin => 1,
            Role::User => 2,
        };
        match self.sort {
            "email" => users.sort_by(|a, b| a.email.cmp(&b.email)),
            "last_login" => users.sort_by(|a, b| {
                b.last_login_at
                    .cmp(&a.last_login_at)
                    .then_with(|| a.email.cmp(&b.email))
            }),
            "role" => users.sort_by(|a, b| {
                rank(a.role)
                    .cmp(&rank(b.role))
                    .then_with(|| a.name.cmp(&b.name))
            }),
            _ => users.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.email.cmp(&b.email))),
        }
        let total = users.len();
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = self.page.clamp(1, pages);
        let shown = users
            .into_iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .collect();
        (shown, page, pages, total)
    }

    fn href(&self, page: usize) -> String {
        let q: String = form_urlencoded::byte_serialize(self.search.as_bytes()).collect();
        format!(
            "{}?q={q}&status={}&sort={}&page={page}",
            paths::CONSOLE,
            self.status,
            self.sort
        )
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

pub async fn users(app: &App, req: &Req, live: Live) -> Outcome {
    let list = match app.store.list_users(Some(&live.view.tenant.id)).await {
        Ok(l) => l,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let listing = Listing::from_req(req);
    let (shown, page, pages, total) = listing.apply(list);
    let c = answers::chrome(app, req);
    let t = c.t;
    let status_labels = [
        t.filter_all,
        t.status_active,
        t.status_invited,
        t.status_locked,
    ];
    let sort_labels = [t.sort_name, t.sort_email, t.sort_last_login, t.sort_role];
    let html = render(&AdminUsersPage {
        c: &c,
        rows: shown.iter().map(|u| row(t, u)).collect(),
        search: listing.search.clone(),
        statuses: STATUSES
            .iter()
            .zip(status_labels)
            .map(|(v, l)| (*v, l, *v == listing.status))
            .collect(),
        sorts: SORTS
            .iter()
            .zip(sort_labels)
            .map(|(v, l)| (*v, l, *v == listing.sort))
            .collect(),
        total,
        page,
        pages,
        prev_href: (page > 1).then(|| listing.href(page - 1)),
        next_href: (page < pages).then(|| listing.href(page + 1)),
    });
    ("admin_users", Answer::html(200, html))
}

fn invite_form(
    app: &App,
    req: &Req,
    live: &Live,
    status: u16,
    f: Option<&Form>,
    problems: Vec<String>,
) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let value = |n: &str| f.map(|f| f.get(n).to_string()).unwrap_or_default();
    let role = value("role");
    let html = render(&FormPage {
        invalid: None,
        c: &c,
        title: t.invite_title,
        intro: vec![t.invite_intro],
        facts: Vec::new(),
        problems,
        action: paths::CONSOLE_INVITE,
        csrf: &app.csrf.token(&live.id_hash),
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
        back: Some((paths::CONSOLE, t.to_user_list)),
        guide: None,
    });
    Answer::html(status, html)
}

pub async fn show_invite(app: &App, req: &Req, live: Live) -> Outcome {
    (
        "invite_page",
        invite_form(app, req, &live, 200, None, Vec::new()),
    )
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

pub(crate) async fn mail_invitation(
    app: &Arc<App>,
    user: &User,
    token: &str,
) -> Result<(), StoreError> {
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
    app.mailer
        .send_later("invitation", user.email.clone(), text);
    Ok(())
}

pub async fn submit_invite(app: &Arc<App>, req: &Req, live: Live, f: Form) -> Outcome {
    let t = req.lang.texts();
    let name = f.get("name").trim().to_string();
    let mut problems = Vec::new();
    if !crate::admin::usable_name(&name) {
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
    let user = crate::admin::invited_user(&live.view.tenant.id, email, name, role, now);
    let (token, ticket) = crate::tickets::issue(now, &user.id, TicketPurpose::Invitation, None);
    match app.store.create_invited_user(user.clone(), ticket).await {
        Ok(()) => {
            if mail_invitation(app, &user, &token).await.is_err() {
                return ("store_unavailable", answers::error_page(app, req, 503));
            }
            audit::event(
                crate::audit::Event::UserInvited,
                &who(&live, req),
                &format!("user={} role={}", user.id, role.as_str()),
            );
        }
        // The same answer as a success: whose address it is stays unsaid (S03).
        Err(StoreError::EmailTaken) => audit::event(
            crate::audit::Event::UserInviteRefused,
            &who(&live, req),
            "address_in_use",
        ),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    }
    let link = Some((paths::CONSOLE, t.to_user_list));
    (
        "user_invited",
        answers::message_page(app, req, 200, t.invited_title, t.invited_text, link),
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

async fn detail(
    app: &App,
    req: &Req,
    live: &Live,
    user: &User,
    status: u16,
    typed: &str,
    problems: Vec<String>,
) -> Answer {
    let passkeys = match app.store.list_passkeys(&user.id).await {
        Ok(p) => p.len(),
        Err(_) => return answers::error_page(app, req, 503),
    };
    let c = answers::chrome(app, req);
    let is_holder = user.role == Role::ContractHolder;
    let owned = user.provisioning.is_some();
    let html = render(&AdminUserPage {
        c: &c,
        csrf: &app.csrf.token(&live.id_hash),
        user: row(c.t, user),
        provisioned: owned,
        can_change_role: !is_holder && !owned && user.id != live.view.user.id,
        is_admin: user.role == Role::Admin,
        can_reset_two_step: user.two_step.is_some(),
        invited: user.status == UserStatus::Invited,
        locked: user.locked,
        can_send_change_link: !is_holder && !owned && user.status == UserStatus::Active,
        can_remove: !is_holder && !owned && user.id != live.view.user.id,
        passkeys,
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
    answers::message_page(
        app,
        req,
        200,
        t.action_done_title,
        text,
        Some((back, t.to_user_list)),
    )
}

/// A console action's confirmation: what it will do, to whom, and the same
/// form posted again with `confirmed=yes`.
struct Confirmation<'a> {
    title: &'a str,
    text: &'a str,
    /// The address the action concerns (the user's, or a new one).
    address: String,
    consequence: &'a str,
    hidden: Vec<(&'a str, String)>,
    confirm_label: &'a str,
    danger: bool,
}

fn confirm_page(
    app: &App,
    req: &Req,
    live: &Live,
    user: &User,
    back: &str,
    c: Confirmation<'_>,
) -> Answer {
    let t = req.lang.texts();
    let page = ConfirmPage {
        c: &answers::chrome(app, req),
        title: c.title,
        text: c.text,
        facts: vec![(t.col_name, user.name.clone()), (t.email_label, c.address)],
        consequences: vec![c.consequence],
        action: &req.path,
        csrf: &app.csrf.token(&live.id_hash),
        hidden: c.hidden,
        confirm_label: c.confirm_label,
        cancel_href: back,
        danger: c.danger,
    };
    Answer::html(200, render(&page))
}

/// What the tenant's directory owns of a provisioned user (S65): name,
/// address, role, and the account itself. The console says so instead of
/// changing them (409), so the directory and the console never disagree.
fn directory_owned(app: &App, req: &Req, user: &User) -> Option<Outcome> {
    user.provisioning.is_some().then(|| {
        let t = req.lang.texts();
        let back = paths::CONSOLE_USER.with(&user.id);
        let page = answers::message_page(
            app,
            req,
            409,
            t.user_provisioned,
            t.user_provisioned_note,
            Some((&back, t.to_user_list)),
        );
        ("directory_owned", page)
    })
}

/// Whether the signed-in administrator may change another user's role or
/// remove them: never the contract holder, never themselves.
fn may_manage(live: &Live, user: &User) -> bool {
    user.role != Role::ContractHolder && user.id != live.view.user.id
}

/// The user a console path names, in the signed-in administrator's
/// tenant; else the answer that refuses.
async fn console_user(app: &App, req: &Req, live: &Live, id: &str) -> Result<User, Outcome> {
    match target(app, live, id).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(("not_found", answers::error_page(app, req, 404))),
        Err(_) => Err(("store_unavailable", answers::error_page(app, req, 503))),
    }
}

/// GET `…/users/{id}`: one user's page.
pub async fn user_page(app: &Arc<App>, req: &Req, live: Live, id: &str) -> Outcome {
    match console_user(app, req, &live, id).await {
        Ok(user) => (
            "admin_user",
            detail(app, req, &live, &user, 200, "", Vec::new()).await,
        ),
        Err(o) => o,
    }
}

/// POST `…/users/{id}/resend`.
pub async fn resend(app: &Arc<App>, req: &Req, live: Live, _form: Form, id: &str) -> Outcome {
    let user = match console_user(app, req, &live, id).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    if user.status != UserStatus::Invited {
        return ("forbidden", answers::error_page(app, req, 403));
    }
    let t = req.lang.texts();
    let back = paths::CONSOLE_USER.with(&user.id);
    let (token, ticket) =
        crate::tickets::issue(app.clock.now(), &user.id, TicketPurpose::Invitation, None);
    if app.store.replace_ticket(ticket).await.is_err()
        || mail_invitation(app, &user, &token).await.is_err()
    {
        return ("store_unavailable", answers::error_page(app, req, 503));
    }
    audit::event(
        crate::audit::Event::InvitationResent,
        &who(&live, req),
        &format!("user={}", user.id),
    );
    ("invitation_resent", done(app, req, t.invited_text, &back))
}

/// POST `…/users/{id}/unlock`.
pub async fn unlock(app: &Arc<App>, req: &Req, live: Live, _form: Form, id: &str) -> Outcome {
    let user = match console_user(app, req, &live, id).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let t = req.lang.texts();
    let back = paths::CONSOLE_USER.with(&user.id);
    match app.store.unlock_user(&user.id).await {
        Ok(_) => {
            crate::metrics::ACCOUNT_EVENTS
                .with_label_values(&["unlock_admin"])
                .inc();
            audit::event(
                crate::audit::Event::AccountUnlocked,
                &who(&live, req),
                &format!("user={} by=console", user.id),
            );
            ("user_unlocked", done(app, req, t.user_unlocked_text, &back))
        }
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}

/// POST `…/users/{id}/change-link`.
pub async fn change_link(app: &Arc<App>, req: &Req, live: Live, form: Form, id: &str) -> Outcome {
    let user = match console_user(app, req, &live, id).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    if user.role == Role::ContractHolder || user.status != UserStatus::Active {
        return ("forbidden", answers::error_page(app, req, 403));
    }
    if let Some(refused) = directory_owned(app, req, &user) {
        return refused;
    }
    let t = req.lang.texts();
    let back = paths::CONSOLE_USER.with(&user.id);
    let typed = form.get("email");
    let same_address = canonical_identifier(typed) == user.email;
    if form.get("confirmed") != "yes" {
        // Refuse a bad address now, not after the confirmation.
        if !same_address {
            match check_new_address(app, &user, typed).await {
                Ok(_) => {}
                Err(AddressRefusal::Unavailable) => {
                    return ("store_unavailable", answers::error_page(app, req, 503))
                }
                Err(r) => {
                    let problems = vec![refusal_text(t, &r).to_string()];
                    return (
                        "email_refused",
                        detail(app, req, &live, &user, 422, typed, problems).await,
                    );
                }
            }
        }
        let text = if same_address {
            t.method_change_link_confirm_text
        } else {
            t.email_change_link_confirm_text
        };
        let c = Confirmation {
            title: t.change_link_confirm_title,
            text,
            address: canonical_identifier(typed),
            consequence: t.change_link_confirm_voids,
            hidden: vec![("email", typed.to_string())],
            confirm_label: t.send_confirm_button,
            danger: false,
        };
        return (
            "change_link_confirm",
            confirm_page(app, req, &live, &user, &back, c),
        );
    }
    if same_address {
        // The address stays: the method-change link goes to the user.
        let (token, ticket) =
            crate::tickets::issue(app.clock.now(), &user.id, TicketPurpose::MethodChange, None);
        if app.store.issue_change_link(ticket).await.is_err() {
            return ("store_unavailable", answers::error_page(app, req, 503));
        }
        let link = crate::tickets::link(
            &app.config.internet.public_url,
            TicketPurpose::MethodChange,
            &token,
        );
        let text = sekisho_pages::mail::method_change(&app.config.service_name, &user.name, &link);
        app.mailer
            .send_later("method_change", user.email.clone(), text);
        audit::event(
            crate::audit::Event::MethodChangeLinkSent,
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
                crate::audit::Event::EmailChangeLinkSent,
                &who(&live, req),
                &format!("user={}", user.id),
            );
            (
                "email_change_link_sent",
                done(app, req, t.change_link_sent_text, &back),
            )
        }
        Err(AddressRefusal::Unavailable) => {
            ("store_unavailable", answers::error_page(app, req, 503))
        }
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
            )
            .await,
        ),
    }
}

/// POST `…/users/{id}/role`.
pub async fn role(app: &Arc<App>, req: &Req, live: Live, form: Form, id: &str) -> Outcome {
    let user = match console_user(app, req, &live, id).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    if !may_manage(&live, &user) {
        return ("forbidden", answers::error_page(app, req, 403));
    }
    if let Some(refused) = directory_owned(app, req, &user) {
        return refused;
    }
    let t = req.lang.texts();
    let back = paths::CONSOLE_USER.with(&user.id);
    let role = match form.get("role") {
        "admin" => Role::Admin,
        "user" => Role::User,
        _ => return ("bad_request", answers::error_page(app, req, 400)),
    };
    match app.store.set_role(&user.id, role).await {
        Ok(changed) => {
            // Open sessions carry the role: they read it again.
            app.sessions.forget_user(&changed.id);
            audit::event(
                crate::audit::Event::RoleChanged,
                &who(&live, req),
                &format!("user={} role={}", changed.id, role.as_str()),
            );
            ("role_changed", done(app, req, t.role_changed_text, &back))
        }
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}

/// POST `…/users/{id}/reset-two-step`.
pub async fn reset_two_step(
    app: &Arc<App>,
    req: &Req,
    live: Live,
    form: Form,
    id: &str,
) -> Outcome {
    let user = match console_user(app, req, &live, id).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    if user.two_step.is_none() {
        return ("forbidden", answers::error_page(app, req, 403));
    }
    let t = req.lang.texts();
    let back = paths::CONSOLE_USER.with(&user.id);
    if form.get("confirmed") != "yes" {
        let c = Confirmation {
            title: t.reset_two_step_confirm_title,
            text: t.reset_two_step_confirm_text,
            address: user.email.clone(),
            consequence: t.reset_two_step_confirm_forgets,
            hidden: Vec::new(),
            confirm_label: t.reset_two_step_confirm_button,
            danger: false,
        };
        return (
            "reset_two_step_confirm",
            confirm_page(app, req, &live, &user, &back, c),
        );
    }
    match app.store.reset_two_step(&user.id).await {
        Ok(_) => {
            app.sessions.forget_user(&user.id);
            audit::event(
                crate::audit::Event::TwoStepReset,
                &who(&live, req),
                &format!("user={} by=console", user.id),
            );
            (
                "two_step_reset",
                done(app, req, t.reset_two_step_done_text, &back),
            )
        }
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}

/// POST `…/users/{id}/revoke-passkeys`.
pub async fn revoke_passkeys(
    app: &Arc<App>,
    req: &Req,
    live: Live,
    form: Form,
    id: &str,
) -> Outcome {
    let user = match console_user(app, req, &live, id).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    let t = req.lang.texts();
    let back = paths::CONSOLE_USER.with(&user.id);
    if form.get("confirmed") != "yes" {
        let c = Confirmation {
            title: t.revoke_passkeys_confirm_title,
            text: t.revoke_passkeys_confirm_text,
            address: user.email.clone(),
            consequence: t.revoke_passkeys_confirm_consequence,
            hidden: Vec::new(),
            confirm_label: t.revoke_passkeys_button,
            danger: true,
        };
        return (
            "revoke_passkeys_confirm",
            confirm_page(app, req, &live, &user, &back, c),
        );
    }
    match app.store.remove_passkeys(&user.id).await {
        Ok(n) => {
            audit::event(
                crate::audit::Event::PasskeysRevoked,
                &who(&live, req),
                &format!("user={} count={n} by=console", user.id),
            );
            (
                "passkeys_revoked",
                done(app, req, t.revoke_passkeys_done_text, &back),
            )
        }
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}

/// POST `…/users/{id}/remove`.
pub async fn remove(app: &Arc<App>, req: &Req, live: Live, form: Form, id: &str) -> Outcome {
    let user = match console_user(app, req, &live, id).await {
        Ok(u) => u,
        Err(o) => return o,
    };
    if !may_manage(&live, &user) {
        return ("forbidden", answers::error_page(app, req, 403));
    }
    if let Some(refused) = directory_owned(app, req, &user) {
        return refused;
    }
    let t = req.lang.texts();
    let back = paths::CONSOLE_USER.with(&user.id);
    if form.get("confirmed") != "yes" {
        let c = Confirmation {
            title: t.remove_confirm_title,
            text: t.remove_confirm_text,
            address: user.email.clone(),
            consequence: t.remove_confirm_sessions,
            hidden: Vec::new(),
            confirm_label: t.remove_confirm_button,
            danger: true,
        };
        return (
            "remove_confirm",
            confirm_page(app, req, &live, &user, &back, c),
        );
    }
    match app.store.remove_user(&user.id).await {
        Ok(ended) => {
            forget_all(app, &ended);
            audit::event(
                crate::audit::Event::UserRemoved,
                &who(&live, req),
                &format!("user={} sessions_ended={}", user.id, ended.len()),
            );
            (
                "user_removed",
                done(app, req, t.user_removed_text, paths::CONSOLE),
            )
        }
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::user;

    fn listing(search: &str, status: &'static str, sort: &'static str, page: usize) -> Listing {
        Listing {
            search: search.into(),
            status,
            sort,
            page,
        }
    }

    fn tenant_of(n: usize) -> Vec<User> {
        (0..n)
            .map(|i| {
                let mut u = user(
                    &format!("u{i:03}"),
                    "t1",
                    &format!("staff{i:03}@example.jp"),
                );
                u.name = format!("社員 {i:03}");
                u.status = UserStatus::Active;
                u.locked = i % 10 == 0;
                u.last_login_at = Some(1_000 + i as i64);
                u
            })
            .collect()
    }

    #[test]
    fn hundreds_of_users_come_in_pages_of_fifty() {
        let (shown, page, pages, total) = listing("", "all", "name", 1).apply(tenant_of(120));
        assert_eq!((shown.len(), page, pages, total), (50, 1, 3, 120));
        let (shown, page, _, _) = listing("", "all", "name", 9).apply(tenant_of(120));
        assert_eq!(
            (shown.len(), page),
            (20, 3),
            "a page past the end is the last"
        );
        assert_eq!(shown[0].name, "社員 100");
    }

    #[test]
    fn search_filters_and_order_combine() {
        let (shown, _, _, total) = listing("STAFF01", "all", "name", 1).apply(tenant_of(120));
        assert_eq!(total, 10, "staff010..staff019, case and width folded");
        assert!(shown.iter().all(|u| u.email.starts_with("staff01")));
        let (shown, _, _, total) = listing("", "locked", "name", 1).apply(tenant_of(120));
        assert_eq!(total, 12);
        assert!(shown.iter().all(|u| u.locked));
        let (shown, _, _, _) = listing("社員", "active", "last_login", 1).apply(tenant_of(120));
        assert_eq!(shown[0].name, "社員 119", "newest login first");
        assert!(shown.iter().all(|u| !u.locked));
    }

    #[test]
    fn a_page_link_keeps_the_search() {
        assert_eq!(
            listing("山田 太郎", "invited", "email", 1).href(2),
            format!(
                "{}?q=%E5%B1%B1%E7%94%B0+%E5%A4%AA%E9%83%8E&status=invited&sort=email&page=2",
                paths::CONSOLE
            )
        );
    }
}
