//! `meetingd serve` as a stand-in for other people's tests: `--fault`,
//! `--fault-seed` and `--admin-token`, and what it logs about them.

use meeting_http::auth::{mint_hs256, TokenSpec};
use meeting_tests::daemon;
use meeting_tests::http::Reply;
use meeting_tests::seed::{ORGANIZER as USER, TENANT};
use std::process::{Command, Stdio};

const MEETINGD: &str = env!("CARGO_BIN_EXE_meetingd");
const SECRET: &str = "testing-flags-secret-of-at-least-32-bytes";
const ADMIN: &str = "operator-token-0123456789";

/// A running `meetingd serve --store memory`, killed on drop.
struct Daemon(daemon::Daemon);

impl std::ops::Deref for Daemon {
    type Target = daemon::Daemon;
    fn deref(&self) -> &daemon::Daemon {
        &self.0
    }
}

impl Daemon {
    fn start(args: &[&str]) -> Daemon {
        Daemon(daemon::Daemon::spawn(
            Command::new(MEETINGD)
                .args(["serve", "--listen", "127.0.0.1:0", "--store", "memory"])
                .args(["--jwt-hs256-secret", SECRET])
                .args(args)
                .env_remove("MEETINGD_ADMIN_TOKEN")
                .env_remove("MEETINGD_FAULT")
                .env_remove("MEETINGD_FAULT_SEED")
                .stdout(Stdio::null()),
        ))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        Reply::read(request.send().await.expect("meetingd answers")).await
    }

    async fn create_or_get(&self, external_id: &str) -> Reply {
        let token = mint_hs256(SECRET.as_bytes(), &TokenSpec::delegated(TENANT, USER)).unwrap();
        self.send(
            reqwest::Client::new()
                .post(format!("{}/v1.0/me/onlineMeetings/createOrGet", self.base))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(format!(r#"{{"externalId":"{external_id}"}}"#)),
        )
        .await
    }

    fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
    }
}

#[tokio::test]
async fn a_fault_flag_answers_503_after_commit_and_logs_what_it_injected() {
    let daemon = Daemon::start(&[
        "--fault",
        "route=createOrGet,status=503,when=after-commit,nth=1",
        "--fault-seed",
        "42",
        "--admin-token",
        ADMIN,
    ]);
    daemon.assert_logged(&[
        "fault injection on",
        "seed=42",
        "route=createOrGet,status=503,when=after-commit,nth=1",
    ]);
    let lost = daemon.create_or_get("retried").await;
    lost.assert_error(503, "ServiceUnavailable");
    assert_eq!(lost.header("retry-after"), Some("5"));
    let retry = daemon.create_or_get("retried").await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    daemon.assert_logged(&["fault injected after the call succeeded: answering 503 instead"]);

    let listed = daemon
        .send(daemon.admin(reqwest::Method::GET, "/_meetingd/meetings"))
        .await;
    let listed = listed.json();
    let value = listed["value"].as_array().unwrap();
    assert_eq!(value.len(), 1, "one meeting stored");
    assert_eq!(value[0]["id"], retry.json()["id"]);
}

#[tokio::test]
async fn admin_changes_are_logged_with_what_changed() {
    let daemon = Daemon::start(&["--admin-token", ADMIN]);
    daemon.assert_logged(&["admin API on under /_meetingd/"]);
    assert_eq!(daemon.create_or_get("a").await.status, 201);

    let patched = daemon
        .send(
            daemon
                .admin(reqwest::Method::PATCH, "/_meetingd/settings")
                .body(r#"{"strict": true}"#),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    daemon.assert_logged(&["admin: settings changed", "strict: false -> true"]);

    let faults = daemon
        .send(
            daemon
                .admin(reqwest::Method::PUT, "/_meetingd/faults")
                .body(r#"{"seed": 9, "rules": ["route=get,delay=1s"]}"#),
        )
        .await;
    assert_eq!(faults.status, 200, "{}", faults.text);
    daemon.assert_logged(&[
        "faults changed",
        "before=(none)",
        "after=route=get,delay=1s",
    ]);

    let reset = daemon
        .send(daemon.admin(reqwest::Method::DELETE, "/_meetingd/meetings"))
        .await;
    assert_eq!(reset.json()["deleted"], 1);
    daemon.assert_logged(&["admin: deleted every meeting", "deleted=1"]);
}

#[tokio::test]
async fn without_an_admin_token_there_is_no_admin_api() {
    let daemon = Daemon::start(&[]);
    daemon
        .send(daemon.admin(reqwest::Method::GET, "/_meetingd/health"))
        .await
        .assert_error(404, "NotFound");
}

#[test]
fn invalid_fault_and_admin_flags_are_refused_at_startup_saying_why() {
    for (args, says) in [
        (
            ["--fault", "route=createOrGet,status=429,rate=1.5"],
            "rate 1.5 is outside 0 to 1",
        ),
        (
            ["--fault", "route=calendar,status=429"],
            "unknown route `calendar`",
        ),
        (["--fault", "route=get,status=502"], "unknown status `502`"),
        (["--admin-token", "short"], "at least 16"),
    ] {
        let output = Command::new(MEETINGD)
            .args(["serve", "--listen", "127.0.0.1:0", "--store", "memory"])
            .args(args)
            .env_remove("MEETINGD_ADMIN_TOKEN")
            .env_remove("MEETINGD_FAULT")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
