//! The lock's counting: a run of consecutive failures per login identifier
//! (S11) and per user's two-step codes (S24), each counted *before* its
//! check, so that no race tries more than the threshold, and forgotten
//! after a quiet spell short of it (S51).
//!
//! It depends on the store's counters alone ([`CounterStore`]) and holds
//! the two rules from the configuration, so a flow asks "may this try be
//! checked?" without knowing counter keys or thresholds. What a lock does
//! to the account (the flag, the unlock mail) is the flows'.

use crate::store::{code_counter, Admission, AttemptRule, CounterStore, StoreResult};
use sekisho_policy::UnixTime;
use std::sync::Arc;

pub struct Attempts {
    counters: Arc<dyn CounterStore>,
    password: AttemptRule,
    code: AttemptRule,
}

impl Attempts {
    pub fn new(counters: Arc<dyn CounterStore>, password: AttemptRule, code: AttemptRule) -> Self {
        Attempts {
            counters,
            password,
            code,
        }
    }

    /// The rules `[lock]` and `[two_step] code_cap` configure.
    pub fn from_config(counters: Arc<dyn CounterStore>, config: &sekisho_config::Config) -> Self {
        Attempts::new(
            counters,
            config.lock.password_rule(),
            config.lock.code_rule(config.two_step.code_cap),
        )
    }

    /// How wrong passwords count.
    pub fn password_rule(&self) -> AttemptRule {
        self.password
    }

    /// How wrong two-step codes count.
    pub fn code_rule(&self) -> AttemptRule {
        self.code
    }

    /// Counts a password attempt on `identifier` (canonical), before the
    /// password is checked.
    pub async fn admit_password(&self, identifier: &str, now: UnixTime) -> StoreResult<Admission> {
        self.counters
            .admit_attempt(identifier, self.password, now)
            .await
    }

    /// A correct password: the identifier's run ends.
    pub async fn password_passed(&self, identifier: &str) -> StoreResult<()> {
        self.counters.clear_failures(identifier).await
    }

    /// Counts a two-step code attempt on the user's own counter, before
    /// the code is checked.
    pub async fn admit_code(&self, user_id: &str, now: UnixTime) -> StoreResult<Admission> {
        self.counters
            .admit_attempt(&code_counter(user_id), self.code, now)
            .await
    }

    /// A correct code: the user's run of wrong codes ends.
    pub async fn code_passed(&self, user_id: &str) -> StoreResult<()> {
        self.counters.clear_failures(&code_counter(user_id)).await
    }

    /// Removes the runs gone quiet by `now` short of the threshold, so a
    /// spray of unknown identifiers leaves nothing behind (S51): the
    /// periodic purge's part. A lock itself is the user's flag, which
    /// this never touches.
    pub async fn forget_quiet(&self, now: UnixTime) -> StoreResult<u64> {
        self.counters
            .forget_quiet_failures(self.password, now, crate::store::FAILURES_KEPT)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use std::time::Duration;

    fn attempts(dir: &tempfile::TempDir) -> Attempts {
        let store = SqliteStore::open(&dir.path().join("s.sqlite3"), Duration::from_secs(2))
            .expect("a store in a temporary directory");
        let rule = |threshold| AttemptRule {
            threshold,
            forget_after: 600,
        };
        Attempts::new(Arc::new(store), rule(3), rule(2))
    }

    #[tokio::test]
    async fn password_attempts_lock_at_the_threshold_and_a_pass_ends_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let a = attempts(&dir);
        for n in 1..=3 {
            assert_eq!(
                a.admit_password("a@example.jp", 1_000).await,
                Ok(Admission::Checked(n))
            );
        }
        assert_eq!(
            a.admit_password("a@example.jp", 1_001).await,
            Ok(Admission::Locked)
        );
        a.password_passed("a@example.jp").await.unwrap();
        assert_eq!(
            a.admit_password("a@example.jp", 1_002).await,
            Ok(Admission::Checked(1))
        );
    }

    #[tokio::test]
    async fn codes_count_on_their_own_counter_with_their_own_cap() {
        let dir = tempfile::tempdir().unwrap();
        let a = attempts(&dir);
        // A user id that is also someone's typed identifier shares nothing.
        a.admit_password("u1", 1_000).await.unwrap();
        assert_eq!(a.admit_code("u1", 1_000).await, Ok(Admission::Checked(1)));
        assert_eq!(a.admit_code("u1", 1_000).await, Ok(Admission::Checked(2)));
        assert_eq!(a.admit_code("u1", 1_000).await, Ok(Admission::Locked));
        assert_eq!(
            a.admit_password("u1", 1_000).await,
            Ok(Admission::Checked(2))
        );
        a.code_passed("u1").await.unwrap();
        assert_eq!(a.admit_code("u1", 1_001).await, Ok(Admission::Checked(1)));
    }

    #[tokio::test]
    async fn quiet_runs_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let a = attempts(&dir);
        a.admit_password("b@example.jp", 1_000).await.unwrap();
        assert_eq!(a.forget_quiet(1_000 + 599).await, Ok(0));
        assert_eq!(a.forget_quiet(1_000 + 601).await, Ok(1));
        assert_eq!(
            a.admit_password("b@example.jp", 1_700).await,
            Ok(Admission::Checked(1))
        );
    }
}
