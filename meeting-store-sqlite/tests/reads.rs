//! Reads beside other connections: they never wait for a writer or a
//! checkpoint. (That a read which must wait moves off the executor is a unit
//! test in `read.rs`: in WAL mode only crash recovery makes a reader wait, which
//! a test cannot stage while the store holds the file open.)

mod support;

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::MeetingStore;
use meeting_store_sqlite::{SqliteOptions, SqliteStore};
use rusqlite::Connection;
use std::time::{Duration, Instant};
use support::database;

/// A writer holding the write lock with uncommitted rows, and a checkpoint,
/// do not make a read wait: it answers the committed state at once.
#[tokio::test(flavor = "current_thread")]
async fn reads_do_not_wait_for_another_writer_or_a_checkpoint() {
    let (_directory, path) = database();
    let busy_timeout = Duration::from_secs(30);
    let store = SqliteStore::open_with(
        &path,
        SqliteOptions {
            busy_timeout,
            ..SqliteOptions::default()
        },
    )
    .await
    .unwrap();
    let stored = key("tenant", "user", "stored");
    store
        .create_or_get(&stored, &|| sample_meeting(&stored, 1))
        .await
        .unwrap();
    assert!(store.get_by_key(&stored).await.unwrap().is_some());

    let writer = Connection::open(&path).unwrap();
    writer
        .execute_batch("BEGIN IMMEDIATE; DELETE FROM meetings;")
        .unwrap();
    let checkpointer = Connection::open(&path).unwrap();
    checkpointer
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .unwrap();

    let started = Instant::now();
    let found = store.get_by_key(&stored).await.unwrap();
    assert!(
        found.is_some(),
        "the read saw the other writer's uncommitted delete"
    );
    assert!(
        started.elapsed() < busy_timeout,
        "the read waited for the other writer"
    );
    writer.execute_batch("ROLLBACK").unwrap();
}
