//! The domain steps written once, over record primitives that each backend
//! implements inside its own transaction: `BEGIN IMMEDIATE` on SQLite, an
//! optimistic `WATCH`/`MULTI` on Redis (which runs a step again from its
//! reads when a watched key changed). A step reads and writes only through
//! [`Records`], so its atomicity is the backend's transaction, unchanged,
//! and a new backend is its primitives plus its connection handling.
//!
//! The store trait's methods that are such steps call these; what stays in
//! a backend is what its data model does differently (indexes, sets,
//! expiry).

use super::{
    code_counter, AdConnection, BrowserNote, BrowserSeen, DirectoryChange, FederatedIdentity,
    KnownBrowser, MethodChange, PasskeyRecord, PendingLogin, ScimTokenChange, SessionBinding,
    SessionRecord, StoreError, StoreResult, Tenant, TicketRecord, TrustedBrowser,
    TwoStepRegistration, User,
};
use sekisho_policy::line::AccessRoute;
use sekisho_policy::model::{LoginMethod, Plan, Role, UserStatus};
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::UnixTime;

/// What a domain step may do to the records, inside one transaction. Only
/// the store's backends implement it.
pub(crate) trait Records {
    async fn user(&mut self, id: &str) -> StoreResult<Option<User>>;
    /// Saves a changed user: `EmailTaken` or `IdentityTaken` when the new
    /// address or identity is someone else's, `NotFound` when it is gone.
    async fn save_user(&mut self, user: &User) -> StoreResult<()>;
    async fn tenant(&mut self, id: &str) -> StoreResult<Option<Tenant>>;
    /// Saves a changed tenant (and tells the other gateways).
    async fn save_tenant(&mut self, tenant: &Tenant) -> StoreResult<()>;
    /// The ticket of `hash`, expired or not (purges remove the expired).
    async fn ticket(&mut self, hash: &str) -> StoreResult<Option<TicketRecord>>;
    /// The user's tickets of `purpose`.
    async fn tickets_of(
        &mut self,
        user_id: &str,
        purpose: TicketPurpose,
    ) -> StoreResult<Vec<TicketRecord>>;
    async fn put_ticket(&mut self, ticket: &TicketRecord) -> StoreResult<()>;
    /// Saves a ticket read in this transaction, changed; its expiry stays.
    async fn save_ticket(&mut self, ticket: &TicketRecord) -> StoreResult<()>;
    async fn drop_ticket(&mut self, ticket: &TicketRecord) -> StoreResult<()>;
    /// Deletes the user's tickets of `purpose`.
    async fn delete_tickets_of(&mut self, user_id: &str, purpose: TicketPurpose)
        -> StoreResult<()>;
    async fn insert_session(&mut self, session: &SessionRecord) -> StoreResult<()>;
    /// A session, expired or not (the caller checks its times).
    async fn session(&mut self, id_hash: &str) -> StoreResult<Option<SessionRecord>>;
    /// Saves a session read in this transaction, changed; its expiry
    /// stays (and tells the other gateways).
    async fn save_session(&mut self, session: &SessionRecord) -> StoreResult<()>;
    /// Ends one session (and tells the other gateways).
    async fn drop_session(&mut self, id_hash: &str) -> StoreResult<()>;
    /// Notes a login on its user (the console's last login).
    async fn note_login(&mut self, session: &SessionRecord) -> StoreResult<()>;
    /// The tenant whose ADFS connection has this 接続ID.
    async fn connection_owner(&mut self, connection_id: &str) -> StoreResult<Option<String>>;
    /// Binds a 接続ID to its tenant (before the tenant is saved with it).
    async fn claim_connection(&mut self, connection_id: &str, tenant_id: &str) -> StoreResult<()>;
    /// Ends the user's sessions but `keep`; returns those ended.
    async fn delete_sessions_of(
        &mut self,
        user_id: &str,
        keep: Option<&str>,
    ) -> StoreResult<Vec<String>>;
    /// Forgets a failure counter (a login's or the second step's).
    async fn clear_failures(&mut self, identifier: &str) -> StoreResult<()>;
    /// Forgets the user's remembered browsers; returns how many there were.
    async fn drop_trusted_browsers_of(&mut self, user_id: &str) -> StoreResult<u64>;
    /// Forgets the user's logins half-way through the second step.
    async fn drop_pendings_of(&mut self, user_id: &str) -> StoreResult<()>;
    /// Adds a tenant; `Stale` when its id exists.
    async fn insert_tenant(&mut self, tenant: &Tenant) -> StoreResult<()>;
    /// Adds a user; `EmailTaken` or `IdentityTaken` when the address or
    /// provider account is someone's.
    async fn insert_user(&mut self, user: &User) -> StoreResult<()>;
    /// Deletes the user's record and its indexes (address, provider
    /// account, the lists); what else is theirs is the step's to delete.
    async fn drop_user(&mut self, user: &User) -> StoreResult<()>;
    /// Deletes every ticket of the user, whatever its purpose.
    async fn drop_tickets_of(&mut self, user_id: &str) -> StoreResult<()>;
    /// A pending login (the second step's), expired or not.
    async fn pending(&mut self, id_hash: &str) -> StoreResult<Option<PendingLogin>>;
    async fn drop_pending(&mut self, pending: &PendingLogin) -> StoreResult<()>;
    /// Saves a pending login read in this transaction, changed; its expiry
    /// stays.
    async fn save_pending(&mut self, pending: &PendingLogin) -> StoreResult<()>;
    async fn trusted_browser(&mut self, id_hash: &str) -> StoreResult<Option<TrustedBrowser>>;
    /// Saves a remembered browser read in this transaction, used again.
    async fn save_trusted_browser(&mut self, browser: &TrustedBrowser) -> StoreResult<()>;
    async fn passkey(&mut self, credential_id: &str) -> StoreResult<Option<PasskeyRecord>>;
    /// Adds a passkey whose credential id is free (the caller checked).
    async fn insert_passkey(&mut self, passkey: &PasskeyRecord) -> StoreResult<()>;
    async fn save_passkey(&mut self, passkey: &PasskeyRecord) -> StoreResult<()>;
    async fn drop_passkey(&mut self, passkey: &PasskeyRecord) -> StoreResult<()>;
    /// Deletes every passkey of the user; returns how many there were.
    async fn drop_passkeys_of(&mut self, user_id: &str) -> StoreResult<u64>;
}

// ---------------------------------------------------------------------
// Pieces of steps

/// A ticket of `purpose` that has not expired at `now`.
async fn live_ticket(
    r: &mut impl Records,
    hash: &str,
    purpose: TicketPurpose,
    now: UnixTime,
) -> StoreResult<Option<TicketRecord>> {
    let ticket = r.ticket(hash).await?;
    Ok(ticket.filter(|t| t.purpose == purpose.as_str() && t.expires_at > now))
}

/// A pending login that has not expired at `now`.
async fn live_pending(
    r: &mut impl Records,
    id_hash: &str,
    now: UnixTime,
) -> StoreResult<Option<PendingLogin>> {
    Ok(r.pending(id_hash).await?.filter(|p| p.expires_at > now))
}

async fn user_or(r: &mut impl Records, id: &str, missing: StoreError) -> StoreResult<User> {
    r.user(id).await?.ok_or(missing)
}

/// A mailed link's live ticket and the user it is for; `TicketInvalid`
/// when either is gone.
async fn ticket_and_user(
    r: &mut impl Records,
    hash: &str,
    purpose: TicketPurpose,
    now: UnixTime,
) -> StoreResult<(TicketRecord, User)> {
    let ticket = live_ticket(r, hash, purpose, now)
        .await?
        .ok_or(StoreError::TicketInvalid)?;
    let user = user_or(r, &ticket.user_id, StoreError::TicketInvalid).await?;
    Ok((ticket, user))
}

/// Unlocks and saves `user`: its failure counters and unlock links go, and
/// a lockdown ends (only a reset or the operator come here for one).
async fn unlock(r: &mut impl Records, mut user: User) -> StoreResult<User> {
    user.locked = false;
    user.locked_down = false;
    r.save_user(&user).await?;
    r.clear_failures(&user.email).await?;
    r.clear_failures(&code_counter(&user.id)).await?;
    r.delete_tickets_of(&user.id, TicketPurpose::Unlock).await?;
    Ok(user)
}

/// Resets the user's two-step registration (the caller saves the user): a
/// new generation, no remembered browsers, no logins half-way through.
async fn clear_two_step(r: &mut impl Records, user: &mut User) -> StoreResult<()> {
    user.two_step = None;
    user.two_step_generation = user.two_step_generation.wrapping_add(1);
    r.drop_trusted_browsers_of(&user.id).await?;
    r.drop_pendings_of(&user.id).await
}

/// Loads a user, lets `change` edit it, and saves it.
async fn edit_user(
    r: &mut impl Records,
    id: &str,
    change: impl FnOnce(&mut User),
) -> StoreResult<User> {
    let mut user = user_or(r, id, StoreError::NotFound).await?;
    change(&mut user);
    r.save_user(&user).await?;
    Ok(user)
}

/// Loads a tenant, lets `change` edit it, and saves it.
pub(crate) async fn edit_tenant(
    r: &mut impl Records,
    id: &str,
    change: impl FnOnce(&mut Tenant),
) -> StoreResult<Tenant> {
    let mut tenant = r.tenant(id).await?.ok_or(StoreError::NotFound)?;
    change(&mut tenant);
    r.save_tenant(&tenant).await?;
    Ok(tenant)
}

// ---------------------------------------------------------------------
// The steps (see the store trait for what each promises)

pub(crate) async fn lock_user(
    r: &mut impl Records,
    user_id: &str,
    unlock_link: &TicketRecord,
) -> StoreResult<()> {
    edit_user(r, user_id, |u| u.locked = true).await?;
    r.delete_tickets_of(user_id, TicketPurpose::Unlock).await?;
    r.put_ticket(unlock_link).await
}

pub(crate) async fn unlock_with_ticket(
    r: &mut impl Records,
    hash: &str,
    now: UnixTime,
) -> StoreResult<User> {
    let (_, user) = ticket_and_user(r, hash, TicketPurpose::Unlock, now).await?;
    if user.locked_down {
        return Err(StoreError::TicketInvalid);
    }
    unlock(r, user).await
}

pub(crate) async fn mark_password_breached(
    r: &mut impl Records,
    user_id: &str,
    password_hash: &str,
) -> StoreResult<()> {
    let user = user_or(r, user_id, StoreError::NotFound).await?;
    if user.password_hash.as_deref() == Some(password_hash) && !user.password_breached() {
        edit_user(r, user_id, |u| {
            u.breached_password = Some(password_hash.to_string())
        })
        .await?;
    }
    Ok(())
}

pub(crate) async fn note_browser(
    r: &mut impl Records,
    user_id: &str,
    browser: &KnownBrowser,
    kept: u32,
    not_me: &TicketRecord,
) -> StoreResult<BrowserSeen> {
    let mut user = user_or(r, user_id, StoreError::NotFound).await?;
    let seen = if let Some(known) = user
        .known_browsers
        .iter_mut()
        .find(|b| crate::same(&b.id_hash, &browser.id_hash))
    {
        known.last_seen = browser.last_seen;
        BrowserSeen::Known
    } else if user.known_browsers.is_empty() {
        user.known_browsers.push(browser.clone());
        BrowserSeen::First
    } else {
        user.known_browsers.push(browser.clone());
        r.put_ticket(not_me).await?;
        BrowserSeen::New
    };
    // Newest last: the one seen longest ago goes first.
    user.known_browsers.sort_by_key(|b| b.last_seen);
    let excess = user
        .known_browsers
        .len()
        .saturating_sub(kept.max(1) as usize);
    user.known_browsers.drain(..excess);
    r.save_user(&user).await?;
    Ok(seen)
}

pub(crate) async fn lock_down(
    r: &mut impl Records,
    ticket_hash: &str,
    reset: &TicketRecord,
    now: UnixTime,
) -> StoreResult<(User, Vec<String>)> {
    let (ticket, mut user) = ticket_and_user(r, ticket_hash, TicketPurpose::NotMe, now).await?;
    r.drop_ticket(&ticket).await?;
    user.locked = true;
    user.locked_down = true;
    user.known_browsers.clear();
    r.drop_trusted_browsers_of(&user.id).await?;
    r.drop_pendings_of(&user.id).await?;
    // A passkey registered by whoever was signed in would outlive the
    // reset: every passkey goes, and the user registers theirs again.
    r.drop_passkeys_of(&user.id).await?;
    r.drop_tickets_of(&user.id).await?;
    r.save_user(&user).await?;
    if user.method == LoginMethod::Password {
        r.put_ticket(reset).await?;
    }
    let ended = r.delete_sessions_of(&user.id, None).await?;
    Ok((user, ended))
}

pub(crate) async fn unlock_user(r: &mut impl Records, user_id: &str) -> StoreResult<User> {
    let user = user_or(r, user_id, StoreError::NotFound).await?;
    unlock(r, user).await
}

pub(crate) async fn complete_reset(
    r: &mut impl Records,
    hash: &str,
    password_hash: &str,
    now: UnixTime,
) -> StoreResult<(User, Vec<String>)> {
    let (_, mut user) = ticket_and_user(r, hash, TicketPurpose::Reset, now).await?;
    if user.status != UserStatus::Active || user.method != LoginMethod::Password {
        return Err(StoreError::TicketInvalid);
    }
    user.password_hash = Some(password_hash.to_string());
    clear_two_step(r, &mut user).await?;
    let user = unlock(r, user).await?;
    r.delete_tickets_of(&user.id, TicketPurpose::Reset).await?;
    let ended = r.delete_sessions_of(&user.id, None).await?;
    Ok((user, ended))
}

pub(crate) async fn change_password(
    r: &mut impl Records,
    user_id: &str,
    password_hash: &str,
    keep: Option<&str>,
) -> StoreResult<Vec<String>> {
    edit_user(r, user_id, |u| {
        u.password_hash = Some(password_hash.to_string())
    })
    .await?;
    r.delete_sessions_of(user_id, keep).await
}

pub(crate) async fn set_role(r: &mut impl Records, user_id: &str, role: Role) -> StoreResult<User> {
    edit_user(r, user_id, |u| u.role = role).await
}

pub(crate) async fn apply_directory(
    r: &mut impl Records,
    user_id: &str,
    change: &DirectoryChange,
) -> StoreResult<(User, Vec<String>)> {
    let mut user = user_or(r, user_id, StoreError::NotFound).await?;
    if user.role == Role::ContractHolder {
        return Err(StoreError::NotFound);
    }
    let old_email = std::mem::replace(&mut user.email, change.email.clone());
    let moved = old_email != user.email;
    user.name = change.name.clone();
    if let Some(role) = change.role {
        user.role = role;
    }
    user.provisioning = Some(change.provisioning.clone());
    r.save_user(&user).await?;
    let mut ended = Vec::new();
    if moved || !change.provisioning.active {
        ended = r.delete_sessions_of(&user.id, None).await?;
        r.drop_pendings_of(&user.id).await?;
    }
    if moved {
        r.clear_failures(&old_email).await?;
    }
    Ok((user, ended))
}

pub(crate) async fn change_scim_tokens(
    r: &mut impl Records,
    tenant_id: &str,
    change: &ScimTokenChange,
) -> StoreResult<Tenant> {
    let mut tenant = r.tenant(tenant_id).await?.ok_or(StoreError::NotFound)?;
    let tokens = &mut tenant.scim_tokens;
    match change {
        ScimTokenChange::Add(token) => {
            if tokens.iter().any(|t| t.name == token.name) {
                return Err(StoreError::Stale);
            }
            tokens.push(token.clone());
        }
        ScimTokenChange::Rotate { id, token } => {
            let old = tokens
                .iter_mut()
                .find(|t| &t.id == id)
                .ok_or(StoreError::NotFound)?;
            *old = crate::ScimToken {
                name: old.name.clone(),
                networks: old.networks.clone(),
                ..token.clone()
            };
        }
        ScimTokenChange::Revoke { id } => {
            let before = tokens.len();
            tokens.retain(|t| &t.id != id);
            if tokens.len() == before {
                return Err(StoreError::NotFound);
            }
        }
    }
    r.save_tenant(&tenant).await?;
    Ok(tenant)
}

pub(crate) async fn reset_two_step(r: &mut impl Records, user_id: &str) -> StoreResult<User> {
    let mut user = user_or(r, user_id, StoreError::NotFound).await?;
    clear_two_step(r, &mut user).await?;
    r.save_user(&user).await?;
    Ok(user)
}

pub(crate) async fn set_plan(
    r: &mut impl Records,
    tenant_id: &str,
    plan: Plan,
) -> StoreResult<Tenant> {
    edit_tenant(r, tenant_id, |t| t.plan = plan).await
}

pub(crate) async fn set_two_step_enabled(
    r: &mut impl Records,
    tenant_id: &str,
    enabled: bool,
) -> StoreResult<Tenant> {
    edit_tenant(r, tenant_id, |t| t.two_step_enabled = enabled).await
}

pub(crate) async fn set_binding_required(
    r: &mut impl Records,
    tenant_id: &str,
    on: bool,
) -> StoreResult<Tenant> {
    edit_tenant(r, tenant_id, |t| t.binding_required = on).await
}

pub(crate) async fn set_new_device_mail(
    r: &mut impl Records,
    tenant_id: &str,
    on: bool,
) -> StoreResult<Tenant> {
    edit_tenant(r, tenant_id, |t| t.new_device_mail = on).await
}

pub(crate) async fn set_passkeys_required(
    r: &mut impl Records,
    tenant_id: &str,
    required: bool,
) -> StoreResult<Tenant> {
    edit_tenant(r, tenant_id, |t| t.passkeys_required = required).await
}

pub(crate) async fn set_access_route(
    r: &mut impl Records,
    tenant_id: &str,
    route: AccessRoute,
) -> StoreResult<Tenant> {
    edit_tenant(r, tenant_id, |t| t.access_route = route).await
}

/// The console's 回線認証: the route and lines; consents of lines no longer
/// registered go with them.
pub(crate) async fn save_line_settings(
    r: &mut impl Records,
    tenant_id: &str,
    route: AccessRoute,
    lines: &[String],
) -> StoreResult<Tenant> {
    edit_tenant(r, tenant_id, |t| {
        t.access_route = route;
        t.line_consents.retain(|l| lines.contains(l));
        t.lines = lines.to_vec();
    })
    .await
}

pub(crate) async fn consent_line(
    r: &mut impl Records,
    tenant_id: &str,
    line: &str,
) -> StoreResult<Tenant> {
    edit_tenant(r, tenant_id, |t| {
        if !t.line_consents.iter().any(|l| l == line) {
            t.line_consents.push(line.to_string());
        }
    })
    .await
}

/// A change link replaces any earlier change link of the user (of either
/// kind): only the newest works.
pub(crate) async fn issue_change_link(
    r: &mut impl Records,
    ticket: &TicketRecord,
) -> StoreResult<()> {
    user_or(r, &ticket.user_id, StoreError::NotFound).await?;
    drop_change_links(r, &ticket.user_id).await?;
    r.put_ticket(ticket).await
}

async fn drop_change_links(r: &mut impl Records, user_id: &str) -> StoreResult<()> {
    r.delete_tickets_of(user_id, TicketPurpose::EmailChange)
        .await?;
    r.delete_tickets_of(user_id, TicketPurpose::MethodChange)
        .await
}

pub(crate) async fn complete_email_change(
    r: &mut impl Records,
    hash: &str,
    password_hash: Option<&str>,
    now: UnixTime,
) -> StoreResult<(User, String, Vec<String>)> {
    let (ticket, mut user) = ticket_and_user(r, hash, TicketPurpose::EmailChange, now).await?;
    let new_email = ticket.staged.clone().ok_or(StoreError::TicketInvalid)?;
    let old_email = std::mem::replace(&mut user.email, new_email);
    if let Some(h) = password_hash {
        user.password_hash = Some(h.to_string());
    }
    clear_two_step(r, &mut user).await?;
    r.save_user(&user).await?;
    r.clear_failures(&old_email).await?;
    drop_change_links(r, &user.id).await?;
    let ended = r.delete_sessions_of(&user.id, None).await?;
    Ok((user, old_email, ended))
}

pub(crate) async fn change_method(
    r: &mut impl Records,
    change: &MethodChange,
    now: UnixTime,
) -> StoreResult<(User, Vec<String>)> {
    if let Some(hash) = &change.ticket_hash {
        let ticket = live_ticket(r, hash, TicketPurpose::MethodChange, now)
            .await?
            .ok_or(StoreError::TicketInvalid)?;
        if ticket.user_id != change.user_id {
            return Err(StoreError::TicketInvalid);
        }
    }
    let mut user = user_or(r, &change.user_id, StoreError::NotFound).await?;
    let password = change.method == LoginMethod::Password;
    user.method = change.method;
    user.password_hash = if password {
        change.password_hash.clone()
    } else {
        None
    };
    user.identity = if password {
        None
    } else {
        change.identity.clone()
    };
    if change.reset_two_step {
        clear_two_step(r, &mut user).await?;
    }
    r.save_user(&user).await?;
    drop_change_links(r, &user.id).await?;
    let ended = r.delete_sessions_of(&user.id, None).await?;
    Ok((user, ended))
}

pub(crate) async fn complete_registration(
    r: &mut impl Records,
    ticket_hash: &str,
    now: UnixTime,
) -> StoreResult<User> {
    let (ticket, mut user) =
        ticket_and_user(r, ticket_hash, TicketPurpose::Invitation, now).await?;
    let staged = ticket.staged.clone().ok_or(StoreError::TicketInvalid)?;
    if user.status != UserStatus::Invited {
        return Err(StoreError::TicketInvalid);
    }
    user.password_hash = Some(staged);
    user.method = LoginMethod::Password;
    user.status = UserStatus::Active;
    r.save_user(&user).await?;
    r.delete_tickets_of(&user.id, TicketPurpose::Invitation)
        .await?;
    Ok(user)
}

/// An SMS code's single use: the code of the pending login, if it matches
/// and is live, is spent; returns the number it was sent to.
pub(crate) async fn consume_sms_code(
    r: &mut impl Records,
    id_hash: &str,
    code_hash: &str,
    now: UnixTime,
) -> StoreResult<Option<String>> {
    let Some(mut pending) = live_pending(r, id_hash, now).await? else {
        return Ok(None);
    };
    let Some(sms) = pending.sms.as_mut() else {
        return Ok(None);
    };
    if sms.code_hash.as_deref() != Some(code_hash) || sms.expires_at <= now {
        return Ok(None);
    }
    sms.code_hash = None;
    let phone = sms.phone.clone();
    r.save_pending(&pending).await?;
    Ok(Some(phone))
}

/// A new registration, only for the generation the login began under and
/// only where none is registered (`Stale` otherwise).
pub(crate) async fn register_two_step(
    r: &mut impl Records,
    user_id: &str,
    generation: u32,
    registration: &TwoStepRegistration,
) -> StoreResult<()> {
    let mut user = user_or(r, user_id, StoreError::NotFound).await?;
    if user.two_step_generation != generation || user.two_step.is_some() {
        return Err(StoreError::Stale);
    }
    user.two_step = Some(registration.clone());
    r.save_user(&user).await
}

/// Replaces the authenticator's stored seed, only if it is still `from`.
pub(crate) async fn replace_totp_secret(
    r: &mut impl Records,
    user_id: &str,
    from: &str,
    to: &str,
) -> StoreResult<bool> {
    let Some(mut user) = r.user(user_id).await? else {
        return Ok(false);
    };
    let Some(reg) = user.two_step.as_mut() else {
        return Ok(false);
    };
    if reg.totp_secret.as_deref() != Some(from) {
        return Ok(false);
    }
    reg.totp_secret = Some(to.to_string());
    r.save_user(&user).await?;
    Ok(true)
}

/// A TOTP step counts once, and never after a newer one (S23).
pub(crate) async fn accept_totp_step(
    r: &mut impl Records,
    user_id: &str,
    step: u64,
) -> StoreResult<bool> {
    let mut user = user_or(r, user_id, StoreError::NotFound).await?;
    if !sekisho_policy::two_step::step_is_new(step, user.last_totp_step) {
        return Ok(false);
    }
    user.last_totp_step = Some(step);
    r.save_user(&user).await?;
    Ok(true)
}

/// The recovery code signs in once and resets the registration, the
/// pending login included (S27).
pub(crate) async fn use_recovery_code(
    r: &mut impl Records,
    pending_hash: &str,
    recovery_hash: &str,
    now: UnixTime,
) -> StoreResult<Option<PendingLogin>> {
    let Some(pending) = live_pending(r, pending_hash, now).await? else {
        return Ok(None);
    };
    let mut user = user_or(r, &pending.user_id, StoreError::NotFound).await?;
    let matches = user
        .two_step
        .as_ref()
        .is_some_and(|reg| crate::same(&reg.recovery_hash, recovery_hash));
    if !matches {
        return Ok(None);
    }
    clear_two_step(r, &mut user).await?;
    r.save_user(&user).await?;
    Ok(Some(pending))
}

/// A ticket replacing the user's earlier ones of its purpose.
pub(crate) async fn replace_ticket(r: &mut impl Records, ticket: &TicketRecord) -> StoreResult<()> {
    user_or(r, &ticket.user_id, StoreError::NotFound).await?;
    for old in r.tickets_of(&ticket.user_id, purpose_of(ticket)?).await? {
        r.drop_ticket(&old).await?;
    }
    r.put_ticket(ticket).await
}

fn purpose_of(ticket: &TicketRecord) -> StoreResult<TicketPurpose> {
    TicketPurpose::parse(&ticket.purpose)
        .ok_or_else(|| StoreError::Unavailable(format!("a ticket of purpose {:?}", ticket.purpose)))
}

/// Keeps `staged` (a password, an address) with a live ticket, for the
/// step that completes it.
pub(crate) async fn stage_ticket(
    r: &mut impl Records,
    hash: &str,
    purpose: TicketPurpose,
    staged: &str,
    now: UnixTime,
) -> StoreResult<()> {
    let mut ticket = live_ticket(r, hash, purpose, now)
        .await?
        .ok_or(StoreError::TicketInvalid)?;
    ticket.staged = Some(staged.to_string());
    r.save_ticket(&ticket).await
}

/// A security mail's ticket, unless one of its purpose went out within
/// `interval` (then `false`, and nothing changes).
pub(crate) async fn issue_ticket_unless_recent(
    r: &mut impl Records,
    ticket: &TicketRecord,
    interval: i64,
) -> StoreResult<bool> {
    user_or(r, &ticket.user_id, StoreError::NotFound).await?;
    let same = r.tickets_of(&ticket.user_id, purpose_of(ticket)?).await?;
    let last = same.iter().map(|t| t.issued_at).max();
    if !sekisho_policy::lock::mail_allowed(last, ticket.issued_at, interval) {
        return Ok(false);
    }
    for old in &same {
        r.drop_ticket(old).await?;
    }
    r.put_ticket(ticket).await?;
    Ok(true)
}

/// A single-use ticket taken: gone whatever its state, returned if live.
pub(crate) async fn take_ticket(
    r: &mut impl Records,
    hash: &str,
    purpose: TicketPurpose,
    now: UnixTime,
) -> StoreResult<Option<TicketRecord>> {
    let Some(ticket) = r
        .ticket(hash)
        .await?
        .filter(|t| t.purpose == purpose.as_str())
    else {
        return Ok(None);
    };
    r.drop_ticket(&ticket).await?;
    Ok((ticket.expires_at > now).then_some(ticket))
}

/// A credential id is registered once, to one existing user.
pub(crate) async fn add_passkey(r: &mut impl Records, passkey: &PasskeyRecord) -> StoreResult<()> {
    if r.passkey(&passkey.credential_id).await?.is_some() {
        return Err(StoreError::IdentityTaken);
    }
    user_or(r, &passkey.user_id, StoreError::NotFound).await?;
    r.insert_passkey(passkey).await
}

/// The user's own passkey, or none: another user's is never touched.
async fn own_passkey(
    r: &mut impl Records,
    user_id: &str,
    credential_id: &str,
) -> StoreResult<Option<PasskeyRecord>> {
    Ok(r.passkey(credential_id)
        .await?
        .filter(|p| p.user_id == user_id))
}

/// Edits one of the user's own passkeys; `false` when it is not theirs or
/// gone.
pub(crate) async fn edit_passkey(
    r: &mut impl Records,
    user_id: &str,
    credential_id: &str,
    edit: impl FnOnce(&mut PasskeyRecord),
) -> StoreResult<bool> {
    let Some(mut passkey) = own_passkey(r, user_id, credential_id).await? else {
        return Ok(false);
    };
    edit(&mut passkey);
    r.save_passkey(&passkey).await?;
    Ok(true)
}

pub(crate) async fn remove_passkey(
    r: &mut impl Records,
    user_id: &str,
    credential_id: &str,
) -> StoreResult<Option<PasskeyRecord>> {
    let Some(passkey) = own_passkey(r, user_id, credential_id).await? else {
        return Ok(None);
    };
    r.drop_passkey(&passkey).await?;
    Ok(Some(passkey))
}

/// A pending login finished: gone whatever its state, returned if live, so
/// only one request can finish it.
pub(crate) async fn take_pending(
    r: &mut impl Records,
    id_hash: &str,
    now: UnixTime,
) -> StoreResult<Option<PendingLogin>> {
    let Some(pending) = r.pending(id_hash).await? else {
        return Ok(None);
    };
    r.drop_pending(&pending).await?;
    Ok((pending.expires_at > now).then_some(pending))
}

/// A remembered browser counts for its user and registration generation
/// while its window is alive, and each use slides the window (S28).
pub(crate) async fn use_trusted_browser(
    r: &mut impl Records,
    id_hash: &str,
    user_id: &str,
    generation: u32,
    window: i64,
    now: UnixTime,
) -> StoreResult<bool> {
    let Some(mut browser) = r.trusted_browser(id_hash).await? else {
        return Ok(false);
    };
    let alive = sekisho_policy::two_step::trust_alive(browser.last_used, now, window);
    if browser.user_id != user_id || browser.generation != generation || !alive {
        return Ok(false);
    }
    browser.last_used = now;
    r.save_trusted_browser(&browser).await?;
    Ok(true)
}

/// An invitation completed with a provider's account instead of a
/// password.
pub(crate) async fn complete_federated_registration(
    r: &mut impl Records,
    ticket_hash: &str,
    method: LoginMethod,
    identity: &FederatedIdentity,
    now: UnixTime,
) -> StoreResult<User> {
    let (_, mut user) = ticket_and_user(r, ticket_hash, TicketPurpose::Invitation, now).await?;
    if user.status != UserStatus::Invited {
        return Err(StoreError::TicketInvalid);
    }
    user.method = method;
    user.password_hash = None;
    user.identity = Some(identity.clone());
    user.status = UserStatus::Active;
    r.save_user(&user).await?;
    r.delete_tickets_of(&user.id, TicketPurpose::Invitation)
        .await?;
    Ok(user)
}

/// A tenant, its contract holder and the holder's invitation, together.
pub(crate) async fn create_tenant_with_holder(
    r: &mut impl Records,
    tenant: &Tenant,
    holder: &User,
    invitation: &TicketRecord,
) -> StoreResult<()> {
    r.insert_tenant(tenant).await?;
    r.insert_user(holder).await?;
    r.put_ticket(invitation).await
}

/// An invited user and their invitation, in an existing tenant.
pub(crate) async fn create_invited_user(
    r: &mut impl Records,
    user: &User,
    invitation: &TicketRecord,
) -> StoreResult<()> {
    r.tenant(&user.tenant_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    r.insert_user(user).await?;
    r.put_ticket(invitation).await
}

/// A user and everything of theirs: sessions (returned), links, pending
/// logins, remembered browsers, passkeys and failure counters.
pub(crate) async fn remove_user(r: &mut impl Records, user_id: &str) -> StoreResult<Vec<String>> {
    let user = user_or(r, user_id, StoreError::NotFound).await?;
    let ended = r.delete_sessions_of(&user.id, None).await?;
    r.drop_tickets_of(&user.id).await?;
    r.drop_pendings_of(&user.id).await?;
    r.drop_trusted_browsers_of(&user.id).await?;
    r.drop_passkeys_of(&user.id).await?;
    r.clear_failures(&user.email).await?;
    r.clear_failures(&code_counter(&user.id)).await?;
    r.drop_user(&user).await?;
    Ok(ended)
}

pub(crate) async fn revoke_trusted_browsers(
    r: &mut impl Records,
    user_id: &str,
) -> StoreResult<u64> {
    r.drop_trusted_browsers_of(user_id).await
}

pub(crate) async fn remove_passkeys(r: &mut impl Records, user_id: &str) -> StoreResult<u64> {
    r.drop_passkeys_of(user_id).await
}

/// A new session, noted on its user as their last login.
pub(crate) async fn create_session(
    r: &mut impl Records,
    session: &SessionRecord,
) -> StoreResult<()> {
    r.insert_session(session).await?;
    r.note_login(session).await
}

pub(crate) async fn start_session_noting(
    r: &mut impl Records,
    session: &SessionRecord,
    replacing: Option<&str>,
    note: &BrowserNote,
) -> StoreResult<BrowserSeen> {
    if let Some(old) = replacing {
        r.drop_session(old).await?;
    }
    create_session(r, session).await?;
    note_browser(r, &session.user_id, &note.browser, note.kept, &note.not_me).await
}

/// A session's new id (S29): the old one ends as the new one starts.
pub(crate) async fn rotate_session(
    r: &mut impl Records,
    old_hash: &str,
    new: &SessionRecord,
) -> StoreResult<()> {
    r.drop_session(old_hash).await?;
    create_session(r, new).await
}

pub(crate) async fn delete_session(r: &mut impl Records, id_hash: &str) -> StoreResult<()> {
    r.drop_session(id_hash).await
}

/// A session's binding to its browser's key, made once (S62).
pub(crate) async fn bind_session(
    r: &mut impl Records,
    id_hash: &str,
    binding: &SessionBinding,
) -> StoreResult<bool> {
    let Some(mut session) = r.session(id_hash).await? else {
        return Ok(false);
    };
    if session.binding.is_some() {
        return Ok(false);
    }
    session.binding = Some(binding.clone());
    r.save_session(&session).await?;
    Ok(true)
}

/// A refresh's use of its challenge: the count moves on only from the
/// count the challenge was issued at (S62).
pub(crate) async fn advance_binding(
    r: &mut impl Records,
    id_hash: &str,
    binding_id: &str,
    refreshes: u64,
) -> StoreResult<bool> {
    let Some(mut session) = r.session(id_hash).await? else {
        return Ok(false);
    };
    match &mut session.binding {
        Some(b) if b.id == binding_id && b.refreshes == refreshes => {
            b.refreshes += 1;
        }
        _ => return Ok(false),
    }
    r.save_session(&session).await?;
    Ok(true)
}

/// A tenant's ADFS connection: its 接続ID is fixed once issued (`Stale`
/// for another), and belongs to one tenant.
pub(crate) async fn save_ad_connection(
    r: &mut impl Records,
    tenant_id: &str,
    connection: &AdConnection,
) -> StoreResult<Tenant> {
    let mut tenant = r.tenant(tenant_id).await?.ok_or(StoreError::NotFound)?;
    let id = &connection.connection_id;
    if tenant
        .ad
        .as_ref()
        .is_some_and(|old| &old.connection_id != id)
    {
        return Err(StoreError::Stale);
    }
    if r.connection_owner(id)
        .await?
        .is_some_and(|owner| owner != tenant_id)
    {
        return Err(StoreError::Stale);
    }
    r.claim_connection(id, tenant_id).await?;
    tenant.ad = Some(connection.clone());
    r.save_tenant(&tenant).await?;
    Ok(tenant)
}
