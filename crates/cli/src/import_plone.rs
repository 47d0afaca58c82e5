//! `beffroi import plone DIR --site ID`: reads plone.exportimport's folder (Plone 6)
//! and hands its items, users, groups and redirects to the service's importer, which
//! writes them in one transaction. Every file is checked before anything is written:
//! one that is not the format stops the import with one line naming it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use beffroi_model::schema::parse_datetime;
use beffroi_model::security::{AUTHENTICATED_USERS, Grantee, Principal, Role};
use beffroi_model::{ItemPath, Language, SiteId};
use beffroi_service::{
    ImportGroup, ImportItem, ImportOptions, ImportReport, ImportRevision, ImportStep, ImportTarget, ImportUser,
    Importer, NewSite, Services, Upload, UploadData,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::cli::{ImportArgs, ImportCommand, PloneImportArgs};
use crate::serve::{open, runtime};

pub fn run(args: ImportArgs) -> Result<()> {
    let ImportCommand::Plone(plone) = args.command;
    runtime()?.block_on(async move {
        let export = Export::read(&plone.dir).await?;
        let services = open(&args.db, 4).await?;
        let result = import(&services, &plone, &export).await;
        services.close().await;
        let (report, secs) = result?;
        print_report(&plone.site, &report, &export, secs);
        Ok(())
    })
}

/// `content/__metadata__.json`: what plone.exportimport says about the items.
#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(rename = "__version__")]
    version: String,
    #[serde(rename = "_data_files_", default)]
    data_files: Vec<String>,
    #[serde(default)]
    default_page: BTreeMap<String, DefaultPage>,
    #[serde(default)]
    local_roles: BTreeMap<String, LocalRolesEntry>,
    #[serde(default)]
    ordering: BTreeMap<String, i64>,
}

#[derive(Debug, Deserialize)]
struct DefaultPage {
    default_page_uuid: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct LocalRolesEntry {
    #[serde(default)]
    local_roles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    block: Value,
}

/// `principals.json`.
#[derive(Debug, Default, Deserialize)]
struct Principals {
    #[serde(default)]
    groups: Vec<PloneGroup>,
    #[serde(default)]
    members: Vec<PloneMember>,
}

#[derive(Debug, Deserialize)]
struct PloneGroup {
    groupid: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    principals: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct PloneMember {
    username: String,
    #[serde(default)]
    login_name: Option<String>,
    #[serde(default)]
    fullname: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

/// The UID plone.exportimport gives the site root.
const ROOT_UID: &str = "plone_site_root";

/// What the first pass keeps of an item: enough to import parents first.
#[derive(Debug)]
struct ItemFile {
    path: ItemPath,
    file: PathBuf,
}

/// One entry of relations.json.
#[derive(serde::Deserialize)]
struct Relation {
    from_attribute: String,
}

/// An export read and checked: the items' files in the order to import them.
struct Export {
    content: PathBuf,
    metadata: Metadata,
    items: Vec<ItemFile>,
    principals: Principals,
    redirects: BTreeMap<String, String>,
    /// Translation groups (plone.app.multilingual): language code → UID.
    translations: Vec<BTreeMap<String, String>>,
    /// Relations that are links in rich text (kept in the text).
    links: usize,
    /// Files of the export not imported yet, with how many entries each holds.
    not_imported: Vec<(&'static str, usize)>,
}

/// Reads a JSON file of the export; one line naming it when it is not what it should be.
async fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let bytes = tokio::fs::read(path).await.with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| anyhow!("{}: not {what}: {e}", path.display()))
}

/// Reads an optional file of the export (absent: the default).
async fn read_optional<T: serde::de::DeserializeOwned + Default>(path: &Path, what: &str) -> Result<T> {
    if tokio::fs::try_exists(path).await.unwrap_or(false) { read_json(path, what).await } else { Ok(T::default()) }
}

/// `rel` inside `base`, refused when it would leave it (absolute, `..`, or a link
/// pointing outside).
fn inside(base: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let full = base.join(rel);
    let real = full.canonicalize().ok()?;
    real.starts_with(base.canonicalize().ok()?).then_some(real)
}

impl Export {
    async fn read(dir: &Path) -> Result<Export> {
        if !dir.is_dir() {
            bail!("{}: not a folder", dir.display());
        }
        let content = dir.join("content");
        let meta_path = content.join("__metadata__.json");
        if !meta_path.is_file() {
            bail!("{}: missing: {} is not a plone.exportimport export", meta_path.display(), dir.display());
        }
        let metadata: Metadata = read_json(&meta_path, "plone.exportimport's content metadata").await?;
        if !metadata.version.starts_with("1.") {
            bail!("{}: format version {} is not supported (1.x is)", meta_path.display(), metadata.version);
        }
        let mut items = Vec::new();
        let mut root_skipped = false;
        for rel in &metadata.data_files {
            let file = inside(&content, rel)
                .ok_or_else(|| anyhow!("{}: data file {rel:?} is not inside the export", meta_path.display()))?;
            let v: Value = read_json(&file, "an item in plone.restapi's JSON").await?;
            let id = v.get("@id").and_then(Value::as_str);
            let (Some(id), Some(_), Some(uid)) = (id, v.get("@type").and_then(Value::as_str), v.get("UID")) else {
                bail!("{}: not an item of plone.exportimport (no @id, @type or UID)", file.display());
            };
            // The site root (plone.exportimport names its UID so): its own values are
            // the site's, not an item's.
            if id == "/" || uid.as_str() == Some(ROOT_UID) {
                root_skipped = true;
                continue;
            }
            if uid.as_str().and_then(|u| Uuid::try_parse(u).ok()).is_none() {
                bail!("{}: UID {uid} is not a UID", file.display());
            }
            let path = ItemPath::parse(id).map_err(|e| anyhow!("{}: @id {id:?}: {e}", file.display()))?;
            items.push(ItemFile { path, file });
        }
        // Parents before their children.
        items.sort_by(|a, b| a.path.depth().cmp(&b.path.depth()).then_with(|| a.path.as_str().cmp(b.path.as_str())));
        let principals: Principals =
            read_optional(&dir.join("principals.json"), "plone.exportimport's principals").await?;
        let redirects: BTreeMap<String, String> =
            read_optional(&dir.join("redirects.json"), "a map of old paths to new paths").await?;
        let mut not_imported = Vec::new();
        if root_skipped {
            not_imported.push(("the site root's fields (content/plone_site_root)", 1));
        }
        let translations: Vec<BTreeMap<String, String>> =
            read_optional(&dir.join("translations.json"), "a list of translation groups ({\"<language>\": \"<UID>\"})")
                .await?;
        // Relations: Plone's link integrity ("isReferencing") records the links of rich
        // text, which come across in the text itself (resolveuid/…); relation fields
        // (relatedItems and the like) have nothing to go to yet.
        let relations: Vec<Relation> =
            read_optional(&dir.join("relations.json"), "a list of relations ({from_uuid, to_uuid, from_attribute})")
                .await?;
        let links = relations.iter().filter(|r| r.from_attribute == "isReferencing").count();
        if relations.len() > links {
            not_imported.push(("relations.json's relation fields", relations.len() - links));
        }
        for name in ["discussions.json", "portlets.json"] {
            let v: Value = read_optional(&dir.join(name), "JSON").await?;
            let n = match &v {
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                _ => 0,
            };
            if n > 0 {
                not_imported.push((name, n));
            }
        }
        Ok(Export { content, metadata, items, principals, redirects, translations, links, not_imported })
    }
}

/// `OLD=NEW` pairs of a repeatable option.
fn pairs(list: &[String], option: &str) -> Result<HashMap<String, String>> {
    list.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
                .filter(|(a, b)| !a.is_empty() && !b.is_empty())
                .ok_or_else(|| anyhow!("{option} {p:?}: expected OLD=NEW"))
        })
        .collect()
}

async fn import(services: &Services, args: &PloneImportArgs, export: &Export) -> Result<(ImportReport, f64)> {
    let started = Instant::now();
    let site_id = SiteId::parse(&args.site).map_err(|e| anyhow!("invalid site id: {e}"))?;
    let type_map = pairs(&args.map_types, "--map-type")?;
    for new in type_map.values() {
        if services.types().get(new).is_none() {
            bail!("--map-type: no type {new:?} here");
        }
    }
    let options = ImportOptions { state_map: pairs(&args.map_states, "--map-state")? };
    let target = if args.create {
        let title = args.title.clone().ok_or_else(|| anyhow!("--create needs --title"))?;
        let language = Language::parse(&args.language)?;
        ImportTarget::Create(NewSite { id: site_id, title, language, hosts: Vec::new(), time_zone: Default::default() })
    } else {
        ImportTarget::Site(site_id)
    };
    let mut importer =
        services.begin_import(&Principal::System, target, options).await.context("cannot begin the import")?;

    // Users, then groups (with their members), then content (shared with them).
    let mut user_ids: HashMap<String, String> = HashMap::new();
    for m in &export.principals.members {
        let login = m.login_name.clone().filter(|l| !l.is_empty()).unwrap_or_else(|| m.username.clone());
        user_ids.insert(m.username.clone(), login.clone());
        importer
            .user(ImportUser {
                login,
                fullname: m.fullname.clone().unwrap_or_default(),
                email: m.email.clone().unwrap_or_default(),
                password_hash: m.password.clone().unwrap_or_default(),
                roles: m.roles.clone(),
            })
            .await?;
    }
    let mut group_ids: HashMap<String, String> = HashMap::new();
    for g in &export.principals.groups {
        let mut members: BTreeSet<String> = g.principals.iter().map(|p| user_ids.get(p).unwrap_or(p).clone()).collect();
        for m in export.principals.members.iter().filter(|m| m.groups.contains(&g.groupid)) {
            members.insert(user_ids.get(&m.username).cloned().unwrap_or_else(|| m.username.clone()));
        }
        let imported = importer
            .group(ImportGroup {
                id: g.groupid.clone(),
                title: g.title.clone().unwrap_or_default(),
                description: g.description.clone().unwrap_or_default(),
                roles: g.roles.clone(),
                members: members.into_iter().collect(),
            })
            .await?;
        if let Some(id) = imported {
            group_ids.insert(g.groupid.clone(), id);
        }
    }

    let bar = indicatif::ProgressBar::new(export.items.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("importing {bar:40} {pos}/{len} items, {per_sec}, {eta} left")
            .expect("valid template"),
    );
    let mut imported_paths: BTreeSet<String> = BTreeSet::new();
    for f in &export.items {
        bar.inc(1);
        let data: Map<String, Value> = read_json(&f.file, "an item in plone.restapi's JSON").await?;
        match item_of(services, export, &data, &f.path, &type_map, &user_ids, &group_ids, &mut importer).await? {
            Some(item) => {
                let uuid = item.uuid;
                let outcome = importer.item(item).await?;
                if !matches!(outcome, beffroi_service::ItemOutcome::Skipped(_)) {
                    imported_paths.insert(f.path.to_string());
                    if let Some(pos) = export.metadata.ordering.get(&uuid.simple().to_string()) {
                        importer.position(uuid, *pos);
                    }
                }
            }
            None => continue,
        }
    }
    bar.finish_and_clear();

    for (folder, page) in &export.metadata.default_page {
        let (Ok(folder), Some(Ok(page))) =
            (Uuid::try_parse(folder), page.default_page_uuid.as_deref().map(Uuid::try_parse))
        else {
            importer.skip(&format!("default page of {folder}"), "not a UID");
            continue;
        };
        importer.default_page(folder, page).await?;
    }
    for (old, new) in &export.redirects {
        match redirect_paths(old, new, &imported_paths) {
            Some((old, new)) => importer.redirect(&old, &new).await?,
            None => importer.skip(&format!("redirect {old}"), &format!("its target {new} was not imported")),
        }
    }
    for group in &export.translations {
        let members: Option<BTreeMap<String, Uuid>> =
            group.iter().map(|(lang, uid)| Some((lang.clone(), Uuid::try_parse(uid).ok()?))).collect();
        match members {
            Some(m) => importer.translation_group(&m).await?,
            None => importer.skip(&format!("translation group {group:?}"), "a UID that is not one"),
        }
    }
    let report = importer.finish().await.context("cannot commit the import")?;
    Ok((report, started.elapsed().as_secs_f64()))
}

/// A redirect's old and new paths in the site: Plone writes them from the Zope root
/// (`/Plone/a/b`), the items' paths are site-relative (`/a/b`).
fn redirect_paths(old: &str, new: &str, imported: &BTreeSet<String>) -> Option<(ItemPath, ItemPath)> {
    let strip = |p: &str| -> Option<String> {
        let rest = p.strip_prefix('/')?;
        Some(rest.split_once('/').map(|(_, r)| format!("/{r}")).unwrap_or_else(|| "/".into()))
    };
    let (old, new) = match (strip(old), strip(new)) {
        (Some(o), Some(n)) if imported.contains(&n) => (o, n),
        _ if imported.contains(new) => (old.to_owned(), new.to_owned()),
        _ => return None,
    };
    Some((ItemPath::parse(&old).ok()?, ItemPath::parse(&new).ok()?))
}

/// Keys of an exported item that are not field values.
const NOT_VALUES: &[&str] = &[
    "@id",
    "@type",
    "UID",
    "id",
    "created",
    "modified",
    "creators",
    "review_state",
    "workflow_history",
    "changeNote",
    "changeActor",
    "exportimport.versions",
    "exportimport.constrains",
    "exportimport.conversation",
];

fn date(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str).and_then(parse_datetime)
}

/// The item to import from one `data.json`, or None when it is skipped here (said in
/// the report).
#[expect(clippy::too_many_arguments, reason = "the export and the maps made from it")]
async fn item_of(
    services: &Services,
    export: &Export,
    data: &Map<String, Value>,
    path: &ItemPath,
    type_map: &HashMap<String, String>,
    user_ids: &HashMap<String, String>,
    group_ids: &HashMap<String, String>,
    importer: &mut Importer<'_>,
) -> Result<Option<ImportItem>> {
    let uid = data.get("UID").and_then(Value::as_str).unwrap_or_default();
    let uuid = Uuid::try_parse(uid).map_err(|e| anyhow!("{path}: UID {uid:?}: {e}"))?;
    let plone_type = data.get("@type").and_then(Value::as_str).unwrap_or_default();
    let type_name = type_map.get(plone_type).cloned().unwrap_or_else(|| plone_type.to_owned());
    let creator = data
        .get("creators")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_str)
        .map(|c| user_ids.get(c).cloned().unwrap_or_else(|| c.to_owned()))
        .unwrap_or_else(|| "admin".into());
    let now = beffroi_store::now();
    let created = date(data.get("created")).unwrap_or(now);
    let modified = date(data.get("modified")).unwrap_or(created);

    let mut values = Map::new();
    let mut files = Vec::new();
    for (k, v) in data {
        if NOT_VALUES.contains(&k.as_str()) || v.is_null() {
            continue;
        }
        if let Some(rel) = v.get("blob_path").and_then(Value::as_str) {
            let Some(file) = inside(&export.content, rel) else {
                importer.skip(&path.to_string(), &format!("{k}: blob path {rel:?} leaves the export's folder"));
                return Ok(None);
            };
            let spooled = spool(services, &file).await.with_context(|| format!("cannot read {}", file.display()))?;
            files.push(Upload {
                field: k.clone(),
                filename: v.get("filename").and_then(Value::as_str).unwrap_or_default().to_owned(),
                content_type: v.get("content-type").and_then(Value::as_str).map(str::to_owned),
                data: UploadData::Spooled(Arc::new(spooled)),
            });
            continue;
        }
        values.insert(k.clone(), v.clone());
    }

    let mut history = Vec::new();
    if let Some(Value::Object(wfs)) = data.get("workflow_history") {
        for steps in wfs.values().filter_map(Value::as_array) {
            for s in steps {
                let Some(state) = s.get("review_state").and_then(Value::as_str) else { continue };
                history.push(ImportStep {
                    action: s.get("action").and_then(Value::as_str).map(str::to_owned),
                    actor: s.get("actor").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    comments: s.get("comments").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    review_state: state.to_owned(),
                    at: date(s.get("time")).unwrap_or(created),
                });
            }
        }
    }

    let mut revisions = Vec::new();
    if let Some(Value::Object(versions)) = data.get("exportimport.versions") {
        let mut numbered: Vec<(i64, &Map<String, Value>)> =
            versions.iter().filter_map(|(n, v)| Some((n.parse().ok()?, v.as_object()?))).collect();
        numbered.sort_by_key(|(n, _)| *n);
        for (_, v) in numbered {
            revisions.push(ImportRevision {
                values: v
                    .iter()
                    .filter(|(k, _)| !NOT_VALUES.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                actor: v
                    .get("changeActor")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| creator.clone()),
                note: v.get("changeNote").and_then(Value::as_str).unwrap_or_default().to_owned(),
                at: date(v.get("modified")).unwrap_or(modified),
            });
        }
    }

    let entry = export.metadata.local_roles.get(uid);
    let mut local_roles = Vec::new();
    for (principal, roles) in entry.map(|e| &e.local_roles).into_iter().flatten() {
        let grantee = if let Some(g) = group_ids.get(principal) {
            Grantee::Group(g.clone())
        } else if principal == AUTHENTICATED_USERS {
            Grantee::Group(principal.clone())
        } else {
            Grantee::User(user_ids.get(principal).cloned().unwrap_or_else(|| principal.clone()))
        };
        let mut kept = Vec::new();
        for r in roles {
            match Role::parse(r) {
                // Owner comes from being the creator here.
                Ok(Role::Owner) => {}
                Ok(role) if role.is_grantable() => kept.push(role),
                _ => importer.note(&path.to_string(), &format!("local role {r} of {principal} is not kept")),
            }
        }
        if !kept.is_empty() {
            local_roles.push((grantee, kept));
        }
    }
    let block_inheritance =
        entry.is_some_and(|e| e.block.as_bool().unwrap_or(false) || e.block.as_i64().is_some_and(|n| n != 0));

    Ok(Some(ImportItem {
        uuid,
        path: path.clone(),
        type_name,
        values,
        files,
        creator,
        created,
        modified,
        review_state: data.get("review_state").and_then(Value::as_str).map(str::to_owned),
        history,
        local_roles,
        block_inheritance,
        revisions,
        change_note: data.get("changeNote").and_then(Value::as_str).unwrap_or_default().to_owned(),
        change_actor: data.get("changeActor").and_then(Value::as_str).map(str::to_owned),
    }))
}

/// Copies a blob of the export to a temporary file beside the blob store, in chunks:
/// a large file is never held in memory.
async fn spool(services: &Services, file: &Path) -> Result<beffroi_store::Spooled> {
    use tokio::io::AsyncReadExt;
    let mut spool = services.spool().await?;
    let mut f = tokio::fs::File::open(file).await?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        spool.write(&buf[..n]).await?;
    }
    Ok(spool.finish().await?)
}

fn print_report(site: &str, r: &ImportReport, export: &Export, secs: f64) {
    let per_type = |m: &BTreeMap<String, u64>| m.iter().map(|(t, n)| format!("{t} {n}")).collect::<Vec<_>>().join(", ");
    let items = r.items();
    println!("site {site}: {items} items imported in {secs:.1} s ({:.0} items/s)", items as f64 / secs.max(1e-9));
    println!("  created: {}", if r.created.is_empty() { "none".into() } else { per_type(&r.created) });
    println!("  updated: {}", if r.updated.is_empty() { "none".into() } else { per_type(&r.updated) });
    println!("  users: {} created, {} updated", r.users_created, r.users_updated);
    println!("  groups: {} created, {} updated", r.groups_created, r.groups_updated);
    println!(
        "  blobs: {}, redirects: {}, default pages: {}, revisions: {}, workflow steps: {}, translation groups: {}",
        r.blobs, r.redirects, r.default_pages, r.revisions, r.history_steps, r.translation_groups
    );
    println!("skipped: {}", r.skipped.len());
    for (what, why) in &r.skipped {
        println!("  {what}: {why}");
    }
    if !r.notes.is_empty() {
        println!("notes: {}", r.notes.len());
        for (what, note) in &r.notes {
            println!("  {what}: {note}");
        }
    }
    if export.links > 0 {
        println!("  relations that are links in rich text: {} (kept in the text as resolveuid links)", export.links);
    }
    for (file, n) in &export.not_imported {
        println!("not imported yet: {file} ({n} entries)");
    }
}
