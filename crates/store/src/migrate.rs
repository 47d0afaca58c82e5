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

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        description: "access",
        sqlite: include_str!("../migrations/sqlite/0002_access.sql"),
        postgres: include_str!("../migrations/postgres/0002_access.sql"),
    },
    Migration {
        version: 3,
        description: "sessions and audit",
        sqlite: include_str!("../migrations/sqlite/0003_sessions_audit.sql"),
        postgres: include_str!("../migrations/postgres/0003_sessions_audit.sql"),
    },
    Migration {
        version: 4,
        description: "operators",
        sqlite: include_str!("../migrations/sqlite/0004_operators.sql"),
        postgres: include_str!("../migrations/postgres/0004_operators.sql"),
    },
    Migration {
        version: 5,
        description: "workflow history",
        sqlite: include_str!("../migrations/sqlite/0005_workflow_history.sql"),
        postgres: include_str!("../migrations/postgres/0005_workflow_history.sql"),
    },
    Migration {
        version: 6,
        description: "site workflows",
        sqlite: include_str!("../migrations/sqlite/0006_site_workflows.sql"),
        postgres: include_str!("../migrations/postgres/0006_site_workflows.sql"),
    },
    Migration {
        version: 7,
        description: "locks",
        sqlite: include_str!("../migrations/sqlite/0007_locks.sql"),
        postgres: include_str!("../migrations/postgres/0007_locks.sql"),
    },
    Migration {
        version: 8,
        description: "revisions",
        sqlite: include_str!("../migrations/sqlite/0008_revisions.sql"),
        postgres: include_str!("../migrations/postgres/0008_revisions.sql"),
    },
];

const LOCK_KEY: i64 = 0x0bef_f701;

pub(crate) async fn run(store: &Store) -> Result<()> {
    for m in MIGRATIONS {
        let mut tx = store.begin().await?;
        let mut db = tx.db();
        let (table, sql) = match &db {
            Db::Sqlite(_) => (
                "create table if not exists schema_migrations (version integer primary key, description text not null, applied_at text not null)",
                m.sqlite,
            ),
            Db::Postgres(_) => (
                "create table if not exists schema_migrations (version bigint primary key, description text not null, applied_at timestamptz not null)",
                m.postgres,
            ),
        };
        if let Db::Postgres(c) = &mut db {
            sqlx::query("select pg_advisory_xact_lock($1)").bind(LOCK_KEY).execute(&mut **c).await?;
        }
        let applied = on_db!(&mut db, |c| {
            sqlx::raw_sql(table).execute(&mut *c).await?;
            let done: Option<i64> = sqlx::query_scalar("select version from schema_migrations where version = $1")
                .bind(m.version)
                .fetch_optional(&mut *c)
                .await?;
            if done.is_none() {
                let fail = |source| StoreError::Migration { version: m.version, source };
                sqlx::raw_sql(sql).execute(&mut *c).await.map_err(fail)?;
                sqlx::query("insert into schema_migrations (version, description, applied_at) values ($1, $2, $3)")
                    .bind(m.version)
                    .bind(m.description)
                    .bind(crate::now())
                    .execute(&mut *c)
                    .await?;
            }
            done.is_none()
        });
        tx.commit().await?;
        if applied {
            tracing::info!(version = m.version, description = m.description, "migration applied");
        }
    }
    Ok(())
}
