//! Benchmarks of `meeting-core` and the memory store, and the report that
//! turns every crate's criterion results into one table.
//!
//! The benches live in `benches/`; this library holds what they share:
//!
//! - [`seed`]: the seed's caller, request and response, and a service set up to
//!   make meetings of the seed's shape;
//! - [`plain`]: a plain serde mirror of the model, the baseline of the
//!   annotation's cost;
//! - [`run`]: driving the service's futures without a runtime, and timing
//!   batches of inputs that must not be built inside the measurement;
//! - [`report`]: reading `target/criterion` and printing the table.
//!
//! Every criterion group pairs its measurements with a function whose id starts
//! with `baseline`, measured in the same run; the report divides each other
//! function's mean by it. Run everything with `scripts/bench`.

#![warn(missing_docs)]

pub mod plain;
pub mod report;
pub mod run;
pub mod seed;
