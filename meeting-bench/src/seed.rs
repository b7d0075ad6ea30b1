//! The seed's example, and a service that makes meetings of its shape.
//!
//! The fixtures, the organizer and the seed's settings are the cross-crate
//! tests' (`meeting_tests::seed`); this module adds what the benches need.

use dashmap::DashMap;
use meeting_core::model::{
    AdditionalMembers, AudioConferencing, ChatInfo, Identity, IdentitySet, MeetingParticipantInfo,
    MeetingParticipants,
};
use meeting_core::{
    CreateOrGetRequest, ExternalId, MeetingKey, MeetingService, MeetingStore, ODataTag,
    OnlineMeeting, Target,
};
use meeting_store_memory::MemoryStore;
pub use meeting_tests::seed::{
    caller, settings, ORGANIZER as USER, REQUEST as SEED_REQUEST, RESPONSE as SEED_RESPONSE, TENANT,
};
use std::sync::{Arc, OnceLock};

/// The `n`th distinct `externalId`, as long as the seed's (36 characters).
pub fn external_id(n: u64) -> ExternalId {
    ExternalId::new(format!("7eb8263f-d0e0-4149-bb1c-{n:012}")).expect("a valid externalId")
}

/// The [`caller`]'s key for the `n`th [`external_id`].
pub fn key(n: u64) -> MeetingKey {
    MeetingKey {
        tenant: TENANT.parse().expect("a valid tenant id"),
        user: USER.parse().expect("a valid user id"),
        external_id: external_id(n),
    }
}

/// The seed's request (subject, times, organizer, one attendee) for the `n`th key.
pub fn full_request(n: u64) -> CreateOrGetRequest {
    // Parsed once: benches make requests off the clock, but criterion sizes its
    // samples by the clock alone, so slow setup would stretch the run.
    static SEED: OnceLock<CreateOrGetRequest> = OnceLock::new();
    let mut request = SEED
        .get_or_init(|| {
            CreateOrGetRequest::from_json(SEED_REQUEST.as_bytes())
                .expect("the seed request is valid")
        })
        .clone();
    request.external_id = external_id(n);
    request
}

/// A request carrying only the `n`th key: the smallest valid createOrGet.
pub fn key_only_request(n: u64) -> CreateOrGetRequest {
    CreateOrGetRequest::new(external_id(n))
}

/// A service over a fresh memory store, with the system clock and random ids
/// (what a deployment runs), and the seed's [`settings`].
pub fn service() -> (MeetingService, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let service = MeetingService::new(Arc::clone(&store) as _).with_settings(settings());
    (service, store)
}

/// A service whose store holds meetings `0..count`, each made from
/// [`full_request`] as a createOrGet would.
pub fn populated_service(count: u64) -> (MeetingService, Arc<MemoryStore>) {
    let (service, store) = service();
    let caller = caller();
    for n in 0..count {
        crate::run::ready(service.create_or_get(
            &caller,
            Target::Me,
            Default::default(),
            &full_request(n),
        ))
        .expect("creating a meeting in memory succeeds");
    }
    (service, store)
}

/// The baseline's map: keys `0..count` to the meetings `store` holds for them.
pub fn stored_map(
    store: &MemoryStore,
    count: u64,
) -> (Vec<MeetingKey>, DashMap<MeetingKey, Arc<OnlineMeeting>>) {
    let keys: Vec<MeetingKey> = (0..count).map(key).collect();
    let map = keys
        .iter()
        .map(|key| {
            let meeting = crate::run::ready(store.get_by_key(key))
                .expect("in memory")
                .expect("stored");
            (key.clone(), meeting)
        })
        .collect();
    (keys, map)
}

/// A copy of `meeting` built member by member, as code that had every value at
/// hand would build it: the allocations and copies a create cannot avoid.
pub fn build_by_hand(meeting: &OnlineMeeting) -> OnlineMeeting {
    fn identity(identity: &Identity) -> Identity {
        Identity {
            odata_type: ODataTag::new(),
            id: identity.id.clone(),
            tenant_id: identity.tenant_id.clone(),
            display_name: identity.display_name.clone(),
            identity_provider: identity.identity_provider.clone(),
            additional: AdditionalMembers::new(),
        }
    }
    fn participant(info: &MeetingParticipantInfo) -> MeetingParticipantInfo {
        MeetingParticipantInfo {
            odata_type: ODataTag::new(),
            identity: info.identity.as_ref().map(|set| IdentitySet {
                odata_type: ODataTag::new(),
                user: set.user.as_ref().map(identity),
                application: set.application.as_ref().map(identity),
                device: set.device.as_ref().map(identity),
                additional: AdditionalMembers::new(),
            }),
            upn: info.upn.clone(),
            role: info.role,
        }
    }
    let participants = &meeting.participants;
    OnlineMeeting {
        odata_type: ODataTag::new(),
        creation_date_time: meeting.creation_date_time,
        start_date_time: meeting.start_date_time,
        end_date_time: meeting.end_date_time,
        join_web_url: meeting.join_web_url.clone(),
        subject: meeting.subject.clone(),
        participants: MeetingParticipants {
            odata_type: ODataTag::new(),
            organizer: participants.organizer.as_ref().map(participant),
            attendees: participants.attendees.iter().map(participant).collect(),
            producers: participants.producers.iter().map(participant).collect(),
            contributors: participants.contributors.iter().map(participant).collect(),
        },
        is_broadcast: meeting.is_broadcast,
        auto_admitted_users: meeting.auto_admitted_users,
        capabilities: meeting.capabilities.clone(),
        audio_conferencing: meeting
            .audio_conferencing
            .as_ref()
            .map(|audio| AudioConferencing {
                odata_type: ODataTag::new(),
                conference_id: audio.conference_id.clone(),
                toll_number: audio.toll_number.clone(),
                dialin_url: audio.dialin_url.clone(),
            }),
        chat_info: meeting.chat_info.as_ref().map(|chat| ChatInfo {
            odata_type: ODataTag::new(),
            thread_id: chat.thread_id.clone(),
            message_id: chat.message_id.clone(),
            reply_chain_message_id: chat.reply_chain_message_id.clone(),
        }),
        video_teleconference_id: meeting.video_teleconference_id.clone(),
        external_id: meeting.external_id.clone(),
        id: meeting.id.clone(),
        outer_meeting_auto_admitted_users: meeting.outer_meeting_auto_admitted_users,
        meeting_info: meeting.meeting_info.clone(),
        join_meeting_id_settings: meeting.join_meeting_id_settings.clone(),
        meeting_options: meeting.meeting_options.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_meeting_has_the_seeds_members_and_size() {
        let (service, _store) = populated_service(1);
        let outcome = crate::run::ready(service.create_or_get(
            &caller(),
            Target::Me,
            Default::default(),
            &full_request(0),
        ))
        .unwrap();
        let meeting = outcome.meeting();
        assert!(!outcome.is_created());
        assert!(meeting.audio_conferencing.is_some());
        assert!(meeting.video_teleconference_id.is_some());
        assert_eq!(meeting.participants.attendees.len(), 1);
        // Shown as the seed was (beta), within a few bytes of the seed's compact
        // JSON: the benches measure meetings of the seed's size, not toy ones.
        let seed: OnlineMeeting = serde_json::from_str(SEED_RESPONSE).unwrap();
        let beta = |m: &OnlineMeeting| {
            serde_json::to_vec(&meeting_core::render::view(m, meeting_core::Profile::Beta)).unwrap()
        };
        let ours = beta(meeting).len() as f64;
        let theirs = beta(&seed).len() as f64;
        assert!((ours / theirs - 1.0).abs() < 0.15, "{ours} vs {theirs}");
    }

    #[test]
    fn build_by_hand_builds_an_equal_meeting() {
        let seed: OnlineMeeting = serde_json::from_str(SEED_RESPONSE).unwrap();
        assert_eq!(build_by_hand(&seed), seed);
    }
}
