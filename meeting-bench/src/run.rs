//! Driving the service without a runtime, and timing batches of inputs.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Barrier;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use meeting_core::{CreateOrGetRequest, MeetingService, Profile, Target};

/// The output of a future that completes on its first poll.
///
/// The memory store never suspends, so its futures (and the service's over
/// it) are ready at once; polling them directly keeps an executor's own cost
/// out of the service's figures.
///
/// # Panics
/// When the future is not ready at once: it would need a runtime.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future suspended; only non-blocking stores can be polled"),
    }
}

/// Inputs made per timed stretch: enough to hide the clock's cost (two reads
/// per 64 calls, under 1 ns a call), few enough that the inputs stay in cache
/// and a chunk's outputs (64 parsed meetings, ~160 KB) are freed back into
/// the heap rather than trimmed from it, so the next chunk takes no page faults.
const CHUNK: u64 = 64;

/// The time `routine` takes over `iters` inputs, the `n`th made by `input(n)`.
///
/// Making inputs and dropping inputs and outputs happen off the clock, a chunk
/// at a time, like criterion's `iter_batched_ref` but with the index, so that
/// every call can get its own key, and with `first` so that successive samples
/// never reuse a key (pass a counter that keeps growing). The routine borrows
/// its input, as the service borrows a request: moving an 816-byte request
/// into each call would time the harness's copies.
pub fn time_batches<I, O>(
    iters: u64,
    first: &mut u64,
    mut input: impl FnMut(u64) -> I,
    mut routine: impl FnMut(&I) -> O,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let count = CHUNK.min(iters - done);
        let inputs: Vec<I> = (*first..*first + count).map(&mut input).collect();
        *first += count;
        let mut outputs = Vec::with_capacity(inputs.len());
        let start = Instant::now();
        for item in &inputs {
            outputs.push(routine(black_box(item)));
        }
        total += start.elapsed();
        drop(black_box((inputs, outputs)));
        done += count;
    }
    total
}

/// Wall time from the moment every thread is ready to the moment the last
/// finishes `iters` hits: createOrGet a request (borrowed), drop the outcome.
///
/// Each thread takes its own slice of `requests` and its own [`Caller`](meeting_core::Caller),
/// as independent clients have their own meetings and tokens: threads sharing
/// them would also measure `Arc` counts bouncing between cores, which real
/// traffic rarely does.
pub fn parallel_hits(
    service: &MeetingService,
    requests: &[CreateOrGetRequest],
    threads: usize,
    iters: u64,
) -> Duration {
    let share = requests.len() / threads;
    parallel(threads, |thread| {
        let own = &requests[thread * share..(thread + 1) * share];
        // Its own caller too: as each request has its own token, so threads
        // never share the ids' reference counts.
        let caller = crate::seed::caller();
        move || {
            for i in 0..iters as usize {
                let request = &own[(i * 7) % own.len()];
                black_box(
                    ready(service.create_or_get(&caller, Target::Me, Profile::Beta, request))
                        .expect("a hit"),
                );
            }
        }
    })
}

/// Wall time from the moment every thread is ready (each has run
/// `prepare(thread)`) to the moment the last finishes the work it returned.
pub fn parallel<P, W>(threads: usize, prepare: P) -> Duration
where
    P: Fn(usize) -> W + Sync,
    W: FnOnce(),
{
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let (barrier, prepare) = (&barrier, &prepare);
                scope.spawn(move || {
                    let work = prepare(thread);
                    barrier.wait();
                    let start = Instant::now();
                    work();
                    (start, Instant::now())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a worker panicked"))
            .collect()
    });
    let start = spans.iter().map(|span| span.0).min().expect("one thread");
    let end = spans.iter().map(|span| span.1).max().expect("one thread");
    end - start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_batches_gives_each_call_its_own_index_across_samples() {
        let mut next = 0;
        let mut seen = Vec::new();
        time_batches(200, &mut next, |n| n, |n| seen.push(*n));
        time_batches(3, &mut next, |n| n, |n| seen.push(*n));
        assert_eq!(seen, (0..203).collect::<Vec<_>>());
    }

    #[test]
    fn ready_returns_a_ready_futures_output() {
        assert_eq!(ready(async { 7 }), 7);
    }
}
