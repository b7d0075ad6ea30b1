//! Spec section 1 (the operation) and 1.2 (who may call).

use super::counting::CountingStore;
use super::*;
use meeting_core::access::{AppGrant, NO_POLICY_MESSAGE};
use meeting_core::limits::JSON_MAX_DEPTH;
use meeting_core::{
    scopes, Forbidden, MeetingId, Operation, Target, DEFAULT_DIALIN_BASE_URL,
    DEFAULT_JOIN_BASE_URL, PERSONAL_ACCOUNT_TENANT,
};

const KEYED: &str = r#"{"externalId":"key-1","subject":"First"}"#;

#[tokio::test]
async fn existing_meeting_is_returned_unchanged_and_other_fields_ignored() {
    let service = service();
    let first = create(&service, KEYED).await;
    assert!(first.is_created());
    let second = create(
        &service,
        r#"{"externalId":"key-1","subject":"Second","startDateTime":"2030-01-01T00:00:00Z",
            "participants":{"attendees":[{"upn":"x@y"}]}}"#,
    )
    .await;
    assert!(!second.is_created());
    assert_eq!(second.meeting(), first.meeting());
    assert_eq!(second.meeting().subject.as_deref(), Some("First"));
}

#[tokio::test]
async fn two_users_of_one_tenant_with_one_external_id_get_two_meetings() {
    let service = service();
    let mine = call(&service, &caller(), Profile::Beta, KEYED)
        .await
        .unwrap();
    let theirs = call(
        &service,
        &caller_for(TENANT, OTHER_USER),
        Profile::Beta,
        KEYED,
    )
    .await
    .unwrap();
    assert!(mine.is_created() && theirs.is_created());
    assert_ne!(mine.meeting().id, theirs.meeting().id);
}

#[tokio::test]
async fn one_user_id_in_two_tenants_gets_two_meetings() {
    let service = service();
    let a = call(
        &service,
        &caller_for("tenant-a", USER),
        Profile::Beta,
        KEYED,
    )
    .await
    .unwrap();
    let b = call(
        &service,
        &caller_for("tenant-b", USER),
        Profile::Beta,
        KEYED,
    )
    .await
    .unwrap();
    assert!(a.is_created() && b.is_created());
    assert_ne!(a.meeting().id, b.meeting().id);
}

#[tokio::test]
async fn external_id_matches_exactly_without_case_folding_trimming_or_normalisation() {
    let service = service();
    let mut ids = std::collections::HashSet::new();
    for key in ["Key", "key", " key", "key ", "caf\u{e9}", "cafe\u{301}"] {
        let body = serde_json::json!({ "externalId": key }).to_string();
        let outcome = create(&service, &body).await;
        assert!(outcome.is_created(), "{key:?} is its own key");
        ids.insert(outcome.meeting().id.clone());
    }
    assert_eq!(ids.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_calls_with_one_key_produce_exactly_one_meeting_for_everyone() {
    const CALLERS: usize = 48;
    const ROUNDS: usize = 8;
    // Building a new meeting takes 2 ms, inside the store's create: a store
    // that looked, built, then inserted would let racing callers each create.
    let store = Arc::new(CountingStore::with_build_delay(
        std::time::Duration::from_millis(2),
    ));
    let service = MeetingService::new(Arc::clone(&store) as Arc<dyn meeting_core::MeetingStore>)
        .with_clock(Arc::new(ManualClock::at("2026-01-01T09:00:00Z")));
    for round in 0..ROUNDS {
        // Every caller is spawned and waiting before any of them calls.
        let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let tasks: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (service, barrier) = (service.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    let body = format!(r#"{{"externalId":"race-{round}","subject":"caller {i}"}}"#);
                    let profile = if i % 2 == 0 {
                        Profile::V1
                    } else {
                        Profile::Beta
                    };
                    barrier.wait().await;
                    call(&service, &caller(), profile, &body).await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(
                task.await
                    .unwrap()
                    .expect("nobody fails for losing the race"),
            );
        }
        assert_eq!(
            outcomes.iter().filter(|o| o.is_created()).count(),
            1,
            "round {round}: exactly one caller created the meeting"
        );
        let first = outcomes[0].meeting();
        assert!(
            outcomes.iter().all(|o| o.meeting() == first),
            "round {round}: every caller got the one meeting"
        );
    }
    assert_eq!(store.inner.len(), ROUNDS, "one meeting stored per key");
    assert!(
        store.most_in_flight() > 1,
        "the calls reached the store at the same time"
    );
}

#[tokio::test]
async fn deleting_a_meeting_frees_its_key_for_a_new_meeting_with_a_new_id() {
    let service = service();
    let first = create(&service, KEYED).await.into_meeting();
    service
        .delete(&caller(), Profile::Beta, Target::Me, &first.id)
        .await
        .unwrap();
    assert!(matches!(
        service
            .get(&caller(), Profile::Beta, Target::Me, &first.id)
            .await,
        Err(Error::NotFound)
    ));
    let second = create(&service, KEYED).await;
    assert!(second.is_created());
    assert_ne!(second.meeting().id, first.id);
}

#[tokio::test]
async fn strict_mode_is_off_by_default() {
    assert!(!Settings::default().strict);
    let service = service();
    create(&service, KEYED).await;
    let other = create(&service, r#"{"externalId":"key-1","subject":"Other"}"#).await;
    assert!(!other.is_created());
}

#[tokio::test]
async fn strict_mode_answers_parameter_mismatch_for_explicit_differences() {
    let service = service_with(Settings {
        strict: true,
        ..Settings::default()
    });
    create(
        &service,
        r#"{"externalId":"k","subject":"S","startDateTime":"2030-01-01T10:00:00Z",
            "endDateTime":"2030-01-01T11:00:00Z","participants":{"attendees":[{"upn":"a@b"}]}}"#,
    )
    .await;
    for (body, member) in [
        (r#"{"externalId":"k","subject":"T"}"#, "subject"),
        (
            r#"{"externalId":"k","startDateTime":"2030-01-01T10:00:01Z"}"#,
            "startDateTime",
        ),
        (
            r#"{"externalId":"k","endDateTime":"2030-01-01T12:00:00Z"}"#,
            "endDateTime",
        ),
        (
            r#"{"externalId":"k","participants":{"attendees":[]}}"#,
            "participants.attendees",
        ),
    ] {
        match call(&service, &caller(), Profile::Beta, body).await {
            Err(Error::ParameterMismatch { members }) => assert_eq!(members, [member], "{body}"),
            other => panic!("{body}: expected ParameterMismatch, got {other:?}"),
        }
    }
    let error = call(
        &service,
        &caller(),
        Profile::Beta,
        r#"{"externalId":"k","subject":"T"}"#,
    )
    .await
    .unwrap_err();
    assert_eq!(error.code().as_str(), "ParameterMismatch");
}

#[tokio::test]
async fn strict_mode_ignores_absent_and_null_members_and_compares_instants() {
    let service = service_with(Settings {
        strict: true,
        ..Settings::default()
    });
    create(
        &service,
        r#"{"externalId":"k","subject":"S","startDateTime":"2030-01-01T10:00:00Z","participants":{"attendees":[{"upn":"a@b"}]}}"#,
    )
    .await;
    for body in [
        r#"{"externalId":"k"}"#,
        r#"{"externalId":"k","subject":null,"startDateTime":null,"endDateTime":null,"participants":null}"#,
        r#"{"externalId":"k","participants":{"attendees":null}}"#,
        r#"{"externalId":"k","subject":"S","startDateTime":"2030-01-01T12:00:00+02:00"}"#,
        r#"{"externalId":"k","participants":{"attendees":[{"upn":"a@b"}]}}"#,
    ] {
        let outcome = call(&service, &caller(), Profile::Beta, body).await;
        assert!(
            matches!(outcome, Ok(Outcome::Existing(_))),
            "{body}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn delegated_work_account_with_read_write_is_allowed() {
    assert!(create(&service(), KEYED).await.is_created());
}

#[tokio::test]
async fn delegated_work_account_without_the_scope_is_forbidden() {
    let caller = Caller::delegated(
        TENANT.parse().unwrap(),
        USER.parse().unwrap(),
        ["OnlineMeetings.Read", "User.Read"],
    );
    let error = call(&service(), &caller, Profile::Beta, KEYED)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Forbidden(Forbidden::MissingScope { .. })),
        "{error:?}"
    );
    assert_eq!(error.code().as_str(), "Forbidden");
}

#[tokio::test]
async fn personal_microsoft_account_is_forbidden_with_a_message_saying_so() {
    // The spec's literal, not the crate's constant (pinned below).
    let caller = caller_for("9188040d-6c67-4c5b-b112-36a304b66dad", USER);
    let error = call(&service(), &caller, Profile::Beta, KEYED)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::Forbidden(Forbidden::PersonalAccount)
    ));
    assert!(error
        .to_string()
        .contains("personal Microsoft accounts are not supported"));
}

#[tokio::test]
async fn application_token_is_forbidden_with_a_message_saying_so() {
    let caller = Caller::application(
        TENANT.parse().unwrap(),
        "app-principal".parse().unwrap(),
        "app-id",
        [meeting_core::scopes::READ_WRITE_ALL],
    );
    let error = call(&service(), &caller, Profile::Beta, KEYED)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::Forbidden(Forbidden::ApplicationPermissions)
    ));
    assert!(error
        .to_string()
        .contains("application permissions are not supported"));
}

#[tokio::test]
async fn permission_is_checked_before_the_request_is_validated() {
    let caller = Caller::application(
        TENANT.parse().unwrap(),
        "app-principal".parse().unwrap(),
        "app-id",
        [meeting_core::scopes::READ_WRITE_ALL],
    );
    let invalid = meeting_core::CreateOrGetRequest {
        subject: Some("x".repeat(2000)),
        ..meeting_core::CreateOrGetRequest::new(meeting_core::ExternalId::new("k").unwrap())
    };
    let error = service()
        .create_or_get(&caller, Target::Me, Profile::Beta, &invalid)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Forbidden(_)), "{error:?}");
}

#[tokio::test]
async fn organizer_is_built_from_the_caller() {
    let caller = caller()
        .with_display_name("Tyler Stein")
        .with_upn("tyler@contoso.com");
    let outcome = call(
        &service(),
        &caller,
        Profile::Beta,
        r#"{"externalId":"k","participants":{"organizer":{"identity":{"user":{"id":"d4a060b5-a8fc-450c-837b-750b2c280000","displayName":"Spoofed"}},"upn":"request@contoso.com"}}}"#,
    )
    .await
    .unwrap();
    let organizer = &to_value(outcome.meeting())["participants"]["organizer"];
    assert_eq!(
        organizer.to_string(),
        serde_json::json!({
            "@odata.type": "#microsoft.graph.meetingParticipantInfo",
            "identity": {
                "@odata.type": "#microsoft.graph.identitySet",
                "user": {
                    "@odata.type": "#microsoft.graph.identity",
                    "id": USER,
                    "tenantId": TENANT,
                    "displayName": "Tyler Stein",
                    "identityProvider": "AAD"
                }
            },
            "upn": "tyler@contoso.com"
        })
        .to_string()
    );
}

#[tokio::test]
async fn organizer_display_name_is_null_and_upn_from_the_request_when_the_caller_has_none() {
    let outcome = create(
        &service(),
        r#"{"externalId":"k","participants":{"organizer":{"upn":"request@contoso.com"}}}"#,
    )
    .await;
    let organizer = &to_value(outcome.meeting())["participants"]["organizer"];
    assert_eq!(organizer["identity"]["user"]["displayName"], Value::Null);
    assert_eq!(organizer["upn"], "request@contoso.com");
    let bare = create(&service(), KEYED).await;
    assert_eq!(
        to_value(bare.meeting())["participants"]["organizer"]["upn"],
        Value::Null
    );
}

#[tokio::test]
async fn request_naming_another_organizer_is_a_bad_request() {
    let body = format!(
        r#"{{"externalId":"k","participants":{{"organizer":{{"identity":{{"user":{{"id":"{OTHER_USER}"}}}}}}}}}}"#
    );
    let error = call(&service(), &caller(), Profile::Beta, &body)
        .await
        .unwrap_err();
    let Error::InvalidRequest(invalid) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        invalid.member_path(),
        Some("participants.organizer.identity.user.id")
    );
    assert_eq!(error.code().as_str(), "BadRequest");
}

#[tokio::test]
async fn get_returns_the_callers_meeting() {
    let service = service();
    let created = create(&service, KEYED).await.into_meeting();
    let reader = Caller::delegated(
        TENANT.parse().unwrap(),
        USER.parse().unwrap(),
        ["OnlineMeetings.Read"],
    );
    assert_eq!(
        service
            .get(&reader, Profile::Beta, Target::Me, &created.id)
            .await
            .unwrap(),
        created
    );
}

#[tokio::test]
async fn another_organizers_meeting_is_not_found_for_get_and_delete() {
    let service = service();
    let created = create(&service, KEYED).await.into_meeting();
    let other = caller_for(TENANT, OTHER_USER);
    assert!(matches!(
        service
            .get(&other, Profile::Beta, Target::Me, &created.id)
            .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        service
            .delete(&other, Profile::Beta, Target::Me, &created.id)
            .await,
        Err(Error::NotFound)
    ));
    let same_user_other_tenant = caller_for("another-tenant", USER);
    assert!(matches!(
        service
            .get(
                &same_user_other_tenant,
                Profile::Beta,
                Target::Me,
                &created.id
            )
            .await,
        Err(Error::NotFound)
    ));
    assert_eq!(
        service
            .get(&caller(), Profile::Beta, Target::Me, &created.id)
            .await
            .unwrap(),
        created,
        "the meeting survives"
    );
    let unknown = MeetingId::new("nobody_19:none@thread.v2");
    assert!(matches!(
        service
            .get(&caller(), Profile::Beta, Target::Me, &unknown)
            .await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn delete_needs_read_write_and_get_needs_read() {
    let service = service();
    let created = create(&service, KEYED).await.into_meeting();
    let reader = Caller::delegated(
        TENANT.parse().unwrap(),
        USER.parse().unwrap(),
        ["OnlineMeetings.Read"],
    );
    assert!(matches!(
        service
            .delete(&reader, Profile::Beta, Target::Me, &created.id)
            .await,
        Err(Error::Forbidden(_))
    ));
    let nobody = Caller::delegated(
        TENANT.parse().unwrap(),
        USER.parse().unwrap(),
        ["User.Read"],
    );
    assert!(matches!(
        service
            .get(&nobody, Profile::Beta, Target::Me, &created.id)
            .await,
        Err(Error::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_users_path_must_name_the_caller_by_object_id_or_upn() {
    let service = service();
    let caller = caller().with_upn("Test1@Contoso.com");
    let request = request(r#"{"externalId":"users-path"}"#);
    for user in [
        USER.to_owned(),
        USER.to_ascii_uppercase(),
        "test1@contoso.com".to_owned(),
    ] {
        let outcome = service
            .create_or_get(&caller, Target::User(&user), Profile::V1, &request)
            .await
            .unwrap_or_else(|error| panic!("{user}: {error}"));
        assert_eq!(outcome.meeting().external_id.as_str(), "users-path");
    }
    for user in [OTHER_USER, "someone@contoso.com", ""] {
        let error = service
            .create_or_get(&caller, Target::User(user), Profile::V1, &request)
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::Forbidden(Forbidden::OtherUser)),
            "{user}: {error:?}"
        );
    }
}

#[tokio::test]
async fn an_authorization_runs_only_the_operation_it_was_granted_for() {
    let service = service();
    let caller = caller();
    let created = create(&service, r#"{"externalId":"granted"}"#)
        .await
        .into_meeting();
    let for_get = service
        .authorize(&caller, Profile::Beta, Target::Me, Operation::Get)
        .unwrap();
    assert_eq!(for_get.get(&created.id).await.unwrap().id, created.id);
    let error = for_get.delete(&created.id).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Forbidden(Forbidden::NotAuthorized {
                authorized: Operation::Get,
                requested: Operation::Delete
            })
        ),
        "{error:?}"
    );
    // Nothing was deleted.
    assert_eq!(
        service
            .get(&caller, Profile::Beta, Target::Me, &created.id)
            .await
            .unwrap(),
        created
    );
}

#[tokio::test]
async fn settings_replaced_while_serving_apply_to_every_clone_from_the_next_call() {
    let service = service();
    let clone = service.clone();
    create(&service, r#"{"externalId":"strict-later","subject":"a"}"#).await;
    let differing = r#"{"externalId":"strict-later","subject":"b"}"#;
    let lenient = call(&clone, &caller(), Profile::Beta, differing)
        .await
        .unwrap();
    assert_eq!(lenient.meeting().subject.as_deref(), Some("a"));
    service.replace_settings(Settings {
        strict: true,
        ..Settings::default()
    });
    assert!(clone.settings().strict);
    let error = call(&clone, &caller(), Profile::Beta, differing)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::ParameterMismatch { .. }),
        "{error:?}"
    );
    // `with_settings` makes a service of its own.
    let detached = clone.clone().with_settings(Settings::default());
    assert!(!detached.settings().strict && clone.settings().strict);
}

/// UUIDs 1, 2, 3, …, except that once primed, the next `count` draws all give `value`.
#[derive(Debug, Default)]
struct PrimedIds(std::sync::Mutex<PrimedState>);

#[derive(Debug, Default)]
struct PrimedState {
    next: u128,
    drawn: u64,
    primed: Option<(u128, u64)>,
}

impl PrimedIds {
    fn prime(&self, value: u128, count: u64) {
        self.0.lock().unwrap().primed = Some((value, count));
    }

    fn drawn(&self) -> u64 {
        self.0.lock().unwrap().drawn
    }
}

impl meeting_core::IdSource for PrimedIds {
    fn uuid(&self) -> uuid::Uuid {
        let mut state = self.0.lock().unwrap();
        state.drawn += 1;
        let value = match &mut state.primed {
            Some((value, left)) if *left > 0 => {
                *left -= 1;
                *value
            }
            _ => {
                state.next += 1;
                state.next
            }
        };
        uuid::Uuid::from_u128(value)
    }
}

#[tokio::test]
async fn a_new_meeting_whose_join_meeting_id_is_already_stored_is_built_again_with_another() {
    use meeting_core::MeetingStore as _;
    let store = Arc::new(MemoryStore::new());
    let ids = Arc::new(PrimedIds::default());
    let service = MeetingService::new(Arc::clone(&store) as Arc<dyn meeting_core::MeetingStore>)
        .with_clock(Arc::new(ManualClock::at("2026-01-01T09:00:00Z")))
        .with_ids(Arc::clone(&ids) as Arc<dyn meeting_core::IdSource>);
    let first = create(&service, KEYED).await.into_meeting();
    let per_build = ids.drawn();
    let taken = first
        .join_meeting_id()
        .expect("a new meeting has a join id");
    // Every value the second meeting's first build draws is the one the first
    // meeting's join id came from: its join id is the first's, its thread
    // (and so its id) is not, as the first's thread came from another draw.
    ids.prime(taken.parse().unwrap(), per_build);

    let second = create(&service, r#"{"externalId":"key-2"}"#).await;

    assert!(second.is_created());
    let second = second.meeting();
    assert_ne!(second.id, first.id);
    let drawn_again = second
        .join_meeting_id()
        .expect("a new meeting has a join id");
    assert_ne!(drawn_again, taken, "the colliding join id was drawn again");
    assert_eq!(
        ids.drawn(),
        3 * per_build,
        "one refused build, then one stored"
    );
    assert_eq!(store.len(), 2);
    assert_eq!(
        store.get(&first.id).await.unwrap().as_deref(),
        Some(&*first),
        "the first meeting keeps its join id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changed_at_once_are_each_applied_none_lost() {
    let service = service();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let changes: Vec<_> = [true, false]
        .into_iter()
        .map(|strict_side| {
            let (service, barrier) = (service.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..200 {
                    service
                        .update_settings(|current| {
                            let mut next = current.clone();
                            if strict_side {
                                next.strict = !next.strict;
                            } else {
                                next.video_interop = !next.video_interop;
                            }
                            Ok::<_, ()>(next)
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for change in changes {
        change.join().unwrap();
    }
    // Each side toggled its member an even number of times: a lost update
    // would leave one of them flipped.
    let settings = service.settings();
    assert!(!settings.strict && !settings.video_interop, "{settings:?}");
    // A refused change changes nothing.
    assert_eq!(
        service.update_settings(|_| Err::<meeting_core::Settings, _>("no")),
        Err("no")
    );
}

#[test]
fn the_exported_constants_are_the_specs_literals() {
    // Tests elsewhere compare with these constants: each is pinned here, once,
    // to the value the spec writes, so that a wrong constant fails a test.
    assert_eq!(
        PERSONAL_ACCOUNT_TENANT,
        "9188040d-6c67-4c5b-b112-36a304b66dad"
    );
    assert_eq!(scopes::READ_WRITE, "OnlineMeetings.ReadWrite");
    assert_eq!(scopes::READ, "OnlineMeetings.Read");
    assert_eq!(scopes::READ_WRITE_ALL, "OnlineMeetings.ReadWrite.All");
    assert_eq!(scopes::READ_ALL, "OnlineMeetings.Read.All");
    assert_eq!(
        NO_POLICY_MESSAGE,
        "No Application Access Policy found for this app."
    );
    assert_eq!(DEFAULT_JOIN_BASE_URL, "https://teams.microsoft.com");
    assert_eq!(
        Settings::default().join_base_url,
        "https://teams.microsoft.com"
    );
    assert_eq!(
        DEFAULT_DIALIN_BASE_URL,
        "https://dialin.teams.microsoft.com"
    );
    assert_eq!(JSON_MAX_DEPTH, 128);
}

/// An app-only caller of application `app_id`, with its own service principal.
fn app(app_id: &str) -> Caller {
    Caller::application(
        TENANT.parse().unwrap(),
        format!("principal-of-{app_id}").parse().unwrap(),
        app_id,
        ["OnlineMeetings.ReadWrite.All"],
    )
}

#[tokio::test]
async fn the_calling_app_is_not_part_of_the_key() {
    let mut settings = Settings::default();
    settings.app_access.grant("app-one", AppGrant::Global);
    settings.app_access.grant(
        "app-two",
        AppGrant::Users([USER.parse().unwrap()].into_iter().collect()),
    );
    let service = service_with(settings);
    let request = request(KEYED);
    let first = service
        .create_or_get(&app("app-one"), Target::User(USER), Profile::V1, &request)
        .await
        .unwrap();
    assert!(first.is_created());
    let second = service
        .create_or_get(&app("app-two"), Target::User(USER), Profile::V1, &request)
        .await
        .unwrap();
    assert!(!second.is_created(), "another app finds the user's meeting");
    assert_eq!(second.meeting(), first.meeting());
    // The user themselves, through whatever app signed them in, in both profiles.
    for profile in [Profile::V1, Profile::Beta] {
        let own = service
            .create_or_get(&caller(), Target::Me, profile, &request)
            .await
            .unwrap();
        assert!(!own.is_created(), "{profile:?}");
        assert_eq!(own.meeting(), first.meeting(), "{profile:?}");
    }
    // An app without a grant is refused with Graph's message, not given a meeting.
    let error = service
        .create_or_get(&app("app-three"), Target::User(USER), Profile::V1, &request)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Forbidden(Forbidden::NoAccessPolicy)),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "No Application Access Policy found for this app."
    );
}

#[tokio::test]
async fn create_or_get_asks_the_store_once_and_never_looks_before_inserting() {
    let store = Arc::new(CountingStore::new());
    let shared = Arc::clone(&store) as Arc<dyn meeting_core::MeetingStore>;
    let service = crate::service_over(Arc::clone(&shared));
    let strict = MeetingService::new(shared)
        .with_settings(Settings {
            strict: true,
            ..Settings::default()
        })
        .with_ids(Arc::new(SequentialIds::new()));
    for (profile, key) in [(Profile::Beta, "once-beta"), (Profile::V1, "once-v1")] {
        let body = format!(r#"{{"externalId":"{key}","subject":"S"}}"#);
        let created = call(&service, &caller(), profile, &body).await.unwrap();
        assert!(created.is_created());
        assert_eq!(store.take_calls(), ["create_or_get"], "{profile:?} create");
        let hit = call(&service, &caller(), profile, &body).await.unwrap();
        assert!(!hit.is_created());
        assert_eq!(store.take_calls(), ["create_or_get"], "{profile:?} hit");
        let strict_hit = call(&strict, &caller(), profile, &body).await.unwrap();
        assert!(!strict_hit.is_created());
        assert_eq!(
            store.take_calls(),
            ["create_or_get"],
            "{profile:?} strict hit"
        );
        let differing = format!(r#"{{"externalId":"{key}","subject":"T"}}"#);
        let mismatch = call(&strict, &caller(), profile, &differing).await;
        assert!(
            matches!(mismatch, Err(Error::ParameterMismatch { .. })),
            "{mismatch:?}"
        );
        assert_eq!(
            store.take_calls(),
            ["create_or_get"],
            "{profile:?} strict mismatch"
        );
    }
    // An invalid request does not reach the store at all.
    let too_long = serde_json::json!({ "externalId": "once-beta", "subject": "s".repeat(1025) });
    assert!(
        call(&service, &caller(), Profile::Beta, &too_long.to_string())
            .await
            .is_err()
    );
    assert_eq!(store.take_calls(), Vec::<&str>::new());
}
