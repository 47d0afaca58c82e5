//! The rich-text editor's chooser as the server writes it into the forms: the folder it
//! starts in and uploads into, upload offered only where the editor may add an Image,
//! its words in the page's language; and the JSON writes it makes with the session's
//! cookie and CSRF header. The dialog itself is driven in browser_chooser.rs.

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use beffroi_model::security::{Principal, Role};
use serde_json::json;

use crate::both_backends;
use crate::support::{Reply, TestApp, csrf, path, png};

/// An image posted to `folder` as chooser.js does: JSON, the session's cookie, and
/// the form's CSRF token in the header (when given).
async fn upload(app: &TestApp, folder: &str, cookie: &str, token: Option<&str>, data: &[u8]) -> Reply {
    let body = json!({
        "@type": "Image",
        "title": "Affiche",
        "image": {
            "data": base64::engine::general_purpose::STANDARD.encode(data),
            "encoding": "base64",
            "filename": "affiche.png",
            "content-type": "image/png",
        },
    });
    let mut req = Request::post(folder)
        .header("host", "localhost")
        .header("origin", "http://localhost")
        .header("cookie", cookie)
        .header("accept", "application/json")
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("x-csrf-token", t);
    }
    app.request(req.body(Body::from(body.to_string())).unwrap()).await
}

both_backends! {
    async fn the_chooser_starts_in_the_current_folder_and_offers_upload_where_images_may_be_added(db) {
        let s = db.site("s").await;
        db.user(&s, "ed", "editor password", "Éditrice", &[Role::Editor, Role::Contributor]).await;
        // An editor may change pages but not add anything.
        db.user(&s, "rel", "reviser password", "Relectrice", &[Role::Editor]).await;
        db.add(&s, "", "Folder", json!({"title": "Services"})).await;
        db.add(&s, "/services", "Document", json!({"title": "Horaires", "text": "<p>Lundi</p>"})).await;
        let app = TestApp::new(&db).await;
        let ed = app.session("ed", "editor password").await;

        // Editing a page: the chooser starts in its folder and uploads there.
        let form = app.get_with("/s/services/horaires/@@edit", &[("cookie", &ed)]).await;
        assert_eq!(form.status, 200);
        for needle in [
            "<dialog id=\"chooser\" class=\"chooser\" aria-labelledby=\"chooser-title\"",
            "data-folder=\"http://localhost/s/services\"",
            "data-site=\"http://localhost/s\"",
            "data-folderish=\"Folder\"",
            "<h2 id=\"chooser-title\">Insérer un lien</h2>",
            "data-title-image=\"Insérer une image\"",
            "data-contents=\"Contenu de « {title} »\"",
            "data-err-too-large=\"Ce fichier est trop grand : 50 Mo au plus.\"",
            "<legend>Envoyer une image dans « Services »</legend>",
            "<label for=\"chooser-file\">Image (PNG, JPEG, GIF ou WebP, 50 Mo au plus)</label>",
            "<script src=\"/++resource++beffroi/chooser.js\" defer></script>",
        ] {
            assert!(form.body.contains(needle), "{needle} in {}", form.body);
        }
        // Outside the edit form: its fields are not posted with the item.
        let form_end = form.body.find("<dialog id=\"chooser\"").unwrap();
        assert!(form.body[..form_end].rfind("</form>") > form.body[..form_end].rfind("<form class=\"form edit\""));
        // Adding at the root: the root, under the site's title.
        let form = app.get_with("/s/@@add?type=Document", &[("cookie", &ed)]).await;
        assert!(form.body.contains("data-folder=\"http://localhost/s\""), "{}", form.body);
        assert!(form.body.contains(&format!("<legend>Envoyer une image dans « {} »</legend>", s.title)));
        // A form without rich text has no chooser.
        let form = app.get_with("/s/services/@@add?type=Image", &[("cookie", &ed)]).await;
        assert_eq!(form.status, 200);
        assert!(!form.body.contains("id=\"chooser\"") && !form.body.contains("chooser.js"));
        // The script is served.
        let js = app.get("/++resource++beffroi/chooser.js").await;
        assert_eq!((js.status.as_u16(), js.header("content-type")), (200, "text/javascript; charset=utf-8"));

        // Who may not add there is offered no upload, and the server refuses it.
        let rel = app.session("rel", "reviser password").await;
        let form = app.get_with("/s/services/horaires/@@edit", &[("cookie", &rel)]).await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains("<dialog id=\"chooser\""));
        assert!(!form.body.contains("chooser-upload"), "{}", form.body);
        let token = csrf(&form.body);
        let r = upload(&app, "/s/services", &rel, Some(&token), &png(40, 30)).await;
        assert_eq!(r.status, 401, "{}", r.body);

        // The editor's upload: with the token in the header, created in the folder;
        // without it, refused.
        let token = csrf(&app.get_with("/s/services/horaires/@@edit", &[("cookie", &ed)]).await.body);
        let r = upload(&app, "/s/services", &ed, None, &png(40, 30)).await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = upload(&app, "/s/services", &ed, Some(&token), b"<html>not an image</html>").await;
        assert_eq!(r.status, 400, "{}", r.body);
        let r = upload(&app, "/s/services", &ed, Some(&token), &png(40, 30)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.json()["@id"], "http://localhost/s/services/affiche");
        let image = db.services.item(&Principal::System, &s, &path("/services/affiche")).await.unwrap();
        assert_eq!(image.item.type_name, "Image");

        // What the chooser lists: a folder's images and folders, in order, with thumbs.
        let listed = app
            .get_with(
                "/s/services/@search?b_size=50&portal_type=Image&portal_type=Folder&path.depth=1&sort_on=getObjPositionInParent",
                &[("cookie", &ed), ("accept", "application/json")],
            )
            .await
            .json();
        assert_eq!(listed["items_total"], 1, "{listed}");
        assert_eq!(listed["items"][0]["image_field"], "image");
        assert_eq!(listed["items"][0]["@id"], "http://localhost/s/services/affiche");
    }
}
