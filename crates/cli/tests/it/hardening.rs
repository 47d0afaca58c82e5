//! Defects found by probing the server as an attacker would, each pinned by a test:
//! delegation of roles, Site Administrators and Managers, tokens after a password
//! change, login throttling across sites and behind proxies, response headers, and
//! the smaller findings (rich text size, control characters, the root page, bodies
//! that break off).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use base64::Engine;
use beffroi_model::Login;
use beffroi_model::security::{Grantee, Principal, Role};
use beffroi_service::{Credential, GroupChange, NewUser, Secret, ServiceError, SharingChange, SiteRow, UserChange};
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Reply, TestApp, TestDb, path};

const PASSWORD: &str = "correct horse battery";

fn basic(login: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{login}:{PASSWORD}")))
}

/// A JSON request with the given method, credentials and client address.
async fn send(app: &TestApp, method: &str, uri: &str, body: Option<Value>, auth: Option<&str>, from: &str) -> Reply {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "localhost")
        .header("accept", "application/json")
        .header("content-type", "application/json");
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    let mut req = b.body(body.map(|v| Body::from(v.to_string())).unwrap_or_default()).unwrap();
    req.extensions_mut().insert(ConnectInfo(format!("{from}:40000").parse::<SocketAddr>().unwrap()));
    app.request(req).await
}

async fn post(app: &TestApp, uri: &str, body: Value, auth: Option<&str>) -> Reply {
    send(app, "POST", uri, Some(body), auth, "192.0.2.1").await
}

async fn get(app: &TestApp, uri: &str, auth: &str) -> Reply {
    send(app, "GET", uri, None, Some(auth), "192.0.2.1").await
}

async fn token(app: &TestApp, site: &str, login: &str, password: &str) -> String {
    let r = post(app, &format!("/{site}/@login"), json!({"login": login, "password": password}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    format!("Bearer {}", r.json()["token"].as_str().unwrap())
}

async fn users(db: &TestDb, s: &SiteRow, list: &[(&str, &[Role])]) {
    for (login, roles) in list {
        db.user(s, login, PASSWORD, &login.to_uppercase(), roles).await;
    }
}

fn share(who: &str, role: Role, on: bool) -> SharingChange {
    SharingChange { entries: vec![(Grantee::User(who.into()), vec![(role, on)])], inherit: None }
}

fn forbidden<T: std::fmt::Debug>(r: Result<T, ServiceError>) {
    assert!(matches!(r, Err(ServiceError::Forbidden(_))), "expected Forbidden, got {r:?}");
}

fn conflict<T: std::fmt::Debug>(r: Result<T, ServiceError>) {
    assert!(matches!(r, Err(ServiceError::Conflict(_))), "expected Conflict, got {r:?}");
}

both_backends! {
    async fn a_contributor_cannot_hand_themself_reviewer_to_publish(db) {
        let s = db.site("namur").await;
        users(&db, &s, &[("contrib", &[]), ("ed", &[Role::Editor]), ("rev", &[Role::Reviewer]), ("marie", &[])]).await;
        db.add(&s, "", "Folder", json!({"title": "Actualites"})).await;
        db.services.update_sharing(&Principal::System, &s, &path("/actualites"), share("contrib", Role::Contributor, true)).await.unwrap();
        let app = TestApp::new(&db).await;
        let c = basic("contrib");
        let r = post(&app, "/namur/actualites", json!({"@type": "Document", "title": "Avis"}), Some(&c)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(post(&app, "/namur/actualites/avis/@workflow/publish", json!({}), Some(&c)).await.status, 401);
        // The probe: give oneself Reviewer, then publish.
        let me_reviewer = json!({"entries": [{"id": "contrib", "type": "user", "roles": {"Reviewer": true}}]});
        let r = post(&app, "/namur/actualites/avis/@sharing", me_reviewer, Some(&c)).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.json()["type"], "Forbidden");
        assert_eq!(post(&app, "/namur/actualites/avis/@workflow/publish", json!({}), Some(&c)).await.status, 401);
        // Nor to every logged-in user.
        let all_reviewers = json!({"entries": [{"id": "AuthenticatedUsers", "type": "group", "roles": {"Reviewer": true}}]});
        assert_eq!(post(&app, "/namur/actualites/avis/@sharing", all_reviewers, Some(&c)).await.status, 403);
        // The owner offers and hands out what Plone lets owners delegate.
        let g = get(&app, "/namur/actualites/avis/@sharing", &c).await.json();
        let offered: Vec<&str> = g["available_roles"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(offered, ["Contributor", "Editor", "Reader"]);
        assert!(g["entries"].as_array().unwrap().iter().all(|e| e["roles"].get("Reviewer").is_none()));
        let reader = json!({"entries": [{"id": "marie", "type": "user", "roles": {"Reader": true, "Editor": true}}]});
        assert_eq!(post(&app, "/namur/actualites/avis/@sharing", reader, Some(&c)).await.status, 204);
        // A global Editor on someone else's item: Reader and Editor, not Reviewer nor Contributor.
        let ed = basic("ed");
        for (role, status) in [("Reviewer", 403), ("Contributor", 403), ("Reader", 204)] {
            let body = json!({"entries": [{"id": "ed", "type": "user", "roles": {role: true}}]});
            assert_eq!(post(&app, "/namur/actualites/avis/@sharing", body, Some(&ed)).await.status, status, "{role}");
        }
        // Taking a role back follows the same rule: an Editor cannot take Reviewer away.
        db.services.update_sharing(&Principal::System, &s, &path("/actualites/avis"), share("rev", Role::Reviewer, true)).await.unwrap();
        let body = json!({"entries": [{"id": "rev", "type": "user", "roles": {"Reviewer": false}}]});
        assert_eq!(post(&app, "/namur/actualites/avis/@sharing", body, Some(&ed)).await.status, 403);
        let sh = db.services.sharing(&Principal::System, &s, &path("/actualites/avis")).await.unwrap();
        let rev = sh.entries.iter().find(|e| e.grantee == Grantee::User("rev".into())).unwrap();
        assert!(rev.roles.iter().any(|(r, o)| *r == Role::Reviewer && *o == beffroi_service::RoleOrigin::Here));
        let contrib = sh.entries.iter().find(|e| e.grantee == Grantee::User("contrib".into()));
        assert!(contrib.is_none_or(|e| e.roles.iter().all(|(r, o)| *r != Role::Reviewer || *o == beffroi_service::RoleOrigin::No)));
        // The HTML form offers only the roles one may delegate, and saving it leaves
        // the others as they were.
        let html = app.get_with("/namur/actualites/avis/@@sharing", &[("authorization", &ed)]).await;
        assert_eq!(html.status, 200);
        assert!(!html.body.contains("|Reviewer\"") && html.body.contains("|Reader\""), "{}", html.body);
        let r = app.request(
            Request::post("/namur/actualites/avis/@@sharing")
                .header("host", "localhost")
                .header("authorization", &ed)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("entry=user%3Arev&inherit=on"))
                .unwrap(),
        ).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let sh = db.services.sharing(&Principal::System, &s, &path("/actualites/avis")).await.unwrap();
        let rev = sh.entries.iter().find(|e| e.grantee == Grantee::User("rev".into())).unwrap();
        assert!(rev.roles.iter().any(|(r, o)| *r == Role::Reviewer && *o == beffroi_service::RoleOrigin::Here));
        // A Site Administrator hands out any of them.
        users(&db, &s, &[("sa", &[Role::SiteAdministrator])]).await;
        db.services.update_sharing(&Principal::user("sa", &[Role::SiteAdministrator]), &s, &path("/actualites/avis"), share("marie", Role::Reviewer, true)).await.unwrap();
    }

    async fn a_site_administrator_cannot_make_or_change_managers(db) {
        let s = db.site("namur").await;
        users(&db, &s, &[("boss", &[Role::Manager]), ("sa", &[Role::SiteAdministrator]), ("marie", &[])]).await;
        let sa = Principal::user("sa", &[Role::SiteAdministrator]);
        let boss = Principal::user("boss", &[Role::Manager]);
        let new = |login: &str, roles: Vec<Role>| NewUser {
            login: Login::parse(login).unwrap(),
            password: Secret(PASSWORD.into()),
            fullname: String::new(),
            email: String::new(),
            roles,
        };
        forbidden(db.services.create_user(&sa, &s, new("mole", vec![Role::Manager])).await);
        db.services.create_user(&sa, &s, new("helper", vec![Role::Editor])).await.unwrap();
        let promote = UserChange { roles: Some(vec![Role::SiteAdministrator, Role::Manager]), ..UserChange::default() };
        forbidden(db.services.update_user(&sa, &s, "sa", promote.clone(), &Credential::Other).await);
        let reset = UserChange { password: Some("a new password".into()), ..UserChange::default() };
        forbidden(db.services.update_user(&sa, &s, "boss", reset.clone(), &Credential::Other).await);
        forbidden(db.services.set_password(&sa, &s, "boss", "a new password").await);
        forbidden(db.services.set_enabled(&sa, &s, "boss", false).await);
        forbidden(db.services.delete_user(&sa, &s, "boss").await);
        forbidden(db.services.create_group(&sa, &s, "admins", "Admins", vec![Role::Manager]).await);
        // A group that holds Manager is the Manager's too.
        db.services.create_group(&boss, &s, "admins", "Admins", vec![Role::Manager]).await.unwrap();
        forbidden(db.services.add_member(&sa, &s, "admins", "sa").await);
        let join = GroupChange { add: vec!["sa".into()], ..GroupChange::default() };
        forbidden(db.services.update_group(&sa, &s, "admins", join.clone()).await);
        forbidden(db.services.delete_group(&sa, &s, "admins").await);
        assert!(!db.services.principal(&s, "sa").await.unwrap().unwrap().global_roles().contains(Role::Manager));
        // Everything else about ordinary users stays theirs to do; a Manager does it all.
        db.services.set_password(&sa, &s, "marie", "a new password").await.unwrap();
        db.services.update_user(&boss, &s, "sa", promote, &Credential::Other).await.unwrap();
        db.services.update_user(&boss, &s, "helper", reset, &Credential::Other).await.unwrap();
        db.services.update_group(&boss, &s, "admins", join).await.unwrap();
        // Over HTTP: 403 with a message.
        let app = TestApp::new(&db).await;
        let body = json!({"username": "mole2", "password": PASSWORD, "roles": ["Manager"]});
        let r = post(&app, "/namur/@users", body, Some(&basic("marie"))).await;
        assert_eq!(r.status, 401, "marie may not manage users at all");
        db.user(&s, "sa2", PASSWORD, "SA2", &[Role::SiteAdministrator]).await;
        let r = post(&app, "/namur/@users", json!({"username": "mole2", "password": PASSWORD, "roles": ["Manager"]}), Some(&basic("sa2"))).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.json()["message"].as_str().unwrap().contains("Manager"));
    }

    async fn the_last_manager_cannot_be_removed(db) {
        let s = db.site("namur").await;
        users(&db, &s, &[("boss", &[Role::Manager]), ("marie", &[Role::Editor])]).await;
        let boss = Principal::user("boss", &[Role::Manager]);
        conflict(db.services.delete_user(&boss, &s, "boss").await);
        conflict(db.services.set_enabled(&boss, &s, "boss", false).await);
        conflict(db.services.delete_user(&Principal::System, &s, "boss").await);
        conflict(db.services.set_enabled(&Principal::System, &s, "boss", false).await);
        let demote = UserChange { roles: Some(vec![Role::Editor]), ..UserChange::default() };
        conflict(db.services.update_user(&Principal::System, &s, "boss", demote.clone(), &Credential::Other).await);
        assert!(db.services.principal(&s, "boss").await.unwrap().unwrap().global_roles().contains(Role::Manager));
        // With a second Manager (here through a group), the first may go.
        db.services.create_group(&boss, &s, "admins", "Admins", vec![Role::Manager]).await.unwrap();
        db.services.add_member(&boss, &s, "admins", "marie").await.unwrap();
        conflict(db.services.delete_user(&boss, &s, "boss").await);
        let marie = Principal::user("marie", &[Role::Editor, Role::Manager]);
        db.services.update_user(&marie, &s, "boss", demote, &Credential::Other).await.unwrap();
        // Emptying the last Manager group is refused too.
        let leave = GroupChange { remove: vec!["marie".into()], ..GroupChange::default() };
        conflict(db.services.update_group(&marie, &s, "admins", leave).await);
        conflict(db.services.delete_group(&marie, &s, "admins").await);
        db.services.delete_user(&marie, &s, "boss").await.unwrap();
    }

    async fn tokens_and_sessions_end_with_the_password_roles_or_account(db) {
        let s = db.site("namur").await;
        users(&db, &s, &[("boss", &[Role::Manager]), ("marie", &[Role::Editor, Role::Reviewer])]).await;
        let app = TestApp::new(&db).await;
        let boss = basic("boss");
        let ok = |r: Reply| r.status;
        // A password set by a manager ends every token of the user.
        let t1 = token(&app, "namur", "marie", PASSWORD).await;
        assert_eq!(ok(get(&app, "/namur/@users/marie", &t1).await), 200);
        let r = send(&app, "PATCH", "/namur/@users/marie", Some(json!({"password": "second password"})), Some(&boss), "192.0.2.1").await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = get(&app, "/namur/@users/marie", &t1).await;
        assert_eq!(r.status, 401, "{}", r.body);
        // Users change their own password only with the current one; the token they
        // used goes on working, their others and their browser sessions end.
        let t2 = token(&app, "namur", "marie", "second password").await;
        let t3 = token(&app, "namur", "marie", "second password").await;
        let cookie = app.session_on("namur", "marie", "second password").await;
        let change = |old: Option<&str>| {
            let mut b = json!({"password": "third password"});
            if let Some(o) = old {
                b["old_password"] = o.into();
            }
            b
        };
        let r = send(&app, "PATCH", "/namur/@users/marie", Some(change(None)), Some(&t2), "192.0.2.1").await;
        assert_eq!(r.status, 400, "{}", r.body);
        let r = send(&app, "PATCH", "/namur/@users/marie", Some(change(Some("wrong one"))), Some(&t2), "192.0.2.1").await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = send(&app, "PATCH", "/namur/@users/marie", Some(change(Some("second password"))), Some(&t2), "192.0.2.1").await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(ok(get(&app, "/namur/@users/marie", &t2).await), 200, "the token that made the change stays");
        assert_eq!(ok(get(&app, "/namur/@users/marie", &t3).await), 401);
        let page = app.get_with("/namur/@users/marie", &[("accept", "application/json"), ("cookie", &cookie)]).await;
        assert_eq!(page.status, 401, "the browser session ended");
        // A role taken away, or a disable (even undone), ends the tokens too.
        let t4 = token(&app, "namur", "marie", "third password").await;
        let r = send(&app, "PATCH", "/namur/@users/marie", Some(json!({"roles": ["Editor"]})), Some(&boss), "192.0.2.1").await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(ok(get(&app, "/namur/@users/marie", &t4).await), 401);
        let t5 = token(&app, "namur", "marie", "third password").await;
        // Adding a role takes nothing away: the token stays.
        let r = send(&app, "PATCH", "/namur/@users/marie", Some(json!({"roles": ["Editor", "Reader"]})), Some(&boss), "192.0.2.1").await;
        assert_eq!(r.status, 204);
        assert_eq!(ok(get(&app, "/namur/@users/marie", &t5).await), 200);
        db.services.set_enabled(&Principal::System, &s, "marie", false).await.unwrap();
        db.services.set_enabled(&Principal::System, &s, "marie", true).await.unwrap();
        assert_eq!(ok(get(&app, "/namur/@users/marie", &t5).await), 401);
        // The shell's password command ends them as well.
        let t6 = token(&app, "namur", "marie", "third password").await;
        db.services.set_password(&Principal::System, &s, "marie", "fourth password").await.unwrap();
        assert_eq!(ok(get(&app, "/namur/@users/marie", &t6).await), 401);
    }

    async fn failed_logins_lock_one_login_of_one_site_not_the_address(db) {
        let a = db.site("namur").await;
        let b = db.site("other").await;
        users(&db, &a, &[("marie", &[]), ("jean", &[])]).await;
        users(&db, &b, &[("marie", &[])]).await;
        let app = TestApp::new(&db).await;
        let attempt = |site: &'static str, login: &'static str, password: &'static str| {
            let app = &app;
            async move {
                send(app, "POST", &format!("/{site}/@login"), Some(json!({"login": login, "password": password})), None, "203.0.113.9").await.status.as_u16()
            }
        };
        for _ in 0..5 {
            assert_eq!(attempt("other", "marie", "wrong").await, 401);
        }
        assert_eq!(attempt("other", "marie", PASSWORD).await, 429, "that login of that site is blocked");
        assert_eq!(attempt("namur", "marie", PASSWORD).await, 200, "the same login on another site is not");
        assert_eq!(attempt("namur", "jean", PASSWORD).await, 200, "nor another login from the same address");
        let r = send(&app, "GET", "/namur/@users/marie", None, Some(&basic("marie")), "203.0.113.9").await;
        assert_eq!(r.status, 200, "Basic auth from that address works on the other site");
        // A success ends its series: four failures, a success, four more do not block.
        for _ in 0..4 {
            assert_eq!(attempt("namur", "jean", "wrong").await, 401);
        }
        assert_eq!(attempt("namur", "jean", PASSWORD).await, 200);
        for _ in 0..4 {
            assert_eq!(attempt("namur", "jean", "wrong").await, 401);
        }
        assert_eq!(attempt("namur", "jean", PASSWORD).await, 200);
    }

    async fn an_address_is_blocked_only_after_many_failures(db) {
        let s = db.site("namur").await;
        users(&db, &s, &[("marie", &[])]).await;
        let app = TestApp::new(&db).await;
        // Guessing many logins from one address: each login stays under its own limit,
        // the address reaches its much higher one.
        for i in 0..50 {
            let body = json!({"login": format!("guess{}", i % 10), "password": "wrong"});
            let r = send(&app, "POST", "/namur/@login", Some(body), None, "198.51.100.7").await;
            assert!(r.status == 401 || (r.status == 429 && i >= 40), "attempt {i}: {}", r.status);
        }
        let right = json!({"login": "marie", "password": PASSWORD});
        let r = send(&app, "POST", "/namur/@login", Some(right.clone()), None, "198.51.100.7").await;
        assert_eq!(r.status, 429);
        let r = send(&app, "POST", "/namur/@login", Some(right), None, "198.51.100.8").await;
        assert_eq!(r.status, 200, "another address is not concerned");
    }

    async fn rich_text_has_a_size_limit_and_text_lines_no_control_characters(db) {
        let s = db.site("namur").await;
        users(&db, &s, &[("boss", &[Role::Manager])]).await;
        let app = TestApp::new(&db).await;
        let boss = basic("boss");
        let big = format!("<p>{}</p>", "mot ".repeat(600_000));
        let r = post(&app, "/namur", json!({"@type": "Document", "title": "Gros", "text": {"data": big, "content-type": "text/html"}}), Some(&boss)).await;
        assert_eq!(r.status, 413, "{}", r.body);
        let r = post(&app, "/namur", json!({"@type": "Document", "title": "Petit", "text": "<p>ok</p>"}), Some(&boss)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = send(&app, "PATCH", "/namur/petit", Some(json!({"text": big})), Some(&boss), "192.0.2.1").await;
        assert_eq!(r.status, 413, "{}", r.body);
        let r = post(&app, "/namur", json!({"@type": "Document", "title": "Avis\u{0}cache"}), Some(&boss)).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("title"), "{}", r.body);
        let r = send(&app, "PATCH", "/namur/petit", Some(json!({"title": "a\u{1b}[2J"})), Some(&boss), "192.0.2.1").await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(db.services.item(&Principal::System, &s, &path("/petit")).await.unwrap().item.title, "Petit");
    }

    async fn responses_carry_security_headers_and_private_ones_say_so(db) {
        let s = db.site("namur").await;
        users(&db, &s, &[("marie", &[Role::Editor])]).await;
        db.add(&s, "", "Document", json!({"title": "Accueil"})).await;
        let app = TestApp::new(&db).await;
        let page = app.get("/namur/accueil").await;
        assert_eq!(page.status, 200);
        let csp = page.header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'self'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(page.header("x-content-type-options"), "nosniff");
        assert_eq!(page.header("referrer-policy"), "strict-origin-when-cross-origin");
        assert!(!page.header("cache-control").contains("private"));
        let json = app.get_json("/namur/accueil").await;
        assert_eq!(json.header("x-content-type-options"), "nosniff");
        // Whatever comes back to a signed-in user is theirs alone.
        for uri in ["/namur/accueil", "/namur/@users/marie", "/namur/@search?SearchableText=accueil"] {
            let r = get(&app, uri, &basic("marie")).await;
            assert_eq!(r.status, 200, "{uri}");
            assert!(r.header("cache-control").contains("private"), "{uri}: {}", r.header("cache-control"));
        }
        let edit = app.get_with("/namur/accueil/@@edit", &[("authorization", &basic("marie"))]).await;
        assert_eq!(edit.status, 200);
        assert!(edit.header("content-security-policy").contains("default-src 'self'"));
    }

    async fn the_root_lists_no_site_and_broken_bodies_are_bad_requests(db) {
        db.site("namur").await;
        let app = TestApp::new(&db).await;
        let one = app.get("/").await;
        assert_eq!(one.status, 302, "a single site is where the root leads");
        assert_eq!(one.header("location"), "http://localhost/namur");
        db.site("secret-commune").await;
        let two = app.get("/").await;
        assert_eq!(two.status, 200);
        assert!(!two.body.contains("namur") && !two.body.contains("secret-commune"), "{}", two.body);
        let j = app.get_json("/").await;
        assert!(!j.body.contains("namur") && !j.body.contains("secret"), "{}", j.body);
        // A body that breaks off (an invalid chunk) is a bad request, not too large.
        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> =
            vec![Ok(bytes::Bytes::from_static(b"{\"title\": ")), Err(std::io::Error::other("invalid chunk"))];
        let req = Request::post("/namur")
            .header("host", "localhost")
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .body(Body::from_stream(futures_util::stream::iter(chunks)))
            .unwrap();
        let r = app.request(req).await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
}

mod behind_a_proxy {
    use super::*;

    /// The address the audit log recorded for the latest login attempt.
    async fn logged_client(db: &TestDb, s: &SiteRow) -> String {
        let log = db.services.audit_log(&Principal::System, s, 10).await.unwrap();
        log.iter().find(|l| l.action.starts_with("login")).map(|l| l.client.clone()).unwrap_or_default()
    }

    both_backends! {
        async fn forwarded_addresses_count_only_from_trusted_proxies(db) {
            let s = db.site("namur").await;
            users(&db, &s, &[("marie", &[])]).await;
            let options = beffroi_web::WebOptions { trusted_proxies: vec!["127.0.0.1".parse().unwrap()], ..Default::default() };
            let app = TestApp::with_options(db.services.clone(), options).await;
            let attempt = |from: &'static str, xff: &'static str| {
                let app = &app;
                async move {
                    let mut req = Request::post("/namur/@login")
                        .header("host", "localhost")
                        .header("accept", "application/json")
                        .header("content-type", "application/json")
                        .header("x-forwarded-for", xff)
                        .body(Body::from(json!({"login": "marie", "password": "wrong"}).to_string()))
                        .unwrap();
                    req.extensions_mut().insert(ConnectInfo(format!("{from}:1234").parse::<SocketAddr>().unwrap()));
                    app.request(req).await
                }
            };
            attempt("127.0.0.1", "198.51.100.1, 203.0.113.50").await;
            assert_eq!(logged_client(&db, &s).await, "203.0.113.50");
            attempt("192.0.2.66", "203.0.113.50").await;
            assert_eq!(logged_client(&db, &s).await, "192.0.2.66", "a client's own header proves nothing");
        }
    }
}
