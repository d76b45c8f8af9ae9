//! The audit trail kept for tenants' consoles.

use crate::error::StoreResult;
use sekisho_policy::UnixTime;
use serde::{Deserialize, Serialize};

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

store_part! {
    ($)
    /// The tenants' audit events, for the console's 監査ログ.
    pub trait AuditStore {
        own AuditOwn;
        forward forward_audit_store;
        steps {

        }
        own {
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
        }
    }
}
