//! Spec 1.1: the two behaviour profiles. The clock stands at 2026-01-01T09:00:00Z.

use super::*;

const MIN: &str = "0001-01-01T00:00:00.0000000+00:00";
const NOW: &str = "2026-01-01T09:00:00.0000000+00:00";

async fn times(profile: Profile, members: &str) -> Result<(String, String), Error> {
    let body = format!(r#"{{"externalId":"k"{members}}}"#);
    let meeting = call(&service(), &caller(), profile, &body)
        .await?
        .into_meeting();
    Ok((
        meeting.start_date_time.to_string(),
        meeting.end_date_time.to_string(),
    ))
}

fn bad_request_naming(result: Result<(String, String), Error>, member: &str) {
    match result {
        Err(Error::InvalidRequest(invalid)) => assert_eq!(invalid.member_path(), Some(member)),
        other => panic!("expected a 400 naming {member}, got {other:?}"),
    }
}

#[test]
fn beta_is_the_default_profile_and_url_versions_map_to_profiles() {
    assert_eq!(Profile::default(), Profile::Beta);
    assert_eq!(Profile::from_version("beta"), Some(Profile::Beta));
    assert_eq!(Profile::from_version("v1.0"), Some(Profile::V1));
    assert_eq!(Profile::from_version("v2.0"), None);
}

#[tokio::test]
async fn both_profiles_tell_created_from_existing() {
    for profile in [Profile::Beta, Profile::V1] {
        let service = service();
        let body = r#"{"externalId":"k"}"#;
        assert!(call(&service, &caller(), profile, body)
            .await
            .unwrap()
            .is_created());
        assert!(!call(&service, &caller(), profile, body)
            .await
            .unwrap()
            .is_created());
    }
}

#[tokio::test]
async fn beta_neither_time_given_defaults_both_to_0001() {
    assert_eq!(
        times(Profile::Beta, "").await.unwrap(),
        (MIN.into(), MIN.into())
    );
}

#[tokio::test]
async fn beta_only_start_given_defaults_end_to_0001() {
    let start = "2030-05-01T10:00:00.0000000+00:00";
    let got = times(Profile::Beta, &format!(r#","startDateTime":"{start}""#))
        .await
        .unwrap();
    assert_eq!(got, (start.into(), MIN.into()));
}

#[tokio::test]
async fn beta_only_end_given_defaults_start_to_0001() {
    let end = "2030-05-01T10:00:00.0000000+00:00";
    let got = times(Profile::Beta, &format!(r#","endDateTime":"{end}""#))
        .await
        .unwrap();
    assert_eq!(got, (MIN.into(), end.into()));
}

#[tokio::test]
async fn beta_accepts_an_end_earlier_than_the_start() {
    let got = times(
        Profile::Beta,
        r#","startDateTime":"2030-05-01T10:00:00Z","endDateTime":"2030-05-01T09:00:00Z""#,
    )
    .await
    .unwrap();
    assert_eq!(got.1, "2030-05-01T09:00:00.0000000+00:00");
}

#[tokio::test]
async fn v1_neither_time_given_starts_now_and_ends_an_hour_later() {
    let got = times(Profile::V1, "").await.unwrap();
    assert_eq!(
        got,
        (NOW.into(), "2026-01-01T10:00:00.0000000+00:00".into())
    );
}

#[tokio::test]
async fn v1_only_start_given_ends_an_hour_later() {
    let got = times(
        Profile::V1,
        r#","startDateTime":"2030-05-01T10:00:00.1234567Z""#,
    )
    .await
    .unwrap();
    assert_eq!(got.1, "2030-05-01T11:00:00.1234567+00:00");
}

#[tokio::test]
async fn v1_only_end_given_is_a_bad_request() {
    bad_request_naming(
        times(Profile::V1, r#","endDateTime":"2030-05-01T10:00:00Z""#).await,
        "startDateTime",
    );
}

#[tokio::test]
async fn v1_end_earlier_than_start_is_a_bad_request_but_equal_and_past_are_fine() {
    bad_request_naming(
        times(
            Profile::V1,
            r#","startDateTime":"2030-05-01T10:00:00Z","endDateTime":"2030-05-01T09:59:59.9999999Z""#,
        )
        .await,
        "endDateTime",
    );
    let equal = times(
        Profile::V1,
        r#","startDateTime":"2030-05-01T10:00:00Z","endDateTime":"2030-05-01T12:00:00+02:00""#,
    )
    .await
    .unwrap();
    assert_eq!(equal.0, equal.1);
    let past = times(
        Profile::V1,
        r#","startDateTime":"1999-01-01T10:00:00Z","endDateTime":"1999-01-01T11:00:00Z""#,
    )
    .await
    .unwrap();
    assert_eq!(
        past,
        (
            "1999-01-01T10:00:00.0000000+00:00".into(),
            "1999-01-01T11:00:00.0000000+00:00".into()
        )
    );
    // A past start alone still gets its hour.
    let past_start = times(Profile::V1, r#","startDateTime":"0001-01-01T00:00:00Z""#)
        .await
        .unwrap();
    assert_eq!(
        past_start,
        (MIN.into(), "0001-01-01T01:00:00.0000000+00:00".into())
    );
}

#[tokio::test]
async fn v1_default_end_past_year_9999_is_a_bad_request() {
    bad_request_naming(
        times(Profile::V1, r#","startDateTime":"9999-12-31T23:30:00Z""#).await,
        "startDateTime",
    );
    // The latest start whose default end is still in year 9999.
    let last = times(
        Profile::V1,
        r#","startDateTime":"9999-12-31T22:59:59.9999999Z""#,
    )
    .await
    .unwrap();
    assert_eq!(
        last,
        (
            "9999-12-31T22:59:59.9999999+00:00".into(),
            "9999-12-31T23:59:59.9999999+00:00".into()
        )
    );
    // One tick later, its end would be past year 9999.
    bad_request_naming(
        times(Profile::V1, r#","startDateTime":"9999-12-31T23:00:00Z""#).await,
        "startDateTime",
    );
    // Given explicitly, the last instant of year 9999 is kept as sent.
    let explicit = times(
        Profile::V1,
        r#","startDateTime":"9999-12-31T23:59:59.9999999Z","endDateTime":"9999-12-31T23:59:59.9999999Z""#,
    )
    .await
    .unwrap();
    assert_eq!(
        explicit,
        (
            "9999-12-31T23:59:59.9999999+00:00".into(),
            "9999-12-31T23:59:59.9999999+00:00".into()
        )
    );
}

#[tokio::test]
async fn v1_time_rules_apply_even_when_the_key_already_has_a_meeting() {
    let service = service();
    call(&service, &caller(), Profile::V1, r#"{"externalId":"k"}"#)
        .await
        .unwrap();
    let error = call(
        &service,
        &caller(),
        Profile::V1,
        r#"{"externalId":"k","endDateTime":"2030-01-01T00:00:00Z"}"#,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest(_)));
}

/// The meeting as `profile` shows it, member order kept.
fn shown(meeting: &meeting_core::OnlineMeeting, profile: Profile) -> Value {
    let view = meeting_core::render::view(meeting, profile);
    serde_json::from_str(&serde_json::to_string(&view).unwrap()).unwrap()
}

fn configured_service() -> MeetingService {
    service_with(Settings {
        dial_in: Some(meeting_core::DialIn {
            toll_number: "+1 555-0100".into(),
            base_url: "https://dialin.example.com".into(),
        }),
        video_interop: true,
        ..Settings::default()
    })
}

const FULL: &str = r#"{"externalId":"both","subject":"Both profiles",
    "startDateTime":"2030-05-01T10:00:00.1234567Z","endDateTime":"2030-05-01T11:00:00Z",
    "participants":{"attendees":[{"identity":{"user":{"id":"a1","displayName":"Ann"}},"upn":"ann@contoso.com","role":"presenter"}]}}"#;

#[tokio::test]
async fn a_meeting_created_through_beta_is_the_same_meeting_through_v1_in_the_v1_shape() {
    let service = configured_service();
    let created = call(&service, &caller(), Profile::Beta, FULL)
        .await
        .unwrap();
    assert!(created.is_created());
    let created = created.into_meeting();
    // Asked again through v1.0, with other values: the one stored meeting.
    let again = call(
        &service,
        &caller(),
        Profile::V1,
        r#"{"externalId":"both","subject":"Other"}"#,
    )
    .await
    .unwrap();
    assert!(!again.is_created());
    assert_eq!(*again.meeting(), *created);

    let v1 = shown(again.meeting(), Profile::V1);
    meeting_tests::graph_types::assert_shape("v1.0", "onlineMeeting", &v1, "");
    // The beta-created id, kept: one meeting, one id, whichever profile reads it.
    assert_eq!(v1["id"], created.id.as_str());
    assert_eq!(
        created.id.as_str(),
        format!(
            "{USER}_{}",
            created
                .chat_info
                .as_ref()
                .unwrap()
                .thread_id
                .as_deref()
                .unwrap()
        )
    );
    assert_eq!(v1["externalId"], "both");
    assert_eq!(v1["subject"], "Both profiles");
    // v1.0 writes date-times with Z.
    assert_eq!(v1["startDateTime"], "2030-05-01T10:00:00.1234567Z");
    assert_eq!(v1["endDateTime"], "2030-05-01T11:00:00.0000000Z");
    assert_eq!(v1["creationDateTime"], "2026-01-01T09:00:00.0000000Z");
    assert_eq!(v1["joinWebUrl"], created.join_web_url.as_str());
    assert_eq!(
        v1["chatInfo"]["threadId"],
        created
            .chat_info
            .as_ref()
            .unwrap()
            .thread_id
            .as_deref()
            .unwrap()
    );
    let audio = created.audio_conferencing.as_ref().unwrap();
    assert_eq!(
        v1["audioConferencing"]["conferenceId"],
        audio.conference_id.as_deref().unwrap()
    );
    assert_eq!(v1["audioConferencing"]["tollNumber"], "+1 555-0100");
    assert_eq!(
        v1["videoTeleconferenceId"],
        created.video_teleconference_id.as_deref().unwrap()
    );
    assert_eq!(
        v1["joinMeetingIdSettings"]["joinMeetingId"],
        created.join_meeting_id().unwrap()
    );
    let organizer = &v1["participants"]["organizer"];
    assert_eq!(organizer["identity"]["user"]["id"], USER);
    assert_eq!(organizer["role"], "presenter");
    let attendee = &v1["participants"]["attendees"][0];
    assert_eq!(attendee["upn"], "ann@contoso.com");
    assert_eq!(attendee["role"], "presenter");
    assert_eq!(attendee["identity"]["user"]["displayName"], "Ann");
    // None of the seed's members that v1.0 no longer has.
    for gone in [
        "autoAdmittedUsers",
        "capabilities",
        "outerMeetingAutoAdmittedUsers",
        "meetingInfo",
    ] {
        assert!(v1.get(gone).is_none(), "{gone} in the v1.0 shape");
    }
    assert!(v1["participants"].get("producers").is_none());

    // And beta still shows it in the seed's shape, with the same id.
    let beta = call(
        &service,
        &caller(),
        Profile::Beta,
        r#"{"externalId":"both"}"#,
    )
    .await
    .unwrap();
    assert_eq!(*beta.meeting(), *created);
    let beta = shown(beta.meeting(), Profile::Beta);
    assert_eq!(beta["id"], created.id.as_str());
    assert_eq!(beta["startDateTime"], "2030-05-01T10:00:00.1234567+00:00");
    assert!(beta.get("joinMeetingIdSettings").is_none());
}

#[tokio::test]
async fn a_meeting_created_through_v1_keeps_its_id_and_data_through_beta() {
    let service = configured_service();
    let created = call(&service, &caller(), Profile::V1, FULL)
        .await
        .unwrap()
        .into_meeting();
    let again = call(
        &service,
        &caller(),
        Profile::Beta,
        r#"{"externalId":"both"}"#,
    )
    .await
    .unwrap();
    assert!(!again.is_created());
    assert_eq!(*again.meeting(), *created);
    let beta = shown(again.meeting(), Profile::Beta);
    let expected: Value = serde_json::from_str(meeting_tests::seed::RESPONSE).unwrap();
    let expected_members: Vec<&String> = expected
        .as_object()
        .unwrap()
        .keys()
        .filter(|key| *key != "@odata.context")
        .collect();
    let members: Vec<&String> = beta.as_object().unwrap().keys().collect();
    assert_eq!(
        members, expected_members,
        "the seed's members, in its order"
    );
    assert_eq!(beta["id"], created.id.as_str());
    assert_eq!(beta["subject"], "Both profiles");
    assert_eq!(beta["endDateTime"], "2030-05-01T11:00:00.0000000+00:00");
}

/// v1.0's `meetingOptionsWebUrl`: the Teams options page of the meeting's
/// organizer, tenant and chat thread (its `:` written `_`), on the join link's host.
#[tokio::test]
async fn the_v1_options_page_names_the_organizer_tenant_and_thread() {
    let service = service();
    let meeting = call(
        &service,
        &caller(),
        Profile::V1,
        r#"{"externalId": "options"}"#,
    )
    .await
    .unwrap()
    .into_meeting();
    let view = serde_json::to_value(meeting_core::render::view(&meeting, Profile::V1)).unwrap();
    let thread = meeting
        .chat_info
        .as_ref()
        .unwrap()
        .thread_id
        .as_deref()
        .unwrap();
    assert!(thread.starts_with("19:meeting_"), "{thread}");
    let base = meeting
        .join_web_url
        .split("/l/meetup-join/")
        .next()
        .unwrap();
    let expected = format!(
        "{base}/meetingOptions/?organizerId={USER}&tenantId={TENANT}&threadId={}&messageId=0&language=en-US",
        thread.replace(':', "_").replace('@', "%40").replace('=', "%3D"),
    );
    assert_eq!(view["meetingOptionsWebUrl"], expected.as_str());
}
