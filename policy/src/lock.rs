//! Account lock (PRODUCT §3.7, SECURITY B): the 10th consecutive wrong
//! password locks. Attempts are counted per canonical identifier whether or
//! not an account exists, so the lock message is no oracle.
//!
//! An attempt is counted *before* the password is checked, atomically in the
//! store; once the count has reached the threshold no further attempt is
//! checked at all. So however many requests race, at most `threshold`
//! passwords are ever tried (S11).

use crate::UnixTime;

/// The manual's threshold.
pub const DEFAULT_THRESHOLD: u32 = 10;

/// What the store answers when an attempt is to be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The attempt may be checked; it is number `n` in a row.
    Checked(u32),
    /// The identifier is locked: nothing is checked.
    Locked,
}

/// How one identifier's failures count: `threshold` in a row lock it, and
/// a run that stops short of it is forgotten after `forget_after` seconds
/// without an attempt (S51), as Keycloak's "max delta time" does, so a
/// spray over many identifiers leaves nothing behind. A run that reached
/// the threshold is kept: it is a lock, and an unknown identifier's must
/// last as a real account's does, or the difference would tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptRule {
    pub threshold: u32,
    pub forget_after: i64,
}

impl AttemptRule {
    /// Whether a run of `count` last counted at `last` is over by `now`.
    pub fn forgotten(&self, count: u32, last: UnixTime, now: UnixTime) -> bool {
        count < self.threshold && now.saturating_sub(last) >= self.forget_after
    }

    /// Admission for an attempt at `now`, after a run of `count` last
    /// counted at `last`.
    pub fn admit(&self, count: u32, last: UnixTime, now: UnixTime) -> Admission {
        let before = if self.forgotten(count, last, now) {
            0
        } else {
            count
        };
        admit(before, self.threshold)
    }
}

/// Decides admission from the count before this attempt.
pub fn admit(failures_before: u32, threshold: u32) -> Admission {
    if failures_before >= threshold {
        Admission::Locked
    } else {
        Admission::Checked(failures_before + 1)
    }
}

/// True when a failed attempt numbered `attempt` is the one that locks.
pub fn locks_now(attempt: u32, threshold: u32) -> bool {
    attempt == threshold
}

/// True when a security mail of a kind last sent at `last_sent` may be sent
/// again at `now` (one unlock or reset mail per window, S13).
pub fn mail_allowed(last_sent: Option<UnixTime>, now: UnixTime, interval: i64) -> bool {
    last_sent.is_none_or(|t| now - t >= interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: AttemptRule = AttemptRule {
        threshold: 10,
        forget_after: 86_400,
    };

    #[test]
    fn s51_a_run_short_of_the_threshold_is_forgotten_after_a_quiet_day() {
        assert_eq!(RULE.admit(9, 0, 86_399), Admission::Checked(10));
        assert_eq!(RULE.admit(9, 0, 86_400), Admission::Checked(1));
        assert!(RULE.forgotten(1, 0, 86_400));
    }

    #[test]
    fn s51_a_run_that_reached_the_threshold_is_a_lock_and_stays() {
        assert_eq!(RULE.admit(10, 0, 10 * 86_400), Admission::Locked);
        assert!(!RULE.forgotten(10, 0, 10 * 86_400));
    }

    #[test]
    fn s09_tenth_failure_locks() {
        assert_eq!(admit(0, 10), Admission::Checked(1));
        assert_eq!(admit(9, 10), Admission::Checked(10));
        assert!(locks_now(10, 10));
        assert!(!locks_now(9, 10));
        assert_eq!(admit(10, 10), Admission::Locked);
        assert_eq!(admit(50, 10), Admission::Locked);
    }

    #[test]
    fn mail_window() {
        assert!(mail_allowed(None, 100, 900));
        assert!(!mail_allowed(Some(100), 999, 900));
        assert!(mail_allowed(Some(100), 1000, 900));
    }
}
