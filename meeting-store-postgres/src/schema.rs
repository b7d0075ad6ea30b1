//! The tables, and the migrations that make them, recorded by version.
//!
//! Plain SQL only (no advisory locks, no PL/pgSQL), so that CockroachDB and
//! YugabyteDB run it too. Instances that start together may migrate at the
//! same moment: the loser's transaction fails on a unique key or an existing
//! table, and a retry finds the winner's version.

use crate::error::{Class, Error};
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

/// The newest schema version this build knows.
pub(crate) const VERSION: i64 = 1;

/// Each version's statements, applied in one transaction with its version row.
const MIGRATIONS: &[(i64, &[&str])] = &[(
    1,
    &[
        // TEXT, not JSONB: a meeting's JSON may hold \u0000, which jsonb refuses,
        // and text keeps member order, which jsonb does not.
        "CREATE TABLE online_meetings (
            tenant_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            external_id TEXT NOT NULL,
            id TEXT NOT NULL,
            meeting TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT online_meetings_key PRIMARY KEY (tenant_id, user_id, external_id),
            CONSTRAINT online_meetings_id UNIQUE (id)
        )",
    ],
)];

// BIGINT: CockroachDB's INTEGER is 64-bit, PostgreSQL's 32-bit; BIGINT is 64-bit on both.
const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS meeting_store_schema (
    version BIGINT PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)";

const READ_VERSION: &str = "SELECT max(version) FROM meeting_store_schema";

const RECORD_VERSION: &str = "INSERT INTO meeting_store_schema (version) VALUES ($1)";

/// How often a migration that lost a race with another instance is tried again.
const ATTEMPTS: u32 = 5;

/// Brings the database to [`VERSION`], or refuses a newer one without changing anything.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), Error> {
    check_encoding(client).await?;
    let mut attempt = 1;
    loop {
        match migrate_once(client).await {
            Err(error) if attempt < ATTEMPTS && lost_a_race(&error) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
            }
            result => return result,
        }
    }
}

/// `server_encoding` is the current database's encoding; CockroachDB reports UTF8 too.
async fn check_encoding(client: &Client) -> Result<(), Error> {
    let row = client.query_one("SHOW server_encoding", &[]).await?;
    let encoding: String = row.try_get(0)?;
    if encoding.eq_ignore_ascii_case("UTF8") {
        Ok(())
    } else {
        Err(Error::NotUtf8(encoding))
    }
}

/// The recorded version: 0 when the database has none of our tables yet.
pub(crate) async fn current_version(client: &Client) -> Result<i64, Error> {
    match client.query_one(READ_VERSION, &[]).await {
        Ok(row) => Ok(row.try_get::<_, Option<i64>>(0)?.unwrap_or(0)),
        Err(error) if error.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(0),
        Err(error) => Err(error.into()),
    }
}

async fn migrate_once(client: &mut Client) -> Result<(), Error> {
    let found = current_version(client).await?;
    if found > VERSION {
        return Err(Error::NewerSchema {
            found,
            known: VERSION,
        });
    }
    if found == VERSION {
        return Ok(());
    }
    client.batch_execute(CREATE_VERSION_TABLE).await?;
    let transaction = client.transaction().await?;
    // Read again inside the transaction: another instance may have migrated meanwhile.
    let row = transaction.query_one(READ_VERSION, &[]).await?;
    let found = row.try_get::<_, Option<i64>>(0)?.unwrap_or(0);
    if found > VERSION {
        return Err(Error::NewerSchema {
            found,
            known: VERSION,
        });
    }
    for (version, statements) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        for statement in *statements {
            transaction.batch_execute(statement).await?;
        }
        transaction.execute(RECORD_VERSION, &[version]).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Another instance created the same table or recorded the same version first.
fn lost_a_race(error: &Error) -> bool {
    error.class() == Class::Serialization
        || matches!(
            error.code(),
            Some(code) if *code == SqlState::UNIQUE_VIOLATION
                || *code == SqlState::DUPLICATE_TABLE
                || *code == SqlState::DUPLICATE_OBJECT
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_one_to_the_known_version() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(versions, (1..=VERSION).collect::<Vec<_>>());
    }
}
