//! 回線認証 in the admin console (manual §4-2): the access route and the
//! tenant's line numbers, saved together. Malformed numbers are refused one
//! by one with the expected form; nothing is saved until all are right.

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::Outcome;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::{render, ConfirmPage, LineSettingsPage};
use sekisho_policy::line::{normalize_line, AccessRoute, LineProblem};
use sekisho_policy::paths;

/// Most lines one tenant registers.
const MAX_LINES: usize = 100;

fn page(
    app: &App,
    req: &Req,
    live: &Live,
    route: AccessRoute,
    lines: String,
    notice: Option<&str>,
    problems: Vec<String>,
) -> Answer {
    let c = answers::chrome(app, req);
    let status = if problems.is_empty() { 200 } else { 400 };
    let html = render(&LineSettingsPage {
        c: &c,
        csrf: &app.csrf.token(&live.id_hash),
        line_only: route == AccessRoute::LineOnly,
        lines,
        notice,
        problems,
    });
    Answer::html(status, html)
}

pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    let tenant = &live.view.tenant;
    let lines = tenant.lines.join("\n");
    let saved = req.query_param("saved").is_some();
    let notice = saved.then_some(req.lang.texts().lines_saved);
    (
        "line_settings",
        page(
            app,
            req,
            &live,
            tenant.access_route,
            lines,
            notice,
            Vec::new(),
        ),
    )
}

/// POST 保存: the route and the whole list of lines.
pub async fn submit(app: &App, req: &Req, live: Live, form: Form) -> Outcome {
    let t = req.lang.texts();
    let typed = form.get("lines");
    let mut problems = Vec::new();
    let route = match AccessRoute::parse(form.get("route")) {
        Some(r) => r,
        None => {
            problems.push(t.error_400_text.to_string());
            live.view.tenant.access_route
        }
    };
    let mut lines: Vec<String> = Vec::new();
    for raw in typed.lines() {
        match normalize_line(raw) {
            Ok(l) if !lines.contains(&l) => lines.push(l),
            Ok(_) | Err(LineProblem::Empty) => {}
            Err(LineProblem::Malformed) => {
                problems.push(format!("{}{}", t.line_malformed, raw.trim()));
            }
        }
    }
    if lines.len() > MAX_LINES {
        problems.push(t.lines_too_many.to_string());
    }
    if !problems.is_empty() {
        return (
            "lines_refused",
            page(app, req, &live, route, typed.to_string(), None, problems),
        );
    }
    // Switching to line only, or removing lines (which ends their
    // sessions), is confirmed first.
    let current = &live.view.tenant;
    let removed: Vec<&str> = current
        .lines
        .iter()
        .filter(|l| !lines.contains(l))
        .map(String::as_str)
        .collect();
    let to_line_only =
        route == AccessRoute::LineOnly && current.access_route != AccessRoute::LineOnly;
    if (to_line_only || !removed.is_empty()) && form.get("confirmed") != "yes" {
        let route_label = match route {
            AccessRoute::LineOnly => t.route_line_only,
            AccessRoute::LineAndInternet => t.route_line_and_internet,
        };
        let removed_text = format!("{}{}", t.lines_confirm_removed, removed.join(", "));
        let mut consequences = Vec::new();
        if to_line_only {
            consequences.push(t.lines_confirm_line_only);
        }
        if !removed.is_empty() {
            consequences.push(removed_text.as_str());
        }
        let page = ConfirmPage {
            c: &answers::chrome(app, req),
            title: t.lines_confirm_title,
            text: t.lines_confirm_text,
            facts: vec![
                (t.lines_confirm_route, route_label.to_string()),
                (t.lines_confirm_count, lines.len().to_string()),
            ],
            consequences,
            action: paths::CONSOLE_LINES,
            csrf: &app.csrf.token(&live.id_hash),
            hidden: vec![
                ("route", route.as_str().to_string()),
                ("lines", lines.join("\n")),
            ],
            confirm_label: t.save_confirm_button,
            cancel_href: paths::CONSOLE_LINES,
            danger: to_line_only,
        };
        return ("lines_confirm", Answer::html(200, render(&page)));
    }
    let tenant = match app
        .store
        .save_line_settings(&live.view.tenant.id, route, lines)
        .await
    {
        Ok(t) => t,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    // Removed lines end their closed-route sessions on the next request.
    app.sessions.forget_tenant(&tenant.id);
    crate::metrics::ACCOUNT_EVENTS
        .with_label_values(&["lines_changed"])
        .inc();
    let who = Who {
        user_id: Some(&live.view.user.id),
        tenant_id: Some(&tenant.id),
        client_ip: Some(&req.client_ip),
        route: Some(req.route),
    };
    audit::event(
        crate::audit::Event::LineSettingsChanged,
        &who,
        &format!(
            "{} lines, {}",
            tenant.lines.len(),
            tenant.access_route.as_str()
        ),
    );
    (
        "line_settings_saved",
        Answer::redirect(&format!("{}?saved=1", paths::CONSOLE_LINES)),
    )
}
