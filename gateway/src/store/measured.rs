//! Every store call timed by operation (`sekisho_store_seconds{op}`), and
//! a `store` span of the request's trace around it (see
//! [`crate::traces`]). Wraps whichever backend is configured, so neither
//! backend measures itself.

use super::*;
use async_trait::async_trait;
use sekisho_policy::line::AccessRoute;
use sekisho_policy::model::{LoginMethod, Plan, Role};
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::UnixTime;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// A store whose every call is measured.
pub struct Measured {
    inner: SharedStore,
}

impl Measured {
    pub fn wrap(inner: SharedStore) -> SharedStore {
        Arc::new(Measured { inner })
    }
}

/// Forwards each listed method of each part to the backend, timed and in
/// a span.
macro_rules! measured {
    ($( $part:ident { $( $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty; )* } )*) => {
        /// The operations of [`Measured`], for the metric's fixed labels.
        pub const OPERATIONS: &[&str] = &[$($(stringify!($name),)*)*];

        $(
            #[async_trait]
            impl $part for Measured {
                $(
                    async fn $name(&self, $($arg: $ty),*) -> $ret {
                        let started = Instant::now();
                        let result = self
                            .inner
                            .$name($($arg),*)
                            .instrument(crate::call_span!("store", db.operation.name = stringify!($name)))
                            .await;
                        crate::metrics::STORE_SECONDS
                            .with_label_values(&[stringify!($name)])
                            .observe(started.elapsed().as_secs_f64());
                        result
                    }
                )*
            }
        )*
    };
}

/// Change notices are not calls to time: they pass straight through.
#[async_trait]
impl ChangeNotices for Measured {
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        self.inner.changes()
    }

    async fn follow_changes(&self) {
        self.inner.follow_changes().await
    }
}

measured! {
    AccountStore {
        get_user(id: &str) -> StoreResult<Option<User>>;
        find_user_by_email(email: &str) -> StoreResult<Option<User>>;
        list_users(tenant_id: Option<&str>) -> StoreResult<Vec<User>>;
        set_role(user_id: &str, role: Role) -> StoreResult<User>;
        lock_user(user_id: &str, unlock: TicketRecord) -> StoreResult<()>;
        unlock_user(user_id: &str) -> StoreResult<User>;
        unlock_with_ticket(hash: &str, now: UnixTime) -> StoreResult<User>;
        complete_reset(hash: &str, password_hash: &str, now: UnixTime) -> StoreResult<(User, Vec<String>)>;
        create_invited_user(user: User, invitation: TicketRecord) -> StoreResult<()>;
        remove_user(user_id: &str) -> StoreResult<Vec<String>>;
        change_password(user_id: &str, password_hash: &str, keep: Option<&str>) -> StoreResult<Vec<String>>;
        complete_email_change(hash: &str, password_hash: Option<String>, now: UnixTime) -> StoreResult<(User, String, Vec<String>)>;
        change_method(change: MethodChange, now: UnixTime) -> StoreResult<(User, Vec<String>)>;
        complete_registration(ticket_hash: &str, now: UnixTime) -> StoreResult<User>;
        find_user_by_identity(issuer: &str, subject: &str) -> StoreResult<Option<User>>;
        complete_federated_registration(ticket_hash: &str, method: LoginMethod, identity: FederatedIdentity, now: UnixTime) -> StoreResult<User>;
    }
    TenantStore {
        create_tenant_with_holder(tenant: Tenant, holder: User, invitation: TicketRecord) -> StoreResult<()>;
        get_tenant(id: &str) -> StoreResult<Option<Tenant>>;
        list_tenants() -> StoreResult<Vec<Tenant>>;
        set_plan(tenant_id: &str, plan: Plan) -> StoreResult<Tenant>;
        set_access_route(tenant_id: &str, route: AccessRoute) -> StoreResult<Tenant>;
        save_line_settings(tenant_id: &str, route: AccessRoute, lines: Vec<String>) -> StoreResult<Tenant>;
        consent_line(tenant_id: &str, line: &str) -> StoreResult<Tenant>;
        save_ad_connection(tenant_id: &str, connection: AdConnection) -> StoreResult<Tenant>;
        find_tenant_by_connection(connection_id: &str) -> StoreResult<Option<Tenant>>;
        set_two_step_enabled(tenant_id: &str, enabled: bool) -> StoreResult<Tenant>;
        set_passkeys_required(tenant_id: &str, required: bool) -> StoreResult<Tenant>;
    }
    SessionStore {
        create_session(session: SessionRecord) -> StoreResult<()>;
        rotate_session(old_hash: &str, new: SessionRecord) -> StoreResult<()>;
        session_view(id_hash: &str) -> StoreResult<Option<SessionView>>;
        touch_sessions(touches: Vec<(String, UnixTime)>) -> StoreResult<()>;
        delete_session(id_hash: &str) -> StoreResult<()>;
        delete_user_sessions(user_id: &str) -> StoreResult<Vec<String>>;
        list_user_sessions(user_id: &str) -> StoreResult<Vec<SessionRecord>>;
    }
    TicketStore {
        replace_ticket(ticket: TicketRecord) -> StoreResult<()>;
        peek_ticket(hash: &str, purpose: TicketPurpose, now: UnixTime) -> StoreResult<Option<TicketRecord>>;
        stage_ticket(hash: &str, purpose: TicketPurpose, staged: &str, now: UnixTime) -> StoreResult<()>;
        issue_ticket_unless_recent(ticket: TicketRecord, interval: i64) -> StoreResult<bool>;
        put_ticket(ticket: TicketRecord) -> StoreResult<()>;
        take_ticket(hash: &str, purpose: TicketPurpose, now: UnixTime) -> StoreResult<Option<TicketRecord>>;
        issue_change_link(ticket: TicketRecord) -> StoreResult<()>;
    }
    TwoStepStore {
        reset_two_step(user_id: &str) -> StoreResult<User>;
        put_pending(pending: PendingLogin) -> StoreResult<()>;
        get_pending(id_hash: &str, now: UnixTime) -> StoreResult<Option<PendingLogin>>;
        take_pending(id_hash: &str, now: UnixTime) -> StoreResult<Option<PendingLogin>>;
        consume_sms_code(id_hash: &str, code_hash: &str, now: UnixTime) -> StoreResult<Option<String>>;
        register_two_step(user_id: &str, generation: u32, registration: TwoStepRegistration) -> StoreResult<()>;
        replace_totp_secret(user_id: &str, from: &str, to: &str) -> StoreResult<bool>;
        accept_totp_step(user_id: &str, step: u64) -> StoreResult<bool>;
        use_recovery_code(pending_hash: &str, recovery_hash: &str, now: UnixTime) -> StoreResult<Option<PendingLogin>>;
        add_trusted_browser(browser: TrustedBrowser) -> StoreResult<()>;
        use_trusted_browser(id_hash: &str, user_id: &str, generation: u32, window: i64, now: UnixTime) -> StoreResult<bool>;
        list_trusted_browsers(user_id: &str) -> StoreResult<Vec<TrustedBrowser>>;
        revoke_trusted_browser(user_id: &str, id: &str) -> StoreResult<bool>;
        revoke_trusted_browsers(user_id: &str) -> StoreResult<u64>;
    }
    PasskeyStore {
        add_passkey(passkey: PasskeyRecord) -> StoreResult<()>;
        list_passkeys(user_id: &str) -> StoreResult<Vec<PasskeyRecord>>;
        find_passkey(credential_id: &str) -> StoreResult<Option<PasskeyRecord>>;
        use_passkey(user_id: &str, credential_id: &str, used: PasskeyUse) -> StoreResult<bool>;
        rename_passkey(user_id: &str, credential_id: &str, name: &str) -> StoreResult<bool>;
        remove_passkey(user_id: &str, credential_id: &str) -> StoreResult<Option<PasskeyRecord>>;
        remove_passkeys(user_id: &str) -> StoreResult<u64>;
    }
    CounterStore {
        admit_attempt(identifier: &str, rule: AttemptRule, now: UnixTime) -> StoreResult<Admission>;
        forget_quiet_failures(rule: AttemptRule, now: UnixTime) -> StoreResult<u64>;
        clear_failures(identifier: &str) -> StoreResult<()>;
        count_event(key: &str, window: i64, now: UnixTime) -> StoreResult<u32>;
    }
    SecretStore {
        secret(name: &str, fresh: Vec<u8>) -> StoreResult<Vec<u8>>;
    }
    AuditStore {
        record_audit(record: AuditRecord) -> StoreResult<()>;
        recent_audit(tenant_id: &str, before: Option<i64>, limit: usize) -> StoreResult<Vec<AuditRecord>>;
    }
    MaintenanceStore {
        ping() -> StoreResult<()>;
        purge_expired(now: UnixTime) -> StoreResult<u64>;
        export() -> StoreResult<Dump>;
        import(dump: Dump) -> StoreResult<()>;
    }
}

/// Registers the store operations' series up front.
pub fn register_metrics() {
    for op in OPERATIONS {
        crate::metrics::register_labels(&crate::metrics::STORE_SECONDS, &[op]);
    }
}
