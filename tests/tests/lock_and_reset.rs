//! Account lock, the unblock link, forgotten password and throttling
//! (PRODUCT §3.7, §3.10; SECURITY B and C), with the real SMTP server and a
//! moved clock.

use sekisho_policy::paths;
use sekisho_tests::{Client, Env, GatewayOptions, GOOD_PASSWORD};

const WRONG: &str = "Wrong-Password-9";
const NEW_PASSWORD: &str = "Momiji-Leaves-77";
const LOCK_MESSAGE: &str = "ログインを複数回連続して試行したため、アカウントがブロックされました。";
const FAILED_MESSAGE: &str = "メールアドレスまたはパスワードが正しくありません。";

async fn fail(c: &mut Client, email: &str, times: usize) -> sekisho_tests::Resp {
    let mut last = None;
    for _ in 0..times {
        last = Some(c.login(email, WRONG).await);
    }
    last.expect("at least one attempt")
}

fn unlock_mails(env: &Env, to: &str) -> Vec<sekisho_tests::Mail> {
    env.smtp
        .mails()
        .into_iter()
        .filter(|m| m.rcpt_tos.iter().any(|r| r == to) && m.subject.contains("アカウントロック"))
        .collect()
}

/// Requests a reset link through the login page's button and returns it.
async fn request_reset(c: &mut Client, typed: &str) -> sekisho_tests::Resp {
    let csrf = c.get(paths::LOGIN).await.csrf();
    c.post(
        paths::FORGOT,
        &[("csrf", &csrf), ("email", typed), ("password", "")],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s09_nine_failures_then_success_resets_ten_lock() {
    let env = Env::start().await;
    let email = "nine@example.jp";
    env.logged_in_holder(email).await;
    let mut c = env.client();
    let r = fail(&mut c, email, 9).await;
    assert!(r.body.contains(FAILED_MESSAGE));
    assert_eq!(
        c.login(email, GOOD_PASSWORD).await.status,
        303,
        "the 10th attempt, right: success"
    );
    // The count started over: nine more failures still do not lock.
    fail(&mut c, email, 9).await;
    assert_eq!(c.login(email, GOOD_PASSWORD).await.status, 303);

    let r = fail(&mut c, email, 10).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains(LOCK_MESSAGE),
        "the 10th failure shows the lock message"
    );
    let r = c.login(email, GOOD_PASSWORD).await;
    assert_eq!(
        r.status, 200,
        "even the right password is refused while locked"
    );
    assert!(r.body.contains(LOCK_MESSAGE));
    let mail = env.smtp.wait_for(email, "アカウントロック");
    assert_eq!(
        mail.subject,
        "【おまかせクラウドストレージ】アカウントロック"
    );
    assert!(mail
        .body
        .contains("サービスへのログインが規定回数以上失敗したため、アカウントをロックしました。"));
    let link = mail.link("/.sekisho/unlock?ticket=").unwrap();
    assert!(link.starts_with(&env.gw.base));
    assert!(
        !mail.body.contains(GOOD_PASSWORD) && !mail.body.contains(WRONG),
        "no secret but the link"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(unlock_mails(&env, email).len(), 1, "one unlock mail");
    let users = String::from_utf8_lossy(&env.gw.admin(&["users"]).stdout).to_string();
    assert!(
        users
            .lines()
            .any(|l| l.contains(email) && l.contains(" yes ")),
        "{users}"
    );

    // Unknown addresses "lock" the same way, without mail (no oracle).
    let r = fail(&mut c, "ghost@example.jp", 10).await;
    assert!(r.body.contains(LOCK_MESSAGE));
    assert!(env
        .smtp
        .mails()
        .iter()
        .all(|m| !m.rcpt_tos.contains(&"ghost@example.jp".to_string())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s10_address_variants_share_one_counter() {
    let env = Env::start().await;
    env.logged_in_holder("alice@example.com").await;
    let mut c = env.client();
    let variants = [
        "Alice@Example.com",
        " alice@example.com",
        "ALICE@EXAMPLE.COM",
        "ａｌｉｃｅ@example.com",
        "alice@example.com",
    ];
    for i in 0..10 {
        c.login(variants[i % variants.len()], WRONG).await;
    }
    let r = c.login("alice@example.com", GOOD_PASSWORD).await;
    assert!(
        r.body.contains(LOCK_MESSAGE),
        "ten failures over five spellings lock one account"
    );
    env.smtp.wait_for("alice@example.com", "アカウントロック");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s11_parallel_guessing_is_counted_atomically() {
    let env = Env::start().await;
    let email = "race@example.jp";
    env.logged_in_holder(email).await;
    let mut c = env.client();
    let csrf = c.get(paths::LOGIN).await.csrf();
    let pre = c.cookies.get("sekisho-pre").unwrap().clone();
    let url = env.gw.url(paths::LOGIN);
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let req = http
            .post(&url)
            .header("cookie", format!("sekisho-pre={pre}"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", email),
                ("password", WRONG),
            ]);
        tasks.push(tokio::spawn(async move {
            req.send().await.unwrap().text().await.unwrap()
        }));
    }
    let mut checked_failures = 0;
    let mut locked = 0;
    for t in tasks {
        let body = t.await.unwrap();
        if body.contains(LOCK_MESSAGE) {
            locked += 1;
        } else if body.contains(FAILED_MESSAGE) {
            checked_failures += 1;
        }
    }
    assert_eq!(checked_failures + locked, 50);
    assert_eq!(checked_failures, 9, "the first nine are plain failures");
    assert_eq!(
        locked, 41,
        "the tenth locks, the other forty are refused unchecked"
    );
    let metrics = env.gw.metrics().await;
    assert!(
        metrics.contains("sekisho_login_attempts_total{outcome=\"failed\"} 10"),
        "exactly ten passwords were tried"
    );
    assert!(metrics.contains("sekisho_login_attempts_total{outcome=\"locked\"} 40"));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(unlock_mails(&env, email).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s12_every_password_check_counts() {
    // Login is the only password check so far; the account-menu login and
    // the password change's current password join it with the account menu.
    let env = Env::start().await;
    let email = "count@example.jp";
    env.logged_in_holder(email).await;
    let mut a = env.client();
    let mut b = env.client();
    fail(&mut a, email, 5).await;
    fail(&mut b, email, 4).await;
    let r = b.login(email, WRONG).await;
    assert!(
        r.body.contains(LOCK_MESSAGE),
        "failures from two browsers add up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s13_hammering_a_locked_account_sends_one_mail_per_window() {
    let mut env = Env::start().await;
    let email = "hammer@example.jp";
    env.logged_in_holder(email).await;
    let mut c = env.client();
    fail(&mut c, email, 30).await;
    c.login(email, GOOD_PASSWORD).await;
    let csrf = c.get(paths::LOGIN).await.csrf();
    for _ in 0..3 {
        let r = c
            .post(paths::UNLOCK_RESEND, &[("csrf", &csrf), ("email", email)])
            .await;
        assert_eq!(r.status, 200);
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        unlock_mails(&env, email).len(),
        1,
        "one mail within the window"
    );
    env.gw.advance_clock(16 * 60);
    let r = c
        .post(paths::UNLOCK_RESEND, &[("csrf", &csrf), ("email", email)])
        .await;
    assert_eq!(r.status, 200);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mails = unlock_mails(&env, email);
    assert_eq!(mails.len(), 2, "the next window allows one more");
    // Only the newest link works.
    let first = mails[0].link("/.sekisho/unlock?ticket=").unwrap();
    assert_eq!(c.get(&first).await.status, 400);
    let second = mails[1].link("/.sekisho/unlock?ticket=").unwrap();
    assert_eq!(c.get(&second).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s14_unlock_link_is_single_use_bound_and_expires() {
    let mut env = Env::start().await;
    let email = "unlock@example.jp";
    env.logged_in_holder(email).await;
    let mut c = env.client();
    fail(&mut c, email, 10).await;
    let link = env
        .smtp
        .wait_for(email, "アカウントロック")
        .link("/.sekisho/unlock?ticket=")
        .unwrap();
    let ticket = link.split("ticket=").nth(1).unwrap().to_string();
    let db = std::fs::read(env.gw.data_dir().join("data/sekisho.sqlite3")).unwrap();
    assert!(
        !String::from_utf8_lossy(&db).contains(&ticket),
        "stored hashed"
    );

    // Opening the link changes nothing; the button does.
    let page = c.get(&link).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(
        c.login(email, GOOD_PASSWORD)
            .await
            .body
            .contains(LOCK_MESSAGE),
        "GET did not unlock"
    );
    // One flipped character, or the ticket at another purpose's page: the generic page.
    let mut flipped = ticket.clone().into_bytes();
    flipped[5] = if flipped[5] == b'x' { b'y' } else { b'x' };
    let flipped = String::from_utf8(flipped).unwrap();
    let r = c.get(&format!("/.sekisho/unlock?ticket={flipped}")).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("パスワードを忘れた方はこちら") && r.body.contains(paths::FORGOT));
    assert_eq!(
        c.get(&format!("/.sekisho/reset?ticket={ticket}"))
            .await
            .status,
        400,
        "bound to its purpose"
    );

    let csrf = c.get(&link).await.csrf();
    let r = c
        .post(paths::UNLOCK, &[("csrf", &csrf), ("ticket", &ticket)])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/.sekisho/login?notice=unlocked");
    assert_eq!(c.login(email, GOOD_PASSWORD).await.status, 303, "unlocked");
    let r = c
        .post(paths::UNLOCK, &[("csrf", &csrf), ("ticket", &ticket)])
        .await;
    assert_eq!(r.status, 400, "single use");

    // A new lock's link is dead after 14 days and a minute.
    let mut d = env.client();
    fail(&mut d, email, 10).await;
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mails = unlock_mails(&env, email);
    let link2 = mails
        .last()
        .unwrap()
        .link("/.sekisho/unlock?ticket=")
        .unwrap();
    assert_ne!(link2, link);
    env.gw.advance_clock(14 * 86400 + 60);
    assert_eq!(d.get(&link2).await.status, 400, "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s15_password_spraying_meets_the_per_address_limit_first() {
    let env = Env::start_with(|o| GatewayOptions {
        throttle: "[throttle]\nper_ip_per_minute = 20\ntrusted_proxies = [\"127.0.0.2\"]\n".into(),
        ..o
    })
    .await;
    let accounts: Vec<String> = (0..5).map(|i| format!("spray{i}@example.jp")).collect();
    for a in &accounts {
        let link = env.invite_holder(a);
        assert_eq!(
            env.client().register(&link, GOOD_PASSWORD).await.status,
            200
        );
    }
    // One address sprays wrong passwords over every account in turn.
    let mut attacker = Client::from_address(&env.gw.base, Some("127.0.0.3".parse().unwrap()));
    let csrf = attacker.get(paths::LOGIN).await.csrf();
    attacker
        .extra
        .push(("x-forwarded-for".into(), "203.0.113.9".into())); // not believed from this peer
    let mut first_429 = None;
    for i in 0..50 {
        let a = &accounts[i % accounts.len()];
        let r = attacker
            .post(
                paths::LOGIN,
                &[("csrf", &csrf), ("email", a), ("password", WRONG)],
            )
            .await;
        if r.status == 429 {
            // The login page again, the address kept, the wait said from
            // the same figure as Retry-After (issue 32, 2).
            let wait = r.header("retry-after").unwrap().to_string();
            assert!(
                r.body.contains(&format!("あと約{wait}秒お待ちください")),
                "{}",
                r.body
            );
            assert!(r.body.contains(&format!("value=\"{a}\"")), "{}", r.body);
            first_429.get_or_insert(i);
        }
    }
    assert_eq!(first_429, Some(20), "the 21st request is refused");
    let users = String::from_utf8_lossy(&env.gw.admin(&["users"]).stdout).to_string();
    assert!(
        users.lines().skip(1).all(|l| l.contains(" no ")),
        "no account locked:\n{users}"
    );

    // A trusted proxy's forwarded address is believed: its clients each
    // have their own allowance.
    let mut proxy = Client::from_address(&env.gw.base, Some("127.0.0.2".parse().unwrap()));
    proxy
        .extra
        .push(("x-forwarded-for".into(), "198.51.100.7".into()));
    assert_eq!(proxy.login(&accounts[0], GOOD_PASSWORD).await.status, 303);
    let metrics = env.gw.metrics().await;
    assert!(
        metrics.contains("sekisho_throttled_total{endpoint=\"login\",limit=\"address\"} 30"),
        "{metrics}"
    );
}

/// S56: bare POSTs naming a victim (no cookie, token or password) charge
/// nothing, and wrong passwords from other addresses that empty the
/// account's allowance never hold back the victim's right password from
/// an address that has not failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s56_no_one_can_throttle_a_victim_from_elsewhere() {
    let env = Env::start_with(|o| GatewayOptions {
        throttle: "[throttle]\nper_ip_per_minute = 1000\nper_address_account_per_minute = 5\n\
                   per_account_per_minute = 8\n"
            .into(),
        // The lock is not what this tests: out of reach.
        extra: "[lock]\nthreshold = 1000\n".into(),
        ..o
    })
    .await;
    let victim = "victim@example.jp";
    let link = env.invite_holder(victim);
    assert_eq!(
        env.client().register(&link, GOOD_PASSWORD).await.status,
        200
    );
    let from = |last: u8| {
        Client::from_address(
            &env.gw.base,
            Some(format!("127.0.0.{last}").parse().unwrap()),
        )
    };

    // Twenty bare POSTs from four addresses: refused as forms, not counted.
    for last in 3..7 {
        let mut bare = from(last);
        for _ in 0..5 {
            let r = bare.post(paths::LOGIN, &[("email", victim)]).await;
            assert_eq!(r.status, 403, "a bare POST");
        }
    }
    assert_eq!(from(20).login(victim, GOOD_PASSWORD).await.status, 303);
    let throttled = |metrics: &str, limit: &str| -> u64 {
        let series = format!("sekisho_throttled_total{{endpoint=\"login\",limit=\"{limit}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&series))
            .map_or(0, |v| v.trim().parse().unwrap())
    };
    let metrics = env.gw.metrics().await;
    for limit in ["address", "address_account", "account"] {
        assert_eq!(
            throttled(&metrics, limit),
            0,
            "a bare POST was counted ({limit})"
        );
    }

    // Four addresses guess until the account's allowance is gone.
    let mut refused = 0;
    for last in 3..7 {
        let mut attacker = from(last);
        let csrf = attacker.get(paths::LOGIN).await.csrf();
        for _ in 0..5 {
            let r = attacker
                .post(
                    paths::LOGIN,
                    &[
                        ("csrf", &csrf),
                        ("email", victim),
                        ("password", "Wrong-Password-9"),
                    ],
                )
                .await;
            if r.status == 429 {
                refused += 1;
            }
        }
    }
    assert!(
        refused >= 8,
        "the guessing addresses were held back {refused} times"
    );
    assert!(throttled(&env.gw.metrics().await, "account") >= 1);
    // The victim, from an address that has not failed, signs in.
    assert_eq!(from(21).login(victim, GOOD_PASSWORD).await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s03_forgot_and_resend_answers_are_identical() {
    let env = Env::start().await;
    env.logged_in_holder("known@example.jp").await;
    env.invite_holder("notyet@example.jp");
    let mut c = env.client();
    let mut answers = Vec::new();
    for email in [
        "known@example.jp",
        "unknown@example.jp",
        "notyet@example.jp",
    ] {
        let r = request_reset(&mut c, email).await;
        answers.push((r.status, r.body.clone()));
        let csrf = c.get(paths::LOGIN).await.csrf();
        let r = c
            .post(paths::UNLOCK_RESEND, &[("csrf", &csrf), ("email", email)])
            .await;
        answers.push((r.status, r.body.clone()));
    }
    assert_eq!(answers[0].0, 200);
    assert!(answers[0]
        .1
        .contains("パスワード再設定用のURLをお送りしました"));
    assert_eq!(answers[0], answers[2], "forgot: known vs unknown");
    assert_eq!(answers[0], answers[4], "forgot: known vs not registered");
    assert_eq!(answers[1], answers[3], "resend: known vs unknown");
    assert_eq!(answers[1], answers[5], "resend: known vs not registered");
    env.smtp.wait_for("known@example.jp", "パスワードリセット");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let resets: Vec<_> = env
        .smtp
        .mails()
        .into_iter()
        .filter(|m| m.subject.contains("パスワードリセット"))
        .collect();
    assert_eq!(resets.len(), 1, "only the password account got mail");
    // No address typed: asked for one, with the form.
    let csrf = c.get(paths::FORGOT).await.csrf();
    let r = c
        .post(paths::FORGOT, &[("csrf", &csrf), ("email", "  ")])
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("メールアドレスを入力してください"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s16_reset_link_newest_only_single_use_urls_from_config() {
    let mut env = Env::start().await;
    let email = "reset@example.jp";
    env.logged_in_holder(email).await;
    let mut c = env.client();
    // A forged Host and X-Forwarded-Host never reach the mail.
    c.extra = vec![("x-forwarded-host".into(), "evil.test".into())];
    let r = request_reset(&mut c, email).await;
    assert_eq!(r.status, 200);
    let first = env.smtp.wait_for(email, "パスワードリセット");
    assert_eq!(
        first.subject,
        "【おまかせクラウドストレージ】パスワードリセット"
    );
    assert!(first
        .body
        .contains("パスワードリセットについて承りました。"));
    let link1 = first.link("/.sekisho/reset?ticket=").unwrap();
    assert!(link1.starts_with(&env.gw.base), "{link1}");
    assert!(!first.body.contains("evil.test"));

    env.gw.advance_clock(16 * 60);
    request_reset(&mut c, email).await;
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mails: Vec<_> = env
        .smtp
        .mails()
        .into_iter()
        .filter(|m| m.subject.contains("パスワードリセット"))
        .collect();
    assert_eq!(mails.len(), 2);
    let link2 = mails[1].link("/.sekisho/reset?ticket=").unwrap();
    assert_eq!(
        c.get(&link1).await.status,
        400,
        "only the newest link works"
    );
    let page = c.get(&link2).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(page.body.contains(
        "パスワードは英大文字、英小文字、数字、記号から3種類以上を含め8文字以上で設定してください"
    ));
    let ticket = link2.split("ticket=").nth(1).unwrap();
    let csrf = page.csrf();
    // The rule holds here too (S04, S08).
    for bad in ["short1!", "Password1!"] {
        let r = c
            .post(
                paths::RESET,
                &[
                    ("csrf", &csrf),
                    ("ticket", ticket),
                    ("password", bad),
                    ("password_confirm", bad),
                ],
            )
            .await;
        assert_eq!(r.status, 422, "{bad}");
    }
    let r = c
        .post(
            paths::RESET,
            &[
                ("csrf", &csrf),
                ("ticket", ticket),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r
        .body
        .contains("リセットパスワードの手続きが完了いたしました。"));
    let r = c
        .post(
            paths::RESET,
            &[
                ("csrf", &csrf),
                ("ticket", ticket),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "single use");
    assert_eq!(
        c.login(email, GOOD_PASSWORD).await.status,
        200,
        "the old password is gone"
    );
    assert_eq!(c.login(email, NEW_PASSWORD).await.status, 303);

    // A reset link is dead after 14 days and a minute.
    env.gw.advance_clock(16 * 60);
    request_reset(&mut c, email).await;
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mails: Vec<_> = env
        .smtp
        .mails()
        .into_iter()
        .filter(|m| m.subject.contains("パスワードリセット"))
        .collect();
    let link3 = mails
        .last()
        .unwrap()
        .link("/.sekisho/reset?ticket=")
        .unwrap();
    env.gw.advance_clock(14 * 86400 + 60);
    assert_eq!(c.get(&link3).await.status, 400, "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s17_mail_goes_to_the_stored_address_only() {
    let env = Env::start().await;
    env.logged_in_holder("alice@example.jp").await;
    let mut c = env.client();
    for typed in ["alıce@example.jp", "alice@example.jp.", "alice@exampIe.jp"] {
        assert_eq!(request_reset(&mut c, typed).await.status, 200);
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        env.smtp
            .mails()
            .iter()
            .all(|m| !m.subject.contains("パスワードリセット")),
        "look-alikes reach no one"
    );
    request_reset(&mut c, "ＡＬＩＣＥ@Example.JP").await;
    let m = env.smtp.wait_for("alice@example.jp", "パスワードリセット");
    assert_eq!(
        m.rcpt_tos,
        vec!["alice@example.jp".to_string()],
        "sent to the stored address, not the typed one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s18_reset_revokes_sessions_clears_the_lock_and_notifies() {
    let env = Env::start().await;
    let email = "revoke@example.jp";
    let mut other_browser = env.logged_in_holder(email).await;
    assert_eq!(other_browser.get("/files").await.status, 200);
    let mut c = env.client();
    fail(&mut c, email, 10).await;
    assert!(c
        .login(email, GOOD_PASSWORD)
        .await
        .body
        .contains(LOCK_MESSAGE));
    request_reset(&mut c, email).await;
    let link = env
        .smtp
        .wait_for(email, "パスワードリセット")
        .link("/.sekisho/reset?ticket=")
        .unwrap();
    let page = c.get(&link).await;
    let ticket = link.split("ticket=").nth(1).unwrap();
    let r = c
        .post(
            paths::RESET,
            &[
                ("csrf", &page.csrf()),
                ("ticket", ticket),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        other_browser.get("/files").await.status,
        401,
        "the other browser's session is gone"
    );
    let notice = env.smtp.wait_for(email, "パスワード変更のお知らせ");
    assert!(notice
        .body
        .contains("パスワードリセットによりパスワードが変更されました"));
    assert!(!notice.body.contains(NEW_PASSWORD));
    let r = c.login(email, NEW_PASSWORD).await;
    assert_eq!(r.status, 303, "the lock is cleared");
    let logs = env.gw.logs();
    assert!(logs.contains("\"password_reset\"") && logs.contains("sessions_ended=1"));
    assert!(!logs.contains(NEW_PASSWORD) && !logs.contains(ticket));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_unlock_command() {
    let env = Env::start().await;
    let email = "adminunlock@example.jp";
    env.logged_in_holder(email).await;
    let mut c = env.client();
    fail(&mut c, email, 10).await;
    let out = env.gw.admin(&["unlock", "AdminUnlock@example.jp"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("unlocked: adminunlock@example.jp"));
    // The running gateway needs no restart: the counter lives in the store.
    assert_eq!(c.login(email, GOOD_PASSWORD).await.status, 303);
    let out = env.gw.admin(&["unlock", "nobody@example.jp"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Rows in the embedded store's failure counters.
fn failure_rows(env: &Env) -> i64 {
    let db = rusqlite::Connection::open_with_flags(
        env.gw.data_dir().join("data/sekisho.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    db.query_row("SELECT count(*) FROM failures", [], |r| r.get(0))
        .unwrap()
}

/// S58: the failure counters of guessed addresses hold keyed hashes, never
/// the addresses (the cap, oldest first, is each backend's conformance
/// test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s58_failure_counters_hold_no_address() {
    let env = Env::start().await;
    let mut c = env.client();
    for i in 0..20 {
        c.login(&format!("guessed{i}@example.jp"), WRONG).await;
    }
    let db = rusqlite::Connection::open_with_flags(
        env.gw.data_dir().join("data/sekisho.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let keys: Vec<String> = db
        .prepare("SELECT identifier FROM failures")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(keys.len(), 20);
    assert!(
        keys.iter()
            .all(|k| k.len() == 64 && k.chars().all(|c| c.is_ascii_hexdigit())),
        "{keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s51_a_spray_of_unknown_identifiers_leaves_the_store_bounded_after_the_purge() {
    let mut env = Env::start().await;
    // A spray: one wrong password for each of 300 addresses nobody has.
    let mut c = env.client();
    for i in 0..300 {
        let r = c.login(&format!("sprayed{i}@example.jp"), WRONG).await;
        assert!(r.body.contains(FAILED_MESSAGE), "{}", r.status);
    }
    // And one unknown address driven to the lock, which must stay as a
    // real account's lock does (else its answer would tell them apart).
    let r = fail(&mut c, "ghost@example.jp", 11).await;
    assert!(r.body.contains(LOCK_MESSAGE));
    assert_eq!(failure_rows(&env), 301);
    // Within the day the runs still count; after a quiet day the purge
    // (every gateway's, every ten minutes; here the command) removes them.
    let purge = env.gw.admin(&["purge"]);
    assert!(purge.status.success());
    assert_eq!(failure_rows(&env), 301);
    env.gw.advance_clock(25 * 3600);
    let purge = env.gw.admin(&["purge"]);
    assert!(
        purge.status.success(),
        "{}",
        String::from_utf8_lossy(&purge.stderr)
    );
    assert!(String::from_utf8_lossy(&purge.stdout).contains("removed"));
    assert_eq!(failure_rows(&env), 1, "only the lock is left");
    let r = c.login("ghost@example.jp", WRONG).await;
    assert!(r.body.contains(LOCK_MESSAGE), "the lock outlived the purge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_behind_one_address_logs_in_at_nine_while_one_account_is_guessed() {
    // The shipped limits: 300 a minute per address, 5 per address and
    // account, 20 per account.
    let env = Env::start_with(|o| GatewayOptions {
        throttle: "[throttle]\n".into(),
        ..o
    })
    .await;
    let staff: Vec<String> = (0..30).map(|i| format!("staff{i}@example.jp")).collect();
    for s in &staff {
        let link = env.invite_holder(s);
        assert_eq!(
            env.client().register(&link, GOOD_PASSWORD).await.status,
            200
        );
    }
    // Everyone logs in from the office's one address at once; one of them
    // mistypes five times first.
    let office = || Client::from_address(&env.gw.base, Some("127.0.0.3".parse().unwrap()));
    let mut typo = office();
    for _ in 0..5 {
        let r = typo.login(&staff[0], WRONG).await;
        assert_eq!(r.status, 200, "attempts within the limit are answered");
    }
    let r = typo.login(&staff[0], GOOD_PASSWORD).await;
    assert_eq!(r.status, 429, "the sixth try in a minute waits");
    assert!(r.header("retry-after").is_some());
    for s in &staff[1..] {
        assert_eq!(office().login(s, GOOD_PASSWORD).await.status, 303, "{s}");
    }
    let metrics = env.gw.metrics().await;
    assert!(
        metrics.contains("sekisho_throttled_total{endpoint=\"login\",limit=\"address_account\"} 1"),
        "{metrics}"
    );
}
