//! Each refusal of `SqliteStore::open`: the right error, and the file untouched.

mod support;

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::{MeetingStore, StoreError};
use meeting_store_sqlite::{SqliteOptions, SqliteStore};
use rusqlite::Connection;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;
use support::{bytes, child, child_at, child_mode, database, sidecars};

async fn refuse(path: &Path) -> StoreError {
    let error = SqliteStore::open(path)
        .await
        .expect_err("the store refuses the file");
    // Shown with --nocapture: the message a user reads.
    eprintln!(
        "{path:?}: {error}: {:?}",
        std::error::Error::source(&error).map(ToString::to_string)
    );
    error
}

/// Opening the file at `path` is refused as `Incompatible`, with a cause that
/// `says` why, and its bytes do not change.
async fn refused_untouched(path: &Path, says: &str) {
    let before = bytes(path).expect("the file exists");
    let error = refuse(path).await;
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
    assert!(logged(&error).contains(says), "{}", logged(&error));
    assert_eq!(bytes(path).expect("the file still exists"), before);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_and_left_untouched() {
    let (_directory, path) = database();
    let text: Vec<u8> = b"meetings, one per line\n".repeat(400);
    std::fs::write(&path, &text).unwrap();
    refused_untouched(&path, "is not a SQLite database").await;
    assert!(sidecars(&path).is_empty(), "no -wal or -shm was created");
}

#[tokio::test]
async fn a_file_with_a_sqlite_header_and_garbage_after_it_is_refused_and_left_untouched() {
    let (_directory, path) = database();
    let mut garbage = b"SQLite format 3\0".to_vec();
    garbage.extend((0..8192u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&path, &garbage).unwrap();
    refused_untouched(&path, "is not a SQLite database").await;
}

#[tokio::test]
async fn a_database_with_a_newer_schema_version_is_refused_and_left_untouched() {
    let (_directory, path) = database();
    let store = SqliteStore::open(&path).await.unwrap();
    let key = key("tenant", "user", "kept");
    store
        .create_or_get(&key, &|| sample_meeting(&key, 1))
        .await
        .unwrap();
    drop(store);
    let raw = Connection::open(&path).unwrap();
    let known: i64 = raw
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    raw.pragma_update(None, "user_version", known + 1).unwrap();
    drop(raw);
    refused_untouched(&path, "which this build does not know").await;
}

#[tokio::test]
async fn another_applications_database_is_refused_and_left_untouched() {
    let (_directory, path) = database();
    let raw = Connection::open(&path).unwrap();
    raw.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (12.5);")
        .unwrap();
    drop(raw);
    refused_untouched(&path, "of another application").await;
}

#[tokio::test]
async fn a_missing_directory_is_refused_and_not_created() {
    let (directory, _) = database();
    let missing = directory.path().join("not-there");
    let error = refuse(&missing.join("meetings.db")).await;
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
    let says = format!("the directory {} does not exist", missing.display());
    assert!(logged(&error).contains(&says), "{}", logged(&error));
    assert!(!missing.exists());
}

/// A bare file name is a database in the current directory (its parent is
/// the empty path, which means "."). Run in a child started in a temporary
/// directory, so that this process's directory does not change.
#[test]
fn a_bare_file_name_opens_in_the_current_directory() {
    const TEST: &str = "a_bare_file_name_opens_in_the_current_directory";
    if child_mode().as_deref() == Some("bare-name") {
        return support::runtime().block_on(async {
            let store = SqliteStore::open("meetings.db")
                .await
                .expect("opens in the current directory");
            let key = key("tenant", "user", "bare");
            let outcome = store
                .create_or_get(&key, &|| sample_meeting(&key, 1))
                .await
                .unwrap();
            assert!(outcome.is_created());
        });
    }
    let (directory, path) = database();
    let output = child(TEST, "bare-name")
        .current_dir(directory.path())
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(path.exists(), "the database is in the child's directory");
}

/// A path the file system cannot resolve (a symbolic link to itself) is an
/// input/output failure naming the path, not taken for a new database.
#[tokio::test]
async fn a_path_that_cannot_be_opened_is_an_io_failure_naming_it() {
    let (_directory, path) = database();
    std::os::unix::fs::symlink(&path, &path).unwrap();
    let error = refuse(&path).await;
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
    let says = format!("input/output on {} failed", path.display());
    assert!(logged(&error).contains(&says), "{}", logged(&error));
}

/// A database another connection holds exclusively cannot even be read: the
/// open waits up to its busy timeout, then answers unavailable (the file may
/// be free later) rather than refusing it as unwritable, and writes nothing.
#[tokio::test]
async fn a_database_held_exclusively_elsewhere_is_unavailable_and_left_untouched() {
    let (_directory, path) = database();
    drop(store_with_one_meeting(&path, "held").await);
    let holder = Connection::open(&path).unwrap();
    holder
        .execute_batch(
            "PRAGMA locking_mode = EXCLUSIVE; BEGIN IMMEDIATE; DELETE FROM meetings WHERE 0; COMMIT",
        )
        .unwrap();
    let before = bytes(&path);
    let options = SqliteOptions {
        busy_timeout: Duration::from_millis(100),
        ..SqliteOptions::default()
    };
    let error = SqliteStore::open_with(&path, options)
        .await
        .expect_err("the file is held");
    assert!(
        matches!(error, StoreError::Unavailable { .. }),
        "{}",
        logged(&error)
    );
    assert_eq!(bytes(&path), before);
}

/// As root, permissions do not stop writes: the check then runs in a child process as `nobody`.
#[test]
fn a_read_only_directory_is_refused_and_left_untouched() {
    const TEST: &str = "a_read_only_directory_is_refused_and_left_untouched";
    if child_mode().as_deref() == Some("read-only") {
        let directory = std::env::var_os("MEETING_SQLITE_DIRECTORY").expect("the directory");
        return support::runtime().block_on(refuse_in_read_only_directory(directory.as_ref()));
    }
    let (directory, path) = database();
    let runtime = support::runtime();
    runtime.block_on(async {
        let store = SqliteStore::open(&path).await.unwrap();
        let key = key("tenant", "user", "kept");
        store
            .create_or_get(&key, &|| sample_meeting(&key, 1))
            .await
            .unwrap();
    });
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    if root {
        // A copy of this binary that `nobody` may run, wherever the checkout is.
        let runnable = tempfile::tempdir().unwrap();
        std::fs::set_permissions(runnable.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let binary = runnable.path().join("refusals");
        std::fs::copy(std::env::current_exe().unwrap(), &binary).unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        let output = child_at(&binary, TEST, "read-only")
            .env("MEETING_SQLITE_DIRECTORY", directory.path())
            .uid(65_534)
            .gid(65_534)
            .output()
            .expect("the child runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!("the child as nobody said:\n{stderr}");
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "the child as nobody failed:\n{stdout}\n{stderr}"
        );
    } else {
        runtime.block_on(refuse_in_read_only_directory(directory.path()));
    }
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

async fn refuse_in_read_only_directory(directory: &Path) {
    assert!(
        std::fs::File::create(directory.join("probe")).is_err(),
        "the directory must be read-only for this process"
    );
    let existing = directory.join("meetings.db");
    refused_untouched(&existing, "cannot be written").await;

    let new = directory.join("new.db");
    let error = refuse(&new).await;
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
    assert!(!new.exists(), "no file was created");
}

/// A store at `path` holding one meeting under `external_id`.
async fn store_with_one_meeting(
    path: &std::path::Path,
    external_id: &str,
) -> (
    SqliteStore,
    meeting_core::MeetingKey,
    meeting_core::OnlineMeeting,
) {
    let key = key("tenant", "user", external_id);
    let meeting = sample_meeting(&key, 1);
    let store = SqliteStore::open(path).await.unwrap();
    store
        .create_or_get(&key, &|| meeting.clone())
        .await
        .unwrap();
    (store, key, meeting)
}

#[tokio::test]
async fn a_corrupt_stored_meeting_is_reported_as_corrupt_naming_it_and_left_untouched() {
    let (_directory, path) = database();
    let (store, key, meeting) = store_with_one_meeting(&path, "damaged").await;
    drop(store);
    let raw = Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE meetings SET meeting = '{\"@odata.type\": \"#microsoft.graph.onlineMeeting\", \"subj' WHERE id = ?1",
        [meeting.id.as_str()],
    )
    .unwrap();
    drop(raw);
    let before = bytes(&path).unwrap();

    let store = SqliteStore::open(&path).await.unwrap();
    let names_the_meeting = |error: StoreError| {
        assert!(
            logged(&error).contains("invalid JSON: EOF while parsing"),
            "{}",
            logged(&error)
        );
        match error {
            StoreError::Corrupt { what, .. } => assert_eq!(what, meeting.id.as_str()),
            other => panic!("expected Corrupt, got {other}"),
        }
    };
    names_the_meeting(store.get(&meeting.id).await.unwrap_err());
    names_the_meeting(store.get_by_key(&key).await.unwrap_err());
    let built = std::sync::atomic::AtomicBool::new(false);
    let error = store
        .create_or_get(&key, &|| {
            built.store(true, std::sync::atomic::Ordering::SeqCst);
            sample_meeting(&key, 2)
        })
        .await
        .unwrap_err();
    names_the_meeting(error);
    assert!(!built.into_inner(), "a corrupt hit is not overwritten");
    drop(store);
    assert_eq!(bytes(&path).unwrap(), before);
}

/// A remembered parse is returned only for the very text it came from: a row
/// changed to bytes that are not UTF-8 is corrupt, though the store still
/// remembers the meeting (hits compare bytes before checking UTF-8).
#[tokio::test]
async fn a_remembered_meeting_is_not_returned_for_a_row_that_is_no_longer_its_text() {
    let (_directory, path) = database();
    let (store, key, meeting) = store_with_one_meeting(&path, "remembered").await;
    assert!(store.get_by_key(&key).await.unwrap().is_some());
    let raw = Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE meetings SET meeting = CAST(x'7b22ff' AS TEXT) WHERE id = ?1",
        [meeting.id.as_str()],
    )
    .unwrap();
    match store.get_by_key(&key).await {
        Err(StoreError::Corrupt { what, .. }) => assert_eq!(what, meeting.id.as_str()),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// An error as a log shows it: its text with every source's, and its `Debug`.
fn logged(error: &StoreError) -> String {
    let mut text = format!("{error:?} | {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(" | {cause}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn a_corrupt_meeting_error_names_the_meeting_by_its_id_and_never_its_key_or_stored_values() {
    let (_directory, path) = database();
    let (tenant, user, external) = ("tenant-TTTT", "user-UUUU", "external-XXXX");
    let key = key(tenant, user, external);
    let meeting = sample_meeting(&key, 1);
    let store = SqliteStore::open(&path).await.unwrap();
    store
        .create_or_get(&key, &|| meeting.clone())
        .await
        .unwrap();
    drop(store);
    // A value that does not fit the model, made of the key: serde quotes such values.
    let mut damaged = serde_json::to_value(&meeting).unwrap();
    damaged["participants"]["attendees"][0]["role"] =
        serde_json::Value::String(format!("{tenant} {user} {external}"));
    let raw = Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE meetings SET meeting = ?1 WHERE id = ?2",
        (damaged.to_string(), meeting.id.as_str()),
    )
    .unwrap();
    drop(raw);

    let store = SqliteStore::open(&path).await.unwrap();
    let errors = [
        store.get(&meeting.id).await.unwrap_err(),
        store.get_by_key(&key).await.unwrap_err(),
        store
            .create_or_get(&key, &|| sample_meeting(&key, 2))
            .await
            .unwrap_err(),
    ];
    for error in &errors {
        let text = logged(error);
        eprintln!("{text}");
        assert!(matches!(error, StoreError::Corrupt { .. }), "{text}");
        assert!(text.contains(meeting.id.as_str()), "names the id: {text}");
        assert!(
            text.contains("a value does not fit the meeting model at line 1 column"),
            "says where: {text}"
        );
        // A meeting id starts with its organizer's id, as Graph's do: the rest must not.
        let beside_the_id = text.replace(meeting.id.as_str(), "(id)");
        for private in [tenant, user, external] {
            assert!(!beside_the_id.contains(private), "{private} is in {text}");
        }
    }
}
