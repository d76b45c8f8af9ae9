//! The lock and its counters, reset, invitations, removal, password, email
//! and method changes.

use crate::*;
use sekisho_policy::lock::Admission;
use sekisho_policy::model::{LoginMethod, Plan, Role};
use sekisho_policy::ticket::TicketPurpose;
use sekisho_policy::UnixTime;
use sekisho_policy::DAY;

use super::fixtures::*;

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
        .forget_quiet_failures(RULE, later + sekisho_policy::DAY, FAILURES_KEPT)
        .await
        .unwrap();
    let left = store.export().await.unwrap().failures;
    let target = counter_key("target@example.jp");
    assert!(
        left.iter().any(|(id, n)| *id == target && *n == 10),
        "{left:?}"
    );
    // Keyed hashes only: no address in the store (S58).
    assert!(left.iter().all(|(id, _)| !id.contains('@')), "{left:?}");
    assert_eq!(
        store
            .admit_attempt("target@example.jp", RULE, later + 30 * sekisho_policy::DAY)
            .await
            .unwrap(),
        Admission::Locked
    );
}

/// S58: past `kept` runs, the purge removes the oldest first, locks too:
/// a spray of guessed addresses cannot grow the store.
pub async fn s58_failure_runs_are_keyed_and_capped_oldest_first(store: SharedStore) {
    for i in 0..6 {
        let id = format!("guess{i}@example.jp");
        // Each driven to the threshold, so no expiry removes it.
        for _ in 0..RULE.threshold {
            store.admit_attempt(&id, RULE, NOW + i).await.unwrap();
        }
    }
    store
        .forget_quiet_failures(RULE, NOW + 10, 2)
        .await
        .unwrap();
    let left: Vec<String> = store
        .export()
        .await
        .unwrap()
        .failures
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut newest = vec![
        counter_key("guess4@example.jp"),
        counter_key("guess5@example.jp"),
    ];
    let mut left = left;
    left.sort();
    newest.sort();
    assert_eq!(left, newest);
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

fn browser(id_hash: &str, at: UnixTime) -> KnownBrowser {
    KnownBrowser {
        id_hash: id_hash.into(),
        first_seen: at,
        last_seen: at,
    }
}

/// S63: a sign-in's browser is noted on its user; the first is no news, a
/// known one is no news, another keeps the "this wasn't me" ticket; the
/// oldest is forgotten past the cap.
pub async fn s63_browsers_are_noted_and_the_oldest_forgotten(store: SharedStore) {
    active(&*store, "1").await;
    let not_me = |h: &str| ticket(h, TicketPurpose::NotMe, "u1", NOW + 14 * DAY);
    let seen = store
        .note_browser("u1", browser("b-a", NOW), 2, not_me("nm0"))
        .await
        .unwrap();
    assert_eq!(seen, BrowserSeen::First);
    let none = store.peek_ticket("nm0", TicketPurpose::NotMe, NOW).await;
    assert!(none.unwrap().is_none(), "the first browser mails nothing");
    let seen = store
        .note_browser("u1", browser("b-a", NOW + 5), 2, not_me("nm1"))
        .await
        .unwrap();
    assert_eq!(seen, BrowserSeen::Known);
    for (i, id) in ["b-b", "b-c"].into_iter().enumerate() {
        let h = format!("nm-{id}");
        let at = NOW + 10 + i as UnixTime;
        let seen = store
            .note_browser("u1", browser(id, at), 2, not_me(&h))
            .await
            .unwrap();
        assert_eq!(seen, BrowserSeen::New);
        let kept = store.peek_ticket(&h, TicketPurpose::NotMe, NOW).await;
        assert!(kept.unwrap().is_some(), "a new browser keeps its ticket");
    }
    let user = store.get_user("u1").await.unwrap().unwrap();
    let ids: Vec<_> = user
        .known_browsers
        .iter()
        .map(|b| b.id_hash.as_str())
        .collect();
    assert_eq!(ids, ["b-b", "b-c"], "the one seen longest ago is forgotten");
    assert_eq!(
        store
            .note_browser("ghost", browser("b-a", NOW), 2, not_me("nm9"))
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
}

/// S63: "this wasn't me" locks the account down in one step: sessions,
/// remembered and known browsers, passkeys, pending logins and every
/// mailed link end; the new reset link is the one left; the unlock link
/// cannot lift it, the reset can; the ticket works once.
pub async fn s63_a_lockdown_ends_everything_until_a_reset(store: SharedStore) {
    active(&*store, "1").await;
    for s in ["s1", "s2"] {
        store.create_session(session(s, "u1", "t1")).await.unwrap();
    }
    store
        .add_trusted_browser(trusted("tb1", "u1", 0))
        .await
        .unwrap();
    store.put_pending(pending("p1", "u1")).await.unwrap();
    store.add_passkey(passkey("pk1", "u1", NOW)).await.unwrap();
    store
        .note_browser(
            "u1",
            browser("b-a", NOW),
            5,
            ticket("x", TicketPurpose::NotMe, "u1", NOW),
        )
        .await
        .unwrap();
    store
        .note_browser(
            "u1",
            browser("b-b", NOW),
            5,
            ticket("nm", TicketPurpose::NotMe, "u1", NOW + DAY),
        )
        .await
        .unwrap();
    store
        .replace_ticket(ticket("old-reset", TicketPurpose::Reset, "u1", NOW + DAY))
        .await
        .unwrap();
    store
        .replace_ticket(ticket("email", TicketPurpose::EmailChange, "u1", NOW + DAY))
        .await
        .unwrap();
    let reset = ticket("new-reset", TicketPurpose::Reset, "u1", NOW + DAY);
    assert_eq!(
        store
            .lock_down("email", reset.clone(), NOW)
            .await
            .unwrap_err(),
        StoreError::TicketInvalid,
        "only a not-me ticket"
    );
    let (user, mut ended) = store.lock_down("nm", reset.clone(), NOW).await.unwrap();
    ended.sort();
    assert_eq!(ended, ["s1", "s2"]);
    assert!(user.locked && user.locked_down && user.known_browsers.is_empty());
    assert_eq!(store.get_user("u1").await.unwrap().unwrap(), user);
    assert!(store.session_view("s1").await.unwrap().is_none());
    assert!(store.list_passkeys("u1").await.unwrap().is_empty());
    assert!(store.list_trusted_browsers("u1").await.unwrap().is_empty());
    for (hash, purpose) in [
        ("old-reset", TicketPurpose::Reset),
        ("email", TicketPurpose::EmailChange),
        ("nm", TicketPurpose::NotMe),
    ] {
        let left = store.peek_ticket(hash, purpose, NOW).await.unwrap();
        assert!(left.is_none(), "{hash} is void");
    }
    assert_eq!(
        store.lock_down("nm", reset, NOW).await.unwrap_err(),
        StoreError::TicketInvalid,
        "single use"
    );
    store
        .lock_user("u1", ticket("unl", TicketPurpose::Unlock, "u1", NOW + DAY))
        .await
        .unwrap();
    assert_eq!(
        store.unlock_with_ticket("unl", NOW).await.unwrap_err(),
        StoreError::TicketInvalid,
        "the unlock link does not lift a lockdown"
    );
    let (user, _) = store
        .complete_reset("new-reset", "new-hash", NOW)
        .await
        .unwrap();
    assert!(!user.locked && !user.locked_down);
}

/// S64: a breached mark holds while its password is the user's, and any
/// new password ends it.
pub async fn s64_a_breached_mark_lasts_while_its_password_does(store: SharedStore) {
    active(&*store, "1").await;
    store
        .mark_password_breached("u1", "other-hash")
        .await
        .unwrap();
    assert!(!store
        .get_user("u1")
        .await
        .unwrap()
        .unwrap()
        .password_breached());
    store.mark_password_breached("u1", "hash-0").await.unwrap();
    assert!(store
        .get_user("u1")
        .await
        .unwrap()
        .unwrap()
        .password_breached());
    store.change_password("u1", "hash-1", None).await.unwrap();
    let user = store.get_user("u1").await.unwrap().unwrap();
    assert!(!user.password_breached(), "a new password ends the mark");
    assert_eq!(
        store
            .mark_password_breached("ghost", "h")
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
}

/// S63: a sign-in's session and its browser's note are one step, so a
/// sign-in costs one commit; a note that cannot be kept leaves no session.
pub async fn s63_a_sign_in_starts_its_session_and_notes_its_browser_at_once(store: SharedStore) {
    active(&*store, "1").await;
    store
        .create_session(session("old", "u1", "t1"))
        .await
        .unwrap();
    let note = |id: &str, user: &str| BrowserNote {
        browser: browser(id, NOW),
        kept: 5,
        not_me: ticket(&format!("nm-{id}"), TicketPurpose::NotMe, user, NOW + DAY),
    };
    let seen = store
        .start_session_noting(session("new", "u1", "t1"), Some("old"), note("b-a", "u1"))
        .await
        .unwrap();
    assert_eq!(seen, BrowserSeen::First);
    assert!(
        store.session_view("old").await.unwrap().is_none(),
        "replaced"
    );
    assert!(store.session_view("new").await.unwrap().is_some());
    let user = store.get_user("u1").await.unwrap().unwrap();
    assert_eq!(user.known_browsers.len(), 1);
    assert_eq!(user.last_login_at, Some(NOW), "the login is noted too");
    let seen = store
        .start_session_noting(session("third", "u1", "t1"), None, note("b-b", "u1"))
        .await
        .unwrap();
    assert_eq!(seen, BrowserSeen::New);
    assert_eq!(
        store
            .start_session_noting(
                session("ghost-s", "ghost", "t1"),
                None,
                note("b-c", "ghost")
            )
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    assert!(
        store.list_user_sessions("ghost").await.unwrap().is_empty(),
        "nothing half-written"
    );
}

/// S65: a directory's change is one step: a deactivation or a new address
/// ends the user's sessions with it; the contract holder is out of reach;
/// an address that is someone's is refused and nothing changes.
pub async fn s65_a_directory_sets_its_users_and_never_the_holder(store: SharedStore) {
    seed(&*store, "1").await;
    let mut staff = user("u5", "t1", "staff5@example.jp");
    staff.role = Role::User;
    let inv = ticket("inv5", TicketPurpose::Invitation, "u5", NOW + DAY);
    store.create_invited_user(staff, inv).await.unwrap();
    store
        .create_session(session("s5", "u5", "t1"))
        .await
        .unwrap();
    store
        .create_session(session("s1", "u1", "t1"))
        .await
        .unwrap();

    let (u, ended) = store
        .apply_directory("u5", directory("staff5@example.jp", true))
        .await
        .unwrap();
    assert!(ended.is_empty(), "a change of name and role keeps sessions");
    assert_eq!(u.role, Role::Admin);
    assert_eq!(u.name, "佐藤 花子");
    assert!(u.active());
    assert!(store.session_view("s5").await.unwrap().is_some());

    assert_eq!(
        store
            .apply_directory("u5", directory("holder1@example.jp", true))
            .await
            .unwrap_err(),
        StoreError::EmailTaken
    );
    assert_eq!(
        store.get_user("u5").await.unwrap().unwrap().email,
        "staff5@example.jp",
        "a refused change leaves the user as they were"
    );

    let (u, ended) = store
        .apply_directory("u5", directory("staff5@example.jp", false))
        .await
        .unwrap();
    assert!(!u.active());
    assert_eq!(ended, vec!["s5".to_string()]);
    assert!(store.session_view("s5").await.unwrap().is_none());
    let kept = store.get_user("u5").await.unwrap().unwrap();
    assert_eq!(
        kept.provisioning.unwrap().user_name,
        "hanako@corp.example.onmicrosoft.com"
    );

    store
        .create_session(session("s6", "u5", "t1"))
        .await
        .unwrap();
    let (u, ended) = store
        .apply_directory("u5", directory("moved5@example.jp", true))
        .await
        .unwrap();
    assert_eq!(u.email, "moved5@example.jp");
    assert_eq!(
        ended,
        vec!["s6".to_string()],
        "a new login ID ends sessions"
    );
    assert_eq!(
        store
            .find_user_by_email("moved5@example.jp")
            .await
            .unwrap()
            .map(|u| u.id),
        Some("u5".to_string())
    );
    assert!(store
        .find_user_by_email("staff5@example.jp")
        .await
        .unwrap()
        .is_none());

    assert_eq!(
        store
            .apply_directory("u1", directory("holder1@example.jp", false))
            .await
            .unwrap_err(),
        StoreError::NotFound,
        "no directory changes the contract holder"
    );
    assert!(store.session_view("s1").await.unwrap().is_some());
    assert!(store
        .get_user("u1")
        .await
        .unwrap()
        .unwrap()
        .provisioning
        .is_none());
}

/// S65: a tenant's SCIM tokens: names are unique, a rotation keeps the name
/// and networks under a new hash, a revocation removes the token.
pub async fn s65_scim_tokens_are_added_rotated_and_revoked(store: SharedStore) {
    seed(&*store, "1").await;
    seed(&*store, "2").await;
    let t = store
        .change_scim_tokens("t1", ScimTokenChange::Add(scim_token("k1", "entra")))
        .await
        .unwrap();
    assert_eq!(t.scim_tokens.len(), 1);
    assert_eq!(
        store
            .change_scim_tokens("t1", ScimTokenChange::Add(scim_token("k2", "entra")))
            .await
            .unwrap_err(),
        StoreError::Stale,
        "a name is one token's"
    );
    store
        .change_scim_tokens("t1", ScimTokenChange::Add(scim_token("k2", "okta")))
        .await
        .unwrap();
    let mut fresh = scim_token("k3", "ignored");
    fresh.networks.clear();
    let t = store
        .change_scim_tokens(
            "t1",
            ScimTokenChange::Rotate {
                id: "k1".into(),
                token: fresh,
            },
        )
        .await
        .unwrap();
    let rotated = t.scim_tokens.iter().find(|k| k.id == "k3").unwrap();
    assert_eq!(rotated.name, "entra");
    assert_eq!(rotated.networks, vec!["127.0.0.0/8".to_string()]);
    assert_eq!(rotated.hash, "hash-k3");
    assert!(!t.scim_tokens.iter().any(|k| k.id == "k1"));
    let revoke = |id: &str| ScimTokenChange::Revoke { id: id.into() };
    assert_eq!(
        store
            .change_scim_tokens("t2", revoke("k2"))
            .await
            .unwrap_err(),
        StoreError::NotFound,
        "another tenant's token is out of reach"
    );
    let t = store.change_scim_tokens("t1", revoke("k2")).await.unwrap();
    assert_eq!(t.scim_tokens.len(), 1);
    let kept = store.get_tenant("t1").await.unwrap().unwrap();
    assert_eq!(kept.scim_tokens, t.scim_tokens);
    assert!(store
        .get_tenant("t2")
        .await
        .unwrap()
        .unwrap()
        .scim_tokens
        .is_empty());
}
