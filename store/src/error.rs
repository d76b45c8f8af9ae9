//! Why a store call failed, for every part and backend.

/// Why a store call failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
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
