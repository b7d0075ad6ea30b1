//! A [`MeetingStore`] that records every call it gets and delegates it to a
//! memory store: what the service asks a store for, in order.

use async_trait::async_trait;
use meeting_core::{
    Change, MeetingId, MeetingKey, MeetingStore, NewMeeting, OnlineMeeting, Outcome, StoreError,
    Updated,
};
use meeting_store_memory::MemoryStore;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records the name of every method called, and how many `create_or_get`
/// calls were running at once at most.
#[derive(Debug, Default)]
pub struct CountingStore {
    pub inner: MemoryStore,
    calls: Mutex<Vec<&'static str>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    /// How long building a new meeting takes (while the store is inserting):
    /// widens the window in which racing callers could both see no meeting.
    build_delay: Option<Duration>,
    /// How many `create_or_get` calls still build their meeting and then
    /// answer a conflict (as a store whose ids collide does).
    conflicts_left: AtomicUsize,
    /// Whether `ping` fails.
    ping_fails: bool,
}

impl CountingStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose new meetings take `delay` to build.
    pub fn with_build_delay(delay: Duration) -> Self {
        CountingStore {
            build_delay: Some(delay),
            ..Self::default()
        }
    }

    /// A store whose first `conflicts` creates each build their meeting and
    /// then refuse it as a conflict.
    pub fn with_conflicts(conflicts: usize) -> Self {
        CountingStore {
            conflicts_left: AtomicUsize::new(conflicts),
            ..Self::default()
        }
    }

    /// A store whose `ping` fails, as an unreachable database's does.
    pub fn with_failing_ping() -> Self {
        CountingStore {
            ping_fails: true,
            ..Self::default()
        }
    }

    /// The methods called since the last `take_calls`, in order.
    pub fn take_calls(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    /// The most `create_or_get` calls that were running at the same time.
    pub fn most_in_flight(&self) -> usize {
        self.most_in_flight.load(Ordering::SeqCst)
    }

    fn note(&self, method: &'static str) {
        self.calls.lock().unwrap().push(method);
    }
}

#[async_trait]
impl MeetingStore for CountingStore {
    async fn create_or_get(
        &self,
        key: &MeetingKey,
        new_meeting: NewMeeting<'_>,
    ) -> Result<Outcome, StoreError> {
        self.note("create_or_get");
        let conflicting = self
            .conflicts_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if conflicting {
            let _ = new_meeting();
            return Err(StoreError::conflict("the new meeting's id is taken"));
        }
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        // Let every other task that is ready reach this point too.
        tokio::task::yield_now().await;
        let delay = self.build_delay;
        let slow = move || {
            if let Some(delay) = delay {
                std::thread::sleep(delay);
            }
            new_meeting()
        };
        let outcome = self.inner.create_or_get(key, &slow).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    async fn get_by_key(&self, key: &MeetingKey) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        self.note("get_by_key");
        self.inner.get_by_key(key).await
    }

    async fn get(&self, id: &MeetingId) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        self.note("get");
        self.inner.get(id).await
    }

    async fn delete(&self, id: &MeetingId) -> Result<bool, StoreError> {
        self.note("delete");
        self.inner.delete(id).await
    }

    async fn update(&self, id: &MeetingId, change: Change<'_>) -> Result<Updated, StoreError> {
        self.note("update");
        self.inner.update(id, change).await
    }

    async fn find_by_join_web_url(
        &self,
        join_web_url_key: &str,
    ) -> Result<Vec<Arc<OnlineMeeting>>, StoreError> {
        self.note("find_by_join_web_url");
        self.inner.find_by_join_web_url(join_web_url_key).await
    }

    async fn find_by_join_meeting_id(
        &self,
        join_meeting_id: &str,
    ) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        self.note("find_by_join_meeting_id");
        self.inner.find_by_join_meeting_id(join_meeting_id).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.note("ping");
        if self.ping_fails {
            return Err(StoreError::unavailable("the database does not answer"));
        }
        self.inner.ping().await
    }

    async fn list(
        &self,
        after: Option<&MeetingId>,
        limit: usize,
    ) -> Result<Vec<Arc<OnlineMeeting>>, StoreError> {
        self.note("list");
        self.inner.list(after, limit).await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.note("count");
        self.inner.count().await
    }

    async fn clear(&self) -> Result<u64, StoreError> {
        self.note("clear");
        self.inner.clear().await
    }
}
