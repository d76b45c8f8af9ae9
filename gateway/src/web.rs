//! HTTP plumbing shared by every flow: the cookie names, reading a bounded
//! form, and writing a framed answer with the security headers every
//! gateway page carries. What a request says is read in [`crate::request`].

use bytes::Bytes;
use http::header;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use std::time::Duration;

/// The cookie names in use: `__Host-` prefixed and `Secure` in production,
/// plain names only with `development.insecure_http_cookies`.
#[derive(Debug, Clone)]
pub struct CookieNames {
    pub session: &'static str,
    pub pre: &'static str,
    pub lang: &'static str,
    /// A login waiting for its second step (grants nothing, S21).
    pub pending: &'static str,
    /// "Remember this browser" (S28).
    pub trust: &'static str,
    /// The browser, as its users' known browsers list it (S63).
    pub device: &'static str,
    /// A device-bound session's short-lived proof of its key (S62).
    pub bound: &'static str,
    pub secure: bool,
}

impl CookieNames {
    pub fn new(insecure: bool) -> CookieNames {
        if insecure {
            CookieNames {
                session: "sekisho",
                pre: "sekisho-pre",
                lang: "sekisho-lang",
                pending: "sekisho-2fa",
                trust: "sekisho-trust",
                device: "sekisho-device",
                bound: "sekisho-bound",
                secure: false,
            }
        } else {
            CookieNames {
                session: "__Host-sekisho",
                pre: "__Host-sekisho-pre",
                lang: "__Host-sekisho-lang",
                pending: "__Host-sekisho-2fa",
                trust: "__Host-sekisho-trust",
                device: "__Host-sekisho-device",
                bound: "__Host-sekisho-bound",
                secure: true,
            }
        }
    }

    fn build<'c>(&self, name: &'c str, value: &'c str) -> cookie::CookieBuilder<'c> {
        cookie::Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(cookie::SameSite::Lax)
            .secure(self.secure)
    }

    /// A `Set-Cookie` value: `Path=/`, no `Domain`, `HttpOnly`,
    /// `SameSite=Lax`, `Secure` unless in plain-HTTP development (S31). No
    /// expiry: the cookie ends with the browser, the session by its timeouts.
    pub fn set(&self, name: &str, value: &str) -> String {
        self.build(name, value).build().to_string()
    }

    /// A `Set-Cookie` value that outlives the browser for `max_age`
    /// seconds (the trust cookie, renewed at each use).
    pub fn set_lasting(&self, name: &str, value: &str, max_age: i64) -> String {
        self.build(name, value)
            .max_age(cookie::time::Duration::seconds(max_age))
            .build()
            .to_string()
    }

    /// A `Set-Cookie` value that removes the cookie.
    pub fn clear(&self, name: &str) -> String {
        self.build(name, "")
            .max_age(cookie::time::Duration::ZERO)
            .build()
            .to_string()
    }
}

/// A decoded form; the first value of a repeated field counts.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Whether the form carried the field at all (even empty).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// Why a form could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// Over the configured cap (413).
    TooLarge,
    /// Not `application/x-www-form-urlencoded` (400).
    NotAForm,
    /// The body did not arrive within the deadline, or the connection broke.
    Incomplete,
}

/// Whether the request's body is of one of `types` (parameters aside).
pub fn content_type_is(session: &Session, types: &[&str]) -> bool {
    session
        .req_header()
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let v = v.split(';').next().unwrap_or("").trim();
            types.iter().any(|t| v.eq_ignore_ascii_case(t))
        })
        .unwrap_or(false)
}

/// Reads a urlencoded form of at most `limit` bytes within `deadline`,
/// answering `Expect: 100-continue`. Never reads past the limit.
pub async fn read_form(
    session: &mut Session,
    limit: usize,
    deadline: Duration,
) -> Result<Form, FormError> {
    if declared_over(session, limit) {
        return Err(FormError::TooLarge);
    }
    if !content_type_is(session, &["application/x-www-form-urlencoded"]) {
        return Err(FormError::NotAForm);
    }
    let body = read_bounded(session, limit, deadline).await?;
    Ok(Form(
        form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    ))
}

/// True when the request declares a body over `limit`.
fn declared_over(session: &Session, limit: usize) -> bool {
    session
        .req_header()
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|n| n > limit)
}

/// Reads a body of at most `limit` bytes within `deadline`, whatever its
/// type, answering `Expect: 100-continue`. Never reads past the limit.
pub async fn read_bounded(
    session: &mut Session,
    limit: usize,
    deadline: Duration,
) -> Result<Vec<u8>, FormError> {
    if declared_over(session, limit) {
        return Err(FormError::TooLarge);
    }
    let expects_continue = session
        .req_header()
        .headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    if expects_continue && session.write_continue_response().await.is_err() {
        return Err(FormError::Incomplete);
    }
    let read = async {
        let mut body = Vec::new();
        loop {
            match session.read_request_body().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > limit {
                        return Err(FormError::TooLarge);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(_) => return Err(FormError::Incomplete),
            }
        }
    };
    tokio::time::timeout(deadline, read)
        .await
        .map_err(|_| FormError::Incomplete)?
}

/// An answer the gateway writes itself.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
    /// Close the connection afterwards (unread body, framing trouble).
    pub close: bool,
    /// Gateway pages that may be cached (static assets, keys).
    pub cacheable: bool,
    /// Origins this page's forms may lead to beyond the configured
    /// providers' (a tenant's ADFS), for its `form-action`.
    pub form_origins: Vec<String>,
}

impl Answer {
    pub fn html(status: u16, html: String) -> Answer {
        Answer {
            status,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body: Bytes::from(html),
            close: false,
            cacheable: false,
            form_origins: Vec::new(),
        }
    }

    /// A JSON answer for the pages' own script (passkey challenges).
    pub fn json(status: u16, json: String) -> Answer {
        Answer {
            content_type: "application/json",
            ..Answer::html(status, json)
        }
    }

    pub fn text(status: u16, text: &'static str) -> Answer {
        Answer {
            content_type: "text/plain; charset=utf-8",
            ..Answer::html(status, text.to_string())
        }
    }

    /// A 303 to a same-origin path (after a POST) or any gateway URL.
    pub fn redirect(location: &str) -> Answer {
        let mut a = Answer::html(303, String::new());
        a.headers.push(("location", location.to_string()));
        a
    }

    pub fn with_cookie(mut self, set_cookie: String) -> Answer {
        self.headers.push(("set-cookie", set_cookie));
        self
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Answer {
        self.headers.push((name, value));
        self
    }

    /// Lets this page's forms lead to `origins` too.
    pub fn with_form_origins(mut self, origins: Vec<String>) -> Answer {
        self.form_origins = origins;
        self
    }

    pub fn closing(mut self) -> Answer {
        self.close = true;
        self
    }
}

/// The pages' Content-Security-Policy. Forms post only to the gateway,
/// whose answer may send the browser on to an OpenID provider:
/// `form-action` covers those redirects too, so the providers' origins are
/// listed.
pub fn content_security_policy(provider_origins: &[String]) -> String {
    let mut form_action = String::from("'self'");
    for origin in provider_origins {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    format!(
        "default-src 'none'; script-src {}; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
        &*SCRIPT_SOURCE
    )
}

/// A browser as people name it, from its User-Agent (woothee, the
/// parser Japanese sites use): 「Chrome（Windows）」, "Safari (iPhone)".
pub fn readable_agent(agent: &str, lang: sekisho_pages::Lang) -> String {
    let (open, close) = match lang {
        sekisho_pages::Lang::Ja => ("（", "）"),
        sekisho_pages::Lang::En => (" (", ")"),
    };
    let unknown = lang.texts().unknown_browser;
    let Some(found) = woothee::parser::Parser::new().parse(agent) else {
        return unknown.to_string();
    };
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    match (known(found.name), known(found.os)) {
        (true, true) => format!("{}{open}{}{close}", found.name, found.os),
        (true, false) => found.name.to_string(),
        (false, true) => format!("{unknown}{open}{}{close}", found.os),
        (false, false) => unknown.to_string(),
    }
}

/// The pages' inline script, allowed by its SHA-256 and nothing else.
static SCRIPT_SOURCE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use base64::Engine;
    use sha2::Digest;
    let hash = sha2::Sha256::digest(sekisho_pages::SCRIPT.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
});

/// Writes `answer`, framed by Content-Length, with the security headers
/// (Pingora's `response_filter` does not run on answers written here).
pub async fn write_answer(
    session: &mut Session,
    answer: Answer,
    hsts: bool,
    csp: &str,
) -> pingora::Result<()> {
    let mut resp = ResponseHeader::build(answer.status, Some(8 + answer.headers.len()))?;
    resp.insert_header(header::CONTENT_TYPE, answer.content_type)?;
    resp.insert_header(header::CONTENT_LENGTH, answer.body.len().to_string())?;
    if answer.cacheable {
        resp.insert_header(header::CACHE_CONTROL, "public, max-age=300")?;
    } else {
        resp.insert_header(header::CACHE_CONTROL, "no-store")?;
    }
    resp.insert_header("content-security-policy", csp)?;
    resp.insert_header("x-content-type-options", "nosniff")?;
    resp.insert_header("x-frame-options", "DENY")?;
    resp.insert_header("referrer-policy", "no-referrer")?;
    if hsts {
        resp.insert_header("strict-transport-security", "max-age=31536000")?;
    }
    for (name, value) in answer.headers {
        resp.append_header(name, value)?;
    }
    if answer.close {
        resp.insert_header(header::CONNECTION, "close")?;
        session.set_keepalive(None);
    }
    let head_only = session.req_header().method == http::Method::HEAD;
    let empty = answer.body.is_empty() || head_only;
    session.write_response_header(Box::new(resp), empty).await?;
    if !empty {
        session.write_response_body(Some(answer.body), true).await?;
    }
    Ok(())
}

#[cfg(test)]
mod agent_tests {
    use super::readable_agent;
    use sekisho_pages::Lang;

    #[test]
    fn browsers_read_as_people_name_them() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(readable_agent(chrome, Lang::Ja), "Chrome（Windows 10）");
        assert_eq!(readable_agent(chrome, Lang::En), "Chrome (Windows 10)");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(readable_agent(iphone, Lang::Ja), "Safari（iPhone）");
        assert_eq!(readable_agent("", Lang::Ja), "不明なブラウザ");
        assert_eq!(readable_agent("curl/8.5.0", Lang::En), "HTTP Library");
    }
}
