//! Exporting a site whole, for another system (Plone's format is written by the
//! caller): its items with their history and revisions, its users with their password
//! hashes as stored, its groups and its redirects. Only the system (operators at the
//! CLI) exports: an export holds every item and every hash, whoever may see them.
//!
//! Everything is read in one read-only transaction, so the export is one moment of the
//! site on SQLite; on PostgreSQL each read sees what was committed before it.

use std::sync::Arc;

use beffroi_model::media::StoredFile;
use beffroi_model::security::Principal;
use beffroi_model::workflow::WorkflowRegistry;
use beffroi_model::{ItemPath, SiteId};
use beffroi_store::{BlobRead, GroupRow, HistoryRow, ItemRow, RevisionRow, SiteRow, UserRow};
use uuid::Uuid;

use crate::{Result, ServiceError, Services};

/// An export in progress: a read-only transaction on one site.
pub struct Exporter<'s> {
    services: &'s Services,
    site: SiteRow,
    workflows: Arc<WorkflowRegistry>,
    tx: beffroi_store::Tx,
}

impl Services {
    /// Begins an export of the site `id` (the system only).
    pub async fn begin_export(&self, actor: &Principal, id: &SiteId) -> Result<Exporter<'_>> {
        if *actor != Principal::System {
            return Err(ServiceError::Unauthorized);
        }
        let mut tx = self.store.begin_read().await?;
        let site = tx.db().get_site(id).await?.ok_or_else(|| ServiceError::BadRequest(format!("no site {id}")))?;
        let workflows = self.workflows(&site).await?;
        Ok(Exporter { services: self, site, workflows, tx })
    }
}

impl Exporter<'_> {
    pub fn site(&self) -> &SiteRow {
        &self.site
    }

    /// The workflow an item of `type_name` follows here, by id.
    pub fn workflow_of(&self, type_name: &str) -> Option<String> {
        self.workflows.for_type(type_name).map(|w| w.id.clone())
    }

    /// The site's items, parents before their children, the root left out (its values
    /// are the site's): each with its UID, id and path only, whatever the site's size
    /// (read them whole in batches with [`Exporter::rows`]).
    pub async fn items(&mut self) -> Result<Vec<ItemRow>> {
        let mut items = self.tx.db().subtree_for_access(&self.site.scope(), &ItemPath::root()).await?;
        items.retain(|i| !i.path.is_root());
        Ok(items)
    }

    /// The whole rows of `uuids`, in that order (a batch of an export).
    pub async fn rows(&mut self, uuids: &[Uuid]) -> Result<Vec<ItemRow>> {
        let mut rows = self.tx.db().items_by_uuids(&self.site.scope(), uuids).await?;
        rows.sort_by_key(|r| uuids.iter().position(|u| *u == r.uuid));
        Ok(rows)
    }

    /// An item's workflow history, oldest first.
    pub async fn history(&mut self, item: Uuid) -> Result<Vec<HistoryRow>> {
        Ok(self.tx.db().history(&self.site.scope(), item).await?)
    }

    /// An item's revisions, oldest first (the last one holds its current values).
    pub async fn revisions(&mut self, item: Uuid) -> Result<Vec<RevisionRow>> {
        Ok(self.tx.db().revisions(&self.site.scope(), item).await?)
    }

    /// The site's users, with their password hashes as stored.
    pub async fn users(&mut self) -> Result<Vec<UserRow>> {
        Ok(self.tx.db().list_users(&self.site.scope()).await?)
    }

    /// The site's groups with their roles and members.
    pub async fn groups(&mut self) -> Result<Vec<GroupRow>> {
        Ok(self.tx.db().list_groups(&self.site.scope()).await?)
    }

    /// The site's redirects: each old path and where its item is now.
    pub async fn redirects(&mut self) -> Result<Vec<(ItemPath, ItemPath)>> {
        Ok(self.tx.db().redirects(&self.site.scope()).await?)
    }

    /// The site's translation groups: each item's uuid and language code.
    pub async fn translation_groups(&mut self) -> Result<Vec<Vec<(Uuid, String)>>> {
        Ok(self.tx.db().translation_groups(&self.site.scope()).await?)
    }

    /// Streams the bytes of a stored file.
    pub async fn read_blob(&self, file: &StoredFile) -> Result<BlobRead> {
        self.services.read_blob(file, None).await
    }
}
