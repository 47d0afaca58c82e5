//! Versioned migrations, one folder per dialect, embedded in the binary.
//!
//! Each migration runs in its own transaction with its version row. On PostgreSQL an
//! advisory lock makes concurrent servers starting together apply each migration once.

use crate::{Db, Result, Store, StoreError, on_db};

struct Migration {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// One migration: its version, what it does, and the file of the same name in each
/// dialect's folder.
macro_rules! migration {
    ($version:literal, $description:literal, $file:literal) => {
        Migration {
            version: $version,
            description: $description,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../migrations/postgres/", $file)),
        }
    };
}

const MIGRATIONS: &[Migration] = &[
    migration!(1, "foundation", "0001_foundation.sql"),
    migration!(2, "access", "0002_access.sql"),
    migration!(3, "sessions and audit", "0003_sessions_audit.sql"),
    migration!(4, "operators", "0004_operators.sql"),
    migration!(5, "workflow history", "0005_workflow_history.sql"),
    migration!(6, "site workflows", "0006_site_workflows.sql"),
    migration!(7, "locks", "0007_locks.sql"),
    migration!(8, "revisions", "0008_revisions.sql"),
    migration!(9, "catalog", "0009_catalog.sql"),
    migration!(10, "catalog find index", "0010_catalog_find.sql"),
    migration!(11, "summary image", "0011_summary_image.sql"),
    migration!(12, "catalog access marks", "0012_catalog_marks.sql"),
    migration!(13, "catalog find index with facets", "0013_catalog_find_facets.sql"),
    migration!(14, "token generations", "0014_token_generations.sql"),
    migration!(15, "site time zone", "0015_site_time_zone.sql"),
    migration!(16, "site applications", "0016_site_apps.sql"),
    migration!(17, "counters", "0017_counters.sql"),
    migration!(18, "declared indexes", "0018_declared_indexes.sql"),
    migration!(19, "applications' migrations", "0019_app_migrations.sql"),
    migration!(20, "items of a type by change", "0020_items_type_modified.sql"),
    migration!(21, "translation groups", "0021_translations.sql"),
    migration!(22, "site languages", "0022_site_languages.sql"),
    migration!(23, "site theme", "0023_site_theme.sql"),
];

const LOCK_KEY: i64 = 0x0bef_f701;

pub(crate) async fn run(store: &Store) -> Result<()> {
    for m in MIGRATIONS {
        if apply_once(store, None, m.version, m.description, m.sqlite, m.postgres).await? {
            tracing::info!(version = m.version, description = m.description, "migration applied");
        }
    }
    Ok(())
}

/// Applies one migration unless it is recorded, in its own transaction with its record
/// (under the advisory lock on PostgreSQL): the platform's (`app` None, recorded in
/// `schema_migrations`) or an application's (`app_migrations`). Returns whether it ran.
async fn apply_once(
    store: &Store,
    app: Option<&str>,
    version: i64,
    description: &str,
    sqlite: &'static str,
    postgres: &'static str,
) -> Result<bool> {
    let mut tx = store.begin().await?;
    let mut db = tx.db();
    let (table, sql) = match &db {
        Db::Sqlite(_) => (
            "create table if not exists schema_migrations (version integer primary key, description text not null, applied_at text not null)",
            sqlite,
        ),
        Db::Postgres(_) => (
            "create table if not exists schema_migrations (version bigint primary key, description text not null, applied_at timestamptz not null)",
            postgres,
        ),
    };
    if let Db::Postgres(c) = &mut db {
        sqlx::query("select pg_advisory_xact_lock($1)").bind(LOCK_KEY).execute(&mut **c).await?;
    }
    let applied = on_db!(&mut db, |c| {
        sqlx::raw_sql(table).execute(&mut *c).await?;
        let done: Option<i64> = match app {
            None => {
                sqlx::query_scalar("select version from schema_migrations where version = $1")
                    .bind(version)
                    .fetch_optional(&mut *c)
                    .await?
            }
            Some(app) => {
                sqlx::query_scalar("select version from app_migrations where app = $1 and version = $2")
                    .bind(app)
                    .bind(version)
                    .fetch_optional(&mut *c)
                    .await?
            }
        };
        if done.is_none() {
            let fail = |source| StoreError::Migration { version, source };
            sqlx::raw_sql(sql).execute(&mut *c).await.map_err(fail)?;
            let record = match app {
                None => {
                    sqlx::query("insert into schema_migrations (version, description, applied_at) values ($1, $2, $3)")
                        .bind(version)
                }
                Some(app) => sqlx::query(
                    "insert into app_migrations (app, version, description, applied_at) values ($1, $2, $3, $4)",
                )
                .bind(app)
                .bind(version),
            };
            record.bind(description).bind(crate::now()).execute(&mut *c).await?;
        }
        done.is_none()
    });
    tx.commit().await?;
    Ok(applied)
}

/// A migration an application brings: its tables, named after the application.
#[derive(Debug, Clone, Copy)]
pub struct AppMigration {
    pub version: i64,
    pub description: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Applies the migrations of application `app` it has not applied yet, each in its own
/// transaction with its row in `app_migrations`; returns how many ran.
pub(crate) async fn run_app(store: &Store, app: &str, migrations: &[AppMigration]) -> Result<u32> {
    let mut ran = 0;
    for m in migrations {
        if apply_once(store, Some(app), m.version, m.description, m.sqlite, m.postgres).await? {
            tracing::info!(app, version = m.version, description = m.description, "application migration applied");
            ran += 1;
        }
    }
    Ok(ran)
}
