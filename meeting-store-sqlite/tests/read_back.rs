//! Everything the service accepts reads back from the file, after a reopen,
//! with no parsed meeting kept: nothing of it may be only in memory.

mod support;

use meeting_core::MeetingStore;
use meeting_store_sqlite::{SqliteOptions, SqliteStore};
use std::path::Path;
use std::sync::Arc;
use support::database;

/// A store on `path` that parses every row it reads.
async fn uncached(path: &Path) -> SqliteStore {
    let options = SqliteOptions {
        parsed_cache_bytes: 0,
        ..SqliteOptions::default()
    };
    SqliteStore::open_with(path, options)
        .await
        .expect("the store opens")
}

#[tokio::test]
async fn a_meeting_nested_to_the_accepted_depth_reads_back_after_a_reopen() {
    let (_directory, path) = database();
    meeting_tests::read_back::a_meeting_nested_to_the_limit_reads_back(|| {
        let path = path.clone();
        async move { Arc::new(uncached(&path).await) as Arc<dyn MeetingStore> }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_requests_read_back_after_a_reopen_with_the_cache_off() {
    let (_directory, path) = database();
    meeting_tests::read_back::accepted_requests_read_back(24, || {
        let path = path.clone();
        async move { Arc::new(uncached(&path).await) as Arc<dyn MeetingStore> }
    })
    .await;
}
