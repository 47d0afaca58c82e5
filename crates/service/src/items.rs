//! The content tree's use cases: read, list, create, update, delete, move, rename,
//! reorder.

use std::sync::Arc;

use beffroi_model::schema::{TypeSchema, WriteMode, parse_datetime};
use beffroi_model::security::{Node, Permission, PermissionMap, Principal, is_active, is_allowed, viewers};
use beffroi_model::workflow::{State, WorkflowRegistry, item_map};
use beffroi_model::{ItemId, ItemPath, Language, slugify};
use beffroi_store::{Db, ItemRow, SiteRow, SubtreeMove, Summary};
use serde_json::{Map, Value};

use crate::{Event, EventKind, Result, ServiceError, Services};

/// Largest batch a listing returns, whatever the client asks.
pub const MAX_BATCH: i64 = 1000;

/// The workflow state of an item, or None for types without a workflow. An item whose
/// stored state its workflow does not know is treated as in the initial state, never
/// as unprotected.
pub(crate) fn state_of<'a>(reg: &'a WorkflowRegistry, row: &ItemRow) -> Option<&'a State> {
    let wf = reg.for_type(&row.type_name)?;
    row.review_state.as_deref().and_then(|s| wf.state(s)).or_else(|| wf.state(&wf.initial_state))
}

/// The permission map of each of `rows` (root first): each state's map over its
/// container's.
pub(crate) fn maps<'a>(reg: &WorkflowRegistry, rows: impl IntoIterator<Item = &'a ItemRow>) -> Vec<PermissionMap> {
    let rolemap = PermissionMap::site();
    let mut out: Vec<PermissionMap> = Vec::new();
    for row in rows {
        let container = out.last().unwrap_or(&rolemap);
        let m = if row.path.is_root() { (*rolemap).clone() } else { item_map(container, state_of(reg, row)) };
        out.push(m);
    }
    out
}

pub(crate) fn node(row: &ItemRow) -> Node<'_> {
    Node { owner: &row.creator, local: &row.local_roles, block: row.block_inheritance }
}

/// Whether `actor` holds `p` on `item`, below `ancestors` (root first).
pub(crate) fn allowed_on(
    reg: &WorkflowRegistry,
    actor: &Principal,
    ancestors: &[ItemRow],
    item: &ItemRow,
    p: Permission,
) -> bool {
    let rows = || ancestors.iter().chain(std::iter::once(item));
    let nodes: Vec<Node<'_>> = rows().map(node).collect();
    let maps = maps(reg, rows());
    is_allowed(actor, &nodes, p, maps.last().expect("one map per row"))
}

/// Whether `actor` may see `item`, below `ancestors` (root first), outside its
/// publication window (see `beffroi_model::security::sees_inactive`).
pub(crate) fn sees_inactive_on(
    reg: &WorkflowRegistry,
    actor: &Principal,
    ancestors: &[ItemRow],
    item: &ItemRow,
) -> bool {
    if actor.sees_inactive_content() {
        return true;
    }
    let rows = || ancestors.iter().chain(std::iter::once(item));
    let nodes: Vec<Node<'_>> = rows().map(node).collect();
    let maps = maps(reg, rows());
    beffroi_model::security::sees_inactive(actor, &nodes, maps.last().expect("one map per row"))
}

/// Whether `actor` may see `item` (below `ancestors`) now as far as its publication
/// window goes: it is within it, or they see inactive content there. Permission to
/// View is decided apart.
pub(crate) fn in_window_for(reg: &WorkflowRegistry, actor: &Principal, ancestors: &[ItemRow], item: &ItemRow) -> bool {
    is_active(item.effective, item.expires, chrono::Utc::now()) || sees_inactive_on(reg, actor, ancestors, item)
}

/// Whether `actor` holds `p` on the last item of `lineage` (root first).
pub(crate) fn allowed(reg: &WorkflowRegistry, actor: &Principal, lineage: &[ItemRow], p: Permission) -> bool {
    match lineage.split_last() {
        Some((item, ancestors)) => allowed_on(reg, actor, ancestors, item, p),
        None => false,
    }
}

pub(crate) fn require(reg: &WorkflowRegistry, actor: &Principal, lineage: &[ItemRow], p: Permission) -> Result<()> {
    if allowed(reg, actor, lineage, p) { Ok(()) } else { Err(ServiceError::Unauthorized) }
}

/// The item at `path` with its ancestors, root first and the item last.
pub(crate) async fn load(db: &mut Db<'_>, site: &SiteRow, path: &ItemPath) -> Result<Vec<ItemRow>> {
    let lineage = db.lineage(&site.scope(), path).await?;
    if lineage.last().is_some_and(|i| &i.path == path) { Ok(lineage) } else { Err(ServiceError::NotFound) }
}

/// Recomputes the stored viewers of the item at `path` and of everything below it
/// (their maps may acquire from it), writing only those that changed.
pub(crate) async fn refresh_viewers(
    reg: &WorkflowRegistry,
    db: &mut Db<'_>,
    site: &SiteRow,
    path: &ItemPath,
) -> Result<()> {
    let mut ancestors = load(db, site, path).await?;
    ancestors.pop();
    refresh_viewers_under(reg, db, site, &ancestors, path).await
}

/// [`refresh_viewers`] with the items above `path` (root first) already in hand, as
/// the transaction has them.
pub(crate) async fn refresh_viewers_under(
    reg: &WorkflowRegistry,
    db: &mut Db<'_>,
    site: &SiteRow,
    ancestors: &[ItemRow],
    path: &ItemPath,
) -> Result<()> {
    let scope = site.scope();
    let ancestor_maps = maps(reg, ancestors);
    let rolemap = PermissionMap::site();
    let subtree = db.subtree_for_access(&scope, path).await?;
    let stored = db.subtree_viewers(&scope, path).await?;
    let mut stack: Vec<(&ItemRow, PermissionMap)> = Vec::new();
    let mut changed = Vec::new();
    for row in &subtree {
        while stack.last().is_some_and(|(top, _)| !row.path.is_below(&top.path)) {
            stack.pop();
        }
        let container = stack.last().map(|(_, m)| m).or(ancestor_maps.last()).unwrap_or(&rolemap);
        let map = if row.path.is_root() { (*rolemap).clone() } else { item_map(container, state_of(reg, row)) };
        let chain: Vec<Node<'_>> =
            ancestors.iter().chain(stack.iter().map(|(r, _)| *r)).chain(std::iter::once(row)).map(node).collect();
        let fresh = viewers(&chain, &map);
        if stored.get(&row.uuid) != Some(&fresh) {
            changed.push((row.uuid, fresh));
        }
        stack.push((row, map));
    }
    db.set_viewers_many(&changed, &stored).await?;
    Ok(())
}

/// What a write must respect besides permissions: the lock token it carries, and the
/// version (modification time, in microseconds) the editor started from.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteGuard<'a> {
    pub lock_token: Option<&'a str>,
    pub seen_modified: Option<i64>,
}

/// An item with the items above it, root first (the item itself excluded).
#[derive(Debug, Clone)]
pub struct ItemView {
    pub item: ItemRow,
    pub lineage: Vec<ItemRow>,
    /// The site's workflows, which decide the item's permission maps.
    pub workflows: Arc<WorkflowRegistry>,
}

impl ItemView {
    pub fn parent(&self) -> Option<&ItemRow> {
        self.lineage.last()
    }

    /// Whether `actor` holds `p` on this item (to show or hide actions; every action
    /// checks again when it runs).
    pub fn allows(&self, actor: &Principal, p: Permission) -> bool {
        allowed_on(&self.workflows, actor, &self.lineage, &self.item, p)
    }

    /// Whether `actor` may add a `type_name` here, as far as types go (the type may
    /// live here, people add it, the site has it) and the type's own add permission,
    /// if it names one: what menus offer. "Add portal content" is the route's to check.
    pub fn may_add(
        &self,
        types: &beffroi_model::schema::TypeRegistry,
        rules: &beffroi_model::schema::TypeRules,
        actor: &Principal,
        type_name: &str,
    ) -> bool {
        let here = (!self.item.path.is_root()).then_some(self.item.type_name.as_str());
        types.may_add_with(rules, here, type_name)
            && types.add_permission(type_name).is_none_or(|p| self.allows(actor, p))
    }

    /// The ancestors (root first) that `actor` may view, now: breadcrumbs never show
    /// the title of a folder its visitor may not see, nor of one outside its
    /// publication window for those who may not see such.
    pub fn visible_ancestors(&self, actor: &Principal) -> Vec<&ItemRow> {
        (0..self.lineage.len())
            .filter(|&i| {
                let (above, row) = (&self.lineage[..i], &self.lineage[i]);
                allowed_on(&self.workflows, actor, above, row, Permission::View)
                    && in_window_for(&self.workflows, actor, above, row)
            })
            .map(|i| &self.lineage[i])
            .collect()
    }

    /// Whether the item holds other items (the site root and folderish types).
    pub fn is_folderish(&self, types: &beffroi_model::schema::TypeRegistry) -> bool {
        self.item.path.is_root() || types.get(&self.item.type_name).is_some_and(|t| t.folderish)
    }

    /// Whether `actor` holds `p` on the site root.
    pub fn allows_on_site(&self, actor: &Principal, p: Permission) -> bool {
        let root = self.lineage.first().unwrap_or(&self.item);
        allowed_on(&self.workflows, actor, &[], root, p)
    }
}

/// What a path leads to.
#[derive(Debug, Clone)]
pub enum Found {
    Item(Box<ItemView>),
    /// The item moved; this is where it lives now.
    Moved(ItemPath),
    Missing,
}

/// One batch of a folder's children.
#[derive(Debug, Clone)]
pub struct Listing {
    pub items: Vec<Summary>,
    pub total: i64,
}

/// Where a reordered item goes among its siblings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delta {
    Top,
    Bottom,
    By(i64),
}

/// Splits validated values into the item's columns and its other fields.
pub(crate) fn apply_values(item: &mut ItemRow, values: Map<String, Value>) {
    for (k, v) in values {
        match k.as_str() {
            "title" => item.title = v.as_str().unwrap_or_default().to_owned(),
            "description" => item.description = v.as_str().unwrap_or_default().to_owned(),
            "language" => {
                if let Some(l) = v.as_str().and_then(|s| Language::parse(s).ok()) {
                    item.language = l;
                }
            }
            "exclude_from_nav" => item.exclude_from_nav = v.as_bool().unwrap_or(false),
            "effective" => item.effective = v.as_str().and_then(parse_datetime),
            "expires" => item.expires = v.as_str().and_then(parse_datetime),
            // The change note belongs to a revision; revisions come with versioning.
            "changeNote" => {}
            _ => {
                if v.is_null() {
                    item.fields.remove(&k);
                } else {
                    item.fields.insert(k, v);
                }
            }
        }
    }
}

impl Services {
    /// What a new item starts with: its first revision and its first workflow step.
    async fn record_birth(
        &self,
        db: &mut Db<'_>,
        site: &SiteRow,
        item: &ItemRow,
        actor: &Principal,
        note: &str,
    ) -> Result<()> {
        self.record_revision(db, site, item, actor, note).await?;
        if let Some(state) = &item.review_state {
            let h = beffroi_store::HistoryRow {
                action: None,
                actor: actor.id().to_owned(),
                comments: String::new(),
                from_state: None,
                review_state: state.clone(),
                at: item.created,
            };
            db.insert_history(&site.scope(), item.uuid, &h).await?;
        }
        Ok(())
    }
}

/// Whether values hold an upload (an object with data and a file name).
pub(crate) fn carries_files(values: &Map<String, Value>) -> bool {
    values.values().any(|v| v.get("data").is_some() && v.get("filename").is_some())
}

/// The rich-text fields of `item` whose personal data `actor` may not read here.
pub(crate) fn hidden_personal_data(
    types: &beffroi_model::schema::TypeRegistry,
    reg: &WorkflowRegistry,
    actor: &Principal,
    above: &[ItemRow],
    item: &ItemRow,
) -> Vec<String> {
    let Some(schema) = types.get(&item.type_name) else { return Vec::new() };
    schema
        .fields
        .iter()
        .filter(|f| {
            f.personal_data.as_deref().is_some_and(|p| {
                // An unknown permission (refused at load) hides, never shows.
                Permission::parse(p).is_none_or(|p| !allowed_on(reg, actor, above, item, p))
            })
        })
        .map(|f| f.name.clone())
        .collect()
}

/// Masks the personal data of the rich-text `fields` named in `hidden`.
pub(crate) fn mask_fields(fields: &mut serde_json::Map<String, serde_json::Value>, hidden: &[String]) {
    for name in hidden {
        if let Some(data) = fields.get_mut(name).and_then(|v| v.get_mut("data"))
            && let Some(html) = data.as_str()
        {
            *data = beffroi_model::richtext::mask_personal_data(html).into();
        }
    }
}

/// That `actor` may add a `type_name` into the last of `lineage`: "Add portal content"
/// there, and the type's own add permission if it names one.
fn require_add(
    types: &beffroi_model::schema::TypeRegistry,
    reg: &WorkflowRegistry,
    actor: &Principal,
    lineage: &[ItemRow],
    type_name: &str,
) -> Result<()> {
    require(reg, actor, lineage, Permission::AddPortalContent)?;
    match types.add_permission(type_name) {
        Some(p) => require(reg, actor, lineage, p),
        None => Ok(()),
    }
}

/// Rules between the fields of one type, checked on the values an item ends up with.
pub(crate) fn check_item(types: &beffroi_model::schema::TypeRegistry, item: &ItemRow) -> Result<()> {
    if let Some(schema) = types.get(&item.type_name) {
        schema.check_values(&item.fields)?;
    }
    Ok(())
}

async fn unique_id(db: &mut Db<'_>, site: &SiteRow, parent: &ItemRow, base: &ItemId) -> Result<ItemId> {
    let taken = db.sibling_ids_like(&site.scope(), parent.uuid, &parent.path, base.as_str()).await?;
    if !taken.iter().any(|t| t == base.as_str()) {
        return Ok(base.clone());
    }
    (1..)
        .map(|n| base.with_suffix(n))
        .find(|c| !taken.iter().any(|t| t == c.as_str()))
        .ok_or_else(|| ServiceError::Conflict("no free id".into()))
}

impl Services {
    /// Refuses rich text (and any other text) larger than the limit before it is
    /// cleaned, whatever the type: cleaning 20 MB of HTML would hold a core for
    /// seconds. A value shaped like rich text is a string, or an object with `data`
    /// that is not a file.
    pub(crate) fn check_rich_text_size(&self, values: &Map<String, Value>) -> Result<()> {
        let too_large = values.values().any(|v| match v {
            Value::Object(o) if o.contains_key("filename") || o.contains_key("encoding") => false,
            v => rich_text_len(v) > self.rich_text_limit,
        });
        if too_large { Err(ServiceError::TooLarge(self.rich_text_limit as u64)) } else { Ok(()) }
    }

    /// Checks a site-wide permission (such as Manage portal) on the site root.
    pub async fn require_on_site(&self, actor: &Principal, site: &SiteRow, p: Permission) -> Result<()> {
        let reg = self.workflows(site).await?;
        if *actor == Principal::System {
            return Ok(());
        }
        let mut c = self.store.conn().await?;
        let root = load(&mut c.db(), site, &ItemPath::root()).await?;
        require(&reg, actor, &root, p)
    }

    /// What `path` leads to for `actor`: the item (if they may view it) with its
    /// ancestors, a redirect if it moved, or nothing. An item outside its publication
    /// window is nothing to those who may not see such (as the catalog hides it from
    /// them): not there yet, or no longer, rather than refused.
    pub async fn get(&self, actor: &Principal, site: &SiteRow, path: &ItemPath) -> Result<Found> {
        let reg = self.workflows(site).await?;
        let scope = site.scope();
        let mut c = self.store.conn().await?;
        let mut lineage = c.db().lineage(&scope, path).await?;
        if lineage.last().is_some_and(|i| &i.path == path) {
            require(&reg, actor, &lineage, Permission::View)?;
            let mut item = lineage.pop().expect("checked above");
            if !in_window_for(&reg, actor, &lineage, &item) {
                return Ok(Found::Missing);
            }
            let hidden = hidden_personal_data(&self.types, &reg, actor, &lineage, &item);
            mask_fields(&mut item.fields, &hidden);
            return Ok(Found::Item(Box::new(ItemView { item, lineage, workflows: reg })));
        }
        Ok(match c.db().find_redirect(&scope, path).await? {
            Some(p) => Found::Moved(p),
            None => Found::Missing,
        })
    }

    /// Shortcut for callers that need the item or an error.
    pub async fn item(&self, actor: &Principal, site: &SiteRow, path: &ItemPath) -> Result<ItemView> {
        match self.get(actor, site, path).await? {
            Found::Item(v) => Ok(*v),
            _ => Err(ServiceError::NotFound),
        }
    }

    /// One batch of the children of `folder` that `actor` may view: for those who may
    /// not see inactive content in `folder`, only those within their publication
    /// window.
    pub async fn children(
        &self,
        actor: &Principal,
        site: &SiteRow,
        folder: &ItemView,
        b_start: i64,
        b_size: i64,
    ) -> Result<Listing> {
        let reg = self.workflows(site).await?;
        if !allowed_on(&reg, actor, &folder.lineage, &folder.item, Permission::View) {
            return Err(ServiceError::Unauthorized);
        }
        let (start, size) = (b_start.max(0), b_size.clamp(1, MAX_BATCH));
        let scope = site.scope();
        let tokens = actor.tokens();
        let active_at = (!sees_inactive_on(&reg, actor, &folder.lineage, &folder.item)).then(beffroi_store::now);
        let mut c = self.store.conn().await?;
        let total = c.db().count_children(&scope, folder.item.uuid, tokens.as_deref(), active_at).await?;
        let items = if start < total {
            c.db().children(&scope, folder.item.uuid, tokens.as_deref(), active_at, start, size).await?
        } else {
            Vec::new()
        };
        Ok(Listing { items, total })
    }

    /// The site's top-level items shown in the main navigation: for those who may not
    /// see inactive content at the root, only those within their publication window.
    pub async fn navigation(&self, actor: &Principal, site: &SiteRow, root: &ItemRow) -> Result<Arc<Vec<Summary>>> {
        let reg = self.workflows(site).await?;
        if !allowed_on(&reg, actor, &[], root, Permission::View) {
            return Ok(Arc::new(Vec::new()));
        }
        let nav = self.navigation_entries(actor, site, root).await?;
        if sees_inactive_on(&reg, actor, &[], root) {
            return Ok(nav);
        }
        // The cache holds every entry with its window, so that time alone, without a
        // write, brings an item in or takes it out; a copy only when one is out.
        let now = beffroi_store::now();
        let active = |s: &Summary| is_active(s.effective, s.expires, now);
        if nav.iter().all(active) {
            return Ok(nav);
        }
        Ok(Arc::new(nav.iter().filter(|s| active(s)).cloned().collect()))
    }

    /// The navigation entries `actor`'s tokens may view, whatever their publication
    /// window, from the cache when fresh.
    async fn navigation_entries(&self, actor: &Principal, site: &SiteRow, root: &ItemRow) -> Result<Arc<Vec<Summary>>> {
        let tokens = actor.tokens();
        let key = (site.id.clone(), tokens.clone().unwrap_or_else(|| vec!["system".to_owned()]));
        if let Some((at, seen, nav)) = self.nav_cache.lock().expect("nav cache lock").get(&key)
            && at.elapsed() < self.cache_ttl()
            && self.unchanged_since(&site.id, *seen)
        {
            return Ok(nav.clone());
        }
        // Read before the entries: what a change committed meanwhile makes stale is
        // not used (see `Services::unchanged_since`).
        let seen = self.change_clock();
        let mut c = self.store.conn().await?;
        let items = c.db().children(&site.scope(), root.uuid, tokens.as_deref(), None, 0, 50).await?;
        let nav: Arc<Vec<Summary>> = Arc::new(items.into_iter().filter(|s| !s.exclude_from_nav).collect());
        self.nav_cache.lock().expect("nav cache lock").insert(key, (std::time::Instant::now(), seen, nav.clone()));
        Ok(nav)
    }

    /// Number of items below `item` (to confirm a delete).
    pub async fn count_descendants(&self, site: &SiteRow, item: &ItemRow) -> Result<i64> {
        let mut c = self.store.conn().await?;
        Ok(c.db().count_descendants(&site.scope(), &item.path).await?)
    }

    /// Creates an item of `type_name` in the folder at `parent` from plone.restapi-style
    /// field values. Without an `id`, one is made from the title, unique in the folder.
    pub async fn create(
        &self,
        actor: &Principal,
        site: &SiteRow,
        parent: &ItemPath,
        type_name: &str,
        id: Option<&str>,
        values: &Map<String, Value>,
    ) -> Result<ItemRow> {
        self.create_with_files(actor, site, parent, type_name, id, values, Vec::new()).await
    }

    /// [`Services::create`] with files received apart from the values (a form's upload).
    #[expect(clippy::too_many_arguments, reason = "one argument per part of the request")]
    pub async fn create_with_files(
        &self,
        actor: &Principal,
        site: &SiteRow,
        parent: &ItemPath,
        type_name: &str,
        id: Option<&str>,
        values: &Map<String, Value>,
        uploads: Vec<crate::Upload>,
    ) -> Result<ItemRow> {
        let reg = self.workflows(site).await?;
        let schema =
            self.types.get(type_name).ok_or_else(|| ServiceError::BadRequest(format!("unknown type {type_name:?}")))?;
        if !schema.addable && *actor != Principal::System {
            return Err(ServiceError::BadRequest(format!("a {type_name} is made by its application, not added")));
        }
        self.check_rich_text_size(values)?;
        let provided: Vec<&str> = uploads.iter().map(|u| u.field.as_str()).collect();
        let mut values = schema.validate_with(&people_values(schema, actor, values), WriteMode::Create, &provided)?;
        if !uploads.is_empty() || carries_files(&values) {
            // Permission first, so nobody can fill the blob store without the right to add.
            let mut c = self.store.conn().await?;
            let lineage = load(&mut c.db(), site, parent).await?;
            require(&reg, actor, &lineage, Permission::AddPortalContent)?;
            drop(c);
            self.store_uploads(schema, &mut values, uploads, false).await?;
        }
        let values = values;
        let changed: Vec<String> = values.keys().cloned().collect();
        let mut tx = self.store.begin().await?;
        let mut lineage = load(&mut tx.db(), site, parent).await?;
        require_add(&self.types, &reg, actor, &lineage, type_name)?;
        let item = self.insert_item(&mut tx.db(), site, actor, &reg, &lineage, type_name, id, values, None).await?;
        lineage.push(item.clone());
        let created =
            Event { site: site.id.clone(), uuid: item.uuid, path: item.path.clone(), kind: EventKind::Created };
        let hooks = self.item_hooks(site, type_name, crate::Change::Added);
        self.finish_change(site, actor, &reg, tx, lineage, created, &hooks, &changed).await
    }

    /// Commits a creation or an edit (the item last in `lineage`) and publishes its
    /// event; first, in a unit on the same transaction, checks the `changed` fields
    /// that take their values from a vocabulary (in the context of the folder for a
    /// creation, of the item for an edit), then runs the applications' item hooks.
    /// Returns the item as the hooks left it.
    #[expect(clippy::too_many_arguments, reason = "the parts of a change being committed")]
    async fn finish_change(
        &self,
        site: &SiteRow,
        actor: &Principal,
        reg: &Arc<WorkflowRegistry>,
        tx: beffroi_store::Tx,
        lineage: Vec<ItemRow>,
        event: Event,
        hooks: &[crate::ItemHookFn],
        changed: &[String],
    ) -> Result<ItemRow> {
        let item = lineage.last().expect("the changed item is last").clone();
        // Fields the container leaves out of its items' (a body's unused item fields)
        // take no value.
        if let [.., parent, _] = lineage.as_slice()
            && let Some(schema) = self.types.get(&item.type_name)
        {
            let given: Map<String, Value> =
                changed.iter().filter_map(|k| Some((k.clone(), item.fields.get(k)?.clone()))).collect();
            if let Some(f) = schema.unused_in(&parent.fields, &given) {
                return Err(ServiceError::BadRequest(format!(
                    "{} is not used here: {} leaves it out",
                    f.name, parent.title
                )));
            }
        }
        let schema = self.types.get(&item.type_name);
        let vocabularies =
            schema.is_some_and(|s| s.fields.iter().any(|f| f.vocabulary.is_some() && changed.contains(&f.name)));
        if hooks.is_empty() && !vocabularies {
            tx.commit().await?;
            self.emit(event);
            return Ok(item);
        }
        let context = match event.kind {
            EventKind::Created => lineage.len().checked_sub(2).map(|i| lineage[i].clone()),
            _ => Some(item.clone()),
        };
        let mut work = crate::Work::open(self, site, actor, reg.clone(), tx, lineage);
        if let (true, Some(schema), Some(context)) = (vocabularies, schema, context) {
            work.check_vocabularies(schema, &context, &item, changed).await?;
        }
        work.push_event(event);
        work.run_item_hooks(hooks, &item).await?;
        let item = work.item().clone();
        work.commit().await?;
        Ok(item)
    }

    /// Inserts a new item of `type_name` below the last of `lineage` (whose rights the
    /// caller has checked) with validated `values`, in `state` or its workflow's
    /// initial one: its id (asked for or made from its title, unique in the folder),
    /// catalog entry, viewers, first revision and history.
    #[expect(clippy::too_many_arguments, reason = "one argument per part of a new item")]
    pub(crate) async fn insert_item(
        &self,
        db: &mut Db<'_>,
        site: &SiteRow,
        actor: &Principal,
        reg: &WorkflowRegistry,
        lineage: &[ItemRow],
        type_name: &str,
        id: Option<&str>,
        values: Map<String, Value>,
        state: Option<&str>,
    ) -> Result<ItemRow> {
        let rules = self.type_rules_in(site, db).await?;
        let wanted = id.map(ItemId::parse).transpose().map_err(|e| ServiceError::BadRequest(format!("id: {e}")))?;
        let scope = site.scope();
        let container = lineage.last().expect("load returns the item last").clone();
        let container_type = (!container.path.is_root()).then_some(container.type_name.as_str());
        if !self.types.may_contain_with(&rules, container_type, type_name) {
            return Err(ServiceError::BadRequest(format!("a {type_name} cannot be added in {}", container.type_name)));
        }
        let now = beffroi_store::now();
        let mut item = ItemRow::new(type_name, container.language, actor.id(), now);
        item.parent = Some(container.uuid);
        item.review_state = match (reg.for_type(type_name), state) {
            (Some(wf), Some(s)) if wf.state(s).is_some() => Some(s.to_owned()),
            (_, Some(s)) => return Err(ServiceError::BadRequest(format!("a {type_name} has no state {s:?}"))),
            (wf, None) => wf.map(|wf| wf.initial_state.clone()),
        };
        let change_note = values.get("changeNote").and_then(Value::as_str).unwrap_or_default().to_owned();
        apply_values(&mut item, values);
        check_item(&self.types, &item)?;
        let id = match wanted {
            Some(id) => {
                if !db
                    .sibling_ids_like(&scope, container.uuid, &container.path, id.as_str())
                    .await?
                    .iter()
                    .all(|t| t != id.as_str())
                {
                    return Err(ServiceError::Conflict(format!(
                        "{} already holds an item with id {id}",
                        container.path
                    )));
                }
                id
            }
            None => unique_id(db, site, &container, &slugify(&item.title)).await?,
        };
        item.path = container.path.child(&id);
        item.id = id.to_string();
        let mut rows: Vec<ItemRow> = lineage.to_vec();
        rows.push(item.clone());
        let nodes: Vec<Node<'_>> = rows.iter().map(node).collect();
        let maps = maps(reg, &rows);
        let fresh = viewers(&nodes, maps.last().expect("one map per row"));
        item.position = db.insert_new_item(&scope, &item, &crate::catalog::entry(&item, &self.types), &fresh).await?;
        self.record_birth(db, site, &item, actor, &change_note).await?;
        db.delete_redirect(&scope, &item.path).await?;
        Ok(item)
    }

    /// Changes some fields of the item at `path` (plone.restapi PATCH semantics:
    /// absent fields keep their value, null clears an optional one).
    pub async fn update(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        values: &Map<String, Value>,
    ) -> Result<ItemRow> {
        self.update_with_lock(actor, site, path, values, None).await
    }

    /// [`Services::update`] carrying the token of a lock the actor holds or was given.
    pub async fn update_with_lock(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        values: &Map<String, Value>,
        lock_token: Option<&str>,
    ) -> Result<ItemRow> {
        let guard = WriteGuard { lock_token, seen_modified: None };
        self.update_with_files(actor, site, path, values, Vec::new(), &guard).await
    }

    /// [`Services::update_with_lock`] with files received apart from the values.
    pub async fn update_with_files(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        values: &Map<String, Value>,
        uploads: Vec<crate::Upload>,
        guard: &WriteGuard<'_>,
    ) -> Result<ItemRow> {
        let reg = self.workflows(site).await?;
        let scope = site.scope();
        self.check_rich_text_size(values)?;
        // Files are checked and stored before the transaction (never while holding the
        // database's write lock), after the permission check.
        let prepared = if !uploads.is_empty() || carries_files(values) {
            let mut c = self.store.conn().await?;
            let lineage = load(&mut c.db(), site, path).await?;
            require(&reg, actor, &lineage, Permission::ModifyPortalContent)?;
            let item = lineage.last().expect("load returns the item last");
            let schema = self.types.get(&item.type_name).ok_or_else(|| {
                ServiceError::BadRequest(format!("items of type {} cannot be edited here", item.type_name))
            })?;
            let mut values = schema.validate(&people_values(schema, actor, values), WriteMode::Update)?;
            drop(c);
            self.store_uploads(schema, &mut values, uploads, !item.title.trim().is_empty()).await?;
            Some(values)
        } else {
            None
        };
        let mut tx = self.store.begin().await?;
        let mut lineage = load(&mut tx.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::ModifyPortalContent)?;
        let mut item = lineage.pop().expect("load returns the item last");
        let mut values = match prepared {
            Some(v) => v,
            None => {
                let schema = self.types.get(&item.type_name).ok_or_else(|| {
                    ServiceError::BadRequest(format!("items of type {} cannot be edited here", item.type_name))
                })?;
                schema.validate(&people_values(schema, actor, values), WriteMode::Update)?
            }
        };
        crate::locks::check_lock(&mut tx.db(), &item, actor, guard.lock_token).await?;
        if let Some(seen) = guard.seen_modified
            && item.modified.timestamp_micros() != seen
        {
            return Err(ServiceError::Modified(Box::new(item)));
        }
        if values.get("title").is_some_and(|t| t.as_str().is_none_or(|t| t.trim().is_empty()))
            && self.types.get(&item.type_name).and_then(|s| s.field("title")).is_some_and(|f| !f.required)
        {
            // An optional title cleared: keep the one the item has.
            values.remove("title");
        }
        let change_note = values.get("changeNote").and_then(Value::as_str).unwrap_or_default().to_owned();
        let changed: Vec<String> =
            values.iter().filter(|(k, v)| item.fields.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect();
        apply_values(&mut item, values);
        check_item(&self.types, &item)?;
        item.modified = beffroi_store::now();
        tx.db().update_item(&scope, &item).await?;
        // The site root's title is the site's (its pages, `@site`, its feeds show it).
        let retitled_site = item.path.is_root() && item.title != site.title;
        if retitled_site {
            tx.db().set_site_title(&scope, &item.title).await?;
        }
        crate::catalog::index(&mut tx.db(), &scope, &item, &self.types).await?;
        self.record_revision(&mut tx.db(), site, &item, actor, &change_note).await?;
        let modified =
            Event { site: site.id.clone(), uuid: item.uuid, path: item.path.clone(), kind: EventKind::Modified };
        let hooks = self.item_hooks(site, &item.type_name, crate::Change::Edited);
        lineage.push(item);
        let done = self.finish_change(site, actor, &reg, tx, lineage, modified, &hooks, &changed).await;
        if retitled_site {
            self.stale(crate::stale::Stale::Site(site.id.clone()));
        }
        done
    }

    /// Deletes the item at `path` and everything inside it; returns how many items went.
    pub async fn delete(&self, actor: &Principal, site: &SiteRow, path: &ItemPath) -> Result<u64> {
        self.delete_with_lock(actor, site, path, None).await
    }

    /// [`Services::delete`] carrying the token of a lock.
    pub async fn delete_with_lock(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        lock_token: Option<&str>,
    ) -> Result<u64> {
        let reg = self.workflows(site).await?;
        if path.is_root() {
            return Err(ServiceError::BadRequest("the site root cannot be deleted".into()));
        }
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        let mut lineage = load(&mut tx.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::DeleteObjects)?;
        let item = lineage.pop().expect("load returns the item last");
        crate::locks::check_lock(&mut tx.db(), &item, actor, lock_token).await?;
        let count = tx.db().delete_subtree(&scope, path).await?;
        tx.commit().await?;
        self.emit(Event {
            site: site.id.clone(),
            uuid: item.uuid,
            path: item.path,
            kind: EventKind::Deleted { count },
        });
        Ok(count)
    }

    /// Moves the item at `path` into the folder at `new_parent`, keeping its id (made
    /// unique there if taken). Old URLs redirect to the new ones.
    pub async fn move_item(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        new_parent: &ItemPath,
    ) -> Result<ItemRow> {
        self.relocate(actor, site, path, Some(new_parent), None, None).await
    }

    /// Copies the item at `path` and what is inside it (what the actor may view) into
    /// the folder at `target`, as plone.restapi's `@copy`: new UIDs, the actor as
    /// creator, every copy in its workflow's initial state with a history and a first
    /// revision of its own, an id made unique in the target. One transaction.
    pub async fn copy_item(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        target: &ItemPath,
    ) -> Result<ItemRow> {
        let reg = self.workflows(site).await?;
        let rules = self.type_rules(site).await?;
        if path.is_root() {
            return Err(ServiceError::BadRequest("the site root cannot be copied".into()));
        }
        if target == path || target.is_below(path) {
            return Err(ServiceError::BadRequest("an item cannot be copied into itself".into()));
        }
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        let lineage = load(&mut tx.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::View)?;
        let target_lineage = load(&mut tx.db(), site, target).await?;
        let top = lineage.last().expect("load returns the item last");
        require_add(&self.types, &reg, actor, &target_lineage, &top.type_name)?;
        let container = target_lineage.last().expect("load returns the item last").clone();
        let container_type = (!container.path.is_root()).then_some(container.type_name.as_str());
        if !self.types.may_contain_with(&rules, container_type, &top.type_name) {
            return Err(ServiceError::BadRequest(format!(
                "a {} cannot be put in {}",
                top.type_name, container.type_name
            )));
        }
        let base = ItemId::parse(&top.id).map_err(|e| ServiceError::BadRequest(format!("id: {e}")))?;
        let new_id = unique_id(&mut tx.db(), site, &container, &base).await?;
        let new_top = container.path.child(&new_id);
        let rows = tx.db().subtree(&scope, path).await?;
        let visible = match actor.tokens() {
            None => None,
            Some(tokens) => Some((tokens, tx.db().subtree_viewers(&scope, path).await?)),
        };
        let now = beffroi_store::now();
        let mut ids: std::collections::HashMap<uuid::Uuid, uuid::Uuid> = std::collections::HashMap::new();
        let mut first = None;
        for row in &rows {
            let may_view = match &visible {
                None => true,
                Some((tokens, viewers)) => viewers.get(&row.uuid).is_some_and(|v| tokens.iter().any(|t| v.contains(t))),
            };
            let parent =
                if row.uuid == top.uuid { Some(container.uuid) } else { row.parent.and_then(|p| ids.get(&p).copied()) };
            // Something the actor may not see is not copied, nor what is inside it.
            let Some(parent) = parent.filter(|_| may_view) else { continue };
            let mut copy = row.clone();
            copy.uuid = uuid::Uuid::now_v7();
            copy.parent = Some(parent);
            copy.path = row.path.rebase(path, &new_top).expect("the subtree is below its top");
            if row.uuid == top.uuid {
                copy.id = new_id.to_string();
            }
            copy.creator = actor.id().to_owned();
            copy.created = now;
            copy.modified = now;
            copy.effective = None;
            copy.review_state = reg.for_type(&copy.type_name).map(|wf| wf.initial_state.clone());
            copy.position = tx.db().insert_item(&scope, &copy).await?;
            crate::catalog::index(&mut tx.db(), &scope, &copy, &self.types).await?;
            self.record_birth(&mut tx.db(), site, &copy, actor, "").await?;
            ids.insert(row.uuid, copy.uuid);
            first.get_or_insert(copy);
        }
        refresh_viewers(&reg, &mut tx.db(), site, &new_top).await?;
        tx.db().delete_redirect(&scope, &new_top).await?;
        tx.commit().await?;
        let item = first.expect("the top item is viewable");
        self.emit(Event { site: site.id.clone(), uuid: item.uuid, path: item.path.clone(), kind: EventKind::Created });
        Ok(item)
    }

    /// Gives the item at `path` a new id in the same folder.
    pub async fn rename(&self, actor: &Principal, site: &SiteRow, path: &ItemPath, new_id: &str) -> Result<ItemRow> {
        self.rename_with_title(actor, site, path, new_id, None).await
    }

    /// Gives the item at `path` a new id and, when given, a new title, in one
    /// transaction: a refused id leaves the title as it was, and the other way round.
    pub async fn rename_with_title(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        new_id: &str,
        title: Option<&str>,
    ) -> Result<ItemRow> {
        let id = ItemId::parse(new_id).map_err(|e| ServiceError::BadRequest(format!("id: {e}")))?;
        self.relocate(actor, site, path, None, Some(id), title).await
    }

    async fn relocate(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        new_parent: Option<&ItemPath>,
        new_id: Option<ItemId>,
        title: Option<&str>,
    ) -> Result<ItemRow> {
        let reg = self.workflows(site).await?;
        let rules = self.type_rules(site).await?;
        let old_parent =
            path.parent().ok_or_else(|| ServiceError::BadRequest("the site root cannot be moved".into()))?;
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        let mut lineage = load(&mut tx.db(), site, path).await?;
        require(&reg, actor, &lineage, Permission::ModifyPortalContent)?;
        let mut item = lineage.pop().expect("load returns the item last");
        crate::locks::check_lock(&mut tx.db(), &item, actor, None).await?;
        let target_path = new_parent.unwrap_or(&old_parent);
        if target_path == path || target_path.is_below(path) {
            return Err(ServiceError::BadRequest("an item cannot be moved into itself".into()));
        }
        let target_lineage = load(&mut tx.db(), site, target_path).await?;
        let target = target_lineage.last().expect("load returns the item last").clone();
        let moving = *target_path != old_parent;
        if moving {
            require(&reg, actor, &lineage, Permission::DeleteObjects)?;
            require_add(&self.types, &reg, actor, &target_lineage, &item.type_name)?;
            let target_type = (!target.path.is_root()).then_some(target.type_name.as_str());
            if !self.types.may_contain_with(&rules, target_type, &item.type_name) {
                return Err(ServiceError::BadRequest(format!(
                    "a {} cannot be put in {}",
                    item.type_name, target.type_name
                )));
            }
        }
        let id = match new_id {
            Some(id) if id.as_str() == item.id && !moving => None,
            Some(id) => {
                let taken = tx.db().sibling_ids_like(&scope, target.uuid, &target.path, id.as_str()).await?;
                if taken.iter().any(|t| t == id.as_str()) {
                    return Err(ServiceError::Conflict(format!("{} already holds an item with id {id}", target.path)));
                }
                Some(id)
            }
            None if !moving => None,
            None => {
                let current = ItemId::parse(&item.id).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
                Some(unique_id(&mut tx.db(), site, &target, &current).await?)
            }
        };
        let now = beffroi_store::now();
        let moved_from = match id {
            Some(id) => {
                let new_path = target.path.child(&id);
                let m = SubtreeMove {
                    uuid: item.uuid,
                    from: path,
                    to: &new_path,
                    new_parent: target.uuid,
                    new_id: id.as_str(),
                    modified: now,
                };
                tx.db().move_subtree(&scope, &m).await?;
                if moving {
                    refresh_viewers(&reg, &mut tx.db(), site, &new_path).await?;
                }
                tx.db().delete_redirect(&scope, &new_path).await?;
                tx.db().insert_redirect(&scope, path, item.uuid, now).await?;
                item.path = new_path;
                item.id = id.to_string();
                item.parent = Some(target.uuid);
                item.modified = now;
                Some(path.clone())
            }
            None => None,
        };
        let retitled = match title {
            Some(t) if t != item.title => {
                let schema = self.types.get(&item.type_name).ok_or_else(|| {
                    ServiceError::BadRequest(format!("items of type {} cannot be edited here", item.type_name))
                })?;
                let mut values = Map::new();
                values.insert("title".into(), Value::String(t.to_owned()));
                let values = schema.validate(&values, WriteMode::Update)?;
                apply_values(&mut item, values);
                item.modified = now;
                tx.db().update_item(&scope, &item).await?;
                crate::catalog::index(&mut tx.db(), &scope, &item, &self.types).await?;
                self.record_revision(&mut tx.db(), site, &item, actor, "").await?;
                true
            }
            _ => false,
        };
        if moved_from.is_none() && !retitled {
            return Ok(item);
        }
        tx.commit().await?;
        let moved = moved_from.map(|from| EventKind::Moved { from });
        for kind in moved.into_iter().chain(retitled.then_some(EventKind::Modified)) {
            self.emit(Event { site: site.id.clone(), uuid: item.uuid, path: item.path.clone(), kind });
        }
        Ok(item)
    }

    /// Moves the child `child_id` of the folder at `folder` among its siblings.
    pub async fn reorder(
        &self,
        actor: &Principal,
        site: &SiteRow,
        folder: &ItemPath,
        child_id: &str,
        delta: Delta,
    ) -> Result<()> {
        let reg = self.workflows(site).await?;
        let scope = site.scope();
        let mut tx = self.store.begin().await?;
        let lineage = load(&mut tx.db(), site, folder).await?;
        require(&reg, actor, &lineage, Permission::ModifyPortalContent)?;
        let parent = lineage.last().expect("load returns the item last").clone();
        let id = ItemId::parse(child_id).map_err(|e| ServiceError::BadRequest(format!("id: {e}")))?;
        let child = tx.db().item_by_path(&scope, &parent.path.child(&id)).await?.ok_or(ServiceError::NotFound)?;
        let old = tx.db().child_order(&scope, parent.uuid).await?;
        let from = old.iter().position(|u| *u == child.uuid).ok_or(ServiceError::NotFound)?;
        let last = old.len() as i64 - 1;
        let to = match delta {
            Delta::Top => 0,
            Delta::Bottom => last,
            Delta::By(d) => (from as i64).saturating_add(d).clamp(0, last),
        } as usize;
        let mut new = old.clone();
        let u = new.remove(from);
        new.insert(to, u);
        tx.db().set_positions(&scope, &old, &new).await?;
        tx.commit().await?;
        self.emit(Event { site: site.id.clone(), uuid: parent.uuid, path: parent.path, kind: EventKind::Reordered });
        Ok(())
    }
}

/// The size of a rich-text value as sent: a string, or the `data` of an object.
fn rich_text_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Object(o) => o.get("data").and_then(Value::as_str).map_or(0, str::len),
        _ => 0,
    }
}

/// What people write of `values`: the fields only the type's application sets are
/// ignored, as plone.restapi ignores read-only fields (the system writes them all).
fn people_values<'v>(
    schema: &TypeSchema,
    actor: &Principal,
    values: &'v Map<String, Value>,
) -> std::borrow::Cow<'v, Map<String, Value>> {
    if *actor == Principal::System || !schema.names_readonly(values) {
        std::borrow::Cow::Borrowed(values)
    } else {
        std::borrow::Cow::Owned(schema.without_readonly(values))
    }
}
