//! The operator's kit in `ops/`: the alert rules pass `promtool check
//! rules` and their own unit tests (`promtool test rules`), and every
//! series a rule or a dashboard panel names is one a running gateway
//! exports (so no panel stays empty and no alert waits on a typo).

use sekisho_tests::{Env, GatewayOptions};
use std::collections::BTreeSet;
use std::process::Command;

fn ops(file: &str) -> std::path::PathBuf {
    sekisho_tests::workspace_dir().join("ops").join(file)
}

fn promtool(args: &[&str]) {
    let out = Command::new("promtool")
        .current_dir(ops("prometheus"))
        .args(args)
        .output()
        .expect("promtool (Debian's prometheus package, installed by scripts/setup.sh)");
    assert!(
        out.status.success(),
        "promtool {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_alert_rules_are_valid_and_pass_their_unit_tests() {
    promtool(&["check", "rules", "sekisho.rules.yml"]);
    promtool(&["test", "rules", "sekisho.rules.test.yml"]);
}

/// Every metric name in a PromQL text: `sekisho_…` and `process_…`.
fn series_in(expr: &str, names: &mut BTreeSet<String>) {
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &expr[i..];
        let starts = (rest.starts_with("sekisho_") || rest.starts_with("process_"))
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
        if starts {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            names.insert(rest[..len].to_string());
            i += len;
        } else {
            i += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_series_the_rules_and_the_dashboard_name_is_exported() {
    let mut named = BTreeSet::new();
    let rules = std::fs::read_to_string(ops("prometheus/sekisho.rules.yml")).unwrap();
    for line in rules.lines().filter(|l| !l.trim_start().starts_with('#')) {
        series_in(line, &mut named);
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(ops("grafana/sekisho-dashboard.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{} panels", panels.len());
    for panel in panels {
        for target in panel["targets"].as_array().expect("targets") {
            series_in(target["expr"].as_str().expect("an expr"), &mut named);
        }
    }
    assert!(named.len() > 10, "{named:?}");

    // A gateway with TLS, so the certificate's series exists too.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = sekisho_tests::test_certificate(dir.path());
    let env = Env::start_with(|o: GatewayOptions| GatewayOptions {
        tls: Some((cert, key)),
        ..o
    })
    .await;
    let metrics = env.gw.metrics().await;
    let exported: BTreeSet<String> = metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect();
    let missing: Vec<&String> = named.iter().filter(|n| !exported.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "named by a rule or panel but not exported: {missing:?}\nexported: {exported:?}"
    );
    // The build's version and commit are there from the start.
    assert!(metrics.contains("sekisho_build_info{commit="), "{metrics}");
}

/// The allocator's settings the unit file sets hold whoever starts the
/// gateway (P8): a process started without them starts itself again in
/// place with them (`gateway/src/main.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_runs_with_the_allocators_purge_settings_whoever_starts_it() {
    let env = Env::start().await;
    let environ = std::fs::read(format!("/proc/{}/environ", env.gw.pid()))
        .expect("the serving process's environment");
    let vars: Vec<String> = environ
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    for (name, default) in [
        ("MIMALLOC_PURGE_DELAY", "0"),
        ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    ] {
        // The harness passes the test's own environment on: a value set
        // there is the operator's, and is kept.
        let expected = std::env::var(name).unwrap_or_else(|_| default.to_string());
        assert!(
            vars.contains(&format!("{name}={expected}")),
            "{name}={expected} in {vars:?}"
        );
    }
    let health = reqwest::get(env.gw.url("/.sekisho/healthz")).await.unwrap();
    assert_eq!(health.status(), 200, "the process that execs itself serves");
}
