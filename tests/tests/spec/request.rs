//! Spec section 2: the request body. Every bound at the limit and one past it.

use super::*;
use meeting_core::limits::{
    ATTENDEES_MAX, EXTERNAL_ID_MAX_CHARS, JSON_MAX_VALUES, SUBJECT_MAX_CHARS,
};
use meeting_core::CreateOrGetRequest;
use meeting_core::Target;
use serde_json::json;

fn body(value: Value) -> String {
    value.to_string()
}

fn assert_names(json: &str, member: &str) {
    let error = invalid(json);
    assert_eq!(error.member_path(), Some(member), "{error}");
    assert!(
        error.message().contains(member),
        "the message names {member}: {error}"
    );
}

#[test]
fn external_id_is_required() {
    assert_names(r#"{}"#, "externalId");
    assert_names(r#"{"externalId":null,"subject":"s"}"#, "externalId");
    assert_eq!(invalid("{}").message(), "externalId is required");
}

#[test]
fn external_id_must_not_be_empty() {
    assert_names(r#"{"externalId":""}"#, "externalId");
}

#[test]
fn external_id_has_at_most_256_characters() {
    assert_eq!(EXTERNAL_ID_MAX_CHARS, 256);
    request(&body(json!({ "externalId": "é".repeat(256) })));
    assert_names(
        &body(json!({ "externalId": "é".repeat(257) })),
        "externalId",
    );
}

#[test]
fn external_id_has_no_control_characters() {
    for c in ["\u{0}", "\n", "\u{7f}", "\u{9f}"] {
        assert_names(
            &body(json!({ "externalId": format!("a{c}b") })),
            "externalId",
        );
    }
}

#[test]
fn subject_has_at_most_1024_characters() {
    assert_eq!(SUBJECT_MAX_CHARS, 1024);
    request(&body(
        json!({ "externalId": "k", "subject": "😀".repeat(1024) }),
    ));
    assert_names(
        &body(json!({ "externalId": "k", "subject": "😀".repeat(1025) })),
        "subject",
    );
}

#[test]
fn at_most_1000_attendees() {
    assert_eq!(ATTENDEES_MAX, 1000);
    let attendees = |n: usize| vec![json!({"upn": "a@b"}); n];
    request(&body(
        json!({ "externalId": "k", "participants": { "attendees": attendees(1000) } }),
    ));
    assert_names(
        &body(json!({ "externalId": "k", "participants": { "attendees": attendees(1001) } })),
        "participants.attendees",
    );
}

#[test]
fn at_most_1000_producers_and_1000_contributors() {
    for list in ["producers", "contributors"] {
        let participants = |n: usize| json!({ list: vec![json!({"upn": "a@b"}); n] });
        request(&body(
            json!({ "externalId": "k", "participants": participants(1000) }),
        ));
        assert_names(
            &body(json!({ "externalId": "k", "participants": participants(1001) })),
            &format!("participants.{list}"),
        );
    }
}

#[test]
fn attendees_past_the_limit_are_refused_before_the_rest_is_read() {
    // Entry 1,002 is of the wrong type: a parser that read past entry 1,001
    // would report it instead of the bound.
    let mut attendees = vec![json!({}); ATTENDEES_MAX + 1];
    attendees.push(json!(5));
    let json = body(json!({ "externalId": "k", "participants": { "attendees": attendees } }));
    let error = invalid(&json);
    assert_eq!(
        error.member_path(),
        Some("participants.attendees"),
        "{error}"
    );
    assert!(
        error.message().contains("more than 1000 participants"),
        "{error}"
    );
    // The same through serde alone, as an embedder deserializing the type would.
    let error = serde_json::from_str::<CreateOrGetRequest>(&json).unwrap_err();
    assert!(error.to_string().contains("more than 1000"), "{error}");
}

#[test]
fn a_body_holds_at_most_65536_json_values() {
    assert_eq!(JSON_MAX_VALUES, 65_536);
    // `{`, "externalId", "k", "x", `[`: five, then the zeros.
    let zeros = |n: usize| format!(r#"{{"externalId":"k","x":[{}]}}"#, vec!["0"; n].join(","));
    request(&zeros(JSON_MAX_VALUES - 5));
    let error = invalid(&zeros(JSON_MAX_VALUES - 4));
    assert!(
        error.message().contains("more than 65536 JSON values"),
        "{error}"
    );
}

#[test]
fn date_times_must_fall_in_years_0001_to_9999_after_conversion_to_utc() {
    request(
        r#"{"externalId":"k","startDateTime":"0001-01-01T00:00:00Z","endDateTime":"9999-12-31T23:59:59.9999999Z"}"#,
    );
    assert_names(
        r#"{"externalId":"k","startDateTime":"0001-01-01T00:00:00+00:01"}"#,
        "startDateTime",
    );
    assert_names(
        r#"{"externalId":"k","endDateTime":"9999-12-31T23:59:59-00:01"}"#,
        "endDateTime",
    );
}

#[test]
fn malformed_date_time_is_a_bad_request_naming_the_member() {
    assert_names(
        r#"{"externalId":"k","startDateTime":"tomorrow"}"#,
        "startDateTime",
    );
    assert_names(
        r#"{"externalId":"k","endDateTime":20200206}"#,
        "endDateTime",
    );
}

#[test]
fn wrong_json_type_names_the_member_by_its_path() {
    assert_names(r#"{"externalId":5}"#, "externalId");
    assert_names(r#"{"externalId":"k","subject":["s"]}"#, "subject");
    assert_names(
        r#"{"externalId":"k","participants":{"attendees":[{},{},{"identity":{"user":{"id":5}}}]}}"#,
        "participants.attendees[2].identity.user.id",
    );
    assert_names(r#"{"externalId":"k","participants":[]}"#, "participants");
    assert_names(
        r#"{"externalId":"k","participants":{"organizer":"me"}}"#,
        "participants.organizer",
    );
}

#[test]
fn body_must_be_a_json_object() {
    for not_an_object in ["[]", "5", "\"k\"", "null", "true"] {
        let error = invalid(not_an_object);
        assert!(
            error.message().contains("a JSON object"),
            "{not_an_object}: {error}"
        );
    }
}

#[test]
fn malformed_json_is_a_bad_request_saying_where() {
    for broken in [
        "",
        "{",
        r#"{"externalId":"k",}"#,
        r#"{"externalId":"k"} trailing"#,
        "\u{feff}{}",
    ] {
        let error = invalid(broken);
        assert!(
            error.message().starts_with("malformed JSON"),
            "{broken:?}: {error}"
        );
        assert!(error.message().contains("line"), "{broken:?}: {error}");
    }
}

#[test]
fn json_nested_deeper_than_128_levels_is_a_bad_request() {
    // The body object is level 1; an unknown member, or an open type's extra
    // member (parsed, not skipped), adds the rest.
    let unknown = |levels: usize| {
        format!(
            r#"{{"externalId":"k","x":{}{}}}"#,
            "[".repeat(levels - 1),
            "]".repeat(levels - 1)
        )
    };
    let extra = |levels: usize| {
        let inner = levels - 6; // body, participants, attendees, [0], identity, user
        format!(
            r#"{{"externalId":"k","participants":{{"attendees":[{{"identity":{{"user":{{"x":{}{}}}}}}}]}}}}"#,
            "[".repeat(inner),
            "]".repeat(inner)
        )
    };
    request(&unknown(128));
    request(&extra(128));
    for too_deep in [unknown(129), extra(129), unknown(100_000)] {
        let error = invalid(&too_deep);
        assert!(
            error.message().contains("deeper than 128 levels"),
            "{error}"
        );
    }
}

#[test]
fn numbers_that_do_not_fit_are_a_bad_request() {
    invalid(r#"{"externalId":"k","unknown":1e400}"#);
    invalid(r#"{"externalId":"k","unknown":[{"deep":-1e999}]}"#);
    invalid(
        r#"{"externalId":"k","participants":{"attendees":[{"identity":{"user":{"extra":-1e999}}}]}}"#,
    );
    // Integers past 64 bits still fit a float, as in JavaScript.
    request(r#"{"externalId":"k","unknown":123456789012345678901234567890,"small":1.7e308}"#);
}

#[test]
fn lone_surrogates_are_a_bad_request_saying_where() {
    for body in [
        r#"{"externalId":"k","subject":"\ud800"}"#,
        r#"{"externalId":"\udc00"}"#,
        r#"{"externalId":"k","subject":"\ud83d\u0041"}"#,
        r#"{"externalId":"k","unknown":"x\ud800"}"#,
        r#"{"externalId":"k","participants":{"attendees":[{"identity":{"user":{"note":"\ud83d"}}}]}}"#,
    ] {
        let error = invalid(body);
        assert!(error.message().contains("line 1 column"), "{body}: {error}");
    }
    let pair = request(r#"{"externalId":"k","subject":"\ud83d\ude00","unknown":"\ud83d\ude00"}"#);
    assert_eq!(pair.subject.as_deref(), Some("😀"));
}

#[test]
fn unknown_members_are_ignored() {
    let parsed = request(
        r#"{"externalId":"k","isBroadcast":true,"lobbyBypassSettings":{"scope":"x"},"whatever":[1,2]}"#,
    );
    assert_eq!(parsed.external_id.as_str(), "k");
}

#[test]
fn odata_type_is_optional_and_must_name_the_expected_type() {
    request(
        r##"{"externalId":"k","participants":{"@odata.type":"#microsoft.graph.meetingParticipants"}}"##,
    );
    request(
        r#"{"externalId":"k","participants":{"@odata.type":"microsoft.graph.meetingParticipants"}}"#,
    );
    request(r##"{"externalId":"k","chatInfo":{"@odata.type":"#microsoft.graph.chatInfo"}}"##);
    assert_names(
        r##"{"externalId":"k","participants":{"@odata.type":"#microsoft.graph.MeetingParticipants"}}"##,
        "participants.@odata.type",
    );
    assert_names(
        r##"{"externalId":"k","participants":{"attendees":[{"identity":{"user":{"@odata.type":"#microsoft.graph.identitySet"}}}]}}"##,
        "participants.attendees[0].identity.user.@odata.type",
    );
}

#[test]
fn unknown_enumeration_member_is_a_bad_request() {
    for role in [
        "attendee",
        "presenter",
        "unknownFutureValue",
        "producer",
        "coorganizer",
    ] {
        request(&body(
            json!({"externalId": "k", "participants": {"attendees": [{"role": role}]}}),
        ));
    }
    assert_names(
        r#"{"externalId":"k","participants":{"attendees":[{"role":"Presenter"}]}}"#,
        "participants.attendees[0].role",
    );
}

#[test]
fn chat_info_is_validated_for_shape() {
    assert_names(
        r#"{"externalId":"k","chatInfo":{"threadId":42}}"#,
        "chatInfo.threadId",
    );
    assert_names(r#"{"externalId":"k","chatInfo":"19:x"}"#, "chatInfo");
}

#[tokio::test]
async fn chat_info_is_ignored_and_every_meeting_gets_a_new_thread() {
    let meeting = create(
        &service(),
        r#"{"externalId":"k","chatInfo":{"threadId":"19:mine@thread.skype","messageId":"7"}}"#,
    )
    .await
    .into_meeting();
    let chat = meeting.chat_info.as_ref().unwrap();
    assert_ne!(chat.thread_id.as_deref(), Some("19:mine@thread.skype"));
    assert!(chat
        .thread_id
        .as_deref()
        .unwrap()
        .starts_with("19:meeting_"));
    assert_eq!(chat.message_id.as_deref(), Some("0"));
}

#[tokio::test]
async fn request_is_validated_in_full_before_the_store_is_consulted() {
    let service = service();
    create(&service, r#"{"externalId":"k"}"#).await;
    let too_long = body(json!({ "externalId": "k", "subject": "s".repeat(1025) }));
    assert!(matches!(
        call(&service, &caller(), Profile::Beta, &too_long).await,
        Err(Error::InvalidRequest(_))
    ));
    let mut in_code =
        meeting_core::CreateOrGetRequest::new(meeting_core::ExternalId::new("k").unwrap());
    in_code.subject = Some("s".repeat(1025));
    assert!(matches!(
        service
            .create_or_get(&caller(), Target::Me, Profile::Beta, &in_code)
            .await,
        Err(Error::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn unknown_members_change_nothing_in_the_answer() {
    let plain = json!({
        "externalId": "k",
        "subject": "S",
        "startDateTime": "2030-05-01T10:00:00Z",
        "endDateTime": "2030-05-01T11:00:00Z",
        "participants": {
            "organizer": { "upn": "org@contoso.com" },
            "attendees": [
                { "identity": { "user": { "id": "a1", "displayName": "Ann" } }, "upn": "ann@contoso.com", "role": "attendee" }
            ]
        },
        "chatInfo": { "threadId": "19:mine@thread.v2" }
    });
    let mut noisy = plain.clone();
    // Members of the response, and of today's Graph, that a request does not set.
    for (name, value) in [
        (
            "@odata.context",
            json!("https://graph.microsoft.com/beta/$metadata#x"),
        ),
        ("id", json!("forged-id")),
        ("joinWebUrl", json!("https://example.com/forged")),
        ("creationDateTime", json!("2001-01-01T00:00:00Z")),
        ("isBroadcast", json!(true)),
        ("autoAdmittedUsers", json!("organizer")),
        ("capabilities", json!(["questionAndAnswer"])),
        (
            "audioConferencing",
            json!({ "conferenceId": "1", "tollNumber": "2" }),
        ),
        ("videoTeleconferenceId", json!("0123456789")),
        (
            "joinMeetingIdSettings",
            json!({ "joinMeetingId": "1", "isPasscodeRequired": true }),
        ),
        ("allowedPresenters", json!("organizer")),
        ("lobbyBypassSettings", json!({ "scope": "invited" })),
        ("whatever", json!([1, { "deep": [null, 1.5, "x"] }])),
    ] {
        noisy[name] = value;
    }
    // Unknown members of the closed types inside the request.
    noisy["participants"]["unknown"] = json!({ "a": 1 });
    noisy["participants"]["organizer"]["extra"] = json!("x");
    noisy["participants"]["attendees"][0]["extra"] = json!(5);
    noisy["chatInfo"]["unknown"] = json!(true);

    for profile in [Profile::Beta, Profile::V1] {
        // Two services alike (one clock, sequential ids): the answers must be too.
        let answer = |body: Value| async move {
            let meeting = call(&service(), &caller(), profile, &body.to_string())
                .await
                .unwrap_or_else(|error| panic!("{profile:?}: {error}"))
                .into_meeting();
            serde_json::to_string(&meeting_core::render::view(&meeting, profile)).unwrap()
        };
        assert_eq!(
            answer(noisy.clone()).await,
            answer(plain.clone()).await,
            "{profile:?}"
        );
    }
}

/// A participant list that is not a list is a 400 that says what a list must be.
#[test]
fn a_participant_list_that_is_not_a_list_says_what_is_expected() {
    for member in ["attendees", "producers", "contributors"] {
        let error = invalid(&format!(
            r#"{{"externalId":"k","participants":{{"{member}":5}}}}"#
        ));
        assert!(
            error
                .to_string()
                .contains("expected a list of at most 1000 participants"),
            "{member}: {error}"
        );
    }
}

/// The pre-pass's refusals say where, as serde_json's do: line and column,
/// both counted from 1.
#[test]
fn a_refusal_before_parsing_names_its_line_and_column() {
    let error = invalid("{\n  \"externalId\": \"k\",\n  \"x\": 1e999}");
    assert_eq!(
        error.to_string(),
        "malformed JSON: a number too large for a 64-bit float at line 3 column 8"
    );
    let error = invalid("  [1]");
    assert_eq!(
        error.to_string(),
        "malformed JSON: the body must be a JSON object at line 1 column 3"
    );
}

/// The pre-pass finds lone surrogates itself and says so, where; it reads an
/// escaped backslash as one, so `\\ud800` (a backslash, then text) is no escape.
#[test]
fn lone_surrogates_are_found_by_the_pre_pass_and_escaped_backslashes_are_not_escapes() {
    for (body, column) in [
        (r#"{"externalId":"\udc00"}"#, 16),
        (r#"{"externalId":"k","subject":"\"\ud800"}"#, 32),
        // After a whole pair, another escape, a two-character escape, a
        // plain character: the walk goes on past each to the lone half.
        (r#"{"externalId":"k","subject":"\ud83d\ude00\ud800"}"#, 42),
        (r#"{"externalId":"k","subject":"\u0041\ud800"}"#, 36),
        (r#"{"externalId":"k","subject":"\n\ud800"}"#, 32),
        (r#"{"externalId":"k","subject":"ab\ud800"}"#, 32),
        // A high half followed by an escape that is not a low half.
        (r#"{"externalId":"k","subject":"\ud83d\u0041"}"#, 30),
    ] {
        assert_eq!(
            invalid(body).to_string(),
            format!("malformed JSON: a lone surrogate in a string at line 1 column {column}"),
            "{body}"
        );
    }
    let text = request(r#"{"externalId":"k","subject":"\\ud800"}"#);
    assert_eq!(text.subject.as_deref(), Some(r"\ud800"));
}

/// A member given twice is malformed JSON for the body as a whole, not a
/// problem of a member named ".".
#[test]
fn a_duplicate_member_is_malformed_json_naming_no_member() {
    let error = invalid(r#"{"externalId":"k","externalId":"j"}"#);
    assert_eq!(
        error.to_string(),
        "malformed JSON: duplicate field `externalId` at line 1 column 30"
    );
    assert_eq!(error.member_path(), None);
}
