//! Update and the two lookups of the SQLite store against raw rusqlite running
//! the same statements with the same pragmas, in the same run; and a lookup
//! with 1,000 against 1,000,000 meetings stored.
//!
//! `cargo bench -p meeting-store-sqlite --bench operations` (the
//! 1,000,000-meeting file is built once with raw batched inserts and cached
//! under `target/meeting-store-sqlite-bench/`). In each criterion group the
//! function whose id starts with `baseline` is the reference; the paired pass
//! at the end alternates raw and store call by call and prints median ratios.

mod support;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use meeting_core::{join_web_url_key, BoxError, MeetingId, MeetingStore, OnlineMeeting};
use meeting_store_sqlite::sql::{
    SELECT_BY_ID, SELECT_BY_JOIN_MEETING_ID, SELECT_BY_JOIN_WEB_URL, UPDATE_IF_UNCHANGED,
};
use meeting_store_sqlite::{SqliteOptions, SqliteStore};
use meeting_tests::paired::{paired, report};
use rusqlite::Connection;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{database, raw, runtime, stored};

const SMALL: u64 = 1_000;
const LARGE: u64 = 1_000_000;

fn link(n: u64) -> String {
    join_web_url_key(&stored(n).join_web_url).into_owned()
}

/// Meeting numbers in a fixed pseudo-random order over `0..count`.
struct Spread {
    state: u64,
    count: u64,
}

impl Spread {
    fn new(count: u64) -> Self {
        Spread {
            state: 0x9E37_79B9_7F4A_7C15,
            count,
        }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state % self.count
    }
}

static SUBJECTS: AtomicU64 = AtomicU64::new(0);

/// The change every update makes: a new subject.
fn change(stored: &OnlineMeeting) -> Result<OnlineMeeting, BoxError> {
    let mut changed = stored.clone();
    changed.subject = Some(format!(
        "subject {}",
        SUBJECTS.fetch_add(1, Ordering::Relaxed)
    ));
    Ok(changed)
}

/// The raw read of a `(id, meeting)` statement: the text and its parse.
fn raw_read(connection: &Connection, statement: &str, value: &str) -> Vec<(OnlineMeeting, String)> {
    let mut statement = connection.prepare_cached(statement).unwrap();
    let mut rows = statement.query([value]).unwrap();
    let mut found = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        let text: String = row.get(1).unwrap();
        found.push((OnlineMeeting::from_stored_json(&text).unwrap(), text));
    }
    found
}

/// The raw update: the store's statements on one connection (read, change,
/// compare-and-set in an immediate transaction, one fsync at commit).
fn raw_update(connection: &Connection, id: &str) {
    let (current, text) = raw_read(connection, SELECT_BY_ID, id).pop().unwrap();
    let json = serde_json::to_string(&change(&current).unwrap()).unwrap();
    connection.execute_batch("BEGIN IMMEDIATE").unwrap();
    let changed = connection
        .prepare_cached(UPDATE_IF_UNCHANGED)
        .unwrap()
        .execute((id, text.as_str(), json.as_str()))
        .unwrap();
    assert_eq!(changed, 1);
    connection.execute_batch("COMMIT").unwrap();
}

fn raw_find_link(connection: &Connection, link: &str) -> Vec<OnlineMeeting> {
    raw_read(connection, SELECT_BY_JOIN_WEB_URL, link)
        .into_iter()
        .map(|(meeting, _)| meeting)
        .filter(|meeting| join_web_url_key(&meeting.join_web_url) == link)
        .collect()
}

fn raw_find_join_id(connection: &Connection, join_id: &str) -> Option<OnlineMeeting> {
    raw_read(connection, SELECT_BY_JOIN_MEETING_ID, join_id)
        .pop()
        .map(|(meeting, _)| meeting)
}

/// Times `iterations` store calls made by `call` on the runtime.
fn store_iter<F: std::future::Future>(
    runtime: &tokio::runtime::Runtime,
    iterations: u64,
    mut call: impl FnMut() -> F,
) -> Duration {
    runtime.block_on(async {
        let started = Instant::now();
        for _ in 0..iterations {
            black_box(call().await);
        }
        started.elapsed()
    })
}

fn update(c: &mut Criterion) {
    let runtime = runtime();
    let path = database(SMALL);
    let store = runtime.block_on(SqliteStore::open(&path)).unwrap();
    let connection = raw(&path);
    let mut group = c.benchmark_group("sqlite_update");
    group.throughput(Throughput::Elements(1));
    let mut spread = Spread::new(SMALL);
    group.bench_function("baseline_raw_rusqlite", |b| {
        b.iter(|| raw_update(&connection, stored(spread.next()).id.as_str()))
    });
    let mut spread = Spread::new(SMALL);
    group.bench_function("store_update", |b| {
        b.iter_custom(|iterations| {
            let ids: Vec<MeetingId> = (0..iterations).map(|_| stored(spread.next()).id).collect();
            let mut ids = ids.iter();
            store_iter(&runtime, iterations, || {
                store.update(ids.next().unwrap(), &change)
            })
        })
    });
    group.finish();
}

fn find(c: &mut Criterion) {
    let runtime = runtime();
    let path = database(SMALL);
    let store = runtime.block_on(SqliteStore::open(&path)).unwrap();
    let connection = raw(&path);
    let mut group = c.benchmark_group("sqlite_find_by_join_web_url");
    group.throughput(Throughput::Elements(1));
    let mut spread = Spread::new(SMALL);
    group.bench_function("baseline_raw_rusqlite", |b| {
        b.iter(|| black_box(raw_find_link(&connection, &link(spread.next()))))
    });
    let mut spread = Spread::new(SMALL);
    group.bench_function("store_find", |b| {
        b.iter_custom(|iterations| {
            let links: Vec<String> = (0..iterations).map(|_| link(spread.next())).collect();
            let mut links = links.iter();
            store_iter(&runtime, iterations, || {
                store.find_by_join_web_url(links.next().unwrap())
            })
        })
    });
    group.finish();
    let mut group = c.benchmark_group("sqlite_find_by_join_meeting_id");
    group.throughput(Throughput::Elements(1));
    let mut spread = Spread::new(SMALL);
    group.bench_function("baseline_raw_rusqlite", |b| {
        b.iter(|| {
            black_box(raw_find_join_id(
                &connection,
                &format!("{:012}", spread.next()),
            ))
        })
    });
    let mut spread = Spread::new(SMALL);
    group.bench_function("store_find", |b| {
        b.iter_custom(|iterations| {
            let ids: Vec<String> = (0..iterations)
                .map(|_| format!("{:012}", spread.next()))
                .collect();
            let mut ids = ids.iter();
            store_iter(&runtime, iterations, || {
                store.find_by_join_meeting_id(ids.next().unwrap())
            })
        })
    });
    group.finish();
}

fn find_by_size(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("sqlite_find_by_size");
    group.throughput(Throughput::Elements(1));
    for (count, name) in [
        (SMALL, "baseline_store_1k_meetings"),
        (LARGE, "store_1m_meetings"),
    ] {
        let store = runtime
            .block_on(SqliteStore::open(database(count)))
            .unwrap();
        let mut spread = Spread::new(count);
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let links: Vec<String> = (0..iterations).map(|_| link(spread.next())).collect();
                let mut links = links.iter();
                store_iter(&runtime, iterations, || {
                    store.find_by_join_web_url(links.next().unwrap())
                })
            })
        });
    }
    group.finish();
}

/// The comparisons above, interleaved call by call (printed, not in criterion).
fn paired_summary(_: &mut Criterion) {
    let runtime = runtime();
    let path = database(SMALL);
    let store = runtime.block_on(SqliteStore::open(&path)).unwrap();
    let connection = raw(&path);
    // One store lookup by the `n`th meeting's join link.
    let find_link = |store: &SqliteStore, n: u64| {
        let link = link(n);
        runtime.block_on(async { black_box(store.find_by_join_web_url(&link).await.unwrap()) });
    };
    let (mut a, mut b) = (Spread::new(SMALL), Spread::new(SMALL));
    report(
        "update (raw read + compare-and-set vs store update)",
        paired(
            300,
            || raw_update(&connection, stored(a.next()).id.as_str()),
            || {
                let id = stored(b.next()).id;
                runtime.block_on(async { black_box(store.update(&id, &change).await.unwrap()) });
            },
        ),
    );
    let (mut a, mut b) = (Spread::new(SMALL), Spread::new(SMALL));
    report(
        "find by join link (raw read + JSON vs store)",
        paired(
            2000,
            || drop(black_box(raw_find_link(&connection, &link(a.next())))),
            || find_link(&store, b.next()),
        ),
    );
    let (mut a, mut b) = (Spread::new(SMALL), Spread::new(SMALL));
    report(
        "find by join id (raw read + JSON vs store)",
        paired(
            2000,
            || {
                let join_id = format!("{:012}", a.next());
                drop(black_box(raw_find_join_id(&connection, &join_id)))
            },
            || {
                let join_id = format!("{:012}", b.next());
                runtime.block_on(async {
                    black_box(store.find_by_join_meeting_id(&join_id).await.unwrap())
                });
            },
        ),
    );
    // The 1M file's pages the rows below visit, read once through the raw
    // connection: into the operating system's cache (a first pass reads them
    // from disk, 20x slower), not into the store's parsed-meeting cache.
    let large_raw = raw(&database(LARGE));
    let (mut scattered, mut hot) = (Spread::new(LARGE), Spread::new(SMALL));
    for _ in 0..2000 {
        drop(black_box(raw_find_link(
            &large_raw,
            &link(scattered.next()),
        )));
        drop(black_box(raw_find_link(
            &large_raw,
            &link(hot.next() * (LARGE / SMALL)),
        )));
    }
    let large = runtime
        .block_on(SqliteStore::open(database(LARGE)))
        .unwrap();
    let (mut a, mut b) = (Spread::new(SMALL), Spread::new(LARGE));
    report(
        "find by join link, store: 1k vs 1M meetings",
        paired(
            2000,
            || find_link(&store, a.next()),
            || find_link(&large, b.next()),
        ),
    );
    // Like for like with the cache: 1,000 hot meetings spread over the 1M
    // table, so both sides find every meeting parsed and differ only in the
    // index probe (one more B-tree level, pages further apart).
    let (mut a, mut b) = (Spread::new(SMALL), Spread::new(SMALL));
    report(
        "find by join link, store: 1k vs 1k hot meetings among 1M",
        paired(
            2000,
            || find_link(&store, a.next()),
            || find_link(&large, b.next() * (LARGE / SMALL)),
        ),
    );
    // Like for like: at 1k every found meeting is in the parsed-meeting cache,
    // at 1M (scattered over a 32 MiB cache) nearly none is; without the cache
    // both parse every row.
    let uncached = || SqliteOptions {
        parsed_cache_bytes: 0,
        ..SqliteOptions::default()
    };
    let small = runtime
        .block_on(SqliteStore::open_with(&path, uncached()))
        .unwrap();
    let large = runtime
        .block_on(SqliteStore::open_with(database(LARGE), uncached()))
        .unwrap();
    let (mut a, mut b) = (Spread::new(SMALL), Spread::new(LARGE));
    report(
        "find by join link, store without the parsed cache: 1k vs 1M meetings",
        paired(
            2000,
            || find_link(&small, a.next()),
            || find_link(&large, b.next()),
        ),
    );
    let (mut a, mut b) = (Spread::new(SMALL), Spread::new(LARGE));
    report(
        "find by join link, raw rusqlite: 1k vs 1M meetings",
        paired(
            2000,
            || drop(black_box(raw_find_link(&connection, &link(a.next())))),
            || drop(black_box(raw_find_link(&large_raw, &link(b.next())))),
        ),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = update, find, find_by_size, paired_summary
}
criterion_main!(benches);
