//! A database at schema version 1 (what builds before the join id index
//! wrote) migrates to the current version: every readable meeting's join link
//! is indexed (version 3), and meetings whose JSON holds a
//! `joinMeetingId` (stored between the v1.0 model and schema version 2) get it
//! in the indexed column, and the index then refuses it to a new meeting.

use meeting_tests::postgres;

use meeting_core::conformance::{key, sample_meeting, sample_meeting_with_join_id};
use meeting_core::{MeetingId, MeetingKey, MeetingStore, OnlineMeeting, StoreError};
use meeting_store_postgres::PostgresStore;

/// Schema version 1 as its build created it, recorded as such.
const V1_SCHEMA: &str = "
    CREATE TABLE meeting_store_schema (
        version BIGINT PRIMARY KEY,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE online_meetings (
        tenant_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        external_id TEXT NOT NULL,
        id TEXT NOT NULL,
        meeting TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT online_meetings_key PRIMARY KEY (tenant_id, user_id, external_id),
        CONSTRAINT online_meetings_id UNIQUE (id)
    );
    INSERT INTO meeting_store_schema (version) VALUES (1);";

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
}

/// Stores a row as a version 1 build did, at `second` seconds into 2026.
async fn insert_v1(
    client: &tokio_postgres::Client,
    key: &MeetingKey,
    id: &str,
    json: &str,
    second: u32,
) {
    client
        .execute(
            "INSERT INTO online_meetings (tenant_id, user_id, external_id, id, meeting, created_at)
             VALUES ($1, $2, $3, $4, $5, '2026-01-01T00:00:00Z'::timestamptz + make_interval(secs => $6))",
            &[
                &key.tenant.as_str(),
                &key.user.as_str(),
                &key.external_id.as_str(),
                &id,
                &json,
                &f64::from(second),
            ],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_version_1_database_migrates_and_fills_the_join_id_index_from_the_stored_json() {
    let url = postgres::fresh_database().await;
    let client = admin(&url).await;
    client.batch_execute(V1_SCHEMA).await.unwrap();
    let keys: Vec<MeetingKey> = (0..5)
        .map(|n| key("tenant", "user", &format!("joined-{n}")))
        .collect();
    // Each sample's JSON holds \u0000 escapes, which PostgreSQL's json functions refuse.
    let meetings: Vec<OnlineMeeting> = vec![
        sample_meeting_with_join_id(&keys[0], 100, Some("111111111111")),
        sample_meeting_with_join_id(&keys[1], 101, Some("222222222222")),
        sample_meeting_with_join_id(&keys[2], 102, None),
        // Shares the first's join id, and its id sorts first: stored later, so
        // it keeps no join id in the index.
        sample_meeting_with_join_id(&keys[3], 99, Some("111111111111")),
    ];
    for (second, (key, meeting)) in keys.iter().zip(&meetings).enumerate() {
        let json = serde_json::to_string(meeting).unwrap();
        insert_v1(&client, key, meeting.id.as_str(), &json, second as u32).await;
    }
    let broken = r#"{"joinMeetingIdSettings": {"joinMeetingId": "3"#;
    insert_v1(&client, &keys[4], "user_broken", broken, 10).await;
    assert!(meetings[3].id.as_str() < meetings[0].id.as_str());

    // Instances starting together: one migrates, the others find it done.
    let connects: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for connect in connects {
        stores.push(connect.await.unwrap().expect("every instance starts"));
    }
    let store = &stores[0];
    assert_eq!(
        store.schema_version().await.unwrap(),
        PostgresStore::SCHEMA_VERSION
    );
    let versions: Vec<i64> = client
        .query(
            "SELECT version FROM meeting_store_schema ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        versions,
        (1..=PostgresStore::SCHEMA_VERSION).collect::<Vec<_>>()
    );

    let index: String = client
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'online_meetings_join_meeting_id'",
            &[],
        )
        .await
        .expect("the join id index exists")
        .get(0);
    assert!(
        index.starts_with("CREATE UNIQUE INDEX")
            && index.ends_with("(join_meeting_id) WHERE (join_meeting_id IS NOT NULL)"),
        "{index}"
    );

    let join_id_of = |id: String| {
        let client = &client;
        async move {
            client
                .query_one(
                    "SELECT join_meeting_id FROM online_meetings WHERE id = $1",
                    &[&id],
                )
                .await
                .unwrap()
                .get::<_, Option<String>>(0)
        }
    };
    let mut filled = Vec::new();
    for meeting in &meetings {
        filled.push(join_id_of(meeting.id.to_string()).await);
    }
    filled.push(join_id_of("user_broken".to_owned()).await);
    assert_eq!(
        filled,
        [
            Some("111111111111".to_owned()),
            Some("222222222222".to_owned()),
            None,
            None,
            None
        ]
    );

    for (key, meeting) in keys.iter().zip(&meetings) {
        let found = store.get_by_key(key).await.unwrap().expect("found by key");
        assert_eq!(*found, *meeting, "the stored meeting reads back unchanged");
    }
    let broken = store.get(&MeetingId::new("user_broken")).await;
    assert!(
        matches!(broken, Err(StoreError::Corrupt { .. })),
        "{broken:?}"
    );

    // Version 3 indexed every readable meeting's join link from its JSON.
    for meeting in &meetings {
        let asked = meeting
            .join_web_url
            .replace("https://teams.example", "HTTPS://Teams.Example");
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
    let broken_link: Option<String> = client
        .query_one(
            "SELECT join_web_url FROM online_meetings WHERE id = 'user_broken'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(broken_link, None);

    let newcomer = key("tenant", "user", "newcomer");
    let taken = sample_meeting_with_join_id(&newcomer, 200, Some("222222222222"));
    let refused = store.create_or_get(&newcomer, &|| taken.clone()).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    let free = sample_meeting(&newcomer, 201);
    let created = store.create_or_get(&newcomer, &|| free.clone()).await;
    assert!(created.unwrap().is_created());
}
