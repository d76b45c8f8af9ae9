//! The one-time 回線情報通知設定 of a West line (PRODUCT §3.4, manual
//! §1-4): a closed-route session on a West line not yet consented passes
//! this page first. What the route and line refuse is in `refusals`.

use crate::answers;
use crate::audit::{self, Who};
use crate::flows::Outcome;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::web::Answer;
use crate::web::Form;
use sekisho_pages::render;
use sekisho_policy::line::is_west;
use sekisho_policy::model::Route;
use sekisho_policy::paths;
use sekisho_policy::return_path::safe_return_path;

/// GET: 回線情報通知設定, for a closed-route session on a West line not
/// yet consented.
pub async fn show_consent(app: &App, req: &Req, live: Live) -> Outcome {
    let Some(line) = live.view.session.line.as_deref().filter(|l| is_west(l)) else {
        return ("redirect", Answer::redirect("/"));
    };
    let c = answers::chrome(app, req);
    let t = c.t;
    let next = safe_return_path(&req.query_param("next").unwrap_or_else(|| "/".into()));
    let html = render(&sekisho_pages::FormPage {
        invalid: None,
        c: &c,
        title: t.line_consent_title,
        intro: vec![t.line_consent_intro],
        facts: vec![(t.lines_label, line.to_string())],
        problems: Vec::new(),
        action: paths::LINE_CONSENT,
        csrf: &app.csrf.token(&live.id_hash),
        hidden: vec![("next", next)],
        fields: Vec::new(),
        select: Some(sekisho_pages::Select {
            label: t.line_consent_title,
            name: "notify",
            options: vec![
                ("yes", t.line_consent_notify, true),
                ("no", t.line_consent_decline, false),
            ],
        }),
        checkbox: None,
        extra: Vec::new(),
        rule: false,
        submit: t.decide_button,
        back: None,
        guide: None,
    });
    ("line_consent", Answer::html(200, html))
}

/// POST: 決定. "通知する" records the consent for the line (tenant-wide,
/// once); "通知しない" leaves it, and the closed route stays closed.
pub async fn submit_consent(app: &App, req: &Req, live: Live, form: Form) -> Outcome {
    let Some(line) = live.view.session.line.clone().filter(|l| is_west(l)) else {
        return ("redirect", Answer::redirect("/"));
    };
    let t = req.lang.texts();
    if form.get("notify") != "yes" {
        return (
            "line_consent_declined",
            answers::message_page(
                app,
                req,
                200,
                t.line_consent_title,
                t.line_consent_declined_text,
                Some((paths::LOGOUT, t.logout_button)),
            ),
        );
    }
    let tenant = match app.store.consent_line(&live.view.tenant.id, &line).await {
        Ok(t) => t,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    app.sessions.forget_tenant(&tenant.id);
    let who = Who {
        user_id: Some(&live.view.user.id),
        tenant_id: Some(&tenant.id),
        route: Some(Route::Closed),
        client_ip: Some(&req.client_ip),
    };
    audit::event(crate::audit::Event::LineConsentGiven, &who, &line);
    let next = safe_return_path(form.get("next"));
    ("line_consent_given", Answer::redirect(&next))
}
