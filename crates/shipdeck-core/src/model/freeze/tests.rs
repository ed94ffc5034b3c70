use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn recurring(rrule: &str, start: &str, duration: &str, tz: Option<&str>) -> Freeze {
    Freeze::Recurring(Recurring {
        rrule: rrule.parse().unwrap(),
        start: start.parse().unwrap(),
        duration: crate::model::units::parse_duration(duration).unwrap(),
        reason: "weekend".into(),
        tz: tz.map(String::from),
    })
}

fn reopens_at(freezes: &[Freeze], now: &str) -> Option<String> {
    frozen(freezes, at(now)).map(|f| f.reopens.unwrap().to_string())
}

#[test]
fn a_weekend_freeze_in_berlin_refuses_from_friday_afternoon_and_reopens_monday() {
    let weekend = [recurring(
        "FREQ=WEEKLY;BYDAY=FR",
        "16:00",
        "64h",
        Some("Europe/Berlin"),
    )];
    // Friday 4 December 2026, 15:59 in Berlin (CET, UTC+1): not yet.
    assert_eq!(reopens_at(&weekend, "2026-12-04T14:59:59Z"), None);
    let frozen_now = frozen(&weekend, at("2026-12-04T15:00:00Z")).unwrap();
    assert_eq!(
        frozen_now.to_string(),
        "frozen: weekend (Europe/Berlin) — reopens Mon 2026-12-07 07:00 UTC"
    );
    assert_eq!(
        reopens_at(&weekend, "2026-12-06T23:00:00Z").as_deref(),
        Some("2026-12-07T07:00:00Z")
    );
    // The end is open: at the moment it reopens, it is not frozen.
    assert_eq!(reopens_at(&weekend, "2026-12-07T07:00:00Z"), None);
    // Thursday is not a Friday.
    assert_eq!(reopens_at(&weekend, "2026-12-03T16:00:00Z"), None);
}

#[test]
fn a_nightly_freeze_spans_midnight() {
    let nightly = [recurring("FREQ=DAILY", "22:00", "4h", None)];
    assert_eq!(
        reopens_at(&nightly, "2026-12-02T01:30:00Z").as_deref(),
        Some("2026-12-02T02:00:00Z")
    );
    assert_eq!(
        reopens_at(&nightly, "2026-12-01T22:00:00Z").as_deref(),
        Some("2026-12-02T02:00:00Z")
    );
    assert_eq!(reopens_at(&nightly, "2026-12-02T02:00:00Z"), None);
    assert_eq!(reopens_at(&nightly, "2026-12-01T21:59:59Z"), None);
}

#[test]
fn daily_with_days_falls_only_on_those_days() {
    let weekdays = [recurring(
        "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
        "12:00",
        "1h",
        None,
    )];
    // Tuesday 1 December 2026 and Saturday 5 December.
    assert!(frozen(&weekdays, at("2026-12-01T12:30:00Z")).is_some());
    assert!(frozen(&weekdays, at("2026-12-05T12:30:00Z")).is_none());
}

#[test]
fn a_start_in_the_spring_gap_is_read_with_the_offset_before_it_and_one_in_the_autumn_fold_the_first()
 {
    let early = [recurring(
        "FREQ=DAILY",
        "02:30",
        "1h",
        Some("Europe/Berlin"),
    )];
    // 29 March 2026: Berlin's clocks jump from 02:00 to 03:00 CEST (01:00
    // UTC); 02:30 does not happen, and is read as RFC 5545 says, with the
    // offset before the gap: 02:30 CET, 03:30 CEST, 01:30 UTC.
    assert_eq!(reopens_at(&early, "2026-03-29T01:29:59Z"), None);
    assert_eq!(
        reopens_at(&early, "2026-03-29T01:30:00Z").as_deref(),
        Some("2026-03-29T02:30:00Z")
    );
    // 25 October 2026: 02:30 happens twice; the first is 00:30 UTC (CEST).
    assert_eq!(
        reopens_at(&early, "2026-10-25T00:30:00Z").as_deref(),
        Some("2026-10-25T01:30:00Z")
    );
    // The day before, 02:30 CEST is 00:30 UTC too; the day after, CET: 01:30 UTC.
    assert_eq!(
        reopens_at(&early, "2026-10-26T01:30:00Z").as_deref(),
        Some("2026-10-26T02:30:00Z")
    );
    assert_eq!(reopens_at(&early, "2026-10-26T01:29:59Z"), None);
}

#[test]
fn a_long_freeze_lasts_its_elapsed_hours_across_a_change_of_clocks() {
    // Saturday 24 October 2026 16:00 CEST (14:00 UTC) for 48h: the clocks go
    // back on Sunday, so it ends Monday 14:00 UTC, 15:00 local.
    let weekend = [recurring(
        "FREQ=WEEKLY;BYDAY=SA",
        "16:00",
        "48h",
        Some("Europe/Berlin"),
    )];
    assert_eq!(
        reopens_at(&weekend, "2026-10-25T12:00:00Z").as_deref(),
        Some("2026-10-26T14:00:00Z")
    );
}

#[test]
fn until_ends_the_rule_with_the_occurrence_that_starts_on_it() {
    let until = |u: &str| {
        [recurring(
            &format!("FREQ=WEEKLY;BYDAY=FR;UNTIL={u}"),
            "16:00",
            "64h",
            None,
        )]
    };
    // Friday 27 November starts on UNTIL's date, and runs past it.
    assert!(frozen(&until("20261127"), at("2026-11-28T10:00:00Z")).is_some());
    // Friday 4 December is after UNTIL: it has passed.
    assert!(frozen(&until("20261127"), at("2026-12-04T17:00:00Z")).is_none());
    assert!(frozen(&until("20261127T160000Z"), at("2026-11-27T17:00:00Z")).is_some());
    assert!(frozen(&until("20261127T155959Z"), at("2026-11-27T17:00:00Z")).is_none());
}

#[test]
fn freezes_back_to_back_reopen_after_the_last() {
    let freezes = [
        Freeze::Period(Period {
            from: at("2026-12-01T10:00:00Z"),
            to: at("2026-12-01T12:00:00Z"),
            reason: "quarter close".into(),
        }),
        recurring("FREQ=DAILY", "11:30", "90m", None),
    ];
    let now = frozen(&freezes, at("2026-12-01T10:15:00Z")).unwrap();
    assert_eq!(now.freeze.reason(), "quarter close");
    assert_eq!(now.reopens, Some(at("2026-12-01T13:00:00Z")));
    assert_eq!(
        now.to_string(),
        "frozen: quarter close — reopens Tue 2026-12-01 13:00 UTC"
    );
    assert!(frozen(&freezes, at("2026-12-01T13:00:00Z")).is_none());
}

#[test]
fn a_freeze_that_never_ends_says_so() {
    let always = [recurring("FREQ=DAILY", "00:00", "24h", None)];
    let now = frozen(&always, at("2026-12-01T10:15:00Z")).unwrap();
    assert_eq!(now.reopens, None);
    assert!(now.to_string().ends_with("no reopening in sight"), "{now}");
}

#[test]
fn rules_other_than_daily_and_weekly_are_refused_in_words() {
    let refused = |text: &str| text.parse::<Rrule>().unwrap_err();
    assert!(refused("FREQ=MONTHLY").contains("FREQ=MONTHLY is not supported"));
    assert!(refused("FREQ=WEEKLY;INTERVAL=2").contains("INTERVAL is not supported"));
    assert!(refused("FREQ=WEEKLY").contains("needs BYDAY"));
    assert!(refused("FREQ=WEEKLY;BYDAY=1FR").contains("no numbered days"));
    assert!(refused("BYDAY=FR").contains("no FREQ"));
    assert!(refused("FREQ=DAILY;UNTIL=soon").contains("is not a date"));
    let rule: Rrule = "freq=weekly;byday=sa,su;until=20270101T000000Z"
        .parse()
        .unwrap();
    assert_eq!(
        rule.to_string(),
        "FREQ=WEEKLY;BYDAY=SA,SU;UNTIL=20270101T000000Z"
    );
}

#[test]
fn a_freeze_reads_back_from_a_plan_as_it_was_written() {
    let freezes = vec![
        recurring(
            "FREQ=WEEKLY;BYDAY=FR;UNTIL=20271231",
            "16:00",
            "64h",
            Some("Europe/Berlin"),
        ),
        Freeze::Period(Period {
            from: at("2026-12-24T00:00:00Z"),
            to: at("2027-01-02T00:00:00Z"),
            reason: "holidays".into(),
        }),
    ];
    let json = serde_json::to_string(&freezes).unwrap();
    assert!(
        json.contains("\"rrule\":\"FREQ=WEEKLY;BYDAY=FR;UNTIL=20271231\""),
        "{json}"
    );
    let back: Vec<Freeze> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, freezes);
}
