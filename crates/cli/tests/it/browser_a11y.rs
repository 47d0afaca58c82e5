//! Accessibility checked, not claimed: axe-core (vendored in tests/fixtures/axe,
//! MPL-2.0) runs in headless Chromium on every public page type of the demo site (home,
//! a folder in each listing view, a page, a news item, an event, an image, a file,
//! search with results, a missing page, the login form) and on the editor's main
//! screens (edit and add forms, contents, sharing, history), and must find no
//! violation of WCAG 2.1 A and AA; then the public pages again on a Dutch site; then a
//! journey with the keyboard alone.

use beffroi_model::security::{Principal, Role};
use beffroi_model::{Language, SiteId};
use beffroi_service::NewSite;
use fantoccini::Client;
use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::browser::{browser, log_in, serve, wait_for};
use crate::support::{TestDb, obj, path};

const AXE: &str = include_str!("../fixtures/axe/axe.min.js");
const PASSWORD: &str = "mot de passe de la démo";

/// axe's violations of WCAG 2.0 and 2.1, levels A and AA, on the page at `url`: one
/// line each, with the rule, its help and the first elements at fault.
async fn violations(c: &Client, url: &str) -> Vec<String> {
    c.goto(url).await.unwrap();
    wait_for(c, "body").await;
    c.execute(&format!("{AXE}\nreturn true;"), vec![]).await.expect("axe loads");
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
            .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
                v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))
            .catch(e => done(['axe failed: ' + e]));
    "#;
    let found = c.execute_async(script, vec![]).await.expect("axe runs");
    match found {
        Value::Array(list) => list.into_iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect(),
        other => vec![format!("unexpected answer: {other}")],
    }
}

async fn check_all(c: &Client, base: &str, paths: &[&str], failures: &mut Vec<String>) {
    for p in paths {
        let found = violations(c, &format!("{base}{p}")).await;
        failures.extend(found.into_iter().map(|v| format!("{p}: {v}")));
    }
}

async fn run(db: TestDb) {
    let Some((_driver, c)) = browser().await else {
        db.cleanup().await;
        return;
    };
    let services = &db.services;
    assert!(beffroi_cms::demo::seed(services, PASSWORD).await.unwrap());
    let site = services.site(&SiteId::parse("demo").unwrap()).await.unwrap().unwrap();
    let sys = Principal::System;
    // A folder in each of the other listing views, an image and a file.
    for (title, layout) in [("Tableau", "tabular_view"), ("Album", "album_view"), ("Résumés", "summary_view")] {
        let f = services
            .create(&sys, &site, &path("/services"), "Folder", None, &obj(json!({"title": title, "layout": layout})))
            .await
            .unwrap();
        services.transition(&sys, &site, &f.path, "publish", Default::default()).await.unwrap();
    }
    let png = {
        let img = image::RgbImage::from_fn(320, 200, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 140]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, out.into_inner())
    };
    let image = json!({"title": "Vue de la place", "image": {"data": png, "encoding": "base64", "filename": "place.png", "content-type": "image/png"}});
    services.create(&sys, &site, &path("/services/album"), "Image", None, &obj(image)).await.unwrap();
    let file = json!({"title": "Règlement (PDF)", "file": {"data": "JVBERi0xLjQK", "encoding": "base64", "filename": "reglement.pdf", "content-type": "application/pdf"}});
    services.create(&sys, &site, &path("/services/tableau"), "File", None, &obj(file)).await.unwrap();

    let (root, server) = serve(services, &[beffroi_cms::CMS]).await;
    let base = format!("{root}/demo");
    // The harness finds what is wrong: a page with an image without text and a field
    // without a label fails.
    let bad =
        "data:text/html,<!doctype html><html lang=fr><title>x</title><main><img src=a.png><input id=q></main></html>";
    let found = violations(&c, bad).await;
    assert!(
        found.iter().any(|v| v.starts_with("image-alt")) && found.iter().any(|v| v.starts_with("label")),
        "{found:?}"
    );
    let public = [
        "",
        "/services",
        "/services/tableau",
        "/services/album",
        "/services/resumes",
        "/actualites",
        "/agenda",
        "/agenda?past=1",
        "/actualites/toutes-les-actualites",
        "/services/etat-civil",
        "/actualites/travaux-rue-de-la-station",
        "/agenda/conseil-communal",
        "/services/album/vue-de-la-place",
        "/services/tableau/reglement-pdf",
        "/@@search?SearchableText=travaux",
        "/page-qui-n-existe-pas",
        "/@@login",
    ];
    let mut failures = Vec::new();
    check_all(&c, &base, &public, &mut failures).await;

    // The editor's screens, signed in.
    log_in(&c, &base, "admin", PASSWORD).await;
    let editor = [
        "/actualites",
        "/actualites/@@edit",
        "/@@blocks",
        "/actualites/@@add?type=News%20Item",
        "/agenda/@@add?type=Event",
        "/actualites/@@folder_contents",
        "/actualites/@@sharing",
        "/actualites/travaux-rue-de-la-station/@@history",
    ];
    check_all(&c, &base, &editor, &mut failures).await;

    // A Dutch site: the same kinds of public page.
    let nl = services
        .create_site(
            &sys,
            NewSite {
                id: SiteId::parse("gemeente").unwrap(),
                title: "Gemeente Voeren".into(),
                language: Language::Nl,
                hosts: Vec::new(),
                time_zone: Default::default(),
            },
        )
        .await
        .unwrap();
    db.user(&nl, "redactie", "correct horse battery", "Redactie", &[Role::SiteAdministrator]).await;
    db.add(&nl, "", "Folder", json!({"title": "Nieuws", "layout": "news_listing"})).await;
    db.add(
        &nl,
        "/nieuws",
        "News Item",
        json!({"title": "Wegenwerken", "description": "De Dorpsstraat is drie weken afgesloten."}),
    )
    .await;
    db.add(&nl, "", "Folder", json!({"title": "Agenda", "layout": "event_listing"})).await;
    db.add(&nl, "/agenda", "Event", json!({"title": "Gemeenteraad", "start": "2027-01-11T19:00:00+00:00", "end": "2027-01-11T21:00:00+00:00", "location": "Raadzaal"})).await;
    let dutch = [
        "",
        "/nieuws",
        "/agenda",
        "/nieuws/wegenwerken",
        "/agenda/gemeenteraad",
        "/@@search?SearchableText=wegenwerken",
        "/bestaat-niet",
        "/@@login",
    ];
    c.delete_all_cookies().await.unwrap();
    let gemeente = format!("{root}/gemeente");
    check_all(&c, &gemeente, &dutch, &mut failures).await;
    // The editor's screens in Dutch.
    log_in(&c, &gemeente, "redactie", "correct horse battery").await;
    let redactie = [
        "/nieuws/wegenwerken/@@edit",
        "/nieuws/@@add?type=News%20Item",
        "/nieuws/@@folder_contents",
        "/nieuws/@@sharing",
        "/nieuws/wegenwerken/@@history",
        "/@@blocks",
    ];
    check_all(&c, &gemeente, &redactie, &mut failures).await;
    c.delete_all_cookies().await.unwrap();

    assert!(failures.is_empty(), "WCAG 2.1 AA violations found by axe:\n{}", failures.join("\n"));
    keyboard_journey(&c, &base).await;
    c.close().await.unwrap();
    server.abort();
    db.cleanup().await;
}

/// What has the keyboard's focus: `#id|TAG|class|text`.
async fn focused(c: &Client) -> String {
    let script = "const e = document.activeElement; return (e.id ? '#' + e.id : '') + '|' + e.tagName + '|' + (e.getAttribute('class') || '') + '|' + (e.textContent || '').trim().slice(0, 60);";
    c.execute(script, vec![]).await.unwrap().as_str().unwrap_or_default().to_owned()
}

async fn press(c: &Client, keys: &str) {
    c.active_element().await.unwrap().send_keys(keys).await.unwrap();
}

/// Tabs forward until the focus is on what `wanted` says (at most 60 times).
async fn tab_to(c: &Client, wanted: impl Fn(&str) -> bool) -> String {
    for _ in 0..60 {
        press(c, &Key::Tab.to_string()).await;
        let f = focused(c).await;
        if wanted(&f) {
            return f;
        }
    }
    panic!("the keyboard never reached it; the focus is on {}", focused(c).await);
}

/// A visitor, then an editor, with the keyboard alone: the skip link, the search box,
/// the main menu, a form with an error and its correction, the toolbar's "Add" menu.
async fn keyboard_journey(c: &Client, base: &str) {
    c.goto(&format!("{base}/services")).await.unwrap();
    wait_for(c, "main").await;
    let f = tab_to(c, |_| true).await;
    assert!(f.contains("skip-link"), "the first stop is the skip link: {f}");
    press(c, &Key::Enter.to_string()).await;
    assert!(focused(c).await.starts_with("#content|MAIN"), "the skip link takes the focus to the content");

    c.goto(base).await.unwrap();
    wait_for(c, "main").await;
    tab_to(c, |f| f.starts_with("#site-search|")).await;
    press(c, &format!("conseil{}", Key::Enter)).await;
    wait_for(c, "main").await;
    assert!(c.current_url().await.unwrap().as_str().contains("@@search?SearchableText=conseil"));
    assert!(c.source().await.unwrap().contains("Conseil communal"));

    c.goto(base).await.unwrap();
    wait_for(c, "main").await;
    tab_to(c, |f| f.ends_with("|A||Agenda")).await;
    press(c, &Key::Enter.to_string()).await;
    wait_for(c, "section.event-listing").await;
    assert_eq!(c.current_url().await.unwrap().as_str(), format!("{base}/agenda"));

    // A form with an error, then corrected.
    c.goto(&format!("{base}/@@login")).await.unwrap();
    wait_for(c, "main").await;
    tab_to(c, |f| f.starts_with("#login|")).await;
    press(c, "admin").await;
    press(c, &Key::Tab.to_string()).await;
    assert!(focused(c).await.starts_with("#password|"));
    press(c, &format!("faux{}", Key::Enter)).await;
    wait_for(c, "#login-error").await;
    let login = c.find(fantoccini::Locator::Css("#login")).await.unwrap();
    assert_eq!(login.prop("value").await.unwrap().as_deref(), Some("admin"), "what was typed is kept");
    assert_eq!(login.attr("aria-describedby").await.unwrap().as_deref(), Some("login-error"));
    tab_to(c, |f| f.starts_with("#password|")).await;
    press(c, &format!("{PASSWORD}{}", Key::Enter)).await;
    wait_for(c, "form[action$='@@logout'] button").await;

    // The toolbar's "Add" menu opens and is followed with the keyboard.
    c.goto(&format!("{base}/actualites")).await.unwrap();
    wait_for(c, "main").await;
    tab_to(c, |f| f.contains("|SUMMARY||Ajouter")).await;
    press(c, &Key::Enter.to_string()).await;
    tab_to(c, |f| f.ends_with("|A||Page")).await;
    press(c, &Key::Enter.to_string()).await;
    wait_for(c, "form.edit").await;
    assert!(c.current_url().await.unwrap().as_str().ends_with("/actualites/@@add?type=Document"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_type_passes_axe_at_wcag_2_1_aa_and_the_keyboard_alone_goes_everywhere() {
    run(TestDb::sqlite().await).await;
}
