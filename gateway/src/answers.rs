//! The pages every part of the gateway answers with: the chrome of a page
//! (language, branding, the language switch's landing), the error page
//! with its ways back and reference, and a message page with its ways on.
//! Below both `proxy` and `flows`; `App` holds only what they need.

use crate::request::Req;
use crate::state::App;
use crate::web::Answer;
use sekisho_pages::{error_texts, render, Chrome, MessagePage};
use sekisho_policy::paths;

pub fn chrome(app: &App, req: &Req) -> Chrome {
    // A page shown after a POST switches language to a page that a GET
    // can show again (S: no dead ends).
    let here = if req.method == "GET" || req.method == "HEAD" {
        req.here()
    } else {
        req.after_post.unwrap_or(&req.path).to_string()
    };
    let brand = match req.lang {
        sekisho_pages::Lang::Ja => app.brand_ja.clone(),
        sekisho_pages::Lang::En => app.brand_en.clone(),
    };
    Chrome::new(req.lang, &app.config.service_name, &here).with_brand(brand)
}

/// The error page for `status`, in the request's language, with the
/// ways back and a reference that the log line below carries too.
pub fn error_page(app: &App, req: &Req, status: u16) -> Answer {
    let words = error_texts(req.lang.texts(), status);
    error_page_saying(app, req, status, words)
}

/// The 403 of a form sent from another site (S34): not a lack of
/// permission, and said so.
pub fn cross_site_page(app: &App, req: &Req) -> Answer {
    let t = req.lang.texts();
    error_page_saying(
        app,
        req,
        403,
        (t.error_cross_site_title, t.error_cross_site_text),
    )
}

fn error_page_saying(app: &App, req: &Req, status: u16, (title, text): (&str, &str)) -> Answer {
    let c = chrome(app, req);
    let t = c.t;
    // The request's id, which the access log and the upstream carry
    // too; a reference of its own when there is none.
    let reference = if req.request_id.is_empty() {
        crate::crypto::reference()
    } else {
        req.request_id.clone()
    };
    if status >= 500 {
        tracing::warn!(reference = %reference, status, path = %req.path, route = req.route.as_str(), "error page");
    } else {
        tracing::info!(reference = %reference, status, path = %req.path, route = req.route.as_str(), "error page");
    }
    let here = req.here();
    let mut links = Vec::new();
    let repeatable = req.method == "GET" || req.method == "HEAD";
    if matches!(status, 429 | 502 | 503) && repeatable {
        links.push((here.as_str(), t.way_retry));
    }
    if req.cookies.session().is_some() {
        links.push(("/", t.way_service));
        links.push((paths::MENU, t.way_menu));
    } else {
        links.push((paths::LOGIN, t.back_to_login));
    }
    if let Some(contact) = &c.brand.contact {
        links.push((contact.as_str(), t.way_contact));
    }
    Answer::html(
        status,
        render(&MessagePage {
            who: None,
            c: &c,
            title,
            text,
            checks: Vec::new(),
            links,
            reference: Some(&reference),
        }),
    )
}

/// A page with a title, a sentence and one link.
pub fn message_page(
    app: &App,
    req: &Req,
    status: u16,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Answer {
    page_with_ways(app, req, status, title, text, link.into_iter().collect())
}

/// A page with a title, a sentence and its ways on, the main one first.
pub fn page_with_ways(
    app: &App,
    req: &Req,
    status: u16,
    title: &str,
    text: &str,
    links: Vec<(&str, &str)>,
) -> Answer {
    let c = chrome(app, req);
    Answer::html(
        status,
        render(&MessagePage {
            who: None,
            c: &c,
            title,
            text,
            checks: Vec::new(),
            links,
            reference: None,
        }),
    )
}
