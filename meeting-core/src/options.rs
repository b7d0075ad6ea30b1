//! A meeting's options (v1.0's `onlineMeetingBase` settings) and the meeting
//! policy they default from, as a Teams administrator sets it.
//!
//! A meeting keeps the options it was created with; a later policy change
//! does not touch stored meetings, as in Teams.

use crate::odata::ODataTag;
use meeting_derive::ODataType;
use serde::{Deserialize, Serialize};

/// `microsoft.graph.onlineMeetingPresenters`: who may present.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum OnlineMeetingPresenters {
    /// Graph's default.
    #[default]
    Everyone,
    Organization,
    RoleIsPresenter,
    Organizer,
    UnknownFutureValue,
}

/// `microsoft.graph.meetingChatMode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum MeetingChatMode {
    #[default]
    Enabled,
    Disabled,
    Limited,
    UnknownFutureValue,
}

/// `microsoft.graph.lobbyBypassScope`: who skips the lobby.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum LobbyBypassScope {
    Organizer,
    /// Teams' default: people in the organizer's organization, and guests.
    #[default]
    Organization,
    OrganizationAndFederated,
    Everyone,
    UnknownFutureValue,
    Invited,
    OrganizationExcludingGuests,
}

/// `microsoft.graph.meetingChatHistoryDefaultMode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum MeetingChatHistoryDefaultMode {
    None,
    #[default]
    All,
    UnknownFutureValue,
}

/// `microsoft.graph.meetingLiveShareOptions`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum MeetingLiveShareOptions {
    #[default]
    Enabled,
    Disabled,
    UnknownFutureValue,
}

/// `microsoft.graph.allowedLobbyAdmitterRoles`: who may admit from the lobby.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum AllowedLobbyAdmitterRoles {
    #[default]
    OrganizerAndCoOrganizersAndPresenters,
    OrganizerAndCoOrganizers,
    UnknownFutureValue,
}

/// `microsoft.graph.lobbyBypassSettings`.
#[derive(ODataType, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LobbyBypassSettings {
    #[serde(rename = "@odata.type")]
    #[allow(missing_docs)]
    pub odata_type: ODataTag<Self>,
    /// Who skips the lobby.
    pub scope: LobbyBypassScope,
    /// Whether dial-in callers always skip it. Graph's default: `false`.
    pub is_dial_in_bypass_enabled: bool,
}

/// `microsoft.graph.watermarkProtectionValues`.
#[derive(ODataType, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatermarkProtectionValues {
    #[serde(rename = "@odata.type")]
    #[allow(missing_docs)]
    pub odata_type: ODataTag<Self>,
    /// Watermark shared content.
    pub is_enabled_for_content_sharing: bool,
    /// Watermark video.
    pub is_enabled_for_video: bool,
}

/// `microsoft.graph.chatRestrictions`.
#[derive(ODataType, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatRestrictions {
    #[serde(rename = "@odata.type")]
    #[allow(missing_docs)]
    pub odata_type: ODataTag<Self>,
    /// Only text in the chat (no files, GIFs, …).
    pub allow_text_only: bool,
}

/// `microsoft.graph.joinMeetingIdSettings`: the numeric id to join by phone or
/// by typing it, unique among stored meetings, and its passcode.
#[derive(ODataType, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinMeetingIdSettings {
    #[serde(rename = "@odata.type")]
    #[allow(missing_docs)]
    pub odata_type: ODataTag<Self>,
    /// Whether joining by id needs the passcode.
    pub is_passcode_required: bool,
    /// Digits; unique among the meetings of a store.
    pub join_meeting_id: Option<String>,
    /// Set when required.
    pub passcode: Option<String>,
}

/// The options v1.0 renders on every meeting. Defaults are Graph's and Teams'
/// global meeting policy's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MeetingOptions {
    /// Default `true`.
    pub allow_attendee_to_enable_camera: bool,
    /// Default `true`.
    pub allow_attendee_to_enable_mic: bool,
    /// Default `true`.
    pub allow_breakout_rooms: bool,
    /// Default `true`.
    pub allow_copying_and_sharing_meeting_content: bool,
    /// Default `organizerAndCoOrganizersAndPresenters`.
    pub allowed_lobby_admitters: AllowedLobbyAdmitterRoles,
    /// Default `everyone`.
    pub allowed_presenters: OnlineMeetingPresenters,
    /// Default `enabled`.
    pub allow_live_share: MeetingLiveShareOptions,
    /// Default `enabled`.
    pub allow_meeting_chat: MeetingChatMode,
    /// Default `false`.
    pub allow_participants_to_change_name: bool,
    /// Default `true`.
    pub allow_power_point_sharing: bool,
    /// Default `true`.
    pub allow_recording: bool,
    /// Default `true`.
    pub allow_teamwork_reactions: bool,
    /// Default `true`.
    pub allow_transcription: bool,
    /// Default `true`.
    pub allow_whiteboard: bool,
    /// Default: text only off.
    pub chat_restrictions: ChatRestrictions,
    /// Default `false`.
    pub is_end_to_end_encryption_enabled: bool,
    /// Default `true`.
    pub is_entry_exit_announced: bool,
    /// Default: `organization`, dial-in callers wait.
    pub lobby_bypass_settings: LobbyBypassSettings,
    /// Default: none (`null`).
    pub meeting_spoken_language_tag: Option<String>,
    /// Default `false`.
    pub record_automatically: bool,
    /// Default `all`.
    pub share_meeting_chat_history_default: MeetingChatHistoryDefaultMode,
    /// Default: no watermark.
    pub watermark_protection: WatermarkProtectionValues,
}

impl Default for MeetingOptions {
    fn default() -> Self {
        MeetingOptions {
            allow_attendee_to_enable_camera: true,
            allow_attendee_to_enable_mic: true,
            allow_breakout_rooms: true,
            allow_copying_and_sharing_meeting_content: true,
            allowed_lobby_admitters: AllowedLobbyAdmitterRoles::default(),
            allowed_presenters: OnlineMeetingPresenters::default(),
            allow_live_share: MeetingLiveShareOptions::default(),
            allow_meeting_chat: MeetingChatMode::default(),
            allow_participants_to_change_name: false,
            allow_power_point_sharing: true,
            allow_recording: true,
            allow_teamwork_reactions: true,
            allow_transcription: true,
            allow_whiteboard: true,
            chat_restrictions: ChatRestrictions::default(),
            is_end_to_end_encryption_enabled: false,
            is_entry_exit_announced: true,
            lobby_bypass_settings: LobbyBypassSettings::default(),
            meeting_spoken_language_tag: None,
            record_automatically: false,
            share_meeting_chat_history_default: MeetingChatHistoryDefaultMode::default(),
            watermark_protection: WatermarkProtectionValues::default(),
        }
    }
}

/// What a tenant administrator sets in Teams: the options every new meeting
/// starts with, and whether joining by meeting id needs a passcode.
///
/// `meetingd --meeting-policy FILE` reads one as JSON (the members of
/// [`MeetingOptions`] in Graph's names, plus `isPasscodeRequired`); members
/// left out keep their defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MeetingPolicy {
    /// The options of new meetings.
    #[serde(flatten)]
    pub options: MeetingOptions,
    /// New meetings get a passcode for joining by id. Default `false`, as Graph's.
    pub is_passcode_required: bool,
}

impl MeetingPolicy {
    /// Reads a policy file: JSON whose members are options by their Graph
    /// names, plus `isPasscodeRequired`. A member this policy does not have is
    /// an error (a typo would otherwise be ignored).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let given: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let members = given
            .as_object()
            .ok_or("a meeting policy is a JSON object")?;
        let known = serde_json::to_value(MeetingPolicy::default()).map_err(|e| e.to_string())?;
        if let Some(unknown) = members
            .keys()
            .find(|name| known.get(name.as_str()).is_none())
        {
            return Err(format!("no meeting option is named {unknown:?}"));
        }
        serde_json::from_value(given).map_err(|e| e.to_string())
    }

    /// Sets one option by its Graph name (`allowedPresenters`,
    /// `lobbyBypassSettings.scope`, …) to a JSON value, as a flag would.
    pub fn set(&mut self, name: &str, value: serde_json::Value) -> Result<(), String> {
        let mut policy = serde_json::to_value(&*self).map_err(|e| e.to_string())?;
        let mut slot = &mut policy;
        for part in name.split('.') {
            slot = slot
                .as_object_mut()
                .and_then(|object| object.get_mut(part))
                .ok_or_else(|| format!("no meeting option is named {name:?}"))?;
        }
        *slot = value;
        *self = serde_json::from_value(policy).map_err(|e| format!("{name}: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_policy_file_sets_only_what_it_names() {
        let policy = MeetingPolicy::from_json(
            &json!({
                "allowedPresenters": "organizer",
                "lobbyBypassSettings": {"scope": "everyone", "isDialInBypassEnabled": true},
                "isPasscodeRequired": true
            })
            .to_string(),
        )
        .unwrap();
        assert_eq!(
            policy.options.allowed_presenters,
            OnlineMeetingPresenters::Organizer
        );
        assert_eq!(
            policy.options.lobby_bypass_settings.scope,
            LobbyBypassScope::Everyone
        );
        assert!(policy.is_passcode_required);
        assert!(
            policy.options.allow_recording,
            "unnamed members keep their defaults"
        );
    }

    #[test]
    fn a_policy_file_with_an_unknown_member_or_value_is_refused() {
        let error = MeetingPolicy::from_json(r#"{"allowedPresenter": "organizer"}"#).unwrap_err();
        assert!(error.contains("allowedPresenter"), "{error}");
        assert!(MeetingPolicy::from_json(r#"{"allowedPresenters": "nobody"}"#).is_err());
        assert!(MeetingPolicy::from_json("[]").is_err());
    }

    #[test]
    fn one_option_is_set_by_its_graph_name() {
        let mut policy = MeetingPolicy::default();
        policy.set("allowMeetingChat", json!("limited")).unwrap();
        policy
            .set("lobbyBypassSettings.scope", json!("organizer"))
            .unwrap();
        policy.set("isPasscodeRequired", json!(true)).unwrap();
        assert_eq!(policy.options.allow_meeting_chat, MeetingChatMode::Limited);
        assert_eq!(
            policy.options.lobby_bypass_settings.scope,
            LobbyBypassScope::Organizer
        );
        assert!(policy.is_passcode_required);
        assert!(policy.set("allowMeetingChatt", json!("limited")).is_err());
        assert!(policy.set("allowRecording", json!("yes")).is_err());
    }
}
