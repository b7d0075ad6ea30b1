//! Memory: live bytes per meeting stored in the memory store, against the size
//! of the meeting's JSON.
//!
//! Not a criterion bench (criterion measures time): a counting global
//! allocator tracks live heap bytes, and the figure is the growth after
//! storing N meetings, divided by N. It writes its rows where the report finds
//! them (`target/meeting-bench/memory_per_meeting.json`).

use meeting_bench::report::{self, ExtraGroup, ExtraRow};
use meeting_bench::run::ready;
use meeting_bench::seed::{self, caller, full_request};
use meeting_core::Target;
use meeting_core::{OnlineMeeting, Profile};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

/// The system allocator, counting live bytes and live allocations.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> (isize, isize) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_BLOCKS.load(Ordering::Relaxed),
    )
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and a
    // smoke run is all a test needs.
    let benching = std::env::args().any(|arg| arg == "--bench");
    let count: usize = if benching { 100_000 } else { 1_000 };
    let caller = caller();

    // Requested bytes, as the program asked for them: the allocator's own
    // rounding and headers (about 8-16 bytes per block with glibc) come on top.
    let (bytes_before, blocks_before) = live();
    let (service, store) = seed::service();
    for n in 0..count as u64 {
        black_box(
            ready(service.create_or_get(&caller, Target::Me, Profile::Beta, &full_request(n)))
                .expect("stored"),
        );
    }
    let (bytes_after, blocks_after) = live();
    let store_bytes = (bytes_after - bytes_before) as f64 / count as f64;
    let store_blocks = (blocks_after - blocks_before) as f64 / count as f64;

    // The meetings alone (each in its `Arc`), without the store's keys and maps.
    let meetings: Vec<Arc<OnlineMeeting>> = (0..count as u64)
        .map(|n| {
            ready(meeting_core::MeetingStore::get_by_key(
                &*store,
                &seed::key(n),
            ))
            .expect("in memory")
            .expect("stored")
        })
        .collect();
    let (before, blocks_before) = live();
    let copies: Vec<Arc<OnlineMeeting>> = meetings
        .iter()
        .map(|meeting| Arc::new(seed::build_by_hand(meeting)))
        .collect();
    let (after, blocks_after) = live();
    let vector = (copies.capacity() * size_of::<Arc<OnlineMeeting>>()) as f64;
    let meeting_bytes = ((after - before) as f64 - vector) / count as f64;
    let meeting_blocks = (blocks_after - blocks_before - 1) as f64 / count as f64;
    drop(copies);

    let json_bytes = meetings
        .iter()
        .map(|meeting| serde_json::to_vec(&**meeting).expect("serializes").len())
        .sum::<usize>() as f64
        / count as f64;
    drop(meetings);
    drop(service);

    println!(
        "memory_per_meeting ({count} meetings): compact JSON {json_bytes:.0} B; \
         meeting alone {meeting_bytes:.0} B in {meeting_blocks:.1} blocks; \
         in the memory store {store_bytes:.0} B in {store_blocks:.1} blocks ({:.2}x the JSON)",
        store_bytes / json_bytes
    );
    if benching {
        let group = ExtraGroup {
            group: "memory_per_meeting".to_owned(),
            unit: "bytes".to_owned(),
            rows: vec![
                ExtraRow {
                    function: "baseline_compact_json".to_owned(),
                    value: json_bytes,
                    quartiles: None,
                },
                ExtraRow {
                    function: "online_meeting_alone".to_owned(),
                    value: meeting_bytes,
                    quartiles: None,
                },
                ExtraRow {
                    function: "memory_store".to_owned(),
                    value: store_bytes,
                    quartiles: None,
                },
            ],
        };
        match report::write_extra(&report::target_dir(), &group) {
            Ok(path) => println!("wrote {}", path.display()),
            Err(error) => eprintln!("memory: could not write the result: {error}"),
        }
    }
}
