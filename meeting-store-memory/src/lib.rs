//! A concurrent in-memory [`MeetingStore`]: for tests, and for services that
//! keep meetings only as long as the process lives.
//!
//! Keys are spread over sharded maps ([`dashmap`]), so callers on different keys
//! rarely contend, and no lock is ever held across an `.await`. Keys are
//! hashed with [`ahash`] under random keys drawn per map: callers choose
//! `externalId`s, so the hash must resist chosen collisions (HashDoS), and
//! SipHash, std's answer, was a tenth of a create's cost.

use async_trait::async_trait;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use meeting_core::{
    check_update_keeps_identity, join_web_url_key, Change, MeetingId, MeetingKey, MeetingStore,
    NewMeeting, OnlineMeeting, Outcome, StoreError, Updated,
};
use std::sync::Arc;

/// A map hashed under random keys (see the crate documentation).
type Map<K, V> = DashMap<K, V, ahash::RandomState>;

/// Meetings in memory, by key, by id, by `joinMeetingId` and by `joinWebUrl`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    by_key: Map<MeetingKey, Arc<OnlineMeeting>>,
    keys_by_id: Map<MeetingId, MeetingKey>,
    /// Each stored meeting's `joinMeetingId`, which no two meetings share
    /// (meetings stored without one have no entry).
    ids_by_join_id: Map<String, MeetingId>,
    /// The meetings of each join link, in its canonical form.
    ids_by_join_url: Map<String, Vec<MeetingId>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many meetings are stored.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether no meeting is stored.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[async_trait]
impl MeetingStore for MemoryStore {
    async fn create_or_get(
        &self,
        key: &MeetingKey,
        new_meeting: NewMeeting<'_>,
    ) -> Result<Outcome, StoreError> {
        if let Some(existing) = self.by_key.get(key) {
            return Ok(Outcome::Existing(Arc::clone(&existing)));
        }
        // Lock order: a key's shard, then an id's, then a join id's. `delete`
        // never holds one shard while taking another, so none can deadlock.
        match self.by_key.entry(key.clone()) {
            Entry::Occupied(existing) => Ok(Outcome::Existing(Arc::clone(existing.get()))),
            Entry::Vacant(slot) => {
                let meeting = Arc::new(new_meeting());
                let dashmap::Entry::Vacant(id_slot) = self.keys_by_id.entry(meeting.id.clone())
                else {
                    return Err(StoreError::conflict(format!(
                        "meeting id {} is already stored under another key",
                        meeting.id
                    )));
                };
                if let Some(join_id) = meeting.join_meeting_id() {
                    match self.ids_by_join_id.entry(join_id.to_owned()) {
                        dashmap::Entry::Occupied(_) => {
                            return Err(StoreError::conflict(format!(
                                "the joinMeetingId of meeting {} is already another meeting's",
                                meeting.id
                            )))
                        }
                        dashmap::Entry::Vacant(join_slot) => {
                            join_slot.insert(meeting.id.clone());
                        }
                    }
                }
                id_slot.insert(key.clone());
                self.ids_by_join_url
                    .entry(join_web_url_key(&meeting.join_web_url).into_owned())
                    .or_default()
                    .push(meeting.id.clone());
                slot.insert(Arc::clone(&meeting));
                Ok(Outcome::Created(meeting))
            }
        }
    }

    async fn get_by_key(&self, key: &MeetingKey) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        Ok(self.by_key.get(key).map(|meeting| Arc::clone(&meeting)))
    }

    async fn get(&self, id: &MeetingId) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        let Some(key) = self.keys_by_id.get(id).map(|key| key.clone()) else {
            return Ok(None);
        };
        Ok(self
            .by_key
            .get(&key)
            .filter(|meeting| meeting.id == *id)
            .map(|meeting| Arc::clone(&meeting)))
    }

    async fn delete(&self, id: &MeetingId) -> Result<bool, StoreError> {
        let Some((_, key)) = self.keys_by_id.remove(id) else {
            return Ok(false);
        };
        let Some((_, meeting)) = self.by_key.remove_if(&key, |_, meeting| meeting.id == *id) else {
            return Ok(false);
        };
        if let Some(join_id) = meeting.join_meeting_id() {
            self.ids_by_join_id
                .remove_if(join_id, |_, owner| owner == id);
        }
        let link = join_web_url_key(&meeting.join_web_url);
        if let Some(mut ids) = self.ids_by_join_url.get_mut(link.as_ref()) {
            ids.retain(|other| other != id);
        }
        self.ids_by_join_url
            .remove_if(link.as_ref(), |_, ids| ids.is_empty());
        Ok(true)
    }

    async fn update(&self, id: &MeetingId, change: Change<'_>) -> Result<Updated, StoreError> {
        let Some(key) = self.keys_by_id.get(id).map(|key| key.clone()) else {
            return Ok(Updated::Missing);
        };
        // The key's entry stays locked from read to write: no other update or
        // delete of this meeting runs in between.
        let Some(mut entry) = self.by_key.get_mut(&key) else {
            return Ok(Updated::Missing);
        };
        if entry.id != *id {
            return Ok(Updated::Missing);
        }
        let changed = match change(&entry) {
            Ok(changed) => changed,
            Err(refusal) => return Ok(Updated::Refused(refusal)),
        };
        check_update_keeps_identity(&entry, &changed)?;
        let changed = Arc::new(changed);
        *entry = Arc::clone(&changed);
        Ok(Updated::Stored(changed))
    }

    async fn find_by_join_web_url(
        &self,
        join_web_url_key: &str,
    ) -> Result<Vec<Arc<OnlineMeeting>>, StoreError> {
        let ids = self
            .ids_by_join_url
            .get(join_web_url_key)
            .map(|ids| ids.clone())
            .unwrap_or_default();
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.get(&id).await?);
        }
        Ok(found)
    }

    async fn find_by_join_meeting_id(
        &self,
        join_meeting_id: &str,
    ) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        let Some(id) = self
            .ids_by_join_id
            .get(join_meeting_id)
            .map(|id| id.clone())
        else {
            return Ok(None);
        };
        self.get(&id).await
    }

    async fn list(
        &self,
        after: Option<&MeetingId>,
        limit: usize,
    ) -> Result<Vec<Arc<OnlineMeeting>>, StoreError> {
        // Sorted on each call: the memory store serves tests and small
        // services, where a page costs less than keeping a second index.
        let mut meetings: Vec<Arc<OnlineMeeting>> = self
            .by_key
            .iter()
            .filter(|entry| after.is_none_or(|after| entry.value().id.as_str() > after.as_str()))
            .map(|entry| Arc::clone(entry.value()))
            .collect();
        meetings.sort_unstable_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        meetings.truncate(limit);
        Ok(meetings)
    }

    async fn count(&self) -> Result<u64, StoreError> {
        Ok(self.by_key.len() as u64)
    }

    async fn clear(&self) -> Result<u64, StoreError> {
        // One delete per id keeps the three maps consistent with creates racing the clear.
        let ids: Vec<MeetingId> = self.keys_by_id.iter().map(|e| e.key().clone()).collect();
        let mut deleted = 0;
        for id in ids {
            if self.delete(&id).await? {
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod conformance {
    meeting_core::store_conformance!(async { std::sync::Arc::new(super::MemoryStore::new()) });
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;
    use meeting_core::conformance::{key, sample_meeting};
    use meeting_core::MeetingStore;

    #[tokio::test]
    async fn len_and_is_empty_follow_creates_and_deletes() {
        let store = MemoryStore::new();
        assert_eq!((store.len(), store.is_empty()), (0, true));
        let mut ids = Vec::new();
        for n in 1..=2 {
            let key = key("tenant", "user", &format!("len-{n}"));
            let meeting = sample_meeting(&key, n);
            ids.push(meeting.id.clone());
            store
                .create_or_get(&key, &|| meeting.clone())
                .await
                .unwrap();
        }
        assert_eq!((store.len(), store.is_empty()), (2, false));
        assert!(store.delete(&ids[0]).await.unwrap());
        assert_eq!((store.len(), store.is_empty()), (1, false));
        assert!(store.delete(&ids[1]).await.unwrap());
        assert_eq!((store.len(), store.is_empty()), (0, true));
    }
}
