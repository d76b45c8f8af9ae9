//! The password rule (PRODUCT §3.11, SECURITY "Decisions"): at least 8 code
//! points with 3 of the 4 classes, after NFKC; long passphrases welcome; never
//! truncated; refused when on the shipped common-password list.

use std::collections::HashSet;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

/// Fewest code points accepted.
pub const MIN_CHARS: usize = 8;
/// Most code points accepted: well above the 128 that passphrases need, low
/// enough that hashing cost stays bounded.
pub const MAX_CHARS: usize = 1024;
/// How many of the four classes a password needs.
pub const MIN_CLASSES: usize = 3;

/// The four character classes of the manual: 英大文字、英小文字、数字、記号.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    Upper,
    Lower,
    Digit,
    Symbol,
}

/// One reason a new password is refused; pages say each in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Nothing was typed: the only problem said.
    Empty,
    TooShort,
    TooLong,
    /// Fewer than three classes: how many more are needed, and the classes
    /// still missing to choose them from.
    TooFewClasses {
        needed: usize,
        missing: Vec<CharClass>,
    },
    /// On the common-password list, or a list word with digits and symbols
    /// stuck on the end.
    Common,
    /// On the operator's breach list (S64): known to attackers.
    Breached,
    /// Password and confirmation differ.
    Mismatch,
}

/// The one normalisation used on every path that sets or checks a password
/// (S06): precomposed and decomposed input hash the same.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

/// The classes present in `password` (already normalised).
///
/// Letters count as upper or lower by their Unicode case; digits after NFKC;
/// anything that is neither a letter nor a number (punctuation, spaces,
/// emoji) is a symbol. Caseless letters such as kana and kanji add length
/// but no class.
pub fn classes(password: &str) -> Vec<CharClass> {
    let mut present = Vec::new();
    let mut add = |c: CharClass| {
        if !present.contains(&c) {
            present.push(c);
        }
    };
    for ch in password.chars() {
        if ch.is_uppercase() {
            add(CharClass::Upper);
        } else if ch.is_lowercase() {
            add(CharClass::Lower);
        } else if ch.is_ascii_digit() {
            add(CharClass::Digit);
        } else if !ch.is_alphanumeric() {
            add(CharClass::Symbol);
        }
    }
    present
}

fn common_list() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Number of entries on the shipped list (the tests check it is ≥ 10,000).
pub fn common_list_len() -> usize {
    common_list().len()
}

/// True when `password` (normalised) is a list entry, ignoring case, or a
/// list word of four or more characters followed only by digits and symbols
/// (`Password1!`, `dragon2024?`).
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    let list = common_list();
    if list.contains(lower.as_str()) {
        return true;
    }
    let stem = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    stem.chars().count() >= 4 && list.contains(stem)
}

/// Checks a new password and its confirmation. Returns every problem found,
/// so the page can say all of them at once.
pub fn check_new_password(
    password: &str,
    confirmation: &str,
) -> Result<String, Vec<PasswordProblem>> {
    check_new_password_with(password, confirmation, |_| false)
}

/// [`check_new_password`] with the operator's breach list: `breached` says
/// whether a password is on it. It is asked about the password as typed and
/// as normalised (the list hashes what people typed elsewhere), and only
/// when the rule's other checks found the password acceptable in length.
pub fn check_new_password_with(
    password: &str,
    confirmation: &str,
    breached: impl Fn(&str) -> bool,
) -> Result<String, Vec<PasswordProblem>> {
    let normalized = normalize(password);
    if normalized.is_empty() {
        return Err(vec![PasswordProblem::Empty]);
    }
    let mut problems = Vec::new();
    let length = normalized.chars().count();
    if length < MIN_CHARS {
        problems.push(PasswordProblem::TooShort);
    }
    if length > MAX_CHARS {
        problems.push(PasswordProblem::TooLong);
    }
    let present = classes(&normalized);
    if present.len() < MIN_CLASSES {
        let missing = [
            CharClass::Upper,
            CharClass::Lower,
            CharClass::Digit,
            CharClass::Symbol,
        ]
        .into_iter()
        .filter(|c| !present.contains(c))
        .collect();
        problems.push(PasswordProblem::TooFewClasses {
            needed: MIN_CLASSES - present.len(),
            missing,
        });
    }
    if length <= MAX_CHARS && is_common(&normalized) {
        problems.push(PasswordProblem::Common);
    } else if length <= MAX_CHARS && (breached(password) || breached(&normalized)) {
        problems.push(PasswordProblem::Breached);
    }
    if normalize(confirmation) != normalized {
        problems.push(PasswordProblem::Mismatch);
    }
    if problems.is_empty() {
        Ok(normalized)
    } else {
        Err(problems)
    }
}

/// True when a password typed at login is too long to be worth hashing: it
/// cannot match, since no path accepts such a password.
pub fn too_long_to_verify(password: &str) -> bool {
    password.len() > MAX_CHARS * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> bool {
        check_new_password(p, p).is_ok()
    }

    #[test]
    fn s64_a_listed_password_is_refused_with_its_own_problem() {
        let listed = |p: &str| p == "Kx7#mpq2z";
        assert_eq!(
            check_new_password_with("Kx7#mpq2z", "Kx7#mpq2z", listed).unwrap_err(),
            vec![PasswordProblem::Breached]
        );
        assert!(check_new_password_with("Kx7#mpq2y", "Kx7#mpq2y", listed).is_ok());
        // The list is asked about the typed form too: full-width digits
        // normalise to ASCII, but the list may hold either.
        let typed = |p: &str| p == "Kx7#mpq２z";
        assert_eq!(
            check_new_password_with("Kx7#mpq２z", "Kx7#mpq２z", typed).unwrap_err(),
            vec![PasswordProblem::Breached]
        );
    }

    #[test]
    fn s04_rule() {
        assert!(!ok("Ab1!xyz"), "7 chars, 4 classes");
        assert!(!ok("abcdefgh"), "8 chars, 1 class");
        assert!(!ok("abcdefg1"), "8 chars, 2 classes");
        assert!(ok("abcdEf1z"), "8 chars, 3 classes");
        assert!(ok(&format!(
            "Correct horse battery staple {}",
            "x".repeat(35)
        )));
        assert!(ok(&"Aa1-".repeat(32)), "128 chars");
        // Japanese counts by code point: 5 kana + A a 1 = 8 code points, 3 classes.
        assert!(ok("さくらもちAa1"));
        assert!(!ok("さくらもAa1"), "7 code points");
        // Emoji count once and are symbols.
        assert!(ok("🍣🍣🍣🍣abcD"));
    }

    #[test]
    fn missing_classes_are_named() {
        let err = check_new_password("abcdefgh", "abcdefgh").unwrap_err();
        assert!(err.contains(&PasswordProblem::TooFewClasses {
            needed: 2,
            missing: vec![CharClass::Upper, CharClass::Digit, CharClass::Symbol]
        }));
        let err = check_new_password("abcdefgH", "abcdefgH").unwrap_err();
        assert!(err.contains(&PasswordProblem::TooFewClasses {
            needed: 1,
            missing: vec![CharClass::Digit, CharClass::Symbol]
        }));
    }

    #[test]
    fn an_empty_password_is_asked_for_and_nothing_else() {
        assert_eq!(
            check_new_password("", "").unwrap_err(),
            vec![PasswordProblem::Empty]
        );
    }

    #[test]
    fn s06_nfkc_one_form() {
        let precomposed = "Caf\u{e9}Latte1!";
        let decomposed = "Cafe\u{301}Latte1!";
        assert_eq!(normalize(precomposed), normalize(decomposed));
        assert_eq!(normalize("Ｐａｓｓ"), "Pass");
    }

    #[test]
    fn s08_common_passwords_refused() {
        assert!(common_list_len() >= 10_000);
        for p in [
            "Password1!",
            "password123",
            "Qwerty123!",
            "Dragon2024?",
            "Iloveyou1!",
        ] {
            let err = check_new_password(p, p).unwrap_err();
            assert!(err.contains(&PasswordProblem::Common), "{p}");
        }
        assert!(ok("Sekisho-Gate-7"));
    }

    #[test]
    fn mismatch_and_length() {
        assert_eq!(
            check_new_password("Kx7#mpq2z", "Kx7#mpq2y").unwrap_err(),
            vec![PasswordProblem::Mismatch]
        );
        let long = "Aa1-".repeat(300);
        assert!(check_new_password(&long, &long)
            .unwrap_err()
            .contains(&PasswordProblem::TooLong));
        assert!(too_long_to_verify(&"a".repeat(5000)));
        assert!(!too_long_to_verify(&"a".repeat(100)));
    }
}
