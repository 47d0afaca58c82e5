//! The platform's named endpoints (`@name`, plone.restapi's JSON) and views (`@@name`,
//! HTML): the routes every site has whatever its applications, registered in the route
//! registry like any application's.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use beffroi_model::ItemPath;
use beffroi_model::security::Permission;
use beffroi_service::{ItemView, LockView};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::error::WebError;
use crate::json::{created, iso, item, lock_json, parse_body, parse_optional_body};
use crate::routes::{Access, Args, Call, Handler, Route};
use crate::traverse::{Ctx, json_answer};
use crate::{item_handler, site_handler};

/// The name of the platform in the registry and in docs/API.md.
pub(crate) const PLATFORM: &str = "platform";

/// A JSON endpoint's GET: the value with validators (304 when the client has it).
macro_rules! json_get {
    ($f:path) => {
        Handler::Item(|c, v| {
            Box::pin(async move {
                let value = $f(&c, v).await?;
                Ok(c.json(&value))
            })
        })
    };
}

/// A JSON endpoint that writes.
macro_rules! json_write {
    ($f:path) => {
        Handler::Item(|c, v| Box::pin(async move { $f(&c, v).await }))
    };
}

/// An HTML view of an item: `f(ctx, view, body)`.
macro_rules! view {
    ($f:path) => {
        Handler::Item(|c, v| Box::pin($f(c.ctx, v, c.body)))
    };
}

/// Whether the item has an edit form: a type of its own (the site root's has no field).
fn has_schema(ctx: &Ctx<'_>, view: &ItemView) -> bool {
    !view.item.path.is_root() && ctx.app.services.types().get(&view.item.type_name).is_some()
}

/// Whether the item may be composed of blocks (its type has plone.volto's behavior).
fn has_blocks(ctx: &Ctx<'_>, view: &ItemView) -> bool {
    ctx.app.services.types().get(&view.item.type_name).is_some_and(|t| t.field(beffroi_model::blocks::BLOCKS).is_some())
}

fn not_root(_: &Ctx<'_>, view: &ItemView) -> bool {
    !view.item.path.is_root()
}

/// Versions are offered to those who may edit the item (not the site root).
fn versioned(ctx: &Ctx<'_>, view: &ItemView) -> bool {
    !view.item.path.is_root() && view.allows(&ctx.principal, Permission::ModifyPortalContent)
}

/// The contents view is offered on folders to those who may edit them.
fn editable_folder(ctx: &Ctx<'_>, view: &ItemView) -> bool {
    view.is_folderish(ctx.app.services.types()) && view.allows(&ctx.principal, Permission::ModifyPortalContent)
}

fn reviewer(ctx: &Ctx<'_>, view: &ItemView) -> bool {
    view.allows_on_site(&ctx.principal, Permission::ReviewPortalContent)
}

/// Every route of the platform.
pub(crate) fn routes() -> Vec<Route> {
    use Args::{Any, None as Bare, One};
    const MODIFY: &[Permission] = &[Permission::ModifyPortalContent];
    const ADD: &[Permission] = &[Permission::AddPortalContent];
    const DELETE: &[Permission] = &[Permission::DeleteObjects];
    const SHARE: &[Permission] = &[Permission::ChangeLocalRoles];
    const CONTENTS: &[Permission] = &[Permission::ModifyPortalContent, Permission::AddPortalContent];
    let manage = Access::Site(Permission::ManagePortal);
    vec![
        // JSON endpoints, plone.restapi's.
        Route::post("@login", Bare, json_write!(login)).summary("a token for `{login, password}`"),
        Route::post("@login-renew", Bare, json_write!(login_renew))
            .summary("a new token for the bearer's (the old one is revoked)"),
        Route::post("@logout", Bare, json_write!(logout)).summary("revokes the bearer's token"),
        Route::get("@types", Bare, json_get!(types))
            .summary("the types, with what may be added here")
            .component("types"),
        Route::get("@types", One, json_get!(type_schema)).summary("a type's JSON Schema"),
        Route::get("@vocabularies", Bare, json_get!(vocabularies))
            .summary("the named vocabularies of the site's applications"),
        Route::get("@vocabularies", One, json_get!(vocabulary))
            .summary("a vocabulary's terms here (`title`, `token` filter; `b_start`, `b_size`, -1 for all)"),
        Route::get("@querystring", Bare, json_get!(querystring))
            .summary("the indexes a query may name, their operations and values; what results sort on"),
        Route::get("@site", Bare, site_handler!(site_info))
            .summary("the site's settings Volto reads (title, languages, time zone, image sizes)"),
        Route::get("@navroot", Bare, json_get!(navroot))
            .summary("the navigation root (the site), serialized")
            .component("navroot"),
        Route::get("@actions", Bare, json_get!(actions))
            .summary("what the caller may do here, by category (`categories:list` to choose)")
            .component("actions"),
        Route::get("@breadcrumbs", Bare, json_get!(breadcrumbs))
            .summary("the way from the site root")
            .component("breadcrumbs"),
        Route::get("@navigation", Bare, json_get!(navigation))
            .summary("the site's first level")
            .component("navigation"),
        Route::get("@contextnavigation", Bare, json_get!(context_navigation))
            .summary("the item's section as a navigation tree, opened down to the item")
            .component("contextnavigation"),
        Route::get("@aliases", Bare, json_get!(aliases))
            .summary("the old addresses leading to the item (on the root: all of them)")
            .component("aliases"),
        Route::post("@aliases", Bare, json_write!(add_aliases))
            .access(Access::Item(MODIFY))
            .summary("adds addresses leading to the item `{items: [{path}]}`"),
        Route::delete("@aliases", Bare, json_write!(remove_aliases)).access(Access::Item(MODIFY)),
        Route::get("@workflow", Bare, json_get!(workflow))
            .summary("state, history and the transitions open to the caller")
            .component("workflow"),
        Route::post("@workflow", One, json_write!(transition)).summary("runs a transition (its guard decides)"),
        Route::get("@history", Bare, json_get!(history))
            .summary("revisions and workflow steps, newest first")
            .component("history"),
        Route::get("@history", One, json_get!(history_version)).summary("the item as it was at a revision"),
        Route::patch("@history", Bare, json_write!(revert))
            .access(Access::Item(MODIFY))
            .summary("puts a revision back as a new one"),
        Route::get("@lock", Bare, json_get!(lock)).summary("the item's lock"),
        Route::post("@lock", Bare, json_write!(lock_post))
            .access(Access::Item(MODIFY))
            .summary("locks, renews (PATCH) or releases (DELETE) the item"),
        Route::patch("@lock", Bare, json_write!(refresh_lock)).access(Access::Item(MODIFY)),
        Route::delete("@lock", Bare, json_write!(unlock)).access(Access::Item(MODIFY)),
        Route::get("@sharing", Bare, json_get!(sharing))
            .access(Access::Item(SHARE))
            .summary("local roles, and the roles the caller may hand out"),
        Route::post("@sharing", Bare, json_write!(update_sharing)).access(Access::Item(SHARE)),
        Route::get("@users", Bare, json_get!(users))
            .access(manage)
            .summary("users (a user may read and change themself)"),
        Route::get("@users", One, json_get!(user)).access(Access::SignedIn),
        Route::post("@users", Bare, json_write!(create_user)).access(manage),
        Route::patch("@users", One, json_write!(update_user)).access(Access::SignedIn),
        Route::delete("@users", One, json_write!(delete_user)).access(manage),
        Route::get("@groups", Bare, json_get!(groups)).access(manage).summary("groups, their roles and members"),
        Route::get("@groups", One, json_get!(group)).access(manage),
        Route::post("@groups", Bare, json_write!(create_group)).access(manage),
        Route::patch("@groups", One, json_write!(update_group)).access(manage),
        Route::delete("@groups", One, json_write!(delete_group)).access(manage),
        Route::get("@search", Bare, json_get!(search)).summary("the catalog below the item, for the caller"),
        Route::get("@querystring-search", Bare, json_get!(querystring_search_get))
            .summary("the catalog by Collection criteria"),
        Route::post("@querystring-search", Bare, json_write!(querystring_search_post)),
        Route::get("@translations", Bare, json_get!(translations))
            .summary("the item's translations the caller may see")
            .component("translations"),
        Route::post("@translations", Bare, json_write!(link_translation))
            .access(Access::Item(MODIFY))
            .summary("links a translation (`id`: its URL, path or UID); DELETE unlinks one (`language`)"),
        Route::delete("@translations", Bare, json_write!(unlink_translation)).access(Access::Item(MODIFY)),
        Route::post("@move", Bare, json_write!(move_here)).summary("moves items into this folder"),
        Route::post("@copy", Bare, json_write!(copy_here)).summary("copies items into this folder"),
        // HTML views.
        Route::get("@@login", Bare, site_handler!(crate::views::login)).bare().summary("the login form"),
        Route::post("@@login", Bare, site_handler!(crate::views::login)).bare(),
        Route::get("@@logout", Bare, site_handler!(crate::views::logout)).bare().summary("logs out (a button)"),
        Route::post("@@logout", Bare, site_handler!(crate::views::logout)).bare(),
        Route::get("@@search", Bare, site_handler!(search_page)).summary("the search page"),
        Route::get("@@edit", Bare, view!(crate::edit::edit))
            .access(Access::Item(MODIFY))
            .uploads()
            .summary("the edit form")
            .action_when("action-edit", 10, has_schema),
        Route::post("@@edit", Bare, view!(crate::edit::edit)).access(Access::Item(MODIFY)).uploads(),
        Route::get("@@blocks", Bare, view!(crate::compose::compose))
            .access(Access::Item(MODIFY))
            .summary("the blocks editor: a page (the home page) composed of blocks")
            .action_when("action-compose", 15, has_blocks),
        Route::post("@@blocks", Bare, view!(crate::compose::compose)).access(Access::Item(MODIFY)),
        Route::get("@@add", Bare, view!(crate::edit::add))
            .access(Access::Item(ADD))
            .uploads()
            .summary("the add form of `?type=`")
            .action("action-add", 20)
            .per_addable_type(),
        Route::post("@@add", Bare, view!(crate::edit::add)).access(Access::Item(ADD)).uploads(),
        Route::get("@@history", Bare, view!(crate::history::history))
            .access(Access::SignedIn)
            .summary("versions: compare, revert")
            .action_when("action-history", 30, versioned),
        Route::post("@@history", Bare, view!(crate::history::history)).access(Access::SignedIn),
        Route::get("@@folder_contents", Bare, view!(crate::contents::folder_contents))
            .access(Access::Item(CONTENTS))
            .summary("a folder's contents: order, cut, copy, paste, rename, delete")
            .action_when("action-contents", 40, editable_folder),
        Route::post("@@folder_contents", Bare, view!(crate::contents::folder_contents)).access(Access::Item(CONTENTS)),
        Route::get("@@rename", Bare, view!(crate::contents::rename))
            .access(Access::Item(MODIFY))
            .summary("renames (id and title)"),
        Route::post("@@rename", Bare, view!(crate::contents::rename)).access(Access::Item(MODIFY)),
        Route::get("@@delete", Bare, view!(crate::edit::delete))
            .access(Access::Item(DELETE))
            .summary("deletes, after confirmation")
            .action_when("action-delete", 50, not_root),
        Route::post("@@delete", Bare, view!(crate::edit::delete)).access(Access::Item(DELETE)),
        Route::get("@@sharing", Bare, view!(crate::views::sharing))
            .access(Access::Item(SHARE))
            .summary("local roles")
            .action("action-sharing", 60),
        Route::post("@@sharing", Bare, view!(crate::views::sharing)).access(Access::Item(SHARE)),
        Route::post("@@workflow", Bare, view!(crate::views::workflow_form))
            .access(Access::SignedIn)
            .summary("runs a transition from the item page"),
        Route::get("@@review-list", Bare, item_handler!(review_list))
            .access(Access::SignedIn)
            .summary("what awaits the caller's review")
            .action_when("action-review-list", 70, reviewer)
            .on_site(),
        Route::get("@@users-groups", Bare, item_handler!(users_groups))
            .access(manage)
            .summary("users and groups of the site")
            .action("action-users-groups", 80)
            .on_site(),
        Route::post("@@users-groups", Bare, item_handler!(users_groups)).access(manage),
        Route::get("@@theme", Bare, item_handler!(theme))
            .access(manage)
            .summary("the site's accent colour (checked for contrast), logo and footer")
            .action_when("action-theme", 85, is_root),
        Route::post("@@theme", Bare, item_handler!(theme)).access(manage),
        Route::get("@@download", Any, item_handler!(download)).bare().summary("a file field, with ranges: `/<field>`"),
        Route::get("@@images", Any, item_handler!(images))
            .bare()
            .summary("an image field or its scale: `/<field>[/<scale>]`"),
        // Documents for programs.
        Route::get("@@rss", Bare, item_handler!(crate::feeds::rss))
            .document()
            .summary("an RSS 2.0 feed of a folder or a Collection"),
        Route::get("@@atom", Bare, item_handler!(crate::feeds::atom))
            .document()
            .summary("an Atom feed of a folder or a Collection"),
        Route::get("@@ics_view", Bare, item_handler!(crate::feeds::ics_view))
            .document()
            .summary("an iCalendar file of an event, or of a folder's or a Collection's events"),
        Route::get("@@sitemap.xml", Bare, site_handler!(crate::feeds::sitemap))
            .document()
            .summary("the site's sitemap (`/sitemap.xml` at its root)"),
        Route::get("@@robots.txt", Bare, site_handler!(crate::feeds::robots))
            .document()
            .summary("the site's robots.txt (at its root)"),
    ]
}

async fn search_page(c: Call<'_>) -> Result<Response, WebError> {
    crate::search::search_page(c.ctx).await
}

async fn review_list<'r>(c: Call<'r>, _: &'r ItemView) -> Result<Response, WebError> {
    crate::views::review_list(c.ctx).await
}

async fn theme<'r>(c: Call<'r>, _: &'r ItemView) -> Result<Response, WebError> {
    crate::views::theme(c.ctx, c.body).await
}

fn is_root(_: &Ctx<'_>, view: &ItemView) -> bool {
    view.item.path.is_root()
}

async fn users_groups<'r>(c: Call<'r>, _: &'r ItemView) -> Result<Response, WebError> {
    crate::views::users_groups(c.ctx, c.body).await
}

async fn download<'r>(c: Call<'r>, view: &'r ItemView) -> Result<Response, WebError> {
    crate::media::serve(c.ctx, view, "@@download", c.rest, c.headers).await
}

async fn images<'r>(c: Call<'r>, view: &'r ItemView) -> Result<Response, WebError> {
    crate::media::serve(c.ctx, view, "@@images", c.rest, c.headers).await
}

/// GET `@search`.
async fn search(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    crate::search::search_json(ctx, view).await
}

/// GET `@querystring-search`.
async fn querystring_search_get(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    crate::search::querystring_search(ctx, view, None).await
}

/// GET `@querystring`.
async fn querystring(c: &Call<'_>, _view: &ItemView) -> Result<Value, WebError> {
    crate::search::querystring(c.ctx).await
}

/// GET `@types`.
async fn types(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let lang = view.item.language;
    let types = ctx.app.services.types();
    let list: Vec<Value> = types
        .all()
        .iter()
        .filter(|t| ctx.type_rules.has(&t.id))
        .map(|t| {
            let addable = view.may_add(types, &ctx.type_rules, &ctx.principal, &t.id);
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

/// GET `@types/<type_name>`.
async fn type_schema(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let type_name = c.arg()?;
    let ctx = c.ctx;
    let lang = view.item.language;
    let t = ctx
        .app
        .services
        .types()
        .get(type_name)
        .filter(|_| ctx.type_rules.has(type_name))
        .ok_or_else(|| WebError::NotFound(ctx.request_url.clone()))?;
    let mut schema = t.json_schema(lang);
    // Vocabularies by the URL of their terms, as plone.restapi names them.
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for p in props.values_mut() {
            let url = |v: &mut Value| {
                if let Some(id) = v.get_mut("vocabulary").and_then(|v| v.get_mut("@id"))
                    && let Some(name) = id.as_str().map(str::to_owned)
                {
                    *id = format!("{}/@vocabularies/{name}", ctx.base).into();
                }
            };
            url(p);
            if let Some(items) = p.get_mut("items") {
                url(items);
            }
            if let Some(options) = p.get_mut("widgetOptions") {
                url(options);
            }
        }
    }
    Ok(schema)
}

/// GET `@vocabularies`: the vocabularies the site's applications name.
async fn vocabularies(c: &Call<'_>, _: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let list: Vec<Value> = ctx
        .app
        .services
        .vocabulary_names(&ctx.site)
        .into_iter()
        .map(|name| json!({"@id": format!("{}/@vocabularies/{name}", ctx.base), "title": name}))
        .collect();
    Ok(Value::Array(list))
}

/// GET `@vocabularies/<name>`: its terms in the context of this item, as the caller
/// may see them; `title` keeps the terms whose title holds it (any case), `token`
/// the one with that token.
async fn vocabulary(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let name = c.arg()?;
    let param = |k: &str| ctx.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut terms = ctx
        .app
        .services
        .vocabulary(&ctx.principal, &ctx.site, &view.item.path, name)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    if let Some(t) = param("title").map(str::to_lowercase) {
        terms.retain(|term| term.title.to_lowercase().contains(&t));
    }
    if let Some(token) = param("token") {
        terms.retain(|term| term.token == token);
    }
    let total = terms.len() as i64;
    let start = crate::traverse::int_param(ctx, "b_start", 0)?;
    let size = match param("b_size") {
        Some("-1") => total.max(1),
        _ => crate::traverse::int_param(ctx, "b_size", 25)?.max(1),
    };
    let items: Vec<Value> = terms
        .into_iter()
        .skip(start as usize)
        .take(size as usize)
        .map(|t| json!({"title": t.title, "token": t.token}))
        .collect();
    let mut out = json!({"@id": format!("{}/@vocabularies/{name}", ctx.url(&view.item.path)), "items": items, "items_total": total});
    if let Some(b) = crate::json::batching(ctx, total, start, size) {
        out["batching"] = b;
    }
    Ok(out)
}

/// GET `@breadcrumbs`.
async fn breadcrumbs(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let url = ctx.url(&view.item.path);
    let items: Vec<Value> = view
        .visible_ancestors(&ctx.principal)
        .into_iter()
        .chain(std::iter::once(&view.item))
        .filter(|i| !i.path.is_root())
        .map(|i| json!({"@id": ctx.url(&i.path), "title": i.title}))
        .collect();
    Ok(json!({"@id": format!("{url}/@breadcrumbs"), "items": items, "root": ctx.base}))
}

/// GET `@site`, as plone.restapi's: the settings a front end reads on every render.
async fn site_info(c: Call<'_>) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let sizes: Vec<String> =
        beffroi_model::media::SCALES.iter().map(|(name, w, h)| format!("{name} {w}:{h}")).collect();
    let language = ctx.site.language.code();
    Ok(c.json(&json!({
        "@id": format!("{}/@site", ctx.base),
        "plone.site_title": ctx.site.title,
        "plone.site_logo": crate::html::logo_url(ctx.app, &ctx.site, &ctx.base).map(|l| format!("{l}/thumb")),
        "plone.robots_txt": format!("Sitemap: {}/sitemap.xml", ctx.base),
        "plone.allowed_sizes": sizes,
        "plone.default_language": language,
        "plone.available_languages": ctx.site.languages.iter().map(|l| l.code()).collect::<Vec<_>>(),
        "plone.portal_timezone": ctx.site.time_zone.name(),
        "features": {"filter_aliases_by_date": true, "multilingual": ctx.site.languages.len() > 1},
    })))
}

/// GET `@navroot`: the navigation root (the site's root) serialized as a content GET
/// does, without its items.
async fn navroot(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let root = if view.item.path.is_root() {
        view.clone()
    } else {
        match ctx.app.services.get(&ctx.principal, &ctx.site, &ItemPath::root()).await.map_err(|e| c.error(e))? {
            beffroi_service::Found::Item(root) => *root,
            _ => return Err(WebError::NotFound(ctx.request_url.clone())),
        }
    };
    Ok(json!({"@id": format!("{}/@navroot", ctx.url(&view.item.path)), "navroot": item(ctx, &root, None, None)}))
}

/// GET `@actions`: plone.restapi's categories of what the caller may do on the item,
/// each a list of `{id, title, icon}`, from the views they may open here (Volto shows
/// its toolbar from it: Edit, Contents, History, Sharing, Delete…).
async fn actions(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let may = |name: &str| match ctx.app.routes.lookup(name, &axum::http::Method::GET, 0) {
        crate::routes::Lookup::Found(r) => r.offered(ctx, view),
        _ => false,
    };
    let entry = |id: &str, key: &str| json!({"id": id, "title": c.t(key), "icon": ""});
    let listed = |entries: &[(&str, &str, bool)]| -> Value {
        entries.iter().filter(|(_, _, shown)| *shown).map(|(id, key, _)| entry(id, key)).collect()
    };
    let signed_in = ctx.principal != beffroi_model::security::Principal::Anonymous;
    let all = json!({
        "object": listed(&[
            ("view", "action-view", true),
            ("edit", "action-edit", may("@@edit")),
            ("folderContents", "action-contents", may("@@folder_contents")),
            ("history", "action-history", may("@@history")),
            ("local_roles", "action-sharing", may("@@sharing")),
        ]),
        "object_buttons": listed(&[
            ("cut", "action-cut", may("@@delete")),
            ("copy", "action-copy", signed_in),
            ("delete", "action-delete", may("@@delete")),
            ("rename", "action-rename", may("@@rename")),
        ]),
        "user": listed(&[
            ("plone_setup", "action-users-groups", may("@@users-groups")),
            ("login", "log-in", !signed_in),
            ("logout", "log-out", signed_in),
        ]),
        "document_actions": [],
        "portal_tabs": [],
        "site_actions": [],
    });
    let wanted: Vec<&str> = ctx
        .query
        .iter()
        .filter(|(k, _)| k == "categories:list" || k == "categories")
        .map(|(_, v)| v.as_str())
        .collect();
    if wanted.is_empty() {
        return Ok(all);
    }
    Ok(Value::Object(
        all.as_object()
            .expect("an object")
            .iter()
            .filter(|(k, _)| wanted.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
}

/// GET `@workflow`.
async fn workflow(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let url = ctx.url(&view.item.path);
    let err = |e| c.error(e);
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
    Ok(json!({"@id": format!("{url}/@workflow"), "history": history, "state": state, "transitions": transitions}))
}

/// GET `@history`.
async fn history(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let url = ctx.url(&view.item.path);
    let err = |e| c.error(e);
    let (revisions, wf, may_revert) =
        ctx.app.services.history(&ctx.principal, &ctx.site, &view.item.path).await.map_err(err)?;
    let actor =
        |id: &str| json!({"@id": format!("{}/@users/{id}", ctx.base), "id": id, "fullname": id, "username": id});
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

/// GET `@history/<version>`.
async fn history_version(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let version = c.arg()?;
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let n: i64 = version.parse().map_err(|_| WebError::NotFound(ctx.request_url.clone()))?;
    let rev = ctx.app.services.revision(&ctx.principal, &ctx.site, &view.item.path, n).await.map_err(err)?;
    let mut old = ItemView {
        item: beffroi_service::apply_snapshot(&view.item, &rev.snapshot),
        lineage: view.lineage.clone(),
        workflows: view.workflows.clone(),
    };
    crate::links::externalize_fields(ctx, &mut old.item.fields).await?;
    let mut v = item(ctx, &old, None, None);
    v["version"] = json!(n);
    Ok(v)
}

/// GET `@lock`.
async fn lock(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let l = ctx.app.services.lock_status(&ctx.principal, &ctx.site, &view.item.path).await.map_err(err)?;
    Ok(lock_json(ctx, l.as_ref()))
}

/// GET `@users`.
async fn users(c: &Call<'_>, _: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let users = ctx.app.services.list_users(&ctx.principal, &ctx.site).await.map_err(err)?;
    let mut items = Vec::with_capacity(users.len());
    for u in users {
        let (_, groups) = ctx.app.services.user_info(&ctx.principal, &ctx.site, &u.login).await.map_err(err)?;
        items.push(user_json(ctx, &u, &groups));
    }
    Ok(json!({"@id": format!("{}/@users", ctx.base), "items": items, "items_total": items.len()}))
}

/// GET `@users/<login>`.
async fn user(c: &Call<'_>, _: &ItemView) -> Result<Value, WebError> {
    let login = c.arg()?;
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let (u, groups) = ctx.app.services.user_info(&ctx.principal, &ctx.site, login).await.map_err(err)?;
    Ok(user_json(ctx, &u, &groups))
}

/// GET `@groups`.
async fn groups(c: &Call<'_>, _: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let groups = ctx.app.services.list_groups(&ctx.principal, &ctx.site).await.map_err(err)?;
    Ok(Value::Array(groups.iter().map(|g| group_json(ctx, g)).collect()))
}

/// GET `@groups/<id>`.
async fn group(c: &Call<'_>, _: &ItemView) -> Result<Value, WebError> {
    let id = c.arg()?;
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let g = ctx.app.services.group(&ctx.principal, &ctx.site, id).await.map_err(err)?;
    Ok(group_json(ctx, &g))
}

/// GET `@sharing`.
async fn sharing(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let sharing = ctx.app.services.sharing(&ctx.principal, &ctx.site, &view.item.path).await.map_err(err)?;
    Ok(sharing_json(&sharing))
}

/// GET `@navigation`.
async fn navigation(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let url = ctx.url(&view.item.path);
    let err = |e| c.error(e);
    let lang = view.item.language;
    let root = view.lineage.first().unwrap_or(&view.item);
    let nav = ctx.app.services.navigation(&ctx.principal, &ctx.site, root).await.map_err(err)?;
    let home = json!({
        "@id": ctx.base,
        "description": "",
        "items": [],
        "review_state": null,
        "title": ctx.app.i18n.t(lang, "home", &[]),
    });
    // `expand.navigation.depth`: the levels below the first, as menus show them, read
    // in one query (what the caller may see, in each folder's order).
    let depth = crate::traverse::int_param(ctx, "expand.navigation.depth", 1)?.clamp(1, MAX_NAV_DEPTH);
    let mut below: std::collections::HashMap<ItemPath, Vec<beffroi_service::Summary>> = Default::default();
    if depth > 1 {
        let q = beffroi_service::CatalogQuery {
            paths: vec![beffroi_service::PathQuery { path: root.path.clone(), depth: Some(depth) }],
            sort: beffroi_service::SortOn::Position,
            limit: MAX_NAV_ENTRIES,
            ..Default::default()
        };
        for s in ctx.app.services.search_first(&ctx.principal, &ctx.site, q).await.map_err(err)? {
            if let Some(parent) = s.path.parent().filter(|_| !s.exclude_from_nav) {
                below.entry(parent).or_default().push(s);
            }
        }
    }
    let mut items = vec![home];
    items.extend(nav.iter().map(|s| nav_entry(ctx, s, &below)));
    Ok(json!({"@id": format!("{url}/@navigation"), "items": items}))
}

/// GET `@contextnavigation`: the section holding the item (its first-level folder,
/// the site at its root) as plone.app.portlets' navigation tree: the section's
/// contents, the folders on the way to the item opened, the item marked current; what
/// the caller may see, in each folder's order, without what is excluded from
/// navigation. Read in one query.
async fn context_navigation(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let it = &view.item;
    let section = view.lineage.get(1).map(|a| &a.path).unwrap_or(&it.path);
    let section = if it.path.is_root() || section.is_root() { ItemPath::root() } else { section.clone() };
    // Deep enough to open the folders down to the item, and one level inside it.
    let depth = (it.path.depth() as i64 - section.depth() as i64 + 1).clamp(1, MAX_NAV_DEPTH);
    let q = beffroi_service::CatalogQuery {
        paths: vec![beffroi_service::PathQuery { path: section.clone(), depth: Some(depth) }],
        sort: beffroi_service::SortOn::Position,
        limit: MAX_NAV_ENTRIES,
        ..Default::default()
    };
    let found = ctx.app.services.search_first(&ctx.principal, &ctx.site, q).await.map_err(|e| c.error(e))?;
    let mut below: std::collections::HashMap<ItemPath, Vec<beffroi_service::Summary>> = Default::default();
    for s in found.into_iter().filter(|s| !s.exclude_from_nav) {
        if let Some(parent) = s.path.parent() {
            below.entry(parent).or_default().push(s);
        }
    }
    let types = ctx.app.services.types();
    fn entry(
        ctx: &Ctx<'_>,
        types: &beffroi_model::schema::TypeRegistry,
        here: &ItemPath,
        s: &beffroi_service::Summary,
        below: &std::collections::HashMap<ItemPath, Vec<beffroi_service::Summary>>,
    ) -> Value {
        let in_path = here.is_below(&s.path) || *here == s.path;
        // The folders on the way are opened; the others are shown closed.
        let items: Vec<Value> = if in_path {
            below.get(&s.path).into_iter().flatten().map(|c| entry(ctx, types, here, c, below)).collect()
        } else {
            Vec::new()
        };
        let url = ctx.url(&s.path);
        json!({
            "@id": url,
            "description": s.description,
            "href": url,
            "icon": "",
            "is_current": *here == s.path,
            "is_folderish": types.get(&s.type_name).is_some_and(|t| t.folderish),
            "is_in_path": in_path && *here != s.path,
            "items": items,
            "normalized_id": s.id,
            "review_state": s.review_state,
            "thumb": "",
            "title": s.title,
            "type": s.type_name.to_ascii_lowercase().replace(' ', "-"),
        })
    }
    let items: Vec<Value> =
        below.get(&section).into_iter().flatten().map(|s| entry(ctx, types, &it.path, s, &below)).collect();
    Ok(json!({
        "@id": format!("{}/@contextnavigation", ctx.url(&it.path)),
        "available": true,
        "has_custom_name": false,
        "items": items,
        "title": ctx.app.i18n.t(ctx.site.language, "main-navigation", &[]),
        "url": format!("{}/sitemap.xml", ctx.base),
    }))
}

/// GET `@aliases`: the old addresses that lead to the item (on the site root: every
/// one of the site, with where it leads), as plone.restapi lists them.
async fn aliases(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let url = ctx.url(&view.item.path);
    let list = ctx.app.services.aliases(&ctx.principal, &ctx.site, &view.item.path).await.map_err(|e| c.error(e))?;
    let root = view.item.path.is_root();
    let items: Vec<Value> = list
        .iter()
        .map(|a| {
            if root {
                json!({"path": a.old.as_str(), "redirect-to": a.to.as_str(), "datetime": crate::json::iso(&a.created)})
            } else {
                json!({"path": a.old.as_str()})
            }
        })
        .collect();
    Ok(json!({"@id": format!("{url}/@aliases"), "items_total": items.len(), "items": items}))
}

#[derive(serde::Deserialize)]
struct AliasesBody {
    items: Vec<AliasPath>,
}

#[derive(serde::Deserialize)]
struct AliasPath {
    path: String,
}

fn alias_paths(body: &[u8]) -> Result<Vec<ItemPath>, WebError> {
    let b: AliasesBody = parse_body(body)?;
    if b.items.is_empty() || b.items.len() > 100 {
        return Err(WebError::BadRequest("items: 1 to 100 aliases".into()));
    }
    b.items
        .iter()
        .map(|a| {
            let p = a.path.trim().trim_end_matches('/');
            ItemPath::parse(p).map_err(|e| WebError::BadRequest(format!("{:?} is not a path: {e}", a.path)))
        })
        .collect()
}

/// POST `@aliases` `{"items": [{"path": "/old"}]}`: 201, those addresses now lead to
/// the item.
async fn add_aliases(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let paths = alias_paths(c.body.unwrap_or_default())?;
    ctx.app.services.add_aliases(&ctx.principal, &ctx.site, &view.item.path, &paths).await.map_err(|e| c.error(e))?;
    let list: Vec<&str> = paths.iter().map(|p| p.as_str()).collect();
    let mut res = json_answer(&json!({"message": format!("Successfully added the aliases {list:?}")}));
    *res.status_mut() = StatusCode::CREATED;
    Ok(res)
}

/// DELETE `@aliases` `{"items": [{"path": "/old"}]}`: 204, those addresses lead nowhere.
async fn remove_aliases(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let paths = alias_paths(c.body.unwrap_or_default())?;
    ctx.app
        .services
        .remove_aliases(&ctx.principal, &ctx.site, &view.item.path, &paths)
        .await
        .map_err(|e| c.error(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The deepest `expand.navigation.depth` answered (more is answered as this).
const MAX_NAV_DEPTH: i64 = 4;

/// The most entries the levels below the first hold in all.
const MAX_NAV_ENTRIES: i64 = 1000;

/// A navigation entry, with the entries below it.
fn nav_entry(
    ctx: &Ctx<'_>,
    s: &beffroi_service::Summary,
    below: &std::collections::HashMap<ItemPath, Vec<beffroi_service::Summary>>,
) -> Value {
    let items: Vec<Value> = below.get(&s.path).into_iter().flatten().map(|c| nav_entry(ctx, c, below)).collect();
    json!({"@id": ctx.url(&s.path), "description": s.description, "items": items, "review_state": s.review_state, "title": s.title})
}

/// POST `@querystring-search`.
async fn querystring_search_post(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let body = c.body.unwrap_or_default();
    let v = crate::search::querystring_search(ctx, view, Some(body)).await?;
    Ok(json_answer(&v))
}

/// POST `@login`.
async fn login(c: &Call<'_>, _: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let body = c.body.unwrap_or_default();
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

/// POST `@login-renew`.
async fn login_renew(c: &Call<'_>, _: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let crate::auth::Via::Bearer(claims) = &ctx.via else {
        return Err(WebError::Unauthenticated("A bearer token is required.".into()));
    };
    let generation = ctx.app.services.token_generation(&ctx.site, &claims.sub).await.map_err(err)?;
    let token = crate::auth::issue(ctx.app, &ctx.site, &claims.sub, &claims.fullname, generation);
    revoke(ctx, claims).await?;
    Ok(token_json(token))
}

/// GET `@translations`: plone.restapi's shape, each translation's address and language.
async fn translations(c: &Call<'_>, view: &ItemView) -> Result<Value, WebError> {
    let ctx = c.ctx;
    let found =
        ctx.app.services.translations(&ctx.principal, &ctx.site, &view.item.path).await.map_err(|e| c.error(e))?;
    let items: Vec<Value> = found.iter().map(|(p, lang)| json!({"@id": ctx.url(p), "language": lang.code()})).collect();
    Ok(json!({"@id": format!("{}/@translations", ctx.url(&view.item.path)), "items": items}))
}

/// The item an API body names by its address (absolute, under this site), its path
/// in the site, or its UID.
async fn named_item(ctx: &Ctx<'_>, reference: &str) -> Result<ItemPath, WebError> {
    let not_here = || WebError::BadRequest(format!("{reference:?} is not an item of this site"));
    if let Ok(uuid) = uuid::Uuid::try_parse(reference) {
        let paths = ctx
            .app
            .services
            .paths_of(&ctx.site, &[uuid])
            .await
            .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
        return paths.get(&uuid).cloned().ok_or_else(not_here);
    }
    let rel = match reference.strip_prefix(&ctx.base) {
        Some(rel) => rel,
        None if reference.starts_with('/') => reference,
        None => return Err(not_here()),
    };
    ItemPath::parse(rel.trim_end_matches('/')).map_err(|_| not_here())
}

/// POST `@translations` `{"id": …}`: 201 with the item's address, as plone.restapi.
async fn link_translation(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    #[derive(serde::Deserialize)]
    struct Link {
        id: String,
    }
    let ctx = c.ctx;
    let b: Link = parse_body(c.body.unwrap_or_default())?;
    let target = named_item(ctx, &b.id).await?;
    ctx.app
        .services
        .link_translation(&ctx.principal, &ctx.site, &view.item.path, &target)
        .await
        .map_err(|e| c.error(e))?;
    let mut res = json_answer(&json!({}));
    *res.status_mut() = StatusCode::CREATED;
    if let Ok(v) = axum::http::HeaderValue::from_str(&ctx.url(&view.item.path)) {
        res.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(res)
}

/// DELETE `@translations` `{"language": …}`: 204.
async fn unlink_translation(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    #[derive(serde::Deserialize)]
    struct Unlink {
        language: String,
    }
    let ctx = c.ctx;
    let b: Unlink = parse_body(c.body.unwrap_or_default())?;
    ctx.app
        .services
        .unlink_translation(&ctx.principal, &ctx.site, &view.item.path, &b.language)
        .await
        .map_err(|e| c.error(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// POST `@logout`.
async fn logout(c: &Call<'_>, _: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let crate::auth::Via::Bearer(claims) = &ctx.via else {
        return Err(WebError::Unauthenticated("A bearer token is required.".into()));
    };
    revoke(ctx, claims).await?;
    tracing::info!(site.id = %ctx.site.id, user.id = %claims.sub, "logout");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// POST `@workflow/<transition>`.
async fn transition(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    let transition = c.arg()?;
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let body = c.body.unwrap_or_default();
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
    let h =
        ctx.app.services.transition(&ctx.principal, &ctx.site, &view.item.path, transition, req).await.map_err(err)?;
    let info = ctx.app.services.workflow_info(&ctx.principal, &ctx.site, &view.item.path).await.map_err(err)?;
    let title = info.state.map(|(_, t)| t).unwrap_or_default();
    let v = history_json(&h, &title);
    Ok(json_answer(&v))
}

/// POST `@move`.
async fn move_here(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let body = c.body.unwrap_or_default();
    move_into(ctx, view, body, false).await
}

/// POST `@copy`.
async fn copy_here(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let body = c.body.unwrap_or_default();
    move_into(ctx, view, body, true).await
}

/// POST `@lock`.
async fn lock_post(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let body = c.body.unwrap_or_default();
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
    Ok(json_answer(&v))
}

/// POST `@users`.
async fn create_user(c: &Call<'_>, _: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let body = c.body.unwrap_or_default();
    let b: NewUserBody = parse_body(body)?;
    let login = beffroi_model::Login::parse(&b.username).map_err(|e| WebError::BadRequest(format!("username: {e}")))?;
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
    let (u, groups) = ctx.app.services.user_info(&ctx.principal, &ctx.site, login.as_str()).await.map_err(err)?;
    Ok(created(user_json(ctx, &u, &groups)))
}

/// POST `@groups`.
async fn create_group(c: &Call<'_>, _: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let body = c.body.unwrap_or_default();
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

/// POST `@sharing`.
async fn update_sharing(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let body = c.body.unwrap_or_default();
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

/// PATCH `@history`.
async fn revert(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let services = &ctx.app.services;
    let body = c.body.unwrap_or_default();
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Revert {
        version: i64,
    }
    let b: Revert = parse_body(body)?;
    services.revert(&ctx.principal, &ctx.site, &view.item.path, b.version).await.map_err(err)?;
    let v = json!({"message": format!("{} has been reverted to revision {}.", view.item.title, b.version)});
    Ok(json_answer(&v))
}

/// PATCH `@lock`.
async fn refresh_lock(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let services = &ctx.app.services;
    let l = services.refresh_lock(&ctx.principal, &ctx.site, &view.item.path).await.map_err(err)?;
    let v = lock_json(ctx, Some(&LockView::Full(l)));
    Ok(json_answer(&v))
}

/// DELETE `@lock`.
async fn unlock(c: &Call<'_>, view: &ItemView) -> Result<Response, WebError> {
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let services = &ctx.app.services;
    let body = c.body.unwrap_or_default();
    #[derive(serde::Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct UnlockBody {
        #[serde(default)]
        force: bool,
    }
    let b: UnlockBody = parse_optional_body(body)?;
    services.unlock(&ctx.principal, &ctx.site, &view.item.path, b.force).await.map_err(err)?;
    let v = lock_json(ctx, None);
    Ok(json_answer(&v))
}

/// PATCH `@users/<login>`.
async fn update_user(c: &Call<'_>, _: &ItemView) -> Result<Response, WebError> {
    let login = c.arg()?;
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let services = &ctx.app.services;
    let body = c.body.unwrap_or_default();
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
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// DELETE `@users/<login>`.
async fn delete_user(c: &Call<'_>, _: &ItemView) -> Result<Response, WebError> {
    let login = c.arg()?;
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let services = &ctx.app.services;
    services.delete_user(&ctx.principal, &ctx.site, login).await.map_err(err)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// PATCH `@groups/<id>`.
async fn update_group(c: &Call<'_>, _: &ItemView) -> Result<Response, WebError> {
    let id = c.arg()?;
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let services = &ctx.app.services;
    let body = c.body.unwrap_or_default();
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
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// DELETE `@groups/<id>`.
async fn delete_group(c: &Call<'_>, _: &ItemView) -> Result<Response, WebError> {
    let id = c.arg()?;
    let ctx = c.ctx;
    let err = |e| c.error(e);
    let services = &ctx.app.services;
    services.delete_group(&ctx.principal, &ctx.site, id).await.map_err(err)?;
    Ok(StatusCode::NO_CONTENT.into_response())
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
    json_answer(&v)
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
    Ok(json_answer(&Value::Array(out)))
}

async fn revoke(ctx: &Ctx<'_>, claims: &crate::jwt::Claims) -> Result<(), WebError> {
    let expires = DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now);
    ctx.app.services.revoke_token(&claims.jti, expires).await.map_err(|e| WebError::from_service(e, &ctx.request_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    const API_DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md");
    const START: &str = "<!-- routes: made from the registry, do not edit -->\n";
    const END: &str = "<!-- end of routes -->";

    /// docs/API.md's table of endpoints and views is the registry's. After a change of
    /// routes, `BEFFROI_UPDATE_DOCS=1 cargo test -p beffroi-web api_doc` rewrites it.
    #[test]
    fn api_doc_table_is_the_registry() {
        let mut registry = crate::routes::Routes::default();
        registry.register(PLATFORM, routes()).unwrap();
        let table = registry.markdown();
        let doc = std::fs::read_to_string(API_DOC).unwrap();
        let (Some(a), Some(b)) = (doc.find(START), doc.find(END)) else {
            panic!("docs/API.md has no routes table between {START:?} and {END:?}");
        };
        let current = &doc[a + START.len()..b];
        if current != table {
            if std::env::var("BEFFROI_UPDATE_DOCS").is_ok_and(|v| v == "1") {
                let updated = format!("{}{START}{table}{}", &doc[..a], &doc[b..]);
                std::fs::write(API_DOC, updated).unwrap();
            } else {
                panic!(
                    "docs/API.md's routes table differs from the registry; \
                     run BEFFROI_UPDATE_DOCS=1 cargo test -p beffroi-web api_doc\n\nexpected:\n{table}"
                );
            }
        }
    }

    #[test]
    fn every_toolbar_label_and_component_is_unique() {
        let list = routes();
        let mut labels: Vec<&str> = list.iter().filter_map(|r| r.action.map(|a| a.label)).collect();
        let n = labels.len();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), n);
        let comps: Vec<&str> = list.iter().filter_map(|r| r.component).collect();
        assert_eq!(
            comps,
            [
                "types",
                "navroot",
                "actions",
                "breadcrumbs",
                "navigation",
                "contextnavigation",
                "aliases",
                "workflow",
                "history",
                "translations"
            ]
        );
    }
}
