//! The store's own failures, and their one mapping into [`StoreError`].
//!
//! Each message describes this layer only; the cause is the `#[source]`, which
//! loggers walk (printing it here too would show it twice).

use meeting_core::StoreError;
use rusqlite::ErrorCode;
use std::path::PathBuf;
use std::sync::Arc;

/// What went wrong inside the SQLite store.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(
        "the directory {0} does not exist: create it, or choose another path for the database"
    )]
    MissingDirectory(PathBuf),
    #[error("{path} is not a SQLite database; it was left untouched: choose another path")]
    NotADatabase {
        path: PathBuf,
        #[source]
        source: Option<rusqlite::Error>,
    },
    #[error("{path} is a SQLite database of another application (application_id {application_id:#x}, {tables} tables); it was left untouched: choose another path")]
    ForeignDatabase {
        path: PathBuf,
        application_id: i32,
        tables: i64,
    },
    #[error("{path} has schema version {found}, which this build does not know (it knows versions up to {known}); it was left untouched: run a newer meeting-store-sqlite")]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{path} cannot be written (read-only file, directory or file system): make it writable, or choose another path")]
    Unwritable {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path} is read-only for this process (file permissions, an immutable attribute or a read-only file system); it was left untouched: make it writable, or choose another path")]
    ReadOnly { path: PathBuf },
    #[error("input/output on {path} failed")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the stored JSON of meeting {what} cannot be read")]
    Corrupt {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("meeting id {0} is already stored under another key")]
    IdTaken(String),
    #[error("the joinMeetingId of meeting {0} is already another stored meeting's")]
    JoinMeetingIdTaken(String),
    #[error("the meeting cannot be serialized")]
    Serialize(#[source] serde_json::Error),
    #[error("the store's writer thread has stopped")]
    WriterStopped,
    #[error("{0} writes are already waiting for the database: retry later")]
    QueueFull(usize),
    #[error(
        "this write's deadline passed before the database took it (locked by another connection, or the writer behind): retry later"
    )]
    DeadlinePassed(#[source] Option<Arc<rusqlite::Error>>),
    /// A write the database refused for want of space or writability: the
    /// store may recover (space freed, file made writable), so it is unavailable.
    #[error("the database cannot be written now (full, read-only or failing): free space or make it writable")]
    WritesFailing(#[source] Arc<rusqlite::Error>),
    #[error("a bug in meeting-store-sqlite: {0}")]
    Bug(&'static str),
    #[error("a blocking database task failed")]
    Task(#[source] tokio::task::JoinError),
    /// Shared so that one failed group commit can answer every caller in it.
    #[error("a SQLite call failed")]
    Sqlite(#[source] Arc<rusqlite::Error>),
}

impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Self {
        Error::Sqlite(Arc::new(error))
    }
}

impl From<Error> for StoreError {
    fn from(error: Error) -> Self {
        match error {
            Error::MissingDirectory(_)
            | Error::NotADatabase { .. }
            | Error::ForeignDatabase { .. }
            | Error::NewerSchema { .. }
            | Error::Unwritable { .. }
            | Error::ReadOnly { .. } => StoreError::incompatible(error),
            Error::Corrupt { what, source } => StoreError::corrupt(what, source),
            Error::IdTaken(_) | Error::JoinMeetingIdTaken(_) => StoreError::conflict(error),
            Error::Io { .. }
            | Error::WriterStopped
            | Error::QueueFull(_)
            | Error::DeadlinePassed(_)
            | Error::WritesFailing(_) => StoreError::unavailable(error),
            Error::Serialize(_) | Error::Task(_) | Error::Bug(_) => StoreError::internal(error),
            Error::Sqlite(ref sqlite) => match sqlite.sqlite_error_code() {
                Some(
                    ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::DiskFull
                    | ErrorCode::OutOfMemory
                    | ErrorCode::FileLockingProtocolFailed
                    // After open (which refuses these as Unwritable or
                    // ReadOnly): the file may become usable again.
                    | ErrorCode::ReadOnly
                    | ErrorCode::CannotOpen
                    | ErrorCode::PermissionDenied,
                ) => StoreError::unavailable(error),
                Some(ErrorCode::NotADatabase) => StoreError::incompatible(error),
                Some(ErrorCode::DatabaseCorrupt) => {
                    StoreError::corrupt("(the database file)", error)
                }
                Some(ErrorCode::ConstraintViolation) => StoreError::conflict(error),
                _ => StoreError::internal(error),
            },
        }
    }
}

/// Whether a failure to open or set up a connection means the location cannot be written.
pub(crate) fn is_unwritable(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied)
    )
}

/// Whether a failed write means the database cannot be written now (full,
/// read-only, failing I/O), rather than a bug or a conflict: what `ping` reports.
pub(crate) fn is_write_failure(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(
            ErrorCode::DiskFull
                | ErrorCode::ReadOnly
                | ErrorCode::SystemIoFailure
                | ErrorCode::CannotOpen
                | ErrorCode::PermissionDenied
                | ErrorCode::FileLockingProtocolFailed
        )
    )
}

/// Whether another connection holds the lock a write needs.
pub(crate) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::{is_busy, is_unwritable, is_write_failure, Error};
    use meeting_core::StoreError;
    use rusqlite::ffi;

    fn failure(code: std::os::raw::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    fn kind(error: &StoreError) -> &'static str {
        match error {
            StoreError::Unavailable { .. } => "unavailable",
            StoreError::Corrupt { .. } => "corrupt",
            StoreError::Conflict { .. } => "conflict",
            StoreError::Incompatible { .. } => "incompatible",
            StoreError::Internal { .. } => "internal",
            _ => "another kind",
        }
    }

    /// Each SQLite result code a call can fail with, what the caller is told,
    /// and whether it means an unwritable location (at open), a failing write
    /// (what `ping` reports) or another connection's lock.
    #[test]
    fn each_sqlite_failure_maps_to_its_store_error_and_predicates() {
        let table = [
            // code, kind, unwritable, write failure, busy
            (ffi::SQLITE_BUSY, "unavailable", false, false, true),
            (ffi::SQLITE_LOCKED, "unavailable", false, false, true),
            (ffi::SQLITE_IOERR, "unavailable", false, true, false),
            (ffi::SQLITE_FULL, "unavailable", false, true, false),
            (ffi::SQLITE_NOMEM, "unavailable", false, false, false),
            (ffi::SQLITE_PROTOCOL, "unavailable", false, true, false),
            (ffi::SQLITE_READONLY, "unavailable", true, true, false),
            (ffi::SQLITE_CANTOPEN, "unavailable", true, true, false),
            (ffi::SQLITE_PERM, "unavailable", true, true, false),
            (ffi::SQLITE_NOTADB, "incompatible", false, false, false),
            (ffi::SQLITE_CORRUPT, "corrupt", false, false, false),
            (ffi::SQLITE_CONSTRAINT, "conflict", false, false, false),
            (ffi::SQLITE_MISMATCH, "internal", false, false, false),
            (ffi::SQLITE_ERROR, "internal", false, false, false),
        ];
        for (code, expected, unwritable, write_failure, busy) in table {
            let error = failure(code);
            assert_eq!(
                (
                    is_unwritable(&error),
                    is_write_failure(&error),
                    is_busy(&error)
                ),
                (unwritable, write_failure, busy),
                "{error}"
            );
            let store_error = StoreError::from(Error::from(error));
            assert_eq!(kind(&store_error), expected, "{store_error}");
        }
    }

    #[test]
    fn errors_outside_sqlite_are_none_of_the_predicates() {
        let error = rusqlite::Error::QueryReturnedNoRows;
        assert!(!is_unwritable(&error) && !is_write_failure(&error) && !is_busy(&error));
        assert_eq!(kind(&StoreError::from(Error::from(error))), "internal");
    }
}
