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
    // Both hold their permits once they have reached the store.
    let waiting = tokio::time::Instant::now();
    while store.calls() < 2 {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
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
    let server = Server::start_serving(
        memory_service(),
        |config| config,
        ServeOptions::default().with_max_connections(1),
    )
    .await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let request = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";

    // The one slot, held by a keep-alive connection that has been answered.
    let mut first = tokio::net::TcpStream::connect(&address).await.unwrap();
    first.write_all(request).await.unwrap();
    let mut answer = [0u8; 12];
    first.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");

    // A second client connects (the kernel's backlog takes it) but is not served...
    let mut second = tokio::net::TcpStream::connect(&address).await.unwrap();
    second.write_all(request).await.unwrap();
    let early =
        tokio::time::timeout(Duration::from_millis(500), second.read_exact(&mut answer)).await;
    assert!(early.is_err(), "served while the only slot was taken");

    // ...until the first closes.
    drop(first);
    tokio::time::timeout(Duration::from_secs(30), second.read_exact(&mut answer))
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
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

#[tokio::test]
async fn a_request_past_the_timeout_is_503() {
    let (store, service) = switchable();
    // The timeout is also all the time the fast request below gets: 1 s, so that
    // a stall of a loaded machine is not taken for a slow store.
    let server = Server::start_with(service, |config| {
        config.with_request_timeout(Duration::from_secs(1))
    })
    .await;
    store.set_delay(Duration::from_secs(10));
    let reply = server
        .create_or_get("beta", &token(), r#"{"externalId":"slow"}"#)
        .await;
    reply.assert_error(503, "ServiceUnavailable");
    assert!(reply.header("retry-after").is_some());
    store.set_delay(Duration::ZERO);
    assert_eq!(
        server
            .create_or_get("beta", &token(), r#"{"externalId":"fast"}"#)
            .await
            .status,
        200
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
    let closed = tokio::time::timeout(Duration::from_secs(30), slow.read_to_end(&mut answer))
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
    // Once every request is inside the (slow) store, shut down.
    tokio::time::timeout(Duration::from_secs(10), async {
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
    tokio::time::timeout(Duration::from_secs(10), stopped)
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
