//! What the HTTP front's and `meetingd`'s tests share (feature `http`): a
//! response read whole and checked against Graph's error object, the test
//! RSA keys, and a JWKS endpoint the tests can change and count.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Graph's content type for every JSON answer, as spec section 6 writes it.
pub const GRAPH_CONTENT_TYPE: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub text: String,
}

impl Reply {
    /// Reads `response` to its end.
    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a whole body");
        Reply {
            status,
            headers,
            text,
        }
    }

    /// Sends `request` with `token` as its bearer and `body`, if any, as JSON,
    /// and reads the answer.
    pub async fn send(request: reqwest::RequestBuilder, token: &str, body: Option<&str>) -> Reply {
        let mut request = request.bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        Reply::read(request.send().await.expect("the server answers")).await
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("JSON body ({e}): {}", self.text))
    }

    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts Graph's error object with `status` and `code`; returns the message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "status; body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some(GRAPH_CONTENT_TYPE),
            "content type"
        );
        let body = self.json();
        let error = body["error"].as_object().expect("an error object");
        let members: Vec<&str> = error.keys().map(String::as_str).collect();
        assert_eq!(members, ["code", "message", "innerError"], "{}", self.text);
        assert_eq!(error["code"], code, "{}", self.text);
        let message = error["message"].as_str().expect("a message string");
        assert!(!message.trim().is_empty(), "a non-empty message");
        let inner = error["innerError"].as_object().unwrap();
        let request_id = inner["request-id"].as_str().unwrap();
        assert_eq!(self.header("request-id"), Some(request_id));
        assert_eq!(
            self.header("client-request-id"),
            inner["client-request-id"].as_str()
        );
        let date = inner["date"].as_str().unwrap();
        assert!(
            chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S").is_ok(),
            "{date}"
        );
        message.to_owned()
    }
}

/// The test RSA key pair, and a JWKS holding its public half (`test-key`)
/// and an unrelated key (`other-key`).
pub mod keys {
    use super::*;

    /// The private key every RS256 test token is signed with.
    pub const PRIVATE_PEM: &[u8] = include_bytes!("../fixtures/keys/rsa-private.pem");
    /// Its public key.
    pub const PUBLIC_PEM: &[u8] = include_bytes!("../fixtures/keys/rsa-public.pem");
    /// The JWKS with `test-key` and `other-key`.
    pub const JWKS: &[u8] = include_bytes!("../fixtures/keys/jwks.json");

    /// Seconds since the Unix epoch.
    pub fn now() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    /// Valid delegated claims for the seed's organizer; tests change one thing.
    pub fn claims() -> Value {
        use crate::seed::{ORGANIZER, TENANT};
        json!({
            "aud": "https://graph.microsoft.com",
            "exp": now() + 3600,
            "nbf": now() - 10,
            "iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
            "tid": TENANT,
            "oid": ORGANIZER,
            "scp": "User.Read OnlineMeetings.ReadWrite",
            "name": "Tyler Stein",
            "upn": "test1@contoso.com",
        })
    }

    /// `claims` signed with the test key, naming `kid`.
    pub fn rs256(claims: &Value, kid: Option<&str>) -> String {
        use jsonwebtoken::{Algorithm, EncodingKey, Header};
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(PRIVATE_PEM).unwrap(),
        )
        .unwrap()
    }

    /// A fresh RS256 token naming `kid`: a distinct `jti` keeps it out of any cache.
    pub fn rs256_fresh(kid: &str) -> String {
        let mut claims = claims();
        claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
        rs256(&claims, Some(kid))
    }

    /// A JWKS with the test key (the one [`rs256`] signs with) under each of
    /// `kids`, and the set's other, unrelated key under each of `others`.
    pub fn jwks(kids: &[&str], others: &[&str]) -> Vec<u8> {
        let set: Value = serde_json::from_slice(JWKS).unwrap();
        let renamed = |source: &str, kid: &str| {
            let mut key = set["keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["kid"] == source)
                .unwrap()
                .clone();
            key["kid"] = json!(kid);
            key
        };
        let keys: Vec<Value> = kids
            .iter()
            .map(|kid| renamed("test-key", kid))
            .chain(others.iter().map(|kid| renamed("other-key", kid)))
            .collect();
        serde_json::to_vec(&json!({ "keys": keys })).unwrap()
    }
}

/// More than any test's concurrent fetches.
const GATE_PERMITS: usize = 1024;

/// A JWKS endpoint on a loopback port: serves a document with a status the
/// test sets, counts fetches, and can hold its answers back.
pub struct JwksServer {
    /// The endpoint's URL.
    pub url: String,
    document: Arc<Mutex<Vec<u8>>>,
    status: Arc<AtomicU16>,
    fetches: Arc<AtomicUsize>,
    /// Answers wait for a permit, so that a test can hold them back.
    pub gate: Arc<Semaphore>,
    task: JoinHandle<()>,
}

impl JwksServer {
    /// Serves `document` with `200` until told otherwise.
    pub async fn start(document: Vec<u8>) -> JwksServer {
        use axum::response::IntoResponse;
        let document = Arc::new(Mutex::new(document));
        let status = Arc::new(AtomicU16::new(200));
        let fetches = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Semaphore::new(GATE_PERMITS));
        let (d, s, f, g) = (
            document.clone(),
            status.clone(),
            fetches.clone(),
            gate.clone(),
        );
        let app = axum::Router::new().route(
            "/keys",
            axum::routing::get(move || {
                let (d, s, f, g) = (d.clone(), s.clone(), f.clone(), g.clone());
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    let _open = g.acquire().await.unwrap();
                    let status =
                        axum::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap();
                    (status, d.lock().unwrap().clone()).into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/keys", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        JwksServer {
            url,
            document,
            status,
            fetches,
            gate,
            task,
        }
    }

    /// Serves `document` from now on.
    pub fn serve(&self, document: Vec<u8>) {
        *self.document.lock().unwrap() = document;
    }

    /// Answers with `status` from now on.
    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// How many fetches have begun.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Holds every answer back until the returned permits are dropped.
    pub async fn hold(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.gate
            .acquire_many(GATE_PERMITS as u32)
            .await
            .expect("the gate is never closed")
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
