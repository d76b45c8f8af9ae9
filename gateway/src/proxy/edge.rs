//! What is checked at the edge of every request, before the gate: the
//! framing (S40), the host and the request target (421, S48), whether a
//! path is the gateway's own, and the request's id.

use super::upstream::X_REQUEST_ID;
use crate::state::App;
use http::header;
use pingora::proxy::Session;
use sekisho_policy::model::Route;
use sekisho_policy::request::{target_form, TargetForm};

/// When a proxied body that began with its request at `started` and has
/// brought `received` bytes must be done (S61): `limits.body_timeout_ms`,
/// plus a second for each `body_min_bytes_per_second` bytes.
pub(super) fn body_deadline(
    started: std::time::Instant,
    received: u64,
    limits: &sekisho_config::Limits,
) -> std::time::Instant {
    let earned = std::time::Duration::from_secs_f64(
        received as f64 / limits.body_min_bytes_per_second.max(1) as f64,
    );
    started + limits.body_timeout + earned
}

/// The gateway's own path prefix.
pub const PREFIX: &str = sekisho_policy::paths::PREFIX;

/// Whether `path` is one of the gateway's own.
pub fn is_gateway_path(path: &str) -> bool {
    path.starts_with(PREFIX) || path == PREFIX.trim_end_matches('/')
}

/// Refuses ambiguous message framing before anything else looks at the
/// request (S40): both Content-Length and Transfer-Encoding, differing or
/// malformed lengths, any transfer coding but a lone `chunked`.
pub(super) fn framing_is_ambiguous(session: &Session) -> bool {
    let req = session.req_header();
    let chunked = req.headers.contains_key(header::TRANSFER_ENCODING);
    // Most requests (every GET) carry neither: nothing to compare.
    if !chunked && !req.headers.contains_key(header::CONTENT_LENGTH) {
        return false;
    }
    // Pingora drops Content-Length when Transfer-Encoding is present (RFC
    // 9112 §6.3) before any filter runs; the raw header still shows both.
    if chunked {
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

/// A request refused before it is read any further: ambiguous framing
/// (S40), the other route's hostname (421: the route follows the
/// listener), or a target that is neither origin-form nor absolute-form
/// for this listener's own host (S48).
pub(super) fn early_refusal(
    app: &App,
    route: Route,
    session: &Session,
) -> Option<(&'static str, u16)> {
    if framing_is_ambiguous(session) {
        return Some(("bad_framing", 400));
    }
    if misdirected(app, route, session) {
        return Some(("misdirected", 421));
    }
    match target_form(session.req_header().raw_path()) {
        TargetForm::Origin => None,
        TargetForm::Absolute { authority }
            if authority.eq_ignore_ascii_case(own_host(app, route)) =>
        {
            None
        }
        _ => Some(("bad_target", 400)),
    }
}

/// This listener's public host (and port), as clients name it.
pub(super) fn own_host(app: &App, route: Route) -> &str {
    let url = app.config.public_url(route);
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

/// A request for the other route's hostname.
pub(super) fn misdirected(app: &App, route: Route, session: &Session) -> bool {
    let other = match (route, &app.config.closed) {
        (Route::Internet, None) => return false,
        (Route::Internet, Some(_)) => Route::Closed,
        (Route::Closed, _) => Route::Internet,
    };
    let req = session.req_header();
    let host = req
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri.authority().map(|a| a.as_str()));
    host.is_some_and(|h| h.trim().eq_ignore_ascii_case(own_host(app, other)))
}

/// This request's id: a trusted proxy's `X-Request-Id` when it sent a
/// sane one, else this process's prefix and sequence number.
pub(super) fn request_id(session: &Session, sequence: u64, from_trusted: bool) -> String {
    if from_trusted {
        if let Some(v) = session.req_header().headers.get(X_REQUEST_ID) {
            if acceptable_request_id(v.as_bytes()) {
                if let Ok(s) = v.to_str() {
                    return s.to_string();
                }
            }
        }
    }
    let mut id = [0u8; 8];
    id[..4].copy_from_slice(&REQUEST_ID_PREFIX.to_be_bytes());
    id[4..].copy_from_slice(&(sequence as u32).to_be_bytes());
    crate::crypto::hex_text(&id)
}

/// Whether the connection comes from a trusted proxy
/// (`throttle.trusted_proxies`), whose `X-Request-Id` and
/// `traceparent` are believed.
pub(super) fn is_trusted_hop(trusted: &[ipnet::IpNet], session: &Session) -> bool {
    !trusted.is_empty()
        && session
            .client_addr()
            .and_then(|a| a.as_inet())
            .is_some_and(|a| trusted.iter().any(|n| n.contains(&a.ip())))
}

/// This process's half of every request id: random at start, so ids from
/// several gateways do not meet.
pub(super) static REQUEST_ID_PREFIX: std::sync::LazyLock<u32> = std::sync::LazyLock::new(|| {
    let b = crate::crypto::random_bytes(4);
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
});

/// A request id a trusted proxy sent: short, and of letters, digits and
/// `-_.:` only, so it is safe in logs and headers.
pub(super) fn acceptable_request_id(v: &[u8]) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}
