//! Events: the rules between their dates, and the occurrences of a recurrence given
//! as an iCalendar RRULE (RFC 5545), computed by the rrule crate.
//!
//! A recurrence is expanded lazily from its start, so an unbounded rule could cost as
//! much as the caller lets it: FREQ=SECONDLY from 2016 is 300 million dates before
//! today. Writes therefore refuse rules that a calendar page cannot usefully show (more
//! than one date a day, absurd intervals or counts), and every expansion — of rules
//! stored before these checks too — stops at a count, at a time window and after a
//! fixed number of dates examined.

use chrono::{DateTime, Duration, Timelike, Utc};
use rrule::{Frequency, RRuleSet};
use serde_json::{Map, Value};

use crate::schema::{FieldError, ValidationErrors, parse_datetime};
use crate::zone::SiteZone;

/// Most occurrences computed for one event.
pub const MAX_OCCURRENCES: u16 = 500;

/// How far past `from` (or past the start of an event still to come) occurrences are
/// looked for: ten years.
pub const HORIZON_DAYS: i64 = 3653;

/// The longest recurrence text accepted.
const MAX_RECURRENCE: usize = 2000;

/// Most dates of a rule examined by one expansion, shown or not (skipped because they
/// are past, or excluded): about 10 ms of work in a debug build.
const MAX_EXAMINED: usize = 10_000;

/// Most periods of its frequency (days, weeks, months, years) a rule may walk through
/// from its start to the end of the window. The rrule crate steps through every period,
/// even those that yield no date (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO yields once
/// in 28 years).
const MAX_PERIODS: i64 = 60_000;

/// Largest INTERVAL accepted.
const MAX_INTERVAL: u16 = 1000;

/// Largest COUNT accepted.
const MAX_COUNT: u32 = 5000;

fn date(fields: &Map<String, Value>, name: &str) -> Option<DateTime<Utc>> {
    fields.get(name).and_then(Value::as_str).and_then(parse_datetime)
}

/// Checks an event's values once merged with what it held: an end not before the
/// start, and a recurrence that parses, gives a date and stays within the limits a
/// calendar can show (see [`occurrences`]).
pub fn check(fields: &Map<String, Value>) -> Result<(), ValidationErrors> {
    let mut errors = Vec::new();
    let start = date(fields, "start");
    let end = date(fields, "end");
    if start.is_none() {
        errors.push(FieldError { field: "start".into(), message: "required".into() });
    }
    let open_end = fields.get("open_end").and_then(Value::as_bool).unwrap_or(false);
    if let (Some(s), Some(e)) = (start, end)
        && e < s
        && !open_end
    {
        errors.push(FieldError { field: "end".into(), message: "the end is before the start".into() });
    }
    if let (Some(s), Some(rule)) = (start, fields.get("recurrence").and_then(Value::as_str))
        && !rule.trim().is_empty()
        && let Err(message) = rule_set(s, rule, SiteZone::default()).and_then(|set| acceptable(&set, rule))
    {
        errors.push(FieldError { field: "recurrence".into(), message });
    }
    if errors.is_empty() { Ok(()) } else { Err(ValidationErrors(errors)) }
}

/// Parses a recurrence into a set of dates from `start`, repeating at the same
/// wall-clock time in `zone` (a weekly 08:00 stays 08:00 across daylight saving), with
/// the crate's guard on periods yielding nothing turned on (100,000 in a row at most).
fn rule_set(start: DateTime<Utc>, rule: &str, zone: SiteZone) -> Result<RRuleSet, String> {
    if rule.len() > MAX_RECURRENCE {
        return Err(format!("at most {MAX_RECURRENCE} characters"));
    }
    let mut text = format!("DTSTART;TZID={}:{}\n", zone.name(), zone.local(&start).format("%Y%m%dT%H%M%S"));
    for line in rule.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("DTSTART") {
            continue;
        }
        if ["RRULE:", "RDATE", "EXDATE", "EXRULE:"].iter().any(|p| upper.starts_with(p)) {
            text.push_str(line);
        } else {
            text.push_str("RRULE:");
            text.push_str(line);
        }
        text.push('\n');
    }
    text.trim_end().parse::<RRuleSet>().map(RRuleSet::limit).map_err(|e| format!("not a valid recurrence rule: {e}"))
}

/// What a write must respect besides [`bounded`]: no EXRULE (the rrule crate ignores
/// it, and RFC 5545 deprecates it), sensible numbers, and a rule that gives a date.
fn acceptable(set: &RRuleSet, rule: &str) -> Result<(), String> {
    if rule.lines().any(|l| l.trim_start().to_ascii_uppercase().starts_with("EXRULE")) {
        return Err("EXRULE is not accepted (use EXDATE)".into());
    }
    bounded(set)?;
    for r in set.get_rrule() {
        if r.get_interval() > MAX_INTERVAL {
            return Err(format!("INTERVAL is at most {MAX_INTERVAL}"));
        }
        if r.get_count().is_some_and(|c| c > MAX_COUNT) {
            return Err(format!("COUNT is at most {MAX_COUNT}"));
        }
    }
    if set.into_iter().next().is_none() {
        return Err("the rule gives no date".into());
    }
    Ok(())
}

/// The shape of rule every expansion relies on, checked again on stored rules (written
/// before these checks existed): one RRULE, at most one date a day.
fn bounded(set: &RRuleSet) -> Result<(), String> {
    let start = set.get_dt_start();
    let rules = set.get_rrule();
    if rules.len() > 1 {
        return Err("one RRULE at most".into());
    }
    for r in rules {
        if r.get_freq() > Frequency::Daily {
            return Err(format!("FREQ={} is not accepted: one date a day at most", r.get_freq()));
        }
        // The crate fills these in from the start when the rule has none.
        let at_start = |by: &[u8], n: u32| by.len() == 1 && u32::from(by[0]) == n;
        if !(at_start(r.get_by_hour(), start.hour())
            && at_start(r.get_by_minute(), start.minute())
            && at_start(r.get_by_second(), start.second()))
        {
            return Err("BYHOUR, BYMINUTE and BYSECOND are not accepted: one date a day at most".into());
        }
    }
    Ok(())
}

/// A later start of the same series, at least one interval before `after`, for rules
/// whose dates do not depend on how many came before (no COUNT) and whose periods all
/// have one length (days, weeks): walking from there gives the same dates from `after`
/// on, however old the event.
fn later_start(set: &RRuleSet, start: DateTime<Utc>, after: DateTime<Utc>, zone: SiteZone) -> Option<DateTime<Utc>> {
    let [r] = set.get_rrule().as_slice() else { return None };
    if r.get_count().is_some() {
        return None;
    }
    let days = match r.get_freq() {
        Frequency::Daily => 1,
        Frequency::Weekly => 7,
        _ => return None,
    } * i64::from(r.get_interval().max(1));
    let steps = (after - start).num_days() / days - 1;
    // Whole days on the wall clock, so the hour stays the same across daylight saving.
    (steps > 0).then(|| zone.to_utc(zone.local(&start) + Duration::days(steps * days)))
}

/// How many periods of its frequency a set's rule steps through between two dates.
fn periods(set: &RRuleSet, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let Some(r) = set.get_rrule().first() else { return 0 };
    let days = match r.get_freq() {
        Frequency::Yearly => 365,
        Frequency::Monthly => 28,
        Frequency::Weekly => 7,
        _ => 1,
    } * i64::from(r.get_interval().max(1));
    (to - from).num_days().max(0) / days
}

/// The occurrences (start, end) of an event from `from` on, at most `limit` and no
/// further than [`HORIZON_DAYS`] past `from` (or past the start of an event still to
/// come). Without a recurrence, the event itself if it ends after `from`.
///
/// Cheap whatever is stored: a rule beyond the limits [`check`] enforces on shape gives
/// nothing, and the expansion gives up after [`MAX_EXAMINED`] dates or when the rule
/// would step through more than [`MAX_PERIODS`] periods (an old daily or weekly rule
/// starts again shortly before `from` instead).
pub fn occurrences(
    fields: &Map<String, Value>,
    from: DateTime<Utc>,
    limit: u16,
    zone: SiteZone,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let Some(start) = date(fields, "start") else {
        return Vec::new();
    };
    let end = date(fields, "end").filter(|e| *e >= start).unwrap_or(start);
    let length: Duration = end - start;
    let rule = fields.get("recurrence").and_then(Value::as_str).unwrap_or("").trim();
    if rule.is_empty() {
        return if end >= from { vec![(start, end)] } else { Vec::new() };
    }
    let Ok(set) = rule_set(start, rule, zone) else {
        return Vec::new();
    };
    if bounded(&set).is_err() {
        return Vec::new();
    }
    let after = from - length;
    let set = match later_start(&set, start, after, zone).and_then(|s| rule_set(s, rule, zone).ok()) {
        Some(later) => later,
        None => set,
    };
    let window_end = from.max(start) + Duration::days(HORIZON_DAYS);
    if periods(&set, set.get_dt_start().with_timezone(&Utc), window_end) > MAX_PERIODS {
        return Vec::new();
    }
    set.into_iter()
        .take(MAX_EXAMINED)
        .map(|d| d.with_timezone(&Utc))
        .take_while(|d| *d <= window_end)
        .filter(|d| *d >= after)
        .take(usize::from(limit.min(MAX_OCCURRENCES)))
        .map(|s| (s, s + length))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn end_before_start_is_refused_unless_open_ended() {
        let e = check(&obj(json!({"start": "2026-05-01T10:00:00+00:00", "end": "2026-05-01T09:00:00+00:00"})));
        assert_eq!(e.unwrap_err().0[0].field, "end");
        assert!(
            check(&obj(
                json!({"start": "2026-05-01T10:00:00+00:00", "end": "2026-05-01T09:00:00+00:00", "open_end": true})
            ))
            .is_ok()
        );
        assert_eq!(check(&obj(json!({}))).unwrap_err().0[0].field, "start");
    }

    #[test]
    fn recurrences_are_parsed_and_expanded() {
        let f = obj(json!({
            "start": "2026-01-05T18:00:00+00:00",
            "end": "2026-01-05T20:00:00+00:00",
            "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"
        }));
        assert!(check(&f).is_ok());
        let from = parse_datetime("2026-01-01T00:00:00Z").unwrap();
        let occ = occurrences(&f, from, 100, SiteZone::default());
        assert_eq!(occ.len(), 4);
        assert_eq!(occ[1].0, parse_datetime("2026-01-12T18:00:00Z").unwrap());
        assert_eq!(occ[1].1, parse_datetime("2026-01-12T20:00:00Z").unwrap());
        // From a later date, only the rest; an occurrence under way still counts.
        let later = parse_datetime("2026-01-19T19:00:00Z").unwrap();
        assert_eq!(occurrences(&f, later, 100, SiteZone::default()).len(), 2);
        // Without the RRULE: prefix, and an unbounded rule capped by the limit.
        let daily = obj(json!({"start": "2026-01-05T18:00:00+00:00", "recurrence": "FREQ=DAILY"}));
        assert_eq!(occurrences(&daily, from, 10, SiteZone::default()).len(), 10);
        let bad = obj(json!({"start": "2026-01-05T18:00:00+00:00", "recurrence": "FREQ=SOMETIMES"}));
        assert_eq!(check(&bad).unwrap_err().0[0].field, "recurrence");
        let single = obj(json!({"start": "2026-01-05T18:00:00+00:00"}));
        assert_eq!(occurrences(&single, from, 10, SiteZone::default()).len(), 1);
        assert!(occurrences(&single, later, 10, SiteZone::default()).is_empty());
    }

    fn refusal(start: &str, rule: &str) -> String {
        let errors = check(&obj(json!({"start": start, "recurrence": rule}))).unwrap_err().0;
        assert_eq!(errors[0].field, "recurrence", "{rule}");
        errors[0].message.clone()
    }

    /// The dates of a rule from `after` on, walked naively from the start like before
    /// the limits (as a reference; slow for old dense rules).
    fn reference(start: DateTime<Utc>, rule: &str, after: DateTime<Utc>, limit: u16) -> Vec<DateTime<Utc>> {
        let end = after + Duration::days(HORIZON_DAYS);
        rule_set(start, rule, SiteZone::default())
            .unwrap()
            .after(after.with_timezone(&rrule::Tz::UTC))
            .all(limit)
            .dates
            .into_iter()
            .map(|d| d.with_timezone(&Utc))
            .filter(|d| *d <= end)
            .collect()
    }

    #[test]
    fn a_secondly_rule_from_2016_is_refused_and_costs_nothing_once_stored() {
        let message = refusal("2016-01-01T00:00:00+00:00", "RRULE:FREQ=SECONDLY");
        assert!(message.contains("FREQ=SECONDLY"), "{message}");
        // Stored before the check: the page's expansion gives up at once.
        let stored = obj(json!({"start": "2016-01-01T00:00:00+00:00", "recurrence": "RRULE:FREQ=SECONDLY"}));
        let t = std::time::Instant::now();
        assert!(occurrences(&stored, Utc::now(), 10, SiteZone::default()).is_empty());
        assert!(t.elapsed() < std::time::Duration::from_millis(50), "{:?}", t.elapsed());
    }

    #[test]
    fn a_weekly_event_keeps_its_hour_across_daylight_saving() {
        // Mondays at 08:00 in Brussels from March: 07:00 UTC in winter, 06:00 in summer.
        let f = obj(json!({
            "start": "2026-03-16T07:00:00+00:00",
            "end": "2026-03-16T09:00:00+00:00",
            "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"
        }));
        let from = parse_datetime("2026-03-01T00:00:00Z").unwrap();
        let starts: Vec<String> =
            occurrences(&f, from, 10, SiteZone::default()).iter().map(|(s, _)| s.to_rfc3339()).collect();
        assert_eq!(
            starts,
            [
                "2026-03-16T07:00:00+00:00",
                "2026-03-23T07:00:00+00:00",
                "2026-03-30T06:00:00+00:00",
                "2026-04-06T06:00:00+00:00"
            ]
        );
        // An old rule restarted near today keeps the wall-clock hour too.
        let old = obj(json!({"start": "2020-01-06T07:00:00+00:00", "recurrence": "FREQ=WEEKLY;BYDAY=MO"}));
        let july = parse_datetime("2026-07-01T00:00:00Z").unwrap();
        let next = occurrences(&old, july, 1, SiteZone::default());
        assert_eq!(next[0].0.to_rfc3339(), "2026-07-06T06:00:00+00:00");
    }

    #[test]
    fn rules_giving_more_than_one_date_a_day_or_absurd_numbers_are_refused() {
        let start = "2026-01-05T18:00:00+00:00";
        for rule in [
            "FREQ=HOURLY",
            "FREQ=MINUTELY;COUNT=10",
            "RRULE:FREQ=DAILY;BYHOUR=8,12",
            "FREQ=WEEKLY;BYMINUTE=0,30",
            "FREQ=YEARLY;BYSECOND=1",
            "FREQ=DAILY;INTERVAL=5000",
            "FREQ=DAILY;COUNT=1000000",
            "RRULE:FREQ=WEEKLY\nEXRULE:FREQ=DAILY",
            "FREQ=WEEKLY\nFREQ=MONTHLY",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        ] {
            let message = refusal(start, rule);
            assert!(message.len() < 80, "short: {message}");
        }
        // The hour of the start itself (on the site's clock: 19:00 in Brussels) is what a
        // rule without BYHOUR means anyway.
        assert!(check(&obj(json!({"start": start, "recurrence": "FREQ=DAILY;BYHOUR=19;COUNT=3"}))).is_ok());
        assert!(check(&obj(json!({"start": start, "recurrence": "FREQ=MONTHLY;BYDAY=1MO;INTERVAL=2"}))).is_ok());
    }

    #[test]
    fn stored_rules_beyond_the_limits_expand_quickly_to_nothing() {
        let now = Utc::now();
        for (start, rule) in [
            ("2016-01-01T00:00:00+00:00", "FREQ=MINUTELY"),
            (
                "2026-01-01T00:00:00+00:00",
                "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,10,20,30,40,50",
            ),
            // Dense within a year: gives up after the dates examined.
            (
                "1900-01-01T00:00:00+00:00",
                "FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYMONTHDAY=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28",
            ),
            // Sparse and very old: too many periods to walk.
            ("0100-01-01T00:00:00+00:00", "FREQ=DAILY;COUNT=20;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"),
        ] {
            let f = obj(json!({"start": start, "recurrence": rule}));
            let t = std::time::Instant::now();
            assert!(occurrences(&f, now, 10, SiteZone::default()).is_empty(), "{rule}");
            assert!(t.elapsed() < std::time::Duration::from_millis(100), "{rule}: {:?}", t.elapsed());
        }
    }

    #[test]
    fn old_weekly_and_daily_rules_still_give_their_next_dates() {
        let from = parse_datetime("2026-03-04T12:00:00Z").unwrap();
        // Every Monday and Wednesday evening since 2001: the dates after `from`, quickly.
        let start = parse_datetime("2001-01-01T18:00:00Z").unwrap();
        let f = obj(
            json!({"start": "2001-01-01T18:00:00+00:00", "end": "2001-01-01T20:00:00+00:00", "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=MO,WE"}),
        );
        let t = std::time::Instant::now();
        let occ = occurrences(&f, from, 4, SiteZone::default());
        assert!(t.elapsed() < std::time::Duration::from_millis(20), "{:?}", t.elapsed());
        let starts: Vec<_> = occ.iter().map(|o| o.0).collect();
        assert_eq!(starts, reference(start, "RRULE:FREQ=WEEKLY;BYDAY=MO,WE", from - Duration::hours(2), 4));
        assert_eq!(starts[0], parse_datetime("2026-03-04T18:00:00Z").unwrap(), "this Wednesday");
        assert_eq!(starts[1], parse_datetime("2026-03-09T18:00:00Z").unwrap());
        assert_eq!(occ[0].1, parse_datetime("2026-03-04T20:00:00Z").unwrap());
        // Daily since 1950 with exceptions.
        let rule = "FREQ=DAILY;INTERVAL=3\nEXDATE:20260306T090000Z";
        let f = obj(json!({"start": "1950-01-01T09:00:00+00:00", "recurrence": rule}));
        let start = parse_datetime("1950-01-01T09:00:00Z").unwrap();
        assert_eq!(
            occurrences(&f, from, 5, SiteZone::default()).iter().map(|o| o.0).collect::<Vec<_>>(),
            reference(start, rule, from, 5)
        );
        // A yearly rule stops at the horizon, whatever the limit.
        let f = obj(json!({"start": "2020-06-21T10:00:00+00:00", "recurrence": "FREQ=YEARLY"}));
        assert_eq!(occurrences(&f, from, 100, SiteZone::default()).len(), 10);
    }

    proptest::proptest! {
        #[test]
        fn walking_from_a_later_start_gives_the_same_dates(
            start_day in 0i64..9000,
            from_day in 0i64..12000,
            weekly in proptest::bool::ANY,
            interval in 1u16..6,
            days in proptest::sample::subsequence(vec!["MO", "TU", "WE", "TH", "FR", "SA", "SU"], 1..4),
            until in proptest::option::of(0i64..12000),
        ) {
            let base = parse_datetime("2000-01-01T07:30:00Z").unwrap();
            let start = base + Duration::days(start_day);
            let from = base + Duration::days(from_day) + Duration::hours(5);
            let mut rule = format!("FREQ={};INTERVAL={interval}", if weekly { "WEEKLY" } else { "DAILY" });
            if weekly {
                rule += &format!(";BYDAY={}", days.join(","));
            }
            if let Some(u) = until.filter(|u| *u > start_day) {
                rule += &format!(";UNTIL={}", (base + Duration::days(u)).format("%Y%m%dT%H%M%SZ"));
            }
            let f = obj(json!({"start": start.to_rfc3339(), "recurrence": rule}));
            let got: Vec<_> = occurrences(&f, from, 12, SiteZone::default()).into_iter().map(|o| o.0).collect();
            proptest::prop_assert_eq!(got, reference(start, &rule, from.max(start), 12).into_iter().filter(|d| *d >= from).collect::<Vec<_>>());
        }
    }
}
