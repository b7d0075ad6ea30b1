//! The rules of `createorget.md`, one test per rule, named after it.
//!
//! Everything here runs through the public API of `meeting-core` on the
//! in-memory store, with a manual clock and sequential ids where a value must
//! be predictable.

mod counting;
mod json;
mod operations;
mod profiles;
mod properties;
mod request;
mod response;
mod rules;
mod seed;

use meeting_core::testing::{ManualClock, SequentialIds};
use meeting_core::Target;
use meeting_core::{
    Caller, CreateOrGetRequest, Error, MeetingService, OnlineMeeting, Outcome, Profile, Settings,
};
use meeting_store_memory::MemoryStore;
use serde_json::Value;
use std::sync::Arc;

pub use meeting_tests::seed::{ORGANIZER as USER, TENANT};
pub const OTHER_USER: &str = "1f35f2e6-9cab-44ad-8d5a-b74c14720000";

/// A delegated work-account caller with `OnlineMeetings.ReadWrite`.
pub fn caller() -> Caller {
    caller_for(TENANT, USER)
}

pub fn caller_for(tenant: &str, user: &str) -> Caller {
    Caller::delegated(
        tenant.parse().unwrap(),
        user.parse().unwrap(),
        ["OnlineMeetings.ReadWrite"],
    )
}

/// A service on a fresh memory store with default settings, a clock standing
/// at 2026-01-01T09:00:00Z and sequential ids.
pub fn service() -> MeetingService {
    service_with(Settings::default())
}

pub fn service_with(settings: Settings) -> MeetingService {
    service_over(Arc::new(MemoryStore::new())).with_settings(settings)
}

/// A service over `store` with default settings, the manual clock and
/// sequential ids of [`service`].
pub fn service_over(store: Arc<dyn meeting_core::MeetingStore>) -> MeetingService {
    MeetingService::new(store)
        .with_clock(Arc::new(ManualClock::at("2026-01-01T09:00:00Z")))
        .with_ids(Arc::new(SequentialIds::new()))
}

/// Parses a JSON body, as the HTTP front does.
pub fn request(json: &str) -> CreateOrGetRequest {
    CreateOrGetRequest::from_json(json.as_bytes())
        .unwrap_or_else(|error| panic!("the request is valid, but: {error}"))
}

/// createOrGet with a JSON body, in a profile.
pub async fn call(
    service: &MeetingService,
    caller: &Caller,
    profile: Profile,
    json: &str,
) -> Result<Outcome, Error> {
    let request = CreateOrGetRequest::from_json(json.as_bytes())?;
    service
        .create_or_get(caller, Target::Me, profile, &request)
        .await
}

/// createOrGet that must succeed.
pub async fn create(service: &MeetingService, json: &str) -> Outcome {
    call(service, &caller(), Profile::Beta, json)
        .await
        .unwrap_or_else(|error| panic!("createOrGet succeeds, but: {error}"))
}

/// The meeting as the `beta` profile (the seed's shape) shows it, member
/// order kept (serde_json's `preserve_order`).
pub fn to_value(meeting: &OnlineMeeting) -> Value {
    let view = meeting_core::render::view(meeting, Profile::Beta);
    serde_json::from_str(&serde_json::to_string(&view).unwrap()).unwrap()
}

/// The 400 a body gets, with the member it names.
pub fn invalid(json: &str) -> meeting_core::InvalidRequest {
    match CreateOrGetRequest::from_json(json.as_bytes()) {
        Ok(parsed) => panic!("expected a 400 for {json}, got {parsed:?}"),
        Err(error) => error,
    }
}
