//! The header that goes upstream, rebuilt in one pass: every reserved
//! (S38) and forwarding (S47) header the client sent removed in every
//! spelling, our cookies dropped, and the gateway's forwarding headers,
//! identity headers and signed assertion added.

use crate::request::UpstreamCookie;
use http::header;
use pingora::http::RequestHeader;
use pingora::prelude::*;
use sekisho_policy::headers::{is_forwarding_header, is_reserved_header};

pub(super) const X_FORWARDED_FOR: http::HeaderName =
    http::HeaderName::from_static("x-forwarded-for");

pub(super) const X_FORWARDED_HOST: http::HeaderName =
    http::HeaderName::from_static("x-forwarded-host");

pub(super) const X_FORWARDED_PROTO: http::HeaderName =
    http::HeaderName::from_static("x-forwarded-proto");

pub(super) const X_AUTH_ASSERTION: http::HeaderName =
    http::HeaderName::from_static("x-auth-assertion");

pub(super) const X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

pub(super) const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");

/// Who a forwarded request is, as the upstream is told.
pub(super) struct UpstreamIdentity<'a> {
    pub(super) client_ip: &'a str,
    pub(super) proto: &'static str,
    /// The host the client asked for (its `Host`, else the public URL's).
    pub(super) host: Option<http::HeaderValue>,
    pub(super) headers: &'a [(http::HeaderName, http::HeaderValue)],
    pub(super) assertion: Option<http::HeaderValue>,
    pub(super) request_id: &'a str,
    /// The request span's, or a trusted hop's (see [`crate::traces`]).
    pub(super) traceparent: Option<http::HeaderValue>,
}

/// Rewrites the upstream request header in one pass over a header map of
/// our own: every client-sent identity header (S38) and forwarding header
/// (S47) removed, in every spelling; the `Cookie` field without the
/// gateway's cookies, as the view decided; an absolute-form target made
/// origin-form; then the gateway's own `X-Forwarded-For`, `-Proto`,
/// `-Host` and `Forwarded` (RFC 7239), the identity headers and the
/// assertion.
///
/// Pingora's per-header `insert_header` re-parses each name and grows two
/// maps (values and original case): about 1,400 instructions a header,
/// the largest part of the gateway's own cost per request (callgrind,
/// `loadtest/analysis.md`). Names go upstream in lower case, which HTTP
/// allows (RFC 9110 §5.1).
pub(super) fn rewrite_upstream_header(
    upstream: &mut RequestHeader,
    line_header: Option<&str>,
    cookie: &UpstreamCookie,
    identity: Option<UpstreamIdentity<'_>>,
) -> Result<()> {
    // An empty header to stand in while the old one is taken apart (no
    // case map and no target to parse, unlike `RequestHeader::build`).
    let empty = RequestHeader::from(http::Request::new(()).into_parts().0);
    let old = std::mem::replace(upstream, empty);
    // An origin-form target kept as it was received (non-UTF-8) goes on.
    let raw = old.raw_path();
    let from_uri = old.uri.path_and_query().map(|p| p.as_str().as_bytes());
    let raw_target = (raw.first() == Some(&b'/') && from_uri != Some(raw)).then(|| raw.to_vec());
    let mut parts: http::request::Parts = old.into();
    if parts.uri.scheme().is_some() {
        // Absolute-form for this host (S48): the upstream gets origin-form.
        parts.uri = parts
            .uri
            .path_and_query()
            .cloned()
            .map_or_else(|| http::Uri::from_static("/"), http::Uri::from);
    }
    let headers = &mut parts.headers;
    let must_go = |n: &http::HeaderName| {
        is_reserved_header(n.as_str(), line_header)
            || is_forwarding_header(n.as_str())
            || *n == TRACEPARENT
    };
    // Nearly every request carries none of them: no list is made then.
    if headers.keys().any(must_go) {
        let reserved: Vec<http::HeaderName> =
            headers.keys().filter(|n| must_go(n)).cloned().collect();
        for name in reserved {
            headers.remove(&name);
        }
    }
    headers.reserve(13);
    match cookie {
        UpstreamCookie::Keep => {}
        UpstreamCookie::Remove => {
            headers.remove(header::COOKIE);
        }
        UpstreamCookie::Replace(rest) => {
            let value =
                http::HeaderValue::from_str(rest).or_err(ErrorType::InvalidHTTPHeader, "cookie")?;
            headers.insert(header::COOKIE, value);
        }
    }
    if let Some(id) = identity {
        let client_ip = http::HeaderValue::from_str(id.client_ip)
            .or_err(ErrorType::InvalidHTTPHeader, "client address")?;
        headers.insert(X_FORWARDED_FOR, client_ip);
        headers.insert(X_FORWARDED_PROTO, http::HeaderValue::from_static(id.proto));
        let host_text = id.host.as_ref().and_then(|h| h.to_str().ok()).unwrap_or("");
        let forwarded = forwarded_value(id.client_ip, id.proto, host_text);
        if let Some(host) = id.host {
            headers.insert(X_FORWARDED_HOST, host);
        }
        if let Ok(forwarded) = http::HeaderValue::from_str(&forwarded) {
            headers.insert(http::header::FORWARDED, forwarded);
        }
        // Every client-sent X-Auth-* is gone (above): appending is inserting.
        for (name, value) in id.headers {
            headers.append(name.clone(), value.clone());
        }
        if let Some(token) = id.assertion {
            headers.append(X_AUTH_ASSERTION, token);
        }
        if let Ok(rid) = http::HeaderValue::from_str(id.request_id) {
            headers.insert(X_REQUEST_ID, rid);
        }
        if let Some(tp) = id.traceparent {
            headers.insert(TRACEPARENT, tp);
        }
    }
    let mut fresh = RequestHeader::from(parts);
    if let Some(raw) = raw_target {
        fresh.set_raw_path(&raw)?;
    }
    *upstream = fresh;
    Ok(())
}

/// An RFC 7239 `Forwarded` element: `for` quoted and bracketed for IPv6,
/// `host` quoted (it may carry a port).
pub(super) fn forwarded_value(client_ip: &str, proto: &str, host: &str) -> String {
    // Pushed piece by piece: `format!` and a `char` filter cost about
    // 1,500 instructions a request here (P15).
    let mut v = String::with_capacity(32 + client_ip.len() + host.len());
    match client_ip {
        "-" => v.push_str("for=unknown"),
        ip if ip.contains(':') => {
            v.push_str("for=\"[");
            v.push_str(ip);
            v.push_str("]\"");
        }
        ip => {
            v.push_str("for=");
            v.push_str(ip);
        }
    }
    v.push_str(";proto=");
    v.push_str(proto);
    v.push_str(";host=\"");
    for part in host.split(['"', '\\']) {
        v.push_str(part);
    }
    v.push('"');
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_elements_quote_what_rfc_7239_asks() {
        assert_eq!(
            forwarded_value("192.0.2.7", "https", "files.example.jp"),
            "for=192.0.2.7;proto=https;host=\"files.example.jp\""
        );
        assert_eq!(
            forwarded_value("2001:db8::1", "http", "h:8080"),
            "for=\"[2001:db8::1]\";proto=http;host=\"h:8080\""
        );
        assert_eq!(
            forwarded_value("-", "http", "a\"b\\c"),
            "for=unknown;proto=http;host=\"abc\""
        );
    }
}
