//! Beffroi's HTTP face: site resolution, traversal, content negotiation, HTML through
//! minijinja templates and JSON in plone.restapi's dialect. Handlers are thin: they
//! parse the request, call one service action, and render.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use beffroi_service::Services;

mod auth;
mod blocks;
pub mod client;
mod compose;
mod contents;
mod edit;
mod endpoints;
mod error;
mod feeds;
mod history;
mod html;
pub mod i18n;
mod json;
pub mod jwt;
mod links;
mod listing;
mod media;
mod ops;
mod page_cache;
mod purge;
pub mod routes;
mod search;
mod traverse;
mod views;

pub use error::WebError;
pub use futures_util::future::BoxFuture;
pub use html::date_time_text;
pub use json::iso;
pub use minijinja;
pub use traverse::Ctx;

/// An application's part of the server: its data for the services, its endpoints and
/// views, templates and messages. The server is assembled from a list of them.
#[derive(Clone, Copy)]
pub struct WebApp {
    pub app: beffroi_service::apps::App,
    /// Its endpoints and views.
    pub routes: fn() -> Vec<routes::Route>,
    /// Templates (name, source). `<Type>.html` (the type's name, spaces removed)
    /// replaces the generic item page for that type.
    pub templates: &'static [(&'static str, &'static str)],
    /// Fluent messages: (language code, source).
    pub messages: &'static [(&'static str, &'static str)],
    /// What its types' pages show besides the generic parts (their `<Type>.html`
    /// templates read it as `own`).
    pub pages: &'static [TypePage],
}

/// The part of a type's page its application works out: given the request and the
/// item, a value the type's template reads as `own`.
#[derive(Clone, Copy)]
pub struct TypePage {
    pub type_name: &'static str,
    pub parts: PageParts,
    /// Whether its template lists the item's contents as the generic page does; when
    /// not, the page of a folderish item does not read them.
    pub contents: bool,
}

/// See [`TypePage`]; returns `Box::pin(async move { … })`.
pub type PageParts = for<'a, 'c> fn(
    &'a Ctx<'c>,
    &'a beffroi_service::ItemView,
) -> futures_util::future::BoxFuture<'a, Result<minijinja::Value, WebError>>;

/// The services with the data of every application of `apps` loaded.
pub fn assemble(services: Services, apps: &[WebApp]) -> Result<Services, beffroi_service::apps::AppError> {
    apps.iter().try_fold(services, |s, a| s.with_app(&a.app))
}

/// The default time budget of a GET or HEAD request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// Longest a GET or HEAD request may take to answer before it is stopped with 503;
    /// None for no limit. Other methods have none: they may carry large uploads.
    pub request_timeout: Option<Duration>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (none by default: the
    /// connection's peer is the client).
    pub trusted_proxies: Vec<client::TrustedProxy>,
    /// How many addresses one sitemap file lists before `sitemap.xml` becomes an index
    /// of numbered files (the protocol's limit, 50,000, unless a test wants fewer).
    pub sitemap_size: i64,
    /// Memory for the anonymous page cache, in bytes (0: no cache).
    pub page_cache_bytes: usize,
    /// How long a cached page may be used at most: what no server tells (a
    /// publication date passing, a command's change on SQLite) shows within it.
    pub page_cache_ttl: Duration,
    /// The bearer token that opens `/@@metrics` on the public address (None: served
    /// only by [`operations_router`], on an address of its own).
    pub metrics_token: Option<beffroi_service::Secret>,
    /// Reverse proxies told of every change with `PURGE` requests (base URLs such as
    /// `http://varnish:6081`; see `purge.rs`).
    pub purge_urls: Vec<reqwest::Url>,
}

/// The anonymous page cache's memory by default.
pub const DEFAULT_PAGE_CACHE_BYTES: usize = 64 * 1024 * 1024;

impl Default for WebOptions {
    fn default() -> Self {
        Self {
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            trusted_proxies: Vec::new(),
            sitemap_size: feeds::SITEMAP_SIZE,
            page_cache_bytes: DEFAULT_PAGE_CACHE_BYTES,
            page_cache_ttl: Duration::from_secs(2),
            metrics_token: None,
            purge_urls: Vec::new(),
        }
    }
}

/// The shared state of every request.
pub struct AppState {
    pub services: Services,
    pub(crate) templates: minijinja::Environment<'static>,
    pub(crate) i18n: Arc<i18n::I18n>,
    pub(crate) jwt: jwt::Jwt,
    pub(crate) options: WebOptions,
    /// Every named endpoint and view of the server.
    pub(crate) routes: routes::Routes,
    /// The types whose application works out part of their page: by type, the
    /// application's name and its function.
    pub(crate) pages: std::collections::HashMap<&'static str, (&'static str, TypePage)>,
    /// Pages anonymous visitors asked for, as answered (None: no cache).
    pub(crate) page_cache: Option<page_cache::PageCache>,
    pub(crate) metrics: ops::Metrics,
    /// Set when the server is stopping: `/@@ready` answers 503.
    pub(crate) draining: std::sync::atomic::AtomicBool,
}

impl AppState {
    /// Loads what every request needs: templates, catalogs, the token secret.
    pub async fn load(services: Services) -> Result<Arc<Self>, beffroi_service::ServiceError> {
        Self::load_with(services, WebOptions::default()).await
    }

    /// Like [`AppState::load`], with the given settings.
    pub async fn load_with(
        services: Services,
        options: WebOptions,
    ) -> Result<Arc<Self>, beffroi_service::ServiceError> {
        Self::load_apps(services, options, &[]).await
    }

    /// Like [`AppState::load_with`], with the endpoints, views, templates and messages
    /// of `apps` (whose data `services` holds: see [`assemble`]). A route, template or
    /// message that clashes with another is refused with one line saying which.
    pub async fn load_apps(
        services: Services,
        options: WebOptions,
        apps: &[WebApp],
    ) -> Result<Arc<Self>, beffroi_service::ServiceError> {
        let bad = |app: &str, message: String| {
            beffroi_service::ServiceError::BadRequest(format!("application {app}: {message}"))
        };
        let messages: Vec<(&str, &str, &str)> =
            apps.iter().flat_map(|a| a.messages.iter().map(|(l, m)| (a.app.name, *l, *m))).collect();
        let i18n = Arc::new(i18n::I18n::load_with(&messages).map_err(|(app, e)| bad(app, e))?);
        let mut templates = html::environment(i18n.clone());
        let mut routes = routes::Routes::default();
        let mut pages = std::collections::HashMap::new();
        routes.register(endpoints::PLATFORM, endpoints::routes()).map_err(beffroi_service::ServiceError::Conflict)?;
        for a in apps {
            let name = a.app.name;
            if !services.app_names().contains(&name) {
                return Err(bad(name, "its data is not loaded in the services (beffroi_web::assemble)".into()));
            }
            routes.register(name, (a.routes)()).map_err(beffroi_service::ServiceError::BadRequest)?;
            for p in a.pages {
                if services.types().get(p.type_name).is_none() || pages.insert(p.type_name, (name, *p)).is_some() {
                    return Err(bad(name, format!("the page of {:?}: no such type, or one page already", p.type_name)));
                }
            }
            for (file, source) in a.templates {
                if templates.get_template(file).is_ok() {
                    return Err(bad(name, format!("template {file} is already defined")));
                }
                templates
                    .add_template_owned(file.to_string(), source.to_string())
                    .map_err(|e| bad(name, format!("{file}: {e}")))?;
            }
        }
        let jwt = jwt::Jwt::new(services.secret("jwt").await?.as_bytes());
        let page_cache = (options.page_cache_bytes > 0)
            .then(|| page_cache::PageCache::new(options.page_cache_bytes, options.page_cache_ttl));
        let metrics = ops::Metrics::new(&services);
        let draining = Default::default();
        purge::spawn(services.clone(), options.purge_urls.clone());
        Ok(Arc::new(Self { services, templates, i18n, jwt, options, routes, pages, page_cache, metrics, draining }))
    }

    /// Says the server is stopping: `/@@ready` answers 503 from now on, so that a
    /// load balancer sends the requests elsewhere while those in flight finish.
    pub fn drain(&self) {
        self.draining.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

pub use ops::router as operations_router;
/// The base URL of a reverse proxy told of changes (`WebOptions::purge_urls`).
pub use reqwest::Url as PurgeUrl;

/// Which site served a response, for the request log.
#[derive(Clone)]
pub(crate) struct SiteTag(pub String);

/// Static files baked into the binary: name, media type, bytes.
const RESOURCES: &[(&str, &str, &[u8])] = &[
    ("beffroi.css", "text/css; charset=utf-8", include_bytes!("../static/beffroi.css")),
    ("chooser.js", "text/javascript; charset=utf-8", include_bytes!("../static/chooser.js")),
    ("move-rows.js", "text/javascript; charset=utf-8", include_bytes!("../static/move-rows.js")),
    ("richtext.js", "text/javascript; charset=utf-8", include_bytes!("../static/richtext.js")),
    ("vendor/quill/quill.js", "text/javascript; charset=utf-8", include_bytes!("../static/vendor/quill/quill.js")),
    ("vendor/quill/quill.snow.css", "text/css; charset=utf-8", include_bytes!("../static/vendor/quill/quill.snow.css")),
    ("vendor/quill/LICENSE", "text/plain; charset=utf-8", include_bytes!("../static/vendor/quill/LICENSE")),
];

/// The whole application, ready to serve.
pub fn router(state: Arc<AppState>) -> Router {
    ops::public_routes()
        .route("/++resource++beffroi/{*file}", get(resource))
        .fallback(traverse::handle)
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(state.clone(), ops::observe))
        .with_state(state)
}

/// Convenience: the router on freshly loaded state.
pub async fn app(services: Services) -> Result<Router, beffroi_service::ServiceError> {
    app_with(services, WebOptions::default()).await
}

/// The router on freshly loaded state with the given settings.
pub async fn app_with(services: Services, options: WebOptions) -> Result<Router, beffroi_service::ServiceError> {
    Ok(router(AppState::load_with(services, options).await?))
}

/// What HTML pages may load: their own scripts and styles only (no inline script, so
/// injected markup cannot run), images also from other https sites (rich text may
/// show them), and no framing by other sites.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data: https:; font-src 'self' data:; connect-src 'self'; object-src 'none'; \
base-uri 'self'; form-action 'self'; frame-ancestors 'self'";

/// Headers every response carries: no content sniffing, a referrer policy, the
/// content security policy on HTML; and a response to a request with credentials is
/// for that user alone, so shared caches must not keep it.
async fn security_headers(req: Request, next: Next) -> Response {
    let credentials = req.headers().contains_key(header::AUTHORIZATION)
        || auth::cookie(req.headers(), auth::SESSION_COOKIE).is_some();
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    if is_html(h) && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    }
    if credentials {
        let cache = h.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !cache.contains("private") && !cache.contains("no-store") {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
        }
    }
    res
}

/// Whether a response is an HTML page.
pub(crate) fn is_html(headers: &axum::http::HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"))
}

async fn resource(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match RESOURCES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
