//! An editor's day in the HTML forms: the order of the edit form, languages by name,
//! the current image kept, replaced or removed.

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use beffroi_model::security::{Principal, Role};
use serde_json::json;

use crate::both_backends;
use crate::support::{Reply, TestApp, TestDb, csrf, multipart, path, png};

async fn stored(db: &TestDb, s: &beffroi_service::SiteRow) -> serde_json::Value {
    let v = db.services.item(&Principal::System, s, &path("/marche-de-noel")).await.unwrap();
    v.item.fields.get("image").cloned().unwrap_or_default()
}

/// Site `s` with an editor who may add, and a session of theirs.
async fn signed_in(db: &TestDb) -> (beffroi_service::SiteRow, TestApp, String) {
    let s = db.site("s").await;
    db.user(&s, "ed", "editor password", "Éditrice", &[Role::Editor, Role::Contributor]).await;
    let app = TestApp::new(db).await;
    let c = app.session("ed", "editor password").await;
    (s, app, c)
}

async fn post(app: &TestApp, uri: &str, cookie: &str, (ct, body): (String, Vec<u8>)) -> Reply {
    let req = Request::post(uri)
        .header("host", "localhost")
        .header("cookie", cookie)
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap();
    app.request(req).await
}

both_backends! {
    async fn the_edit_form_puts_the_text_first_and_keeps_replaces_or_removes_the_image(db) {
        let s = db.site("s").await;
        db.user(&s, "ed", "editor password", "Éditrice", &[Role::Editor, Role::Contributor]).await;
        let image = base64::engine::general_purpose::STANDARD.encode(png(600, 300));
        db.add(&s, "", "News Item", json!({
            "title": "Marché de Noël",
            "description": "Sur la place",
            "text": "<p>Chalets et vin chaud.</p>",
            "image": {"data": image, "encoding": "base64", "filename": "marche.png", "content-type": "image/png"},
        })).await;
        let app = TestApp::new(&db).await;
        let c = app.session("ed", "editor password").await;
        let form = app.get_with("/s/marche-de-noel/@@edit", &[("cookie", &c)]).await;
        assert_eq!(form.status, 200);
        let at = |needle: &str| form.body.find(needle).unwrap_or_else(|| panic!("{needle} in {}", form.body));
        // Title, description, then the text; the groups after; the change note last.
        assert!(at("id=\"field-title\"") < at("id=\"field-description\""));
        assert!(at("id=\"field-description\"") < at("id=\"field-text\""));
        assert!(at("id=\"field-text\"") < at("id=\"field-image\""));
        assert!(at("id=\"field-text\"") < at("id=\"field-subjects\""));
        assert!(at("<legend>Catégorisation</legend>") < at("id=\"field-language\""));
        // One fieldset a group, each closed before the next.
        let groups: Vec<&str> = form.body.split("<fieldset class=\"group\">").skip(1).collect();
        assert_eq!(groups.len(), 4, "categorization, dates, ownership, settings");
        assert!(groups.iter().all(|g| g.find("</fieldset>").is_some()), "every group closes");
        assert!(at("id=\"field-rights\"") < at("id=\"field-changeNote\""));
        // Languages by their names.
        assert!(form.body.contains("<option value=\"fr\" selected lang=\"fr\">Français</option>"), "{}", form.body);
        assert!(form.body.contains(">Nederlands</option>"));
        // The current image, small, with keep / replace / remove.
        assert!(form.body.contains("src=\"http://localhost/s/marche-de-noel/@@images/image/thumb\""));
        for v in ["keep\" checked", "replace\"", "remove\""] {
            assert!(form.body.contains(&format!("name=\"image-action\" value=\"{v}")), "{v}");
        }
        let token = csrf(&form.body);
        let fields = |action: &'static str| {
            vec![("_csrf", token.clone()), ("title", "Marché de Noël".into()), ("image-action", action.into())]
        };
        let as_refs = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, x)| (*k, x.clone())).collect::<Vec<_>>();
        let send = |f: Vec<(&'static str, String)>, file: Option<Vec<u8>>| {
            let app = &app;
            let c = c.clone();
            async move {
                let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let body = multipart(&pairs, file.as_deref().map(|d| ("image", "nouveau.png", "image/png", d)));
                post(app, "/s/marche-de-noel/@@edit", &c, body).await
            }
        };
        // Keep: nothing chosen, the image stays.
        let r = send(as_refs(&fields("keep")), None).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(stored(&db, &s).await["filename"], "marche.png");
        // A file chosen replaces it.
        let r = send(as_refs(&fields("replace")), Some(png(200, 100))).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(stored(&db, &s).await["filename"], "nouveau.png");
        // Remove clears it, even with a file chosen.
        let r = send(as_refs(&fields("remove")), Some(png(200, 100))).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(stored(&db, &s).await.is_null());
        let page = app.get("/s/marche-de-noel").await;
        assert!(!page.body.contains("lead-image"));
    }

    async fn event_times_are_typed_and_shown_in_the_site_time_zone(db) {
        let (s, app, c) = signed_in(&db).await;
        let form = app.get_with("/s/@@add?type=Event", &[("cookie", &c)]).await;
        let token = csrf(&form.body);
        // The last Sunday of March (summer time from 03:00) and one in October (back
        // to winter time on the 25th).
        for (title, start, end, utc_start) in [
            ("Brocante", "2026-03-29T08:00", "2026-03-29T13:00", "2026-03-29T06:00:00+00:00"),
            ("Marche", "2026-10-25T08:00", "2026-10-25T13:00", "2026-10-25T07:00:00+00:00"),
            ("Concert", "2026-01-10T20:30", "2026-01-10T23:00", "2026-01-10T19:30:00+00:00"),
        ] {
            let body = serde_urlencoded::to_string([("_csrf", token.as_str()), ("title", title), ("start", start), ("end", end)]).unwrap();
            let r = app.post_form("/s/@@add?type=Event", &c, body).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let url = r.header("location").trim_start_matches("http://localhost").to_owned();
            let json = app.get_with(&url, &[("cookie", &c), ("accept", "application/json")]).await.json();
            assert_eq!(json["start"], utc_start, "JSON keeps the instant, with its offset");
            let page = app.get_with(&url, &[("cookie", &c)]).await.body;
            let (day, hours) = (&start[8..10], &start[11..16]);
            assert!(page.contains(&format!("{day}/{}/2026 {hours}", &start[5..7])), "{title}: {hours} in {page}");
            assert!(page.contains(&format!("{} {}", &end[8..10], &end[11..16])) || page.contains(&end[11..16]), "{title}: end");
            let edit = app.get_with(&format!("{url}/@@edit"), &[("cookie", &c)]).await.body;
            assert!(edit.contains(&format!("value=\"{start}\"")), "{title}: the form shows {start}");
        }
        // A site elsewhere shows the same instant at its own hour.
        db.services.set_time_zone(&Principal::System, &s, "Europe/London".parse().unwrap()).await.unwrap();
        let page = app.get_with("/s/concert", &[("cookie", &c)]).await.body;
        assert!(page.contains("10/01/2026 19:30"), "{page}");
    }

    async fn actions_confirm_on_the_next_page_and_revert_asks_first(db) {
        let s = db.site("s").await;
        db.user(&s, "ed", "editor password", "Éditrice", &[Role::Editor, Role::Contributor]).await;
        db.add(&s, "", "Document", json!({"title": "Horaires", "text": "<p>Lundi</p>"})).await;
        let app = TestApp::new(&db).await;
        let c = app.session("ed", "editor password").await;
        let form = app.get_with("/s/horaires/@@edit", &[("cookie", &c)]).await;
        let token = csrf(&form.body);
        // Editing screens keep the site's navigation and the breadcrumbs.
        db.add(&s, "", "Folder", json!({"title": "Services"})).await;
        for uri in ["/s/horaires/@@edit", "/s/horaires/@@history", "/s/horaires/@@sharing", "/s/@@folder_contents", "/s/@@search?SearchableText=lundi", "/s/@@add?type=Document"] {
            let page = app.get_with(uri, &[("cookie", &c)]).await;
            assert_eq!(page.status, 200, "{uri}");
            assert!(page.body.contains("class=\"main-nav\"") && page.body.contains(">Services</a>"), "{uri}: {}", page.body);
        }
        let edit = app.get_with("/s/horaires/@@edit", &[("cookie", &c)]).await.body;
        assert!(edit.contains("class=\"breadcrumbs wrap\"") && edit.contains("aria-current=\"page\">Horaires</a>"), "{edit}");
        // Logging out is one click: a button in the user bar.
        assert!(form.body.contains("<form class=\"logout\" method=\"post\" action=\"http://localhost/s/@@logout\">"), "{}", form.body);
        let send = |uri: &'static str, body: String| app.post_form(uri, &c, body);
        let r = send("/s/horaires/@@edit", format!("_csrf={token}&title=Horaires+d%27hiver&text=%3Cp%3EMardi%3C%2Fp%3E")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let status = r.header("set-cookie").split(';').next().unwrap().to_owned();
        assert_eq!(status, "beffroi_status=saved");
        // The next page says so, once, and clears it.
        let with = format!("{c}; {status}");
        let page = app.get_with("/s/horaires", &[("cookie", &with)]).await;
        assert!(page.body.contains("<p class=\"status\" role=\"status\">Modifications enregistrées.</p>"), "{}", page.body);
        assert!(page.header("set-cookie").starts_with("beffroi_status=;") && page.header("set-cookie").contains("Max-Age=0"));
        assert!(!app.get_with("/s/horaires", &[("cookie", &c)]).await.body.contains("role=\"status\""));
        // An unknown value says nothing.
        let forged = app.get_with("/s/horaires", &[("cookie", &format!("{c}; beffroi_status=%3Cscript%3E"))]).await;
        assert!(!forged.body.contains("role=\"status\"") && !forged.body.contains("script%3E"));
        // Any two versions can be compared; changes are marked for screen readers too.
        let history = app.get_with("/s/horaires/@@history", &[("cookie", &c)]).await.body;
        assert!(history.contains("<select id=\"cmp-a\" name=\"a\">") && history.contains("<select id=\"cmp-b\" name=\"b\">"), "{history}");
        let diff = app.get_with("/s/horaires/@@history?a=0&b=1", &[("cookie", &c)]).await.body;
        assert!(diff.contains("<ins><span class=\"visually-hidden\">[ajouté : </span>"), "{diff}");
        assert!(diff.contains("<del><span class=\"visually-hidden\">[supprimé : </span>"), "{diff}");
        // Reverting asks first; confirmed, it restores and says so.
        let r = send("/s/horaires/@@history", format!("_csrf={token}&revert=0")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("name=\"confirm\" value=\"1\"") && r.body.contains("Revenir à la version 0 ?"), "{}", r.body);
        assert_eq!(db.services.item(&Principal::System, &s, &path("/horaires")).await.unwrap().item.title, "Horaires d'hiver");
        let r = send("/s/horaires/@@history", format!("_csrf={token}&revert=0&confirm=1")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(r.header("set-cookie").starts_with("beffroi_status=reverted"));
        assert_eq!(db.services.item(&Principal::System, &s, &path("/horaires")).await.unwrap().item.title, "Horaires");
    }

    async fn the_contents_view_moves_items_and_the_review_list_shows_comments(db) {
        let s = db.site("s").await;
        db.user(&s, "ed", "editor password", "Éditrice", &[Role::Editor, Role::Contributor, Role::Reviewer]).await;
        db.add(&s, "", "Folder", json!({"title": "Actualites"})).await;
        db.add(&s, "", "Folder", json!({"title": "Archives"})).await;
        for t in ["Un", "Deux", "Trois"] {
            db.add(&s, "/actualites", "Document", json!({"title": t})).await;
        }
        db.add(&s, "/actualites", "Folder", json!({"title": "Dossier"})).await;
        let app = TestApp::new(&db).await;
        let c = app.session("ed", "editor password").await;
        let page = app.get_with("/s/actualites/@@folder_contents", &[("cookie", &c)]).await;
        assert_eq!(page.status, 200);
        let token = csrf(&page.body);
        assert!(page.body.contains("class=\"type-icon folder\""), "folders are told apart");
        assert!(page.body.contains("class=\"drag-handle\"") && page.body.contains("name=\"top\" value=\"deux\""));
        assert!(page.body.contains("<option value=\"/archives\">"), "{}", page.body);
        let send = |uri: &'static str, body: String| app.post_form(uri, &c, body);
        let order = |db: &TestDb| {
            let s = s.clone();
            let db = db.services.clone();
            async move {
                let v = db.item(&Principal::System, &s, &path("/actualites")).await.unwrap();
                db.children(&Principal::System, &s, &v, 0, 100).await.unwrap().items.into_iter().map(|i| i.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(send("/s/actualites/@@folder_contents", format!("_csrf={token}&top=trois")).await.status, 303);
        assert_eq!(order(&db).await, ["trois", "un", "deux", "dossier"]);
        assert_eq!(send("/s/actualites/@@folder_contents", format!("_csrf={token}&bottom=trois")).await.status, 303);
        assert_eq!(order(&db).await, ["un", "deux", "dossier", "trois"]);
        // Move to…: the selection goes to the chosen folder.
        let r = send("/s/actualites/@@folder_contents", format!("_csrf={token}&sel=un&sel=deux&action=move&target=%2Farchives")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.header("location"), "http://localhost/s/archives/@@folder_contents");
        assert_eq!(order(&db).await, ["dossier", "trois"]);
        let r = send("/s/actualites/@@folder_contents", format!("_csrf={token}&sel=trois&action=move&target=")).await;
        assert_eq!(r.status, 400);
        // The review list says who submitted and why.
        let r = app.request(
            Request::post("/s/actualites/trois/@workflow/retract")
                .header("host", "localhost")
                .header("accept", "application/json")
                .header("content-type", "application/json")
                .header("authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ed:editor password")))
                .body(Body::from("{}"))
                .unwrap(),
        ).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = app.request(
            Request::post("/s/actualites/trois/@workflow/submit")
                .header("host", "localhost")
                .header("accept", "application/json")
                .header("content-type", "application/json")
                .header("authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ed:editor password")))
                .body(Body::from(json!({"comment": "Horaires à vérifier avec le service"}).to_string()))
                .unwrap(),
        ).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let list = app.get_with("/s/@@review-list", &[("cookie", &c)]).await;
        assert!(list.body.contains("Horaires à vérifier avec le service") && list.body.contains("ed"), "{}", list.body);
    }

    async fn a_file_chosen_before_a_preview_or_an_error_is_kept(db) {
        let s = db.site("s").await;
        db.user(&s, "ed", "editor password", "Éditrice", &[Role::Editor, Role::Contributor]).await;
        db.user(&s, "other", "other password", "Autre", &[Role::Editor, Role::Contributor]).await;
        let app = TestApp::new(&db).await;
        let c = app.session("ed", "editor password").await;
        let form = app.get_with("/s/@@add?type=News%20Item", &[("cookie", &c)]).await;
        let token = csrf(&form.body);
        let image = png(320, 200);
        // Preview with a lead image chosen: the page keeps it, sealed.
        let body = multipart(&[("_csrf", &token), ("title", "Fête"), ("_preview", "1")], Some(("image", "fete.png", "image/png", &image)));
        let r = post(&app, "/s/@@add?type=News%20Item", &c, body).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("fete.png"), "{}", r.body);
        let needle = "name=\"_kept-image\" value=\"";
        let i = r.body.find(needle).expect("a kept file") + needle.len();
        let seal = r.body[i..].split('"').next().unwrap().to_owned();
        // Saved without choosing it again: the item has it.
        let body = multipart(&[("_csrf", &token), ("title", "Fête"), ("_kept-image", &seal)], None);
        let r = post(&app, "/s/@@add?type=News%20Item", &c, body).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let v = db.services.item(&Principal::System, &s, &path("/fete")).await.unwrap();
        assert_eq!(v.item.fields["image"]["filename"], "fete.png");
        // The same after an error (no title): the file survives to the next post.
        let body = multipart(&[("_csrf", &token), ("title", "")], Some(("image", "sans-titre.png", "image/png", &image)));
        let r = post(&app, "/s/@@add?type=Image", &c, body).await;
        assert_eq!(r.status, 303, "an Image takes its title from the file: {}", r.body);
        let body = multipart(&[("_csrf", &token), ("title", "")], Some(("image", "x.png", "image/png", &image)));
        let r = post(&app, "/s/@@add?type=Event", &c, body).await;
        assert_eq!(r.status, 400, "an event has no image field");
        // A seal altered, or another user's, is worth nothing.
        let other = app.session("other", "other password").await;
        let other_token = csrf(&app.get_with("/s/@@add?type=Image", &[("cookie", &other)]).await.body);
        let body = multipart(&[("_csrf", &other_token), ("title", "Volée"), ("_kept-image", &seal)], None);
        let r = post(&app, "/s/@@add?type=Image", &other, body).await;
        assert_eq!(r.status, 400, "the required image is missing: {}", r.body);
        let forged = format!("{}x", seal);
        let body = multipart(&[("_csrf", &token), ("title", "Faux"), ("_kept-image", &forged)], None);
        assert_eq!(post(&app, "/s/@@add?type=Image", &c, body).await.status, 400);
    }

    async fn french_pages_speak_french_only(db) {
        let s = db.site("s").await;
        db.user(&s, "chef", "manager password", "Cheffe", &[Role::Manager]).await;
        db.user(&s, "ed", "editor password", "Éditrice", &[Role::Editor]).await;
        db.add(&s, "", "Folder", json!({"title": "Services"})).await;
        db.add(&s, "/services", "Document", json!({"title": "Horaires", "text": "<p>Lundi</p>"})).await;
        db.add(&s, "/services", "News Item", json!({"title": "Travaux"})).await;
        db.add(&s, "/services", "Event", json!({"title": "Brocante", "start": "2026-05-01T08:00:00+02:00", "end": "2026-05-01T12:00:00+02:00", "recurrence": "RRULE:FREQ=WEEKLY;COUNT=3"})).await;
        db.add(&s, "/services", "Link", json!({"title": "Région", "remoteUrl": "https://www.wallonie.be"})).await;
        db.add_private(&s, "/services", "Document", json!({"title": "Brouillon"})).await;
        db.services.update(&Principal::System, &s, &path("/services/horaires"), &crate::support::obj(json!({"text": "<p>Mardi</p>"}))).await.unwrap();
        db.services.update_sharing(&Principal::System, &s, &path("/services"), beffroi_service::SharingChange {
            entries: vec![(beffroi_model::security::Grantee::User("ed".into()), vec![(Role::Reader, true)])],
            inherit: None,
        }).await.unwrap();
        let app = TestApp::new(&db).await;
        let c = app.session("chef", "manager password").await;
        let keys = beffroi_web::i18n::I18n::keys();
        // English a French page must not show, as whole words.
        let english = [
            "published", "private", "pending", "publish", "submit", "retract", "Member", "Editor", "Reader",
            "Contributor", "Reviewer", "Manager", "Logged-in", "required", "Reverted", "Heading", "Save", "Cancel",
            "Delete", "Edit", "Contents", "Sharing", "History", "Search", "Title",
        ];
        let pages = [
            "/s", "/s/services", "/s/services/horaires", "/s/services/travaux", "/s/services/brocante", "/s/services/region",
            "/s/services/brouillon", "/s/services/horaires/@@edit", "/s/services/brocante/@@edit", "/s/services/@@add?type=News%20Item",
            "/s/services/@@folder_contents", "/s/services/horaires/@@history", "/s/services/horaires/@@history?a=0&b=1",
            "/s/services/@@sharing", "/s/@@review-list", "/s/@@users-groups", "/s/@@search?SearchableText=lundi",
            "/s/services/horaires/@@rename", "/s/services/horaires/@@delete", "/s/nowhere",
        ];
        for uri in pages {
            let page = app.get_with(uri, &[("cookie", &c)]).await;
            assert!(page.status == 200 || (uri == "/s/nowhere" && page.status == 404), "{uri}: {}", page.status);
            // The visible text: tags, scripts and attribute values left out.
            let mut text = String::new();
            let mut in_tag = false;
            for ch in page.body.chars() {
                match ch {
                    '<' => in_tag = true,
                    '>' => { in_tag = false; text.push(' '); }
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            let words: Vec<&str> = text.split(|c: char| !(c.is_alphanumeric() || c == '-')).filter(|w| !w.is_empty()).collect();
            for w in &english {
                assert!(!words.contains(w), "{uri} shows the English {w:?}: {text}");
            }
            for k in &keys {
                assert!(!words.contains(&k.as_str()) || !k.contains('-'), "{uri} shows the message key {k:?}");
            }
        }
        // Field errors too.
        let form = app.get_with("/s/services/@@add?type=Document", &[("cookie", &c)]).await;
        let token = csrf(&form.body);
        let r = app.post_form("/s/services/@@add?type=Document", &c, format!("_csrf={token}&title=")).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("Titre : obligatoire") && !r.body.contains(": required"), "{}", r.body);
        // The rich-text editor's own names come from the page's language.
        let edit = app.get_with("/s/services/horaires/@@edit", &[("cookie", &c)]).await.body;
        assert!(edit.contains("data-label-bold=\"Gras\"") && edit.contains("data-label-link=\"Lien\""));
    }

    async fn a_recurrence_is_chosen_in_a_form_and_the_raw_rule_stays_for_experts(db) {
        let (s, app, c) = signed_in(&db).await;
        let form = app.get_with("/s/@@add?type=Event", &[("cookie", &c)]).await;
        assert_eq!(form.status, 200);
        // The widget: how often, every N, the weekdays labelled, the end, exceptions; the
        // raw rule folded away for experts.
        for needle in [
            "<legend id=\"field-recurrence\" tabindex=\"-1\">Récurrence</legend>",
            "<label for=\"recurrence-freq\">Répéter</label>",
            "<option value=\"weekly\">chaque semaine</option>",
            "name=\"recurrence-interval\" type=\"number\"",
            "<label class=\"inline\" for=\"recurrence-byday-MO\">lundi</label>",
            "<label class=\"inline\" for=\"recurrence-byday-SU\">dimanche</label>",
            "name=\"recurrence-end\" value=\"never\" checked",
            "name=\"recurrence-exdates\"",
            "<summary>Règle iCalendar (experts)</summary>",
            "<textarea id=\"recurrence-raw\" name=\"recurrence\"",
        ] {
            assert!(form.body.contains(needle), "{needle} in {}", form.body);
        }
        let token = csrf(&form.body);
        let send = |uri: &'static str, pairs: Vec<(&'static str, String)>| {
            let app = &app;
            let c = c.clone();
            async move {
                let body = serde_urlencoded::to_string(&pairs).unwrap();
                app.request(
                    Request::post(uri)
                        .header("host", "localhost")
                        .header("cookie", &c)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
            }
        };
        let widget = |title: &str, interval: &str, end: &str, count: &str| {
            vec![
                ("_csrf", token.clone()),
                ("title", title.to_owned()),
                ("start", "2030-01-07T18:00".to_owned()),
                ("end", "2030-01-07T20:00".to_owned()),
                ("recurrence-shown", String::new()),
                ("recurrence", String::new()),
                ("recurrence-freq", "weekly".to_owned()),
                ("recurrence-interval", interval.to_owned()),
                ("recurrence-byday", "MO".to_owned()),
                ("recurrence-byday", "WE".to_owned()),
                ("recurrence-end", end.to_owned()),
                ("recurrence-count", count.to_owned()),
                ("recurrence-until", String::new()),
                ("recurrence-exdates", String::new()),
            ]
        };
        // Every two weeks, Monday and Wednesday, five times.
        let r = send("/s/@@add?type=Event", widget("Répétition", "2", "count", "5")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let item = db.services.item(&Principal::System, &s, &path("/repetition")).await.unwrap().item;
        assert_eq!(item.fields["recurrence"], "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=5");
        let page = app.get_with("/s/repetition", &[("cookie", &c)]).await.body;
        for day in ["07/01/2030 18:00", "09/01/2030 18:00", "21/01/2030 18:00", "23/01/2030 18:00", "04/02/2030 18:00"] {
            assert!(page.contains(day), "{day} in {page}");
        }
        assert!(!page.contains("06/02/2030") && !page.contains("14/01/2030"), "{page}");
        // The edit form shows the widget filled in from the rule.
        let edit = app.get_with("/s/repetition/@@edit", &[("cookie", &c)]).await.body;
        for needle in [
            "<option value=\"weekly\" selected>",
            "name=\"recurrence-interval\" type=\"number\" min=\"1\" max=\"1000\" value=\"2\"",
            "name=\"recurrence-byday\" value=\"MO\" checked",
            "name=\"recurrence-byday\" value=\"WE\" checked",
            "name=\"recurrence-byday\" value=\"TU\">",
            "name=\"recurrence-end\" value=\"count\" checked",
            "name=\"recurrence-count\" min=\"1\" max=\"5000\" value=\"5\"",
            "name=\"recurrence-shown\" value=\"RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=5\"",
        ] {
            assert!(edit.contains(needle), "{needle} in {edit}");
        }
        // Until a day, with an exception, changed in the widget.
        let mut pairs = widget("Répétition", "1", "until", "");
        pairs.retain(|(k, _)| !["recurrence-shown", "recurrence", "recurrence-until", "recurrence-exdates"].contains(k));
        let rule = "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=5".to_owned();
        pairs.extend([
            ("recurrence-shown", rule.clone()),
            ("recurrence", rule.replace('\n', "\r\n")),
            ("recurrence-until", "2030-01-16".to_owned()),
            ("recurrence-exdates", "2030-01-09\r\n".to_owned()),
        ]);
        let r = send("/s/repetition/@@edit", pairs).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let item = db.services.item(&Principal::System, &s, &path("/repetition")).await.unwrap().item;
        assert_eq!(
            item.fields["recurrence"],
            "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20300116T225959Z\nEXDATE;TZID=Europe/Brussels:20300109T180000"
        );
        let page = app.get_with("/s/repetition", &[("cookie", &c)]).await.body;
        assert!(page.contains("14/01/2030 18:00") && page.contains("16/01/2030 18:00"), "{page}");
        assert!(!page.contains("09/01/2030") && !page.contains("21/01/2030"), "{page}");
        // An expert's rule, typed in the raw field, wins over the widget.
        let mut pairs = widget("Répétition", "2", "count", "5");
        pairs.retain(|(k, _)| *k != "recurrence");
        pairs.push(("recurrence", "RRULE:FREQ=MONTHLY;BYDAY=1MO;COUNT=3".to_owned()));
        let r = send("/s/repetition/@@edit", pairs).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let item = db.services.item(&Principal::System, &s, &path("/repetition")).await.unwrap().item;
        assert_eq!(item.fields["recurrence"], "RRULE:FREQ=MONTHLY;BYDAY=1MO;COUNT=3");
        let page = app.get_with("/s/repetition", &[("cookie", &c)]).await.body;
        assert!(page.contains("07/01/2030 18:00") && page.contains("04/02/2030 18:00") && page.contains("04/03/2030 18:00"), "{page}");
        // A rule the widget cannot show: the raw field alone, open; posting it back keeps it.
        let edit = app.get_with("/s/repetition/@@edit", &[("cookie", &c)]).await.body;
        assert!(!edit.contains("name=\"recurrence-freq\"") && edit.contains("<details class=\"expert\" open>"), "{edit}");
        // Every 0 weeks, or 100000 times: refused, the error beside the widget, its help
        // still shown.
        for (interval, count) in [("0", "5"), ("1", "100000")] {
            let r = send("/s/@@add?type=Event", widget("Trop", interval, "count", count)).await;
            assert_eq!(r.status, 400, "{}", r.body);
            let widget_at = r.body.find("<fieldset class=\"recurrence\"").expect("the widget");
            let error_at = r.body.find("<p class=\"error\" id=\"error-recurrence\">").expect("the error");
            let help_at = r.body.find("<p class=\"help\" id=\"help-recurrence\">Choisissez comment").expect("the help");
            assert!(widget_at < error_at && error_at < help_at, "{}", r.body);
            assert!(r.body.contains("aria-describedby=\"error-recurrence help-recurrence\""), "{}", r.body);
            // The widget keeps what was chosen.
            assert!(r.body.contains(&format!("name=\"recurrence-interval\" type=\"number\" min=\"1\" max=\"1000\" value=\"{interval}\"")), "{}", r.body);
        }
    }
}
