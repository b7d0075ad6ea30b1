//! Arbitrary bodies never make the server fail or drop a connection.

use super::*;
use proptest::prelude::*;

/// Member names the request knows, so that generated objects reach deep into it.
const NAMES: &[&str] = &[
    "externalId",
    "subject",
    "startDateTime",
    "endDateTime",
    "participants",
    "organizer",
    "attendees",
    "identity",
    "user",
    "id",
    "upn",
    "role",
    "@odata.type",
    "chatInfo",
    "threadId",
    "x",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String("2026-01-01T10:00:00Z".into())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(NAMES), inner), 0..6).prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

/// A body: arbitrary bytes, or an arbitrary JSON value (often an object with a key).
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        (json_value(), ".{1,20}").prop_map(|(v, key)| {
            let mut object = serde_json::Map::new();
            object.insert("externalId".into(), Value::String(key));
            object.insert("participants".into(), v);
            Value::Object(object).to_string().into_bytes()
        }),
    ]
}

#[test]
fn arbitrary_bodies_never_get_a_5xx_or_a_dropped_connection() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(Server::start(memory_service()));
    let token = token();
    proptest!(ProptestConfig::with_cases(256), |(body in body(), version in prop::sample::select(&["beta", "v1.0"][..]))| {
        let reply = runtime.block_on(server.post(
            &format!("/{version}/me/onlineMeetings/createOrGet"),
            &token,
            body,
        ));
        prop_assert!(reply.status < 500, "{}: {}", reply.status, reply.text);
        prop_assert!(matches!(reply.status, 200 | 201 | 400), "{}: {}", reply.status, reply.text);
        if reply.status == 400 {
            reply.assert_error(400, "BadRequest");
        }
    });
    // Still serving.
    let reply = runtime.block_on(server.create_or_get("beta", &token, r#"{"externalId":"after"}"#));
    assert_eq!(reply.status, 200);
}
