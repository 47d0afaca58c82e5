//! `beffroi backup` and `beffroi restore`, run as commands: a backup taken while the
//! site is being written restores a consistent site; a backup goes only into a new
//! folder; a restore checks everything before it writes anything.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use base64::Engine;
use beffroi_model::security::Role;
use beffroi_service::{Blobs, Services, Store, StoreOptions};
use serde_json::json;

use crate::cli::beffroi_stdin;
use crate::support::{TestApp, TestDb};

const AUTH: &str = "Basic bWF4OmNvcnJlY3QgaG9yc2UgYmF0dGVyeQ=="; // max:correct horse battery

/// The bytes of the n-th file: each its own.
fn content(n: usize) -> Vec<u8> {
    format!("Délibération {n}\n").repeat(5000 + n).into_bytes()
}

fn file(n: usize) -> serde_json::Value {
    json!({"@type": "File", "title": format!("Fichier {n}"), "file": {
        "data": base64::engine::general_purpose::STANDARD.encode(content(n)), "encoding": "base64",
        "filename": format!("fichier-{n}.txt"), "content-type": "text/plain"}})
}

fn command(args: &[&str]) -> (i32, String, String) {
    let nowhere = tempfile::tempdir().unwrap();
    beffroi_stdin(nowhere.path(), args, "")
}

/// A restored data folder's services.
async fn open_restored(data: &Path) -> Services {
    let url = format!("sqlite://{}", data.join("beffroi.db").display());
    let store = Store::open(&url, &StoreOptions::default()).await.expect("the restored database opens");
    let blobs = Blobs::local(&data.join("blobs")).unwrap();
    beffroi_web::assemble(Services::new(store, blobs), &[beffroi_cms::CMS]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_writing_restores_a_consistent_site_and_a_damaged_one_is_refused() {
    let db = TestDb::sqlite().await;
    let s = db.site("s").await;
    db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
    let app = Arc::new(TestApp::new(&db).await);
    for n in 0..40 {
        assert_eq!(app.send_json("POST", "/s", AUTH, file(n)).await.status, 201);
    }
    // Files keep being added while the backup runs.
    let (stop, made) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(40)));
    let writer = {
        let (app, stop, made) = (app.clone(), stop.clone(), made.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let n = made.load(Ordering::SeqCst);
                assert_eq!(app.send_json("POST", "/s", AUTH, file(n)).await.status, 201);
                made.store(n + 1, Ordering::SeqCst);
            }
        })
    };
    let root = tempfile::tempdir().unwrap();
    let backup = root.path().join("backup");
    let (url, blobs) = (db.url.clone(), db.blobs_dir().display().to_string());
    let target = backup.display().to_string();
    let before = made.load(Ordering::SeqCst);
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        command(&["backup", "--to", &target, "--database", &url, "--blobs", &blobs])
    })
    .await
    .unwrap();
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    let after = made.load(Ordering::SeqCst);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Backed up to"), "{out}");
    assert!(after > before, "files were written during the backup");

    // Never into a folder in use.
    let (code, _, err) = command(&["backup", "--to", backup.to_str().unwrap(), "--database", &db.url]);
    assert_eq!(code, 1);
    assert!(err.contains("not empty"), "{err}");

    // Restored into an empty folder: the site at one moment, every file whole.
    let data = root.path().join("restored");
    let (code, out, err) = command(&["restore", "--from", backup.to_str().unwrap(), "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let restored = open_restored(&data).await;
    let restored_app = TestApp::with_services(restored.clone()).await;
    let listing = restored_app
        .get_with(
            "/s/@search?portal_type=File&b_size=10000&sort_on=id",
            &[("authorization", AUTH), ("accept", "application/json")],
        )
        .await;
    assert_eq!(listing.status, 200, "{}", listing.body);
    let count = listing.json()["items_total"].as_u64().unwrap() as usize;
    assert!((before..=after).contains(&count), "{before} ≤ {count} ≤ {after}");
    eprintln!("files: {before} when the backup began, {count} restored, {after} when it ended");
    for n in 0..count {
        let r = restored_app.get_with(&format!("/s/fichier-{n}/@@download/file"), &[("authorization", AUTH)]).await;
        assert_eq!(r.status, 200, "file {n} of {count}");
        assert_eq!(r.body.as_bytes(), content(n).as_slice(), "file {n}");
    }
    restored.close().await;

    // Never over a data folder in use.
    let (code, _, err) = command(&["restore", "--from", backup.to_str().unwrap(), "--data", data.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("already there"), "{err}");

    // A file lost from the backup: refused, nothing written.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    let key = manifest["files"][3]["key"].as_str().unwrap().to_owned();
    let lost = backup.join("files").join(&key);
    let kept = std::fs::read(&lost).unwrap();
    std::fs::remove_file(&lost).unwrap();
    let elsewhere = root.path().join("elsewhere");
    let (code, _, err) =
        command(&["restore", "--from", backup.to_str().unwrap(), "--data", elsewhere.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("missing from the backup") && err.contains(&key), "{err}");
    assert!(!elsewhere.join("beffroi.db").exists());
    let written = std::fs::read_dir(elsewhere.join("blobs")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(written, 0, "nothing written");
    // Damaged: refused too.
    std::fs::write(&lost, b"not the bytes").unwrap();
    let (code, _, err) =
        command(&["restore", "--from", backup.to_str().unwrap(), "--data", elsewhere.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("damaged"), "{err}");
    // Left out of the manifest while the database refers to it: refused.
    std::fs::write(&lost, kept).unwrap();
    let mut trimmed = manifest.clone();
    trimmed["files"].as_array_mut().unwrap().retain(|f| f["key"] != key.as_str());
    std::fs::write(backup.join("manifest.json"), serde_json::to_vec(&trimmed).unwrap()).unwrap();
    let (code, _, err) =
        command(&["restore", "--from", backup.to_str().unwrap(), "--data", elsewhere.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("refers to the file"), "{err}");
    assert!(!elsewhere.join("beffroi.db").exists());
    db.cleanup().await;
}

/// On PostgreSQL the database is backed up with its own tools: the command copies the
/// files and says so.
#[tokio::test]
async fn on_postgresql_the_backup_holds_the_files_and_says_how_to_back_up_the_database() {
    let Some(db) = TestDb::postgres().await else { return };
    let s = db.site("s").await;
    db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
    let app = TestApp::new(&db).await;
    for n in 0..3 {
        assert_eq!(app.send_json("POST", "/s", AUTH, file(n)).await.status, 201);
    }
    let root = tempfile::tempdir().unwrap();
    let backup = root.path().join("backup");
    let blobs = db.blobs_dir().display().to_string();
    let (code, out, err) =
        command(&["backup", "--to", backup.to_str().unwrap(), "--database", &db.url, "--blobs", &blobs]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("pg_dump"), "{out}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["database"].is_null());
    let blobs = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["key"].as_str().unwrap().starts_with("blobs/"))
        .count();
    assert_eq!(blobs, 3);
    assert!(!backup.join("beffroi.db").exists());
    // Its files restore into an empty blob folder beside a restored database.
    let restored = root.path().join("restored-blobs");
    let (code, out, err) = command(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--database",
        &db.url,
        "--blobs",
        restored.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("pg_restore"), "{out}");
    let copied = Blobs::local(&restored).unwrap().files().await.unwrap();
    assert_eq!(copied.iter().filter(|o| o.is_upload()).count(), 3);
    db.cleanup().await;
}
