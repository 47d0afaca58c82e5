//! REST writes of content, plone.restapi's way: POST, PATCH (fields, id, ordering),
//! DELETE, @move, and If-Match.

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use beffroi_model::security::{Principal, Role};

use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Reply, TestApp, TestDb};

async fn editor(db: &TestDb) -> (beffroi_service::SiteRow, String) {
    let s = db.site("s").await;
    db.user(&s, "ed", "editor password", "", &[Role::SiteAdministrator]).await;
    (s, format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ed:editor password")))
}

async fn send(app: &TestApp, method: &str, uri: &str, body: Value, headers: &[(&str, &str)]) -> Reply {
    let mut b =
        Request::builder().method(method).uri(uri).header("host", "localhost").header("accept", "application/json");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    app.request(b.body(Body::from(body.to_string())).unwrap()).await
}

both_backends! {
    async fn post_patch_delete_like_plone_restapi(db) {
        let (_s, auth) = editor(&db).await;
        let app = TestApp::new(&db).await;
        let a = [("authorization", auth.as_str())];
        let r = send(&app, "POST", "/s", json!({"@type": "Folder", "title": "Actualités"}), &a).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.header("location"), "http://localhost/s/actualites");
        assert_eq!(r.json()["review_state"], "private");
        let r = send(&app, "POST", "/s/actualites", json!({"@type": "Document", "title": "Travaux", "text": {"content-type": "text/html", "data": "<p>x<script>y</script></p>"}}), &a).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.json()["text"]["data"], "<p>x</p>");
        let r = send(&app, "POST", "/s/actualites", json!({"@type": "Document", "id": "fixe", "title": "Avec id"}), &a).await;
        assert_eq!(r.header("location"), "http://localhost/s/actualites/fixe");
        // Bad input: clear 4xx, nothing written.
        let r = send(&app, "POST", "/s/actualites", json!({"@type": "Document", "description": "sans titre"}), &a).await;
        assert_eq!(r.status, 400);
        assert!(r.json()["message"].as_str().unwrap().contains("title"));
        assert_eq!(send(&app, "POST", "/s/actualites", json!({"title": "sans type"}), &a).await.status, 400);
        assert_eq!(send(&app, "POST", "/s/actualites", json!({"@type": "Nope", "title": "x"}), &a).await.status, 400);
        assert_eq!(send(&app, "POST", "/s/actualites/travaux", json!({"@type": "Document", "title": "x"}), &a).await.status, 400);
        assert_eq!(send(&app, "POST", "/s/actualites", json!({"@type": "Document", "title": "x"}), &[]).await.status, 401);
        let listing = send(&app, "GET", "/s/actualites", json!(null), &a).await.json();
        assert_eq!(listing["items_total"], 2);
        // PATCH with If-Match.
        let got = send(&app, "GET", "/s/actualites/travaux", json!(null), &a).await;
        let etag = got.header("etag").to_owned();
        let r = send(&app, "PATCH", "/s/actualites/travaux", json!({"title": "Travaux rue Haute"}), &[("authorization", &auth), ("if-match", &etag)]).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = send(&app, "PATCH", "/s/actualites/travaux", json!({"title": "Écrasé"}), &[("authorization", &auth), ("if-match", &etag)]).await;
        assert_eq!(r.status, 412, "a stale version");
        assert_eq!(r.json()["type"], "PreconditionFailed");
        assert_eq!(send(&app, "GET", "/s/actualites/travaux", json!(null), &a).await.json()["title"], "Travaux rue Haute");
        assert_eq!(send(&app, "PATCH", "/s/actualites/travaux", json!({"titel": "typo"}), &a).await.status, 400);
        // Rename through PATCH id; the old URL redirects.
        assert_eq!(send(&app, "PATCH", "/s/actualites/travaux", json!({"id": "rue-haute"}), &a).await.status, 204);
        assert_eq!(send(&app, "GET", "/s/actualites/travaux", json!(null), &a).await.status, 301);
        // Ordering.
        let r = send(&app, "PATCH", "/s/actualites", json!({"ordering": {"obj_id": "fixe", "delta": "top"}}), &a).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let ids: Vec<String> = send(&app, "GET", "/s/actualites", json!(null), &a).await.json()["items"].as_array().unwrap().iter().map(|i| i["@id"].as_str().unwrap().rsplit('/').next().unwrap().to_owned()).collect();
        assert_eq!(ids, ["fixe", "rue-haute"]);
        assert_eq!(send(&app, "PATCH", "/s/actualites", json!({"ordering": {"obj_id": "fixe", "delta": "sideways"}}), &a).await.status, 400);
        // @move into another folder.
        send(&app, "POST", "/s", json!({"@type": "Folder", "title": "Archives"}), &a).await;
        let r = send(&app, "POST", "/s/archives/@move", json!({"source": ["http://localhost/s/actualites/fixe"]}), &a).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json(), json!([{"source": "http://localhost/s/actualites/fixe", "target": "http://localhost/s/archives/fixe"}]));
        // DELETE.
        assert_eq!(send(&app, "DELETE", "/s/archives", json!(null), &[]).await.status, 401);
        assert_eq!(send(&app, "DELETE", "/s/archives", json!(null), &a).await.status, 204);
        assert_eq!(send(&app, "GET", "/s/archives/fixe", json!(null), &a).await.status, 404);
        assert_eq!(send(&app, "DELETE", "/s", json!(null), &a).await.status, 400, "not the site root");
    }
}

mod locks {
    use super::*;

    both_backends! {
        async fn locks_like_plone_locking(db) {
            let (s, ed) = editor(&db).await;
            for who in ["eva", "max"] {
                db.user(&s, who, "editor password", "", &[Role::Editor]).await;
            }
            db.add(&s, "", "Document", json!({"title": "Page"})).await;
            let app = TestApp::new(&db).await;
            let basic = |who: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{who}:editor password")));
            let (eva, max) = (basic("eva"), basic("max"));
            assert_eq!(send(&app, "GET", "/s/page", json!(null), &[]).await.json().get("lock"), None, "anonymous visitors see no lock");
            let r = send(&app, "POST", "/s/page/@lock", json!(null), &[("authorization", &eva)]).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let lock = r.json();
            assert_eq!((lock["locked"].as_bool(), lock["creator"].as_str(), lock["timeout"].as_i64()), (Some(true), Some("eva"), Some(600)));
            let token = lock["token"].as_str().unwrap().to_owned();
            let r = send(&app, "PATCH", "/s/page", json!({"title": "Par Ed"}), &[("authorization", &ed)]).await;
            assert_eq!(r.status, 423);
            assert_eq!(r.json(), json!({"type": "Locked", "message": "The item is locked by eva."}));
            assert_eq!(send(&app, "PATCH", "/s/page", json!({"title": "Par Ed"}), &[("authorization", &ed), ("lock-token", &token)]).await.status, 204, "the token opens it");
            assert_eq!(send(&app, "PATCH", "/s/page", json!({"title": "Par Eva"}), &[("authorization", &eva)]).await.status, 204, "the holder edits");
            let seen = send(&app, "GET", "/s/page/@lock", json!(null), &[("authorization", &ed)]).await.json();
            assert_eq!((seen["locked"].as_bool(), seen["token"].is_null()), (Some(true), true), "others never see the token");
            assert_eq!(send(&app, "GET", "/s/page", json!(null), &[("authorization", &ed)]).await.json()["lock"]["locked"], true);
            assert_eq!(send(&app, "PATCH", "/s/page/@lock", json!(null), &[("authorization", &ed)]).await.status, 423, "only the holder refreshes");
            assert_eq!(send(&app, "PATCH", "/s/page/@lock", json!(null), &[("authorization", &eva)]).await.status, 200);
            assert_eq!(send(&app, "DELETE", "/s/page/@lock", json!(null), &[("authorization", &max)]).await.status, 423, "not without force");
            let r = send(&app, "DELETE", "/s/page/@lock", json!({"force": true}), &[("authorization", &max)]).await;
            assert_eq!(r.status, 200, "stealable: an editor may take it");
            assert_eq!(r.json(), json!({"locked": false, "stealable": true}));
            // A non-stealable lock resists editors but not site managers.
            assert_eq!(send(&app, "POST", "/s/page/@lock", json!({"stealable": false, "timeout": 3600}), &[("authorization", &eva)]).await.status, 200);
            assert_eq!(send(&app, "POST", "/s/page/@lock", json!(null), &[("authorization", &max)]).await.status, 423);
            assert_eq!(send(&app, "DELETE", "/s/page/@lock", json!({"force": true}), &[("authorization", &max)]).await.status, 423);
            assert_eq!(send(&app, "DELETE", "/s/page/@lock", json!({"force": true}), &[("authorization", &ed)]).await.status, 200);
            assert_eq!(send(&app, "POST", "/s/page/@lock", json!({"timeout": 0}), &[("authorization", &eva)]).await.status, 400);
            assert_eq!(send(&app, "POST", "/s/page/@lock", json!(null), &[]).await.status, 401);
            let log = db.services.audit_log(&Principal::System, &s, 100).await.unwrap();
            assert_eq!(log.iter().filter(|a| a.action == "lock.steal").count(), 2);
        }

        async fn who_may_not_edit_learns_only_that_a_page_is_locked(db) {
            let (s, ed) = editor(&db).await;
            db.user(&s, "eva", "editor password", "", &[Role::Editor]).await;
            db.user(&s, "paul", "member password", "", &[Role::Member]).await;
            db.add(&s, "", "Document", json!({"title": "Page"})).await;
            let app = TestApp::new(&db).await;
            let eva = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("eva:editor password"));
            let paul = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("paul:member password"));
            assert_eq!(send(&app, "POST", "/s/page/@lock", json!({"stealable": false}), &[("authorization", &eva)]).await.status, 200);
            // Visitors and members: locked or not, stealable or not; not who, since when, nor the token.
            let r = send(&app, "GET", "/s/page/@lock", json!(null), &[]).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.json(), json!({"locked": true, "stealable": false}));
            assert_eq!(send(&app, "GET", "/s/page/@lock", json!(null), &[("authorization", &paul)]).await.json(), json!({"locked": true, "stealable": false}));
            assert_eq!(send(&app, "GET", "/s/page", json!(null), &[("authorization", &paul)]).await.json()["lock"], json!({"locked": true, "stealable": false}));
            assert_eq!(send(&app, "PATCH", "/s/page/@lock", json!(null), &[("authorization", &paul)]).await.status, 401, "nor may they renew it");
            // The holder and the editors: the whole lock (the token to its holder only).
            let mine = send(&app, "GET", "/s/page/@lock", json!(null), &[("authorization", &eva)]).await.json();
            assert_eq!((mine["creator"].as_str(), mine["token"].is_string(), mine["created"].is_string()), (Some("eva"), true, true));
            for who in [&ed, &eva] {
                for uri in ["/s/page/@lock", "/s/page"] {
                    let v = send(&app, "GET", uri, json!(null), &[("authorization", who)]).await.json();
                    let lock = if uri.ends_with("@lock") { &v } else { &v["lock"] };
                    assert_eq!((lock["creator"].as_str(), lock["creator_name"].as_str(), lock["time"].is_number()), (Some("eva"), Some("eva"), true), "{uri}");
                }
            }
            assert!(send(&app, "GET", "/s/page/@lock", json!(null), &[("authorization", &ed)]).await.json()["token"].is_null());
        }
    }
}

mod versions {
    use super::*;

    both_backends! {
        async fn every_save_is_a_revision_that_can_be_read_and_reverted(db) {
            let (_s, ed) = editor(&db).await;
            let app = TestApp::new(&db).await;
            let a = [("authorization", ed.as_str())];
            let r = send(&app, "POST", "/s", json!({"@type": "Document", "title": "Règlement", "text": {"data": "<p>v1</p>"}, "changeNote": "Première version"}), &a).await;
            assert_eq!(r.status, 201, "{}", r.body);
            assert_eq!(send(&app, "PATCH", "/s/reglement", json!({"title": "Règlement modifié", "text": {"data": "<p>v2</p>"}, "changeNote": "Correction"}), &a).await.status, 204);
            let h = send(&app, "GET", "/s/reglement/@history", json!(null), &a).await;
            assert_eq!(h.status, 200, "{}", h.body);
            let h = h.json();
            let versions: Vec<_> = h.as_array().unwrap().iter().filter(|e| e["type"] == "versioning").map(|e| (e["version"].as_i64().unwrap(), e["comments"].as_str().unwrap().to_owned())).collect();
            assert_eq!(versions, [(1, "Correction".to_owned()), (0, "Première version".to_owned())], "newest first");
            assert!(h.as_array().unwrap().iter().any(|e| e["type"] == "workflow" && e["review_state"] == "private"));
            assert_eq!(h[0]["@id"], "http://localhost/s/reglement/@history/1");
            assert_eq!(h[0]["actor"]["id"], "ed");
            assert_eq!(h[0]["may_revert"], true);
            let old = send(&app, "GET", "/s/reglement/@history/0", json!(null), &a).await.json();
            assert_eq!((old["title"].as_str(), old["text"]["data"].as_str(), old["version"].as_i64()), (Some("Règlement"), Some("<p>v1</p>"), Some(0)));
            assert_eq!(send(&app, "GET", "/s/reglement/@history/9", json!(null), &a).await.status, 404);
            let r = send(&app, "PATCH", "/s/reglement/@history", json!({"version": 0}), &a).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let now = send(&app, "GET", "/s/reglement", json!(null), &a).await.json();
            assert_eq!((now["title"].as_str(), now["text"]["data"].as_str()), (Some("Règlement"), Some("<p>v1</p>")));
            let h = send(&app, "GET", "/s/reglement/@history", json!(null), &a).await.json();
            assert_eq!(h[0]["comments"], "Reverted to revision 0");
            assert_eq!(h[0]["version"], 2);
            assert_eq!(send(&app, "PATCH", "/s/reglement/@history", json!({"version": 7}), &a).await.status, 404);
            assert_eq!(send(&app, "GET", "/s/reglement/@history", json!(null), &[]).await.status, 401);
            // Folders are not versioned: no versioning entries.
            send(&app, "POST", "/s", json!({"@type": "Folder", "title": "Dossier"}), &a).await;
            send(&app, "PATCH", "/s/dossier", json!({"title": "Dossier 2"}), &a).await;
            let fh = send(&app, "GET", "/s/dossier/@history", json!(null), &a).await.json();
            assert!(fh.as_array().unwrap().iter().all(|e| e["type"] == "workflow"));
        }
    }
}

mod forms {
    use super::*;

    use crate::support::csrf;

    async fn session(app: &TestApp) -> String {
        app.session("ed", "editor password").await
    }

    async fn post(app: &TestApp, uri: &str, cookie: &str, body: String) -> Reply {
        app.request(
            Request::post(uri)
                .header("host", "localhost")
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    both_backends! {
        async fn editors_add_edit_and_delete_without_javascript(db) {
            editor(&db).await;
            let app = TestApp::new(&db).await;
            assert_eq!(app.get("/s/@@add?type=Document").await.status, 302, "anonymous → login");
            let c = session(&app).await;
            let home = app.get_with("/s", &[("cookie", &c)]).await.body;
            assert!(home.contains("<summary>Ajouter</summary>") && home.contains("/s/@@add?type=Document\">Page</a>") && home.contains("?type=Folder\">Dossier</a>"), "{home}");
            let form = app.get_with("/s/@@add?type=Document", &[("cookie", &c)]).await;
            assert_eq!(form.status, 200);
            assert!(form.body.contains("<label for=\"field-title\">Titre <span class=\"required\">(obligatoire)</span></label>"), "{}", form.body);
            assert!(form.body.contains("<textarea id=\"field-text\" name=\"text\""));
            let token = csrf(&form.body);
            let r = post(&app, "/s/@@add?type=Document", &c, format!("_csrf={token}&title=&description=Gard%C3%A9e")).await;
            assert_eq!(r.status, 400);
            assert!(r.body.contains("role=\"alert\"") && r.body.contains("aria-invalid=\"true\""));
            assert!(r.body.contains(">Gardée</textarea>"), "the input is kept");
            // A preview shows the cleaned values and saves nothing.
            let r = post(&app, "/s/@@add?type=Document", &c, format!("_csrf={token}&_preview=1&title=Essai&text=%3Cp%3EBonjour%3Cscript%3Ex%3C%2Fscript%3E%3C%2Fp%3E")).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(r.body.contains("class=\"preview\"") && r.body.contains("<div class=\"rich-text\"><p>Bonjour</p></div>"), "{}", r.body);
            assert_eq!(app.get_with("/s/essai", &[("cookie", &c)]).await.status, 404);
            let r = post(&app, "/s/@@add?type=Document", &c, format!("_csrf={token}&title=Horaires+d%27%C3%A9t%C3%A9&text=%3Cp%3EDu+lundi%3C%2Fp%3E&subjects=horaires%2C+%C3%A9t%C3%A9")).await;
            assert_eq!(r.status, 303, "{}", r.body);
            assert_eq!(r.header("location"), "http://localhost/s/horaires-d-ete");
            let page = app.get_with("/s/horaires-d-ete", &[("cookie", &c)]).await.body;
            assert!(page.contains("<p>Du lundi</p>"));
            let edit = app.get_with("/s/horaires-d-ete/@@edit", &[("cookie", &c)]).await;
            assert!(edit.body.contains("value=\"horaires, été\""), "subjects shown");
            let r = post(&app, "/s/horaires-d-ete/@@edit", &c, format!("_csrf={token}&title=Horaires&text=%3Cp%3EMardi%3C%2Fp%3E&exclude_from_nav=on")).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let json = app.get_with("/s/horaires-d-ete", &[("cookie", &c), ("accept", "application/json")]).await.json();
            assert_eq!((json["title"].as_str(), json["exclude_from_nav"].as_bool()), (Some("Horaires"), Some(true)));
            assert_eq!(post(&app, "/s/horaires-d-ete/@@edit", &c, "title=Sans+jeton".into()).await.status, 403);
            // Delete a folder with what is inside, after a confirmation.
            post(&app, "/s/@@add?type=Folder", &c, format!("_csrf={token}&title=Archives")).await;
            post(&app, "/s/archives/@@add?type=Document", &c, format!("_csrf={token}&title=A")).await;
            post(&app, "/s/archives/@@add?type=Document", &c, format!("_csrf={token}&title=B")).await;
            let confirm = app.get_with("/s/archives/@@delete", &[("cookie", &c)]).await;
            assert!(confirm.body.contains("Il contient 2 éléments, qui seront supprimés aussi."), "{}", confirm.body);
            let r = post(&app, "/s/archives/@@delete", &c, format!("_csrf={token}")).await;
            assert_eq!(r.status, 303);
            assert_eq!(r.header("location"), "http://localhost/s");
            assert_eq!(app.get_with("/s/archives/a", &[("cookie", &c)]).await.status, 404);
            assert_eq!(app.get_with("/s/horaires-d-ete/@@add?type=Document", &[("cookie", &c)]).await.status, 400, "a page holds nothing");
        }

        async fn the_edit_form_locks_and_refuses_to_overwrite_a_newer_save(db) {
            let (s, _) = editor(&db).await;
            db.user(&s, "marie", "marie password", "", &[beffroi_model::security::Role::SiteAdministrator]).await;
            db.add(&s, "/", "Document", json!({"title": "Horaires", "description": "Lundi"})).await;
            let app = TestApp::new(&db).await;
            let c = session(&app).await;
            let form = app.get_with("/s/horaires/@@edit", &[("cookie", &c)]).await;
            let token = csrf(&form.body);
            let seen = {
                let i = form.body.find("name=\"_seen\" value=\"").expect("the version the form started from") + 20;
                form.body[i..].split('"').next().unwrap().to_owned()
            };
            // Opening the form took the lock: another editor is told, and cannot save.
            let marie = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("marie:marie password"));
            let lock = app.get_with("/s/horaires/@lock", &[("accept", "application/json"), ("authorization", &marie)]).await.json();
            assert_eq!((lock["locked"].as_bool(), lock["creator"].as_str()), (Some(true), Some("ed")));
            let other = app.get_with("/s/horaires/@@edit", &[("authorization", &marie)]).await;
            assert!(other.body.contains("ed modifie cet élément en ce moment"), "{}", other.body);
            let r = send(&app, "PATCH", "/s/horaires", json!({"description": "Mardi"}), &[("authorization", &marie)]).await;
            assert_eq!(r.status, 423);
            // Marie takes over (the lock is stealable), saves; the first form is now stale.
            let r = app.request(Request::post("/s/horaires/@@edit").header("host", "localhost").header("authorization", &marie)
                .header("content-type", "application/x-www-form-urlencoded").body(Body::from("_steal=1")).unwrap()).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let r = send(&app, "PATCH", "/s/horaires", json!({"description": "Mardi"}), &[("authorization", &marie)]).await;
            assert_eq!(r.status, 204, "{}", r.body);
            let r = post(&app, "/s/horaires/@@edit", &c, format!("_csrf={token}&_seen={seen}&title=Horaires&description=Mercredi")).await;
            assert_eq!(r.status, 409, "{}", r.body);
            assert!(r.body.contains("<td>Mardi</td><td>Mercredi</td>"), "both versions shown: {}", r.body);
            let json = app.get_json("/s/horaires").await.json();
            assert_eq!(json["description"], "Mardi", "nothing overwritten");
            // Saving again, knowingly, keeps the editor's version and releases the lock.
            let i = r.body.find("name=\"_seen\" value=\"").unwrap() + 20;
            let seen2 = r.body[i..].split('"').next().unwrap().to_owned();
            let r = post(&app, "/s/horaires/@@edit", &c, format!("_csrf={token}&_seen={seen2}&title=Horaires&description=Mercredi")).await;
            assert_eq!(r.status, 303, "{}", r.body);
            assert_eq!(app.get_json("/s/horaires").await.json()["description"], "Mercredi");
            let lock = app.get_with("/s/horaires/@lock", &[("accept", "application/json"), ("authorization", &marie)]).await.json();
            assert_eq!(lock["locked"], false);
            // Cancel releases the lock too.
            app.get_with("/s/horaires/@@edit", &[("cookie", &c)]).await;
            let r = post(&app, "/s/horaires/@@edit", &c, format!("_csrf={token}&_cancel=1")).await;
            assert_eq!(r.status, 303);
            let lock = app.get_with("/s/horaires/@lock", &[("accept", "application/json"), ("authorization", &marie)]).await.json();
            assert_eq!(lock["locked"], false);
        }

        async fn history_shows_compares_and_reverts_versions(db) {
            let (s, auth) = editor(&db).await;
            let app = TestApp::new(&db).await;
            let h = [("authorization", auth.as_str())];
            let r = send(&app, "POST", "/s", json!({"@type": "Document", "title": "Règlement", "text": {"content-type": "text/html", "data": "<p>Le conseil se réunit lundi.</p>"}}), &h).await;
            assert_eq!(r.status, 201);
            let r = send(&app, "PATCH", "/s/reglement", json!({"text": {"content-type": "text/html", "data": "<p>Le conseil communal se réunit mardi.</p>"}, "changeNote": "Jour changé"}), &h).await;
            assert_eq!(r.status, 204);
            let c = session(&app).await;
            let page = app.get_with("/s/reglement/@@history", &[("cookie", &c)]).await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(page.body.contains("Jour changé") && page.body.contains("Version 1") && page.body.contains("Version 0"));
            let diff = app.get_with("/s/reglement/@@history?a=0&b=1", &[("cookie", &c)]).await;
            assert_eq!(diff.status, 200, "{}", diff.body);
            assert!(diff.body.contains("supprimé : </span>lundi") && diff.body.contains("ajouté : </span>communal") && diff.body.contains("ajouté : </span>mardi"), "{}", diff.body);
            let old = app.get_with("/s/reglement/@@history?version=0", &[("cookie", &c)]).await;
            assert!(old.body.contains("<p>Le conseil se réunit lundi.</p>"), "{}", old.body);
            assert_eq!(app.get_with("/s/reglement/@@history?version=9", &[("cookie", &c)]).await.status, 404);
            assert_eq!(app.get_with("/s/reglement/@@history?a=x&b=1", &[("cookie", &c)]).await.status, 400);
            let token = csrf(&page.body);
            let r = post(&app, "/s/reglement/@@history", &c, format!("_csrf={token}&revert=0")).await;
            assert_eq!(r.status, 200, "asked first");
            let r = post(&app, "/s/reglement/@@history", &c, format!("_csrf={token}&revert=0&confirm=1")).await;
            assert_eq!(r.status, 303);
            let v = send(&app, "GET", "/s/reglement", json!({}), &h).await.json();
            assert_eq!(v["text"]["data"], "<p>Le conseil se réunit lundi.</p>");
            // Anonymous visitors have no history.
            assert_ne!(app.get("/s/reglement/@@history").await.status, 200);
            // Retention: only the newest revisions stay.
            let kept = db.services.clone().with_revision_retention(2);
            for i in 0..4 {
                kept.update(&beffroi_model::security::Principal::System, &s, &crate::support::path("/reglement"), &crate::support::obj(json!({"description": format!("v{i}")}))).await.unwrap();
            }
            let hist = send(&app, "GET", "/s/reglement/@history", json!({}), &h).await.json();
            let versions: Vec<i64> = hist.as_array().unwrap().iter().filter(|e| e["type"] == "versioning").map(|e| e["version"].as_i64().unwrap()).collect();
            assert_eq!(versions, [6, 5]);
        }

        async fn internal_links_follow_their_target_when_it_moves(db) {
            let (s, auth) = editor(&db).await;
            db.add(&s, "/", "Folder", json!({"title": "Services"})).await;
            db.add(&s, "/services", "Document", json!({"title": "État civil"})).await;
            db.add(&s, "/", "Folder", json!({"title": "Archives"})).await;
            let app = TestApp::new(&db).await;
            let h = [("authorization", auth.as_str())];
            let text = r#"<p>Voir <a href="http://localhost/s/services/etat-civil#horaires">l'état civil</a>, <a href="https://example.org/x">ailleurs</a> et <a href="/s/services/nope">rien</a>.</p>"#;
            let r = send(&app, "POST", "/s", json!({"@type": "Document", "title": "Accueil", "text": {"content-type": "text/html", "data": text}}), &h).await;
            assert_eq!(r.status, 201, "{}", r.body);
            let uid = send(&app, "GET", "/s/services/etat-civil", json!({}), &h).await.json()["UID"].as_str().unwrap().to_owned();
            // Stored by UID…
            let stored = db.services.item(&beffroi_model::security::Principal::System, &s, &crate::support::path("/accueil")).await.unwrap();
            let data = stored.item.fields["text"]["data"].as_str().unwrap().to_owned();
            assert!(data.contains(&format!("href=\"resolveuid/{uid}#horaires\"")), "{data}");
            assert!(data.contains("https://example.org/x"), "external links stay");
            // …shown at the target's current address, before and after a move.
            let shown = send(&app, "GET", "/s/accueil", json!({}), &h).await.json();
            assert!(shown["text"]["data"].as_str().unwrap().contains("href=\"http://localhost/s/services/etat-civil#horaires\""));
            let r = send(&app, "POST", "/s/archives/@move", json!({"source": ["/services/etat-civil"]}), &h).await;
            assert_eq!(r.status, 200);
            let page = app.get_with("/s/accueil", &h).await;
            assert!(page.body.contains("href=\"http://localhost/s/archives/etat-civil#horaires\""), "{}", page.body);
            // resolveuid itself redirects.
            let r = app.get(&format!("/s/resolveuid/{uid}")).await;
            assert_eq!((r.status.as_u16(), r.header("location")), (302, "http://localhost/s/archives/etat-civil"));
            assert_eq!(app.get("/s/resolveuid/0123456789abcdef0123456789abcdef").await.status, 404);
        }

        async fn folder_contents_cut_copy_paste_reorder_rename_delete(db) {
            let (s, _) = editor(&db).await;
            db.add(&s, "/", "Folder", json!({"title": "Actualités"})).await;
            for t in ["Un", "Deux", "Trois"] {
                db.add(&s, "/actualites", "Document", json!({"title": t})).await;
            }
            db.add(&s, "/", "Folder", json!({"title": "Archives"})).await;
            let app = TestApp::new(&db).await;
            assert_eq!(app.get("/s/actualites/@@folder_contents").await.status, 302, "anonymous → login");
            let c = session(&app).await;
            let page = app.get_with("/s/actualites/@@folder_contents", &[("cookie", &c)]).await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(page.body.contains("aria-label=\"Descendre « Un »\""), "{}", page.body);
            assert!(page.body.contains("name=\"sel\" value=\"deux\""));
            let token = csrf(&page.body);
            let order = |body: &str| -> Vec<String> {
                body.match_indices("data-item=\"").map(|(i, _)| body[i + 11..].split('"').next().unwrap().to_owned()).collect()
            };
            assert_eq!(order(&page.body), ["un", "deux", "trois"]);
            // Keyboard reordering: "down" on the first.
            let r = post(&app, "/s/actualites/@@folder_contents", &c, format!("_csrf={token}&down=un")).await;
            assert_eq!(r.status, 303);
            let page = app.get_with("/s/actualites/@@folder_contents", &[("cookie", &c)]).await;
            assert_eq!(order(&page.body), ["deux", "un", "trois"]);
            // What the script posts on a drop.
            post(&app, "/s/actualites/@@folder_contents", &c, format!("_csrf={token}&obj_id=trois&delta=-2")).await;
            let page = app.get_with("/s/actualites/@@folder_contents", &[("cookie", &c)]).await;
            assert_eq!(order(&page.body), ["trois", "deux", "un"]);
            // Copy two, paste in the archives.
            let r = post(&app, "/s/actualites/@@folder_contents", &c, format!("_csrf={token}&sel=un&sel=deux&action=copy")).await;
            assert_eq!(r.status, 303);
            let clip = r.header("set-cookie").split(';').next().unwrap().to_owned();
            assert!(clip.starts_with("beffroi_clipboard=copy"), "{clip}");
            let both = format!("{c}; {clip}");
            let r = post(&app, "/s/archives/@@folder_contents", &both, format!("_csrf={token}&action=paste")).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let page = app.get_with("/s/archives/@@folder_contents", &[("cookie", &both)]).await;
            assert_eq!(order(&page.body), ["un", "deux"]);
            // Cut one: pasting moves it and empties the clipboard.
            let r = post(&app, "/s/actualites/@@folder_contents", &c, format!("_csrf={token}&sel=trois&action=cut")).await;
            let clip = r.header("set-cookie").split(';').next().unwrap().to_owned();
            let r = post(&app, "/s/archives/@@folder_contents", &format!("{c}; {clip}"), format!("_csrf={token}&action=paste")).await;
            assert_eq!(r.status, 303);
            let cookies: Vec<&str> = r.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
            assert!(cookies.iter().any(|c| c.starts_with("beffroi_clipboard=") && c.contains("Max-Age=0")), "{cookies:?}");
            assert!(cookies.iter().any(|c| c.starts_with("beffroi_status=pasted")), "{cookies:?}");
            assert_eq!(app.get_with("/s/actualites/trois", &[("cookie", &c)]).await.status, 301, "moved away");
            // Rename.
            let r = post(&app, "/s/archives/un/@@rename", &c, format!("_csrf={token}&id=premier&title=Premier")).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let r = post(&app, "/s/archives/deux/@@rename", &c, format!("_csrf={token}&id=premier&title=Autre")).await;
            assert_eq!(r.status, 400, "the id is taken");
            let v = app.get_with("/s/archives/deux", &[("cookie", &c), ("accept", "application/json")]).await.json();
            assert_eq!(v["title"], "Deux", "a refused rename changes nothing");
            // Delete with a confirmation naming the items.
            let r = post(&app, "/s/archives/@@folder_contents", &c, format!("_csrf={token}&sel=premier&sel=deux&action=delete")).await;
            assert_eq!(r.status, 200);
            assert!(r.body.contains("Premier") && r.body.contains("value=\"confirm-delete\""));
            let r = post(&app, "/s/archives/@@folder_contents", &c, format!("_csrf={token}&sel=premier&sel=deux&action=confirm-delete")).await;
            assert_eq!(r.status, 303);
            let page = app.get_with("/s/archives/@@folder_contents", &[("cookie", &c)]).await;
            assert_eq!(order(&page.body), ["trois"]);
            let r = post(&app, "/s/archives/@@folder_contents", &c, format!("_csrf={token}&action=cut")).await;
            assert_eq!(r.status, 400, "nothing selected");
        }

        async fn a_collection_is_built_with_form_rows(db) {
            editor(&db).await;
            let app = TestApp::new(&db).await;
            let c = session(&app).await;
            let form = app.get_with("/s/@@add?type=Collection", &[("cookie", &c)]).await;
            assert_eq!(form.status, 200);
            assert!(form.body.contains("<select name=\"query-i-0\"") && form.body.contains(">est l&#39;un de</option>"), "{}", form.body);
            let token = csrf(&form.body);
            post(&app, "/s/@@add?type=Document", &c, format!("_csrf={token}&title=Budget+2027&subjects=finances")).await;
            post(&app, "/s/@@add?type=Document", &c, format!("_csrf={token}&title=Voirie&subjects=travaux")).await;
            // An operation that does not apply to its index is refused, the rows kept.
            let r = post(&app, "/s/@@add?type=Collection", &c, format!("_csrf={token}&title=Finances&query-i-0=Subject&query-o-0=date.today&query-v-0=finances&query-i-1=&query-o-1=string.is&query-v-1=")).await;
            assert_eq!(r.status, 400, "{}", r.body);
            assert!(r.body.contains("criterion 1"), "{}", r.body);
            let r = post(&app, "/s/@@add?type=Collection", &c, format!("_csrf={token}&title=Finances&query-i-0=Subject&query-o-0=selection.any&query-v-0=finances%2C+budget&query-i-1=portal_type&query-o-1=selection.any&query-v-1=Document&query-i-2=&query-o-2=string.is&query-v-2=")).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let json = app.get_with("/s/finances", &[("cookie", &c), ("accept", "application/json")]).await.json();
            assert_eq!(json["query"], json!([
                {"i": "Subject", "o": "plone.app.querystring.operation.selection.any", "v": ["finances", "budget"]},
                {"i": "portal_type", "o": "plone.app.querystring.operation.selection.any", "v": ["Document"]}]));
            assert_eq!(json["items_total"], 1, "{json}");
            // The edit form shows the rows and one empty row; removing a row drops it.
            let edit = app.get_with("/s/finances/@@edit", &[("cookie", &c)]).await.body;
            assert!(edit.contains("name=\"query-v-0\" value=\"finances, budget\"") && edit.contains("name=\"query-i-2\""), "{edit}");
            let r = post(&app, "/s/finances/@@edit", &c, format!("_csrf={token}&title=Finances&query-i-0=Subject&query-o-0=selection.any&query-v-0=finances&query-i-1=portal_type&query-o-1=selection.any&query-v-1=Document&query-x-1=1")).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let json = app.get_with("/s/finances", &[("cookie", &c), ("accept", "application/json")]).await.json();
            assert_eq!(json["query"].as_array().map(Vec::len), Some(1), "{json}");
        }
    }
}

mod type_rules {
    use super::*;
    use beffroi_model::schema::TypeRule;

    both_backends! {
        async fn a_site_chooses_which_types_go_where(db) {
            let (s, auth) = editor(&db).await;
            db.add(&s, "/", "Folder", json!({"title": "Actualités"})).await;
            let sys = Principal::System;
            let rule = TypeRule { allowed_types: Some(Some(vec!["News Item".into()])), global_allow: None };
            db.services.set_type_rule(&sys, &s, "Folder", rule).await.unwrap();
            db.services.set_type_rule(&sys, &s, "Event", TypeRule { allowed_types: None, global_allow: Some(false) }).await.unwrap();
            // Only site managers set rules, and only with known types.
            let ed = Principal::user("ed", &[Role::Editor]);
            assert!(db.services.set_type_rule(&ed, &s, "Folder", TypeRule::default()).await.is_err());
            let bad = TypeRule { allowed_types: Some(Some(vec!["Nope".into()])), global_allow: None };
            assert!(db.services.set_type_rule(&sys, &s, "Folder", bad).await.is_err());
            let app = TestApp::new(&db).await;
            let h = [("authorization", auth.as_str())];
            let r = send(&app, "POST", "/s/actualites", json!({"@type": "Document", "title": "Non"}), &h).await;
            assert_eq!(r.status, 400, "{}", r.body);
            let r = send(&app, "POST", "/s/actualites", json!({"@type": "News Item", "title": "Oui"}), &h).await;
            assert_eq!(r.status, 201, "{}", r.body);
            let r = send(&app, "POST", "/s", json!({"@type": "Event", "title": "Non", "start": "2030-01-01T10:00", "end": "2030-01-01T11:00"}), &h).await;
            assert_eq!(r.status, 400);
            let types = send(&app, "GET", "/s/actualites/@types", json!({}), &h).await.json();
            let addable: Vec<&str> = types.as_array().unwrap().iter().filter(|t| t["addable"] == true).map(|t| t["id"].as_str().unwrap()).collect();
            assert_eq!(addable, ["News Item"]);
            let page = app.get_with("/s/actualites", &h).await.body;
            assert!(page.contains("@@add?type=News Item") && !page.contains("@@add?type=Document"), "{page}");
            // Forgetting the rule gives the type file's rule back.
            db.services.set_type_rule(&sys, &s, "Folder", TypeRule::default()).await.unwrap();
            let r = send(&app, "POST", "/s/actualites", json!({"@type": "Document", "title": "Maintenant oui"}), &h).await;
            assert_eq!(r.status, 201);
        }
    }
}

mod copy {
    use super::*;

    both_backends! {
        async fn copy_makes_new_private_items_below_the_target(db) {
            let (s, auth) = editor(&db).await;
            db.add(&s, "/", "Folder", json!({"title": "Source"})).await;
            db.add(&s, "/source", "Document", json!({"title": "Règlement", "text": {"content-type": "text/html", "data": "<p>Article 1</p>"}})).await;
            db.add_private(&s, "/source", "Document", json!({"title": "Brouillon"})).await;
            db.add(&s, "/", "Folder", json!({"title": "Archives"})).await;
            let app = TestApp::new(&db).await;
            let h = [("authorization", auth.as_str())];
            let r = send(&app, "POST", "/s/archives/@copy", json!({"source": ["http://localhost/s/source"]}), &h).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.json(), json!([{"source": "http://localhost/s/source", "target": "http://localhost/s/archives/source"}]));
            let copy = send(&app, "GET", "/s/archives/source", json!({}), &h).await.json();
            let orig = send(&app, "GET", "/s/source", json!({}), &h).await.json();
            assert_ne!(copy["UID"], orig["UID"]);
            assert_eq!(copy["review_state"], "private", "a copy starts over in its workflow");
            assert_eq!(copy["creators"], json!(["ed"]));
            assert_eq!(copy["items_total"], 2);
            let page = send(&app, "GET", "/s/archives/source/reglement", json!({}), &h).await.json();
            assert_eq!(page["text"]["data"], "<p>Article 1</p>");
            // The original is untouched; a second copy gets another id.
            assert_eq!(orig["review_state"], "published");
            let r = send(&app, "POST", "/s/archives/@copy", json!({"source": "/source"}), &h).await;
            assert_eq!(r.json()[0]["target"], "http://localhost/s/archives/source-1");
            // The copy is found by search, and is private.
            let found = app.get_json("/s/@search?SearchableText=r%C3%A8glement").await.json();
            assert_eq!(found["items_total"], 1, "anonymous sees only the published original");
            // Into itself, or without the right to add: refused, nothing written.
            let r = send(&app, "POST", "/s/source/@copy", json!({"source": ["/source"]}), &h).await;
            assert_eq!(r.status, 400);
            let r = send(&app, "POST", "/s/archives/@copy", json!({"source": ["/source"]}), &[]).await;
            assert_eq!(r.status, 401);
            let r = send(&app, "POST", "/s/archives/@copy", json!({"source": ["/nope"]}), &h).await;
            assert_eq!(r.status, 404);
        }
    }
}
