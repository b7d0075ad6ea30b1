//! The `meetingd` binary: development mode, `token`, SIGTERM, the stores.

use meeting_core::{MeetingKey, MeetingStore};
use meeting_tests::daemon;
use meeting_tests::http::keys::{jwks, rs256_fresh};
use meeting_tests::http::{JwksServer, Reply};
use meeting_tests::seed::{ORGANIZER as USER, REQUEST as SEED_REQUEST, TENANT};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
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
    let mut stderr = String::new();
    for line in BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        if line.contains("address=") {
            let _ = child.kill();
            let _ = child.wait();
            panic!("meetingd started with {args:?} {env:?}:\n{stderr}{line}");
        }
        stderr.push_str(&line);
        stderr.push('\n');
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
