//! The annotation's cost: the seed's full meeting written and read with the
//! `ODataType` derive, against a plain serde tree writing the same bytes with
//! `@odata.type` as an ordinary `String` field.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use meeting_bench::plain;
use meeting_bench::run::time_batches;
use meeting_bench::seed::SEED_RESPONSE;
use meeting_core::OnlineMeeting;
use std::hint::black_box;

fn annotation(c: &mut Criterion) {
    let derived: OnlineMeeting = serde_json::from_str(SEED_RESPONSE).expect("the seed parses");
    let mirror: plain::OnlineMeeting =
        serde_json::from_str(SEED_RESPONSE).expect("the seed parses");
    let derived_json = serde_json::to_vec(&derived).expect("serializes");
    let mirror_json = serde_json::to_vec(&mirror).expect("serializes");
    // Otherwise the comparison would time two different outputs.
    assert_eq!(
        String::from_utf8_lossy(&derived_json),
        String::from_utf8_lossy(&mirror_json),
        "the plain mirror must write the model's JSON byte for byte"
    );

    let mut group = c.benchmark_group("annotation_serialize");
    group.throughput(Throughput::Elements(1));
    // One reused buffer: the figure is encoding, not growing a Vec.
    let mut buffer = Vec::with_capacity(4 * derived_json.len());
    group.bench_function("baseline_plain_serde", |b| {
        b.iter(|| {
            buffer.clear();
            serde_json::to_writer(&mut buffer, black_box(&mirror)).expect("serializes");
            black_box(buffer.len())
        })
    });
    group.bench_function("derive", |b| {
        b.iter(|| {
            buffer.clear();
            serde_json::to_writer(&mut buffer, black_box(&derived)).expect("serializes");
            black_box(buffer.len())
        })
    });
    group.finish();

    // The seed's text as published: pretty-printed, with `@odata.context`,
    // which both trees ignore. Every tag is checked by the derive's parse.
    let mut group = c.benchmark_group("annotation_parse");
    group.throughput(Throughput::Elements(1));
    // Parsed trees are dropped off the clock: the figure is parsing, and the
    // plain tree's tag strings would otherwise add their frees to its side.
    let text = SEED_RESPONSE.as_bytes();
    let mut next = 0;
    group.bench_function("baseline_plain_serde", |b| {
        b.iter_custom(|iters| {
            time_batches(
                iters,
                &mut next,
                |_| text,
                |text| serde_json::from_slice::<plain::OnlineMeeting>(text).expect("parses"),
            )
        })
    });
    group.bench_function("derive", |b| {
        b.iter_custom(|iters| {
            time_batches(
                iters,
                &mut next,
                |_| text,
                |text| serde_json::from_slice::<OnlineMeeting>(text).expect("parses"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, annotation);
criterion_main!(benches);
