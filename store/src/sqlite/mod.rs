//! The embedded store: one SQLite file (WAL, `synchronous=FULL`).
//!
//! SQLite rather than a pure-Rust key-value file because several processes
//! may open it at once — the gateway and `sekisho admin` commands run beside
//! each other — and because its transactions make every trait method atomic
//! without hand-written locking. Reads run on tokio's blocking pool, writes
//! on the store's one writer thread ([`writer`], which commits the writes
//! that arrive together at once), both under a timeout, never on the
//! proxy's event loop.

use super::*;
use async_trait::async_trait;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, Connection, OptionalExtension};
use sekisho_policy::line::AccessRoute;
use sekisho_policy::lock::Admission;
use sekisho_policy::model::{LoginMethod, Plan, Role};
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::UnixTime;
use serde::Deserialize;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// Runs `$step` (an expression using `$r`, the [`SqliteRecords`]) as one
/// write of the store's writer: all of it kept when it succeeds, none of it
/// when it fails. Captured values must be owned (the closure is `move`).
macro_rules! in_transaction {
    ($store:expr, |$r:ident| $step:expr) => {
        $store
            .write(move |c| {
                let $r = &mut SqliteRecords(c);
                finish_now($step)
            })
            .await
    };
}

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, email TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS users_by_tenant ON users(tenant_id);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions(user_id);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions(expires_at);
CREATE TABLE IF NOT EXISTS tickets (
    hash TEXT PRIMARY KEY, purpose TEXT NOT NULL, user_id TEXT NOT NULL, expires_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tickets_by_user ON tickets(user_id, purpose);
CREATE INDEX IF NOT EXISTS tickets_by_expiry ON tickets(expires_at);
CREATE TABLE IF NOT EXISTS failures (identifier TEXT PRIMARY KEY, count INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS failures_by_time ON failures(updated_at);
CREATE TABLE IF NOT EXISTS pending (
    id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pending_by_user ON pending(user_id);
CREATE TABLE IF NOT EXISTS trusted (
    id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, id TEXT NOT NULL, last_used INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS trusted_by_user ON trusted(user_id);
CREATE UNIQUE INDEX IF NOT EXISTS users_by_identity ON users(
    json_extract(data, '$.identity.issuer'), json_extract(data, '$.identity.subject'))
    WHERE json_extract(data, '$.identity') IS NOT NULL;
CREATE TABLE IF NOT EXISTS passkeys (
    credential_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS passkeys_by_user ON passkeys(user_id, created_at);
CREATE TABLE IF NOT EXISTS events (key TEXT PRIMARY KEY, count INTEGER NOT NULL, window_end INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_tenant ON audit(tenant_id, seq);
CREATE INDEX IF NOT EXISTS audit_by_expiry ON audit(expires_at);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, change TEXT NOT NULL, at INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS tenants_by_connection ON tenants(
    json_extract(data, '$.ad.connection_id'))
    WHERE json_extract(data, '$.ad.connection_id') IS NOT NULL;
";

/// Connections to the database file, and calls running at once.
const POOL_CONNECTIONS: u32 = 8;

/// The embedded store.
pub struct SqliteStore {
    /// Connections for reads.
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// The one connection that writes, on its own thread.
    writer: writer::Writer,
    /// One permit per pooled connection: a call waits here, on the event
    /// loop's side, until a connection is free. Without it a burst of
    /// cache misses (every session at once, after an idle minute) started
    /// one blocking-pool thread each, hundreds of them waiting on the pool
    /// in `r2d2`: a thread storm that stalled both cores for 30 to 50 ms
    /// (P3's tail).
    permits: Arc<tokio::sync::Semaphore>,
    timeout: Duration,
    /// The change log's entries, read back by [`ChangeNotices::follow_changes`]
    /// for this process's session cache.
    changes: tokio::sync::broadcast::Sender<Change>,
}

/// Notes a change the session caches must see, in the writing step's own
/// transaction: every process on the file (a gateway, its successor, an
/// admin command) writes here, and each gateway reads what is new.
fn announce(conn: &Connection, change: &Change) -> StoreResult<()> {
    conn.run_cached(
        "INSERT INTO changes (change, at) VALUES (?1, CAST(strftime('%s', 'now') AS INTEGER))",
        [change.encode()],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn to_json<T: Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(unavailable)
}

fn from_json<T: for<'de> Deserialize<'de>>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Unavailable(format!("unreadable record: {e}")))
}

impl SqliteStore {
    /// Changes one of the user's passkeys in one transaction; `false` when
    /// it is not theirs (or gone).
    async fn edit_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        edit: impl FnOnce(&mut PasskeyRecord) + Send + 'static,
    ) -> StoreResult<bool> {
        let (user_id, credential_id) = (user_id.to_string(), credential_id.to_string());
        in_transaction!(self, |r| records::edit_passkey(
            r,
            &user_id,
            &credential_id,
            edit
        ))
    }

    /// Opens (creating if needed) the store at `path`. Synchronous: called at
    /// start-up and by admin commands, before any request is served.
    pub fn open(path: &Path, timeout: Duration) -> StoreResult<SqliteStore> {
        // No folder is made behind the operator's back (S49).
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(unavailable(format!(
                    "the folder {} does not exist",
                    dir.display()
                )));
            }
        }
        let manager = SqliteConnectionManager::file(path).with_init(move |c| set_up(c, timeout));
        let pool = r2d2::Pool::builder()
            .max_size(POOL_CONNECTIONS)
            .min_idle(Some(1))
            .connection_timeout(timeout)
            .build(manager)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        let conn = pool.get().map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        // A new file gets this version; two processes opening a new file
        // at once (a gateway and its successor) both try, and one is
        // ignored. Then the file's version is what it is.
        conn.run_cached(
            "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?1)",
            params![SCHEMA_VERSION],
        )
        .map_err(unavailable)?;
        let version: i64 = conn
            .row_cached(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .map_err(unavailable)?;
        if version != SCHEMA_VERSION {
            return Err(unavailable(format!(
                "{} has schema version {version}; this gateway understands {SCHEMA_VERSION}",
                path.display()
            )));
        }
        drop(conn);
        let writing = Connection::open(path)
            .and_then(|c| set_up(&c, timeout).map(|()| c))
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        Ok(SqliteStore {
            pool,
            writer: writer::Writer::start(writing)?,
            permits: Arc::new(tokio::sync::Semaphore::new(POOL_CONNECTIONS as usize)),
            timeout,
            changes: tokio::sync::broadcast::channel(4096).0,
        })
    }

    /// Runs `f` on a pooled connection on the blocking pool, under the store
    /// timeout. A timed-out call is reported at once; SQLite finishes or rolls
    /// back the statement on its own.
    async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let permits = self.permits.clone();
        let call = async move {
            // Held until the statement is done, even by a caller that gave
            // up waiting: a timed-out call's thread still has its connection.
            let permit = permits.acquire_owned().await.map_err(unavailable)?;
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let mut conn = pool.get().map_err(unavailable)?;
                f(&mut conn)
            })
            .await
            .map_err(unavailable)?
        };
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(StoreError::Unavailable("timed out".into())),
            Ok(result) => result,
        }
    }
}

impl SqliteStore {
    /// Runs `f` as one write of the store's writer (one savepoint of its
    /// next commit), under the store timeout. A timed-out call is reported
    /// at once; its write may still be committed.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        match tokio::time::timeout(self.timeout, self.writer.write(f)).await {
            Err(_) => Err(StoreError::Unavailable("timed out".into())),
            Ok(result) => result,
        }
    }
}

/// `execute` and `query_row` on statements prepared once per connection:
/// rusqlite's `Connection::execute` parses its SQL on every call, which was
/// a sixth of the store's time in a login burst (P13's profile).
trait Cached {
    fn run_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn row_cached<T, P, F>(&self, sql: &str, params: P, row: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn run_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row_cached<T, P, F>(&self, sql: &str, params: P, row: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, row)
    }
}

/// The statements each connection keeps prepared (rusqlite's default is
/// 16; the store has about 60).
const PREPARED_STATEMENTS: usize = 128;

/// Every connection's settings: WAL (readers never wait for the writer),
/// a full `fsync` at each commit, and the store timeout for the lock that
/// another process (an admin command) may hold.
fn set_up(c: &Connection, busy: Duration) -> rusqlite::Result<()> {
    c.busy_timeout(busy)?;
    c.set_prepared_statement_cache_capacity(PREPARED_STATEMENTS);
    c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
}

/// Every row's JSON `data` column, as records.
fn json_rows<T: for<'de> Deserialize<'de>>(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<T>> {
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(unavailable)?;
    rows.map(|r| from_json(&r.map_err(unavailable)?)).collect()
}

/// The record that `sql` (a `SELECT data … WHERE … = ?1`) finds for `key`.
fn load_one<T: for<'de> Deserialize<'de>>(
    conn: &Connection,
    sql: &str,
    key: &str,
) -> StoreResult<Option<T>> {
    let data: Option<String> = conn
        .row_cached(sql, [key], |r| r.get(0))
        .optional()
        .map_err(unavailable)?;
    data.map(|d| from_json(&d)).transpose()
}

fn parse_all<T: for<'de> Deserialize<'de>>(rows: Vec<String>) -> StoreResult<Vec<T>> {
    rows.iter().map(|r| from_json(r)).collect()
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// A write refused by a unique index is a step that lost to another
/// (`Stale`); anything else is the store failing.
fn stale_if_taken(e: rusqlite::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Stale
    } else {
        unavailable(e)
    }
}

/// The index a unique violation names (SQLite says "index 'name'" for
/// expression indexes, "users.email" for columns).
fn unique_index_of(e: &rusqlite::Error) -> Option<&'static str> {
    let text = e.to_string();
    text.contains("users_by_identity")
        .then_some("users_by_identity")
        .or_else(|| text.contains("json_extract").then_some("users_by_identity"))
}

fn insert_user(conn: &Connection, user: &User) -> StoreResult<()> {
    conn.run_cached(
        "INSERT INTO users (id, tenant_id, email, data) VALUES (?1, ?2, ?3, ?4)",
        params![user.id, user.tenant_id, user.email, to_json(user)?],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::EmailTaken
        } else {
            unavailable(e)
        }
    })?;
    Ok(())
}

fn save_user(conn: &Connection, user: &User) -> StoreResult<()> {
    let n = conn
        .run_cached(
            "UPDATE users SET tenant_id = ?2, email = ?3, data = ?4 WHERE id = ?1",
            params![user.id, user.tenant_id, user.email, to_json(user)?],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                if unique_index_of(&e) == Some("users_by_identity") {
                    StoreError::IdentityTaken
                } else {
                    StoreError::EmailTaken
                }
            } else {
                unavailable(e)
            }
        })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    announce(conn, &Change::User(user.id.clone()))
}

fn load_user(conn: &Connection, id: &str) -> StoreResult<Option<User>> {
    load_one(conn, "SELECT data FROM users WHERE id = ?1", id)
}

fn load_tenant(conn: &Connection, id: &str) -> StoreResult<Option<Tenant>> {
    load_one(conn, "SELECT data FROM tenants WHERE id = ?1", id)
}

fn insert_ticket(conn: &Connection, t: &TicketRecord) -> StoreResult<()> {
    conn.run_cached(
        "INSERT INTO tickets (hash, purpose, user_id, expires_at, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![t.hash, t.purpose, t.user_id, t.expires_at, to_json(t)?],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn load_live_ticket(
    conn: &Connection,
    hash: &str,
    purpose: &str,
    now: UnixTime,
) -> StoreResult<Option<TicketRecord>> {
    let data: Option<String> = conn
        .row_cached(
            "SELECT data FROM tickets WHERE hash = ?1 AND purpose = ?2 AND expires_at > ?3",
            params![hash, purpose, now],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    data.map(|d| from_json(&d)).transpose()
}

fn clear_failures_of(conn: &Connection, identifier: &str) -> StoreResult<()> {
    conn.run_cached(
        "DELETE FROM failures WHERE identifier = ?1",
        [crate::counter_key(identifier)],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn delete_tickets_of(conn: &Connection, user_id: &str, purpose: TicketPurpose) -> StoreResult<()> {
    conn.run_cached(
        "DELETE FROM tickets WHERE user_id = ?1 AND purpose = ?2",
        params![user_id, purpose.as_str()],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// Ends the user's sessions but `keep`; returns those ended.
fn delete_sessions_of(
    conn: &Connection,
    user_id: &str,
    keep: Option<&str>,
) -> StoreResult<Vec<String>> {
    let mut stmt = conn
        .prepare("DELETE FROM sessions WHERE user_id = ?1 AND id_hash IS NOT ?2 RETURNING id_hash")
        .map_err(unavailable)?;
    let rows = stmt
        .query_map(params![user_id, keep], |r| r.get::<_, String>(0))
        .map_err(unavailable)?;
    let ended = rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
    for h in &ended {
        announce(conn, &Change::Session(h.clone()))?;
    }
    Ok(ended)
}

fn insert_passkey(conn: &Connection, p: &PasskeyRecord) -> StoreResult<()> {
    conn.run_cached(
        "INSERT INTO passkeys (credential_id, user_id, created_at, data) VALUES (?1, ?2, ?3, ?4)",
        params![p.credential_id, p.user_id, p.created_at, to_json(p)?],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn save_passkey(conn: &Connection, p: &PasskeyRecord) -> StoreResult<()> {
    conn.run_cached(
        "UPDATE passkeys SET data = ?2 WHERE credential_id = ?1",
        params![p.credential_id, to_json(p)?],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn load_passkey(conn: &Connection, credential_id: &str) -> StoreResult<Option<PasskeyRecord>> {
    load_one(
        conn,
        "SELECT data FROM passkeys WHERE credential_id = ?1",
        credential_id,
    )
}

/// The record primitives on one SQLite transaction (its connection).
struct SqliteRecords<'c>(&'c Connection);

impl records::Records for SqliteRecords<'_> {
    async fn user(&mut self, id: &str) -> StoreResult<Option<User>> {
        load_user(self.0, id)
    }
    async fn save_user(&mut self, user: &User) -> StoreResult<()> {
        save_user(self.0, user)
    }
    async fn tenant(&mut self, id: &str) -> StoreResult<Option<Tenant>> {
        load_tenant(self.0, id)
    }
    async fn save_tenant(&mut self, tenant: &Tenant) -> StoreResult<()> {
        let n = self
            .0
            .run_cached(
                "UPDATE tenants SET data = ?2 WHERE id = ?1",
                params![tenant.id, to_json(tenant)?],
            )
            // Only the 接続ID's unique index can refuse an update.
            .map_err(stale_if_taken)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        announce(self.0, &Change::Tenant(tenant.id.clone()))
    }
    async fn ticket(&mut self, hash: &str) -> StoreResult<Option<TicketRecord>> {
        let data: Option<String> = self
            .0
            .row_cached("SELECT data FROM tickets WHERE hash = ?1", [hash], |r| {
                r.get(0)
            })
            .optional()
            .map_err(unavailable)?;
        data.map(|d| from_json(&d)).transpose()
    }
    async fn tickets_of(
        &mut self,
        user_id: &str,
        purpose: TicketPurpose,
    ) -> StoreResult<Vec<TicketRecord>> {
        let mut stmt = self
            .0
            .prepare("SELECT data FROM tickets WHERE user_id = ?1 AND purpose = ?2")
            .map_err(unavailable)?;
        json_rows(&mut stmt, params![user_id, purpose.as_str()])
    }
    async fn put_ticket(&mut self, ticket: &TicketRecord) -> StoreResult<()> {
        insert_ticket(self.0, ticket)
    }
    async fn save_ticket(&mut self, ticket: &TicketRecord) -> StoreResult<()> {
        self.0
            .run_cached(
                "UPDATE tickets SET data = ?2 WHERE hash = ?1",
                params![ticket.hash, to_json(ticket)?],
            )
            .map_err(unavailable)?;
        Ok(())
    }
    async fn drop_ticket(&mut self, ticket: &TicketRecord) -> StoreResult<()> {
        self.0
            .run_cached("DELETE FROM tickets WHERE hash = ?1", [&ticket.hash])
            .map_err(unavailable)?;
        Ok(())
    }
    async fn delete_tickets_of(
        &mut self,
        user_id: &str,
        purpose: TicketPurpose,
    ) -> StoreResult<()> {
        delete_tickets_of(self.0, user_id, purpose)
    }
    async fn insert_session(&mut self, session: &SessionRecord) -> StoreResult<()> {
        insert_session(self.0, session)
    }
    async fn session(&mut self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
        load_one(
            self.0,
            "SELECT data FROM sessions WHERE id_hash = ?1",
            id_hash,
        )
    }
    async fn save_session(&mut self, session: &SessionRecord) -> StoreResult<()> {
        self.0
            .run_cached(
                "UPDATE sessions SET data = ?2 WHERE id_hash = ?1",
                params![session.id_hash, to_json(session)?],
            )
            .map_err(unavailable)?;
        announce(self.0, &Change::Session(session.id_hash.clone()))
    }
    async fn drop_session(&mut self, id_hash: &str) -> StoreResult<()> {
        self.0
            .run_cached("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])
            .map_err(unavailable)?;
        announce(self.0, &Change::Session(id_hash.to_string()))
    }
    async fn note_login(&mut self, session: &SessionRecord) -> StoreResult<()> {
        note_login(self.0, session)
    }
    async fn connection_owner(&mut self, connection_id: &str) -> StoreResult<Option<String>> {
        self.0
            .row_cached(
                "SELECT id FROM tenants WHERE json_extract(data, '$.ad.connection_id') = ?1",
                [connection_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(unavailable)
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
        delete_sessions_of(self.0, user_id, keep)
    }
    async fn clear_failures(&mut self, identifier: &str) -> StoreResult<()> {
        clear_failures_of(self.0, identifier)
    }
    async fn pending(&mut self, id_hash: &str) -> StoreResult<Option<PendingLogin>> {
        load_one(
            self.0,
            "SELECT data FROM pending WHERE id_hash = ?1",
            id_hash,
        )
    }
    async fn drop_pending(&mut self, pending: &PendingLogin) -> StoreResult<()> {
        self.0
            .run_cached("DELETE FROM pending WHERE id_hash = ?1", [&pending.id_hash])
            .map_err(unavailable)?;
        Ok(())
    }
    async fn trusted_browser(&mut self, id_hash: &str) -> StoreResult<Option<TrustedBrowser>> {
        load_one(
            self.0,
            "SELECT data FROM trusted WHERE id_hash = ?1",
            id_hash,
        )
    }
    async fn save_trusted_browser(&mut self, browser: &TrustedBrowser) -> StoreResult<()> {
        self.0
            .run_cached(
                "UPDATE trusted SET last_used = ?2, data = ?3 WHERE id_hash = ?1",
                params![browser.id_hash, browser.last_used, to_json(browser)?],
            )
            .map_err(unavailable)?;
        Ok(())
    }
    async fn save_pending(&mut self, pending: &PendingLogin) -> StoreResult<()> {
        save_pending(self.0, pending)
    }
    async fn passkey(&mut self, credential_id: &str) -> StoreResult<Option<PasskeyRecord>> {
        load_passkey(self.0, credential_id)
    }
    async fn insert_passkey(&mut self, passkey: &PasskeyRecord) -> StoreResult<()> {
        insert_passkey(self.0, passkey)
    }
    async fn save_passkey(&mut self, passkey: &PasskeyRecord) -> StoreResult<()> {
        save_passkey(self.0, passkey)
    }
    async fn drop_passkey(&mut self, passkey: &PasskeyRecord) -> StoreResult<()> {
        self.0
            .run_cached(
                "DELETE FROM passkeys WHERE credential_id = ?1",
                [&passkey.credential_id],
            )
            .map_err(unavailable)?;
        Ok(())
    }
    async fn drop_trusted_browsers_of(&mut self, user_id: &str) -> StoreResult<u64> {
        let n = self
            .0
            .run_cached("DELETE FROM trusted WHERE user_id = ?1", [user_id])
            .map_err(unavailable)?;
        Ok(n as u64)
    }
    async fn drop_pendings_of(&mut self, user_id: &str) -> StoreResult<()> {
        self.0
            .run_cached("DELETE FROM pending WHERE user_id = ?1", [user_id])
            .map_err(unavailable)?;
        Ok(())
    }
    async fn insert_tenant(&mut self, tenant: &Tenant) -> StoreResult<()> {
        self.0
            .run_cached(
                "INSERT INTO tenants (id, data) VALUES (?1, ?2)",
                params![tenant.id, to_json(tenant)?],
            )
            .map_err(stale_if_taken)?;
        Ok(())
    }
    async fn insert_user(&mut self, user: &User) -> StoreResult<()> {
        insert_user(self.0, user)
    }
    async fn drop_user(&mut self, user: &User) -> StoreResult<()> {
        self.0
            .run_cached("DELETE FROM users WHERE id = ?1", [&user.id])
            .map_err(unavailable)?;
        announce(self.0, &Change::User(user.id.clone()))
    }
    async fn drop_tickets_of(&mut self, user_id: &str) -> StoreResult<()> {
        self.0
            .run_cached("DELETE FROM tickets WHERE user_id = ?1", [user_id])
            .map_err(unavailable)?;
        Ok(())
    }
    async fn drop_passkeys_of(&mut self, user_id: &str) -> StoreResult<u64> {
        let n = self
            .0
            .run_cached("DELETE FROM passkeys WHERE user_id = ?1", [user_id])
            .map_err(unavailable)?;
        Ok(n as u64)
    }
}

/// Runs a domain step's future to its end on this thread. SQLite's
/// primitives never wait (the whole step runs on the blocking pool), so
/// the future is ready at its first poll; one that is not would be a bug,
/// answered as the store being unavailable rather than a hang.
fn finish_now<T>(step: impl std::future::Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let mut step = std::pin::pin!(step);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match step.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => Err(StoreError::Unavailable(
            "a store step waited inside SQLite".into(),
        )),
    }
}

fn load_pending(
    conn: &Connection,
    id_hash: &str,
    now: UnixTime,
) -> StoreResult<Option<PendingLogin>> {
    let data: Option<String> = conn
        .row_cached(
            "SELECT data FROM pending WHERE id_hash = ?1 AND expires_at > ?2",
            params![id_hash, now],
            |r| r.get(0),
        )
        .optional()
        .map_err(unavailable)?;
    data.map(|d| from_json(&d)).transpose()
}

fn save_pending(conn: &Connection, p: &PendingLogin) -> StoreResult<()> {
    conn.run_cached(
        "INSERT INTO pending (id_hash, user_id, expires_at, data) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(id_hash) DO UPDATE SET user_id = ?2, expires_at = ?3, data = ?4",
        params![p.id_hash, p.user_id, p.expires_at, to_json(p)?],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn insert_session(conn: &Connection, s: &SessionRecord) -> StoreResult<()> {
    conn.run_cached(
        "INSERT INTO sessions (id_hash, user_id, expires_at, data) VALUES (?1, ?2, ?3, ?4)",
        params![s.id_hash, s.user_id, s.expires_at, to_json(s)?],
    )
    .map_err(unavailable)?;
    Ok(())
}

/// Notes a login on its user (the console's last login).
fn note_login(conn: &Connection, s: &SessionRecord) -> StoreResult<()> {
    conn.run_cached(
        "UPDATE users SET data = json_set(data, '$.last_login_at', ?2) WHERE id = ?1",
        params![s.user_id, s.created_at],
    )
    .map_err(unavailable)?;
    Ok(())
}

mod parts;
mod writer;
