//! Everything the service accepts reads back from the file, after a reopen,
//! with no parsed meeting kept: nothing of it may be only in memory.

mod support;

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::limits::JSON_MAX_DEPTH;
use meeting_core::{MeetingStore, OnlineMeeting};
use meeting_store_sqlite::{SqliteOptions, SqliteStore};
use std::path::Path;
use std::sync::Arc;
use support::database;

/// A store on `path` that parses every row it reads.
async fn uncached(path: &Path) -> SqliteStore {
    let options = SqliteOptions {
        parsed_cache_bytes: 0,
        ..SqliteOptions::default()
    };
    SqliteStore::open_with(path, options)
        .await
        .expect("the store opens")
}

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

#[tokio::test]
async fn a_meeting_nested_to_the_accepted_depth_reads_back_after_a_reopen() {
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

    let (_directory, path) = database();
    let writer = uncached(&path).await;
    let created = writer.create_or_get(&k, &|| meeting.clone()).await.unwrap();
    assert!(created.is_created());
    drop(writer);

    let reader = uncached(&path).await;
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
async fn accepted_requests_read_back_after_a_reopen_with_the_cache_off() {
    let (_directory, path) = database();
    meeting_tests::read_back::accepted_requests_read_back(24, || {
        let path = path.clone();
        async move { Arc::new(uncached(&path).await) as Arc<dyn MeetingStore> }
    })
    .await;
}
