//! The gateway's own pages under `/.sekisho/`: one file per flow, one
//! dispatcher here. Every handler returns an outcome word (for metrics) and
//! an [`Answer`]; state changes only on POST, after the same-site and CSRF
//! checks (S34).

mod access_route;
mod active_directory;
mod ad_setting;
mod admin_console;
mod audit_log;
mod email_change;
mod federation;
mod forgot;
mod line_settings;
mod login;
mod logout;
mod menu;
pub mod method_change;
mod misc;
mod passkey_enrolment;
mod passkey_login;
mod passkey_policy;
mod passkeys;
mod password_change;
mod password_check;
mod providers;
mod register;
mod reset;
pub mod route_access;
mod setting_switch;
mod trusted_browsers;
mod two_step;
mod two_step_setting;
mod unlock;

use crate::request::standing;
use crate::sessions::Live;
use crate::state::App;
use crate::web::{read_form, Answer, Form, FormError, Req};
use login::Kind;
use pingora::proxy::Session;
use sekisho_policy::gate::{gate, Place, Verdict};
use sekisho_policy::menu::MenuItem;
use sekisho_policy::model::Route;
use sekisho_policy::request::is_cross_site;
use sekisho_policy::ticket::TicketPurpose;
use std::sync::Arc;

pub type Outcome = (&'static str, Answer);

/// Every fixed gateway path; other methods on these get 405.
const KNOWN_PATHS: [&str; 63] = [
    "/.sekisho/ad/start",
    "/.sekisho/ad/find",
    "/.sekisho/menu/ad",
    "/.sekisho/federation/start",
    "/.sekisho/federation/callback",
    "/.sekisho/line/consent",
    "/.sekisho/menu/access-route",
    "/.sekisho/menu/access-route/confirm",
    "/.sekisho/admin/lines",
    "/.sekisho/2fa",
    "/.sekisho/2fa/sms",
    "/.sekisho/2fa/sms/send",
    "/.sekisho/2fa/app",
    "/.sekisho/2fa/recovery",
    "/.sekisho/2fa/saved",
    "/.sekisho/2fa/cancel",
    "/.sekisho/menu/two-step",
    "/.sekisho/menu/two-step/confirm",
    "/.sekisho/menu/browsers",
    "/.sekisho/menu/browsers/revoke",
    "/.sekisho/login",
    "/.sekisho/logout",
    "/.sekisho/register",
    "/.sekisho/forgot",
    "/.sekisho/reset",
    "/.sekisho/unlock",
    "/.sekisho/unlock/resend",
    "/.sekisho/email/confirm",
    "/.sekisho/method",
    "/.sekisho/menu",
    "/.sekisho/menu/login",
    "/.sekisho/menu/password",
    "/.sekisho/menu/email",
    "/.sekisho/menu/method",
    "/.sekisho/menu/sessions",
    "/.sekisho/menu/sessions/end",
    "/.sekisho/menu/sessions/end-all",
    "/.sekisho/admin",
    "/.sekisho/admin/",
    "/.sekisho/admin/invite",
    "/.sekisho/admin/events",
    "/.sekisho/jwks.json",
    "/.sekisho/healthz",
    "/.sekisho/readyz",
    "/.sekisho/static/sekisho.css",
    "/.sekisho/static/brand.css",
    "/.sekisho/static/logo",
    "/.sekisho/static/favicon",
    "/.sekisho/lang",
    "/.sekisho/admin/users",
    "/.sekisho/passkey/login",
    "/.sekisho/passkey/login/options",
    "/.sekisho/2fa/passkey",
    "/.sekisho/2fa/passkey/options",
    "/.sekisho/menu/passkeys",
    "/.sekisho/menu/passkeys/options",
    "/.sekisho/menu/passkeys/add",
    "/.sekisho/menu/passkeys/rename",
    "/.sekisho/menu/passkeys/remove",
    passkey_enrolment::OPTIONS,
    passkey_enrolment::SUBMIT,
    passkey_policy::PATH,
    passkey_policy::CONFIRM,
];

/// Where a page shown after a POST to `path` switches language to: a page a
/// GET shows again. A form that a GET shows itself is that form; a step
/// whose page needs its mailed link goes to the login page; the menu's and
/// console's actions go to their menu; the last step of a login goes on to
/// the service.
pub fn landing_after_post(path: &str) -> &str {
    const SHOWN_BY_GET: &[&str] = &[
        "/.sekisho/login",
        "/.sekisho/forgot",
        "/.sekisho/2fa/sms",
        "/.sekisho/2fa/app",
        "/.sekisho/2fa/recovery",
        "/.sekisho/ad/start",
        "/.sekisho/line/consent",
        "/.sekisho/menu/login",
        "/.sekisho/menu/two-step",
        passkey_policy::PATH,
        "/.sekisho/menu/ad",
        "/.sekisho/menu/access-route",
        "/.sekisho/menu/browsers",
        "/.sekisho/menu/password",
        "/.sekisho/menu/email",
        "/.sekisho/menu/method",
        "/.sekisho/menu/sessions",
        "/.sekisho/admin/lines",
        "/.sekisho/admin/invite",
    ];
    if SHOWN_BY_GET.contains(&path) {
        return path;
    }
    match path {
        "/.sekisho/2fa/saved" => "/",
        "/.sekisho/2fa/cancel" => "/.sekisho/login",
        "/.sekisho/2fa/sms/send" => "/.sekisho/2fa/sms",
        p if p.starts_with("/.sekisho/2fa") => "/.sekisho/2fa",
        p if p.starts_with(passkeys::PATH) => passkeys::PATH,
        p if p.starts_with("/.sekisho/menu/") => "/.sekisho/menu",
        p if p.starts_with("/.sekisho/admin/") => "/.sekisho/admin/",
        _ => "/.sekisho/login",
    }
}

/// The page of a mailed link that is used, expired or wrong, with the next
/// step for its purpose: never a dead end.
pub fn link_unusable(app: &App, req: &Req, purpose: TicketPurpose) -> Outcome {
    let t = req.lang.texts();
    let login = ("/.sekisho/login", t.back_to_login);
    let (text, ways) = match purpose {
        TicketPurpose::Reset => (
            t.reset_invalid_text,
            vec![("/.sekisho/forgot", t.way_new_reset), login],
        ),
        TicketPurpose::Unlock => (
            t.unlock_invalid_text,
            vec![("/.sekisho/forgot", t.to_forgot), login],
        ),
        TicketPurpose::EmailChange => (
            t.email_change_invalid_text,
            vec![("/.sekisho/menu/email", t.way_new_email_change), login],
        ),
        TicketPurpose::MethodChange => (t.method_change_invalid_text, vec![login]),
        TicketPurpose::Invitation | TicketPurpose::Federation | TicketPurpose::Passkey => {
            (t.ticket_invalid_text, vec![login])
        }
    };
    let mut ways = ways;
    if let Some(contact) = &app.brand_ja.contact {
        ways.push((contact.as_str(), t.way_contact));
    }
    (
        "ticket_invalid",
        app.page_with_ways(req, 400, t.ticket_invalid_title, text, ways),
    )
}

/// Routes a gateway request to its flow.
pub async fn handle(app: &Arc<App>, session: &mut Session, req: &Req, route: Route) -> Outcome {
    let get = req.method == "GET" || req.method == "HEAD";
    let post = req.method == "POST";
    match req.path.as_str() {
        "/.sekisho/login" if get => login::show(app, req, Kind::Service),
        "/.sekisho/login" if post => login::submit(app, session, req, route, Kind::Service).await,
        "/.sekisho/logout" if get => logout::show(app, req).await,
        "/.sekisho/logout" if post => logout::submit(app, session, req).await,
        "/.sekisho/register" if get => register::show(app, req).await,
        "/.sekisho/register" if post => register::submit(app, session, req).await,
        "/.sekisho/forgot" if get => forgot::show(app, req),
        "/.sekisho/forgot" if post => forgot::submit(app, session, req).await,
        "/.sekisho/reset" if get => reset::show(app, req).await,
        "/.sekisho/reset" if post => reset::submit(app, session, req).await,
        "/.sekisho/unlock" if get => unlock::show(app, req).await,
        "/.sekisho/unlock" if post => unlock::submit(app, session, req).await,
        "/.sekisho/unlock/resend" if post => forgot::resend_unlock(app, session, req).await,
        "/.sekisho/email/confirm" if get => email_change::show_confirm(app, req).await,
        "/.sekisho/email/confirm" if post => email_change::submit_confirm(app, session, req).await,
        "/.sekisho/method" if get => method_change::show_link(app, req).await,
        "/.sekisho/method" if post => method_change::submit_link(app, session, req).await,
        "/.sekisho/2fa" if get => two_step::show(app, req).await,
        "/.sekisho/2fa/sms" if get => two_step::show_sms_setup(app, req).await,
        "/.sekisho/2fa/sms" if post => two_step::submit_sms(app, session, req).await,
        "/.sekisho/2fa/sms/send" if post => two_step::send_sms(app, session, req).await,
        "/.sekisho/2fa/app" if get => two_step::show_app_setup(app, req).await,
        "/.sekisho/2fa/app" if post => two_step::submit_app(app, session, req).await,
        "/.sekisho/2fa/recovery" if get => two_step::show_recovery(app, req).await,
        "/.sekisho/2fa/recovery" if post => two_step::submit_recovery(app, session, req).await,
        "/.sekisho/2fa/saved" if post => two_step::submit_saved(app, session, req).await,
        "/.sekisho/2fa/cancel" if post => two_step::cancel(app, session, req).await,
        "/.sekisho/passkey/login/options" if post => {
            passkey_login::options(app, session, req).await
        }
        "/.sekisho/passkey/login" if post => passkey_login::submit(app, session, req).await,
        "/.sekisho/2fa/passkey/options" if post => {
            two_step::passkey_options(app, session, req).await
        }
        "/.sekisho/2fa/passkey" if post => two_step::submit_passkey(app, session, req).await,
        passkey_enrolment::OPTIONS if post => passkey_enrolment::options(app, session, req).await,
        passkey_enrolment::SUBMIT if post => passkey_enrolment::submit(app, session, req).await,
        passkey_policy::PATH if get => passkey_policy::show(app, req).await,
        passkey_policy::PATH if post => passkey_policy::submit(app, session, req).await,
        passkey_policy::CONFIRM if post => passkey_policy::confirm(app, session, req).await,
        "/.sekisho/menu/passkeys" if get => passkeys::show(app, req).await,
        "/.sekisho/menu/passkeys/options" if post => passkeys::options(app, session, req).await,
        "/.sekisho/menu/passkeys/add" if post => passkeys::add(app, session, req).await,
        "/.sekisho/menu/passkeys/rename" if post => passkeys::rename(app, session, req).await,
        "/.sekisho/menu/passkeys/remove" if post => passkeys::remove(app, session, req).await,
        "/.sekisho/menu/two-step" if get => two_step_setting::show(app, req).await,
        "/.sekisho/menu/two-step" if post => two_step_setting::submit(app, session, req).await,
        "/.sekisho/menu/two-step/confirm" if post => {
            two_step_setting::confirm(app, session, req).await
        }
        "/.sekisho/federation/start" if post => federation::start(app, session, req).await,
        "/.sekisho/federation/callback" if get => federation::callback(app, req).await,
        "/.sekisho/ad/start" if get => active_directory::show_start(app, req).await,
        "/.sekisho/ad/start" if post => active_directory::start(app, session, req).await,
        "/.sekisho/ad/find" if post => active_directory::find(app, session, req).await,
        path if get && path.starts_with("/.sekisho/ad/") && path.ends_with("/callback") => {
            active_directory::callback(app, req).await
        }
        "/.sekisho/menu/ad" if get => ad_setting::show(app, req).await,
        "/.sekisho/menu/ad" if post => ad_setting::submit(app, session, req).await,
        "/.sekisho/line/consent" if get => route_access::show_consent(app, req).await,
        "/.sekisho/line/consent" if post => route_access::submit_consent(app, session, req).await,
        "/.sekisho/menu/access-route" if get => access_route::show(app, req).await,
        "/.sekisho/menu/access-route" if post => access_route::submit(app, session, req).await,
        "/.sekisho/menu/access-route/confirm" if post => {
            access_route::confirm(app, session, req).await
        }
        "/.sekisho/admin/lines" if get => line_settings::show(app, req).await,
        "/.sekisho/admin/lines" if post => line_settings::submit(app, session, req).await,
        "/.sekisho/menu/browsers" if get => trusted_browsers::show(app, req).await,
        "/.sekisho/menu/browsers/revoke" if post => {
            trusted_browsers::revoke(app, session, req).await
        }
        "/.sekisho/menu/login" if get => login::show(app, req, Kind::Menu),
        "/.sekisho/menu/login" if post => login::submit(app, session, req, route, Kind::Menu).await,
        "/.sekisho/menu" if get => menu::show(app, req).await,
        "/.sekisho/menu/password" if get => password_change::show(app, req).await,
        "/.sekisho/menu/password" if post => {
            password_change::submit(app, session, req, route).await
        }
        "/.sekisho/menu/email" if get => email_change::show_request(app, req).await,
        "/.sekisho/menu/email" if post => email_change::submit_request(app, session, req).await,
        "/.sekisho/menu/method" if get => method_change::show_menu(app, req).await,
        "/.sekisho/menu/method" if post => method_change::submit_menu(app, session, req).await,
        "/.sekisho/menu/sessions" if get => menu::sessions(app, req).await,
        "/.sekisho/menu/sessions/end" if post => menu::end_session(app, session, req).await,
        "/.sekisho/menu/sessions/end-all" if post => menu::end_all(app, session, req).await,
        "/.sekisho/admin" => ("redirect", Answer::redirect("/.sekisho/admin/")),
        "/.sekisho/admin/" if get => admin_console::users(app, req).await,
        "/.sekisho/admin/invite" if get => admin_console::show_invite(app, req).await,
        "/.sekisho/admin/events" if get => audit_log::show(app, req).await,
        "/.sekisho/admin/invite" if post => admin_console::submit_invite(app, session, req).await,
        path if path.starts_with("/.sekisho/admin/users/") => {
            admin_console::user_route(app, session, req, get, post).await
        }
        "/.sekisho/jwks.json" if get => misc::jwks(app),
        "/.sekisho/healthz" if get => misc::healthz(),
        "/.sekisho/readyz" if get => misc::readyz(app).await,
        "/.sekisho/static/sekisho.css" if get => misc::stylesheet(),
        "/.sekisho/static/brand.css" if get => misc::brand_stylesheet(app, req),
        "/.sekisho/static/logo" if get => misc::brand_asset(app, req, "logo"),
        "/.sekisho/static/favicon" if get => misc::brand_asset(app, req, "favicon"),
        "/.sekisho/lang" if get => misc::switch_language(app, req),
        path if KNOWN_PATHS.contains(&path) => {
            ("method_not_allowed", app.error_page(req, 405).closing())
        }
        _ => ("not_found", app.error_page(req, 404)),
    }
}

/// The checks every state-changing request passes first: it comes from our
/// own pages (S34), and its form is a form of bounded size.
pub async fn read_post(app: &App, session: &mut Session, req: &Req) -> Result<Form, Outcome> {
    let own = [app.public_url(req.route)];
    if is_cross_site(req.sec_fetch_site.as_deref(), req.origin.as_deref(), &own) {
        crate::audit::event(
            crate::audit::Event::CrossSiteRefused,
            &crate::audit::Who {
                client_ip: Some(&req.client_ip),
                ..Default::default()
            },
            &req.path,
        );
        return Err(("cross_site", app.error_page(req, 403).closing()));
    }
    let limits = &app.config.limits;
    match read_form(session, limits.form_body_bytes, limits.form_body_timeout).await {
        Ok(form) => Ok(form),
        Err(FormError::TooLarge) => Err(("too_large", app.error_page(req, 413).closing())),
        Err(FormError::NotAForm) => Err(("not_a_form", app.error_page(req, 400).closing())),
        Err(FormError::Incomplete) => Err(("incomplete_body", app.error_page(req, 400).closing())),
    }
}

/// The place a signed-in gateway page is, for the gate: the account
/// menu's items by their paths, the console, the consent page.
pub fn place_of(path: &str) -> Place {
    let item = |rest: &str| match rest {
        "/method" => Some(MenuItem::LoginMethod),
        "/email" => Some(MenuItem::EmailChange),
        "/password" => Some(MenuItem::PasswordChange),
        "/access-route" | "/access-route/confirm" => Some(MenuItem::AccessRoute),
        "/two-step" | "/two-step/confirm" => Some(MenuItem::TwoStep),
        "/passkey-policy" | "/passkey-policy/confirm" => Some(MenuItem::PasskeyPolicy),
        "/ad" => Some(MenuItem::ActiveDirectory),
        p if p == "/passkeys" || p.starts_with("/passkeys/") => Some(MenuItem::Passkeys),
        _ => None,
    };
    if path == route_access::CONSENT {
        Place::Consent
    } else if path == "/.sekisho/admin" || path.starts_with("/.sekisho/admin/") {
        Place::Console
    } else if let Some(rest) = path.strip_prefix("/.sekisho/menu") {
        if rest.is_empty() || rest.starts_with('/') {
            Place::Menu(item(rest))
        } else {
            Place::Page
        }
    } else {
        Place::Page
    }
}

/// The signed-in user of a gateway page, when the gate lets them in at
/// this page's place; else the answer that refuses.
pub async fn require_session(app: &App, req: &Req) -> Result<Live, Outcome> {
    let live = req
        .session(app)
        .await
        .map_err(|_| ("store_unavailable", app.error_page(req, 503)))?;
    let place = place_of(&req.path);
    let verdict = gate(
        &req.arrival(place),
        live.as_ref().map(standing).as_ref(),
        app.clock.now(),
    );
    match (verdict, live) {
        (Verdict::Pass, Some(live)) => Ok(live),
        (verdict, _) => Err(refusal(app, req, place, verdict)),
    }
}

/// The gate's verdict on a login that has identified `user`, signing in
/// by `method` at `place` (a `Place::Login`) on this request's listener:
/// one question for password, passkey and provider logins alike.
pub async fn login_verdict(
    app: &App,
    req: &Req,
    user: &crate::store::User,
    method: sekisho_policy::model::LoginMethod,
    place: Place,
) -> Result<Verdict, Outcome> {
    let tenant = match app.store.get_tenant(&user.tenant_id).await {
        Ok(Some(t)) => t,
        _ => return Err(("store_unavailable", app.error_page(req, 503))),
    };
    let mut standing = sekisho_policy::gate::Standing {
        route: req.route,
        line: req.line.as_deref(),
        role: user.role,
        method,
        tenant: crate::request::tenant_standing(&tenant),
    };
    // The requirement holds only where this gateway offers passkeys: a
    // gateway without them (an address for its public URL) falls back to
    // the tenant's ordinary second step rather than lock everyone out.
    standing.tenant.passkeys_required &= passkey_login::offered(app, req).is_some();
    Ok(gate(&req.arrival(place), Some(&standing), app.clock.now()))
}

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
                Place::Upstream => ("unauthenticated", "/.sekisho/login"),
                _ => ("menu_login_required", "/.sekisho/menu/login"),
            };
            let answer = Answer::redirect(&format!("{login}?next={next}"));
            (outcome, clear(answer, clear_cookie))
        }
        Verdict::Unauthorized { clear_cookie } => (
            "unauthenticated",
            clear(app.error_page(req, 401), clear_cookie),
        ),
        Verdict::PlanEnded(state) => ("trial_ended", login::trial_ended(app, req, state)),
        Verdict::Route(access) => {
            // Pages are for browsers; only the proxied path asks.
            let navigation = place != Place::Upstream || req.navigation;
            route_access::refuse(app, navigation, req, access)
        }
        Verdict::Forbidden => ("forbidden", app.error_page(req, 403)),
        // Not refusals: callers act on these themselves.
        Verdict::Pass | Verdict::SecondStep | Verdict::PasskeyRequired { .. } => {
            ("error", app.error_page(req, 500))
        }
    }
}

/// A POST from a signed-in page: same-site, bounded, and carrying the CSRF
/// token of this session.
pub async fn read_session_post(
    app: &App,
    session: &mut Session,
    req: &Req,
) -> Result<(Live, Form), Outcome> {
    let live = require_session(app, req).await?;
    let form = read_post(app, session, req).await?;
    if !app.csrf_ok(&live.id_hash, form.get("csrf")) {
        return Err(("csrf_failed", app.error_page(req, 403)));
    }
    Ok((live, form))
}

/// A POST from a page opened by a mailed link (no session needed): bounded,
/// same-site, with the pre-session CSRF token.
pub async fn read_link_post(app: &App, session: &mut Session, req: &Req) -> Result<Form, Outcome> {
    let form = read_post(app, session, req).await?;
    let ok = req
        .cookies
        .pre()
        .is_some_and(|pre| app.csrf_ok(&pre_binding(pre), form.get("csrf")));
    if !ok {
        return Err(("csrf_failed", app.error_page(req, 403)));
    }
    Ok(form)
}

/// The pre-session id that binds CSRF tokens before login: the browser's
/// own when it has a well-formed one, else a new one with its cookie.
pub fn pre_session(app: &App, req: &Req) -> (String, Option<String>) {
    match req
        .cookies
        .pre()
        .filter(|v| crate::crypto::looks_like_token(v))
    {
        Some(v) => (v.to_string(), None),
        None => {
            let v = crate::crypto::random_token();
            let cookie = app.cookies.set(app.cookies.pre, &v);
            (v, Some(cookie))
        }
    }
}

/// The CSRF binding of a pre-session id (distinct from session bindings).
pub fn pre_binding(pre: &str) -> String {
    format!("pre:{pre}")
}

/// Adds a Set-Cookie when there is one.
pub fn maybe_cookie(answer: Answer, cookie: Option<String>) -> Answer {
    match cookie {
        Some(c) => answer.with_cookie(c),
        None => answer,
    }
}

/// Starts the session of a login (after its second step, when one was
/// asked): a new id replacing any the browser had (S29). Returns the
/// session cookie's `Set-Cookie` value.
pub async fn start_session(
    app: &App,
    req: &Req,
    user: &crate::store::User,
    route: Route,
    method: sekisho_policy::model::LoginMethod,
) -> Result<String, Outcome> {
    let new = crate::sessions::NewSession {
        user,
        route,
        method,
        client_ip: &req.client_ip,
        user_agent: &req.user_agent,
        line: if route == Route::Closed {
            req.line.as_deref()
        } else {
            None
        },
    };
    crate::metrics::LOGINS_BY_ROUTE
        .with_label_values(&[route.as_str()])
        .inc();
    match app
        .sessions
        .start(new, req.cookies.session(), app.clock.now())
        .await
    {
        Ok(c) => Ok(app.cookies.set(app.cookies.session, &c)),
        Err(_) => Err(("store_unavailable", app.error_page(req, 503))),
    }
}

/// Ends sessions in the store's answer in the local cache too.
pub fn forget_all(app: &App, ended: &[String]) {
    for h in ended {
        app.sessions.forget(h);
    }
}

/// The label of a login method, for pages.
pub fn method_label(
    t: &sekisho_pages::Texts,
    m: sekisho_policy::model::LoginMethod,
) -> &'static str {
    use sekisho_policy::model::LoginMethod::*;
    match m {
        Password => t.method_password,
        Google => "Google",
        Facebook => "Facebook",
        Microsoft => "Microsoft",
        Daccount => "dアカウント",
        Ad => "Active Directory",
    }
}

#[cfg(test)]
mod landing_tests {
    use super::landing_after_post;

    #[test]
    fn a_page_after_a_post_switches_language_to_a_page_a_get_shows() {
        // A form a GET shows is itself.
        assert_eq!(landing_after_post("/.sekisho/login"), "/.sekisho/login");
        assert_eq!(
            landing_after_post("/.sekisho/menu/password"),
            "/.sekisho/menu/password"
        );
        // A step whose page needs its mailed link: the login page.
        assert_eq!(landing_after_post("/.sekisho/register"), "/.sekisho/login");
        assert_eq!(landing_after_post("/.sekisho/reset"), "/.sekisho/login");
        // The end of the second step goes on; its other steps start it.
        assert_eq!(landing_after_post("/.sekisho/2fa/saved"), "/");
        assert_eq!(
            landing_after_post("/.sekisho/2fa/sms/send"),
            "/.sekisho/2fa/sms"
        );
        // The menu's and console's actions: their menu.
        assert_eq!(
            landing_after_post("/.sekisho/menu/sessions/end"),
            "/.sekisho/menu"
        );
        assert_eq!(
            landing_after_post("/.sekisho/admin/users/0123/remove"),
            "/.sekisho/admin/"
        );
    }
}
