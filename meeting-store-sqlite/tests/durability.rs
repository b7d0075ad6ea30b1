//! What a reopened file holds, how it is laid out, and how writes are committed.

mod support;

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::MeetingStore;
use meeting_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use rusqlite::Connection;
use std::time::{Duration, Instant};
use support::{
    bytes, database, hold_write_lock, patient_store, queue_creates, writer_looked_again,
};

#[tokio::test]
async fn a_created_meeting_is_there_unchanged_after_a_reopen() {
    for synchronous in [Synchronous::Full, Synchronous::Normal] {
        let (_directory, path) = database();
        let options = SqliteOptions {
            synchronous,
            ..SqliteOptions::default()
        };
        let key = key("tenant", "user", "reopened");
        let created = {
            let store = SqliteStore::open_with(&path, options.clone())
                .await
                .unwrap();
            let outcome = store
                .create_or_get(&key, &|| sample_meeting(&key, 1))
                .await
                .unwrap();
            assert!(outcome.is_created());
            outcome.into_meeting()
        };
        let store = SqliteStore::open_with(&path, options).await.unwrap();
        let found = store.get_by_key(&key).await.unwrap().expect("still stored");
        assert_eq!(*found, *created);
        assert_eq!(
            serde_json::to_string(&*found).unwrap(),
            serde_json::to_string(&*created).unwrap()
        );
        let again = store
            .create_or_get(&key, &|| sample_meeting(&key, 2))
            .await
            .unwrap();
        assert!(!again.is_created(), "the reopened key is a hit");
        assert_eq!(again.meeting().id, created.id);
    }
}

/// Dropping the store closes the file before the drop returns: the writer
/// thread is joined, so the last connection's close has already checkpointed
/// and removed the write-ahead log.
#[tokio::test]
async fn dropping_the_store_closes_the_file_before_it_returns() {
    let (_directory, path) = database();
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    let store = SqliteStore::open(&path).await.unwrap();
    let key = key("tenant", "user", "dropped");
    store
        .create_or_get(&key, &|| sample_meeting(&key, 1))
        .await
        .unwrap();
    assert!(std::fs::exists(&wal).unwrap(), "an open store has its log");
    drop(store);
    assert!(!std::fs::exists(&wal).unwrap(), "the log outlived the drop");
    let count: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM meetings", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, 1);
}

/// The store answers the path and options it was opened with, and shows both
/// when debug-printed.
#[tokio::test]
async fn the_store_reports_its_path_and_options() {
    let (_directory, path) = database();
    let options = SqliteOptions {
        synchronous: Synchronous::Normal,
        busy_timeout: Duration::from_millis(1_234),
        max_batch: 7,
        write_queue: 11,
        max_database_bytes: Some(1 << 30),
        idle_readers: 3,
        parsed_cache_bytes: 4_096,
    };
    let store = SqliteStore::open_with(&path, options.clone())
        .await
        .unwrap();
    assert_eq!(store.path(), path);
    assert_eq!(format!("{:?}", store.options()), format!("{options:?}"));
    let shown = format!("{store:?}");
    assert!(
        shown.starts_with("SqliteStore")
            && shown.contains(&format!("{path:?}"))
            && shown.contains(&format!("{options:?}")),
        "{shown}"
    );
}

/// A connection about to write a database not yet in WAL mode (another
/// process setting up the store first, say), holding its reserved lock.
/// Turning the file to WAL needs an exclusive lock, which SQLite then refuses
/// at once, without waiting in the busy handler.
fn hold_a_new_database(path: &std::path::Path) -> Connection {
    // A database file with no tables, in rollback-journal mode.
    Connection::open(path)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); DROP TABLE t")
        .unwrap();
    hold_write_lock(path)
}

/// The open waits for the lock (retrying), and succeeds once it is released.
#[tokio::test]
async fn opening_a_database_another_connection_is_writing_waits_for_its_lock() {
    let (_directory, path) = database();
    let holder = hold_a_new_database(&path);
    let options = SqliteOptions {
        busy_timeout: Duration::from_secs(60),
        ..SqliteOptions::default()
    };
    let opening = tokio::spawn(SqliteStore::open_with(path.clone(), options));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!opening.is_finished(), "the open did not wait for the lock");
    holder.execute_batch("COMMIT").unwrap();
    let store = opening
        .await
        .unwrap()
        .expect("opened once the lock is released");
    let key = key("tenant", "user", "after-the-lock");
    assert!(store
        .create_or_get(&key, &|| sample_meeting(&key, 1))
        .await
        .unwrap()
        .is_created());
}

/// ... and gives up, unavailable and leaving the file as it was, when the lock
/// outlasts the busy timeout.
#[tokio::test]
async fn opening_a_database_locked_past_the_busy_timeout_is_unavailable() {
    let (_directory, path) = database();
    let holder = hold_a_new_database(&path);
    let before = bytes(&path);
    let options = SqliteOptions {
        busy_timeout: Duration::from_millis(100),
        ..SqliteOptions::default()
    };
    let opening = tokio::spawn(SqliteStore::open_with(path.clone(), options));
    let waiting = Instant::now();
    while !opening.is_finished() {
        // Past it, the open would wait for the lock forever.
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "the open did not give up at its busy timeout"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let error = opening.await.unwrap().expect_err("the file is locked");
    assert!(
        matches!(error, meeting_core::StoreError::Unavailable { .. }),
        "{error}"
    );
    assert_eq!(bytes(&path), before, "the file is as it was");
    holder.execute_batch("COMMIT").unwrap();
}

#[tokio::test]
async fn the_file_records_its_schema_version_and_is_in_wal_mode() {
    let (_directory, path) = database();
    drop(SqliteStore::open(&path).await.unwrap());
    let raw = Connection::open(&path).unwrap();
    let version: i64 = raw
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    let mode: String = raw
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(version, 3);
    assert_eq!(mode, "wal");
}

/// A migration is a write transaction: it would wait for the write lock held
/// here, past the busy timeout, and the open would fail. Opening a current file
/// takes no write lock, and leaves the file's bytes as they were.
#[tokio::test]
async fn opening_a_current_file_again_migrates_nothing() {
    let (_directory, path) = database();
    drop(SqliteStore::open(&path).await.unwrap());
    let before = bytes(&path).expect("the file exists");
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let options = SqliteOptions {
        busy_timeout: Duration::from_millis(100),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&path, options)
        .await
        .expect("a current file opens while another connection holds the write lock");
    other.execute_batch("COMMIT").unwrap();
    drop(other);
    drop(store);
    let version: i64 = Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, 3);
    assert_eq!(
        bytes(&path).expect("the file exists"),
        before,
        "the reopen wrote nothing"
    );
}

#[tokio::test]
async fn the_key_and_the_id_are_each_unique_in_the_schema() {
    let (_directory, path) = database();
    drop(SqliteStore::open(&path).await.unwrap());
    let raw = Connection::open(&path).unwrap();
    let insert = "INSERT INTO meetings (id, tenant_id, user_id, external_id, meeting) VALUES (?1, ?2, ?3, ?4, '{}')";
    raw.execute(insert, ["a", "t", "u", "x"]).unwrap();
    assert!(
        raw.execute(insert, ["b", "t", "u", "x"]).is_err(),
        "one meeting per key"
    );
    assert!(
        raw.execute(insert, ["a", "t", "u", "y"]).is_err(),
        "one meeting per id"
    );
    let plan: String = raw
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id, meeting FROM meetings WHERE tenant_id = 't' AND user_id = 'u' AND external_id = 'x'",
            [],
            |row| row.get(3),
        )
        .unwrap();
    assert!(
        plan.contains("USING INDEX"),
        "a hit is an indexed read: {plan}"
    );
}

#[tokio::test]
async fn the_join_meeting_id_is_unique_where_present_in_the_schema() {
    let (_directory, path) = database();
    drop(SqliteStore::open(&path).await.unwrap());
    let raw = Connection::open(&path).unwrap();
    let insert = "INSERT INTO meetings (id, tenant_id, user_id, external_id, meeting, join_meeting_id) VALUES (?1, 't', 'u', ?1, '{}', ?2)";
    raw.execute(insert, ("a", Some("123456789012"))).unwrap();
    let refused = raw
        .execute(insert, ("b", Some("123456789012")))
        .unwrap_err();
    assert_eq!(
        refused.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation),
        "one meeting per join id"
    );
    for id in ["c", "d"] {
        raw.execute(insert, (id, None::<&str>))
            .expect("meetings without a join id never collide");
    }
    let plan: String = raw
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id, meeting FROM meetings WHERE join_meeting_id = '123456789012'",
            [],
            |row| row.get(3),
        )
        .unwrap();
    assert!(
        plan.contains("USING INDEX meetings_join_meeting_id"),
        "a lookup by join id is an indexed read: {plan}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_share_commits() {
    let (_directory, path) = database();
    let store = patient_store(&path, SqliteOptions::default()).await;
    // Another writer holds the lock until every caller has queued its create, as
    // a slow commit (fsync) would: the callers arrive while the writer is busy,
    // whatever the scheduler does. Left to timing alone, callers that happened to
    // arrive one by one on a fast disk could each get a commit of their own.
    let other = hold_write_lock(&path);
    let callers = 64;
    let tasks = queue_creates(&store, (0..callers).map(|n| (format!("group-{n}"), n))).await;
    other.execute_batch("COMMIT").unwrap();
    for task in tasks {
        assert!(task.await.unwrap().unwrap().is_created());
    }
    let commits = store.committed_transactions();
    assert!(
        commits <= callers / 2,
        "{callers} concurrent creates took {commits} commits"
    );
}

#[tokio::test]
async fn a_write_lock_held_past_the_busy_timeout_is_unavailable_while_hits_still_answer() {
    let (_directory, path) = database();
    let options = SqliteOptions {
        busy_timeout: std::time::Duration::from_millis(50),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&path, options).await.unwrap();
    let stored = key("tenant", "user", "stored");
    store
        .create_or_get(&stored, &|| sample_meeting(&stored, 1))
        .await
        .unwrap();
    // Another process's writer, as far as SQLite can tell.
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let blocked = key("tenant", "user", "blocked");
    let error = store
        .create_or_get(&blocked, &|| sample_meeting(&blocked, 2))
        .await
        .unwrap_err();
    assert!(
        matches!(error, meeting_core::StoreError::Unavailable { .. }),
        "{error}"
    );
    let hit = store
        .create_or_get(&stored, &|| unreachable!("a hit builds nothing"))
        .await
        .unwrap();
    assert!(!hit.is_created(), "a hit reads past the other writer");

    other.execute_batch("COMMIT").unwrap();
    let retried = store
        .create_or_get(&blocked, &|| sample_meeting(&blocked, 2))
        .await
        .unwrap();
    assert!(retried.is_created(), "retrying later succeeds");
}

/// Every create is in one batch, whatever the scheduler does: another
/// connection holds the write lock until the writer has taken every create
/// into its batch, then lets go. One commit for the lot; the create that
/// reuses a stored meeting's id fails alone, the others are stored.
///
/// The callers run on this test's only runtime thread, so that once a
/// caller's meeting is built its create is queued: nothing runs between the
/// two. A last create, queued after them all with a deadline already passed,
/// is answered only once the writer has taken everything queued before it
/// into its batch (it answers expired creates as it looks at its batch again
/// after each wait for the lock), so its answer says the batch is complete.
#[tokio::test(flavor = "current_thread")]
async fn a_conflicting_create_fails_alone_in_its_group_commit() {
    let (_directory, path) = database();
    let store = patient_store(&path, SqliteOptions::default()).await;
    let taken = key("tenant", "user", "taken");
    store
        .create_or_get(&taken, &|| sample_meeting(&taken, 0))
        .await
        .unwrap();
    assert_eq!(store.committed_transactions(), 1);

    let other = hold_write_lock(&path);
    let callers = 32u64;
    // The last caller reuses the taken meeting's id under its own key.
    let seed = |n| if n == callers { 0 } else { n };
    let tasks = queue_creates(
        &store,
        (1..=callers).map(|n| (format!("batched-{n}"), seed(n))),
    )
    .await;
    writer_looked_again(&store).await;
    assert_eq!(
        store.committed_transactions(),
        1,
        "nothing commits while the lock is held"
    );
    other.execute_batch("COMMIT").unwrap();

    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let (conflicting, others) = results.split_last().unwrap();
    assert!(
        matches!(conflicting, Err(meeting_core::StoreError::Conflict { .. })),
        "{conflicting:?}"
    );
    for (n, result) in (1..).zip(others) {
        assert!(
            matches!(result, Ok(outcome) if outcome.is_created()),
            "batched-{n}: {result:?}"
        );
    }
    assert_eq!(
        store.committed_transactions(),
        2,
        "the taken meeting's commit, then one for every create of the batch"
    );
    for n in 1..callers {
        let key = key("tenant", "user", &format!("batched-{n}"));
        let stored = store.get_by_key(&key).await.unwrap().expect("stored");
        assert_eq!(*stored, sample_meeting(&key, n));
    }
    let conflicting_key = key("tenant", "user", &format!("batched-{callers}"));
    assert_eq!(store.get_by_key(&conflicting_key).await.unwrap(), None);
    assert_eq!(
        store
            .get_by_key(&key("tenant", "user", "marker"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        *store
            .get_by_key(&taken)
            .await
            .unwrap()
            .expect("still stored"),
        sample_meeting(&taken, 0)
    );
    assert_eq!(store.count().await.unwrap(), callers);
}
