//! The listeners, the upstream and the process: where Sekisho listens,
//! what it forwards to, and the limits on each connection.

use crate::checker::*;
use crate::raw::*;
use crate::typed::*;
use std::net::SocketAddr;

/// Parses and validates a configuration text; `base` is the folder relative
/// paths are taken from.
/// Refuses, by the later key, a listener on an address another already
/// takes: the same port on the same address, or on the wildcard address
/// beside a specific one. Two services on one socket would share its
/// connections (`/metrics` on the public port, S44).
pub(crate) fn colliding_listeners(c: &mut Checker, listeners: &[(&str, SocketAddr)]) {
    for (i, (key, addr)) in listeners.iter().enumerate() {
        let taken = listeners[..i].iter().find(|(_, earlier)| {
            earlier.port() == addr.port()
                && (earlier.ip() == addr.ip()
                    || earlier.ip().is_unspecified()
                    || addr.ip().is_unspecified())
        });
        let said = c.errors.iter().any(|e| e.key == *key);
        if let Some((earlier_key, _)) = taken {
            if addr.port() != 0 && !said {
                c.err(key, format!("{addr} is already {earlier_key}"));
            }
        }
    }
}

/// The internet listener ([internet]).
pub(crate) fn internet(c: &mut Checker, raw: &RawConfig) -> Listener {
    let insecure = raw.development.insecure_http_cookies;
    let internet = Listener {
        listen: c
            .listen("internet.listen", &raw.internet.listen)
            .unwrap_or(([127, 0, 0, 1], 0).into()),
        public_url: c.public_url("internet.public_url", &raw.internet.public_url, insecure),
        tls: raw.internet.tls.as_ref().map(|t| Tls {
            cert_file: c.existing_file("internet.tls.cert_file", &t.cert_file),
            key_file: c.existing_file("internet.tls.key_file", &t.key_file),
        }),
    };
    internet
}

pub(crate) fn closed(
    c: &mut Checker,
    cl: &RawClosed,
    internet: &Listener,
    insecure: bool,
) -> Closed {
    let listener = Listener {
        listen: c
            .listen("closed.listen", &cl.listen)
            .unwrap_or(([127, 0, 0, 1], 0).into()),
        public_url: c.public_url("closed.public_url", &cl.public_url, insecure),
        tls: cl.tls.as_ref().map(|t| Tls {
            cert_file: c.existing_file("closed.tls.cert_file", &t.cert_file),
            key_file: c.existing_file("closed.tls.key_file", &t.key_file),
        }),
    };
    if listener.listen == internet.listen && listener.listen.port() != 0 {
        c.err("closed.listen", "must differ from internet.listen");
    }
    if !listener.public_url.is_empty()
        && authority(&listener.public_url).eq_ignore_ascii_case(authority(&internet.public_url))
    {
        c.err(
            "closed.public_url",
            "must name another host (or port) than internet.public_url: the route follows the listener",
        );
    }
    let line_header = match http::HeaderName::try_from(cl.line_header.as_str()) {
        Ok(n)
            if !n.as_str().starts_with("x-auth-")
                && ![
                    "host",
                    "cookie",
                    "authorization",
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "x-forwarded-for",
                ]
                .contains(&n.as_str()) =>
        {
            n
        }
        _ => {
            c.err(
                "closed.line_header",
                format!(
                    "'{}' cannot carry the line: give a header name of its own, like X-Line-Id",
                    cl.line_header
                ),
            );
            http::HeaderName::from_static("x-line-id")
        }
    };
    let mut trusted_edges = Vec::new();
    for (i, e) in cl.trusted_edges.iter().enumerate() {
        match cidr(e) {
            Some(n) => trusted_edges.push(n),
            None => c.err(
                &format!("closed.trusted_edges[{i}]"),
                format!("'{e}' is not an address or CIDR like 10.0.0.0/8"),
            ),
        }
    }
    let mut static_lines = Vec::new();
    for (i, s) in cl.static_lines.iter().enumerate() {
        let net = cidr(&s.cidr);
        if net.is_none() {
            c.err(
                &format!("closed.static_lines[{i}].cidr"),
                format!("'{}' is not an address or CIDR like 192.0.2.0/24", s.cidr),
            );
        }
        let line = sekisho_policy::line::normalize_line(&s.line);
        if line.is_err() {
            c.err(
                &format!("closed.static_lines[{i}].line"),
                format!(
                    "'{}' is not a line number: CAF and 10 letters or digits (NTT East), or COP and 8 (NTT West)",
                    s.line
                ),
            );
        }
        if let (Some(n), Ok(l)) = (net, line) {
            static_lines.push((n, l));
        }
    }
    if trusted_edges.is_empty() && static_lines.is_empty() {
        c.err(
            "closed.trusted_edges",
            "give trusted_edges (with line_header) or static_lines: otherwise no request has a line",
        );
    }
    Closed {
        listener,
        line_header,
        trusted_edges,
        static_lines,
    }
}

/// The storage service ([upstream]).
pub(crate) fn upstream(c: &mut Checker, raw: &RawConfig) -> Upstream {
    let u = &raw.upstream;
    let upstream = Upstream {
        address: c
            .resolve("upstream.address", &u.address)
            .unwrap_or(([127, 0, 0, 1], 0).into()),
        tls: u.tls,
        sni: u.sni.clone().unwrap_or_else(|| {
            u.address
                .rsplit_once(':')
                .map(|(h, _)| h.to_string())
                .unwrap_or_default()
        }),
        audience: {
            if u.audience.trim().is_empty() {
                c.err("upstream.audience", "must not be empty");
            }
            u.audience.clone()
        },
        connect_timeout: c.timeout_ms("upstream.connect_timeout_ms", u.connect_timeout_ms),
        read_timeout: c.timeout_ms("upstream.read_timeout_ms", u.read_timeout_ms),
        write_timeout: c.timeout_ms("upstream.write_timeout_ms", u.write_timeout_ms),
        idle_timeout: c.timeout_ms("upstream.idle_timeout_ms", u.idle_timeout_ms),
    };
    upstream
}

/// Connection and body limits ([limits]).
pub(crate) fn limits(c: &mut Checker, raw: &RawConfig) -> Limits {
    let l = &raw.limits;
    if l.form_body_bytes < 1024 || l.form_body_bytes > 1024 * 1024 {
        c.err("limits.form_body_bytes", "must be between 1024 and 1048576");
    }
    if l.client_read_buffer_bytes != 0
        && (l.client_read_buffer_bytes < 1024 || l.client_read_buffer_bytes > 1024 * 1024)
    {
        c.err(
            "limits.client_read_buffer_bytes",
            "must be 0 (no buffer) or between 1024 and 1048576",
        );
    }

    Limits {
        form_body_bytes: l.form_body_bytes,
        client_read_buffer_bytes: l.client_read_buffer_bytes,
        form_body_timeout: c.timeout_ms("limits.form_body_timeout_ms", l.form_body_timeout_ms),
        client_read_timeout: c
            .timeout_ms("limits.client_read_timeout_ms", l.client_read_timeout_ms),
        header_timeout: c.timeout_ms("limits.header_timeout_ms", l.header_timeout_ms),
        keepalive_timeout: c.timeout_ms("limits.keepalive_timeout_ms", l.keepalive_timeout_ms),
        header_bytes: c.within(
            "limits.header_bytes",
            l.header_bytes as u64,
            1024,
            1024 * 1024 - 1,
            "bytes",
        ) as usize,
        connections_per_address: c.within(
            "limits.connections_per_address",
            l.connections_per_address as u64,
            1,
            1_000_000,
            "connections",
        ) as usize,
        connections_total: l.connections_total.map(|n| {
            c.within(
                "limits.connections_total",
                n as u64,
                1,
                1_000_000,
                "connections",
            ) as usize
        }),
        tls_handshake_timeout: c.timeout_ms(
            "limits.tls_handshake_timeout_ms",
            l.tls_handshake_timeout_ms,
        ),
        body_timeout: c.timeout_ms("limits.body_timeout_ms", l.body_timeout_ms),
        body_min_bytes_per_second: c.within(
            "limits.body_min_bytes_per_second",
            l.body_min_bytes_per_second,
            1,
            1 << 30,
            "bytes a second",
        ),
    }
}

/// HTTP/2 on the TLS listeners ([http2]).
pub(crate) fn http2(c: &mut Checker, raw: &RawConfig) -> Http2 {
    let h = &raw.http2;
    Http2 {
        enabled: h.enabled,
        max_concurrent_streams: c.within(
            "http2.max_concurrent_streams",
            h.max_concurrent_streams as u64,
            1,
            10_000,
            "streams",
        ) as u32,
        max_header_list_bytes: c.within(
            "http2.max_header_list_bytes",
            h.max_header_list_bytes as u64,
            1024,
            1024 * 1024,
            "bytes",
        ) as u32,
        max_pending_reset_streams: c.within(
            "http2.max_pending_reset_streams",
            h.max_pending_reset_streams as u64,
            1,
            10_000,
            "streams",
        ) as usize,
        max_error_reset_streams: c.within(
            "http2.max_error_reset_streams",
            h.max_error_reset_streams as u64,
            1,
            100_000,
            "streams",
        ) as usize,
        idle_timeout: c.timeout_ms("http2.idle_timeout_ms", h.idle_timeout_ms),
    }
}

/// The process ([server]).
pub(crate) fn server(c: &mut Checker, raw: &RawConfig) -> Server {
    let cores = available_cores();
    let threads = raw.server.threads.unwrap_or(cores);
    if threads == 0 || threads > 1024 {
        c.err("server.threads", "must be between 1 and 1024");
    }
    let server = Server {
        threads,
        grace_period_seconds: c.within(
            "server.grace_period_seconds",
            raw.server.grace_period_seconds,
            0,
            3_600,
            "seconds",
        ),
        graceful_shutdown_timeout_seconds: c.within(
            "server.graceful_shutdown_timeout_seconds",
            raw.server.graceful_shutdown_timeout_seconds,
            0,
            3_600,
            "seconds",
        ),
        upgrade_socket: unix_socket_path(c, "server.upgrade_socket", &raw.server.upgrade_socket),
        pid_file: c.optional_path("server.pid_file", raw.server.pid_file.as_deref()),
    };
    server
}
