//! The operations beside createOrGet that the library offers: a create
//! without a key (`POST …/onlineMeetings`) and the administrator's delete.

use crate::{caller, service, to_value, OTHER_USER};
use meeting_core::{CreateRequest, Profile, Target};

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
