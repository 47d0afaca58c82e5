//! `beffroi backup --to DIR` and `beffroi restore --from DIR`.
//!
//! A backup folder holds `beffroi.db` (SQLite: a consistent copy taken with `vacuum
//! into` while servers keep writing), `files/` (the blob store's files, in its own
//! layout) and `manifest.json`, written last: a folder without it is an unfinished
//! backup. Blobs are named by their content and never rewritten, and the copy of the
//! database is taken before the files are listed, so every file the copy refers to is
//! among those copied. On PostgreSQL the database is backed up with its own tools
//! (`pg_dump`, base backups and WAL archiving), taken before `beffroi backup` copies
//! the files.
//!
//! A restore checks everything before it writes anything: the manifest, the copy of
//! the database (its SHA-256), every file (size and SHA-256), and that every file the
//! database refers to is there; then it writes into an empty data folder.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use beffroi_store::{Backend, Blobs, Store, StoreOptions};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cli::{BackupArgs, BlobsArgs, BlobsCommand, RestoreArgs};
use crate::serve::runtime;

const FORMAT: &str = "beffroi-backup/1";
const DATABASE_FILE: &str = "beffroi.db";
const FILES: &str = "files";
const MANIFEST: &str = "manifest.json";

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    /// When the backup was taken (RFC 3339).
    created: String,
    /// The copy of the database (None on PostgreSQL: see its own backup).
    database: Option<DatabaseCopy>,
    /// Every file copied: key in the blob store, size, SHA-256 of the bytes.
    files: Vec<FileEntry>,
    /// Files the database referred to that the blob store lacked already.
    #[serde(default)]
    missing: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct DatabaseCopy {
    file: String,
    bytes: u64,
    sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileEntry {
    key: String,
    size: u64,
    sha256: String,
}

fn file_sha256(path: &Path) -> Result<(u64, String)> {
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (mut hasher, mut bytes, mut buf) = (Sha256::new(), 0u64, vec![0u8; 1 << 20]);
    loop {
        let n = std::io::Read::read(&mut file, &mut buf).with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            return Ok((bytes, beffroi_store::hex(&hasher.finalize())));
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
}

fn bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}} files, {{eta}} left"))
    {
        bar.set_style(style);
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

pub fn backup(args: BackupArgs) -> Result<()> {
    crate::serve::new_or_empty(&args.to, "back up")?;
    runtime()?.block_on(async move {
        let started = Instant::now();
        let store = Store::open(&args.db.url(), &args.db.store_options(2))
            .await
            .with_context(|| format!("cannot open {}", beffroi_store::redact_url(&args.db.url())))?;
        let blobs = args.db.open_blobs().await?;
        std::fs::create_dir_all(args.to.join(FILES)).with_context(|| format!("cannot create {}", args.to.display()))?;
        // The database first: the files listed after it hold all it refers to.
        let database = if store.backend() == Backend::Sqlite {
            let copy = args.to.join(DATABASE_FILE);
            store.snapshot_to(&copy).await.context("cannot copy the database")?;
            let (bytes, sha256) = file_sha256(&copy)?;
            Some(DatabaseCopy { file: DATABASE_FILE.into(), bytes, sha256 })
        } else {
            None
        };
        let referenced = match &database {
            Some(_) => beffroi_store::backup::referenced_blobs_in(&args.to.join(DATABASE_FILE)).await?,
            None => {
                let mut c = store.conn().await?;
                c.db().referenced_blobs().await?
            }
        };
        store.close().await;
        let target = Blobs::local(&args.to.join(FILES)).context("cannot create the backup's file store")?;
        let keys = blobs.files().await.context("cannot list the blob store")?;
        let progress = bar(keys.len() as u64, "copying");
        let mut files = Vec::with_capacity(keys.len());
        for key in keys.into_iter().map(|o| o.key) {
            blobs.copy_file(&key, &target).await.with_context(|| format!("cannot copy {key}"))?;
            let Some((size, sha256)) = target.digest(&key).await? else { bail!("{key} was not copied") };
            files.push(FileEntry { key, size, sha256 });
            progress.inc(1);
        }
        progress.finish_and_clear();
        let copied: BTreeSet<&str> = files.iter().filter_map(|f| beffroi_store::upload_of(&f.key)).collect();
        let missing: Vec<String> = referenced.iter().filter(|h| !copied.contains(h.as_str())).cloned().collect();
        if !missing.is_empty() {
            tracing::warn!(count = missing.len(), first = %missing[0], "the database refers to files the blob store lacks (listed in the manifest)");
        }
        let bytes: u64 = files.iter().map(|f| f.size).sum();
        let manifest = Manifest {
            format: FORMAT.into(),
            created: chrono::Utc::now().to_rfc3339(),
            database,
            files,
            missing,
        };
        let partial = args.to.join("manifest.json.partial");
        std::fs::write(&partial, serde_json::to_vec_pretty(&manifest)?)?;
        std::fs::rename(&partial, args.to.join(MANIFEST))?;
        println!(
            "Backed up to {}: {}{} files ({} bytes) in {:.1} s.",
            args.to.display(),
            if manifest.database.is_some() { "the database and " } else { "" },
            manifest.files.len(),
            bytes,
            started.elapsed().as_secs_f64()
        );
        if manifest.database.is_none() {
            println!(
                "The database is on PostgreSQL: back it up with pg_dump (or base backups) taken before this command."
            );
        }
        Ok(())
    })
}

/// Everything a restore checks before it writes: the manifest, the database's copy,
/// every file, and that the files the database refers to are all there.
async fn check_backup(from: &Path) -> Result<Manifest> {
    let text = std::fs::read_to_string(from.join(MANIFEST))
        .with_context(|| format!("{}: no manifest.json (not a backup, or an unfinished one)", from.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a backup's manifest", from.join(MANIFEST).display()))?;
    if manifest.format != FORMAT {
        bail!("{}: format {:?}, expected {FORMAT:?}", from.join(MANIFEST).display(), manifest.format);
    }
    if let Some(db) = &manifest.database {
        let (bytes, sha256) = file_sha256(&from.join(&db.file))?;
        if (bytes, sha256.as_str()) != (db.bytes, db.sha256.as_str()) {
            bail!("{}: the database's copy is not the one backed up (size or SHA-256 differ)", from.display());
        }
    }
    let files = Blobs::local(&from.join(FILES)).context("cannot open the backup's files")?;
    let progress = bar(manifest.files.len() as u64, "checking");
    for f in &manifest.files {
        match files.digest(&f.key).await? {
            None => bail!("{}: the file {} is missing from the backup; nothing restored", from.display(), f.key),
            Some((size, sha256)) if size != f.size || sha256 != f.sha256 => {
                bail!("{}: the file {} is damaged (size or SHA-256 differ); nothing restored", from.display(), f.key)
            }
            Some(_) => progress.inc(1),
        }
    }
    progress.finish_and_clear();
    if let Some(db) = &manifest.database {
        let referenced = beffroi_store::backup::referenced_blobs_in(&from.join(&db.file)).await?;
        let present: BTreeSet<&str> = manifest.files.iter().filter_map(|f| beffroi_store::upload_of(&f.key)).collect();
        if let Some(lost) = referenced.iter().find(|h| !present.contains(h.as_str()) && !manifest.missing.contains(h)) {
            bail!(
                "{}: the database refers to the file {lost}, which the backup lacks; nothing restored",
                from.display()
            );
        }
    }
    Ok(manifest)
}

pub fn restore(args: RestoreArgs) -> Result<()> {
    runtime()?.block_on(async move {
        let started = Instant::now();
        let url = args.db.url();
        let on_sqlite = url.starts_with("sqlite:");
        let db_file = args.db.data.join(DATABASE_FILE);
        if on_sqlite && args.db.database.is_some() {
            bail!("restore writes the database at <data>/{DATABASE_FILE}: give --data, not --database");
        }
        if on_sqlite && db_file.exists() {
            bail!("{}: a database is already there (restore into an empty data folder)", db_file.display());
        }
        let manifest = check_backup(&args.from).await?;
        if on_sqlite && manifest.database.is_none() {
            bail!("{}: this backup holds no database (it was taken on PostgreSQL)", args.from.display());
        }
        let target = args.db.open_blobs().await?;
        if !target.files().await?.is_empty() {
            bail!("{}: files are already there (restore into an empty blob store)", args.db.blobs_dir().display());
        }
        // Checked: now written.
        let source = Blobs::local(&args.from.join(FILES))?;
        let progress = bar(manifest.files.len() as u64, "restoring");
        for f in &manifest.files {
            source.copy_file(&f.key, &target).await.with_context(|| format!("cannot restore {}", f.key))?;
            progress.inc(1);
        }
        progress.finish_and_clear();
        if let (true, Some(db)) = (on_sqlite, &manifest.database) {
            crate::serve::private_dir(&args.db.data)?;
            let partial = args.db.data.join("beffroi.db.restoring");
            std::fs::copy(args.from.join(&db.file), &partial).context("cannot copy the database")?;
            #[cfg(unix)]
            std::fs::set_permissions(&partial, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            std::fs::rename(&partial, &db_file)?;
            // It opens, and takes this binary's migrations.
            let store =
                Store::open(&url, &StoreOptions::default()).await.context("the restored database does not open")?;
            store.close().await;
        }
        println!(
            "Restored {} files{} from {} in {:.1} s.",
            manifest.files.len(),
            if on_sqlite { " and the database" } else { "" },
            args.from.display(),
            started.elapsed().as_secs_f64()
        );
        if !on_sqlite {
            println!("The database is on PostgreSQL: restore it with pg_restore from the dump taken with this backup.");
        }
        Ok(())
    })
}

pub fn blobs(args: BlobsArgs) -> Result<()> {
    runtime()?.block_on(async move {
        match &args.command {
            BlobsCommand::Migrate { from, to } => migrate(&args, from, to).await,
            BlobsCommand::Sweep { grace_hours, dry_run } => sweep(&args, *grace_hours, *dry_run).await,
        }
    })
}

/// Copies every file of the folder `from` into the store `to`, skipping those already
/// there with their size (so that an interrupted run goes on where it stopped).
async fn migrate(args: &BlobsArgs, from: &Path, to: &str) -> Result<()> {
    let started = Instant::now();
    if !from.is_dir() {
        bail!("{}: no such folder", from.display());
    }
    let source = Blobs::local(from)?;
    let mut target_args = args.db.clone();
    target_args.blobs = Some(to.into());
    let target = target_args.open_blobs().await?;
    let files = source.files().await.context("cannot list the files to copy")?;
    let progress = bar(files.len() as u64, "copying");
    let (mut copied, mut there, mut bytes) = (0u64, 0u64, 0u64);
    for f in &files {
        if target.size_of(&f.key).await? == Some(f.size) {
            there += 1;
        } else {
            source.copy_file(&f.key, &target).await.with_context(|| format!("cannot copy {}", f.key))?;
            copied += 1;
            bytes += f.size;
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    println!(
        "Copied {copied} files ({bytes} bytes) to {to}, {there} already there, in {:.1} s. Serve with --blobs {to}.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Removes the uploads nothing refers to, and their scales, once older than the grace.
/// The files are listed before the references are read: a file saved meanwhile is
/// either referred to or too young.
async fn sweep(args: &BlobsArgs, grace_hours: u64, dry_run: bool) -> Result<()> {
    let store = Store::open(&args.db.url(), &args.db.store_options(2))
        .await
        .with_context(|| format!("cannot open {}", beffroi_store::redact_url(&args.db.url())))?;
    let blobs = args.db.open_blobs().await?;
    let files = blobs.files().await.context("cannot list the files")?;
    let referenced = {
        let mut c = store.conn().await?;
        c.db().referenced_blobs().await?
    };
    store.close().await;
    // At most a hundred years (the option's range): fits.
    let grace = chrono::Duration::hours(i64::try_from(grace_hours).unwrap_or(876_000));
    let before = chrono::Utc::now() - grace;
    // An unreferenced upload old enough goes, with every scale of it.
    let gone: BTreeSet<&str> = files
        .iter()
        .filter(|f| f.is_upload() && f.modified < before)
        .filter_map(|f| f.blob())
        .filter(|h| !referenced.contains(*h))
        .collect();
    let doomed: Vec<_> = files.iter().filter(|f| f.blob().is_some_and(|h| gone.contains(h))).collect();
    let bytes: u64 = doomed.iter().map(|f| f.size).sum();
    for f in &doomed {
        if dry_run {
            println!("{}", f.key);
        } else {
            blobs.delete(&f.key).await.with_context(|| format!("cannot remove {}", f.key))?;
        }
    }
    println!(
        "{} {} files ({} uploads nothing refers to and their scales, {bytes} bytes); {} files kept.",
        if dry_run { "Would remove" } else { "Removed" },
        doomed.len(),
        gone.len(),
        files.len() - doomed.len()
    );
    Ok(())
}
