//! Beffroi's HTTP face: site resolution, traversal, content negotiation, HTML through
//! minijinja templates and JSON in plone.restapi's dialect. Handlers are thin: they
//! parse the request, call one service action, and render.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use beffroi_service::Services;

mod auth;
pub mod client;
mod contents;
mod edit;
mod error;
mod history;
mod html;
pub mod i18n;
mod json;
pub mod jwt;
mod links;
mod media;
mod search;
mod traverse;
mod views;

pub use error::WebError;

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
}

impl Default for WebOptions {
    fn default() -> Self {
        Self { request_timeout: Some(DEFAULT_REQUEST_TIMEOUT), trusted_proxies: Vec::new() }
    }
}

/// The shared state of every request.
pub struct AppState {
    pub services: Services,
    pub(crate) templates: minijinja::Environment<'static>,
    pub(crate) i18n: Arc<i18n::I18n>,
    pub(crate) jwt: jwt::Jwt,
    pub(crate) options: WebOptions,
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
        let i18n = Arc::new(i18n::I18n::load());
        let templates = html::environment(i18n.clone());
        let jwt = jwt::Jwt::new(services.secret("jwt").await?.as_bytes());
        Ok(Arc::new(Self { services, templates, i18n, jwt, options }))
    }
}

/// Which site served a response, for the request log.
#[derive(Clone)]
pub(crate) struct SiteTag(pub String);

/// Static files baked into the binary: name, media type, bytes.
const RESOURCES: &[(&str, &str, &[u8])] = &[
    ("beffroi.css", "text/css; charset=utf-8", include_bytes!("../static/beffroi.css")),
    ("contents.js", "text/javascript; charset=utf-8", include_bytes!("../static/contents.js")),
    ("chooser.js", "text/javascript; charset=utf-8", include_bytes!("../static/chooser.js")),
    ("richtext.js", "text/javascript; charset=utf-8", include_bytes!("../static/richtext.js")),
    ("vendor/quill/quill.js", "text/javascript; charset=utf-8", include_bytes!("../static/vendor/quill/quill.js")),
    ("vendor/quill/quill.snow.css", "text/css; charset=utf-8", include_bytes!("../static/vendor/quill/quill.snow.css")),
    ("vendor/quill/LICENSE", "text/plain; charset=utf-8", include_bytes!("../static/vendor/quill/LICENSE")),
];

/// The whole application, ready to serve.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/@@health", get(health))
        .route("/++resource++beffroi/{*file}", get(resource))
        .fallback(traverse::handle)
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(log_request))
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

async fn health(State(app): State<Arc<AppState>>) -> Response {
    let backend = match app.services.store().backend() {
        beffroi_service::Backend::Sqlite => "sqlite",
        beffroi_service::Backend::Postgres => "postgresql",
    };
    match app.services.ping().await {
        Ok(()) => axum::Json(serde_json::json!({"status": "ok", "database": backend})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "unavailable", "database": backend})),
            )
                .into_response()
        }
    }
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

/// One structured line per request: method, site, path, status, duration.
async fn log_request(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path: String = req.uri().path().chars().take(300).collect();
    let res = next.run(req).await;
    let site = res.extensions().get::<SiteTag>().map(|s| s.0.clone()).unwrap_or_default();
    tracing::info!(
        target: "beffroi::request",
        %method,
        site = %site,
        path = %path,
        status = res.status().as_u16(),
        duration_us = start.elapsed().as_micros() as u64,
    );
    res
}
