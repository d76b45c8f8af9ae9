//! Passkeys in a real browser (S53): Debian's chromium over WebDriver with
//! chromedriver's virtual authenticator (a platform authenticator with
//! user verification), against the gateway over TLS on `localhost`, whose
//! name is the RP ID.
//!
//! One user's story on a tenant with two-step verification on: the first
//! login with password and the app; a passkey registered from the menu
//! (with its notice mail); a sign-in with it (no password, no second
//! step); a password login offered the passkey first as its second step; a
//! cloned authenticator (its counter gone back) refused and audited; the
//! passkey removed, after which signing in with it is refused at once.

use fantoccini::{Client as Browser, Locator};
use sekisho_tests::browser::{
    add_authenticator_credential, add_virtual_authenticator, authenticator_credentials, browser,
    clear_authenticator_credentials, click, path, type_into, wait_for, Driver,
};
use sekisho_tests::two_step::totp_code;
use sekisho_tests::{Env, GatewayOptions, GOOD_PASSWORD};
use std::time::{Duration, Instant};

async fn log_in_with_password(b: &Browser, base: &str, email: &str) {
    b.goto(&format!("{base}/.sekisho/login")).await.unwrap();
    wait_for(b, "#email").await.send_keys(email).await.unwrap();
    type_into(b, "#password", GOOD_PASSWORD).await;
    click(b, "form[action='/.sekisho/login'] button[type=submit]").await;
}

async fn log_out(b: &Browser, base: &str) {
    b.goto(&format!("{base}/.sekisho/logout")).await.unwrap();
    wait_for(b, "form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while path(b).await == "/.sekisho/logout" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the page holds `needle` (the script's form posts take a
/// moment: the authenticator, then the gateway's answer).
async fn wait_text(b: &Browser, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = b.source().await.unwrap();
        if page.contains(needle) {
            return page;
        }
        if Instant::now() > deadline {
            panic!(
                "no {needle:?} on {:?}:\n{page}",
                b.current_url().await.map(|u| u.to_string())
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Takes the key out of the authenticator (its counter as it is now), to
/// put back once a page has loaded.
async fn take_key(b: &Browser, authenticator: &str) -> serde_json::Value {
    let key = authenticator_credentials(b, authenticator).await[0].clone();
    clear_authenticator_credentials(b, authenticator).await;
    key
}

/// The passkey button of the page, once the script has shown it.
async fn press_passkey_button(b: &Browser, form: &str) {
    let css = format!("form[data-passkey={form}]:not([hidden]) [data-passkey-start]");
    wait_for(b, &css).await.click().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s53_a_passkey_registers_signs_in_serves_as_second_step_and_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    let env = Env::start_with(|o: GatewayOptions| {
        let mut o = GatewayOptions {
            tls: Some((cert, key)),
            ..o.two_step().public_host("localhost")
        };
        o.extra.push_str("[audit]\nfile = \"data/audit.jsonl\"\n");
        o
    })
    .await;
    let base = env.gw.base.clone();
    assert!(base.starts_with("https://localhost:"), "{base}");
    let email = "passkey@example.jp";
    let link = env.invite_holder(email);
    let mut http = env.client();
    assert_eq!(http.register(&link, GOOD_PASSWORD).await.status, 200);

    let driver = Driver::start();
    let b = browser(&driver, &dir.path().join("profile")).await;
    let authenticator = add_virtual_authenticator(&b).await;

    // First login: password and the authenticator app (no passkey yet).
    log_in_with_password(&b, &base, email).await;
    let secret = wait_for(&b, "#totp-secret").await.text().await.unwrap();
    assert!(
        b.find(Locator::Css("form[data-passkey=step]"))
            .await
            .is_err(),
        "no passkey to offer yet"
    );
    type_into(
        &b,
        "#code",
        &totp_code(&secret.replace(' ', ""), env.gw.now()),
    )
    .await;
    click(&b, "form[action='/.sekisho/2fa/app'] button[type=submit]").await;
    wait_for(&b, "#recovery-code").await;
    click(&b, "input[name=saved]").await;
    click(&b, "form[action='/.sekisho/2fa/saved'] button[type=submit]").await;
    wait_text(&b, "2段階認証完了").await;

    // The menu offers パスキー; registering one right after signing in.
    b.goto(&format!("{base}/.sekisho/menu")).await.unwrap();
    wait_for(&b, "a[href='/.sekisho/menu/passkeys']")
        .await
        .click()
        .await
        .unwrap();
    wait_text(&b, "登録されているパスキーはありません").await;
    type_into(&b, "#passkey-name", "テスト端末").await;
    press_passkey_button(&b, "register").await;
    let page = wait_text(&b, "パスキーを登録しました").await;
    assert!(page.contains("テスト端末"), "{page}");
    assert!(page.contains("未使用"), "never used yet: {page}");
    env.smtp.wait_for(email, "パスキーの登録変更のお知らせ");
    let held = authenticator_credentials(&b, &authenticator).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["rpId"], "localhost", "the RP ID is the public host");
    assert_eq!(
        held[0]["isResidentCredential"], true,
        "discoverable, for autofill"
    );

    // The authenticator signs at once (no one to touch it), so the login
    // page's autofill (conditional UI) signs in by itself whenever the key
    // is in it: that is the autofill path. For the other paths the key is
    // taken out while a page loads and put back before its button.
    // Autofill: straight back in, no password, no second step.
    log_out(&b, &base).await;
    wait_text(&b, "upstream ok").await;
    assert_eq!(path(&b).await, "/");
    assert_eq!(env.upstream.last().one("x-auth-email"), email);

    // The button, on a page loaded without the key.
    let key = take_key(&b, &authenticator).await;
    log_out(&b, &base).await;
    assert_eq!(
        wait_for(&b, "#email")
            .await
            .attr("autocomplete")
            .await
            .unwrap()
            .as_deref(),
        Some("username webauthn"),
        "the email field offers passkeys as autofill"
    );
    add_authenticator_credential(&b, &authenticator, key.clone()).await;
    press_passkey_button(&b, "login").await;
    wait_text(&b, "upstream ok").await;

    // A password login is offered the passkey first as its second step.
    let key = take_key(&b, &authenticator).await;
    log_out(&b, &base).await;
    log_in_with_password(&b, &base, email).await;
    wait_for(&b, "form[data-passkey=step]:not([hidden])").await;
    let page = b.source().await.unwrap();
    let passkey_at = page.find("data-passkey=\"step\"").unwrap();
    let code_at = page.find("name=\"code\"").unwrap();
    assert!(passkey_at < code_at, "the passkey comes first");
    assert_eq!(path(&b).await, "/.sekisho/2fa");
    add_authenticator_credential(&b, &authenticator, key.clone()).await;
    press_passkey_button(&b, "step").await;
    wait_text(&b, "upstream ok").await;

    // The menu shows when it was last used.
    b.goto(&format!("{base}/.sekisho/menu/passkeys"))
        .await
        .unwrap();
    let page = wait_text(&b, "テスト端末").await;
    assert!(!page.contains("未使用"), "{page}");

    // A clone: the same key, its counter far behind the one the gateway
    // last accepted, is refused and audited.
    let mut genuine = authenticator_credentials(&b, &authenticator).await[0].clone();
    genuine["signCount"] = 1000.into();
    clear_authenticator_credentials(&b, &authenticator).await;
    add_authenticator_credential(&b, &authenticator, genuine).await;
    log_out(&b, &base).await;
    wait_text(&b, "upstream ok").await;
    let mut clone = authenticator_credentials(&b, &authenticator).await[0].clone();
    clone["signCount"] = 0.into();
    clear_authenticator_credentials(&b, &authenticator).await;
    log_out(&b, &base).await;
    add_authenticator_credential(&b, &authenticator, clone).await;
    press_passkey_button(&b, "login").await;
    wait_text(&b, "パスキーでログインできませんでした").await;
    clear_authenticator_credentials(&b, &authenticator).await;
    assert_ne!(path(&b).await, "/", "not signed in");
    let audit = std::fs::read_to_string(env.gw.data_dir().join("data/audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"passkey_clone_refused\""),
        "the clone is audited: {audit}"
    );
    let metrics = env.gw.metrics().await;
    assert!(
        !metrics
            .contains("sekisho_passkey_attempts_total{ceremony=\"login\",outcome=\"cloned\"} 0"),
        "{metrics}"
    );

    // Removed from the menu: refused at once, and a notice is mailed.
    log_in_with_password(&b, &base, email).await;
    wait_for(&b, "form[data-passkey=step]").await;
    let genuine = serde_json::json!({
        "credentialId": key["credentialId"],
        "isResidentCredential": true,
        "rpId": "localhost",
        "privateKey": key["privateKey"],
        "userHandle": key["userHandle"],
        "signCount": 5000,
    });
    add_authenticator_credential(&b, &authenticator, genuine.clone()).await;
    press_passkey_button(&b, "step").await;
    wait_text(&b, "upstream ok").await;
    b.goto(&format!("{base}/.sekisho/menu/passkeys"))
        .await
        .unwrap();
    wait_for(&b, "form[action='/.sekisho/menu/passkeys/remove'] button")
        .await
        .click()
        .await
        .unwrap();
    let page = wait_text(&b, "パスキーを削除しました").await;
    assert!(
        page.contains("登録されているパスキーはありません"),
        "{page}"
    );
    env.smtp.wait_for(email, "パスキーの削除変更のお知らせ");
    // The authenticator still holds the key, with a counter that rises:
    // the gateway no longer knows it.
    log_out(&b, &base).await;
    wait_text(&b, "パスキーでログインできませんでした").await;
    clear_authenticator_credentials(&b, &authenticator).await;
    assert_eq!(path(&b).await, "/.sekisho/passkey/login");
    let audit = std::fs::read_to_string(env.gw.data_dir().join("data/audit.jsonl")).unwrap();
    assert!(audit.contains("unknown credential"), "{audit}");
    b.close().await.unwrap();
}
