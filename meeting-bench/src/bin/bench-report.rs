//! Prints the markdown table of every criterion result in the workspace.
//!
//! ```text
//! cargo run -p meeting-bench --bin bench-report -- [--since UNIX_SECONDS] [--target-dir DIR]
//! ```
//!
//! `--since` keeps only results written at or after that instant, so that a
//! run's table leaves out older benchmarks still lying in `target/criterion`.

use meeting_bench::report;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench-report: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut since = None;
    let mut target = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--since" => {
                let seconds: u64 = value()?
                    .parse()
                    .map_err(|_| "--since takes whole seconds since 1970, as `date +%s` prints")?;
                since = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds));
            }
            "--target-dir" => target = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                println!("usage: bench-report [--since UNIX_SECONDS] [--target-dir DIR]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    let target = target.unwrap_or_else(report::target_dir);
    let criterion = target.join("criterion");
    let measurements = report::read_criterion(&criterion, since)
        .map_err(|error| format!("reading {}: {error}", criterion.display()))?;
    let extras = report::read_extra(&target, since)
        .map_err(|error| format!("reading {}: {error}", report::extra_dir(&target).display()))?;
    if measurements.is_empty() && extras.is_empty() {
        return Err(format!(
            "no results in {}; run `cargo bench` (or scripts/bench) first",
            criterion.display()
        ));
    }
    print!("{}", report::render(&measurements, &extras));
    Ok(())
}
