//! Purge requests to reverse proxies: when content changes, a `PURGE` (Varnish's and
//! most caches' verb) of the pages that showed it — the item, its folder, the site's
//! home page; a moved item's old addresses too — to each configured proxy, under the
//! site's path and under each host name mapped to the site. Sent after the change
//! committed, from a task of its own: a proxy that is down or slow delays nothing and
//! is only logged; the pages it kept then live until they expire.

use std::time::Duration;

use beffroi_model::ItemPath;
use beffroi_service::{Event, EventKind, Services};
use tokio::sync::broadcast::error::RecvError;

/// How long a proxy has to answer one purge.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The addresses a change makes stale, as site-relative paths.
fn stale_paths(event: &Event) -> Vec<ItemPath> {
    let mut out: Vec<ItemPath> = Vec::new();
    let mut add = |p: &ItemPath| {
        if !out.contains(p) {
            out.push(p.clone());
        }
    };
    add(&event.path);
    if let Some(parent) = event.path.parent() {
        add(&parent);
    }
    if let EventKind::Moved { from } = &event.kind {
        add(from);
        if let Some(parent) = from.parent() {
            add(&parent);
        }
    }
    add(&ItemPath::root());
    out
}

/// Starts purging on `proxies` (base URLs such as `http://varnish:6081`) at every
/// change `services` commits. Nothing with no proxy.
pub(crate) fn spawn(services: Services, proxies: Vec<reqwest::Url>) {
    if proxies.is_empty() {
        return;
    }
    let client = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot make the purge client: no purge will be sent");
            return;
        }
    };
    let method = reqwest::Method::from_bytes(b"PURGE").expect("a valid method name");
    let mut events = services.subscribe();
    tokio::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(e) => e,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "changes came faster than purges: some pages stay in the proxies until they expire"
                    );
                    continue;
                }
                Err(RecvError::Closed) => break,
            };
            let site = match services.site(&event.site).await {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, site = %event.site, "cannot read the site to purge its pages");
                    continue;
                }
            };
            let mut requests = Vec::new();
            for path in stale_paths(&event) {
                let in_site = if path.is_root() { String::new() } else { path.as_str().to_owned() };
                for proxy in &proxies {
                    let base = proxy.as_str().trim_end_matches('/');
                    // The site's own address: /<site>/<path>.
                    requests.push(client.request(method.clone(), format!("{base}/{}{in_site}", site.id)));
                    // A host name mapped to the site serves it at its root.
                    for host in &site.hosts {
                        let at = if in_site.is_empty() { "/" } else { in_site.as_str() };
                        requests.push(
                            client.request(method.clone(), format!("{base}{at}")).header(reqwest::header::HOST, host),
                        );
                    }
                }
            }
            let sent = futures_util::future::join_all(requests.into_iter().map(|r| r.send())).await;
            for answer in sent {
                match answer {
                    Ok(r) if r.status().is_success() || r.status() == reqwest::StatusCode::NOT_FOUND => {}
                    Ok(r) => tracing::warn!(status = %r.status(), url = %r.url(), "a proxy refused a purge"),
                    Err(e) => tracing::warn!(error = %e, "a purge did not reach its proxy"),
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_makes_its_page_its_folder_and_the_home_page_stale() {
        let p = |s: &str| ItemPath::parse(s).unwrap();
        let event = |path: &str, kind| Event {
            site: beffroi_model::SiteId::parse("s").unwrap(),
            uuid: uuid::Uuid::nil(),
            path: p(path),
            kind,
        };
        let paths = |e: &Event| stale_paths(e).iter().map(|p| p.as_str().to_owned()).collect::<Vec<_>>();
        assert_eq!(paths(&event("/a/b", EventKind::Modified)), ["/a/b", "/a", ""]);
        assert_eq!(paths(&event("/x/b", EventKind::Moved { from: p("/a/b") })), ["/x/b", "/x", "/a/b", "/a", ""]);
        assert_eq!(paths(&event("/a", EventKind::Created)), ["/a", ""]);
    }
}
