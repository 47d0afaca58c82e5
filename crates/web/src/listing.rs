//! The listing views a folder or a Collection is shown with (its `layout`, as Plone's):
//! a list, summaries with their date and image, news newest first, upcoming events by
//! month, a table, an album. Dates are written out in the page's language and the
//! site's time zone.

use beffroi_model::Language;
use beffroi_model::schema::{LOCATION_COLUMN, START_COLUMN, TypeRegistry, WHOLE_DAY_COLUMN, Widget};
use beffroi_service::{CatalogQuery, DateIndex, ItemRow, ItemView, Listing, PathQuery, SortOn, Summary};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use fluent_bundle::FluentValue;
use minijinja::{Value, context};

use crate::error::WebError;
use crate::traverse::Ctx;

/// The listing views, by Plone's names.
pub(crate) const NEWS: &str = "news_listing";
pub(crate) const EVENTS: &str = "event_listing";
/// How many events the event listing shows.
const MAX_EVENTS: i64 = 200;

/// A date (and time) written out as people of the site read it: "1 décembre 2026 à
/// 19:00", in the site's time zone.
pub(crate) fn long_date(ctx: &Ctx<'_>, lang: Language, dt: &DateTime<Utc>, with_time: bool) -> String {
    let local = dt.with_timezone(&ctx.site.time_zone.tz());
    let i18n = &ctx.app.i18n;
    let month = i18n.t(lang, &format!("month-{}", local.month()), &[]);
    let date = i18n.t(
        lang,
        "date-long",
        &[
            ("day", FluentValue::from(local.day().to_string())),
            ("month", FluentValue::from(month)),
            ("year", FluentValue::from(local.year().to_string())),
        ],
    );
    if !with_time {
        return date;
    }
    let time = local.format("%H:%M").to_string();
    i18n.t(lang, "date-time-long", &[("date", FluentValue::from(date)), ("time", FluentValue::from(time))])
}

/// "décembre 2026": a month heading of the event listing.
fn month_year(ctx: &Ctx<'_>, lang: Language, dt: &DateTime<Utc>) -> String {
    let local = dt.with_timezone(&ctx.site.time_zone.tz());
    let i18n = &ctx.app.i18n;
    let month = i18n.t(lang, &format!("month-{}", local.month()), &[]);
    let text = i18n.t(
        lang,
        "month-year",
        &[("month", FluentValue::from(month)), ("year", FluentValue::from(local.year().to_string()))],
    );
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A folder's items by publication date, newest first (the news listing).
pub(crate) async fn newest_first(ctx: &Ctx<'_>, view: &ItemView, start: i64, size: i64) -> Result<Listing, WebError> {
    let q = CatalogQuery {
        paths: vec![PathQuery { path: view.item.path.clone(), depth: Some(1) }],
        sort: SortOn::Effective,
        descending: true,
        offset: start,
        limit: size,
        ..Default::default()
    };
    let page = crate::search::run(ctx, q).await?;
    Ok(Listing { items: page.items, total: page.total })
}

/// The listing views that show each item's date, type and author (the others show
/// its title, description and image only).
pub(crate) fn shows_details(layout: &str) -> bool {
    matches!(layout, "summary_view" | "news_listing" | "tabular_view")
}

/// One listed item as the listing templates take it: its address, title, description
/// and thumbnail, and with `details` its type, date written out (publication, else last
/// change) and author.
pub(crate) fn entry(ctx: &Ctx<'_>, lang: Language, s: &Summary, details: bool) -> Value {
    let url = ctx.url(&s.path);
    let image = s.image.as_ref().map(|_| {
        context! { thumb => format!("{url}/@@images/image/thumb"), preview => format!("{url}/@@images/image/preview") }
    });
    let base = context! { url => url, title => s.title.clone(), description => s.description.clone(), image => image };
    if !details {
        return base;
    }
    let dated = s.effective.unwrap_or(s.modified);
    context! {
        type_title => crate::json::type_title(ctx, &s.type_name, lang),
        date_iso => crate::json::iso(&dated),
        date => long_date(ctx, lang, &dated, false),
        creator => s.creator.clone(),
        ..base
    }
}

/// Whether items of this type are events: their type fills the `start` column.
pub(crate) fn is_event(types: &TypeRegistry, item: &ItemRow) -> bool {
    types.get(&item.type_name).is_some_and(|t| t.metadata_field(START_COLUMN).is_some())
}

/// The events (full rows) a Collection finds or a folder holds, by start (latest first
/// when `descending`), at most `limit`: what the event listing and the calendar file
/// of a folder or a Collection show.
pub(crate) async fn event_rows(
    ctx: &Ctx<'_>,
    view: &ItemView,
    descending: bool,
    limit: i64,
) -> Result<Vec<ItemRow>, WebError> {
    let types = ctx.app.services.types();
    let mut q = if types.get(&view.item.type_name).is_some_and(|t| t.has_query()) {
        match crate::search::collection_query(ctx, view).await? {
            Some(q) => q,
            None => CatalogQuery { nothing: true, ..Default::default() },
        }
    } else {
        CatalogQuery { paths: vec![PathQuery { path: view.item.path.clone(), depth: Some(1) }], ..Default::default() }
    };
    // Any start at all: the items that have one.
    q.ranges.push((DateIndex::Start, Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0).single(), None));
    q.sort = SortOn::Start;
    q.descending = descending;
    q.offset = 0;
    q.limit = limit;
    let rows = ctx
        .app
        .services
        .search_rows(&ctx.principal, &ctx.site, q)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    Ok(rows.into_iter().filter(|r| is_event(types, r)).collect())
}

/// The event listing of a folder or a Collection: its events still to come (or, with
/// `past`, those over, latest first), grouped by month. A recurring event is listed at
/// its next date, with its place and time.
pub(crate) async fn events(ctx: &Ctx<'_>, view: &ItemView, past: bool) -> Result<Value, WebError> {
    let types = ctx.app.services.types();
    let lang = view.item.language;
    let rows = event_rows(ctx, view, past, beffroi_service::MAX_SEARCH_BATCH).await?;
    let now = Utc::now();
    let zone = ctx.site.time_zone;
    // Each event at the date it is listed at: its next one (to come), its last (past).
    let mut dated: Vec<(DateTime<Utc>, DateTime<Utc>, ItemRow)> = Vec::new();
    let column = |row: &ItemRow, column: &str| {
        types.get(&row.type_name).and_then(|t| t.column_value(&row.fields, column)).cloned()
    };
    for row in rows {
        let Some(schema) = types.get(&row.type_name) else { continue };
        let (Some(start), end) = schema.date_range(&row.fields) else { continue };
        let end = end.filter(|e| *e >= start).unwrap_or(start);
        let recurs = schema
            .widget_field(Widget::Recurrence)
            .and_then(|f| row.fields.get(&f.name))
            .and_then(|v| v.as_str())
            .is_some_and(|r| !r.trim().is_empty());
        let next = if recurs {
            let fields = row.fields.clone();
            let first = tokio::task::spawn_blocking(move || beffroi_model::event::occurrences(&fields, now, 1, zone))
                .await
                .unwrap_or_default();
            first.into_iter().next()
        } else {
            (end >= now).then_some((start, end))
        };
        match (next, past) {
            (Some((s, e)), false) => dated.push((s, e, row)),
            (None, true) if end < now => dated.push((start, end, row)),
            _ => {}
        }
    }
    dated.sort_by_key(|(s, _, _)| *s);
    if past {
        dated.reverse();
    }
    dated.truncate(MAX_EVENTS as usize);
    let mut months: Vec<Value> = Vec::new();
    let mut current: Option<(String, Vec<Value>)> = None;
    for (start, end, row) in &dated {
        let whole_day = types.get(&row.type_name).is_some_and(|t| t.column_flag(&row.fields, WHOLE_DAY_COLUMN));
        let heading = month_year(ctx, lang, start);
        let url = ctx.url(&row.path);
        let place = column(row, LOCATION_COLUMN).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let same_day = start.with_timezone(&zone.tz()).date_naive() == end.with_timezone(&zone.tz()).date_naive();
        let local = |d: &DateTime<Utc>| d.with_timezone(&zone.tz());
        let event = context! {
            url => url,
            title => row.title.clone(),
            description => row.description.clone(),
            start_iso => crate::json::iso(start),
            day => local(start).day(),
            month_short => ctx.app.i18n.t(lang, &format!("month-short-{}", local(start).month()), &[]),
            when => long_date(ctx, lang, start, !whole_day),
            until => (!same_day).then(|| long_date(ctx, lang, end, !whole_day)),
            until_time => (same_day && !whole_day && end > start).then(|| local(end).format("%H:%M").to_string()),
            place => place,
        };
        match &mut current {
            Some((h, list)) if *h == heading => list.push(event),
            _ => {
                if let Some((h, list)) = current.take() {
                    months.push(context! { heading => h, events => list });
                }
                current = Some((heading, vec![event]));
            }
        }
    }
    if let Some((h, list)) = current.take() {
        months.push(context! { heading => h, events => list });
    }
    let url = ctx.url(&view.item.path);
    Ok(context! {
        past => past,
        months => months,
        other_url => if past { url } else { format!("{url}?past=1") },
    })
}
