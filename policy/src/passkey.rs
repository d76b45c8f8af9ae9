//! Passkeys' rules (WebAuthn, SECURITY S53): who may register one, when a
//! registration counts as after a fresh sign-in, how a passkey is named, and
//! what a passkey login still has to pass. The ceremony itself (origin, RP
//! ID, user verification, signature and counter) is webauthn-rs's.

use crate::model::{LoginMethod, Route};
use crate::UnixTime;
use unicode_normalization::UnicodeNormalization;

/// The longest name a passkey may be given, in characters.
pub const NAME_MAX_CHARS: usize = 40;
/// The most passkeys one user may register.
pub const MAX_PER_USER: usize = 10;

/// Whether a user signing in by `method` may hold passkeys: password users
/// only. A federated user's sign-in is their provider's, whose own
/// passkeys they use there.
pub fn may_hold_passkeys(method: LoginMethod) -> bool {
    method == LoginMethod::Password
}

/// Whether a session begun at `signed_in_at` is fresh enough at `now` to
/// register a passkey: adding a way in asks for a recent sign-in, as a
/// password change does at the account menu's own login.
pub fn fresh_enough(signed_in_at: UnixTime, now: UnixTime, window_secs: i64) -> bool {
    now >= signed_in_at && now - signed_in_at <= window_secs
}

/// Whether a login must still pass a second step. A passkey login never
/// does: user verification on a phishing-resistant authenticator is two
/// factors by itself. A password login does where the tenant's two-step
/// applies (see [`crate::two_step::required`]).
pub fn second_step_after(passkey: bool, password_needs_it: bool) -> bool {
    !passkey && password_needs_it
}

/// Whether the tenant's requirement (パスキー設定: 必須) applies to a
/// login: password users on the internet route, where the second step
/// would apply. A line-only tenant's line is its factor (as two-step is
/// forced off there), and a federated user's sign-in is their provider's.
/// `tenant_requires` is already false where this gateway offers no
/// passkeys on the route (the gateway says so at start).
pub fn requirement_applies(
    method: LoginMethod,
    route: Route,
    tenant_requires: bool,
    line_only: bool,
) -> bool {
    tenant_requires && may_hold_passkeys(method) && route == Route::Internet && !line_only
}

/// What a password login owes under the tenant's requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequiredStep {
    /// The user has passkeys: one of them is the second step, and no
    /// remembered browser skips it (the recovery code still works).
    UsePasskey,
    /// No passkey yet, and the tenant's second step is owed: it comes
    /// first, then the user registers a passkey before the session starts.
    SecondStepThenEnrol,
    /// No passkey yet and no second step owed (two-step off, or a
    /// remembered browser): the user registers one before the session.
    Enrol,
}

/// The step a login under the requirement takes. Enrolment follows
/// whatever the login already asks, so registering a passkey never needs
/// less than signing in did.
pub fn required_step(has_passkeys: bool, second_step_owed: bool) -> RequiredStep {
    match (has_passkeys, second_step_owed) {
        (true, _) => RequiredStep::UsePasskey,
        (false, true) => RequiredStep::SecondStepThenEnrol,
        (false, false) => RequiredStep::Enrol,
    }
}

/// Why a passkey name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    TooLong,
}

/// A passkey's name as typed: NFKC, control characters dropped, spaces
/// trimmed. An empty name gets `fallback` (the browser's name, say).
pub fn normalize_name(input: &str, fallback: &str) -> Result<String, NameProblem> {
    let clean = |s: &str| -> String {
        s.nfkc()
            .filter(|c| !c.is_control())
            .collect::<String>()
            .trim()
            .to_string()
    };
    let name = clean(input);
    let name = if name.is_empty() {
        clean(fallback).chars().take(NAME_MAX_CHARS).collect()
    } else {
        name
    };
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(NameProblem::TooLong);
    }
    Ok(name)
}

/// The route a passkey ceremony may run on. Passkeys are bound to the
/// internet route's host (the RP ID); the closed route's host offers them
/// only when it lies under that host, so that browsers accept the RP ID
/// there too. Line authentication applies there as to every login.
pub fn offered_on(route: Route, closed_host_under_rp_id: bool) -> bool {
    match route {
        Route::Internet => true,
        Route::Closed => closed_host_under_rp_id,
    }
}

/// Whether `host` is `rp_id` or lies under it (`a.example.jp` under
/// `example.jp`, never `badexample.jp`).
pub fn host_under(host: &str, rp_id: &str) -> bool {
    let (host, rp_id) = (host.to_ascii_lowercase(), rp_id.to_ascii_lowercase());
    host == rp_id || host.ends_with(&format!(".{rp_id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_password_users_hold_passkeys() {
        assert!(may_hold_passkeys(LoginMethod::Password));
        for m in [
            LoginMethod::Google,
            LoginMethod::Facebook,
            LoginMethod::Microsoft,
            LoginMethod::Daccount,
            LoginMethod::Ad,
        ] {
            assert!(!may_hold_passkeys(m));
        }
    }

    #[test]
    fn registration_needs_a_fresh_sign_in() {
        assert!(fresh_enough(1000, 1000, 600));
        assert!(fresh_enough(1000, 1600, 600));
        assert!(!fresh_enough(1000, 1601, 600));
        // A session from the future (a clock stepped back) is not fresh.
        assert!(!fresh_enough(1000, 999, 600));
    }

    #[test]
    fn a_passkey_counts_as_two_step() {
        assert!(!second_step_after(true, true));
        assert!(!second_step_after(true, false));
        assert!(second_step_after(false, true));
        assert!(!second_step_after(false, false));
    }

    #[test]
    fn names_are_cleaned_and_bounded() {
        assert_eq!(normalize_name("  ｉＰｈｏｎｅ ", "x").unwrap(), "iPhone");
        assert_eq!(normalize_name("会社の\u{7}PC", "x").unwrap(), "会社のPC");
        assert_eq!(
            normalize_name("", "Chrome（Windows）").unwrap(),
            "Chrome(Windows)"
        );
        assert_eq!(
            normalize_name(&"あ".repeat(41), "x"),
            Err(NameProblem::TooLong)
        );
        assert_eq!(normalize_name("", &"b".repeat(60)).unwrap().len(), 40);
    }

    #[test]
    fn the_tenants_requirement_applies_to_password_users_on_the_internet() {
        let on = |m, r, req, lo| requirement_applies(m, r, req, lo);
        assert!(on(LoginMethod::Password, Route::Internet, true, false));
        assert!(!on(LoginMethod::Password, Route::Internet, false, false));
        // The closed route's line, and a line-only tenant's, is the factor.
        assert!(!on(LoginMethod::Password, Route::Closed, true, false));
        assert!(!on(LoginMethod::Password, Route::Internet, true, true));
        // A federated user's sign-in is their provider's.
        assert!(!on(LoginMethod::Google, Route::Internet, true, false));
        assert!(!on(LoginMethod::Ad, Route::Internet, true, false));
    }

    #[test]
    fn under_the_requirement_a_passkey_is_used_or_enrolled_after_the_second_step() {
        assert_eq!(required_step(true, true), RequiredStep::UsePasskey);
        assert_eq!(required_step(true, false), RequiredStep::UsePasskey);
        assert_eq!(
            required_step(false, true),
            RequiredStep::SecondStepThenEnrol
        );
        assert_eq!(required_step(false, false), RequiredStep::Enrol);
    }

    #[test]
    fn the_closed_route_offers_passkeys_only_under_the_rp_id() {
        assert!(offered_on(Route::Internet, false));
        assert!(!offered_on(Route::Closed, false));
        assert!(offered_on(Route::Closed, true));
        assert!(host_under(
            "closed.storage.example.jp",
            "storage.example.jp"
        ));
        assert!(host_under("Storage.Example.jp", "storage.example.jp"));
        assert!(!host_under("badstorage.example.jp", "storage.example.jp"));
        assert!(!host_under("example.jp", "storage.example.jp"));
    }
}
