//! The behaviour every store backend must show. Each check takes a fresh,
//! empty store; [`crate::store_conformance_tests!`] turns them into one test
//! each for a backend, so the embedded store and Redis run the same suite.

use super::*;
use sekisho_policy::line::AccessRoute;
use sekisho_policy::lock::Admission;
use sekisho_policy::model::{LoginMethod, Plan, Role, Route, UserStatus};
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::UnixTime;
use sekisho_policy::DAY;

const NOW: UnixTime = 1_800_000_000;

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

pub async fn audit_events_are_kept_by_tenant_newest_first(store: SharedStore) {
    let record = |event: &str, tenant: Option<&str>, at: i64| AuditRecord {
        seq: 0,
        at,
        event: event.to_string(),
        user_id: Some("u1".into()),
        tenant_id: tenant.map(str::to_string),
        route: Some("internet".into()),
        client: Some("192.0.2.7".into()),
        detail: "password".into(),
        expires_at: at + 90 * DAY,
    };
    for i in 0..5 {
        store
            .record_audit(record("login_succeeded", Some("t1"), NOW + i))
            .await
            .unwrap();
    }
    store
        .record_audit(record("role_changed", Some("t2"), NOW))
        .await
        .unwrap();
    // One without a tenant is not kept, and is no error.
    store
        .record_audit(record("throttled", None, NOW))
        .await
        .unwrap();

    let first = store.recent_audit("t1", None, 3).await.unwrap();
    assert_eq!(
        first.iter().map(|r| r.at).collect::<Vec<_>>(),
        vec![NOW + 4, NOW + 3, NOW + 2]
    );
    assert!(first.windows(2).all(|w| w[0].seq > w[1].seq));
    assert_eq!(first[0].event, "login_succeeded");
    assert_eq!(first[0].client.as_deref(), Some("192.0.2.7"));
    let next = store
        .recent_audit("t1", Some(first[2].seq), 3)
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|r| r.at).collect::<Vec<_>>(),
        vec![NOW + 1, NOW]
    );
    let other = store.recent_audit("t2", None, 10).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].event, "role_changed");
    assert!(store
        .recent_audit("nobody", None, 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn ping_answers(store: SharedStore) {
    store.ping().await.unwrap();
}

pub async fn tenant_and_holder_are_created_together(store: SharedStore) {
    seed(&*store, "1").await;
    assert_eq!(store.get_tenant("t1").await.unwrap(), Some(tenant("t1")));
    let u = store
        .find_user_by_email("holder1@example.jp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.id, "u1");
    assert_eq!(store.get_user("u1").await.unwrap(), Some(u.clone()));
    assert_eq!(store.list_users(Some("t1")).await.unwrap(), vec![u.clone()]);
    assert_eq!(store.list_users(None).await.unwrap().len(), 1);
    assert!(store
        .find_user_by_email("nobody@example.jp")
        .await
        .unwrap()
        .is_none());

    // The same address for another tenant: refused, and nothing of it stays.
    let err = store
        .create_tenant_with_holder(
            tenant("t2"),
            user("u2", "t2", "holder1@example.jp"),
            ticket("inv2", TicketPurpose::Invitation, "u2", NOW + DAY),
        )
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::EmailTaken);
    assert!(store.get_tenant("t2").await.unwrap().is_none());
    assert!(store.get_user("u2").await.unwrap().is_none());
    assert!(store
        .peek_ticket("inv2", TicketPurpose::Invitation, NOW)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.list_tenants().await.unwrap().len(), 1);
}

pub async fn tickets_are_bound_to_purpose_and_time(store: SharedStore) {
    seed(&*store, "1").await;
    assert!(store
        .peek_ticket("inv1", TicketPurpose::Invitation, NOW)
        .await
        .unwrap()
        .is_some());
    assert!(
        store
            .peek_ticket("inv1", TicketPurpose::Reset, NOW)
            .await
            .unwrap()
            .is_none(),
        "other purpose"
    );
    assert!(
        store
            .peek_ticket("inv1", TicketPurpose::Invitation, NOW + 14 * DAY)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(store
        .peek_ticket("nope", TicketPurpose::Invitation, NOW)
        .await
        .unwrap()
        .is_none());
}

pub async fn only_the_newest_ticket_works(store: SharedStore) {
    seed(&*store, "1").await;
    store
        .replace_ticket(ticket("inv1b", TicketPurpose::Invitation, "u1", NOW + DAY))
        .await
        .unwrap();
    assert!(store
        .peek_ticket("inv1", TicketPurpose::Invitation, NOW)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .peek_ticket("inv1b", TicketPurpose::Invitation, NOW)
        .await
        .unwrap()
        .is_some());
    let err = store
        .replace_ticket(ticket("x", TicketPurpose::Invitation, "ghost", NOW + DAY))
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NotFound);
}

pub async fn registration_uses_its_ticket_once(store: SharedStore) {
    seed(&*store, "1").await;
    assert_eq!(
        store.complete_registration("inv1", NOW).await.unwrap_err(),
        StoreError::TicketInvalid,
        "nothing staged"
    );
    store
        .stage_ticket("inv1", TicketPurpose::Invitation, "$argon2id$stub", NOW)
        .await
        .unwrap();
    assert_eq!(
        store
            .stage_ticket("inv1", TicketPurpose::Reset, "x", NOW)
            .await
            .unwrap_err(),
        StoreError::TicketInvalid
    );
    let u = store.complete_registration("inv1", NOW).await.unwrap();
    assert_eq!(u.status, UserStatus::Active);
    assert_eq!(u.password_hash.as_deref(), Some("$argon2id$stub"));
    assert_eq!(store.get_user("u1").await.unwrap().unwrap(), u);
    assert_eq!(
        store.complete_registration("inv1", NOW).await.unwrap_err(),
        StoreError::TicketInvalid,
        "used"
    );
    assert!(store
        .peek_ticket("inv1", TicketPurpose::Invitation, NOW)
        .await
        .unwrap()
        .is_none());
}

pub async fn expired_registration_is_refused(store: SharedStore) {
    seed(&*store, "1").await;
    store
        .stage_ticket("inv1", TicketPurpose::Invitation, "h", NOW)
        .await
        .unwrap();
    assert_eq!(
        store
            .complete_registration("inv1", NOW + 14 * DAY + 60)
            .await
            .unwrap_err(),
        StoreError::TicketInvalid
    );
    assert_eq!(
        store.get_user("u1").await.unwrap().unwrap().status,
        UserStatus::Invited
    );
}

pub async fn concurrent_registrations_succeed_once(store: SharedStore) {
    seed(&*store, "1").await;
    store
        .stage_ticket("inv1", TicketPurpose::Invitation, "h", NOW)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.complete_registration("inv1", NOW).await.is_ok()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}

pub async fn sessions_live_rotate_and_end(store: SharedStore) {
    seed(&*store, "1").await;
    seed(&*store, "2").await;
    store
        .create_session(session("s1", "u1", "t1"))
        .await
        .unwrap();
    let view = store.session_view("s1").await.unwrap().unwrap();
    assert_eq!(view.user.id, "u1");
    assert_eq!(view.tenant.id, "t1");
    assert!(store.session_view("missing").await.unwrap().is_none());

    store
        .touch_sessions(vec![("s1".into(), NOW + 120), ("missing".into(), NOW)])
        .await
        .unwrap();
    store
        .touch_sessions(vec![("s1".into(), NOW + 60)])
        .await
        .unwrap();
    store.touch_sessions(Vec::new()).await.unwrap();
    assert_eq!(
        store
            .session_view("s1")
            .await
            .unwrap()
            .unwrap()
            .session
            .last_seen,
        NOW + 120,
        "never moves back"
    );

    store
        .rotate_session("s1", session("s1b", "u1", "t1"))
        .await
        .unwrap();
    assert!(
        store.session_view("s1").await.unwrap().is_none(),
        "old id gone"
    );
    assert!(store.session_view("s1b").await.unwrap().is_some());

    store
        .create_session(session("s1c", "u1", "t1"))
        .await
        .unwrap();
    store
        .create_session(session("s2", "u2", "t2"))
        .await
        .unwrap();
    let mut gone = store.delete_user_sessions("u1").await.unwrap();
    gone.sort();
    assert_eq!(gone, vec!["s1b".to_string(), "s1c".to_string()]);
    assert!(
        store.session_view("s2").await.unwrap().is_some(),
        "other users keep theirs"
    );
    store.delete_session("s2").await.unwrap();
    assert!(store.session_view("s2").await.unwrap().is_none());
}

pub async fn secrets_are_created_once(store: SharedStore) {
    let a = store.secret("csrf", vec![1, 2, 3]).await.unwrap();
    let b = store.secret("csrf", vec![9, 9, 9]).await.unwrap();
    assert_eq!(a, vec![1, 2, 3]);
    assert_eq!(b, a);
    assert_eq!(store.secret("other", vec![7]).await.unwrap(), vec![7]);
}

pub async fn expired_records_are_purged(store: SharedStore) {
    seed(&*store, "1").await;
    store
        .create_session(session("s1", "u1", "t1"))
        .await
        .unwrap();
    assert_eq!(store.purge_expired(NOW).await.unwrap(), 0);
    assert_eq!(
        store.purge_expired(NOW + 15 * DAY).await.unwrap(),
        2,
        "the session and the invitation"
    );
    assert!(store.session_view("s1").await.unwrap().is_none());
    assert!(
        store.get_user("u1").await.unwrap().is_some(),
        "users are never purged"
    );
}

/// The manual's lock: ten in a row, a quiet day forgets a shorter run.
const RULE: AttemptRule = AttemptRule {
    threshold: 10,
    forget_after: sekisho_policy::DAY,
};

pub async fn quiet_runs_are_forgotten_and_locks_kept(store: SharedStore) {
    let later = NOW + sekisho_policy::DAY;
    // A spray: one attempt on each of many unknown identifiers.
    for i in 0..200 {
        let id = format!("nobody{i}@example.jp");
        assert_eq!(
            store.admit_attempt(&id, RULE, NOW).await.unwrap(),
            Admission::Checked(1)
        );
    }
    // One identifier driven to the threshold: a lock, kept.
    for _ in 0..10 {
        store
            .admit_attempt("target@example.jp", RULE, NOW)
            .await
            .unwrap();
    }
    // A run short of the threshold counts on within the day...
    assert_eq!(
        store
            .admit_attempt("nobody0@example.jp", RULE, later - 1)
            .await
            .unwrap(),
        Admission::Checked(2)
    );
    // ...and starts again after a quiet day, whether or not purged.
    assert_eq!(
        store
            .admit_attempt("nobody1@example.jp", RULE, later)
            .await
            .unwrap(),
        Admission::Checked(1)
    );
    // The purge keeps the lock. (How the forgotten runs leave the store
    // is each backend's: the embedded one deletes them here, Redis by
    // their TTL; each has its own test of that.)
    store
        .forget_quiet_failures(RULE, later + sekisho_policy::DAY)
        .await
        .unwrap();
    let left = store.export().await.unwrap().failures;
    assert!(
        left.iter()
            .any(|(id, n)| id == "target@example.jp" && *n == 10),
        "{left:?}"
    );
    assert_eq!(
        store
            .admit_attempt("target@example.jp", RULE, later + 30 * sekisho_policy::DAY)
            .await
            .unwrap(),
        Admission::Locked
    );
}

pub async fn attempts_are_admitted_up_to_the_threshold(store: SharedStore) {
    for n in 1..=10 {
        assert_eq!(
            store
                .admit_attempt("a@example.jp", RULE, NOW)
                .await
                .unwrap(),
            Admission::Checked(n)
        );
    }
    assert_eq!(
        store
            .admit_attempt("a@example.jp", RULE, NOW)
            .await
            .unwrap(),
        Admission::Locked
    );
    assert_eq!(
        store
            .admit_attempt("b@example.jp", RULE, NOW)
            .await
            .unwrap(),
        Admission::Checked(1),
        "per identifier"
    );
    store.clear_failures("a@example.jp").await.unwrap();
    assert_eq!(
        store
            .admit_attempt("a@example.jp", RULE, NOW)
            .await
            .unwrap(),
        Admission::Checked(1)
    );
}

pub async fn concurrent_attempts_never_pass_the_threshold(store: SharedStore) {
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.admit_attempt("race@example.jp", RULE, NOW).await.unwrap()
        }));
    }
    let mut checked = Vec::new();
    for t in tasks {
        if let Admission::Checked(n) = t.await.unwrap() {
            checked.push(n);
        }
    }
    checked.sort();
    assert_eq!(
        checked,
        (1..=10).collect::<Vec<_>>(),
        "exactly ten checked, none lost, none repeated"
    );
}

pub async fn lock_and_unlock_by_ticket(store: SharedStore) {
    seed(&*store, "1").await;
    for _ in 0..10 {
        store
            .admit_attempt("holder1@example.jp", RULE, NOW)
            .await
            .unwrap();
    }
    store
        .lock_user(
            "u1",
            ticket("unl", TicketPurpose::Unlock, "u1", NOW + 14 * DAY),
        )
        .await
        .unwrap();
    assert!(store.get_user("u1").await.unwrap().unwrap().locked);
    assert_eq!(
        store.unlock_with_ticket("inv1", NOW).await.unwrap_err(),
        StoreError::TicketInvalid,
        "other purpose"
    );
    assert_eq!(
        store
            .unlock_with_ticket("unl", NOW + 14 * DAY)
            .await
            .unwrap_err(),
        StoreError::TicketInvalid,
        "expired"
    );
    let u = store.unlock_with_ticket("unl", NOW).await.unwrap();
    assert!(!u.locked);
    assert_eq!(
        store
            .admit_attempt("holder1@example.jp", RULE, NOW)
            .await
            .unwrap(),
        Admission::Checked(1),
        "count cleared"
    );
    assert_eq!(
        store.unlock_with_ticket("unl", NOW).await.unwrap_err(),
        StoreError::TicketInvalid,
        "single use"
    );
    store
        .lock_user("u1", ticket("unl2", TicketPurpose::Unlock, "u1", NOW + DAY))
        .await
        .unwrap();
    assert!(!store.unlock_user("u1").await.unwrap().locked);
    assert!(
        store
            .peek_ticket("unl2", TicketPurpose::Unlock, NOW)
            .await
            .unwrap()
            .is_none(),
        "admin unlock voids the link"
    );
    assert_eq!(
        store.unlock_user("ghost").await.unwrap_err(),
        StoreError::NotFound
    );
}

pub async fn security_mail_is_issued_once_per_window(store: SharedStore) {
    seed(&*store, "1").await;
    let t = |h: &str, at: UnixTime| TicketRecord {
        issued_at: at,
        ..ticket(h, TicketPurpose::Reset, "u1", at + DAY)
    };
    assert!(store
        .issue_ticket_unless_recent(t("r1", NOW), 900)
        .await
        .unwrap());
    assert!(!store
        .issue_ticket_unless_recent(t("r2", NOW + 899), 900)
        .await
        .unwrap());
    assert!(store
        .peek_ticket("r2", TicketPurpose::Reset, NOW + 899)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .issue_ticket_unless_recent(t("r3", NOW + 900), 900)
        .await
        .unwrap());
    assert!(
        store
            .peek_ticket("r1", TicketPurpose::Reset, NOW + 900)
            .await
            .unwrap()
            .is_none(),
        "only the newest works"
    );
    assert!(store
        .peek_ticket("r3", TicketPurpose::Reset, NOW + 900)
        .await
        .unwrap()
        .is_some());
}

pub async fn reset_sets_password_unlocks_and_ends_sessions(store: SharedStore) {
    seed(&*store, "1").await;
    store
        .stage_ticket("inv1", TicketPurpose::Invitation, "old-hash", NOW)
        .await
        .unwrap();
    store.complete_registration("inv1", NOW).await.unwrap();
    store
        .create_session(session("s1", "u1", "t1"))
        .await
        .unwrap();
    store
        .create_session(session("s2", "u1", "t1"))
        .await
        .unwrap();
    for _ in 0..10 {
        store
            .admit_attempt("holder1@example.jp", RULE, NOW)
            .await
            .unwrap();
    }
    store
        .lock_user("u1", ticket("unl", TicketPurpose::Unlock, "u1", NOW + DAY))
        .await
        .unwrap();
    store
        .replace_ticket(ticket("rst", TicketPurpose::Reset, "u1", NOW + DAY))
        .await
        .unwrap();
    assert_eq!(
        store
            .complete_reset("unl", "new-hash", NOW)
            .await
            .unwrap_err(),
        StoreError::TicketInvalid
    );
    let (u, mut ended) = store.complete_reset("rst", "new-hash", NOW).await.unwrap();
    ended.sort();
    assert_eq!(ended, vec!["s1".to_string(), "s2".to_string()]);
    assert_eq!(u.password_hash.as_deref(), Some("new-hash"));
    assert!(!u.locked && u.two_step.is_none() && u.two_step_generation == 1);
    assert_eq!(store.get_user("u1").await.unwrap().unwrap(), u);
    assert!(store.session_view("s1").await.unwrap().is_none());
    assert_eq!(
        store
            .admit_attempt("holder1@example.jp", RULE, NOW)
            .await
            .unwrap(),
        Admission::Checked(1)
    );
    assert!(
        store
            .peek_ticket("unl", TicketPurpose::Unlock, NOW)
            .await
            .unwrap()
            .is_none(),
        "the unlock link is void too"
    );
    assert_eq!(
        store.complete_reset("rst", "x", NOW).await.unwrap_err(),
        StoreError::TicketInvalid,
        "single use"
    );
}

async fn active(store: &dyn Store, n: &str) {
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

pub async fn invited_users_join_a_tenant_once(store: SharedStore) {
    seed(&*store, "1").await;
    let mut u = user("u9", "t1", "member@example.jp");
    u.role = Role::User;
    store
        .create_invited_user(
            u.clone(),
            ticket("inv9", TicketPurpose::Invitation, "u9", NOW + DAY),
        )
        .await
        .unwrap();
    assert_eq!(store.list_users(Some("t1")).await.unwrap().len(), 2);
    let dup = User {
        id: "u10".into(),
        ..u.clone()
    };
    let err = store
        .create_invited_user(
            dup,
            ticket("inv10", TicketPurpose::Invitation, "u10", NOW + DAY),
        )
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::EmailTaken);
    assert!(
        store
            .peek_ticket("inv10", TicketPurpose::Invitation, NOW)
            .await
            .unwrap()
            .is_none(),
        "nothing left behind"
    );
    let orphan = User {
        id: "u11".into(),
        tenant_id: "nope".into(),
        email: "o@example.jp".into(),
        ..u
    };
    let err = store
        .create_invited_user(
            orphan,
            ticket("inv11", TicketPurpose::Invitation, "u11", NOW + DAY),
        )
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NotFound);
}

pub async fn removing_a_user_removes_everything_of_theirs(store: SharedStore) {
    active(&*store, "1").await;
    store
        .create_session(session("s1", "u1", "t1"))
        .await
        .unwrap();
    store
        .replace_ticket(ticket("r", TicketPurpose::Reset, "u1", NOW + DAY))
        .await
        .unwrap();
    assert_eq!(
        store.remove_user("u1").await.unwrap(),
        vec!["s1".to_string()]
    );
    assert!(store.get_user("u1").await.unwrap().is_none());
    assert!(store
        .find_user_by_email("holder1@example.jp")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .peek_ticket("r", TicketPurpose::Reset, NOW)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.remove_user("u1").await.unwrap_err(),
        StoreError::NotFound
    );
}

pub async fn password_change_keeps_only_the_changing_session(store: SharedStore) {
    active(&*store, "1").await;
    for s in ["a", "b", "c"] {
        store.create_session(session(s, "u1", "t1")).await.unwrap();
    }
    let mut ended = store
        .change_password("u1", "hash-1", Some("b"))
        .await
        .unwrap();
    ended.sort();
    assert_eq!(ended, vec!["a".to_string(), "c".to_string()]);
    assert!(store.session_view("b").await.unwrap().is_some());
    assert_eq!(
        store
            .get_user("u1")
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .as_deref(),
        Some("hash-1")
    );
    assert_eq!(store.list_user_sessions("u1").await.unwrap().len(), 1);
    assert_eq!(
        store.change_password("u1", "hash-2", None).await.unwrap(),
        vec!["b".to_string()]
    );
}

pub async fn change_links_void_each_other(store: SharedStore) {
    active(&*store, "1").await;
    let mut email = ticket("e1", TicketPurpose::EmailChange, "u1", NOW + 14 * DAY);
    email.staged = Some("new@example.jp".into());
    store.issue_change_link(email).await.unwrap();
    store
        .issue_change_link(ticket("m1", TicketPurpose::MethodChange, "u1", NOW + DAY))
        .await
        .unwrap();
    assert!(
        store
            .peek_ticket("e1", TicketPurpose::EmailChange, NOW)
            .await
            .unwrap()
            .is_none(),
        "never both at once"
    );
    let mut email = ticket("e2", TicketPurpose::EmailChange, "u1", NOW + 14 * DAY);
    email.staged = Some("new@example.jp".into());
    store.issue_change_link(email).await.unwrap();
    assert!(store
        .peek_ticket("m1", TicketPurpose::MethodChange, NOW)
        .await
        .unwrap()
        .is_none());
    store
        .create_session(session("s", "u1", "t1"))
        .await
        .unwrap();
    let (u, old, ended) = store
        .complete_email_change("e2", Some("hash-new".into()), NOW)
        .await
        .unwrap();
    assert_eq!(
        (u.email.as_str(), old.as_str()),
        ("new@example.jp", "holder1@example.jp")
    );
    assert_eq!(u.password_hash.as_deref(), Some("hash-new"));
    assert!(u.two_step.is_none() && u.two_step_generation == 1);
    assert_eq!(ended, vec!["s".to_string()]);
    assert!(store
        .find_user_by_email("holder1@example.jp")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .complete_email_change("e2", None, NOW)
            .await
            .unwrap_err(),
        StoreError::TicketInvalid
    );
}

pub async fn email_change_to_a_taken_address_is_refused(store: SharedStore) {
    active(&*store, "1").await;
    seed(&*store, "2").await;
    let mut email = ticket("e", TicketPurpose::EmailChange, "u1", NOW + DAY);
    email.staged = Some("holder2@example.jp".into());
    store.issue_change_link(email).await.unwrap();
    assert_eq!(
        store
            .complete_email_change("e", None, NOW)
            .await
            .unwrap_err(),
        StoreError::EmailTaken
    );
    assert_eq!(
        store.get_user("u1").await.unwrap().unwrap().email,
        "holder1@example.jp",
        "nothing changed"
    );
}

pub async fn method_change_by_link_or_menu(store: SharedStore) {
    active(&*store, "1").await;
    store
        .create_session(session("s", "u1", "t1"))
        .await
        .unwrap();
    store
        .issue_change_link(ticket("m", TicketPurpose::MethodChange, "u1", NOW + DAY))
        .await
        .unwrap();
    let change = |ticket: Option<&str>| MethodChange {
        user_id: "u1".into(),
        method: LoginMethod::Password,
        password_hash: Some("hash-m".into()),
        reset_two_step: true,
        ticket_hash: ticket.map(str::to_string),
        identity: None,
    };
    assert_eq!(
        store
            .change_method(change(Some("m")), NOW + 2 * DAY)
            .await
            .unwrap_err(),
        StoreError::TicketInvalid,
        "expired"
    );
    let (u, ended) = store.change_method(change(Some("m")), NOW).await.unwrap();
    assert_eq!(u.password_hash.as_deref(), Some("hash-m"));
    assert!(u.two_step.is_none() && u.two_step_generation == 1);
    assert_eq!(ended, vec!["s".to_string()]);
    assert_eq!(
        store
            .change_method(change(Some("m")), NOW)
            .await
            .unwrap_err(),
        StoreError::TicketInvalid,
        "used"
    );
    store.change_method(change(None), NOW).await.unwrap();
    let t = store.set_plan("t1", Plan::Trial).await.unwrap();
    assert_eq!(t.plan, Plan::Trial);
    assert_eq!(
        store.set_plan("nope", Plan::Basic).await.unwrap_err(),
        StoreError::NotFound
    );
}

/// Expands to one `#[tokio::test]` per conformance check, each with a fresh
/// store from `$make` (an async expression returning a [`SharedStore`]).
fn registration(recovery_hash: &str) -> TwoStepRegistration {
    TwoStepRegistration {
        kind: TwoStepKind::Sms,
        phone: Some("+819012345678".into()),
        totp_secret: None,
        recovery_hash: recovery_hash.into(),
        registered_at: NOW,
    }
}

fn pending(id_hash: &str, user_id: &str) -> PendingLogin {
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

fn trusted(id_hash: &str, user_id: &str, generation: u32) -> TrustedBrowser {
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
            .contains(&("holder1@example.jp".into(), 1)),
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

#[macro_export]
macro_rules! store_conformance_tests {
    // `$make` is a future of a store and what must live while it is used
    // (e.g. the server behind it).
    (guarded $make:expr) => {
        $crate::store_conformance_tests!(@list guarded $make);
    };
    ($make:expr) => {
        $crate::store_conformance_tests!(@list plain $make);
    };
    (@list $how:ident $make:expr) => {
        $crate::store_conformance_tests!(@each $how $make;
            ping_answers,
            tenant_and_holder_are_created_together,
            tickets_are_bound_to_purpose_and_time,
            only_the_newest_ticket_works,
            registration_uses_its_ticket_once,
            expired_registration_is_refused,
            concurrent_registrations_succeed_once,
            sessions_live_rotate_and_end,
            secrets_are_created_once,
            expired_records_are_purged,
            attempts_are_admitted_up_to_the_threshold,
            concurrent_attempts_never_pass_the_threshold,
            lock_and_unlock_by_ticket,
            security_mail_is_issued_once_per_window,
            reset_sets_password_unlocks_and_ends_sessions,
            invited_users_join_a_tenant_once,
            removing_a_user_removes_everything_of_theirs,
            password_change_keeps_only_the_changing_session,
            change_links_void_each_other,
            email_change_to_a_taken_address_is_refused,
            method_change_by_link_or_menu,
            two_step_registration_waits_for_its_generation,
            quiet_runs_are_forgotten_and_locks_kept,
            the_console_changes_roles_and_resets_two_step,
            totp_steps_are_accepted_once_and_in_order,
            a_totp_seed_is_replaced_only_from_what_it_is,
            sms_codes_are_single_use_and_expire,
            recovery_code_is_single_use_and_resets,
            trusted_browsers_slide_and_are_revoked,
            passkeys_belong_to_one_user,
            events_are_counted_in_fixed_windows,
            audit_events_are_kept_by_tenant_newest_first,
            two_step_is_switched_per_tenant,
            passkeys_are_required_per_tenant,
            line_settings_are_saved_together,
            federated_identities_bind_once,
            ad_connections_are_unique_and_keep_their_id
        );
    };
    (@each plain $make:expr; $($check:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let store = $make;
                $crate::conformance::$check(store).await;
            }
        )*
    };
    (@each guarded $make:expr; $($check:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, _guard) = $make.await;
                $crate::conformance::$check(store).await;
            }
        )*
    };
}
