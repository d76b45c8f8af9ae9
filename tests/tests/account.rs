//! The account menu, the admin console, address and method changes, plans
//! (PRODUCT §3.5, §3.8, §3.9; SECURITY C), end to end with the real SMTP
//! server and a moved clock.

use sekisho_policy::paths;
use sekisho_tests::{Client, Env, GOOD_PASSWORD};

const NEW_PASSWORD: &str = "Momiji-Leaves-77";

/// Which menu links a page shows.
fn items(body: &str) -> Vec<&'static str> {
    [
        paths::MENU_METHOD,
        paths::MENU_EMAIL,
        paths::MENU_PASSWORD,
        paths::MENU_SESSIONS,
        paths::CONSOLE,
    ]
    .into_iter()
    .filter(|p| body.contains(&format!("href=\"{p}\"")))
    .collect()
}

async fn status(c: &mut Client, path: &str) -> u16 {
    c.get(path).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn menu_shows_and_allows_exactly_the_matrix() {
    let env = Env::start().await;
    let mut holder = env
        .logged_in_holder_on("basic", "holder@basic.example.jp")
        .await;
    let mut admin = env
        .invited_user(&mut holder, "管理 者", "admin@basic.example.jp", "admin")
        .await;
    let mut user = env
        .invited_user(&mut holder, "一般 利用者", "user@basic.example.jp", "user")
        .await;
    let mut t_holder = env
        .logged_in_holder_on("trial", "holder@trial.example.jp")
        .await;
    let mut t_user = env
        .invited_user(
            &mut t_holder,
            "試用 利用者",
            "user@trial.example.jp",
            "user",
        )
        .await;

    // The invitation names the contract holder (manual §1-5).
    let m = env
        .smtp
        .wait_for("user@basic.example.jp", "利用者登録のご案内");
    assert!(
        m.body.contains(
            "holder@basic.example.jpより一般 利用者様が\n本サービスの利用者として登録されました。"
        ),
        "{}",
        m.body
    );

    let menu = paths::MENU;
    let all = [
        paths::MENU_METHOD,
        paths::MENU_EMAIL,
        paths::MENU_PASSWORD,
        paths::MENU_SESSIONS,
        paths::CONSOLE,
    ];
    let expect: [(&mut Client, &str, [bool; 5]); 5] = [
        (&mut holder, "basic holder", [true, true, true, true, true]),
        (&mut admin, "basic admin", [false, false, true, true, true]),
        (&mut user, "basic user", [false, false, true, true, false]),
        (
            &mut t_holder,
            "trial holder",
            [false, false, true, true, true],
        ),
        (&mut t_user, "trial user", [false, false, true, true, false]),
    ];
    for (c, who, allowed) in expect {
        let page = c.get(menu).await;
        assert_eq!(page.status, 200, "{who}");
        assert!(page
            .body
            .contains("あなたに許可されたメニューのみ表示しております。"));
        let shown = items(&page.body);
        for (path, ok) in all.iter().zip(allowed) {
            assert_eq!(shown.contains(path), ok, "{who}: {path} shown?");
            // The direct URL agrees with the menu.
            assert_eq!(status(c, path).await == 200, ok, "{who}: {path} by URL");
        }
    }
    // Not logged in: the menu's own login, coming back to the menu.
    let mut anon = env.client();
    let r = anon.get(menu).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/.sekisho/menu/login?next=%2F.sekisho%2Fmenu");
    let page = anon.get("/.sekisho/menu/login?next=/.sekisho/menu").await;
    assert!(page.body.contains("認証・契約情報変更ログイン"));
    let r = anon
        .post(
            paths::MENU_LOGIN,
            &[
                ("csrf", &page.csrf()),
                ("email", "user@basic.example.jp"),
                ("password", GOOD_PASSWORD),
                ("next", paths::MENU),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), paths::MENU);
    // The service's login page links to the menu's login.
    assert!(anon
        .get(paths::LOGIN)
        .await
        .body
        .contains("href=\"/.sekisho/menu/login\""));
}

async fn change_password(
    c: &mut Client,
    csrf: &str,
    current: &str,
    new: &str,
) -> sekisho_tests::Resp {
    c.post(
        paths::MENU_PASSWORD,
        &[
            ("csrf", csrf),
            ("current_password", current),
            ("password", new),
            ("password_confirm", new),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_ends_other_sessions_and_notifies() {
    let env = Env::start().await;
    let email = "change@example.jp";
    let mut a = env.logged_in_holder(email).await;
    let mut b = env.client();
    assert_eq!(b.login(email, GOOD_PASSWORD).await.status, 303);
    let page = a.get(paths::MENU_PASSWORD).await;
    assert!(page.body.contains(
        "パスワードは英大文字、英小文字、数字、記号から3種類以上を含め8文字以上で設定してください"
    ));
    let csrf = page.csrf();
    let r = change_password(&mut a, &csrf, "Wrong-current-1", NEW_PASSWORD).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("現在のパスワードが正しくありません。"));
    let r = change_password(&mut a, &csrf, GOOD_PASSWORD, "Password1!").await;
    assert_eq!(r.status, 422, "the rule holds here too (S04, S08)");
    let r = change_password(&mut a, &csrf, GOOD_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r
        .body
        .contains("パスワード変更のお手続きが完了いたしました。"));
    assert!(
        r.body.contains("href=\"/.sekisho/menu\""),
        "a link back to the menu"
    );
    assert_eq!(a.get("/x").await.status, 200, "this browser stays");
    assert_eq!(
        b.get("/x").await.status,
        401,
        "the other browser's session ended (S32)"
    );
    let notice = env.smtp.wait_for(email, "パスワード変更のお知らせ");
    assert!(!notice.body.contains(NEW_PASSWORD));
    let mut c = env.client();
    assert_eq!(c.login(email, GOOD_PASSWORD).await.status, 200);
    assert_eq!(c.login(email, NEW_PASSWORD).await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s12_menu_login_and_current_password_count_toward_the_lock() {
    let env = Env::start().await;
    let email = "twelve@example.jp";
    let mut a = env.logged_in_holder(email).await;
    let mut m = env.client();
    for _ in 0..4 {
        let page = m.get(paths::MENU_LOGIN).await;
        m.post(
            paths::MENU_LOGIN,
            &[
                ("csrf", &page.csrf()),
                ("email", email),
                ("password", "Wrong-pass-1"),
            ],
        )
        .await;
    }
    let page = a.get(paths::MENU_PASSWORD).await;
    for _ in 0..5 {
        a.post(
            paths::MENU_PASSWORD,
            &[
                ("csrf", &page.csrf()),
                ("current_password", "Wrong-pass-1"),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    }
    let mut l = env.client();
    let r = l.login(email, "Wrong-pass-1").await;
    assert!(
        r.body.contains("アカウントがブロックされました"),
        "4 menu logins + 5 current passwords + 1 login = 10"
    );
    env.smtp.wait_for(email, "アカウントロック");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s19_email_change_by_the_holder() {
    let env = Env::start().await;
    let old = "old@example.jp";
    let mut holder = env.logged_in_holder(old).await;
    let mut other = env.client();
    assert_eq!(other.login(old, GOOD_PASSWORD).await.status, 303);
    env.logged_in_holder("someone-else@example.jp").await;

    let page = holder.get(paths::MENU_EMAIL).await;
    assert_eq!(page.status, 200);
    let csrf = page.csrf();
    // A taken address (another tenant's) and an unknown bad one get the same words.
    let r = holder
        .post(
            paths::MENU_EMAIL,
            &[
                ("csrf", &csrf),
                ("email", "someone-else@example.jp"),
                ("email_confirm", "someone-else@example.jp"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("このメールアドレスは使用できません。"));
    assert!(
        !r.body.contains("tenant") && !r.body.contains("契約者"),
        "never whose"
    );
    let r = holder
        .post(
            paths::MENU_EMAIL,
            &[
                ("csrf", &csrf),
                ("email", "new@example.jp"),
                ("email_confirm", "neu@example.jp"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "confirmation differs");
    // Without the session's token: refused.
    let mut stranger = env.client();
    assert_ne!(
        stranger
            .post(
                paths::MENU_EMAIL,
                &[
                    ("csrf", &csrf),
                    ("email", "x@example.jp"),
                    ("email_confirm", "x@example.jp")
                ]
            )
            .await
            .status,
        200
    );

    let r = holder
        .post(
            paths::MENU_EMAIL,
            &[
                ("csrf", &csrf),
                ("email", "New@Example.jp"),
                ("email_confirm", "new@example.jp"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mail = env
        .smtp
        .wait_for("new@example.jp", "メールアドレス変更登録");
    assert_eq!(
        mail.subject,
        "【おまかせクラウドストレージ】メールアドレス変更登録"
    );
    let link = mail.link("/.sekisho/email/confirm?ticket=").unwrap();
    assert!(
        env.smtp
            .mails()
            .iter()
            .all(|m| !(m.rcpt_tos.contains(&old.to_string()) && m.subject.contains("変更登録"))),
        "the link goes to the new address only"
    );

    let mut fresh = env.client();
    let page = fresh.get(&link).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("new@example.jp"),
        "the confirmation shows the new address"
    );
    let ticket = link.split("ticket=").nth(1).unwrap();
    let r = fresh
        .post(
            paths::EMAIL_CONFIRM,
            &[
                ("csrf", &page.csrf()),
                ("ticket", ticket),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "password users set a valid password again");
    let r = fresh
        .post(
            paths::EMAIL_CONFIRM,
            &[
                ("csrf", &page.csrf()),
                ("ticket", ticket),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("メールアドレス変更完了"));
    let r = fresh
        .post(
            paths::EMAIL_CONFIRM,
            &[
                ("csrf", &page.csrf()),
                ("ticket", ticket),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "single use");

    let notice = env.smtp.wait_for(old, "メールアドレス変更のお知らせ");
    assert!(notice.body.contains("new@example.jp"));
    assert_eq!(holder.get("/x").await.status, 401, "every session ended");
    assert_eq!(other.get("/x").await.status, 401);
    let mut c = env.client();
    assert_eq!(
        c.login(old, GOOD_PASSWORD).await.status,
        200,
        "the old ID is gone"
    );
    assert_eq!(c.login("new@example.jp", NEW_PASSWORD).await.status, 303);
    assert_eq!(env.upstream.count(), 0);
    assert_eq!(c.get("/x").await.status, 200);
    assert_eq!(env.upstream.last().one("x-auth-email"), "new@example.jp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_sends_email_or_method_link_never_both() {
    let env = Env::start().await;
    let mut holder = env.logged_in_holder("boss@example.jp").await;
    let mut user = env
        .invited_user(&mut holder, "利用 者", "staff@example.jp", "user")
        .await;
    let list = holder.get(paths::CONSOLE).await;
    let id_start = list.body.find("/.sekisho/admin/users/").unwrap();
    let ids: Vec<String> = list
        .body
        .match_indices("/.sekisho/admin/users/")
        .map(|(i, _)| list.body[i + 22..i + 54].to_string())
        .collect();
    assert!(id_start > 0 && ids.len() == 2);
    // Find the staff member's detail page.
    let mut detail = None;
    for id in &ids {
        let page = holder.get(&format!("/.sekisho/admin/users/{id}")).await;
        if page.body.contains("staff@example.jp") {
            detail = Some((id.clone(), page));
        }
    }
    let (id, page) = detail.unwrap();
    assert!(page
        .body
        .contains("ログイン方法の変更とメールアドレス変更は同時に実施できません"));
    let action = format!("/.sekisho/admin/users/{id}/change-link");

    // The address unchanged: the method-change link goes to the user.
    env.send_change_link(&mut holder, &action, &page.csrf(), "staff@example.jp")
        .await;
    let method_mail = env
        .smtp
        .wait_for("staff@example.jp", "ログイン方法の設定変更");
    assert_eq!(
        method_mail.subject,
        "【おまかせクラウドストレージ】ログイン方法の設定変更"
    );
    let method_link = method_mail.link("/.sekisho/method?ticket=").unwrap();

    // A new address: the email-change link goes there, and the method link dies.
    env.send_change_link(&mut holder, &action, &page.csrf(), "staff.new@example.jp")
        .await;
    let email_link = env
        .smtp
        .wait_for("staff.new@example.jp", "メールアドレス変更登録")
        .link("/.sekisho/email/confirm?ticket=")
        .unwrap();
    assert_eq!(
        user.get(&method_link).await.status,
        400,
        "never both at once"
    );

    let page = user.get(&email_link).await;
    let ticket = email_link.split("ticket=").nth(1).unwrap();
    let r = user
        .post(
            paths::EMAIL_CONFIRM,
            &[
                ("csrf", &page.csrf()),
                ("ticket", ticket),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut c = env.client();
    assert_eq!(
        c.login("staff.new@example.jp", NEW_PASSWORD).await.status,
        303
    );

    // Now a method-change link for the new address: set the password again.
    let page = holder.get(&format!("/.sekisho/admin/users/{id}")).await;
    env.send_change_link(&mut holder, &action, &page.csrf(), "staff.new@example.jp")
        .await;
    let link = env
        .smtp
        .wait_for("staff.new@example.jp", "ログイン方法の設定変更")
        .link("/.sekisho/method?ticket=")
        .unwrap();
    let page = c.get(&link).await;
    assert!(page.body.contains("現在のログイン方法"));
    let ticket = link.split("ticket=").nth(1).unwrap();
    let r = c
        .post(
            paths::METHOD_LINK,
            &[
                ("csrf", &page.csrf()),
                ("ticket", ticket),
                ("password", GOOD_PASSWORD),
                ("password_confirm", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("ログイン方法の変更が完了しました"));
    assert_eq!(
        c.get("/x").await.status,
        401,
        "sessions ended with the change"
    );
    assert_eq!(
        c.login("staff.new@example.jp", GOOD_PASSWORD).await.status,
        303
    );

    // The holder's own detail page offers no change link and no removal.
    let own = ids.iter().find(|i| **i != id).unwrap();
    let page = holder.get(&format!("/.sekisho/admin/users/{own}")).await;
    assert!(!page.body.contains("change-link") && !page.body.contains("/remove"));
    let csrf = holder.get(paths::CONSOLE_INVITE).await.csrf();
    assert_eq!(
        holder
            .post(
                &format!("/.sekisho/admin/users/{own}/remove"),
                &[("csrf", &csrf)]
            )
            .await
            .status,
        403
    );
    // A user cannot reach the console at all.
    let mut plain = env
        .invited_user(&mut holder, "他 者", "other@example.jp", "user")
        .await;
    assert_eq!(plain.get(paths::CONSOLE).await.status, 403);
    assert_eq!(
        plain
            .get(&format!("/.sekisho/admin/users/{id}"))
            .await
            .status,
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_change_rules_and_holder_menu() {
    let env = Env::start().await;
    let mut trial = env.logged_in_holder_on("trial", "trial@example.jp").await;
    assert_eq!(
        trial.get(paths::MENU_METHOD).await.status,
        403,
        "trial: no method change"
    );
    assert_eq!(
        trial.get(paths::MENU_EMAIL).await.status,
        403,
        "trial: no email change"
    );
    let mut holder = env.logged_in_holder("basic@example.jp").await;
    let page = holder.get(paths::MENU_METHOD).await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains("契約者は、Active Directoryアカウントは選択できません"));
    let r = holder
        .post(
            paths::MENU_METHOD,
            &[
                ("csrf", &page.csrf()),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        holder.get("/x").await.status,
        401,
        "log in again with the new method"
    );
    env.smtp
        .wait_for("basic@example.jp", "ログイン方法変更のお知らせ");
    assert_eq!(
        holder.login("basic@example.jp", NEW_PASSWORD).await.status,
        303
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_out_one_browser_or_everywhere() {
    let env = Env::start().await;
    let email = "browsers@example.jp";
    let mut a = env.logged_in_holder(email).await;
    let mut b = env.client();
    b.extra.push(("user-agent".into(), "Browser-B/1.0".into()));
    assert_eq!(b.login(email, GOOD_PASSWORD).await.status, 303);
    let page = a.get(paths::MENU_SESSIONS).await;
    assert!(page.body.contains("Browser-B/1.0") && page.body.contains("127.0.0.1"));
    assert!(page.body.contains("(この端末)"));
    // In English, English times (issue 32, 7).
    let mut english = env.client();
    english.extra.push(("accept-language".into(), "en".into()));
    assert_eq!(english.login(email, GOOD_PASSWORD).await.status, 303);
    let listed = english.get(paths::MENU_SESSIONS).await;
    assert!(listed.body.contains(" JST"), "{}", listed.body);
    assert!(!listed.body.contains("日本時間"), "{}", listed.body);
    // End B's session from A.
    let rows: Vec<&str> = page
        .body
        .split("<tr>")
        .filter(|r| r.contains("Browser-B/1.0"))
        .collect();
    let handle = sekisho_tests::client::hidden(rows[0], "session").unwrap();
    let r = a
        .post(
            paths::MENU_SESSIONS_END,
            &[("csrf", &page.csrf()), ("session", &handle)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(b.get("/x").await.status, 401);
    assert_eq!(a.get("/x").await.status, 200);
    // Someone else's session handle is refused.
    let mut other = env.logged_in_holder("other-owner@example.jp").await;
    let theirs = other.get(paths::MENU_SESSIONS).await;
    let their_handle = sekisho_tests::client::hidden(&theirs.body, "session").unwrap();
    assert_eq!(
        a.post(
            paths::MENU_SESSIONS_END,
            &[("csrf", &page.csrf()), ("session", &their_handle)]
        )
        .await
        .status,
        403
    );
    assert_eq!(other.get("/x").await.status, 200);
    // Everywhere: another browser and this one.
    let mut c = env.client();
    assert_eq!(c.login(email, GOOD_PASSWORD).await.status, 303);
    let r = a
        .post(paths::MENU_SESSIONS_END_ALL, &[("csrf", &page.csrf())])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(c.get("/x").await.status, 401);
    assert_eq!(a.get("/x").await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_user_loses_access_at_once() {
    let env = Env::start().await;
    let mut holder = env.logged_in_holder("remover@example.jp").await;
    let mut user = env
        .invited_user(&mut holder, "消 える", "gone@example.jp", "user")
        .await;
    assert_eq!(user.get("/x").await.status, 200);
    env.remove_user(&mut holder, "gone@example.jp").await;
    assert_eq!(
        user.get("/x").await.status,
        401,
        "removal ends the session (S32)"
    );
    assert_eq!(
        user.login("gone@example.jp", GOOD_PASSWORD).await.status,
        200,
        "and the login"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trial_ends_after_30_days_and_converts_until_45() {
    // Sessions long enough to outlive the jump, so the trial's end is what stops them.
    let mut env = Env::start_with(|o| sekisho_tests::GatewayOptions {
        session: "[session]\nidle_minutes = 120000\nabsolute_hours = 2400\n".into(),
        ..o
    })
    .await;
    let email = "trialist@example.jp";
    let out = env.gw.admin(&[
        "create-tenant",
        "--plan",
        "trial",
        "--holder-email",
        email,
        "--two-step",
        "off",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let tenant = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tenant:"))
        .unwrap()
        .trim()
        .to_string();
    let link = env
        .smtp
        .wait_for(email, "利用者登録のご案内")
        .link("/.sekisho/register?ticket=")
        .unwrap();
    let mut c = env.client();
    assert_eq!(c.register(&link, GOOD_PASSWORD).await.status, 200);
    assert_eq!(c.login(email, GOOD_PASSWORD).await.status, 303);
    assert_eq!(c.get("/x").await.status, 200);
    assert_eq!(env.upstream.last().one("x-auth-plan"), "trial");

    env.gw.advance_clock(31 * 86400);
    let r = c.get("/x").await;
    assert_eq!(r.status, 403, "the open session stops");
    assert!(r.body.contains("無料トライアル期間が終了しました"));
    let mut d = env.client();
    let r = d.login(email, GOOD_PASSWORD).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("無料トライアル期間が終了しました"));

    let out = env.gw.admin(&["set-plan", &tenant, "basic"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(std::time::Duration::from_millis(1200)); // the session cache's bound
    assert_eq!(
        c.get("/x").await.status,
        200,
        "converted: the same session works again"
    );
    assert_eq!(env.upstream.last().one("x-auth-plan"), "basic");

    // Another trial, 46 days on: closed for good.
    let out = env.gw.admin(&[
        "create-tenant",
        "--plan",
        "trial",
        "--holder-email",
        "late@example.jp",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let late = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tenant:"))
        .unwrap()
        .trim()
        .to_string();
    env.gw.advance_clock(46 * 86400);
    let out = env.gw.admin(&["set-plan", &late, "basic"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("closed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s03_invitation_answers_the_same_for_a_taken_address() {
    let env = Env::start().await;
    env.logged_in_holder("elsewhere@example.jp").await;
    let mut holder = env.logged_in_holder("inviter@example.jp").await;
    let mut answers = Vec::new();
    for email in ["fresh@example.jp", "elsewhere@example.jp"] {
        let page = holder.get(paths::CONSOLE_INVITE).await;
        let r = holder
            .post(
                paths::CONSOLE_INVITE,
                &[
                    ("csrf", &page.csrf()),
                    ("name", "名前"),
                    ("email", email),
                    ("role", "user"),
                ],
            )
            .await;
        answers.push((r.status, r.body));
    }
    assert_eq!(answers[0], answers[1], "a taken address is not revealed");
    env.smtp.wait_for("fresh@example.jp", "利用者登録のご案内");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let to_taken = env
        .smtp
        .mails()
        .into_iter()
        .filter(|m| m.rcpt_tos.contains(&"elsewhere@example.jp".to_string()))
        .count();
    assert_eq!(
        to_taken, 1,
        "only the holder's own registration mail, no invitation into another tenant"
    );
    // Bad input: a clear refusal that keeps what was typed.
    let page = holder.get(paths::CONSOLE_INVITE).await;
    let r = holder
        .post(
            paths::CONSOLE_INVITE,
            &[
                ("csrf", &page.csrf()),
                ("name", ""),
                ("email", "nope"),
                ("role", "root"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body
            .contains("氏名は1文字以上100文字以内で入力してください。")
            && r.body.contains("メールアドレスの形式が正しくありません。")
    );
    assert!(r.body.contains("value=\"nope\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_searches_filters_and_changes_roles_with_an_audit_line() {
    let env = Env::start().await;
    let mut holder = env.logged_in_holder("console@example.jp").await;
    let _taro = env
        .invited_user(&mut holder, "山田 太郎", "taro@example.jp", "user")
        .await;
    env.invite(&mut holder, "鈴木 花子", "hanako@example.jp", "user")
        .await;
    // Search by name, and by part of an address in another case.
    let page = holder.get("/.sekisho/admin/?q=太郎").await;
    assert!(page.body.contains("taro@example.jp"), "{}", page.body);
    assert!(!page.body.contains("hanako@example.jp"));
    let page = holder.get("/.sekisho/admin/?q=HANAKO").await;
    assert!(page.body.contains("hanako@example.jp") && !page.body.contains("taro@example.jp"));
    // The status filter; each row says its method, two-step and last login.
    let page = holder.get("/.sekisho/admin/?status=invited").await;
    assert!(page.body.contains("hanako@example.jp") && !page.body.contains("taro@example.jp"));
    assert!(page.body.contains("未ログイン"), "{}", page.body);
    let page = holder
        .get("/.sekisho/admin/?status=nonsense&sort=nonsense&page=-3")
        .await;
    assert_eq!(page.status, 200, "bad filters fall back to the defaults");
    // Taro has logged in: the detail says when; the holder makes him admin.
    let (id, detail) = env.user_page(&mut holder, "taro@example.jp").await;
    assert!(detail.body.contains("最終ログイン"), "{}", detail.body);
    assert!(!detail.body.contains("未ログイン"), "{}", detail.body);
    let r = holder
        .post(
            &format!("/.sekisho/admin/users/{id}/role"),
            &[("csrf", &detail.csrf()), ("role", "admin")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("権限を変更しました"));
    let page = holder.get("/.sekisho/admin/?q=taro").await;
    assert!(page.body.contains("管理者"), "{}", page.body);
    let r = holder
        .post(
            &format!("/.sekisho/admin/users/{id}/role"),
            &[("csrf", &detail.csrf()), ("role", "contract_holder")],
        )
        .await;
    assert_eq!(r.status, 400, "no one is made contract holder");
    assert!(env.gw.logs().contains("role_changed"), "audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_list_tenants_resend_reset_route_and_remove_with_audit() {
    let env = Env::start().await;
    let mut holder = env.logged_in_holder("operator@example.jp").await;
    env.invite(&mut holder, "未登録 次郎", "jiro@example.jp", "user")
        .await;
    let _user = env
        .invited_user(&mut holder, "登録 三郎", "saburo@example.jp", "user")
        .await;
    let run = |args: &[&str]| {
        let out = env.gw.admin(args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // --config after the subcommand works as before it.
    let out = std::process::Command::new(sekisho_tests::gateway::binary())
        .args(["admin", "tenants", "--config"])
        .arg(&env.gw.config_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        listing.contains("basic") && listing.contains(" 3"),
        "{listing}"
    );
    let tenant = listing
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    let (code, out, _) = run(&["resend-invitation", "jiro@example.jp"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("/.sekisho/register?ticket="), "{out}");
    // The user's wording, with the holder named (not the holder's own).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let resent = env
        .smtp
        .mails()
        .into_iter()
        .rfind(|m| m.rcpt_tos.iter().any(|r| r == "jiro@example.jp"))
        .unwrap();
    assert!(
        resent.body.contains("operator@example.jpより") && !resent.body.contains("ご契約者として"),
        "{}",
        resent.body
    );
    let (code, _, err) = run(&["resend-invitation", "saburo@example.jp"]);
    assert_eq!(code, Some(2), "a registered user gets no invitation: {err}");
    assert!(err.contains("EMAIL"), "{err}");

    // A destructive command off a terminal wants --yes (issue 32, 9).
    let (code, _, err) = run(&["reset-two-step", "saburo@example.jp"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--yes"), "{err}");
    let (code, out, _) = run(&["reset-two-step", "saburo@example.jp", "--yes"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out, _) = run(&["set-access-route", &tenant, "line-only"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("line_only"), "{out}");
    let (code, _, err) = run(&["set-access-route", "no-such-tenant", "line-only"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, _, _) = run(&["set-access-route", &tenant, "line-and-internet"]);
    assert_eq!(code, Some(0));

    let (code, _, err) = run(&["remove-user", "operator@example.jp", "--yes"]);
    assert_eq!(code, Some(2), "the contract holder stays: {err}");
    let (code, _, err) = run(&["remove-user", "saburo@example.jp"]);
    assert_eq!(code, Some(2), "asked for --yes: {err}");
    let (code, out, err) = run(&["remove-user", "saburo@example.jp", "--yes"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("removed"), "{out}");
    assert!(err.contains("user_removed"), "audited: {err}");
    let mut c = env.client();
    assert_ne!(
        c.login("saburo@example.jp", GOOD_PASSWORD).await.status,
        303
    );
    let users = String::from_utf8_lossy(&env.gw.admin(&["users"]).stdout).to_string();
    assert!(!users.contains("saburo@example.jp"), "{users}");

    // An operator invites as the holder would: the user's wording, the
    // holder named, the link printed and mailed; refusals say which flag.
    let (code, out, err) = run(&[
        "invite",
        "--tenant",
        &tenant,
        "--email",
        "shiro@example.jp",
        "--name",
        "四郎",
        "--role",
        "admin",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("/.sekisho/register?ticket="), "{out}");
    assert!(err.contains("user_invited"), "audited in the log: {err}");
    let mail = env.smtp.wait_for("shiro@example.jp", "利用者登録のご案内");
    assert!(
        mail.body.contains("operator@example.jpより"),
        "{}",
        mail.body
    );
    let link = out
        .split_whitespace()
        .find(|w| w.contains("ticket="))
        .unwrap();
    let mut shiro = env.client();
    assert_eq!(shiro.register(link, GOOD_PASSWORD).await.status, 200);
    for (args, flag) in [
        (
            vec![
                "--tenant",
                &tenant,
                "--email",
                "shiro@example.jp",
                "--name",
                "x",
            ],
            "--email",
        ),
        (
            vec![
                "--tenant",
                "nope",
                "--email",
                "goro@example.jp",
                "--name",
                "x",
            ],
            "--tenant",
        ),
        (
            vec![
                "--tenant",
                &tenant,
                "--email",
                "goro@example.jp",
                "--name",
                " ",
            ],
            "--name",
        ),
    ] {
        let mut full = vec!["invite"];
        full.extend(args);
        let (code, _, err) = run(&full);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(flag), "{flag}: {err}");
    }
}
