//! plone.restapi's serialization: one common envelope for every item plus a value per
//! schema field, so a new type gets its JSON for free; and the named endpoints.

use axum::response::IntoResponse;
use beffroi_model::Language;
use beffroi_model::blocks::{BLOCKS, LAYOUT};
use beffroi_model::schema::{FieldKind, SITE_ROOT_TYPE};
use beffroi_service::{ItemRow, ItemView, Listing, LockView, Summary};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::error::WebError;
use crate::traverse::Ctx;

pub fn iso(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn opt_iso(dt: &Option<DateTime<Utc>>) -> Value {
    dt.as_ref().map(|d| Value::String(iso(d))).unwrap_or(Value::Null)
}

/// Plone's UIDs are 32 hex digits without dashes.
pub(crate) fn uid(u: &uuid::Uuid) -> String {
    u.simple().to_string()
}

pub(crate) fn type_title(ctx: &Ctx<'_>, type_name: &str, lang: Language) -> String {
    if type_name == SITE_ROOT_TYPE {
        return SITE_ROOT_TYPE.to_owned();
    }
    ctx.app
        .services
        .types()
        .get(type_name)
        .map(|t| t.title.get(lang).to_owned())
        .unwrap_or_else(|| type_name.to_owned())
}

pub(crate) fn summary(ctx: &Ctx<'_>, s: &Summary) -> Value {
    let (image_field, image_scales) = crate::media::listing_image(s.image.as_ref());
    json!({
        "@id": ctx.url(&s.path),
        "@type": s.type_name,
        "description": s.description,
        "image_field": image_field,
        "image_scales": image_scales,
        "review_state": s.review_state,
        "title": s.title,
        "type_title": type_title(ctx, &s.type_name, ctx.site.language),
    })
}

fn parent_json(ctx: &Ctx<'_>, parent: Option<&ItemRow>, visible: bool) -> Value {
    match parent {
        None => json!({}),
        Some(p) if !visible => json!({"@id": ctx.url(&p.path), "@type": p.type_name}),
        Some(p) if p.path.is_root() => json!({
            "@id": ctx.base,
            "@type": SITE_ROOT_TYPE,
            "description": p.description,
            "title": ctx.site.title,
            "type_title": SITE_ROOT_TYPE,
        }),
        Some(p) => json!({
            "@id": ctx.url(&p.path),
            "@type": p.type_name,
            "description": p.description,
            "review_state": p.review_state,
            "title": p.title,
            "type_title": type_title(ctx, &p.type_name, p.language),
        }),
    }
}

/// The request URL with `b_start` and `b_size` set, other parameters kept.
fn batch_url(ctx: &Ctx<'_>, start: i64, size: i64) -> String {
    let mut params: Vec<(String, String)> =
        ctx.query.iter().filter(|(k, _)| k != "b_start" && k != "b_size").cloned().collect();
    params.push(("b_start".into(), start.to_string()));
    params.push(("b_size".into(), size.to_string()));
    let qs: Vec<String> = params
        .iter()
        .map(|(k, v)| {
            let enc = |s: &str| percent_encoding::utf8_percent_encode(s, crate::traverse::QUERY_ENCODE).to_string();
            format!("{}={}", enc(k), enc(v))
        })
        .collect();
    format!("{}?{}", ctx.request_url, qs.join("&"))
}

/// plone.restapi's `batching` object, present only when there is more than one batch.
pub(crate) fn batching(ctx: &Ctx<'_>, total: i64, start: i64, size: i64) -> Option<Value> {
    if total <= size {
        return None;
    }
    let last = ((total - 1) / size) * size;
    let mut b = Map::new();
    b.insert("@id".into(), batch_url(ctx, start, size).into());
    b.insert("first".into(), batch_url(ctx, 0, size).into());
    b.insert("last".into(), batch_url(ctx, last, size).into());
    if start + size < total {
        b.insert("next".into(), batch_url(ctx, start + size, size).into());
    }
    if start > 0 {
        b.insert("prev".into(), batch_url(ctx, (start - size).max(0), size).into());
    }
    Some(Value::Object(b))
}

/// The full serialization of an item (GET with `Accept: application/json`).
/// The lock as a viewer sees it: None for anonymous visitors (who cannot edit, and
/// whose page views need no lock query), else the lock in force, if any.
pub(crate) async fn lock_for(ctx: &Ctx<'_>, view: &ItemView) -> Result<Option<Option<LockView>>, WebError> {
    if ctx.principal == beffroi_model::security::Principal::Anonymous {
        return Ok(None);
    }
    let l = ctx
        .app
        .services
        .lock_of(&ctx.principal, view)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    Ok(Some(l))
}

/// plone.restapi's lock object; who holds a lock and since when only for those the
/// service shows it whole to.
pub(crate) fn lock_json(ctx: &Ctx<'_>, l: Option<&LockView>) -> Value {
    match l {
        None => json!({"locked": false, "stealable": true}),
        Some(LockView::Bare { stealable }) => json!({"locked": true, "stealable": stealable}),
        Some(LockView::Full(l)) => json!({
            "locked": true,
            "stealable": l.stealable,
            "creator": l.creator,
            "creator_name": l.creator,
            "creator_url": format!("{}/author/{}", ctx.base, l.creator),
            "created": iso(&l.created),
            "time": l.created.timestamp() as f64,
            "timeout": l.timeout_secs,
            "name": "plone.locking.stealable",
            "token": if ctx.principal.id() == l.creator { Value::String(l.token.clone()) } else { Value::Null },
        }),
    }
}

pub(crate) fn item(
    ctx: &Ctx<'_>,
    view: &ItemView,
    listing: Option<(&Listing, i64, i64)>,
    lock: Option<&Option<LockView>>,
) -> Value {
    let it = &view.item;
    let url = ctx.url(&it.path);
    let mut m = Map::new();
    let root = it.path.is_root();
    m.insert("@components".into(), Value::Object(ctx.app.routes.components(&url, |r| ctx.has_route(r))));
    m.insert("@id".into(), url.clone().into());
    m.insert("@type".into(), it.type_name.clone().into());
    m.insert("UID".into(), uid(&it.uuid).into());
    m.insert("allow_discussion".into(), false.into());
    m.insert("contributors".into(), json!([]));
    m.insert("creators".into(), json!([it.creator]));
    m.insert("description".into(), it.description.clone().into());
    m.insert("effective".into(), opt_iso(&it.effective));
    m.insert("exclude_from_nav".into(), it.exclude_from_nav.into());
    m.insert("expires".into(), opt_iso(&it.expires));
    if let Some(l) = lock {
        m.insert("lock".into(), lock_json(ctx, l.as_ref()));
    }
    let parent_visible =
        view.parent().is_some_and(|p| view.visible_ancestors(&ctx.principal).iter().any(|a| a.uuid == p.uuid));
    m.insert("parent".into(), parent_json(ctx, view.parent(), parent_visible));
    m.insert("relatedItems".into(), json!([]));
    m.insert("review_state".into(), it.review_state.clone().into());
    m.insert("rights".into(), it.fields.get("rights").cloned().unwrap_or_else(|| "".into()));
    m.insert("subjects".into(), it.fields.get("subjects").cloned().unwrap_or_else(|| json!([])));
    m.insert("working_copy".into(), Value::Null);
    m.insert("working_copy_of".into(), Value::Null);
    let schema = ctx.app.services.types().get(&it.type_name);
    if root {
        m.insert("id".into(), ctx.site.id.as_str().into());
        m.insert("title".into(), ctx.site.title.clone().into());
        m.insert("is_folderish".into(), true.into());
        m.insert("language".into(), json!({"title": it.language.native_name(), "token": it.language.code()}));
        // Composed of blocks, it is a page (Volto then draws its blocks); else a listing.
        let layout = if beffroi_model::blocks::has_blocks(&it.fields) { "document_view" } else { "listing_view" };
        m.insert("layout".into(), layout.into());
        m.insert("table_of_contents".into(), Value::Null);
        m.insert("text".into(), Value::Null);
        m.insert("type_title".into(), SITE_ROOT_TYPE.into());
        for key in [BLOCKS, LAYOUT] {
            if let Some(v) = it.fields.get(key) {
                m.insert(key.into(), v.clone());
            }
        }
    } else {
        m.insert("id".into(), it.id.clone().into());
        m.insert("title".into(), it.title.clone().into());
        m.insert("created".into(), iso(&it.created).into());
        m.insert("modified".into(), iso(&it.modified).into());
        m.insert("is_folderish".into(), schema.is_some_and(|s| s.folderish).into());
        m.insert("language".into(), it.language.code().into());
        m.insert("type_title".into(), type_title(ctx, &it.type_name, it.language).into());
        m.insert("version".into(), "current".into());
        m.insert("next_item".into(), json!({}));
        m.insert("previous_item".into(), json!({}));
        if let Some(s) = schema {
            let shown = layout(s, &it.fields);
            m.insert("layout".into(), if ctx.via_api { served_layout(shown) } else { shown }.into());
            if s.behaviors.iter().any(|b| b == "versioning") {
                m.insert("changeNote".into(), "".into());
                m.insert("versioning_enabled".into(), true.into());
            }
            // Every schema field gets a value, null when unset.
            for f in &s.fields {
                if m.contains_key(&f.name) {
                    continue;
                }
                let v = it.fields.get(&f.name).cloned().unwrap_or(Value::Null);
                let v = match f.kind {
                    FieldKind::File | FieldKind::Image => {
                        match serde_json::from_value::<beffroi_model::media::StoredFile>(v) {
                            Ok(file) => crate::media::field_json(&url, &f.name, f.kind, &file),
                            Err(_) => Value::Null,
                        }
                    }
                    _ => v,
                };
                m.insert(f.name.clone(), v);
            }
        }
    }
    // An item that may have blocks and has none stored yet is served to Volto the
    // blocks that stand for it (its text as blocks; the site root's title and contents).
    if let Some((blocks, layout)) = ctx.via_api.then(|| crate::blocks::standing_in(ctx, view)).flatten() {
        m.insert(BLOCKS.into(), blocks);
        m.insert(LAYOUT.into(), layout);
    }
    if let Some((l, start, size)) = listing {
        m.insert("items".into(), l.items.iter().map(|s| summary(ctx, s)).collect());
        m.insert("items_total".into(), l.total.into());
        if let Some(b) = batching(ctx, l.total, start, size) {
            m.insert("batching".into(), b);
        }
    }
    Value::Object(m)
}

/// A body that may be absent: empty, blank or `null` give the default.
pub(crate) fn parse_optional_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, WebError> {
    let trimmed = body.trim_ascii();
    if trimmed.is_empty() || trimmed == b"null" { Ok(T::default()) } else { parse_body(trimmed) }
}

pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WebError> {
    serde_json::from_slice(body).map_err(|e| WebError::BadRequest(format!("invalid JSON body: {e}")))
}

/// 201 with the new resource's URL in Location, as plone.restapi answers a creation.
pub(crate) fn created(v: Value) -> axum::response::Response {
    let location = v["@id"].as_str().unwrap_or_default().to_owned();
    let mut res = crate::traverse::json_answer(&v);
    *res.status_mut() = axum::http::StatusCode::CREATED;
    if let Ok(l) = axum::http::HeaderValue::from_str(&location) {
        res.headers_mut().insert(axum::http::header::LOCATION, l);
    }
    res
}

/// 201 with the item just made at `path`, as a GET would give it.
pub(crate) async fn created_item(
    ctx: &Ctx<'_>,
    path: &beffroi_model::ItemPath,
) -> Result<axum::response::Response, WebError> {
    let new_view = ctx
        .app
        .services
        .item(&beffroi_model::security::Principal::System, &ctx.site, path)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    let lock = lock_for(ctx, &new_view).await?;
    Ok(created(item(ctx, &new_view, None, lock.as_ref())))
}

#[derive(serde::Deserialize)]
struct Ordering {
    obj_id: String,
    delta: serde_json::Value,
}

/// The ETag a GET of this item's JSON (first batch) would carry now, for `If-Match`.
async fn current_etag(ctx: &Ctx<'_>, view: &ItemView) -> Result<String, WebError> {
    let listing = if view.is_folderish(ctx.app.services.types()) {
        Some(
            ctx.app
                .services
                .children(&ctx.principal, &ctx.site, view, 0, 25)
                .await
                .map_err(|e| WebError::from_service(e, &ctx.request_url))?,
        )
    } else {
        None
    };
    let lock = lock_for(ctx, view).await?;
    let v = item(ctx, view, listing.as_ref().map(|l| (l, 0, 25)), lock.as_ref());
    Ok(crate::traverse::etag_of(&crate::traverse::json_body(&v), crate::traverse::JSON))
}

/// plone.restapi's content writes: POST creates inside this folder (201 + Location),
/// PATCH changes fields, the id, or the order of a folder's children (204), DELETE
/// removes the item and everything inside it (204). `If-Match` with a stale version
/// answers 412 and changes nothing.
pub(crate) async fn content_write(
    ctx: &Ctx<'_>,
    view: &ItemView,
    method: &axum::http::Method,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<axum::response::Response, WebError> {
    use axum::http::{Method, StatusCode, header};
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let services = &ctx.app.services;
    let path = &view.item.path;
    let lock_token = headers.get("lock-token").and_then(|v| v.to_str().ok());
    if let Some(tag) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
        && tag.trim() != "*"
    {
        let now = current_etag(ctx, view).await?;
        if !tag.split(',').any(|t| t.trim().trim_start_matches("W/") == now.trim_start_matches("W/")) {
            return Err(WebError::PreconditionFailed);
        }
    }
    match *method {
        Method::POST => {
            let mut values: Map<String, Value> = parse_body(body)?;
            let type_name = match values.remove("@type") {
                Some(Value::String(t)) => t,
                _ => return Err(WebError::BadRequest("@type is required".into())),
            };
            let id = match values.remove("id") {
                Some(Value::String(i)) => Some(i),
                Some(Value::Null) | None => None,
                Some(_) => return Err(WebError::BadRequest("id must be a string".into())),
            };
            crate::links::internalize(ctx, &mut values).await?;
            let item = services
                .create(&ctx.principal, &ctx.site, path, &type_name, id.as_deref(), &values)
                .await
                .map_err(err)?;
            created_item(ctx, &item.path).await
        }
        Method::PATCH => {
            let mut values: Map<String, Value> = parse_body(body)?;
            if let Some(o) = values.remove("ordering") {
                let o: Ordering =
                    serde_json::from_value(o).map_err(|e| WebError::BadRequest(format!("ordering: {e}")))?;
                let delta = match &o.delta {
                    Value::String(s) if s == "top" => beffroi_service::Delta::Top,
                    Value::String(s) if s == "bottom" => beffroi_service::Delta::Bottom,
                    Value::Number(n) if n.is_i64() => beffroi_service::Delta::By(n.as_i64().unwrap_or(0)),
                    Value::String(s) if s.parse::<i64>().is_ok() => beffroi_service::Delta::By(s.parse().unwrap_or(0)),
                    _ => return Err(WebError::BadRequest("ordering.delta is top, bottom or an integer".into())),
                };
                services.reorder(&ctx.principal, &ctx.site, path, &o.obj_id, delta).await.map_err(err)?;
            }
            let new_id = match values.remove("id") {
                Some(Value::String(i)) if i != view.item.id => Some(i),
                Some(Value::String(_)) | Some(Value::Null) | None => None,
                Some(_) => return Err(WebError::BadRequest("id must be a string".into())),
            };
            if !values.is_empty() {
                crate::blocks::complete(ctx, view, &mut values);
                crate::links::internalize(ctx, &mut values).await?;
                services.update_with_lock(&ctx.principal, &ctx.site, path, &values, lock_token).await.map_err(err)?;
            }
            if let Some(id) = new_id {
                services.rename(&ctx.principal, &ctx.site, path, &id).await.map_err(err)?;
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Method::DELETE => {
            services.delete_with_lock(&ctx.principal, &ctx.site, path, lock_token).await.map_err(err)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(WebError::MethodNotAllowed),
    }
}

/// The layout as Volto (asking through `++api++`) reads it: Beffroi's own listing
/// views (news newest first, events by month) as the Plone view closest to them that
/// Volto draws (summaries); the others as they are. Other clients, and Beffroi's
/// pages, get the view itself.
fn served_layout(layout: String) -> String {
    match layout.as_str() {
        crate::listing::NEWS | crate::listing::EVENTS => "summary_view".to_owned(),
        _ => layout,
    }
}

/// The view an item is shown with: the one its `layout` field chose among its type's,
/// else its type's first (Plone's default view).
pub(crate) fn layout(schema: &beffroi_model::schema::TypeSchema, fields: &serde_json::Map<String, Value>) -> String {
    fields
        .get("layout")
        .and_then(Value::as_str)
        .filter(|l| schema.layouts.iter().any(|x| x == l))
        .map(str::to_owned)
        .or_else(|| schema.layouts.first().cloned())
        .unwrap_or_else(|| "view".into())
}
