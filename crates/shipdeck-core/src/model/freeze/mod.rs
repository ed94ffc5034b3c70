//! Freeze periods: times no promote goes out. A freeze is a concrete period
//! (`from`/`to`) or a rule that recurs in RFC 5545's style (`FREQ=DAILY` or
//! `FREQ=WEEKLY`, `BYDAY`, an optional `UNTIL`) from a local start time for a
//! duration, in a time zone. [`frozen`] says whether a moment falls in one,
//! and when promotes open again.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::units::duration_serde;

/// One freeze, as it travels in a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Freeze {
    Period(Period),
    Recurring(Recurring),
}

/// A freeze from one moment to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
    pub reason: String,
}

/// A freeze that recurs: each day its rule names, from `start` (local time
/// in `tz`) for `duration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recurring {
    pub rrule: Rrule,
    pub start: Time,
    #[serde(with = "duration_serde")]
    pub duration: SignedDuration,
    pub reason: String,
    /// An IANA time zone's name; absent: UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
}

/// How often a freeze recurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    Daily,
    Weekly,
}

/// The last occurrence's start, as RFC 5545's `UNTIL` writes it: a date
/// (occurrences starting on it still count), a UTC time (`Z`), or a local
/// time in the freeze's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    Date(Date),
    Utc(Timestamp),
    Local(DateTime),
}

/// A recurrence rule: `FREQ=WEEKLY;BYDAY=FR;UNTIL=20270101`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rrule {
    pub freq: Freq,
    /// The weekdays it falls on; empty: every day (`DAILY` only).
    pub by_day: Vec<Weekday>,
    pub until: Option<Until>,
}

/// The longest a freeze's occurrence may last.
pub const MAX_OCCURRENCE: SignedDuration = SignedDuration::from_hours(24 * 31);

const DAYS: [(&str, Weekday); 7] = [
    ("MO", Weekday::Monday),
    ("TU", Weekday::Tuesday),
    ("WE", Weekday::Wednesday),
    ("TH", Weekday::Thursday),
    ("FR", Weekday::Friday),
    ("SA", Weekday::Saturday),
    ("SU", Weekday::Sunday),
];

impl FromStr for Rrule {
    type Err = String;

    fn from_str(text: &str) -> Result<Rrule, String> {
        let (mut freq, mut by_day, mut until) = (None, Vec::new(), None);
        for part in text.trim().trim_start_matches("RRULE:").split(';') {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not NAME=VALUE"))?;
            match key.trim().to_ascii_uppercase().as_str() {
                "FREQ" => freq = Some(parse_freq(value)?),
                "BYDAY" => by_day = parse_days(value)?,
                "UNTIL" => until = Some(parse_until(value)?),
                other => {
                    return Err(format!(
                        "{other} is not supported: a freeze's rule takes FREQ (DAILY or WEEKLY), BYDAY and UNTIL"
                    ));
                }
            }
        }
        let freq = freq.ok_or("the rule has no FREQ (write FREQ=DAILY or FREQ=WEEKLY)")?;
        if freq == Freq::Weekly && by_day.is_empty() {
            return Err(
                "FREQ=WEEKLY needs BYDAY: the days it falls on (BYDAY=FR or BYDAY=SA,SU)".into(),
            );
        }
        Ok(Rrule {
            freq,
            by_day,
            until,
        })
    }
}

fn parse_freq(value: &str) -> Result<Freq, String> {
    match value.trim().to_ascii_uppercase().as_str() {
        "DAILY" => Ok(Freq::Daily),
        "WEEKLY" => Ok(Freq::Weekly),
        other => Err(format!(
            "FREQ={other} is not supported: a freeze recurs DAILY or WEEKLY"
        )),
    }
}

fn parse_days(value: &str) -> Result<Vec<Weekday>, String> {
    let mut days = Vec::new();
    for day in value.split(',') {
        let day = day.trim().to_ascii_uppercase();
        let Some((_, weekday)) = DAYS.iter().find(|(name, _)| *name == day) else {
            return Err(format!(
                "BYDAY `{day}` is not a day: write MO, TU, WE, TH, FR, SA or SU (no numbered days)"
            ));
        };
        if !days.contains(weekday) {
            days.push(*weekday);
        }
    }
    Ok(days)
}

fn parse_until(value: &str) -> Result<Until, String> {
    let value = value.trim();
    let bad = || format!("UNTIL `{value}` is not a date (20271231) or a time (20271231T160000Z)");
    if let Some(utc) = value.strip_suffix(['Z', 'z']) {
        let local = DateTime::strptime("%Y%m%dT%H%M%S", utc).map_err(|_| bad())?;
        let at = local.to_zoned(TimeZone::UTC).map_err(|_| bad())?;
        return Ok(Until::Utc(at.timestamp()));
    }
    if value.contains(['T', 't']) {
        return DateTime::strptime("%Y%m%dT%H%M%S", value)
            .map(Until::Local)
            .map_err(|_| bad());
    }
    Date::strptime("%Y%m%d", value)
        .map(Until::Date)
        .map_err(|_| bad())
}

impl fmt::Display for Rrule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.freq {
            Freq::Daily => f.write_str("FREQ=DAILY")?,
            Freq::Weekly => f.write_str("FREQ=WEEKLY")?,
        }
        if !self.by_day.is_empty() {
            let days: Vec<&str> = self
                .by_day
                .iter()
                .filter_map(|d| DAYS.iter().find(|(_, w)| w == d).map(|(n, _)| *n))
                .collect();
            write!(f, ";BYDAY={}", days.join(","))?;
        }
        match self.until {
            Some(Until::Date(d)) => write!(f, ";UNTIL={}", d.strftime("%Y%m%d")),
            Some(Until::Utc(t)) => write!(f, ";UNTIL={}", t.strftime("%Y%m%dT%H%M%SZ")),
            Some(Until::Local(dt)) => write!(f, ";UNTIL={}", dt.strftime("%Y%m%dT%H%M%S")),
            None => Ok(()),
        }
    }
}

impl TryFrom<String> for Rrule {
    type Error = String;
    fn try_from(text: String) -> Result<Rrule, String> {
        text.parse()
    }
}

impl From<Rrule> for String {
    fn from(rule: Rrule) -> String {
        rule.to_string()
    }
}

/// A time zone by its IANA name, or why it is not one.
pub fn time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| {
        format!(
            "`{name}` is not a time zone shipdeck knows (write an IANA name: Europe/Berlin, UTC)"
        )
    })
}

impl Recurring {
    fn zone(&self) -> TimeZone {
        self.tz
            .as_deref()
            .and_then(|name| TimeZone::get(name).ok())
            .unwrap_or(TimeZone::UTC)
    }

    fn falls_on(&self, day: Date) -> bool {
        let named = self.rrule.by_day.contains(&day.weekday());
        match self.rrule.freq {
            Freq::Daily => self.rrule.by_day.is_empty() || named,
            Freq::Weekly => named,
        }
    }

    /// The occurrence starting on `day`, if the rule has one then: its
    /// start and end. A start in a gap of the zone's clock (spring forward)
    /// is read with the offset before the gap (RFC 5545: 02:30 in a gap
    /// from 02:00 to 03:00 is 03:30); one in a fold is the first of the two.
    fn on(&self, day: Date, zone: &TimeZone) -> Option<(Timestamp, Timestamp)> {
        if !self.falls_on(day) {
            return None;
        }
        let local = day.to_datetime(self.start);
        let start = zone.to_ambiguous_timestamp(local).compatible().ok()?;
        let before_until = match self.rrule.until {
            None => true,
            Some(Until::Date(last)) => day <= last,
            Some(Until::Utc(last)) => start <= last,
            Some(Until::Local(last)) => local <= last,
        };
        before_until.then(|| (start, super::time::Saturating::plus(start, self.duration)))
    }

    /// The occurrence `now` falls in, if any.
    fn around(&self, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let zone = self.zone();
        let today = zone.to_datetime(now).date();
        // Every day whose occurrence could still run now, newest first (a
        // day more for a clock that moved).
        let back = self.duration.as_hours() / 24 + 2;
        (0..=back)
            .filter_map(|n| today.checked_sub(jiff::Span::new().days(n)).ok())
            .filter_map(|day| self.on(day, &zone))
            .find(|(start, end)| *start <= now && now < *end)
    }
}

impl Freeze {
    pub fn reason(&self) -> &str {
        match self {
            Freeze::Period(p) => &p.reason,
            Freeze::Recurring(r) => &r.reason,
        }
    }

    /// The time zone it is written in, when it names one.
    pub fn tz(&self) -> Option<&str> {
        match self {
            Freeze::Period(_) => None,
            Freeze::Recurring(r) => r.tz.as_deref(),
        }
    }

    /// The span of this freeze that `now` falls in: its start and end.
    pub fn around(&self, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        match self {
            Freeze::Period(p) => (p.from <= now && now < p.to).then_some((p.from, p.to)),
            Freeze::Recurring(r) => r.around(now),
        }
    }
}

/// A moment in a freeze: which one, and when promotes open again (after
/// every freeze that follows on without a break; `None`: not within a
/// thousand occurrences).
#[derive(Debug, Clone, PartialEq)]
pub struct Frozen<'a> {
    pub freeze: &'a Freeze,
    pub reopens: Option<Timestamp>,
}

/// How many back-to-back occurrences [`frozen`] follows to find the reopening.
const MOST_FOLLOWED: usize = 1000;

/// Whether `now` is in one of `freezes`; if so, which, and when it reopens.
pub fn frozen(freezes: &[Freeze], now: Timestamp) -> Option<Frozen<'_>> {
    let (freeze, mut until) = freezes
        .iter()
        .filter_map(|f| f.around(now).map(|(_, end)| (f, end)))
        .max_by_key(|(_, end)| *end)?;
    for _ in 0..MOST_FOLLOWED {
        let next = freezes
            .iter()
            .filter_map(|f| f.around(until).map(|(_, end)| end))
            .max();
        match next {
            Some(end) if end > until => until = end,
            _ => {
                return Some(Frozen {
                    freeze,
                    reopens: Some(until),
                });
            }
        }
    }
    Some(Frozen {
        freeze,
        reopens: None,
    })
}

impl fmt::Display for Frozen<'_> {
    /// `frozen: weekend (Europe/Berlin) — reopens Mon 2026-12-07 07:00 UTC`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = super::text::clean(self.freeze.reason());
        write!(f, "frozen: {reason}")?;
        if let Some(tz) = self.freeze.tz() {
            write!(f, " ({})", super::text::clean(tz))?;
        }
        match self.reopens {
            Some(at) => write!(f, " — reopens {}", reopens(at)),
            None => f.write_str(" — no reopening in sight"),
        }
    }
}

/// `Mon 2026-12-07 07:00 UTC`.
pub fn reopens(at: Timestamp) -> String {
    at.strftime("%a %Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests;
