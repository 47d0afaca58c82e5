//! What programs read of a site rather than people: RSS 2.0 and Atom feeds of a
//! folder or a Collection (`@@rss`, `@@atom`), iCalendar files of an event or of the
//! events of a folder or a Collection (`@@ics_view`), and the site's `sitemap.xml` and
//! `robots.txt`. Each lists only what the caller may see; a feed of an item the caller
//! may not see is refused (401 for an anonymous reader, never the login form nor an
//! empty feed that would tell its title).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use beffroi_model::ItemPath;
use beffroi_model::schema::{LOCATION_COLUMN, OPEN_END_COLUMN, TypeRegistry, WHOLE_DAY_COLUMN, Widget};
use beffroi_model::security::Principal;
use beffroi_service::{CatalogQuery, ItemRow, ItemView, SortOn, Summary};
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use minijinja::context;

use crate::error::WebError;
use crate::listing::is_event;
use crate::routes::Call;
use crate::traverse::Ctx;

/// How many entries a feed lists, newest first.
const FEED_SIZE: i64 = 20;
/// How many addresses one sitemap file lists (the protocol's limit); past it,
/// `sitemap.xml` is an index of numbered files.
pub(crate) const SITEMAP_SIZE: i64 = 50_000;
/// How many events one calendar file lists.
const CALENDAR_SIZE: i64 = 1000;

fn answer(content_type: &'static str, body: String) -> Response {
    let mut res =
        (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response();
    // Readers poll feeds: a short life lets a proxy answer most of them.
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    res
}

/// Whether items of `view`'s type are listed by a stored query (a Collection).
fn has_query(types: &TypeRegistry, item: &ItemRow) -> bool {
    types.get(&item.type_name).is_some_and(|t| t.has_query())
}

/// The entries of `view`'s feed: a Collection's first results in its own order, a
/// folder's items by publication date, newest first. Another item has no feed.
async fn feed_entries(ctx: &Ctx<'_>, view: &ItemView) -> Result<Vec<Summary>, WebError> {
    let types = ctx.app.services.types();
    if has_query(types, &view.item) {
        return Ok(crate::search::collection_page(ctx, view, 0, FEED_SIZE).await?.items);
    }
    if !view.is_folderish(types) {
        return Err(WebError::NotFound(ctx.request_url.clone()));
    }
    Ok(crate::listing::newest_first(ctx, view, 0, FEED_SIZE).await?.items)
}

/// Whether `view` has feeds (a folder or a Collection): its page links them.
pub(crate) fn has_feeds(ctx: &Ctx<'_>, view: &ItemView) -> bool {
    let types = ctx.app.services.types();
    has_query(types, &view.item) || view.is_folderish(types)
}

fn feed_context(ctx: &Ctx<'_>, view: &ItemView, entries: &[Summary], format: &str) -> minijinja::Value {
    let published = |s: &Summary| s.effective.unwrap_or(s.created);
    let items: Vec<minijinja::Value> = entries
        .iter()
        .map(|s| {
            context! {
                title => s.title.clone(),
                description => s.description.clone(),
                url => ctx.url(&s.path),
                uuid => s.uuid.hyphenated().to_string(),
                rfc2822 => published(s).to_rfc2822(),
                published => crate::json::iso(&published(s)),
                updated => crate::json::iso(&s.modified),
            }
        })
        .collect();
    let updated = entries.iter().map(|s| s.modified).max().unwrap_or(view.item.modified);
    let url = ctx.url(&view.item.path);
    context! {
        title => crate::html::item_title(ctx, &view.item),
        description => view.item.description.clone(),
        url => url.clone(),
        self_url => format!("{url}/@@{format}"),
        uuid => view.item.uuid.hyphenated().to_string(),
        lang => view.item.language.code(),
        site_title => ctx.site.title.clone(),
        updated => crate::json::iso(&updated),
        updated_rfc2822 => updated.to_rfc2822(),
        entries => items,
    }
}

/// `@@rss`: an RSS 2.0 feed of a folder or a Collection.
pub(crate) async fn rss<'r>(call: Call<'r>, view: &'r ItemView) -> Result<Response, WebError> {
    let ctx = call.ctx();
    let entries = feed_entries(ctx, view).await?;
    let body = crate::html::render(ctx.app, "rss.xml", feed_context(ctx, view, &entries, "rss"))?;
    Ok(answer("application/rss+xml; charset=utf-8", body))
}

/// `@@atom`: an Atom feed of a folder or a Collection.
pub(crate) async fn atom<'r>(call: Call<'r>, view: &'r ItemView) -> Result<Response, WebError> {
    let ctx = call.ctx();
    let entries = feed_entries(ctx, view).await?;
    let body = crate::html::render(ctx.app, "atom.xml", feed_context(ctx, view, &entries, "atom"))?;
    Ok(answer("application/atom+xml; charset=utf-8", body))
}

/// `@@ics_view`: an iCalendar file of an event, or of the events a folder holds or a
/// Collection finds (soonest first), importable in a calendar application: local
/// times in the site's time zone, described by a VTIMEZONE, and recurrence rules as
/// the events keep them.
pub(crate) async fn ics_view<'r>(call: Call<'r>, view: &'r ItemView) -> Result<Response, WebError> {
    let ctx = call.ctx();
    let types = ctx.app.services.types();
    let events: Vec<ItemRow> = if is_event(types, &view.item) {
        vec![view.item.clone()]
    } else if has_query(types, &view.item) || view.is_folderish(types) {
        crate::listing::event_rows(ctx, view, false, CALENDAR_SIZE).await?
    } else {
        return Err(WebError::NotFound(ctx.request_url.clone()));
    };
    let host = ctx.base.split("://").nth(1).and_then(|h| h.split('/').next()).unwrap_or("localhost").to_owned();
    let body = calendar(ctx, &crate::html::item_title(ctx, &view.item), &events, &host);
    let mut res = answer("text/calendar; charset=utf-8", body);
    let filename =
        format!("attachment; filename=\"{}.ics\"", if view.item.path.is_root() { "calendar" } else { &view.item.id });
    if let Ok(v) = HeaderValue::from_str(&filename) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// One content line of an iCalendar file, folded at 75 octets (RFC 5545 3.1) on
/// character boundaries.
fn line(out: &mut String, text: &str) {
    let mut width = 0;
    for c in text.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and new lines escaped.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

fn utc_stamp(d: &DateTime<Utc>) -> String {
    d.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The calendar file of `events`, in the site's time zone.
fn calendar(ctx: &Ctx<'_>, name: &str, events: &[ItemRow], host: &str) -> String {
    let types = ctx.app.services.types();
    let tz = ctx.site.time_zone.tz();
    let zone = tz.name();
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Beffroi//Beffroi//FR");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", text(name)));
    line(&mut out, &format!("X-WR-TIMEZONE:{zone}"));
    let spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = events
        .iter()
        .filter_map(|e| {
            let (start, end) = types.get(&e.type_name)?.date_range(&e.fields);
            Some((start?, end.or(start)?))
        })
        .collect();
    if let (Some(first), Some(last)) = (spans.iter().map(|s| s.0).min(), spans.iter().map(|s| s.1).max()) {
        // Recurring events go on: the zone's changes are given for some years ahead.
        let last = last.max(Utc::now()) + Duration::days(5 * 366);
        timezone(&mut out, tz, first.year() - 1, last.year());
    }
    for e in events {
        let Some(schema) = types.get(&e.type_name) else { continue };
        let (Some(start), end) = schema.date_range(&e.fields) else { continue };
        let flag = |column: &str| schema.column_flag(&e.fields, column);
        let url = ctx.url(&e.path);
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}@{host}", e.uuid.simple()));
        line(&mut out, &format!("DTSTAMP:{}", utc_stamp(&e.modified)));
        line(&mut out, &format!("CREATED:{}", utc_stamp(&e.created)));
        line(&mut out, &format!("LAST-MODIFIED:{}", utc_stamp(&e.modified)));
        line(&mut out, &format!("SUMMARY:{}", text(&e.title)));
        if !e.description.trim().is_empty() {
            line(&mut out, &format!("DESCRIPTION:{}", text(&e.description)));
        }
        let local = |d: &DateTime<Utc>| d.with_timezone(&tz);
        if flag(WHOLE_DAY_COLUMN) {
            let first = local(&start).date_naive();
            let last = end.map(|d| local(&d).date_naive()).filter(|d| *d >= first).unwrap_or(first);
            line(&mut out, &format!("DTSTART;VALUE=DATE:{}", first.format("%Y%m%d")));
            // The end of a day-long event is the day after its last (exclusive).
            line(&mut out, &format!("DTEND;VALUE=DATE:{}", (last + Duration::days(1)).format("%Y%m%d")));
        } else {
            line(&mut out, &format!("DTSTART;TZID={zone}:{}", local(&start).format("%Y%m%dT%H%M%S")));
            if let Some(end) = end.filter(|d| *d >= start && !flag(OPEN_END_COLUMN)) {
                line(&mut out, &format!("DTEND;TZID={zone}:{}", local(&end).format("%Y%m%dT%H%M%S")));
            }
        }
        if let Some(rule) =
            schema.widget_field(Widget::Recurrence).and_then(|f| e.fields.get(&f.name)).and_then(|v| v.as_str())
        {
            for l in rule.lines().map(str::trim).filter(|l| {
                ["RRULE", "RDATE", "EXDATE", "EXRULE"].iter().any(|k| l.starts_with(k))
                    && l.chars().all(|c| !c.is_control())
            }) {
                line(&mut out, l);
            }
        }
        let location = schema.column_value(&e.fields, LOCATION_COLUMN).and_then(|v| v.as_str()).unwrap_or("").trim();
        if !location.is_empty() {
            line(&mut out, &format!("LOCATION:{}", text(location)));
        }
        line(&mut out, &format!("URL:{url}"));
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// The VTIMEZONE of `tz` for the years `from` to `to`: each change of offset one
/// observance (STANDARD or DAYLIGHT), or one STANDARD for a zone without changes.
fn timezone(out: &mut String, tz: chrono_tz::Tz, from: i32, to: i32) {
    use chrono_tz::OffsetComponents;
    line(out, "BEGIN:VTIMEZONE");
    line(out, &format!("TZID:{}", tz.name()));
    let offset_at = |t: DateTime<Utc>| t.with_timezone(&tz).offset().fix().local_minus_utc();
    let hhmm = |secs: i32| {
        let sign = if secs < 0 { '-' } else { '+' };
        format!("{sign}{:02}{:02}", secs.abs() / 3600, secs.abs() % 3600 / 60)
    };
    let mut changes = Vec::new();
    let (Some(mut t), Some(end)) = (
        Utc.with_ymd_and_hms(from.max(1970), 1, 1, 0, 0, 0).single(),
        Utc.with_ymd_and_hms(to.clamp(1970, 9999) + 1, 1, 1, 0, 0, 0).single(),
    ) else {
        line(out, "END:VTIMEZONE");
        return;
    };
    let first = offset_at(t);
    // Day by day, then to the second by halving: zones change at most a few times a year.
    while t < end {
        let next = t + Duration::days(1);
        if offset_at(next) != offset_at(t) {
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_at(mid) == offset_at(lo) { lo = mid } else { hi = mid }
            }
            changes.push((hi, offset_at(lo), offset_at(hi)));
        }
        t = next;
    }
    let observance = |out: &mut String, at: NaiveDateTime, before: i32, after: i32, instant: DateTime<Utc>| {
        let local = instant.with_timezone(&tz);
        let daylight = local.offset().dst_offset() != Duration::zero();
        let kind = if daylight { "DAYLIGHT" } else { "STANDARD" };
        line(out, &format!("BEGIN:{kind}"));
        line(out, &format!("DTSTART:{}", at.format("%Y%m%dT%H%M%S")));
        line(out, &format!("TZOFFSETFROM:{}", hhmm(before)));
        line(out, &format!("TZOFFSETTO:{}", hhmm(after)));
        line(out, &format!("TZNAME:{}", text(&local.format("%Z").to_string())));
        line(out, &format!("END:{kind}"));
    };
    if changes.is_empty() {
        let start = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).single().unwrap_or(t);
        observance(out, start.naive_utc(), first, first, start);
    }
    for (instant, before, after) in changes {
        // An observance starts at the wall-clock time of the old offset.
        let at = instant.naive_utc() + Duration::seconds(i64::from(before));
        observance(out, at, before, after, instant);
    }
    line(out, "END:VTIMEZONE");
}

/// `sitemap.xml` (at the site's root): the addresses anonymous visitors may see, with
/// the time each changed; past [`SITEMAP_SIZE`] (or the size the options set), an
/// index of `sitemap.xml?page=N`.
pub(crate) async fn sitemap(call: Call<'_>) -> Result<Response, WebError> {
    let ctx = call.ctx();
    let services = &ctx.app.services;
    let everyone = CatalogQuery { sort: SortOn::Path, ..Default::default() };
    let total = services.count(&Principal::Anonymous, &ctx.site, everyone.clone()).await.map_err(|e| call.error(e))?;
    let size = ctx.app.options.sitemap_size.clamp(1, SITEMAP_SIZE);
    let pages = ((total + size - 1) / size).max(1);
    let page = match ctx.param("page") {
        None => None,
        Some(p) => Some(
            p.parse::<i64>()
                .ok()
                .filter(|n| (1..=pages).contains(n))
                .ok_or_else(|| WebError::NotFound(ctx.request_url.clone()))?,
        ),
    };
    let base = ctx.url(&ItemPath::root());
    if page.is_none() && pages > 1 {
        let files: Vec<String> = (1..=pages).map(|n| format!("{base}/sitemap.xml?page={n}")).collect();
        let body = crate::html::render(ctx.app, "sitemap.xml", context! { index => files })?;
        return Ok(answer("application/xml; charset=utf-8", body));
    }
    let first = (page.unwrap_or(1) - 1) * size;
    let mut urls = Vec::new();
    let mut offset = first;
    while offset < (first + size).min(total) {
        let limit = beffroi_service::MAX_SEARCH_BATCH.min(first + size - offset);
        let q = CatalogQuery { offset, limit, ..everyone.clone() };
        let found = services.search(&Principal::Anonymous, &ctx.site, q).await.map_err(|e| call.error(e))?.items;
        if found.is_empty() {
            break;
        }
        offset += found.len() as i64;
        urls.extend(
            found.iter().map(|s| context! { loc => ctx.url(&s.path), lastmod => crate::json::iso(&s.modified) }),
        );
    }
    let body = crate::html::render(ctx.app, "sitemap.xml", context! { urls => urls })?;
    Ok(answer("application/xml; charset=utf-8", body))
}

/// `robots.txt` (at the site's root): everything may be crawled but the site's search
/// and login, and where the sitemap is.
pub(crate) async fn robots(call: Call<'_>) -> Result<Response, WebError> {
    let ctx = call.ctx();
    let base = ctx.url(&ItemPath::root());
    let prefix = crate::html::url_path(&base);
    let prefix = prefix.trim_end_matches('/');
    let body = format!(
        "User-agent: *\nDisallow: {prefix}/@@search\nDisallow: {prefix}/@@login\nDisallow: {prefix}/*/@@\n\nSitemap: {base}/sitemap.xml\n"
    );
    Ok(answer("text/plain; charset=utf-8", body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fold_at_75_octets_on_character_boundaries() {
        let mut out = String::new();
        let long = format!("SUMMARY:{}", "é".repeat(60));
        line(&mut out, &long);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{l:?} is {} octets", l.len());
        }
        assert_eq!(out.replace("\r\n ", "").trim_end(), long, "unfolded, the line is whole");
    }

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(text("a, b; c\\d\nnext"), "a\\, b\\; c\\\\d\\nnext");
    }

    #[test]
    fn brussels_changes_twice_a_year_at_the_right_wall_clock_time() {
        let mut out = String::new();
        timezone(&mut out, chrono_tz::Europe::Brussels, 2026, 2026);
        assert!(
            out.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200"),
            "{out}"
        );
        assert!(
            out.contains("BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100"),
            "{out}"
        );
        let mut utc = String::new();
        timezone(&mut utc, chrono_tz::UTC, 2026, 2026);
        assert!(
            utc.contains("BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0000"),
            "{utc}"
        );
    }
}
