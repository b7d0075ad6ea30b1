//! The createOrGet service: the rules of spec sections 1 and 3 over a store.

use crate::access::{AppAccessPolicy, Directory};
use crate::caller::{Access, Caller, Forbidden, Operation};
use crate::create::CreateRequest;
use crate::error::Error;
use crate::filter::MeetingFilter;
use crate::generate::{self, Clock, IdSource, RandomIds, SystemClock};
use crate::ids::ExternalId;
use crate::ids::{MeetingId, MeetingKey, TenantId, UserId};
use crate::model::{
    AudioConferencing, AutoAdmittedUsers, ChatInfo, Identity, IdentitySet, MeetingParticipantInfo,
    MeetingParticipants, OnlineMeeting,
};
use crate::options::MeetingOptions;
use crate::options::{JoinMeetingIdSettings, MeetingPolicy};
use crate::request::{CreateOrGetRequest, InvalidRequest};
use crate::store::{BoxError, MeetingStore, Outcome, StoreError, Updated};
use crate::update::UpdateRequest;
use crate::DateTimeOffset;
use arc_swap::ArcSwap;
use chrono::TimeDelta;
use std::sync::Arc;

/// Which of Graph's two behaviours of createOrGet to follow (spec 1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// The seed's (April 2020) behaviour: `200 OK` always, missing times default
    /// to `0001-01-01T00:00:00` UTC, an end before the start is accepted.
    #[default]
    Beta,
    /// Graph v1.0 (May 2020 on): `201 Created` when created, start defaults to
    /// now and end to start + 1 h, an end alone or before the start is refused.
    V1,
}

impl Profile {
    /// The profile for a URL version segment: `beta` or `v1.0`.
    pub fn from_version(version: &str) -> Option<Profile> {
        match version {
            "beta" => Some(Profile::Beta),
            "v1.0" => Some(Profile::V1),
            _ => None,
        }
    }

    /// The URL version segment.
    pub fn version(self) -> &'static str {
        match self {
            Profile::Beta => "beta",
            Profile::V1 => "v1.0",
        }
    }

    /// The meeting's times from the request's, by this profile's rules; checked
    /// now, so that a bad request is refused before the store is consulted.
    fn schedule(
        self,
        start: Option<DateTimeOffset>,
        end: Option<DateTimeOffset>,
    ) -> Result<Schedule, InvalidRequest> {
        match self {
            Profile::Beta => Ok(Schedule::Fixed {
                start: start.unwrap_or(DateTimeOffset::MIN),
                end: end.unwrap_or(DateTimeOffset::MIN),
            }),
            Profile::V1 => match (start, end) {
                (None, None) => Ok(Schedule::AnHourFromCreation),
                (Some(start), None) => {
                    let end = start.checked_add(TimeDelta::hours(1)).map_err(|_| {
                        InvalidRequest::member(
                            "startDateTime",
                            "the default end (start plus one hour) falls after year 9999",
                        )
                    })?;
                    Ok(Schedule::Fixed { start, end })
                }
                (None, Some(_)) => Err(InvalidRequest::member(
                    "startDateTime",
                    "is required when endDateTime is given",
                )),
                (Some(start), Some(end)) if end < start => Err(InvalidRequest::member(
                    "endDateTime",
                    "must not be earlier than startDateTime",
                )),
                (Some(start), Some(end)) => Ok(Schedule::Fixed { start, end }),
            },
        }
    }
}

/// A new meeting's start and end.
#[derive(Clone, Copy, Debug)]
enum Schedule {
    /// Known from the request (or the beta defaults).
    Fixed {
        start: DateTimeOffset,
        end: DateTimeOffset,
    },
    /// v1.0 without times: from the creation instant for an hour. Read from the
    /// clock only when a meeting is built, so that a hit never reads it.
    AnHourFromCreation,
}

/// The server's configuration of generated fields and strictness. As JSON
/// (camelCase members, every member required, unknown members refused) it is
/// what `meeting-http`'s admin API reads and patches.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// Answer [`Error::ParameterMismatch`] when an existing meeting differs from
    /// the request's explicit `subject`, times or attendees. Off by default, as in Graph.
    pub strict: bool,
    /// The base of `joinWebUrl`.
    pub join_base_url: String,
    /// The dial-in to give meetings; without one `audioConferencing` is `null`.
    pub dial_in: Option<DialIn>,
    /// Give meetings a `videoTeleconferenceId`; without it the member is `null`.
    pub video_interop: bool,
    /// The options new meetings get, and whether joining by id needs a passcode.
    pub meeting_policy: MeetingPolicy,
    /// Which applications may act for which users (v1.0 app-only callers).
    pub app_access: AppAccessPolicy,
    /// Organizers' display names and UPNs, when tokens do not carry them.
    pub directory: Directory,
}

/// A configured dial-in.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DialIn {
    /// The toll number every meeting shows.
    pub toll_number: String,
    /// The base of `dialinUrl`.
    pub base_url: String,
}

/// The default `joinWebUrl` base.
pub const DEFAULT_JOIN_BASE_URL: &str = "https://teams.microsoft.com";
/// The default `dialinUrl` base.
pub const DEFAULT_DIALIN_BASE_URL: &str = "https://dialin.teams.microsoft.com";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            strict: false,
            join_base_url: DEFAULT_JOIN_BASE_URL.to_owned(),
            dial_in: None,
            video_interop: false,
            meeting_policy: MeetingPolicy::default(),
            app_access: AppAccessPolicy::default(),
            directory: Directory::default(),
        }
    }
}

/// Graph's createOrGet, get and delete over a [`MeetingStore`].
///
/// Cheap to clone: every part is shared.
#[derive(Clone, Debug)]
pub struct MeetingService {
    pub(crate) store: Arc<dyn MeetingStore>,
    /// Shared by every clone, and replaceable while serving.
    settings: Arc<ArcSwap<Settings>>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
}

impl MeetingService {
    /// A service with default [`Settings`], the system clock and random ids.
    pub fn new(store: Arc<dyn MeetingStore>) -> Self {
        MeetingService {
            store,
            settings: Arc::new(ArcSwap::from_pointee(Settings::default())),
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
        }
    }

    /// This service with its own `settings`, no longer shared with the
    /// clones it was made from.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = Arc::new(ArcSwap::from_pointee(settings));
        self
    }

    /// Changes the settings while serving, atomically: `change` gets the
    /// settings in force and returns the new ones (or an error, which changes
    /// nothing); concurrent changes are each applied once, none lost.
    pub fn update_settings<E>(
        &self,
        mut change: impl FnMut(&Settings) -> Result<Settings, E>,
    ) -> Result<Arc<Settings>, E> {
        let mut failed = None;
        let previous = self.settings.rcu(|current| match change(current) {
            Ok(next) => {
                failed = None;
                Arc::new(next)
            }
            Err(error) => {
                failed = Some(error);
                Arc::clone(current)
            }
        });
        match failed {
            Some(error) => Err(error),
            None => {
                drop(previous);
                Ok(self.settings.load_full())
            }
        }
    }

    /// Replaces the settings while serving, for this service and every clone
    /// of it; calls already running finish with the settings they began with.
    pub fn replace_settings(&self, settings: Settings) {
        self.settings.store(Arc::new(settings));
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the source of random values.
    pub fn with_ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.ids = ids;
        self
    }

    /// The settings in force.
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.load_full()
    }

    /// Decides whether `caller` may do `operation` on `target`'s meetings in
    /// `profile`: the one place where access is decided. Every operation runs
    /// through what it returns, so an HTTP front can refuse a caller (`403`)
    /// before it reads the body.
    ///
    /// Delegated callers: the permission table (spec 1.2), and a
    /// `/users/{userId}` path must name the caller. Application callers (v1.0
    /// only, as Graph): `/users/{userId}` with an object id, the role the
    /// operation needs, and an application access policy granting the app
    /// that user; the user is then the organizer and the key's user.
    pub fn authorize<'a>(
        &'a self,
        caller: &'a Caller,
        profile: Profile,
        target: Target<'_>,
        operation: Operation,
    ) -> Result<Authorized<'a>, Error> {
        let user = match (&caller.access, profile, target) {
            (Access::Application { app_id, roles }, Profile::V1, target) => {
                let Target::User(user) = target else {
                    return Err(Forbidden::ApplicationOnMe.into());
                };
                Caller::application_permission(roles, operation)?;
                // An object id, so that a user has one key whatever form names them.
                let user = UserId::object_id(user).ok_or_else(|| {
                    InvalidRequest::member(
                        "userId",
                        format_args!(
                            "{user:?} is not an object id; an application names the user by their Entra ID object id (a GUID)"
                        ),
                    )
                })?;
                if !self.settings.load().app_access.allows(app_id, &user) {
                    return Err(Forbidden::NoAccessPolicy.into());
                }
                user
            }
            (_, _, target) => {
                caller.delegated_permission(operation)?;
                if let Target::User(user) = target {
                    if !caller.is_named_by(user) {
                        return Err(Forbidden::OtherUser.into());
                    }
                }
                caller.user.clone()
            }
        };
        Ok(Authorized {
            service: self,
            caller,
            user,
            profile,
            operation,
        })
    }

    /// [`Authorized::create_or_get`] for `caller` on `target`'s meetings.
    pub async fn create_or_get(
        &self,
        caller: &Caller,
        target: Target<'_>,
        profile: Profile,
        request: &CreateOrGetRequest,
    ) -> Result<Outcome, Error> {
        self.authorize(caller, profile, target, Operation::CreateOrGet)?
            .create_or_get(request)
            .await
    }

    /// [`Authorized::get`] for `caller` on `target`'s meetings.
    pub async fn get(
        &self,
        caller: &Caller,
        profile: Profile,
        target: Target<'_>,
        id: &MeetingId,
    ) -> Result<Arc<OnlineMeeting>, Error> {
        self.authorize(caller, profile, target, Operation::Get)?
            .get(id)
            .await
    }

    /// [`Authorized::delete`] for `caller` on `target`'s meetings.
    pub async fn delete(
        &self,
        caller: &Caller,
        profile: Profile,
        target: Target<'_>,
        id: &MeetingId,
    ) -> Result<(), Error> {
        self.authorize(caller, profile, target, Operation::Delete)?
            .delete(id)
            .await
    }

    /// [`Authorized::create`] for `caller` on `target`'s meetings.
    pub async fn create(
        &self,
        caller: &Caller,
        profile: Profile,
        target: Target<'_>,
        request: &CreateRequest,
    ) -> Result<Arc<OnlineMeeting>, Error> {
        self.authorize(caller, profile, target, Operation::Create)?
            .create(request)
            .await
    }

    /// [`Authorized::update`] for `caller` on `target`'s meetings.
    pub async fn update(
        &self,
        caller: &Caller,
        profile: Profile,
        target: Target<'_>,
        id: &MeetingId,
        request: &UpdateRequest,
    ) -> Result<Arc<OnlineMeeting>, Error> {
        self.authorize(caller, profile, target, Operation::Update)?
            .update(id, request, None)
            .await
    }

    /// [`Authorized::find`] for `caller` on `target`'s meetings.
    pub async fn find(
        &self,
        caller: &Caller,
        profile: Profile,
        target: Target<'_>,
        filter: &MeetingFilter,
    ) -> Result<Vec<Arc<OnlineMeeting>>, Error> {
        self.authorize(caller, profile, target, Operation::Find)?
            .find(filter)
            .await
    }

    /// Succeeds when the store answers.
    pub async fn health(&self) -> Result<(), Error> {
        Ok(self.store.ping().await?)
    }

    /// A new meeting for `key`, with every server-generated member of spec section 3.
    /// Stores the meeting `draft` describes under `key`, or finds the one
    /// there. A new meeting's generated ids are random, so one may collide
    /// with a stored meeting's (its `id`, or its `joinMeetingId` among 10^12):
    /// the store refuses it as a conflict, and the meeting is built anew.
    async fn store_new(&self, key: &MeetingKey, draft: &Draft<'_>) -> Result<Outcome, Error> {
        const ATTEMPTS: usize = 4;
        let mut attempt = 1;
        loop {
            match self
                .store
                .create_or_get(key, &|| self.build(key, draft))
                .await
            {
                Err(StoreError::Conflict { .. }) if attempt < ATTEMPTS => attempt += 1,
                outcome => return Ok(outcome?),
            }
        }
    }

    /// A new meeting for `key`, with every server-generated member: the
    /// seed's (spec section 3) and v1.0's (join id, options from the meeting
    /// policy). Its `id` takes the form of the profile it was created in.
    fn build(&self, key: &MeetingKey, draft: &Draft<'_>) -> OnlineMeeting {
        let ids = &*self.ids;
        let settings = self.settings.load();
        let (caller, user) = (draft.caller, draft.user);
        let thread_id = generate::thread_id(ids);
        let join_web_url = generate::join_web_url(
            &settings.join_base_url,
            &thread_id,
            caller.tenant.as_str(),
            user.as_str(),
        );
        let audio_conferencing = settings.dial_in.as_ref().map(|dial_in| {
            let conference_id = generate::digits(ids, 9);
            AudioConferencing {
                dialin_url: Some(generate::dialin_url(&dial_in.base_url, ids, &conference_id)),
                conference_id: Some(conference_id),
                toll_number: Some(dial_in.toll_number.clone()),
                ..AudioConferencing::default()
            }
        });
        // The directory knows the organizer best; a delegated token knows its own user.
        let known = settings.directory.get(user);
        let delegated = matches!(caller.access, Access::Delegated { .. });
        let display_name = known
            .and_then(|entry| entry.display_name.clone())
            .or_else(|| delegated.then(|| caller.display_name.clone()).flatten());
        let upn = known
            .and_then(|entry| entry.upn.clone())
            .or_else(|| delegated.then(|| caller.upn.clone()).flatten())
            .or_else(|| draft.organizer_upn.map(str::to_owned));
        let organizer = MeetingParticipantInfo {
            identity: Some(IdentitySet {
                user: Some(Identity {
                    tenant_id: Some(caller.tenant.as_str().to_owned()),
                    identity_provider: Some("AAD".to_owned()),
                    ..Identity::user(user.as_str(), display_name)
                }),
                ..IdentitySet::default()
            }),
            upn,
            ..MeetingParticipantInfo::default()
        };
        let attendees = draft
            .request
            .participants
            .as_ref()
            .and_then(|participants| participants.attendees.clone())
            .unwrap_or_default();

        let now = DateTimeOffset::saturating_from_utc(self.clock.now());
        let (start, end) = match draft.schedule {
            Schedule::Fixed { start, end } => (start, end),
            // Saturates only if the clock stands in the last hour of year 9999.
            Schedule::AnHourFromCreation => (
                now,
                now.checked_add(TimeDelta::hours(1))
                    .unwrap_or(DateTimeOffset::MAX),
            ),
        };
        let policy = &settings.meeting_policy;
        let is_passcode_required = draft
            .is_passcode_required
            .unwrap_or(policy.is_passcode_required);
        let join_meeting_id_settings = JoinMeetingIdSettings {
            is_passcode_required,
            join_meeting_id: Some(generate::digits(ids, JOIN_MEETING_ID_DIGITS)),
            passcode: is_passcode_required.then(|| generate::passcode(ids)),
            ..JoinMeetingIdSettings::default()
        };
        let id = match draft.profile {
            Profile::Beta => MeetingId::new(format!("{user}_{thread_id}")),
            Profile::V1 => MeetingId::new(generate::opaque_meeting_id(user.as_str(), &thread_id)),
        };

        OnlineMeeting {
            odata_type: Default::default(),
            creation_date_time: now,
            start_date_time: start,
            end_date_time: end,
            join_web_url,
            subject: draft.request.subject.clone(),
            participants: MeetingParticipants {
                organizer: Some(organizer),
                attendees,
                ..MeetingParticipants::default()
            },
            is_broadcast: false,
            auto_admitted_users: Some(AutoAdmittedUsers::Everyone),
            capabilities: Vec::new(),
            audio_conferencing,
            chat_info: Some(ChatInfo {
                message_id: Some("0".to_owned()),
                ..ChatInfo::new(thread_id)
            }),
            video_teleconference_id: settings.video_interop.then(|| generate::digits(ids, 10)),
            external_id: key.external_id.clone(),
            id,
            outer_meeting_auto_admitted_users: None,
            meeting_info: None,
            join_meeting_id_settings: Some(join_meeting_id_settings),
            meeting_options: Some(
                draft
                    .options
                    .clone()
                    .unwrap_or_else(|| policy.options.clone()),
            ),
        }
    }
}

/// Digits of a `joinMeetingId`, as Teams gives them today.
const JOIN_MEETING_ID_DIGITS: u32 = 12;

/// Whose meetings a call acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// The caller's own (`/me/…`).
    Me,
    /// Those of the user a path names (`/users/{userId}/…`): an object id or a UPN.
    User(&'a str),
}

/// A caller cleared by [`MeetingService::authorize`] for one operation; the
/// only way to reach the store. An operation other than the one cleared is
/// [`Forbidden::NotAuthorized`].
#[derive(Clone, Debug)]
#[must_use = "an authorization does nothing until its operation runs"]
pub struct Authorized<'a> {
    service: &'a MeetingService,
    caller: &'a Caller,
    /// Whose meetings: the caller, or for an application the path's user.
    user: UserId,
    profile: Profile,
    operation: Operation,
}

impl Authorized<'_> {
    /// The operation this authorization is for.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    fn require(&self, operation: Operation) -> Result<(), Error> {
        if self.operation == operation {
            Ok(())
        } else {
            Err(Forbidden::NotAuthorized {
                authorized: self.operation,
                requested: operation,
            }
            .into())
        }
    }

    /// Creates the caller's meeting with the request's `externalId`, or returns
    /// the one that already exists, exactly once per key whatever the concurrency.
    ///
    /// Checks the request (400), then asks the store. An existing meeting is
    /// returned as stored; other request members are ignored unless
    /// [`Settings::strict`] is on.
    pub async fn create_or_get(&self, request: &CreateOrGetRequest) -> Result<Outcome, Error> {
        self.require(Operation::CreateOrGet)?;
        let service = self.service;
        request.validate()?;
        let organizer_upn = check_organizer(&self.user, request)?;
        let schedule = self
            .profile
            .schedule(request.start_date_time, request.end_date_time)?;

        let key = MeetingKey {
            tenant: self.caller.tenant.clone(),
            user: self.user.clone(),
            external_id: request.external_id.clone(),
        };
        let draft = Draft {
            caller: self.caller,
            user: &self.user,
            profile: self.profile,
            request,
            organizer_upn,
            schedule,
            options: None,
            is_passcode_required: None,
        };
        let outcome = service.store_new(&key, &draft).await?;
        if service.settings.load().strict {
            if let Outcome::Existing(stored) = &outcome {
                let members = mismatches(request, stored);
                if !members.is_empty() {
                    return Err(Error::ParameterMismatch { members });
                }
            }
        }
        Ok(outcome)
    }

    /// The caller's meeting with this `id`; another organizer's meeting is
    /// [`Error::NotFound`] too, so that ids leak nothing.
    pub async fn get(&self, id: &MeetingId) -> Result<Arc<OnlineMeeting>, Error> {
        self.require(Operation::Get)?;
        self.owned_meeting(id).await
    }

    /// Deletes the caller's meeting with this `id`; its key becomes free.
    pub async fn delete(&self, id: &MeetingId) -> Result<(), Error> {
        self.require(Operation::Delete)?;
        self.owned_meeting(id).await?;
        match self.service.store.delete(id).await? {
            true => Ok(()),
            false => Err(Error::NotFound),
        }
    }

    /// Creates a meeting without a key for the user the call acts for
    /// (`POST …/onlineMeetings`): every call creates another, found later by
    /// its id, join link or join id. Checks the request (400) as createOrGet
    /// does, with the same profile rules for times.
    pub async fn create(&self, request: &CreateRequest) -> Result<Arc<OnlineMeeting>, Error> {
        self.require(Operation::Create)?;
        let service = self.service;
        let base = request.with_key(ExternalId::placeholder(service.ids.uuid()));
        let organizer_upn = check_organizer(&self.user, &base)?;
        let schedule = self
            .profile
            .schedule(base.start_date_time, base.end_date_time)?;
        let options = request
            .options
            .apply(&service.settings.load().meeting_policy.options)?;
        let draft = Draft {
            caller: self.caller,
            user: &self.user,
            profile: self.profile,
            request: &base,
            organizer_upn,
            schedule,
            options: Some(options),
            is_passcode_required: request.is_passcode_required,
        };
        let key = MeetingKey {
            tenant: self.caller.tenant.clone(),
            user: self.user.clone(),
            external_id: base.external_id.clone(),
        };
        // The placeholder key is fresh: the meeting is created (a UUID collision
        // would return the meeting that has it, which is as good as impossible).
        Ok(service.store_new(&key, &draft).await?.into_meeting())
    }

    /// Changes the caller's meeting with this `id` as `request` says, and
    /// returns it whole (`PATCH …/onlineMeetings/{id}`). One atomic
    /// read-modify-write in the store: concurrent updates of different
    /// members all take effect. With `if_match` (the ETags of `If-Match`, `*`
    /// for any), a meeting whose [ETag](OnlineMeeting::etag) is not among them
    /// is [`Error::PreconditionFailed`] and left unchanged.
    pub async fn update(
        &self,
        id: &MeetingId,
        request: &UpdateRequest,
        if_match: Option<&[String]>,
    ) -> Result<Arc<OnlineMeeting>, Error> {
        self.require(Operation::Update)?;
        request.check(self.profile)?;
        let change = |stored: &OnlineMeeting| -> Result<OnlineMeeting, BoxError> {
            if !self.owns(stored) {
                return Err(Box::new(Error::NotFound));
            }
            if let Some(tags) = if_match {
                if !etag_matches(tags, &stored.etag()) {
                    return Err(Box::new(Error::PreconditionFailed));
                }
            }
            request
                .apply(stored)
                .map_err(|invalid| Box::new(Error::from(invalid)) as BoxError)
        };
        match self.service.store.update(id, &change).await? {
            Updated::Stored(meeting) => Ok(meeting),
            Updated::Missing => Err(Error::NotFound),
            Updated::Refused(error) => Err(match error.downcast::<Error>() {
                Ok(error) => *error,
                Err(other) => StoreError::internal(other).into(),
            }),
        }
    }

    /// The caller's meetings that `filter` finds (`GET
    /// …/onlineMeetings?$filter=…`): at most one for a join id, usually one
    /// for a join link. Meetings of other organizers are left out, so the
    /// answer is empty, never an error, when the caller may not see the one
    /// that matches.
    pub async fn find(&self, filter: &MeetingFilter) -> Result<Vec<Arc<OnlineMeeting>>, Error> {
        self.require(Operation::Find)?;
        let store = &self.service.store;
        let found = match filter {
            MeetingFilter::JoinWebUrl(url) => {
                store
                    .find_by_join_web_url(&crate::join_web_url_key(url))
                    .await?
            }
            MeetingFilter::JoinMeetingId(join_id) => store
                .find_by_join_meeting_id(join_id)
                .await?
                .into_iter()
                .collect(),
        };
        Ok(found
            .into_iter()
            .filter(|meeting| self.owns(meeting))
            .collect())
    }

    /// The user whose meetings this call acts on: the caller, or for an
    /// application the path's user.
    pub fn user(&self) -> &UserId {
        &self.user
    }

    async fn owned_meeting(&self, id: &MeetingId) -> Result<Arc<OnlineMeeting>, Error> {
        let meeting = self.service.store.get(id).await?.ok_or(Error::NotFound)?;
        if self.owns(&meeting) {
            Ok(meeting)
        } else {
            Err(Error::NotFound)
        }
    }

    /// Whether `meeting` is organized by the user this call acts for, in the
    /// caller's tenant.
    fn owns(&self, meeting: &OnlineMeeting) -> bool {
        let (caller, user) = (self.caller, &self.user);
        // Compared as ids: a meeting stored before GUIDs were held in one form still matches.
        meeting.organizer_identity().is_some_and(|organizer| {
            organizer
                .id
                .as_deref()
                .and_then(|id| UserId::new(id).ok())
                .as_ref()
                == Some(user)
                && organizer
                    .tenant_id
                    .as_deref()
                    .and_then(|id| TenantId::new(id).ok())
                    .as_ref()
                    == Some(&caller.tenant)
        })
    }
}

/// Whether `If-Match`'s `tags` name `current` (or are `*`): compared by
/// their opaque part, weak or not, as OData services compare their weak ETags.
fn etag_matches(tags: &[String], current: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let current = opaque(current);
    tags.iter()
        .any(|tag| tag.trim() == "*" || opaque(tag) == current)
}

/// What a new meeting takes from the call.
struct Draft<'a> {
    caller: &'a Caller,
    /// The organizer.
    user: &'a UserId,
    profile: Profile,
    request: &'a CreateOrGetRequest,
    organizer_upn: Option<&'a str>,
    schedule: Schedule,
    /// Options the request sets (create), else the meeting policy's.
    options: Option<MeetingOptions>,
    /// Whether joining by id needs a passcode (create), else the policy's.
    is_passcode_required: Option<bool>,
}

/// The organizer is always the user the call acts for: a request naming
/// another user id is refused. Returns the request's organizer UPN, used when
/// neither the directory nor the token has one.
fn check_organizer<'r>(
    user: &UserId,
    request: &'r CreateOrGetRequest,
) -> Result<Option<&'r str>, InvalidRequest> {
    let Some(organizer) = request
        .participants
        .as_ref()
        .and_then(|participants| participants.organizer.as_ref())
    else {
        return Ok(None);
    };
    let named = organizer
        .identity
        .as_ref()
        .and_then(|identity| identity.user.as_ref())
        .and_then(|user| user.id.as_deref());
    if let Some(id) = named {
        if UserId::new(id).ok().as_ref() != Some(user) {
            return Err(InvalidRequest::member(
                "participants.organizer.identity.user.id",
                format_args!(
                    "names the user {id}, but the organizer is always the caller; omit it or use the caller's id"
                ),
            ));
        }
    }
    Ok(organizer.upn.as_deref())
}

/// Strict mode: the members the request sets explicitly that differ from `stored`.
fn mismatches(request: &CreateOrGetRequest, stored: &OnlineMeeting) -> Vec<&'static str> {
    let mut members = Vec::new();
    if request
        .subject
        .as_ref()
        .is_some_and(|s| stored.subject.as_ref() != Some(s))
    {
        members.push("subject");
    }
    if request
        .start_date_time
        .is_some_and(|t| t != stored.start_date_time)
    {
        members.push("startDateTime");
    }
    if request
        .end_date_time
        .is_some_and(|t| t != stored.end_date_time)
    {
        members.push("endDateTime");
    }
    let attendees = request
        .participants
        .as_ref()
        .and_then(|participants| participants.attendees.as_ref());
    if attendees.is_some_and(|a| *a != stored.participants.attendees) {
        members.push("participants.attendees");
    }
    members
}
