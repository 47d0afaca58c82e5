//! Search over HTTP: plone.restapi's `@search` (Zope-encoded query parameters) and
//! `@querystring-search` (plone.app.querystring criteria, also what a Collection
//! stores), and the HTML search page with snippets and facets.

use axum::http::StatusCode;
use axum::response::Response;
use beffroi_model::Language;
use beffroi_model::catalog::{METADATA, query_stems, search_text, snippet};
use beffroi_model::schema::QueryPart;
use beffroi_service::query::{
    DATE_INDEXES, MAX_DEPTH, QueryBase, criterion_values, date_arg, index_params, site_path, sort_on,
};
use beffroi_service::{CatalogQuery, DateIndex, ItemRow, ItemView, PathQuery, SearchPage, SortOn, Summary, with_text};
use chrono::{DateTime, Duration, Utc};
use minijinja::context;
use serde_json::{Map, Value, json};

use crate::error::WebError;
use crate::traverse::Ctx;

/// Default batch of search results, as plone.restapi's.
const DEFAULT_BATCH: i64 = 25;
/// Largest `b_start` (beyond any real result set, far from overflowing arithmetic).
const MAX_START: i64 = 1_000_000_000;

/// How results are shown beyond the summary.
#[derive(Debug, Default)]
pub(crate) struct Shape {
    pub metadata: Vec<String>,
    pub fullobjects: bool,
}

fn bad(m: impl Into<String>) -> WebError {
    WebError::BadRequest(m.into())
}

/// A query the services refused, as the 400 it is.
fn svc(e: beffroi_service::ServiceError) -> WebError {
    WebError::BadRequest(e.to_string())
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
    for decl in ctx.app.services.types().indexes() {
        let name = &decl.name;
        let filters = index_params(decl, &all(name), &all(&format!("{name}.query")), one(&format!("{name}.range")))
            .map_err(svc)?;
        q.index_filters.extend(filters);
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
            q.paths.push(PathQuery { path: site_path(&ctx.site, &ctx.base, &p).map_err(svc)?, depth });
        }
    }
    for &(name, index) in DATE_INDEXES {
        let values = all(&format!("{name}.query"));
        if values.is_empty() {
            continue;
        }
        let range = one(&format!("{name}.range")).unwrap_or("min:max");
        let dates: Vec<DateTime<Utc>> = values.iter().map(|v| date_arg(v)).collect::<Result<_, _>>().map_err(svc)?;
        let r = match (range, dates.as_slice()) {
            ("min", [a, ..]) => (index, Some(*a), None),
            ("max", [a, ..]) => (index, None, Some(*a)),
            ("min:max", [a, b, ..]) => (index, Some(*a), Some(*b)),
            _ => return Err(bad(format!("{name}.range must be min, max or min:max with as many dates"))),
        };
        q.ranges.push(r);
    }
    q.sort = sort_on(ctx.app.services.types().indexes(), one("sort_on").unwrap_or("")).map_err(svc)?;
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

/// plone.app.querystring criteria as a catalog query, relative to `view`.
pub(crate) async fn from_criteria(
    ctx: &Ctx<'_>,
    view: &ItemView,
    criteria: &[Value],
) -> Result<CatalogQuery, WebError> {
    ctx.app
        .services
        .criteria_query(&ctx.principal, query_base(ctx, view), criteria)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))
}

fn query_base<'a>(ctx: &'a Ctx<'_>, view: &'a ItemView) -> QueryBase<'a> {
    QueryBase { site: &ctx.site, item: &view.item.path, url_base: &ctx.base }
}

/// The value of metadata column `name` of a result: the platform's columns from the
/// summary, the others from the field of the item's type that declares it.
fn metadata_value(ctx: &Ctx<'_>, name: &str, s: &Summary, row: Option<&ItemRow>) -> Value {
    let iso = |d: &DateTime<Utc>| Value::String(crate::json::iso(d));
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
        "Subject" => match row.and_then(|r| r.fields.get("subjects")) {
            None | Some(Value::Null) => json!([]),
            Some(v) => v.clone(),
        },
        "Language" => row.map(|r| Value::String(r.language.code().to_owned())).unwrap_or(Value::Null),
        _ => row
            .and_then(|r| {
                let field = ctx.app.services.types().get(&r.type_name)?.metadata_field(name)?;
                r.fields.get(&field.name).cloned()
            })
            .unwrap_or(Value::Null),
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
        let declared = ctx.app.services.types().metadata_columns();
        let names: Vec<&str> = if shape.metadata.iter().any(|m| m == "_all") {
            METADATA.iter().copied().chain(declared).collect()
        } else {
            shape.metadata.iter().map(String::as_str).filter(|m| METADATA.contains(m) || declared.contains(m)).collect()
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
    let page = run(ctx, q).await?;
    results_json(ctx, self_url(ctx), &page, &shape, start, size).await
}

/// A number as JSON gives it, or as text (Volto's listing block sends `"b_size": "3"`).
fn number_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::Deserialize;
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| serde::de::Error::custom("expected an integer")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            s.trim().parse().map(Some).map_err(|_| serde::de::Error::custom(format!("expected an integer, not {s:?}")))
        }
        Some(other) => Err(serde::de::Error::custom(format!("expected an integer, not {other}"))),
    }
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
    #[serde(default, deserialize_with = "number_or_text")]
    b_start: Option<i64>,
    #[serde(default, deserialize_with = "number_or_text")]
    b_size: Option<i64>,
    #[serde(default, deserialize_with = "number_or_text")]
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
    let mut q = from_criteria(ctx, view, &b.query).await?;
    q.sort = sort_on(ctx.app.services.types().indexes(), b.sort_on.as_deref().unwrap_or("")).map_err(svc)?;
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
        metadata: b.metadata_fields.as_ref().map(criterion_values).unwrap_or_default(),
        fullobjects: b.fullobjects.as_ref().is_some_and(|v| matches!(v, Value::Bool(true)) || v.as_i64() == Some(1)),
    };
    let mut page = run(ctx, q).await?;
    if let Some(limit) = b.limit.filter(|l| *l > 0) {
        page.total = page.total.min(limit);
    }
    results_json(ctx, self_url(ctx), &page, &shape, start, size).await
}

/// Runs a catalog query as the caller (what they may see), a refusal as the HTTP error
/// it means.
pub(crate) async fn run(ctx: &Ctx<'_>, q: CatalogQuery) -> Result<SearchPage, WebError> {
    ctx.app.services.search(&ctx.principal, &ctx.site, q).await.map_err(|e| WebError::from_service(e, &ctx.request_url))
}

/// The stored query of a Collection, with its sort; None when it has no criteria.
pub(crate) async fn collection_query(ctx: &Ctx<'_>, view: &ItemView) -> Result<Option<CatalogQuery>, WebError> {
    ctx.app
        .services
        .stored_query(&ctx.principal, query_base(ctx, view), &view.item)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))
}

/// One page of a Collection's results, the limit its type's field declares applied.
pub(crate) async fn collection_page(
    ctx: &Ctx<'_>,
    view: &ItemView,
    start: i64,
    size: i64,
) -> Result<SearchPage, WebError> {
    let Some(mut q) = collection_query(ctx, view).await? else {
        return Ok(SearchPage { items: Vec::new(), total: 0 });
    };
    let limit = ctx
        .app
        .services
        .types()
        .get(&view.item.type_name)
        .and_then(|t| t.query_setting(&view.item.fields, QueryPart::Limit))
        .and_then(Value::as_i64)
        .filter(|l| *l > 0);
    q.offset = start;
    q.limit = match limit {
        Some(l) => size.min((l - start).max(0)),
        None => size,
    };
    let mut page = run(ctx, q).await?;
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
    // The language searched: one of the site's (the search box of a page sends its
    // own); the page then speaks it.
    let searched = Language::parse(&one("Language")).ok().filter(|l| ctx.site.languages.contains(l));
    if let Some(l) = searched {
        q.languages = vec![l.code().to_owned()];
    }
    let lang = searched.unwrap_or(lang);
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
            lang => lang.code(),
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
            hidden => params.iter().filter(|(k, _)| k == "portal_type" || k == "Subject" || k == "modified" || k == "sort_on" || k == "Language").map(|(k, v)| context! { name => k.clone(), value => v.clone() }).collect::<Vec<_>>(),
        },
    )
}

/// The widget Volto draws for an operation (plone.app.querystring's names).
fn operation_widget(op: &str) -> Value {
    match op {
        "selection.any" | "selection.all" | "selection.is" => "MultipleSelectionWidget".into(),
        "string.is" | "string.contains" | "int.is" | "int.lessThan" | "int.largerThan" => "StringWidget".into(),
        "string.absolutePath" => "ReferenceWidget".into(),
        "string.relativePath" => "RelativePathWidget".into(),
        "date.lessThan" | "date.largerThan" => "DateWidget".into(),
        "date.between" | "int.between" => "DateRangeWidget".into(),
        "date.lessThanRelativeDate" | "date.largerThanRelativeDate" => "RelativeDateWidget".into(),
        _ => Value::Null,
    }
}

/// GET `@querystring`: the indexes a query (a listing block's, a Collection's) may
/// name, with their operations, titles and values in the site's language, and those
/// results may be sorted on, as plone.restapi describes them to Volto's query editor.
pub(crate) async fn querystring(ctx: &Ctx<'_>) -> Result<Value, WebError> {
    use beffroi_model::catalog::querystring::{INDEXES, PREFIX, fits, operations};
    let lang = ctx.site.language;
    let i18n = &ctx.app.i18n;
    let services = &ctx.app.services;
    let types = services.types();
    let dated = |index: &str| DATE_INDEXES.iter().any(|(name, _)| *name == index);
    let group = |index: &str| match index {
        _ if dated(index) => "Dates",
        "SearchableText" | "Subject" => "Text",
        _ => "Metadata",
    };
    let describe = |title: String, group: &str, ops: Vec<&str>, values: Value, sortable: bool| {
        let operators: Map<String, Value> = ops
            .iter()
            .map(|op| {
                let title = i18n.t(lang, &format!("qs-op-{}", op.replace('.', "-")), &[]);
                let short = op.rsplit('.').next().unwrap_or(op);
                let v = json!({
                    "title": title,
                    "description": null,
                    "operation": format!("plone.app.querystring.queryparser._{short}"),
                    "widget": operation_widget(op),
                });
                (format!("{PREFIX}{op}"), v)
            })
            .collect();
        json!({
            "title": title,
            "description": "",
            "enabled": true,
            "group": group,
            "operations": ops.iter().map(|op| format!("{PREFIX}{op}")).collect::<Vec<_>>(),
            "operators": operators,
            "sortable": sortable,
            "values": values,
            "vocabulary": null,
        })
    };
    // The values a selection offers: the platform vocabulary of its index.
    let vocabulary = |index: &str| match index {
        "portal_type" => Some("plone.app.vocabularies.ReallyUserFriendlyTypes"),
        "review_state" => Some("plone.app.vocabularies.WorkflowStates"),
        "Language" => Some("plone.app.vocabularies.SupportedContentLanguages"),
        _ => None,
    };
    let mut indexes = Map::new();
    for index in INDEXES {
        let ops: Vec<&str> = operations().filter(|op| fits(index, op)).collect();
        let values: Map<String, Value> = match vocabulary(index) {
            Some(name) => services
                .platform_terms(&ctx.principal, &ctx.site, name)
                .await
                .map_err(|e| WebError::from_service(e, &ctx.request_url))?
                .into_iter()
                .map(|t| (t.token, json!({ "title": t.title })))
                .collect(),
            None => Map::new(),
        };
        let title = i18n.t(lang, &format!("qs-index-{index}"), &[]);
        indexes.insert((*index).to_owned(), describe(title, group(index), ops, values.into(), dated(index)));
    }
    // The applications' indexes, under their own titles.
    for d in types.indexes().iter().filter(|d| !d.kind.operations().is_empty()) {
        let ops: Vec<&str> = d.kind.operations().to_vec();
        let sortable = sort_on(types.indexes(), &d.name).is_ok();
        indexes.insert(d.name.clone(), describe(d.title.get(lang).to_owned(), "Metadata", ops, json!({}), sortable));
    }
    // What results may be sorted on: the title, the position, the dates.
    let mut sortable = Map::new();
    let title_of = |key: &str| i18n.t(lang, key, &[]);
    sortable
        .insert("sortable_title".into(), describe(title_of("listing-col-title"), "Text", Vec::new(), json!({}), true));
    sortable.insert(
        "getObjPositionInParent".into(),
        describe(title_of("sort-position"), "Metadata", Vec::new(), json!({}), true),
    );
    for (name, v) in &indexes {
        if v["sortable"] == true {
            let mut v = v.clone();
            v["operations"] = json!([]);
            v["operators"] = json!({});
            sortable.insert(name.clone(), v);
        }
    }
    Ok(json!({
        "@id": format!("{}/@querystring", ctx.base),
        "indexes": indexes,
        "sortable_indexes": sortable,
    }))
}
