//! The seed's example request, run through the service with a caller for its
//! organizer, yields the seed's example response.

use super::*;
use meeting_core::testing::{ManualClock, SequentialIds};
use meeting_core::Target;
use meeting_tests::seed;

fn seed_service() -> MeetingService {
    MeetingService::new(Arc::new(MemoryStore::new()))
        .with_settings(seed::settings())
        .with_clock(Arc::new(ManualClock::at("2020-02-06T01:50:10.7396692Z")))
        .with_ids(Arc::new(SequentialIds::new()))
}

#[tokio::test]
async fn seed_request_yields_the_seed_response() {
    let service = seed_service();
    let outcome = service
        .create_or_get(
            &seed::caller(),
            Target::Me,
            Profile::Beta,
            &request(seed::REQUEST),
        )
        .await
        .unwrap();
    assert!(outcome.is_created());
    let actual = to_value(outcome.meeting());

    let mut expected: Value = serde_json::from_str(seed::RESPONSE).unwrap();
    // The library's meeting has no @odata.context: the HTTP front adds it, first.
    expected
        .as_object_mut()
        .unwrap()
        .shift_remove("@odata.context");
    seed::assert_same_shape(&expected, &actual, &[]);

    // The generated members, by format.
    let thread = actual["chatInfo"]["threadId"].as_str().unwrap();
    let opaque = thread
        .strip_prefix("19:meeting_")
        .and_then(|rest| rest.strip_suffix("@thread.v2"))
        .expect("19:meeting_<opaque>@thread.v2");
    assert!(
        opaque.len() == 48
            && opaque
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    );
    assert_eq!(actual["id"], format!("{USER}_{thread}"));
    let encoded_thread = thread.replace(':', "%3a").replace('@', "%40");
    assert_eq!(
        actual["joinWebUrl"],
        format!(
            "https://devspaces.skype.com/l/meetup-join/{encoded_thread}/0?context=%7b%22Tid%22%3a%22{TENANT}%22%2c%22Oid%22%3a%22{USER}%22%7d"
        )
    );
    let conference_id = actual["audioConferencing"]["conferenceId"]
        .as_str()
        .unwrap();
    assert!(conference_id.len() == 9 && conference_id.bytes().all(|b| b.is_ascii_digit()));
    let dialin = actual["audioConferencing"]["dialinUrl"].as_str().unwrap();
    let (uuid, id) = dialin
        .strip_prefix("https://dialin.teams.microsoft.com/")
        .and_then(|rest| rest.split_once("?id="))
        .expect("<dial-in base>/<uuid>?id=<conferenceId>");
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{uuid}");
    assert_eq!(id, conference_id);
    let video = actual["videoTeleconferenceId"].as_str().unwrap();
    assert!(video.len() == 10 && video.bytes().all(|b| b.is_ascii_digit()));
}

#[tokio::test]
async fn seed_start_and_end_come_back_as_the_identical_strings() {
    let meeting = seed_service()
        .create_or_get(
            &seed::caller(),
            Target::Me,
            Profile::Beta,
            &request(seed::REQUEST),
        )
        .await
        .unwrap()
        .into_meeting();
    let json = serde_json::to_string(&meeting_core::render::view(&meeting, Profile::Beta)).unwrap();
    assert!(json.contains(r#""startDateTime":"2020-02-06T01:49:21.3524945+00:00""#));
    assert!(json.contains(r#""endDateTime":"2020-02-06T02:19:21.3524945+00:00""#));
    assert!(json.starts_with(r##"{"@odata.type":"#microsoft.graph.onlineMeeting","creationDateTime":"2020-02-06T01:50:10.7396692+00:00""##));
}
