//! Passkeys.

use crate::error::StoreResult;
use sekisho_policy::UnixTime;
use serde::{Deserialize, Serialize};

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
/// [`PasskeyStore::use_passkey`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyUse {
    pub counter: u32,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub credential: String,
    pub at: UnixTime,
}

store_part! {
    ($)
    /// Users' passkeys (WebAuthn credentials).
    pub trait PasskeyStore {
        own PasskeyOwn;
        forward forward_passkey_store;
        steps {
            /// Registers a passkey. `IdentityTaken` when its credential id is
            /// registered already (to anyone), and nothing is written.
            async fn add_passkey(&self, passkey: PasskeyRecord) -> StoreResult<()>;
            /// Removes one of the user's passkeys: the removed record, or `None`
            /// when it is not theirs.
            async fn remove_passkey(
                &self,
                user_id: &str,
                credential_id: &str,
            ) -> StoreResult<Option<PasskeyRecord>>;
            /// Removes every passkey of the user; returns how many.
            async fn remove_passkeys(&self, user_id: &str) -> StoreResult<u64>;
        }
        own {
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
        }
    }
}
