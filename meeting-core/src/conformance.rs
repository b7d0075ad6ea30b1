//! The store conformance suite: every [`MeetingStore`] must pass it.
//!
//! Each scenario is a public async function taking the store under test; the
//! [`store_conformance!`](crate::store_conformance) macro turns them all into one
//! `#[tokio::test]` each. A backend crate invokes the macro once, with an
//! expression that makes a fresh, empty store per test (this is what
//! `meeting-store-memory` does, so the snippet is compiled and run there):
//!
//! ```text
//! #[cfg(test)]
//! mod conformance {
//!     meeting_core::store_conformance!(async { std::sync::Arc::new(MyStore::new()) });
//! }
//! ```
//!
//! The expression may also yield `(Arc<Store>, guard)`, where the guard (a
//! temporary directory, a server handle) lives as long as the test. Attributes
//! for every test go before `fixture = <expression>` (a store that needs a
//! server marks them ignored where there is none, as meeting-store-postgres
//! does). The caller's crate needs `tokio` with the `macros` and
//! `rt-multi-thread` features.
//!
//! `ping` has no scenario: a healthy ping is all a suite without a way to break
//! the store could check, and that cannot fail for a store that keeps the
//! trait's default (the memory store, which is never unavailable). Each store
//! that implements `ping` tests it where it fails and recovers: SQLite in
//! `tests/unwritable.rs`, PostgreSQL in `tests/restart.rs`.

use crate::model::{
    AudioConferencing, AutoAdmittedUsers, ChatInfo, Identity, IdentitySet, MeetingCapability,
    MeetingParticipantInfo, MeetingParticipants, OnlineMeetingRole,
};
use crate::options::{JoinMeetingIdSettings, MeetingOptions, OnlineMeetingPresenters};
use crate::{
    DateTimeOffset, ExternalId, MeetingId, MeetingKey, MeetingStore, OnlineMeeting, Outcome,
    TenantId, UserId,
};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// What a scenario needs from a store factory's result.
pub trait Fixture {
    /// The store under test.
    fn store(&self) -> Arc<dyn MeetingStore>;
}

impl<S: MeetingStore + 'static> Fixture for Arc<S> {
    fn store(&self) -> Arc<dyn MeetingStore> {
        Arc::clone(self) as Arc<dyn MeetingStore>
    }
}

impl<S: MeetingStore + 'static, Guard> Fixture for (Arc<S>, Guard) {
    fn store(&self) -> Arc<dyn MeetingStore> {
        Arc::clone(&self.0) as Arc<dyn MeetingStore>
    }
}

/// Generates one `#[tokio::test]` per conformance scenario for the store that
/// `$factory` (an expression evaluating to a future of a [`Fixture`]) makes.
#[macro_export]
macro_rules! store_conformance {
    (@test [$(#[$attribute:meta])*] $factory:expr, $scenario:ident) => {
        #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $(#[$attribute])*
        async fn $scenario() {
            let fixture = $factory.await;
            $crate::conformance::$scenario($crate::conformance::Fixture::store(&fixture)).await;
        }
    };
    (@scenarios $attributes:tt $factory:expr; $($scenario:ident),* $(,)?) => {
        $($crate::store_conformance!(@test $attributes $factory, $scenario);)*
    };
    ($(#[$attribute:meta])* fixture = $factory:expr) => {
        $crate::store_conformance!(@scenarios [$(#[$attribute])*] $factory;
            create_then_get_returns_the_stored_meeting,
            existing_key_returns_the_stored_meeting_unchanged,
            hit_does_not_build_a_meeting,
            concurrent_callers_on_one_key_share_one_meeting,
            concurrent_callers_on_many_keys_share_one_meeting_per_key,
            key_is_scoped_by_tenant,
            key_is_scoped_by_user,
            external_id_matches_exactly,
            delete_frees_the_key,
            delete_of_an_unknown_id_deletes_nothing,
            unknown_id_and_key_find_nothing,
            every_field_round_trips,
            an_id_stored_under_another_key_is_a_conflict_and_the_key_stays_free,
            a_join_meeting_id_stored_under_another_key_is_a_conflict_and_the_key_stays_free,
            concurrent_creates_of_one_join_meeting_id_store_exactly_one,
            meetings_without_a_join_meeting_id_coexist,
            delete_frees_the_join_meeting_id,
            list_pages_through_every_meeting_in_id_byte_order,
            count_counts_the_stored_meetings,
            clear_deletes_every_meeting_and_frees_every_key,
            update_stores_the_changed_meeting_whole,
            update_of_an_unknown_id_is_missing_and_calls_no_change,
            a_refused_change_writes_nothing,
            an_update_that_changes_identity_is_refused,
            concurrent_updates_of_different_members_all_take_effect,
            update_racing_delete_never_resurrects_the_meeting,
            lookups_find_by_join_link_and_join_id_and_see_updates,
            lookups_find_nothing_after_delete,
            join_link_lookup_compares_the_canonical_form,
            meetings_sharing_a_join_link_are_all_found,
            deleting_one_meeting_of_a_shared_join_link_keeps_the_others_found,
            lookups_are_scoped_to_what_the_caller_may_see,
        );
    };
    ($factory:expr) => {
        $crate::store_conformance!(fixture = $factory);
    };
}

/// A key from three strings.
pub fn key(tenant: &str, user: &str, external_id: &str) -> MeetingKey {
    MeetingKey {
        tenant: TenantId::new(tenant).expect("a valid tenant id"),
        user: UserId::new(user).expect("a valid user id"),
        external_id: ExternalId::new(external_id).expect("a valid externalId"),
    }
}

/// A meeting for `key` with every member set, distinguished by `n`: unicode
/// text, the extreme date-times at 100 ns precision, open-type extras whose
/// order matters, every optional member present.
pub fn sample_meeting(key: &MeetingKey, n: u64) -> OnlineMeeting {
    let thread_id = format!("19:meeting_{n:016x}Ω@thread.v2");
    let extras = |pairs: serde_json::Value| match pairs {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("an object literal"),
    };
    let organizer = MeetingParticipantInfo {
        identity: Some(IdentitySet {
            user: Some(Identity {
                tenant_id: Some(key.tenant.as_str().to_owned()),
                identity_provider: Some("AAD".to_owned()),
                ..Identity::user(key.user.as_str(), Some("Тайлер «Stein» 😀".to_owned()))
            }),
            ..IdentitySet::default()
        }),
        upn: Some("organizer@contoso.com".to_owned()),
        ..MeetingParticipantInfo::default()
    };
    let attendee = MeetingParticipantInfo {
        identity: Some(IdentitySet {
            user: Some(Identity {
                identity_provider: Some("MSA".to_owned()),
                additional: extras(
                    json!({"zeta": [1, 2.5, null], "alpha": {"nested": "ü\u{0}\"x"}}),
                ),
                ..Identity::user("1f35f2e6-9cab-44ad-8d5a-b74c14720000", None)
            }),
            application: Some(Identity::user("app", Some("Bot".to_owned()))),
            device: Some(Identity::default()),
            additional: extras(json!({"phone": {"id": "+1 555"}, "encrypted": true})),
            ..IdentitySet::default()
        }),
        upn: None,
        role: Some(OnlineMeetingRole::Presenter),
        ..MeetingParticipantInfo::default()
    };
    OnlineMeeting {
        odata_type: Default::default(),
        creation_date_time: "2026-03-04T05:06:07.1234567+00:00".parse().expect("valid"),
        start_date_time: DateTimeOffset::MIN,
        end_date_time: DateTimeOffset::MAX,
        join_web_url: format!("https://teams.example/l/meetup-join/{n}"),
        subject: Some(format!("Встреча №{n} 😀 \"quoted\" \\ \u{0}\t<b>")),
        participants: MeetingParticipants {
            organizer: Some(organizer),
            attendees: vec![attendee.clone(), MeetingParticipantInfo::default()],
            producers: vec![attendee],
            contributors: Vec::new(),
            ..MeetingParticipants::default()
        },
        is_broadcast: n % 2 == 1,
        auto_admitted_users: Some(AutoAdmittedUsers::Everyone),
        capabilities: vec![MeetingCapability::QuestionAndAnswer],
        audio_conferencing: Some(AudioConferencing {
            conference_id: Some("804980000".to_owned()),
            toll_number: Some("555-749-0000".to_owned()),
            dialin_url: Some("https://dialin.example/x?id=804980000".to_owned()),
            ..AudioConferencing::default()
        }),
        chat_info: Some(ChatInfo {
            message_id: Some("0".to_owned()),
            ..ChatInfo::new(thread_id.clone())
        }),
        video_teleconference_id: Some("5556440000".to_owned()),
        external_id: key.external_id.clone(),
        id: MeetingId::new(format!("{}_{thread_id}", key.user)),
        outer_meeting_auto_admitted_users: Some(AutoAdmittedUsers::EveryoneInCompany),
        meeting_info: Some(extras(
            json!({"@odata.type": "#microsoft.graph.joinMeetingIdMeetingInfo", "joinMeetingId": "123"}),
        )),
        join_meeting_id_settings: Some(JoinMeetingIdSettings {
            is_passcode_required: true,
            join_meeting_id: Some(sample_join_meeting_id(key, n)),
            passcode: Some("Ab3xYz".to_owned()),
            ..JoinMeetingIdSettings::default()
        }),
        meeting_options: Some(MeetingOptions {
            allowed_presenters: OnlineMeetingPresenters::RoleIsPresenter,
            meeting_spoken_language_tag: Some("ja-JP".to_owned()),
            ..MeetingOptions::default()
        }),
    }
}

/// A twelve-digit join id for `sample_meeting(key, n)`: distinct for
/// distinct keys and `n`s (a collision would need 10^6 samples).
pub fn sample_join_meeting_id(key: &MeetingKey, n: u64) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (key, n).hash(&mut hasher);
    format!("{:012}", hasher.finish() % 1_000_000_000_000)
}

/// A builder that makes `sample_meeting(key, n)` with a fresh `n` per call and counts its calls.
struct Builder {
    key: MeetingKey,
    calls: AtomicUsize,
    first: u64,
}

impl Builder {
    fn new(key: &MeetingKey, first: u64) -> Self {
        Builder {
            key: key.clone(),
            calls: AtomicUsize::new(0),
            first,
        }
    }

    fn build(&self) -> OnlineMeeting {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) as u64;
        sample_meeting(&self.key, self.first + call)
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// Creates [`sample_meeting`]`(key, n)` under `key` (or finds what is stored
/// there); panics if the store fails.
pub async fn create(store: &dyn MeetingStore, key: &MeetingKey, n: u64) -> Outcome {
    store
        .create_or_get(key, &|| sample_meeting(key, n))
        .await
        .expect("create_or_get succeeds")
}

fn json(meeting: &OnlineMeeting) -> String {
    serde_json::to_string(meeting).expect("a meeting serializes")
}

/// A created meeting is returned as created, and found by key and by id.
pub async fn create_then_get_returns_the_stored_meeting(store: Arc<dyn MeetingStore>) {
    let key = key("tenant", "user", "create-then-get");
    let outcome = create(&*store, &key, 1).await;
    assert!(outcome.is_created(), "the first call creates");
    let meeting = outcome.meeting();
    assert_eq!(*meeting, sample_meeting(&key, 1));
    let by_key = store.get_by_key(&key).await.unwrap().expect("found by key");
    assert_eq!(json(&by_key), json(meeting));
    let by_id = store.get(&meeting.id).await.unwrap().expect("found by id");
    assert_eq!(json(&by_id), json(meeting));
}

/// A second call with the key returns the first meeting, not the new draft.
pub async fn existing_key_returns_the_stored_meeting_unchanged(store: Arc<dyn MeetingStore>) {
    let key = key("tenant", "user", "existing");
    let first = create(&*store, &key, 1).await.into_meeting();
    let second = create(&*store, &key, 2).await;
    assert!(!second.is_created(), "the second call finds the meeting");
    assert_eq!(json(second.meeting()), json(&first));
    assert_eq!(store.get(&sample_meeting(&key, 2).id).await.unwrap(), None);
}

/// A hit never calls the meeting builder: generating a meeting is for inserts.
pub async fn hit_does_not_build_a_meeting(store: Arc<dyn MeetingStore>) {
    let key = key("tenant", "user", "hit-does-not-build");
    create(&*store, &key, 1).await;
    let builder = Builder::new(&key, 100);
    for _ in 0..3 {
        let outcome = store
            .create_or_get(&key, &|| builder.build())
            .await
            .unwrap();
        assert!(!outcome.is_created());
    }
    assert_eq!(builder.calls(), 0);
}

/// 64 concurrent callers on one new key: exactly one creates, all get its id.
pub async fn concurrent_callers_on_one_key_share_one_meeting(store: Arc<dyn MeetingStore>) {
    race(store, 1, 64).await;
}

/// 16 keys, 16 concurrent callers each, interleaved: one meeting per key.
pub async fn concurrent_callers_on_many_keys_share_one_meeting_per_key(
    store: Arc<dyn MeetingStore>,
) {
    race(store, 16, 16).await;
}

async fn race(store: Arc<dyn MeetingStore>, keys: usize, callers_per_key: usize) {
    let keys: Vec<MeetingKey> = (0..keys)
        .map(|k| key("tenant", "user", &format!("race-{k}")))
        .collect();
    let builders: Vec<Arc<Builder>> = keys
        .iter()
        .enumerate()
        .map(|(k, key)| Arc::new(Builder::new(key, (k as u64) * 1_000)))
        .collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(keys.len() * callers_per_key));
    let mut tasks = Vec::new();
    for _ in 0..callers_per_key {
        for (key, builder) in keys.iter().zip(&builders) {
            let (store, key, builder, barrier) = (
                Arc::clone(&store),
                key.clone(),
                Arc::clone(builder),
                Arc::clone(&barrier),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let outcome = store
                    .create_or_get(&key, &|| builder.build())
                    .await
                    .expect("no caller fails for losing the race");
                (key, outcome)
            }));
        }
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("the task completes"));
    }
    for key in &keys {
        let outcomes: Vec<&Outcome> = results
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, o)| o)
            .collect();
        assert_eq!(outcomes.len(), callers_per_key);
        let created = outcomes.iter().filter(|o| o.is_created()).count();
        assert_eq!(
            created, 1,
            "exactly one caller creates the meeting for {key:?}"
        );
        let stored = store
            .get_by_key(key)
            .await
            .unwrap()
            .expect("the meeting is stored");
        for outcome in outcomes {
            assert_eq!(
                outcome.meeting().id,
                stored.id,
                "every caller sees the stored meeting"
            );
        }
    }
}

/// One externalId in two tenants (same user id) is two meetings.
pub async fn key_is_scoped_by_tenant(store: Arc<dyn MeetingStore>) {
    let a = key("tenant-a", "user", "shared");
    let b = key("tenant-b", "user", "shared");
    let first = create(&*store, &a, 1).await;
    let mut other = sample_meeting(&b, 2);
    other.id = MeetingId::new("user_other-thread");
    let second = store.create_or_get(&b, &|| other.clone()).await.unwrap();
    assert!(first.is_created() && second.is_created());
    assert_ne!(first.meeting().id, second.meeting().id);
}

/// One externalId for two users of one tenant is two meetings.
pub async fn key_is_scoped_by_user(store: Arc<dyn MeetingStore>) {
    let a = key("tenant", "user-a", "shared");
    let b = key("tenant", "user-b", "shared");
    let first = create(&*store, &a, 1).await;
    let second = create(&*store, &b, 1).await;
    assert!(first.is_created() && second.is_created());
    assert_ne!(first.meeting().id, second.meeting().id);
    assert_eq!(
        store.get_by_key(&a).await.unwrap().unwrap().id,
        first.meeting().id
    );
}

/// externalIds that differ only in case, spacing or Unicode normalisation are different keys.
pub async fn external_id_matches_exactly(store: Arc<dyn MeetingStore>) {
    let variants = [
        "Key",
        "key",
        "KEY",
        " key",
        "key ",
        "caf\u{e9}",
        "cafe\u{301}",
        "ｋｅｙ",
    ];
    let mut ids = Vec::new();
    for (n, variant) in variants.iter().enumerate() {
        let key = key("tenant", "user", variant);
        let outcome = create(&*store, &key, n as u64).await;
        assert!(outcome.is_created(), "{variant:?} is a new key");
        ids.push(outcome.meeting().id.clone());
    }
    for (n, variant) in variants.iter().enumerate() {
        let found = store
            .get_by_key(&key("tenant", "user", variant))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, ids[n]);
    }
}

/// After a delete the key is free: the next call creates a new meeting with a new id.
pub async fn delete_frees_the_key(store: Arc<dyn MeetingStore>) {
    let key = key("tenant", "user", "delete-me");
    let first = create(&*store, &key, 1).await.into_meeting();
    assert!(
        store.delete(&first.id).await.unwrap(),
        "the meeting is deleted"
    );
    assert_eq!(store.get(&first.id).await.unwrap(), None);
    assert_eq!(store.get_by_key(&key).await.unwrap(), None);
    let again = create(&*store, &key, 2).await;
    assert!(again.is_created(), "the freed key creates anew");
    assert_ne!(again.meeting().id, first.id);
    assert!(
        !store.delete(&first.id).await.unwrap(),
        "deleting twice deletes nothing"
    );
    assert!(store.get(&again.meeting().id).await.unwrap().is_some());
}

/// Deleting an id that was never stored reports that nothing was deleted.
pub async fn delete_of_an_unknown_id_deletes_nothing(store: Arc<dyn MeetingStore>) {
    assert!(!store
        .delete(&MeetingId::new("nobody_19:nothing@thread.v2"))
        .await
        .unwrap());
}

/// Lookups of what was never stored find nothing.
pub async fn unknown_id_and_key_find_nothing(store: Arc<dyn MeetingStore>) {
    assert_eq!(
        store
            .get(&MeetingId::new("nobody_19:x@thread.v2"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_by_key(&key("t", "u", "never")).await.unwrap(),
        None
    );
}

/// Every member survives storage exactly: 100 ns date-times, the extreme dates,
/// unicode and control characters, open-type extras in their order.
pub async fn every_field_round_trips(store: Arc<dyn MeetingStore>) {
    let key = key("tenant-ü", "user-😀", "round-trip ✓ \"quoted\"");
    let expected = sample_meeting(&key, 7);
    create(&*store, &key, 7).await;
    let by_key = store.get_by_key(&key).await.unwrap().unwrap();
    let by_id = store.get(&expected.id).await.unwrap().unwrap();
    for found in [by_key, by_id] {
        assert_eq!(*found, expected);
        assert_eq!(json(&found), json(&expected), "member order survives");
    }
}

/// A refused create's error (with its causes) says what was taken, in the
/// words of Graph's members: `says` (the id, or the `joinMeetingId`, and whose).
fn says_what_is_taken(refused: Result<Outcome, crate::StoreError>, says: &str) {
    let error = refused.expect_err("a conflict");
    let text = crate::error_chain(&error);
    assert!(text.contains(says), "expected {says:?} in {text:?}");
}

/// A meeting whose id is already stored under another key is refused as
/// [`StoreError::Conflict`](crate::StoreError::Conflict): nothing is stored under
/// the new key, the stored meeting is untouched, and the key can still be used.
pub async fn an_id_stored_under_another_key_is_a_conflict_and_the_key_stays_free(
    store: Arc<dyn MeetingStore>,
) {
    let first = key("tenant", "user", "first");
    let second = key("tenant", "user", "second");
    let stored = create(&*store, &first, 1).await.into_meeting();
    // sample_meeting's id depends on the user and `n` only: the same id, another key.
    let same_id = sample_meeting(&second, 1);
    assert_eq!(same_id.id, stored.id);
    let refused = store.create_or_get(&second, &|| same_id.clone()).await;
    assert!(
        matches!(refused, Err(crate::StoreError::Conflict { .. })),
        "{refused:?}"
    );
    says_what_is_taken(refused, &format!("meeting id {}", stored.id));
    assert_eq!(store.get_by_key(&second).await.unwrap(), None);
    let by_id = store.get(&stored.id).await.unwrap().expect("still stored");
    assert_eq!(
        json(&by_id),
        json(&stored),
        "the stored meeting is untouched"
    );
    let by_key = store
        .get_by_key(&first)
        .await
        .unwrap()
        .expect("still stored");
    assert_eq!(by_key.id, stored.id);
    let later = create(&*store, &second, 2).await;
    assert!(later.is_created(), "the refused key creates with a free id");
    assert_ne!(later.meeting().id, stored.id);
}

/// Seven meetings under users whose ids sort differently by bytes and by
/// locale (`Z` < `a` < `ü` in UTF-8), created out of order.
async fn seven_meetings(store: &dyn MeetingStore) -> Vec<MeetingId> {
    let mut ids = Vec::new();
    for (n, user) in [
        "ü-user", "a-user", "Z-user", "a-user", "m-user", "Z-user", "ü-user",
    ]
    .iter()
    .enumerate()
    {
        let key = key("tenant", user, &format!("listed-{n}"));
        ids.push(
            create(store, &key, n as u64)
                .await
                .into_meeting()
                .id
                .clone(),
        );
    }
    ids.sort_by(|a, b| a.as_str().as_bytes().cmp(b.as_str().as_bytes()));
    ids
}

/// `list` pages through every stored meeting once, in ascending order of id
/// compared as UTF-8 bytes, from after any id (stored or not), each page at
/// most its limit.
pub async fn list_pages_through_every_meeting_in_id_byte_order(store: Arc<dyn MeetingStore>) {
    assert!(
        store.list(None, 10).await.unwrap().is_empty(),
        "empty store"
    );
    let expected = seven_meetings(&*store).await;

    let mut listed = Vec::new();
    let mut sizes = Vec::new();
    let mut after: Option<MeetingId> = None;
    loop {
        let page = store.list(after.as_ref(), 3).await.unwrap();
        sizes.push(page.len());
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        listed.extend(page.iter().map(|meeting| meeting.id.clone()));
    }
    assert_eq!(listed, expected, "every meeting once, in byte order");
    assert_eq!(sizes, [3, 3, 1, 0]);

    let whole = store.list(None, 100).await.unwrap();
    let first = whole.first().unwrap();
    let key = key("tenant", "ü-user", "listed-0");
    assert_eq!(
        **first,
        *store.get(&first.id).await.unwrap().unwrap(),
        "as stored"
    );
    assert!(whole
        .iter()
        .any(|meeting| **meeting == sample_meeting(&key, 0)));

    // After an id that is not stored: the ids above it.
    let between = MeetingId::new(format!("{}!", expected[2]));
    let rest: Vec<MeetingId> = store
        .list(Some(&between), 100)
        .await
        .unwrap()
        .iter()
        .map(|meeting| meeting.id.clone())
        .collect();
    assert_eq!(rest, expected[3..]);
    assert!(store.list(expected.last(), 100).await.unwrap().is_empty());
    assert!(store.list(None, 0).await.unwrap().is_empty(), "limit 0");
}

/// `count` is the number of meetings stored, after creates, hits and deletes.
pub async fn count_counts_the_stored_meetings(store: Arc<dyn MeetingStore>) {
    assert_eq!(store.count().await.unwrap(), 0);
    let ids = seven_meetings(&*store).await;
    assert_eq!(store.count().await.unwrap(), 7);
    let hit = create(&*store, &key("tenant", "a-user", "listed-1"), 99).await;
    assert!(!hit.is_created());
    assert_eq!(store.count().await.unwrap(), 7, "a hit stores nothing");
    assert!(store.delete(&ids[0]).await.unwrap());
    assert_eq!(store.count().await.unwrap(), 6);
}

/// `clear` deletes every meeting and says how many: nothing is found by id
/// or key afterwards, every key creates anew, and clearing an empty store
/// deletes nothing.
pub async fn clear_deletes_every_meeting_and_frees_every_key(store: Arc<dyn MeetingStore>) {
    assert_eq!(store.clear().await.unwrap(), 0, "an empty store");
    let ids = seven_meetings(&*store).await;
    assert_eq!(store.clear().await.unwrap(), 7);
    assert_eq!(store.count().await.unwrap(), 0);
    assert!(store.list(None, 100).await.unwrap().is_empty());
    for id in &ids {
        assert_eq!(store.get(id).await.unwrap(), None);
    }
    let key = key("tenant", "a-user", "listed-1");
    assert_eq!(store.get_by_key(&key).await.unwrap(), None);
    let again = create(&*store, &key, 1).await;
    assert!(again.is_created(), "the key creates anew");
    assert_eq!(store.count().await.unwrap(), 1);
}

/// `sample_meeting(key, n)` with the join id `join_id` (`None`: a meeting
/// stored before meetings had one).
pub fn sample_meeting_with_join_id(
    key: &MeetingKey,
    n: u64,
    join_id: Option<&str>,
) -> OnlineMeeting {
    let mut meeting = sample_meeting(key, n);
    match join_id {
        Some(join_id) => {
            let settings = meeting
                .join_meeting_id_settings
                .get_or_insert_with(JoinMeetingIdSettings::default);
            settings.join_meeting_id = Some(join_id.to_owned());
        }
        None => meeting.join_meeting_id_settings = None,
    }
    meeting
}

/// A meeting whose `joinMeetingId` is already another stored meeting's is
/// refused as [`StoreError::Conflict`](crate::StoreError::Conflict): nothing is
/// stored under the new key, the stored meeting is untouched, and the key can
/// still be used with another join id.
pub async fn a_join_meeting_id_stored_under_another_key_is_a_conflict_and_the_key_stays_free(
    store: Arc<dyn MeetingStore>,
) {
    let first = key("tenant", "user", "join-first");
    let second = key("tenant-other", "user-other", "join-second");
    let stored = create(&*store, &first, 1).await.into_meeting();
    let join_id = stored.join_meeting_id().expect("the sample has a join id");
    let same_join_id = sample_meeting_with_join_id(&second, 2, Some(join_id));
    assert_ne!(same_join_id.id, stored.id, "only the join id is shared");
    let refused = store.create_or_get(&second, &|| same_join_id.clone()).await;
    assert!(
        matches!(refused, Err(crate::StoreError::Conflict { .. })),
        "{refused:?}"
    );
    says_what_is_taken(
        refused,
        &format!("joinMeetingId of meeting {}", same_join_id.id),
    );
    assert_eq!(store.get_by_key(&second).await.unwrap(), None);
    assert_eq!(store.get(&same_join_id.id).await.unwrap(), None);
    for found in [
        store.get(&stored.id).await.unwrap().expect("still stored"),
        store
            .get_by_key(&first)
            .await
            .unwrap()
            .expect("still stored"),
    ] {
        assert_eq!(
            json(&found),
            json(&stored),
            "the stored meeting is untouched"
        );
    }
    let later = create(&*store, &second, 3).await;
    assert!(
        later.is_created(),
        "the refused key creates with a free join id"
    );
    assert_ne!(later.meeting().join_meeting_id(), Some(join_id));
}

/// 32 concurrent creates under 32 distinct keys, every one offering the same
/// `joinMeetingId`: exactly one is stored, every other is a
/// [`StoreError::Conflict`](crate::StoreError::Conflict) and leaves its key free.
pub async fn concurrent_creates_of_one_join_meeting_id_store_exactly_one(
    store: Arc<dyn MeetingStore>,
) {
    const CALLERS: u64 = 32;
    const JOIN_ID: &str = "424242424242";
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS as usize));
    let tasks: Vec<_> = (0..CALLERS)
        .map(|n| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                let key = key("tenant", "user", &format!("join-race-{n}"));
                let meeting = sample_meeting_with_join_id(&key, n, Some(JOIN_ID));
                barrier.wait().await;
                let outcome = store.create_or_get(&key, &|| meeting.clone()).await;
                (key, outcome)
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        let (key, outcome) = task.await.expect("the task completes");
        match outcome {
            Ok(outcome) => {
                assert!(outcome.is_created(), "{key:?}'s key was new");
                created.push((key, outcome.into_meeting()));
            }
            Err(crate::StoreError::Conflict { .. }) => {
                assert_eq!(
                    store.get_by_key(&key).await.unwrap(),
                    None,
                    "a refused create leaves {key:?} free"
                );
            }
            Err(other) => panic!("{key:?}: a Conflict or a creation, not {other:?}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one meeting holds the join id");
    let (key, meeting) = &created[0];
    assert_eq!(meeting.join_meeting_id(), Some(JOIN_ID));
    let stored = store.get_by_key(key).await.unwrap().expect("stored");
    assert_eq!(json(&stored), json(meeting));
}

/// Meetings stored without a `joinMeetingId` (before meetings had one, or
/// with settings that hold none) never conflict with each other.
pub async fn meetings_without_a_join_meeting_id_coexist(store: Arc<dyn MeetingStore>) {
    let mut stored = Vec::new();
    for n in 0..4 {
        let key = key("tenant", "user", &format!("no-join-id-{n}"));
        let mut meeting = sample_meeting_with_join_id(&key, n, None);
        if n % 2 == 1 {
            meeting.join_meeting_id_settings = Some(JoinMeetingIdSettings::default());
        }
        assert_eq!(meeting.join_meeting_id(), None);
        let outcome = store
            .create_or_get(&key, &|| meeting.clone())
            .await
            .expect("no join id conflicts with no join id");
        assert!(outcome.is_created());
        stored.push((key, meeting));
    }
    let with_one = key("tenant", "user", "with-join-id");
    assert!(create(&*store, &with_one, 9).await.is_created());
    for (key, meeting) in &stored {
        let found = store.get_by_key(key).await.unwrap().expect("stored");
        assert_eq!(json(&found), json(meeting));
    }
}

/// Deleting a meeting frees its `joinMeetingId`: a meeting under another key
/// may then be stored with it, and holds it in turn.
pub async fn delete_frees_the_join_meeting_id(store: Arc<dyn MeetingStore>) {
    let first = key("tenant", "user", "join-delete-first");
    let second = key("tenant", "user", "join-delete-second");
    let stored = create(&*store, &first, 1).await.into_meeting();
    let join_id = stored.join_meeting_id().expect("the sample has a join id");
    let reuse = sample_meeting_with_join_id(&second, 2, Some(join_id));
    assert!(
        store.delete(&stored.id).await.unwrap(),
        "the meeting is deleted"
    );
    let outcome = store
        .create_or_get(&second, &|| reuse.clone())
        .await
        .expect("the deleted meeting's join id is free");
    assert!(outcome.is_created());
    assert_eq!(outcome.meeting().join_meeting_id(), Some(join_id));
    let back = sample_meeting_with_join_id(&first, 3, Some(join_id));
    let refused = store.create_or_get(&first, &|| back.clone()).await;
    assert!(
        matches!(refused, Err(crate::StoreError::Conflict { .. })),
        "the join id is held again: {refused:?}"
    );
}

/// An update whose change sets `subject`.
fn set_subject(
    subject: &str,
) -> impl Fn(&OnlineMeeting) -> Result<OnlineMeeting, crate::BoxError> + Send + Sync + '_ {
    move |stored| {
        let mut changed = stored.clone();
        changed.subject = Some(subject.to_owned());
        Ok(changed)
    }
}

fn stored(updated: crate::Updated) -> Arc<OnlineMeeting> {
    match updated {
        crate::Updated::Stored(meeting) => meeting,
        other => panic!("the update is stored, not {other:?}"),
    }
}

/// An update applies its change to the meeting as stored and stores the
/// result whole: found so by id and by key, and returned as stored.
pub async fn update_stores_the_changed_meeting_whole(store: Arc<dyn MeetingStore>) {
    let key = key("tenant", "user", "update-whole");
    let created = create(&*store, &key, 1).await.into_meeting();
    let change = |stored: &OnlineMeeting| -> Result<OnlineMeeting, crate::BoxError> {
        let mut changed = stored.clone();
        changed.subject = Some("Patch Meeting Subject".to_owned());
        changed.start_date_time = "2020-09-09T21:33:30.8546353Z".parse().expect("valid");
        changed.participants.attendees.clear();
        changed
            .meeting_options
            .get_or_insert_with(MeetingOptions::default)
            .allowed_presenters = OnlineMeetingPresenters::Organizer;
        Ok(changed)
    };
    let updated = stored(store.update(&created.id, &change).await.unwrap());
    let expected = change(&created).unwrap();
    assert_eq!(json(&updated), json(&expected));
    for found in [
        store.get(&created.id).await.unwrap().expect("by id"),
        store.get_by_key(&key).await.unwrap().expect("by key"),
    ] {
        assert_eq!(json(&found), json(&expected));
    }
    assert_eq!(store.count().await.unwrap(), 1, "an update adds no meeting");
    let again = create(&*store, &key, 2).await;
    assert!(!again.is_created());
    assert_eq!(
        json(again.meeting()),
        json(&expected),
        "createOrGet sees it"
    );
}

/// An update of an id no meeting has is `Missing` and never calls its change.
pub async fn update_of_an_unknown_id_is_missing_and_calls_no_change(store: Arc<dyn MeetingStore>) {
    let calls = AtomicUsize::new(0);
    let change = |stored: &OnlineMeeting| -> Result<OnlineMeeting, crate::BoxError> {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(stored.clone())
    };
    let missing = store
        .update(&MeetingId::new("no-such-id"), &change)
        .await
        .unwrap();
    assert!(matches!(missing, crate::Updated::Missing), "{missing:?}");
    let key = key("tenant", "user", "update-deleted");
    let created = create(&*store, &key, 1).await.into_meeting();
    assert!(store.delete(&created.id).await.unwrap());
    let missing = store.update(&created.id, &change).await.unwrap();
    assert!(matches!(missing, crate::Updated::Missing), "{missing:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(store.count().await.unwrap(), 0, "nothing came back");
}

/// A change that refuses the meeting leaves it as it was and hands its error back.
pub async fn a_refused_change_writes_nothing(store: Arc<dyn MeetingStore>) {
    let key = key("tenant", "user", "update-refused");
    let created = create(&*store, &key, 1).await.into_meeting();
    let refuse = |_: &OnlineMeeting| -> Result<OnlineMeeting, crate::BoxError> {
        Err("the caller may not".into())
    };
    match store.update(&created.id, &refuse).await.unwrap() {
        crate::Updated::Refused(error) => assert_eq!(error.to_string(), "the caller may not"),
        other => panic!("refused, not {other:?}"),
    }
    let found = store.get(&created.id).await.unwrap().expect("still stored");
    assert_eq!(json(&found), json(&created));
}

/// A change may not touch what the store indexes: id, key, organizer, join
/// id, join link. Such an update is an error and writes nothing.
pub async fn an_update_that_changes_identity_is_refused(store: Arc<dyn MeetingStore>) {
    let key = key("tenant", "user", "update-identity");
    let created = create(&*store, &key, 1).await.into_meeting();
    let breaks: [fn(&mut OnlineMeeting); 4] = [
        |m| m.id = MeetingId::new("another-id"),
        |m| m.external_id = ExternalId::new("another-key").expect("valid"),
        |m| m.join_web_url.push_str("/other"),
        |m| {
            if let Some(settings) = m.join_meeting_id_settings.as_mut() {
                settings.join_meeting_id = Some("999999999999".to_owned());
            }
        },
    ];
    for (n, breaks) in breaks.into_iter().enumerate() {
        let change = |stored: &OnlineMeeting| -> Result<OnlineMeeting, crate::BoxError> {
            let mut changed = stored.clone();
            breaks(&mut changed);
            Ok(changed)
        };
        let result = store.update(&created.id, &change).await;
        assert!(
            matches!(result, Err(crate::StoreError::Internal { .. })),
            "change {n}: {result:?}"
        );
        let found = store.get(&created.id).await.unwrap().expect("still stored");
        assert_eq!(json(&found), json(&created), "change {n} wrote nothing");
    }
}

/// 8 tasks update one meeting at once, each 6 times, each its own member
/// (a counter in `meetingInfo`): every one of the 48 updates takes effect,
/// however they interleave. A lost update would leave a counter short.
pub async fn concurrent_updates_of_different_members_all_take_effect(store: Arc<dyn MeetingStore>) {
    const TASKS: usize = 8;
    const ROUNDS: u64 = 6;
    let key = key("tenant", "user", "update-race");
    let created = create(&*store, &key, 1).await.into_meeting();
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (store, barrier, id) =
                (Arc::clone(&store), Arc::clone(&barrier), created.id.clone());
            tokio::spawn(async move {
                let member = format!("counter{task}");
                barrier.wait().await;
                for _ in 0..ROUNDS {
                    let change =
                        |stored: &OnlineMeeting| -> Result<OnlineMeeting, crate::BoxError> {
                            let mut changed = stored.clone();
                            let info = changed.meeting_info.get_or_insert_with(Default::default);
                            let count = info.get(&member).and_then(|v| v.as_u64()).unwrap_or(0);
                            info.insert(member.clone(), json!(count + 1));
                            Ok(changed)
                        };
                    stored(
                        store
                            .update(&id, &change)
                            .await
                            .expect("the update succeeds"),
                    );
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("the task completes");
    }
    let found = store.get(&created.id).await.unwrap().expect("stored");
    let info = found.meeting_info.as_ref().expect("meetingInfo kept");
    for task in 0..TASKS {
        assert_eq!(
            info.get(&format!("counter{task}")).and_then(|v| v.as_u64()),
            Some(ROUNDS),
            "task {task}'s updates all took effect: {info:?}"
        );
    }
    assert_eq!(
        info.get("joinMeetingId"),
        created
            .meeting_info
            .as_ref()
            .and_then(|i| i.get("joinMeetingId")),
        "what no task touched is kept"
    );
}

/// Updates racing a delete of their meeting each either happen before the
/// delete or find the meeting missing; afterwards the meeting is gone by id,
/// key, join id and join link, and nothing an update wrote survives it.
pub async fn update_racing_delete_never_resurrects_the_meeting(store: Arc<dyn MeetingStore>) {
    for round in 0..4u64 {
        let key = key("tenant", "user", &format!("update-delete-{round}"));
        let created = create(&*store, &key, round).await.into_meeting();
        let barrier = Arc::new(tokio::sync::Barrier::new(5));
        let updates: Vec<_> = (0..4)
            .map(|n| {
                let (store, barrier, id) =
                    (Arc::clone(&store), Arc::clone(&barrier), created.id.clone());
                tokio::spawn(async move {
                    let subject = format!("update {n}");
                    barrier.wait().await;
                    let change = set_subject(&subject);
                    let updated = store.update(&id, &change).await;
                    updated
                })
            })
            .collect();
        barrier.wait().await;
        assert!(
            store.delete(&created.id).await.unwrap(),
            "the delete deletes"
        );
        for update in updates {
            match update.await.expect("the task completes") {
                Ok(crate::Updated::Stored(_) | crate::Updated::Missing) => {}
                other => panic!("stored before the delete or missing, not {other:?}"),
            }
        }
        assert_eq!(store.get(&created.id).await.unwrap(), None);
        assert_eq!(store.get_by_key(&key).await.unwrap(), None);
        let join_id = created.join_meeting_id().expect("the sample has one");
        assert_eq!(store.find_by_join_meeting_id(join_id).await.unwrap(), None);
        let url = crate::join_web_url_key(&created.join_web_url);
        assert!(store.find_by_join_web_url(&url).await.unwrap().is_empty());
    }
    assert_eq!(store.count().await.unwrap(), 0);
}

/// A meeting is found by its join link and by its join id, as stored,
/// updates included; other links and ids find nothing.
pub async fn lookups_find_by_join_link_and_join_id_and_see_updates(store: Arc<dyn MeetingStore>) {
    let first = create(&*store, &key("tenant", "user", "lookup-1"), 1)
        .await
        .into_meeting();
    let second = create(&*store, &key("tenant", "user", "lookup-2"), 2)
        .await
        .into_meeting();
    for meeting in [&first, &second] {
        let by_link = store
            .find_by_join_web_url(&crate::join_web_url_key(&meeting.join_web_url))
            .await
            .unwrap();
        assert_eq!(
            by_link.iter().map(|m| json(m)).collect::<Vec<_>>(),
            [json(meeting)]
        );
        let join_id = meeting.join_meeting_id().expect("the sample has one");
        let by_id = store
            .find_by_join_meeting_id(join_id)
            .await
            .unwrap()
            .expect("found");
        assert_eq!(json(&by_id), json(meeting));
    }
    assert!(store
        .find_by_join_web_url("https://teams.example/l/meetup-join/none")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.find_by_join_meeting_id("000000000000").await.unwrap(),
        None
    );
    let updated = stored(
        store
            .update(&first.id, &set_subject("changed"))
            .await
            .unwrap(),
    );
    let join_id = first.join_meeting_id().expect("the sample has one");
    let by_id = store
        .find_by_join_meeting_id(join_id)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(json(&by_id), json(&updated));
    let by_link = store
        .find_by_join_web_url(&crate::join_web_url_key(&first.join_web_url))
        .await
        .unwrap();
    assert_eq!(
        by_link.iter().map(|m| json(m)).collect::<Vec<_>>(),
        [json(&updated)]
    );
}

/// A deleted meeting is found by neither its join link nor its join id.
pub async fn lookups_find_nothing_after_delete(store: Arc<dyn MeetingStore>) {
    let key = key("tenant", "user", "lookup-delete");
    let created = create(&*store, &key, 1).await.into_meeting();
    let link = crate::join_web_url_key(&created.join_web_url).into_owned();
    let join_id = created
        .join_meeting_id()
        .expect("the sample has one")
        .to_owned();
    assert_eq!(store.find_by_join_web_url(&link).await.unwrap().len(), 1);
    assert!(store.delete(&created.id).await.unwrap());
    assert!(store.find_by_join_web_url(&link).await.unwrap().is_empty());
    assert_eq!(store.find_by_join_meeting_id(&join_id).await.unwrap(), None);
}

/// The join link is indexed in its canonical form: a lookup with upper-case
/// escapes or host finds a meeting stored with lower-case ones.
pub async fn join_link_lookup_compares_the_canonical_form(store: Arc<dyn MeetingStore>) {
    let key = key("tenant", "user", "lookup-canonical");
    let mut meeting = sample_meeting(&key, 1);
    meeting.join_web_url =
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_Zx%40thread.v2/0?context=%7b%7d"
            .to_owned();
    store
        .create_or_get(&key, &|| meeting.clone())
        .await
        .unwrap();
    let asked = crate::join_web_url_key(
        "HTTPS://Teams.Microsoft.com/l/meetup-join/19%3Ameeting_Zx%40thread.v2/0?context=%7B%7D",
    );
    let found = store.find_by_join_web_url(&asked).await.unwrap();
    assert_eq!(
        found.iter().map(|m| json(m)).collect::<Vec<_>>(),
        [json(&meeting)]
    );
    let other_case = crate::join_web_url_key(
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_ZX%40thread.v2/0?context=%7b%7d",
    );
    assert!(
        store
            .find_by_join_web_url(&other_case)
            .await
            .unwrap()
            .is_empty(),
        "the path's letters are compared exactly"
    );
}

/// Join links need not be unique: every meeting with one is found.
pub async fn meetings_sharing_a_join_link_are_all_found(store: Arc<dyn MeetingStore>) {
    let first = create(&*store, &key("tenant", "user-a", "shared-link"), 7)
        .await
        .into_meeting();
    let second = create(&*store, &key("tenant", "user-b", "shared-link"), 7)
        .await
        .into_meeting();
    assert_eq!(
        first.join_web_url, second.join_web_url,
        "sample n gives the link"
    );
    let mut found: Vec<String> = store
        .find_by_join_web_url(&crate::join_web_url_key(&first.join_web_url))
        .await
        .unwrap()
        .iter()
        .map(|m| m.id.as_str().to_owned())
        .collect();
    found.sort();
    let mut expected = vec![first.id.as_str().to_owned(), second.id.as_str().to_owned()];
    expected.sort();
    assert_eq!(found, expected);
}

/// Deleting one of the meetings that share a join link takes only it out of
/// the link's lookup; the others are still found, and the last delete leaves
/// the link finding nothing.
pub async fn deleting_one_meeting_of_a_shared_join_link_keeps_the_others_found(
    store: Arc<dyn MeetingStore>,
) {
    let mut ids = Vec::new();
    for user in ["user-a", "user-b", "user-c"] {
        let key = key("tenant", user, "shared-link-delete");
        ids.push(create(&*store, &key, 9).await.into_meeting().id.clone());
    }
    let link = store
        .get(&ids[0])
        .await
        .unwrap()
        .expect("just created")
        .join_web_url
        .clone();
    let link = crate::join_web_url_key(&link).into_owned();
    let found = || async {
        let mut found: Vec<MeetingId> = store
            .find_by_join_web_url(&link)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id.clone())
            .collect();
        found.sort();
        found
    };
    let sorted = |mut ids: Vec<MeetingId>| {
        ids.sort();
        ids
    };
    assert_eq!(
        found().await,
        sorted(ids.clone()),
        "sample n gives the link"
    );
    assert!(store.delete(&ids[1]).await.unwrap());
    assert_eq!(found().await, sorted(vec![ids[0].clone(), ids[2].clone()]));
    assert!(store.delete(&ids[0]).await.unwrap());
    assert_eq!(found().await, [ids[2].clone()]);
    assert!(store.delete(&ids[2]).await.unwrap());
    assert!(found().await.is_empty());
}

/// Through the service, over this store: a lookup answers only the caller's
/// own meetings (same user and tenant); another user's meeting is not found,
/// however it is asked for, and neither can it be updated.
pub async fn lookups_are_scoped_to_what_the_caller_may_see(store: Arc<dyn MeetingStore>) {
    use crate::{
        scopes, Caller, CreateOrGetRequest, MeetingFilter, MeetingService, Profile, Target,
    };
    let service = MeetingService::new(Arc::clone(&store));
    let caller = |tenant: &str, user: &str| {
        Caller::delegated(
            TenantId::new(tenant).expect("valid"),
            UserId::new(user).expect("valid"),
            [scopes::READ_WRITE],
        )
    };
    let owner = caller("tenant-a", "owner");
    let request = CreateOrGetRequest::new(ExternalId::new("scoped").expect("valid"));
    let meeting = service
        .create_or_get(&owner, Target::Me, Profile::V1, &request)
        .await
        .expect("created")
        .into_meeting();
    let filters = [
        MeetingFilter::JoinWebUrl(meeting.join_web_url.clone()),
        MeetingFilter::JoinMeetingId(
            meeting
                .join_meeting_id()
                .expect("v1.0 gives one")
                .to_owned(),
        ),
    ];
    for filter in &filters {
        let found = service
            .find(&owner, Profile::V1, Target::Me, filter)
            .await
            .unwrap();
        assert_eq!(
            found.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            [meeting.id.as_str()]
        );
        for other in [
            caller("tenant-a", "someone-else"),
            caller("tenant-b", "owner"),
        ] {
            let found = service
                .find(&other, Profile::V1, Target::Me, filter)
                .await
                .unwrap();
            assert!(
                found.is_empty(),
                "{other:?} sees nothing through {filter:?}"
            );
        }
    }
    let patch = crate::UpdateRequest::from_json(br#"{"subject": "not yours"}"#).expect("valid");
    let refused = service
        .update(
            &caller("tenant-a", "someone-else"),
            Profile::V1,
            Target::Me,
            &meeting.id,
            &patch,
        )
        .await;
    assert!(
        matches!(refused, Err(crate::Error::NotFound)),
        "{refused:?}"
    );
    let unchanged = store.get(&meeting.id).await.unwrap().expect("stored");
    assert_eq!(json(&unchanged), json(&meeting));
}
