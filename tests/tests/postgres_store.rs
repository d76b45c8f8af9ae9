//! Several gateways on one PostgreSQL (PRODUCT §1; SECURITY S11, S33): a
//! real cluster per test (`initdb` in a temporary folder, a free loopback
//! port), two gateway processes sharing it, the lock's count under fifty
//! parallel wrong passwords across both, and the outage drills (stopped,
//! paused, restarted).

use sekisho_policy::paths;
use sekisho_tests::postgres::PostgresServer;
use sekisho_tests::{Client, Env, Gateway, GatewayOptions, GOOD_PASSWORD};
use std::time::{Duration, Instant};

/// Long enough that only a pushed notice, never the cache's expiry, can
/// explain a change seen at once on the other gateway.
const LONG_CACHE_MS: u64 = 10_000;

struct Pair {
    postgres: PostgresServer,
    env: Env,
    b: Gateway,
}

async fn two_gateways(timeout_ms: u64, cache_ttl_ms: u64) -> Pair {
    let postgres = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let url = postgres.url();
    let env = Env::start_with(|o: GatewayOptions| o.postgres(&url, timeout_ms, cache_ttl_ms)).await;
    let key = env.gw.data_dir().join("data/key.pem");
    let opts = GatewayOptions {
        signing_key: Some(key),
        ..GatewayOptions::new(env.upstream.addr)
            .smtp(env.smtp.port)
            .postgres(&url, timeout_ms, cache_ttl_ms)
    };
    let b = tokio::task::spawn_blocking(move || Gateway::start(opts))
        .await
        .unwrap();
    Pair { postgres, env, b }
}

fn on_b(p: &Pair, a: &Client) -> Client {
    let mut c = Client::new(&p.b.base);
    c.cookies = a.cookies.clone();
    c
}

/// Polls `path` on `c` until it answers `status` (ten seconds at most).
async fn becomes(c: &mut Client, path: &str, status: u16, within: Duration) -> u16 {
    let deadline = Instant::now() + within;
    loop {
        let got = c.get(path).await.status;
        if got == status || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_on_one_postgres_behave_as_one() {
    let p = two_gateways(2000, LONG_CACHE_MS).await;
    let email = "shared@example.jp";
    let mut a = p.env.logged_in_holder(email).await;
    let mut b = on_b(&p, &a);
    assert_eq!(b.get("/files/one").await.status, 200);
    assert_eq!(p.env.upstream.last().one("x-auth-email"), email);

    // A logout on A ends the session on B at once, by NOTIFY (B's cache
    // would hold it ten seconds).
    let page = a.get(paths::LOGOUT).await;
    a.post(paths::LOGOUT, &[("csrf", &page.csrf())]).await;
    assert_eq!(
        becomes(&mut b, "/files/one", 401, Duration::from_secs(3)).await,
        401,
        "logout pushed"
    );

    // Fifty wrong passwords at once, half on each gateway: the lock's
    // count is one row, so the account locks and every later login,
    // right or wrong, on either gateway, is refused.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let base = if i % 2 == 0 {
            p.env.gw.base.clone()
        } else {
            p.b.base.clone()
        };
        tasks.push(tokio::spawn(async move {
            Client::new(&base)
                .login(email, "Wrong-Pass-123")
                .await
                .status
        }));
    }
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status == 200 || status == 429, "{status}");
    }
    for base in [&p.env.gw.base, &p.b.base] {
        let r = Client::new(base).login(email, GOOD_PASSWORD).await;
        assert!(
            r.body.contains("アカウントがブロックされました"),
            "{}",
            r.body
        );
    }
    let locks = p.postgres.psql(
        "sekisho",
        "SELECT count(*) FROM users WHERE email = 'shared@example.jp' AND (data->>'locked')::bool",
    );
    assert_eq!(locks.trim(), "1");
    // One unlock link, mailed once.
    let unlock = p
        .env
        .smtp
        .wait_for(email, "アカウントロック")
        .link("/.sekisho/unlock?ticket=")
        .unwrap();
    assert!(unlock.contains("ticket="));
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
async fn s33_postgres_outage_fails_closed_and_recovers() {
    let mut p = two_gateways(500, 100).await;
    let email = "outage@example.jp";
    let mut c = p.env.logged_in_holder(email).await;
    assert_eq!(c.get("/files/before").await.status, 200);

    // Stopped.
    p.postgres.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    fails_closed(&p, &mut c, "stopped").await;
    let r = p.env.client().login(email, GOOD_PASSWORD).await;
    assert_eq!(r.status, 503, "logins fail with a clear page: {}", r.body);

    // Back: the session written before the outage works on both
    // gateways, without restarting them.
    let mut postgres = p.postgres;
    let postgres = tokio::task::spawn_blocking(move || {
        postgres.restart();
        postgres
    })
    .await
    .unwrap();
    p.postgres = postgres;
    let recover = Duration::from_secs(10);
    assert_eq!(becomes(&mut c, "/files/after", 200, recover).await, 200);
    let mut b = on_b(&p, &c);
    assert_eq!(becomes(&mut b, "/files/after", 200, recover).await, 200);

    // Paused: every call waits on the server, and times out.
    p.postgres.pause();
    tokio::time::sleep(Duration::from_millis(200)).await;
    fails_closed(&p, &mut c, "paused").await;
    p.postgres.resume();
    assert_eq!(becomes(&mut c, "/files/after", 200, recover).await, 200);
    let metrics = p.env.gw.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("sekisho_store_errors_total") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_migrate_brings_the_schema_up_to_date() {
    let postgres = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let url = postgres.url();
    let env = Env::start_with(|o: GatewayOptions| o.postgres(&url, 2000, 1000)).await;
    // The gateway migrated at start; the command finds nothing to do.
    let again = env.gw.admin(&["migrate"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("up to date"));

    // A second database, migrated by command only: nothing opens it
    // before `migrate` has run.
    postgres.psql("postgres", "CREATE DATABASE fresh");
    let text = std::fs::read_to_string(env.gw.data_dir().join("sekisho.toml")).unwrap();
    let text = text
        .replace(&url, &url.replace("/sekisho", "/fresh"))
        .replace(
            "tls = \"off\"\n",
            "tls = \"off\"\nmigrations = \"by-command\"\n",
        );
    let config = env.gw.data_dir().join("fresh.toml");
    std::fs::write(&config, text).unwrap();
    let admin = |args: &[&str]| {
        std::process::Command::new(sekisho_tests::gateway::binary())
            .arg("admin")
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    let refused = admin(&["tenants"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("sekisho admin migrate"), "{said}");
    let first = admin(&["migrate"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(said.contains("migrated from version 0 to 1"), "{said}");
    assert!(admin(&["tenants"]).status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s57_identifiers_no_one_can_have_stop_before_postgres() {
    let postgres = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let url = postgres.url();
    let env = Env::start_with(|o: GatewayOptions| o.postgres(&url, 2000, 1000)).await;
    sekisho_tests::drills::s57_identifiers_no_one_can_have_stop_before_the_store(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s62_a_stolen_session_cookie_opens_nothing_without_its_key_on_postgres() {
    let postgres = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let url = postgres.url();
    let mut env = Env::start_with(|o: GatewayOptions| o.postgres(&url, 2000, 1000)).await;
    sekisho_tests::drills::s62_a_stolen_session_cookie_opens_nothing_without_its_key(&mut env)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s63_a_new_browser_is_mailed_and_not_me_locks_the_account_down_on_postgres() {
    let postgres = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let url = postgres.url();
    let env = Env::start_with(|o: GatewayOptions| o.postgres(&url, 2000, 1000)).await;
    sekisho_tests::drills::s63_a_new_browser_is_mailed_and_not_me_locks_the_account_down(&env)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s64_listed_passwords_are_refused_on_postgres() {
    let postgres = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let url = postgres.url();
    let dir = tempfile::tempdir().unwrap();
    let filter =
        sekisho_tests::breached::filter_of(dir.path(), &[sekisho_tests::breached::LISTED_PASSWORD]);
    let mut env =
        Env::start_with(|o: GatewayOptions| o.postgres(&url, 2000, 1000).breached_filter(&filter))
            .await;
    sekisho_tests::drills::s64_listed_passwords_are_refused_and_a_listed_login_is_asked_to_change(
        &mut env,
        dir.path(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s65_a_directory_provisions_and_deprovisions_its_users_on_postgres() {
    let postgres = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let url = postgres.url();
    let env = Env::start_with(|o: GatewayOptions| o.postgres(&url, 2000, 1000)).await;
    sekisho_tests::scim::s65_a_directory_provisions_and_deprovisions_its_users(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s65_a_deactivation_on_one_gateway_refuses_on_the_other_on_postgres() {
    let p = two_gateways(2000, 10_000).await;
    sekisho_tests::scim::s65_a_deactivation_holds_on_another_gateway(&p.env, &p.b.base).await;
}
