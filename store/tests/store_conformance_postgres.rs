//! The store conformance suite against the PostgreSQL backend, and what is
//! PostgreSQL's own: migrations under an advisory lock, the lock's count
//! across two pools, change notices by `LISTEN`/`NOTIFY`, TLS with a
//! private CA, purges by index, and the outage drills. Each check gets a
//! cluster of its own (`initdb` in a temporary folder) on a free loopback
//! port, stopped by its process id when the check ends.

use sekisho_store::conformance::{seed, session};
use sekisho_store::postgres::{Migrated, PostgresSettings, PostgresStore, SCHEMA_VERSION};
use sekisho_store::{AccountStore, Admission, AttemptRule, Change, ChangeNotices, SharedStore};
use sekisho_tests::postgres::PostgresServer;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn settings(server: &PostgresServer) -> PostgresSettings {
    PostgresSettings {
        url: server.url(),
        pool_size: 8,
        migrate_at_start: true,
        ..PostgresSettings::default()
    }
}

async fn migrated(server: &PostgresServer, timeout: Duration) -> PostgresStore {
    let store = PostgresStore::new(&settings(server), timeout).unwrap();
    store.migrate().await.unwrap();
    store
}

/// A store on a fresh, migrated cluster; the server lives as long as the
/// guard.
async fn on_postgres() -> (SharedStore, PostgresServer) {
    let server = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let store = migrated(&server, Duration::from_secs(5)).await;
    (Arc::new(store), server)
}

sekisho_store::store_conformance_tests!(guarded on_postgres());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_starting_together_migrate_once() {
    let server = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    // Four gateways at once: the advisory lock lets one create the schema;
    // the others wait, then find it current.
    let mut starts = Vec::new();
    for _ in 0..4 {
        let s = settings(&server);
        starts.push(tokio::spawn(async move {
            PostgresStore::new(&s, Duration::from_secs(10))
                .unwrap()
                .migrate()
                .await
        }));
    }
    let mut outcomes = Vec::new();
    for s in starts {
        outcomes.push(s.await.unwrap().unwrap());
    }
    let created = Migrated {
        from: 0,
        to: SCHEMA_VERSION,
    };
    assert_eq!(outcomes.iter().filter(|m| **m == created).count(), 1);
    assert!(outcomes
        .iter()
        .all(|m| *m == created || m.from == SCHEMA_VERSION));
    let applied = server.psql("sekisho", "SELECT count(*) FROM sekisho_migrations");
    assert_eq!(applied.trim(), SCHEMA_VERSION.to_string());
}

/// `PostgresStore::open` (synchronous, as at start-up) off the runtime.
async fn open(settings: &PostgresSettings) -> Result<PostgresStore, sekisho_store::StoreError> {
    let s = settings.clone();
    tokio::task::spawn_blocking(move || PostgresStore::open(&s, Duration::from_secs(5)))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_of_another_version_is_refused() {
    let server = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let by_command = PostgresSettings {
        migrate_at_start: false,
        ..settings(&server)
    };
    // Migrations by command only: an empty database is refused, and says
    // what to run.
    let refused = open(&by_command).await.err().unwrap();
    assert!(
        refused.to_string().contains("sekisho admin migrate"),
        "{refused}"
    );
    // Once migrated, it opens.
    migrated(&server, Duration::from_secs(5)).await;
    open(&by_command).await.unwrap();
    // A newer gateway's schema is refused, never downgraded.
    server.psql(
        "sekisho",
        "INSERT INTO sekisho_migrations (version, description) VALUES (99, 'later')",
    );
    let refused = open(&settings(&server)).await.err().unwrap();
    assert!(
        refused.to_string().contains("schema version 99"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_attempts_across_two_pools_count_exactly() {
    let (first, server) = on_postgres().await;
    let second: SharedStore = Arc::new(migrated(&server, Duration::from_secs(5)).await);
    let rule = AttemptRule {
        threshold: 10,
        forget_after: 600,
    };
    let mut tasks = Vec::new();
    for i in 0..50 {
        let s = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            s.admit_attempt("race@example.jp", rule, 1_000)
                .await
                .unwrap()
        }));
    }
    let mut checked = Vec::new();
    for t in tasks {
        if let Admission::Checked(n) = t.await.unwrap() {
            checked.push(n);
        }
    }
    checked.sort();
    assert_eq!(
        checked,
        (1..=10).collect::<Vec<_>>(),
        "none lost, none repeated"
    );
    let kept = server.psql(
        "sekisho",
        &format!(
            "SELECT count FROM failures WHERE identifier = '{}'",
            sekisho_store::counter_key("race@example.jp")
        ),
    );
    assert_eq!(kept.trim(), "10");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_steps_on_two_pools_are_serialised() {
    let (first, server) = on_postgres().await;
    let second: SharedStore = Arc::new(migrated(&server, Duration::from_secs(5)).await);
    seed(&*first, "1").await;
    // Twenty sessions made and revoked at once from both pools: each step
    // either wins or runs again, and none is half-applied.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            s.create_session(session(&format!("s{i}"), "u1", "t1"))
                .await
                .unwrap();
            s.set_two_step_enabled("t1", i % 3 == 0).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(first.list_user_sessions("u1").await.unwrap().len(), 20);
    let ended = second.delete_user_sessions("u1").await.unwrap();
    assert_eq!(ended.len(), 20);
    assert!(first.list_user_sessions("u1").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_every_listening_gateway() {
    let (writer, server) = on_postgres().await;
    let listener = Arc::new(migrated(&server, Duration::from_secs(5)).await);
    let mut notices = listener.changes().unwrap();
    let following = listener.clone();
    let follow = tokio::spawn(async move { following.follow_changes().await });
    seed(&*writer, "1").await;
    writer
        .create_session(session("s1", "u1", "t1"))
        .await
        .unwrap();
    // The listener is connected once a notice arrives: wait for its first.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        writer
            .set_plan("t1", sekisho_policy::model::Plan::Basic)
            .await
            .unwrap();
        if let Ok(Ok(Change::Tenant(t))) =
            tokio::time::timeout(Duration::from_millis(200), notices.recv()).await
        {
            assert_eq!(t, "t1");
            break;
        }
        assert!(Instant::now() < deadline, "the listener never connected");
    }
    while notices.try_recv().is_ok() {}
    writer.delete_session("s1").await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(2), notices.recv())
        .await
        .expect("a notice within the bound")
        .unwrap();
    assert_eq!(got, Change::Session("s1".into()));
    writer.remove_user("u1").await.unwrap();
    let mut seen = Vec::new();
    while let Ok(Ok(c)) = tokio::time::timeout(Duration::from_millis(500), notices.recv()).await {
        seen.push(c);
    }
    assert!(seen.contains(&Change::User("u1".into())), "{seen:?}");
    // A step that fails sends nothing: its notices die with its rollback.
    assert!(writer
        .set_plan("nobody", sekisho_policy::model::Plan::Basic)
        .await
        .is_err());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), notices.recv())
            .await
            .is_err(),
        "no notice from a rolled-back step"
    );
    follow.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purges_walk_an_expiry_index() {
    let (store, server) = on_postgres().await;
    seed(&*store, "1").await;
    store.purge_expired(2_000_000_000).await.unwrap();
    for (table, column) in [
        ("sessions", "expires_at"),
        ("tickets", "expires_at"),
        ("pending", "expires_at"),
        ("events", "window_end"),
        ("audit", "expires_at"),
        ("trusted", "last_used"),
        ("failures", "updated_at"),
    ] {
        let plan = server.psql(
            "sekisho",
            &format!(
                "SET enable_seqscan = off; EXPLAIN DELETE FROM {table} WHERE {column} <= 1000"
            ),
        );
        assert!(plan.contains("Index"), "{table}: {plan}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_fails_calls_within_the_timeout_and_recovers() {
    let mut server = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let store: SharedStore = Arc::new(migrated(&server, Duration::from_millis(500)).await);
    let _ = &mut server;
    seed(&*store, "1").await;
    let fails_fast = |what: &'static str| {
        let store = store.clone();
        async move {
            let started = Instant::now();
            assert!(store.ping().await.is_err(), "{what}");
            assert!(store.get_user("u1").await.is_err(), "{what}");
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{what}: calls fail within the timeout, not hang"
            );
        }
    };
    let recovers = |what: &'static str| {
        let store = store.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            while store.ping().await.is_err() {
                assert!(Instant::now() < deadline, "{what}: recovers by itself");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(
                store.get_user("u1").await.unwrap().unwrap().email,
                "holder1@example.jp",
                "{what}: nothing lost"
            );
        }
    };
    server.stop();
    fails_fast("stopped").await;
    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .unwrap();
    recovers("restarted").await;
    server.pause();
    fails_fast("paused").await;
    server.resume();
    recovers("resumed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca_is_verified() {
    let server = tokio::task::spawn_blocking(PostgresServer::start_tls)
        .await
        .unwrap();
    let tls = PostgresSettings {
        tls: true,
        ..settings(&server)
    };
    // Without TLS the server refuses; the public roots do not vouch for a
    // private CA.
    let plain = PostgresStore::new(&settings(&server), Duration::from_secs(2)).unwrap();
    assert!(plain.migrate().await.is_err(), "plain TCP refused");
    let untrusted = PostgresStore::new(&tls, Duration::from_secs(2)).unwrap();
    assert!(untrusted.migrate().await.is_err(), "unknown CA refused");
    // With the CA, the connection is TLS and verified.
    let trusted = PostgresStore::new(
        &PostgresSettings {
            ca_pem: Some(std::fs::read(server.ca_file()).unwrap()),
            ..tls
        },
        Duration::from_secs(5),
    )
    .unwrap();
    trusted.migrate().await.unwrap();
    seed(&trusted, "1").await;
    assert!(trusted
        .find_user_by_email("holder1@example.jp")
        .await
        .unwrap()
        .is_some());
    let ssl = server.psql(
        "sekisho",
        "SELECT bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
         WHERE application_name = 'sekisho'",
    );
    assert_eq!(ssl.trim(), "t", "every gateway connection is TLS");
}
