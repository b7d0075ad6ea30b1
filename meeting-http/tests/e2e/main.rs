//! End-to-end tests: a real server listening on 127.0.0.1, a real HTTP client.

mod errors;
mod graph_today;
mod meetings;
mod operations;
mod properties;
mod resilience;
mod tokens;

use async_trait::async_trait;
use meeting_core::{
    MeetingId, MeetingKey, MeetingService, MeetingStore, NewMeeting, OnlineMeeting, Outcome,
    StoreError,
};
use meeting_http::auth::{mint_hs256, TokenSpec, TokenVerifier};
use meeting_http::{router, HttpConfig, ServeOptions, CONTENT_TYPE};
use meeting_store_memory::MemoryStore;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const SECRET: &[u8] = b"e2e-test-secret-of-at-least-32-bytes";
pub use meeting_tests::seed::{ORGANIZER as USER, TENANT};
pub const OTHER_USER: &str = "0b9e2f6c-1111-4222-8333-944455556666";
pub use meeting_tests::http::Reply;
pub use meeting_tests::seed::{REQUEST as SEED_REQUEST, RESPONSE as SEED_RESPONSE};

/// A server on an ephemeral loopback port, stopped gracefully on drop or by [`Server::stop`].
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start(service: MeetingService) -> Server {
        Self::start_with(service, |config| config).await
    }

    pub async fn start_with(
        service: MeetingService,
        configure: impl FnOnce(HttpConfig) -> HttpConfig,
    ) -> Server {
        Self::start_serving(service, configure, ServeOptions::default()).await
    }

    pub async fn start_serving(
        service: MeetingService,
        configure: impl FnOnce(HttpConfig) -> HttpConfig,
        options: ServeOptions,
    ) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let verifier = TokenVerifier::hs256(SECRET).unwrap();
        let config = configure(HttpConfig::new(base.clone(), verifier));
        let (tx, rx) = oneshot::channel::<()>();
        let app = router(service, config);
        let shutdown = async {
            let _ = rx.await;
        };
        let handle = tokio::spawn(meeting_http::serve_with(listener, app, shutdown, options));
        Server {
            base,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// Starts a graceful shutdown and waits until the server has stopped.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            // A graceful stop waits at most a request head's and a request's timeout.
            let bound =
                meeting_http::DEFAULT_HEADER_READ_TIMEOUT + meeting_http::DEFAULT_REQUEST_TIMEOUT;
            tokio::time::timeout(bound, handle)
                .await
                .expect("the server stops")
                .unwrap()
                .unwrap();
        }
    }

    /// Starts a graceful shutdown without waiting.
    pub fn begin_shutdown(&mut self) -> JoinHandle<std::io::Result<()>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.handle.take().expect("running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs a JSON body to `path` with `token`.
    pub async fn post(&self, path: &str, token: &str, body: impl Into<reqwest::Body>) -> Reply {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the server answers");
        Reply::read(response).await
    }

    pub async fn create_or_get(&self, version: &str, token: &str, body: &str) -> Reply {
        self.post(
            &format!("/{version}/me/onlineMeetings/createOrGet"),
            token,
            body.to_owned(),
        )
        .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("the server answers");
        Reply::read(response).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A delegated token for `user` with `OnlineMeetings.ReadWrite`.
pub fn token_for(user: &str) -> String {
    let mut spec = TokenSpec::delegated(TENANT, user);
    spec.name = Some("Tyler Stein".into());
    spec.upn = Some(format!("{user}@contoso.com"));
    mint_hs256(SECRET, &spec).unwrap()
}

/// The default caller's token.
pub fn token() -> String {
    token_for(USER)
}

pub fn memory_service() -> MeetingService {
    MeetingService::new(Arc::new(MemoryStore::new()))
}

/// A store the test can make fail or slow down, over a memory store.
#[derive(Debug, Default)]
pub struct SwitchableStore {
    inner: MemoryStore,
    mode: AtomicU8,
    delay_ms: AtomicU64,
    calls: AtomicU64,
    /// Every call waits for a read lock: a test holding the write lock holds every call.
    pub gate: tokio::sync::RwLock<()>,
}

impl SwitchableStore {
    pub const WORKING: u8 = 0;
    pub const UNAVAILABLE: u8 = 1;
    pub const BROKEN: u8 = 2;

    pub fn set_mode(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    pub fn stored(&self) -> usize {
        self.inner.len()
    }

    /// How many store calls have begun.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        drop(self.gate.read().await);
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        match self.mode.load(Ordering::SeqCst) {
            Self::UNAVAILABLE => Err(StoreError::unavailable("connection refused (test outage)")),
            Self::BROKEN => Err(StoreError::internal(
                "disk /srv/secret-volume is corrupt (test)",
            )),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl MeetingStore for SwitchableStore {
    async fn create_or_get(
        &self,
        key: &MeetingKey,
        new_meeting: NewMeeting<'_>,
    ) -> Result<Outcome, StoreError> {
        self.check().await?;
        self.inner.create_or_get(key, new_meeting).await
    }

    async fn get_by_key(&self, key: &MeetingKey) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        self.check().await?;
        self.inner.get_by_key(key).await
    }

    async fn get(&self, id: &MeetingId) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        self.check().await?;
        self.inner.get(id).await
    }

    async fn delete(&self, id: &MeetingId) -> Result<bool, StoreError> {
        self.check().await?;
        self.inner.delete(id).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.check().await
    }
}

/// Sends raw bytes to the server at `base` and reads the answer until the server closes.
pub async fn raw_exchange(base: &str, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}
