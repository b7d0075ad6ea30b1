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
    /// The store failed (503 when unavailable, else 500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Graph's error codes, as this service uses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `BadRequest`
    BadRequest,
    /// `Forbidden`
    Forbidden,
    /// `NotFound`
    NotFound,
    /// `ParameterMismatch`
    ParameterMismatch,
    /// `ServiceUnavailable`
    ServiceUnavailable,
    /// `InternalServerError`
    InternalServerError,
}

impl ErrorCode {
    /// The code as Graph writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "BadRequest",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::NotFound => "NotFound",
            ErrorCode::ParameterMismatch => "ParameterMismatch",
            ErrorCode::ServiceUnavailable => "ServiceUnavailable",
            ErrorCode::InternalServerError => "InternalServerError",
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
            Error::Store(StoreError::Unavailable { .. }) => ErrorCode::ServiceUnavailable,
            Error::Store(_) => ErrorCode::InternalServerError,
        }
    }
}
