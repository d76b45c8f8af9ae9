//! Administrative operations shared by the `sekisho admin` commands and the
//! demo's seeding. They work on the configured store directly, also while a
//! gateway runs on it (the embedded store is safe for several processes).

use crate::clock::Clock;
use crate::error::InputError;
use crate::mail::Mailer;
use crate::store::{SharedStore, StoreError, Tenant, TicketRecord, User};
use sekisho_config::Config;
use sekisho_policy::model::{LoginMethod, Plan, Role, UserStatus};
use sekisho_policy::ticket::TicketPurpose;

/// Removes what has ended by `now`: sessions, links, pending logins and
/// events past their time, and runs of wrong passwords (or codes) the lock
/// rule has forgotten (S51). The gateways' periodic purge and
/// `sekisho admin purge` both run this.
pub async fn purge(
    store: &SharedStore,
    config: &Config,
    now: sekisho_policy::UnixTime,
) -> crate::store::StoreResult<u64> {
    let ended = store.purge_expired(now).await?;
    let forgotten = crate::attempts::Attempts::from_config(store.clone(), config)
        .forget_quiet(now)
        .await?;
    Ok(ended + forgotten)
}

/// A tenant's change as the command line says it: an unknown tenant is a
/// refusal that names `TENANT_ID` (exit 2), a store failure a failure.
fn tenant_changed(
    result: crate::store::StoreResult<Tenant>,
    tenant_id: &str,
) -> anyhow::Result<Tenant> {
    match result {
        Ok(t) => Ok(t),
        Err(StoreError::NotFound) => Err(InputError::error(format!(
            "TENANT_ID: no tenant '{tenant_id}'"
        ))),
        Err(e) => anyhow::bail!("store: {e}"),
    }
}

pub struct Admin {
    pub config: Config,
    pub store: SharedStore,
    pub mailer: Mailer,
    pub clock: Clock,
}

/// A name people can be shown by: not empty, at most 100 characters, no
/// control characters (the console's invitation and `admin invite`).
pub fn usable_name(name: &str) -> bool {
    !name.is_empty() && name.chars().count() <= 100 && !name.chars().any(char::is_control)
}

/// A new user of `tenant_id`, invited: a password user until they choose
/// otherwise, with nothing set up yet.
pub fn invited_user(
    tenant_id: &str,
    email: String,
    name: String,
    role: Role,
    now: sekisho_policy::UnixTime,
) -> User {
    User {
        id: crate::crypto::random_id(),
        tenant_id: tenant_id.to_string(),
        email,
        name,
        role,
        status: UserStatus::Invited,
        method: LoginMethod::Password,
        password_hash: None,
        created_at: now,
        locked: false,
        two_step: None,
        two_step_generation: 0,
        last_totp_step: None,
        last_login_at: None,
        identity: None,
        breached_password: None,
        known_browsers: Vec::new(),
        locked_down: false,
        provisioning: None,
    }
}

/// Why a new user was not made, by the flag that named the address.
fn user_not_created(e: StoreError, flag: &str) -> anyhow::Error {
    match e {
        StoreError::EmailTaken => {
            InputError::error(format!("{flag}: that address already belongs to a user"))
        }
        e => anyhow::anyhow!("store: {e}"),
    }
}

/// An operator's change to `user` (and so to their tenant), audited.
fn audit_operator(event: crate::audit::Event, user: &User, detail: &str) {
    let who = crate::audit::Who {
        user_id: Some(&user.id),
        tenant_id: Some(&user.tenant_id),
        ..Default::default()
    };
    crate::audit::event(event, &who, detail);
}

/// What `admin scim-token` does to the named token.
#[derive(Debug, Clone)]
pub enum ScimTokenAction {
    /// A new token, allowed from `networks` (CIDR list; empty: any).
    Create {
        networks: String,
    },
    /// A new secret under the same name and networks.
    Rotate,
    Revoke,
}

/// What `create-tenant` made.
#[derive(Debug)]
pub struct CreatedTenant {
    pub tenant_id: String,
    pub user_id: String,
    pub registration_link: String,
}

impl Admin {
    pub fn open(config: Config) -> anyhow::Result<Admin> {
        let store = crate::state::open_store(&config)?;
        let mailer = Mailer::new(&config.mail)?;
        let clock = Clock::with_offset_file(config.development.clock_offset_file.clone());
        Ok(Admin {
            config,
            store,
            mailer,
            clock,
        })
    }

    fn invitation_ticket(&self, user_id: &str) -> (String, TicketRecord) {
        let (token, record) =
            crate::tickets::issue(self.clock.now(), user_id, TicketPurpose::Invitation, None);
        (
            crate::tickets::link(
                &self.config.internet.public_url,
                TicketPurpose::Invitation,
                &token,
            ),
            record,
        )
    }

    async fn mail_invitation(&self, user: &User, link: &str) {
        // A user the holder invited hears it in the user's wording, with
        // the holder named; only the holder is told of their contract.
        let inviter = if user.role == Role::ContractHolder {
            None
        } else {
            self.store
                .list_users(Some(&user.tenant_id))
                .await
                .ok()
                .and_then(|users| users.into_iter().find(|u| u.role == Role::ContractHolder))
                .map(|holder| holder.email)
        };
        let text = sekisho_pages::mail::invitation(
            &self.config.service_name,
            &user.name,
            inviter.as_deref(),
            link,
        );
        // A failed send is reported by the mailer; the link is printed too,
        // so the operator can pass it on.
        let _ = self.mailer.send("invitation", &user.email, &text).await;
    }

    /// Creates a tenant and its contract holder, mails the registration
    /// invitation and returns its link.
    pub async fn create_tenant(
        &self,
        plan: Plan,
        holder_email: &str,
        holder_name: &str,
        two_step_enabled: bool,
    ) -> anyhow::Result<CreatedTenant> {
        let email = sekisho_policy::email::validate_email(holder_email).map_err(|p| {
            InputError::error(format!(
                "--holder-email: '{holder_email}' is not a usable mail address ({p:?})"
            ))
        })?;
        let now = self.clock.now();
        let tenant = Tenant {
            id: crate::crypto::random_id(),
            plan,
            created_at: now,
            two_step_enabled,
            access_route: Default::default(),
            lines: Vec::new(),
            line_consents: Vec::new(),
            ad: None,
            passkeys_required: false,
            new_device_mail: true,
            binding_required: false,
            scim_tokens: Vec::new(),
        };
        let holder = User {
            id: crate::crypto::random_id(),
            tenant_id: tenant.id.clone(),
            name: match holder_name.trim() {
                // No name given: the address stands in (a passkey needs one).
                "" => email.clone(),
                name => name.to_string(),
            },
            email,
            role: Role::ContractHolder,
            status: UserStatus::Invited,
            method: LoginMethod::Password,
            password_hash: None,
            created_at: now,
            locked: false,
            two_step: None,
            two_step_generation: 0,
            last_totp_step: None,
            last_login_at: None,
            identity: None,
            breached_password: None,
            known_browsers: Vec::new(),
            locked_down: false,
            provisioning: None,
        };
        let (link, ticket) = self.invitation_ticket(&holder.id);
        match self
            .store
            .create_tenant_with_holder(tenant.clone(), holder.clone(), ticket)
            .await
        {
            Ok(()) => {}
            Err(e) => return Err(user_not_created(e, "--holder-email")),
        }
        audit_operator(crate::audit::Event::TenantCreated, &holder, plan.as_str());
        self.mail_invitation(&holder, &link).await;
        Ok(CreatedTenant {
            tenant_id: tenant.id,
            user_id: holder.id,
            registration_link: link,
        })
    }

    /// Invites a user to a tenant, as the console's ユーザー招待 does: the
    /// invitation is mailed (naming the holder) and its link returned.
    pub async fn invite(
        &self,
        tenant_id: &str,
        email: &str,
        name: &str,
        role: Role,
    ) -> anyhow::Result<(User, String)> {
        let email = sekisho_policy::email::validate_email(email).map_err(|p| {
            InputError::error(format!(
                "--email: '{email}' is not a usable mail address ({p:?})"
            ))
        })?;
        let name = name.trim().to_string();
        if !usable_name(&name) {
            return Err(InputError::error(
                "--name: give a name of 1 to 100 characters, without control characters",
            ));
        }
        let tenant = self
            .store
            .get_tenant(tenant_id)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?
            .ok_or_else(|| InputError::error(format!("--tenant: no tenant '{tenant_id}'")))?;
        let user = invited_user(&tenant.id, email, name, role, self.clock.now());
        let (link, ticket) = self.invitation_ticket(&user.id);
        if let Err(e) = self.store.create_invited_user(user.clone(), ticket).await {
            return Err(user_not_created(e, "--email"));
        }
        audit_operator(
            crate::audit::Event::UserInvited,
            &user,
            &format!("user={} role={} by=operator", user.id, role.as_str()),
        );
        self.mail_invitation(&user, &link).await;
        Ok((user, link))
    }

    /// Issues a fresh invitation to a user still in status invited (the old
    /// link stops working) and mails it.
    pub async fn reinvite(&self, user: &User) -> anyhow::Result<String> {
        if user.status != UserStatus::Invited {
            anyhow::bail!("{} has already registered", user.email);
        }
        let (link, ticket) = self.invitation_ticket(&user.id);
        self.store
            .replace_ticket(ticket)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?;
        self.mail_invitation(user, &link).await;
        Ok(link)
    }

    /// Unlocks the account with this login ID.
    pub async fn unlock(&self, email: &str) -> anyhow::Result<User> {
        let canonical = sekisho_policy::email::canonical_identifier(email);
        let user = self
            .store
            .find_user_by_email(&canonical)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?
            .ok_or_else(|| {
                InputError::error(format!("EMAIL: no user has the login ID '{email}'"))
            })?;
        let user = self
            .store
            .unlock_user(&user.id)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?;
        crate::metrics::ACCOUNT_EVENTS
            .with_label_values(&["unlock_admin"])
            .inc();
        crate::audit::event(
            crate::audit::Event::AccountUnlocked,
            &crate::audit::Who {
                user_id: Some(&user.id),
                tenant_id: Some(&user.tenant_id),
                ..Default::default()
            },
            "admin_command",
        );
        Ok(user)
    }

    /// Converts a trial tenant to basic, while that is still possible.
    /// Turns two-step verification on or off for a tenant.
    pub async fn set_two_step(&self, tenant_id: &str, enabled: bool) -> anyhow::Result<Tenant> {
        let tenant = tenant_changed(
            self.store.set_two_step_enabled(tenant_id, enabled).await,
            tenant_id,
        )?;
        crate::audit::event(
            crate::audit::Event::TwoStepSettingChanged,
            &crate::audit::Who {
                tenant_id: Some(&tenant.id),
                ..Default::default()
            },
            if enabled {
                "on (admin command)"
            } else {
                "off (admin command)"
            },
        );
        Ok(tenant)
    }

    /// Requires passkeys of a tenant's password users, or stops requiring
    /// them.
    pub async fn set_passkeys_required(
        &self,
        tenant_id: &str,
        required: bool,
    ) -> anyhow::Result<Tenant> {
        let tenant = tenant_changed(
            self.store.set_passkeys_required(tenant_id, required).await,
            tenant_id,
        )?;
        crate::audit::event(
            crate::audit::Event::PasskeyPolicyChanged,
            &crate::audit::Who {
                tenant_id: Some(&tenant.id),
                ..Default::default()
            },
            if required {
                "required (admin command)"
            } else {
                "optional (admin command)"
            },
        );
        Ok(tenant)
    }

    pub async fn set_plan(&self, tenant_id: &str, plan: Plan) -> anyhow::Result<Tenant> {
        let tenant = self
            .store
            .get_tenant(tenant_id)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?
            .ok_or_else(|| InputError::error(format!("TENANT_ID: no tenant '{tenant_id}'")))?;
        if plan != Plan::Basic {
            return Err(InputError::error(
                "PLAN: a tenant can only be converted to basic",
            ));
        }
        if tenant.plan == Plan::Basic {
            return Ok(tenant);
        }
        if !sekisho_policy::plan::can_convert(tenant.plan, tenant.created_at, self.clock.now()) {
            return Err(InputError::error(
                "TENANT_ID: the trial ended more than 15 days ago; the contract is closed and cannot be converted",
            ));
        }
        let tenant = self
            .store
            .set_plan(&tenant.id, plan)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?;
        crate::audit::event(
            crate::audit::Event::PlanChanged,
            &crate::audit::Who {
                tenant_id: Some(&tenant.id),
                ..Default::default()
            },
            plan.as_str(),
        );
        Ok(tenant)
    }

    /// The user with login ID `email`, or a clear refusal naming it.
    async fn user_by_email(&self, email: &str) -> anyhow::Result<User> {
        let canonical = sekisho_policy::email::canonical_identifier(email);
        self.store
            .find_user_by_email(&canonical)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?
            .ok_or_else(|| InputError::error(format!("EMAIL: no user has the login ID '{email}'")))
    }

    fn audit(&self, event: crate::audit::Event, user: &User, detail: &str) {
        crate::audit::event(
            event,
            &crate::audit::Who {
                user_id: Some(&user.id),
                tenant_id: Some(&user.tenant_id),
                ..Default::default()
            },
            &format!("{detail} (admin command)"),
        );
    }

    /// Every tenant, with how many users it has.
    pub async fn tenants(&self) -> anyhow::Result<Vec<(Tenant, usize)>> {
        let tenants = self
            .store
            .list_tenants()
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?;
        let users = self
            .store
            .list_users(None)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?;
        Ok(tenants
            .into_iter()
            .map(|t| {
                let n = users.iter().filter(|u| u.tenant_id == t.id).count();
                (t, n)
            })
            .collect())
    }

    /// Removes a user who is not a contract holder; returns them and how
    /// many sessions ended.
    pub async fn remove_user(&self, email: &str) -> anyhow::Result<(User, usize)> {
        let user = self.user_by_email(email).await?;
        if user.role == Role::ContractHolder {
            return Err(InputError::error(format!(
                "EMAIL: '{email}' is the tenant's contract holder, who cannot be removed"
            )));
        }
        let ended = self
            .store
            .remove_user(&user.id)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?;
        self.audit(
            crate::audit::Event::UserRemoved,
            &user,
            &format!("sessions_ended={}", ended.len()),
        );
        Ok((user, ended.len()))
    }

    /// Ends every session of a user (the account stays); returns them and
    /// how many sessions ended. Every gateway is told (P16).
    pub async fn end_sessions(&self, email: &str) -> anyhow::Result<(User, usize)> {
        let user = self.user_by_email(email).await?;
        let ended = self
            .store
            .delete_user_sessions(&user.id)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?;
        self.audit(
            crate::audit::Event::LoggedOutEverywhere,
            &user,
            &format!("by=operator sessions_ended={}", ended.len()),
        );
        Ok((user, ended.len()))
    }

    /// The tenant's SCIM tokens (S65), by name.
    pub async fn scim_tokens(&self, tenant_id: &str) -> anyhow::Result<Tenant> {
        self.store
            .get_tenant(tenant_id)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?
            .ok_or_else(|| InputError::error(format!("--tenant: no tenant '{tenant_id}'")))
    }

    /// Makes, rotates or revokes a tenant's SCIM token, as 設定 → SCIM
    /// does; returns the token to show once (none for a revocation).
    pub async fn scim_token(
        &self,
        tenant_id: &str,
        name: &str,
        action: ScimTokenAction,
    ) -> anyhow::Result<Option<String>> {
        use crate::store::{ScimTokenChange, StoreError};
        let tenant = self.scim_tokens(tenant_id).await?;
        if !crate::scim::usable_token_name(name) {
            return Err(InputError::error("--name: 1 to 64 printable characters"));
        }
        let existing = tenant.scim_tokens.iter().find(|t| t.name == name);
        let now = self.clock.now();
        let (shown, change, event) = match (action, existing) {
            (ScimTokenAction::Create { networks }, None) => {
                let networks = crate::scim::parse_networks(&networks).map_err(|bad| {
                    InputError::error(format!("--networks: '{bad}' is not a network"))
                })?;
                let (shown, kept) = crate::scim::issue(&tenant.id, name, networks, now);
                let event = crate::audit::Event::ScimTokenCreated;
                (Some(shown), ScimTokenChange::Add(kept), event)
            }
            (ScimTokenAction::Create { .. }, Some(_)) => {
                return Err(InputError::error(format!(
                    "--name: the tenant has a token named '{name}' (rotate or revoke it)"
                )))
            }
            (_, None) => {
                return Err(InputError::error(format!(
                    "--name: no token named '{name}'"
                )))
            }
            (ScimTokenAction::Rotate, Some(old)) => {
                let (shown, kept) = crate::scim::issue(&tenant.id, name, Vec::new(), now);
                let id = old.id.clone();
                let change = ScimTokenChange::Rotate { id, token: kept };
                (Some(shown), change, crate::audit::Event::ScimTokenRotated)
            }
            (ScimTokenAction::Revoke, Some(old)) => {
                let change = ScimTokenChange::Revoke { id: old.id.clone() };
                (None, change, crate::audit::Event::ScimTokenRevoked)
            }
        };
        match self.store.change_scim_tokens(&tenant.id, change).await {
            Ok(_) => {}
            Err(StoreError::Stale | StoreError::NotFound) => {
                return Err(InputError::error(format!(
                    "--name: the token '{name}' changed meanwhile; list the tokens again"
                )))
            }
            Err(e) => return Err(anyhow::anyhow!("store: {e}")),
        }
        let who = crate::audit::Who {
            tenant_id: Some(&tenant.id),
            ..Default::default()
        };
        crate::audit::event(event, &who, &format!("token={name:?} (admin command)"));
        Ok(shown)
    }

    /// Mails a new invitation to a user who has not registered yet.
    pub async fn resend_invitation(&self, email: &str) -> anyhow::Result<String> {
        let user = self.user_by_email(email).await?;
        if user.status != UserStatus::Invited {
            return Err(InputError::error(format!(
                "EMAIL: '{email}' has registered already"
            )));
        }
        let (link, ticket) = self.invitation_ticket(&user.id);
        self.store
            .replace_ticket(ticket)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?;
        self.mail_invitation(&user, &link).await;
        self.audit(crate::audit::Event::InvitationResent, &user, "");
        Ok(link)
    }

    /// Resets a user's two-step registration.
    pub async fn reset_two_step(&self, email: &str) -> anyhow::Result<User> {
        let user = self.user_by_email(email).await?;
        let user = self
            .store
            .reset_two_step(&user.id)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))?;
        self.audit(crate::audit::Event::TwoStepReset, &user, "");
        Ok(user)
    }

    /// Sets a tenant's access route.
    pub async fn set_access_route(
        &self,
        tenant_id: &str,
        route: sekisho_policy::line::AccessRoute,
    ) -> anyhow::Result<Tenant> {
        let tenant = tenant_changed(
            self.store.set_access_route(tenant_id, route).await,
            tenant_id,
        )?;
        crate::audit::event(
            crate::audit::Event::AccessRouteChanged,
            &crate::audit::Who {
                tenant_id: Some(&tenant.id),
                ..Default::default()
            },
            &format!("{} (admin command)", route.as_str()),
        );
        Ok(tenant)
    }

    pub async fn users(&self, tenant: Option<&str>) -> anyhow::Result<Vec<User>> {
        self.store
            .list_users(tenant)
            .await
            .map_err(|e| anyhow::anyhow!("store: {e}"))
    }
}
