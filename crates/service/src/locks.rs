//! Edit locks, as plone.locking: taken when an editor starts, released on save or
//! cancel, expiring after a timeout, stealable by whoever may change the item when the
//! lock says so (and always by site managers).

use beffroi_model::ItemPath;
use beffroi_model::security::{Permission, Principal};
use beffroi_store::{Db, ItemRow, LockRow, SiteRow};

use crate::items::{allowed, load, require};
use crate::sessions::audit_row;
use crate::{Result, ServiceError, Services};

pub const DEFAULT_LOCK_TIMEOUT: i64 = 600;
pub const MAX_LOCK_TIMEOUT: i64 = 24 * 3600;

/// The lock in force on `item`, if any (an expired one is none).
pub(crate) async fn current_lock(db: &mut Db<'_>, item: &ItemRow) -> Result<Option<LockRow>> {
    let now = beffroi_store::now();
    Ok(db.lock(item.uuid).await?.filter(|l| !l.expired(now)))
}

/// A write may go ahead on an unlocked item, on one locked by the actor, or with the
/// lock's token.
pub(crate) async fn check_lock(db: &mut Db<'_>, item: &ItemRow, actor: &Principal, token: Option<&str>) -> Result<()> {
    if *actor == Principal::System {
        return Ok(());
    }
    match current_lock(db, item).await? {
        Some(l) if l.creator != actor.id() && token != Some(l.token.as_str()) => Err(ServiceError::Locked(l.creator)),
        _ => Ok(()),
    }
}

/// A lock as someone who may view the item sees it.
#[derive(Debug, Clone)]
pub enum LockView {
    /// The whole lock (who holds it, since when, for how long): for those who may
    /// change the item, who need to know whom to ask or whether to steal it.
    Full(LockRow),
    /// Only that the item is locked and whether the lock may be stolen: for the
    /// others, to whom who works on what, and when, is none of their business.
    Bare { stealable: bool },
}

impl LockView {
    fn of(lock: LockRow, may_modify: bool) -> LockView {
        if may_modify { LockView::Full(lock) } else { LockView::Bare { stealable: lock.stealable } }
    }
}

fn token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

impl Services {
    /// The lock on the item at `path`, for those who may view it: whole for those who
    /// may change the item, bare for the others.
    pub async fn lock_status(&self, actor: &Principal, site: &SiteRow, path: &ItemPath) -> Result<Option<LockView>> {
        let reg = self.workflows(site).await?;
        let mut c = self.store.conn().await?;
        let lineage = load(&mut c.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::View)?;
        let lock = current_lock(&mut c.db(), lineage.last().expect("load returns the item last")).await?;
        Ok(lock.map(|l| LockView::of(l, allowed(&reg, actor, &lineage, Permission::ModifyPortalContent))))
    }

    /// The lock on an item already read (and viewable by `actor`), as [`Services::lock_status`].
    pub async fn lock_of(&self, actor: &Principal, view: &crate::ItemView) -> Result<Option<LockView>> {
        let mut c = self.store.conn().await?;
        let lock = current_lock(&mut c.db(), &view.item).await?;
        Ok(lock.map(|l| LockView::of(l, view.allows(actor, Permission::ModifyPortalContent))))
    }

    /// Locks the item at `path` for `actor`, or renews their own lock.
    pub async fn lock(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        stealable: bool,
        timeout: Option<i64>,
    ) -> Result<LockRow> {
        let timeout = timeout.unwrap_or(DEFAULT_LOCK_TIMEOUT);
        if !(1..=MAX_LOCK_TIMEOUT).contains(&timeout) {
            return Err(ServiceError::BadRequest(format!("timeout: 1 to {MAX_LOCK_TIMEOUT} seconds")));
        }
        let reg = self.workflows(site).await?;
        let mut tx = self.store.begin().await?;
        let lineage = load(&mut tx.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::ModifyPortalContent)?;
        let item = lineage.last().expect("load returns the item last");
        let lock = match current_lock(&mut tx.db(), item).await? {
            Some(l) if l.creator != actor.id() => return Err(ServiceError::Locked(l.creator)),
            Some(l) => LockRow { created: beffroi_store::now(), timeout_secs: timeout, stealable, ..l },
            None => LockRow {
                creator: actor.id().to_owned(),
                token: token(),
                created: beffroi_store::now(),
                timeout_secs: timeout,
                stealable,
            },
        };
        tx.db().put_lock(item.uuid, &lock).await?;
        tx.commit().await?;
        Ok(lock)
    }

    /// Renews the actor's own lock.
    pub async fn refresh_lock(&self, actor: &Principal, site: &SiteRow, path: &ItemPath) -> Result<LockRow> {
        let current = self.lock_status(actor, site, path).await?;
        match current {
            Some(LockView::Full(l)) if l.creator == actor.id() => {
                self.lock(actor, site, path, l.stealable, Some(l.timeout_secs)).await
            }
            Some(LockView::Full(l)) => Err(ServiceError::Locked(l.creator)),
            // Whoever may not change the item may not renew a lock on it either.
            Some(LockView::Bare { .. }) => Err(ServiceError::Unauthorized),
            None => Err(ServiceError::BadRequest("the item is not locked".into())),
        }
    }

    /// Releases a lock: one's own; someone else's with `force` when the lock is
    /// stealable (or by a site manager). Stealing is audited.
    pub async fn unlock(&self, actor: &Principal, site: &SiteRow, path: &ItemPath, force: bool) -> Result<()> {
        let reg = self.workflows(site).await?;
        let mut tx = self.store.begin().await?;
        let lineage = load(&mut tx.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::ModifyPortalContent)?;
        let item = lineage.last().expect("load returns the item last");
        if let Some(l) = current_lock(&mut tx.db(), item).await?
            && l.creator != actor.id()
        {
            let manager = crate::items::allowed_on(&reg, actor, &[], &lineage[0], Permission::ManagePortal);
            if !(force && (l.stealable || manager)) {
                return Err(ServiceError::Locked(l.creator));
            }
            let detail = serde_json::json!({"from": l.creator});
            tx.db().audit(&site.scope(), &audit_row(actor.id(), "lock.steal", path.as_str(), "", detail)).await?;
        }
        tx.db().delete_lock(item.uuid).await?;
        tx.commit().await?;
        Ok(())
    }
}
