//! The Pingora proxy: every request is either one of the gateway's own
//! (`/.sekisho/…`, answered by a flow) or forwarded — with a live session,
//! with the client's identity headers removed and the gateway's added.

use crate::sessions::Live;
use crate::state::App;
use crate::web::{cookies_for_upstream, single_cookie, write_answer, Answer, Req};
use async_trait::async_trait;
use http::header;
use pingora::http::RequestHeader;
use pingora::prelude::*;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use sekisho_policy::headers::is_reserved_header;
use sekisho_policy::line::Access;
use sekisho_policy::model::Route;
use sekisho_policy::plan::{plan_state, PlanState};
use sekisho_policy::request::is_browser_navigation;
use std::sync::Arc;
use std::time::Instant;

/// The gateway's own path prefix.
pub const PREFIX: &str = "/.sekisho/";

pub struct Gateway {
    pub app: Arc<App>,
    pub route: Route,
}

/// Per-request state between phases.
pub struct Ctx {
    kind: &'static str,
    outcome: &'static str,
    live: Option<Live>,
    client_ip: String,
    upstream_started: Option<Instant>,
}

/// Refuses ambiguous message framing before anything else looks at the
/// request (S40): both Content-Length and Transfer-Encoding, differing or
/// malformed lengths, any transfer coding but a lone `chunked`.
fn framing_is_ambiguous(session: &Session) -> bool {
    let req = session.req_header();
    // Pingora drops Content-Length when Transfer-Encoding is present (RFC
    // 9112 §6.3) before any filter runs; the raw header still shows both.
    if req.headers.contains_key(header::TRANSFER_ENCODING) {
        if let Some(h1) = session.as_http1() {
            let raw = h1.get_headers_raw_bytes();
            let has_length = raw.split(|b| *b == b'\n').any(|line| {
                line.len() >= 15 && line[..15].eq_ignore_ascii_case(b"content-length:")
            });
            if has_length {
                return true;
            }
        }
    }
    let lengths: Vec<&[u8]> = req
        .headers
        .get_all(header::CONTENT_LENGTH)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    let codings: Vec<&[u8]> = req
        .headers
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    if !lengths.is_empty() && !codings.is_empty() {
        return true;
    }
    if lengths
        .iter()
        .any(|l| l.is_empty() || !l.iter().all(u8::is_ascii_digit))
        || lengths.windows(2).any(|w| w[0] != w[1])
    {
        return true;
    }
    if codings.len() > 1 {
        return true;
    }
    codings.first().is_some_and(|c| {
        !String::from_utf8_lossy(c)
            .trim()
            .eq_ignore_ascii_case("chunked")
    })
}

impl Gateway {
    /// The request as the gateway's pages see it, with this listener's
    /// route and, on the closed route, the caller's line.
    fn req(&self, session: &Session) -> Req {
        let app = &self.app;
        let mut req = Req::read(session, &app.cookies, &app.config.throttle.trusted_proxies);
        req.route = self.route;
        req.line = self.line(session);
        req
    }

    fn line(&self, session: &Session) -> Option<String> {
        match (&self.app.config.closed, self.route) {
            (Some(closed), Route::Closed) => crate::line::of_request(closed, session),
            _ => None,
        }
    }

    /// A request for the other route's hostname (421): the route follows
    /// the listener, so a name that points here by mistake gets no answer
    /// of the other route.
    fn misdirected(&self, session: &Session) -> bool {
        let cfg = &self.app.config;
        let other = match self.route {
            Route::Internet => match &cfg.closed {
                Some(c) => c.listener.public_url.as_str(),
                None => return false,
            },
            Route::Closed => cfg.internet.public_url.as_str(),
        };
        let other = other.split_once("://").map(|(_, a)| a).unwrap_or(other);
        let req = session.req_header();
        let host = req
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri.authority().map(|a| a.as_str()));
        host.is_some_and(|h| h.trim().eq_ignore_ascii_case(other))
    }

    async fn answer(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        outcome: &'static str,
        answer: Answer,
    ) -> Result<bool> {
        ctx.outcome = outcome;
        let csp = self.app.csp_with(&answer.form_origins);
        write_answer(session, answer, self.app.hsts, &csp).await?;
        Ok(true)
    }
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx {
            kind: "proxy",
            outcome: "unknown",
            live: None,
            client_ip: String::new(),
            upstream_started: None,
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        let app = &self.app;
        let trusted = &app.config.throttle.trusted_proxies;
        crate::metrics::REQUESTS_BY_ROUTE
            .with_label_values(&[self.route.as_str()])
            .inc();
        if framing_is_ambiguous(session) {
            let req = self.req(session);
            return self
                .answer(
                    session,
                    ctx,
                    "bad_framing",
                    app.error_page(&req, 400).closing(),
                )
                .await;
        }
        if self.misdirected(session) {
            let req = self.req(session);
            return self
                .answer(
                    session,
                    ctx,
                    "misdirected",
                    app.error_page(&req, 421).closing(),
                )
                .await;
        }
        let path = session.req_header().uri.path();
        if path.starts_with(PREFIX) || path == "/.sekisho" {
            ctx.kind = "gateway";
            let req = self.req(session);
            ctx.client_ip = req.client_ip.clone();
            let (outcome, answer) = crate::flows::handle(app, session, &req, self.route).await;
            return self.answer(session, ctx, outcome, answer).await;
        }
        if !path.starts_with('/') {
            let req = self.req(session);
            return self
                .answer(
                    session,
                    ctx,
                    "bad_path",
                    app.error_page(&req, 400).closing(),
                )
                .await;
        }

        // The proxied path reads only what it needs; a page context is
        // built only when the gateway answers itself.
        let now = app.clock.now();
        let cookie = single_cookie(session, app.cookies.session);
        let live = match cookie {
            Some(c) => match app.sessions.resolve(c, now).await {
                Ok(live) => live,
                Err(_) => {
                    let req = self.req(session);
                    return self
                        .answer(
                            session,
                            ctx,
                            "store_unavailable",
                            app.error_page(&req, 503).closing(),
                        )
                        .await;
                }
            },
            None => None,
        };
        // A session of the other route is no session here (S39); its
        // cookie is left alone (same host, other port in development).
        let other_route = live
            .as_ref()
            .is_some_and(|l| l.view.session.route != self.route);
        let live = live.filter(|_| !other_route);
        let Some(live) = live else {
            let had_cookie = cookie.is_some();
            let req = self.req(session);
            let headers = &session.req_header().headers;
            let mode = headers.get("sec-fetch-mode").and_then(|v| v.to_str().ok());
            let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
            let has_body = headers.contains_key(header::CONTENT_LENGTH)
                || headers.contains_key(header::TRANSFER_ENCODING);
            let navigation = is_browser_navigation(&req.method, mode, accept);
            let mut answer = if navigation {
                let next: String = form_urlencoded::byte_serialize(req.here().as_bytes()).collect();
                Answer::redirect(&format!("/.sekisho/login?next={next}"))
            } else {
                app.error_page(&req, 401)
            };
            if had_cookie && !other_route {
                answer = answer.with_cookie(app.cookies.clear(app.cookies.session));
            }
            if has_body {
                answer = answer.closing();
            }
            return self.answer(session, ctx, "unauthenticated", answer).await;
        };
        // A trial that has ended closes the tenant's access, sessions included.
        let tenant = &live.view.tenant;
        let state = plan_state(tenant.plan, tenant.created_at, now);
        if state != PlanState::Active {
            let req = self.req(session);
            let t = req.lang.texts();
            let text = if state == PlanState::Closed {
                t.tenant_closed_text
            } else {
                t.trial_ended_text
            };
            let page = app.message_page(&req, 403, t.trial_ended_title, text, None);
            return self.answer(session, ctx, "trial_ended", page).await;
        }
        // The access route and, on the closed route, the line (PRODUCT
        // §3.4): checked on every request, so changes reach open sessions.
        let line = self.line(session);
        let s = &live.view.session;
        let access = sekisho_policy::line::access(
            self.route,
            s.route,
            tenant.access_route,
            s.line.as_deref(),
            line.as_deref(),
            &tenant.lines,
            &tenant.line_consents,
            false,
        );
        if access != Access::Allowed {
            let req = self.req(session);
            let navigation = crate::flows::route_access::is_navigation(session, &req);
            let (outcome, answer) =
                crate::flows::route_access::refuse(app, navigation, &req, access);
            return self.answer(session, ctx, outcome, answer).await;
        }
        ctx.client_ip = match session.client_addr().and_then(|a| a.as_inet()) {
            Some(a) if trusted.is_empty() => a.ip().to_string(),
            _ => self.req(session).client_ip,
        };
        ctx.live = Some(live);
        Ok(false)
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        ctx.upstream_started = Some(Instant::now());
        Ok(Box::new(self.app.peer.clone()))
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let app = &self.app;
        let Some(live) = ctx.live.as_ref() else {
            // Unreachable: request_filter answers every request without a
            // session. Refuse rather than forward without identity.
            return Error::e_explain(
                ErrorType::HTTPStatus(500),
                "no session at upstream_request_filter",
            );
        };
        // Remove every client-sent identity header, in every spelling (S38).
        let line_header = app.config.closed.as_ref().map(|c| c.line_header.as_str());
        let reserved: Vec<http::HeaderName> = upstream
            .headers
            .keys()
            .filter(|n| is_reserved_header(n.as_str(), line_header))
            .cloned()
            .collect();
        for name in reserved {
            upstream.remove_header(&name);
        }
        // The session cookies stay here; the others go on as one field.
        let rest = cookies_for_upstream(upstream, &app.cookies);
        upstream.remove_header(&header::COOKIE);
        if let Some(rest) = rest {
            upstream.insert_header(header::COOKIE, rest)?;
        }
        upstream.insert_header("x-forwarded-for", ctx.client_ip.as_str())?;
        upstream.insert_header("x-forwarded-proto", if app.hsts { "https" } else { "http" })?;

        for (name, value) in &live.identity.headers {
            upstream.insert_header(name.clone(), value.clone())?;
        }
        let token = app.sessions.assertion(live, &app.signer, app.clock.now());
        upstream.insert_header(http::HeaderName::from_static("x-auth-assertion"), token)?;
        ctx.outcome = "forwarded";
        Ok(())
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy
    where
        Ctx: Send + Sync,
    {
        let code = match e.etype() {
            ErrorType::HTTPStatus(code) => *code,
            _ => match e.esource() {
                ErrorSource::Upstream => 502,
                ErrorSource::Downstream => match e.etype() {
                    ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed => 0,
                    _ => 400,
                },
                ErrorSource::Internal | ErrorSource::Unset => 500,
            },
        };
        if code > 0 && session.response_written().is_none() {
            let req = self.req(session);
            let page = self.app.error_page(&req, code).closing();
            if let Err(err) = write_answer(session, page, self.app.hsts, &self.app.csp()).await {
                tracing::debug!(error = %err, "could not write the error page");
            }
        }
        ctx.outcome = if code == 502 {
            "upstream_error"
        } else {
            "error"
        };
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut Ctx) {
        let outcome = if e.is_some() && ctx.outcome == "forwarded" {
            "upstream_error"
        } else {
            ctx.outcome
        };
        crate::metrics::REQUESTS
            .with_label_values(&[ctx.kind, outcome])
            .inc();
        if let Some(started) = ctx.upstream_started {
            let class = match session.response_written().map(|r| r.status.as_u16()) {
                Some(s) if s < 400 => "ok",
                Some(s) if s < 500 => "4xx",
                _ => "5xx",
            };
            crate::metrics::UPSTREAM_SECONDS
                .with_label_values(&[class])
                .observe(started.elapsed().as_secs_f64());
        }
    }
}
