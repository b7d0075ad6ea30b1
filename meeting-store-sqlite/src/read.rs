//! Lookups: a small pool of reader connections, used in place when they
//! cannot wait, in tokio's blocking pool when they might.
//!
//! WAL lets readers run beside the writer without waiting for it, so lookups
//! (and so createOrGet hits) never queue behind group commits.
//!
//! A read first runs on the calling thread with no busy handler: in WAL mode
//! it takes no lock another connection holds (a writer, a checkpoint, another
//! process's transaction), so it either runs at once or fails at once with
//! `SQLITE_BUSY`, which only a connection holding the database exclusively
//! (`locking_mode=EXCLUSIVE`, recovery after a crash) causes; SQLite's own
//! retries while a writer swaps the WAL index header last microseconds. Only then does
//! the read move to the blocking pool and wait there, up to
//! [`SqliteOptions::busy_timeout`], so a waiting read never stalls the
//! executor. What the calling thread may still do is read pages the operating
//! system has not cached, as any memory-mapped store does.

use crate::error::{is_busy, Error};
use crate::options::SqliteOptions;
use crate::schema::connect;
use crate::sql::{
    COUNT, SELECT_BY_ID, SELECT_BY_JOIN_MEETING_ID, SELECT_BY_JOIN_WEB_URL, SELECT_BY_KEY,
    SELECT_PAGE,
};
use meeting_core::{join_web_url_key, MeetingId, MeetingKey, OnlineMeeting};
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Reader connections, opened on demand and kept while idle, up to a bound.
///
/// An idle connection has no busy handler; a read that must wait sets
/// [`SqliteOptions::busy_timeout`] for its own duration.
#[derive(Debug)]
pub(crate) struct Readers {
    path: PathBuf,
    options: SqliteOptions,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(crate) fn new(path: PathBuf, options: SqliteOptions) -> Self {
        Readers {
            path,
            options,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on a reader connection: on this thread when an idle
    /// connection is at hand and the read needs no lock another connection
    /// holds, else in tokio's blocking pool (which also opens new
    /// connections), waiting for the lock up to the busy timeout.
    ///
    /// `read` must be safe to run again after failing busy: reads are.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, read: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let Some(connection) = self.take_idle() else {
            return self.run_waiting(read).await;
        };
        match read(&connection) {
            Err(Error::Sqlite(error)) if is_busy(&error) => {
                self.put(connection);
                self.run_waiting(read).await
            }
            result => {
                self.put(connection);
                result
            }
        }
    }

    /// Runs `read` in the blocking pool, waiting for locks up to the busy timeout.
    async fn run_waiting<T, F>(self: &Arc<Self>, read: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let connection = readers.take()?;
            let result = connection
                .busy_timeout(readers.options.busy_timeout)
                .map_err(Error::from)
                .and_then(|()| read(&connection));
            if connection.busy_timeout(Duration::ZERO).is_ok() {
                readers.put(connection);
            }
            result
        })
        .await
        .map_err(Error::Task)?
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
    }

    fn take(&self) -> Result<Connection, Error> {
        match self.take_idle() {
            Some(connection) => Ok(connection),
            None => {
                let connection = connect(&self.path, &self.options, false)?;
                // A reader never writes; SQLite enforces it.
                connection.pragma_update(None, "query_only", true)?;
                connection.busy_timeout(Duration::ZERO)?;
                Ok(connection)
            }
        }
    }

    fn put(&self, connection: Connection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < self.options.idle_readers {
            idle.push(connection);
        }
    }
}

/// The meeting stored under `key`, in one indexed read.
pub(crate) fn by_key(
    connection: &Connection,
    parsed: &ParsedMeetings,
    key: &MeetingKey,
) -> Result<Option<Arc<OnlineMeeting>>, Error> {
    let mut statement = connection.prepare_cached(SELECT_BY_KEY)?;
    let found = statement
        .query_row(
            (
                key.tenant.as_str(),
                key.user.as_str(),
                key.external_id.as_str(),
            ),
            |row| Ok(parsed.meeting(row)),
        )
        .optional()?;
    found.transpose()
}

/// The meeting with this id.
pub(crate) fn by_id(
    connection: &Connection,
    parsed: &ParsedMeetings,
    id: &MeetingId,
) -> Result<Option<Arc<OnlineMeeting>>, Error> {
    let mut statement = connection.prepare_cached(SELECT_BY_ID)?;
    let found = statement
        .query_row([id.as_str()], |row| Ok(parsed.meeting(row)))
        .optional()?;
    found.transpose()
}

/// The meeting with this id and the text it is stored as: what an update
/// changes, and compares before it writes.
pub(crate) fn by_id_with_text(
    connection: &Connection,
    parsed: &ParsedMeetings,
    id: &MeetingId,
) -> Result<Option<(Arc<OnlineMeeting>, String)>, Error> {
    let mut statement = connection.prepare_cached(SELECT_BY_ID)?;
    let found = statement
        .query_row([id.as_str()], |row| {
            Ok(parsed
                .meeting(row)
                .and_then(|meeting| Ok((meeting, row_text(row)?.1.to_owned()))))
        })
        .optional()?;
    found.transpose()
}

/// The meetings whose join link's canonical form is `link`: one probe of the
/// case-insensitive index, its candidates compared exactly in canonical form.
pub(crate) fn by_join_web_url(
    connection: &Connection,
    parsed: &ParsedMeetings,
    link: &str,
) -> Result<Vec<Arc<OnlineMeeting>>, Error> {
    let mut statement = connection.prepare_cached(SELECT_BY_JOIN_WEB_URL)?;
    let mut rows = statement.query([link])?;
    let mut meetings = Vec::new();
    while let Some(row) = rows.next()? {
        let meeting = parsed.meeting(row)?;
        if join_web_url_key(&meeting.join_web_url) == link {
            meetings.push(meeting);
        }
    }
    Ok(meetings)
}

/// The meeting with this join id: one probe of its unique index.
pub(crate) fn by_join_meeting_id(
    connection: &Connection,
    parsed: &ParsedMeetings,
    join_meeting_id: &str,
) -> Result<Option<Arc<OnlineMeeting>>, Error> {
    let mut statement = connection.prepare_cached(SELECT_BY_JOIN_MEETING_ID)?;
    let found = statement
        .query_row([join_meeting_id], |row| Ok(parsed.meeting(row)))
        .optional()?;
    found.transpose()
}

/// Up to `limit` meetings with ids after `after`, in id order.
pub(crate) fn page(
    connection: &Connection,
    parsed: &ParsedMeetings,
    after: &str,
    limit: usize,
) -> Result<Vec<Arc<OnlineMeeting>>, Error> {
    let mut statement = connection.prepare_cached(SELECT_PAGE)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = statement.query((after, limit))?;
    let mut meetings = Vec::new();
    while let Some(row) = rows.next()? {
        meetings.push(parsed.meeting(row)?);
    }
    Ok(meetings)
}

/// How many meetings are stored.
pub(crate) fn count(connection: &Connection) -> Result<u64, Error> {
    let count: i64 = connection
        .prepare_cached(COUNT)?
        .query_row([], |row| row.get(0))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Meetings already parsed, by id, each beside the stored text it came from.
///
/// A hit reads its row's text anyway; when the text is byte for byte the one a
/// cached meeting was parsed from (or serialized to, for a create), that meeting
/// is the row's, and the parse (most of a raw hit's cost) is skipped.
/// Comparing the text rather than trusting the id keeps the cache right
/// whatever else writes the file: another process, or a meeting deleted and
/// made again under a reused id (deterministic ids in tests).
///
/// Bounded by bytes, not by count: a meeting's size is bounded only by the
/// request body limit.
#[derive(Debug)]
pub(crate) struct ParsedMeetings {
    cache: Option<Cache<String, Cached, ByBytes>>,
}

#[derive(Clone, Debug)]
struct Cached {
    text: Arc<str>,
    meeting: Arc<OnlineMeeting>,
}

/// An entry's estimated heap bytes: its id, and its meeting with its text.
#[derive(Clone, Debug)]
struct ByBytes;

impl Weighter<String, Cached> for ByBytes {
    fn weight(&self, id: &String, cached: &Cached) -> u64 {
        (id.len() + OnlineMeeting::weight_with_json(cached.text.len())) as u64
    }
}

/// A typical entry's weight, to size the cache's table.
const TYPICAL_ENTRY_BYTES: usize = 8 * 1024;

impl ParsedMeetings {
    /// A cache of up to about `bytes` of meetings; none for 0.
    pub(crate) fn new(bytes: usize) -> Self {
        ParsedMeetings {
            cache: (bytes > 0).then(|| {
                let entries = (bytes / TYPICAL_ENTRY_BYTES).max(1);
                Cache::with_weighter(entries, bytes as u64, ByBytes)
            }),
        }
    }

    /// Forgets the meeting with this id (it was deleted).
    pub(crate) fn forget(&self, id: &str) {
        if let Some(cache) = &self.cache {
            cache.remove(id);
        }
    }

    /// Forgets every meeting (all were deleted).
    pub(crate) fn forget_all(&self) {
        if let Some(cache) = &self.cache {
            cache.clear();
        }
    }

    /// Remembers `meeting` as the parse of `text`.
    pub(crate) fn remember(&self, meeting: &Arc<OnlineMeeting>, text: &str) {
        if let Some(cache) = &self.cache {
            let cached = Cached {
                text: text.into(),
                meeting: Arc::clone(meeting),
            };
            cache.insert(meeting.id.as_str().to_owned(), cached);
        }
    }

    /// The meeting of an `(id, meeting)` row: the cached one when the row's text
    /// is the one it was parsed from, else a fresh parse, remembered.
    pub(crate) fn meeting(&self, row: &Row<'_>) -> Result<Arc<OnlineMeeting>, Error> {
        let (id, bytes) = row_bytes(row)?;
        if let Some(cached) = self.cache.as_ref().and_then(|cache| cache.get(id)) {
            // Byte for byte the text it was parsed from: valid UTF-8, no need
            // to check (the check was a sixth of a hit).
            if cached.text.as_bytes() == bytes {
                return Ok(cached.meeting);
            }
        }
        let text = utf8(id, bytes)?;
        let meeting = Arc::new(parse(id, text)?);
        self.remember(&meeting, text);
        Ok(meeting)
    }
}

/// Reads a `(id, meeting)` row; an unreadable meeting is [`Error::Corrupt`] naming its id.
pub(crate) fn parse_meeting(row: &Row<'_>) -> Result<OnlineMeeting, Error> {
    let (id, text) = row_text(row)?;
    parse(id, text)
}

/// A row's id and stored text.
fn row_text<'r>(row: &'r Row<'_>) -> Result<(&'r str, &'r str), Error> {
    let (id, bytes) = row_bytes(row)?;
    Ok((id, utf8(id, bytes)?))
}

/// A row's id and the bytes of its stored text, not yet checked to be UTF-8.
fn row_bytes<'r>(row: &'r Row<'_>) -> Result<(&'r str, &'r [u8]), Error> {
    let id = match row.get_ref(0).map(|value| value.as_str()) {
        Ok(Ok(id)) => id,
        // Named without its key: errors end up in logs.
        _ => "the meeting stored under the requested key",
    };
    match row.get_ref(1).map_err(|error| corrupt(id, error.into()))? {
        ValueRef::Text(bytes) => Ok((id, bytes)),
        other => Err(corrupt(
            id,
            format!("stored as {}, not as text", other.data_type()).into(),
        )),
    }
}

/// The stored text of meeting `id`, which must be UTF-8.
fn utf8<'r>(id: &str, bytes: &'r [u8]) -> Result<&'r str, Error> {
    std::str::from_utf8(bytes).map_err(|error| corrupt(id, error.into()))
}

fn corrupt(id: &str, source: Box<dyn std::error::Error + Send + Sync>) -> Error {
    Error::Corrupt {
        what: id.to_owned(),
        source,
    }
}

/// Through [`OnlineMeeting::from_stored_json`], which reads whatever the service
/// accepted (nesting to 128 levels, where serde_json alone stops at 127).
fn parse(id: &str, text: &str) -> Result<OnlineMeeting, Error> {
    OnlineMeeting::from_stored_json(text).map_err(|error| Error::Corrupt {
        what: id.to_owned(),
        source: Box::new(Unreadable::from(error)),
    })
}

/// Why stored JSON does not parse, without the values serde quotes in its
/// messages (names, addresses, the key): errors end up in logs.
#[derive(Debug)]
pub(crate) struct Unreadable {
    /// serde's message for a syntax error (it names tokens, never values);
    /// `None` for a value that does not fit the model.
    syntax: Option<String>,
    line: usize,
    column: usize,
}

impl From<serde_json::Error> for Unreadable {
    fn from(error: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let syntax = match error.classify() {
            Category::Syntax | Category::Eof => Some(error.to_string()),
            Category::Data | Category::Io => None,
        };
        Unreadable {
            syntax,
            line: error.line(),
            column: error.column(),
        }
    }
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.syntax {
            Some(message) => write!(f, "invalid JSON: {message}"),
            None => write!(
                f,
                "a value does not fit the meeting model at line {} column {} (not shown: it may be personal data)",
                self.line, self.column
            ),
        }
    }
}

impl std::error::Error for Unreadable {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread::ThreadId;

    /// Readers of a new, empty database in `directory`.
    fn readers(directory: &std::path::Path) -> Arc<Readers> {
        let path = directory.join("meetings.db");
        Connection::open(&path).unwrap();
        Arc::new(Readers::new(path, SqliteOptions::default()))
    }

    fn busy() -> Error {
        Error::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        ))
    }

    /// A read that fails busy in place runs again in the blocking pool, where it
    /// may wait, while the executor (one thread here) goes on.
    #[tokio::test(flavor = "current_thread")]
    async fn a_read_that_must_wait_moves_off_the_executor_which_goes_on() {
        let directory = tempfile::tempdir().unwrap();
        let readers = readers(directory.path());
        // The first run opens a connection (in the pool) and leaves it idle.
        readers.run(|_| Ok(())).await.unwrap();

        let executor = std::thread::current().id();
        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = tokio::spawn({
            let ticks = Arc::clone(&ticks);
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let runs: Arc<Mutex<Vec<ThreadId>>> = Arc::default();
        let answer = readers
            .run({
                let runs = Arc::clone(&runs);
                move |_| {
                    let mut runs = runs.lock().unwrap();
                    runs.push(std::thread::current().id());
                    if runs.len() == 1 {
                        return Err(busy());
                    }
                    // What a wait for the lock costs, on a thread that may block.
                    std::thread::sleep(Duration::from_millis(300));
                    Ok("answered")
                }
            })
            .await;
        ticker.abort();

        assert_eq!(answer.unwrap(), "answered");
        let runs = runs.lock().unwrap().clone();
        assert_eq!(runs.len(), 2, "ran in place, then once more waiting");
        assert_eq!(runs[0], executor, "the first try runs in place");
        assert_ne!(runs[1], executor, "the waiting run is off the executor");
        let ticks = ticks.load(Ordering::Relaxed);
        assert!(
            ticks >= 5,
            "the executor ticked {ticks} times in 300 ms: stalled"
        );
    }

    /// With no idle connection, a read opens one in the pool, never in place
    /// (opening touches the file and may wait for locks).
    #[tokio::test(flavor = "current_thread")]
    async fn a_read_without_an_idle_connection_runs_in_the_pool() {
        let directory = tempfile::tempdir().unwrap();
        let readers = readers(directory.path());
        let executor = std::thread::current().id();
        let first = readers
            .run(|_| Ok(std::thread::current().id()))
            .await
            .unwrap();
        let second = readers
            .run(|_| Ok(std::thread::current().id()))
            .await
            .unwrap();
        assert_ne!(first, executor, "the connection was opened in the pool");
        assert_eq!(second, executor, "the idle connection is used in place");
    }

    /// Connections handed back beyond `idle_readers` are closed, not kept.
    #[test]
    fn idle_connections_are_kept_up_to_the_bound() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("meetings.db");
        Connection::open(&path).unwrap();
        let options = SqliteOptions {
            idle_readers: 2,
            ..SqliteOptions::default()
        };
        let readers = Readers::new(path, options);
        let taken: Vec<Connection> = (0..3).map(|_| readers.take().unwrap()).collect();
        for connection in taken {
            readers.put(connection);
        }
        assert_eq!(readers.idle.lock().unwrap().len(), 2);
    }

    /// A deleted meeting's parse is dropped from the cache (and every one by a
    /// clear), not kept until evicted.
    #[test]
    fn forgotten_meetings_leave_the_cache() {
        use meeting_core::conformance::{key, sample_meeting};
        let parsed = ParsedMeetings::new(1 << 20);
        let meetings: Vec<Arc<OnlineMeeting>> = (1..=3)
            .map(|n| Arc::new(sample_meeting(&key("t", "u", &format!("m{n}")), n)))
            .collect();
        for meeting in &meetings {
            parsed.remember(meeting, &serde_json::to_string(&**meeting).unwrap());
        }
        let cache = parsed.cache.as_ref().expect("a cache of 1 MiB");
        let held = |meeting: &Arc<OnlineMeeting>| cache.get(meeting.id.as_str()).is_some();
        assert!(meetings.iter().all(held));
        parsed.forget(meetings[0].id.as_str());
        assert_eq!(
            meetings.iter().map(held).collect::<Vec<_>>(),
            [false, true, true]
        );
        parsed.forget_all();
        assert!(!meetings.iter().any(held));
        assert!(cache.is_empty());
    }
}
