//! The Pingora proxy. A request is read once ([`RequestView`]); then it is
//! either one of the gateway's own (`/.sekisho/…`, answered by a flow) or
//! it gets the gate's verdict: forwarded with a live session (the client's
//! identity headers removed, the gateway's added), or answered with the
//! refusal the verdict names.

use crate::answers;
use crate::flows::Outcome;
use crate::request::{standing, RequestView};
use crate::state::App;
use crate::web::write_answer;
use async_trait::async_trait;
use http::header;
use pingora::http::RequestHeader;
use pingora::prelude::*;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use prometheus::IntCounter;
use sekisho_config::ProxySteps;
use sekisho_policy::gate::{gate, Place, Verdict};
use sekisho_policy::model::Route;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

mod context;
mod edge;
mod observe;
mod upstream;

pub use context::{Ctx, Forward};
use edge::{early_refusal, own_host};
pub use edge::{is_gateway_path, PREFIX};
use upstream::{rewrite_upstream_header, UpstreamIdentity, TRACEPARENT};

/// One listener's proxy (internet or closed), sharing the app.
pub struct Gateway {
    pub app: Arc<App>,
    pub route: Route,
    /// How much of the proxied path runs (the benchmark's ablation).
    steps: ProxySteps,
    /// This listener's request counter, resolved once (a label look-up
    /// takes a lock and hashes on every request otherwise).
    requests_here: IntCounter,
    /// This listener's duration histograms, by kind (proxy, gateway) and
    /// status class, resolved once for the same reason.
    durations: [[prometheus::Histogram; 5]; 2],
}

/// Numbers this process's requests, on every listener: the request id's
/// second half, and the access log's sampling.
static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Gateway {
    pub fn new(app: Arc<App>, route: Route) -> Gateway {
        let durations = ["proxy", "gateway"].map(|kind| {
            crate::metrics::STATUS_CLASSES.map(|class| {
                crate::metrics::REQUEST_SECONDS.with_label_values(&[route.as_str(), kind, class])
            })
        });
        Gateway {
            steps: app.config.development.proxy_steps,
            requests_here: crate::metrics::REQUESTS_BY_ROUTE.with_label_values(&[route.as_str()]),
            durations,
            app,
            route,
        }
    }
}

impl Gateway {
    /// The gate's verdict on a proxied request, and what follows from it:
    /// what to forward, or the refusal to answer.
    async fn decide(&self, view: RequestView<'_>, request_id: &str) -> Result<Forward, Outcome> {
        let app = &self.app;
        let req = || {
            let mut req = view.to_req();
            req.request_id = request_id.to_string();
            req.after_post = crate::routes::landing(&req.path);
            req
        };
        let live = match view.session(&app.sessions, &app.clock).await {
            Ok(live) => live,
            Err(_) => {
                let page = answers::error_page(app, &req(), 503).closing();
                return Err(("store_unavailable", page));
            }
        };
        let now = app.clock.now();
        let bound = view.cookies.bound.value();
        let standing = live
            .as_ref()
            .map(|l| standing(l, app.dbsc.check(l, bound, now)));
        let verdict = gate(&view.arrival(Place::Upstream), standing.as_ref(), now);
        match (verdict, live) {
            (Verdict::Pass, Some(live)) => Ok(Forward {
                live,
                client_ip: view.client_ip,
                cookie: view.upstream_cookie,
                now,
            }),
            (verdict, _) => {
                let (outcome, answer) =
                    crate::refusals::refusal(app, &req(), Place::Upstream, verdict);
                // A body left unread cannot share the connection.
                let answer = if view.has_body() {
                    answer.closing()
                } else {
                    answer
                };
                Err((outcome, answer))
            }
        }
    }

    async fn answer(&self, session: &mut Session, ctx: &mut Ctx, outcome: Outcome) -> Result<bool> {
        let (outcome, answer) = outcome;
        ctx.outcome = outcome;
        let csp = self.app.federation.csp(&answer.form_origins);
        write_answer(session, answer, self.app.hsts, &csp).await?;
        Ok(true)
    }
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = Ctx;

    /// Runs once per request, before any phase: the request's own state,
    /// which every later phase reads and `logging` reports.
    fn new_ctx(&self) -> Ctx {
        Ctx {
            kind: "proxy",
            outcome: "unknown",
            forward: None,
            upstream_started: None,
            started: Instant::now(),
            body_bytes: 0,
            request_id: String::new(),
            sequence: SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            span: tracing::Span::none(),
            traceparent: None,
        }
    }

    /// Runs once the request header has arrived, before anything else of
    /// ours. Framing and host checks; one reading of the request; then the
    /// gateway's own page, or the gate's verdict acted on. `Ok(true)`: we
    /// answered; `Ok(false)`: forward (with `ctx.forward` set).
    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        let app = &self.app;
        self.requests_here.inc();
        if session.is_http2() {
            // Its connection's first-request deadline is met (S60).
            crate::connections::request_arrived(session);
        }
        let trusted = edge::is_trusted_hop(&self.app.config.throttle.trusted_proxies, session);
        ctx.request_id = edge::request_id(session, ctx.sequence, trusted);
        if trusted {
            ctx.traceparent = session
                .req_header()
                .headers
                .get(TRACEPARENT)
                .filter(|v| crate::traces::acceptable_traceparent(v.as_bytes()))
                .cloned();
        }
        ctx.span = crate::traces::request_span(
            session.req_header().method.as_str(),
            self.route.as_str(),
            &ctx.request_id,
            ctx.traceparent.as_ref(),
        );
        if let Some((outcome, status)) = early_refusal(app, self.route, session) {
            let mut req =
                RequestView::read(session, &app.cookies, &app.config, self.route).to_req();
            req.request_id = ctx.request_id.clone();
            req.after_post = crate::routes::landing(&req.path);
            let page = answers::error_page(app, &req, status).closing();
            return self.answer(session, ctx, (outcome, page)).await;
        }
        let view = RequestView::read(session, &app.cookies, &app.config, self.route);
        if is_gateway_path(view.path()) {
            ctx.kind = "gateway";
            let mut req = view.to_req();
            req.request_id = ctx.request_id.clone();
            req.after_post = crate::routes::landing(&req.path);
            let outcome = crate::routes::dispatch(app, session, &req, self.route)
                .instrument(ctx.span.clone())
                .await;
            return self.answer(session, ctx, outcome).await;
        }
        match self
            .decide(view, &ctx.request_id)
            .instrument(ctx.span.clone())
            .await
        {
            Ok(forward) => {
                ctx.forward = Some(forward);
                Ok(false)
            }
            Err(refusal) => self.answer(session, ctx, refusal).await,
        }
    }

    /// Runs after `request_filter` decided to forward: the storage service,
    /// a clone of the peer built at start (resolving here would block).
    /// An error fails the request with 502 through `fail_to_proxy`.
    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        ctx.upstream_started = Some(Instant::now());
        Ok(Box::new(self.app.peer.clone()))
    }

    /// Runs on the copy of the request header that goes upstream, after
    /// `request_filter` forwarded. Removes what the client must not set and
    /// adds who the request is.
    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let app = &self.app;
        let Some(forward) = ctx.forward.as_ref() else {
            // Unreachable: request_filter answers every request without a
            // session. Refuse rather than forward without identity.
            return Error::e_explain(
                ErrorType::HTTPStatus(500),
                "no session at upstream_request_filter",
            );
        };
        ctx.outcome = "forwarded";
        if self.steps < ProxySteps::Strip {
            return Ok(());
        }
        let line_header = app.config.closed.as_ref().map(|c| c.line_header.as_str());
        let token = (self.steps >= ProxySteps::Assertion).then(|| {
            app.sessions
                .assertion(&forward.live, &app.signer, forward.now)
        });
        let identity = (self.steps >= ProxySteps::Identity).then(|| UpstreamIdentity {
            client_ip: &forward.client_ip,
            proto: if app.hsts { "https" } else { "http" },
            // The client's `Host` (a reference-counted clone), else ours.
            host: upstream
                .headers
                .get(header::HOST)
                .filter(|h| h.to_str().is_ok())
                .cloned()
                .or_else(|| http::HeaderValue::from_str(own_host(app, self.route)).ok()),
            headers: &forward.live.identity.headers,
            assertion: token,
            request_id: &ctx.request_id,
            traceparent: crate::traces::upstream_traceparent(&ctx.span, ctx.traceparent.as_ref()),
        });
        rewrite_upstream_header(upstream, line_header, &forward.cookie, identity)
    }

    /// What Pingora's own error lines say of a request: method, path and
    /// listener, never the query, where share links carry secrets (S52).
    fn request_summary(&self, session: &Session, _ctx: &Ctx) -> String {
        let req = session.req_header();
        format!(
            "{} {} ({})",
            req.method,
            req.uri.path(),
            self.route.as_str()
        )
    }

    /// Pingora logs every failed request at error level, and a client causes
    /// most of them: a dropped connection, a body cut short, a read that
    /// times out. Those are no operator's error (S52): `fail_to_proxy` says
    /// them at debug, and `logging` counts them. The upstream's and the
    /// gateway's own failures keep their line.
    /// Runs for each piece of a proxied request body as it arrives (the
    /// gateway's own forms are read by their flows, under
    /// `form_body_timeout_ms`). Each read already has its own timeout;
    /// this keeps the whole body within its deadline too (S61), and makes
    /// the next read wait no longer than the deadline leaves. `Err`: the
    /// request ends with 408.
    async fn request_body_filter(
        &self,
        session: &mut Session,
        body: &mut Option<bytes::Bytes>,
        end_of_stream: bool,
        ctx: &mut Ctx,
    ) -> Result<()> {
        ctx.body_bytes += body.as_ref().map_or(0, |b| b.len() as u64);
        if end_of_stream {
            return Ok(());
        }
        let limits = &self.app.config.limits;
        let deadline = edge::body_deadline(ctx.started, ctx.body_bytes, limits);
        let now = Instant::now();
        if now >= deadline {
            crate::connections::Refusal::BodyTimeout.count();
            return Err(Error::explain(
                ErrorType::HTTPStatus(408),
                "the request body outlived its deadline",
            )
            .into_down());
        }
        session.set_read_timeout(Some((deadline - now).min(limits.client_read_timeout)));
        Ok(())
    }

    fn suppress_error_log(&self, _session: &Session, _ctx: &Ctx, error: &Error) -> bool {
        *error.esource() == ErrorSource::Downstream
    }

    /// Runs when a request fails after `request_filter` (the upstream down or
    /// slow, a body cut short): writes our error page if nothing was
    /// written yet. Its return tells Pingora the status it answered and
    /// whether the connection can be reused.
    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy
    where
        Ctx: Send + Sync,
    {
        if *e.esource() == ErrorSource::Downstream {
            tracing::debug!(
                error = ?e.etype(),
                request = %self.request_summary(session, ctx),
                "the client ended or broke the request"
            );
        }
        // The last read was cut to what the body's deadline left (S61).
        if *e.etype() == ErrorType::ReadTimedout
            && Instant::now()
                >= edge::body_deadline(ctx.started, ctx.body_bytes, &self.app.config.limits)
        {
            crate::connections::Refusal::BodyTimeout.count();
        }
        let code = match e.etype() {
            ErrorType::HTTPStatus(code) => *code,
            _ => match e.esource() {
                ErrorSource::Upstream => 502,
                ErrorSource::Downstream => match e.etype() {
                    ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed => 0,
                    // A body read past its wait or its deadline (S61).
                    ErrorType::ReadTimedout => 408,
                    _ => 400,
                },
                ErrorSource::Internal | ErrorSource::Unset => 500,
            },
        };
        if code > 0 && session.response_written().is_none() {
            let mut req =
                RequestView::read(session, &self.app.cookies, &self.app.config, self.route)
                    .to_req();
            req.request_id = ctx.request_id.clone();
            req.after_post = crate::routes::landing(&req.path);
            let page = answers::error_page(&self.app, &req, code).closing();
            if let Err(err) =
                write_answer(session, page, self.app.hsts, &self.app.federation.csp(&[])).await
            {
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

    /// Runs last for every request, answered, forwarded or failed: the
    /// access line, the metrics and the request span's end. Returns nothing;
    /// it cannot change the answer.
    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut Ctx) {
        if self.steps < ProxySteps::Full {
            return;
        }
        let outcome = if e.is_some() && ctx.outcome == "forwarded" {
            "upstream_error"
        } else {
            ctx.outcome
        };
        if ctx.kind == "proxy" && outcome == "forwarded" {
            crate::metrics::FORWARDED.inc();
        } else {
            crate::metrics::REQUESTS
                .with_label_values(&[ctx.kind, outcome])
                .inc();
        }
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let kind = usize::from(ctx.kind != "proxy");
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        // One reading of the clock for both durations.
        let ended = Instant::now();
        let elapsed = ended.saturating_duration_since(ctx.started);
        if !ctx.span.is_none() {
            ctx.span.record("http.response.status_code", status);
            ctx.span.record("sekisho.kind", ctx.kind);
        }
        self.durations[kind][class].observe(elapsed.as_secs_f64());
        if ctx.kind == "gateway" {
            let page = crate::routes::page_of(session.req_header().uri.path());
            crate::metrics::PAGE_SECONDS
                .with_label_values(&[page])
                .observe(elapsed.as_secs_f64());
            crate::metrics::PAGE_RESPONSES
                .with_label_values(&[page, crate::metrics::STATUS_CLASSES[class]])
                .inc();
        }
        if let Some(every) = self.app.config.logging.access_log_every {
            if ctx.sequence.is_multiple_of(every) {
                observe::access_line(self.route, session, ctx, outcome, status, elapsed);
            }
        }
        if let Some(started) = ctx.upstream_started {
            let seconds = ended.saturating_duration_since(started).as_secs_f64();
            match session.response_written().map(|r| r.status.as_u16()) {
                Some(s) if s < 400 => crate::metrics::UPSTREAM_OK.observe(seconds),
                Some(s) if s < 500 => crate::metrics::UPSTREAM_SECONDS
                    .with_label_values(&["4xx"])
                    .observe(seconds),
                _ => crate::metrics::UPSTREAM_SECONDS
                    .with_label_values(&["5xx"])
                    .observe(seconds),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The proxy's phases in-process, on Pingora's own session over an
    //! in-memory stream (as pingap tests its plugins): each verdict becomes
    //! the right answer, and a forwarded request carries the right header
    //! to the upstream. No binary, no socket.
    use super::*;
    use crate::sessions::NewSession;
    use crate::store::conformance::{ticket, user};
    use sekisho_policy::line::AccessRoute;
    use sekisho_policy::model::{LoginMethod, Plan, UserStatus};
    use sekisho_policy::paths;
    use sekisho_policy::ticket::TicketPurpose;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    struct Fixture {
        gateway: Gateway,
        cookie: String,
        _dir: tempfile::TempDir,
    }

    /// A gateway on a fresh embedded store with one active user signed in
    /// on the internet route; `tenant` may change the tenant first.
    fn fixture(tenant: impl FnOnce(&mut crate::store::Tenant)) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let text = format!(
            r#"
service_name = "テスト"
[internet]
listen = "127.0.0.1:1"
public_url = "http://gw.example.jp"
[upstream]
address = "127.0.0.1:9"
[store]
path = "{d}/store.sqlite3"
[mail]
from = "gw@example.jp"
transport = "outbox"
outbox_dir = "{d}/outbox"
[assertion]
signing_key_file = "{d}/key.pem"
generate_if_missing = true
[two_step]
seed_key_file = "{d}/seed.key"
generate_seed_key = true
[metrics]
listen = "127.0.0.1:2"
[development]
insecure_http_cookies = true
"#
        );
        let config = sekisho_config::from_toml_str(&text, dir.path()).expect("config");
        let app = Arc::new(App::build(config).expect("app"));
        let cookie = block_on(async {
            let mut t = crate::store::conformance::tenant("t1");
            tenant(&mut t);
            let mut holder = user("u1", "t1", "holder@example.jp");
            holder.status = UserStatus::Active;
            let invitation = ticket("inv", TicketPurpose::Invitation, "u1", i64::MAX / 2);
            app.store
                .create_tenant_with_holder(t, holder.clone(), invitation)
                .await
                .unwrap();
            let new = NewSession {
                user: &holder,
                route: Route::Internet,
                method: LoginMethod::Password,
                client_ip: "127.0.0.1",
                user_agent: "test",
                line: None,
            };
            app.sessions
                .start(new, None, app.clock.now())
                .await
                .unwrap()
        });
        Fixture {
            gateway: Gateway::new(app, Route::Internet),
            cookie,
            _dir: dir,
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// What `request_filter` did with `raw`: whether it answered, the
    /// context, and the bytes it wrote back.
    async fn filter(gateway: &Gateway, raw: &str) -> (bool, Ctx, String) {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        client.write_all(raw.as_bytes()).await.unwrap();
        let mut session = Session::new_h1(Box::new(server));
        assert!(session.read_request().await.unwrap(), "a request");
        let mut ctx = gateway.new_ctx();
        let answered = gateway
            .request_filter(&mut session, &mut ctx)
            .await
            .unwrap();
        drop(session);
        let mut written = Vec::new();
        client.read_to_end(&mut written).await.unwrap();
        (
            answered,
            ctx,
            String::from_utf8_lossy(&written).into_owned(),
        )
    }

    /// The gateway answered, counted as `outcome`, with `status`.
    fn assert_answer(answered: bool, ctx: &Ctx, written: &str, outcome: &str, status: &str) {
        assert!(answered, "answered: {written}");
        assert_eq!(ctx.outcome, outcome, "{written}");
        assert!(
            written.starts_with(&format!("HTTP/1.1 {status}")),
            "{written}"
        );
    }

    fn get(path: &str, headers: &str) -> String {
        format!("GET {path} HTTP/1.1\r\nHost: gw.example.jp\r\n{headers}\r\n")
    }

    #[test]
    fn a_live_session_is_forwarded_with_identity_and_without_our_cookie() {
        let f = fixture(|_| {});
        block_on(async {
            let raw = get(
                "/files",
                &format!(
                    "Cookie: a=1; sekisho={}\r\nX-Auth-User: mallory\r\nx_auth_role: admin\r\n",
                    f.cookie
                ),
            );
            let up = forwarded_header(&f, &raw).await;
            let h = |n: &str| up.headers.get(n).map(|v| v.to_str().unwrap().to_string());
            assert_eq!(
                h("cookie").as_deref(),
                Some("a=1"),
                "S31: our cookie stays here"
            );
            assert_eq!(h("x-auth-user").as_deref(), Some("u1"), "S38");
            assert_eq!(h("x-auth-role").as_deref(), Some("contract_holder"));
            assert!(h("x_auth_role").is_none(), "S38: every spelling removed");
            assert!(h("x-auth-assertion").is_some_and(|t| t.split('.').count() == 3));
        });
    }

    #[test]
    fn only_our_cookie_means_no_cookie_field_upstream() {
        let f = fixture(|_| {});
        block_on(async {
            let raw = get("/x", &format!("Cookie: sekisho={}\r\n", f.cookie));
            let up = forwarded_header(&f, &raw).await;
            assert!(up.headers.get("cookie").is_none());
        });
    }

    /// The upstream header for `raw` after both filters, from a session.
    async fn forwarded_header(f: &Fixture, raw: &str) -> RequestHeader {
        let (answered, mut ctx, written) = filter(&f.gateway, raw).await;
        assert!(!answered, "forwarded: {written}");
        assert!(written.is_empty());
        let (_, server) = tokio::io::duplex(1 << 16);
        let mut session = Session::new_h1(Box::new(server));
        let (mut client, server2) = tokio::io::duplex(1 << 16);
        client.write_all(raw.as_bytes()).await.unwrap();
        let mut read = Session::new_h1(Box::new(server2));
        read.read_request().await.unwrap();
        let mut up = read.req_header().clone();
        f.gateway
            .upstream_request_filter(&mut session, &mut up, &mut ctx)
            .await
            .unwrap();
        assert_eq!(ctx.outcome, "forwarded");
        up
    }

    #[test]
    fn s47_client_forwarding_headers_are_replaced_by_the_gateways() {
        let f = fixture(|_| {});
        block_on(async {
            let raw = get(
                "/x",
                &format!(
                    "Cookie: sekisho={}\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-For: 6.6.6.6\r\n\
                     X-Forwarded-Host: evil.example\r\nX_Forwarded_Proto: https\r\nX-Real-IP: 6.6.6.6\r\n\
                     True-Client-IP: 6.6.6.6\r\nX-Client-IP: 6.6.6.6\r\n",
                    f.cookie
                ),
            );
            let up = forwarded_header(&f, &raw).await;
            let all = |n: &str| {
                up.headers
                    .get_all(n)
                    .iter()
                    .map(|v| v.to_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                all("x-forwarded-for"),
                ["-"],
                "the in-memory stream has no peer"
            );
            assert_eq!(all("x-forwarded-host"), ["gw.example.jp"]);
            assert_eq!(all("x-forwarded-proto"), ["http"]);
            assert_eq!(
                all("forwarded"),
                ["for=unknown;proto=http;host=\"gw.example.jp\""]
            );
            for gone in [
                "x-real-ip",
                "true-client-ip",
                "x-client-ip",
                "x_forwarded_proto",
            ] {
                assert!(all(gone).is_empty(), "{gone}");
            }
        });
    }

    #[test]
    fn s48_absolute_form_for_this_host_goes_upstream_in_origin_form() {
        let f = fixture(|_| {});
        block_on(async {
            let raw = format!(
                "GET http://gw.example.jp/files?a=1 HTTP/1.1\r\nHost: gw.example.jp\r\nCookie: sekisho={}\r\n\r\n",
                f.cookie
            );
            let up = forwarded_header(&f, &raw).await;
            assert_eq!(up.raw_path(), b"/files?a=1");
            assert!(up.uri.scheme().is_none());
        });
    }

    #[test]
    fn s48_other_targets_are_refused_before_anything() {
        let f = fixture(|_| {});
        block_on(async {
            // Pingora itself refuses userinfo and a Host that differs from
            // the target's (the end-to-end S48 test sends those); another
            // host, consistently named, is the gateway's to refuse.
            for (target, host) in [("http://other.example/x", "other.example")] {
                let raw = format!(
                    "GET {target} HTTP/1.1\r\nHost: {host}\r\nCookie: sekisho={}\r\n\r\n",
                    f.cookie
                );
                let (answered, ctx, written) = filter(&f.gateway, &raw).await;
                assert!(answered, "{target}");
                assert_eq!(ctx.outcome, "bad_target", "{target}");
                assert!(written.starts_with("HTTP/1.1 400"), "{target}: {written}");
            }
        });
    }

    #[test]
    fn no_session_browser_is_sent_to_sign_in_and_a_dead_cookie_cleared() {
        let f = fixture(|_| {});
        block_on(async {
            let dead = "A".repeat(43);
            let raw = get(
                "/files?x=1",
                &format!("Cookie: sekisho={dead}\r\nSec-Fetch-Mode: navigate\r\n"),
            );
            let (answered, ctx, written) = filter(&f.gateway, &raw).await;
            assert_answer(answered, &ctx, &written, "unauthenticated", "303");
            assert!(written.contains(&format!("{}?next=%2Ffiles%3Fx%3D1", paths::LOGIN)));
            let lower = written.to_ascii_lowercase();
            assert!(lower.contains("set-cookie: sekisho=;"), "{written}");
        });
    }

    #[test]
    fn no_session_api_client_gets_401() {
        let f = fixture(|_| {});
        block_on(async {
            let (answered, ctx, written) = filter(&f.gateway, &get("/api", "")).await;
            assert_answer(answered, &ctx, &written, "unauthenticated", "401");
            let lower = written.to_ascii_lowercase();
            assert!(!lower.contains("set-cookie"), "no cookie, nothing to clear");
        });
    }

    #[test]
    fn s30_a_repeated_session_cookie_is_no_session() {
        let f = fixture(|_| {});
        block_on(async {
            let raw = get(
                "/x",
                &format!("Cookie: sekisho={0}\r\nCookie: sekisho={0}\r\n", f.cookie),
            );
            let (answered, ctx, written) = filter(&f.gateway, &raw).await;
            assert_answer(answered, &ctx, &written, "unauthenticated", "401");
        });
    }

    #[test]
    fn s39_a_session_of_the_other_route_is_no_session_on_the_closed_listener() {
        let f = fixture(|_| {});
        let closed = Gateway::new(f.gateway.app.clone(), Route::Closed);
        block_on(async {
            let raw = format!(
                "GET /x HTTP/1.1\r\nHost: closed.example.jp\r\nCookie: sekisho={}\r\n\r\n",
                f.cookie
            );
            let (answered, ctx, written) = filter(&closed, &raw).await;
            assert_answer(answered, &ctx, &written, "unauthenticated", "401");
            let lower = written.to_ascii_lowercase();
            assert!(
                !lower.contains("set-cookie"),
                "the other route's cookie stays"
            );
        });
    }

    /// A signed-in GET of `/x` is answered by the gateway with `status`,
    /// counted as `outcome`.
    fn signed_in_request_is_refused(f: &Fixture, outcome: &str, status: &str) {
        block_on(async {
            let raw = get("/x", &format!("Cookie: sekisho={}\r\n", f.cookie));
            let (answered, ctx, written) = filter(&f.gateway, &raw).await;
            assert!(answered);
            assert_eq!(ctx.outcome, outcome);
            assert!(
                written.starts_with(&format!("HTTP/1.1 {status}")),
                "{written}"
            );
        });
    }

    #[test]
    fn an_ended_trial_answers_403() {
        let f = fixture(|t| {
            t.plan = Plan::Trial;
            t.created_at = 0;
        });
        signed_in_request_is_refused(&f, "trial_ended", "403");
    }

    #[test]
    fn line_only_tenant_refuses_the_internet_route() {
        let f = fixture(|t| t.access_route = AccessRoute::LineOnly);
        signed_in_request_is_refused(&f, "line_only", "403");
    }

    #[test]
    fn s40_ambiguous_framing_is_refused_and_closes() {
        let f = fixture(|_| {});
        block_on(async {
            let raw = "POST /x HTTP/1.1\r\nHost: gw.example.jp\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n";
            let (answered, ctx, written) = filter(&f.gateway, raw).await;
            assert_answer(answered, &ctx, &written, "bad_framing", "400");
            assert!(written.to_ascii_lowercase().contains("connection: close"));
        });
    }

    #[test]
    fn the_gateways_own_pages_are_answered_by_their_flow() {
        let f = fixture(|_| {});
        block_on(async {
            let (answered, ctx, written) = filter(&f.gateway, &get(paths::HEALTHZ, "")).await;
            assert!(answered);
            assert_eq!(ctx.kind, "gateway");
            assert!(written.starts_with("HTTP/1.1 200"), "{written}");
        });
    }
}
