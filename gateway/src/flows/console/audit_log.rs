//! The console's 監査ログ: the tenant's recent security events (sign-ins,
//! locks, setting and user changes), newest first, paged by `before`
//! (the oldest event's number on the page). Holders and admins only, as
//! every console page (the gate's `Place::Console`).
//!
//! For an office of hundreds: filters by user (name or address), event and
//! JST dates, a page size, every user named by name and address (never an
//! id), and the details in the page's language.

use crate::answers;
use crate::flows::Outcome;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::store::{AuditRecord, User};
use crate::web::Answer;
use sekisho_pages::audit_labels::{detail_text, event_label};
use sekisho_pages::{render, AdminEventsPage, AuditFilters, AuditRow};
use sekisho_policy::paths;
use std::collections::HashMap;

/// The page sizes offered; the first is the default.
const PAGE_SIZES: [usize; 3] = [50, 100, 200];
/// Records read per store call while filtering.
const BATCH: usize = 500;
/// Records a filtered page may read through before it shows what it has
/// (the store keeps `audit.keep_days`; this bounds one request's work).
const SCAN_LIMIT: usize = 10_000;

/// What the page was asked for, read from the query; `None` for a value
/// no form sends.
struct Asked {
    before: Option<i64>,
    user: String,
    event: String,
    /// JST days as typed (YYYY-MM-DD), and the Unix times they bound.
    from: (String, Option<i64>),
    to: (String, Option<i64>),
    per: usize,
}

fn asked(req: &Req) -> Option<Asked> {
    let param = |name| req.query_param(name).unwrap_or_default();
    let before = match req.query_param("before") {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n > 0)?),
    };
    let per = match param("per").as_str() {
        "" => PAGE_SIZES[0],
        v => *PAGE_SIZES.iter().find(|n| n.to_string() == v)?,
    };
    let day = |name| -> Option<(String, Option<i64>)> {
        let typed = param(name).trim().to_string();
        if typed.is_empty() {
            return Some((typed, None));
        }
        let start = jst_day_start(&typed)?;
        Some((typed, Some(start)))
    };
    let event = param("event");
    if !event.is_empty() && !crate::audit::Event::ALL.iter().any(|e| e.as_str() == event) {
        return None;
    }
    Some(Asked {
        before,
        user: param("user").trim().to_string(),
        event,
        from: day("from")?,
        to: day("to")?,
        per,
    })
}

/// The Unix time a JST day (YYYY-MM-DD) starts at.
fn jst_day_start(day: &str) -> Option<i64> {
    let mut parts = day.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 - 9 * 3600)
}

impl Asked {
    fn keeps(&self, r: &AuditRecord, users: &HashMap<&str, &User>) -> bool {
        if !self.event.is_empty() && r.event != self.event {
            return false;
        }
        if self.from.1.is_some_and(|from| r.at < from) {
            return false;
        }
        if self.to.1.is_some_and(|to| r.at >= to + 86_400) {
            return false;
        }
        if self.user.is_empty() {
            return true;
        }
        let wanted = self.user.to_lowercase();
        // The event's user, or the user its detail names (user=ID).
        let named = r.detail.split(' ').filter_map(|t| t.strip_prefix("user="));
        r.user_id.as_deref().into_iter().chain(named).any(|id| {
            users.get(id).is_some_and(|u| {
                u.email.to_lowercase().contains(&wanted) || u.name.to_lowercase().contains(&wanted)
            })
        })
    }

    /// This page's link with `before` set (the filters kept).
    fn href(&self, before: Option<i64>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("user", self.user.as_str()),
            ("event", self.event.as_str()),
            ("from", self.from.0.as_str()),
            ("to", self.to.0.as_str()),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if self.per != PAGE_SIZES[0] {
            q.append_pair("per", &self.per.to_string());
        }
        if let Some(b) = before {
            q.append_pair("before", &b.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            paths::CONSOLE_EVENTS.to_string()
        } else {
            format!("{}?{q}", paths::CONSOLE_EVENTS)
        }
    }
}

pub async fn show(app: &App, req: &Req, live: Live) -> Outcome {
    let Some(asked) = asked(req) else {
        return ("bad_request", answers::error_page(app, req, 400));
    };
    let tenant = &live.view.tenant.id;
    let users = match app.store.list_users(Some(tenant)).await {
        Ok(u) => u,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let by_id: HashMap<&str, &User> = users.iter().map(|u| (u.id.as_str(), u)).collect();
    // Filtered pages read on in batches: one more than a page says whether
    // an older one exists.
    let mut kept: Vec<AuditRecord> = Vec::new();
    let mut cursor = asked.before;
    let mut scanned = 0;
    let mut cut_short = false;
    loop {
        let batch = match app.store.recent_audit(tenant, cursor, BATCH).await {
            Ok(b) => b,
            Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
        };
        let last = batch.len() < BATCH;
        scanned += batch.len();
        cursor = batch.last().map(|r| r.seq);
        let older_than_from = batch
            .last()
            .is_some_and(|r| asked.from.1.is_some_and(|from| r.at < from));
        kept.extend(batch.into_iter().filter(|r| asked.keeps(r, &by_id)));
        if kept.len() > asked.per || last || older_than_from {
            break;
        }
        if scanned >= SCAN_LIMIT {
            cut_short = true;
            break;
        }
    }
    let more = kept.len() > asked.per || cut_short;
    kept.truncate(asked.per);
    let c = answers::chrome(app, req);
    let t = c.t;
    let name_of = |id: &str| by_id.get(id).map(|u| format!("{} ({})", u.name, u.email));
    let rows = kept
        .iter()
        .map(|r| AuditRow {
            time: sekisho_pages::format_time(r.at, req.lang),
            event: event_label(t.lang_code, &r.event),
            user: match r.user_id.as_deref() {
                None => "-".to_string(),
                Some(id) => name_of(id).unwrap_or_else(|| t.audit_user_gone.to_string()),
            },
            route: match r.route.as_deref() {
                Some("internet") => t.audit_route_internet,
                Some("closed") => t.audit_route_closed,
                _ => "-",
            },
            client: r.client.clone().unwrap_or_else(|| "-".into()),
            detail: detail_text(t.lang_code, &r.detail, &name_of),
        })
        .collect();
    let mut events: Vec<(String, String, bool)> = crate::audit::Event::ALL
        .iter()
        .map(|e| {
            let name = e.as_str();
            (
                name.to_string(),
                event_label(t.lang_code, name),
                asked.event == name,
            )
        })
        .collect();
    events.sort_by(|a, b| a.1.cmp(&b.1));
    let filters = AuditFilters {
        user: asked.user.clone(),
        events,
        from: asked.from.0.clone(),
        to: asked.to.0.clone(),
        sizes: PAGE_SIZES
            .iter()
            .map(|n| (n.to_string(), *n == asked.per))
            .collect(),
    };
    let html = render(&AdminEventsPage {
        c: &c,
        rows,
        filters,
        keep_days: app.config.audit.keep_days,
        older_href: more
            .then(|| kept.last().map(|r| asked.href(Some(r.seq))))
            .flatten()
            .or_else(|| cut_short.then(|| asked.href(cursor))),
        newest_href: asked.before.is_some().then(|| asked.href(None)),
    });
    ("admin_events", Answer::html(200, html))
}

#[cfg(test)]
mod tests {
    use super::jst_day_start;

    #[test]
    fn a_jst_day_starts_at_midnight_in_japan() {
        // 2026-11-25 00:00 JST is 2026-11-24 15:00 UTC.
        assert_eq!(jst_day_start("2026-11-25"), Some(1_795_532_400));
        assert_eq!(jst_day_start("2026-13-01"), None);
        assert_eq!(jst_day_start("yesterday"), None);
    }
}
