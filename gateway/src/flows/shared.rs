//! What the flows share: the readings the route table's guards make (a
//! same-site bounded form, the session at a place, a mailed link's form),
//! the pre-session that binds CSRF before a login, and small helpers.

use crate::answers;
use crate::refusals::{refusal, Outcome};
use crate::request::standing;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::web::{read_form, Answer, Form, FormError};
use pingora::proxy::Session;
use sekisho_policy::gate::{gate, Place, Verdict};
use sekisho_policy::paths;
use sekisho_policy::request::is_cross_site;
use sekisho_policy::ticket::TicketPurpose;

/// The page of a mailed link that is used, expired or wrong, with the next
/// step for its purpose: never a dead end.
pub fn link_unusable(app: &App, req: &Req, purpose: TicketPurpose) -> Outcome {
    let t = req.lang.texts();
    let login = (paths::LOGIN, t.back_to_login);
    let (text, ways) = match purpose {
        TicketPurpose::Reset => (
            t.reset_invalid_text,
            vec![(paths::FORGOT, t.way_new_reset), login],
        ),
        TicketPurpose::Unlock => (
            t.unlock_invalid_text,
            vec![(paths::FORGOT, t.to_forgot), login],
        ),
        TicketPurpose::EmailChange => (
            t.email_change_invalid_text,
            vec![(paths::MENU_EMAIL, t.way_new_email_change), login],
        ),
        TicketPurpose::MethodChange => (t.method_change_invalid_text, vec![login]),
        TicketPurpose::NotMe => (
            t.not_me_invalid_text,
            vec![(paths::FORGOT, t.to_forgot), login],
        ),
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
        answers::page_with_ways(app, req, 400, t.ticket_invalid_title, text, ways),
    )
}

/// The checks every state-changing request passes first: it comes from our
/// own pages (S34), and its form is a form of bounded size.
pub async fn read_post(app: &App, session: &mut Session, req: &Req) -> Result<Form, Outcome> {
    let own = [app.config.public_url(req.route)];
    if is_cross_site(req.sec_fetch_site.as_deref(), req.origin.as_deref(), &own) {
        crate::audit::event(
            crate::audit::Event::CrossSiteRefused,
            &crate::audit::Who {
                client_ip: Some(&req.client_ip),
                ..Default::default()
            },
            &req.path,
        );
        return Err(("cross_site", answers::cross_site_page(app, req).closing()));
    }
    let limits = &app.config.limits;
    match read_form(session, limits.form_body_bytes, limits.form_body_timeout).await {
        Ok(form) => Ok(form),
        Err(FormError::TooLarge) => {
            Err(("too_large", answers::error_page(app, req, 413).closing()))
        }
        Err(FormError::NotAForm) => {
            Err(("not_a_form", answers::error_page(app, req, 400).closing()))
        }
        Err(FormError::Incomplete) => Err((
            "incomplete_body",
            answers::error_page(app, req, 400).closing(),
        )),
    }
}

/// The signed-in user of a gateway page, when the gate lets them in at
/// the page's place (its entry in the route table); else the answer that
/// refuses.
pub async fn require_session(app: &App, req: &Req, place: Place) -> Result<Live, Outcome> {
    let live = req
        .session(&app.sessions, &app.clock)
        .await
        .map_err(|_| ("store_unavailable", answers::error_page(app, req, 503)))?;
    let now = app.clock.now();
    let bound = req.cookies.bound();
    let standing = live
        .as_ref()
        .map(|l| standing(l, app.dbsc.check(l, bound, now)));
    let verdict = gate(&req.arrival(place), standing.as_ref(), now);
    match (verdict, live) {
        (Verdict::Pass, Some(live)) => Ok(live),
        (verdict, _) => Err(refusal(app, req, place, verdict)),
    }
}

/// A POST from a signed-in page: same-site, bounded, and carrying the CSRF
/// token of this session.
pub async fn read_session_post(
    app: &App,
    session: &mut Session,
    req: &Req,
    place: Place,
) -> Result<(Live, Form), Outcome> {
    let live = require_session(app, req, place).await?;
    let form = read_post(app, session, req).await?;
    if !app.csrf.accepts(&live.id_hash, form.get("csrf")) {
        return Err(("csrf_failed", answers::error_page(app, req, 403)));
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
        .is_some_and(|pre| app.csrf.accepts(&pre_binding(pre), form.get("csrf")));
    if !ok {
        return Err(("csrf_failed", answers::error_page(app, req, 403)));
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
