//! Internal links that survive moves, as Plone's `resolveuid`: on save, a link or image
//! in rich text that points to an item of this site is stored as
//! `resolveuid/<uid>[/rest]`; on display it becomes the item's current address; and
//! `<site>/resolveuid/<uid>[/rest]` redirects to it, for links copied elsewhere.

use std::collections::HashMap;

use beffroi_model::ItemPath;
use serde_json::{Map, Value};

use crate::error::WebError;
use crate::traverse::Ctx;

/// The stored form's prefix.
const PREFIX: &str = "resolveuid/";

/// Most links of one text rewritten (each may cost a lookup); the rest stay as typed.
const MAX_LINKS: usize = 300;

/// The byte ranges of the values of `href` and `src` attributes (sanitized HTML: every
/// attribute value is in double quotes).
fn link_spans(html: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for attr in [" href=\"", " src=\""] {
        let mut from = 0;
        while let Some(i) = html[from..].find(attr) {
            let start = from + i + attr.len();
            let Some(len) = html[start..].find('"') else { break };
            out.push((start, start + len));
            from = start + len;
        }
    }
    out.sort_unstable();
    out
}

fn replace_spans(html: &str, spans: &[(usize, usize, String)]) -> String {
    let mut out = String::with_capacity(html.len());
    let mut last = 0;
    for (s, e, new) in spans {
        out.push_str(&html[last..*s]);
        out.push_str(new);
        last = *e;
    }
    out.push_str(&html[last..]);
    out
}

/// The path inside this site that a link names, if it names one: the site's own URL
/// (`http://host/site/a/b`) or its path (`/site/a/b` or, for a mapped host, `/a/b`).
fn site_path<'a>(ctx: &Ctx<'_>, url: &'a str) -> Option<&'a str> {
    let rest = if let Some(r) = url.strip_prefix(&ctx.base) {
        r
    } else if url.starts_with('/') && !url.starts_with("//") {
        let base_path = crate::html::url_path(&ctx.base);
        let base_path = if base_path == "/" { "" } else { base_path.as_str() };
        url.strip_prefix(base_path)?
    } else {
        return None;
    };
    (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?') || rest.starts_with('#')).then_some(rest)
}

/// Rewrites the internal links of every rich-text value to the `resolveuid` form.
pub(crate) async fn internalize(ctx: &Ctx<'_>, values: &mut Map<String, Value>) -> Result<(), WebError> {
    for v in values.values_mut() {
        let Some(data) = rich_html(v) else {
            continue;
        };
        let mut changes = Vec::new();
        for (s, e) in
            link_spans(data).into_iter().filter(|(s, e)| site_path(ctx, &data[*s..*e]).is_some()).take(MAX_LINKS)
        {
            let url = &data[s..e];
            let Some(rest) = site_path(ctx, url) else { continue };
            // Split off the query, the fragment and any view or endpoint segment.
            let cut = rest.find(['?', '#']).unwrap_or(rest.len());
            let (path_part, tail) = rest.split_at(cut);
            let segs: Vec<&str> = path_part.split('/').filter(|p| !p.is_empty()).collect();
            let content = segs.iter().position(|s| s.starts_with('@') || s.starts_with("++")).unwrap_or(segs.len());
            let Ok(mut path) = ItemPath::from_segments(segs[..content].iter().copied()) else { continue };
            let mut suffix: Vec<String> = segs[content..].iter().map(|s| (*s).to_owned()).collect();
            // The deepest item of the path the editor may view is the target.
            let found = loop {
                match ctx.app.services.item(&ctx.principal, &ctx.site, &path).await {
                    Ok(view) => break Some(view.item.uuid),
                    Err(_) => match (path.parent(), path.last().map(str::to_owned)) {
                        (Some(parent), Some(last)) => {
                            suffix.insert(0, last);
                            path = parent;
                        }
                        _ => break None,
                    },
                }
            };
            let Some(uuid) = found else { continue };
            let mut stored = format!("{PREFIX}{}", uuid.simple());
            for s in &suffix {
                stored.push('/');
                stored.push_str(s);
            }
            stored.push_str(tail);
            changes.push((s, e, stored));
        }
        if !changes.is_empty() {
            let new = replace_spans(data, &changes);
            v["data"] = Value::String(new);
        }
    }
    Ok(())
}

/// Rewrites `resolveuid` links to the current addresses of their items.
pub(crate) async fn externalize(ctx: &Ctx<'_>, html: &str) -> Result<String, WebError> {
    if !html.contains(PREFIX) {
        return Ok(html.to_owned());
    }
    let mut found: Vec<(usize, usize, uuid::Uuid, String)> = Vec::new();
    for (s, e) in link_spans(html).into_iter().filter(|(s, e)| html[*s..*e].starts_with(PREFIX)).take(MAX_LINKS) {
        let Some(rest) = html[s..e].strip_prefix(PREFIX) else { continue };
        let (uid, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        if let Ok(u) = uuid::Uuid::try_parse(uid) {
            found.push((s, e, u, tail.to_owned()));
        }
    }
    let uuids: Vec<uuid::Uuid> = found.iter().map(|f| f.2).collect();
    let paths: HashMap<uuid::Uuid, ItemPath> =
        ctx.app.services.paths_of(&ctx.site, &uuids).await.map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    let changes: Vec<(usize, usize, String)> = found
        .into_iter()
        .map(|(s, e, u, tail)| {
            let url = match paths.get(&u) {
                Some(p) => ctx.url(p),
                None => format!("{}/{PREFIX}{}", ctx.base, u.simple()),
            };
            (s, e, format!("{url}{tail}"))
        })
        .collect();
    Ok(replace_spans(html, &changes))
}

/// Rewrites the `resolveuid` links of every rich-text value of `fields` in place.
pub(crate) async fn externalize_fields(ctx: &Ctx<'_>, fields: &mut Map<String, Value>) -> Result<(), WebError> {
    for v in fields.values_mut() {
        if let Some(html) = rich_html(v).filter(|h| h.contains(PREFIX)) {
            v["data"] = Value::String(externalize(ctx, html).await?);
        }
    }
    Ok(())
}

/// The HTML of a rich-text value (`{"content-type", "data"}`), if it is one.
pub(crate) fn rich_html(v: &Value) -> Option<&str> {
    v.get("data").and_then(Value::as_str).filter(|_| v.get("content-type").is_some())
}

/// `<site>/…/resolveuid/<uid>[/rest]`: a redirect to the item's current address.
pub(crate) async fn redirect(ctx: &Ctx<'_>, uid: &str, rest: &[String]) -> Result<axum::response::Response, WebError> {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;
    let not_found = || WebError::NotFound(ctx.request_url.clone());
    let u = uuid::Uuid::try_parse(uid).map_err(|_| not_found())?;
    let paths =
        ctx.app.services.paths_of(&ctx.site, &[u]).await.map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    let path = paths.get(&u).ok_or_else(not_found)?;
    let mut location = ctx.url(path);
    for s in rest {
        location.push('/');
        location.push_str(
            &percent_encoding::utf8_percent_encode(s, crate::traverse::QUERY_ENCODE).to_string().replace("%40", "@"),
        );
    }
    let loc = HeaderValue::from_str(&location).map_err(|_| not_found())?;
    Ok((StatusCode::FOUND, [(header::LOCATION, loc)]).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_in_sanitized_html() {
        let html = r#"<p><a href="http://x/s/a">a</a> <img src="/s/b/@@images/image/preview" alt=""></p>"#;
        let spans = link_spans(html);
        let values: Vec<&str> = spans.iter().map(|(s, e)| &html[*s..*e]).collect();
        assert_eq!(values, ["http://x/s/a", "/s/b/@@images/image/preview"]);
        let replaced = replace_spans(html, &[(spans[0].0, spans[0].1, "X".into())]);
        assert!(replaced.starts_with(r#"<p><a href="X">"#));
    }
}
