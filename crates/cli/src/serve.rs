//! `beffroi serve`: open the store, seed the demo if asked, listen, shut down cleanly.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use beffroi_cms::demo;
use beffroi_service::Services;
use tracing_subscriber::EnvFilter;

use crate::cli::{DbArgs, ServeArgs};

/// The log filter of BEFFROI_LOG (or RUST_LOG), else `info,sqlx=warn`.
fn env_filter() -> EnvFilter {
    EnvFilter::try_from_env("BEFFROI_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"))
}

/// Logs to standard error, filtered as BEFFROI_LOG says; returns the handle that
/// changes the filter while the process runs.
pub fn init_logs() -> Option<LogFilter> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let (filter, handle) = tracing_subscriber::reload::Layer::new(env_filter());
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    tracing_subscriber::registry().with(filter).with(fmt).try_init().ok().map(|()| handle)
}

/// Changes the log filter of a running process.
pub type LogFilter = tracing_subscriber::reload::Handle<EnvFilter, tracing_subscriber::Registry>;

/// Sets the log filter from `file` when it exists (its first line, as BEFFROI_LOG);
/// a filter that does not parse is refused with a log line, the current one kept.
fn read_log_level(handle: &LogFilter, file: &std::path::Path) {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "cannot read the log level file; log level unchanged");
            return;
        }
    };
    let wanted = text.lines().next().unwrap_or_default().trim();
    let filter = if wanted.is_empty() { Ok(env_filter()) } else { EnvFilter::try_new(wanted) };
    match filter {
        Ok(f) => {
            let shown = f.to_string();
            match handle.reload(f) {
                Ok(()) => tracing::info!(file = %file.display(), filter = %shown, "log level set"),
                Err(e) => tracing::warn!(error = %e, "cannot change the log level"),
            }
        }
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "the log level file does not parse; log level unchanged")
        }
    }
}

/// Reads the log level file again at each SIGHUP.
#[cfg(unix)]
fn reload_logs_on_hangup(handle: LogFilter, file: std::path::PathBuf) {
    tokio::spawn(async move {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
        while hangups.recv().await.is_some() {
            read_log_level(&handle, &file);
        }
    });
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// Opens the store named by the arguments, creating the data folder for SQLite.
pub async fn open(db: &DbArgs, max_connections: u32) -> Result<Services> {
    let url = db.url();
    if url.starts_with("sqlite:") && db.database.is_none() {
        private_dir(&db.data).with_context(|| format!("cannot create the data folder {}", db.data.display()))?;
    }
    if let Some(file) = url.strip_prefix("sqlite://").map(|p| p.split('?').next().unwrap_or(p))
        && !file.is_empty()
        && !file.starts_with(':')
    {
        private_file(std::path::Path::new(file)).with_context(|| format!("cannot create the database file {file}"))?;
    }
    let opts = db.store_options(max_connections);
    let blobs = db.open_blobs().await?;
    let services = Services::open(&url, &opts, blobs)
        .await
        .with_context(|| format!("cannot open the database {}", beffroi_store::redact_url(&url)))?;
    let services = beffroi_web::assemble(services, crate::apps::APPS)?;
    services.migrate_apps().await.context("cannot apply the applications' migrations")?;
    Ok(services)
}

/// Refuses a target folder that holds anything already (an export or a backup never
/// mixes with other files); a folder that does not exist yet is fine. `doing` says what
/// goes there ("export", "back up").
pub(crate) fn new_or_empty(dir: &std::path::Path, doing: &str) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                anyhow::bail!("{}: not empty ({doing} into a new or empty folder)", dir.display());
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if dir.exists() => anyhow::bail!("{}: not a folder", dir.display()),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", dir.display())),
    }
}

/// Creates the data folder readable by this user alone (its database and files are
/// the site's private content). An existing folder is left as it is.
pub(crate) fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Creates an SQLite database file readable by this user alone before SQLite does (it
/// would follow the umask; its journal files take the database's permissions).
fn private_file(file: &std::path::Path) -> std::io::Result<()> {
    if file.exists() {
        return Ok(());
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    match o.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn generated_password() -> String {
    // 128 random bits from the OS, shown as 26 base-32 characters.
    let bits = uuid::Uuid::new_v4().as_u128();
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyz23456789";
    (0..26).map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char).collect()
}

pub fn run(args: ServeArgs) -> Result<()> {
    let started = Instant::now();
    let log_filter = init_logs();
    let log_level_file = args.log_level_file.clone().unwrap_or_else(|| args.db.data.join("log-level"));
    if let Some(handle) = &log_filter {
        read_log_level(handle, &log_level_file);
    }
    runtime()?.block_on(async move {
        #[cfg(unix)]
        if let Some(handle) = log_filter {
            reload_logs_on_hangup(handle, log_level_file);
        }
        let services = open(&args.db, args.db_connections)
            .await?
            .with_upload_limit(args.max_upload_mb.saturating_mul(1024 * 1024))
            .with_rich_text_limit(args.max_rich_text_kb.saturating_mul(1024))
            .with_max_image_pixels(args.max_image_pixels.saturating_mul(1_000_000))
            .with_revision_retention(args.keep_revisions);
        services.reconcile_workflows().await.context("cannot apply the workflow definitions to stored content")?;
        let indexed = services.index_missing().await.context("cannot index the content made before the catalog")?;
        let reindexed =
            services.reconcile_indexes().await.context("cannot apply the declared indexes to stored content")?;
        if reindexed > 0 {
            tracing::info!(items = reindexed, "reindexed content for the declared indexes");
        }
        if indexed > 0 {
            tracing::info!(items = indexed, "indexed content made before the catalog");
        }
        let sites = services.list_sites().await.context("cannot read the sites")?;
        if args.demo && sites.is_empty() {
            let (password, generated) = match std::env::var("BEFFROI_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => (p, false),
                _ => (generated_password(), true),
            };
            demo::seed(&services, &password).await.context("cannot create the demo site")?;
            beffroi_meetings::demo::seed(&services, demo::DEMO_SITE, &password)
                .await
                .context("cannot add the meetings to the demo site")?;
            if generated {
                println!("Demo site created. Log in as admin with the password: {password}");
                println!("(This password is shown once; set BEFFROI_ADMIN_PASSWORD to choose it.)");
            } else {
                println!("Demo site created. Log in as admin with the password from BEFFROI_ADMIN_PASSWORD.");
            }
        } else if sites.is_empty() {
            println!("No site yet. Create one with: beffroi site create ID --title \"Commune de …\"");
        }
        if services.backend() == beffroi_service::Backend::Postgres {
            match services.database_encrypted().await {
                Ok(true) => tracing::info!("database connections are encrypted (TLS)"),
                Ok(false) => tracing::info!("database connections are not encrypted (sslmode in the URL, --db-ca-file)"),
                Err(e) => tracing::warn!(error = %e, "cannot tell whether database connections are encrypted"),
            }
        }
        match services.listen().await {
            Ok(true) => tracing::info!("hearing the other servers' changes (LISTEN/NOTIFY)"),
            Ok(false) => {}
            // A connection pooler in transaction mode, for instance: the caches then
            // expire after a few seconds instead.
            Err(e) => tracing::warn!(error = %e, "cannot hear the other servers' changes; caches expire after 2 s"),
        }
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        tracing::info!(
            listen = %args.listen,
            database = %beffroi_store::redact_url(&args.db.url()),
            startup_ms = started.elapsed().as_millis() as u64,
            "Beffroi is serving on http://{}",
            args.listen
        );
        let options = beffroi_web::WebOptions {
            trusted_proxies: args.trusted_proxies,
            request_timeout: (args.request_timeout > 0).then(|| Duration::from_secs(args.request_timeout)),
            page_cache_bytes: args.page_cache_mb.saturating_mul(1024 * 1024),
            metrics_token: args.metrics_token.clone().filter(|t| !t.0.is_empty()),
            purge_urls: args.purge_urls.clone(),
            ..Default::default()
        };
        let state = beffroi_web::AppState::load_apps(services.clone(), options, crate::apps::APPS)
            .await
            .context("cannot prepare the web application")?;
        if let Some(addr) = args.metrics_listen {
            let ops = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} for the metrics"))?;
            tracing::info!(listen = %addr, "metrics, health and readiness on http://{addr}/@@metrics");
            let router = beffroi_web::operations_router(state.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(ops, router).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            });
        }
        let app = beffroi_web::router(state.clone());
        let stopping = std::sync::Arc::new(tokio::sync::Notify::new());
        let signalled = {
            let (state, stopping) = (state.clone(), stopping.clone());
            async move {
                shutdown().await;
                state.drain();
                tracing::info!("stopping: no new connections, requests in flight may finish");
                stopping.notify_one();
            }
        };
        let grace = Duration::from_secs(args.shutdown_grace);
        let server = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(signalled);
        tokio::select! {
            served = server.into_future() => served.context("server error")?,
            () = async { stopping.notified().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_s = grace.as_secs(), "requests still running after the grace period: stopping anyway");
                // Their connections would hold the pool's closing up.
                let _ = tokio::time::timeout(Duration::from_secs(2), services.close()).await;
                tracing::info!("stopped");
                return Ok(());
            }
        }
        services.close().await;
        tracing::info!("stopped");
        Ok(())
    })
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn the_data_folder_and_database_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("a/data");
        super::private_dir(&data).unwrap();
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
        let db = data.join("beffroi.db");
        super::private_file(&db).unwrap();
        assert_eq!(std::fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o600);
        // Again: nothing changes, nothing fails.
        super::private_dir(&data).unwrap();
        super::private_file(&db).unwrap();
    }

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let a = super::generated_password();
        assert_eq!(a.len(), 26);
        assert_ne!(a, super::generated_password());
    }
}
