//! Graph as its users call it today: the v1.0 `onlineMeeting` checked member
//! by member against Microsoft's generated models, and app-only callers under
//! an application access policy.

use super::*;
use meeting_core::access::{AppAccessPolicy, Directory, DirectoryEntry, NO_POLICY_MESSAGE};
use meeting_core::options::{MeetingPolicy, OnlineMeetingPresenters};
use meeting_core::Settings;
use meeting_tests::graph_types::assert_shape;
use meeting_tests::path_segment;

const APP: &str = "5a8e0d4c-1b2a-4c3d-9e8f-0a1b2c3d4e5f";
const OTHER_APP: &str = "6b9f1e5d-2c3b-4d4e-8f90-1b2c3d4e5f60";

/// A body with everything a v1.0 answer can carry: times, attendees of every
/// identity kind with open-type extras.
const FULL: &str = r#"{
    "externalId": "today",
    "subject": "Graph today",
    "startDateTime": "2026-12-01T09:00:00Z",
    "endDateTime": "2026-12-01T10:00:00Z",
    "participants": {"attendees": [
        {"identity": {"user": {"id": "1f35f2e6-9cab-44ad-8d5a-b74c14720000", "displayName": "Bob", "x": [1]}}, "upn": "bob@contoso.com", "role": "attendee"},
        {"identity": {"application": {"id": "bot", "displayName": "Bot"}}},
        {"identity": {"device": {"id": "room-1"}, "phone": {"id": "+1 555"}}, "role": "presenter"}
    ]}
}"#;

fn app_token(app: &str, roles: &[&str]) -> String {
    let mut spec = TokenSpec::application(TENANT, app);
    spec.scopes = roles.iter().map(|role| role.to_string()).collect();
    mint_hs256(SECRET, &spec).unwrap()
}

fn settings_granting(grants: &[&str]) -> Settings {
    let mut app_access = AppAccessPolicy::default();
    for grant in grants {
        app_access.grant_spec(grant).unwrap();
    }
    Settings {
        app_access,
        dial_in: Some(meeting_core::DialIn {
            toll_number: "+1 555-749-0000".into(),
            base_url: meeting_core::DEFAULT_DIALIN_BASE_URL.into(),
        }),
        video_interop: true,
        ..Settings::default()
    }
}

fn server_with(settings: Settings) -> impl std::future::Future<Output = Server> {
    Server::start(MeetingService::new(Arc::new(MemoryStore::new())).with_settings(settings))
}

#[tokio::test]
async fn every_object_of_a_v1_answer_is_graphs_v1_online_meeting_member_for_member() {
    let server = server_with(settings_granting(&[])).await;
    let created = server.create_or_get("v1.0", &token(), FULL).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let existing = server.create_or_get("v1.0", &token(), FULL).await;
    assert_eq!(existing.status, 200, "{}", existing.text);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let got = server
        .get(
            &format!("/v1.0/me/onlineMeetings/{}", path_segment(&id)),
            &token(),
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    for (what, reply) in [
        ("created", &created),
        ("existing", &existing),
        ("GET", &got),
    ] {
        let answer = reply.json();
        assert_shape("v1.0", "onlineMeeting", &answer, what);
        // The members the seed's 2020 shape had and v1.0 no longer does are gone.
        for gone in [
            "autoAdmittedUsers",
            "capabilities",
            "outerMeetingAutoAdmittedUsers",
            "meetingInfo",
        ] {
            assert!(answer.get(gone).is_none(), "{what}: {gone}");
        }
        assert!(answer["participants"].get("producers").is_none(), "{what}");
    }
}

#[tokio::test]
async fn a_v1_meeting_carries_a_join_id_the_policys_options_and_graphs_generated_members() {
    let mut settings = settings_granting(&[]);
    settings.meeting_policy = MeetingPolicy {
        is_passcode_required: true,
        ..MeetingPolicy::default()
    };
    settings.meeting_policy.options.allowed_presenters = OnlineMeetingPresenters::Organizer;
    let server = server_with(settings).await;
    let reply = server.create_or_get("v1.0", &token(), FULL).await;
    let meeting = reply.json();
    let join = &meeting["joinMeetingIdSettings"];
    let join_id = join["joinMeetingId"].as_str().unwrap();
    assert!(
        join_id.len() == 12 && join_id.bytes().all(|b| b.is_ascii_digit()),
        "{join}"
    );
    assert_eq!(join["isPasscodeRequired"], true);
    assert_eq!(join["passcode"].as_str().map(str::len), Some(6));
    assert_eq!(meeting["allowedPresenters"], "organizer");
    assert_eq!(meeting["lobbyBypassSettings"]["scope"], "organization");
    assert_eq!(meeting["allowMeetingChat"], "enabled");
    assert_eq!(meeting["participants"]["organizer"]["role"], "presenter");
    assert_eq!(meeting["expiryDateTime"], "2027-01-30T10:00:00.0000000Z");
    assert_eq!(meeting["joinInformation"]["contentType"], "html");
    let link = meeting["joinInformation"]["content"].as_str().unwrap();
    assert!(link.starts_with("data:text/html,"), "{link}");
    assert!(
        meeting["meetingOptionsWebUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://teams.microsoft.com/meetingOptions/?organizerId=d4a060b5"),
        "{meeting}"
    );
    // Graph's current opaque id: base64 of `1*<organizer>*0**<thread>`.
    let id = meeting["id"].as_str().unwrap();
    assert!(id.starts_with("MSpk"), "{id}");
    // Another meeting, another join id.
    let other = server
        .create_or_get("v1.0", &token(), r#"{"externalId":"today-2"}"#)
        .await;
    assert_ne!(
        other.json()["joinMeetingIdSettings"]["joinMeetingId"],
        join_id
    );
}

#[tokio::test]
async fn a_meeting_keeps_its_id_whatever_profile_reads_it_and_beta_keeps_the_seeds_shape() {
    let server = server_with(settings_granting(&[])).await;
    let beta = server.create_or_get("beta", &token(), FULL).await.json();
    let v1 = server.create_or_get("v1.0", &token(), FULL).await.json();
    assert_eq!(beta["id"], v1["id"], "one meeting, one id");
    assert!(
        beta["id"].as_str().unwrap().starts_with(USER),
        "created through beta"
    );
    // The beta answer has exactly the seed's members.
    let seed: Value = serde_json::from_str(SEED_RESPONSE).unwrap();
    let members = |value: &Value| {
        value
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    let mut expected = members(&seed);
    expected.retain(|name| name != "@odata.context");
    let mut actual = members(&beta);
    actual.retain(|name| name != "@odata.context");
    assert_eq!(actual, expected);
    assert_shape(
        "v1.0",
        "onlineMeeting",
        &v1,
        "beta-created, read through v1.0",
    );
}

#[tokio::test]
async fn an_app_granted_by_policy_creates_for_the_user_in_its_path_with_the_users_key() {
    let mut settings = settings_granting(&[&format!("{APP}={USER}")]);
    let mut directory = Directory::default();
    directory.insert(
        USER.parse().unwrap(),
        DirectoryEntry {
            display_name: Some("Tyler Stein".into()),
            upn: Some("test1@contoso.com".into()),
        },
    );
    settings.directory = directory;
    let server = server_with(settings).await;
    let app = app_token(APP, &["OnlineMeetings.ReadWrite.All"]);
    let path = format!("/v1.0/users/{USER}/onlineMeetings/createOrGet");
    let created = server.post(&path, &app, r#"{"externalId":"by-app"}"#).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let meeting = created.json();
    let organizer = &meeting["participants"]["organizer"];
    assert_eq!(organizer["identity"]["user"]["id"], USER);
    assert_eq!(organizer["identity"]["user"]["displayName"], "Tyler Stein");
    assert_eq!(organizer["upn"], "test1@contoso.com");
    assert!(meeting["@odata.context"].as_str().unwrap().contains(USER));

    // The user's own delegated call with the same externalId finds that meeting:
    // the calling application is not part of the key.
    let own = server
        .create_or_get("v1.0", &token(), r#"{"externalId":"by-app"}"#)
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json()["id"], meeting["id"]);

    // Reading and deleting by id under the same path.
    let id = path_segment(meeting["id"].as_str().unwrap());
    let reader = app_token(APP, &["OnlineMeetings.Read.All"]);
    let read = server
        .get(&format!("/v1.0/users/{USER}/onlineMeetings/{id}"), &reader)
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
}

#[tokio::test]
async fn a_global_grant_lets_an_app_act_for_every_user() {
    let server = server_with(settings_granting(&[&format!("{APP}=*")])).await;
    let app = app_token(APP, &["OnlineMeetings.ReadWrite.All"]);
    for user in [USER, OTHER_USER] {
        let reply = server
            .post(
                &format!("/v1.0/users/{user}/onlineMeetings/createOrGet"),
                &app,
                r#"{"externalId":"global"}"#,
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        assert_eq!(
            reply.json()["participants"]["organizer"]["identity"]["user"]["id"],
            user
        );
    }
}

#[tokio::test]
async fn app_only_callers_are_refused_without_a_grant_a_role_a_users_path_or_on_beta() {
    let server = server_with(settings_granting(&[&format!("{APP}={USER}")])).await;
    let writer = app_token(APP, &["OnlineMeetings.ReadWrite.All"]);
    let body = r#"{"externalId":"refused"}"#;
    let users =
        |user: &str, version: &str| format!("/{version}/users/{user}/onlineMeetings/createOrGet");

    // Not granted: another app, or a user the grant does not name.
    for (token, user) in [
        (
            app_token(OTHER_APP, &["OnlineMeetings.ReadWrite.All"]),
            USER,
        ),
        (writer.clone(), OTHER_USER),
    ] {
        let message = server
            .post(&users(user, "v1.0"), &token, body)
            .await
            .assert_error(403, "Forbidden");
        assert_eq!(message, NO_POLICY_MESSAGE);
    }
    // Read.All does not create.
    let message = server
        .post(
            &users(USER, "v1.0"),
            &app_token(APP, &["OnlineMeetings.Read.All"]),
            body,
        )
        .await
        .assert_error(403, "Forbidden");
    assert!(
        message.contains("OnlineMeetings.ReadWrite.All"),
        "{message}"
    );
    // /me is for delegated tokens.
    let message = server
        .create_or_get("v1.0", &writer, body)
        .await
        .assert_error(403, "Forbidden");
    assert!(message.contains("/users/"), "{message}");
    // beta stays the seed's: no application permissions at all.
    let message = server
        .post(&users(USER, "beta"), &writer, body)
        .await
        .assert_error(403, "Forbidden");
    assert!(
        message.contains("application permissions are not supported"),
        "{message}"
    );
    // Nothing was stored by any of them: the user's own call creates.
    let own = server.create_or_get("v1.0", &token(), body).await;
    assert_eq!(own.status, 201, "{}", own.text);
}

#[tokio::test]
async fn an_app_names_the_user_by_object_id_so_one_user_has_one_meeting_per_key() {
    let server = server_with(settings_granting(&[&format!("{APP}=*")])).await;
    let app = app_token(APP, &["OnlineMeetings.ReadWrite.All"]);
    let body = r#"{"externalId":"one-per-key"}"#;
    let path = |user: &str| format!("/v1.0/users/{user}/onlineMeetings/createOrGet");
    let first = server.post(&path(USER), &app, body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    // The same object id in other forms names the same user: the same meeting.
    for form in [USER.to_ascii_uppercase(), format!("{{{USER}}}")] {
        let again = server.post(&path(&form), &app, body).await;
        assert_eq!(again.status, 200, "{form}: {}", again.text);
        assert_eq!(again.json()["id"], first.json()["id"], "{form}");
    }
    // A UPN is not an object id: refused, not a second organizer.
    let message = server
        .post(&path("test1@contoso.com"), &app, body)
        .await
        .assert_error(400, "BadRequest");
    assert!(message.contains("object id"), "{message}");
}
