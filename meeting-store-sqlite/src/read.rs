//! Lookups: a small pool of reader connections, used off the async executor.
//!
//! WAL lets readers run beside the writer without waiting for it, so lookups
//! (and so createOrGet hits) never queue behind group commits.

use crate::error::Error;
use crate::options::SqliteOptions;
use crate::schema::connect;
use crate::sql::{
    COUNT, SELECT_BY_ID, SELECT_BY_JOIN_MEETING_ID, SELECT_BY_JOIN_WEB_URL, SELECT_BY_KEY,
    SELECT_PAGE,
};
use meeting_core::{join_web_url_key, MeetingId, MeetingKey, OnlineMeeting};
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use rusqlite::{Connection, OptionalExtension, Row};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Reader connections, opened on demand and kept while idle, up to a bound.
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

    /// Runs `read` on a reader connection in tokio's blocking pool.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, read: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let connection = readers.take()?;
            let result = read(&connection);
            readers.put(connection);
            result
        })
        .await
        .map_err(Error::Task)?
    }

    fn take(&self) -> Result<Connection, Error> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        match idle {
            Some(connection) => Ok(connection),
            None => {
                let connection = connect(&self.path, &self.options, false)?;
                // A reader never writes; SQLite enforces it.
                connection.pragma_update(None, "query_only", true)?;
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
        let (id, text) = row_text(row)?;
        if let Some(cached) = self.cache.as_ref().and_then(|cache| cache.get(id)) {
            if *cached.text == *text {
                return Ok(cached.meeting);
            }
        }
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
    let id = match row.get_ref(0).map(|value| value.as_str()) {
        Ok(Ok(id)) => id,
        // Named without its key: errors end up in logs.
        _ => "the meeting stored under the requested key",
    };
    let corrupt = |source: Box<dyn std::error::Error + Send + Sync>| Error::Corrupt {
        what: id.to_owned(),
        source,
    };
    let text = row
        .get_ref(1)
        .map_err(|error| corrupt(error.into()))?
        .as_str()
        .map_err(|error| corrupt(error.into()))?;
    Ok((id, text))
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
