//! Tokens (spec section 6) and the permission table (spec 1.2), over the wire.

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use meeting_http::auth::{issuer_v1, issuer_v2};
use meeting_tests::http::keys::{claims, jwks, now, rs256, rs256_fresh, JWKS, PUBLIC_PEM};
#[cfg(feature = "jwks-url")]
use meeting_tests::http::JwksServer;
use serde_json::json;

const BODY: &str = r#"{"externalId":"token-test"}"#;

fn hs256(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET),
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
    personal["iss"] = json!(issuer_v2(meeting_core::PERSONAL_ACCOUNT_TENANT));
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

// --- The issuer and the allowed tenants -------------------------------------

#[tokio::test]
async fn a_token_whose_iss_is_not_entra_ids_for_its_tenant_is_401() {
    let server = Server::start(memory_service()).await;
    let mut v1 = claims();
    v1["iss"] = json!(issuer_v1(TENANT));
    assert_eq!(post(&server, &hs256(&v1)).await.status, 200);
    for issuer in [
        json!(issuer_v2(OTHER_TENANT)),
        json!("https://issuer.example/"),
        json!(format!("https://login.microsoftonline.com/{TENANT}/")),
    ] {
        let mut other = claims();
        other["iss"] = issuer.clone();
        let message = post(&server, &hs256(&other))
            .await
            .assert_error(401, "InvalidAuthenticationToken");
        assert!(message.contains("iss"), "{issuer}: {message}");
    }
    let mut missing = claims();
    missing.as_object_mut().unwrap().remove("iss");
    let message = post(&server, &hs256(&missing))
        .await
        .assert_error(401, "InvalidAuthenticationToken");
    assert!(message.contains("iss"), "{message}");
}

#[tokio::test]
async fn a_token_of_a_tenant_not_allowed_is_401_and_told_so() {
    let server = Server::start_with(memory_service(), |mut config| {
        config.verifier = TokenVerifier::hs256(SECRET).unwrap().with_tenants([TENANT]);
        config
    })
    .await;
    assert_eq!(post(&server, &hs256(&claims())).await.status, 200);
    let mut other = claims();
    other["tid"] = json!(OTHER_TENANT);
    other["iss"] = json!(issuer_v2(OTHER_TENANT));
    let message = post(&server, &hs256(&other))
        .await
        .assert_error(401, "InvalidAuthenticationToken");
    assert!(
        message.contains(OTHER_TENANT) && message.contains("not allowed"),
        "{message}"
    );
}

// --- Signing keys that reload ------------------------------------------------

const OTHER_TENANT: &str = "0c0b0a09-0807-4605-8403-020100000000";

async fn accepted(verifier: &TokenVerifier, token: &str) -> bool {
    verifier.verify(token).await.is_ok()
}

#[tokio::test]
async fn a_jwks_file_rewritten_with_a_new_key_is_picked_up_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    // Two keys, so that a token naming neither can only be refused.
    std::fs::write(&path, jwks(&["key-1"], &["spare"])).unwrap();
    // The default policy: the first unknown kid after the start reloads at once.
    let verifier = TokenVerifier::rs256_file(&path).unwrap();
    let server = Server::start_with(memory_service(), |mut config| {
        config.verifier = verifier;
        config
    })
    .await;
    assert_eq!(post(&server, &rs256_fresh("key-1")).await.status, 200);

    std::fs::write(&path, jwks(&["key-1", "key-2"], &["spare"])).unwrap();
    assert_eq!(post(&server, &rs256_fresh("key-2")).await.status, 200);
    assert_eq!(post(&server, &rs256_fresh("key-1")).await.status, 200);
    post(&server, &rs256_fresh("key-3"))
        .await
        .assert_error(401, "InvalidAuthenticationToken");
}

#[tokio::test]
async fn a_key_removed_by_a_reload_no_longer_verifies_its_remembered_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks(&["key-1"], &[])).unwrap();
    let verifier = TokenVerifier::rs256_file(&path)
        .unwrap()
        .with_jwks_min_reload_interval(Duration::ZERO);
    let old = rs256_fresh("key-1");
    assert!(accepted(&verifier, &old).await);
    assert!(accepted(&verifier, &old).await, "remembered");

    // key-1 retired: a token naming key-2 brings in the new set.
    std::fs::write(&path, jwks(&["key-2"], &[])).unwrap();
    assert!(accepted(&verifier, &rs256_fresh("key-2")).await);
    let error = verifier.verify(&old).await.unwrap_err();
    assert!(error.to_string().contains("kid"), "{error}");
}

#[tokio::test]
async fn keys_older_than_the_refresh_period_are_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks(&["key-1"], &[])).unwrap();
    let daily = TokenVerifier::rs256_file(&path).unwrap();
    let always = TokenVerifier::rs256_file(&path)
        .unwrap()
        .with_jwks_refresh(Duration::ZERO)
        .with_jwks_min_reload_interval(Duration::ZERO);
    assert!(accepted(&daily, &rs256_fresh("key-1")).await);
    assert!(accepted(&always, &rs256_fresh("key-1")).await);

    // Same kid, another key: only a periodic reload can notice.
    std::fs::write(&path, jwks(&[], &["key-1"])).unwrap();
    assert!(accepted(&daily, &rs256_fresh("key-1")).await, "not due yet");
    let error = always.verify(&rs256_fresh("key-1")).await.unwrap_err();
    assert!(error.to_string().contains("signature"), "{error}");
}

#[tokio::test]
async fn a_jwks_file_made_invalid_keeps_the_current_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks(&["key-1"], &[])).unwrap();
    let verifier = TokenVerifier::rs256_file(&path)
        .unwrap()
        .with_jwks_refresh(Duration::ZERO)
        .with_jwks_min_reload_interval(Duration::ZERO);
    for broken in [&b"{not json"[..], br#"{"keys":[]}"#] {
        std::fs::write(&path, broken).unwrap();
        assert!(accepted(&verifier, &rs256_fresh("key-1")).await);
        assert!(!accepted(&verifier, &rs256_fresh("key-2")).await);
    }
    std::fs::remove_file(&path).unwrap();
    assert!(accepted(&verifier, &rs256_fresh("key-1")).await);
    // Reloading still works once the file is good again.
    std::fs::write(&path, jwks(&["key-2"], &[])).unwrap();
    assert!(accepted(&verifier, &rs256_fresh("key-2")).await);
}

#[cfg(feature = "jwks-url")]
#[tokio::test]
async fn a_jwks_served_over_http_is_reloaded_after_a_rollover() {
    let endpoint = JwksServer::start(jwks(&["key-1"], &[])).await;
    let verifier = TokenVerifier::rs256_url(&endpoint.url)
        .await
        .unwrap()
        .with_jwks_min_reload_interval(Duration::ZERO);
    let server = Server::start_with(memory_service(), |mut config| {
        config.verifier = verifier;
        config
    })
    .await;
    assert_eq!(post(&server, &rs256_fresh("key-1")).await.status, 200);
    let rolled = rs256_fresh("key-2");
    post(&server, &rolled)
        .await
        .assert_error(401, "InvalidAuthenticationToken");

    endpoint.serve(jwks(&["key-2"], &[]));
    assert_eq!(post(&server, &rolled).await.status, 200);
    assert_eq!(
        endpoint.fetches(),
        3,
        "the first load and one per unknown kid"
    );
}

#[cfg(feature = "jwks-url")]
#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_the_jwks_at_most_once_per_interval() {
    let endpoint = JwksServer::start(jwks(&["key-1"], &[])).await;
    let verifier = TokenVerifier::rs256_url(&endpoint.url)
        .await
        .unwrap()
        .with_jwks_min_reload_interval(Duration::from_secs(3600));
    assert_eq!(endpoint.fetches(), 1);
    endpoint.serve(jwks(&["key-1", "key-2"], &[]));

    // Hold the endpoint's answer until every request waits on an unknown kid.
    let hold = endpoint.hold().await;
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..64 {
        let verifier = verifier.clone();
        let kid = if i % 2 == 0 { "key-2" } else { "unknown" };
        let token = rs256_fresh(kid);
        flood.spawn(async move { (kid, verifier.verify(&token).await.is_ok()) });
    }
    tokio::time::timeout(Duration::from_secs(10), async {
        while endpoint.fetches() < 2 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("an unknown kid reloads the keys");
    drop(hold);
    while let Some(result) = flood.join_next().await {
        let (kid, ok) = result.unwrap();
        assert_eq!(ok, kid == "key-2", "{kid}");
    }
    assert_eq!(endpoint.fetches(), 2, "one reload for the whole flood");

    // Within the interval, a new kid is not fetched again.
    endpoint.serve(jwks(&["key-3"], &[]));
    assert!(!accepted(&verifier, &rs256_fresh("key-3")).await);
    assert_eq!(endpoint.fetches(), 2);
    assert!(accepted(&verifier, &rs256_fresh("key-1")).await);
}

#[cfg(feature = "jwks-url")]
#[tokio::test]
async fn a_jwks_endpoint_answering_500_keeps_the_current_keys() {
    let endpoint = JwksServer::start(jwks(&["key-1"], &[])).await;
    let verifier = TokenVerifier::rs256_url(&endpoint.url)
        .await
        .unwrap()
        .with_jwks_refresh(Duration::ZERO)
        .with_jwks_min_reload_interval(Duration::ZERO);
    endpoint.set_status(500);
    endpoint.serve(b"oops".to_vec());
    assert!(accepted(&verifier, &rs256_fresh("key-1")).await);
    assert!(!accepted(&verifier, &rs256_fresh("key-2")).await);
    assert!(endpoint.fetches() >= 3, "reloads were tried");
    assert!(accepted(&verifier, &rs256_fresh("key-1")).await);
}

#[cfg(feature = "jwks-url")]
#[tokio::test]
async fn a_jwks_url_that_cannot_be_fetched_is_an_error_at_start() {
    let endpoint = JwksServer::start(b"{}".to_vec()).await;
    endpoint.set_status(404);
    let error = TokenVerifier::rs256_url(&endpoint.url).await.unwrap_err();
    assert!(error.to_string().contains("404"), "{error}");
    let error = TokenVerifier::rs256_url("ftp://example.com/keys")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("http"), "{error}");
}

// --- Who the organizer is: upn, else preferred_username ----------------------

#[tokio::test]
async fn the_organizers_upn_is_the_tokens_upn_else_its_preferred_username_else_the_requests() {
    let server = Server::start(memory_service()).await;
    let body = |n: usize| {
        format!(
            r#"{{"externalId":"upn-{n}","participants":{{"organizer":{{"identity":{{"user":{{"id":"{USER}"}}}},"upn":"from-request@contoso.com"}}}}}}"#
        )
    };
    // (upn claim, preferred_username claim, the organizer's upn in the answer)
    let cases = [
        (
            Some("upn@contoso.com"),
            Some("preferred@contoso.com"),
            "upn@contoso.com",
        ),
        (None, Some("preferred@contoso.com"), "preferred@contoso.com"),
        (None, None, "from-request@contoso.com"),
    ];
    for (n, (upn, preferred, expected)) in cases.into_iter().enumerate() {
        let mut claims = claims();
        let members = claims.as_object_mut().unwrap();
        members.remove("upn");
        if let Some(upn) = upn {
            members.insert("upn".into(), json!(upn));
        }
        if let Some(preferred) = preferred {
            members.insert("preferred_username".into(), json!(preferred));
        }
        let reply = server
            .create_or_get("beta", &hs256(&claims), &body(n))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(
            reply.json()["participants"]["organizer"]["upn"],
            expected,
            "upn {upn:?}, preferred_username {preferred:?}"
        );
    }
    // The fallback names the caller on a /users/{userId} path too.
    let mut claims = claims();
    claims.as_object_mut().unwrap().remove("upn");
    claims["preferred_username"] = json!("Preferred@Contoso.com");
    let reply = server
        .post(
            "/v1.0/users/preferred@contoso.com/onlineMeetings/createOrGet",
            &hs256(&claims),
            r#"{"externalId":"upn-by-path"}"#,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(
        reply.json()["participants"]["organizer"]["upn"],
        "Preferred@Contoso.com"
    );
}

// --- App-only and personal-account tokens on every route ---------------------

/// The application the policy below grants (for [`USER`] only) and one it does not.
const GRANTED_APP: &str = "5a8e0d4c-1b2a-4c3d-9e8f-0a1b2c3d4e5f";
const UNGRANTED_APP: &str = "6b9f1e5d-2c3b-4d4e-8f90-1b2c3d4e5f60";

/// Every Graph route of `routes.rs` under `/{version}/me` or
/// `/{version}/users/{USER}`, with what an allowed caller would send and get:
/// (method, path after the base, body, success status). `id` and `join_url`
/// name an existing meeting of [`USER`].
fn every_route(
    version: &str,
    id: &str,
    join_url: &str,
) -> Vec<(reqwest::Method, String, Option<&'static str>, u16)> {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    use reqwest::Method;
    let id = meeting_tests::path_segment(id);
    let filter =
        utf8_percent_encode(&format!("JoinWebUrl eq '{join_url}'"), NON_ALPHANUMERIC).to_string();
    let created = if version == "v1.0" { 201 } else { 200 };
    vec![
        (
            Method::POST,
            "/onlineMeetings/createOrGet".into(),
            Some(r#"{"externalId":"refused"}"#),
            created,
        ),
        (
            Method::POST,
            "/onlineMeetings".into(),
            Some(r#"{"subject":"refused"}"#),
            201,
        ),
        (
            Method::GET,
            format!("/onlineMeetings?$filter={filter}"),
            None,
            200,
        ),
        (Method::GET, format!("/onlineMeetings/{id}"), None, 200),
        (
            Method::PATCH,
            format!("/onlineMeetings/{id}"),
            Some(r#"{"subject":"refused"}"#),
            200,
        ),
        (Method::DELETE, format!("/onlineMeetings/{id}"), None, 204),
    ]
}

async fn send(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> Reply {
    Reply::send(server.client.request(method, server.url(path)), token, body).await
}

/// App-only claims of `app` in both forms the front recognises: `idtyp: app`
/// (even beside a `scp`), and `roles` without `scp`.
fn app_only_claims(app: &str) -> [(&'static str, Value); 2] {
    let mut base = claims();
    let members = base.as_object_mut().unwrap();
    for member in ["name", "upn", "scp"] {
        members.remove(member);
    }
    members.insert("oid".into(), json!(app));
    members.insert("azp".into(), json!(app));
    members.insert("roles".into(), json!(["OnlineMeetings.ReadWrite.All"]));
    let mut by_idtyp = base.clone();
    by_idtyp["idtyp"] = json!("app");
    by_idtyp["scp"] = json!("OnlineMeetings.ReadWrite");
    [("idtyp app", by_idtyp), ("roles without scp", base)]
}

#[tokio::test]
async fn app_only_and_personal_account_tokens_are_403_on_every_route_but_a_granted_app_on_v1_users()
{
    let store = Arc::new(MemoryStore::new());
    let mut app_access = meeting_core::access::AppAccessPolicy::default();
    app_access
        .grant_spec(&format!("{GRANTED_APP}={USER}"))
        .unwrap();
    let service = MeetingService::new(store.clone()).with_settings(meeting_core::Settings {
        app_access,
        ..meeting_core::Settings::default()
    });
    let server = Server::start(service).await;
    // The meeting every refused call names: it must come through untouched.
    let target = server
        .create_or_get(
            "v1.0",
            &token(),
            r#"{"externalId":"target","subject":"kept"}"#,
        )
        .await;
    assert_eq!(target.status, 201, "{}", target.text);
    let target = target.json();
    let id = target["id"].as_str().unwrap().to_owned();
    let join_url = target["joinWebUrl"].as_str().unwrap().to_owned();

    let mut personal = claims();
    personal["tid"] = json!(meeting_core::PERSONAL_ACCOUNT_TENANT);
    personal["iss"] = json!(issuer_v2(meeting_core::PERSONAL_ACCOUNT_TENANT));
    let mut callers = vec![("personal account".to_owned(), hs256(&personal), false)];
    for (app, granted) in [(UNGRANTED_APP, false), (GRANTED_APP, true)] {
        for (form, claims) in app_only_claims(app) {
            callers.push((format!("app {app} ({form})"), hs256(&claims), granted));
        }
    }

    let mut refused = 0;
    for (caller, token, granted) in &callers {
        for version in ["beta", "v1.0"] {
            for base in ["/me".to_owned(), format!("/users/{USER}")] {
                for (method, path, body, _) in every_route(version, &id, &join_url) {
                    let path = format!("/{version}{base}{path}");
                    let case = format!("{caller}: {method} {path}");
                    let is_personal = caller.starts_with("personal");
                    let says = match (is_personal, version, base.as_str()) {
                        (true, _, _) => "personal Microsoft accounts are not supported",
                        (false, "beta", _) => "application permissions are not supported",
                        (false, _, "/me") => "call /users/{userId}/onlineMeetings, not /me",
                        // Under the v1.0 users routes, the access policy decides.
                        (false, _, _) if *granted => continue,
                        (false, _, _) => meeting_core::access::NO_POLICY_MESSAGE,
                    };
                    let reply = send(&server, method, &path, token, body).await;
                    assert_eq!(reply.status, 403, "{case}: {}", reply.text);
                    let message = reply.assert_error(403, "Forbidden");
                    assert!(message.contains(says), "{case}: {message}");
                    refused += 1;
                }
            }
        }
    }
    // personal: 2 versions x 2 bases x 6 routes; each of the 4 app tokens: all
    // but the 6 v1.0 users routes of the granted ones.
    assert_eq!(refused, 24 + 2 * 24 + 2 * 18);

    // Nothing a refused call asked for happened.
    assert_eq!(store.len(), 1, "no meeting created by a refused call");
    let kept = server
        .get(
            &format!(
                "/v1.0/me/onlineMeetings/{}",
                meeting_tests::path_segment(&id)
            ),
            &token(),
        )
        .await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    assert_eq!(kept.json()["subject"], "kept");

    // The rule for the granted application: on the v1.0 users routes it acts
    // for the user, every route answered as for the user themself.
    for (n, (form, claims)) in app_only_claims(GRANTED_APP).into_iter().enumerate() {
        let mine = server
            .create_or_get(
                "v1.0",
                &token(),
                &format!(r#"{{"externalId":"granted {form}"}}"#),
            )
            .await
            .json();
        let id = mine["id"].as_str().unwrap();
        let join_url = mine["joinWebUrl"].as_str().unwrap();
        for (method, path, body, success) in every_route("v1.0", id, join_url) {
            // The first form created the key "refused"; the second finds it.
            let success = match path.ends_with("createOrGet") && n > 0 {
                true => 200,
                false => success,
            };
            let path = format!("/v1.0/users/{USER}{path}");
            let reply = send(&server, method.clone(), &path, &hs256(&claims), body).await;
            assert_eq!(
                reply.status, success,
                "granted app ({form}): {method} {path}: {}",
                reply.text
            );
        }
    }
}

#[tokio::test]
async fn the_route_table_above_lists_every_method_the_front_serves_on_those_paths() {
    // Every other method on the same paths is 405: the table misses none.
    let server = Server::start(memory_service()).await;
    let id = format!("{USER}_19:meeting_x@thread.v2");
    let mut checked = 0;
    for version in ["beta", "v1.0"] {
        for base in ["/me".to_owned(), format!("/users/{USER}")] {
            let routes = every_route(version, &id, "https://teams.microsoft.com/l/x");
            for (_, path, _, _) in &routes {
                let served: Vec<reqwest::Method> = routes
                    .iter()
                    .filter(|(_, other, _, _)| other.split('?').next() == path.split('?').next())
                    .map(|(method, _, _, _)| method.clone())
                    .collect();
                for method in [
                    reqwest::Method::GET,
                    reqwest::Method::POST,
                    reqwest::Method::PUT,
                    reqwest::Method::PATCH,
                    reqwest::Method::DELETE,
                ] {
                    if served.contains(&method) {
                        continue;
                    }
                    let path = format!("/{version}{base}{path}");
                    let reply = send(&server, method.clone(), &path, &token(), None).await;
                    assert_eq!(reply.status, 405, "{method} {path}: {}", reply.text);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 0);
}
