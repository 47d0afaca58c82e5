//! Translations, as plone.app.multilingual links them: an item and the items that say
//! the same in other languages form a group (at most one item per language); linking
//! and unlinking need the right to change each item concerned, and reading shows only
//! the translations the reader may see.

use beffroi_model::security::{Permission, Principal};
use beffroi_model::{ItemPath, Language};

use crate::items::{allowed, load};
use crate::{Found, Result, ServiceError, Services, SiteRow};

impl Services {
    /// The translations of the item at `path` the actor may see: (path, language),
    /// the item itself left out.
    pub async fn translations(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
    ) -> Result<Vec<(ItemPath, Language)>> {
        let view = self.item(actor, site, path).await?;
        self.translations_of(actor, site, &view).await
    }

    /// [`Services::translations`] of an item already read.
    pub async fn translations_of(
        &self,
        actor: &Principal,
        site: &SiteRow,
        view: &crate::ItemView,
    ) -> Result<Vec<(ItemPath, Language)>> {
        let item = &view.item;
        let scope = site.scope();
        if self.translated.fresh(&site.id, self.cache_ttl()) == Some(false) {
            return Ok(Vec::new());
        }
        let members = {
            let mut c = self.store.conn().await?;
            if self.translated.fresh(&site.id, self.cache_ttl()).is_none() {
                let seen = self.change_clock();
                let translated = c.db().has_translations(&scope).await?;
                self.translated.put(&site.id, seen, translated);
                if !translated {
                    return Ok(Vec::new());
                }
            }
            match c.db().translation_group(&scope, item.uuid).await? {
                Some(group) => c.db().translation_members(&scope, group).await?,
                None => Vec::new(),
            }
        };
        let mut out = Vec::new();
        for (uuid, p, lang) in members {
            if uuid == item.uuid {
                continue;
            }
            if let Found::Item(_) = self.get(actor, site, &p).await.unwrap_or(Found::Missing) {
                out.push((p, Language::parse(&lang).unwrap_or_default()));
            }
        }
        Ok(out)
    }

    /// Links the item at `target` as a translation of the item at `path`: refused when
    /// they are in one language, when the item already has a translation in the
    /// target's language, or when the target is already the translation of another.
    pub async fn link_translation(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        target: &ItemPath,
    ) -> Result<()> {
        let reg = self.workflows(site).await?;
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        let mut lineages = Vec::new();
        for p in [path, target] {
            let mut lineage = load(&mut tx.db(), site, p).await.map_err(|e| match e {
                ServiceError::NotFound if p == target => {
                    ServiceError::BadRequest(format!("{} is not an item of this site", p.as_str()))
                }
                e => e,
            })?;
            may_change(&reg, actor, &lineage, "linking translations needs the right to change both items")?;
            lineages.push(lineage.pop().expect("a lineage ends with its item"));
        }
        let (item, other) = (&lineages[0], &lineages[1]);
        if item.uuid == other.uuid {
            return Err(ServiceError::BadRequest("an item is not its own translation".into()));
        }
        if item.language == other.language {
            return Err(ServiceError::BadRequest(format!(
                "{} is in the same language ({})",
                other.path.as_str(),
                other.language.code()
            )));
        }
        let group = tx.db().translation_group(&scope, item.uuid).await?;
        let theirs = tx.db().translation_group(&scope, other.uuid).await?;
        if let Some(g) = theirs
            && Some(g) != group
            && tx.db().translation_members(&scope, g).await?.len() > 1
        {
            return Err(ServiceError::BadRequest(format!(
                "{} is already the translation of another item",
                other.path.as_str()
            )));
        }
        let group = match group {
            Some(g) => {
                let members = tx.db().translation_members(&scope, g).await?;
                if let Some((_, p, _)) = members.iter().find(|(u, _, l)| *u != other.uuid && l == other.language.code())
                {
                    return Err(ServiceError::BadRequest(format!(
                        "already translated into {}: {}",
                        other.language.code(),
                        p.as_str()
                    )));
                }
                g
            }
            None => uuid::Uuid::new_v4(),
        };
        tx.db().join_translation_group(&scope, item.uuid, group).await?;
        tx.db().join_translation_group(&scope, other.uuid, group).await?;
        tx.commit().await?;
        self.translations_changed(site);
        Ok(())
    }

    /// Unlinks the translation in `language` of the item at `path` (a group left with
    /// one item is no group).
    pub async fn unlink_translation(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        language: &str,
    ) -> Result<()> {
        let reg = self.workflows(site).await?;
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        let lineage = load(&mut tx.db(), site, path).await?;
        may_change(&reg, actor, &lineage, "unlinking translations needs the right to change the item")?;
        let item = lineage.last().expect("a lineage ends with its item");
        let none = || ServiceError::BadRequest(format!("the item has no translation in {language:?}"));
        let group = tx.db().translation_group(&scope, item.uuid).await?.ok_or_else(none)?;
        let members = tx.db().translation_members(&scope, group).await?;
        let (gone, _, _) = members.iter().find(|(u, _, l)| *u != item.uuid && l == language).ok_or_else(none)?;
        tx.db().leave_translation_group(&scope, *gone).await?;
        if members.len() <= 2 {
            tx.db().leave_translation_group(&scope, item.uuid).await?;
        }
        tx.commit().await?;
        self.translations_changed(site);
        Ok(())
    }

    /// After a change of a site's translation groups: the caches that know them forget.
    fn translations_changed(&self, site: &SiteRow) {
        self.stale(crate::stale::Stale::Site(site.id.clone()));
    }
}

/// Refuses an actor who may not change the last item of `lineage`: unauthorized when
/// they may not even see it, forbidden with `refusal` otherwise.
fn may_change(
    reg: &beffroi_model::workflow::WorkflowRegistry,
    actor: &Principal,
    lineage: &[beffroi_store::ItemRow],
    refusal: &str,
) -> Result<()> {
    if !allowed(reg, actor, lineage, Permission::View) {
        return Err(ServiceError::Unauthorized);
    }
    if !allowed(reg, actor, lineage, Permission::ModifyPortalContent) {
        return Err(ServiceError::Forbidden(refusal.into()));
    }
    Ok(())
}
