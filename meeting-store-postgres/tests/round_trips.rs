//! How many round trips each operation costs, and what a server that stops
//! answering does, through a relay between the store and the server. This binary starts its own cluster (even when
//! `MEETING_PG_URL` is set), since the relay needs the server's TCP address.

use meeting_core::conformance::{create, key, sample_meeting};
use meeting_core::{MeetingStore, StoreError};
use meeting_store_postgres::{Isolation, PostgresOptions, PostgresStore};
use meeting_tests::postgres::{self, Cluster, ClusterOptions, Relay, Server};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

async fn counted(isolation: Isolation) -> (PostgresStore, Relay, Server) {
    relayed(PostgresOptions {
        pool_size: 1,
        isolation,
        ..PostgresOptions::default()
    })
    .await
}

async fn relayed(options: PostgresOptions) -> (PostgresStore, Relay, Server) {
    let (store, relay, server, _) = relayed_with_direct_url(options).await;
    (store, relay, server)
}

/// Also returns the URL of the store's database straight on the server, past the relay.
async fn relayed_with_direct_url(
    options: PostgresOptions,
) -> (PostgresStore, Relay, Server, String) {
    let server = match Cluster::start(ClusterOptions::for_tests()) {
        Ok(cluster) => Server::Local(cluster),
        Err(why) => postgres::no_postgres(&why),
    };
    let cluster = server.cluster().expect("our own cluster");
    let url = postgres::fresh_database_on(&server).await;
    let database = url.rsplit('/').next().expect("a database name").to_owned();
    let relay = Relay::start(cluster.address()).await;
    let store = PostgresStore::connect_with(
        &format!(
            "postgres://postgres@127.0.0.1:{}/{database}?sslmode=disable",
            relay.port
        ),
        options,
    )
    .await
    .expect("the store connects through the relay");
    (store, relay, server, url)
}

/// A store with one connection, through a relay, and the URL of its database past the relay.
async fn one_connection_relayed() -> (PostgresStore, Relay, Server, String) {
    relayed_with_direct_url(PostgresOptions {
        pool_size: 1,
        ..PostgresOptions::default()
    })
    .await
}

/// Round trips of `calls` runs of `operation`, after one run to prepare its statements.
async fn round_trips_per_call<F: std::future::Future<Output = ()>>(
    relay: &Relay,
    calls: u64,
    mut operation: impl FnMut(u64) -> F,
) -> u64 {
    operation(u64::MAX).await;
    let before = relay.round_trips();
    for n in 0..calls {
        operation(n).await;
    }
    let total = relay.round_trips() - before;
    assert_eq!(total % calls, 0, "{total} round trips over {calls} calls");
    total / calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn a_hit_is_one_round_trip_and_builds_nothing() {
    for isolation in [Isolation::ReadCommitted, Isolation::Serializable] {
        let (store, relay, _server) = counted(isolation).await;
        let k = key("t", "u", "hit");
        store
            .create_or_get(&k, &|| sample_meeting(&k, 1))
            .await
            .unwrap();
        let builds = AtomicUsize::new(0);
        let per_call = round_trips_per_call(&relay, 20, |_| async {
            let outcome = store
                .create_or_get(&k, &|| {
                    builds.fetch_add(1, Ordering::SeqCst);
                    sample_meeting(&k, 2)
                })
                .await
                .unwrap();
            assert!(!outcome.is_created());
        })
        .await;
        assert_eq!(per_call, 1, "{isolation:?}");
        assert_eq!(builds.load(Ordering::SeqCst), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn a_create_is_a_select_then_an_insert() {
    let (store, relay, _server) = counted(Isolation::ReadCommitted).await;
    let per_call = round_trips_per_call(&relay, 20, |n| {
        let store = &store;
        async move {
            let k = key("t", "u", &format!("new-{n}"));
            let outcome = store
                .create_or_get(&k, &|| sample_meeting(&k, n))
                .await
                .unwrap();
            assert!(outcome.is_created());
        }
    })
    .await;
    assert_eq!(per_call, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn lookups_and_deletes_are_one_round_trip_each() {
    let (store, relay, _server) = counted(Isolation::ReadCommitted).await;
    let k = key("t", "u", "looked-up");
    let id = create(&store, &k, 1).await.meeting().id.clone();
    let by_key = round_trips_per_call(&relay, 10, |_| async {
        assert!(store.get_by_key(&k).await.unwrap().is_some());
    })
    .await;
    let by_id = round_trips_per_call(&relay, 10, |_| async {
        assert!(store.get(&id).await.unwrap().is_some());
    })
    .await;
    let deletes = round_trips_per_call(&relay, 10, |_| async {
        store.delete(&"nobody".into()).await.unwrap();
    })
    .await;
    assert_eq!((by_key, by_id, deletes), (1, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn a_server_that_stops_answering_is_unavailable_after_the_call_timeout() {
    let (store, relay, _server) = relayed(PostgresOptions {
        pool_size: 2,
        call_timeout: Duration::from_millis(500),
        ..PostgresOptions::default()
    })
    .await;
    let k = key("t", "u", "silence");
    create(&store, &k, 1).await;

    relay.hold_answers(true);
    let start = Instant::now();
    let error = store.get_by_key(&k).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
    let error = store
        .create_or_get(&k, &|| sample_meeting(&k, 2))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );

    relay.hold_answers(false);
    let again = store
        .create_or_get(&k, &|| sample_meeting(&k, 3))
        .await
        .unwrap();
    assert!(
        !again.is_created(),
        "the stored meeting, once answers flow again"
    );
    assert_eq!(again.meeting().id, sample_meeting(&k, 1).id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn a_delete_whose_answer_is_lost_still_reports_the_meeting_deleted() {
    let (store, relay, _server, direct) = one_connection_relayed().await;
    let k = key("t", "u", "deleted-in-the-dark");
    let id = create(&store, &k, 1).await.meeting().id.clone();

    relay.lose_next_answer_to("DELETE");
    let deleted = store.delete(&id).await.unwrap();
    assert_eq!(
        relay.answers_lost(),
        1,
        "the server ran the DELETE; its answer was lost"
    );
    assert!(
        deleted,
        "the lost attempt deleted the meeting: the retry must not say not-found"
    );

    // Gone, for the store and for a connection past the relay.
    assert_eq!(store.get(&id).await.unwrap(), None);
    let (client, connection) = tokio_postgres::connect(&direct, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows: i64 = client
        .query_one("SELECT count(*) FROM online_meetings", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    // With every answer delivered, deleting it again is an honest not-found.
    assert!(!store.delete(&id).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn a_create_whose_answer_is_lost_still_reports_the_meeting_created() {
    let (store, relay, _server, _) = one_connection_relayed().await;
    let k = key("t", "u", "created-in-the-dark");
    relay.lose_next_answer_to("INSERT");
    let outcome = store
        .create_or_get(&k, &|| sample_meeting(&k, 1))
        .await
        .unwrap();
    assert_eq!(
        relay.answers_lost(),
        1,
        "the server ran the INSERT; its answer was lost"
    );
    assert!(
        outcome.is_created(),
        "the lost attempt stored this call's meeting: the retry must not call it existing"
    );
    assert_eq!(*outcome.meeting(), sample_meeting(&k, 1));
    let again = store
        .create_or_get(&k, &|| sample_meeting(&k, 2))
        .await
        .unwrap();
    assert!(!again.is_created());
    assert_eq!(again.meeting().id, outcome.meeting().id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn an_update_whose_answer_is_lost_is_applied_once_and_reported_stored() {
    let (store, relay, _server, _) = one_connection_relayed().await;
    let k = key("t", "u", "updated-in-the-dark");
    let id = create(&store, &k, 1).await.meeting().id.clone();
    // Not idempotent: applied twice, it would add two marks.
    let add_a_mark = |stored: &meeting_core::OnlineMeeting| {
        let mut changed = stored.clone();
        changed.subject = Some(format!("{}!", stored.subject.as_deref().unwrap_or("")));
        Ok(changed)
    };
    let subject = sample_meeting(&k, 1).subject.unwrap_or_default();

    relay.lose_next_answer_to("UPDATE");
    let updated = store.update(&id, &add_a_mark).await.unwrap();
    assert_eq!(
        relay.answers_lost(),
        1,
        "the server ran the UPDATE; its answer was lost"
    );
    let meeting_core::Updated::Stored(stored) = updated else {
        panic!("expected Stored, got {updated:?}");
    };
    assert_eq!(stored.subject, Some(format!("{subject}!")));
    let read = store.get(&id).await.unwrap().expect("still stored");
    assert_eq!(read.subject, Some(format!("{subject}!")), "applied once");
}
