//! Session lifetimes (SECURITY E): idle and absolute timeouts, and how often
//! the last-seen time is worth writing back to the store.

use crate::UnixTime;

/// The limits a session lives under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Seconds without a request after which the session ends.
    pub idle_seconds: i64,
    /// Seconds after login after which the session ends, however busy.
    pub absolute_seconds: i64,
}

/// Why a session is no longer valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    Idle,
    Absolute,
}

/// Checks a session's times against its limits at `now`.
pub fn session_expiry(
    limits: SessionLimits,
    created_at: UnixTime,
    last_seen: UnixTime,
    now: UnixTime,
) -> Option<SessionEnd> {
    if now - created_at >= limits.absolute_seconds {
        Some(SessionEnd::Absolute)
    } else if now - last_seen >= limits.idle_seconds {
        Some(SessionEnd::Idle)
    } else {
        None
    }
}

/// Seconds of idle-time resolution: last-seen is written back at most this
/// often per session, so browsing does not turn every read into a write.
pub const TOUCH_INTERVAL: i64 = 60;

/// True when the stored last-seen time is old enough to be refreshed.
pub fn should_touch(last_seen: UnixTime, now: UnixTime) -> bool {
    now - last_seen >= TOUCH_INTERVAL
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: SessionLimits = SessionLimits {
        idle_seconds: 1800,
        absolute_seconds: 43200,
    };

    #[test]
    fn timeouts() {
        assert_eq!(session_expiry(L, 0, 0, 100), None);
        assert_eq!(session_expiry(L, 0, 0, 1800), Some(SessionEnd::Idle));
        assert_eq!(session_expiry(L, 0, 43000, 43100), None);
        assert_eq!(
            session_expiry(L, 0, 43199, 43200),
            Some(SessionEnd::Absolute)
        );
    }

    #[test]
    fn touch() {
        assert!(!should_touch(100, 159));
        assert!(should_touch(100, 160));
    }
}
