//! The Graph-compatible HTTP front of `onlineMeeting: createOrGet`: an axum
//! [`Router`] any service can mount over a [`MeetingService`]. It depends on
//! `meeting-core` only; the `meetingd` crate serves it over a chosen store.
//!
//! ```no_run
//! use meeting_core::MeetingService;
//! use meeting_http::{auth::TokenVerifier, router, HttpConfig};
//! use meeting_store_memory::MemoryStore;
//! use std::sync::Arc;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let service = MeetingService::new(Arc::new(MemoryStore::new()));
//! // At least 32 bytes (RFC 7518 section 3.2); a shorter secret is an error.
//! let verifier = TokenVerifier::hs256(b"a secret of at least thirty-two bytes")?;
//! let config = HttpConfig::new("http://127.0.0.1:8080", verifier);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! meeting_http::serve(listener, router(service, config), meeting_http::shutdown_signal()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! Routes (spec section 6), for `{version}` = `beta` or `v1.0`:
//! - `POST /{version}/me/onlineMeetings/createOrGet` and
//!   `POST /{version}/users/{userId}/onlineMeetings/createOrGet`;
//! - `GET`, `PATCH` (Graph's updatable members; `If-Match` makes it
//!   conditional) and `DELETE /{version}/me/onlineMeetings/{id}` (and under `/users/{userId}`);
//! - `POST /{version}/me/onlineMeetings` (a meeting without a key, `201`) and
//!   `GET /{version}/me/onlineMeetings?$filter=JoinWebUrl eq '…'` or
//!   `…?$filter=joinMeetingIdSettings/joinMeetingId eq '…'` (a collection), and
//!   under `/users/{userId}`;
//! - `GET /healthz`;
//! - with an admin token ([`HttpConfig::with_admin_token`]), the [admin API](admin)
//!   under `/_meetingd/`.
//!
//! Every failure, the framework's own included, is Graph's error object. Chosen
//! routes can be made to fail on purpose ([`faults`], [`HttpConfig::with_faults`]).

#![warn(missing_docs)]

pub mod admin;
pub mod auth;
mod envelope;
mod error;
pub mod faults;
mod routes;
mod server;

pub use envelope::{CONTENT_TYPE, DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_REQUEST_TIMEOUT};
pub use error::{ApiError, RETRY_AFTER_SECONDS};
pub use meeting_core::ErrorCode;
pub use routes::BODY_LIMIT;
pub use server::{
    serve, serve_with, shutdown_signal, ServeOptions, DEFAULT_HEADER_READ_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
};

use admin::AdminToken;
use auth::TokenVerifier;
use axum::Router;
use faults::Faults;
use meeting_core::MeetingService;
use std::sync::Arc;
use std::time::Duration;

/// How the front presents itself and checks callers.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The base of `@odata.context`, such as `https://graph.example.com` (no trailing `/`).
    pub public_base_url: String,
    /// Verifies bearer tokens.
    pub verifier: TokenVerifier,
    /// The longest a request may take, body upload included; past it the client gets a `503`.
    pub request_timeout: Duration,
    /// The most requests handled at once; past it a request is refused at
    /// once with `503` and `Retry-After`, so that a flood costs at most this
    /// many bodies in memory. At least 1.
    pub max_concurrent_requests: usize,
    /// The faults injected into Graph routes; none by default. A handle:
    /// changes through any clone apply at once.
    pub faults: Faults,
    /// Mounts the admin API under `/_meetingd/`, guarded by this token; off
    /// (`None`) by default.
    pub admin_token: Option<AdminToken>,
}

impl HttpConfig {
    /// A configuration with the default request timeout.
    pub fn new(public_base_url: impl Into<String>, verifier: TokenVerifier) -> Self {
        HttpConfig {
            public_base_url: public_base_url.into().trim_end_matches('/').to_owned(),
            verifier,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            faults: Faults::default(),
            admin_token: None,
        }
    }

    /// Injects faults from this handle ([`faults`]).
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Turns the admin API on, guarded by `token` ([`admin`]).
    pub fn with_admin_token(mut self, token: AdminToken) -> Self {
        self.admin_token = Some(token);
        self
    }

    /// Replaces the request timeout.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Replaces the limit on requests handled at once (at least 1).
    pub fn with_max_concurrent_requests(mut self, limit: usize) -> Self {
        self.max_concurrent_requests = limit;
        self
    }
}

/// What every handler shares, behind one `Arc`.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) service: MeetingService,
    pub(crate) config: HttpConfig,
    pub(crate) bodies: routes::RenderedBodies,
}

/// The createOrGet front over `service`: routes, token checks, Graph's errors,
/// response headers, the request log, the limits and the timeout.
pub fn router(service: MeetingService, config: HttpConfig) -> Router {
    let state = Arc::new(AppState {
        service,
        config,
        bodies: routes::RenderedBodies::default(),
    });
    let routes = match state.config.admin_token {
        Some(_) => routes::routes().merge(admin::routes()),
        None => routes::routes(),
    };
    envelope::wrap(routes, state)
}
