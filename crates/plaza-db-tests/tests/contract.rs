//! Runs every contract story on every backend: SQLite always, PostgreSQL when
//! `PLAZA_TEST_PG_URL` is set (each story on its own, freshly created database).

use std::future::Future;
use std::sync::Arc;

use plaza_db::Store;
use plaza_db_tests::{TestDatabase, contract};

/// Runs `story` on a fresh database and removes the database whatever the outcome.
async fn run_on<F, Fut>(database: TestDatabase, story: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = contract::Outcome> + Send + 'static,
{
    // Spawned so that a failed assertion (a panic) still lets the database be removed.
    let outcome = tokio::spawn(story(database.store.clone())).await;
    database.remove().await.expect("remove the test database");
    match outcome {
        Ok(result) => result.expect("contract story"),
        Err(panic) => std::panic::resume_unwind(panic.into_panic()),
    }
}

macro_rules! contract_suite {
    ($($story:ident),+ $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    let database = TestDatabase::sqlite().await.expect("create sqlite database");
                    run_on(database, contract::$story).await;
                }
            )+
        }

        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    let Some(database) =
                        TestDatabase::postgres().await.expect("create postgres database")
                    else {
                        eprintln!("PLAZA_TEST_PG_URL is not set: PostgreSQL contract skipped");
                        return;
                    };
                    run_on(database, contract::$story).await;
                }
            )+
        }
    };
}

contract_suite!(
    ping_answers,
    password_resets_keep_the_newest_per_user_and_are_taken_once,
    digest_items_are_listed_when_due_and_taken_once_oldest_first,
    users_round_trip_by_id_and_username,
    usernames_are_unique_case_insensitively_except_for_guests,
    listing_users_pages_in_creation_order_without_guests,
    flags_update_and_missing_users_are_not_found,
    first_admin_is_claimed_exactly_once_under_races,
    settings_are_created_then_replaced,
    registration_invites_are_taken_once,
    revoked_jwts_are_remembered_until_they_expire,
    oauth_clients_round_trip_and_revoke_with_their_tokens,
    auth_codes_are_redeemed_once,
    oauth_tokens_are_found_and_revoked_by_grant,
    spaces_round_trip_and_unique_keys_make_get_or_create_safe,
    members_are_listed_admins_first_searched_and_paged,
    the_last_admin_can_be_neither_demoted_nor_removed,
    a_members_own_writes_never_touch_role_or_state,
    listings_page_by_cursor_both_ways_and_filter,
    member_previews_are_capped_per_space,
    colleagues_and_direct_partners_come_from_shared_spaces,
    invitations_are_accepted_once,
    messages_count_unread_comments_and_change_with_concurrency_control,
    unread_counts_follow_read_positions_not_per_member_writes,
    concurrent_sends_land_together_and_fail_alone,
    a_space_is_read_with_one_users_membership,
    message_history_pages_newest_first_and_catches_up_oldest_first,
    message_queries_filter_by_text_files_threads_tasks_and_membership,
    files_complete_once_count_toward_quota_and_expire,
    files_are_readable_through_live_messages_only,
    secrets_are_created_once_and_shared,
    one_active_meeting_per_space_saved_by_compare_and_swap,
    running_meetings_and_dead_nodes_are_found,
    a_media_host_is_claimed_once_and_taken_over_when_it_dies,
    shared_rate_limits_and_ringing_calls_hold_across_callers,
    redeemed_refresh_tokens_are_remembered_until_they_expire,
    audit_events_filter_page_newest_first_and_purge,
    catch_up_follows_the_order_messages_were_stored_in,
    user_statistics_count_spaces_live_messages_and_meetings,
);
