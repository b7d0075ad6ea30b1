//! The errors of the createOrGet service, by what the caller did wrong.

use crate::caller::Forbidden;
use crate::request::InvalidRequest;
use crate::store::StoreError;

/// Why a service call failed. [`Error::code`] names Graph's error code; the HTTP
/// front maps codes to statuses in one place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request breaks a rule of spec section 2 or 1.1 (400).
    #[error(transparent)]
    InvalidRequest(#[from] InvalidRequest),
    /// The caller may not do this (403).
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such meeting for this caller (404); also for another organizer's meeting.
    #[error("no online meeting with this id exists for the caller")]
    NotFound,
    /// Strict mode: the key's meeting differs from the request in these members (409).
    #[error("a meeting with this externalId exists and differs in {}", .members.join(", "))]
    ParameterMismatch {
        /// The members that differ, such as `subject`.
        members: Vec<&'static str>,
    },
    /// `If-Match` names none of the meeting's current ETags: it changed since
    /// the caller read it (412).
    #[error("the meeting has changed since the ETag in If-Match was read; GET it again and retry with its new ETag")]
    PreconditionFailed,
    /// The store failed (503 when unavailable, else 500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Graph's error codes, each with its HTTP status (spec section 5): the one
/// list both the service and an HTTP front use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
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
    /// `412 PreconditionFailed`: `If-Match` names another version of the meeting.
    PreconditionFailed,
    /// `415 UnsupportedMediaType`: body not `application/json`.
    UnsupportedMediaType,
    /// `500 InternalServerError`: a bug; details go to the log only.
    InternalServerError,
    /// `503 ServiceUnavailable`: store unreachable, overloaded or timed out.
    ServiceUnavailable,
    /// `429 TooManyRequests`: Graph's throttling (with `Retry-After`).
    TooManyRequests,
    /// `504 GatewayTimeout`: a gateway in front of the service gave up waiting.
    GatewayTimeout,
}

impl ErrorCode {
    /// The code as Graph writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "BadRequest",
            ErrorCode::InvalidAuthenticationToken => "InvalidAuthenticationToken",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::NotFound => "NotFound",
            ErrorCode::MethodNotAllowed => "MethodNotAllowed",
            ErrorCode::ParameterMismatch => "ParameterMismatch",
            ErrorCode::RequestEntityTooLarge => "RequestEntityTooLarge",
            ErrorCode::PreconditionFailed => "PreconditionFailed",
            ErrorCode::UnsupportedMediaType => "UnsupportedMediaType",
            ErrorCode::InternalServerError => "InternalServerError",
            ErrorCode::ServiceUnavailable => "ServiceUnavailable",
            ErrorCode::TooManyRequests => "TooManyRequests",
            ErrorCode::GatewayTimeout => "GatewayTimeout",
        }
    }

    /// The HTTP status Graph answers with this code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::InvalidAuthenticationToken => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::ParameterMismatch => 409,
            ErrorCode::RequestEntityTooLarge => 413,
            ErrorCode::PreconditionFailed => 412,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::InternalServerError => 500,
            ErrorCode::ServiceUnavailable => 503,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::GatewayTimeout => 504,
        }
    }
}

impl Error {
    /// Graph's code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidRequest(_) => ErrorCode::BadRequest,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::NotFound => ErrorCode::NotFound,
            Error::ParameterMismatch { .. } => ErrorCode::ParameterMismatch,
            Error::PreconditionFailed => ErrorCode::PreconditionFailed,
            Error::Store(StoreError::Unavailable { .. }) => ErrorCode::ServiceUnavailable,
            Error::Store(_) => ErrorCode::InternalServerError,
        }
    }
}

/// An error and all its causes, outermost first, joined by `": "`: what a log
/// line shows. Each layer's `Display` says only its own part, so nothing repeats.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|cause| cause as _)
        }
    }

    #[test]
    fn the_chain_is_each_layer_once_outermost_first() {
        let error = Layer(
            "the store failed",
            Some(Box::new(Layer(
                "a SQLite call failed",
                Some(Box::new(Layer("disk I/O error", None))),
            ))),
        );
        assert_eq!(
            error_chain(&error),
            "the store failed: a SQLite call failed: disk I/O error"
        );
        assert_eq!(error_chain(&Layer("alone", None)), "alone");
    }
}
