//! The table of every benchmark's figure and its ratio to its group's baseline.
//!
//! Criterion leaves, for each benchmark, `new/benchmark.json` (group, function,
//! throughput) and `new/estimates.json` (mean and its confidence interval, in
//! nanoseconds) under `target/criterion`. Measurements that are not times, such
//! as bytes per stored meeting, are written by their bench as an
//! [`ExtraGroup`] under `target/meeting-bench/`.
//!
//! The team's convention: in each group, a function whose id starts with
//! `baseline` is the reference measured in the same run, and every other
//! function's mean is divided by it. When several baselines share a group, each
//! function is compared with the baseline of the same parameter (`value_str`).

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use std::{fs, io};

/// One criterion benchmark's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// The criterion group (or the benchmark's name, outside a group).
    pub group: String,
    /// The function id, and its parameter after a `/` when it has one.
    pub function: String,
    /// The parameter alone, used to pair a function with its baseline.
    pub parameter: Option<String>,
    /// The mean time of one iteration, in nanoseconds.
    pub mean_ns: f64,
    /// The 95 % confidence interval of the mean, in nanoseconds.
    pub mean_ci_ns: (f64, f64),
    /// Elements per iteration, when the benchmark declared a throughput.
    pub elements: Option<u64>,
}

impl Measurement {
    fn is_baseline(&self) -> bool {
        self.function.starts_with("baseline")
    }
}

#[derive(Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<ThroughputJson>,
}

#[derive(Deserialize)]
enum ThroughputJson {
    Elements(u64),
    Bytes(IgnoredAny),
    BytesDecimal(IgnoredAny),
    ElementsAndBytes { elements: u64 },
}

#[derive(Deserialize)]
struct EstimatesJson {
    mean: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: ConfidenceInterval,
}

#[derive(Deserialize)]
struct ConfidenceInterval {
    lower_bound: f64,
    upper_bound: f64,
}

/// A group of measurements that are not times, written by a bench as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExtraGroup {
    /// The group's name.
    pub group: String,
    /// The unit of every value, such as `bytes`.
    pub unit: String,
    /// The rows; a `function` starting with `baseline` is the reference.
    pub rows: Vec<ExtraRow>,
}

/// One row of an [`ExtraGroup`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExtraRow {
    /// What was measured.
    pub function: String,
    /// The figure, in the group's unit.
    pub value: f64,
    /// The interquartile range of the figure, when it is a median of rounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quartiles: Option<(f64, f64)>,
}

/// The workspace's target directory: `CARGO_TARGET_DIR`, else the nearest
/// ancestor of the running executable that cargo marked with `CACHEDIR.TAG`,
/// else `target` beside this crate's workspace.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Where benches write their [`ExtraGroup`]s.
pub fn extra_dir(target: &Path) -> PathBuf {
    target.join("meeting-bench")
}

/// Writes `group` where [`read_extra`] finds it.
pub fn write_extra(target: &Path, group: &ExtraGroup) -> io::Result<PathBuf> {
    let dir = extra_dir(target);
    fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.json", group.group));
    fs::write(&path, serde_json::to_vec_pretty(group)?)?;
    Ok(path)
}

/// Every criterion result under `criterion_dir` written at or after `since`,
/// sorted by group, baselines first.
pub fn read_criterion(
    criterion_dir: &Path,
    since: Option<SystemTime>,
) -> io::Result<Vec<Measurement>> {
    let mut found = Vec::new();
    if criterion_dir.is_dir() {
        visit(criterion_dir, since, &mut found)?;
    }
    found.sort_by(|a, b| {
        (&a.group, !a.is_baseline(), &a.parameter, &a.function).cmp(&(
            &b.group,
            !b.is_baseline(),
            &b.parameter,
            &b.function,
        ))
    });
    Ok(found)
}

fn visit(dir: &Path, since: Option<SystemTime>, found: &mut Vec<Measurement>) -> io::Result<()> {
    let new = dir.join("new");
    let estimates = new.join("estimates.json");
    if estimates.is_file() {
        let fresh = match since {
            Some(since) => fs::metadata(&estimates)?.modified()? >= since,
            None => true,
        };
        if fresh {
            found.push(read_one(&new.join("benchmark.json"), &estimates)?);
        }
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        // `report` holds criterion's HTML; `base`/`change` hold older runs.
        let name = entry.file_name();
        if entry.file_type()?.is_dir()
            && !matches!(name.to_str(), Some("new" | "base" | "change" | "report"))
        {
            visit(&entry.path(), since, found)?;
        }
    }
    Ok(())
}

fn read_one(benchmark: &Path, estimates: &Path) -> io::Result<Measurement> {
    let parse_error = |path: &Path, error: serde_json::Error| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {error}", path.display()),
        )
    };
    let benchmark_json: BenchmarkJson = serde_json::from_slice(&fs::read(benchmark)?)
        .map_err(|error| parse_error(benchmark, error))?;
    let estimates_json: EstimatesJson = serde_json::from_slice(&fs::read(estimates)?)
        .map_err(|error| parse_error(estimates, error))?;
    let function = match (&benchmark_json.function_id, &benchmark_json.value_str) {
        (Some(function), Some(value)) => format!("{function}/{value}"),
        (Some(function), None) => function.clone(),
        (None, Some(value)) => value.clone(),
        (None, None) => String::new(),
    };
    let elements = benchmark_json
        .throughput
        .and_then(|throughput| match throughput {
            ThroughputJson::Elements(n) | ThroughputJson::ElementsAndBytes { elements: n } => {
                Some(n)
            }
            ThroughputJson::Bytes(_) | ThroughputJson::BytesDecimal(_) => None,
        });
    let mean = estimates_json.mean;
    Ok(Measurement {
        group: benchmark_json.group_id,
        function,
        parameter: benchmark_json.value_str,
        mean_ns: mean.point_estimate,
        mean_ci_ns: (
            mean.confidence_interval.lower_bound,
            mean.confidence_interval.upper_bound,
        ),
        elements,
    })
}

/// Every [`ExtraGroup`] under `target`'s extra directory written at or after `since`.
pub fn read_extra(target: &Path, since: Option<SystemTime>) -> io::Result<Vec<ExtraGroup>> {
    let dir = extra_dir(target);
    let mut groups = Vec::new();
    if !dir.is_dir() {
        return Ok(groups);
    }
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        if let Some(since) = since {
            if fs::metadata(&path)?.modified()? < since {
                continue;
            }
        }
        let group = serde_json::from_slice(&fs::read(&path)?).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {error}", path.display()),
            )
        })?;
        groups.push(group);
    }
    groups.sort_by(|a: &ExtraGroup, b| a.group.cmp(&b.group));
    Ok(groups)
}

/// What a row of this project's issues must reach.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// The mean at most this many times the baseline's.
    MaxRatio(f64),
    /// Throughput (elements per second) at least this many times the baseline's.
    MinThroughputRatio(f64),
}

/// The performance targets (BENCHMARKS.md, *Targets*), by group and function id prefix.
pub const TARGETS: &[(&str, &str, Target)] = &[
    ("annotation_serialize", "derive", Target::MaxRatio(1.05)),
    ("annotation_parse", "derive", Target::MaxRatio(1.10)),
    ("service_hit", "service_", Target::MaxRatio(3.0)),
    ("service_create", "service_", Target::MaxRatio(2.0)),
    ("scaling_hit_latency", "1m_", Target::MaxRatio(1.5)),
    (
        "scaling_threads",
        "2_threads",
        Target::MinThroughputRatio(1.6),
    ),
];

fn target_of(group: &str, function: &str) -> Option<Target> {
    TARGETS
        .iter()
        .find(|(g, prefix, _)| *g == group && function.starts_with(prefix))
        .map(|(_, _, target)| *target)
}

/// `1.23 µs`, with three significant digits.
pub fn format_ns(ns: f64) -> String {
    let (value, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}")
}

fn format_rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2} M/s", per_second / 1e6)
    } else if per_second >= 1e3 {
        format!("{:.1} k/s", per_second / 1e3)
    } else {
        format!("{per_second:.0} /s")
    }
}

/// The markdown table of `measurements` and `extras`.
pub fn render(measurements: &[Measurement], extras: &[ExtraGroup]) -> String {
    let mut out = String::new();
    out.push_str(
        "| group | function | mean (95% CI) | ratio to baseline | throughput | target |\n",
    );
    out.push_str("|---|---|---|---|---|---|\n");
    for m in measurements {
        let baseline = measurements
            .iter()
            .filter(|b| b.group == m.group && b.is_baseline())
            .min_by_key(|b| b.parameter != m.parameter);
        let ratio = match baseline {
            Some(b) if b.function == m.function => "baseline".to_owned(),
            Some(b) => format!("{:.2}x", m.mean_ns / b.mean_ns),
            None => "no baseline".to_owned(),
        };
        let throughput_ratio = baseline.and_then(|b| {
            let per_second = |x: &Measurement| Some(x.elements? as f64 / x.mean_ns);
            Some(per_second(m)? / per_second(b)?)
        });
        let throughput = match m.elements {
            Some(n) => {
                let rate = format_rate(n as f64 * 1e9 / m.mean_ns);
                match throughput_ratio {
                    Some(r) if !m.is_baseline() => format!("{rate} ({r:.2}x)"),
                    _ => rate,
                }
            }
            None => String::new(),
        };
        let target = match (target_of(&m.group, &m.function), baseline) {
            (Some(Target::MaxRatio(max)), Some(b)) => {
                let verdict = if m.mean_ns / b.mean_ns <= max {
                    "met"
                } else {
                    "MISSED"
                };
                format!("≤ {max:.2}x: {verdict}")
            }
            (Some(Target::MinThroughputRatio(min)), Some(_)) => {
                let verdict = if throughput_ratio.is_some_and(|r| r >= min) {
                    "met"
                } else {
                    "MISSED"
                };
                format!("≥ {min:.2}x throughput: {verdict}")
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} ({} – {}) | {ratio} | {throughput} | {target} |",
            m.group,
            m.function,
            format_ns(m.mean_ns),
            format_ns(m.mean_ci_ns.0),
            format_ns(m.mean_ci_ns.1),
        );
    }
    for group in extras {
        let baseline = group
            .rows
            .iter()
            .find(|row| row.function.starts_with("baseline"));
        let _ = writeln!(
            out,
            "\n| group | function | {} | ratio to baseline | target |",
            group.unit
        );
        out.push_str("|---|---|---|---|---|\n");
        for row in &group.rows {
            let ratio = match baseline {
                Some(b) if b.function == row.function => "baseline".to_owned(),
                Some(b) => format!("{:.2}x", row.value / b.value),
                None => String::new(),
            };
            let figure = |value: f64| {
                if value.abs() < 100.0 {
                    format!("{value:.2}")
                } else {
                    format!("{value:.0}")
                }
            };
            let value = match row.quartiles {
                Some((low, high)) => format!(
                    "{} (quartiles {} – {})",
                    figure(row.value),
                    figure(low),
                    figure(high)
                ),
                None => figure(row.value),
            };
            // Rows named `criterion_group/function` that are themselves
            // ratios (the paired bench) are held to that row's target.
            let target = row
                .function
                .split_once('/')
                .filter(|_| baseline.is_none())
                .and_then(|(g, f)| target_of(g, f))
                .map(|target| match target {
                    Target::MaxRatio(max) => {
                        let verdict = if row.value <= max { "met" } else { "MISSED" };
                        format!("≤ {max:.2}x: {verdict}")
                    }
                    Target::MinThroughputRatio(min) => {
                        let verdict = if row.value >= min { "met" } else { "MISSED" };
                        format!("≥ {min:.2}x throughput: {verdict}")
                    }
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {value} | {ratio} | {target} |",
                group.group, row.function
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(
        group: &str,
        function: &str,
        mean_ns: f64,
        elements: Option<u64>,
    ) -> Measurement {
        Measurement {
            group: group.into(),
            function: function.into(),
            parameter: None,
            mean_ns,
            mean_ci_ns: (mean_ns, mean_ns),
            elements,
        }
    }

    #[test]
    fn each_function_is_divided_by_its_groups_baseline() {
        let table = render(
            &[
                measurement("annotation_serialize", "baseline_plain_serde", 100.0, None),
                measurement("annotation_serialize", "derive", 104.0, None),
                measurement("other", "alone", 5.0, None),
            ],
            &[],
        );
        assert!(table.contains("| annotation_serialize | derive | 104 ns (104 ns – 104 ns) | 1.04x |  | ≤ 1.05x: met |"), "{table}");
        assert!(table.contains("| baseline |"), "{table}");
        assert!(
            table.contains("| other | alone | 5.00 ns (5.00 ns – 5.00 ns) | no baseline |"),
            "{table}"
        );
    }

    #[test]
    fn throughput_is_compared_per_element() {
        // Two threads doing one hit each in 1.1x the time of one thread's hit.
        let table = render(
            &[
                measurement("scaling_threads", "baseline_1_thread", 100.0, Some(1)),
                measurement("scaling_threads", "2_threads", 110.0, Some(2)),
            ],
            &[],
        );
        assert!(
            table.contains("18.18 M/s (1.82x) | ≥ 1.60x throughput: met |"),
            "{table}"
        );
    }

    #[test]
    fn criterion_files_are_read_and_sorted_baseline_first() {
        let dir = std::env::temp_dir().join(format!("meeting-bench-report-{}", std::process::id()));
        for (function, mean) in [("derive", 2.0), ("baseline_plain", 1.0)] {
            let new = dir.join("g").join(function).join("new");
            fs::create_dir_all(&new).unwrap();
            fs::write(
                new.join("benchmark.json"),
                format!(r#"{{"group_id":"g","function_id":"{function}","value_str":null,"throughput":{{"Elements":1}},"full_id":"g/{function}","directory_name":"g/{function}","title":"g/{function}"}}"#),
            )
            .unwrap();
            fs::write(
                new.join("estimates.json"),
                format!(r#"{{"mean":{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{mean},"upper_bound":{mean}}},"point_estimate":{mean},"standard_error":0.0}}}}"#),
            )
            .unwrap();
        }
        let found = read_criterion(&dir, None).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].function, "baseline_plain");
        assert_eq!(found[1].mean_ns, 2.0);
        assert_eq!(found[1].elements, Some(1));
    }
}
