//! One path of the service run many times, for a profiler that counts
//! instructions (callgrind), where criterion's timing loop would be noise.
//!
//! ```text
//! cargo build --release -p meeting-bench --example profile
//! valgrind --tool=callgrind --callgrind-out-file=create.out \
//!     target/release/examples/profile create 20000
//! callgrind_annotate create.out | head -60
//! ```
//!
//! Paths: `create` (createOrGet of a new key through the service over the
//! memory store, the seed's request), `build` (the same meeting built by hand:
//! the paired bench's baseline), `hit` (createOrGet of a stored key). Run each
//! with two counts: the difference divided by the difference of counts is the
//! cost of one call, without the set-up.

use meeting_bench::run::ready;
use meeting_bench::seed::{self, caller, full_request, key_only_request};
use meeting_core::{Profile, Target};
use std::hint::black_box;
use std::sync::Arc;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(count)) = (args.next(), args.next()) else {
        eprintln!("usage: profile create|build|hit COUNT");
        std::process::exit(2);
    };
    let count: u64 = count.parse().expect("COUNT is a number");
    let caller = caller();
    match path.as_str() {
        "create" => {
            let (service, _store) = seed::service();
            let requests: Vec<_> = (0..count).map(full_request).collect();
            for request in &requests {
                let outcome =
                    ready(service.create_or_get(&caller, Target::Me, Profile::Beta, request))
                        .expect("created");
                assert!(outcome.is_created());
                black_box(outcome);
            }
        }
        "build" => {
            let (service, _store) = seed::service();
            let template =
                ready(service.create_or_get(&caller, Target::Me, Profile::Beta, &full_request(0)))
                    .expect("created")
                    .into_meeting();
            for _ in 0..count {
                black_box(Arc::new(seed::build_by_hand(black_box(&template))));
            }
        }
        "hit" => {
            let (service, _store) = seed::populated_service(1_000);
            let requests: Vec<_> = (0..1_000).map(key_only_request).collect();
            for n in 0..count {
                let request = &requests[(n % 1_000) as usize];
                black_box(
                    ready(service.create_or_get(&caller, Target::Me, Profile::Beta, request))
                        .expect("a hit"),
                );
            }
        }
        other => {
            eprintln!("unknown path {other}: create, build or hit");
            std::process::exit(2);
        }
    }
}
