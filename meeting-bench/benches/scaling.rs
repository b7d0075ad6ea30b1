//! Scaling of the memory store: hit latency with 1,000 and 1,000,000 stored
//! meetings, and hit throughput with one and two worker threads.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dashmap::DashMap;
use meeting_bench::run::{parallel, parallel_hits, ready, time_batches};
use meeting_bench::seed::{self, caller, key, key_only_request};
use meeting_core::Target;
use meeting_core::{CreateOrGetRequest, MeetingKey, MeetingService, OnlineMeeting, Profile};
use std::sync::Arc;

const SMALL: u64 = 1_000;
const LARGE: u64 = 1_000_000;

/// Visits keys in a scattered order (a stride coprime with any count made of
/// 2s and 5s), as independent clients would, so no cache line is reused by luck.
fn scattered(n: u64, count: u64) -> u64 {
    (n.wrapping_mul(2_654_435_761)) % count
}

/// Only under `cargo bench` (criterion passes `--bench`): `cargo test
/// --benches` runs each bench once, and needs no million meetings for that.
fn large() -> u64 {
    if std::env::args().any(|arg| arg == "--bench") {
        LARGE
    } else {
        10_000
    }
}

struct Population {
    service: MeetingService,
    map: DashMap<MeetingKey, Arc<OnlineMeeting>>,
    count: u64,
}

fn populate(count: u64) -> Population {
    let (service, store) = seed::populated_service(count);
    // The raw map shares the store's meetings, so it costs only its keys.
    let (_, map) = seed::stored_map(&store, count);
    Population {
        service,
        map,
        count,
    }
}

fn hit_latency(c: &mut Criterion) {
    // Built before any timing: criterion's `--quick` mode counts wall time
    // from a benchmark's first call, and would stop at the population.
    let small = populate(SMALL);
    let large = populate(large());
    let caller = caller();
    let mut next = 0;

    let mut group = c.benchmark_group("scaling_hit_latency");
    for (name, population) in [("baseline_1k_meetings", &small), ("1m_meetings", &large)] {
        group.bench_function(name, |b| {
            let count = population.count;
            b.iter_custom(|iters| {
                time_batches(
                    iters,
                    &mut next,
                    |n| key_only_request(scattered(n, count)),
                    |request| {
                        ready(population.service.create_or_get(
                            &caller,
                            Target::Me,
                            Profile::Beta,
                            request,
                        ))
                        .expect("a hit")
                    },
                )
            })
        });
    }
    group.finish();

    // The same lookups on a bare DashMap: how much of the growth is the
    // memory's (cache misses), not the service's.
    let mut group = c.benchmark_group("scaling_hit_latency_raw_map");
    for (name, population) in [("baseline_1k_meetings", &small), ("1m_meetings", &large)] {
        group.bench_function(name, |b| {
            let count = population.count;
            b.iter_custom(|iters| {
                time_batches(
                    iters,
                    &mut next,
                    |n| key(scattered(n, count)),
                    |key| population.map.get(key).map(|meeting| Arc::clone(&meeting)),
                )
            })
        });
    }
    group.finish();
}

fn threads(c: &mut Criterion) {
    let (service, store) = seed::populated_service(SMALL);
    let requests: Vec<CreateOrGetRequest> = (0..SMALL).map(key_only_request).collect();

    // An iteration is one hit per thread: the time per iteration stays flat
    // and the throughput doubles when nothing is shared.
    let mut group = c.benchmark_group("scaling_threads");
    for (name, threads) in [("baseline_1_thread", 1), ("2_threads", 2)] {
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| parallel_hits(&service, &requests, threads, iters))
        });
    }
    group.finish();

    // The same on a bare DashMap (get and `Arc` clone, disjoint keys): the
    // ceiling its per-shard read locks, written by every get, leave.
    let (keys, map) = seed::stored_map(&store, SMALL);
    let mut group = c.benchmark_group("scaling_threads_raw_map");
    for (name, threads) in [("baseline_1_thread", 1), ("2_threads", 2)] {
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let share = keys.len() / threads;
                parallel(threads, |thread| {
                    let (own, map) = (&keys[thread * share..(thread + 1) * share], &map);
                    move || {
                        for i in 0..iters as usize {
                            let key = &own[(i * 7) % own.len()];
                            std::hint::black_box(map.get(key).map(|m| Arc::clone(&m)));
                        }
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hit_latency, threads);
criterion_main!(benches);
