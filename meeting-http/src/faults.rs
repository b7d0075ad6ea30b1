//! Fault injection: chosen Graph routes answer Graph's throttling (`429` with
//! `Retry-After`), `503`, `504` or a delay, at a rate or on the Nth call,
//! reproducibly from a seed. For testing clients against a server that fails
//! on purpose; off unless rules are given.
//!
//! A rule is written `key=value` pairs separated by commas, the same in
//! `meetingd serve --fault`, the admin API and [`FaultRule`]'s `FromStr`:
//!
//! | key | values | default |
//! |---|---|---|
//! | `route` | `createOrGet`, `get`, `delete`, `create` (`POST …/onlineMeetings`), `update` (`PATCH`), `find` (`GET …/onlineMeetings?$filter=…`), `*` (any of them) | `*` |
//! | `status` | `429`, `503`, `504` | none: only the delay |
//! | `delay` | `250ms`, `2s` (at most a day) | `0ms` |
//! | `when` | `before` (the call never reaches the store), `after-commit` (the call runs, then its success is replaced) | `before` |
//! | `rate` | `0` to `1`: the chance that a call is hit | `1` |
//! | `nth` | `N` ≥ 1: only the Nth matching call (counted from when the rule was added) | |
//! | `retry-after` | seconds for `Retry-After` | `5` on `429` and `503`, none on `504` |
//!
//! A rule needs `status` or `delay`, and takes `rate` or `nth`, not both. A
//! delay counts against the request timeout: past it the client gets the
//! timeout's `503`.
//! Whether a call is hit depends only on the seed, the rule's place in the
//! list and how many matching calls came before it, so a run is reproduced by
//! its seed. Every matching rule counts every matching call; the first rule
//! that hits decides the answer.
//!
//! ```
//! use meeting_http::faults::{FaultPlan, FaultRule, Faults};
//!
//! let throttle: FaultRule = "route=createOrGet,status=429,rate=0.5,retry-after=2".parse()?;
//! let lost_answer: FaultRule = "route=createOrGet,status=503,when=after-commit,nth=1".parse()?;
//! let faults = Faults::new(FaultPlan { seed: 42, rules: vec![throttle, lost_answer] });
//! assert_eq!(faults.plan().rules[1].to_string(), "route=createOrGet,status=503,when=after-commit,nth=1");
//!
//! let error = "route=createOrGet,status=429,rate=1.5".parse::<FaultRule>().unwrap_err();
//! assert!(error.to_string().contains("rate"));
//! # Ok::<(), meeting_http::faults::FaultError>(())
//! ```

use crate::envelope::RequestIdentity;
use crate::error::{ApiError, ErrorCode};
use arc_swap::ArcSwap;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The longest delay a rule may ask for.
pub const MAX_FAULT_DELAY: Duration = Duration::from_secs(86_400);

/// Which Graph route a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultRoute {
    /// `POST …/onlineMeetings/createOrGet`.
    CreateOrGet,
    /// `GET …/onlineMeetings/{id}`.
    Get,
    /// `DELETE …/onlineMeetings/{id}`.
    Delete,
    /// `POST …/onlineMeetings`.
    Create,
    /// `PATCH …/onlineMeetings/{id}`.
    Update,
    /// `GET …/onlineMeetings?$filter=…`.
    Find,
    /// Any of them (written `*`).
    Any,
}

impl FaultRoute {
    fn as_str(self) -> &'static str {
        match self {
            FaultRoute::CreateOrGet => "createOrGet",
            FaultRoute::Get => "get",
            FaultRoute::Delete => "delete",
            FaultRoute::Create => "create",
            FaultRoute::Update => "update",
            FaultRoute::Find => "find",
            FaultRoute::Any => "*",
        }
    }

    fn covers(self, route: FaultRoute) -> bool {
        self == FaultRoute::Any || self == route
    }

    /// The Graph route a request is for; `None` for `/healthz`, the admin API
    /// and unmatched paths, which are never faulted.
    fn of(method: &Method, matched: &str) -> Option<FaultRoute> {
        let graph = matched.starts_with("/beta/") || matched.starts_with("/v1.0/");
        if !graph {
            return None;
        }
        if matched.ends_with("/onlineMeetings/createOrGet") {
            return (method == Method::POST).then_some(FaultRoute::CreateOrGet);
        }
        if matched.ends_with("/onlineMeetings/{id}") {
            return match *method {
                Method::GET => Some(FaultRoute::Get),
                Method::DELETE => Some(FaultRoute::Delete),
                Method::PATCH => Some(FaultRoute::Update),
                _ => None,
            };
        }
        if matched.ends_with("/onlineMeetings") {
            return match *method {
                Method::POST => Some(FaultRoute::Create),
                Method::GET => Some(FaultRoute::Find),
                _ => None,
            };
        }
        None
    }
}

/// The error a rule answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultStatus {
    /// `429 TooManyRequests`, with `Retry-After`: Graph's throttling.
    TooManyRequests,
    /// `503 ServiceUnavailable`, with `Retry-After`.
    ServiceUnavailable,
    /// `504 GatewayTimeout`.
    GatewayTimeout,
}

impl FaultStatus {
    fn code(self) -> ErrorCode {
        match self {
            FaultStatus::TooManyRequests => ErrorCode::TooManyRequests,
            FaultStatus::ServiceUnavailable => ErrorCode::ServiceUnavailable,
            FaultStatus::GatewayTimeout => ErrorCode::GatewayTimeout,
        }
    }

    /// The HTTP status.
    pub fn as_u16(self) -> u16 {
        self.code().status()
    }
}

/// When a rule strikes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FaultWhen {
    /// Before the call is handled: nothing reaches the store (written `before`).
    #[default]
    Before,
    /// After the call succeeded: what it stored stays stored, and the client
    /// sees the fault instead of the answer, the case that makes clients
    /// retry (written `after-commit`). A call that failed by itself keeps its answer.
    AfterCommit,
}

/// Which matching calls a rule hits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultTrigger {
    /// Each call with this chance, from 0 to 1, drawn from the plan's seed.
    Rate(f64),
    /// Only the Nth matching call (1 is the first).
    Nth(u64),
}

/// One fault: where, what, when and how often. Written and read as
/// `route=createOrGet,status=429,rate=0.5` (see the [module](self) docs).
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// The route it applies to.
    pub route: FaultRoute,
    /// The error answered; `None`: only [`delay`](Self::delay).
    pub status: Option<FaultStatus>,
    /// How long to wait first (before the call, or before the answer for `after-commit`).
    pub delay: Duration,
    /// Before the call, or after its commit.
    pub when: FaultWhen,
    /// Which calls are hit.
    pub trigger: FaultTrigger,
    /// Seconds for `Retry-After`; `None`: 5 on `429` and `503`, no header on `504`.
    pub retry_after: Option<u64>,
}

/// An invalid fault rule or plan: says what is wrong and what is accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FaultError(String);

impl FaultRule {
    /// Checks the rule's values: `rate` in 0–1, `nth` at least 1, `status`
    /// or `delay` set, the delay at most [`MAX_FAULT_DELAY`].
    pub fn validate(&self) -> Result<(), FaultError> {
        match self.problem() {
            Some(problem) => Err(FaultError(format!("fault `{self}`: {problem}"))),
            None => Ok(()),
        }
    }

    fn problem(&self) -> Option<String> {
        match self.trigger {
            FaultTrigger::Rate(rate) if !(0.0..=1.0).contains(&rate) => {
                return Some(format!("rate {rate} is outside 0 to 1"));
            }
            FaultTrigger::Nth(0) => return Some("nth counts from 1".into()),
            _ => {}
        }
        if self.status.is_none() && self.delay.is_zero() {
            return Some("a fault needs status=429|503|504 or a delay such as delay=500ms".into());
        }
        if self.delay > MAX_FAULT_DELAY {
            return Some("the delay is longer than a day".into());
        }
        if self.retry_after.is_some() && self.status.is_none() {
            return Some("retry-after needs a status".into());
        }
        None
    }
}

impl FromStr for FaultRule {
    type Err = FaultError;

    fn from_str(text: &str) -> Result<Self, FaultError> {
        let fail = |message: String| Err(FaultError(format!("fault `{text}`: {message}")));
        let mut rule = FaultRule {
            route: FaultRoute::Any,
            status: None,
            delay: Duration::ZERO,
            when: FaultWhen::Before,
            trigger: FaultTrigger::Rate(1.0),
            retry_after: None,
        };
        let mut seen: Vec<&str> = Vec::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return fail(format!("`{pair}` is not key=value"));
            };
            let (key, value) = (key.trim(), value.trim());
            if seen.contains(&key) {
                return fail(format!("`{key}` is given twice"));
            }
            seen.push(key);
            match key {
                "route" => {
                    rule.route = match value.to_ascii_lowercase().as_str() {
                        "createorget" => FaultRoute::CreateOrGet,
                        "get" => FaultRoute::Get,
                        "delete" => FaultRoute::Delete,
                        "create" => FaultRoute::Create,
                        "update" => FaultRoute::Update,
                        "find" => FaultRoute::Find,
                        "*" | "any" => FaultRoute::Any,
                        _ => {
                            return fail(format!(
                                "unknown route `{value}`; use createOrGet, get, delete, create, update, find or *"
                            ))
                        }
                    }
                }
                "status" => {
                    rule.status = Some(match value {
                        "429" => FaultStatus::TooManyRequests,
                        "503" => FaultStatus::ServiceUnavailable,
                        "504" => FaultStatus::GatewayTimeout,
                        _ => return fail(format!("unknown status `{value}`; use 429, 503 or 504")),
                    })
                }
                "delay" => match parse_delay(value) {
                    Some(delay) => rule.delay = delay,
                    None => {
                        return fail(format!(
                            "delay `{value}` is not a duration; write it as 250ms or 2s"
                        ))
                    }
                },
                "when" => {
                    rule.when = match value.to_ascii_lowercase().as_str() {
                        "before" => FaultWhen::Before,
                        "after-commit" => FaultWhen::AfterCommit,
                        _ => {
                            return fail(format!(
                                "unknown when `{value}`; use before or after-commit"
                            ))
                        }
                    }
                }
                "rate" | "nth" if seen.contains(&"rate") && seen.contains(&"nth") => {
                    return fail("give rate or nth, not both".into());
                }
                "rate" => match value.parse::<f64>() {
                    Ok(rate) => rule.trigger = FaultTrigger::Rate(rate),
                    Err(_) => return fail(format!("rate `{value}` is not a number from 0 to 1")),
                },
                "nth" => match value.parse::<u64>() {
                    Ok(n) => rule.trigger = FaultTrigger::Nth(n),
                    Err(_) => return fail(format!("nth `{value}` is not a whole number ≥ 1")),
                },
                "retry-after" => match value.parse::<u64>() {
                    Ok(seconds) if seconds <= 86_400 => rule.retry_after = Some(seconds),
                    _ => {
                        return fail(format!(
                            "retry-after `{value}` is not whole seconds from 0 to 86400"
                        ))
                    }
                },
                _ => {
                    return fail(format!(
                    "unknown key `{key}`; use route, status, delay, when, rate, nth or retry-after"
                ))
                }
            }
        }
        match rule.problem() {
            Some(problem) => fail(problem),
            None => Ok(rule),
        }
    }
}

/// `250ms` or `2s`.
fn parse_delay(value: &str) -> Option<Duration> {
    let (number, unit): (&str, fn(u64) -> Duration) = if let Some(n) = value.strip_suffix("ms") {
        (n, Duration::from_millis)
    } else if let Some(n) = value.strip_suffix('s') {
        (n, Duration::from_secs)
    } else {
        return None;
    };
    number.trim().parse::<u64>().ok().map(unit)
}

impl fmt::Display for FaultRule {
    /// The rule in the syntax it is parsed from, defaults left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route={}", self.route.as_str())?;
        if let Some(status) = self.status {
            write!(f, ",status={}", status.as_u16())?;
        }
        if !self.delay.is_zero() {
            if self.delay.subsec_millis() == 0 {
                write!(f, ",delay={}s", self.delay.as_secs())?;
            } else {
                write!(f, ",delay={}ms", self.delay.as_millis())?;
            }
        }
        if self.when == FaultWhen::AfterCommit {
            f.write_str(",when=after-commit")?;
        }
        match self.trigger {
            FaultTrigger::Rate(1.0) => {}
            FaultTrigger::Rate(rate) => write!(f, ",rate={rate}")?,
            FaultTrigger::Nth(n) => write!(f, ",nth={n}")?,
        }
        if let Some(seconds) = self.retry_after {
            write!(f, ",retry-after={seconds}")?;
        }
        Ok(())
    }
}

/// Rules and the seed their rates are drawn from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultPlan {
    /// The seed of every `rate` draw: the same seed, rules and calls hit the same calls.
    pub seed: u64,
    /// The rules, in order: the first that hits a call decides its answer.
    pub rules: Vec<FaultRule>,
}

impl FaultPlan {
    /// Checks every rule ([`FaultRule::validate`]).
    pub fn validate(&self) -> Result<(), FaultError> {
        self.rules.iter().try_for_each(FaultRule::validate)
    }
}

/// How often a rule matched and hit since it was set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultStats {
    /// The rule, as written.
    pub rule: String,
    /// Calls it matched.
    pub matched: u64,
    /// Calls it hit.
    pub injected: u64,
}

/// A plan in force, with its counters.
#[derive(Debug, Default)]
struct Active {
    plan: FaultPlan,
    matched: Vec<AtomicU64>,
    injected: Vec<AtomicU64>,
}

impl Active {
    fn new(plan: FaultPlan) -> Self {
        let counters = || (0..plan.rules.len()).map(|_| AtomicU64::new(0)).collect();
        Active {
            matched: counters(),
            injected: counters(),
            plan,
        }
    }
}

/// The faults in force: a handle shared by the router and whoever changes them
/// (a test, the admin API). Cheap to clone; every clone sees changes at once.
#[derive(Clone, Debug, Default)]
pub struct Faults(Arc<ArcSwap<Active>>);

impl Faults {
    /// Faults following `plan`; its rules should be valid ([`FaultPlan::validate`]).
    pub fn new(plan: FaultPlan) -> Self {
        Faults(Arc::new(ArcSwap::from_pointee(Active::new(plan))))
    }

    /// The plan in force.
    pub fn plan(&self) -> FaultPlan {
        self.0.load().plan.clone()
    }

    /// Replaces the plan (its counters start again from zero), after checking it.
    pub fn set(&self, plan: FaultPlan) -> Result<(), FaultError> {
        plan.validate()?;
        let old = self.0.swap(Arc::new(Active::new(plan.clone())));
        if old.plan != plan {
            tracing::info!(
                seed = plan.seed,
                before = %describe(&old.plan.rules),
                after = %describe(&plan.rules),
                "faults changed"
            );
        }
        Ok(())
    }

    /// Adds a rule after the others, keeping the seed and the others' counts
    /// (a rule's `nth` counts calls from when it was added).
    pub fn add(&self, rule: FaultRule) -> Result<(), FaultError> {
        rule.validate()?;
        // Atomic against other changes: rules added at once are all kept.
        let old = self.0.rcu(|old| {
            let mut plan = old.plan.clone();
            plan.rules.push(rule.clone());
            let active = Active::new(plan);
            for (i, (matched, injected)) in old.matched.iter().zip(&old.injected).enumerate() {
                active.matched[i].store(matched.load(Ordering::Relaxed), Ordering::Relaxed);
                active.injected[i].store(injected.load(Ordering::Relaxed), Ordering::Relaxed);
            }
            Arc::new(active)
        });
        tracing::info!(
            seed = old.plan.seed,
            before = %describe(&old.plan.rules),
            after = %describe(&self.0.load().plan.rules),
            "faults changed"
        );
        Ok(())
    }

    /// Removes every rule, keeping the seed.
    pub fn clear(&self) {
        let seed = self.plan().seed;
        // An empty plan is always valid.
        let _ = self.set(FaultPlan {
            seed,
            rules: Vec::new(),
        });
    }

    /// Each rule with how often it matched and hit.
    pub fn stats(&self) -> Vec<FaultStats> {
        let active = self.0.load();
        active
            .plan
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| FaultStats {
                rule: rule.to_string(),
                matched: active.matched[i].load(Ordering::Relaxed),
                injected: active.injected[i].load(Ordering::Relaxed),
            })
            .collect()
    }

    /// The rule of this `when` that hits this call to `route`, if any; counts
    /// the call for every such rule that matches it. `after-commit` rules are
    /// asked only about calls that succeeded, so they count only those: their
    /// `nth` is the Nth successful call.
    fn decide(&self, route: FaultRoute, when: FaultWhen) -> Option<(usize, FaultRule, u64)> {
        let active = self.0.load();
        let mut hit = None;
        for (i, rule) in active.plan.rules.iter().enumerate() {
            if !rule.route.covers(route) || rule.when != when {
                continue;
            }
            let call = active.matched[i].fetch_add(1, Ordering::Relaxed) + 1;
            let strikes = match rule.trigger {
                FaultTrigger::Nth(n) => call == n,
                FaultTrigger::Rate(rate) => draw(active.plan.seed, i as u64, call) < rate,
            };
            if strikes && hit.is_none() {
                active.injected[i].fetch_add(1, Ordering::Relaxed);
                hit = Some((i, rule.clone(), call));
            }
        }
        hit
    }
}

/// The rules as written, `;`-separated, for the log.
fn describe(rules: &[FaultRule]) -> String {
    if rules.is_empty() {
        return "(none)".into();
    }
    rules
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A number in `[0, 1)` fixed by the seed, the rule's place and the call's
/// number (SplitMix64's finalizer over the three).
fn draw(seed: u64, rule: u64, call: u64) -> f64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    let x = mix(mix(mix(seed) ^ rule) ^ call);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The middleware: applies the first rule that hits a Graph call, a
/// `before` rule before the call, an `after-commit` rule once it succeeded.
pub(crate) async fn inject(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|path| FaultRoute::of(request.method(), path.as_str()));
    let Some(route) = route else {
        return next.run(request).await;
    };
    // A reference count, not a copy: only a hit logs it.
    let identity = request.extensions().get::<RequestIdentity>().cloned();
    let request_id = identity
        .as_ref()
        .and_then(|id| id.0.to_str().ok())
        .unwrap_or_default();
    if let Some((index, rule, call)) = faults.decide(route, FaultWhen::Before) {
        tracing::info!(
            fault = index + 1, %rule, call, %request_id,
            "fault injected before the call: {}",
            rule.status.map_or_else(|| format!("delaying {:?}", rule.delay), |s| format!("answering {}", s.as_u16()))
        );
        if !rule.delay.is_zero() {
            tokio::time::sleep(rule.delay).await;
        }
        return match injected_error(index, &rule, "before the call reached the store") {
            Some(error) => error.into_response(),
            None => next.run(request).await,
        };
    }
    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    let Some((index, rule, call)) = faults.decide(route, FaultWhen::AfterCommit) else {
        return response;
    };
    tracing::info!(
        fault = index + 1, %rule, call, %request_id, status = response.status().as_u16(),
        "fault injected after the call succeeded: {}",
        rule.status.map_or_else(|| format!("delaying {:?}", rule.delay), |s| format!("answering {} instead", s.as_u16()))
    );
    if !rule.delay.is_zero() {
        tokio::time::sleep(rule.delay).await;
    }
    match injected_error(
        index,
        &rule,
        "after the call succeeded (its effect is kept)",
    ) {
        Some(error) => error.into_response(),
        None => response,
    }
}

/// The Graph error fault `index` answers with, when it has a status.
fn injected_error(index: usize, rule: &FaultRule, what: &str) -> Option<ApiError> {
    rule.status.map(|status| {
        let mut error = ApiError {
            detail: Some(format!("injected by fault {} `{rule}` {what}", index + 1)),
            ..ApiError::new(status.code(), injected_message(status))
        };
        error.retry_after = rule.retry_after;
        error
    })
}

fn injected_message(status: FaultStatus) -> &'static str {
    match status {
        FaultStatus::TooManyRequests => {
            "too many requests for this application; retry after the time in Retry-After"
        }
        FaultStatus::ServiceUnavailable => {
            "the service is temporarily unavailable; retry after the time in Retry-After"
        }
        FaultStatus::GatewayTimeout => "the gateway timed out waiting for the service; retry",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_reads_back_as_written() {
        for text in [
            "route=createOrGet,status=429,rate=0.5,retry-after=2",
            "route=*,delay=250ms",
            "route=get,status=504,delay=2s,nth=3",
            "route=createOrGet,status=503,when=after-commit,nth=1",
        ] {
            let rule: FaultRule = text.parse().unwrap();
            assert_eq!(rule.to_string(), text);
        }
        let rule: FaultRule = " status = 503 , route = CreateOrGet ".parse().unwrap();
        assert_eq!(rule.route, FaultRoute::CreateOrGet);
        assert_eq!(rule.trigger, FaultTrigger::Rate(1.0));
    }

    #[test]
    fn invalid_rules_are_refused_with_what_is_accepted() {
        for (text, says) in [
            ("route=createOrGet,status=429,rate=1.5", "outside 0 to 1"),
            ("status=429,rate=-0.1", "outside 0 to 1"),
            ("status=429,rate=NaN", "outside 0 to 1"),
            ("status=429,rate=lots", "not a number"),
            (
                "route=meetings,status=429",
                "unknown route `meetings`; use createOrGet",
            ),
            ("status=500", "unknown status `500`; use 429, 503 or 504"),
            ("status=429,nth=0", "nth counts from 1"),
            ("status=429,rate=0.5,nth=2", "rate or nth, not both"),
            ("route=get", "needs status"),
            ("status=429,colour=red", "unknown key `colour`"),
            ("status=429,status=503", "given twice"),
            ("status", "not key=value"),
            ("delay=5", "not a duration"),
            ("delay=2d", "not a duration"),
            ("status=503,when=later", "unknown when"),
            ("delay=90000s", "longer than a day"),
            ("delay=1s,retry-after=3", "retry-after needs a status"),
        ] {
            let error = text.parse::<FaultRule>().unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
            assert!(error.contains(text), "names the rule: {error}");
        }
    }

    #[test]
    fn the_same_seed_hits_the_same_calls_and_another_seed_other_calls() {
        let hits = |seed| {
            let faults = Faults::new(FaultPlan {
                seed,
                rules: vec!["status=429,rate=0.3".parse().unwrap()],
            });
            (0..200)
                .map(|_| {
                    faults
                        .decide(FaultRoute::CreateOrGet, FaultWhen::Before)
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(hits(7), hits(7));
        assert_ne!(hits(7), hits(8));
        let count = hits(7).iter().filter(|hit| **hit).count();
        assert!((30..=90).contains(&count), "about 30% of 200: {count}");
    }

    #[test]
    fn nth_hits_only_the_nth_matching_call_and_counts_per_rule() {
        let faults = Faults::new(FaultPlan {
            seed: 1,
            rules: vec!["route=createOrGet,status=503,nth=2".parse().unwrap()],
        });
        assert!(faults.decide(FaultRoute::Get, FaultWhen::Before).is_none());
        let hits: Vec<bool> = (0..4)
            .map(|_| {
                faults
                    .decide(FaultRoute::CreateOrGet, FaultWhen::Before)
                    .is_some()
            })
            .collect();
        assert_eq!(hits, [false, true, false, false]);
        let stats = faults.stats();
        assert_eq!((stats[0].matched, stats[0].injected), (4, 1));
    }

    #[test]
    fn adding_a_rule_keeps_the_counts_of_the_others() {
        let faults = Faults::default();
        faults.add("status=503,nth=1".parse().unwrap()).unwrap();
        assert!(faults.decide(FaultRoute::Get, FaultWhen::Before).is_some());
        faults.add("status=429,nth=1".parse().unwrap()).unwrap();
        let (index, _, _) = faults.decide(FaultRoute::Get, FaultWhen::Before).unwrap();
        assert_eq!(index, 1, "the first rule already hit its first call");
        assert!(faults.decide(FaultRoute::Get, FaultWhen::Before).is_none());
        let counts: Vec<(u64, u64)> = faults
            .stats()
            .iter()
            .map(|s| (s.matched, s.injected))
            .collect();
        assert_eq!(counts, [(3, 1), (2, 1)]);
    }

    #[test]
    fn rates_zero_and_one_never_and_always_hit() {
        let faults = Faults::new(FaultPlan {
            seed: 3,
            rules: vec![
                "status=429,rate=0".parse().unwrap(),
                "status=503,rate=1".parse().unwrap(),
            ],
        });
        for _ in 0..100 {
            let (index, _, _) = faults
                .decide(FaultRoute::Delete, FaultWhen::Before)
                .unwrap();
            assert_eq!(index, 1);
        }
    }

    #[test]
    fn only_graph_routes_are_faulted() {
        use FaultRoute::*;
        let cases = [
            (
                Method::POST,
                "/v1.0/me/onlineMeetings/createOrGet",
                Some(CreateOrGet),
            ),
            (
                Method::POST,
                "/beta/users/{user}/onlineMeetings/createOrGet",
                Some(CreateOrGet),
            ),
            (Method::GET, "/beta/me/onlineMeetings/{id}", Some(Get)),
            (
                Method::DELETE,
                "/v1.0/users/{user}/onlineMeetings/{id}",
                Some(Delete),
            ),
            (Method::GET, "/healthz", None),
            (Method::GET, "/_meetingd/meetings", None),
            (Method::PUT, "/beta/me/onlineMeetings/{id}", None),
            (Method::PATCH, "/v1.0/me/onlineMeetings/{id}", Some(Update)),
            (
                Method::POST,
                "/v1.0/users/{user}/onlineMeetings",
                Some(Create),
            ),
            (Method::GET, "/beta/me/onlineMeetings", Some(Find)),
            (Method::DELETE, "/beta/me/onlineMeetings", None),
        ];
        for (method, path, route) in cases {
            assert_eq!(FaultRoute::of(&method, path), route, "{method} {path}");
        }
    }
}
