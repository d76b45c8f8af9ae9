//! Facts about an incoming request that decide how to answer it.

/// True when the request is a top-level browser navigation, which gets a
/// redirect to the login page; anything else (XHR, API clients, WebDAV) gets
/// a 401 instead, since a redirect to HTML would only confuse it.
///
/// Modern browsers say so in `Sec-Fetch-Mode: navigate`; for older ones a
/// GET that accepts `text/html` counts.
pub fn is_browser_navigation(
    method: &str,
    sec_fetch_mode: Option<&str>,
    accept: Option<&str>,
) -> bool {
    if method != "GET" && method != "HEAD" {
        return false;
    }
    match sec_fetch_mode {
        Some(mode) => mode.eq_ignore_ascii_case("navigate"),
        None => accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/html")),
    }
}

/// Whether a state-changing request comes from another site (SECURITY S34).
///
/// `Sec-Fetch-Site` decides when sent (`same-origin` and `none` pass); else
/// `Origin`, when sent, must equal one of our own origins. A request with
/// neither header (old clients, curl) is left to the CSRF token alone.
pub fn is_cross_site(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    own_origins: &[&str],
) -> bool {
    if let Some(site) = sec_fetch_site {
        return !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"));
    }
    match origin {
        Some("null") => true,
        Some(origin) => !own_origins
            .iter()
            .any(|own| own.eq_ignore_ascii_case(origin)),
        None => false,
    }
}

/// The form of a request target (RFC 9112 §3.2), as the gateway accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm<'a> {
    /// `/path?query`: the only form a client sends an origin server.
    Origin,
    /// `http://host/path`: what a client sends a proxy. Accepted only for
    /// this listener's own host.
    Absolute { authority: &'a str },
    /// Anything else (`../x`, `*`, `host:port`): refused (S48).
    Other,
}

/// The form of the raw request target `raw`.
pub fn target_form(raw: &[u8]) -> TargetForm<'_> {
    if raw.first() == Some(&b'/') {
        return TargetForm::Origin;
    }
    let Ok(text) = std::str::from_utf8(raw) else {
        return TargetForm::Other;
    };
    let rest = ["http://", "https://"].iter().find_map(|scheme| {
        text.get(..scheme.len())
            .filter(|s| s.eq_ignore_ascii_case(scheme))
            .map(|_| &text[scheme.len()..])
    });
    match rest {
        Some(rest) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            let path_ok = rest[authority.len()..].is_empty()
                || rest[authority.len()..].starts_with(['/', '?']);
            if authority.is_empty() || authority.contains('@') || !path_ok {
                TargetForm::Other
            } else {
                TargetForm::Absolute { authority }
            }
        }
        None => TargetForm::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s48_request_target_forms() {
        assert_eq!(target_form(b"/files?x=1"), TargetForm::Origin);
        assert_eq!(
            target_form(b"http://gw.example.jp/files"),
            TargetForm::Absolute {
                authority: "gw.example.jp"
            }
        );
        assert_eq!(
            target_form(b"HTTPS://gw.example.jp:8443"),
            TargetForm::Absolute {
                authority: "gw.example.jp:8443"
            }
        );
        for other in [
            &b"../x"[..],
            b"*",
            b"gw.example.jp:443",
            b"http://",
            b"http://user@gw.example.jp/",
            b"ftp://gw.example.jp/",
            b"",
            b"\xff/",
        ] {
            assert_eq!(target_form(other), TargetForm::Other, "{other:?}");
        }
    }

    #[test]
    fn navigation() {
        assert!(is_browser_navigation("GET", Some("navigate"), None));
        assert!(!is_browser_navigation(
            "GET",
            Some("cors"),
            Some("text/html")
        ));
        assert!(is_browser_navigation(
            "GET",
            None,
            Some("text/html,application/xhtml+xml")
        ));
        assert!(!is_browser_navigation(
            "GET",
            None,
            Some("application/json")
        ));
        assert!(!is_browser_navigation("GET", None, None));
        assert!(!is_browser_navigation("PROPFIND", None, Some("text/html")));
        assert!(!is_browser_navigation("POST", Some("navigate"), None));
    }

    #[test]
    fn s34_cross_site() {
        let own = ["https://ff.example.net"];
        assert!(!is_cross_site(Some("same-origin"), None, &own));
        assert!(!is_cross_site(Some("none"), None, &own));
        assert!(is_cross_site(
            Some("cross-site"),
            Some("https://ff.example.net"),
            &own
        ));
        assert!(is_cross_site(Some("same-site"), None, &own));
        assert!(!is_cross_site(None, Some("https://FF.example.net"), &own));
        assert!(is_cross_site(None, Some("https://evil.test"), &own));
        assert!(is_cross_site(None, Some("null"), &own));
        assert!(!is_cross_site(None, None, &own));
    }
}
