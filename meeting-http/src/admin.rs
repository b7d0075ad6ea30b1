//! The admin API under `/_meetingd/`, mounted only when an [`AdminToken`] is
//! configured ([`HttpConfig::with_admin_token`](crate::HttpConfig::with_admin_token)),
//! and guarded by it alone: a Graph token never opens it. Every refusal and
//! failure is Graph's error object, as on the Graph routes.
//!
//! | method and path | what it does |
//! |---|---|
//! | `GET /_meetingd/health` | `{"status":"Healthy","meetings":N,"faults":{"rules":R,"injected":I}}`, or `503` |
//! | `GET /_meetingd/meetings?$top=N&$skiptoken=T` | a page of stored meetings in id order: `{"value":[…],"@odata.nextLink":"…"}` (`$top` 1–1000, default 100; the link is there while more may follow) |
//! | `GET /_meetingd/meetings/{id}` | one stored meeting, whoever organizes it |
//! | `DELETE /_meetingd/meetings/{id}` | deletes it (`204`, or `404`) |
//! | `DELETE /_meetingd/meetings` | deletes every meeting: `{"deleted":N}` |
//! | `GET /_meetingd/faults` | `{"seed":S,"rules":[{"rule":"…","matched":M,"injected":I}]}` |
//! | `PUT /_meetingd/faults` | replaces the faults: `{"seed":S,"rules":["route=createOrGet,status=429,rate=0.5"]}` (`seed` optional: kept); an invalid rule is a `400` |
//! | `DELETE /_meetingd/faults` | removes every fault |
//! | `GET /_meetingd/settings` | the service's [`Settings`] as JSON |
//! | `PATCH /_meetingd/settings` | merges a JSON object into them (RFC 7396; `{"strict":true}`); an unknown member or a wrong type is a `400` |
//!
//! Each change is logged with what it changed.

use crate::envelope::json_response;
use crate::error::{ApiError, ErrorCode};
use crate::faults::{FaultPlan, FaultRule};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::{header, request::Parts, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use meeting_core::{MeetingId, Settings, ADMIN_PAGE_MAX};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// The shortest admin token accepted.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// The longest admin token accepted.
pub const MAX_ADMIN_TOKEN_CHARS: usize = 512;

/// Meetings per page when `$top` is not given.
pub const DEFAULT_ADMIN_PAGE: usize = 100;

/// The largest admin request body.
const ADMIN_BODY_LIMIT: usize = 64 * 1024;

/// The bearer token of the admin API: 16 to 512 visible ASCII characters
/// (no spaces), compared in constant time. Never printed.
#[derive(Clone)]
pub struct AdminToken(Arc<str>);

/// Why an admin token was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AdminTokenError(String);

impl AdminToken {
    /// The token `token`, if it is 16 to 512 visible ASCII characters.
    ///
    /// ```
    /// use meeting_http::admin::AdminToken;
    /// assert!(AdminToken::new("a-long-random-operator-token").is_ok());
    /// assert!(AdminToken::new("short").is_err());
    /// assert!(AdminToken::new("has a space in the middle").is_err());
    /// ```
    pub fn new(token: impl Into<String>) -> Result<Self, AdminTokenError> {
        let token = token.into();
        let length = token.chars().count();
        if length < MIN_ADMIN_TOKEN_CHARS {
            return Err(AdminTokenError(format!(
                "the admin token is {length} characters; it must be at least {MIN_ADMIN_TOKEN_CHARS}: \
                 make one with `openssl rand -hex 32`"
            )));
        }
        if length > MAX_ADMIN_TOKEN_CHARS {
            return Err(AdminTokenError(format!(
                "the admin token is {length} characters; it must be at most {MAX_ADMIN_TOKEN_CHARS}"
            )));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AdminTokenError(
                "the admin token must be visible ASCII characters only (no spaces): \
                 make one with `openssl rand -hex 32`"
                    .into(),
            ));
        }
        Ok(AdminToken(token.into()))
    }

    /// Whether `candidate` is this token, in time that does not depend on
    /// where they differ.
    fn matches(&self, candidate: &str) -> bool {
        let (expected, candidate) = (self.0.as_bytes(), candidate.as_bytes());
        if expected.len() != candidate.len() {
            return false;
        }
        let difference = expected
            .iter()
            .zip(candidate)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(difference) == 0
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(…)")
    }
}

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/_meetingd/health", get(health))
        .route("/_meetingd/meetings", get(list).delete(clear))
        .route("/_meetingd/meetings/{id}", get(read).delete(delete))
        .route(
            "/_meetingd/faults",
            get(faults).put(set_faults).delete(clear_faults),
        )
        .route("/_meetingd/settings", get(settings).patch(patch_settings))
}

/// A request carrying the admin token.
struct Operator;

impl FromRequestParts<Arc<AppState>> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let Some(expected) = &state.config.admin_token else {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "the admin API is off; start the server with an admin token",
            ));
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::unauthenticated(
                    "the admin API needs the header Authorization: Bearer <admin token>, \
                     the token given to --admin-token",
                )
            })?;
        if expected.matches(token) {
            return Ok(Operator);
        }
        // Never verified as a Graph token: that would cost a signature check
        // (or a key reload) per guess, and tell a caller whether a token is valid.
        Err(ApiError::unauthenticated(
            "the admin token is wrong (a Graph access token does not open the admin API); \
             send the token given to --admin-token",
        ))
    }
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(ApiError::internal)?;
    Ok(json_response(status, Bytes::from(body)))
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadRequest, message)
}

async fn health(State(state): State<Arc<AppState>>, _: Operator) -> Result<Response, ApiError> {
    state.service.health().await?;
    let meetings = state.service.admin().count().await?;
    let stats = state.config.faults.stats();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "status": "Healthy",
            "meetings": meetings,
            "faults": {
                "rules": stats.len(),
                "injected": stats.iter().map(|s| s.injected).sum::<u64>(),
            },
        }),
    )
}

/// `$top` and `$skiptoken` of a page request.
fn page_query(uri: &Uri) -> Result<(usize, Option<MeetingId>), ApiError> {
    let mut top = DEFAULT_ADMIN_PAGE;
    let mut after = None;
    for pair in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(&text.replace('+', " "))
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| bad_request("the query is not UTF-8 once percent-decoded"))
        };
        match decode(key)?.as_str() {
            "$top" => {
                top = decode(value)?
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=ADMIN_PAGE_MAX).contains(n))
                    .ok_or_else(|| {
                        bad_request(format!(
                            "$top must be a whole number from 1 to {ADMIN_PAGE_MAX}"
                        ))
                    })?
            }
            "$skiptoken" => after = Some(MeetingId::new(decode(value)?)),
            other => {
                return Err(bad_request(format!(
                    "unknown query parameter `{other}`; use $top and $skiptoken"
                )))
            }
        }
    }
    Ok((top, after))
}

async fn list(
    State(state): State<Arc<AppState>>,
    _: Operator,
    uri: Uri,
) -> Result<Response, ApiError> {
    let (top, after) = page_query(&uri)?;
    let meetings = state.service.admin().list(after.as_ref(), top).await?;
    let mut body = br#"{"value":["#.to_vec();
    for (i, meeting) in meetings.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, &**meeting).map_err(ApiError::internal)?;
    }
    body.push(b']');
    if let (true, Some(last)) = (meetings.len() == top, meetings.last()) {
        let token = percent_encoding::utf8_percent_encode(
            last.id.as_str(),
            percent_encoding::NON_ALPHANUMERIC,
        );
        let link = format!(
            "{}/_meetingd/meetings?$top={top}&$skiptoken={token}",
            state.config.public_base_url
        );
        body.extend_from_slice(br#","@odata.nextLink":"#);
        serde_json::to_writer(&mut body, &link).map_err(ApiError::internal)?;
    }
    body.push(b'}');
    Ok(json_response(StatusCode::OK, Bytes::from(body)))
}

fn no_meeting() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no meeting with this id is stored")
}

async fn read(
    State(state): State<Arc<AppState>>,
    _: Operator,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let meeting = state
        .service
        .admin()
        .get(&MeetingId::new(id))
        .await?
        .ok_or_else(no_meeting)?;
    json(StatusCode::OK, &*meeting)
}

async fn delete(
    State(state): State<Arc<AppState>>,
    _: Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = MeetingId::new(id);
    if !state.service.admin().delete(&id).await? {
        return Err(no_meeting());
    }
    tracing::info!(meeting = %id, "admin: deleted a meeting");
    Ok(StatusCode::NO_CONTENT)
}

async fn clear(State(state): State<Arc<AppState>>, _: Operator) -> Result<Response, ApiError> {
    let deleted = state.service.admin().clear().await?;
    tracing::info!(deleted, "admin: deleted every meeting");
    json(StatusCode::OK, &serde_json::json!({ "deleted": deleted }))
}

fn faults_body(state: &AppState) -> Value {
    serde_json::json!({
        "seed": state.config.faults.plan().seed,
        "rules": state.config.faults.stats(),
    })
}

async fn faults(State(state): State<Arc<AppState>>, _: Operator) -> Result<Response, ApiError> {
    json(StatusCode::OK, &faults_body(&state))
}

/// The body of `PUT /_meetingd/faults`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsBody {
    seed: Option<u64>,
    rules: Vec<String>,
}

async fn set_faults(
    State(state): State<Arc<AppState>>,
    _: Operator,
    body: Body,
) -> Result<Response, ApiError> {
    let body: FaultsBody = serde_json::from_slice(&read_body(body).await?).map_err(|e| {
        bad_request(format!(
            "the body must be {{\"seed\": <optional number>, \"rules\": [\"route=…,status=…\", …]}}: {e}"
        ))
    })?;
    let rules = body
        .rules
        .iter()
        .map(|rule| rule.parse::<FaultRule>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_request(e.to_string()))?;
    let seed = body.seed.unwrap_or_else(|| state.config.faults.plan().seed);
    state
        .config
        .faults
        .set(FaultPlan { seed, rules })
        .map_err(|e| bad_request(e.to_string()))?;
    json(StatusCode::OK, &faults_body(&state))
}

async fn clear_faults(
    State(state): State<Arc<AppState>>,
    _: Operator,
) -> Result<Response, ApiError> {
    state.config.faults.clear();
    json(StatusCode::OK, &faults_body(&state))
}

async fn settings(State(state): State<Arc<AppState>>, _: Operator) -> Result<Response, ApiError> {
    json(StatusCode::OK, &*state.service.settings())
}

async fn patch_settings(
    State(state): State<Arc<AppState>>,
    _: Operator,
    body: Body,
) -> Result<Response, ApiError> {
    let patch: Value = serde_json::from_slice(&read_body(body).await?)
        .map_err(|e| bad_request(format!("the body is not JSON: {e}")))?;
    if !patch.is_object() {
        return Err(bad_request(
            "the body must be a JSON object of the settings to change, such as {\"strict\": true}",
        ));
    }
    // Merged into the settings in force atomically: two PATCHes at once both apply.
    let mut values = (Value::Null, Value::Null);
    state.service.update_settings(|current| {
        let before = serde_json::to_value(current).map_err(ApiError::internal)?;
        let mut after = before.clone();
        merge(&mut after, patch.clone());
        let settings: Settings = serde_json::from_value(after.clone())
            .map_err(|e| bad_request(format!("the settings would be invalid: {e}")))?;
        values = (before, after);
        Ok::<_, ApiError>(settings)
    })?;
    let (before, after) = values;
    let mut changes = Vec::new();
    differences(&before, &after, "", &mut changes);
    tracing::info!(
        changes = %if changes.is_empty() { "(none)".to_owned() } else { changes.join("; ") },
        "admin: settings changed"
    );
    json(StatusCode::OK, &*state.service.settings())
}

async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, ADMIN_BODY_LIMIT)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::RequestEntityTooLarge,
                format!("an admin request body is at most {ADMIN_BODY_LIMIT} bytes"),
            )
        })
}

/// RFC 7396 JSON merge patch: objects merge member by member, `null` removes,
/// anything else replaces.
fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (name, value) in patch {
                if value.is_null() {
                    target.remove(&name);
                } else {
                    merge(target.entry(name).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch,
    }
}

/// `path: old -> new` for each leaf that differs, for the log.
fn differences(before: &Value, after: &Value, path: &str, out: &mut Vec<String>) {
    if let (Value::Object(b), Value::Object(a)) = (before, after) {
        let names = b
            .keys()
            .chain(a.keys().filter(|name| !b.contains_key(*name)));
        for name in names {
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            let (b, a) = (
                b.get(name).unwrap_or(&Value::Null),
                a.get(name).unwrap_or(&Value::Null),
            );
            differences(b, a, &child, out);
        }
    } else if before != after {
        out.push(format!("{path}: {before} -> {after}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_admin_token_matches_only_itself() {
        let token = AdminToken::new("0123456789abcdef-operator").unwrap();
        assert!(token.matches("0123456789abcdef-operator"));
        assert!(!token.matches("0123456789abcdef-operatoR"));
        assert!(!token.matches("0123456789abcdef-operator "));
        assert!(!token.matches(""));
        assert_eq!(format!("{token:?}"), "AdminToken(…)");
    }

    #[test]
    fn weak_or_unprintable_admin_tokens_are_refused() {
        for (token, says) in [
            ("", "at least 16"),
            ("fifteen-chars!!", "at least 16"),
            ("sixteen chars ok", "visible ASCII"),
            ("sixteen-chars-ok\n", "visible ASCII"),
        ] {
            let error = AdminToken::new(token).unwrap_err().to_string();
            assert!(error.contains(says), "{token:?}: {error}");
        }
        assert!(AdminToken::new("x".repeat(513)).is_err());
        assert!(AdminToken::new("sixteen-chars-ok").is_ok());
    }

    #[test]
    fn a_merge_patch_changes_only_what_it_names() {
        let mut settings = json!({"strict": false, "dialIn": {"tollNumber": "1", "baseUrl": "b"}});
        merge(
            &mut settings,
            json!({"strict": true, "dialIn": {"tollNumber": "2"}}),
        );
        assert_eq!(
            settings,
            json!({"strict": true, "dialIn": {"tollNumber": "2", "baseUrl": "b"}})
        );
        let mut changes = Vec::new();
        differences(
            &json!({"strict": false, "dialIn": {"tollNumber": "1", "baseUrl": "b"}}),
            &settings,
            "",
            &mut changes,
        );
        assert_eq!(
            changes,
            ["strict: false -> true", "dialIn.tollNumber: \"1\" -> \"2\""]
        );
    }

    #[test]
    fn page_queries_are_checked() {
        let uri = |q: &str| format!("/_meetingd/meetings{q}").parse::<Uri>().unwrap();
        assert_eq!(page_query(&uri("")).unwrap(), (DEFAULT_ADMIN_PAGE, None));
        let (top, after) = page_query(&uri("?%24top=2&$skiptoken=a%3Ab")).unwrap();
        assert_eq!((top, after.unwrap().as_str()), (2, "a:b"));
        for bad in ["?$top=0", "?$top=1001", "?$top=x", "?$skip=3"] {
            assert_eq!(
                page_query(&uri(bad)).unwrap_err().code,
                ErrorCode::BadRequest,
                "{bad}"
            );
        }
    }
}
