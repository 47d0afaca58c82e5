//! The pages of the content types that show more than what their type files declare:
//! an event's dates (in the site's time zone and the page's language), place, contact
//! and, when it recurs, its next dates.

use beffroi_model::schema::parse_datetime;
use beffroi_service::ItemView;
use beffroi_web::minijinja::{Value, context};
use beffroi_web::{BoxFuture, Ctx, TypePage, WebError, date_time_text, iso};
use chrono::{DateTime, Utc};

/// How many next dates a recurring event's page lists.
const NEXT_DATES: u16 = 10;

pub const PAGES: &[TypePage] = &[TypePage { type_name: "Event", parts: event, contents: true }];

/// An event's details for `Event.html`.
fn event<'a>(ctx: &'a Ctx<'_>, view: &'a ItemView) -> BoxFuture<'a, Result<Value, WebError>> {
    Box::pin(async move {
        let it = &view.item;
        let f = &it.fields;
        let (lang, zone) = (it.language, ctx.site.time_zone);
        let s = |k: &str| f.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let flag = |k: &str| f.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
        let (whole_day, open_end) = (flag("whole_day"), flag("open_end"));
        let when = |k: &str| f.get(k).and_then(|v| v.as_str()).and_then(parse_datetime);
        let text = |d: &DateTime<Utc>| date_time_text(lang, zone, d, !whole_day);
        let occurrences: Vec<Value> = next_dates(view, zone)
            .await
            .iter()
            .map(|start| context! { iso => iso(start), text => text(start) })
            .collect();
        Ok(context! {
            start_iso => when("start").map(|d| iso(&d)),
            start => when("start").map(|d| text(&d)),
            end_iso => when("end").filter(|_| !open_end).map(|d| iso(&d)),
            end => when("end").filter(|_| !open_end).map(|d| text(&d)),
            location => s("location"),
            contact_name => s("contact_name"),
            contact_email => s("contact_email"),
            contact_phone => s("contact_phone"),
            event_url => s("event_url"),
            occurrences => occurrences,
        })
    })
}

/// The next starts of a recurring event, computed on a blocking thread: however cheap
/// the expansion is bounded to be, the async workers stay free for other requests.
async fn next_dates(view: &ItemView, zone: beffroi_model::zone::SiteZone) -> Vec<DateTime<Utc>> {
    let f = &view.item.fields;
    if f.get("recurrence").and_then(|r| r.as_str()).is_none_or(|r| r.trim().is_empty()) {
        return Vec::new();
    }
    let fields: serde_json::Map<String, serde_json::Value> =
        ["start", "end", "recurrence"].into_iter().filter_map(|k| Some((k.to_owned(), f.get(k)?.clone()))).collect();
    tokio::task::spawn_blocking(move || beffroi_model::event::occurrences(&fields, Utc::now(), NEXT_DATES, zone))
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(start, _)| start)
        .collect()
}
