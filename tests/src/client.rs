//! A cookie-keeping HTTP client, following no redirects, so each test sees
//! exactly what the gateway answered.

use sekisho_policy::paths;
use std::collections::BTreeMap;

pub struct Client {
    http: reqwest::Client,
    base: String,
    pub cookies: BTreeMap<String, String>,
    /// Headers added to every request (e.g. `Sec-Fetch-Site`).
    pub extra: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
    /// The CSRF token of the page's (first) form.
    pub fn csrf(&self) -> String {
        hidden(&self.body, "csrf").unwrap_or_else(|| panic!("no csrf field in {}", self.body))
    }
}

/// The value of the hidden input `name` in `html`.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&#43;", "+")
            .replace("&#x2B;", "+"),
    )
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client::from_address(base, None)
    }

    /// A client whose connections come from `local` (e.g. 127.0.0.2 as a
    /// trusted proxy, 127.0.0.3 as an untrusted one).
    pub fn from_address(base: &str, local: Option<std::net::IpAddr>) -> Client {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(true)
            .local_address(local)
            .build()
            .unwrap();
        Client {
            http,
            base: base.to_string(),
            cookies: BTreeMap::new(),
            extra: Vec::new(),
        }
    }

    fn cookie_header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            None
        } else {
            Some(
                self.cookies
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        }
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Resp {
        let mut req = req;
        if let Some(c) = self.cookie_header() {
            req = req.header("cookie", c);
        }
        for (k, v) in &self.extra {
            req = req.header(k, v);
        }
        let resp = req.send().await.expect("request to the gateway");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for sc in headers.get_all("set-cookie") {
            let sc = sc.to_str().unwrap();
            let first = sc.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
            if sc.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let body = resp.text().await.unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        let r = self.http.get(self.url(path));
        self.send(r).await
    }

    /// A browser navigation (Sec-Fetch-Mode: navigate).
    pub async fn navigate(&mut self, path: &str) -> Resp {
        let r = self
            .http
            .get(self.url(path))
            .header("sec-fetch-mode", "navigate")
            .header("accept", "text/html");
        self.send(r).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let r = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(r).await
    }

    /// A POST without a body, as a browser's DBSC requests are sent.
    pub async fn post_empty(&mut self, path: &str) -> Resp {
        let r = self.http.post(self.url(path)).header("content-length", "0");
        self.send(r).await
    }

    /// Registers from an invitation link with `password` (both steps).
    pub async fn register(&mut self, link: &str, password: &str) -> Resp {
        let page = self.get(link).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let ticket = link.split("ticket=").nth(1).unwrap().to_string();
        let csrf = page.csrf();
        let confirm = self
            .post(
                paths::REGISTER,
                &[
                    ("csrf", &csrf),
                    ("ticket", &ticket),
                    ("step", "check"),
                    ("password", password),
                    ("password_confirm", password),
                ],
            )
            .await;
        assert_eq!(confirm.status, 200, "{}", confirm.body);
        assert!(confirm.body.contains("申込確認"), "{}", confirm.body);
        let csrf = confirm.csrf();
        self.post(
            paths::REGISTER,
            &[("csrf", &csrf), ("ticket", &ticket), ("step", "confirm")],
        )
        .await
    }

    /// Opens the login page and posts the credentials.
    pub async fn login(&mut self, email: &str, password: &str) -> Resp {
        self.login_to(email, password, "/").await
    }

    pub async fn login_to(&mut self, email: &str, password: &str, next: &str) -> Resp {
        let page = self.get(paths::LOGIN).await;
        let csrf = page.csrf();
        self.post(
            paths::LOGIN,
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", password),
                ("next", next),
            ],
        )
        .await
    }
}
