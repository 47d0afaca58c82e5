//! Identity and access: who a request acts as, groups, and sharing (local roles).

use argon2::{Argon2, PasswordVerifier};
use beffroi_model::security::{AUTHENTICATED_USERS, Grantee, Permission, Principal, Role, delegable};
use beffroi_model::{ItemPath, Login};
use beffroi_store::{GroupRow, SiteRow, Tx, UserRow};

use serde_json::Value;

use crate::items::{load, node, refresh_viewers, require};
use crate::sessions::audit_row;
use crate::users::{MIN_PASSWORD_LEN, hash_password};
use crate::{Result, ServiceError, Services, Work};

/// A hash checked when the login is unknown, so that a wrong login costs the same time
/// as a wrong password and does not reveal which logins exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Jd6xEUFqQ3kO2m5m8b3kJUqzBrr5V1z2vUd4Bq8Qx8";

/// One line of a sharing page: a grantee and the sharable roles it holds here, each
/// either granted on this item or inherited from above.
#[derive(Debug, Clone, PartialEq)]
pub struct SharingEntry {
    pub grantee: Grantee,
    pub title: String,
    pub roles: Vec<(Role, RoleOrigin)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleOrigin {
    No,
    Here,
    Inherited,
}

/// The sharing of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Sharing {
    pub inherit: bool,
    pub entries: Vec<SharingEntry>,
    /// The roles the acting principal may hand out or take back here; entries list
    /// only these.
    pub available: Vec<Role>,
}

/// A change to the sharing of an item: for each grantee, roles to set or clear; roles
/// not named keep their value.
#[derive(Debug, Clone, Default)]
pub struct SharingChange {
    pub entries: Vec<(Grantee, Vec<(Role, bool)>)>,
    pub inherit: Option<bool>,
}

/// The credential a request came with: the one kept when users change their own
/// password (every other session and token of theirs ends).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Credential {
    #[default]
    Other,
    /// A browser session, by its id (as in the cookie).
    Session(String),
    /// A token, by its id (`jti`).
    Token(String),
}

/// Whether `actor` is a Manager: only Managers make, change or remove Managers (a Site
/// Administrator holds the same permissions otherwise, as in Plone).
fn is_manager(actor: &Principal) -> bool {
    *actor == Principal::System || actor.global_roles().contains(Role::Manager)
}

pub(crate) fn require_manager_to_grant(actor: &Principal, roles: &[Role]) -> Result<()> {
    if roles.contains(&Role::Manager) && !is_manager(actor) {
        return Err(ServiceError::Forbidden("only a Manager may grant the Manager role".into()));
    }
    Ok(())
}

/// Refuses a Site Administrator (or anyone but a Manager) changing a user among
/// `managers`: their password, status, roles or account.
fn require_may_change(actor: &Principal, managers: &[String], login: &str) -> Result<()> {
    if !is_manager(actor) && managers.iter().any(|m| m == login) {
        return Err(ServiceError::Forbidden("only a Manager may change a Manager's account".into()));
    }
    Ok(())
}

/// Refuses a change that leaves a site which had an enabled Manager without one: its
/// staff would be locked out of their own site.
async fn keep_a_manager(db: &mut beffroi_store::Db<'_>, site: &SiteRow, had: bool) -> Result<()> {
    if had && db.managers(&site.scope()).await?.is_empty() {
        return Err(ServiceError::Conflict("the site must keep at least one enabled Manager".into()));
    }
    Ok(())
}

impl Services {
    /// What the applications `site` enables find wrong with its access, as `tx` sees it
    /// (see [`crate::AccessCheckFn`]). Nothing is read when none checks anything.
    async fn access_problems(&self, site: &SiteRow, mut tx: Tx) -> Result<(Tx, Vec<String>)> {
        let checks = crate::apps::access_checks(&self.apps, site);
        if checks.is_empty() {
            return Ok((tx, Vec::new()));
        }
        let workflows = self.workflows(site).await?;
        let lineage = load(&mut tx.db(), site, &ItemPath::root()).await?;
        let mut work = Work::open(self, site, &Principal::System, workflows, tx, lineage);
        let mut problems = Vec::new();
        for check in checks {
            problems.extend(check(&mut work).await?);
        }
        Ok((work.into_tx(), problems))
    }

    /// Refuses the change made in `tx` when the applications find a problem with the
    /// site's access that was not there `before` it.
    async fn keep_access(&self, site: &SiteRow, tx: Tx, before: &[String]) -> Result<Tx> {
        let (tx, after) = self.access_problems(site, tx).await?;
        match after.into_iter().find(|p| !before.contains(p)) {
            Some(problem) => Err(ServiceError::Conflict(problem)),
            None => Ok(tx),
        }
    }

    /// The principal a user of `site` acts as: their own and their groups' global
    /// roles, and their groups; or an operator, Manager on every site. None if unknown
    /// or disabled. A site's own user shadows an operator of the same login there.
    pub async fn principal(&self, site: &SiteRow, login: &str) -> Result<Option<Principal>> {
        self.principal_if(site, login, |_| true).await
    }

    /// [`Services::principal`] when the site's user row passes `accept` (operators
    /// always do).
    async fn principal_if(
        &self,
        site: &SiteRow,
        login: &str,
        accept: impl FnOnce(&UserRow) -> bool,
    ) -> Result<Option<Principal>> {
        let mut c = self.store.conn().await?;
        if let Some(user) = c.db().user(&site.scope(), login).await? {
            if !user.enabled || !accept(&user) {
                return Ok(None);
            }
            let groups = c.db().groups_of(&site.scope(), login).await?;
            return Ok(Some(principal_of(user, groups)));
        }
        Ok(c.db().operator(login).await?.filter(|o| o.enabled).map(|o| principal_of(o, Vec::new())))
    }

    /// The principal a token of generation `gen` with id `jti` stands for: None when
    /// the user is unknown or disabled, or the token is of an older generation (its
    /// user's password, roles or status changed since) and not the one kept.
    pub async fn token_principal(
        &self,
        site: &SiteRow,
        login: &str,
        generation: i64,
        jti: &str,
    ) -> Result<Option<Principal>> {
        self.principal_if(site, login, |u| u.token_gen == generation || u.kept_jti.as_deref() == Some(jti)).await
    }

    /// The generation a token issued now for `login` carries.
    pub async fn token_generation(&self, site: &SiteRow, login: &str) -> Result<i64> {
        let mut c = self.store.conn().await?;
        Ok(c.db().user(&site.scope(), login).await?.map(|u| u.token_gen).unwrap_or(0))
    }

    /// Checks a login and password on `site` (a site user, else an operator); the
    /// argon2 verification runs on a blocking thread. None when they do not match or
    /// the account is disabled.
    pub async fn authenticate(&self, site: &SiteRow, login: &str, password: &str) -> Result<Option<Principal>> {
        let (user, groups) = {
            let mut c = self.store.conn().await?;
            match c.db().user(&site.scope(), login).await? {
                Some(u) => {
                    let groups = c.db().groups_of(&site.scope(), login).await?;
                    (Some(u), groups)
                }
                None => (c.db().operator(login).await?, Vec::new()),
            }
        };
        let hash = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_owned());
        // A user imported from Plone keeps Plone's hash until the first login succeeds.
        let foreign = user.is_some() && crate::import::is_foreign_hash(&hash);
        let typed = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || {
            if foreign {
                crate::import::verify_foreign_hash(&typed, &hash)
            } else {
                Argon2::default().verify_password(typed.as_bytes(), hash.as_str()).is_ok()
            }
        })
        .await
        .map_err(|_| ServiceError::Unavailable)?;
        if ok
            && foreign
            && let Some(u) = user.as_ref().filter(|u| u.enabled)
        {
            let argon = hash_password(password.to_owned()).await?;
            let mut tx = self.store.begin().await?;
            tx.db().set_password_hash(&site.scope(), &u.login, &argon).await?;
            tx.commit().await?;
            tracing::info!(site.id = %site.id, user.id = %u.login, "imported password hash replaced by argon2id");
        }
        Ok(match user {
            Some(u) if ok && u.enabled => Some(principal_of(u, groups)),
            _ => None,
        })
    }

    /// Creates an operator account, Manager on every site. Only the system may.
    pub async fn create_operator(
        &self,
        actor: &Principal,
        login: &Login,
        password: &str,
        fullname: &str,
    ) -> Result<()> {
        if *actor != Principal::System {
            return Err(ServiceError::Unauthorized);
        }
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(ServiceError::BadRequest(format!("a password has at least {MIN_PASSWORD_LEN} characters")));
        }
        let row = UserRow {
            login: login.to_string(),
            fullname: fullname.to_owned(),
            email: String::new(),
            password_hash: hash_password(password.to_owned()).await?,
            enabled: true,
            created: beffroi_store::now(),
            roles: vec![Role::Manager],
            token_gen: 0,
            kept_jti: None,
        };
        let mut tx = self.store.begin().await?;
        tx.db().insert_operator(&row).await.map_err(|e| match e {
            beffroi_store::StoreError::Conflict(_) => {
                ServiceError::Conflict(format!("operator {login} already exists"))
            }
            other => other.into(),
        })?;
        tx.commit().await?;
        tracing::info!(user.id = %login, "operator created");
        Ok(())
    }

    pub async fn list_operators(&self, actor: &Principal) -> Result<Vec<UserRow>> {
        if *actor != Principal::System {
            return Err(ServiceError::Unauthorized);
        }
        let mut c = self.store.conn().await?;
        Ok(c.db().list_operators().await?)
    }

    pub async fn set_operator_enabled(&self, actor: &Principal, login: &str, enabled: bool) -> Result<()> {
        if *actor != Principal::System {
            return Err(ServiceError::Unauthorized);
        }
        let mut tx = self.store.begin().await?;
        tx.db().set_operator_enabled(login, enabled).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a user's password (the system, a site manager; only a Manager for a
    /// Manager), ending every session and token of theirs. Users change their own
    /// password with [`Services::update_user`], which asks for the current one.
    pub async fn set_password(&self, actor: &Principal, site: &SiteRow, login: &str, password: &str) -> Result<()> {
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(ServiceError::BadRequest(format!("a password has at least {MIN_PASSWORD_LEN} characters")));
        }
        let hash = hash_password(password.to_owned()).await?;
        let mut tx = self.store.begin().await?;
        require_may_change(actor, &tx.db().managers(&site.scope()).await?, login)?;
        tx.db().set_password_hash(&site.scope(), login, &hash).await?;
        tx.db().revoke_credentials(&site.scope(), login, None, None).await?;
        tx.db().audit(&site.scope(), &audit_row(actor.id(), "user.password", login, "", Value::Null)).await?;
        tx.commit().await?;
        tracing::info!(site.id = %site.id, user.id = login, "password changed");
        Ok(())
    }

    /// Enables or disables a user (a disabled user cannot log in; their tokens stop
    /// working).
    pub async fn set_enabled(&self, actor: &Principal, site: &SiteRow, login: &str, enabled: bool) -> Result<()> {
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        if !enabled && actor.id() == login {
            return Err(ServiceError::Conflict("you cannot disable your own account".into()));
        }
        let (mut tx, before) = self.access_problems(site, self.store.begin().await?).await?;
        let managers = tx.db().managers(&site.scope()).await?;
        require_may_change(actor, &managers, login)?;
        tx.db().set_enabled(&site.scope(), login, enabled).await?;
        if !enabled {
            tx.db().revoke_credentials(&site.scope(), login, None, None).await?;
            keep_a_manager(&mut tx.db(), site, !managers.is_empty()).await?;
        }
        let mut tx = self.keep_access(site, tx, &before).await?;
        let action = if enabled { "user.enable" } else { "user.disable" };
        tx.db().audit(&site.scope(), &audit_row(actor.id(), action, login, "", Value::Null)).await?;
        tx.commit().await?;
        tracing::info!(site.id = %site.id, user.id = login, enabled, "user enabled flag changed");
        Ok(())
    }

    pub async fn list_users(&self, actor: &Principal, site: &SiteRow) -> Result<Vec<UserRow>> {
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        let mut c = self.store.conn().await?;
        Ok(c.db().list_users(&site.scope()).await?)
    }

    /// Creates a group with global roles and, in the same transaction, its members.
    pub async fn create_group(
        &self,
        actor: &Principal,
        site: &SiteRow,
        id: &str,
        title: &str,
        roles: Vec<Role>,
    ) -> Result<()> {
        self.create_group_with(actor, site, id, title, "", roles, &[]).await
    }

    /// Creates a group with a description, roles and members, in one transaction.
    #[expect(clippy::too_many_arguments, reason = "one use case with its form fields")]
    pub async fn create_group_with(
        &self,
        actor: &Principal,
        site: &SiteRow,
        id: &str,
        title: &str,
        description: &str,
        roles: Vec<Role>,
        members: &[String],
    ) -> Result<()> {
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        let id = Login::parse(id).map_err(|e| ServiceError::BadRequest(format!("group id: {e}")))?;
        if id.as_str() == AUTHENTICATED_USERS {
            return Err(ServiceError::Conflict(format!("{AUTHENTICATED_USERS} is a built-in group")));
        }
        if let Some(r) = roles.iter().find(|r| !r.is_grantable()) {
            return Err(ServiceError::BadRequest(format!("{r} cannot be granted")));
        }
        require_manager_to_grant(actor, &roles)?;
        let g = GroupRow {
            id: id.to_string(),
            title: title.trim().to_owned(),
            description: description.trim().to_owned(),
            roles,
            members: Vec::new(),
        };
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        tx.db().insert_group(&scope, &g, beffroi_store::now()).await.map_err(|e| match e {
            beffroi_store::StoreError::Conflict(_) => ServiceError::Conflict(format!("group {id} already exists")),
            other => other.into(),
        })?;
        for login in members {
            if tx.db().user(&scope, login).await?.is_none() {
                return Err(ServiceError::BadRequest(format!("no user {login}")));
            }
            tx.db().add_member(&scope, &g.id, login).await?;
        }
        let detail =
            serde_json::json!({"roles": g.roles.iter().map(|r| r.name()).collect::<Vec<_>>(), "members": members});
        tx.db().audit(&scope, &audit_row(actor.id(), "group.create", &g.id, "", detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Users and groups whose login, id or name contains `term` (case-insensitive),
    /// to share the item at `path` with: for those who may change its local roles.
    pub async fn search_principals(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        term: &str,
    ) -> Result<Vec<(Grantee, String)>> {
        let reg = self.workflows(site).await?;
        let mut c = self.store.conn().await?;
        let lineage = load(&mut c.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::ChangeLocalRoles)?;
        let term = term.trim().to_lowercase();
        if term.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for u in c.db().list_users(&site.scope()).await? {
            if u.enabled && (u.login.to_lowercase().contains(&term) || u.fullname.to_lowercase().contains(&term)) {
                out.push((Grantee::User(u.login), u.fullname));
            }
        }
        for g in c.db().list_groups(&site.scope()).await? {
            if g.id.to_lowercase().contains(&term) || g.title.to_lowercase().contains(&term) {
                out.push((Grantee::Group(g.id), g.title));
            }
        }
        out.truncate(50);
        Ok(out)
    }

    /// Changes a user: name and email (the user themself or a manager), global roles
    /// (managers only; Manager itself, and anything of a Manager, only by a Manager),
    /// password (users give their current one to change their own). A new password
    /// or a role taken away ends the user's sessions and tokens, but for `keep` when
    /// users change their own password with it.
    pub async fn update_user(
        &self,
        actor: &Principal,
        site: &SiteRow,
        login: &str,
        change: UserChange,
        keep: &Credential,
    ) -> Result<()> {
        let own = matches!(actor, Principal::User { login: l, .. } if l == login);
        if !own || change.roles.is_some() {
            self.require_on_site(actor, site, Permission::ManagePortal).await?;
        }
        if let Some(r) = change.roles.iter().flatten().find(|r| !r.is_grantable()) {
            return Err(ServiceError::BadRequest(format!("{r} cannot be granted as a global role")));
        }
        require_manager_to_grant(actor, change.roles.as_deref().unwrap_or_default())?;
        if own && change.password.is_some() {
            let current = change.current_password.as_deref().unwrap_or("");
            if current.is_empty() {
                return Err(ServiceError::BadRequest("give your current password to change it".into()));
            }
            if self.authenticate(site, login, current).await?.is_none() {
                return Err(ServiceError::Forbidden("the current password is wrong".into()));
            }
        }
        let hash = match &change.password {
            Some(p) if p.chars().count() < MIN_PASSWORD_LEN => {
                return Err(ServiceError::BadRequest(format!("a password has at least {MIN_PASSWORD_LEN} characters")));
            }
            Some(p) => Some(hash_password(p.clone()).await?),
            None => None,
        };
        let scope = site.scope();
        let (mut tx, before) = self.access_problems(site, self.store.begin().await?).await?;
        let managers = tx.db().managers(&scope).await?;
        if !own {
            require_may_change(actor, &managers, login)?;
        }
        let had = !managers.is_empty();
        let user = tx.db().user(&scope, login).await?.ok_or(ServiceError::NotFound)?;
        let fullname = change.fullname.unwrap_or(user.fullname);
        let email = change.email.unwrap_or(user.email);
        tx.db().update_user_profile(&scope, login, fullname.trim(), email.trim()).await?;
        let mut revoke = false;
        if let Some(roles) = &change.roles {
            tx.db().set_user_roles(&scope, login, roles).await?;
            revoke = user.roles.iter().any(|r| !roles.contains(r));
            keep_a_manager(&mut tx.db(), site, had).await?;
            tx = self.keep_access(site, tx, &before).await?;
        }
        if let Some(h) = &hash {
            tx.db().set_password_hash(&scope, login, h).await?;
            revoke = true;
        }
        if revoke {
            // Users keep the session or token they changed their own password with.
            let (session, jti) = match keep {
                Credential::Session(id) if own => (Some(crate::sessions::hash(id)), None),
                Credential::Token(jti) if own => (None, Some(jti.as_str())),
                _ => (None, None),
            };
            tx.db().revoke_credentials(&scope, login, session.as_deref(), jti).await?;
        }
        let detail = serde_json::json!({
            "roles": change.roles.as_ref().map(|rs| rs.iter().map(|r| r.name()).collect::<Vec<_>>()),
            "password": hash.is_some(),
        });
        tx.db().audit(&scope, &audit_row(actor.id(), "user.update", login, "", detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a user, their memberships, sessions and every local role granted to them
    /// (a later user of the same login must not inherit them).
    pub async fn delete_user(&self, actor: &Principal, site: &SiteRow, login: &str) -> Result<()> {
        self.delete_grantee(actor, site, Grantee::User(login.to_owned())).await
    }

    /// Changes a group: title and description, global roles, members added and removed.
    pub async fn update_group(&self, actor: &Principal, site: &SiteRow, id: &str, change: GroupChange) -> Result<()> {
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        if let Some(r) = change.roles.iter().flatten().find(|r| !r.is_grantable()) {
            return Err(ServiceError::BadRequest(format!("{r} cannot be granted")));
        }
        require_manager_to_grant(actor, change.roles.as_deref().unwrap_or_default())?;
        let scope = site.scope();
        let (mut tx, before) = self.access_problems(site, self.store.begin().await?).await?;
        let group = tx.db().group(&scope, id).await?.ok_or(ServiceError::NotFound)?;
        require_manager_to_grant(actor, &group.roles)?;
        let had = !tx.db().managers(&scope).await?.is_empty();
        let title = change.title.unwrap_or(group.title);
        let description = change.description.unwrap_or(group.description);
        tx.db().update_group_info(&scope, id, title.trim(), description.trim()).await?;
        if let Some(roles) = &change.roles {
            tx.db().set_group_roles(&scope, id, roles).await?;
        }
        for login in &change.add {
            if tx.db().user(&scope, login).await?.is_none() {
                return Err(ServiceError::BadRequest(format!("no user {login}")));
            }
            tx.db().add_member(&scope, id, login).await?;
        }
        for login in &change.remove {
            tx.db().remove_member(&scope, id, login).await?;
        }
        keep_a_manager(&mut tx.db(), site, had).await?;
        let mut tx = self.keep_access(site, tx, &before).await?;
        let detail = serde_json::json!({"add": change.add, "remove": change.remove});
        tx.db().audit(&scope, &audit_row(actor.id(), "group.update", id, "", detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a group and every local role granted to it.
    pub async fn delete_group(&self, actor: &Principal, site: &SiteRow, id: &str) -> Result<()> {
        self.delete_grantee(actor, site, Grantee::Group(id.to_owned())).await
    }

    /// Deletes a user or a group with the local roles granted to them, in one
    /// transaction.
    async fn delete_grantee(&self, actor: &Principal, site: &SiteRow, grantee: Grantee) -> Result<()> {
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        let reg = self.workflows(site).await?;
        let scope = site.scope();
        let (mut tx, before) = self.access_problems(site, self.store.begin().await?).await?;
        let managers = tx.db().managers(&scope).await?;
        let had = !managers.is_empty();
        let (action, id) = match &grantee {
            Grantee::User(login) => {
                if actor.id() == login {
                    return Err(ServiceError::Conflict("you cannot delete your own account".into()));
                }
                require_may_change(actor, &managers, login)?;
                tx.db().delete_user(&scope, login).await?;
                ("user.delete", login)
            }
            Grantee::Group(id) => {
                if let Some(g) = tx.db().group(&scope, id).await? {
                    require_manager_to_grant(actor, &g.roles)?;
                }
                tx.db().delete_group(&scope, id).await?;
                ("group.delete", id)
            }
        };
        keep_a_manager(&mut tx.db(), site, had).await?;
        forget_grantee(&reg, &mut tx.db(), site, &grantee).await?;
        let mut tx = self.keep_access(site, tx, &before).await?;
        tx.db().audit(&scope, &audit_row(actor.id(), action, id, "", Value::Null)).await?;
        tx.commit().await?;
        self.stale(crate::stale::Stale::Everything);
        Ok(())
    }

    /// One group (managers only).
    pub async fn group(&self, actor: &Principal, site: &SiteRow, id: &str) -> Result<GroupRow> {
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        let mut c = self.store.conn().await?;
        c.db().group(&site.scope(), id).await?.ok_or(ServiceError::NotFound)
    }

    /// One user with their groups: for managers, or for the user themself.
    pub async fn user_info(&self, actor: &Principal, site: &SiteRow, login: &str) -> Result<(UserRow, Vec<String>)> {
        if actor.id() != login || !matches!(actor, Principal::User { .. }) {
            self.require_on_site(actor, site, Permission::ManagePortal).await?;
        }
        let mut c = self.store.conn().await?;
        let user = c.db().user(&site.scope(), login).await?.ok_or(ServiceError::NotFound)?;
        let groups = c.db().groups_of(&site.scope(), login).await?.into_iter().map(|(g, _)| g).collect();
        Ok((user, groups))
    }

    /// Adds a user to a group.
    pub async fn add_member(&self, actor: &Principal, site: &SiteRow, group: &str, login: &str) -> Result<()> {
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        let Some(g) = tx.db().group(&scope, group).await? else {
            return Err(ServiceError::BadRequest(format!("no group {group}")));
        };
        require_manager_to_grant(actor, &g.roles)?;
        if tx.db().user(&scope, login).await?.is_none() {
            return Err(ServiceError::BadRequest(format!("no user {login}")));
        }
        tx.db().add_member(&scope, group, login).await?;
        tx.db()
            .audit(&scope, &audit_row(actor.id(), "group.add_member", group, "", serde_json::json!({"login": login})))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_groups(&self, actor: &Principal, site: &SiteRow) -> Result<Vec<GroupRow>> {
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        let mut c = self.store.conn().await?;
        Ok(c.db().list_groups(&site.scope()).await?)
    }

    /// The sharing of the item at `path`: every grantee with a sharable role here or
    /// inherited, plus the built-in group of logged-in users.
    pub async fn sharing(&self, actor: &Principal, site: &SiteRow, path: &ItemPath) -> Result<Sharing> {
        let reg = self.workflows(site).await?;
        let mut c = self.store.conn().await?;
        let lineage = load(&mut c.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::ChangeLocalRoles)?;
        let available = delegable(actor, &lineage.iter().map(node).collect::<Vec<_>>());
        let (item, ancestors) = lineage.split_last().expect("load returns the item last");
        // Inherited grants: from the ancestors, up to the nearest block (the item's own
        // block cuts them all).
        let mut inherited: Vec<(String, Role)> = Vec::new();
        if !item.block_inheritance {
            let from = ancestors.iter().rposition(|a| a.block_inheritance).unwrap_or(0);
            for a in &ancestors[from..] {
                for (k, roles) in &a.local_roles.0 {
                    inherited.extend(roles.iter().map(|r| (k.clone(), *r)));
                }
            }
        }
        let mut keys: Vec<String> =
            item.local_roles.0.keys().cloned().chain(inherited.iter().map(|(k, _)| k.clone())).collect();
        let authenticated = Grantee::Group(AUTHENTICATED_USERS.into()).key();
        keys.push(authenticated.clone());
        keys.sort();
        keys.dedup();
        let mut entries = Vec::new();
        for key in keys {
            let Some(grantee) = Grantee::from_key(&key) else { continue };
            let title = match &grantee {
                Grantee::User(l) => c.db().user(&site.scope(), l).await?.map(|u| u.fullname).unwrap_or_default(),
                Grantee::Group(g) if *g == AUTHENTICATED_USERS => "Logged-in users".to_owned(),
                Grantee::Group(g) => c.db().group(&site.scope(), g).await?.map(|g| g.title).unwrap_or_default(),
            };
            let here = item.local_roles.roles_of(&key);
            let roles = available
                .iter()
                .map(|r| {
                    let origin = if here.contains(*r) {
                        RoleOrigin::Here
                    } else if inherited.iter().any(|(k, ir)| *k == key && ir == r) {
                        RoleOrigin::Inherited
                    } else {
                        RoleOrigin::No
                    };
                    (*r, origin)
                })
                .collect();
            entries.push(SharingEntry { grantee, title, roles });
        }
        Ok(Sharing { inherit: !item.block_inheritance, entries, available })
    }

    /// Changes the sharing of the item at `path` and recomputes who may view it and
    /// everything below it, in one transaction.
    pub async fn update_sharing(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        change: SharingChange,
    ) -> Result<()> {
        let reg = self.workflows(site).await?;
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        let lineage = load(&mut tx.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::ChangeLocalRoles)?;
        let (mut tx, before) = self.access_problems(site, tx).await?;
        let available = delegable(actor, &lineage.iter().map(node).collect::<Vec<_>>());
        let item = lineage.last().expect("load returns the item last");
        let mut local = item.local_roles.clone();
        for (grantee, roles) in &change.entries {
            match grantee {
                Grantee::User(l) => {
                    if tx.db().user(&scope, l).await?.is_none() {
                        return Err(ServiceError::BadRequest(format!("no user {l}")));
                    }
                }
                Grantee::Group(g) if g == AUTHENTICATED_USERS => {}
                Grantee::Group(g) => {
                    if tx.db().group(&scope, g).await?.is_none() {
                        return Err(ServiceError::BadRequest(format!("no group {g}")));
                    }
                }
            }
            let mut set = local.roles_of(&grantee.key());
            for (role, on) in roles {
                if !Role::sharable().contains(role) {
                    return Err(ServiceError::BadRequest(format!("{role} cannot be shared")));
                }
                // Handing out or taking back a role needs the right to delegate it;
                // restating what is already there does not.
                if set.contains(*role) != *on && !available.contains(role) {
                    return Err(ServiceError::Forbidden(format!("you may not give or take back the {role} role")));
                }
                set = if *on { set.with(*role) } else { set.without(*role) };
            }
            local.set(grantee, set.iter());
        }
        let block = change.inherit.map(|i| !i).unwrap_or(item.block_inheritance);
        tx.db().set_sharing(&scope, item.uuid, &local, block).await?;
        refresh_viewers(&reg, &mut tx.db(), site, path).await?;
        let mut tx = self.keep_access(site, tx, &before).await?;
        let detail = serde_json::json!({"local_roles": local, "inherit": !block});
        tx.db().audit(&scope, &audit_row(actor.id(), "sharing", path.as_str(), "", detail)).await?;
        tx.commit().await?;
        self.emit(crate::Event {
            site: site.id.clone(),
            uuid: item.uuid,
            path: path.clone(),
            kind: crate::EventKind::AccessChanged,
        });
        tracing::info!(site.id = %site.id, item.path = %path, user.id = actor.id(), "sharing changed");
        Ok(())
    }

    /// Sets the workflow state of an item without a transition. Only the system does
    /// this (seeding, tests); users change states through workflow transitions.
    pub async fn force_state(&self, actor: &Principal, site: &SiteRow, path: &ItemPath, state: &str) -> Result<()> {
        let reg = self.workflows(site).await?;
        if *actor != Principal::System {
            return Err(ServiceError::Unauthorized);
        }
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        let mut lineage = load(&mut tx.db(), site, path).await?;
        let mut item = lineage.pop().expect("load returns the item last");
        let wf = reg
            .for_type(&item.type_name)
            .ok_or_else(|| ServiceError::BadRequest(format!("{} has no workflow", item.type_name)))?;
        if wf.state(state).is_none() {
            return Err(ServiceError::BadRequest(format!("{state:?} is not a state of {}", wf.id)));
        }
        item.review_state = Some(state.to_owned());
        if state == "published" && item.effective.is_none() {
            item.effective = Some(beffroi_store::now());
        }
        tx.db().update_item(&scope, &item).await?;
        refresh_viewers(&reg, &mut tx.db(), site, path).await?;
        tx.commit().await?;
        self.emit(crate::Event {
            site: site.id.clone(),
            uuid: item.uuid,
            path: path.clone(),
            kind: crate::EventKind::AccessChanged,
        });
        Ok(())
    }

    /// A deployment-wide secret (for signing tokens), made on first use and shared by
    /// every server process through the database.
    pub async fn secret(&self, name: &str) -> Result<String> {
        let fresh = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let mut tx = self.store.begin().await?;
        let v = tx.db().setting_or_insert(&format!("secret.{name}"), &fresh).await?;
        tx.commit().await?;
        Ok(v)
    }

    /// Revokes a token id until `expires` (logout).
    pub async fn revoke_token(&self, jti: &str, expires: chrono::DateTime<chrono::Utc>) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.db().revoke_token(jti, expires).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn is_revoked(&self, jti: &str) -> Result<bool> {
        let mut c = self.store.conn().await?;
        Ok(c.db().is_revoked(jti).await?)
    }
}

/// A change to a user; None keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub fullname: Option<String>,
    pub email: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub password: Option<String>,
    /// Users changing their own password give the current one.
    pub current_password: Option<String>,
}

/// A change to a group; None keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct GroupChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

/// Removes every local role of `grantee` in the site and recomputes the viewers.
async fn forget_grantee(
    reg: &beffroi_model::workflow::WorkflowRegistry,
    db: &mut beffroi_store::Db<'_>,
    site: &SiteRow,
    grantee: &Grantee,
) -> Result<()> {
    let scope = site.scope();
    let key = grantee.key();
    let mut touched = false;
    for row in db.subtree(&scope, &ItemPath::root()).await? {
        if row.local_roles.0.contains_key(&key) {
            let mut local = row.local_roles.clone();
            local.0.remove(&key);
            db.set_sharing(&scope, row.uuid, &local, row.block_inheritance).await?;
            touched = true;
        }
    }
    if touched {
        refresh_viewers(reg, db, site, &ItemPath::root()).await?;
    }
    Ok(())
}

fn principal_of(user: UserRow, groups: Vec<(String, Vec<Role>)>) -> Principal {
    let mut roles = user.roles;
    let mut ids = Vec::with_capacity(groups.len());
    for (g, rs) in groups {
        roles.extend(rs);
        ids.push(g);
    }
    roles.sort();
    roles.dedup();
    Principal::User { login: user.login, roles, groups: ids }
}

#[cfg(test)]
mod tests {
    use argon2::{Argon2, PasswordVerifier, password_hash};

    #[test]
    fn the_dummy_hash_parses_and_never_matches() {
        let r = Argon2::default().verify_password(b"anything", super::DUMMY_HASH);
        assert_eq!(r, Err(password_hash::Error::PasswordInvalid));
    }
}
