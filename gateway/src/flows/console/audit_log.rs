//! The console's 監査ログ: the tenant's recent security events (sign-ins,
//! locks, setting and user changes), newest first, paged by `before`
//! (the oldest event's number on the page). Holders and admins only, as
//! every console page (the gate's `Place::Console`).

use crate::answers;
use crate::flows::Outcome;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::web::Answer;
use sekisho_pages::audit_labels::event_label;
use sekisho_pages::{render, AdminEventsPage, AuditRow};
use sekisho_policy::paths;
use std::collections::HashMap;

/// Events per page.
const PAGE_SIZE: usize = 50;

pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    let before = match req.query_param("before") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => return ("bad_request", answers::error_page(app, req, 400)),
        },
    };
    let tenant = &live.view.tenant.id;
    // One more than a page: whether an older page exists.
    let (records, users) = match tokio::try_join!(
        app.store.recent_audit(tenant, before, PAGE_SIZE + 1),
        app.store.list_users(Some(tenant)),
    ) {
        Ok(found) => found,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let emails: HashMap<&str, &str> = users
        .iter()
        .map(|u| (u.id.as_str(), u.email.as_str()))
        .collect();
    let c = answers::chrome(app, req);
    let t = c.t;
    let more = records.len() > PAGE_SIZE;
    let shown = &records[..records.len().min(PAGE_SIZE)];
    let rows = shown
        .iter()
        .map(|r| AuditRow {
            time: sekisho_pages::format_time(r.at, req.lang),
            event: event_label(t.lang_code, &r.event),
            user: match r.user_id.as_deref() {
                None => "-".to_string(),
                Some(id) => emails
                    .get(id)
                    .map_or_else(|| t.audit_user_gone.to_string(), |e| e.to_string()),
            },
            route: match r.route.as_deref() {
                Some("internet") => t.audit_route_internet,
                Some("closed") => t.audit_route_closed,
                _ => "-",
            },
            client: r.client.clone().unwrap_or_else(|| "-".into()),
            detail: r.detail.clone(),
        })
        .collect();
    let html = render(&AdminEventsPage {
        c: &c,
        rows,
        keep_days: app.config.audit.keep_days,
        older_href: more
            .then(|| {
                shown
                    .last()
                    .map(|r| format!("{}?before={}", paths::CONSOLE_EVENTS, r.seq))
            })
            .flatten(),
        newest_href: before.is_some().then_some(paths::CONSOLE_EVENTS),
    });
    ("admin_events", Answer::html(200, html))
}
