//! The store conformance suite against the embedded (SQLite) backend. The
//! Redis backend runs the same macro with its own constructor.

use sekisho_store::sqlite::SqliteStore;
use sekisho_store::SharedStore;
use std::sync::Arc;
use std::time::Duration;

fn embedded() -> SharedStore {
    // Each store lives in its own folder, kept for the test's lifetime.
    let dir = tempfile::tempdir().unwrap().keep();
    Arc::new(SqliteStore::open(&dir.join("store.sqlite3"), Duration::from_secs(5)).unwrap())
}

sekisho_store::store_conformance_tests!(embedded());

#[tokio::test]
async fn embedded_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    {
        let store = SqliteStore::open(&path, Duration::from_secs(5)).unwrap();
        let s: &dyn sekisho_store::Store = &store;
        s.create_tenant_with_holder(
            sekisho_store::conformance::tenant("t"),
            sekisho_store::conformance::user("u", "t", "a@example.jp"),
            sekisho_store::conformance::ticket(
                "h",
                sekisho_policy::ticket::TicketPurpose::Invitation,
                "u",
                i64::MAX,
            ),
        )
        .await
        .unwrap();
    }
    let store = SqliteStore::open(&path, Duration::from_secs(5)).unwrap();
    let s: &dyn sekisho_store::Store = &store;
    assert!(s
        .find_user_by_email("a@example.jp")
        .await
        .unwrap()
        .is_some());
}

#[test]
fn a_file_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    drop(SqliteStore::open(&path, Duration::from_secs(5)).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE meta SET value = 99 WHERE name = 'schema_version'",
        [],
    )
    .unwrap();
    drop(conn);
    let err = SqliteStore::open(&path, Duration::from_secs(5))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

/// The embedded store tells of changes (the session cache's notices): a
/// change made by another process on the same file (here, a second store
/// on it, as an admin command opens) reaches the first one's readers
/// through the change log, and the first's own changes too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_changes_are_told_across_processes() {
    use sekisho_store::{Change, ChangeNotices, SessionStore, Store, TenantStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3");
    let gateway = Arc::new(SqliteStore::open(&path, Duration::from_secs(5)).unwrap());
    let admin = SqliteStore::open(&path, Duration::from_secs(5)).unwrap();
    let mut notices = gateway.changes().expect("the embedded store tells");
    let follower = gateway.clone();
    let follow = tokio::spawn(async move { follower.follow_changes().await });
    sekisho_store::conformance::seed(&admin, "1").await;
    admin
        .create_session(sekisho_store::conformance::session("s1", "u1", "t1"))
        .await
        .unwrap();
    // Let the follower take its starting point, then change things.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let ended = (&admin as &dyn Store)
        .delete_user_sessions("u1")
        .await
        .unwrap();
    assert_eq!(ended, vec!["s1".to_string()]);
    admin.set_two_step_enabled("t1", true).await.unwrap();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while seen.len() < 2 {
        match tokio::time::timeout_at(deadline, notices.recv()).await {
            Ok(Ok(change)) => seen.push(change),
            other => panic!("no notice: {other:?}, seen {seen:?}"),
        }
    }
    assert!(seen.contains(&Change::Session("s1".into())), "{seen:?}");
    assert!(seen.contains(&Change::Tenant("t1".into())), "{seen:?}");
    follow.abort();
}

/// Two processes opening a new file at once (a gateway and its successor,
/// or two gateways of the benchmark on one file) both get the store: the
/// schema's version is written by one of them and read by both.
#[test]
fn a_new_file_opened_by_several_at_once_opens_for_all() {
    for _ in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let start = Arc::new(std::sync::Barrier::new(4));
        let opening: Vec<_> = (0..4)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    SqliteStore::open(&path, Duration::from_secs(5)).map(drop)
                })
            })
            .collect();
        for o in opening {
            assert_eq!(o.join().unwrap(), Ok(()));
        }
    }
}
