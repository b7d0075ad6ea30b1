//! The schema, its migrations, and the checks that run before anything is written.
//!
//! Migrations are data: [`MIGRATIONS`]`[n]` takes the schema from version `n` to
//! `n + 1`, and the version reached is recorded in the database header
//! (`PRAGMA user_version`). This is rusqlite_migration's design without the crate:
//! a refusal must happen before the first write, which is easiest to guarantee
//! when the check and the migration are in this file.

use crate::error::{is_unwritable, Error};
use crate::options::SqliteOptions;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

/// `PRAGMA application_id` of a meeting store ("MTNG"): tells our file from another application's.
pub(crate) const APPLICATION_ID: i32 = 0x4D54_4E47;

/// Each entry takes the schema from version `index` to `index + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // Version 1. The key and the id are each unique; a hit is one lookup of the
    // key's index, and the meeting is its serialized JSON, exactly as returned.
    "CREATE TABLE meetings (
        id          TEXT NOT NULL UNIQUE,
        tenant_id   TEXT NOT NULL,
        user_id     TEXT NOT NULL,
        external_id TEXT NOT NULL,
        meeting     TEXT NOT NULL,
        UNIQUE (tenant_id, user_id, external_id)
    ) STRICT;",
    // Version 2. Each meeting's joinMeetingId beside its JSON, unique where
    // present (NULL for meetings stored without one): a lookup by join id is
    // one probe of the index. Meetings stored before take theirs from their
    // JSON; should two share one (possible only before this index), the
    // earlier stored keeps it in the index.
    "ALTER TABLE meetings ADD COLUMN join_meeting_id TEXT;
    UPDATE meetings
        SET join_meeting_id = json_extract(meeting, '$.joinMeetingIdSettings.joinMeetingId')
        WHERE CASE WHEN json_valid(meeting)
            THEN json_type(meeting, '$.joinMeetingIdSettings.joinMeetingId') = 'text'
            ELSE 0 END;
    UPDATE meetings SET join_meeting_id = NULL WHERE rowid IN (
        SELECT stored FROM (
            SELECT rowid AS stored,
                row_number() OVER (PARTITION BY join_meeting_id ORDER BY rowid) AS place
            FROM meetings WHERE join_meeting_id IS NOT NULL
        ) WHERE place > 1
    );
    CREATE UNIQUE INDEX meetings_join_meeting_id ON meetings (join_meeting_id)
        WHERE join_meeting_id IS NOT NULL;",
    // Version 3. Each meeting's joinWebUrl beside its JSON, indexed without
    // regard to ASCII case: a lookup by join link is one probe of the index,
    // whose few candidates are then compared in their canonical form
    // (meeting_core::join_web_url_key, which changes only ASCII case). Not
    // unique: nothing requires two meetings' links to differ. Meetings stored
    // before take theirs from their JSON.
    "ALTER TABLE meetings ADD COLUMN join_web_url TEXT COLLATE NOCASE;
    UPDATE meetings
        SET join_web_url = json_extract(meeting, '$.joinWebUrl')
        WHERE CASE WHEN json_valid(meeting)
            THEN json_type(meeting, '$.joinWebUrl') = 'text'
            ELSE 0 END;
    CREATE INDEX meetings_join_web_url ON meetings (join_web_url COLLATE NOCASE)
        WHERE join_web_url IS NOT NULL;",
];

/// The schema version this build writes and reads.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The first 16 bytes of every SQLite database file.
const HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Opens one connection with the store's pragmas; `create` only for the first one.
pub(crate) fn connect(
    path: &Path,
    options: &SqliteOptions,
    create: bool,
) -> Result<Connection, Error> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let unwritable = |source: rusqlite::Error| {
        if is_unwritable(&source) {
            Error::Unwritable {
                path: path.to_owned(),
                source,
            }
        } else {
            Error::from(source)
        }
    };
    let connection = Connection::open_with_flags(path, flags).map_err(unwritable)?;
    // SQLite quietly opens a file it may not write read-only; every write would then fail.
    if create && connection.is_readonly(rusqlite::MAIN_DB)? {
        return Err(Error::ReadOnly {
            path: path.to_owned(),
        });
    }
    connection.busy_timeout(options.busy_timeout)?;
    let mode = enter_wal(&connection, options.busy_timeout).map_err(unwritable)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Unwritable {
            path: path.to_owned(),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some(format!(
                    "the database stays in journal mode {mode}, not WAL"
                )),
            ),
        });
    }
    connection.pragma_update(None, "synchronous", options.synchronous.pragma_value())?;
    Ok(connection)
}

/// Caps the database at `bytes` (whole pages; SQLite keeps it at least the current size).
pub(crate) fn cap_size(connection: &Connection, bytes: u64) -> Result<(), Error> {
    let page_size: u64 = connection.pragma_query_value(None, "page_size", |row| row.get(0))?;
    let pages = (bytes / page_size.max(1)).max(1);
    connection.pragma_update(None, "max_page_count", pages)?;
    Ok(())
}

/// Switches the database to WAL and returns the journal mode in force.
///
/// Turning a new file to WAL takes an exclusive lock, and SQLite answers
/// `SQLITE_BUSY` at once, without its busy handler, when another process holds
/// the file meanwhile (several processes opening one new store together):
/// retried here until `busy_timeout` has passed.
fn enter_wal(connection: &Connection, busy_timeout: Duration) -> rusqlite::Result<String> {
    let deadline = Instant::now() + busy_timeout;
    loop {
        match connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(error)
                if error.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            answer => return answer,
        }
    }
}

/// Refuses, without writing a byte, a file this build must not touch.
///
/// Runs before any read-write connection is opened: the header is read with plain
/// file I/O, and the schema version through a read-only connection.
pub(crate) fn check_existing(path: &Path, options: &SqliteOptions) -> Result<(), Error> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !directory.is_dir() {
        return Err(Error::MissingDirectory(directory.to_owned()));
    }
    let mut header = Vec::with_capacity(HEADER.len());
    match std::fs::File::open(path) {
        Ok(file) => {
            file.take(HEADER.len() as u64)
                .read_to_end(&mut header)
                .map_err(|source| Error::Io {
                    path: path.to_owned(),
                    source,
                })?;
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_owned(),
                source,
            })
        }
    }
    // SQLite itself takes an empty file for a new database.
    if header.is_empty() {
        return Ok(());
    }
    if header != HEADER {
        return Err(Error::NotADatabase {
            path: path.to_owned(),
            source: None,
        });
    }
    let refused = |source: rusqlite::Error| match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Error::NotADatabase {
            path: path.to_owned(),
            source: Some(source),
        },
        // A WAL database needs its directory writable even to be read.
        _ if is_unwritable(&source) => Error::Unwritable {
            path: path.to_owned(),
            source,
        },
        _ => Error::from(source),
    };
    let probe = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(refused)?;
    probe.busy_timeout(options.busy_timeout)?;
    let found = read_identity(&probe).map_err(refused)?;
    found.check(path)
}

/// What a database says about itself.
struct Identity {
    application_id: i32,
    version: i64,
    tables: i64,
}

impl Identity {
    fn check(&self, path: &Path) -> Result<(), Error> {
        let ours = self.application_id == APPLICATION_ID;
        let fresh = self.application_id == 0 && self.version == 0 && self.tables == 0;
        if !ours && !fresh {
            return Err(Error::ForeignDatabase {
                path: path.to_owned(),
                application_id: self.application_id,
                tables: self.tables,
            });
        }
        if !(0..=SCHEMA_VERSION).contains(&self.version) {
            return Err(Error::NewerSchema {
                path: path.to_owned(),
                found: self.version,
                known: SCHEMA_VERSION,
            });
        }
        Ok(())
    }
}

/// The three values in one statement, so one snapshot: read one by one, they
/// could straddle another process's migration and show a half-made store.
fn read_identity(connection: &Connection) -> rusqlite::Result<Identity> {
    connection.query_row(
        "SELECT (SELECT application_id FROM pragma_application_id),
                (SELECT user_version FROM pragma_user_version),
                (SELECT count(*) FROM sqlite_schema WHERE type = 'table')",
        [],
        |row| {
            Ok(Identity {
                application_id: row.get(0)?,
                version: row.get(1)?,
                tables: row.get(2)?,
            })
        },
    )
}

/// Brings the schema to [`SCHEMA_VERSION`] in one `BEGIN IMMEDIATE` transaction,
/// re-checking under the write lock in case another process migrated meanwhile.
pub(crate) fn migrate(connection: &mut Connection, path: &Path) -> Result<(), Error> {
    let current = read_identity(connection)?;
    current.check(path)?;
    if current.version == SCHEMA_VERSION {
        return Ok(());
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let locked = read_identity(&transaction)?;
    locked.check(path)?;
    // `check` bounded the version to 0..=SCHEMA_VERSION.
    for migration in MIGRATIONS.iter().skip(locked.version as usize) {
        transaction.execute_batch(migration)?;
    }
    transaction.pragma_update(None, "application_id", APPLICATION_ID)?;
    transaction.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    transaction.commit()?;
    Ok(())
}
