//! Workflow history: one row per step of an item.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::sites::SiteScope;
use crate::{Db, Result, on_db};

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// The transition taken; None for the item's creation.
    pub action: Option<String>,
    pub actor: String,
    pub comments: String,
    pub from_state: Option<String>,
    pub review_state: String,
    pub at: DateTime<Utc>,
}

type HistoryTuple = (Option<String>, String, String, Option<String>, String, DateTime<Utc>);

impl Db<'_> {
    pub async fn insert_history(&mut self, scope: &SiteScope, item: Uuid, h: &HistoryRow) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query(
                "insert into workflow_history (site_id, item_uuid, action, actor, comments, from_state, review_state, at)
                 values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(scope.key())
            .bind(item)
            .bind(&h.action)
            .bind(&h.actor)
            .bind(&h.comments)
            .bind(&h.from_state)
            .bind(&h.review_state)
            .bind(h.at)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Forgets an item's workflow history (an import writes it again as exported).
    pub async fn delete_history(&mut self, scope: &SiteScope, item: Uuid) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("delete from workflow_history where site_id = $1 and item_uuid = $2")
                .bind(scope.key())
                .bind(item)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// An item's history, oldest first.
    pub async fn history(&mut self, scope: &SiteScope, item: Uuid) -> Result<Vec<HistoryRow>> {
        on_db!(self, |c| {
            let rows: Vec<HistoryTuple> = sqlx::query_as(
                "select action, actor, comments, from_state, review_state, at from workflow_history
                 where site_id = $1 and item_uuid = $2 order by id",
            )
            .bind(scope.key())
            .bind(item)
            .fetch_all(&mut *c)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(action, actor, comments, from_state, review_state, at)| HistoryRow {
                    action,
                    actor,
                    comments,
                    from_state,
                    review_state,
                    at,
                })
                .collect())
        })
    }
}

impl Db<'_> {
    /// A site's own workflow files, by name.
    pub async fn site_workflow_files(&mut self, scope: &SiteScope) -> Result<Vec<(String, String)>> {
        on_db!(self, |c| {
            Ok(sqlx::query_as("select name, json from site_workflows where site_id = $1 order by name")
                .bind(scope.key())
                .fetch_all(&mut *c)
                .await?)
        })
    }

    /// Stores (or replaces) one of a site's workflow files.
    pub async fn put_site_workflow_file(&mut self, scope: &SiteScope, name: &str, json: &str) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query(
                "insert into site_workflows (site_id, name, json) values ($1, $2, $3)
                 on conflict (site_id, name) do update set json = excluded.json",
            )
            .bind(scope.key())
            .bind(name)
            .bind(json)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }
}

/// An edit lock.
#[derive(Debug, Clone, PartialEq)]
pub struct LockRow {
    pub creator: String,
    pub token: String,
    pub created: DateTime<Utc>,
    pub timeout_secs: i64,
    pub stealable: bool,
}

impl LockRow {
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        (now - self.created).num_seconds() >= self.timeout_secs
    }
}

impl Db<'_> {
    pub async fn lock(&mut self, item: Uuid) -> Result<Option<LockRow>> {
        on_db!(self, |c| {
            let row: Option<(String, String, DateTime<Utc>, i64, bool)> = sqlx::query_as(
                "select creator, token, created, timeout_secs, stealable from locks where item_uuid = $1",
            )
            .bind(item)
            .fetch_optional(&mut *c)
            .await?;
            Ok(row.map(|(creator, token, created, timeout_secs, stealable)| LockRow {
                creator,
                token,
                created,
                timeout_secs,
                stealable,
            }))
        })
    }

    pub async fn put_lock(&mut self, item: Uuid, l: &LockRow) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query(
                "insert into locks (item_uuid, creator, token, created, timeout_secs, stealable) values ($1, $2, $3, $4, $5, $6)
                 on conflict (item_uuid) do update set creator = excluded.creator, token = excluded.token,
                 created = excluded.created, timeout_secs = excluded.timeout_secs, stealable = excluded.stealable",
            )
            .bind(item)
            .bind(&l.creator)
            .bind(&l.token)
            .bind(l.created)
            .bind(l.timeout_secs)
            .bind(l.stealable)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    pub async fn delete_lock(&mut self, item: Uuid) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("delete from locks where item_uuid = $1").bind(item).execute(&mut *c).await?;
        });
        Ok(())
    }
}

/// One saved version of an item.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionRow {
    pub version: i64,
    pub actor: String,
    pub comment: String,
    pub at: DateTime<Utc>,
    /// The item's values then: title, description, language, fields…
    pub snapshot: serde_json::Value,
}

type RevisionTuple = (i64, String, String, DateTime<Utc>, sqlx::types::Json<serde_json::Value>);

impl Db<'_> {
    /// Appends a revision with the next version number; returns that number.
    /// Keeps the `keep` newest revisions of an item and deletes the older ones.
    pub async fn prune_revisions(&mut self, scope: &SiteScope, item: Uuid, keep: i64) -> Result<u64> {
        on_db!(self, |c| {
            Ok(sqlx::query(
                "delete from revisions where site_id = $1 and item_uuid = $2
                 and version <= (select max(version) from revisions where item_uuid = $2) - $3",
            )
            .bind(scope.key())
            .bind(item)
            .bind(keep)
            .execute(&mut *c)
            .await?
            .rows_affected())
        })
    }

    pub async fn insert_revision(
        &mut self,
        scope: &SiteScope,
        item: Uuid,
        actor: &str,
        comment: &str,
        at: DateTime<Utc>,
        snapshot: &serde_json::Value,
    ) -> Result<i64> {
        on_db!(self, |c| {
            let next: i64 = sqlx::query_scalar(
                "insert into revisions (site_id, item_uuid, version, actor, comment, at, snapshot)
                 values ($1, $2, (select coalesce(max(version), -1) + 1 from revisions where item_uuid = $2), $3, $4, $5, $6)
                 returning version",
            )
            .bind(scope.key())
            .bind(item)
            .bind(actor)
            .bind(comment)
            .bind(at)
            .bind(sqlx::types::Json(snapshot))
            .fetch_one(&mut *c)
            .await?;
            Ok(next)
        })
    }

    /// Forgets an item's revisions (an import writes them again as exported).
    pub async fn delete_revisions(&mut self, scope: &SiteScope, item: Uuid) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("delete from revisions where site_id = $1 and item_uuid = $2")
                .bind(scope.key())
                .bind(item)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// An item's revisions, oldest first.
    pub async fn revisions(&mut self, scope: &SiteScope, item: Uuid) -> Result<Vec<RevisionRow>> {
        on_db!(self, |c| {
            let rows: Vec<RevisionTuple> = sqlx::query_as(
                "select version, actor, comment, at, snapshot from revisions where site_id = $1 and item_uuid = $2 order by version",
            )
            .bind(scope.key())
            .bind(item)
            .fetch_all(&mut *c)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(version, actor, comment, at, sqlx::types::Json(snapshot))| RevisionRow {
                    version,
                    actor,
                    comment,
                    at,
                    snapshot,
                })
                .collect())
        })
    }
}
