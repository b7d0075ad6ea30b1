//! A plain serde mirror of [`meeting_core::model`]: the same members, order and
//! serde attributes, but `@odata.type` is an ordinary string field instead of
//! the derive's zero-sized [`ODataTag`](meeting_core::ODataTag). Like the tag,
//! it is optional on input (absent or `null`), so it is an `Option<String>`.
//!
//! It writes byte for byte the JSON the model writes (the annotation bench
//! asserts so), so the difference between the two is the annotation's cost and
//! nothing else. Parsing it does not check the tag: it only stores it.

use meeting_core::model::{
    AdditionalMembers, AutoAdmittedUsers, MeetingCapability, OnlineMeetingRole,
};
use meeting_core::{DateTimeOffset, ExternalId, MeetingId};
use serde::{Deserialize, Deserializer, Serialize};

/// Mirrors [`meeting_core::model::OnlineMeeting`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct OnlineMeeting {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    pub creation_date_time: DateTimeOffset,
    pub start_date_time: DateTimeOffset,
    pub end_date_time: DateTimeOffset,
    pub join_web_url: String,
    pub subject: Option<String>,
    pub participants: MeetingParticipants,
    pub is_broadcast: bool,
    pub auto_admitted_users: Option<AutoAdmittedUsers>,
    pub capabilities: Vec<MeetingCapability>,
    pub audio_conferencing: Option<AudioConferencing>,
    pub chat_info: Option<ChatInfo>,
    pub video_teleconference_id: Option<String>,
    pub external_id: ExternalId,
    pub id: MeetingId,
    pub outer_meeting_auto_admitted_users: Option<AutoAdmittedUsers>,
    pub meeting_info: Option<AdditionalMembers>,
}

/// Mirrors [`meeting_core::model::MeetingParticipants`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct MeetingParticipants {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(default)]
    pub organizer: Option<MeetingParticipantInfo>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub attendees: Vec<MeetingParticipantInfo>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub producers: Vec<MeetingParticipantInfo>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub contributors: Vec<MeetingParticipantInfo>,
}

/// Mirrors [`meeting_core::model::MeetingParticipantInfo`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct MeetingParticipantInfo {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(default)]
    pub identity: Option<IdentitySet>,
    #[serde(default)]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<OnlineMeetingRole>,
}

/// Mirrors [`meeting_core::model::IdentitySet`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct IdentitySet {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Identity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<Identity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Identity>,
    #[serde(flatten)]
    pub additional: AdditionalMembers,
}

/// Mirrors [`meeting_core::model::Identity`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Identity {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
    #[serde(flatten)]
    pub additional: AdditionalMembers,
}

/// Mirrors [`meeting_core::model::AudioConferencing`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct AudioConferencing {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    pub conference_id: Option<String>,
    pub toll_number: Option<String>,
    pub dialin_url: Option<String>,
}

/// Mirrors [`meeting_core::model::ChatInfo`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct ChatInfo {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(default)]
    pub thread_id: Option<String>,
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_chain_message_id: Option<String>,
}

// The model's own helper is private; the mirror needs the same behaviour.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::SEED_RESPONSE;

    #[test]
    fn the_mirror_writes_the_models_json_byte_for_byte() {
        let model: meeting_core::OnlineMeeting = serde_json::from_str(SEED_RESPONSE).unwrap();
        let plain: OnlineMeeting = serde_json::from_str(SEED_RESPONSE).unwrap();
        assert_eq!(
            serde_json::to_string(&model).unwrap(),
            serde_json::to_string(&plain).unwrap()
        );
    }
}
