//! The store's parts as this backend implements them: each domain step
//! run in one transaction of its own over the record primitives.

use super::*;

/// A domain step in one SQLite transaction on the blocking pool: its
/// arguments kept (owned) for the thread, then passed as the step takes
/// them.
macro_rules! step {
    ($store:expr, $name:ident $(, $arg:ident)*) => {{
        $(let $arg = crate::pass::Owned::owned($arg);)*
        in_transaction!($store, |r| records::$name(r $(, crate::pass::Pass::pass(&$arg))*))
    }};
}

crate::forward_all_parts!(SqliteStore, step);

#[async_trait]
impl AccountOwn for SqliteStore {
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        let id = id.to_string();
        self.run(move |c| load_user(c, &id)).await
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let email = email.to_string();
        self.run(move |c| {
            let data: Option<String> = c
                .row_cached("SELECT data FROM users WHERE email = ?1", [email], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(unavailable)?;
            data.map(|d| from_json(&d)).transpose()
        })
        .await
    }

    async fn list_users(&self, tenant_id: Option<&str>) -> StoreResult<Vec<User>> {
        let tenant_id = tenant_id.map(str::to_string);
        self.run(move |c| {
            let mut stmt = c
                .prepare("SELECT data FROM users WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY rowid")
                .map_err(unavailable)?;
            json_rows(&mut stmt, [tenant_id])
        })
        .await
    }

    async fn find_user_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<User>> {
        let (issuer, subject) = (issuer.to_string(), subject.to_string());
        self.run(move |c| {
            let data: Option<String> = c
                .row_cached(
                    "SELECT data FROM users WHERE json_extract(data, '$.identity.issuer') = ?1 \
                     AND json_extract(data, '$.identity.subject') = ?2",
                    params![issuer, subject],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            data.map(|d| from_json(&d)).transpose()
        })
        .await
    }
}

#[async_trait]
impl TenantOwn for SqliteStore {
    async fn get_tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        let id = id.to_string();
        self.run(move |c| load_tenant(c, &id)).await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.run(|c| {
            let mut stmt = c
                .prepare("SELECT data FROM tenants ORDER BY rowid")
                .map_err(unavailable)?;
            json_rows(&mut stmt, [])
        })
        .await
    }

    async fn find_tenant_by_connection(&self, connection_id: &str) -> StoreResult<Option<Tenant>> {
        let connection_id = connection_id.to_string();
        self.run(move |c| {
            let data: Option<String> = c
                .row_cached(
                    "SELECT data FROM tenants WHERE json_extract(data, '$.ad.connection_id') = ?1",
                    [&connection_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            data.map(|d| from_json(&d)).transpose()
        })
        .await
    }
}

#[async_trait]
impl SessionOwn for SqliteStore {
    async fn list_user_sessions(&self, user_id: &str) -> StoreResult<Vec<SessionRecord>> {
        let user_id = user_id.to_string();
        self.run(move |c| {
            let mut stmt = c
                .prepare("SELECT data FROM sessions WHERE user_id = ?1 ORDER BY json_extract(data, '$.last_seen') DESC")
                .map_err(unavailable)?;
            json_rows(&mut stmt, [user_id])
        })
        .await
    }

    async fn session_view(&self, id_hash: &str) -> StoreResult<Option<SessionView>> {
        let id_hash = id_hash.to_string();
        self.run(move |c| {
            // The hottest read (every session, once per cache period):
            // its statement is prepared once per connection.
            let row: Option<(String, Option<String>, Option<String>)> = c
                .prepare_cached(
                    "SELECT s.data, u.data, t.data FROM sessions s \
                     LEFT JOIN users u ON u.id = s.user_id \
                     LEFT JOIN tenants t ON t.id = u.tenant_id WHERE s.id_hash = ?1",
                )
                .and_then(|mut stmt| {
                    stmt.query_row([id_hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()
                })
                .map_err(unavailable)?;
            match row {
                Some((s, Some(u), Some(t))) => Ok(Some(SessionView {
                    session: from_json(&s)?,
                    user: from_json(&u)?,
                    tenant: from_json(&t)?,
                })),
                _ => Ok(None),
            }
        })
        .await
    }

    async fn touch_sessions(&self, touches: Vec<(String, UnixTime)>) -> StoreResult<()> {
        if touches.is_empty() {
            return Ok(());
        }
        self.write(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "UPDATE sessions SET data = json_set(data, '$.last_seen', ?2) WHERE id_hash = ?1 \
                     AND json_extract(data, '$.last_seen') < ?2",
                )
                .map_err(unavailable)?;
            for (id_hash, last_seen) in &touches {
                stmt.execute(params![id_hash, last_seen]).map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }

    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let user_id = user_id.to_string();
        self.write(move |c| delete_sessions_of(c, &user_id, None))
            .await
    }
}

/// How often the change log is read: the bound on how late a change made
/// by another process on the file (an admin command) reaches this one.
const CHANGE_POLL: Duration = Duration::from_millis(100);

/// How long the change log keeps an entry: every reader has long read it.
const CHANGE_KEEP_SECONDS: i64 = 300;

#[async_trait]
impl ChangeNotices for SqliteStore {
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        Some(self.changes.subscribe())
    }

    /// Reads the change log every [`CHANGE_POLL`] and sends what is new; a
    /// read that fails sends `Everything` (notices may be missed), and old
    /// entries are pruned now and then.
    async fn follow_changes(&self) {
        let mut last: Option<i64> = None;
        let mut polls: u64 = 0;
        loop {
            let after = last;
            let read = self
                .run(move |c| {
                    let Some(after) = after else {
                        let max: i64 = c
                            .row_cached("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
                                r.get(0)
                            })
                            .map_err(unavailable)?;
                        return Ok((max, Vec::new()));
                    };
                    let mut stmt = c
                        .prepare_cached(
                            "SELECT seq, change FROM changes WHERE seq > ?1 ORDER BY seq LIMIT 4096",
                        )
                        .map_err(unavailable)?;
                    let rows = stmt
                        .query_map([after], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                        .map_err(unavailable)?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(unavailable)?;
                    let max = rows.last().map_or(after, |(seq, _)| *seq);
                    Ok((max, rows))
                })
                .await;
            match read {
                Ok((max, rows)) => {
                    if last.is_some() && rows.len() == 4096 {
                        // More than one poll can carry: drop every view.
                        let _ = self.changes.send(Change::Everything);
                    } else {
                        for (_, text) in rows {
                            if let Some(change) = Change::decode(&text) {
                                let _ = self.changes.send(change);
                            }
                        }
                    }
                    last = Some(max);
                }
                Err(_) if last.is_some() => {
                    let _ = self.changes.send(Change::Everything);
                }
                Err(_) => {}
            }
            polls += 1;
            if polls.is_multiple_of(240) {
                let _ = self
                    .write(|c| {
                        c.run_cached(
                            "DELETE FROM changes WHERE at < CAST(strftime('%s', 'now') AS INTEGER) - ?1",
                            [CHANGE_KEEP_SECONDS],
                        )
                        .map_err(unavailable)
                    })
                    .await;
            }
            tokio::time::sleep(CHANGE_POLL).await;
        }
    }
}

#[async_trait]
impl TicketOwn for SqliteStore {
    async fn replace_ticket(&self, ticket: TicketRecord) -> StoreResult<()> {
        in_transaction!(self, |r| records::replace_ticket(r, &ticket))
    }

    async fn peek_ticket(
        &self,
        hash: &str,
        purpose: TicketPurpose,
        now: UnixTime,
    ) -> StoreResult<Option<TicketRecord>> {
        let hash = hash.to_string();
        self.run(move |c| load_live_ticket(c, &hash, purpose.as_str(), now))
            .await
    }

    async fn put_ticket(&self, ticket: TicketRecord) -> StoreResult<()> {
        self.write(move |c| insert_ticket(c, &ticket)).await
    }
}

#[async_trait]
impl TwoStepOwn for SqliteStore {
    async fn put_pending(&self, pending: PendingLogin) -> StoreResult<()> {
        self.write(move |c| save_pending(c, &pending)).await
    }

    async fn get_pending(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<PendingLogin>> {
        let id_hash = id_hash.to_string();
        self.run(move |c| load_pending(c, &id_hash, now)).await
    }

    async fn add_trusted_browser(&self, b: TrustedBrowser) -> StoreResult<()> {
        self.write(move |c| {
            c.run_cached(
                "INSERT INTO trusted (id_hash, user_id, id, last_used, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![b.id_hash, b.user_id, b.id, b.last_used, to_json(&b)?],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn list_trusted_browsers(&self, user_id: &str) -> StoreResult<Vec<TrustedBrowser>> {
        let user_id = user_id.to_string();
        self.run(move |c| {
            let mut stmt = c
                .prepare("SELECT data FROM trusted WHERE user_id = ?1 ORDER BY last_used DESC")
                .map_err(unavailable)?;
            json_rows(&mut stmt, [user_id])
        })
        .await
    }

    async fn revoke_trusted_browser(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        let (user_id, id) = (user_id.to_string(), id.to_string());
        self.write(move |c| {
            let n = c
                .run_cached(
                    "DELETE FROM trusted WHERE user_id = ?1 AND id = ?2",
                    params![user_id, id],
                )
                .map_err(unavailable)?;
            Ok(n > 0)
        })
        .await
    }
}

#[async_trait]
impl PasskeyOwn for SqliteStore {
    async fn list_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>> {
        let user_id = user_id.to_string();
        self.run(move |c| {
            let mut stmt = c
                .prepare("SELECT data FROM passkeys WHERE user_id = ?1 ORDER BY created_at, rowid")
                .map_err(unavailable)?;
            json_rows(&mut stmt, [user_id])
        })
        .await
    }

    async fn find_passkey(&self, credential_id: &str) -> StoreResult<Option<PasskeyRecord>> {
        let credential_id = credential_id.to_string();
        self.run(move |c| load_passkey(c, &credential_id)).await
    }

    async fn use_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        used: PasskeyUse,
    ) -> StoreResult<bool> {
        self.edit_passkey(user_id, credential_id, move |p| p.record_use(used))
            .await
    }

    async fn rename_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        name: &str,
    ) -> StoreResult<bool> {
        let name = name.to_string();
        self.edit_passkey(user_id, credential_id, move |p| p.name = name)
            .await
    }
}

#[async_trait]
impl CounterOwn for SqliteStore {
    async fn admit_attempt(
        &self,
        identifier: &str,
        rule: AttemptRule,
        now: UnixTime,
    ) -> StoreResult<Admission> {
        let identifier = crate::counter_key(identifier);
        self.write(move |c| {
            let (count, last): (u32, i64) = c
                .row_cached(
                    "SELECT count, updated_at FROM failures WHERE identifier = ?1",
                    [&identifier],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(unavailable)?
                .unwrap_or((0, now));
            let admission = rule.admit(count, last, now);
            if let Admission::Checked(n) = admission {
                c.run_cached(
                    "INSERT INTO failures (identifier, count, updated_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT(identifier) DO UPDATE SET count = ?2, updated_at = ?3",
                    params![identifier, n, now],
                )
                .map_err(unavailable)?;
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
        self.write(move |c| {
            let quiet = c
                .run_cached(
                    "DELETE FROM failures WHERE updated_at <= ?1 AND count < ?2",
                    params![quiet_since, rule.threshold],
                )
                .map_err(unavailable)?;
            let oldest = c
                .run_cached(
                    "DELETE FROM failures WHERE identifier IN \
                     (SELECT identifier FROM failures ORDER BY updated_at DESC LIMIT -1 OFFSET ?1)",
                    params![kept as i64],
                )
                .map_err(unavailable)?;
            Ok((quiet + oldest) as u64)
        })
        .await
    }

    async fn clear_failures(&self, identifier: &str) -> StoreResult<()> {
        let identifier = identifier.to_string();
        self.write(move |c| clear_failures_of(c, &identifier)).await
    }

    async fn count_event(&self, key: &str, window: i64, now: UnixTime) -> StoreResult<u32> {
        let key = key.to_string();
        self.write(move |c| {
            c.row_cached(
                "INSERT INTO events (key, count, window_end) VALUES (?1, 1, ?2 + ?3) \
                 ON CONFLICT(key) DO UPDATE SET \
                   count = CASE WHEN window_end <= ?2 THEN 1 ELSE count + 1 END, \
                   window_end = CASE WHEN window_end <= ?2 THEN ?2 + ?3 ELSE window_end END \
                 RETURNING count",
                params![key, now, window],
                |r| r.get(0),
            )
            .map_err(unavailable)
        })
        .await
    }
}

#[async_trait]
impl SecretOwn for SqliteStore {
    async fn secret(&self, name: &str, fresh: Vec<u8>) -> StoreResult<Vec<u8>> {
        let name = format!("secret:{name}");
        self.write(move |c| {
            c.run_cached(
                "INSERT OR IGNORE INTO meta (name, value) VALUES (?1, ?2)",
                params![name, fresh],
            )
            .map_err(unavailable)?;
            c.row_cached("SELECT value FROM meta WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .map_err(unavailable)
        })
        .await
    }
}

#[async_trait]
impl AuditOwn for SqliteStore {
    async fn record_audit(&self, record: AuditRecord) -> StoreResult<()> {
        let Some(tenant) = record.tenant_id.clone() else {
            return Ok(());
        };
        let data = to_json(&record)?;
        self.write(move |c| {
            c.run_cached(
                "INSERT INTO audit (tenant_id, expires_at, data) VALUES (?1, ?2, ?3)",
                params![tenant, record.expires_at, data],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn recent_audit(
        &self,
        tenant_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<AuditRecord>> {
        let tenant = tenant_id.to_string();
        self.run(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT seq, data FROM audit WHERE tenant_id = ?1 AND seq < ?2 \
                     ORDER BY seq DESC LIMIT ?3",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(
                    params![tenant, before.unwrap_or(i64::MAX), limit as i64],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                )
                .map_err(unavailable)?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, data) = row.map_err(unavailable)?;
                let mut record: AuditRecord = from_json(&data)?;
                record.seq = seq;
                out.push(record);
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl MaintenanceOwn for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.run(|c| {
            c.row_cached("SELECT 1", [], |_| Ok(()))
                .map_err(unavailable)
        })
        .await
    }

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64> {
        // Trusted browsers go once no window could still hold them: a
        // year, the longest trust the configuration accepts.
        let trust_horizon = now - 366 * sekisho_policy::DAY;
        self.write(move |c| {
            let mut n = 0;
            for (sql, at) in [
                ("DELETE FROM sessions WHERE expires_at <= ?1", now),
                ("DELETE FROM tickets WHERE expires_at <= ?1", now),
                ("DELETE FROM pending WHERE expires_at <= ?1", now),
                ("DELETE FROM events WHERE window_end <= ?1", now),
                ("DELETE FROM audit WHERE expires_at <= ?1", now),
                ("DELETE FROM trusted WHERE last_used <= ?1", trust_horizon),
            ] {
                n += c.run_cached(sql, [at]).map_err(unavailable)?;
            }
            Ok(n as u64)
        })
        .await
    }

    async fn export(&self) -> StoreResult<Dump> {
        self.run(|c| {
            let tx = c.transaction().map_err(unavailable)?;
            let all = |sql: &str| -> StoreResult<Vec<String>> {
                let mut stmt = tx.prepare(sql).map_err(unavailable)?;
                let rows = stmt
                    .query_map([], |r| r.get::<_, String>(0))
                    .map_err(unavailable)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
            };
            let mut secrets = Vec::new();
            {
                let mut stmt = tx
                    .prepare(
                        "SELECT name, value FROM meta WHERE name LIKE 'secret:%' ORDER BY name",
                    )
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                    })
                    .map_err(unavailable)?;
                for row in rows {
                    let (name, value) = row.map_err(unavailable)?;
                    secrets.push((name["secret:".len()..].to_string(), hex::encode(value)));
                }
            }
            let mut failures = Vec::new();
            {
                let mut stmt = tx
                    .prepare("SELECT identifier, count FROM failures")
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))
                    .map_err(unavailable)?;
                for row in rows {
                    failures.push(row.map_err(unavailable)?);
                }
            }
            Ok(Dump {
                format: DUMP_FORMAT,
                secrets,
                tenants: parse_all(all("SELECT data FROM tenants ORDER BY rowid")?)?,
                users: parse_all(all("SELECT data FROM users ORDER BY rowid")?)?,
                sessions: parse_all(all("SELECT data FROM sessions")?)?,
                tickets: parse_all(all("SELECT data FROM tickets")?)?,
                pending: parse_all(all("SELECT data FROM pending")?)?,
                trusted: parse_all(all("SELECT data FROM trusted")?)?,
                failures,
                passkeys: parse_all(all("SELECT data FROM passkeys ORDER BY rowid")?)?,
            })
        })
        .await
    }

    async fn import(&self, dump: Dump) -> StoreResult<()> {
        self.write(move |tx| {
            let held: i64 = tx
                .row_cached(
                    "SELECT (SELECT COUNT(*) FROM tenants) + (SELECT COUNT(*) FROM users)",
                    [],
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            if held > 0 {
                return Err(StoreError::Stale);
            }
            for (name, value) in &dump.secrets {
                let bytes = hex::decode(value).map_err(unavailable)?;
                tx.run_cached(
                    "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)",
                    params![format!("secret:{name}"), bytes],
                )
                .map_err(unavailable)?;
            }
            for t in &dump.tenants {
                tx.run_cached(
                    "INSERT INTO tenants (id, data) VALUES (?1, ?2)",
                    params![t.id, to_json(t)?],
                )
                .map_err(unavailable)?;
            }
            for u in &dump.users {
                insert_user(tx, u)?;
            }
            for s in &dump.sessions {
                insert_session(tx, s)?;
            }
            for t in &dump.tickets {
                insert_ticket(tx, t)?;
            }
            for p in &dump.pending {
                save_pending(tx, p)?;
            }
            for b in &dump.trusted {
                tx.run_cached(
                    "INSERT INTO trusted (id_hash, user_id, id, last_used, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![b.id_hash, b.user_id, b.id, b.last_used, to_json(b)?],
                )
                .map_err(unavailable)?;
            }
            for p in &dump.passkeys {
                insert_passkey(tx, p)?;
            }
            for (identifier, count) in &dump.failures {
                tx.run_cached(
                    // Runs start again from the import (the dump keeps
                    // counts only).
                    "INSERT INTO failures (identifier, count, updated_at) VALUES (?1, ?2, unixepoch())",
                    params![identifier, count],
                )
                .map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }
}
