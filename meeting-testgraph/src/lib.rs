//! A Microsoft Graph `onlineMeeting: createOrGet` stand-in for your tests: a
//! real HTTP server on a free loopback port, in your test's process, that
//! keeps meetings, checks tokens, tells created from existing, fails on
//! purpose when told to, and lets the test look inside and reset it.
//!
//! Point the code under test at [`TestGraph::base_url`] instead of
//! `https://graph.microsoft.com`, and give it a token from
//! [`TestGraph::user_token`] or [`TestGraph::app_token`]:
//!
//! ```
//! use meeting_testgraph::TestGraph;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let graph = TestGraph::start().await;
//! let token = graph.user_token("72f988bf-86f1-41af-91ab-2d7cd0110000", "d4a060b5-a8fc-450c-837b-750b2c280000");
//!
//! // What the code under test does, with any HTTP client:
//! let client = reqwest::Client::new();
//! let create = || {
//!     client
//!         .post(format!("{}/v1.0/me/onlineMeetings/createOrGet", graph.base_url()))
//!         .bearer_auth(&token)
//!         .header("content-type", "application/json")
//!         .body(r#"{"externalId": "standup-2026-01-05", "subject": "Stand-up"}"#)
//!         .send()
//! };
//! let first = create().await?;
//! assert_eq!(first.status(), 201);
//! let first: serde_json::Value = serde_json::from_str(&first.text().await?)?;
//! let again = create().await?;
//! assert_eq!(again.status(), 200);
//! let again: serde_json::Value = serde_json::from_str(&again.text().await?)?;
//! assert_eq!(first["id"], again["id"]);
//!
//! // What the test checks afterwards:
//! let stored = graph.meetings().await;
//! assert_eq!(stored.len(), 1);
//! assert_eq!(stored[0].subject.as_deref(), Some("Stand-up"));
//! graph.reset().await;
//! assert_eq!(graph.meeting_count().await, 0);
//! # Ok(())
//! # }
//! ```
//!
//! Faults make the server fail the way Graph does, reproducibly (the rule
//! syntax is [`meeting_http::faults`]'s):
//!
//! ```
//! use meeting_testgraph::TestGraph;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let graph = TestGraph::builder().fault_seed(7).start().await;
//! // The first createOrGet is stored, but its answer is "lost": the client sees a 503.
//! graph.inject("route=createOrGet,status=503,when=after-commit,nth=1")?;
//!
//! let client = reqwest::Client::new();
//! let send = || {
//!     client
//!         .post(format!("{}/beta/me/onlineMeetings/createOrGet", graph.base_url()))
//!         .bearer_auth(graph.user_token("tenant-1", "user-1"))
//!         .header("content-type", "application/json")
//!         .body(r#"{"externalId": "retry-me"}"#)
//!         .send()
//! };
//! let lost = send().await?;
//! assert_eq!(lost.status(), 503);
//! assert!(lost.headers().contains_key("retry-after"));
//! assert_eq!(graph.meeting_count().await, 1, "stored although the client saw a 503");
//! assert_eq!(send().await?.status(), 200, "the retry gets the stored meeting");
//! assert_eq!(graph.meeting_count().await, 1);
//!
//! // Settings change at run time, for the next call.
//! graph.update_settings(|settings| settings.strict = true);
//! assert!(graph.settings().strict);
//! # Ok(())
//! # }
//! ```
//!
//! With [`TestGraphBuilder::admin_api`] the server also serves the
//! [admin API](meeting_http::admin) under `/_meetingd/`, for tests written in
//! other languages or driving a server they share.

#![warn(missing_docs)]

use meeting_core::{MeetingId, MeetingService, MeetingStore, OnlineMeeting, ADMIN_PAGE_MAX};
use meeting_http::admin::AdminToken;
use meeting_http::auth::{mint_hs256, TokenVerifier};
use meeting_http::HttpConfig;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use meeting_core::Settings;
pub use meeting_http::admin::AdminTokenError;
pub use meeting_http::auth::TokenSpec;
pub use meeting_http::faults::{
    FaultError, FaultPlan, FaultRoute, FaultRule, FaultStats, FaultStatus, FaultTrigger, FaultWhen,
    Faults,
};

/// A Graph stand-in listening on `127.0.0.1` on a free port, until dropped
/// (or [`stop`](Self::stop)ped). Needs a Tokio runtime, such as `#[tokio::test]`'s.
///
/// Methods that read the store panic if the store fails: the memory store
/// never does, and a test server whose store fails cannot go on.
#[derive(Debug)]
pub struct TestGraph {
    base_url: String,
    secret: String,
    service: MeetingService,
    settings: Settings,
    faults: Faults,
    admin_token: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// Why a [`TestGraph`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// No loopback port could be bound.
    #[error("cannot listen on a loopback port: {0}")]
    Bind(#[source] std::io::Error),
    /// The admin token given is not acceptable.
    #[error(transparent)]
    AdminToken(AdminTokenError),
    /// The faults given are invalid.
    #[error(transparent)]
    Faults(FaultError),
}

/// How a [`TestGraph`] starts: its store, settings, faults, admin API.
#[derive(Debug, Default)]
pub struct TestGraphBuilder {
    store: Option<Arc<dyn MeetingStore>>,
    settings: Settings,
    faults: FaultPlan,
    admin_token: Option<String>,
    request_timeout: Option<Duration>,
}

impl TestGraphBuilder {
    /// Keeps meetings in `store` instead of a new memory store.
    pub fn store(mut self, store: Arc<dyn MeetingStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Starts with these settings (and [`TestGraph::reset`] returns to them).
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Starts with these faults (checked at start).
    pub fn faults(mut self, plan: FaultPlan) -> Self {
        self.faults = plan;
        self
    }

    /// Adds a fault rule (checked at start).
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.rules.push(rule);
        self
    }

    /// The seed of the faults' `rate` draws (0 by default).
    pub fn fault_seed(mut self, seed: u64) -> Self {
        self.faults.seed = seed;
        self
    }

    /// Serves the admin API under `/_meetingd/` with a random token
    /// ([`TestGraph::admin_token`]).
    pub fn admin_api(self) -> Self {
        let token = format!("testgraph-{}", uuid::Uuid::new_v4().simple());
        self.admin_token(token)
    }

    /// Serves the admin API under `/_meetingd/` with this token (16 to 512
    /// visible ASCII characters, checked at start).
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// The longest a request may take (30 s by default); past it a `503`.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Starts the server.
    ///
    /// # Panics
    ///
    /// If it cannot start ([`try_start`](Self::try_start) says why instead).
    pub async fn start(self) -> TestGraph {
        match self.try_start().await {
            Ok(graph) => graph,
            Err(error) => panic!("the test Graph server cannot start: {error}"),
        }
    }

    /// Starts the server, or says why it cannot.
    pub async fn try_start(self) -> Result<TestGraph, StartError> {
        let admin_token = self
            .admin_token
            .map(|token| AdminToken::new(token.clone()).map(|checked| (checked, token)))
            .transpose()
            .map_err(StartError::AdminToken)?;
        self.faults.validate().map_err(StartError::Faults)?;
        let faults = Faults::new(self.faults);

        // Random, and past the 32-byte minimum.
        let secret = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let verifier =
            TokenVerifier::hs256(secret.as_bytes()).expect("a 64-byte secret is long enough");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(StartError::Bind)?;
        let address = listener.local_addr().map_err(StartError::Bind)?;
        let base_url = format!("http://{address}");

        let store = self
            .store
            .unwrap_or_else(|| Arc::new(meeting_store_memory::MemoryStore::new()));
        let service = MeetingService::new(store).with_settings(self.settings.clone());
        let mut config = HttpConfig::new(base_url.clone(), verifier).with_faults(faults.clone());
        if let Some(timeout) = self.request_timeout {
            config = config.with_request_timeout(timeout);
        }
        if let Some((token, _)) = &admin_token {
            config = config.with_admin_token(token.clone());
        }
        let app = meeting_http::router(service.clone(), config);
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(meeting_http::serve(listener, app, async move {
            let _ = stopped.await;
        }));
        Ok(TestGraph {
            base_url,
            secret,
            service,
            settings: self.settings,
            faults,
            admin_token: admin_token.map(|(_, text)| text),
            shutdown: Some(shutdown),
            server: Some(server),
        })
    }
}

impl TestGraph {
    /// A server on a new memory store, default settings, no faults, no admin API.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub async fn start() -> TestGraph {
        Self::builder().start().await
    }

    /// A server configured step by step.
    pub fn builder() -> TestGraphBuilder {
        TestGraphBuilder::default()
    }

    /// `http://127.0.0.1:PORT`: where the code under test sends Graph's requests
    /// (`{base_url}/v1.0/me/onlineMeetings/createOrGet`, …).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `path` (beginning with `/`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A delegated token of `user` (object id) in `tenant` with
    /// `OnlineMeetings.ReadWrite`, valid for a day, issued as Entra ID v2 would.
    pub fn user_token(&self, tenant: &str, user: &str) -> String {
        self.token(&TokenSpec::delegated(tenant, user))
    }

    /// An app-only token of application `app_id` in `tenant` with `roles`
    /// (such as `OnlineMeetings.ReadWrite.All`): `idtyp: app`, `azp` and
    /// `oid` both `app_id`. Which users it may act for is the settings'
    /// application access policy.
    pub fn app_token<R: Into<String>>(
        &self,
        tenant: &str,
        app_id: &str,
        roles: impl IntoIterator<Item = R>,
    ) -> String {
        let spec = TokenSpec {
            scopes: roles.into_iter().map(Into::into).collect(),
            ..TokenSpec::application(tenant, app_id)
        };
        self.token(&spec)
    }

    /// A token saying what `spec` says (name, UPN, scopes, lifetime, audience, issuer).
    pub fn token(&self, spec: &TokenSpec) -> String {
        mint_hs256(self.secret.as_bytes(), spec).expect("claims always serialize")
    }

    /// The HS256 secret tokens are checked with, for minting tokens elsewhere.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The admin API's bearer token, when it is on.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token.as_deref()
    }

    /// The service behind the server, for anything not offered here.
    pub fn service(&self) -> &MeetingService {
        &self.service
    }

    /// The settings in force.
    pub fn settings(&self) -> Arc<Settings> {
        self.service.settings()
    }

    /// Replaces the settings; calls from now on follow them.
    pub fn set_settings(&self, settings: Settings) {
        self.service.replace_settings(settings);
    }

    /// Changes the settings in force with `change`; calls from now on follow them.
    pub fn update_settings(&self, change: impl FnOnce(&mut Settings)) {
        let mut settings = Settings::clone(&self.settings());
        change(&mut settings);
        self.set_settings(settings);
    }

    /// The faults in force, to set, add to, clear or count.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Adds the fault `rule` (`route=createOrGet,status=429,rate=0.5`; see
    /// [`meeting_http::faults`]); an invalid rule is an error saying why.
    pub fn inject(&self, rule: &str) -> Result<(), FaultError> {
        self.faults.add(rule.parse()?)
    }

    /// Every stored meeting, in id order.
    pub async fn meetings(&self) -> Vec<Arc<OnlineMeeting>> {
        let admin = self.service.admin();
        let mut all: Vec<Arc<OnlineMeeting>> = Vec::new();
        loop {
            let after = all.last().map(|meeting| meeting.id.clone());
            let page = admin
                .list(after.as_ref(), ADMIN_PAGE_MAX)
                .await
                .unwrap_or_else(|e| panic!("the test Graph server's store failed to list: {e}"));
            let full = page.len() == ADMIN_PAGE_MAX;
            all.extend(page);
            if !full {
                return all;
            }
        }
    }

    /// The stored meeting with this id, whoever organizes it.
    pub async fn meeting(&self, id: &str) -> Option<Arc<OnlineMeeting>> {
        self.service
            .admin()
            .get(&MeetingId::new(id))
            .await
            .unwrap_or_else(|e| panic!("the test Graph server's store failed to read: {e}"))
    }

    /// How many meetings are stored.
    pub async fn meeting_count(&self) -> u64 {
        self.service
            .admin()
            .count()
            .await
            .unwrap_or_else(|e| panic!("the test Graph server's store failed to count: {e}"))
    }

    /// Back to how it started: no meetings, no faults (the seed kept), the
    /// settings it started with. Tokens minted before stay valid.
    pub async fn reset(&self) {
        self.service
            .admin()
            .clear()
            .await
            .unwrap_or_else(|e| panic!("the test Graph server's store failed to clear: {e}"));
        self.faults.clear();
        self.set_settings(self.settings.clone());
    }

    /// Stops accepting connections, closes idle ones and waits for requests
    /// in flight to be answered. Dropping the server stops it too, without waiting.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestGraph {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
