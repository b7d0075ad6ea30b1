//! The rest of the onlineMeeting API over HTTP: create without a key, update,
//! and find by join link or join id, for delegated and app-only callers.

use super::*;
use meeting_core::access::AppAccessPolicy;
use meeting_core::Settings;
use meeting_tests::path_segment;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::json;

const APP: &str = "5a8e0d4c-1b2a-4c3d-9e8f-0a1b2c3d4e5f";

impl Server {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        Reply::read(request.send().await.expect("the server answers")).await
    }

    async fn patch(&self, path: &str, token: &str, body: &str) -> Reply {
        self.send(reqwest::Method::PATCH, path, token, &[], Some(body))
            .await
    }

    async fn find(&self, base: &str, token: &str, filter: &str) -> Reply {
        let encoded = utf8_percent_encode(filter, NON_ALPHANUMERIC).to_string();
        self.get(&format!("{base}?$filter={encoded}"), token).await
    }
}

fn app_token(roles: &[&str]) -> String {
    let mut spec = TokenSpec::application(TENANT, APP);
    spec.scopes = roles.iter().map(|role| role.to_string()).collect();
    mint_hs256(SECRET, &spec).unwrap()
}

fn delegated(user: &str, scope: &str) -> String {
    let mut spec = TokenSpec::delegated(TENANT, user);
    spec.scopes = vec![scope.to_owned()];
    mint_hs256(SECRET, &spec).unwrap()
}

async fn server() -> Server {
    let mut app_access = AppAccessPolicy::default();
    app_access.grant_spec(&format!("{APP}={USER}")).unwrap();
    let settings = Settings {
        app_access,
        ..Settings::default()
    };
    Server::start(memory_service().with_settings(settings)).await
}

/// A meeting made by `POST /v1.0/me/onlineMeetings`.
async fn created(server: &Server, body: &str) -> Value {
    let reply = server
        .post("/v1.0/me/onlineMeetings", &token(), body.to_owned())
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.json()
}

fn meeting_path(version: &str, meeting: &Value) -> String {
    format!(
        "/{version}/me/onlineMeetings/{}",
        path_segment(meeting["id"].as_str().unwrap())
    )
}

#[tokio::test]
async fn create_without_a_key_answers_201_and_every_call_makes_another_meeting() {
    let server = server().await;
    let body = r#"{"startDateTime":"2019-07-12T14:30:34.2444915-07:00",
                   "endDateTime":"2019-07-12T15:00:34.2464912-07:00",
                   "subject":"User Token Meeting"}"#;
    let first = created(&server, body).await;
    let second = created(&server, body).await;
    assert_ne!(first["id"], second["id"], "no key: each call creates");
    assert_eq!(first["subject"], "User Token Meeting");
    assert_eq!(first["externalId"], Value::Null);
    assert_eq!(first["startDateTime"], "2019-07-12T21:30:34.2444915Z");
    assert!(first["joinMeetingIdSettings"]["joinMeetingId"].is_string());
    assert!(first["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with(&format!("#users('{USER}')/onlineMeetings/$entity")));
    // beta creates too, in the seed's shape, with externalId null.
    let beta = server
        .post("/beta/me/onlineMeetings", &token(), r#"{"subject":"b"}"#)
        .await;
    assert_eq!(beta.status, 201, "{}", beta.text);
    assert_eq!(beta.json()["externalId"], Value::Null);
    // Found by id like any other.
    let found = server.get(&meeting_path("v1.0", &first), &token()).await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(found.json()["id"], first["id"]);
}

#[tokio::test]
async fn create_takes_options_and_the_passcode_requirement() {
    let server = server().await;
    let meeting = created(
        &server,
        r#"{"subject":"x","allowedPresenters":"organizer",
            "lobbyBypassSettings":{"scope":"everyone"},
            "joinMeetingIdSettings":{"isPasscodeRequired":true}}"#,
    )
    .await;
    assert_eq!(meeting["allowedPresenters"], "organizer");
    assert_eq!(meeting["lobbyBypassSettings"]["scope"], "everyone");
    assert_eq!(meeting["joinMeetingIdSettings"]["isPasscodeRequired"], true);
    assert_eq!(
        meeting["joinMeetingIdSettings"]["passcode"]
            .as_str()
            .unwrap()
            .len(),
        6
    );
}

#[tokio::test]
async fn create_refuses_bad_input_with_graphs_error() {
    let server = server().await;
    for (body, says) in [
        ("", "empty"),
        ("{", "malformed JSON"),
        (r#"{"subject": 5}"#, "subject"),
        (
            r#"{"endDateTime": "2026-01-01T09:00:00Z"}"#,
            "startDateTime",
        ),
        (r#"{"allowRecording": "yes"}"#, "allowRecording"),
        (
            r#"{"participants":{"organizer":{"identity":{"user":{"id":"someone-else"}}}}}"#,
            "organizer",
        ),
    ] {
        let reply = server
            .post("/v1.0/me/onlineMeetings", &token(), body.to_owned())
            .await;
        let message = reply.assert_error(400, "BadRequest");
        assert!(message.contains(says), "{body:?}: {message}");
    }
    let reply = server
        .send(
            reqwest::Method::POST,
            "/v1.0/me/onlineMeetings",
            &token(),
            &[("content-type", "text/plain")],
            None,
        )
        .await;
    reply.assert_error(415, "UnsupportedMediaType");
}

#[tokio::test]
async fn patch_changes_graphs_updatable_members_and_answers_the_whole_meeting() {
    let server = server().await;
    let meeting = created(&server, r#"{"subject":"before"}"#).await;
    let path = meeting_path("v1.0", &meeting);
    let reply = server
        .patch(
            &path,
            &token(),
            r#"{"startDateTime": "2020-09-09T14:33:30.8546353-07:00",
                "endDateTime": "2020-09-09T15:03:30.8566356-07:00",
                "subject": "Patch Meeting Subject",
                "participants": {"attendees": [{"upn": "bob@contoso.com", "role": "attendee"}]},
                "lobbyBypassSettings": {"isDialInBypassEnabled": true}}"#,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let patched = reply.json();
    assert_eq!(patched["subject"], "Patch Meeting Subject");
    assert_eq!(patched["startDateTime"], "2020-09-09T21:33:30.8546353Z");
    assert_eq!(patched["endDateTime"], "2020-09-09T22:03:30.8566356Z");
    assert_eq!(
        patched["participants"]["attendees"][0]["upn"],
        "bob@contoso.com"
    );
    assert_eq!(
        patched["lobbyBypassSettings"]["isDialInBypassEnabled"],
        true
    );
    assert_eq!(
        patched["lobbyBypassSettings"]["scope"], meeting["lobbyBypassSettings"]["scope"],
        "a member not named keeps its value"
    );
    for unchanged in [
        "id",
        "joinWebUrl",
        "joinMeetingIdSettings",
        "chatInfo",
        "creationDateTime",
    ] {
        assert_eq!(patched[unchanged], meeting[unchanged], "{unchanged}");
    }
    assert!(reply.header("etag").is_some());
    let read = server.get(&path, &token()).await;
    assert_eq!(read.json(), patched, "the change is stored");
    // beta answers in its shape, and accepts an end before the start as its createOrGet does.
    let beta = server
        .patch(
            &meeting_path("beta", &meeting),
            &token(),
            r#"{"startDateTime":"2026-01-01T10:00:00Z","endDateTime":"2026-01-01T09:00:00Z"}"#,
        )
        .await;
    assert_eq!(beta.status, 200, "{}", beta.text);
    assert_eq!(
        beta.json()["endDateTime"],
        "2026-01-01T09:00:00.0000000+00:00"
    );
}

#[tokio::test]
async fn patch_refuses_what_cannot_change_unknown_members_wrong_types_and_empty_bodies() {
    let server = server().await;
    let meeting = created(&server, r#"{"subject":"kept"}"#).await;
    let path = meeting_path("v1.0", &meeting);
    for (body, says) in [
        (
            r#"{"joinWebUrl": "https://example.com"}"#,
            "joinWebUrl: cannot be changed",
        ),
        (r#"{"id": "x"}"#, "id: cannot be changed"),
        (
            r#"{"joinMeetingIdSettings": {"isPasscodeRequired": true}}"#,
            "cannot be changed",
        ),
        (
            r#"{"participants": {"organizer": {"upn": "x@contoso.com"}}}"#,
            "participants.organizer: cannot be changed",
        ),
        (r#"{"subjct": "typo"}"#, "'subjct' does not exist"),
        (r#"{"subject": 5}"#, "subject"),
        (r#"{"allowedPresenters": "nobody"}"#, "allowedPresenters"),
        (
            r#"{"startDateTime": "2026-01-01T09:00:00Z"}"#,
            "endDateTime: is required",
        ),
        (
            r#"{"startDateTime":"2026-01-01T10:00:00Z","endDateTime":"2026-01-01T09:00:00Z"}"#,
            "must not be earlier",
        ),
        ("", "empty"),
        ("[]", "JSON object"),
        ("{", "malformed JSON"),
    ] {
        let reply = server.patch(&path, &token(), body).await;
        let message = reply.assert_error(400, "BadRequest");
        assert!(message.contains(says), "{body:?}: {message}");
    }
    let read = server.get(&path, &token()).await;
    assert_eq!(read.json()["subject"], "kept", "nothing was changed");
    let reply = server.patch(&path, &token(), "{}").await;
    assert_eq!(reply.status, 200, "an empty object changes nothing");
    assert_eq!(reply.json(), read.json());
}

#[tokio::test]
async fn patch_of_another_users_or_an_unknown_meeting_is_404_and_needs_read_write() {
    let server = server().await;
    let meeting = created(&server, r#"{"subject":"mine"}"#).await;
    let path = meeting_path("v1.0", &meeting);
    let reply = server
        .patch(&path, &token_for(OTHER_USER), r#"{"subject":"theirs"}"#)
        .await;
    reply.assert_error(404, "NotFound");
    let reply = server
        .patch(
            "/v1.0/me/onlineMeetings/no-such-id",
            &token(),
            r#"{"subject":"x"}"#,
        )
        .await;
    reply.assert_error(404, "NotFound");
    let reply = server
        .patch(
            &path,
            &delegated(USER, "OnlineMeetings.Read"),
            r#"{"subject":"x"}"#,
        )
        .await;
    let message = reply.assert_error(403, "Forbidden");
    assert!(message.contains("OnlineMeetings.ReadWrite"), "{message}");
    assert_eq!(server.get(&path, &token()).await.json()["subject"], "mine");
}

#[tokio::test]
async fn if_match_with_the_current_etag_updates_and_a_stale_one_is_412() {
    let server = server().await;
    let meeting = created(&server, r#"{"subject":"v1"}"#).await;
    let path = meeting_path("v1.0", &meeting);
    let read = server.get(&path, &token()).await;
    let etag = read.header("etag").expect("GET answers an ETag").to_owned();
    let patch = |tag: String, subject: &'static str| {
        let (server, path) = (&server, path.clone());
        async move {
            server
                .send(
                    reqwest::Method::PATCH,
                    &path,
                    &token(),
                    &[("if-match", tag.as_str())],
                    Some(&format!(r#"{{"subject":"{subject}"}}"#)),
                )
                .await
        }
    };
    let first = patch(etag.clone(), "v2").await;
    assert_eq!(first.status, 200, "{}", first.text);
    let new_tag = first.header("etag").unwrap().to_owned();
    assert_ne!(new_tag, etag);
    let stale = patch(etag, "lost").await;
    let message = stale.assert_error(412, "PreconditionFailed");
    assert!(message.contains("GET it again"), "{message}");
    assert_eq!(server.get(&path, &token()).await.json()["subject"], "v2");
    assert_eq!(patch("*".to_owned(), "v3").await.status, 200);
    assert_eq!(
        patch(
            format!(
                "W/\"0000000000000000\", {}",
                server.get(&path, &token()).await.header("etag").unwrap()
            ),
            "v4"
        )
        .await
        .status,
        200,
        "any tag of the list may match"
    );
}

#[tokio::test]
async fn concurrent_patches_of_different_members_all_take_effect() {
    let server = server().await;
    let meeting = created(&server, r#"{"subject":"race"}"#).await;
    let path = meeting_path("v1.0", &meeting);
    let changes = [
        r#"{"subject": "changed"}"#,
        r#"{"allowedPresenters": "organizer"}"#,
        r#"{"allowMeetingChat": "disabled"}"#,
        r#"{"recordAutomatically": true}"#,
        r#"{"isEntryExitAnnounced": false}"#,
        r#"{"participants": {"attendees": [{"upn": "a@contoso.com"}]}}"#,
        r#"{"startDateTime": "2027-01-01T09:00:00Z", "endDateTime": "2027-01-01T10:00:00Z"}"#,
        r#"{"watermarkProtection": {"isEnabledForVideo": true}}"#,
    ];
    let caller = token();
    let replies = futures_join(
        changes
            .iter()
            .map(|body| server.patch(&path, &caller, body)),
    )
    .await;
    for reply in replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let stored = server.get(&path, &token()).await.json();
    assert_eq!(stored["subject"], "changed");
    assert_eq!(stored["allowedPresenters"], "organizer");
    assert_eq!(stored["allowMeetingChat"], "disabled");
    assert_eq!(stored["recordAutomatically"], true);
    assert_eq!(stored["isEntryExitAnnounced"], false);
    assert_eq!(
        stored["participants"]["attendees"][0]["upn"],
        "a@contoso.com"
    );
    assert_eq!(stored["startDateTime"], "2027-01-01T09:00:00.0000000Z");
    assert_eq!(stored["watermarkProtection"]["isEnabledForVideo"], true);
}

/// Runs the futures concurrently on this task and returns their outputs in order.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (future, output) in set.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(context) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|output| output.unwrap()).collect()
}

#[tokio::test]
async fn find_by_join_link_and_join_id_answers_a_collection_of_the_callers_meeting() {
    let server = server().await;
    let meeting = created(&server, r#"{"subject":"findable"}"#).await;
    let link = meeting["joinWebUrl"].as_str().unwrap();
    let join_id = meeting["joinMeetingIdSettings"]["joinMeetingId"]
        .as_str()
        .unwrap();
    for filter in [
        format!("JoinWebUrl eq '{link}'"),
        format!("joinWebUrl eq '{}'", link.replace("%3a", "%3A")),
        format!("joinMeetingIdSettings/joinMeetingId eq '{join_id}'"),
    ] {
        let reply = server
            .find("/v1.0/me/onlineMeetings", &token(), &filter)
            .await;
        assert_eq!(reply.status, 200, "{filter}: {}", reply.text);
        let body = reply.json();
        assert_eq!(
            body.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["@odata.context", "value"]
        );
        assert_eq!(
            body["@odata.context"],
            format!(
                "{}/v1.0/$metadata#users('{USER}')/onlineMeetings",
                server.base
            )
        );
        let value = body["value"].as_array().unwrap();
        assert_eq!(value.len(), 1, "{filter}");
        assert_eq!(value[0]["id"], meeting["id"]);
        assert_eq!(value[0]["subject"], "findable");
        assert!(value[0].get("@odata.context").is_none());
    }
    // Graph's own example writes the query unencoded but for the link.
    let graph_style = format!(
        "/v1.0/me/onlineMeetings?$filter=JoinWebUrl%20eq%20'{}'",
        utf8_percent_encode(link, NON_ALPHANUMERIC)
    );
    let reply = server.get(&graph_style, &token()).await;
    assert_eq!(reply.json()["value"][0]["id"], meeting["id"]);
}

#[tokio::test]
async fn find_answers_an_empty_collection_for_no_match_another_users_meeting_or_after_delete() {
    let server = server().await;
    let meeting = created(&server, r#"{"subject":"private"}"#).await;
    let link = meeting["joinWebUrl"].as_str().unwrap().to_owned();
    let by_link = format!("JoinWebUrl eq '{link}'");
    let empty = |reply: Reply| {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.json()["value"], json!([]));
    };
    empty(
        server
            .find("/v1.0/me/onlineMeetings", &token_for(OTHER_USER), &by_link)
            .await,
    );
    empty(
        server
            .find(
                "/v1.0/me/onlineMeetings",
                &token(),
                "JoinWebUrl eq 'https://nowhere'",
            )
            .await,
    );
    empty(
        server
            .find(
                "/v1.0/me/onlineMeetings",
                &token(),
                "joinMeetingIdSettings/joinMeetingId eq '0'",
            )
            .await,
    );
    let deleted = server
        .send(
            reqwest::Method::DELETE,
            &meeting_path("v1.0", &meeting),
            &token(),
            &[],
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    empty(
        server
            .find("/v1.0/me/onlineMeetings", &token(), &by_link)
            .await,
    );
}

#[tokio::test]
async fn find_refuses_a_missing_or_unsupported_filter_with_graphs_400() {
    let server = server().await;
    let reply = server.get("/v1.0/me/onlineMeetings", &token()).await;
    let message = reply.assert_error(400, "BadRequest");
    assert!(message.contains("Filter expression expected"), "{message}");
    for (filter, says) in [
        ("subject eq 'x'", "cannot be filtered by subject"),
        ("JoinWebUrl ne 'x'", "operator ne"),
        ("startswith(JoinWebUrl,'x')", "functions"),
        (
            "JoinWebUrl eq 'a' or JoinWebUrl eq 'b'",
            "only one comparison",
        ),
        ("JoinWebUrl eq 'unterminated", "not closed"),
        (
            "joinMeetingIdSettings/joinMeetingId eq 123",
            "not a string literal",
        ),
    ] {
        let reply = server
            .find("/v1.0/me/onlineMeetings", &token(), filter)
            .await;
        let message = reply.assert_error(400, "BadRequest");
        assert!(message.contains(says), "{filter:?}: {message}");
    }
    let reply = server.get("/v1.0/me/onlineMeetings?$top=1", &token()).await;
    assert!(reply.assert_error(400, "BadRequest").contains("$top"));
    let reply = server
        .get("/v1.0/me/onlineMeetings?$filter=%FF", &token())
        .await;
    reply.assert_error(400, "BadRequest");
}

#[tokio::test]
async fn app_only_callers_create_update_and_find_for_the_user_their_policy_grants() {
    let server = server().await;
    let base = format!("/v1.0/users/{USER}/onlineMeetings");
    let writer = app_token(&["OnlineMeetings.ReadWrite.All"]);
    let reader = app_token(&["OnlineMeetings.Read.All"]);
    let reply = server.post(&base, &writer, r#"{"subject":"by app"}"#).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let meeting = reply.json();
    assert_eq!(
        meeting["participants"]["organizer"]["identity"]["user"]["id"],
        USER
    );
    let path = format!("{base}/{}", path_segment(meeting["id"].as_str().unwrap()));
    let reply = server
        .patch(&path, &writer, r#"{"subject":"renamed by app"}"#)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let link = meeting["joinWebUrl"].as_str().unwrap();
    let found = server
        .find(&base, &reader, &format!("JoinWebUrl eq '{link}'"))
        .await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(found.json()["value"][0]["subject"], "renamed by app");
    // The user's own delegated lookup finds the app's meeting.
    let mine = server
        .find(
            "/v1.0/me/onlineMeetings",
            &token(),
            &format!("JoinWebUrl eq '{link}'"),
        )
        .await;
    assert_eq!(mine.json()["value"][0]["id"], meeting["id"]);
    // Read.All may find but not create or update; no grant for another user; not on /me or beta.
    server
        .post(&base, &reader, r#"{"subject":"x"}"#)
        .await
        .assert_error(403, "Forbidden");
    server
        .patch(&path, &reader, r#"{"subject":"x"}"#)
        .await
        .assert_error(403, "Forbidden");
    let other = format!("/v1.0/users/{OTHER_USER}/onlineMeetings");
    let message = server
        .find(&other, &writer, &format!("JoinWebUrl eq '{link}'"))
        .await
        .assert_error(403, "Forbidden");
    assert!(
        message.contains("No Application Access Policy"),
        "{message}"
    );
    server
        .post("/v1.0/me/onlineMeetings", &writer, r#"{"subject":"x"}"#)
        .await
        .assert_error(403, "Forbidden");
    server
        .post(
            &format!("/beta/users/{USER}/onlineMeetings"),
            &writer,
            r#"{"subject":"x"}"#,
        )
        .await
        .assert_error(403, "Forbidden");
}

#[tokio::test]
async fn access_is_refused_before_the_body_or_filter_is_read() {
    let server = server().await;
    let reader = delegated(USER, "OnlineMeetings.Read");
    // A malformed body from a caller who may not create is a 403, not a 400.
    server
        .post("/v1.0/me/onlineMeetings", &reader, "{")
        .await
        .assert_error(403, "Forbidden");
    let none = delegated(USER, "User.Read");
    server
        .get("/v1.0/me/onlineMeetings?$filter=bogus", &none)
        .await
        .assert_error(403, "Forbidden");
    // Reading scope is enough to find.
    let found = server
        .find("/v1.0/me/onlineMeetings", &reader, "JoinWebUrl eq 'x'")
        .await;
    assert_eq!(found.status, 200, "{}", found.text);
}
