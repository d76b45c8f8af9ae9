//! Counters: the lock's failure runs and windowed event counts.

use crate::{Admission, AttemptRule, StoreResult};
use sekisho_policy::UnixTime;

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
            /// unknown identifiers leaves nothing behind (S51); how many went.
            /// Stores whose records expire by themselves remove none here.
            async fn forget_quiet_failures(&self, rule: AttemptRule, now: UnixTime) -> StoreResult<u64>;
            /// Forgets the attempts of `identifier` (after a correct password).
            async fn clear_failures(&self, identifier: &str) -> StoreResult<()>;
            /// Counts one event under `key` in a fixed window of `window` seconds
            /// and returns the count so far in the window, this one included.
            async fn count_event(&self, key: &str, window: i64, now: UnixTime) -> StoreResult<u32>;
        }
    }
}
