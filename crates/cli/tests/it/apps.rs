//! What an application's types get from the platform without a line of web or service
//! code: every rich-text field shown, searchable, versioned, its links kept by UID.

use beffroi_model::security::{Principal, Role};
use serde_json::json;

use crate::both_backends;
use crate::support::{TestApp, obj, path};

/// A type with two rich-text fields under other names than `text`.
const DECISION: &str = r#"{
  "id": "Decision",
  "title": {"fr": "Décision", "en": "Decision"},
  "behaviors": ["basic", "versioning"],
  "fields": [
    {"name": "motivation", "kind": "richtext", "title": {"fr": "Motivation", "en": "Grounds"}},
    {"name": "decision", "kind": "richtext", "title": {"fr": "Dispositif", "en": "Decision"}},
    {"name": "reference", "kind": "textline", "title": {"fr": "Référence"}}
  ]
}"#;

both_backends! {
    async fn every_rich_text_field_is_shown_found_versioned_and_linked_by_uid(db) {
        let services = db.services.clone().with_types(&[("Decision.json", DECISION)]).unwrap();
        let s = db.site("s").await;
        db.user(&s, "admin", "admin password", "Admin", &[Role::Manager]).await;
        let target = db.add(&s, "", "Document", json!({"title": "Règlement de voirie"})).await;
        let target_uid = services.item(&Principal::System, &s, &target).await.unwrap().item.uuid.simple().to_string();
        let d = services
            .create(&Principal::System, &s, &path(""), "Decision", Some("d1"), &obj(json!({
                "title": "Travaux rue Haute",
                "motivation": {"content-type": "text/html", "data": "<p>Vu le <a href=\"http://localhost/s/reglement-de-voirie\">règlement</a> et la vétusté du pavage</p>"},
                "decision": {"content-type": "text/html", "data": "<p>Le collège approuve le cahier des charges</p>"},
                "reference": "2026/collège/17",
            })))
            .await
            .unwrap();
        let app = TestApp::with_services(services.clone()).await;
        let c = app.session("admin", "admin password").await;

        // Shown, each under its label, links at the target's address.
        let page = app.get_with("/s/d1", &[("cookie", &c)]).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let (m, dd) = (page.body.find(">Motivation</h2>").expect("motivation shown"), page.body.find(">Dispositif</h2>").expect("decision shown"));
        assert!(m < dd, "in the schema's order");
        assert!(page.body.contains("vétusté du pavage") && page.body.contains("cahier des charges"));
        assert!(page.body.contains("href=\"http://localhost/s/reglement-de-voirie\""), "{}", page.body);
        // Stored by UID, so a move of the target is followed.
        let stored = services.item(&Principal::System, &s, &d.path).await.unwrap();
        // (Items created by the system are not rewritten; a REST write is.)
        let r = app.send_json("PATCH", "/s/d1", &app.bearer("s", "admin", "admin password").await, json!({
            "motivation": {"content-type": "text/html", "data": "<p>Vu le <a href=\"http://localhost/s/reglement-de-voirie\">règlement</a> et la vétusté du pavage des trottoirs</p>"},
        })).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let stored_after = services.item(&Principal::System, &s, &d.path).await.unwrap();
        assert_ne!(stored.item.fields["motivation"], stored_after.item.fields["motivation"]);
        let data = stored_after.item.fields["motivation"]["data"].as_str().unwrap();
        assert!(data.contains(&format!("resolveuid/{target_uid}")), "{data}");
        services.rename(&Principal::System, &s, &target, "voirie").await.unwrap();
        let json = app.get_with("/s/d1", &[("cookie", &c), ("accept", "application/json")]).await.json();
        assert!(json["motivation"]["data"].as_str().unwrap().contains("http://localhost/s/voirie\""), "{}", json["motivation"]);

        // Found by words of either field, stemmed in the item's language.
        for words in ["pavages", "cahiers", "trottoir"] {
            let r = app.get_with(&format!("/s/@search?SearchableText={words}"), &[("cookie", &c)]).await.json();
            assert_eq!(r["items_total"], 1, "{words}: {r}");
            assert_eq!(r["items"][0]["@id"], "http://localhost/s/d1");
        }
        // A field not marked searchable is not.
        assert_eq!(app.get_with("/s/@search?SearchableText=2026%2Fcoll%C3%A8ge%2F17", &[("cookie", &c)]).await.json()["items_total"], 0);

        // Versioned: the old version shows both fields, the comparison names the one that changed.
        let old = app.get_with("/s/d1/@@history?version=0", &[("cookie", &c)]).await;
        assert_eq!(old.status, 200, "{}", old.body);
        assert!(old.body.contains(">Motivation</h2>") && old.body.contains("cahier des charges"));
        assert!(!old.body.contains("trottoirs"));
        assert!(old.body.contains("href=\"http://localhost/s/voirie\""), "old links show the current address");
        let diff = app.get_with("/s/d1/@@history?a=0&b=1", &[("cookie", &c)]).await.body;
        assert!(diff.contains("Motivation") && diff.contains("trottoirs"), "{diff}");
        assert!(!diff.contains("Dispositif"), "an unchanged field is not in the comparison");
    }
}
