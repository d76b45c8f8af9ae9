//! The one source of "now". Injectable so that 14-day links, 30-day trust and
//! session timeouts are tested in seconds (SECURITY, preamble).

use sekisho_policy::UnixTime;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// System time, optionally shifted by a number of seconds read from a file
/// (development and tests only: `development.clock_offset_file`).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_file: Option<PathBuf>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock { offset_file: None }
    }

    pub fn with_offset_file(path: Option<PathBuf>) -> Clock {
        Clock { offset_file: path }
    }

    /// Seconds since the epoch, shifted when an offset file is configured.
    /// The file is read on every call: it exists only in tests, where a
    /// read is cheap and a change must take effect at once.
    pub fn now(&self) -> UnixTime {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let offset = self
            .offset_file
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        system + offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_file_moves_time() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("offset");
        let clock = Clock::with_offset_file(Some(f.clone()));
        let before = clock.now();
        std::fs::write(&f, "86400").unwrap();
        let after = clock.now();
        assert!(after - before >= 86400 && after - before < 86400 + 5);
        std::fs::write(&f, "garbage").unwrap();
        assert!(clock.now() - before < 5);
    }
}
