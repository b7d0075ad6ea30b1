//! Files written by earlier builds open and read back: `tests/fixtures/v1.db`
//! was written at schema version 1 by `examples/write_v1_fixture.rs` and is
//! never rewritten. Every later build, whatever its model or schema, must read
//! each of its meetings by id and by key, with their content, after migrating
//! the file to its own schema version.

mod support;

use meeting_core::conformance::{key, sample_meeting, sample_meeting_with_join_id};
use meeting_core::{MeetingId, MeetingKey, MeetingStore, OnlineMeeting, StoreError};
use meeting_store_sqlite::SqliteStore;
use serde_json::Value;
use support::database;

/// What the test knows of one fixture meeting.
struct Expected {
    id: &'static str,
    key: (&'static str, &'static str, &'static str),
    subject: Option<&'static str>,
    attendees: usize,
    /// `(JSON pointer into the meeting's wire form, value)`.
    values: &'static [(&'static str, &'static str)],
}

const SEED_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd0110000";
const SEED_USER: &str = "d4a060b5-a8fc-450c-837b-750b2c280000";
const OTHER_TENANT: &str = "5b1f0d2e-2c7e-4d1c-9a43-0f3e2b1a0000";
const OTHER_USER: &str = "0c9a7f3e-6d2b-4e8a-b1f4-7a2c3d4e0000";

const FIXTURE: &[Expected] = &[
    // The seed's request on beta: audio conferencing, chat info, its start and end.
    Expected {
        id: "d4a060b5-a8fc-450c-837b-750b2c280000_19:meeting_MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAx@thread.v2",
        key: (SEED_TENANT, SEED_USER, "7eb8263f-d0e0-4149-bb1c-1f0476083c56"),
        subject: Some("Create a meeting with customId provided"),
        attendees: 1,
        values: &[
            ("/startDateTime", "2020-02-06T01:49:21.3524945+00:00"),
            ("/endDateTime", "2020-02-06T02:19:21.3524945+00:00"),
            ("/audioConferencing/tollNumber", "555-749-0000"),
            ("/chatInfo/threadId", "19:meeting_MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAx@thread.v2"),
            ("/participants/attendees/0/upn", "test@contoso.com"),
            ("/participants/organizer/identity/user/displayName", "Tyler Stein"),
        ],
    },
    // v1.0, start only; unicode; user, application and device identities with extras.
    Expected {
        id: "d4a060b5-a8fc-450c-837b-750b2c280000_19:meeting_MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDA1@thread.v2",
        key: (SEED_TENANT, SEED_USER, "réunion-会议-😀"),
        subject: Some("Réunion «hebdo» 会议 😀"),
        attendees: 3,
        values: &[
            ("/startDateTime", "2026-03-04T08:30:00.0000000+00:00"),
            ("/endDateTime", "2026-03-04T09:30:00.0000000+00:00"),
            ("/participants/attendees/0/identity/user/favouriteColour/name", "vert"),
            ("/participants/attendees/0/identity/user/displayName", "Zoë"),
            ("/participants/attendees/0/role", "presenter"),
            ("/participants/attendees/1/identity/application/id", "app-1"),
            ("/participants/attendees/1/identity/phone/id", "+1 555 0100"),
            ("/participants/attendees/2/identity/device/id", "device-1"),
        ],
    },
    // beta, externalId only, another tenant: the year-1 defaults.
    Expected {
        id: "0c9a7f3e-6d2b-4e8a-b1f4-7a2c3d4e0000_19:meeting_MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDA5@thread.v2",
        key: (OTHER_TENANT, OTHER_USER, "minimal"),
        subject: None,
        attendees: 0,
        values: &[
            ("/startDateTime", "0001-01-01T00:00:00.0000000+00:00"),
            ("/endDateTime", "0001-01-01T00:00:00.0000000+00:00"),
            ("/participants/organizer/identity/user/displayName", "Ana Łukasiewicz"),
        ],
    },
    // v1.0 with neither start nor end: the clock's now and an hour later.
    Expected {
        id: "0c9a7f3e-6d2b-4e8a-b1f4-7a2c3d4e0000_19:meeting_MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDBk@thread.v2",
        key: (OTHER_TENANT, OTHER_USER, "v1-defaults"),
        subject: Some("Weekly sync"),
        attendees: 1,
        values: &[
            ("/startDateTime", "2026-03-04T08:00:00.0000000+00:00"),
            ("/endDateTime", "2026-03-04T09:00:00.0000000+00:00"),
            ("/participants/attendees/0/identity/user/id", "7a7a7a7a-0000-4000-8000-000000000001"),
        ],
    },
    // The conformance sample: NUL, quotes, astral characters, every optional member.
    Expected {
        id: "user-sample_19:meeting_0000000000000001Ω@thread.v2",
        key: ("tenant-sample", "user-sample", "sample-1"),
        subject: Some("Встреча №1 😀 \"quoted\" \\ \u{0}\t<b>"),
        attendees: 2,
        values: &[
            ("/participants/attendees/0/identity/user/alpha/nested", "ü\u{0}\"x"),
            ("/participants/attendees/0/identity/user/identityProvider", "MSA"),
            ("/participants/organizer/identity/user/displayName", "Тайлер «Stein» 😀"),
            ("/audioConferencing/dialinUrl", "https://dialin.example/x?id=804980000"),
            ("/chatInfo/threadId", "19:meeting_0000000000000001Ω@thread.v2"),
            ("/endDateTime", "9999-12-31T23:59:59.9999999+00:00"),
        ],
    },
];

fn check(expected: &Expected, meeting: &OnlineMeeting) {
    assert_eq!(meeting.id.as_str(), expected.id);
    assert_eq!(meeting.external_id.as_str(), expected.key.2);
    assert_eq!(
        meeting.subject.as_deref(),
        expected.subject,
        "{}",
        expected.id
    );
    assert_eq!(
        meeting.participants.attendees.len(),
        expected.attendees,
        "{}",
        expected.id
    );
    let wire: Value = serde_json::to_value(meeting).unwrap();
    for (pointer, value) in expected.values {
        assert_eq!(
            wire.pointer(pointer).and_then(Value::as_str),
            Some(*value),
            "{} at {pointer}",
            expected.id
        );
    }
}

fn key_of(expected: &Expected) -> MeetingKey {
    let (tenant, user, external_id) = expected.key;
    key(tenant, user, external_id)
}

#[tokio::test]
async fn a_database_written_at_schema_version_1_reads_back_every_meeting_by_id_and_by_key() {
    let (_directory, path) = database();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.db");
    // Opening may migrate the file: the committed fixture itself stays as written.
    std::fs::copy(&fixture, &path).expect("the v1 fixture is there");
    assert_eq!(schema_version(&path), 1);
    let store = SqliteStore::open(&path).await.expect("a v1 file opens");
    for expected in FIXTURE {
        let id = MeetingId::new(expected.id.to_owned());
        let by_id = store.get(&id).await.unwrap().expect("found by id");
        check(expected, &by_id);
        let by_key = store
            .get_by_key(&key_of(expected))
            .await
            .unwrap()
            .expect("found by key");
        check(expected, &by_key);
        assert_eq!(by_key, by_id);
        let again = store
            .create_or_get(&key_of(expected), &|| unreachable!("the key has a meeting"))
            .await
            .unwrap();
        assert!(!again.is_created());
        check(expected, again.meeting());
    }
    // Nothing else was in the file.
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let count: usize = raw
        .query_row("SELECT count(*) FROM meetings", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, FIXTURE.len());
    // Migrated to the current version: the join id index is there, and empty,
    // as these meetings were stored before meetings had a join id.
    drop(raw);
    assert_eq!(schema_version(&path), CURRENT_VERSION);
    assert_join_meeting_id_index(&path);
    assert_eq!(join_meeting_ids(&path), vec![None; FIXTURE.len()]);
}

/// The schema version this build migrates every file to.
const CURRENT_VERSION: i64 = 3;

/// `PRAGMA user_version` of the file at `path`.
fn schema_version(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

/// The file has the unique index on `join_meeting_id`, for rows that have one.
fn assert_join_meeting_id_index(path: &std::path::Path) {
    let raw = rusqlite::Connection::open(path).unwrap();
    let sql: String = raw
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = 'meetings_join_meeting_id'",
            [],
            |row| row.get(0),
        )
        .expect("the join id index exists");
    let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        sql,
        "CREATE UNIQUE INDEX meetings_join_meeting_id ON meetings (join_meeting_id) WHERE join_meeting_id IS NOT NULL"
    );
}

/// Each row's `join_meeting_id`, in the order the rows were stored.
fn join_meeting_ids(path: &std::path::Path) -> Vec<Option<String>> {
    let raw = rusqlite::Connection::open(path).unwrap();
    let mut statement = raw
        .prepare("SELECT join_meeting_id FROM meetings ORDER BY rowid")
        .unwrap();
    let ids = statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    ids
}

/// Stores `meeting` under `key` in a version 1 file, as a build of that schema did.
fn insert_v1(raw: &rusqlite::Connection, key: &MeetingKey, id: &str, json: &str) {
    raw.execute(
        "INSERT INTO meetings (id, tenant_id, user_id, external_id, meeting) VALUES (?1, ?2, ?3, ?4, ?5)",
        (id, key.tenant.as_str(), key.user.as_str(), key.external_id.as_str(), json),
    )
    .unwrap();
}

/// Builds between the v1.0 model and schema version 2 stored join ids in the
/// JSON only: the migration copies each into the indexed column (the earlier
/// stored keeps one that two meetings share; JSON that does not parse keeps
/// none and does not stop the migration), and the index then refuses a new
/// meeting with a backfilled join id.
#[tokio::test]
async fn the_migration_to_version_2_fills_the_join_id_index_from_the_stored_json() {
    let (_directory, path) = database();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.db");
    std::fs::copy(&fixture, &path).expect("the v1 fixture is there");
    let keys: Vec<MeetingKey> = (0..5)
        .map(|n| key("tenant-v1", "user-v1", &format!("joined-{n}")))
        .collect();
    let meetings = [
        sample_meeting_with_join_id(&keys[0], 100, Some("111111111111")),
        sample_meeting_with_join_id(&keys[1], 101, Some("222222222222")),
        // Shares the first's join id: stored later, so it keeps none in the index.
        sample_meeting_with_join_id(&keys[2], 102, Some("111111111111")),
        sample_meeting_with_join_id(&keys[3], 103, None),
    ];
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        for (key, meeting) in keys.iter().zip(&meetings) {
            insert_v1(
                &raw,
                key,
                meeting.id.as_str(),
                &serde_json::to_string(meeting).unwrap(),
            );
        }
        insert_v1(
            &raw,
            &keys[4],
            "user-v1_broken",
            "{\"joinMeetingIdSettings\": {\"joinMeetingId\": \"3",
        );
    }
    assert_eq!(schema_version(&path), 1);

    let store = SqliteStore::open(&path)
        .await
        .expect("the v1 file migrates");
    let mut expected = vec![None; FIXTURE.len()];
    expected.extend([
        Some("111111111111".to_owned()),
        Some("222222222222".to_owned()),
        None,
        None,
        None,
    ]);
    assert_eq!(join_meeting_ids(&path), expected);
    assert_eq!(schema_version(&path), CURRENT_VERSION);
    assert_join_meeting_id_index(&path);

    for (key, meeting) in keys.iter().zip(&meetings) {
        let found = store.get_by_key(key).await.unwrap().expect("found by key");
        assert_eq!(*found, *meeting, "the stored meeting reads back unchanged");
    }
    let broken = store.get(&MeetingId::new("user-v1_broken")).await;
    assert!(
        matches!(broken, Err(StoreError::Corrupt { .. })),
        "{broken:?}"
    );

    let newcomer = key("tenant-v1", "user-v1", "newcomer");
    let taken = sample_meeting_with_join_id(&newcomer, 200, Some("222222222222"));
    let refused = store.create_or_get(&newcomer, &|| taken.clone()).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    let free = sample_meeting(&newcomer, 201);
    assert!(store
        .create_or_get(&newcomer, &|| free.clone())
        .await
        .unwrap()
        .is_created());
}

/// The migration to version 3 indexes every stored meeting's join link from
/// its JSON: each meeting of the first release's file is then found by its
/// link (in any case of its escapes), and a row whose JSON does not parse
/// gets none and does not stop the migration.
#[tokio::test]
async fn the_migration_to_version_3_indexes_the_join_links_of_stored_meetings() {
    let (_directory, path) = database();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.db");
    std::fs::copy(&fixture, &path).expect("the v1 fixture is there");
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        insert_v1(
            &raw,
            &key("tenant-v1", "user-v1", "broken-link"),
            "user-v1_broken-link",
            "{\"joinWebUrl\": \"https://teams",
        );
    }
    let store = SqliteStore::open(&path)
        .await
        .expect("the v1 file migrates");
    assert_eq!(schema_version(&path), CURRENT_VERSION);
    for expected in FIXTURE {
        let meeting = store
            .get(&MeetingId::new(expected.id))
            .await
            .unwrap()
            .expect("stored");
        let asked = meeting.join_web_url.replace("%3a", "%3A");
        let found = store
            .find_by_join_web_url(&meeting_core::join_web_url_key(&asked))
            .await
            .unwrap();
        assert_eq!(
            found.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
            vec![meeting.id.clone()],
            "{} is found by its join link",
            meeting.id
        );
    }
    let raw = rusqlite::Connection::open(&path).unwrap();
    let broken: Option<String> = raw
        .query_row(
            "SELECT join_web_url FROM meetings WHERE id = 'user-v1_broken-link'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(broken, None);
}
