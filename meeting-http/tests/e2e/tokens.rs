//! Tokens (spec section 6) and the permission table (spec 1.2), over the wire.

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

const PRIVATE_PEM: &[u8] = include_bytes!("keys/rsa-private.pem");
const PUBLIC_PEM: &[u8] = include_bytes!("keys/rsa-public.pem");
const JWKS: &[u8] = include_bytes!("keys/jwks.json");
const BODY: &str = r#"{"externalId":"token-test"}"#;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Valid delegated claims; tests change one thing.
fn claims() -> Value {
    json!({
        "aud": "https://graph.microsoft.com",
        "exp": now() + 3600,
        "nbf": now() - 10,
        "tid": TENANT,
        "oid": USER,
        "scp": "User.Read OnlineMeetings.ReadWrite",
        "name": "Tyler Stein",
        "upn": "test1@contoso.com",
    })
}

fn hs256(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn rs256(claims: &Value, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(PRIVATE_PEM).unwrap(),
    )
    .unwrap()
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

async fn post(server: &Server, token: &str) -> Reply {
    server.create_or_get("beta", token, BODY).await
}

#[tokio::test]
async fn no_token_is_401() {
    let server = Server::start(memory_service()).await;
    let response = server
        .client
        .post(server.url("/beta/me/onlineMeetings/createOrGet"))
        .header("content-type", "application/json")
        .body(BODY)
        .send()
        .await
        .unwrap();
    let message = Reply::read(response)
        .await
        .assert_error(401, "InvalidAuthenticationToken");
    assert!(message.contains("Bearer"), "{message}");
}

#[tokio::test]
async fn a_non_bearer_authorization_is_401() {
    let server = Server::start(memory_service()).await;
    let response = server
        .client
        .post(server.url("/beta/me/onlineMeetings/createOrGet"))
        .basic_auth("user", Some("password"))
        .header("content-type", "application/json")
        .body(BODY)
        .send()
        .await
        .unwrap();
    Reply::read(response)
        .await
        .assert_error(401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn a_malformed_token_is_401() {
    let server = Server::start(memory_service()).await;
    for token in ["garbage", "a.b.c", "", "...."] {
        post(&server, token)
            .await
            .assert_error(401, "InvalidAuthenticationToken");
    }
}

#[tokio::test]
async fn a_bad_signature_is_401() {
    let server = Server::start(memory_service()).await;
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"another secret"),
    )
    .unwrap();
    let message = post(&server, &forged)
        .await
        .assert_error(401, "InvalidAuthenticationToken");
    assert!(message.contains("signature"), "{message}");
}

#[tokio::test]
async fn an_expired_token_is_401_past_the_60_second_leeway_only() {
    let server = Server::start(memory_service()).await;
    let mut expired = claims();
    expired["exp"] = json!(now() - 120);
    let message = post(&server, &hs256(&expired))
        .await
        .assert_error(401, "InvalidAuthenticationToken");
    assert!(message.contains("expired"), "{message}");

    let mut within_leeway = claims();
    within_leeway["exp"] = json!(now() - 20);
    assert_eq!(post(&server, &hs256(&within_leeway)).await.status, 200);
}

#[tokio::test]
async fn a_token_without_exp_is_401() {
    let server = Server::start(memory_service()).await;
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    post(&server, &hs256(&no_exp))
        .await
        .assert_error(401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn a_token_not_yet_valid_is_401_past_the_leeway_only() {
    let server = Server::start(memory_service()).await;
    let mut future = claims();
    future["nbf"] = json!(now() + 600);
    post(&server, &hs256(&future))
        .await
        .assert_error(401, "InvalidAuthenticationToken");
    future["nbf"] = json!(now() + 20);
    assert_eq!(post(&server, &hs256(&future)).await.status, 200);
}

#[tokio::test]
async fn alg_none_is_401() {
    let server = Server::start(memory_service()).await;
    for alg in ["none", "None", "NONE"] {
        let token = unsigned(&json!({"alg": alg, "typ": "JWT"}), &claims());
        post(&server, &token)
            .await
            .assert_error(401, "InvalidAuthenticationToken");
    }
}

#[tokio::test]
async fn another_algorithm_than_the_configured_one_is_401() {
    let server = Server::start(memory_service()).await;
    let message = post(&server, &rs256(&claims(), None))
        .await
        .assert_error(401, "InvalidAuthenticationToken");
    assert!(message.contains("HS256"), "{message}");
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused_by_an_rs256_server() {
    let verifier = TokenVerifier::rs256_pem(PUBLIC_PEM).unwrap();
    let server = Server::start_with(memory_service(), |mut config| {
        config.verifier = verifier;
        config
    })
    .await;
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(PUBLIC_PEM),
    )
    .unwrap();
    post(&server, &confused)
        .await
        .assert_error(401, "InvalidAuthenticationToken");
    assert_eq!(post(&server, &rs256(&claims(), None)).await.status, 200);
}

#[tokio::test]
async fn rs256_keys_come_from_a_jwks_by_kid() {
    let verifier = TokenVerifier::rs256_jwks(JWKS).unwrap();
    let server = Server::start_with(memory_service(), |mut config| {
        config.verifier = verifier;
        config
    })
    .await;
    assert_eq!(
        post(&server, &rs256(&claims(), Some("test-key")))
            .await
            .status,
        200
    );
    // The same signature checked against another key of the set fails.
    post(&server, &rs256(&claims(), Some("other-key")))
        .await
        .assert_error(401, "InvalidAuthenticationToken");
    post(&server, &rs256(&claims(), Some("unknown-key")))
        .await
        .assert_error(401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn audience_may_be_a_string_or_a_list_and_must_be_graphs() {
    let server = Server::start(memory_service()).await;
    let mut listed = claims();
    listed["aud"] = json!(["api://other", "00000003-0000-0000-c000-000000000000"]);
    assert_eq!(post(&server, &hs256(&listed)).await.status, 200);
    let mut other = claims();
    other["aud"] = json!("api://other");
    post(&server, &hs256(&other))
        .await
        .assert_error(401, "InvalidAuthenticationToken");
    let mut missing = claims();
    missing.as_object_mut().unwrap().remove("aud");
    post(&server, &hs256(&missing))
        .await
        .assert_error(401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn tid_and_oid_are_required() {
    let server = Server::start(memory_service()).await;
    for claim in ["tid", "oid"] {
        let mut without = claims();
        without.as_object_mut().unwrap().remove(claim);
        let message = post(&server, &hs256(&without))
            .await
            .assert_error(401, "InvalidAuthenticationToken");
        assert!(message.contains(claim), "{message}");
    }
}

#[tokio::test]
async fn a_personal_account_is_403_and_told_so() {
    let server = Server::start(memory_service()).await;
    let mut personal = claims();
    personal["tid"] = json!(meeting_core::PERSONAL_ACCOUNT_TENANT);
    let message = post(&server, &hs256(&personal))
        .await
        .assert_error(403, "Forbidden");
    assert!(message.contains("personal"), "{message}");
}

#[tokio::test]
async fn an_app_only_token_is_403_and_told_so_on_every_route() {
    let server = Server::start(memory_service()).await;
    let mut by_idtyp = claims();
    by_idtyp["idtyp"] = json!("app");
    let mut by_roles = claims();
    by_roles.as_object_mut().unwrap().remove("scp");
    by_roles["roles"] = json!(["OnlineMeetings.ReadWrite.All"]);
    for token in [hs256(&by_idtyp), hs256(&by_roles)] {
        let message = post(&server, &token).await.assert_error(403, "Forbidden");
        assert!(message.contains("application permissions"), "{message}");
        server
            .get("/v1.0/me/onlineMeetings/some-id", &token)
            .await
            .assert_error(403, "Forbidden");
    }
}

#[tokio::test]
async fn a_token_without_the_scope_is_403() {
    let server = Server::start(memory_service()).await;
    let mut read_only = claims();
    read_only["scp"] = json!("User.Read OnlineMeetings.Read");
    let message = post(&server, &hs256(&read_only))
        .await
        .assert_error(403, "Forbidden");
    assert!(message.contains("OnlineMeetings.ReadWrite"), "{message}");
    // Reading is enough with OnlineMeetings.Read.
    server
        .get("/v1.0/me/onlineMeetings/unknown", &hs256(&read_only))
        .await
        .assert_error(404, "NotFound");
}

#[tokio::test]
async fn users_route_naming_someone_else_is_403() {
    let server = Server::start(memory_service()).await;
    server
        .post(
            &format!("/beta/users/{OTHER_USER}/onlineMeetings/createOrGet"),
            &token(),
            BODY,
        )
        .await
        .assert_error(403, "Forbidden");
}
