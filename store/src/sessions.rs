//! Sessions, and the change notices that keep every gateway's session
//! cache true.

use crate::{BrowserNote, BrowserSeen, StoreResult, Tenant, User};
use async_trait::async_trait;
use sekisho_policy::model::{LoginMethod, Route};
use sekisho_policy::UnixTime;
use serde::{Deserialize, Serialize};

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
    /// The browser's key this session is bound to (DBSC, S62).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<SessionBinding>,
}

/// A session's binding to a browser's key (DBSC, S62): set once, by the
/// browser's registration; ended with the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionBinding {
    /// The identifier the browser names the bound session by
    /// (`Sec-Secure-Session-Id`): random, never the cookie's hash.
    pub id: String,
    /// The browser's P-256 public key, as its JWK's `x` and `y`
    /// (base64url).
    pub x: String,
    pub y: String,
    pub bound_at: UnixTime,
    /// Refreshes so far. A refresh challenge names the count it was issued
    /// at, and a refresh moves the count on, so each challenge is used
    /// once (on every gateway sharing the store).
    pub refreshes: u64,
}

/// A session with what a request needs to decide: its user and tenant,
/// read together in one store call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub session: SessionRecord,
    pub user: User,
    pub tenant: Tenant,
}

/// A change another gateway's session cache must see: what it names is
/// dropped from the cache (see [`ChangeNotices::changes`]).
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

store_part! {
    ($)
    /// Signed-in browsers: what the proxy reads on a request (through the
    /// gateway's session cache), and what logins, logouts and revocations
    /// write.
    pub trait SessionStore {
        own SessionOwn;
        forward forward_session_store;
        steps {
            /// Saves a new session and notes the login on its user, in one step.
            async fn create_session(&self, session: SessionRecord) -> StoreResult<()>;
            /// Replaces one session by another in one step (a new id at login,
            /// SECURITY S29): the old id no longer exists afterwards.
            async fn rotate_session(&self, old_hash: &str, new: SessionRecord) -> StoreResult<()>;
            async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
            /// A sign-in's session (replacing `replacing`, S29) and its
            /// browser noted on the user (S63), in one transaction: a
            /// sign-in costs one commit, not two.
            async fn start_session_noting(
                &self,
                session: SessionRecord,
                replacing: Option<&str>,
                note: BrowserNote,
            ) -> StoreResult<BrowserSeen>;
            /// Binds a live, unbound session to a browser's key (S62);
            /// `false` when the session is gone or bound already: a
            /// registration counts once.
            async fn bind_session(&self, id_hash: &str, binding: SessionBinding) -> StoreResult<bool>;
            /// Moves a bound session's refresh count on from `refreshes`;
            /// `false` when the session, its binding or the count is not
            /// that one any more (the challenge was used, S62).
            async fn advance_binding(
                &self,
                id_hash: &str,
                binding_id: &str,
                refreshes: u64,
            ) -> StoreResult<bool>;
        }
        own {
            /// The user's live sessions, newest first.
            async fn list_user_sessions(&self, user_id: &str) -> StoreResult<Vec<SessionRecord>>;
            async fn session_view(&self, id_hash: &str) -> StoreResult<Option<SessionView>>;
            /// Moves the last-seen time of many sessions forward (never back), in
            /// one step: browsing costs one write per flush, not one per session.
            async fn touch_sessions(&self, touches: Vec<(String, UnixTime)>) -> StoreResult<()>;
            /// Ends every session of a user; returns the hashes removed, so local
            /// caches can forget them too.
            async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<Vec<String>>;
        }
    }
}

/// Changes made through other gateways sharing the store, pushed to this
/// one's session cache. A store that pushes nothing keeps the defaults.
#[async_trait]
pub trait ChangeNotices: Send + Sync + 'static {
    /// Changes made through any gateway sharing the store, pushed as they
    /// happen, for the local session cache. `None` when the store pushes
    /// nothing (the embedded store: the cache's time-to-live bounds it).
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        None
    }

    /// Receives the other gateways' change notices for as long as the
    /// process runs (reconnecting as needed), feeding [`ChangeNotices::changes`].
    /// Returns at once for a store that pushes nothing.
    async fn follow_changes(&self) {}
}

/// An observed store's notices are its inner store's: they are not calls
/// to time, so they pass straight through.
#[async_trait]
impl<S: ChangeNotices + ?Sized> ChangeNotices for crate::observed::Observed<S> {
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        self.inner.changes()
    }

    async fn follow_changes(&self) {
        self.inner.follow_changes().await
    }
}
