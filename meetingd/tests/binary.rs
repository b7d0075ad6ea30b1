//! The `meetingd` binary: development mode, `token`, SIGTERM, the stores.

use meeting_core::{MeetingKey, MeetingStore};
use meeting_http::auth::{mint_hs256, TokenSpec, DEFAULT_JWKS_MIN_RELOAD_INTERVAL};
use meeting_tests::daemon;
use meeting_tests::http::keys::{jwks, rs256_fresh};
use meeting_tests::http::{JwksServer, Reply};
use meeting_tests::seed::{ORGANIZER as USER, REQUEST as SEED_REQUEST, TENANT};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MEETINGD: &str = env!("CARGO_BIN_EXE_meetingd");
const BIN_SECRET: &str = "binary-test-secret-of-at-least-32-bytes";

/// A running `meetingd serve` (killed on drop) and, in development mode, the
/// first line it printed.
struct Daemon {
    server: daemon::Daemon,
    stdout: Vec<String>,
}

impl std::ops::Deref for Daemon {
    type Target = daemon::Daemon;
    fn deref(&self) -> &daemon::Daemon {
        &self.server
    }
}

impl std::ops::DerefMut for Daemon {
    fn deref_mut(&mut self) -> &mut daemon::Daemon {
        &mut self.server
    }
}

impl Daemon {
    /// Starts `meetingd serve` with `args` on an ephemeral port and waits until it listens.
    fn start(args: &[&str]) -> Daemon {
        let mut server = daemon::Daemon::spawn(
            Command::new(MEETINGD)
                .arg("serve")
                .args(["--listen", "127.0.0.1:0"])
                .args(args)
                .env_remove("MEETINGD_JWT_HS256_SECRET")
                .env_remove("MEETINGD_STORE")
                .stdout(Stdio::piped()),
        );
        let stdout = server.take_stdout().expect("stdout is piped");
        // Development mode prints its token; a configured key prints nothing to wait for.
        let stdout = if args.iter().any(|a| a.starts_with("--jwt")) {
            Vec::new()
        } else {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .take_while(|l| !l.is_empty())
                .take(1)
                .collect()
        };
        Daemon { server, stdout }
    }

    /// POSTs `body` to createOrGet under `version` with `token`.
    async fn create_or_get(&self, version: &str, token: &str, body: &str) -> Reply {
        let response = reqwest::Client::new()
            .post(self.url(&format!("/{version}/me/onlineMeetings/createOrGet")))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("meetingd answers");
        Reply::read(response).await
    }
}

fn mint(args: &[&str]) -> String {
    let output = Command::new(MEETINGD)
        .arg("token")
        .args(args)
        .env("MEETINGD_JWT_HS256_SECRET", BIN_SECRET)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn development_mode_prints_a_token_that_the_seed_request_works_with() {
    let daemon = Daemon::start(&["--store", "memory"]);
    let export = daemon
        .stdout
        .iter()
        .find_map(|line| line.strip_prefix("export TOKEN="))
        .unwrap_or_else(|| panic!("an export line: {:?}", daemon.stdout))
        .to_owned();
    let reply = daemon.create_or_get("beta", &export, SEED_REQUEST).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.json()["participants"]["organizer"]["upn"],
        "test1@contoso.com"
    );
}

#[tokio::test]
async fn meetingd_token_mints_what_meetingd_serve_accepts_and_app_tokens_are_refused() {
    let daemon = Daemon::start(&["--store", "memory", "--jwt-hs256-secret", BIN_SECRET]);
    let user = mint(&[
        "--user",
        USER,
        "--tenant",
        TENANT,
        "--name",
        "Tyler Stein",
        "--upn",
        "t@contoso.com",
    ]);
    let reply = daemon
        .create_or_get("v1.0", &user, r#"{"externalId":"minted"}"#)
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(
        reply.json()["participants"]["organizer"]["identity"]["user"]["displayName"],
        "Tyler Stein"
    );
    // One log line per request, with its fields, and never the token. The daemon
    // logs it before it answers, but this process reads its stderr on a thread of
    // its own: wait for that thread rather than for a fixed time.
    daemon.assert_logged(&["status=201"]);
    let log = daemon.log();
    let line = log
        .lines()
        .find(|l| l.contains("status=201"))
        .unwrap_or_else(|| panic!("a request line: {log}"));
    for field in [
        "method=POST",
        "route=/v1.0/me/onlineMeetings/createOrGet",
        "latency_ms=",
        "request_id=",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
    assert!(!log.contains(&user), "the token never reaches the log");
    let app = mint(&[
        "--tenant",
        TENANT,
        "--app",
        "11111111-2222-3333-4444-555555555555",
    ]);
    let reply = daemon
        .create_or_get("v1.0", &app, r#"{"externalId":"minted"}"#)
        .await;
    reply.assert_error(403, "Forbidden");
}

/// The `--request-timeout` of the tests that read raw responses: every
/// answer they wait for comes within it.
const REQUEST_TIMEOUT_SECS: u64 = 10;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(REQUEST_TIMEOUT_SECS);

/// Reads one response (head, and as many body bytes as its content-length says),
/// no more, so that the next read starts at the next response. The daemon must
/// run with a `--request-timeout` of at most [`REQUEST_TIMEOUT`].
async fn read_one_response(stream: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(REQUEST_TIMEOUT, stream.read(&mut byte))
            .await
            .expect("a response within the request timeout")
            .unwrap();
        assert_eq!(n, 1, "the connection closed mid-response: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    head + &String::from_utf8_lossy(&body)
}

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish_and_their_meetings_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("meetings.db");
    let store_flag = format!("sqlite:{}", db.display());
    let mut daemon = Daemon::start(&[
        "--store",
        &store_flag,
        "--jwt-hs256-secret",
        BIN_SECRET,
        "--request-timeout",
        &REQUEST_TIMEOUT_SECS.to_string(),
    ]);
    let token = mint(&["--user", USER, "--tenant", TENANT]);
    let address = daemon.base.trim_start_matches("http://").to_owned();

    // Each request sends its headers and half its body, so it is in flight.
    let mut streams = Vec::new();
    let mut rests = Vec::new();
    for i in 0..4 {
        let body = format!(r#"{{"externalId":"sigterm-{i}","subject":"in flight"}}"#);
        // `expect: 100-continue`: the server says `100 Continue` once the handler
        // reads the body, which proves the request is in flight (a fixed sleep
        // would only make it likely).
        let head = format!(
            "POST /v1.0/me/onlineMeetings/createOrGet HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let (first, rest) = body.split_at(body.len() / 2);
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        // A first exchange proves the server has accepted this connection.
        stream
            .write_all(format!("GET /healthz HTTP/1.1\r\nhost: {address}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let health = read_one_response(&mut stream).await;
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(first.as_bytes()).await.unwrap();
        let interim = read_one_response(&mut stream).await;
        assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
        streams.push(stream);
        rests.push(rest.to_owned());
    }
    daemon.terminate();
    // The rest of the bodies once the daemon has begun to shut down.
    daemon.assert_logged(&["shutting down"]);
    for (stream, rest) in streams.iter_mut().zip(&rests) {
        stream.write_all(rest.as_bytes()).await.unwrap();
    }
    for stream in &mut streams {
        let mut answer = Vec::new();
        tokio::time::timeout(REQUEST_TIMEOUT, stream.read_to_end(&mut answer))
            .await
            .expect("an answer within the request timeout")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    }
    assert!(daemon.wait().success(), "a clean exit");

    let store = meeting_store_sqlite::SqliteStore::open(&db).await.unwrap();
    for i in 0..4 {
        let key = MeetingKey {
            tenant: TENANT.parse().unwrap(),
            user: USER.parse().unwrap(),
            external_id: meeting_core::ExternalId::new(format!("sigterm-{i}")).unwrap(),
        };
        assert!(
            store.get_by_key(&key).await.unwrap().is_some(),
            "sigterm-{i} is stored"
        );
    }
}

#[test]
fn an_unknown_store_is_refused_with_a_clear_error() {
    let output = Command::new(MEETINGD)
        .args(["serve", "--listen", "127.0.0.1:0", "--store", "mysql://x"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown store"), "{stderr}");
}

#[test]
fn an_unreachable_postgres_store_is_refused_with_a_clear_error() {
    let output = Command::new(MEETINGD)
        .args(["serve", "--listen", "127.0.0.1:0", "--store"])
        .arg("postgres://meetings:secret-password@127.0.0.1:1/meetings")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PostgreSQL"), "{stderr}");
    assert!(!stderr.contains("secret-password"), "{stderr}");
}

#[test]
fn timeouts_and_limits_out_of_range_are_refused_at_startup_not_at_shutdown() {
    for (flag, value) in [
        ("--request-timeout", "18446744073709551615"),
        ("--header-read-timeout", "18446744073709551615"),
        ("--request-timeout", "0"),
        ("--max-concurrent-requests", "0"),
    ] {
        let output = Command::new(MEETINGD)
            .args(["serve", "--listen", "127.0.0.1:0", "--store", "memory"])
            .args(["--jwt-hs256-secret", BIN_SECRET, flag, value])
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{flag} {value}: a usage error"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test]
async fn a_connection_that_never_completes_its_request_cannot_hold_shutdown_forever() {
    let (request_timeout, header_read_timeout) = (1, 2);
    let mut daemon = Daemon::start(&[
        "--store",
        "memory",
        "--jwt-hs256-secret",
        BIN_SECRET,
        "--request-timeout",
        &request_timeout.to_string(),
        "--header-read-timeout",
        &header_read_timeout.to_string(),
    ]);
    let header_read_timeout = Duration::from_secs(header_read_timeout);
    // meetingd's grace after SIGTERM: both timeouts and 5 s.
    let grace = header_read_timeout + Duration::from_secs(request_timeout) + Duration::from_secs(5);
    let address = daemon.base.trim_start_matches("http://").to_owned();
    // Before the connect: the server's clock for this connection starts later.
    let connected = std::time::Instant::now();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    // Half a request head, never finished.
    stream
        .write_all(b"POST /beta/me/onlineMeetings/createOrGet HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    // The server accepts connections in the order they arrived: once a later
    // connection is answered, this one has been accepted (a signal, not a
    // sleep that makes it likely).
    let mut later = tokio::net::TcpStream::connect(&address).await.unwrap();
    later
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let health = read_one_response(&mut later).await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    drop(later);

    let started = std::time::Instant::now();
    daemon.terminate();
    // The half-read head is closed at its header-read timeout, not at once
    // (an accepted connection counts as in progress), and without an answer.
    let mut answer = Vec::new();
    tokio::time::timeout(grace, stream.read_to_end(&mut answer))
        .await
        .expect("closed within the grace period")
        .expect("closed, not reset: the server had read what was sent");
    let closed_after = connected.elapsed();
    assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
    assert!(
        closed_after >= header_read_timeout - Duration::from_millis(100),
        "closed after {closed_after:?}, before the header-read timeout"
    );
    let (status, log) = tokio::task::spawn_blocking(move || {
        let status = daemon.wait();
        // The last line, once the stderr reader has caught up with the exit.
        daemon.assert_logged(&["stopped"]);
        (status, daemon.log())
    })
    .await
    .unwrap();
    assert!(status.success());
    // So the daemon stopped with nothing open, not at the end of its grace
    // period, and certainly not never.
    assert!(!log.contains("still open"), "{log}");
    assert!(
        started.elapsed() < grace,
        "{:?}, grace {grace:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_refused_token_never_reaches_the_log_but_its_401_does() {
    use meeting_tests::http::keys::{claims, now, rs256, JWKS};
    let dir = tempfile::tempdir().unwrap();
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, JWKS).unwrap();
    // The most verbose log there is, so that no layer's line escapes the check.
    let daemon = Daemon::start(&[
        "--store",
        "memory",
        "--jwt-jwks",
        jwks_file.to_str().unwrap(),
        "--log",
        "trace",
    ]);
    let mut expired = claims();
    expired["exp"] = serde_json::json!(now() - 3600);
    expired["nbf"] = serde_json::json!(now() - 7200);
    let expired = rs256(&expired, Some("test-key"));
    // A valid token's header and claims with another token's signature.
    let valid = rs256(&claims(), Some("test-key"));
    let mut other = claims();
    other["name"] = serde_json::json!("Somebody Else");
    let other = rs256(&other, Some("test-key"));
    let wrongly_signed = format!(
        "{}.{}",
        valid.rsplit_once('.').unwrap().0,
        other.rsplit_once('.').unwrap().1
    );
    let refused = [("expired", expired), ("wrongly signed", wrongly_signed)];
    let mut request_ids = Vec::new();
    for (what, token) in &refused {
        let reply = daemon
            .create_or_get("beta", token, r#"{"externalId":"refused"}"#)
            .await;
        let message = reply.assert_error(401, "InvalidAuthenticationToken");
        assert!(!message.contains(token.as_str()), "{what}: {message}");
        request_ids.push(reply.header("request-id").unwrap().to_owned());
    }
    // Each refusal is logged, as a 401 line of its request.
    let needles: Vec<String> = request_ids
        .iter()
        .map(|id| format!("request_id={id}"))
        .collect();
    daemon.assert_logged(&needles.iter().map(String::as_str).collect::<Vec<_>>());
    let log = daemon.log();
    for needle in &needles {
        let line = log.lines().find(|l| l.contains(needle.as_str())).unwrap();
        assert!(
            line.contains("status=401") && line.contains("InvalidAuthenticationToken"),
            "{line}"
        );
    }
    for (what, token) in &refused {
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let claims = signed.split_once('.').unwrap().1;
        for (part, text) in [
            ("whole", token.as_str()),
            ("signature", signature),
            ("claims", claims),
        ] {
            assert!(
                !log.contains(text),
                "the {what} token ({part}) is in the log:\n{log}"
            );
        }
    }
}

/// Reads `child`'s stderr line by line until a line `stops` (or the stream
/// ends); returns everything read, and the line that stopped it.
fn stderr_until(
    child: &mut Child,
    mut stops: impl FnMut(&str) -> bool,
) -> (String, Option<String>) {
    let mut said = String::new();
    for line in BufReader::new(child.stderr.take().expect("stderr is piped"))
        .lines()
        .map_while(Result::ok)
    {
        said.push_str(&line);
        said.push('\n');
        if stops(&line) {
            return (said, Some(line));
        }
    }
    (said, None)
}

/// Runs `meetingd serve` on a loopback port with `args` and `env`, expecting it
/// to refuse to start; returns its stderr. Fails at once if it starts listening.
fn refused_at_startup(args: &[&str], env: &[(&str, &str)]) -> String {
    let store = if args.contains(&"--store") {
        &[][..]
    } else {
        &["--store", "memory"][..]
    };
    let mut child = Command::new(MEETINGD)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(store)
        .args(args)
        .env_remove("MEETINGD_JWT_HS256_SECRET")
        .env_remove("MEETINGD_JWT_JWKS")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meetingd starts");
    let (stderr, listening) = stderr_until(&mut child, |line| line.contains("address="));
    if listening.is_some() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("meetingd started with {args:?} {env:?}:\n{stderr}");
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "{stderr}");
    stderr
}

#[test]
fn meetingd_refuses_an_hs256_secret_under_32_bytes() {
    let short = "x".repeat(31);
    for (args, env) in [
        (vec!["--jwt-hs256-secret", short.as_str()], vec![]),
        (vec![], vec![("MEETINGD_JWT_HS256_SECRET", "")]),
    ] {
        let stderr = refused_at_startup(&args, &env);
        assert!(stderr.contains("at least 32"), "{stderr}");
    }
    // Refused before the store is opened: no database file is left behind.
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("meetings.db").display());
    let stderr = refused_at_startup(&["--store", &store, "--jwt-hs256-secret", &short], &[]);
    assert!(stderr.contains("at least 32"), "{stderr}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing created"
    );
    let output = Command::new(MEETINGD)
        .args(["token", "--user", USER, "--tenant", TENANT])
        .env("MEETINGD_JWT_HS256_SECRET", "short")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("at least 32"),
        "{stderr}"
    );
}

#[tokio::test]
async fn meetingd_serve_tenant_accepts_only_the_listed_tenants() {
    const OTHER_TENANT: &str = "0c0b0a09-0807-4605-8403-020100000000";
    let daemon = Daemon::start(&[
        "--store",
        "memory",
        "--jwt-hs256-secret",
        BIN_SECRET,
        "--tenant",
        "11111111-2222-4333-8444-555555555555",
        "--tenant",
        TENANT,
    ]);
    let allowed = mint(&["--user", USER, "--tenant", TENANT]);
    let reply = daemon
        .create_or_get("beta", &allowed, r#"{"externalId":"tenant"}"#)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let other = mint(&["--user", USER, "--tenant", OTHER_TENANT]);
    let message = daemon
        .create_or_get("beta", &other, r#"{"externalId":"tenant"}"#)
        .await
        .assert_error(401, "InvalidAuthenticationToken");
    assert!(message.contains("not allowed"), "{message}");
}

#[cfg(feature = "jwks-url")]
// The JWKS endpoint runs on the test's runtime while this thread waits for meetingd.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meetingd_serve_takes_its_jwks_from_a_url_and_reloads_it_on_a_new_kid() {
    let endpoint = JwksServer::start(jwks(&["key-1"], &[])).await;
    let daemon = Daemon::start(&["--store", "memory", "--jwt-jwks", &endpoint.url]);
    let body = r#"{"externalId":"jwks-url"}"#;
    let reply = daemon
        .create_or_get("beta", &rs256_fresh("key-1"), body)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    endpoint.serve(jwks(&["key-1", "key-2"], &[]));
    let reply = daemon
        .create_or_get("beta", &rs256_fresh("key-2"), body)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(endpoint.fetches(), 2);
}

#[cfg(feature = "jwks-url")]
#[test]
fn meetingd_refuses_a_jwks_url_it_cannot_fetch() {
    // Port 1 on loopback: nothing listens there.
    let stderr = refused_at_startup(&["--jwt-jwks", "http://127.0.0.1:1/keys"], &[]);
    assert!(stderr.contains("cannot fetch the JWKS"), "{stderr}");
}

// --- Every `meetingd serve` flag, and its MEETINGD_* variable ----------------

const APP: &str = "5a8e0d4c-1b2a-4c3d-9e8f-0a1b2c3d4e5f";
const ADMIN: &str = "operator-token-0123456789";

/// The variable of `flag`: `MEETINGD_` and the flag in upper case, `-` as `_`
/// (spec section 8).
fn env_name(flag: &str) -> String {
    format!(
        "MEETINGD_{}",
        flag.trim_start_matches("--")
            .to_uppercase()
            .replace('-', "_")
    )
}

/// `meetingd serve` with `args` and `env` and nothing else from this process's
/// environment; on an ephemeral port, a memory store and the test secret unless
/// `args` or `env` set those; stdout discarded.
fn serve_with(args: &[String], env: &[(String, String)]) -> daemon::Daemon {
    let set = |flag: &str| {
        args.iter().any(|arg| arg == flag) || env.iter().any(|(name, _)| *name == env_name(flag))
    };
    let mut command = Command::new(MEETINGD);
    command.env_clear().arg("serve");
    if !set("--listen") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    if !set("--store") {
        command.args(["--store", "memory"]);
    }
    if !set("--jwt-hs256-secret") && !set("--jwt-jwks") {
        command.args(["--jwt-hs256-secret", BIN_SECRET]);
    }
    command
        .args(args)
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdout(Stdio::null());
    daemon::Daemon::spawn(&mut command)
}

fn delegated_token(secret: &str, audience: Option<&str>, tenant: &str) -> String {
    let mut spec = TokenSpec::delegated(tenant, USER);
    if let Some(audience) = audience {
        spec.audience = audience.to_owned();
    }
    mint_hs256(secret.as_bytes(), &spec).unwrap()
}

fn user_token() -> String {
    delegated_token(BIN_SECRET, None, TENANT)
}

fn app_token() -> String {
    mint_hs256(BIN_SECRET.as_bytes(), &TokenSpec::application(TENANT, APP)).unwrap()
}

async fn send(method: reqwest::Method, url: String, token: &str, body: Option<&str>) -> Reply {
    Reply::send(reqwest::Client::new().request(method, url), token, body).await
}

async fn create(server: &daemon::Daemon, version: &str, token: &str, body: &str) -> Reply {
    let url = server.url(&format!("/{version}/me/onlineMeetings/createOrGet"));
    send(reqwest::Method::POST, url, token, Some(body)).await
}

/// What a row's setting must change, observed on a daemon started with it.
enum Effect {
    /// Serves on some port (not the default's), answering.
    Listens,
    /// Keeps meetings in this SQLite file.
    SqliteFile(std::path::PathBuf),
    /// Accepts HS256 tokens of this secret, and is not in development mode.
    Hs256Secret(String),
    /// Accepts RS256 tokens of the test key (`kid` `test-key`).
    Jwks,
    /// Accepts this tenant's tokens and refuses another's.
    Tenants,
    /// Accepts tokens for this audience and refuses Graph's.
    Audience(String),
    /// Puts this base in `@odata.context`.
    PublicBaseUrl(String),
    /// Answers 409 to a differing retry.
    Strict,
    /// Gives meetings a dial-in with this toll number (and the default dial-in base).
    TollNumber(String),
    /// Builds `dialinUrl` on this base.
    DialinBase(String),
    /// Gives meetings a `videoTeleconferenceId`.
    VideoInterop,
    /// Builds `joinWebUrl` on this base.
    JoinBase(String),
    /// Lets [`APP`] act for [`USER`] on v1.0.
    AppAccessPolicy,
    /// Names the organizer of an app-made meeting from the directory file.
    Directory,
    /// Makes only the organizer a presenter (v1.0's `allowedPresenters`).
    OrganizerPresents,
    /// Answers 503 once the (delayed) request has taken this many seconds.
    RequestTimeout(u64),
    /// Closes a half-sent request head after this many seconds, unanswered.
    HeaderReadTimeout(u64),
    /// Sheds a second request while one is being handled.
    OneRequestAtATime,
    /// Serves a second connection only once the first has closed (at its
    /// header-read timeout of this many seconds).
    OneConnectionAtATime(u64),
    /// Reloads the keys of this JWKS file once they are a second old.
    JwksRefresh(std::path::PathBuf),
    /// Reloads the keys of this JWKS file for a second unknown kid a second
    /// after the first.
    JwksMinReloadInterval(std::path::PathBuf),
    /// Answers the first createOrGet 429.
    Fault,
    /// Logs this fault seed.
    FaultSeed(u64),
    /// Serves the admin API to [`ADMIN`].
    AdminToken,
    /// Logs meetingd's own lines only: no request line, no shutdown line of meeting_http.
    LogFilter,
}

struct Row {
    flag: &'static str,
    /// `None`: a switch (its variable set to `true`).
    value: Option<String>,
    /// Other flags the row needs, always given as flags.
    also: Vec<String>,
    effect: Effect,
}

fn row(flag: &'static str, value: Option<&str>, also: &[&str], effect: Effect) -> Row {
    Row {
        flag,
        value: value.map(str::to_owned),
        also: also.iter().map(|s| s.to_string()).collect(),
        effect,
    }
}

async fn observe(effect: &Effect, server: &mut daemon::Daemon, case: &str) {
    use reqwest::Method;
    let beta = |server: &daemon::Daemon, external_id: &str| {
        let token = user_token();
        let body = format!(r#"{{"externalId":"{external_id}"}}"#);
        let url = server.url("/beta/me/onlineMeetings/createOrGet");
        async move { send(Method::POST, url, &token, Some(&body)).await }
    };
    match effect {
        Effect::Listens => {
            assert_ne!(server.base, "http://127.0.0.1:8080", "{case}");
            let reply = send(Method::GET, server.url("/healthz"), "", None).await;
            assert_eq!(reply.status, 200, "{case}: {}", reply.text);
        }
        Effect::SqliteFile(path) => {
            assert_eq!(beta(server, "stored").await.status, 200, "{case}");
            let store = meeting_store_sqlite::SqliteStore::open(path).await.unwrap();
            let key = MeetingKey {
                tenant: TENANT.parse().unwrap(),
                user: USER.parse().unwrap(),
                external_id: meeting_core::ExternalId::new("stored").unwrap(),
            };
            assert!(store.get_by_key(&key).await.unwrap().is_some(), "{case}");
        }
        Effect::Hs256Secret(secret) => {
            let reply = create(
                server,
                "beta",
                &delegated_token(secret, None, TENANT),
                "{\"externalId\":\"s\"}",
            )
            .await;
            assert_eq!(reply.status, 200, "{case}: {}", reply.text);
            create(server, "beta", &user_token(), "{\"externalId\":\"s\"}")
                .await
                .assert_error(401, "InvalidAuthenticationToken");
            assert!(!server.log().contains("DEVELOPMENT MODE"), "{case}");
        }
        Effect::Jwks => {
            let reply = create(
                server,
                "beta",
                &rs256_fresh("test-key"),
                "{\"externalId\":\"j\"}",
            )
            .await;
            assert_eq!(reply.status, 200, "{case}: {}", reply.text);
        }
        Effect::Tenants => {
            assert_eq!(beta(server, "t").await.status, 200, "{case}");
            const OTHER_TENANT: &str = "0c0b0a09-0807-4605-8403-020100000000";
            let other = delegated_token(BIN_SECRET, None, OTHER_TENANT);
            let message = create(server, "beta", &other, "{\"externalId\":\"t\"}")
                .await
                .assert_error(401, "InvalidAuthenticationToken");
            assert!(message.contains("not allowed"), "{case}: {message}");
        }
        Effect::Audience(audience) => {
            let token = delegated_token(BIN_SECRET, Some(audience), TENANT);
            let reply = create(server, "beta", &token, "{\"externalId\":\"a\"}").await;
            assert_eq!(reply.status, 200, "{case}: {}", reply.text);
            create(server, "beta", &user_token(), "{\"externalId\":\"a\"}")
                .await
                .assert_error(401, "InvalidAuthenticationToken");
        }
        Effect::PublicBaseUrl(base) => {
            let reply = beta(server, "p").await;
            let context = reply.json()["@odata.context"].as_str().unwrap().to_owned();
            assert!(
                context.starts_with(&format!("{base}/beta/$metadata#users('{USER}')")),
                "{case}: {context}"
            );
        }
        Effect::Strict => {
            let first = create(
                server,
                "beta",
                &user_token(),
                r#"{"externalId":"x","subject":"a"}"#,
            )
            .await;
            assert_eq!(first.status, 200, "{case}: {}", first.text);
            create(
                server,
                "beta",
                &user_token(),
                r#"{"externalId":"x","subject":"b"}"#,
            )
            .await
            .assert_error(409, "ParameterMismatch");
        }
        Effect::TollNumber(number) => {
            let meeting = beta(server, "toll").await.json();
            let audio = &meeting["audioConferencing"];
            assert_eq!(audio["tollNumber"], number.as_str(), "{case}: {meeting}");
            let dialin = audio["dialinUrl"].as_str().unwrap();
            assert!(
                dialin.starts_with("https://dialin.teams.microsoft.com/"),
                "{case}: the default dial-in base: {dialin}"
            );
        }
        Effect::DialinBase(base) => {
            let meeting = beta(server, "dialin").await.json();
            let dialin = meeting["audioConferencing"]["dialinUrl"].as_str().unwrap();
            assert!(dialin.starts_with(&format!("{base}/")), "{case}: {dialin}");
        }
        Effect::VideoInterop => {
            let meeting = beta(server, "video").await.json();
            let id = meeting["videoTeleconferenceId"]
                .as_str()
                .unwrap_or_default();
            assert!(
                id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit()),
                "{case}: {meeting}"
            );
        }
        Effect::JoinBase(base) => {
            let meeting = beta(server, "join").await.json();
            let url = meeting["joinWebUrl"].as_str().unwrap();
            assert!(
                url.starts_with(&format!("{base}/l/meetup-join/")),
                "{case}: {url}"
            );
        }
        Effect::AppAccessPolicy | Effect::Directory => {
            let url = server.url(&format!("/v1.0/users/{USER}/onlineMeetings/createOrGet"));
            let reply = send(
                Method::POST,
                url,
                &app_token(),
                Some(r#"{"externalId":"app"}"#),
            )
            .await;
            assert_eq!(reply.status, 201, "{case}: {}", reply.text);
            if let Effect::Directory = effect {
                let organizer = &reply.json()["participants"]["organizer"];
                assert_eq!(
                    organizer["identity"]["user"]["displayName"], "Directory Name",
                    "{case}"
                );
                assert_eq!(organizer["upn"], "directory@contoso.com", "{case}");
            }
        }
        Effect::OrganizerPresents => {
            let reply = create(server, "v1.0", &user_token(), r#"{"externalId":"policy"}"#).await;
            assert_eq!(reply.status, 201, "{case}: {}", reply.text);
            assert_eq!(reply.json()["allowedPresenters"], "organizer", "{case}");
        }
        Effect::RequestTimeout(seconds) => {
            let started = std::time::Instant::now();
            let reply = beta(server, "slow").await;
            let message = reply.assert_error(503, "ServiceUnavailable");
            assert!(
                message.contains(&format!("within {seconds} s")),
                "{case}: {message}"
            );
            assert!(started.elapsed() >= Duration::from_secs(*seconds), "{case}");
        }
        Effect::HeaderReadTimeout(seconds) => {
            let address = server.base.trim_start_matches("http://").to_owned();
            let started = std::time::Instant::now();
            let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
            stream
                .write_all(b"POST /beta/me/onlineMeetings/createOrGet HTTP/1.1\r\nhost: x\r\n")
                .await
                .unwrap();
            let mut answer = Vec::new();
            // The default timeout would keep it for twice as long as this waits.
            tokio::time::timeout(
                meeting_http::DEFAULT_HEADER_READ_TIMEOUT / 2,
                stream.read_to_end(&mut answer),
            )
            .await
            .unwrap_or_else(|_| panic!("{case}: still open"))
            .unwrap();
            assert!(answer.is_empty(), "{case}");
            assert!(
                started.elapsed() >= Duration::from_secs(*seconds) - Duration::from_millis(100),
                "{case}: closed after {:?}",
                started.elapsed()
            );
        }
        Effect::OneRequestAtATime => {
            let address = server.base.trim_start_matches("http://").to_owned();
            let token = user_token();
            let body = r#"{"externalId":"held"}"#;
            let (first, rest) = body.split_at(body.len() / 2);
            let mut held = tokio::net::TcpStream::connect(&address).await.unwrap();
            held.write_all(format!(
                "POST /beta/me/onlineMeetings/createOrGet HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n{first}",
                body.len()
            ).as_bytes()).await.unwrap();
            // `100 Continue`: its handler is reading the body, so it holds the one slot.
            let interim = read_one_response(&mut held).await;
            assert!(interim.starts_with("HTTP/1.1 100"), "{case}: {interim}");
            let shed = beta(server, "shed").await;
            shed.assert_error(503, "ServiceUnavailable");
            held.write_all(rest.as_bytes()).await.unwrap();
            let answer = read_one_response(&mut held).await;
            assert!(answer.starts_with("HTTP/1.1 200"), "{case}: {answer}");
        }
        Effect::OneConnectionAtATime(seconds) => {
            let address = server.base.trim_start_matches("http://").to_owned();
            let request = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";
            // Before the first request: its connection's idle clock starts later.
            let started = std::time::Instant::now();
            let mut first = tokio::net::TcpStream::connect(&address).await.unwrap();
            first.write_all(request).await.unwrap();
            let answer = read_one_response(&mut first).await;
            assert!(answer.starts_with("HTTP/1.1 200"), "{case}: {answer}");
            // The first stays open, idle, until its header-read timeout.
            let mut second = tokio::net::TcpStream::connect(&address).await.unwrap();
            second.write_all(request).await.unwrap();
            let answer = read_one_response(&mut second).await;
            assert!(answer.starts_with("HTTP/1.1 200"), "{case}: {answer}");
            // Served only once the first was closed: not before its idle timeout.
            assert!(
                started.elapsed() >= Duration::from_secs(*seconds),
                "{case}: the second connection was served after {:?}",
                started.elapsed()
            );
            let mut rest = Vec::new();
            first.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty(), "{case}: the first was closed");
        }
        Effect::JwksRefresh(file) => {
            let reply = create(
                server,
                "beta",
                &rs256_fresh("key-1"),
                "{\"externalId\":\"r\"}",
            )
            .await;
            assert_eq!(reply.status, 200, "{case}: {}", reply.text);
            std::fs::write(file, jwks(&["key-2"], &[])).unwrap();
            // key-1 is gone once the keys are reloaded; with the default
            // period (a day) they would not be within this wait.
            let deadline = std::time::Instant::now() + DEFAULT_JWKS_MIN_RELOAD_INTERVAL / 10;
            loop {
                let reply = create(
                    server,
                    "beta",
                    &rs256_fresh("key-1"),
                    "{\"externalId\":\"r\"}",
                )
                .await;
                if reply.status == 401 {
                    break;
                }
                assert_eq!(reply.status, 200, "{case}: {}", reply.text);
                assert!(
                    std::time::Instant::now() < deadline,
                    "{case}: never reloaded"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Effect::JwksMinReloadInterval(file) => {
            std::fs::write(file, jwks(&["key-1", "key-2"], &[])).unwrap();
            // The first unknown kid reloads at once.
            let reply = create(
                server,
                "beta",
                &rs256_fresh("key-2"),
                "{\"externalId\":\"m\"}",
            )
            .await;
            assert_eq!(reply.status, 200, "{case}: {}", reply.text);
            std::fs::write(file, jwks(&["key-1", "key-2", "key-3"], &[])).unwrap();
            // The next one a second later; with the default interval (5 min)
            // not within this wait.
            let deadline = std::time::Instant::now() + DEFAULT_JWKS_MIN_RELOAD_INTERVAL / 10;
            loop {
                let reply = create(
                    server,
                    "beta",
                    &rs256_fresh("key-3"),
                    "{\"externalId\":\"m\"}",
                )
                .await;
                if reply.status == 200 {
                    break;
                }
                reply.assert_error(401, "InvalidAuthenticationToken");
                assert!(
                    std::time::Instant::now() < deadline,
                    "{case}: never reloaded"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Effect::Fault => {
            beta(server, "fault")
                .await
                .assert_error(429, "TooManyRequests");
            assert_eq!(beta(server, "fault").await.status, 200, "{case}");
        }
        Effect::FaultSeed(seed) => server.assert_logged(&[&format!("seed={seed}")]),
        Effect::AdminToken => {
            let reply = send(Method::GET, server.url("/_meetingd/health"), ADMIN, None).await;
            assert_eq!(reply.status, 200, "{case}: {}", reply.text);
        }
        Effect::LogFilter => {
            assert_eq!(beta(server, "quiet").await.status, 200, "{case}");
            server.terminate();
            assert!(server.wait().success(), "{case}");
            // Once meetingd's last line is in, every earlier one is.
            server.assert_logged(&["stopped"]);
            let log = server.log();
            assert!(!log.contains("meeting_http"), "{case}: {log}");
            assert!(!log.contains("shutting down"), "{case}: {log}");
        }
    }
}

// One daemon per row and way of setting it: the runtime's threads serve the
// raw-socket reads while this one waits on a daemon's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_serve_flag_and_its_environment_variable_change_what_meetingd_does() {
    let dir = tempfile::tempdir().unwrap();
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, meeting_tests::http::keys::JWKS).unwrap();
    let directory = dir.path().join("directory.json");
    std::fs::write(
        &directory,
        format!(
            r#"{{"{USER}": {{"displayName": "Directory Name", "upn": "directory@contoso.com"}}}}"#
        ),
    )
    .unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(&policy, r#"{"allowedPresenters": "organizer"}"#).unwrap();
    let secret = "a-flag-table-secret-of-at-least-32-bytes";
    let grant = format!("{APP}={USER}");
    let rows = |mode: &str| {
        let db = dir.path().join(format!("{mode}.db"));
        let keys = |name: &str| {
            let file = dir.path().join(format!("{mode}-{name}.json"));
            std::fs::write(&file, jwks(&["key-1"], &[])).unwrap();
            file
        };
        let (refreshed, reloaded) = (keys("refreshed"), keys("reloaded"));
        vec![
            row("--listen", Some("127.0.0.1:0"), &[], Effect::Listens),
            row(
                "--store",
                Some(&format!("sqlite:{}", db.display())),
                &[],
                Effect::SqliteFile(db.clone()),
            ),
            row(
                "--jwt-hs256-secret",
                Some(secret),
                &[],
                Effect::Hs256Secret(secret.into()),
            ),
            row(
                "--jwt-jwks",
                Some(jwks_file.to_str().unwrap()),
                &[],
                Effect::Jwks,
            ),
            row(
                "--tenant",
                Some(&format!("11111111-2222-4333-8444-555555555555,{TENANT}")),
                &[],
                Effect::Tenants,
            ),
            row(
                "--audience",
                Some("api://meetings-test"),
                &[],
                Effect::Audience("api://meetings-test".into()),
            ),
            row(
                "--public-base-url",
                Some("https://graph.example.com"),
                &[],
                Effect::PublicBaseUrl("https://graph.example.com".into()),
            ),
            row("--strict", None, &[], Effect::Strict),
            row(
                "--toll-number",
                Some("+1 555-0100"),
                &[],
                Effect::TollNumber("+1 555-0100".into()),
            ),
            row(
                "--dialin-base-url",
                Some("https://dialin.example.com"),
                &["--toll-number", "+1 555-0100"],
                Effect::DialinBase("https://dialin.example.com".into()),
            ),
            row("--video-interop", None, &[], Effect::VideoInterop),
            row(
                "--join-base-url",
                Some("https://join.example.com"),
                &[],
                Effect::JoinBase("https://join.example.com".into()),
            ),
            row(
                "--app-access-policy",
                Some(&grant),
                &[],
                Effect::AppAccessPolicy,
            ),
            row(
                "--directory",
                Some(directory.to_str().unwrap()),
                &["--app-access-policy", &grant],
                Effect::Directory,
            ),
            row(
                "--meeting-policy",
                Some(policy.to_str().unwrap()),
                &[],
                Effect::OrganizerPresents,
            ),
            row(
                "--meeting-option",
                Some(r#"allowedPresenters="organizer""#),
                &[],
                Effect::OrganizerPresents,
            ),
            row(
                "--request-timeout",
                Some("1"),
                &["--fault", "route=createOrGet,delay=3s"],
                Effect::RequestTimeout(1),
            ),
            row(
                "--header-read-timeout",
                Some("1"),
                &[],
                Effect::HeaderReadTimeout(1),
            ),
            row(
                "--max-connections",
                Some("1"),
                &["--header-read-timeout", "1"],
                Effect::OneConnectionAtATime(1),
            ),
            row(
                "--jwks-refresh",
                Some("1"),
                &["--jwt-jwks", refreshed.to_str().unwrap()],
                Effect::JwksRefresh(refreshed.clone()),
            ),
            row(
                "--jwks-min-reload-interval",
                Some("1"),
                &["--jwt-jwks", reloaded.to_str().unwrap()],
                Effect::JwksMinReloadInterval(reloaded.clone()),
            ),
            row(
                "--max-concurrent-requests",
                Some("1"),
                &["--request-timeout", &REQUEST_TIMEOUT_SECS.to_string()],
                Effect::OneRequestAtATime,
            ),
            row(
                "--fault",
                Some("route=createOrGet,status=429,nth=1"),
                &[],
                Effect::Fault,
            ),
            row(
                "--fault-seed",
                Some("4242"),
                &["--fault", "route=get,status=503,rate=0.5"],
                Effect::FaultSeed(4242),
            ),
            row("--admin-token", Some(ADMIN), &[], Effect::AdminToken),
            row("--log", Some("meetingd=info"), &[], Effect::LogFilter),
        ]
    };
    for mode in ["flag", "environment"] {
        for row in rows(mode) {
            let mut args = row.also.clone();
            let mut env = Vec::new();
            let case = match mode {
                "flag" => {
                    args.push(row.flag.to_owned());
                    args.extend(row.value.clone());
                    format!("{} {}", row.flag, row.value.as_deref().unwrap_or(""))
                }
                _ => {
                    let value = row.value.clone().unwrap_or_else(|| "true".into());
                    let name = env_name(row.flag);
                    let case = format!("{name}={value}");
                    env.push((name, value));
                    case
                }
            };
            let mut server = serve_with(&args, &env);
            observe(&row.effect, &mut server, &case).await;
        }
    }
}

#[tokio::test]
async fn without_those_flags_meetingd_serves_the_documented_defaults() {
    let server = serve_with(&[], &[]);
    let reply = create(
        &server,
        "beta",
        &user_token(),
        r#"{"externalId":"d","subject":"a"}"#,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let meeting = reply.json();
    // --public-base-url: http://<listen>.
    let context = meeting["@odata.context"].as_str().unwrap();
    assert!(
        context.starts_with(&format!("{}/beta/$metadata#", server.base)),
        "{context}"
    );
    // --toll-number, --video-interop: none.
    assert_eq!(meeting["audioConferencing"], serde_json::Value::Null);
    assert_eq!(meeting["videoTeleconferenceId"], serde_json::Value::Null);
    // --join-base-url: Teams.
    let join = meeting["joinWebUrl"].as_str().unwrap();
    assert!(
        join.starts_with("https://teams.microsoft.com/l/meetup-join/"),
        "{join}"
    );
    // --strict: off, a differing retry gets the meeting.
    let again = create(
        &server,
        "beta",
        &user_token(),
        r#"{"externalId":"d","subject":"b"}"#,
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["id"], meeting["id"]);
    // --audience: Graph's other audience is accepted too.
    let other_audience = delegated_token(
        BIN_SECRET,
        Some("00000003-0000-0000-c000-000000000000"),
        TENANT,
    );
    let reply = create(&server, "beta", &other_audience, r#"{"externalId":"d"}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // --app-access-policy: none.
    let url = server.url(&format!("/v1.0/users/{USER}/onlineMeetings/createOrGet"));
    let message = send(
        reqwest::Method::POST,
        url,
        &app_token(),
        Some(r#"{"externalId":"app"}"#),
    )
    .await
    .assert_error(403, "Forbidden");
    assert_eq!(message, meeting_core::access::NO_POLICY_MESSAGE);
    // The meeting policy: Graph's default presenters.
    let reply = create(&server, "v1.0", &user_token(), r#"{"externalId":"v1"}"#).await;
    assert_eq!(reply.json()["allowedPresenters"], "everyone");
    // --admin-token: no admin API.
    send(
        reqwest::Method::GET,
        server.url("/_meetingd/health"),
        ADMIN,
        None,
    )
    .await
    .assert_error(404, "NotFound");
    // --fault: none; --log: info, request lines included.
    server.assert_logged(&["meeting_http::envelope", "status=201"]);
}

#[test]
fn without_listen_and_store_it_opens_sqlite_meetings_db_and_listens_on_127_0_0_1_8080() {
    // In an empty directory, so that the default store's file is this test's.
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(MEETINGD)
        .env_clear()
        .args(["serve", "--jwt-hs256-secret", BIN_SECRET])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("meetingd starts");
    // Either it listens on the default address, or something else on this
    // machine holds that port and it says it cannot: both name the default.
    let (said, _) = stderr_until(&mut child, |line| {
        line.contains("address=") || line.contains("cannot listen")
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        said.contains("address=127.0.0.1:8080 store=sqlite:meetings.db")
            || said.contains("cannot listen on 127.0.0.1:8080"),
        "{said}"
    );
    // The store is opened before the port: its file is there either way.
    assert!(dir.path().join("meetings.db").exists(), "{said}");
}

#[test]
fn log_format_json_by_flag_or_environment_writes_json_lines() {
    for (args, env) in [
        (vec!["--log-format", "json"], vec![]),
        (vec![], vec![("MEETINGD_LOG_FORMAT", "json")]),
    ] {
        let mut child = Command::new(MEETINGD)
            .env_clear()
            .envs(env.iter().copied())
            .args(&args)
            .args(["serve", "--listen", "127.0.0.1:0", "--store", "memory"])
            .args(["--jwt-hs256-secret", BIN_SECRET])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("meetingd starts");
        let json = |line: &str| -> serde_json::Value {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{args:?} {env:?}: not JSON ({e}): {line}"))
        };
        let (said, listening) = stderr_until(&mut child, |line| {
            json(line)["fields"]["message"] == "listening"
        });
        let _ = child.kill();
        let _ = child.wait();
        let line = json(&listening.unwrap_or_else(|| panic!("{args:?} {env:?}:\n{said}")));
        assert_eq!(line["level"], "INFO", "{line}");
        assert!(
            line["fields"]["address"]
                .as_str()
                .is_some_and(|a| a.starts_with("127.0.0.1:")),
            "{line}"
        );
    }
}
