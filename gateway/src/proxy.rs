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
    async fn answer(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
        outcome: &'static str,
        answer: Answer,
    ) -> Result<bool> {
        ctx.outcome = outcome;
        write_answer(session, answer, self.app.hsts).await?;
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
        if framing_is_ambiguous(session) {
            let req = Req::read(session, &app.cookies, trusted);
            return self
                .answer(
                    session,
                    ctx,
                    "bad_framing",
                    app.error_page(&req, 400).closing(),
                )
                .await;
        }
        let path = session.req_header().uri.path();
        if path.starts_with(PREFIX) || path == "/.sekisho" {
            ctx.kind = "gateway";
            let req = Req::read(session, &app.cookies, trusted);
            ctx.client_ip = req.client_ip.clone();
            let (outcome, answer) = crate::flows::handle(app, session, &req, self.route).await;
            return self.answer(session, ctx, outcome, answer).await;
        }
        if !path.starts_with('/') {
            let req = Req::read(session, &app.cookies, trusted);
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
                    let req = Req::read(session, &app.cookies, trusted);
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
        let Some(live) = live else {
            let had_cookie = cookie.is_some();
            let req = Req::read(session, &app.cookies, trusted);
            let headers = &session.req_header().headers;
            let mode = headers.get("sec-fetch-mode").and_then(|v| v.to_str().ok());
            let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
            let has_body = headers.contains_key(header::CONTENT_LENGTH)
                || headers.contains_key(header::TRANSFER_ENCODING);
            let mut answer = if is_browser_navigation(&req.method, mode, accept) {
                let next: String = form_urlencoded::byte_serialize(req.here().as_bytes()).collect();
                Answer::redirect(&format!("/.sekisho/login?next={next}"))
            } else {
                app.error_page(&req, 401)
            };
            if had_cookie {
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
            let req = Req::read(session, &app.cookies, trusted);
            let t = req.lang.texts();
            let text = if state == PlanState::Closed {
                t.tenant_closed_text
            } else {
                t.trial_ended_text
            };
            let page = app.message_page(&req, 403, t.trial_ended_title, text, None);
            return self.answer(session, ctx, "trial_ended", page).await;
        }
        ctx.client_ip = match session.client_addr().and_then(|a| a.as_inet()) {
            Some(a) if trusted.is_empty() => a.ip().to_string(),
            _ => Req::read(session, &app.cookies, trusted).client_ip,
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
        let reserved: Vec<http::HeaderName> = upstream
            .headers
            .keys()
            .filter(|n| is_reserved_header(n.as_str(), None))
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
            let req = Req::read(
                session,
                &self.app.cookies,
                &self.app.config.throttle.trusted_proxies,
            );
            let page = self.app.error_page(&req, code).closing();
            if let Err(err) = write_answer(session, page, self.app.hsts).await {
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
