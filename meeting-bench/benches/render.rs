//! What each profile's answer costs to write: the seed's meeting (subject,
//! times, organizer, an attendee, dial-in, video) serialized as `beta` shows it
//! and as `v1.0` shows it, against plain serde of the stored meeting.
//!
//! Target (issue 11): the v1.0 view costs at most 1.2x the seed shape's.

use criterion::{criterion_group, criterion_main, Criterion};
use meeting_bench::run::ready;
use meeting_bench::seed::{self, caller, full_request};
use meeting_core::render::view;
use meeting_core::{Profile, Target};
use std::hint::black_box;

fn render(c: &mut Criterion) {
    let (service, _store) = seed::service();
    // A v1.0-era meeting: join id and options stored.
    let meeting =
        ready(service.create_or_get(&caller(), Target::Me, Profile::V1, &full_request(0)))
            .expect("created")
            .into_meeting();
    let mut buffer = Vec::with_capacity(8 * 1024);
    let mut group = c.benchmark_group("render");
    group.bench_function("stored_meeting_plain_serde", |b| {
        b.iter(|| {
            buffer.clear();
            serde_json::to_writer(&mut buffer, black_box(&*meeting)).expect("serializes");
            black_box(buffer.len())
        })
    });
    for (name, profile) in [("beta_view", Profile::Beta), ("v1_view", Profile::V1)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                buffer.clear();
                serde_json::to_writer(&mut buffer, &view(black_box(&meeting), profile))
                    .expect("serializes");
                black_box(buffer.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
