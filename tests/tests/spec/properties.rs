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

/// Characters a key or a subject may hold that stress every layer: ASCII,
/// two- and three-byte, astral (four bytes, two UTF-16 units), format
/// characters (Cf: zero-width space, byte-order mark, right-to-left
/// override), a private-use astral and the last code point.
fn edge_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => proptest::char::range('a', 'z'),
        1 => Just('"'),
        1 => Just('\\'),
        1 => Just('é'),
        1 => Just('中'),
        1 => Just('😀'),
        1 => Just('\u{200b}'),
        1 => Just('\u{feff}'),
        1 => Just('\u{202e}'),
        1 => Just('\u{f0000}'),
        1 => Just('\u{10ffff}'),
    ]
}

/// Control characters (Unicode category Cc), C0, DEL and C1.
fn control_char() -> impl Strategy<Value = char> {
    prop_oneof![
        Just('\u{0}'),
        Just('\t'),
        Just('\n'),
        Just('\u{1b}'),
        Just('\u{7f}'),
        Just('\u{85}'),
        Just('\u{9f}'),
    ]
}

/// Strings of `len` characters (code points) for each length: a drawn
/// pattern of up to 48 characters from `chars`, repeated (a thousand drawn
/// characters would make each case slow, not more varied).
fn string_of(
    lengths: impl Strategy<Value = usize>,
    chars: impl Strategy<Value = char>,
) -> impl Strategy<Value = String> {
    (lengths, prop::collection::vec(chars, 1..48))
        .prop_map(|(n, pattern)| pattern.iter().cycle().take(n).collect())
}

/// Lengths at a bound, one short of it, one past it, and anywhere below.
fn around(bound: usize) -> impl Strategy<Value = usize> {
    prop_oneof![Just(bound - 1), Just(bound), Just(bound + 1), 1..=bound + 1]
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn service() -> meeting_core::MeetingService {
    super::service()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn external_id_is_kept_exactly_up_to_256_code_points_and_refused_past(
        key in string_of(around(meeting_core::limits::EXTERNAL_ID_MAX_CHARS), edge_char()),
    ) {
        let chars = key.chars().count();
        let body = serde_json::json!({ "externalId": key }).to_string();
        let parsed = CreateOrGetRequest::from_json(body.as_bytes());
        if chars <= 256 {
            let request = parsed.unwrap_or_else(|e| panic!("{chars} characters: {e}"));
            prop_assert_eq!(request.external_id.as_str(), key.as_str());
            let meeting = block_on(super::call(&service(), &super::caller(), meeting_core::Profile::Beta, &body))
                .unwrap()
                .into_meeting();
            prop_assert_eq!(meeting.external_id.as_str(), key.as_str());
            let shown = super::to_value(&meeting);
            prop_assert_eq!(shown["externalId"].as_str(), Some(key.as_str()));
        } else {
            let error = parsed.expect_err("past the bound");
            prop_assert_eq!(error.member_path(), Some("externalId"));
        }
    }

    #[test]
    fn external_id_with_a_control_character_anywhere_is_refused(
        key in string_of(1usize..40, edge_char()),
        control in control_char(),
        at in any::<prop::sample::Index>(),
    ) {
        let mut chars: Vec<char> = key.chars().collect();
        chars.insert(at.index(chars.len() + 1), control);
        let key: String = chars.into_iter().collect();
        let error = CreateOrGetRequest::from_json(
            serde_json::json!({ "externalId": key }).to_string().as_bytes(),
        )
        .expect_err("a control character");
        prop_assert_eq!(error.member_path(), Some("externalId"));
    }

    #[test]
    fn subject_is_kept_exactly_up_to_1024_code_points_and_refused_past(
        subject in string_of(
            around(meeting_core::limits::SUBJECT_MAX_CHARS),
            prop_oneof![6 => edge_char(), 1 => control_char()],
        ),
    ) {
        let chars = subject.chars().count();
        let body = serde_json::json!({ "externalId": "k", "subject": subject }).to_string();
        let parsed = CreateOrGetRequest::from_json(body.as_bytes());
        if chars <= 1024 {
            let request = parsed.unwrap_or_else(|e| panic!("{chars} characters: {e}"));
            prop_assert_eq!(request.subject.as_deref(), Some(subject.as_str()));
            let meeting = block_on(super::call(&service(), &super::caller(), meeting_core::Profile::V1, &body))
                .unwrap()
                .into_meeting();
            prop_assert_eq!(meeting.subject.as_deref(), Some(subject.as_str()));
        } else {
            let error = parsed.expect_err("past the bound");
            prop_assert_eq!(error.member_path(), Some("subject"));
        }
    }
}

/// A createOrGet body: any key, subject, times (valid or not for a
/// profile), attendees with open-type extras, and unknown members.
fn any_request() -> impl Strategy<Value = String> {
    let time = || prop::option::of(date_time().prop_map(|t| t.to_string()));
    let attendee = (
        prop::option::of(string_of(0usize..12, edge_char())),
        prop::option::of(string_of(0usize..12, edge_char())),
        extras(),
    )
        .prop_map(|(id, upn, extra)| {
            let mut user = serde_json::json!({ "id": id });
            for (name, value) in extra.iter() {
                user[name] = value.clone();
            }
            serde_json::json!({ "identity": { "user": user }, "upn": upn })
        });
    (
        string_of(1usize..20, edge_char()),
        prop::option::of(string_of(
            0usize..40,
            prop_oneof![6 => edge_char(), 1 => control_char()],
        )),
        time(),
        time(),
        prop::collection::vec(attendee, 0..3),
        json_value(),
    )
        .prop_map(|(key, subject, start, end, attendees, unknown)| {
            serde_json::json!({
                "externalId": key,
                "subject": subject,
                "startDateTime": start,
                "endDateTime": end,
                "participants": { "attendees": attendees },
                "unknownMember": unknown,
            })
            .to_string()
        })
}

fn profile() -> impl Strategy<Value = meeting_core::Profile> {
    prop_oneof![
        Just(meeting_core::Profile::Beta),
        Just(meeting_core::Profile::V1)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_request_twice_gives_the_same_meeting_or_the_same_refusal(
        body in any_request(),
        first in profile(),
        second in profile(),
    ) {
        let store = std::sync::Arc::new(meeting_store_memory::MemoryStore::new());
        let service = meeting_core::MeetingService::new(store.clone());
        let caller = super::caller();
        let once = block_on(super::call(&service, &caller, first, &body));
        let twice = block_on(super::call(&service, &caller, first, &body));
        match (&once, &twice) {
            (Ok(once), Ok(twice)) => {
                prop_assert!(once.is_created() && !twice.is_created());
                prop_assert_eq!(once.meeting(), twice.meeting());
                // The same request in either profile names the same meeting,
                // when that profile accepts it.
                if let Ok(other) = block_on(super::call(&service, &caller, second, &body)) {
                    prop_assert!(!other.is_created());
                    prop_assert_eq!(other.meeting(), once.meeting());
                }
                prop_assert_eq!(store.len(), 1);
            }
            (Err(once), Err(twice)) => {
                prop_assert_eq!(once.to_string(), twice.to_string());
                prop_assert_eq!(store.len(), 0, "a refused request stores nothing");
            }
            _ => prop_assert!(false, "{once:?} then {twice:?}"),
        }
    }
}
