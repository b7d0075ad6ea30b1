//! How a [`SqliteStore`](crate::SqliteStore) opens its file.

use std::time::Duration;

/// How durable an acknowledged create is: SQLite's `PRAGMA synchronous` in WAL mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// `synchronous=FULL`: every commit is fsynced before it is acknowledged, so an
    /// acknowledged create survives a process crash and a power loss. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: commits reach the operating system before they are
    /// acknowledged and are fsynced at checkpoints, so an acknowledged create survives
    /// a process crash but the last commits may be lost on a power loss.
    Normal,
}

impl Synchronous {
    /// The value of `PRAGMA synchronous`.
    pub(crate) fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Settings for [`SqliteStore::open_with`](crate::SqliteStore::open_with).
///
/// ```
/// use meeting_store_sqlite::{SqliteOptions, Synchronous};
/// use std::time::Duration;
///
/// let options = SqliteOptions {
///     synchronous: Synchronous::Normal,
///     busy_timeout: Duration::from_secs(1),
///     ..SqliteOptions::default()
/// };
/// assert_eq!(options.max_batch, SqliteOptions::default().max_batch);
/// ```
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// Durability of an acknowledged write; [`Synchronous::Full`] by default.
    pub synchronous: Synchronous,
    /// How long a statement waits for a lock held by another connection or
    /// process before the store reports itself unavailable; 5 s by default.
    /// A create or delete waits for the write lock until its own deadline, this
    /// long after it was queued ([`SqliteStore::create_or_get_until`](crate::SqliteStore::create_or_get_until)
    /// sets another): a group commit kept waiting fails only the callers whose
    /// deadline passed, and commits the others once the lock is free.
    pub busy_timeout: Duration,
    /// The most writes committed together in one transaction (group commit); 1,024 by default.
    pub max_batch: usize,
    /// The most writes waiting for the writer thread beside the batch it is
    /// committing; one more is refused at once with
    /// [`StoreError::Unavailable`](meeting_core::StoreError::Unavailable) rather
    /// than queued without bound. 4,096 by default.
    pub write_queue: usize,
    /// The most bytes the database file may hold (SQLite's `max_page_count` on
    /// the writer, rounded down to whole pages, never below the file's current
    /// size); `None`, the default, for no cap but the file system's. A create
    /// that would need more is [`StoreError::Unavailable`](meeting_core::StoreError::Unavailable),
    /// as on a full disk, and works again once deleted meetings free pages.
    pub max_database_bytes: Option<u64>,
    /// How many idle reader connections are kept open for lookups; 4 by default.
    pub idle_readers: usize,
    /// About how many bytes of parsed meetings are kept in memory, so that a
    /// hit whose row still holds the exact text a meeting was parsed from
    /// skips the parse; 32 MiB by default (some 5,000 meetings of the seed's
    /// size), 0 for none. Never stale: every hit still reads its row and
    /// compares the text.
    pub parsed_cache_bytes: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            max_batch: 1024,
            write_queue: 4096,
            max_database_bytes: None,
            idle_readers: 4,
            parsed_cache_bytes: 32 * 1024 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{schema, SqliteStore};

    /// `PRAGMA synchronous` as a connection reports it: 2 is FULL, 1 NORMAL.
    fn synchronous_of(connection: &rusqlite::Connection) -> i64 {
        connection
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .unwrap()
    }

    /// The setting is per connection, not stored in the file, so it is read
    /// back from connections of the store: a reader of a live store, and a
    /// connection opened as `open_blocking` opens the writer's
    /// (`schema::connect(…, true)`; the writer's own is out of reach in its thread).
    #[tokio::test]
    async fn the_store_connections_run_at_the_chosen_synchronous_level() {
        for (options, expected) in [
            (SqliteOptions::default(), 2),
            (
                SqliteOptions {
                    synchronous: Synchronous::Normal,
                    ..SqliteOptions::default()
                },
                1,
            ),
        ] {
            let directory = tempfile::tempdir().unwrap();
            let path = directory.path().join("meetings.db");
            let store = SqliteStore::open_with(&path, options.clone())
                .await
                .unwrap();
            let reader = store
                .readers
                .run(|connection| Ok(synchronous_of(connection)))
                .await
                .unwrap();
            assert_eq!(reader, expected, "a reader of {options:?}");
            let writer = schema::connect(&path, &options, true).unwrap();
            assert_eq!(
                synchronous_of(&writer),
                expected,
                "a connection opened as the writer's, of {options:?}"
            );
        }
    }
}
