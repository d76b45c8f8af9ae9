//! Which request headers a client must never be able to set (SECURITY S38).

/// Prefix of every identity header the gateway sends upstream.
pub const IDENTITY_PREFIX: &str = "x-auth-";

/// The identity headers, in the order the gateway adds them.
pub const IDENTITY_HEADERS: [&str; 9] = [
    "x-auth-user",
    "x-auth-email",
    "x-auth-tenant",
    "x-auth-role",
    "x-auth-plan",
    "x-auth-method",
    "x-auth-route",
    "x-auth-line",
    "x-auth-assertion",
];

/// A header name's byte as CGI-style servers fold it: case ignored, `_`
/// read as `-`.
fn fold(b: u8) -> u8 {
    if b == b'_' {
        b'-'
    } else {
        b.to_ascii_lowercase()
    }
}

/// Whether `name` starts with, or equals, `target` (lower case, `-`)
/// once folded. Compared byte by byte: this runs for every header of
/// every forwarded request, so it allocates nothing.
fn folded_prefix(name: &[u8], target: &[u8]) -> bool {
    name.len() >= target.len() && name.iter().zip(target).all(|(a, b)| fold(*a) == fold(*b))
}

/// True when a client-sent header named `name` must be removed before the
/// upstream sees the request: any spelling of an `X-Auth-*` header (case,
/// `_` for `-`, as CGI-style servers fold them) and the configured line
/// header.
pub fn is_reserved_header(name: &str, line_header: Option<&str>) -> bool {
    let name = name.trim().as_bytes();
    if folded_prefix(name, IDENTITY_PREFIX.as_bytes()) {
        return true;
    }
    line_header.is_some_and(|line| {
        let line = line.as_bytes();
        name.len() == line.len() && folded_prefix(name, line)
    })
}

/// Client-sent headers that say where a request came from or how it
/// arrived (S47). The storage service may log or trust them, so they never
/// reach it; the gateway sends its own. Any spelling, as for identity
/// headers.
pub fn is_forwarding_header(name: &str) -> bool {
    const NAMES: [&str; 9] = [
        "forwarded",
        "x-real-ip",
        "true-client-ip",
        "x-client-ip",
        "client-ip",
        "x-cluster-client-ip",
        "cf-connecting-ip",
        "fastly-client-ip",
        "x-original-forwarded-for",
    ];
    let name = name.trim().as_bytes();
    folded_prefix(name, b"x-forwarded-")
        || NAMES
            .iter()
            .any(|n| n.len() == name.len() && folded_prefix(name, n.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s47_forwarding_headers_in_every_spelling() {
        for name in [
            "Forwarded",
            "X-Forwarded-For",
            "x_forwarded_host",
            "X-Forwarded-Proto",
            "X-Forwarded-Port",
            "X-Real-IP",
            "True-Client-IP",
            "X-Client-IP",
            "CF-Connecting-IP",
        ] {
            assert!(is_forwarding_header(name), "{name}");
        }
        for name in ["forwarded-x", "x-forwarded", "x-realip", "host", "via"] {
            assert!(!is_forwarding_header(name), "{name}");
        }
    }

    #[test]
    fn s38_every_spelling() {
        for name in [
            "X-Auth-User",
            "x-auth-user",
            "X_AUTH_USER",
            "x_Auth-Email",
            "X-AUTH-ASSERTION",
            "x-auth-anything",
        ] {
            assert!(is_reserved_header(name, None), "{name}");
        }
        assert!(is_reserved_header("x_line_id", Some("X-Line-Id")));
        assert!(!is_reserved_header("x-authorization", None));
        assert!(!is_reserved_header("authorization", None));
        assert!(!is_reserved_header("x-line-id", None));
        assert!(!is_reserved_header("x-line-id-2", Some("X-Line-Id")));
        assert!(!is_reserved_header("x-auth", None));
    }
}
