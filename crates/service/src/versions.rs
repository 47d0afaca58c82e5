//! Versioning: every save of a versioned type is a revision (who, when, change note,
//! a snapshot of the values); old versions can be read and reverted to.

use beffroi_model::ItemPath;
use beffroi_model::diff::{Part, words};
use beffroi_model::schema::{FieldKind, parse_datetime};
use beffroi_model::security::{Permission, Principal};
use beffroi_store::{Db, HistoryRow, ItemRow, RevisionRow, SiteRow};
use serde_json::{Value, json};

use crate::items::{allowed, load, require};
use crate::{Result, ServiceError, Services};

/// The values a revision keeps.
pub(crate) fn snapshot(item: &ItemRow) -> Value {
    json!({
        "title": item.title,
        "description": item.description,
        "language": item.language.code(),
        "exclude_from_nav": item.exclude_from_nav,
        "effective": item.effective,
        "expires": item.expires,
        "fields": item.fields,
    })
}

/// `item` with the values of `snap`.
pub fn apply_snapshot(item: &ItemRow, snap: &Value) -> ItemRow {
    let mut row = item.clone();
    let s = |k: &str| snap.get(k).and_then(Value::as_str);
    if let Some(t) = s("title") {
        row.title = t.to_owned();
    }
    if let Some(d) = s("description") {
        row.description = d.to_owned();
    }
    if let Some(l) = s("language").and_then(|l| beffroi_model::Language::parse(l).ok()) {
        row.language = l;
    }
    row.exclude_from_nav = snap.get("exclude_from_nav").and_then(Value::as_bool).unwrap_or(row.exclude_from_nav);
    row.effective = s("effective").and_then(parse_datetime);
    row.expires = s("expires").and_then(parse_datetime);
    if let Some(f) = snap.get("fields").and_then(Value::as_object) {
        row.fields = f.clone();
    }
    row
}

impl Services {
    pub(crate) fn is_versioned(&self, type_name: &str) -> bool {
        self.types.get(type_name).is_some_and(|t| t.behaviors.iter().any(|b| b == "versioning"))
    }

    /// Records a revision of `item` when its type is versioned.
    pub(crate) async fn record_revision(
        &self,
        db: &mut Db<'_>,
        site: &SiteRow,
        item: &ItemRow,
        actor: &Principal,
        note: &str,
    ) -> Result<()> {
        if self.is_versioned(&item.type_name) {
            db.insert_revision(&site.scope(), item.uuid, actor.id(), note, item.modified, &snapshot(item)).await?;
            if self.keep_revisions > 0 {
                db.prune_revisions(&site.scope(), item.uuid, i64::from(self.keep_revisions)).await?;
            }
        }
        Ok(())
    }

    /// The revisions and the workflow history of the item at `path`, for those who may
    /// edit, review or request review there.
    pub async fn history(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
    ) -> Result<(Vec<RevisionRow>, Vec<(HistoryRow, String)>, bool)> {
        let reg = self.workflows(site).await?;
        let mut c = self.store.conn().await?;
        let lineage = load(&mut c.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::View)?;
        let may = [Permission::ModifyPortalContent, Permission::ReviewPortalContent, Permission::RequestReview]
            .iter()
            .any(|p| allowed(&reg, actor, &lineage, *p));
        if !may {
            return Err(ServiceError::Unauthorized);
        }
        let may_revert = allowed(&reg, actor, &lineage, Permission::ModifyPortalContent);
        let item = lineage.last().expect("load returns the item last");
        let mut revisions = c.db().revisions(&site.scope(), item.uuid).await?;
        drop(c);
        // Old versions hide personal data as the current one does.
        let hidden = crate::items::hidden_personal_data(&self.types, &reg, actor, &lineage[..lineage.len() - 1], item);
        if !hidden.is_empty() {
            for r in &mut revisions {
                if let Some(fields) = r.snapshot.get_mut("fields").and_then(|f| f.as_object_mut()) {
                    crate::items::mask_fields(fields, &hidden);
                }
            }
        }
        let wf = self.workflow_info(actor, site, path).await?;
        Ok((revisions, wf.history, may_revert))
    }

    /// One revision of the item at `path`.
    pub async fn revision(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        version: i64,
    ) -> Result<RevisionRow> {
        let (revisions, _, _) = self.history(actor, site, path).await?;
        revisions.into_iter().find(|r| r.version == version).ok_or(ServiceError::NotFound)
    }

    /// Puts back the values of revision `version`, as a new revision.
    pub async fn revert(&self, actor: &Principal, site: &SiteRow, path: &ItemPath, version: i64) -> Result<ItemRow> {
        let reg = self.workflows(site).await?;
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        let lineage = load(&mut tx.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::ModifyPortalContent)?;
        let item = lineage.last().expect("load returns the item last");
        crate::locks::check_lock(&mut tx.db(), item, actor, None).await?;
        let rev = tx
            .db()
            .revisions(&scope, item.uuid)
            .await?
            .into_iter()
            .find(|r| r.version == version)
            .ok_or(ServiceError::NotFound)?;
        let mut row = apply_snapshot(item, &rev.snapshot);
        row.modified = beffroi_store::now();
        tx.db().update_item(&scope, &row).await?;
        crate::catalog::index(&mut tx.db(), &scope, &row, &self.types).await?;
        self.record_revision(&mut tx.db(), site, &row, actor, &format!("Reverted to revision {version}")).await?;
        tx.commit().await?;
        self.emit(crate::Event {
            site: site.id.clone(),
            uuid: row.uuid,
            path: row.path.clone(),
            kind: crate::EventKind::Modified,
        });
        Ok(row)
    }

    /// An item's history, newest first: its revisions and its workflow steps merged.
    pub async fn timeline(&self, actor: &Principal, site: &SiteRow, path: &ItemPath) -> Result<Timeline> {
        let (revisions, steps, may_revert) = self.history(actor, site, path).await?;
        let latest = revisions.iter().map(|r| r.version).max();
        let mut moments: Vec<Moment> = Vec::new();
        for r in &revisions {
            let previous = revisions.iter().filter(|p| p.version < r.version).map(|p| p.version).max();
            moments.push(Moment::Revision { revision: r.clone(), previous, latest: Some(r.version) == latest });
        }
        moments.extend(steps.into_iter().map(|(step, state_title)| Moment::Step { step, state_title }));
        moments.sort_by_key(|m| std::cmp::Reverse(m.at()));
        Ok(Timeline { moments, revisions, may_revert })
    }

    /// The fields whose values differ between revisions `a` and `b` of `item`, in the
    /// schema's order, with their words kept, removed and added (rich text as its
    /// words, files by their names).
    pub fn compare(&self, item: &ItemRow, a: &RevisionRow, b: &RevisionRow) -> Vec<(String, Vec<Part>)> {
        let (old, new) = (apply_snapshot(item, &a.snapshot), apply_snapshot(item, &b.snapshot));
        let (va, vb) = (values_of(&old), values_of(&new));
        let Some(schema) = self.types.get(&item.type_name) else { return Vec::new() };
        schema
            .fields
            .iter()
            .filter(|f| f.name != "changeNote")
            .filter_map(|f| {
                let (x, y) = (text_of(f.kind, va.get(&f.name)), text_of(f.kind, vb.get(&f.name)));
                (x != y).then(|| (f.name.clone(), words(&x, &y)))
            })
            .collect()
    }
}

/// One moment of an item's history.
#[derive(Debug, Clone)]
pub enum Moment {
    /// A revision, with the one before it (to compare) and whether it is the latest.
    Revision { revision: RevisionRow, previous: Option<i64>, latest: bool },
    /// A workflow step, with the title of the state it led to.
    Step { step: HistoryRow, state_title: String },
}

impl Moment {
    pub fn at(&self) -> chrono::DateTime<chrono::Utc> {
        match self {
            Moment::Revision { revision, .. } => revision.at,
            Moment::Step { step, .. } => step.at,
        }
    }
}

/// An item's history as its viewer may see it.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Newest first.
    pub moments: Vec<Moment>,
    /// The revisions, oldest first.
    pub revisions: Vec<RevisionRow>,
    /// Whether the viewer may put an old version back.
    pub may_revert: bool,
}

/// A field's value as text to compare (rich text as its words).
fn text_of(kind: FieldKind, v: Option<&Value>) -> String {
    match (kind, v) {
        (_, None | Some(Value::Null)) => String::new(),
        (FieldKind::RichText, Some(v)) => {
            beffroi_model::catalog::html_text(v.get("data").and_then(Value::as_str).unwrap_or(""))
        }
        (_, Some(Value::String(s))) => s.clone(),
        (_, Some(Value::Array(a))) => a
            .iter()
            .map(|x| x.as_str().map(str::to_owned).unwrap_or_else(|| x.to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        (FieldKind::File | FieldKind::Image, Some(v)) => {
            v.get("filename").and_then(Value::as_str).unwrap_or("").to_owned()
        }
        (_, Some(other)) => other.to_string(),
    }
}

fn values_of(item: &ItemRow) -> serde_json::Map<String, Value> {
    let mut m = item.fields.clone();
    m.insert("title".into(), item.title.clone().into());
    m.insert("description".into(), item.description.clone().into());
    m.insert("language".into(), item.language.code().into());
    m
}
