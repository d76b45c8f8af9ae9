//! Attack drills that every store backend must pass alike: each test file
//! of a backend calls them on its own gateway.

use crate::Env;
use sekisho_policy::paths;

/// S57: identifiers no one can have (a NUL or another control character,
/// or longer than an address may be) get a clear answer at login and at
/// 「パスワードをお忘れの方」, and never reach the store: the store-error
/// metric stays at zero.
pub async fn s57_identifiers_no_one_can_have_stop_before_the_store(env: &Env) {
    let mut c = env.client();
    let too_long = format!("{}@example.jp", "a".repeat(300));
    for email in ["ta\u{0}ro@example.jp", "taro\u{7}@example.jp", &too_long] {
        let r = c.login(email, "Some-Password-1").await;
        assert_eq!(r.status, 200, "{email:?}");
        assert!(
            r.body
                .contains("メールアドレスまたはパスワードが正しくありません。"),
            "{email:?}"
        );
        let csrf = c.get(paths::FORGOT).await.csrf();
        let r = c
            .post(paths::FORGOT, &[("csrf", &csrf), ("email", email)])
            .await;
        assert_eq!(r.status, 422, "{email:?}");
        assert!(r.body.contains("メールアドレスの形式が正しくありません。"));
    }
    let metrics = env.gw.metrics().await;
    let faults: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("sekisho_store_errors_total{") && !l.ends_with(" 0"))
        .collect();
    assert!(faults.is_empty(), "counted as store faults: {faults:?}");
}

const NEW_BROWSER_SUBJECT: &str = "新しいブラウザからのログインのお知らせ";
const BREACHED_PROBLEM: &str = "このパスワードは過去に他のサービスから流出したパスワードの一覧に含まれているため使用できません。";

/// Posts a new password on a mailed reset link's page.
async fn reset_to(c: &mut crate::Client, link: &str, password: &str) -> crate::Resp {
    let page = c.get(link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let ticket = link.split("ticket=").nth(1).unwrap();
    let csrf = page.csrf();
    c.post(
        paths::RESET,
        &[
            ("csrf", &csrf),
            ("ticket", ticket),
            ("password", password),
            ("password_confirm", password),
        ],
    )
    .await
}

/// Presses アカウントをロックする on the not-me `page` of `ticket`.
async fn confirm_not_me(c: &mut crate::Client, page: &crate::Resp, ticket: &str) -> crate::Resp {
    let csrf = page.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("ticket", ticket),
        ("confirmed", "yes"),
    ];
    c.post(paths::NOT_ME, &form).await
}

/// Mails to `to` whose subject has `subject`.
fn mails_to(env: &Env, to: &str, subject: &str) -> Vec<crate::Mail> {
    env.smtp
        .mails()
        .into_iter()
        .filter(|m| m.rcpt_tos.iter().any(|r| r == to) && m.subject.contains(subject))
        .collect()
}

/// S63: a sign-in from a browser the account has not used mails the user
/// (not the registration's first, not a known browser); opening the
/// mail's link changes nothing; its button locks the account down: every
/// session ends, pending links are void, the right password is refused
/// (the unlock mail cannot lift it), the holder is told, the audit log
/// keeps it, and the link works once. A new password lifts it.
pub async fn s63_a_new_browser_is_mailed_and_not_me_locks_the_account_down(env: &Env) {
    let holder_email = "holder63@example.jp";
    let email = "staff63@example.jp";
    let mut holder = env.logged_in_holder(holder_email).await;
    let mut first = env.invited_user(&mut holder, "Staff", email, "user").await;
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        mails_to(env, email, NEW_BROWSER_SUBJECT).is_empty(),
        "the account's first browser is no news"
    );
    // The same browser again: still no news.
    assert_eq!(first.login(email, crate::GOOD_PASSWORD).await.status, 303);
    let mut second = env.client();
    assert_eq!(second.login(email, crate::GOOD_PASSWORD).await.status, 303);
    let mail = env.smtp.wait_for(email, NEW_BROWSER_SUBJECT);
    for said in [
        "127.0.0.1",
        "インターネット",
        "パスワード",
        "---- English ----",
    ] {
        assert!(mail.body.contains(said), "{said}: {}", mail.body);
    }
    assert!(!mail.body.contains(crate::GOOD_PASSWORD));
    let link = mail
        .link("/.sekisho/not-me?ticket=")
        .expect("the not-me link");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(mails_to(env, email, NEW_BROWSER_SUBJECT).len(), 1);

    // A reset link asked for before: the lockdown voids it.
    let csrf = second.get(paths::LOGIN).await.csrf();
    second
        .post(paths::FORGOT, &[("csrf", &csrf), ("email", email)])
        .await;
    let old_reset = env
        .smtp
        .wait_for(email, "パスワードリセット")
        .link("/.sekisho/reset?ticket=")
        .unwrap();

    // A mail scanner fetches the link: nothing happens.
    let mut scanner = env.client();
    let page = scanner.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("アカウントをロックする"));
    assert_eq!(first.get("/files/s63").await.status, 200);

    // The user presses the button.
    let mut reporter = env.client();
    let page = reporter.get(&link).await;
    let ticket = link.split("ticket=").nth(1).unwrap();
    let r = confirm_not_me(&mut reporter, &page, ticket).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("アカウントをロックしました"), "{}", r.body);
    for c in [&mut first, &mut second] {
        assert_ne!(c.get("/files/s63").await.status, 200, "every session ended");
    }
    assert_eq!(
        reporter.get(&old_reset).await.status,
        400,
        "pending links are void"
    );
    let r = env.client().login(email, crate::GOOD_PASSWORD).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("「心当たりがない場合」の操作によりロック"),
        "{}",
        r.body
    );
    let again = confirm_not_me(&mut reporter, &page, ticket).await;
    assert_eq!(again.status, 400, "the link works once");

    let told = env
        .smtp
        .wait_for(holder_email, "利用者がアカウントをロックしました");
    assert!(told.body.contains(email));
    let locked = env.smtp.wait_for(email, "アカウントをロックしました");
    let reset = locked
        .link("/.sekisho/reset?ticket=")
        .expect("the reset link");
    let events = holder.get(paths::CONSOLE_EVENTS).await;
    assert!(
        events
            .body
            .contains("心当たりのないログインの報告によりロック"),
        "{}",
        events.body
    );

    // A new password lifts the lockdown.
    let mut back = env.client();
    let r = reset_to(&mut back, &reset, "Momiji-Leaves-77").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(back.login(email, "Momiji-Leaves-77").await.status, 303);
}

/// S64: with the operator's breach list loaded, a listed password is
/// refused at registration, password change and reset, with its own
/// message. When a newer list (imported, then reloaded) holds a password
/// already in use, its login is let in and asked to change it, and the
/// menu says so until it is changed.
pub async fn s64_listed_passwords_are_refused_and_a_listed_login_is_asked_to_change(
    env: &mut Env,
    dir: &std::path::Path,
) {
    use crate::breached::{filter_of, LISTED_PASSWORD};
    let holder_email = "holder64@example.jp";
    let email = "staff64@example.jp";
    let mut holder = env.logged_in_holder(holder_email).await;

    // Registration.
    let link = env.invite(&mut holder, "Staff", email, "user").await;
    let mut c = env.client();
    let page = c.get(&link).await;
    let ticket = link.split("ticket=").nth(1).unwrap();
    let r = c
        .post(
            paths::REGISTER,
            &[
                ("csrf", &page.csrf()),
                ("ticket", ticket),
                ("step", "check"),
                ("password", LISTED_PASSWORD),
                ("password_confirm", LISTED_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains(BREACHED_PROBLEM), "{}", r.body);
    assert_eq!(c.register(&link, crate::GOOD_PASSWORD).await.status, 200);
    assert_eq!(c.login(email, crate::GOOD_PASSWORD).await.status, 303);

    // Password change.
    let page = c.get(paths::MENU_PASSWORD).await;
    let r = c
        .post(
            paths::MENU_PASSWORD,
            &[
                ("csrf", &page.csrf()),
                ("current_password", crate::GOOD_PASSWORD),
                ("password", LISTED_PASSWORD),
                ("password_confirm", LISTED_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains(BREACHED_PROBLEM));

    // Reset.
    let csrf = c.get(paths::LOGIN).await.csrf();
    c.post(paths::FORGOT, &[("csrf", &csrf), ("email", email)])
        .await;
    let reset = env
        .smtp
        .wait_for(email, "パスワードリセット")
        .link("/.sekisho/reset?ticket=")
        .unwrap();
    let r = reset_to(&mut env.client(), &reset, LISTED_PASSWORD).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains(BREACHED_PROBLEM));

    // A newer list holds the password in use; the gateways reload.
    filter_of(dir, &[LISTED_PASSWORD, crate::GOOD_PASSWORD]);
    env.gw.reload_with_hangup();
    let mut listed = env.client();
    let r = listed
        .login_to(email, crate::GOOD_PASSWORD, "/files/after")
        .await;
    assert_eq!(r.status, 200, "let in, and asked first: {}", r.body);
    assert!(
        r.body.contains("パスワードの変更をお願いします"),
        "{}",
        r.body
    );
    assert!(r.body.contains(paths::MENU_PASSWORD) && r.body.contains("/files/after"));
    assert_eq!(listed.get("/files/after").await.status, 200, "signed in");
    let menu = listed.get(paths::MENU).await;
    assert!(menu.body.contains("パスワードの変更をお願いします"));
    let page = listed.get(paths::MENU_PASSWORD).await;
    let r = listed
        .post(
            paths::MENU_PASSWORD,
            &[
                ("csrf", &page.csrf()),
                ("current_password", crate::GOOD_PASSWORD),
                ("password", "Momiji-Leaves-77"),
                ("password_confirm", "Momiji-Leaves-77"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let menu = listed.get(paths::MENU).await;
    assert!(!menu.body.contains("パスワードの変更をお願いします"));
    let events = holder.get(paths::CONSOLE_EVENTS).await;
    assert!(
        events.body.contains("流出したパスワードでログイン"),
        "{}",
        events.body
    );
}

/// S62: a browser with DBSC binds its session at sign-in; from then on the
/// session cookie alone opens nothing once the bound cookie it came with
/// has expired, and only the key renews that cookie. Registration and
/// refresh challenges are used once and expire; a refresh signed by
/// another key is refused; parallel refreshes of one challenge end with
/// both browsers' requests answered; requests sent before the first bound
/// cookie pass (#248). The holder can require binding of administrators,
/// whose browsers without DBSC are then refused after the registration
/// window (#223); users are not affected, nor browsers without DBSC.
pub async fn s62_a_stolen_session_cookie_opens_nothing_without_its_key(env: &mut Env) {
    use crate::dbsc::{challenge, registration, SoftDbsc};
    let holder_email = "holder62@example.jp";
    let mut holder = env.logged_in_holder(holder_email).await;
    let email = "admin62@example.jp";
    let mut plain = env.invited_user(&mut holder, "Admin", email, "admin").await;

    // The admin signs in again from a DBSC browser.
    let mut owner = env.client();
    let sign_in = owner.login(email, crate::GOOD_PASSWORD).await;
    assert_eq!(sign_in.status, 303, "{}", sign_in.body);
    let key = SoftDbsc::new();
    let registered = key.register(&mut owner, &sign_in).await;
    assert_eq!(registered.status, 200, "{}", registered.body);
    let instructions: serde_json::Value = serde_json::from_str(&registered.body).unwrap();
    let id = instructions["session_identifier"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(instructions["refresh_url"], paths::DBSC_REFRESH);
    let bound_name = instructions["credentials"][0]["name"].as_str().unwrap();
    assert!(
        owner.cookies.contains_key(bound_name),
        "the first bound cookie"
    );
    assert!(
        challenge(&registered).is_some(),
        "a challenge for next time"
    );
    let session_name = owner
        .cookies
        .keys()
        .find(|k| k.as_str() == "sekisho" || k.as_str() == "__Host-sekisho")
        .unwrap()
        .clone();

    // The registration counts once, and only for its own session.
    assert_eq!(key.register(&mut owner, &sign_in).await.status, 400);
    let mut other = env.client();
    other.login(email, crate::GOOD_PASSWORD).await;
    assert_eq!(
        key.register(&mut other, &sign_in).await.status,
        400,
        "another session's registration challenge"
    );

    // A copy of the session cookie, as an infostealer takes it.
    let mut thief = env.client();
    thief
        .cookies
        .insert(session_name.clone(), owner.cookies[&session_name].clone());
    // Requests already on their way before the first bound cookie (#248).
    assert_eq!(thief.get("/files/s62").await.status, 200);
    env.gw.advance_clock(61);
    assert_eq!(
        owner.get("/files/s62").await.status,
        200,
        "the key's holder"
    );
    let api = thief.get("/files/s62").await;
    assert_eq!(api.status, 401, "the cookie alone: {}", api.body);
    let page = thief.navigate("/files/s62?x=1").await;
    assert_eq!(page.status, 303);
    assert!(
        page.location()
            .starts_with(&format!("{}?next=", paths::DBSC_REFRESH)),
        "{}",
        page.location()
    );
    let through = thief.navigate(page.location()).await;
    assert_eq!(through.status, 401);
    assert!(through.body.contains("ログインを確認できませんでした"));
    assert_eq!(thief.get(paths::MENU).await.status, 303, "nor the menu");
    // The thief tries the refresh: asked for a proof, and its own key is
    // not the session's.
    let asked = key
        .post_proof(&mut thief, paths::DBSC_REFRESH, Some(&id), None)
        .await;
    assert_eq!(asked.status, 403);
    let foreign = SoftDbsc::new().proof(&challenge(&asked).unwrap(), false);
    let r = key
        .post_proof(&mut thief, paths::DBSC_REFRESH, Some(&id), Some(&foreign))
        .await;
    assert_eq!(r.status, 401, "a refresh signed by another key");
    assert_eq!(thief.get("/files/s62").await.status, 401);

    // The bound cookie expires; the owner's browser refreshes it. The
    // challenge it kept from the registration has expired too (300 s).
    env.gw.advance_clock(600);
    assert_eq!(owner.get("/files/s62").await.status, 401);
    let stale = challenge(&registered).unwrap();
    let r = key
        .post_proof(
            &mut owner,
            paths::DBSC_REFRESH,
            Some(&id),
            Some(&key.proof(&stale, false)),
        )
        .await;
    assert_eq!(r.status, 403, "an expired challenge is asked again");
    let fresh = challenge(&r).unwrap();
    let proof = key.proof(&fresh, false);
    let r = key
        .post_proof(&mut owner, paths::DBSC_REFRESH, Some(&id), Some(&proof))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(owner.get("/files/s62").await.status, 200);
    // The same proof again (a replay): asked for a new one.
    let mut replayer = env.client();
    replayer.cookies = owner.cookies.clone();
    replayer.cookies.remove(bound_name);
    let r = key
        .post_proof(&mut replayer, paths::DBSC_REFRESH, Some(&id), Some(&proof))
        .await;
    assert_eq!(r.status, 403, "a used challenge");
    assert!(!replayer.cookies.contains_key(bound_name));

    // Two refreshes at once with one challenge (two tabs, two gateways):
    // one wins, the other is asked again and then succeeds.
    let shared = challenge(&r).unwrap();
    let proof = key.proof(&shared, false);
    let mut tab_a = env.client();
    let mut tab_b = env.client();
    for tab in [&mut tab_a, &mut tab_b] {
        tab.cookies
            .insert(session_name.clone(), owner.cookies[&session_name].clone());
    }
    let (a, b) = tokio::join!(
        key.post_proof(&mut tab_a, paths::DBSC_REFRESH, Some(&id), Some(&proof)),
        key.post_proof(&mut tab_b, paths::DBSC_REFRESH, Some(&id), Some(&proof)),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 403], "{} / {}", a.body, b.body);
    let (loser, loser_answer) = if a.status == 403 {
        (&mut tab_a, a)
    } else {
        (&mut tab_b, b)
    };
    let again = key.proof(&challenge(&loser_answer).unwrap(), false);
    let r = key
        .post_proof(loser, paths::DBSC_REFRESH, Some(&id), Some(&again))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(loser.get("/files/s62").await.status, 200);
    // A full refresh as the browser runs it (ask, then answer).
    env.gw.advance_clock(601);
    assert_eq!(owner.get("/files/s62").await.status, 401);
    assert_eq!(key.refresh(&mut owner, &id).await.status, 200);
    assert_eq!(owner.get("/files/s62").await.status, 200);

    // A browser without DBSC never registered: it goes on as before.
    assert_eq!(plain.get("/files/s62").await.status, 200);

    // The holder requires binding of administrators, from a bound
    // session only: an unbound one would shut its own holder out.
    let choose = |page: &crate::Resp| page.csrf();
    let page = holder.get(paths::MENU_DEVICE_BINDING).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("端末に結び付けたセッション"));
    let r = holder
        .post(
            paths::MENU_DEVICE_BINDING,
            &[("csrf", &choose(&page)), ("enabled", "on")],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("端末に結び付いていないため"), "{}", r.body);
    let mut holder_bound = env.client();
    let r = holder_bound.login(holder_email, crate::GOOD_PASSWORD).await;
    let holder_key = SoftDbsc::new();
    assert_eq!(holder_key.register(&mut holder_bound, &r).await.status, 200);
    let page = holder_bound.get(paths::MENU_DEVICE_BINDING).await;
    let r = holder_bound
        .post(
            paths::MENU_DEVICE_BINDING,
            &[("csrf", &choose(&page)), ("enabled", "on")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = holder_bound
        .post(
            paths::MENU_DEVICE_BINDING_CONFIRM,
            &[
                ("csrf", &r.csrf()),
                ("enabled", "on"),
                ("understood", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("設定を変更しました"), "{}", r.body);
    // Unbound administrators are refused; a new sign-in has its window.
    let refused = plain.navigate("/files/s62").await;
    assert_eq!(refused.status, 403);
    assert!(refused
        .body
        .contains("このブラウザではログインを続けられません"));
    assert_eq!(plain.get("/files/s62").await.status, 401);
    assert_eq!(holder.get("/files/s62").await.status, 401, "the holder too");
    let mut fresh_plain = env.client();
    let r = fresh_plain.login(email, crate::GOOD_PASSWORD).await;
    assert!(registration(&r).is_some());
    assert_eq!(fresh_plain.get("/files/s62").await.status, 200, "#223");
    // Bound administrators go on.
    assert_eq!(owner.get("/files/s62").await.status, 200);
    env.gw.advance_clock(61);
    assert_eq!(fresh_plain.get("/files/s62").await.status, 401);
    let events = holder_bound.get(paths::CONSOLE_EVENTS).await;
    assert_eq!(events.status, 200, "{}", events.body);
    for said in [
        "セッションを端末に結び付け",
        "端末の確認を拒否",
        "端末に結び付けたセッションの設定を変更",
    ] {
        assert!(events.body.contains(said), "{said}");
    }
    // A plain user is not asked.
    let mut user = env
        .invited_user(&mut holder_bound, "User", "user62@example.jp", "user")
        .await;
    env.gw.advance_clock(61);
    assert_eq!(user.get("/files/s62").await.status, 200);

    // The session ends: its bound session is told to end.
    let csrf = owner.get(paths::LOGOUT).await.csrf();
    owner.post(paths::LOGOUT, &[("csrf", &csrf)]).await;
    let r = key
        .post_proof(&mut owner, paths::DBSC_REFRESH, Some(&id), None)
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("\"continue\":false"), "{}", r.body);
}
