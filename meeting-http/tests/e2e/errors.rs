//! Every status of spec section 5 over the wire, each in Graph's error shape,
//! the bounds of spec section 2 at the limit and one past it, and the order of checks.

use super::*;
use serde_json::json;

async fn create(server: &Server, body: impl Into<reqwest::Body>) -> Reply {
    server
        .post("/beta/me/onlineMeetings/createOrGet", &token(), body)
        .await
}

async fn create_v1(server: &Server, body: &Value) -> Reply {
    server
        .create_or_get("v1.0", &token(), &body.to_string())
        .await
}

#[tokio::test]
async fn malformed_json_is_400_and_says_where() {
    let server = Server::start(memory_service()).await;
    let message = create(&server, r#"{"externalId": "k",}"#)
        .await
        .assert_error(400, "BadRequest");
    assert!(message.contains("line 1"), "{message}");
    for body in [
        "",
        "{",
        "[]",
        "null",
        "\"text\"",
        "{\"externalId\":\"k\"} trailing",
    ] {
        create(&server, body).await.assert_error(400, "BadRequest");
    }
}

#[tokio::test]
async fn wrong_types_are_400_naming_the_member() {
    let server = Server::start(memory_service()).await;
    let cases = [
        (json!({"externalId": 5}), "externalId"),
        (json!({"externalId": "k", "subject": ["x"]}), "subject"),
        (
            json!({"externalId": "k", "startDateTime": "yesterday"}),
            "startDateTime",
        ),
        (
            json!({"externalId": "k", "participants": {"attendees": [{}, {"upn": 5}]}}),
            "participants.attendees[1].upn",
        ),
        (json!({"externalId": "k", "chatInfo": "thread"}), "chatInfo"),
    ];
    for (body, member) in cases {
        let message = create(&server, body.to_string())
            .await
            .assert_error(400, "BadRequest");
        assert!(message.contains(member), "{member}: {message}");
    }
}

#[tokio::test]
async fn a_missing_or_empty_external_id_is_400() {
    let server = Server::start(memory_service()).await;
    for body in [
        json!({}),
        json!({"externalId": ""}),
        json!({"externalId": null}),
    ] {
        let message = create(&server, body.to_string())
            .await
            .assert_error(400, "BadRequest");
        assert!(message.contains("externalId"), "{message}");
    }
}

#[tokio::test]
async fn an_organizer_other_than_the_caller_is_400() {
    let server = Server::start(memory_service()).await;
    let body = json!({"externalId": "k", "participants": {"organizer": {"identity": {"user": {"id": OTHER_USER}}}}});
    let message = create(&server, body.to_string())
        .await
        .assert_error(400, "BadRequest");
    assert!(
        message.contains("participants.organizer.identity.user.id"),
        "{message}"
    );
}

#[tokio::test]
async fn external_id_of_256_characters_passes_and_257_is_400() {
    let server = Server::start(memory_service()).await;
    let at_limit = "é".repeat(256);
    assert_eq!(
        create(&server, json!({"externalId": at_limit}).to_string())
            .await
            .status,
        200
    );
    create(&server, json!({"externalId": "é".repeat(257)}).to_string())
        .await
        .assert_error(400, "BadRequest");
}

#[tokio::test]
async fn a_control_character_in_external_id_is_400() {
    let server = Server::start(memory_service()).await;
    create(&server, json!({"externalId": "a\u{7}b"}).to_string())
        .await
        .assert_error(400, "BadRequest");
}

#[tokio::test]
async fn subject_of_1024_characters_passes_and_1025_is_400() {
    let server = Server::start(memory_service()).await;
    let ok = json!({"externalId": "s1", "subject": "ß".repeat(1024)});
    assert_eq!(create(&server, ok.to_string()).await.status, 200);
    let over = json!({"externalId": "s2", "subject": "ß".repeat(1025)});
    let message = create(&server, over.to_string())
        .await
        .assert_error(400, "BadRequest");
    assert!(message.contains("subject"), "{message}");
}

#[tokio::test]
async fn a_thousand_attendees_pass_and_1001_is_400() {
    let server = Server::start(memory_service()).await;
    let attendees = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"identity": {"user": {"id": format!("user-{i}")}}, "upn": format!("u{i}@contoso.com")}))
            .collect()
    };
    let ok = json!({"externalId": "a1", "participants": {"attendees": attendees(1000)}});
    let reply = create(&server, ok.to_string()).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        &reply.text[..200.min(reply.text.len())]
    );
    assert_eq!(
        reply.json()["participants"]["attendees"]
            .as_array()
            .unwrap()
            .len(),
        1000
    );
    let over = json!({"externalId": "a2", "participants": {"attendees": attendees(1001)}});
    let message = create(&server, over.to_string())
        .await
        .assert_error(400, "BadRequest");
    assert!(message.contains("participants.attendees"), "{message}");
}

#[tokio::test]
async fn json_nesting_of_128_levels_passes_and_129_is_400() {
    let server = Server::start(memory_service()).await;
    // The body object is level 1; an unknown member holds the rest.
    let nested = |levels: usize| {
        format!(
            r#"{{"externalId":"deep-{levels}","x":{}{}}}"#,
            "[".repeat(levels - 1),
            "]".repeat(levels - 1)
        )
    };
    assert_eq!(create(&server, nested(128)).await.status, 200);
    let message = create(&server, nested(129))
        .await
        .assert_error(400, "BadRequest");
    assert!(message.contains("nesting"), "{message}");
}

#[tokio::test]
async fn date_times_in_years_0001_to_9999_pass_and_beyond_is_400() {
    let server = Server::start(memory_service()).await;
    let ok = json!({"externalId": "d1", "startDateTime": "0001-01-01T00:00:00Z", "endDateTime": "9999-12-31T23:59:59.9999999Z"});
    let reply = create_v1(&server, &ok).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    // v1.0 writes date-times with `Z`, as Graph v1.0 does today.
    assert_eq!(
        reply.json()["startDateTime"],
        "0001-01-01T00:00:00.0000000Z"
    );
    assert_eq!(reply.json()["endDateTime"], "9999-12-31T23:59:59.9999999Z");
    for (member, value) in [
        ("startDateTime", "0001-01-01T00:00:00+01:00"),
        ("endDateTime", "9999-12-31T23:30:00-01:00"),
        ("startDateTime", "0000-12-31T00:00:00Z"),
    ] {
        let body = json!({"externalId": "d2", member: value});
        let message = create(&server, body.to_string())
            .await
            .assert_error(400, "BadRequest");
        assert!(message.contains(member), "{value}: {message}");
    }
    // v1.0: the default end (start + 1 h) must stay in year 9999.
    let late = json!({"externalId": "d3", "startDateTime": "9999-12-31T23:30:00Z"});
    create_v1(&server, &late)
        .await
        .assert_error(400, "BadRequest");
}

#[tokio::test]
async fn v1_refuses_an_end_alone_or_before_the_start() {
    let server = Server::start(memory_service()).await;
    let end_only = json!({"externalId": "e1", "endDateTime": "2026-01-01T10:00:00Z"});
    create_v1(&server, &end_only)
        .await
        .assert_error(400, "BadRequest");
    let backwards = json!({"externalId": "e2", "startDateTime": "2026-01-01T10:00:00Z", "endDateTime": "2026-01-01T09:00:00Z"});
    create_v1(&server, &backwards)
        .await
        .assert_error(400, "BadRequest");
    // beta accepts both, as the seed did.
    assert_eq!(create(&server, backwards.to_string()).await.status, 200);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let server = Server::start(memory_service()).await;
    for content_type in [Some("text/plain"), Some("application/xml"), None] {
        let mut request = server
            .client
            .post(server.url("/beta/me/onlineMeetings/createOrGet"))
            .bearer_auth(token())
            .body(r#"{"externalId":"k"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        Reply::read(request.send().await.unwrap())
            .await
            .assert_error(415, "UnsupportedMediaType");
    }
    // Parameters are fine.
    let reply = Reply::read(
        server
            .client
            .post(server.url("/beta/me/onlineMeetings/createOrGet"))
            .bearer_auth(token())
            .header("content-type", "Application/JSON; charset=utf-8")
            .body(r#"{"externalId":"k"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn a_body_of_4_mib_passes_and_5_mib_is_413() {
    let server = Server::start(memory_service()).await;
    let padded = |size: usize| {
        let head = r#"{"externalId":"big","padding":""#;
        let tail = r#""}"#;
        format!("{head}{}{tail}", "x".repeat(size - head.len() - tail.len()))
    };
    let at_limit = padded(meeting_http::BODY_LIMIT);
    assert_eq!(at_limit.len(), 4 * 1024 * 1024);
    assert_eq!(create(&server, at_limit).await.status, 200);
    create(&server, padded(meeting_http::BODY_LIMIT + 1))
        .await
        .assert_error(413, "RequestEntityTooLarge");
    create(&server, padded(5 * 1024 * 1024))
        .await
        .assert_error(413, "RequestEntityTooLarge");
    // Streamed in chunks without a length, too.
    let mut request = format!(
        "POST /beta/me/onlineMeetings/createOrGet HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        token()
    )
    .into_bytes();
    for _ in 0..5 {
        request.extend_from_slice(format!("{:x}\r\n", 1024 * 1024).as_bytes());
        request.extend_from_slice(&vec![b' '; 1024 * 1024]);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = raw_exchange(&server.base, &request).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains(r#""code":"RequestEntityTooLarge""#),
        "{answer}"
    );
}

#[tokio::test]
async fn an_unknown_route_is_404() {
    let server = Server::start(memory_service()).await;
    for path in [
        "/",
        "/beta/me/events",
        "/v2.0/me/onlineMeetings/createOrGet",
        "/beta/me/onlineMeetings/createOrGet/extra",
    ] {
        let reply = server.get(path, &token()).await;
        reply.assert_error(404, "NotFound");
    }
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_405() {
    let server = Server::start(memory_service()).await;
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
    ] {
        let response = server
            .client
            .request(method, server.url("/beta/me/onlineMeetings/createOrGet"))
            .bearer_auth(token())
            .send()
            .await
            .unwrap();
        Reply::read(response)
            .await
            .assert_error(405, "MethodNotAllowed");
    }
    let response = server
        .client
        .post(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    let reply = Reply::read(response).await;
    reply.assert_error(405, "MethodNotAllowed");
    assert!(reply
        .header("allow")
        .is_some_and(|allow| allow.contains("GET")));
}

#[tokio::test]
async fn checks_run_in_order_route_then_token_then_permission_then_body() {
    let server = Server::start(memory_service()).await;
    // Unknown route and wrong method win over a missing token.
    let no_token = |method: reqwest::Method, path: &str| {
        server
            .client
            .request(method, server.url(path))
            .header("content-type", "text/plain")
            .body("x".repeat(5 * 1024 * 1024))
            .send()
    };
    Reply::read(
        no_token(reqwest::Method::POST, "/beta/nowhere")
            .await
            .unwrap(),
    )
    .await
    .assert_error(404, "NotFound");
    Reply::read(
        no_token(reqwest::Method::PUT, "/beta/me/onlineMeetings/createOrGet")
            .await
            .unwrap(),
    )
    .await
    .assert_error(405, "MethodNotAllowed");
    // The token wins over the body.
    Reply::read(
        no_token(reqwest::Method::POST, "/beta/me/onlineMeetings/createOrGet")
            .await
            .unwrap(),
    )
    .await
    .assert_error(401, "InvalidAuthenticationToken");
    // The permission table wins over the body.
    let mut spec = meeting_http::auth::TokenSpec::delegated(TENANT, USER);
    spec.scopes = vec!["User.Read".into()];
    let unscoped = mint_hs256(SECRET, &spec).unwrap();
    let response = server
        .client
        .post(server.url("/beta/me/onlineMeetings/createOrGet"))
        .bearer_auth(unscoped)
        .header("content-type", "text/plain")
        .body("not json")
        .send()
        .await
        .unwrap();
    Reply::read(response).await.assert_error(403, "Forbidden");
    // Size before content type before syntax.
    let response = server
        .client
        .post(server.url("/beta/me/onlineMeetings/createOrGet"))
        .bearer_auth(token())
        .header("content-type", "text/plain")
        .body("x".repeat(5 * 1024 * 1024))
        .send()
        .await
        .unwrap();
    Reply::read(response)
        .await
        .assert_error(413, "RequestEntityTooLarge");
    let response = server
        .client
        .post(server.url("/beta/me/onlineMeetings/createOrGet"))
        .bearer_auth(token())
        .header("content-type", "text/plain")
        .body("not json")
        .send()
        .await
        .unwrap();
    Reply::read(response)
        .await
        .assert_error(415, "UnsupportedMediaType");
}

#[tokio::test]
async fn an_invalid_request_is_400_even_when_its_key_has_a_meeting() {
    let server = Server::start(memory_service()).await;
    assert_eq!(
        create(&server, r#"{"externalId":"kept"}"#).await.status,
        200
    );
    let over = json!({"externalId": "kept", "subject": "x".repeat(1025)});
    create(&server, over.to_string())
        .await
        .assert_error(400, "BadRequest");
}

#[tokio::test]
async fn strict_mode_answers_409_parameter_mismatch() {
    let service = memory_service().with_settings(meeting_core::Settings {
        strict: true,
        ..meeting_core::Settings::default()
    });
    let server = Server::start(service).await;
    assert_eq!(
        create(&server, r#"{"externalId":"s","subject":"A"}"#)
            .await
            .status,
        200
    );
    let message = create(&server, r#"{"externalId":"s","subject":"B"}"#)
        .await
        .assert_error(409, "ParameterMismatch");
    assert!(message.contains("subject"), "{message}");
}
