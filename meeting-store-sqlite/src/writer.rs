//! The writer thread: the one connection that writes, committing concurrent
//! writes together (group commit).
//!
//! Callers queue their writes (a bounded queue: past
//! [`SqliteOptions::write_queue`](crate::SqliteOptions::write_queue) a write is
//! refused at once); the thread takes every write waiting when it is free, runs
//! them in one `BEGIN IMMEDIATE` transaction, commits (one fsync at
//! `synchronous=FULL`), and only then answers each caller. While one commit is
//! being made durable the next batch gathers, so N concurrent callers pay about
//! one fsync per batch rather than N, without any timer that delays a lone caller.
//!
//! Each write carries its caller's deadline. While another connection holds
//! the write lock the thread waits (SQLite's busy handler) until the earliest
//! deadline in the batch (looking again every 50 ms, when writes queued since
//! join the batch), answers the callers whose deadline passed, and tries again
//! with the others; a caller that stopped waiting is dropped unwritten.
//!
//! The thread also records whether its last write attempt failed for want of
//! space or writability ([`Health`]), which is what `ping` reports.

use crate::error::{is_busy, is_write_failure, Error};
use crate::read::parse_meeting;
use crate::sql::{
    DELETE, DELETE_ALL, ID_IS_STORED, INSERT, PROBE_INSERT, SELECT_BY_KEY, UPDATE_IF_UNCHANGED,
};
use meeting_core::{join_web_url_key, MeetingKey, OnlineMeeting, Outcome};
use rusqlite::{Connection, ErrorCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A write waiting for the writer thread, and until when its caller waits.
pub(crate) struct Job {
    pub(crate) work: Work,
    pub(crate) deadline: Instant,
}

/// What a [`Job`] asks for.
pub(crate) enum Work {
    /// Store `meeting` under `key` unless the key has one.
    Create {
        key: MeetingKey,
        meeting: Arc<OnlineMeeting>,
        json: Arc<str>,
        reply: oneshot::Sender<Result<Outcome, Error>>,
    },
    /// Replace the meeting with this id by `json` if it is still stored as
    /// `expected`; answers whether it was.
    Update {
        id: String,
        expected: String,
        json: Arc<str>,
        reply: oneshot::Sender<Result<bool, Error>>,
    },
    /// Delete the meeting with this id.
    Delete {
        id: String,
        reply: oneshot::Sender<Result<bool, Error>>,
    },
    /// Delete every meeting.
    Clear {
        reply: oneshot::Sender<Result<u64, Error>>,
    },
    /// Write and delete a probe row in one committed transaction, storing
    /// nothing: whether writes work again, for `ping` after a failed write.
    Probe {
        reply: oneshot::Sender<Result<(), Error>>,
    },
}

/// What a job did inside the transaction, sent to its caller only once that transaction committed.
enum Done {
    Create(Result<Outcome, Error>),
    Update(Result<bool, Error>),
    Delete(Result<bool, Error>),
    Clear(Result<u64, Error>),
    Probe(Result<(), Error>),
}

impl Done {
    /// Whether this job changed the database (so writes work).
    fn wrote(&self) -> bool {
        matches!(
            self,
            Done::Create(Ok(Outcome::Created(_)))
                | Done::Update(Ok(true))
                | Done::Delete(Ok(_))
                | Done::Clear(Ok(_))
                | Done::Probe(Ok(()))
        )
    }

    /// The write failure that ended this job alone (a full database), if any.
    fn write_failure(&self) -> Option<&Arc<rusqlite::Error>> {
        match self {
            Done::Create(Err(Error::WritesFailing(error)))
            | Done::Update(Err(Error::WritesFailing(error)))
            | Done::Delete(Err(Error::WritesFailing(error)))
            | Done::Probe(Err(Error::WritesFailing(error))) => Some(error),
            _ => None,
        }
    }
}

const MISMATCH: &str = "the writer paired a job with another kind of result";

impl Job {
    /// Answers the caller. One that stopped waiting (its future was dropped) needs no answer.
    fn answer(self, done: Done) {
        match (self.work, done) {
            (Work::Create { reply, .. }, Done::Create(result)) => drop(reply.send(result)),
            (Work::Update { reply, .. }, Done::Update(result)) => drop(reply.send(result)),
            (Work::Delete { reply, .. }, Done::Delete(result)) => drop(reply.send(result)),
            (Work::Clear { reply }, Done::Clear(result)) => drop(reply.send(result)),
            (Work::Probe { reply }, Done::Probe(result)) => drop(reply.send(result)),
            (work, _) => Job::fail_work(work, || Error::Bug(MISMATCH)),
        }
    }

    /// Answers the caller with an error (one made per caller).
    fn fail(self, error: impl Fn() -> Error) {
        Job::fail_work(self.work, error)
    }

    fn fail_work(work: Work, error: impl Fn() -> Error) {
        match work {
            Work::Create { reply, .. } => drop(reply.send(Err(error()))),
            Work::Update { reply, .. } => drop(reply.send(Err(error()))),
            Work::Delete { reply, .. } => drop(reply.send(Err(error()))),
            Work::Clear { reply } => drop(reply.send(Err(error()))),
            Work::Probe { reply } => drop(reply.send(Err(error()))),
        }
    }

    /// Whether the caller stopped waiting (its future was dropped).
    fn abandoned(&self) -> bool {
        match &self.work {
            Work::Create { reply, .. } => reply.is_closed(),
            Work::Update { reply, .. } => reply.is_closed(),
            Work::Delete { reply, .. } => reply.is_closed(),
            Work::Clear { reply } => reply.is_closed(),
            Work::Probe { reply } => reply.is_closed(),
        }
    }
}

/// Whether the writer's last write attempt failed for want of space or
/// writability, with no write committed since: what `ping` reports.
#[derive(Debug, Default)]
pub(crate) struct Health {
    failure: Mutex<Option<Arc<rusqlite::Error>>>,
}

impl Health {
    /// The failure of the last write attempt, while no write has succeeded since.
    pub(crate) fn failure(&self) -> Option<Arc<rusqlite::Error>> {
        self.lock().clone()
    }

    fn set(&self, failure: Option<Arc<rusqlite::Error>>) {
        *self.lock() = failure;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<rusqlite::Error>>> {
        self.failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// No meeting has this id (ids are generated without spaces) or an empty tenant.
const PROBE_ID: &str = " meeting-store-sqlite write probe";
/// About a typical meeting's text and then some: enough to need new pages.
const PROBE_BYTES: usize = 8 * 1024;

/// How long the writer waits for the lock before looking at its batch and queue again.
const BUSY_SLICE: Duration = Duration::from_millis(50);

/// The writer thread's state.
pub(crate) struct Writer {
    pub(crate) connection: Connection,
    pub(crate) jobs: mpsc::Receiver<Job>,
    pub(crate) max_batch: usize,
    pub(crate) commits: Arc<AtomicU64>,
    pub(crate) health: Arc<Health>,
}

impl Writer {
    /// Runs the writer until every sender is dropped.
    pub(crate) fn run(self) {
        let max_batch = self.max_batch.max(1);
        let mut batch = Vec::with_capacity(max_batch.min(1024));
        while let Ok(first) = self.jobs.recv() {
            batch.push(first);
            self.top_up(&mut batch, max_batch);
            self.commit(&mut batch, max_batch);
        }
    }

    /// Adds the jobs waiting, up to `max_batch`.
    fn top_up(&self, batch: &mut Vec<Job>, max_batch: usize) {
        while batch.len() < max_batch {
            match self.jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
    }

    /// Commits `batch` in one transaction and answers every job: after the
    /// commit, or with the error that ended it, or, while another connection
    /// keeps the lock, when the job's own deadline passes.
    fn commit(&self, batch: &mut Vec<Job>, max_batch: usize) {
        let mut busy: Option<Arc<rusqlite::Error>> = None;
        loop {
            let now = Instant::now();
            let (live, done): (Vec<Job>, Vec<Job>) = batch
                .drain(..)
                .partition(|job| job.deadline > now && !job.abandoned());
            *batch = live;
            for job in done {
                let busy = busy.clone();
                job.fail(move || Error::DeadlinePassed(busy.clone()));
            }
            let Some(earliest) = batch.iter().map(|job| job.deadline).min() else {
                return;
            };
            // SQLite's busy handler waits for the lock, no longer than the first
            // deadline, and in slices, so that writes queued meanwhile join the
            // batch and callers that stopped waiting leave it; rounded up so that it does wait.
            let wait = earliest.saturating_duration_since(now).min(BUSY_SLICE);
            let wait = wait.max(Duration::from_millis(1));
            let _ = self.connection.busy_timeout(wait);
            let started = Instant::now();
            match transaction(&self.connection, batch) {
                Ok(done) => {
                    // Counted before answering, so a caller that was answered sees its commit counted.
                    self.commits.fetch_add(1, Ordering::Relaxed);
                    if done.iter().any(Done::wrote) {
                        self.health.set(None);
                    } else if let Some(failure) = done.iter().find_map(Done::write_failure) {
                        self.health.set(Some(Arc::clone(failure)));
                    }
                    for (job, done) in batch.drain(..).zip(done) {
                        job.answer(done);
                    }
                    return;
                }
                Err(error) if is_busy(&error) => {
                    // SQLite may answer busy without waiting (another
                    // connection recovering the WAL): no hot loop then.
                    let waited = started.elapsed();
                    if waited < wait {
                        std::thread::sleep((wait - waited).min(Duration::from_millis(5)));
                    }
                    busy = Some(Arc::new(error));
                    self.top_up(batch, max_batch);
                }
                Err(error) => {
                    // Nothing of this batch was committed: every caller in it gets the error.
                    let error = Arc::new(error);
                    if is_write_failure(&error) {
                        self.health.set(Some(Arc::clone(&error)));
                        batch
                            .drain(..)
                            .for_each(|job| job.fail(|| Error::WritesFailing(Arc::clone(&error))));
                    } else {
                        batch
                            .drain(..)
                            .for_each(|job| job.fail(|| Error::Sqlite(Arc::clone(&error))));
                    }
                    return;
                }
            }
        }
    }
}

/// Runs `batch` in one transaction; rolled back on error.
fn transaction(connection: &Connection, batch: &[Job]) -> rusqlite::Result<Vec<Done>> {
    let outcome = (|| -> rusqlite::Result<Vec<Done>> {
        connection.execute_batch("BEGIN IMMEDIATE")?;
        let done = batch
            .iter()
            .map(|job| apply(connection, job))
            .collect::<rusqlite::Result<Vec<Done>>>()?;
        connection.execute_batch("COMMIT")?;
        Ok(done)
    })();
    if outcome.is_err() && !connection.is_autocommit() {
        // Best effort: if even the rollback fails, SQLite rolls back on the next BEGIN.
        let _ = connection.execute_batch("ROLLBACK");
    }
    outcome
}

/// Runs one job inside the open transaction. An error that ends the
/// transaction is returned; one that concerns only this job is its answer.
fn apply(connection: &Connection, job: &Job) -> rusqlite::Result<Done> {
    match &job.work {
        Work::Create {
            key, meeting, json, ..
        } => {
            let inserted = connection.prepare_cached(INSERT)?.execute((
                meeting.id.as_str(),
                key.tenant.as_str(),
                key.user.as_str(),
                key.external_id.as_str(),
                &**json,
                meeting.join_meeting_id(),
                join_web_url_key(&meeting.join_web_url),
            ));
            let result = match inserted {
                Ok(1) => Ok(Outcome::Created(Arc::clone(meeting))),
                Ok(_) => existing(connection, key)?,
                // The id or the join id is another key's; SQLite undid only this statement.
                Err(error)
                    if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
                        && !connection.is_autocommit() =>
                {
                    refused(connection, key, meeting)?
                }
                Err(error) => alone(connection, error)?,
            };
            Ok(Done::Create(result))
        }
        Work::Update {
            id, expected, json, ..
        } => {
            let result = match connection.prepare_cached(UPDATE_IF_UNCHANGED)?.execute((
                id.as_str(),
                expected.as_str(),
                &**json,
            )) {
                Ok(changed) => Ok(changed > 0),
                Err(error) => alone(connection, error)?,
            };
            Ok(Done::Update(result))
        }
        Work::Delete { id, .. } => {
            let deleted = connection.prepare_cached(DELETE)?.execute([id.as_str()])?;
            Ok(Done::Delete(Ok(deleted > 0)))
        }
        Work::Clear { .. } => {
            let deleted = connection.prepare_cached(DELETE_ALL)?.execute([])?;
            Ok(Done::Clear(Ok(deleted as u64)))
        }
        Work::Probe { .. } => {
            let text = " ".repeat(PROBE_BYTES);
            let result = match connection
                .prepare_cached(PROBE_INSERT)?
                .execute((PROBE_ID, text.as_str()))
            {
                Ok(_) => {
                    connection.prepare_cached(DELETE)?.execute([PROBE_ID])?;
                    Ok(())
                }
                Err(error) => alone(connection, error)?,
            };
            Ok(Done::Probe(result))
        }
    }
}

/// A statement's failure for want of space (a full database) that SQLite
/// undid alone, leaving the transaction open: this job's answer; any other
/// error ends the transaction.
fn alone<T>(connection: &Connection, error: rusqlite::Error) -> rusqlite::Result<Result<T, Error>> {
    if is_write_failure(&error) && !connection.is_autocommit() {
        Ok(Err(Error::WritesFailing(Arc::new(error))))
    } else {
        Err(error)
    }
}

/// Why a unique index refused `meeting`: the key's own meeting (should SQLite
/// check another index before the key's), or the id or join id another key holds.
fn refused(
    connection: &Connection,
    key: &MeetingKey,
    meeting: &OnlineMeeting,
) -> rusqlite::Result<Result<Outcome, Error>> {
    match existing(connection, key) {
        Err(rusqlite::Error::QueryReturnedNoRows) => {}
        found => return found,
    }
    let id_is_stored = connection
        .prepare_cached(ID_IS_STORED)?
        .exists([meeting.id.as_str()])?;
    Ok(Err(if id_is_stored {
        Error::IdTaken(meeting.id.to_string())
    } else {
        Error::JoinMeetingIdTaken(meeting.id.to_string())
    }))
}

/// The meeting that won the key, read inside the writer's transaction.
fn existing(connection: &Connection, key: &MeetingKey) -> rusqlite::Result<Result<Outcome, Error>> {
    let mut statement = connection.prepare_cached(SELECT_BY_KEY)?;
    let mut rows = statement.query((
        key.tenant.as_str(),
        key.user.as_str(),
        key.external_id.as_str(),
    ))?;
    match rows.next()? {
        Some(row) => Ok(parse_meeting(row).map(|meeting| Outcome::Existing(Arc::new(meeting)))),
        // The insert found a conflict, so the row is there in this very transaction.
        None => Err(rusqlite::Error::QueryReturnedNoRows),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::OpenFlags;

    /// How long this thread has run on a CPU (0 where the kernel does not say).
    fn cpu_time() -> Duration {
        let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
        let nanos = schedstat
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok());
        Duration::from_nanos(nanos.unwrap_or(0))
    }

    /// When SQLite answers busy without waiting (a shared-cache connection's
    /// `SQLITE_LOCKED` never reaches the busy handler), the writer sleeps out
    /// its wait before trying again rather than spin until the job's deadline,
    /// then answers the job that the lock was busy.
    #[test]
    fn a_busy_answered_at_once_is_slept_out_not_spun_on() {
        let name = "file:busy-answered-at-once?mode=memory&cache=shared";
        let open = || {
            let flags = OpenFlags::default() | OpenFlags::SQLITE_OPEN_SHARED_CACHE;
            Connection::open_with_flags(name, flags).unwrap()
        };
        let holder = open();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let (_queue, jobs) = mpsc::sync_channel(1);
        let writer = Writer {
            connection: open(),
            jobs,
            max_batch: 1,
            commits: Arc::default(),
            health: Arc::default(),
        };
        let (reply, mut answer) = oneshot::channel();
        let deadline = Instant::now() + Duration::from_millis(500);
        let mut batch = vec![Job {
            work: Work::Probe { reply },
            deadline,
        }];

        let (started, cpu) = (Instant::now(), cpu_time());
        writer.commit(&mut batch, 1);
        let (spent, elapsed) = (cpu_time() - cpu, started.elapsed());
        match answer.try_recv() {
            Ok(Err(Error::DeadlinePassed(Some(busy)))) => assert!(is_busy(&busy), "{busy}"),
            other => panic!("answered {other:?}"),
        }
        assert!(
            spent < elapsed / 4,
            "the writer ran {spent:?} of the {elapsed:?} it waited for the lock"
        );
    }
}
