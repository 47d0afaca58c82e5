//! The fallback handler: resolve the site, traverse the path to an item, dispatch to
//! the item's view or to a named endpoint, negotiate HTML or JSON.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use beffroi_model::path::PathError;
use beffroi_model::schema::QueryPart;
use beffroi_model::{ItemPath, SiteId};
use beffroi_service::{Found, ItemView, Listing, SiteRow};
use chrono::{DateTime, Utc};
use percent_encoding::percent_decode_str;

use crate::auth::Via;
use crate::error::WebError;
use crate::routes::{Body, Call, Handler, Lookup, Verb};
use crate::{AppState, SiteTag, html, json};

/// Characters left as they are in a query component: RFC 3986's unreserved ones.
pub(crate) const QUERY_ENCODE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// In a path segment '@' may stay too (plone.restapi's endpoints start with it).
const SEGMENT_ENCODE: &percent_encoding::AsciiSet = &QUERY_ENCODE.remove(b'@');

/// Longest request path accepted, in bytes.
const MAX_PATH_LEN: usize = 2048;
/// Default batch of a folder listing: plone.restapi's for JSON, a page for HTML.
const JSON_BATCH: i64 = 25;
const HTML_BATCH: i64 = 20;

/// What every view needs to know about the request. Applications' handlers read the
/// public fields; the others are the platform's own.
pub struct Ctx<'a> {
    pub app: &'a AppState,
    pub site: Arc<SiteRow>,
    /// The site's URL, without a trailing slash.
    pub base: String,
    pub principal: beffroi_model::security::Principal,
    /// How the principal was authenticated (token claims, session and its CSRF token).
    pub(crate) via: Via,
    /// The client's address, for throttling and the audit log ("" when unknown).
    pub(crate) client: String,
    /// Whether the request came over https (cookies then get `Secure`).
    pub(crate) secure: bool,
    pub query: Vec<(String, String)>,
    pub request_url: String,
    /// A posted multipart form, read once: its text fields and its files.
    pub(crate) form: Option<crate::edit::FormData>,
    /// The folder contents clipboard cookie, as sent.
    pub(crate) clipboard: Option<String>,
    /// The confirmation an action left for this page (a cookie), as sent.
    pub(crate) status: Option<String>,
    /// The navigation and breadcrumbs of the item an HTML view is about, so that
    /// editing screens keep them.
    pub(crate) chrome: std::sync::OnceLock<minijinja::Value>,
    /// Whether the request came through `++api++`, as Volto's do.
    pub(crate) via_api: bool,
    /// The site's rules of which types go where.
    pub type_rules: Arc<beffroi_model::schema::TypeRules>,
}

impl Ctx<'_> {
    /// The services, for the use cases of a handler.
    pub fn services(&self) -> &beffroi_service::Services {
        &self.app.services
    }

    /// Whether the site has this route: the platform's always, an application's where
    /// the site has enabled it.
    pub fn has_route(&self, route: &crate::routes::Route) -> bool {
        site_has_route(self.app, &self.site, route)
    }

    /// The value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn url(&self, path: &ItemPath) -> String {
        format!("{}{}", self.base, path.as_str())
    }

    /// Where this request came from, path and query, to come back to after logging in.
    pub fn return_path(&self) -> String {
        let path = crate::html::url_path(&self.request_url);
        match serde_urlencoded::to_string(&self.query) {
            Ok(q) if !q.is_empty() => format!("{path}?{q}"),
            _ => path,
        }
    }
}

/// Why a request failed, with what is known of the site for the error page.
struct Failure {
    err: WebError,
    site: Option<(Arc<SiteRow>, String)>,
}

impl From<WebError> for Failure {
    fn from(err: WebError) -> Self {
        Failure { err, site: None }
    }
}

pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"))
}

/// Whether the path names a JSON endpoint (`/@name`, not an HTML view `/@@name`).
fn names_endpoint(path: &str) -> bool {
    path.split('/').find(|s| s.starts_with('@')).is_some_and(|s| !s.starts_with("@@"))
}

/// The host the client asked for: a trusted proxy's `X-Forwarded-Host`, else `Host`.
/// A proxy that names the public host names its scheme too (Caddy, Traefik); one that
/// sends `X-Forwarded-Host` alone is Volto's server-side rendering, which sends its
/// host name without the port: it reaches the backend at its internal address and
/// expects the answer's URLs there, as Zope gives them (Zope never reads the header).
fn request_host(headers: &HeaderMap, uri: &Uri, via_proxy: bool) -> Result<String, WebError> {
    let with_scheme = headers.contains_key("x-forwarded-proto");
    let forwarded = (via_proxy && with_scheme).then(|| headers.get("x-forwarded-host")).flatten();
    let host = match forwarded.or_else(|| headers.get(header::HOST)) {
        Some(h) => h.to_str().map_err(|_| WebError::BadRequest("invalid Host header".into()))?.to_owned(),
        None => uri.authority().map(|a| a.to_string()).unwrap_or_else(|| "localhost".into()),
    };
    let host = host.split(',').next().unwrap_or_default().trim().to_owned();
    valid_host(&host).ok_or_else(|| WebError::BadRequest("invalid Host header".into()))
}

/// A host name with its port, lowercased, if it is one.
fn valid_host(host: &str) -> Option<String> {
    let ok = !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    ok.then(|| host.to_ascii_lowercase())
}

/// The scheme the client used: a trusted proxy's `X-Forwarded-Proto`, else http.
fn scheme(headers: &HeaderMap, via_proxy: bool) -> &'static str {
    match headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).filter(|_| via_proxy) {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    }
}

/// The traversal segment of plone.rest that makes a request an API call (JSON whatever
/// the Accept header): `/<site>/++api++/<path>`.
pub(crate) const API_SEGMENT: &str = "++api++";

/// Zope's virtual hosting, as a proxy in front of the server writes it:
/// `/VirtualHostBase/<scheme>/<host:port>/<site path>/VirtualHostRoot/[_vh_<prefix>/…]<path>`.
struct VirtualHost {
    /// The public address of the virtual root (scheme, host, the `_vh_` prefix).
    base: String,
    /// The path inside the server up to the virtual root (the site id, `++api++`).
    physical: Vec<String>,
    /// The path below the virtual root.
    rest: Vec<String>,
}

/// Reads a virtual-hosting path; None when the segments are not one (an error when
/// they start as one but are malformed).
fn virtual_host(segs: &[String]) -> Result<Option<VirtualHost>, WebError> {
    if segs.first().map(String::as_str) != Some("VirtualHostBase") {
        return Ok(None);
    }
    let bad = || {
        WebError::BadRequest(
            "malformed virtual hosting path (VirtualHostBase/<scheme>/<host:port>/…/VirtualHostRoot/…)".into(),
        )
    };
    let scheme = match segs.get(1).map(String::as_str) {
        Some(s) if s.eq_ignore_ascii_case("http") => "http",
        Some(s) if s.eq_ignore_ascii_case("https") => "https",
        _ => return Err(bad()),
    };
    let host = segs.get(2).and_then(|h| valid_host(h)).ok_or_else(bad)?;
    let root = segs.iter().position(|s| s == "VirtualHostRoot").filter(|i| *i >= 3).ok_or_else(bad)?;
    let after = &segs[root + 1..];
    let prefix: Vec<&str> = after.iter().map_while(|s| s.strip_prefix("_vh_")).collect();
    if prefix.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let mut base = format!("{scheme}://{host}");
    for p in &prefix {
        base.push('/');
        base.push_str(&percent_encoding::utf8_percent_encode(p, SEGMENT_ENCODE).to_string());
    }
    Ok(Some(VirtualHost { base, physical: segs[3..root].to_vec(), rest: after[prefix.len()..].to_vec() }))
}

/// The path's segments, percent-decoded. A trailing slash is ignored; an empty segment
/// inside the path cannot name anything.
fn decode_segments(raw: &str, url: &str) -> Result<Vec<String>, WebError> {
    if raw.len() > MAX_PATH_LEN {
        return Err(WebError::UriTooLong);
    }
    let parts: Vec<&str> = raw.split('/').skip(1).collect();
    let last = parts.len().saturating_sub(1);
    let mut segs = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() {
            if i == last {
                continue;
            }
            return Err(WebError::NotFound(url.to_owned()));
        }
        let d = percent_decode_str(p)
            .decode_utf8()
            .map_err(|_| WebError::BadRequest("the address is not valid UTF-8".into()))?;
        segs.push(d.into_owned());
    }
    Ok(segs)
}

/// Largest JSON body accepted by the endpoints.
const MAX_JSON_BODY: usize = 1024 * 1024;

/// The largest body of a content write: a file of the upload limit in base64 (4/3 of
/// its size) and the other fields.
pub(crate) fn content_body_limit(app: &AppState) -> u64 {
    app.services.upload_limit().saturating_mul(4) / 3 + MAX_JSON_BODY as u64
}

/// The names at a site's root that are its files for crawlers, not items (an item
/// cannot take them there).
const ROOT_FILES: [&str; 2] = ["sitemap.xml", "robots.txt"];

pub(crate) async fn handle(State(app): State<Arc<AppState>>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    // plone.restapi's endpoints answer JSON whatever the Accept header, errors too.
    let json = wants_json(&headers) || names_endpoint(uri.path()) || uri.path().split('/').any(|s| s == API_SEGMENT);
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let client = crate::client::address(peer, &headers, &app.options.trusted_proxies);
    let via_proxy = peer.is_some_and(|p| app.options.trusted_proxies.iter().any(|t| t.contains(p)));
    // What anonymous visitors read may come from the page cache, and go to it, under
    // the origin its addresses are made with.
    let origin =
        || request_host(&headers, &uri, via_proxy).ok().map(|h| format!("{}://{h}", scheme(&headers, via_proxy)));
    let cached = app.page_cache.as_ref().and_then(|cache| {
        Some((cache, crate::page_cache::key(&method, uri.path(), uri.query(), &headers, json, origin)?))
    });
    if let Some((cache, key)) = &cached
        && let Some(mut res) = cache.get(key, &headers, |site, seen| app.services.unchanged_since(site, seen))
    {
        if method == Method::HEAD {
            *res.body_mut() = axum::body::Body::empty();
        }
        return res;
    }
    let seen = app.services.change_clock();
    let answer = route(&app, &method, &uri, &headers, json, body, &client, via_proxy);
    // Reading requests have a time budget (writes may be long uploads). It stops the
    // handler at its next await; CPU-heavy work runs on blocking threads, so it does
    // not hold an async worker meanwhile. A body streamed after the headers (a large
    // download) is not counted.
    let answer = match app.options.request_timeout {
        Some(limit) if matches!(method, Method::GET | Method::HEAD) => {
            tokio::time::timeout(limit, answer).await.unwrap_or_else(|_| {
                tracing::warn!(method = %method, path = %uri.path(), limit_s = limit.as_secs(), "request over its time budget");
                Err(WebError::TimedOut(limit).into())
            })
        }
        _ => answer.await,
    };
    let mut res = match answer {
        Ok(r) => r,
        Err(f) => error_response(&app, f, json),
    };
    // A confirmation is shown once: the page that showed it clears it.
    if crate::is_html(res.headers())
        && res.status() == StatusCode::OK
        && crate::auth::cookie(&headers, crate::views::STATUS_COOKIE).is_some()
    {
        let clear = format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", crate::views::STATUS_COOKIE);
        if let Ok(v) = HeaderValue::from_str(&clear) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    if let Some((cache, key)) = cached
        && let Some(site) = res.extensions().get::<SiteTag>().and_then(|t| SiteId::parse(&t.0).ok())
    {
        res = cache.keep(key, site, seen, res).await;
    }
    if method == Method::HEAD {
        *res.body_mut() = axum::body::Body::empty();
    }
    res
}

#[expect(clippy::too_many_arguments, reason = "one request's parts, read once in handle")]
async fn route(
    app: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    json: bool,
    body: axum::body::Body,
    client: &str,
    via_proxy: bool,
) -> Result<Response, Failure> {
    let host = request_host(headers, uri, via_proxy)?;
    let scheme = scheme(headers, via_proxy);
    let mut request_url = format!("{scheme}://{host}{}", uri.path());
    let segs = decode_segments(uri.path(), &request_url)?;
    let vhost = virtual_host(&segs)?;
    // Only a proxy the server trusts may say under which address it is seen: anyone
    // else could have pages link (and forms post) to a host of their choosing.
    if vhost.is_some() && !via_proxy {
        return Err(WebError::Forbidden("virtual hosting paths are taken from a trusted proxy only".into()).into());
    }
    if let Some(v) = &vhost {
        request_url = format!("{}/{}", v.base, v.rest.join("/"));
    }
    let service_err = |e| WebError::from_service(e, &request_url);
    let not_found = || WebError::NotFound(request_url.clone());

    let (site, base, segs): (_, String, Vec<String>) = match vhost {
        // The site is the first segment of the path inside the server.
        Some(v) => {
            let mut physical = v.physical.iter().filter(|s| *s != API_SEGMENT);
            let id = physical.next().ok_or_else(not_found)?;
            let id = SiteId::parse(id).map_err(|_| not_found())?;
            let site = app.services.site(&id).await.map_err(service_err)?.ok_or_else(not_found)?;
            let segs = physical.chain(v.rest.iter()).cloned().collect();
            (site, v.base, segs)
        }
        None => match app.services.site_for_host(&host).await.map_err(service_err)? {
            Some(site) => (site, format!("{scheme}://{host}"), segs),
            None => {
                let Some(first) = segs.first() else {
                    return landing(app, json, &format!("{scheme}://{host}")).await;
                };
                let id = SiteId::parse(first).map_err(|_| not_found())?;
                let site = app.services.site(&id).await.map_err(service_err)?.ok_or_else(not_found)?;
                (site, format!("{scheme}://{host}/{id}"), segs[1..].to_vec())
            }
        },
    };
    // `++api++` makes the request an API call and names nothing; twice is refused
    // (plone.rest: a traversal loop).
    if segs.iter().filter(|s| *s == API_SEGMENT).count() > 1 {
        return Err(not_found().into());
    }
    // As Volto asks: `++api++` in the path, also inside a virtual hosting path.
    let via_api = uri.path().split('/').any(|s| s == API_SEGMENT);
    let segs: Vec<String> = segs.into_iter().filter(|s| s != API_SEGMENT).collect();
    let segs = segs.as_slice();
    let with_site = |err: WebError| Failure { err, site: Some((site.clone(), base.clone())) };

    // The site's files for crawlers answer at its root, as the views named after them.
    let root_file;
    let segs = match segs {
        [name] if ROOT_FILES.contains(&name.as_str()) => {
            root_file = [format!("@@{name}")];
            &root_file[..]
        }
        _ => segs,
    };
    let split = segs.iter().position(|s| s.starts_with('@')).unwrap_or(segs.len());
    let (content, rest) = segs.split_at(split);
    // A named endpoint or view comes from the registry: an unknown name is 404, a
    // known one called with a method it does not take 405.
    let route = match rest.first() {
        None => None,
        Some(name) => match app.routes.lookup(name, method, rest.len() - 1) {
            // An application's routes exist only on the sites that enabled it.
            Lookup::Found(r) if site_has_route(app, &site, r) => Some(r),
            Lookup::Found(_) => return Err(with_site(WebError::NotFound(request_url.clone()))),
            Lookup::WrongMethod => return Err(with_site(WebError::MethodNotAllowed)),
            Lookup::Unknown => return Err(with_site(WebError::NotFound(request_url.clone()))),
        },
    };
    // Content itself: read (GET), create inside (POST), change (PATCH), delete (DELETE).
    let is_post = match route {
        Some(r) => r.verb != Verb::Get,
        None if matches!(*method, Method::GET | Method::HEAD) => false,
        None if matches!(*method, Method::POST | Method::PATCH | Method::DELETE) => true,
        None => return Err(with_site(WebError::MethodNotAllowed)),
    };
    let auth = crate::auth::authenticate(app, &site, headers, client).await.map_err(with_site)?;
    let origin = format!("{scheme}://{host}");
    let mut form = None;
    let body = if is_post {
        // Another site's page may not make a visitor's browser change anything here.
        // Browsers attach cookies and cached Basic credentials by themselves, never a
        // bearer token: only the latter is exempt.
        if !matches!(auth.via, Via::Bearer(_)) && !crate::auth::same_origin(headers, &origin) {
            return Err(with_site(WebError::Forbidden("Cross-site requests are refused.".into())));
        }
        // Content writes and the add and edit forms may carry a file: in a multipart
        // form, spooled to disk as it arrives; or base64 in JSON (4/3 of its size),
        // which is read whole. Nothing past the limit is read.
        let carries_file = route.is_none_or(|r| r.body == Body::Upload);
        let header_csrf = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
        let session_csrf = match &auth.via {
            Via::Session { csrf, .. } => Some(csrf.as_str()),
            _ => None,
        };
        // The token a form must carry itself (none when the header has it right).
        let form_csrf =
            session_csrf.filter(|expected| !header_csrf.is_some_and(|t| crate::auth::constant_eq(t, expected)));
        let bytes = if carries_file && crate::edit::is_multipart(headers) {
            form = Some(crate::edit::read_multipart(app, headers, body, form_csrf).await.map_err(with_site)?);
            bytes::Bytes::new()
        } else {
            let limit = if carries_file {
                usize::try_from(content_body_limit(app)).unwrap_or(usize::MAX)
            } else {
                MAX_JSON_BODY
            };
            axum::body::to_bytes(body, limit).await.map_err(|e| with_site(body_error(e)))?
        };
        if let Some(expected) = form_csrf {
            let sent = form
                .as_ref()
                .and_then(|f| f.get("_csrf").map(str::to_owned))
                .or_else(|| crate::views::form_field(&bytes, "_csrf"));
            if !sent.is_some_and(|t| crate::auth::constant_eq(&t, expected)) {
                return Err(with_site(WebError::Forbidden("Missing or invalid CSRF token.".into())));
            }
        }
        Some(bytes)
    } else {
        None
    };
    let path = ItemPath::from_segments(content.iter().map(String::as_str)).map_err(|e| {
        with_site(match e {
            PathError::TooDeep => WebError::BadRequest("the path is too deep".into()),
            PathError::Segment(_) => WebError::NotFound(request_url.clone()),
        })
    })?;
    let query: Vec<(String, String)> = Query::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|_| with_site(WebError::BadRequest("malformed query string".into())))?;

    let ctx = Ctx {
        app,
        site: site.clone(),
        base: base.clone(),
        principal: auth.principal,
        via: auth.via,
        client: client.to_owned(),
        secure: scheme == "https",
        query,
        request_url: request_url.clone(),
        form,
        clipboard: crate::auth::cookie(headers, crate::contents::CLIPBOARD_COOKIE).map(str::to_owned),
        status: crate::auth::cookie(headers, crate::views::STATUS_COOKIE).map(str::to_owned),
        chrome: std::sync::OnceLock::new(),
        via_api,
        type_rules: app.services.type_rules(&site).await.map_err(|e| with_site(service_err(e)))?,
    };

    // The site's own views (login, logout, search) answer on any path, whatever may be
    // viewed there; those with the site's navigation take it from the root.
    if let Some(r) = route
        && let Handler::Site(handler) = r.handler
    {
        if !json
            && r.chrome
            && let Ok(Found::Item(root)) = app.services.get(&ctx.principal, &site, &ItemPath::root()).await
        {
            set_chrome(&ctx, &root).await.map_err(with_site)?;
        }
        let call = Call { ctx: &ctx, headers, rest: &rest[1..], body: body.as_deref() };
        return handler(call).await.map(|r| (tag(&site), r).into_response()).map_err(with_site);
    }

    // `…/resolveuid/<uid>[/rest]`: where the item with that UID is now.
    if let Some(i) = content.iter().position(|s| s == "resolveuid")
        && let Some(uid) = content.get(i + 1)
    {
        let tail: Vec<String> = content[i + 2..].iter().chain(rest.iter()).cloned().collect();
        return crate::links::redirect(&ctx, uid, &tail)
            .await
            .map(|r| (tag(&site), r).into_response())
            .map_err(with_site);
    }
    let view = match app.services.get(&ctx.principal, &site, &path).await {
        Ok(Found::Item(v)) => *v,
        Ok(Found::Moved(new)) => {
            let mut location = ctx.url(&new);
            for s in rest {
                location.push('/');
                location.push_str(&percent_encoding::utf8_percent_encode(s, SEGMENT_ENCODE).to_string());
            }
            if let Some(q) = uri.query() {
                location.push('?');
                location.push_str(q);
            }
            let loc =
                HeaderValue::from_str(&location).map_err(|_| with_site(WebError::BadRequest("bad redirect".into())))?;
            return Ok((StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, loc)], tag(&site)).into_response());
        }
        Ok(Found::Missing) => return Err(with_site(WebError::NotFound(request_url.clone()))),
        // An anonymous visitor of a page is sent to the login form, and back after.
        Err(beffroi_service::ServiceError::Unauthorized)
            if !json
                && ctx.principal == beffroi_model::security::Principal::Anonymous
                && !is_post
                && !route.is_some_and(|r| r.document) =>
        {
            let came_from = match uri.query() {
                Some(q) => format!("{}?{q}", uri.path()),
                None => uri.path().to_owned(),
            };
            return Ok((tag(&site), crate::views::redirect_to_login(&ctx, &came_from)).into_response());
        }
        Err(e) => return Err(with_site(service_err(e))),
    };

    let res = match (route, body) {
        (None, Some(body)) => json::content_write(&ctx, &view, method, headers, &body).await,
        (None, None) => item_view(&ctx, &view, json, headers).await,
        (Some(r), body) => {
            if !r.access.allows(&ctx.principal, Some(&view)) {
                // An anonymous visitor of a view is sent to the login form, and back after.
                if ctx.principal == beffroi_model::security::Principal::Anonymous && r.is_view() && !r.document {
                    return Ok((tag(&site), crate::views::redirect_to_login(&ctx, &ctx.return_path())).into_response());
                }
                return Err(with_site(WebError::Unauthorized));
            }
            if !json && r.chrome {
                set_chrome(&ctx, &view).await.map_err(with_site)?;
            }
            let call = Call { ctx: &ctx, headers, rest: &rest[1..], body: body.as_deref() };
            r.handler.run(call, &view).await
        }
    };
    res.map(|r| (tag(&site), r).into_response()).map_err(with_site)
}

fn tag(site: &SiteRow) -> axum::Extension<SiteTag> {
    axum::Extension(SiteTag(site.id.to_string()))
}

pub(crate) const JSON: &str = "application/json";
const HTML: &str = "text/html; charset=utf-8";

pub(crate) fn json_body(v: &serde_json::Value) -> String {
    serde_json::to_string(v).expect("JSON values serialize")
}

/// A JSON answer without validators (to a write).
pub(crate) fn json_answer(v: &serde_json::Value) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static(JSON))], json_body(v)).into_response()
}

/// Whether `site` has `route`: the platform's always, an application's where the site
/// has enabled it.
pub(crate) fn site_has_route(app: &AppState, site: &SiteRow, route: &crate::routes::Route) -> bool {
    route.app == crate::endpoints::PLATFORM || app.services.has_app(site, route.app)
}

/// Largest value of a numeric query parameter: far beyond any real folder, small enough
/// that offset arithmetic cannot overflow.
const MAX_PARAM: i64 = 1_000_000_000;

pub(crate) fn int_param(ctx: &Ctx<'_>, name: &str, default: i64) -> Result<i64, WebError> {
    match ctx.query.iter().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=MAX_PARAM).contains(n))
            .ok_or_else(|| WebError::BadRequest(format!("{name} must be an integer from 0 to {MAX_PARAM}"))),
    }
}

/// An item's page or JSON. A folder with a default page (Plone's `default_page`) shows
/// that page in its HTML, as Plone does; its JSON stays the folder's own, as
/// plone.restapi serves it.
async fn item_view(ctx: &Ctx<'_>, view: &ItemView, json: bool, headers: &HeaderMap) -> Result<Response, WebError> {
    if !json && let Some(page) = default_page(ctx, view).await? {
        return item_response(ctx, &page, false, headers).await;
    }
    item_response(ctx, view, json, headers).await
}

/// plone.restapi's expansion: for each name of `?expand=a,b` (or repeated) that is one
/// of the item's `@components` and that the caller may call, the component's own
/// answer replaces its `{"@id"}` entry, as a GET of it would give it (its parameters,
/// `expand.navigation.depth` for instance, ride along in the query). A component the
/// caller may not call keeps its `@id` (Volto leaves out `types` for anonymous
/// visitors). Returns whether anything was expanded.
async fn expand(ctx: &Ctx<'_>, view: &ItemView, v: &mut serde_json::Value) -> Result<bool, WebError> {
    // Each component once, however often it is named.
    let names: std::collections::BTreeSet<&str> = ctx
        .query
        .iter()
        .filter(|(k, _)| k == "expand" || k == "expand:list")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let mut expanded = false;
    for name in names {
        let Some(route) = ctx.app.routes.component(name).filter(|r| r.offered(ctx, view)) else { continue };
        let headers = HeaderMap::new();
        let answer = route.handler.run(Call { ctx, headers: &headers, rest: &[], body: None }, view).await;
        // A component its caller may not read (a 401 from its service) stays a link.
        let Ok(answer) = answer else { continue };
        if !answer.status().is_success() {
            continue;
        }
        let Ok(bytes) = axum::body::to_bytes(answer.into_body(), 64 * 1024 * 1024).await else { continue };
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else { continue };
        v["@components"][name] = value;
        expanded = true;
    }
    Ok(expanded)
}

/// The default page `view` shows in its place: the child its `default_page` names by
/// UID, when still there and visible to the visitor (else the folder shows itself).
async fn default_page(ctx: &Ctx<'_>, view: &ItemView) -> Result<Option<ItemView>, WebError> {
    let Some(uid) = view.item.fields.get(beffroi_service::DEFAULT_PAGE).and_then(serde_json::Value::as_str) else {
        return Ok(None);
    };
    let Ok(uuid) = uuid::Uuid::try_parse(uid) else { return Ok(None) };
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let paths = ctx.app.services.paths_of(&ctx.site, &[uuid]).await.map_err(err)?;
    let Some(path) = paths.get(&uuid).filter(|p| p.parent().as_ref() == Some(&view.item.path)) else {
        return Ok(None);
    };
    match ctx.app.services.get(&ctx.principal, &ctx.site, path).await {
        Ok(Found::Item(page)) => Ok(Some(*page)),
        Ok(_) | Err(beffroi_service::ServiceError::Unauthorized) => Ok(None),
        Err(e) => Err(err(e)),
    }
}

async fn item_response(ctx: &Ctx<'_>, view: &ItemView, json: bool, headers: &HeaderMap) -> Result<Response, WebError> {
    // Links stored by UID show the items' current addresses, in every rich-text field.
    let resolved;
    let view =
        if view.item.fields.values().any(|v| crate::links::rich_html(v).is_some_and(|h| h.contains("resolveuid/"))) {
            let mut v = view.clone();
            crate::links::externalize_fields(ctx, &mut v.item.fields).await?;
            resolved = v;
            &resolved
        } else {
            view
        };
    let folderish = view.is_folderish(ctx.app.services.types());
    let b_size =
        int_param(ctx, "b_size", if json { JSON_BATCH } else { HTML_BATCH })?.clamp(1, beffroi_service::MAX_BATCH);
    let b_start = int_param(ctx, "b_start", 0)?;
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let mut b_size = b_size;
    // A type's own page may show no contents: then they are not read.
    let page =
        ctx.app.pages.get(view.item.type_name.as_str()).filter(|(app, _)| ctx.app.services.has_app(&ctx.site, app));
    let contents_shown = json || page.is_none_or(|(_, p)| p.contents);
    let layout = ctx.app.services.types().get(&view.item.type_name).map(|s| crate::json::layout(s, &view.item.fields));
    let layout = layout.as_deref().unwrap_or("view");
    // A page composed of blocks shows them in place of its contents.
    let composed = !json && beffroi_model::blocks::has_blocks(&view.item.fields);
    let contents_shown = contents_shown && !composed;
    // The event listing reads its events itself, and shows them by month.
    let events = if !json && layout == crate::listing::EVENTS && contents_shown {
        Some(crate::listing::events(ctx, view, ctx.param("past").is_some()).await?)
    } else {
        None
    };
    let listing: Option<Listing> = if events.is_some() {
        None
    } else if folderish && contents_shown && !json && layout == crate::listing::NEWS {
        Some(crate::listing::newest_first(ctx, view, b_start, b_size).await?)
    } else if folderish && contents_shown {
        Some(ctx.app.services.children(&ctx.principal, &ctx.site, view, b_start, b_size).await.map_err(err)?)
    } else if let Some(t) = ctx.app.services.types().get(&view.item.type_name).filter(|t| t.has_query() && !composed) {
        if let Some(n) = t.query_setting(&view.item.fields, QueryPart::BatchSize).and_then(serde_json::Value::as_i64)
            && n > 0
            && !json
            && int_param(ctx, "b_size", 0)? == 0
        {
            b_size = n.min(beffroi_service::MAX_BATCH);
        }
        let page = crate::search::collection_page(ctx, view, b_start, b_size).await?;
        Some(Listing { items: page.items, total: page.total })
    } else {
        None
    };
    if json {
        let lock = json::lock_for(ctx, view).await?;
        let mut v = json::item(ctx, view, listing.as_ref().map(|l| (l, b_start, b_size)), lock.as_ref());
        let teasers = crate::blocks::fill_teasers(ctx, &mut v).await?;
        // What an expansion or a teaser adds (the navigation, the actions, another
        // item's title…) changes without the item: such an answer is validated by its
        // body's ETag alone, no Last-Modified.
        let expanded = expand(ctx, view, &mut v).await?;
        let modified = (!expanded && !teasers).then_some(view.item.modified);
        return Ok(finish(headers, json_body(&v), JSON, modified));
    }
    let root = view.lineage.first().unwrap_or(&view.item);
    let nav = ctx.app.services.navigation(&ctx.principal, &ctx.site, root).await.map_err(err)?;
    // Editors see the state and the transitions open to them.
    let workflow = if ctx.principal == beffroi_model::security::Principal::Anonymous {
        None
    } else {
        Some(ctx.app.services.workflow_info_of(&ctx.principal, &ctx.site, view).await.map_err(err)?)
            .filter(|w| !w.history.is_empty() || !w.transitions.is_empty())
    };
    // What the type's application shows on its page.
    let own = match page {
        Some((_, p)) => Some((p.parts)(ctx, view).await?),
        None => None,
    };
    let translations = ctx.app.services.translations_of(&ctx.principal, &ctx.site, view).await.map_err(err)?;
    let blocks = if composed { crate::blocks::shown(ctx, view).await? } else { None };
    // What listing blocks show changes without the item: such a page is validated by
    // its body's ETag alone.
    let modified = (!composed).then_some(view.item.modified);
    let shown =
        html::Shown { listing: listing.as_ref().map(|l| (l, b_start, b_size)), layout, events, translations, blocks };
    let body = html::item_page(ctx, view, shown, &nav, workflow.as_ref(), own)?;
    Ok(finish(headers, body, HTML, modified))
}

/// Keeps the navigation and breadcrumbs of `view` for the HTML page about to be made.
async fn set_chrome(ctx: &Ctx<'_>, view: &ItemView) -> Result<(), WebError> {
    let root = view.lineage.first().unwrap_or(&view.item);
    let nav = ctx
        .app
        .services
        .navigation(&ctx.principal, &ctx.site, root)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    let (nav, breadcrumbs) = html::site_chrome(ctx, view, &nav);
    let _ = ctx.chrome.set(minijinja::context! { nav => nav, breadcrumbs => breadcrumbs });
    Ok(())
}

/// The weak validator of a representation: a hash of its bytes and type.
pub(crate) fn etag_of(body: &str, content_type: &str) -> String {
    let mut h = DefaultHasher::new();
    body.hash(&mut h);
    content_type.hash(&mut h);
    format!("W/\"{:016x}\"", h.finish())
}

/// Adds validators and answers 304 when the client's copy is current.
/// Whether a conditional GET's client holds the answer already: its If-None-Match
/// names `etag` (weak or not), or else its If-Modified-Since is not before `modified`.
pub(crate) fn not_modified(headers: &HeaderMap, etag: &str, modified: Option<DateTime<Utc>>) -> bool {
    match headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(inm) => inm.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag.trim_start_matches("W/")
        }),
        None => match (modified, headers.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok())) {
            (Some(m), Some(ims)) => {
                DateTime::parse_from_rfc2822(ims).is_ok_and(|since| m.timestamp() <= since.timestamp())
            }
            _ => false,
        },
    }
}

pub(crate) fn finish(
    headers: &HeaderMap,
    body: String,
    content_type: &'static str,
    modified: Option<DateTime<Utc>>,
) -> Response {
    let etag = etag_of(&body, content_type);
    let last_modified = modified.map(|m| m.format("%a, %d %b %Y %H:%M:%S GMT").to_string());
    let mut res = if not_modified(headers, &etag, modified) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
    };
    let h = res.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("ascii"));
    if let Some(lm) = last_modified {
        h.insert(header::LAST_MODIFIED, HeaderValue::from_str(&lm).expect("ascii"));
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept, Cookie, Authorization"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// A body past its limit is too large (413); one that breaks off or is malformed (a
/// bad chunk) is a bad request.
fn body_error(e: axum::Error) -> WebError {
    if e.into_inner().downcast_ref::<http_body_util::LengthLimitError>().is_some() {
        WebError::PayloadTooLarge
    } else {
        WebError::BadRequest("The request body could not be read.".into())
    }
}

/// The deployment's root: nothing to tell who its communes are. One site is the
/// destination of whoever comes here; several are not listed (operators have
/// `beffroi site list`); none gets the command that creates one.
async fn landing(app: &AppState, json: bool, base: &str) -> Result<Response, Failure> {
    let sites = app.services.list_sites().await.map_err(|e| WebError::from_service(e, base))?;
    if let [only] = sites.as_slice() {
        let to = format!("{base}/{}", only.id);
        return Ok((
            StatusCode::FOUND,
            [(header::LOCATION, HeaderValue::from_str(&to).map_err(|_| WebError::Internal)?)],
        )
            .into_response());
    }
    if json {
        let v = serde_json::json!({"@id": base, "title": "Beffroi"});
        return Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(JSON))], json_body(&v)).into_response());
    }
    let body = html::landing(app, sites.is_empty())?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(HTML))], body).into_response())
}

/// A refusal answered in JSON outside any site (the operations routes).
pub(crate) fn json_error(app: &AppState, err: WebError) -> Response {
    error_response(app, err.into(), true)
}

fn error_response(app: &AppState, f: Failure, json: bool) -> Response {
    let status = f.err.status();
    let mut res = if json {
        let v = serde_json::json!({"type": f.err.type_name(), "message": f.err.message()});
        (status, [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))], json_body(&v)).into_response()
    } else {
        let body = html::error_page(app, &f.err, f.site.as_ref().map(|(s, b)| (s.as_ref(), b.as_str())));
        (status, [(header::CONTENT_TYPE, HeaderValue::from_static(HTML))], body).into_response()
    };
    if let WebError::TooManyRequests(secs) = f.err {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if matches!(f.err, WebError::MethodNotAllowed) {
        res.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    if let Some((site, _)) = &f.site {
        res.extensions_mut().insert(SiteTag(site.id.to_string()));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_decoded_and_checked() {
        assert_eq!(decode_segments("/", "u").unwrap(), Vec::<String>::new());
        assert_eq!(decode_segments("/demo/a/", "u").unwrap(), ["demo", "a"]);
        assert_eq!(decode_segments("/demo/%C3%A9t%C3%A9", "u").unwrap(), ["demo", "été"]);
        assert!(matches!(decode_segments("/demo//a", "u"), Err(WebError::NotFound(_))));
        assert!(matches!(decode_segments("/demo/%ff", "u"), Err(WebError::BadRequest(_))));
        assert!(matches!(decode_segments(&"/a".repeat(2000), "u"), Err(WebError::UriTooLong)));
    }
}
