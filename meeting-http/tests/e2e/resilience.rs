//! Store outages, internal errors, timeouts and graceful shutdown.

use super::*;

fn switchable() -> (Arc<SwitchableStore>, MeetingService) {
    let store = Arc::new(SwitchableStore::default());
    (store.clone(), MeetingService::new(store))
}

#[tokio::test]
async fn a_store_outage_is_503_with_retry_after_and_service_resumes_when_it_is_back() {
    let (store, service) = switchable();
    let server = Server::start(service).await;
    let body = r#"{"externalId":"outage"}"#;

    store.set_mode(SwitchableStore::UNAVAILABLE);
    let reply = server.create_or_get("v1.0", &token(), body).await;
    reply.assert_error(503, "ServiceUnavailable");
    let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after > 0);
    let health = server.get("/healthz", "").await;
    health.assert_error(503, "ServiceUnavailable");
    assert!(health.header("retry-after").is_some());

    store.set_mode(SwitchableStore::WORKING);
    assert_eq!(
        server.create_or_get("v1.0", &token(), body).await.status,
        201
    );
    assert_eq!(server.get("/healthz", "").await.status, 200);
}

#[tokio::test]
async fn requests_past_the_concurrency_limit_are_shed_with_503_and_retry_after() {
    let (store, service) = switchable();
    let server = Arc::new(
        Server::start_with(service, |config| config.with_max_concurrent_requests(2)).await,
    );
    let held = store.gate.write().await;
    let in_flight: Vec<_> = (0..2)
        .map(|i| {
            let server = Arc::clone(&server);
            tokio::spawn(async move {
                let body = format!(r#"{{"externalId":"held-{i}"}}"#);
                server.create_or_get("v1.0", &token(), &body).await.status
            })
        })
        .collect();
    // Both hold their permits once they have reached the store. A request
    // that has not reached it within the server's request timeout never will
    // (it has been answered 503 by then).
    let waiting = tokio::time::Instant::now();
    while store.calls() < 2 {
        assert!(
            waiting.elapsed() < meeting_http::DEFAULT_REQUEST_TIMEOUT,
            "requests reach the store"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let shed = server
        .create_or_get("v1.0", &token(), r#"{"externalId":"shed"}"#)
        .await;
    shed.assert_error(503, "ServiceUnavailable");
    assert!(shed.header("retry-after").is_some());
    assert!(
        shed.header("request-id").is_some(),
        "shed answers are framed like any other"
    );
    assert_eq!(store.calls(), 2, "a shed request never reaches the store");

    drop(held);
    for request in in_flight {
        assert_eq!(request.await.unwrap(), 201);
    }
    let after = server
        .create_or_get("v1.0", &token(), r#"{"externalId":"shed"}"#)
        .await;
    assert_eq!(after.status, 201, "{}", after.text);
}

#[tokio::test]
async fn connections_past_the_limit_wait_until_one_closes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // An idle connection is closed at the header-read timeout: the first one
    // below frees its slot then, and not before.
    let idle = Duration::from_secs(1);
    let server = Server::start_serving(
        memory_service(),
        |config| config,
        ServeOptions::default()
            .with_max_connections(1)
            .with_header_read_timeout(idle),
    )
    .await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let request = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";

    // Before the first request: the server's idle clock for it starts later.
    let started = std::time::Instant::now();
    // The one slot, held by a keep-alive connection that has been answered.
    let mut first = tokio::net::TcpStream::connect(&address).await.unwrap();
    first.write_all(request).await.unwrap();
    let mut answer = [0u8; 12];
    first.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");

    // A second client connects (the kernel's backlog takes it) and is served
    // only once the first has been closed: not before the first's idle timeout.
    // Without the limit it would be answered at once.
    let mut second = tokio::net::TcpStream::connect(&address).await.unwrap();
    second.write_all(request).await.unwrap();
    // Once accepted, its request is answered within the server's request timeout.
    tokio::time::timeout(
        idle + meeting_http::DEFAULT_REQUEST_TIMEOUT,
        second.read_exact(&mut answer),
    )
    .await
    .expect("served once a slot is free")
    .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    assert!(
        started.elapsed() >= idle,
        "served after {:?}, while the only slot was taken",
        started.elapsed()
    );
    // The first was indeed closed by the server.
    let mut rest = Vec::new();
    first.read_to_end(&mut rest).await.unwrap();
    assert!(
        String::from_utf8_lossy(&rest).contains("\r\n\r\n"),
        "the rest of its answer, then the end"
    );
}

#[tokio::test]
async fn an_internal_store_failure_is_500_and_never_leaks_its_details() {
    let (store, service) = switchable();
    let server = Server::start(service).await;
    store.set_mode(SwitchableStore::BROKEN);
    let reply = server
        .create_or_get("beta", &token(), r#"{"externalId":"broken"}"#)
        .await;
    let message = reply.assert_error(500, "InternalServerError");
    assert!(!reply.text.contains("secret-volume"), "{}", reply.text);
    assert!(message.contains("request-id"), "{message}");
}

/// A memory store whose createOrGet for the key [`STUCK`] never returns (it
/// says when such a call has begun); every other call goes straight through.
#[derive(Debug, Default)]
struct StuckOnOneKey {
    inner: MemoryStore,
    entered: tokio::sync::Notify,
}

const STUCK: &str = "stuck";

#[async_trait]
impl MeetingStore for StuckOnOneKey {
    async fn create_or_get(
        &self,
        key: &MeetingKey,
        new_meeting: NewMeeting<'_>,
    ) -> Result<Outcome, StoreError> {
        if key.external_id.as_str() == STUCK {
            self.entered.notify_one();
            std::future::pending::<()>().await;
        }
        self.inner.create_or_get(key, new_meeting).await
    }

    async fn get_by_key(&self, key: &MeetingKey) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        self.inner.get_by_key(key).await
    }

    async fn get(&self, id: &MeetingId) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        self.inner.get(id).await
    }

    async fn delete(&self, id: &MeetingId) -> Result<bool, StoreError> {
        self.inner.delete(id).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_timeout_is_503_while_a_fast_one_is_answered_meanwhile() {
    let store = Arc::new(StuckOnOneKey::default());
    let timeout = Duration::from_secs(3);
    let server = Arc::new(
        Server::start_with(MeetingService::new(store.clone()), |config| {
            config.with_request_timeout(timeout)
        })
        .await,
    );
    let entered = store.entered.notified();
    let slow_started = std::time::Instant::now();
    let slow = {
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let reply = server
                .create_or_get("beta", &token(), &format!(r#"{{"externalId":"{STUCK}"}}"#))
                .await;
            (reply, slow_started.elapsed())
        })
    };
    // The slow request is inside the store (a signal, not a guess) before the
    // fast one is sent.
    entered.await;

    let fast_started = std::time::Instant::now();
    let fast = server
        .create_or_get("beta", &token(), r#"{"externalId":"fast"}"#)
        .await;
    let fast_took = fast_started.elapsed();
    assert_eq!(fast.status, 200, "{}", fast.text);
    assert!(
        !slow.is_finished(),
        "the fast request was answered while the slow one was still held"
    );
    assert!(
        fast_took < timeout,
        "the fast request took {fast_took:?}, not within the {timeout:?} timeout"
    );

    let (reply, slow_took) = slow.await.unwrap();
    let message = reply.assert_error(503, "ServiceUnavailable");
    assert!(reply.header("retry-after").is_some());
    assert!(
        message.contains(&format!("within {} s", timeout.as_secs_f64())),
        "{message}"
    );
    assert!(
        slow_took >= timeout,
        "answered after {slow_took:?}, before the {timeout:?} timeout"
    );
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_head_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let timeout = Duration::from_secs(1);
    let server = Server::start_serving(
        MeetingService::new(Arc::new(MemoryStore::new())),
        |config| config,
        ServeOptions::default().with_header_read_timeout(timeout),
    )
    .await;
    let address = server.base.trim_start_matches("http://").to_owned();
    // Before the connect, so that the server's clock for this connection
    // cannot have started earlier than ours, however the threads are scheduled.
    let started = std::time::Instant::now();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    // Half a request head, then nothing: one slow-loris connection.
    slow.write_all(b"POST /beta/me/onlineMeetings/createOrGet HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // A server that ignored the configured timeout would keep the connection
    // for the default one: half of that tells the two apart.
    let closed = tokio::time::timeout(
        meeting_http::DEFAULT_HEADER_READ_TIMEOUT / 2,
        slow.read_to_end(&mut answer),
    )
    .await
    .expect("the server closes the connection instead of waiting forever");
    assert!(
        closed.is_ok() && answer.is_empty(),
        "closed without an answer: {closed:?} {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(started.elapsed() >= timeout - Duration::from_millis(100));

    // Other clients were served meanwhile and still are.
    let reply = server
        .create_or_get("beta", &token(), r#"{"externalId":"after-slow-loris"}"#)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_at_shutdown_complete_and_their_meetings_are_stored() {
    let (store, service) = switchable();
    let mut server = Server::start(service).await;
    store.set_delay(Duration::from_millis(400));
    let client = server.client.clone();
    let url = server.url("/v1.0/me/onlineMeetings/createOrGet");
    let in_flight: Vec<_> = (0..8)
        .map(|i| {
            let request = client
                .post(&url)
                .bearer_auth(token())
                .header("content-type", "application/json")
                .body(format!(r#"{{"externalId":"in-flight-{i}"}}"#));
            tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    // Once every request is inside the (slow) store, shut down. A request not
    // there within the server's request timeout has been answered 503 instead.
    tokio::time::timeout(meeting_http::DEFAULT_REQUEST_TIMEOUT, async {
        while store.calls() < 8 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the requests reach the store");
    let stopped = server.begin_shutdown();
    for request in in_flight {
        assert_eq!(
            request
                .await
                .unwrap()
                .expect("an answer, not a dropped connection"),
            201
        );
    }
    // In-flight requests end within the request timeout, and so does the server.
    tokio::time::timeout(meeting_http::DEFAULT_REQUEST_TIMEOUT, stopped)
        .await
        .expect("the server stops once they are done")
        .unwrap()
        .unwrap();
    assert_eq!(store.stored(), 8, "every in-flight meeting is stored");
    assert!(
        client.get(server.url("/healthz")).send().await.is_err(),
        "no new connections after shutdown"
    );
}
