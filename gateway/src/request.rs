//! One reading of a request: what it says, read once, and the only place a
//! session cookie becomes a session.
//!
//! [`RequestView`] borrows the request header. It scans the `Cookie`
//! fields once (HTTP/2 clients send several), picking out the gateway's
//! own cookies and keeping the rest for the upstream. It works out the
//! client address, the line (closed route) and whether this is a browser
//! navigation. The proxied path reads no more than this; the gateway's
//! pages get an owned [`Req`] made from it.

use crate::clock::Clock;
use crate::sessions::Live;
use crate::sessions::Sessions;
use crate::store::StoreError;
use crate::web::CookieNames;
use http::header;
use pingora::http::RequestHeader;
use pingora::proxy::Session;
use sekisho_pages::Lang;
use sekisho_policy::binding::BindingCheck;
use sekisho_policy::gate::{counts_here, Arrival, Place, Standing, TenantStanding};
use sekisho_policy::model::Route;
use sekisho_policy::request::is_browser_navigation;
use std::sync::Arc;

/// How the request carries one of the gateway's cookies. A repeated cookie
/// is no cookie (S30): a planted duplicate must not pick the session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Slot<'a> {
    #[default]
    Missing,
    One(&'a str),
    Repeated,
}

impl<'a> Slot<'a> {
    fn add(&mut self, value: &'a str) {
        *self = match self {
            Slot::Missing => Slot::One(value),
            _ => Slot::Repeated,
        }
    }

    /// The value when the cookie came exactly once.
    pub fn value(self) -> Option<&'a str> {
        match self {
            Slot::One(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the cookie came at all (once or more).
    pub fn present(self) -> bool {
        self != Slot::Missing
    }
}

/// The gateway's cookies of a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct OurCookies<'a> {
    pub session: Slot<'a>,
    pub pre: Slot<'a>,
    pub lang: Slot<'a>,
    pub pending: Slot<'a>,
    pub trust: Slot<'a>,
    pub device: Slot<'a>,
    pub bound: Slot<'a>,
}

/// What becomes of the `Cookie` field on the way up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamCookie {
    /// One field with none of ours: sent as it came.
    Keep,
    /// Only our cookies: no `Cookie` field at all.
    Remove,
    /// The others, merged into one field (HTTP/1 upstreams want one).
    Replace(String),
}

/// Scans every `Cookie` field once.
fn scan_cookies<'a>(
    req: &'a RequestHeader,
    names: &CookieNames,
) -> (OurCookies<'a>, UpstreamCookie) {
    let mut ours = OurCookies::default();
    let mut others: Vec<&'a str> = Vec::new();
    let mut fields = 0;
    let mut any_ours = false;
    for value in req.headers.get_all(header::COOKIE) {
        fields += 1;
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (name, value) = match pair.split_once('=') {
                Some((n, v)) => (n.trim(), v.trim()),
                None => (pair, ""),
            };
            let slot = if name == names.session {
                &mut ours.session
            } else if name == names.pre {
                &mut ours.pre
            } else if name == names.lang {
                &mut ours.lang
            } else if name == names.pending {
                &mut ours.pending
            } else if name == names.trust {
                &mut ours.trust
            } else if name == names.device {
                &mut ours.device
            } else if name == names.bound {
                &mut ours.bound
            } else {
                others.push(pair);
                continue;
            };
            any_ours = true;
            slot.add(value);
        }
    }
    let upstream = if others.is_empty() {
        if fields == 0 {
            UpstreamCookie::Keep
        } else {
            UpstreamCookie::Remove
        }
    } else if !any_ours && fields == 1 {
        UpstreamCookie::Keep
    } else {
        UpstreamCookie::Replace(others.join("; "))
    };
    (ours, upstream)
}

fn header_str(req: &RequestHeader, name: impl http::header::AsHeaderName) -> Option<&str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Named once: a look-up by `&str` parses the name at every request.
const SEC_FETCH_MODE: http::HeaderName = http::HeaderName::from_static("sec-fetch-mode");

/// The request as read once, borrowing its header.
pub struct RequestView<'a> {
    pub header: &'a RequestHeader,
    /// The listener's route (never a header's).
    pub route: Route,
    pub cookies: OurCookies<'a>,
    pub upstream_cookie: UpstreamCookie,
    /// The client's address: the TCP peer, or the first untrusted hop of
    /// `X-Forwarded-For` behind a configured trusted proxy.
    pub client_ip: String,
    /// The caller's line on the closed route (see `crate::line`).
    pub line: Option<String>,
    /// A top-level browser navigation (redirect rather than 401).
    pub navigation: bool,
}

impl<'a> RequestView<'a> {
    /// Reads `session`'s request as it arrived on `route`'s listener.
    pub fn read(
        session: &'a Session,
        names: &CookieNames,
        config: &sekisho_config::Config,
        route: Route,
    ) -> RequestView<'a> {
        let header = session.req_header();
        let (cookies, upstream_cookie) = scan_cookies(header, names);
        let line = match (&config.closed, route) {
            (Some(closed), Route::Closed) => crate::line::of_request(closed, session),
            _ => None,
        };
        RequestView {
            header,
            route,
            cookies,
            upstream_cookie,
            client_ip: client_ip(session, &config.throttle.trusted_proxies),
            line,
            navigation: is_browser_navigation(
                header.method.as_str(),
                header_str(header, &SEC_FETCH_MODE),
                header_str(header, header::ACCEPT),
            ),
        }
    }

    /// The path asked for.
    pub fn path(&self) -> &'a str {
        self.header.uri.path()
    }

    /// Whether the request carries a body the gateway would leave unread.
    pub fn has_body(&self) -> bool {
        let h = &self.header.headers;
        h.contains_key(header::CONTENT_LENGTH) || h.contains_key(header::TRANSFER_ENCODING)
    }

    /// The session of this request's cookie (see [`resolve`]).
    pub async fn session(
        &self,
        sessions: &Sessions,
        clock: &Clock,
    ) -> Result<Option<Live>, StoreError> {
        resolve(sessions, clock, self.cookies.session).await
    }

    /// What arrived, for the gate.
    pub fn arrival(&self, place: Place) -> Arrival<'_> {
        Arrival {
            route: self.route,
            line: self.line.as_deref(),
            navigation: self.navigation,
            had_session_cookie: self.cookies.session.present(),
            place,
        }
    }

    /// The owned request the gateway's pages work with.
    pub fn to_req(&self) -> Req {
        let h = self.header;
        let c = &self.cookies;
        let mut user_agent = header_str(h, "user-agent").unwrap_or_default().to_string();
        user_agent.truncate(
            user_agent
                .char_indices()
                .nth(200)
                .map(|(i, _)| i)
                .unwrap_or(user_agent.len()),
        );
        Req {
            method: h.method.as_str().to_string(),
            path: h.uri.path().to_string(),
            query: h.uri.query().unwrap_or("").to_string(),
            cookies: Cookies {
                session: OwnedSlot::of(c.session),
                pre: OwnedSlot::of(c.pre),
                pending: OwnedSlot::of(c.pending),
                trust: OwnedSlot::of(c.trust),
                device: OwnedSlot::of(c.device),
                bound: OwnedSlot::of(c.bound),
            },
            lang: Lang::negotiate(c.lang.value(), header_str(h, "accept-language")),
            client_ip: self.client_ip.clone(),
            user_agent,
            sec_fetch_site: header_str(h, "sec-fetch-site").map(str::to_string),
            origin: header_str(h, "origin").map(str::to_string),
            route: self.route,
            line: self.line.clone(),
            navigation: self.navigation,
            request_id: String::new(),
            after_post: Some(sekisho_policy::paths::LOGIN),
            live: Arc::new(tokio::sync::OnceCell::new()),
        }
    }
}

/// The client's address as the gateway believes it.
fn client_ip(session: &Session, trusted: &[ipnet::IpNet]) -> String {
    let Some(peer) = session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip())
    else {
        return "-".to_string();
    };
    if trusted.is_empty() {
        return ip_text(peer);
    }
    let hops: Vec<&str> = session
        .req_header()
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    ip_text(sekisho_policy::client_ip::client_ip(peer, &hops, trusted))
}

/// An address as text; an IPv4 one without `fmt` (about 1,300
/// instructions a request through `Display`, P15).
fn ip_text(ip: std::net::IpAddr) -> String {
    let std::net::IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

/// Resolves a session cookie: the one place a cookie becomes a session.
/// A missing or repeated cookie is no session; store trouble is an error,
/// and the caller fails closed.
async fn resolve(
    sessions: &Sessions,
    clock: &Clock,
    cookie: Slot<'_>,
) -> Result<Option<Live>, StoreError> {
    match cookie.value() {
        Some(value) => sessions.resolve(value, clock.now()).await,
        None => Ok(None),
    }
}

/// Where a live session stands, for the gate; `binding` is what its
/// device binding says of this request (`Dbsc::check`).
pub fn standing(live: &Live, binding: BindingCheck) -> Standing<'_> {
    let (user, tenant, s) = (&live.view.user, &live.view.tenant, &live.view.session);
    Standing {
        route: s.route,
        line: s.line.as_deref(),
        role: user.role,
        // The menu matrix asks the account's method (it may have changed
        // since this session began).
        method: user.method,
        tenant: tenant_standing(tenant),
        binding,
    }
}

/// A tenant's side of a standing.
pub fn tenant_standing(tenant: &crate::store::Tenant) -> TenantStanding<'_> {
    TenantStanding {
        plan: tenant.plan,
        started_at: tenant.created_at,
        access_route: tenant.access_route,
        lines: &tenant.lines,
        line_consents: &tenant.line_consents,
        two_step_enabled: tenant.two_step_enabled,
        passkeys_required: tenant.passkeys_required,
    }
}

/// One of the gateway's cookies, owned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum OwnedSlot {
    #[default]
    Missing,
    One(String),
    Repeated,
}

impl OwnedSlot {
    fn of(s: Slot<'_>) -> OwnedSlot {
        match s {
            Slot::Missing => OwnedSlot::Missing,
            Slot::One(v) => OwnedSlot::One(v.to_string()),
            Slot::Repeated => OwnedSlot::Repeated,
        }
    }
    fn borrow(&self) -> Slot<'_> {
        match self {
            OwnedSlot::Missing => Slot::Missing,
            OwnedSlot::One(v) => Slot::One(v),
            OwnedSlot::Repeated => Slot::Repeated,
        }
    }
}

/// The gateway's cookies of a request, owned (for the pages). Each
/// accessor gives the value only when the cookie came exactly once (S30).
#[derive(Debug, Clone, Default)]
pub struct Cookies {
    session: OwnedSlot,
    pre: OwnedSlot,
    pending: OwnedSlot,
    trust: OwnedSlot,
    device: OwnedSlot,
    bound: OwnedSlot,
}

impl Cookies {
    pub fn session(&self) -> Option<&str> {
        self.session.borrow().value()
    }
    pub fn pre(&self) -> Option<&str> {
        self.pre.borrow().value()
    }
    /// A login waiting for its second step.
    pub fn pending(&self) -> Option<&str> {
        self.pending.borrow().value()
    }
    /// "Remember this browser".
    pub fn trust(&self) -> Option<&str> {
        self.trust.borrow().value()
    }
    /// The browser's id among its users' known browsers.
    pub fn device(&self) -> Option<&str> {
        self.device.borrow().value()
    }
    /// A device-bound session's bound cookie (S62).
    pub fn bound(&self) -> Option<&str> {
        self.bound.borrow().value()
    }
}

/// What the flows need to know about a request, read once.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub cookies: Cookies,
    pub lang: Lang,
    pub client_ip: String,
    pub user_agent: String,
    pub sec_fetch_site: Option<String>,
    pub origin: Option<String>,
    /// The listener's route (set by the proxy, never from a header).
    pub route: Route,
    /// The caller's line on the closed route (see `crate::line`).
    pub line: Option<String>,
    /// A top-level browser navigation.
    pub navigation: bool,
    /// The request's id (set by the proxy): error pages show it, and the
    /// access log and the upstream carry it.
    pub request_id: String,
    /// Where a language switch on the page answering this POST lands: a
    /// page a GET shows again. `None`: this path itself. The proxy sets it
    /// from the route table; until then, the login page.
    pub after_post: Option<&'static str>,
    /// The session, resolved at most once per request.
    live: Arc<tokio::sync::OnceCell<Option<Live>>>,
}

impl Req {
    /// This request's session, resolved once however many checks ask.
    pub async fn session(
        &self,
        sessions: &Sessions,
        clock: &Clock,
    ) -> Result<Option<Live>, StoreError> {
        self.live
            .get_or_try_init(|| resolve(sessions, clock, self.cookies.session.borrow()))
            .await
            .cloned()
    }

    /// This request's session when it was made on this listener's route
    /// (S39); what logout ends.
    pub async fn session_here(
        &self,
        sessions: &Sessions,
        clock: &Clock,
    ) -> Result<Option<Live>, StoreError> {
        let live = self.session(sessions, clock).await?;
        Ok(live.filter(|l| counts_here(self.route, l.view.session.route)))
    }

    /// What arrived, for the gate.
    pub fn arrival(&self, place: Place) -> Arrival<'_> {
        Arrival {
            route: self.route,
            line: self.line.as_deref(),
            navigation: self.navigation,
            had_session_cookie: self.cookies.session != OwnedSlot::Missing,
            place,
        }
    }

    /// The first value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// Path and query, for coming back here.
    pub fn here(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "1.2.3.4",
            "10.0.99.100",
            "127.0.0.1",
            "255.255.255.255",
            "::1",
            "2001:db8::7",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    fn header(cookies: &[&str]) -> RequestHeader {
        let mut h = RequestHeader::build("GET", b"/x", None).unwrap();
        for c in cookies {
            h.append_header("cookie", *c).unwrap();
        }
        h
    }

    #[test]
    fn one_scan_finds_ours_and_keeps_the_rest() {
        let names = CookieNames::new(true);
        let h = header(&["a=1; sekisho=abc; b=2", "sekisho-lang=en"]);
        let (ours, up) = scan_cookies(&h, &names);
        assert_eq!(ours.session, Slot::One("abc"));
        assert_eq!(ours.lang, Slot::One("en"));
        assert_eq!(ours.pre, Slot::Missing);
        assert_eq!(up, UpstreamCookie::Replace("a=1; b=2".into()));
    }

    #[test]
    fn s30_a_repeated_session_cookie_is_no_cookie() {
        let names = CookieNames::new(true);
        let h = header(&["sekisho=abc", "sekisho=def"]);
        let (ours, up) = scan_cookies(&h, &names);
        assert_eq!(ours.session, Slot::Repeated);
        assert_eq!(ours.session.value(), None);
        assert!(ours.session.present());
        assert_eq!(up, UpstreamCookie::Remove);
    }

    #[test]
    fn the_cookie_field_is_left_alone_or_dropped_when_it_can_be() {
        let names = CookieNames::new(false);
        let (_, up) = scan_cookies(&header(&["a=1; b=2"]), &names);
        assert_eq!(up, UpstreamCookie::Keep);
        let (_, up) = scan_cookies(&header(&[]), &names);
        assert_eq!(up, UpstreamCookie::Keep);
        let only_ours = header(&["__Host-sekisho=x"]);
        let (ours, up) = scan_cookies(&only_ours, &names);
        assert_eq!(ours.session, Slot::One("x"));
        assert_eq!(up, UpstreamCookie::Remove);
        // Two fields without ours are merged for an HTTP/1 upstream (#892).
        let (_, up) = scan_cookies(&header(&["a=1", "b=2"]), &names);
        assert_eq!(up, UpstreamCookie::Replace("a=1; b=2".into()));
    }
}
