//! Bounded work in the writer: a bounded queue, and per-caller deadlines while
//! another connection holds the write lock.

mod support;

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::{MeetingStore, StoreError};
use meeting_store_sqlite::{SqliteOptions, SqliteStore};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{database, hold_write_lock, patient_store, queue_creates, writer_looked_again};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_commit_kept_waiting_fails_only_the_callers_whose_own_deadline_passed() {
    let (_directory, path) = database();
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    let before = key("tenant", "user", "before");
    let stored = store
        .create_or_get(&before, &|| sample_meeting(&before, 1))
        .await
        .unwrap()
        .into_meeting();
    let other = hold_write_lock(&path);

    let (early, late) = (
        key("tenant", "user", "early"),
        key("tenant", "user", "late"),
    );
    let early_task = {
        let (store, early) = (Arc::clone(&store), early.clone());
        let deadline = Instant::now() + Duration::from_millis(300);
        tokio::spawn(async move {
            store
                .create_or_get_until(&early, &|| sample_meeting(&early, 2), deadline)
                .await
        })
    };
    let late_task = {
        let (store, late) = (Arc::clone(&store), late.clone());
        let deadline = Instant::now() + Duration::from_secs(60);
        tokio::spawn(async move {
            store
                .create_or_get_until(&late, &|| sample_meeting(&late, 3), deadline)
                .await
        })
    };

    // The lock is held throughout: the early caller's deadline passes first.
    let error = early_task.await.unwrap().unwrap_err();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
    assert!(
        !late_task.is_finished(),
        "the later caller still waits, within its own deadline"
    );
    other.execute_batch("COMMIT").unwrap();
    let created = late_task
        .await
        .unwrap()
        .expect("committed once the lock was free");
    assert!(created.is_created());

    assert_eq!(store.get_by_key(&early).await.unwrap(), None);
    drop(store);
    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(reopened.get_by_key(&before).await.unwrap(), Some(stored));
    assert_eq!(
        reopened.get_by_key(&late).await.unwrap(),
        Some(created.into_meeting())
    );
    assert_eq!(reopened.get_by_key(&early).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_beyond_the_queue_bound_are_refused_at_once_as_unavailable() {
    let (_directory, path) = database();
    // At most one write in the writer's batch and one queued.
    let options = SqliteOptions {
        max_batch: 1,
        write_queue: 1,
        ..SqliteOptions::default()
    };
    let store = patient_store(&path, options).await;
    let other = hold_write_lock(&path);

    // Three writes while the lock is held: one more than the writer can hold.
    let (finished, mut results) = tokio::sync::mpsc::unbounded_channel();
    for n in 0..3u64 {
        let (store, finished) = (Arc::clone(&store), finished.clone());
        tokio::spawn(async move {
            let k = key("tenant", "user", &format!("queued-{n}"));
            let result = store.create_or_get(&k, &|| sample_meeting(&k, n)).await;
            finished.send((k, result)).unwrap();
        });
    }
    drop(finished);

    // Only a refusal can finish while the lock is held (the others wait up to 60 s).
    let (first_refused, result) = results.recv().await.unwrap();
    let error = result.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
    other.execute_batch("COMMIT").unwrap();
    let (mut created, mut refused) = (Vec::new(), vec![first_refused]);
    while let Some((k, result)) = results.recv().await {
        match result {
            Ok(outcome) => {
                assert!(outcome.is_created());
                created.push(k);
            }
            Err(error) => {
                assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
                refused.push(k);
            }
        }
    }
    // The first write always finds room; whatever was accepted is stored, the rest not.
    assert!(!created.is_empty(), "accepted writes commit");
    for k in &refused {
        assert_eq!(store.get_by_key(k).await.unwrap(), None);
    }
    for k in &created {
        assert!(store.get_by_key(k).await.unwrap().is_some());
    }
}

/// A create whose caller stopped waiting (its future was dropped) while
/// another connection held the write lock leaves the writer's batch
/// unwritten, though its deadline is a minute off.
///
/// The callers run on this test's only runtime thread, so a create whose
/// meeting was built has been queued. A create queued after the drop with its
/// deadline already passed is answered when the writer looks at its batch
/// again, so by then the writer has seen that the first caller left.
#[tokio::test(flavor = "current_thread")]
async fn a_create_whose_caller_stopped_waiting_is_not_written() {
    let (_directory, path) = database();
    let store = patient_store(&path, SqliteOptions::default()).await;
    let other = hold_write_lock(&path);

    let [caller] = queue_creates(&store, [("left".to_owned(), 1)])
        .await
        .try_into()
        .expect("one create");
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());
    writer_looked_again(&store).await;
    other.execute_batch("COMMIT").unwrap();

    let after = key("tenant", "user", "after");
    let created = store
        .create_or_get(&after, &|| sample_meeting(&after, 3))
        .await
        .unwrap();
    assert!(created.is_created());
    let left = key("tenant", "user", "left");
    assert_eq!(store.get_by_key(&left).await.unwrap(), None);
    assert_eq!(
        store.committed_transactions(),
        1,
        "only the last create committed"
    );
}

/// While the writer waits for the lock, it looks at its queue again this often
/// and takes in the writes queued meanwhile, up to `max_batch`.
const WRITER_LOOKS_AGAIN: Duration = Duration::from_millis(50);

/// No group commit holds more than `max_batch` writes: three creates that all
/// waited for the lock together take two commits with `max_batch = 2`.
#[tokio::test(flavor = "current_thread")]
async fn a_group_commit_holds_at_most_max_batch_writes() {
    let (_directory, path) = database();
    let options = SqliteOptions {
        max_batch: 2,
        ..SqliteOptions::default()
    };
    let store = patient_store(&path, options).await;
    let other = hold_write_lock(&path);
    let tasks = queue_creates(&store, (0..3).map(|n| (format!("batched-{n}"), n))).await;
    // Time for the writer to take every queued create it may into its batch
    // (only how likely a batch too big is seen depends on it).
    tokio::time::sleep(4 * WRITER_LOOKS_AGAIN).await;
    other.execute_batch("COMMIT").unwrap();

    for task in tasks {
        assert!(task.await.unwrap().unwrap().is_created());
    }
    assert_eq!(store.committed_transactions(), 2);
}
