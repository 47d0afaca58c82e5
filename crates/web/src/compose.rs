//! The blocks editor of Beffroi's own screens (`@@blocks`): the blocks of a page (a
//! commune's home page, a Document) in order, each with the few fields its kind needs
//! — text in the rich-text editor, a listing's kind of content, folder, number and
//! order, a grid's pages one address per line, a search box's heading — and buttons to
//! move, remove and add blocks. No HTML to write and no JavaScript needed (the text
//! editor comes with it when there is some). Each button saves the whole form, in one
//! write; what this editor does not know of a block (Volto's settings) is kept.

use axum::http::StatusCode;
use axum::response::Response;
use beffroi_model::blocks::{self, BLOCKS, LAYOUT};
use beffroi_model::catalog::querystring::PREFIX;
use beffroi_service::{ItemView, ServiceError};
use minijinja::{Value, context};
use serde_json::{Map, Value as Json, json};

use crate::error::WebError;
use crate::traverse::Ctx;
use crate::views::{form_pairs, page};

/// The kinds of block this editor adds, in the order its menu offers them.
const ADDABLE: &[&str] = &["slate", "listing", "gridBlock", "search", "image", "separator", "title", "description"];

/// Listing orders offered: (sort_on, sort_order, label).
const SORTS: &[(&str, &str, &str)] = &[
    ("effective", "descending", "sort-newest"),
    ("start", "ascending", "sort-upcoming"),
    ("sortable_title", "ascending", "sort-title"),
    ("getObjPositionInParent", "ascending", "sort-position"),
];

const VARIATIONS: &[&str] = &["summary", "default", "imageGallery"];

/// Most teasers one grid holds.
const MAX_TEASERS: usize = 12;

/// The blocks a page starts with in the editor: its own, or (none yet) those that
/// stand for it (see [`crate::blocks::standing_in`]).
fn current(ctx: &Ctx<'_>, view: &ItemView) -> (Map<String, Json>, Vec<String>) {
    let f = &view.item.fields;
    let stored = f.get(BLOCKS).and_then(Json::as_object).zip(f.get(LAYOUT).and_then(|l| l.get("items")));
    let (blocks, layout) = match (stored, crate::blocks::standing_in(ctx, view)) {
        (_, Some(standing)) => standing,
        (Some((b, items)), None) => (Json::Object(b.clone()), json!({ "items": items })),
        (None, None) => (json!({}), json!({"items": []})),
    };
    let ids = layout["items"].as_array().into_iter().flatten().filter_map(Json::as_str).map(str::to_owned).collect();
    (blocks.as_object().cloned().unwrap_or_default(), ids)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The path an address names in this site, as this editor shows it ("/services/x").
fn shown_path(ctx: &Ctx<'_>, url: &str) -> String {
    crate::blocks::site_path(ctx, url).map(|p| p.as_str().to_owned()).unwrap_or_else(|| url.to_owned())
}

/// Writes the posted fields of each block into it.
fn apply_fields(ctx: &Ctx<'_>, blocks: &mut Map<String, Json>, pairs: &[(String, String)]) {
    let get = |id: &str, field: &str| -> Option<String> {
        let key = format!("b.{id}.{field}");
        pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.trim().to_owned())
    };
    for (id, b) in blocks.iter_mut() {
        let Json::Object(o) = b else { continue };
        let kind = o.get("@type").and_then(Json::as_str).unwrap_or("").to_owned();
        match kind.as_str() {
            "slate" => {
                if let Some(html) = get(id, "html") {
                    let nodes = blocks::html_slate(&beffroi_model::richtext::sanitize_html(&html));
                    let block = blocks::slate_block(nodes);
                    o.insert("value".into(), block["value"].clone());
                    o.insert("plaintext".into(), block["plaintext"].clone());
                }
            }
            "html" => {
                if let Some(html) = get(id, "html") {
                    o.insert("html".into(), html.into());
                }
            }
            "search" => {
                if let Some(h) = get(id, "headline") {
                    o.insert("headline".into(), h.into());
                }
            }
            "image" => {
                for field in ["url", "alt"] {
                    if let Some(v) = get(id, field) {
                        o.insert(field.into(), v.into());
                    }
                }
                if let Some(size) = get(id, "size").filter(|s| matches!(s.as_str(), "s" | "m" | "l")) {
                    o.insert("size".into(), size.into());
                }
            }
            "listing" => {
                if let Some(h) = get(id, "headline") {
                    o.insert("headline".into(), h.into());
                }
                if let Some(v) = get(id, "variation").filter(|v| VARIATIONS.contains(&v.as_str())) {
                    o.insert("variation".into(), v.into());
                }
                // A form without this block's query fields leaves its query as it is.
                if get(id, "type").is_none() {
                    continue;
                }
                let mut qs = o.get("querystring").and_then(Json::as_object).cloned().unwrap_or_default();
                let mut query: Vec<Json> = qs.get("query").and_then(Json::as_array).cloned().unwrap_or_default();
                // The criteria this form edits are replaced; the others are kept.
                query.retain(|c| !matches!(c.get("i").and_then(Json::as_str), Some("portal_type" | "path")));
                if let Some(t) = get(id, "type").filter(|t| !t.is_empty()) {
                    query.insert(0, json!({"i": "portal_type", "o": format!("{PREFIX}selection.any"), "v": [t]}));
                }
                if let Some(p) = get(id, "path").filter(|p| !p.is_empty()) {
                    let path = shown_path(ctx, &p);
                    query.push(
                        json!({"i": "path", "o": format!("{PREFIX}string.absolutePath"), "v": format!("{path}::1")}),
                    );
                }
                if let Some((on, order, _)) = get(id, "sort").and_then(|s| SORTS.iter().find(|(on, _, _)| *on == s)) {
                    qs.insert("sort_on".into(), (*on).into());
                    qs.insert("sort_order".into(), (*order).into());
                }
                if let Some(n) = get(id, "limit").and_then(|n| n.parse::<i64>().ok()).filter(|n| (1..=50).contains(n)) {
                    qs.insert("b_size".into(), n.to_string().into());
                    qs.insert("limit".into(), n.to_string().into());
                }
                qs.insert("query".into(), query.into());
                o.insert("querystring".into(), Json::Object(qs));
            }
            "gridBlock" => {
                if let Some(h) = get(id, "headline") {
                    o.insert("headline".into(), h.into());
                }
                let Some(lines) = get(id, "targets") else { continue };
                let old: Map<String, Json> = o.get(BLOCKS).and_then(Json::as_object).cloned().unwrap_or_default();
                let mut inner = Map::new();
                let mut items = Vec::new();
                for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()).take(MAX_TEASERS) {
                    let path = shown_path(ctx, line);
                    // A teaser already there keeps its id and its settings.
                    let kept = old.iter().find(|(cid, c)| {
                        !inner.contains_key(*cid)
                            && c.get("href")
                                .and_then(|h| h.get(0))
                                .and_then(|t| t.get("@id"))
                                .and_then(Json::as_str)
                                .map(|u| shown_path(ctx, u))
                                .as_deref()
                                == Some(path.as_str())
                    });
                    let (cid, child) = match kept {
                        Some((cid, c)) => (cid.clone(), c.clone()),
                        None => (new_id(), json!({"@type": "teaser", "href": [{"@id": path}]})),
                    };
                    items.push(Json::String(cid.clone()));
                    inner.insert(cid, child);
                }
                o.insert(BLOCKS.into(), Json::Object(inner));
                o.insert(LAYOUT.into(), json!({ "items": items }));
            }
            _ => {}
        }
    }
}

/// A new block of `kind`, as Volto makes it.
fn new_block(kind: &str) -> Option<Json> {
    Some(match kind {
        "slate" => blocks::slate_block(json!([{"type": "p", "children": [{"text": ""}]}])),
        "listing" => json!({"@type": "listing", "variation": "summary", "querystring": {
            "query": [], "sort_on": "effective", "sort_order": "descending", "b_size": "3", "limit": "3"}}),
        "gridBlock" => json!({"@type": "gridBlock", "blocks": {}, "blocks_layout": {"items": []}}),
        "search" => json!({"@type": "search", "showSearchInput": true, "query": {"query": []}}),
        "image" => json!({"@type": "image", "size": "l", "align": "center"}),
        "separator" | "title" | "description" => json!({ "@type": kind }),
        _ => return None,
    })
}

/// The fields of one block as the form shows them.
fn block_form(ctx: &Ctx<'_>, id: &str, b: &Map<String, Json>, position: usize, count: usize) -> Value {
    let lang = ctx.site.language;
    let kind = b.get("@type").and_then(Json::as_str).unwrap_or("").to_owned();
    let text = |k: &str| b.get(k).and_then(Json::as_str).unwrap_or("").to_owned();
    // What it adds, and the blocks it only shows (an HTML block, the lead image).
    let known = ADDABLE.contains(&kind.as_str()) || matches!(kind.as_str(), "html" | "leadimage");
    let label_key = if known { format!("block-kind-{kind}") } else { "block-kind-other".to_owned() };
    let base = context! {
        id => id,
        kind => kind.clone(),
        label => ctx.app.i18n.t(lang, &label_key, &[("kind", kind.clone().into())]),
        known => known,
        first => position == 0,
        last => position + 1 == count,
        number => position + 1,
    };
    let fields = match kind.as_str() {
        "slate" => context! { html => blocks::slate_html(b.get("value").unwrap_or(&Json::Null)) },
        "html" => context! { html => text("html") },
        "search" => context! { headline => text("headline") },
        "image" => context! {
            url => b.get("url").and_then(Json::as_str).map(|u| shown_path(ctx, u)).unwrap_or_default(),
            alt => text("alt"),
            size => b.get("size").and_then(Json::as_str).unwrap_or("l"),
        },
        "listing" => {
            let qs = b.get("querystring");
            let query: Vec<&Json> =
                qs.and_then(|q| q.get("query")).and_then(Json::as_array).into_iter().flatten().collect();
            let criterion = |i: &str| query.iter().find(|c| c.get("i").and_then(Json::as_str) == Some(i));
            let chosen_type = criterion("portal_type")
                .and_then(|c| c.get("v"))
                .and_then(|v| v.as_array().and_then(|a| a.first()).or(Some(v)))
                .and_then(Json::as_str)
                .unwrap_or("");
            let path = criterion("path").and_then(|c| c.get("v")).and_then(Json::as_str).unwrap_or("");
            let path = path.split("::").next().unwrap_or("").to_owned();
            let others = query
                .iter()
                .filter(|c| !matches!(c.get("i").and_then(Json::as_str), Some("portal_type" | "path")))
                .count();
            let sort = qs.and_then(|q| q.get("sort_on")).and_then(Json::as_str).unwrap_or("effective");
            let number = |k: &str| match qs.and_then(|q| q.get(k)) {
                Some(Json::String(s)) => s.parse::<i64>().ok(),
                Some(Json::Number(n)) => n.as_i64(),
                _ => None,
            };
            let types = ctx.app.services.types();
            let type_options: Vec<Value> = types
                .all()
                .iter()
                .filter(|t| t.addable && ctx.type_rules.has(&t.id))
                .map(|t| context! { value => t.id.clone(), label => t.title.get(lang).to_owned(), selected => t.id == chosen_type })
                .collect();
            let sorts: Vec<Value> = SORTS
                .iter()
                .map(|(on, _, key)| context! { value => *on, label => ctx.app.i18n.t(lang, key, &[]), selected => *on == sort })
                .collect();
            let variation = b.get("variation").and_then(Json::as_str).unwrap_or("summary");
            let variations: Vec<Value> = VARIATIONS
                .iter()
                .map(|v| context! { value => *v, label => ctx.app.i18n.t(lang, &format!("variation-{v}"), &[]), selected => *v == variation })
                .collect();
            context! {
                headline => text("headline"),
                types => type_options,
                path => path,
                limit => number("limit").or_else(|| number("b_size")).unwrap_or(10),
                sorts => sorts,
                variations => variations,
                others => others,
            }
        }
        "gridBlock" => {
            let targets: Vec<String> = match (b.get(BLOCKS), b.get(LAYOUT)) {
                (Some(inner), Some(layout)) => blocks::ordered(inner, layout)
                    .filter_map(|(_, c)| c.get("href")?.get(0)?.get("@id")?.as_str().map(|u| shown_path(ctx, u)))
                    .collect(),
                _ => Vec::new(),
            };
            context! { headline => text("headline"), targets => targets.join("\n") }
        }
        _ => context! {},
    };
    context! { ..base, ..fields }
}

/// GET and POST `@@blocks`.
pub(crate) async fn compose(ctx: &Ctx<'_>, view: &ItemView, body: Option<&[u8]>) -> Result<Response, WebError> {
    let lang = ctx.site.language;
    let item_url = ctx.url(&view.item.path);
    let action = format!("{item_url}/@@blocks");
    let (mut all, mut ids) = current(ctx, view);
    let mut error = None;
    if let Some(body) = body {
        let pairs = form_pairs(body)?;
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
        apply_fields(ctx, &mut all, &pairs);
        let op = get("op");
        let (verb, target) = op.split_once(':').unwrap_or((op, ""));
        let at = ids.iter().position(|i| i == target);
        match (verb, at) {
            ("up", Some(n)) if n > 0 => ids.swap(n, n - 1),
            ("down", Some(n)) if n + 1 < ids.len() => ids.swap(n, n + 1),
            ("delete", Some(n)) => {
                let gone = ids.remove(n);
                all.remove(&gone);
            }
            ("add", _) => {
                if let Some(b) = new_block(get("new_kind")) {
                    let id = new_id();
                    all.insert(id.clone(), b);
                    ids.push(id);
                }
            }
            _ => {}
        }
        // Blocks the layout no longer names are not kept.
        all.retain(|id, _| ids.contains(id));
        let mut values = Map::new();
        values.insert(BLOCKS.into(), Json::Object(all.clone()));
        values.insert(LAYOUT.into(), json!({ "items": ids }));
        match ctx.app.services.update(&ctx.principal, &ctx.site, &view.item.path, &values).await {
            Ok(_) if verb == "save" => return Ok(crate::views::done(&item_url, crate::views::Status::Saved)),
            Ok(_) => {
                // Back to the form, at the block just moved or added.
                let anchor = match verb {
                    "add" => ids.last().cloned(),
                    "delete" => None,
                    _ => Some(target.to_owned()),
                };
                let to = anchor.map_or_else(|| action.clone(), |a| format!("{action}#block-{a}"));
                return Ok(crate::views::done(&to, crate::views::Status::Saved));
            }
            Err(e @ (ServiceError::Invalid(_) | ServiceError::BadRequest(_))) => error = Some(e.to_string()),
            Err(e) => return Err(WebError::from_service(e, &ctx.request_url)),
        }
    }
    let count = ids.len();
    let forms: Vec<Value> = ids
        .iter()
        .enumerate()
        .filter_map(|(n, id)| Some(block_form(ctx, id, all.get(id)?.as_object()?, n, count)))
        .collect();
    let kinds: Vec<Value> = ADDABLE
        .iter()
        .map(|k| context! { value => *k, label => ctx.app.i18n.t(lang, &format!("block-kind-{k}"), &[]) })
        .collect();
    let title = crate::html::item_title(ctx, &view.item);
    page(
        ctx,
        if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK },
        "compose.html",
        context! {
            title => ctx.app.i18n.t(lang, "compose-title", &[("title", title.into())]),
            action => action,
            cancel_url => item_url,
            blocks => forms,
            kinds => kinds,
            error => error,
            richtext => true,
        },
    )
}
