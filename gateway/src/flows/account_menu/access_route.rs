//! アクセス経路設定 (manual §4-1): the contract holder chooses 回線認証+
//! インターネット or 回線認証のみ for the whole tenant, confirms on
//! アクセス経路変更確認, and gets the completion page. Line-only forces
//! two-step verification off; going back restores the tenant's setting.

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::Outcome;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::{render, AccessRoutePage, Texts};
use sekisho_policy::line::AccessRoute;
use sekisho_policy::paths;
use std::sync::Arc;

fn route_label(t: &Texts, r: AccessRoute) -> &'static str {
    match r {
        AccessRoute::LineAndInternet => t.route_line_and_internet,
        AccessRoute::LineOnly => t.route_line_only,
    }
}

fn two_step_label(t: &Texts, enabled: bool, route: AccessRoute) -> &'static str {
    match (route, enabled) {
        (AccessRoute::LineOnly, _) => t.two_step_forced_off_value,
        (_, true) => t.two_step_on,
        (_, false) => t.two_step_off,
    }
}

fn page(
    app: &App,
    req: &Req,
    live: &Live,
    confirm: Option<AccessRoute>,
    problems: Vec<String>,
) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    let tenant = &live.view.tenant;
    let current = tenant.access_route;
    let mut facts = vec![(t.setting_current, route_label(t, current).to_string())];
    let mut notes = Vec::new();
    if let Some(new) = confirm {
        facts.push((t.setting_new, route_label(t, new).to_string()));
        facts.push((
            t.two_step_label,
            format!(
                "{} → {}",
                two_step_label(t, tenant.two_step_enabled, current),
                two_step_label(t, tenant.two_step_enabled, new)
            ),
        ));
        notes.push(match new {
            AccessRoute::LineOnly => t.route_to_line_only_note,
            AccessRoute::LineAndInternet => t.route_back_note,
        });
        if new == AccessRoute::LineOnly && tenant.lines.is_empty() {
            notes.push(t.route_no_lines_warning);
        }
    } else {
        notes.push(t.lines_recovery_note);
    }
    let html = render(&AccessRoutePage {
        c: &c,
        csrf: &app.csrf.token(&live.id_hash),
        confirm: confirm.map(AccessRoute::as_str),
        line_only: current == AccessRoute::LineOnly,
        facts,
        notes,
        problems,
    });
    Answer::html(200, html)
}

pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    ("access_route", page(app, req, &live, None, Vec::new()))
}

/// POST of the choice: on to the confirmation page.
pub async fn submit(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    let t = req.lang.texts();
    match AccessRoute::parse(form.get("route")) {
        None => (
            "bad_choice",
            page(app, req, &live, None, vec![t.error_400_text.to_string()]),
        ),
        Some(new) if new == live.view.tenant.access_route => (
            "setting_unchanged",
            page(app, req, &live, None, vec![t.setting_unchanged.to_string()]),
        ),
        Some(new) => (
            "access_route_confirm",
            page(app, req, &live, Some(new), Vec::new()),
        ),
    }
}

/// POST of 変更: applies the route; open sessions see it on their next
/// request.
pub async fn confirm(app: &Arc<App>, req: &Req, live: Live, form: Form) -> Outcome {
    let t = req.lang.texts();
    let Some(new) = AccessRoute::parse(form.get("route")) else {
        return (
            "bad_choice",
            page(app, req, &live, None, vec![t.error_400_text.to_string()]),
        );
    };
    let tenant = match app.store.set_access_route(&live.view.tenant.id, new).await {
        Ok(t) => t,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    app.sessions.forget_tenant(&tenant.id);
    crate::metrics::ACCOUNT_EVENTS
        .with_label_values(&["access_route_changed"])
        .inc();
    let who = Who {
        user_id: Some(&live.view.user.id),
        tenant_id: Some(&tenant.id),
        client_ip: Some(&req.client_ip),
        route: Some(req.route),
    };
    audit::event(crate::audit::Event::AccessRouteChanged, &who, new.as_str());
    (
        "access_route_changed",
        answers::message_page(
            app,
            req,
            200,
            t.access_route_done_title,
            t.access_route_done_text,
            Some((paths::MENU, t.back_to_menu)),
        ),
    )
}
