//! Per-client-address limits on the requests that try passwords or send
//! mail (SECURITY S15): login, forgotten password, unlock resend. A spray of
//! one password over many accounts from one address meets a 429 page long
//! before any account locks.

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

pub struct Throttle {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl Throttle {
    pub fn new(per_minute: u32) -> Throttle {
        let n = NonZeroU32::new(per_minute.max(1)).expect("at least one");
        Throttle {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
        }
    }

    /// `Ok` when `ip` may make one more request now; otherwise how long to
    /// wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets addresses whose allowance is full again (called by the
    /// periodic purge), so memory follows the active addresses only.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_address_on_its_own() {
        let t = Throttle::new(3);
        let a: IpAddr = "127.0.0.3".parse().unwrap();
        let b: IpAddr = "127.0.0.4".parse().unwrap();
        for _ in 0..3 {
            assert!(t.check(a).is_ok());
        }
        let wait = t.check(a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20));
        assert!(t.check(b).is_ok());
    }
}
