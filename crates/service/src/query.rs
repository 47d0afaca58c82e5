//! Catalog queries from what clients and stored items say: plone.app.querystring
//! criteria (`@querystring-search`, a Collection's stored query), the sort names of
//! plone.restapi, and the criteria on the indexes applications declare. The HTTP
//! layer, the CLI, feeds and applications build their queries here.

use beffroi_model::ItemPath;
use beffroi_model::catalog::querystring::PREFIX as QS;
use beffroi_model::schema::{IndexDecl, IndexKind, QueryPart};
use beffroi_model::security::Principal;
use beffroi_store::{
    CatalogQuery, DateIndex, IndexColumn, IndexFilter, IndexValue, ItemRow, PathQuery, SiteRow, SortOn,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::catalog::query_date;
use crate::{Result, ServiceError, Services};

/// Deepest `path.depth` that means anything (deeper is the whole subtree).
pub const MAX_DEPTH: i64 = 100;
/// Largest number of days in a relative date criterion (a century).
const MAX_DAYS: i64 = 36_500;
/// Most criteria a query takes.
pub const MAX_CRITERIA: usize = 50;

fn bad(m: impl Into<String>) -> ServiceError {
    ServiceError::BadRequest(m.into())
}

/// A date or date-time given in a query, or a clear refusal.
pub fn date_arg(s: &str) -> Result<DateTime<Utc>> {
    query_date(s).ok_or_else(|| bad(format!("{s:?} is not a date")))
}

/// What results are sorted on, by plone.restapi's names or a declared index's (not a
/// full-text one).
pub fn sort_on(indexes: &[IndexDecl], name: &str) -> Result<SortOn> {
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
        other => {
            let Some(decl) = indexes.iter().find(|d| d.name == other) else {
                return Err(bad(format!("cannot sort on {other:?}")));
            };
            let column = match decl.kind {
                IndexKind::Keyword | IndexKind::Boolean => IndexColumn::Word,
                IndexKind::Number => IndexColumn::Number,
                IndexKind::Date => IndexColumn::Date,
                IndexKind::Text => return Err(bad(format!("cannot sort on {other:?}: a full-text index"))),
            };
            SortOn::Index { index: decl.name.clone(), column }
        }
    })
}

/// The platform's date indexes, by plone.restapi's names (`start` and `end` hold what
/// the fields filling those metadata columns say).
pub const DATE_INDEXES: &[(&str, DateIndex)] = &[
    ("created", DateIndex::Created),
    ("modified", DateIndex::Modified),
    ("effective", DateIndex::Effective),
    ("expires", DateIndex::Expires),
    ("start", DateIndex::Start),
    ("end", DateIndex::End),
];

/// The platform's date index of that name.
pub fn date_index(name: &str) -> Option<DateIndex> {
    DATE_INDEXES.iter().find(|(n, _)| *n == name).map(|(_, i)| *i)
}

/// A path as a client names it: a URL under `url_base`, absolute with the site's id
/// ("/commune/a/b"), or from the site root ("/a/b").
pub fn site_path(site: &SiteRow, url_base: &str, raw: &str) -> Result<ItemPath> {
    let raw = raw.trim().trim_end_matches('/');
    let raw = raw.strip_prefix(url_base).unwrap_or(raw);
    let id = format!("/{}", site.id);
    let rel = match raw.strip_prefix(&id) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => raw,
    };
    ItemPath::parse(rel).map_err(|_| bad(format!("{raw:?} is not a path of this site")))
}

/// The values of a criterion, at most 100 (50 criteria × 100 values stay far below the
/// databases' limits on bound parameters).
pub fn criterion_values(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).take(100).collect(),
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        _ => Vec::new(),
    }
}

fn number(s: &str) -> Result<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| bad(format!("{s:?} is not a number")))
}

/// A bound of a declared index of `kind` from what a query gives.
fn bound(kind: IndexKind, s: &str) -> Result<IndexValue> {
    match kind {
        IndexKind::Number => Ok(IndexValue::Number(number(s)?)),
        IndexKind::Date => Ok(IndexValue::Date(date_arg(s)?)),
        _ => Ok(IndexValue::Word(s.to_owned())),
    }
}

/// `@search`'s parameters on a declared index: `name=value` (any of several), and for
/// dates and numbers `name.query` with `name.range` (min, max or min:max).
pub fn index_params(
    decl: &IndexDecl,
    values: &[String],
    query: &[String],
    range: Option<&str>,
) -> Result<Vec<IndexFilter>> {
    let index = decl.name.clone();
    let mut out = Vec::new();
    if !values.is_empty() {
        match decl.kind {
            IndexKind::Keyword => out.push(IndexFilter::AnyOf { index: index.clone(), words: values.to_vec() }),
            IndexKind::Boolean => {
                let words = values.iter().map(|v| truth(v)).collect::<Result<Vec<_>>>()?;
                out.push(IndexFilter::AnyOf { index: index.clone(), words });
            }
            IndexKind::Number | IndexKind::Date => {
                let v = bound(decl.kind, &values[0])?;
                out.push(IndexFilter::Between { index: index.clone(), from: Some(v.clone()), to: Some(v) });
            }
            IndexKind::Text => return Err(bad(format!("{index} is searched with SearchableText"))),
        }
    }
    if !query.is_empty() {
        if !matches!(decl.kind, IndexKind::Number | IndexKind::Date) {
            return Err(bad(format!("{index} takes no range")));
        }
        let b: Vec<IndexValue> = query.iter().map(|v| bound(decl.kind, v)).collect::<Result<_>>()?;
        let (from, to) = match (range.unwrap_or("min:max"), b.as_slice()) {
            ("min", [a, ..]) => (Some(a.clone()), None),
            ("max", [a, ..]) => (None, Some(a.clone())),
            ("min:max", [a, c, ..]) => (Some(a.clone()), Some(c.clone())),
            _ => return Err(bad(format!("{index}.range must be min, max or min:max with as many values"))),
        };
        out.push(IndexFilter::Between { index, from, to });
    }
    Ok(out)
}

fn truth(v: &str) -> Result<String> {
    match v.trim() {
        "1" | "true" | "True" => Ok("true".into()),
        "0" | "false" | "False" => Ok("false".into()),
        other => Err(bad(format!("{other:?} is neither true nor false"))),
    }
}

/// A criterion on a declared index: `op` is plone.app.querystring's operation without
/// its prefix.
fn index_criterion(decl: &IndexDecl, op: &str, v: &Value, now: DateTime<Utc>) -> Result<Vec<IndexFilter>> {
    let index = decl.name.clone();
    let list = criterion_values(v);
    let first = || list.first().map(String::as_str).ok_or_else(|| bad(format!("{op} on {index} takes a value")));
    let between = |from: Option<IndexValue>, to: Option<IndexValue>| {
        vec![IndexFilter::Between { index: index.clone(), from, to }]
    };
    let unsupported = || bad(format!("unsupported criterion {index} / {op}"));
    Ok(match decl.kind {
        IndexKind::Keyword => match op {
            "selection.any" | "selection.is" | "string.is" => vec![IndexFilter::AnyOf { index, words: list }],
            "selection.all" => {
                list.into_iter().map(|w| IndexFilter::AnyOf { index: index.clone(), words: vec![w] }).collect()
            }
            _ => return Err(unsupported()),
        },
        IndexKind::Boolean => match op {
            "boolean.isTrue" => vec![IndexFilter::AnyOf { index, words: vec!["true".into()] }],
            "boolean.isFalse" => vec![IndexFilter::AnyOf { index, words: vec!["false".into()] }],
            _ => return Err(unsupported()),
        },
        IndexKind::Number => {
            let n = |s: &str| number(s).map(IndexValue::Number);
            match op {
                "int.is" => between(Some(n(first()?)?), Some(n(first()?)?)),
                "int.lessThan" => between(None, Some(n(first()?)?)),
                "int.largerThan" => between(Some(n(first()?)?), None),
                "int.between" => match list.as_slice() {
                    [a, b] => between(Some(n(a)?), Some(n(b)?)),
                    _ => return Err(bad("int.between takes two numbers")),
                },
                _ => return Err(unsupported()),
            }
        }
        IndexKind::Date => {
            let (from, to) = date_range(op, &list, v, now)?;
            between(from.map(IndexValue::Date), to.map(IndexValue::Date))
        }
        IndexKind::Text => return Err(unsupported()),
    })
}

/// A range's optional bounds.
type Bounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The bounds of a date criterion (plone.app.querystring's date operations).
fn date_range(op: &str, list: &[String], v: &Value, now: DateTime<Utc>) -> Result<Bounds> {
    let today = now.date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let days = || -> Result<Duration> {
        list.first()
            .and_then(|d| d.parse::<i64>().ok())
            .or(v.as_i64())
            .filter(|d| d.abs() <= MAX_DAYS)
            .map(Duration::days)
            .ok_or_else(|| bad(format!("a number of days, at most {MAX_DAYS}")))
    };
    let first = || list.first().ok_or_else(|| bad("a date"));
    Ok(match op {
        "date.lessThan" => (None, Some(date_arg(first()?)?)),
        "date.largerThan" => (Some(date_arg(first()?)?), None),
        "date.between" => match list {
            [a, b] => (Some(date_arg(a)?), Some(date_arg(b)?)),
            _ => return Err(bad("date.between takes two dates")),
        },
        "date.today" => (Some(today), Some(today + Duration::days(1))),
        "date.afterToday" => (Some(now), None),
        "date.beforeToday" => (None, Some(now)),
        "date.lessThanRelativeDate" => (Some(now), Some(now + days()?)),
        "date.largerThanRelativeDate" => (Some(now - days()?), Some(now)),
        other => return Err(bad(format!("unknown date operation {other:?}"))),
    })
}

/// Where a query's criteria are read: the item they are relative to, and the URL
/// under which the client names the site's items.
#[derive(Debug, Clone, Copy)]
pub struct QueryBase<'a> {
    pub site: &'a SiteRow,
    pub item: &'a ItemPath,
    pub url_base: &'a str,
}

impl Services {
    /// plone.app.querystring criteria as a catalog query, for `actor`
    /// (`string.currentUser`) relative to `base.item` (`string.relativePath`).
    pub async fn criteria_query(
        &self,
        actor: &Principal,
        base: QueryBase<'_>,
        criteria: &[Value],
    ) -> Result<CatalogQuery> {
        if criteria.len() > MAX_CRITERIA {
            return Err(bad(format!("at most {MAX_CRITERIA} criteria")));
        }
        // Paths may be given by the UID of their folder, as Plone's path widget stores them.
        let uids: Vec<uuid::Uuid> = criteria
            .iter()
            .filter(|c| c.get("i").and_then(Value::as_str) == Some("path"))
            .flat_map(|c| criterion_values(c.get("v").unwrap_or(&Value::Null)))
            .filter_map(|raw| uuid::Uuid::try_parse(raw.split_once("::").map_or(raw.as_str(), |(p, _)| p)).ok())
            .collect();
        let by_uid = if uids.is_empty() { Default::default() } else { self.paths_of(base.site, &uids).await? };
        let mut q = CatalogQuery::default();
        let now = Utc::now();
        for c in criteria {
            let index = c.get("i").and_then(Value::as_str).ok_or_else(|| bad("a criterion without \"i\""))?;
            let op = c.get("o").and_then(Value::as_str).ok_or_else(|| bad("a criterion without \"o\""))?;
            let op = op.strip_prefix(QS).unwrap_or(op);
            let v = c.get("v").unwrap_or(&Value::Null);
            let values = || criterion_values(v);
            match (index, op) {
                ("SearchableText", _) => {
                    let text = values().join(" ");
                    q = crate::with_text(q, &text);
                }
                ("portal_type", "selection.any" | "selection.is" | "string.is") => q.types.extend(values()),
                ("review_state", "selection.any" | "selection.is" | "string.is") => q.states.extend(values()),
                ("Subject", "selection.any" | "selection.all" | "selection.is" | "string.is") => {
                    q.subjects.extend(values())
                }
                ("Creator", "string.currentUser") => q.creators.push(actor.id().to_owned()),
                ("Creator", "string.is" | "selection.any") => q.creators.extend(values()),
                ("Language", _) => q.languages.extend(values()),
                ("path", "string.absolutePath" | "string.relativePath" | "string.path") => {
                    let mut unknown = false;
                    let before = q.paths.len();
                    for raw in values() {
                        let (p, depth) = match raw.split_once("::") {
                            Some((p, d)) => {
                                (p.to_owned(), d.parse::<i64>().ok().filter(|d| *d >= 0).map(|d| d.min(MAX_DEPTH)))
                            }
                            None => (raw.clone(), None),
                        };
                        let path = if op == "string.relativePath" {
                            let mut at = base.item.clone();
                            for seg in p.split('/').filter(|s| !s.is_empty() && *s != ".") {
                                at = if seg == ".." {
                                    at.parent().unwrap_or_else(ItemPath::root)
                                } else {
                                    ItemPath::parse(&format!("{}/{seg}", at.as_str()))
                                        .map_err(|_| bad("bad relative path"))?
                                };
                            }
                            at
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
                            site_path(base.site, base.url_base, &p)?
                        };
                        q.paths.push(PathQuery { path, depth });
                    }
                    if unknown && q.paths.len() == before {
                        // Only folders that are gone: nothing can match.
                        q.nothing = true;
                    }
                }
                (i, op) if date_index(i).is_some() => {
                    let (from, to) = date_range(op, &values(), v, now)?;
                    q.ranges.push((date_index(i).expect("checked"), from, to));
                }
                (i, op) => match self.types.index(i) {
                    Some(decl) => q.index_filters.extend(index_criterion(decl, op, v, now)?),
                    None => return Err(bad(format!("unsupported criterion {i} / {op}"))),
                },
            }
        }
        Ok(q)
    }

    /// The query of a listing block (Volto's `querystring`: `query` criteria,
    /// `sort_on`, `sort_order`, `limit` or `b_size`, numbers or numbers as text) on the
    /// item showing it: the query with its sort, and how many results it shows (at
    /// most 100, 10 when unsaid). None without criteria.
    pub async fn block_query(
        &self,
        actor: &Principal,
        base: QueryBase<'_>,
        querystring: &Value,
    ) -> Result<Option<(CatalogQuery, i64)>> {
        let criteria = match querystring.get("query") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            _ => return Ok(None),
        };
        let mut q = self.criteria_query(actor, base, criteria).await?;
        let sort = querystring.get("sort_on").and_then(Value::as_str).unwrap_or("");
        q.sort = sort_on(self.types.indexes(), sort)?;
        q.descending = match querystring.get("sort_order") {
            Some(Value::String(o)) => o == "descending" || o == "reverse",
            Some(Value::Bool(b)) => *b,
            _ => querystring.get("sort_order_boolean").and_then(Value::as_bool).unwrap_or(false),
        };
        let number = |k: &str| match querystring.get(k) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let shown = number("limit").filter(|n| *n > 0).or_else(|| number("b_size").filter(|n| *n > 0)).unwrap_or(10);
        Ok(Some((q, shown.min(100))))
    }

    /// The stored query of an item whose type has a query field (a Collection), with
    /// the sort its type's fields declare; None when it has no criteria. The limit is
    /// the caller's to apply (it caps the total a page reports).
    pub async fn stored_query(
        &self,
        actor: &Principal,
        base: QueryBase<'_>,
        item: &ItemRow,
    ) -> Result<Option<CatalogQuery>> {
        let Some(t) = self.types.get(&item.type_name) else { return Ok(None) };
        let Some(field) = t.query_field() else { return Ok(None) };
        let f = &item.fields;
        let criteria = match f.get(&field.name) {
            Some(Value::Array(a)) if !a.is_empty() => a,
            _ => return Ok(None),
        };
        let mut q = self.criteria_query(actor, base, criteria).await?;
        let setting = |part| t.query_setting(f, part);
        let sort = setting(QueryPart::SortOn).and_then(Value::as_str).unwrap_or("");
        q.sort = sort_on(self.types.indexes(), sort)?;
        q.descending = setting(QueryPart::SortReversed).and_then(Value::as_bool).unwrap_or(false);
        Ok(Some(q))
    }
}
