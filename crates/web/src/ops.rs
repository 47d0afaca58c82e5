//! What an operator watches: metrics in Prometheus's text format (OpenMetrics 1.0,
//! which Prometheus scrapes), health, readiness and liveness, and the request log.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use beffroi_service::Sizes;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::{AppState, SiteTag};

/// How long the sizes (which list the blob store whole) are kept between scrapes.
const SIZES_KEPT: Duration = Duration::from_secs(60);

/// The latency buckets, in seconds: a cached page takes well under a millisecond, a
/// large upload seconds.
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    class: &'static str,
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabel {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The server's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<ClassLabel, Histogram, fn() -> Histogram>,
    page_cache: Family<OutcomeLabel, Counter>,
    connections: Family<StateLabel, Gauge>,
    max_connections: Gauge,
    sites: Gauge,
    items: Gauge,
    files: Gauge,
    file_bytes: Gauge,
    /// The sizes last read, and when.
    sizes: tokio::sync::Mutex<Option<(Instant, Sizes)>>,
}

/// Logins, read from the services' counters at each scrape.
struct Logins(beffroi_service::Services);

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Logins")
    }
}

impl Collector for Logins {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let l = self.0.login_counts();
        let counter = ConstCounter::new(0u64);
        let mut family =
            encoder.encode_descriptor("beffroi_logins", "Login attempts, by outcome", None, counter.metric_type())?;
        for (outcome, n) in [("success", &l.succeeded), ("failure", &l.failed), ("throttled", &l.throttled)] {
            let n = n.load(std::sync::atomic::Ordering::Relaxed);
            ConstCounter::new(n).encode(family.encode_family(&OutcomeLabel { outcome })?)?;
        }
        Ok(())
    }
}

impl Metrics {
    pub(crate) fn new(services: &beffroi_service::Services) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "beffroi_http_requests",
            "HTTP requests answered, by class of route and status",
            requests.clone(),
        );
        let latency = Family::<ClassLabel, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "beffroi_http_request_duration",
            "Time to answer an HTTP request, by class of route",
            prometheus_client::registry::Unit::Seconds,
            latency.clone(),
        );
        let page_cache = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "beffroi_page_cache_requests",
            "Requests the anonymous page cache could answer: hit or miss",
            page_cache.clone(),
        );
        let connections = Family::<StateLabel, Gauge>::default();
        registry.register("beffroi_db_connections", "Database connections open, by state", connections.clone());
        let max_connections = Gauge::default();
        registry.register(
            "beffroi_db_connections_max",
            "Most database connections the pool opens",
            max_connections.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let sites = gauge(&mut registry, "beffroi_sites", "Sites in the database");
        let items = gauge(&mut registry, "beffroi_catalog_items", "Items in the database and its catalog, all sites");
        let files = gauge(&mut registry, "beffroi_blob_files", "Files in the blob store (uploads and image scales)");
        let file_bytes = gauge(&mut registry, "beffroi_blob_bytes", "Bytes of the files in the blob store");
        registry.register_collector(Box::new(Logins(services.clone())));
        Self {
            registry,
            requests,
            latency,
            page_cache,
            connections,
            max_connections,
            sites,
            items,
            files,
            file_bytes,
            sizes: tokio::sync::Mutex::new(None),
        }
    }

    fn observe(&self, class: &'static str, code: u16, took: Duration, cached: Option<&HeaderValue>) {
        self.requests.get_or_create(&RequestLabels { class, code }).inc();
        self.latency.get_or_create(&ClassLabel { class }).observe(took.as_secs_f64());
        match cached.map(HeaderValue::as_bytes) {
            Some(b"hit") => self.page_cache.get_or_create(&OutcomeLabel { outcome: "hit" }).inc(),
            Some(b"miss") => self.page_cache.get_or_create(&OutcomeLabel { outcome: "miss" }).inc(),
            _ => 0,
        };
    }

    /// The metrics as text, with the database's and blob store's figures of now (the
    /// sizes at most a minute old).
    async fn render(&self, services: &beffroi_service::Services) -> String {
        let pool = services.pool_state();
        self.connections.get_or_create(&StateLabel { state: "idle" }).set(i64::from(pool.idle));
        self.connections
            .get_or_create(&StateLabel { state: "busy" })
            .set(i64::from(pool.open.saturating_sub(pool.idle)));
        self.max_connections.set(i64::from(pool.max));
        {
            let mut kept = self.sizes.lock().await;
            let stale = kept.is_none_or(|(at, _)| at.elapsed() > SIZES_KEPT);
            if stale {
                match services.sizes().await {
                    Ok(s) => *kept = Some((Instant::now(), s)),
                    Err(e) => tracing::warn!(error = %e, "cannot measure the database and blob store for the metrics"),
                }
            }
            if let Some((_, s)) = *kept {
                let g = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                self.sites.set(g(s.sites));
                self.items.set(g(s.items));
                self.files.set(g(s.files));
                self.file_bytes.set(g(s.file_bytes));
            }
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a string");
        out
    }
}

/// The operations routes, at the root of every address.
const OPERATIONS: [&str; 4] = ["/@@metrics", "/@@health", "/@@ready", "/@@live"];

/// The class of route a request goes to, from its address alone (so that the metrics
/// have few series whatever the content), JSON as traversal decides it.
fn class_of(path: &str, headers: &HeaderMap) -> &'static str {
    if OPERATIONS.contains(&path) {
        "operations"
    } else if path.starts_with("/++resource++") {
        "static"
    } else if path.contains("/@@") {
        "view"
    } else if path.contains("/@") {
        "api"
    } else if path.split('/').any(|s| s == crate::traverse::API_SEGMENT) || crate::traverse::wants_json(headers) {
        "json"
    } else {
        "page"
    }
}

/// One structured line per request (method, site, path, status, duration), and the
/// request counted in the metrics.
pub(crate) async fn observe(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path: String = req.uri().path().chars().take(300).collect();
    let class = class_of(&path, req.headers());
    let res = next.run(req).await;
    let took = start.elapsed();
    let site = res.extensions().get::<SiteTag>().map(|s| s.0.as_str()).unwrap_or_default();
    tracing::info!(
        target: "beffroi::request",
        %method,
        site = %site,
        path = %path,
        status = res.status().as_u16(),
        duration_us = took.as_micros() as u64,
    );
    app.metrics.observe(class, res.status().as_u16(), took, res.headers().get(crate::page_cache::CACHE_HEADER));
    res
}

/// `/@@metrics` on the public address: only with the token of `--metrics-token`
/// (none set: not served here, only on `--metrics-listen`).
async fn metrics_with_token(State(app): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(token) = &app.options.metrics_token else {
        return crate::traverse::json_error(&app, crate::WebError::NotFound("/@@metrics".into()));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .unwrap_or_default();
    if !crate::auth::constant_eq(given, &token.0) {
        let refused = crate::WebError::Unauthenticated("The metrics need the token set with --metrics-token.".into());
        let mut res = crate::traverse::json_error(&app, refused);
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"metrics\""));
        return res;
    }
    metrics(State(app)).await
}

async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    let text = app.metrics.render(&app.services).await;
    (
        [
            (header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

fn backend_name(app: &AppState) -> &'static str {
    match app.services.backend() {
        beffroi_service::Backend::Sqlite => "sqlite",
        beffroi_service::Backend::Postgres => "postgresql",
    }
}

/// Whether the database and the blob store answer: 200 or 503, saying which failed.
async fn health(State(app): State<Arc<AppState>>) -> Response {
    let database = app.services.ping().await;
    let blobs = app.services.check_blobs().await;
    for (what, r) in [("database", &database), ("blob store", &blobs)] {
        if let Err(e) = r {
            tracing::warn!(error = %e, "health check: the {what} does not answer");
        }
    }
    let ok = database.is_ok() && blobs.is_ok();
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "unavailable" },
        "database": backend_name(&app),
        "database_answers": database.is_ok(),
        "blobs_answer": blobs.is_ok(),
    });
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

/// Whether this server should be sent requests: healthy and not stopping.
async fn ready(State(app): State<Arc<AppState>>) -> Response {
    if app.draining.load(Ordering::SeqCst) {
        let body = serde_json::json!({"status": "stopping", "database": backend_name(&app)});
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    }
    health(State(app)).await
}

/// Whether the process answers at all (nothing else is asked).
async fn live() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

/// Health, readiness and liveness, served on every address.
fn probes() -> Router<Arc<AppState>> {
    Router::new().route("/@@health", get(health)).route("/@@ready", get(ready)).route("/@@live", get(live))
}

/// The operations routes of the public address: the probes, and the metrics with the
/// token.
pub(crate) fn public_routes() -> Router<Arc<AppState>> {
    probes().route("/@@metrics", get(metrics_with_token))
}

/// The router of `--metrics-listen`: metrics without a token, the probes, and nothing
/// else.
pub fn router(state: Arc<AppState>) -> Router {
    probes().route("/@@metrics", get(metrics)).with_state(state)
}
