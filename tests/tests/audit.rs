//! Audit events (issue 16): each goes to its own sink (`audit.file`, JSON
//! lines of the documented schema), and a tenant's go to the console's
//! 監査ログ, newest first and paged. An admin command's events arrive too.
//! Only the console's users see the page, and only their own tenant's.

use sekisho_policy::paths;
use sekisho_tests::Env;

/// The sink's complete lines. The gateway appends while the test reads, so
/// a last line without its newline is still being written and waits for
/// the next reading.
fn sink_lines(env: &Env) -> Vec<serde_json::Value> {
    let text =
        std::fs::read_to_string(env.gw.data_dir().join("data/audit.jsonl")).unwrap_or_default();
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    complete
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Waits (bounded) until the sink holds `n` lines of `event`.
async fn wait_for_sink(env: &Env, event: &str, n: usize) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let lines = sink_lines(env);
        if lines.iter().filter(|l| l["event"] == event).count() >= n {
            return lines;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} {event} in the sink: {:#?}", sink_lines(env));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_their_sink_and_the_tenants_console_paged() {
    let env = Env::start_with(|mut o| {
        o.extra
            .push_str("[audit]\nfile = \"data/audit.jsonl\"\nkeep_days = 30\n");
        o
    })
    .await;
    let mut holder = env.logged_in_holder("audit-holder@example.jp").await;
    let mut user = env
        .invited_user(&mut holder, "監査 花子", "audit-user@example.jp", "user")
        .await;

    // The sink: the documented fields, ids and never an address.
    let lines = wait_for_sink(&env, "login_succeeded", 2).await;
    let login = lines
        .iter()
        .find(|l| l["event"] == "login_succeeded")
        .unwrap();
    for field in [
        "at", "event", "category", "user", "tenant", "route", "client", "detail",
    ] {
        assert!(login.get(field).is_some(), "{field} missing: {login}");
    }
    assert_eq!(login["category"], "login");
    assert_eq!(login["route"], "internet");
    assert_eq!(login["client"], "127.0.0.1");
    let raw = std::fs::read_to_string(env.gw.data_dir().join("data/audit.jsonl")).unwrap();
    assert!(
        !raw.contains("audit-holder@example.jp"),
        "an address in the sink"
    );
    assert!(!raw.contains(sekisho_tests::GOOD_PASSWORD));
    assert!(lines.iter().any(|l| l["event"] == "user_invited"));

    // An admin command's events reach the console too.
    env.invite(&mut holder, "招待 次郎", "audit-invitee@example.jp", "user")
        .await;
    for _ in 0..3 {
        let out = env
            .gw
            .admin(&["resend-invitation", "audit-invitee@example.jp"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    wait_for_sink(&env, "invitation_resent", 3).await;

    // More than a page: wrong passwords lock the user, and every later try
    // is refused (no hashing, so quick).
    let mut guesser = env.client();
    for _ in 0..70 {
        guesser
            .login("audit-user@example.jp", "not-the-password")
            .await;
    }
    wait_for_sink(&env, "login_refused_locked", 60).await;

    let first = holder.get(paths::CONSOLE_EVENTS).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains("監査ログ"));
    assert!(first.body.contains("記録は30日間保存されます。"));
    assert_eq!(
        first
            .body
            .matches("ロック中のためログイン拒否</td>")
            .count(),
        50,
        "a full page: {}",
        first.body
    );
    assert!(first.body.contains("audit-user@example.jp"));
    let older = first
        .body
        .split("href=\"/.sekisho/admin/events?before=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to older events")
        .to_string();
    let second = holder
        .get(&format!("/.sekisho/admin/events?before={older}"))
        .await;
    assert_eq!(second.status, 200);
    assert!(second.body.contains("アカウントロック</td>"));
    assert!(second.body.contains("ログイン失敗</td>"));
    assert_eq!(second.body.matches("招待メール再送</td>").count(), 3);
    assert!(second.body.contains("ユーザー招待</td>"));
    assert!(second.body.contains("ログイン成功</td>"));
    assert!(second.body.contains("最新の記録へ"));
    assert!(
        !second.body.contains("?before="),
        "the oldest page links no further"
    );

    // A bad page number is a clear 400; a plain user may not look.
    assert_eq!(
        holder
            .get("/.sekisho/admin/events?before=yesterday")
            .await
            .status,
        400
    );
    let r = user.get(paths::CONSOLE_EVENTS).await;
    assert_ne!(r.status, 200);
    assert!(!r.body.contains("監査ログ"));

    // Another tenant's holder sees only their own tenant's events.
    let mut other = env.logged_in_holder("audit-other@example.jp").await;
    let theirs = other.get(paths::CONSOLE_EVENTS).await;
    assert_eq!(theirs.status, 200);
    assert!(!theirs.body.contains("ロック中のためログイン拒否</td>"));
    assert!(!theirs.body.contains("audit-user@example.jp"));

    // Every event is counted as delivered: nothing dropped.
    assert!(env
        .gw
        .metrics()
        .await
        .contains("sekisho_audit_dropped_total 0"));
}
