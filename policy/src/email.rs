//! Login identifiers. One canonical form is used for lookups, lock counters
//! and uniqueness; mail always goes to the address as stored, never to what
//! a visitor typed (SECURITY S17).

use unicode_normalization::UnicodeNormalization;

/// Longest address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// The canonical identifier: trimmed, NFKC-normalised, lower-cased.
///
/// NFKC rather than plain NFC so that a full-width `ａｌｉｃｅ@example.com`
/// counts on the same lock counter as `alice@example.com` (S10). Look-alikes
/// that are different characters (the dotless `ı`, a trailing dot) stay
/// different and so never reach another person's account or mailbox.
pub fn canonical_identifier(input: &str) -> String {
    let normalized: String = input.trim().nfkc().collect();
    normalized.trim().to_lowercase()
}

/// A typed login identifier in canonical form, or `None` when it can be no
/// one's: empty, longer than an address may be, or holding a control
/// character (a NUL among them, which PostgreSQL refuses). It never
/// reaches the store then, on any backend (S57).
pub fn login_identifier(input: &str) -> Option<String> {
    let canonical = canonical_identifier(input);
    let plausible = !canonical.is_empty()
        && canonical.len() <= MAX_EMAIL_LEN
        && !canonical.chars().any(char::is_control);
    plausible.then_some(canonical)
}

/// Why an address was refused where a real address is required
/// (registration, invitation, email change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailProblem {
    Empty,
    TooLong,
    Malformed,
}

/// Checks that `input` is a plausible mail address and returns its canonical
/// form. Deliberately conservative: one `@`, a non-empty local part, a domain
/// with a dot and no empty labels, no spaces or control characters.
pub fn validate_email(input: &str) -> Result<String, EmailProblem> {
    let canonical = canonical_identifier(input);
    if canonical.is_empty() {
        return Err(EmailProblem::Empty);
    }
    if canonical.len() > MAX_EMAIL_LEN {
        return Err(EmailProblem::TooLong);
    }
    let mut parts = canonical.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(EmailProblem::Malformed);
    };
    let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c);
    if local.is_empty() || local.len() > 64 || local.chars().any(bad_char) {
        return Err(EmailProblem::Malformed);
    }
    if domain.is_empty()
        || !domain.contains('.')
        || domain.split('.').any(|label| label.is_empty())
        || domain.chars().any(|c| bad_char(c) || c == '_')
    {
        return Err(EmailProblem::Malformed);
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s57_a_login_identifier_with_a_control_character_or_too_long_is_no_ones() {
        assert_eq!(
            login_identifier(" Taro@Example.jp "),
            Some("taro@example.jp".into())
        );
        assert_eq!(login_identifier(""), None);
        assert_eq!(login_identifier("ta\0ro@example.jp"), None);
        assert_eq!(login_identifier("taro@exa\u{7}mple.jp"), None);
        assert_eq!(login_identifier("taro\r\n@example.jp"), None);
        let long = format!("{}@example.jp", "a".repeat(MAX_EMAIL_LEN));
        assert_eq!(login_identifier(&long), None);
    }

    #[test]
    fn s10_variants_share_one_identifier() {
        let base = canonical_identifier("alice@example.com");
        for v in [
            "Alice@Example.com",
            " alice@example.com",
            "ALICE@EXAMPLE.COM",
            "ａｌｉｃｅ@example.com",
            "alice@example.com\t",
        ] {
            assert_eq!(canonical_identifier(v), base, "{v:?}");
        }
    }

    #[test]
    fn s17_look_alikes_stay_distinct() {
        let base = canonical_identifier("alice@example.com");
        for v in [
            "alıce@example.com",
            "alice@example.com.",
            "alice@exampIe.com",
        ] {
            assert_ne!(canonical_identifier(v), base, "{v:?}");
        }
    }

    #[test]
    fn validation() {
        assert_eq!(
            validate_email(" Bob@Example.JP ").unwrap(),
            "bob@example.jp"
        );
        assert_eq!(validate_email(""), Err(EmailProblem::Empty));
        for bad in [
            "bob",
            "bob@",
            "@x.jp",
            "bob@localhost",
            "a b@x.jp",
            "a@b@x.jp",
            "a@x..jp",
            "a@.x.jp",
        ] {
            assert_eq!(validate_email(bad), Err(EmailProblem::Malformed), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(validate_email(&long), Err(EmailProblem::TooLong));
    }
}
