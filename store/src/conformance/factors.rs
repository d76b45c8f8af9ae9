//! Two-step verification, remembered browsers, passkeys, counted events,
//! tenant settings, lines, providers and Active Directory connections.

use crate::*;
use sekisho_policy::line::AccessRoute;
use sekisho_policy::model::{LoginMethod, Role, Route, UserStatus};
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::DAY;

use super::fixtures::*;

pub async fn two_step_registration_waits_for_its_generation(store: SharedStore) {
    seed(&*store, "1").await;
    store
        .register_two_step("u1", 0, registration("r1"))
        .await
        .unwrap();
    // A second set-up of the same generation (another browser) loses.
    assert_eq!(
        store
            .register_two_step("u1", 0, registration("r2"))
            .await
            .unwrap_err(),
        StoreError::Stale
    );
    let u = store.get_user("u1").await.unwrap().unwrap();
    assert_eq!(u.two_step.unwrap().recovery_hash, "r1");
    store
        .add_trusted_browser(trusted("tb1", "u1", 0))
        .await
        .unwrap();
    store.put_pending(pending("p1", "u1")).await.unwrap();
    // The contract holder's method change resets it, with what hangs on it.
    store
        .change_method(
            MethodChange {
                user_id: "u1".into(),
                method: LoginMethod::Password,
                password_hash: Some("h".into()),
                reset_two_step: true,
                ticket_hash: None,
                identity: None,
            },
            NOW,
        )
        .await
        .unwrap();
    let u = store.get_user("u1").await.unwrap().unwrap();
    assert!(u.two_step.is_none());
    assert_eq!(u.two_step_generation, 1);
    assert!(store.list_trusted_browsers("u1").await.unwrap().is_empty());
    assert!(store.get_pending("p1", NOW).await.unwrap().is_none());
    assert_eq!(
        store
            .register_two_step("u1", 0, registration("r3"))
            .await
            .unwrap_err(),
        StoreError::Stale
    );
    store
        .register_two_step("u1", 1, registration("r3"))
        .await
        .unwrap();
}

pub async fn totp_steps_are_accepted_once_and_in_order(store: SharedStore) {
    seed(&*store, "1").await;
    assert!(store.accept_totp_step("u1", 10).await.unwrap());
    assert!(!store.accept_totp_step("u1", 10).await.unwrap());
    assert!(!store.accept_totp_step("u1", 9).await.unwrap());
    assert!(store.accept_totp_step("u1", 11).await.unwrap());
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.accept_totp_step("u1", 50).await.unwrap()
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.unwrap() as u32;
    }
    assert_eq!(accepted, 1);
}

pub async fn a_totp_seed_is_replaced_only_from_what_it_is(store: SharedStore) {
    seed(&*store, "1").await;
    // No registration yet: nothing to replace.
    assert!(!store.replace_totp_secret("u1", "A", "B").await.unwrap());
    let mut reg = registration("r1");
    reg.kind = TwoStepKind::Totp;
    reg.phone = None;
    reg.totp_secret = Some("CLEARSEED".into());
    store.register_two_step("u1", 0, reg).await.unwrap();
    assert!(!store
        .replace_totp_secret("u1", "OTHER", "v1:x")
        .await
        .unwrap());
    assert!(store
        .replace_totp_secret("u1", "CLEARSEED", "v1:sealed")
        .await
        .unwrap());
    assert!(!store
        .replace_totp_secret("u1", "CLEARSEED", "v1:again")
        .await
        .unwrap());
    let u = store.get_user("u1").await.unwrap().unwrap();
    let two_step = u.two_step.unwrap();
    assert_eq!(two_step.totp_secret.as_deref(), Some("v1:sealed"));
    assert_eq!(
        two_step.recovery_hash, "r1",
        "the rest of the registration kept"
    );
    assert!(!store.replace_totp_secret("nobody", "A", "B").await.unwrap());
}

pub async fn the_console_changes_roles_and_resets_two_step(store: SharedStore) {
    seed(&*store, "1").await;
    assert_eq!(
        store.set_role("nobody", Role::Admin).await.unwrap_err(),
        StoreError::NotFound
    );
    let u = store.set_role("u1", Role::Admin).await.unwrap();
    assert_eq!(u.role, Role::Admin);
    assert_eq!(
        store.get_user("u1").await.unwrap().unwrap().role,
        Role::Admin
    );
    store
        .register_two_step("u1", 0, registration("r1"))
        .await
        .unwrap();
    store
        .add_trusted_browser(trusted("tb1", "u1", 0))
        .await
        .unwrap();
    store.put_pending(pending("p1", "u1")).await.unwrap();
    let u = store.reset_two_step("u1").await.unwrap();
    assert!(u.two_step.is_none());
    assert_eq!(u.two_step_generation, 1);
    assert!(store.list_trusted_browsers("u1").await.unwrap().is_empty());
    assert!(store.get_pending("p1", NOW).await.unwrap().is_none());
    assert_eq!(store.get_user("u1").await.unwrap().unwrap(), u);
}

pub async fn sms_codes_are_single_use_and_expire(store: SharedStore) {
    seed(&*store, "1").await;
    let mut p = pending("p1", "u1");
    p.sms = Some(SmsChallenge {
        phone: "+819012345678".into(),
        code_hash: Some("c1".into()),
        sent_at: NOW,
        expires_at: NOW + 600,
    });
    store.put_pending(p.clone()).await.unwrap();
    assert_eq!(store.consume_sms_code("p1", "c0", NOW).await.unwrap(), None);
    assert_eq!(
        store.consume_sms_code("p1", "c1", NOW + 600).await.unwrap(),
        None
    );
    assert_eq!(store.consume_sms_code("p2", "c1", NOW).await.unwrap(), None);
    assert_eq!(
        store
            .consume_sms_code("p1", "c1", NOW + 1)
            .await
            .unwrap()
            .as_deref(),
        Some("+819012345678")
    );
    assert_eq!(
        store.consume_sms_code("p1", "c1", NOW + 2).await.unwrap(),
        None
    );
    // Taking a pending login succeeds once; an expired one is gone.
    assert!(store.take_pending("p1", NOW).await.unwrap().is_some());
    assert!(store.take_pending("p1", NOW).await.unwrap().is_none());
    store.put_pending(p).await.unwrap();
    assert!(store.get_pending("p1", NOW + 900).await.unwrap().is_none());
    assert_eq!(store.purge_expired(NOW + 900).await.unwrap(), 1);
}

pub async fn recovery_code_is_single_use_and_resets(store: SharedStore) {
    seed(&*store, "1").await;
    store
        .register_two_step("u1", 0, registration("r1"))
        .await
        .unwrap();
    store.put_pending(pending("p1", "u1")).await.unwrap();
    store.put_pending(pending("p2", "u1")).await.unwrap();
    assert!(store
        .use_recovery_code("p1", "wrong", NOW)
        .await
        .unwrap()
        .is_none());
    let taken = store
        .use_recovery_code("p1", "r1", NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.user_id, "u1");
    let u = store.get_user("u1").await.unwrap().unwrap();
    assert!(u.two_step.is_none() && u.two_step_generation == 1);
    // Used: neither this login nor another one can use it again.
    assert!(store
        .use_recovery_code("p1", "r1", NOW)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .use_recovery_code("p2", "r1", NOW)
        .await
        .unwrap()
        .is_none());
}

pub async fn trusted_browsers_slide_and_are_revoked(store: SharedStore) {
    seed(&*store, "1").await;
    seed(&*store, "2").await;
    let window = 30 * DAY;
    store
        .add_trusted_browser(trusted("tb1", "u1", 0))
        .await
        .unwrap();
    store
        .add_trusted_browser(trusted("tb2", "u1", 0))
        .await
        .unwrap();
    assert!(!store
        .use_trusted_browser("tb1", "u2", 0, window, NOW)
        .await
        .unwrap());
    assert!(!store
        .use_trusted_browser("tb1", "u1", 1, window, NOW)
        .await
        .unwrap());
    assert!(!store
        .use_trusted_browser("nope", "u1", 0, window, NOW)
        .await
        .unwrap());
    // Used on day 20, it lasts until day 50; unused, tb2 ends on day 30.
    assert!(store
        .use_trusted_browser("tb1", "u1", 0, window, NOW + 20 * DAY)
        .await
        .unwrap());
    assert!(store
        .use_trusted_browser("tb1", "u1", 0, window, NOW + 50 * DAY)
        .await
        .unwrap());
    assert!(!store
        .use_trusted_browser("tb2", "u1", 0, window, NOW + 31 * DAY)
        .await
        .unwrap());
    assert_eq!(store.list_trusted_browsers("u1").await.unwrap().len(), 2);
    assert!(!store.revoke_trusted_browser("u2", "id-tb1").await.unwrap());
    assert!(store.revoke_trusted_browser("u1", "id-tb1").await.unwrap());
    assert!(!store
        .use_trusted_browser("tb1", "u1", 0, window, NOW + 50 * DAY)
        .await
        .unwrap());
    assert_eq!(store.revoke_trusted_browsers("u1").await.unwrap(), 1);
    assert!(store.list_trusted_browsers("u1").await.unwrap().is_empty());
}

pub async fn passkeys_belong_to_one_user(store: SharedStore) {
    active(&*store, "1").await;
    active(&*store, "2").await;
    store
        .add_passkey(passkey("c2", "u1", NOW + 1))
        .await
        .unwrap();
    store.add_passkey(passkey("c1", "u1", NOW)).await.unwrap();
    // A credential id is registered once, to one user.
    assert_eq!(
        store
            .add_passkey(passkey("c1", "u2", NOW))
            .await
            .unwrap_err(),
        StoreError::IdentityTaken
    );
    assert_eq!(
        store
            .add_passkey(passkey("c9", "nobody", NOW))
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    let listed: Vec<String> = store
        .list_passkeys("u1")
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.credential_id)
        .collect();
    assert_eq!(
        listed,
        vec!["c1".to_string(), "c2".to_string()],
        "oldest first"
    );
    assert!(store.list_passkeys("u2").await.unwrap().is_empty());
    assert_eq!(
        store.find_passkey("c1").await.unwrap().unwrap().user_id,
        "u1"
    );
    assert!(store.find_passkey("c9").await.unwrap().is_none());

    // A use keeps the counter, the flags and the time; never another's.
    let used = PasskeyUse {
        counter: 7,
        backup_eligible: true,
        backup_state: true,
        credential: "{\"cred\":\"c1\",\"counter\":7}".into(),
        at: NOW + 60,
    };
    assert!(!store.use_passkey("u2", "c1", used.clone()).await.unwrap());
    assert!(store.use_passkey("u1", "c1", used).await.unwrap());
    let p = store.find_passkey("c1").await.unwrap().unwrap();
    assert_eq!(
        (p.counter, p.backup_state, p.last_used_at),
        (7, true, Some(NOW + 60))
    );
    assert!(p.credential.contains("\"counter\":7"));

    assert!(!store.rename_passkey("u2", "c1", "stolen").await.unwrap());
    assert!(store.rename_passkey("u1", "c1", "会社のPC").await.unwrap());
    assert_eq!(
        store.find_passkey("c1").await.unwrap().unwrap().name,
        "会社のPC"
    );

    assert!(store.remove_passkey("u2", "c1").await.unwrap().is_none());
    let removed = store.remove_passkey("u1", "c1").await.unwrap().unwrap();
    assert_eq!(removed.name, "会社のPC");
    assert!(store.find_passkey("c1").await.unwrap().is_none());
    assert!(!store
        .use_passkey(
            "u1",
            "c1",
            PasskeyUse {
                counter: 8,
                backup_eligible: true,
                backup_state: true,
                credential: String::new(),
                at: NOW + 120,
            }
        )
        .await
        .unwrap());
    // Removed, the id may be registered again.
    store
        .add_passkey(passkey("c1", "u1", NOW + 2))
        .await
        .unwrap();
    assert_eq!(store.remove_passkeys("u1").await.unwrap(), 2);
    assert!(store.list_passkeys("u1").await.unwrap().is_empty());

    // Removing the user removes their passkeys.
    store.add_passkey(passkey("c3", "u2", NOW)).await.unwrap();
    store.remove_user("u2").await.unwrap();
    assert!(store.find_passkey("c3").await.unwrap().is_none());
}

pub async fn events_are_counted_in_fixed_windows(store: SharedStore) {
    assert_eq!(store.count_event("k", 60, NOW).await.unwrap(), 1);
    assert_eq!(store.count_event("k", 60, NOW + 59).await.unwrap(), 2);
    assert_eq!(store.count_event("other", 60, NOW + 59).await.unwrap(), 1);
    assert_eq!(store.count_event("k", 60, NOW + 60).await.unwrap(), 1);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.count_event("c", 60, NOW).await.unwrap()
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort();
    assert_eq!(seen, (1..=10).collect::<Vec<u32>>());
}

pub async fn line_settings_are_saved_together(store: SharedStore) {
    seed(&*store, "1").await;
    let lines = vec!["CAF1234567890".to_string(), "COP12345678".to_string()];
    let t = store
        .save_line_settings("t1", AccessRoute::LineOnly, lines.clone())
        .await
        .unwrap();
    assert_eq!(t.access_route, AccessRoute::LineOnly);
    assert!(!t.two_step_applies(), "line-only forces two-step off");
    assert!(t.two_step_enabled, "...but keeps the setting");
    store.consent_line("t1", "COP12345678").await.unwrap();
    store.consent_line("t1", "COP12345678").await.unwrap();
    let t = store.get_tenant("t1").await.unwrap().unwrap();
    assert_eq!(t.lines, lines);
    assert_eq!(t.line_consents, vec!["COP12345678".to_string()]);
    // Removing a line removes its consent.
    let t = store
        .save_line_settings("t1", AccessRoute::LineOnly, vec!["CAF1234567890".into()])
        .await
        .unwrap();
    assert!(t.line_consents.is_empty());
    let t = store
        .set_access_route("t1", AccessRoute::LineAndInternet)
        .await
        .unwrap();
    assert!(t.two_step_applies());
    assert_eq!(t.lines, vec!["CAF1234567890".to_string()]);
    assert_eq!(
        store
            .set_access_route("t9", AccessRoute::LineOnly)
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    // A session remembers its line.
    let mut s = session("s1", "u1", "t1");
    s.route = Route::Closed;
    s.line = Some("CAF1234567890".into());
    store.create_session(s.clone()).await.unwrap();
    let v = store.session_view("s1").await.unwrap().unwrap();
    assert_eq!(v.session, s);
}

pub async fn federated_identities_bind_once(store: SharedStore) {
    seed(&*store, "1").await;
    seed(&*store, "2").await;
    let id = FederatedIdentity {
        issuer: "https://idp.example".into(),
        subject: "alice".into(),
    };
    let u = store
        .complete_federated_registration("inv1", LoginMethod::Google, id.clone(), NOW)
        .await
        .unwrap();
    assert_eq!(u.status, UserStatus::Active);
    assert_eq!(u.method, LoginMethod::Google);
    assert!(u.password_hash.is_none());
    let found = store
        .find_user_by_identity("https://idp.example", "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "u1");
    assert!(store
        .find_user_by_identity("https://other.example", "alice")
        .await
        .unwrap()
        .is_none());
    // The same account for another user: refused, nothing changed.
    assert_eq!(
        store
            .complete_federated_registration("inv2", LoginMethod::Google, id, NOW)
            .await
            .unwrap_err(),
        StoreError::IdentityTaken
    );
    let u2 = store.get_user("u2").await.unwrap().unwrap();
    assert_eq!(u2.status, UserStatus::Invited);
    assert!(store
        .peek_ticket("inv2", TicketPurpose::Invitation, NOW)
        .await
        .unwrap()
        .is_some());
    // A flow's ticket is taken once.
    store
        .put_ticket(ticket("f1", TicketPurpose::Federation, "", NOW + 600))
        .await
        .unwrap();
    assert!(store
        .take_ticket("f1", TicketPurpose::Invitation, NOW)
        .await
        .unwrap()
        .is_none());
    assert!(
        store
            .take_ticket("f1", TicketPurpose::Federation, NOW)
            .await
            .unwrap()
            .is_some(),
        "a take of another purpose leaves the ticket"
    );
    store
        .put_ticket(ticket("f2", TicketPurpose::Federation, "", NOW + 600))
        .await
        .unwrap();
    assert!(store
        .take_ticket("f2", TicketPurpose::Federation, NOW)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .take_ticket("f2", TicketPurpose::Federation, NOW)
        .await
        .unwrap()
        .is_none());
}

pub async fn passkeys_are_required_per_tenant(store: SharedStore) {
    seed(&*store, "1").await;
    seed(&*store, "2").await;
    let t = store.set_passkeys_required("t1", true).await.unwrap();
    assert!(t.passkeys_required);
    let tenant = |id: &'static str| {
        let store = store.clone();
        async move { store.get_tenant(id).await.unwrap().unwrap() }
    };
    assert!(tenant("t1").await.passkeys_required);
    assert!(!tenant("t2").await.passkeys_required, "per tenant");
    // Nothing else of the tenant moves with it.
    assert!(tenant("t1").await.two_step_enabled);
    assert!(
        !store
            .set_passkeys_required("t1", false)
            .await
            .unwrap()
            .passkeys_required
    );
    assert_eq!(
        store.set_passkeys_required("t9", true).await.unwrap_err(),
        StoreError::NotFound
    );
}

pub async fn two_step_is_switched_per_tenant(store: SharedStore) {
    seed(&*store, "1").await;
    seed(&*store, "2").await;
    let t = store.set_two_step_enabled("t1", false).await.unwrap();
    assert!(!t.two_step_enabled);
    assert!(
        !store
            .get_tenant("t1")
            .await
            .unwrap()
            .unwrap()
            .two_step_enabled
    );
    assert!(
        store
            .get_tenant("t2")
            .await
            .unwrap()
            .unwrap()
            .two_step_enabled
    );
    assert_eq!(
        store.set_two_step_enabled("t9", true).await.unwrap_err(),
        StoreError::NotFound
    );
}

pub async fn ad_connections_are_unique_and_keep_their_id(store: SharedStore) {
    seed(&*store, "1").await;
    seed(&*store, "2").await;
    let conn = |id: &str, issuer: &str| AdConnection {
        connection_id: id.into(),
        issuer: issuer.into(),
        client_id: "cid".into(),
        client_secret_sealed: "sealed".into(),
        updated_at: NOW,
    };
    assert_eq!(
        store.find_tenant_by_connection("adfs-a").await.unwrap(),
        None
    );
    let t = store
        .save_ad_connection("t1", conn("adfs-a", "https://one/adfs"))
        .await
        .unwrap();
    assert_eq!(t.ad.as_ref().unwrap().issuer, "https://one/adfs");
    let found = store
        .find_tenant_by_connection("adfs-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "t1");
    assert_eq!(found.ad, t.ad);
    // New settings keep the ID; another ID for the same tenant is refused.
    store
        .save_ad_connection("t1", conn("adfs-a", "https://two/adfs"))
        .await
        .unwrap();
    assert_eq!(
        store
            .save_ad_connection("t1", conn("adfs-b", "https://two/adfs"))
            .await
            .unwrap_err(),
        StoreError::Stale
    );
    // One ID, one tenant.
    assert_eq!(
        store
            .save_ad_connection("t2", conn("adfs-a", "https://two/adfs"))
            .await
            .unwrap_err(),
        StoreError::Stale
    );
    assert_eq!(
        store.get_tenant("t2").await.unwrap().unwrap().ad,
        None,
        "nothing half-written"
    );
    let t1 = store
        .find_tenant_by_connection("adfs-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t1.ad.unwrap().issuer, "https://two/adfs");
    assert_eq!(
        store
            .save_ad_connection("t9", conn("adfs-c", "https://x/adfs"))
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
}
