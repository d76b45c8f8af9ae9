//! The store conformance suite against the Redis backend: each check gets a
//! `redis-server` of its own on a free loopback port, stopped by its
//! process id when the check ends.

use sekisho_store::redis::{RedisSettings, RedisStore};
use sekisho_store::SharedStore;
use sekisho_tests::redis::RedisServer;
use std::sync::Arc;
use std::time::Duration;

fn settings(server: &RedisServer, prefix: &str) -> RedisSettings {
    RedisSettings {
        url: server.url(),
        username: None,
        password: None,
        key_prefix: prefix.into(),
        pool_size: 8,
        ..RedisSettings::default()
    }
}

/// A store on a fresh server; the server lives as long as the guard.
async fn on_redis() -> (SharedStore, RedisServer) {
    let server = RedisServer::start();
    let store = RedisStore::new(&settings(&server, "sekisho:"), Duration::from_secs(5)).unwrap();
    store.check_schema().await.unwrap();
    (Arc::new(store), server)
}

sekisho_store::store_conformance_tests!(guarded on_redis());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_another_schema_is_refused() {
    let server = RedisServer::start();
    server.cli(&["SET", "sekisho:schema_version", "99"]);
    let err = RedisStore::open(&settings(&server, "sekisho:"), Duration::from_secs(5))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("schema version 99"), "{err}");
    // Another deployment's prefix on the same server is its own database.
    assert!(RedisStore::open(&settings(&server, "other:"), Duration::from_secs(5)).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_with_other_prefixes_share_nothing() {
    use sekisho_policy::ticket::TicketPurpose;
    use sekisho_store::conformance::{session, tenant, ticket, user};
    let server = RedisServer::start();
    let a = RedisStore::new(&settings(&server, "a:"), Duration::from_secs(5)).unwrap();
    let b = RedisStore::new(&settings(&server, "b:"), Duration::from_secs(5)).unwrap();
    let (a, b): (SharedStore, SharedStore) = (Arc::new(a), Arc::new(b));
    a.create_tenant_with_holder(
        tenant("t1"),
        user("u1", "t1", "x@example.jp"),
        ticket("h1", TicketPurpose::Invitation, "u1", 1_900_000_000),
    )
    .await
    .unwrap();
    a.create_session(session("s1", "u1", "t1")).await.unwrap();
    assert!(a.session_view("s1").await.unwrap().is_some());
    assert!(b.session_view("s1").await.unwrap().is_none());
    assert!(b
        .find_user_by_email("x@example.jp")
        .await
        .unwrap()
        .is_none());
    // Expiring records carry a TTL in Redis as well as their own expiry.
    let ttl: i64 = server.cli(&["TTL", "a:s:s1"]).trim().parse().unwrap();
    assert!(ttl > 0, "sessions expire in Redis too: {ttl}");
    let ttl: i64 = server.cli(&["TTL", "a:u:u1"]).trim().parse().unwrap();
    assert_eq!(ttl, -1, "accounts never expire");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_fails_calls_within_the_timeout_and_recovers() {
    use sekisho_policy::ticket::TicketPurpose;
    use sekisho_store::conformance::{tenant, ticket, user};
    let mut server = RedisServer::start_with_aof();
    let store =
        RedisStore::new(&settings(&server, "sekisho:"), Duration::from_millis(500)).unwrap();
    store.check_schema().await.unwrap();
    let store: SharedStore = Arc::new(store);
    store
        .create_tenant_with_holder(
            tenant("t1"),
            user("u1", "t1", "kept@example.jp"),
            ticket("h1", TicketPurpose::Invitation, "u1", 1_900_000_000),
        )
        .await
        .unwrap();
    server.stop();
    let started = std::time::Instant::now();
    assert!(store.ping().await.is_err());
    assert!(store.get_user("u1").await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "calls fail within the timeout, not hang"
    );
    server.restart();
    // The pool reconnects on its own; nothing written before is lost (AOF).
    let mut back = false;
    for _ in 0..50 {
        if store.ping().await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "the store recovers by itself");
    assert_eq!(
        store.get_user("u1").await.unwrap().unwrap().email,
        "kept@example.jp"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca_is_verified() {
    use sekisho_policy::ticket::TicketPurpose;
    use sekisho_store::conformance::{tenant, ticket, user};
    let server = RedisServer::start_tls();
    assert_eq!(server.cli(&["PING"]).trim(), "PONG");
    assert!(server.url().starts_with("rediss://"));
    // The public roots do not vouch for a private CA: refused.
    let untrusted =
        RedisStore::new(&settings(&server, "sekisho:"), Duration::from_secs(2)).unwrap();
    assert!(untrusted.check_schema().await.is_err());
    // With the CA, the connection is TLS and verified.
    let trusted = RedisStore::new(
        &RedisSettings {
            ca_pem: Some(std::fs::read(server.ca_file()).unwrap()),
            ..settings(&server, "sekisho:")
        },
        Duration::from_secs(5),
    )
    .unwrap();
    trusted.check_schema().await.unwrap();
    let store: SharedStore = Arc::new(trusted);
    store
        .create_tenant_with_holder(
            tenant("t1"),
            user("u1", "t1", "tls@example.jp"),
            ticket("h1", TicketPurpose::Invitation, "u1", 1_900_000_000),
        )
        .await
        .unwrap();
    assert!(store
        .find_user_by_email("tls@example.jp")
        .await
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s51_a_run_short_of_the_threshold_carries_a_ttl_and_a_lock_none() {
    use sekisho_store::AttemptRule;
    let (store, server) = on_redis().await;
    let rule = AttemptRule {
        threshold: 3,
        forget_after: 600,
    };
    store
        .admit_attempt("sprayed@example.jp", rule, 1_000)
        .await
        .unwrap();
    let ttl: i64 = server
        .cli(&[
            "TTL",
            &format!(
                "sekisho:f:{}",
                sekisho_store::counter_key("sprayed@example.jp")
            ),
        ])
        .trim()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&ttl), "TTL {ttl}");
    for _ in 0..3 {
        store
            .admit_attempt("locked@example.jp", rule, 1_000)
            .await
            .unwrap();
    }
    let ttl = server.cli(&[
        "TTL",
        &format!(
            "sekisho:f:{}",
            sekisho_store::counter_key("locked@example.jp")
        ),
    ]);
    assert_eq!(ttl.trim(), "-1", "a lock has no TTL");
    // A plain counter an earlier version wrote is taken over.
    server.cli(&[
        "SET",
        &format!("sekisho:f:{}", sekisho_store::counter_key("old@example.jp")),
        "2",
    ]);
    assert_eq!(
        store
            .admit_attempt("old@example.jp", rule, 1_000)
            .await
            .unwrap(),
        sekisho_policy::lock::Admission::Checked(3)
    );
}
