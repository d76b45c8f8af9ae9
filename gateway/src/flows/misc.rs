//! Small gateway endpoints: keys, health, the stylesheet, the language switch.

use super::Outcome;
use crate::answers;
use crate::request::Req;
use crate::state::App;
use crate::web::Answer;
use bytes::Bytes;
use sekisho_policy::return_path::safe_return_path;

/// The public keys of the assertion signer (JWK Set).
pub fn jwks(app: &App) -> Outcome {
    let mut a = Answer::html(200, app.signer.jwks().to_string());
    a.content_type = "application/json";
    a.cacheable = true;
    ("jwks", a)
}

/// Liveness: the process answers.
pub fn healthz() -> Outcome {
    ("health", Answer::text(200, "ok\n"))
}

/// Readiness: the store answers too.
pub async fn readyz(app: &App) -> Outcome {
    match app.store.ping().await {
        Ok(()) => ("ready", Answer::text(200, "ready\n")),
        Err(_) => {
            crate::metrics::STORE_ERRORS
                .with_label_values(&["ping"])
                .inc();
            ("not_ready", Answer::text(503, "store unavailable\n"))
        }
    }
}

pub fn stylesheet() -> Outcome {
    let mut a = Answer::html(200, String::new());
    a.body = Bytes::from_static(sekisho_pages::STYLESHEET.as_bytes());
    a.content_type = "text/css; charset=utf-8";
    a.cacheable = true;
    ("static", a)
}

/// The operator's logo or favicon (`[branding]`), or 404 when none is set.
pub fn brand_asset(app: &App, req: &Req, which: &str) -> Outcome {
    let b = &app.config.branding;
    let asset = match which {
        "logo" => b.logo.as_ref(),
        _ => b.favicon.as_ref(),
    };
    let Some(asset) = asset else {
        return ("not_found", answers::error_page(app, req, 404));
    };
    let mut a = Answer::html(200, String::new());
    a.body = Bytes::from(asset.bytes.clone());
    a.content_type = asset.content_type;
    a.cacheable = true;
    ("static", a)
}

/// The operator's primary colour as a stylesheet over the pages' own
/// (a file, so the pages' CSP keeps style-src to 'self').
pub fn brand_stylesheet(app: &App, req: &Req) -> Outcome {
    let Some(colour) = &app.config.branding.primary_colour else {
        return ("not_found", answers::error_page(app, req, 404));
    };
    let mut a = Answer::html(200, String::new());
    a.body = Bytes::from(format!(":root {{ --accent: {colour}; }}\n"));
    a.content_type = "text/css; charset=utf-8";
    a.cacheable = true;
    ("static", a)
}

/// Remembers the chosen language in a cookie and goes back.
pub fn switch_language(app: &App, req: &Req) -> Outcome {
    let to = match req.query_param("to").as_deref() {
        Some("en") => "en",
        _ => "ja",
    };
    let next = safe_return_path(&req.query_param("next").unwrap_or_default());
    (
        "language",
        Answer::redirect(&next).with_cookie(app.cookies.set(app.cookies.lang, to)),
    )
}
