//! Two-step verification: registrations, pending logins, remembered
//! browsers.

use crate::{StoreResult, User};
use sekisho_policy::model::Route;
use sekisho_policy::UnixTime;
use serde::{Deserialize, Serialize};

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

store_part! {
    ($)
    /// The second step: registrations, logins waiting for it, SMS codes, TOTP
    /// steps, recovery codes and remembered browsers.
    pub trait TwoStepStore {
        own TwoStepOwn;
        forward forward_two_step_store;
        steps {
            /// Resets a user's two-step registration (the console): a new
            /// generation, so remembered browsers and half-finished logins end with
            /// it, in one step.
            async fn reset_two_step(&self, user_id: &str) -> StoreResult<User>;
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
            /// Forgets every trusted browser of the user; returns how many.
            async fn revoke_trusted_browsers(&self, user_id: &str) -> StoreResult<u64>;
        }
        own {
            /// Saves a pending login, replacing the one with its id.
            async fn put_pending(&self, pending: PendingLogin) -> StoreResult<()>;
            /// A live pending login.
            async fn get_pending(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<PendingLogin>>;
            async fn add_trusted_browser(&self, browser: TrustedBrowser) -> StoreResult<()>;
            async fn list_trusted_browsers(&self, user_id: &str) -> StoreResult<Vec<TrustedBrowser>>;
            /// Forgets one of the user's trusted browsers by its public id.
            async fn revoke_trusted_browser(&self, user_id: &str, id: &str) -> StoreResult<bool>;
        }
    }
}
