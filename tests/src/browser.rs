//! A headless Chromium over WebDriver (chromedriver), for the browser
//! tests: the driver on a free loopback port, stopped by its process id.

use crate::free_addr;
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use sekisho_policy::paths;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// chromedriver on a free loopback port, stopped by its process id.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub fn start() -> Driver {
        let addr = free_addr("127.0.0.1");
        // A process group of its own: the browsers it starts go with it,
        // even when a test fails before closing its session.
        let child = Command::new("chromedriver")
            .arg(format!("--port={}", addr.port()))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (installed by scripts/setup.sh)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://{addr}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group, by its id (the driver's): chromedriver and the
        // Chromium processes it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn browser(driver: &Driver, profile: &std::path::Path) -> Browser {
    browser_with(driver, profile, true).await
}

/// A headless Chromium, with or without JavaScript.
pub async fn browser_with(driver: &Driver, profile: &std::path::Path, javascript: bool) -> Browser {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--ignore-certificate-errors", "--lang=ja",
                format!("--user-data-dir={}", profile.display()),
            ],
            // Office staff read the pages in Japanese.
            "prefs": {
                "intl.accept_languages": "ja",
                "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 },
            },
        }),
    );
    caps.insert("acceptInsecureCerts".into(), serde_json::Value::Bool(true));
    // chromedriver speaks plain HTTP on loopback; TLS is the browser's.
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

/// Waits for `css` on the page that follows a click.
pub async fn wait_for(b: &Browser, css: &str) -> fantoccini::elements::Element {
    match b
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => panic!(
            "no {css} on {:?}: {e}\n{}",
            b.current_url().await.map(|u| u.to_string()),
            b.source().await.unwrap_or_default()
        ),
    }
}

/// Waits for `css` and clicks it. When the page's script replaced the
/// element between finding and clicking it (a stale reference), it is
/// found again: up to 50 times, each find with its own 15 s, so a page
/// slow to show the element still leaves room to retry.
pub async fn click_when_ready(b: &Browser, css: &str) {
    for attempt in 1..=50 {
        match wait_for(b, css).await.click().await {
            Ok(()) => return,
            Err(fantoccini::error::CmdError::Standard(e)) if is_stale(&e) && attempt < 50 => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("clicking {css} (attempt {attempt}): {e}"),
        }
    }
}

/// Whether chromedriver's error says the element found is no longer in
/// the page. Chromium says so in two ways: the standard stale reference,
/// and, when the node went between chromedriver's own steps, an "unknown
/// error" from its inspector ("Node with given id does not belong to the
/// document").
fn is_stale(e: &fantoccini::error::WebDriver) -> bool {
    e.error == fantoccini::error::ErrorStatus::StaleElementReference
        || (e.error == fantoccini::error::ErrorStatus::UnknownError
            && e.message.contains("does not belong to the document"))
}

/// Clicks the element `css` of the current page.
pub async fn click(b: &Browser, css: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Types `text` into the element `css` of the current page.
pub async fn type_into(b: &Browser, css: &str, text: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

pub async fn path(b: &Browser) -> String {
    b.current_url().await.unwrap().path().to_string()
}

/// Signs in on the login page with `email` and the tests' good password.
pub async fn log_in(b: &Browser, base: &str, email: &str) {
    b.goto(&format!("{base}/.sekisho/login")).await.unwrap();
    wait_for(b, "#email").await.send_keys(email).await.unwrap();
    type_into(b, "#password", crate::GOOD_PASSWORD).await;
    click(b, "form[action='/.sekisho/login'] button[type=submit]").await;
}

/// Logs out from the logout page, and waits until the browser has left
/// it (for the login page, or, where a passkey's autofill signs in at
/// once, beyond it).
pub async fn log_out(b: &Browser, base: &str) {
    b.goto(&format!("{base}/.sekisho/logout")).await.unwrap();
    click_when_ready(b, "form button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while path(b).await == paths::LOGOUT && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A command of WebDriver's WebAuthn extension (virtual authenticators),
/// which chromedriver speaks: `POST /session/{id}/webauthn/authenticator`
/// and the routes under it.
#[derive(Debug)]
struct WebAuthnCommand {
    path: String,
    method: http::Method,
    body: Option<serde_json::Value>,
}

impl fantoccini::wd::WebDriverCompatibleCommand for WebAuthnCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(|b| b.to_string()),
        )
    }
}

async fn webauthn(
    b: &Browser,
    method: http::Method,
    path: String,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    b.issue_cmd(WebAuthnCommand { path, method, body })
        .await
        .expect("a WebAuthn command of chromedriver")
}

/// Adds a platform authenticator to the browser, as a phone's or laptop's
/// built-in one: resident keys, user verification that passes, presence
/// given without a touch. Its id, for the other calls.
pub async fn add_virtual_authenticator(b: &Browser) -> String {
    let v = webauthn(
        b,
        http::Method::POST,
        "authenticator".into(),
        Some(serde_json::json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "automaticPresenceSimulation": true,
        })),
    )
    .await;
    v.as_str().expect("an authenticator id").to_string()
}

/// The credentials the virtual authenticator holds (with their private
/// keys, rpId and signCount), as WebDriver gives them.
pub async fn authenticator_credentials(b: &Browser, id: &str) -> Vec<serde_json::Value> {
    let v = webauthn(
        b,
        http::Method::GET,
        format!("authenticator/{id}/credentials"),
        None,
    )
    .await;
    v.as_array().cloned().unwrap_or_default()
}

/// Puts a credential into the virtual authenticator (WebDriver's
/// "Add Credential": `credentialId`, `rpId`, `privateKey`, `userHandle`,
/// `signCount`, `isResidentCredential`, base64url).
pub async fn add_authenticator_credential(b: &Browser, id: &str, credential: serde_json::Value) {
    webauthn(
        b,
        http::Method::POST,
        format!("authenticator/{id}/credential"),
        Some(credential),
    )
    .await;
}

/// Empties the virtual authenticator.
pub async fn clear_authenticator_credentials(b: &Browser, id: &str) {
    webauthn(
        b,
        http::Method::DELETE,
        format!("authenticator/{id}/credentials"),
        None,
    )
    .await;
}
