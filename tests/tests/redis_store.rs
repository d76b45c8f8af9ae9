//! Several gateways on one Redis (PRODUCT §1; SECURITY S11, S33): a real
//! `redis-server` per test on a free loopback port, two gateway processes
//! sharing it, and the outage drills (stopped, `CLIENT PAUSE`, `DEBUG
//! SLEEP`, restarted with its AOF).

use sekisho_policy::paths;
use sekisho_tests::redis::RedisServer;
use sekisho_tests::{Client, Env, Gateway, GatewayOptions, GOOD_PASSWORD};
use std::time::{Duration, Instant};

/// Long enough that only a pushed notice, never the cache's expiry, can
/// explain a change seen at once on the other gateway.
const LONG_CACHE_MS: u64 = 10_000;

struct Pair {
    redis: RedisServer,
    env: Env,
    b: Gateway,
}

async fn two_gateways(timeout_ms: u64, cache_ttl_ms: u64, aof: bool) -> Pair {
    let redis = if aof {
        RedisServer::start_with_aof()
    } else {
        RedisServer::start()
    };
    let url = redis.url();
    let env = Env::start_with(|o: GatewayOptions| o.redis(&url, timeout_ms, cache_ttl_ms)).await;
    let key = env.gw.data_dir().join("data/key.pem");
    let opts = GatewayOptions {
        signing_key: Some(key),
        ..GatewayOptions::new(env.upstream.addr)
            .smtp(env.smtp.port)
            .redis(&url, timeout_ms, cache_ttl_ms)
    };
    let b = tokio::task::spawn_blocking(move || Gateway::start(opts))
        .await
        .unwrap();
    Pair { redis, env, b }
}

/// A client of gateway B carrying `a`'s cookies.
fn on_b(p: &Pair, a: &Client) -> Client {
    let mut c = Client::new(&p.b.base);
    c.cookies = a.cookies.clone();
    c
}

/// Polls `path` on `c` until it answers `status` (three seconds at most:
/// well inside the 10 s the cache would otherwise hold a session).
async fn becomes(c: &mut Client, path: &str, status: u16) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let got = c.get(path).await.status;
        if got == status || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_on_one_redis_behave_as_one() {
    let p = two_gateways(2000, LONG_CACHE_MS, false).await;
    let email = "shared@example.jp";
    // A login on A browses on B.
    let mut a = p.env.logged_in_holder(email).await;
    let mut b = on_b(&p, &a);
    assert_eq!(b.get("/files/one").await.status, 200);
    assert_eq!(p.env.upstream.last().one("x-auth-email"), email);

    // A logout on A ends the session on B at once (B's cache holds it).
    let page = a.get(paths::LOGOUT).await;
    a.post(paths::LOGOUT, &[("csrf", &page.csrf())]).await;
    assert_eq!(
        becomes(&mut b, "/files/one", 401).await,
        401,
        "logout pushed"
    );

    // Logging out everywhere on B ends A's session.
    let mut a = p.env.client();
    assert_eq!(a.login(email, GOOD_PASSWORD).await.status, 303);
    assert_eq!(a.get("/files/two").await.status, 200);
    let mut b = on_b(&p, &a);
    let page = b.get(paths::MENU_SESSIONS).await;
    assert_eq!(page.status, 200, "{}", page.body);
    b.post(paths::MENU_SESSIONS_END_ALL, &[("csrf", &page.csrf())])
        .await;
    assert_eq!(
        becomes(&mut a, "/files/two", 401).await,
        401,
        "revocation pushed"
    );

    // Failures on A and B add to one lock count (10 in all).
    let mut x = p.env.client();
    let mut y = Client::new(&p.b.base);
    for _ in 0..5 {
        assert_eq!(x.login(email, "Wrong-Pass-123").await.status, 200);
        assert_eq!(y.login(email, "Wrong-Pass-123").await.status, 200);
    }
    let r = x.login(email, GOOD_PASSWORD).await;
    assert!(
        r.body.contains("アカウントがブロックされました"),
        "{}",
        r.body
    );
    let r = y.login(email, GOOD_PASSWORD).await;
    assert!(
        r.body.contains("アカウントがブロックされました"),
        "{}",
        r.body
    );
    let unlock = p
        .env
        .smtp
        .wait_for(email, "アカウントロック")
        .link("/.sekisho/unlock?ticket=")
        .unwrap();
    // ...and the unblock link mailed by one works on the other.
    let path = &unlock[unlock.find(paths::PREFIX).unwrap()..];
    let page = y.get(path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let ticket = path.split("ticket=").nth(1).unwrap();
    let r = y
        .post(paths::UNLOCK, &[("csrf", &page.csrf()), ("ticket", ticket)])
        .await;
    assert!(r.status == 200 || r.status == 303, "{}", r.body);
    let mut holder = p.env.client();
    assert_eq!(holder.login(email, GOOD_PASSWORD).await.status, 303);

    // A route change on A stops B's internet sessions on their next request.
    let staff = p
        .env
        .invited_user(&mut holder, "利用者", "staff@example.jp", "user")
        .await;
    let mut staff_b = on_b(&p, &staff);
    assert_eq!(staff_b.get("/files/three").await.status, 200);
    sekisho_tests::set_access_route(&mut holder, "line_only").await;
    assert_eq!(
        becomes(&mut staff_b, "/files/three", 403).await,
        403,
        "route change pushed"
    );
    sekisho_tests::set_access_route(&mut holder, "line_and_internet").await;
    assert_eq!(becomes(&mut staff_b, "/files/three", 200).await, 200);

    // A user removed on A is gone on B at once.
    p.env.remove_user(&mut holder, "staff@example.jp").await;
    assert_eq!(
        becomes(&mut staff_b, "/files/three", 401).await,
        401,
        "removal pushed"
    );
    assert!(p.redis.is_running());
}

/// Waits for `/.sekisho/readyz` on `c` to answer `status`.
async fn readiness(c: &mut Client, status: u16) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = c.get(paths::READYZ).await.status;
        if got == status || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A protected GET fails closed: a 503 page, quickly, and the upstream
/// never sees the request.
async fn fails_closed(p: &Pair, c: &mut Client, what: &str) {
    let before = p.env.upstream.count();
    let started = Instant::now();
    let r = c.get("/files/outage").await;
    assert_eq!(r.status, 503, "{what}: {}", r.body);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{what}: answered within the store timeout, not hung"
    );
    assert_eq!(p.env.upstream.count(), before, "{what}: never proxied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s33_redis_outage_fails_closed_and_recovers() {
    let mut p = two_gateways(500, 100, true).await;
    let email = "outage@example.jp";
    let mut c = p.env.logged_in_holder(email).await;
    assert_eq!(c.get("/files/before").await.status, 200);

    // Stopped.
    p.redis.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    fails_closed(&p, &mut c, "stopped").await;
    let mut fresh = p.env.client();
    let r = fresh.login(email, GOOD_PASSWORD).await;
    assert_eq!(r.status, 503, "logins fail with a clear page: {}", r.body);
    assert_eq!(readiness(&mut c, 503).await, 503);
    let metrics = p.env.gw.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("sekisho_store_errors_total") && !l.ends_with(" 0")),
        "{metrics}"
    );

    // Back, with its AOF: the session written before the outage still
    // works, on both gateways, without restarting them.
    p.redis.restart();
    assert_eq!(readiness(&mut c, 200).await, 200, "recovers by itself");
    assert_eq!(becomes(&mut c, "/files/after", 200).await, 200);
    let mut b = on_b(&p, &c);
    assert_eq!(becomes(&mut b, "/files/after", 200).await, 200);

    // Paused: calls wait on Redis and time out.
    p.redis.cli(&["CLIENT", "PAUSE", "3000", "ALL"]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    fails_closed(&p, &mut c, "paused").await;
    p.redis.cli(&["CLIENT", "UNPAUSE"]);
    assert_eq!(becomes(&mut c, "/files/after", 200).await, 200);

    // Slow: the server itself sleeps.
    let port = p.redis.addr.port().to_string();
    let sleeper = std::thread::spawn(move || {
        std::process::Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port, "DEBUG", "SLEEP", "2"])
            .output()
            .unwrap();
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    fails_closed(&p, &mut c, "slow").await;
    sleeper.join().unwrap();
    assert_eq!(becomes(&mut c, "/files/after", 200).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_export_and_import_move_a_deployment_to_redis() {
    use std::os::unix::fs::PermissionsExt;
    // A deployment on the embedded store, with a signed-in holder.
    let env = Env::start().await;
    let email = "move@example.jp";
    let a = env.logged_in_holder(email).await;
    let dump = env.gw.data_dir().join("export.json");
    let out = env.gw.admin(&["export", "--file", dump.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = std::fs::metadata(&dump).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    let again = env.gw.admin(&["export", "--file", dump.to_str().unwrap()]);
    assert!(!again.status.success(), "an export never overwrites a file");

    // The same deployment on Redis.
    let redis = RedisServer::start_with_aof();
    let opts = GatewayOptions {
        signing_key: Some(env.gw.data_dir().join("data/key.pem")),
        ..GatewayOptions::new(env.upstream.addr)
            .smtp(env.smtp.port)
            .redis(&redis.url(), 2000, 1000)
    };
    let mut b = tokio::task::spawn_blocking(move || Gateway::start(opts))
        .await
        .unwrap();
    let out = b.admin(&["import", "--file", dump.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let twice = b.admin(&["import", "--file", dump.to_str().unwrap()]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("only into an empty store"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
    let garbage = env.gw.data_dir().join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    let bad = b.admin(&["import", "--file", garbage.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an export"));
    // Restarted on the imported secrets, the gateway knows the session and
    // the password.
    tokio::task::spawn_blocking(move || {
        b.restart();
        b
    })
    .await
    .map(|b| async move {
        let mut moved = Client::new(&b.base);
        moved.cookies = a.cookies.clone();
        assert_eq!(moved.get("/files/moved").await.status, 200);
        let mut fresh = Client::new(&b.base);
        assert_eq!(fresh.login(email, GOOD_PASSWORD).await.status, 303);
        let users = b.admin(&["users"]);
        assert!(String::from_utf8_lossy(&users.stdout).contains(email));
    })
    .unwrap()
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_failover_moves_the_gateway_to_the_new_primary() {
    use sekisho_tests::redis::Sentinel;
    let mut primary = RedisServer::start_with_aof();
    let replica = RedisServer::replica_of(&primary);
    let sentinel = Sentinel::start(&primary, "sekisho");
    // The sentinel learns of the replica from the primary.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !sentinel
        .cli(&["SENTINEL", "replicas", "sekisho"])
        .contains(&replica.addr.port().to_string())
    {
        assert!(
            Instant::now() < deadline,
            "the sentinel never saw the replica"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let store = format!(
        "[store]\nbackend = \"redis\"\ntimeout_ms = 500\ncache_ttl_ms = 100\n[store.redis]\nsentinels = [\"{}\"]\nmaster_name = \"sekisho\"\n",
        sentinel.url()
    );
    let env = Env::start_with(|o: GatewayOptions| GatewayOptions { store, ..o }).await;
    let email = "failover@example.jp";
    let mut c = env.logged_in_holder(email).await;
    assert_eq!(c.get("/files/before").await.status, 200);
    // Everything written so far has reached the replica.
    let deadline = Instant::now() + Duration::from_secs(15);
    while primary.cli(&["WAIT", "1", "1000"]).trim() != "1" {
        assert!(
            Instant::now() < deadline,
            "the replica never caught up: {}",
            primary.cli(&["INFO", "replication"])
        );
    }

    primary.stop();
    // Past the session cache's life, every request asks the store.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut statuses = Vec::new();
    loop {
        let s = c.get("/files/during").await.status;
        statuses.push(s);
        if s == 200 {
            break;
        }
        assert!(s == 503, "fails closed meanwhile, got {s}");
        assert!(
            Instant::now() < deadline,
            "never moved to the new primary: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(statuses.contains(&503), "the outage was seen: {statuses:?}");
    let now_primary = sentinel.cli(&["SENTINEL", "get-master-addr-by-name", "sekisho"]);
    assert!(
        now_primary.contains(&replica.addr.port().to_string()),
        "the replica was promoted: {now_primary}"
    );
    // The session from before, and new writes, on the new primary.
    assert_eq!(c.get("/files/after").await.status, 200);
    let mut fresh = env.client();
    assert_eq!(fresh.login(email, GOOD_PASSWORD).await.status, 303);
    assert!(replica.cli(&["DBSIZE"]).trim().parse::<u64>().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s57_identifiers_no_one_can_have_stop_before_redis() {
    let redis = RedisServer::start();
    let url = redis.url();
    let env = Env::start_with(|o: GatewayOptions| o.redis(&url, 2000, 1000)).await;
    sekisho_tests::drills::s57_identifiers_no_one_can_have_stop_before_the_store(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s62_a_stolen_session_cookie_opens_nothing_without_its_key_on_redis() {
    let redis = RedisServer::start();
    let url = redis.url();
    let mut env = Env::start_with(|o: GatewayOptions| o.redis(&url, 2000, 1000)).await;
    sekisho_tests::drills::s62_a_stolen_session_cookie_opens_nothing_without_its_key(&mut env)
        .await;
}

/// S62 across gateways: B has the session cached unbound when A binds
/// it; the binding reaches B at once (pushed), so the copied cookie is
/// refused there too, and a refresh through B serves a browser bound on A.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s62_a_binding_made_on_one_gateway_holds_on_the_other() {
    let mut p = two_gateways(2000, LONG_CACHE_MS, false).await;
    let email = "bound@example.jp";
    p.env.logged_in_holder(email).await;
    let mut a = p.env.client();
    let sign_in = a.login(email, GOOD_PASSWORD).await;
    let mut thief = on_b(&p, &a);
    assert_eq!(
        thief.get("/files/b").await.status,
        200,
        "cached unbound on B"
    );
    let key = sekisho_tests::dbsc::SoftDbsc::new();
    let r = key.register(&mut a, &sign_in).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let id: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let id = id["session_identifier"].as_str().unwrap().to_string();
    p.env.gw.advance_clock(61);
    p.b.advance_clock(61);
    assert_eq!(
        becomes(&mut thief, "/files/b", 401).await,
        401,
        "pushed to B"
    );
    let mut owner_on_b = on_b(&p, &a);
    assert_eq!(
        owner_on_b.get("/files/b").await.status,
        200,
        "its bound cookie"
    );
    p.env.gw.advance_clock(600);
    p.b.advance_clock(600);
    assert_eq!(owner_on_b.get("/files/b").await.status, 401);
    assert_eq!(key.refresh(&mut owner_on_b, &id).await.status, 200);
    assert_eq!(owner_on_b.get("/files/b").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s63_a_new_browser_is_mailed_and_not_me_locks_the_account_down_on_redis() {
    let redis = RedisServer::start();
    let url = redis.url();
    let env = Env::start_with(|o: GatewayOptions| o.redis(&url, 2000, 1000)).await;
    sekisho_tests::drills::s63_a_new_browser_is_mailed_and_not_me_locks_the_account_down(&env)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s64_listed_passwords_are_refused_on_redis() {
    let redis = RedisServer::start();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let filter =
        sekisho_tests::breached::filter_of(dir.path(), &[sekisho_tests::breached::LISTED_PASSWORD]);
    let mut env =
        Env::start_with(|o: GatewayOptions| o.redis(&url, 2000, 1000).breached_filter(&filter))
            .await;
    sekisho_tests::drills::s64_listed_passwords_are_refused_and_a_listed_login_is_asked_to_change(
        &mut env,
        dir.path(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s65_a_directory_provisions_and_deprovisions_its_users_on_redis() {
    let redis = RedisServer::start();
    let url = redis.url();
    let env = Env::start_with(|o: GatewayOptions| o.redis(&url, 2000, 1000)).await;
    sekisho_tests::scim::s65_a_directory_provisions_and_deprovisions_its_users(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s65_a_deactivation_on_one_gateway_refuses_on_the_other_on_redis() {
    let p = two_gateways(2000, LONG_CACHE_MS, false).await;
    sekisho_tests::scim::s65_a_deactivation_holds_on_another_gateway(&p.env, &p.b.base).await;
}
