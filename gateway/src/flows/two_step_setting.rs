//! 2段階認証設定 (manual §5-1): the contract holder turns two-step
//! verification on or off for every password user of the tenant, through
//! a confirmation page (設定確認) whose "上記の説明を確認しました。" box
//! must be ticked.

use super::{read_session_post, require_session, Outcome};
use crate::audit::{self, Who};
use crate::sessions::Live;
use crate::state::App;
use crate::web::{Answer, Req};
use pingora::proxy::Session;
use sekisho_pages::{render, FormPage, Select};
use std::sync::Arc;

const PATH: &str = "/.sekisho/menu/two-step";

fn label(t: &sekisho_pages::Texts, on: bool) -> &'static str {
    if on {
        t.two_step_enable
    } else {
        t.two_step_disable
    }
}

/// The setting screen: a choice of on and off, with the warnings.
fn choice_page(app: &App, req: &Req, live: &Live, status: u16, problems: Vec<String>) -> Answer {
    let c = app.chrome(req);
    let t = c.t;
    let on = live.view.tenant.two_step_enabled;
    let mut intro = vec![
        t.two_step_setting_intro,
        t.two_step_setting_warning,
        t.two_step_line_only_note,
    ];
    if live.view.tenant.access_route == sekisho_policy::line::AccessRoute::LineOnly {
        intro.push(t.two_step_forced_off);
    }
    let html = render(&FormPage {
        c: &c,
        title: t.two_step_setting_title,
        intro,
        facts: vec![(t.setting_current, label(t, on).to_string())],
        problems,
        action: PATH,
        csrf: &app.csrf(&live.id_hash),
        hidden: Vec::new(),
        fields: Vec::new(),
        select: Some(Select {
            label: t.two_step_setting_title,
            name: "enabled",
            options: vec![
                ("on", t.two_step_enable, on),
                ("off", t.two_step_disable, !on),
            ],
        }),
        checkbox: None,
        extra: Vec::new(),
        rule: false,
        submit: t.set_button,
        back: Some(("/.sekisho/menu", t.back_button)),
        guide: None,
    });
    Answer::html(status, html)
}

fn confirm_page(app: &App, req: &Req, live: &Live, new: bool, problems: Vec<String>) -> Answer {
    let c = app.chrome(req);
    let t = c.t;
    let on = live.view.tenant.two_step_enabled;
    let html = render(&FormPage {
        c: &c,
        title: t.setting_confirm_title,
        intro: vec![
            t.setting_confirm_intro,
            t.setting_confirm_note_risk,
            t.setting_confirm_note_federated,
        ],
        facts: vec![
            (t.setting_current, label(t, on).to_string()),
            (t.setting_new, label(t, new).to_string()),
        ],
        problems,
        action: "/.sekisho/menu/two-step/confirm",
        csrf: &app.csrf(&live.id_hash),
        hidden: vec![("enabled", if new { "on" } else { "off" }.to_string())],
        fields: Vec::new(),
        select: None,
        checkbox: Some(("understood", t.setting_confirm_check)),
        extra: Vec::new(),
        rule: false,
        submit: t.set_button,
        back: Some((PATH, t.cancel_link)),
        guide: None,
    });
    Answer::html(200, html)
}

fn parse_choice(v: &str) -> Option<bool> {
    match v {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

pub async fn show(app: &App, req: &Req) -> Outcome {
    match require_session(app, req).await {
        Ok(live) => (
            "two_step_setting",
            choice_page(app, req, &live, 200, Vec::new()),
        ),
        Err(o) => o,
    }
}

/// POST of the choice: on to the confirmation page.
pub async fn submit(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let (live, form) = match read_session_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let t = req.lang.texts();
    match parse_choice(form.get("enabled")) {
        None => (
            "bad_choice",
            choice_page(app, req, &live, 400, vec![t.error_400_text.to_string()]),
        ),
        Some(new) if new == live.view.tenant.two_step_enabled => (
            "setting_unchanged",
            choice_page(app, req, &live, 200, vec![t.setting_unchanged.to_string()]),
        ),
        Some(new) => (
            "two_step_setting_confirm",
            confirm_page(app, req, &live, new, Vec::new()),
        ),
    }
}

/// POST of the confirmation: applies the setting once the box is ticked.
pub async fn confirm(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    let (live, form) = match read_session_post(app, session, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let t = req.lang.texts();
    let Some(new) = parse_choice(form.get("enabled")) else {
        return (
            "bad_choice",
            choice_page(app, req, &live, 400, vec![t.error_400_text.to_string()]),
        );
    };
    if form.get("understood") != "yes" {
        return (
            "not_ticked",
            confirm_page(
                app,
                req,
                &live,
                new,
                vec![t.setting_confirm_not_ticked.to_string()],
            ),
        );
    }
    let tenant = match app
        .store
        .set_two_step_enabled(&live.view.tenant.id, new)
        .await
    {
        Ok(t) => t,
        Err(_) => return ("store_unavailable", app.error_page(req, 503)),
    };
    // The menu's own view of the tenant is cached with the session.
    app.sessions.forget(&live.id_hash);
    let who = Who {
        user_id: Some(&live.view.user.id),
        tenant_id: Some(&tenant.id),
        client_ip: Some(&req.client_ip),
        route: None,
    };
    audit::event(
        crate::audit::Event::TwoStepSettingChanged,
        &who,
        if tenant.two_step_enabled { "on" } else { "off" },
    );
    (
        "two_step_setting_changed",
        app.message_page(
            req,
            200,
            t.setting_done_title,
            t.setting_done_text,
            Some(("/.sekisho/menu", t.back_to_menu)),
        ),
    )
}
