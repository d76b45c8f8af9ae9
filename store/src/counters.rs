//! Counters: the lock's failure runs and windowed event counts.

use crate::{Admission, AttemptRule, StoreResult};
use hmac::{Hmac, Mac};
use sekisho_policy::UnixTime;
use std::sync::OnceLock;

/// The key failure counters are kept under, set once per process from a
/// secret kept outside the store (the gateway's seed key).
static COUNTER_KEY: OnceLock<[u8; 32]> = OnceLock::new();

/// Sets the key of [`counter_key`]; the first call wins. The gateway calls
/// it before it opens a store, so that every backend keys alike.
pub fn set_counter_key(key: [u8; 32]) {
    let _ = COUNTER_KEY.set(key);
}

/// The key a failure counter is stored under: a keyed hash of the login
/// identifier, never the address itself (S58). A copy of the store tells
/// no one which addresses were tried.
pub fn counter_key(identifier: &str) -> String {
    let key = COUNTER_KEY.get().copied().unwrap_or([0; 32]);
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).expect("any key length");
    mac.update(identifier.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The most failure counters kept: past it the purge removes the oldest
/// (S58), so a spray of guessed addresses cannot grow the store.
pub const FAILURES_KEPT: u64 = 100_000;

/// The failure counter of a user's wrong two-step codes (S24). The unit
/// separator keeps it apart from every typed login identifier, which
/// never holds control characters.
pub fn code_counter(user_id: &str) -> String {
    format!("\u{1f}two-step:{user_id}")
}

store_part! {
    ($)
    /// Counters: the lock's runs of consecutive failures (S11, S24, S51) and
    /// fixed-window event counts (SMS sends). The lock depends on this part
    /// alone.
    pub trait CounterStore {
        own CounterOwn;
        forward forward_counter_store;
        steps {

        }
        own {
            /// Counts a password attempt for `identifier` before it is checked:
            /// `Checked(n)` for the n-th attempt in a row, or `Locked` once
            /// `rule.threshold` were made — then nothing is counted or checked
            /// (S11). A run short of the threshold and quiet for
            /// `rule.forget_after` starts again (S51).
            async fn admit_attempt(
                &self,
                identifier: &str,
                rule: AttemptRule,
                now: UnixTime,
            ) -> StoreResult<Admission>;
            /// Removes the runs `rule` has forgotten by `now`, so a spray of
            /// unknown identifiers leaves nothing behind (S51), and then the
            /// oldest runs beyond `kept` (S58); how many went.
            async fn forget_quiet_failures(
                &self,
                rule: AttemptRule,
                now: UnixTime,
                kept: u64,
            ) -> StoreResult<u64>;
            /// Forgets the attempts of `identifier` (after a correct password).
            async fn clear_failures(&self, identifier: &str) -> StoreResult<()>;
            /// Counts one event under `key` in a fixed window of `window` seconds
            /// and returns the count so far in the window, this one included.
            async fn count_event(&self, key: &str, window: i64, now: UnixTime) -> StoreResult<u32>;
        }
    }
}
