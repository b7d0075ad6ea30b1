//! What an operator (or a test) may do to the whole store, outside any
//! caller's permissions: list, read, count and delete every meeting.

use crate::error::Error;
use crate::ids::MeetingId;
use crate::model::OnlineMeeting;
use crate::service::MeetingService;
use std::sync::Arc;

/// The most meetings one [`Admin::list`] returns.
pub const ADMIN_PAGE_MAX: usize = 1000;

/// The store behind a [`MeetingService`], seen by its operator: no caller,
/// no permission table. Made by [`MeetingService::admin`]; an HTTP front
/// exposes it only behind its own credential.
///
/// `meeting-testgraph`'s `TestGraph` and `meeting-http`'s admin API are built on it.
#[derive(Clone, Copy, Debug)]
pub struct Admin<'a> {
    service: &'a MeetingService,
}

impl MeetingService {
    /// The operator's view of this service's store.
    pub fn admin(&self) -> Admin<'_> {
        Admin { service: self }
    }
}

impl Admin<'_> {
    /// Up to `limit` (at most [`ADMIN_PAGE_MAX`]) meetings in ascending order
    /// of id, after the id `after`.
    pub async fn list(
        &self,
        after: Option<&MeetingId>,
        limit: usize,
    ) -> Result<Vec<Arc<OnlineMeeting>>, Error> {
        let limit = limit.min(ADMIN_PAGE_MAX);
        if limit == 0 {
            return Ok(Vec::new());
        }
        Ok(self.service.store.list(after, limit).await?)
    }

    /// The meeting with this id, whoever organizes it.
    pub async fn get(&self, id: &MeetingId) -> Result<Option<Arc<OnlineMeeting>>, Error> {
        Ok(self.service.store.get(id).await?)
    }

    /// How many meetings are stored.
    pub async fn count(&self) -> Result<u64, Error> {
        Ok(self.service.store.count().await?)
    }

    /// Deletes the meeting with this id, whoever organizes it; whether one was deleted.
    pub async fn delete(&self, id: &MeetingId) -> Result<bool, Error> {
        Ok(self.service.store.delete(id).await?)
    }

    /// Deletes every meeting; how many were deleted.
    pub async fn clear(&self) -> Result<u64, Error> {
        Ok(self.service.store.clear().await?)
    }
}
