//! The Redis store: many gateways share one state.
//!
//! Records are the same serde structs as the embedded store's, kept as JSON
//! strings under `{prefix}{kind}:{id}`, with sets and sorted sets as
//! indexes (a user's sessions, tickets, pending logins and browsers; a
//! tenant's users; emails, provider accounts and connection IDs to their
//! owners). Records that expire carry a TTL as well as their own
//! `expires_at`, which stays the rule (the clock is injectable).
//!
//! Atomicity: every step that reads before it writes is an optimistic
//! transaction. It WATCHes each key it reads, on a connection of its own
//! from the pool, and writes in one MULTI/EXEC; if any watched key changed
//! meanwhile, EXEC does nothing and the step runs again from its reads.
//! Counters are single commands (INCR) or a short Lua script, so racing
//! requests never retry. Every call is bounded by `store.timeout_ms`:
//! Redis stopped, paused or slow makes the call fail, and the caller fails
//! closed.
//!
//! Changes that a gateway's session cache must see (a session ended, a
//! user or tenant changed) are published on `{prefix}changes` after each
//! commit; every gateway subscribes and drops what they name.

use super::*;
use ::redis::{AsyncCommands, Value};
use async_trait::async_trait;

use deadpool::managed::Object;
use sekisho_policy::line::AccessRoute;
use sekisho_policy::lock::Admission;
use sekisho_policy::model::{LoginMethod, Plan, Role};
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::UnixTime;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

mod connection;
mod scripts;
use connection::{
    ask_sentinels_blocking, at_address, client_for, node_for, unavailable, Node, Pooled,
};
use scripts::*;

/// The layout of the keys; checked at start.
pub const SCHEMA_VERSION: i64 = 1;
/// How often a transaction runs again when its keys keep changing.
const MAX_ATTEMPTS: usize = 100;
/// Extra real seconds a record outlives its own expiry.
const TTL_GRACE: i64 = 300;
/// Records living longer than this carry no TTL.
const TTL_MAX: i64 = 3 * 366 * sekisho_policy::DAY;

/// Where and how to reach Redis (from `[store.redis]`).
#[derive(Clone, Default)]
pub struct RedisSettings {
    /// `redis://` or, with TLS, `rediss://` (host, port, database). With
    /// Sentinels, only its scheme and database count: the host is the
    /// primary they name.
    pub url: String,
    /// Redis Sentinel addresses (`redis://host:26379`); empty: `url` is
    /// the server.
    pub sentinels: Vec<String>,
    /// The name the Sentinels monitor the primary under.
    pub master_name: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub key_prefix: String,
    pub pool_size: usize,
    /// PEM certificates to trust for `rediss://` instead of the public web
    /// roots (a private CA).
    pub ca_pem: Option<Vec<u8>>,
}

/// Shown without the password (a config's debug print reaches logs).
impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &self.url)
            .field("sentinels", &self.sentinels)
            .field("master_name", &self.master_name)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("key_prefix", &self.key_prefix)
            .field("pool_size", &self.pool_size)
            .field("ca_pem", &self.ca_pem.as_ref().map(|p| p.len()))
            .finish()
    }
}

/// The Redis store. See the module's documentation.
pub struct RedisStore {
    /// The server in use: fixed, or the primary the Sentinels named last.
    node: std::sync::RwLock<Arc<Node>>,
    /// The template every node's connection is made from (credentials,
    /// database, TLS).
    template: ::redis::ConnectionInfo,
    sentinels: Vec<::redis::ConnectionInfo>,
    master_name: String,
    pool_size: usize,
    ca_pem: Option<Vec<u8>>,
    /// One Sentinel look-up at a time, at most every quarter second.
    relocating: tokio::sync::Mutex<std::time::Instant>,
    /// A call failed: the background task asks the Sentinels, so no request
    /// waits on them.
    relocation_wanted: tokio::sync::Notify,
    prefix: String,
    timeout: Duration,
    changes: tokio::sync::broadcast::Sender<Change>,
    view: ::redis::Script,
    count_event: ::redis::Script,
    admit_attempt: ::redis::Script,
    pub(crate) trim_failures: ::redis::Script,
}

/// The audit events Redis keeps per tenant, newest first.
const AUDIT_KEPT: usize = 1000;

fn to_json<T: Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(unavailable)
}

fn from_json<T: DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Unavailable(format!("unreadable record: {e}")))
}

/// Real seconds a record lives: its own life plus a grace, or `None` for
/// a record that (nearly) never expires.
fn ttl(expires_at: UnixTime, from: UnixTime) -> Option<i64> {
    let life = expires_at.saturating_sub(from);
    (life < TTL_MAX).then(|| life.max(1) + TTL_GRACE)
}

/// One optimistic transaction: watched reads, then queued writes.
struct Tx {
    conn: Option<Pooled>,
    prefix: String,
    writes: ::redis::Pipeline,
    queued: usize,
    changes: Vec<Change>,
    /// The connection holds no WATCH or half-read reply (reusable).
    clean: bool,
}

impl Tx {
    fn k(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    fn conn(&mut self) -> &mut ::redis::aio::MultiplexedConnection {
        self.conn.as_mut().expect("a transaction's connection")
    }

    /// WATCHes `keys` and runs `read`, in one round trip.
    async fn watch_and<R: ::redis::FromRedisValue>(
        &mut self,
        keys: impl ::redis::ToRedisArgs,
        read: ::redis::Cmd,
    ) -> StoreResult<R> {
        self.clean = false;
        let mut pipe = ::redis::pipe();
        pipe.cmd("WATCH").arg(keys).ignore().add_command(read);
        let (v,): (R,) = pipe.query_async(self.conn()).await.map_err(unavailable)?;
        self.clean = true;
        Ok(v)
    }

    async fn get_raw(&mut self, key: &str) -> StoreResult<Option<String>> {
        self.watch_and(key, ::redis::Cmd::get(key)).await
    }

    async fn get<T: DeserializeOwned>(&mut self, key: &str) -> StoreResult<Option<T>> {
        self.get_raw(key).await?.map(|s| from_json(&s)).transpose()
    }

    /// Watches and reads many keys in one round trip.
    async fn get_many<T: DeserializeOwned>(
        &mut self,
        keys: &[String],
    ) -> StoreResult<Vec<Option<T>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<Option<String>> = self.watch_and(keys, ::redis::Cmd::mget(keys)).await?;
        raw.into_iter()
            .map(|r| r.map(|s| from_json(&s)).transpose())
            .collect()
    }

    async fn members(&mut self, key: &str) -> StoreResult<Vec<String>> {
        self.watch_and(key, ::redis::Cmd::smembers(key)).await
    }

    fn put<T: Serialize>(&mut self, key: &str, v: &T, ttl: Option<i64>) -> StoreResult<()> {
        let json = to_json(v)?;
        match ttl {
            Some(t) => self.writes.set_ex(key, json, t.max(1) as u64).ignore(),
            None => self.writes.set(key, json).ignore(),
        };
        self.queued += 1;
        Ok(())
    }

    /// Rewrites a record and keeps its TTL.
    fn replace<T: Serialize>(&mut self, key: &str, v: &T) -> StoreResult<()> {
        self.writes
            .cmd("SET")
            .arg(key)
            .arg(to_json(v)?)
            .arg("KEEPTTL")
            .ignore();
        self.queued += 1;
        Ok(())
    }

    fn set_str(&mut self, key: &str, v: &str) {
        self.writes.set(key, v).ignore();
        self.queued += 1;
    }

    fn del(&mut self, key: &str) {
        self.writes.del(key).ignore();
        self.queued += 1;
    }

    fn sadd(&mut self, key: &str, member: &str) {
        self.writes.sadd(key, member).ignore();
        self.queued += 1;
    }

    fn zrem(&mut self, key: &str, member: &str) {
        self.writes.zrem(key, member).ignore();
        self.queued += 1;
    }

    fn srem(&mut self, key: &str, member: &str) {
        self.writes.srem(key, member).ignore();
        self.queued += 1;
    }

    fn announce(&mut self, change: Change) {
        if !self.changes.contains(&change) {
            self.changes.push(change);
        }
    }

    /// EXEC: `false` when a watched key changed (run again).
    async fn commit(&mut self) -> StoreResult<bool> {
        if self.queued == 0 {
            self.clean = false;
            let _: () = ::redis::cmd("UNWATCH")
                .query_async(self.conn())
                .await
                .map_err(unavailable)?;
            self.clean = true;
            return Ok(true);
        }
        self.clean = false;
        let writes = std::mem::take(&mut self.writes);
        let done: Value = writes.query_async(self.conn()).await.map_err(unavailable)?;
        self.clean = true;
        if matches!(done, Value::Nil) {
            self.writes = ::redis::pipe();
            self.writes.atomic();
            self.queued = 0;
            self.changes.clear();
            return Ok(false);
        }
        if !self.changes.is_empty() {
            let channel = format!("{}changes", self.prefix);
            let mut publish = ::redis::pipe();
            for c in &self.changes {
                publish.publish(&channel, c.encode()).ignore();
            }
            // Best effort: the other caches' own time-to-live bounds a
            // lost message.
            let _: Result<(), _> = publish.query_async(self.conn()).await;
        }
        Ok(true)
    }

    /// Gives up: forgets the watches.
    async fn abandon(&mut self) {
        if self.clean {
            self.clean = false;
            let r: Result<(), _> = ::redis::cmd("UNWATCH").query_async(self.conn()).await;
            self.clean = r.is_ok();
        }
    }

    // ---- records ----

    async fn user(&mut self, id: &str) -> StoreResult<Option<User>> {
        let k = self.k("u", id);
        self.get(&k).await
    }

    async fn tenant(&mut self, id: &str) -> StoreResult<Option<Tenant>> {
        let k = self.k("t", id);
        self.get(&k).await
    }

    fn put_ticket(&mut self, t: &TicketRecord) -> StoreResult<()> {
        let k = self.k("k", &t.hash);
        self.put(&k, t, ttl(t.expires_at, t.issued_at))?;
        if !t.user_id.is_empty() {
            let idx = self.k("uk", &t.user_id);
            self.sadd(&idx, &t.hash);
        }
        Ok(())
    }

    fn drop_ticket(&mut self, t: &TicketRecord) {
        let k = self.k("k", &t.hash);
        self.del(&k);
        if !t.user_id.is_empty() {
            let idx = self.k("uk", &t.user_id);
            self.srem(&idx, &t.hash);
        }
    }

    /// The user's tickets (all purposes) that still exist.
    async fn tickets_of(&mut self, user_id: &str) -> StoreResult<Vec<TicketRecord>> {
        let idx = self.k("uk", user_id);
        let mut out = Vec::new();
        for h in self.members(&idx).await? {
            let k = self.k("k", &h);
            if let Some(t) = self.get::<TicketRecord>(&k).await? {
                out.push(t);
            }
        }
        Ok(out)
    }

    async fn delete_tickets_of(
        &mut self,
        user_id: &str,
        purpose: TicketPurpose,
    ) -> StoreResult<()> {
        for t in self.tickets_of(user_id).await? {
            if t.purpose == purpose.as_str() {
                self.drop_ticket(&t);
            }
        }
        Ok(())
    }

    /// Ends the user's sessions but `keep`; returns those ended.
    async fn delete_sessions_of(
        &mut self,
        user_id: &str,
        keep: Option<&str>,
    ) -> StoreResult<Vec<String>> {
        let idx = self.k("us", user_id);
        let mut ended = Vec::new();
        for h in self.members(&idx).await? {
            if Some(h.as_str()) == keep {
                continue;
            }
            let k = self.k("s", &h);
            if self.get_raw(&k).await?.is_some() {
                self.del(&k);
                self.announce(Change::Session(h.clone()));
                ended.push(h.clone());
            }
            self.srem(&idx, &h);
        }
        Ok(ended)
    }

    /// Stores a session without its id, which its key holds (P7: every
    /// byte of a session counts, once per signed-in browser).
    /// Notes a login on its user (the console's last login).
    async fn note_login(&mut self, s: &SessionRecord) -> StoreResult<()> {
        if let Some(mut user) = self.user(&s.user_id).await? {
            user.last_login_at = Some(s.created_at);
            self.save_user(&user).await?;
        }
        Ok(())
    }

    fn put_session(&mut self, s: &SessionRecord) -> StoreResult<()> {
        let k = self.k("s", &s.id_hash);
        let stored = SessionRecord {
            id_hash: String::new(),
            ..s.clone()
        };
        self.put(&k, &stored, ttl(s.expires_at, s.last_seen))?;
        let idx = self.k("us", &s.user_id);
        self.sadd(&idx, &s.id_hash);
        Ok(())
    }

    /// Inserts a new user; `EmailTaken` or `IdentityTaken` when an index
    /// is someone's.
    async fn insert_user(&mut self, user: &User, seq: i64) -> StoreResult<()> {
        let email = self.k("e", &user.email);
        if self.get_raw(&email).await?.is_some() {
            return Err(StoreError::EmailTaken);
        }
        if let Some(i) = &user.identity {
            let ik = self.identity_key(&i.issuer, &i.subject);
            if self.get_raw(&ik).await?.is_some() {
                return Err(StoreError::IdentityTaken);
            }
            self.set_str(&ik, &user.id);
        }
        self.set_str(&email, &user.id);
        let k = self.k("u", &user.id);
        self.put(&k, user, None)?;
        let (all, of_tenant) = (
            format!("{}users", self.prefix),
            self.k("tu", &user.tenant_id),
        );
        for z in [all, of_tenant] {
            self.writes.zadd(z, &user.id, seq).ignore();
            self.queued += 1;
        }
        Ok(())
    }

    /// The next number of the users' creation order. INCR runs at once, not
    /// in the transaction: a step run again only leaves a gap.
    async fn next_seq(&mut self) -> StoreResult<i64> {
        let key = format!("{}seq", self.prefix);
        self.clean = false;
        let seq: i64 = ::redis::cmd("INCR")
            .arg(key)
            .query_async(self.conn())
            .await
            .map_err(unavailable)?;
        self.clean = true;
        Ok(seq)
    }

    fn identity_key(&self, issuer: &str, subject: &str) -> String {
        format!("{}i:{issuer}\u{1f}{subject}", self.prefix)
    }

    /// Saves a changed user, moving its email and identity indexes.
    async fn save_user(&mut self, user: &User) -> StoreResult<()> {
        let old = self.user(&user.id).await?.ok_or(StoreError::NotFound)?;
        if old.email != user.email {
            let new = self.k("e", &user.email);
            match self.get_raw(&new).await? {
                Some(owner) if owner != user.id => return Err(StoreError::EmailTaken),
                _ => {}
            }
            let old_k = self.k("e", &old.email);
            self.del(&old_k);
            self.set_str(&new, &user.id);
        }
        if old.identity != user.identity {
            if let Some(i) = &user.identity {
                let ik = self.identity_key(&i.issuer, &i.subject);
                match self.get_raw(&ik).await? {
                    Some(owner) if owner != user.id => return Err(StoreError::IdentityTaken),
                    _ => {}
                }
                self.set_str(&ik, &user.id);
            }
            if let Some(i) = &old.identity {
                let ik = self.identity_key(&i.issuer, &i.subject);
                self.del(&ik);
            }
        }
        let k = self.k("u", &user.id);
        self.put(&k, user, None)?;
        self.announce(Change::User(user.id.clone()));
        Ok(())
    }

    fn clear_failures(&mut self, identifier: &str) {
        let k = self.k("f", &crate::counter_key(identifier));
        let index = self.k("fi", "all");
        self.del(&k);
        self.zrem(&index, &k);
    }

    fn put_pending(&mut self, p: &PendingLogin) -> StoreResult<()> {
        let k = self.k("p", &p.id_hash);
        self.put(&k, p, ttl(p.expires_at, p.created_at))?;
        let idx = self.k("up", &p.user_id);
        self.sadd(&idx, &p.id_hash);
        Ok(())
    }
}

/// The record primitives on one optimistic transaction: reads are
/// WATCHed, writes queued for its EXEC.
impl records::Records for Tx {
    async fn user(&mut self, id: &str) -> StoreResult<Option<User>> {
        Tx::user(self, id).await
    }
    async fn save_user(&mut self, user: &User) -> StoreResult<()> {
        Tx::save_user(self, user).await
    }
    async fn tenant(&mut self, id: &str) -> StoreResult<Option<Tenant>> {
        Tx::tenant(self, id).await
    }
    async fn save_tenant(&mut self, tenant: &Tenant) -> StoreResult<()> {
        let k = self.k("t", &tenant.id);
        self.put(&k, tenant, None)?;
        self.announce(Change::Tenant(tenant.id.clone()));
        Ok(())
    }
    async fn ticket(&mut self, hash: &str) -> StoreResult<Option<TicketRecord>> {
        let k = self.k("k", hash);
        self.get(&k).await
    }
    async fn tickets_of(
        &mut self,
        user_id: &str,
        purpose: TicketPurpose,
    ) -> StoreResult<Vec<TicketRecord>> {
        let all = Tx::tickets_of(self, user_id).await?;
        Ok(all
            .into_iter()
            .filter(|t| t.purpose == purpose.as_str())
            .collect())
    }
    async fn put_ticket(&mut self, ticket: &TicketRecord) -> StoreResult<()> {
        Tx::put_ticket(self, ticket)
    }
    async fn save_ticket(&mut self, ticket: &TicketRecord) -> StoreResult<()> {
        let k = self.k("k", &ticket.hash);
        self.replace(&k, ticket)
    }
    async fn drop_ticket(&mut self, ticket: &TicketRecord) -> StoreResult<()> {
        Tx::drop_ticket(self, ticket);
        Ok(())
    }
    async fn delete_tickets_of(
        &mut self,
        user_id: &str,
        purpose: TicketPurpose,
    ) -> StoreResult<()> {
        Tx::delete_tickets_of(self, user_id, purpose).await
    }
    async fn insert_session(&mut self, session: &SessionRecord) -> StoreResult<()> {
        self.put_session(session)
    }
    async fn session(&mut self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let k = self.k("s", id_hash);
        let found: Option<SessionRecord> = self.get(&k).await?;
        Ok(found.map(|s| SessionRecord {
            id_hash: id_hash.to_string(),
            ..s
        }))
    }
    async fn save_session(&mut self, session: &SessionRecord) -> StoreResult<()> {
        let k = self.k("s", &session.id_hash);
        let stored = SessionRecord {
            id_hash: String::new(),
            ..session.clone()
        };
        self.replace(&k, &stored)?;
        self.announce(Change::Session(session.id_hash.clone()));
        Ok(())
    }
    async fn drop_session(&mut self, id_hash: &str) -> StoreResult<()> {
        let k = self.k("s", id_hash);
        if let Some(s) = self.get::<SessionRecord>(&k).await? {
            let idx = self.k("us", &s.user_id);
            self.srem(&idx, id_hash);
            self.del(&k);
        }
        self.announce(Change::Session(id_hash.to_string()));
        Ok(())
    }
    async fn note_login(&mut self, session: &SessionRecord) -> StoreResult<()> {
        Tx::note_login(self, session).await
    }
    async fn connection_owner(&mut self, connection_id: &str) -> StoreResult<Option<String>> {
        let ck = self.k("c", connection_id);
        self.get_raw(&ck).await
    }
    async fn claim_connection(&mut self, connection_id: &str, tenant_id: &str) -> StoreResult<()> {
        let ck = self.k("c", connection_id);
        self.set_str(&ck, tenant_id);
        Ok(())
    }
    async fn delete_sessions_of(
        &mut self,
        user_id: &str,
        keep: Option<&str>,
    ) -> StoreResult<Vec<String>> {
        Tx::delete_sessions_of(self, user_id, keep).await
    }
    async fn clear_failures(&mut self, identifier: &str) -> StoreResult<()> {
        Tx::clear_failures(self, identifier);
        Ok(())
    }
    async fn pending(&mut self, id_hash: &str) -> StoreResult<Option<PendingLogin>> {
        let k = self.k("p", id_hash);
        self.get(&k).await
    }
    async fn drop_pending(&mut self, pending: &PendingLogin) -> StoreResult<()> {
        let k = self.k("p", &pending.id_hash);
        self.del(&k);
        let idx = self.k("up", &pending.user_id);
        self.srem(&idx, &pending.id_hash);
        Ok(())
    }
    async fn trusted_browser(&mut self, id_hash: &str) -> StoreResult<Option<TrustedBrowser>> {
        let k = self.k("b", id_hash);
        self.get(&k).await
    }
    async fn save_trusted_browser(&mut self, browser: &TrustedBrowser) -> StoreResult<()> {
        let k = self.k("b", &browser.id_hash);
        self.put(&k, browser, Some(366 * sekisho_policy::DAY + TTL_GRACE))
    }
    async fn save_pending(&mut self, pending: &PendingLogin) -> StoreResult<()> {
        let k = self.k("p", &pending.id_hash);
        self.replace(&k, pending)
    }
    async fn passkey(&mut self, credential_id: &str) -> StoreResult<Option<PasskeyRecord>> {
        let k = self.k("pk", credential_id);
        self.get(&k).await
    }
    async fn insert_passkey(&mut self, passkey: &PasskeyRecord) -> StoreResult<()> {
        let k = self.k("pk", &passkey.credential_id);
        self.put(&k, passkey, None)?;
        let idx = self.k("upk", &passkey.user_id);
        self.sadd(&idx, &passkey.credential_id);
        Ok(())
    }
    async fn save_passkey(&mut self, passkey: &PasskeyRecord) -> StoreResult<()> {
        let k = self.k("pk", &passkey.credential_id);
        self.put(&k, passkey, None)
    }
    async fn drop_passkey(&mut self, passkey: &PasskeyRecord) -> StoreResult<()> {
        let k = self.k("pk", &passkey.credential_id);
        self.del(&k);
        let idx = self.k("upk", &passkey.user_id);
        self.srem(&idx, &passkey.credential_id);
        Ok(())
    }
    async fn drop_trusted_browsers_of(&mut self, user_id: &str) -> StoreResult<u64> {
        let idx = self.k("ub", user_id);
        let mut n = 0;
        for h in self.members(&idx).await? {
            let k = self.k("b", &h);
            if self.get_raw(&k).await?.is_some() {
                self.del(&k);
                n += 1;
            }
        }
        self.del(&idx);
        Ok(n)
    }
    async fn drop_pendings_of(&mut self, user_id: &str) -> StoreResult<()> {
        let idx = self.k("up", user_id);
        for h in self.members(&idx).await? {
            let k = self.k("p", &h);
            self.del(&k);
        }
        self.del(&idx);
        Ok(())
    }
    async fn insert_tenant(&mut self, tenant: &Tenant) -> StoreResult<()> {
        let tk = self.k("t", &tenant.id);
        if self.get_raw(&tk).await?.is_some() {
            return Err(StoreError::Stale);
        }
        self.put(&tk, tenant, None)?;
        let list = format!("{}tenants", self.prefix);
        self.writes.rpush(list, &tenant.id).ignore();
        self.queued += 1;
        Ok(())
    }
    async fn insert_user(&mut self, user: &User) -> StoreResult<()> {
        let seq = self.next_seq().await?;
        Tx::insert_user(self, user, seq).await
    }
    async fn drop_user(&mut self, user: &User) -> StoreResult<()> {
        let email = self.k("e", &user.email);
        self.del(&email);
        if let Some(i) = &user.identity {
            let ik = self.identity_key(&i.issuer, &i.subject);
            self.del(&ik);
        }
        let (all, of_tenant) = (
            format!("{}users", self.prefix),
            self.k("tu", &user.tenant_id),
        );
        for z in [all, of_tenant] {
            self.writes.zrem(z, &user.id).ignore();
            self.queued += 1;
        }
        for idx in ["us", "uk"] {
            let k = self.k(idx, &user.id);
            self.del(&k);
        }
        let k = self.k("u", &user.id);
        self.del(&k);
        self.announce(Change::User(user.id.clone()));
        Ok(())
    }
    async fn drop_tickets_of(&mut self, user_id: &str) -> StoreResult<()> {
        for t in Tx::tickets_of(self, user_id).await? {
            Tx::drop_ticket(self, &t);
        }
        Ok(())
    }
    async fn drop_passkeys_of(&mut self, user_id: &str) -> StoreResult<u64> {
        let idx = self.k("upk", user_id);
        let mut n = 0;
        for id in self.members(&idx).await? {
            let k = self.k("pk", &id);
            if self.get_raw(&k).await?.is_some() {
                self.del(&k);
                n += 1;
            }
        }
        self.del(&idx);
        Ok(n)
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        // A connection left mid-reply or with watches (a timed-out call)
        // is closed rather than handed to the next caller.
        if !self.clean {
            if let Some(conn) = self.conn.take() {
                drop(Object::take(conn));
            }
        }
    }
}

/// Runs `$body` (which uses `$tx`) as an optimistic transaction: again from
/// its reads whenever a watched key changed before EXEC; bounded by the
/// store's timeout.
macro_rules! atomically {
    ($store:expr, |$tx:ident| $body:block) => {{
        let store: &RedisStore = $store;
        store
            .bounded(async {
                let mut attempt = 0usize;
                loop {
                    let mut $tx = store.begin().await?;
                    let result = async { $body }.await;
                    match result {
                        Ok(value) => {
                            if $tx.commit().await? {
                                store.forward(&$tx.changes);
                                break Ok(value);
                            }
                        }
                        Err(e) => {
                            $tx.abandon().await;
                            break Err(e);
                        }
                    }
                    attempt += 1;
                    if attempt >= MAX_ATTEMPTS {
                        break Err(StoreError::Unavailable("too much contention".into()));
                    }
                    store.back_off(attempt).await;
                }
            })
            .await
    }};
}

impl RedisStore {
    /// Builds the client and the pool; connects on first use (with
    /// Sentinels, asks them for the primary first). Call
    /// [`RedisStore::check_schema`] before serving.
    pub fn new(settings: &RedisSettings, timeout: Duration) -> StoreResult<RedisStore> {
        let template_url = if settings.url.is_empty() {
            "redis://127.0.0.1:6379/0"
        } else {
            settings.url.as_str()
        };
        let mut template: ::redis::ConnectionInfo = template_url
            .parse()
            .map_err(|e| unavailable(format!("store.redis.url: {e}")))?;
        let mut redis_settings = template.redis_settings().clone();
        if let Some(u) = &settings.username {
            redis_settings = redis_settings.set_username(u);
        }
        if let Some(p) = &settings.password {
            redis_settings = redis_settings.set_password(p);
        }
        template = template.set_redis_settings(redis_settings);
        let sentinels = settings
            .sentinels
            .iter()
            .map(|s| {
                s.parse::<::redis::ConnectionInfo>()
                    .map_err(|e| unavailable(format!("store.redis.sentinels: {e}")))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let ca = settings.ca_pem.as_deref();
        let first = if sentinels.is_empty() {
            template.clone()
        } else {
            let (host, port) =
                ask_sentinels_blocking(&sentinels, &settings.master_name, ca, timeout)?;
            at_address(&template, host, port)?
        };
        let node = node_for(first, ca, settings.pool_size, timeout)?;
        Ok(RedisStore {
            node: std::sync::RwLock::new(Arc::new(node)),
            template,
            sentinels,
            master_name: settings.master_name.clone(),
            pool_size: settings.pool_size,
            ca_pem: settings.ca_pem.clone(),
            relocating: tokio::sync::Mutex::new(std::time::Instant::now()),
            relocation_wanted: tokio::sync::Notify::new(),
            prefix: settings.key_prefix.clone(),
            timeout,
            changes: tokio::sync::broadcast::channel(4096).0,
            view: ::redis::Script::new(VIEW_SCRIPT),
            count_event: ::redis::Script::new(COUNT_EVENT_SCRIPT),
            admit_attempt: ::redis::Script::new(ADMIT_ATTEMPT_SCRIPT),
            trim_failures: ::redis::Script::new(TRIM_FAILURES_SCRIPT),
        })
    }

    fn node(&self) -> Arc<Node> {
        self.node
            .read()
            .map(|n| n.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// With Sentinels: asks them where the primary is now, and moves there
    /// if it moved (a failover). Run by the background task after a failed
    /// call, and before the change channel reconnects; at most one look-up
    /// at a time and four a second.
    async fn relocate(&self) {
        if self.sentinels.is_empty() {
            return;
        }
        let Ok(mut last) = self.relocating.try_lock() else {
            return;
        };
        if last.elapsed() < Duration::from_millis(250) {
            return;
        }
        *last = std::time::Instant::now();
        let Some((host, port)) = self.ask_sentinels().await else {
            return;
        };
        let current = self.node();
        let Ok(info) = at_address(&self.template, host, port) else {
            return;
        };
        if info.addr().to_string() == current.addr {
            return;
        }
        match node_for(info, self.ca_pem.as_deref(), self.pool_size, self.timeout) {
            Ok(node) => {
                tracing::warn!(from = %current.addr, to = %node.addr, "store: the Redis primary moved");
                if let Ok(mut n) = self.node.write() {
                    *n = Arc::new(node);
                }
                // Notices sent to the old primary are lost.
                let _ = self.changes.send(Change::Everything);
            }
            Err(e) => tracing::warn!(error = %e, "store: cannot use the new Redis primary"),
        }
    }

    async fn ask_sentinels(&self) -> Option<(String, u16)> {
        for s in &self.sentinels {
            let asked = async {
                let client = client_for(s.clone(), self.ca_pem.as_deref()).ok()?;
                let mut conn = client.get_multiplexed_async_connection().await.ok()?;
                ::redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(&self.master_name)
                    .query_async::<Option<(String, u16)>>(&mut conn)
                    .await
                    .ok()
                    .flatten()
            };
            if let Ok(Some(found)) = tokio::time::timeout(self.timeout, asked).await {
                return Some(found);
            }
        }
        None
    }

    /// [`RedisStore::new`] and the schema check, from synchronous code (the
    /// start-up and the admin commands): the check runs on a thread and
    /// runtime of its own, whose connection is not kept.
    pub fn open(settings: &RedisSettings, timeout: Duration) -> StoreResult<RedisStore> {
        let store = RedisStore::new(settings, timeout)?;
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(unavailable)?;
                    rt.block_on(store.check_schema())
                })
                .join()
                .unwrap_or_else(|_| Err(unavailable("schema check failed")))
        })?;
        Ok(store)
    }

    /// Writes the schema version into an empty database, or refuses one of
    /// another version. Its connection is its own, not the pool's.
    pub async fn check_schema(&self) -> StoreResult<()> {
        let client = self.node().client.clone();
        let mut conn =
            tokio::time::timeout(self.timeout, client.get_multiplexed_async_connection())
                .await
                .map_err(|_| unavailable("timed out connecting"))?
                .map_err(unavailable)?;
        let key = format!("{}schema_version", self.prefix);
        let _: bool = conn
            .set_nx(&key, SCHEMA_VERSION)
            .await
            .map_err(unavailable)?;
        let v: i64 = conn.get(&key).await.map_err(unavailable)?;
        if v != SCHEMA_VERSION {
            return Err(unavailable(format!(
                "Redis holds schema version {v}; this gateway understands {SCHEMA_VERSION}"
            )));
        }
        Ok(())
    }

    fn k(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    async fn bounded<T>(
        &self,
        work: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let result = match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Unavailable("timed out".into())),
        };
        if matches!(result, Err(StoreError::Unavailable(_))) && !self.sentinels.is_empty() {
            self.relocation_wanted.notify_one();
        }
        result
    }

    async fn connection(&self) -> StoreResult<Pooled> {
        let pool = self.node().pool.clone();
        pool.get().await.map_err(unavailable)
    }

    async fn begin(&self) -> StoreResult<Tx> {
        let mut writes = ::redis::pipe();
        writes.atomic();
        Ok(Tx {
            conn: Some(self.connection().await?),
            prefix: self.prefix.clone(),
            writes,
            queued: 0,
            changes: Vec::new(),
            clean: true,
        })
    }

    /// A short random pause before running a transaction again, so racing
    /// steps do not collide in lock-step.
    async fn back_off(&self, attempt: usize) {
        let jitter = crate::random_bytes::<2>();
        let micros =
            (u64::from(jitter[0]) << 8 | u64::from(jitter[1])) % (200 * attempt.min(10) as u64 + 1);
        tokio::time::sleep(Duration::from_micros(micros)).await;
    }

    /// This process's own changes reach its cache at once, not through
    /// Redis.
    fn forward(&self, changes: &[Change]) {
        for c in changes {
            let _ = self.changes.send(c.clone());
        }
    }

    /// A single command on a pooled connection, bounded. The connection
    /// stays checked out until the command is answered.
    async fn run<T, F, Fut>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(::redis::aio::MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = ::redis::RedisResult<T>>,
    {
        self.bounded(async {
            let conn = self.connection().await?;
            let answer = f((*conn).clone()).await.map_err(unavailable);
            drop(conn);
            answer
        })
        .await
    }

    async fn get_json<T: DeserializeOwned + Send>(&self, key: String) -> StoreResult<Option<T>> {
        let raw: Option<String> = self.run(|mut c| async move { c.get(key).await }).await?;
        raw.map(|s| from_json(&s)).transpose()
    }

    /// The records `ids` point at under `kind`, in order, skipping gone ones.
    /// Changes one of the user's passkeys atomically (run again on a
    /// conflict, hence `Fn`); `false` when it is not theirs (or gone).
    async fn edit_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        edit: impl Fn(&mut PasskeyRecord) + Send + Sync,
    ) -> StoreResult<bool> {
        atomically!(self, |tx| {
            records::edit_passkey(&mut tx, user_id, credential_id, &edit).await
        })
    }

    async fn records<T: DeserializeOwned + Send>(
        &self,
        kind: &str,
        ids: Vec<String>,
    ) -> StoreResult<Vec<T>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.k(kind, id)).collect();
        let raw: Vec<Option<String>> = self.run(|mut c| async move { c.mget(keys).await }).await?;
        raw.into_iter().flatten().map(|s| from_json(&s)).collect()
    }

    /// The sessions with these ids, each with its id again.
    async fn sessions(&self, ids: Vec<String>) -> StoreResult<Vec<SessionRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.k("s", id)).collect();
        let raw: Vec<Option<String>> = self.run(|mut c| async move { c.mget(keys).await }).await?;
        ids.into_iter()
            .zip(raw)
            .filter_map(|(id, r)| r.map(|json| (id, json)))
            .map(|(id, json)| {
                Ok(SessionRecord {
                    id_hash: id,
                    ..from_json(&json)?
                })
            })
            .collect()
    }

    async fn set_members(&self, key: String) -> StoreResult<Vec<String>> {
        self.run(|mut c| async move { c.smembers(key).await }).await
    }

    /// A fresh number for ordering users (creation order).
    async fn next_seq(&self) -> StoreResult<i64> {
        let key = format!("{}seq", self.prefix);
        self.run(|mut c| async move { c.incr(key, 1).await }).await
    }

    /// The keys under `kind` (SCAN, for the purge and the export).
    async fn scan_kind(&self, kind: &str) -> StoreResult<Vec<String>> {
        let pattern = format!("{}{kind}:*", self.prefix);
        self.bounded(async {
            let mut conn = self.connection().await?;
            let mut out = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let (next, keys): (u64, Vec<String>) = ::redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(500)
                    .query_async(&mut *conn)
                    .await
                    .map_err(unavailable)?;
                out.extend(keys);
                if next == 0 {
                    return Ok(out);
                }
                cursor = next;
            }
        })
        .await
    }

    /// Listens on the changes channel for the process's lifetime,
    /// reconnecting after an outage (and then telling the cache to forget
    /// everything, since messages may have been missed).
    async fn listen_for_changes(&self) {
        use tokio_stream::StreamExt;
        let channel = format!("{}changes", self.prefix);
        let mut reconnecting = false;
        loop {
            if reconnecting {
                self.relocate().await;
            }
            let client = self.node().client.clone();
            let pubsub = tokio::time::timeout(self.timeout, client.get_async_pubsub()).await;
            let mut pubsub = match pubsub {
                Ok(Ok(p)) => p,
                _ => {
                    reconnecting = true;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            if pubsub.subscribe(&channel).await.is_err() {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            if reconnecting {
                let _ = self.changes.send(Change::Everything);
                tracing::info!("store: change notices flow again");
            }
            let mut messages = pubsub.on_message();
            while let Some(msg) = messages.next().await {
                if let Ok(text) = msg.get_payload::<String>() {
                    if let Some(c) = Change::decode(&text) {
                        let _ = self.changes.send(c);
                    }
                }
            }
            // The connection ended: Redis went away. (The gateway counts
            // the notice below as a store error, op "changes".)
            tracing::warn!("store: change notices interrupted; reconnecting");
            reconnecting = true;
            let _ = self.changes.send(Change::Everything);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

mod parts;
