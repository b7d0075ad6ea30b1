//! Paired timing for the stores' benches: on a shared machine whose costs
//! (fsync, scheduling) drift from second to second, only a baseline and a
//! candidate interleaved call by call give a fair ratio.

use std::time::{Duration, Instant};

/// The median of `samples` (which must not be empty).
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs `baseline` and `candidate` alternately `rounds` times; their median times.
pub fn paired(
    rounds: usize,
    mut baseline: impl FnMut(),
    mut candidate: impl FnMut(),
) -> (Duration, Duration) {
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        baseline();
        first.push(started.elapsed());
        let started = Instant::now();
        candidate();
        second.push(started.elapsed());
    }
    (median(first), median(second))
}

/// Prints a paired comparison's medians and ratio (criterion does not see it).
pub fn report(name: &str, (baseline, candidate): (Duration, Duration)) {
    eprintln!(
        "paired {name}: baseline {baseline:.1?}, store {candidate:.1?}, ratio {:.2}x",
        candidate.as_secs_f64() / baseline.as_secs_f64()
    );
}
