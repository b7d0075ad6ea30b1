//! The targets' ratios again, measured in interleaved pairs: a cross-check of
//! the criterion table that holds up on a busy machine.
//!
//! Criterion measures a group's functions one after another, so a build that
//! starts on the other core during one of them skews the ratio. Here each
//! round times a ~10 ms block of the baseline and a ~10 ms block of the
//! candidate back to back (in alternating order), takes their ratio, and the
//! row is the median of 40 rounds with its quartiles: load that lasts longer
//! than a round hits both sides, load that lasts less spoils few rounds.
//!
//! Not a criterion bench (criterion cannot interleave functions); it writes
//! `target/meeting-bench/paired_ratios.json` for the report.

use meeting_bench::plain;
use meeting_bench::report::{self, ExtraGroup, ExtraRow};
use meeting_bench::run::{parallel_hits, ready, time_batches};
use meeting_bench::seed::{self, caller, full_request, key_only_request};
use meeting_core::Target;
use meeting_core::{CreateOrGetRequest, OnlineMeeting, Profile};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROUNDS: usize = 40;
const BLOCK: Duration = Duration::from_millis(10);

/// Times `iters` calls and returns the time they took (off-clock work excluded).
type Timed<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

/// Iterations that make one block of about [`BLOCK`].
fn calibrate(routine: &mut Timed<'_>) -> u64 {
    let mut iters = 1;
    loop {
        if routine(iters) >= BLOCK / 2 {
            return iters * 2;
        }
        iters *= 2;
    }
}

/// The median and quartiles of `scale * candidate / baseline` per-call times
/// over interleaved rounds.
fn paired(mut baseline: Timed<'_>, mut candidate: Timed<'_>, scale: f64) -> (f64, (f64, f64)) {
    let (base_iters, cand_iters) = (calibrate(&mut baseline), calibrate(&mut candidate));
    let mut ratios: Vec<f64> = (0..ROUNDS)
        .map(|round| {
            let per_call =
                |routine: &mut Timed<'_>, iters: u64| routine(iters).as_secs_f64() / iters as f64;
            let (base, cand) = if round % 2 == 0 {
                let base = per_call(&mut baseline, base_iters);
                (base, per_call(&mut candidate, cand_iters))
            } else {
                let cand = per_call(&mut candidate, cand_iters);
                (per_call(&mut baseline, base_iters), cand)
            };
            scale * cand / base
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    (at(0.5), (at(0.25), at(0.75)))
}

fn row(function: &str, (value, quartiles): (f64, (f64, f64))) -> ExtraRow {
    println!(
        "{function}: {value:.2}x (quartiles {:.2} – {:.2})",
        quartiles.0, quartiles.1
    );
    ExtraRow {
        function: function.to_owned(),
        value,
        quartiles: Some(quartiles),
    }
}

fn annotation(rows: &mut Vec<ExtraRow>) {
    let derived: OnlineMeeting = serde_json::from_str(seed::SEED_RESPONSE).expect("parses");
    let mirror: plain::OnlineMeeting = serde_json::from_str(seed::SEED_RESPONSE).expect("parses");
    assert_eq!(
        serde_json::to_string(&derived).expect("serializes"),
        serde_json::to_string(&mirror).expect("serializes")
    );
    fn writer<T: serde::Serialize>(value: &T) -> Timed<'_> {
        let mut buffer = Vec::with_capacity(8192);
        Box::new(move |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                buffer.clear();
                serde_json::to_writer(&mut buffer, black_box(value)).expect("serializes");
                black_box(buffer.len());
            }
            start.elapsed()
        })
    }
    rows.push(row(
        "annotation_serialize/derive",
        paired(writer(&mirror), writer(&derived), 1.0),
    ));

    fn parser<T: serde::de::DeserializeOwned>() -> Timed<'static> {
        let mut next = 0;
        Box::new(move |iters| {
            time_batches(
                iters,
                &mut next,
                |_| seed::SEED_RESPONSE.as_bytes(),
                |text| serde_json::from_slice::<T>(text).expect("parses"),
            )
        })
    }
    rows.push(row(
        "annotation_parse/derive",
        paired(
            parser::<plain::OnlineMeeting>(),
            parser::<OnlineMeeting>(),
            1.0,
        ),
    ));
}

fn service(rows: &mut Vec<ExtraRow>) {
    const STORED: u64 = 1_000;
    let (service, store) = seed::populated_service(STORED);
    let (keys, map) = seed::stored_map(&store, STORED);
    let caller = caller();
    let (keys, map, service, caller) = (&keys, &map, &service, &caller);
    let raw_hits: Timed<'_> = Box::new({
        let mut next = 0;
        move |iters| {
            time_batches(
                iters,
                &mut next,
                |n| &keys[(n % STORED) as usize],
                |key| map.get(key).map(|meeting| Arc::clone(&meeting)),
            )
        }
    });
    let service_hits: Timed<'_> = Box::new({
        let mut next = 0;
        move |iters| {
            time_batches(
                iters,
                &mut next,
                |n| key_only_request(n % STORED),
                |request| {
                    ready(service.create_or_get(caller, Target::Me, Profile::Beta, request))
                        .expect("a hit")
                },
            )
        }
    });
    rows.push(row(
        "service_hit/service_key_only_request",
        paired(raw_hits, service_hits, 1.0),
    ));

    let template = {
        let (service, _store) = seed::service();
        ready(service.create_or_get(caller, Target::Me, Profile::Beta, &full_request(0)))
            .expect("in memory")
            .into_meeting()
    };
    let template = &template;
    let builds: Timed<'_> = Box::new({
        let mut next = 0;
        move |iters| {
            time_batches(
                iters,
                &mut next,
                |_| (),
                |()| Arc::new(seed::build_by_hand(template)),
            )
        }
    });
    let creates: Timed<'_> = Box::new({
        let mut next = 1;
        move |iters| {
            // A fresh store per block: every call creates, the store stays small.
            let (service, _store) = seed::service();
            time_batches(iters, &mut next, full_request, |request| {
                ready(service.create_or_get(caller, Target::Me, Profile::Beta, request))
                    .expect("created")
            })
        }
    });
    rows.push(row(
        "service_create/service_random_ids",
        paired(builds, creates, 1.0),
    ));
}

fn scaling(rows: &mut Vec<ExtraRow>, large: u64) {
    let caller = &caller();
    let hits = |count: u64| -> Timed<'static> {
        let (service, _store) = seed::populated_service(count);
        let caller = caller.clone();
        let mut next = 0;
        Box::new(move |iters| {
            time_batches(
                iters,
                &mut next,
                // A scattered visit, as in the scaling bench.
                |n| key_only_request(n.wrapping_mul(2_654_435_761) % count),
                |request| {
                    ready(service.create_or_get(&caller, Target::Me, Profile::Beta, request))
                        .expect("a hit")
                },
            )
        })
    };
    rows.push(row(
        "scaling_hit_latency/1m_meetings",
        paired(hits(1_000), hits(large), 1.0),
    ));

    let (service, _store) = seed::populated_service(1_000);
    let requests: Vec<CreateOrGetRequest> = (0..1_000).map(key_only_request).collect();
    let threads = |count: usize| -> Timed<'_> {
        let (service, requests) = (&service, &requests);
        Box::new(move |iters| parallel_hits(service, requests, count, iters))
    };
    // Per-call time of one thread over per-round time of two threads doing
    // one call each: the throughput ratio.
    let (median, (low, high)) = paired(threads(1), threads(2), 1.0);
    rows.push(row(
        "scaling_threads/2_threads",
        (2.0 / median, (2.0 / high, 2.0 / low)),
    ));
}

fn main() {
    // `cargo bench` passes `--bench`; under `cargo test --benches` a smoke run
    // on a small store is enough.
    let benching = std::env::args().any(|arg| arg == "--bench");
    let mut rows = Vec::new();
    annotation(&mut rows);
    service(&mut rows);
    scaling(&mut rows, if benching { 1_000_000 } else { 10_000 });
    if benching {
        let group = ExtraGroup {
            group: "paired_ratios".to_owned(),
            unit: "ratio, median of 40 interleaved rounds".to_owned(),
            rows,
        };
        match report::write_extra(&report::target_dir(), &group) {
            Ok(path) => println!("wrote {}", path.display()),
            Err(error) => eprintln!("paired: could not write the result: {error}"),
        }
    }
}
