//! What each profile shows of a stored meeting: `beta` the seed's 2020 shape,
//! `v1.0` today's v1.0 `onlineMeeting`. Both are views borrowing the stored
//! [`OnlineMeeting`]; every object writes its `@odata.type` first.
//!
//! ```
//! use meeting_core::render::view;
//! # use meeting_core::{OnlineMeeting, Profile};
//! # fn show(meeting: &OnlineMeeting) -> serde_json::Result<String> {
//! let json = serde_json::to_string(&view(meeting, Profile::V1))?;
//! # Ok(json) }
//! ```
//!
//! v1.0 shows every member its generated models declare except the
//! navigation properties (`attendanceReports`, `recordings`, `transcripts`)
//! and the deprecated `attendeeReport` stream, which Graph never writes inline
//! either. `identity` and `identitySet` are open types: after their declared
//! members come the dynamic ones Graph also writes (`tenantId`,
//! `identityProvider`) and what the client sent.

use crate::model::{
    AdditionalMembers, AudioConferencing, AutoAdmittedUsers, ChatInfo, Identity, IdentitySet,
    MeetingCapability, MeetingParticipantInfo, MeetingParticipants, OnlineMeeting,
    OnlineMeetingRole,
};
use crate::odata::ODataTag;
use crate::options::{
    AllowedLobbyAdmitterRoles, ChatRestrictions, JoinMeetingIdSettings, LobbyBypassSettings,
    MeetingChatHistoryDefaultMode, MeetingChatMode, MeetingLiveShareOptions, MeetingOptions,
    OnlineMeetingPresenters, WatermarkProtectionValues,
};
use crate::{DateTimeOffset, ExternalId, MeetingId, Profile};
use chrono::TimeDelta;
use meeting_derive::ODataType;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Serialize, Serializer};
use std::sync::LazyLock;

/// How long after its end a meeting expires, as Graph documents it.
pub const EXPIRY_AFTER_END: TimeDelta = TimeDelta::days(60);

/// `meeting` as `profile` shows it.
pub fn view(meeting: &OnlineMeeting, profile: Profile) -> View<'_> {
    match profile {
        Profile::Beta => View::Beta(BetaMeeting::new(meeting)),
        Profile::V1 => View::V1(Box::new(V1Meeting::new(meeting))),
    }
}

/// A meeting as one profile shows it; serializes as that profile's JSON.
#[derive(Debug)]
pub enum View<'a> {
    /// The seed's shape.
    Beta(BetaMeeting<'a>),
    /// Today's v1.0 shape.
    V1(Box<V1Meeting<'a>>),
}

impl Serialize for View<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            View::Beta(meeting) => meeting.serialize(serializer),
            View::V1(meeting) => meeting.serialize(serializer),
        }
    }
}

/// The seed's `onlineMeeting` (April 2020), member for member.
#[derive(ODataType, Debug, Serialize)]
#[odata(name = "microsoft.graph.onlineMeeting")]
#[serde(rename_all = "camelCase")]
pub struct BetaMeeting<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
    creation_date_time: &'a DateTimeOffset,
    start_date_time: &'a DateTimeOffset,
    end_date_time: &'a DateTimeOffset,
    join_web_url: &'a str,
    subject: &'a Option<String>,
    participants: &'a MeetingParticipants,
    is_broadcast: bool,
    auto_admitted_users: &'a Option<AutoAdmittedUsers>,
    capabilities: &'a [MeetingCapability],
    audio_conferencing: &'a Option<AudioConferencing>,
    chat_info: &'a Option<ChatInfo>,
    video_teleconference_id: &'a Option<String>,
    external_id: Option<&'a ExternalId>,
    id: &'a MeetingId,
    outer_meeting_auto_admitted_users: &'a Option<AutoAdmittedUsers>,
    meeting_info: &'a Option<AdditionalMembers>,
}

impl<'a> BetaMeeting<'a> {
    fn new(m: &'a OnlineMeeting) -> Self {
        BetaMeeting {
            odata_type: ODataTag::new(),
            creation_date_time: &m.creation_date_time,
            start_date_time: &m.start_date_time,
            end_date_time: &m.end_date_time,
            join_web_url: &m.join_web_url,
            subject: &m.subject,
            participants: &m.participants,
            is_broadcast: m.is_broadcast,
            auto_admitted_users: &m.auto_admitted_users,
            capabilities: &m.capabilities,
            audio_conferencing: &m.audio_conferencing,
            chat_info: &m.chat_info,
            video_teleconference_id: &m.video_teleconference_id,
            external_id: m.external_id.client_key(),
            id: &m.id,
            outer_meeting_auto_admitted_users: &m.outer_meeting_auto_admitted_users,
            meeting_info: &m.meeting_info,
        }
    }
}

/// A date-time as v1.0 writes it: UTC with `Z`, seven fractional digits.
#[derive(Clone, Copy, Debug)]
struct Zulu(DateTimeOffset);

impl Serialize for Zulu {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.zulu())
    }
}

/// Today's v1.0 `onlineMeeting`.
#[derive(ODataType, Debug, Serialize)]
#[odata(name = "microsoft.graph.onlineMeeting")]
#[serde(rename_all = "camelCase")]
pub struct V1Meeting<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
    allow_attendee_to_enable_camera: bool,
    allow_attendee_to_enable_mic: bool,
    allow_breakout_rooms: bool,
    allow_copying_and_sharing_meeting_content: bool,
    allowed_lobby_admitters: AllowedLobbyAdmitterRoles,
    allowed_presenters: OnlineMeetingPresenters,
    allow_live_share: MeetingLiveShareOptions,
    allow_meeting_chat: MeetingChatMode,
    allow_participants_to_change_name: bool,
    allow_power_point_sharing: bool,
    allow_recording: bool,
    allow_teamwork_reactions: bool,
    allow_transcription: bool,
    allow_whiteboard: bool,
    audio_conferencing: Option<V1AudioConferencing<'a>>,
    broadcast_settings: Option<()>,
    chat_info: Option<V1ChatInfo<'a>>,
    chat_restrictions: &'a ChatRestrictions,
    cloud_video_interop_info: Option<CloudVideoInteropInfo<'a>>,
    creation_date_time: Zulu,
    end_date_time: Zulu,
    expiry_date_time: Zulu,
    external_id: Option<&'a ExternalId>,
    id: &'a MeetingId,
    is_broadcast: bool,
    is_end_to_end_encryption_enabled: bool,
    is_entry_exit_announced: bool,
    join_information: ItemBody,
    join_meeting_id_settings: &'a Option<JoinMeetingIdSettings>,
    join_web_url: &'a str,
    lobby_bypass_settings: &'a LobbyBypassSettings,
    meeting_options_web_url: Option<String>,
    meeting_spoken_language_tag: Option<&'a str>,
    meeting_template_id: Option<()>,
    meeting_type: Option<()>,
    participants: V1Participants<'a>,
    record_automatically: bool,
    sensitivity_label_assignment: Option<()>,
    share_meeting_chat_history_default: MeetingChatHistoryDefaultMode,
    start_date_time: Zulu,
    subject: &'a Option<String>,
    video_teleconference_id: &'a Option<String>,
    watermark_protection: &'a WatermarkProtectionValues,
}

/// The options of a meeting stored before meetings had them.
static DEFAULT_OPTIONS: LazyLock<MeetingOptions> = LazyLock::new(MeetingOptions::default);

impl<'a> V1Meeting<'a> {
    fn new(m: &'a OnlineMeeting) -> Self {
        let options = m.meeting_options.as_ref().unwrap_or(&DEFAULT_OPTIONS);
        V1Meeting {
            odata_type: ODataTag::new(),
            allow_attendee_to_enable_camera: options.allow_attendee_to_enable_camera,
            allow_attendee_to_enable_mic: options.allow_attendee_to_enable_mic,
            allow_breakout_rooms: options.allow_breakout_rooms,
            allow_copying_and_sharing_meeting_content: options
                .allow_copying_and_sharing_meeting_content,
            allowed_lobby_admitters: options.allowed_lobby_admitters,
            allowed_presenters: options.allowed_presenters,
            allow_live_share: options.allow_live_share,
            allow_meeting_chat: options.allow_meeting_chat,
            allow_participants_to_change_name: options.allow_participants_to_change_name,
            allow_power_point_sharing: options.allow_power_point_sharing,
            allow_recording: options.allow_recording,
            allow_teamwork_reactions: options.allow_teamwork_reactions,
            allow_transcription: options.allow_transcription,
            allow_whiteboard: options.allow_whiteboard,
            audio_conferencing: m.audio_conferencing.as_ref().map(V1AudioConferencing::new),
            broadcast_settings: None,
            chat_info: m.chat_info.as_ref().map(|chat| V1ChatInfo {
                odata_type: ODataTag::new(),
                message_id: chat.message_id.as_deref(),
                reply_chain_message_id: chat.reply_chain_message_id.as_deref(),
                thread_id: chat.thread_id.as_deref(),
            }),
            chat_restrictions: &options.chat_restrictions,
            cloud_video_interop_info: m.video_teleconference_id.as_deref().map(|id| {
                CloudVideoInteropInfo {
                    odata_type: ODataTag::new(),
                    more_info_web_url: None,
                    tenant_key: None,
                    video_teleconference_id: id,
                }
            }),
            creation_date_time: Zulu(m.creation_date_time),
            end_date_time: Zulu(m.end_date_time),
            expiry_date_time: Zulu(
                m.end_date_time
                    .checked_add(EXPIRY_AFTER_END)
                    .unwrap_or(DateTimeOffset::MAX),
            ),
            external_id: m.external_id.client_key(),
            id: &m.id,
            is_broadcast: m.is_broadcast,
            is_end_to_end_encryption_enabled: options.is_end_to_end_encryption_enabled,
            is_entry_exit_announced: options.is_entry_exit_announced,
            join_information: ItemBody::join_link(&m.join_web_url),
            join_meeting_id_settings: &m.join_meeting_id_settings,
            join_web_url: &m.join_web_url,
            lobby_bypass_settings: &options.lobby_bypass_settings,
            meeting_options_web_url: meeting_options_web_url(m),
            meeting_spoken_language_tag: options.meeting_spoken_language_tag.as_deref(),
            meeting_template_id: None,
            meeting_type: None,
            participants: V1Participants::new(&m.participants),
            record_automatically: options.record_automatically,
            sensitivity_label_assignment: None,
            share_meeting_chat_history_default: options.share_meeting_chat_history_default,
            start_date_time: Zulu(m.start_date_time),
            subject: &m.subject,
            video_teleconference_id: &m.video_teleconference_id,
            watermark_protection: &options.watermark_protection,
        }
    }
}

/// v1.0's `audioConferencing`, with the toll-free members the seed's lacks.
#[derive(ODataType, Debug, Serialize)]
#[odata(name = "microsoft.graph.audioConferencing")]
#[serde(rename_all = "camelCase")]
struct V1AudioConferencing<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
    conference_id: Option<&'a str>,
    dialin_url: Option<&'a str>,
    toll_free_number: Option<()>,
    toll_free_numbers: [&'a str; 0],
    toll_number: Option<&'a str>,
    toll_numbers: Vec<&'a str>,
}

impl<'a> V1AudioConferencing<'a> {
    fn new(audio: &'a AudioConferencing) -> Self {
        V1AudioConferencing {
            odata_type: ODataTag::new(),
            conference_id: audio.conference_id.as_deref(),
            dialin_url: audio.dialin_url.as_deref(),
            toll_free_number: None,
            toll_free_numbers: [],
            toll_number: audio.toll_number.as_deref(),
            toll_numbers: audio.toll_number.as_deref().into_iter().collect(),
        }
    }
}

/// v1.0's `chatInfo`: every member written.
#[derive(ODataType, Debug, Serialize)]
#[odata(name = "microsoft.graph.chatInfo")]
#[serde(rename_all = "camelCase")]
struct V1ChatInfo<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
    message_id: Option<&'a str>,
    reply_chain_message_id: Option<&'a str>,
    thread_id: Option<&'a str>,
}

/// `microsoft.graph.cloudVideoInteropInfo`, when video interop is on.
#[derive(ODataType, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CloudVideoInteropInfo<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
    more_info_web_url: Option<()>,
    tenant_key: Option<()>,
    video_teleconference_id: &'a str,
}

/// `microsoft.graph.itemBody`.
#[derive(ODataType, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemBody {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
    content: String,
    content_type: &'static str,
}

/// What a data URL's text may hold as it is.
const DATA_URL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl ItemBody {
    /// The join information Graph writes: an HTML fragment with the join
    /// link, as a percent-encoded `data:text/html` URL.
    fn join_link(join_web_url: &str) -> Self {
        let html = format!(
            "<div><a href=\"{}\" target=\"_blank\">Join the meeting now</a></div>",
            join_web_url.replace('&', "&amp;").replace('"', "&quot;")
        );
        ItemBody {
            odata_type: ODataTag::new(),
            content: format!("data:text/html,{}", utf8_percent_encode(&html, DATA_URL)),
            content_type: "html",
        }
    }
}

/// The Teams page where the organizer changes the options:
/// `<join base>/meetingOptions/?organizerId=…&tenantId=…&threadId=…&messageId=0&language=en-US`.
fn meeting_options_web_url(m: &OnlineMeeting) -> Option<String> {
    let organizer = m.organizer_identity()?;
    let thread = m.chat_info.as_ref()?.thread_id.as_deref()?;
    let base = m.join_web_url.split("/l/meetup-join/").next()?;
    let encode = |text: &str| utf8_percent_encode(text, DATA_URL).to_string();
    Some(format!(
        "{base}/meetingOptions/?organizerId={}&tenantId={}&threadId={}&messageId=0&language=en-US",
        encode(organizer.id.as_deref()?),
        encode(organizer.tenant_id.as_deref().unwrap_or_default()),
        encode(&thread.replace(':', "_")),
    ))
}

/// v1.0's `meetingParticipants`: organizer and attendees only.
#[derive(ODataType, Debug, Serialize)]
#[odata(name = "microsoft.graph.meetingParticipants")]
#[serde(rename_all = "camelCase")]
struct V1Participants<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
    attendees: Vec<V1ParticipantInfo<'a>>,
    organizer: Option<V1ParticipantInfo<'a>>,
}

impl<'a> V1Participants<'a> {
    fn new(participants: &'a MeetingParticipants) -> Self {
        V1Participants {
            odata_type: ODataTag::new(),
            attendees: participants
                .attendees
                .iter()
                .map(|attendee| V1ParticipantInfo::new(attendee, attendee.role))
                .collect(),
            // The organizer presents, as Graph shows it.
            organizer: participants.organizer.as_ref().map(|organizer| {
                V1ParticipantInfo::new(
                    organizer,
                    organizer.role.or(Some(OnlineMeetingRole::Presenter)),
                )
            }),
        }
    }
}

/// v1.0's `meetingParticipantInfo`: its role always written.
#[derive(ODataType, Debug, Serialize)]
#[odata(name = "microsoft.graph.meetingParticipantInfo")]
#[serde(rename_all = "camelCase")]
struct V1ParticipantInfo<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
    identity: Option<V1IdentitySet<'a>>,
    role: Option<OnlineMeetingRole>,
    upn: Option<&'a str>,
}

impl<'a> V1ParticipantInfo<'a> {
    fn new(info: &'a MeetingParticipantInfo, role: Option<OnlineMeetingRole>) -> Self {
        V1ParticipantInfo {
            odata_type: ODataTag::new(),
            identity: info.identity.as_ref().map(V1IdentitySet::new),
            role,
            upn: info.upn.as_deref(),
        }
    }
}

/// v1.0's `identitySet`: every declared member written, `null` when absent,
/// then the client's own members.
#[derive(ODataType, Debug, Serialize)]
#[odata(name = "microsoft.graph.identitySet")]
#[serde(rename_all = "camelCase")]
struct V1IdentitySet<'a> {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
    application: Option<&'a Identity>,
    device: Option<&'a Identity>,
    user: Option<&'a Identity>,
    #[serde(flatten)]
    additional: &'a AdditionalMembers,
}

impl<'a> V1IdentitySet<'a> {
    fn new(set: &'a IdentitySet) -> Self {
        V1IdentitySet {
            odata_type: ODataTag::new(),
            application: set.application.as_ref(),
            device: set.device.as_ref(),
            user: set.user.as_ref(),
            additional: &set.additional,
        }
    }
}
