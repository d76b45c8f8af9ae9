//! What a request leaves behind for operators: its access-log line
//! (never a query, cookie, ticket or code).

use super::context::Ctx;
use pingora::proxy::Session;
use sekisho_policy::model::Route;

/// One access-log line: never a query, cookie, ticket or code.
pub(super) fn access_line(
    route: Route,
    session: &Session,
    ctx: &Ctx,
    outcome: &str,
    status: u16,
    elapsed: std::time::Duration,
) {
    let req = session.req_header();
    let view = ctx.forward.as_ref().map(|f| &f.live.view);
    let client = ctx.forward.as_ref().map_or_else(
        || {
            session
                .client_addr()
                .and_then(|a| a.as_inet())
                .map(|a| a.ip().to_string())
                .unwrap_or_default()
        },
        |f| f.client_ip.clone(),
    );
    tracing::info!(
        target: "access",
        request_id = %ctx.request_id,
        route = route.as_str(),
        method = %req.method,
        path = req.uri.path(),
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        upstream_ms = ctx.upstream_started.map(|u| u.elapsed().as_secs_f64() * 1000.0),
        bytes = session.body_bytes_sent(),
        kind = ctx.kind,
        outcome,
        user = view.map(|v| v.user.id.as_str()),
        tenant = view.map(|v| v.tenant.id.as_str()),
        client = %client,
        trace_id = crate::traces::trace_id(&ctx.span),
    );
}
