//! Sign-in and registration with an OpenID provider (PRODUCT §3.2, manual
//! §1-2, §1-5; SECURITY S36, S37). The start stores a single-use flow
//! record under the hash of `state`, bound to the browser's pre-session
//! cookie (SameSite=Lax, so it returns with the provider's top-level
//! redirect, S31); the callback takes it once, checks RFC 9207's `iss`,
//! exchanges the code with the PKCE verifier and checks the ID token. The
//! account found is (issuer, subject), never an email (S37). Federated
//! logins skip the second step: the provider does its own.

use crate::answers;
use crate::audit::{self, Who};
use crate::crypto;
use crate::flows::sign_in::{Proof, SignIn};
use crate::flows::{method_change, pre_binding, read_post, Outcome};
use crate::request::Req;
use crate::state::App;
use crate::store::{FederatedIdentity, StoreError, TicketRecord};
use crate::web::Answer;
use pingora::proxy::Session;
use sekisho_pages::Texts;
use sekisho_policy::gate::Place;
use sekisho_policy::model::{LoginMethod, UserStatus};
use sekisho_policy::paths;
use sekisho_policy::return_path::safe_return_path;
use sekisho_policy::ticket::TicketPurpose;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

const CALLBACK: &str = paths::FEDERATION_CALLBACK;
/// Time allowed at the provider.
const FLOW_SECONDS: i64 = 600;

/// What a flow started for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(super) enum Purpose {
    Login {
        menu: bool,
        next: String,
    },
    Register {
        ticket_hash: String,
    },
    /// ログイン方法の設定: from the menu (no ticket) or by link.
    Method {
        user_id: String,
        ticket_hash: Option<String>,
    },
}

/// What the flow record keeps (staged on its ticket).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Flow {
    pub method: LoginMethod,
    pub purpose: Purpose,
    /// Hash of the pre-session id of the browser that started it.
    pub browser: String,
    pub pkce_verifier: String,
    pub nonce: String,
    /// The tenant's connection ID, for a sign-in at its Active Directory:
    /// the callback must be that connection's (S36) and the user that
    /// tenant's (S37).
    #[serde(default)]
    pub connection_id: Option<String>,
}

fn redirect_uri(app: &App, req: &Req) -> String {
    format!("{}{CALLBACK}", app.config.public_url(req.route))
}

pub(super) fn failed(
    app: &App,
    req: &Req,
    status: u16,
    text: fn(&Texts) -> &'static str,
) -> Answer {
    let t = req.lang.texts();
    answers::message_page(
        app,
        req,
        status,
        t.federation_failed_title,
        text(t),
        Some((paths::LOGIN, t.back_to_login)),
    )
}

/// POST: a provider's button (login, the menu's login, or registration).
pub async fn start(app: &Arc<App>, session: &mut Session, req: &Req) -> Outcome {
    if let Some(answer) = crate::refusals::throttled(app, req, "federation") {
        return ("throttled", answer);
    }
    let form = match read_post(app, session, req).await {
        Ok(f) => f,
        Err(o) => return o,
    };
    let Some(method) =
        LoginMethod::parse(form.get("provider")).filter(|m| app.federation.methods().contains(m))
    else {
        return ("unknown_provider", answers::error_page(app, req, 400));
    };
    let (purpose, browser) = match purpose_of(app, req, &form).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    let started = match app.federation.start(method, &redirect_uri(app, req)).await {
        Ok(s) => s,
        Err(e) => {
            crate::metrics::count_federated(method.as_str(), e.reason());
            return (
                "provider_unreachable",
                failed(app, req, 503, |t| t.federation_unavailable_text),
            );
        }
    };
    let flow = Flow {
        method,
        purpose,
        browser,
        pkce_verifier: started.pkce_verifier,
        nonce: started.nonce,
        connection_id: None,
    };
    keep_flow(app, req, flow, &started.state, &started.url).await
}

/// What a sign-in is for, from the form that starts it, and the browser
/// its return must come back to: its pre-session, or (from the menu) its
/// session. Every purpose carries its CSRF token.
pub(super) async fn purpose_of(
    app: &App,
    req: &Req,
    form: &crate::web::Form,
) -> Result<(Purpose, String), Outcome> {
    let pre = req.cookies.pre();
    let pre_csrf_ok = pre.is_some_and(|p| app.csrf.accepts(&pre_binding(p), form.get("csrf")));
    let (purpose, browser) = match form.get("purpose") {
        "login" | "menu" if pre_csrf_ok => (
            Purpose::Login {
                menu: form.get("purpose") == "menu",
                next: safe_return_path(form.get("next")),
            },
            pre.map(crypto::token_hash),
        ),
        "register" if pre_csrf_ok && crypto::looks_like_token(form.get("ticket")) => (
            Purpose::Register {
                ticket_hash: crypto::token_hash(form.get("ticket")),
            },
            pre.map(crypto::token_hash),
        ),
        "method_link" if pre_csrf_ok => {
            match method_change::pending(app, form.get("ticket")).await {
                Ok(Some((record, user, _))) => (
                    Purpose::Method {
                        user_id: user.id,
                        ticket_hash: Some(record.hash),
                    },
                    pre.map(crypto::token_hash),
                ),
                Ok(None) => return Err(("ticket_invalid", answers::error_page(app, req, 400))),
                Err(_) => return Err(("store_unavailable", answers::error_page(app, req, 503))),
            }
        }
        "method" => {
            let live = crate::flows::require_session(app, req, Place::Page).await?;
            if !app.csrf.accepts(&live.id_hash, form.get("csrf")) {
                return Err(("csrf_failed", answers::error_page(app, req, 403)));
            }
            if !method_change::may(&live.view.user, &live.view.tenant) {
                return Err(("forbidden", answers::error_page(app, req, 403)));
            }
            (
                Purpose::Method {
                    user_id: live.view.user.id.clone(),
                    ticket_hash: None,
                },
                Some(format!("s:{}", live.id_hash)),
            )
        }
        "login" | "menu" | "register" | "method_link" => {
            return Err(("csrf_failed", answers::error_page(app, req, 403)))
        }
        _ => return Err(("bad_purpose", answers::error_page(app, req, 400))),
    };
    match browser {
        Some(b) => Ok((purpose, b)),
        None => Err(("csrf_failed", answers::error_page(app, req, 403))),
    }
}

/// Stores the flow under the hash of its `state` and sends the browser to
/// the provider.
pub(super) async fn keep_flow(
    app: &App,
    req: &Req,
    flow: Flow,
    state: &str,
    provider_url: &str,
) -> Outcome {
    let now = app.clock.now();
    let record = TicketRecord {
        hash: crypto::token_hash(state),
        purpose: TicketPurpose::Federation.as_str().into(),
        user_id: String::new(),
        issued_at: now,
        expires_at: now + FLOW_SECONDS,
        staged: serde_json::to_string(&flow).ok(),
    };
    if app.store.put_ticket(record).await.is_err() {
        return ("store_unavailable", answers::error_page(app, req, 503));
    }
    ("federation_started", Answer::redirect(provider_url))
}

/// GET: the provider's return. Every failure is one clear page; the
/// reason goes to metrics and audit, never to the page.
pub async fn callback(app: &Arc<App>, req: &Req) -> Outcome {
    let (flow, code) = match returned_flow(app, req).await {
        Ok(x) => x,
        Err(o) => return o,
    };
    if flow.connection_id.is_some() {
        // Started for a tenant's Active Directory: its own callback only.
        return refuse(app, req, "wrong_callback", flow.method.as_str());
    }
    let identity = match app
        .federation
        .finish(
            flow.method,
            &redirect_uri(app, req),
            &code,
            req.query_param("iss").as_deref(),
            &flow.pkce_verifier,
            &flow.nonce,
        )
        .await
    {
        Ok(i) => i,
        Err(e) => return refuse(app, req, e.reason(), flow.method.as_str()),
    };
    finish_flow(app, req, flow, identity, None).await
}

/// The one refusal page of a return, counted and audited by `reason`.
pub(super) fn refuse(app: &App, req: &Req, reason: &'static str, provider: &str) -> Outcome {
    let who = Who {
        client_ip: Some(&req.client_ip),
        route: Some(req.route),
        ..Default::default()
    };
    crate::metrics::count_federated(provider, reason);
    audit::event(crate::audit::Event::FederationRefused, &who, reason);
    (
        "federation_refused",
        failed(app, req, 400, |t| t.federation_failed_text),
    )
}

/// Takes the flow a provider's return names by `state`, once, and checks
/// it comes back to the browser that started it with a code.
pub(super) async fn returned_flow(app: &App, req: &Req) -> Result<(Flow, String), Outcome> {
    let state = req.query_param("state").unwrap_or_default();
    if state.is_empty() {
        return Err(refuse(app, req, "missing_state", "-"));
    }
    let flow = match app
        .store
        .take_ticket(
            &crypto::token_hash(&state),
            TicketPurpose::Federation,
            app.clock.now(),
        )
        .await
    {
        Ok(Some(t)) => t.staged.and_then(|s| serde_json::from_str::<Flow>(&s).ok()),
        Ok(None) => None,
        Err(_) => return Err(("store_unavailable", answers::error_page(app, req, 503))),
    };
    let Some(flow) = flow else {
        return Err(refuse(app, req, "unknown_state", "-"));
    };
    let provider = flow.method.as_str();
    let by_pre = req
        .cookies
        .pre()
        .is_some_and(|pre| crypto::same(&crypto::token_hash(pre), &flow.browser));
    let by_session = req
        .cookies
        .session()
        .is_some_and(|s| crypto::same(&format!("s:{}", crypto::token_hash(s)), &flow.browser));
    if !(by_pre || by_session) {
        return Err(refuse(app, req, "other_browser", provider));
    }
    if req.query_param("error").is_some() {
        return Err(refuse(app, req, "provider_error", provider));
    }
    let Some(code) = req.query_param("code").filter(|c| !c.is_empty()) else {
        return Err(refuse(app, req, "missing_code", provider));
    };
    Ok((flow, code))
}

/// Does what the flow was started for with the proven account. `tenant`
/// limits it to one tenant's users (a tenant's Active Directory, S37).
pub(super) async fn finish_flow(
    app: &Arc<App>,
    req: &Req,
    flow: Flow,
    identity: crate::federation::Identity,
    tenant: Option<&str>,
) -> Outcome {
    let bound = FederatedIdentity {
        issuer: identity.issuer,
        subject: identity.subject,
    };
    match flow.purpose {
        Purpose::Register { ticket_hash } => {
            register(app, req, flow.method, bound, &ticket_hash, tenant).await
        }
        Purpose::Login { menu, next } => {
            login(app, req, flow.method, bound, menu, &next, tenant).await
        }
        Purpose::Method {
            user_id,
            ticket_hash,
        } => change_method(app, req, flow.method, bound, &user_id, ticket_hash, tenant).await,
    }
}

/// The page for an invitation that was used or expired meanwhile.
fn ticket_invalid(app: &App, req: &Req) -> Outcome {
    let t = req.lang.texts();
    (
        "ticket_invalid",
        answers::message_page(
            app,
            req,
            410,
            t.ticket_invalid_title,
            t.ticket_invalid_text,
            None,
        ),
    )
}

/// The page for a user of another tenant than the Active Directory's.
fn other_tenant(app: &App, req: &Req, method: LoginMethod) -> Outcome {
    crate::metrics::count_federated(method.as_str(), "other_tenant");
    let who = Who {
        client_ip: Some(&req.client_ip),
        route: Some(req.route),
        ..Default::default()
    };
    audit::event(crate::audit::Event::FederationRefused, &who, "other_tenant");
    (
        "federation_other_tenant",
        failed(app, req, 403, |t| t.ad_wrong_tenant_text),
    )
}

/// ログイン方法の設定 to a provider, once its account is proven.
async fn change_method(
    app: &Arc<App>,
    req: &Req,
    method: LoginMethod,
    identity: FederatedIdentity,
    user_id: &str,
    ticket_hash: Option<String>,
    scope: Option<&str>,
) -> Outcome {
    let user = match app.store.get_user(user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => return ("ticket_invalid", answers::error_page(app, req, 400)),
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    if scope.is_some_and(|t| t != user.tenant_id) {
        return other_tenant(app, req, method);
    }
    let tenant = match app.store.get_tenant(&user.tenant_id).await {
        Ok(Some(t)) => t,
        _ => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    let new = method_change::NewMethod::Provider { method, identity };
    match method_change::apply(app, req, &user, &tenant, ticket_hash, new).await {
        Ok(_) => {
            crate::metrics::count_federated(method.as_str(), "method_changed");
            ("method_changed", method_change::done(app, req))
        }
        Err((status, problems)) => {
            let t = req.lang.texts();
            let text = problems.join(" ");
            let back = Some((paths::MENU, t.back_to_menu));
            (
                "method_refused",
                answers::message_page(app, req, status, t.method_title, &text, back),
            )
        }
    }
}

async fn register(
    app: &Arc<App>,
    req: &Req,
    method: LoginMethod,
    identity: FederatedIdentity,
    ticket_hash: &str,
    scope: Option<&str>,
) -> Outcome {
    let t = req.lang.texts();
    if let Some(tenant) = scope {
        let invited = match app
            .store
            .peek_ticket(ticket_hash, TicketPurpose::Invitation, app.clock.now())
            .await
        {
            Ok(Some(record)) => app.store.get_user(&record.user_id).await,
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        match invited {
            Ok(Some(u)) if u.tenant_id == tenant => {}
            Ok(Some(_)) => return other_tenant(app, req, method),
            Ok(None) => return ticket_invalid(app, req),
            Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
        }
    }
    match app
        .store
        .complete_federated_registration(ticket_hash, method, identity, app.clock.now())
        .await
    {
        Ok(user) => {
            crate::metrics::count_federated(method.as_str(), "registered");
            let who = Who {
                user_id: Some(&user.id),
                tenant_id: Some(&user.tenant_id),
                client_ip: Some(&req.client_ip),
                route: Some(req.route),
            };
            audit::event(
                crate::audit::Event::RegistrationCompleted,
                &who,
                method.as_str(),
            );
            (
                "registered",
                answers::message_page(
                    app,
                    req,
                    200,
                    t.done_title,
                    t.done_text,
                    // The manual's one completion, on every registration path.
                    Some((&paths::login_with_notice("registered"), t.ok_button)),
                ),
            )
        }
        Err(StoreError::IdentityTaken) => {
            crate::metrics::count_federated(method.as_str(), "identity_taken");
            (
                "identity_taken",
                failed(app, req, 409, |t| t.federation_taken_text),
            )
        }
        Err(StoreError::TicketInvalid) => ticket_invalid(app, req),
        Err(_) => ("store_unavailable", answers::error_page(app, req, 503)),
    }
}

async fn login(
    app: &Arc<App>,
    req: &Req,
    method: LoginMethod,
    identity: FederatedIdentity,
    menu: bool,
    next: &str,
    scope: Option<&str>,
) -> Outcome {
    let t = req.lang.texts();
    let user = match app
        .store
        .find_user_by_identity(&identity.issuer, &identity.subject)
        .await
    {
        Ok(u) => u,
        Err(_) => return ("store_unavailable", answers::error_page(app, req, 503)),
    };
    // Bound to this provider as the user's current method, or nobody's;
    // through a tenant's Active Directory, one of that tenant's users.
    let user = user.filter(|u| u.method == method && u.status == UserStatus::Active);
    if let (Some(u), Some(tenant)) = (&user, scope) {
        if u.tenant_id != tenant {
            return other_tenant(app, req, method);
        }
    }
    let Some(user) = user else {
        crate::metrics::count_federated(method.as_str(), "unbound");
        return (
            "federation_unbound",
            answers::message_page(
                app,
                req,
                403,
                t.federation_unbound_title,
                t.federation_unbound_text,
                Some((paths::LOGIN, t.back_to_login)),
            ),
        );
    };
    let sign_in = SignIn {
        user: &user,
        proof: Proof::Provider(method),
        route: req.route,
        menu,
        next,
    };
    crate::flows::sign_in::finish(app, req, sign_in).await
}
