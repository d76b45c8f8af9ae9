//! Fixed-rate (open-loop) pacing. Each request has an intended start time on
//! a fixed schedule, and its latency is measured from that time, not from
//! when it was actually sent: a stall in the system under test then shows
//! up as latency of every request it delayed (coordinated omission
//! corrected, as in wrk2).

use std::time::Duration;

/// The intended start of request `n` (from 0) at `rate` requests/second.
pub fn intended_offset(n: u64, rate: f64) -> Duration {
    Duration::from_secs_f64(n as f64 / rate)
}

/// How many requests a run of `duration` at `rate` sends, capped at `max`.
pub fn planned_requests(duration: Duration, rate: f64, max: u64) -> u64 {
    ((duration.as_secs_f64() * rate).floor() as u64).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_evenly_spaced() {
        assert_eq!(intended_offset(0, 100.0), Duration::ZERO);
        assert_eq!(intended_offset(1, 100.0), Duration::from_millis(10));
        assert_eq!(intended_offset(250, 100.0), Duration::from_millis(2500));
        assert_eq!(
            planned_requests(Duration::from_secs(3), 1000.0, u64::MAX),
            3000
        );
        assert_eq!(planned_requests(Duration::from_secs(3), 1000.0, 500), 500);
    }

    #[test]
    fn latency_counts_from_the_intended_time() {
        // A request meant for t=10 ms that a stall delayed until t=200 ms and
        // that then took 1 ms has a latency of 191 ms, not 1 ms.
        let intended = intended_offset(1, 100.0);
        let finished = Duration::from_millis(201);
        assert_eq!(finished - intended, Duration::from_millis(191));
    }
}
