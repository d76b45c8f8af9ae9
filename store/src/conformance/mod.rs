//! The behaviour every store backend must show. Each check takes a fresh,
//! empty store; [`crate::store_conformance_tests!`] turns them into one test
//! each for a backend, so the embedded store and Redis run the same suite.

mod accounts;
mod basics;
mod factors;
mod fixtures;

pub use accounts::*;
pub use basics::*;
pub use factors::*;
pub use fixtures::*;

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
            s62_a_binding_is_made_once_and_each_refresh_counts_once,
            secrets_are_created_once,
            expired_records_are_purged,
            attempts_are_admitted_up_to_the_threshold,
            concurrent_attempts_never_pass_the_threshold,
            lock_and_unlock_by_ticket,
            s63_browsers_are_noted_and_the_oldest_forgotten,
            s63_a_lockdown_ends_everything_until_a_reset,
            s63_a_sign_in_starts_its_session_and_notes_its_browser_at_once,
            s64_a_breached_mark_lasts_while_its_password_does,
            security_mail_is_issued_once_per_window,
            reset_sets_password_unlocks_and_ends_sessions,
            invited_users_join_a_tenant_once,
            removing_a_user_removes_everything_of_theirs,
            s65_a_directory_sets_its_users_and_never_the_holder,
            s65_scim_tokens_are_added_rotated_and_revoked,
            password_change_keeps_only_the_changing_session,
            change_links_void_each_other,
            email_change_to_a_taken_address_is_refused,
            method_change_by_link_or_menu,
            two_step_registration_waits_for_its_generation,
            quiet_runs_are_forgotten_and_locks_kept,
            s58_failure_runs_are_keyed_and_capped_oldest_first,
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
