//! HTTP authentication: @login tokens, Bearer and Basic, logout, site walls, @sharing.

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use beffroi_model::Login;
use beffroi_model::security::{Principal, Role};
use beffroi_service::{NewUser, Secret, SiteRow};
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Reply, TestApp, TestDb, path};

async fn setup(db: &TestDb) -> SiteRow {
    let s = db.site("namur").await;
    db.user(&s, "marie", "correct horse battery", "Marie Dupont", &[Role::Editor]).await;
    db.add(&s, "", "Folder", json!({"title": "Interne"})).await;
    db.services.force_state(&Principal::System, &s, &path("/interne"), "private").await.unwrap();
    s
}

async fn post(app: &TestApp, uri: &str, body: Value, auth: Option<&str>) -> Reply {
    let mut b = Request::post(uri)
        .header("host", "localhost")
        .header("accept", "application/json")
        .header("content-type", "application/json");
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    app.request(b.body(Body::from(body.to_string())).unwrap()).await
}

async fn login(app: &TestApp, site: &str) -> String {
    let r = post(app, &format!("/{site}/@login"), json!({"login": "marie", "password": "correct horse battery"}), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["token"].as_str().unwrap().to_owned()
}

both_backends! {
    async fn login_token_opens_private_content(db) {
        setup(&db).await;
        let app = TestApp::new(&db).await;
        let anon = app.get_json("/namur/interne").await;
        assert_eq!(anon.status, 401);
        assert_eq!(anon.json()["type"], "Unauthorized");
        assert_eq!(app.get_json("/namur").await.json()["items_total"], 0, "hidden from anonymous listings");
        let token = login(&app, "namur").await;
        assert_eq!(token.split('.').count(), 3);
        let bearer = format!("Bearer {token}");
        let r = app.get_with("/namur/interne", &[("accept", "application/json"), ("authorization", &bearer)]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["title"], "Interne");
        let root = app.get_with("/namur", &[("accept", "application/json"), ("authorization", &bearer)]).await;
        assert_eq!(root.json()["items_total"], 1);
    }

    async fn bad_credentials_get_401_and_bad_bodies_400(db) {
        setup(&db).await;
        let app = TestApp::new(&db).await;
        let r = post(&app, "/namur/@login", json!({"login": "marie", "password": "nope"}), None).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json(), json!({"type": "Unauthorized", "message": "Wrong login and/or password."}));
        let r = post(&app, "/namur/@login", json!({"login": "ghost", "password": "correct horse battery"}), None).await;
        assert_eq!(r.status, 401);
        let r = post(&app, "/namur/@login", json!({"login": "marie"}), None).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["type"], "BadRequest");
        let raw = Request::post("/namur/@login").header("host", "localhost").header("accept", "application/json").body(Body::from("{nope")).unwrap();
        assert_eq!(app.request(raw).await.status, 400);
        let big = Request::post("/namur/@login").header("host", "localhost").header("accept", "application/json").body(Body::from(vec![b'x'; 2 * 1024 * 1024])).unwrap();
        assert_eq!(app.request(big).await.status, 413);
        for bad in ["Bearer nonsense", "Bearer a.b.c", "Digest x", "Basic !!!"] {
            let r = app.get_with("/namur", &[("accept", "application/json"), ("authorization", bad)]).await;
            assert_eq!(r.status, 401, "{bad}");
        }
    }

    async fn tokens_and_passwords_do_not_cross_sites(db) {
        setup(&db).await;
        let other = db.site("liege").await;
        db.add(&other, "", "Folder", json!({"title": "Interne"})).await;
        db.services.force_state(&Principal::System, &other, &path("/interne"), "private").await.unwrap();
        let app = TestApp::new(&db).await;
        let token = login(&app, "namur").await;
        let r = app.get_with("/liege/interne", &[("accept", "application/json"), ("authorization", &format!("Bearer {token}"))]).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["message"], "This token is not valid on this site.");
        let r = post(&app, "/liege/@login", json!({"login": "marie", "password": "correct horse battery"}), None).await;
        assert_eq!(r.status, 401, "marie is a user of namur only");
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("marie:correct horse battery"));
        assert_eq!(app.get_with("/liege/interne", &[("accept", "application/json"), ("authorization", &basic)]).await.status, 401);
        assert_eq!(app.get_with("/namur/interne", &[("accept", "application/json"), ("authorization", &basic)]).await.status, 200);
    }

    async fn logout_revokes_and_renew_replaces(db) {
        setup(&db).await;
        let app = TestApp::new(&db).await;
        let t1 = login(&app, "namur").await;
        let r = post(&app, "/namur/@login-renew", json!({}), Some(&format!("Bearer {t1}"))).await;
        assert_eq!(r.status, 200);
        let t2 = r.json()["token"].as_str().unwrap().to_owned();
        assert_ne!(t1, t2);
        let h = |t: &str| format!("Bearer {t}");
        assert_eq!(app.get_with("/namur/interne", &[("accept", "application/json"), ("authorization", &h(&t1))]).await.status, 401);
        assert_eq!(app.get_with("/namur/interne", &[("accept", "application/json"), ("authorization", &h(&t2))]).await.status, 200);
        let r = post(&app, "/namur/@logout", json!({}), Some(&h(&t2))).await;
        assert_eq!(r.status, 204);
        assert_eq!(app.get_with("/namur/interne", &[("accept", "application/json"), ("authorization", &h(&t2))]).await.status, 401);
        assert_eq!(post(&app, "/namur/@logout", json!({}), None).await.status, 401);
        // A disabled user's tokens stop working at once.
        let t3 = login(&app, "namur").await;
        db.services.set_enabled(&Principal::System, &db.services.site(&beffroi_model::SiteId::parse("namur").unwrap()).await.unwrap().unwrap(), "marie", false).await.unwrap();
        assert_eq!(app.get_with("/namur", &[("accept", "application/json"), ("authorization", &h(&t3))]).await.status, 401);
    }

    async fn sharing_endpoint_speaks_plone_restapi(db) {
        let s = setup(&db).await;
        db.user(&s, "admin", "admin password", "Admin", &[Role::Manager]).await;
        let app = TestApp::new(&db).await;
        let admin = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("admin:admin password"));
        assert_eq!(app.get_json("/namur/interne/@sharing").await.status, 401);
        let body = json!({"entries": [{"id": "marie", "type": "user", "roles": {"Reader": true, "Editor": false}}], "inherit": true});
        assert_eq!(post(&app, "/namur/interne/@sharing", body.clone(), None).await.status, 401);
        let r = post(&app, "/namur/interne/@sharing", body, Some(&admin)).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let g = app.get_with("/namur/interne/@sharing", &[("accept", "application/json"), ("authorization", &admin)]).await.json();
        assert_eq!(g["inherit"], true);
        assert_eq!(g["available_roles"][0], json!({"id": "Contributor", "title": "Can add"}));
        let marie = g["entries"].as_array().unwrap().iter().find(|e| e["id"] == "marie").unwrap();
        assert_eq!(marie["type"], "user");
        assert_eq!(marie["title"], "Marie Dupont");
        assert_eq!(marie["roles"]["Reader"], true);
        assert_eq!(marie["roles"]["Editor"], false);
        assert!(g["entries"].as_array().unwrap().iter().any(|e| e["id"] == "AuthenticatedUsers" && e["type"] == "group"));
        let bad = json!({"entries": [{"id": "marie", "type": "user", "roles": {"Manager": true}}]});
        assert_eq!(post(&app, "/namur/interne/@sharing", bad, Some(&admin)).await.status, 400);
        let ghost = json!({"entries": [{"id": "ghost", "type": "user", "roles": {"Reader": true}}]});
        assert_eq!(post(&app, "/namur/interne/@sharing", ghost, Some(&admin)).await.status, 400);
    }
}

mod users_and_groups {
    use super::*;

    both_backends! {
        async fn users_and_groups_endpoints(db) {
            let s = setup(&db).await;
            db.services.create_operator(&Principal::System, &Login::parse("ops").unwrap(), "operator password", "Ops").await.unwrap();
            let app = TestApp::new(&db).await;
            let ops = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ops:operator password"));
            let marie = format!("Bearer {}", login(&app, "namur").await);
            // Only managers list and create; marie may read herself.
            assert_eq!(app.get_json("/namur/@users").await.status, 401);
            assert_eq!(app.get_with("/namur/@users", &[("accept", "application/json"), ("authorization", &marie)]).await.status, 401);
            let me = app.get_with("/namur/@users/marie", &[("accept", "application/json"), ("authorization", &marie)]).await;
            assert_eq!(me.status, 200);
            assert_eq!(me.json()["fullname"], "Marie Dupont");
            assert!(me.json().get("password_hash").is_none() && !me.body.contains("argon2"));
            let new = json!({"username": "noam", "password": "colorless green", "fullname": "Noam", "email": "noam@example.org", "roles": ["Contributor"]});
            assert_eq!(post(&app, "/namur/@users", new.clone(), Some(&marie)).await.status, 401);
            let r = post(&app, "/namur/@users", new.clone(), Some(&ops)).await;
            assert_eq!(r.status, 201, "{}", r.body);
            assert_eq!(r.header("location"), "http://localhost/namur/@users/noam");
            assert_eq!(r.json()["roles"], json!(["Contributor"]));
            assert_eq!(post(&app, "/namur/@users", new, Some(&ops)).await.status, 409);
            assert_eq!(post(&app, "/namur/@users", json!({"username": "x y", "password": "long enough"}), Some(&ops)).await.status, 400);
            let g = json!({"groupname": "fwt", "title": "Framework Team", "roles": ["Reviewer"], "users": ["marie", "noam"]});
            let r = post(&app, "/namur/@groups", g, Some(&ops)).await;
            assert_eq!(r.status, 201, "{}", r.body);
            assert_eq!(r.json()["members"]["items"], json!(["marie", "noam"]));
            assert_eq!(r.json()["roles"], json!(["Reviewer", "Authenticated"]));
            let bad = json!({"groupname": "g2", "users": ["ghost"]});
            assert_eq!(post(&app, "/namur/@groups", bad, Some(&ops)).await.status, 400);
            assert_eq!(app.get_with("/namur/@groups/g2", &[("accept", "application/json"), ("authorization", &ops)]).await.status, 404, "nothing half-written");
            let list = app.get_with("/namur/@users", &[("accept", "application/json"), ("authorization", &ops)]).await.json();
            assert_eq!(list["items_total"], 2);
            let noam = list["items"].as_array().unwrap().iter().find(|u| u["id"] == "noam").unwrap();
            assert_eq!(noam["groups"]["items_total"], 2);
            let groups = app.get_with("/namur/@groups", &[("accept", "application/json"), ("authorization", &ops)]).await.json();
            assert_eq!(groups.as_array().unwrap().len(), 1);
            let _ = s;
        }
    }
}

mod leaks {
    use super::*;

    both_backends! {
        async fn breadcrumbs_and_parent_hide_folders_the_visitor_may_not_see(db) {
            let s = setup(&db).await;
            let sys = Principal::System;
            db.add(&s, "/interne", "Document", json!({"title": "Note partagée"})).await;
            db.services.force_state(&sys, &s, &path("/interne/note-partagee"), "private").await.unwrap();
            db.services
                .update_sharing(&sys, &s, &path("/interne/note-partagee"), beffroi_service::SharingChange {
                    entries: vec![(beffroi_model::security::Grantee::User("marie".into()), vec![(Role::Reader, true)])],
                    inherit: None,
                })
                .await
                .unwrap();
            // marie is an Editor globally, which sees private items: use a plain member.
            db.services
                .create_user(&sys, &s, NewUser { login: Login::parse("jean").unwrap(), password: Secret("jean password".into()), fullname: String::new(), email: String::new(), roles: vec![] })
                .await
                .unwrap();
            db.services
                .update_sharing(&sys, &s, &path("/interne/note-partagee"), beffroi_service::SharingChange {
                    entries: vec![(beffroi_model::security::Grantee::User("jean".into()), vec![(Role::Reader, true)])],
                    inherit: None,
                })
                .await
                .unwrap();
            let app = TestApp::new(&db).await;
            let jean = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("jean:jean password"));
            let h = [("accept", "application/json"), ("authorization", jean.as_str())];
            assert_eq!(app.get_with("/namur/interne", &h).await.status, 401);
            let v = app.get_with("/namur/interne/note-partagee", &h).await.json();
            assert_eq!(v["title"], "Note partagée");
            assert_eq!(v["parent"], json!({"@id": "http://localhost/namur/interne", "@type": "Folder"}));
            let b = app.get_with("/namur/interne/note-partagee/@breadcrumbs", &h).await.json();
            assert_eq!(b["items"].as_array().unwrap().len(), 1, "{b}");
            let html = app.get_with("/namur/interne/note-partagee", &[("authorization", jean.as_str())]).await.body;
            assert!(!html.contains(">Interne<"), "no folder title in the breadcrumbs or the menu");
        }
    }
}

mod user_updates {
    use super::*;

    async fn send(app: &TestApp, method: &str, uri: &str, body: Value, auth: &str) -> Reply {
        app.send_json(method, uri, auth, body).await
    }

    both_backends! {
        async fn users_and_groups_are_changed_and_deleted(db) {
            let s = setup(&db).await;
            let sys = Principal::System;
            db.services.create_operator(&sys, &Login::parse("ops").unwrap(), "operator password", "Ops").await.unwrap();
            db.user(&s, "noam", "noam password", "Noam", &[]).await;
            db.services.create_group(&sys, &s, "fwt", "FWT", vec![]).await.unwrap();
            db.services
                .update_sharing(&sys, &s, &path("/interne"), beffroi_service::SharingChange {
                    entries: vec![
                        (beffroi_model::security::Grantee::User("noam".into()), vec![(Role::Reader, true)]),
                        (beffroi_model::security::Grantee::Group("fwt".into()), vec![(Role::Editor, true)]),
                    ],
                    inherit: None,
                })
                .await
                .unwrap();
            let app = TestApp::new(&db).await;
            let ops = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ops:operator password"));
            let marie = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("marie:correct horse battery"));
            assert_eq!(send(&app, "PATCH", "/namur/@users/marie", json!({"fullname": "Marie D."}), &marie).await.status, 204, "her own name");
            assert_eq!(send(&app, "PATCH", "/namur/@users/marie", json!({"roles": ["Manager"]}), &marie).await.status, 401, "not her own roles");
            assert_eq!(send(&app, "PATCH", "/namur/@users/marie", json!({"colour": "blue"}), &ops).await.status, 400);
            assert_eq!(send(&app, "PATCH", "/namur/@users/noam", json!({"roles": ["Reviewer"], "password": "a new password"}), &ops).await.status, 204);
            assert_eq!(send(&app, "PATCH", "/namur/@users/ghost", json!({"fullname": "x"}), &ops).await.status, 404);
            let noam = db.services.authenticate(&s, "noam", "a new password").await.unwrap().unwrap();
            assert!(matches!(&noam, Principal::User { roles, .. } if roles == &[Role::Reviewer]));
            let r = send(&app, "PATCH", "/namur/@groups/fwt", json!({"title": "Framework", "users": {"marie": true, "noam": true}}), &ops).await;
            assert_eq!(r.status, 204, "{}", r.body);
            assert_eq!(send(&app, "PATCH", "/namur/@groups/fwt", json!({"users": {"noam": false}}), &ops).await.status, 204);
            let g = db.services.group(&sys, &s, "fwt").await.unwrap();
            assert_eq!((g.title.as_str(), g.members.clone()), ("Framework", vec!["marie".to_owned()]));
            assert_eq!(send(&app, "DELETE", "/namur/@users/noam", json!({}), &marie).await.status, 401);
            assert_eq!(send(&app, "DELETE", "/namur/@users/noam", json!({}), &ops).await.status, 204);
            assert_eq!(send(&app, "DELETE", "/namur/@users/noam", json!({}), &ops).await.status, 404);
            assert_eq!(send(&app, "DELETE", "/namur/@groups/fwt", json!({}), &ops).await.status, 204);
            let sh = db.services.sharing(&sys, &s, &path("/interne")).await.unwrap();
            assert!(sh.entries.iter().all(|e| e.roles.iter().all(|(_, o)| *o == beffroi_service::RoleOrigin::No)), "their local roles are gone: {sh:?}");
            assert_eq!(send(&app, "PUT", "/namur/interne", json!({}), &ops).await.status, 405, "no PUT on content");
        }
    }
}
