//! Records to start from, and the whole-store checks a backend's own tests
//! call (a populated store, an export's round trip).

use crate::*;
use sekisho_policy::line::AccessRoute;
use sekisho_policy::model::{LoginMethod, Plan, Role, Route, UserStatus};
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::UnixTime;
use sekisho_policy::DAY;

pub const NOW: UnixTime = 1_800_000_000;

/// The manual's lock: ten in a row, a quiet day forgets a shorter run.
pub const RULE: AttemptRule = AttemptRule {
    threshold: 10,
    forget_after: sekisho_policy::DAY,
};

pub fn tenant(id: &str) -> Tenant {
    Tenant {
        id: id.into(),
        plan: Plan::Basic,
        created_at: NOW,
        two_step_enabled: true,
        access_route: AccessRoute::LineAndInternet,
        lines: Vec::new(),
        line_consents: Vec::new(),
        ad: None,
        passkeys_required: false,
        new_device_mail: true,
        binding_required: false,
        scim_tokens: Vec::new(),
    }
}

pub fn user(id: &str, tenant_id: &str, email: &str) -> User {
    User {
        id: id.into(),
        tenant_id: tenant_id.into(),
        email: email.into(),
        name: format!("name of {id}"),
        role: Role::ContractHolder,
        status: UserStatus::Invited,
        method: LoginMethod::Password,
        password_hash: None,
        created_at: NOW,
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

pub fn ticket(
    hash: &str,
    purpose: TicketPurpose,
    user_id: &str,
    expires_at: UnixTime,
) -> TicketRecord {
    TicketRecord {
        hash: hash.into(),
        purpose: purpose.as_str().into(),
        user_id: user_id.into(),
        issued_at: NOW,
        expires_at,
        staged: None,
    }
}

pub fn session(hash: &str, user_id: &str, tenant_id: &str) -> SessionRecord {
    SessionRecord {
        id_hash: hash.into(),
        user_id: user_id.into(),
        tenant_id: tenant_id.into(),
        created_at: NOW,
        last_seen: NOW,
        expires_at: NOW + DAY,
        route: Route::Internet,
        method: LoginMethod::Password,
        client_ip: "127.0.0.1".into(),
        user_agent: "test".into(),
        line: None,
        binding: None,
    }
}

/// A binding to a browser's key, as a DBSC registration makes it (S62).
pub fn binding(id: &str) -> SessionBinding {
    SessionBinding {
        id: id.into(),
        x: "x-of-the-key".into(),
        y: "y-of-the-key".into(),
        bound_at: NOW,
        refreshes: 0,
    }
}

/// Tenant `t{n}` with its holder `u{n}` (`holder{n}@example.jp`) and the
/// holder's invitation `inv{n}`.
pub async fn seed(store: &dyn Store, n: &str) {
    store
        .create_tenant_with_holder(
            tenant(&format!("t{n}")),
            user(
                &format!("u{n}"),
                &format!("t{n}"),
                &format!("holder{n}@example.jp"),
            ),
            ticket(
                &format!("inv{n}"),
                TicketPurpose::Invitation,
                &format!("u{n}"),
                NOW + 14 * DAY,
            ),
        )
        .await
        .unwrap();
}

pub async fn active(store: &dyn Store, n: &str) {
    seed(store, n).await;
    store
        .stage_ticket(&format!("inv{n}"), TicketPurpose::Invitation, "hash-0", NOW)
        .await
        .unwrap();
    store
        .complete_registration(&format!("inv{n}"), NOW)
        .await
        .unwrap();
}

/// Expands to one `#[tokio::test]` per conformance check, each with a fresh
/// store from `$make` (an async expression returning a [`SharedStore`]).
pub fn registration(recovery_hash: &str) -> TwoStepRegistration {
    TwoStepRegistration {
        kind: TwoStepKind::Sms,
        phone: Some("+819012345678".into()),
        totp_secret: None,
        recovery_hash: recovery_hash.into(),
        registered_at: NOW,
    }
}

pub fn pending(id_hash: &str, user_id: &str) -> PendingLogin {
    PendingLogin {
        id_hash: id_hash.into(),
        browser: "b".into(),
        user_id: user_id.into(),
        route: Route::Internet,
        menu: false,
        next: "/".into(),
        generation: 0,
        created_at: NOW,
        expires_at: NOW + 900,
        sms: None,
        remember: false,
        passed: false,
        recovery_sealed: None,
        passkey: PasskeyDemand::Enrol,
    }
}

pub fn trusted(id_hash: &str, user_id: &str, generation: u32) -> TrustedBrowser {
    TrustedBrowser {
        id_hash: id_hash.into(),
        id: format!("id-{id_hash}"),
        user_id: user_id.into(),
        generation,
        created_at: NOW,
        last_used: NOW,
        user_agent: "test".into(),
        client_ip: "127.0.0.1".into(),
    }
}

pub fn passkey(credential_id: &str, user_id: &str, created_at: UnixTime) -> PasskeyRecord {
    PasskeyRecord {
        credential_id: credential_id.into(),
        user_id: user_id.into(),
        name: format!("key {credential_id}"),
        created_at,
        last_used_at: None,
        counter: 0,
        backup_eligible: true,
        backup_state: false,
        credential: format!("{{\"cred\":\"{credential_id}\"}}"),
    }
}

/// Fills a store with one of every kind of record, through its own steps.
pub async fn populate(store: &dyn Store) {
    seed(store, "1").await;
    seed(store, "2").await;
    store.secret("csrf", vec![1, 2, 3]).await.unwrap();
    store
        .complete_federated_registration(
            "inv2",
            LoginMethod::Google,
            FederatedIdentity {
                issuer: "https://idp.example".into(),
                subject: "sub-2".into(),
            },
            NOW,
        )
        .await
        .unwrap();
    store
        .create_session(session("s1", "u1", "t1"))
        .await
        .unwrap();
    store
        .create_session(session("s2", "u2", "t2"))
        .await
        .unwrap();
    store
        .admit_attempt("holder1@example.jp", RULE, NOW)
        .await
        .unwrap();
    store
        .save_line_settings("t1", AccessRoute::LineOnly, vec!["CAF1234567890".into()])
        .await
        .unwrap();
    store
        .save_ad_connection(
            "t1",
            AdConnection {
                connection_id: "adfs-abcdefghjkmnpqrs23".into(),
                issuer: "https://adfs.example/adfs".into(),
                client_id: "cid".into(),
                client_secret_sealed: "v1:00:00".into(),
                updated_at: NOW,
            },
        )
        .await
        .unwrap();
    store
        .add_trusted_browser(trusted("b1", "u1", 0))
        .await
        .unwrap();
    store.put_pending(pending("p1", "u1")).await.unwrap();
    store.add_passkey(passkey("pk1", "u1", NOW)).await.unwrap();
    // What S63 and S64 keep on the user and the tenant travels too.
    for b in ["known-a", "known-b"] {
        let browser = KnownBrowser {
            id_hash: b.into(),
            first_seen: NOW,
            last_seen: NOW,
        };
        let not_me = ticket("nm1", TicketPurpose::NotMe, "u1", NOW + DAY);
        store.note_browser("u1", browser, 20, not_me).await.unwrap();
    }
    store.mark_password_breached("u1", "hash-0").await.unwrap();
    store.set_new_device_mail("t2", false).await.unwrap();
    // And a session's device binding, and the tenant's requirement (S62).
    assert!(store.bind_session("s1", binding("dbsc-1")).await.unwrap());
    store.set_binding_required("t1", true).await.unwrap();
    // And SCIM's tokens and a provisioned user (S65).
    store
        .change_scim_tokens("t1", ScimTokenChange::Add(scim_token("k1", "entra")))
        .await
        .unwrap();
    let mut invited = user("u9", "t1", "staff9@example.jp");
    invited.role = sekisho_policy::model::Role::User;
    let ticket9 = ticket("inv9", TicketPurpose::Invitation, "u9", NOW + DAY);
    store.create_invited_user(invited, ticket9).await.unwrap();
    store
        .apply_directory("u9", directory("staff9@example.jp", false))
        .await
        .unwrap();
}

/// A SCIM token named `name`.
pub fn scim_token(id: &str, name: &str) -> ScimToken {
    ScimToken {
        id: id.into(),
        name: name.into(),
        hash: format!("hash-{id}"),
        created_at: NOW,
        networks: vec!["127.0.0.0/8".into()],
    }
}

/// What a directory says of a staff member at `email`.
pub fn directory(email: &str, active: bool) -> DirectoryChange {
    DirectoryChange {
        name: "佐藤 花子".into(),
        email: email.into(),
        role: Some(sekisho_policy::model::Role::Admin),
        provisioning: Provisioning {
            external_id: Some("ext-9".into()),
            user_name: "hanako@corp.example.onmicrosoft.com".into(),
            active,
            by: "entra".into(),
            given_name: Some("花子".into()),
            family_name: Some("佐藤".into()),
            display_name: None,
            email_type: Some("work".into()),
            email_primary: Some(true),
        },
    }
}

/// Exports `from`, imports into the empty `to`, and checks that `to` now
/// exports the same and answers as `from` did; a second import is refused.
pub async fn round_trip(from: &dyn Store, to: &dyn Store) {
    let dump = from.export().await.unwrap();
    assert_eq!(dump.format, DUMP_FORMAT);
    assert!(!dump.users.is_empty() && !dump.sessions.is_empty());
    to.import(dump.clone()).await.unwrap();
    assert_eq!(to.export().await.unwrap().sorted(), dump.clone().sorted());
    assert_eq!(to.import(dump).await.unwrap_err(), StoreError::Stale);
    let view = to.session_view("s1").await.unwrap().unwrap();
    assert_eq!(view.user.email, "holder1@example.jp");
    assert_eq!(view.tenant.lines, vec!["CAF1234567890".to_string()]);
    assert_eq!(to.secret("csrf", vec![9]).await.unwrap(), vec![1, 2, 3]);
    let fed = to
        .find_user_by_identity("https://idp.example", "sub-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fed.id, "u2");
    assert_eq!(
        to.find_tenant_by_connection("adfs-abcdefghjkmnpqrs23")
            .await
            .unwrap()
            .unwrap()
            .id,
        "t1"
    );
    assert!(
        to.export()
            .await
            .unwrap()
            .failures
            .contains(&(counter_key("holder1@example.jp"), 1)),
        "failure counts carried"
    );
    assert!(to
        .use_trusted_browser("b1", "u1", 0, 30 * DAY, NOW)
        .await
        .unwrap());
    assert!(to.get_pending("p1", NOW).await.unwrap().is_some());
    assert_eq!(to.list_passkeys("u1").await.unwrap().len(), 1);
    assert_eq!(to.find_passkey("pk1").await.unwrap().unwrap().user_id, "u1");
}
