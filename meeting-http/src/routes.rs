//! The routes of spec section 6 and their handlers.

use crate::envelope::json_response;
use crate::error::{ApiError, ErrorCode};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt;
use meeting_core::render::view;
use meeting_core::{
    Caller, CreateOrGetRequest, CreateRequest, MeetingFilter, MeetingId, OnlineMeeting, Operation,
    Profile, Target, UpdateRequest,
};
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use std::collections::HashMap;
use std::sync::Arc;

/// The largest request body accepted: 4 MiB (spec section 5).
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Bodies up to this size are read to the end before a `413`, so that the
/// client, still sending, reads the answer instead of a reset connection.
const DRAIN_LIMIT: usize = 4 * BODY_LIMIT;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    let mut router = Router::new().route("/healthz", get(health));
    for profile in [Profile::Beta, Profile::V1] {
        let v = profile.version();
        // The same operations on the caller's meetings and on a named user's.
        for base in [format!("/{v}/me"), format!("/{v}/users/{{user}}")] {
            router = router
                .route(
                    &format!("{base}/onlineMeetings/createOrGet"),
                    post(
                        move |state: State<Arc<AppState>>,
                              caller: Authenticated,
                              at: Address,
                              request: Request| {
                            create_or_get(state, profile, caller, at.user, request)
                        },
                    ),
                )
                .route(
                    &format!("{base}/onlineMeetings"),
                    post(
                        move |state: State<Arc<AppState>>,
                              caller: Authenticated,
                              at: Address,
                              request: Request| {
                            create_meeting(state, profile, caller, at.user, request)
                        },
                    )
                    .get(
                        move |state: State<Arc<AppState>>,
                              caller: Authenticated,
                              at: Address,
                              request: Request| {
                            find_meetings(state, profile, caller, at.user, request)
                        },
                    ),
                )
                .route(
                    &format!("{base}/onlineMeetings/{{id}}"),
                    get(
                        move |state: State<Arc<AppState>>, caller: Authenticated, at: Address| {
                            get_meeting(state, profile, caller, at.user, at.id)
                        },
                    )
                    .delete(
                        move |state: State<Arc<AppState>>, caller: Authenticated, at: Address| {
                            delete_meeting(state, profile, caller, at.user, at.id)
                        },
                    )
                    .patch(
                        move |state: State<Arc<AppState>>,
                              caller: Authenticated,
                              at: Address,
                              request: Request| {
                            update_meeting(state, profile, caller, at.user, at.id, request)
                        },
                    ),
                );
        }
    }
    router
        .fallback(|| async {
            ApiError::new(
                ErrorCode::NotFound,
                "no resource exists at this address; createOrGet is POST /{beta|v1.0}/me/onlineMeetings/createOrGet",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "this method is not allowed on this resource",
            )
        })
}

/// The caller named by the request's bearer token.
pub(crate) struct Authenticated(pub(crate) Caller);

impl FromRequestParts<Arc<AppState>> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthenticated(
                "no access token; send the header Authorization: Bearer <token>",
            )
        })?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::unauthenticated("the Authorization header must be Bearer <token>")
            })?;
        state
            .config
            .verifier
            .verify(token)
            .await
            .map(Authenticated)
            .map_err(|error| ApiError::unauthenticated(error.to_string()))
    }
}

/// What a route's path names: the user of a `/users/{user}/…` path (none
/// for `/me/…`) and the meeting of an `…/{id}` path (empty where there is none).
pub(crate) struct Address {
    user: Option<String>,
    id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Address {
    type Rejection = <Path<HashMap<String, String>> as FromRequestParts<S>>::Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(mut params) =
            Path::<HashMap<String, String>>::from_request_parts(parts, state).await?;
        Ok(Address {
            user: params.remove("user"),
            id: params.remove("id").unwrap_or_default(),
        })
    }
}

/// Whose meetings a path names.
fn target(user: Option<&str>) -> Target<'_> {
    user.map_or(Target::Me, Target::User)
}

async fn create_or_get(
    State(state): State<Arc<AppState>>,
    profile: Profile,
    Authenticated(caller): Authenticated,
    user: Option<String>,
    request: Request,
) -> Result<Response, ApiError> {
    // Access is decided before the body is read (spec section 6: 403 before 413, 415, 400).
    let authorized = state.service.authorize(
        &caller,
        profile,
        target(user.as_deref()),
        Operation::CreateOrGet,
    )?;
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let body = read_body(&headers, body).await?;
    if !is_json(&headers) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the request body must be JSON; send Content-Type: application/json",
        ));
    }
    let request = CreateOrGetRequest::from_json(&body)
        .map_err(|invalid| ApiError::new(ErrorCode::BadRequest, invalid.message()))?;
    let outcome = authorized.create_or_get(&request).await?;
    let status = match profile {
        Profile::V1 if outcome.is_created() => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    meeting_response(&state, profile, status, outcome.shared(), &caller)
}

async fn get_meeting(
    State(state): State<Arc<AppState>>,
    profile: Profile,
    Authenticated(caller): Authenticated,
    user: Option<String>,
    id: String,
) -> Result<Response, ApiError> {
    let meeting = state
        .service
        .get(
            &caller,
            profile,
            target(user.as_deref()),
            &MeetingId::new(id),
        )
        .await?;
    let response = meeting_response(&state, profile, StatusCode::OK, &meeting, &caller)?;
    Ok(with_etag(response, &meeting))
}

/// The body of a create or update: JSON (`415` else), at most [`BODY_LIMIT`].
async fn json_body(request: Request) -> Result<(HeaderMap, Bytes), ApiError> {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let body = read_body(&headers, body).await?;
    if !is_json(&headers) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the request body must be JSON; send Content-Type: application/json",
        ));
    }
    Ok((headers, body))
}

/// `POST …/onlineMeetings`: a meeting without a key, `201` in both profiles.
async fn create_meeting(
    State(state): State<Arc<AppState>>,
    profile: Profile,
    Authenticated(caller): Authenticated,
    user: Option<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let authorized =
        state
            .service
            .authorize(&caller, profile, target(user.as_deref()), Operation::Create)?;
    let (_, body) = json_body(request).await?;
    let request = CreateRequest::from_json(&body)
        .map_err(|invalid| ApiError::new(ErrorCode::BadRequest, invalid.message()))?;
    let meeting = authorized.create(&request).await?;
    let response = meeting_response(&state, profile, StatusCode::CREATED, &meeting, &caller)?;
    Ok(with_etag(response, &meeting))
}

/// `PATCH …/onlineMeetings/{id}`: `200` with the whole meeting; `If-Match`
/// makes it conditional (`412` when the meeting changed since).
async fn update_meeting(
    State(state): State<Arc<AppState>>,
    profile: Profile,
    Authenticated(caller): Authenticated,
    user: Option<String>,
    id: String,
    request: Request,
) -> Result<Response, ApiError> {
    let authorized =
        state
            .service
            .authorize(&caller, profile, target(user.as_deref()), Operation::Update)?;
    let (headers, body) = json_body(request).await?;
    let if_match = if_match(&headers)?;
    let request = UpdateRequest::from_json(&body)
        .map_err(|invalid| ApiError::new(ErrorCode::BadRequest, invalid.message()))?;
    let meeting = authorized
        .update(&MeetingId::new(id), &request, if_match.as_deref())
        .await?;
    let response = meeting_response(&state, profile, StatusCode::OK, &meeting, &caller)?;
    Ok(with_etag(response, &meeting))
}

/// The entity tags of `If-Match` (every such header, comma-separated), if any.
fn if_match(headers: &HeaderMap) -> Result<Option<Vec<String>>, ApiError> {
    let mut tags = Vec::new();
    for value in headers.get_all(header::IF_MATCH) {
        let value = value.to_str().map_err(|_| {
            ApiError::new(
                ErrorCode::BadRequest,
                "If-Match must be entity tags such as W/\"0123456789abcdef\" or *",
            )
        })?;
        tags.extend(
            value
                .split(',')
                .map(str::trim)
                .filter(|tag| !tag.is_empty())
                .map(str::to_owned),
        );
    }
    Ok((!tags.is_empty()).then_some(tags))
}

/// `response` with the meeting's `ETag`.
fn with_etag(mut response: Response, meeting: &OnlineMeeting) -> Response {
    if let Ok(tag) = HeaderValue::from_str(&meeting.etag()) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
}

/// `GET …/onlineMeetings?$filter=…`: the caller's meetings with a join link
/// or join id, as a collection (empty when none is the caller's).
async fn find_meetings(
    State(state): State<Arc<AppState>>,
    profile: Profile,
    Authenticated(caller): Authenticated,
    user: Option<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let authorized =
        state
            .service
            .authorize(&caller, profile, target(user.as_deref()), Operation::Find)?;
    let filter = MeetingFilter::from_query(request.uri().query(), profile)
        .map_err(|invalid| ApiError::new(ErrorCode::BadRequest, invalid.message()))?;
    let meetings = authorized.find(&filter).await?;
    // OData doubles a quote inside a string literal.
    let context = format!(
        "{}/{}/$metadata#users('{}')/onlineMeetings",
        state.config.public_base_url,
        profile.version(),
        authorized.user().as_str().replace('\'', "''")
    );
    let mut body = Vec::with_capacity(256 + 4096 * meetings.len());
    body.extend_from_slice(br#"{"@odata.context":"#);
    serde_json::to_writer(&mut body, &context).map_err(ApiError::internal)?;
    body.extend_from_slice(br#","value":["#);
    for (n, meeting) in meetings.iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, &view(meeting, profile)).map_err(ApiError::internal)?;
    }
    body.extend_from_slice(b"]}");
    Ok(json_response(StatusCode::OK, Bytes::from(body)))
}

async fn delete_meeting(
    State(state): State<Arc<AppState>>,
    profile: Profile,
    Authenticated(caller): Authenticated,
    user: Option<String>,
    id: String,
) -> Result<StatusCode, ApiError> {
    state
        .service
        .delete(
            &caller,
            profile,
            target(user.as_deref()),
            &MeetingId::new(id),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn health(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    state.service.health().await?;
    Ok(json_response(
        StatusCode::OK,
        Bytes::from_static(br#"{"status":"Healthy"}"#),
    ))
}

/// Whether the body is declared as JSON (`application/json`, any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// The body, at most [`BODY_LIMIT`] bytes; else `413`.
async fn read_body(headers: &HeaderMap, mut body: Body) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::RequestEntityTooLarge,
            format!("the request body is larger than {BODY_LIMIT} bytes (4 MiB)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT as u64) {
        return Err(too_large());
    }
    let mut buffer = Vec::with_capacity(declared.map_or(0, |n| n.min(BODY_LIMIT as u64) as usize));
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            ApiError::new(ErrorCode::BadRequest, "the request body could not be read")
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen > DRAIN_LIMIT {
            return Err(too_large());
        }
        if seen <= BODY_LIMIT {
            buffer.extend_from_slice(&data);
        }
    }
    if seen > BODY_LIMIT {
        return Err(too_large());
    }
    Ok(Bytes::from(buffer))
}

/// About how many bytes of rendered meetings are remembered; past it the
/// least useful are forgotten. By bytes, since a meeting's size is bounded
/// only by the body limit.
const RENDERED_BYTES: u64 = 32 * 1024 * 1024;

/// Rendered response bodies by profile and meeting id, each with the meeting it
/// renders: a hit answers the stored meeting again, and serializing it costs
/// more than the rest of a hit.
#[derive(Debug)]
pub(crate) struct RenderedBodies(Cache<(Profile, MeetingId), (Arc<OnlineMeeting>, Bytes), ByBytes>);

/// An entry's estimated heap bytes: its id, and the body with the meeting it renders.
#[derive(Clone, Debug)]
pub(crate) struct ByBytes;

impl Weighter<(Profile, MeetingId), (Arc<OnlineMeeting>, Bytes)> for ByBytes {
    fn weight(
        &self,
        (_, id): &(Profile, MeetingId),
        (_, body): &(Arc<OnlineMeeting>, Bytes),
    ) -> u64 {
        (id.as_str().len() + OnlineMeeting::weight_with_json(body.len())) as u64
    }
}

impl Default for RenderedBodies {
    fn default() -> Self {
        // Sized for meetings of a few KB, the common case.
        RenderedBodies(Cache::with_weighter(4096, RENDERED_BYTES, ByBytes))
    }
}

/// The meeting with `@odata.context` spliced in first, before its `@odata.type`.
fn meeting_response(
    state: &Arc<AppState>,
    profile: Profile,
    status: StatusCode,
    meeting: &Arc<OnlineMeeting>,
    caller: &Caller,
) -> Result<Response, ApiError> {
    let key = (profile, meeting.id.clone());
    if let Some((rendered, body)) = state.bodies.0.get(&key) {
        // Equal by pointer (stores that keep what they return) or by value
        // (stores that read anew).
        if Arc::ptr_eq(&rendered, meeting) || *rendered == **meeting {
            return Ok(json_response(status, body));
        }
    }
    let organizer = meeting
        .organizer_identity()
        .and_then(|identity| identity.id.as_deref());
    let body = render_meeting(
        state,
        profile,
        meeting,
        organizer.unwrap_or(caller.user.as_str()),
    )?;
    if organizer.is_some() {
        state.bodies.0.insert(key, (meeting.clone(), body.clone()));
    }
    Ok(json_response(status, body))
}

fn render_meeting(
    state: &Arc<AppState>,
    profile: Profile,
    meeting: &OnlineMeeting,
    organizer: &str,
) -> Result<Bytes, ApiError> {
    // OData doubles a quote inside a string literal.
    let context = format!(
        "{}/{}/$metadata#users('{}')/onlineMeetings/$entity",
        state.config.public_base_url,
        profile.version(),
        organizer.replace('\'', "''")
    );
    let context_json = serde_json::to_vec(&context).map_err(ApiError::internal)?;
    // One buffer: the context member, then the meeting, whose `{` becomes the `,`.
    let mut body = Vec::with_capacity(2048 + context_json.len());
    body.extend_from_slice(br#"{"@odata.context":"#);
    body.extend_from_slice(&context_json);
    let meeting_start = body.len();
    serde_json::to_writer(&mut body, &view(meeting, profile)).map_err(ApiError::internal)?;
    match body.get_mut(meeting_start) {
        Some(brace @ b'{') => *brace = b',',
        _ => {
            return Err(ApiError::internal(
                "a meeting did not serialize as an object",
            ))
        }
    }
    Ok(Bytes::from(body))
}
