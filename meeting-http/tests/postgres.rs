//! `meetingd serve --store postgres://…` against a real PostgreSQL server: the
//! store team's throwaway cluster (or `MEETING_PG_URL`), as their tests use it.

#[path = "../../meeting-store-postgres/tests/support/mod.rs"]
mod support;

use meeting_http::auth::{mint_hs256, TokenSpec};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const SECRET: &str = "postgres-test-secret";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd0110000";
const USER: &str = "d4a060b5-a8fc-450c-837b-750b2c280000";

#[tokio::test]
async fn meetingd_serves_create_or_get_on_a_postgres_store() {
    let url = support::fresh_database().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_meetingd"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--jwt-hs256-secret",
            SECRET,
        ])
        .args(["--store", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep reading stderr so that the daemon never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut base = None;
    let mut seen = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        if let Some(rest) = line.split("address=").nth(1) {
            base = rest
                .split_whitespace()
                .next()
                .map(|a| format!("http://{a}"));
            break;
        }
        seen.push(line);
    }
    let Some(base) = base else {
        let _ = child.kill();
        panic!("meetingd did not start: {seen:#?}");
    };

    let token = mint_hs256(SECRET.as_bytes(), &TokenSpec::delegated(TENANT, USER)).unwrap();
    let client = reqwest::Client::new();
    let post = || {
        client
            .post(format!("{base}/v1.0/me/onlineMeetings/createOrGet"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(r#"{"externalId":"on-postgres","subject":"Stored in PostgreSQL"}"#)
            .send()
    };
    let first = post().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = serde_json::from_str(&first.text().await.unwrap()).unwrap();
    let again = post().await.unwrap();
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = serde_json::from_str(&again.text().await.unwrap()).unwrap();
    assert_eq!(first["id"], again["id"]);
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let _ = child.kill();
    let _ = child.wait();
}
