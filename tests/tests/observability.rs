//! One request followed through the gateway: the id the upstream receives
//! in `X-Request-Id` is the access log's, and an error page shows the id
//! its own access line carries. The access log never holds a query, a
//! cookie or a ticket; every request is timed by route, kind and status
//! class.

use sekisho_tests::Env;

/// The access-log lines (JSON, target `access`) of the gateway so far.
fn access_lines(env: &Env) -> Vec<serde_json::Value> {
    env.gw
        .logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "access")
        .collect()
}

/// The access line of request `id`: it is written once the answer has
/// gone, so it may come a moment after the client has it.
async fn access_line(env: &Env, id: &str) -> serde_json::Value {
    for _ in 0..40 {
        if let Some(line) = access_lines(env)
            .into_iter()
            .find(|l| l["request_id"] == id)
        {
            return line;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no access line for {id}:\n{}", env.gw.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_is_followed_from_the_upstream_to_the_access_log() {
    let env = Env::start().await;
    let mut c = env.logged_in_holder("follow@example.jp").await;
    // A client's own X-Request-Id is not believed from an untrusted peer.
    c.extra.push(("x-request-id".into(), "spoofed-id".into()));
    let r = c.get("/files/report.pdf?share=secret-token-77").await;
    assert_eq!(r.status, 200);
    let seen = env.upstream.last();
    let id = seen.one("x-request-id").to_string();
    assert_eq!(id.len(), 16, "{id}");
    assert_ne!(id, "spoofed-id");
    let line = access_line(&env, &id).await;
    assert_eq!(line["path"], "/files/report.pdf");
    assert_eq!(line["status"], 200);
    assert_eq!(line["kind"], "proxy");
    assert_eq!(line["outcome"], "forwarded");
    assert_eq!(line["route"], "internet");
    assert!(
        line["user"].as_str().is_some_and(|u| u.len() == 32),
        "{line}"
    );
    assert!(line["duration_ms"].as_f64().is_some() && line["upstream_ms"].as_f64().is_some());
    let logs = env.gw.logs();
    assert!(
        !logs.contains("secret-token-77"),
        "a query reached the logs"
    );
    let session = c.cookies.get("sekisho").unwrap();
    assert!(
        !logs.contains(session.as_str()),
        "a session id reached the logs"
    );

    // An error page shows the id of its own request.
    let r = c.get("/.sekisho/nowhere").await;
    assert_eq!(r.status, 404);
    let shown = r
        .body
        .split("<code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the request id on the page")
        .to_string();
    let line = access_line(&env, &shown).await;
    assert_eq!(line["status"], 404);
    assert_eq!(line["kind"], "gateway");

    // Every request is timed, by route, kind and status class.
    let metrics = env.gw.metrics().await;
    assert!(
        metrics.contains(
            "sekisho_request_duration_seconds_count{class=\"2xx\",kind=\"proxy\",route=\"internet\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains(
        "sekisho_request_duration_seconds_count{class=\"4xx\",kind=\"gateway\",route=\"internet\"}"
    ));
}
