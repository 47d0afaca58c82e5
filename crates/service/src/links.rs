//! Internal links that survive moves, as Plone's `resolveuid`: on save, a link or image
//! in rich text that points to an item of this site is stored as
//! `resolveuid/<uid>[/rest]`; on display it becomes the item's current address. The
//! web layer, the importers and applications all store and show links this way.

use std::collections::HashMap;

use beffroi_model::ItemPath;
use beffroi_model::security::Principal;
use beffroi_store::SiteRow;
use serde_json::{Map, Value};

use crate::{Result, Services};

/// The path part of a URL ("/" when it has none).
fn url_path(url: &str) -> String {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    url[after..].find('/').map(|i| url[after + i..].to_owned()).unwrap_or_else(|| "/".to_owned())
}

/// The stored form's prefix.
pub const PREFIX: &str = "resolveuid/";

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
fn site_path<'a>(url_base: &str, url: &'a str) -> Option<&'a str> {
    let rest = if let Some(r) = url.strip_prefix(url_base) {
        r
    } else if url.starts_with('/') && !url.starts_with("//") {
        let base_path = url_path(url_base);
        let base_path = if base_path == "/" { "" } else { base_path.as_str() };
        url.strip_prefix(base_path)?
    } else {
        return None;
    };
    (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?') || rest.starts_with('#')).then_some(rest)
}

impl Services {
    /// Rewrites the internal links of every rich-text value to the `resolveuid` form:
    /// each names the deepest item of its path that `actor` may view. `url_base` is the
    /// site's address as the client sees it.
    pub async fn internalize_links(
        &self,
        actor: &Principal,
        site: &SiteRow,
        url_base: &str,
        values: &mut Map<String, Value>,
    ) -> Result<()> {
        for v in values.values_mut() {
            let Some(data) = rich_html(v) else {
                continue;
            };
            let mut changes = Vec::new();
            for (s, e) in link_spans(data)
                .into_iter()
                .filter(|(s, e)| site_path(url_base, &data[*s..*e]).is_some())
                .take(MAX_LINKS)
            {
                let url = &data[s..e];
                let Some(rest) = site_path(url_base, url) else { continue };
                // Split off the query, the fragment and any view or endpoint segment.
                let cut = rest.find(['?', '#']).unwrap_or(rest.len());
                let (path_part, tail) = rest.split_at(cut);
                let segs: Vec<&str> = path_part.split('/').filter(|p| !p.is_empty()).collect();
                let content = segs.iter().position(|s| s.starts_with('@') || s.starts_with("++")).unwrap_or(segs.len());
                let Ok(mut path) = ItemPath::from_segments(segs[..content].iter().copied()) else { continue };
                let mut suffix: Vec<String> = segs[content..].iter().map(|s| (*s).to_owned()).collect();
                // The deepest item of the path the editor may view is the target.
                let found = loop {
                    match self.item(actor, site, &path).await {
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

    /// Rewrites `resolveuid` links to the current addresses of their items under
    /// `url_base`.
    pub async fn externalize_links(&self, site: &SiteRow, url_base: &str, html: &str) -> Result<String> {
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
        let paths: HashMap<uuid::Uuid, ItemPath> = self.paths_of(site, &uuids).await?;
        let changes: Vec<(usize, usize, String)> = found
            .into_iter()
            .map(|(s, e, u, tail)| {
                let url = match paths.get(&u) {
                    Some(p) => format!("{url_base}{}", p.as_str()),
                    None => format!("{url_base}/{PREFIX}{}", u.simple()),
                };
                (s, e, format!("{url}{tail}"))
            })
            .collect();
        Ok(replace_spans(html, &changes))
    }

    /// Rewrites the `resolveuid` links of every rich-text value of `fields` in place.
    pub async fn externalize_fields(
        &self,
        site: &SiteRow,
        url_base: &str,
        fields: &mut Map<String, Value>,
    ) -> Result<()> {
        for v in fields.values_mut() {
            if let Some(html) = rich_html(v).filter(|h| h.contains(PREFIX)) {
                v["data"] = Value::String(self.externalize_links(site, url_base, html).await?);
            }
        }
        Ok(())
    }
}

/// The HTML of a rich-text value (`{"content-type", "data"}`), if it is one.
pub fn rich_html(v: &Value) -> Option<&str> {
    v.get("data").and_then(Value::as_str).filter(|_| v.get("content-type").is_some())
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
