//! The durable embedded [`MeetingStore`]: one SQLite file in WAL mode.
//!
//! - **Durable**: an acknowledged create survives a process crash, and with the
//!   default [`Synchronous::Full`] a power loss too.
//! - **Shared**: several processes may open one file; create-or-get is one
//!   `BEGIN IMMEDIATE` transaction (`INSERT … ON CONFLICT DO NOTHING`, then a
//!   read of the winner), so every caller of every process gets the one meeting.
//! - **Group commit**: one writer thread commits all waiting creates in one
//!   transaction and one fsync, and answers each caller after that commit.
//! - **Hits without a hand-off or a parse**: a hit reads its row on a pooled
//!   reader connection in place, on the calling thread: in WAL mode a read
//!   takes no lock another connection holds, so it cannot wait. When it would
//!   (only crash recovery in another process makes it), it moves to tokio's
//!   blocking pool and waits there, never on the executor. When the row's text
//!   is the one a remembered meeting was parsed from, that meeting is returned
//!   ([`SqliteOptions::parsed_cache_bytes`]).
//! - **Careful**: a file that is not a SQLite database, another application's
//!   database, a schema newer than this build, a read-only file or an
//!   unwritable location is refused with [`StoreError::Incompatible`] before
//!   anything is written. A stored meeting that no longer parses is
//!   [`StoreError::Corrupt`] naming its id, never its key.
//! - **Unavailable, not broken**: a database that becomes full, read-only or
//!   failing after open answers writes with [`StoreError::Unavailable`] (hits
//!   still answer), and `ping` fails until writes work again. Writes wait in a
//!   bounded queue ([`SqliteOptions::write_queue`]), each until its own deadline.
//! - **Versioned**: the schema version is recorded in the file (`PRAGMA
//!   user_version`, with `PRAGMA application_id` marking the file as a meeting
//!   store) and migrations run in one transaction at open.
//!
//! ```
//! use meeting_store_sqlite::SqliteStore;
//! use meeting_core::MeetingStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), meeting_core::StoreError> {
//! # let directory = tempfile::tempdir().unwrap();
//! # let path = directory.path().join("meetings.db");
//! let store = SqliteStore::open(&path).await?;
//! store.ping().await?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod error;
mod options;
mod read;
mod schema;
#[doc(hidden)] // for the benchmark's raw baseline; not an API
pub mod sql;
mod writer;

pub use options::{SqliteOptions, Synchronous};

use async_trait::async_trait;
use error::Error;
use meeting_core::{
    check_update_keeps_identity, Change, MeetingId, MeetingKey, MeetingStore, NewMeeting,
    OnlineMeeting, Outcome, StoreError, Updated,
};
use read::{ParsedMeetings, Readers};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;
use tokio::sync::oneshot;
use writer::{Health, Job, Work};

/// Meetings in one SQLite file. Share it behind an `Arc`.
///
/// Dropping it finishes the writes already queued, then closes the file: the
/// drop blocks for as long as that takes (usually one commit).
pub struct SqliteStore {
    path: PathBuf,
    options: SqliteOptions,
    readers: Arc<Readers>,
    parsed: Arc<ParsedMeetings>,
    /// `None` only while dropping, so that the writer sees its queue close.
    jobs: Option<mpsc::SyncSender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
    commits: Arc<AtomicU64>,
    health: Arc<Health>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(writer) = self.writer.take() {
            // A writer that panicked has nothing left to close.
            let _ = writer.join();
        }
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it when missing) the database at `path` with the default
    /// [`SqliteOptions`]. The directory must exist.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Opens (creating it when missing) the database at `path`.
    ///
    /// Refuses with [`StoreError::Incompatible`], leaving the file as it was, a
    /// missing directory, a file that is not a SQLite database, another
    /// application's database, a schema version newer than this build knows, and a
    /// location that cannot be written.
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_owned();
        let opened = tokio::task::spawn_blocking(move || Self::open_blocking(path, options))
            .await
            .map_err(Error::Task)?;
        Ok(opened?)
    }

    fn open_blocking(path: PathBuf, options: SqliteOptions) -> Result<SqliteStore, Error> {
        schema::check_existing(&path, &options)?;
        let mut connection = schema::connect(&path, &options, true)?;
        schema::migrate(&mut connection, &path)?;
        if let Some(bytes) = options.max_database_bytes {
            schema::cap_size(&connection, bytes)?;
        }
        let (jobs, queue) = mpsc::sync_channel(options.write_queue.max(1));
        let commits = Arc::new(AtomicU64::new(0));
        let health = Arc::new(Health::default());
        let writer = writer::Writer {
            connection,
            jobs: queue,
            max_batch: options.max_batch,
            commits: Arc::clone(&commits),
            health: Arc::clone(&health),
        };
        let writer = std::thread::Builder::new()
            .name("meeting-sqlite-writer".to_owned())
            .spawn(move || writer.run())
            .map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
        Ok(SqliteStore {
            readers: Arc::new(Readers::new(path.clone(), options.clone())),
            parsed: Arc::new(ParsedMeetings::new(options.parsed_cache_bytes)),
            path,
            options,
            jobs: Some(jobs),
            writer: Some(writer),
            commits,
            health,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options it was opened with.
    pub fn options(&self) -> &SqliteOptions {
        &self.options
    }

    /// How many write transactions this store has committed. With group commit it
    /// grows more slowly than the number of writes under concurrency; for monitoring.
    pub fn committed_transactions(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// As [`MeetingStore::create_or_get`], waiting for the write lock (held by
    /// another connection or process) only until `deadline` instead of
    /// [`SqliteOptions::busy_timeout`] from now; past it, a create not yet
    /// committed is [`StoreError::Unavailable`] and is not stored.
    pub async fn create_or_get_until(
        &self,
        key: &MeetingKey,
        new_meeting: NewMeeting<'_>,
        deadline: Instant,
    ) -> Result<Outcome, StoreError> {
        // A hit is a read: it neither builds a meeting nor waits for the writer.
        if let Some(existing) = self.get_by_key(key).await? {
            return Ok(Outcome::Existing(existing));
        }
        let meeting = Arc::new(new_meeting());
        let json: Arc<str> = serde_json::to_string(&*meeting)
            .map_err(Error::Serialize)?
            .into();
        let (reply, answer) = oneshot::channel();
        let work = Work::Create {
            key: key.clone(),
            meeting: Arc::clone(&meeting),
            json: Arc::clone(&json),
            reply,
        };
        let outcome = self.write(work, deadline, answer).await?;
        if outcome.is_created() {
            self.parsed.remember(&meeting, &json);
        }
        Ok(outcome)
    }

    /// The deadline of a write queued now.
    fn deadline(&self) -> Instant {
        Instant::now() + self.options.busy_timeout
    }

    /// Queues `work` for the writer, refused at once when the queue is full.
    async fn write<T>(
        &self,
        work: Work,
        deadline: Instant,
        answer: oneshot::Receiver<Result<T, Error>>,
    ) -> Result<T, Error> {
        let jobs = self.jobs.as_ref().ok_or(Error::WriterStopped)?;
        jobs.try_send(Job { work, deadline })
            .map_err(|refused| match refused {
                mpsc::TrySendError::Full(_) => Error::QueueFull(self.options.write_queue.max(1)),
                mpsc::TrySendError::Disconnected(_) => Error::WriterStopped,
            })?;
        answer.await.map_err(|_| Error::WriterStopped)?
    }
}

#[async_trait]
impl MeetingStore for SqliteStore {
    async fn create_or_get(
        &self,
        key: &MeetingKey,
        new_meeting: NewMeeting<'_>,
    ) -> Result<Outcome, StoreError> {
        self.create_or_get_until(key, new_meeting, self.deadline())
            .await
    }

    async fn get_by_key(&self, key: &MeetingKey) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        let (key, parsed) = (key.clone(), Arc::clone(&self.parsed));
        Ok(self
            .readers
            .run(move |connection| read::by_key(connection, &parsed, &key))
            .await?)
    }

    async fn get(&self, id: &MeetingId) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        let (id, parsed) = (id.clone(), Arc::clone(&self.parsed));
        Ok(self
            .readers
            .run(move |connection| read::by_id(connection, &parsed, &id))
            .await?)
    }

    async fn delete(&self, id: &MeetingId) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let work = Work::Delete {
            id: id.as_str().to_owned(),
            reply,
        };
        let deleted = self.write(work, self.deadline(), answer).await?;
        self.parsed.forget(id.as_str());
        Ok(deleted)
    }

    /// Reads the meeting on a reader connection, applies `change`, and has
    /// the writer store the result only if the row still holds the text that
    /// was read (a compare-and-set inside the writer's transaction); when
    /// another write came between, from this process or another, it reads
    /// again and retries, so no update is lost and none waits on a lock while
    /// its change runs.
    async fn update(&self, id: &MeetingId, change: Change<'_>) -> Result<Updated, StoreError> {
        let deadline = self.deadline();
        loop {
            let (read_id, parsed) = (id.clone(), Arc::clone(&self.parsed));
            let Some((current, text)) = self
                .readers
                .run(move |connection| read::by_id_with_text(connection, &parsed, &read_id))
                .await?
            else {
                return Ok(Updated::Missing);
            };
            let changed = match change(&current) {
                Ok(changed) => changed,
                Err(refusal) => return Ok(Updated::Refused(refusal)),
            };
            check_update_keeps_identity(&current, &changed)?;
            let changed = Arc::new(changed);
            let json: Arc<str> = serde_json::to_string(&*changed)
                .map_err(Error::Serialize)?
                .into();
            let (reply, answer) = oneshot::channel();
            let work = Work::Update {
                id: id.as_str().to_owned(),
                expected: text,
                json: Arc::clone(&json),
                reply,
            };
            if self.write(work, deadline, answer).await? {
                self.parsed.remember(&changed, &json);
                return Ok(Updated::Stored(changed));
            }
            if Instant::now() >= deadline {
                return Err(Error::DeadlinePassed(None).into());
            }
        }
    }

    async fn find_by_join_web_url(
        &self,
        join_web_url_key: &str,
    ) -> Result<Vec<Arc<OnlineMeeting>>, StoreError> {
        let (link, parsed) = (join_web_url_key.to_owned(), Arc::clone(&self.parsed));
        Ok(self
            .readers
            .run(move |connection| read::by_join_web_url(connection, &parsed, &link))
            .await?)
    }

    async fn find_by_join_meeting_id(
        &self,
        join_meeting_id: &str,
    ) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        let (join_id, parsed) = (join_meeting_id.to_owned(), Arc::clone(&self.parsed));
        Ok(self
            .readers
            .run(move |connection| read::by_join_meeting_id(connection, &parsed, &join_id))
            .await?)
    }

    async fn list(
        &self,
        after: Option<&MeetingId>,
        limit: usize,
    ) -> Result<Vec<Arc<OnlineMeeting>>, StoreError> {
        // Every stored id sorts after '' (the write probe's row is never committed).
        let after = after.map_or_else(String::new, |id| id.as_str().to_owned());
        let parsed = Arc::clone(&self.parsed);
        Ok(self
            .readers
            .run(move |connection| read::page(connection, &parsed, &after, limit))
            .await?)
    }

    async fn count(&self) -> Result<u64, StoreError> {
        Ok(self.readers.run(read::count).await?)
    }

    /// Deletes every meeting in one write transaction.
    async fn clear(&self) -> Result<u64, StoreError> {
        let (reply, answer) = oneshot::channel();
        let deleted = self
            .write(Work::Clear { reply }, self.deadline(), answer)
            .await?;
        self.parsed.forget_all();
        Ok(deleted)
    }

    /// Succeeds when the file can be read and writes work.
    ///
    /// Reads on a reader connection. Writes are known from the writer thread:
    /// it records whether its last write transaction failed for want of space
    /// or writability (full, read-only, I/O error), clearing that at the next
    /// write that commits. Healthy, ping writes nothing. After such a failure,
    /// ping itself asks the writer for a probe (a row written and deleted in
    /// one committed transaction, storing nothing) and answers
    /// [`StoreError::Unavailable`] while that fails, so a store taken out of
    /// service for a failing ping still learns when it can write again.
    async fn ping(&self) -> Result<(), StoreError> {
        self.readers
            .run(|connection| {
                connection.query_row(sql::READ_PROBE, [], |_| Ok(()))?;
                Ok(())
            })
            .await?;
        if self.health.failure().is_some() {
            let (reply, answer) = oneshot::channel();
            self.write(Work::Probe { reply }, self.deadline(), answer)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod conformance {
    meeting_core::store_conformance!(async {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let store = crate::SqliteStore::open(directory.path().join("meetings.db"))
            .await
            .expect("a fresh store opens");
        (std::sync::Arc::new(store), directory)
    });

    /// Again with no parsed meetings kept, so that every read parses the
    /// stored text: the suite's round trips then cover the JSON itself.
    mod parsing_every_read {
        meeting_core::store_conformance!(async {
            let directory = tempfile::tempdir().expect("a temporary directory");
            let options = crate::SqliteOptions {
                parsed_cache_bytes: 0,
                ..crate::SqliteOptions::default()
            };
            let path = directory.path().join("meetings.db");
            let store = crate::SqliteStore::open_with(path, options)
                .await
                .expect("a fresh store opens");
            (std::sync::Arc::new(store), directory)
        });
    }
}

#[cfg(test)]
mod parsed_meetings {
    use super::*;
    use meeting_core::conformance::{key, sample_meeting};

    async fn store(parsed_cache_bytes: usize) -> (SqliteStore, tempfile::TempDir) {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let options = SqliteOptions {
            parsed_cache_bytes,
            ..SqliteOptions::default()
        };
        let store = SqliteStore::open_with(directory.path().join("meetings.db"), options)
            .await
            .expect("a fresh store opens");
        (store, directory)
    }

    /// Creates the sample meeting under `k` and returns it as the create did.
    async fn create(store: &SqliteStore, k: &MeetingKey) -> Arc<OnlineMeeting> {
        let outcome = store
            .create_or_get(k, &|| sample_meeting(k, 1))
            .await
            .unwrap();
        assert!(outcome.is_created());
        outcome.into_meeting()
    }

    #[tokio::test]
    async fn a_hit_on_an_unchanged_row_returns_the_meeting_already_parsed() {
        let (store, _directory) = store(1 << 20).await;
        let k = key("t", "u", "parsed");
        let created = create(&store, &k).await;
        let hit = store
            .create_or_get(&k, &|| sample_meeting(&k, 2))
            .await
            .unwrap();
        assert!(!hit.is_created());
        assert!(Arc::ptr_eq(hit.shared(), &created));
        let by_id = store.get(&created.id).await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&by_id, &created));
    }

    #[tokio::test]
    async fn a_row_rewritten_behind_the_store_is_parsed_again() {
        let (store, directory) = store(1 << 20).await;
        let k = key("t", "u", "rewritten");
        let created = create(&store, &k).await;
        // Another writer of the file (a process, a reused id) changes the row.
        let other = rusqlite::Connection::open(directory.path().join("meetings.db")).unwrap();
        let mut changed = (*created).clone();
        changed.subject = Some("Changed elsewhere".to_owned());
        other
            .execute(
                "UPDATE meetings SET meeting = ?1 WHERE id = ?2",
                (
                    serde_json::to_string(&changed).unwrap(),
                    created.id.as_str(),
                ),
            )
            .unwrap();
        let hit = store.get_by_key(&k).await.unwrap().unwrap();
        assert_eq!(*hit, changed);
        assert_eq!(*store.get(&created.id).await.unwrap().unwrap(), changed);
    }

    #[tokio::test]
    async fn a_meeting_heavier_than_the_whole_budget_is_not_kept() {
        // The sample meeting's text alone is ~4 KB.
        let (store, _directory) = store(2 * 1024).await;
        let k = key("t", "u", "heavy");
        let created = create(&store, &k).await;
        let hit = store.get_by_key(&k).await.unwrap().unwrap();
        assert_eq!(hit, created);
        assert!(!Arc::ptr_eq(&hit, &created));
    }

    #[test]
    fn each_lookup_is_one_probe_of_its_index() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("meetings.db");
        let options = SqliteOptions::default();
        let mut connection = schema::connect(&path, &options, true).unwrap();
        schema::migrate(&mut connection, &path).unwrap();
        for (statement, index) in [
            (sql::SELECT_BY_JOIN_WEB_URL, "meetings_join_web_url"),
            (sql::SELECT_BY_JOIN_MEETING_ID, "meetings_join_meeting_id"),
        ] {
            let plan: Vec<String> = connection
                .prepare(&format!("EXPLAIN QUERY PLAN {statement}"))
                .unwrap()
                .query_map(["x"], |row| row.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(
                plan,
                [format!(
                    "SEARCH meetings USING INDEX {index} (join_{}=?)",
                    &index[14..]
                )],
                "{statement}"
            );
        }
    }

    #[tokio::test]
    async fn with_no_cache_every_hit_parses_its_row() {
        let (store, _directory) = store(0).await;
        let k = key("t", "u", "uncached");
        let created = create(&store, &k).await;
        let hit = store.get_by_key(&k).await.unwrap().unwrap();
        assert_eq!(hit, created);
        assert!(!Arc::ptr_eq(&hit, &created));
    }
}
