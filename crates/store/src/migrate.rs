//! Versioned migrations, one folder per dialect, embedded in the binary.
//!
//! Each migration runs in its own transaction with its version row. On PostgreSQL an
//! advisory lock makes concurrent servers starting together apply each migration once.

use crate::{Result, Store, StoreError};

struct Migration {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "foundation",
    sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
    postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
}];

const LOCK_KEY: i64 = 0x0bef_f701;

pub(crate) async fn run(store: &Store) -> Result<()> {
    match store {
        Store::Sqlite(pool) => {
            sqlx::raw_sql(
                "create table if not exists schema_migrations (version integer primary key, description text not null, applied_at text not null)",
            )
            .execute(pool)
            .await?;
            for m in MIGRATIONS {
                let mut tx = pool.begin_with("begin immediate").await?;
                let done: Option<i64> = sqlx::query_scalar("select version from schema_migrations where version = $1")
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
                if done.is_some() {
                    continue;
                }
                let fail = |source| StoreError::Migration {
                    version: m.version,
                    source,
                };
                sqlx::raw_sql(m.sqlite).execute(&mut *tx).await.map_err(fail)?;
                sqlx::query("insert into schema_migrations (version, description, applied_at) values ($1, $2, $3)")
                    .bind(m.version)
                    .bind(m.description)
                    .bind(crate::now())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                tracing::info!(version = m.version, description = m.description, "migration applied");
            }
        }
        Store::Postgres(pool) => {
            for m in MIGRATIONS {
                let mut tx = pool.begin().await?;
                sqlx::query("select pg_advisory_xact_lock($1)")
                    .bind(LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
                sqlx::raw_sql(
                    "create table if not exists schema_migrations (version bigint primary key, description text not null, applied_at timestamptz not null)",
                )
                .execute(&mut *tx)
                .await?;
                let done: Option<i64> = sqlx::query_scalar("select version from schema_migrations where version = $1")
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
                if done.is_some() {
                    continue;
                }
                let fail = |source| StoreError::Migration {
                    version: m.version,
                    source,
                };
                sqlx::raw_sql(m.postgres).execute(&mut *tx).await.map_err(fail)?;
                sqlx::query("insert into schema_migrations (version, description, applied_at) values ($1, $2, $3)")
                    .bind(m.version)
                    .bind(m.description)
                    .bind(crate::now())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                tracing::info!(version = m.version, description = m.description, "migration applied");
            }
        }
    }
    Ok(())
}
