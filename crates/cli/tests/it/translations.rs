//! Translations as plone.app.multilingual links them: `@translations` GET, POST and
//! DELETE in plone.restapi's shape, the refusals, what anonymous visitors see, and the
//! pages' language switcher and hreflang links; through the real router, on both
//! backends.

use base64::Engine;
use beffroi_model::security::{Principal, Role};
use serde_json::json;

use crate::both_backends;
use crate::support::{TestApp, path};

fn basic(login: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{login}:correct horse battery")))
}

both_backends! {
    async fn items_are_linked_to_their_translations(db) {
        let s = db.site("s").await;
        db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
        db.add(&s, "", "Document", json!({"title": "Horaires", "language": "fr"})).await;
        db.add(&s, "", "Document", json!({"title": "Openingsuren", "language": "nl"})).await;
        db.add(&s, "", "Document", json!({"title": "Öffnungszeiten", "language": "de"})).await;
        db.add(&s, "", "Document", json!({"title": "Heures d'ouverture", "language": "fr"})).await;
        db.add(&s, "", "Document", json!({"title": "Uren", "language": "nl"})).await;
        db.add_private(&s, "", "Document", json!({"title": "Opening hours", "language": "en"})).await;
        let other = db.site("t").await;
        db.add(&other, "", "Document", json!({"title": "Ailleurs", "language": "nl"})).await;
        let app = TestApp::new(&db).await;
        let max = basic("max");

        // Linked by the translation's address: 201 with the item's.
        let r = app.send_json("POST", "/s/horaires/@translations", &max, json!({"id": "http://localhost/s/openingsuren"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.header("location"), "http://localhost/s/horaires");
        let v = app.get_json("/s/horaires/@translations").await.json();
        assert_eq!(v, json!({"@id": "http://localhost/s/horaires/@translations", "items": [{"@id": "http://localhost/s/openingsuren", "language": "nl"}]}));
        // Both ways, and by path or by UID for the next one.
        assert_eq!(app.get_json("/s/openingsuren/@translations").await.json()["items"], json!([{"@id": "http://localhost/s/horaires", "language": "fr"}]));
        let r = app.send_json("POST", "/s/openingsuren/@translations", &max, json!({"id": "/offnungszeiten"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let uid = db.services.item(&Principal::System, &s, &path("/opening-hours")).await.unwrap().item.uuid.simple().to_string();
        assert_eq!(app.send_json("POST", "/s/horaires/@translations", &max, json!({"id": uid})).await.status, 201);
        let max_sees = app.get_with("/s/horaires/@translations", &[("authorization", &max), ("accept", "application/json")]).await.json();
        assert_eq!(max_sees["items"].as_array().unwrap().len(), 3, "{max_sees}");
        // Anonymous visitors see only the translations they may see.
        let langs: Vec<String> = app.get_json("/s/horaires/@translations").await.json()["items"].as_array().unwrap().iter().map(|i| i["language"].as_str().unwrap().to_owned()).collect();
        assert_eq!(langs.len(), 2, "{langs:?}");
        assert!(!langs.contains(&"en".to_owned()));
        assert_eq!(app.get_json("/s/horaires").await.json()["@components"]["translations"]["@id"], "http://localhost/s/horaires/@translations");

        // Refused, and nothing changes: the same language, a language already there,
        // the translation of another item, another site's item, nothing, anonymous.
        for (body, why) in [
            (json!({"id": "http://localhost/s/heures-d-ouverture"}), "same language"),
            (json!({"id": "http://localhost/s/uren"}), "already translated into nl"),
            (json!({"id": "http://localhost/t/ailleurs"}), "is not an item of this site"),
            (json!({"id": "/nulle-part"}), "is not an item of this site"),
            (json!({"id": "http://localhost/s/horaires"}), "not its own translation"),
        ] {
            let r = app.send_json("POST", "/s/horaires/@translations", &max, body.clone()).await;
            assert_eq!(r.status, 400, "{body}: {}", r.body);
            assert!(r.body.contains(why), "{body}: {}", r.body);
        }
        let r = app.send_json("POST", "/s/uren/@translations", &max, json!({"id": "/openingsuren"})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("same language"), "{}", r.body);
        let r = app.send_json("POST", "/s/heures-d-ouverture/@translations", &max, json!({"id": "/openingsuren"})).await;
        assert!(r.body.contains("already the translation of another item"), "{}", r.body);
        assert_eq!(app.send_json("POST", "/s/horaires/@translations", &max, json!({"language": "nl"})).await.status, 400);
        assert_eq!(app.send_json("POST", "/s/uren/@translations", "", json!({"id": "/horaires"})).await.status, 401);
        assert_eq!(max_sees["items"].as_array().unwrap().len(), 3);

        // The page switches language, and says where its translations are.
        let page = app.get("/s/horaires").await.body;
        assert!(page.contains("<link rel=\"alternate\" hreflang=\"nl\" href=\"http://localhost/s/openingsuren\">"), "{page}");
        assert!(page.contains("<a href=\"http://localhost/s/openingsuren\" lang=\"nl\" hreflang=\"nl\">Nederlands</a>"), "{page}");
        assert!(page.contains("<span lang=\"fr\" aria-current=\"true\">Français</span>"), "{page}");
        assert!(!page.contains("English"), "the private one is not offered: {page}");

        // Unlinked by language: 204; unknown: 400.
        let r = app.send_json("DELETE", "/s/horaires/@translations", &max, json!({"language": "nl"})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(app.get_json("/s/openingsuren/@translations").await.json()["items"], json!([]));
        assert_eq!(app.send_json("DELETE", "/s/horaires/@translations", &max, json!({"language": "nl"})).await.status, 400);
        // A deleted translation leaves its group.
        db.services.delete(&Principal::System, &s, &path("/offnungszeiten")).await.unwrap();
        let left = app.get_with("/s/horaires/@translations", &[("authorization", &max), ("accept", "application/json")]).await.json();
        assert_eq!(left["items"], json!([{"@id": "http://localhost/s/opening-hours", "language": "en"}]));
    }

    async fn a_site_in_two_languages_has_their_root_folders_a_switcher_and_searches_by_language(db) {
        let s = db.site("bxl").await;
        db.user(&s, "ed", "correct horse battery", "Ed", &[Role::Editor]).await;
        let services = &db.services;
        // Only the site's managers choose its languages.
        let ed = services.principal(&s, "ed").await.unwrap().expect("a user");
        let refused = services.set_languages(&ed, &s, &[beffroi_model::Language::Fr, beffroi_model::Language::Nl], "Folder").await;
        assert!(matches!(refused, Err(beffroi_service::ServiceError::Unauthorized | beffroi_service::ServiceError::Forbidden(_))), "{refused:?}");
        let langs = [beffroi_model::Language::Fr, beffroi_model::Language::Nl];
        let s = services.set_languages(&Principal::System, &s, &langs, "Folder").await.unwrap();
        assert_eq!(s.languages, langs);
        // Again: nothing new (no /fr-1).
        let s = services.set_languages(&Principal::System, &s, &langs, "Folder").await.unwrap();
        db.add(&s, "/fr", "Document", json!({"title": "Travaux de voirie", "language": "fr"})).await;
        db.add(&s, "/nl", "Document", json!({"title": "Wegenwerken en voirie", "language": "nl"})).await;
        let app = TestApp::new(&db).await;
        let fr = app.get_json("/bxl/fr").await.json();
        assert_eq!(fr["title"], "Français");
        assert_eq!(fr["review_state"], "published");
        let nl = app.get_json("/bxl/nl").await.json();
        assert_eq!(nl["title"], "Nederlands");
        assert_eq!(nl["language"], "nl");
        let t = app.get_json("/bxl/fr/@translations").await.json();
        assert_eq!(t["items"][0]["@id"], "http://localhost/bxl/nl", "{t}");
        assert!(app.get_json("/bxl/fr-1").await.status == 404, "the second run made nothing");
        let site = app.get_json("/bxl/@site").await.json();
        assert_eq!(site["plone.available_languages"], json!(["fr", "nl"]));
        assert_eq!(site["features"]["multilingual"], true);

        // The switcher: the translation where there is one (announced by hreflang),
        // else the language's root folder; the search box searches the page's language.
        let page = app.get("/bxl/fr").await.body;
        assert!(page.contains("<link rel=\"alternate\" hreflang=\"nl\" href=\"http://localhost/bxl/nl\">"), "{page}");
        let page = app.get("/bxl/fr/travaux-de-voirie").await.body;
        assert!(page.contains("href=\"http://localhost/bxl/nl\" lang=\"nl\" hreflang=\"nl\">Nederlands</a>"), "{page}");
        assert!(!page.contains("rel=\"alternate\" hreflang=\"nl\""), "no Dutch version of this page: {page}");
        assert!(page.contains("<input type=\"hidden\" name=\"Language\" value=\"fr\">"), "{page}");
        let nl_page = app.get("/bxl/nl/wegenwerken-en-voirie").await.body;
        assert!(nl_page.contains("<html lang=\"nl\">") && nl_page.contains("name=\"Language\" value=\"nl\""), "{nl_page}");
        let found = app.get("/bxl/@@search?SearchableText=voirie&Language=nl").await.body;
        assert!(found.contains("Wegenwerken en voirie") && !found.contains("Travaux de voirie"), "{found}");
        assert!(found.contains("<html lang=\"nl\">"), "the search page speaks the language searched: {found}");
        let both = app.get("/bxl/@@search?SearchableText=voirie").await.body;
        assert!(both.contains("Wegenwerken en voirie") && both.contains("Travaux de voirie"), "{both}");
    }
}
