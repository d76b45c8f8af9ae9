//! SECURITY.md properties that the foundation covers, one test per id.

use sekisho_policy::paths;
use sekisho_tests::{raw_request, Env, GatewayOptions, GOOD_PASSWORD};
use std::time::{Duration, Instant};

fn cookie_names(r: &sekisho_tests::Resp) -> Vec<String> {
    let mut v: Vec<String> = r
        .set_cookies()
        .iter()
        .map(|c| c.split('=').next().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn header_names(r: &sekisho_tests::Resp) -> Vec<String> {
    let mut v: Vec<String> = r
        .headers
        .keys()
        .map(|k| k.to_string())
        .filter(|k| k != "date")
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s01_every_login_failure_looks_the_same() {
    let env = Env::start().await;
    env.logged_in_holder("real@example.jp").await;
    env.invite_holder("invited@example.jp"); // registered-not-yet: cannot log in
    let mut c = env.client();
    let _ = c.get(paths::LOGIN).await; // the pre-session cookie exists from here on
    let mut answers = Vec::new();
    for email in ["nobody@example.jp", "real@example.jp", "invited@example.jp"] {
        // The same typed address in every case, so the echoed field is equal.
        let page = c.get(paths::LOGIN).await;
        let csrf = page.csrf();
        let r = c
            .post(
                paths::LOGIN,
                &[
                    ("csrf", &csrf),
                    ("email", email),
                    ("password", "Wrong-pass-123"),
                    ("next", "/"),
                ],
            )
            .await;
        let body = r.body.replace(email, "EMAIL");
        answers.push((r.status, body, header_names(&r), cookie_names(&r)));
    }
    assert_eq!(answers[0].0, 200);
    assert!(answers[0]
        .1
        .contains("メールアドレスまたはパスワードが正しくありません。"));
    assert_eq!(answers[0], answers[1], "unknown email vs wrong password");
    assert_eq!(
        answers[0], answers[2],
        "unknown email vs account that cannot log in"
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The median time of 50 failing logins for `email`.
async fn median_login_time(c: &mut sekisho_tests::Client, csrf: &str, email: &str) -> Duration {
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let r = c
            .post(
                paths::LOGIN,
                &[
                    ("csrf", csrf),
                    ("email", email),
                    ("password", "Wrong-pass-123"),
                ],
            )
            .await;
        times.push(t.elapsed());
        assert_eq!(r.status, 200);
    }
    median(times)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s02_unknown_email_costs_as_much_as_a_wrong_password() {
    // Fifty tries each: the lock must not cut them short.
    let env = Env::start_with(|o| GatewayOptions {
        extra: "[lock]\nthreshold = 1000\n".into(),
        ..o
    })
    .await;
    env.logged_in_holder("timing@example.jp").await;
    let mut c = env.client();
    let csrf = c.get(paths::LOGIN).await.csrf();
    let unknown = median_login_time(&mut c, &csrf, "ghost@example.jp").await;
    let known = median_login_time(&mut c, &csrf, "timing@example.jp").await;
    let (lo, hi) = if unknown < known {
        (unknown, known)
    } else {
        (known, unknown)
    };
    // Both run one argon2id verification; what differs is noise.
    assert!(
        hi - lo < lo / 4 + Duration::from_millis(3),
        "medians differ: unknown {unknown:?} vs known {known:?}"
    );
    assert!(
        lo > Duration::from_millis(3),
        "argon2 actually ran for unknown addresses too ({unknown:?})"
    );
}

async fn registration_refusals(env: &Env, passwords: &[&str]) -> Vec<(String, u16, String)> {
    let link = env.invite_holder(&format!("rule{}@example.jp", passwords.len()));
    let ticket = link.split("ticket=").nth(1).unwrap().to_string();
    let mut c = env.client();
    let csrf = c.get(&link).await.csrf();
    let mut out = Vec::new();
    for p in passwords {
        let r = c
            .post(
                paths::REGISTER,
                &[
                    ("csrf", &csrf),
                    ("ticket", &ticket),
                    ("step", "check"),
                    ("password", p),
                    ("password_confirm", p),
                ],
            )
            .await;
        out.push((p.to_string(), r.status, r.body));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s04_password_rule_is_enforced_by_the_server() {
    let env = Env::start().await;
    let long64 = "Quiet river stone 7 "
        .repeat(4)
        .chars()
        .take(64)
        .collect::<String>();
    let long128 = "Aa1-Kumo-no-ue-"
        .repeat(9)
        .chars()
        .take(128)
        .collect::<String>();
    let cases = [
        "Ab1!xyz",
        "abcdefgh",
        "abcdefg1",
        "kumoKUMO",
        "Mz7#kq2w",
        &long64,
        &long128,
        "さくらもちAa1",
        "🍣🍣🍣🍣Qx7z",
    ];
    let results = registration_refusals(&env, &cases).await;
    let refused = |i: usize| results[i].1 == 422;
    assert!(refused(0), "7 characters, 4 classes");
    assert!(results[0].2.contains("8文字以上にしてください"));
    assert!(refused(1), "8 characters, 1 class");
    assert!(refused(2), "8 characters, 2 classes");
    assert!(
        results[2]
            .2
            .contains("あと1種類（英大文字・記号のうち）の文字を含めてください。"),
        "{}",
        results[2].2
    );
    assert!(refused(3), "8 characters, 2 classes (upper+lower)");
    for i in 4..cases.len() {
        assert_eq!(
            results[i].1, 200,
            "{:?} should pass: {}",
            cases[i], results[i].2
        );
        assert!(results[i].2.contains("申込確認"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s05_no_truncation() {
    let env = Env::start().await;
    let link = env.invite_holder("long@example.jp");
    let password: String = format!("Tsuki-{}", "yo".repeat(60))
        .chars()
        .take(100)
        .collect();
    let mut c = env.client();
    assert_eq!(c.register(&link, &password).await.status, 200);
    let first72: String = password.chars().take(72).collect();
    let flipped: String = password
        .chars()
        .map(|ch| {
            if ch.is_lowercase() {
                ch.to_ascii_uppercase()
            } else {
                ch.to_ascii_lowercase()
            }
        })
        .collect();
    assert_eq!(
        c.login("long@example.jp", &first72).await.status,
        200,
        "first 72 characters do not log in"
    );
    assert_eq!(
        c.login("long@example.jp", &flipped).await.status,
        200,
        "case-flipped copy does not log in"
    );
    assert_eq!(c.login("long@example.jp", &password).await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s06_one_normalisation_on_every_path() {
    let env = Env::start().await;
    let link = env.invite_holder("nfkc@example.jp");
    let decomposed = "Cafe\u{301}-Latte-42";
    let precomposed = "Caf\u{e9}-Latte-42";
    let mut c = env.client();
    assert_eq!(c.register(&link, decomposed).await.status, 200);
    assert_eq!(
        c.login("nfkc@example.jp", precomposed).await.status,
        303,
        "precomposed form logs in"
    );
    let mut d = env.client();
    assert_eq!(
        d.login("nfkc@example.jp", decomposed).await.status,
        303,
        "decomposed form logs in"
    );
    let mut w = env.client();
    assert_eq!(
        w.login("nfkc@example.jp", "Ｃａｆé-Ｌａｔｔｅ-４２")
            .await
            .status,
        303,
        "full-width folds by NFKC"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s07_huge_password_is_refused_before_hashing_and_starves_nothing() {
    let env = Env::start().await;
    env.logged_in_holder("busy@example.jp").await;
    let mut c = env.client();
    let csrf = c.get(paths::LOGIN).await.csrf();
    // The page: a body four times the form cap (small enough to be sent
    // whole before the gateway answers and closes, so the client reads it).
    let large = "A".repeat(64 * 1024);
    let r = c
        .post(
            paths::LOGIN,
            &[
                ("csrf", &csrf),
                ("email", "busy@example.jp"),
                ("password", &large),
            ],
        )
        .await;
    assert_eq!(r.status, 413);
    assert!(r.body.contains("送信内容が大きすぎます"));
    let huge = "A".repeat(1024 * 1024);

    // 100 at once, while a normal login still goes through.
    let body = format!("csrf={csrf}&email=busy%40example.jp&password={huge}");
    let http = reqwest::Client::new();
    let mut floods = Vec::new();
    for _ in 0..100 {
        let req = http
            .post(env.gw.url(paths::LOGIN))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone());
        floods.push(tokio::spawn(async move {
            req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
        }));
    }
    let mut ok = env.client();
    let started = Instant::now();
    assert_eq!(ok.login("busy@example.jp", GOOD_PASSWORD).await.status, 303);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded: the login was not starved"
    );
    for f in floods {
        let status = f.await.unwrap();
        assert!(
            status == 413 || status == 0,
            "oversized forms get 413 (or a closed connection), got {status}"
        );
    }
    let metrics = env.gw.metrics().await;
    assert!(
        !metrics.contains("sekisho_hash_rejected_total 1"),
        "nothing was queued for hashing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s08_common_passwords_are_refused() {
    let env = Env::start().await;
    let results = registration_refusals(
        &env,
        &["Password1!", "Qwerty123!", "Iloveyou2024", "Sunshine!1"],
    )
    .await;
    for (p, status, body) in results {
        assert_eq!(status, 422, "{p} accepted");
        assert!(body.contains("よく使われているパスワード"), "{p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s29_new_session_id_at_login_and_the_old_one_is_deleted() {
    let env = Env::start().await;
    let mut c = env.logged_in_holder("rotate@example.jp").await;
    let first = c.cookies.get("sekisho").unwrap().clone();
    assert_eq!(c.get("/a").await.status, 200);
    let r = c.login("rotate@example.jp", GOOD_PASSWORD).await;
    assert_eq!(r.status, 303);
    let second = c.cookies.get("sekisho").unwrap().clone();
    assert_ne!(first, second, "a new id at login");
    c.cookies.insert("sekisho".into(), first);
    assert_eq!(c.get("/a").await.status, 401, "the old id no longer exists");
    c.cookies.insert("sekisho".into(), second);
    assert_eq!(c.get("/a").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s30_garbage_huge_and_duplicated_cookies_are_anonymous() {
    let env = Env::start().await;
    let c = env.logged_in_holder("cookies@example.jp").await;
    let good = c.cookies.get("sekisho").unwrap().clone();
    assert!(good.len() >= 43, "≥ 256 bits");
    let http = reqwest::Client::new();
    let cases = [
        "sekisho=garbage".to_string(),
        format!("sekisho={}", "A".repeat(10 * 1024)),
        format!("sekisho={good}; sekisho={good}"),
        format!("sekisho={good}; sekisho=other"),
        "sekisho=".to_string(),
        "sekisho=%00%ff".to_string(),
    ];
    for cookie in cases {
        let r = http
            .get(env.gw.url("/private"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "cookie {:.40}", cookie);
    }
    // Split across two Cookie fields (as HTTP/2 clients do): still one cookie.
    let r = http
        .get(env.gw.url("/private"))
        .header("cookie", "theme=dark")
        .header("cookie", format!("sekisho={good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        env.upstream.last().one("cookie"),
        "theme=dark",
        "other cookies reach the upstream, merged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s31_cookie_attributes_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    let env = Env::start_with(|o: GatewayOptions| GatewayOptions {
        tls: Some((cert, key)),
        ..o
    })
    .await;
    assert!(env.gw.base.starts_with("https://"));
    let link = env.invite_holder("tls@example.jp");
    let mut c = env.client();
    let page = c.get(paths::LOGIN).await;
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let pre = page.set_cookies()[0].to_string();
    assert!(pre.starts_with("__Host-sekisho-pre="), "{pre}");
    assert_eq!(c.register(&link, GOOD_PASSWORD).await.status, 200);
    let r = c.login("tls@example.jp", GOOD_PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let set = r
        .set_cookies()
        .iter()
        .find(|c| c.starts_with("__Host-sekisho="))
        .expect("session cookie")
        .to_string();
    for attr in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(
            set.split("; ").any(|a| a == attr),
            "{attr} missing in {set}"
        );
    }
    assert!(!set.to_ascii_lowercase().contains("domain="), "{set}");
    assert_eq!(c.get("/tls-page").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s32_old_cookie_after_idle_and_absolute_timeouts() {
    let mut env = Env::start_with(|o| GatewayOptions {
        session: "[session]\nidle_minutes = 30\nabsolute_hours = 2\n".into(),
        ..o
    })
    .await;
    let mut c = env.logged_in_holder("timeout@example.jp").await;
    // Idle: 29 minutes is fine, and refreshes last-seen; then 31 quiet minutes end it.
    env.gw.advance_clock(29 * 60);
    assert_eq!(c.get("/a").await.status, 200);
    env.gw.advance_clock(29 * 60);
    assert_eq!(
        c.get("/a").await.status,
        200,
        "activity slid the idle window"
    );
    env.gw.advance_clock(31 * 60);
    let r = c.navigate("/a").await;
    assert_eq!(r.status, 303, "idle timeout");
    assert!(r.location().starts_with("/.sekisho/login?next="));

    // Absolute: busy all along, still ends after 2 hours.
    let mut c = env.client();
    assert_eq!(
        c.login("timeout@example.jp", GOOD_PASSWORD).await.status,
        303
    );
    for _ in 0..4 {
        env.gw.advance_clock(25 * 60);
        assert_eq!(c.get("/b").await.status, 200);
    }
    env.gw.advance_clock(25 * 60);
    assert_eq!(c.get("/b").await.status, 401, "absolute timeout");
}

async fn login_with_token(c: &mut sekisho_tests::Client, csrf: &str) -> sekisho_tests::Resp {
    c.post(
        paths::LOGIN,
        &[
            ("csrf", csrf),
            ("email", "csrf@example.jp"),
            ("password", GOOD_PASSWORD),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s34_csrf_token_and_same_site_checks() {
    let env = Env::start().await;
    env.logged_in_holder("csrf@example.jp").await;
    let mut c = env.client();
    let page = c.get(paths::LOGIN).await;
    let good = page.csrf();
    let r = login_with_token(&mut c, "").await;
    assert_eq!(r.status, 403, "no token");
    assert!(r.set_cookies().iter().all(|s| !s.starts_with("sekisho=")));
    let r = login_with_token(&mut c, "forged-token").await;
    assert_eq!(r.status, 403, "wrong token");
    // A token from another browser's pre-session does not work here.
    let mut other = env.client();
    let foreign = other.get(paths::LOGIN).await.csrf();
    assert_eq!(login_with_token(&mut c, &foreign).await.status, 403);

    c.extra = vec![("sec-fetch-site".into(), "cross-site".into())];
    let r = login_with_token(&mut c, &good).await;
    assert_eq!(r.status, 403, "cross-site fetch metadata");
    // Its own words, not a lack of permission (issue 32, 7).
    assert!(
        r.body.contains("別のサイトからの送信は受け付けられません"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("権限がありません"), "{}", r.body);
    c.extra = vec![("origin".into(), "https://evil.test".into())];
    assert_eq!(
        login_with_token(&mut c, &good).await.status,
        403,
        "foreign Origin"
    );
    c.extra = vec![
        ("sec-fetch-site".into(), "same-origin".into()),
        ("origin".into(), env.gw.base.clone()),
    ];
    assert_eq!(
        login_with_token(&mut c, &good).await.status,
        303,
        "same-origin with the token"
    );

    // No state change on GET: logout by GET does nothing, and so does a
    // login attempt by GET with credentials in the query.
    assert_eq!(c.get(paths::LOGOUT).await.status, 200);
    assert_eq!(c.get("/x").await.status, 200);
    let mut g = env.client();
    let r = g
        .get("/.sekisho/login?email=csrf%40example.jp&password=Sakura-Gate-2024")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(g.get("/x").await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s35_return_paths_only_same_origin() {
    let env = Env::start().await;
    env.logged_in_holder("next@example.jp").await;
    let mut c = env.client();
    for bad in [
        "https://evil.test",
        "//evil.test",
        "/\\evil.test",
        "/%09/evil.test",
        "/%2F%2Fevil.test",
        "https:evil.test",
        "javascript:alert(1)",
        "/a\r\nX: y",
    ] {
        let r = c.login_to("next@example.jp", GOOD_PASSWORD, bad).await;
        assert_eq!(r.status, 303);
        assert_eq!(r.location(), "/", "{bad:?}");
    }
    let r = c
        .login_to("next@example.jp", GOOD_PASSWORD, "/files/a?b=c")
        .await;
    assert_eq!(r.location(), "/files/a?b=c");
    // The login page itself never echoes a dangerous next into its form.
    let page = c.get("/.sekisho/login?next=//evil.test").await;
    assert!(
        page.body.contains("name=\"next\" value=\"/\""),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s38_identity_headers_are_stripped_in_every_spelling() {
    let env = Env::start().await;
    let c = env.logged_in_holder("strip@example.jp").await;
    let cookie = format!("sekisho={}", c.cookies.get("sekisho").unwrap());
    let spoof = "GET /spoof HTTP/1.1\r\nHost: x\r\nX-Auth-User: evil\r\nx-auth-user: evil2\r\nX_Auth_Email: evil@x\r\n\
                 x-AUTH-role: admin\r\nX-Auth-Tenant: other\r\nX-Auth-Line: CAF0000000000\r\nX-Auth-Assertion: forged\r\n\
                 X-Auth-Whatever: 1\r\nConnection: keep-alive, X-Auth-Route\r\nX-Auth-Route: closed\r\n";
    let req = format!("{spoof}Cookie: {cookie}\r\n\r\n");
    let answer = raw_request(env.gw.addr, req.as_bytes(), Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let seen = env.upstream.last();
    let real_user = seen.one("x-auth-user").to_string();
    assert_ne!(real_user, "evil");
    assert_eq!(seen.one("x-auth-email"), "strip@example.jp");
    assert_eq!(seen.one("x-auth-role"), "contract_holder");
    assert_eq!(seen.one("x-auth-route"), "internet");
    assert_ne!(seen.one("x-auth-tenant"), "other");
    assert_ne!(seen.one("x-auth-assertion"), "forged");
    assert!(seen.all("x-auth-line").is_empty());
    assert!(seen.all("x-auth-whatever").is_empty());
    assert!(
        seen.headers.iter().all(|(n, _)| !n.contains('_')),
        "{:?}",
        seen.headers
    );
    // Without a session, spoofed headers reach nothing at all.
    let before = env.upstream.count();
    let answer = raw_request(
        env.gw.addr,
        format!("{spoof}\r\n").as_bytes(),
        Duration::from_secs(2),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert_eq!(env.upstream.count(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s40_ambiguous_framing_is_refused() {
    let env = Env::start().await;
    let c = env.logged_in_holder("smuggle@example.jp").await;
    let cookie = format!("sekisho={}", c.cookies.get("sekisho").unwrap());
    let cases = [
        "POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_string(),
        "POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n".to_string(),
        "POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".to_string(),
        "POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello".to_string(),
        "POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n".to_string(),
        "POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n X-Folded: y\r\n\r\nhello".to_string(),
    ];
    for (i, case) in cases.iter().enumerate() {
        // Authenticated and unauthenticated: neither reaches the upstream.
        for with_cookie in [false, true] {
            let req = if with_cookie {
                case.replacen(
                    "Host: x\r\n",
                    &format!("Host: x\r\nCookie: {cookie}\r\n"),
                    1,
                )
            } else {
                case.clone()
            };
            let smuggled = format!("{req}GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
            let answer =
                raw_request(env.gw.addr, smuggled.as_bytes(), Duration::from_millis(800)).await;
            assert!(
                answer.starts_with("HTTP/1.1 400") || answer.is_empty(),
                "case {i}: {answer:.200}"
            );
        }
    }
    assert!(
        env.upstream
            .requests()
            .iter()
            .all(|r| r.uri != "/smuggled" && r.uri != "/u"),
        "{:?}",
        env.upstream.requests()
    );
    // Bare LF is parsed unambiguously: an authenticated request still works.
    let req = format!("GET /lf HTTP/1.1\nHost: x\nCookie: {cookie}\n\n");
    let answer = raw_request(env.gw.addr, req.as_bytes(), Duration::from_millis(800)).await;
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 400"),
        "{answer:.200}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s43_huge_headers_and_bodies() {
    let env = Env::start().await;
    let mut c = env.logged_in_holder("big@example.jp").await;
    // A huge header: refused quickly.
    let started = Instant::now();
    let req = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let answer = raw_request(env.gw.addr, req.as_bytes(), Duration::from_secs(3)).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "{answer:.100}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    // A gateway form over 16 KiB: 413.
    let csrf = c.get(paths::LOGIN).await.csrf();
    let r = c
        .post(
            paths::LOGIN,
            &[
                ("csrf", &csrf),
                ("email", &"e".repeat(17 * 1024)),
                ("password", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, 413);
    // A storage upload far over any gateway limit streams through whole.
    let size: usize = 64 * 1024 * 1024;
    let cookie = format!("sekisho={}", c.cookies.get("sekisho").unwrap());
    let chunks = body_stream(size);
    let r = reqwest::Client::new()
        .put(env.gw.url("/upload/big.bin"))
        .header("cookie", cookie)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(env.upstream.last().body_len, size as u64);
    // And the gateway is still fine afterwards.
    assert_eq!(c.get("/after").await.status, 200);
}

/// A body produced piece by piece, never whole in memory.
fn body_stream(
    size: usize,
) -> impl tokio_stream::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    let chunk = bytes::Bytes::from(vec![b'z'; 1024 * 1024]);
    tokio_stream::iter((0..size / chunk.len()).map(move |_| Ok(chunk.clone())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s44_no_secrets_in_logs_or_metrics() {
    let env = Env::start().await;
    let link = env.invite_holder("secret@example.jp");
    let ticket = link.split("ticket=").nth(1).unwrap().to_string();
    let mut c = env.client();
    assert_eq!(c.register(&link, GOOD_PASSWORD).await.status, 200);
    assert_eq!(
        c.login("secret@example.jp", "Wrong-Password-77")
            .await
            .status,
        200
    );
    assert_eq!(
        c.login("secret@example.jp", GOOD_PASSWORD).await.status,
        303
    );
    let session = c.cookies.get("sekisho").unwrap().clone();
    let pre = c.cookies.get("sekisho-pre").unwrap().clone();
    assert_eq!(c.get("/files").await.status, 200);
    let logs = env.gw.logs();
    let metrics = env.gw.metrics().await;
    assert!(
        logs.contains("\"login_failed\"") && logs.contains("\"login_succeeded\""),
        "audit events are logged"
    );
    for secret in [
        GOOD_PASSWORD,
        "Wrong-Password-77",
        ticket.as_str(),
        session.as_str(),
        pre.as_str(),
    ] {
        assert!(!logs.contains(secret), "a secret in the logs");
        assert!(!metrics.contains(secret), "a secret in the metrics");
    }
    assert!(
        !metrics.contains("secret@example.jp"),
        "no addresses in metric labels"
    );
    assert!(metrics.contains("sekisho_login_attempts_total{outcome=\"failed\"} 1"));
    // Metrics are only on the internal listener.
    let public = reqwest::get(env.gw.url("/metrics")).await.unwrap();
    assert_eq!(public.status().as_u16(), 401);
    assert!(!public
        .text()
        .await
        .unwrap()
        .contains("sekisho_requests_total"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s41_path_tricks_never_skip_authentication() {
    let env = Env::start().await;
    let holder = env.logged_in_holder("paths@example.jp").await;
    let session = holder
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let tricks = [
        "/.sekisho/../files/secret",
        "/.sekisho/%2e%2e/files/secret",
        "/.sekisho/%2E%2E/%2E%2E/files/secret",
        "/.sekisho/./login/../../files/secret",
        "/.sekisho//../files/secret",
        "/.sekisho/login;/../../files/secret",
        "/.sekisho/login%00/../../files/secret",
        "/.sekisho/%2f..%2ffiles/secret",
        "//files/secret",
        "/files;/.sekisho/login",
        "/files%00/.sekisho/login",
        "/.sekisho%2flogin",
        "/%2e%2e/.sekisho/login",
        "/files/../.sekisho/jwks.json/../../files/secret",
    ];
    for path in tricks {
        // Without a session: never the upstream, never a gateway page
        // that treats the request as something else.
        let before = env.upstream.count();
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            env.gw.addr
        );
        let answer = raw_request(env.gw.addr, req.as_bytes(), Duration::from_secs(3)).await;
        let status: u16 = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{path}: no status in {answer:?}"));
        assert!(
            matches!(status, 303 | 400 | 401 | 404),
            "{path}: {status} {answer}"
        );
        assert_eq!(env.upstream.count(), before, "{path} reached the upstream");
        // With a session, a path under the gateway's prefix is still never
        // forwarded (the upstream might resolve the `..` to its own paths);
        // anything else is forwarded only with the gateway's identity.
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: {session}\r\nConnection: close\r\n\r\n",
            env.gw.addr
        );
        let answer = raw_request(env.gw.addr, req.as_bytes(), Duration::from_secs(3)).await;
        if path.starts_with(paths::PREFIX) {
            assert_eq!(env.upstream.count(), before, "{path}: {answer}");
            assert!(!answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
        } else if env.upstream.count() > before {
            let seen = env.upstream.last();
            assert_eq!(seen.one("x-auth-email"), "paths@example.jp", "{path}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s47_client_forwarding_headers_never_reach_the_upstream() {
    let env = Env::start().await;
    let c = env.logged_in_holder("forwarding@example.jp").await;
    let cookie = format!("sekisho={}", c.cookies.get("sekisho").unwrap());
    let host = env.gw.addr.to_string();
    let req = format!(
        "GET /fwd HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nForwarded: for=6.6.6.6;host=evil\r\n\
         X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil.example\r\nX_Forwarded_Proto: https\r\n\
         X-Forwarded-Port: 1\r\nX-Real-IP: 6.6.6.6\r\nTrue-Client-IP: 6.6.6.6\r\nX-Client-IP: 6.6.6.6\r\n\
         CF-Connecting-IP: 6.6.6.6\r\n\r\n"
    );
    let answer = raw_request(env.gw.addr, req.as_bytes(), Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.300}");
    let seen = env.upstream.last();
    // The gateway's own values, once each.
    assert_eq!(seen.all("x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(seen.all("x-forwarded-host"), [host.as_str()]);
    assert_eq!(seen.all("x-forwarded-proto"), ["http"]);
    assert_eq!(
        seen.all("forwarded"),
        [format!("for=127.0.0.1;proto=http;host=\"{host}\"").as_str()]
    );
    for gone in [
        "x-forwarded-port",
        "x-real-ip",
        "true-client-ip",
        "x-client-ip",
        "cf-connecting-ip",
    ] {
        assert!(seen.all(gone).is_empty(), "{gone}: {:?}", seen.headers);
    }
    assert!(seen.headers.iter().all(|(_, v)| !v.contains("6.6.6.6")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s48_request_targets_that_are_not_origin_form_are_refused() {
    let env = Env::start().await;
    let c = env.logged_in_holder("targets@example.jp").await;
    let cookie = format!("sekisho={}", c.cookies.get("sekisho").unwrap());
    let host = env.gw.addr.to_string();
    let before = env.upstream.count();
    for target in [
        "../x".to_string(),
        "*".to_string(),
        "x".to_string(),
        "http://other.example/x".to_string(),
        format!("http://user@{host}/x"),
    ] {
        let req = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n\r\n");
        let answer = raw_request(env.gw.addr, req.as_bytes(), Duration::from_secs(2)).await;
        assert!(
            answer.starts_with("HTTP/1.1 400") || answer.is_empty(),
            "{target}: {answer:.200}"
        );
    }
    assert_eq!(
        env.upstream.count(),
        before,
        "{:?}",
        env.upstream.requests()
    );
    // Absolute-form for this host is a proxy's request for us: served,
    // and sent on in origin-form.
    let req =
        format!("GET http://{host}/abs?q=1 HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n\r\n");
    let answer = raw_request(env.gw.addr, req.as_bytes(), Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.300}");
    assert_eq!(env.upstream.last().uri, "/abs?q=1");
}

/// Runs `sekisho run` on `config` and waits (bounded) for it to end.
fn run_to_exit(config: &str) -> (Option<i32>, String) {
    run_to_exit_under(config, None)
}

/// The gateway's binary, under an open-file limit (soft and hard) when
/// `nofile` is given.
fn sekisho_command(nofile: Option<u64>) -> std::process::Command {
    match nofile {
        None => std::process::Command::new(sekisho_tests::gateway::binary()),
        Some(n) => {
            let mut c = std::process::Command::new("bash");
            c.args(["-c", &format!("ulimit -n {n} && exec \"$@\""), "bash"])
                .arg(sekisho_tests::gateway::binary());
            c
        }
    }
}

fn run_to_exit_under(config: &str, nofile: Option<u64>) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sekisho.toml");
    std::fs::write(
        &file,
        config.replace("@DIR@", &dir.path().display().to_string()),
    )
    .unwrap();
    let mut child = sekisho_command(nofile)
        .args(["run", "--config"])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status.and_then(|s| s.code()), err)
}

fn config_on(listen: &str, extra: &str) -> String {
    format!(
        "service_name = \"x\"\n[internet]\nlisten = \"{listen}\"\npublic_url = \"http://{listen}\"\n\
         [upstream]\naddress = \"127.0.0.1:9\"\n[store]\npath = \"@DIR@/store.sqlite3\"\n\
         [mail]\nfrom = \"gw@example.jp\"\ntransport = \"outbox\"\noutbox_dir = \"@DIR@/outbox\"\n\
         [assertion]\nsigning_key_file = \"@DIR@/key.pem\"\ngenerate_if_missing = true\n\
         [two_step]\nseed_key_file = \"@DIR@/seed.key\"\ngenerate_seed_key = true\n\
         [development]\ninsecure_http_cookies = true\n{extra}"
    )
}

#[test]
fn s49_a_listener_that_cannot_be_bound_ends_the_start_with_its_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, err) = run_to_exit(&config_on(&addr, ""));
    assert!(matches!(code, Some(c) if c != 0), "{code:?}: {err}");
    assert!(
        err.contains("internet.listen") && err.contains(&addr),
        "{err}"
    );
    // The metrics listener too, on an address that is in use.
    let free = format!("127.0.0.1:{}", sekisho_tests::free_port("127.0.0.1"));
    let (code, err) = run_to_exit(&config_on(
        &free,
        &format!("[metrics]\nlisten = \"{addr}\"\n"),
    ));
    assert!(matches!(code, Some(c) if c != 0), "{code:?}: {err}");
    assert!(err.contains("metrics.listen"), "{err}");
}

#[test]
fn s49_colliding_listeners_and_out_of_range_numbers_are_refused_by_key() {
    let free = format!("127.0.0.1:{}", sekisho_tests::free_port("127.0.0.1"));
    let (code, err) = run_to_exit(&config_on(
        &free,
        &format!("[metrics]\nlisten = \"{free}\"\n"),
    ));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("metrics.listen"), "{err}");
    for (section, line, key) in [
        (
            "[session]",
            "idle_minutes = 9223372036854775807",
            "session.idle_minutes",
        ),
        (
            "[session]",
            "absolute_hours = 9223372036854775807",
            "session.absolute_hours",
        ),
        (
            "[two_step]",
            "trust_days = 9223372036854775807",
            "two_step.trust_days",
        ),
        ("[store]", "timeout_ms = 4294967296", "store.timeout_ms"),
    ] {
        // Into its section: the base config has [store] already.
        let base = config_on(&free, "");
        let text = if base.contains(section) {
            base.replace(&format!("{section}\n"), &format!("{section}\n{line}\n"))
        } else {
            format!("{base}{section}\n{line}\n")
        };
        let (code, err) = run_to_exit(&text);
        assert_eq!(code, Some(2), "{key}: {err}");
        assert!(
            err.contains(key) && !err.contains("panicked"),
            "{key}: {err}"
        );
    }
}

/// `sekisho check-config` on `config` (with @DIR@ a fresh folder, which
/// `prepare` may fill first): its exit code and what it said.
fn check_config(config: &str, prepare: impl FnOnce(&std::path::Path)) -> (Option<i32>, String) {
    check_config_under(config, prepare, None)
}

fn check_config_under(
    config: &str,
    prepare: impl FnOnce(&std::path::Path),
    nofile: Option<u64>,
) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path());
    let file = dir.path().join("sekisho.toml");
    std::fs::write(
        &file,
        config.replace("@DIR@", &dir.path().display().to_string()),
    )
    .unwrap();
    let out = sekisho_command(nofile)
        .arg("check-config")
        .arg(&file)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), said)
}

#[test]
fn s49_check_config_and_run_open_the_key_and_the_store_the_same_way() {
    let free = format!("127.0.0.1:{}", sekisho_tests::free_port("127.0.0.1"));
    let base = config_on(&free, "");
    assert_eq!(
        check_config(&base, |_| {}).0,
        Some(0),
        "a fresh folder is fine"
    );
    type Prepare = fn(&std::path::Path);
    let cases: [(&str, &str, Prepare); 4] = [
        ("assertion.signing_key_file", "is a folder", |d| {
            std::fs::create_dir(d.join("key.pem")).unwrap()
        }),
        ("assertion.signing_key_file", "not an Ed25519", |d| {
            std::fs::write(d.join("key.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n").unwrap()
        }),
        ("store.path", "is a folder", |d| {
            std::fs::create_dir(d.join("store.sqlite3")).unwrap()
        }),
        ("store.path", "not a Sekisho store", |d| {
            std::fs::write(d.join("store.sqlite3"), "x".repeat(4096)).unwrap()
        }),
    ];
    for (key, says, prepare) in cases {
        let (code, said) = check_config(&base, prepare);
        assert_eq!(code, Some(2), "{key}: {said}");
        assert!(said.contains(key) && said.contains(says), "{key}: {said}");
    }
    // A store in a folder that does not exist: refused, and not made.
    let nested = base.replace("@DIR@/store.sqlite3", "@DIR@/missing/store.sqlite3");
    let (code, said) = check_config(&nested, |_| {});
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("store.path") && said.contains("does not exist"),
        "{said}"
    );
    // `run` refuses the same, before anything starts.
    let (code, err) = run_to_exit(&nested);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("store.path"), "{err}");
}

/// A connection cap the process's open files cannot hold refuses
/// `check-config` and `run` by its key; unset, the cap is what fits.
#[test]
fn s54_a_connection_cap_over_the_open_file_limit_refuses_the_start() {
    let free = format!("127.0.0.1:{}", sekisho_tests::free_port("127.0.0.1"));
    // 2,048 descriptors, 1,024 kept: 1,024 connections fit.
    let too_many = config_on(&free, "[limits]\nconnections_total = 1025\n");
    let (code, said) = check_config_under(&too_many, |_| {}, Some(2048));
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("limits.connections_total") && said.contains("lower it to 1024"),
        "{said}"
    );
    let (code, err) = run_to_exit_under(&too_many, Some(2048));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("limits.connections_total"), "{err}");
    let fits = config_on(&free, "[limits]\nconnections_total = 1024\n");
    assert_eq!(check_config_under(&fits, |_| {}, Some(2048)).0, Some(0));
    assert_eq!(
        check_config_under(&config_on(&free, ""), |_| {}, Some(2048)).0,
        Some(0),
        "an unset cap is what fits"
    );
}

/// `check-config` opens the listeners' certificates and keys, and refuses
/// a key that is not the certificate's.
#[test]
fn s54_check_config_refuses_a_key_that_does_not_match_its_certificate() {
    let free = format!("127.0.0.1:{}", sekisho_tests::free_port("127.0.0.1"));
    let one = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(one.path());
    let (_, other_key) = sekisho_tests::test_certificate(other.path());
    let with = |key: &std::path::Path| {
        config_on(
            &free,
            &format!(
                "[internet.tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
                cert.display(),
                key.display()
            ),
        )
    };
    assert_eq!(check_config(&with(&key), |_| {}).0, Some(0));
    let (code, said) = check_config(&with(&other_key), |_| {});
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("internet.tls") && said.contains("does not go with"),
        "{said}"
    );
    let (code, said) = check_config(&with(&cert), |_| {});
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("internet.tls") && said.contains("private key"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s52_a_client_raises_no_error_line_and_no_query_is_logged() {
    use tokio::io::AsyncWriteExt;
    let env = Env::start().await;
    let c = env.logged_in_holder("quiet@example.jp").await;
    let cookie = format!("sekisho={}", c.cookies.get("sekisho").unwrap());
    let secret = "sharetoken-5f2c9a";
    // Bodies cut short and connections dropped mid-request, on proxied
    // paths whose query carries a share link's secret.
    for i in 0..5 {
        let mut s = tokio::net::TcpStream::connect(env.gw.addr).await.unwrap();
        let req = format!(
            "PUT /upload/{i}?token={secret} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\
             Content-Length: 100000\r\n\r\nonly a little",
            env.gw.addr
        );
        s.write_all(req.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(s);
    }
    // A request that reached the upstream, for the logs to have had a chance.
    let r = raw_request(
        env.gw.addr,
        format!("GET /after?token={secret} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n")
            .as_bytes(),
        Duration::from_secs(2),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r:.200}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = env.gw.logs();
    assert!(
        !logs.contains(secret),
        "a query string reached the logs:\n{logs}"
    );
    let errors: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .collect();
    assert!(
        errors.is_empty(),
        "error lines a client raised:\n{}",
        errors.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s57_identifiers_no_one_can_have_stop_before_the_embedded_store() {
    let env = Env::start().await;
    sekisho_tests::drills::s57_identifiers_no_one_can_have_stop_before_the_store(&env).await;
    // The same over TLS.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    let env = Env::start_with(|o| GatewayOptions {
        tls: Some((cert, key)),
        ..o
    })
    .await;
    sekisho_tests::drills::s57_identifiers_no_one_can_have_stop_before_the_store(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s63_a_new_browser_is_mailed_and_not_me_locks_the_account_down_on_the_embedded_store() {
    let env = Env::start().await;
    sekisho_tests::drills::s63_a_new_browser_is_mailed_and_not_me_locks_the_account_down(&env)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s62_a_stolen_session_cookie_opens_nothing_without_its_key_on_the_embedded_store() {
    let mut env = Env::start().await;
    sekisho_tests::drills::s62_a_stolen_session_cookie_opens_nothing_without_its_key(&mut env)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s62_a_gateway_with_binding_off_offers_none() {
    let env = Env::start_with(|mut o| {
        o.extra.push_str("[device_binding]\nenabled = false\n");
        o
    })
    .await;
    let mut c = env.logged_in_holder("holder62off@example.jp").await;
    let r = c
        .login("holder62off@example.jp", sekisho_tests::GOOD_PASSWORD)
        .await;
    assert_eq!(r.status, 303);
    assert!(r.header("secure-session-registration").is_none());
    let key = sekisho_tests::dbsc::SoftDbsc::new();
    let r = key
        .post_proof(
            &mut c,
            paths::DBSC_REGISTER,
            None,
            Some(&key.proof("x", true)),
        )
        .await;
    assert_eq!(r.status, 404);
    let menu = c.get(paths::MENU).await;
    assert!(!menu.body.contains(paths::MENU_DEVICE_BINDING));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s63_the_holder_can_turn_the_new_browser_mail_off() {
    let env = Env::start().await;
    let email = "holder63off@example.jp";
    let mut holder = env.logged_in_holder(email).await;
    let page = holder.get(paths::MENU).await;
    assert!(
        page.body.contains("新しいブラウザからのログイン通知"),
        "{}",
        page.body
    );
    let choice = holder.get(paths::MENU_NEW_DEVICE_MAIL).await;
    assert_eq!(choice.status, 200);
    let confirm = holder
        .post(
            paths::MENU_NEW_DEVICE_MAIL,
            &[("csrf", &choice.csrf()), ("enabled", "off")],
        )
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let done = holder
        .post(
            paths::MENU_NEW_DEVICE_MAIL_CONFIRM,
            &[
                ("csrf", &confirm.csrf()),
                ("enabled", "off"),
                ("understood", "yes"),
            ],
        )
        .await;
    assert!(done.status == 200 || done.status == 303, "{}", done.body);
    let mut elsewhere = env.client();
    assert_eq!(elsewhere.login(email, GOOD_PASSWORD).await.status, 303);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        env.smtp
            .mails()
            .iter()
            .all(|m| !m.subject.contains("新しいブラウザからのログイン")),
        "no mail while off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s64_listed_passwords_are_refused_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let filter =
        sekisho_tests::breached::filter_of(dir.path(), &[sekisho_tests::breached::LISTED_PASSWORD]);
    let mut env = Env::start_with(|o| o.breached_filter(&filter)).await;
    sekisho_tests::drills::s64_listed_passwords_are_refused_and_a_listed_login_is_asked_to_change(
        &mut env,
        dir.path(),
    )
    .await;
}

#[test]
fn s64_a_missing_or_damaged_filter_stops_the_start_with_its_key() {
    let free = format!("127.0.0.1:{}", sekisho_tests::free_port("127.0.0.1"));
    let config = config_on(
        &free,
        "[password]\nbreached_filter_file = \"@DIR@/breached.filter\"\n",
    );
    let (code, said) = check_config(&config, |_| {});
    assert_eq!(code, Some(2), "missing: {said}");
    assert!(said.contains("password.breached_filter_file"), "{said}");
    let (code, said) = check_config(&config, |d| {
        std::fs::write(d.join("breached.filter"), b"SKBRCH01 not really").unwrap()
    });
    assert_eq!(code, Some(2), "damaged: {said}");
    assert!(said.contains("not a breach filter"), "{said}");
    let (code, said) = check_config(&config, |d| {
        sekisho_tests::breached::filter_of(d, &["Kyoto-Temple-2019"]);
    });
    assert_eq!(code, Some(0), "a filter made by the import: {said}");
}

/// Issue 32 (9): `check-config` takes its file as `FILE`, `--config FILE`
/// or `SEKISHO_CONFIG`, says how when none is given, and names unknown
/// keys and wrong values in one pass.
#[test]
fn check_config_takes_its_file_every_way_and_says_everything_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let free = format!("127.0.0.1:{}", sekisho_tests::free_port("127.0.0.1"));
    let good = config_on(&free, "").replace("@DIR@", &dir.path().display().to_string());
    let file = dir.path().join("sekisho.toml");
    std::fs::write(&file, &good).unwrap();
    let check = |args: &[&str], env: Option<&std::path::Path>| {
        let mut c = sekisho_command(None);
        c.arg("check-config")
            .args(args)
            .env_remove("SEKISHO_CONFIG");
        if let Some(e) = env {
            c.env("SEKISHO_CONFIG", e);
        }
        let out = c.output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), said)
    };
    let path = file.display().to_string();
    assert_eq!(check(&[&path], None).0, Some(0));
    assert_eq!(check(&["--config", &path], None).0, Some(0));
    assert_eq!(check(&[], Some(&file)).0, Some(0));
    let (code, said) = check(&[], None);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("--config FILE"), "{said}");
    // An unknown key and a wrong value, named together.
    let bad = good.replace(
        "[development]",
        "[session]\nidle_minute = 5\nidle_minutes = 0\n[development]",
    );
    std::fs::write(&file, bad).unwrap();
    let (code, said) = check(&[&path], None);
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("session.idle_minute: unknown key")
            && said.contains("session.idle_minutes: "),
        "{said}"
    );
}

/// The session cache is told, not guessing (P16's promise on the embedded
/// store): with views cached for up to a minute, an admin command's
/// revocation in another process reaches the gateway through the file's
/// change log and the open session is refused on its next request, well
/// inside the cache's bound; then a removal the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_commands_change_reaches_the_embedded_gateways_cache_at_once() {
    let env = Env::start().await;
    let holder = "told-holder@example.jp";
    let mut admin = env.logged_in_holder(holder).await;
    let email = "told@example.jp";
    let mut user = env.invited_user(&mut admin, "Told", email, "user").await;
    assert_eq!(user.get("/files/told").await.status, 200, "cached now");
    for (command, and_then) in [("end-sessions", 303), ("remove-user", 200)] {
        assert_eq!(user.get("/files/told").await.status, 200, "cached");
        let out = env.gw.admin(&[command, email, "--yes"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let told = std::time::Instant::now();
        let mut status = 200;
        while told.elapsed() < std::time::Duration::from_secs(10) {
            status = user.get("/files/told").await.status;
            if status == 401 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(status, 401, "{command}: refused long before the 60 s bound");
        assert_eq!(admin.get("/files/told").await.status, 200, "others go on");
        // After the revocation the user signs in again; after the removal
        // there is no account (the login page again).
        user = env.client();
        let r = user.login(email, GOOD_PASSWORD).await;
        assert_eq!(r.status, and_then, "{command}: {}", r.body);
    }
}
