//! The store: one trait with the operations the flows need, each with the
//! atomicity it needs, and the records it keeps. Two backends are planned
//! (the embedded single file here, Redis later); both must pass
//! [`conformance`].
//!
//! Records are plain serde structs; backends keep them as JSON next to the
//! few columns they index, so a later field is a `#[serde(default)]`, not a
//! migration.

pub mod conformance;
pub mod sqlite;

use async_trait::async_trait;
use sekisho_policy::lock::Admission;
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
    /// 2段階認証: on by default.
    #[serde(default = "yes")]
    pub two_step_enabled: bool,
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
    /// Set by a password reset (and later email and method changes): the
    /// user registers two-step verification again at the next login.
    #[serde(default)]
    pub two_step_reset_pending: bool,
}

/// A signed-in browser. Keyed by the hash of its cookie value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
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
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything Sekisho keeps. Every method is one atomic step: a flow that
/// changes several records does so through one call, so nothing is ever
/// half-written.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip, for readiness.
    async fn ping(&self) -> StoreResult<()>;

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
    /// `threshold` were made — then nothing is counted or checked (S11).
    async fn admit_attempt(
        &self,
        identifier: &str,
        threshold: u32,
        now: UnixTime,
    ) -> StoreResult<Admission>;
    /// Forgets the attempts of `identifier` (after a correct password).
    async fn clear_failures(&self, identifier: &str) -> StoreResult<()>;
    /// Marks the user locked and issues the unlock ticket, in one step.
    async fn lock_user(&self, user_id: &str, unlock: TicketRecord) -> StoreResult<()>;
    /// Uses a live unlock ticket and unlocks its user (flag and counter).
    async fn unlock_with_ticket(&self, hash: &str, now: UnixTime) -> StoreResult<User>;
    /// Unlocks a user without a ticket (the admin command).
    async fn unlock_user(&self, user_id: &str) -> StoreResult<User>;
    /// Uses a live reset ticket: sets the new password hash, unlocks, marks
    /// two-step registration for reset and ends every session of the user,
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
    /// login ID changes, the password is set again when given, two-step
    /// registration is marked for reset and every session ends. Returns the
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
    /// ends every session. `reset_two_step` marks two-step registration for
    /// reset (the contract holder's change).
    async fn change_method(
        &self,
        change: MethodChange,
        now: UnixTime,
    ) -> StoreResult<(User, Vec<String>)>;

    /// Uses a live invitation ticket and, in the same step, activates its
    /// user with the password hash staged on it.
    async fn complete_registration(&self, ticket_hash: &str, now: UnixTime) -> StoreResult<User>;

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

    /// Removes expired sessions and tickets; returns how many went.
    async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64>;
}

pub type SharedStore = Arc<dyn Store>;
