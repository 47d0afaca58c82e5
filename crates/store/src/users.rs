//! Users of a site and their global roles. (Groups, local roles and operator accounts
//! come with the identity-and-access work.)

use beffroi_model::security::Role;
use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::sites::SiteScope;
use crate::{Db, Result, StoreError, on_db};

#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub login: String,
    pub fullname: String,
    pub email: String,
    /// An argon2id PHC string; never logged.
    pub password_hash: String,
    pub enabled: bool,
    pub created: DateTime<Utc>,
    pub roles: Vec<Role>,
}

impl Db<'_> {
    /// Inserts a user with their roles; Conflict if the login is taken on this site.
    pub async fn insert_user(&mut self, scope: &SiteScope, u: &UserRow) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query(
                "insert into users (site_id, login, fullname, email, password_hash, enabled, created) values ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(scope.key())
            .bind(&u.login)
            .bind(&u.fullname)
            .bind(&u.email)
            .bind(&u.password_hash)
            .bind(u.enabled)
            .bind(u.created)
            .execute(&mut *c)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("user {}", u.login)),
                other => other,
            })?;
            for r in &u.roles {
                sqlx::query("insert into user_roles (site_id, login, role) values ($1, $2, $3)")
                    .bind(scope.key())
                    .bind(&u.login)
                    .bind(r.name())
                    .execute(&mut *c)
                    .await?;
            }
        });
        Ok(())
    }

    pub async fn user(&mut self, scope: &SiteScope, login: &str) -> Result<Option<UserRow>> {
        on_db!(self, |c| {
            let Some(r) = sqlx::query(
                "select login, fullname, email, password_hash, enabled, created from users where site_id = $1 and login = $2",
            )
            .bind(scope.key())
            .bind(login)
            .fetch_optional(&mut *c)
            .await?
            else {
                return Ok(None);
            };
            let names: Vec<String> =
                sqlx::query_scalar("select role from user_roles where site_id = $1 and login = $2 order by role")
                    .bind(scope.key())
                    .bind(login)
                    .fetch_all(&mut *c)
                    .await?;
            let roles = names
                .iter()
                .map(|n| Role::parse(n).map_err(|e| StoreError::Corrupt(e.to_string())))
                .collect::<Result<Vec<_>>>()?;
            Ok(Some(UserRow {
                login: r.try_get(0)?,
                fullname: r.try_get(1)?,
                email: r.try_get(2)?,
                password_hash: r.try_get(3)?,
                enabled: r.try_get(4)?,
                created: r.try_get(5)?,
                roles,
            }))
        })
    }

    /// Whether any user exists on the site.
    pub async fn count_users(&mut self, scope: &SiteScope) -> Result<i64> {
        on_db!(self, |c| {
            Ok(sqlx::query_scalar("select count(*) from users where site_id = $1")
                .bind(scope.key())
                .fetch_one(&mut *c)
                .await?)
        })
    }
}
