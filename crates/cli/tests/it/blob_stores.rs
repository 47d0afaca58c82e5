//! Where the files live: an S3-compatible bucket (a real one, moto, started by
//! scripts/with-s3.sh) holds uploads, serves downloads and ranges, keeps image scales
//! beside; a store that fails makes an upload 503 with nothing half-written; a folder
//! moves to a bucket resumably; files nothing refers to are swept after their grace.

use std::io::{Read, Write};

use base64::Engine;
use beffroi_model::security::Role;
use beffroi_service::{Blobs, Services};
use beffroi_store::S3Options;
use serde_json::json;

use crate::both_backends;
use crate::cli::beffroi_stdin;
use crate::support::{TestApp, TestDb, png, skipped};

const AUTH: &str = "Basic bWF4OmNvcnJlY3QgaG9yc2UgYmF0dGVyeQ=="; // max:correct horse battery

/// The S3 server of the tests, if there is one (under CI=true there must be).
fn s3_endpoint() -> Option<String> {
    match std::env::var("BEFFROI_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ => {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "CI=true but BEFFROI_TEST_S3_ENDPOINT is not set (run under scripts/with-s3.sh)"
            );
            skipped("S3", "BEFFROI_TEST_S3_ENDPOINT is not set: run under scripts/with-s3.sh");
            None
        }
    }
}

/// A new, empty bucket on the S3 server.
fn new_bucket(endpoint: &str) -> String {
    let name = format!("beffroi-{}", uuid::Uuid::new_v4().simple());
    let addr = endpoint.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(conn, "PUT /{name} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    name
}

fn s3_options(endpoint: &str, url: &str) -> S3Options {
    S3Options {
        url: url.to_owned(),
        endpoint: Some(endpoint.to_owned()),
        region: Some("us-east-1".into()),
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
        path_style: true,
    }
}

fn file_json(title: &str, bytes: &[u8], name: &str, kind: &str, field: &str, type_name: &str) -> serde_json::Value {
    json!({"@type": type_name, "title": title, field: {
        "data": base64::engine::general_purpose::STANDARD.encode(bytes), "encoding": "base64",
        "filename": name, "content-type": kind}})
}

/// The same database served with its files in `blobs`.
fn served_with(db: &TestDb, blobs: Blobs) -> Services {
    beffroi_web::assemble(Services::new(db.store.clone(), blobs), &[beffroi_cms::CMS]).unwrap()
}

both_backends! {
    async fn files_live_in_an_s3_bucket(db) {
        let Some(endpoint) = s3_endpoint() else { return };
        let s = db.site("s").await;
        db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
        let bucket = new_bucket(&endpoint);
        let spool = tempfile::tempdir().unwrap();
        let blobs = Blobs::s3(&s3_options(&endpoint, &format!("s3://{bucket}/commune")), spool.path()).unwrap();
        blobs.check().await.unwrap();
        let app = TestApp::with_services(served_with(&db, blobs.clone())).await;

        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let r = app.send_json("POST", "/s", AUTH, file_json("Règlement", &bytes, "reglement.bin", "application/octet-stream", "file", "File")).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = app.send_json("POST", "/s", AUTH, file_json("Place", &png(640, 480), "place.png", "image/png", "image", "Image")).await;
        assert_eq!(r.status, 201, "{}", r.body);

        // Downloads and ranges come from the bucket.
        let r = app.get_with("/s/reglement/@@download/file", &[("authorization", AUTH)]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.raw.as_slice(), bytes.as_slice());
        let r = app.get_with("/s/reglement/@@download/file", &[("authorization", AUTH), ("range", "bytes=1000-1999")]).await;
        assert_eq!(r.status, 206);
        assert_eq!(r.raw.as_slice(), &bytes[1000..2000]);
        // A scale is made once and kept beside the image.
        let r = app.get_with("/s/place/@@images/image/thumb", &[("authorization", AUTH)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let keys: Vec<String> = blobs.files().await.unwrap().into_iter().map(|f| f.key).collect();
        assert_eq!(keys.iter().filter(|k| k.starts_with("blobs/")).count(), 2, "{keys:?}");
        assert!(keys.iter().any(|k| k.starts_with("derived/") && k.ends_with("thumb.png")), "{keys:?}");
        // Under the prefix, as the key layout of a folder.
        let whole = Blobs::s3(&s3_options(&endpoint, &format!("s3://{bucket}")), spool.path()).unwrap();
        assert!(whole.files().await.unwrap().iter().all(|f| f.key.starts_with("commune/")));
    }

    async fn a_blob_store_that_fails_makes_an_upload_503_with_nothing_written(db) {
        let s = db.site("s").await;
        db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
        // A bucket on an address where nothing answers.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let spool = tempfile::tempdir().unwrap();
        let blobs = Blobs::s3(&s3_options(&format!("http://{closed}"), "s3://nowhere"), spool.path()).unwrap();
        assert!(blobs.check().await.is_err());
        let app = TestApp::with_services(served_with(&db, blobs)).await;
        let r = app.send_json("POST", "/s", AUTH, file_json("Règlement", b"some bytes", "r.txt", "text/plain", "file", "File")).await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.json()["type"], "ServiceUnavailable");
        let r = app.get_with("/s/reglement", &[("authorization", AUTH)]).await;
        assert_eq!(r.status, 404, "no item pointing to a missing file");
        assert_eq!(std::fs::read_dir(spool.path()).unwrap().count(), 0, "no spooled upload left");
    }

    async fn files_nothing_refers_to_are_swept_after_their_grace(db) {
        let s = db.site("s").await;
        db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
        let app = TestApp::new(&db).await;
        for (title, bytes) in [("Gardé", b"kept bytes".as_slice()), ("Supprimé", b"removed bytes".as_slice())] {
            let r = app.send_json("POST", "/s", AUTH, file_json(title, bytes, "f.txt", "text/plain", "file", "File")).await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
        let r = app.send_json("POST", "/s", AUTH, file_json("Photo", &png(400, 300), "p.png", "image/png", "image", "Image")).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(app.get_with("/s/photo/@@images/image/thumb", &[("authorization", AUTH)]).await.status, 200);
        for gone in ["/s/supprime", "/s/photo"] {
            assert_eq!(app.send_json("DELETE", gone, AUTH, json!({})).await.status, 204);
        }
        let blobs = Blobs::local(&db.blobs_dir()).unwrap();
        let before = blobs.files().await.unwrap().len();
        assert_eq!(before, 4, "three uploads and a scale");
        let data = tempfile::tempdir().unwrap();
        let blob_dir = db.blobs_dir().display().to_string();
        let sweep = |extra: &[&str]| {
            let mut args = vec!["blobs", "--database", &db.url, "--blobs", &blob_dir, "sweep"];
            args.extend_from_slice(extra);
            beffroi_stdin(data.path(), &args, "")
        };
        // Young files stay, whatever refers to them; a grace under a day is refused.
        let (code, out, err) = sweep(&[]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(blobs.files().await.unwrap().len(), 4, "{out}");
        assert_eq!(sweep(&["--grace-hours", "1"]).0, 2);
        // Three days later…
        fn age(dir: &std::path::Path) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    age(&p);
                } else {
                    let three_days = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86_400);
                    std::fs::File::options().write(true).open(&p).unwrap().set_modified(three_days).unwrap();
                }
            }
        }
        age(&db.blobs_dir());
        // …the bytes of the deleted file are uploaded again: written anew, so young, so
        // spared while their item is being saved (here, never).
        blobs.put(bytes::Bytes::from_static(b"removed bytes")).await.unwrap();
        let (code, out, _) = sweep(&["--dry-run"]);
        assert_eq!(code, 0);
        assert!(out.contains("Would remove 2 files"), "{out}");
        assert_eq!(blobs.files().await.unwrap().len(), 4);
        let (code, out, err) = sweep(&[]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("Removed 2 files (1 uploads"), "{out}");
        assert_eq!(blobs.files().await.unwrap().len(), 2, "the kept file and the young one");
        let r = app.get_with("/s/garde/@@download/file", &[("authorization", AUTH)]).await;
        assert_eq!((r.status.as_u16(), r.raw.as_slice()), (200, b"kept bytes".as_slice()));
    }
}

#[tokio::test]
async fn a_folder_moves_to_a_bucket_resumably_and_a_bucket_that_does_not_answer_stops_the_server() {
    let db = TestDb::sqlite().await;
    let s = db.site("s").await;
    db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
    let app = TestApp::new(&db).await;
    for n in 0..5 {
        let r = app
            .send_json(
                "POST",
                "/s",
                AUTH,
                file_json(&format!("Avis {n}"), format!("avis {n}").as_bytes(), "a.txt", "text/plain", "file", "File"),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let data = tempfile::tempdir().unwrap();
    // Nothing answers there: one line, exit 1.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (code, _, err) = beffroi_stdin(
        data.path(),
        &["serve", "--listen", "127.0.0.1:0", "--blobs", "s3://nowhere", "--s3-endpoint", &format!("http://{closed}")],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("the blob store s3://nowhere does not answer"), "{err}");
    assert_eq!(err.trim().lines().filter(|l| l.starts_with("error")).count(), 1, "{err}");

    let Some(endpoint) = s3_endpoint() else { return };
    let bucket = new_bucket(&endpoint);
    let from = db.blobs_dir().display().to_string();
    let to = format!("s3://{bucket}/commune");
    // Some of it first, as an interrupted run would have left.
    let local = Blobs::local(&db.blobs_dir()).unwrap();
    let spool = tempfile::tempdir().unwrap();
    let bucket_blobs = Blobs::s3(&s3_options(&endpoint, &to), spool.path()).unwrap();
    let all = local.files().await.unwrap();
    local.copy_file(&all[0].key, &bucket_blobs).await.unwrap();
    let (code, out, err) = beffroi_stdin(
        data.path(),
        &[
            "blobs",
            "--s3-endpoint",
            &endpoint,
            "--s3-path-style",
            "--s3-access-key-id",
            "test",
            "--s3-secret-access-key",
            "test",
            "--s3-region",
            "us-east-1",
            "migrate",
            "--from",
            &from,
            "--to",
            &to,
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("Copied {} files", all.len() - 1)) && out.contains("1 already there"), "{out}");
    let there: Vec<_> = bucket_blobs.files().await.unwrap().into_iter().map(|f| (f.key, f.size)).collect();
    assert_eq!(there, all.iter().map(|f| (f.key.clone(), f.size)).collect::<Vec<_>>());
    // The site served from the bucket has its files.
    let moved = TestApp::with_services(served_with(&db, bucket_blobs)).await;
    let r = moved.get_with("/s/avis-3/@@download/file", &[("authorization", AUTH)]).await;
    assert_eq!((r.status.as_u16(), r.raw.as_slice()), (200, b"avis 3".as_slice()));
    db.cleanup().await;
}
