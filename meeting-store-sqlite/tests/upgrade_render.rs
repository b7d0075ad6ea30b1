//! Meetings stored before v1.0's members existed render in both profiles:
//! every meeting of `tests/fixtures/v1.db` (written by the first release)
//! shows the seed's members on `beta` and Graph's v1.0 `onlineMeeting` on
//! `v1.0`, checked member by member against Microsoft's models.

mod support;

use meeting_core::render::view;
use meeting_core::{MeetingStore, Profile};
use meeting_store_sqlite::{SqliteOptions, SqliteStore};
use meeting_tests::graph_types::assert_shape;
use serde_json::Value;
use support::database;

#[tokio::test]
async fn every_meeting_of_the_first_release_renders_in_both_profiles() {
    let (_dir, path) = database();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.db");
    std::fs::copy(&fixture, &path).expect("the v1 fixture is there");
    let options = SqliteOptions {
        parsed_cache_bytes: 0,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&path, options).await.expect("opens");
    let meetings = store.list(None, 100).await.expect("lists");
    assert_eq!(meetings.len(), 5, "every meeting of the fixture");

    let seed: Value = serde_json::from_str(meeting_tests::seed::RESPONSE).unwrap();
    let seed_members: Vec<&String> = seed
        .as_object()
        .unwrap()
        .keys()
        .filter(|name| *name != "@odata.context")
        .collect();
    for meeting in &meetings {
        let what = format!("meeting {}", meeting.id);
        let beta = serde_json::to_value(view(meeting, Profile::Beta)).unwrap();
        let beta_members: Vec<&String> = beta.as_object().unwrap().keys().collect();
        assert_eq!(beta_members, seed_members, "{what} on beta");

        let v1 = serde_json::to_value(view(meeting, Profile::V1)).unwrap();
        assert_shape("v1.0", "onlineMeeting", &v1, &what);
        // Stored before meetings had a join id: none is invented.
        assert_eq!(v1["joinMeetingIdSettings"], Value::Null, "{what}");
        assert_eq!(
            v1["allowedPresenters"], "everyone",
            "{what}: Graph's default"
        );
        assert_eq!(v1["id"], meeting.id.as_str(), "{what} keeps its id");
    }
}
