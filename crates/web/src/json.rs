//! plone.restapi's serialization: one common envelope for every item plus a value per
//! schema field, so a new type gets its JSON for free; and the named endpoints.

use axum::response::IntoResponse;
use beffroi_model::schema::{FieldKind, SITE_ROOT_TYPE};
use beffroi_model::{ItemPath, Language};
use beffroi_service::{ItemRow, ItemView, Listing, LockView, Summary};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::error::WebError;
use crate::traverse::Ctx;

pub(crate) fn iso(dt: &DateTime<Utc>) -> String {
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

fn components(url: &str) -> Value {
    json!({
        "history": {"@id": format!("{url}/@history")},
        "breadcrumbs": {"@id": format!("{url}/@breadcrumbs")},
        "navigation": {"@id": format!("{url}/@navigation")},
        "types": {"@id": format!("{url}/@types")},
        "workflow": {"@id": format!("{url}/@workflow")},
    })
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
fn lock_json(ctx: &Ctx<'_>, l: Option<&LockView>) -> Value {
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
    m.insert("@components".into(), components(&url));
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
        m.insert("layout".into(), "listing_view".into());
        m.insert("table_of_contents".into(), Value::Null);
        m.insert("text".into(), Value::Null);
        m.insert("type_title".into(), SITE_ROOT_TYPE.into());
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
            m.insert("layout".into(), s.layouts.first().cloned().unwrap_or_else(|| "view".into()).into());
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
    if let Some((l, start, size)) = listing {
        m.insert("items".into(), l.items.iter().map(|s| summary(ctx, s)).collect());
        m.insert("items_total".into(), l.total.into());
        if let Some(b) = batching(ctx, l.total, start, size) {
            m.insert("batching".into(), b);
        }
    }
    Value::Object(m)
}

/// Named endpoints (`@types`, `@breadcrumbs`, `@navigation`): always JSON.
pub(crate) async fn endpoint(ctx: &Ctx<'_>, view: &ItemView, name: &str, rest: &[String]) -> Result<Value, WebError> {
    let url = ctx.url(&view.item.path);
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let lang = view.item.language;
    match (name, rest) {
        ("@search", []) => crate::search::search_json(ctx, view).await,
        ("@querystring-search", []) => crate::search::querystring_search(ctx, view, None).await,
        ("@types", []) => {
            let here = (!view.item.path.is_root()).then_some(view.item.type_name.as_str());
            let types = ctx.app.services.types();
            let list: Vec<Value> = types
                .all()
                .iter()
                .map(|t| {
                    let addable = types.may_contain_with(&ctx.type_rules, here, &t.id);
                    json!({
                        "@id": format!("{}/@types/{}", ctx.base, t.id),
                        "addable": addable,
                        "id": t.id,
                        "immediately_addable": addable,
                        "title": t.title.get(lang),
                    })
                })
                .collect();
            Ok(Value::Array(list))
        }
        ("@types", [type_name]) => {
            let t =
                ctx.app.services.types().get(type_name).ok_or_else(|| WebError::NotFound(ctx.request_url.clone()))?;
            Ok(t.json_schema(lang))
        }
        ("@breadcrumbs", []) => {
            let items: Vec<Value> = view
                .visible_ancestors(&ctx.principal)
                .into_iter()
                .chain(std::iter::once(&view.item))
                .filter(|i| !i.path.is_root())
                .map(|i| json!({"@id": ctx.url(&i.path), "title": i.title}))
                .collect();
            Ok(json!({"@id": format!("{url}/@breadcrumbs"), "items": items, "root": ctx.base}))
        }
        ("@workflow", []) => {
            let info = ctx.app.services.workflow_info_of(&ctx.principal, &ctx.site, view).await.map_err(err)?;
            let history: Vec<Value> = info.history.iter().map(|(h, title)| history_json(h, title)).collect();
            let transitions: Vec<Value> = info
                .transitions
                .iter()
                .map(|(id, title)| json!({"@id": format!("{url}/@workflow/{id}"), "title": title}))
                .collect();
            let state = match &info.state {
                Some((id, title)) => json!({"id": id, "title": title}),
                None => Value::Null,
            };
            Ok(
                json!({"@id": format!("{url}/@workflow"), "history": history, "state": state, "transitions": transitions}),
            )
        }
        ("@history", []) => {
            let (revisions, wf, may_revert) =
                ctx.app.services.history(&ctx.principal, &ctx.site, &view.item.path).await.map_err(err)?;
            let actor = |id: &str| json!({"@id": format!("{}/@users/{id}", ctx.base), "id": id, "fullname": id, "username": id});
            // Sorted newest first by time to the microsecond, then by order of recording.
            let mut entries: Vec<((i64, usize), Value)> = Vec::new();
            for (i, r) in revisions.iter().enumerate() {
                entries.push((
                    (r.at.timestamp_micros(), i),
                    json!({
                        "@id": format!("{url}/@history/{}", r.version),
                        "action": "Edited",
                        "actor": actor(&r.actor),
                        "comments": r.comment,
                        "may_revert": may_revert,
                        "time": iso(&r.at),
                        "transition_title": "Edited",
                        "type": "versioning",
                        "version": r.version,
                    }),
                ));
            }
            for (i, (h, title)) in wf.iter().enumerate() {
                entries.push((
                    (h.at.timestamp_micros(), i),
                    json!({
                        "action": h.action,
                        "actor": actor(&h.actor),
                        "comments": h.comments,
                        "review_state": h.review_state,
                        "state_title": title,
                        "time": iso(&h.at),
                        "transition_title": h.action.clone().unwrap_or_else(|| "Create".into()),
                        "type": "workflow",
                    }),
                ));
            }
            entries.sort_by_key(|e| std::cmp::Reverse(e.0));
            Ok(Value::Array(entries.into_iter().map(|(_, v)| v).collect()))
        }
        ("@history", [version]) => {
            let n: i64 = version.parse().map_err(|_| WebError::NotFound(ctx.request_url.clone()))?;
            let rev = ctx.app.services.revision(&ctx.principal, &ctx.site, &view.item.path, n).await.map_err(err)?;
            let old = ItemView {
                item: beffroi_service::apply_snapshot(&view.item, &rev.snapshot),
                lineage: view.lineage.clone(),
                workflows: view.workflows.clone(),
            };
            let mut v = item(ctx, &old, None, None);
            v["version"] = json!(n);
            Ok(v)
        }
        ("@lock", []) => {
            let l = ctx.app.services.lock_status(&ctx.principal, &ctx.site, &view.item.path).await.map_err(err)?;
            Ok(lock_json(ctx, l.as_ref()))
        }
        ("@users", []) => {
            let users = ctx.app.services.list_users(&ctx.principal, &ctx.site).await.map_err(err)?;
            let mut items = Vec::with_capacity(users.len());
            for u in users {
                let (_, groups) = ctx.app.services.user_info(&ctx.principal, &ctx.site, &u.login).await.map_err(err)?;
                items.push(user_json(ctx, &u, &groups));
            }
            Ok(json!({"@id": format!("{}/@users", ctx.base), "items": items, "items_total": items.len()}))
        }
        ("@users", [login]) => {
            let (u, groups) = ctx.app.services.user_info(&ctx.principal, &ctx.site, login).await.map_err(err)?;
            Ok(user_json(ctx, &u, &groups))
        }
        ("@groups", []) => {
            let groups = ctx.app.services.list_groups(&ctx.principal, &ctx.site).await.map_err(err)?;
            Ok(Value::Array(groups.iter().map(|g| group_json(ctx, g)).collect()))
        }
        ("@groups", [id]) => {
            let g = ctx.app.services.group(&ctx.principal, &ctx.site, id).await.map_err(err)?;
            Ok(group_json(ctx, &g))
        }
        ("@sharing", []) => {
            let sharing = ctx.app.services.sharing(&ctx.principal, &ctx.site, &view.item.path).await.map_err(err)?;
            Ok(sharing_json(&sharing))
        }
        ("@navigation", []) => {
            let root = view.lineage.first().unwrap_or(&view.item);
            let nav = ctx.app.services.navigation(&ctx.principal, &ctx.site, root).await.map_err(err)?;
            let home = json!({
                "@id": ctx.base,
                "description": "",
                "items": [],
                "review_state": null,
                "title": ctx.app.i18n.t(lang, "home", &[]),
            });
            let items: Vec<Value> = std::iter::once(home)
                .chain(nav.iter().map(|s| {
                    json!({"@id": ctx.url(&s.path), "description": s.description, "items": [], "review_state": s.review_state, "title": s.title})
                }))
                .collect();
            Ok(json!({"@id": format!("{url}/@navigation"), "items": items}))
        }
        _ => Err(WebError::NotFound(ctx.request_url.clone())),
    }
}

/// A body that may be absent: empty, blank or `null` give the default.
fn parse_optional_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, WebError> {
    let trimmed = body.trim_ascii();
    if trimmed.is_empty() || trimmed == b"null" { Ok(T::default()) } else { parse_body(trimmed) }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WebError> {
    serde_json::from_slice(body).map_err(|e| WebError::BadRequest(format!("invalid JSON body: {e}")))
}

#[derive(serde::Deserialize)]
struct LoginBody {
    login: String,
    password: String,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TransitionBody {
    comment: Option<String>,
    effective: Option<String>,
    expires: Option<String>,
    #[serde(default)]
    include_children: bool,
}

/// One history entry in plone.restapi's shape.
fn history_json(h: &beffroi_service::HistoryRow, title: &str) -> Value {
    json!({
        "action": h.action,
        "actor": h.actor,
        "comments": h.comments,
        "review_state": h.review_state,
        "time": iso(&h.at),
        "title": title,
    })
}

#[derive(serde::Deserialize)]
struct NewUserBody {
    username: String,
    password: Option<String>,
    #[serde(default)]
    fullname: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(serde::Deserialize)]
struct NewGroupBody {
    groupname: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    users: Vec<String>,
}

fn parse_roles(names: &[String]) -> Result<Vec<beffroi_model::security::Role>, WebError> {
    names
        .iter()
        // Plone lists the automatic role too; it is implied here.
        .filter(|n| n.as_str() != "Authenticated")
        .map(|n| beffroi_model::security::Role::parse(n).map_err(|e| WebError::BadRequest(e.to_string())))
        .collect()
}

/// 201 with the new resource's URL in Location, as plone.restapi answers a creation.
fn created(v: Value) -> axum::response::Response {
    let location = v["@id"].as_str().unwrap_or_default().to_owned();
    let mut res = (
        axum::http::StatusCode::CREATED,
        [(axum::http::header::CONTENT_TYPE, crate::traverse::JSON)],
        crate::traverse::json_body(&v),
    )
        .into_response();
    if let Ok(l) = axum::http::HeaderValue::from_str(&location) {
        res.headers_mut().insert(axum::http::header::LOCATION, l);
    }
    res
}

fn user_json(ctx: &Ctx<'_>, u: &beffroi_service::UserRow, groups: &[String]) -> Value {
    let mut items = vec![json!({"id": "AuthenticatedUsers", "title": "AuthenticatedUsers"})];
    items.extend(groups.iter().map(|g| json!({"id": g, "title": g})));
    let url = format!("{}/@users/{}", ctx.base, u.login);
    json!({
        "@id": url,
        "id": u.login,
        "username": u.login,
        "fullname": u.fullname,
        "email": u.email,
        "description": "",
        "home_page": "",
        "location": "",
        "portrait": null,
        "roles": u.roles.iter().map(|r| r.name()).collect::<Vec<_>>(),
        "groups": {"@id": url, "items": items, "items_total": groups.len() + 1},
        "enabled": u.enabled,
    })
}

fn group_json(ctx: &Ctx<'_>, g: &beffroi_service::GroupRow) -> Value {
    let mut roles: Vec<&str> = g.roles.iter().map(|r| r.name()).collect();
    roles.push("Authenticated");
    json!({
        "@id": format!("{}/@groups/{}", ctx.base, g.id),
        "id": g.id,
        "groupname": g.id,
        "title": g.title,
        "description": g.description,
        "email": "",
        "roles": roles,
        "members": {"@id": format!("{}/@groups", ctx.base), "items": g.members, "items_total": g.members.len()},
    })
}

#[derive(serde::Deserialize)]
struct SharingBody {
    #[serde(default)]
    entries: Vec<SharingBodyEntry>,
    inherit: Option<bool>,
}

#[derive(serde::Deserialize)]
struct SharingBodyEntry {
    id: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    roles: std::collections::BTreeMap<String, bool>,
}

fn token_json(token: String) -> axum::response::Response {
    let v = json!({"token": token});
    ([(axum::http::header::CONTENT_TYPE, crate::traverse::JSON)], crate::traverse::json_body(&v)).into_response()
}

/// plone.restapi's `@sharing` GET body.
fn sharing_json(sharing: &beffroi_service::Sharing) -> Value {
    use beffroi_model::security::{Grantee, Role};
    use beffroi_service::RoleOrigin;
    let title = |r: Role| match r {
        Role::Contributor => "Can add",
        Role::Editor => "Can edit",
        Role::Reader => "Can view",
        Role::Reviewer => "Can review",
        _ => r.name(),
    };
    let available: Vec<Value> = sharing.available.iter().map(|r| json!({"id": r.name(), "title": title(*r)})).collect();
    let entries: Vec<Value> = sharing
        .entries
        .iter()
        .map(|e| {
            let (id, kind, login) = match &e.grantee {
                Grantee::User(l) => (l.clone(), "user", Value::String(l.clone())),
                Grantee::Group(g) => (g.clone(), "group", Value::Null),
            };
            let roles: Map<String, Value> = e
                .roles
                .iter()
                .map(|(r, o)| {
                    let v = match o {
                        RoleOrigin::No => Value::Bool(false),
                        RoleOrigin::Here => Value::Bool(true),
                        RoleOrigin::Inherited => Value::String("acquired".into()),
                    };
                    (r.name().to_owned(), v)
                })
                .collect();
            json!({"id": id, "type": kind, "login": login, "title": e.title, "disabled": false, "roles": roles})
        })
        .collect();
    json!({"available_roles": available, "entries": entries, "inherit": sharing.inherit})
}

/// Endpoints that take a POST with a JSON body.
pub(crate) async fn post_endpoint(
    ctx: &Ctx<'_>,
    view: &ItemView,
    name: &str,
    rest: &[String],
    body: &[u8],
) -> Result<axum::response::Response, WebError> {
    use axum::http::StatusCode;
    let err = |e| WebError::from_service(e, &ctx.request_url);
    match (name, rest) {
        ("@querystring-search", []) => {
            let v = crate::search::querystring_search(ctx, view, Some(body)).await?;
            Ok(([(axum::http::header::CONTENT_TYPE, crate::traverse::JSON)], crate::traverse::json_body(&v))
                .into_response())
        }
        ("@login", []) => {
            let b: LoginBody = parse_body(body)?;
            let p = crate::auth::outcome(
                ctx.app.services.login(&ctx.site, &b.login, &b.password, &ctx.client).await.map_err(err)?,
            )?;
            let (fullname, generation) = ctx
                .app
                .services
                .user(&ctx.site, p.id())
                .await
                .map_err(err)?
                .map(|u| (u.fullname, u.token_gen))
                .unwrap_or_default();
            tracing::info!(site.id = %ctx.site.id, user.id = p.id(), "login");
            Ok(token_json(crate::auth::issue(ctx.app, &ctx.site, p.id(), &fullname, generation)))
        }
        ("@login-renew", []) => {
            let crate::auth::Via::Bearer(claims) = &ctx.via else {
                return Err(WebError::Unauthenticated("A bearer token is required.".into()));
            };
            let generation = ctx.app.services.token_generation(&ctx.site, &claims.sub).await.map_err(err)?;
            let token = crate::auth::issue(ctx.app, &ctx.site, &claims.sub, &claims.fullname, generation);
            revoke(ctx, claims).await?;
            Ok(token_json(token))
        }
        ("@logout", []) => {
            let crate::auth::Via::Bearer(claims) = &ctx.via else {
                return Err(WebError::Unauthenticated("A bearer token is required.".into()));
            };
            revoke(ctx, claims).await?;
            tracing::info!(site.id = %ctx.site.id, user.id = %claims.sub, "logout");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        ("@workflow", [transition]) => {
            let b: TransitionBody = parse_optional_body(body)?;
            let date = |s: Option<String>, name: &str| -> Result<Option<DateTime<Utc>>, WebError> {
                s.filter(|s| !s.is_empty())
                    .map(|s| {
                        beffroi_model::schema::parse_datetime(&s)
                            .ok_or_else(|| WebError::BadRequest(format!("{name}: expected a date and time (ISO 8601)")))
                    })
                    .transpose()
            };
            let req = beffroi_service::TransitionRequest {
                comment: b.comment.unwrap_or_default(),
                effective: date(b.effective, "effective")?,
                expires: date(b.expires, "expires")?,
                include_children: b.include_children,
            };
            let h = ctx
                .app
                .services
                .transition(&ctx.principal, &ctx.site, &view.item.path, transition, req)
                .await
                .map_err(err)?;
            let info = ctx.app.services.workflow_info(&ctx.principal, &ctx.site, &view.item.path).await.map_err(err)?;
            let title = info.state.map(|(_, t)| t).unwrap_or_default();
            let v = history_json(&h, &title);
            Ok(([(axum::http::header::CONTENT_TYPE, crate::traverse::JSON)], crate::traverse::json_body(&v))
                .into_response())
        }
        ("@move", []) => move_into(ctx, view, body, false).await,
        ("@copy", []) => move_into(ctx, view, body, true).await,
        ("@lock", []) => {
            #[derive(serde::Deserialize, Default)]
            #[serde(deny_unknown_fields)]
            struct LockBody {
                stealable: Option<bool>,
                timeout: Option<i64>,
            }
            let b: LockBody = parse_optional_body(body)?;
            let l = ctx
                .app
                .services
                .lock(&ctx.principal, &ctx.site, &view.item.path, b.stealable.unwrap_or(true), b.timeout)
                .await
                .map_err(err)?;
            let v = lock_json(ctx, Some(&LockView::Full(l)));
            Ok(([(axum::http::header::CONTENT_TYPE, crate::traverse::JSON)], crate::traverse::json_body(&v))
                .into_response())
        }
        ("@users", []) => {
            let b: NewUserBody = parse_body(body)?;
            let login =
                beffroi_model::Login::parse(&b.username).map_err(|e| WebError::BadRequest(format!("username: {e}")))?;
            let roles = parse_roles(&b.roles)?;
            let password = b.password.ok_or_else(|| WebError::BadRequest("password is required".into()))?;
            let new = beffroi_service::NewUser {
                login: login.clone(),
                password: beffroi_service::Secret(password),
                fullname: b.fullname,
                email: b.email,
                roles,
            };
            ctx.app.services.create_user(&ctx.principal, &ctx.site, new).await.map_err(err)?;
            let (u, groups) =
                ctx.app.services.user_info(&ctx.principal, &ctx.site, login.as_str()).await.map_err(err)?;
            Ok(created(user_json(ctx, &u, &groups)))
        }
        ("@groups", []) => {
            let b: NewGroupBody = parse_body(body)?;
            let roles = parse_roles(&b.roles)?;
            let title = if b.title.is_empty() { b.groupname.clone() } else { b.title };
            ctx.app
                .services
                .create_group_with(&ctx.principal, &ctx.site, &b.groupname, &title, &b.description, roles, &b.users)
                .await
                .map_err(err)?;
            let g = ctx.app.services.group(&ctx.principal, &ctx.site, &b.groupname).await.map_err(err)?;
            Ok(created(group_json(ctx, &g)))
        }
        ("@sharing", []) => {
            use beffroi_model::security::{AUTHENTICATED_USERS, Grantee, Role};
            let b: SharingBody = parse_body(body)?;
            let mut change = beffroi_service::SharingChange { entries: Vec::new(), inherit: b.inherit };
            for e in b.entries {
                // Plone's clients send the logged-in users group with "type": "user".
                let grantee = match e.kind.as_deref() {
                    _ if e.id == AUTHENTICATED_USERS => Grantee::Group(e.id),
                    Some("group") => Grantee::Group(e.id),
                    Some("user") | None => Grantee::User(e.id),
                    Some(other) => return Err(WebError::BadRequest(format!("unknown entry type {other:?}"))),
                };
                let mut roles = Vec::new();
                for (name, on) in e.roles {
                    let r = Role::parse(&name).map_err(|e| WebError::BadRequest(e.to_string()))?;
                    roles.push((r, on));
                }
                change.entries.push((grantee, roles));
            }
            ctx.app.services.update_sharing(&ctx.principal, &ctx.site, &view.item.path, change).await.map_err(err)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(WebError::NotFound(ctx.request_url.clone())),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    fullname: Option<String>,
    email: Option<String>,
    roles: Option<Vec<String>>,
    password: Option<String>,
    /// The current password, when users change their own (plone.restapi's name).
    old_password: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GroupPatch {
    title: Option<String>,
    description: Option<String>,
    roles: Option<Vec<String>>,
    /// plone.restapi's shape: `{"login": true}` adds, `{"login": false}` removes.
    users: Option<std::collections::BTreeMap<String, bool>>,
}

/// PATCH and DELETE on `@users/<id>` and `@groups/<id>`: 204 as plone.restapi.
pub(crate) async fn patch_delete_endpoint(
    ctx: &Ctx<'_>,
    view: &ItemView,
    method: &axum::http::Method,
    name: &str,
    rest: &[String],
    body: &[u8],
) -> Result<axum::response::Response, WebError> {
    use axum::http::{Method, StatusCode};
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let services = &ctx.app.services;
    match (name, rest, method) {
        ("@history", [], &Method::PATCH) => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Revert {
                version: i64,
            }
            let b: Revert = parse_body(body)?;
            services.revert(&ctx.principal, &ctx.site, &view.item.path, b.version).await.map_err(err)?;
            let v = json!({"message": format!("{} has been reverted to revision {}.", view.item.title, b.version)});
            return Ok(([(axum::http::header::CONTENT_TYPE, crate::traverse::JSON)], crate::traverse::json_body(&v))
                .into_response());
        }
        ("@lock", [], &Method::PATCH) => {
            let l = services.refresh_lock(&ctx.principal, &ctx.site, &view.item.path).await.map_err(err)?;
            let v = lock_json(ctx, Some(&LockView::Full(l)));
            return Ok(([(axum::http::header::CONTENT_TYPE, crate::traverse::JSON)], crate::traverse::json_body(&v))
                .into_response());
        }
        ("@lock", [], &Method::DELETE) => {
            #[derive(serde::Deserialize, Default)]
            #[serde(deny_unknown_fields)]
            struct UnlockBody {
                #[serde(default)]
                force: bool,
            }
            let b: UnlockBody = parse_optional_body(body)?;
            services.unlock(&ctx.principal, &ctx.site, &view.item.path, b.force).await.map_err(err)?;
            let v = lock_json(ctx, None);
            return Ok(([(axum::http::header::CONTENT_TYPE, crate::traverse::JSON)], crate::traverse::json_body(&v))
                .into_response());
        }
        ("@users", [login], &Method::PATCH) => {
            let b: UserPatch = parse_body(body)?;
            let roles = b.roles.as_deref().map(parse_roles).transpose()?;
            let change = beffroi_service::UserChange {
                fullname: b.fullname,
                email: b.email,
                roles,
                password: b.password,
                current_password: b.old_password,
            };
            let keep = match &ctx.via {
                crate::auth::Via::Session { id, .. } => beffroi_service::Credential::Session(id.clone()),
                crate::auth::Via::Bearer(c) => beffroi_service::Credential::Token(c.jti.clone()),
                _ => beffroi_service::Credential::Other,
            };
            services.update_user(&ctx.principal, &ctx.site, login, change, &keep).await.map_err(err)?;
        }
        ("@users", [login], &Method::DELETE) => {
            services.delete_user(&ctx.principal, &ctx.site, login).await.map_err(err)?
        }
        ("@groups", [id], &Method::PATCH) => {
            let b: GroupPatch = parse_body(body)?;
            let roles = b.roles.as_deref().map(parse_roles).transpose()?;
            let users = b.users.unwrap_or_default();
            let change = beffroi_service::GroupChange {
                title: b.title,
                description: b.description,
                roles,
                add: users.iter().filter(|(_, on)| **on).map(|(l, _)| l.clone()).collect(),
                remove: users.iter().filter(|(_, on)| !**on).map(|(l, _)| l.clone()).collect(),
            };
            services.update_group(&ctx.principal, &ctx.site, id, change).await.map_err(err)?;
        }
        ("@groups", [id], &Method::DELETE) => {
            services.delete_group(&ctx.principal, &ctx.site, id).await.map_err(err)?
        }
        _ => return Err(WebError::MethodNotAllowed),
    }
    Ok(StatusCode::NO_CONTENT.into_response())
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
            let new_view =
                services.item(&beffroi_model::security::Principal::System, &ctx.site, &item.path).await.map_err(err)?;
            let lock = lock_for(ctx, &new_view).await?;
            let v = self::item(ctx, &new_view, None, lock.as_ref());
            Ok(created(v))
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

/// `@move` and `@copy` (POST on the target folder): `{"source": [url or path, …]}` →
/// `[{"source", "target"}]`.
async fn move_into(
    ctx: &Ctx<'_>,
    view: &ItemView,
    body: &[u8],
    copy: bool,
) -> Result<axum::response::Response, WebError> {
    #[derive(serde::Deserialize)]
    struct MoveBody {
        source: serde_json::Value,
    }
    let b: MoveBody = parse_body(body)?;
    let sources: Vec<String> = match b.source {
        Value::String(s) => vec![s],
        Value::Array(a) => a
            .into_iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| WebError::BadRequest("source: a URL or a list of URLs".into()))?,
        _ => return Err(WebError::BadRequest("source: a URL or a list of URLs".into())),
    };
    let mut out = Vec::new();
    for src in sources {
        let rel = src.strip_prefix(&ctx.base).unwrap_or(&src);
        let from =
            ItemPath::parse(rel).map_err(|_| WebError::BadRequest(format!("{src:?} is not an item of this site")))?;
        let services = &ctx.app.services;
        let moved = if copy {
            services.copy_item(&ctx.principal, &ctx.site, &from, &view.item.path).await
        } else {
            services.move_item(&ctx.principal, &ctx.site, &from, &view.item.path).await
        }
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
        out.push(json!({"source": ctx.url(&from), "target": ctx.url(&moved.path)}));
    }
    Ok(([(axum::http::header::CONTENT_TYPE, crate::traverse::JSON)], crate::traverse::json_body(&Value::Array(out)))
        .into_response())
}

async fn revoke(ctx: &Ctx<'_>, claims: &crate::jwt::Claims) -> Result<(), WebError> {
    let expires = DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now);
    ctx.app.services.revoke_token(&claims.jti, expires).await.map_err(|e| WebError::from_service(e, &ctx.request_url))
}
