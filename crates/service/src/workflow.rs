//! Workflow use cases: the transition, the history, the review list.

use std::collections::BTreeMap;

use beffroi_model::ItemPath;
use beffroi_model::security::{Node, Permission, Principal, Role};
use beffroi_model::workflow::{WorkflowRegistry, guard_allows};
use beffroi_store::{HistoryRow, ItemRow, SiteRow};
use chrono::{DateTime, Utc};

use crate::items::{ItemView, allowed, load, maps, node, refresh_viewers, state_of};
use crate::sessions::audit_row;
use crate::{Result, ServiceError, Services, Transitioned, When};

/// What a transition request carries besides its id.
#[derive(Debug, Clone, Default)]
pub struct TransitionRequest {
    pub comment: String,
    pub effective: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
    /// Also take the transition on every item below, where it applies and is allowed.
    pub include_children: bool,
}

/// An item's workflow as its viewer sees it.
#[derive(Debug, Clone)]
pub struct WorkflowInfo {
    /// The state's id and title (in the site's language), None without workflow.
    pub state: Option<(String, String)>,
    /// Empty for those who may neither review nor request review.
    pub history: Vec<(HistoryRow, String)>,
    /// The transitions `actor` may take now: id and title.
    pub transitions: Vec<(String, String)>,
}

/// Whether a state shows the item to everybody or every user: publishing it sets the
/// effective date when none was given.
pub(crate) fn is_public(state: &beffroi_model::workflow::State) -> bool {
    state
        .permissions
        .get(&Permission::View)
        .is_some_and(|p| p.roles.contains(&Role::Anonymous) || p.roles.contains(&Role::Authenticated))
}

/// Puts every item (of `only_type`, if given) whose state its workflow does not have
/// into `map[state]` when that is a state of it, else its initial state, recorded in
/// its history; drops the state of items whose type has no workflow; recomputes the
/// stored viewers of the site. Returns how many items changed state.
async fn remap_states(
    reg: &WorkflowRegistry,
    db: &mut beffroi_store::Db<'_>,
    site: &SiteRow,
    only_type: Option<&str>,
    map: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let scope = site.scope();
    let mut changed = 0;
    for mut row in db.subtree(&scope, &ItemPath::root()).await? {
        if row.path.is_root() || only_type.is_some_and(|t| t != row.type_name) {
            continue;
        }
        let target = match reg.for_type(&row.type_name) {
            Some(wf) if row.review_state.as_deref().is_some_and(|s| wf.state(s).is_some()) => continue,
            Some(wf) => Some(
                row.review_state
                    .as_deref()
                    .and_then(|s| map.get(s))
                    .filter(|s| wf.state(s).is_some())
                    .cloned()
                    .unwrap_or_else(|| wf.initial_state.clone()),
            ),
            None if row.review_state.is_none() => continue,
            None => None,
        };
        let from = std::mem::replace(&mut row.review_state, target.clone());
        db.update_item(&scope, &row).await?;
        if let Some(to) = target {
            let h = HistoryRow {
                action: None,
                actor: "system".into(),
                comments: "state changed with the workflow definitions".into(),
                from_state: from,
                review_state: to,
                at: now,
            };
            db.insert_history(&scope, row.uuid, &h).await?;
        }
        changed += 1;
    }
    refresh_viewers(reg, db, site, &ItemPath::root()).await?;
    Ok(changed)
}

/// A fingerprint of the workflow definitions and chain in force.
fn definitions_hash(app_files: &[(&str, &str)]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    // The shipped workflows, then the applications' files (the content application's
    // chain first: the fingerprint of a server with only it is the one from before
    // applications, so upgrading reconciles nothing).
    for (name, json) in beffroi_model::workflow::BUILTIN_WORKFLOWS.iter().chain(app_files) {
        h.update(name.as_bytes());
        h.update(json.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Services {
    /// Brings stored content in line with the workflow definitions when they changed
    /// since the last run: an item in a state its workflow no longer has goes to the
    /// workflow's initial state (recorded in its history), an item whose type lost its
    /// workflow loses its state, and every stored viewer is recomputed. Returns how
    /// many items changed state; nothing happens when the definitions are unchanged.
    pub async fn reconcile_workflows(&self) -> Result<u64> {
        let hash = definitions_hash(&self.app_files);
        let mut tx = self.store.begin().await?;
        if tx.db().setting("workflows.hash").await?.as_deref() == Some(hash.as_str()) {
            return Ok(0);
        }
        let now = beffroi_store::now();
        let mut changed = 0;
        for site in tx.db().list_sites().await? {
            let reg = self.workflows(&site).await?;
            changed += remap_states(&reg, &mut tx.db(), &site, None, &BTreeMap::new(), now).await?;
        }
        tx.db().set_setting("workflows.hash", &hash).await?;
        tx.commit().await?;
        self.stale(crate::stale::Stale::Everything);
        tracing::info!(items = changed, "workflow definitions reconciled with stored content");
        Ok(changed)
    }

    /// Stores a workflow definition of `site`'s own (replacing a shipped or earlier one
    /// with the same id) once it loads; items following it in a state it no longer has
    /// go to its initial state. Site administrators only.
    pub async fn set_site_workflow(&self, actor: &Principal, site: &SiteRow, json: &str) -> Result<String> {
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        let wf = beffroi_model::workflow::Workflow::load("definition", json)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let name = format!("{}.json", wf.id);
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        let mut files = tx.db().site_workflow_files(&scope).await?;
        files.retain(|(n, _)| *n != name);
        files.push((name.clone(), json.to_owned()));
        let reg = self.base_workflows.with_site(&files).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        tx.db().put_site_workflow_file(&scope, &name, json).await?;
        let moved = remap_states(&reg, &mut tx.db(), site, None, &BTreeMap::new(), beffroi_store::now()).await?;
        let detail = serde_json::json!({"items_moved": moved});
        tx.db().audit(&scope, &audit_row(actor.id(), "workflow.define", &wf.id, "", detail)).await?;
        tx.commit().await?;
        self.stale(crate::stale::Stale::Site(site.id.clone()));
        Ok(wf.id)
    }

    /// Makes `type_name` follow workflow `workflow` on `site` (None: its container's
    /// permissions). Items of that type in a state the new workflow lacks go to
    /// `map[state]`, else its initial state, recorded in their history; all in one
    /// transaction. Returns how many items changed state.
    pub async fn set_chain(
        &self,
        actor: &Principal,
        site: &SiteRow,
        type_name: &str,
        workflow: Option<&str>,
        map: &BTreeMap<String, String>,
    ) -> Result<u64> {
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        if self.types.get(type_name).is_none() {
            return Err(ServiceError::BadRequest(format!("unknown type {type_name:?}")));
        }
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        let mut files = tx.db().site_workflow_files(&scope).await?;
        let chains_name = beffroi_model::workflow::CHAINS_FILE;
        let mut chain: BTreeMap<String, Option<String>> = files
            .iter()
            .find(|(n, _)| n == chains_name)
            .map(|(_, j)| serde_json::from_str(j).unwrap_or_default())
            .unwrap_or_default();
        chain.insert(type_name.to_owned(), workflow.map(str::to_owned));
        let chain_json = serde_json::to_string(&chain).expect("a map serializes");
        files.retain(|(n, _)| n != chains_name);
        files.push((chains_name.to_owned(), chain_json.clone()));
        let reg = self.base_workflows.with_site(&files).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        if let Some(wf) = reg.for_type(type_name)
            && let Some((old, new)) = map.iter().find(|(_, new)| wf.state(new).is_none())
        {
            return Err(ServiceError::BadRequest(format!("{old:?} → {new:?}: {new:?} is not a state of {}", wf.id)));
        }
        tx.db().put_site_workflow_file(&scope, chains_name, &chain_json).await?;
        let moved = remap_states(&reg, &mut tx.db(), site, Some(type_name), map, beffroi_store::now()).await?;
        let detail = serde_json::json!({"type": type_name, "workflow": workflow, "items_moved": moved});
        tx.db().audit(&scope, &audit_row(actor.id(), "workflow.chain", type_name, "", detail)).await?;
        tx.commit().await?;
        self.stale(crate::stale::Stale::Site(site.id.clone()));
        Ok(moved)
    }

    /// Items waiting for review that `actor` may review, oldest first.
    pub async fn review_list(&self, actor: &Principal, site: &SiteRow) -> Result<Vec<ToReview>> {
        let reg = self.workflows(site).await?;
        let tokens = actor.tokens();
        let mut c = self.store.conn().await?;
        let pending = c.db().in_state(&site.scope(), "pending", tokens.as_deref(), 200).await?;
        let mut out = Vec::new();
        for s in pending {
            let lineage = load(&mut c.db(), site, &s.path).await?;
            if allowed(&reg, actor, &lineage, Permission::ReviewPortalContent) {
                // Who submitted it and what they said: the step that brought it here.
                let history = c.db().history(&site.scope(), s.uuid).await?;
                let submitted = history.into_iter().rev().find(|h| h.review_state == "pending" && h.action.is_some());
                out.push(ToReview {
                    submitter: submitted.as_ref().map(|h| h.actor.clone()),
                    comment: submitted.map(|h| h.comments).unwrap_or_default(),
                    item: s,
                });
            }
        }
        Ok(out)
    }

    /// The state, the history and the transitions open to `actor` on the item at `path`.
    pub async fn workflow_info(&self, actor: &Principal, site: &SiteRow, path: &ItemPath) -> Result<WorkflowInfo> {
        let view = self.item(actor, site, path).await?;
        self.workflow_info_of(actor, site, &view).await
    }

    /// [`Services::workflow_info`] of an item already read (and viewable by `actor`):
    /// no second lineage query on a page view.
    pub async fn workflow_info_of(&self, actor: &Principal, site: &SiteRow, view: &ItemView) -> Result<WorkflowInfo> {
        let reg = &view.workflows;
        let item = &view.item;
        let lang = site.language;
        let Some(wf) = reg.for_type(&item.type_name) else {
            return Ok(WorkflowInfo { state: None, history: Vec::new(), transitions: Vec::new() });
        };
        let state = state_of(reg, item).expect("a workflow has a state");
        let may_see_history =
            [Permission::RequestReview, Permission::ReviewPortalContent, Permission::ModifyPortalContent]
                .iter()
                .any(|p| view.allows(actor, *p));
        let history = if may_see_history {
            let mut c = self.store.conn().await?;
            c.db()
                .history(&site.scope(), item.uuid)
                .await?
                .into_iter()
                .map(|h| {
                    let t = reg.state_title(&item.type_name, &h.review_state, lang);
                    (h, t)
                })
                .collect()
        } else {
            Vec::new()
        };
        let rows = || view.lineage.iter().chain(std::iter::once(item));
        let nodes: Vec<Node<'_>> = rows().map(node).collect();
        let all_maps = maps(reg, rows());
        let map = all_maps.last().expect("one map per row");
        let (values, container) = guard_values(&view.lineage, item);
        let open: Vec<_> = wf
            .exits(&state.id)
            .filter(|t| guard_allows(actor, &nodes, map, &t.guard))
            .filter(|t| t.guard.condition_holds(&values, container.as_ref()))
            .collect();
        // The applications' guard hooks, in one read-only unit opened only if needed.
        let mut unit: Option<crate::Work<'_>> = None;
        let mut transitions = Vec::new();
        for t in open {
            let change = Transitioned {
                workflow: wf.id.clone(),
                transition: t.id.clone(),
                from: state.id.clone(),
                to: t.to.clone(),
            };
            if !self.hooks(site, &change, When::Guard).is_empty() {
                let work = match &mut unit {
                    Some(w) => w,
                    None => {
                        let tx = self.store.begin_read().await?;
                        let lineage = rows().cloned().collect();
                        unit.insert(crate::Work::open(self, site, actor, view.workflows.clone(), tx, lineage))
                    }
                };
                if work.run_hooks(When::Guard, item, &change).await.is_err() {
                    continue;
                }
            }
            transitions.push((t.id.clone(), t.title.get(lang).to_owned()));
        }
        Ok(WorkflowInfo { state: Some((state.id.clone(), state.title.get(lang).to_owned())), history, transitions })
    }

    /// Takes transition `id` on the item at `path` in a unit of work: guard → the
    /// applications' hooks before → new state and history entry → effective date on
    /// first publication → hooks after → the stored viewers of the item and of
    /// everything below it → events; all in one transaction.
    pub async fn transition(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        id: &str,
        req: TransitionRequest,
    ) -> Result<HistoryRow> {
        let mut work = self.work(actor, site, path, Permission::View).await?;
        let done = work.transition(path, id, &req).await?;
        work.commit().await?;
        Ok(done)
    }
}

/// An item waiting for review, with who submitted it and their comment.
#[derive(Debug, Clone)]
pub struct ToReview {
    pub item: beffroi_store::Summary,
    pub submitter: Option<String>,
    pub comment: String,
}

/// What a guard expression reads of an item and of its container (None for the site
/// root, which has none): its fields with its title, description, id, state, language
/// and type.
pub(crate) fn guard_values(
    ancestors: &[ItemRow],
    item: &ItemRow,
) -> (serde_json::Map<String, serde_json::Value>, Option<serde_json::Map<String, serde_json::Value>>) {
    let values = |row: &ItemRow| {
        let mut m = row.fields.clone();
        m.insert("title".into(), row.title.clone().into());
        m.insert("description".into(), row.description.clone().into());
        m.insert("id".into(), row.id.clone().into());
        m.insert("review_state".into(), row.review_state.clone().into());
        m.insert("language".into(), row.language.code().into());
        m.insert("type".into(), row.type_name.clone().into());
        m
    };
    (values(item), ancestors.last().map(values))
}
