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
