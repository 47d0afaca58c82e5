//! An item composed of Volto's blocks, as Beffroi's own pages show it: each common
//! block (text, title, description, image, teaser, grid, listing, search, table, HTML,
//! video and map as links, separator) becomes what `blocks.html` draws, so a site
//! edited in Volto also works without it. Listings and teasers are read with the
//! visitor's rights: a block pointing at what they may not see shows nothing.

use std::collections::HashMap;

use beffroi_model::ItemPath;
use beffroi_model::blocks::{self, BLOCKS, LAYOUT, safe_url};
use beffroi_model::schema::{LOCATION_COLUMN, WHOLE_DAY_COLUMN};
use beffroi_service::{CatalogQuery, ItemView, PathQuery, Summary};
use minijinja::{Value, context};
use serde_json::{Map, Value as Json};

use crate::error::WebError;
use crate::traverse::Ctx;

/// Most teasers and images of one page looked up.
const MAX_TARGETS: usize = 200;

/// The blocks of `view` as its page draws them, in their order; None when it has none
/// (its page then shows its fields).
pub(crate) async fn shown(ctx: &Ctx<'_>, view: &ItemView) -> Result<Option<Vec<Value>>, WebError> {
    let fields = &view.item.fields;
    if !blocks::has_blocks(fields) {
        return Ok(None);
    }
    let (all, layout) = (&fields[BLOCKS], &fields[LAYOUT]);
    // The items teasers and images point at, read at once with the visitor's rights.
    let mut wanted = Vec::new();
    for (_, b) in blocks::ordered(all, layout) {
        targets(ctx, b, &mut wanted);
        if let (Some(inner), Some(inner_layout)) = (b.get(BLOCKS), b.get(LAYOUT)) {
            for (_, c) in blocks::ordered(inner, inner_layout) {
                targets(ctx, c, &mut wanted);
            }
        }
    }
    wanted.truncate(MAX_TARGETS);
    let found = find(ctx, &wanted).await?;
    let mut out = Vec::new();
    for (id, b) in blocks::ordered(all, layout) {
        if let Some(v) = one(ctx, view, id, b, &found, true).await? {
            out.push(v);
        }
    }
    Ok(Some(out))
}

/// The blocks that stand for an item that may have blocks but has none stored: a
/// classic item's text as blocks (Volto shows a page's text only through blocks), as
/// plone.volto's migration makes them; the site root's title and a listing of its
/// contents, as its own page shows it. None when it has blocks, or may have none.
/// Made for Volto (requests through `++api++`) and its edits only: other clients read
/// the item's own fields, and are spared reading its text into blocks.
pub(crate) fn standing_in(ctx: &Ctx<'_>, view: &ItemView) -> Option<(Json, Json)> {
    let it = &view.item;
    let schema = ctx.app.services.types().get(&it.type_name)?;
    schema.field(BLOCKS)?;
    if it.fields.get(BLOCKS).is_some_and(|b| !b.is_null()) && it.fields.get(LAYOUT).is_some_and(|l| !l.is_null()) {
        return None;
    }
    if it.path.is_root() {
        let blocks = serde_json::json!({
            "beffroi-title": {"@type": "title"},
            "beffroi-contents": {"@type": "listing", "variation": "default", "querystring": {
                "query": [{"i": "path", "o": "plone.app.querystring.operation.string.relativePath", "v": ".::1"}],
                "sort_on": "getObjPositionInParent", "sort_order": "ascending"}},
        });
        return Some((blocks, serde_json::json!({"items": ["beffroi-title", "beffroi-contents"]})));
    }
    let text = schema.rich_text_fields().next().and_then(|f| it.fields.get(&f.name));
    Some(blocks::from_rich_text(text.and_then(crate::links::rich_html), lead_image(ctx, view).is_some()))
}

/// The item's lead image (its type's image field that is not its main value), when it
/// has one: the field's name.
fn lead_image<'a>(ctx: &'a Ctx<'_>, view: &ItemView) -> Option<&'a str> {
    let schema = ctx.app.services.types().get(&view.item.type_name)?;
    let f = schema.fields.iter().find(|f| f.kind == beffroi_model::schema::FieldKind::Image && !f.primary)?;
    view.item.fields.get(&f.name).filter(|v| !v.is_null()).map(|_| f.name.as_str())
}

/// A write of one of an item's two block fields while it has none stored (Volto sends
/// only what changed: the blocks, not their unchanged order) gets the other from the
/// blocks that stood for it: the order they had, then any block it does not name; or
/// the blocks a new order names.
pub(crate) fn complete(ctx: &Ctx<'_>, view: &ItemView, values: &mut Map<String, Json>) {
    let (has_blocks, has_layout) = (values.contains_key(BLOCKS), values.contains_key(LAYOUT));
    if has_blocks == has_layout {
        return;
    }
    let Some((blocks, layout)) = standing_in(ctx, view) else { return };
    if has_blocks {
        let Some(written) = values[BLOCKS].as_object() else { return };
        let mut items: Vec<Json> = layout["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|id| id.as_str().is_some_and(|id| written.contains_key(id)))
            .cloned()
            .collect();
        for id in written.keys() {
            if !items.iter().any(|i| i.as_str() == Some(id.as_str())) {
                items.push(Json::String(id.clone()));
            }
        }
        values.insert(LAYOUT.into(), serde_json::json!({ "items": items }));
    } else {
        values.insert(BLOCKS.into(), blocks);
    }
}

/// The path in this site a block's address names: the site's own URLs (as Volto stores
/// them, under its own host or this one's, `++api++` or not), site-relative paths.
pub(crate) fn site_path(ctx: &Ctx<'_>, url: &str) -> Option<ItemPath> {
    let url = url.trim();
    if url.is_empty() || url.starts_with('#') || url.starts_with("mailto:") || url.starts_with("tel:") {
        return None;
    }
    let rel = match url.strip_prefix(ctx.base.as_str()) {
        Some(rel) if rel.is_empty() || rel.starts_with('/') => rel.to_owned(),
        _ if url.starts_with("http://") || url.starts_with("https://") => {
            let path = crate::html::url_path(url);
            let base_path = crate::html::url_path(&ctx.base);
            match path.strip_prefix(base_path.trim_end_matches('/')) {
                Some(rest) if base_path != "/" && (rest.is_empty() || rest.starts_with('/')) => rest.to_owned(),
                _ => path,
            }
        }
        _ if url.starts_with('/') => {
            let base_path = crate::html::url_path(&ctx.base);
            match url.strip_prefix(base_path.trim_end_matches('/')) {
                Some(rest) if base_path != "/" && (rest.is_empty() || rest.starts_with('/')) => rest.to_owned(),
                _ => url.to_owned(),
            }
        }
        _ => format!("/{url}"),
    };
    let rel = rel.split(['?', '#']).next().unwrap_or("");
    let rel: Vec<&str> = rel.split('/').filter(|s| !s.is_empty() && *s != "++api++").collect();
    // An image's address may name its scale: the item is before the view.
    let end = rel.iter().position(|s| s.starts_with("@@") || s.starts_with('@')).unwrap_or(rel.len());
    ItemPath::parse(&format!("/{}", rel[..end].join("/"))).ok()
}

/// The address a teaser, a button or an image points at.
fn target_url(b: &Map<String, Json>) -> Option<&str> {
    match b.get("@type").and_then(Json::as_str)? {
        "image" => b.get("url").and_then(Json::as_str),
        _ => b.get("href").and_then(|h| match h {
            Json::Array(a) => a.first().and_then(|t| t.get("@id")).and_then(Json::as_str),
            Json::String(s) => Some(s.as_str()),
            _ => None,
        }),
    }
}

fn targets(ctx: &Ctx<'_>, b: &Map<String, Json>, out: &mut Vec<ItemPath>) {
    if let Some(p) = target_url(b).and_then(|u| site_path(ctx, u))
        && !p.is_root()
        && !out.contains(&p)
    {
        out.push(p);
    }
}

async fn find(ctx: &Ctx<'_>, paths: &[ItemPath]) -> Result<HashMap<ItemPath, Summary>, WebError> {
    if paths.is_empty() {
        return Ok(HashMap::new());
    }
    let q = CatalogQuery {
        paths: paths.iter().map(|p| PathQuery { path: p.clone(), depth: Some(0) }).collect(),
        limit: paths.len() as i64,
        ..Default::default()
    };
    let page = crate::search::run(ctx, q).await?;
    Ok(page.items.into_iter().map(|s| (s.path.clone(), s)).collect())
}

fn text(b: &Map<String, Json>, key: &str) -> String {
    b.get(key).and_then(Json::as_str).unwrap_or("").trim().to_owned()
}

/// What `blocks.html` draws for one block; None for a block it does not know or that
/// shows nothing to this visitor. `top`: not inside a container.
async fn one(
    ctx: &Ctx<'_>,
    view: &ItemView,
    id: &str,
    b: &Map<String, Json>,
    found: &HashMap<ItemPath, Summary>,
    top: bool,
) -> Result<Option<Value>, WebError> {
    let kind = b.get("@type").and_then(Json::as_str).unwrap_or("");
    let target = target_url(b).and_then(|u| site_path(ctx, u));
    let block = match kind {
        "title" => context! { kind => "title" },
        "leadimage" => {
            let Some(field) = lead_image(ctx, view) else { return Ok(None) };
            let src = format!("{}/@@images/{field}/preview", ctx.url(&view.item.path));
            context! { kind => "image", src => src, alt => "", align => "right", size => "preview" }
        }
        "description" => context! { kind => "description" },
        "slate" => {
            let html = blocks::slate_html(b.get("value").unwrap_or(&Json::Null));
            if html.is_empty() {
                return Ok(None);
            }
            context! { kind => "text", html => Value::from_safe_string(html) }
        }
        "text" => context! { kind => "text", html => Value::from_safe_string(draft_html(b.get("text"))) },
        "html" => {
            let html = beffroi_model::richtext::sanitize_html(&text(b, "html"));
            context! { kind => "text", html => Value::from_safe_string(html) }
        }
        "image" => {
            let alt = text(b, "alt");
            let size = match b.get("size").and_then(Json::as_str) {
                Some("s") => "mini",
                Some("m") => "preview",
                _ => "large",
            };
            let src = match &target {
                Some(p) if found.contains_key(p) => format!("{}/@@images/image/{size}", ctx.url(p)),
                Some(_) => return Ok(None),
                None => match b.get("url").and_then(Json::as_str) {
                    Some(u) if u.starts_with("https://") || u.starts_with("http://") => u.to_owned(),
                    _ => return Ok(None),
                },
            };
            let align = b
                .get("align")
                .and_then(Json::as_str)
                .filter(|a| matches!(*a, "left" | "right" | "center" | "wide" | "full"))
                .unwrap_or("center");
            context! { kind => "image", src => src, alt => alt, align => align, size => size }
        }
        "teaser" | "__button" => {
            let Some(s) = target.as_ref().and_then(|p| found.get(p)) else { return Ok(None) };
            let url = ctx.url(&s.path);
            let title = Some(text(b, "title")).filter(|t| !t.is_empty()).unwrap_or_else(|| s.title.clone());
            let description =
                Some(text(b, "description")).filter(|t| !t.is_empty()).unwrap_or_else(|| s.description.clone());
            let image = s.image.as_ref().map(|_| format!("{url}/@@images/image/preview"));
            let kind = if kind == "teaser" { "teaser" } else { "button" };
            context! { kind => kind, url => url, title => title, description => description, image => image }
        }
        "gridBlock" | "__grid" | "container" if top => {
            let (Some(inner), Some(layout)) = (b.get(BLOCKS), b.get(LAYOUT)) else { return Ok(None) };
            let mut children = Vec::new();
            for (cid, c) in blocks::ordered(inner, layout) {
                if let Some(v) = Box::pin(one(ctx, view, cid, c, found, false)).await? {
                    children.push(v);
                }
            }
            if children.is_empty() {
                return Ok(None);
            }
            let columns = children.len().min(4);
            context! { kind => "grid", headline => text(b, "headline"), children => children, columns => columns }
        }
        "listing" => return listing(ctx, view, id, b).await,
        "search" => context! {
            kind => "search",
            headline => text(b, "headline"),
            action => format!("{}/@@search", ctx.base),
            field_id => format!("search-{id}"),
        },
        "slateTable" | "table" => {
            let rows: Vec<Value> = b
                .get("table")
                .and_then(|t| t.get("rows"))
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .map(|r| {
                    let cells: Vec<Value> = r
                        .get("cells")
                        .and_then(Json::as_array)
                        .into_iter()
                        .flatten()
                        .map(|c| {
                            let html = match c.get("value") {
                                Some(v @ Json::Array(_)) => blocks::slate_html(v),
                                other => draft_html(other),
                            };
                            let header = c.get("type").and_then(Json::as_str) == Some("header");
                            context! { header => header, html => Value::from_safe_string(html) }
                        })
                        .collect();
                    Value::from(cells)
                })
                .collect();
            if rows.is_empty() {
                return Ok(None);
            }
            context! { kind => "table", rows => rows }
        }
        "video" | "maps" => {
            let url = text(b, "url");
            if !(url.starts_with("https://") || url.starts_with("http://")) || !safe_url(&url) {
                return Ok(None);
            }
            let key = if kind == "video" { "block-video" } else { "block-map" };
            context! { kind => "link", url => url, label => ctx.app.i18n.t(ctx.site.language, key, &[]) }
        }
        "separator" => context! { kind => "separator" },
        _ => return Ok(None),
    };
    Ok(Some(block))
}

/// A listing block: the items its query finds (with the visitor's rights), as
/// summaries with their date and image; events with their date and place.
async fn listing(ctx: &Ctx<'_>, view: &ItemView, id: &str, b: &Map<String, Json>) -> Result<Option<Value>, WebError> {
    let services = &ctx.app.services;
    let lang = view.item.language;
    let base = beffroi_service::query::QueryBase { site: &ctx.site, item: &view.item.path, url_base: &ctx.base };
    let qs = b.get("querystring").cloned().unwrap_or(Json::Null);
    // A query that no longer fits (an index renamed) shows nothing rather than failing
    // the page; the editor sees why when they edit the block.
    let (mut q, shown) = match services.block_query(&ctx.principal, base, &qs).await {
        Ok(Some(found)) => found,
        // Without criteria, as Volto's: what the item holds, in its order.
        Ok(None) => {
            let q = CatalogQuery {
                paths: vec![PathQuery { path: view.item.path.clone(), depth: Some(1) }],
                sort: beffroi_service::SortOn::Position,
                ..Default::default()
            };
            (q, 10)
        }
        Err(beffroi_service::ServiceError::BadRequest(why)) => {
            tracing::debug!(block = id, %why, "listing block skipped");
            return Ok(None);
        }
        Err(e) => return Err(WebError::from_service(e, &ctx.request_url)),
    };
    q.limit = shown;
    let page = crate::search::run(ctx, q).await?;
    let types = services.types();
    let is_event = |s: &Summary| types.get(&s.type_name).is_some_and(|t| t.is_event());
    let rows = if page.items.iter().any(is_event) {
        services.result_rows(&ctx.site, &page.items).await.map_err(|e| WebError::from_service(e, &ctx.request_url))?
    } else {
        Vec::new()
    };
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|s| {
            let entry = crate::listing::entry(ctx, lang, s, true);
            let row = rows.iter().find(|r| r.uuid == s.uuid).filter(|_| is_event(s));
            let Some((row, schema)) = row.and_then(|r| Some((r, types.get(&r.type_name)?))) else { return entry };
            let (Some(start), _) = schema.date_range(&row.fields) else { return entry };
            let whole_day = schema.column_flag(&row.fields, WHOLE_DAY_COLUMN);
            let place = schema.column_value(&row.fields, LOCATION_COLUMN).and_then(Json::as_str).unwrap_or("");
            context! {
                when => crate::listing::long_date(ctx, lang, &start, !whole_day),
                when_iso => crate::json::iso(&start),
                place => place,
                ..entry
            }
        })
        .collect();
    let variation = match b.get("variation").and_then(Json::as_str) {
        Some("imageGallery") => "album",
        Some("default") => "list",
        _ => "summary",
    };
    let headline_tag = match b.get("headlineTag").and_then(Json::as_str) {
        Some("h3") => "h3",
        _ => "h2",
    };
    Ok(Some(context! {
        kind => "listing",
        headline => text(b, "headline"),
        headline_tag => headline_tag,
        variation => variation,
        items => items,
        id => format!("listing-{id}"),
    }))
}

/// Safe HTML of the older Volto's draft.js text: paragraphs, headings, lists, quotes.
fn draft_html(v: Option<&Json>) -> String {
    let mut out = String::new();
    let mut list: Option<&str> = None;
    for d in v.and_then(|t| t.get("blocks")).and_then(Json::as_array).into_iter().flatten() {
        let t = blocks::escape(d.get("text").and_then(Json::as_str).unwrap_or(""));
        let kind = d.get("type").and_then(Json::as_str).unwrap_or("unstyled");
        let item_of = match kind {
            "unordered-list-item" => Some("ul"),
            "ordered-list-item" => Some("ol"),
            _ => None,
        };
        if list != item_of {
            if let Some(l) = list {
                out.push_str(&format!("</{l}>"));
            }
            if let Some(l) = item_of {
                out.push_str(&format!("<{l}>"));
            }
            list = item_of;
        }
        let tag = match kind {
            "header-one" | "header-two" => "h2",
            "header-three" => "h3",
            "header-four" => "h4",
            "blockquote" => "blockquote",
            _ if item_of.is_some() => "li",
            _ => "p",
        };
        out.push_str(&format!("<{tag}>{t}</{tag}>"));
    }
    if let Some(l) = list {
        out.push_str(&format!("</{l}>"));
    }
    out
}

/// Fills the teasers of a served item (`v`, its JSON) from the items they point at, as
/// plone.restapi does: the target's address, title, description and image in `href`,
/// and its title and description on the teaser unless the editor overwrote them. A
/// target the caller may not see is left as stored. Whether there were teasers (what
/// is served then changes with other items).
pub(crate) async fn fill_teasers(ctx: &Ctx<'_>, v: &mut Json) -> Result<bool, WebError> {
    let mut wanted = Vec::new();
    collect_teasers(v.get(BLOCKS), 0, &mut |b| targets(ctx, b, &mut wanted));
    if wanted.is_empty() {
        return Ok(false);
    }
    wanted.truncate(MAX_TARGETS);
    let found = find(ctx, &wanted).await?;
    fill_teasers_in(ctx, v.get_mut(BLOCKS), 0, &found);
    Ok(true)
}

fn collect_teasers(blocks: Option<&Json>, depth: usize, f: &mut dyn FnMut(&Map<String, Json>)) {
    let Some(Json::Object(map)) = blocks else { return };
    for b in map.values().filter_map(Json::as_object) {
        if b.get("@type").and_then(Json::as_str) == Some("teaser") {
            f(b);
        }
        if depth < blocks::MAX_DEPTH {
            collect_teasers(b.get(BLOCKS), depth + 1, f);
        }
    }
}

fn fill_teasers_in(ctx: &Ctx<'_>, blocks: Option<&mut Json>, depth: usize, found: &HashMap<ItemPath, Summary>) {
    let Some(Json::Object(map)) = blocks else { return };
    for b in map.values_mut() {
        let Json::Object(o) = b else { continue };
        if o.get("@type").and_then(Json::as_str) == Some("teaser")
            && let Some(s) = target_url(o).and_then(|u| site_path(ctx, u)).and_then(|p| found.get(&p))
        {
            let mut target = crate::json::summary(ctx, s);
            target["hasPreviewImage"] = s.image.is_some().into();
            if o.get("overwrite").and_then(Json::as_bool) != Some(true) {
                o.insert("title".into(), s.title.clone().into());
                o.insert("description".into(), s.description.clone().into());
            }
            o.insert("href".into(), Json::Array(vec![target]));
        }
        if depth < blocks::MAX_DEPTH {
            fill_teasers_in(ctx, o.get_mut(BLOCKS), depth + 1, found);
        }
    }
}
