//! `sekisho admin export` / `import` move everything between the embedded
//! store and Redis: embedded → Redis → embedded, each step checked.

use sekisho_store::conformance::{populate, round_trip};
use sekisho_store::postgres::{PostgresSettings, PostgresStore};
use sekisho_store::redis::{RedisSettings, RedisStore};
use sekisho_store::sqlite::SqliteStore;
use sekisho_tests::postgres::PostgresServer;
use sekisho_tests::redis::RedisServer;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_moves_between_the_embedded_store_and_redis() {
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_secs(5);
    let embedded = SqliteStore::open(&dir.path().join("a.sqlite3"), timeout).unwrap();
    populate(&embedded).await;
    let server = RedisServer::start();
    let redis = RedisStore::new(
        &RedisSettings {
            url: server.url(),
            username: None,
            password: None,
            key_prefix: "moved:".into(),
            pool_size: 4,
            ..RedisSettings::default()
        },
        timeout,
    )
    .unwrap();
    redis.check_schema().await.unwrap();
    round_trip(&embedded, &redis).await;
    let back = SqliteStore::open(&dir.path().join("b.sqlite3"), timeout).unwrap();
    round_trip(&redis, &back).await;
}

/// The three backends in a ring: embedded → PostgreSQL → Redis → embedded,
/// with nothing lost at any step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_moves_round_all_three_backends() {
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_secs(5);
    let embedded = SqliteStore::open(&dir.path().join("a.sqlite3"), timeout).unwrap();
    populate(&embedded).await;
    let pg_server = tokio::task::spawn_blocking(PostgresServer::start)
        .await
        .unwrap();
    let postgres = PostgresStore::new(
        &PostgresSettings {
            url: pg_server.url(),
            pool_size: 4,
            ..PostgresSettings::default()
        },
        timeout,
    )
    .unwrap();
    postgres.migrate().await.unwrap();
    round_trip(&embedded, &postgres).await;
    let redis_server = RedisServer::start();
    let redis = RedisStore::new(
        &RedisSettings {
            url: redis_server.url(),
            key_prefix: "ring:".into(),
            pool_size: 4,
            ..RedisSettings::default()
        },
        timeout,
    )
    .unwrap();
    redis.check_schema().await.unwrap();
    round_trip(&postgres, &redis).await;
    let back = SqliteStore::open(&dir.path().join("b.sqlite3"), timeout).unwrap();
    round_trip(&redis, &back).await;
}
