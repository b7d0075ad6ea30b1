//! The tables, and the migrations that make them, recorded by version.
//!
//! Plain SQL only (no advisory locks, no PL/pgSQL), so that CockroachDB and
//! YugabyteDB run it too. Instances that start together may migrate at the
//! same moment: the loser's transaction fails on a unique key or an existing
//! table, and a retry finds the winner's version.

use crate::error::{Class, Error};
use meeting_core::OnlineMeeting;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Transaction};

/// The newest schema version this build knows.
pub(crate) const VERSION: i64 = 3;

/// One step of a migration.
enum Step {
    /// A statement.
    Sql(&'static str),
    /// Fills `join_meeting_id` from each stored meeting's JSON. Done here, not
    /// in SQL: PostgreSQL's json functions refuse the `\u0000` a meeting may hold.
    BackfillJoinMeetingIds,
    /// Fills `join_web_url` with each stored meeting's join link in canonical
    /// form (`meeting_core::join_web_url_key`), which SQL cannot compute.
    BackfillJoinWebUrls,
}

/// Each version's steps, applied in one transaction with its version row.
const MIGRATIONS: &[(i64, &[Step])] = &[
    (
        1,
        &[
            // TEXT, not JSONB: a meeting's JSON may hold \u0000, which jsonb refuses,
            // and text keeps member order, which jsonb does not.
            Step::Sql(
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
            ),
        ],
    ),
    (
        2,
        &[
            // Each meeting's joinMeetingId beside its JSON, unique where present
            // (NULL for meetings stored without one): a lookup by join id is one
            // probe of the index.
            Step::Sql("ALTER TABLE online_meetings ADD COLUMN join_meeting_id TEXT"),
            Step::BackfillJoinMeetingIds,
            // Two stored meetings with one join id (possible only before this
            // index): the earlier stored keeps it in the index.
            Step::Sql(
                "UPDATE online_meetings SET join_meeting_id = NULL WHERE id IN (
                SELECT id FROM (
                    SELECT id, row_number() OVER (
                        PARTITION BY join_meeting_id ORDER BY created_at, id
                    ) AS place
                    FROM online_meetings WHERE join_meeting_id IS NOT NULL
                ) AS ranked WHERE place > 1
            )",
            ),
            Step::Sql(
                "CREATE UNIQUE INDEX online_meetings_join_meeting_id
                ON online_meetings (join_meeting_id) WHERE join_meeting_id IS NOT NULL",
            ),
        ],
    ),
    (
        3,
        &[
            // Each meeting's join link beside its JSON, indexed by lower(): a
            // lookup by link is one probe of the index, whose few candidates
            // are then compared in canonical form (which changes only ASCII
            // case, so lower() never misses one). Not unique: nothing requires
            // two meetings' links to differ.
            Step::Sql("ALTER TABLE online_meetings ADD COLUMN join_web_url TEXT"),
            Step::BackfillJoinWebUrls,
            Step::Sql(
                "CREATE INDEX online_meetings_join_web_url
                ON online_meetings (lower(join_web_url))",
            ),
        ],
    ),
];

/// The name of the unique constraint on `id`, which a violation names.
pub(crate) const ID_CONSTRAINT: &str = "online_meetings_id";

/// The name of the unique index on `join_meeting_id`, which a violation names.
pub(crate) const JOIN_MEETING_ID_INDEX: &str = "online_meetings_join_meeting_id";

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
    for (version, steps) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        for step in *steps {
            match step {
                Step::Sql(statement) => transaction.batch_execute(statement).await?,
                Step::BackfillJoinMeetingIds => {
                    backfill(&transaction, "join_meeting_id", |meeting| {
                        meeting.join_meeting_id().map(str::to_owned)
                    })
                    .await?
                }
                Step::BackfillJoinWebUrls => {
                    backfill(&transaction, "join_web_url", |meeting| {
                        Some(meeting_core::join_web_url_key(&meeting.join_web_url).into_owned())
                    })
                    .await?
                }
            }
        }
        transaction.execute(RECORD_VERSION, &[version]).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Sets `column` of every stored meeting for which `value` gives one, a page
/// of rows at a time. A meeting that does not parse keeps NULL (reading it
/// reports it corrupt, by its id), and so does a value PostgreSQL text cannot hold.
async fn backfill(
    transaction: &Transaction<'_>,
    column: &'static str,
    value: impl Fn(&OnlineMeeting) -> Option<String>,
) -> Result<(), Error> {
    const PAGE: i64 = 1_000;
    let select = transaction
        .prepare("SELECT id, meeting FROM online_meetings WHERE id > $1 ORDER BY id LIMIT $2")
        .await?;
    let update = transaction
        .prepare(&format!(
            "UPDATE online_meetings AS stored SET {column} = found.value
             FROM unnest($1::text[], $2::text[]) AS found (id, value)
             WHERE stored.id = found.id"
        ))
        .await?;
    // Every stored id sorts after '' in any collation.
    let mut after = String::new();
    loop {
        let rows = transaction.query(&select, &[&after, &PAGE]).await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.try_get(0)?;
        let (mut ids, mut values) = (Vec::new(), Vec::new());
        for row in &rows {
            let meeting = OnlineMeeting::from_stored_json(row.try_get::<_, &str>(1)?).ok();
            let found = meeting.as_ref().and_then(&value);
            if let Some(found) = found.filter(|found| !found.contains('\0')) {
                ids.push(row.try_get::<_, String>(0)?);
                values.push(found);
            }
        }
        if !ids.is_empty() {
            transaction.execute(&update, &[&ids, &values]).await?;
        }
    }
}

/// Another instance created the same table or column, or recorded the same version, first.
fn lost_a_race(error: &Error) -> bool {
    error.class() == Class::Serialization
        || matches!(
            error.code(),
            Some(code) if *code == SqlState::UNIQUE_VIOLATION
                || *code == SqlState::DUPLICATE_TABLE
                || *code == SqlState::DUPLICATE_OBJECT
                || *code == SqlState::DUPLICATE_COLUMN
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
