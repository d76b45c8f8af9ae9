//! The PostgreSQL store, shared by several gateways: the relational
//! database operators already back up, replicate and audit.
//!
//! * Records are JSONB documents beside the few columns they are found by,
//!   as in the embedded store, so a later field is a `#[serde(default)]`.
//! * Every domain step (`records`) runs in one `SERIALIZABLE` transaction,
//!   run again from its reads when PostgreSQL reports a serialisation
//!   failure or deadlock: the same atomicity as SQLite's `BEGIN IMMEDIATE`
//!   and Redis's `WATCH`/`MULTI`, without a lock held across the network.
//! * The failure counters of the lock take a row lock instead (`READ
//!   COMMITTED`, `INSERT … ON CONFLICT … RETURNING`): fifty parallel wrong
//!   passwords queue on one row rather than retrying.
//! * Change notices go out with `pg_notify` inside the step's transaction,
//!   so they are sent when, and only when, it commits; each gateway
//!   `LISTEN`s on a connection of its own.
//! * Every call runs under the store timeout and every statement under
//!   PostgreSQL's `statement_timeout`: a slow or stopped server fails the
//!   call closed (S33), and the pool reconnects on its own.
//! * The schema is migrated under an advisory lock, so N gateways can start
//!   together; expiry purges use an index on each expiry column.

use super::*;
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rustls_pki_types::pem::PemObject;
use sekisho_policy::line::AccessRoute;
use sekisho_policy::lock::Admission;
use sekisho_policy::model::{LoginMethod, Plan, Role};
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::UnixTime;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{IsolationLevel, NoTls, Row};

/// The channel every gateway listens on for [`Change`]s.
const CHANGES: &str = "sekisho_changes";

/// The advisory lock the migrations run under (any fixed number; this one
/// is "sekisho" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x0073_656b_6973_686f;

/// The schema, one migration per version: the first creates it. A later
/// release appends; none is ever edited once released.
const MIGRATIONS: &[(i32, &str, &str)] = &[(
    1,
    "the records, their lookup columns and the expiry indexes",
    "
CREATE TABLE meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL);
CREATE TABLE tenants (id TEXT PRIMARY KEY, seq BIGSERIAL NOT NULL, data JSONB NOT NULL);
CREATE UNIQUE INDEX tenants_by_connection ON tenants ((data->'ad'->>'connection_id'))
    WHERE data->'ad'->>'connection_id' IS NOT NULL;
CREATE TABLE users (
    id TEXT PRIMARY KEY, seq BIGSERIAL NOT NULL, tenant_id TEXT NOT NULL,
    email TEXT NOT NULL CONSTRAINT users_by_email UNIQUE, data JSONB NOT NULL);
CREATE INDEX users_by_tenant ON users (tenant_id, seq);
CREATE UNIQUE INDEX users_by_identity ON users
    ((data->'identity'->>'issuer'), (data->'identity'->>'subject'))
    WHERE data->'identity'->>'issuer' IS NOT NULL;
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at BIGINT NOT NULL, data JSONB NOT NULL);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE TABLE tickets (
    hash TEXT PRIMARY KEY, purpose TEXT NOT NULL, user_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL, data JSONB NOT NULL);
CREATE INDEX tickets_by_user ON tickets (user_id, purpose);
CREATE INDEX tickets_by_expiry ON tickets (expires_at);
CREATE TABLE failures (identifier TEXT PRIMARY KEY, count INTEGER NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX failures_by_time ON failures (updated_at);
CREATE TABLE pending (
    id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at BIGINT NOT NULL, data JSONB NOT NULL);
CREATE INDEX pending_by_user ON pending (user_id);
CREATE INDEX pending_by_expiry ON pending (expires_at);
CREATE TABLE trusted (
    id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, id TEXT NOT NULL,
    last_used BIGINT NOT NULL, data JSONB NOT NULL);
CREATE INDEX trusted_by_user ON trusted (user_id);
CREATE INDEX trusted_by_use ON trusted (last_used);
CREATE TABLE passkeys (
    credential_id TEXT PRIMARY KEY, seq BIGSERIAL NOT NULL, user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL, data JSONB NOT NULL);
CREATE INDEX passkeys_by_user ON passkeys (user_id, created_at, seq);
CREATE TABLE events (key TEXT PRIMARY KEY, count INTEGER NOT NULL, window_end BIGINT NOT NULL);
CREATE INDEX events_by_end ON events (window_end);
CREATE TABLE audit (
    seq BIGSERIAL PRIMARY KEY, tenant_id TEXT NOT NULL, expires_at BIGINT NOT NULL, data JSONB NOT NULL);
CREATE INDEX audit_by_tenant ON audit (tenant_id, seq);
CREATE INDEX audit_by_expiry ON audit (expires_at);
",
)];

/// The schema version this build understands: its last migration's.
pub const SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// How many times a step is run again after a serialisation failure
/// before the call gives up as unavailable (within the store timeout).
const MAX_ATTEMPTS: u32 = 12;

/// Where and how to reach PostgreSQL (from `[store.postgres]`).
#[derive(Clone, Default)]
pub struct PostgresSettings {
    /// `postgres://host:port/database`.
    pub url: String,
    /// The role to sign in as (`sekisho` when not given).
    pub username: Option<String>,
    pub password: Option<String>,
    pub pool_size: usize,
    /// TLS, the server's certificate and name verified.
    pub tls: bool,
    /// PEM certificates to trust instead of the public web roots.
    pub ca_pem: Option<Vec<u8>>,
    /// `open` brings the schema up to date; else it only checks it.
    pub migrate_at_start: bool,
}

/// Shown without the password (a config's debug print reaches logs).
impl std::fmt::Debug for PostgresSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSettings")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("pool_size", &self.pool_size)
            .field("tls", &self.tls)
            .field("ca_pem", &self.ca_pem.as_ref().map(|p| p.len()))
            .field("migrate_at_start", &self.migrate_at_start)
            .finish()
    }
}

/// What a migration did: the schema's version before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    pub from: i32,
    pub to: i32,
}

#[derive(Clone)]
enum Tls {
    Off,
    Verify(tokio_postgres_rustls::MakeRustlsConnect),
}

/// The PostgreSQL store. See the module's documentation.
pub struct PostgresStore {
    pool: Pool,
    /// For the connections outside the pool: migrations and `LISTEN`.
    config: tokio_postgres::Config,
    tls: Tls,
    timeout: Duration,
    changes: tokio::sync::broadcast::Sender<Change>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A driver error as the store's: the server's own message when it gave
/// one (never the statement's parameters).
fn pg_unavailable(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Unavailable(format!("postgres: {}", db.message())),
        None => unavailable(e),
    }
}

/// A step that lost a race to another transaction: run it again.
fn is_conflict(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// The unique index or constraint a write was refused by, if that was why.
fn taken_index(e: &tokio_postgres::Error) -> Option<String> {
    let db = e.as_db_error()?;
    (*db.code() == SqlState::UNIQUE_VIOLATION)
        .then(|| db.constraint().unwrap_or_default().to_string())
}

/// Column `i` of `row`, a JSONB record.
fn record<T: serde::de::DeserializeOwned>(row: &Row, i: usize) -> StoreResult<T> {
    row.try_get::<_, Json<T>>(i)
        .map(|j| j.0)
        .map_err(|e| StoreError::Unavailable(format!("unreadable record: {e}")))
}

fn records_of<T: serde::de::DeserializeOwned>(rows: &[Row]) -> StoreResult<Vec<T>> {
    rows.iter().map(|r| record(r, 0)).collect()
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Runs `sql` (prepared once per connection) for its rows.
async fn rows(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.query(&statement, params).await
}

/// Runs `sql` (prepared once per connection) for the rows it changed.
async fn execute(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.execute(&statement, params).await
}

/// The trust store for TLS: the operator's CA, or the public web roots.
fn tls_config(ca_pem: Option<&[u8]>) -> StoreResult<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| unavailable(format!("ca_file: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| unavailable(format!("ca_file: {e}")))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    if roots.is_empty() {
        return Err(unavailable("ca_file: holds no certificate"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(unavailable)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Runs `$step` (an expression using `$r`, the [`PgRecords`]) in one
/// `SERIALIZABLE` transaction on a pooled connection, under the store
/// timeout; run again from its reads when it lost a race.
macro_rules! in_transaction {
    ($store:expr, |$r:ident| $step:expr) => {
        $store
            .timed(async {
                let mut conn = $store.client().await?;
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    let tx = conn
                        .build_transaction()
                        .isolation_level(IsolationLevel::Serializable)
                        .start()
                        .await
                        .map_err(pg_unavailable)?;
                    let mut records = PgRecords::new(&tx);
                    let outcome = {
                        let $r = &mut records;
                        $step.await
                    };
                    let (conflict, notices) = records.finish();
                    let conflict = match outcome {
                        Ok(value) => match commit(tx, &notices).await {
                            Ok(()) => break Ok(value),
                            Err(e) if is_conflict(&e) => true,
                            Err(e) => break Err(pg_unavailable(e)),
                        },
                        Err(e) => {
                            let _ = tx.rollback().await;
                            if !conflict {
                                break Err(e);
                            }
                            true
                        }
                    };
                    if conflict && attempt >= MAX_ATTEMPTS {
                        break Err(unavailable("too many conflicting writers; try again"));
                    }
                    backoff(attempt).await;
                }
            })
            .await
    };
}

/// Sends the step's notices (delivered by PostgreSQL at commit) and
/// commits.
async fn commit(
    tx: deadpool_postgres::Transaction<'_>,
    notices: &[String],
) -> Result<(), tokio_postgres::Error> {
    if !notices.is_empty() {
        execute(
            &tx,
            "SELECT pg_notify($1, n) FROM unnest($2::text[]) AS n",
            &[&CHANGES, &notices],
        )
        .await?;
    }
    tx.commit().await
}

/// A short, growing, jittered pause before a step runs again, so racing
/// writers do not meet again in step.
async fn backoff(attempt: u32) {
    let jitter = u64::from(random_bytes::<1>()[0] % 4);
    let ms = (1u64 << attempt.min(6)) + jitter;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

impl PostgresStore {
    /// A store for `settings`; connects lazily (the pool on first use).
    pub fn new(settings: &PostgresSettings, timeout: Duration) -> StoreResult<PostgresStore> {
        let mut config: tokio_postgres::Config = settings
            .url
            .parse()
            .map_err(|e| unavailable(format!("url: {e}")))?;
        config
            .user(settings.username.as_deref().unwrap_or("sekisho"))
            .application_name("sekisho")
            .connect_timeout(timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .target_session_attrs(tokio_postgres::config::TargetSessionAttrs::ReadWrite);
        // The server ends what the gateway has stopped waiting for, and a
        // transaction left open by a gateway that died.
        let ms = timeout.as_millis().max(1);
        config.options(format!(
            "-c statement_timeout={ms} -c idle_in_transaction_session_timeout={}",
            ms * 5
        ));
        if let Some(p) = &settings.password {
            config.password(p);
        }
        let tls = if settings.tls {
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
            Tls::Verify(tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(
                settings.ca_pem.as_deref(),
            )?))
        } else {
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
            Tls::Off
        };
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &tls {
            Tls::Off => {
                deadpool_postgres::Manager::from_config(config.clone(), NoTls, manager_config)
            }
            Tls::Verify(m) => {
                deadpool_postgres::Manager::from_config(config.clone(), m.clone(), manager_config)
            }
        };
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .map_err(unavailable)?;
        Ok(PostgresStore {
            pool,
            config,
            tls,
            timeout,
            changes: tokio::sync::broadcast::channel(4096).0,
        })
    }

    /// [`PostgresStore::new`] and the schema brought up to date (or only
    /// checked), from synchronous code: the start-up and the admin
    /// commands. That runs on a thread and runtime of its own, on a
    /// connection that is not kept.
    pub fn open(settings: &PostgresSettings, timeout: Duration) -> StoreResult<PostgresStore> {
        let store = PostgresStore::new(settings, timeout)?;
        let migrate = settings.migrate_at_start;
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(unavailable)?;
                    rt.block_on(async {
                        if migrate {
                            store.migrate().await.map(|_| ())
                        } else {
                            store.check_schema().await
                        }
                    })
                })
                .join()
                .unwrap_or_else(|_| Err(unavailable("schema check failed")))
        })?;
        Ok(store)
    }

    /// A connection of its own, outside the pool, driven on this runtime.
    async fn own_connection(&self) -> StoreResult<tokio_postgres::Client> {
        let connect = async {
            match &self.tls {
                Tls::Off => {
                    let (client, conn) = self.config.connect(NoTls).await?;
                    tokio::spawn(conn);
                    Ok(client)
                }
                Tls::Verify(m) => {
                    let (client, conn) = self.config.connect(m.clone()).await?;
                    tokio::spawn(conn);
                    Ok(client)
                }
            }
        };
        match tokio::time::timeout(self.timeout, connect).await {
            Err(_) => Err(unavailable("timed out connecting")),
            Ok(result) => result.map_err(pg_unavailable),
        }
    }

    /// The schema's version: 0 for an empty database.
    async fn schema_version(client: &tokio_postgres::Client) -> StoreResult<i32> {
        let kept: bool = client
            .query_one("SELECT to_regclass('sekisho_migrations') IS NOT NULL", &[])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(pg_unavailable)?;
        if !kept {
            return Ok(0);
        }
        client
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM sekisho_migrations",
                &[],
            )
            .await
            .and_then(|r| r.try_get(0))
            .map_err(pg_unavailable)
    }

    /// Refuses a database whose schema is not this build's: older (run
    /// `sekisho admin migrate`) or newer (a later gateway migrated it).
    pub async fn check_schema(&self) -> StoreResult<()> {
        let client = self.own_connection().await?;
        let version = tokio::time::timeout(self.timeout, Self::schema_version(&client))
            .await
            .map_err(|_| unavailable("timed out"))??;
        schema_fits(version)
    }

    /// Applies the migrations this database lacks, in one transaction under
    /// an advisory lock: gateways that start together wait for the first,
    /// then find nothing to do. A newer schema than this build's is
    /// refused, never downgraded.
    pub async fn migrate(&self) -> StoreResult<Migrated> {
        let mut client = self.own_connection().await?;
        // Migrations may outlast one call's timeout on a large database,
        // but never wait forever on a lock.
        let limit = self.timeout.max(Duration::from_secs(60));
        let run = async {
            let tx = client.transaction().await.map_err(pg_unavailable)?;
            tx.batch_execute(&format!(
                "SET LOCAL statement_timeout = {}",
                limit.as_millis()
            ))
            .await
            .map_err(pg_unavailable)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await
                .map_err(pg_unavailable)?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS sekisho_migrations (
                    version INTEGER PRIMARY KEY, description TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )
            .await
            .map_err(pg_unavailable)?;
            let from: i32 = tx
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM sekisho_migrations",
                    &[],
                )
                .await
                .and_then(|r| r.try_get(0))
                .map_err(pg_unavailable)?;
            if from > SCHEMA_VERSION {
                return Err(newer_schema(from));
            }
            for (version, description, sql) in MIGRATIONS.iter().filter(|m| m.0 > from) {
                tx.batch_execute(sql).await.map_err(pg_unavailable)?;
                tx.execute(
                    "INSERT INTO sekisho_migrations (version, description) VALUES ($1, $2)",
                    &[version, description],
                )
                .await
                .map_err(pg_unavailable)?;
            }
            tx.commit().await.map_err(pg_unavailable)?;
            Ok(Migrated {
                from,
                to: SCHEMA_VERSION,
            })
        };
        match tokio::time::timeout(limit, run).await {
            Err(_) => Err(unavailable("the migration timed out")),
            Ok(result) => result,
        }
    }

    /// `f` under the store timeout: a slow or stopped server fails the
    /// call, never hangs it.
    async fn timed<T>(
        &self,
        f: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        match tokio::time::timeout(self.timeout, f).await {
            Err(_) => Err(StoreError::Unavailable("timed out".into())),
            Ok(result) => result,
        }
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => pg_unavailable(e),
            other => unavailable(other),
        })
    }

    /// The rows of one statement on a pooled connection.
    async fn query(&self, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
        self.timed(async {
            let c = self.client().await?;
            rows(&c, sql, params).await.map_err(pg_unavailable)
        })
        .await
    }

    /// The JSONB records (column 0) one statement finds.
    async fn load_all<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> StoreResult<Vec<T>> {
        records_of(&self.query(sql, params).await?)
    }

    async fn load<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> StoreResult<Option<T>> {
        Ok(self.load_all(sql, params).await?.into_iter().next())
    }

    async fn run(&self, sql: &str, params: Params<'_>) -> StoreResult<u64> {
        self.timed(async {
            let c = self.client().await?;
            execute(&c, sql, params).await.map_err(pg_unavailable)
        })
        .await
    }

    /// Changes one of the user's passkeys in one transaction; `false` when
    /// it is not theirs (or gone).
    async fn edit_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        edit: impl Fn(&mut PasskeyRecord) + Send + Sync,
    ) -> StoreResult<bool> {
        in_transaction!(self, |r| records::edit_passkey(
            r,
            user_id,
            credential_id,
            &edit
        ))
    }

    /// Relays this gateway's `LISTEN` connection until it ends.
    async fn listen(&self, reconnected: bool) {
        let connected =
            async {
                match &self.tls {
                    Tls::Off => self.config.connect(NoTls).await.map(|(c, conn)| {
                        (c, Box::pin(relay(conn)) as std::pin::Pin<Box<dyn Relay>>)
                    }),
                    Tls::Verify(m) => self.config.connect(m.clone()).await.map(|(c, conn)| {
                        (c, Box::pin(relay(conn)) as std::pin::Pin<Box<dyn Relay>>)
                    }),
                }
            };
        let Ok(Ok((client, relay))) = tokio::time::timeout(self.timeout, connected).await else {
            return;
        };
        let (notices, mut received) = tokio::sync::mpsc::unbounded_channel();
        let driven = relay.drive(notices);
        let forwarded = async {
            let statement = format!("LISTEN {CHANGES}");
            let listening = client.batch_execute(&statement);
            if !matches!(
                tokio::time::timeout(self.timeout, listening).await,
                Ok(Ok(()))
            ) {
                return;
            }
            if reconnected {
                let _ = self.changes.send(Change::Everything);
                tracing::info!("store: change notices flow again");
            }
            while let Some(text) = received.recv().await {
                if let Some(c) = Change::decode(&text) {
                    let _ = self.changes.send(c);
                }
            }
        };
        tokio::select! {
            _ = driven => {}
            _ = forwarded => {}
        }
    }
}

/// A `LISTEN` connection's messages, whatever its socket (plain or TLS).
trait Relay: Send {
    /// Sends each notice's payload to `to` until the connection ends.
    fn drive(
        self: std::pin::Pin<Box<Self>>,
        to: tokio::sync::mpsc::UnboundedSender<String>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
}

struct Relaying<S, T>(tokio_postgres::Connection<S, T>);

fn relay<S, T>(conn: tokio_postgres::Connection<S, T>) -> Relaying<S, T> {
    Relaying(conn)
}

impl<S, T> Relay for Relaying<S, T>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    fn drive(
        self: std::pin::Pin<Box<Self>>,
        to: tokio::sync::mpsc::UnboundedSender<String>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let mut conn = std::pin::Pin::into_inner(self).0;
        Box::pin(async move {
            use tokio_stream::StreamExt;
            let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                        let _ = to.send(n.payload().to_string());
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        })
    }
}

fn newer_schema(version: i32) -> StoreError {
    unavailable(format!(
        "the database has schema version {version}; this gateway understands {SCHEMA_VERSION} \
         (a newer gateway migrated it)"
    ))
}

/// Whether a database at `version` can be used by this build as it is.
fn schema_fits(version: i32) -> StoreResult<()> {
    match version {
        v if v == SCHEMA_VERSION => Ok(()),
        v if v > SCHEMA_VERSION => Err(newer_schema(v)),
        v => Err(unavailable(format!(
            "the database has schema version {v}; this gateway needs {SCHEMA_VERSION}: \
             run `sekisho admin migrate`"
        ))),
    }
}

/// The record primitives on one PostgreSQL transaction.
struct PgRecords<'t, 'c> {
    tx: &'t deadpool_postgres::Transaction<'c>,
    /// A statement failed as a race lost (serialisation, deadlock).
    conflict: bool,
    /// Change notices, sent just before the commit.
    notices: Vec<String>,
}

impl<'t, 'c> PgRecords<'t, 'c> {
    fn new(tx: &'t deadpool_postgres::Transaction<'c>) -> Self {
        PgRecords {
            tx,
            conflict: false,
            notices: Vec::new(),
        }
    }

    /// Whether the step lost a race, and its notices.
    fn finish(self) -> (bool, Vec<String>) {
        (self.conflict, self.notices)
    }

    /// A driver error, noting a lost race so that the step runs again.
    fn failed(&mut self, e: tokio_postgres::Error) -> StoreError {
        if is_conflict(&e) {
            self.conflict = true;
        }
        pg_unavailable(e)
    }

    fn announce(&mut self, change: Change) {
        self.notices.push(change.encode());
    }

    async fn rows(&mut self, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
        match rows(self.tx, sql, params).await {
            Ok(r) => Ok(r),
            Err(e) => Err(self.failed(e)),
        }
    }

    async fn execute(&mut self, sql: &str, params: Params<'_>) -> StoreResult<u64> {
        match execute(self.tx, sql, params).await {
            Ok(n) => Ok(n),
            Err(e) => Err(self.failed(e)),
        }
    }

    /// A write that a unique index may refuse: `refused` names the error
    /// for each index, `None` leaves it a failure.
    async fn write_unique(
        &mut self,
        sql: &str,
        params: Params<'_>,
        refused: impl Fn(&str) -> Option<StoreError>,
    ) -> StoreResult<u64> {
        match execute(self.tx, sql, params).await {
            Ok(n) => Ok(n),
            Err(e) => match taken_index(&e).and_then(|index| refused(&index)) {
                Some(refusal) => Err(refusal),
                None => Err(self.failed(e)),
            },
        }
    }

    async fn load<T: serde::de::DeserializeOwned>(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> StoreResult<Option<T>> {
        let rows = self.rows(sql, params).await?;
        rows.first().map(|r| record(r, 0)).transpose()
    }
}

/// Which error a taken unique index on `users` means.
fn user_taken(index: &str) -> Option<StoreError> {
    match index {
        "users_by_identity" => Some(StoreError::IdentityTaken),
        "users_by_email" => Some(StoreError::EmailTaken),
        _ => None,
    }
}

const INSERT_USER: &str = "INSERT INTO users (id, tenant_id, email, data) VALUES ($1, $2, $3, $4)";
const INSERT_TENANT: &str = "INSERT INTO tenants (id, data) VALUES ($1, $2)";
const INSERT_SESSION: &str =
    "INSERT INTO sessions (id_hash, user_id, expires_at, data) VALUES ($1, $2, $3, $4)";
const INSERT_TICKET: &str =
    "INSERT INTO tickets (hash, purpose, user_id, expires_at, data) VALUES ($1, $2, $3, $4, $5)";
const UPSERT_PENDING: &str = "INSERT INTO pending (id_hash, user_id, expires_at, data) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (id_hash) DO UPDATE \
     SET user_id = EXCLUDED.user_id, expires_at = EXCLUDED.expires_at, data = EXCLUDED.data";
const INSERT_TRUSTED: &str =
    "INSERT INTO trusted (id_hash, user_id, id, last_used, data) VALUES ($1, $2, $3, $4, $5)";
const INSERT_PASSKEY: &str =
    "INSERT INTO passkeys (credential_id, user_id, created_at, data) VALUES ($1, $2, $3, $4)";

impl records::Records for PgRecords<'_, '_> {
    async fn user(&mut self, id: &str) -> StoreResult<Option<User>> {
        self.load("SELECT data FROM users WHERE id = $1", &[&id])
            .await
    }
    async fn save_user(&mut self, user: &User) -> StoreResult<()> {
        let n = self
            .write_unique(
                "UPDATE users SET tenant_id = $2, email = $3, data = $4 WHERE id = $1",
                &[&user.id, &user.tenant_id, &user.email, &Json(user)],
                user_taken,
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.announce(Change::User(user.id.clone()));
        Ok(())
    }
    async fn tenant(&mut self, id: &str) -> StoreResult<Option<Tenant>> {
        self.load("SELECT data FROM tenants WHERE id = $1", &[&id])
            .await
    }
    async fn save_tenant(&mut self, tenant: &Tenant) -> StoreResult<()> {
        let n = self
            .write_unique(
                "UPDATE tenants SET data = $2 WHERE id = $1",
                &[&tenant.id, &Json(tenant)],
                // Only the 接続ID's unique index can refuse an update.
                |_| Some(StoreError::Stale),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.announce(Change::Tenant(tenant.id.clone()));
        Ok(())
    }
    async fn ticket(&mut self, hash: &str) -> StoreResult<Option<TicketRecord>> {
        self.load("SELECT data FROM tickets WHERE hash = $1", &[&hash])
            .await
    }
    async fn tickets_of(
        &mut self,
        user_id: &str,
        purpose: TicketPurpose,
    ) -> StoreResult<Vec<TicketRecord>> {
        let rows = self
            .rows(
                "SELECT data FROM tickets WHERE user_id = $1 AND purpose = $2",
                &[&user_id, &purpose.as_str()],
            )
            .await?;
        records_of(&rows)
    }
    async fn put_ticket(&mut self, t: &TicketRecord) -> StoreResult<()> {
        self.execute(
            INSERT_TICKET,
            &[&t.hash, &t.purpose, &t.user_id, &t.expires_at, &Json(t)],
        )
        .await?;
        Ok(())
    }
    async fn save_ticket(&mut self, ticket: &TicketRecord) -> StoreResult<()> {
        self.execute(
            "UPDATE tickets SET data = $2 WHERE hash = $1",
            &[&ticket.hash, &Json(ticket)],
        )
        .await?;
        Ok(())
    }
    async fn drop_ticket(&mut self, ticket: &TicketRecord) -> StoreResult<()> {
        self.execute("DELETE FROM tickets WHERE hash = $1", &[&ticket.hash])
            .await?;
        Ok(())
    }
    async fn delete_tickets_of(
        &mut self,
        user_id: &str,
        purpose: TicketPurpose,
    ) -> StoreResult<()> {
        self.execute(
            "DELETE FROM tickets WHERE user_id = $1 AND purpose = $2",
            &[&user_id, &purpose.as_str()],
        )
        .await?;
        Ok(())
    }
    async fn insert_session(&mut self, s: &SessionRecord) -> StoreResult<()> {
        self.execute(
            INSERT_SESSION,
            &[&s.id_hash, &s.user_id, &s.expires_at, &Json(s)],
        )
        .await?;
        Ok(())
    }
    async fn session(&mut self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
        self.load("SELECT data FROM sessions WHERE id_hash = $1", &[&id_hash])
            .await
    }
    async fn save_session(&mut self, s: &SessionRecord) -> StoreResult<()> {
        self.execute(
            "UPDATE sessions SET data = $2 WHERE id_hash = $1",
            &[&s.id_hash, &Json(s)],
        )
        .await?;
        self.announce(Change::Session(s.id_hash.clone()));
        Ok(())
    }
    async fn drop_session(&mut self, id_hash: &str) -> StoreResult<()> {
        self.execute("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash])
            .await?;
        self.announce(Change::Session(id_hash.to_string()));
        Ok(())
    }
    async fn note_login(&mut self, s: &SessionRecord) -> StoreResult<()> {
        self.execute(
            "UPDATE users SET data = jsonb_set(data, '{last_login_at}', to_jsonb($2::bigint)) \
             WHERE id = $1",
            &[&s.user_id, &s.created_at],
        )
        .await?;
        Ok(())
    }
    async fn connection_owner(&mut self, connection_id: &str) -> StoreResult<Option<String>> {
        let rows = self
            .rows(
                "SELECT id FROM tenants WHERE data->'ad'->>'connection_id' = $1",
                &[&connection_id],
            )
            .await?;
        rows.first()
            .map(|r| r.try_get(0).map_err(pg_unavailable))
            .transpose()
    }
    async fn claim_connection(
        &mut self,
        _connection_id: &str,
        _tenant_id: &str,
    ) -> StoreResult<()> {
        // The unique index on the tenant's 接続ID is the claim.
        Ok(())
    }
    async fn delete_sessions_of(
        &mut self,
        user_id: &str,
        keep: Option<&str>,
    ) -> StoreResult<Vec<String>> {
        let rows = self
            .rows(
                "DELETE FROM sessions WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2 \
                 RETURNING id_hash",
                &[&user_id, &keep],
            )
            .await?;
        let ended: Vec<String> = rows
            .iter()
            .map(|r| r.try_get(0).map_err(pg_unavailable))
            .collect::<StoreResult<_>>()?;
        for h in &ended {
            self.announce(Change::Session(h.clone()));
        }
        Ok(ended)
    }
    async fn clear_failures(&mut self, identifier: &str) -> StoreResult<()> {
        let key = crate::counter_key(identifier);
        self.execute("DELETE FROM failures WHERE identifier = $1", &[&key])
            .await?;
        Ok(())
    }
    async fn drop_trusted_browsers_of(&mut self, user_id: &str) -> StoreResult<u64> {
        self.execute("DELETE FROM trusted WHERE user_id = $1", &[&user_id])
            .await
    }
    async fn drop_pendings_of(&mut self, user_id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM pending WHERE user_id = $1", &[&user_id])
            .await?;
        Ok(())
    }
    async fn insert_tenant(&mut self, tenant: &Tenant) -> StoreResult<()> {
        self.write_unique(INSERT_TENANT, &[&tenant.id, &Json(tenant)], |_| {
            Some(StoreError::Stale)
        })
        .await?;
        Ok(())
    }
    async fn insert_user(&mut self, user: &User) -> StoreResult<()> {
        self.write_unique(
            INSERT_USER,
            &[&user.id, &user.tenant_id, &user.email, &Json(user)],
            user_taken,
        )
        .await?;
        Ok(())
    }
    async fn drop_user(&mut self, user: &User) -> StoreResult<()> {
        self.execute("DELETE FROM users WHERE id = $1", &[&user.id])
            .await?;
        self.announce(Change::User(user.id.clone()));
        Ok(())
    }
    async fn drop_tickets_of(&mut self, user_id: &str) -> StoreResult<()> {
        self.execute("DELETE FROM tickets WHERE user_id = $1", &[&user_id])
            .await?;
        Ok(())
    }
    async fn pending(&mut self, id_hash: &str) -> StoreResult<Option<PendingLogin>> {
        self.load("SELECT data FROM pending WHERE id_hash = $1", &[&id_hash])
            .await
    }
    async fn drop_pending(&mut self, pending: &PendingLogin) -> StoreResult<()> {
        self.execute(
            "DELETE FROM pending WHERE id_hash = $1",
            &[&pending.id_hash],
        )
        .await?;
        Ok(())
    }
    async fn save_pending(&mut self, p: &PendingLogin) -> StoreResult<()> {
        self.execute(
            UPSERT_PENDING,
            &[&p.id_hash, &p.user_id, &p.expires_at, &Json(p)],
        )
        .await?;
        Ok(())
    }
    async fn trusted_browser(&mut self, id_hash: &str) -> StoreResult<Option<TrustedBrowser>> {
        self.load("SELECT data FROM trusted WHERE id_hash = $1", &[&id_hash])
            .await
    }
    async fn save_trusted_browser(&mut self, b: &TrustedBrowser) -> StoreResult<()> {
        self.execute(
            "UPDATE trusted SET last_used = $2, data = $3 WHERE id_hash = $1",
            &[&b.id_hash, &b.last_used, &Json(b)],
        )
        .await?;
        Ok(())
    }
    async fn passkey(&mut self, credential_id: &str) -> StoreResult<Option<PasskeyRecord>> {
        self.load(
            "SELECT data FROM passkeys WHERE credential_id = $1",
            &[&credential_id],
        )
        .await
    }
    async fn insert_passkey(&mut self, p: &PasskeyRecord) -> StoreResult<()> {
        self.execute(
            INSERT_PASSKEY,
            &[&p.credential_id, &p.user_id, &p.created_at, &Json(p)],
        )
        .await?;
        Ok(())
    }
    async fn save_passkey(&mut self, p: &PasskeyRecord) -> StoreResult<()> {
        self.execute(
            "UPDATE passkeys SET data = $2 WHERE credential_id = $1",
            &[&p.credential_id, &Json(p)],
        )
        .await?;
        Ok(())
    }
    async fn drop_passkey(&mut self, p: &PasskeyRecord) -> StoreResult<()> {
        self.execute(
            "DELETE FROM passkeys WHERE credential_id = $1",
            &[&p.credential_id],
        )
        .await?;
        Ok(())
    }
    async fn drop_passkeys_of(&mut self, user_id: &str) -> StoreResult<u64> {
        self.execute("DELETE FROM passkeys WHERE user_id = $1", &[&user_id])
            .await
    }
}

mod parts;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_fits_only_at_this_builds_version() {
        assert!(schema_fits(SCHEMA_VERSION).is_ok());
        let older = schema_fits(SCHEMA_VERSION - 1).unwrap_err().to_string();
        assert!(older.contains("sekisho admin migrate"), "{older}");
        let newer = schema_fits(SCHEMA_VERSION + 1).unwrap_err().to_string();
        assert!(newer.contains("newer gateway"), "{newer}");
    }

    #[test]
    fn migrations_are_numbered_in_order_from_one() {
        for (i, (version, description, sql)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i as i32 + 1);
            assert!(!description.is_empty() && !sql.trim().is_empty());
        }
    }

    #[test]
    fn a_private_ca_that_is_not_pem_is_refused() {
        let refused = tls_config(Some(b"not a certificate")).unwrap_err();
        assert!(refused.to_string().contains("no certificate"), "{refused}");
        assert!(tls_config(None).is_ok(), "the public roots");
    }
}
