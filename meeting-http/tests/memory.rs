//! What one request can cost in memory: hostile 4 MiB bodies, one at a time
//! and 16 at once, measured by a counting allocator around the router.
//!
//! The bound (documented in the README's limits): a request's peak is at most
//! [`PER_BODY`] times its body, so 16 concurrent 4 MiB bodies stay within 16
//! times that. Before bodies were bounded while parsing, four bodies of 1.4
//! million empty attendees took `meetingd` to 1.68 GB.
//!
//! One test, run alone in its binary: the allocator counts the whole process.

use axum::body::Body;
use axum::http::{header, Request};
use meeting_core::MeetingService;
use meeting_http::auth::{mint_hs256, TokenSpec, TokenVerifier};
use meeting_http::{router, HttpConfig, BODY_LIMIT};
use meeting_store_memory::MemoryStore;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tower::Service;

/// The most a request may allocate at its peak, as a multiple of its body's
/// size. The body itself is one, its copy in the router another; building
/// what it holds (strings, the open types' members and serde's buffer for
/// them), storing it and rendering the answer, the rest.
const PER_BODY: usize = 8;

/// What building the most JSON values a body may hold costs on top, however
/// small the body ([`meeting_core::JSON_MAX_VALUES`], at about 150 bytes each).
const VALUES: usize = 10 * 1024 * 1024;

fn bound(body: usize) -> usize {
    PER_BODY * body + VALUES
}

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SECRET: &[u8] = b"memory-test-secret-of-at-least-32-bytes";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd0110000";
const USER: &str = "d4a060b5-a8fc-450c-837b-750b2c280000";

/// Repeats `item` (comma-separated) inside `before…after` until the body is
/// just under the body limit.
fn fill(before: &str, item: &str, after: &str) -> String {
    let room = BODY_LIMIT - before.len() - after.len() - 16;
    let count = room / (item.len() + 1);
    let mut body = String::with_capacity(BODY_LIMIT);
    body.push_str(before);
    for i in 0..count {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str(after);
    body
}

/// Bodies that each try to make the most of 4 MiB. `{key}` is replaced by a
/// distinct `externalId` per request.
fn hostile_bodies() -> Vec<(&'static str, String)> {
    let big_string = "é".repeat(BODY_LIMIT / 2 - 200);
    vec![
        (
            "1.4 million empty attendees",
            fill(
                r#"{"externalId":"{key}","participants":{"attendees":["#,
                "{}",
                "]}}",
            ),
        ),
        (
            "1,001 attendees with 4 KiB names, then more",
            fill(
                r#"{"externalId":"{key}","participants":{"attendees":["#,
                &format!(r#"{{"upn":"{}"}}"#, "u".repeat(4096)),
                "]}}",
            ),
        ),
        (
            "zeros in an open-type member",
            fill(
                r#"{"externalId":"{key}","participants":{"attendees":[{"identity":{"user":{"id":"u1","x":["#,
                "0",
                "]}}}]}}",
            ),
        ),
        (
            "60,000 strings in an open-type member (accepted and stored)",
            fill(
                r#"{"externalId":"{key}","participants":{"attendees":[{"identity":{"user":{"id":"u1","x":["#,
                &format!(r#""{}""#, "s".repeat(BODY_LIMIT / 60_000 - 3)),
                "]}}}]}}",
            ),
        ),
        (
            "one 4 MiB string in an open-type member (accepted and stored)",
            format!(
                r#"{{"externalId":"{{key}}","participants":{{"attendees":[{{"identity":{{"user":{{"id":"u1","x":"{big_string}"}}}}}}]}}}}"#
            ),
        ),
        (
            "65,500 zeros in an open-type member (accepted and stored)",
            format!(
                r#"{{"externalId":"{{key}}","participants":{{"attendees":[{{"identity":{{"user":{{"id":"u1","x":[{}]}}}}}}]}}}}"#,
                vec!["0"; 65_500].join(",")
            ),
        ),
        (
            "nested objects in an unknown member",
            fill(r#"{"externalId":"{key}","x":["#, r#"{"a":{"b":[]}}"#, "]}"),
        ),
    ]
}

/// `template` with its `{key}` replaced, allocated once at its final size.
fn keyed(template: &str, key: &str) -> String {
    let (before, after) = template.split_once("{key}").expect("a {key} in the body");
    let mut body = String::with_capacity(template.len() + key.len());
    body.push_str(before);
    body.push_str(key);
    body.push_str(after);
    body
}

async fn send(app: &axum::Router, token: &str, body: String) -> u16 {
    let request = Request::post("/v1.0/me/onlineMeetings/createOrGet")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().call(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    // Every answer is a meeting or one of Graph's 400s: nothing fell over.
    let text = String::from_utf8_lossy(&bytes);
    let expected = match status {
        201 => "\"joinWebUrl\"",
        400 => "\"BadRequest\"",
        _ => "(a 201 or a 400)",
    };
    assert!(
        text.contains(expected),
        "{status}: {}",
        &text[..text.len().min(300)]
    );
    status
}

/// Allocation past the level at the start of `run`, at its peak.
async fn peak_of<F: std::future::Future<Output = ()>>(run: F) -> usize {
    let before = CURRENT.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    run.await;
    PEAK.load(Ordering::SeqCst) - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn peak_memory_of_a_request_is_a_small_multiple_of_its_body() {
    let verifier = TokenVerifier::hs256(SECRET).unwrap();
    let config = HttpConfig::new("https://graph.microsoft.com", verifier);
    let app = router(MeetingService::new(Arc::new(MemoryStore::new())), config);
    let token = mint_hs256(SECRET, &TokenSpec::delegated(TENANT, USER)).unwrap();
    let mut report = Vec::new();
    for (round, (name, body)) in hostile_bodies().into_iter().enumerate() {
        assert!(body.len() <= BODY_LIMIT, "{name}: {} bytes", body.len());
        // Bodies are made inside the measure: the request's cost includes its body.
        let size = body.len();
        let mut status = 0;
        let peak = peak_of(async {
            let alone = keyed(&body, &format!("alone-{round}"));
            status = send(&app, &token, alone).await;
        })
        .await;
        report.push(format!(
            "{name}: {status}, alone {:.1} MiB for a {:.1} MiB body",
            mib(peak),
            mib(size)
        ));
        assert!(
            peak <= bound(size),
            "{name}: one request peaked at {:.1} MiB for a {:.1} MiB body",
            mib(peak),
            mib(size)
        );

        let peak = peak_of(async {
            let tasks: Vec<_> = (0..16)
                .map(|i| {
                    let body = keyed(&body, &format!("together-{round}-{i}"));
                    let (app, token) = (app.clone(), token.clone());
                    tokio::spawn(async move { send(&app, &token, body).await })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        })
        .await;
        let total = 16 * size;
        report.push(format!("{name}: 16 at once {:.1} MiB", mib(peak)));
        assert!(
            peak <= 16 * bound(size),
            "{name}: 16 requests peaked at {:.1} MiB for {:.1} MiB of bodies",
            mib(peak),
            mib(total)
        );
    }
    // Shown with --nocapture: the figures the README quotes.
    println!("{}", report.join("\n"));
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
