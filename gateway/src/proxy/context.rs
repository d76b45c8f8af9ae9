//! What one request carries from phase to phase.

use crate::request::UpstreamCookie;
use crate::sessions::Live;
use std::time::Instant;

/// What a request that passed the gate takes to the upstream phases.
pub struct Forward {
    pub(super) live: Live,
    pub(super) client_ip: String,
    pub(super) cookie: UpstreamCookie,
    /// The gate's time (Unix seconds), for the assertion it signs.
    pub(super) now: sekisho_policy::UnixTime,
}

/// Per-request state between phases.
pub struct Ctx {
    pub(super) kind: &'static str,
    pub(super) outcome: &'static str,
    pub(super) forward: Option<Forward>,
    pub(super) upstream_started: Option<Instant>,
    pub(super) started: Instant,
    /// Proxied body bytes received so far (each earns the body's deadline
    /// more time, S61).
    pub(super) body_bytes: u64,
    /// Sent upstream as `X-Request-Id`, shown on error pages, and in the
    /// access log: one request followed through all three.
    pub(super) request_id: String,
    pub(super) sequence: u64,
    /// The request's span (`Span::none()` without `[traces]`).
    pub(super) span: tracing::Span,
    /// A trusted hop's well-formed `traceparent`.
    pub(super) traceparent: Option<http::HeaderValue>,
}
