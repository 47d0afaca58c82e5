//! A site's time zone: forms read the date-times people type in it, pages show them in
//! it, and recurrences repeat at the same local hour across daylight saving changes.
//! Stored values stay in UTC.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};

/// An IANA time zone (`Europe/Brussels`), Brussels unless a site says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteZone(chrono_tz::Tz);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0:?} (an IANA name such as Europe/Brussels or Europe/Paris)")]
pub struct UnknownZone(pub String);

impl Default for SiteZone {
    fn default() -> Self {
        SiteZone(chrono_tz::Europe::Brussels)
    }
}

impl std::fmt::Display for SiteZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name())
    }
}

impl std::str::FromStr for SiteZone {
    type Err = UnknownZone;

    fn from_str(s: &str) -> Result<Self, UnknownZone> {
        SiteZone::parse(s)
    }
}

impl SiteZone {
    pub fn parse(s: &str) -> Result<SiteZone, UnknownZone> {
        s.trim().parse::<chrono_tz::Tz>().map(SiteZone).map_err(|_| UnknownZone(s.to_owned()))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }

    /// The instant a wall-clock time typed here names. A time skipped when clocks go
    /// forward is read as the same time after the change (02:30 → 03:30); one that
    /// happens twice when they go back is its first occurrence.
    pub fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            LocalResult::None => {
                let later = local + chrono::Duration::hours(1);
                self.0.from_local_datetime(&later).earliest().map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
            }
        }
    }

    /// A wall-clock time as a browser's date-time field sends it (`2026-03-29T08:00`,
    /// seconds optional), with no zone of its own.
    pub fn parse_wall_clock(s: &str) -> Option<NaiveDateTime> {
        let s = s.trim();
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
            .ok()
    }

    /// The wall-clock time here of an instant.
    pub fn local(&self, t: &DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.0).naive_local()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    #[test]
    fn wall_clock_times_follow_daylight_saving() {
        let z = SiteZone::default();
        assert_eq!(z.name(), "Europe/Brussels");
        // Winter: UTC+1; summer: UTC+2; 2026's changes are on 29 March and 25 October.
        assert_eq!(z.to_utc(naive("2026-01-15T08:00")).to_rfc3339(), "2026-01-15T07:00:00+00:00");
        assert_eq!(z.to_utc(naive("2026-03-29T08:00")).to_rfc3339(), "2026-03-29T06:00:00+00:00");
        assert_eq!(z.to_utc(naive("2026-03-28T08:00")).to_rfc3339(), "2026-03-28T07:00:00+00:00");
        assert_eq!(z.to_utc(naive("2026-10-25T13:00")).to_rfc3339(), "2026-10-25T12:00:00+00:00");
        // 02:30 does not exist on 29 March; 02:30 happens twice on 25 October.
        assert_eq!(z.to_utc(naive("2026-03-29T02:30")).to_rfc3339(), "2026-03-29T01:30:00+00:00");
        assert_eq!(z.to_utc(naive("2026-10-25T02:30")).to_rfc3339(), "2026-10-25T00:30:00+00:00");
        for s in ["2026-01-15T08:00", "2026-03-29T08:00", "2026-07-01T23:30", "2026-10-25T13:00"] {
            assert_eq!(z.local(&z.to_utc(naive(s))), naive(s), "{s} round trips");
        }
        assert_eq!(SiteZone::parse("Europe/Paris").unwrap().name(), "Europe/Paris");
        assert!(SiteZone::parse("Mars/Olympus").is_err());
    }
}
