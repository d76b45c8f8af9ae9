//! `sekisho-store`: what Sekisho keeps, split by concept as the flows use
//! it: accounts, tenants, sessions (and the change notices that keep every
//! gateway's session cache true), tickets, two-step, passkeys, counters,
//! secrets, audit and maintenance. Each part is a trait beside its records;
//! [`Store`] is all of them, as a backend implements them, and a component
//! that needs one part takes only that part.
//!
//! Every method is one atomic step. The domain steps are written once
//! (`records`) over primitives each backend implements in its own
//! transaction: SQLite (the embedded single file), Redis and PostgreSQL.
//! All three pass [`conformance`] (behind the `conformance` feature).
//!
//! Records are plain serde structs; backends keep them as JSON next to the
//! few columns they index, so a later field is a `#[serde(default)]`, not a
//! migration.

#[macro_use]
mod observed;

/// Implements every part of the store for `$backend`: each domain step
/// through its `$step!` adapter, each own method through its `<Part>Own`
/// impl. A backend names this once.
macro_rules! forward_all_parts {
    ($backend:ty, $step:ident) => {
        crate::accounts::forward_account_store!($backend, $step);
        crate::tenants::forward_tenant_store!($backend, $step);
        crate::sessions::forward_session_store!($backend, $step);
        crate::tickets::forward_ticket_store!($backend, $step);
        crate::two_step::forward_two_step_store!($backend, $step);
        crate::passkeys::forward_passkey_store!($backend, $step);
        crate::counters::forward_counter_store!($backend, $step);
        crate::secrets::forward_secret_store!($backend, $step);
        crate::audit::forward_audit_store!($backend, $step);
        crate::maintenance::forward_maintenance_store!($backend, $step);
    };
}
pub(crate) use forward_all_parts;

mod accounts;
mod audit;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod counters;
mod error;
mod maintenance;
mod pass;
mod passkeys;
pub mod postgres;
mod records;
pub mod redis;
mod secrets;
mod sessions;
pub mod sqlite;
mod tenants;
mod tickets;
mod two_step;

pub use accounts::*;
pub use audit::*;
pub use counters::*;
pub use error::{StoreError, StoreResult};
pub use maintenance::*;
pub use observed::{Observed, StoreObserver};
pub use passkeys::*;
pub use secrets::*;
pub use sekisho_policy::lock::{Admission, AttemptRule};
pub use sessions::*;
pub use tenants::*;
pub use tickets::*;
pub use two_step::*;

use std::sync::Arc;

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

/// Declares `Store` as the sum of the parts, and implements it for every
/// type that implements them all: the list is written once.
macro_rules! store_of_parts {
    ($($part:ident),+ $(,)?) => {
        /// Everything Sekisho keeps, as one backend implements it: every
        /// part of the crate. Every method is one atomic step: a flow that
        /// changes several records does so through one call, so nothing is
        /// ever half-written. A component that needs one part takes that
        /// part (the session cache a [`SessionStore`], the lock a
        /// [`CounterStore`]); `Arc<dyn Store>` converts to any of them.
        pub trait Store: $($part +)+ {}

        impl<T: $($part +)+ ?Sized> Store for T {}
    };
}

store_of_parts!(
    AccountStore,
    TenantStore,
    SessionStore,
    ChangeNotices,
    TicketStore,
    TwoStepStore,
    PasskeyStore,
    CounterStore,
    SecretStore,
    AuditStore,
    MaintenanceStore,
);

pub type SharedStore = Arc<dyn Store>;

/// `inner`, every call of every part observed by `observer` (timed, in a
/// span of its choosing).
pub fn observed(inner: SharedStore, observer: Arc<dyn StoreObserver>) -> SharedStore {
    Arc::new(Observed::new(inner, observer))
}

/// Every operation of every part, for an observer's fixed labels.
pub fn operations() -> Vec<&'static str> {
    [
        accounts::OPERATIONS,
        tenants::OPERATIONS,
        sessions::OPERATIONS,
        tickets::OPERATIONS,
        two_step::OPERATIONS,
        passkeys::OPERATIONS,
        counters::OPERATIONS,
        secrets::OPERATIONS,
        audit::OPERATIONS,
        maintenance::OPERATIONS,
    ]
    .concat()
}
