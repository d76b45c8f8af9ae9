//! The one way a mailed link is made (SECURITY C): a 256-bit random token
//! for the URL, and its record — hash, purpose, user, 14-day expiry — for
//! the store.

use crate::store::TicketRecord;
use sekisho_policy::paths;
use sekisho_policy::ticket::{expiry, TicketPurpose, TICKET_LIFETIME};
use sekisho_policy::UnixTime;

/// A new ticket: the token for the link and the record to store.
pub fn issue(
    now: UnixTime,
    user_id: &str,
    purpose: TicketPurpose,
    staged: Option<String>,
) -> (String, TicketRecord) {
    let token = crate::crypto::random_token();
    let record = TicketRecord {
        hash: crate::crypto::token_hash(&token),
        purpose: purpose.as_str().to_string(),
        user_id: user_id.to_string(),
        issued_at: now,
        expires_at: expiry(now, TICKET_LIFETIME),
        staged,
    };
    (token, record)
}

/// The gateway path each purpose's link opens.
pub fn path(purpose: TicketPurpose) -> &'static str {
    match purpose {
        TicketPurpose::Invitation => paths::REGISTER,
        TicketPurpose::Unlock => paths::UNLOCK,
        TicketPurpose::Reset => paths::RESET,
        TicketPurpose::EmailChange => paths::EMAIL_CONFIRM,
        TicketPurpose::MethodChange => paths::METHOD_LINK,
        TicketPurpose::NotMe => paths::NOT_ME,
        // Never mailed: the provider returns to the callback with `state`.
        TicketPurpose::Federation => paths::FEDERATION_CALLBACK,
        // Never mailed: a page's script answers the challenge.
        TicketPurpose::Passkey => paths::PASSKEY_LOGIN,
    }
}

/// The absolute link for `token`, from the configured public URL (S16).
pub fn link(public_url: &str, purpose: TicketPurpose, token: &str) -> String {
    format!("{public_url}{}?ticket={token}", path(purpose))
}
