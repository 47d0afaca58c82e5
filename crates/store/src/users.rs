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
    /// The generation of tokens still valid for this user (0 for operators).
    pub token_gen: i64,
    /// A token of an older generation kept valid: the one its user changed their own
    /// password with.
    pub kept_jti: Option<String>,
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
        });
        self.set_user_roles(scope, &u.login, &u.roles).await
    }

    /// Moves a user's tokens to a new generation (older ones stop working, but for
    /// `keep_jti`) and ends their sessions (but for the one whose id hashes to
    /// `keep_session`).
    pub async fn revoke_credentials(
        &mut self,
        scope: &SiteScope,
        login: &str,
        keep_session: Option<&str>,
        keep_jti: Option<&str>,
    ) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("update users set token_gen = token_gen + 1, kept_jti = $3 where site_id = $1 and login = $2")
                .bind(scope.key())
                .bind(login)
                .bind(keep_jti)
                .execute(&mut *c)
                .await?;
            sqlx::query("delete from sessions where site_id = $1 and login = $2 and id_hash <> $3")
                .bind(scope.key())
                .bind(login)
                .bind(keep_session.unwrap_or(""))
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// The enabled users of the site who hold Manager, directly or through a group.
    pub async fn managers(&mut self, scope: &SiteScope) -> Result<Vec<String>> {
        self.global_holders(scope, "Manager").await
    }

    /// The enabled users of the site who hold the global role `role`, directly or
    /// through a group.
    pub async fn global_holders(&mut self, scope: &SiteScope, role: &str) -> Result<Vec<String>> {
        Ok(on_db!(self, |c| {
            sqlx::query_scalar(
                "select u.login from users u where u.site_id = $1 and u.enabled = true and (
                   exists (select 1 from user_roles r where r.site_id = u.site_id and r.login = u.login and r.role = $2)
                   or exists (select 1 from group_members m join group_roles g on g.site_id = m.site_id and g.group_id = m.group_id
                              where m.site_id = u.site_id and m.login = u.login and g.role = $3))
                 order by u.login",
            )
            .bind(scope.key())
            .bind(role)
            .bind(role)
            .fetch_all(&mut *c)
            .await?
        }))
    }

    pub async fn user(&mut self, scope: &SiteScope, login: &str) -> Result<Option<UserRow>> {
        on_db!(self, |c| {
            let Some(r) = sqlx::query(
                "select login, fullname, email, password_hash, enabled, created, token_gen, kept_jti from users where site_id = $1 and login = $2",
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
                token_gen: r.try_get(6)?,
                kept_jti: r.try_get(7)?,
            }))
        })
    }
}

/// A group of users of a site.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRow {
    pub id: String,
    pub title: String,
    pub description: String,
    pub roles: Vec<Role>,
    pub members: Vec<String>,
}

fn parse_roles(names: &[String]) -> Result<Vec<Role>> {
    names.iter().map(|n| Role::parse(n).map_err(|e| StoreError::Corrupt(e.to_string()))).collect()
}

impl Db<'_> {
    /// Every user of the site with their roles, by login.
    pub async fn list_users(&mut self, scope: &SiteScope) -> Result<Vec<UserRow>> {
        let logins: Vec<String> = on_db!(self, |c| {
            sqlx::query_scalar("select login from users where site_id = $1 order by login")
                .bind(scope.key())
                .fetch_all(&mut *c)
                .await?
        });
        let mut out = Vec::with_capacity(logins.len());
        for l in logins {
            if let Some(u) = self.user(scope, &l).await? {
                out.push(u);
            }
        }
        Ok(out)
    }

    pub async fn set_password_hash(&mut self, scope: &SiteScope, login: &str, hash: &str) -> Result<()> {
        let n = on_db!(self, |c| {
            sqlx::query("update users set password_hash = $1 where site_id = $2 and login = $3")
                .bind(hash)
                .bind(scope.key())
                .bind(login)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        crate::found(n)
    }

    pub async fn set_enabled(&mut self, scope: &SiteScope, login: &str, enabled: bool) -> Result<()> {
        let n = on_db!(self, |c| {
            sqlx::query("update users set enabled = $1 where site_id = $2 and login = $3")
                .bind(enabled)
                .bind(scope.key())
                .bind(login)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        crate::found(n)
    }

    /// Inserts a group with its global roles; Conflict if the id is taken.
    pub async fn insert_group(&mut self, scope: &SiteScope, g: &GroupRow, at: DateTime<Utc>) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("insert into groups (site_id, id, title, description, created) values ($1, $2, $3, $4, $5)")
                .bind(scope.key())
                .bind(&g.id)
                .bind(&g.title)
                .bind(&g.description)
                .bind(at)
                .execute(&mut *c)
                .await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("group {}", g.id)),
                    other => other,
                })?;
        });
        self.set_group_roles(scope, &g.id, &g.roles).await
    }

    /// Adds a user to a group (nothing if already a member).
    pub async fn add_member(&mut self, scope: &SiteScope, group: &str, login: &str) -> Result<()> {
        on_db!(self, |c| {
            let exists: Option<i64> = sqlx::query_scalar(
                "select cast(1 as bigint) from group_members where site_id = $1 and group_id = $2 and login = $3",
            )
            .bind(scope.key())
            .bind(group)
            .bind(login)
            .fetch_optional(&mut *c)
            .await?;
            if exists.is_none() {
                sqlx::query("insert into group_members (site_id, group_id, login) values ($1, $2, $3)")
                    .bind(scope.key())
                    .bind(group)
                    .bind(login)
                    .execute(&mut *c)
                    .await?;
            }
        });
        Ok(())
    }

    pub async fn group(&mut self, scope: &SiteScope, id: &str) -> Result<Option<GroupRow>> {
        on_db!(self, |c| {
            let Some((id, title, description)): Option<(String, String, String)> =
                sqlx::query_as("select id, title, description from groups where site_id = $1 and id = $2")
                    .bind(scope.key())
                    .bind(id)
                    .fetch_optional(&mut *c)
                    .await?
            else {
                return Ok(None);
            };
            let roles: Vec<String> =
                sqlx::query_scalar("select role from group_roles where site_id = $1 and group_id = $2 order by role")
                    .bind(scope.key())
                    .bind(&id)
                    .fetch_all(&mut *c)
                    .await?;
            let members: Vec<String> = sqlx::query_scalar(
                "select login from group_members where site_id = $1 and group_id = $2 order by login",
            )
            .bind(scope.key())
            .bind(&id)
            .fetch_all(&mut *c)
            .await?;
            Ok(Some(GroupRow { id, title, description, roles: parse_roles(&roles)?, members }))
        })
    }

    /// Every group of the site, by id.
    pub async fn list_groups(&mut self, scope: &SiteScope) -> Result<Vec<GroupRow>> {
        let ids: Vec<String> = on_db!(self, |c| {
            sqlx::query_scalar("select id from groups where site_id = $1 order by id")
                .bind(scope.key())
                .fetch_all(&mut *c)
                .await?
        });
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(g) = self.group(scope, &id).await? {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// The groups `login` belongs to, with the global roles each gives.
    pub async fn groups_of(&mut self, scope: &SiteScope, login: &str) -> Result<Vec<(String, Vec<Role>)>> {
        let rows: Vec<(String, Option<String>)> = on_db!(self, |c| {
            sqlx::query_as(
                "select m.group_id, r.role from group_members m
                 left join group_roles r on r.site_id = m.site_id and r.group_id = m.group_id
                 where m.site_id = $1 and m.login = $2 order by m.group_id",
            )
            .bind(scope.key())
            .bind(login)
            .fetch_all(&mut *c)
            .await?
        });
        let mut out: Vec<(String, Vec<Role>)> = Vec::new();
        for (g, role) in rows {
            if out.last().is_none_or(|(last, _)| *last != g) {
                out.push((g.clone(), Vec::new()));
            }
            if let Some(r) = role {
                let role = Role::parse(&r).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                out.last_mut().expect("pushed above").1.push(role);
            }
        }
        Ok(out)
    }

    /// A deployment-wide setting (shared by every server process).
    pub async fn setting(&mut self, key: &str) -> Result<Option<String>> {
        on_db!(self, |c| {
            Ok(sqlx::query_scalar("select value from settings where key = $1")
                .bind(key)
                .fetch_optional(&mut *c)
                .await?)
        })
    }

    /// Stores `value` under `key` unless the key exists; returns the stored value (the
    /// first writer wins when several processes start together).
    pub async fn setting_or_insert(&mut self, key: &str, value: &str) -> Result<String> {
        on_db!(self, |c| {
            sqlx::query("insert into settings (key, value) values ($1, $2) on conflict (key) do nothing")
                .bind(key)
                .bind(value)
                .execute(&mut *c)
                .await?;
            Ok(sqlx::query_scalar("select value from settings where key = $1").bind(key).fetch_one(&mut *c).await?)
        })
    }

    /// Stores `value` under `key`, replacing what was there.
    pub async fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("insert into settings (key, value) values ($1, $2) on conflict (key) do update set value = excluded.value")
                .bind(key)
                .bind(value)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Records a token id as revoked until it would have expired anyway.
    pub async fn revoke_token(&mut self, jti: &str, expires: DateTime<Utc>) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("insert into revoked_tokens (jti, expires) values ($1, $2) on conflict (jti) do nothing")
                .bind(jti)
                .bind(expires)
                .execute(&mut *c)
                .await?;
            sqlx::query("delete from revoked_tokens where expires < $1").bind(crate::now()).execute(&mut *c).await?;
        });
        Ok(())
    }

    pub async fn is_revoked(&mut self, jti: &str) -> Result<bool> {
        on_db!(self, |c| {
            let r: Option<i64> = sqlx::query_scalar("select cast(1 as bigint) from revoked_tokens where jti = $1")
                .bind(jti)
                .fetch_optional(&mut *c)
                .await?;
            Ok(r.is_some())
        })
    }
}

impl Db<'_> {
    /// Inserts an operator (roles are implied: Manager everywhere).
    pub async fn insert_operator(&mut self, u: &UserRow) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query(
                "insert into operators (login, fullname, email, password_hash, enabled, created) values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&u.login)
            .bind(&u.fullname)
            .bind(&u.email)
            .bind(&u.password_hash)
            .bind(u.enabled)
            .bind(u.created)
            .execute(&mut *c)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("operator {}", u.login)),
                other => other,
            })?;
        });
        Ok(())
    }

    pub async fn operator(&mut self, login: &str) -> Result<Option<UserRow>> {
        on_db!(self, |c| {
            let row = sqlx::query(
                "select login, fullname, email, password_hash, enabled, created from operators where login = $1",
            )
            .bind(login)
            .fetch_optional(&mut *c)
            .await?;
            Ok(match row {
                None => None,
                Some(r) => Some(UserRow {
                    login: r.try_get(0)?,
                    fullname: r.try_get(1)?,
                    email: r.try_get(2)?,
                    password_hash: r.try_get(3)?,
                    enabled: r.try_get(4)?,
                    created: r.try_get(5)?,
                    roles: vec![Role::Manager],
                    token_gen: 0,
                    kept_jti: None,
                }),
            })
        })
    }

    pub async fn list_operators(&mut self) -> Result<Vec<UserRow>> {
        let logins: Vec<String> = on_db!(self, |c| {
            sqlx::query_scalar("select login from operators order by login").fetch_all(&mut *c).await?
        });
        let mut out = Vec::new();
        for l in logins {
            if let Some(o) = self.operator(&l).await? {
                out.push(o);
            }
        }
        Ok(out)
    }

    pub async fn set_operator_enabled(&mut self, login: &str, enabled: bool) -> Result<()> {
        let n = on_db!(self, |c| {
            sqlx::query("update operators set enabled = $1 where login = $2")
                .bind(enabled)
                .bind(login)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        crate::found(n)
    }
}

impl Db<'_> {
    /// Changes a user's name and email.
    pub async fn update_user_profile(
        &mut self,
        scope: &SiteScope,
        login: &str,
        fullname: &str,
        email: &str,
    ) -> Result<()> {
        let n = on_db!(self, |c| {
            sqlx::query("update users set fullname = $1, email = $2 where site_id = $3 and login = $4")
                .bind(fullname)
                .bind(email)
                .bind(scope.key())
                .bind(login)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        crate::found(n)
    }

    /// Replaces the global roles of a user (`table` "user_roles", key column "login")
    /// or of a group ("group_roles", "group_id").
    async fn replace_roles(&mut self, scope: &SiteScope, group: bool, id: &str, roles: &[Role]) -> Result<()> {
        let (delete, insert) = if group {
            (
                "delete from group_roles where site_id = $1 and group_id = $2",
                "insert into group_roles (site_id, group_id, role) values ($1, $2, $3)",
            )
        } else {
            (
                "delete from user_roles where site_id = $1 and login = $2",
                "insert into user_roles (site_id, login, role) values ($1, $2, $3)",
            )
        };
        on_db!(self, |c| {
            sqlx::query(delete).bind(scope.key()).bind(id).execute(&mut *c).await?;
            for r in roles {
                sqlx::query(insert).bind(scope.key()).bind(id).bind(r.name()).execute(&mut *c).await?;
            }
        });
        Ok(())
    }

    pub async fn set_user_roles(&mut self, scope: &SiteScope, login: &str, roles: &[Role]) -> Result<()> {
        self.replace_roles(scope, false, login, roles).await
    }

    pub async fn set_group_roles(&mut self, scope: &SiteScope, id: &str, roles: &[Role]) -> Result<()> {
        self.replace_roles(scope, true, id, roles).await
    }

    /// Deletes a user; their roles, memberships and sessions go with them.
    pub async fn delete_user(&mut self, scope: &SiteScope, login: &str) -> Result<()> {
        let n = on_db!(self, |c| {
            sqlx::query("delete from sessions where site_id = $1 and login = $2")
                .bind(scope.key())
                .bind(login)
                .execute(&mut *c)
                .await?;
            sqlx::query("delete from users where site_id = $1 and login = $2")
                .bind(scope.key())
                .bind(login)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        crate::found(n)
    }

    pub async fn update_group_info(
        &mut self,
        scope: &SiteScope,
        id: &str,
        title: &str,
        description: &str,
    ) -> Result<()> {
        let n = on_db!(self, |c| {
            sqlx::query("update groups set title = $1, description = $2 where site_id = $3 and id = $4")
                .bind(title)
                .bind(description)
                .bind(scope.key())
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        crate::found(n)
    }

    pub async fn remove_member(&mut self, scope: &SiteScope, group: &str, login: &str) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("delete from group_members where site_id = $1 and group_id = $2 and login = $3")
                .bind(scope.key())
                .bind(group)
                .bind(login)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Deletes a group; its roles and memberships go with it.
    pub async fn delete_group(&mut self, scope: &SiteScope, id: &str) -> Result<()> {
        let n = on_db!(self, |c| {
            sqlx::query("delete from groups where site_id = $1 and id = $2")
                .bind(scope.key())
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        crate::found(n)
    }
}
