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
    /// Each route's origin: a ceremony answers for the route it began on
    /// (S59), though webauthn-rs accepts either.
    internet_origin: Url,
    closed_origin: Option<Url>,
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

/// Who a challenge is for: a ceremony, on a route, in a browser (the
/// pre-session, pending login or session it is bound to).
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub ceremony: Ceremony,
    pub route: Route,
    pub binding: &'a str,
}

/// A challenge as the store keeps it.
#[derive(Serialize, Deserialize)]
struct Kept<S> {
    ceremony: Ceremony,
    /// The route the ceremony began on; its answer must come on it too.
    route: Route,
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
    /// Signed for the other route's origin (S59).
    OtherOrigin,
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
            Refusal::OtherOrigin => "origin of another route",
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
            internet_origin: origin,
            closed_origin: closed_url.filter(|_| closed_offered),
            closed_offered,
            challenge_lifetime: config.passkeys.challenge_lifetime,
            handle_key,
        })
    }

    /// Refuses an answer whose client data names the other route's origin
    /// (S59). An origin of neither route is webauthn-rs's to refuse, with
    /// the rest of its checks.
    fn check_origin(&self, route: Route, client_data_json: &[u8]) -> Result<(), Refusal> {
        let other = match route {
            Route::Internet => self.closed_origin.as_ref(),
            Route::Closed => Some(&self.internet_origin),
        };
        let said: serde_json::Value =
            serde_json::from_slice(client_data_json).map_err(|_| Refusal::Malformed)?;
        let origin = said["origin"]
            .as_str()
            .and_then(|o| Url::parse(o).ok())
            .ok_or(Refusal::Malformed)?;
        match other {
            Some(o) if o.origin() == origin.origin() => Err(Refusal::OtherOrigin),
            _ => Ok(()),
        }
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
        route: Route,
        user: &User,
        credential_json: &str,
        state: &PasskeyRegistration,
        name: String,
        now: sekisho_policy::UnixTime,
    ) -> Result<PasskeyRecord, Refusal> {
        let reg: RegisterPublicKeyCredential =
            serde_json::from_str(credential_json).map_err(|_| Refusal::Malformed)?;
        self.check_origin(route, &reg.response.client_data_json)?;
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
        route: Route,
        credential_json: &str,
        state: DiscoverableAuthentication,
    ) -> Result<PasskeyRecord, (Refusal, Option<PasskeyRecord>)> {
        let cred: PublicKeyCredential =
            serde_json::from_str(credential_json).map_err(|_| (Refusal::Malformed, None))?;
        self.check_origin(route, &cred.response.client_data_json)
            .map_err(|r| (r, None))?;
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

    /// Checks a passkey as the second step of `user_id`'s login: the
    /// passkey is theirs, and so is the authenticator's user handle when
    /// it sends one (WebAuthn L2 §7.2 step 6, S59).
    pub async fn finish_second_step(
        &self,
        store: &(impl PasskeyStore + TicketStore + ?Sized),
        now: UnixTime,
        route: Route,
        user_id: &str,
        credential_json: &str,
        state: &PasskeyAuthentication,
    ) -> Result<PasskeyRecord, (Refusal, Option<PasskeyRecord>)> {
        let cred: PublicKeyCredential =
            serde_json::from_str(credential_json).map_err(|_| (Refusal::Malformed, None))?;
        self.check_origin(route, &cred.response.client_data_json)
            .map_err(|r| (r, None))?;
        let id = credential_id_text(&CredentialID::from(cred.get_credential_id().to_vec()));
        let record = match store.find_passkey(&id).await {
            Ok(Some(r)) if r.user_id == user_id => r,
            Ok(Some(r)) => return Err((Refusal::NotThisUser, Some(r))),
            Ok(None) => return Err((Refusal::UnknownCredential, None)),
            Err(_) => return Err((Refusal::Store, None)),
        };
        if !handle_is_theirs(
            cred.response.user_handle.as_deref(),
            self.user_handle(user_id),
        ) {
            return Err((Refusal::NotThisUser, Some(record)));
        }
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
        asked: Asked<'_>,
        user_id: &str,
        state: &S,
    ) -> Result<String, StoreError> {
        let id = crypto::random_token();
        let kept = Kept {
            ceremony: asked.ceremony,
            route: asked.route,
            binding: asked.binding.to_string(),
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

    /// Takes a kept challenge: once, while live, for this ceremony, this
    /// route and this browser only. The user it was made for, and its state.
    pub async fn take<S: DeserializeOwned>(
        &self,
        store: &(impl PasskeyStore + TicketStore + ?Sized),
        now: UnixTime,
        asked: Asked<'_>,
        id: &str,
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
        if kept.ceremony != asked.ceremony
            || kept.route != asked.route
            || !crypto::same(&kept.binding, asked.binding)
        {
            return Err(Refusal::ChallengeGone);
        }
        Ok((ticket.user_id, kept.state))
    }
}

/// Whether the user handle an authenticator sent, if it sent one, is the
/// handle of the user already identified (WebAuthn L2 §7.2 step 6). An
/// authenticator may leave it out for a non-discoverable credential.
fn handle_is_theirs(sent: Option<&[u8]>, theirs: Uuid) -> bool {
    sent.is_none_or(|sent| sent == theirs.as_bytes())
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
    use std::path::Path;

    /// Passkeys on id.example.jp, its closed route on line.id.example.jp.
    fn relying_party() -> RelyingParty {
        let text = r#"
[internet]
listen = "127.0.0.1:8080"
public_url = "https://id.example.jp"
[closed]
listen = "127.0.0.1:8081"
public_url = "https://line.id.example.jp"
trusted_edges = ["127.0.0.2/32"]
[upstream]
address = "127.0.0.1:9000"
[mail]
from = "noreply@example.jp"
transport = "outbox"
[assertion]
signing_key_file = "key.pem"
generate_if_missing = true
[two_step]
seed_key_file = "seed.key"
generate_seed_key = true
"#;
        let config = sekisho_config::from_toml_str(text, Path::new("/tmp")).unwrap();
        RelyingParty::from_config(&config, &[7u8; 32]).unwrap()
    }

    fn client_data(origin: &str) -> Vec<u8> {
        serde_json::json!({ "type": "webauthn.get", "challenge": "x", "origin": origin })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn s59_an_answer_counts_only_for_the_route_it_began_on() {
        let rp = relying_party();
        let internet = client_data("https://id.example.jp");
        let closed = client_data("https://line.id.example.jp");
        assert_eq!(rp.check_origin(Route::Internet, &internet), Ok(()));
        assert_eq!(rp.check_origin(Route::Closed, &closed), Ok(()));
        assert_eq!(
            rp.check_origin(Route::Internet, &closed),
            Err(Refusal::OtherOrigin)
        );
        assert_eq!(
            rp.check_origin(Route::Closed, &internet),
            Err(Refusal::OtherOrigin)
        );
        assert_eq!(
            rp.check_origin(Route::Internet, b"not json"),
            Err(Refusal::Malformed)
        );
        // Neither route's: left to webauthn-rs, which refuses it.
        let elsewhere = client_data("https://id.example.jp.evil.test");
        assert_eq!(rp.check_origin(Route::Internet, &elsewhere), Ok(()));
    }

    #[tokio::test]
    async fn s59_a_challenge_is_taken_only_on_its_own_route() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(
            &dir.path().join("s.sqlite3"),
            Duration::from_secs(2),
        )
        .unwrap();
        let rp = relying_party();
        let asked = |route| Asked {
            ceremony: Ceremony::Login,
            route,
            binding: "browser",
        };
        let keep = |route| rp.keep(&store, 1_000, asked(route), "", &1u8);
        let id = keep(Route::Internet).await.unwrap();
        let taken: Result<(String, u8), _> =
            rp.take(&store, 1_001, asked(Route::Closed), &id).await;
        assert_eq!(taken.unwrap_err(), Refusal::ChallengeGone);
        let id = keep(Route::Internet).await.unwrap();
        let taken: Result<(String, u8), _> =
            rp.take(&store, 1_001, asked(Route::Internet), &id).await;
        assert_eq!(taken.unwrap().1, 1);
    }

    #[test]
    fn s59_the_second_step_checks_the_user_handle_sent() {
        let rp = relying_party();
        let theirs = rp.user_handle("u1");
        let someone_else = rp.user_handle("u2");
        assert!(handle_is_theirs(None, theirs));
        assert!(handle_is_theirs(Some(theirs.as_bytes()), theirs));
        assert!(!handle_is_theirs(Some(someone_else.as_bytes()), theirs));
        assert!(!handle_is_theirs(Some(b"short"), theirs));
    }

    #[test]
    fn a_user_without_a_name_is_shown_by_their_address() {
        let mut user = sekisho_store::conformance::user("u1", "t1", "taro@example.jp");
        assert_eq!(display_name(&user), "name of u1");
        user.name = "  ".into();
        assert_eq!(display_name(&user), "taro@example.jp");
    }
}
