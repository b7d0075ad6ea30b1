//! The envelope of every route: request ids, the timeout, Graph's error body for
//! every failure (the framework's own included), the response headers and the
//! request log line.

use crate::error::{code_for_status, default_message, ApiError, RETRY_AFTER_SECONDS};
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::BoxError;
use axum::Router;
use meeting_core::ErrorCode;
use serde::Serialize;
use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, MakeRequestUuid, RequestId};

/// The content type of every JSON response, successes and errors alike (spec section 6).
pub const CONTENT_TYPE: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// The default limit on one request, body upload included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The default of [`HttpConfig::max_concurrent_requests`](crate::HttpConfig):
/// enough to keep two cores and a group commit busy, few enough that as many
/// 4 MiB bodies at once stay within a few hundred MiB.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 64;

const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// Longest `client-request-id` echoed; a longer one is replaced by the request id.
const CLIENT_REQUEST_ID_MAX: usize = 128;

pub(crate) fn wrap(routes: Router<Arc<AppState>>, state: Arc<AppState>) -> Router {
    // The envelope (ids, timeout, Graph's error body, the log line) wraps the
    // rest, so it sees every answer, load shedding's included. The limit is
    // global: `Router::layer` wraps each route on its own.
    let limit = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: BoxError| async { overloaded() }))
        .load_shed()
        .layer(GlobalConcurrencyLimitLayer::new(
            state.config.max_concurrent_requests.max(1),
        ));
    routes
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(limit)
        .layer(middleware::from_fn_with_state(
            state.config.faults.clone(),
            crate::faults::inject,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), envelope))
        .with_state(state)
}

/// The answer to a request past the concurrency limit. Load shedding is the
/// only error the limit's layers raise.
fn overloaded() -> ApiError {
    ApiError {
        detail: Some("concurrency limit reached; request shed".into()),
        ..ApiError::new(
            ErrorCode::ServiceUnavailable,
            "the service is handling as many requests as it allows; retry after the time in Retry-After",
        )
    }
}

/// A JSON response with the front's content type.
pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a handler panicked".into());
    ApiError::internal(format_args!("panic: {what}")).into_response()
}

/// The request's id, for logs written inside the envelope.
#[derive(Clone, Debug)]
pub(crate) struct RequestIdentity(pub(crate) HeaderValue);

async fn envelope(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // A random UUID per request, as Graph's are.
    // Made once as a header value (cheap to clone); the text borrows it.
    let id_header = MakeRequestUuid
        .make_request_id(&request)
        .map(RequestId::into_header_value)
        .unwrap_or_else(|| HeaderValue::from_static("00000000-0000-0000-0000-000000000000"));
    request
        .extensions_mut()
        .insert(RequestIdentity(id_header.clone()));
    let request_id = id_header.to_str().unwrap_or_default();
    let client_request_id = request
        .headers()
        .get(&CLIENT_REQUEST_ID)
        .filter(|v| !v.is_empty() && v.len() <= CLIENT_REQUEST_ID_MAX && v.to_str().is_ok())
        .cloned();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |p| p.as_str().to_owned());

    let timeout = state.config.request_timeout;
    let mut response = match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError {
            detail: Some(format!("timed out after {timeout:?}")),
            ..ApiError::new(
                ErrorCode::ServiceUnavailable,
                format!(
                    "the request did not complete within {} s; retry after the time in Retry-After",
                    timeout.as_secs_f64()
                ),
            )
        }
        .into_response(),
    };

    let client_request_id = client_request_id.unwrap_or_else(|| id_header.clone());
    let error = match response.extensions_mut().remove::<ApiError>() {
        Some(error) => Some(error),
        None if is_framework_error(&response) => Some(framework_error(response.status())),
        None => None,
    };
    if let Some(error) = &error {
        let kept = std::mem::take(response.headers_mut());
        response = render(error, request_id, &client_request_id);
        // Keep what the framework said besides the body (`Allow` on a 405, say).
        for (name, value) in &kept {
            if name != header::CONTENT_TYPE
                && name != header::CONTENT_LENGTH
                && !response.headers().contains_key(name)
            {
                response.headers_mut().append(name.clone(), value.clone());
            }
        }
    }
    let headers = response.headers_mut();
    headers.insert(CLIENT_REQUEST_ID, client_request_id);
    headers.insert(REQUEST_ID, id_header.clone());

    let status = response.status().as_u16();
    // Whole microseconds in ms: prints as 0.141, not 0.14100000000000001.
    let latency_ms = started.elapsed().as_micros() as f64 / 1000.0;
    match &error {
        Some(error) if error.status().is_server_error() => tracing::error!(
            %method, %route, status, latency_ms, %request_id,
            code = error.code.as_str(), detail = error.detail.as_deref().unwrap_or(""),
            "request failed"
        ),
        Some(error) => tracing::info!(
            %method, %route, status, latency_ms, %request_id,
            code = error.code.as_str(), "request refused"
        ),
        None => tracing::info!(%method, %route, status, latency_ms, %request_id, "request"),
    }
    response
}

/// A failure response that is not one of ours (no Graph body yet).
fn is_framework_error(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_none_or(|v| v.as_bytes() != CONTENT_TYPE.as_bytes())
}

/// Graph's error for a status the framework chose (an extractor's rejection).
fn framework_error(status: StatusCode) -> ApiError {
    let code = code_for_status(status);
    let message = match status {
        StatusCode::BAD_REQUEST => "the request is malformed (path or headers)",
        _ => default_message(code),
    };
    ApiError {
        detail: Some(format!("framework answered {status}")),
        ..ApiError::new(code, message)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorObject<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorObject<'a> {
    code: &'a str,
    message: &'a str,
    inner_error: InnerError<'a>,
}

#[derive(Serialize)]
struct InnerError<'a> {
    date: String,
    #[serde(rename = "request-id")]
    request_id: &'a str,
    #[serde(rename = "client-request-id")]
    client_request_id: &'a str,
}

/// Graph's error object for `error`.
fn render(error: &ApiError, request_id: &str, client_request_id: &HeaderValue) -> Response {
    let body = ErrorBody {
        error: ErrorObject {
            code: error.code.as_str(),
            message: &error.message,
            inner_error: InnerError {
                date: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                request_id,
                client_request_id: client_request_id.to_str().unwrap_or(request_id),
            },
        },
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| {
        br#"{"error":{"code":"InternalServerError","message":"an internal error occurred"}}"#
            .to_vec()
    });
    let mut response = json_response(error.status(), Bytes::from(bytes));
    let retry_after = match error.code {
        ErrorCode::ServiceUnavailable | ErrorCode::TooManyRequests => {
            Some(error.retry_after.unwrap_or(RETRY_AFTER_SECONDS))
        }
        _ => error.retry_after,
    };
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
