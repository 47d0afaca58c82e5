//! The HTML login form, sessions, CSRF, throttling and the audit log.

use axum::body::Body;
use axum::http::Request;
use beffroi_model::SiteId;
use beffroi_model::security::{Principal, Role};
use beffroi_service::SiteRow;
use serde_json::json;

use crate::both_backends;
use crate::support::{Reply, TestApp, TestDb, path};

async fn setup(db: &TestDb, site: &str) -> SiteRow {
    let s = db.site(site).await;
    db.user(&s, "marie", "correct horse battery", "Marie", &[Role::Editor]).await;
    db.add(&s, "", "Folder", json!({"title": "Interne"})).await;
    db.services.force_state(&Principal::System, &s, &path("/interne"), "private").await.unwrap();
    s
}

async fn form(app: &TestApp, uri: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    let mut b =
        Request::post(uri).header("host", "localhost").header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    app.request(b.body(Body::from(body.to_owned())).unwrap()).await
}

/// A form posted from the client address `from`.
async fn form_from(app: &TestApp, uri: &str, body: &str, from: &str) -> Reply {
    let mut req = Request::post(uri)
        .header("host", "localhost")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let peer: std::net::SocketAddr = format!("{from}:40000").parse().unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
    app.request(req).await
}

/// Moves the failure series under `key` `seconds` into the past, as if that much
/// time had gone by.
async fn pass_time(db: &TestDb, key: &str, seconds: i64) {
    let mut c = db.store.conn().await.unwrap();
    let mut f = c.db().failures(key).await.unwrap().expect("a series of failures");
    let ago = chrono::Duration::seconds(seconds);
    f.first_failure -= ago;
    f.blocked_until = f.blocked_until.map(|u| u - ago);
    c.db().put_failures(key, &f).await.unwrap();
}

fn session_of(r: &Reply) -> String {
    let c = r.header("set-cookie");
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/"), "{c}");
    c.split(';').next().unwrap().to_owned()
}

async fn log_in(app: &TestApp, site: &str) -> String {
    let r =
        form(app, &format!("/{site}/@@login"), "login=marie&password=correct+horse+battery&came_from=%2F", &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    session_of(&r)
}

fn csrf_in(html: &str) -> String {
    let i = html.find("name=\"_csrf\" value=\"").expect("a CSRF field") + 20;
    html[i..i + 64].to_owned()
}

both_backends! {
    async fn anonymous_visitors_are_sent_to_the_login_form_and_back(db) {
        setup(&db, "namur").await;
        let app = TestApp::new(&db).await;
        let r = app.get("/namur/interne?b_start=0").await;
        assert_eq!(r.status, 302);
        assert_eq!(r.header("location"), "http://localhost/namur/@@login?came_from=%2Fnamur%2Finterne%3Fb_start%3D0");
        let f = app.get("/namur/@@login?came_from=%2Fnamur%2Finterne").await;
        assert_eq!(f.status, 200);
        for needle in ["<label for=\"login\">Identifiant</label>", "autocomplete=\"current-password\"", "value=\"/namur/interne\"", "<h1>Connexion</h1>"] {
            assert!(f.body.contains(needle), "{needle} in {}", f.body);
        }
        let bad = form(&app, "/namur/@@login", "login=marie&password=nope&came_from=%2Fnamur%2Finterne", &[]).await;
        assert_eq!(bad.status, 401);
        assert!(bad.body.contains("role=\"alert\"") && bad.body.contains("Identifiant ou mot de passe incorrect."));
        assert!(bad.body.contains("value=\"marie\""), "the login is kept");
        let ok = form(&app, "/namur/@@login", "login=marie&password=correct+horse+battery&came_from=%2Fnamur%2Finterne", &[]).await;
        assert_eq!(ok.status, 303);
        assert_eq!(ok.header("location"), "http://localhost/namur/interne");
        let cookie = session_of(&ok);
        let page = app.get_with("/namur/interne", &[("cookie", &cookie)]).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Connecté : marie"));
        // The JSON face sees the same session.
        assert_eq!(app.get_with("/namur/interne", &[("cookie", &cookie), ("accept", "application/json")]).await.status, 200);
    }

    async fn a_bookmarked_add_link_survives_the_login(db) {
        let s = setup(&db, "namur").await;
        db.services.update_user(&Principal::System, &s, "marie", beffroi_service::UserChange { roles: Some(vec![Role::Editor, Role::Contributor]), ..Default::default() }, &beffroi_service::Credential::Other).await.unwrap();
        let app = TestApp::new(&db).await;
        let r = app.get("/namur/@@add?type=News%20Item").await;
        assert_eq!(r.status, 302);
        let to = r.header("location").to_owned();
        assert_eq!(to, "http://localhost/namur/@@login?came_from=%2Fnamur%2F%40%40add%3Ftype%3DNews%2BItem");
        let form_page = app.get(to.trim_start_matches("http://localhost")).await;
        assert!(form_page.body.contains("value=\"/namur/@@add?type=News+Item\""), "{}", form_page.body);
        let came_from = "%2Fnamur%2F%40%40add%3Ftype%3DNews%2BItem";
        let ok = form(&app, "/namur/@@login", &format!("login=marie&password=correct+horse+battery&came_from={came_from}"), &[]).await;
        assert_eq!(ok.status, 303);
        assert_eq!(ok.header("location"), "http://localhost/namur/@@add?type=News+Item");
        let add = app.get_with("/namur/@@add?type=News+Item", &[("cookie", &session_of(&ok))]).await;
        assert_eq!(add.status, 200, "{}", add.body);
        // The header's login link keeps the query too (a search, a listing's page).
        let search = app.get("/namur/@@search?SearchableText=budget").await;
        assert!(search.body.contains("came_from=%2Fnamur%2F%40%40search%3FSearchableText%3Dbudget"), "{}", search.body);
    }

    async fn login_never_redirects_off_site(db) {
        setup(&db, "namur").await;
        let app = TestApp::new(&db).await;
        for evil in ["%2F%2Fevil.example", "https%3A%2F%2Fevil.example", "%2F%5Cevil.example", "javascript%3Aalert(1)", "%2Fa%0D%0ALocation%3A+x"] {
            let r = form(&app, "/namur/@@login", &format!("login=marie&password=correct+horse+battery&came_from={evil}"), &[]).await;
            assert_eq!(r.status, 303);
            assert_eq!(r.header("location"), "http://localhost/namur", "{evil}");
        }
    }

    async fn logout_needs_the_csrf_token(db) {
        setup(&db, "namur").await;
        let app = TestApp::new(&db).await;
        let cookie = log_in(&app, "namur").await;
        let confirm = app.get_with("/namur/@@logout", &[("cookie", &cookie)]).await;
        assert_eq!(confirm.status, 200);
        let csrf = csrf_in(&confirm.body);
        let r = form(&app, "/namur/@@logout", "", &[("cookie", &cookie)]).await;
        assert_eq!(r.status, 403, "no token");
        let r = form(&app, "/namur/@@logout", &format!("_csrf={}", "0".repeat(64)), &[("cookie", &cookie)]).await;
        assert_eq!(r.status, 403, "wrong token");
        let r = form(&app, "/namur/@@logout", &format!("_csrf={csrf}"), &[("cookie", &cookie), ("origin", "http://evil.example")]).await;
        assert_eq!(r.status, 403, "cross-site");
        let r = form(&app, "/namur/@@logout", &format!("_csrf={csrf}"), &[("cookie", &cookie), ("origin", "http://localhost")]).await;
        assert_eq!(r.status, 303);
        assert!(r.header("set-cookie").contains("Max-Age=0"));
        assert_eq!(app.get_with("/namur/interne", &[("cookie", &cookie)]).await.status, 302, "the session is gone");
        // Cookie-authenticated JSON posts need the token too (header form).
        let cookie = log_in(&app, "namur").await;
        let page = app.get_with("/namur/@@logout", &[("cookie", &cookie)]).await;
        let csrf = csrf_in(&page.body);
        let post = |token: Option<String>| {
            let mut b = Request::post("/namur/interne/@sharing").header("host", "localhost").header("accept", "application/json").header("cookie", cookie.clone());
            if let Some(t) = token {
                b = b.header("x-csrf-token", t);
            }
            b.body(Body::from(json!({"entries": [], "inherit": true}).to_string())).unwrap()
        };
        assert_eq!(app.request(post(None)).await.status, 403);
        assert_eq!(app.request(post(Some(csrf))).await.status, 204);
    }

    async fn sessions_are_rotated_and_bound_to_their_site(db) {
        setup(&db, "namur").await;
        setup(&db, "liege").await;
        let app = TestApp::new(&db).await;
        let first = log_in(&app, "namur").await;
        let page = app.get_with("/namur/@@login", &[("cookie", &first)]).await;
        let csrf = csrf_in(&page.body);
        let r = form(&app, "/namur/@@login", &format!("_csrf={csrf}&login=marie&password=correct+horse+battery"), &[("cookie", &first)]).await;
        assert_eq!(r.status, 303);
        let second = session_of(&r);
        assert_ne!(first, second, "a new id at each login");
        assert_eq!(app.get_with("/namur/interne", &[("cookie", &first)]).await.status, 302, "the old id is dead");
        assert_eq!(app.get_with("/namur/interne", &[("cookie", &second)]).await.status, 200);
        // marie exists on liege too, but namur's session is worth nothing there.
        assert_eq!(app.get_with("/liege/interne", &[("cookie", &second)]).await.status, 302);
        let forged = "beffroi_session=".to_owned() + &"a".repeat(64);
        assert_eq!(app.get_with("/namur/interne", &[("cookie", &forged)]).await.status, 302);
    }

    async fn repeated_failures_are_throttled_and_audited(db) {
        let s = setup(&db, "namur").await;
        let app = TestApp::new(&db).await;
        // The failures come from two addresses: the series is the login's, wherever
        // its attempts come from.
        for n in 1..=5 {
            let started = std::time::Instant::now();
            let from = if n % 2 == 0 { "192.0.2.1" } else { "198.51.100.2" };
            assert_eq!(form_from(&app, "/namur/@@login", "login=marie&password=nope", from).await.status, 401);
            // Each failure of the series answers later than the one before.
            assert!(started.elapsed() >= std::time::Duration::from_millis(100 * n), "failure {n} was not slowed");
        }
        let r = form_from(&app, "/namur/@@login", "login=marie&password=correct+horse+battery", "203.0.113.3").await;
        assert_eq!(r.status, 429, "blocked even with the right password, from a third address too, for a while");
        let first_block: u64 = r.header("retry-after").parse().unwrap();
        assert!((55..=60).contains(&first_block), "a first block of a minute: {first_block}");
        let j = app
            .request(Request::post("/namur/@login").header("host", "localhost").header("accept", "application/json")
                .body(Body::from(json!({"login": "MARIE", "password": "correct horse battery"}).to_string())).unwrap())
            .await;
        assert_eq!(j.status, 429);
        assert_eq!(j.json()["type"], "TooManyRequests");
        // The end of the block (its time moved into the past rather than waited for):
        // the series goes on, and five more failures block it again, for longer.
        let key = "login:namur:marie";
        pass_time(&db, key, 61).await;
        for _ in 0..5 {
            assert_eq!(form_from(&app, "/namur/@@login", "login=marie&password=nope", "192.0.2.1").await.status, 401);
        }
        let r = form_from(&app, "/namur/@@login", "login=marie&password=correct+horse+battery", "192.0.2.1").await;
        assert_eq!(r.status, 429);
        let second_block: u64 = r.header("retry-after").parse().unwrap();
        assert!((115..=120).contains(&second_block), "the second series blocks for two minutes: {second_block}");
        // Once that block is over, the right password opens a session and ends the series.
        pass_time(&db, key, 121).await;
        let r = form_from(&app, "/namur/@@login", "login=marie&password=correct+horse+battery", "192.0.2.1").await;
        assert_eq!(r.status, 303, "{}", r.body);
        let mut c = db.store.conn().await.unwrap();
        assert!(c.db().failures(key).await.unwrap().is_none(), "a success forgets the series");
        drop(c);
        let r = form_from(&app, "/namur/@@login", "login=marie&password=nope", "192.0.2.1").await;
        assert_eq!(r.status, 401, "a new series starts from nothing");
        let log = db.services.audit_log(&Principal::System, &s, 50).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions.iter().filter(|a| **a == "login.failure").count(), 11);
        assert_eq!(actions.iter().filter(|a| **a == "login.throttled").count(), 3);
        assert!(actions.contains(&"login"));
        let clients: std::collections::BTreeSet<&str> = log.iter().filter(|a| a.action == "login.failure").map(|a| a.client.as_str()).collect();
        assert_eq!(clients.into_iter().collect::<Vec<_>>(), ["192.0.2.1", "198.51.100.2"], "each attempt logged with its address");
        assert!(actions.contains(&"user.create"));
        let other = db.services.site(&SiteId::parse("namur").unwrap()).await.unwrap().unwrap();
        assert!(db.services.audit_log(&Principal::user("marie", &[Role::Editor]), &other, 10).await.is_err(), "managers only");
    }
}

mod panels {
    use super::*;

    async fn manager_session(db: &TestDb, app: &TestApp, s: &SiteRow) -> (String, String) {
        db.user(s, "admin", "admin password", "Admin", &[Role::Manager]).await;
        let r = form(app, "/namur/@@login", "login=admin&password=admin+password", &[]).await;
        let cookie = session_of(&r);
        let page = app.get_with("/namur/@@users-groups", &[("cookie", &cookie)]).await;
        assert_eq!(page.status, 200);
        (cookie.clone(), csrf_in(&page.body))
    }

    both_backends! {
        async fn users_and_groups_panel_adds_and_disables(db) {
            let s = setup(&db, "namur").await;
            let app = TestApp::new(&db).await;
            assert_eq!(app.get("/namur/@@users-groups").await.status, 302, "anonymous → login");
            let marie = log_in(&app, "namur").await;
            assert_eq!(app.get_with("/namur/@@users-groups", &[("cookie", &marie)]).await.status, 401, "an Editor is no manager");
            let (cookie, csrf) = manager_session(&db, &app, &s).await;
            let add = format!("_csrf={csrf}&action=add-user&login=luc&fullname=Luc&email=luc%40namur.be&password=long+password&role=Reviewer");
            assert_eq!(form(&app, "/namur/@@users-groups", &add.replace(&csrf, "x"), &[("cookie", &cookie)]).await.status, 403);
            let r = form(&app, "/namur/@@users-groups", &add, &[("cookie", &cookie)]).await;
            assert_eq!(r.status, 303);
            assert_eq!(r.header("location"), "http://localhost/namur/@@users-groups?saved=1");
            let again = form(&app, "/namur/@@users-groups", &add, &[("cookie", &cookie)]).await;
            assert_eq!(again.status, 409);
            assert!(again.body.contains("role=\"alert\"") && again.body.contains("already exists"));
            let g = format!("_csrf={csrf}&action=add-group&group=urbanisme&title=Urbanisme");
            assert_eq!(form(&app, "/namur/@@users-groups", &g, &[("cookie", &cookie)]).await.status, 303);
            let m = format!("_csrf={csrf}&action=add-member&group=urbanisme&login=luc");
            assert_eq!(form(&app, "/namur/@@users-groups", &m, &[("cookie", &cookie)]).await.status, 303);
            let d = format!("_csrf={csrf}&action=disable&login=marie");
            assert_eq!(form(&app, "/namur/@@users-groups", &d, &[("cookie", &cookie)]).await.status, 303);
            assert_eq!(app.get_with("/namur/interne", &[("cookie", &marie)]).await.status, 302, "disabled: the session is gone");
            let panel = app.get_with("/namur/@@users-groups?saved=1", &[("cookie", &cookie)]).await.body;
            assert!(panel.contains("Modifications enregistrées."));
            assert!(panel.contains("<th scope=\"row\">luc</th>"), "{panel}");
            assert!(panel.contains("<th scope=\"row\">urbanisme</th><td>Urbanisme</td><td></td><td>luc</td>"), "{panel}");
            let luc = db.services.principal(&s, "luc").await.unwrap().unwrap();
            assert!(matches!(&luc, Principal::User { roles, groups, .. } if roles.contains(&Role::Reviewer) && groups == &["urbanisme".to_owned()]));
        }

        async fn sharing_form_grants_and_inherits(db) {
            let s = setup(&db, "namur").await;
            db.add(&s, "/interne", "Document", json!({"title": "Note"})).await;
            let app = TestApp::new(&db).await;
            let (cookie, _) = manager_session(&db, &app, &s).await;
            let page = app.get_with("/namur/interne", &[("cookie", &cookie)]).await;
            assert!(page.body.contains("<a href=\"http://localhost/namur/interne/@@sharing\">Partage</a>"), "toolbar");
            let form_page = app.get_with("/namur/interne/@@sharing?search=mar", &[("cookie", &cookie)]).await;
            assert_eq!(form_page.status, 200);
            assert!(form_page.body.contains("value=\"user:marie\""), "search found marie");
            assert!(form_page.body.contains("<caption>Qui peut faire quoi ici</caption>"));
            let csrf = csrf_in(&form_page.body);
            let body = format!("_csrf={csrf}&entry=user%3Amarie&role=user%3Amarie%7CReader&inherit=on");
            let r = form(&app, "/namur/interne/@@sharing", &body, &[("cookie", &cookie)]).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let sh = db.services.sharing(&Principal::System, &s, &path("/interne/note")).await.unwrap();
            let m = sh.entries.iter().find(|e| e.grantee == beffroi_model::security::Grantee::User("marie".into())).unwrap();
            assert!(m.roles.contains(&(Role::Reader, beffroi_service::RoleOrigin::Inherited)));
            let after = app.get_with("/namur/interne/@@sharing?saved=1", &[("cookie", &cookie)]).await.body;
            assert!(after.contains("value=\"user:marie|Reader\"") && after.contains("checked"));
            // Unticking inherit blocks what comes from above.
            let csrf = csrf_in(&after);
            let body = format!("_csrf={csrf}&entry=user%3Amarie&role=user%3Amarie%7CReader");
            assert_eq!(form(&app, "/namur/interne/@@sharing", &body, &[("cookie", &cookie)]).await.status, 303);
            assert!(!db.services.sharing(&Principal::System, &s, &path("/interne")).await.unwrap().inherit);
            assert_eq!(app.get("/namur/interne/@@sharing").await.status, 302);
        }
    }
}
