//! Two-step verification's rules (PRODUCT §3.6, SECURITY S21–S28): when it
//! is asked, which phone numbers are accepted, which TOTP steps count, how
//! codes are typed, and when a remembered browser is still trusted.

use crate::model::{LoginMethod, Route};
use crate::UnixTime;
use unicode_normalization::UnicodeNormalization;

/// TOTP parameters (RFC 6238 as the authenticator apps expect them).
pub const TOTP_DIGITS: usize = 6;
pub const TOTP_PERIOD: u64 = 30;
/// Steps accepted on either side of the server's current one (S22).
pub const TOTP_SKEW: u64 = 1;
/// Length of an SMS code.
pub const SMS_CODE_LEN: usize = 6;
/// Length of a recovery code, without its separators.
pub const RECOVERY_CODE_LEN: usize = 16;
/// The recovery code's letters: no 0/O, 1/I/L, so it can be read aloud and
/// copied from paper.
pub const RECOVERY_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// The tenant's two-step setting as it applies: a tenant whose access
/// route is line-only has it forced off (§5-1 note).
pub fn tenant_setting_applies(enabled: bool, line_only: bool) -> bool {
    enabled && !line_only
}

/// Whether a login must pass the second step: password logins on the
/// internet route of a tenant with it on, from a browser not trusted.
pub fn required(
    method: LoginMethod,
    route: Route,
    tenant_enabled: bool,
    line_only: bool,
    trusted_browser: bool,
) -> bool {
    method == LoginMethod::Password
        && route == Route::Internet
        && tenant_setting_applies(tenant_enabled, line_only)
        && !trusted_browser
}

/// Whether a remembered browser last used at `last_used` is still trusted:
/// each use slides the window (S28).
pub fn trust_alive(last_used: UnixTime, now: UnixTime, window_secs: i64) -> bool {
    now >= last_used && now - last_used <= window_secs
}

/// The TOTP steps a code typed at `now` may belong to, newest first (S22).
pub fn candidate_steps(now: UnixTime) -> Vec<u64> {
    let current = (now.max(0) as u64) / TOTP_PERIOD;
    let low = current.saturating_sub(TOTP_SKEW);
    (low..=current + TOTP_SKEW).rev().collect()
}

/// A matched step is accepted only if it is newer than the last one
/// accepted for the user: a step counts once, and older steps after a newer
/// one are refused (S23).
pub fn step_is_new(step: u64, last_accepted: Option<u64>) -> bool {
    last_accepted.is_none_or(|last| step > last)
}

/// The digits of a typed code: full-width digits, spaces and hyphens are
/// forgiven; anything else, or the wrong length, is not a code.
pub fn normalize_digits(input: &str, len: usize) -> Option<String> {
    let s: String = input
        .nfkc()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// A typed recovery code in canonical form (upper case, no separators).
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    let s: String = input
        .nfkc()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect();
    let ok = s.len() == RECOVERY_CODE_LEN && s.bytes().all(|b| RECOVERY_ALPHABET.contains(&b));
    ok.then_some(s)
}

/// A recovery code as shown: four groups of four.
pub fn display_recovery_code(canonical: &str) -> String {
    canonical
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Why a phone number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneProblem {
    Empty,
    /// Not a number at all, or of a length no number has.
    Malformed,
    /// A Japanese number that is not a mobile one (070/080/090), so it
    /// cannot receive SMS.
    NotMobile,
}

/// A phone number in E.164 (`+819012345678`): Japanese mobile numbers as
/// people write them (`090-1234-5678`, full-width digits, spaces) or any
/// international number starting with `+`.
pub fn normalize_phone(input: &str) -> Result<String, PhoneProblem> {
    let s: String = input
        .nfkc()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '(' | ')' | '.'))
        .collect();
    if s.is_empty() {
        return Err(PhoneProblem::Empty);
    }
    let (international, digits) = match s.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, s.as_str()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PhoneProblem::Malformed);
    }
    let national = if international {
        match digits.strip_prefix("81") {
            Some(jp) => jp.trim_start_matches('0'),
            None if (8..=15).contains(&digits.len()) && !digits.starts_with('0') => {
                return Ok(format!("+{digits}"))
            }
            None => return Err(PhoneProblem::Malformed),
        }
    } else {
        match digits.strip_prefix('0') {
            Some(n) => n,
            None => return Err(PhoneProblem::Malformed),
        }
    };
    let mobile = ["70", "80", "90"].iter().any(|p| national.starts_with(p));
    match national.len() {
        10 if mobile => Ok(format!("+81{national}")),
        _ if mobile => Err(PhoneProblem::Malformed),
        // Landlines, IP phones and free dials: numbers, but no SMS.
        9 | 10 => Err(PhoneProblem::NotMobile),
        _ => Err(PhoneProblem::Malformed),
    }
}

/// A number as shown on pages and in mail: only its last four digits.
pub fn mask_phone(e164: &str) -> String {
    let tail: String = e164
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("***-****-{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asked_only_where_it_applies() {
        let p = LoginMethod::Password;
        assert!(required(p, Route::Internet, true, false, false));
        assert!(!required(p, Route::Internet, true, false, true));
        assert!(!required(p, Route::Internet, false, false, false));
        assert!(!required(p, Route::Internet, true, true, false));
        assert!(!required(p, Route::Closed, true, false, false));
        assert!(!required(
            LoginMethod::Google,
            Route::Internet,
            true,
            false,
            false
        ));
    }

    #[test]
    fn trust_slides_and_ends() {
        let day = crate::DAY;
        assert!(trust_alive(0, 30 * day, 30 * day));
        assert!(!trust_alive(0, 30 * day + 1, 30 * day));
        assert!(!trust_alive(100, 50, 30 * day));
    }

    #[test]
    fn steps_are_one_either_side_newest_first() {
        assert_eq!(candidate_steps(90), vec![4, 3, 2]);
        assert_eq!(candidate_steps(10), vec![1, 0]);
        assert!(step_is_new(5, None));
        assert!(step_is_new(5, Some(4)));
        assert!(!step_is_new(5, Some(5)));
        assert!(!step_is_new(4, Some(5)));
    }

    #[test]
    fn codes_are_forgiving_about_spelling_only() {
        assert_eq!(normalize_digits(" 123 456 ", 6).as_deref(), Some("123456"));
        assert_eq!(
            normalize_digits("１２３４５６", 6).as_deref(),
            Some("123456")
        );
        assert_eq!(normalize_digits("12345", 6), None);
        assert_eq!(normalize_digits("12345a", 6), None);
        let code = "ABCD-EFGH-JKMN-PQRS";
        assert_eq!(
            normalize_recovery_code(&code.to_lowercase()).as_deref(),
            Some("ABCDEFGHJKMNPQRS")
        );
        assert_eq!(display_recovery_code("ABCDEFGHJKMNPQRS"), code);
        assert_eq!(normalize_recovery_code("ABCD-EFGH-JKMN-PQR0"), None);
        assert_eq!(normalize_recovery_code("ABCD"), None);
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(normalize_phone("090-1234-5678").unwrap(), "+819012345678");
        assert_eq!(
            normalize_phone("０８０ １２３４ ５６７８").unwrap(),
            "+818012345678"
        );
        assert_eq!(
            normalize_phone("+81 90 1234 5678").unwrap(),
            "+819012345678"
        );
        assert_eq!(
            normalize_phone("+81 090-1234-5678").unwrap(),
            "+819012345678"
        );
        assert_eq!(normalize_phone("+1 415 555 2671").unwrap(), "+14155552671");
        assert_eq!(normalize_phone(""), Err(PhoneProblem::Empty));
        assert_eq!(
            normalize_phone("03-1234-5678"),
            Err(PhoneProblem::NotMobile)
        );
        assert_eq!(
            normalize_phone("090-1234-567"),
            Err(PhoneProblem::Malformed)
        );
        assert_eq!(normalize_phone("9012345678"), Err(PhoneProblem::Malformed));
        assert_eq!(
            normalize_phone("090-abcd-5678"),
            Err(PhoneProblem::Malformed)
        );
        assert_eq!(normalize_phone("+0123"), Err(PhoneProblem::Malformed));
        assert_eq!(mask_phone("+819012345678"), "***-****-5678");
    }
}
