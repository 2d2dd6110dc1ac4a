//! The conformance checks every backend runs: one macro per area trait
//! ([`account_store_conformance!`](crate::account_store_conformance),
//! [`message_store_conformance!`](crate::message_store_conformance),
//! [`event_store_conformance!`](crate::event_store_conformance),
//! [`user_store_conformance!`](crate::user_store_conformance),
//! [`relation_store_conformance!`](crate::relation_store_conformance),
//! [`notification_store_conformance!`](crate::notification_store_conformance),
//! [`receipt_store_conformance!`](crate::receipt_store_conformance)), and
//! [`store_conformance_tests!`](crate::store_conformance_tests) for all.
//!
//! Each macro expands to one `#[tokio::test]` per check. `$make` is an
//! async expression yielding `Option<(impl Store, guard)>`; the guard (a
//! temp dir, a test database) lives as long as the test, and `None` skips
//! the test (a backend whose server is not configured says so itself).

pub mod accounts;
pub mod events;
pub mod helpers;
pub mod messages;
pub mod notifications;
pub mod receipts;
pub mod relations;
pub mod users;

pub use helpers::text;

/// Every area's checks.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::account_store_conformance!($make);
        $crate::message_store_conformance!($make);
        $crate::event_store_conformance!($make);
        $crate::user_store_conformance!($make);
        $crate::relation_store_conformance!($make);
        $crate::notification_store_conformance!($make);
        $crate::receipt_store_conformance!($make);
    };
}

#[macro_export]
macro_rules! relation_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!($make; relations;
            friend_requests_are_answered_once,
            friends_aliases_and_lists_are_per_owner,
            mutual_answers_at_once_both_hold,
        );
    };
}

#[macro_export]
macro_rules! notification_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!($make; notifications;
            notifications_are_marked_and_deleted_by_their_owner_only,
            custom_notifications_are_kept_up_to_a_cap_and_taken_once,
        );
    };
}

#[macro_export]
macro_rules! receipt_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!($make; receipts;
            read_marks_only_move_forward_with_their_events,
        );
    };
}

#[macro_export]
macro_rules! account_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!($make; accounts;
            apps_round_trip,
            accounts_are_scoped_to_their_app,
            token_and_block_updates,
            last_devices_are_kept_per_account_and_group,
            nonces_are_single_use_within_window,
        );
    };
}

#[macro_export]
macro_rules! message_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!($make; messages;
            append_assigns_gapless_sequences,
            append_is_idempotent_on_client_id,
            concurrent_appends_keep_sequences_gapless,
            conversations_of_lists_both_sides,
            members_are_recorded_as_named,
            conversations_of_a_range_compare_ids_bytewise,
            messages_after_pages_in_order,
            batch_append_keeps_order_and_dedups_within_batch,
            resends_anywhere_in_long_batches_take_no_sequence,
            appends_commit_in_the_order_first_polled,
            every_field_reads_back_as_written,
            history_reads_backwards_and_finds_times,
            a_revoked_message_reads_back_as_its_notification,
        );
    };
}

#[macro_export]
macro_rules! event_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!($make; events;
            events_get_gapless_positions_per_account,
            concurrent_changes_keep_event_positions_gapless,
            events_are_trimmed_by_age_and_count,
        );
    };
}

#[macro_export]
macro_rules! user_store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!($make; users;
            profiles_start_from_the_account_and_change_field_by_field,
            a_profile_update_of_no_account_changes_nothing,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($make:expr; $area:ident; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some((store, _guard)) = $make.await else { return };
                $crate::__conformance::$area::$name(std::sync::Arc::new(store)).await;
            }
        )*
    };
}
