//! Workflow: states decide who may do what; transitions are guarded, recorded, and
//! move the stored viewers — on both backends.

use beffroi_model::Login;
use beffroi_model::security::{Principal, Role};
use beffroi_service::{Found, NewUser, Secret, ServiceError, SiteRow, TransitionRequest};
use serde_json::json;

use crate::both_backends;
use crate::support::{TestApp, TestDb, obj, path};

async fn people(db: &TestDb, s: &SiteRow) -> (Principal, Principal) {
    for (login, roles) in [("jean", vec![Role::Contributor]), ("rita", vec![Role::Reviewer])] {
        db.services
            .create_user(
                &Principal::System,
                s,
                NewUser {
                    login: Login::parse(login).unwrap(),
                    password: Secret("long password".into()),
                    fullname: String::new(),
                    email: String::new(),
                    roles,
                },
            )
            .await
            .unwrap();
    }
    (db.services.principal(s, "jean").await.unwrap().unwrap(), db.services.principal(s, "rita").await.unwrap().unwrap())
}

fn go() -> TransitionRequest {
    TransitionRequest::default()
}

both_backends! {
    async fn simple_publication_from_draft_to_public(db) {
        let s = db.site("s").await;
        let (jean, rita) = people(&db, &s).await;
        let page = db.services.create(&jean, &s, &path(""), "Document", None, &obj(json!({"title": "Avis"}))).await.unwrap();
        assert_eq!(page.review_state.as_deref(), Some("private"), "new content starts private");
        assert!(matches!(db.services.get(&Principal::Anonymous, &s, &page.path).await, Err(ServiceError::Unauthorized)));
        assert!(matches!(db.services.get(&jean, &s, &page.path).await.unwrap(), Found::Item(_)), "the owner sees it");
        // The reviewer cannot publish a private item they cannot see? They can: the
        // guard is Review portal content, which the site gives Reviewers.
        let err = db.services.transition(&jean, &s, &page.path, "publish", go()).await.unwrap_err();
        assert!(matches!(err, ServiceError::Unauthorized), "a contributor may not publish");
        db.services.transition(&jean, &s, &page.path, "submit", TransitionRequest { comment: "à relire".into(), ..go() }).await.unwrap();
        let err = db.services.update(&jean, &s, &page.path, &obj(json!({"title": "Changé"}))).await.unwrap_err();
        assert!(matches!(err, ServiceError::Unauthorized), "pending: the owner no longer edits");
        let err = db.services.transition(&jean, &s, &page.path, "submit", go()).await.unwrap_err();
        assert!(matches!(err, ServiceError::BadRequest(_)), "not from pending");
        let err = db.services.transition(&rita, &s, &page.path, "fly", go()).await.unwrap_err();
        assert!(matches!(err, ServiceError::BadRequest(_)));
        let h = db.services.transition(&rita, &s, &page.path, "publish", go()).await.unwrap();
        assert_eq!((h.action.as_deref(), h.review_state.as_str(), h.actor.as_str()), (Some("publish"), "published", "rita"));
        let v = db.services.item(&Principal::Anonymous, &s, &page.path).await.unwrap();
        assert_eq!(v.item.review_state.as_deref(), Some("published"));
        assert!(v.item.effective.is_some(), "the first publication sets the effective date");
        let info = db.services.workflow_info(&jean, &s, &page.path).await.unwrap();
        let steps: Vec<_> = info.history.iter().map(|(h, _)| (h.action.clone(), h.review_state.clone())).collect();
        assert_eq!(steps, [(None, "private".into()), (Some("submit".into()), "pending".into()), (Some("publish".into()), "published".into())]);
        assert_eq!(info.history[1].0.comments, "à relire");
        assert_eq!(info.state, Some(("published".into(), "Publié".into())));
        let anon = db.services.workflow_info(&Principal::Anonymous, &s, &page.path).await.unwrap();
        assert!(anon.history.is_empty() && anon.transitions.is_empty());
        let names: Vec<_> = db.services.workflow_info(&rita, &s, &page.path).await.unwrap().transitions.into_iter().map(|t| t.0).collect();
        assert_eq!(names, ["reject"], "retracting is for the owner (Request review), not the reviewer");
    }

    async fn include_children_publishes_a_whole_folder(db) {
        let s = db.site("s").await;
        let sys = Principal::System;
        db.add_private(&s, "", "Folder", json!({"title": "Dossier"})).await;
        db.add_private(&s, "/dossier", "Document", json!({"title": "A"})).await;
        db.add_private(&s, "/dossier", "Folder", json!({"title": "Sous"})).await;
        db.add_private(&s, "/dossier/sous", "Document", json!({"title": "B"})).await;
        db.add(&s, "/dossier", "Document", json!({"title": "Déjà publié"})).await;
        db.services.transition(&sys, &s, &path("/dossier"), "publish", TransitionRequest { include_children: true, ..go() }).await.unwrap();
        for p in ["/dossier", "/dossier/a", "/dossier/sous", "/dossier/sous/b", "/dossier/deja-publie"] {
            let v = db.services.item(&Principal::Anonymous, &s, &path(p)).await.unwrap();
            assert_eq!(v.item.review_state.as_deref(), Some("published"), "{p}");
        }
        let v = db.services.item(&sys, &s, &path("")).await.unwrap();
        assert_eq!(db.services.children(&Principal::Anonymous, &s, &v, 0, 10).await.unwrap().total, 1);
    }

    async fn workflow_endpoint_speaks_plone_restapi(db) {
        let s = db.site("s").await;
        let (jean, _) = people(&db, &s).await;
        let page = db.services.create(&jean, &s, &path(""), "Document", None, &obj(json!({"title": "Page"}))).await.unwrap();
        let app = TestApp::new(&db).await;
        let basic0 = format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "rita:long password"));
        assert_eq!(app.get_with("/s/page/@workflow", &[("accept", "application/json"), ("authorization", &basic0)]).await.status, 401, "a private draft is not the reviewer's business");
        db.services.transition(&jean, &s, &page.path, "submit", go()).await.unwrap();
        let basic = |who: &str| format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{who}:long password")));
        let rita = basic("rita");
        let get = app.get_with("/s/page/@workflow", &[("accept", "application/json"), ("authorization", &rita)]).await;
        assert_eq!(get.status, 200, "{}", get.body);
        let v = get.json();
        assert_eq!(v["@id"], "http://localhost/s/page/@workflow");
        assert_eq!(v["state"], json!({"id": "pending", "title": "En attente de relecture"}));
        assert_eq!(v["transitions"][0]["@id"], "http://localhost/s/page/@workflow/publish");
        assert_eq!(v["history"][0]["action"], serde_json::Value::Null);
        assert_eq!(v["history"][0]["review_state"], "private");
        assert_eq!(v["history"][1]["action"], "submit");
        let post = |uri: &str, auth: Option<String>, body: &str| {
            let mut b = axum::http::Request::post(uri).header("host", "localhost").header("accept", "application/json");
            if let Some(a) = auth {
                b = b.header("authorization", a);
            }
            b.body(axum::body::Body::from(body.to_owned())).unwrap()
        };
        assert_eq!(app.request(post("/s/page/@workflow/publish", None, "")).await.status, 401);
        assert_eq!(app.request(post("/s/page/@workflow/publish", Some(basic("jean")), "")).await.status, 401);
        let r = app.request(post("/s/page/@workflow/publish", Some(rita.clone()), r#"{"comment": "OK", "effective": "2026-12-01T08:00"}"#)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        assert_eq!((v["action"].as_str(), v["review_state"].as_str(), v["title"].as_str(), v["comments"].as_str()), (Some("publish"), Some("published"), Some("Publié"), Some("OK")));
        let page = app.get_json("/s/page").await.json();
        assert_eq!(page["review_state"], "published");
        assert_eq!(page["effective"], "2026-12-01T08:00:00+00:00");
        assert_eq!(app.request(post("/s/page/@workflow/publish", Some(rita.clone()), "")).await.status, 400, "already published");
        assert_eq!(app.request(post("/s/page/@workflow/fly", Some(rita.clone()), "")).await.status, 400);
        assert_eq!(app.request(post("/s/page/@workflow/reject", Some(rita.clone()), "{bad")).await.status, 400);
        assert_eq!(app.request(post("/s/page/@workflow/reject", Some(rita), r#"{"effective": "soon"}"#)).await.status, 400);
        assert_eq!(app.get_json("/s/page").await.json()["review_state"], "published", "nothing changed half-way");
    }
}

mod html {
    use super::*;
    use crate::support::Reply;

    async fn session(app: &TestApp, who: &str) -> String {
        let r = app
            .request(
                axum::http::Request::post("/s/@@login")
                    .header("host", "localhost")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from(format!("login={who}&password=long+password")))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, 303);
        r.header("set-cookie").split(';').next().unwrap().to_owned()
    }

    fn csrf(r: &Reply) -> String {
        let i = r.body.find("name=\"_csrf\" value=\"").expect("a CSRF field") + 20;
        r.body[i..i + 64].to_owned()
    }

    both_backends! {
        async fn state_menu_and_review_list(db) {
            let s = db.site("s").await;
            let (jean, _) = people(&db, &s).await;
            db.services.create(&jean, &s, &path(""), "Document", None, &obj(json!({"title": "Projet d'avis"}))).await.unwrap();
            let app = TestApp::new(&db).await;
            let j = session(&app, "jean").await;
            let page = app.get_with("/s/projet-d-avis", &[("cookie", &j)]).await;
            assert_eq!(page.status, 200);
            assert!(page.body.contains("État : <strong>Privé</strong>"), "{}", page.body);
            assert!(page.body.contains("<option value=\"submit\">") && !page.body.contains("<option value=\"publish\">"));
            assert!(page.body.contains("<label for=\"wf-comment\">Commentaire (facultatif)</label>"));
            let r = app.post_form("/s/projet-d-avis/@@workflow", &j, format!("_csrf={}&transition=submit&comment=merci", csrf(&page))).await;
            assert_eq!(r.status, 303, "{}", r.body);
            assert_eq!(r.header("location"), "http://localhost/s/projet-d-avis");
            let r2 = app.post_form("/s/projet-d-avis/@@workflow", &j, format!("_csrf={}&transition=publish", csrf(&page))).await;
            assert_eq!(r2.status, 401, "a contributor may not publish");
            let rita = session(&app, "rita").await;
            let list = app.get_with("/s/@@review-list", &[("cookie", &rita)]).await;
            assert_eq!(list.status, 200);
            assert!(list.body.contains(">Projet d&#39;avis</a>"), "{}", list.body);
            assert!(list.body.contains("Créé par jean"));
            let jl = app.get_with("/s/@@review-list", &[("cookie", &j)]).await;
            assert!(jl.body.contains("Rien n&#39;attend de relecture."), "jean reviews nothing");
            let home = app.get_with("/s", &[("cookie", &rita)]).await;
            assert!(home.body.contains("/s/@@review-list\">À relire</a>"));
            let page = app.get_with("/s/projet-d-avis", &[("cookie", &rita)]).await;
            let r = app.post_form("/s/projet-d-avis/@@workflow", &rita, format!("_csrf={}&transition=publish", csrf(&page))).await;
            assert_eq!(r.status, 303);
            assert_eq!(app.get("/s/projet-d-avis").await.status, 200, "public now");
            assert_eq!(app.get("/s/@@review-list").await.status, 302, "anonymous → login");
        }
    }
}

mod reconcile {
    use super::*;

    both_backends! {
        async fn changed_definitions_never_leave_unknown_states(db) {
            let s = db.site("s").await;
            let p = db.add(&s, "", "Document", json!({"title": "Ancienne"})).await;
            assert_eq!(db.services.reconcile_workflows().await.unwrap(), 0, "a valid state is left alone");
            {
                let mut tx = db.store.begin().await.unwrap();
                let mut row = tx.db().item_by_path(&s.scope(), &p).await.unwrap().unwrap();
                row.review_state = Some("archived".into());
                tx.db().update_item(&s.scope(), &row).await.unwrap();
                tx.db().set_setting("workflows.hash", "definitions of an older version").await.unwrap();
                tx.commit().await.unwrap();
            }
            assert_eq!(db.services.reconcile_workflows().await.unwrap(), 1);
            assert!(matches!(db.services.get(&Principal::Anonymous, &s, &p).await, Err(ServiceError::Unauthorized)), "back to private, viewers recomputed");
            let info = db.services.workflow_info(&Principal::System, &s, &p).await.unwrap();
            let last = &info.history.last().unwrap().0;
            assert_eq!((last.from_state.as_deref(), last.review_state.as_str()), (Some("archived"), "private"));
            assert_eq!(db.services.reconcile_workflows().await.unwrap(), 0);
        }
    }
}

mod per_site {
    use super::*;

    const COUNCIL: &str = r#"{
        "id": "council", "title": {"fr": "Point du conseil"}, "initial_state": "created",
        "states": [
            {"id": "created", "title": {"fr": "Créé"}, "permissions": {"View": {"roles": ["Manager", "Owner", "Site Administrator"]}}},
            {"id": "proposed", "title": {"fr": "Proposé"}, "permissions": {"View": {"roles": ["Manager", "Owner", "Reviewer", "Site Administrator"]}}},
            {"id": "accepted", "title": {"fr": "Accepté"}, "permissions": {"View": {"roles": ["Anonymous"]}}}
        ],
        "transitions": [
            {"id": "propose", "title": {"fr": "Proposer"}, "from": ["created"], "to": "proposed", "guard": {"permissions": ["Modify portal content"]}},
            {"id": "accept", "title": {"fr": "Accepter"}, "from": ["proposed"], "to": "accepted", "guard": {"roles": ["Reviewer", "Manager"]}},
            {"id": "back", "title": {"fr": "Renvoyer"}, "from": ["proposed", "accepted"], "to": "created", "guard": {"roles": ["Manager"]}}
        ]
    }"#;

    both_backends! {
        async fn sites_define_their_own_workflows_and_chains(db) {
            let s = db.site("s").await;
            let other = db.site("t").await;
            let sys = Principal::System;
            db.add(&s, "", "Document", json!({"title": "Publiée"})).await;
            db.add_private(&s, "", "Document", json!({"title": "Brouillon"})).await;
            db.add(&other, "", "Document", json!({"title": "Ailleurs"})).await;
            assert_eq!(db.services.set_site_workflow(&sys, &s, COUNCIL).await.unwrap(), "council");
            let err = db.services.set_site_workflow(&sys, &s, r#"{"id": "x", "title": {}, "initial_state": "nowhere", "states": []}"#).await.unwrap_err();
            assert!(matches!(&err, ServiceError::BadRequest(m) if m.contains("nowhere")), "{err:?}");
            let editor = Principal::user("e", &[Role::Editor]);
            assert!(matches!(db.services.set_chain(&editor, &s, "Document", Some("council"), &Default::default()).await, Err(ServiceError::Unauthorized)));
            assert!(matches!(db.services.set_chain(&sys, &s, "Nope", Some("council"), &Default::default()).await, Err(ServiceError::BadRequest(_))));
            assert!(matches!(db.services.set_chain(&sys, &s, "Document", Some("ghost"), &Default::default()).await, Err(ServiceError::BadRequest(_))));
            let bad_map = [("published".to_owned(), "nowhere".to_owned())].into_iter().collect();
            assert!(matches!(db.services.set_chain(&sys, &s, "Document", Some("council"), &bad_map).await, Err(ServiceError::BadRequest(_))));
            let map = [("published".to_owned(), "accepted".to_owned())].into_iter().collect();
            assert_eq!(db.services.set_chain(&sys, &s, "Document", Some("council"), &map).await.unwrap(), 2);
            let published = db.services.item(&Principal::Anonymous, &s, &path("/publiee")).await.unwrap();
            assert_eq!(published.item.review_state.as_deref(), Some("accepted"), "mapped state keeps it public");
            assert!(matches!(db.services.get(&Principal::Anonymous, &s, &path("/brouillon")).await, Err(ServiceError::Unauthorized)));
            let draft = db.services.item(&sys, &s, &path("/brouillon")).await.unwrap();
            assert_eq!(draft.item.review_state.as_deref(), Some("created"), "unmapped: the initial state");
            // New documents start in the site's workflow; the other site is untouched.
            let p = db.services.create(&sys, &s, &path(""), "Document", None, &obj(json!({"title": "Point"}))).await.unwrap();
            assert_eq!(p.review_state.as_deref(), Some("created"));
            let info = db.services.workflow_info(&sys, &s, &p.path).await.unwrap();
            assert_eq!(info.transitions.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(), ["propose"]);
            let q = db.services.create(&sys, &other, &path(""), "Document", None, &obj(json!({"title": "Page"}))).await.unwrap();
            assert_eq!(q.review_state.as_deref(), Some("private"));
            // Back to no workflow for Documents: they follow the site root.
            db.services.set_chain(&sys, &s, "Document", None, &Default::default()).await.unwrap();
            let v = db.services.item(&Principal::Anonymous, &s, &path("/brouillon")).await.unwrap();
            assert_eq!(v.item.review_state, None);
        }
    }
}
