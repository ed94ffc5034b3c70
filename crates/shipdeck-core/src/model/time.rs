//! The times a release can carry, and time arithmetic that cannot overflow.
//!
//! A time enters shipdeck from a scenario's window, a `--start`, a server's
//! stream and a journal; each is refused there when it lies outside
//! [`EARLIEST`]..=[`LATEST`], so a release has centuries of room on either
//! side for everything added to it. Arithmetic on times saturates at the
//! ends of the calendar rather than panicking, should a time slip past.

use jiff::{SignedDuration, Timestamp};

/// The earliest time a release can carry: 1970-01-01T00:00:00Z.
pub const EARLIEST: Timestamp = Timestamp::UNIX_EPOCH;

/// The latest time a release can carry: 9000-01-01T00:00:00Z, a thousand
/// years short of the calendar's end.
pub const LATEST: Timestamp = Timestamp::constant(221_845_392_000, 0);

/// `at`, or why a release cannot carry it.
///
/// ```
/// use shipdeck_core::model::time::carried;
///
/// assert!(carried("2026-11-24T14:00:00Z".parse().unwrap()).is_ok());
/// assert!(carried("9999-12-30T22:00:00Z".parse().unwrap()).unwrap_err().contains("out of range"));
/// ```
pub fn carried(at: Timestamp) -> Result<Timestamp, String> {
    if is_carried(at) {
        Ok(at)
    } else {
        Err(format!(
            "{at} is out of range: shipdeck keeps times from {}",
            range()
        ))
    }
}

/// The range of times a release carries, for people:
/// `1970-01-01 to 9000-01-01`.
pub fn range() -> String {
    format!(
        "{} to {}",
        EARLIEST.strftime("%Y-%m-%d"),
        LATEST.strftime("%Y-%m-%d")
    )
}

/// A time as written (RFC 3339), or what is wrong with it: not a time, or
/// a time out of the range a release can carry.
///
/// ```
/// use shipdeck_core::model::time::parse;
///
/// assert!(parse("2026-11-24T14:00:00Z").is_ok());
/// assert!(parse("9999-12-31T00:00:00Z").unwrap_err().contains("is out of range"));
/// assert!(parse("tomorrow").unwrap_err().contains("is not a time"));
/// ```
pub fn parse(text: &str) -> Result<Timestamp, String> {
    let out_of_range = || {
        format!(
            "`{text}` is out of range: shipdeck keeps times from {}",
            range()
        )
    };
    match text.trim().parse::<Timestamp>() {
        Ok(at) if is_carried(at) => Ok(at),
        Ok(_) => Err(out_of_range()),
        // A date and time of the calendar, with an offset, beyond what a
        // timestamp holds (9999-12-31T00:00:00Z).
        Err(_)
            if jiff::fmt::temporal::Pieces::parse(text.trim())
                .is_ok_and(|p| p.time().is_some() && p.offset().is_some()) =>
        {
            Err(out_of_range())
        }
        Err(_) => Err(format!(
            "`{text}` is not a time: write it in RFC 3339, like 2026-11-24T14:00:00Z"
        )),
    }
}

/// Whether a release can carry `at`.
pub fn is_carried(at: Timestamp) -> bool {
    (EARLIEST..=LATEST).contains(&at)
}

/// Time arithmetic that stops at the calendar's ends instead of panicking.
pub trait Saturating {
    /// `self + by`, or the calendar's end that way.
    fn plus(self, by: SignedDuration) -> Self;
    /// `self - by`, or the calendar's end that way.
    fn minus(self, by: SignedDuration) -> Self;
}

impl Saturating for Timestamp {
    fn plus(self, by: SignedDuration) -> Timestamp {
        self.checked_add(by).unwrap_or(if by.is_negative() {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        })
    }

    fn minus(self, by: SignedDuration) -> Timestamp {
        self.checked_sub(by).unwrap_or(if by.is_negative() {
            Timestamp::MAX
        } else {
            Timestamp::MIN
        })
    }
}

impl Saturating for SignedDuration {
    fn plus(self, by: SignedDuration) -> SignedDuration {
        self.saturating_add(by)
    }

    fn minus(self, by: SignedDuration) -> SignedDuration {
        self.saturating_sub(by)
    }
}

/// So many seconds (a speed times an elapsed time), as a duration: at the
/// longest a duration can be, and nothing for what is not a number.
pub fn seconds(secs: f64) -> SignedDuration {
    if secs.is_nan() {
        return SignedDuration::ZERO;
    }
    SignedDuration::try_from_secs_f64(secs).unwrap_or(if secs < 0.0 {
        SignedDuration::MIN
    } else {
        SignedDuration::MAX
    })
}

/// A duration times a factor, at the longest a duration can be.
pub fn scaled(d: SignedDuration, factor: f64) -> SignedDuration {
    seconds(d.as_secs_f64() * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_a_release_carries_is_a_thousand_years_inside_the_calendar() {
        assert_eq!(LATEST.to_string(), "9000-01-01T00:00:00Z");
        assert!(carried(LATEST).is_ok() && carried(EARLIEST).is_ok());
        let end: Timestamp = "9999-12-31T00:00:00Z"
            .parse::<Timestamp>()
            .unwrap_or(Timestamp::MAX);
        assert_eq!(
            carried(end).unwrap_err(),
            format!("{end} is out of range: shipdeck keeps times from 1970-01-01 to 9000-01-01")
        );
        assert!(carried("1969-12-31T23:59:59Z".parse().unwrap()).is_err());
    }

    #[test]
    fn arithmetic_at_the_calendars_ends_stops_there() {
        let day = SignedDuration::from_hours(24);
        assert_eq!(Timestamp::MAX.plus(day), Timestamp::MAX);
        assert_eq!(Timestamp::MIN.minus(day), Timestamp::MIN);
        assert_eq!(Timestamp::MAX.minus(-day), Timestamp::MAX);
        assert_eq!(SignedDuration::MAX.plus(day), SignedDuration::MAX);
        assert_eq!(seconds(f64::INFINITY), SignedDuration::MAX);
        assert_eq!(seconds(f64::NAN), SignedDuration::ZERO);
        assert_eq!(seconds(-1e300), SignedDuration::MIN);
        assert_eq!(scaled(day, 0.5), SignedDuration::from_hours(12));
    }
}
