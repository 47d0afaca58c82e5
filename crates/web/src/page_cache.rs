//! The anonymous page cache: the pages and JSON of content that visitors who are not
//! signed in ask for, kept as answered, in memory, least recently used first out past
//! a size. An entry is used only while its site has not changed in this process since
//! the page was made (the services' change clock, read before making it: a change
//! committed while it was made counts), and for at most its time to live, which bounds
//! what this process cannot see (another server's changes, time making an item
//! effective). Never for a request with credentials or cookies of ours, nor for views
//! (`@@…`) and endpoints (`@…`); a client's `Cache-Control: no-cache` skips it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use beffroi_model::SiteId;
use bytes::Bytes;

/// What identifies a cached answer: host, path with query, JSON or not.
type Key = (String, String, bool);

struct Entry {
    site: SiteId,
    /// The change clock when the page began to be made.
    seen: u64,
    made: Instant,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Entry {
    fn size(&self) -> usize {
        self.body.len() + self.headers.iter().map(|(k, v)| k.as_str().len() + v.len()).sum::<usize>() + 256
    }
}

struct Inner {
    map: hashlink::LruCache<Key, Entry>,
    bytes: usize,
}

pub(crate) struct PageCache {
    inner: Mutex<Inner>,
    max_bytes: usize,
    ttl: Duration,
}

/// The header saying whether an answer came from the cache (`hit`) or was made
/// (`miss`): for operators and tests.
pub(crate) const CACHE_HEADER: &str = "x-beffroi-cache";

/// A request the cache may answer: a GET or HEAD of content, without credentials nor
/// any cookie of ours, not asking for a fresh answer. Its key, if so: `origin` is the
/// scheme and host the answer's addresses are made with (a trusted proxy's public
/// host, else the Host header), so no answer made for one host is given to another.
pub(crate) fn key(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    json: bool,
    origin: impl FnOnce() -> Option<String>,
) -> Option<Key> {
    if !matches!(*method, Method::GET | Method::HEAD) || path.split('/').any(|s| s.starts_with('@')) {
        return None;
    }
    if headers.contains_key(header::AUTHORIZATION) || headers.contains_key(header::COOKIE) {
        return None;
    }
    let fresh = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("no-cache"))
    };
    if fresh(header::CACHE_CONTROL) || fresh(header::PRAGMA) {
        return None;
    }
    let target = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    Some((origin()?, target, json))
}

impl PageCache {
    pub(crate) fn new(max_bytes: usize, ttl: Duration) -> Self {
        PageCache { inner: Mutex::new(Inner { map: hashlink::LruCache::new_unbounded(), bytes: 0 }), max_bytes, ttl }
    }

    /// The kept answer for `key`, if still true (`fresh` says whether its site is
    /// unchanged since a clock reading); a stale one is dropped.
    pub(crate) fn get(&self, key: &Key, request: &HeaderMap, fresh: impl Fn(&SiteId, u64) -> bool) -> Option<Response> {
        let mut inner = self.inner.lock().expect("page cache lock");
        let entry = inner.map.get(key)?;
        if entry.made.elapsed() > self.ttl || !fresh(&entry.site, entry.seen) {
            let gone = inner.map.remove(key).map(|e| e.size()).unwrap_or(0);
            inner.bytes -= gone;
            return None;
        }
        let etag = entry.headers.get(header::ETAG).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let modified = entry
            .headers
            .get(header::LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
            .map(|d| d.with_timezone(&chrono::Utc));
        let not_modified = crate::traverse::not_modified(request, etag, modified);
        let (status, body) =
            if not_modified { (StatusCode::NOT_MODIFIED, Bytes::new()) } else { (entry.status, entry.body.clone()) };
        let mut res = Response::new(axum::body::Body::from(body));
        *res.status_mut() = status;
        *res.headers_mut() = entry.headers.clone();
        res.headers_mut().insert(CACHE_HEADER, HeaderValue::from_static("hit"));
        Some(res)
    }

    /// Keeps an answer made for `key` (the clock read `seen` before it was made) and
    /// gives it back; only a 200 of HTML or JSON that sets no cookie is kept.
    pub(crate) async fn keep(&self, key: Key, site: SiteId, seen: u64, res: Response) -> Response {
        let keepable = res.status() == StatusCode::OK
            && !res.headers().contains_key(header::SET_COOKIE)
            && res
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("text/html") || t.starts_with("application/json"));
        if !keepable {
            return res;
        }
        let (mut parts, body) = res.into_parts();
        // Pages and JSON are made in memory: reading them whole costs nothing more.
        let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
            return Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .body(axum::body::Body::empty())
                .unwrap_or_default();
        };
        parts.headers.insert(CACHE_HEADER, HeaderValue::from_static("miss"));
        let entry = Entry {
            site,
            seen,
            made: Instant::now(),
            status: parts.status,
            headers: parts.headers.clone(),
            body: bytes.clone(),
        };
        let size = entry.size();
        // One page never takes more than an eighth of the cache.
        if size <= self.max_bytes / 8 {
            let mut inner = self.inner.lock().expect("page cache lock");
            if let Some(old) = inner.map.insert(key, entry) {
                inner.bytes -= old.size();
            }
            inner.bytes += size;
            while inner.bytes > self.max_bytes {
                match inner.map.remove_lru() {
                    Some((_, e)) => inner.bytes -= e.size(),
                    None => break,
                }
            }
        }
        Response::from_parts(parts, axum::body::Body::from(bytes))
    }
}
