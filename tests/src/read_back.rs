//! Whatever the service accepts, a store reads back: random valid requests at
//! the bounds of spec section 2 are created through one store instance, then
//! read from a new one. Every store's tests run [`accepted_requests_read_back`]
//! with its caches off, reopening the same file or database, and
//! [`a_meeting_nested_to_the_limit_reads_back`].

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::limits::{
    ATTENDEES_MAX, EXTERNAL_ID_MAX_CHARS, JSON_MAX_DEPTH, SUBJECT_MAX_CHARS,
};
use meeting_core::{
    CreateOrGetRequest, MeetingKey, MeetingService, MeetingStore, OnlineMeeting, Profile, Target,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::sync::Arc;

/// Depth of an attendee's `identity.user` object in a request body (and in a
/// stored meeting): body, participants, attendees, the attendee, identity, user.
const USER_DEPTH: usize = 6;

/// Characters that stress every layer: ASCII, quotes and backslashes,
/// two-byte, three-byte and astral (four-byte) code points, format characters
/// (Cf, allowed in keys: zero-width space, byte-order mark, right-to-left
/// override) and a non-character.
fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('é'),
        1 => Just('\u{200b}'),
        1 => Just('\u{feff}'),
        1 => Just('\u{202e}'),
        1 => Just('中'),
        1 => Just('😀'),
        1 => Just('\u{10ffff}'),
        1 => Just('\u{fffe}'),
    ]
}

/// [`text_char`]s and control characters (Cc: NUL, C0, DEL, C1), which every
/// member but `externalId` may hold.
fn free_text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        10 => text_char(),
        1 => Just('\u{0}'),
        1 => Just('\n'),
        1 => Just('\u{1b}'),
        1 => Just('\u{7f}'),
        1 => Just('\u{85}'),
    ]
}

fn text(lengths: impl Strategy<Value = usize>) -> impl Strategy<Value = String> {
    lengths
        .prop_flat_map(|n| proptest::collection::vec(text_char(), n))
        .prop_map(|chars| chars.into_iter().collect())
}

fn free_text(lengths: impl Strategy<Value = usize>) -> impl Strategy<Value = String> {
    lengths
        .prop_flat_map(|n| proptest::collection::vec(free_text_char(), n))
        .prop_map(|chars| chars.into_iter().collect())
}

/// Lengths at a limit, one short of it, and anywhere below.
fn up_to(limit: usize) -> impl Strategy<Value = usize> {
    prop_oneof![Just(limit), Just(limit - 1), 1..limit]
}

/// A JSON value nested exactly `levels` deep (0 is a scalar), alternating
/// arrays and objects, with unicode member names.
fn nested(levels: usize, name: String) -> Value {
    (0..levels).fold(json!(name.clone()), |inner, level| {
        if level % 2 == 0 {
            json!([inner, 1.5e300, null])
        } else {
            let mut object = Map::new();
            object.insert(name.clone(), inner);
            Value::Object(object)
        }
    })
}

/// An identity with open-type extras, one of them `extra_levels` deep.
fn identity(id: String, name: String, extra_levels: usize) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.identity",
        "id": id,
        "displayName": name.clone(),
        "tenantId": "72f988bf-86f1-41af-91ab-2d7cd0110000",
        // A name that collides with a declared member in another case.
        "DisplayName": name.clone(),
        "extra": nested(extra_levels, name),
    })
}

/// A valid createOrGet body at the bounds: `externalId` up to 256 characters,
/// a subject up to 1,024 (control characters in it and in other strings), up to 1,000 attendees (user, application and device
/// identities) and open-type extras nested to the 128-level limit.
pub fn edge_request() -> impl Strategy<Value = String> {
    let attendees = prop_oneof![3 => 0usize..4, 1 => Just(ATTENDEES_MAX)];
    (
        text(up_to(EXTERNAL_ID_MAX_CHARS)),
        proptest::option::of(free_text(up_to(SUBJECT_MAX_CHARS))),
        free_text(1usize..40),
        attendees,
        prop_oneof![
            Just(JSON_MAX_DEPTH - USER_DEPTH),
            0..=JSON_MAX_DEPTH - USER_DEPTH
        ],
    )
        .prop_map(|(external_id, subject, name, attendees, extra_levels)| {
            let attendees: Vec<Value> = (0..attendees)
                .map(|i| {
                    // Only one attendee carries the deepest extra: 1,000 of them would not add to what is tested.
                    let levels = if i == 0 { extra_levels } else { 1 };
                    let identity = match i % 3 {
                        0 => json!({ "user": identity(format!("user-{i}"), name.clone(), levels) }),
                        1 => json!({ "application": identity(format!("app-{i}"), name.clone(), levels), "note": name.clone() }),
                        _ => json!({ "device": identity(format!("device-{i}"), name.clone(), levels) }),
                    };
                    json!({ "identity": identity, "upn": format!("{name}@contoso.com"), "role": "attendee" })
                })
                .collect();
            let mut body = json!({
                "externalId": external_id,
                "participants": { "attendees": attendees },
                "unknownMember": nested(3, name),
            });
            if let Some(subject) = subject {
                body["subject"] = json!(subject);
            }
            body.to_string()
        })
        .prop_filter("externalId has no control characters", |body| {
            CreateOrGetRequest::from_json(body.as_bytes()).is_ok()
        })
}

/// Creates `cases` meetings from [`edge_request`] bodies through a store from
/// `open`, then reads each back through a new store from `open`, by id and by
/// key, and asks for it again, in its profile and in the other: every meeting
/// must come back equal, as the existing one. `open` must reach the same data each time, with every cache
/// of the store off, so that the second instance reads what the first wrote.
pub async fn accepted_requests_read_back<F, Fut>(cases: u32, mut open: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn MeetingStore>>,
{
    let caller = crate::seed::caller();
    let mut runner = TestRunner::deterministic();
    let strategy = edge_request();
    let mut created: Vec<(CreateOrGetRequest, Profile, Arc<OnlineMeeting>)> = Vec::new();
    {
        let service = MeetingService::new(open().await);
        for case in 0..cases {
            let body = strategy
                .new_tree(&mut runner)
                .expect("the strategy makes a value")
                .current();
            let request = CreateOrGetRequest::from_json(body.as_bytes())
                .unwrap_or_else(|error| panic!("case {case} is a valid request: {error}"));
            let profile = if case % 2 == 0 {
                Profile::V1
            } else {
                Profile::Beta
            };
            let outcome = service
                .create_or_get(&caller, Target::Me, profile, &request)
                .await
                .unwrap_or_else(|error| panic!("case {case} is stored: {error}"));
            // An externalId drawn twice names one meeting: only the first is new.
            if outcome.is_created() {
                created.push((request, profile, outcome.into_meeting()));
            }
        }
    }
    assert!(!created.is_empty(), "at least one meeting was created");

    let store = open().await;
    let service = MeetingService::new(Arc::clone(&store));
    for (request, profile, meeting) in &created {
        let what = format!("meeting {}", meeting.id);
        let by_id = store.get(&meeting.id).await.expect(&what);
        assert_eq!(by_id.as_deref(), Some(&**meeting), "{what} by id");
        let key = MeetingKey {
            tenant: caller.tenant.clone(),
            user: caller.user.clone(),
            external_id: meeting.external_id.clone(),
        };
        let by_key = store.get_by_key(&key).await.expect(&what);
        assert_eq!(by_key.as_deref(), Some(&**meeting), "{what} by key");
        let again = service
            .create_or_get(&caller, Target::Me, *profile, request)
            .await
            .expect(&what);
        assert!(!again.is_created(), "{what} is found again, not created");
        assert_eq!(*again.meeting(), **meeting, "{what} asked for again");
        // The same request through the other profile names the same meeting.
        let other = match profile {
            Profile::Beta => Profile::V1,
            Profile::V1 => Profile::Beta,
        };
        let through_other = service
            .create_or_get(&caller, Target::Me, other, request)
            .await
            .expect(&what);
        assert!(!through_other.is_created(), "{what} through {other:?}");
        assert_eq!(
            *through_other.meeting(),
            **meeting,
            "{what} through {other:?}"
        );
    }
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

/// Stores a meeting whose stored JSON is nested exactly as deep as a request
/// may be (serde_json's own limit refuses it: the case this is about) through
/// a store from `open`, and reads it back from another: by id, by key, and as
/// the existing meeting.
pub async fn a_meeting_nested_to_the_limit_reads_back<F, Fut>(mut open: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn MeetingStore>>,
{
    let k = key("t", "u", "deep");
    let mut meeting = sample_meeting(&k, 1);
    // The attendee's user identity is six levels down; its extra takes the rest.
    let extra = (0..JSON_MAX_DEPTH - 6).fold(json!(0), |inner, _| json!([inner]));
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

    let writer = open().await;
    let created = writer.create_or_get(&k, &|| meeting.clone()).await.unwrap();
    assert!(created.is_created());
    drop(writer);

    let reader = open().await;
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
