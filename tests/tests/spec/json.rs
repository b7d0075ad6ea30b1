//! Spec section 4: JSON conventions.

use super::*;

#[tokio::test]
async fn date_times_are_utc_with_seven_digits_and_a_utc_offset() {
    let meeting = to_value(
        create(
            &service(),
            r#"{"externalId":"k","startDateTime":"2020-02-06T03:49:21.35249459+02:00","endDateTime":"2020-02-06T02:19:21"}"#,
        )
        .await
        .meeting(),
    );
    assert_eq!(
        meeting["startDateTime"],
        "2020-02-06T01:49:21.3524945+00:00"
    );
    assert_eq!(meeting["endDateTime"], "2020-02-06T02:19:21.0000000+00:00");
}

#[tokio::test]
async fn the_default_date_is_written_as_0001_01_01_with_seven_digits() {
    let meeting = to_value(create(&service(), r#"{"externalId":"k"}"#).await.meeting());
    assert_eq!(
        meeting["startDateTime"],
        "0001-01-01T00:00:00.0000000+00:00"
    );
}

#[tokio::test]
async fn declared_members_without_a_value_are_null_and_empty_collections_are_empty_arrays() {
    let json = serde_json::to_string(
        &*create(&service(), r#"{"externalId":"k"}"#)
            .await
            .into_meeting(),
    )
    .unwrap();
    for member in [
        r#""subject":null"#,
        r#""audioConferencing":null"#,
        r#""videoTeleconferenceId":null"#,
        r#""meetingInfo":null"#,
        r#""attendees":[]"#,
        r#""capabilities":[]"#,
    ] {
        assert!(json.contains(member), "{member} in {json}");
    }
}

#[tokio::test]
async fn key_names_are_lower_camel_case() {
    let meeting = to_value(create(&service(), r#"{"externalId":"k"}"#).await.meeting());
    fn check(value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let first = key.trim_start_matches('@').chars().next().unwrap();
                    assert!(first.is_ascii_lowercase(), "{key}");
                    assert!(!key.contains('_'), "{key}");
                    check(child);
                }
            }
            Value::Array(items) => items.iter().for_each(check),
            _ => {}
        }
    }
    check(&meeting);
}
