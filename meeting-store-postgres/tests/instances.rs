//! Several service instances, each with its own pool, on one database: the
//! deployment this store exists for.

use meeting_tests::postgres;

use meeting_core::Target;
use meeting_core::{Caller, CreateOrGetRequest, ExternalId, MeetingService, Profile};
use meeting_store_postgres::{Isolation, PostgresOptions, PostgresStore};
use std::collections::HashMap;
use std::sync::Arc;

const INSTANCES: usize = 3;
const KEYS: usize = 24;
const CALLERS_PER_KEY: usize = 64;

/// 64 callers per key over many keys, spread over instances: one meeting per
/// key, one creator per key, and every caller holds that meeting's id.
async fn instances_share_one_meeting_per_key(isolation: Isolation) {
    let url = postgres::fresh_database().await;
    let mut services = Vec::new();
    for _ in 0..INSTANCES {
        let store = PostgresStore::connect_with(
            &url,
            PostgresOptions {
                pool_size: 8,
                isolation,
                ..PostgresOptions::default()
            },
        )
        .await
        .expect("an instance connects");
        services.push(MeetingService::new(Arc::new(store)));
    }
    let caller = Caller::delegated(
        "tenant".parse().unwrap(),
        "organizer".parse().unwrap(),
        ["OnlineMeetings.ReadWrite"],
    );
    let barrier = Arc::new(tokio::sync::Barrier::new(KEYS * CALLERS_PER_KEY));
    let mut tasks = Vec::new();
    // Key by key, so that the pools' connections race on one key at a time.
    for k in 0..KEYS {
        for n in 0..CALLERS_PER_KEY {
            let service = services[(n + k) % INSTANCES].clone();
            let (caller, barrier) = (caller.clone(), Arc::clone(&barrier));
            tasks.push(tokio::spawn(async move {
                let request = CreateOrGetRequest::new(ExternalId::new(format!("key-{k}")).unwrap());
                barrier.wait().await;
                let outcome = service
                    .create_or_get(&caller, Target::Me, Profile::Beta, &request)
                    .await
                    .expect("no caller fails for losing the race");
                (k, outcome.is_created(), outcome.meeting().id.clone())
            }));
        }
    }
    let mut by_key: HashMap<usize, Vec<(bool, meeting_core::MeetingId)>> = HashMap::new();
    for task in tasks {
        let (k, created, id) = task.await.unwrap();
        by_key.entry(k).or_default().push((created, id));
    }
    assert_eq!(by_key.len(), KEYS);
    for (k, outcomes) in &by_key {
        assert_eq!(outcomes.len(), CALLERS_PER_KEY);
        let creators = outcomes.iter().filter(|(created, _)| *created).count();
        assert_eq!(creators, 1, "exactly one caller creates key-{k}");
        let first = &outcomes[0].1;
        assert!(
            outcomes.iter().all(|(_, id)| id == first),
            "every caller of key-{k} sees one id"
        );
        // Each instance finds that very meeting.
        for service in &services {
            let stored = service
                .get(&caller, Profile::Beta, Target::Me, first)
                .await
                .unwrap();
            assert_eq!(&stored.id, first);
        }
    }
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows: i64 = client
        .query_one("SELECT count(*) FROM online_meetings", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, KEYS as i64, "one row per key, no more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn instances_with_separate_pools_share_one_meeting_per_key_under_read_committed() {
    instances_share_one_meeting_per_key(Isolation::ReadCommitted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn instances_with_separate_pools_share_one_meeting_per_key_under_serializable() {
    instances_share_one_meeting_per_key(Isolation::Serializable).await;
}

const UPDATE_TASKS: usize = 12;
const UPDATE_ROUNDS: u64 = 8;

/// 12 tasks spread over 3 instances (separate pools) update one meeting at
/// once, each 8 times and each its own member (a counter in `meetingInfo`):
/// every one of the 96 read-modify-writes takes effect, so no update was
/// lost between instances.
async fn instances_updating_one_meeting_lose_no_update(isolation: Isolation) {
    use meeting_core::conformance::{key, sample_meeting};
    use meeting_core::{MeetingStore, OnlineMeeting, Updated};
    let url = postgres::fresh_database().await;
    let mut stores = Vec::new();
    for _ in 0..INSTANCES {
        let options = PostgresOptions {
            pool_size: 4,
            isolation,
            ..PostgresOptions::default()
        };
        stores.push(Arc::new(
            PostgresStore::connect_with(&url, options).await.unwrap(),
        ));
    }
    let key = key("tenant", "user", "updated-by-all");
    let id = stores[0]
        .create_or_get(&key, &|| sample_meeting(&key, 1))
        .await
        .unwrap()
        .meeting()
        .id
        .clone();
    let barrier = Arc::new(tokio::sync::Barrier::new(UPDATE_TASKS));
    let tasks: Vec<_> = (0..UPDATE_TASKS)
        .map(|task| {
            let (store, barrier, id) = (
                Arc::clone(&stores[task % INSTANCES]),
                Arc::clone(&barrier),
                id.clone(),
            );
            tokio::spawn(async move {
                let member = format!("counter{task}");
                barrier.wait().await;
                for _ in 0..UPDATE_ROUNDS {
                    let change = |stored: &OnlineMeeting| {
                        let mut changed = stored.clone();
                        let info = changed.meeting_info.get_or_insert_with(Default::default);
                        let count = info.get(&member).and_then(|v| v.as_u64()).unwrap_or(0);
                        info.insert(member.clone(), serde_json::json!(count + 1));
                        Ok(changed)
                    };
                    let updated = store.update(&id, &change).await.expect("updates");
                    assert!(matches!(updated, Updated::Stored(_)), "{updated:?}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for store in &stores {
        let meeting = store.get(&id).await.unwrap().expect("stored");
        let info = meeting.meeting_info.as_ref().expect("meetingInfo");
        for task in 0..UPDATE_TASKS {
            assert_eq!(
                info.get(&format!("counter{task}")).and_then(|v| v.as_u64()),
                Some(UPDATE_ROUNDS),
                "every update of counter{task} took effect: {info:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn instances_updating_one_meeting_lose_no_update_under_read_committed() {
    instances_updating_one_meeting_lose_no_update(Isolation::ReadCommitted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn instances_updating_one_meeting_lose_no_update_under_serializable() {
    instances_updating_one_meeting_lose_no_update(Isolation::Serializable).await;
}

/// Each lookup's statement is served by its index: with sequential scans
/// priced out (a test table is too small for the planner to prefer an index
/// by itself), the plan is an index scan of the lookup's own index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn each_lookup_is_one_probe_of_its_index() {
    let url = postgres::fresh_database().await;
    drop(PostgresStore::connect(&url).await.unwrap());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        .await
        .unwrap();
    for (statement, index) in [
        (
            meeting_store_postgres::SELECT_BY_JOIN_WEB_URL,
            "online_meetings_join_web_url",
        ),
        (
            meeting_store_postgres::SELECT_BY_JOIN_MEETING_ID,
            "online_meetings_join_meeting_id",
        ),
    ] {
        let explain = format!("EXPLAIN {}", statement.replace("$1", "'x'"));
        let plan: Vec<String> = client
            .query(&explain, &[])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert!(
            plan[0].contains(&format!("Index Scan using {index} on online_meetings")),
            "{statement}: {plan:?}"
        );
    }
}
