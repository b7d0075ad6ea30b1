//! The storage contract every backend implements.

use crate::ids::{MeetingId, MeetingKey};
use crate::model::OnlineMeeting;
use async_trait::async_trait;
use std::sync::Arc;

/// A boxed error source, kept so that the cause of a store failure is never lost.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Builds the meeting to store when a key has none yet. A store calls it at most
/// once per `create_or_get`, and only when it is about to insert.
pub type NewMeeting<'a> = &'a (dyn Fn() -> OnlineMeeting + Send + Sync);

/// A change to one stored meeting: given the meeting as stored, the meeting to
/// store in its place, or why not. A store may call it more than once (each
/// time with what is stored then) and stores only the result of its last call,
/// so it must not have effects of its own.
pub type Change<'a> = &'a (dyn Fn(&OnlineMeeting) -> Result<OnlineMeeting, BoxError> + Send + Sync);

/// What [`MeetingStore::update`] did.
#[derive(Debug)]
pub enum Updated {
    /// The change was applied to the meeting as stored, and its result stored.
    Stored(Arc<OnlineMeeting>),
    /// No meeting has this id; the change was not called.
    Missing,
    /// The change refused the stored meeting; nothing was written. Holds its error.
    Refused(BoxError),
}

/// Checks that `after`, a change of `before`, keeps what stores index a meeting
/// by: its id, key (organizer, tenant, `externalId`), `joinMeetingId` and
/// `joinWebUrl`. Every store refuses an update that breaks this as
/// [`StoreError::Internal`] (the service never asks for one).
pub fn check_update_keeps_identity(
    before: &OnlineMeeting,
    after: &OnlineMeeting,
) -> Result<(), StoreError> {
    let changed = if before.id != after.id {
        "id"
    } else if before.external_id != after.external_id {
        "externalId"
    } else if before.organizer_identity().map(|o| (&o.id, &o.tenant_id))
        != after.organizer_identity().map(|o| (&o.id, &o.tenant_id))
    {
        "participants.organizer"
    } else if before.join_meeting_id() != after.join_meeting_id() {
        "joinMeetingIdSettings.joinMeetingId"
    } else if before.join_web_url != after.join_web_url {
        "joinWebUrl"
    } else {
        return Ok(());
    };
    Err(StoreError::internal(format!(
        "an update of meeting {} may not change its {changed}",
        before.id
    )))
}

/// What [`MeetingStore::create_or_get`] (and so createOrGet) did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// No meeting had the key; this one was stored now.
    Created(Arc<OnlineMeeting>),
    /// The meeting that already had the key, as stored.
    Existing(Arc<OnlineMeeting>),
}

impl Outcome {
    /// The meeting, created or existing.
    pub fn meeting(&self) -> &OnlineMeeting {
        self.shared()
    }

    /// The meeting as the store shares it.
    pub fn shared(&self) -> &Arc<OnlineMeeting> {
        match self {
            Outcome::Created(meeting) | Outcome::Existing(meeting) => meeting,
        }
    }

    /// Whether this call created the meeting.
    pub fn is_created(&self) -> bool {
        matches!(self, Outcome::Created(_))
    }

    /// The meeting, created or existing.
    pub fn into_meeting(self) -> Arc<OnlineMeeting> {
        match self {
            Outcome::Created(meeting) | Outcome::Existing(meeting) => meeting,
        }
    }
}

/// Durable storage for meetings, keyed by [`MeetingKey`] and by [`MeetingId`].
///
/// Object-safe: a service holds an `Arc<dyn MeetingStore>` chosen at run time.
/// A backend is correct when it passes the conformance suite
/// (`meeting_core::conformance`, feature `conformance`).
#[async_trait]
pub trait MeetingStore: Send + Sync + std::fmt::Debug {
    /// Atomically returns the meeting stored under `key`, or stores the one
    /// `new_meeting` builds and returns it as created.
    ///
    /// However many callers race on one key, from any number of tasks,
    /// processes or hosts sharing the store, exactly one meeting is stored and
    /// every caller gets it; losing the race is never an error. `new_meeting`
    /// builds a meeting whose organizer and `externalId` match `key`.
    async fn create_or_get(
        &self,
        key: &MeetingKey,
        new_meeting: NewMeeting<'_>,
    ) -> Result<Outcome, StoreError>;

    /// The meeting stored under `key`.
    async fn get_by_key(&self, key: &MeetingKey) -> Result<Option<Arc<OnlineMeeting>>, StoreError>;

    /// The meeting with this `id`.
    async fn get(&self, id: &MeetingId) -> Result<Option<Arc<OnlineMeeting>>, StoreError>;

    /// Deletes the meeting with this `id`, freeing its key. Returns whether one was deleted.
    async fn delete(&self, id: &MeetingId) -> Result<bool, StoreError>;

    /// Atomically applies `change` to the meeting with this `id` and stores its
    /// result: a read-modify-write that loses no update. However many updates
    /// race on one meeting, from any number of tasks, processes or hosts sharing
    /// the store, each is applied to the meeting as the ones before it left it.
    /// An update racing a delete either happens before it (and is deleted) or
    /// finds the meeting [`Missing`](Updated::Missing).
    ///
    /// The result must keep the meeting's identity
    /// ([`check_update_keeps_identity`]); a store refuses one that does not.
    ///
    /// The default answers [`StoreError::Internal`]: a store that passes the
    /// conformance suite implements it.
    async fn update(&self, id: &MeetingId, change: Change<'_>) -> Result<Updated, StoreError> {
        let _ = (id, change);
        Err(unsupported(self, "update"))
    }

    /// The meetings whose `joinWebUrl`, in its [canonical form](crate::join_web_url_key),
    /// is `join_web_url_key`: one index probe, not a scan. Usually one meeting
    /// at most; a store does not require join links to be unique.
    ///
    /// The default answers [`StoreError::Internal`]: a store that passes the
    /// conformance suite implements it.
    async fn find_by_join_web_url(
        &self,
        join_web_url_key: &str,
    ) -> Result<Vec<Arc<OnlineMeeting>>, StoreError> {
        let _ = join_web_url_key;
        Err(unsupported(self, "find_by_join_web_url"))
    }

    /// The meeting whose `joinMeetingIdSettings.joinMeetingId` is
    /// `join_meeting_id` (unique among a store's meetings): one index probe.
    ///
    /// The default answers [`StoreError::Internal`]: a store that passes the
    /// conformance suite implements it.
    async fn find_by_join_meeting_id(
        &self,
        join_meeting_id: &str,
    ) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        let _ = join_meeting_id;
        Err(unsupported(self, "find_by_join_meeting_id"))
    }

    /// Succeeds when the store answers; for health checks.
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Up to `limit` stored meetings in ascending order of id (compared as
    /// UTF-8 bytes), beginning after the id `after` (which need not be
    /// stored); for paging through everything stored. Meetings stored or
    /// deleted while paging may or may not appear.
    ///
    /// The default answers [`StoreError::Internal`]: a store that passes the
    /// conformance suite implements it.
    async fn list(
        &self,
        after: Option<&MeetingId>,
        limit: usize,
    ) -> Result<Vec<Arc<OnlineMeeting>>, StoreError> {
        let _ = (after, limit);
        Err(unsupported(self, "list"))
    }

    /// How many meetings are stored.
    ///
    /// The default answers [`StoreError::Internal`]: a store that passes the
    /// conformance suite implements it.
    async fn count(&self) -> Result<u64, StoreError> {
        Err(unsupported(self, "count"))
    }

    /// Deletes every stored meeting, freeing every key; returns how many were
    /// deleted. Meetings stored while it runs may survive it.
    ///
    /// The default answers [`StoreError::Internal`]: a store that passes the
    /// conformance suite implements it.
    async fn clear(&self) -> Result<u64, StoreError> {
        Err(unsupported(self, "clear"))
    }
}

/// The error of an optional operation a store does not implement.
fn unsupported<S: MeetingStore + ?Sized>(store: &S, operation: &str) -> StoreError {
    let name = format!("{store:?}");
    let name = name.split([' ', '{', '(']).next().unwrap_or("this store");
    StoreError::internal(format!(
        "{name} does not implement MeetingStore::{operation}"
    ))
}

/// A store failure, by what it means to the caller. Each keeps its source;
/// `Display` says only what this layer knows, and loggers walk
/// [`source`](std::error::Error::source) for the rest.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached now (connection lost, server restarting,
    /// database locked past its timeout). Retrying later may succeed.
    #[error("the meeting store is unavailable")]
    Unavailable {
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// A stored meeting cannot be read back.
    #[error("stored meeting {what} is corrupt")]
    Corrupt {
        /// Which meeting: its id, never its key nor stored values (personal
        /// data that would reach the logs).
        what: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// The write contradicts what is stored, for example an `id` already used
    /// under another key.
    #[error("the meeting store refused a conflicting write")]
    Conflict {
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// The store's files or schema are not ones this build can use (not a
    /// database, a newer schema version, an unwritable location). Nothing was modified.
    #[error("the meeting store cannot be used")]
    Incompatible {
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// Any other failure: a bug in the store or its driver.
    #[error("the meeting store failed")]
    Internal {
        /// The cause.
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// [`StoreError::Unavailable`] from any error.
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        StoreError::Unavailable {
            source: source.into(),
        }
    }

    /// [`StoreError::Corrupt`] for the meeting `what`.
    pub fn corrupt(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StoreError::Corrupt {
            what: what.into(),
            source: source.into(),
        }
    }

    /// [`StoreError::Conflict`] from any error.
    pub fn conflict(source: impl Into<BoxError>) -> Self {
        StoreError::Conflict {
            source: source.into(),
        }
    }

    /// [`StoreError::Incompatible`] from any error.
    pub fn incompatible(source: impl Into<BoxError>) -> Self {
        StoreError::Incompatible {
            source: source.into(),
        }
    }

    /// [`StoreError::Internal`] from any error.
    pub fn internal(source: impl Into<BoxError>) -> Self {
        StoreError::Internal {
            source: source.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::test_meeting as sample_meeting;

    #[test]
    fn an_update_may_change_anything_but_what_stores_index_a_meeting_by() {
        let before = sample_meeting("k", 1);
        let mut after = before.clone();
        after.subject = Some("another subject".to_owned());
        check_update_keeps_identity(&before, &after).unwrap();

        let other = sample_meeting("other", 2);
        type Edit = fn(&mut OnlineMeeting, &OnlineMeeting);
        let changes: [(&str, Edit); 5] = [
            ("id", |m, o| m.id = o.id.clone()),
            ("externalId", |m, o| m.external_id = o.external_id.clone()),
            ("participants.organizer", |m, _| {
                m.participants.organizer = None;
            }),
            ("joinMeetingIdSettings.joinMeetingId", |m, _| {
                m.join_meeting_id_settings = Some(crate::options::JoinMeetingIdSettings {
                    join_meeting_id: Some("999999999999".to_owned()),
                    ..Default::default()
                });
            }),
            ("joinWebUrl", |m, o| m.join_web_url = o.join_web_url.clone()),
        ];
        for (member, change) in changes {
            let mut after = before.clone();
            change(&mut after, &other);
            let error = check_update_keeps_identity(&before, &after).unwrap_err();
            assert!(
                matches!(error, StoreError::Internal { .. }),
                "{member}: {error}"
            );
            assert!(
                crate::error_chain(&error).contains(&format!("may not change its {member}")),
                "{member}: {error}"
            );
        }
    }

    /// A store with only the required methods.
    #[derive(Debug)]
    struct Minimal;

    #[async_trait]
    impl MeetingStore for Minimal {
        async fn create_or_get(
            &self,
            _: &MeetingKey,
            _: NewMeeting<'_>,
        ) -> Result<Outcome, StoreError> {
            Err(StoreError::internal("not here"))
        }
        async fn get_by_key(
            &self,
            _: &MeetingKey,
        ) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
            Ok(None)
        }
        async fn get(&self, _: &MeetingId) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
            Ok(None)
        }
        async fn delete(&self, _: &MeetingId) -> Result<bool, StoreError> {
            Ok(false)
        }
    }

    #[tokio::test]
    async fn the_optional_operations_answer_internal_until_a_store_implements_them() {
        let store = Minimal;
        let unsupported = |result: Result<(), StoreError>, operation: &str| match result {
            Err(StoreError::Internal { .. }) => {}
            other => panic!("{operation}: expected Internal, got {other:?}"),
        };
        unsupported(
            store.find_by_join_web_url("x").await.map(drop),
            "find_by_join_web_url",
        );
        unsupported(
            store.find_by_join_meeting_id("1").await.map(drop),
            "find_by_join_meeting_id",
        );
        unsupported(store.list(None, 10).await.map(drop), "list");
        unsupported(store.count().await.map(drop), "count");
        unsupported(store.clear().await.map(drop), "clear");
        store.ping().await.unwrap();
    }
}
