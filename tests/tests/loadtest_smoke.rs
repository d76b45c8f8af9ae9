//! A short run of every load-test scenario against a test gateway: zero
//! errors and non-empty histograms. No timing is asserted here; budgets
//! live in the benchmark report (PERFORMANCE.md).

use sekisho_tests::gateway::{binary, workspace_binary};
use sekisho_tests::Env;
use serde_json::Value;
use std::process::Command;

fn run(tool: &std::path::Path, args: &[&str]) -> Vec<Value> {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One pretty JSON summary per measured stream.
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(|v| v.unwrap())
        .collect()
}

fn assert_clean(s: &Value) {
    assert!(s["requests"].as_u64().unwrap() > 0, "empty histogram: {s}");
    assert!(s["errors"].as_object().unwrap().is_empty(), "errors: {s}");
    assert!(s["p99_ms"].as_f64().unwrap() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_clean_against_a_gateway() {
    let env = Env::start().await;
    let tool =
        tokio::task::spawn_blocking(|| workspace_binary("sekisho-loadtest", "sekisho-loadtest"))
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().to_path_buf();
    let out = dir.path().to_str().unwrap();
    let sekisho = binary();
    let config = env.gw.config_path.to_str().unwrap().to_string();
    let base = env.gw.base.clone();
    let t = tool.clone();
    let setup = tokio::task::spawn_blocking(move || {
        Command::new(&t)
            .args([
                "setup",
                "--base",
                &base,
                "--sekisho",
                sekisho.to_str().unwrap(),
                "--config",
                &config,
            ])
            .args(["--users", "3", "--sessions", "12", "--out"])
            .arg(&out_path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let cookies = std::fs::read_to_string(format!("{out}/cookies.txt")).unwrap();
    assert_eq!(
        cookies
            .lines()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        12,
        "distinct sessions"
    );

    let base = env.gw.base.clone();
    let (c, u) = (format!("{out}/cookies.txt"), format!("{out}/users.txt"));
    let record = format!("{out}/measurements.jsonl");
    let common = [
        "--base",
        base.as_str(),
        "--path",
        "/files/x",
        "--cookies",
        c.as_str(),
        "--users",
        u.as_str(),
        "--record",
        record.as_str(),
    ];
    let scenarios: Vec<Vec<&str>> = vec![
        vec![
            "--scenario",
            "browse",
            "--concurrency",
            "4",
            "--seconds",
            "1.5",
            "--label",
            "browse",
        ],
        vec![
            "--scenario",
            "browse",
            "--rate",
            "200",
            "--seconds",
            "1.5",
            "--label",
            "browse_fixed_rate",
        ],
        vec![
            "--scenario",
            "login",
            "--concurrency",
            "2",
            "--seconds",
            "2",
            "--label",
            "login",
        ],
        vec![
            "--scenario",
            "mixed",
            "--concurrency",
            "4",
            "--login-concurrency",
            "2",
            "--seconds",
            "2",
            "--label",
            "mixed",
        ],
        vec![
            "--scenario",
            "upload",
            "--concurrency",
            "1",
            "--max-requests",
            "2",
            "--mib",
            "8",
            "--label",
            "upload",
        ],
        vec![
            "--scenario",
            "download",
            "--concurrency",
            "1",
            "--max-requests",
            "2",
            "--mib",
            "0",
            "--label",
            "download",
        ],
    ];
    for extra in scenarios {
        let mut args = vec!["run"];
        args.extend(common);
        args.extend(extra);
        let tool = tool.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let summaries = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&tool, &refs)
        })
        .await
        .unwrap();
        assert!(!summaries.is_empty());
        for s in &summaries {
            assert_clean(s);
        }
    }
    assert_eq!(env.upstream.last().one("x-auth-route"), "internet");

    // The report renders from what was recorded.
    let out_dir = format!("{out}/report");
    let t = tool.clone();
    let report = tokio::task::spawn_blocking(move || {
        Command::new(&t)
            .args(["report", "--in", &record, "--out", &out_dir])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let md = std::fs::read_to_string(format!("{out}/report/report.md")).unwrap();
    assert!(md.contains("| P10 |") && md.contains("browse_fixed_rate"));
    assert!(std::fs::read_to_string(format!("{out}/report/latency.svg"))
        .unwrap()
        .starts_with("<svg"));

    // Idle keep-alive connections are held and answered.
    let cookie = format!("sekisho={}", cookies.lines().next().unwrap());
    let addr = env.gw.addr.to_string();
    let t = tool.clone();
    let idle = tokio::task::spawn_blocking(move || {
        run(
            &t,
            &[
                "idle",
                "--addr",
                &addr,
                "--path",
                "/files/idle",
                "--cookie",
                &cookie,
                "--connections",
                "50",
                "--hold-seconds",
                "1",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(idle[0]["established"], 50);
    assert_eq!(idle[0]["answered"], 50);

    // Device-bound sessions (S62): bound, refreshed without an error, and
    // their cookies open the service.
    let (base, gw_pid) = (env.gw.base.clone(), env.gw.pid().to_string());
    let (u, bound) = (format!("{out}/users.txt"), format!("{out}/bound.txt"));
    let t = tool.clone();
    let b = bound.clone();
    let figures = tokio::task::spawn_blocking(move || {
        run(
            &t,
            &[
                "dbsc",
                "--base",
                &base,
                "--users",
                &u,
                "--sessions",
                "6",
                "--seconds",
                "1",
                "--concurrency",
                "2",
                "--pid",
                &gw_pid,
                "--cookies-out",
                &b,
            ],
        )
    })
    .await
    .unwrap();
    assert!(
        figures[0]["refreshes"].as_u64().unwrap() > 0,
        "{}",
        figures[0]
    );
    assert_eq!(figures[0]["errors"], 0, "{}", figures[0]);
    assert!(figures[0]["refreshes_per_cpu_second"].as_f64().unwrap() > 0.0);
    let line = std::fs::read_to_string(&bound).unwrap();
    let line = line.lines().next().unwrap();
    let r = reqwest::Client::new()
        .get(env.gw.url("/files/bound"))
        .header("cookie", format!("sekisho={line}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Revocation (P16): a session ended by an admin command is refused,
    // timed; last, since it ends that user's sessions.
    let (base, u) = (env.gw.base.clone(), format!("{out}/users.txt"));
    let (t, sekisho, config) = (
        tool.clone(),
        binary(),
        env.gw.config_path.to_str().unwrap().to_string(),
    );
    let figures = tokio::task::spawn_blocking(move || {
        run(
            &t,
            &[
                "revocation",
                "--base",
                &base,
                "--users",
                &u,
                "--samples",
                "1",
                "--sekisho",
                sekisho.to_str().unwrap(),
                "--config",
                &config,
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(figures[0]["samples"], 1, "{}", figures[0]);
    assert_eq!(figures[0]["missed"], 0, "{}", figures[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_scenario_passes_the_authenticator_step() {
    let env = Env::start_with(|o| o.two_step()).await;
    let tool =
        tokio::task::spawn_blocking(|| workspace_binary("sekisho-loadtest", "sekisho-loadtest"))
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap().to_string();
    let sekisho = binary();
    let config = env.gw.config_path.to_str().unwrap().to_string();
    let base = env.gw.base.clone();
    let (t, o) = (tool.clone(), out.clone());
    let setup = tokio::task::spawn_blocking(move || {
        Command::new(&t)
            .args(["setup", "--base", &base, "--sekisho"])
            .arg(&sekisho)
            .args(["--config", &config, "--users", "1", "--sessions", "1"])
            .args(["--two-step-users", "2", "--out", &o])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let users = std::fs::read_to_string(format!("{out}/users-2fa.txt")).unwrap();
    assert_eq!(users.lines().count(), 2);
    assert!(users.lines().all(|l| l.split(' ').count() == 4), "{users}");
    // Each user signs in once with the app's code (a TOTP step serves
    // once, so the run may wait for the next step).
    let base = env.gw.base.clone();
    let summaries = tokio::task::spawn_blocking(move || {
        run(
            &tool,
            &[
                "run",
                "--scenario",
                "login",
                "--base",
                &base,
                "--path",
                "/files/x",
                "--users",
                &format!("{out}/users-2fa.txt"),
                "--concurrency",
                "1",
                "--max-requests",
                "2",
                "--seconds",
                "45",
                "--label",
                "login_two_step",
            ],
        )
    })
    .await
    .unwrap();
    assert_clean(&summaries[0]);
    assert_eq!(summaries[0]["requests"], 2);
    let route = env.upstream.last();
    assert!(route.one("x-auth-email").starts_with("load2fa"));
}

/// The passkey scenario (P13): software passkeys registered through the
/// menu by `setup`, then signing in with them at rate, with no errors; the
/// gateway counts every one as a passkey login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_login_scenario_signs_in_with_software_passkeys() {
    let env = Env::start_with(|o| o.public_host("localhost")).await;
    let tool =
        tokio::task::spawn_blocking(|| workspace_binary("sekisho-loadtest", "sekisho-loadtest"))
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap().to_string();
    let sekisho = binary();
    let config = env.gw.config_path.to_str().unwrap().to_string();
    let origin = env.gw.base.clone();
    assert!(origin.starts_with("http://localhost:"), "{origin}");
    // The load goes to the listener's address; the origin is the site's.
    let base = format!("http://{}", env.gw.addr);
    let (t, o, b, orig) = (tool.clone(), out.clone(), base.clone(), origin.clone());
    let setup = tokio::task::spawn_blocking(move || {
        Command::new(&t)
            .args(["setup", "--base", &b, "--sekisho"])
            .arg(&sekisho)
            .args(["--config", &config, "--users", "1", "--sessions", "1"])
            .args(["--passkey-users", "3", "--passkey-origin", &orig])
            .args(["--out", &o])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let passkeys = std::fs::read_to_string(format!("{out}/passkeys.txt")).unwrap();
    assert_eq!(passkeys.lines().count(), 3);
    let file = format!("{out}/passkeys.txt");
    let summaries = tokio::task::spawn_blocking(move || {
        run(
            &tool,
            &[
                "run",
                "--scenario",
                "passkey-login",
                "--base",
                &base,
                "--path",
                "/files/x",
                "--passkeys",
                &file,
                "--concurrency",
                "4",
                "--seconds",
                "2",
                "--label",
                "passkey_login",
            ],
        )
    })
    .await
    .unwrap();
    assert_clean(&summaries[0]);
    let signed_in = summaries[0]["requests"].as_u64().unwrap();
    let metrics = env.gw.metrics().await;
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with(
                "sekisho_passkey_attempts_total{ceremony=\"login\",outcome=\"succeeded\"}",
            )
        })
        .unwrap_or_else(|| panic!("{metrics}"));
    let counted: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(counted >= signed_in, "{counted} < {signed_in}");
    assert_eq!(env.upstream.last().one("x-auth-route"), "internet");
}
