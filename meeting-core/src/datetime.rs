//! Graph's `DateTimeOffset`, as this service writes it.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An instant in years 0001 to 9999 UTC at 100 ns precision (.NET's tick),
/// written as `2020-02-06T01:49:21.3524945+00:00`: UTC, seven fractional digits,
/// a `+00:00` offset.
///
/// Parsing accepts RFC 3339 with any offset (converted to UTC) or none (read as
/// UTC); digits past the seventh are dropped.
///
/// ```
/// use meeting_core::DateTimeOffset;
///
/// let t: DateTimeOffset = "2020-02-06T03:49:21.35249459+02:00".parse().unwrap();
/// assert_eq!(t.to_string(), "2020-02-06T01:49:21.3524945+00:00");
/// assert_eq!(DateTimeOffset::MIN.to_string(), "0001-01-01T00:00:00.0000000+00:00");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTimeOffset(DateTime<Utc>);

/// Why a date-time was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateTimeError {
    /// Not an RFC 3339 date-time.
    #[error("not a date-time such as 2020-02-06T01:49:21.3524945+00:00")]
    Malformed,
    /// Outside years 0001 to 9999 once in UTC.
    #[error("the date-time must fall in years 0001 to 9999 UTC")]
    OutOfRange,
    /// A leap second (`:60`), which Graph's date-time type cannot hold.
    #[error("leap seconds (:60) are not supported")]
    LeapSecond,
}

const TICK_NANOS: u32 = 100;

impl DateTimeOffset {
    /// `0001-01-01T00:00:00.0000000+00:00`, the platform default Graph's beta
    /// profile gives a meeting without times.
    pub const MIN: DateTimeOffset = DateTimeOffset(
        NaiveDate::from_ymd_opt(1, 1, 1)
            .expect("valid date")
            .and_hms_opt(0, 0, 0)
            .expect("valid time")
            .and_utc(),
    );

    /// `9999-12-31T23:59:59.9999999+00:00`, the last representable tick.
    pub const MAX: DateTimeOffset = DateTimeOffset(
        NaiveDate::from_ymd_opt(9999, 12, 31)
            .expect("valid date")
            .and_hms_nano_opt(23, 59, 59, 999_999_900)
            .expect("valid time")
            .and_utc(),
    );

    /// The instant, truncated to 100 ns, if it falls in years 0001 to 9999.
    pub fn from_utc(instant: DateTime<Utc>) -> Result<Self, DateTimeError> {
        let year = chrono::Datelike::year(&instant);
        if !(1..=9999).contains(&year) {
            return Err(DateTimeError::OutOfRange);
        }
        let nanos = instant.nanosecond();
        if nanos >= 1_000_000_000 {
            return Err(DateTimeError::LeapSecond);
        }
        let truncated = instant
            .with_nanosecond(nanos - nanos % TICK_NANOS)
            .expect("a smaller sub-second value is valid");
        Ok(DateTimeOffset(truncated))
    }

    /// The instant, truncated to 100 ns and clamped to years 0001 to 9999
    /// (a leap second reads as the last tick of its minute).
    pub fn saturating_from_utc(instant: DateTime<Utc>) -> Self {
        match Self::from_utc(instant) {
            Ok(value) => value,
            Err(DateTimeError::LeapSecond) => Self::from_utc(
                instant
                    .with_nanosecond(999_999_900)
                    .expect("a sub-second value below one second is valid"),
            )
            .unwrap_or(Self::MIN),
            Err(_) if chrono::Datelike::year(&instant) < 1 => Self::MIN,
            Err(_) => Self::MAX,
        }
    }

    /// The instant as a chrono value.
    pub fn as_utc(&self) -> DateTime<Utc> {
        self.0
    }

    /// This instant plus `delta`, if the result is still in range.
    pub fn checked_add(&self, delta: TimeDelta) -> Result<Self, DateTimeError> {
        self.0
            .checked_add_signed(delta)
            .ok_or(DateTimeError::OutOfRange)
            .and_then(Self::from_utc)
    }
}

impl FromStr for DateTimeOffset {
    type Err = DateTimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let instant = match DateTime::parse_from_rfc3339(s) {
            Ok(with_offset) => with_offset.with_timezone(&Utc),
            Err(_) => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .map_err(|_| DateTimeError::Malformed)?
                .and_utc(),
        };
        Self::from_utc(instant)
    }
}

impl DateTimeOffset {
    /// Writes the instant with seven fractional digits, then `zone`.
    fn write(&self, f: &mut fmt::Formatter<'_>, zone: &str) -> fmt::Result {
        use chrono::Datelike;
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}{zone}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond() / TICK_NANOS
        )
    }

    /// The instant as Graph v1.0 writes it today: `…ss.fffffffZ`.
    pub fn zulu(&self) -> impl fmt::Display + '_ {
        struct Zulu<'a>(&'a DateTimeOffset);
        impl fmt::Display for Zulu<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.write(f, "Z")
            }
        }
        Zulu(self)
    }
}

/// The seed's form: `…ss.fffffff+00:00`.
impl fmt::Display for DateTimeOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, "+00:00")
    }
}

impl fmt::Debug for DateTimeOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for DateTimeOffset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DateTimeOffset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateTimeVisitor;
        impl Visitor<'_> for DateTimeVisitor {
            type Value = DateTimeOffset;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date-time string")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                value
                    .parse()
                    .map_err(|error| E::custom(format_args!("\"{value}\": {error}")))
            }
        }
        deserializer.deserialize_str(DateTimeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_instants_saturate_to_the_nearer_end() {
        let utc = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        // Year 0 and before clamp to the first tick, year 10000 and after to the last.
        assert_eq!(
            DateTimeOffset::saturating_from_utc(utc("0000-12-31T23:59:59Z")),
            DateTimeOffset::MIN
        );
        assert_eq!(
            DateTimeOffset::saturating_from_utc(utc("-0005-06-01T00:00:00Z")),
            DateTimeOffset::MIN
        );
        assert_eq!(
            DateTimeOffset::saturating_from_utc(utc("+10000-01-01T00:00:00Z")),
            DateTimeOffset::MAX
        );
        // In range: the instant itself, at either end.
        let first = utc("0001-01-01T00:00:00Z");
        assert_eq!(DateTimeOffset::saturating_from_utc(first).as_utc(), first);
        let last = utc("9999-12-31T23:59:59.9999999Z");
        assert_eq!(DateTimeOffset::saturating_from_utc(last).as_utc(), last);
    }

    #[test]
    fn debug_is_the_graph_text() {
        let t: DateTimeOffset = "2020-02-06T01:49:21.3524945Z".parse().unwrap();
        assert_eq!(format!("{t:?}"), "2020-02-06T01:49:21.3524945+00:00");
    }

    #[test]
    fn a_value_that_is_not_a_string_is_refused_saying_what_was_expected() {
        let error = serde_json::from_str::<DateTimeOffset>("5").unwrap_err();
        assert!(
            error.to_string().contains("expected a date-time string"),
            "{error}"
        );
    }

    #[test]
    fn writes_seven_digits_and_utc_offset() {
        let t: DateTimeOffset = "2020-02-06T01:49:21.3524945+00:00".parse().unwrap();
        assert_eq!(t.to_string(), "2020-02-06T01:49:21.3524945+00:00");
        let whole: DateTimeOffset = "2020-02-06T01:49:21Z".parse().unwrap();
        assert_eq!(whole.to_string(), "2020-02-06T01:49:21.0000000+00:00");
    }

    #[test]
    fn keeps_100ns_and_drops_further_digits() {
        let t: DateTimeOffset = "2020-02-06T01:49:21.123456789Z".parse().unwrap();
        assert_eq!(t.to_string(), "2020-02-06T01:49:21.1234567+00:00");
    }

    #[test]
    fn converts_other_offsets_to_utc() {
        let t: DateTimeOffset = "2020-02-06T01:49:21.5-05:30".parse().unwrap();
        assert_eq!(t.to_string(), "2020-02-06T07:19:21.5000000+00:00");
    }

    #[test]
    fn reads_input_without_offset_as_utc() {
        let t: DateTimeOffset = "2020-02-06T01:49:21.25".parse().unwrap();
        assert_eq!(t.to_string(), "2020-02-06T01:49:21.2500000+00:00");
    }

    #[test]
    fn years_0001_to_9999_after_conversion_to_utc() {
        assert!("0001-01-01T00:00:00Z".parse::<DateTimeOffset>().is_ok());
        assert!("9999-12-31T23:59:59.9999999Z"
            .parse::<DateTimeOffset>()
            .is_ok());
        assert_eq!(
            "0001-01-01T00:30:00+01:00".parse::<DateTimeOffset>(),
            Err(DateTimeError::OutOfRange)
        );
        assert_eq!(
            "9999-12-31T23:30:00-01:00".parse::<DateTimeOffset>(),
            Err(DateTimeError::OutOfRange)
        );
        assert_eq!(
            "0000-06-01T00:00:00Z".parse::<DateTimeOffset>(),
            Err(DateTimeError::OutOfRange)
        );
    }

    #[test]
    fn refuses_malformed_text_and_leap_seconds() {
        for bad in [
            "",
            "yesterday",
            "2020-13-01T00:00:00Z",
            "2020-02-06",
            "2020-02-06T25:00:00Z",
        ] {
            assert_eq!(
                bad.parse::<DateTimeOffset>(),
                Err(DateTimeError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            "2016-12-31T23:59:60Z".parse::<DateTimeOffset>(),
            Err(DateTimeError::LeapSecond)
        );
    }

    #[test]
    fn adding_past_year_9999_is_out_of_range() {
        let late: DateTimeOffset = "9999-12-31T23:30:00Z".parse().unwrap();
        assert_eq!(
            late.checked_add(TimeDelta::hours(1)),
            Err(DateTimeError::OutOfRange)
        );
    }
}
