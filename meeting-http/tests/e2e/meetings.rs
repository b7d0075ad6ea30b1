//! The operation over the wire: the seed, the profiles, the key, GET and DELETE.

use super::*;
use meeting_tests::seed;

/// The seed's organizer, as a token would name them.
fn seed_token() -> String {
    let mut spec = meeting_http::auth::TokenSpec::delegated(TENANT, USER);
    spec.name = Some("Tyler Stein".into());
    spec.upn = Some("test1@contoso.com".into());
    mint_hs256(SECRET, &spec).unwrap()
}

fn seed_service() -> MeetingService {
    memory_service().with_settings(seed::settings())
}

#[tokio::test]
async fn seed_request_on_beta_returns_200_and_the_seed_shape_with_odata_context_first() {
    let server = Server::start(seed_service()).await;
    let reply = server
        .create_or_get("beta", &seed_token(), SEED_REQUEST)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some(CONTENT_TYPE));
    assert!(reply.header("request-id").is_some());
    assert!(reply.header("client-request-id").is_some());

    // On the wire: @odata.context first, @odata.type second.
    let expected_context = format!(
        "{}/beta/$metadata#users('{USER}')/onlineMeetings/$entity",
        server.base
    );
    assert!(
        reply.text.starts_with(&format!(
            r##"{{"@odata.context":"{expected_context}","@odata.type":"#microsoft.graph.onlineMeeting","##
        )),
        "{}",
        reply.text
    );

    let mut actual = reply.json();
    actual
        .as_object_mut()
        .unwrap()
        .shift_remove("@odata.context");
    let mut expected: Value = serde_json::from_str(SEED_RESPONSE).unwrap();
    // The seed puts @odata.context near the end; the spec moves it first (checked above).
    expected
        .as_object_mut()
        .unwrap()
        .shift_remove("@odata.context");
    // The clock is the real one here, so creationDateTime is generated too.
    seed::assert_same_shape(&expected, &actual, &["creationDateTime"]);

    // Generated members by format.
    let created = actual["creationDateTime"].as_str().unwrap();
    assert!(
        created.len() == 33 && created.ends_with("+00:00"),
        "{created}"
    );
    let thread = actual["chatInfo"]["threadId"].as_str().unwrap();
    assert!(thread.starts_with("19:meeting_") && thread.ends_with("@thread.v2"));
    assert_eq!(actual["id"], format!("{USER}_{thread}"));
    assert!(actual["joinWebUrl"]
        .as_str()
        .unwrap()
        .starts_with("https://devspaces.skype.com/l/meetup-join/19%3ameeting_"));
    let conference = actual["audioConferencing"]["conferenceId"]
        .as_str()
        .unwrap();
    assert!(conference.len() == 9 && conference.bytes().all(|b| b.is_ascii_digit()));
    assert!(actual["audioConferencing"]["dialinUrl"]
        .as_str()
        .unwrap()
        .ends_with(&format!("?id={conference}")));
    let video = actual["videoTeleconferenceId"].as_str().unwrap();
    assert!(video.len() == 10 && video.bytes().all(|b| b.is_ascii_digit()));
}

#[tokio::test]
async fn v1_answers_201_when_created_then_200_when_existing() {
    let server = Server::start(memory_service()).await;
    let body = r#"{"externalId":"v1-key","subject":"Sync"}"#;
    // Whole seconds down: the clock's value may be truncated to 100 ns.
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let first = server.create_or_get("v1.0", &token(), body).await;
    let after = chrono::Utc::now();
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.text.starts_with(r#"{"@odata.context":""#));
    assert!(first.json()["@odata.context"]
        .as_str()
        .unwrap()
        .contains("/v1.0/$metadata#users('"));
    let again = server.create_or_get("v1.0", &token(), body).await;
    assert_eq!(again.status, 200);
    assert_eq!(first.json()["id"], again.json()["id"]);
    // v1.0 defaults: start = now, end = start + 1 h.
    let meeting = first.json();
    let time = |member: &str| {
        let text = meeting[member]
            .as_str()
            .unwrap_or_else(|| panic!("{member}"));
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("{member} {text}: {e}"))
            .with_timezone(&chrono::Utc)
    };
    let (start, end) = (time("startDateTime"), time("endDateTime"));
    assert!(
        before <= start && start <= after,
        "start {start} is the time of the call, between {before} and {after}"
    );
    assert_eq!(end - start, chrono::Duration::hours(1), "{start} to {end}");
}

#[tokio::test]
async fn a_retry_with_the_same_external_id_and_another_subject_returns_the_same_meeting() {
    let server = Server::start(memory_service()).await;
    let first = server
        .create_or_get(
            "beta",
            &token(),
            r#"{"externalId":"retry","subject":"First"}"#,
        )
        .await;
    let second = server
        .create_or_get(
            "beta",
            &token(),
            r#"{"externalId":"retry","subject":"Second"}"#,
        )
        .await;
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(first.json()["id"], second.json()["id"]);
    assert_eq!(second.json()["subject"], "First");
    assert_eq!(first.text, second.text, "the stored meeting, byte for byte");
}

#[tokio::test]
async fn another_user_of_the_tenant_gets_another_meeting_and_cannot_read_the_first() {
    let server = Server::start(memory_service()).await;
    let body = r#"{"externalId":"shared-key"}"#;
    let mine = server.create_or_get("v1.0", &token(), body).await.json();
    let other_token = token_for(OTHER_USER);
    let theirs = server.create_or_get("v1.0", &other_token, body).await;
    assert_eq!(theirs.status, 201);
    assert_ne!(mine["id"], theirs.json()["id"]);

    let id = meeting_tests::path_segment(mine["id"].as_str().unwrap());
    let reply = server
        .get(&format!("/v1.0/me/onlineMeetings/{id}"), &other_token)
        .await;
    reply.assert_error(404, "NotFound");
}

#[tokio::test]
async fn get_returns_the_callers_meeting_and_delete_frees_the_key() {
    let server = Server::start(memory_service()).await;
    let body = r#"{"externalId":"to-delete"}"#;
    let created = server.create_or_get("v1.0", &token(), body).await;
    let meeting = created.json();
    let id = meeting_tests::path_segment(meeting["id"].as_str().unwrap());
    let path = format!("/v1.0/me/onlineMeetings/{id}");

    let read = server.get(&path, &token()).await;
    assert_eq!(read.status, 200);
    assert_eq!(
        read.text, created.text,
        "GET returns the meeting as created"
    );

    let deleted = server
        .client
        .delete(server.url(&path))
        .bearer_auth(token())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(deleted.headers()["request-id"].len(), 36);

    server
        .get(&path, &token())
        .await
        .assert_error(404, "NotFound");
    let again = server.create_or_get("v1.0", &token(), body).await;
    assert_eq!(again.status, 201, "the key is free again");
    assert_ne!(again.json()["id"], meeting["id"]);
}

#[tokio::test]
async fn users_route_is_me_when_it_names_the_caller_by_id_or_upn_case_insensitively() {
    let server = Server::start(memory_service()).await;
    let body = r#"{"externalId":"by-users"}"#;
    let by_id = server
        .post(
            &format!(
                "/beta/users/{}/onlineMeetings/createOrGet",
                USER.to_uppercase()
            ),
            &token(),
            body,
        )
        .await;
    assert_eq!(by_id.status, 200, "{}", by_id.text);
    let upn = format!("{}@CONTOSO.com", USER.to_uppercase());
    let by_upn = server
        .post(
            &format!("/beta/users/{upn}/onlineMeetings/createOrGet"),
            &token(),
            body,
        )
        .await;
    assert_eq!(by_upn.json()["id"], by_id.json()["id"]);
    let me = server.create_or_get("beta", &token(), body).await;
    assert_eq!(me.json()["id"], by_id.json()["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_requests_with_one_new_external_id_all_succeed_with_one_id() {
    let server = Arc::new(Server::start(memory_service()).await);
    let token = token();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let server = server.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let body = format!(r#"{{"externalId":"race","subject":"attempt {i}"}}"#);
                server.create_or_get("v1.0", &token, &body).await
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        assert!(matches!(reply.status, 200 | 201), "{}", reply.text);
        created += usize::from(reply.status == 201);
        ids.insert(reply.json()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "one meeting");
    assert_eq!(created, 1, "exactly one caller created it");
}

#[tokio::test]
async fn client_request_id_is_echoed_and_request_id_is_fresh() {
    let server = Server::start(memory_service()).await;
    let response = server
        .client
        .post(server.url("/beta/me/onlineMeetings/createOrGet"))
        .bearer_auth(token())
        .header("content-type", "application/json")
        .header("client-request-id", "my-correlation-42")
        .body(r#"{"externalId":"echo"}"#)
        .send()
        .await
        .unwrap();
    let reply = Reply::read(response).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("client-request-id"), Some("my-correlation-42"));
    assert_ne!(reply.header("request-id"), Some("my-correlation-42"));
}

#[tokio::test]
async fn request_ids_are_random_version_4_uuids_sharing_no_prefix() {
    let server = Server::start(memory_service()).await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        let reply = server.get("/healthz", "").await;
        ids.push(reply.header("request-id").unwrap().to_owned());
    }
    for id in &ids {
        let uuid = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(uuid.get_version_num(), 4, "{id}");
        assert_eq!(uuid.hyphenated().to_string(), *id, "lower-case, hyphenated");
    }
    // A per-process prefix and a counter would share their first groups.
    let first_groups: std::collections::HashSet<&str> = ids.iter().map(|id| &id[..8]).collect();
    assert_eq!(first_groups.len(), ids.len(), "{ids:?}");
}

#[tokio::test]
async fn healthz_answers_200_when_the_store_answers() {
    let server = Server::start(memory_service()).await;
    let reply = server.get("/healthz", "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some(CONTENT_TYPE));
}

#[tokio::test]
async fn users_routes_read_and_delete_the_callers_meeting_and_refuse_someone_elses() {
    let server = Server::start(memory_service()).await;
    let created = server
        .create_or_get("v1.0", &token(), r#"{"externalId":"users-get"}"#)
        .await
        .json();
    let id = meeting_tests::path_segment(created["id"].as_str().unwrap());
    let mine = format!("/v1.0/users/{USER}/onlineMeetings/{id}");
    let read = server.get(&mine, &token()).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["id"], created["id"]);
    server
        .get(
            &format!("/v1.0/users/{OTHER_USER}/onlineMeetings/{id}"),
            &token(),
        )
        .await
        .assert_error(403, "Forbidden");
    let deleted = server
        .client
        .delete(server.url(&mine))
        .bearer_auth(token())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    server
        .get(&mine, &token())
        .await
        .assert_error(404, "NotFound");
}

#[tokio::test]
async fn a_malformed_meeting_id_in_the_path_gets_graphs_error_shape() {
    let server = Server::start(memory_service()).await;
    let reply = server.get("/v1.0/me/onlineMeetings/%FF%FE", &token()).await;
    assert!(matches!(reply.status, 400 | 404), "{}", reply.status);
    reply.assert_error(
        reply.status,
        if reply.status == 400 {
            "BadRequest"
        } else {
            "NotFound"
        },
    );
}

#[tokio::test]
async fn client_request_id_defaults_to_the_request_id_and_an_over_long_one_is_replaced() {
    let server = Server::start(memory_service()).await;
    let send = |client_request_id: Option<String>, token: String| {
        let mut request = server
            .client
            .post(server.url("/beta/me/onlineMeetings/createOrGet"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(r#"{"externalId":"client-request-id"}"#);
        if let Some(id) = client_request_id {
            request = request.header("client-request-id", id);
        }
        async move { Reply::read(request.send().await.unwrap()).await }
    };
    let at_limit = "c".repeat(128);
    let past_limit = "c".repeat(129);
    // (sent, echoed): `None` echoed is the answer's own request id.
    let cases = [
        (None, None),
        (Some("my-correlation-42"), Some("my-correlation-42")),
        (Some(at_limit.as_str()), Some(at_limit.as_str())),
        (Some(past_limit.as_str()), None),
        (Some(""), None),
    ];
    for (sent, echoed) in cases {
        // On a success and on an error (a token that is not one) alike.
        for token in [token(), "not-a-token".to_owned()] {
            let reply = send(sent.map(str::to_owned), token.clone()).await;
            let request_id = reply.header("request-id").expect("a request id").to_owned();
            uuid::Uuid::parse_str(&request_id).unwrap();
            let expected = echoed.unwrap_or(&request_id);
            assert_eq!(
                reply.header("client-request-id"),
                Some(expected),
                "sent {sent:?}, status {}",
                reply.status
            );
            if reply.status == 401 {
                // The error body names the same ids as the headers.
                reply.assert_error(401, "InvalidAuthenticationToken");
                assert_eq!(
                    reply.json()["error"]["innerError"]["client-request-id"],
                    expected
                );
            } else {
                assert_eq!(reply.status, 200, "{}", reply.text);
            }
        }
    }
}
