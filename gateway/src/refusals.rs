//! The answers that refuse: what every verdict of the gate but `Pass`
//! looks like, for the proxy, the pages' guards and the logins alike, and
//! the pages of a refused route or line (PRODUCT §3.4, manual §1-4).
//! Below both `proxy` and `flows`, so neither reaches into the other for a
//! refusal.

use crate::answers;
use crate::request::Req;
use crate::state::App;
use crate::web::Answer;
use pingora::proxy::Session;
use sekisho_pages::{render, MessagePage};
use sekisho_policy::gate::{Place, Verdict};
use sekisho_policy::line::Access;
use sekisho_policy::paths;
use sekisho_policy::plan::PlanState;
use sekisho_policy::request::is_browser_navigation;

pub type Outcome = (&'static str, Answer);

/// What every verdict but `Pass` looks like: the one place that turns a
/// refusal into a page, for the proxy, the pages' guard and the logins.
pub fn refusal(app: &App, req: &Req, place: Place, verdict: Verdict) -> Outcome {
    let clear = |answer: Answer, clear_cookie: bool| {
        if clear_cookie {
            answer.with_cookie(app.cookies.clear(app.cookies.session))
        } else {
            answer
        }
    };
    match verdict {
        Verdict::SignIn { clear_cookie } => {
            let next: String = form_urlencoded::byte_serialize(req.here().as_bytes()).collect();
            let (outcome, login) = match place {
                Place::Upstream => ("unauthenticated", paths::LOGIN),
                _ => ("menu_login_required", paths::MENU_LOGIN),
            };
            let answer = Answer::redirect(&format!("{login}?next={next}"));
            (outcome, clear(answer, clear_cookie))
        }
        Verdict::Unauthorized { clear_cookie } => (
            "unauthenticated",
            clear(answers::error_page(app, req, 401), clear_cookie),
        ),
        Verdict::PlanEnded(state) => ("trial_ended", trial_ended(app, req, state)),
        Verdict::Route(access) => {
            // Pages are for browsers; only the proxied path asks.
            let navigation = place != Place::Upstream || req.navigation;
            refuse(app, navigation, req, access)
        }
        Verdict::Forbidden => ("forbidden", answers::error_page(app, req, 403)),
        // A navigation goes through the refresh: a DBSC browser proves its
        // key on the way and comes back; anyone else is asked to sign in.
        Verdict::BindingRefresh if place != Place::Upstream || req.navigation => {
            let next: String = form_urlencoded::byte_serialize(req.here().as_bytes()).collect();
            let answer = Answer::redirect(&format!("{}?next={next}", paths::DBSC_REFRESH));
            ("binding_refresh", answer)
        }
        Verdict::BindingRefresh => ("binding_refresh", answers::error_page(app, req, 401)),
        Verdict::BindingRequired if place != Place::Upstream || req.navigation => {
            let t = req.lang.texts();
            let page = answers::message_page(
                app,
                req,
                403,
                t.binding_required_title,
                t.binding_required_text,
                Some((paths::LOGOUT, t.logout_title)),
            );
            ("binding_required", page)
        }
        Verdict::BindingRequired => ("binding_required", answers::error_page(app, req, 401)),
        // Not refusals: callers act on these themselves.
        Verdict::Pass | Verdict::SecondStep | Verdict::PasskeyRequired { .. } => {
            ("error", answers::error_page(app, req, 500))
        }
    }
}

/// The page for a tenant whose trial has ended (or that is closed).
pub fn trial_ended(app: &App, req: &Req, state: PlanState) -> Answer {
    let t = req.lang.texts();
    let text = if state == PlanState::Closed {
        t.tenant_closed_text
    } else {
        t.trial_ended_text
    };
    answers::message_page(app, req, 403, t.trial_ended_title, text, None)
}

/// The line-authentication error page, with the manual's two checks.
pub fn line_error_page(app: &App, req: &Req) -> Answer {
    line_error_page_for(app, req, None)
}

/// The line error, for a sign-in under way as `who` (whose password was
/// right): the page says whose it is, with the way to another account.
pub fn line_error_page_for(app: &App, req: &Req, who: Option<&str>) -> Answer {
    let c = answers::chrome(app, req);
    let t = c.t;
    // The line this request came from, as the carrier's edge gave it: what
    // the holder compares with the registered numbers.
    let seen = match req.line.as_deref() {
        Some(line) => format!("{}{line}", t.line_seen_label),
        None => t.line_not_seen.to_string(),
    };
    Answer::html(
        403,
        render(&MessagePage {
            who,
            c: &c,
            title: t.line_error_title,
            text: t.line_error_text,
            checks: vec![t.line_check_settings, t.line_check_number, &seen],
            links: vec![(paths::LOGIN, t.back_to_login)],
            reference: None,
        }),
    )
}

/// The page for a line-only tenant's user on the internet route.
pub fn line_only_page(app: &App, req: &Req) -> Answer {
    let t = req.lang.texts();
    answers::message_page(
        app,
        req,
        403,
        t.line_only_title,
        t.line_only_text,
        Some((paths::MENU_LOGIN, t.menu_link)),
    )
}

/// Counts a refusal by its reason.
pub fn count(access: Access) {
    let reason = match access {
        Access::Allowed => return,
        Access::LineOnly => "line_only",
        Access::LineMissing => "missing",
        Access::LineUnregistered => "unregistered",
        Access::ConsentNeeded => "consent_needed",
        Access::OtherRoute => "other_route",
    };
    crate::metrics::LINE_AUTH_FAILURES
        .with_label_values(&[reason])
        .inc();
}

/// Whether a request is a browser's page navigation.
pub fn is_navigation(session: &Session, req: &Req) -> bool {
    let headers = &session.req_header().headers;
    let mode = headers.get("sec-fetch-mode").and_then(|v| v.to_str().ok());
    let accept = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    is_browser_navigation(&req.method, mode, accept)
}

/// The answer to a signed-in request its route does not allow.
pub fn refuse(app: &App, navigation: bool, req: &Req, access: Access) -> Outcome {
    count(access);
    match access {
        Access::LineOnly => ("line_only", line_only_page(app, req)),
        Access::LineMissing | Access::LineUnregistered => {
            ("line_auth_failed", line_error_page(app, req))
        }
        Access::ConsentNeeded => {
            if navigation {
                let next: String = form_urlencoded::byte_serialize(req.here().as_bytes()).collect();
                (
                    "line_consent_needed",
                    Answer::redirect(&format!(
                        "{LINE_CONSENT}?next={next}",
                        LINE_CONSENT = paths::LINE_CONSENT
                    )),
                )
            } else {
                ("line_consent_needed", answers::error_page(app, req, 403))
            }
        }
        Access::OtherRoute => ("unauthenticated", answers::error_page(app, req, 401)),
        Access::Allowed => ("error", answers::error_page(app, req, 500)),
    }
}

/// The JSON answer of a challenge request that cannot be served.
pub fn json_refusal(status: u16, word: &'static str) -> Outcome {
    (
        word,
        Answer::json(status, format!("{{\"error\":\"{word}\"}}")),
    )
}

/// Applies the per-address limit for `endpoint`; `Some` is the 429 page.
pub fn throttled(app: &App, req: &Req, endpoint: &'static str) -> Option<Answer> {
    let ip: std::net::IpAddr = req.client_ip.parse().ok()?;
    let refused = app.throttle.check(ip).err()?;
    Some(throttle_page(app, req, endpoint, refused))
}

/// Applies the per-address and per-account limits for a request naming
/// `account` (a canonical login identifier); `Some` is the 429 page.
pub fn throttled_account(
    app: &App,
    req: &Req,
    endpoint: &'static str,
    account: &str,
) -> Option<Answer> {
    let ip: std::net::IpAddr = req.client_ip.parse().ok()?;
    let refused = app.throttle.check_account(ip, account).err()?;
    Some(throttle_page(app, req, endpoint, refused))
}

/// The login limits for a login that passed the CSRF check and carried a
/// password: the only attempts they count (S56). `Some` is the wait in
/// whole seconds, counted and audited; the login page says it and sends
/// it as `Retry-After`, from the one figure.
pub fn login_wait(req: &Req, app: &App, account: &str) -> Option<u64> {
    let ip: std::net::IpAddr = req.client_ip.parse().ok()?;
    let refused = app.throttle.check_login(ip, account).err()?;
    Some(note_throttled(req, "login", refused))
}

fn throttle_page(
    app: &App,
    req: &Req,
    endpoint: &'static str,
    refused: (crate::throttle::Limit, std::time::Duration),
) -> Answer {
    let seconds = note_throttled(req, endpoint, refused);
    answers::error_page(app, req, 429).with_header("retry-after", seconds.to_string())
}

/// Counts and audits a throttled request; the wait in whole seconds,
/// rounded up (never 0).
fn note_throttled(
    req: &Req,
    endpoint: &'static str,
    (limit, wait): (crate::throttle::Limit, std::time::Duration),
) -> u64 {
    crate::metrics::THROTTLED
        .with_label_values(&[endpoint, limit.as_str()])
        .inc();
    crate::audit::event(
        crate::audit::Event::Throttled,
        &crate::audit::Who {
            client_ip: Some(&req.client_ip),
            ..Default::default()
        },
        &format!("{endpoint} {}", limit.as_str()),
    );
    wait.as_secs_f64().ceil().max(1.0) as u64
}
