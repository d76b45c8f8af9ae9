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

#[cfg(test)]
mod tests {
    use super::*;

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
