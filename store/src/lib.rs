//! `sekisho-store`: one trait with the operations the flows need, each with
//! the atomicity it needs, and the records it keeps. The domain steps are
//! written once (`records`) over primitives each backend implements in its
//! own transaction: SQLite (the embedded single file) and Redis. Both pass
//! [`conformance`] (behind the `conformance` feature).
//!
//! Records are plain serde structs; backends keep them as JSON next to the
//! few columns they index, so a later field is a `#[serde(default)]`, not a
//! migration.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod postgres;
mod records;
pub mod redis;
pub mod sqlite;

use async_trait::async_trait;
use sekisho_policy::line::AccessRoute;
pub use sekisho_policy::lock::{Admission, AttemptRule};
use sekisho_policy::model::{LoginMethod, Plan, Role, Route, UserStatus};
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::UnixTime;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A contract (契約).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub plan: Plan,
    /// When the tenant started: the trial's day 0.
    pub created_at: UnixTime,
    /// 2段階認証: on by default. Forced off while the access route is
    /// line-only; the setting itself is kept, so switching back restores it.
    #[serde(default = "yes")]
    pub two_step_enabled: bool,
    /// アクセス経路設定.
    #[serde(default)]
    pub access_route: AccessRoute,
    /// Registered line numbers (canonical, see `policy::line`).
    #[serde(default)]
    pub lines: Vec<String>,
    /// West lines (`COP`) whose 回線情報通知設定 was given.
    #[serde(default)]
    pub line_consents: Vec<String>,
    /// The tenant's Active Directory (ADFS) connection, once the holder set
    /// it up (Active Directory設定).
    #[serde(default)]
    pub ad: Option<AdConnection>,
    /// パスキー設定: password users must sign in with a passkey (and
    /// register one at their next login). Off by default.
    #[serde(default)]
    pub passkeys_required: bool,
}

/// A tenant's ADFS, reached over OpenID Connect. The client secret is
/// sealed with the key from config (`federation.active_directory`), so a
/// copy of the store alone does not give it away.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdConnection {
    /// 接続ID: `adfs-` + 18 characters, issued by the gateway, unique.
    pub connection_id: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub updated_at: UnixTime,
}

impl std::fmt::Debug for AdConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdConnection")
            .field("connection_id", &self.connection_id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Tenant {
    /// Whether two-step verification applies to this tenant's logins now.
    pub fn two_step_applies(&self) -> bool {
        sekisho_policy::two_step::tenant_setting_applies(
            self.two_step_enabled,
            self.access_route == AccessRoute::LineOnly,
        )
    }
}

/// Compares two secrets' hashes in constant time.
fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Random bytes from the OS (the back-off's jitter).
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the system's random source");
    b
}

fn yes() -> bool {
    true
}

/// A person who signs in (利用者).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    /// The login ID in canonical form (see `policy::email`). Mail goes here.
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: UserStatus,
    pub method: LoginMethod,
    /// argon2id PHC string; `None` until a password is set.
    #[serde(default)]
    pub password_hash: Option<String>,
    pub created_at: UnixTime,
    #[serde(default)]
    pub locked: bool,
    /// The second factor, once set up; `None` means the next login that
    /// asks for two-step verification sets it up.
    #[serde(default)]
    pub two_step: Option<TwoStepRegistration>,
    /// Bumped at every reset of the registration: trusted browsers and
    /// pending set-ups of an older generation are worthless (S28).
    #[serde(default)]
    pub two_step_generation: u32,
    /// The newest TOTP step accepted for this user (S23).
    #[serde(default)]
    pub last_totp_step: Option<u64>,
    /// When their newest session began (the console shows it).
    #[serde(default)]
    pub last_login_at: Option<UnixTime>,
    /// The provider account a federated user signs in with (S37).
    #[serde(default)]
    pub identity: Option<FederatedIdentity>,
}

/// A provider account: issuer and subject, the only pair that identifies
/// a person at a provider (never the email, S37).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederatedIdentity {
    pub issuer: String,
    pub subject: String,
}

/// How a user passes the second step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TwoStepKind {
    Sms,
    Totp,
}

/// A user's two-step registration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoStepRegistration {
    pub kind: TwoStepKind,
    /// E.164, verified by a code during set-up (S26).
    #[serde(default)]
    pub phone: Option<String>,
    /// Base32 TOTP secret.
    #[serde(default)]
    pub totp_secret: Option<String>,
    /// Keyed hash of the recovery code (S27).
    pub recovery_hash: String,
    pub registered_at: UnixTime,
}

impl std::fmt::Debug for TwoStepRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoStepRegistration")
            .field("kind", &self.kind)
            .field("registered_at", &self.registered_at)
            .finish_non_exhaustive()
    }
}

/// A login that passed the password and waits for its second step. It
/// grants nothing: the proxy never reads it (S21). Keyed by the hash of
/// its own cookie and bound to the browser's pre-session id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub id_hash: String,
    /// Hash of the pre-session id of the browser that typed the password.
    pub browser: String,
    pub user_id: String,
    pub route: Route,
    /// Started at the account menu's login page.
    pub menu: bool,
    pub next: String,
    /// The user's registration generation when the password was typed.
    pub generation: u32,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    #[serde(default)]
    pub sms: Option<SmsChallenge>,
    /// "Remember this browser" was ticked with the code.
    #[serde(default)]
    pub remember: bool,
    /// The second step passed at set-up; the recovery code is being shown.
    #[serde(default)]
    pub passed: bool,
    /// The new recovery code while it is shown, sealed under the pending
    /// cookie (which the store never holds), so a reload shows it again.
    #[serde(default)]
    pub recovery_sealed: Option<String>,
    /// What the tenant's passkey requirement asks of this login.
    #[serde(default)]
    pub passkey: PasskeyDemand,
}

/// What a pending login owes under the tenant's passkey requirement
/// (`policy::passkey::required_step`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasskeyDemand {
    /// No requirement: the ordinary second step.
    #[default]
    NotRequired,
    /// A passkey (or the recovery code) is the only second step.
    Use,
    /// A passkey is registered once the second step (if any) has passed,
    /// before the session starts.
    Enrol,
}

/// The SMS code sent for a pending login: bound to it, one at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsChallenge {
    /// E.164; during set-up the number being verified.
    pub phone: String,
    /// Keyed hash of the code; `None` once used.
    pub code_hash: Option<String>,
    pub sent_at: UnixTime,
    pub expires_at: UnixTime,
}

/// One audit event kept for a tenant's console (see the gateway's `audit`).
/// `seq` is the store's: rising, so a page of events is "older than".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: UnixTime,
    pub event: String,
    pub user_id: Option<String>,
    pub tenant_id: Option<String>,
    pub route: Option<String>,
    pub client: Option<String>,
    pub detail: String,
    pub expires_at: UnixTime,
}

/// A browser the user asked to remember; the cookie holds the token whose
/// hash keys it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedBrowser {
    pub id_hash: String,
    /// A short public id, for the revoke button.
    pub id: String,
    pub user_id: String,
    pub generation: u32,
    pub created_at: UnixTime,
    pub last_used: UnixTime,
    pub user_agent: String,
    pub client_ip: String,
}

/// A user's passkey (WebAuthn credential). Keyed by its credential id,
/// which is unique across users: a credential belongs to one user (S53).
/// `credential` is webauthn-rs's own record (public key, signature
/// counter, backup flags), kept whole so the library checks it; the
/// counter and flags are copied beside it for the console and the tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRecord {
    /// The credential id, base64url without padding.
    pub credential_id: String,
    pub user_id: String,
    pub name: String,
    pub created_at: UnixTime,
    #[serde(default)]
    pub last_used_at: Option<UnixTime>,
    /// The authenticator's signature counter as last accepted; 0 for
    /// authenticators without one (most synced passkeys).
    pub counter: u32,
    pub backup_eligible: bool,
    pub backup_state: bool,
    /// webauthn-rs's `Passkey`, as JSON.
    pub credential: String,
}

impl PasskeyRecord {
    /// Takes in a use: the counter, flags and credential as webauthn-rs
    /// left them, and when.
    pub fn record_use(&mut self, used: PasskeyUse) {
        self.counter = used.counter;
        self.backup_eligible = used.backup_eligible;
        self.backup_state = used.backup_state;
        self.credential = used.credential;
        self.last_used_at = Some(used.at);
    }
}

/// A passkey just used: its new counter and flags (see
/// [`Store::use_passkey`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyUse {
    pub counter: u32,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub credential: String,
    pub at: UnixTime,
}

/// A signed-in browser. Keyed by the hash of its cookie value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Empty in a record stored under its id (Redis: the key holds it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_hash: String,
    pub user_id: String,
    pub tenant_id: String,
    pub created_at: UnixTime,
    pub last_seen: UnixTime,
    /// Latest end of the session's life: the absolute timeout; backends may
    /// expire the record then.
    pub expires_at: UnixTime,
    pub route: Route,
    pub method: LoginMethod,
    pub client_ip: String,
    pub user_agent: String,
    /// The line the session logged in from (closed route only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
}

/// A mailed link, stored by the hash of its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRecord {
    pub hash: String,
    pub purpose: String,
    /// The user the link is for.
    pub user_id: String,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// Data a multi-step flow keeps between its steps (e.g. the new
    /// password's hash while the confirmation page is shown).
    #[serde(default)]
    pub staged: Option<String>,
}

impl TicketRecord {
    pub fn purpose(&self) -> Option<TicketPurpose> {
        TicketPurpose::parse(&self.purpose)
    }
}

/// A session with what a request needs to decide: its user and tenant,
/// read together in one store call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub session: SessionRecord,
    pub user: User,
    pub tenant: Tenant,
}

/// A change of login method (see [`Store::change_method`]).
#[derive(Debug, Clone)]
pub struct MethodChange {
    pub user_id: String,
    pub method: LoginMethod,
    pub password_hash: Option<String>,
    pub reset_two_step: bool,
    /// The method-change ticket's hash, when the change came by link.
    pub ticket_hash: Option<String>,
    /// The provider account, for a federated method.
    pub identity: Option<FederatedIdentity>,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// The store could not answer (down, slow, I/O): the caller fails closed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The address is already someone's login ID.
    #[error("email already in use")]
    EmailTaken,
    /// A record the operation needs does not exist.
    #[error("not found")]
    NotFound,
    /// The ticket is unknown, used, expired or of another purpose.
    #[error("ticket not valid")]
    TicketInvalid,
    /// The provider account is already some user's (S37).
    #[error("identity already bound")]
    IdentityTaken,
    /// The record changed since it was read (e.g. a two-step set-up whose
    /// registration was reset meanwhile).
    #[error("changed meanwhile")]
    Stale,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything a store keeps, for `sekisho admin export` and `import`:
/// backups, and moving between the embedded store and Redis. It holds the
/// store's secrets and every account, so it is kept like the store itself.
/// Short-lived counters (SMS sends per hour) are not carried.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dump {
    /// The dump's own format version.
    pub format: u32,
    /// Secrets by name (hex): the CSRF key, the authenticator seed key, …
    pub secrets: Vec<(String, String)>,
    pub tenants: Vec<Tenant>,
    /// In creation order.
    pub users: Vec<User>,
    pub sessions: Vec<SessionRecord>,
    pub tickets: Vec<TicketRecord>,
    pub pending: Vec<PendingLogin>,
    pub trusted: Vec<TrustedBrowser>,
    /// Consecutive failures by identifier (login IDs and two-step codes).
    pub failures: Vec<(String, u32)>,
    /// Every user's passkeys.
    #[serde(default)]
    pub passkeys: Vec<PasskeyRecord>,
}

pub const DUMP_FORMAT: u32 = 1;

impl Dump {
    /// The same records in one order, to compare two dumps.
    pub fn sorted(mut self) -> Dump {
        self.secrets.sort();
        self.tenants.sort_by(|a, b| a.id.cmp(&b.id));
        self.sessions.sort_by(|a, b| a.id_hash.cmp(&b.id_hash));
        self.tickets.sort_by(|a, b| a.hash.cmp(&b.hash));
        self.pending.sort_by(|a, b| a.id_hash.cmp(&b.id_hash));
        self.trusted.sort_by(|a, b| a.id_hash.cmp(&b.id_hash));
        self.failures.sort();
        self.passkeys
            .sort_by(|a, b| a.credential_id.cmp(&b.credential_id));
        self
    }
}

/// A change another gateway's session cache must see: what it names is
/// dropped from the cache (see [`Store::changes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A session ended (logout, rotation, revocation, purge).
    Session(String),
    /// A user changed or was removed: their sessions are read again.
    User(String),
    /// A tenant's settings changed (route, lines, plan, two-step, AD).
    Tenant(String),
    /// Notices may have been missed (the store was unreachable).
    Everything,
}

impl Change {
    /// The wire form on the store's channel.
    pub fn encode(&self) -> String {
        match self {
            Change::Session(h) => format!("s:{h}"),
            Change::User(u) => format!("u:{u}"),
            Change::Tenant(t) => format!("t:{t}"),
            Change::Everything => "*".into(),
        }
    }

    pub fn decode(text: &str) -> Option<Change> {
        match text.split_once(':') {
            Some(("s", h)) => Some(Change::Session(h.into())),
            Some(("u", u)) => Some(Change::User(u.into())),
            Some(("t", t)) => Some(Change::Tenant(t.into())),
            _ if text == "*" => Some(Change::Everything),
            _ => None,
        }
    }
}

/// The failure counter of a user's wrong two-step codes (S24). The unit
/// separator keeps it apart from every typed login identifier, which
/// never holds control characters.
pub fn code_counter(user_id: &str) -> String {
    format!("\u{1f}two-step:{user_id}")
}

/// Everything Sekisho keeps. Every method is one atomic step: a flow that
/// changes several records does so through one call, so nothing is ever
/// half-written.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip, for readiness.
    async fn ping(&self) -> StoreResult<()>;

    /// Changes made through any gateway sharing the store, pushed as they
    /// happen, for the local session cache. `None` when the store pushes
    /// nothing (the embedded store: the cache's time-to-live bounds it).
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        None
    }

    /// Receives the other gateways' change notices for as long as the
    /// process runs (reconnecting as needed), feeding [`Store::changes`].
    /// Returns at once for a store that pushes nothing.
    async fn follow_changes(&self) {}

    /// Returns the secret named `name`, creating it from `fresh` if absent;
    /// every gateway sharing the store gets the same value.
    async fn secret(&self, name: &str, fresh: Vec<u8>) -> StoreResult<Vec<u8>>;

    /// Creates a tenant, its contract holder (status invited) and the
    /// holder's invitation ticket. `EmailTaken` leaves nothing behind.
    async fn create_tenant_with_holder(
        &self,
        tenant: Tenant,
        holder: User,
        invitation: TicketRecord,
    ) -> StoreResult<()>;

    async fn get_tenant(&self, id: &str) -> StoreResult<Option<Tenant>>;
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;

    async fn get_user(&self, id: &str) -> StoreResult<Option<User>>;
    /// Looks a user up by canonical email.
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    /// A tenant's users, or everyone's when `tenant_id` is `None`.
    async fn list_users(&self, tenant_id: Option<&str>) -> StoreResult<Vec<User>>;

    /// Replaces every unused ticket of `purpose` for the ticket's user with
    /// this one: only the newest link works.
    async fn replace_ticket(&self, ticket: TicketRecord) -> StoreResult<()>;
    /// Reads a ticket without using it; `None` when unknown, used or expired.
    async fn peek_ticket(
        &self,
        hash: &str,
        purpose: TicketPurpose,
        now: UnixTime,
    ) -> StoreResult<Option<TicketRecord>>;
    /// Keeps `staged` with a live ticket between a flow's steps.
    async fn stage_ticket(
        &self,
        hash: &str,
        purpose: TicketPurpose,
        staged: &str,
        now: UnixTime,
    ) -> StoreResult<()>;

    /// Issues `ticket`, replacing older ones of its purpose for its user,
    /// unless one was issued less than `interval` seconds before it; `true`
    /// when issued. Bounds security mail to one per window (S13).
    async fn issue_ticket_unless_recent(
        &self,
        ticket: TicketRecord,
        interval: i64,
    ) -> StoreResult<bool>;

    /// Counts a password attempt for `identifier` before it is checked:
    /// `Checked(n)` for the n-th attempt in a row, or `Locked` once
    /// `rule.threshold` were made — then nothing is counted or checked
    /// (S11). A run short of the threshold and quiet for
    /// `rule.forget_after` starts again (S51).
    async fn admit_attempt(
        &self,
        identifier: &str,
        rule: AttemptRule,
        now: UnixTime,
    ) -> StoreResult<Admission>;
    /// Removes the runs `rule` has forgotten by `now`, so a spray of
    /// unknown identifiers leaves nothing behind (S51); how many went.
    /// Stores whose records expire by themselves remove none here.
    async fn forget_quiet_failures(&self, rule: AttemptRule, now: UnixTime) -> StoreResult<u64>;
    /// Forgets the attempts of `identifier` (after a correct password).
    async fn clear_failures(&self, identifier: &str) -> StoreResult<()>;
    /// Marks the user locked and issues the unlock ticket, in one step.
    async fn lock_user(&self, user_id: &str, unlock: TicketRecord) -> StoreResult<()>;
    /// Uses a live unlock ticket and unlocks its user (flag and counter).
    async fn unlock_with_ticket(&self, hash: &str, now: UnixTime) -> StoreResult<User>;
    /// Changes a user's role (the console); `NotFound` when there is none.
    async fn set_role(&self, user_id: &str, role: Role) -> StoreResult<User>;
    /// Resets a user's two-step registration (the console): a new
    /// generation, so remembered browsers and half-finished logins end with
    /// it, in one step.
    async fn reset_two_step(&self, user_id: &str) -> StoreResult<User>;
    /// Unlocks a user without a ticket (the admin command).
    async fn unlock_user(&self, user_id: &str) -> StoreResult<User>;
    /// Uses a live reset ticket: sets the new password hash, unlocks, resets
    /// the two-step registration and ends every session of the user,
    /// in one step. Returns the user and the ended sessions' hashes.
    async fn complete_reset(
        &self,
        hash: &str,
        password_hash: &str,
        now: UnixTime,
    ) -> StoreResult<(User, Vec<String>)>;

    /// Creates an invited user with their invitation ticket.
    /// `EmailTaken` leaves nothing behind.
    async fn create_invited_user(&self, user: User, invitation: TicketRecord) -> StoreResult<()>;
    /// Removes a user with everything of theirs; returns the ended sessions.
    async fn remove_user(&self, user_id: &str) -> StoreResult<Vec<String>>;
    /// Changes a tenant's plan.
    async fn set_plan(&self, tenant_id: &str, plan: Plan) -> StoreResult<Tenant>;

    /// Sets a new password hash and ends every session of the user but
    /// `keep` (the one that made the change). Returns the ended sessions.
    async fn change_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep: Option<&str>,
    ) -> StoreResult<Vec<String>>;
    /// The user's live sessions, newest first.
    async fn list_user_sessions(&self, user_id: &str) -> StoreResult<Vec<SessionRecord>>;

    /// Issues an email-change or method-change link, voiding any pending
    /// link of either kind for the user: never both at once (§2-2 注意).
    async fn issue_change_link(&self, ticket: TicketRecord) -> StoreResult<()>;
    /// Uses a live email-change ticket (the new address staged on it): the
    /// login ID changes, the password is set again when given, the two-step
    /// registration is reset and every session ends. Returns the
    /// user, the old address and the ended sessions. `EmailTaken` when the
    /// address was taken meanwhile.
    async fn complete_email_change(
        &self,
        hash: &str,
        password_hash: Option<String>,
        now: UnixTime,
    ) -> StoreResult<(User, String, Vec<String>)>;
    /// Changes the login method (with a new password hash for `password`),
    /// using the method-change ticket when the change came by link, and
    /// ends every session. `reset_two_step` resets the two-step registration
    /// reset (the contract holder's change).
    async fn change_method(
        &self,
        change: MethodChange,
        now: UnixTime,
    ) -> StoreResult<(User, Vec<String>)>;

    /// Uses a live invitation ticket and, in the same step, activates its
    /// user with the password hash staged on it.
    async fn complete_registration(&self, ticket_hash: &str, now: UnixTime) -> StoreResult<User>;

    /// Saves a new session and notes the login on its user, in one step.
    async fn create_session(&self, session: SessionRecord) -> StoreResult<()>;
    /// Replaces one session by another in one step (a new id at login,
    /// SECURITY S29): the old id no longer exists afterwards.
    async fn rotate_session(&self, old_hash: &str, new: SessionRecord) -> StoreResult<()>;
    async fn session_view(&self, id_hash: &str) -> StoreResult<Option<SessionView>>;
    /// Moves the last-seen time of many sessions forward (never back), in
    /// one step: browsing costs one write per flush, not one per session.
    async fn touch_sessions(&self, touches: Vec<(String, UnixTime)>) -> StoreResult<()>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
    /// Ends every session of a user; returns the hashes removed, so local
    /// caches can forget them too.
    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<Vec<String>>;

    /// Sets a tenant's access route (§4-1).
    async fn set_access_route(&self, tenant_id: &str, route: AccessRoute) -> StoreResult<Tenant>;
    /// Sets a tenant's access route and its registered lines together (the
    /// console's 回線認証 page, §4-2).
    async fn save_line_settings(
        &self,
        tenant_id: &str,
        route: AccessRoute,
        lines: Vec<String>,
    ) -> StoreResult<Tenant>;
    /// Records the 回線情報通知設定 consent of a West line.
    async fn consent_line(&self, tenant_id: &str, line: &str) -> StoreResult<Tenant>;

    /// Sets the tenant's Active Directory connection. `Stale` when its
    /// connection ID is another tenant's, or differs from the one the
    /// tenant already has (a connection ID never changes once mailed).
    async fn save_ad_connection(
        &self,
        tenant_id: &str,
        connection: AdConnection,
    ) -> StoreResult<Tenant>;
    /// The tenant whose Active Directory connection has this ID.
    async fn find_tenant_by_connection(&self, connection_id: &str) -> StoreResult<Option<Tenant>>;

    /// Stores a single-use record of a flow in progress (a sign-in at a
    /// provider): a ticket that is never mailed.
    async fn put_ticket(&self, ticket: TicketRecord) -> StoreResult<()>;
    /// Removes and returns a live ticket of `purpose`: only one request
    /// can use it.
    async fn take_ticket(
        &self,
        hash: &str,
        purpose: TicketPurpose,
        now: UnixTime,
    ) -> StoreResult<Option<TicketRecord>>;
    /// The user bound to a provider account.
    async fn find_user_by_identity(&self, issuer: &str, subject: &str)
        -> StoreResult<Option<User>>;
    /// Uses a live invitation ticket and activates its user with a
    /// provider account as login method, in one step. `IdentityTaken` when
    /// the account is another user's.
    async fn complete_federated_registration(
        &self,
        ticket_hash: &str,
        method: LoginMethod,
        identity: FederatedIdentity,
        now: UnixTime,
    ) -> StoreResult<User>;

    /// Switches two-step verification for a tenant (§5-1).
    async fn set_two_step_enabled(&self, tenant_id: &str, enabled: bool) -> StoreResult<Tenant>;
    /// Switches the tenant's requirement of passkeys (パスキー設定).
    async fn set_passkeys_required(&self, tenant_id: &str, required: bool) -> StoreResult<Tenant>;

    /// Saves a pending login, replacing the one with its id.
    async fn put_pending(&self, pending: PendingLogin) -> StoreResult<()>;
    /// A live pending login.
    async fn get_pending(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<PendingLogin>>;
    /// Removes and returns a live pending login: only one request can
    /// finish it.
    async fn take_pending(&self, id_hash: &str, now: UnixTime)
        -> StoreResult<Option<PendingLogin>>;
    /// Uses the pending login's SMS code if `code_hash` is it and it is
    /// still valid; returns the number it was sent to (S25).
    async fn consume_sms_code(
        &self,
        id_hash: &str,
        code_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<String>>;
    /// Saves a new registration, unless the user's generation moved past
    /// `generation` meanwhile (`Stale`).
    async fn register_two_step(
        &self,
        user_id: &str,
        generation: u32,
        registration: TwoStepRegistration,
    ) -> StoreResult<()>;
    /// Replaces the user's stored authenticator seed `from` with `to` (a
    /// seed kept in clear, sealed); `false`, changing nothing, when the
    /// stored seed is no longer `from`.
    async fn replace_totp_secret(&self, user_id: &str, from: &str, to: &str) -> StoreResult<bool>;
    /// Records `step` as the user's newest accepted TOTP step if it is newer
    /// than the last; `false` when it was used already or is older (S23).
    async fn accept_totp_step(&self, user_id: &str, step: u64) -> StoreResult<bool>;
    /// If `recovery_hash` is the pending login's user's recovery code: resets
    /// the registration and removes and returns the pending login, in one
    /// step (S27).
    async fn use_recovery_code(
        &self,
        pending_hash: &str,
        recovery_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<PendingLogin>>;

    async fn add_trusted_browser(&self, browser: TrustedBrowser) -> StoreResult<()>;
    /// Whether the browser is trusted for this user and generation, and
    /// used within `window` seconds; when it is, its window slides to now.
    async fn use_trusted_browser(
        &self,
        id_hash: &str,
        user_id: &str,
        generation: u32,
        window: i64,
        now: UnixTime,
    ) -> StoreResult<bool>;
    async fn list_trusted_browsers(&self, user_id: &str) -> StoreResult<Vec<TrustedBrowser>>;
    /// Forgets one of the user's trusted browsers by its public id.
    async fn revoke_trusted_browser(&self, user_id: &str, id: &str) -> StoreResult<bool>;
    /// Forgets every trusted browser of the user; returns how many.
    async fn revoke_trusted_browsers(&self, user_id: &str) -> StoreResult<u64>;

    /// Registers a passkey. `IdentityTaken` when its credential id is
    /// registered already (to anyone), and nothing is written.
    async fn add_passkey(&self, passkey: PasskeyRecord) -> StoreResult<()>;
    /// The user's passkeys, oldest first.
    async fn list_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>>;
    /// The passkey with this credential id, whoever holds it.
    async fn find_passkey(&self, credential_id: &str) -> StoreResult<Option<PasskeyRecord>>;
    /// Records a use of the user's passkey: its counter, flags and time.
    /// `false` when it is gone (removed meanwhile) or is not theirs.
    async fn use_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        used: PasskeyUse,
    ) -> StoreResult<bool>;
    /// Renames one of the user's passkeys; `false` when it is not theirs.
    async fn rename_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        name: &str,
    ) -> StoreResult<bool>;
    /// Removes one of the user's passkeys: the removed record, or `None`
    /// when it is not theirs.
    async fn remove_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
    ) -> StoreResult<Option<PasskeyRecord>>;
    /// Removes every passkey of the user; returns how many.
    async fn remove_passkeys(&self, user_id: &str) -> StoreResult<u64>;

    /// Counts one event under `key` in a fixed window of `window` seconds
    /// and returns the count so far in the window, this one included.
    async fn count_event(&self, key: &str, window: i64, now: UnixTime) -> StoreResult<u32>;

    /// Removes expired sessions, tickets, pending logins, trusted browsers
    /// and counters; returns how many went.
    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64>;

    /// Keeps an audit event of a tenant (one without a tenant is not
    /// kept); the store gives it its `seq`.
    async fn record_audit(&self, record: AuditRecord) -> StoreResult<()>;

    /// A tenant's audit events, newest first: at most `limit`, older than
    /// `before` (a `seq`) when given.
    async fn recent_audit(
        &self,
        tenant_id: &str,
        before: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<AuditRecord>>;

    /// Everything, for a backup or a move to another backend.
    async fn export(&self) -> StoreResult<Dump>;
    /// Loads a dump into an empty store: `Stale` when it holds tenants or
    /// users already, and nothing is written.
    async fn import(&self, dump: Dump) -> StoreResult<()>;
}

pub type SharedStore = Arc<dyn Store>;
