//! Rate limits on the requests that try passwords or send mail and codes
//! (S15): login, forgotten password, unlock resend, SMS and recovery codes.
//! Three limits, after Authelia's regulation and Keycloak's brute-force
//! detection, which both count per account:
//! * per (client address, account): one address guessing one account;
//! * per account, from every address: a guess spread over many;
//! * per client address, a much higher ceiling: a spray over many
//!   accounts from one address, which an office behind one NAT address
//!   stays under at 9:00.
//!
//! The lock (ten wrong passwords in a row) still applies beneath them. The
//! state is in memory, per gateway; accounts are kept as keyed hashes, and
//! whatever is idle is forgotten (S51).

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

type Keyed<K, C> =
    RateLimiter<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Which limit refused, for the metric and the audit line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Address,
    AddressAccount,
    Account,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Address => "address",
            Limit::AddressAccount => "address_account",
            Limit::Account => "account",
        }
    }
}

pub struct Throttle<C: Clock = DefaultClock> {
    per_address: Keyed<IpAddr, C>,
    per_address_account: Keyed<(IpAddr, u64), C>,
    per_account: Keyed<u64, C>,
    /// Keys account names, so the maps hold no addresses in clear.
    accounts: RandomState,
    clock: C,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"))
}

fn keyed<K: std::hash::Hash + Eq + Clone, C: Clock + Clone>(n: u32, clock: &C) -> Keyed<K, C> {
    RateLimiter::new(
        per_minute(n),
        DefaultKeyedStateStore::default(),
        clock.clone(),
    )
}

impl Throttle<DefaultClock> {
    pub fn new(cfg: &sekisho_config::Throttle) -> Throttle {
        Throttle::with_clock(cfg, DefaultClock::default())
    }
}

impl<C: Clock + Clone> Throttle<C> {
    pub fn with_clock(cfg: &sekisho_config::Throttle, clock: C) -> Throttle<C> {
        Throttle {
            per_address: keyed(cfg.per_ip_per_minute, &clock),
            per_address_account: keyed(cfg.per_address_account_per_minute, &clock),
            per_account: keyed(cfg.per_account_per_minute, &clock),
            accounts: RandomState::new(),
            clock,
        }
    }

    fn wait(&self, not_until: governor::NotUntil<C::Instant>) -> Duration {
        not_until.wait_time_from(self.clock.now())
    }

    /// `Ok` when `ip` may make one more request now; otherwise which limit
    /// refused and how long to wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), (Limit, Duration)> {
        self.per_address
            .check_key(&ip)
            .map_err(|n| (Limit::Address, self.wait(n)))
    }

    /// [`Throttle::check`] for a request naming `account` (a canonical
    /// login identifier), which also meets the per-account limits.
    pub fn check_account(&self, ip: IpAddr, account: &str) -> Result<(), (Limit, Duration)> {
        self.check(ip)?;
        let account = self.accounts.hash_one(account);
        self.per_address_account
            .check_key(&(ip, account))
            .map_err(|n| (Limit::AddressAccount, self.wait(n)))?;
        self.per_account
            .check_key(&account)
            .map_err(|n| (Limit::Account, self.wait(n)))
    }

    /// Forgets every key whose allowance is full again (called each
    /// minute), so memory follows the active clients and accounts only.
    pub fn forget_idle(&self) {
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
        self.per_address_account.retain_recent();
        self.per_address_account.shrink_to_fit();
        self.per_account.retain_recent();
        self.per_account.shrink_to_fit();
    }

    /// Keys held in all (for the tests and the metrics).
    pub fn keys(&self) -> usize {
        self.per_address.len() + self.per_address_account.len() + self.per_account.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn cfg(address: u32, address_account: u32, account: u32) -> sekisho_config::Throttle {
        sekisho_config::Throttle {
            per_ip_per_minute: address,
            per_address_account_per_minute: address_account,
            per_account_per_minute: account,
            trusted_proxies: Vec::new(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn limits_each_address_on_its_own() {
        let t = Throttle::new(&cfg(3, 100, 100));
        for _ in 0..3 {
            assert!(t.check(ip("127.0.0.3")).is_ok());
        }
        let (limit, wait) = t.check(ip("127.0.0.3")).unwrap_err();
        assert_eq!(limit, Limit::Address);
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20));
        assert!(t.check(ip("127.0.0.4")).is_ok());
    }

    #[test]
    fn an_office_behind_one_address_logs_in_while_one_account_is_guessed() {
        let t = Throttle::new(&cfg(300, 5, 20));
        let office = ip("203.0.113.10");
        // 200 people, one login each, within the same minute.
        for person in 0..200 {
            assert!(t
                .check_account(office, &format!("staff{person}@example.jp"))
                .is_ok());
        }
        // One of them mistypes five times; the sixth try waits.
        for _ in 0..4 {
            assert!(t.check_account(office, "staff7@example.jp").is_ok());
        }
        let (limit, _) = t.check_account(office, "staff7@example.jp").unwrap_err();
        assert_eq!(limit, Limit::AddressAccount);
        // Their colleagues are not held up.
        assert!(t.check_account(office, "staff8@example.jp").is_ok());
    }

    #[test]
    fn a_guess_spread_over_many_addresses_meets_the_account_limit() {
        let t = Throttle::new(&cfg(300, 5, 20));
        for i in 0..20 {
            assert!(t
                .check_account(ip(&format!("198.51.100.{i}")), "target@example.jp")
                .is_ok());
        }
        let (limit, _) = t
            .check_account(ip("198.51.100.99"), "target@example.jp")
            .unwrap_err();
        assert_eq!(limit, Limit::Account);
    }

    #[test]
    fn s51_a_spray_over_many_identifiers_is_forgotten_once_idle() {
        let clock = FakeRelativeClock::default();
        let t = Throttle::with_clock(&cfg(1_000_000, 5, 20), clock.clone());
        for i in 0..10_000 {
            let _ = t.check_account(ip("192.0.2.1"), &format!("nobody{i}@example.jp"));
        }
        assert!(t.keys() >= 20_000);
        clock.advance(Duration::from_secs(61));
        t.forget_idle();
        assert_eq!(t.keys(), 0);
    }
}
