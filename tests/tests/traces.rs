//! Traces over OTLP (issue 16), against a receiver the test starts. One
//! request can be followed from its access-log line to its trace: the
//! `trace_id` in the line is the trace's, whose `request` span is the
//! child of the trusted hop's `traceparent`. Its store, hashing and mail
//! calls are child spans, and the upstream receives the request span's
//! own `traceparent`. An untrusted client's `traceparent` is not believed.

use sekisho_tests::client::Client;
use sekisho_tests::otlp::{OtlpReceiver, ReceivedSpan};
use sekisho_tests::Env;

const HOP_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const HOP_SPAN: &str = "00f067aa0ba902b7";

/// The last access line for `path`: written once the answer has gone, so
/// it may come a moment after the client has it.
async fn access_line(env: &Env, path: &str) -> serde_json::Value {
    for _ in 0..60 {
        let found = env
            .gw
            .logs()
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["target"] == "access" && v["path"] == path);
        if let Some(line) = found {
            return line;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no access line for {path}:\n{}", env.gw.logs());
}

fn children_of<'a>(spans: &'a [ReceivedSpan], parent: &ReceivedSpan) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.trace_id == parent.trace_id && s.parent_span_id == parent.span_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_followed_from_its_access_line_to_its_trace() {
    let receiver = OtlpReceiver::start().await;
    let endpoint = receiver.endpoint();
    let env = Env::start_with(move |mut o| {
        o.throttle.push_str("trusted_proxies = [\"127.0.0.2\"]\n");
        o.extra.push_str(&format!(
            "[traces]\notlp_endpoint = \"{endpoint}\"\nservice_name = \"sekisho-test\"\nexport_interval_ms = 200\n"
        ));
        o
    })
    .await;
    let mut holder = env.logged_in_holder("traced@example.jp").await;

    // A login through a trusted hop that carries a trace.
    let mut hop = Client::from_address(&env.gw.base, Some("127.0.0.2".parse().unwrap()));
    hop.extra.push((
        "traceparent".into(),
        format!("00-{HOP_TRACE}-{HOP_SPAN}-01"),
    ));
    let r = hop
        .login("traced@example.jp", sekisho_tests::GOOD_PASSWORD)
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = hop.get("/files/traced.txt").await;
    assert_eq!(r.status, 200);

    // The upstream got the request span's traceparent, in the hop's trace.
    let seen = env.upstream.last();
    let sent = seen.one("traceparent").to_string();
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!(parts.len(), 4, "{sent}");
    assert_eq!(parts[1], HOP_TRACE, "{sent}");
    assert_ne!(
        parts[2], HOP_SPAN,
        "the gateway's own span is the upstream's parent"
    );

    // The access line names the trace.
    let line = access_line(&env, "/files/traced.txt").await;
    assert_eq!(line["trace_id"], HOP_TRACE, "{line}");

    // The trace: the proxied request's span is the hop's child, and the
    // upstream's parent.
    let spans = receiver
        .wait_for("proxied request span", |spans| {
            spans
                .iter()
                .any(|s| s.name == "GET internet" && s.span_id == parts[2])
        })
        .await;
    let proxied = spans.iter().find(|s| s.span_id == parts[2]).unwrap();
    assert_eq!(proxied.trace_id, HOP_TRACE);
    assert_eq!(proxied.parent_span_id, HOP_SPAN);
    assert_eq!(proxied.service, "sekisho-test");
    assert_eq!(proxied.attribute("http.response.status_code"), Some("200"));
    assert_eq!(
        proxied.attribute("sekisho.request_id"),
        line["request_id"].as_str()
    );

    // The login's span has its store calls and the password check as
    // children.
    let spans = receiver
        .wait_for("login span with children", |spans| {
            spans
                .iter()
                .filter(|s| s.name == "POST internet" && s.trace_id == HOP_TRACE)
                .any(|login| {
                    let kids = children_of(spans, login);
                    kids.iter().any(|k| k.name == "hash") && kids.iter().any(|k| k.name == "store")
                })
        })
        .await;
    let login = spans
        .iter()
        .find(|s| s.name == "POST internet" && s.trace_id == HOP_TRACE)
        .unwrap();
    let kids = children_of(&spans, login);
    assert!(
        kids.iter().any(
            // A sign-in starts its session and notes its browser in one
            // step (S63).
            |k| k.name == "store"
                && k.attribute("db.operation.name") == Some("start_session_noting")
        ),
        "{kids:#?}"
    );
    assert!(kids
        .iter()
        .any(|k| k.name == "hash" && k.attribute("sekisho.hash") == Some("verify")));

    // Mail is a span too (an invitation from the console).
    env.invite(
        &mut holder,
        "招待 太郎",
        "invited-traced@example.jp",
        "user",
    )
    .await;
    receiver
        .wait_for("smtp span", |spans| spans.iter().any(|s| s.name == "smtp"))
        .await;

    // An untrusted client's traceparent starts nothing: its request is a
    // new trace, and the upstream gets the gateway's own.
    let mut outsider = env.logged_in_holder("outsider@example.jp").await;
    outsider.extra.push((
        "traceparent".into(),
        "00-11111111111111111111111111111111-2222222222222222-01".into(),
    ));
    assert_eq!(outsider.get("/files/outsider.txt").await.status, 200);
    let sent = env.upstream.last().one("traceparent").to_string();
    assert!(!sent.contains("11111111111111111111111111111111"), "{sent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_traces_a_trusted_traceparent_passes_and_an_untrusted_one_does_not() {
    let env = Env::start_with(|mut o| {
        o.throttle.push_str("trusted_proxies = [\"127.0.0.2\"]\n");
        o
    })
    .await;
    let _ = env.logged_in_holder("plain@example.jp").await;
    let mut hop = Client::from_address(&env.gw.base, Some("127.0.0.2".parse().unwrap()));
    let traceparent = format!("00-{HOP_TRACE}-{HOP_SPAN}-01");
    hop.extra.push(("traceparent".into(), traceparent.clone()));
    assert_eq!(
        hop.login("plain@example.jp", sekisho_tests::GOOD_PASSWORD)
            .await
            .status,
        303
    );
    assert_eq!(hop.get("/files/a.txt").await.status, 200);
    assert_eq!(env.upstream.last().one("traceparent"), traceparent);

    let mut outsider = env.logged_in_holder("plain2@example.jp").await;
    outsider
        .extra
        .push(("traceparent".into(), traceparent.clone()));
    assert_eq!(outsider.get("/files/b.txt").await.status, 200);
    assert!(env.upstream.last().all("traceparent").is_empty());
    let line = access_line(&env, "/files/b.txt").await;
    assert!(line.get("trace_id").is_none_or(|v| v.is_null()), "{line}");
}
