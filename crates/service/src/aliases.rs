//! Aliases, as plone.app.redirector keeps them: old addresses that lead to an item (a
//! move leaves them; an editor adds them, for a printed leaflet's short address).

use beffroi_model::ItemPath;
use beffroi_model::security::{Permission, Principal};
use beffroi_store::SiteRow;
use chrono::{DateTime, Utc};

use crate::items::{load, require};
use crate::{Result, ServiceError, Services};

/// An old address and where it leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub old: ItemPath,
    pub to: ItemPath,
    pub created: DateTime<Utc>,
}

impl Services {
    /// A transaction on the item at `path`, which `actor` must be allowed to change.
    async fn to_change(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
    ) -> Result<(beffroi_store::Tx, beffroi_store::ItemRow)> {
        let reg = self.workflows(site).await?;
        let mut tx = self.store.begin().await?;
        let mut lineage = load(&mut tx.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::ModifyPortalContent)?;
        let item = lineage.pop().expect("load returns the item last");
        Ok((tx, item))
    }

    /// The old addresses leading to the item at `path`, for who may view it; on the
    /// site root, every one of the site, for its managers.
    pub async fn aliases(&self, actor: &Principal, site: &SiteRow, path: &ItemPath) -> Result<Vec<Alias>> {
        let reg = self.workflows(site).await?;
        let mut c = self.store.conn().await?;
        let lineage = load(&mut c.db(), site, path).await?;
        let item = lineage.last().expect("load returns the item last");
        let uuid = if path.is_root() {
            require(&reg, actor, &lineage, Permission::ManagePortal)?;
            None
        } else {
            require(&reg, actor, &lineage, Permission::View)?;
            Some(item.uuid)
        };
        let rows = c.db().aliases(&site.scope(), uuid).await?;
        Ok(rows.into_iter().map(|(old, to, created)| Alias { old, to, created }).collect())
    }

    /// Makes each of `aliases` lead to the item at `path` (replacing where it led
    /// before); refused for an address where an item is, the site root, or the item's
    /// own. One transaction; who may change the item may.
    pub async fn add_aliases(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        aliases: &[ItemPath],
    ) -> Result<()> {
        let scope = site.scope();
        let (mut tx, item) = self.to_change(actor, site, path).await?;
        if path.is_root() {
            return Err(ServiceError::BadRequest("the site root has no aliases".into()));
        }
        let now = beffroi_store::now();
        for alias in aliases {
            if alias.is_root() || alias == path {
                return Err(ServiceError::BadRequest(format!("{} cannot be an alias here", alias.as_str())));
            }
            if tx.db().item_by_path(&scope, alias).await?.is_some() {
                return Err(ServiceError::BadRequest(format!("{}: an item is there", alias.as_str())));
            }
            tx.db().insert_redirect(&scope, alias, item.uuid, now).await?;
        }
        tx.commit().await?;
        self.stale(crate::stale::Stale::Content(site.id.clone()));
        Ok(())
    }

    /// Makes each of `aliases`, which must lead to the item at `path`, lead nowhere.
    pub async fn remove_aliases(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        aliases: &[ItemPath],
    ) -> Result<()> {
        let scope = site.scope();
        let (mut tx, item) = self.to_change(actor, site, path).await?;
        let here = tx.db().aliases(&scope, (!path.is_root()).then_some(item.uuid)).await?;
        for alias in aliases {
            if !here.iter().any(|(old, _, _)| old == alias) {
                return Err(ServiceError::BadRequest(format!("{} does not lead here", alias.as_str())));
            }
            tx.db().delete_redirect(&scope, alias).await?;
        }
        tx.commit().await?;
        self.stale(crate::stale::Stale::Content(site.id.clone()));
        Ok(())
    }
}
