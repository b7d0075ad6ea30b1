//! The SQLite store against raw rusqlite doing the same statements with the
//! same pragmas, in the same run.
//!
//! `cargo bench -p meeting-store-sqlite --bench sqlite` (about 2 minutes; the
//! 1,000,000-meeting database is built once with raw batched inserts and cached
//! under `target/meeting-store-sqlite-bench/`). In every group the function whose
//! id starts with `baseline` is the reference the team's report divides by.

mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use meeting_core::conformance::{key, sample_meeting};
use meeting_core::{join_web_url_key, MeetingKey, MeetingStore, OnlineMeeting};
use meeting_store_sqlite::sql::{INSERT, SELECT_BY_KEY};
use meeting_store_sqlite::{SqliteOptions, SqliteStore};
use meeting_tests::paired::{paired, report};
use rusqlite::Connection;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{database, raw, runtime, stored_key};

const LARGE: u64 = 1_000_000;
const SMALL: u64 = 1_000;
/// Creates per iteration of the throughput group, shared among the callers.
const CREATES: u64 = 64;

/// Picks stored keys in a fixed pseudo-random order, so that the reads spread over the file.
struct Keys {
    keys: Vec<MeetingKey>,
    next: usize,
}

impl Keys {
    fn spread(count: u64) -> Self {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let keys = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                stored_key(state % count)
            })
            .collect();
        Keys { keys, next: 0 }
    }

    fn next(&mut self) -> &MeetingKey {
        self.next = (self.next + 1) % self.keys.len();
        &self.keys[self.next]
    }
}

/// The raw hit: the store's statement on a prepared, cached statement, and the JSON parsed.
fn raw_hit(connection: &Connection, key: &MeetingKey) -> OnlineMeeting {
    let mut statement = connection.prepare_cached(SELECT_BY_KEY).unwrap();
    statement
        .query_row(
            (
                key.tenant.as_str(),
                key.user.as_str(),
                key.external_id.as_str(),
            ),
            |row| {
                let text = row.get_ref(1)?.as_str()?;
                Ok(OnlineMeeting::from_stored_json(text).expect("a stored meeting"))
            },
        )
        .unwrap()
}

fn store_hit(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    runtime: &tokio::runtime::Runtime,
    store: &Arc<SqliteStore>,
    count: u64,
) {
    let mut keys = Keys::spread(count);
    group.bench_function(name, |b| {
        b.iter_custom(|iterations| {
            let keys: Vec<MeetingKey> = (0..iterations).map(|_| keys.next().clone()).collect();
            runtime.block_on(async {
                let started = Instant::now();
                for key in &keys {
                    let outcome = store
                        .create_or_get(key, &|| unreachable!("a hit builds nothing"))
                        .await
                        .unwrap();
                    black_box(outcome);
                }
                started.elapsed()
            })
        })
    });
}

/// Hit latency: createOrGet of a stored key against the raw indexed read.
fn hit(c: &mut Criterion) {
    let path = database(SMALL);
    let runtime = runtime();
    let store = Arc::new(runtime.block_on(SqliteStore::open(&path)).unwrap());
    let connection = raw(&path);
    let mut group = c.benchmark_group("sqlite_hit");
    group.throughput(Throughput::Elements(1));
    let mut keys = Keys::spread(SMALL);
    group.bench_function("baseline_raw_rusqlite", |b| {
        b.iter(|| black_box(raw_hit(&connection, keys.next())))
    });
    let mut keys = Keys::spread(SMALL);
    group.bench_function("raw_rusqlite_without_json", |b| {
        b.iter(|| {
            let key = keys.next();
            let mut statement = connection.prepare_cached(SELECT_BY_KEY).unwrap();
            let length = statement
                .query_row(
                    (
                        key.tenant.as_str(),
                        key.user.as_str(),
                        key.external_id.as_str(),
                    ),
                    |row| Ok(row.get_ref(1)?.as_str()?.len()),
                )
                .unwrap();
            black_box(length)
        })
    });
    store_hit(&mut group, "store_create_or_get", &runtime, &store, SMALL);
    // Every hit parses its row: what the parsed-meeting cache saves.
    let unparsed = SqliteOptions {
        parsed_cache_bytes: 0,
        ..SqliteOptions::default()
    };
    let store = Arc::new(
        runtime
            .block_on(SqliteStore::open_with(&path, unparsed))
            .unwrap(),
    );
    store_hit(
        &mut group,
        "store_without_parsed_meetings",
        &runtime,
        &store,
        SMALL,
    );
    group.finish();
}

/// Hit throughput: 64 hits by 1 or 8 concurrent callers; WAL readers do not wait for each other.
fn hit_concurrent(c: &mut Criterion) {
    let path = database(SMALL);
    let runtime = runtime();
    let store = Arc::new(runtime.block_on(SqliteStore::open(&path)).unwrap());
    let connection = raw(&path);
    let mut group = c.benchmark_group("sqlite_hit_concurrent");
    group.throughput(Throughput::Elements(CREATES));
    let mut keys = Keys::spread(SMALL);
    group.bench_function("baseline_raw_rusqlite_1_caller", |b| {
        b.iter(|| {
            for _ in 0..CREATES {
                black_box(raw_hit(&connection, keys.next()));
            }
        })
    });
    for callers in [1u64, 8] {
        let mut keys = Keys::spread(SMALL);
        group.bench_function(BenchmarkId::new("store_callers", callers), |b| {
            b.iter_custom(|iterations| {
                let batches: Vec<Vec<MeetingKey>> = (0..iterations * callers)
                    .map(|_| {
                        (0..CREATES / callers)
                            .map(|_| keys.next().clone())
                            .collect()
                    })
                    .collect();
                runtime.block_on(async {
                    let started = Instant::now();
                    for round in batches.chunks(callers as usize) {
                        let tasks: Vec<_> = round
                            .iter()
                            .cloned()
                            .map(|batch| {
                                let store = Arc::clone(&store);
                                tokio::spawn(async move {
                                    for key in batch {
                                        black_box(
                                            store.create_or_get(&key, &|| unreachable!()).await,
                                        )
                                        .unwrap();
                                    }
                                })
                            })
                            .collect();
                        for task in tasks {
                            task.await.unwrap();
                        }
                    }
                    started.elapsed()
                })
            })
        });
    }
    group.finish();
}

/// Hit latency with 1,000 and 1,000,000 meetings stored.
fn hit_by_size(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("sqlite_hit_by_size");
    group.throughput(Throughput::Elements(1));
    for (count, name) in [
        (SMALL, "baseline_store_1k_meetings"),
        (LARGE, "store_1m_meetings"),
    ] {
        let path = database(count);
        let store = Arc::new(runtime.block_on(SqliteStore::open(&path)).unwrap());
        store_hit(&mut group, name, &runtime, &store, count);
        drop(store);
    }
    let connection = raw(&database(LARGE));
    let mut keys = Keys::spread(LARGE);
    group.bench_function("raw_rusqlite_1m_meetings", |b| {
        b.iter(|| black_box(raw_hit(&connection, keys.next())))
    });
    group.finish();
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A key never used before in this run.
fn fresh_key() -> (MeetingKey, u64) {
    let n = NEXT.fetch_add(1, Ordering::Relaxed) + 10_000_000;
    (key("tenant", "user", &format!("fresh-{n}")), n)
}

/// The raw create: the store's insert in its own `BEGIN IMMEDIATE` transaction.
fn raw_create(connection: &Connection) {
    let (key, n) = fresh_key();
    let meeting = sample_meeting(&key, n);
    let json = serde_json::to_string(&meeting).unwrap();
    connection.execute_batch("BEGIN IMMEDIATE").unwrap();
    connection
        .prepare_cached(INSERT)
        .unwrap()
        .execute((
            meeting.id.as_str(),
            key.tenant.as_str(),
            key.user.as_str(),
            key.external_id.as_str(),
            json.as_str(),
            meeting.join_meeting_id(),
            join_web_url_key(&meeting.join_web_url),
        ))
        .unwrap();
    connection.execute_batch("COMMIT").unwrap();
}

async fn store_create(store: &SqliteStore) {
    let (key, n) = fresh_key();
    let outcome = store
        .create_or_get(&key, &|| sample_meeting(&key, n))
        .await
        .unwrap();
    assert!(outcome.is_created());
}

/// [`CREATES`] creates, split evenly over `callers` concurrent tasks.
async fn store_create_split(store: &Arc<SqliteStore>, callers: u64) {
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                for _ in 0..CREATES / callers {
                    store_create(&store).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// Fresh, empty databases for the create groups (they grow as they are measured).
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let parent = target.join("meeting-store-sqlite-bench");
    std::fs::create_dir_all(&parent).unwrap();
    // On the target's disk, not a tmpfs: fsync must cost what it costs.
    let directory = tempfile::tempdir_in(parent).unwrap();
    let path = directory.path().join("create.db");
    (directory, path)
}

/// Single-caller create at synchronous=FULL: both sides pay one fsync per create.
fn create_single(c: &mut Criterion) {
    let runtime = runtime();
    let (_directory, path) = scratch();
    let store = runtime.block_on(SqliteStore::open(&path)).unwrap();
    let connection = raw(&path);
    let mut group = c.benchmark_group("sqlite_create");
    group.throughput(Throughput::Elements(1));
    group.bench_function("baseline_raw_rusqlite", |b| {
        b.iter(|| raw_create(&connection))
    });
    group.bench_function("store_create_or_get", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iterations {
                    store_create(&store).await;
                }
                started.elapsed()
            })
        })
    });
    group.finish();
}

/// 64 creates shared by 1, 8 or 64 concurrent callers, at synchronous=FULL.
fn create_concurrent(c: &mut Criterion) {
    let runtime = runtime();
    let (_directory, path) = scratch();
    let store = Arc::new(
        runtime
            .block_on(SqliteStore::open_with(&path, SqliteOptions::default()))
            .unwrap(),
    );
    let connection = raw(&path);
    let mut group = c.benchmark_group("sqlite_create_concurrent");
    group.throughput(Throughput::Elements(CREATES));
    group.bench_function("baseline_raw_rusqlite_1_caller", |b| {
        b.iter(|| {
            for _ in 0..CREATES {
                raw_create(&connection);
            }
        })
    });
    for callers in [1u64, 8, 64] {
        let (commits, creates) = (store.committed_transactions(), NEXT.load(Ordering::Relaxed));
        group.bench_function(BenchmarkId::new("store_callers", callers), |b| {
            b.iter_custom(|iterations| {
                runtime.block_on(async {
                    let started = Instant::now();
                    for _ in 0..iterations {
                        store_create_split(&store, callers).await;
                    }
                    started.elapsed()
                })
            })
        });
        // Group commit at work: creates per transaction, warm-up included.
        let commits = store.committed_transactions() - commits;
        let creates = NEXT.load(Ordering::Relaxed) - creates;
        eprintln!(
            "store_callers/{callers}: {creates} creates in {commits} commits, {:.1} per commit",
            creates as f64 / commits.max(1) as f64
        );
    }
    group.finish();
}

/// The same comparisons as the groups above, interleaved pair by pair (printed, not in criterion).
fn paired_summary(_: &mut Criterion) {
    let runtime = runtime();
    let path = database(SMALL);
    let store = runtime.block_on(SqliteStore::open(&path)).unwrap();
    let connection = raw(&path);
    let (mut raw_keys, mut store_keys) = (Keys::spread(SMALL), Keys::spread(SMALL));
    report(
        "hit (raw read + JSON vs store createOrGet)",
        paired(
            2000,
            || drop(black_box(raw_hit(&connection, raw_keys.next()))),
            || {
                let key = store_keys.next().clone();
                runtime.block_on(async {
                    black_box(store.create_or_get(&key, &|| unreachable!()).await.unwrap())
                });
            },
        ),
    );
    drop((store, connection));
    let (_directory, path) = scratch();
    let store = Arc::new(runtime.block_on(SqliteStore::open(&path)).unwrap());
    let connection = raw(&path);
    report(
        "single create (raw transaction vs store createOrGet)",
        paired(
            200,
            || raw_create(&connection),
            || runtime.block_on(store_create(&store)),
        ),
    );
    let runtime = &runtime;
    let store = &store;
    let creates = |callers: u64| move || runtime.block_on(store_create_split(store, callers));
    for callers in [8, 64] {
        report(
            &format!("64 creates, 1 caller vs {callers} callers (time ratio)"),
            paired(15, creates(1), creates(callers)),
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = hit, hit_concurrent, hit_by_size, create_single, create_concurrent, paired_summary
}
criterion_main!(benches);
