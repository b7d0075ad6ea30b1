//! A PostgreSQL restart in the middle of a stream of creates. This binary
//! starts its own cluster (even when `MEETING_PG_URL` is set), since it stops it.

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::{MeetingId, MeetingKey, MeetingStore, Outcome, StoreError};
use meeting_store_postgres::{Isolation, PostgresOptions, PostgresStore};
use meeting_tests::postgres::{self, Cluster, ClusterOptions, Server};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WRITERS: usize = 4;

#[derive(Default)]
struct Log {
    /// Keys whose create was acknowledged, with the id the caller was given.
    acknowledged: Mutex<Vec<(MeetingKey, MeetingId)>>,
    unavailable: AtomicUsize,
    wrong: Mutex<Vec<String>>,
}

impl Log {
    fn acknowledged(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    fn wrong(&self, what: String) {
        self.wrong.lock().unwrap().push(what);
    }

    fn outcome(
        &self,
        key: &MeetingKey,
        expected: &MeetingId,
        fresh: bool,
        result: Result<Outcome, StoreError>,
    ) {
        match result {
            Ok(outcome) if outcome.meeting().id != *expected => self.wrong(format!(
                "{key:?}: got id {}, expected {expected}",
                outcome.meeting().id
            )),
            Ok(outcome) if outcome.is_created() != fresh => self.wrong(format!(
                "{key:?}: created = {}, expected {fresh}",
                outcome.is_created()
            )),
            Ok(_) if fresh => self
                .acknowledged
                .lock()
                .unwrap()
                .push((key.clone(), expected.clone())),
            Ok(_) => {}
            Err(StoreError::Unavailable { .. }) => {
                self.unavailable.fetch_add(1, Ordering::SeqCst);
            }
            Err(other) => self.wrong(format!("{key:?}: not unavailable but {other:?}")),
        }
    }
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn a_restart_mid_stream_is_unavailable_then_every_acknowledged_meeting_is_there() {
    restart_mid_stream(Isolation::ReadCommitted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn a_restart_mid_stream_under_serializable_loses_nothing_either() {
    restart_mid_stream(Isolation::Serializable).await;
}

async fn restart_mid_stream(isolation: Isolation) {
    let server = match Cluster::start(ClusterOptions::for_tests()) {
        Ok(cluster) => Server::Local(cluster),
        Err(why) => postgres::no_postgres(&why),
    };
    let url = postgres::fresh_database_on(&server).await;
    let store = Arc::new(
        PostgresStore::connect_with(
            &url,
            PostgresOptions {
                pool_size: 4,
                isolation,
                connect_timeout: Duration::from_secs(2),
                wait_timeout: Duration::from_secs(2),
                ..PostgresOptions::default()
            },
        )
        .await
        .unwrap(),
    );
    let log = Arc::new(Log::default());
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let (store, log, stop, next) = (
            Arc::clone(&store),
            Arc::clone(&log),
            Arc::clone(&stop),
            Arc::clone(&next),
        );
        writers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let n = next.fetch_add(1, Ordering::SeqCst);
                // Every fourth call asks again for an acknowledged key: a hit, never a new meeting.
                let again = (n % 4 == 3)
                    .then(|| {
                        log.acknowledged
                            .lock()
                            .unwrap()
                            .get(n as usize / 2)
                            .cloned()
                    })
                    .flatten();
                let (key, expected, fresh) = match again {
                    Some((key, id)) => (key, id, false),
                    None => {
                        let key = key("tenant", "user", &format!("stream-{n}"));
                        let id = sample_meeting(&key, n).id;
                        (key, id, true)
                    }
                };
                let result = store.create_or_get(&key, &|| sample_meeting(&key, n)).await;
                let failed = result.is_err();
                log.outcome(&key, &expected, fresh, result);
                if failed {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }));
    }

    wait_for(
        "creates before the restart",
        Duration::from_secs(30),
        || log.acknowledged() >= 200,
    )
    .await;
    store
        .ping()
        .await
        .expect("ping answers while the server runs");
    let cluster = server.cluster().expect("a cluster of our own");
    cluster.stop_server("fast").expect("the server stops");
    wait_for("callers to see the outage", Duration::from_secs(30), || {
        log.unavailable.load(Ordering::SeqCst) >= 20
    })
    .await;
    let ping = store.ping().await.unwrap_err();
    assert!(matches!(ping, StoreError::Unavailable { .. }), "{ping}");
    let before_start = log.acknowledged();
    cluster.start_server().expect("the server starts again");
    wait_for("creates after the restart", Duration::from_secs(60), || {
        log.acknowledged() >= before_start + 200
    })
    .await;
    store
        .ping()
        .await
        .expect("ping answers again after the restart");
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }

    let wrong = log.wrong.lock().unwrap().clone();
    assert!(wrong.is_empty(), "wrong answers: {wrong:#?}");
    let acknowledged = log.acknowledged.lock().unwrap().clone();
    for (key, id) in &acknowledged {
        let stored = store
            .get_by_key(key)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged {key:?} is lost"));
        assert_eq!(&stored.id, id);
    }
    let late = key("tenant", "user", "after-the-restart");
    let outcome = store
        .create_or_get(&late, &|| sample_meeting(&late, u64::MAX))
        .await
        .expect("the same store serves again");
    assert!(outcome.is_created());
}
