//! Deterministic clock and ids for tests of meeting rules.
//!
//! ```
//! use meeting_core::testing::{ManualClock, SequentialIds};
//! use meeting_core::{Clock, IdSource, MeetingService};
//! use std::sync::Arc;
//!
//! let clock = Arc::new(ManualClock::at("2026-01-01T09:00:00Z"));
//! clock.advance(chrono::TimeDelta::minutes(5));
//! assert_eq!(clock.now().to_rfc3339(), "2026-01-01T09:05:00+00:00");
//!
//! let ids = SequentialIds::new();
//! assert_eq!(ids.uuid().as_u128(), 1);
//! assert_eq!(ids.uuid().as_u128(), 2);
//! // Give both to a service: `MeetingService::new(store).with_clock(clock).with_ids(Arc::new(ids))`.
//! ```

use crate::generate::{Clock, IdSource};
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use uuid::Uuid;

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing `instant`.
    pub fn new(instant: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(instant))
    }

    /// A clock showing an RFC 3339 instant.
    ///
    /// # Panics
    /// When `rfc3339` is not a valid RFC 3339 date-time: this is a test helper.
    pub fn at(rfc3339: &str) -> Self {
        let instant = DateTime::parse_from_rfc3339(rfc3339)
            .unwrap_or_else(|error| panic!("ManualClock::at({rfc3339:?}): {error}"));
        Self::new(instant.with_timezone(&Utc))
    }

    /// Moves the clock forward by `delta`.
    pub fn advance(&self, delta: TimeDelta) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += delta;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// UUIDs 1, 2, 3, …: every generated value is predictable.
#[derive(Debug, Default)]
pub struct SequentialIds(AtomicU64);

impl SequentialIds {
    /// Starts at 1.
    pub fn new() -> Self {
        Self::default()
    }
}

impl IdSource for SequentialIds {
    fn uuid(&self) -> Uuid {
        Uuid::from_u128(u128::from(self.0.fetch_add(1, Ordering::Relaxed) + 1))
    }
}
