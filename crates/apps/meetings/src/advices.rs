//! Advices (PloneMeeting's `meetingadvice`): when an item leaves its service, every
//! service whose advice it asks (chosen on the item, or by the body's rule: a budget
//! impact asks the finance service it names) gets an advice inside the item, due in
//! the body's delay counted in working days — weekends and the Walloon public holidays
//! (`holidays.json`, per year) do not count. The adviser service's `_advisers` group
//! writes it and gives it (`giveAdvice`, which needs its type) and reads the item; an
//! edit of the item after an advice was given marks that advice outdated. Advices are
//! only ever asked this way: their type is not addable by hand.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use beffroi_model::security::{Grantee, Permission, Role};
use beffroi_service::{CatalogQuery, HookFuture, ItemRow, PathQuery, ServiceError, Transitioned, Work};
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use serde_json::{Value, json};

use crate::organisation::group_id;
use crate::text;

/// The type of advices.
pub(crate) const ADVICE: &str = "Meeting Advice";
/// The delay of a body that does not set one, in working days.
const DEFAULT_DELAY: i64 = 10;

/// The days off of the years `holidays.json` lists.
static HOLIDAYS: LazyLock<BTreeSet<NaiveDate>> = LazyLock::new(|| {
    let file: Value = serde_json::from_str(include_str!("../holidays.json")).expect("holidays.json is JSON");
    file["days"]
        .as_object()
        .into_iter()
        .flat_map(|years| years.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("holidays.json has dates"))
        .collect()
});

fn working(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !HOLIDAYS.contains(&d)
}

/// The day `n` working days after `from`.
pub(crate) fn add_working_days(from: NaiveDate, n: i64) -> NaiveDate {
    let mut d = from;
    let mut left = n;
    while left > 0 {
        d += Duration::days(1);
        if working(d) {
            left -= 1;
        }
    }
    d
}

/// Working days from `today` to `due` (negative when it is past).
pub(crate) fn working_days_left(today: NaiveDate, due: NaiveDate) -> i64 {
    let (from, to, sign) = if due >= today { (today, due, 1) } else { (due, today, -1) };
    let mut n = 0;
    let mut d = from;
    while d < to {
        d += Duration::days(1);
        if working(d) {
            n += 1;
        }
    }
    sign * n
}

/// The services whose advice `item` asks: those chosen on it, and the body's finance
/// service when it has a budget impact.
pub(crate) async fn advisers(work: &mut Work<'_>, item: &ItemRow) -> Result<Vec<String>, ServiceError> {
    let mut out = crate::list(item, "optional_advisers");
    if item.fields.get("budget_impact").and_then(Value::as_bool) == Some(true)
        && let Some(body) = item.path.parent()
    {
        let body = work.require(&body, Permission::View).await?.pop().expect("a lineage ends with its item");
        let finance = text(&body, "budget_adviser");
        if !finance.is_empty() {
            out.push(finance.to_owned());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The advices inside `item`.
async fn advices_of(work: &Work<'_>, item: &ItemRow) -> Result<Vec<ItemRow>, ServiceError> {
    let q = CatalogQuery {
        types: vec![ADVICE.into()],
        paths: vec![PathQuery { path: item.path.clone(), depth: Some(1) }],
        ..Default::default()
    };
    work.find(q).await
}

/// After a transition that takes an item out of its service: the advices it asks and
/// does not have yet, each due in the body's delay, written by its service's advisers.
pub(crate) fn ask<'a>(work: &'a mut Work<'_>, item: &'a ItemRow, t: &'a Transitioned) -> HookFuture<'a> {
    Box::pin(async move {
        if t.from != "itemcreated" {
            return Ok(());
        }
        let wanted = advisers(work, item).await?;
        if wanted.is_empty() {
            return Ok(());
        }
        let have: Vec<String> =
            advices_of(work, item).await?.iter().map(|a| text(a, "advice_group").to_owned()).collect();
        let body_path = item.path.parent().expect("an item is in its body");
        let body = work.require(&body_path, Permission::View).await?.pop().expect("a lineage ends with its item");
        let delay = body.fields.get("advice_delay").and_then(Value::as_i64).filter(|d| *d > 0).unwrap_or(DEFAULT_DELAY);
        let due_day = add_working_days(work.now().date_naive(), delay);
        let due = Utc.from_utc_datetime(&due_day.and_hms_opt(16, 0, 0).expect("a time"));
        let services = crate::organisation::services(work).await?;
        for service in wanted.iter().filter(|s| !have.contains(s)) {
            let Some(s) = services.iter().find(|s| s.id == *service) else {
                return Err(crate::refuse(format!(
                    "{service:?}, whose advice is asked, is not a service of the organisation"
                )));
            };
            let values = json!({
                "title": format!("{} — {}", s.title, item.title),
                "advice_group": service,
                "due": due.to_rfc3339(),
            });
            let advice = work.create(&item.path, ADVICE, values.as_object().expect("an object"), None).await?;
            let grants = [(Grantee::Group(group_id(service, "advisers")), vec![Role::Editor, Role::Reader])];
            work.share(&advice.path, &grants).await?;
        }
        Ok(())
    })
}

/// After an item is edited: the advices already given on it are outdated.
pub(crate) fn outdate<'a>(work: &'a mut Work<'_>, item: &'a ItemRow) -> HookFuture<'a> {
    Box::pin(async move {
        for advice in advices_of(work, item).await? {
            let given = advice.review_state.as_deref() == Some("advice_given");
            if given && advice.fields.get("outdated").and_then(Value::as_bool) != Some(true) {
                work.set_fields(&advice.path, json!({"outdated": true}).as_object().expect("an object")).await?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn delays_skip_weekends_and_walloon_holidays() {
        // Friday 3 April 2026 + 2 working days: Easter Monday (6 April) is off.
        assert_eq!(add_working_days(day("2026-04-03"), 2), day("2026-04-08"));
        // Thursday 24 December 2026 + 1: the 25th and 26th are off, then the weekend.
        assert_eq!(add_working_days(day("2026-12-24"), 1), day("2026-12-28"));
        // Ten working days from Monday 2 November 2026 (2, 11 and 15 November off;
        // the 15th is a Sunday anyway).
        assert_eq!(add_working_days(day("2026-11-02"), 10), day("2026-11-17"));
        assert_eq!(working_days_left(day("2026-11-02"), day("2026-11-17")), 10);
        assert_eq!(working_days_left(day("2026-11-17"), day("2026-11-02")), -10);
        assert_eq!(working_days_left(day("2026-11-17"), day("2026-11-17")), 0);
    }
}
