//! The one place a password is tried: login, the account-menu login and the
//! current password of a password change all come here, so every check
//! counts toward the lock (S12), is counted before it is checked (S11), and
//! costs the same whether or not the address exists (S02).

use crate::audit::{self, Who};
use crate::hashing::HashError;
use crate::state::App;
use crate::store::User;
use sekisho_policy::lock::{locks_now, Admission};
use sekisho_policy::model::{LoginMethod, UserStatus};
use sekisho_policy::password::{normalize, too_long_to_verify};
use sekisho_policy::ticket::TicketPurpose;
use std::sync::Arc;

/// What trying a password gave.
pub enum Checked {
    /// Right password of an active password user.
    Valid(Box<User>),
    /// Wrong, or nobody to check against: one answer for all (S01).
    Invalid,
    /// Locked, before or by this very attempt.
    Locked,
    /// The right password of an account its user locked down (S63): only
    /// someone who knows the password learns it, and is sent to the reset.
    LockedDown,
    /// The hashing pool is saturated.
    Busy,
    /// The store did not answer.
    Unavailable,
}

/// Counts an attempt on `identifier` (canonical) and checks `password`.
pub async fn check(app: &Arc<App>, identifier: &str, password: &str, who: &Who<'_>) -> Checked {
    let failed = |user: Option<&User>, reason: &str| {
        crate::metrics::LOGINS.with_label_values(&["failed"]).inc();
        let w = Who {
            user_id: user.map(|u| u.id.as_str()),
            tenant_id: user.map(|u| u.tenant_id.as_str()),
            ..who.clone()
        };
        audit::event(crate::audit::Event::LoginFailed, &w, reason);
    };
    if identifier.is_empty() || password.is_empty() {
        failed(None, "empty");
        return Checked::Invalid;
    }
    // No one's identifier goes no further than here, on any backend (S57).
    if sekisho_policy::email::login_identifier(identifier).as_deref() != Some(identifier) {
        failed(None, "malformed identifier");
        return Checked::Invalid;
    }
    // Count first, check after: no race can try more than the threshold.
    let rule = app.attempts.password_rule();
    let attempt = match app
        .attempts
        .admit_password(identifier, app.clock.now())
        .await
    {
        Ok(Admission::Checked(n)) => n,
        Ok(Admission::Locked) => {
            crate::metrics::LOGINS.with_label_values(&["locked"]).inc();
            // Whose account it is, so the tenant's 監査ログ shows the tries
            // (an identifier that is no one's is locked alike).
            let user = app
                .store
                .find_user_by_email(identifier)
                .await
                .ok()
                .flatten();
            let w = Who {
                user_id: user.as_ref().map(|u| u.id.as_str()),
                tenant_id: user.as_ref().map(|u| u.tenant_id.as_str()),
                ..who.clone()
            };
            audit::event(crate::audit::Event::LoginRefusedLocked, &w, "");
            return Checked::Locked;
        }
        Err(_) => {
            crate::metrics::STORE_ERRORS
                .with_label_values(&["admit_attempt"])
                .inc();
            return Checked::Unavailable;
        }
    };
    let user = match app.store.find_user_by_email(identifier).await {
        Ok(u) => u,
        Err(_) => {
            crate::metrics::STORE_ERRORS
                .with_label_values(&["find_user"])
                .inc();
            return Checked::Unavailable;
        }
    };
    let eligible = user
        .as_ref()
        .filter(|u| u.status == UserStatus::Active && u.method == LoginMethod::Password);
    let stored_hash = eligible.and_then(|u| u.password_hash.as_deref());
    let matched = if too_long_to_verify(password) {
        false
    } else {
        match app.hasher.verify(normalize(password), stored_hash).await {
            Ok(m) => m,
            Err(HashError::Busy) => {
                crate::metrics::LOGINS.with_label_values(&["busy"]).inc();
                return Checked::Busy;
            }
        }
    };
    if let (Some(user), true) = (eligible, matched) {
        // Locked by too many wrong two-step codes (S24): only someone who
        // knows the password learns it.
        if user.locked_down {
            audit::event(crate::audit::Event::LoginRefusedLocked, who, "locked down");
            return Checked::LockedDown;
        }
        if user.locked {
            audit::event(
                crate::audit::Event::LoginRefusedLocked,
                who,
                "two-step codes",
            );
            return Checked::Locked;
        }
        if app.attempts.password_passed(identifier).await.is_err() {
            return Checked::Unavailable;
        }
        let mut user = user.clone();
        note_if_breached(app, &mut user, password, who).await;
        return Checked::Valid(Box::new(user));
    }
    let reason = match &user {
        None => "unknown_identifier",
        Some(u) if u.status != UserStatus::Active => "not_active",
        Some(u) if u.method != LoginMethod::Password => "other_method",
        Some(_) => "wrong_password",
    };
    failed(user.as_ref(), reason);
    if !locks_now(attempt, rule.threshold) {
        return Checked::Invalid;
    }
    // Unknown addresses "lock" exactly like real ones; only an active
    // account is really locked and mailed.
    if let Some(u) = user.as_ref().filter(|u| u.status == UserStatus::Active) {
        let w = Who {
            user_id: Some(&u.id),
            tenant_id: Some(&u.tenant_id),
            ..who.clone()
        };
        lock(app, u, &w).await;
    }
    Checked::Locked
}

/// A right password on the operator's breach list (S64): the user is let
/// in, and marked, so that the sign-in and the menu ask for a new one.
async fn note_if_breached(app: &Arc<App>, user: &mut User, password: &str, who: &Who<'_>) {
    if user.password_breached() || app.breached.is_none() {
        return;
    }
    let candidates = vec![password.to_string(), normalize(password)];
    if app.breached_among(candidates).await.is_empty() {
        return;
    }
    let Some(hash) = user.password_hash.clone() else {
        return;
    };
    if app
        .store
        .mark_password_breached(&user.id, &hash)
        .await
        .is_ok()
    {
        user.breached_password = Some(hash);
        let w = Who {
            user_id: Some(&user.id),
            tenant_id: Some(&user.tenant_id),
            ..who.clone()
        };
        audit::event(
            crate::audit::Event::PasswordBreached,
            &w,
            "asked to change it",
        );
    }
}

/// Locks the user, issues the unblock ticket and mails the link (once: only
/// the attempt that reaches the threshold gets here).
pub(super) async fn lock(app: &Arc<App>, user: &User, who: &Who<'_>) {
    let (token, ticket) =
        crate::tickets::issue(app.clock.now(), &user.id, TicketPurpose::Unlock, None);
    if app.store.lock_user(&user.id, ticket).await.is_err() {
        crate::metrics::STORE_ERRORS
            .with_label_values(&["lock_user"])
            .inc();
        return;
    }
    crate::metrics::ACCOUNT_EVENTS
        .with_label_values(&["lock"])
        .inc();
    audit::event(crate::audit::Event::AccountLocked, who, "");
    let link = crate::tickets::link(
        &app.config.internet.public_url,
        TicketPurpose::Unlock,
        &token,
    );
    let text = sekisho_pages::mail::unlock(&app.config.service_name, &user.name, &link);
    app.mailer.send_later("unlock", user.email.clone(), text);
}
