//! Issue 32's browser stories: what office staff see in Chromium, each
//! failing on the main before it.
//!
//! * Every step after the password says whose login it is, with a way to
//!   start again as someone else; the account menu says who is signed in,
//!   in which contract, with ログアウト.
//! * A throttled login stays on the login page with the address kept and
//!   the wait in seconds, the figure of `Retry-After`.

use fantoccini::Locator;
use sekisho_policy::paths;
use sekisho_tests::browser::{browser, click, log_in, path, type_into, wait_for, Driver};
use sekisho_tests::two_step::totp_code;
use sekisho_tests::{Env, GatewayOptions, GOOD_PASSWORD};
use std::time::{Duration, Instant};

/// A story's setting: a gateway over TLS (production cookies), its holder
/// `email` registered, and a headless Chromium with a fresh profile.
struct Story {
    dir: tempfile::TempDir,
    env: Env,
    driver: Driver,
    b: fantoccini::Client,
    base: String,
}

async fn story(email: &str, adjust: impl FnOnce(GatewayOptions) -> GatewayOptions) -> Story {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    let env = Env::start_with(|o: GatewayOptions| {
        adjust(GatewayOptions {
            tls: Some((cert, key)),
            ..o
        })
    })
    .await;
    let link = env.invite_holder(email);
    assert_eq!(
        env.client().register(&link, GOOD_PASSWORD).await.status,
        200
    );
    let driver = Driver::start();
    let b = browser(&driver, &dir.path().join("profile")).await;
    let base = env.gw.base.clone();
    Story {
        dir,
        env,
        driver,
        b,
        base,
    }
}

async fn wait_for_path(b: &fantoccini::Client, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while path(b).await != want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(path(b).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_after_the_password_says_who_is_signing_in() {
    let email = "taro@example.co.jp";
    let Story {
        dir: _dir,
        env,
        driver: _driver,
        b,
        base,
    } = story(email, |o| o.two_step()).await;

    // The second step names the account, and offers another.
    log_in(&b, &base, email).await;
    let who = wait_for(&b, ".who").await.text().await.unwrap();
    assert!(who.contains("taro@example.co.jp でログイン中"), "{who}");
    assert!(who.contains("別のアカウントでログイン"), "{who}");
    click(&b, ".who button").await;
    wait_for_path(&b, paths::LOGIN).await;

    // Again, through the app's set-up: each of its pages says so too.
    log_in(&b, &base, email).await;
    let secret = wait_for(&b, "#totp-secret").await.text().await.unwrap();
    assert!(b.find(Locator::Css(".who")).await.is_ok());
    type_into(
        &b,
        "#code",
        &totp_code(&secret.replace(' ', ""), env.gw.now()),
    )
    .await;
    click(&b, "form button[type=submit]").await;
    wait_for(&b, "#recovery-code").await;
    let who = b
        .find(Locator::Css(".who"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(who.contains("taro@example.co.jp でログイン中"), "{who}");
    assert!(
        !who.contains("別のアカウントでログイン"),
        "the login is done once the recovery code shows: {who}"
    );
    click(&b, "input[name=saved]").await;
    click(&b, "form button[type=submit]").await;
    wait_for(&b, "a.button").await;

    // The account menu: who, which contract, and the way out.
    b.goto(&format!("{base}{}", paths::MENU)).await.unwrap();
    let who = wait_for(&b, ".who").await.text().await.unwrap();
    assert!(
        who.contains("taro@example.co.jp でログインしています"),
        "{who}"
    );
    assert!(who.contains("契約ID"), "{who}");
    click(&b, ".who a.button").await;
    wait_for_path(&b, paths::LOGOUT).await;
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_login_keeps_the_page_the_address_and_says_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    // The shipped limits: 5 tries a minute per address and account.
    let env = Env::start_with(|o: GatewayOptions| GatewayOptions {
        tls: Some((cert, key)),
        throttle: "[throttle]\n".into(),
        ..o
    })
    .await;
    let email = "hanako@example.co.jp";
    let link = env.invite_holder(email);
    assert_eq!(
        env.client().register(&link, GOOD_PASSWORD).await.status,
        200
    );
    let driver = Driver::start();
    let b = browser(&driver, &dir.path().join("profile")).await;
    let base = env.gw.base.clone();
    for _ in 0..6 {
        b.goto(&format!("{base}{}", paths::LOGIN)).await.unwrap();
        wait_for(&b, "#email").await.send_keys(email).await.unwrap();
        type_into(&b, "#password", "Wrong-Password-9").await;
        click(&b, "form[action='/.sekisho/login'] button[type=submit]").await;
        wait_for(&b, "p.error").await;
    }
    let error = wait_for(&b, "p.error").await.text().await.unwrap();
    assert!(
        error.contains("あと約") && error.contains("秒お待ちください"),
        "{error}"
    );
    let kept = b
        .find(Locator::Css("#email"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(email), "the address stays");
    assert!(
        b.find(Locator::Css("#password")).await.is_ok(),
        "the form stays"
    );
    b.close().await.unwrap();
}

/// Issue 32 (3): 申込確認 calls an invited user's address メールアドレス;
/// 管理者メールアドレス is for the contract holder and administrators.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registration_confirmation_labels_the_address_by_role() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    let env = Env::start_with(|o: GatewayOptions| GatewayOptions {
        tls: Some((cert, key)),
        ..o
    })
    .await;
    let mut holder = env.logged_in_holder("owner@example.co.jp").await;
    let user_link = env
        .invite(&mut holder, "一般 花子", "ippan@example.co.jp", "user")
        .await;
    let admin_link = env
        .invite(&mut holder, "管理 太郎", "kanri@example.co.jp", "admin")
        .await;
    let driver = Driver::start();
    let b = browser(&driver, &dir.path().join("profile")).await;
    for (link, label) in [
        (user_link, "メールアドレス"),
        (admin_link, "管理者メールアドレス"),
    ] {
        b.goto(&link).await.unwrap();
        type_into(&b, "#password", GOOD_PASSWORD).await;
        type_into(&b, "#password_confirm", GOOD_PASSWORD).await;
        click(&b, "form button[type=submit]").await;
        let dt = wait_for(&b, "dl dt:nth-of-type(2)")
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(dt.trim(), label);
    }
    b.close().await.unwrap();
}

/// The focused element's id.
async fn focused(b: &fantoccini::Client) -> String {
    let el = b.active_element().await.unwrap();
    el.attr("id").await.unwrap().unwrap_or_default()
}

/// Issue 32 (4): what was typed stays (never a password), the field that
/// was wrong says so (`aria-invalid`, `aria-describedby`) and has the
/// focus, and the forgotten-password page opens clean from the login page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_sit_at_their_field_and_what_was_typed_stays() {
    let email = "jiro@example.co.jp";
    let Story {
        dir: _dir,
        env: _env,
        driver: _driver,
        b,
        base,
    } = story(email, |o| o).await;

    // The login page's forgotten-password button with nothing typed.
    b.goto(&format!("{base}{}", paths::LOGIN)).await.unwrap();
    click(&b, "button[formaction='/.sekisho/forgot']").await;
    wait_for_path(&b, paths::FORGOT).await;
    wait_for(&b, "#email").await;
    assert!(b.find(Locator::Css("p.error")).await.is_err(), "no error");

    // A failed login: the address stays, the password field is marked and
    // focused, and is empty.
    b.goto(&format!("{base}{}", paths::LOGIN)).await.unwrap();
    wait_for(&b, "#email").await.send_keys(email).await.unwrap();
    type_into(&b, "#password", "Wrong-Password-9").await;
    click(&b, "form[action='/.sekisho/login'] button[type=submit]").await;
    wait_for(&b, "p.error").await;
    let password = b.find(Locator::Css("#password")).await.unwrap();
    assert_eq!(
        password.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(
        password.attr("aria-describedby").await.unwrap().as_deref(),
        Some("login-error")
    );
    assert_eq!(password.prop("value").await.unwrap().as_deref(), Some(""));
    assert_eq!(focused(&b).await, "password");
    let kept = b
        .find(Locator::Css("#email"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(email));

    // A wrong current password: that field alone is marked and focused.
    log_in(&b, &base, email).await;
    wait_for_path(&b, "/").await;
    b.goto(&format!("{base}{}", paths::MENU_PASSWORD))
        .await
        .unwrap();
    type_into(&b, "#current_password", "Wrong-Password-9").await;
    type_into(&b, "#password", "Momiji-Leaves-77").await;
    type_into(&b, "#password_confirm", "Momiji-Leaves-77").await;
    click(&b, "form button[type=submit]").await;
    wait_for(&b, "#problems").await;
    let current = b.find(Locator::Css("#current_password")).await.unwrap();
    assert_eq!(
        current.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    let new = b.find(Locator::Css("#password")).await.unwrap();
    assert_eq!(new.attr("aria-invalid").await.unwrap(), None);
    assert_eq!(focused(&b).await, "current_password");
    b.close().await.unwrap();
}

/// Issue 32 (5): the logout confirmation has a way back, which keeps the
/// session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logout_confirmation_has_a_way_back() {
    let email = "saburo@example.co.jp";
    let Story {
        dir: _dir,
        env: _env,
        driver: _driver,
        b,
        base,
    } = story(email, |o| o).await;
    log_in(&b, &base, email).await;
    wait_for_path(&b, "/").await;
    b.goto(&format!("{base}{}", paths::LOGOUT)).await.unwrap();
    let back = wait_for(&b, ".actions a.button.secondary").await;
    assert_eq!(back.text().await.unwrap().trim(), "キャンセル");
    back.click().await.unwrap();
    wait_for_path(&b, "/").await;
    assert!(
        b.source().await.unwrap().contains("upstream ok"),
        "still signed in"
    );
    b.close().await.unwrap();
}

/// Issue 32 (5): on a phone the login button spans the form, and the
/// other ways in sit together under または.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_the_login_button_has_the_weight() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::start().await;
    let driver = Driver::start();
    let b = browser(&driver, &dir.path().join("profile")).await;
    b.set_window_size(390, 844).await.unwrap();
    b.goto(&format!("{}{}", env.gw.base, paths::LOGIN))
        .await
        .unwrap();
    let button = wait_for(&b, "button.main-action").await;
    let (_, _, button_width, _) = button.rectangle().await.unwrap();
    let form = b
        .find(Locator::Css("form[action='/.sekisho/login']"))
        .await
        .unwrap();
    let (_, _, form_width, _) = form.rectangle().await.unwrap();
    assert!(
        (form_width - button_width).abs() < 2.0,
        "full width on a phone: {button_width} of {form_width}"
    );
    b.close().await.unwrap();
}
