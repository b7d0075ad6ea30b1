//! The PostgreSQL store beside raw tokio-postgres running the same statements
//! at the same concurrency, in the same run, on the same server.
//!
//! One criterion group per operation, one pair of functions per concurrency
//! (1, 8, 32 callers):
//! - `baseline_raw_tokio_postgres`: one connection per caller, the store's
//!   statements prepared once, and the same JSON work the store does (decode
//!   a hit into an `OnlineMeeting`; build and encode a new one).
//! - `store_create_or_get`: a `PostgresStore` with a 32-connection pool,
//!   called through `Arc<dyn MeetingStore>` as a service does.
//! - `raw_without_json` (hits only): the statement alone, to show what the JSON costs.
//!
//! Groups: `postgres_hit`; `postgres_create` (every commit flushed to disk,
//! as deployed); `postgres_create_unflushed` (`synchronous_commit=off` for
//! both sides, so that the disk's flush time does not hide the client's cost).
//!
//! After criterion, a latency pass runs each pair for a fixed time, raw and
//! store alternating in short rounds so that both see the same background
//! load, and prints throughput, p50 and p99 (criterion reports means only).
//!
//! The server: `MEETING_PG_URL` (it needs about 130 connections), or a
//! throwaway cluster with fsync on, made by `meeting_tests::postgres`.
//!
//! ```text
//! cargo bench -p meeting-store-postgres --bench postgres -- --quick
//! ```

use criterion::{BenchmarkId, Criterion, Throughput};
use meeting_core::conformance::{key, sample_meeting};
use meeting_core::{MeetingId, MeetingKey, MeetingStore, OnlineMeeting};
use meeting_store_postgres::{PostgresOptions, PostgresStore};
use meeting_tests::postgres::{self, Cluster, ClusterOptions, Server};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::{Client, Statement};

/// One operation of caller `.0`, number `.1`.
type Op = Arc<dyn Fn(usize, u64) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Makes the baseline's and the store's operation of one latency row.
type Pair = fn(&Bench) -> [Op; 2];

const CALLERS: [usize; 3] = [1, 8, 32];
const HIT_KEYS: u64 = 256;
const SELECT: &str =
    "SELECT meeting FROM online_meetings WHERE tenant_id = $1 AND user_id = $2 AND external_id = $3";
const INSERT: &str = "INSERT INTO online_meetings (tenant_id, user_id, external_id, id, meeting) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (tenant_id, user_id, external_id) DO NOTHING RETURNING id";

/// One raw connection per caller, with the store's statements prepared.
struct Raw {
    client: Client,
    select: Statement,
    insert: Statement,
}

/// A store and raw connections on one database with one commit setting.
#[derive(Clone)]
struct Side {
    store: Arc<dyn MeetingStore>,
    raw: Arc<Vec<Raw>>,
}

impl Side {
    async fn connect(url: &str) -> Side {
        let store = PostgresStore::connect_with(
            url,
            PostgresOptions {
                pool_size: 32,
                ..PostgresOptions::default()
            },
        )
        .await
        .expect("the store connects");
        let mut raw = Vec::new();
        for _ in 0..CALLERS[CALLERS.len() - 1] {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .expect("a raw connection");
            tokio::spawn(connection);
            let select = client.prepare(SELECT).await.expect("prepare");
            let insert = client.prepare(INSERT).await.expect("prepare");
            raw.push(Raw {
                client,
                select,
                insert,
            });
        }
        Side {
            store: Arc::new(store),
            raw: Arc::new(raw),
        }
    }
}

struct Bench {
    runtime: tokio::runtime::Runtime,
    flushed: Side,
    unflushed: Side,
    template: Arc<OnlineMeeting>,
    hit_keys: Arc<Vec<MeetingKey>>,
    next_create: Arc<AtomicU64>,
    /// Kept for its drop, which stops a cluster this bench started.
    _server: Server,
}

fn hit_key(n: u64) -> MeetingKey {
    key("bench-tenant", "bench-user", &format!("hit-{n}"))
}

/// The meeting a create stores: the template under a new key and id, as a builder makes it.
fn meeting_for(template: &OnlineMeeting, key: &MeetingKey, n: u64) -> OnlineMeeting {
    let mut meeting = template.clone();
    meeting.external_id = key.external_id.clone();
    meeting.id = MeetingId::new(format!("bench-user_19:meeting_{n}@thread.v2"));
    meeting
}

impl Bench {
    fn new() -> Bench {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
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
        let template = sample_meeting(&hit_key(0), 0);
        let (flushed, unflushed, hit_keys) = runtime.block_on(async {
            let url = postgres::fresh_database_on(&server).await;
            let flushed = Side::connect(&url).await;
            let separator = if url.contains('?') { '&' } else { '?' };
            let unflushed_url = format!("{url}{separator}options=-c%20synchronous_commit%3Doff");
            let unflushed = Side::connect(&unflushed_url).await;
            let mut hit_keys = Vec::new();
            for n in 0..HIT_KEYS {
                let key = hit_key(n);
                flushed
                    .store
                    .create_or_get(&key, &|| meeting_for(&template, &key, n))
                    .await
                    .expect("a hit key is stored");
                hit_keys.push(key);
            }
            (flushed, unflushed, hit_keys)
        });
        Bench {
            runtime,
            flushed,
            unflushed,
            template: Arc::new(template),
            hit_keys: Arc::new(hit_keys),
            next_create: Arc::new(AtomicU64::new(1_000_000)),
            _server: server,
        }
    }

    fn store_hit(&self) -> Op {
        let (store, keys, template) = (
            Arc::clone(&self.flushed.store),
            Arc::clone(&self.hit_keys),
            Arc::clone(&self.template),
        );
        Arc::new(move |_, n| {
            let (store, keys, template) =
                (Arc::clone(&store), Arc::clone(&keys), Arc::clone(&template));
            Box::pin(async move {
                let key = &keys[(n % HIT_KEYS) as usize];
                let outcome = store
                    .create_or_get(key, &|| meeting_for(&template, key, n))
                    .await
                    .expect("a hit");
                assert!(!outcome.is_created());
            })
        })
    }

    fn raw_hit(&self, json: bool) -> Op {
        let (raw, keys) = (Arc::clone(&self.flushed.raw), Arc::clone(&self.hit_keys));
        Arc::new(move |caller, n| {
            let (raw, keys) = (Arc::clone(&raw), Arc::clone(&keys));
            Box::pin(async move {
                let key = &keys[(n % HIT_KEYS) as usize];
                let raw = &raw[caller];
                let row = raw
                    .client
                    .query_opt(
                        &raw.select,
                        &[
                            &key.tenant.as_str(),
                            &key.user.as_str(),
                            &key.external_id.as_str(),
                        ],
                    )
                    .await
                    .expect("a raw select")
                    .expect("a hit");
                let text: &str = row.get(0);
                if json {
                    let meeting = OnlineMeeting::from_stored_json(text).expect("stored JSON");
                    std::hint::black_box(Arc::new(meeting));
                } else {
                    std::hint::black_box(text);
                }
            })
        })
    }

    fn store_create(&self, side: &Side) -> Op {
        let (store, template, next) = (
            Arc::clone(&side.store),
            Arc::clone(&self.template),
            Arc::clone(&self.next_create),
        );
        Arc::new(move |_, _| {
            let (store, template) = (Arc::clone(&store), Arc::clone(&template));
            let n = next.fetch_add(1, Ordering::Relaxed);
            Box::pin(async move {
                let key = key("bench-tenant", "bench-user", &format!("create-{n}"));
                let outcome = store
                    .create_or_get(&key, &|| meeting_for(&template, &key, n))
                    .await
                    .expect("a create");
                assert!(outcome.is_created());
            })
        })
    }

    fn raw_create(&self, side: &Side) -> Op {
        let (raw, template, next) = (
            Arc::clone(&side.raw),
            Arc::clone(&self.template),
            Arc::clone(&self.next_create),
        );
        Arc::new(move |caller, _| {
            let (raw, template) = (Arc::clone(&raw), Arc::clone(&template));
            let n = next.fetch_add(1, Ordering::Relaxed);
            Box::pin(async move {
                let key = key("bench-tenant", "bench-user", &format!("create-{n}"));
                let raw = &raw[caller];
                let (tenant, user, external_id) = (
                    key.tenant.as_str(),
                    key.user.as_str(),
                    key.external_id.as_str(),
                );
                let found = raw
                    .client
                    .query_opt(&raw.select, &[&tenant, &user, &external_id])
                    .await
                    .expect("a raw select");
                assert!(found.is_none());
                let meeting = Arc::new(meeting_for(&template, &key, n));
                let text = serde_json::to_string(&*meeting).expect("JSON");
                let inserted = raw
                    .client
                    .query_opt(
                        &raw.insert,
                        &[&tenant, &user, &external_id, &meeting.id.as_str(), &text],
                    )
                    .await
                    .expect("a raw insert");
                assert!(inserted.is_some());
            })
        })
    }
}

/// Runs `iters` operations spread over `callers` tasks; returns the wall time.
async fn run(callers: usize, iters: u64, op: Op) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|caller| {
            let op = Arc::clone(&op);
            tokio::spawn(async move {
                let mut n = caller as u64;
                while n < iters {
                    op(caller, n).await;
                    n += callers as u64;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a caller finishes");
    }
    start.elapsed()
}

/// Runs `op` with `callers` tasks for `window`; returns each operation's time and the wall time.
async fn timed(callers: usize, window: Duration, op: Op) -> (Vec<Duration>, Duration) {
    let start = Instant::now();
    let tasks: Vec<_> = (0..callers)
        .map(|caller| {
            let op = Arc::clone(&op);
            tokio::spawn(async move {
                let mut times = Vec::new();
                let mut n = caller as u64;
                while start.elapsed() < window {
                    let began = Instant::now();
                    op(caller, n).await;
                    times.push(began.elapsed());
                    n += callers as u64;
                }
                times
            })
        })
        .collect();
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.expect("a caller finishes"));
    }
    (times, start.elapsed())
}

/// What one side of a latency row measured.
struct Figures {
    rate: f64,
    p50: Duration,
    p99: Duration,
    /// This process's CPU time (user + system) per operation: the client's
    /// cost alone, which other processes' load barely moves.
    client_cpu: Duration,
}

/// This process's CPU time so far, from `/proc/self/stat` (Linux; zero elsewhere).
fn process_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat(5), 11 and 12 after the name; 100 ticks a second.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The baseline's and the store's figures, measured in alternating rounds so
/// that background load falls on both alike.
async fn latency_pair(callers: usize, window: Duration, pair: [Op; 2]) -> [Figures; 2] {
    const ROUNDS: u32 = 4;
    let mut times = [Vec::new(), Vec::new()];
    let mut elapsed = [Duration::ZERO; 2];
    let mut cpu = [Duration::ZERO; 2];
    for _ in 0..ROUNDS {
        for side in 0..2 {
            let cpu_before = process_cpu();
            let (round, wall) = timed(callers, window / ROUNDS, Arc::clone(&pair[side])).await;
            cpu[side] += process_cpu().saturating_sub(cpu_before);
            times[side].extend(round);
            elapsed[side] += wall;
        }
    }
    [0, 1].map(|side| {
        let times = &mut times[side];
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        Figures {
            rate: times.len() as f64 / elapsed[side].as_secs_f64(),
            p50: at(0.50),
            p99: at(0.99),
            client_cpu: cpu[side] / times.len().max(1) as u32,
        }
    })
}

fn group(c: &mut Criterion, bench: &Bench, name: &str, functions: &[(&str, Op)]) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    for callers in CALLERS {
        for (function, op) in functions {
            group.bench_with_input(
                BenchmarkId::new(*function, callers),
                &callers,
                |b, &callers| {
                    b.iter_custom(|iters| {
                        bench.runtime.block_on(run(callers, iters, Arc::clone(op)))
                    })
                },
            );
        }
    }
    group.finish();
}

fn main() {
    let bench = Bench::new();
    let mut criterion = Criterion::default().configure_from_args();
    group(
        &mut criterion,
        &bench,
        "postgres_hit",
        &[
            ("baseline_raw_tokio_postgres", bench.raw_hit(true)),
            ("raw_without_json", bench.raw_hit(false)),
            ("store_create_or_get", bench.store_hit()),
        ],
    );
    for (name, side) in [
        ("postgres_create", &bench.flushed),
        ("postgres_create_unflushed", &bench.unflushed),
    ] {
        group(
            &mut criterion,
            &bench,
            name,
            &[
                ("baseline_raw_tokio_postgres", bench.raw_create(side)),
                ("store_create_or_get", bench.store_create(side)),
            ],
        );
    }
    criterion.final_summary();

    // Only a real benchmark run measures latency; `cargo test --benches` runs each function once.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let window = Duration::from_millis(
        std::env::var("PG_BENCH_LATENCY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(1_000),
    );
    println!(
        "\nLatency pass: {} ms per function, raw and store alternating in 4 rounds\n",
        window.as_millis()
    );
    println!("| group | callers | raw ops/s | store ops/s | ratio (raw/store) | raw p50 | store p50 | raw p99 | store p99 | raw client CPU/op | store client CPU/op |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let pairs: [(&str, Pair); 3] = [
        ("postgres_hit", |b| [b.raw_hit(true), b.store_hit()]),
        ("postgres_create", |b| {
            [b.raw_create(&b.flushed), b.store_create(&b.flushed)]
        }),
        ("postgres_create_unflushed", |b| {
            [b.raw_create(&b.unflushed), b.store_create(&b.unflushed)]
        }),
    ];
    // PG_BENCH_LATENCY_ONLY=postgres_hit (say) limits the pass to one group, for profiling.
    let only = std::env::var("PG_BENCH_LATENCY_ONLY").ok();
    for (name, pair) in pairs {
        if only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        for callers in CALLERS {
            let [raw, store] = bench
                .runtime
                .block_on(latency_pair(callers, window, pair(&bench)));
            let micros = |d: Duration| d.as_secs_f64() * 1e6;
            println!(
                "| {name} | {callers} | {:.0} | {:.0} | {:.2}x | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {:.1} µs | {:.1} µs |",
                raw.rate,
                store.rate,
                raw.rate / store.rate,
                micros(raw.p50),
                micros(store.p50),
                micros(raw.p99),
                micros(store.p99),
                micros(raw.client_cpu),
                micros(store.client_cpu),
            );
        }
    }
}
