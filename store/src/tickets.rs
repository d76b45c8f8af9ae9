//! Tickets: mailed links and single-use flow records.

use crate::error::StoreResult;
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::UnixTime;
use serde::{Deserialize, Serialize};

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

store_part! {
    ($)
    /// Mailed links and single-use records of flows in progress, kept by the
    /// hash of their token.
    pub trait TicketStore {
        own TicketOwn;
        forward forward_ticket_store;
        steps {
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
            /// Issues an email-change or method-change link, voiding any pending
            /// link of either kind for the user: never both at once (§2-2 注意).
            async fn issue_change_link(&self, ticket: TicketRecord) -> StoreResult<()>;
            /// Removes and returns a live ticket of `purpose`: only one request
            /// can use it.
            async fn take_ticket(
                &self,
                hash: &str,
                purpose: TicketPurpose,
                now: UnixTime,
            ) -> StoreResult<Option<TicketRecord>>;
        }
        own {
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
            /// Stores a single-use record of a flow in progress (a sign-in at a
            /// provider): a ticket that is never mailed.
            async fn put_ticket(&self, ticket: TicketRecord) -> StoreResult<()>;
        }
    }
}
