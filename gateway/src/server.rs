//! Assembles and runs the Pingora server: the internet and closed-network
//! listeners, the metrics
//! listener, the demo upstream (demo only) and the background purge.

use crate::connections::{AcceptFilter, ConnectionLimits, GuardedHttp, Tally};
use crate::proxy::Gateway;
use crate::state::App;
use crate::upgrade::{Launch, ReloadOnHangup};
use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::listeners::ListenerConfig;
use pingora::protocols::http::ServerSession;
use pingora::protocols::l4::stream::{L4BufferSettings, DEFAULT_L4_WRITE_BUFFER_SIZE};
use pingora::proxy::HttpProxy;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{Server, ShutdownWatch};
use pingora::services::background::{background_service, BackgroundService};
use pingora::services::listening::Service;
use sekisho_config::{Config, LogFormat};
use sekisho_policy::model::Route;
use std::sync::Arc;
use std::time::Duration;

/// Starts structured logging on stderr (JSON by default), and the trace
/// layer when `[traces]` is set. `RUST_LOG`, when set, overrides the
/// configured level of the logs (not of the traces, which have their own
/// filter).
pub fn init_logging(cfg: &sekisho_config::Config) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{EnvFilter, Layer as _};
    let logging = &cfg.logging;
    // The trace layer's spans are not the logs'. webauthn-rs logs at
    // error level what a client's authenticator sends (a zero counter, a
    // backup flag): a client may never raise an error line (S52), and
    // each refusal is audited with its reason instead.
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&logging.level));
    // Pingora logs a failed HTTP/2 handshake, a client's doing, at error
    // level too (it is that module's only line).
    for quiet in [
        crate::traces::TARGET,
        "webauthn_rs",
        "webauthn_rs_core",
        "pingora_core::apps",
    ] {
        filter = filter.add_directive(format!("{quiet}=off").parse().expect("a static directive"));
    }
    // No colour codes in a file or a pipe (journald, a log shipper).
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(terminal)
        .with_writer(std::io::stderr);
    let logs = match logging.format {
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => fmt.with_filter(filter).boxed(),
    };
    let traces = match &cfg.traces {
        Some(t) => Some(crate::traces::layer(t)?),
        None => None,
    };
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init();
    Ok(())
}

/// Serves the Prometheus text format, and `/healthz`.
struct MetricsApp;

#[async_trait]
impl ServeHttp for MetricsApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        // A liveness check that answers while the public listeners are at
        // their caps: descriptors are kept for this listener (S54).
        if session.req_header().uri.path() == "/healthz" {
            return Response::builder()
                .status(200)
                .header("content-type", "text/plain; charset=utf-8")
                .header("content-length", "3")
                .body(b"ok\n".to_vec())
                .expect("static response parts");
        }
        let body = crate::metrics::render();
        Response::builder()
            .status(200)
            .header("content-type", "text/plain; version=0.0.4")
            .header("content-length", body.len().to_string())
            .body(body)
            .expect("static response parts")
    }
}

/// Writes the sessions' last-seen times every five seconds, in one step.
struct TouchFlush {
    app: Arc<App>,
}

#[async_trait]
impl BackgroundService for TouchFlush {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    self.app.sessions.flush_touches().await;
                    return;
                }
                _ = tick.tick() => self.app.sessions.flush_touches().await,
            }
        }
    }
}

/// Applies the store's change notices to the session cache: every
/// process's logouts, revocations, locks, removals and tenant changes
/// (pushed by Redis and PostgreSQL, read from the embedded store's change
/// log).
struct Changes {
    app: Arc<App>,
}

#[async_trait]
impl BackgroundService for Changes {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        use tokio::sync::broadcast::error::RecvError;
        let Some(mut notices) = self.app.store.changes() else {
            // A store without notices: nothing to follow, but the service
            // lives as long as the process, so that a normal start logs no
            // service ending.
            let _ = shutdown.changed().await;
            return;
        };
        let follow = self.app.store.follow_changes();
        tokio::pin!(follow);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = &mut follow => return,
                notice = notices.recv() => match notice {
                    Ok(change) => {
                        // The store drops every notice at once only when its
                        // notices were cut (Redis gone or moved).
                        if change == crate::store::Change::Everything {
                            crate::metrics::STORE_ERRORS
                                .with_label_values(&["changes"])
                                .inc();
                        }
                        self.app.sessions.apply(&change)
                    }
                    Err(RecvError::Lagged(_)) => {
                        self.app.sessions.apply(&crate::store::Change::Everything)
                    }
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }
}

/// Delivers audit events to their sink and the store (see
/// [`crate::audit`]); what is queued when the process drains is
/// delivered before it exits.
struct AuditDelivery {
    queue: std::sync::Mutex<
        Option<(
            tokio::sync::mpsc::Receiver<crate::audit::Pending>,
            crate::audit::Sinks,
        )>,
    >,
    clock: crate::clock::Clock,
}

#[async_trait]
impl BackgroundService for AuditDelivery {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let Some((mut queue, mut sinks)) = self.queue.lock().ok().and_then(|mut q| q.take()) else {
            return;
        };
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = crate::audit::deliver(&mut queue, &mut sinks, &self.clock) => return,
        }
        crate::audit::deliver_queued(&mut queue, &mut sinks, &self.clock).await;
    }
}

/// Removes expired records every ten minutes (sessions, links, quiet runs
/// of wrong passwords), and idle throttle state every minute.
struct Purge {
    app: Arc<App>,
}

#[async_trait]
impl BackgroundService for Purge {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        // Discover the OpenID providers once at start (see
        // `Federation::form_origins`).
        self.app.federation.warm_up().await;
        // Seeds an earlier version or an import kept in clear (S50).
        match crate::seeds::seal_clear_seeds(&*self.app.store, &self.app.seed_key).await {
            Ok(n) if n > 0 => {
                tracing::info!(sealed = n, "sealed authenticator seeds kept in clear")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "sealing the seeds kept in clear failed; retried at the next start")
            }
        }
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        let mut minute = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = minute.tick() => {
                    self.app.throttle.forget_idle();
                    self.app.scim.forget_idle();
                }
                _ = tick.tick() => {
                    match crate::admin::purge(&self.app.store, &self.app.config, self.app.clock.now()).await {
                        Ok(n) if n > 0 => tracing::info!(removed = n, "purged expired records"),
                        Ok(_) => {}
                        Err(e) => {
                            crate::metrics::STORE_ERRORS.with_label_values(&["purge"]).inc();
                            tracing::warn!(error = %e, "purge failed");
                        }
                    }
                }
            }
        }
    }
}

/// One listener's proxy service: its route is fixed here, so a request's
/// route is the listener it arrived on (S39).
/// Every connection passes the shared connection limits first
/// ([`crate::connections`]).
fn proxy_service(
    server: &Server,
    app: &Arc<App>,
    tally: &Arc<Tally>,
    route: Route,
    listener: &sekisho_config::Listener,
    key: &str,
) -> anyhow::Result<Service<GuardedHttp<HttpProxy<Gateway>>>> {
    let cfg = &app.config;
    let mut proxy =
        pingora::proxy::http_proxy(&server.configuration, Gateway::new(app.clone(), route));
    let (h2, options) = http2_settings(&cfg.http2);
    proxy.h2_options = Some(h2);
    proxy.server_options = Some(options);
    // The handshake is the guard's (S54): Pingora's listener stays plain TCP.
    let tls = match &listener.tls {
        Some(tls) => {
            crate::metrics::note_certificate(key, &tls.cert_file);
            Some(
                crate::tls::acceptor(&tls.cert_file, &tls.key_file, cfg.http2.enabled)
                    .map_err(|e| crate::error::InputError::error(format!("{key}.tls: {e}")))?,
            )
        }
        None => None,
    };
    let mut svc = Service::new(
        format!("sekisho {}", route.as_str()),
        GuardedHttp::new(proxy, tally.clone(), tls),
    );
    svc.set_connection_filter(Arc::new(AcceptFilter(tally.clone())));
    // No read buffer per connection by default (`limits.client_read_buffer_bytes`):
    // Pingora's 64 KiB default makes 10,000 idle keep-alive connections
    // cost 640 MiB (PERFORMANCE P8), and the guard reads each header into
    // a buffer of its own.
    let buffers = L4BufferSettings::new(
        cfg.limits.client_read_buffer_bytes,
        DEFAULT_L4_WRITE_BUFFER_SIZE,
    );
    let endpoint = ListenerConfig::tcp(listener.listen.to_string()).l4_buffer(buffers);
    svc.add_listener(endpoint);
    Ok(svc)
}

/// HTTP/2's limits for Pingora (S60): the streams and header list it
/// bounds by default, stated; the resets a client may cause before its
/// connection ends (rapid reset, CVE-2023-44487; CONTINUATION floods end
/// at the header list's size); the idle timeout.
fn http2_settings(
    h: &sekisho_config::Http2,
) -> (
    pingora::protocols::http::v2::server::H2Options,
    pingora::apps::HttpServerOptions,
) {
    let mut h2 = pingora::protocols::http::v2::server::H2Options::new();
    h2.max_concurrent_streams(h.max_concurrent_streams)
        .max_header_list_size(h.max_header_list_bytes)
        .max_pending_accept_reset_streams(h.max_pending_reset_streams)
        .max_local_error_reset_streams(Some(h.max_error_reset_streams));
    let mut options = pingora::apps::HttpServerOptions::default();
    options.h2_idle_timeout = Some(h.idle_timeout);
    (h2, options)
}

/// Binds every listener once and lets go, before anything starts (S49):
/// Pingora binds inside its service threads, where a failure panics that
/// thread and leaves the process running without the listener. An address
/// in use or not ours ends the start with its key named instead.
pub(crate) fn can_listen(cfg: &Config) -> anyhow::Result<()> {
    for (key, addr) in cfg.listeners() {
        std::net::TcpListener::bind(addr)
            .map_err(|e| anyhow::anyhow!("{key}: cannot listen on {addr}: {e}"))?;
    }
    Ok(())
}

/// As many descriptors as the process may have, and the connection cap
/// that leaves a reserve of them (S54).
fn connection_cap(config: &Config) -> anyhow::Result<usize> {
    let nofile = crate::descriptors::raise_to_hard_limit();
    let total = crate::descriptors::connections_total(config.limits.connections_total, nofile)
        .map_err(|e| anyhow::anyhow!("limits.connections_total: {e}"))?;
    tracing::info!(nofile, connections_total = total, "file descriptors");
    if !crate::descriptors::room_for_full_load(total, nofile) {
        tracing::warn!(
            nofile,
            connections_total = total,
            "the open-file limit is short of twice limits.connections_total: at full load, \
             proxied requests could run out of upstream connections (raise LimitNOFILE)"
        );
    }
    Ok(total)
}

/// Builds everything and serves until SIGTERM/SIGINT, or until a
/// successor takes over (SIGQUIT, see [`crate::upgrade`]). Never returns
/// on success.
pub fn run(config: Config, launch: Launch) -> anyhow::Result<()> {
    // Taking over, the listeners are the running gateway's: not ours to
    // bind yet.
    let predecessor = if launch.upgrade {
        Some(crate::upgrade::predecessor(&config)?)
    } else {
        can_listen(&config)?;
        None
    };
    let connections_total = connection_cap(&config)?;
    crate::metrics::register_all();
    crate::metrics::register_pages(&crate::routes::pages());
    crate::connections::register_metrics();
    crate::store::register_metrics();
    let app = Arc::new(App::build(config)?);
    let cfg = &app.config;

    let conf = ServerConf {
        threads: cfg.server.threads,
        grace_period_seconds: Some(cfg.server.grace_period_seconds),
        graceful_shutdown_timeout_seconds: Some(cfg.server.graceful_shutdown_timeout_seconds),
        upgrade_sock: cfg.server.upgrade_socket.to_string_lossy().into_owned(),
        ..ServerConf::default()
    };
    let opt = Opt {
        upgrade: launch.upgrade,
        ..Opt::default()
    };
    let mut server = Server::new_with_opt_and_conf(Some(opt), conf);
    // Everything that can refuse has been built: only now is the running
    // gateway asked to let go. Its sockets come to this process's own
    // private receiver first and are checked (S55, `handover`); then
    // `bootstrap` takes them from there.
    if let Some(pid) = predecessor {
        let socket = &cfg.server.upgrade_socket;
        let receiver = crate::handover::listen(socket)?;
        crate::upgrade::ask_to_hand_over(pid)?;
        let checked = receiver.receive(pid, &cfg.listeners())?;
        crate::handover::pass_to_pingora(checked, socket);
    }
    server.bootstrap();

    let tally = Tally::new(ConnectionLimits::from_config(cfg, connections_total));
    let internet = proxy_service(
        &server,
        &app,
        &tally,
        Route::Internet,
        &cfg.internet,
        "internet",
    )?;
    server.add_service(internet);
    if let Some(closed) = &cfg.closed {
        let svc = proxy_service(
            &server,
            &app,
            &tally,
            Route::Closed,
            &closed.listener,
            "closed",
        )?;
        server.add_service(svc);
    }

    if let Some(addr) = cfg.metrics_listen {
        let mut metrics = Service::new("sekisho metrics".to_string(), MetricsApp);
        metrics.add_tcp(&addr.to_string());
        server.add_service(metrics);
    }

    if let Some(addr) = cfg.development.demo_upstream_listen {
        let demo = crate::demo_upstream::DemoUpstream::new(
            app.signer.jwks(),
            &cfg.upstream.audience,
            &cfg.internet.public_url,
            &cfg.service_name,
        )?;
        let mut svc = Service::new("sekisho demo upstream".to_string(), demo);
        svc.add_tcp(&addr.to_string());
        server.add_service(svc);
    }

    server.add_service(background_service("purge", Purge { app: app.clone() }));
    server.add_service(background_service(
        "store changes",
        Changes { app: app.clone() },
    ));
    server.add_service(background_service(
        "touch flush",
        TouchFlush { app: app.clone() },
    ));
    if let Some(queue) = crate::audit::install() {
        let sinks = crate::audit::Sinks::open(app.store.clone(), &cfg.audit)?;
        server.add_service(background_service(
            "audit delivery",
            AuditDelivery {
                queue: std::sync::Mutex::new(Some((queue, sinks))),
                clock: app.clock.clone(),
            },
        ));
    }
    server.add_service(background_service(
        "reload on SIGHUP",
        ReloadOnHangup {
            config_file: launch.config_file,
        },
    ));

    tracing::info!(listen = %cfg.internet.listen, public_url = %cfg.internet.public_url, "sekisho is serving");
    if let Some(c) = &cfg.closed {
        tracing::info!(listen = %c.listener.listen, public_url = %c.listener.public_url, "closed-network route (line authentication)");
    }
    crate::upgrade::announce(cfg);
    server.run_forever();
}
