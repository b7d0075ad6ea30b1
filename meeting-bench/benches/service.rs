//! The service's own cost: createOrGet through `MeetingService` on the memory
//! store, against the work no implementation can avoid.
//!
//! - Hits: a concurrent-map lookup and an `Arc` clone of the stored meeting.
//! - Creates: building the meeting, member by member, from values at hand.
//!
//! Rows between the baseline and the service split the difference: the store
//! alone behind its trait object, the service with predictable ids, and
//! `part_*` rows timing one piece of the service's path alone.

use criterion::{criterion_group, criterion_main, Criterion};
use dashmap::DashMap;
use meeting_bench::run::{ready, time_batches};
use meeting_bench::seed::{self, caller, full_request, key, key_only_request};
use meeting_core::testing::SequentialIds;
use meeting_core::Target;
use meeting_core::{CreateOrGetRequest, MeetingKey, MeetingStore, OnlineMeeting, Outcome, Profile};
use std::hint::black_box;
use std::sync::Arc;

/// Meetings in the store the hits read; small enough to stay in cache, so the
/// figures are the code's, not the memory's (`scaling` measures that).
const STORED: u64 = 1_000;

/// Makes the `n`th request of a kind.
type MakeRequest = fn(u64) -> CreateOrGetRequest;

fn hits(c: &mut Criterion) {
    let (service, store) = seed::populated_service(STORED);
    let (keys, map) = seed::stored_map(&store, STORED);
    let dyn_store: Arc<dyn MeetingStore> = store;
    let caller = caller();
    let never = || -> OnlineMeeting { unreachable!("every key is stored") };
    let mut next = 0;

    let mut group = c.benchmark_group("service_hit");
    group.bench_function("baseline_dashmap_get_arc_clone", |b| {
        b.iter_custom(|iters| {
            time_batches(
                iters,
                &mut next,
                |n| &keys[(n % STORED) as usize],
                |key| map.get(key).map(|meeting| Arc::clone(&meeting)),
            )
        })
    });
    group.bench_function("memory_store_create_or_get", |b| {
        b.iter_custom(|iters| {
            time_batches(
                iters,
                &mut next,
                |n| &keys[(n % STORED) as usize],
                |key| ready(dyn_store.create_or_get(key, &never)).expect("in memory"),
            )
        })
    });
    let requests: [(&str, MakeRequest); 2] = [
        ("service_key_only_request", key_only_request),
        ("service_seed_request", full_request),
    ];
    for (name, request) in requests {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                time_batches(
                    iters,
                    &mut next,
                    |n| request(n % STORED),
                    |request| {
                        ready(service.create_or_get(&caller, Target::Me, Profile::Beta, request))
                            .expect("a hit")
                    },
                )
            })
        });
    }
    // A v1.0 hit: the same lookup; only the profile's time rules differ.
    group.bench_function("service_seed_request_v1", |b| {
        b.iter_custom(|iters| {
            time_batches(
                iters,
                &mut next,
                |n| full_request(n % STORED),
                |request| {
                    ready(service.create_or_get(&caller, Target::Me, Profile::V1, request))
                        .expect("a hit")
                },
            )
        })
    });
    // One part of the service's hit path, alone: the owned key a hit builds
    // (the ids are reference counts; the lookup needs no ownership at all).
    group.bench_function("part_owned_key", |b| {
        b.iter_custom(|iters| {
            time_batches(
                iters,
                &mut next,
                |n| key_only_request(n % STORED),
                |request| {
                    let key = MeetingKey {
                        tenant: caller.tenant.clone(),
                        user: caller.user.clone(),
                        external_id: request.external_id.clone(),
                    };
                    black_box(&key);
                },
            )
        })
    });
    group.finish();
}

fn creates(c: &mut Criterion) {
    let caller = caller();
    let template = {
        let (service, _store) = seed::service();
        let outcome =
            ready(service.create_or_get(&caller, Target::Me, Profile::Beta, &full_request(0)))
                .expect("in memory");
        assert!(outcome.is_created());
        outcome.into_meeting()
    };
    // Keys never repeat across samples, and each sample gets a fresh store:
    // every call creates, and the store stays the size of one sample.
    let mut next = 0;

    let mut group = c.benchmark_group("service_create");
    group.bench_function("baseline_build_by_hand", |b| {
        b.iter_custom(|iters| {
            time_batches(
                iters,
                &mut next,
                |_| (),
                |()| Arc::new(seed::build_by_hand(&template)),
            )
        })
    });
    group.bench_function("build_by_hand_and_dashmap_insert", |b| {
        b.iter_custom(|iters| {
            let map = DashMap::new();
            time_batches(iters, &mut next, key, |key| {
                map.insert(key.clone(), Arc::new(seed::build_by_hand(&template)))
            })
        })
    });
    group.bench_function("service_sequential_ids", |b| {
        b.iter_custom(|iters| {
            let (service, _store) = seed::service();
            let service = service.with_ids(Arc::new(SequentialIds::new()));
            time_batches(iters, &mut next, full_request, |request| {
                created(ready(service.create_or_get(
                    &caller,
                    Target::Me,
                    Profile::Beta,
                    request,
                )))
            })
        })
    });
    for (name, profile) in [
        ("service_random_ids", Profile::Beta),
        // v1.0 also draws a join id and keeps the policy's options.
        ("service_random_ids_v1", Profile::V1),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let (service, _store) = seed::service();
                time_batches(iters, &mut next, full_request, |request| {
                    created(ready(service.create_or_get(
                        &caller,
                        Target::Me,
                        profile,
                        request,
                    )))
                })
            })
        });
    }
    group.finish();
}

/// The created meeting; anything else would time the wrong path.
fn created(result: Result<Outcome, meeting_core::Error>) -> Arc<OnlineMeeting> {
    match result.expect("in memory") {
        Outcome::Created(meeting) => meeting,
        Outcome::Existing(_) => panic!("a fresh key found a meeting"),
    }
}

criterion_group!(benches, hits, creates);
criterion_main!(benches);
