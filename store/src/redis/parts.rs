//! The store's parts as this backend implements them: each domain step
//! run in one transaction of its own over the record primitives.

use super::*;

/// A domain step in one optimistic Redis transaction, run again from its
/// reads when a watched key changed.
macro_rules! step {
    ($store:expr, $name:ident $(, $arg:ident)*) => {{
        $(let $arg = crate::pass::Owned::owned($arg);)*
        atomically!($store, |tx| {
            records::$name(&mut tx $(, crate::pass::Pass::pass(&$arg))*).await
        })
    }};
}

crate::forward_all_parts!(RedisStore, step);

#[async_trait]
impl AccountOwn for RedisStore {
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        self.get_json(self.k("u", id)).await
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let key = self.k("e", email);
        let id: Option<String> = self.run(|mut c| async move { c.get(key).await }).await?;
        match id {
            Some(id) => AccountOwn::get_user(self, &id).await,
            None => Ok(None),
        }
    }

    async fn list_users(&self, tenant_id: Option<&str>) -> StoreResult<Vec<User>> {
        let key = match tenant_id {
            Some(t) => self.k("tu", t),
            None => format!("{}users", self.prefix),
        };
        let ids: Vec<String> = self
            .run(|mut c| async move { c.zrange(key, 0, -1).await })
            .await?;
        self.records("u", ids).await
    }

    async fn find_user_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<User>> {
        let key = format!("{}i:{issuer}\u{1f}{subject}", self.prefix);
        let id: Option<String> = self.run(|mut c| async move { c.get(key).await }).await?;
        match id {
            Some(id) => AccountOwn::get_user(self, &id).await,
            None => Ok(None),
        }
    }
}

#[async_trait]
impl TenantOwn for RedisStore {
    async fn get_tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        self.get_json(self.k("t", id)).await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let key = format!("{}tenants", self.prefix);
        let ids: Vec<String> = self
            .run(|mut c| async move { c.lrange(key, 0, -1).await })
            .await?;
        self.records("t", ids).await
    }

    async fn find_tenant_by_connection(&self, connection_id: &str) -> StoreResult<Option<Tenant>> {
        let key = self.k("c", connection_id);
        let id: Option<String> = self.run(|mut c| async move { c.get(key).await }).await?;
        match id {
            Some(id) => Ok(TenantOwn::get_tenant(self, &id).await?.filter(|t| {
                t.ad.as_ref()
                    .is_some_and(|a| a.connection_id == connection_id)
            })),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl SessionOwn for RedisStore {
    async fn list_user_sessions(&self, user_id: &str) -> StoreResult<Vec<SessionRecord>> {
        let ids = self.set_members(self.k("us", user_id)).await?;
        let mut sessions = self.sessions(ids).await?;
        sessions.sort_by_key(|s| std::cmp::Reverse(s.last_seen));
        Ok(sessions)
    }

    async fn session_view(&self, id_hash: &str) -> StoreResult<Option<SessionView>> {
        let key = self.k("s", id_hash);
        let prefix = self.prefix.clone();
        let script = &self.view;
        let found: Option<(String, String, String)> = self
            .run(|mut c| async move { script.key(key).arg(prefix).invoke_async(&mut c).await })
            .await?;
        match found {
            Some((s, u, t)) => Ok(Some(SessionView {
                session: SessionRecord {
                    id_hash: id_hash.to_string(),
                    ..from_json(&s)?
                },
                user: from_json(&u)?,
                tenant: from_json(&t)?,
            })),
            None => Ok(None),
        }
    }

    async fn touch_sessions(&self, touches: Vec<(String, UnixTime)>) -> StoreResult<()> {
        if touches.is_empty() {
            return Ok(());
        }
        // One round trip reads (and watches) the whole batch.
        atomically!(self, |tx| {
            let keys: Vec<String> = touches.iter().map(|(h, _)| tx.k("s", h)).collect();
            let found: Vec<Option<SessionRecord>> = tx.get_many(&keys).await?;
            for ((key, (_, last_seen)), s) in keys.iter().zip(&touches).zip(found) {
                if let Some(mut s) = s.filter(|s| s.last_seen < *last_seen) {
                    s.last_seen = *last_seen;
                    tx.replace(key, &s)?;
                }
            }
            Ok(())
        })
    }

    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<Vec<String>> {
        atomically!(self, |tx| { tx.delete_sessions_of(user_id, None).await })
    }
}

#[async_trait]
impl ChangeNotices for RedisStore {
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        Some(self.changes.subscribe())
    }

    async fn follow_changes(&self) {
        let follow_primary = async {
            loop {
                self.relocation_wanted.notified().await;
                self.relocate().await;
            }
        };
        tokio::join!(self.listen_for_changes(), follow_primary);
    }
}

#[async_trait]
impl TicketOwn for RedisStore {
    async fn replace_ticket(&self, ticket: TicketRecord) -> StoreResult<()> {
        atomically!(self, |tx| {
            records::replace_ticket(&mut tx, &ticket).await
        })
    }

    async fn peek_ticket(
        &self,
        hash: &str,
        purpose: TicketPurpose,
        now: UnixTime,
    ) -> StoreResult<Option<TicketRecord>> {
        let t: Option<TicketRecord> = self.get_json(self.k("k", hash)).await?;
        Ok(t.filter(|t| t.purpose == purpose.as_str() && t.expires_at > now))
    }

    async fn put_ticket(&self, ticket: TicketRecord) -> StoreResult<()> {
        atomically!(self, |tx| {
            tx.put_ticket(&ticket)?;
            Ok(())
        })
    }
}

#[async_trait]
impl TwoStepOwn for RedisStore {
    async fn put_pending(&self, pending: PendingLogin) -> StoreResult<()> {
        atomically!(self, |tx| {
            tx.put_pending(&pending)?;
            Ok(())
        })
    }

    async fn get_pending(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<PendingLogin>> {
        let p: Option<PendingLogin> = self.get_json(self.k("p", id_hash)).await?;
        Ok(p.filter(|p| p.expires_at > now))
    }

    async fn add_trusted_browser(&self, b: TrustedBrowser) -> StoreResult<()> {
        atomically!(self, |tx| {
            let k = tx.k("b", &b.id_hash);
            tx.put(&k, &b, Some(366 * sekisho_policy::DAY + TTL_GRACE))?;
            let idx = tx.k("ub", &b.user_id);
            tx.sadd(&idx, &b.id_hash);
            Ok(())
        })
    }

    async fn list_trusted_browsers(&self, user_id: &str) -> StoreResult<Vec<TrustedBrowser>> {
        let ids = self.set_members(self.k("ub", user_id)).await?;
        let mut list: Vec<TrustedBrowser> = self.records("b", ids).await?;
        list.sort_by_key(|b| std::cmp::Reverse(b.last_used));
        Ok(list)
    }

    async fn revoke_trusted_browser(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        atomically!(self, |tx| {
            let idx = tx.k("ub", user_id);
            let mut found = false;
            for h in tx.members(&idx).await? {
                let k = tx.k("b", &h);
                if let Some(b) = tx.get::<TrustedBrowser>(&k).await? {
                    if b.id == id {
                        tx.del(&k);
                        tx.srem(&idx, &h);
                        found = true;
                    }
                }
            }
            Ok(found)
        })
    }
}

#[async_trait]
impl PasskeyOwn for RedisStore {
    async fn list_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>> {
        let ids = self.set_members(self.k("upk", user_id)).await?;
        let mut list: Vec<PasskeyRecord> = self.records("pk", ids).await?;
        list.sort_by(|a, b| {
            (a.created_at, &a.credential_id).cmp(&(b.created_at, &b.credential_id))
        });
        Ok(list)
    }

    async fn find_passkey(&self, credential_id: &str) -> StoreResult<Option<PasskeyRecord>> {
        let mut found: Vec<PasskeyRecord> =
            self.records("pk", vec![credential_id.to_string()]).await?;
        Ok(found.pop())
    }

    async fn use_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        used: PasskeyUse,
    ) -> StoreResult<bool> {
        self.edit_passkey(user_id, credential_id, |p| p.record_use(used.clone()))
            .await
    }

    async fn rename_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        name: &str,
    ) -> StoreResult<bool> {
        self.edit_passkey(user_id, credential_id, |p| p.name = name.to_string())
            .await
    }
}

#[async_trait]
impl CounterOwn for RedisStore {
    async fn admit_attempt(
        &self,
        identifier: &str,
        rule: AttemptRule,
        now: UnixTime,
    ) -> StoreResult<Admission> {
        // One script: racing attempts each get their own number, none lost
        // (S11). Numbers past the threshold are refused unchecked.
        let key = self.k("f", &crate::counter_key(identifier));
        let index = self.k("fi", "all");
        let script = &self.admit_attempt;
        let n: i64 = self
            .run(|mut c| async move {
                script
                    .key(key)
                    .key(index)
                    .arg(rule.threshold)
                    .arg(rule.forget_after.max(1))
                    .arg(now)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match u32::try_from(n) {
            Ok(n) if n > 0 => Admission::Checked(n),
            _ => Admission::Locked,
        })
    }

    async fn forget_quiet_failures(
        &self,
        _rule: AttemptRule,
        _now: UnixTime,
        kept: u64,
    ) -> StoreResult<u64> {
        // Each run short of the threshold carries its own TTL; what is left
        // is the cap, oldest first, a batch at a time.
        let index = self.k("fi", "all");
        let script = &self.trim_failures;
        let mut removed = 0u64;
        loop {
            let index = index.clone();
            let (gone, _dropped, done): (u64, u64, u8) = self
                .run(|mut c| async move {
                    script
                        .key(index)
                        .arg(kept)
                        .arg(1000)
                        .invoke_async(&mut c)
                        .await
                })
                .await?;
            removed += gone;
            if done == 1 {
                return Ok(removed);
            }
        }
    }

    async fn clear_failures(&self, identifier: &str) -> StoreResult<()> {
        let key = self.k("f", &crate::counter_key(identifier));
        let index = self.k("fi", "all");
        self.run(|mut c| async move {
            ::redis::pipe()
                .atomic()
                .del(&key)
                .ignore()
                .zrem(&index, &key)
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    async fn count_event(&self, key: &str, window: i64, now: UnixTime) -> StoreResult<u32> {
        let key = self.k("v", key);
        let script = &self.count_event;
        self.run(|mut c| async move {
            script
                .key(key)
                .arg(now)
                .arg(window)
                .invoke_async(&mut c)
                .await
        })
        .await
    }
}

#[async_trait]
impl SecretOwn for RedisStore {
    async fn secret(&self, name: &str, fresh: Vec<u8>) -> StoreResult<Vec<u8>> {
        let key = self.k("secret", name);
        self.run(|mut c| async move {
            let _: bool = c.set_nx(&key, fresh).await?;
            c.get(&key).await
        })
        .await
    }
}

#[async_trait]
impl AuditOwn for RedisStore {
    async fn record_audit(&self, mut record: AuditRecord) -> StoreResult<()> {
        let Some(tenant) = record.tenant_id.clone() else {
            return Ok(());
        };
        let seq_key = format!("{}audit_seq", self.prefix);
        record.seq = self
            .run(|mut c| async move { c.incr(seq_key, 1).await })
            .await?;
        let key = self.k("audit", &tenant);
        let keep = (record.expires_at - record.at).max(1);
        let member = to_json(&record)?;
        let seq = record.seq;
        // The newest AUDIT_KEPT per tenant; the whole list goes `keep`
        // after the tenant's last event.
        self.run(|mut c| async move {
            ::redis::pipe()
                .atomic()
                .zadd(&key, member, seq)
                .ignore()
                .zremrangebyrank(&key, 0, -(AUDIT_KEPT as isize) - 1)
                .ignore()
                .expire(&key, keep)
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    async fn recent_audit(
        &self,
        tenant_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<AuditRecord>> {
        let key = self.k("audit", tenant_id);
        let max = match before {
            Some(b) => format!("({b}"),
            None => "+inf".to_string(),
        };
        let rows: Vec<String> = self
            .run(|mut c| async move {
                c.zrevrangebyscore_limit(&key, max, "-inf", 0, limit as isize)
                    .await
            })
            .await?;
        rows.iter().map(|r| from_json(r)).collect()
    }
}

#[async_trait]
impl MaintenanceOwn for RedisStore {
    async fn ping(&self) -> StoreResult<()> {
        let pong: String = self
            .run(|mut c| async move { ::redis::cmd("PING").query_async(&mut c).await })
            .await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(unavailable(pong))
        }
    }

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64> {
        // TTLs remove most records on their own; this removes what the
        // gateway's clock says has ended (and the index entries left by
        // TTLs), so both stores purge alike.
        let trust_horizon = now - 366 * sekisho_policy::DAY;
        let mut n = 0;
        for (kind, idx) in [("s", "us"), ("k", "uk"), ("p", "up"), ("b", "ub")] {
            for key in self.scan_kind(kind).await? {
                let id = key[self.prefix.len() + kind.len() + 1..].to_string();
                let removed = atomically!(self, |tx| {
                    let Some(raw) = tx.get_raw(&key).await? else {
                        return Ok(false);
                    };
                    let v: serde_json::Value = from_json(&raw)?;
                    let ended = match kind {
                        "b" => v["last_used"].as_i64().is_some_and(|t| t <= trust_horizon),
                        _ => v["expires_at"].as_i64().is_some_and(|t| t <= now),
                    };
                    if !ended {
                        return Ok(false);
                    }
                    tx.del(&key);
                    if let Some(owner) = v["user_id"].as_str().filter(|u| !u.is_empty()) {
                        let ik = tx.k(idx, owner);
                        tx.srem(&ik, &id);
                    }
                    if kind == "s" {
                        tx.announce(Change::Session(id.clone()));
                    }
                    Ok(true)
                })?;
                n += u64::from(removed);
            }
        }
        Ok(n)
    }

    async fn export(&self) -> StoreResult<Dump> {
        let mut dump = Dump {
            format: DUMP_FORMAT,
            tenants: TenantOwn::list_tenants(self).await?,
            users: AccountOwn::list_users(self, None).await?,
            ..Dump::default()
        };
        let strip = |key: &str, kind: &str| key[self.prefix.len() + kind.len() + 1..].to_string();
        for key in self.scan_kind("secret").await? {
            let name = strip(&key, "secret");
            let value: Option<Vec<u8>> = self.run(|mut c| async move { c.get(key).await }).await?;
            if let Some(v) = value {
                dump.secrets.push((name, hex::encode(v)));
            }
        }
        let ids = |keys: Vec<String>, kind: &str| -> Vec<String> {
            keys.iter().map(|k| strip(k, kind)).collect()
        };
        dump.sessions = self.sessions(ids(self.scan_kind("s").await?, "s")).await?;
        dump.tickets = self
            .records("k", ids(self.scan_kind("k").await?, "k"))
            .await?;
        dump.pending = self
            .records("p", ids(self.scan_kind("p").await?, "p"))
            .await?;
        dump.trusted = self
            .records("b", ids(self.scan_kind("b").await?, "b"))
            .await?;
        dump.passkeys = self
            .records("pk", ids(self.scan_kind("pk").await?, "pk"))
            .await?;
        for key in self.scan_kind("f").await? {
            let identifier = strip(&key, "f");
            let n: Option<u32> = self
                .run(|mut c| async move {
                    // A plain counter from an earlier version, or a run.
                    let kind: String = ::redis::cmd("TYPE").arg(&key).query_async(&mut c).await?;
                    if kind == "string" {
                        c.get(&key).await
                    } else {
                        c.hget(&key, "count").await
                    }
                })
                .await?;
            if let Some(n) = n {
                dump.failures.push((identifier, n));
            }
        }
        Ok(dump)
    }

    async fn import(&self, dump: Dump) -> StoreResult<()> {
        let (tenants, users) = (
            format!("{}tenants", self.prefix),
            format!("{}users", self.prefix),
        );
        let held: (i64, i64) = self
            .run(|mut c| async move {
                ::redis::pipe()
                    .llen(tenants)
                    .zcard(users)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        if held.0 + held.1 > 0 {
            return Err(StoreError::Stale);
        }
        for (name, value) in &dump.secrets {
            let bytes = hex::decode(value).map_err(unavailable)?;
            let key = self.k("secret", name);
            let (): () = self
                .run(|mut c| async move { c.set(key, bytes).await })
                .await?;
        }
        for t in &dump.tenants {
            atomically!(self, |tx| {
                let k = tx.k("t", &t.id);
                tx.put(&k, t, None)?;
                let list = format!("{}tenants", tx.prefix);
                tx.writes.rpush(list, &t.id).ignore();
                if let Some(ad) = &t.ad {
                    let ck = tx.k("c", &ad.connection_id);
                    tx.set_str(&ck, &t.id);
                }
                Ok(())
            })?;
        }
        for u in &dump.users {
            let seq = self.next_seq().await?;
            atomically!(self, |tx| { tx.insert_user(u, seq).await })?;
        }
        for s in &dump.sessions {
            atomically!(self, |tx| { tx.put_session(s) })?;
        }
        for t in &dump.tickets {
            atomically!(self, |tx| { tx.put_ticket(t) })?;
        }
        for p in &dump.pending {
            atomically!(self, |tx| { tx.put_pending(p) })?;
        }
        for b in &dump.trusted {
            TwoStepOwn::add_trusted_browser(self, b.clone()).await?;
        }
        for p in &dump.passkeys {
            self.add_passkey(p.clone()).await?;
        }
        // Runs start again from the import (the dump keeps counts only).
        let imported_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        // The dump's failure keys are keyed hashes already (S58).
        let index = self.k("fi", "all");
        for (identifier, count) in &dump.failures {
            let key = self.k("f", identifier);
            let count = *count;
            let index = index.clone();
            let (): () = self
                .run(|mut c| async move {
                    ::redis::pipe()
                        .atomic()
                        .hset_multiple(&key, &[("count", count as i64), ("at", imported_at)])
                        .ignore()
                        .zadd(&index, &key, imported_at)
                        .ignore()
                        .query_async(&mut c)
                        .await
                })
                .await?;
        }
        Ok(())
    }
}
