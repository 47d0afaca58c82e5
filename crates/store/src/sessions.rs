//! Browser sessions, login throttling counters and the audit log.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use crate::sites::SiteScope;
use crate::{Db, Result, on_db};

/// A stored session: whose, on which site, its CSRF token, until when.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub site_id: String,
    pub login: String,
    pub csrf: String,
    pub expires: DateTime<Utc>,
}

/// The failures counted under one key (a login or a client address).
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRow {
    pub failures: i64,
    pub first_failure: DateTime<Utc>,
    pub blocked_until: Option<DateTime<Utc>>,
}

type AuditTuple = (DateTime<Utc>, String, String, String, String, Json<Value>);

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub client: String,
    pub detail: Value,
}

impl Db<'_> {
    /// Stores a session under the hash of its id, and drops expired ones.
    pub async fn insert_session(
        &mut self,
        scope: &SiteScope,
        id_hash: &str,
        login: &str,
        csrf: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("delete from sessions where expires < $1").bind(now).execute(&mut *c).await?;
            sqlx::query("insert into sessions (id_hash, site_id, login, csrf, created, expires) values ($1, $2, $3, $4, $5, $6)")
                .bind(id_hash)
                .bind(scope.key())
                .bind(login)
                .bind(csrf)
                .bind(now)
                .bind(expires)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    pub async fn session(&mut self, id_hash: &str) -> Result<Option<SessionRow>> {
        on_db!(self, |c| {
            let row: Option<(String, String, String, DateTime<Utc>)> =
                sqlx::query_as("select site_id, login, csrf, expires from sessions where id_hash = $1")
                    .bind(id_hash)
                    .fetch_optional(&mut *c)
                    .await?;
            Ok(row.map(|(site_id, login, csrf, expires)| SessionRow { site_id, login, csrf, expires }))
        })
    }

    pub async fn delete_session(&mut self, id_hash: &str) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("delete from sessions where id_hash = $1").bind(id_hash).execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Ends every session of a user on a site (disabled user, changed password).
    pub async fn delete_sessions_of(&mut self, scope: &SiteScope, login: &str) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("delete from sessions where site_id = $1 and login = $2")
                .bind(scope.key())
                .bind(login)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    pub async fn failures(&mut self, key: &str) -> Result<Option<FailureRow>> {
        on_db!(self, |c| {
            let row: Option<(i64, DateTime<Utc>, Option<DateTime<Utc>>)> =
                sqlx::query_as("select failures, first_failure, blocked_until from login_failures where key = $1")
                    .bind(key)
                    .fetch_optional(&mut *c)
                    .await?;
            Ok(row.map(|(failures, first_failure, blocked_until)| FailureRow {
                failures,
                first_failure,
                blocked_until,
            }))
        })
    }

    pub async fn put_failures(&mut self, key: &str, row: &FailureRow) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query(
                "insert into login_failures (key, failures, first_failure, blocked_until) values ($1, $2, $3, $4)
                 on conflict (key) do update set failures = excluded.failures, first_failure = excluded.first_failure,
                 blocked_until = excluded.blocked_until",
            )
            .bind(key)
            .bind(row.failures)
            .bind(row.first_failure)
            .bind(row.blocked_until)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    pub async fn clear_failures(&mut self, key: &str) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("delete from login_failures where key = $1").bind(key).execute(&mut *c).await?;
        });
        Ok(())
    }

    pub async fn audit(&mut self, scope: &SiteScope, row: &AuditRow) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query(
                "insert into audit_log (site_id, at, actor, action, target, client, detail) values ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(scope.key())
            .bind(row.at)
            .bind(&row.actor)
            .bind(&row.action)
            .bind(&row.target)
            .bind(&row.client)
            .bind(Json(&row.detail))
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// The latest audit lines of a site, newest first.
    pub async fn audit_log(&mut self, scope: &SiteScope, limit: i64) -> Result<Vec<AuditRow>> {
        on_db!(self, |c| {
            let rows: Vec<AuditTuple> = sqlx::query_as(
                "select at, actor, action, target, client, detail from audit_log where site_id = $1 order by id desc limit $2",
            )
            .bind(scope.key())
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(at, actor, action, target, client, Json(detail))| AuditRow {
                    at,
                    actor,
                    action,
                    target,
                    client,
                    detail,
                })
                .collect())
        })
    }
}
