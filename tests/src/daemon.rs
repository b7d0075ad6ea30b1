//! A `meetingd serve` process for the binary's tests (feature `http`): started
//! on an ephemeral port, its log collected, killed on drop so that a failed
//! assertion leaks no process.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running server.
pub struct Daemon {
    child: Child,
    /// `http://<address>` it listens on.
    pub base: String,
    log: Arc<Mutex<String>>,
}

impl Daemon {
    /// Runs `command` (a `meetingd serve --listen 127.0.0.1:0 …`; stdout as
    /// the caller set it, stderr taken here) and waits until it logs the
    /// address it listens on; panics with its log if that takes over 30 s.
    pub fn spawn(command: &mut Command) -> Daemon {
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .expect("meetingd starts");
        let stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
        // Reads stderr for the daemon's whole life, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
                let _ = lines_tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut base = None;
        while let Ok(line) =
            lines_rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if let Some(rest) = line.split("address=").nth(1) {
                let address = rest.split_whitespace().next().unwrap_or_default();
                base = Some(format!("http://{address}"));
                break;
            }
        }
        let base =
            base.unwrap_or_else(|| panic!("meetingd did not start:\n{}", log.lock().unwrap()));
        Daemon { child, base, log }
    }

    /// `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything it has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log holds every one of `expected`; panics with the log
    /// if it does not within 10 s.
    #[track_caller]
    pub fn assert_logged(&self, expected: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if expected.iter().all(|text| log.contains(text)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the log lacks one of {expected:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its standard output, when the command piped it (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Sends SIGTERM.
    pub fn terminate(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for it to exit; panics if it has not within 10 s.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("waits") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "meetingd did not stop within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
