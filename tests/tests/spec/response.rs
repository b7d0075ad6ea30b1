//! Spec section 3: the response, an `onlineMeeting`.

use super::*;
use meeting_core::DialIn;

const ATTENDEE: &str = r#"{"externalId":"k","participants":{"attendees":[
    {"identity":{"user":{"id":"a1","zeta":1,"displayName":"Ann","alpha":{"b":[true]},"identityProvider":"MSA"},
                 "phone":{"id":"+1"},"guest":null},
     "upn":"ann@contoso.com","role":"presenter"},
    {"upn":"bob@contoso.com"}]}}"#;

#[tokio::test]
async fn fixed_members_have_their_graph_values() {
    let meeting = to_value(create(&service(), r#"{"externalId":"k"}"#).await.meeting());
    assert_eq!(meeting["isBroadcast"], false);
    assert_eq!(meeting["autoAdmittedUsers"], "everyone");
    assert_eq!(meeting["capabilities"], serde_json::json!([]));
    assert_eq!(meeting["subject"], Value::Null);
    assert_eq!(meeting["outerMeetingAutoAdmittedUsers"], Value::Null);
    assert_eq!(meeting["meetingInfo"], Value::Null);
    assert_eq!(meeting["externalId"], "k");
    assert_eq!(
        meeting["creationDateTime"],
        "2026-01-01T09:00:00.0000000+00:00"
    );
    let participants = &meeting["participants"];
    for list in ["attendees", "producers", "contributors"] {
        assert_eq!(participants[list], serde_json::json!([]), "{list}");
    }
}

#[tokio::test]
async fn members_are_in_the_seed_order_with_the_odata_type_first() {
    let meeting = to_value(create(&service(), r#"{"externalId":"k"}"#).await.meeting());
    let keys = members(&meeting);
    assert_eq!(
        keys,
        [
            "@odata.type",
            "creationDateTime",
            "startDateTime",
            "endDateTime",
            "joinWebUrl",
            "subject",
            "participants",
            "isBroadcast",
            "autoAdmittedUsers",
            "capabilities",
            "audioConferencing",
            "chatInfo",
            "videoTeleconferenceId",
            "externalId",
            "id",
            "outerMeetingAutoAdmittedUsers",
            "meetingInfo"
        ]
    );
    let participants = members(&meeting["participants"]);
    assert_eq!(
        participants,
        [
            "@odata.type",
            "organizer",
            "attendees",
            "producers",
            "contributors"
        ]
    );
    let chat = members(&meeting["chatInfo"]);
    assert_eq!(chat, ["@odata.type", "threadId", "messageId"]);
}

/// An object's member names, in order.
fn members(object: &Value) -> Vec<&str> {
    let object = object.as_object().expect("an object");
    object.keys().map(String::as_str).collect()
}

/// Every object of a known type carries its `@odata.type` as its first member.
fn assert_tagged(value: &Value, expected_type: &str, path: &str) {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{path} is an object"));
    let (first, tag) = object.iter().next().unwrap();
    assert_eq!(first, "@odata.type", "{path}");
    assert_eq!(tag, &format!("#microsoft.graph.{expected_type}"), "{path}");
}

#[tokio::test]
async fn every_object_carries_its_odata_type_first() {
    let service = service_with(Settings {
        dial_in: Some(DialIn {
            toll_number: "1".into(),
            base_url: "https://d".into(),
        }),
        ..Settings::default()
    });
    let meeting = to_value(create(&service, ATTENDEE).await.meeting());
    assert_tagged(&meeting, "onlineMeeting", "");
    assert_tagged(
        &meeting["participants"],
        "meetingParticipants",
        "participants",
    );
    assert_tagged(
        &meeting["audioConferencing"],
        "audioConferencing",
        "audioConferencing",
    );
    assert_tagged(&meeting["chatInfo"], "chatInfo", "chatInfo");
    let organizer = &meeting["participants"]["organizer"];
    let attendee = &meeting["participants"]["attendees"][0];
    for (info, path) in [(organizer, "organizer"), (attendee, "attendees[0]")] {
        assert_tagged(info, "meetingParticipantInfo", path);
        assert_tagged(&info["identity"], "identitySet", path);
        assert_tagged(&info["identity"]["user"], "identity", path);
    }
}

#[tokio::test]
async fn open_types_keep_unknown_members_verbatim_after_the_known_ones() {
    let meeting = create(&service(), ATTENDEE).await.into_meeting();
    let json = serde_json::to_string(&meeting.participants.attendees[0]).unwrap();
    assert_eq!(
        json,
        r##"{"@odata.type":"#microsoft.graph.meetingParticipantInfo","identity":{"@odata.type":"#microsoft.graph.identitySet","user":{"@odata.type":"#microsoft.graph.identity","id":"a1","displayName":"Ann","identityProvider":"MSA","zeta":1,"alpha":{"b":[true]}},"phone":{"id":"+1"},"guest":null},"upn":"ann@contoso.com","role":"presenter"}"##
    );
}

#[tokio::test]
async fn attendees_are_returned_as_sent_and_role_only_when_sent() {
    let meeting = to_value(create(&service(), ATTENDEE).await.meeting());
    let bob = &meeting["participants"]["attendees"][1];
    assert_eq!(
        bob.to_string(),
        r##"{"@odata.type":"#microsoft.graph.meetingParticipantInfo","identity":null,"upn":"bob@contoso.com"}"##
    );
}

#[tokio::test]
async fn identity_writes_id_and_display_name_always_and_tenant_and_provider_when_known() {
    let meeting = to_value(
        create(
            &service(),
            r#"{"externalId":"k","participants":{"attendees":[{"identity":{"user":{}}}]}}"#,
        )
        .await
        .meeting(),
    );
    assert_eq!(
        meeting["participants"]["attendees"][0]["identity"]["user"].to_string(),
        r##"{"@odata.type":"#microsoft.graph.identity","id":null,"displayName":null}"##
    );
}

#[tokio::test]
async fn audio_conferencing_is_null_without_a_configured_dial_in() {
    let meeting = to_value(create(&service(), r#"{"externalId":"k"}"#).await.meeting());
    assert_eq!(meeting["audioConferencing"], Value::Null);
}

#[tokio::test]
async fn audio_conferencing_with_a_dial_in_has_nine_digits_toll_number_and_dial_in_url() {
    let service = service_with(Settings {
        dial_in: Some(DialIn {
            toll_number: "+1 555-749-0000".into(),
            base_url: "https://dialin.example.com/".into(),
        }),
        ..Settings::default()
    });
    let meeting = to_value(create(&service, r#"{"externalId":"k"}"#).await.meeting());
    let audio = &meeting["audioConferencing"];
    let id = audio["conferenceId"].as_str().unwrap();
    assert!(
        id.len() == 9 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(audio["tollNumber"], "+1 555-749-0000");
    let url = audio["dialinUrl"].as_str().unwrap();
    let (uuid, query_id) = url
        .strip_prefix("https://dialin.example.com/")
        .and_then(|rest| rest.split_once("?id="))
        .unwrap();
    assert!(uuid::Uuid::parse_str(uuid).is_ok());
    assert_eq!(query_id, id);
}

#[tokio::test]
async fn video_teleconference_id_is_ten_digits_only_with_video_interop() {
    let plain = to_value(create(&service(), r#"{"externalId":"k"}"#).await.meeting());
    assert_eq!(plain["videoTeleconferenceId"], Value::Null);
    let service = service_with(Settings {
        video_interop: true,
        ..Settings::default()
    });
    let meeting = to_value(create(&service, r#"{"externalId":"k"}"#).await.meeting());
    let id = meeting["videoTeleconferenceId"].as_str().unwrap();
    assert!(
        id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
}

#[tokio::test]
async fn thread_id_message_id_and_id_follow_graphs_formats() {
    let meeting = create(&service(), r#"{"externalId":"k"}"#)
        .await
        .into_meeting();
    let chat = meeting.chat_info.as_ref().unwrap();
    let thread = chat.thread_id.as_deref().unwrap();
    assert!(
        thread.starts_with("19:meeting_") && thread.ends_with("@thread.v2"),
        "{thread}"
    );
    assert_eq!(chat.message_id.as_deref(), Some("0"));
    assert_eq!(meeting.id.as_str(), format!("{USER}_{thread}"));
}

#[tokio::test]
async fn join_web_url_uses_the_configured_base_defaulting_to_teams() {
    let meeting = create(&service(), r#"{"externalId":"k"}"#)
        .await
        .into_meeting();
    assert!(meeting
        .join_web_url
        .starts_with("https://teams.microsoft.com/l/meetup-join/19%3ameeting_"));
    assert!(meeting.join_web_url.ends_with(&format!(
        "%40thread.v2/0?context=%7b%22Tid%22%3a%22{TENANT}%22%2c%22Oid%22%3a%22{USER}%22%7d"
    )));
    let service = service_with(Settings {
        join_base_url: "http://join.local:8080".into(),
        ..Settings::default()
    });
    let custom = create(&service, r#"{"externalId":"k"}"#)
        .await
        .into_meeting();
    assert!(custom
        .join_web_url
        .starts_with("http://join.local:8080/l/meetup-join/"));
}

#[tokio::test]
async fn two_meetings_get_different_generated_values() {
    let service = service();
    let a = create(&service, r#"{"externalId":"a"}"#)
        .await
        .into_meeting();
    let b = create(&service, r#"{"externalId":"b"}"#)
        .await
        .into_meeting();
    assert_ne!(a.id, b.id);
    assert_ne!(a.chat_info, b.chat_info);
    assert_ne!(a.join_web_url, b.join_web_url);
}

#[tokio::test]
async fn identity_set_members_are_user_application_device_in_beta_and_as_declared_in_v1() {
    // Sent in the reverse order, with an extra member first.
    let meeting = create(
        &service(),
        r#"{"externalId":"k","participants":{"attendees":[
            {"identity":{"zeta":1,"device":{"id":"d1"},"application":{"id":"a1"},"user":{"id":"u1"}}},
            {"identity":{"device":{"id":"d2"},"application":{"id":"a2"}}},
            {"identity":{"application":{"id":"a3"}}}]}}"#,
    )
    .await
    .into_meeting();
    let identity_members = |view: &Value, i: usize| -> Vec<String> {
        view["participants"]["attendees"][i]["identity"]
            .as_object()
            .expect("an identitySet")
            .keys()
            .cloned()
            .collect()
    };
    // beta: the seed's order, each only when present, extras after them.
    let beta = to_value(&meeting);
    assert_eq!(
        identity_members(&beta, 0),
        ["@odata.type", "user", "application", "device", "zeta"]
    );
    assert_eq!(
        identity_members(&beta, 1),
        ["@odata.type", "application", "device"]
    );
    assert_eq!(identity_members(&beta, 2), ["@odata.type", "application"]);
    for (i, who) in [(0, "a1"), (1, "a2"), (2, "a3")] {
        assert_eq!(
            beta["participants"]["attendees"][i]["identity"]["application"]["id"],
            who
        );
    }
    assert_eq!(
        beta["participants"]["attendees"][0]["identity"]["device"]["id"],
        "d1"
    );
    // v1.0: every declared member, in the order of Graph's models, null when absent.
    let v1: Value = serde_json::from_str(
        &serde_json::to_string(&meeting_core::render::view(&meeting, Profile::V1)).unwrap(),
    )
    .unwrap();
    assert_eq!(
        identity_members(&v1, 0),
        ["@odata.type", "application", "device", "user", "zeta"]
    );
    assert_eq!(
        identity_members(&v1, 1),
        ["@odata.type", "application", "device", "user"]
    );
    assert_eq!(
        v1["participants"]["attendees"][1]["identity"]["user"],
        Value::Null
    );
    assert_eq!(
        v1["participants"]["attendees"][2]["identity"]["device"],
        Value::Null
    );
    assert_eq!(
        v1["participants"]["attendees"][0]["identity"]["device"]["id"],
        "d1"
    );
}

#[tokio::test]
async fn generated_numbers_differ_between_meetings() {
    const MEETINGS: usize = 300;
    // The real random source, as a server runs.
    let service = MeetingService::new(Arc::new(MemoryStore::new())).with_settings(Settings {
        dial_in: Some(DialIn {
            toll_number: "1".into(),
            base_url: "https://d".into(),
        }),
        video_interop: true,
        meeting_policy: meeting_core::options::MeetingPolicy {
            is_passcode_required: true,
            ..Default::default()
        },
        ..Settings::default()
    });
    let mut seen: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for i in 0..MEETINGS {
        let profile = if i % 2 == 0 {
            Profile::Beta
        } else {
            Profile::V1
        };
        let body = format!(r#"{{"externalId":"generated-{i}"}}"#);
        let meeting = call(&service, &caller(), profile, &body)
            .await
            .unwrap()
            .into_meeting();
        let audio = meeting.audio_conferencing.as_ref().unwrap();
        let join = meeting.join_meeting_id_settings.as_ref().unwrap();
        let dialin = audio.dialin_url.as_deref().unwrap();
        for (what, value) in [
            ("id", meeting.id.as_str()),
            (
                "threadId",
                meeting
                    .chat_info
                    .as_ref()
                    .unwrap()
                    .thread_id
                    .as_deref()
                    .unwrap(),
            ),
            ("joinWebUrl", &meeting.join_web_url),
            ("joinMeetingId", join.join_meeting_id.as_deref().unwrap()),
            ("passcode", join.passcode.as_deref().unwrap()),
            ("conferenceId", audio.conference_id.as_deref().unwrap()),
            ("dialinUrl uuid", dialin.split(['/', '?']).nth(3).unwrap()),
            (
                "videoTeleconferenceId",
                meeting.video_teleconference_id.as_deref().unwrap(),
            ),
        ] {
            seen.entry(what).or_default().push(value.to_owned());
        }
    }
    for (what, values) in &seen {
        let distinct: std::collections::HashSet<&String> = values.iter().collect();
        // Ids, threads and the join id must never repeat (the store keeps the
        // join id unique); 300 draws of 9 random digits repeat one once in
        // 22,000 runs and six-character passcodes far less: one repeat is chance,
        // two are a broken generator.
        let allowed = match *what {
            "conferenceId" | "passcode" | "videoTeleconferenceId" => 1,
            _ => 0,
        };
        assert!(
            distinct.len() + allowed >= MEETINGS,
            "{what}: only {} distinct values in {MEETINGS}",
            distinct.len()
        );
    }
    // The digits are random in every place, not only in some.
    for what in [
        "joinMeetingId",
        "conferenceId",
        "videoTeleconferenceId",
        "passcode",
    ] {
        let values = &seen[what];
        for place in 0..values[0].len() {
            let at: std::collections::HashSet<u8> =
                values.iter().map(|v| v.as_bytes()[place]).collect();
            assert!(at.len() >= 8, "{what}: place {place} takes only {at:?}");
        }
    }
}
