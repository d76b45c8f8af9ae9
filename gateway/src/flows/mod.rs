//! The gateway's own pages under `/.sekisho/`: one file per flow, one
//! dispatcher here. Every handler returns an outcome word (for metrics) and
//! an [`Answer`]; state changes only on POST, after the same-site and CSRF
//! checks (S34).

mod forgot;
mod login;
mod logout;
mod misc;
mod register;
mod reset;
mod unlock;

use crate::state::App;
use crate::web::{read_form, Answer, Form, FormError, Req};
use pingora::proxy::Session;
use sekisho_policy::model::Route;
use sekisho_policy::request::is_cross_site;
use std::sync::Arc;

pub type Outcome = (&'static str, Answer);

/// Every gateway path; other methods on these get 405, other paths 404.
const KNOWN_PATHS: [&str; 12] = [
    "/.sekisho/login",
    "/.sekisho/logout",
    "/.sekisho/register",
    "/.sekisho/forgot",
    "/.sekisho/reset",
    "/.sekisho/unlock",
    "/.sekisho/unlock/resend",
    "/.sekisho/jwks.json",
    "/.sekisho/healthz",
    "/.sekisho/readyz",
    "/.sekisho/static/sekisho.css",
    "/.sekisho/lang",
];

/// Routes a gateway request to its flow.
pub async fn handle(app: &Arc<App>, session: &mut Session, req: &Req, route: Route) -> Outcome {
    let get = req.method == "GET" || req.method == "HEAD";
    let post = req.method == "POST";
    match req.path.as_str() {
        "/.sekisho/login" if get => login::show(app, req),
        "/.sekisho/login" if post => login::submit(app, session, req, route).await,
        "/.sekisho/logout" if get => logout::show(app, req, route).await,
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
        "/.sekisho/jwks.json" if get => misc::jwks(app),
        "/.sekisho/healthz" if get => misc::healthz(),
        "/.sekisho/readyz" if get => misc::readyz(app).await,
        "/.sekisho/static/sekisho.css" if get => misc::stylesheet(),
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
    let own = [app.config.internet.public_url.as_str()];
    if is_cross_site(req.sec_fetch_site.as_deref(), req.origin.as_deref(), &own) {
        crate::audit::event(
            "cross_site_refused",
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

/// The pre-session id that binds CSRF tokens before login: the browser's
/// own when it has a well-formed one, else a new one with its cookie.
pub fn pre_session(app: &App, req: &Req) -> (String, Option<String>) {
    match req
        .cookies
        .unique(app.cookies.pre)
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
