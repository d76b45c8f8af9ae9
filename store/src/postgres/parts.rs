//! The store's parts as this backend implements them: each domain step
//! run in one transaction of its own over the record primitives.

use super::*;

/// A domain step in one SERIALIZABLE PostgreSQL transaction, run again
/// on a serialization failure or deadlock.
macro_rules! step {
    ($store:expr, $name:ident $(, $arg:ident)*) => {{
        $(let $arg = crate::pass::Owned::owned($arg);)*
        in_transaction!($store, |r| records::$name(r $(, crate::pass::Pass::pass(&$arg))*))
    }};
}

crate::forward_all_parts!(PostgresStore, step);

#[async_trait]
impl AccountOwn for PostgresStore {
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        self.load("SELECT data FROM users WHERE id = $1", &[&id])
            .await
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.load("SELECT data FROM users WHERE email = $1", &[&email])
            .await
    }

    async fn list_users(&self, tenant_id: Option<&str>) -> StoreResult<Vec<User>> {
        self.load_all(
            "SELECT data FROM users WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY seq",
            &[&tenant_id],
        )
        .await
    }

    async fn find_user_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<User>> {
        self.load(
            "SELECT data FROM users WHERE data->'identity'->>'issuer' = $1 \
             AND data->'identity'->>'subject' = $2",
            &[&issuer, &subject],
        )
        .await
    }
}

#[async_trait]
impl TenantOwn for PostgresStore {
    async fn get_tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        self.load("SELECT data FROM tenants WHERE id = $1", &[&id])
            .await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.load_all("SELECT data FROM tenants ORDER BY seq", &[])
            .await
    }

    async fn find_tenant_by_connection(&self, connection_id: &str) -> StoreResult<Option<Tenant>> {
        self.load(
            "SELECT data FROM tenants WHERE data->'ad'->>'connection_id' = $1",
            &[&connection_id],
        )
        .await
    }
}

#[async_trait]
impl SessionOwn for PostgresStore {
    async fn list_user_sessions(&self, user_id: &str) -> StoreResult<Vec<SessionRecord>> {
        self.load_all(
            "SELECT data FROM sessions WHERE user_id = $1 \
             ORDER BY (data->>'last_seen')::bigint DESC",
            &[&user_id],
        )
        .await
    }

    async fn session_view(&self, id_hash: &str) -> StoreResult<Option<SessionView>> {
        // The hottest read (every session, once per cache period): one
        // prepared statement, one round trip.
        let rows = self
            .query(
                "SELECT s.data, u.data, t.data FROM sessions s \
                 JOIN users u ON u.id = s.user_id \
                 JOIN tenants t ON t.id = u.tenant_id WHERE s.id_hash = $1",
                &[&id_hash],
            )
            .await?;
        rows.first()
            .map(|row| {
                Ok(SessionView {
                    session: record(row, 0)?,
                    user: record(row, 1)?,
                    tenant: record(row, 2)?,
                })
            })
            .transpose()
    }

    async fn touch_sessions(&self, touches: Vec<(String, UnixTime)>) -> StoreResult<()> {
        if touches.is_empty() {
            return Ok(());
        }
        let (ids, seen): (Vec<String>, Vec<i64>) = touches.into_iter().unzip();
        self.run(
            "UPDATE sessions s SET data = jsonb_set(s.data, '{last_seen}', to_jsonb(t.last_seen)) \
             FROM unnest($1::text[], $2::bigint[]) AS t(id_hash, last_seen) \
             WHERE s.id_hash = t.id_hash AND (s.data->>'last_seen')::bigint < t.last_seen",
            &[&ids, &seen],
        )
        .await
        .map(|_| ())
    }

    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<Vec<String>> {
        in_transaction!(self, |r| records::Records::delete_sessions_of(
            r, user_id, None
        ))
    }
}

#[async_trait]
impl ChangeNotices for PostgresStore {
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        Some(self.changes.subscribe())
    }

    async fn follow_changes(&self) {
        let mut reconnected = false;
        loop {
            self.listen(reconnected).await;
            // The connection ended or never came: notices may be missed
            // until it is back. (The gateway counts this as a store error,
            // op "changes".)
            if !reconnected {
                tracing::warn!("store: change notices interrupted; reconnecting");
            }
            let _ = self.changes.send(Change::Everything);
            reconnected = true;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

#[async_trait]
impl TicketOwn for PostgresStore {
    async fn replace_ticket(&self, ticket: TicketRecord) -> StoreResult<()> {
        in_transaction!(self, |r| records::replace_ticket(r, &ticket))
    }

    async fn peek_ticket(
        &self,
        hash: &str,
        purpose: TicketPurpose,
        now: UnixTime,
    ) -> StoreResult<Option<TicketRecord>> {
        self.load(
            "SELECT data FROM tickets WHERE hash = $1 AND purpose = $2 AND expires_at > $3",
            &[&hash, &purpose.as_str(), &now],
        )
        .await
    }

    async fn put_ticket(&self, t: TicketRecord) -> StoreResult<()> {
        self.run(
            INSERT_TICKET,
            &[&t.hash, &t.purpose, &t.user_id, &t.expires_at, &Json(&t)],
        )
        .await
        .map(|_| ())
    }
}

#[async_trait]
impl TwoStepOwn for PostgresStore {
    async fn put_pending(&self, p: PendingLogin) -> StoreResult<()> {
        self.run(
            UPSERT_PENDING,
            &[&p.id_hash, &p.user_id, &p.expires_at, &Json(&p)],
        )
        .await
        .map(|_| ())
    }

    async fn get_pending(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<PendingLogin>> {
        self.load(
            "SELECT data FROM pending WHERE id_hash = $1 AND expires_at > $2",
            &[&id_hash, &now],
        )
        .await
    }

    async fn add_trusted_browser(&self, b: TrustedBrowser) -> StoreResult<()> {
        self.run(
            INSERT_TRUSTED,
            &[&b.id_hash, &b.user_id, &b.id, &b.last_used, &Json(&b)],
        )
        .await
        .map(|_| ())
    }

    async fn list_trusted_browsers(&self, user_id: &str) -> StoreResult<Vec<TrustedBrowser>> {
        self.load_all(
            "SELECT data FROM trusted WHERE user_id = $1 ORDER BY last_used DESC",
            &[&user_id],
        )
        .await
    }

    async fn revoke_trusted_browser(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        self.run(
            "DELETE FROM trusted WHERE user_id = $1 AND id = $2",
            &[&user_id, &id],
        )
        .await
        .map(|n| n > 0)
    }
}

#[async_trait]
impl PasskeyOwn for PostgresStore {
    async fn list_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>> {
        self.load_all(
            "SELECT data FROM passkeys WHERE user_id = $1 ORDER BY created_at, seq",
            &[&user_id],
        )
        .await
    }

    async fn find_passkey(&self, credential_id: &str) -> StoreResult<Option<PasskeyRecord>> {
        self.load(
            "SELECT data FROM passkeys WHERE credential_id = $1",
            &[&credential_id],
        )
        .await
    }

    async fn use_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        used: PasskeyUse,
    ) -> StoreResult<bool> {
        self.edit_passkey(user_id, credential_id, move |p| p.record_use(used.clone()))
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
impl CounterOwn for PostgresStore {
    async fn admit_attempt(
        &self,
        identifier: &str,
        rule: AttemptRule,
        now: UnixTime,
    ) -> StoreResult<Admission> {
        let identifier = crate::counter_key(identifier);
        self.timed(async {
            let mut conn = self.client().await?;
            let tx = conn.transaction().await.map_err(pg_unavailable)?;
            // Finds the run, or starts one at zero, and holds its row until
            // the commit: parallel attempts on one identifier queue here.
            let rows = rows(
                &tx,
                "INSERT INTO failures (identifier, count, updated_at) VALUES ($1, 0, $2) \
                 ON CONFLICT (identifier) DO UPDATE SET identifier = EXCLUDED.identifier \
                 RETURNING count, updated_at",
                &[&identifier, &now],
            )
            .await
            .map_err(pg_unavailable)?;
            let row = rows.first().ok_or_else(|| unavailable("no failure row"))?;
            let count: i32 = row.try_get(0).map_err(pg_unavailable)?;
            let last: i64 = row.try_get(1).map_err(pg_unavailable)?;
            let admission = rule.admit(count.max(0) as u32, last, now);
            if let Admission::Checked(n) = admission {
                let n = i32::try_from(n).unwrap_or(i32::MAX);
                execute(
                    &tx,
                    "UPDATE failures SET count = $2, updated_at = $3 WHERE identifier = $1",
                    &[&identifier, &n, &now],
                )
                .await
                .map_err(pg_unavailable)?;
                tx.commit().await.map_err(pg_unavailable)?;
            } else {
                // Nothing counted: the run (or its absence) stays as it was.
                tx.rollback().await.map_err(pg_unavailable)?;
            }
            Ok(admission)
        })
        .await
    }

    async fn forget_quiet_failures(
        &self,
        rule: AttemptRule,
        now: UnixTime,
        kept: u64,
    ) -> StoreResult<u64> {
        let quiet_since = now.saturating_sub(rule.forget_after);
        let threshold = i32::try_from(rule.threshold).unwrap_or(i32::MAX);
        let quiet = self
            .run(
                "DELETE FROM failures WHERE updated_at <= $1 AND count < $2",
                &[&quiet_since, &threshold],
            )
            .await?;
        let kept = i64::try_from(kept).unwrap_or(i64::MAX);
        let oldest = self
            .run(
                "DELETE FROM failures WHERE identifier IN \
                 (SELECT identifier FROM failures ORDER BY updated_at DESC OFFSET $1)",
                &[&kept],
            )
            .await?;
        Ok(quiet + oldest)
    }

    async fn clear_failures(&self, identifier: &str) -> StoreResult<()> {
        let key = crate::counter_key(identifier);
        self.run("DELETE FROM failures WHERE identifier = $1", &[&key])
            .await
            .map(|_| ())
    }

    async fn count_event(&self, key: &str, window: i64, now: UnixTime) -> StoreResult<u32> {
        let rows = self
            .query(
                "INSERT INTO events (key, count, window_end) VALUES ($1, 1, $2::bigint + $3::bigint) \
                 ON CONFLICT (key) DO UPDATE SET \
                   count = CASE WHEN events.window_end <= $2 THEN 1 ELSE events.count + 1 END, \
                   window_end = CASE WHEN events.window_end <= $2 THEN $2 + $3 ELSE events.window_end END \
                 RETURNING count",
                &[&key, &now, &window],
            )
            .await?;
        let row = rows.first().ok_or_else(|| unavailable("no event row"))?;
        let count: i32 = row.try_get(0).map_err(pg_unavailable)?;
        Ok(count.max(0) as u32)
    }
}

#[async_trait]
impl SecretOwn for PostgresStore {
    async fn secret(&self, name: &str, fresh: Vec<u8>) -> StoreResult<Vec<u8>> {
        let name = format!("secret:{name}");
        let rows = self
            .query(
                "WITH added AS (INSERT INTO meta (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING RETURNING value) \
                 SELECT value FROM added UNION ALL SELECT value FROM meta WHERE name = $1 LIMIT 1",
                &[&name, &fresh],
            )
            .await?;
        let row = rows.first().ok_or_else(|| unavailable("secret not kept"))?;
        row.try_get(0).map_err(pg_unavailable)
    }
}

#[async_trait]
impl AuditOwn for PostgresStore {
    async fn record_audit(&self, record: AuditRecord) -> StoreResult<()> {
        let Some(tenant) = record.tenant_id.as_deref() else {
            return Ok(());
        };
        self.run(
            "INSERT INTO audit (tenant_id, expires_at, data) VALUES ($1, $2, $3)",
            &[&tenant, &record.expires_at, &Json(&record)],
        )
        .await
        .map(|_| ())
    }

    async fn recent_audit(
        &self,
        tenant_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<AuditRecord>> {
        let before = before.unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query(
                "SELECT seq, data FROM audit WHERE tenant_id = $1 AND seq < $2 \
                 ORDER BY seq DESC LIMIT $3",
                &[&tenant_id, &before, &limit],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let mut r: AuditRecord = record(row, 1)?;
                r.seq = row.try_get(0).map_err(pg_unavailable)?;
                Ok(r)
            })
            .collect()
    }
}

#[async_trait]
impl MaintenanceOwn for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        self.query("SELECT 1", &[]).await.map(|_| ())
    }

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64> {
        // Trusted browsers go once no window could still hold them: a
        // year, the longest trust the configuration accepts.
        let trust_horizon = now - 366 * sekisho_policy::DAY;
        // Each delete walks its expiry index. Ended sessions are announced,
        // as a revocation would be.
        let sessions = format!(
            "WITH gone AS (DELETE FROM sessions WHERE expires_at <= $1 RETURNING id_hash) \
             SELECT count(pg_notify('{CHANGES}', 's:' || id_hash)) FROM gone"
        );
        let rows = self.query(&sessions, &[&now]).await?;
        let mut n = rows
            .first()
            .map(|r| r.try_get::<_, i64>(0))
            .transpose()
            .map_err(pg_unavailable)?
            .unwrap_or(0) as u64;
        for (sql, at) in [
            ("DELETE FROM tickets WHERE expires_at <= $1", now),
            ("DELETE FROM pending WHERE expires_at <= $1", now),
            ("DELETE FROM events WHERE window_end <= $1", now),
            ("DELETE FROM audit WHERE expires_at <= $1", now),
            ("DELETE FROM trusted WHERE last_used <= $1", trust_horizon),
        ] {
            n += self.run(sql, &[&at]).await?;
        }
        Ok(n)
    }

    async fn export(&self) -> StoreResult<Dump> {
        self.timed(async {
            let mut conn = self.client().await?;
            // One snapshot of everything.
            let tx = conn
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(pg_unavailable)?;
            let all = |sql: &'static str| {
                let tx = &tx;
                async move { rows(tx, sql, &[]).await.map_err(pg_unavailable) }
            };
            let mut secrets = Vec::new();
            for row in
                all("SELECT name, value FROM meta WHERE name LIKE 'secret:%' ORDER BY name").await?
            {
                let name: String = row.try_get(0).map_err(pg_unavailable)?;
                let value: Vec<u8> = row.try_get(1).map_err(pg_unavailable)?;
                secrets.push((name["secret:".len()..].to_string(), hex::encode(value)));
            }
            let mut failures = Vec::new();
            for row in all("SELECT identifier, count FROM failures").await? {
                let identifier: String = row.try_get(0).map_err(pg_unavailable)?;
                let count: i32 = row.try_get(1).map_err(pg_unavailable)?;
                failures.push((identifier, count.max(0) as u32));
            }
            Ok(Dump {
                format: DUMP_FORMAT,
                secrets,
                tenants: records_of(&all("SELECT data FROM tenants ORDER BY seq").await?)?,
                users: records_of(&all("SELECT data FROM users ORDER BY seq").await?)?,
                sessions: records_of(&all("SELECT data FROM sessions").await?)?,
                tickets: records_of(&all("SELECT data FROM tickets").await?)?,
                pending: records_of(&all("SELECT data FROM pending").await?)?,
                trusted: records_of(&all("SELECT data FROM trusted").await?)?,
                failures,
                passkeys: records_of(&all("SELECT data FROM passkeys ORDER BY seq").await?)?,
            })
        })
        .await
    }

    async fn import(&self, dump: Dump) -> StoreResult<()> {
        // A large import may outlast one call's timeout, but not forever.
        let limit = self.timeout.max(Duration::from_secs(300));
        let run = async {
            let mut conn = self.client().await?;
            let tx = conn
                .build_transaction()
                .isolation_level(IsolationLevel::Serializable)
                .start()
                .await
                .map_err(pg_unavailable)?;
            tx.batch_execute(&format!(
                "SET LOCAL statement_timeout = {}",
                limit.as_millis()
            ))
            .await
            .map_err(pg_unavailable)?;
            let held: i64 = rows(
                &tx,
                "SELECT (SELECT COUNT(*) FROM tenants) + (SELECT COUNT(*) FROM users)",
                &[],
            )
            .await
            .map_err(pg_unavailable)?
            .first()
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(pg_unavailable)?
            .unwrap_or(0);
            if held > 0 {
                return Err(StoreError::Stale);
            }
            // The records go in through the steps' own primitives.
            let mut r = PgRecords::new(&tx);
            for (name, value) in &dump.secrets {
                let bytes = hex::decode(value).map_err(unavailable)?;
                r.execute(
                    "INSERT INTO meta (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                    &[&format!("secret:{name}"), &bytes],
                )
                .await?;
            }
            use records::Records;
            for t in &dump.tenants {
                r.insert_tenant(t).await?;
            }
            for u in &dump.users {
                r.insert_user(u).await?;
            }
            for s in &dump.sessions {
                r.insert_session(s).await?;
            }
            for t in &dump.tickets {
                r.put_ticket(t).await?;
            }
            for p in &dump.pending {
                r.save_pending(p).await?;
            }
            for b in &dump.trusted {
                r.execute(
                    INSERT_TRUSTED,
                    &[&b.id_hash, &b.user_id, &b.id, &b.last_used, &Json(b)],
                )
                .await?;
            }
            for p in &dump.passkeys {
                r.insert_passkey(p).await?;
            }
            for (identifier, count) in &dump.failures {
                // Runs start again from the import (the dump keeps counts
                // only).
                let count = i32::try_from(*count).unwrap_or(i32::MAX);
                r.execute(
                    "INSERT INTO failures (identifier, count, updated_at) \
                     VALUES ($1, $2, extract(epoch FROM now())::bigint)",
                    &[identifier, &count],
                )
                .await?;
            }
            drop(r);
            tx.commit().await.map_err(pg_unavailable)
        };
        match tokio::time::timeout(limit, run).await {
            Err(_) => Err(unavailable("the import timed out")),
            Ok(result) => result,
        }
    }
}
