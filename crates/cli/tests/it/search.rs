//! The catalog on both backends: relevance on a French and Dutch corpus, the security
//! filter and publication window, plone.restapi's @search and @querystring-search,
//! Collections, the HTML search page, hostile queries and reindexing.

use beffroi_model::security::{Principal, Role};
use beffroi_service::{CatalogQuery, SiteRow, with_text};
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{TestApp, TestDb, obj, path};

fn html(s: &str) -> Value {
    json!({"content-type": "text/html", "data": s})
}

/// A small corpus in two languages.
async fn corpus(db: &TestDb) -> SiteRow {
    let s = db.site("s").await;
    db.add(&s, "/", "Folder", json!({"title": "Enseignement"})).await;
    db.add(
        &s,
        "/enseignement",
        "Document",
        json!({
        "title": "L'école communale", "description": "Inscriptions pour la rentrée",
        "text": html("<p>Notre <strong>école</strong> accueille les enfants de 2 ans et demi à 12 ans.</p>"),
        "subjects": ["enseignement", "enfance"]}),
    )
    .await;
    db.add(
        &s,
        "/enseignement",
        "Document",
        json!({
        "title": "Repas chauds", "description": "Les menus du mois",
        "text": html("<p>Les repas sont servis dans toutes les écoles de l'entité.</p>"),
        "subjects": ["enfance"]}),
    )
    .await;
    db.add(
        &s,
        "/",
        "Document",
        json!({
        "title": "Gemeentelijke scholen", "language": "nl",
        "text": html("<p>Inschrijvingen voor de school beginnen in september.</p>")}),
    )
    .await;
    db.add(&s, "/", "Document", json!({
        "title": "Délibérations du conseil", "text": html("<p>Procès-verbaux des séances.</p>"), "subjects": ["conseil"]}))
    .await;
    db.add_private(&s, "/", "Document", json!({"title": "École : dossier confidentiel", "text": html("<p>école</p>")}))
        .await;
    s
}

fn titles(page: &beffroi_service::SearchPage) -> Vec<&str> {
    page.items.iter().map(|i| i.title.as_str()).collect()
}

async fn find(db: &TestDb, s: &SiteRow, who: &Principal, text: &str) -> Vec<String> {
    let mut q = with_text(CatalogQuery::default(), text);
    q.limit = 50;
    let page = db.services.search(who, s, q).await.expect("search");
    titles(&page).into_iter().map(str::to_owned).collect()
}

both_backends! {
    async fn many_searches_at_once_never_wait_for_each_other_s_connections(db) {
        // Each search with words may use a second connection for its count: taken only
        // when free, never waited for while holding the first, else searches holding
        // every connection of the pool would each wait for a second until the pool's
        // timeout (5 s) and fail.
        let s = corpus(&db).await;
        let start = std::time::Instant::now();
        let searches: Vec<_> = (0..48)
            .map(|_| {
                let (services, s) = (db.services.clone(), s.clone());
                tokio::spawn(async move {
                    let mut q = with_text(CatalogQuery::default(), "école");
                    q.limit = 10;
                    services.search(&Principal::System, &s, q).await
                })
            })
            .collect();
        for search in searches {
            let page = search.await.unwrap().expect("no search fails");
            assert!(page.total > 0);
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(4), "{:?}", start.elapsed());
    }

    async fn relevance_on_a_french_and_dutch_corpus(db) {
        let s = corpus(&db).await;
        let anon = Principal::Anonymous;
        // Accents and plurals: "ecoles", "écoles" and "école" find the same items.
        let a = find(&db, &s, &anon, "ecoles").await;
        assert_eq!(a, find(&db, &s, &anon, "écoles").await);
        assert_eq!(a, find(&db, &s, &anon, "École").await);
        assert!(a.contains(&"L'école communale".to_owned()) && a.contains(&"Repas chauds".to_owned()), "{a:?}");
        // The title match ranks above the body match.
        assert_eq!(a[0], "L'école communale", "{a:?}");
        // Never a private item for anonymous visitors; the system sees it.
        assert!(!a.iter().any(|t| t.contains("confidentiel")));
        assert!(find(&db, &s, &Principal::System, "ecole").await.iter().any(|t| t.contains("confidentiel")));
        // Dutch: a plural and its singular meet.
        assert_eq!(find(&db, &s, &anon, "school").await, ["Gemeentelijke scholen"]);
        assert_eq!(find(&db, &s, &anon, "scholen").await, ["Gemeentelijke scholen"]);
        // Without accents, with other endings.
        assert_eq!(find(&db, &s, &anon, "deliberation").await, ["Délibérations du conseil"]);
        // Two words: both must be there.
        assert_eq!(find(&db, &s, &anon, "repas écoles").await, ["Repas chauds"]);
        assert!(find(&db, &s, &anon, "repas scholen").await.is_empty());
        // Subjects and descriptions count.
        assert!(find(&db, &s, &anon, "enfance").await.len() == 2);
        assert_eq!(find(&db, &s, &anon, "menus").await, ["Repas chauds"]);
    }

    async fn pages_of_ranked_results_hold_each_match_once(db) {
        let s = db.site("s").await;
        // 23 visible matches (5 with the word in their title), 4 private ones, 10 others.
        for i in 0..23 {
            let title = if i % 5 == 0 { format!("Budget {i}") } else { format!("Page {i}") };
            let body = format!("<p>{}</p>", "Le budget communal. ".repeat(1 + i % 4));
            db.add(&s, "/", "Document", json!({"title": title, "text": html(&body)})).await;
        }
        for i in 0..4 {
            db.add_private(&s, "/", "Document", json!({"title": format!("Budget secret {i}")})).await;
        }
        for i in 0..10 {
            db.add(&s, "/", "Document", json!({"title": format!("Autre {i}"), "text": html("<p>Rien.</p>")})).await;
        }
        let anon = Principal::Anonymous;
        let page = |offset: i64, descending: bool| {
            let mut q = with_text(CatalogQuery::default(), "budget");
            q.limit = 7;
            q.offset = offset;
            q.descending = descending;
            let (services, s) = (&db.services, &s);
            async move { services.search(&Principal::Anonymous, s, q).await.expect("search") }
        };
        let mut seen = Vec::new();
        for offset in (0..28).step_by(7) {
            let p = page(offset, false).await;
            assert_eq!(p.total, 23, "at {offset}");
            seen.extend(titles(&p).into_iter().map(str::to_owned));
        }
        assert_eq!(seen.len(), 23, "{seen:?}");
        let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), 23, "{seen:?}");
        assert!(seen.iter().all(|t| !t.contains("secret")));
        // Title matches first; reversed, they come last.
        assert!(seen[..5].iter().all(|t| t.starts_with("Budget")), "{seen:?}");
        let last = page(21, true).await;
        assert_eq!(last.total, 23);
        assert!(titles(&last).iter().all(|t| t.starts_with("Budget")), "{:?}", titles(&last));
        assert!(find(&db, &s, &anon, "budget").await.len() == 23);
    }

    async fn totals_count_what_each_visitor_may_see(db) {
        // A total of words alone counts the items everyone may see inside the full-text
        // index (SQLite) and the others one by one: it must match the results listed,
        // whoever asks and whatever made an item visible or not.
        let s = db.site("s").await;
        let other = db.site("autre").await;
        let sys = Principal::System;
        db.user(&s, "marie", "marie password", "", &[Role::Member]).await;
        let body = |n: usize| html(&format!("<p>{}</p>", "Le vélo en ville. ".repeat(n)));
        for i in 0..3 {
            db.add(&s, "/", "Document", json!({"title": format!("Public {i}"), "text": body(1 + i)})).await;
            db.add(&other, "/", "Document", json!({"title": format!("Ailleurs {i}"), "text": body(1)})).await;
        }
        db.add_private(&s, "/", "Document", json!({"title": "Brouillon", "text": body(1)})).await;
        db.add_private(&s, "/", "Document", json!({"title": "Partagé", "text": body(1)})).await;
        db.add(&s, "/", "Document", json!({"title": "Futur", "effective": "2099-01-01T00:00:00+00:00", "text": body(1)})).await;
        db.add(&s, "/", "Document", json!({"title": "Expiré", "expires": "2000-01-01T00:00:00+00:00", "text": body(1)})).await;
        db.add(&s, "/", "Document", json!({"title": "Retiré", "text": body(1)})).await;
        db.add(&s, "/", "Document", json!({"title": "Expirera", "text": body(1)})).await;
        db.add(&s, "/", "Document", json!({"title": "Rien", "text": html("<p>Autre chose.</p>")})).await;
        // Visibility changed after indexing: retracted, shared, given a future expiry.
        db.services.transition(&sys, &s, &path("/retire"), "retract", beffroi_service::TransitionRequest::default()).await.unwrap();
        let share = beffroi_service::SharingChange {
            entries: vec![(beffroi_model::security::Grantee::User("marie".into()), vec![(Role::Reader, true)])],
            inherit: None,
        };
        db.services.update_sharing(&sys, &s, &path("/partage"), share).await.unwrap();
        db.services.update(&sys, &s, &path("/expirera"), &obj(json!({"expires": "2098-01-01T00:00:00+00:00"}))).await.unwrap();
        let marie = db.services.principal(&s, "marie").await.unwrap().unwrap();
        let who = [
            (Principal::Anonymous, 4),
            (Principal::user("paul", &[Role::Member]), 4),
            (marie, 5),
            (Principal::user("ed", &[Role::Editor]), 9),
            (sys.clone(), 9),
        ];
        for (p, expected) in &who {
            for words in ["vélo", "vélo ville", "VILLE Vélo"] {
                let mut q = with_text(CatalogQuery::default(), words);
                q.limit = 50;
                let page = db.services.search(p, &s, q).await.unwrap();
                assert_eq!(page.total, page.items.len() as i64, "{p:?} {words}: {:?}", titles(&page));
                assert_eq!(page.total, *expected, "{p:?} {words}: {:?}", titles(&page));
                // A filter besides the words takes the other way to count: the same total.
                let mut q = with_text(CatalogQuery::default(), words);
                q.types = vec!["Document".into()];
                assert_eq!(db.services.search(p, &s, q).await.unwrap().total, *expected, "{p:?} {words}");
            }
        }
        let anon = find(&db, &s, &Principal::Anonymous, "vélo").await;
        assert!(anon.iter().all(|t| t.starts_with("Public") || t == "Expirera"), "{anon:?}");
        // Published again, an item counts again; after a full reindex, the same totals.
        db.services.transition(&sys, &s, &path("/retire"), "publish", beffroi_service::TransitionRequest::default()).await.unwrap();
        assert_eq!(find(&db, &s, &Principal::Anonymous, "vélo").await.len(), 5);
        db.services.reindex(None, |_, _| {}).await.unwrap();
        let mut q = with_text(CatalogQuery::default(), "vélo");
        q.limit = 2;
        assert_eq!(db.services.search(&Principal::Anonymous, &s, q).await.unwrap().total, 5);
        // Entries the reindex wrote, then retracted or shared with fewer people.
        db.services.transition(&sys, &s, &path("/public-0"), "retract", beffroi_service::TransitionRequest::default()).await.unwrap();
        let page = db.services.search(&Principal::Anonymous, &s, with_text(CatalogQuery { limit: 50, ..Default::default() }, "vélo")).await.unwrap();
        assert_eq!((page.total, page.items.len()), (4, 4), "{:?}", titles(&page));
        db.services.update(&sys, &s, &path("/public-1"), &obj(json!({"effective": "2099-01-01T00:00:00+00:00"}))).await.unwrap();
        let page = db.services.search(&Principal::Anonymous, &s, with_text(CatalogQuery { limit: 50, ..Default::default() }, "vélo")).await.unwrap();
        assert_eq!((page.total, page.items.len()), (3, 3), "{:?}", titles(&page));
    }

    async fn words_in_the_title_or_description_rank_first(db) {
        let s = db.site("s").await;
        let anon = Principal::Anonymous;
        let body = |n: usize| html(&format!("<p>{}</p>", "Le marché hebdomadaire. ".repeat(n)));
        // Bodies that say "marché" many times, leads that say it once.
        for i in 0..6 {
            db.add(&s, "/", "Document", json!({"title": format!("Chronique {i}"), "text": body(20)})).await;
        }
        let long = html(&format!("<p>{}</p>", "Ouvert de huit heures à midi sur la place. ".repeat(40)));
        db.add(&s, "/", "Document", json!({"title": "Horaires", "description": "Le marché du samedi", "text": long})).await;
        db.add(&s, "/", "Document", json!({"title": "Le marché", "text": html("<p>Place communale.</p>")})).await;
        db.add(&s, "/", "Document", json!({"title": "Marché de Noël", "description": "Le marché d'hiver"})).await;
        let all = find(&db, &s, &anon, "marchés").await;
        assert_eq!(all.len(), 9, "{all:?}");
        let leads: std::collections::BTreeSet<&str> = all[..3].iter().map(String::as_str).collect();
        assert_eq!(leads, ["Horaires", "Le marché", "Marché de Noël"].into(), "{all:?}");
        // Page by page, one at a time, across the boundary of the two parts: the same
        // order, each result once.
        let mut seen = Vec::new();
        for offset in 0..10 {
            let mut q = with_text(CatalogQuery::default(), "marché");
            q.limit = 1;
            q.offset = offset;
            let page = db.services.search(&anon, &s, q).await.unwrap();
            assert_eq!(page.total, 9);
            seen.extend(titles(&page).into_iter().map(str::to_owned));
        }
        assert_eq!(seen, all);
        for (offset, limit) in [(2, 3), (3, 3), (1, 8), (0, 2)] {
            let mut q = with_text(CatalogQuery::default(), "marché");
            q.limit = limit;
            q.offset = offset;
            let page = db.services.search(&anon, &s, q).await.unwrap();
            let end = (offset + limit).min(9) as usize;
            assert_eq!(titles(&page), all[offset as usize..end], "{offset}+{limit}");
        }
    }

    async fn hostile_queries_never_error_nor_inject(db) {
        let s = corpus(&db).await;
        let anon = Principal::Anonymous;
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        // Operators and quotes are plain text around the words: a hostile string that
        // holds a real word finds the pages holding it, as the word alone does (a
        // search that found nothing at all would fail here), and never the private one.
        let ecole = sorted(find(&db, &s, &anon, "école").await);
        assert_eq!(ecole, ["L'école communale", "Repas chauds"]);
        for q in ["école\"", "(école", "école)", "école*", "-école", "^école", "{école}", "école\u{0}", "\"école\"", "école;--"] {
            let r = find(&db, &s, &anon, q).await;
            assert_eq!(sorted(r), ecole, "{q}");
        }
        assert_eq!(find(&db, &s, &anon, "\"école\" (repas").await, ["Repas chauds"]);
        assert_eq!(find(&db, &s, &anon, "NEAR(école repas)").await, find(&db, &s, &anon, "near école repas").await);
        // Words the operators would have been, AND-ed with the others: nothing holds them.
        for q in ["* OR 1=1", "école AND", "école NOT repas", "'; drop table items; --", "NEAR(école repas)"] {
            assert!(find(&db, &s, &anon, q).await.is_empty(), "{q}");
        }
        // "title:école" is two plain words, not a column filter: no item has "title".
        assert!(find(&db, &s, &anon, "title:école").await.is_empty());
        // No word at all: everything the visitor may see, as an empty query.
        let everything = sorted(find(&db, &s, &anon, "").await);
        assert_eq!(everything.len(), 6, "{everything:?}");
        for q in ["\"", "\u{0}", "{}", "*"] {
            let r = sorted(find(&db, &s, &anon, q).await);
            assert_eq!(r, everything, "{q}");
        }
        assert!(!everything.iter().any(|t| t.contains("confidentiel")));
        let long = "école ".repeat(5000);
        assert_eq!(sorted(find(&db, &s, &anon, &long).await), ecole);
        // The injection attempt left the tables as they were.
        assert_eq!(find(&db, &s, &anon, "repas").await, ["Repas chauds"]);
        assert_eq!(find(&db, &s, &Principal::System, "confidentiel").await, ["École : dossier confidentiel"]);
    }

    async fn the_catalog_follows_writes_in_their_transaction(db) {
        let s = corpus(&db).await;
        let sys = Principal::System;
        let anon = Principal::Anonymous;
        db.services.update(&sys, &s, &path("/deliberations-du-conseil"), &obj(json!({"title": "Séances du conseil communal"}))).await.unwrap();
        assert!(find(&db, &s, &anon, "délibérations").await.is_empty(), "the old title is no longer indexed");
        assert_eq!(find(&db, &s, &anon, "séances").await, ["Séances du conseil communal"]);
        db.services.delete(&sys, &s, &path("/enseignement")).await.unwrap();
        assert!(find(&db, &s, &anon, "repas").await.is_empty());
        // A refused write leaves nothing in the catalog.
        let bad = db.services.create(&sys, &s, &path("/"), "Event", None, &obj(json!({"title": "Fête unique", "start": "2030-01-02T10:00", "end": "2030-01-01T10:00"}))).await;
        assert!(bad.is_err());
        assert!(find(&db, &s, &sys, "fête").await.is_empty());
        // Publication window: not yet effective or expired items are hidden from visitors, not from editors.
        db.add(&s, "/", "Document", json!({"title": "Annonce future", "effective": "2099-01-01T00:00:00+00:00"})).await;
        db.add(&s, "/", "Document", json!({"title": "Annonce expirée", "expires": "2000-01-01T00:00:00+00:00"})).await;
        assert!(find(&db, &s, &anon, "annonce").await.is_empty());
        let editor = Principal::user("ed", &[Role::Editor]);
        assert_eq!(find(&db, &s, &editor, "annonce").await.len(), 2);
        // Reindexing rebuilds the same answers.
        let n = db.services.reindex(None, |_, _| {}).await.unwrap();
        assert!(n >= 4, "{n}");
        assert_eq!(find(&db, &s, &anon, "séances").await, ["Séances du conseil communal"]);
    }

    async fn reindexing_never_writes_an_entry_older_than_its_item(db) {
        let s = db.site("s").await;
        let sys = Principal::System;
        for i in 0..1200 {
            db.services.create(&sys, &s, &path("/"), "Document", None, &obj(json!({"title": format!("Page {i}")}))).await.unwrap();
        }
        let last = path("/page-1199");
        // Titles change while the reindex reads and writes its batches.
        let edits = async {
            for round in 0..30 {
                db.services.update(&sys, &s, &last, &obj(json!({"title": format!("Tour{round} final")}))).await.unwrap();
                tokio::task::yield_now().await;
            }
        };
        let mut seen = Vec::new();
        let (n, ()) = tokio::join!(db.services.reindex(Some(&s), |done, total| seen.push((done, total))), edits);
        assert_eq!(n.unwrap(), 1201);
        // Every batch once (PostgreSQL writes two at a time), counted as it ends.
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
        assert_eq!(seen.last(), Some(&(1201, 1201)));
        assert_eq!(find(&db, &s, &sys, "tour29").await, ["Tour29 final"]);
        for round in 0..29 {
            assert!(find(&db, &s, &sys, &format!("tour{round}")).await.is_empty(), "round {round}");
        }
    }

    async fn search_endpoints_speak_plone_restapi(db) {
        let s = corpus(&db).await;
        db.user(&s, "ed", "editor password", "", &[Role::SiteAdministrator]).await;
        db.add(&s, "/", "Event", json!({"title": "Fête de l'école", "start": "2030-06-20T14:00:00+00:00", "end": "2030-06-20T18:00:00+00:00", "location": "Préau"})).await;
        let app = TestApp::new(&db).await;
        let r = app.get_json("/s/@search?SearchableText=%C3%A9cole").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        assert_eq!(v["@id"], "http://localhost/s/@search?SearchableText=%C3%A9cole");
        let t: Vec<&str> = v["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
        assert_eq!(t.last(), Some(&"Repas chauds"), "a body match after the title matches: {t:?}");
        let first = &v["items"].as_array().unwrap().iter().find(|i| i["title"] == "L'école communale").unwrap();
        assert_eq!(first["@type"], "Document");
        assert_eq!(first["type_title"], "Page");
        assert!(first.get("created").is_none());
        let total = v["items_total"].as_i64().unwrap();
        assert!(total >= 3, "{v}");
        // Zope's :list encoding, types, paths with depth, metadata, sorting, batches.
        let v = app.get_json("/s/@search?portal_type:list=Document&portal_type:list=Folder&path.query=/s/enseignement&path.depth=1&sort_on=sortable_title&metadata_fields=Subject&metadata_fields=created").await.json();
        let t: Vec<&str> = v["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
        assert_eq!(t, ["L'école communale", "Repas chauds"]);
        assert_eq!(v["items"][0]["Subject"], json!(["enseignement", "enfance"]));
        assert!(v["items"][0]["created"].is_string());
        let v = app.get_json("/s/@search?sort_on=sortable_title&sort_order=descending&b_size=2").await.json();
        assert_eq!(v["items"].as_array().unwrap().len(), 2);
        assert!(v["batching"]["next"].as_str().unwrap().contains("b_start=2"));
        let v = app.get_json("/s/enseignement/@search?Subject=enfance").await.json();
        assert_eq!(v["items_total"], 2);
        let v = app.get_json("/s/@search?start.query=2030-06-01&start.range=min&metadata_fields=start&metadata_fields=end&metadata_fields=location&metadata_fields=getRemoteUrl").await.json();
        assert_eq!(v["items_total"], 1);
        assert_eq!(v["items"][0]["title"], "Fête de l'école");
        let columns = ["start", "end", "location", "getRemoteUrl"].map(|c| v["items"][0][c].clone());
        assert_eq!(columns, [json!("2030-06-20T14:00:00+00:00"), json!("2030-06-20T18:00:00+00:00"), json!("Préau"), Value::Null], "{v}");
        let v = app.get_json("/s/@search?SearchableText=repas&fullobjects=1").await.json();
        assert_eq!(v["items"][0]["text"]["data"], "<p>Les repas sont servis dans toutes les écoles de l'entité.</p>");
        // Thousands of values of one parameter: answered, not a database error.
        let many: String = (0..3000).map(|i| format!("portal_type=T{i}&")).collect();
        let r = app.get_json(&format!("/s/@search?{many}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!((r.json()["items_total"].as_i64(), r.json()["items"].as_array().map(Vec::len)), (Some(0), Some(0)), "no such type");
        // Only the first 100 values of a parameter count.
        let r = app.get_json(&format!("/s/@search?portal_type=Event&{many}")).await;
        assert_eq!(r.json()["items_total"], 1, "the first of the values is a real type");
        for bad in ["/s/@search?sort_on=nope", "/s/@search?b_size=x", "/s/@search?created.query=hier", "/s/@search?path.query=/../x", "/s/@search?UID=zz"] {
            let r = app.get_json(bad).await;
            assert_eq!(r.status, 400, "{bad}: {}", r.body);
        }
        // Anonymous: never the private item, by any query.
        let v = app.get_json("/s/@search?SearchableText=confidentiel").await.json();
        assert_eq!(v["items_total"], 0);
        let auth = format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "ed:editor password"));
        let v = app.get_with("/s/@search?SearchableText=confidentiel", &[("accept", "application/json"), ("authorization", &auth)]).await.json();
        assert_eq!(v["items_total"], 1);

        // Extreme numbers are bounded, never an overflow.
        let r = app.get_json("/s/enseignement/@search?path.depth=9223372036854775807").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["items_total"], 2, "everything below the folder: {}", r.body);
        let r = app.request(axum::http::Request::post("/s/@querystring-search").header("host", "localhost").header("accept", "application/json")
            .header("authorization", &auth).body(axum::body::Body::from(json!({"query": [], "b_start": i64::MAX, "b_size": 1}).to_string())).unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        // Past the end: no item, and the total of everything the editor sees (the
        // private page and the event included).
        assert_eq!((r.json()["items_total"].as_i64(), r.json()["items"].as_array().map(Vec::len)), (Some(8), Some(0)), "{}", r.body);
        let far = json!({"query": [{"i": "modified", "o": "plone.app.querystring.operation.date.lessThanRelativeDate", "v": "99999999999"}]});
        let r = app.request(axum::http::Request::post("/s/@querystring-search").header("host", "localhost").header("accept", "application/json")
            .header("authorization", &auth).body(axum::body::Body::from(far.to_string())).unwrap()).await;
        assert_eq!(r.status, 400, "{}", r.body);
        // @querystring-search, POST and GET.
        let body = json!({"query": [{"i": "portal_type", "o": "plone.app.querystring.operation.selection.any", "v": ["Document"]},
                                     {"i": "path", "o": "plone.app.querystring.operation.string.absolutePath", "v": "/s/enseignement"}],
                          "sort_on": "sortable_title", "sort_order": "descending"});
        let r = app.request(axum::http::Request::post("/s/@querystring-search").header("host", "localhost").header("accept", "application/json")
            .header("content-type", "application/json").header("authorization", &auth).body(axum::body::Body::from(body.to_string())).unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let t: Vec<String> = r.json()["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_owned()).collect();
        assert_eq!(t, ["Repas chauds", "L'école communale"]);
        let q = serde_urlencoded::to_string([("query", json!({"query": [{"i": "SearchableText", "o": "plone.app.querystring.operation.string.contains", "v": "scholen"}]}).to_string())]).unwrap();
        let v = app.get_json(&format!("/s/@querystring-search?{q}")).await.json();
        assert_eq!(v["items"][0]["title"], "Gemeentelijke scholen");
        // 50 criteria of 1,000 values each (more than SQLite binds): answered, not a 500.
        let huge: Vec<Value> = (0..50).map(|c| json!({"i": "Subject", "o": "plone.app.querystring.operation.selection.any", "v": (0..1000).map(|i| format!("s{c}-{i}")).collect::<Vec<_>>()})).collect();
        let r = app.request(axum::http::Request::post("/s/@querystring-search").header("host", "localhost").header("accept", "application/json")
            .header("authorization", &auth).body(axum::body::Body::from(json!({"query": huge}).to_string())).unwrap()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!((r.json()["items_total"].as_i64(), r.json()["items"].as_array().map(Vec::len)), (Some(0), Some(0)), "no such subject: {}", r.body);
        let bad = json!({"query": [{"i": "portal_type", "o": "plone.app.querystring.operation.nope", "v": "x"}]});
        let r = app.request(axum::http::Request::post("/s/@querystring-search").header("host", "localhost").header("accept", "application/json")
            .header("authorization", &auth).body(axum::body::Body::from(bad.to_string())).unwrap()).await;
        assert_eq!(r.status, 400);
        // A Link's address as plone.restapi's getRemoteUrl, with every column in `_all`.
        db.add(&s, "/", "Link", json!({"title": "Portail régional", "remoteUrl": "https://example.org/portail"})).await;
        let v = app.get_json("/s/@search?portal_type=Link&metadata_fields=_all").await.json();
        assert_eq!(v["items"][0]["getRemoteUrl"], "https://example.org/portail", "{v}");
        for column in ["start", "end", "location", "UID", "Subject", "Language", "getObjPositionInParent"] {
            assert!(v["items"][0].get(column).is_some(), "{column} in {v}");
        }
    }

    async fn collections_list_their_query(db) {
        let s = corpus(&db).await;
        db.add(&s, "/", "Collection", json!({"title": "Tout sur l'enfance",
            "query": [{"i": "Subject", "o": "plone.app.querystring.operation.selection.any", "v": ["enfance"]}],
            "sort_on": "sortable_title", "sort_reversed": true})).await;
        let app = TestApp::new(&db).await;
        let v = app.get_json("/s/tout-sur-l-enfance").await.json();
        assert_eq!(v["items_total"], 2);
        assert_eq!(v["items"][0]["title"], "Repas chauds");
        let page = app.get("/s/tout-sur-l-enfance").await;
        assert!(page.body.contains(">Repas chauds</a>") && page.body.contains("école communale</a>"), "{}", page.body);
        let r = db.services.update(&Principal::System, &s, &path("/tout-sur-l-enfance"), &obj(json!({"limit": 1}))).await;
        assert!(r.is_ok());
        assert_eq!(app.get_json("/s/tout-sur-l-enfance").await.json()["items_total"], 1);
        // Its page shows as many items as it says (its JSON, plone.restapi's batch).
        let r = db.services.update(&Principal::System, &s, &path("/tout-sur-l-enfance"), &obj(json!({"limit": null, "item_count": 1}))).await;
        assert!(r.is_ok());
        let page = app.get("/s/tout-sur-l-enfance").await.body;
        let listed = page.split("<ul class=\"items\">").nth(1).and_then(|l| l.split("</ul>").next()).unwrap_or_default();
        assert!(listed.contains(">Repas chauds</a>") && !listed.contains("école communale"), "{page}");
        assert_eq!(app.get_json("/s/tout-sur-l-enfance").await.json()["items"].as_array().map(Vec::len), Some(2));
        // A path given by its folder's UID, as Plone's path widget stores it; a folder
        // that is gone holds nothing.
        let folder = db.services.item(&Principal::System, &s, &path("/enseignement")).await.unwrap().item.uuid;
        for (uid, depth, total) in [(folder.simple().to_string(), "::1", 2), (folder.to_string(), "", 3), ("0f0e0d0c0b0a09080706050403020100".to_owned(), "", 0)] {
            let criteria = json!({"query": [{"i": "path", "o": "plone.app.querystring.operation.string.absolutePath", "v": format!("{uid}{depth}")}]});
            let r = app.request(axum::http::Request::post("/s/@querystring-search").header("accept", "application/json")
                .header("content-type", "application/json").body(axum::body::Body::from(criteria.to_string())).unwrap()).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.json()["items_total"], total, "{uid}: {}", r.body);
        }
    }

    async fn the_search_page_works_without_javascript(db) {
        let s = corpus(&db).await;
        let _ = s;
        let app = TestApp::new(&db).await;
        let home = app.get("/s").await;
        assert!(home.body.contains("role=\"search\""));
        let r = app.get("/s/@@search?SearchableText=ecoles").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("<mark>école</mark>") || r.body.contains("<mark>écoles</mark>"), "{}", r.body);
        assert!(r.body.contains("2 résultats"), "{}", r.body);
        assert!(!r.body.contains("confidentiel"));
        // Facets with counts, and following one narrows the results.
        assert!(r.body.contains("Page <span class=\"count\">(2)</span>"), "{}", r.body);
        assert!(r.body.contains("enfance <span class=\"count\">(2)</span>"), "{}", r.body);
        assert!(r.body.contains("un jour <span class=\"count\">(2)</span>"), "{}", r.body);
        // The type facet leaves out the query's own types; the dates keep them.
        let r = app.get("/s/@@search?SearchableText=ecoles&portal_type=Folder").await;
        assert!(r.body.contains("Page <span class=\"count\">(2)</span>"), "{}", r.body);
        assert!(r.body.contains("un an <span class=\"count\">(0)</span>"), "{}", r.body);
        let r = app.get("/s/@@search?SearchableText=ecoles&modified=week&Subject=enseignement").await;
        assert!(r.body.contains("Page <span class=\"count\">(1)</span>"), "{}", r.body);
        assert!(r.body.contains("un jour <span class=\"count\">(1)</span>"), "{}", r.body);
        let r = app.get("/s/@@search?SearchableText=ecoles&Subject=enseignement").await;
        assert!(r.body.contains("1 résultat"), "{}", r.body);
        assert!(r.body.contains("aria-current=\"true\">enseignement"));
        let r = app.get("/s/@@search?SearchableText=%22%28NEAR*").await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("Aucun résultat"));
        let r = app.get("/s/@@search?SearchableText=ecoles&sort_on=date").await;
        assert!(r.body.contains("<strong aria-current=\"true\">date</strong>"));
    }
}
