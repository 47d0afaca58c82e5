//! The folder contents view (`@@folder_contents`) and renaming (`@@rename`): select
//! items, cut, copy, paste, delete with a confirmation, reorder with "up"/"down"
//! buttons (the keyboard way) or by dragging rows (a small script posting the same
//! form). Everything works without JavaScript. The clipboard is a cookie holding paths
//! of this site; pasting checks every permission again, so the cookie grants nothing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use beffroi_model::ItemPath;
use beffroi_service::{Delta, ItemView, ServiceError};
use minijinja::context;

use crate::error::WebError;
use crate::traverse::Ctx;
use crate::views::{form_pairs, page, see_other};

pub(crate) const CLIPBOARD_COOKIE: &str = "beffroi_clipboard";

/// Most children shown on one page of the contents view.
const PAGE: i64 = 200;

/// A clipboard: cut or copy, and the paths.
fn parse_clipboard(raw: &str) -> Option<(bool, Vec<ItemPath>)> {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8().ok()?;
    let (kind, rest) = decoded.split_once(':')?;
    let cut = match kind {
        "cut" => true,
        "copy" => false,
        _ => return None,
    };
    let paths = rest.split('|').filter(|p| !p.is_empty()).map(ItemPath::parse).collect::<Result<Vec<_>, _>>().ok()?;
    (!paths.is_empty()).then_some((cut, paths))
}

fn clipboard_cookie(ctx: &Ctx<'_>, value: Option<(bool, &[ItemPath])>) -> HeaderValue {
    let path = crate::html::url_path(&ctx.base);
    let path = if path.is_empty() { "/".to_owned() } else { path };
    let secure = if ctx.secure { "; Secure" } else { "" };
    let v = match value {
        Some((cut, paths)) => {
            let joined: Vec<&str> = paths.iter().map(ItemPath::as_str).collect();
            let raw = format!("{}:{}", if cut { "cut" } else { "copy" }, joined.join("|"));
            format!(
                "{CLIPBOARD_COOKIE}={}; Path={path}; HttpOnly; SameSite=Lax{secure}",
                percent_encoding::utf8_percent_encode(&raw, crate::traverse::QUERY_ENCODE)
            )
        }
        None => format!("{CLIPBOARD_COOKIE}=; Path={path}; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("beffroi_clipboard="))
}

fn selected(ctx: &Ctx<'_>, view: &ItemView, pairs: &[(String, String)]) -> Result<Vec<ItemPath>, WebError> {
    pairs
        .iter()
        .filter(|(k, _)| k == "sel")
        .map(|(_, id)| {
            beffroi_model::ItemId::parse(id)
                .map(|id| view.item.path.child(&id))
                .map_err(|_| WebError::BadRequest(format!("{id:?} is not an item id")))
        })
        .take(1000)
        .collect::<Result<Vec<_>, _>>()
        .and_then(|v| {
            if v.is_empty() {
                Err(WebError::BadRequest(ctx.app.i18n.t(ctx.site.language, "contents-nothing-selected", &[])))
            } else {
                Ok(v)
            }
        })
}

pub(crate) async fn folder_contents(ctx: &Ctx<'_>, view: &ItemView, body: Option<&[u8]>) -> Result<Response, WebError> {
    let services = &ctx.app.services;
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let lang = ctx.site.language;
    let here = ctx.url(&view.item.path);
    let back = format!("{here}/@@folder_contents");
    if !view.is_folderish(services.types()) {
        return Err(WebError::NotFound(ctx.request_url.clone()));
    }
    if let Some(body) = body {
        let pairs = form_pairs(body)?;
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let path = &view.item.path;
        let moves = [("up", Delta::By(-1)), ("down", Delta::By(1)), ("top", Delta::Top), ("bottom", Delta::Bottom)];
        if let Some((id, delta)) = moves.into_iter().find_map(|(button, delta)| Some((get(button)?, delta))) {
            services.reorder(&ctx.principal, &ctx.site, path, id, delta).await.map_err(err)?;
            return Ok(see_other(&format!("{back}#row-{id}"), None));
        }
        if let (Some(id), Some(delta)) = (get("obj_id"), get("delta")) {
            let delta = delta.parse::<i64>().map_err(|_| WebError::BadRequest("delta must be an integer".into()))?;
            services.reorder(&ctx.principal, &ctx.site, path, id, Delta::By(delta)).await.map_err(err)?;
            return Ok(see_other(&back, None));
        }
        match get("action") {
            Some(kind @ ("cut" | "copy")) => {
                let paths = selected(ctx, view, &pairs)?;
                let cookie = clipboard_cookie(ctx, Some((kind == "cut", &paths)));
                return Ok(see_other(&back, Some(cookie)));
            }
            Some("paste") => {
                let Some((cut, paths)) = ctx.clipboard.as_deref().and_then(parse_clipboard) else {
                    return Err(WebError::BadRequest(ctx.app.i18n.t(lang, "contents-clipboard-empty", &[])));
                };
                for p in &paths {
                    if cut {
                        services.move_item(&ctx.principal, &ctx.site, p, path).await.map_err(err)?;
                    } else {
                        services.copy_item(&ctx.principal, &ctx.site, p, path).await.map_err(err)?;
                    }
                }
                // What was cut is gone from where it was: the clipboard empties.
                let mut res = crate::views::done(&back, crate::views::Status::Pasted);
                if cut {
                    res.headers_mut().append(header::SET_COOKIE, clipboard_cookie(ctx, None));
                }
                return Ok(res);
            }
            Some("move") => {
                // "Move to…": the chosen folder, every permission checked as for a paste.
                let target = get("target")
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| WebError::BadRequest(ctx.app.i18n.t(lang, "contents-move-no-target", &[])))?;
                let target = ItemPath::parse(target).map_err(|_| WebError::BadRequest("bad target folder".into()))?;
                for p in selected(ctx, view, &pairs)? {
                    services.move_item(&ctx.principal, &ctx.site, &p, &target).await.map_err(err)?;
                }
                return Ok(crate::views::done(
                    &format!("{}/@@folder_contents", ctx.url(&target)),
                    crate::views::Status::Moved,
                ));
            }
            Some("delete") => {
                let paths = selected(ctx, view, &pairs)?;
                let mut items = Vec::new();
                for p in &paths {
                    let v = services.item(&ctx.principal, &ctx.site, p).await.map_err(err)?;
                    let inside = services.count_descendants(&ctx.site, &v.item).await.map_err(err)?;
                    items.push(context! { id => v.item.id.clone(), title => v.item.title.clone(), inside => inside });
                }
                return page(
                    ctx,
                    StatusCode::OK,
                    "contents_delete.html",
                    context! { title => ctx.app.i18n.t(lang, "contents-delete-title", &[]), items => items, action => back.clone(), cancel_url => back },
                );
            }
            Some("confirm-delete") => {
                for p in selected(ctx, view, &pairs)? {
                    services.delete(&ctx.principal, &ctx.site, &p).await.map_err(err)?;
                }
                return Ok(crate::views::done(&back, crate::views::Status::Deleted));
            }
            _ => return Err(WebError::BadRequest("unknown action".into())),
        }
    }
    let b_start = crate::traverse::int_param(ctx, "b_start", 0)?;
    let listing = services.children(&ctx.principal, &ctx.site, view, b_start, PAGE).await.map_err(err)?;
    let rows: Vec<minijinja::Value> = listing
        .items
        .iter()
        .map(|s| {
            context! {
                folderish => services.types().get(&s.type_name).is_some_and(|t| t.folderish),
                id => s.id.clone(),
                url => ctx.url(&s.path),
                title => s.title.clone(),
                type_title => crate::json::type_title(ctx, &s.type_name, lang),
                state => s.review_state.as_deref().map(|id| view.workflows.state_title(&s.type_name, id, lang)),
                modified => crate::html::date_text(lang, &s.modified),
                modified_iso => crate::json::iso(&s.modified),
            }
        })
        .collect();
    let clipboard = ctx.clipboard.as_deref().and_then(parse_clipboard).map(|(cut, p)| (cut, p.len()));
    // The folders to move items to (the site's first 500, by path), other than this one.
    let q = beffroi_service::CatalogQuery {
        types: ctx.app.services.types().folderish(),
        sort: beffroi_service::SortOn::Path,
        limit: 500,
        ..Default::default()
    };
    let found = services.search(&ctx.principal, &ctx.site, q).await.map_err(err)?;
    let root = ItemPath::root();
    let targets: Vec<minijinja::Value> = std::iter::once((&root, &ctx.site.title))
        .chain(found.items.iter().map(|f| (&f.path, &f.title)))
        .filter(|(path, _)| **path != view.item.path)
        .map(|(path, title)| {
            let value = if path.is_root() { "/" } else { path.as_str() };
            context! { path => value.to_owned(), title => title.clone(), depth => path.depth() }
        })
        .collect();
    page(
        ctx,
        StatusCode::OK,
        "contents.html",
        context! {
            title => ctx.app.i18n.t(lang, "contents-title", &[("title", view.item.title.clone().into())]),
            folder_url => here,
            action => back,
            rows => rows,
            total => listing.total,
            first => b_start + 1,
            clipboard => clipboard.map(|(cut, n)| context! { cut => cut, count => n }),
            targets => targets,
        },
    )
}

/// `@@rename`: a new id (the old address then redirects) and a new title.
pub(crate) async fn rename(ctx: &Ctx<'_>, view: &ItemView, body: Option<&[u8]>) -> Result<Response, WebError> {
    let services = &ctx.app.services;
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let lang = ctx.site.language;
    if view.item.path.is_root() {
        return Err(WebError::BadRequest("the site root cannot be renamed".into()));
    }
    let action = format!("{}/@@rename", ctx.url(&view.item.path));
    let mut error = None;
    let (mut new_id, mut new_title) = (view.item.id.clone(), view.item.title.clone());
    if let Some(body) = body {
        let pairs = form_pairs(body)?;
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
        (new_id, new_title) = (get("id"), get("title"));
        let mut path = view.item.path.clone();
        let title = (new_title != view.item.title).then_some(new_title.as_str());
        let outcome =
            services.rename_with_title(&ctx.principal, &ctx.site, &path, &new_id, title).await.map(|i| path = i.path);
        match outcome {
            Ok(()) => {
                let parent = path.parent().unwrap_or_else(ItemPath::root);
                return Ok(crate::views::done(
                    &format!("{}/@@folder_contents", ctx.url(&parent)),
                    crate::views::Status::Renamed,
                ));
            }
            Err(e @ (ServiceError::BadRequest(_) | ServiceError::Conflict(_) | ServiceError::Invalid(_))) => {
                error = Some(e.to_string());
            }
            Err(e) => return Err(err(e)),
        }
    }
    let mut res = page(
        ctx,
        if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK },
        "rename.html",
        context! {
            title => ctx.app.i18n.t(lang, "rename-title", &[("title", view.item.title.clone().into())]),
            action => action,
            id => new_id,
            item_title => new_title,
            error => error,
            cancel_url => ctx.url(&view.item.path),
        },
    )?;
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipboards_are_read_strictly() {
        let (cut, p) = parse_clipboard("cut%3A%2Fa%7C%2Fa%2Fb").unwrap();
        assert!(cut);
        assert_eq!(p.iter().map(ItemPath::as_str).collect::<Vec<_>>(), ["/a", "/a/b"]);
        assert!(parse_clipboard("move:/a").is_none());
        assert!(parse_clipboard("copy:/../x").is_none());
        assert!(parse_clipboard("copy:").is_none());
    }
}
