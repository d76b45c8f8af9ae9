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
//!
//! A login is charged only once it is a real attempt: past the CSRF check
//! and carrying a password ([`Throttle::check_login`], S56). Its account's
//! allowance is filled by failures, and holds back only the addresses that
//! have failed on that account lately: a victim's right password from a
//! clean address passes while attackers elsewhere keep failing (Authelia
//! and Keycloak keep the two apart the same way). Spreading guesses over
//! fresh addresses gives one guess an address, and the lock still counts
//! every one.

use governor::clock::Reference;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

/// How long an address that gave a wrong password stays one that has
/// failed on that account.
const FAILURE_MEMORY: Duration = Duration::from_secs(15 * 60);

/// The most (address, account) failures remembered at once; past it the
/// oldest go first.
const FAILURES_KEPT: usize = 100_000;

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
    /// (address, account) pairs whose last password was wrong, and when.
    failed: Mutex<HashMap<(IpAddr, u64), C::Instant>>,
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
            failed: Mutex::new(HashMap::new()),
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

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<(IpAddr, u64), C::Instant>> {
        self.failed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `ip` gave a wrong password for `account` lately.
    fn has_failed(&self, ip: IpAddr, account: u64) -> bool {
        let now = self.clock.now();
        self.failures()
            .get(&(ip, account))
            .is_some_and(|at| Duration::from(now.duration_since(*at)) < FAILURE_MEMORY)
    }

    /// A login attempt from `ip` for `account` that passed the CSRF check
    /// and carried a password (S56). It meets the address's ceiling and its
    /// own allowance for the account; the account's allowance, which only
    /// failures fill, holds it back only when this address has failed on
    /// the account lately.
    pub fn check_login(&self, ip: IpAddr, account: &str) -> Result<(), (Limit, Duration)> {
        self.check(ip)?;
        let account = self.accounts.hash_one(account);
        self.per_address_account
            .check_key(&(ip, account))
            .map_err(|n| (Limit::AddressAccount, self.wait(n)))?;
        if self.has_failed(ip, account) {
            self.per_account
                .check_key(&account)
                .map_err(|n| (Limit::Account, self.wait(n)))?;
        }
        Ok(())
    }

    /// A wrong password from `ip` for `account`: the address now counts as
    /// one that has failed on it, and its first failure fills the account's
    /// allowance (its later attempts were charged by [`Throttle::check_login`]).
    pub fn note_login_failure(&self, ip: IpAddr, account: &str) {
        let account = self.accounts.hash_one(account);
        let first = !self.has_failed(ip, account);
        let now = self.clock.now();
        {
            let mut failed = self.failures();
            if failed.len() >= FAILURES_KEPT && !failed.contains_key(&(ip, account)) {
                let oldest = failed.iter().min_by_key(|(_, at)| **at).map(|(k, _)| *k);
                if let Some(oldest) = oldest {
                    failed.remove(&oldest);
                }
            }
            failed.insert((ip, account), now);
        }
        if first {
            let _ = self.per_account.check_key(&account);
        }
    }

    /// A right password from `ip` for `account`: the address is clean again.
    pub fn note_login_success(&self, ip: IpAddr, account: &str) {
        let account = self.accounts.hash_one(account);
        self.failures().remove(&(ip, account));
    }

    /// Forgets every key whose allowance is full again (called each
    /// minute), so memory follows the active clients and accounts only.
    pub fn forget_idle(&self) {
        let now = self.clock.now();
        self.failures()
            .retain(|_, at| Duration::from(now.duration_since(*at)) < FAILURE_MEMORY);
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
        self.per_address_account.retain_recent();
        self.per_address_account.shrink_to_fit();
        self.per_account.retain_recent();
        self.per_account.shrink_to_fit();
    }

    /// Keys held in all (for the tests and the metrics).
    pub fn keys(&self) -> usize {
        self.per_address.len()
            + self.per_address_account.len()
            + self.per_account.len()
            + self.failures().len()
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
    fn s56_failures_elsewhere_never_hold_back_a_clean_address() {
        let t = Throttle::new(&cfg(300, 5, 20));
        let victim = "victim@example.jp";
        // Four addresses fail on the account until its allowance is gone.
        let mut refused = 0;
        for _ in 0..10 {
            for i in 0..4 {
                let attacker = ip(&format!("198.51.100.{i}"));
                match t.check_login(attacker, victim) {
                    Ok(()) => t.note_login_failure(attacker, victim),
                    Err((limit, _)) => {
                        assert!(matches!(limit, Limit::Account | Limit::AddressAccount));
                        refused += 1;
                    }
                }
            }
        }
        assert!(refused > 0, "the attackers were never held back");
        assert_eq!(
            t.check_login(ip("198.51.100.0"), victim).unwrap_err().0,
            Limit::AddressAccount
        );
        // The victim's own address has not failed: it passes.
        let office = ip("203.0.113.10");
        assert!(t.check_login(office, victim).is_ok());
        // One mistake of its own, and the account's full allowance holds
        // it back too; a right password makes it clean again.
        t.note_login_failure(office, victim);
        assert_eq!(t.check_login(office, victim).unwrap_err().0, Limit::Account);
        t.note_login_success(office, victim);
        assert!(t.check_login(office, victim).is_ok());
    }

    #[test]
    fn s56_failure_marks_are_forgotten_and_capped() {
        let clock = FakeRelativeClock::default();
        let t = Throttle::with_clock(&cfg(1_000_000, 5, 20), clock.clone());
        t.note_login_failure(ip("192.0.2.1"), "a@example.jp");
        assert_eq!(t.failures().len(), 1);
        clock.advance(FAILURE_MEMORY);
        t.forget_idle();
        assert_eq!(t.failures().len(), 0);
        // A spray over more accounts than are kept drops the oldest.
        for i in 0..=FAILURES_KEPT {
            t.note_login_failure(ip("192.0.2.1"), &format!("n{i}@example.jp"));
            clock.advance(Duration::from_nanos(1));
        }
        assert_eq!(t.failures().len(), FAILURES_KEPT);
        let first = t.accounts.hash_one("n0@example.jp");
        assert!(!t.has_failed(ip("192.0.2.1"), first));
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
