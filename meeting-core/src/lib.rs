//! Microsoft Graph's `onlineMeeting: createOrGet`: create an online meeting under
//! a caller-chosen `externalId`, or return the one that already exists, exactly
//! once per key whatever the concurrency.
//!
//! - [`model`]: Graph's `onlineMeeting` and its nested types, each carrying its
//!   `@odata.type` first ([`ODataType`](macro@ODataType)).
//! - [`CreateOrGetRequest`]: the request body and its validation; [`CreateRequest`],
//!   [`UpdateRequest`] and [`MeetingFilter`] for create, update and find.
//! - [`Caller`]: who calls, and the permission table.
//! - [`MeetingService`]: the createOrGet rules, in two [`Profile`]s (`beta`, `v1.0`);
//!   [`MeetingService::authorize`] decides who may do what.
//! - [`MeetingStore`]: the storage contract; backends live in their own crates
//!   and pass the conformance suite (feature `conformance`).
//!
//! The contract is the project's `createorget.md`; the README's example runs
//! a whole createOrGet.

#![warn(missing_docs)]

// Lets the derive's `::meeting_core::…` paths resolve inside this crate too.
extern crate self as meeting_core;

pub mod access;
mod admin;
mod caller;
mod create;
mod datetime;
mod error;
mod filter;
mod generate;
mod ids;
pub mod model;
pub mod odata;
pub mod options;
pub mod render;
mod request;
mod scan;
mod service;
mod store;
pub mod testing;
mod update;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use admin::{Admin, ADMIN_PAGE_MAX};
pub use caller::{scopes, Access, Caller, Forbidden, Operation, PERSONAL_ACCOUNT_TENANT};
pub use create::CreateRequest;
pub use datetime::{DateTimeError, DateTimeOffset};
pub use error::{error_chain, Error, ErrorCode};
pub use filter::MeetingFilter;
pub use generate::{Clock, IdSource, RandomIds, SystemClock};
pub use ids::{ExternalId, ExternalIdError, IdError, MeetingId, MeetingKey, TenantId, UserId};
pub use meeting_derive::ODataType;
pub use model::{join_web_url_key, OnlineMeeting};
pub use odata::{ODataTag, ODataType};
pub use request::{CreateOrGetRequest, InvalidRequest, RequestParticipants};
pub use service::{
    Authorized, DialIn, MeetingService, Profile, Settings, Target, DEFAULT_DIALIN_BASE_URL,
    DEFAULT_JOIN_BASE_URL,
};
pub use store::{
    check_update_keeps_identity, BoxError, Change, MeetingStore, NewMeeting, Outcome, StoreError,
    Updated,
};
pub use update::{OptionsPatch, UpdateRequest, UPDATABLE_OPTIONS};

/// The bounds of a request (spec section 2), and of what parsing one may build.
pub mod limits {
    pub use crate::ids::EXTERNAL_ID_MAX_CHARS;
    pub use crate::request::{ATTENDEES_MAX, JSON_MAX_DEPTH, JSON_MAX_VALUES, SUBJECT_MAX_CHARS};
}
