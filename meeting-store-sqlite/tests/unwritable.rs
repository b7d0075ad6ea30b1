//! A database that cannot be written: refused at open when it is read-only
//! then, answered as unavailable (and reported by `ping`) when it becomes so later.

mod support;

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::{MeetingStore, StoreError};
use meeting_store_sqlite::SqliteStore;
use meeting_tests::errors::chain;
use rusqlite::ErrorCode;
use std::os::unix::fs::PermissionsExt;
use support::{bytes, database, sqlite_cause, Immutable};

#[tokio::test]
async fn a_read_only_database_file_is_refused_at_open_saying_so_and_left_untouched() {
    let (_directory, path) = database();
    let kept = key("tenant", "user", "kept");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store
            .create_or_get(&kept, &|| sample_meeting(&kept, 1))
            .await
            .unwrap();
    }
    // Root ignores permission bits: the immutable attribute stops root too.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let _immutable = support::is_root().then(|| Immutable::set(&path));
    let before = bytes(&path).unwrap();

    let error = SqliteStore::open(&path)
        .await
        .expect_err("a read-only file is refused");
    eprintln!("{}", chain(&error));
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
    meeting_tests::errors::assert_each_layer_says_only_its_own(&error);
    assert!(
        chain(&error).contains("is read-only"),
        "the message says the file is read-only: {}",
        chain(&error)
    );
    assert_eq!(bytes(&path).unwrap(), before, "the file is untouched");
}

/// `path` with `suffix` appended (SQLite's sidecar files).
fn sidecar(path: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

#[tokio::test]
async fn a_database_that_becomes_unwritable_answers_creates_unavailable_and_ping_says_so_until_it_is_writable_again(
) {
    let (_directory, path) = database();
    let store = SqliteStore::open(&path).await.unwrap();
    let kept = key("tenant", "user", "kept");
    let stored = store
        .create_or_get(&kept, &|| sample_meeting(&kept, 1))
        .await
        .unwrap()
        .into_meeting();
    store.ping().await.expect("healthy while writes work");

    // Made unwritable behind the open store, for root too: every write to
    // the WAL (and a checkpoint into the file) now fails with EPERM.
    let wal = Immutable::set(&sidecar(&path, "-wal"));
    let file = Immutable::set(&path);
    let refused = key("tenant", "user", "refused");
    for _ in 0..2 {
        let error = store
            .create_or_get(&refused, &|| sample_meeting(&refused, 2))
            .await
            .unwrap_err();
        eprintln!("{}", chain(&error));
        assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
        let error = store
            .ping()
            .await
            .expect_err("ping reports the failing writes");
        assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
    }
    let hit = store
        .get_by_key(&kept)
        .await
        .unwrap()
        .expect("reads still answer");
    assert_eq!(hit, stored);

    drop((wal, file));
    store.ping().await.expect("ping sees writes work again");
    let created = store
        .create_or_get(&refused, &|| sample_meeting(&refused, 2))
        .await
        .unwrap();
    assert!(created.is_created());
    drop(store);

    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(reopened.get_by_key(&kept).await.unwrap(), Some(stored));
    assert_eq!(
        reopened.get_by_key(&refused).await.unwrap(),
        Some(created.into_meeting())
    );
}

#[tokio::test]
async fn a_full_database_answers_creates_unavailable_keeps_hits_and_what_it_acknowledged_and_creates_again_once_space_returns(
) {
    let (_directory, path) = database();
    // A 64 KiB cap stands in for a full disk: SQLite answers SQLITE_FULL.
    let capped = |bytes| meeting_store_sqlite::SqliteOptions {
        max_database_bytes: Some(bytes),
        ..meeting_store_sqlite::SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&path, capped(64 * 1024))
        .await
        .unwrap();
    let mut acknowledged = Vec::new();
    let mut refused = None;
    for n in 1..=200 {
        let k = key("tenant", "user", &format!("meeting-{n}"));
        match store.create_or_get(&k, &|| sample_meeting(&k, n)).await {
            Ok(outcome) => acknowledged.push((k, outcome.into_meeting())),
            Err(error) => {
                eprintln!("{}", chain(&error));
                assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
                assert_eq!(
                    sqlite_cause(&error),
                    Some(ErrorCode::DiskFull),
                    "the refusal says the database is full"
                );
                refused = Some((k, n));
                break;
            }
        }
    }
    let (refused, n) = refused.expect("the capped database fills up");
    assert!(acknowledged.len() >= 3, "a few meetings fit first");

    // Full: creates are refused again, ping says so, and hits still answer.
    let again = store
        .create_or_get(&refused, &|| sample_meeting(&refused, n))
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::Unavailable { .. }), "{again}");
    let error = store
        .ping()
        .await
        .expect_err("ping reports the full database");
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
    for (k, meeting) in &acknowledged {
        let hit = store
            .create_or_get(k, &|| unreachable!("a hit builds nothing"))
            .await
            .unwrap();
        assert!(!hit.is_created());
        assert_eq!(hit.shared(), meeting);
    }
    assert_eq!(store.get_by_key(&refused).await.unwrap(), None);

    // Deleting meetings frees pages: creates work again.
    let (_, first) = acknowledged.remove(0);
    let (_, second) = acknowledged.remove(0);
    assert!(store.delete(&first.id).await.unwrap());
    assert!(store.delete(&second.id).await.unwrap());
    store.ping().await.expect("ping sees writes work again");
    let created = store
        .create_or_get(&refused, &|| sample_meeting(&refused, n))
        .await
        .unwrap();
    assert!(created.is_created());
    acknowledged.push((refused, created.into_meeting()));
    drop(store);

    // A raised cap leaves room too, and nothing acknowledged was lost.
    let store = SqliteStore::open_with(&path, capped(1 << 20))
        .await
        .unwrap();
    for (k, meeting) in &acknowledged {
        assert_eq!(store.get_by_key(k).await.unwrap().as_ref(), Some(meeting));
    }
    let more = key("tenant", "user", "after-the-cap-was-raised");
    let outcome = store
        .create_or_get(&more, &|| sample_meeting(&more, 1_000))
        .await
        .unwrap();
    assert!(outcome.is_created());
}

/// Ping's probe after a failed write needs the room of a meeting: a database
/// with room left for a small row but not for a meeting is still unavailable.
#[tokio::test]
async fn ping_after_a_failed_create_reports_a_database_with_room_only_for_a_small_row() {
    let (_directory, path) = database();
    drop(SqliteStore::open(&path).await.unwrap());
    // 2,000 bytes fill about half of a 4 KiB page; the file gets no new page.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO meetings (id, tenant_id, user_id, external_id, meeting)
            VALUES ('filler', 'tenant', 'user', 'filler', ?1)",
            [" ".repeat(2_000)],
        )
        .unwrap();
    // Capped at the file's current size (SQLite never caps below it).
    let no_new_page = meeting_store_sqlite::SqliteOptions {
        max_database_bytes: Some(0),
        ..meeting_store_sqlite::SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&path, no_new_page).await.unwrap();

    let refused = key("tenant", "user", "refused");
    let error = store
        .create_or_get(&refused, &|| sample_meeting(&refused, 1))
        .await
        .expect_err("a meeting needs a new page");
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
    let error = store
        .ping()
        .await
        .expect_err("ping reports that meetings do not fit");
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
}
