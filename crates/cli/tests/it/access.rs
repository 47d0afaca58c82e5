//! Identity and access: sharing, inheritance, the stored viewers, groups — on both
//! backends, with a seeded random walk checked against a recomputation from scratch.

use beffroi_model::security::{Grantee, Node, Principal, Role, viewers};
use beffroi_model::{ItemPath, Login};
use beffroi_service::{Found, ServiceError, SharingChange, SiteRow};
use serde_json::json;

use crate::both_backends;
use crate::support::{TestDb, path};

async fn user(db: &TestDb, site: &SiteRow, login: &str, roles: &[Role]) {
    db.user(site, login, "correct horse battery", &login.to_uppercase(), roles).await;
}

fn share(who: Grantee, role: Role, on: bool) -> SharingChange {
    SharingChange { entries: vec![(who, vec![(role, on)])], inherit: None }
}

async fn visible(db: &TestDb, site: &SiteRow, p: &Principal, at: &str) -> bool {
    match db.services.get(p, site, &path(at)).await {
        Ok(Found::Item(_)) => true,
        Err(ServiceError::Unauthorized) => false,
        other => panic!("unexpected {other:?}"),
    }
}

async fn listed(db: &TestDb, site: &SiteRow, p: &Principal, folder: &str) -> Vec<String> {
    let v = db.services.item(&Principal::System, site, &path(folder)).await.unwrap();
    db.services.children(p, site, &v, 0, 100).await.unwrap().items.into_iter().map(|s| s.id).collect()
}

/// The stored viewers of every item equal a recomputation from scratch.
async fn assert_viewers_consistent(db: &TestDb, site: &SiteRow) {
    let sys = Principal::System;
    let mut c = db.store.conn().await.unwrap();
    let all = c.db().subtree(&site.scope(), &ItemPath::root()).await.unwrap();
    for item in &all {
        let lineage = c.db().lineage(&site.scope(), &item.path).await.unwrap();
        let nodes: Vec<Node<'_>> = lineage
            .iter()
            .map(|r| Node { owner: &r.creator, local: &r.local_roles, block: r.block_inheritance })
            .collect();
        // The permission map from scratch: the site's roles, then each state's map.
        let reg = beffroi_model::workflow::WorkflowRegistry::builtin()
            .with_site(&[(beffroi_cms::CHAINS.0.to_owned(), beffroi_cms::CHAINS.1.to_owned())])
            .unwrap();
        let mut map = beffroi_model::security::PermissionMap::public_default();
        for r in lineage.iter().filter(|r| !r.path.is_root()) {
            let state = reg.for_type(&r.type_name).map(|wf| {
                r.review_state
                    .as_deref()
                    .and_then(|s| wf.state(s))
                    .unwrap_or_else(|| wf.state(&wf.initial_state).unwrap())
            });
            map = beffroi_model::workflow::item_map(&map, state);
        }
        let expected = viewers(&nodes, &map);
        let stored = c.db().viewers(item.uuid).await.unwrap();
        assert_eq!(stored, expected, "viewers of {}", item.path);
    }
    let _ = sys;
}

both_backends! {
    async fn private_items_are_hidden_until_shared(db) {
        let s = db.site("s").await;
        user(&db, &s, "marie", &[Role::Member]).await;
        user(&db, &s, "paul", &[Role::Member]).await;
        let sys = Principal::System;
        db.add(&s, "", "Folder", json!({"title": "Urbanisme"})).await;
        db.add(&s, "/urbanisme", "Document", json!({"title": "Projet"})).await;
        db.add(&s, "/urbanisme", "Document", json!({"title": "Public"})).await;
        db.services.force_state(&sys, &s, &path("/urbanisme/projet"), "private").await.unwrap();
        let marie = db.services.principal(&s, "marie").await.unwrap().unwrap();
        let paul = db.services.principal(&s, "paul").await.unwrap().unwrap();
        assert!(!visible(&db, &s, &Principal::Anonymous, "/urbanisme/projet").await);
        assert!(!visible(&db, &s, &marie, "/urbanisme/projet").await);
        assert_eq!(listed(&db, &s, &Principal::Anonymous, "/urbanisme").await, ["public"]);
        // Sharing the folder with marie as Reader lets her see the private page below.
        db.services.update_sharing(&sys, &s, &path("/urbanisme"), share(Grantee::User("marie".into()), Role::Reader, true)).await.unwrap();
        assert!(visible(&db, &s, &marie, "/urbanisme/projet").await);
        assert!(!visible(&db, &s, &paul, "/urbanisme/projet").await);
        assert_eq!(listed(&db, &s, &marie, "/urbanisme").await, ["projet", "public"]);
        assert_eq!(listed(&db, &s, &paul, "/urbanisme").await, ["public"]);
        // Blocking inheritance on the page hides it again.
        db.services.update_sharing(&sys, &s, &path("/urbanisme/projet"), SharingChange { entries: vec![], inherit: Some(false) }).await.unwrap();
        assert!(!visible(&db, &s, &marie, "/urbanisme/projet").await);
        assert_eq!(listed(&db, &s, &marie, "/urbanisme").await, ["public"]);
        // Managers see everything, whatever the sharing.
        let admin = Principal::user("admin", &[Role::Manager]);
        assert!(visible(&db, &s, &admin, "/urbanisme/projet").await);
        assert_viewers_consistent(&db, &s).await;
    }

    async fn groups_carry_roles_and_local_grants(db) {
        let s = db.site("s").await;
        let sys = Principal::System;
        user(&db, &s, "luc", &[]).await;
        db.services.create_group(&sys, &s, "urbanisme", "Service urbanisme", vec![]).await.unwrap();
        db.services.create_group(&sys, &s, "webmasters", "Webmasters", vec![Role::SiteAdministrator]).await.unwrap();
        assert!(matches!(db.services.create_group(&sys, &s, "urbanisme", "x", vec![]).await, Err(ServiceError::Conflict(_))));
        assert!(matches!(db.services.create_group(&sys, &s, "AuthenticatedUsers", "x", vec![]).await, Err(ServiceError::Conflict(_))));
        assert!(matches!(db.services.create_group(&sys, &s, "g", "x", vec![Role::Owner]).await, Err(ServiceError::BadRequest(_))));
        assert!(matches!(db.services.add_member(&sys, &s, "nope", "luc").await, Err(ServiceError::BadRequest(_))));
        assert!(matches!(db.services.add_member(&sys, &s, "urbanisme", "nobody").await, Err(ServiceError::BadRequest(_))));
        db.services.add_member(&sys, &s, "urbanisme", "luc").await.unwrap();
        db.services.add_member(&sys, &s, "urbanisme", "luc").await.unwrap();
        db.add(&s, "", "Folder", json!({"title": "Permis"})).await;
        db.add(&s, "/permis", "Document", json!({"title": "Demande"})).await;
        db.services.force_state(&sys, &s, &path("/permis/demande"), "private").await.unwrap();
        db.services.update_sharing(&sys, &s, &path("/permis"), share(Grantee::Group("urbanisme".into()), Role::Editor, true)).await.unwrap();
        let luc = db.services.principal(&s, "luc").await.unwrap().unwrap();
        assert!(visible(&db, &s, &luc, "/permis/demande").await);
        db.services.update(&luc, &s, &path("/permis/demande"), &crate::support::obj(json!({"title": "Demande modifiée"}))).await.unwrap();
        // A group's global role applies everywhere.
        db.services.add_member(&sys, &s, "webmasters", "luc").await.unwrap();
        let luc = db.services.principal(&s, "luc").await.unwrap().unwrap();
        assert!(matches!(&luc, Principal::User { roles, .. } if roles.contains(&Role::SiteAdministrator)));
        let groups = db.services.list_groups(&sys, &s).await.unwrap();
        assert_eq!(groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), ["urbanisme", "webmasters"]);
        assert_eq!(groups[0].members, ["luc"]);
        assert_viewers_consistent(&db, &s).await;
    }

    async fn sharing_is_checked_and_reported(db) {
        let s = db.site("s").await;
        let sys = Principal::System;
        user(&db, &s, "marie", &[Role::Member]).await;
        db.add(&s, "", "Folder", json!({"title": "A"})).await;
        db.add(&s, "/a", "Folder", json!({"title": "B"})).await;
        let marie = db.services.principal(&s, "marie").await.unwrap().unwrap();
        let err = db.services.update_sharing(&marie, &s, &path("/a"), share(Grantee::User("marie".into()), Role::Editor, true)).await.unwrap_err();
        assert!(matches!(err, ServiceError::Unauthorized), "members cannot grant themselves roles");
        let err = db.services.update_sharing(&sys, &s, &path("/a"), share(Grantee::User("ghost".into()), Role::Reader, true)).await.unwrap_err();
        assert!(matches!(err, ServiceError::BadRequest(_)));
        let err = db.services.update_sharing(&sys, &s, &path("/a"), share(Grantee::User("marie".into()), Role::Manager, true)).await.unwrap_err();
        assert!(matches!(err, ServiceError::BadRequest(_)), "only sharable roles");
        db.services.update_sharing(&sys, &s, &path("/a"), share(Grantee::User("marie".into()), Role::Editor, true)).await.unwrap();
        let sh = db.services.sharing(&sys, &s, &path("/a/b")).await.unwrap();
        assert!(sh.inherit);
        let m = sh.entries.iter().find(|e| e.grantee == Grantee::User("marie".into())).unwrap();
        assert_eq!(m.title, "MARIE");
        assert!(m.roles.contains(&(Role::Editor, beffroi_service::RoleOrigin::Inherited)));
        assert!(sh.entries.iter().any(|e| e.grantee == Grantee::Group("AuthenticatedUsers".into())));
        // An Editor by sharing may share further (Change local roles), and clear.
        let marie = db.services.principal(&s, "marie").await.unwrap().unwrap();
        db.services.update_sharing(&marie, &s, &path("/a/b"), share(Grantee::Group("AuthenticatedUsers".into()), Role::Reader, true)).await.unwrap();
        db.services.update_sharing(&sys, &s, &path("/a"), share(Grantee::User("marie".into()), Role::Editor, false)).await.unwrap();
        let sh = db.services.sharing(&sys, &s, &path("/a")).await.unwrap();
        assert!(sh.entries.iter().all(|e| e.grantee != Grantee::User("marie".into())));
    }

    async fn users_can_be_disabled_and_change_password(db) {
        let s = db.site("s").await;
        let sys = Principal::System;
        user(&db, &s, "marie", &[Role::Editor]).await;
        assert!(db.services.authenticate(&s, "marie", "correct horse battery").await.unwrap().is_some());
        assert!(db.services.authenticate(&s, "marie", "wrong").await.unwrap().is_none());
        assert!(db.services.authenticate(&s, "nobody", "correct horse battery").await.unwrap().is_none());
        let marie = db.services.principal(&s, "marie").await.unwrap().unwrap();
        // Users change their own password by giving the current one.
        assert!(matches!(db.services.set_password(&marie, &s, "marie", "a new passphrase").await, Err(ServiceError::Unauthorized)));
        let change = |current: &str| beffroi_service::UserChange {
            password: Some("a new passphrase".into()),
            current_password: Some(current.into()),
            ..Default::default()
        };
        let keep = beffroi_service::Credential::Other;
        assert!(matches!(db.services.update_user(&marie, &s, "marie", change("wrong"), &keep).await, Err(ServiceError::Forbidden(_))));
        db.services.update_user(&marie, &s, "marie", change("correct horse battery"), &keep).await.unwrap();
        assert!(db.services.authenticate(&s, "marie", "a new passphrase").await.unwrap().is_some());
        assert!(matches!(db.services.set_password(&marie, &s, "admin", "a new passphrase").await, Err(ServiceError::Unauthorized)));
        assert!(matches!(db.services.set_password(&sys, &s, "marie", "short").await, Err(ServiceError::BadRequest(_))));
        db.services.set_enabled(&sys, &s, "marie", false).await.unwrap();
        assert!(db.services.authenticate(&s, "marie", "a new passphrase").await.unwrap().is_none());
        assert!(db.services.principal(&s, "marie").await.unwrap().is_none());
        assert!(matches!(db.services.set_enabled(&sys, &s, "ghost", false).await, Err(ServiceError::NotFound)));
        let listed: Vec<_> = db.services.list_users(&sys, &s).await.unwrap().into_iter().map(|u| (u.login, u.enabled)).collect();
        assert_eq!(listed, [("marie".to_owned(), false)]);
    }

    async fn random_sharing_and_moves_keep_viewers_consistent(db) {
        let s = db.site("s").await;
        let sys = Principal::System;
        for u in ["anne", "marc"] {
            user(&db, &s, u, &[]).await;
        }
        db.services.create_group(&sys, &s, "g", "G", vec![]).await.unwrap();
        let mut folders = vec![String::new()];
        for i in 0..6 {
            let parent = folders[i / 2].clone();
            let p = db.add(&s, &parent, "Folder", json!({"title": format!("F{i}")})).await;
            db.add(&s, p.as_str(), "Document", json!({"title": format!("D{i}")})).await;
            folders.push(p.to_string());
        }
        // A small deterministic generator: the same walks on every run and backend,
        // from several seeds.
        // What the walk did: a walk of refused moves and transitions would test nothing.
        let (mut moved, mut transitioned, mut refused) = (0, 0, 0);
        for start in [0x5eed_beff_u64, 1, 0xdead_beef, 42] {
            let mut seed: u64 = start;
            let mut next = |n: usize| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((seed >> 33) as usize) % n
            };
            let grantees = [Grantee::User("anne".into()), Grantee::User("marc".into()), Grantee::Group("g".into()), Grantee::Group("AuthenticatedUsers".into())];
            for _ in 0..40 {
                let mut c = db.store.conn().await.unwrap();
                let all: Vec<ItemPath> = c.db().subtree(&s.scope(), &ItemPath::root()).await.unwrap().into_iter().map(|r| r.path).filter(|p| !p.is_root()).collect();
                drop(c);
                let target = all[next(all.len())].clone();
                match next(5) {
                    4 => {
                        // A transition by someone, which may well be refused: the
                        // names in turn from a random one, until one is taken.
                        let who = [Principal::System, Principal::user("anne", &[]), Principal::user("marc", &[Role::Reviewer])];
                        let (by, first, children) = (next(3), next(4), next(2) == 0);
                        for i in 0..4 {
                            let t = ["submit", "publish", "retract", "reject"][(first + i) % 4];
                            match db.services.transition(&who[by], &s, &target, t, beffroi_service::TransitionRequest { include_children: children, ..Default::default() }).await {
                                Ok(_) => {
                                    transitioned += 1;
                                    break;
                                }
                                Err(ServiceError::Unauthorized | ServiceError::BadRequest(_)) => refused += 1,
                                Err(e) => panic!("transition {t} on {target}: {e:?}"),
                            }
                        }
                    }
                    0 => {
                        let g = grantees[next(grantees.len())].clone();
                        let r = Role::SHARABLE[next(Role::SHARABLE.len())];
                        db.services.update_sharing(&sys, &s, &target, share(g, r, next(3) != 0)).await.unwrap();
                    }
                    1 => {
                        let inherit = next(2) == 0;
                        db.services.update_sharing(&sys, &s, &target, SharingChange { entries: vec![], inherit: Some(inherit) }).await.unwrap();
                    }
                    2 => {
                        let state = if next(2) == 0 { "private" } else { "published" };
                        db.services.force_state(&sys, &s, &target, state).await.unwrap();
                    }
                    _ => {
                        // Invalid moves (into itself, into a page) must fail cleanly;
                        // up to three destinations until one is valid.
                        for _ in 0..3 {
                            let dest = all[next(all.len())].clone();
                            match db.services.move_item(&sys, &s, &target, &dest).await {
                                Ok(_) => {
                                    moved += 1;
                                    break;
                                }
                                Err(ServiceError::BadRequest(_) | ServiceError::Conflict(_)) => refused += 1,
                                Err(e) => panic!("move of {target} into {dest}: {e:?}"),
                            }
                        }
                    }
                }
                assert_viewers_consistent(&db, &s).await;
            }
        }
        // The walk is the same on every run and backend: 15 moves and 24 transitions
        // succeed as written.
        assert!(moved >= 12 && transitioned >= 20, "too few changes: {moved} moves, {transitioned} transitions ({refused} refused)");
    }

    async fn stored_viewers_match_hand_written_expectations(db) {
        // An oracle written by hand, not computed by the production `viewers()`: who
        // may see each item, after each change.
        let s = db.site("s").await;
        let sys = Principal::System;
        for u in ["anne", "marc"] {
            user(&db, &s, u, &[]).await;
        }
        db.services.create_group(&sys, &s, "g", "G", vec![]).await.unwrap();
        db.add(&s, "", "Folder", json!({"title": "Dossier"})).await;
        db.add(&s, "/dossier", "Document", json!({"title": "Public"})).await;
        db.add_private(&s, "/dossier", "Document", json!({"title": "Note"})).await;
        db.add_private(&s, "/dossier", "Document", json!({"title": "Relue"})).await;
        db.services.transition(&sys, &s, &path("/dossier/relue"), "submit", Default::default()).await.unwrap();
        let stored = |p: &'static str| {
            let db = &db;
            let s = &s;
            async move {
                let mut c = db.store.conn().await.unwrap();
                let item = c.db().item_by_path(&s.scope(), &path(p)).await.unwrap().unwrap();
                c.db().viewers(item.uuid).await.unwrap().into_iter().collect::<Vec<String>>()
            }
        };
        // Private: the roles of the state's View, and the owner (the system made it).
        let private = ["role:Contributor", "role:Editor", "role:Manager", "role:Reader", "role:Site Administrator", "user:system"];
        let pending = ["role:Contributor", "role:Editor", "role:Manager", "role:Reader", "role:Reviewer", "role:Site Administrator", "user:system"];
        let with = |base: &[&str], more: &[&str]| {
            let mut v: Vec<String> = base.iter().chain(more).map(|t| (*t).to_owned()).collect();
            v.sort();
            v
        };
        assert_eq!(stored("/dossier/public").await, ["role:Anonymous"]);
        assert_eq!(stored("/dossier/note").await, with(&private, &[]));
        assert_eq!(stored("/dossier/relue").await, with(&pending, &[]));
        // The folder shared with the group as Reader: the private and pending pages
        // below gain the group, the public one needs nothing more.
        db.services.update_sharing(&sys, &s, &path("/dossier"), share(Grantee::Group("g".into()), Role::Reader, true)).await.unwrap();
        assert_eq!(stored("/dossier/public").await, ["role:Anonymous"]);
        assert_eq!(stored("/dossier/note").await, with(&private, &["group:g"]));
        assert_eq!(stored("/dossier/relue").await, with(&pending, &["group:g"]));
        // Reviewer for marc: it views pending content, not private content.
        db.services.update_sharing(&sys, &s, &path("/dossier"), share(Grantee::User("marc".into()), Role::Reviewer, true)).await.unwrap();
        assert_eq!(stored("/dossier/note").await, with(&private, &["group:g"]));
        assert_eq!(stored("/dossier/relue").await, with(&pending, &["group:g", "user:marc"]));
        // The note stops inheriting: the folder's grants no longer reach it.
        db.services.update_sharing(&sys, &s, &path("/dossier/note"), SharingChange { entries: vec![], inherit: Some(false) }).await.unwrap();
        assert_eq!(stored("/dossier/note").await, with(&private, &[]));
        // A page anne writes is hers: she is its owner.
        db.services.update_sharing(&sys, &s, &path("/dossier"), share(Grantee::User("anne".into()), Role::Contributor, true)).await.unwrap();
        let anne = db.services.principal(&s, "anne").await.unwrap().unwrap();
        db.services.create(&anne, &s, &path("/dossier"), "Document", Some("brouillon"), &crate::support::obj(json!({"title": "Brouillon"}))).await.unwrap();
        let mut mine = with(&private, &["group:g", "user:anne"]);
        mine.retain(|t| t != "user:system");
        assert_eq!(stored("/dossier/brouillon").await, mine);
        // Publishing the note: everyone, whatever the sharing.
        db.services.transition(&sys, &s, &path("/dossier/note"), "publish", Default::default()).await.unwrap();
        assert_eq!(stored("/dossier/note").await, ["role:Anonymous"]);
        // Moving the pending page out of the shared folder: the group and marc go.
        db.add(&s, "", "Folder", json!({"title": "Ailleurs"})).await;
        db.services.move_item(&sys, &s, &path("/dossier/relue"), &path("/ailleurs")).await.unwrap();
        assert_eq!(stored("/ailleurs/relue").await, with(&pending, &[]));
        // A sibling whose id sorts between a folder and its children in byte order
        // ("b-c" between "b" and "b/d") does not hide the folder's grants from them
        // when the whole folder above is recomputed.
        db.add(&s, "/dossier", "Folder", json!({"title": "B"})).await;
        db.add(&s, "/dossier", "Folder", json!({"title": "B C"})).await;
        db.add_private(&s, "/dossier/b", "Document", json!({"title": "D"})).await;
        db.services.update_sharing(&sys, &s, &path("/dossier/b"), share(Grantee::User("marc".into()), Role::Reader, true)).await.unwrap();
        assert_eq!(stored("/dossier/b/d").await, with(&private, &["group:g", "user:anne", "user:marc"]));
        db.services.update_sharing(&sys, &s, &path("/dossier"), share(Grantee::Group("g".into()), Role::Editor, true)).await.unwrap();
        assert_eq!(stored("/dossier/b/d").await, with(&private, &["group:g", "user:anne", "user:marc"]));
    }
}

mod operators {
    use super::*;

    both_backends! {
        async fn operators_are_managers_on_every_site(db) {
            let a = db.site("a").await;
            let b = db.site("b").await;
            let sys = Principal::System;
            let login = Login::parse("ops").unwrap();
            db.services.create_operator(&sys, &login, "operator password", "Ops").await.unwrap();
            assert!(matches!(db.services.create_operator(&sys, &login, "operator password", "").await, Err(ServiceError::Conflict(_))));
            assert!(matches!(db.services.create_operator(&Principal::user("x", &[Role::Manager]), &Login::parse("y").unwrap(), "operator password", "").await, Err(ServiceError::Unauthorized)));
            for site in [&a, &b] {
                let p = db.services.authenticate(site, "ops", "operator password").await.unwrap().expect("valid everywhere");
                assert!(matches!(&p, Principal::User { roles, .. } if roles == &[Role::Manager]));
                db.add(site, "", "Folder", json!({"title": "Privé"})).await;
                db.services.force_state(&sys, site, &path("/prive"), "private").await.unwrap();
                assert!(visible(&db, site, &p, "/prive").await);
            }
            // A site's own user of the same login shadows the operator there.
            user(&db, &b, "ops", &[]).await;
            assert!(db.services.authenticate(&b, "ops", "operator password").await.unwrap().is_none());
            assert!(db.services.authenticate(&a, "ops", "operator password").await.unwrap().is_some());
            db.services.set_operator_enabled(&sys, "ops", false).await.unwrap();
            assert!(db.services.authenticate(&a, "ops", "operator password").await.unwrap().is_none());
            assert!(db.services.principal(&a, "ops").await.unwrap().is_none());
            assert_eq!(db.services.list_operators(&sys).await.unwrap().len(), 1);
        }
    }
}
