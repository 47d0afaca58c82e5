//! `beffroi import plone`: the real binary imports the real Plone 6.2 export of
//! `shared/fixtures/plone-export` into a test database, on SQLite and PostgreSQL; what
//! came across is checked through the services and the HTTP router.

use std::path::{Path, PathBuf};
use std::process::Command;

use beffroi_model::Language;
use beffroi_model::security::{Permission, Principal};
use beffroi_service::{Found, SiteRow};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{TestApp, TestDb, path};

/// The Plone export made by Plone itself (see its ABOUT.md).
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/plone-export")
}

/// Runs the binary with `args` on the test database (its files in the test's blob
/// folder); returns the exit code, standard output and standard error.
fn beffroi(db: &TestDb, args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_beffroi"))
        .args(args)
        .arg("--database")
        .arg(&db.url)
        .arg("--blobs")
        .arg(db.blobs_dir())
        .arg("--data")
        .arg(data.path())
        .env_remove("BEFFROI_DATABASE_URL")
        .output()
        .expect("run beffroi");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `beffroi import plone DIR --site s ARGS…` on the test database.
fn import(db: &TestDb, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all: Vec<&std::ffi::OsStr> =
        vec!["import".as_ref(), "plone".as_ref(), dir.as_os_str(), "--site".as_ref(), "s".as_ref()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    beffroi(db, &all)
}

/// Imports the fixture into a new site `s`; fails the test when the command fails.
async fn import_fixture(db: &TestDb) -> (SiteRow, String) {
    let (code, out, err) = import(db, &fixture(), &["--create", "--title", "Commune de test"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let site = db.services.site(&beffroi_model::SiteId::parse("s").unwrap()).await.unwrap().expect("site s");
    ((*site).clone(), out)
}

/// The fixture's items: (path, UID, type, created) from their data.json files.
fn fixture_items() -> Vec<(String, String, String, String)> {
    let meta: Value =
        serde_json::from_slice(&std::fs::read(fixture().join("content/__metadata__.json")).unwrap()).unwrap();
    meta["_data_files_"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let v: Value =
                serde_json::from_slice(&std::fs::read(fixture().join("content").join(f.as_str().unwrap())).unwrap())
                    .unwrap();
            (
                v["@id"].as_str().unwrap().to_owned(),
                v["UID"].as_str().unwrap().to_owned(),
                v["@type"].as_str().unwrap().to_owned(),
                v["created"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A copy of the fixture that a test may change (the fixture's files are read-only).
fn fixture_copy() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::write(to.join(e.file_name()), std::fs::read(e.path()).unwrap()).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&fixture(), dir.path());
    dir
}

fn edit_json(file: &Path, change: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    change(&mut v);
    std::fs::write(file, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

async fn principal(db: &TestDb, site: &SiteRow, login: &str) -> Principal {
    db.services.principal(site, login).await.unwrap().unwrap_or_else(|| panic!("user {login}"))
}

async fn visible(db: &TestDb, p: &Principal, site: &SiteRow, at: &str) -> bool {
    matches!(db.services.get(p, site, &path(at)).await, Ok(Found::Item(_)))
}

/// Everything an import writes, to compare two states of a site.
async fn dump(db: &TestDb, site: &SiteRow) -> Value {
    let mut c = db.store.conn().await.unwrap();
    let scope = site.scope();
    let items = c.db().subtree(&scope, &path("/")).await.unwrap();
    let mut out = Vec::new();
    for it in items {
        let history = c.db().history(&scope, it.uuid).await.unwrap();
        let revisions = c.db().revisions(&scope, it.uuid).await.unwrap();
        let viewers = c.db().viewers(it.uuid).await.unwrap();
        out.push(json!({
            "item": format!("{it:?}"),
            "history": format!("{history:?}"),
            "revisions": format!("{revisions:?}"),
            "viewers": viewers,
        }));
    }
    let users: Vec<String> =
        c.db().list_users(&scope).await.unwrap().iter().map(|u| format!("{} {:?}", u.login, u.roles)).collect();
    let groups: Vec<String> = c.db().list_groups(&scope).await.unwrap().iter().map(|g| format!("{g:?}")).collect();
    json!({"items": out, "users": users, "groups": groups})
}

/// Runs `beffroi export plone --site SITE DIR` on the test database.
fn export(db: &TestDb, dir: &Path, site: &str) -> (i32, String, String) {
    beffroi(db, &["export".as_ref(), "plone".as_ref(), "--site".as_ref(), site.as_ref(), dir.as_os_str()])
}

/// A second, empty database on the same backend as `db`: UIDs are unique across the
/// sites of one database, so a site's export comes back whole only into another one
/// (as when a commune moves to a new server).
async fn another_database(db: &TestDb) -> TestDb {
    if db.url.starts_with("postgres") { TestDb::postgres().await.expect("PostgreSQL") } else { TestDb::sqlite().await }
}

/// The bytes of a stored file.
async fn blob_bytes(db: &TestDb, file: &beffroi_model::media::StoredFile) -> Vec<u8> {
    db.services.read_blob(file, None).await.unwrap().body.map(|c| c.unwrap()).collect::<Vec<_>>().await.concat()
}

both_backends! {
    async fn every_item_comes_across_at_its_path_with_its_uid(db) {
        let (site, out) = import_fixture(&db).await;
        assert!(out.contains("17 items imported"), "{out}");
        assert!(out.contains("skipped: 0"), "{out}");
        assert!(out.contains("users: 3 created"), "{out}");
        assert!(out.contains("relations that are links in rich text: 3"), "{out}");
        assert!(!out.contains("not imported yet: relations.json"), "{out}");
        for (p, uid, type_name, created) in fixture_items() {
            let Ok(Found::Item(v)) = db.services.get(&Principal::System, &site, &path(&p)).await else {
                panic!("{p} is missing")
            };
            assert_eq!(v.item.uuid.simple().to_string(), uid, "{p}");
            assert_eq!(v.item.type_name, type_name, "{p}");
            assert_eq!(v.item.creator, "admin", "{p}");
            assert_eq!(v.item.created.to_rfc3339(), created, "{p}: created as in Plone");
        }
        let services = db.services.item(&Principal::System, &site, &path("/migration/services")).await.unwrap();
        let horaires = db.services.item(&Principal::System, &site, &path("/migration/services/horaires")).await.unwrap();
        assert_eq!(services.item.fields["default_page"], horaires.item.uuid.simple().to_string(), "the default page");
        let welkom = db.services.item(&Principal::System, &site, &path("/migration/welkom")).await.unwrap();
        assert_eq!(welkom.item.language, Language::Nl, "the Dutch page is in Dutch");
        assert_eq!(horaires.item.language, Language::Fr, "the others are in the site's language");
        let text = horaires.item.fields["text"]["data"].as_str().unwrap();
        assert!(text.contains("mardi jusqu'à 19 h"), "{text}");
        let event = db.services.item(&Principal::System, &site, &path("/migration/agenda/conseil-communal")).await.unwrap();
        assert_eq!(event.item.fields["recurrence"], "RRULE:FREQ=MONTHLY;BYDAY=1MO;COUNT=11");
        assert_eq!(event.item.fields["start"], "2027-01-04T18:00:00+00:00");
        let fete = db.services.item(&Principal::System, &site, &path("/migration/agenda/fete-de-la-musique")).await.unwrap();
        assert_eq!(fete.item.fields["whole_day"], true);
        let link = db.services.item(&Principal::System, &site, &path("/migration/portail-wallonie")).await.unwrap();
        assert_eq!(link.item.fields["remoteUrl"], "https://www.wallonie.be/fr");
        assert!(link.item.exclude_from_nav);
        let coll = db.services.item(&Principal::System, &site, &path("/migration/dernieres-nouvelles")).await.unwrap();
        assert_eq!(coll.item.fields["sort_on"], "effective");
        assert_eq!(coll.item.fields["sort_reversed"], true);
        assert_eq!(coll.item.fields["query"][0]["i"], "portal_type");
        // Folder order as in Plone.
        let migration = db.services.item(&Principal::System, &site, &path("/migration")).await.unwrap();
        let children = db.services.children(&Principal::System, &site, &migration, 0, 50).await.unwrap();
        let ids: Vec<&str> = children.items.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["services", "hotel-de-ville.png", "reglement-general-de-police.pdf", "agenda", "portail-wallonie", "dernieres-nouvelles", "welkom"]);
    }

    async fn states_history_and_sharing_come_across(db) {
        let (site, _) = import_fixture(&db).await;
        let draft = "/migration/services/urbanisme/brouillon-note";
        assert!(!visible(&db, &Principal::Anonymous, &site, draft).await, "the private draft is hidden from visitors");
        assert!(visible(&db, &Principal::user("admin", &[]), &site, draft).await, "its owner sees it");
        assert!(visible(&db, &Principal::Anonymous, &site, "/migration/services/horaires").await, "published");

        let news = db.services.item(&Principal::System, &site, &path("/migration/services/nouveau-service")).await.unwrap();
        assert_eq!(news.item.review_state.as_deref(), Some("pending"));
        let secretaire = principal(&db, &site, "secretaire").await;
        let review = db.services.review_list(&secretaire, &site).await.unwrap();
        assert!(review.iter().any(|r| r.item.path.as_str() == "/migration/services/nouveau-service"), "the pending News Item waits for the reviewer");
        let info = db.services.workflow_info(&Principal::System, &site, &path("/migration/services/nouveau-service")).await.unwrap();
        let steps: Vec<(Option<String>, String, String)> =
            info.history.iter().map(|(h, _)| (h.action.clone(), h.review_state.clone(), h.actor.clone())).collect();
        assert_eq!(steps, [(None, "private".to_owned(), "admin".to_owned()), (Some("submit".to_owned()), "pending".to_owned(), "admin".to_owned())]);

        // The group's Editor role on /migration/services reaches its pages, not the
        // folder that blocks inheritance, where the urbanism agent is Editor instead.
        let redacteur = principal(&db, &site, "redacteur").await;
        let agent = principal(&db, &site, "agent.urbanisme").await;
        let page = db.services.item(&redacteur, &site, &path("/migration/services/horaires")).await.unwrap();
        assert!(page.allows(&redacteur, Permission::ModifyPortalContent), "the group's Editor role works");
        db.services.update(&redacteur, &site, &path("/migration/services/horaires"), &json!({"description": "Mis à jour"}).as_object().unwrap().clone()).await.expect("the group's editor edits");
        let permis = "/migration/services/urbanisme/permis-d-urbanisme";
        let v = db.services.item(&Principal::System, &site, &path(permis)).await.unwrap();
        assert!(!v.allows(&redacteur, Permission::ModifyPortalContent), "the block stops the group's role");
        assert!(v.allows(&agent, Permission::ModifyPortalContent), "the local Editor of the blocked folder");
        assert!(!visible(&db, &secretaire, &site, draft).await, "a reviewer does not read a private draft");
        assert!(visible(&db, &agent, &site, draft).await, "the agent can");
        let urbanisme = db.services.item(&Principal::System, &site, &path("/migration/services/urbanisme")).await.unwrap();
        assert!(urbanisme.item.block_inheritance);

        // The opening hours' versions, then the current one with its note.
        let (revisions, _, _) = db.services.history(&Principal::System, &site, &path("/migration/services/horaires")).await.unwrap();
        let titles: Vec<&str> = revisions.iter().map(|r| r.snapshot["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["Horaires des guichets", "Horaires des guichets", "Horaires des guichets", "Horaires des guichets communaux", "Horaires des guichets communaux"]);
        assert_eq!(revisions[3].comment, "Titre précisé");
        assert_eq!(revisions[3].actor, "admin");
    }

    async fn files_links_redirects_and_logins_work_over_http(db) {
        let (site, _) = import_fixture(&db).await;
        let app = TestApp::new(&db).await;
        let r = app.get("/s/migration/ancienne-page").await;
        assert_eq!(r.status, 301, "the moved page's old address");
        assert!(r.header("location").ends_with("/s/migration/services/ancienne-page"), "{}", r.header("location"));

        let png = std::fs::read(fixture().join("content/f542fa17efe8456bb15e49ef117d77c2/image/hotel-de-ville.png")).unwrap();
        let r = app.get("/s/migration/hotel-de-ville.png/@@images/image").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.raw, png, "the image's bytes");
        let r = app.get("/s/migration/hotel-de-ville.png/@@images/image/thumb").await;
        assert_eq!(r.status, 200, "a scale");
        let pdf = std::fs::read(fixture().join("content/c842dc18a9704f849a1c811731cfc8ad/file/reglement-general-de-police.pdf")).unwrap();
        let r = app.get("/s/migration/reglement-general-de-police.pdf/@@download/file").await;
        assert_eq!((r.status.as_u16(), r.raw == pdf), (200, true), "the PDF's bytes");
        // "commune" is only in the PDF's text, not in its title.
        let found = app.get_json("/s/@search?SearchableText=commune").await.json();
        let ids: Vec<&str> = found["items"].as_array().unwrap().iter().filter_map(|i| i["@id"].as_str()).collect();
        assert!(ids.contains(&"http://localhost/s/migration/reglement-general-de-police.pdf"), "the PDF is found by its text: {found}");
        // Links by UID are shown at their target's address.
        let page = app.get("/s/migration/services/urbanisme/permis-d-urbanisme").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("/s/migration/services/urbanisme/plan.png"), "{}", page.body);

        for login in ["agent.urbanisme", "redacteur", "secretaire"] {
            let hash = db.services.user(&site, login).await.unwrap().unwrap().password_hash;
            assert!(hash.starts_with("{SSHA}"), "Plone's hash is kept: {hash}");
            app.session(login, "Secret-123456").await;
            let hash = db.services.user(&site, login).await.unwrap().unwrap().password_hash;
            assert!(hash.starts_with("$argon2id$"), "re-hashed at the first login: {hash}");
            app.session(login, "Secret-123456").await;
        }
        assert!(db.services.authenticate(&site, "secretaire", "wrong-password").await.unwrap().is_none());
    }

    async fn a_folder_with_a_default_page_shows_it_and_its_json_stays_the_folders(db) {
        let (site, _) = import_fixture(&db).await;
        let app = TestApp::new(&db).await;
        // The HTML page of the folder is its default page's: title and text.
        let page = app.get("/s/migration/services").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<h1>Horaires des guichets communaux</h1>"), "{}", page.body);
        assert!(page.body.contains("le mardi jusqu"), "{}", page.body);
        // The breadcrumbs end at the folder, as in Plone (the page is its view).
        assert!(page.body.contains("aria-current=\"page\">Services communaux</a>"), "{}", page.body);
        assert!(!page.body.contains(">Urbanisme et permis<"), "no listing of the folder's contents");
        // At its own address, the page is itself, its breadcrumbs still ending at the folder.
        let own = app.get("/s/migration/services/horaires").await;
        assert!(own.body.contains("<h1>Horaires des guichets communaux</h1>"));
        assert!(own.body.contains("aria-current=\"page\">Services communaux</a>"), "{}", own.body);
        // plone.restapi serves the folder itself: its JSON is unchanged, with the page
        // among its items and no default_page key.
        let folder = app.get_json("/s/migration/services").await.json();
        assert_eq!(folder["@type"], "Folder");
        assert_eq!(folder["title"], "Services communaux");
        assert!(folder.get("default_page").is_none(), "{folder}");
        assert!(folder.get("text").is_none(), "{folder}");
        let ids: Vec<&str> = folder["items"].as_array().unwrap().iter().map(|i| i["@id"].as_str().unwrap()).collect();
        assert!(ids.contains(&"http://localhost/s/migration/services/horaires"), "{ids:?}");
        // A visitor who may not see the default page sees the folder's own listing.
        db.services
            .transition(&Principal::System, &site, &path("/migration/services/horaires"), "retract", beffroi_service::TransitionRequest::default())
            .await
            .unwrap();
        let page = app.get("/s/migration/services").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<h1>Services communaux</h1>"), "{}", page.body);
        assert!(page.body.contains(">Urbanisme et permis<"), "{}", page.body);
        // (retracting made the page private)
        let mut c = db.store.conn().await.unwrap();
        let horaires = c.db().item_by_path(&site.scope(), &path("/migration/services/horaires")).await.unwrap().unwrap();
        assert_eq!(horaires.review_state.as_deref(), Some("private"));
    }

    async fn a_site_round_trips_through_its_plone_export(db) {
        let (a, _) = import_fixture(&db).await;
        // Something made here too: an edit with its note, recorded as a revision.
        let edit = json!({"description": "Mis à jour ici", "changeNote": "Depuis Beffroi"});
        db.services.update(&Principal::System, &a, &path("/migration/welkom"), edit.as_object().unwrap()).await.unwrap();
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("export");
        let (code, stdout, err) = export(&db, &dir, "s");
        assert_eq!(code, 0, "{stdout}\n{err}");
        assert!(stdout.contains("site s: 17 items, 4 files"), "{stdout}");

        // The layout of plone.exportimport.
        let read = |rel: &str| -> Value { serde_json::from_slice(&std::fs::read(dir.join(rel)).unwrap()).unwrap() };
        let meta = read("content/__metadata__.json");
        assert_eq!(meta["_data_files_"].as_array().unwrap().len(), 17);
        assert_eq!(meta["default_page"]["88ba61d447ae4b4781fba3a439e84e5a"], json!({"default_page": "horaires", "default_page_uuid": "39f9a224c959431f87145fe814176167"}));
        assert_eq!(meta["local_roles"]["48ea7884c44249998ff183bbe659fd3d"], json!({"block": 1, "local_roles": {"admin": ["Owner"], "agent.urbanisme": ["Editor"]}}));
        let image = read("content/f542fa17efe8456bb15e49ef117d77c2/data.json");
        assert_eq!(image["image"]["blob_path"], "f542fa17efe8456bb15e49ef117d77c2/image/hotel-de-ville.png");
        let png = std::fs::read(fixture().join("content/f542fa17efe8456bb15e49ef117d77c2/image/hotel-de-ville.png")).unwrap();
        assert_eq!(std::fs::read(dir.join("content/f542fa17efe8456bb15e49ef117d77c2/image/hotel-de-ville.png")).unwrap(), png);
        let horaires = read("content/39f9a224c959431f87145fe814176167/data.json");
        assert_eq!(horaires["exportimport.versions"].as_object().unwrap().len(), 3);
        assert_eq!(horaires["changeNote"], "Titre précisé");
        assert_eq!(horaires["workflow_history"]["simple_publication"][1]["action"], "publish");
        let principals = read("principals.json");
        let hashes: Vec<&str> = principals["members"].as_array().unwrap().iter().map(|m| m["password"].as_str().unwrap()).collect();
        assert!(hashes.len() == 3 && hashes.iter().all(|h| h.starts_with("{SSHA}")), "the hashes as stored: {hashes:?}");
        assert_eq!(read("redirects.json"), json!({"/s/migration/ancienne-page": "/s/migration/services/ancienne-page"}));
        for f in ["relations.json", "translations.json", "discussions.json", "portlets.json"] {
            assert!(dir.join(f).is_file(), "{f}");
        }
        // A folder that is not empty is refused, and is left as it was.
        let (code, _, err) = export(&db, &dir, "s");
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("not empty (export into a new or empty folder)"), "{err}");
        let (code, _, err) = export(&db, &out.path().join("other"), "nosuchsite");
        assert_eq!((code, err.lines().count()), (1, 1), "{err}");
        assert!(err.contains("no site nosuchsite"), "{err}");

        // Imported into an empty site of another database, everything is as it was.
        let other = another_database(&db).await;
        let (code, stdout, err) = import(&other, &dir, &["--create", "--title", "Commune de test"]);
        assert_eq!(code, 0, "{stdout}\n{err}");
        assert!(stdout.contains("17 items imported") && stdout.contains("skipped: 0"), "{stdout}");
        let b = other.services.site(&beffroi_model::SiteId::parse("s").unwrap()).await.unwrap().unwrap();
        let (mut ca, mut cb) = (db.store.conn().await.unwrap(), other.store.conn().await.unwrap());
        let (sa, sb) = (a.scope(), b.scope());
        let items_a = ca.db().subtree(&sa, &path("/")).await.unwrap();
        let items_b = cb.db().subtree(&sb, &path("/")).await.unwrap();
        assert_eq!(items_a.len(), items_b.len());
        let mut files = 0;
        for (ia, ib) in items_a.iter().zip(&items_b).skip(1) {
            let p = &ia.path;
            // Path, UID, type, every field (files by hash), dates, state, sharing, order
            // (each site's root is its own: the first level's parent differs).
            let mut ib = ib.clone();
            if ib.parent == Some(items_b[0].uuid) {
                ib.parent = Some(items_a[0].uuid);
            }
            assert_eq!(ia, &ib, "{p}");
            assert_eq!(ca.db().history(&sa, ia.uuid).await.unwrap(), cb.db().history(&sb, ib.uuid).await.unwrap(), "{p}: history");
            assert_eq!(ca.db().revisions(&sa, ia.uuid).await.unwrap(), cb.db().revisions(&sb, ib.uuid).await.unwrap(), "{p}: revisions");
            assert_eq!(ca.db().viewers(ia.uuid).await.unwrap(), cb.db().viewers(ib.uuid).await.unwrap(), "{p}: who may see it");
            for (name, v) in &ib.fields {
                let Ok(file) = serde_json::from_value::<beffroi_model::media::StoredFile>(v.clone()) else { continue };
                // The same hash on both sides (the rows are equal), and the same bytes under it.
                let bytes = blob_bytes(&other, &file).await;
                assert_eq!(bytes.len() as u64, file.size, "{p}: {name}");
                assert!(bytes == blob_bytes(&db, &file).await, "{p}: {name}'s bytes");
                files += 1;
            }
        }
        assert_eq!(files, 4);
        let horaires = items_b.iter().find(|i| i.path.as_str() == "/migration/services/horaires").unwrap();
        assert_eq!(cb.db().revisions(&sb, horaires.uuid).await.unwrap().len(), 4);
        let welkom = items_b.iter().find(|i| i.path.as_str() == "/migration/welkom").unwrap();
        assert_eq!(cb.db().revisions(&sb, welkom.uuid).await.unwrap().last().unwrap().comment, "Depuis Beffroi");
        let (ua, ub) = (ca.db().list_users(&sa).await.unwrap(), cb.db().list_users(&sb).await.unwrap());
        let users = |u: Vec<beffroi_service::UserRow>| -> Vec<_> {
            u.into_iter().map(|u| (u.login, u.fullname, u.email, u.password_hash, u.roles, u.enabled)).collect()
        };
        assert_eq!(users(ua), users(ub), "users with their hashes");
        assert_eq!(ca.db().list_groups(&sa).await.unwrap(), cb.db().list_groups(&sb).await.unwrap());
        assert_eq!(ca.db().redirects(&sa).await.unwrap(), cb.db().redirects(&sb).await.unwrap());
        assert_eq!(cb.db().redirects(&sb).await.unwrap().len(), 1);
        drop((ca, cb));
        other.cleanup().await;
    }

    async fn translation_groups_come_across_and_go_back_out(db) {
        let uid_of = |p: &str| fixture_items().into_iter().find(|(q, ..)| q == p).unwrap().1;
        let (welkom, horaires) = (uid_of("/migration/welkom"), uid_of("/migration/services/horaires"));
        let copy = fixture_copy();
        let groups = json!([
            {"nl": welkom, "fr": horaires},
            {"fr": "0123456789abcdef0123456789abcdef", "nl": welkom},
            {"de": "not a uid"},
        ]);
        std::fs::write(copy.path().join("translations.json"), groups.to_string()).unwrap();
        let (code, out, err) = import(&db, copy.path(), &["--create", "--title", "Commune de test"]);
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.contains("translation groups: 1"), "{out}");
        assert!(out.contains("fewer than two of its items were imported"), "{out}");
        assert!(out.contains("a UID that is not one"), "{out}");
        assert!(!out.contains("not imported yet: translations.json"), "{out}");
        let site = db.services.site(&beffroi_model::SiteId::parse("s").unwrap()).await.unwrap().unwrap();
        let linked = db.services.translations(&Principal::System, &site, &path("/migration/welkom")).await.unwrap();
        assert_eq!(linked, vec![(path("/migration/services/horaires"), Language::Fr)]);
        // Again: the same group, nothing doubled.
        let (code, out, _) = import(&db, copy.path(), &[]);
        assert_eq!(code, 0);
        assert!(out.contains("translation groups: 1"), "{out}");
        let linked = db.services.translations(&Principal::System, &site, &path("/migration/services/horaires")).await.unwrap();
        assert_eq!(linked, vec![(path("/migration/welkom"), Language::Nl)]);
        // And back out, as plone.exportimport writes them.
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("export");
        let (code, stdout, err) = export(&db, &dir, "s");
        assert_eq!(code, 0, "{stdout}\n{err}");
        let written: Value = serde_json::from_slice(&std::fs::read(dir.join("translations.json")).unwrap()).unwrap();
        assert_eq!(written, json!([{"fr": horaires, "nl": welkom}]));
    }

    async fn a_second_import_changes_nothing(db) {
        let (site, _) = import_fixture(&db).await;
        let before = dump(&db, &site).await;
        let (code, out, err) = import(&db, &fixture(), &[]);
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.contains("created: none"), "{out}");
        assert!(out.contains("users: 0 created, 3 updated"), "{out}");
        assert_eq!(dump(&db, &site).await, before);
    }

    async fn a_user_with_a_plone_bcrypt_hash_logs_in_with_their_password(db) {
        let dir = fixture_copy();
        // Plone's {BCRYPT} scheme; the hash made by another implementation (libxcrypt).
        edit_json(&dir.path().join("principals.json"), |v| {
            let members = v["members"].as_array_mut().unwrap();
            let redacteur = members.iter_mut().find(|m| m["login_name"] == "redacteur").unwrap();
            redacteur["password"] = "{BCRYPT}$2b$04$Zw5B2S8S4QWdZ1D9Z1VxH.MV9S7LDUuEuw/P8/3kPb45EqkmaMX8O".into();
        });
        let (code, out, err) = import(&db, dir.path(), &["--create", "--title", "T"]);
        assert_eq!(code, 0, "{out}\n{err}");
        let site = db.services.site(&beffroi_model::SiteId::parse("s").unwrap()).await.unwrap().unwrap();
        let hash = db.services.user(&site, "redacteur").await.unwrap().unwrap().password_hash;
        assert!(hash.starts_with("{BCRYPT}$2b$"), "Plone's hash is kept: {hash}");
        assert!(db.services.authenticate(&site, "redacteur", "Secret-1234567").await.unwrap().is_none());
        let app = TestApp::new(&db).await;
        app.session("redacteur", "Secret-123456").await;
        let hash = db.services.user(&site, "redacteur").await.unwrap().unwrap().password_hash;
        assert!(hash.starts_with("$argon2id$"), "re-hashed at the first login: {hash}");
        assert!(db.services.authenticate(&site, "redacteur", "Secret-123456").await.unwrap().is_some());
    }

    async fn a_bad_item_is_skipped_and_reported_by_path(db) {
        let dir = fixture_copy();
        let content = dir.path().join("content");
        edit_json(&content.join("d1c487d04c414896a017d6aff87440cc/data.json"), |v| {
            v["image"]["blob_path"] = "../../../../etc/passwd".into();
        });
        edit_json(&content.join("ef19a4106bd84a35b09ef3a486879ba6/data.json"), |v| v["@type"] = "Lien externe".into());
        edit_json(&content.join("3ce2ead6317c4f978db22ceaaa21d29c/data.json"), |v| v["review_state"] = "archived".into());
        // A whole-site export holds the site root, under the UID plone.exportimport gives it.
        std::fs::create_dir(content.join("plone_site_root")).unwrap();
        let root = json!({"@id": "/", "@type": "Plone Site", "UID": "plone_site_root", "title": "Plone"});
        std::fs::write(content.join("plone_site_root/data.json"), root.to_string()).unwrap();
        edit_json(&content.join("__metadata__.json"), |v| {
            v["_data_files_"].as_array_mut().unwrap().push("plone_site_root/data.json".into());
        });
        let (code, out, err) = import(&db, dir.path(), &["--create", "--title", "T"]);
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.contains("/migration/services/urbanisme/plan.png: image: blob path \"../../../../etc/passwd\" leaves the export's folder"), "{out}");
        assert!(out.contains("/migration/portail-wallonie: type Lien externe is not known here"), "{out}");
        assert!(out.contains("/migration/services/ancienne-page: state \"archived\" is not in workflow simple_publication: now private"), "{out}");
        assert!(out.contains("15 items imported"), "{out}");
        assert!(out.contains("not imported yet: the site root's fields"), "{out}");
        let site = db.services.site(&beffroi_model::SiteId::parse("s").unwrap()).await.unwrap().unwrap();
        assert!(!visible(&db, &Principal::System, &site, "/migration/portail-wallonie").await);
        // Mapped, the type comes across, as does the state.
        let (code, out, err) = import(&db, dir.path(), &["--map-type", "Lien externe=Link", "--map-state", "archived=published"]);
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.contains("created: Link 1"), "{out}");
        let v = db.services.item(&Principal::System, &site, &path("/migration/services/ancienne-page")).await.unwrap();
        assert_eq!(v.item.review_state.as_deref(), Some("published"));
    }
}

#[test]
fn a_file_not_in_the_format_stops_the_import_with_one_line() {
    let db_dir = tempfile::tempdir().unwrap();
    let run = |dir: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_beffroi"))
            .args(["import", "plone"])
            .arg(dir)
            .args(["--site", "s", "--create", "--title", "T"])
            .env("BEFFROI_DATA", db_dir.path())
            .env_remove("BEFFROI_DATABASE_URL")
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let dir = fixture_copy();
    std::fs::write(dir.path().join("principals.json"), "{\"members\": 3}").unwrap();
    let (code, err) = run(dir.path());
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("principals.json: not plone.exportimport's principals"), "{err}");

    let dir = fixture_copy();
    std::fs::write(dir.path().join("content/39f9a224c959431f87145fe814176167/data.json"), "[1, 2]").unwrap();
    let (code, err) = run(dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("39f9a224c959431f87145fe814176167/data.json: not an item"), "{err}");

    let (code, err) = run(db_dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not a plone.exportimport export"), "{err}");
    // Nothing was written: the site does not exist.
    let out = Command::new(env!("CARGO_BIN_EXE_beffroi"))
        .args(["site", "list"])
        .env("BEFFROI_DATA", db_dir.path())
        .env_remove("BEFFROI_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}
