//! Property tests: any valid meeting survives a JSON round trip, and no input
//! panics the request parser.

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::model::{AdditionalMembers, Identity, MeetingParticipantInfo, OnlineMeetingRole};
use meeting_core::{CreateOrGetRequest, DateTimeOffset, ExternalId, OnlineMeeting};
use proptest::prelude::*;
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Extras whose names do not collide with the declared members.
fn extras() -> impl Strategy<Value = AdditionalMembers> {
    prop::collection::vec(("x[a-zA-Z0-9_]{0,8}", json_value()), 0..4)
        .prop_map(|members| members.into_iter().collect())
}

fn date_time() -> impl Strategy<Value = DateTimeOffset> {
    // Whole 100 ns ticks between 0001-01-01 and 9999-12-31.
    (-62_135_596_800i64..253_402_300_799, 0u32..10_000_000).prop_map(|(secs, ticks)| {
        DateTimeOffset::from_utc(chrono::DateTime::from_timestamp(secs, ticks * 100).unwrap())
            .unwrap()
    })
}

fn identity() -> impl Strategy<Value = Identity> {
    (
        any::<Option<String>>(),
        any::<Option<String>>(),
        any::<Option<String>>(),
        any::<Option<String>>(),
        extras(),
    )
        .prop_map(
            |(id, tenant_id, display_name, identity_provider, additional)| Identity {
                id,
                tenant_id,
                display_name,
                identity_provider,
                additional,
                ..Identity::default()
            },
        )
}

fn participant() -> impl Strategy<Value = MeetingParticipantInfo> {
    let role = prop::option::of(prop_oneof![
        Just(OnlineMeetingRole::Attendee),
        Just(OnlineMeetingRole::Presenter),
        Just(OnlineMeetingRole::UnknownFutureValue),
        Just(OnlineMeetingRole::Producer),
        Just(OnlineMeetingRole::Coorganizer),
    ]);
    (
        prop::option::of(identity()),
        prop::option::of(identity()),
        extras(),
        any::<Option<String>>(),
        role,
    )
        .prop_map(
            |(user, application, additional, upn, role)| MeetingParticipantInfo {
                identity: Some(meeting_core::model::IdentitySet {
                    user,
                    application,
                    additional,
                    ..Default::default()
                }),
                upn,
                role,
                ..Default::default()
            },
        )
}

fn meeting() -> impl Strategy<Value = OnlineMeeting> {
    (
        "[^\u{0}-\u{1f}\u{7f}-\u{9f}]{1,40}",
        any::<Option<String>>(),
        (date_time(), date_time(), date_time()),
        prop::collection::vec(participant(), 0..3),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(external_id, subject, (created, start, end), attendees, broadcast, n)| {
                let key = key("tenant", "user", &external_id);
                let mut meeting = sample_meeting(&key, n);
                meeting.external_id = ExternalId::new(external_id).unwrap();
                meeting.subject = subject;
                meeting.creation_date_time = created;
                meeting.start_date_time = start;
                meeting.end_date_time = end;
                meeting.participants.attendees = attendees;
                meeting.is_broadcast = broadcast;
                meeting
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_valid_meeting_survives_serialize_then_deserialize_unchanged(meeting in meeting()) {
        let json = serde_json::to_string(&meeting).unwrap();
        let back: OnlineMeeting = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &meeting);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_request_parser(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = CreateOrGetRequest::from_json(&bytes);
    }

    #[test]
    fn arbitrary_json_values_never_panic_the_request_parser(value in json_value()) {
        let _ = CreateOrGetRequest::from_json(value.to_string().as_bytes());
    }

    #[test]
    fn arbitrary_values_in_known_members_never_panic_the_request_parser(
        member in prop::sample::select(vec![
            "externalId", "subject", "startDateTime", "endDateTime", "participants", "chatInfo",
        ]),
        value in json_value(),
        nested in json_value(),
    ) {
        let body = serde_json::json!({
            "externalId": "k",
            member: value,
            "participants": { "attendees": [ { "identity": { "user": nested } } ] },
        });
        let _ = CreateOrGetRequest::from_json(body.to_string().as_bytes());
    }
}

#[tokio::test]
async fn accepted_requests_read_back_through_the_memory_store() {
    let store: std::sync::Arc<dyn meeting_core::MeetingStore> =
        std::sync::Arc::new(meeting_store_memory::MemoryStore::new());
    meeting_tests::read_back::accepted_requests_read_back(24, || {
        let store = std::sync::Arc::clone(&store);
        async move { store }
    })
    .await;
}

#[tokio::test]
async fn a_meeting_nested_to_the_limit_reads_back_from_the_memory_store() {
    let store: std::sync::Arc<dyn meeting_core::MeetingStore> =
        std::sync::Arc::new(meeting_store_memory::MemoryStore::new());
    meeting_tests::read_back::a_meeting_nested_to_the_limit_reads_back(|| {
        let store = std::sync::Arc::clone(&store);
        async move { store }
    })
    .await;
}
