//! Zero-downtime upgrade and reload (issue 16): a bounded load loop runs
//! across `sekisho run --upgrade` with a changed configuration, then across
//! a SIGHUP reload with another change. Not one request fails, the session
//! made before both still works after them, and each change is in force.

use sekisho_policy::paths;
use sekisho_tests::gateway::Gateway;
use sekisho_tests::Env;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Each worker's bound: requests, and time.
const MAX_REQUESTS_PER_WORKER: usize = 50_000;
const MAX_LOAD_TIME: Duration = Duration::from_secs(120);
const WORKERS: usize = 4;

#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    failures: Mutex<Vec<String>>,
}

/// Runs until `stop` (or a bound): half the requests proxied with the
/// session, half the gateway's own login page, on kept-alive connections.
async fn load(base: String, cookie: String, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    // The TLS drill's certificate is the test's own.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let started = Instant::now();
    for i in 0..MAX_REQUESTS_PER_WORKER {
        if stop.load(Ordering::Relaxed) || started.elapsed() > MAX_LOAD_TIME {
            return;
        }
        let (path, with_session) = if i % 2 == 0 {
            ("/files/during-upgrade.txt", true)
        } else {
            (paths::LOGIN, false)
        };
        let mut req = http.get(format!("{base}{path}"));
        if with_session {
            req = req.header("cookie", &cookie);
        }
        match req.send().await {
            Ok(r) if r.status() == 200 => match r.bytes().await {
                Ok(_) => {
                    tally.ok.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => tally
                    .failures
                    .lock()
                    .unwrap()
                    .push(format!("{path}: body: {e}")),
            },
            Ok(r) => tally
                .failures
                .lock()
                .unwrap()
                .push(format!("{path}: status {}", r.status())),
            Err(e) => tally
                .failures
                .lock()
                .unwrap()
                .push(format!("{path}: {e:?}")),
        }
    }
}

/// Runs a blocking step on the gateway (it waits for the hand-over) away
/// from the runtime the load loop runs on.
async fn off_the_runtime(mut gw: Gateway, step: fn(&mut Gateway)) -> Gateway {
    tokio::task::spawn_blocking(move || {
        step(&mut gw);
        gw
    })
    .await
    .unwrap()
}

fn set_copyright(env: &Env, text: &str) {
    let path = &env.gw.config_path;
    let config = std::fs::read_to_string(path).unwrap();
    let kept: String = config
        .lines()
        .filter(|l| !l.starts_with("copyright_ja"))
        .map(|l| format!("{l}\n"))
        .collect();
    let changed = kept.replace(
        "[branding]\n",
        &format!("[branding]\ncopyright_ja = \"{text}\"\n"),
    );
    std::fs::write(path, changed).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upgrade_and_a_reload_under_load_fail_no_request() {
    let mut env = Env::start_with(|mut o| {
        o.extra.push_str("[branding]\ncopyright_ja = \"© 初版\"\n");
        // A draining process finishes what it has in hand for two seconds.
        o.grace_period_seconds = 2;
        o
    })
    .await;
    let mut c = env.logged_in_holder("upgrade@example.jp").await;
    assert_eq!(c.get("/files/before.txt").await.status, 200);
    let cookie = format!("sekisho={}", c.cookies.get("sekisho").unwrap());
    let first_pid = env.gw.pid();

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            tokio::spawn(load(
                env.gw.base.clone(),
                cookie.clone(),
                stop.clone(),
                tally.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A changed configuration, taken over by `run --upgrade`.
    set_copyright(&env, "© 第二版");
    env.gw = off_the_runtime(env.gw, Gateway::upgrade).await;
    let upgraded_pid = env.gw.pid();
    assert_ne!(upgraded_pid, first_pid);
    let served_across_upgrade = tally.ok.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Another change, by SIGHUP (systemd's reload).
    set_copyright(&env, "© 第三版");
    env.gw = off_the_runtime(env.gw, Gateway::reload_with_hangup).await;
    assert_ne!(env.gw.pid(), upgraded_pid);
    tokio::time::sleep(Duration::from_millis(500)).await;

    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let failures = tally.failures.lock().unwrap().clone();
    let ok = tally.ok.load(Ordering::Relaxed);
    assert!(
        failures.is_empty(),
        "{} of {} requests failed across the upgrades: {:?}\n{}",
        failures.len(),
        ok + failures.len(),
        &failures[..failures.len().min(10)],
        env.gw.logs()
    );
    assert!(
        served_across_upgrade > 100,
        "the load loop ran: {served_across_upgrade}"
    );
    assert!(ok > served_across_upgrade, "load ran across the reload too");

    // The session made before both is intact, and the last change holds.
    assert_eq!(c.get("/files/after.txt").await.status, 200);
    let page = env.client().get(paths::LOGIN).await;
    assert!(page.body.contains("© 第三版"), "{}", page.body);
    let logs = env.gw.logs();
    assert!(logs.contains("taking over the listening sockets"), "{logs}");
    assert!(logs.contains("SIGHUP: reloading"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_with_a_broken_configuration_keeps_the_running_gateway() {
    let env = Env::start().await;
    let pid = env.gw.pid();
    let good = std::fs::read_to_string(&env.gw.config_path).unwrap();
    std::fs::write(
        &env.gw.config_path,
        good.replace("[upstream]", "[upstream]\nadress = \"typo\""),
    )
    .unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The successor refuses the file and exits; the running one says so.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !env.gw.logs().contains("the successor did not start") {
        assert!(Instant::now() < deadline, "{}", env.gw.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        env.gw.logs().contains("upstream.adress"),
        "{}",
        env.gw.logs()
    );
    assert_eq!(env.gw.pid(), pid);
    assert_eq!(env.client().get(paths::LOGIN).await.status, 200);

    // By hand, `run --upgrade` refuses the same file before it signals.
    let out = env.gw.upgrade_command().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(env.client().get(paths::LOGIN).await.status, 200);
    assert_eq!(env.gw.pid(), pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_upgrade_with_no_running_gateway_is_refused() {
    let mut env = Env::start().await;
    let pid = env.gw.pid();
    env.gw.kill();
    let out = env.gw.upgrade_command().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("server.pid_file")
            && said.contains(&format!("no running gateway with id {pid}")),
        "{said}"
    );
}

/// Certificates are read again on a reload (SIGHUP, `systemctl reload`):
/// new connections get the new certificate, and a load loop over TLS
/// across the reload loses no request.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reload_reads_the_certificates_again_and_fails_no_request() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    let mut env = Env::start_with(|mut o| {
        o.grace_period_seconds = 2;
        sekisho_tests::GatewayOptions {
            tls: Some((cert.clone(), key.clone())),
            ..o
        }
    })
    .await;
    let c = env.logged_in_holder("tls-reload@example.jp").await;
    let cookie: Vec<String> = c.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let cookie = cookie.join("; ");
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            tokio::spawn(load(
                env.gw.base.clone(),
                cookie.clone(),
                stop.clone(),
                tally.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A new certificate and key in place of the old, then a reload.
    let other = tempfile::tempdir().unwrap();
    let (new_cert, new_key) = sekisho_tests::test_certificate(other.path());
    let before = std::fs::read(&cert).unwrap();
    std::fs::copy(&new_cert, &cert).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    assert_ne!(std::fs::read(&cert).unwrap(), before);
    let served_before = tally.ok.load(Ordering::Relaxed);
    env.gw = off_the_runtime(env.gw, Gateway::reload_with_hangup).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let failures = tally.failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "{failures:?}");
    assert!(
        tally.ok.load(Ordering::Relaxed) > served_before,
        "load ran across the reload"
    );

    // The client trusts exactly the file's certificate: now the new one.
    let mut after = sekisho_tests::net::tls_connect(env.gw.addr, "127.0.0.4", &cert, b"http/1.1")
        .await
        .expect("the new certificate served");
    let get = format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", paths::HEALTHZ);
    after.write_all(get.as_bytes()).await.unwrap();
    let mut buf = [0u8; 4096];
    let n = after.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
}
