//! Units as operators write them: durations (`5m`, `1h 30m`), percentages
//! (`14%`), latencies (`250ms`, `2s`), and their display.

use jiff::SignedDuration;

/// The longest duration shipdeck accepts: longer is no deployment step.
pub const MAX_DURATION: SignedDuration = SignedDuration::from_hours(24 * 30);

/// Parses a duration written as `90s`, `5m`, `1h30m` or ISO 8601 (`PT5M`).
///
/// ```
/// use shipdeck_core::model::units::{format_duration, parse_duration};
///
/// assert_eq!(format_duration(parse_duration("90s").unwrap()), "1m 30s");
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<SignedDuration, String> {
    let parsed: SignedDuration = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (write it like 90s, 5m or 1h30m)"))?;
    if parsed.is_negative() {
        return Err(format!(
            "`{text}` is negative; a duration must be zero or more"
        ));
    }
    if parsed > MAX_DURATION {
        return Err(format!("`{text}` is longer than 30 days"));
    }
    Ok(parsed)
}

/// A duration of a file's that the release's clock keeps: as
/// [`parse_duration`], in whole seconds. The simulator's clock keeps time in
/// whole seconds (what a person reads, what a log stamps), so `100ms` would
/// be no time at all to it and `1500ms` not what was written.
///
/// ```
/// use shipdeck_core::model::units::parse_clock_duration;
///
/// assert!(parse_clock_duration("90s").is_ok());
/// assert!(parse_clock_duration("100ms").unwrap_err().contains("under a second"));
/// assert!(parse_clock_duration("1500ms").unwrap_err().contains("whole number of seconds"));
/// ```
pub fn parse_clock_duration(text: &str) -> Result<SignedDuration, String> {
    let parsed = parse_duration(text)?;
    if parsed.subsec_nanos() == 0 {
        return Ok(parsed);
    }
    let text = text.trim();
    Err(if parsed < SignedDuration::from_secs(1) {
        format!(
            "`{text}` is under a second: shipdeck keeps time in whole seconds (write 1s or more)"
        )
    } else {
        let whole = parsed.as_secs();
        format!(
            "`{text}` is not a whole number of seconds: shipdeck keeps time in whole seconds (write {whole}s or {}s)",
            whole + 1
        )
    })
}

/// Formats a duration compactly for people: `1h 30m`, `5m`, `45s`.
pub fn format_duration(duration: SignedDuration) -> String {
    let secs = duration.as_secs().unsigned_abs();
    let sign = if duration.is_negative() { "-" } else { "" };
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{sign}{s}s"),
        (0, m, 0) => format!("{sign}{m}m"),
        (0, m, s) => format!("{sign}{m}m {s}s"),
        (h, 0, _) => format!("{sign}{h}h"),
        (h, m, _) => format!("{sign}{h}h {m}m"),
    }
}

/// `1 sign-off`, `2 sign-offs`.
pub fn plural(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Serde helpers so durations read and write as `5m` in YAML and JSON.
pub mod duration_serde {
    use jiff::SignedDuration;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Exact, unlike [`super::format_duration`]: `1h45s`, `500ms`.
    pub fn serialize<S: Serializer>(d: &SignedDuration, s: S) -> Result<S::Ok, S::Error> {
        use jiff::fmt::friendly::{Designator, Spacing, SpanPrinter};
        const PRINTER: SpanPrinter = SpanPrinter::new()
            .designator(Designator::Compact)
            .spacing(Spacing::None);
        s.serialize_str(&PRINTER.duration_to_string(d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SignedDuration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<SignedDuration>`.
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            d: &Option<SignedDuration>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<SignedDuration>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|text| super::super::parse_duration(&text).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

/// A quantity as written in a rule or scenario, before it meets a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Quantity {
    /// `14%`: a fraction of one (0.14).
    Percent(f64),
    /// `250ms` or `2s`: seconds.
    Seconds(f64),
    /// `1200rps` or `1200/s`: requests per second.
    PerSecond(f64),
    /// A bare number.
    Plain(f64),
}

/// Parses `14%`, `0.14`, `250ms`, `2s`, `1200rps`, `1200/s`.
pub fn parse_quantity(text: &str) -> Result<Quantity, String> {
    let t = text.trim();
    let number = |s: &str| -> Result<f64, String> {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a number with a unit (like 10%, 250ms, 2s)"))?;
        if v.is_finite() {
            Ok(v)
        } else {
            Err(format!("`{text}` is not a finite number"))
        }
    };
    if let Some(v) = t.strip_suffix('%') {
        Ok(Quantity::Percent(number(v)? / 100.0))
    } else if let Some(v) = t.strip_suffix("ms") {
        Ok(Quantity::Seconds(number(v)? / 1000.0))
    } else if let Some(v) = t.strip_suffix("rps").or_else(|| t.strip_suffix("/s")) {
        Ok(Quantity::PerSecond(number(v)?))
    } else if let Some(v) = t.strip_suffix('s') {
        Ok(Quantity::Seconds(number(v)?))
    } else {
        Ok(Quantity::Plain(number(t)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_operators_write_them() {
        assert_eq!(parse_duration("5m").unwrap(), SignedDuration::from_mins(5));
        assert_eq!(
            parse_duration("1h30m").unwrap(),
            SignedDuration::from_mins(90)
        );
        assert_eq!(
            parse_duration("90s").unwrap(),
            SignedDuration::from_secs(90)
        );
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-5m").is_err());
        assert_eq!(format_duration(SignedDuration::from_secs(90)), "1m 30s");
        assert_eq!(format_duration(SignedDuration::from_mins(120)), "2h");
        assert_eq!(format_duration(SignedDuration::from_secs(5)), "5s");
    }

    #[test]
    fn durations_cross_the_wire_exactly() {
        for text in ["1h0m45s", "500ms", "1h59m59s", "5m", "0s"] {
            let d = parse_duration(text).unwrap();
            let wire = serde_json::to_string(&Wrapper(d)).unwrap();
            let back: Wrapper = serde_json::from_str(&wire).unwrap();
            assert_eq!(back.0, d, "{text} went out as {wire}");
        }
        assert!(
            parse_duration("999999h")
                .unwrap_err()
                .contains("longer than 30 days")
        );
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Wrapper(#[serde(with = "duration_serde")] SignedDuration);

    #[test]
    fn quantities_keep_their_units() {
        assert_eq!(parse_quantity("14%").unwrap(), Quantity::Percent(0.14));
        assert_eq!(parse_quantity("250ms").unwrap(), Quantity::Seconds(0.25));
        assert_eq!(parse_quantity("5s").unwrap(), Quantity::Seconds(5.0));
        assert_eq!(
            parse_quantity("1200rps").unwrap(),
            Quantity::PerSecond(1200.0)
        );
        assert_eq!(parse_quantity("0.5").unwrap(), Quantity::Plain(0.5));
        assert!(parse_quantity("lots").is_err());
    }
}
