//! Mailed links (SECURITY C): what each ticket is for and how long it lives.

use crate::{UnixTime, DAY};

/// What a mailed ticket may be used for; a ticket of one purpose is never
/// accepted for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketPurpose {
    /// 利用者登録: the invitation to register.
    Invitation,
    /// アカウントロック解除.
    Unlock,
    /// パスワードリセット.
    Reset,
    /// メールアドレス変更登録.
    EmailChange,
    /// ログイン方法の設定変更.
    MethodChange,
    /// A sign-in at an OpenID provider in progress (minutes, not days).
    Federation,
    /// A passkey ceremony in progress: its WebAuthn challenge (minutes).
    Passkey,
    /// The new-browser mail's 「心当たりがない場合」 (S63).
    NotMe,
}

impl TicketPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketPurpose::Invitation => "invitation",
            TicketPurpose::Unlock => "unlock",
            TicketPurpose::Reset => "reset",
            TicketPurpose::EmailChange => "email_change",
            TicketPurpose::MethodChange => "method_change",
            TicketPurpose::Federation => "federation",
            TicketPurpose::Passkey => "passkey",
            TicketPurpose::NotMe => "not_me",
        }
    }
    pub fn parse(s: &str) -> Option<TicketPurpose> {
        match s {
            "invitation" => Some(TicketPurpose::Invitation),
            "unlock" => Some(TicketPurpose::Unlock),
            "reset" => Some(TicketPurpose::Reset),
            "email_change" => Some(TicketPurpose::EmailChange),
            "method_change" => Some(TicketPurpose::MethodChange),
            "federation" => Some(TicketPurpose::Federation),
            "passkey" => Some(TicketPurpose::Passkey),
            "not_me" => Some(TicketPurpose::NotMe),
            _ => None,
        }
    }
}

/// Every mailed link lives 14 days (the manual, v1.4 onwards).
pub const TICKET_LIFETIME: i64 = 14 * DAY;

/// The expiry of a ticket issued at `now` with `lifetime` seconds.
pub fn expiry(now: UnixTime, lifetime: i64) -> UnixTime {
    now + lifetime
}

/// True while a ticket issued to expire at `expires_at` may still be used.
pub fn is_live(expires_at: UnixTime, now: UnixTime) -> bool {
    now < expires_at
}

/// A ticket's text form: 43 characters of URL-safe base64 for 256 bits.
/// Anything else is refused before any store look-up.
pub fn looks_like_ticket(s: &str) -> bool {
    // By table: every session cookie passes here on every request (P15).
    s.len() == 43 && s.bytes().all(|b| URL_SAFE_BASE64[usize::from(b)])
}

/// The bytes of URL-safe base64 without padding.
const URL_SAFE_BASE64: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime() {
        let issued = 1_000;
        let exp = expiry(issued, TICKET_LIFETIME);
        assert!(is_live(exp, issued + 14 * DAY - 1));
        assert!(!is_live(exp, issued + 14 * DAY + 60));
    }

    #[test]
    fn purposes_round_trip() {
        for p in [
            TicketPurpose::Invitation,
            TicketPurpose::Unlock,
            TicketPurpose::Reset,
            TicketPurpose::EmailChange,
            TicketPurpose::MethodChange,
            TicketPurpose::NotMe,
        ] {
            assert_eq!(TicketPurpose::parse(p.as_str()), Some(p));
        }
    }

    #[test]
    fn ticket_shape() {
        assert!(looks_like_ticket(&"A".repeat(43)));
        assert!(!looks_like_ticket(&"A".repeat(42)));
        assert!(!looks_like_ticket(&format!("{}=", "A".repeat(42))));
    }
}
