//! Passkeys' relying party (webauthn-rs, kanidm's audited library): the
//! RP ID and origins from the public URLs, the challenges kept in the
//! store (single use, short-lived, bound to the browser that asked), and
//! the ceremonies themselves. The flows (`flows/passkeys.rs`,
//! `flows/passkey_login.rs`, the second step) decide what a result means.
//!
//! webauthn-rs checks the origin and RP ID hash, user verification (always
//! required), the signature and the signature counter; a counter that does
//! not rise is `CredentialPossibleCompromise`, which the flows audit.

use crate::crypto;
use crate::store::{
    PasskeyRecord, PasskeyStore, PasskeyUse, StoreError, TicketRecord, TicketStore, User,
};
use sekisho_policy::model::Route;
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::UnixTime;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use webauthn_rs::prelude::*;

/// Keys the user handles that authenticators keep, so that a handle names
/// no stored id.
const USER_HANDLE: &str = "sekisho-webauthn-user";

/// The relying party, when passkeys are on.
pub struct RelyingParty {
    webauthn: Webauthn,
    pub rp_id: String,
    /// Whether the closed route's host lies under the RP ID.
    closed_offered: bool,
    challenge_lifetime: Duration,
    handle_key: [u8; 32],
}

/// The name an authenticator shows beside the passkey: the user's name,
/// or their address when they have none (webauthn-rs refuses an empty
/// one, which left such a user unable to register a passkey at all).
fn display_name(user: &User) -> &str {
    match user.name.trim() {
        "" => &user.email,
        name => name,
    }
}

/// What a challenge was made for; one is never accepted for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ceremony {
    /// A sign-in without a password (discoverable credentials).
    Login,
    /// The second step of a password login.
    SecondStep,
    /// Adding a passkey from the account menu.
    Register,
}

/// A challenge as the store keeps it.
#[derive(Serialize, Deserialize)]
struct Kept<S> {
    ceremony: Ceremony,
    /// Whose browser asked: the pre-session, pending login or session.
    binding: String,
    state: S,
}

/// Why a ceremony's answer was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Used, expired, of another ceremony, or of another browser.
    ChallengeGone,
    /// Not a credential the browser could have sent.
    Malformed,
    /// No passkey with this credential id (removed, or never here).
    UnknownCredential,
    /// The authenticator's user handle is not the passkey's user.
    NotThisUser,
    /// The signature counter did not rise: a cloned authenticator.
    Cloned,
    /// webauthn-rs refused it: origin, RP ID, user verification or
    /// signature.
    Invalid(String),
    Store,
}

impl Refusal {
    /// The audit detail: a fixed phrase.
    pub fn detail(&self) -> &'static str {
        match self {
            Refusal::ChallengeGone => "challenge used or expired",
            Refusal::Malformed => "malformed credential",
            Refusal::UnknownCredential => "unknown credential",
            Refusal::NotThisUser => "not this user",
            Refusal::Cloned => "signature counter went backwards",
            Refusal::Invalid(_) => "signature, origin or user verification",
            Refusal::Store => "store unavailable",
        }
    }
}

fn refusal_of(e: WebauthnError) -> Refusal {
    match e {
        WebauthnError::CredentialPossibleCompromise => Refusal::Cloned,
        other => Refusal::Invalid(other.to_string()),
    }
}

impl RelyingParty {
    /// The relying party of `config`, or why passkeys are off.
    pub fn from_config(
        config: &sekisho_config::Config,
        seed_key: &[u8; 32],
    ) -> Result<RelyingParty, String> {
        if !config.passkeys.enabled {
            return Err("passkeys.enabled = false".into());
        }
        let origin = Url::parse(&config.internet.public_url).map_err(|e| e.to_string())?;
        let Some(rp_id) = origin.domain().map(str::to_string) else {
            return Err(format!(
                "internet.public_url ({}) names an address, not a domain: browsers accept passkeys only for domain names (use localhost for a local try)",
                config.internet.public_url
            ));
        };
        let mut builder = WebauthnBuilder::new(&rp_id, &origin)
            .map_err(|e| e.to_string())?
            .rp_name(&config.service_name)
            .timeout(config.passkeys.challenge_lifetime);
        let closed_url = config
            .closed
            .as_ref()
            .and_then(|c| Url::parse(&c.listener.public_url).ok());
        let closed_offered = closed_url
            .as_ref()
            .is_some_and(|u| sekisho_policy::passkey::host_under(u.domain().unwrap_or(""), &rp_id));
        if let (true, Some(url)) = (closed_offered, &closed_url) {
            builder = builder.append_allowed_origin(url);
        }
        let webauthn = builder.build().map_err(|e| e.to_string())?;
        let handle_key = crypto::keyed_bytes(seed_key, USER_HANDLE, &[]);
        Ok(RelyingParty {
            webauthn,
            rp_id,
            closed_offered,
            challenge_lifetime: config.passkeys.challenge_lifetime,
            handle_key,
        })
    }

    /// Whether passkeys are offered on `route`.
    pub fn offered_on(&self, route: Route) -> bool {
        sekisho_policy::passkey::offered_on(route, self.closed_offered)
    }

    /// The user handle an authenticator keeps for `user_id`: derived,
    /// stable, and naming nothing stored.
    pub fn user_handle(&self, user_id: &str) -> Uuid {
        let bytes = crypto::keyed_bytes(&self.handle_key, USER_HANDLE, &[user_id]);
        let mut handle = [0u8; 16];
        handle.copy_from_slice(&bytes[..16]);
        Uuid::from_bytes(handle)
    }

    /// Starts adding a passkey for `user`: discoverable, user
    /// verification required, none of their passkeys again.
    pub fn start_registration(
        &self,
        user: &User,
        existing: &[PasskeyRecord],
    ) -> Result<(CreationChallengeResponse, PasskeyRegistration), String> {
        let exclude: Vec<CredentialID> = existing
            .iter()
            .filter_map(|p| serde_json::from_str::<Passkey>(&p.credential).ok())
            .map(|p| p.cred_id().clone())
            .collect();
        let (mut ccr, state) = self
            .webauthn
            .start_passkey_registration(
                self.user_handle(&user.id),
                &user.email,
                display_name(user),
                Some(exclude),
            )
            .map_err(|e| e.to_string())?;
        // Discoverable, so that the login page's autofill finds it.
        if let Some(sel) = ccr.public_key.authenticator_selection.as_mut() {
            sel.require_resident_key = true;
            sel.resident_key = Some(webauthn_rs_proto::ResidentKeyRequirement::Required);
        }
        Ok((ccr, state))
    }

    /// Checks a new credential against its challenge; the record to keep.
    pub fn finish_registration(
        &self,
        user: &User,
        credential_json: &str,
        state: &PasskeyRegistration,
        name: String,
        now: sekisho_policy::UnixTime,
    ) -> Result<PasskeyRecord, Refusal> {
        let reg: RegisterPublicKeyCredential =
            serde_json::from_str(credential_json).map_err(|_| Refusal::Malformed)?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&reg, state)
            .map_err(refusal_of)?;
        let (backup_eligible, backup_state) = flags_of(&passkey);
        Ok(PasskeyRecord {
            credential_id: credential_id_text(passkey.cred_id()),
            user_id: user.id.clone(),
            name,
            created_at: now,
            last_used_at: None,
            counter: 0,
            backup_eligible,
            backup_state,
            credential: serde_json::to_string(&passkey).map_err(|_| Refusal::Malformed)?,
        })
    }

    /// A challenge for the login page's passkey sign-in.
    pub fn start_login(
        &self,
    ) -> Result<(RequestChallengeResponse, DiscoverableAuthentication), String> {
        self.webauthn
            .start_discoverable_authentication()
            .map_err(|e| e.to_string())
    }

    /// A challenge for the second step, naming the user's passkeys.
    pub fn start_second_step(
        &self,
        passkeys: &[PasskeyRecord],
    ) -> Result<(RequestChallengeResponse, PasskeyAuthentication), String> {
        let keys: Vec<Passkey> = passkeys
            .iter()
            .filter_map(|p| serde_json::from_str(&p.credential).ok())
            .collect();
        self.webauthn
            .start_passkey_authentication(&keys)
            .map_err(|e| e.to_string())
    }

    /// Checks a passkey sign-in: the credential is a registered passkey,
    /// the authenticator's user handle is its user's, and webauthn-rs
    /// accepts the assertion. Records the use (counter, flags, time).
    pub async fn finish_login(
        &self,
        store: &(impl PasskeyStore + TicketStore + ?Sized),
        now: UnixTime,
        credential_json: &str,
        state: DiscoverableAuthentication,
    ) -> Result<PasskeyRecord, (Refusal, Option<PasskeyRecord>)> {
        let cred: PublicKeyCredential =
            serde_json::from_str(credential_json).map_err(|_| (Refusal::Malformed, None))?;
        let (handle, id) = self
            .webauthn
            .identify_discoverable_authentication(&cred)
            .map_err(|_| (Refusal::Malformed, None))?;
        let id = credential_id_text(&CredentialID::from(id.to_vec()));
        let record = match store.find_passkey(&id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Err((Refusal::UnknownCredential, None)),
            Err(_) => return Err((Refusal::Store, None)),
        };
        if handle != self.user_handle(&record.user_id) {
            return Err((Refusal::NotThisUser, Some(record)));
        }
        let Ok(passkey) = serde_json::from_str::<Passkey>(&record.credential) else {
            return Err((Refusal::Malformed, Some(record)));
        };
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(&cred, state, &passkey)
            .map_err(|e| (refusal_of(e), Some(record.clone())))?;
        self.record_use(store, now, record, passkey, &result).await
    }

    /// Checks a passkey as the second step of `user_id`'s login.
    pub async fn finish_second_step(
        &self,
        store: &(impl PasskeyStore + TicketStore + ?Sized),
        now: UnixTime,
        user_id: &str,
        credential_json: &str,
        state: &PasskeyAuthentication,
    ) -> Result<PasskeyRecord, (Refusal, Option<PasskeyRecord>)> {
        let cred: PublicKeyCredential =
            serde_json::from_str(credential_json).map_err(|_| (Refusal::Malformed, None))?;
        let id = credential_id_text(&CredentialID::from(cred.get_credential_id().to_vec()));
        let record = match store.find_passkey(&id).await {
            Ok(Some(r)) if r.user_id == user_id => r,
            Ok(Some(r)) => return Err((Refusal::NotThisUser, Some(r))),
            Ok(None) => return Err((Refusal::UnknownCredential, None)),
            Err(_) => return Err((Refusal::Store, None)),
        };
        let Ok(passkey) = serde_json::from_str::<Passkey>(&record.credential) else {
            return Err((Refusal::Malformed, Some(record)));
        };
        let result = self
            .webauthn
            .finish_passkey_authentication(&cred, state)
            .map_err(|e| (refusal_of(e), Some(record.clone())))?;
        self.record_use(store, now, record, passkey, &result).await
    }

    async fn record_use(
        &self,
        store: &(impl PasskeyStore + TicketStore + ?Sized),
        now: UnixTime,
        mut record: PasskeyRecord,
        mut passkey: Passkey,
        result: &AuthenticationResult,
    ) -> Result<PasskeyRecord, (Refusal, Option<PasskeyRecord>)> {
        passkey.update_credential(result);
        let used = PasskeyUse {
            counter: result.counter(),
            backup_eligible: result.backup_eligible(),
            backup_state: result.backup_state(),
            credential: serde_json::to_string(&passkey).map_err(|_| (Refusal::Malformed, None))?,
            at: now,
        };
        match store
            .use_passkey(&record.user_id, &record.credential_id, used.clone())
            .await
        {
            Ok(true) => {}
            // Removed while the browser was asking: refused at once.
            Ok(false) => return Err((Refusal::UnknownCredential, Some(record))),
            Err(_) => return Err((Refusal::Store, Some(record))),
        }
        record.record_use(used);
        Ok(record)
    }

    /// Keeps a challenge's state for one answer from the browser bound by
    /// `binding`; the id the page sends back with its answer.
    pub async fn keep<S: Serialize>(
        &self,
        store: &(impl PasskeyStore + TicketStore + ?Sized),
        now: UnixTime,
        ceremony: Ceremony,
        binding: &str,
        user_id: &str,
        state: &S,
    ) -> Result<String, StoreError> {
        let id = crypto::random_token();
        let kept = Kept {
            ceremony,
            binding: binding.to_string(),
            state,
        };
        store
            .put_ticket(TicketRecord {
                hash: crypto::token_hash(&id),
                purpose: TicketPurpose::Passkey.as_str().into(),
                user_id: user_id.to_string(),
                issued_at: now,
                expires_at: now + self.challenge_lifetime.as_secs() as i64,
                staged: serde_json::to_string(&kept).ok(),
            })
            .await?;
        Ok(id)
    }

    /// Takes a kept challenge: once, while live, for this ceremony and
    /// this browser only. The user it was made for, and its state.
    pub async fn take<S: DeserializeOwned>(
        &self,
        store: &(impl PasskeyStore + TicketStore + ?Sized),
        now: UnixTime,
        ceremony: Ceremony,
        id: &str,
        binding: &str,
    ) -> Result<(String, S), Refusal> {
        if !crypto::looks_like_token(id) {
            return Err(Refusal::ChallengeGone);
        }
        let ticket = store
            .take_ticket(&crypto::token_hash(id), TicketPurpose::Passkey, now)
            .await
            .map_err(|_| Refusal::Store)?
            .ok_or(Refusal::ChallengeGone)?;
        let kept: Kept<S> = ticket
            .staged
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or(Refusal::ChallengeGone)?;
        if kept.ceremony != ceremony || !crypto::same(&kept.binding, binding) {
            return Err(Refusal::ChallengeGone);
        }
        Ok((ticket.user_id, kept.state))
    }
}

/// A credential id as the store keys it: base64url without padding.
pub fn credential_id_text(id: &CredentialID) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode::<&[u8]>(id.as_ref())
}

/// The backup flags webauthn-rs read at registration, from its record.
fn flags_of(passkey: &Passkey) -> (bool, bool) {
    let v = serde_json::to_value(passkey).unwrap_or_default();
    let cred = &v["cred"];
    (
        cred["backup_eligible"].as_bool().unwrap_or(false),
        cred["backup_state"].as_bool().unwrap_or(false),
    )
}

/// The JSON a page's script receives: the challenge id and the options
/// for `navigator.credentials`.
pub fn challenge_json<T: Serialize>(id: &str, options: &T) -> String {
    serde_json::json!({ "challenge": id, "options": options }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_without_a_name_is_shown_by_their_address() {
        let mut user = sekisho_store::conformance::user("u1", "t1", "taro@example.jp");
        assert_eq!(display_name(&user), "name of u1");
        user.name = "  ".into();
        assert_eq!(display_name(&user), "taro@example.jp");
    }
}
