//! パスワード変更 (manual §3): the current password (tried like a login, so
//! it counts toward the lock, S12), the new one twice with the rule shown.
//! Afterwards the user's other sessions end and a notice is mailed.

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::password_check::{self, Checked};
use crate::flows::{forget_all, Outcome};
use crate::hashing::HashError;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::{password_problems, render, Field, FormPage};
use sekisho_policy::model::Route;
use sekisho_policy::paths;
use std::sync::Arc;

/// The form; `problems` about the field named `invalid`, or the new
/// password when `None`. A password is never written back into a page.
fn form(
    app: &App,
    req: &Req,
    live: &Live,
    status: u16,
    (problems, invalid): (Vec<String>, Option<&str>),
) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let field = |label, name, autocomplete| Field {
        label,
        name,
        kind: "password",
        value: String::new(),
        autocomplete,
    };
    let html = render(&FormPage {
        invalid: invalid.or((!problems.is_empty()).then_some("password")),
        c: &c,
        title: t.item_password_change,
        intro: vec![t.password_change_intro],
        facts: vec![(t.email_label, live.view.user.email.clone())],
        problems,
        action: paths::MENU_PASSWORD,
        csrf: &app.csrf.token(&live.id_hash),
        hidden: Vec::new(),
        fields: vec![
            field(
                t.current_password_label,
                "current_password",
                "current-password",
            ),
            field(t.new_password_label, "password", "new-password"),
            field(
                t.new_password_confirm_label,
                "password_confirm",
                "new-password",
            ),
        ],
        select: None,
        checkbox: None,
        extra: Vec::new(),
        rule: true,
        submit: t.password_change_button,
        back: Some((paths::MENU, t.back_button)),
        guide: None,
    });
    Answer::html(status, html)
}

pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    (
        "password_change_page",
        form(app, req, &live, 200, (Vec::new(), None)),
    )
}

pub async fn submit(app: &Arc<App>, req: &Req, route: Route, live: Live, f: Form) -> Outcome {
    let t = req.lang.texts();
    let new_password = match app
        .check_new_password(f.get("password"), f.get("password_confirm"))
        .await
    {
        Ok(p) => p,
        Err(problems) => {
            return (
                "password_refused",
                form(
                    app,
                    req,
                    &live,
                    422,
                    (password_problems(t, &problems), None),
                ),
            )
        }
    };
    let user = &live.view.user;
    let who = Who {
        user_id: Some(&user.id),
        tenant_id: Some(&user.tenant_id),
        client_ip: Some(&req.client_ip),
        route: Some(route),
    };
    match password_check::check(app, &user.email, f.get("current_password"), &who).await {
        Checked::Valid(u) if u.id == user.id => {}
        Checked::Valid(_) | Checked::Invalid => {
            return (
                "current_password_wrong",
                form(
                    app,
                    req,
                    &live,
                    422,
                    (
                        vec![t.wrong_current_password.to_string()],
                        Some("current_password"),
                    ),
                ),
            )
        }
        Checked::Locked | Checked::LockedDown => {
            return (
                "locked",
                form(
                    app,
                    req,
                    &live,
                    422,
                    (vec![t.locked.to_string()], Some("current_password")),
                ),
            )
        }
        Checked::Busy => {
            return (
                "hash_busy",
                answers::error_page(app, req, 503).with_header("retry-after", "2".into()),
            )
        }
        Checked::Unavailable => return ("store_unavailable", answers::error_page(app, req, 503)),
    }
    let hash = match app.hasher.hash(new_password).await {
        Ok(h) => h,
        Err(HashError::Busy) => {
            return (
                "hash_busy",
                answers::error_page(app, req, 503).with_header("retry-after", "2".into()),
            )
        }
    };
    let ended = match app
        .store
        .change_password(&user.id, &hash, Some(&live.id_hash))
        .await
    {
        Ok(e) => e,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    forget_all(app, &ended);
    // This session's cached view holds the old password's standing (the
    // breach notice, S64): read afresh on the next page.
    app.sessions.forget(&live.id_hash);
    audit::event(
        crate::audit::Event::PasswordChanged,
        &who,
        &format!("other_sessions_ended={}", ended.len()),
    );
    let when = sekisho_pages::mail::format_jst(app.clock.now());
    let notice = sekisho_pages::mail::sign_in_changed_notice(
        &app.config.service_name,
        &user.name,
        "パスワード",
        &when,
        "他の端末からはログアウトしました。",
    );
    app.mailer
        .send_later("password_changed_notice", user.email.clone(), notice);
    let link = Some((paths::MENU, t.back_to_menu));
    (
        "password_changed",
        answers::message_page(
            app,
            req,
            200,
            t.password_changed_title,
            t.password_changed_text,
            link,
        ),
    )
}
