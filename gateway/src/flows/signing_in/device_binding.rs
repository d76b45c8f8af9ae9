//! Device-bound sessions (DBSC, S62): the browser's registration of its key
//! after a sign-in, the refresh of the bound cookie, and a navigation sent
//! through the refresh. The protocol's pieces are `crate::dbsc`; when a
//! binding counts is `sekisho_policy::binding`.
//!
//! The browser calls both endpoints itself, in the background, with the
//! session cookie. Answers follow the draft's processing: a 403 carrying
//! `Secure-Session-Challenge` asks for a proof (again), any other 4xx ends
//! the browser's bound session, and `"continue": false` ends it politely.

use crate::audit::{self, Event, Who};
use crate::dbsc::{self, ProofError};
use crate::flows::Outcome;
use crate::request::Req;
use crate::sessions::Live;
use crate::state::App;
use crate::store::SessionBinding;
use crate::web::Answer;
use pingora::proxy::Session;
use sekisho_policy::gate::counts_here;
use sekisho_policy::paths;
use sekisho_policy::return_path::safe_return_path;
use std::sync::Arc;

const RESPONSE: &str = "secure-session-response";
const SESSION_ID: &str = "sec-secure-session-id";
const CHALLENGE: &str = "secure-session-challenge";

fn header<'s>(session: &'s Session, name: &str) -> Option<&'s str> {
    session
        .req_header()
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
}

fn counted(result: &'static str) {
    crate::metrics::DEVICE_BINDING
        .with_label_values(&[result])
        .inc();
}

fn refused(req: &Req, live: Option<&Live>, why: &str) {
    counted("refused");
    let who = Who {
        user_id: live.map(|l| l.view.user.id.as_str()),
        tenant_id: live.map(|l| l.view.tenant.id.as_str()),
        route: Some(req.route),
        client_ip: Some(&req.client_ip),
    };
    audit::event(Event::DeviceBindingRefused, &who, why);
}

/// A plain refusal the browser reads as "this bound session is over".
fn bad_request(outcome: &'static str) -> Outcome {
    (outcome, Answer::text(400, "bad device binding request\n"))
}

/// The answer the draft reads as "prove your key": a 403 with a challenge
/// for the binding's current refresh count.
fn ask_proof(app: &App, live: &Live, binding: &SessionBinding) -> Outcome {
    let challenge = app
        .dbsc
        .challenge_header(&live.id_hash, binding, app.clock.now());
    (
        "binding_challenge",
        Answer::text(403, "device proof needed\n").with_header(CHALLENGE, challenge),
    )
}

/// A bound answer: the session's instructions, a fresh bound cookie and a
/// challenge for the next refresh, so that it needs no extra round trip.
fn bound_answer(
    app: &App,
    live: &Live,
    binding: &SessionBinding,
    outcome: &'static str,
) -> Outcome {
    let now = app.clock.now();
    let (value, life) = app.dbsc.bound_cookie(&live.id_hash, binding, now);
    let names = &app.cookies;
    let origin = public_origin(app, live.view.session.route);
    let body = dbsc::instructions(&binding.id, &origin, names.bound, names.secure);
    (
        outcome,
        Answer::json(200, body)
            .with_cookie(names.set_lasting(names.bound, &value, life))
            .with_header(
                CHALLENGE,
                app.dbsc.challenge_header(&live.id_hash, binding, now),
            ),
    )
}

/// The origin of the route's public URL: the bound session's scope.
fn public_origin(app: &App, route: sekisho_policy::model::Route) -> String {
    let url = match (route, &app.config.closed) {
        (sekisho_policy::model::Route::Closed, Some(closed)) => &closed.listener.public_url,
        _ => &app.config.internet.public_url,
    };
    match url.parse::<http::Uri>() {
        Ok(uri) => match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
            _ => url.trim_end_matches('/').to_string(),
        },
        Err(_) => url.trim_end_matches('/').to_string(),
    }
}

/// This request's session on this listener, as the endpoints read it: the
/// cookie alone, whatever its binding says (proving that is their job).
async fn session_here(app: &App, req: &Req) -> Result<Option<Live>, Outcome> {
    match req.session(&app.sessions, &app.clock).await {
        Ok(live) => Ok(live.filter(|l| counts_here(req.route, l.view.session.route))),
        Err(_) => Err((
            "store_unavailable",
            Answer::text(503, "store unavailable\n"),
        )),
    }
}

/// POST of the registration: the browser's new key, its proof signed over
/// the registration challenge this session's sign-in was given.
pub async fn register(app: &Arc<App>, session: &Session, req: &Req) -> Outcome {
    if !app.dbsc.enabled {
        return ("not_found", Answer::text(404, "not found\n"));
    }
    let live = match session_here(app, req).await {
        Ok(Some(live)) => live,
        Ok(None) => return ("unauthenticated", Answer::text(401, "no session\n")),
        Err(o) => return o,
    };
    let now = app.clock.now();
    let Some(jwt) = header(session, RESPONSE).and_then(dbsc::sf_string) else {
        refused(req, Some(&live), "malformed");
        return bad_request("binding_malformed");
    };
    let proof = match dbsc::verify_proof(jwt, None) {
        Ok(proof) => proof,
        Err(e) => {
            refused(req, Some(&live), proof_words(e));
            return bad_request("binding_refused");
        }
    };
    if !app
        .dbsc
        .registration_challenge_ok(&proof.jti, &live.id_hash, now)
    {
        refused(req, Some(&live), "challenge");
        return bad_request("binding_refused");
    }
    let binding = SessionBinding {
        id: crate::crypto::random_id(),
        x: proof.x,
        y: proof.y,
        bound_at: now,
        refreshes: 0,
    };
    match app.store.bind_session(&live.id_hash, binding.clone()).await {
        Ok(true) => {}
        Ok(false) => {
            refused(req, Some(&live), "already bound");
            return bad_request("binding_refused");
        }
        Err(_) => {
            return (
                "store_unavailable",
                Answer::text(503, "store unavailable\n"),
            )
        }
    }
    app.sessions.forget(&live.id_hash);
    counted("bound");
    let who = Who {
        user_id: Some(&live.view.user.id),
        tenant_id: Some(&live.view.tenant.id),
        route: Some(req.route),
        client_ip: Some(&req.client_ip),
    };
    audit::event(Event::DeviceBound, &who, &binding.id);
    bound_answer(app, &live, &binding, "device_bound")
}

fn proof_words(e: ProofError) -> &'static str {
    match e {
        ProofError::Malformed => "malformed",
        ProofError::BadSignature => "signature",
    }
}

/// POST of a refresh: the bound session named by `Sec-Secure-Session-Id`,
/// proved by a signature over a challenge of this session's current
/// refresh count. Two refreshes racing with one challenge: the first
/// wins, the second is asked again (S62).
pub async fn refresh(app: &Arc<App>, session: &Session, req: &Req) -> Outcome {
    if !app.dbsc.enabled {
        return ("not_found", Answer::text(404, "not found\n"));
    }
    let Some(named) = header(session, SESSION_ID).and_then(dbsc::sf_string) else {
        return bad_request("binding_malformed");
    };
    let named = named.to_string();
    let live = match session_here(app, req).await {
        Ok(live) => live,
        Err(o) => return o,
    };
    // No session, or another one than the browser's bound session: that
    // bound session is over.
    let Some((live, _)) = live.and_then(|l| {
        let b = l.view.session.binding.clone()?;
        (b.id == named).then_some((l, b))
    }) else {
        counted("ended");
        return ("binding_ended", Answer::json(200, dbsc::ended(&named)));
    };
    // The view may be a moment old; the count is the store's.
    let binding = match app.store.session_view(&live.id_hash).await {
        Ok(Some(v)) => match v.session.binding {
            Some(b) if b.id == named => b,
            _ => return ("binding_ended", Answer::json(200, dbsc::ended(&named))),
        },
        Ok(None) => return ("binding_ended", Answer::json(200, dbsc::ended(&named))),
        Err(_) => {
            return (
                "store_unavailable",
                Answer::text(503, "store unavailable\n"),
            )
        }
    };
    let Some(jwt) = header(session, RESPONSE).and_then(dbsc::sf_string) else {
        return ask_proof(app, &live, &binding);
    };
    let proof = match dbsc::verify_proof(jwt, Some((&binding.x, &binding.y))) {
        Ok(proof) => proof,
        Err(e) => {
            // A proof not made with the session's key: refused outright.
            refused(req, Some(&live), proof_words(e));
            return (
                "binding_refused",
                Answer::text(401, "device proof refused\n"),
            );
        }
    };
    let now = app.clock.now();
    let count = app
        .dbsc
        .refresh_challenge_count(&proof.jti, &live.id_hash, now);
    if count != Some(binding.refreshes) {
        // A used, expired or foreign challenge, signed by the right key: a
        // replay or a lost race. Ask again with the current count.
        counted("asked_again");
        return ask_proof(app, &live, &binding);
    }
    match app
        .store
        .advance_binding(&live.id_hash, &binding.id, binding.refreshes)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            counted("asked_again");
            let current = SessionBinding {
                refreshes: binding.refreshes + 1,
                ..binding
            };
            return ask_proof(app, &live, &current);
        }
        Err(_) => {
            return (
                "store_unavailable",
                Answer::text(503, "store unavailable\n"),
            )
        }
    }
    app.sessions.forget(&live.id_hash);
    counted("refreshed");
    let next = SessionBinding {
        refreshes: binding.refreshes + 1,
        ..binding
    };
    bound_answer(app, &live, &next, "binding_refreshed")
}

/// GET of the refresh: a navigation the gate sent here for want of a fresh
/// bound cookie. A DBSC browser refreshes on the way (this path is in the
/// bound session's scope), arrives with the cookie and goes on to `next`;
/// any other browser is told the sign-in is bound elsewhere, with the way
/// to sign in here.
pub async fn through(app: &Arc<App>, req: &Req) -> Outcome {
    let next = safe_return_path(&req.query_param("next").unwrap_or_default());
    let now = app.clock.now();
    if let Ok(Some(live)) = session_here(app, req).await {
        if live.view.session.binding.is_some()
            && app.dbsc.check(&live, req.cookies.bound(), now)
                == sekisho_policy::binding::BindingCheck::Pass
        {
            return ("binding_passed", Answer::redirect(&next));
        }
    }
    let t = req.lang.texts();
    let login: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    let login = format!("{}?next={login}", paths::LOGIN);
    let page = crate::answers::page_with_ways(
        app,
        req,
        401,
        t.binding_refresh_title,
        t.binding_refresh_text,
        vec![(login.as_str(), t.go_login)],
    );
    ("binding_refresh", page)
}

/// The registration header a sign-in answers with, where binding is on.
pub fn offer(app: &App, session_cookie_value: &str) -> Option<String> {
    app.dbsc.enabled.then(|| {
        let id_hash = crate::crypto::token_hash(session_cookie_value);
        app.dbsc.registration_header(&id_hash, app.clock.now())
    })
}
