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
use sekisho_policy::paths;
use sekisho_tests::browser::{
    add_authenticator_credential, add_virtual_authenticator, authenticator_credentials, browser,
    clear_authenticator_credentials, click, click_when_ready, log_in, log_out, path, type_into,
    wait_for, Driver,
};
use sekisho_tests::two_step::totp_code;
use sekisho_tests::{Env, GatewayOptions, GOOD_PASSWORD};
use std::time::{Duration, Instant};

/// One browser story at a time: on two cores, Chromiums running side by
/// side starve each other's pages (and the virtual authenticator) into
/// timeouts.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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

/// Waits for the gateway's refusal of a passkey sign-in: the answer to the
/// form's POST. (The login page itself carries the same words in its
/// hidden script error, so the text alone proves nothing.)
async fn wait_refused(b: &Browser) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while path(b).await != paths::PASSKEY_LOGIN {
        if Instant::now() > deadline {
            panic!(
                "no refusal page: {:?}",
                b.current_url().await.map(|u| u.to_string())
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_text(b, "パスキーでログインできませんでした").await;
    // The refused key is not offered again by itself: autofill waits for
    // the user here (an authenticator that answers at once would loop).
    wait_for(b, "form[data-passkey=login][data-passkey-autofill=off]").await;
}

/// The audit file once it holds `needle`: events reach the sink through a
/// queue, so the page can answer before its line is written (bounded).
async fn audit_with(env: &Env, needle: &str) -> String {
    let file = env.gw.data_dir().join("data/audit.jsonl");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let audit = std::fs::read_to_string(&file).unwrap_or_default();
        if audit.contains(needle) || Instant::now() > deadline {
            return audit;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Takes the key out of the authenticator (its counter as it is now), to
/// put back once a page has loaded.
async fn take_key(b: &Browser, authenticator: &str) -> serde_json::Value {
    let key = authenticator_credentials(b, authenticator).await[0].clone();
    clear_authenticator_credentials(b, authenticator).await;
    key
}

/// Waits until the login page's autofill request is pending. Chromium's
/// virtual authenticator answers an autofill request by itself when it
/// holds a key as the request starts, so a key meant for the button is put
/// back only once the page's request is already waiting without one.
async fn wait_autofill_pending(b: &Browser) {
    wait_for(b, "form[data-passkey=login][data-passkey-autofill=waiting]").await;
}

/// The passkey button of the page, once the script has shown it.
async fn press_passkey_button(b: &Browser, form: &str) {
    let css = format!("form[data-passkey={form}]:not([hidden]) [data-passkey-start]");
    click_when_ready(b, &css).await;
}

/// The browser stories' site: the gateway over TLS on `localhost` with
/// two-step on and its audit file, `email` registered as a tenant's
/// holder, and Chromium with a virtual authenticator (its id returned).
async fn a_site_and_a_browser(
    dir: &std::path::Path,
    email: &str,
) -> (Env, Driver, Browser, String) {
    let (cert, key) = sekisho_tests::test_certificate(dir);
    let env = Env::start_with(|o: GatewayOptions| {
        let mut o = GatewayOptions {
            tls: Some((cert, key)),
            ..o.two_step().public_host("localhost")
        };
        o.extra.push_str("[audit]\nfile = \"data/audit.jsonl\"\n");
        o
    })
    .await;
    let link = env.invite_holder(email);
    assert_eq!(
        env.client().register(&link, GOOD_PASSWORD).await.status,
        200
    );
    let driver = Driver::start();
    let b = browser(&driver, &dir.join("profile")).await;
    let authenticator = add_virtual_authenticator(&b).await;
    (env, driver, b, authenticator)
}

/// The first login on a tenant with two-step on: password, then the
/// authenticator app set up (no passkey yet). Returns the app's key.
async fn first_login_with_the_app(b: &Browser, env: &Env, email: &str) -> String {
    log_in(b, &env.gw.base, email).await;
    let secret = wait_for(b, "#totp-secret").await.text().await.unwrap();
    assert!(
        b.find(Locator::Css("form[data-passkey=step]"))
            .await
            .is_err(),
        "no passkey to offer yet"
    );
    let secret = secret.replace(' ', "");
    type_into(b, "#code", &totp_code(&secret, env.gw.now())).await;
    click(b, "form[action='/.sekisho/2fa/app'] button[type=submit]").await;
    wait_for(b, "#recovery-code").await;
    click(b, "input[name=saved]").await;
    click(b, "form[action='/.sekisho/2fa/saved'] button[type=submit]").await;
    wait_text(b, "2段階認証完了").await;
    secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s53_a_passkey_registers_signs_in_serves_as_second_step_and_is_removed() {
    let _one = ONE_BROWSER.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let email = "passkey@example.jp";
    let (env, _driver, b, authenticator) = a_site_and_a_browser(dir.path(), email).await;
    let base = env.gw.base.clone();
    assert!(base.starts_with("https://localhost:"), "{base}");

    first_login_with_the_app(&b, &env, email).await;

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
    wait_autofill_pending(&b).await;
    add_authenticator_credential(&b, &authenticator, key.clone()).await;
    press_passkey_button(&b, "login").await;
    wait_text(&b, "upstream ok").await;

    // A password login is offered the passkey first as its second step.
    let key = take_key(&b, &authenticator).await;
    log_out(&b, &base).await;
    log_in(&b, &base, email).await;
    wait_for(&b, "form[data-passkey=step]:not([hidden])").await;
    let page = b.source().await.unwrap();
    let passkey_at = page.find("data-passkey=\"step\"").unwrap();
    let code_at = page.find("name=\"code\"").unwrap();
    assert!(passkey_at < code_at, "the passkey comes first");
    // The other way's sentences sit under または, not above the passkey
    // (issue 32, 3).
    let or_at = page.find("data-passkey-or").unwrap();
    let app_sentence = page
        .find("Authenticatorに表示されている")
        .expect("the app's sentence");
    assert!(
        app_sentence > or_at,
        "the app's sentence comes after または: {page}"
    );
    assert_eq!(path(&b).await, paths::TWO_STEP);
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
    wait_autofill_pending(&b).await;
    add_authenticator_credential(&b, &authenticator, clone).await;
    press_passkey_button(&b, "login").await;
    wait_refused(&b).await;
    clear_authenticator_credentials(&b, &authenticator).await;
    assert_ne!(path(&b).await, "/", "not signed in");
    let audit = audit_with(&env, "\"passkey_clone_refused\"").await;
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
    log_in(&b, &base, email).await;
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
    wait_refused(&b).await;
    clear_authenticator_credentials(&b, &authenticator).await;
    assert_eq!(path(&b).await, paths::PASSKEY_LOGIN);
    let audit = audit_with(&env, "unknown credential").await;
    assert!(audit.contains("unknown credential"), "{audit}");
    // Nothing the authenticator sent raised an error line (S52).
    let errors: Vec<String> = env
        .gw
        .logs()
        .lines()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .map(str::to_string)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    b.close().await.unwrap();
}

/// The holder's パスキー設定, in a browser: required through the
/// confirmation page; a user without a passkey passes the tenant's second
/// step and registers one before the session starts; the next password
/// login is asked for the passkey only, and the app's code no longer
/// passes it; a passkey login passes as ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s53_a_tenant_requiring_passkeys_enrols_its_users_then_asks_for_a_passkey() {
    let _one = ONE_BROWSER.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let email = "required@example.jp";
    let (mut env, _driver, b, authenticator) = a_site_and_a_browser(dir.path(), email).await;
    let base = env.gw.base.clone();
    let secret = first_login_with_the_app(&b, &env, email).await;

    // The holder requires passkeys: the menu's setting, then the
    // confirmation, whose box must be ticked.
    b.goto(&format!("{base}/.sekisho/menu")).await.unwrap();
    wait_for(&b, "a[href='/.sekisho/menu/passkey-policy']")
        .await
        .click()
        .await
        .unwrap();
    let page = wait_text(&b, "パスキー設定").await;
    assert!(page.contains("任意"), "optional at first: {page}");
    click(&b, "input[name=enabled][value=on]").await;
    click(
        &b,
        "form[action='/.sekisho/menu/passkey-policy'] button[type=submit]",
    )
    .await;
    wait_text(&b, "設定確認").await;
    click(
        &b,
        "form[action='/.sekisho/menu/passkey-policy/confirm'] button[type=submit]",
    )
    .await;
    wait_text(&b, "チェックしてください").await;
    click(&b, "input[name=understood]").await;
    click(
        &b,
        "form[action='/.sekisho/menu/passkey-policy/confirm'] button[type=submit]",
    )
    .await;
    wait_text(&b, "パスキー設定を変更しました").await;

    // The next password login: the app's code first (the tenant's second
    // step), then a passkey to register before any session.
    log_out(&b, &base).await;
    log_in(&b, &base, email).await;
    wait_for(&b, "#code").await;
    let step = totp_code(&secret, env.gw.now() + 30);
    env.gw.advance_clock(30);
    type_into(&b, "#code", &step).await;
    click(&b, "form[action='/.sekisho/2fa/app'] button[type=submit]").await;
    let page = wait_text(&b, "パスキーの登録").await;
    assert!(page.contains("ログインを完了するには"), "{page}");
    assert_eq!(path(&b).await, paths::TWO_STEP);
    let cookies = b.get_all_cookies().await.unwrap();
    assert!(
        !cookies.iter().any(|c| c.name() == "__Host-sekisho"),
        "no session before the passkey: {cookies:?}"
    );
    type_into(&b, "#passkey-name", "必須の端末").await;
    press_passkey_button(&b, "register").await;
    wait_text(&b, "パスキー登録完了").await;
    env.smtp.wait_for(email, "パスキーの登録変更のお知らせ");
    click(&b, "p.ways a.button").await;
    wait_text(&b, "upstream ok").await;

    // A password login now asks for the passkey only: no code form, and a
    // code posted all the same does not pass.
    let key = take_key(&b, &authenticator).await;
    log_out(&b, &base).await;
    log_in(&b, &base, email).await;
    let page = wait_text(&b, "パスキーでの本人確認が必須です").await;
    assert!(!page.contains("name=\"code\""), "{page}");
    assert!(
        page.contains(paths::TWO_STEP_RECOVERY),
        "the recovery code stays"
    );
    let code = totp_code(&secret, env.gw.now() + 60);
    env.gw.advance_clock(60);
    b.execute(
        "var f = document.createElement('form'); f.method = 'post'; \
         f.action = '/.sekisho/2fa/app'; \
         [['csrf', document.querySelector('input[name=csrf]').value], ['code', arguments[0]]] \
           .forEach(function (p) { var i = document.createElement('input'); \
             i.name = p[0]; i.value = p[1]; f.appendChild(i); }); \
         document.body.dataset.before = 'post'; \
         document.body.appendChild(f); f.submit();",
        vec![code.into()],
    )
    .await
    .unwrap();
    // The answer is a new page (without the old page's mark).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let old = b
            .execute(
                "return document.body && document.body.dataset.before || null;",
                vec![],
            )
            .await
            .unwrap_or_default();
        if old.is_null() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the code's POST was not answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_text(&b, "パスキーでの本人確認が必須です").await;
    assert_eq!(path(&b).await, paths::TWO_STEP, "the code did not sign in");
    add_authenticator_credential(&b, &authenticator, key).await;
    press_passkey_button(&b, "step").await;
    wait_text(&b, "upstream ok").await;

    // A passkey login meets the requirement by itself.
    log_out(&b, &base).await;
    wait_text(&b, "upstream ok").await;
    assert_eq!(env.upstream.last().one("x-auth-email"), email);
    let audit = audit_with(&env, "passkey registered").await;
    assert!(audit.contains("\"passkey_policy_changed\""), "{audit}");
    assert!(audit.contains("at login (required)"), "{audit}");
    assert!(audit.contains("passkey registered"), "{audit}");
    b.close().await.unwrap();
}

/// A gateway on `localhost` (plain HTTP: `localhost` is a secure context)
/// with its audit file.
async fn on_localhost() -> Env {
    Env::start_with(|mut o: GatewayOptions| {
        o.extra.push_str("[audit]\nfile = \"data/audit.jsonl\"\n");
        o.public_host("localhost")
    })
    .await
}

fn audit_of(env: &Env) -> String {
    // Events reach the sink through a queue: a moment's wait.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::read_to_string(env.gw.data_dir().join("data/audit.jsonl")).unwrap_or_default()
}

async fn post(c: &mut sekisho_tests::Client, form: Vec<(String, String)>) -> sekisho_tests::Resp {
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    c.post(paths::PASSKEY_LOGIN, &refs).await
}

/// A registration challenge as the gateway answers it: for this site's RP
/// ID, a discoverable credential and user verification, both required.
fn registration_options(r: &sekisho_tests::Resp) -> serde_json::Value {
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let pk = &v["options"]["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    v
}

/// A login-page challenge for `c`: its id and the options.
async fn login_challenge(c: &mut sekisho_tests::Client) -> (String, serde_json::Value, String) {
    let page = c.get(paths::LOGIN).await;
    let csrf = page.csrf();
    let r = c
        .post(paths::PASSKEY_LOGIN_OPTIONS, &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    (
        v["challenge"].as_str().unwrap().to_string(),
        v["options"].clone(),
        csrf,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s53_challenges_are_single_use_short_lived_and_bound_to_their_browser() {
    let mut env = on_localhost().await;
    let mut c = env.client();
    let (id, options, csrf) = login_challenge(&mut c).await;
    let pk = &options["publicKey"];
    assert_eq!(pk["rpId"], "localhost", "the RP ID is the public host");
    assert_eq!(pk["userVerification"], "required");
    assert_eq!(options["mediation"], "conditional", "autofill");
    // An answer that is no credential is refused on the login page, and
    // its challenge is gone with it.
    let answer = |challenge: &str, csrf: &str| {
        vec![
            ("csrf".to_string(), csrf.to_string()),
            ("challenge".to_string(), challenge.to_string()),
            ("credential".to_string(), "{\"id\":\"x\"}".to_string()),
            ("next".to_string(), "/".to_string()),
        ]
    };
    let r = post(&mut c, answer(&id, &csrf)).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("パスキーでログインできませんでした"),
        "{}",
        r.body
    );
    assert!(r
        .header("set-cookie")
        .is_none_or(|s| !s.contains("sekisho_session")));
    let r = post(&mut c, answer(&id, &csrf)).await;
    assert!(r.body.contains("パスキーでログインできませんでした"));
    let audit = audit_of(&env);
    assert!(audit.contains("malformed credential"), "{audit}");
    assert!(
        audit.contains("challenge used or expired"),
        "used once: {audit}"
    );

    // Another browser cannot answer this browser's challenge.
    let (id, _, _) = login_challenge(&mut c).await;
    let mut other = env.client();
    let other_csrf = other.get(paths::LOGIN).await.csrf();
    let r = post(&mut other, answer(&id, &other_csrf)).await;
    assert!(r.body.contains("パスキーでログインできませんでした"));

    // A challenge lives for passkeys.challenge_seconds (300).
    let (id, _, csrf) = login_challenge(&mut c).await;
    env.gw.advance_clock(301);
    let r = post(&mut c, answer(&id, &csrf)).await;
    assert!(r.body.contains("パスキーでログインできませんでした"));
    let audit = audit_of(&env);
    assert!(
        audit.matches("challenge used or expired").count() >= 3,
        "another browser's and the expired one: {audit}"
    );

    // A challenge is asked with the page's CSRF token only.
    let r = c
        .post(paths::PASSKEY_LOGIN_OPTIONS, &[("csrf", "forged")])
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s53_registration_asks_for_a_fresh_sign_in_and_a_discoverable_verified_key() {
    let mut env = on_localhost().await;
    let mut holder = env.logged_in_holder("fresh@example.jp").await;
    let page = holder.get(paths::MENU).await;
    assert!(page.body.contains(paths::MENU_PASSKEYS), "{}", page.body);
    let page = holder.get(paths::MENU_PASSKEYS).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-passkey=\"register\""));
    // Without the script, the page says what registering needs.
    assert!(page.body.contains("JavaScriptが有効で"), "{}", page.body);
    let csrf = page.csrf();
    let r = holder
        .post(paths::MENU_PASSKEYS_OPTIONS, &[("csrf", &csrf)])
        .await;
    let v = registration_options(&r);
    let pk = &v["options"]["publicKey"];
    assert!(
        !pk["user"]["id"].as_str().unwrap().is_empty(),
        "a user handle"
    );
    assert!(
        !r.body.contains("fresh@example.jp\",\"id")
            && !pk["user"]["id"].as_str().unwrap().contains("u-"),
        "the user handle names no stored id"
    );

    // Ten minutes after signing in, registering asks to sign in again.
    env.gw.advance_clock(601);
    let page = holder.get(paths::MENU_PASSKEYS).await;
    assert!(page
        .body
        .contains("パスキーを登録するには、もう一度ログインしてください"));
    assert!(!page.body.contains("data-passkey=\"register\""));
    let r = holder
        .post(paths::MENU_PASSKEYS_OPTIONS, &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("sign_in_again"));
    let r = holder
        .post(
            paths::MENU_PASSKEYS_ADD,
            &[("csrf", &csrf), ("challenge", "x"), ("credential", "{}")],
        )
        .await;
    assert_eq!(r.status, 403);
    // Removing what is not theirs finds nothing.
    let r = holder
        .post(
            paths::MENU_PASSKEYS_REMOVE,
            &[("csrf", &csrf), ("passkey", "someone-elses")],
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s53_passkeys_are_off_where_the_public_url_is_an_address() {
    let env = Env::start().await;
    let mut c = env.client();
    let page = c.get(paths::LOGIN).await;
    assert!(
        !page.body.contains("data-passkey=\"login\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("autocomplete=\"username\""));
    let r = c
        .post(paths::PASSKEY_LOGIN_OPTIONS, &[("csrf", &page.csrf())])
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s53_the_same_key_signed_for_another_origin_and_rp_id_is_refused() {
    let _one = ONE_BROWSER.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    let env = Env::start_with(|mut o: GatewayOptions| {
        o.extra.push_str("[audit]\nfile = \"data/audit.jsonl\"\n");
        GatewayOptions {
            tls: Some((cert, key)),
            ..o.public_host("localhost")
        }
    })
    .await;
    let base = env.gw.base.clone();
    let email = "phished@example.jp";
    let link = env.invite_holder(email);
    let mut http = env.client();
    assert_eq!(http.register(&link, GOOD_PASSWORD).await.status, 200);
    let driver = Driver::start();
    let b = browser(&driver, &dir.path().join("profile")).await;
    let authenticator = add_virtual_authenticator(&b).await;
    // Registered on the real site, right after signing in.
    log_in(&b, &base, email).await;
    wait_text(&b, "upstream ok").await;
    b.goto(&format!("{base}/.sekisho/menu/passkeys"))
        .await
        .unwrap();
    press_passkey_button(&b, "register").await;
    wait_text(&b, "パスキーを登録しました").await;
    let genuine = take_key(&b, &authenticator).await;

    // The same key material and credential id, now for a look-alike site
    // (other.localhost), which relays the real site's challenge.
    let mut c = env.client();
    let (id, options, csrf) = login_challenge(&mut c).await;
    let mut phished = genuine.clone();
    phished["rpId"] = "other.localhost".into();
    phished["signCount"] = 10_000.into();
    add_authenticator_credential(&b, &authenticator, phished).await;
    let port = base.rsplit(':').next().unwrap();
    b.goto(&format!("https://other.localhost:{port}/.sekisho/healthz"))
        .await
        .unwrap();
    let signed = b
        .execute_async(
            r#"
            const [challenge, credentialId, done] = arguments;
            const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
            const text = (b) => b ? btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") : null;
            navigator.credentials.get({ publicKey: {
                challenge: bytes(challenge), rpId: "other.localhost", userVerification: "required",
                allowCredentials: [{ type: "public-key", id: bytes(credentialId) }] } })
              .then((c) => done(JSON.stringify({ id: c.id, rawId: text(c.rawId), type: c.type, extensions: {},
                 response: { authenticatorData: text(c.response.authenticatorData), clientDataJSON: text(c.response.clientDataJSON),
                             signature: text(c.response.signature), userHandle: text(c.response.userHandle) } })))
              .catch((e) => done("error: " + e));
            "#,
            vec![
                options["publicKey"]["challenge"].clone(),
                genuine["credentialId"].clone(),
            ],
        )
        .await
        .unwrap();
    let signed = signed.as_str().unwrap().to_string();
    assert!(!signed.starts_with("error"), "{signed}");
    let r = c
        .post(
            paths::PASSKEY_LOGIN,
            &[
                ("csrf", &csrf),
                ("challenge", &id),
                ("credential", &signed),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("パスキーでログインできませんでした"),
        "{}",
        r.body
    );
    let audit = audit_of(&env);
    assert!(
        audit.contains("signature, origin or user verification"),
        "the look-alike's signature is refused: {audit}"
    );
    b.close().await.unwrap();
}

/// The tenant id of the only tenant, from `sekisho admin tenants`.
fn only_tenant(env: &Env) -> String {
    let out = env.gw.admin(&["tenants"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("a tenant in {text}"))
        .to_string()
}

/// The holder's setting over HTTP, on a tenant with two-step off: only the
/// holder reaches it, the confirmation's box is required, and then a
/// password login holds no session until a passkey is registered (the
/// ceremony's options are the menu's), while the login can still be left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s53_the_requirement_holds_a_password_login_until_a_passkey_is_registered() {
    let env = on_localhost().await;
    let holder_email = "holder@example.jp";
    let mut holder = env.logged_in_holder(holder_email).await;
    let user_email = "staff@example.jp";
    let mut staff = env
        .invited_user(&mut holder, "スタッフ", user_email, "user")
        .await;
    // Only the holder: the menu's matrix.
    assert_eq!(staff.get(paths::MENU_PASSKEY_POLICY).await.status, 403);
    let menu = holder.get(paths::MENU).await;
    assert!(
        menu.body.contains(paths::MENU_PASSKEY_POLICY),
        "{}",
        menu.body
    );
    let page = holder.get(paths::MENU_PASSKEY_POLICY).await;
    assert_eq!(page.status, 200);
    let csrf = page.csrf();
    let r = holder
        .post(
            paths::MENU_PASSKEY_POLICY,
            &[("csrf", &csrf), ("enabled", "sometimes")],
        )
        .await;
    assert_eq!(r.status, 400, "a choice that is none");
    let r = holder
        .post(
            paths::MENU_PASSKEY_POLICY,
            &[("csrf", &csrf), ("enabled", "on")],
        )
        .await;
    assert!(r.body.contains("設定確認"), "{}", r.body);
    let r = holder
        .post(
            paths::MENU_PASSKEY_POLICY_CONFIRM,
            &[("csrf", &csrf), ("enabled", "on")],
        )
        .await;
    assert!(r.body.contains("チェックしてください"), "{}", r.body);
    let out = String::from_utf8_lossy(&env.gw.admin(&["tenants"]).stdout).to_string();
    assert!(out.contains("optional"), "not yet: {out}");
    let r = holder
        .post(
            paths::MENU_PASSKEY_POLICY_CONFIRM,
            &[("csrf", &csrf), ("enabled", "on"), ("understood", "yes")],
        )
        .await;
    assert!(r.body.contains("パスキー設定を変更しました"), "{}", r.body);
    let out = String::from_utf8_lossy(&env.gw.admin(&["tenants"]).stdout).to_string();
    assert!(out.contains("required"), "{out}");

    // The staff member's next password login: no second step is owed (it
    // is off), so a passkey is registered before any session.
    let mut c = env.client();
    let r = c.login(user_email, GOOD_PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), paths::TWO_STEP);
    assert!(r
        .header("set-cookie")
        .is_none_or(|s| !s.contains("sekisho=")));
    let page = c.get(paths::TWO_STEP).await;
    assert!(page.body.contains("パスキーの登録"), "{}", page.body);
    assert!(page
        .body
        .contains("data-options=\"/.sekisho/2fa/passkey/enrol/options\""));
    assert!(
        page.body.contains("data-passkey-missing"),
        "a browser without WebAuthn is told what it lacks"
    );
    assert_eq!(c.get("/").await.status, 401, "no session yet");
    let csrf = page.csrf();
    let r = c
        .post(paths::PASSKEY_ENROL_OPTIONS, &[("csrf", &csrf)])
        .await;
    let v = registration_options(&r);
    assert_eq!(v["options"]["publicKey"]["user"]["name"], user_email);
    // Something that is no credential: refused, the page again, no session.
    let challenge = v["challenge"].as_str().unwrap().to_string();
    let r = c
        .post(
            paths::PASSKEY_ENROL,
            &[
                ("csrf", &csrf),
                ("challenge", &challenge),
                ("credential", "{\"id\":\"x\"}"),
                ("name", ""),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("パスキーを登録できませんでした"),
        "{}",
        r.body
    );
    assert_eq!(c.get("/").await.status, 401, "still no session");
    // Codes of the ordinary second step are not taken in its place.
    let r = c
        .post(paths::TWO_STEP_APP, &[("csrf", &csrf), ("code", "123456")])
        .await;
    assert_eq!(r.location(), paths::TWO_STEP);
    // And the login can always be left.
    let r = c.post(paths::TWO_STEP_CANCEL, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with(paths::LOGIN), "{}", r.location());
    let audit = audit_of(&env);
    assert!(audit.contains("passkey enrolment"), "{audit}");
    assert!(audit.contains("\"passkey_policy_changed\""), "{audit}");

    // A session begun before the requirement goes on.
    assert_eq!(staff.get("/").await.status, 200);
}

/// Where this gateway offers no passkeys (an address for its public URL),
/// a tenant's requirement cannot lock anyone out: the setting is not
/// offered, and logins take the ordinary path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s53_the_requirement_falls_back_where_passkeys_are_off() {
    let env = Env::start().await;
    let email = "holder@example.jp";
    let mut holder = env.logged_in_holder(email).await;
    let tenant = only_tenant(&env);
    let out = env
        .gw
        .admin(&["set-passkey-requirement", &tenant, "required"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("passkeys required"));
    let bad = env.gw.admin(&["set-passkey-requirement", &tenant, "maybe"]);
    assert_eq!(bad.status.code(), Some(2), "clap's usage error");
    let bad = env
        .gw
        .admin(&["set-passkey-requirement", "no-such-tenant", "required"]);
    assert!(!bad.status.success());
    assert!(!holder
        .get(paths::MENU)
        .await
        .body
        .contains("passkey-policy"));
    assert_eq!(holder.get(paths::MENU_PASSKEY_POLICY).await.status, 404);
    let mut c = env.client();
    let r = c.login(email, GOOD_PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/", "signed in as without the requirement");
}

/// A holder made by `create-tenant` without `--holder-name` has the
/// address for a name, and can register a passkey (webauthn-rs refuses an
/// empty display name: such holders could never register one before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s53_a_holder_made_without_a_name_registers_a_passkey() {
    let env = on_localhost().await;
    let email = "noname@example.jp";
    let out = env.gw.admin(&[
        "create-tenant",
        "--plan",
        "basic",
        "--holder-email",
        email,
        "--two-step",
        "off",
    ]);
    assert!(out.status.success());
    let link = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("registration link:")
                .map(|s| s.trim().to_string())
        })
        .expect("a registration link");
    let mut holder = env.client();
    assert_eq!(holder.register(&link, GOOD_PASSWORD).await.status, 200);
    assert_eq!(holder.login(email, GOOD_PASSWORD).await.status, 303);
    let csrf = holder.get(paths::MENU_PASSKEYS).await.csrf();
    let r = holder
        .post(paths::MENU_PASSKEYS_OPTIONS, &[("csrf", &csrf)])
        .await;
    let v = registration_options(&r);
    assert_eq!(v["options"]["publicKey"]["user"]["displayName"], email);
}
