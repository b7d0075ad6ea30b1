//! Graph's error object, and the one mapping from error codes to HTTP statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use meeting_core::{Error, ErrorCode, StoreError};

/// Seconds a client should wait before retrying a `503`.
pub const RETRY_AFTER_SECONDS: u64 = 5;

/// Graph's error codes as this front answers them (spec section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GraphCode {
    /// `400 BadRequest`: malformed JSON, validation failures.
    BadRequest,
    /// `401 InvalidAuthenticationToken`: missing, malformed, expired or wrongly signed token.
    InvalidAuthenticationToken,
    /// `403 Forbidden`: the permission table.
    Forbidden,
    /// `404 NotFound`: unknown route or meeting.
    NotFound,
    /// `405 MethodNotAllowed`: wrong method on a known path.
    MethodNotAllowed,
    /// `409 ParameterMismatch`: strict mode.
    ParameterMismatch,
    /// `413 RequestEntityTooLarge`: body over the limit.
    RequestEntityTooLarge,
    /// `415 UnsupportedMediaType`: body not `application/json`.
    UnsupportedMediaType,
    /// `500 InternalServerError`: a bug; details go to the log only.
    InternalServerError,
    /// `503 ServiceUnavailable`: store unreachable or request timed out.
    ServiceUnavailable,
}

impl GraphCode {
    /// The code as Graph writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            GraphCode::BadRequest => "BadRequest",
            GraphCode::InvalidAuthenticationToken => "InvalidAuthenticationToken",
            GraphCode::Forbidden => "Forbidden",
            GraphCode::NotFound => "NotFound",
            GraphCode::MethodNotAllowed => "MethodNotAllowed",
            GraphCode::ParameterMismatch => "ParameterMismatch",
            GraphCode::RequestEntityTooLarge => "RequestEntityTooLarge",
            GraphCode::UnsupportedMediaType => "UnsupportedMediaType",
            GraphCode::InternalServerError => "InternalServerError",
            GraphCode::ServiceUnavailable => "ServiceUnavailable",
        }
    }

    /// The HTTP status of this code: the only place codes meet statuses.
    pub fn status(self) -> StatusCode {
        match self {
            GraphCode::BadRequest => StatusCode::BAD_REQUEST,
            GraphCode::InvalidAuthenticationToken => StatusCode::UNAUTHORIZED,
            GraphCode::Forbidden => StatusCode::FORBIDDEN,
            GraphCode::NotFound => StatusCode::NOT_FOUND,
            GraphCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            GraphCode::ParameterMismatch => StatusCode::CONFLICT,
            GraphCode::RequestEntityTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            GraphCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            GraphCode::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
            GraphCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code for a status the framework answered by itself.
    pub(crate) fn for_status(status: StatusCode) -> GraphCode {
        match status {
            StatusCode::UNAUTHORIZED => GraphCode::InvalidAuthenticationToken,
            StatusCode::FORBIDDEN => GraphCode::Forbidden,
            StatusCode::NOT_FOUND => GraphCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => GraphCode::MethodNotAllowed,
            StatusCode::CONFLICT => GraphCode::ParameterMismatch,
            StatusCode::PAYLOAD_TOO_LARGE => GraphCode::RequestEntityTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => GraphCode::UnsupportedMediaType,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
                GraphCode::ServiceUnavailable
            }
            s if s.is_client_error() => GraphCode::BadRequest,
            _ => GraphCode::InternalServerError,
        }
    }
}

impl From<ErrorCode> for GraphCode {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::BadRequest => GraphCode::BadRequest,
            ErrorCode::Forbidden => GraphCode::Forbidden,
            ErrorCode::NotFound => GraphCode::NotFound,
            ErrorCode::ParameterMismatch => GraphCode::ParameterMismatch,
            ErrorCode::ServiceUnavailable => GraphCode::ServiceUnavailable,
            _ => GraphCode::InternalServerError,
        }
    }
}

/// A failed request: Graph's code, a message for the client, and for `500`s a
/// detail that only the log sees.
///
/// As a response it is rendered by the router's outer layer, which adds the
/// `innerError` (date, request ids) and the headers.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// Graph's code; decides the status.
    pub code: GraphCode,
    /// What the client reads; never empty.
    pub message: String,
    /// What only the log reads (causes of a `500` or `503`).
    pub detail: Option<String>,
}

impl ApiError {
    /// An error with `code` and a client-facing `message`.
    pub fn new(code: GraphCode, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = if message.trim().is_empty() {
            default_message(code).to_owned()
        } else {
            message
        };
        ApiError {
            code,
            message,
            detail: None,
        }
    }

    /// A `500` whose cause goes to the log, never to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError {
            detail: Some(detail.to_string()),
            ..ApiError::new(
                GraphCode::InternalServerError,
                default_message(GraphCode::InternalServerError),
            )
        }
    }

    /// A `401 InvalidAuthenticationToken`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        ApiError::new(GraphCode::InvalidAuthenticationToken, message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }
}

/// The message of a code when nothing more specific is known.
pub(crate) fn default_message(code: GraphCode) -> &'static str {
    match code {
        GraphCode::BadRequest => "the request is invalid",
        GraphCode::InvalidAuthenticationToken => {
            "the access token is missing or invalid; send Authorization: Bearer <token>"
        }
        GraphCode::Forbidden => "the caller may not do this",
        GraphCode::NotFound => "no resource exists at this address",
        GraphCode::MethodNotAllowed => "this method is not allowed on this resource",
        GraphCode::ParameterMismatch => "the request conflicts with the existing meeting",
        GraphCode::RequestEntityTooLarge => "the request body is larger than 4 MiB",
        GraphCode::UnsupportedMediaType => {
            "the request body must be JSON; send Content-Type: application/json"
        }
        GraphCode::InternalServerError => {
            "an internal error occurred; retry, and report the request-id if it persists"
        }
        GraphCode::ServiceUnavailable => "the service is unavailable; retry after a while",
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let code = GraphCode::from(error.code());
        match (code, &error) {
            (GraphCode::ServiceUnavailable, _) => ApiError {
                detail: Some(error_chain(&error)),
                ..ApiError::new(
                    code,
                    "the meeting store is unavailable; retry after the time in Retry-After",
                )
            },
            (GraphCode::InternalServerError, _) => ApiError::internal(error_chain(&error)),
            _ => ApiError::new(code, error.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::from(Error::Store(error))
    }
}

/// An error and all its sources, for the log.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_code_maps_to_the_status_of_spec_section_5() {
        let cases = [
            (ErrorCode::BadRequest, 400),
            (ErrorCode::Forbidden, 403),
            (ErrorCode::NotFound, 404),
            (ErrorCode::ParameterMismatch, 409),
            (ErrorCode::ServiceUnavailable, 503),
            (ErrorCode::InternalServerError, 500),
        ];
        for (code, status) in cases {
            assert_eq!(GraphCode::from(code).status().as_u16(), status, "{code:?}");
        }
    }

    #[test]
    fn an_internal_error_never_tells_the_client_its_cause() {
        let error = ApiError::from(StoreError::internal("disk /var/secret is full"));
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!error.message.contains("secret"));
        assert!(error.detail.unwrap().contains("secret"));
    }

    #[test]
    fn an_empty_message_is_replaced() {
        assert!(!ApiError::new(GraphCode::NotFound, " ").message.is_empty());
    }
}
