//! Update and the two lookups of the PostgreSQL store against raw
//! tokio-postgres running the same statements on the same server, one caller,
//! alternating call by call (the median of each side; criterion would compare
//! different seconds of a shared machine).
//!
//! The server: `MEETING_PG_URL`, or a throwaway cluster with fsync on, made by
//! `meeting_tests::postgres`.
//!
//! ```text
//! cargo bench -p meeting-store-postgres --bench operations
//! ```

use meeting_core::conformance::{key, sample_meeting_with_join_id};
use meeting_core::{join_web_url_key, BoxError, MeetingStore, OnlineMeeting};
use meeting_store_postgres::{
    PostgresOptions, PostgresStore, SELECT_BY_JOIN_MEETING_ID, SELECT_BY_JOIN_WEB_URL,
    UPDATE_IF_UNCHANGED,
};
use meeting_tests::paired::median;
use meeting_tests::postgres::{self, Cluster, ClusterOptions, Server};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio_postgres::{Client, Statement};

const MEETINGS: u64 = 1_000;
const SELECT_BY_ID: &str = "SELECT id, meeting FROM online_meetings WHERE id = $1";

fn stored(n: u64) -> OnlineMeeting {
    let key = key("tenant", "user", &format!("stored-{n}"));
    sample_meeting_with_join_id(&key, n, Some(&format!("{n:012}")))
}

static SUBJECTS: AtomicU64 = AtomicU64::new(0);

fn change(stored: &OnlineMeeting) -> Result<OnlineMeeting, BoxError> {
    let mut changed = stored.clone();
    changed.subject = Some(format!(
        "subject {}",
        SUBJECTS.fetch_add(1, Ordering::Relaxed)
    ));
    Ok(changed)
}

struct Raw {
    client: Client,
    by_id: Statement,
    update: Statement,
    by_link: Statement,
    by_join_id: Statement,
}

impl Raw {
    /// `(meeting, text)` of each row `statement` finds for `value`.
    async fn read(&self, statement: &Statement, value: &str) -> Vec<(OnlineMeeting, String)> {
        let rows = self.client.query(statement, &[&value]).await.unwrap();
        rows.iter()
            .map(|row| {
                let text: String = row.get(1);
                (OnlineMeeting::from_stored_json(&text).unwrap(), text)
            })
            .collect()
    }

    /// The store's statements: read, change, compare-and-set (autocommit).
    async fn update(&self, id: &str) {
        let (current, text) = self.read(&self.by_id, id).await.pop().unwrap();
        let json = serde_json::to_string(&change(&current).unwrap()).unwrap();
        let changed = self
            .client
            .execute(&self.update, &[&id, &text, &json])
            .await
            .unwrap();
        assert_eq!(changed, 1);
    }

    async fn find_link(&self, link: &str) -> Vec<OnlineMeeting> {
        self.read(&self.by_link, link)
            .await
            .into_iter()
            .map(|(meeting, _)| meeting)
            .filter(|meeting| join_web_url_key(&meeting.join_web_url) == link)
            .collect()
    }

    async fn find_join_id(&self, join_id: &str) -> Option<OnlineMeeting> {
        self.read(&self.by_join_id, join_id)
            .await
            .pop()
            .map(|(meeting, _)| meeting)
    }
}

struct Spread(u64);

impl Spread {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % MEETINGS
    }
}

async fn paired<A, B, FA, FB>(name: &str, rounds: usize, mut a: A, mut b: B)
where
    A: FnMut(u64) -> FA,
    B: FnMut(u64) -> FB,
    FA: std::future::Future,
    FB: std::future::Future,
{
    let (mut first, mut second) = (Vec::new(), Vec::new());
    let (mut spread_a, mut spread_b) =
        (Spread(0x9E37_79B9_7F4A_7C15), Spread(0x9E37_79B9_7F4A_7C15));
    for _ in 0..rounds {
        let started = Instant::now();
        black_box(a(spread_a.next()).await);
        first.push(started.elapsed());
        let started = Instant::now();
        black_box(b(spread_b.next()).await);
        second.push(started.elapsed());
    }
    let (baseline, store) = (median(first), median(second));
    eprintln!(
        "paired {name}: baseline {baseline:.1?}, store {store:.1?}, ratio {:.2}x",
        store.as_secs_f64() / baseline.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter or `--list` from a harness run
    // of the whole workspace needs no server.
    if std::env::args().any(|arg| arg == "--list" || arg == "--test") {
        return;
    }
    let server = match std::env::var("MEETING_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Server::External(url),
        _ => match Cluster::start(ClusterOptions {
            fsync: true,
            ..ClusterOptions::for_tests()
        }) {
            Ok(cluster) => Server::Local(cluster),
            Err(why) => postgres::no_postgres(&why),
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url = postgres::fresh_database_on(&server).await;
        let options = PostgresOptions {
            pool_size: 4,
            ..PostgresOptions::default()
        };
        let store = PostgresStore::connect_with(&url, options).await.unwrap();
        for n in 0..MEETINGS {
            let meeting = stored(n);
            let key = key("tenant", "user", &format!("stored-{n}"));
            store
                .create_or_get(&key, &|| meeting.clone())
                .await
                .unwrap();
        }
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let raw = Raw {
            by_id: client.prepare(SELECT_BY_ID).await.unwrap(),
            update: client.prepare(UPDATE_IF_UNCHANGED).await.unwrap(),
            by_link: client.prepare(SELECT_BY_JOIN_WEB_URL).await.unwrap(),
            by_join_id: client.prepare(SELECT_BY_JOIN_MEETING_ID).await.unwrap(),
            client,
        };
        let link = |n: u64| join_web_url_key(&stored(n).join_web_url).into_owned();
        let (raw, store) = (&raw, &store);
        paired(
            "update (raw read + compare-and-set vs store update)",
            1000,
            |n| async move { raw.update(stored(n).id.as_str()).await },
            |n| async move { store.update(&stored(n).id, &change).await.unwrap() },
        )
        .await;
        paired(
            "find by join link (raw read + JSON vs store)",
            3000,
            |n| async move { raw.find_link(&link(n)).await },
            |n| async move { store.find_by_join_web_url(&link(n)).await.unwrap() },
        )
        .await;
        paired(
            "find by join id (raw read + JSON vs store)",
            3000,
            |n| async move { raw.find_join_id(&format!("{n:012}")).await },
            |n| async move {
                store
                    .find_by_join_meeting_id(&format!("{n:012}"))
                    .await
                    .unwrap()
            },
        )
        .await;
    });
}
