//! The operations beside createOrGet that the library offers: a create
//! without a key (`POST …/onlineMeetings`) and the administrator's delete.

use crate::{caller, service, service_over, to_value, OTHER_USER};
use meeting_core::{CreateRequest, MeetingFilter, Profile, StoreError, Target};

/// A create without an `externalId` builds its meeting from every member the
/// request gives, as createOrGet does: times, subject, attendees.
#[tokio::test]
async fn a_create_without_a_key_keeps_the_requests_times_subject_and_attendees() {
    let service = service();
    let request = CreateRequest::from_json(
        format!(
            r#"{{"subject": "Planning",
                 "startDateTime": "2026-03-02T10:00:00Z",
                 "endDateTime": "2026-03-02T10:45:00Z",
                 "participants": {{"attendees": [
                     {{"identity": {{"user": {{"id": "{OTHER_USER}"}}}}, "upn": "other@contoso.com"}}
                 ]}}}}"#
        )
        .as_bytes(),
    )
    .unwrap();
    let meeting = service
        .create(&caller(), Profile::V1, Target::Me, &request)
        .await
        .unwrap();
    let value = to_value(&meeting);
    assert_eq!(value["subject"], "Planning");
    assert_eq!(value["startDateTime"], "2026-03-02T10:00:00.0000000+00:00");
    assert_eq!(value["endDateTime"], "2026-03-02T10:45:00.0000000+00:00");
    let attendees = value["participants"]["attendees"].as_array().unwrap();
    assert_eq!(attendees.len(), 1, "{attendees:?}");
    assert_eq!(attendees[0]["upn"], "other@contoso.com");
    assert_eq!(attendees[0]["identity"]["user"]["id"], OTHER_USER);
}

/// The administrator's delete says whether it deleted, and what it deleted is gone.
#[tokio::test]
async fn the_admin_delete_removes_the_meeting_and_says_whether_it_did() {
    let service = service();
    let meeting = crate::create(&service, r#"{"externalId": "to-delete"}"#)
        .await
        .into_meeting();
    let admin = service.admin();
    assert_eq!(admin.count().await.unwrap(), 1);
    assert!(admin.delete(&meeting.id).await.unwrap(), "it was there");
    assert!(admin.get(&meeting.id).await.unwrap().is_none());
    assert_eq!(admin.count().await.unwrap(), 0);
    assert!(
        !admin.delete(&meeting.id).await.unwrap(),
        "a second delete deletes nothing"
    );
}

/// A new meeting whose generated ids collide with a stored one's is built
/// anew, up to four attempts in all; past them the conflict is the answer.
#[tokio::test]
async fn a_colliding_new_meeting_is_built_again_up_to_four_times() {
    for (conflicts, stored) in [(3, true), (4, false)] {
        let store = std::sync::Arc::new(crate::counting::CountingStore::with_conflicts(conflicts));
        let service = service_over(store.clone());
        let outcome = service
            .create_or_get(
                &caller(),
                Target::Me,
                Profile::Beta,
                &crate::request(r#"{"externalId": "collides"}"#),
            )
            .await;
        let calls = store.take_calls();
        assert_eq!(calls, vec!["create_or_get"; 4], "{conflicts} conflicts");
        if stored {
            assert!(outcome.unwrap().is_created());
        } else {
            assert!(
                matches!(
                    outcome,
                    Err(meeting_core::Error::Store(StoreError::Conflict { .. }))
                ),
                "{outcome:?}"
            );
        }
    }
}

/// The service's health is its store's.
#[tokio::test]
async fn health_fails_when_the_store_does_not_answer() {
    let healthy = service_over(std::sync::Arc::new(crate::counting::CountingStore::new()));
    healthy.health().await.unwrap();
    let failing = service_over(std::sync::Arc::new(
        crate::counting::CountingStore::with_failing_ping(),
    ));
    assert!(failing.health().await.is_err());
}

/// Find by join link answers the caller's meeting.
#[tokio::test]
async fn find_by_join_link_answers_the_meeting() {
    let service = service();
    let meeting = crate::create(&service, r#"{"externalId": "found"}"#)
        .await
        .into_meeting();
    let found = service
        .find(
            &caller(),
            Profile::Beta,
            Target::Me,
            &MeetingFilter::JoinWebUrl(meeting.join_web_url.clone()),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, meeting.id);
}

/// A create that asks for a passcode gets one, and says it is required.
#[tokio::test]
async fn a_create_asking_for_a_passcode_gets_one() {
    let service = service();
    for (body, required) in [
        (
            r#"{"joinMeetingIdSettings": {"isPasscodeRequired": true}}"#,
            true,
        ),
        (r#"{}"#, false),
    ] {
        let meeting = service
            .create(
                &caller(),
                Profile::V1,
                Target::Me,
                &CreateRequest::from_json(body.as_bytes()).unwrap(),
            )
            .await
            .unwrap();
        let settings = meeting.join_meeting_id_settings.as_ref().unwrap();
        assert_eq!(settings.is_passcode_required, required, "{body}");
        assert_eq!(settings.passcode.is_some(), required, "{body}");
    }
}

/// An update with `If-Match` changes the meeting only when one of the tags
/// is its ETag (weak or not) or `*`; otherwise it is 412 and nothing changes.
/// Another organizer's meeting is not found.
#[tokio::test]
async fn an_update_checks_if_match_and_the_organizer() {
    use meeting_core::{Error, Operation, UpdateRequest};
    let service = service();
    let meeting = crate::create(
        &service,
        r#"{"externalId": "patched", "subject": "Before"}"#,
    )
    .await
    .into_meeting();
    let patch = UpdateRequest::from_json(br#"{"subject": "After"}"#).unwrap();
    let update = |tags: Vec<String>| {
        let service = &service;
        let (id, patch) = (&meeting.id, &patch);
        async move {
            service
                .authorize(&caller(), Profile::V1, Target::Me, Operation::Update)?
                .update(id, patch, Some(&tags))
                .await
        }
    };
    let etag = meeting.etag();
    let opaque = etag.trim_start_matches("W/").to_owned();
    let refused = update(vec!["W/\"0000000000000000\"".to_owned()]).await;
    assert!(
        matches!(refused, Err(Error::PreconditionFailed)),
        "{refused:?}"
    );
    let unchanged = service.admin().get(&meeting.id).await.unwrap().unwrap();
    assert_eq!(unchanged.subject.as_deref(), Some("Before"));

    for tags in [
        vec![etag.clone()],
        vec!["x".to_owned(), opaque],
        vec![" * ".to_owned()],
    ] {
        let updated = update(tags.clone()).await.unwrap();
        assert_eq!(updated.subject.as_deref(), Some("After"), "{tags:?}");
        // Put it back, so that the next tag is checked against the same ETag.
        let back = UpdateRequest::from_json(br#"{"subject": "Before"}"#).unwrap();
        service
            .authorize(&caller(), Profile::V1, Target::Me, Operation::Update)
            .unwrap()
            .update(&meeting.id, &back, None)
            .await
            .unwrap();
    }

    let other = crate::caller_for(crate::TENANT, crate::OTHER_USER);
    let not_theirs = service
        .authorize(&other, Profile::V1, Target::Me, Operation::Update)
        .unwrap()
        .update(&meeting.id, &patch, None)
        .await;
    assert!(matches!(not_theirs, Err(Error::NotFound)), "{not_theirs:?}");
}
