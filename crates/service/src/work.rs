//! Units of work: how an application's use case changes content. A unit opens one
//! transaction on an item the actor holds a permission on; every read and write in it
//! checks the actor's rights again; the stored viewers of what changed state are
//! recomputed and the events published once it commits. Dropped without
//! [`Work::commit`], it changes nothing.
//!
//! Workflow transitions taken in a unit run the hooks of the site's applications inside
//! the same transaction: a hook before the transition may refuse it with a message, a
//! hook after it may change the item or others (number a request, an agenda's items).
//! Hooks act with the system's rights, as Plone's event subscribers do; who asked is
//! still [`Work::actor`], recorded in the history and the revisions.

use std::sync::Arc;

use beffroi_model::ItemPath;
use beffroi_model::schema::WriteMode;
use beffroi_model::security::{AUTHENTICATED_USERS, Grantee, Node, Permission, Principal, Role, effective_grants};
use beffroi_model::workflow::{WorkflowRegistry, guard_allows};
use beffroi_store::{HistoryRow, ItemRow, SiteRow};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use crate::items::{
    allowed, apply_values, carries_files, check_item, load, maps, node, refresh_viewers_under, state_of,
};
use crate::sessions::audit_row;
use crate::workflow::{TransitionRequest, guard_values, is_public};
use crate::{Event, EventKind, Result, ServiceError, Services};

/// A workflow transition taken: what [`EventKind::Transitioned`] and hooks carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transitioned {
    pub workflow: String,
    pub transition: String,
    pub from: String,
    pub to: String,
}

/// When a hook runs: before the item changes state (it may refuse), or after; or, as
/// DCWorkflow's guard expressions calling a script, whenever the transition's guard is
/// checked: when the transitions open to someone are listed (an error hides it there)
/// and before it is taken (an error refuses it). A guard hook only reads: what it
/// changes is undone when the transitions are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Guard,
    Before,
    After,
}

/// What a hook runs: given the unit, the item (as it is before the transition for a
/// hook before, after it for one after) and the transition. An error refuses the
/// transition and undoes the whole unit; [`ServiceError::BadRequest`] carries the
/// message the user reads.
pub type HookFn = for<'a, 'w> fn(&'a mut Work<'w>, &'a ItemRow, &'a Transitioned) -> HookFuture<'a>;

/// What a hook returns: `Box::pin(async move { … })`.
pub type HookFuture<'a> = BoxFuture<'a, Result<()>>;

/// What an application finds wrong with a site's access, one message per problem
/// (`"Collège communal (/college) would have no meeting manager"`, naming what it is
/// about so that two problems never read alike), given a read-only unit on the
/// site root with the system's rights. The platform asks before and after every
/// change of users, groups and sharing, in the change's transaction, and refuses
/// (409, with the message) a change that brings a problem that was not there before.
pub type AccessCheckFn = for<'a, 'w> fn(&'a mut Work<'w>) -> AccessCheckFuture<'a>;

/// What an access check returns: `Box::pin(async move { … })`.
pub type AccessCheckFuture<'a> = BoxFuture<'a, Result<Vec<String>>>;

/// What happened to an item that an application's [`ItemHook`] follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Created by someone (the API, a form, a copy is not one).
    Added,
    /// Edited by someone through the API or a form (not by a unit of work's
    /// [`Work::set_fields`], so that hooks do not chase their own changes).
    Edited,
}

/// What an item hook runs: given the unit and the item as it is stored now. An error
/// refuses the whole change (nothing is stored).
pub type ItemHookFn = for<'a, 'w> fn(&'a mut Work<'w>, &'a ItemRow) -> HookFuture<'a>;

/// A hook of an application on the items of one of its types, run inside the change's
/// transaction with the system's rights, on the sites that enable the application.
#[derive(Clone, Copy)]
pub struct ItemHook {
    pub type_name: &'static str,
    pub on: Change,
    pub run: ItemHookFn,
}

impl std::fmt::Debug for ItemHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemHook").field("type_name", &self.type_name).field("on", &self.on).finish_non_exhaustive()
    }
}

/// A hook of an application on a workflow's transitions.
#[derive(Clone, Copy)]
pub struct TransitionHook {
    /// The workflow's id.
    pub workflow: &'static str,
    /// One transition's id, or None for all of the workflow's.
    pub transition: Option<&'static str>,
    pub when: When,
    pub run: HookFn,
}

impl std::fmt::Debug for TransitionHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransitionHook")
            .field("workflow", &self.workflow)
            .field("transition", &self.transition)
            .field("when", &self.when)
            .finish_non_exhaustive()
    }
}

/// How deep hooks may take transitions that run hooks.
const MAX_HOOK_DEPTH: u32 = 8;

/// One use case's transaction. See the module's documentation.
pub struct Work<'s> {
    services: &'s Services,
    site: SiteRow,
    actor: Principal,
    /// Whose rights the checks use: the actor's, the system's while a hook runs.
    acting: Principal,
    workflows: Arc<WorkflowRegistry>,
    tx: beffroi_store::Tx,
    /// The item the unit was opened on (its lineage is the first of `lineages`).
    path: ItemPath,
    now: DateTime<Utc>,
    events: Vec<Event>,
    /// Where a state changed: the stored viewers there and below are recomputed.
    access: Vec<ItemPath>,
    depth: u32,
    /// Groups' members read in the unit (no unit changes them): a guard hook asked for
    /// every transition an item's menu lists reads them once.
    members: std::collections::HashMap<String, Vec<String>>,
    /// Lineages read in the unit, by the item's path, kept as the unit writes their
    /// rows (see [`Work::replace`]): a hook that looks at the item, its body and the item
    /// again reads each once.
    lineages: std::collections::HashMap<ItemPath, Vec<ItemRow>>,
}

impl Services {
    /// Opens a unit of work on the item at `path`, which `actor` must hold `p` on.
    pub async fn work(&self, actor: &Principal, site: &SiteRow, path: &ItemPath, p: Permission) -> Result<Work<'_>> {
        let workflows = self.workflows(site).await?;
        let mut tx = self.store.begin().await?;
        let lineage = load(&mut tx.db(), site, path).await?;
        if !allowed(&workflows, actor, &lineage, p) {
            return Err(ServiceError::Unauthorized);
        }
        Ok(Work::open(self, site, actor, workflows, tx, lineage))
    }
}

impl<'s> Work<'s> {
    /// A unit on a transaction a use case has opened, on an item whose lineage it has
    /// read and checked.
    pub(crate) fn open(
        services: &'s Services,
        site: &SiteRow,
        actor: &Principal,
        workflows: Arc<WorkflowRegistry>,
        tx: beffroi_store::Tx,
        lineage: Vec<ItemRow>,
    ) -> Self {
        let path = lineage.last().expect("a lineage ends with its item").path.clone();
        Work {
            services,
            site: site.clone(),
            actor: actor.clone(),
            acting: actor.clone(),
            workflows,
            tx,
            lineages: std::collections::HashMap::from([(path.clone(), lineage)]),
            path,
            now: beffroi_store::now(),
            events: Vec::new(),
            access: Vec::new(),
            depth: 0,
            members: std::collections::HashMap::new(),
        }
    }
}

impl Work<'_> {
    /// Who the unit acts for.
    pub fn actor(&self) -> &Principal {
        &self.actor
    }

    pub fn site(&self) -> &SiteRow {
        &self.site
    }

    /// The item the unit was opened on, as it is now in the unit.
    pub fn item(&self) -> &ItemRow {
        self.ancestors_and_item().last().expect("a lineage ends with its item")
    }

    /// The items above it, the site root first.
    pub fn ancestors(&self) -> &[ItemRow] {
        let lineage = self.ancestors_and_item();
        &lineage[..lineage.len() - 1]
    }

    fn ancestors_and_item(&self) -> &[ItemRow] {
        &self.lineages[&self.path]
    }

    /// The time of the unit: every change in it carries this time.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// The item at `path` with its ancestors (root first), which the unit's rights
    /// must hold `p` on.
    pub async fn require(&mut self, path: &ItemPath, p: Permission) -> Result<Vec<ItemRow>> {
        let lineage = self.lineage_of(path).await?;
        if !allowed(&self.workflows, &self.acting, &lineage, p) {
            return Err(ServiceError::Unauthorized);
        }
        Ok(lineage)
    }

    /// The items a catalog query finds, as the unit's rights see them (every item in a
    /// hook), with their full rows, in the query's order. It reads what is committed:
    /// not the unit's own changes.
    pub async fn find(&self, mut q: beffroi_store::CatalogQuery) -> Result<Vec<ItemRow>> {
        if q.limit <= 0 {
            q.limit = crate::MAX_SEARCH_BATCH;
        }
        self.services.search_rows_in(crate::catalog::Pool::Side, &self.acting, &self.site, q).await
    }

    /// How many items a catalog query finds, as the unit's rights see them (what is
    /// committed), without reading them.
    pub async fn count(&self, q: beffroi_store::CatalogQuery) -> Result<i64> {
        self.services.count_in(crate::catalog::Pool::Side, &self.acting, &self.site, q).await
    }

    /// Changes fields of the item at `path` as an edit does (plone.restapi PATCH
    /// semantics, validated by its type): reindexed, a revision recorded in the name
    /// of the actor. Files go through the edit forms and the API, not here.
    pub async fn set_fields(&mut self, path: &ItemPath, values: &Map<String, Value>) -> Result<ItemRow> {
        let services = self.services;
        services.check_rich_text_size(values)?;
        if carries_files(values) {
            return Err(ServiceError::BadRequest("files cannot be set in a unit of work".into()));
        }
        let mut lineage = self.require(path, Permission::ModifyPortalContent).await?;
        let mut item = lineage.pop().expect("a lineage ends with its item");
        let before = item.clone();
        let schema = services.types.get(&item.type_name).ok_or_else(|| {
            ServiceError::BadRequest(format!("items of type {} cannot be edited here", item.type_name))
        })?;
        let values = schema.validate(values, WriteMode::Update)?;
        let note = values.get("changeNote").and_then(Value::as_str).unwrap_or_default().to_owned();
        apply_values(&mut item, values);
        check_item(&services.types, &item)?;
        item.modified = self.now;
        let scope = self.site.scope();
        self.write(&before, &item).await?;
        // The unit's row is as the catalog last had it: only what changed is written.
        let types = &services.types;
        let (old, new) = (crate::catalog::entry(&before, types), crate::catalog::entry(&item, types));
        self.tx.db().reindex_item(&scope, &old, &new).await?;
        services.record_revision(&mut self.tx.db(), &self.site, &item, &self.actor, &note).await?;
        self.replace(&item);
        self.events.push(self.event(&item, EventKind::Modified));
        Ok(item)
    }

    /// Creates an item of `type_name` in the folder at `parent`, as an add form does
    /// (validated by its type, indexed, its first revision in the actor's name; the
    /// actor owns it), with the unit's rights to add there. Inside a hook it may be
    /// born in `state` rather than its workflow's initial one (a delayed item's copy,
    /// born validated); elsewhere that is refused. Item hooks do not run for it.
    pub async fn create(
        &mut self,
        parent: &ItemPath,
        type_name: &str,
        values: &Map<String, Value>,
        state: Option<&str>,
    ) -> Result<ItemRow> {
        if state.is_some() && self.acting != Principal::System {
            return Err(ServiceError::Forbidden("only a hook makes an item in a chosen state".into()));
        }
        let services = self.services;
        let schema = services
            .types
            .get(type_name)
            .ok_or_else(|| ServiceError::BadRequest(format!("unknown type {type_name:?}")))?;
        services.check_rich_text_size(values)?;
        if carries_files(values) {
            return Err(ServiceError::BadRequest("files cannot be set in a unit of work".into()));
        }
        let values = schema.validate(values, WriteMode::Create)?;
        let lineage = self.require(parent, Permission::AddPortalContent).await?;
        let workflows = self.workflows.clone();
        let item = services
            .insert_item(
                &mut self.tx.db(),
                &self.site,
                &self.actor,
                &workflows,
                &lineage,
                type_name,
                None,
                values,
                state,
            )
            .await?;
        self.events.push(self.event(&item, EventKind::Created));
        Ok(item)
    }

    /// The next number of the site's counter `name` (1 the first time). Numbers are
    /// never handed out twice, even by servers numbering at once; a unit that does not
    /// commit gives its number back.
    pub async fn next_number(&mut self, name: &str) -> Result<i64> {
        if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            return Err(ServiceError::BadRequest(format!("{name:?} cannot name a counter")));
        }
        Ok(self.tx.db().next_number(&self.site.scope(), name).await?)
    }

    /// Whether the actor (not the system's rights a hook runs with) holds `p` on the
    /// item at `path`.
    pub async fn actor_may(&mut self, path: &ItemPath, p: Permission) -> Result<bool> {
        let lineage = self.lineage_of(path).await?;
        Ok(allowed(&self.workflows, &self.actor, &lineage, p))
    }

    /// Gives each grantee exactly its roles on the item at `path` (none: takes back
    /// what it held there), as the sharing screen does; who may view it and what is
    /// below is recomputed when the unit commits, if anything changed. Needs the
    /// right to change local roles there. Hooks may also give an application's roles
    /// that people do not hand out (not Owner, which comes from creating).
    pub async fn share(&mut self, path: &ItemPath, grants: &[(Grantee, Vec<Role>)]) -> Result<()> {
        let sharable = Role::sharable();
        let system = self.acting == Principal::System;
        let refused = |r: &Role| if system { !r.is_grantable() } else { !sharable.contains(r) };
        if let Some(r) = grants.iter().flat_map(|(_, roles)| roles).find(|r| refused(r)) {
            return Err(ServiceError::BadRequest(format!("{r} cannot be shared")));
        }
        let mut item =
            self.require(path, Permission::ChangeLocalRoles).await?.pop().expect("a lineage ends with its item");
        let before = item.local_roles.clone();
        for (grantee, roles) in grants {
            item.local_roles.set(grantee, roles.iter().copied());
        }
        if item.local_roles == before {
            return Ok(());
        }
        self.tx.db().set_sharing(&self.site.scope(), item.uuid, &item.local_roles, item.block_inheritance).await?;
        self.replace(&item);
        self.access.push(path.clone());
        self.events.push(self.event(&item, EventKind::AccessChanged));
        Ok(())
    }

    /// The logins of the members of the site's group `id` (none when there is no such
    /// group).
    pub async fn group_members(&mut self, id: &str) -> Result<Vec<String>> {
        if let Some(known) = self.members.get(id) {
            return Ok(known.clone());
        }
        let members = self.tx.db().group(&self.site.scope(), id).await?.map(|g| g.members).unwrap_or_default();
        self.members.insert(id.to_owned(), members.clone());
        Ok(members)
    }

    /// The enabled users who hold `role` on the item at `path` (which the unit's
    /// rights must see): by a global role of theirs or of a group of theirs, by a local
    /// one granted there or above it (to them, a group of theirs or every logged-in
    /// user), or as its creator for Owner.
    pub async fn holders(&mut self, path: &ItemPath, role: Role) -> Result<Vec<String>> {
        let lineage = self.require(path, Permission::View).await?;
        let nodes: Vec<Node<'_>> = lineage.iter().map(node).collect();
        let (mut logins, mut groups) = (Vec::new(), Vec::new());
        for (key, granted) in effective_grants(&nodes) {
            match Grantee::from_key(key) {
                Some(Grantee::User(l)) if granted.contains(&role) => logins.push(l),
                Some(Grantee::Group(g)) if granted.contains(&role) => groups.push(g),
                _ => {}
            }
        }
        if role == Role::Owner {
            logins.extend(lineage.last().map(|i| i.creator.clone()));
        }
        let scope = self.site.scope();
        let mut db = self.tx.db();
        let mut out = db.global_holders(&scope, role.name()).await?;
        for g in groups {
            if g == AUTHENTICATED_USERS {
                logins.extend(db.list_users(&scope).await?.into_iter().map(|u| u.login));
            } else if let Some(g) = db.group(&scope, &g).await? {
                logins.extend(g.members);
            }
        }
        logins.sort();
        logins.dedup();
        for l in logins {
            if !out.contains(&l) && db.user(&scope, &l).await?.is_some_and(|u| u.enabled) {
                out.push(l);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Creates the site's group `id` with its title and global roles unless it exists;
    /// says whether it did. Needs the right to manage the site.
    pub async fn ensure_group(&mut self, id: &str, title: &str, roles: &[Role]) -> Result<bool> {
        self.require(&ItemPath::root(), Permission::ManagePortal).await?;
        let login = beffroi_model::Login::parse(id).map_err(|e| ServiceError::BadRequest(format!("group id: {e}")))?;
        if let Some(r) = roles.iter().find(|r| !r.is_grantable()) {
            return Err(ServiceError::BadRequest(format!("{r} cannot be granted")));
        }
        let scope = self.site.scope();
        if self.tx.db().group(&scope, login.as_str()).await?.is_some() {
            return Ok(false);
        }
        let g = beffroi_store::GroupRow {
            id: login.to_string(),
            title: title.trim().to_owned(),
            description: String::new(),
            roles: roles.to_vec(),
            members: Vec::new(),
        };
        self.tx.db().insert_group(&scope, &g, self.now).await?;
        let detail = serde_json::json!({"roles": roles.iter().map(|r| r.name()).collect::<Vec<_>>()});
        self.tx.db().audit(&scope, &audit_row(self.actor.id(), "group.create", &g.id, "", detail)).await?;
        Ok(true)
    }

    /// Takes transition `id` on the item at `path` (and, if asked, on every item below
    /// where it applies and is allowed), running the applications' hooks.
    pub async fn transition(&mut self, path: &ItemPath, id: &str, req: &TransitionRequest) -> Result<HistoryRow> {
        let lineage = self.require(path, Permission::View).await?;
        let done = self.step(lineage, id, req, true).await?.expect("a strict step is taken or fails");
        if req.include_children {
            let below = self.tx.db().subtree(&self.site.scope(), path).await?;
            for row in below.iter().skip(1) {
                let lineage = load(&mut self.tx.db(), &self.site, &row.path).await?;
                self.step(lineage, id, req, false).await?;
            }
        }
        self.access.push(path.clone());
        Ok(done)
    }

    /// Commits: recomputes the stored viewers where a state changed, then publishes
    /// the unit's events.
    pub async fn commit(mut self) -> Result<()> {
        let mut access = std::mem::take(&mut self.access);
        access.sort();
        access.dedup();
        let mut done: Vec<&ItemPath> = Vec::new();
        for path in &access {
            if done.iter().any(|d| path == *d || path.is_below(d)) {
                continue;
            }
            // The unit's lineages hold the ancestors as it wrote them.
            let mut lineage = self.lineage_of(path).await?;
            lineage.pop();
            refresh_viewers_under(&self.workflows, &mut self.tx.db(), &self.site, &lineage, path).await?;
            done.push(path);
        }
        self.tx.commit().await?;
        for event in self.events {
            self.services.emit(event);
        }
        Ok(())
    }

    /// The unit's transaction, for a use case that opened the unit only to let
    /// applications read in it (its events and access changes are the use case's).
    pub(crate) fn into_tx(self) -> beffroi_store::Tx {
        self.tx
    }

    pub(crate) fn services(&self) -> &Services {
        self.services
    }

    /// Publishes `e` with the unit's own events once it commits.
    pub(crate) fn push_event(&mut self, e: Event) {
        self.events.push(e);
    }

    fn event(&self, item: &ItemRow, kind: EventKind) -> Event {
        Event { site: self.site.id.clone(), uuid: item.uuid, path: item.path.clone(), kind }
    }

    /// The item at `path` with its ancestors (root first), as the unit has it: a
    /// lineage read before holds those of its ancestors too.
    async fn lineage_of(&mut self, path: &ItemPath) -> Result<Vec<ItemRow>> {
        if let Some(known) = self.lineages.get(path) {
            return Ok(known.clone());
        }
        for known in self.lineages.values() {
            if let Some(at) = known.iter().position(|row| &row.path == path) {
                return Ok(known[..=at].to_vec());
            }
        }
        let lineage = load(&mut self.tx.db(), &self.site, path).await?;
        self.lineages.insert(path.clone(), lineage.clone());
        Ok(lineage)
    }

    /// Writes the unit's change of an item (`before` as the unit had it): marked again
    /// in the catalog only when its publication dates changed.
    async fn write(&mut self, before: &ItemRow, item: &ItemRow) -> Result<()> {
        let scope = self.site.scope();
        let mut db = self.tx.db();
        if (before.effective, before.expires) == (item.effective, item.expires) {
            db.update_item_same_dates(&scope, item).await?;
        } else {
            db.update_item(&scope, item).await?;
        }
        Ok(())
    }

    /// Keeps an item as the unit has just written it, in its own lineage and in those
    /// read before that hold it. Every change the unit makes to an item comes through
    /// here.
    fn replace(&mut self, item: &ItemRow) {
        for row in self.lineages.values_mut().flatten().filter(|r| r.uuid == item.uuid) {
            *row = item.clone();
        }
    }

    /// The transition of `item`'s workflow that takes it from its state to `to`, if
    /// there is one (whether it may be taken is decided when it is).
    pub fn transition_to(&self, item: &ItemRow, to: &str) -> Option<String> {
        let wf = self.workflows.for_type(&item.type_name)?;
        let from = state_of(&self.workflows, item)?.id.clone();
        wf.exits(&from).find(|t| t.to == to).map(|t| t.id.clone())
    }

    /// Runs the site's hooks on `t` at `when`, with the system's rights.
    pub(crate) async fn run_hooks(&mut self, when: When, item: &ItemRow, t: &Transitioned) -> Result<()> {
        let hooks = self.services.hooks(&self.site, t, when);
        if hooks.is_empty() {
            return Ok(());
        }
        let acting = self.enter_hooks()?;
        let mut outcome = Ok(());
        for run in hooks {
            outcome = run(self, item, t).await;
            if outcome.is_err() {
                break;
            }
        }
        self.leave_hooks(acting);
        outcome
    }

    /// Runs item hooks on `item`, with the system's rights.
    pub(crate) async fn run_item_hooks(&mut self, hooks: &[ItemHookFn], item: &ItemRow) -> Result<()> {
        let acting = self.enter_hooks()?;
        let mut outcome = Ok(());
        for run in hooks {
            outcome = run(self, item).await;
            if outcome.is_err() {
                break;
            }
        }
        self.leave_hooks(acting);
        outcome
    }

    fn enter_hooks(&mut self) -> Result<Principal> {
        if self.depth >= MAX_HOOK_DEPTH {
            return Err(ServiceError::Conflict(format!("hooks nest deeper than {MAX_HOOK_DEPTH} transitions")));
        }
        self.depth += 1;
        Ok(std::mem::replace(&mut self.acting, Principal::System))
    }

    fn leave_hooks(&mut self, acting: Principal) {
        self.depth -= 1;
        self.acting = acting;
    }

    /// One transition on the last item of `lineage`. Strict: any reason not to is an
    /// error; otherwise (an item below) the item is skipped with None.
    async fn step(
        &mut self,
        lineage: Vec<ItemRow>,
        id: &str,
        req: &TransitionRequest,
        strict: bool,
    ) -> Result<Option<HistoryRow>> {
        let skip = |e: ServiceError| if strict { Err(e) } else { Ok(None) };
        let reg = self.workflows.clone();
        let item = lineage.last().expect("a lineage ends with its item");
        let Some(wf) = reg.for_type(&item.type_name) else {
            return skip(ServiceError::BadRequest(format!("a {} has no workflow", item.type_name)));
        };
        let Some(t) = wf.transition(id) else {
            return skip(ServiceError::BadRequest(format!("{} has no transition {id:?}", wf.id)));
        };
        let from = state_of(&reg, item).expect("a workflow has a state").id.clone();
        if !t.from.contains(&from) {
            return skip(ServiceError::BadRequest(format!("transition {id:?} is not possible from state {from:?}")));
        }
        let nodes: Vec<Node<'_>> = lineage.iter().map(node).collect();
        let all_maps = maps(&reg, &lineage);
        if !guard_allows(&self.acting, &nodes, all_maps.last().expect("one map per row"), &t.guard) {
            return skip(ServiceError::Unauthorized);
        }
        let (values, container) = guard_values(&lineage[..lineage.len() - 1], item);
        if !t.guard.condition_holds(&values, container.as_ref()) {
            let expr = t.guard.expression.as_deref().unwrap_or_default();
            return skip(ServiceError::BadRequest(format!("transition {id:?} needs {expr}")));
        }
        let change =
            Transitioned { workflow: wf.id.clone(), transition: t.id.clone(), from: from.clone(), to: t.to.clone() };
        for when in [When::Guard, When::Before] {
            if let Err(e) = self.run_hooks(when, item, &change).await {
                return skip(e);
            }
        }
        let target = wf.state(&t.to).expect("validated at load");
        // A hook before may have changed the item: take it as it is now.
        let scope = self.site.scope();
        let before = self.lineage_of(&item.path).await?.pop().expect("a lineage ends with its item");
        let mut row = before.clone();
        row.review_state = Some(t.to.clone());
        row.modified = self.now;
        if let Some(e) = req.effective {
            row.effective = Some(e);
        } else if row.effective.is_none() && is_public(target) {
            row.effective = Some(self.now);
        }
        if req.expires.is_some() {
            row.expires = req.expires;
        }
        self.write(&before, &row).await?;
        let h = HistoryRow {
            action: Some(t.id.clone()),
            actor: self.actor.id().to_owned(),
            comments: req.comment.clone(),
            from_state: Some(from.clone()),
            review_state: t.to.clone(),
            at: self.now,
        };
        self.tx.db().insert_history(&scope, row.uuid, &h).await?;
        let detail = serde_json::json!({"from": from, "to": t.to, "comment": req.comment});
        let audit = audit_row(self.actor.id(), &format!("workflow.{}", t.id), row.path.as_str(), "", detail);
        self.tx.db().audit(&scope, &audit).await?;
        self.replace(&row);
        self.events.push(self.event(&row, EventKind::Transitioned(change.clone())));
        self.run_hooks(When::After, &row, &change).await?;
        Ok(Some(h))
    }
}
