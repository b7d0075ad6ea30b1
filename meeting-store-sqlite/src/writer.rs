//! The writer thread: the one connection that writes, committing concurrent
//! writes together (group commit).
//!
//! Callers queue their writes; the thread takes every write waiting when it is
//! free, runs them in one `BEGIN IMMEDIATE` transaction, commits (one fsync at
//! `synchronous=FULL`), and only then answers each caller. While one commit is
//! being made durable the next batch gathers, so N concurrent callers pay about
//! one fsync per batch rather than N, without any timer that delays a lone caller.

use crate::error::Error;
use crate::read::parse_meeting;
use meeting_core::{MeetingKey, OnlineMeeting, Outcome};
use rusqlite::{Connection, ErrorCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::oneshot;

/// A write waiting for the writer thread.
pub(crate) enum Job {
    /// Store `meeting` under `key` unless the key has one.
    Create {
        key: MeetingKey,
        meeting: Arc<OnlineMeeting>,
        json: Arc<str>,
        reply: oneshot::Sender<Result<Outcome, Error>>,
    },
    /// Delete the meeting with this id.
    Delete {
        id: String,
        reply: oneshot::Sender<Result<bool, Error>>,
    },
}

/// What a job did inside the transaction, sent to its caller only once that transaction committed.
enum Done {
    Create(Result<Outcome, Error>),
    Delete(Result<bool, Error>),
}

const MISMATCH: &str = "the writer paired a job with another kind of result";

impl Job {
    /// Answers the caller. One that stopped waiting (its future was dropped) needs no answer.
    fn answer(self, done: Done) {
        match (self, done) {
            (Job::Create { reply, .. }, Done::Create(result)) => drop(reply.send(result)),
            (Job::Delete { reply, .. }, Done::Delete(result)) => drop(reply.send(result)),
            (Job::Create { reply, .. }, _) => drop(reply.send(Err(Error::Bug(MISMATCH)))),
            (Job::Delete { reply, .. }, _) => drop(reply.send(Err(Error::Bug(MISMATCH)))),
        }
    }

    /// Answers the caller with the error that ended its transaction.
    fn fail(self, error: &Arc<rusqlite::Error>) {
        match self {
            Job::Create { reply, .. } => drop(reply.send(Err(Error::Sqlite(Arc::clone(error))))),
            Job::Delete { reply, .. } => drop(reply.send(Err(Error::Sqlite(Arc::clone(error))))),
        }
    }
}

const INSERT: &str = "INSERT INTO meetings (id, tenant_id, user_id, external_id, meeting)
    VALUES (?1, ?2, ?3, ?4, ?5)
    ON CONFLICT (tenant_id, user_id, external_id) DO NOTHING";
const SELECT_BY_KEY: &str =
    "SELECT id, meeting FROM meetings WHERE tenant_id = ?1 AND user_id = ?2 AND external_id = ?3";
const DELETE: &str = "DELETE FROM meetings WHERE id = ?1";

/// Runs the writer until every sender is dropped.
pub(crate) fn run(
    connection: Connection,
    jobs: mpsc::Receiver<Job>,
    max_batch: usize,
    commits: &AtomicU64,
) {
    let max_batch = max_batch.max(1);
    let mut batch = Vec::with_capacity(max_batch.min(1024));
    while let Ok(first) = jobs.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&connection, &mut batch, commits);
    }
}

/// Runs `batch` in one transaction; answers every job after the commit, or fails them all.
fn commit_batch(connection: &Connection, batch: &mut Vec<Job>, commits: &AtomicU64) {
    let outcome = (|| -> rusqlite::Result<Vec<Done>> {
        connection.execute_batch("BEGIN IMMEDIATE")?;
        let done = batch
            .iter()
            .map(|job| apply(connection, job))
            .collect::<rusqlite::Result<Vec<Done>>>()?;
        connection.execute_batch("COMMIT")?;
        Ok(done)
    })();
    match outcome {
        Ok(done) => {
            // Counted before answering, so a caller that was answered sees its commit counted.
            commits.fetch_add(1, Ordering::Relaxed);
            for (job, done) in batch.drain(..).zip(done) {
                job.answer(done);
            }
        }
        Err(error) => {
            if !connection.is_autocommit() {
                // Best effort: if even the rollback fails, SQLite rolls back on the next BEGIN.
                let _ = connection.execute_batch("ROLLBACK");
            }
            // Nothing of this batch was committed: every caller in it gets the error.
            let error = Arc::new(error);
            batch.drain(..).for_each(|job| job.fail(&error));
        }
    }
}

/// Runs one job inside the open transaction. An error that ends the
/// transaction is returned; one that concerns only this job is its answer.
fn apply(connection: &Connection, job: &Job) -> rusqlite::Result<Done> {
    match job {
        Job::Create {
            key, meeting, json, ..
        } => {
            let inserted = connection.prepare_cached(INSERT)?.execute((
                meeting.id.as_str(),
                key.tenant.as_str(),
                key.user.as_str(),
                key.external_id.as_str(),
                &**json,
            ));
            let result = match inserted {
                Ok(1) => Ok(Outcome::Created(Arc::clone(meeting))),
                Ok(_) => existing(connection, key)?,
                // The id is taken under another key; SQLite undid only this statement.
                Err(error)
                    if error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
                        && !connection.is_autocommit() =>
                {
                    Err(Error::IdTaken(meeting.id.to_string()))
                }
                Err(error) => return Err(error),
            };
            Ok(Done::Create(result))
        }
        Job::Delete { id, .. } => {
            let deleted = connection.prepare_cached(DELETE)?.execute([id.as_str()])?;
            Ok(Done::Delete(Ok(deleted > 0)))
        }
    }
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
