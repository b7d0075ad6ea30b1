//! createOrGet hits on the SQLite store, many times, for a profiler that
//! counts instructions (callgrind):
//!
//! ```text
//! cargo build --release -p meeting-store-sqlite --example profile_hit
//! valgrind --tool=callgrind target/release/examples/profile_hit 4000
//! ```
//!
//! Run with two counts: the difference over the difference of counts is one
//! hit, without the set-up (1,000 meetings stored first).

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::MeetingStore;
use meeting_store_sqlite::SqliteStore;
use std::hint::black_box;

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|count| count.parse().ok())
        .expect("usage: profile_hit COUNT");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let directory = tempfile::tempdir().expect("a temporary directory");
    runtime.block_on(async {
        let store = SqliteStore::open(directory.path().join("meetings.db"))
            .await
            .expect("a new store");
        let keys: Vec<_> = (0..1_000)
            .map(|n| key("tenant", "user", &format!("meeting-{n}")))
            .collect();
        for (n, key) in keys.iter().enumerate() {
            store
                .create_or_get(key, &|| sample_meeting(key, n as u64))
                .await
                .expect("created");
        }
        for n in 0..count {
            let key = &keys[n.wrapping_mul(7919) % keys.len()];
            let hit = store
                .create_or_get(key, &|| unreachable!("a hit"))
                .await
                .expect("a hit");
            black_box(hit);
        }
    });
}
