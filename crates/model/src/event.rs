//! Events: the rules between their dates, and the occurrences of a recurrence given
//! as an iCalendar RRULE (RFC 5545), computed by the rrule crate.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::schema::{FieldError, ValidationErrors, parse_datetime};

/// Most occurrences computed for one event.
pub const MAX_OCCURRENCES: u16 = 500;

/// The longest recurrence text accepted.
const MAX_RECURRENCE: usize = 2000;

fn date(fields: &Map<String, Value>, name: &str) -> Option<DateTime<Utc>> {
    fields.get(name).and_then(Value::as_str).and_then(parse_datetime)
}

/// Checks an event's values once merged with what it held: an end not before the
/// start, and a recurrence that parses.
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
        && let Err(message) = rule_set(s, rule)
    {
        errors.push(FieldError { field: "recurrence".into(), message });
    }
    if errors.is_empty() { Ok(()) } else { Err(ValidationErrors(errors)) }
}

fn rule_set(start: DateTime<Utc>, rule: &str) -> Result<rrule::RRuleSet, String> {
    if rule.len() > MAX_RECURRENCE {
        return Err(format!("at most {MAX_RECURRENCE} characters"));
    }
    let mut text = format!("DTSTART:{}\n", start.format("%Y%m%dT%H%M%SZ"));
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
    text.trim_end().parse::<rrule::RRuleSet>().map_err(|e| format!("not a valid recurrence rule: {e}"))
}

/// The occurrences (start, end) of an event from `from` on, at most `limit`. Without a
/// recurrence, the event itself if it ends after `from`.
pub fn occurrences(
    fields: &Map<String, Value>,
    from: DateTime<Utc>,
    limit: u16,
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
    let Ok(set) = rule_set(start, rule) else {
        return Vec::new();
    };
    let after = (from - length).with_timezone(&rrule::Tz::UTC);
    set.after(after)
        .all(limit.min(MAX_OCCURRENCES))
        .dates
        .into_iter()
        .map(|d| {
            let s = d.with_timezone(&Utc);
            (s, s + length)
        })
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
        let occ = occurrences(&f, from, 100);
        assert_eq!(occ.len(), 4);
        assert_eq!(occ[1].0, parse_datetime("2026-01-12T18:00:00Z").unwrap());
        assert_eq!(occ[1].1, parse_datetime("2026-01-12T20:00:00Z").unwrap());
        // From a later date, only the rest; an occurrence under way still counts.
        let later = parse_datetime("2026-01-19T19:00:00Z").unwrap();
        assert_eq!(occurrences(&f, later, 100).len(), 2);
        // Without the RRULE: prefix, and an unbounded rule capped by the limit.
        let daily = obj(json!({"start": "2026-01-05T18:00:00+00:00", "recurrence": "FREQ=DAILY"}));
        assert_eq!(occurrences(&daily, from, 10).len(), 10);
        let bad = obj(json!({"start": "2026-01-05T18:00:00+00:00", "recurrence": "FREQ=SOMETIMES"}));
        assert_eq!(check(&bad).unwrap_err().0[0].field, "recurrence");
        let single = obj(json!({"start": "2026-01-05T18:00:00+00:00"}));
        assert_eq!(occurrences(&single, from, 10).len(), 1);
        assert!(occurrences(&single, later, 10).is_empty());
    }
}
