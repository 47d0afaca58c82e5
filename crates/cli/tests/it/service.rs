//! Service tests: the content tree's use cases, validation, permissions and
//! transactions — on both backends.

use beffroi_model::security::{Principal, Role};
use beffroi_model::{Login, SiteId};
use beffroi_service::{Delta, EventKind, Found, NewUser, Secret, ServiceError};
use serde_json::json;

use crate::both_backends;
use crate::support::{TestDb, obj, path};

fn editor() -> Principal {
    Principal::user("marie", &[Role::Editor])
}

fn member() -> Principal {
    Principal::user("jean", &[Role::Member])
}

async fn ids(db: &TestDb, site: &beffroi_service::SiteRow, folder: &str) -> Vec<String> {
    let view = db.services.item(&Principal::Anonymous, site, &path(folder)).await.unwrap();
    let l = db.services.children(&Principal::Anonymous, site, &view, 0, 100).await.unwrap();
    l.items.into_iter().map(|s| s.id).collect()
}

both_backends! {
    async fn ids_are_slugs_unique_in_their_folder(db) {
        let s = db.site("s").await;
        let a = db.add(&s, "", "Document", json!({"title": "Règlement général de police"})).await;
        let b = db.add(&s, "", "Document", json!({"title": "Règlement général de police"})).await;
        let c = db.add(&s, "", "Document", json!({"title": "Reglement General de Police!"})).await;
        assert_eq!(a.as_str(), "/reglement-general-de-police");
        assert_eq!(b.as_str(), "/reglement-general-de-police-1");
        assert_eq!(c.as_str(), "/reglement-general-de-police-2");
        let long = db.add(&s, "", "Document", json!({"title": "très ".repeat(50)})).await;
        assert!(long.as_str().len() <= 81);
    }

    async fn create_validates_and_writes_nothing_on_error(db) {
        let s = db.site("s").await;
        let sys = Principal::System;
        let err = db.services.create(&sys, &s, &path(""), "Document", None, &obj(json!({"description": "sans titre"}))).await.unwrap_err();
        assert!(matches!(&err, ServiceError::Invalid(v) if v.0[0].field == "title"), "{err:?}");
        let err = db.services.create(&sys, &s, &path(""), "Nope", None, &obj(json!({"title": "x"}))).await.unwrap_err();
        assert!(matches!(err, ServiceError::BadRequest(_)));
        let err = db.services.create(&sys, &s, &path("/missing"), "Document", None, &obj(json!({"title": "x"}))).await.unwrap_err();
        assert!(matches!(err, ServiceError::NotFound));
        db.add(&s, "", "Document", json!({"title": "Page"})).await;
        let err = db.services.create(&sys, &s, &path("/page"), "Document", None, &obj(json!({"title": "x"}))).await.unwrap_err();
        assert!(matches!(err, ServiceError::BadRequest(_)), "a page is not a folder");
        let err = db.services.create(&sys, &s, &path(""), "Document", Some("page"), &obj(json!({"title": "x"}))).await.unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)));
        let err = db.services.create(&sys, &s, &path(""), "Document", Some("../x"), &obj(json!({"title": "x"}))).await.unwrap_err();
        assert!(matches!(err, ServiceError::BadRequest(_)));
        assert_eq!(ids(&db, &s, "").await, ["page"]);
    }

    async fn rich_text_is_sanitized_before_storage(db) {
        let s = db.site("s").await;
        let p = db.add(&s, "", "Document", json!({"title": "T", "text": {"content-type": "text/html", "data": "<p onmouseover=\"x()\">a<script>alert(1)</script></p>"}})).await;
        let v = db.services.item(&Principal::Anonymous, &s, &p).await.unwrap();
        assert_eq!(v.item.fields["text"]["data"], "<p>a</p>");
    }

    async fn update_patches_fields_and_checks_permission(db) {
        let s = db.site("s").await;
        let p = db.add(&s, "", "Document", json!({"title": "Avant", "description": "d"})).await;
        let err = db.services.update(&member(), &s, &p, &obj(json!({"title": "Pirate"}))).await.unwrap_err();
        assert!(matches!(err, ServiceError::Unauthorized));
        let err = db.services.update(&Principal::Anonymous, &s, &p, &obj(json!({"title": "Pirate"}))).await.unwrap_err();
        assert!(matches!(err, ServiceError::Unauthorized));
        let before = db.services.item(&Principal::Anonymous, &s, &p).await.unwrap().item;
        let after = db.services.update(&editor(), &s, &p, &obj(json!({"title": "Après", "subjects": ["voirie"]}))).await.unwrap();
        assert_eq!(after.title, "Après");
        assert_eq!(after.description, "d", "absent fields keep their value");
        assert!(after.modified > before.modified, "an edit moves the modification date on: {} then {}", before.modified, after.modified);
        let read = db.services.item(&Principal::Anonymous, &s, &p).await.unwrap().item;
        assert_eq!(read.fields["subjects"], json!(["voirie"]));
        assert_eq!(read.modified, after.modified, "the date returned is the date stored");
        assert_eq!(read.created, before.created);
        let err = db.services.update(&editor(), &s, &p, &obj(json!({"title": ""}))).await.unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(_)));
        assert_eq!(db.services.item(&Principal::Anonymous, &s, &p).await.unwrap().item.title, "Après");
    }

    async fn owners_may_edit_their_own_content(db) {
        let s = db.site("s").await;
        let jean = member();
        let err = db.services.create(&jean, &s, &path(""), "Document", None, &obj(json!({"title": "x"}))).await.unwrap_err();
        assert!(matches!(err, ServiceError::Unauthorized), "a member may not add");
        let anne = Principal::user("anne", &[Role::Contributor]);
        let paul = Principal::user("paul", &[Role::Contributor]);
        let p = db.services.create(&anne, &s, &path(""), "Document", None, &obj(json!({"title": "Note"}))).await.unwrap();
        assert_eq!(p.creator, "anne");
        db.services.update(&anne, &s, &p.path, &obj(json!({"title": "Note 2"}))).await.unwrap();
        let err = db.services.update(&paul, &s, &p.path, &obj(json!({"title": "Note 3"}))).await.unwrap_err();
        assert!(matches!(err, ServiceError::Unauthorized), "another contributor may not edit it");
    }

    async fn delete_is_recursive_and_counts(db) {
        let s = db.site("s").await;
        db.add(&s, "", "Folder", json!({"title": "F"})).await;
        db.add(&s, "/f", "Folder", json!({"title": "G"})).await;
        db.add(&s, "/f/g", "Document", json!({"title": "P"})).await;
        db.add(&s, "", "Document", json!({"title": "F2"})).await;
        let mut events = db.services.subscribe();
        assert!(matches!(db.services.delete(&member(), &s, &path("/f")).await, Err(ServiceError::Unauthorized)));
        assert_eq!(db.services.delete(&Principal::System, &s, &path("/f")).await.unwrap(), 3);
        assert_eq!(events.recv().await.unwrap().kind, EventKind::Deleted { count: 3 });
        assert!(matches!(db.services.get(&Principal::Anonymous, &s, &path("/f/g/p")).await.unwrap(), Found::Missing));
        assert_eq!(ids(&db, &s, "").await, ["f2"]);
        assert!(matches!(db.services.delete(&Principal::System, &s, &path("")).await, Err(ServiceError::BadRequest(_))));
        assert!(matches!(db.services.delete(&Principal::System, &s, &path("/f")).await, Err(ServiceError::NotFound)));
    }

    async fn move_leaves_redirects_and_refuses_cycles(db) {
        let s = db.site("s").await;
        let sys = Principal::System;
        db.add(&s, "", "Folder", json!({"title": "Services"})).await;
        db.add(&s, "/services", "Document", json!({"title": "État civil"})).await;
        db.add(&s, "", "Folder", json!({"title": "Vie communale"})).await;
        db.add(&s, "/vie-communale", "Document", json!({"title": "État civil"})).await;
        let moved = db.services.move_item(&sys, &s, &path("/services/etat-civil"), &path("/vie-communale")).await.unwrap();
        assert_eq!(moved.path.as_str(), "/vie-communale/etat-civil-1", "renamed to stay unique");
        match db.services.get(&Principal::Anonymous, &s, &path("/services/etat-civil")).await.unwrap() {
            Found::Moved(p) => assert_eq!(p.as_str(), "/vie-communale/etat-civil-1"),
            other => panic!("expected a redirect, got {other:?}"),
        }
        let err = db.services.move_item(&sys, &s, &path("/services"), &path("/services")).await.unwrap_err();
        assert!(matches!(err, ServiceError::BadRequest(_)));
        db.add(&s, "/services", "Folder", json!({"title": "Sub"})).await;
        let err = db.services.move_item(&sys, &s, &path("/services"), &path("/services/sub")).await.unwrap_err();
        assert!(matches!(err, ServiceError::BadRequest(_)));
        let err = db.services.move_item(&sys, &s, &path("/vie-communale"), &path("/vie-communale/etat-civil")).await.unwrap_err();
        assert!(matches!(err, ServiceError::BadRequest(_)), "a page cannot hold items");
        // Moving the whole folder keeps the old page URL working through both moves.
        db.services.move_item(&sys, &s, &path("/vie-communale"), &path("/services/sub")).await.unwrap();
        match db.services.get(&Principal::Anonymous, &s, &path("/services/etat-civil")).await.unwrap() {
            Found::Moved(p) => assert_eq!(p.as_str(), "/services/sub/vie-communale/etat-civil-1"),
            other => panic!("expected a redirect, got {other:?}"),
        }
        // An item created at an old path wins over the redirect.
        db.add(&s, "", "Document", json!({"title": "Vie communale"})).await;
        assert!(matches!(db.services.get(&Principal::Anonymous, &s, &path("/vie-communale")).await.unwrap(), Found::Item(_)));
    }

    async fn rename_checks_ids_and_conflicts(db) {
        let s = db.site("s").await;
        let sys = Principal::System;
        db.add(&s, "", "Document", json!({"title": "A"})).await;
        db.add(&s, "", "Document", json!({"title": "B"})).await;
        assert!(matches!(db.services.rename(&sys, &s, &path("/a"), "b").await, Err(ServiceError::Conflict(_))));
        assert!(matches!(db.services.rename(&sys, &s, &path("/a"), "a b").await, Err(ServiceError::BadRequest(_))));
        assert!(matches!(db.services.rename(&member(), &s, &path("/a"), "c").await, Err(ServiceError::Unauthorized)));
        let r = db.services.rename(&sys, &s, &path("/a"), "nouveau-nom").await.unwrap();
        assert_eq!(r.path.as_str(), "/nouveau-nom");
        assert_eq!(ids(&db, &s, "").await, ["b", "nouveau-nom"]);
        assert!(matches!(db.services.get(&Principal::Anonymous, &s, &path("/a")).await.unwrap(), Found::Moved(_)));
    }

    async fn rename_with_a_title_is_all_or_nothing(db) {
        let s = db.site("s").await;
        let sys = Principal::System;
        db.add(&s, "", "Document", json!({"title": "A"})).await;
        db.add(&s, "", "Document", json!({"title": "B"})).await;
        let title_of = |p: &'static str| {
            let (services, s) = (&db.services, &s);
            async move { services.item(&Principal::System, s, &path(p)).await.unwrap().item.title }
        };
        // A taken id: the new title is not kept either.
        let r = db.services.rename_with_title(&sys, &s, &path("/a"), "b", Some("Nouveau titre")).await;
        assert!(matches!(r, Err(ServiceError::Conflict(_))), "{r:?}");
        assert_eq!(title_of("/a").await, "A");
        // An empty title: the id stays.
        let r = db.services.rename_with_title(&sys, &s, &path("/a"), "c", Some("")).await;
        assert!(matches!(r, Err(ServiceError::Invalid(_))), "{r:?}");
        assert_eq!(ids(&db, &s, "").await, ["a", "b"]);
        let before = db.services.history(&sys, &s, &path("/a")).await.unwrap().0.len();
        let r = db.services.rename_with_title(&sys, &s, &path("/a"), "c", Some("Titre C")).await.unwrap();
        assert_eq!((r.path.as_str(), r.title.as_str()), ("/c", "Titre C"));
        assert_eq!(title_of("/c").await, "Titre C");
        assert_eq!(db.services.history(&sys, &s, &path("/c")).await.unwrap().0.len(), before + 1);
    }

    async fn reorder_moves_within_folder(db) {
        let s = db.site("s").await;
        for t in ["A", "B", "C", "D"] {
            db.add(&s, "", "Document", json!({"title": t})).await;
        }
        let sys = Principal::System;
        db.services.reorder(&sys, &s, &path(""), "d", Delta::Top).await.unwrap();
        assert_eq!(ids(&db, &s, "").await, ["d", "a", "b", "c"]);
        db.services.reorder(&sys, &s, &path(""), "d", Delta::By(2)).await.unwrap();
        assert_eq!(ids(&db, &s, "").await, ["a", "b", "d", "c"]);
        db.services.reorder(&sys, &s, &path(""), "a", Delta::Bottom).await.unwrap();
        assert_eq!(ids(&db, &s, "").await, ["b", "d", "c", "a"]);
        db.services.reorder(&sys, &s, &path(""), "a", Delta::By(-100)).await.unwrap();
        assert_eq!(ids(&db, &s, "").await, ["a", "b", "d", "c"]);
        assert!(matches!(db.services.reorder(&sys, &s, &path(""), "zz", Delta::Top).await, Err(ServiceError::NotFound)));
        assert!(matches!(db.services.reorder(&member(), &s, &path(""), "a", Delta::Top).await, Err(ServiceError::Unauthorized)));
    }

    async fn listings_are_batched(db) {
        let s = db.site("s").await;
        for i in 0..30 {
            db.add(&s, "", "Document", json!({"title": format!("Page {i:02}")})).await;
        }
        let root = db.services.item(&Principal::Anonymous, &s, &path("")).await.unwrap();
        let l = db.services.children(&Principal::Anonymous, &s, &root, 25, 10).await.unwrap();
        assert_eq!(l.total, 30);
        assert_eq!(l.items.len(), 5);
        assert_eq!(l.items[0].id, "page-25");
        let l = db.services.children(&Principal::Anonymous, &s, &root, 100, 10).await.unwrap();
        assert!(l.items.is_empty());
    }

    async fn sites_are_created_only_by_the_system_and_are_unique(db) {
        db.site("namur").await;
        let new = |id: &str, hosts: Vec<String>| beffroi_service::NewSite {
            id: SiteId::parse(id).unwrap(),
            title: "T".into(),
            language: beffroi_model::Language::Nl,
            hosts,
            time_zone: Default::default(),
        };
        assert!(matches!(db.services.create_site(&Principal::System, new("namur", vec![])).await, Err(ServiceError::Conflict(_))));
        assert!(matches!(db.services.create_site(&editor(), new("x", vec![])).await, Err(ServiceError::Unauthorized)));
        assert!(matches!(db.services.create_site(&Principal::System, new("y", vec!["not a host".into()])).await, Err(ServiceError::BadRequest(_))));
        db.services.create_site(&Principal::System, new("gent", vec!["www.gent.be".into()])).await.unwrap();
        let err = db.services.create_site(&Principal::System, new("gand", vec!["WWW.GENT.BE".into()])).await.unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)), "{err:?}");
        assert!(db.services.site(&SiteId::parse("gand").unwrap()).await.unwrap().is_none(), "nothing half-written");
        let by_host = db.services.site_for_host("www.gent.be:8080").await.unwrap().unwrap();
        assert_eq!(by_host.id.as_str(), "gent");
    }

    async fn users_get_argon2_hashes_and_unique_logins(db) {
        let s = db.site("s").await;
        let new = |pw: &str| NewUser {
            login: Login::parse("admin").unwrap(),
            password: Secret(pw.into()),
            fullname: "Admin".into(),
            email: String::new(),
            roles: vec![Role::Manager],
        };
        assert!(matches!(db.services.create_user(&Principal::System, &s, new("short")).await, Err(ServiceError::BadRequest(_))));
        assert!(matches!(db.services.create_user(&member(), &s, new("long enough")).await, Err(ServiceError::Unauthorized)));
        db.services.create_user(&Principal::System, &s, new("long enough")).await.unwrap();
        let u = db.services.user(&s, "admin").await.unwrap().unwrap();
        assert!(u.password_hash.starts_with("$argon2id$"));
        assert_eq!(u.roles, [Role::Manager]);
        assert!(matches!(db.services.create_user(&Principal::System, &s, new("long enough")).await, Err(ServiceError::Conflict(_))));
    }

    async fn demo_seed_is_public_and_runs_once(db) {
        assert!(beffroi_cms::demo::seed(&db.services, "demo-password").await.unwrap());
        assert!(!beffroi_cms::demo::seed(&db.services, "demo-password").await.unwrap());
        let site = db.services.site(&SiteId::parse("demo").unwrap()).await.unwrap().unwrap();
        let top = ids(&db, &site, "").await;
        assert_eq!(top, ["vie-communale", "services", "actualites", "agenda"]);
        let mut pages = 0;
        for f in &top {
            for id in ids(&db, &site, &format!("/{f}")).await {
                let v = db.services.item(&Principal::Anonymous, &site, &path(&format!("/{f}/{id}"))).await.unwrap();
                assert_eq!(v.item.review_state.as_deref(), Some("published"));
                pages += 1;
            }
        }
        assert!(pages >= 12, "{pages} pages");
        let admin = db.services.user(&site, "admin").await.unwrap().unwrap();
        assert_eq!(admin.roles, [Role::Manager]);
    }
}
