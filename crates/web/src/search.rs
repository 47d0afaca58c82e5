//! Search over HTTP: plone.restapi's `@search` (Zope-encoded query parameters) and
//! `@querystring-search` (plone.app.querystring criteria, also what a Collection
//! stores), and the HTML search page with snippets and facets.

use axum::http::StatusCode;
use axum::response::Response;
use beffroi_model::ItemPath;
use beffroi_model::catalog::{query_stems, search_text, snippet};
use beffroi_model::schema::parse_datetime;
use beffroi_service::{CatalogQuery, DateIndex, ItemRow, ItemView, PathQuery, SearchPage, SortOn, Summary, with_text};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use minijinja::context;
use serde_json::{Map, Value, json};

use crate::error::WebError;
use crate::traverse::Ctx;

/// Default batch of search results, as plone.restapi's.
const DEFAULT_BATCH: i64 = 25;
/// Largest `b_start` (beyond any real result set, far from overflowing arithmetic).
const MAX_START: i64 = 1_000_000_000;
/// Deepest `path.depth` that means anything (deeper is the whole subtree).
const MAX_DEPTH: i64 = 100;
/// Largest number of days in a relative date criterion (a century).
const MAX_DAYS: i64 = 36_500;

/// How results are shown beyond the summary.
#[derive(Debug, Default)]
pub(crate) struct Shape {
    pub metadata: Vec<String>,
    pub fullobjects: bool,
}

fn bad(m: impl Into<String>) -> WebError {
    WebError::BadRequest(m.into())
}

/// A date or date-time given in a query.
fn when(s: &str) -> Result<DateTime<Utc>, WebError> {
    parse_datetime(s.trim())
        .or_else(|| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .ok()
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
        })
        .ok_or_else(|| bad(format!("{s:?} is not a date")))
}

fn sort_on(name: &str) -> Result<SortOn, WebError> {
    Ok(match name {
        "" | "relevance" => SortOn::Relevance,
        "sortable_title" | "Title" | "getId" | "id" => SortOn::Title,
        "created" | "CreationDate" => SortOn::Created,
        "modified" | "ModificationDate" => SortOn::Modified,
        "effective" | "EffectiveDate" => SortOn::Effective,
        "start" => SortOn::Start,
        "end" => SortOn::End,
        "getObjPositionInParent" => SortOn::Position,
        "path" => SortOn::Path,
        other => return Err(bad(format!("cannot sort on {other:?}"))),
    })
}

fn date_index(name: &str) -> Option<DateIndex> {
    Some(match name {
        "created" => DateIndex::Created,
        "modified" => DateIndex::Modified,
        "effective" => DateIndex::Effective,
        "expires" => DateIndex::Expires,
        "start" => DateIndex::Start,
        "end" => DateIndex::End,
        _ => return None,
    })
}

/// A path as a client names it: absolute with the site's id ("/commune/a/b"), or from
/// the site root ("/a/b").
fn site_path(ctx: &Ctx<'_>, raw: &str) -> Result<ItemPath, WebError> {
    let raw = raw.trim().trim_end_matches('/');
    let raw = raw.strip_prefix(&ctx.base).unwrap_or(raw);
    let id = format!("/{}", ctx.site.id);
    let rel = match raw.strip_prefix(&id) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => raw,
    };
    ItemPath::parse(rel).map_err(|_| bad(format!("{raw:?} is not a path of this site")))
}

fn params_of(ctx: &Ctx<'_>) -> Vec<(String, String)> {
    // Zope's converters (`portal_type:list`, `b_size:int`) only say how to read the value.
    ctx.query.iter().map(|(k, v)| (k.split(':').next().unwrap_or("").to_owned(), v.clone())).collect()
}

fn batch(params: &[(String, String)]) -> Result<(i64, i64), WebError> {
    let int = |name: &str, default: i64| -> Result<i64, WebError> {
        match params.iter().find(|(k, _)| k == name) {
            None => Ok(default),
            Some((_, v)) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=MAX_START).contains(n))
                .ok_or_else(|| bad(format!("{name} must be a non-negative integer"))),
        }
    };
    Ok((int("b_start", 0)?, int("b_size", DEFAULT_BATCH)?.clamp(1, beffroi_service::MAX_SEARCH_BATCH)))
}

/// `@search`'s parameters as a catalog query below `view` (the whole site from the root).
pub(crate) fn from_params(ctx: &Ctx<'_>, view: &ItemView) -> Result<(CatalogQuery, Shape), WebError> {
    let params = params_of(ctx);
    // At most 100 values per parameter: far beyond any real query, far below the
    // databases' limits on bound parameters.
    let all = |name: &str| -> Vec<String> {
        params.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).filter(|v| !v.is_empty()).take(100).collect()
    };
    let one = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let mut q = CatalogQuery::default();
    if let Some(text) = one("SearchableText") {
        if text.len() > 1000 {
            return Err(bad("SearchableText is too long"));
        }
        q = with_text(q, text);
    }
    q.types = all("portal_type");
    q.states = all("review_state");
    q.subjects = all("Subject");
    q.creators = all("Creator");
    q.languages = all("Language");
    for u in all("UID") {
        q.uids.push(uuid::Uuid::try_parse(&u).map_err(|_| bad(format!("{u:?} is not a UID")))?);
    }
    let depth = match one("path.depth") {
        None => None,
        Some(d) => Some(d.trim().parse::<i64>().map_err(|_| bad("path.depth must be an integer"))?)
            .filter(|d| *d >= 0)
            .map(|d| d.min(MAX_DEPTH)),
    };
    let mut paths: Vec<String> = all("path.query");
    paths.extend(all("path"));
    if paths.is_empty() {
        q.paths.push(PathQuery { path: view.item.path.clone(), depth });
    } else {
        for p in paths {
            q.paths.push(PathQuery { path: site_path(ctx, &p)?, depth });
        }
    }
    for name in ["created", "modified", "effective", "expires", "start", "end"] {
        let values = all(&format!("{name}.query"));
        if values.is_empty() {
            continue;
        }
        let index = date_index(name).expect("listed");
        let range = one(&format!("{name}.range")).unwrap_or("min:max");
        let dates: Vec<DateTime<Utc>> = values.iter().map(|v| when(v)).collect::<Result<_, _>>()?;
        let r = match (range, dates.as_slice()) {
            ("min", [a, ..]) => (index, Some(*a), None),
            ("max", [a, ..]) => (index, None, Some(*a)),
            ("min:max", [a, b, ..]) => (index, Some(*a), Some(*b)),
            _ => return Err(bad(format!("{name}.range must be min, max or min:max with as many dates"))),
        };
        q.ranges.push(r);
    }
    q.sort = sort_on(one("sort_on").unwrap_or(""))?;
    q.descending = match one("sort_order").unwrap_or("ascending") {
        "ascending" | "" => false,
        "descending" | "reverse" => true,
        other => return Err(bad(format!("sort_order {other:?} is ascending or descending"))),
    };
    (q.offset, q.limit) = batch(&params)?;
    let shape = Shape {
        metadata: all("metadata_fields"),
        fullobjects: one("fullobjects").is_some_and(|v| !matches!(v, "0" | "false" | "False")),
    };
    Ok((q, shape))
}

use beffroi_model::catalog::querystring::PREFIX as QS;

/// The values of a criterion, at most 100 (50 criteria × 100 values stay far below the
/// databases' limits on bound parameters).
fn values(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).take(100).collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// plone.app.querystring criteria as a catalog query, relative to `view`.
pub(crate) async fn from_criteria(
    ctx: &Ctx<'_>,
    view: &ItemView,
    criteria: &[Value],
) -> Result<CatalogQuery, WebError> {
    // Paths may be given by the UID of their folder, as Plone's path widget stores them.
    let uids: Vec<uuid::Uuid> = criteria
        .iter()
        .filter(|c| c.get("i").and_then(Value::as_str) == Some("path"))
        .flat_map(|c| values(c.get("v").unwrap_or(&Value::Null)))
        .filter_map(|raw| uuid::Uuid::try_parse(raw.split_once("::").map_or(raw.as_str(), |(p, _)| p)).ok())
        .collect();
    let by_uid = if uids.is_empty() {
        Default::default()
    } else {
        ctx.app.services.paths_of(&ctx.site, &uids).await.map_err(|e| WebError::from_service(e, &ctx.request_url))?
    };
    let mut q = CatalogQuery::default();
    let now = Utc::now();
    let today = now.date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    for c in criteria {
        let index = c.get("i").and_then(Value::as_str).ok_or_else(|| bad("a criterion without \"i\""))?;
        let op = c.get("o").and_then(Value::as_str).ok_or_else(|| bad("a criterion without \"o\""))?;
        let op = op.strip_prefix(QS).unwrap_or(op);
        let v = c.get("v").unwrap_or(&Value::Null);
        match (index, op) {
            ("SearchableText", _) => {
                let text = values(v).join(" ");
                q = with_text(q, &text);
            }
            ("portal_type", "selection.any" | "selection.is" | "string.is") => q.types.extend(values(v)),
            ("review_state", "selection.any" | "selection.is" | "string.is") => q.states.extend(values(v)),
            ("Subject", "selection.any" | "selection.all" | "selection.is" | "string.is") => {
                q.subjects.extend(values(v))
            }
            ("Creator", "string.is" | "selection.any" | "string.currentUser") => {
                if op == "string.currentUser" {
                    q.creators.push(ctx.principal.id().to_owned());
                } else {
                    q.creators.extend(values(v));
                }
            }
            ("Language", _) => q.languages.extend(values(v)),
            ("path", "string.absolutePath" | "string.relativePath" | "string.path") => {
                let mut unknown = false;
                let before = q.paths.len();
                for raw in values(v) {
                    let (p, depth) = match raw.split_once("::") {
                        Some((p, d)) => {
                            (p.to_owned(), d.parse::<i64>().ok().filter(|d| *d >= 0).map(|d| d.min(MAX_DEPTH)))
                        }
                        None => (raw.clone(), None),
                    };
                    let path = if op == "string.relativePath" {
                        let mut base = view.item.path.clone();
                        for seg in p.split('/').filter(|s| !s.is_empty() && *s != ".") {
                            base = if seg == ".." {
                                base.parent().unwrap_or_else(ItemPath::root)
                            } else {
                                ItemPath::parse(&format!("{}/{seg}", base.as_str()))
                                    .map_err(|_| bad("bad relative path"))?
                            };
                        }
                        base
                    } else if let Ok(uid) = uuid::Uuid::try_parse(&p) {
                        // An item that is gone (or of another site) holds nothing.
                        match by_uid.get(&uid) {
                            Some(path) => path.clone(),
                            None => {
                                unknown = true;
                                continue;
                            }
                        }
                    } else {
                        site_path(ctx, &p)?
                    };
                    q.paths.push(PathQuery { path, depth });
                }
                if unknown && q.paths.len() == before {
                    // Only folders that are gone: nothing can match.
                    q.nothing = true;
                }
            }
            (i, op) if date_index(i).is_some() => {
                let index = date_index(i).expect("checked");
                let list = values(v);
                let days = || -> Result<Duration, WebError> {
                    list.first()
                        .and_then(|d| d.parse::<i64>().ok())
                        .or(v.as_i64())
                        .filter(|d| d.abs() <= MAX_DAYS)
                        .map(Duration::days)
                        .ok_or_else(|| bad(format!("a number of days, at most {MAX_DAYS}")))
                };
                let r = match op {
                    "date.lessThan" => (None, Some(when(list.first().ok_or_else(|| bad("a date"))?)?)),
                    "date.largerThan" => (Some(when(list.first().ok_or_else(|| bad("a date"))?)?), None),
                    "date.between" => match list.as_slice() {
                        [a, b] => (Some(when(a)?), Some(when(b)?)),
                        _ => return Err(bad("date.between takes two dates")),
                    },
                    "date.today" => (Some(today), Some(today + Duration::days(1))),
                    "date.afterToday" => (Some(now), None),
                    "date.beforeToday" => (None, Some(now)),
                    "date.lessThanRelativeDate" => (Some(now), Some(now + days()?)),
                    "date.largerThanRelativeDate" => (Some(now - days()?), Some(now)),
                    other => return Err(bad(format!("unknown operation {other:?} on {i}"))),
                };
                q.ranges.push((index, r.0, r.1));
            }
            (i, o) => return Err(bad(format!("unsupported criterion {i} / {o}"))),
        }
    }
    Ok(q)
}

/// The metadata fields a result may carry beyond the summary.
const METADATA: &[&str] = &[
    "created",
    "modified",
    "effective",
    "expires",
    "Creator",
    "UID",
    "getId",
    "id",
    "exclude_from_nav",
    "getObjPositionInParent",
    "portal_type",
    "Subject",
    "start",
    "end",
    "Language",
    "getRemoteUrl",
    "location",
];

fn metadata_value(ctx: &Ctx<'_>, name: &str, s: &Summary, row: Option<&ItemRow>) -> Value {
    let iso = |d: &DateTime<Utc>| Value::String(crate::json::iso(d));
    let field = |k: &str| row.and_then(|r| r.fields.get(k).cloned()).unwrap_or(Value::Null);
    match name {
        "created" => iso(&s.created),
        "modified" => iso(&s.modified),
        "effective" => s.effective.as_ref().map(iso).unwrap_or(Value::Null),
        "expires" => row.and_then(|r| r.expires.as_ref()).map(iso).unwrap_or(Value::Null),
        "Creator" => s.creator.clone().into(),
        "UID" => crate::json::uid(&s.uuid).into(),
        "getId" | "id" => s.id.clone().into(),
        "exclude_from_nav" => s.exclude_from_nav.into(),
        "getObjPositionInParent" => s.position.into(),
        "portal_type" => s.type_name.clone().into(),
        "Subject" => match field("subjects") {
            Value::Null => json!([]),
            v => v,
        },
        "Language" => row.map(|r| Value::String(r.language.code().to_owned())).unwrap_or(Value::Null),
        "getRemoteUrl" => field("remoteUrl"),
        "start" | "end" | "location" => field(name),
        _ => {
            let _ = ctx;
            Value::Null
        }
    }
}

/// plone.restapi's result list: summaries with the metadata asked, or whole items.
pub(crate) async fn results_json(
    ctx: &Ctx<'_>,
    id: String,
    page: &SearchPage,
    shape: &Shape,
    start: i64,
    size: i64,
) -> Result<Value, WebError> {
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let mut items = Vec::with_capacity(page.items.len());
    if shape.fullobjects {
        for s in &page.items {
            let v = ctx.app.services.item(&ctx.principal, &ctx.site, &s.path).await.map_err(err)?;
            items.push(crate::json::item(ctx, &v, None, None));
        }
    } else {
        let names: Vec<&str> = if shape.metadata.iter().any(|m| m == "_all") {
            METADATA.to_vec()
        } else {
            shape.metadata.iter().map(String::as_str).filter(|m| METADATA.contains(m)).collect()
        };
        let rows = if names.is_empty() {
            Vec::new()
        } else {
            ctx.app.services.result_rows(&ctx.site, &page.items).await.map_err(err)?
        };
        for s in &page.items {
            let mut v = crate::json::summary(ctx, s);
            let row = rows.iter().find(|r| r.uuid == s.uuid);
            if let Some(m) = v.as_object_mut() {
                for n in &names {
                    m.insert((*n).to_owned(), metadata_value(ctx, n, s, row));
                }
            }
            items.push(v);
        }
    }
    let mut out = Map::new();
    out.insert("@id".into(), id.into());
    out.insert("items".into(), items.into());
    out.insert("items_total".into(), page.total.into());
    if let Some(b) = crate::json::batching(ctx, page.total, start, size) {
        out.insert("batching".into(), b);
    }
    Ok(Value::Object(out))
}

/// The request's own URL with its query, as plone.restapi's `@id`.
fn self_url(ctx: &Ctx<'_>) -> String {
    if ctx.query.is_empty() {
        ctx.request_url.clone()
    } else {
        format!("{}?{}", ctx.request_url, serde_urlencoded::to_string(&ctx.query).unwrap_or_default())
    }
}

/// `GET …/@search`.
pub(crate) async fn search_json(ctx: &Ctx<'_>, view: &ItemView) -> Result<Value, WebError> {
    let (q, shape) = from_params(ctx, view)?;
    let (start, size) = (q.offset, q.limit);
    let page = ctx
        .app
        .services
        .search(&ctx.principal, &ctx.site, q)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    results_json(ctx, self_url(ctx), &page, &shape, start, size).await
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuerystringBody {
    #[serde(default)]
    query: Vec<Value>,
    #[serde(default)]
    sort_on: Option<String>,
    #[serde(default)]
    sort_order: Option<String>,
    #[serde(default)]
    b_start: Option<i64>,
    #[serde(default)]
    b_size: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    fullobjects: Option<Value>,
    #[serde(default)]
    metadata_fields: Option<Value>,
}

/// `@querystring-search`: POST with a JSON body, or GET with `?query=<JSON>`.
pub(crate) async fn querystring_search(ctx: &Ctx<'_>, view: &ItemView, body: Option<&[u8]>) -> Result<Value, WebError> {
    let b: QuerystringBody = match body {
        Some(b) if !b.is_empty() => serde_json::from_slice(b).map_err(|e| bad(format!("invalid JSON body: {e}")))?,
        _ => match ctx.query.iter().find(|(k, _)| k == "query") {
            Some((_, q)) => serde_json::from_str(q).map_err(|e| bad(format!("query: {e}")))?,
            None => QuerystringBody::default(),
        },
    };
    if b.query.len() > 50 {
        return Err(bad("at most 50 criteria"));
    }
    let mut q = from_criteria(ctx, view, &b.query).await?;
    q.sort = sort_on(b.sort_on.as_deref().unwrap_or(""))?;
    q.descending = matches!(b.sort_order.as_deref(), Some("descending" | "reverse"));
    let size = b.b_size.unwrap_or(DEFAULT_BATCH).clamp(1, beffroi_service::MAX_SEARCH_BATCH);
    let start = b.b_start.unwrap_or(0).clamp(0, MAX_START);
    q.offset = start;
    q.limit = size;
    if let Some(limit) = b.limit.filter(|l| *l > 0) {
        // `limit` caps the whole result set.
        q.limit = size.min((limit - start).max(0));
    }
    let shape = Shape {
        metadata: b.metadata_fields.as_ref().map(values).unwrap_or_default(),
        fullobjects: b.fullobjects.as_ref().is_some_and(|v| matches!(v, Value::Bool(true)) || v.as_i64() == Some(1)),
    };
    let mut page = ctx
        .app
        .services
        .search(&ctx.principal, &ctx.site, q)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    if let Some(limit) = b.limit.filter(|l| *l > 0) {
        page.total = page.total.min(limit);
    }
    results_json(ctx, self_url(ctx), &page, &shape, start, size).await
}

/// The stored query of a Collection, with its sort; None when it has no criteria.
pub(crate) async fn collection_query(ctx: &Ctx<'_>, view: &ItemView) -> Result<Option<CatalogQuery>, WebError> {
    let f = &view.item.fields;
    let criteria = match f.get("query") {
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        _ => return Ok(None),
    };
    let mut q = from_criteria(ctx, view, &criteria).await?;
    q.sort = f.get("sort_on").and_then(Value::as_str).map(sort_on).transpose()?.unwrap_or(SortOn::Relevance);
    q.descending = f.get("sort_reversed").and_then(Value::as_bool).unwrap_or(false);
    Ok(Some(q))
}

/// One page of a Collection's results, `limit` applied.
pub(crate) async fn collection_page(
    ctx: &Ctx<'_>,
    view: &ItemView,
    start: i64,
    size: i64,
) -> Result<SearchPage, WebError> {
    let Some(mut q) = collection_query(ctx, view).await? else {
        return Ok(SearchPage { items: Vec::new(), total: 0 });
    };
    let limit = view.item.fields.get("limit").and_then(Value::as_i64).filter(|l| *l > 0);
    q.offset = start;
    q.limit = match limit {
        Some(l) => size.min((l - start).max(0)),
        None => size,
    };
    let mut page = ctx
        .app
        .services
        .search(&ctx.principal, &ctx.site, q)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    if let Some(l) = limit {
        page.total = page.total.min(l);
    }
    Ok(page)
}

/// Facet values, most frequent first (then by name).
fn sorted_by_count(mut v: Vec<(String, i64)>) -> Vec<(String, i64)> {
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// The HTML search page: a query box, results with highlighted passages, facets by
/// type, subject and date with their counts, sorting and pages. No JavaScript.
pub(crate) async fn search_page(ctx: &Ctx<'_>) -> Result<Response, WebError> {
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let services = &ctx.app.services;
    let lang = ctx.site.language;
    let params = params_of(ctx);
    let one = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
    let all = |n: &str| -> Vec<String> {
        params
            .iter()
            .filter(|(k, _)| k == n && !k.is_empty())
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let text = one("SearchableText");
    if text.len() > 1000 {
        return Err(bad("the query is too long"));
    }
    let (start, size) = batch(&params).map(|(s, _)| (s, 20))?;
    let mut q = with_text(CatalogQuery::default(), &text);
    q.types = all("portal_type");
    q.subjects = all("Subject");
    // The date facet: modified since a day, a week, a month, a year.
    const SINCE: [(&str, i64); 4] = [("day", 1), ("week", 7), ("month", 31), ("year", 365)];
    let now = Utc::now();
    let since_key = one("modified");
    let selected = SINCE.iter().position(|(key, _)| *key == since_key);
    let base_q = q.clone();
    if let Some(i) = selected {
        q.ranges.push((DateIndex::Modified, Some(now - Duration::days(SINCE[i].1)), None));
    }
    let sort = one("sort_on");
    q.sort = if sort == "date" { SortOn::Modified } else { SortOn::Relevance };
    q.descending = sort == "date";
    q.offset = start;
    q.limit = size;
    let searching = !text.trim().is_empty() || !q.types.is_empty() || !q.subjects.is_empty() || selected.is_some();
    let (page, types, subjects, dates) = if searching {
        // The page, the subjects, and the types with the dates (one pass over the
        // matches, the query's types and date left out, put back below), at once on
        // three connections.
        let since: Vec<_> = SINCE.iter().map(|(_, d)| now - Duration::days(*d)).collect();
        let mut by_type = base_q.clone();
        by_type.types.clear();
        let (page, counts, subjects) = tokio::try_join!(
            services.search(&ctx.principal, &ctx.site, q.clone()),
            services.type_counts(&ctx.principal, &ctx.site, by_type, &since),
            services.subject_counts(&ctx.principal, &ctx.site, q.clone()),
        )
        .map_err(err)?;
        let types: Vec<(String, i64)> = counts
            .iter()
            .map(|c| (c.type_name.clone(), selected.map_or(c.total, |i| c.since[i])))
            .filter(|(_, n)| *n > 0)
            .collect();
        let types = sorted_by_count(types);
        let counted = |c: &&beffroi_service::TypeCount| q.types.is_empty() || q.types.contains(&c.type_name);
        let dates = SINCE
            .iter()
            .enumerate()
            .map(|(i, (key, _))| (*key, counts.iter().filter(counted).map(|c| c.since[i]).sum::<i64>()))
            .collect();
        (page, types, subjects, dates)
    } else {
        (SearchPage { items: Vec::new(), total: 0 }, Vec::new(), Vec::new(), Vec::new())
    };
    let rows = services.result_rows(&ctx.site, &page.items).await.map_err(err)?;
    let stems = query_stems(&text);
    let results: Vec<minijinja::Value> = page
        .items
        .iter()
        .map(|s| {
            let row = rows.iter().find(|r| r.uuid == s.uuid);
            let passage = row
                .map(|r| {
                    let t = search_text(&r.title, &r.description, &r.fields, services.types().get(&r.type_name));
                    snippet(&t.body, &stems, r.language, 240)
                })
                .unwrap_or_default();
            let passage: Vec<minijinja::Value> =
                passage.into_iter().map(|(t, hit)| context! { text => t, hit => hit }).collect();
            context! {
                url => ctx.url(&s.path),
                title => s.title.clone(),
                type_title => crate::json::type_title(ctx, &s.type_name, lang),
                modified_iso => crate::json::iso(&s.modified),
                modified => crate::html::date_text(lang, &s.modified),
                passage => passage,
            }
        })
        .collect();
    // Links that keep the query and change one thing.
    let link = |set: &[(&str, &str)], drop: &[&str]| -> String {
        let mut p: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| k != "b_start" && !drop.contains(&k.as_str()) && !set.iter().any(|(s, _)| s == k))
            .cloned()
            .collect();
        for (k, v) in set {
            if !v.is_empty() {
                p.push(((*k).to_owned(), (*v).to_owned()));
            }
        }
        format!("{}/@@search?{}", ctx.base, serde_urlencoded::to_string(&p).unwrap_or_default())
    };
    let type_facets: Vec<minijinja::Value> = types
        .iter()
        .map(|(t, n)| {
            let active = q.types.contains(t);
            context! {
                title => crate::json::type_title(ctx, t, lang), count => n, active => active,
                url => if active { link(&[], &["portal_type"]) } else { link(&[("portal_type", t)], &["portal_type"]) },
            }
        })
        .collect();
    let subject_facets: Vec<minijinja::Value> = subjects
        .iter()
        .map(|(s, n)| {
            let active = q.subjects.contains(s);
            context! {
                title => s.clone(), count => n, active => active,
                url => if active { link(&[], &["Subject"]) } else { link(&[("Subject", s)], &["Subject"]) },
            }
        })
        .collect();
    let date_facets: Vec<minijinja::Value> = dates
        .iter()
        .map(|(key, n)| {
            let active = since_key == *key;
            context! {
                title => ctx.app.i18n.t(lang, &format!("search-since-{key}"), &[]), count => n, active => active,
                url => if active { link(&[], &["modified"]) } else { link(&[("modified", key)], &["modified"]) },
            }
        })
        .collect();
    let pages = (page.total + size - 1) / size;
    let prev_url = (start > 0).then(|| format!("{}&b_start={}", link(&[], &[]), (start - size).max(0)));
    let next_url = (start + size < page.total).then(|| format!("{}&b_start={}", link(&[], &[]), start + size));
    crate::views::page(
        ctx,
        StatusCode::OK,
        "search.html",
        context! {
            title => ctx.app.i18n.t(lang, "search-title", &[]),
            text => text,
            searching => searching,
            results => results,
            total => page.total,
            types => type_facets,
            subjects => subject_facets,
            dates => date_facets,
            sort => if sort == "date" { "date" } else { "relevance" },
            sort_relevance_url => link(&[], &["sort_on"]),
            sort_date_url => link(&[("sort_on", "date")], &["sort_on"]),
            page => start / size + 1,
            pages => pages,
            prev_url => prev_url,
            next_url => next_url,
            action => format!("{}/@@search", ctx.base),
            hidden => params.iter().filter(|(k, _)| k == "portal_type" || k == "Subject" || k == "modified" || k == "sort_on").map(|(k, v)| context! { name => k.clone(), value => v.clone() }).collect::<Vec<_>>(),
        },
    )
}
