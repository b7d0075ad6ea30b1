//! Spec 1.1: the two behaviour profiles. The clock stands at 2026-01-01T09:00:00Z.

use super::*;

const MIN: &str = "0001-01-01T00:00:00.0000000+00:00";
const NOW: &str = "2026-01-01T09:00:00.0000000+00:00";

async fn times(profile: Profile, members: &str) -> Result<(String, String), Error> {
    let body = format!(r#"{{"externalId":"k"{members}}}"#);
    let meeting = call(&service(), &caller(), profile, &body)
        .await?
        .into_meeting();
    Ok((
        meeting.start_date_time.to_string(),
        meeting.end_date_time.to_string(),
    ))
}

fn bad_request_naming(result: Result<(String, String), Error>, member: &str) {
    match result {
        Err(Error::InvalidRequest(invalid)) => assert_eq!(invalid.member_path(), Some(member)),
        other => panic!("expected a 400 naming {member}, got {other:?}"),
    }
}

#[test]
fn beta_is_the_default_profile_and_url_versions_map_to_profiles() {
    assert_eq!(Profile::default(), Profile::Beta);
    assert_eq!(Profile::from_version("beta"), Some(Profile::Beta));
    assert_eq!(Profile::from_version("v1.0"), Some(Profile::V1));
    assert_eq!(Profile::from_version("v2.0"), None);
}

#[tokio::test]
async fn both_profiles_tell_created_from_existing() {
    for profile in [Profile::Beta, Profile::V1] {
        let service = service();
        let body = r#"{"externalId":"k"}"#;
        assert!(call(&service, &caller(), profile, body)
            .await
            .unwrap()
            .is_created());
        assert!(!call(&service, &caller(), profile, body)
            .await
            .unwrap()
            .is_created());
    }
}

#[tokio::test]
async fn beta_neither_time_given_defaults_both_to_0001() {
    assert_eq!(
        times(Profile::Beta, "").await.unwrap(),
        (MIN.into(), MIN.into())
    );
}

#[tokio::test]
async fn beta_only_start_given_defaults_end_to_0001() {
    let start = "2030-05-01T10:00:00.0000000+00:00";
    let got = times(Profile::Beta, &format!(r#","startDateTime":"{start}""#))
        .await
        .unwrap();
    assert_eq!(got, (start.into(), MIN.into()));
}

#[tokio::test]
async fn beta_only_end_given_defaults_start_to_0001() {
    let end = "2030-05-01T10:00:00.0000000+00:00";
    let got = times(Profile::Beta, &format!(r#","endDateTime":"{end}""#))
        .await
        .unwrap();
    assert_eq!(got, (MIN.into(), end.into()));
}

#[tokio::test]
async fn beta_accepts_an_end_earlier_than_the_start() {
    let got = times(
        Profile::Beta,
        r#","startDateTime":"2030-05-01T10:00:00Z","endDateTime":"2030-05-01T09:00:00Z""#,
    )
    .await
    .unwrap();
    assert_eq!(got.1, "2030-05-01T09:00:00.0000000+00:00");
}

#[tokio::test]
async fn v1_neither_time_given_starts_now_and_ends_an_hour_later() {
    let got = times(Profile::V1, "").await.unwrap();
    assert_eq!(
        got,
        (NOW.into(), "2026-01-01T10:00:00.0000000+00:00".into())
    );
}

#[tokio::test]
async fn v1_only_start_given_ends_an_hour_later() {
    let got = times(
        Profile::V1,
        r#","startDateTime":"2030-05-01T10:00:00.1234567Z""#,
    )
    .await
    .unwrap();
    assert_eq!(got.1, "2030-05-01T11:00:00.1234567+00:00");
}

#[tokio::test]
async fn v1_only_end_given_is_a_bad_request() {
    bad_request_naming(
        times(Profile::V1, r#","endDateTime":"2030-05-01T10:00:00Z""#).await,
        "startDateTime",
    );
}

#[tokio::test]
async fn v1_end_earlier_than_start_is_a_bad_request_but_equal_and_past_are_fine() {
    bad_request_naming(
        times(
            Profile::V1,
            r#","startDateTime":"2030-05-01T10:00:00Z","endDateTime":"2030-05-01T09:59:59.9999999Z""#,
        )
        .await,
        "endDateTime",
    );
    let equal = times(
        Profile::V1,
        r#","startDateTime":"2030-05-01T10:00:00Z","endDateTime":"2030-05-01T12:00:00+02:00""#,
    )
    .await
    .unwrap();
    assert_eq!(equal.0, equal.1);
    let past = times(
        Profile::V1,
        r#","startDateTime":"1999-01-01T10:00:00Z","endDateTime":"1999-01-01T11:00:00Z""#,
    )
    .await
    .unwrap();
    assert_eq!(
        past,
        (
            "1999-01-01T10:00:00.0000000+00:00".into(),
            "1999-01-01T11:00:00.0000000+00:00".into()
        )
    );
    // A past start alone still gets its hour.
    let past_start = times(Profile::V1, r#","startDateTime":"0001-01-01T00:00:00Z""#)
        .await
        .unwrap();
    assert_eq!(
        past_start,
        (MIN.into(), "0001-01-01T01:00:00.0000000+00:00".into())
    );
}

#[tokio::test]
async fn v1_default_end_past_year_9999_is_a_bad_request() {
    bad_request_naming(
        times(Profile::V1, r#","startDateTime":"9999-12-31T23:30:00Z""#).await,
        "startDateTime",
    );
    // The latest start whose default end is still in year 9999.
    let last = times(
        Profile::V1,
        r#","startDateTime":"9999-12-31T22:59:59.9999999Z""#,
    )
    .await
    .unwrap();
    assert_eq!(
        last,
        (
            "9999-12-31T22:59:59.9999999+00:00".into(),
            "9999-12-31T23:59:59.9999999+00:00".into()
        )
    );
    // One tick later, its end would be past year 9999.
    bad_request_naming(
        times(Profile::V1, r#","startDateTime":"9999-12-31T23:00:00Z""#).await,
        "startDateTime",
    );
    // Given explicitly, the last instant of year 9999 is kept as sent.
    let explicit = times(
        Profile::V1,
        r#","startDateTime":"9999-12-31T23:59:59.9999999Z","endDateTime":"9999-12-31T23:59:59.9999999Z""#,
    )
    .await
    .unwrap();
    assert_eq!(
        explicit,
        (
            "9999-12-31T23:59:59.9999999+00:00".into(),
            "9999-12-31T23:59:59.9999999+00:00".into()
        )
    );
}

#[tokio::test]
async fn v1_time_rules_apply_even_when_the_key_already_has_a_meeting() {
    let service = service();
    call(&service, &caller(), Profile::V1, r#"{"externalId":"k"}"#)
        .await
        .unwrap();
    let error = call(
        &service,
        &caller(),
        Profile::V1,
        r#"{"externalId":"k","endDateTime":"2030-01-01T00:00:00Z"}"#,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, Error::InvalidRequest(_)));
}
