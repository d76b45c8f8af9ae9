//! Device-bound sessions (DBSC, SECURITY S62): when a session bound to a
//! browser's key counts, and when a session must be bound at all.
//!
//! A bound session is the session cookie plus a short-lived bound cookie
//! that only the key's holder can renew (the refresh endpoint checks a
//! signature). A copied session cookie without the key therefore opens
//! nothing once the bound cookie it came with has expired.
//!
//! Two known pitfalls of the protocol (`w3c/webappsec-dbsc` #248 and
//! #223) are decided here:
//! * requests already on their way when the browser registers carry no
//!   bound cookie yet: a freshly bound session is let through for
//!   `grace_seconds` after its binding;
//! * a browser that offers no DBSC never registers: where binding is
//!   required, an unbound session is let through for
//!   `registration_window_seconds` after its start (time for the browser
//!   to register), and refused afterwards.

use crate::model::Role;
use crate::UnixTime;

/// The binding's timings, from `[device_binding]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindingLimits {
    /// Life of a bound cookie: how often the browser proves its key.
    pub cookie_seconds: i64,
    /// Life of a registration or refresh challenge.
    pub challenge_seconds: i64,
    /// After a binding, how long requests without a bound cookie still
    /// count (they left before the registration's answer arrived).
    pub grace_seconds: i64,
    /// Where binding is required, how long an unbound session may wait
    /// for its browser to register.
    pub registration_window_seconds: i64,
}

/// A session's binding as a request presents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BindingStanding {
    /// Not bound, and not required to be.
    #[default]
    Unbound,
    /// Not bound, though its tenant requires binding of its role;
    /// `started_at` is the session's start.
    UnboundRequired { started_at: UnixTime },
    /// Bound at `bound_at`; `fresh` when the request carried a bound
    /// cookie of this session that has not expired.
    Bound { bound_at: UnixTime, fresh: bool },
}

/// What the binding says of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingCheck {
    Pass,
    /// Bound, without a fresh bound cookie: the browser must refresh it
    /// (a DBSC browser does so before sending; anyone else is refused).
    Refresh,
    /// Binding is required and this browser has not bound the session.
    Unsupported,
}

/// Whether the tenant's requirement (管理者のセッションを端末に結び付ける)
/// applies to `role`: the holder and administrators.
pub fn required_of(role: Role, tenant_requires: bool) -> bool {
    tenant_requires && crate::menu::can_administer(role)
}

/// The binding's verdict on a request at `now`.
pub fn check(standing: BindingStanding, limits: BindingLimits, now: UnixTime) -> BindingCheck {
    match standing {
        BindingStanding::Unbound => BindingCheck::Pass,
        BindingStanding::UnboundRequired { started_at } => {
            if now - started_at < limits.registration_window_seconds {
                BindingCheck::Pass
            } else {
                BindingCheck::Unsupported
            }
        }
        BindingStanding::Bound { fresh: true, .. } => BindingCheck::Pass,
        BindingStanding::Bound {
            bound_at,
            fresh: false,
        } => {
            if now - bound_at < limits.grace_seconds {
                BindingCheck::Pass
            } else {
                BindingCheck::Refresh
            }
        }
    }
}

/// Whether a challenge issued at `issued_at` may still be answered at
/// `now`: short-lived, and never from the future (a clock step back).
pub fn challenge_live(issued_at: UnixTime, limits: BindingLimits, now: UnixTime) -> bool {
    issued_at <= now + 5 && now - issued_at < limits.challenge_seconds
}

/// Whether a bound cookie that expires at `expires_at` is fresh at `now`.
pub fn cookie_fresh(expires_at: UnixTime, limits: BindingLimits, now: UnixTime) -> bool {
    now < expires_at && expires_at - now <= limits.cookie_seconds
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: BindingLimits = BindingLimits {
        cookie_seconds: 600,
        challenge_seconds: 300,
        grace_seconds: 60,
        registration_window_seconds: 60,
    };

    #[test]
    fn s62_a_bound_session_needs_a_fresh_bound_cookie_after_its_grace() {
        let bound = |fresh| BindingStanding::Bound {
            bound_at: 1000,
            fresh,
        };
        assert_eq!(check(bound(true), L, 5000), BindingCheck::Pass);
        assert_eq!(check(bound(false), L, 1059), BindingCheck::Pass, "#248");
        assert_eq!(check(bound(false), L, 1060), BindingCheck::Refresh);
        assert_eq!(check(bound(false), L, 9000), BindingCheck::Refresh);
    }

    #[test]
    fn s62_a_required_binding_waits_for_registration_then_refuses() {
        let s = BindingStanding::UnboundRequired { started_at: 1000 };
        assert_eq!(check(s, L, 1059), BindingCheck::Pass, "#223");
        assert_eq!(check(s, L, 1060), BindingCheck::Unsupported);
        assert_eq!(check(BindingStanding::Unbound, L, 9000), BindingCheck::Pass);
    }

    #[test]
    fn s62_the_requirement_is_for_administrators_only() {
        assert!(required_of(Role::ContractHolder, true));
        assert!(required_of(Role::Admin, true));
        assert!(!required_of(Role::User, true));
        assert!(!required_of(Role::Admin, false));
    }

    #[test]
    fn s62_challenges_and_cookies_are_short_lived() {
        assert!(challenge_live(1000, L, 1299));
        assert!(!challenge_live(1000, L, 1300));
        assert!(!challenge_live(2000, L, 1000), "issued in the future");
        assert!(cookie_fresh(1600, L, 1000));
        assert!(!cookie_fresh(1600, L, 1600));
        assert!(
            !cookie_fresh(99_999, L, 1000),
            "longer than any cookie lives"
        );
    }
}
