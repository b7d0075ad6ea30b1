//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The database path inside a fresh temporary directory (kept alive by the returned guard).
pub fn database() -> (tempfile::TempDir, PathBuf) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("meetings.db");
    (directory, path)
}

/// The file's bytes, or `None` when it does not exist.
pub fn bytes(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// The sidecar files SQLite would create next to `path`.
pub fn sidecars(path: &Path) -> Vec<PathBuf> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .filter(|sidecar| sidecar.exists())
        .collect()
}

/// This test binary, re-executed to run only `test` (which sees `mode` in
/// `MEETING_SQLITE_CHILD` and plays the child's part).
pub fn child(test: &str, mode: &str) -> Command {
    child_at(
        &std::env::current_exe().expect("the test binary"),
        test,
        mode,
    )
}

/// As [`child`], with a copy of this test binary at `binary`.
pub fn child_at(binary: &Path, test: &str, mode: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env("MEETING_SQLITE_CHILD", mode);
    command
}

/// The child mode this process was started in, if any.
pub fn child_mode() -> Option<String> {
    std::env::var("MEETING_SQLITE_CHILD").ok()
}

/// A multi-threaded runtime for tests that are plain `#[test]`s (the child ones).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A small deterministic generator (xorshift64*), seeded from the clock unless given.
pub struct Random(u64);

impl Random {
    pub fn seeded(seed: u64) -> Self {
        Random(seed.max(1))
    }

    pub fn from_clock() -> (Self, u64) {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos() as u64)
            .unwrap_or(1);
        (Self::seeded(seed), seed)
    }

    /// A value in `low..high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        low + self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % (high - low).max(1)
    }
}

/// Whether this process runs as root, for whom permission bits do not stop writes.
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// `path` made unwritable even for root, until dropped: the immutable attribute
/// (`chattr +i`) makes the kernel refuse every write, through descriptors
/// already open too, whoever asks.
pub struct Immutable(PathBuf);

impl Immutable {
    /// Sets the attribute, or fails saying what this needs.
    pub fn set(path: &Path) -> Immutable {
        let output = Command::new("chattr").arg("+i").arg(path).output();
        match output {
            Ok(output) if output.status.success() => Immutable(path.to_owned()),
            other => panic!(
                "cannot make {path:?} immutable ({other:?}): this test needs `chattr` \
                 (e2fsprogs), CAP_LINUX_IMMUTABLE (root) and a file system with the \
                 immutable attribute (ext4, xfs, btrfs)"
            ),
        }
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        // Else the temporary directory cannot be removed.
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

/// The SQLite result code at the root of `error`'s chain of sources, if SQLite
/// gave one: what the store was told, whatever it made of it.
pub fn sqlite_cause(error: &(dyn std::error::Error + 'static)) -> Option<rusqlite::ErrorCode> {
    let mut code = None;
    let mut link = Some(error);
    while let Some(error) = link {
        // The store keeps SQLite's errors shared, so a link may be the `Arc` itself.
        let sqlite = error.downcast_ref::<rusqlite::Error>().or_else(|| {
            error
                .downcast_ref::<std::sync::Arc<rusqlite::Error>>()
                .map(|shared| &**shared)
        });
        code = sqlite.and_then(rusqlite::Error::sqlite_error_code).or(code);
        link = error.source();
    }
    code
}

/// A connection of another process, as far as SQLite can tell, holding the
/// write lock on the database at `path` until it commits.
pub fn hold_write_lock(path: &Path) -> rusqlite::Connection {
    let other = rusqlite::Connection::open(path).expect("another connection opens");
    other
        .execute_batch("BEGIN IMMEDIATE")
        .expect("the write lock is free");
    other
}

/// How long a test waits for its creates to reach the writer, however slow the machine.
pub const QUEUEING_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// A store at `path` whose writes wait for the write lock (which the test
/// holds) up to [`QUEUEING_LIMIT`], however slow the machine.
pub async fn patient_store(
    path: &Path,
    options: meeting_store_sqlite::SqliteOptions,
) -> std::sync::Arc<meeting_store_sqlite::SqliteStore> {
    let options = meeting_store_sqlite::SqliteOptions {
        busy_timeout: QUEUEING_LIMIT,
        ..options
    };
    let store = meeting_store_sqlite::SqliteStore::open_with(path, options).await;
    std::sync::Arc::new(store.expect("the store opens"))
}

/// Spawns, on this runtime, a create on `store` for each `(name, seed)` of
/// the meeting `sample_meeting(key("tenant", "user", name), seed)`, all
/// released together, and returns once every meeting is built. A create
/// builds its meeting just before it queues it for the writer, with no await
/// between, so by then every create is queued (on a current-thread runtime,
/// at once; on others, a few instructions later).
pub async fn queue_creates(
    store: &std::sync::Arc<meeting_store_sqlite::SqliteStore>,
    creates: impl IntoIterator<Item = (String, u64)>,
) -> Vec<tokio::task::JoinHandle<Result<meeting_core::Outcome, meeting_core::StoreError>>> {
    use meeting_core::conformance::{key, sample_meeting};
    use meeting_core::MeetingStore;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let creates: Vec<(String, u64)> = creates.into_iter().collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(creates.len()));
    let built = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = creates
        .into_iter()
        .map(|(name, seed)| {
            let (store, barrier, built) =
                (Arc::clone(store), Arc::clone(&barrier), Arc::clone(&built));
            tokio::spawn(async move {
                let key = key("tenant", "user", &name);
                barrier.wait().await;
                store
                    .create_or_get(&key, &|| {
                        built.fetch_add(1, Ordering::SeqCst);
                        sample_meeting(&key, seed)
                    })
                    .await
            })
        })
        .collect();
    let waiting = std::time::Instant::now();
    while built.load(Ordering::SeqCst) < tasks.len() {
        assert!(
            waiting.elapsed() < QUEUEING_LIMIT,
            "the creates were never all queued"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    tasks
}

/// Queues a create whose deadline has already passed and awaits its refusal:
/// the writer answers it only when it looks at its batch again, so by then it
/// has seen every create queued before it (taken it in, or dropped it if its
/// caller left).
pub async fn writer_looked_again(store: &meeting_store_sqlite::SqliteStore) {
    use meeting_core::conformance::{key, sample_meeting};
    let marker = key("tenant", "user", "marker");
    let expired = store
        .create_or_get_until(
            &marker,
            &|| sample_meeting(&marker, 1_000),
            std::time::Instant::now(),
        )
        .await
        .expect_err("its deadline had passed");
    assert!(
        matches!(expired, meeting_core::StoreError::Unavailable { .. }),
        "{expired}"
    );
}
