//! The rich-text editor's chooser in a real browser (headless Chromium, as in
//! browser.rs): an editor links a page found by browsing and by searching, types an
//! outside address, uploads an image from the editor into the current folder and
//! inserts it; the text keeps both by UID and the page shows them at their addresses,
//! opening in the same tab. Refusals show in the dialog, in French. With
//! `BEFFROI_SCREENSHOTS=<folder>` the dialog is photographed at 1280 and 390 pixels.

use beffroi_model::security::{Principal, Role};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{browser, click, eventually, fill, log_in, serve, wait_for};
use crate::support::{TestDb, path, png};

/// The text of the first element matching `css` (read in the page: the chooser
/// redraws its list while the test reads).
async fn text(c: &Client, css: &str) -> String {
    let script = format!(
        "const e = document.querySelector({}); return e ? e.textContent.trim() : null;",
        serde_json::to_string(css).unwrap()
    );
    match js(c, &script).await {
        serde_json::Value::String(s) => s,
        other => panic!("{css}: {other}"),
    }
}

/// Evaluates `script` (a `return …`) in the page.
async fn js(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// Waits until the chooser lists an item titled `title`.
async fn listed(c: &Client, title: &str) {
    let title = title.to_owned();
    eventually(c, &format!("{title} is listed"), move |c| {
        let title = title.clone();
        async move {
            let mut found = false;
            for e in c.find_all(Locator::Css(".chooser-items .chooser-item-title")).await.unwrap_or_default() {
                found |= e.text().await.unwrap_or_default() == title;
            }
            found
        }
    })
    .await;
}

/// Clicks the chooser's button for the item titled `title` (`open`: its "Ouvrir").
async fn pick(c: &Client, title: &str, open: bool) {
    listed(c, title).await;
    let button = if open { "button.chooser-open" } else { "button.chooser-pick" };
    let script = format!(
        "for (const li of document.querySelectorAll('.chooser-items li')) {{ \
           const t = li.querySelector('.chooser-item-title'); \
           if (t && t.textContent === {title}) {{ li.querySelector('{button}').click(); return true; }} }} \
         return false;",
        title = serde_json::to_string(title).unwrap()
    );
    assert_eq!(js(c, &script).await, json!(true), "{title} has a {button}");
}

async fn screenshot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("BEFFROI_SCREENSHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/{name}.png"), c.screenshot().await.unwrap()).unwrap();
    }
}

/// The dialog and the page fit the window's width.
async fn fits(c: &Client) {
    let v = js(
        c,
        "const r = document.querySelector('#chooser').getBoundingClientRect(); \
         return [r.left, r.right, window.innerWidth, document.documentElement.scrollWidth];",
    )
    .await;
    let n = |i: usize| v[i].as_f64().unwrap();
    assert!(n(0) >= 0.0 && n(1) <= n(2), "the dialog ({}..{}) fits the {} px window", n(0), n(1), n(2));
    assert!(n(3) <= n(2), "the page is {} px wide in a {} px window", n(3), n(2));
}

async fn run(db: TestDb) {
    let Some((_driver, c)) = browser().await else {
        db.cleanup().await;
        return;
    };
    let site = db.site("commune").await;
    db.user(&site, "redac", "mot de passe du redacteur", "Rédaction", &[Role::SiteAdministrator]).await;
    db.add(&site, "", "Folder", json!({"title": "Services"})).await;
    let civil = db.add(&site, "/services", "Document", json!({"title": "État civil"})).await;
    db.add(&site, "/services", "Document", json!({"title": "Urbanisme"})).await;
    db.add(&site, "", "Folder", json!({"title": "Actualités"})).await;
    let (root, server) = serve(&db.services, &[beffroi_cms::CMS]).await;
    let base = format!("{root}/commune");
    let image_file = tempfile::Builder::new().prefix("affiche").suffix(".png").tempfile().unwrap();
    std::fs::write(image_file.path(), png(320, 240)).unwrap();
    // A PNG by its name that is none: the server refuses it.
    let fake_file = tempfile::Builder::new().prefix("faux").suffix(".png").tempfile().unwrap();
    std::fs::write(fake_file.path(), b"<html>not an image</html>").unwrap();
    let text_file = tempfile::Builder::new().prefix("notes").suffix(".txt").tempfile().unwrap();
    std::fs::write(text_file.path(), b"des notes").unwrap();

    log_in(&c, &base, "redac", "mot de passe du redacteur").await;

    // A page added in "Actualités", written in the editor.
    c.goto(&format!("{base}/actualites/@@add?type=Document")).await.unwrap();
    fill(&c, "#field-title", "Nouvelles de la commune").await;
    wait_for(&c, ".ql-editor").await;
    let editor = c.find(Locator::Css(".ql-editor")).await.unwrap();
    editor.click().await.unwrap();
    editor.send_keys("Voir ").await.unwrap();

    // The link button opens the chooser: a labelled modal dialog, the search field
    // focused, the current folder listed (empty), its breadcrumbs.
    click(&c, ".ql-toolbar button.ql-link").await;
    wait_for(&c, "dialog#chooser[open]").await;
    assert_eq!(text(&c, "#chooser-title").await, "Insérer un lien");
    assert_eq!(js(&c, "return document.activeElement.id;").await, json!("chooser-q"));
    assert_eq!(js(&c, "return document.querySelector('#chooser').matches(':modal');").await, json!(true));
    eventually(&c, "the current folder is shown", |c| async move {
        text(&c, ".chooser-list-label").await == "Contenu de « Actualités »"
    })
    .await;
    // The list arrives after its label.
    eventually(&c, "the empty folder is said", |c| async move {
        js(&c, "const e = document.querySelector('.chooser-items li.chooser-none'); return e ? e.textContent.trim() : null;")
            .await
            == json!("Rien à choisir dans ce dossier.")
    })
    .await;
    screenshot(&c, "link-1280").await;
    fits(&c).await;
    // Up to the site root by the breadcrumbs, into "Services", and choose a page.
    click(&c, ".chooser-path li:first-child button").await;
    listed(&c, "Actualités").await;
    screenshot(&c, "link-root-1280").await;
    pick(&c, "Services", true).await;
    eventually(
        &c,
        "Services is shown",
        |c| async move { text(&c, ".chooser-path [aria-current]").await == "Services" },
    )
    .await;
    screenshot(&c, "link-services-1280").await;
    pick(&c, "Urbanisme", false).await;
    let chosen = js(&c, "return document.querySelector('#chooser-url').value;").await;
    assert_eq!(chosen, json!(format!("{base}/services/urbanisme")));
    assert_eq!(text(&c, ".chooser-chosen span").await, "Choisi : Urbanisme");
    // Back up to the parent folder: the choice stays.
    click(&c, ".chooser-up").await;
    listed(&c, "Actualités").await;
    assert_eq!(text(&c, ".chooser-chosen span").await, "Choisi : Urbanisme");
    // Changed for a page found by searching, typed with the keyboard alone.
    c.find(Locator::Css("#chooser-q")).await.unwrap().send_keys(&format!("civil{}", Key::Enter)).await.unwrap();
    eventually(&c, "the search answers", |c| async move {
        text(&c, ".chooser-list-label").await == "Résultats pour « civil » : 1"
    })
    .await;
    pick(&c, "État civil", false).await;
    assert_eq!(js(&c, "return document.activeElement.className;").await, json!("chooser-insert-button"));
    c.active_element().await.unwrap().send_keys(&Key::Enter.to_string()).await.unwrap();
    eventually(&c, "the dialog closes", |c| async move {
        js(&c, "return document.querySelector('#chooser').open;").await == json!(false)
    })
    .await;
    // The link holds the page's title as its text, the cursor after it.
    let html = c.find(Locator::Css(".ql-editor")).await.unwrap().html(true).await.unwrap();
    assert!(html.contains(&format!("href=\"{base}/services/etat-civil\"")), "{html}");
    assert!(html.contains(">État civil</a>"), "{html}");
    editor.send_keys(" et ").await.unwrap();

    // An outside address typed ("www." made https://), on a selected word.
    editor.send_keys("la Région").await.unwrap();
    js(&c, "const q = Quill.find(document.querySelector('.ql-container')); q.setSelection(q.getLength() - 7, 6); return true;")
        .await;
    click(&c, ".ql-toolbar button.ql-link").await;
    wait_for(&c, "dialog#chooser[open]").await;
    fill(&c, "#chooser-url", "javascript:alert(1)").await;
    click(&c, "dialog#chooser .chooser-insert-button").await;
    assert_eq!(
        text(&c, "#chooser-error").await,
        "Adresse non valide : elle commence par https://, http:// ou mailto:."
    );
    fill(&c, "#chooser-url", "www.wallonie.be").await;
    click(&c, "dialog#chooser .chooser-insert-button").await;
    let html = c.find(Locator::Css(".ql-editor")).await.unwrap().html(true).await.unwrap();
    assert!(html.contains("href=\"https://www.wallonie.be\""), "{html}");
    assert!(html.contains(">Région</a>"), "{html}");
    // Escape closes the dialog and gives the editor back its cursor.
    click(&c, ".ql-toolbar button.ql-link").await;
    wait_for(&c, "dialog#chooser[open]").await;
    c.active_element().await.unwrap().send_keys(&Key::Escape.to_string()).await.unwrap();
    eventually(&c, "Escape closes the dialog", |c| async move {
        js(&c, "return !document.querySelector('#chooser').open && document.activeElement.classList.contains('ql-editor');")
            .await
            == json!(true)
    })
    .await;

    // The image button: images and folders only; an upload into the current folder.
    js(&c, "const q = Quill.find(document.querySelector('.ql-container')); q.setSelection(q.getLength() - 1, 0); return true;")
        .await;
    click(&c, ".ql-toolbar button.ql-image").await;
    wait_for(&c, "dialog#chooser[open]").await;
    assert_eq!(text(&c, "#chooser-title").await, "Insérer une image");
    assert_eq!(text(&c, ".chooser-upload legend").await, "Envoyer une image dans « Actualités »");
    // Refusals in the dialog: not an image (seen by the browser), then a file the
    // server cannot read as one.
    let file = c.find(Locator::Css("#chooser-file")).await.unwrap();
    file.send_keys(&text_file.path().display().to_string()).await.unwrap();
    click(&c, ".chooser-upload button[type=submit]").await;
    assert_eq!(text(&c, "#chooser-upload-error").await, "Ce fichier n’est pas une image PNG, JPEG, GIF ou WebP.");
    file.send_keys(&fake_file.path().display().to_string()).await.unwrap();
    click(&c, ".chooser-upload button[type=submit]").await;
    eventually(&c, "the server's refusal shows", |c| async move {
        text(&c, "#chooser-upload-error").await
            == "L’image est refusée : le fichier est illisible ou l’image est trop grande."
    })
    .await;
    // A real image, with a title: uploaded, chosen, listed in the folder.
    file.send_keys(&image_file.path().display().to_string()).await.unwrap();
    fill(&c, "#chooser-file-title", "Affiche de la fête").await;
    click(&c, ".chooser-upload button[type=submit]").await;
    eventually(&c, "the upload is chosen", |c| async move {
        js(&c, "return document.querySelector('#chooser-url').value;").await
            == json!(format!("{}/actualites/affiche-de-la-fete/@@images/image/large", base_of(&c).await))
    })
    .await;
    listed(&c, "Affiche de la fête").await;
    assert_eq!(text(&c, "#chooser-upload-error").await, "");
    assert_eq!(js(&c, "return document.querySelector('#chooser-alt').value;").await, json!("Affiche de la fête"));
    assert_eq!(js(&c, "return document.activeElement.id;").await, json!("chooser-alt"));
    let thumb_loaded = js(
        &c,
        "const i = document.querySelector('.chooser-items img'); return !!i && i.src.endsWith('/@@images/image/thumb');",
    )
    .await;
    assert_eq!(thumb_loaded, json!(true), "the list shows thumbnails");
    fill(&c, "#chooser-alt", "Affiche : fête le 21 juin sur la place").await;
    c.find(Locator::Css("#chooser-size")).await.unwrap().select_by_value("preview").await.unwrap();
    screenshot(&c, "image-1280").await;
    fits(&c).await;
    click(&c, "dialog#chooser .chooser-insert-button").await;
    let html = c.find(Locator::Css(".ql-editor")).await.unwrap().html(true).await.unwrap();
    assert!(
        html.contains(&format!(
            "<img src=\"{base}/actualites/affiche-de-la-fete/@@images/image/preview\" alt=\"Affiche : fête le 21 juin sur la place\">"
        )),
        "{html}"
    );

    // On a phone the dialog fits the screen.
    c.set_window_size(390, 844).await.unwrap();
    click(&c, ".ql-toolbar button.ql-image").await;
    wait_for(&c, "dialog#chooser[open]").await;
    listed(&c, "Affiche de la fête").await;
    fits(&c).await;
    screenshot(&c, "image-390").await;
    c.active_element().await.unwrap().send_keys(&Key::Escape.to_string()).await.unwrap();
    click(&c, ".ql-toolbar button.ql-link").await;
    wait_for(&c, "dialog#chooser[open]").await;
    listed(&c, "Affiche de la fête").await;
    fits(&c).await;
    screenshot(&c, "link-390").await;
    c.active_element().await.unwrap().send_keys(&Key::Escape.to_string()).await.unwrap();
    c.set_window_size(1280, 1000).await.unwrap();

    // Saved: the text keeps the page and the image by UID.
    click(&c, "form.edit button[type=submit]").await;
    wait_for(&c, "article.item-document").await;
    assert_eq!(c.current_url().await.unwrap().as_str(), format!("{base}/actualites/nouvelles-de-la-commune"));
    let page = db.services.item(&Principal::System, &site, &path("/actualites/nouvelles-de-la-commune")).await.unwrap();
    let stored = page.item.fields["text"]["data"].as_str().unwrap().to_owned();
    let image = db.services.item(&Principal::System, &site, &path("/actualites/affiche-de-la-fete")).await.unwrap();
    assert_eq!(image.item.type_name, "Image");
    let civil = db.services.item(&Principal::System, &site, &civil).await.unwrap();
    assert!(stored.contains(&format!("href=\"resolveuid/{}\"", civil.item.uuid.simple())), "{stored}");
    assert!(
        stored.contains(&format!("src=\"resolveuid/{}/@@images/image/preview\"", image.item.uuid.simple())),
        "{stored}"
    );
    assert!(stored.contains("href=\"https://www.wallonie.be\""), "{stored}");
    assert!(!stored.contains("target"), "{stored}");

    // Shown: at the items' addresses, in the same tab, the image loaded.
    let html = c.find(Locator::Css(".rich-text")).await.unwrap().html(true).await.unwrap();
    assert!(html.contains(&format!("<a href=\"{base}/services/etat-civil\"")), "{html}");
    assert!(!html.contains("target="), "{html}");
    let loaded = js(
        &c,
        "const i = document.querySelector('.rich-text img'); \
         return [i.getAttribute('src'), i.alt, i.complete && i.naturalWidth === 320];",
    )
    .await;
    assert_eq!(
        loaded,
        json!([
            format!("{base}/actualites/affiche-de-la-fete/@@images/image/preview"),
            "Affiche : fête le 21 juin sur la place",
            true
        ])
    );

    // Edited again: the link under the cursor is the chooser's, and can be removed.
    c.goto(&format!("{base}/actualites/nouvelles-de-la-commune/@@edit")).await.unwrap();
    wait_for(&c, ".ql-editor a").await;
    js(&c, "const q = Quill.find(document.querySelector('.ql-container')); q.setSelection(7, 0); return true;").await;
    click(&c, ".ql-toolbar button.ql-link").await;
    wait_for(&c, "dialog#chooser[open]").await;
    let current = js(&c, "return document.querySelector('#chooser-url').value;").await;
    assert_eq!(current, json!(format!("resolveuid/{}", civil.item.uuid.simple())));
    eventually(&c, "the linked page is named", |c| async move {
        text(&c, ".chooser-chosen span").await == "Choisi : État civil"
    })
    .await;
    click(&c, "dialog#chooser .chooser-remove").await;
    let html = c.find(Locator::Css(".ql-editor")).await.unwrap().html(true).await.unwrap();
    assert!(!html.contains("href=\"resolveuid"), "{html}");
    assert!(html.contains("État civil"), "{html}");

    c.close().await.unwrap();
    server.abort();
    db.cleanup().await;
}

/// The site's address as the page knows it.
async fn base_of(c: &Client) -> String {
    js(c, "return document.querySelector('#chooser').dataset.site;").await.as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_chooses_links_and_uploads_an_image_from_the_editor() {
    run(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_chooses_links_and_uploads_an_image_from_the_editor_on_postgresql() {
    if let Some(db) = TestDb::postgres().await {
        run(db).await;
    }
}
