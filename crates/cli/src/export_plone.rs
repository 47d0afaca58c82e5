//! `beffroi export plone --site ID DIR`: writes a site as plone.exportimport (Plone 6)
//! lays one out, so that `beffroi import plone` (or Plone's importer) reads it back:
//! `content/__metadata__.json`, `content/<uid>/data.json` with each file beside it,
//! `principals.json` (password hashes as stored), `redirects.json`, and the files this
//! export has nothing for (relations, translations, comments, portlets) empty.
//!
//! Files are copied from the blob store a chunk at a time, never held whole. The
//! target folder must be new or empty: an export never mixes with other files.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use beffroi_model::SiteId;
use beffroi_model::media::StoredFile;
use beffroi_model::schema::{FieldKind, TypeSchema};
use beffroi_model::security::{Grantee, Principal};
use beffroi_service::{DEFAULT_PAGE, Exporter, ItemRow, RevisionRow, Services};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};
use tokio::io::AsyncWriteExt;

use crate::cli::{ExportArgs, ExportCommand, PloneExportArgs};
use crate::serve::{open, runtime};

pub fn run(args: ExportArgs) -> Result<()> {
    let ExportCommand::Plone(plone) = args.command;
    crate::serve::new_or_empty(&plone.dir, "export")?;
    runtime()?.block_on(async move {
        let services = open(&args.db, 4).await?;
        let result = export(&services, &plone).await;
        services.close().await;
        let written = plone.dir.join("content").exists();
        let (report, secs) = match result {
            Ok(r) => r,
            Err(e) if written => return Err(e.context(format!("the export in {} is incomplete", plone.dir.display()))),
            Err(e) => return Err(e),
        };
        println!(
            "site {}: {} items, {} files ({} bytes), {} users, {} groups, {} redirects exported to {} in {secs:.1} s",
            plone.site,
            report.items,
            report.blobs,
            report.blob_bytes,
            report.users,
            report.groups,
            report.redirects,
            plone.dir.display()
        );
        for (what, note) in &report.notes {
            println!("  {what}: {note}");
        }
        Ok(())
    })
}

/// Items whose values are read at once.
const EXPORT_BATCH: usize = 200;

#[derive(Debug, Default)]
struct Report {
    items: u64,
    blobs: u64,
    blob_bytes: u64,
    users: u64,
    groups: u64,
    redirects: u64,
    notes: Vec<(String, String)>,
}

/// Dates as Plone writes them (`2026-12-06T18:06:36+00:00`), fractions of a second kept.
fn iso(d: &DateTime<Utc>) -> String {
    d.to_rfc3339()
}

fn opt_iso(d: &Option<DateTime<Utc>>) -> Value {
    d.as_ref().map(|d| Value::String(iso(d))).unwrap_or(Value::Null)
}

async fn write_json(path: &Path, v: &Value) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(v).expect("JSON values serialize");
    tokio::fs::write(path, bytes).await.with_context(|| format!("cannot write {}", path.display()))
}

async fn export(services: &Services, args: &PloneExportArgs) -> Result<(Report, f64)> {
    let started = Instant::now();
    let site_id = SiteId::parse(&args.site).map_err(|e| anyhow!("invalid site id: {e}"))?;
    let mut ex = services.begin_export(&Principal::System, &site_id).await.context("cannot begin the export")?;
    let mut report = Report::default();
    let content = args.dir.join("content");
    tokio::fs::create_dir_all(&content).await.with_context(|| format!("cannot create {}", content.display()))?;

    // The list of items is light (ids and paths); their values are read a batch at a
    // time, so memory does not grow with the site.
    let items = ex.items().await?;
    let ids: HashMap<uuid::Uuid, &str> = items.iter().map(|i| (i.uuid, i.id.as_str())).collect();
    let mut data_files = Vec::with_capacity(items.len());
    let mut blob_files = Vec::new();
    let mut default_pages = Map::new();
    let mut local_roles = Map::new();
    let mut ordering = Map::new();
    for batch in items.chunks(EXPORT_BATCH) {
        let uuids: Vec<uuid::Uuid> = batch.iter().map(|i| i.uuid).collect();
        for it in &ex.rows(&uuids).await? {
            let uid = it.uuid.simple().to_string();
            let dir = content.join(&uid);
            tokio::fs::create_dir(&dir).await.with_context(|| format!("cannot create {}", dir.display()))?;
            let schema = services.types().get(&it.type_name);
            let mut data = base_values(it);
            for (name, value) in &it.fields {
                // What the item keeps for itself (a document's words, its default page).
                if name.starts_with('_') || name == DEFAULT_PAGE || value.is_null() {
                    continue;
                }
                if !is_file(schema, name) {
                    data.insert(name.clone(), value.clone());
                    continue;
                }
                let Ok(file) = serde_json::from_value::<StoredFile>(value.clone()) else {
                    report.notes.push((it.path.to_string(), format!("{name}: not a stored file, left out")));
                    continue;
                };
                let rel = format!("{uid}/{name}/{}", file_name(&file.filename, name));
                tokio::fs::create_dir(dir.join(name))
                    .await
                    .with_context(|| format!("cannot create {}/{name}", dir.display()))?;
                report.blob_bytes +=
                    copy_blob(&ex, &file, &content.join(&rel)).await.with_context(|| format!("{}: {name}", it.path))?;
                report.blobs += 1;
                let mut v = json!({
                    "filename": file.filename,
                    "content-type": file.content_type,
                    "size": file.size,
                    "blob_path": rel,
                });
                if let (Some(w), Some(h)) = (file.width, file.height) {
                    v["width"] = w.into();
                    v["height"] = h.into();
                }
                data.insert(name.clone(), v);
                blob_files.push(Value::String(rel));
            }

            let history = ex.history(it.uuid).await?;
            if !history.is_empty() {
                let steps: Vec<Value> = history
                    .iter()
                    .map(|h| {
                        json!({
                            "action": h.action,
                            "actor": h.actor,
                            "comments": h.comments,
                            "review_state": h.review_state,
                            "time": iso(&h.at),
                        })
                    })
                    .collect();
                let wf = ex.workflow_of(&it.type_name).unwrap_or_else(|| "workflow".into());
                let mut by_workflow = Map::new();
                by_workflow.insert(wf, Value::Array(steps));
                data.insert("workflow_history".into(), Value::Object(by_workflow));
            }

            let mut revisions = ex.revisions(it.uuid).await?;
            // The last revision holds the current values: its note is the item's.
            if let Some(current) = revisions.pop() {
                data.insert("changeNote".into(), current.comment.into());
                data.insert("changeActor".into(), current.actor.into());
                let versions: Map<String, Value> =
                    revisions.iter().enumerate().map(|(n, r)| (n.to_string(), version_values(schema, r))).collect();
                if !versions.is_empty() {
                    data.insert("exportimport.versions".into(), Value::Object(versions));
                }
            }

            if let Some(page) = it.fields.get(DEFAULT_PAGE).and_then(Value::as_str)
                && let Ok(page_uuid) = uuid::Uuid::try_parse(page)
                && let Some(page_id) = ids.get(&page_uuid)
            {
                default_pages.insert(uid.clone(), json!({"default_page": page_id, "default_page_uuid": page}));
            }
            local_roles.insert(uid.clone(), roles_entry(it));
            ordering.insert(uid.clone(), it.position.into());

            write_json(&dir.join("data.json"), &Value::Object(data)).await?;
            data_files.push(Value::String(format!("{uid}/data.json")));
            report.items += 1;
        }
    }
    let metadata = json!({
        "__version__": "1.0",
        "_data_files_": data_files,
        "_blob_files_": blob_files,
        "default_page": default_pages,
        "local_permissions": {},
        "local_roles": local_roles,
        "ordering": ordering,
        "relations": [],
    });
    write_json(&content.join("__metadata__.json"), &metadata).await?;

    // Users and groups, with each user's groups as Plone lists them.
    let groups = ex.groups().await?;
    let mut groups_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for g in &groups {
        for m in &g.members {
            groups_of.entry(m.as_str()).or_default().push(g.id.as_str());
        }
    }
    let mut members = Vec::new();
    for u in ex.users().await? {
        let password = if u.enabled {
            u.password_hash.clone()
        } else {
            // Plone's format has no disabled account: none that could sign in.
            report.notes.push((format!("user {}", u.login), "disabled: exported without a password".into()));
            String::new()
        };
        members.push(json!({
            "username": u.login,
            "login_name": u.login,
            "fullname": u.fullname,
            "email": u.email,
            "password": password,
            "roles": u.roles.iter().map(|r| r.name()).collect::<Vec<_>>(),
            "groups": groups_of.get(u.login.as_str()).cloned().unwrap_or_default(),
            "description": "",
            "home_page": "",
            "location": "",
        }));
        report.users += 1;
    }
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| {
            json!({
                "groupid": g.id,
                "title": g.title,
                "description": g.description,
                "email": "",
                "roles": g.roles.iter().map(|r| r.name()).collect::<Vec<_>>(),
                "groups": [],
                "principals": g.members,
            })
        })
        .collect();
    report.groups = groups.len() as u64;
    write_json(&args.dir.join("principals.json"), &json!({"groups": groups, "members": members})).await?;

    // Plone writes redirects from the Zope root, under the site's id.
    let site = ex.site().id.to_string();
    let redirects: Map<String, Value> = ex
        .redirects()
        .await?
        .into_iter()
        .map(|(old, now)| (format!("/{site}{old}"), Value::String(format!("/{site}{now}"))))
        .collect();
    report.redirects = redirects.len() as u64;
    write_json(&args.dir.join("redirects.json"), &Value::Object(redirects)).await?;
    // plone.app.multilingual's groups: one object per group, language → UID.
    let translations: Vec<Value> = ex
        .translation_groups()
        .await?
        .into_iter()
        .map(|g| Value::Object(g.into_iter().map(|(u, l)| (l, Value::String(u.simple().to_string()))).collect()))
        .collect();
    write_json(&args.dir.join("translations.json"), &Value::Array(translations)).await?;
    for (name, empty) in [("relations.json", json!([])), ("discussions.json", json!({})), ("portlets.json", json!([]))]
    {
        write_json(&args.dir.join(name), &empty).await?;
    }
    Ok((report, started.elapsed().as_secs_f64()))
}

/// What every item says of itself, in plone.restapi's names.
fn base_values(it: &ItemRow) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("@id".into(), it.path.as_str().into());
    m.insert("@type".into(), it.type_name.clone().into());
    m.insert("UID".into(), it.uuid.simple().to_string().into());
    m.insert("id".into(), it.id.clone().into());
    m.insert("title".into(), it.title.clone().into());
    m.insert("description".into(), it.description.clone().into());
    m.insert("language".into(), it.language.code().into());
    m.insert("created".into(), iso(&it.created).into());
    m.insert("modified".into(), iso(&it.modified).into());
    m.insert("creators".into(), json!([it.creator]));
    m.insert("effective".into(), opt_iso(&it.effective));
    m.insert("expires".into(), opt_iso(&it.expires));
    m.insert("exclude_from_nav".into(), it.exclude_from_nav.into());
    m.insert("review_state".into(), it.review_state.clone().into());
    m
}

fn is_file(schema: Option<&TypeSchema>, field: &str) -> bool {
    schema.and_then(|s| s.field(field)).is_some_and(|f| matches!(f.kind, FieldKind::File | FieldKind::Image))
}

/// A file's name fit for a path in the export (the field's name when it is not).
fn file_name(name: &str, field: &str) -> String {
    let bad = name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']);
    if bad { field.to_owned() } else { name.to_owned() }
}

/// Copies a stored file to `to`, a chunk at a time; returns its size.
async fn copy_blob(ex: &Exporter<'_>, file: &StoredFile, to: &Path) -> Result<u64> {
    let mut read = ex.read_blob(file).await.context("cannot read the file")?;
    let out = tokio::fs::File::create(to).await.with_context(|| format!("cannot create {}", to.display()))?;
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, out);
    let mut size = 0u64;
    while let Some(chunk) = read.body.next().await {
        let chunk = chunk.context("cannot read the file")?;
        size += chunk.len() as u64;
        out.write_all(&chunk).await.with_context(|| format!("cannot write {}", to.display()))?;
    }
    out.flush().await.with_context(|| format!("cannot write {}", to.display()))?;
    Ok(size)
}

/// An old version in `exportimport.versions`: its values in plone.restapi's names (a
/// field it did not have is null, so that importing it gives the same version), with
/// its date, author and note. Files stay those of the current version.
fn version_values(schema: Option<&TypeSchema>, r: &RevisionRow) -> Value {
    let snap = &r.snapshot;
    let mut m = Map::new();
    for k in ["title", "description", "exclude_from_nav", "effective", "expires"] {
        if let Some(v) = snap.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    let fields = snap.get("fields").and_then(Value::as_object);
    for f in schema.map(|s| s.fields.as_slice()).unwrap_or_default() {
        if m.contains_key(&f.name) || matches!(f.kind, FieldKind::File | FieldKind::Image) {
            continue;
        }
        match fields.and_then(|fs| fs.get(&f.name)) {
            Some(v) => {
                m.insert(f.name.clone(), v.clone());
            }
            None if !f.required => {
                m.insert(f.name.clone(), Value::Null);
            }
            None => {}
        }
    }
    m.insert("modified".into(), iso(&r.at).into());
    m.insert("changeNote".into(), r.comment.clone().into());
    m.insert("changeActor".into(), r.actor.clone().into());
    Value::Object(m)
}

/// An item's entry in `local_roles`: its creator as Owner (as Plone has it), the
/// roles shared on it, and whether it blocks inherited ones.
fn roles_entry(it: &ItemRow) -> Value {
    let mut roles: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    roles.entry(it.creator.clone()).or_default().insert("Owner");
    for (key, granted) in &it.local_roles.0 {
        let name = match Grantee::from_key(key) {
            Some(Grantee::User(l)) => l,
            Some(Grantee::Group(g)) => g,
            None => continue,
        };
        roles.entry(name).or_default().extend(granted.iter().map(|r| r.name()));
    }
    let mut entry = json!({ "local_roles": roles });
    if it.block_inheritance {
        entry["block"] = 1.into();
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::file_name;
    use crate::serve::new_or_empty;

    #[test]
    fn an_export_goes_to_a_new_or_empty_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert!(new_or_empty(&dir.path().join("new"), "export").is_ok());
        assert!(new_or_empty(dir.path(), "export").is_ok());
        std::fs::write(dir.path().join("x"), "x").unwrap();
        let err = new_or_empty(dir.path(), "export").unwrap_err().to_string();
        assert!(err.ends_with("not empty (export into a new or empty folder)"), "{err}");
        let err = new_or_empty(&dir.path().join("x"), "export").unwrap_err().to_string();
        assert!(err.ends_with("x: not a folder"), "{err}");
    }

    #[test]
    fn file_names_stay_inside_their_folder() {
        assert_eq!(file_name("plan.png", "image"), "plan.png");
        assert_eq!(file_name("..", "image"), "image");
        assert_eq!(file_name("a/b.pdf", "file"), "file");
        assert_eq!(file_name("", "file"), "file");
    }
}
