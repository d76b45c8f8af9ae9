//! Sekisho's rules and decisions, kept pure: no I/O, no async, no clock of its
//! own (callers pass `now`), so every rule is tested in microseconds and the
//! gateway, the pages and the tests share one definition of it.

pub mod ad;
pub mod binding;
pub mod client_ip;
pub mod email;
pub mod gate;
pub mod headers;
pub mod line;
pub mod lock;
pub mod menu;
pub mod model;
pub mod passkey;
pub mod password;
pub mod paths;
pub mod plan;
pub mod request;
pub mod return_path;
pub mod scim;
pub mod session;
pub mod ticket;
pub mod two_step;

/// Seconds since the Unix epoch. Every time in Sekisho is one of these, taken
/// from an injectable clock in the gateway.
pub type UnixTime = i64;

/// Length of a day in seconds, for the readability of thresholds.
pub const DAY: i64 = 24 * 60 * 60;
