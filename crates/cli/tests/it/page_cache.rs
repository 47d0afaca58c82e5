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
}
