//! Tenants, tickets, registration, sessions, secrets, purges, the audit log.

use crate::*;
use sekisho_policy::model::UserStatus;
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::DAY;

use super::fixtures::*;

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

/// S62: a session is bound once, its binding is read with its view, and
/// each refresh count is used once, however many refreshes race for it.
pub async fn s62_a_binding_is_made_once_and_each_refresh_counts_once(store: SharedStore) {
    seed(&*store, "1").await;
    store
        .create_session(session("s1", "u1", "t1"))
        .await
        .unwrap();
    assert!(store.bind_session("s1", binding("dbsc-a")).await.unwrap());
    assert!(
        !store.bind_session("s1", binding("dbsc-b")).await.unwrap(),
        "a second registration is refused"
    );
    assert!(!store.bind_session("gone", binding("dbsc-c")).await.unwrap());
    let view = store.session_view("s1").await.unwrap().unwrap();
    assert_eq!(view.session.binding, Some(binding("dbsc-a")));
    assert!(
        !store.advance_binding("s1", "dbsc-b", 0).await.unwrap(),
        "another binding's id"
    );
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.advance_binding("s1", "dbsc-a", 0).await.unwrap()
        }));
    }
    let mut advanced = 0;
    for t in tasks {
        advanced += u32::from(t.await.unwrap());
    }
    assert_eq!(advanced, 1, "parallel refreshes of one challenge: one wins");
    assert!(!store.advance_binding("s1", "dbsc-a", 0).await.unwrap());
    assert!(store.advance_binding("s1", "dbsc-a", 1).await.unwrap());
    let view = store.session_view("s1").await.unwrap().unwrap();
    assert_eq!(view.session.binding.unwrap().refreshes, 2);
    // The binding ends with its session.
    store.delete_session("s1").await.unwrap();
    assert!(!store.advance_binding("s1", "dbsc-a", 2).await.unwrap());
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
