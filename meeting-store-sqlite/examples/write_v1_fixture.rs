//! Writes `tests/fixtures/v1.db`: meetings stored by this build, which every
//! later build must still read (`tests/upgrade.rs`). Rerun only to make the
//! fixture again, on a build that writes schema version 1 and today's model:
//!
//! ```sh
//! cargo run -p meeting-store-sqlite --example write_v1_fixture -- meeting-store-sqlite/tests/fixtures/v1.db
//! ```
//!
//! It prints each meeting's id, key, subject and attendee count, the values
//! `tests/upgrade.rs` checks.

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::testing::{ManualClock, SequentialIds};
use meeting_core::{Caller, CreateOrGetRequest, MeetingService, MeetingStore, Profile};
use meeting_store_sqlite::SqliteStore;
use std::sync::Arc;

/// A delegated caller of `tenant` as `user`, named.
fn caller(tenant: &str, user: &str, name: &str) -> Caller {
    Caller::delegated(
        tenant.parse().unwrap(),
        user.parse().unwrap(),
        ["OnlineMeetings.ReadWrite"],
    )
    .with_display_name(name)
}

/// Each request and who sends it, under which profile.
fn requests() -> Vec<(Caller, Profile, String)> {
    let seed = caller(
        meeting_tests::seed::TENANT,
        meeting_tests::seed::ORGANIZER,
        "Tyler Stein",
    );
    let other = caller(
        "5b1f0d2e-2c7e-4d1c-9a43-0f3e2b1a0000",
        "0c9a7f3e-6d2b-4e8a-b1f4-7a2c3d4e0000",
        "Ana Łukasiewicz",
    );
    vec![
        // The seed's request, as on beta: start and end the year-1 default.
        (seed.clone(), Profile::Beta, meeting_tests::seed::REQUEST.to_owned()),
        // v1.0, start only (end an hour later); unicode; every identity kind with extras.
        (
            seed.clone(),
            Profile::V1,
            serde_json::json!({
                "externalId": "réunion-会议-😀",
                "subject": "Réunion «hebdo» 会议 😀",
                "startDateTime": "2026-03-04T09:30:00+01:00",
                "participants": {
                    "attendees": [
                        {"identity": {"user": {"id": "1f35f2e6-9cab-44ad-8d5a-b74c14720000",
                                               "identityProvider": "MSA",
                                               "displayName": "Zoë",
                                               "favouriteColour": {"name": "vert", "rgb": [0, 128, 0]}}},
                         "upn": "zoe@contoso.com", "role": "presenter"},
                        {"identity": {"application": {"id": "app-1", "displayName": "Bot"},
                                      "phone": {"id": "+1 555 0100"}}},
                        {"identity": {"device": {"id": "device-1"}}, "role": "attendee"}
                    ]
                }
            })
            .to_string(),
        ),
        // beta, the least a request may say, from another tenant.
        (
            other.clone(),
            Profile::Beta,
            r#"{"externalId": "minimal"}"#.to_owned(),
        ),
        // v1.0 with neither start nor end: now, and an hour later.
        (
            other,
            Profile::V1,
            serde_json::json!({
                "externalId": "v1-defaults",
                "subject": "Weekly sync",
                "participants": {"attendees": [
                    {"identity": {"user": {"id": "7a7a7a7a-0000-4000-8000-000000000001"}}}
                ]}
            })
            .to_string(),
        ),
    ]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: write_v1_fixture PATH (a file that does not exist yet)")?;
    if std::path::Path::new(&path).exists() {
        return Err(format!("{path} exists: remove it first").into());
    }
    let store = Arc::new(SqliteStore::open(&path).await?);
    let service = MeetingService::new(Arc::clone(&store) as Arc<dyn MeetingStore>)
        .with_settings(meeting_tests::seed::settings())
        .with_clock(Arc::new(ManualClock::at("2026-03-04T08:00:00Z")))
        .with_ids(Arc::new(SequentialIds::new()));
    for (caller, profile, body) in requests() {
        let request = CreateOrGetRequest::from_json(body.as_bytes())?;
        let outcome = service
            .create_or_get(&caller, meeting_core::Target::Me, profile, &request)
            .await?;
        let meeting = outcome.meeting();
        println!(
            "{:?} {:?} {:?} attendees={} start={:?}",
            meeting.id.as_str(),
            meeting.external_id.as_str(),
            meeting.subject,
            meeting.participants.attendees.len(),
            serde_json::to_value(meeting.start_date_time)?,
        );
    }
    // The conformance suite's sample: NUL, quotes and astral characters in extras.
    let sample = key("tenant-sample", "user-sample", "sample-1");
    let outcome = store
        .create_or_get(&sample, &|| sample_meeting(&sample, 1))
        .await?;
    println!(
        "{:?} {:?}",
        outcome.meeting().id.as_str(),
        serde_json::to_string(outcome.meeting())?
    );
    Ok(())
}
