//! The anonymous page cache: what anonymous visitors read is answered from memory the
//! second time, never for anyone signed in, and never stale after an edit, a
//! publication, a retraction, a move or a delete, even while others keep reading;
//! bounded in memory and in time. Through the real router, on both backends.

use std::time::Duration;

use base64::Engine;
use beffroi_model::security::{Principal, Role};
use serde_json::json;

use crate::both_backends;
use crate::support::{TestApp, TestDb, obj, path};

const CACHE: &str = "x-beffroi-cache";

fn basic(login: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{login}:correct horse battery")))
}

async fn site(db: &TestDb) -> beffroi_service::SiteRow {
    let s = db.site("s").await;
    db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
    db.add(&s, "", "Folder", json!({"title": "Actualités"})).await;
    db.add(&s, "/actualites", "Document", json!({"title": "Marché de Noël"})).await;
    db.add(&s, "", "Folder", json!({"title": "Archives"})).await;
    s
}

both_backends! {
    async fn anonymous_pages_come_from_memory_and_nobody_else_s(db) {
        site(&db).await;
        let app = TestApp::new(&db).await;
        let first = app.get("/s/actualites/marche-de-noel").await;
        assert_eq!((first.status.as_u16(), first.header(CACHE)), (200, "miss"));
        let second = app.get("/s/actualites/marche-de-noel").await;
        assert_eq!((second.status.as_u16(), second.header(CACHE)), (200, "hit"));
        assert_eq!(second.body, first.body);
        assert_eq!(second.header("etag"), first.header("etag"));
        // JSON is another answer of the same address.
        assert_eq!(app.get_json("/s/actualites/marche-de-noel").await.header(CACHE), "miss");
        assert_eq!(app.get_json("/s/actualites/marche-de-noel").await.header(CACHE), "hit");
        // A client holding the page gets 304 from the cache.
        let r = app.get_with("/s/actualites/marche-de-noel", &[("if-none-match", first.header("etag"))]).await;
        assert_eq!((r.status.as_u16(), r.header(CACHE)), (304, "hit"));
        // Never for credentials or cookies, views or endpoints, nor a client asking
        // for a fresh answer.
        let max = basic("max");
        for headers in [
            vec![("authorization", max.as_str())],
            vec![("cookie", "beffroi_session=x")],
            vec![("cache-control", "no-cache")],
        ] {
            let r = app.get_with("/s/actualites/marche-de-noel", &headers).await;
            assert_eq!(r.header(CACHE), "", "{headers:?}");
        }
        let signed_in = app.get_with("/s/actualites/marche-de-noel", &[("authorization", &max)]).await.body;
        assert!(signed_in.contains("max"), "the signed-in page is their own");
        for uri in ["/s/@@search?SearchableText=noel", "/s/@@login", "/s/actualites/@@rss"] {
            app.get(uri).await;
            assert_eq!(app.get(uri).await.header(CACHE), "", "{uri}");
        }
    }

    async fn no_page_is_stale_after_a_change_even_while_others_read(db) {
        let s = site(&db).await;
        let app = std::sync::Arc::new(TestApp::new(&db).await);
        let sys = Principal::System;
        let services = db.services.clone();
        // Readers keep asking for the folder and the page all along.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut readers = Vec::new();
        for n in 0..2 {
            let (app, stop) = (app.clone(), stop.clone());
            readers.push(tokio::spawn(async move {
                let uris = ["/s/actualites", "/s/actualites/marche-de-noel", "/s/archives"];
                let mut i = n;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    app.get(uris[i % uris.len()]).await;
                    i += 1;
                    // Often, not all the time: the writer gets its turn.
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
            }));
        }
        // Edits: the next read shows each, in the page, its folder and the navigation.
        for round in 0..8 {
            let title = format!("Marché de Noël, édition {round}");
            services.update(&sys, &s, &path("/actualites/marche-de-noel"), &obj(json!({"title": title}))).await.unwrap();
            assert!(app.get("/s/actualites/marche-de-noel").await.body.contains(&title), "round {round}");
            assert!(app.get("/s/actualites").await.body.contains(&title), "listing, round {round}");
            let nav = format!("Actualités {round}");
            services.update(&sys, &s, &path("/actualites"), &obj(json!({"title": nav}))).await.unwrap();
            assert!(app.get("/s/archives").await.body.contains(&nav), "navigation, round {round}");
        }
        // Retracted: gone for anonymous at once; published again: back.
        services.transition(&sys, &s, &path("/actualites/marche-de-noel"), "retract", Default::default()).await.unwrap();
        let r = app.get("/s/actualites/marche-de-noel").await;
        assert_ne!(r.status, 200, "retracted");
        assert!(!app.get("/s/actualites").await.body.contains("Marché de Noël, édition"));
        services.transition(&sys, &s, &path("/actualites/marche-de-noel"), "publish", Default::default()).await.unwrap();
        assert_eq!(app.get("/s/actualites/marche-de-noel").await.status, 200);
        // Moved: the old address redirects, the new one answers, the listings follow.
        services.move_item(&sys, &s, &path("/actualites/marche-de-noel"), &path("/archives")).await.unwrap();
        assert_eq!(app.get("/s/actualites/marche-de-noel").await.status, 301);
        assert_eq!(app.get("/s/archives/marche-de-noel").await.status, 200);
        assert!(!app.get("/s/actualites").await.body.contains("Marché de Noël"));
        assert!(app.get("/s/archives").await.body.contains("Marché de Noël"));
        // Deleted: gone.
        services.delete(&sys, &s, &path("/archives/marche-de-noel")).await.unwrap();
        assert_eq!(app.get("/s/archives/marche-de-noel").await.status, 404);
        assert!(!app.get("/s/archives").await.body.contains("Marché de Noël"));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            r.await.unwrap();
        }
    }

    async fn the_cache_is_bounded_in_memory_and_in_time(db) {
        let s = site(&db).await;
        for n in 0..40 {
            db.add(&s, "/archives", "Document", json!({"title": format!("Avis {n}"), "description": "x".repeat(2000)})).await;
        }
        // Room for a few pages only: the first is pushed out by the others.
        let options = beffroi_web::WebOptions { page_cache_bytes: 200_000, ..Default::default() };
        let small = TestApp::with_options(db.services.clone(), options).await;
        small.get("/s/archives/avis-0").await;
        assert_eq!(small.get("/s/archives/avis-0").await.header(CACHE), "hit");
        for n in 1..40 {
            small.get(&format!("/s/archives/avis-{n}")).await;
        }
        assert_eq!(small.get("/s/archives/avis-0").await.header(CACHE), "miss", "pushed out");
        assert_eq!(small.get("/s/archives/avis-39").await.header(CACHE), "hit", "the latest stay");
        // A page lives at most its time to live.
        let options = beffroi_web::WebOptions { page_cache_ttl: Duration::from_millis(100), ..Default::default() };
        let brief = TestApp::with_options(db.services.clone(), options).await;
        brief.get("/s/archives").await;
        assert_eq!(brief.get("/s/archives").await.header(CACHE), "hit");
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(brief.get("/s/archives").await.header(CACHE), "miss");
        // Without a cache, nothing is said of it.
        let options = beffroi_web::WebOptions { page_cache_bytes: 0, ..Default::default() };
        let none = TestApp::with_options(db.services.clone(), options).await;
        none.get("/s/archives").await;
        assert_eq!(none.get("/s/archives").await.header(CACHE), "");
    }

    async fn changes_are_purged_from_the_configured_proxies(db) {
        // A proxy that notes the requests it gets: method, path, host.
        let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = proxy.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let noted = seen.clone();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            loop {
                let Ok((mut c, _)) = proxy.accept().await else { return };
                let noted = noted.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match c.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&head).into_owned();
                    let line = text.lines().next().unwrap_or_default().to_owned();
                    let host = text.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("host: ").map(str::to_owned)).unwrap_or_default();
                    let mut parts = line.split(' ');
                    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
                    noted.lock().unwrap().push(format!("{method} {target} {host}"));
                    let _ = c.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
                });
            }
        });
        let s = db.site_with_hosts("namur", &["www.namur.be"]).await;
        db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
        db.add(&s, "", "Folder", json!({"title": "Actualités"})).await;
        db.add(&s, "/actualites", "Document", json!({"title": "Marché de Noël"})).await;
        let options = beffroi_web::WebOptions {
            purge_urls: vec![format!("http://127.0.0.1:{port}").parse().unwrap()],
            ..Default::default()
        };
        let app = TestApp::with_options(db.services.clone(), options).await;
        let r = app.send_json("PATCH", "/namur/actualites/marche-de-noel", &basic("max"), json!({"title": "Marché de Noël 2026"})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let wanted = [
            format!("PURGE /namur/actualites/marche-de-noel 127.0.0.1:{port}"),
            format!("PURGE /namur/actualites 127.0.0.1:{port}"),
            format!("PURGE /namur 127.0.0.1:{port}"),
            "PURGE /actualites/marche-de-noel www.namur.be".to_owned(),
            "PURGE /actualites www.namur.be".to_owned(),
            "PURGE / www.namur.be".to_owned(),
        ];
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let got = seen.lock().unwrap().clone();
            if wanted.iter().all(|w| got.contains(w)) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "purges sent: {got:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // A move purges the old addresses too.
        seen.lock().unwrap().clear();
        db.add(&s, "", "Folder", json!({"title": "Archives"})).await;
        db.services.move_item(&Principal::System, &s, &path("/actualites/marche-de-noel"), &path("/archives")).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let got = seen.lock().unwrap().clone();
            if got.iter().any(|g| g.starts_with("PURGE /namur/archives/marche-de-noel "))
                && got.iter().any(|g| g.starts_with("PURGE /namur/actualites/marche-de-noel "))
            {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "purges sent after a move: {got:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
