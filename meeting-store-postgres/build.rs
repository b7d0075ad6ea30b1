// Tells the PostgreSQL tests whether there is a server to test against, so that
// without one they are reported as ignored, with the reason, rather than passed.
//
// - `no_postgres`: neither `MEETING_PG_URL` nor server binaries to start a
//   throwaway cluster with (`MEETING_PG_BIN`, or `/usr/lib/postgresql/*/bin`).
// - `no_postgres_binaries`: no server binaries, for the tests that start (and
//   stop) a cluster of their own whatever `MEETING_PG_URL` says.
//
// Under `CI=true` neither is set: there, a missing PostgreSQL fails the tests.
// The probe runs when the package is built: after installing PostgreSQL,
// set `MEETING_PG_BIN` (or touch this file) for it to look again.
//
// meetingd's build script includes this file, for its own PostgreSQL tests.

use std::path::Path;

const INSTALLED: &str = "/usr/lib/postgresql";

fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_postgres)");
    println!("cargo::rustc-check-cfg=cfg(no_postgres_binaries)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=MEETING_PG_URL");
    println!("cargo::rerun-if-env-changed=MEETING_PG_BIN");
    let binaries = match std::env::var_os("MEETING_PG_BIN") {
        Some(bin) => Path::new(&bin).join("initdb").is_file(),
        None => installed_binaries(),
    };
    if Path::new(INSTALLED).is_dir() {
        // A version installed or removed later is seen.
        println!("cargo::rerun-if-changed={INSTALLED}");
    }
    if binaries {
        return;
    }
    // Only without binaries does CI change the outcome: flipping CI elsewhere rebuilds nothing.
    println!("cargo::rerun-if-env-changed=CI");
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        return;
    }
    println!("cargo::rustc-cfg=no_postgres_binaries");
    let url = std::env::var("MEETING_PG_URL").is_ok_and(|url| !url.trim().is_empty());
    if !url {
        println!("cargo::rustc-cfg=no_postgres");
    }
}

/// Whether some `/usr/lib/postgresql/<version>/bin/initdb` exists (what the harness runs).
fn installed_binaries() -> bool {
    std::fs::read_dir(INSTALLED).is_ok_and(|versions| {
        versions
            .filter_map(Result::ok)
            .any(|version| version.path().join("bin/initdb").is_file())
    })
}
