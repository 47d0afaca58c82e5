//! A recurrence as people describe it — repeat every N days, weeks, months or years, on
//! these weekdays, until a date or N times, except on these dates — turned into the
//! iCalendar text [`crate::event`] stores and expands, and read back from it.
//!
//! Only the rules this form makes (and the simple ones people write by hand) read back;
//! anything else gives `None`, and the editor keeps the raw rule for experts.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use crate::zone::SiteZone;

/// How often an event repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Freq {
    #[default]
    None,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Freq {
    /// The form's name of each frequency, as the widget posts it.
    pub const ALL: [(Freq, &'static str); 5] = [
        (Freq::None, "none"),
        (Freq::Daily, "daily"),
        (Freq::Weekly, "weekly"),
        (Freq::Monthly, "monthly"),
        (Freq::Yearly, "yearly"),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(f, _)| *f == self).map_or("none", |(_, n)| n)
    }

    /// A frequency from its form name; anything else is no repetition.
    pub fn parse(name: &str) -> Freq {
        Self::ALL.iter().find(|(_, n)| *n == name.trim()).map_or(Freq::None, |(f, _)| *f)
    }

    fn ical(self) -> Option<&'static str> {
        match self {
            Freq::None => None,
            Freq::Daily => Some("DAILY"),
            Freq::Weekly => Some("WEEKLY"),
            Freq::Monthly => Some("MONTHLY"),
            Freq::Yearly => Some("YEARLY"),
        }
    }

    /// Weekdays narrow daily and weekly rules only: on a monthly rule BYDAY=MO means
    /// every Monday of the month, which the form does not offer.
    fn takes_weekdays(self) -> bool {
        matches!(self, Freq::Daily | Freq::Weekly)
    }
}

/// When a recurrence stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum End {
    #[default]
    Never,
    /// The last day (included), on the site's calendar.
    Until(NaiveDate),
    /// How many dates in all, the first included.
    Count(u32),
}

/// The iCalendar two-letter codes of the weekdays, Monday first.
pub const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Mon, "MO"),
    (Weekday::Tue, "TU"),
    (Weekday::Wed, "WE"),
    (Weekday::Thu, "TH"),
    (Weekday::Fri, "FR"),
    (Weekday::Sat, "SA"),
    (Weekday::Sun, "SU"),
];

/// The iCalendar code of a weekday (`MO`).
pub fn weekday_code(d: Weekday) -> &'static str {
    WEEKDAYS[d.num_days_from_monday() as usize].1
}

/// The weekday of an iCalendar code (`mo` or `MO`).
pub fn weekday_of(code: &str) -> Option<Weekday> {
    WEEKDAYS.iter().find(|(_, c)| c.eq_ignore_ascii_case(code.trim())).map(|(d, _)| *d)
}

/// A recurrence as the editor's widget shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurrenceForm {
    pub freq: Freq,
    /// Every `interval` periods; 1 is every one. Zero is kept so that validation can
    /// refuse it by name rather than the form guessing.
    pub interval: u16,
    /// For daily and weekly rules; none means the start's weekday.
    pub weekdays: Vec<Weekday>,
    pub end: End,
    /// Days left out, at the start's hour.
    pub exceptions: Vec<NaiveDate>,
}

impl Default for RecurrenceForm {
    fn default() -> Self {
        RecurrenceForm { freq: Freq::None, interval: 1, weekdays: Vec::new(), end: End::Never, exceptions: Vec::new() }
    }
}

impl RecurrenceForm {
    /// The rule, for an event starting at `start` on the wall clock of `zone`: an RRULE
    /// line and one EXDATE line per exception (at the start's hour, with the zone as
    /// the DTSTART [`crate::event`] writes). UNTIL is the end of its day in `zone`,
    /// written in UTC as RFC 5545 requires with a DTSTART in a zone. Empty without a
    /// frequency.
    pub fn to_rule(&self, start: NaiveDateTime, zone: SiteZone) -> String {
        let Some(freq) = self.freq.ical() else { return String::new() };
        let mut rule = format!("RRULE:FREQ={freq}");
        if self.interval != 1 {
            rule += &format!(";INTERVAL={}", self.interval);
        }
        if self.freq.takes_weekdays() && !self.weekdays.is_empty() {
            let mut days = self.weekdays.clone();
            days.sort_by_key(|d| d.num_days_from_monday());
            days.dedup();
            rule += ";BYDAY=";
            rule += &days.iter().map(|d| weekday_code(*d)).collect::<Vec<_>>().join(",");
        }
        match self.end {
            End::Never => {}
            End::Count(n) => rule += &format!(";COUNT={n}"),
            End::Until(day) => {
                let last = zone.to_utc(day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default()));
                rule += &format!(";UNTIL={}", last.format("%Y%m%dT%H%M%SZ"));
            }
        }
        let mut days = self.exceptions.clone();
        days.sort();
        days.dedup();
        for day in days {
            rule += &format!("\nEXDATE;TZID={}:{}", zone.name(), day.and_time(start.time()).format("%Y%m%dT%H%M%S"));
        }
        rule
    }

    /// The form of a rule, if it is one the form can show: at most one RRULE (with or
    /// without its `RRULE:` prefix) of FREQ, INTERVAL, plain BYDAY on daily and weekly
    /// rules, COUNT or UNTIL, and WKST=MO; EXDATE lines in the zone or in UTC.
    pub fn from_rule(rule: &str, zone: SiteZone) -> Option<RecurrenceForm> {
        let mut form = RecurrenceForm::default();
        let mut seen_rule = false;
        for line in rule.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("DTSTART") {
                continue;
            }
            if let Some(rest) = upper.strip_prefix("EXDATE") {
                form.exceptions.extend(exdates(rest, zone)?);
                continue;
            }
            if seen_rule || upper.starts_with("RDATE") || upper.starts_with("EXRULE") {
                return None;
            }
            seen_rule = true;
            parse_rrule(upper.strip_prefix("RRULE:").unwrap_or(&upper), zone, &mut form)?;
        }
        // Exceptions without a rule would be lost by a form with nothing to repeat.
        if form.freq == Freq::None && (seen_rule || !form.exceptions.is_empty()) {
            return None;
        }
        form.exceptions.sort();
        form.exceptions.dedup();
        Some(form)
    }
}

fn parse_rrule(body: &str, zone: SiteZone, form: &mut RecurrenceForm) -> Option<()> {
    let mut end = None;
    for part in body.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=')?;
        match key.trim() {
            "FREQ" => {
                form.freq = match value {
                    "DAILY" => Freq::Daily,
                    "WEEKLY" => Freq::Weekly,
                    "MONTHLY" => Freq::Monthly,
                    "YEARLY" => Freq::Yearly,
                    _ => return None,
                }
            }
            "INTERVAL" => form.interval = value.parse().ok()?,
            "BYDAY" => form.weekdays = value.split(',').map(weekday_of).collect::<Option<Vec<_>>>()?,
            "COUNT" if end.is_none() => end = Some(End::Count(value.parse().ok()?)),
            "UNTIL" if end.is_none() => end = Some(End::Until(local_day(value, zone)?)),
            "WKST" if value == "MO" => {}
            _ => return None,
        }
    }
    if form.freq == Freq::None || (!form.weekdays.is_empty() && !form.freq.takes_weekdays()) {
        return None;
    }
    form.weekdays.sort_by_key(|d| d.num_days_from_monday());
    form.weekdays.dedup();
    form.end = end.unwrap_or_default();
    Some(())
}

/// The day on the site's calendar of an iCalendar date or date-time (in UTC with `Z`,
/// otherwise already local).
fn local_day(value: &str, zone: SiteZone) -> Option<NaiveDate> {
    let value = value.trim();
    if let Some(utc) = value.strip_suffix('Z') {
        let t = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok()?;
        return Some(zone.local(&t.and_utc()).date());
    }
    NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
        .map(|t| t.date())
        .or_else(|_| NaiveDate::parse_from_str(value, "%Y%m%d"))
        .ok()
}

/// The days of an EXDATE line after its name: `;TZID=<this zone>:…` or `:…` in UTC.
fn exdates(rest: &str, zone: SiteZone) -> Option<Vec<NaiveDate>> {
    let (params, values) = rest.split_once(':')?;
    match params.trim() {
        "" => {}
        p if p.strip_prefix(";TZID=").is_some_and(|z| z.eq_ignore_ascii_case(zone.name())) => {}
        _ => return None,
    }
    let floating = !params.is_empty();
    values
        .split(',')
        .map(|v| {
            let v = v.trim();
            // In the zone's form a value has no Z; in UTC it must have one.
            if floating == v.ends_with('Z') { None } else { local_day(v, zone) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{check, occurrences};
    use crate::schema::parse_datetime;
    use serde_json::json;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    fn zone() -> SiteZone {
        SiteZone::default()
    }

    #[test]
    fn a_weekly_form_gives_its_rule() {
        let form = RecurrenceForm {
            freq: Freq::Weekly,
            interval: 2,
            weekdays: vec![Weekday::Wed, Weekday::Mon],
            end: End::Count(5),
            exceptions: Vec::new(),
        };
        assert_eq!(form.to_rule(at("2026-01-05T18:00"), zone()), "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=5");
        assert_eq!(RecurrenceForm::default().to_rule(at("2026-01-05T18:00"), zone()), "");
    }

    #[test]
    fn until_is_the_end_of_the_day_on_the_site_clock_in_utc_and_exceptions_at_the_start_hour() {
        let form = RecurrenceForm {
            freq: Freq::Daily,
            interval: 1,
            weekdays: Vec::new(),
            end: End::Until(day("2026-12-31")),
            exceptions: vec![day("2026-12-25"), day("2026-12-24")],
        };
        assert_eq!(
            form.to_rule(at("2026-12-01T08:00"), zone()),
            "RRULE:FREQ=DAILY;UNTIL=20261231T225959Z\n\
             EXDATE;TZID=Europe/Brussels:20261224T080000\n\
             EXDATE;TZID=Europe/Brussels:20261225T080000"
        );
    }

    #[test]
    fn rules_made_by_the_form_read_back_the_same() {
        let forms = [
            RecurrenceForm::default(),
            RecurrenceForm { freq: Freq::Daily, ..RecurrenceForm::default() },
            RecurrenceForm {
                freq: Freq::Weekly,
                interval: 2,
                weekdays: vec![Weekday::Mon, Weekday::Wed],
                end: End::Count(5),
                exceptions: Vec::new(),
            },
            RecurrenceForm {
                freq: Freq::Monthly,
                interval: 3,
                weekdays: Vec::new(),
                // Summer time: the end of the day is 21:59:59 UTC.
                end: End::Until(day("2027-06-30")),
                exceptions: vec![day("2026-09-01")],
            },
            RecurrenceForm {
                freq: Freq::Yearly,
                interval: 1,
                weekdays: Vec::new(),
                end: End::Until(day("2030-01-01")),
                exceptions: vec![day("2027-03-01"), day("2028-03-01")],
            },
            // What validation refuses still reads back, for the form shown again.
            RecurrenceForm { freq: Freq::Weekly, interval: 0, end: End::Count(100_000), ..RecurrenceForm::default() },
        ];
        for (zone, start) in [(zone(), "2026-03-01T08:00"), ("America/New_York".parse().unwrap(), "2026-03-01T23:30")] {
            for form in &forms {
                let rule = form.to_rule(at(start), zone);
                assert_eq!(RecurrenceForm::from_rule(&rule, zone).as_ref(), Some(form), "{rule}");
            }
        }
    }

    #[test]
    fn simple_hand_written_rules_read_and_others_do_not() {
        let z = zone();
        let f = RecurrenceForm::from_rule("FREQ=WEEKLY;BYDAY=fr,MO;WKST=MO", z).unwrap();
        assert_eq!((f.freq, f.weekdays, f.end), (Freq::Weekly, vec![Weekday::Mon, Weekday::Fri], End::Never));
        let f =
            RecurrenceForm::from_rule("RRULE:FREQ=DAILY;UNTIL=20261231\nEXDATE:20261224T070000Z,20261225T070000Z", z)
                .unwrap();
        assert_eq!(f.end, End::Until(day("2026-12-31")));
        assert_eq!(f.exceptions, [day("2026-12-24"), day("2026-12-25")]);
        assert_eq!(RecurrenceForm::from_rule("  \n", z), Some(RecurrenceForm::default()));
        for rule in [
            "RRULE:FREQ=MONTHLY;BYDAY=1MO;COUNT=3",
            "FREQ=MONTHLY;BYDAY=MO",
            "FREQ=YEARLY;BYMONTH=2",
            "FREQ=HOURLY",
            "FREQ=DAILY;COUNT=3;UNTIL=20261231T000000Z",
            "FREQ=WEEKLY\nFREQ=MONTHLY",
            "RRULE:FREQ=WEEKLY\nRDATE:20260101T000000Z",
            "RRULE:FREQ=WEEKLY\nEXRULE:FREQ=DAILY",
            "RRULE:FREQ=WEEKLY\nEXDATE;TZID=Europe/Paris:20260101T080000",
            "RRULE:FREQ=WEEKLY\nEXDATE;VALUE=DATE:20260101",
            "EXDATE:20260101T070000Z",
            "FREQ=WEEKLY;BYDAY=XX",
            "FREQ=WEEKLY;INTERVAL=-1",
            "not a rule",
        ] {
            assert_eq!(RecurrenceForm::from_rule(rule, z), None, "{rule}");
        }
    }

    #[test]
    fn the_rules_made_are_accepted_and_leave_out_the_exceptions() {
        let form = RecurrenceForm {
            freq: Freq::Weekly,
            interval: 1,
            weekdays: vec![Weekday::Thu],
            end: End::Until(day("2026-12-31")),
            exceptions: vec![day("2026-12-24")],
        };
        let rule = form.to_rule(at("2026-12-03T08:00"), zone());
        let f = json!({"start": "2026-12-03T07:00:00+00:00", "recurrence": rule});
        let f = f.as_object().unwrap();
        assert!(check(f).is_ok(), "{rule}");
        let from = parse_datetime("2026-12-01T00:00:00Z").unwrap();
        let days: Vec<String> =
            occurrences(f, from, 10, zone()).iter().map(|(s, _)| s.format("%d").to_string()).collect();
        // Thursdays in December 2026 but Christmas Eve, the 31st included.
        assert_eq!(days, ["03", "10", "17", "31"]);
        for bad in [
            RecurrenceForm { freq: Freq::Weekly, interval: 0, ..RecurrenceForm::default() },
            RecurrenceForm { freq: Freq::Daily, end: End::Count(100_000), ..RecurrenceForm::default() },
            RecurrenceForm { freq: Freq::Daily, end: End::Count(0), ..RecurrenceForm::default() },
            RecurrenceForm { freq: Freq::Daily, end: End::Until(day("2026-01-01")), ..RecurrenceForm::default() },
        ] {
            let rule = bad.to_rule(at("2026-12-03T08:00"), zone());
            let f = json!({"start": "2026-12-03T07:00:00+00:00", "recurrence": rule});
            let errors = check(f.as_object().unwrap()).unwrap_err().0;
            assert_eq!(errors[0].field, "recurrence", "{rule}");
        }
    }
}
