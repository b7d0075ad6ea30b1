//! What the SQLite benches share: a runtime, a raw connection with the store's
//! pragmas, and the stored-meeting fixtures, built once and cached between runs
//! and benches under `target/meeting-store-sqlite-bench/`.

use meeting_core::conformance::{key, sample_meeting_with_join_id};
use meeting_core::{join_web_url_key, MeetingKey, OnlineMeeting};
use meeting_store_sqlite::sql::INSERT;
use meeting_store_sqlite::SqliteStore;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// The key of stored meeting `n`.
pub fn stored_key(n: u64) -> MeetingKey {
    key("tenant", "user", &format!("stored-{n}"))
}

/// Stored meeting `n`: its join link ends in `n`, its join id is `n` in 12 digits.
pub fn stored(n: u64) -> OnlineMeeting {
    sample_meeting_with_join_id(&stored_key(n), n, Some(&format!("{n:012}")))
}

/// A connection with the store's pragmas, for the raw baselines.
pub fn raw(path: &Path) -> Connection {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("the raw connection opens");
    connection.busy_timeout(Duration::from_secs(5)).unwrap();
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .unwrap();
    connection
        .pragma_update(None, "synchronous", "FULL")
        .unwrap();
    connection
}

/// A database of meetings `stored(0..count)` at the current schema, built with
/// raw batched inserts in one transaction (synchronous off: it is a fixture)
/// and cached between runs.
pub fn database(count: u64) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let directory = target.join("meeting-store-sqlite-bench");
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join(format!("meetings-{count}.db"));
    let ready = directory.join(format!("meetings-{count}.ready"));
    if ready.exists() {
        return path;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let started = Instant::now();
    runtime().block_on(async {
        drop(
            SqliteStore::open(&path)
                .await
                .expect("the schema is created"),
        )
    });
    let mut connection = raw(&path);
    connection
        .pragma_update(None, "synchronous", "OFF")
        .unwrap();
    let transaction = connection.transaction().unwrap();
    {
        let mut insert = transaction.prepare(INSERT).unwrap();
        for n in 0..count {
            let key = stored_key(n);
            let meeting = stored(n);
            insert
                .execute((
                    meeting.id.as_str(),
                    key.tenant.as_str(),
                    key.user.as_str(),
                    key.external_id.as_str(),
                    serde_json::to_string(&meeting).unwrap(),
                    meeting.join_meeting_id(),
                    join_web_url_key(&meeting.join_web_url),
                ))
                .unwrap();
        }
    }
    transaction.commit().unwrap();
    connection
        .pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    drop(connection);
    std::fs::write(&ready, b"").unwrap();
    eprintln!(
        "built {} with {count} meetings in {:.1?}",
        path.display(),
        started.elapsed()
    );
    path
}
