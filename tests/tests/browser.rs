//! A real browser through two-step verification: Debian's chromium, headless,
//! driven over WebDriver (chromedriver), against the gateway over TLS with
//! a test certificate so the `__Host-` cookies work as in production.
//!
//! First login: the authenticator app is set up with the secret read off
//! the page, the recovery code acknowledged, "remember this browser"
//! ticked. A second login skips the second step; 31 days later (the
//! gateway's clock moved) it is asked again.

use fantoccini::{Client as Browser, Locator};
use sekisho_policy::paths;
use sekisho_tests::browser::{
    browser, click, click_when_ready, log_in, log_out, path, type_into, wait_for, Driver,
};
use sekisho_tests::two_step::totp_code;
use sekisho_tests::{free_addr, Env, GatewayOptions, GOOD_PASSWORD};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sets_up_the_app_and_is_remembered_for_30_days() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    let mut env = Env::start_with(|o: GatewayOptions| GatewayOptions {
        tls: Some((cert, key)),
        ..o.two_step()
    })
    .await;
    let email = "browser@example.jp";
    let link = env.invite_holder(email);
    let mut http = env.client();
    assert_eq!(http.register(&link, GOOD_PASSWORD).await.status, 200);

    let driver = Driver::start();
    let b = browser(&driver, &dir.path().join("profile")).await;
    let base = env.gw.base.clone();

    // First login: the second step, set up with the authenticator app.
    log_in(&b, &base, email).await;
    // Without [sms] configured, set-up opens on the app's screen.
    let secret = wait_for(&b, "#totp-secret").await.text().await.unwrap();
    assert_eq!(path(&b).await, paths::TWO_STEP);
    assert!(
        b.find(Locator::Css("figure.qr svg")).await.is_ok(),
        "the QR code is on the page"
    );
    let code = totp_code(&secret.replace(' ', ""), env.gw.now());
    type_into(&b, "#code", &code).await;
    click(&b, "input[name=remember]").await;
    click(&b, "form button[type=submit]").await;
    // The recovery code, shown until "saved" is ticked.
    let recovery = wait_for(&b, "#recovery-code").await.text().await.unwrap();
    assert_eq!(recovery.trim().len(), 19, "{recovery}");
    click(&b, "input[name=saved]").await;
    click(&b, "form button[type=submit]").await;
    // 2段階認証完了, then "ログインする" opens the service.
    let go = wait_for(&b, "a.button").await;
    let page = b.source().await.unwrap();
    assert!(page.contains("2段階認証完了"), "{page}");
    go.click().await.unwrap();
    wait_for(&b, "body").await;
    assert!(
        b.source().await.unwrap().contains("upstream ok"),
        "{}",
        b.source().await.unwrap()
    );
    assert_eq!(env.upstream.last().one("x-auth-email"), email);

    // A second login on this browser: no second step.
    log_out(&b, &base).await;
    log_in(&b, &base, email).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while path(&b).await.starts_with(paths::LOGIN) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(path(&b).await, "/", "remembered: straight to the service");

    // 31 days later the browser is no longer trusted.
    log_out(&b, &base).await;
    env.gw.advance_clock(31 * 86_400);
    log_in(&b, &base, email).await;
    wait_for(&b, "#code").await;
    assert_eq!(path(&b).await, paths::TWO_STEP);
    b.close().await.unwrap();
}

/// Acts on the provider's own pages until the browser is back at the
/// gateway: types the name on its login page, presses its buttons.
async fn through_provider(b: &Browser, gateway: &str, from: &str, name: &str) {
    // First the gateway's answer to the button: off to the provider.
    let deadline = Instant::now() + Duration::from_secs(15);
    while b.current_url().await.unwrap().as_str() == from && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..8 {
        let deadline = Instant::now() + Duration::from_secs(15);
        let url = loop {
            let url = b.current_url().await.unwrap().to_string();
            let settled = b
                .find(Locator::Css("button[type=submit], body"))
                .await
                .is_ok();
            if settled || Instant::now() > deadline {
                break url;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if url.starts_with(gateway) {
            return;
        }
        if let Ok(login) = b.find(Locator::Css("input[name=login]")).await {
            login.send_keys(name).await.unwrap();
            type_into(b, "input[name=password]", "any password").await;
        }
        let button = wait_for(b, "button[type=submit]").await;
        button.click().await.unwrap();
        // Wait for the page to change before looking again.
        let deadline = Instant::now() + Duration::from_secs(15);
        while b.current_url().await.unwrap().to_string() == url && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("the provider never sent the browser back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_registers_and_logs_in_through_a_providers_pages() {
    use sekisho_tests::oidc::OidcProvider;
    let dir = tempfile::tempdir().unwrap();
    let listen = free_addr("127.0.0.6");
    let redirect = vec![format!("http://{listen}/.sekisho/federation/callback")];
    let provider = OidcProvider::start(free_addr("127.0.0.1"), "", &redirect);
    let extra = provider.config("google", dir.path());
    let env = Env::start_with(|o: GatewayOptions| GatewayOptions {
        listen: Some(listen),
        extra,
        ..o
    })
    .await;
    let link = env.invite_holder("browser-fed@example.jp");
    let base = env.gw.base.clone();

    let driver = Driver::start();
    let b = browser(&driver, &dir.path().join("profile")).await;
    // Registration: the provider's button on the invitation's page.
    b.goto(&link).await.unwrap();
    let register = wait_for(&b, "button.provider").await;
    assert!(register.text().await.unwrap().contains("Google"));
    register.click().await.unwrap();
    through_provider(&b, &base, &link, "erin").await;
    wait_for(&b, "a.button").await;
    let page = b.source().await.unwrap();
    assert!(page.contains("申込完了"), "{page}");
    // The manual's one completion: its text says 「OK」, and so does the
    // button (issue 32, 3).
    let button = b
        .find(Locator::Css("a.button"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(button.trim(), "OK", "{page}");

    // Login: the provider's button on the login page; the provider
    // remembers the person, so its pages may be shorter this time.
    let login = format!("{base}/.sekisho/login?next=/files/fed");
    b.goto(&login).await.unwrap();
    click_when_ready(&b, "button.provider").await;
    through_provider(&b, &base, &login, "erin").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while path(&b).await != "/files/fed" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(path(&b).await, "/files/fed");
    assert!(b.source().await.unwrap().contains("upstream ok"));
    assert_eq!(env.upstream.last().one("x-auth-method"), "google");
    b.close().await.unwrap();
}
