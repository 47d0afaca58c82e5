//! Beffroi's persistence: SQLite (embedded, the default) and PostgreSQL through sqlx.
//!
//! SQL is written once with `$n` placeholders, which both backends accept, and run on
//! either connection type by the [`on_db!`] macro; where the dialects differ, each gets
//! its own text. Every query on content takes a [`SiteScope`], which only this crate
//! can make, so no caller can read across sites by accident. Permissions are not
//! decided here: that is the service's job.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

pub mod backup;
mod blobs;
mod catalog;
mod history;
mod items;
mod migrate;
pub use migrate::AppMigration;
pub mod notices;
mod sessions;
mod sites;
mod translations;
mod users;

pub use blobs::{BlobRead, BlobRef, Blobs, S3Options, Spool, Spooled, StoredObject, hex, upload_of};
pub use catalog::{
    CatalogEntry, CatalogQuery, DateIndex, IndexColumn, IndexFilter, IndexValue, PathQuery, SearchPage, SortOn,
    TextQuery, TypeCount, page_total,
};
pub use history::{HistoryRow, LockRow, RevisionRow};
pub use items::{ItemRow, SubtreeMove, Summary};
pub use sessions::{AuditRow, FailureRow, SessionRow};
pub use sites::{SiteRow, SiteScope};
pub use translations::Translation;
pub use users::{GroupRow, UserRow};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Errors by meaning; the HTTP edge maps them to status codes.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("the database is busy, try again")]
    Unavailable,
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("file storage error: {0}")]
    Blob(String),
    /// The blob store (a folder, an S3 bucket) failed or did not answer.
    #[error("the file store failed: {0}")]
    BlobStore(String),
    #[error("not on this database: {0}")]
    Unsupported(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::PoolTimedOut => StoreError::Unavailable,
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(d.constraint().unwrap_or("unique").to_owned())
            }
            // SQLite reports "database is locked" when the busy timeout runs out.
            sqlx::Error::Database(d) if d.code().is_some_and(|c| c == "5" || c == "6") => StoreError::Unavailable,
            _ => StoreError::Database(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// NotFound when an update or delete touched no row.
pub(crate) fn found(rows_affected: u64) -> Result<()> {
    if rows_affected == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL: the certificate authority (PEM) the server's certificate must be
    /// signed by, as `sslrootcert` in the URL; without an `sslmode` in the URL it
    /// then is `verify-full`.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 8, acquire_timeout: Duration::from_secs(5), ca_file: None }
    }
}

/// The use of a store's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// A connection pool on one of the two backends.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite takes one writer at a time: writers of this process queue on the mutex
    /// rather than in SQLite's busy handler, which sleeps for milliseconds between
    /// tries (other processes still meet the busy timeout), and all write on one
    /// connection of their own, whose page cache stays warm: a write made through
    /// another connection would make it read every page it touches again.
    Sqlite {
        readers: SqlitePool,
        writer: SqlitePool,
        turn: Arc<tokio::sync::Mutex<()>>,
        /// Reads made beside a connection or transaction already held (see
        /// [`Store::side_conn`]).
        side: SqlitePool,
    },
    Postgres {
        pool: PgPool,
        /// Reads made beside a connection or transaction already held.
        side: PgPool,
    },
}

/// The connections of the side pool (see [`Store::side_conn`]): a quarter of the main
/// pool's, at least two.
fn side_connections(main: u32) -> u32 {
    (main / 4).max(2)
}

/// One pooled connection, for reads outside a transaction.
pub enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// One transaction: every use case that writes runs in exactly one.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>, tokio::sync::OwnedMutexGuard<()>),
    /// A read-only transaction on one of SQLite's reader connections.
    SqliteRead(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// A borrowed connection of either kind, on which the store's queries are defined.
pub enum Db<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// Runs the same body on either backend's connection: the body is compiled twice,
/// once per driver, with `$c` bound to `&mut SqliteConnection` or `&mut PgConnection`.
#[macro_export]
#[doc(hidden)]
macro_rules! on_db {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite($c) => {
                let $c: &mut ::sqlx::SqliteConnection = &mut **$c;
                $body
            }
            $crate::Db::Postgres($c) => {
                let $c: &mut ::sqlx::PgConnection = &mut **$c;
                $body
            }
        }
    };
}

impl Store {
    /// Opens the database at `url` (`sqlite://path` or `postgres://…`), creating an
    /// SQLite file if needed, and applies pending migrations.
    pub async fn open(url: &str, opts: &StoreOptions) -> Result<Store> {
        let store = if url.starts_with("sqlite:") {
            let co = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::BadUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                .pragma("temp_store", "memory")
                .pragma("cache_size", "-32000")
                // Checkpoints run in the background (see `checkpoints`); this is the
                // backstop should they fall behind (20,000 pages, 80 MB of log).
                .pragma("wal_autocheckpoint", "20000");
            // The writer first: it creates the file and sets WAL mode before readers open it.
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .acquire_timeout(opts.acquire_timeout)
                .test_before_acquire(false)
                .connect_with(co.clone())
                .await
                .map_err(|e| StoreError::Connect(e.to_string()))?;
            forget_statistics(&writer).await?;
            let readers = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .min_connections(1)
                .acquire_timeout(opts.acquire_timeout)
                .test_before_acquire(false)
                .connect_with(co.clone())
                .await
                .map_err(|e| StoreError::Connect(e.to_string()))?;
            let side = SqlitePoolOptions::new()
                .max_connections(side_connections(opts.max_connections))
                .acquire_timeout(opts.acquire_timeout)
                .test_before_acquire(false)
                .connect_lazy_with(co.clone());
            let turn = Arc::new(tokio::sync::Mutex::new(()));
            tokio::spawn(checkpoints(readers.clone(), turn.clone()));
            Store::Sqlite { readers, writer, turn, side }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let mut co = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
            if let Some(ca) = &opts.ca_file {
                if !ca.is_file() {
                    return Err(StoreError::Connect(format!("{}: no such certificate file", ca.display())));
                }
                co = co.ssl_root_cert(ca);
                if !url.contains("sslmode=") {
                    co = co.ssl_mode(sqlx::postgres::PgSslMode::VerifyFull);
                }
            }
            let options = |max: u32| {
                PgPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(opts.acquire_timeout)
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // Unless the server's administrator chose otherwise, random reads
                        // are costed as PostgreSQL advises for SSDs and cached data
                        // (1.1, not 4): with 4 the planner prefers scanning a whole
                        // table (the stored viewers of every site) to probing an index
                        // for a search's few thousand matches; 25–30% off search times.
                        sqlx::raw_sql(
                            "select set_config('random_page_cost', '1.1', false) from pg_settings where name = 'random_page_cost' and source = 'default'",
                        )
                        .execute(conn)
                        .await?;
                        Ok(())
                    })
                })
            };
            let side = options(side_connections(opts.max_connections)).connect_lazy_with(co.clone());
            let pool =
                options(opts.max_connections).connect_with(co).await.map_err(|e| StoreError::Connect(e.to_string()))?;
            Store::Postgres { pool, side }
        } else {
            return Err(StoreError::BadUrl(format!("{:?} is neither sqlite://… nor postgres://…", redact_url(url))));
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// Applies an application's migrations it has not applied yet; returns how many ran.
    pub async fn migrate_app(&self, app: &str, migrations: &[AppMigration]) -> Result<u32> {
        migrate::run_app(self, app, migrations).await
    }

    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite { .. } => Backend::Sqlite,
            Store::Postgres { .. } => Backend::Postgres,
        }
    }

    /// A connection for reads.
    pub async fn conn(&self) -> Result<Conn> {
        Ok(match self {
            Store::Sqlite { readers, .. } => Conn::Sqlite(readers.acquire().await?),
            Store::Postgres { pool: p, .. } => Conn::Postgres(p.acquire().await?),
        })
    }

    /// A connection for reads for work that already holds a connection or a
    /// transaction (a unit of work's catalog lookups, in hooks and vocabularies): from
    /// a small pool of its own, whose users never wait for another connection while
    /// holding one of it. Waiting for the main pool while holding one of its
    /// connections deadlocks when every connection is held so: none is ever freed.
    pub async fn side_conn(&self) -> Result<Conn> {
        Ok(match self {
            Store::Sqlite { side, .. } => Conn::Sqlite(side.acquire().await?),
            Store::Postgres { side, .. } => Conn::Postgres(side.acquire().await?),
        })
    }

    /// A connection for reads if one is free now, without waiting: for work that may
    /// use a second connection beside the one it holds (waiting for it could deadlock
    /// the pool when every connection is held by someone waiting for a second).
    pub fn try_conn(&self) -> Option<Conn> {
        match self {
            Store::Sqlite { readers, .. } => readers.try_acquire().map(Conn::Sqlite),
            Store::Postgres { pool: p, .. } => p.try_acquire().map(Conn::Postgres),
        }
    }

    /// A write transaction. On SQLite it takes the write lock at once (`begin
    /// immediate`), so two writers wait for each other instead of failing half-way.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Store::Sqlite { writer, turn, .. } => {
                let turn = turn.clone().lock_owned().await;
                Tx::Sqlite(writer.begin_with("begin immediate").await?, turn)
            }
            Store::Postgres { pool: p, .. } => Tx::Postgres(p.begin().await?),
        })
    }

    /// A transaction that only reads: on SQLite one of the reader connections, which
    /// never waits for the write lock; on PostgreSQL `read only`. A write in it fails.
    pub async fn begin_read(&self) -> Result<Tx> {
        Ok(match self {
            Store::Sqlite { readers, .. } => Tx::SqliteRead(readers.begin().await?),
            Store::Postgres { pool: p, .. } => {
                let mut t = p.begin().await?;
                sqlx::query("set transaction read only").execute(&mut *t).await?;
                Tx::Postgres(t)
            }
        })
    }

    /// After rewriting much of the catalog (a reindex): PostgreSQL's vacuum and
    /// statistics for the tables queries read, so that searches right after need not
    /// skip dead row versions nor fetch rows an index could answer; SQLite's full-text
    /// indexes merged into one segment each, without the entries the reindex deleted
    /// (4 s at 100,000 pages; the queries after it took half as long, typical two-word
    /// p99 15 → 7 ms).
    ///
    /// SQLite is left without statistics on purpose: gathered while a site is small,
    /// they mislead the planner once it has grown (`pragma optimize` on a new database
    /// made page creation fall from ~780 to ~200 a second past 20,000 pages), and its
    /// queries are written to need none.
    pub async fn tidy_catalog(&self) -> Result<()> {
        match self {
            Store::Postgres { pool: p, .. } => {
                for sql in ["vacuum (analyze) item_text", "vacuum (analyze) items", "vacuum (analyze) item_viewers"] {
                    sqlx::raw_sql(sql).execute(p).await?;
                }
            }
            Store::Sqlite { .. } => {
                let mut tx = self.begin().await?;
                if let Db::Sqlite(c) = tx.db() {
                    sqlx::raw_sql(
                        "insert into item_fts (item_fts) values ('optimize');
                         insert into item_leads (item_leads) values ('optimize');",
                    )
                    .execute(&mut *c)
                    .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// The connections open and idle, and the most the pool opens (SQLite: the
    /// readers' pool and the writer together).
    pub fn pool_state(&self) -> PoolState {
        let of = |size: u32, idle: usize, max: u32| PoolState { open: size, idle: idle as u32, max };
        match self {
            Store::Sqlite { readers, writer, .. } => of(
                readers.size() + writer.size(),
                readers.num_idle() + writer.num_idle(),
                readers.options().get_max_connections() + 1,
            ),
            Store::Postgres { pool: p, .. } => of(p.size(), p.num_idle(), p.options().get_max_connections()),
        }
    }

    /// Whether this store's connections are encrypted (PostgreSQL over TLS); false on
    /// SQLite, which has no connections to encrypt.
    pub async fn encrypted(&self) -> Result<bool> {
        let Store::Postgres { pool: p, .. } = self else { return Ok(false) };
        let ssl: Option<bool> =
            sqlx::query_scalar("select ssl from pg_stat_ssl where pid = pg_backend_pid()").fetch_optional(p).await?;
        Ok(ssl.unwrap_or(false))
    }

    /// Whether [`Store::close`] was called.
    pub fn is_closed(&self) -> bool {
        match self {
            Store::Sqlite { writer, .. } => writer.is_closed(),
            Store::Postgres { pool: p, .. } => p.is_closed(),
        }
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite { readers, writer, side, .. } => {
                readers.close().await;
                side.close().await;
                writer.close().await;
            }
            Store::Postgres { pool, side } => {
                pool.close().await;
                side.close().await;
            }
        }
    }
}

impl Conn {
    pub fn db(&mut self) -> Db<'_> {
        match self {
            Conn::Sqlite(c) => Db::Sqlite(c),
            Conn::Postgres(c) => Db::Postgres(c),
        }
    }
}

impl Tx {
    pub fn db(&mut self) -> Db<'_> {
        match self {
            Tx::Sqlite(t, _) | Tx::SqliteRead(t) => Db::Sqlite(t),
            Tx::Postgres(t) => Db::Postgres(t),
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t, _) | Tx::SqliteRead(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// Removes the planner statistics an earlier version gathered (see
/// [`Store::tidy_catalog`]: SQLite runs without them), before any reader loads them.
async fn forget_statistics(writer: &SqlitePool) -> Result<()> {
    let tables: Vec<String> =
        sqlx::query_scalar("select name from sqlite_master where type = 'table' and name like 'sqlite_stat%'")
            .fetch_all(writer)
            .await?;
    if tables.is_empty() {
        return Ok(());
    }
    let mut sql: String = tables.iter().map(|t| format!("delete from {t};")).collect();
    // Makes the writer's connection read the (now empty) statistics again.
    sql.push_str("analyze sqlite_schema;");
    // The names are SQLite's own (no other table may start with `sqlite_`).
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(writer).await?;
    Ok(())
}

/// Copies SQLite's write-ahead log into the database file twice a second, outside the
/// write lock. Left to itself SQLite does it in the connection that commits, every
/// 1,000 pages of log: a write then pays for writing back and syncing the pages of
/// the writes before it (a create took ~20% longer on average, its p99 twice as long).
/// A passive checkpoint waits for no reader or writer; when writers kept it from
/// catching up with a log of over 1,000 pages, the rest (a few pages) is copied in
/// their turn, so that the next write starts the log over and it stays small.
async fn checkpoints(pool: SqlitePool, turn: Arc<tokio::sync::Mutex<()>>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let checkpoint = |pool: SqlitePool| async move {
        sqlx::query_as::<_, (i64, i64, i64)>("pragma wal_checkpoint(passive)").fetch_one(&pool).await
    };
    loop {
        tick.tick().await;
        if pool.is_closed() {
            break;
        }
        let result = match checkpoint(pool.clone()).await {
            Ok((_, log, done)) if log > 1000 && done < log => {
                let _turn = turn.lock().await;
                checkpoint(pool.clone()).await
            }
            other => other,
        };
        if let Err(e) = result {
            if pool.is_closed() {
                break;
            }
            tracing::warn!(error = %e, "SQLite checkpoint failed");
        }
    }
}

/// A database URL with its password replaced, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Timestamps are kept to the microsecond, the precision both backends store.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(super::redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact_url("sqlite://x.db"), "sqlite://x.db");
        assert_eq!(super::redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}

/// PostgreSQL helpers for tests and benchmarks that need a database of their own.
pub mod pg_admin {
    use sqlx::{AssertSqlSafe, Connection, PgConnection};

    use crate::{Result, StoreError};

    /// `url` with its database name replaced by `name`.
    pub fn with_database(url: &str, name: &str) -> String {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
        let host_and_path = &base[scheme_end..];
        let host = host_and_path.split_once('/').map(|(h, _)| h).unwrap_or(host_and_path);
        let mut out = format!("{}{host}/{name}", &base[..scheme_end]);
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        out
    }

    fn check_name(name: &str) -> Result<()> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(StoreError::BadUrl(format!("{name:?} is not a plain database name")));
        }
        Ok(())
    }

    /// Creates database `name` on the server of `admin_url`; returns its URL.
    pub async fn create_database(admin_url: &str, name: &str) -> Result<String> {
        check_name(name)?;
        let mut c = PgConnection::connect(admin_url).await.map_err(|e| StoreError::Connect(e.to_string()))?;
        sqlx::raw_sql(AssertSqlSafe(format!("create database {name}"))).execute(&mut c).await?;
        c.close().await?;
        Ok(with_database(admin_url, name))
    }

    /// Drops database `name` if it exists, disconnecting its sessions.
    pub async fn drop_database(admin_url: &str, name: &str) -> Result<()> {
        check_name(name)?;
        let mut c = PgConnection::connect(admin_url).await.map_err(|e| StoreError::Connect(e.to_string()))?;
        sqlx::raw_sql(AssertSqlSafe(format!("drop database if exists {name} with (force)"))).execute(&mut c).await?;
        c.close().await?;
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn replaces_the_database_name() {
            assert_eq!(super::with_database("postgres://u:p@h:5432/postgres", "x"), "postgres://u:p@h:5432/x");
            assert_eq!(super::with_database("postgres://h/db?sslmode=disable", "y"), "postgres://h/y?sslmode=disable");
            assert_eq!(super::with_database("postgres://h", "z"), "postgres://h/z");
        }
    }
}
