//! Accounts: users, their provider accounts, and the account steps.

use crate::{StoreResult, TicketRecord, TwoStepRegistration};
use sekisho_policy::model::{LoginMethod, Role, UserStatus};
use sekisho_policy::UnixTime;
use serde::{Deserialize, Serialize};

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
    /// The password hash a login found on the operator's breach list
    /// (S64): while it is still the user's hash, the user is asked to
    /// change it. Any new password ends the notice by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breached_password: Option<String>,
    /// Browsers the user has signed in from (S63), newest last, at most
    /// `new_device.browsers_kept`: a sign-in from another is mailed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_browsers: Vec<KnownBrowser>,
    /// Locked by its user's 「心当たりがない場合」 (S63): only a password
    /// reset (or the operator) lifts it, never the unlock link.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub locked_down: bool,
    /// What the tenant's directory says of this user, once SCIM created or
    /// changed them (S65): the directory then owns their name, address,
    /// role and whether they may sign in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<Provisioning>,
}

impl User {
    /// False while the tenant's directory has deactivated the user
    /// (`active: false` over SCIM): no sign-in, no session (S65).
    pub fn active(&self) -> bool {
        self.provisioning.as_ref().is_none_or(|p| p.active)
    }

    /// True while the user's password is the one a login found breached.
    pub fn password_breached(&self) -> bool {
        self.breached_password.is_some() && self.breached_password == self.password_hash
    }
}

/// A user as the tenant's directory knows them (SCIM, RFC 7643 §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provisioning {
    /// The directory's own id for the user (`externalId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `userName`: often a UPN that differs from the mail address.
    pub user_name: String,
    pub active: bool,
    /// The name of the token whose client last changed the user.
    pub by: String,
    /// The parts of the name and the address's label as the directory sent
    /// them, so that it reads back what it wrote (RFC 7644 §3.5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_primary: Option<bool>,
}

/// What a directory sets on a user (see [`AccountStore::apply_directory`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryChange {
    pub name: String,
    /// The login ID, canonical; a change ends the user's sessions.
    pub email: String,
    /// `None` leaves the role as it is.
    pub role: Option<Role>,
    pub provisioning: Provisioning,
}

/// A browser a user has signed in from: the hash of its device cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownBrowser {
    pub id_hash: String,
    pub first_seen: UnixTime,
    pub last_seen: UnixTime,
}

/// A sign-in's browser to note (see [`AccountStore::note_browser`]): the
/// browser, how many a user keeps, and the "this wasn't me" ticket kept
/// only when the browser is new.
#[derive(Debug, Clone)]
pub struct BrowserNote {
    pub browser: KnownBrowser,
    pub kept: u32,
    pub not_me: TicketRecord,
}

/// What a sign-in's browser was to its user (see
/// [`AccountStore::note_browser`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserSeen {
    /// Signed in from before.
    Known,
    /// The account's first browser ever (its registration's, or the first
    /// after an upgrade): nothing to compare with, so nothing is mailed.
    First,
    /// Another browser: the "this wasn't me" ticket was kept, to be mailed.
    New,
}

/// A provider account: issuer and subject, the only pair that identifies
/// a person at a provider (never the email, S37).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederatedIdentity {
    pub issuer: String,
    pub subject: String,
}

/// A change of login method (see [`AccountStore::change_method`]).
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

store_part! {
    ($)
    /// The people who sign in, and the steps that change them: lock and
    /// unlock, reset, password, email and method changes, registration. A
    /// step that also uses a ticket or ends sessions does so in the same
    /// transaction.
    pub trait AccountStore {
        own AccountOwn;
        forward forward_account_store;
        steps {
            /// Marks the user locked and issues the unlock ticket, in one step.
            async fn lock_user(&self, user_id: &str, unlock: TicketRecord) -> StoreResult<()>;
            /// Uses a live unlock ticket and unlocks its user (flag and counter).
            async fn unlock_with_ticket(&self, hash: &str, now: UnixTime) -> StoreResult<User>;
            /// Marks the user's password breached while `password_hash` is
            /// still theirs (S64).
            async fn mark_password_breached(&self, user_id: &str, password_hash: &str) -> StoreResult<()>;
            /// Notes the browser a sign-in came from (S63): remembered, the
            /// oldest past `kept` forgotten, and for a new one the "this
            /// wasn't me" ticket kept, in one step.
            async fn note_browser(
                &self,
                user_id: &str,
                browser: KnownBrowser,
                kept: u32,
                not_me: TicketRecord,
            ) -> StoreResult<BrowserSeen>;
            /// Uses a live "this wasn't me" ticket and locks its user down
            /// (S63): locked until a reset, every session, remembered
            /// browser, known browser, pending login and mailed link ended,
            /// and `reset` kept as the one live link. Returns the user and
            /// the ended sessions.
            async fn lock_down(
                &self,
                ticket_hash: &str,
                reset: TicketRecord,
                now: UnixTime,
            ) -> StoreResult<(User, Vec<String>)>;
            /// Changes a user's role (the console); `NotFound` when there is none.
            async fn set_role(&self, user_id: &str, role: Role) -> StoreResult<User>;
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
            /// Sets what the tenant's directory owns of a user (SCIM, S65): name,
            /// address, role, and whether they may sign in. A deactivation or a
            /// new address ends every session and pending login in the same
            /// step. `NotFound` for a contract holder, whom no directory
            /// changes; `EmailTaken` when the address is someone else's.
            async fn apply_directory(
                &self,
                user_id: &str,
                change: DirectoryChange,
            ) -> StoreResult<(User, Vec<String>)>;
            /// Removes a user with everything of theirs; returns the ended sessions.
            async fn remove_user(&self, user_id: &str) -> StoreResult<Vec<String>>;
            /// Sets a new password hash and ends every session of the user but
            /// `keep` (the one that made the change). Returns the ended sessions.
            async fn change_password(
                &self,
                user_id: &str,
                password_hash: &str,
                keep: Option<&str>,
            ) -> StoreResult<Vec<String>>;
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
        }
        own {
            async fn get_user(&self, id: &str) -> StoreResult<Option<User>>;
            /// Looks a user up by canonical email.
            async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
            /// A tenant's users, or everyone's when `tenant_id` is `None`.
            async fn list_users(&self, tenant_id: Option<&str>) -> StoreResult<Vec<User>>;
            /// The user bound to a provider account.
            async fn find_user_by_identity(&self, issuer: &str, subject: &str)
                -> StoreResult<Option<User>>;
        }
    }
}
