//! `meetingd serve --store postgres://…` against a real PostgreSQL server: one
//! process serving createOrGet, GET and `/healthz` from the database, and two
//! processes on one database sharing no memory (issue 5, "Concurrency across
//! instances"): 64 concurrent callers per key over many keys, half of each
//! key's callers on each process. Exactly one meeting per key, and every
//! caller saw its `id`.
//!
//! The database is the store team's throwaway cluster (or `MEETING_PG_URL`), as
//! their tests use it.

use meeting_tests::postgres;

use meeting_http::auth::{mint_hs256, TokenSpec};
use meeting_tests::daemon::Daemon;
use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MEETINGD: &str = env!("CARGO_BIN_EXE_meetingd");
const SECRET: &str = "postgres-test-secret-of-at-least-32-bytes";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd0110005";
const USER: &str = "d4a060b5-a8fc-450c-837b-750b2c280005";
const OTHER_USER: &str = "d4a060b5-a8fc-450c-837b-750b2c289995";
const KEYS: usize = 8;
const CALLERS_PER_KEY: usize = 64;

/// Starts `meetingd serve --store <store>` on an ephemeral loopback port and
/// waits until it listens and answers `/healthz`.
async fn start(store: &str) -> Daemon {
    let daemon = Daemon::spawn(
        Command::new(MEETINGD)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(["--jwt-hs256-secret", SECRET])
            .args(["--store", store])
            // Every caller of the race at once: shedding would only make them retry.
            .args(["--max-concurrent-requests", "4096"])
            .env_remove("MEETINGD_JWT_HS256_SECRET")
            .env_remove("MEETINGD_STORE")
            .stdout(Stdio::null()),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = reqwest::Client::new();
    loop {
        let health = client.get(daemon.url("/healthz")).send().await;
        if health.is_ok_and(|h| h.status() == 200) {
            return daemon;
        }
        assert!(
            Instant::now() < deadline,
            "meetingd at {} never became healthy:\n{}",
            daemon.base,
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn token(user: &str) -> String {
    mint_hs256(SECRET.as_bytes(), &TokenSpec::delegated(TENANT, user)).unwrap()
}

fn body(key: usize) -> String {
    format!(r#"{{"externalId":"two-instances-{key}","subject":"Key {key}"}}"#)
}

/// POSTs createOrGet for `key` to `base`; returns the status and the body.
async fn create_or_get(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    key: usize,
) -> (u16, serde_json::Value) {
    let response = client
        .post(format!("{base}/v1.0/me/onlineMeetings/createOrGet"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body(key))
        .send()
        .await
        .expect("createOrGet is answered");
    let status = response.status().as_u16();
    let text = response.text().await.expect("createOrGet body");
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, json)
}

#[tokio::test]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn meetingd_serves_create_or_get_on_a_postgres_store() {
    let url = postgres::fresh_database().await;
    let daemon = start(&url).await;
    let (client, token) = (reqwest::Client::new(), token(USER));

    let (status, first) = create_or_get(&client, &daemon.base, &token, 0).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = create_or_get(&client, &daemon.base, &token, 0).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(first["id"], again["id"]);
    assert_eq!(again["subject"], "Key 0");
    let health = client.get(daemon.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn two_meetingd_processes_on_one_database_create_exactly_one_meeting_per_key() {
    let started = Instant::now();
    let url = postgres::fresh_database().await;
    let a = start(&url).await;
    let b = start(&url).await;
    let bases = [a.base.clone(), b.base.clone()];
    // One client per process, so that each process sees its own connections.
    let clients = [reqwest::Client::new(), reqwest::Client::new()];
    let user_token = Arc::new(token(USER));

    // Every caller of every key starts at once; half of each key's callers on each process.
    let barrier = Arc::new(tokio::sync::Barrier::new(KEYS * CALLERS_PER_KEY));
    let mut tasks = Vec::new();
    for key in 0..KEYS {
        for caller in 0..CALLERS_PER_KEY {
            let side = caller % 2;
            let client = clients[side].clone();
            let base = bases[side].clone();
            let token = user_token.clone();
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let (status, json) = create_or_get(&client, &base, &token, key).await;
                (key, side, status, json)
            }));
        }
    }
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.expect("caller task"));
    }

    let mut ids: HashMap<usize, HashSet<String>> = HashMap::new();
    let mut created: HashMap<usize, Vec<usize>> = HashMap::new();
    for (key, side, status, json) in &replies {
        assert!(
            *status == 200 || *status == 201,
            "key {key} on process {side}: {status} {json}\nprocess A log:\n{}\nprocess B log:\n{}",
            a.log(),
            b.log()
        );
        if *status == 201 {
            created.entry(*key).or_default().push(*side);
        }
        let id = json["id"]
            .as_str()
            .unwrap_or_else(|| panic!("key {key}: no id in {json}"));
        assert!(!id.is_empty(), "key {key}: an empty id");
        assert_eq!(
            json["externalId"],
            format!("two-instances-{key}"),
            "key {key}: {json}"
        );
        ids.entry(*key).or_default().insert(id.to_owned());
    }
    for key in 0..KEYS {
        let creators = created.get(&key).cloned().unwrap_or_default();
        assert_eq!(
            creators.len(),
            1,
            "key {key}: exactly one caller creates; these processes answered 201: {creators:?}"
        );
        let key_ids = &ids[&key];
        assert_eq!(
            key_ids.len(),
            1,
            "key {key}: every caller sees the one meeting's id, got {key_ids:?}"
        );
    }
    let all: HashSet<&String> = ids.values().flatten().collect();
    assert_eq!(all.len(), KEYS, "distinct keys, distinct meetings");

    // The database holds exactly one row per key, with the id every caller saw.
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    let connection = tokio::spawn(connection);
    let rows = db
        .query(
            "SELECT external_id, id FROM online_meetings WHERE tenant_id = $1 AND user_id = $2",
            &[&TENANT, &USER],
        )
        .await
        .expect("read the stored meetings");
    assert_eq!(rows.len(), KEYS, "one stored meeting per key");
    for row in &rows {
        let external: String = row.get(0);
        let id: String = row.get(1);
        let key: usize = external
            .strip_prefix("two-instances-")
            .and_then(|k| k.parse().ok())
            .unwrap_or_else(|| panic!("an unexpected stored meeting {external}"));
        assert!(
            ids[&key].contains(&id),
            "key {key}: stored {id}, seen {:?}",
            ids[&key]
        );
    }
    drop(db);
    let _ = connection.await;

    // The meeting each key's creator made is readable on the OTHER process.
    for key in 0..KEYS {
        let id = ids[&key].iter().next().unwrap();
        let other = 1 - created[&key][0];
        let response = clients[other]
            .get(format!(
                "{}/v1.0/me/onlineMeetings/{}",
                bases[other],
                meeting_tests::path_segment(id)
            ))
            .bearer_auth(user_token.as_str())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(
            status, 200,
            "key {key}: GET {id} on process {other}: {text}"
        );
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["id"].as_str(), Some(id.as_str()), "key {key}: {json}");
    }

    // Another user of the same tenant with the same externalId gets a meeting of their own,
    // and both processes agree on it.
    let other_token = token(OTHER_USER);
    let (first_status, first) = create_or_get(&clients[1], &bases[1], &other_token, 0).await;
    assert_eq!(first_status, 201, "{first}");
    let other_id = first["id"].as_str().expect("an id").to_owned();
    assert!(
        !ids[&0].contains(&other_id),
        "another user shares the meeting {other_id}"
    );
    let (again_status, again) = create_or_get(&clients[0], &bases[0], &other_token, 0).await;
    assert_eq!(again_status, 200, "{again}");
    assert_eq!(again["id"].as_str(), Some(other_id.as_str()));

    drop(a);
    drop(b);
    eprintln!(
        "{} callers over {KEYS} keys on two processes: {:?}",
        KEYS * CALLERS_PER_KEY,
        started.elapsed()
    );
}
