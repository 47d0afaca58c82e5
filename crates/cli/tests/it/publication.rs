//! The publication window outside search: an item not yet effective or already expired
//! is hidden from those who may not see inactive content — at its URL, in its folder's
//! listing, in the navigation and in breadcrumbs — as the catalog hides it.

use base64::Engine;
use beffroi_model::security::{Grantee, Principal, Role};
use beffroi_service::SharingChange;
use chrono::DurationRound;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{TestApp, TestDb, path};

const FUTURE: &str = "2099-01-01T00:00:00+00:00";
const PAST: &str = "2000-01-01T00:00:00+00:00";

fn basic(login: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{login}:correct horse battery")))
}

/// Site `s`: a published folder `futur` effective in 2099 with a page inside, and a
/// folder `actualites` holding a current page and one expired in 2000. Users: `ed`
/// (Editor), `max` (Manager), `paul` (Member, without rights).
async fn site(db: &TestDb) -> beffroi_service::SiteRow {
    let s = db.site("s").await;
    for (login, role) in [("ed", Role::Editor), ("max", Role::Manager), ("paul", Role::Member)] {
        db.user(&s, login, "correct horse battery", login, &[role]).await;
    }
    db.add(&s, "", "Folder", json!({"title": "Actualités"})).await;
    db.add(&s, "", "Folder", json!({"title": "Futur", "effective": FUTURE})).await;
    db.add(&s, "/futur", "Document", json!({"title": "Programme"})).await;
    db.add(&s, "/actualites", "Document", json!({"title": "Annonce du jour"})).await;
    db.add(&s, "/actualites", "Document", json!({"title": "Vieille annonce", "expires": PAST})).await;
    s
}

async fn get(app: &TestApp, uri: &str, who: Option<&str>, json: bool) -> crate::support::Reply {
    let auth = who.map(basic);
    let mut h: Vec<(&str, &str)> = Vec::new();
    if json {
        h.push(("accept", "application/json"));
    }
    if let Some(a) = &auth {
        h.push(("authorization", a));
    }
    app.get_with(uri, &h).await
}

fn titles(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_owned()).collect()
}

both_backends! {
    async fn an_item_outside_its_window_is_hidden_from_visitors_but_not_from_editors(db) {
        site(&db).await;
        let app = TestApp::new(&db).await;

        // Anonymous: the future folder is nowhere and not found at its URL.
        let nav = get(&app, "/s/@navigation", None, true).await.json();
        assert_eq!(titles(&nav, "items"), ["Accueil", "Actualités"]);
        let home = get(&app, "/s", None, false).await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains(">Actualités</a></li>"), "{}", home.body);
        assert!(!home.body.contains("Futur"), "neither menu nor listing names it: {}", home.body);
        let root = get(&app, "/s", None, true).await.json();
        assert_eq!((titles(&root, "items"), root["items_total"].as_i64()), (vec!["Actualités".to_owned()], Some(1)));
        let r = get(&app, "/s/futur", None, true).await;
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(r.json()["type"], "NotFound");
        assert_eq!(get(&app, "/s/futur", None, false).await.status, 404);
        assert_eq!(get(&app, "/s/futur/@navigation", None, true).await.status, 404);
        // A current page inside it: its breadcrumbs and parent do not name the folder.
        let b = get(&app, "/s/futur/programme/@breadcrumbs", None, true).await.json();
        assert_eq!(titles(&b, "items"), ["Programme"]);
        let page = get(&app, "/s/futur/programme", None, true).await.json();
        assert_eq!(page["parent"].get("title"), None, "{}", page["parent"]);
        let html = get(&app, "/s/futur/programme", None, false).await;
        assert_eq!(html.status, 200);
        assert!(!html.body.contains("Futur"), "{}", html.body);

        // Anonymous: the expired page is not listed, in JSON nor in HTML, nor found.
        let folder = get(&app, "/s/actualites", None, true).await.json();
        assert_eq!((titles(&folder, "items"), folder["items_total"].as_i64()), (vec!["Annonce du jour".to_owned()], Some(1)));
        let html = get(&app, "/s/actualites", None, false).await.body;
        assert!(html.contains("Annonce du jour") && !html.contains("Vieille annonce"), "{html}");
        assert_eq!(get(&app, "/s/actualites/vieille-annonce", None, true).await.status, 404);
        assert_eq!(get(&app, "/s/actualites/vieille-annonce", None, false).await.status, 404);

        // A member without rights sees what visitors see.
        assert_eq!(get(&app, "/s/futur", Some("paul"), true).await.status, 404);
        assert_eq!(titles(&get(&app, "/s/actualites", Some("paul"), true).await.json(), "items"), ["Annonce du jour"]);

        // Editors and managers see everything, as in search.
        for who in ["ed", "max"] {
            let nav = get(&app, "/s/@navigation", Some(who), true).await.json();
            assert_eq!(titles(&nav, "items"), ["Accueil", "Actualités", "Futur"], "{who}");
            assert!(get(&app, "/s", Some(who), false).await.body.contains(">Futur</a></li>"), "{who}");
            assert_eq!(get(&app, "/s/futur", Some(who), true).await.status, 200, "{who}");
            assert_eq!(get(&app, "/s", Some(who), true).await.json()["items_total"], 2, "{who}");
            let b = get(&app, "/s/futur/programme/@breadcrumbs", Some(who), true).await.json();
            assert_eq!(titles(&b, "items"), ["Futur", "Programme"], "{who}");
            let folder = get(&app, "/s/actualites", Some(who), true).await.json();
            assert_eq!(titles(&folder, "items"), ["Annonce du jour", "Vieille annonce"], "{who}");
            assert!(get(&app, "/s/actualites", Some(who), false).await.body.contains("Vieille annonce"), "{who}");
            assert_eq!(get(&app, "/s/actualites/vieille-annonce", Some(who), true).await.status, 200, "{who}");
        }
    }

    async fn who_may_change_a_folder_sees_its_inactive_content(db) {
        let s = site(&db).await;
        let editor = SharingChange { entries: vec![(Grantee::User("paul".into()), vec![(Role::Editor, true)])], inherit: None };
        db.services.update_sharing(&Principal::System, &s, &path("/actualites"), editor).await.unwrap();
        let app = TestApp::new(&db).await;
        // Shared as editor on the folder: its expired page is listed and found...
        let folder = get(&app, "/s/actualites", Some("paul"), true).await.json();
        assert_eq!(titles(&folder, "items"), ["Annonce du jour", "Vieille annonce"]);
        assert_eq!(get(&app, "/s/actualites/vieille-annonce", Some("paul"), true).await.status, 200);
        let contents = get(&app, "/s/actualites/@@folder_contents", Some("paul"), false).await;
        assert!(contents.body.contains("Vieille annonce"), "{}", contents.body);
        // ...but nothing outside it.
        assert_eq!(get(&app, "/s/futur", Some("paul"), true).await.status, 404);
        assert_eq!(titles(&get(&app, "/s/@navigation", Some("paul"), true).await.json(), "items"), ["Accueil", "Actualités"]);
    }

    async fn time_alone_brings_an_item_into_navigation(db) {
        let s = db.site("s").await;
        // Whole seconds: one to two seconds from now.
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).duration_trunc(chrono::Duration::seconds(1)).unwrap();
        db.add(&s, "", "Folder", json!({"title": "Bientôt", "effective": soon.to_rfc3339()})).await;
        let app = TestApp::new(&db).await;
        let nav = get(&app, "/s/@navigation", None, true).await.json();
        // (On a machine too slow to ask within the second, the item is already in.)
        if chrono::Utc::now() < soon {
            assert_eq!(titles(&nav, "items"), ["Accueil"]);
            assert_eq!(get(&app, "/s/bientot", None, true).await.status, 404);
        }
        // No write in between: the cached navigation is read again and lets it in.
        let wait = (soon - chrono::Utc::now()).to_std().unwrap_or_default() + std::time::Duration::from_millis(50);
        tokio::time::sleep(wait).await;
        assert_eq!(titles(&get(&app, "/s/@navigation", None, true).await.json(), "items"), ["Accueil", "Bientôt"]);
        assert_eq!(get(&app, "/s/bientot", None, true).await.status, 200);
        assert!(get(&app, "/s", None, false).await.body.contains(">Bientôt</a></li>"));
    }
}
