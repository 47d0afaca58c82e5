//! Importing a site from another system (Plone's exports first): content with its
//! UIDs, dates, authors, states, history, sharing and revisions, users with the
//! password hashes they had, groups and redirects, as one transaction. The format is
//! read by the caller; this module knows only what Beffroi keeps.
//!
//! An import is idempotent: items are matched by UID, users by login, groups by id,
//! so a second run over the same export changes nothing. An item that cannot come
//! across (unknown type, missing folder, invalid values, a file that is not what it
//! claims) is skipped and reported; the rest goes on. Nothing is visible to anyone
//! until [`Importer::finish`] commits; dropped before that, it changes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use beffroi_model::schema::{TypeRules, WriteMode};
use beffroi_model::security::{Grantee, LocalRoles, Node, Principal, Role, viewers};
use beffroi_model::workflow::WorkflowRegistry;
use beffroi_model::{ItemId, ItemPath, Language, Login};
use beffroi_store::{GroupRow, HistoryRow, ItemRow, SiteRow, UserRow};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::items::{apply_values, check_item, load, maps, node, refresh_viewers};
use crate::versions::snapshot;
use crate::{NewSite, Result, ServiceError, Services, Upload};

/// Where an import goes.
#[derive(Debug, Clone)]
pub enum ImportTarget {
    /// An existing site.
    Site(beffroi_model::SiteId),
    /// A new site, created in the import's transaction.
    Create(NewSite),
}

/// How states the target workflow lacks are mapped: old state → new state.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub state_map: HashMap<String, String>,
}

/// One step of an item's workflow history, as exported.
#[derive(Debug, Clone)]
pub struct ImportStep {
    pub action: Option<String>,
    pub actor: String,
    pub comments: String,
    pub review_state: String,
    pub at: DateTime<Utc>,
}

/// One old version of an item: its values then (plone.restapi names), who saved it,
/// when and why.
#[derive(Debug, Clone)]
pub struct ImportRevision {
    pub values: Map<String, Value>,
    pub actor: String,
    pub note: String,
    pub at: DateTime<Utc>,
}

/// One item to import.
#[derive(Debug, Clone)]
pub struct ImportItem {
    pub uuid: Uuid,
    pub path: ItemPath,
    pub type_name: String,
    /// Field values in plone.restapi's names; keys the type does not know are left
    /// out. A missing language means the site's.
    pub values: Map<String, Value>,
    /// Files and images, read from the export.
    pub files: Vec<Upload>,
    pub creator: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub review_state: Option<String>,
    pub history: Vec<ImportStep>,
    pub local_roles: Vec<(Grantee, Vec<Role>)>,
    pub block_inheritance: bool,
    /// Older versions, oldest first; the current values are recorded after them.
    pub revisions: Vec<ImportRevision>,
    /// The note and author of the current version.
    pub change_note: String,
    pub change_actor: Option<String>,
}

/// A user to import, with a password hash from the other system.
#[derive(Debug, Clone)]
pub struct ImportUser {
    pub login: String,
    pub fullname: String,
    pub email: String,
    /// `{SSHA}…`, `{SHA}…`, `{BCRYPT}…` (Plone) or an argon2 PHC string.
    pub password_hash: String,
    pub roles: Vec<String>,
}

/// A group to import.
#[derive(Debug, Clone)]
pub struct ImportGroup {
    pub id: String,
    pub title: String,
    pub description: String,
    pub roles: Vec<String>,
    pub members: Vec<String>,
}

/// What came across and what did not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// Items created, by type.
    pub created: BTreeMap<String, u64>,
    /// Items that were already there (same UID) and were brought up to date, by type.
    pub updated: BTreeMap<String, u64>,
    /// Items not imported, by path, with the reason.
    pub skipped: Vec<(String, String)>,
    /// What changed on the way (a state mapped, a field left out), by path or name.
    pub notes: Vec<(String, String)>,
    pub users_created: u64,
    pub users_updated: u64,
    pub groups_created: u64,
    pub groups_updated: u64,
    /// Files and images stored.
    pub blobs: u64,
    pub redirects: u64,
    pub revisions: u64,
    pub history_steps: u64,
    pub default_pages: u64,
    /// Translation groups linked (plone.app.multilingual's).
    pub translation_groups: u64,
}

impl ImportReport {
    pub fn items(&self) -> u64 {
        self.created.values().sum::<u64>() + self.updated.values().sum::<u64>()
    }
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Created,
    Updated,
    Skipped(String),
}

/// An import in progress: one transaction. See the module's documentation.
pub struct Importer<'s> {
    services: &'s Services,
    site: SiteRow,
    workflows: Arc<WorkflowRegistry>,
    rules: Arc<TypeRules>,
    options: ImportOptions,
    tx: beffroi_store::Tx,
    now: DateTime<Utc>,
    report: ImportReport,
    /// Folders that received imported items (their order is set at the end).
    folders: BTreeSet<Uuid>,
    wanted_positions: HashMap<Uuid, i64>,
    /// Items taken so far, and the count at which the planner's statistics are next
    /// refreshed (doubling: a few times in all).
    taken: u64,
    next_statistics: u64,
}

/// Whether a stored password hash is one of the other system's that login checks.
pub fn is_foreign_hash(hash: &str) -> bool {
    hash.starts_with("{SSHA}") || hash.starts_with("{SHA}") || hash.starts_with("{BCRYPT}")
}

/// Checks a password against a Plone (Zope AuthEncoding) hash: `{SHA}` is the base64
/// of SHA-1(password), `{SSHA}` that of SHA-1(password + salt) followed by the salt,
/// `{BCRYPT}` a bcrypt hash (`$2b$12$…`, its cost and salt inside).
pub fn verify_foreign_hash(password: &str, hash: &str) -> bool {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    let decode = |s: &str| base64::engine::general_purpose::STANDARD.decode(s.trim()).ok();
    if let Some(rest) = hash.strip_prefix("{SSHA}") {
        let Some(raw) = decode(rest) else { return false };
        if raw.len() <= 20 {
            return false;
        }
        let (digest, salt) = raw.split_at(20);
        let mut h = Sha1::new();
        h.update(password.as_bytes());
        h.update(salt);
        return constant_time_eq(&h.finalize(), digest);
    }
    if let Some(rest) = hash.strip_prefix("{SHA}") {
        let Some(raw) = decode(rest) else { return false };
        return constant_time_eq(&Sha1::digest(password.as_bytes()), &raw);
    }
    if let Some(rest) = hash.strip_prefix("{BCRYPT}") {
        return bcrypt::verify(password, rest.trim()).unwrap_or(false);
    }
    false
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Services {
    /// Begins an import into `target` (the system only, as operators at the CLI).
    /// A new site is created in the same transaction.
    pub async fn begin_import(
        &self,
        actor: &Principal,
        target: ImportTarget,
        options: ImportOptions,
    ) -> Result<Importer<'_>> {
        if *actor != Principal::System {
            return Err(ServiceError::Unauthorized);
        }
        let mut tx = self.store.begin().await?;
        let (site, created_site) = match target {
            ImportTarget::Site(id) => {
                let site = tx
                    .db()
                    .get_site(&id)
                    .await?
                    .ok_or_else(|| ServiceError::BadRequest(format!("no site {id} (give --create to make it)")))?;
                (site, false)
            }
            ImportTarget::Create(new) => {
                if tx.db().get_site(&new.id).await?.is_some() {
                    return Err(ServiceError::Conflict(format!(
                        "site {} already exists (leave out --create to import into it)",
                        new.id
                    )));
                }
                let site = crate::sites::site_row(&new)?;
                self.insert_site(&mut tx.db(), actor, &site).await?;
                (site, true)
            }
        };
        // A new site has no workflows or rules of its own yet: the shipped ones.
        let (workflows, rules) = if created_site {
            let rules =
                TypeRules { unavailable: crate::apps::unavailable_types(&self.apps, &site), ..TypeRules::default() };
            (self.base_workflows.clone(), Arc::new(rules))
        } else {
            (self.workflows(&site).await?, self.type_rules(&site).await?)
        };
        Ok(Importer {
            services: self,
            site,
            workflows,
            rules,
            options,
            tx,
            now: beffroi_store::now(),
            report: ImportReport::default(),
            folders: BTreeSet::new(),
            wanted_positions: HashMap::new(),
            taken: 0,
            next_statistics: 100,
        })
    }
}

impl Importer<'_> {
    pub fn site(&self) -> &SiteRow {
        &self.site
    }

    /// The report so far.
    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    /// Records that something was not imported (read by the caller, such as a file of
    /// the export it does not understand).
    pub fn skip(&mut self, what: &str, why: &str) {
        self.report.skipped.push((what.to_owned(), why.to_owned()));
    }

    /// Records a remark about something imported.
    pub fn note(&mut self, what: &str, note: &str) {
        self.report.notes.push((what.to_owned(), note.to_owned()));
    }

    /// Imports one item, whose folder must have been imported before (or exist).
    /// Database failures end the import; anything wrong with the item skips it.
    pub async fn item(&mut self, it: ImportItem) -> Result<ItemOutcome> {
        let outcome = match self.try_item(it.clone()).await {
            Ok(o) => o,
            Err(Skip::Item(reason)) => ItemOutcome::Skipped(reason),
            Err(Skip::Fatal(e)) => return Err(e),
        };
        self.taken += 1;
        if self.taken >= self.next_statistics {
            self.tx.db().refresh_statistics().await?;
            self.next_statistics *= 2;
        }
        match &outcome {
            ItemOutcome::Created => *self.report.created.entry(it.type_name.clone()).or_default() += 1,
            ItemOutcome::Updated => *self.report.updated.entry(it.type_name.clone()).or_default() += 1,
            ItemOutcome::Skipped(why) => self.report.skipped.push((it.path.to_string(), why.clone())),
        }
        Ok(outcome)
    }

    async fn try_item(&mut self, it: ImportItem) -> std::result::Result<ItemOutcome, Skip> {
        let services = self.services;
        let scope = self.site.scope();
        let path_str = it.path.to_string();
        let schema = services
            .types
            .get(&it.type_name)
            .ok_or_else(|| skip(format!("type {} is not known here (map it with --map-type)", it.type_name)))?;
        let (Some(parent_path), Some(last)) = (it.path.parent(), it.path.last()) else {
            return Err(skip("the site root is not imported".into()));
        };
        let id = ItemId::parse(last).map_err(|e| skip(format!("id: {e}")))?;
        let lineage = match load(&mut self.tx.db(), &self.site, &parent_path).await {
            Ok(l) => l,
            Err(ServiceError::NotFound) => return Err(skip(format!("its folder {parent_path} was not imported"))),
            Err(e) => return Err(fatal(e)),
        };
        let container = lineage.last().expect("load returns the item last").clone();
        let container_type = (!container.path.is_root()).then_some(container.type_name.as_str());
        if !services.types.may_contain_with(&self.rules, container_type, &it.type_name) {
            return Err(skip(format!("a {} cannot be in a {}", it.type_name, container.type_name)));
        }

        // Values: what the type knows, validated as on every write; a value that does
        // not pass is left out (and said), unless the type cannot do without it.
        let mut input: Map<String, Value> =
            it.values.iter().filter(|(k, _)| schema.field(k).is_some()).map(|(k, v)| (k.clone(), v.clone())).collect();
        if input.get("title").and_then(Value::as_str).is_none_or(|t| t.trim().is_empty()) {
            input.insert("title".into(), id.as_str().into());
        }
        let language = self.language_of(&path_str, &it.values);
        input.remove("language");
        if input
            .values()
            .any(|v| v.as_object().and_then(|o| o.get("data")).and_then(Value::as_str).is_some_and(has_script))
        {
            self.report.notes.push((path_str.clone(), "scripts removed from its rich text".into()));
        }
        let provided: Vec<&str> = it.files.iter().map(|f| f.field.as_str()).collect();
        let mut values = self.validate_lenient(&path_str, schema, input, &provided)?;
        if services.check_rich_text_size(&values).is_err() {
            return Err(skip("its rich text is larger than the limit".into()));
        }
        let files = it.files.len() as u64;
        services.store_uploads(schema, &mut values, it.files.clone(), true).await.map_err(|e| match e {
            ServiceError::TooLarge(n) => skip(format!("a file is larger than the limit of {n} bytes")),
            ServiceError::BadRequest(m) => skip(m),
            other => fatal(other),
        })?;

        // State and history under the type's workflow here.
        let workflow = self.workflows.for_type(&it.type_name).cloned();
        let state = match &workflow {
            None => None,
            Some(wf) => {
                let wanted = it.review_state.clone().map(|s| self.options.state_map.get(&s).cloned().unwrap_or(s));
                match wanted {
                    Some(s) if wf.state(&s).is_some() => Some(s),
                    other => {
                        if let Some(s) = other {
                            self.report.notes.push((
                                path_str.clone(),
                                format!("state {s:?} is not in workflow {}: now {}", wf.id, wf.initial_state),
                            ));
                        }
                        Some(wf.initial_state.clone())
                    }
                }
            }
        };
        let mut local = LocalRoles::default();
        for (grantee, roles) in &it.local_roles {
            local.set(grantee, roles.iter().copied());
        }

        let existing = self.tx.db().item_by_uuid(&scope, it.uuid).await.map_err(store_fatal)?;
        let mut item = match &existing {
            Some(row) if row.path != it.path => {
                return Err(skip(format!("its UID is already that of {}", row.path)));
            }
            Some(row) if row.type_name != it.type_name => {
                return Err(skip(format!("its UID is already that of a {}", row.type_name)));
            }
            Some(row) => {
                let mut row = row.clone();
                // Fields not in the export go, as they are not in the source.
                row.fields.clear();
                row.effective = None;
                row.expires = None;
                row
            }
            None => {
                if let Some(other) = self.tx.db().site_of_uuid(it.uuid).await.map_err(store_fatal)? {
                    return Err(skip(format!("its UID {} is already used on site {other}", it.uuid.simple())));
                }
                if let Some(there) = self.tx.db().item_by_path(&scope, &it.path).await.map_err(store_fatal)? {
                    return Err(skip(format!("another item ({}) is already at this path", there.uuid.simple())));
                }
                let mut row = ItemRow::new(&it.type_name, language, &it.creator, it.created);
                row.uuid = it.uuid;
                row.parent = Some(container.uuid);
                row.id = id.to_string();
                row.path = it.path.clone();
                row
            }
        };
        item.language = language;
        apply_values(&mut item, values);
        check_item(&services.types, &item).map_err(|e| skip(e.to_string()))?;
        item.creator = it.creator.clone();
        item.created = it.created;
        item.modified = it.modified;
        item.review_state = state;
        item.local_roles = local;
        item.block_inheritance = it.block_inheritance;

        let mut rows = lineage.clone();
        rows.push(item.clone());
        let nodes: Vec<Node<'_>> = rows.iter().map(node).collect();
        let fresh = viewers(&nodes, maps(&self.workflows, &rows).last().expect("one map per row"));
        let mut db = self.tx.db();
        let outcome = if existing.is_some() {
            db.update_item(&scope, &item).await.map_err(store_fatal)?;
            db.set_sharing(&scope, item.uuid, &item.local_roles, item.block_inheritance).await.map_err(store_fatal)?;
            crate::catalog::index(&mut db, &scope, &item, &services.types).await.map_err(fatal)?;
            db.delete_history(&scope, item.uuid).await.map_err(store_fatal)?;
            db.delete_revisions(&scope, item.uuid).await.map_err(store_fatal)?;
            ItemOutcome::Updated
        } else {
            let entry = crate::catalog::entry(&item, &services.types);
            db.insert_new_item(&scope, &item, &entry, &fresh).await.map_err(store_fatal)?;
            db.delete_redirect(&scope, &item.path).await.map_err(store_fatal)?;
            ItemOutcome::Created
        };
        self.report.blobs += files;

        // The history as it was, states mapped as the current one.
        if let Some(wf) = &workflow {
            let mut previous: Option<String> = None;
            let mut steps = it.history.clone();
            steps.sort_by_key(|s| s.at);
            for step in steps {
                let mapped = self.options.state_map.get(&step.review_state).cloned().unwrap_or(step.review_state);
                let state = if wf.state(&mapped).is_some() { mapped } else { wf.initial_state.clone() };
                let row = HistoryRow {
                    action: step.action,
                    actor: step.actor,
                    comments: step.comments,
                    from_state: previous.clone(),
                    review_state: state.clone(),
                    at: step.at,
                };
                db.insert_history(&scope, item.uuid, &row).await.map_err(store_fatal)?;
                previous = Some(state);
                self.report.history_steps += 1;
            }
        }

        // Revisions: the old versions, then the current values with their note.
        if services.is_versioned(&item.type_name) {
            for rev in &it.revisions {
                let mut old = item.clone();
                let mut input: Map<String, Value> = rev
                    .values
                    .iter()
                    .filter(|(k, _)| {
                        schema.field(k).is_some_and(|f| {
                            !matches!(
                                f.kind,
                                beffroi_model::schema::FieldKind::File | beffroi_model::schema::FieldKind::Image
                            )
                        })
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                input.remove("language");
                // An old version's values that no longer pass are kept as they are now.
                let Ok(v) = schema.validate(&input, WriteMode::Update) else { continue };
                apply_values(&mut old, v);
                old.modified = rev.at;
                db.insert_revision(&scope, item.uuid, &rev.actor, &rev.note, rev.at, &snapshot(&old))
                    .await
                    .map_err(store_fatal)?;
                self.report.revisions += 1;
            }
            let actor = it.change_actor.as_deref().unwrap_or(&it.creator);
            db.insert_revision(&scope, item.uuid, actor, &it.change_note, item.modified, &snapshot(&item))
                .await
                .map_err(store_fatal)?;
            self.report.revisions += 1;
        }
        self.folders.insert(container.uuid);
        Ok(outcome)
    }

    /// The item's language: the one exported, else the site's.
    fn language_of(&mut self, path: &str, values: &Map<String, Value>) -> Language {
        let raw = match values.get("language") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Object(o)) => o.get("token").and_then(Value::as_str).unwrap_or_default().to_owned(),
            _ => String::new(),
        };
        if raw.is_empty() || raw == "##DEFAULT##" {
            return self.site.language;
        }
        let code = raw.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match Language::parse(&code) {
            Ok(l) => l,
            Err(_) => {
                self.report.notes.push((
                    path.to_owned(),
                    format!("language {raw:?} is not served here: now {}", self.site.language),
                ));
                self.site.language
            }
        }
    }

    /// Validates `input`, leaving out (and noting) the values that do not pass; an
    /// item still invalid after that is skipped.
    fn validate_lenient(
        &mut self,
        path: &str,
        schema: &beffroi_model::schema::TypeSchema,
        mut input: Map<String, Value>,
        provided: &[&str],
    ) -> std::result::Result<Map<String, Value>, Skip> {
        let mode = WriteMode::Create;
        match schema.validate_with(&input, mode, provided) {
            Ok(v) => Ok(v),
            Err(errors) => {
                for e in &errors.0 {
                    if schema.field(&e.field).is_some_and(|f| !f.required) && input.remove(&e.field).is_some() {
                        self.report.notes.push((path.to_owned(), format!("{} left out: {}", e.field, e.message)));
                    }
                }
                schema.validate_with(&input, mode, provided).map_err(|e| skip(e.to_string()))
            }
        }
    }

    /// Sets where an imported item stands among its siblings (applied at the end).
    pub fn position(&mut self, uuid: Uuid, position: i64) {
        self.wanted_positions.insert(uuid, position);
    }

    /// Makes the item `page` the default page of the folder `folder` (both imported).
    pub async fn default_page(&mut self, folder: Uuid, page: Uuid) -> Result<()> {
        let scope = self.site.scope();
        let Some(mut f) = self.tx.db().item_by_uuid(&scope, folder).await? else {
            self.report.skipped.push((folder.simple().to_string(), "default page of a folder not imported".into()));
            return Ok(());
        };
        match self.tx.db().item_by_uuid(&scope, page).await? {
            Some(p) if p.parent == Some(f.uuid) => {
                f.fields.insert(DEFAULT_PAGE.into(), p.uuid.simple().to_string().into());
                self.tx.db().update_item(&scope, &f).await?;
                self.report.default_pages += 1;
            }
            _ => self.report.skipped.push((f.path.to_string(), "its default page was not imported".into())),
        }
        Ok(())
    }

    /// Links the imported items of one translation group (`language code → UID`, as
    /// plone.exportimport's translations.json holds them): each item in the language
    /// it says, one per language; an item already in a group (an earlier import) brings
    /// the others into it. A group of fewer than two imported items is reported.
    pub async fn translation_group(&mut self, members: &BTreeMap<String, Uuid>) -> Result<()> {
        let scope = self.site.scope();
        let name = members.values().map(|u| u.simple().to_string()).collect::<Vec<_>>().join(", ");
        let mut found: Vec<ItemRow> = Vec::new();
        for (language, uuid) in members {
            match self.tx.db().item_by_uuid(&scope, *uuid).await? {
                Some(item) if found.iter().any(|f| f.language == item.language) => {
                    self.report
                        .skipped
                        .push((item.path.to_string(), format!("a second {language} item of its translation group")));
                }
                Some(item) => {
                    if item.language.code() != language {
                        self.report.notes.push((
                            item.path.to_string(),
                            format!("listed as the {language} translation, its language is {}", item.language.code()),
                        ));
                    }
                    found.push(item);
                }
                None => self.report.skipped.push((format!("translation {uuid}"), "its item was not imported".into())),
            }
        }
        if found.len() < 2 {
            self.report
                .skipped
                .push((format!("translation group {name}"), "fewer than two of its items were imported".into()));
            return Ok(());
        }
        let mut group = None;
        for item in &found {
            if let Some(g) = self.tx.db().translation_group(&scope, item.uuid).await? {
                group = Some(g);
                break;
            }
        }
        let group = group.unwrap_or_else(Uuid::new_v4);
        // One item per language in a group, those already in it (linked here) included.
        let members = self.tx.db().translation_members(&scope, group).await?;
        for item in &found {
            let taken = members.iter().any(|(u, _, lang)| {
                *u != item.uuid && lang == item.language.code() && !found.iter().any(|f| f.uuid == *u)
            });
            if taken {
                let why = format!("its translation group has another {} item already", item.language.code());
                self.report.skipped.push((item.path.to_string(), why));
                continue;
            }
            self.tx.db().join_translation_group(&scope, item.uuid, group).await?;
        }
        self.report.translation_groups += 1;
        Ok(())
    }

    /// Makes `old` (a path on the source site) redirect to the item now at `to`.
    pub async fn redirect(&mut self, old: &ItemPath, to: &ItemPath) -> Result<()> {
        let scope = self.site.scope();
        if self.tx.db().item_by_path(&scope, old).await?.is_some() {
            self.report.skipped.push((format!("redirect {old}"), "an item is at that path".into()));
            return Ok(());
        }
        let Some(target) = self.tx.db().item_by_path(&scope, to).await? else {
            self.report.skipped.push((format!("redirect {old}"), format!("its target {to} was not imported")));
            return Ok(());
        };
        self.tx.db().insert_redirect(&scope, old, target.uuid, self.now).await?;
        self.report.redirects += 1;
        Ok(())
    }

    /// Imports a user, keeping the password hash of the source (checked at login,
    /// replaced by an argon2id hash at the first success). A user already there keeps
    /// their password; their name, email and roles are updated.
    pub async fn user(&mut self, u: ImportUser) -> Result<()> {
        let Ok(login) = Login::parse(&u.login) else {
            self.report.skipped.push((format!("user {}", u.login), "not a valid login here".into()));
            return Ok(());
        };
        let roles = self.roles(&format!("user {login}"), &u.roles);
        let scope = self.site.scope();
        let mut db = self.tx.db();
        if db.user(&scope, login.as_str()).await?.is_some() {
            db.update_user_profile(&scope, login.as_str(), u.fullname.trim(), u.email.trim()).await?;
            db.set_user_roles(&scope, login.as_str(), &roles).await?;
            self.report.users_updated += 1;
            return Ok(());
        }
        let known = is_foreign_hash(&u.password_hash) || u.password_hash.starts_with("$argon2");
        if !known {
            self.report
                .notes
                .push((format!("user {login}"), "password hash of an unknown kind: set a new password".into()));
        }
        let row = UserRow {
            login: login.to_string(),
            fullname: u.fullname.trim().to_owned(),
            email: u.email.trim().to_owned(),
            password_hash: if known { u.password_hash } else { "!".into() },
            enabled: true,
            created: self.now,
            roles,
            token_gen: 0,
            kept_jti: None,
        };
        db.insert_user(&scope, &row).await?;
        self.report.users_created += 1;
        Ok(())
    }

    /// Imports a group with its roles and members (users imported before). Ids
    /// with spaces (Plone's "Site Administrators") get dashes.
    pub async fn group(&mut self, g: ImportGroup) -> Result<Option<String>> {
        let id = g.id.trim().replace(' ', "-");
        let Ok(id) = Login::parse(&id) else {
            self.report.skipped.push((format!("group {}", g.id), "not a valid group id here".into()));
            return Ok(None);
        };
        if id.as_str() == beffroi_model::security::AUTHENTICATED_USERS {
            return Ok(None);
        }
        if id.as_str() != g.id {
            self.report.notes.push((format!("group {}", g.id), format!("now {id}")));
        }
        let roles = self.roles(&format!("group {id}"), &g.roles);
        let scope = self.site.scope();
        let mut db = self.tx.db();
        match db.group(&scope, id.as_str()).await? {
            Some(_) => {
                db.update_group_info(&scope, id.as_str(), g.title.trim(), g.description.trim()).await?;
                db.set_group_roles(&scope, id.as_str(), &roles).await?;
                self.report.groups_updated += 1;
            }
            None => {
                let row = GroupRow {
                    id: id.to_string(),
                    title: g.title.trim().to_owned(),
                    description: g.description.trim().to_owned(),
                    roles,
                    members: Vec::new(),
                };
                db.insert_group(&scope, &row, self.now).await?;
                self.report.groups_created += 1;
            }
        }
        for m in &g.members {
            if db.user(&scope, m).await?.is_some() {
                db.add_member(&scope, id.as_str(), m).await?;
            } else {
                self.report.notes.push((format!("group {id}"), format!("member {m} was not imported")));
            }
        }
        Ok(Some(id.to_string()))
    }

    /// Global roles by name: unknown ones and those not granted globally are noted.
    fn roles(&mut self, who: &str, names: &[String]) -> Vec<Role> {
        let mut out = BTreeSet::new();
        for n in names {
            match Role::parse(n) {
                Ok(r) if r.is_grantable() => {
                    out.insert(r);
                }
                // Automatic here: everyone signed in is one.
                Ok(_) => {}
                Err(_) => self.report.notes.push((who.to_owned(), format!("role {n} is not known here"))),
            }
        }
        out.into_iter().collect()
    }

    /// Puts the imported items in their order, recomputes who may see what, and
    /// commits; returns the report.
    pub async fn finish(mut self) -> Result<ImportReport> {
        let scope = self.site.scope();
        let folders: Vec<Uuid> = self.folders.iter().copied().collect();
        for folder in folders {
            let old = self.tx.db().child_order(&scope, folder).await?;
            let mut new = old.clone();
            // Stable: children without a wanted position keep theirs, after the others.
            new.sort_by_key(|u| self.wanted_positions.get(u).copied().unwrap_or(i64::MAX));
            self.tx.db().set_positions(&scope, &old, &new).await?;
        }
        refresh_viewers(&self.workflows, &mut self.tx.db(), &self.site, &ItemPath::root()).await?;
        self.tx.commit().await?;
        // Its row when the import made it, and whether it has translations.
        self.services.stale(crate::stale::Stale::Site(self.site.id.clone()));
        let site = self.site.id.clone();
        self.services.emit(crate::Event {
            site,
            uuid: Uuid::nil(),
            path: ItemPath::root(),
            kind: crate::EventKind::Modified,
        });
        tracing::info!(site.id = %self.site.id, items = self.report.items(), "import committed");
        Ok(self.report)
    }
}

/// Where a folder keeps the UID of its default page (Plone's `default_page`).
pub const DEFAULT_PAGE: &str = "default_page";

/// Why an item did not come across: something about it (it is skipped), or the
/// database failing (the whole import stops: a PostgreSQL transaction is unusable
/// after a failed statement, so the import is never carried on past one).
enum Skip {
    Item(String),
    Fatal(ServiceError),
}

fn skip(reason: String) -> Skip {
    Skip::Item(reason)
}

fn fatal(e: ServiceError) -> Skip {
    Skip::Fatal(e)
}

fn store_fatal(e: beffroi_store::StoreError) -> Skip {
    Skip::Fatal(e.into())
}

/// Whether rich text carries what the sanitizer removes (to say so in the report).
fn has_script(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    ["<script", "javascript:", " onerror=", " onload=", " onclick=", " onmouseover="].iter().any(|p| lower.contains(p))
}

#[cfg(test)]
mod tests {
    use super::{is_foreign_hash, verify_foreign_hash};

    #[test]
    fn plone_password_hashes_are_checked() {
        // From the Plone 6.2 export of shared/fixtures (password Secret-123456).
        let ssha = "{SSHA}eKN1YYvuLGx5p16bROHmiXaXdPbQH61WU+XI";
        assert!(is_foreign_hash(ssha));
        assert!(verify_foreign_hash("Secret-123456", ssha));
        assert!(!verify_foreign_hash("Secret-1234567", ssha));
        // {SHA}: SHA-1 of the password alone.
        let sha = "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=";
        assert!(verify_foreign_hash("test", sha));
        assert!(!verify_foreign_hash("Test", sha));
        assert!(!verify_foreign_hash("x", "{SSHA}not base64!"));
        // Plone's bcrypt scheme (Zope AuthEncoding's BCRYPTHashingScheme); the hash made by
        // another implementation (libxcrypt, through Python's crypt module).
        let bcrypted = "{BCRYPT}$2b$04$Zw5B2S8S4QWdZ1D9Z1VxH.MV9S7LDUuEuw/P8/3kPb45EqkmaMX8O";
        assert!(is_foreign_hash(bcrypted));
        assert!(verify_foreign_hash("Secret-123456", bcrypted));
        assert!(!verify_foreign_hash("Secret-1234567", bcrypted));
        assert!(!verify_foreign_hash("x", "{BCRYPT}$2b$04$short"));
        assert!(!verify_foreign_hash("x", "{SSHA}"));
        assert!(!is_foreign_hash("$argon2id$v=19$m=19456,t=2,p=1$abc$def"));
    }
}
