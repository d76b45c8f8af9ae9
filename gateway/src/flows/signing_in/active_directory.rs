//! Sign-in, registration and login-method change through a tenant's
//! Active Directory (PRODUCT §3.3, manual §1-3, §1-5; SECURITY S36, S37).
//!
//! The way in is the connection ID (接続ID): the mailed AD login URL
//! carries it, or the login page's "Active Directoryアカウントでログイン"
//! asks for it. The 接続ID確認 page then shows it to confirm and posts the
//! start; that page's `form-action` lists the tenant's ADFS, which only
//! becomes known with the ID. The flow record carries the connection ID:
//! its return must come to that connection's callback, and the account
//! found must be one of that tenant's users.

use crate::answers;
use crate::federation::OidcSettings;
use crate::flows::federation::{self as fed, Flow, Purpose};
use crate::flows::providers::{redirect_uri, settings};
use crate::flows::{maybe_cookie, pre_binding, pre_session, read_post, Outcome};
use crate::request::Req;
use crate::state::App;
use crate::store::Tenant;
use crate::web::Answer;
use crate::web::Form;
use pingora::proxy::Session;
use sekisho_pages::{render, Field, FormPage};
use sekisho_policy::ad::canonical_connection_id;
use sekisho_policy::model::LoginMethod;
use sekisho_policy::paths;
use sekisho_policy::return_path::safe_return_path;
use std::sync::Arc;

/// The tenant with this (typed) connection ID, when it has AD set up.
async fn tenant_of(app: &App, typed: &str) -> Result<Option<(String, Tenant)>, Outcome> {
    let Some(id) = canonical_connection_id(typed) else {
        return Ok(None);
    };
    match app.store.find_tenant_by_connection(&id).await {
        Ok(Some(t)) if t.ad.is_some() => Ok(Some((id, t))),
        Ok(_) => Ok(None),
        Err(_) => Err(("store_unavailable", Answer::html(503, String::new()))),
    }
}

/// What the start pages carry along: purpose, return path, ticket.
struct Carry {
    purpose: &'static str,
    next: String,
    ticket: String,
}

impl Carry {
    fn read(purpose: &str, next: &str, ticket: &str) -> Carry {
        let purpose = match purpose {
            "menu" => "menu",
            "register" => "register",
            "method_link" => "method_link",
            _ => "login",
        };
        Carry {
            purpose,
            next: safe_return_path(next),
            ticket: if crate::crypto::looks_like_token(ticket) {
                ticket.to_string()
            } else {
                String::new()
            },
        }
    }

    fn hidden(&self) -> Vec<(&'static str, String)> {
        vec![
            ("purpose", self.purpose.to_string()),
            ("next", self.next.clone()),
            ("ticket", self.ticket.clone()),
        ]
    }
}

/// The page where the operator does not offer Active Directory; `menu`
/// for the holder's setting page.
pub fn not_offered(app: &App, req: &Req, menu: bool) -> Outcome {
    let t = req.lang.texts();
    let (title, back) = if menu {
        (t.ad_setting_title, (paths::MENU, t.back_to_menu))
    } else {
        (t.ad_login_title, (paths::LOGIN, t.back_to_login))
    };
    (
        "ad_not_offered",
        answers::message_page(app, req, 404, title, t.ad_not_offered, Some(back)),
    )
}

/// The connection-ID prompt (POSTs to [`paths::AD_FIND`]).
fn prompt(app: &App, req: &Req, carry: &Carry, typed: &str, problem: bool) -> Answer {
    let (pre, cookie) = pre_session(app, req);
    let c = answers::chrome(app, req);
    let t = c.t;
    let html = render(&FormPage {
        invalid: None,
        c: &c,
        title: t.ad_login_title,
        intro: vec![t.ad_prompt_intro],
        facts: Vec::new(),
        problems: if problem {
            vec![t.ad_connection_invalid.to_string()]
        } else {
            Vec::new()
        },
        action: paths::AD_FIND,
        csrf: &app.csrf.token(&pre_binding(&pre)),
        hidden: carry.hidden(),
        fields: vec![Field {
            label: t.ad_connection_id_label,
            name: "connection_id",
            kind: "text",
            value: typed.to_string(),
            autocomplete: "off",
        }],
        select: None,
        checkbox: None,
        extra: Vec::new(),
        rule: false,
        submit: t.ad_next_button,
        back: Some((paths::LOGIN, t.back_to_login)),
        guide: None,
    });
    maybe_cookie(Answer::html(if problem { 422 } else { 200 }, html), cookie)
}

/// 接続ID確認: the connection ID to confirm, and the button that starts
/// the sign-in at the tenant's ADFS.
async fn confirm_page(
    app: &App,
    req: &Req,
    carry: &Carry,
    connection_id: &str,
    ad: &OidcSettings,
) -> Answer {
    let (pre, cookie) = pre_session(app, req);
    let c = answers::chrome(app, req);
    let t = c.t;
    let mut hidden = carry.hidden();
    hidden.push(("connection_id", connection_id.to_string()));
    let title = if carry.purpose == "login" || carry.purpose == "menu" {
        t.ad_login_title
    } else {
        t.ad_confirm_title
    };
    let mut intro = vec![t.ad_confirm_intro, t.ad_sign_in_hint];
    if carry.purpose == "register" || carry.purpose == "method_link" {
        // A binding happens: the manual's advice to sign out elsewhere first.
        intro.push(t.federation_logout_advice);
    }
    let html = render(&FormPage {
        invalid: None,
        c: &c,
        title,
        intro,
        facts: vec![(t.ad_connection_id_label, connection_id.to_string())],
        problems: Vec::new(),
        action: paths::AD_START,
        csrf: &app.csrf.token(&pre_binding(&pre)),
        hidden,
        fields: Vec::new(),
        select: None,
        checkbox: None,
        extra: Vec::new(),
        rule: false,
        submit: t.ad_confirm_button,
        back: Some((paths::LOGIN, t.back_to_login)),
        guide: None,
    });
    let origins = app.federation.ad_form_origins(ad).await;
    maybe_cookie(Answer::html(200, html), cookie).with_form_origins(origins)
}

/// GET: the AD login URL (with its connection ID) or the prompt.
pub async fn show_start(app: &App, req: &Req) -> Outcome {
    if app.config.active_directory.is_none() {
        return not_offered(app, req, false);
    }
    let q = |k| req.query_param(k).unwrap_or_default();
    let carry = Carry::read(&q("purpose"), &q("next"), &q("ticket"));
    let typed = q("connection_id");
    if typed.is_empty() {
        return ("ad_prompt", prompt(app, req, &carry, "", false));
    }
    let found = match tenant_of(app, &typed).await {
        Ok(f) => f,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    match found.and_then(|(id, tenant)| settings(app, &tenant).map(|s| (id, s))) {
        Some((id, ad)) => ("ad_confirm", confirm_page(app, req, &carry, &id, &ad).await),
        None => ("ad_unknown", prompt(app, req, &carry, &typed, true)),
    }
}

/// POST of the prompt: a known connection ID leads to its 接続ID確認 page.
/// Changes nothing.
pub async fn find(app: &App, req: &Req, form: Form) -> Outcome {
    if app.config.active_directory.is_none() {
        return not_offered(app, req, false);
    }
    let carry = Carry::read(form.get("purpose"), form.get("next"), form.get("ticket"));
    let typed = form.get("connection_id");
    match tenant_of(app, typed).await {
        Ok(Some((id, _))) => {
            let mut url = format!(
                "{}?connection_id={id}&purpose={}",
                paths::AD_START,
                carry.purpose
            );
            for (k, v) in [("next", &carry.next), ("ticket", &carry.ticket)] {
                if !v.is_empty() {
                    let v: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
                    url.push_str(&format!("&{k}={v}"));
                }
            }
            ("ad_found", Answer::redirect(&url))
        }
        Ok(None) => ("ad_unknown", prompt(app, req, &carry, typed, true)),
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}

/// The tenant a flow's user belongs to, for registration and a change by
/// link; `None` for a login (any user of the connection's tenant).
async fn user_tenant(app: &App, purpose: &Purpose) -> Result<Option<String>, ()> {
    let user_id = match purpose {
        Purpose::Login { .. } => return Ok(None),
        Purpose::Method { user_id, .. } => user_id.clone(),
        Purpose::Register { ticket_hash } => {
            let record = app
                .store
                .peek_ticket(
                    ticket_hash,
                    sekisho_policy::ticket::TicketPurpose::Invitation,
                    app.clock.now(),
                )
                .await
                .map_err(|_| ())?;
            match record {
                Some(r) => r.user_id,
                None => return Ok(Some(String::new())),
            }
        }
    };
    let user = app.store.get_user(&user_id).await.map_err(|_| ())?;
    Ok(Some(user.map(|u| u.tenant_id).unwrap_or_default()))
}

/// POST of 接続ID確認: starts the sign-in at the tenant's ADFS.
pub async fn start(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    if app.config.active_directory.is_none() {
        return not_offered(app, req, false);
    }
    if let Some(answer) = crate::refusals::throttled(app, req, "federation") {
        return ("throttled", answer);
    }
    let form = match read_post(app, session, req).await {
        Ok(f) => f,
        Err(o) => return o,
    };
    let carry = Carry::read(form.get("purpose"), form.get("next"), form.get("ticket"));
    let found = match tenant_of(app, form.get("connection_id")).await {
        Ok(f) => f,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let Some((connection_id, tenant)) = found else {
        return (
            "ad_unknown",
            prompt(app, req, &carry, form.get("connection_id"), true),
        );
    };
    let Some(ad) = settings(app, &tenant) else {
        return (
            "ad_unknown",
            prompt(app, req, &carry, form.get("connection_id"), true),
        );
    };
    if form.get("purpose") == "method" {
        // The holder's own change (from the menu) can never be to AD.
        return ("forbidden", answers::error_page(app, req, 403));
    }
    let (purpose, browser) = match fed::purpose_of(app, req, &form).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    match user_tenant(app, &purpose).await {
        Ok(Some(t)) if t != tenant.id => {
            let text = req.lang.texts();
            return (
                "ad_other_tenant",
                answers::message_page(
                    app,
                    req,
                    403,
                    text.ad_confirm_title,
                    text.ad_wrong_tenant_text,
                    Some((paths::LOGIN, text.back_to_login)),
                ),
            );
        }
        Ok(_) => {}
        Err(()) => return ("store_unavailable", answers::error_page(app, req, 503)),
    }
    let redirect = redirect_uri(app, req.route, &connection_id);
    let started = match app.federation.start_oidc(&ad, &redirect, &[]).await {
        Ok(s) => s,
        Err(e) => {
            crate::metrics::count_federated("ad", e.reason());
            return (
                "provider_unreachable",
                fed::failed(app, req, 503, |t| t.federation_unavailable_text),
            );
        }
    };
    let flow = Flow {
        method: LoginMethod::Ad,
        purpose,
        browser,
        pkce_verifier: started.pkce_verifier,
        nonce: started.nonce,
        connection_id: Some(connection_id),
    };
    fed::keep_flow(app, req, flow, &started.state, &started.url).await
}

/// GET `/.sekisho/ad/{connection_id}/callback`: the ADFS's return.
pub async fn callback(app: &Arc<App>, req: &Req, path_id: &str) -> Outcome {
    let (flow, code) = match fed::returned_flow(app, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    // Started for this connection, or refused (another tenant's callback,
    // or a configured provider's flow brought here).
    let Some(connection_id) = flow.connection_id.clone().filter(|c| c == path_id) else {
        return fed::refuse(app, req, "wrong_callback", "ad");
    };
    let tenant = match app.store.find_tenant_by_connection(&connection_id).await {
        Ok(Some(t)) => t,
        Ok(None) => return fed::refuse(app, req, "unknown_connection", "ad"),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let Some(ad) = settings(app, &tenant) else {
        return fed::refuse(app, req, "unknown_connection", "ad");
    };
    let identity = match app
        .federation
        .finish_oidc(
            &ad,
            &redirect_uri(app, req.route, &connection_id),
            &code,
            req.query_param("iss").as_deref(),
            &flow.pkce_verifier,
            &flow.nonce,
        )
        .await
    {
        Ok(i) => i,
        Err(e) => return fed::refuse(app, req, e.reason(), "ad"),
    };
    fed::finish_flow(app, req, flow, identity, Some(&tenant.id)).await
}
