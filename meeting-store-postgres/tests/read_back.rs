//! Everything the service accepts reads back, from another store instance on
//! the same database: nothing of it may be only in the writer's memory.

use meeting_tests::postgres;

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::limits::JSON_MAX_DEPTH;
use meeting_core::{MeetingStore, OnlineMeeting};
use meeting_store_postgres::PostgresStore;
use std::sync::Arc;

/// The deepest nesting of arrays and objects in `json`, outside strings.
fn depth(json: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for byte in json.bytes() {
        match (in_string, escaped, byte) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') | (false, _, b'"') => in_string = !in_string,
            (false, _, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b']' | b'}') => depth -= 1,
            _ => {}
        }
    }
    deepest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_meeting_nested_to_the_accepted_depth_reads_back_from_another_instance() {
    let k = key("t", "u", "deep");
    let mut meeting = sample_meeting(&k, 1);
    // The attendee's user identity is six levels down; its extra takes the rest.
    let extra =
        (0..JSON_MAX_DEPTH - 6).fold(serde_json::json!(0), |inner, _| serde_json::json!([inner]));
    meeting.participants.attendees[0]
        .identity
        .as_mut()
        .and_then(|identity| identity.user.as_mut())
        .expect("the sample's first attendee is a user")
        .additional
        .insert("deep".into(), extra);
    let stored = serde_json::to_string(&meeting).unwrap();
    assert_eq!(depth(&stored), JSON_MAX_DEPTH);
    assert!(
        serde_json::from_str::<OnlineMeeting>(&stored).is_err(),
        "serde_json's default limit refuses this depth: the case this test is about"
    );

    let url = postgres::fresh_database().await;
    let writer = PostgresStore::connect(&url).await.unwrap();
    let created = writer.create_or_get(&k, &|| meeting.clone()).await.unwrap();
    assert!(created.is_created());
    drop(writer);

    let reader = PostgresStore::connect(&url).await.unwrap();
    let by_id = reader.get(&meeting.id).await.expect("read back by id");
    assert_eq!(by_id.as_deref(), Some(&meeting));
    let by_key = reader.get_by_key(&k).await.expect("read back by key");
    assert_eq!(by_key.as_deref(), Some(&meeting));
    let again = reader
        .create_or_get(&k, &|| sample_meeting(&k, 2))
        .await
        .expect("found again");
    assert!(!again.is_created());
    assert_eq!(*again.meeting(), meeting);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn accepted_requests_read_back_through_a_new_store_instance() {
    let url = postgres::fresh_database().await;
    meeting_tests::read_back::accepted_requests_read_back(24, || {
        let url = url.clone();
        async move {
            let store = PostgresStore::connect(&url)
                .await
                .expect("a new store instance on the test database");
            Arc::new(store) as Arc<dyn MeetingStore>
        }
    })
    .await;
}
