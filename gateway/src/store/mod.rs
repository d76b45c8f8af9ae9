//! The store, as the gateway uses it: `sekisho-store` (its records, trait,
//! domain steps and backends), and the measuring wrapper the gateway puts
//! around whichever backend runs (`measured`), which times every call for
//! the gateway's metrics and traces.

pub mod measured;

pub use sekisho_store::*;
