//! Writes that fail inside the writer's transaction: what their callers are
//! told, what `ping` reports after them, and the writes that follow.

mod support;

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::{MeetingStore, StoreError};
use meeting_store_sqlite::{SqliteOptions, SqliteStore};
use rusqlite::Connection;
use support::database;

/// A store at `path` whose file holds `sql`, run by another connection
/// (another application's triggers, say) after the schema was created.
async fn open_after(path: &std::path::Path, sql: &str, options: SqliteOptions) -> SqliteStore {
    drop(SqliteStore::open(path).await.unwrap());
    Connection::open(path).unwrap().execute_batch(sql).unwrap();
    SqliteStore::open_with(path, options).await.unwrap()
}

/// SQLite undoes only the failing statement of a full database, keeping the
/// writer's transaction open, when that statement uses a statement journal,
/// as a trigger on the table makes it do. Such a create is still answered
/// unavailable, not as a conflict over its key, and `ping` reports the full
/// database, though the group commit that carried the create committed.
#[tokio::test]
async fn a_create_the_full_database_undid_alone_is_unavailable_and_ping_reports_it() {
    let (_directory, path) = database();
    let audited = "CREATE TABLE created (id TEXT);
        CREATE TRIGGER log_creates AFTER INSERT ON meetings
        BEGIN INSERT INTO created VALUES (new.id); END";
    let capped = SqliteOptions {
        max_database_bytes: Some(64 * 1024),
        ..SqliteOptions::default()
    };
    let store = open_after(&path, audited, capped).await;
    let refusal = 'fill: {
        for n in 1..=200 {
            let k = key("tenant", "user", &format!("meeting-{n}"));
            if let Err(error) = store.create_or_get(&k, &|| sample_meeting(&k, n)).await {
                break 'fill error;
            }
        }
        panic!("the capped database never filled up");
    };
    assert!(
        matches!(refusal, StoreError::Unavailable { .. }),
        "{refusal}"
    );
    let error = store
        .ping()
        .await
        .expect_err("ping reports the full database");
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
}

/// A write that fails inside the writer's transaction (here a delete that a
/// trigger refuses) has its transaction rolled back: the writer's connection
/// is left outside any transaction, and the next write commits.
#[tokio::test]
async fn a_write_failing_inside_its_transaction_leaves_the_next_write_to_commit() {
    let (_directory, path) = database();
    let kept = "CREATE TRIGGER keep_meetings BEFORE DELETE ON meetings
        BEGIN SELECT RAISE(ABORT, 'meetings are kept'); END";
    let store = open_after(&path, kept, SqliteOptions::default()).await;
    let first = key("tenant", "user", "first");
    let stored = store
        .create_or_get(&first, &|| sample_meeting(&first, 1))
        .await
        .unwrap()
        .into_meeting();
    store
        .delete(&stored.id)
        .await
        .expect_err("the trigger refuses the delete");

    let next = key("tenant", "user", "next");
    let created = store
        .create_or_get(&next, &|| sample_meeting(&next, 2))
        .await
        .expect("the next write commits");
    assert!(created.is_created());
    assert_eq!(store.get_by_key(&first).await.unwrap(), Some(stored));
}
