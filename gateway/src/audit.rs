//! Audit events: one record per security decision, with who, where and
//! what. Never a password, code, ticket or session id (S44).
//!
//! The names and fields are a stable schema, documented in
//! `docs/audit.md`; a test checks that the document and [`Event::ALL`]
//! agree. Each event goes to three places:
//! * the logs, as a line with target `audit`;
//! * its own sink, `audit.file` (JSON lines), when configured;
//! * the store, when it concerns a tenant, for the console's 監査ログ page
//!   (kept `audit.keep_days`).
//!
//! [`event`] never waits: it queues the record for [`deliver`], which the
//! gateway runs in the background and the admin command runs before it
//! exits. A full queue drops the record from the sink and the store (the
//! log line is still written) and counts it in
//! `sekisho_audit_dropped_total`.

use crate::store::{AuditRecord, AuditStore};
use sekisho_policy::model::Route;
use sekisho_policy::UnixTime;
use std::io::Write;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;

/// Where a decision was made and for whom.
#[derive(Debug, Clone, Default)]
pub struct Who<'a> {
    pub user_id: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    pub route: Option<Route>,
    pub client_ip: Option<&'a str>,
}

macro_rules! events {
    ($($variant:ident = $name:literal, $category:ident;)*) => {
        /// Every audit event, by its stable name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Event { $($variant,)* }

        impl Event {
            pub const ALL: &'static [Event] = &[$(Event::$variant,)*];

            /// The name in the logs, the sink and the store: never changes.
            pub fn as_str(self) -> &'static str {
                match self { $(Event::$variant => $name,)* }
            }

            pub fn category(self) -> Category {
                match self { $(Event::$variant => Category::$category,)* }
            }

            pub fn from_name(name: &str) -> Option<Event> {
                match name { $($name => Some(Event::$variant),)* _ => None }
            }
        }
    };
}

/// What an event is about: the console groups and labels by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Login,
    Lock,
    TwoStep,
    Account,
    Users,
    Settings,
    Refusal,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Login => "login",
            Category::Lock => "lock",
            Category::TwoStep => "two_step",
            Category::Account => "account",
            Category::Users => "users",
            Category::Settings => "settings",
            Category::Refusal => "refusal",
        }
    }
}

events! {
    LoginSucceeded = "login_succeeded", Login;
    LoginFailed = "login_failed", Login;
    LoginRefusedLocked = "login_refused_locked", Login;
    LoginRefusedPlan = "login_refused_plan", Login;
    LoginRefusedRoute = "login_refused_route", Login;
    FederationRefused = "federation_refused", Login;
    Logout = "logout", Login;
    LoggedOutEverywhere = "logged_out_everywhere", Login;
    SessionEndedByUser = "session_ended_by_user", Login;
    DeviceBound = "device_bound", Login;
    DeviceBindingRefused = "device_binding_refused", Login;
    AccountLocked = "account_locked", Lock;
    AccountLockedDown = "account_locked_down", Lock;
    AccountUnlocked = "account_unlocked", Lock;
    UnlockMailResent = "unlock_mail_resent", Lock;
    TwoStepAsked = "two_step_asked", TwoStep;
    TwoStepSetUp = "two_step_set_up", TwoStep;
    TwoStepCodeWrong = "two_step_code_wrong", TwoStep;
    TwoStepCodeReplayed = "two_step_code_replayed", TwoStep;
    TwoStepCapped = "two_step_capped", TwoStep;
    TwoStepCancelled = "two_step_cancelled", TwoStep;
    TwoStepRecoveryUsed = "two_step_recovery_used", TwoStep;
    TwoStepForeignPending = "two_step_foreign_pending", TwoStep;
    TrustedBrowserRevoked = "trusted_browser_revoked", TwoStep;
    PasskeyRegistered = "passkey_registered", TwoStep;
    PasskeyRenamed = "passkey_renamed", TwoStep;
    PasskeyRemoved = "passkey_removed", TwoStep;
    PasskeyRefused = "passkey_refused", TwoStep;
    PasskeyCloneRefused = "passkey_clone_refused", TwoStep;
    SmsSent = "sms_sent", TwoStep;
    SmsFailed = "sms_failed", TwoStep;
    SmsCapped = "sms_capped", TwoStep;
    RegistrationCompleted = "registration_completed", Account;
    PasswordChanged = "password_changed", Account;
    PasswordReset = "password_reset", Account;
    PasswordRuleRefused = "password_rule_refused", Account;
    PasswordBreached = "password_breached", Account;
    NewBrowserMailed = "new_browser_mailed", Account;
    ResetRequested = "reset_requested", Account;
    EmailChangeRequested = "email_change_requested", Account;
    EmailChangeRefused = "email_change_refused", Account;
    EmailChangeLinkSent = "email_change_link_sent", Account;
    EmailChanged = "email_changed", Account;
    MethodChangeLinkSent = "method_change_link_sent", Account;
    LoginMethodChanged = "login_method_changed", Account;
    UserInvited = "user_invited", Users;
    UserInviteRefused = "user_invite_refused", Users;
    InvitationResent = "invitation_resent", Users;
    UserRemoved = "user_removed", Users;
    RoleChanged = "role_changed", Users;
    TwoStepReset = "two_step_reset", Users;
    PasskeysRevoked = "passkeys_revoked", Users;
    ScimUserCreated = "scim_user_created", Users;
    ScimUserChanged = "scim_user_changed", Users;
    ScimUserDeactivated = "scim_user_deactivated", Users;
    ScimUserRemoved = "scim_user_removed", Users;
    ScimRefused = "scim_refused", Refusal;
    LoginRefusedDeactivated = "login_refused_deactivated", Login;
    TenantCreated = "tenant_created", Settings;
    PlanChanged = "plan_changed", Settings;
    TwoStepSettingChanged = "two_step_setting_changed", Settings;
    PasskeyPolicyChanged = "passkey_policy_changed", Settings;
    NewDeviceMailChanged = "new_device_mail_changed", Settings;
    DeviceBindingRequiredChanged = "device_binding_required_changed", Settings;
    ScimTokenCreated = "scim_token_created", Settings;
    ScimTokenRotated = "scim_token_rotated", Settings;
    ScimTokenRevoked = "scim_token_revoked", Settings;
    AccessRouteChanged = "access_route_changed", Settings;
    LineSettingsChanged = "line_settings_changed", Settings;
    LineConsentGiven = "line_consent_given", Settings;
    AdConnectionSaved = "ad_connection_saved", Settings;
    Throttled = "throttled", Refusal;
    CrossSiteRefused = "cross_site_refused", Refusal;
}

/// One event on its way to the sink and the store.
#[derive(Debug, Clone)]
pub struct Pending {
    event: Event,
    user_id: Option<String>,
    tenant_id: Option<String>,
    route: Option<Route>,
    client: Option<String>,
    detail: String,
}

static QUEUE: OnceLock<mpsc::Sender<Pending>> = OnceLock::new();

/// How many records may wait for [`deliver`].
const QUEUE_CAPACITY: usize = 10_000;

/// Starts queueing events for [`deliver`]; the receiver is the caller's
/// to drain. Once per process.
pub fn install() -> Option<mpsc::Receiver<Pending>> {
    let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
    QUEUE.set(tx).ok().map(|_| rx)
}

/// Records `event` with a detail that must itself be free of secrets.
pub fn event(event: Event, who: &Who<'_>, detail: &str) {
    tracing::info!(
        target: "audit",
        event = event.as_str(),
        category = event.category().as_str(),
        user = who.user_id.unwrap_or("-"),
        tenant = who.tenant_id.unwrap_or("-"),
        route = who.route.map(|r| r.as_str()).unwrap_or("-"),
        client = who.client_ip.unwrap_or("-"),
        detail,
    );
    if let Some(queue) = QUEUE.get() {
        let pending = Pending {
            event,
            user_id: who.user_id.map(str::to_string),
            tenant_id: who.tenant_id.map(str::to_string),
            route: who.route,
            client: who.client_ip.map(str::to_string),
            detail: detail.to_string(),
        };
        if queue.try_send(pending).is_err() {
            crate::metrics::AUDIT_DROPPED.inc();
        }
    }
}

/// Where delivered records go.
pub struct Sinks {
    pub store: Arc<dyn AuditStore>,
    pub file: Option<std::fs::File>,
    pub keep_seconds: i64,
}

impl Sinks {
    pub fn open(store: Arc<dyn AuditStore>, cfg: &sekisho_config::Audit) -> anyhow::Result<Sinks> {
        let file = match &cfg.file {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        crate::error::InputError::error(format!(
                            "audit.file: cannot open {} for appending: {e}",
                            path.display()
                        ))
                    })?,
            ),
            None => None,
        };
        Ok(Sinks {
            store,
            file,
            keep_seconds: cfg.keep_days as i64 * 86_400,
        })
    }

    /// Writes one record: a line to the file, and the tenant's record to
    /// the store. A failure is logged and counted, never retried.
    async fn write(&mut self, p: Pending, at: UnixTime) {
        let record = AuditRecord {
            seq: 0,
            at,
            event: p.event.as_str().to_string(),
            user_id: p.user_id,
            tenant_id: p.tenant_id,
            route: p.route.map(|r| r.as_str().to_string()),
            client: p.client,
            detail: p.detail,
            expires_at: at + self.keep_seconds,
        };
        if let Some(file) = &mut self.file {
            let line = serde_json::json!({
                "at": record.at,
                "event": record.event,
                "category": p.event.category().as_str(),
                "user": record.user_id,
                "tenant": record.tenant_id,
                "route": record.route,
                "client": record.client,
                "detail": record.detail,
            });
            if writeln!(file, "{line}").is_err() {
                crate::metrics::AUDIT_DROPPED.inc();
            }
        }
        if record.tenant_id.is_some() && self.store.record_audit(record).await.is_err() {
            crate::metrics::AUDIT_DROPPED.inc();
            crate::metrics::STORE_ERRORS
                .with_label_values(&["record_audit"])
                .inc();
        }
    }
}

/// Delivers queued records until the queue closes (the gateway's
/// background task).
pub async fn deliver(
    queue: &mut mpsc::Receiver<Pending>,
    sinks: &mut Sinks,
    clock: &crate::clock::Clock,
) {
    while let Some(p) = queue.recv().await {
        sinks.write(p, clock.now()).await;
    }
}

/// Delivers what is queued now and returns (the admin command, before it
/// exits).
pub async fn deliver_queued(
    queue: &mut mpsc::Receiver<Pending>,
    sinks: &mut Sinks,
    clock: &crate::clock::Clock,
) {
    while let Ok(p) = queue.try_recv() {
        sinks.write(p, clock.now()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::Event;

    /// `docs/audit.md` is the schema operators rely on: every event is
    /// there with its category, and nothing else is.
    #[test]
    fn the_documented_schema_is_the_events() {
        let doc = include_str!("../../docs/audit.md");
        let section = doc
            .split("\n## Events")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("an Events section");
        let documented: Vec<(String, String)> = section
            .lines()
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells.len() > 3 && cells[1].starts_with('`')).then(|| {
                    (
                        cells[1].trim_matches('`').to_string(),
                        cells[2].trim_matches('`').to_string(),
                    )
                })
            })
            .collect();
        for e in Event::ALL {
            assert!(
                documented
                    .iter()
                    .any(|(n, c)| n == e.as_str() && c == e.category().as_str()),
                "{} ({}) is not in docs/audit.md",
                e.as_str(),
                e.category().as_str()
            );
        }
        for (name, _) in &documented {
            assert!(
                Event::from_name(name).is_some(),
                "docs/audit.md names `{name}`, which is no event"
            );
        }
    }
}
