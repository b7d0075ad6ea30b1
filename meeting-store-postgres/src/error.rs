//! The store's own failures, and their one mapping into [`StoreError`].
//!
//! Each message describes this layer only; the cause is the `#[source]`, which
//! loggers walk (printing it here too would show it twice).

use meeting_core::StoreError;
use tokio_postgres::error::SqlState;

/// What went wrong inside the PostgreSQL store.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("the PostgreSQL connection string is not valid: write it as postgres://user@host:port/database?parameter=value")]
    BadUrl(#[source] tokio_postgres::Error),
    #[error("the connection parameter {name}={value:?} is not valid: {expected}")]
    BadParameter {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("weak sslmode \"{0}\" may not be used with sslrootcert=system (use \"verify-full\"): the platform's roots trust every public CA, which will sign a certificate for anyone's name, so only a check of the server's name proves it is yours")]
    WeakSslMode(&'static str),
    #[error("the pool size must be at least 1")]
    EmptyPool,
    #[error("the connection string asks for TLS (sslmode={0}), but this build of meeting-store-postgres has no TLS support: build it with its cargo feature `tls` (on by default), or use sslmode=disable or sslmode=prefer on a trusted network (loopback, private link)")]
    #[cfg_attr(feature = "tls", allow(dead_code))]
    TlsUnsupported(&'static str),
    #[error("TLS to PostgreSQL cannot be set up: {0}")]
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Tls(String),
    #[error("the database's encoding is {0}, but the meeting store needs UTF8: create the database with ENCODING 'UTF8'")]
    NotUtf8(String),
    #[error("the database has meeting store schema version {found}, which this build does not know (it knows versions up to {known}); nothing was changed: run a newer meeting-store-postgres")]
    NewerSchema { found: i64, known: i64 },
    #[error("the stored JSON of meeting {id} cannot be read")]
    Corrupt {
        id: String,
        #[source]
        source: Unreadable,
    },
    #[error("meeting id {0} is already stored under another key")]
    IdTaken(String),
    #[error("the joinMeetingId of meeting {0} is already another stored meeting's")]
    JoinMeetingIdTaken(String),
    #[error("the meeting cannot be serialized")]
    Serialize(#[source] serde_json::Error),
    #[error("the update was refused")]
    Refused(#[source] StoreError),
    #[error("the {0} contains a NUL character, which PostgreSQL text cannot hold")]
    Nul(&'static str),
    #[error("the meeting under this key was deleted as fast as it was created, {0} times in a row; retry later")]
    KeyChurn(u32),
    #[error(
        "timed out {0}: the server is slow or unreachable, or pool_size is too small for the load"
    )]
    PoolTimeout(&'static str),
    #[error("PostgreSQL did not answer within {0:?}")]
    NoAnswer(std::time::Duration),
    #[error("the PostgreSQL connection pool is closed")]
    PoolClosed,
    #[error("the PostgreSQL connection pool cannot be built")]
    PoolBuild(#[source] deadpool_postgres::BuildError),
    #[error("{}", describe(.0))]
    Postgres(#[source] tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for Error {
    fn from(error: tokio_postgres::Error) -> Self {
        Error::Postgres(error)
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        use deadpool_postgres::{HookError, PoolError, TimeoutType};
        match error {
            PoolError::Backend(error) | PoolError::PostCreateHook(HookError::Backend(error)) => {
                Error::Postgres(error)
            }
            PoolError::Timeout(TimeoutType::Wait) => {
                Error::PoolTimeout("waiting for a free pooled PostgreSQL connection")
            }
            PoolError::Timeout(TimeoutType::Create) => {
                Error::PoolTimeout("connecting to PostgreSQL")
            }
            PoolError::Timeout(TimeoutType::Recycle) => {
                Error::PoolTimeout("checking a pooled PostgreSQL connection")
            }
            PoolError::Closed
            | PoolError::NoRuntimeSpecified
            | PoolError::PostCreateHook(HookError::Message(_)) => Error::PoolClosed,
        }
    }
}

/// Where and how stored JSON fails to parse, without serde_json's message,
/// which may quote what is stored (a subject, a name, a date) into the logs.
#[derive(Debug, thiserror::Error)]
pub(crate) struct Unreadable {
    what: &'static str,
    line: usize,
    column: usize,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            // No position: from_stored_json's check before parsing, of the nesting depth.
            return write!(
                f,
                "JSON nested deeper than the {} levels a meeting may have",
                meeting_core::limits::JSON_MAX_DEPTH
            );
        }
        write!(
            f,
            "{} at line {} column {}",
            self.what, self.line, self.column
        )
    }
}

impl From<&serde_json::Error> for Unreadable {
    fn from(error: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        Unreadable {
            what: match error.classify() {
                Category::Syntax => "not valid JSON",
                Category::Eof => "JSON cut short",
                Category::Data => "JSON that does not fit the meeting model",
                Category::Io => "JSON that cannot be read",
            },
            line: error.line(),
            column: error.column(),
        }
    }
}

/// What failed, at this layer: the driver's "db error" hides the SQLSTATE, and
/// its "error performing TLS handshake" what to check. The driver's words and
/// the server's message are the sources.
fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(code) = error.code() {
        return format!(
            "PostgreSQL refused the statement (SQLSTATE {})",
            code.code()
        );
    }
    if error.to_string() == TLS_HANDSHAKE {
        return "the TLS handshake with PostgreSQL failed: check the URL's sslmode and sslrootcert against the server's certificate".to_owned();
    }
    "a PostgreSQL call failed".to_owned()
}

/// What a PostgreSQL failure means for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// A serialization failure or deadlock: the same statements again may well succeed.
    Serialization,
    /// The server or the connection is gone, starting, or overloaded.
    Unavailable,
    /// A unique key refused the write.
    Conflict,
    /// The database, its schema, the credentials or the privileges do not fit.
    Incompatible,
    /// Anything else: a bug here or in the driver.
    Internal,
}

impl Error {
    /// The class of this failure.
    pub(crate) fn class(&self) -> Class {
        match self {
            Error::BadUrl(_)
            | Error::BadParameter { .. }
            | Error::WeakSslMode(_)
            | Error::EmptyPool
            | Error::TlsUnsupported(_)
            | Error::Tls(_)
            | Error::NotUtf8(_)
            | Error::NewerSchema { .. } => Class::Incompatible,
            Error::Corrupt { .. }
            | Error::Serialize(_)
            | Error::Refused(_)
            | Error::Nul(_)
            | Error::PoolBuild(_) => Class::Internal,
            Error::IdTaken(_) | Error::JoinMeetingIdTaken(_) => Class::Conflict,
            Error::KeyChurn(_) | Error::PoolTimeout(_) | Error::NoAnswer(_) | Error::PoolClosed => {
                Class::Unavailable
            }
            Error::Postgres(error) => classify(error),
        }
    }

    /// The SQLSTATE the server sent, if this is a server error.
    pub(crate) fn code(&self) -> Option<&SqlState> {
        match self {
            Error::Postgres(error) => error.code(),
            _ => None,
        }
    }
}

/// Sorts a driver error by what the caller can do about it.
pub(crate) fn classify(error: &tokio_postgres::Error) -> Class {
    if let Some(code) = error.code() {
        return classify_code(code);
    }
    if let Some(class) = classify_tls(error) {
        return class;
    }
    // A connect that timed out carries an I/O error too (`TimedOut`).
    if error.is_closed() || has_io_source(error) {
        return Class::Unavailable;
    }
    Class::Internal
}

fn classify_code(code: &SqlState) -> Class {
    if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED {
        return Class::Serialization;
    }
    if *code == SqlState::UNIQUE_VIOLATION {
        return Class::Conflict;
    }
    let text = code.code();
    let unavailable = [
        "08",    // connection exception
        "53",    // insufficient resources: too many connections, disk full, out of memory
        "57P",   // operator intervention: shutdown, crash, cannot connect now, database dropped
        "57014", // query canceled (statement_timeout)
        "55P03", // lock not available (lock_timeout)
        "40003", // statement completion unknown
        "25006", // read-only transaction: a standby after a failover
        "58",    // system error (I/O on the server)
    ];
    if unavailable.iter().any(|prefix| text.starts_with(prefix)) {
        return Class::Unavailable;
    }
    let incompatible = [
        "28",    // invalid authorization: wrong user or password
        "3D000", // the database does not exist
        "3F000", // the schema does not exist
        "42501", // insufficient privilege
        "42P01", // undefined table: the schema was dropped or altered under us
        "42703", // undefined column
        "42P07", // a table of that name exists but is not ours
        "0A000", // feature not supported by this engine
    ];
    if incompatible.iter().any(|prefix| text.starts_with(prefix)) {
        return Class::Incompatible;
    }
    Class::Internal
}

/// The driver's "error performing TLS handshake": a certificate that fails
/// verification, a handshake rustls refuses, or a server that declines TLS
/// under `require` is the configuration's fault (incompatible); a connection
/// lost during the handshake is unavailable.
fn classify_tls(error: &tokio_postgres::Error) -> Option<Class> {
    if error.to_string() != TLS_HANDSHAKE {
        return None;
    }
    let cause = std::error::Error::source(error)?;
    let Some(io) = cause.downcast_ref::<std::io::Error>() else {
        // The driver's own words: "server does not support TLS".
        return Some(Class::Incompatible);
    };
    #[cfg(feature = "tls")]
    if io
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>())
    {
        return Some(Class::Incompatible);
    }
    // ServerName refused the host name: a configuration fault too.
    if io.kind() == std::io::ErrorKind::InvalidInput {
        return Some(Class::Incompatible);
    }
    Some(Class::Unavailable)
}

/// How tokio-postgres words every TLS failure while connecting.
const TLS_HANDSHAKE: &str = "error performing TLS handshake";

fn has_io_source(error: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

impl From<Error> for StoreError {
    fn from(error: Error) -> Self {
        match error {
            Error::Corrupt { id, source } => StoreError::corrupt(id, source),
            error => match error.class() {
                Class::Serialization | Class::Unavailable => StoreError::unavailable(error),
                Class::Conflict => StoreError::conflict(error),
                Class::Incompatible => StoreError::incompatible(error),
                Class::Internal => StoreError::internal(error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialization_failures_and_deadlocks_are_retried() {
        for code in ["40001", "40P01"] {
            assert_eq!(
                classify_code(&SqlState::from_code(code)),
                Class::Serialization
            );
        }
    }

    #[test]
    fn shutdowns_and_lost_connections_are_unavailable() {
        for code in [
            "57P01", "57P02", "57P03", "08006", "08001", "53300", "57014",
        ] {
            assert_eq!(
                classify_code(&SqlState::from_code(code)),
                Class::Unavailable,
                "{code}"
            );
        }
    }

    #[test]
    fn wrong_database_credentials_or_privileges_are_incompatible() {
        for code in ["28P01", "28000", "3D000", "42501", "42P01"] {
            assert_eq!(
                classify_code(&SqlState::from_code(code)),
                Class::Incompatible,
                "{code}"
            );
        }
    }

    #[test]
    fn a_unique_violation_is_a_conflict_and_a_syntax_error_a_bug() {
        assert_eq!(classify_code(&SqlState::UNIQUE_VIOLATION), Class::Conflict);
        assert_eq!(classify_code(&SqlState::SYNTAX_ERROR), Class::Internal);
    }

    #[test]
    fn a_driver_error_is_the_source_not_part_of_the_message() {
        let error = "postgres://h/db?no_such_parameter=1"
            .parse::<tokio_postgres::Config>()
            .unwrap_err();
        let error = Error::BadUrl(error);
        assert!(!error.to_string().contains("no_such_parameter"), "{error}");
        let chain = meeting_tests::errors::chain(&error);
        assert!(chain.contains("no_such_parameter"), "{chain}");
    }

    #[test]
    fn unreadable_json_is_described_without_the_stored_values() {
        let error = serde_json::from_str::<meeting_core::OnlineMeeting>(
            r#""Alice Example, alice@contoso.com""#,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("Alice"),
            "serde_json quotes it: {error}"
        );
        let text = Unreadable::from(&error).to_string();
        assert_eq!(
            text,
            "JSON that does not fit the meeting model at line 1 column 34"
        );
        let text =
            Unreadable::from(&serde_json::from_str::<Vec<u8>>("[1,").unwrap_err()).to_string();
        assert_eq!(text, "JSON cut short at line 1 column 3");
        let deep = format!("{}0{}", "[".repeat(1000), "]".repeat(1000));
        let error = meeting_core::OnlineMeeting::from_stored_json(&deep).unwrap_err();
        let text = Unreadable::from(&error).to_string();
        assert_eq!(
            text,
            "JSON nested deeper than the 128 levels a meeting may have"
        );
    }

    #[test]
    fn a_newer_schema_maps_to_incompatible_with_advice() {
        let error = StoreError::from(Error::NewerSchema { found: 9, known: 1 });
        assert!(matches!(error, StoreError::Incompatible { .. }));
        let source = std::error::Error::source(&error).expect("the store's error");
        assert!(source
            .to_string()
            .contains("run a newer meeting-store-postgres"));
    }
}
