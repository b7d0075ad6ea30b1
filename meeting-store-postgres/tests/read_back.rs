//! Everything the service accepts reads back, from another store instance on
//! the same database: nothing of it may be only in the writer's memory.

use meeting_tests::postgres;

use meeting_core::MeetingStore;
use meeting_store_postgres::PostgresStore;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_meeting_nested_to_the_accepted_depth_reads_back_from_another_instance() {
    let url = postgres::fresh_database().await;
    meeting_tests::read_back::a_meeting_nested_to_the_limit_reads_back(|| {
        let url = url.clone();
        async move {
            Arc::new(PostgresStore::connect(&url).await.unwrap()) as Arc<dyn MeetingStore>
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn accepted_requests_read_back_through_a_new_store_instance() {
    let url = postgres::fresh_database().await;
    meeting_tests::read_back::accepted_requests_read_back(24, || {
        let url = url.clone();
        async move {
            let store = PostgresStore::connect(&url)
                .await
                .expect("a new store instance on the test database");
            Arc::new(store) as Arc<dyn MeetingStore>
        }
    })
    .await;
}
