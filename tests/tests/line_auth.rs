//! The closed-network route and line authentication (PRODUCT §3.4, manual
//! §1-4, §4; SECURITY S39): two listeners on loopback, the trusted edge a
//! client bound to 127.0.0.2, an untrusted peer 127.0.0.3, and 127.0.0.5 a
//! line by the static table.

use sekisho_policy::paths;
use sekisho_tests::gateway::STATIC_LINE;
use sekisho_tests::two_step::{enrol_app, password_step};
use sekisho_tests::{Client, Env, GOOD_PASSWORD};

const EAST: &str = "CAF1234567890";
const WEST: &str = "COP12345678";
const LINE_ERROR: &str = "回線認証エラー";
const LINE_ONLY: &str = "回線認証のみでご利用いただけます";

async fn start() -> Env {
    Env::start_with(|o| o.two_step().closed()).await
}

/// A contract holder signed in over the internet (two-step set up).
async fn holder(env: &Env, email: &str) -> Client {
    let link = env.invite_holder(email);
    let mut c = env.client();
    assert_eq!(c.register(&link, GOOD_PASSWORD).await.status, 200);
    password_step(&mut c, email, GOOD_PASSWORD).await;
    enrol_app(&mut c, env.gw.now(), false).await;
    c
}

/// Has the holder (or an admin) save the route and lines in the console,
/// confirming when the console asks (line only, or lines removed).
async fn save_lines(c: &mut Client, route: &str, lines: &str) -> sekisho_tests::Resp {
    let page = c.get(paths::CONSOLE_LINES).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let form = [
        ("csrf", page.csrf()),
        ("route", route.into()),
        ("lines", lines.into()),
    ];
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = c.post(paths::CONSOLE_LINES, &fields).await;
    if r.status == 200 && r.body.contains("回線認証設定の確認") {
        let mut confirmed = fields.clone();
        confirmed.push(("confirmed", "yes"));
        return c.post(paths::CONSOLE_LINES, &confirmed).await;
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_to_line_only_is_confirmed_first_and_names_what_happens() {
    let env = start().await;
    let mut h = holder(&env, "confirm-lines@example.jp").await;
    let page = h.get(paths::CONSOLE_LINES).await;
    let r = h
        .post(
            paths::CONSOLE_LINES,
            &[
                ("csrf", &page.csrf()),
                ("route", "line_only"),
                ("lines", EAST),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("回線認証設定の確認"), "{}", r.body);
    assert!(r.body.contains("インターネット経由を含む"), "{}", r.body);
    assert!(r.body.contains("キャンセル"));
    // Nothing is saved until confirmed.
    let page = h.get(paths::CONSOLE_LINES).await;
    assert!(!page.body.contains(EAST), "{}", page.body);
    assert_eq!(
        signed_in(&mut h).await.status,
        200,
        "still line and internet"
    );
    let r = save_lines(&mut h, "line_only", EAST).await;
    assert_eq!(r.status, 303, "{}", r.body);
    // Confirmed: the tenant is line only, so the internet is closed to it.
    assert_eq!(signed_in(&mut h).await.status, 403);
}

/// Invites a user and registers them.
async fn invite(env: &Env, admin: &mut Client, email: &str) {
    let link = env.invite(admin, "利用者", email, "user").await;
    let mut c = env.client();
    assert_eq!(c.register(&link, GOOD_PASSWORD).await.status, 200);
}

async fn signed_in(c: &mut Client) -> sekisho_tests::Resp {
    c.get("/files/report.pdf").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_route_login_replaces_the_second_step() {
    let env = start().await;
    let email = "line@example.jp";
    let mut h = holder(&env, email).await;
    let r = save_lines(
        &mut h,
        "line_and_internet",
        "caf-1234567890\nＣＯＰ１２３４５６７８\n",
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = h.get("/.sekisho/admin/lines?saved=1").await;
    assert!(page.body.contains("保存しました"));
    assert!(
        page.body.contains(EAST) && page.body.contains(WEST),
        "normalised: {}",
        page.body
    );

    // From the office line: the password alone, no two-step screen.
    let mut c = env.closed_client("127.0.0.2", Some(EAST));
    let r = c.login(email, GOOD_PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/");
    let r = signed_in(&mut c).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = env.upstream.last();
    assert_eq!(seen.one("x-auth-route"), "closed");
    assert_eq!(seen.one("x-auth-line"), EAST);
    assert!(
        seen.all("x-line-id").is_empty(),
        "the line header is stripped"
    );
    // The internet session says so too.
    assert_eq!(signed_in(&mut h).await.status, 200);
    let seen = env.upstream.last();
    assert_eq!(seen.one("x-auth-route"), "internet");
    assert!(seen.all("x-auth-line").is_empty());
    let metrics = env.gw.metrics().await;
    assert!(
        metrics.contains("sekisho_logins_by_route_total{route=\"closed\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_lines_are_refused_with_the_expected_form() {
    let env = start().await;
    let mut h = holder(&env, "forms@example.jp").await;
    let r = save_lines(
        &mut h,
        "line_and_internet",
        &format!("{EAST}\nCAF123\nXYZ12345678"),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("CAF123") && r.body.contains("XYZ12345678"),
        "{}",
        r.body
    );
    assert!(r.body.contains("CAFで始まる英数13桁"), "{}", r.body);
    // Nothing was saved.
    let page = h.get(paths::CONSOLE_LINES).await;
    assert!(!page.body.contains(EAST));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s39_the_line_comes_only_from_a_trusted_edge_on_the_closed_listener() {
    let env = start().await;
    let email = "edge@example.jp";
    let mut h = holder(&env, email).await;
    save_lines(&mut h, "line_and_internet", EAST).await;

    // On the internet listener the header means nothing and goes nowhere.
    h.extra.push(("x-line-id".into(), EAST.into()));
    h.extra.push(("x-auth-line".into(), EAST.into()));
    h.extra.push(("x-auth-route".into(), "closed".into()));
    assert_eq!(signed_in(&mut h).await.status, 200);
    let seen = env.upstream.last();
    assert_eq!(seen.one("x-auth-route"), "internet");
    assert!(seen.all("x-line-id").is_empty() && seen.all("x-auth-line").is_empty());
    h.extra.clear();

    // From an untrusted peer the header is ignored: no line.
    let mut u = env.closed_client("127.0.0.3", Some(EAST));
    let r = u.login(email, GOOD_PASSWORD).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains(LINE_ERROR), "{}", r.body);
    // Nor does X-Forwarded-For with the edge's address make it trusted.
    u.extra.push(("x-forwarded-for".into(), "127.0.0.2".into()));
    let r = u.login(email, GOOD_PASSWORD).await;
    assert_eq!(r.status, 403);

    // The other route's host name: 421 on both listeners.
    let closed_host = env.gw.closed_base.clone().unwrap().replace("http://", "");
    let mut wrong = env.client();
    wrong.extra.push(("host".into(), closed_host));
    assert_eq!(wrong.get(paths::LOGIN).await.status, 421);
    let mut wrong = env.closed_client("127.0.0.2", Some(EAST));
    wrong
        .extra
        .push(("host".into(), env.gw.base.replace("http://", "")));
    assert_eq!(wrong.get(paths::LOGIN).await.status, 421);

    // A closed-route session is no session on the internet listener.
    let mut c = env.closed_client("127.0.0.2", Some(EAST));
    assert_eq!(c.login(email, GOOD_PASSWORD).await.status, 303);
    let session = c.cookies.get("sekisho").cloned().unwrap();
    let mut i = env.client();
    i.cookies.insert("sekisho".into(), session);
    assert_eq!(i.get("/files/x").await.status, 401);
    let metrics = env.gw.metrics().await;
    assert!(
        metrics.contains("sekisho_line_auth_failures_total{reason=\"missing\"} 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregistered_or_missing_line_gets_the_manuals_checks() {
    let env = start().await;
    let email = "nolines@example.jp";
    let mut h = holder(&env, email).await;
    save_lines(&mut h, "line_and_internet", EAST).await;
    for line in [Some("CAF9999999999"), None, Some("not-a-line")] {
        let mut c = env.closed_client("127.0.0.2", line);
        let r = c.login(email, GOOD_PASSWORD).await;
        assert_eq!(r.status, 403, "{line:?}");
        assert!(r.body.contains(LINE_ERROR));
        // Whose sign-in it is (issue 32, 1), and which line was seen, or
        // that none was (issue 32, 3).
        assert!(
            r.body
                .contains(&format!("<strong>{email}</strong> でログイン中")),
            "{}",
            r.body
        );
        match line {
            Some("CAF9999999999") => assert!(
                r.body.contains("確認された回線番号: CAF9999999999"),
                "{}",
                r.body
            ),
            None => assert!(
                r.body.contains("回線番号を確認できませんでした"),
                "{}",
                r.body
            ),
            _ => {}
        }
        assert!(
            r.body.contains("「回線認証設定」が完了しているか"),
            "{}",
            r.body
        );
        assert!(r.body.contains("ご利用の回線番号を正しく登録しているか"));
        assert!(!c.cookies.contains_key("sekisho"), "no session");
    }
    // A line from the static source table needs no header.
    save_lines(
        &mut h,
        "line_and_internet",
        &format!("{EAST}\n{STATIC_LINE}"),
    )
    .await;
    let mut s = env.closed_client("127.0.0.5", None);
    assert_eq!(s.login(email, GOOD_PASSWORD).await.status, 303);
    assert_eq!(signed_in(&mut s).await.status, 200);
    assert_eq!(env.upstream.last().one("x-auth-line"), STATIC_LINE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn west_line_asks_for_the_notification_once() {
    let env = start().await;
    let email = "west@example.jp";
    let mut h = holder(&env, email).await;
    save_lines(&mut h, "line_and_internet", WEST).await;
    invite(&env, &mut h, "west-user@example.jp").await;

    let mut c = env.closed_client("127.0.0.2", Some(WEST));
    assert_eq!(c.login(email, GOOD_PASSWORD).await.status, 303);
    let r = c.navigate("/files/report.pdf").await;
    assert_eq!(r.status, 303);
    assert!(
        r.location().starts_with(paths::LINE_CONSENT),
        "{}",
        r.location()
    );
    assert_eq!(
        c.get("/api/list").await.status,
        403,
        "no API call before it"
    );
    let page = c.get(r.location()).await;
    assert!(page.body.contains("回線情報通知設定"), "{}", page.body);
    assert!(page.body.contains("通知する") && page.body.contains("決定"));
    let next = sekisho_tests::client::hidden(&page.body, "next").unwrap();
    let r = c
        .post(
            paths::LINE_CONSENT,
            &[("csrf", &page.csrf()), ("notify", "yes"), ("next", &next)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/files/report.pdf");
    assert_eq!(signed_in(&mut c).await.status, 200);

    // Remembered for the line: another user of the tenant is not asked.
    let mut o = env.closed_client("127.0.0.2", Some(WEST));
    assert_eq!(
        o.login("west-user@example.jp", GOOD_PASSWORD).await.status,
        303
    );
    assert_eq!(signed_in(&mut o).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_only_closes_the_internet_but_the_holder_can_recover() {
    let env = start().await;
    let email = "only@example.jp";
    let mut h = holder(&env, email).await;
    save_lines(&mut h, "line_and_internet", EAST).await;
    invite(&env, &mut h, "staff@example.jp").await;
    let mut staff = env.client();
    password_step(&mut staff, "staff@example.jp", GOOD_PASSWORD).await;
    enrol_app(&mut staff, env.gw.now() + 30, false).await;
    assert_eq!(signed_in(&mut staff).await.status, 200);

    // The holder switches to line only; the confirmation says what happens
    // to two-step verification.
    let menu = h.get(paths::MENU).await;
    assert!(
        menu.body.contains(paths::MENU_ACCESS_ROUTE),
        "{}",
        menu.body
    );
    let confirm = sekisho_tests::set_access_route(&mut h, "line_only").await;
    assert!(
        confirm.contains("2段階認証は自動的に無効になります"),
        "{confirm}"
    );

    // The open internet session stops on its next request.
    let r = signed_in(&mut staff).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains(LINE_ONLY), "{}", r.body);
    assert_eq!(staff.get(paths::MENU).await.status, 403);
    // A fresh internet login is refused after the user is identified.
    let mut again = env.client();
    let r = again.login("staff@example.jp", GOOD_PASSWORD).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains(LINE_ONLY));
    // The closed route works, without the second step.
    let mut office = env.closed_client("127.0.0.2", Some(EAST));
    assert_eq!(
        office
            .login("staff@example.jp", GOOD_PASSWORD)
            .await
            .location(),
        "/"
    );

    // The holder: the service and the console are closed over the
    // internet, the account menu is not.
    assert_eq!(signed_in(&mut h).await.status, 403);
    assert_eq!(h.get(paths::CONSOLE_LINES).await.status, 403);
    assert_eq!(h.get(paths::MENU_ACCESS_ROUTE).await.status, 200);
    // A new menu login over the internet works (two-step is off now).
    let mut recover = env.client();
    let page = recover.get(paths::MENU_LOGIN).await;
    let r = recover
        .post(
            paths::MENU_LOGIN,
            &[
                ("csrf", &page.csrf()),
                ("email", email),
                ("password", GOOD_PASSWORD),
                ("next", paths::MENU),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), paths::MENU);
    // ...and the ordinary login still refuses the holder.
    let mut plain = env.client();
    assert_eq!(plain.login(email, GOOD_PASSWORD).await.status, 403);

    // Back to line + internet: the staff's session works again and two-step
    // verification is back as it was.
    sekisho_tests::set_access_route(&mut recover, "line_and_internet").await;
    assert_eq!(signed_in(&mut staff).await.status, 200);
    let mut fresh = env.client();
    password_step(&mut fresh, "staff@example.jp", GOOD_PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_line_ends_its_closed_sessions() {
    let env = start().await;
    let email = "remove@example.jp";
    let mut h = holder(&env, email).await;
    save_lines(
        &mut h,
        "line_and_internet",
        &format!("{EAST}\nCAF2222222222"),
    )
    .await;
    let mut c = env.closed_client("127.0.0.2", Some(EAST));
    assert_eq!(c.login(email, GOOD_PASSWORD).await.status, 303);
    assert_eq!(signed_in(&mut c).await.status, 200);
    // The same session from another (registered) line: refused.
    c.extra = vec![("x-line-id".into(), "CAF2222222222".into())];
    assert_eq!(signed_in(&mut c).await.status, 403);
    c.extra = vec![("x-line-id".into(), EAST.into())];
    assert_eq!(signed_in(&mut c).await.status, 200);

    save_lines(&mut h, "line_and_internet", "CAF2222222222").await;
    let r = signed_in(&mut c).await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains(LINE_ERROR));
}
