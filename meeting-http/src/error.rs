//! Graph's error object, and the one mapping from error codes to HTTP statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
pub(crate) use meeting_core::ErrorCode;
use meeting_core::{error_chain, Error, StoreError};

/// Seconds a client should wait before retrying a `503`.
pub const RETRY_AFTER_SECONDS: u64 = 5;

/// The code for a status the framework answered by itself (an extractor's
/// rejection, a shed request).
pub(crate) fn code_for_status(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::UNAUTHORIZED => ErrorCode::InvalidAuthenticationToken,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::CONFLICT => ErrorCode::ParameterMismatch,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::RequestEntityTooLarge,
        StatusCode::PRECONDITION_FAILED => ErrorCode::PreconditionFailed,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::TooManyRequests,
        StatusCode::GATEWAY_TIMEOUT => ErrorCode::GatewayTimeout,
        s if s.is_client_error() => ErrorCode::BadRequest,
        _ => ErrorCode::InternalServerError,
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
    pub code: ErrorCode,
    /// What the client reads; never empty.
    pub message: String,
    /// What only the log reads (causes of a `500` or `503`).
    pub detail: Option<String>,
    /// Seconds for `Retry-After`; `None`: [`RETRY_AFTER_SECONDS`] on a `429`
    /// or `503`, no header on other statuses.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `code` and a client-facing `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
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
            retry_after: None,
        }
    }

    /// This error with `Retry-After: seconds`.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// A `500` whose cause goes to the log, never to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError {
            detail: Some(detail.to_string()),
            ..ApiError::new(
                ErrorCode::InternalServerError,
                default_message(ErrorCode::InternalServerError),
            )
        }
    }

    /// A `401 InvalidAuthenticationToken`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidAuthenticationToken, message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The message of a code when nothing more specific is known.
pub(crate) fn default_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadRequest => "the request is invalid",
        ErrorCode::InvalidAuthenticationToken => {
            "the access token is missing or invalid; send Authorization: Bearer <token>"
        }
        ErrorCode::Forbidden => "the caller may not do this",
        ErrorCode::NotFound => "no resource exists at this address",
        ErrorCode::MethodNotAllowed => "this method is not allowed on this resource",
        ErrorCode::ParameterMismatch => "the request conflicts with the existing meeting",
        ErrorCode::RequestEntityTooLarge => "the request body is larger than 4 MiB",
        ErrorCode::PreconditionFailed => "the resource has changed since the ETag in If-Match",
        ErrorCode::UnsupportedMediaType => {
            "the request body must be JSON; send Content-Type: application/json"
        }
        ErrorCode::InternalServerError => {
            "an internal error occurred; retry, and report the request-id if it persists"
        }
        ErrorCode::ServiceUnavailable => "the service is unavailable; retry after a while",
        ErrorCode::TooManyRequests => "too many requests; retry after the time in Retry-After",
        ErrorCode::GatewayTimeout => "the gateway timed out waiting for the service; retry",
        _ => "the request failed",
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let code = error.code();
        match (code, &error) {
            (ErrorCode::ServiceUnavailable, _) => ApiError {
                detail: Some(error_chain(&error)),
                ..ApiError::new(
                    code,
                    "the meeting store is unavailable; retry after the time in Retry-After",
                )
            },
            (ErrorCode::InternalServerError, _) => ApiError::internal(error_chain(&error)),
            _ => ApiError::new(code, error.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::from(Error::Store(error))
    }
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
    fn every_code_maps_to_the_status_of_spec_section_5_and_back() {
        let cases = [
            (ErrorCode::BadRequest, 400),
            (ErrorCode::InvalidAuthenticationToken, 401),
            (ErrorCode::Forbidden, 403),
            (ErrorCode::NotFound, 404),
            (ErrorCode::MethodNotAllowed, 405),
            (ErrorCode::ParameterMismatch, 409),
            (ErrorCode::RequestEntityTooLarge, 413),
            (ErrorCode::PreconditionFailed, 412),
            (ErrorCode::UnsupportedMediaType, 415),
            (ErrorCode::InternalServerError, 500),
            (ErrorCode::ServiceUnavailable, 503),
            (ErrorCode::TooManyRequests, 429),
            (ErrorCode::GatewayTimeout, 504),
        ];
        for (code, status) in cases {
            let error = ApiError::new(code, "x");
            assert_eq!(error.status().as_u16(), status, "{code:?}");
            assert_eq!(code_for_status(error.status()), code, "{code:?}");
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
    fn the_log_names_each_layer_of_a_failure_once() {
        let cause = std::io::Error::other("connection refused");
        let error = ApiError::from(StoreError::unavailable(cause));
        assert_eq!(
            error.detail.as_deref(),
            Some("the meeting store is unavailable: connection refused")
        );
    }

    #[test]
    fn an_empty_message_is_replaced() {
        assert!(!ApiError::new(ErrorCode::NotFound, " ").message.is_empty());
    }
}
