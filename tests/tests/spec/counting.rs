//! A [`MeetingStore`] that records every call it gets and delegates it to a
//! memory store: what the service asks a store for, in order. (The trait is
//! `async_trait`'s; this crate does not depend on the macro, so the methods
//! are written as it expands them.)

use meeting_core::{
    Change, MeetingId, MeetingKey, MeetingStore, NewMeeting, OnlineMeeting, Outcome, StoreError,
    Updated,
};
use meeting_store_memory::MemoryStore;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

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

impl MeetingStore for CountingStore {
    fn create_or_get<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        key: &'life1 MeetingKey,
        new_meeting: NewMeeting<'life2>,
    ) -> Boxed<'async_trait, Outcome>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.note("create_or_get");
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
        })
    }

    fn get_by_key<'life0, 'life1, 'async_trait>(
        &'life0 self,
        key: &'life1 MeetingKey,
    ) -> Boxed<'async_trait, Option<Arc<OnlineMeeting>>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.note("get_by_key");
            self.inner.get_by_key(key).await
        })
    }

    fn get<'life0, 'life1, 'async_trait>(
        &'life0 self,
        id: &'life1 MeetingId,
    ) -> Boxed<'async_trait, Option<Arc<OnlineMeeting>>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.note("get");
            self.inner.get(id).await
        })
    }

    fn delete<'life0, 'life1, 'async_trait>(
        &'life0 self,
        id: &'life1 MeetingId,
    ) -> Boxed<'async_trait, bool>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.note("delete");
            self.inner.delete(id).await
        })
    }

    fn update<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        id: &'life1 MeetingId,
        change: Change<'life2>,
    ) -> Boxed<'async_trait, Updated>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.note("update");
            self.inner.update(id, change).await
        })
    }

    fn find_by_join_web_url<'life0, 'life1, 'async_trait>(
        &'life0 self,
        join_web_url_key: &'life1 str,
    ) -> Boxed<'async_trait, Vec<Arc<OnlineMeeting>>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.note("find_by_join_web_url");
            self.inner.find_by_join_web_url(join_web_url_key).await
        })
    }

    fn find_by_join_meeting_id<'life0, 'life1, 'async_trait>(
        &'life0 self,
        join_meeting_id: &'life1 str,
    ) -> Boxed<'async_trait, Option<Arc<OnlineMeeting>>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.note("find_by_join_meeting_id");
            self.inner.find_by_join_meeting_id(join_meeting_id).await
        })
    }

    fn ping<'life0, 'async_trait>(&'life0 self) -> Boxed<'async_trait, ()>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.note("ping");
            self.inner.ping().await
        })
    }

    fn list<'life0, 'life1, 'async_trait>(
        &'life0 self,
        after: Option<&'life1 MeetingId>,
        limit: usize,
    ) -> Boxed<'async_trait, Vec<Arc<OnlineMeeting>>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.note("list");
            self.inner.list(after, limit).await
        })
    }

    fn count<'life0, 'async_trait>(&'life0 self) -> Boxed<'async_trait, u64>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.note("count");
            self.inner.count().await
        })
    }

    fn clear<'life0, 'async_trait>(&'life0 self) -> Boxed<'async_trait, u64>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.note("clear");
            self.inner.clear().await
        })
    }
}
