//! Serialization failures, forced by hand and retried by the store.
//!
//! Under SERIALIZABLE (as under REPEATABLE READ), an `INSERT … ON CONFLICT DO
//! NOTHING` that meets a row inserted by a transaction which commits after
//! the statement's snapshot was taken cannot just do nothing: the row is not
//! in its snapshot, so PostgreSQL fails it with SQLSTATE 40001 ("could not
//! serialize access due to concurrent update"). The test makes exactly that
//! happen: another connection inserts the key's meeting in a transaction it
//! keeps open, the store's create finds no meeting and inserts too, which
//! waits for that transaction (seen in `pg_blocking_pids`, not guessed by a
//! sleep), and only then does the other transaction commit.

use meeting_tests::postgres;

use meeting_core::conformance::{create, key, sample_meeting};
use meeting_core::{join_web_url_key, MeetingKey, MeetingStore, Outcome, StoreError};
use meeting_store_postgres::{Isolation, PostgresOptions, PostgresStore};
use std::sync::Arc;
use std::time::Instant;
use tokio_postgres::error::SqlState;

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
}

async fn store(url: &str, max_retries: u32) -> Arc<PostgresStore> {
    let store = PostgresStore::connect_with(
        url,
        PostgresOptions {
            isolation: Isolation::Serializable,
            max_retries,
            ..PostgresOptions::default()
        },
    )
    .await
    .expect("connect to the test database");
    assert_eq!(
        store.session_isolation().await.unwrap(),
        Isolation::Serializable
    );
    Arc::new(store)
}

/// The store's create of `key` (offering the meeting of seed `seed + 1`)
/// while another transaction that inserted `key`'s meeting (seed `seed`) is
/// open, committed once the store's insert waits for it: the store's insert
/// then fails with a serialization failure. What the create answered.
async fn create_meeting_a_concurrent_commit(
    store: &Arc<PostgresStore>,
    url: &str,
    key: &MeetingKey,
    seed: u64,
) -> Result<Outcome, StoreError> {
    let other = connect(url).await;
    let theirs = sample_meeting(key, seed);
    other.batch_execute("BEGIN").await.unwrap();
    other
        .execute(
            "INSERT INTO online_meetings \
             (tenant_id, user_id, external_id, id, meeting, join_meeting_id, join_web_url) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &key.tenant.as_str(),
                &key.user.as_str(),
                &key.external_id.as_str(),
                &theirs.id.as_str(),
                &serde_json::to_string(&theirs).unwrap(),
                &theirs.join_meeting_id(),
                &join_web_url_key(&theirs.join_web_url).as_ref(),
            ],
        )
        .await
        .unwrap();
    let create = tokio::spawn({
        let (store, key) = (Arc::clone(store), key.clone());
        async move {
            store
                .create_or_get(&key, &|| sample_meeting(&key, seed + 1))
                .await
        }
    });
    // The store's insert is the only statement that can wait for `other`.
    wait_until_blocked_by(&other, url, store, &create).await;
    other.batch_execute("COMMIT").await.unwrap();
    create.await.unwrap()
}

/// Waits until a statement of the store, run by `task`, waits for the open
/// transaction of `other` (seen in `pg_blocking_pids`, not guessed by a sleep).
async fn wait_until_blocked_by<T>(
    other: &tokio_postgres::Client,
    url: &str,
    store: &PostgresStore,
    task: &tokio::task::JoinHandle<T>,
) {
    let watcher = connect(url).await;
    let other_pid: i32 = other
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let call_timeout = store.options().call_timeout;
    let waiting = Instant::now();
    loop {
        let blocked: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                &[&other_pid],
            )
            .await
            .unwrap()
            .get(0);
        if blocked > 0 {
            return;
        }
        assert!(
            waiting.elapsed() < call_timeout && !task.is_finished(),
            "the store's statement never waited for the other transaction"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// Whether `error`'s causes hold PostgreSQL's serialization failure.
fn is_serialization_failure(error: &StoreError) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error as _);
    while let Some(layer) = cause {
        if let Some(postgres) = layer.downcast_ref::<tokio_postgres::Error>() {
            return postgres.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE);
        }
        cause = layer.source();
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_create_that_fails_to_serialize_is_retried_and_finds_the_one_meeting_stored() {
    let url = postgres::fresh_database().await;

    // Without retries, the interleaving fails the create: the failure is real.
    let unretried = store(&url, 0).await;
    let first = key("tenant", "user", "unretried");
    let error = create_meeting_a_concurrent_commit(&unretried, &url, &first, 10)
        .await
        .expect_err("a create that is not retried fails");
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert!(
        is_serialization_failure(&error),
        "SQLSTATE 40001: {}",
        meeting_core::error_chain(&error)
    );

    // With retries, the same interleaving: the retry sees the committed
    // meeting and answers it.
    let retried = store(&url, PostgresOptions::default().max_retries).await;
    let second = key("tenant", "user", "retried");
    let outcome = create_meeting_a_concurrent_commit(&retried, &url, &second, 20)
        .await
        .expect("the retried create succeeds");
    assert!(!outcome.is_created(), "the other transaction's meeting won");
    assert_eq!(*outcome.meeting(), sample_meeting(&second, 20));
    assert_eq!(
        *retried.get_by_key(&second).await.unwrap().expect("stored"),
        sample_meeting(&second, 20)
    );
    assert_eq!(
        retried.get(&sample_meeting(&second, 21).id).await.unwrap(),
        None,
        "the store's own offer was not stored"
    );
    // One meeting per key: the two other transactions', nothing of the store's.
    assert_eq!(retried.count().await.unwrap(), 2);
}

/// Under SERIALIZABLE, a delete that waits for another transaction deleting
/// the same meeting fails to serialize once that one commits, and its retry
/// finds nothing: the store answers not found. The failed attempt was answered
/// by the server (it did not run), so it cannot have deleted the meeting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_delete_that_fails_to_serialize_behind_another_delete_answers_not_found() {
    let url = postgres::fresh_database().await;
    let store = store(&url, 3).await;
    let k = key("tenant", "user", "deleted-twice");
    let id = create(&*store, &k, 1).await.meeting().id.clone();
    let other = connect(&url).await;
    other.batch_execute("BEGIN").await.unwrap();
    let deleted = other
        .execute("DELETE FROM online_meetings WHERE id = $1", &[&id.as_str()])
        .await
        .unwrap();
    assert_eq!(deleted, 1);

    let delete = tokio::spawn({
        let (store, id) = (Arc::clone(&store), id.clone());
        async move { store.delete(&id).await }
    });
    wait_until_blocked_by(&other, &url, &store, &delete).await;
    other.batch_execute("COMMIT").await.unwrap();
    assert!(
        !delete.await.unwrap().unwrap(),
        "the other transaction deleted the meeting, not this call"
    );
}
