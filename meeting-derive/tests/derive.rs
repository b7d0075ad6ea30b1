//! What `#[derive(ODataType)]` does, asserted on the serialized text (a
//! `serde_json::Value` would sort the keys and hide the order).

use meeting_core::{ODataTag, ODataType};
use serde::{Deserialize, Serialize};

#[derive(ODataType, Serialize, Deserialize, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
struct MeetingParticipantInfo {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
    upn: Option<String>,
    zeta_first: u8,
}

#[derive(ODataType, Serialize, Deserialize, Debug, Default, PartialEq)]
#[odata(name = "contoso.extensions.meetingRoom")]
struct Room {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
    seats: u32,
}

#[derive(ODataType, Serialize, Deserialize, Debug, Default, PartialEq)]
struct Wrapper<T> {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Wrapper<T>>,
    inner: T,
}

#[test]
fn default_name_is_microsoft_graph_plus_lower_camel_type_name() {
    assert_eq!(
        MeetingParticipantInfo::TYPE_NAME,
        "microsoft.graph.meetingParticipantInfo"
    );
    assert_eq!(
        MeetingParticipantInfo::TAG,
        "#microsoft.graph.meetingParticipantInfo"
    );
}

#[test]
fn attribute_overrides_the_name() {
    assert_eq!(Room::TYPE_NAME, "contoso.extensions.meetingRoom");
    let json = serde_json::to_string(&Room {
        seats: 4,
        ..Room::default()
    })
    .unwrap();
    assert_eq!(
        json,
        r##"{"@odata.type":"#contoso.extensions.meetingRoom","seats":4}"##
    );
}

#[test]
fn tag_is_the_first_member_and_serde_writes_the_rest() {
    let value = MeetingParticipantInfo {
        upn: Some("a@b".into()),
        zeta_first: 7,
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&value).unwrap(),
        r##"{"@odata.type":"#microsoft.graph.meetingParticipantInfo","upn":"a@b","zetaFirst":7}"##
    );
}

#[test]
fn tag_is_optional_on_input_with_or_without_hash() {
    let expected = MeetingParticipantInfo {
        zeta_first: 1,
        ..Default::default()
    };
    for json in [
        r#"{"upn":null,"zetaFirst":1}"#,
        r##"{"@odata.type":"#microsoft.graph.meetingParticipantInfo","upn":null,"zetaFirst":1}"##,
        r#"{"zetaFirst":1,"upn":null,"@odata.type":"microsoft.graph.meetingParticipantInfo"}"#,
    ] {
        assert_eq!(
            serde_json::from_str::<MeetingParticipantInfo>(json).unwrap(),
            expected,
            "{json}"
        );
    }
}

#[test]
fn wrong_tag_is_an_error_that_names_it() {
    for wrong in [
        "#microsoft.graph.identity",
        "#Microsoft.Graph.MeetingParticipantInfo",
        "##microsoft.graph.meetingParticipantInfo",
        "",
    ] {
        let json = format!(r#"{{"@odata.type":"{wrong}","upn":null,"zetaFirst":1}}"#);
        let error = serde_json::from_str::<MeetingParticipantInfo>(&json)
            .unwrap_err()
            .to_string();
        assert!(error.contains(&format!("\"{wrong}\"")), "{error}");
        assert!(
            error.contains("#microsoft.graph.meetingParticipantInfo"),
            "{error}"
        );
    }
    let not_a_string = r#"{"@odata.type":5,"upn":null,"zetaFirst":1}"#;
    assert!(serde_json::from_str::<MeetingParticipantInfo>(not_a_string).is_err());
}

#[test]
fn generic_types_get_their_tag_too() {
    let json = serde_json::to_string(&Wrapper {
        inner: 3u8,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        json,
        r##"{"@odata.type":"#microsoft.graph.wrapper","inner":3}"##
    );
}
