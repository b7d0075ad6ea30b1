//! Several processes on one file, and processes killed at random moments.

mod support;

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::{MeetingKey, MeetingStore};
use meeting_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use rusqlite::Connection;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{child, child_mode, database, runtime, Random};

const RACE: &str = "several_processes_racing_on_the_same_keys_store_one_meeting_per_key";
const PROCESSES: usize = 4;
const RACE_KEYS: usize = 40;
const CALLERS_PER_KEY: usize = 3;

fn race_key(index: usize) -> MeetingKey {
    key("tenant", "user", &format!("raced-{index}"))
}

/// A child process that is killed if the test panics before waiting for it.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Reads a child's stdout lines on a thread; lines arrive on the returned channel.
fn lines(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

#[test]
fn several_processes_racing_on_the_same_keys_store_one_meeting_per_key() {
    if child_mode().as_deref() == Some("race") {
        return race_child();
    }
    let (directory, path) = database();
    let go = directory.path().join("go");
    let mut children: Vec<(Reaped, _)> = (0..PROCESSES)
        .map(|process| {
            let mut child = child(RACE, "race")
                .env("MEETING_SQLITE_PATH", &path)
                .env("MEETING_SQLITE_GO", &go)
                .env("MEETING_SQLITE_PROCESS", process.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .expect("a child process");
            let lines = lines(&mut child);
            (Reaped(child), lines)
        })
        .collect();
    let mut reports: Vec<Vec<String>> = vec![Vec::new(); PROCESSES];
    for (process, (_, lines)) in children.iter().enumerate() {
        loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the child gets ready");
            if line == "READY" {
                break;
            }
            reports[process].push(line);
        }
    }
    std::fs::write(&go, b"go").unwrap();
    for (process, (child, lines)) in children.iter_mut().enumerate() {
        reports[process].extend(lines.iter());
        assert!(
            child.0.wait().unwrap().success(),
            "child {process} succeeded"
        );
    }

    let mut ids: HashMap<String, Vec<(String, bool)>> = HashMap::new();
    for line in reports.iter().flatten() {
        if let Some(rest) = line.strip_prefix("MEETING ") {
            let mut parts = rest.split(' ');
            let (external_id, id, created) = (parts.next(), parts.next(), parts.next());
            ids.entry(external_id.unwrap().to_owned())
                .or_default()
                .push((id.unwrap().to_owned(), created == Some("created")));
        }
    }
    assert_eq!(ids.len(), RACE_KEYS, "every key was reported");
    for (external_id, seen) in &ids {
        assert_eq!(seen.len(), PROCESSES * CALLERS_PER_KEY, "{external_id}");
        assert_eq!(
            seen.iter().filter(|(_, created)| *created).count(),
            1,
            "exactly one caller of all processes created {external_id}"
        );
        assert!(
            seen.iter().all(|(id, _)| *id == seen[0].0),
            "every process saw the same id for {external_id}: {seen:?}"
        );
    }
    let raw = Connection::open(&path).unwrap();
    let rows: usize = raw
        .query_row("SELECT count(*) FROM meetings", [], |row| row.get(0))
        .unwrap();
    assert_eq!(rows, RACE_KEYS, "exactly one meeting per key");
    runtime().block_on(async {
        let store = SqliteStore::open(&path).await.unwrap();
        for index in 0..RACE_KEYS {
            let stored = store.get_by_key(&race_key(index)).await.unwrap().unwrap();
            assert_eq!(stored.id.as_str(), ids[&format!("raced-{index}")][0].0);
        }
    });
}

fn race_child() {
    let path = PathBuf::from(std::env::var_os("MEETING_SQLITE_PATH").expect("a path"));
    let go = PathBuf::from(std::env::var_os("MEETING_SQLITE_GO").expect("a go file"));
    let process: u64 = std::env::var("MEETING_SQLITE_PROCESS")
        .unwrap()
        .parse()
        .unwrap();
    runtime().block_on(async {
        let store = Arc::new(
            SqliteStore::open(&path)
                .await
                .expect("the child opens the store"),
        );
        // The newline ends libtest's "test … " line, so READY stands alone.
        println!("\nREADY");
        let waiting = Instant::now();
        while !go.exists() {
            assert!(
                waiting.elapsed() < Duration::from_secs(60),
                "the parent never said go"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let mut tasks = Vec::new();
        for index in 0..RACE_KEYS {
            for caller in 0..CALLERS_PER_KEY {
                let store = Arc::clone(&store);
                // Every process builds a different meeting (and id) for the key.
                let n = process * 1_000_000 + (index * CALLERS_PER_KEY + caller) as u64;
                tasks.push(tokio::spawn(async move {
                    let key = race_key(index);
                    let outcome = store
                        .create_or_get(&key, &|| sample_meeting(&key, n))
                        .await
                        .expect("no process fails for losing the race");
                    let created = if outcome.is_created() {
                        "created"
                    } else {
                        "existing"
                    };
                    println!(
                        "MEETING {} {} {created}",
                        key.external_id,
                        outcome.meeting().id
                    );
                }));
            }
        }
        for task in tasks {
            task.await.expect("the task completes");
        }
    });
}

const CRASH: &str = "every_acknowledged_meeting_survives_a_sigkill";
const CRASH_WRITERS: u64 = 8;

fn crash_key(cycle: u64, writer: u64, n: u64) -> (MeetingKey, u64) {
    let key = key("tenant", "user", &format!("c{cycle}-w{writer}-{n}"));
    (key, cycle * 100_000_000 + writer * 1_000_000 + n)
}

/// A child creates meetings until it is killed; the parent then checks what it acknowledged.
#[test]
fn every_acknowledged_meeting_survives_a_sigkill() {
    if child_mode().as_deref() == Some("crash") {
        return crash_child();
    }
    let cycles: u64 = std::env::var("MEETING_SQLITE_CRASH_CYCLES")
        .ok()
        .and_then(|cycles| cycles.parse().ok())
        .unwrap_or(50);
    let (mut random, seed) = match std::env::var("MEETING_SQLITE_CRASH_SEED") {
        Ok(seed) => {
            let seed = seed.parse().expect("a numeric seed");
            (Random::seeded(seed), seed)
        }
        Err(_) => Random::from_clock(),
    };
    eprintln!("crash test: {cycles} cycles, MEETING_SQLITE_CRASH_SEED={seed}");
    let (_directory, path) = database();
    let runtime = runtime();
    let mut acknowledged: Vec<(u64, u64, u64, String)> = Vec::new();
    // Cycles whose kill landed while a create had been sent and not acknowledged.
    let mut killed_in_flight = 0;
    let mut idle_kills = Vec::new();
    for cycle in 0..cycles {
        let synchronous = if cycle % 2 == 0 { "full" } else { "normal" };
        let first = acknowledged.len();
        let mut process = child(CRASH, "crash")
            .env("MEETING_SQLITE_PATH", &path)
            .env("MEETING_SQLITE_CYCLE", cycle.to_string())
            .env("MEETING_SQLITE_SYNCHRONOUS", synchronous)
            .stdout(Stdio::piped())
            .spawn()
            .expect("a child process");
        let lines = lines(&mut process);
        let mut in_flight = InFlight::default();
        let mut before_kill = 0;
        // One cycle in five is killed anywhere from start-up and open on; the others
        // once creating is under way, however slow the machine is to start the child.
        let startup = cycle % 5 == 4;
        while !startup && before_kill == 0 {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the child acknowledges a first meeting");
            before_kill += in_flight.observe(&line, &mut acknowledged) as usize;
        }
        let delay = Duration::from_millis(if startup {
            random.range(0, 40)
        } else {
            random.range(0, 60)
        });
        let started = Instant::now();
        while let Some(left) = delay.checked_sub(started.elapsed()) {
            if let Ok(line) = lines.recv_timeout(left) {
                in_flight.observe(&line, &mut acknowledged);
            }
        }
        assert!(
            process.try_wait().unwrap().is_none(),
            "cycle {cycle}: the child stopped before it was killed"
        );
        process.kill().expect("SIGKILL");
        process.wait().unwrap();
        // Every line the child wrote before it died, so what it had sent and not acknowledged.
        for line in lines.iter() {
            in_flight.observe(&line, &mut acknowledged);
        }
        if in_flight.any() {
            killed_in_flight += 1;
        } else {
            idle_kills.push(cycle);
        }
        // This cycle's meetings now; every cycle's once more at the end.
        runtime.block_on(check_acknowledged(&path, cycle, &acknowledged[first..]));
        let raw = Connection::open(&path).unwrap();
        let integrity: String = raw
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(integrity, "ok", "cycle {cycle} (seed {seed})");
    }
    runtime.block_on(check_acknowledged(&path, cycles, &acknowledged));
    eprintln!(
        "crash test: {} acknowledged meetings, {killed_in_flight} of {cycles} kills while a create was in flight (none in cycles {idle_kills:?})",
        acknowledged.len()
    );
    // Four cycles in five are killed once creating is under way, when the
    // child's 8 writers keep creates in flight; nearly every one of those kills
    // must have found one (the rest, killed from start-up on, may too).
    assert!(
        killed_in_flight >= cycles * 3 / 4,
        "too few kills landed while a create was in flight: {killed_in_flight} of {cycles}; none in flight in cycles {idle_kills:?} (seed {seed})"
    );
}

/// What a crash child reported in one cycle: for each writer, the create it
/// has sent (`SENT`) and not yet seen acknowledged (`ACK`).
#[derive(Default)]
struct InFlight(HashMap<u64, u64>);

impl InFlight {
    /// Takes one line of the child's; an acknowledgement is added to
    /// `acknowledged`, and `true` returned.
    fn observe(&mut self, line: &str, acknowledged: &mut Vec<(u64, u64, u64, String)>) -> bool {
        if let Some(rest) = line.strip_prefix("SENT ") {
            let parts: Vec<&str> = rest.split(' ').collect();
            let [_cycle, writer, n] = parts[..] else {
                panic!("a malformed send: {line}");
            };
            let writer = writer.parse().unwrap();
            let earlier = self.0.insert(writer, n.parse().unwrap());
            assert_eq!(
                earlier, None,
                "writer {writer} sent a create before its last was acknowledged"
            );
            return false;
        }
        let Some(rest) = line.strip_prefix("ACK ") else {
            return false;
        };
        let parts: Vec<&str> = rest.split(' ').collect();
        let [cycle, writer, n, id] = parts[..] else {
            panic!("a malformed acknowledgement: {line}");
        };
        let (writer, n) = (writer.parse().unwrap(), n.parse().unwrap());
        assert_eq!(
            self.0.remove(&writer),
            Some(n),
            "writer {writer} acknowledged a create it had sent"
        );
        acknowledged.push((cycle.parse().unwrap(), writer, n, id.to_owned()));
        true
    }

    /// Whether some create was sent and not acknowledged.
    fn any(&self) -> bool {
        !self.0.is_empty()
    }
}

async fn check_acknowledged(path: &Path, cycle: u64, acknowledged: &[(u64, u64, u64, String)]) {
    let store = SqliteStore::open(path)
        .await
        .unwrap_or_else(|error| panic!("cycle {cycle}: the store reopens: {error}"));
    for (cycle, writer, n, id) in acknowledged {
        let (key, seed) = crash_key(*cycle, *writer, *n);
        let stored = store
            .get_by_key(&key)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged meeting {id} is lost"));
        assert_eq!(stored.id.as_str(), id);
        assert_eq!(*stored, sample_meeting(&key, seed), "{id} is intact");
    }
}

fn crash_child() {
    let path = PathBuf::from(std::env::var_os("MEETING_SQLITE_PATH").expect("a path"));
    let cycle: u64 = std::env::var("MEETING_SQLITE_CYCLE")
        .unwrap()
        .parse()
        .unwrap();
    let synchronous = match std::env::var("MEETING_SQLITE_SYNCHRONOUS").as_deref() {
        Ok("normal") => Synchronous::Normal,
        _ => Synchronous::Full,
    };
    let options = SqliteOptions {
        synchronous,
        ..SqliteOptions::default()
    };
    // The newline ends libtest's "test … " line, so every ACK stands alone.
    println!();
    runtime().block_on(async {
        let store = Arc::new(
            SqliteStore::open_with(&path, options)
                .await
                .expect("the child opens"),
        );
        let writers: Vec<_> = (0..CRASH_WRITERS)
            .map(|writer| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    for n in 0.. {
                        let (key, seed) = crash_key(cycle, writer, n);
                        // Before the create starts: from here until its ACK it is in flight.
                        {
                            let mut stdout = std::io::stdout().lock();
                            writeln!(stdout, "SENT {cycle} {writer} {n}").unwrap();
                            stdout.flush().unwrap();
                        }
                        let outcome = store
                            .create_or_get(&key, &|| sample_meeting(&key, seed))
                            .await
                            .expect("the create succeeds");
                        // One write(2) per line: what reached the pipe was acknowledged.
                        let mut stdout = std::io::stdout().lock();
                        writeln!(stdout, "ACK {cycle} {writer} {n} {}", outcome.meeting().id)
                            .unwrap();
                        stdout.flush().unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
    });
}

const UPDATES: &str = "several_processes_updating_one_meeting_lose_no_update";
const UPDATE_TASKS: usize = 4;
const UPDATE_ROUNDS: u64 = 10;

/// 4 processes, 4 tasks each, update one meeting at once, each task 10 times
/// and each its own member (a counter in `meetingInfo`): every one of the 160
/// read-modify-writes takes effect, so none was lost between processes.
#[test]
fn several_processes_updating_one_meeting_lose_no_update() {
    if child_mode().as_deref() == Some("update") {
        return update_child();
    }
    let (directory, path) = database();
    let go = directory.path().join("go");
    let key = key("tenant", "user", "updated-by-all");
    let id = runtime().block_on(async {
        let store = SqliteStore::open(&path).await.unwrap();
        let outcome = store
            .create_or_get(&key, &|| sample_meeting(&key, 1))
            .await
            .unwrap();
        outcome.meeting().id.clone()
    });
    let mut children: Vec<(Reaped, _)> = (0..PROCESSES)
        .map(|process| {
            let mut child = child(UPDATES, "update")
                .env("MEETING_SQLITE_PATH", &path)
                .env("MEETING_SQLITE_GO", &go)
                .env("MEETING_SQLITE_PROCESS", process.to_string())
                .env("MEETING_SQLITE_ID", id.as_str())
                .stdout(Stdio::piped())
                .spawn()
                .expect("a child process");
            let lines = lines(&mut child);
            (Reaped(child), lines)
        })
        .collect();
    for (_, lines) in &children {
        while lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the child gets ready")
            != "READY"
        {}
    }
    std::fs::write(&go, b"go").unwrap();
    for (process, (child, _)) in children.iter_mut().enumerate() {
        assert!(
            child.0.wait().unwrap().success(),
            "child {process} succeeded"
        );
    }
    runtime().block_on(async {
        let store = SqliteStore::open(&path).await.unwrap();
        let meeting = store.get(&id).await.unwrap().expect("stored");
        let info = meeting.meeting_info.as_ref().expect("meetingInfo");
        for process in 0..PROCESSES {
            for task in 0..UPDATE_TASKS {
                let member = format!("p{process}t{task}");
                assert_eq!(
                    info.get(&member).and_then(|v| v.as_u64()),
                    Some(UPDATE_ROUNDS),
                    "every update of {member} took effect: {info:?}"
                );
            }
        }
    });
}

fn update_child() {
    let path = PathBuf::from(std::env::var_os("MEETING_SQLITE_PATH").expect("a path"));
    let go = PathBuf::from(std::env::var_os("MEETING_SQLITE_GO").expect("a go file"));
    let process = std::env::var("MEETING_SQLITE_PROCESS").unwrap();
    let id = meeting_core::MeetingId::new(std::env::var("MEETING_SQLITE_ID").unwrap());
    runtime().block_on(async {
        let store = Arc::new(SqliteStore::open(&path).await.unwrap());
        println!("\nREADY");
        let waiting = Instant::now();
        while !go.exists() {
            assert!(waiting.elapsed() < Duration::from_secs(60), "no go");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let tasks: Vec<_> = (0..UPDATE_TASKS)
            .map(|task| {
                let (store, id, member) =
                    (Arc::clone(&store), id.clone(), format!("p{process}t{task}"));
                tokio::spawn(async move {
                    for _ in 0..UPDATE_ROUNDS {
                        let change = |stored: &meeting_core::OnlineMeeting| {
                            let mut changed = stored.clone();
                            let info = changed.meeting_info.get_or_insert_with(Default::default);
                            let count = info.get(&member).and_then(|v| v.as_u64()).unwrap_or(0);
                            info.insert(member.clone(), serde_json::json!(count + 1));
                            Ok(changed)
                        };
                        let updated = store.update(&id, &change).await.expect("updates");
                        assert!(matches!(updated, meeting_core::Updated::Stored(_)));
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("the task completes");
        }
    });
}
