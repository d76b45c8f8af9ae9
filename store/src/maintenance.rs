//! Readiness, expiry, and moving a store's contents (export, import).

use crate::{
    PasskeyRecord, PendingLogin, SessionRecord, StoreResult, Tenant, TicketRecord, TrustedBrowser,
    User,
};
use sekisho_policy::UnixTime;
use serde::{Deserialize, Serialize};

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

store_part! {
    ($)
    /// What readiness and the operator's commands need: a ping, the expiry
    /// purge, export and import.
    pub trait MaintenanceStore {
        own MaintenanceOwn;
        forward forward_maintenance_store;
        steps {

        }
        own {
            /// Cheap round trip, for readiness.
            async fn ping(&self) -> StoreResult<()>;
            /// Removes expired sessions, tickets, pending logins, trusted browsers
            /// and counters; returns how many went.
            async fn purge_expired(&self, now: UnixTime) -> StoreResult<u64>;
            /// Everything, for a backup or a move to another backend.
            async fn export(&self) -> StoreResult<Dump>;
            /// Loads a dump into an empty store: `Stale` when it holds tenants or
            /// users already, and nothing is written.
            async fn import(&self, dump: Dump) -> StoreResult<()>;
        }
    }
}
