//! Files, images and the other Plone types over HTTP: uploads as plone.restapi sends
//! them (base64 in JSON) and as a browser does (multipart form), downloads with ranges
//! and validators, image scales, events with recurrences, links.

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use beffroi_model::security::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Reply, TestApp, TestDb, png};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn basic() -> String {
    format!("Basic {}", B64.encode("ed:editor password"))
}

async fn editor(db: &TestDb) -> beffroi_service::SiteRow {
    let s = db.site("s").await;
    db.user(&s, "ed", "editor password", "", &[Role::SiteAdministrator]).await;
    s
}

async fn send(app: &TestApp, method: &str, uri: &str, body: Value) -> Reply {
    app.request(
        Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost")
            .header("accept", "application/json")
            .header("authorization", basic())
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

async fn get(app: &TestApp, uri: &str, headers: &[(&str, &str)]) -> Reply {
    let auth = basic();
    let mut all = vec![("authorization", auth.as_str())];
    all.extend_from_slice(headers);
    app.get_with(uri, &all).await
}

fn upload(data: &[u8], filename: &str, content_type: &str) -> Value {
    json!({"data": B64.encode(data), "encoding": "base64", "filename": filename, "content-type": content_type})
}

/// A one-page PDF with the given text (Helvetica), with a correct cross-reference table.
fn pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 24 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{o}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1));
    for off in offsets {
        out.push_str(&format!("{off:010} 00000 n \n"));
    }
    out.push_str(&format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1));
    out.into_bytes()
}

/// An OpenDocument text: a zip whose content.xml holds the paragraphs.
fn odt(paragraphs: &[&str]) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    z.start_file("mimetype", opts).unwrap();
    z.write_all(b"application/vnd.oasis.opendocument.text").unwrap();
    z.start_file("content.xml", opts).unwrap();
    let body: String = paragraphs.iter().map(|p| format!("<text:p>{p}</text:p>")).collect();
    z.write_all(format!("<?xml version=\"1.0\"?><office:document-content><office:body><office:text>{body}</office:text></office:body></office:document-content>").as_bytes()).unwrap();
    z.finish().unwrap();
    buf.into_inner()
}

both_backends! {
    async fn the_text_of_uploaded_documents_is_searchable(db) {
        let s = editor(&db).await;
        let app = TestApp::new(&db).await;
        let r = send(&app, "POST", "/s", json!({"@type": "File", "title": "PV", "file": upload(&pdf("Deliberation du conseil communal"), "pv.pdf", "application/pdf")})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert!(r.json().get("_extracted_text").is_none(), "never sent out");
        let r = send(&app, "POST", "/s", json!({"@type": "File", "title": "Règlement", "file": upload(&odt(&["Règlement général", "de la voirie communale"]), "reglement.odt", "application/vnd.oasis.opendocument.text")})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let find = |q: &str| {
            let mut cq = beffroi_service::with_text(beffroi_service::CatalogQuery::default(), q);
            cq.limit = 10;
            cq
        };
        let sys = beffroi_model::security::Principal::System;
        let hits = db.services.search(&sys, &s, find("délibérations")).await.unwrap();
        assert_eq!(hits.items.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(), ["PV"]);
        let hits = db.services.search(&sys, &s, find("voirie")).await.unwrap();
        assert_eq!(hits.items.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(), ["Règlement"]);
        // A client cannot set the extracted text itself.
        let r = send(&app, "PATCH", "/s/pv", json!({"_extracted_text": "spam"})).await;
        assert_eq!(r.status, 400);
        // A broken PDF is stored, just without text.
        let r = send(&app, "POST", "/s", json!({"@type": "File", "title": "Cassé", "file": upload(b"%PDF-1.4 nothing else", "x.pdf", "application/pdf")})).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    async fn images_upload_scale_and_download(db) {
        editor(&db).await;
        let app = TestApp::new(&db).await;
        let original = png(215, 56);
        let r = send(&app, "POST", "/s", json!({"@type": "Image", "title": "Logo", "image": upload(&original, "logo.png", "image/png")})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        assert_eq!(v["image"]["width"], 215);
        assert_eq!(v["image"]["height"], 56);
        assert_eq!(v["image"]["size"], original.len());
        assert_eq!(v["image"]["content-type"], "image/png");
        assert_eq!(v["image"]["scales"]["thumb"]["width"], 128);
        assert_eq!(v["image"]["scales"]["thumb"]["height"], 33);
        assert_eq!(v["image"]["scales"]["tile"]["height"], 16);
        assert_eq!(v["image"]["scales"]["large"]["width"], 215, "never enlarged");
        let thumb_url = v["image"]["scales"]["thumb"]["download"].as_str().unwrap().replace("http://localhost", "");
        assert_eq!(thumb_url, "/s/logo/@@images/image/thumb");

        // The original, inline, with a strong validator.
        let r = get(&app, "/s/logo/@@images/image", &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), "image/png");
        assert!(r.header("content-disposition").starts_with("inline"));
        assert_eq!(r.raw, original);
        let tag = r.header("etag").to_owned();
        assert!(tag.starts_with('"'), "{tag}");
        assert_eq!(get(&app, "/s/logo/@@images/image", &[("if-none-match", &tag)]).await.status, 304);

        // A scale, made once, then served from where it was kept.
        let r = get(&app, &thumb_url, &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), "image/png");
        let scaled = image::load_from_memory(&r.raw).unwrap();
        assert_eq!((scaled.width(), scaled.height()), (128, 33));
        assert_eq!(get(&app, &thumb_url, &[]).await.raw, r.raw);
        assert_eq!(get(&app, "/s/logo/@@images/image/enormous", &[]).await.status, 404);
        assert_eq!(get(&app, "/s/logo/@@images/description", &[]).await.status, 404);

        // Images have no workflow of their own: they follow their folder. In a private
        // folder an anonymous visitor gets nothing of them.
        assert_eq!(app.get("/s/logo/@@images/image").await.header("cache-control"), "public, no-cache");
        assert_eq!(r.header("cache-control"), "private, no-cache");
        send(&app, "POST", "/s", json!({"@type": "Folder", "title": "Interne"})).await;
        let r = send(&app, "POST", "/s/interne", json!({"@type": "Image", "title": "Plan", "image": upload(&original, "plan.png", "image/png")})).await;
        assert_eq!(r.status, 201);
        let anon = app.get_json("/s/interne/plan/@@images/image").await;
        assert_eq!(anon.status, 401);
        assert!(anon.header("content-type").starts_with("application/json"), "{}", anon.header("content-type"));
        assert_eq!(anon.json(), json!({"type": "Unauthorized", "message": "You are not authorized to access this resource."}));
        assert_eq!(app.get_json("/s/interne/plan/@@images/image/thumb").await.status, 401);

        // The HTML page shows the large scale with its size and an alternative text.
        let page = get(&app, "/s/logo", &[]).await;
        assert!(page.body.contains("src=\"http://localhost/s/logo/@@images/image/large\" width=\"215\" height=\"56\" alt=\"Logo\""), "{}", page.body);

        // Sending back what was read leaves the image as it was.
        let r = send(&app, "PATCH", "/s/logo", json!({"title": "Logo 2", "image": v["image"]})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(send(&app, "GET", "/s/logo", json!({})).await.json()["image"]["size"], original.len());

        // Listings and search results carry plone.restapi's image_scales, relative to the
        // item; a new image replaces them; items without one have none.
        send(&app, "POST", "/s", json!({"@type": "Document", "title": "Logo texte"})).await;
        let listed = |v: &serde_json::Value, id: &str| {
            v["items"].as_array().unwrap().iter().find(|i| i["@id"].as_str().unwrap().ends_with(id)).cloned().unwrap()
        };
        let folder = send(&app, "GET", "/s", json!({})).await.json();
        let logo = listed(&folder, "/logo");
        assert_eq!(logo["image_field"], "image");
        let scales = &logo["image_scales"]["image"][0];
        assert_eq!((scales["width"].as_u64(), scales["height"].as_u64()), (Some(215), Some(56)));
        assert_eq!(scales["download"], "@@images/image");
        assert_eq!(scales["scales"]["thumb"]["download"], "@@images/image/thumb");
        assert_eq!(scales["scales"]["thumb"]["width"], 128);
        let text = listed(&folder, "/logo-texte");
        assert_eq!((text["image_field"].as_str(), text["image_scales"].clone()), (Some(""), json!({})));
        let r = send(&app, "PATCH", "/s/logo", json!({"image": upload(&png(40, 30), "petit.png", "image/png")})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let found = send(&app, "GET", "/s/@search?SearchableText=logo&portal_type=Image", json!({})).await.json();
        let logo = listed(&found, "/logo");
        assert_eq!(logo["image_scales"]["image"][0]["width"], 40);
        assert_eq!(logo["image_scales"]["image"][0]["filename"], "petit.png");
        assert_eq!(logo["title"], "Logo 2", "a new file keeps the title");
    }

    async fn bad_uploads_are_refused_and_nothing_is_written(db) {
        editor(&db).await;
        let app = TestApp::new(&db).await;
        let html = b"<html><script>alert(1)</script></html>";
        let r = send(&app, "POST", "/s", json!({"@type": "Image", "title": "X", "image": upload(html, "x.png", "image/png")})).await;
        assert_eq!(r.status, 400);
        assert!(r.json()["message"].as_str().unwrap().contains("not an image"), "{}", r.body);
        let r = send(&app, "POST", "/s", json!({"@type": "File", "file": {"data": "%%%", "filename": "a.pdf"}})).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("base64"));
        let r = send(&app, "POST", "/s", json!({"@type": "File", "title": "Vide"})).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("file"));
        let truncated = &png(40, 40)[..60];
        let r = send(&app, "POST", "/s", json!({"@type": "Image", "image": upload(truncated, "t.png", "image/png")})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let listing = send(&app, "GET", "/s", json!({})).await.json();
        assert_eq!(listing["items_total"], 0, "nothing half-written");

        // Over the size limit: 413, from the service and from the body limit alike.
        let small = TestApp::with_services(db.services.clone().with_upload_limit(1000)).await;
        let r = send(&small, "POST", "/s", json!({"@type": "File", "file": upload(&[7u8; 1001], "big.bin", "application/octet-stream")})).await;
        assert_eq!(r.status, 413, "{}", r.body);
        let r = send(&small, "POST", "/s", json!({"@type": "File", "file": upload(&[7u8; 5000], "big.bin", "application/octet-stream")})).await;
        assert_eq!(r.status, 413);
        assert_eq!(send(&app, "GET", "/s", json!({})).await.json()["items_total"], 0);
    }

    async fn files_download_with_ranges_and_safe_headers(db) {
        editor(&db).await;
        let app = TestApp::new(&db).await;
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let r = send(&app, "POST", "/s", json!({"@type": "File", "file": upload(&data, "../Procès-verbal.pdf", "application/pdf")})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        assert_eq!(v["title"], "Procès-verbal.pdf", "named after the file");
        assert_eq!(v["file"]["filename"], "Procès-verbal.pdf");
        assert_eq!(v["file"]["size"], 10_000);
        let url = v["file"]["download"].as_str().unwrap().replace("http://localhost", "");
        assert!(url.ends_with("/@@download/file"), "{url}");

        let r = get(&app, &url, &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.raw, data);
        assert_eq!(r.header("content-type"), "application/pdf");
        assert_eq!(r.header("content-length"), "10000");
        assert_eq!(r.header("accept-ranges"), "bytes");
        assert_eq!(r.header("x-content-type-options"), "nosniff");
        let cd = r.header("content-disposition");
        assert!(cd.starts_with("attachment; filename=\"Proces-verbal.pdf\""), "{cd}");
        assert!(cd.contains("filename*=UTF-8''Proc%C3%A8s-verbal.pdf"), "{cd}");
        let tag = r.header("etag").to_owned();

        let r = get(&app, &url, &[("range", "bytes=100-199")]).await;
        assert_eq!(r.status, 206);
        assert_eq!(r.header("content-range"), "bytes 100-199/10000");
        assert_eq!(r.raw, &data[100..200]);
        let r = get(&app, &url, &[("range", "bytes=-10")]).await;
        assert_eq!(r.raw, &data[9990..]);
        let r = get(&app, &url, &[("range", "bytes=20000-")]).await;
        assert_eq!(r.status, 416);
        assert_eq!(r.header("content-range"), "bytes */10000");
        // A range for another version of the file gets the whole file.
        let r = get(&app, &url, &[("range", "bytes=0-9"), ("if-range", "\"other\"")]).await;
        assert_eq!((r.status.as_u16(), r.raw.len()), (200, 10_000));
        let r = get(&app, &url, &[("range", "bytes=0-9"), ("if-range", &tag)]).await;
        assert_eq!((r.status.as_u16(), r.raw.len()), (206, 10));
        assert_eq!(get(&app, &url, &[("if-none-match", &tag)]).await.status, 304);

        // A file that is not an image is never shown inline by @@images.
        assert_eq!(get(&app, "/s/proces-verbal-pdf/@@images/file", &[]).await.status, 404);
        let page = get(&app, "/s/proces-verbal-pdf", &[]).await;
        assert!(page.body.contains("/@@download/file\" download>"), "{}", page.body);
    }

    async fn events_news_and_links(db) {
        editor(&db).await;
        let app = TestApp::new(&db).await;
        let r = send(&app, "POST", "/s", json!({
            "@type": "Event", "title": "Conseil communal",
            "start": "2030-01-07T18:00:00+00:00", "end": "2030-01-07T20:00:00+00:00",
            "location": "Salle du conseil", "recurrence": "RRULE:FREQ=MONTHLY;BYDAY=1MO;COUNT=3",
            "contact_email": "greffe@commune.be"
        })).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        assert_eq!(v["start"], "2030-01-07T18:00:00+00:00");
        assert_eq!(v["whole_day"], Value::Null);
        let page = get(&app, "/s/conseil-communal", &[]).await;
        assert!(page.body.contains("Salle du conseil"));
        assert!(page.body.contains("<time datetime=\"2030-02-04T18:00:00+00:00\">04/02/2030 19:00</time>"), "{}", page.body);
        assert!(page.body.contains("04/03/2030"));

        let r = send(&app, "POST", "/s", json!({"@type": "Event", "title": "X", "start": "2030-01-07T18:00", "end": "2030-01-07T17:00"})).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("end"), "{}", r.body);
        let r = send(&app, "PATCH", "/s/conseil-communal", json!({"recurrence": "FREQ=NEVER"})).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("recurrence"));

        let r = send(&app, "POST", "/s", json!({
            "@type": "News Item", "title": "Nouvelle crèche", "image_caption": "La façade",
            "image": upload(&png(1200, 600), "facade.png", "image/png")
        })).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let page = get(&app, "/s/nouvelle-creche", &[]).await;
        assert!(page.body.contains("@@images/image/preview\" width=\"400\" height=\"200\" alt=\"La façade\""), "{}", page.body);
        assert!(page.body.contains("<figcaption>La façade</figcaption>"));

        let r = send(&app, "POST", "/s", json!({"@type": "Link", "title": "Région", "remoteUrl": "javascript:alert(1)"})).await;
        assert_eq!(r.status, 400);
        let r = send(&app, "POST", "/s", json!({"@type": "Link", "title": "Région", "remoteUrl": "https://www.wallonie.be"})).await;
        assert_eq!(r.status, 201);
        assert_eq!(r.json()["remoteUrl"], "https://www.wallonie.be");
        assert!(get(&app, "/s/region", &[]).await.body.contains("<a href=\"https://www.wallonie.be\">"));
    }
}

mod forms {
    use super::*;

    use crate::support::{csrf, multipart};

    async fn session(app: &TestApp) -> String {
        app.session("ed", "editor password").await
    }

    async fn post(app: &TestApp, uri: &str, cookie: &str, (ct, body): (String, Vec<u8>)) -> Reply {
        app.request(
            Request::post(uri)
                .header("host", "localhost")
                .header("cookie", cookie)
                .header("content-type", ct)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    both_backends! {
        async fn images_are_added_and_replaced_with_a_browser_form(db) {
            editor(&db).await;
            let app = TestApp::new(&db).await;
            let c = session(&app).await;
            let form = app.get_with("/s/@@add?type=Image", &[("cookie", &c)]).await;
            assert_eq!(form.status, 200);
            assert!(form.body.contains("enctype=\"multipart/form-data\""));
            assert!(form.body.contains("type=\"file\""));
            let token = csrf(&form.body);

            // Without the token: refused, nothing stored.
            let r = post(&app, "/s/@@add?type=Image", &c, multipart(&[("title", "Sans jeton")], Some(("image", "a.png", "image/png", &png(10, 10))))).await;
            assert_eq!(r.status, 403);
            assert_eq!((db.blob_files(), db.spooled_files()), (0, 0), "no file kept, none left in the spool");
            let listing = app.get_with("/s", &[("cookie", &c), ("accept", "application/json")]).await.json();
            assert_eq!(listing["items_total"], 0, "no item made: {listing}");
            // Without a file: the form again, with the field's error.
            let r = post(&app, "/s/@@add?type=Image", &c, multipart(&[("_csrf", &token), ("title", "Vide")], None)).await;
            assert_eq!(r.status, 400);
            assert!(r.body.contains("href=\"#field-image\""), "{}", r.body);
            let r = post(&app, "/s/@@add?type=Image", &c, multipart(&[("_csrf", &token), ("title", "")], Some(("image", "Place communale.png", "image/png", &png(300, 200))))).await;
            assert_eq!(r.status, 303, "{}", r.body);
            assert_eq!(r.header("location"), "http://localhost/s/place-communale-png");

            // The edit form names the current file; an empty file input keeps it.
            let form = app.get_with("/s/place-communale-png/@@edit", &[("cookie", &c)]).await;
            assert!(form.body.contains("Place communale.png"), "{}", form.body);
            let r = post(&app, "/s/place-communale-png/@@edit", &c, multipart(&[("_csrf", &token), ("title", "La place")], Some(("image", "", "application/octet-stream", b"")))).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let v = app.get_with("/s/place-communale-png", &[("cookie", &c), ("accept", "application/json")]).await.json();
            assert_eq!((v["title"].as_str(), v["image"]["width"].as_u64()), (Some("La place"), Some(300)));
            let r = post(&app, "/s/place-communale-png/@@edit", &c, multipart(&[("_csrf", &token), ("title", "La place")], Some(("image", "b.png", "image/png", &png(50, 60))))).await;
            assert_eq!(r.status, 303);
            let v = app.get_with("/s/place-communale-png", &[("cookie", &c), ("accept", "application/json")]).await.json();
            assert_eq!(v["image"]["height"], 60);
        }

        async fn form_uploads_are_streamed_to_disk_and_bounded(db) {
            editor(&db).await;
            let app = TestApp::new(&db).await;
            let c = session(&app).await;
            let token = csrf(&app.get_with("/s/@@add?type=File", &[("cookie", &c)]).await.body);

            // Several megabytes (more than a JSON body may hold), stored byte for byte,
            // and their words indexed.
            let mut text = String::new();
            while text.len() < 3 * 1024 * 1024 {
                text.push_str("Le registre des délibérations du conseil communal. ");
            }
            let r = post(&app, "/s/@@add?type=File", &c, multipart(&[("_csrf", &token), ("title", "Registre")], Some(("file", "registre.txt", "text/plain", text.as_bytes())))).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let v = app.get_with("/s/registre", &[("cookie", &c), ("accept", "application/json")]).await.json();
            assert_eq!(v["file"]["size"], text.len());
            let down = app.get_with("/s/registre/@@download/file", &[("cookie", &c)]).await;
            assert_eq!(down.status, 200);
            assert!(down.body == text, "the stored file differs from the upload");
            let found = app.get_with("/s/@search?SearchableText=deliberations", &[("cookie", &c), ("accept", "application/json")]).await.json();
            assert_eq!(found["items_total"], 1, "{found}");
            assert_eq!(db.spooled_files(), 0, "the spooled upload is removed once stored");

            // Past the limit: 413 while it arrives, nothing stored, no file left.
            let small = TestApp::with_services(db.services.clone().with_upload_limit(100_000)).await;
            let r = post(&small, "/s/@@add?type=File", &c, multipart(&[("_csrf", &token), ("title", "Trop grand")], Some(("file", "big.bin", "application/octet-stream", &[7u8; 100_001])))).await;
            assert_eq!(r.status, 413, "{}", r.body);
            let r = post(&small, "/s/@@add?type=File", &c, multipart(&[("_csrf", &token), ("title", "Juste")], Some(("file", "ok.bin", "application/octet-stream", &[7u8; 100_000])))).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let blobs = db.blob_files();
            // A session's token must come before the file (a forged post writes nothing).
            let (ct, mut body) = multipart(&[], Some(("file", "x.bin", "application/octet-stream", b"abc")));
            let tail = format!("--{b}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n--{b}--\r\n", b = "----beffroi-test-boundary");
            body.truncate(body.len() - "----beffroi-test-boundary--\r\n".len() - 2);
            body.extend_from_slice(tail.as_bytes());
            let r = post(&app, "/s/@@add?type=File", &c, (ct, body)).await;
            assert_eq!(r.status, 403, "{}", r.body);
            assert_eq!((db.blob_files(), db.spooled_files()), (blobs, 0), "the forged post kept nothing");
            // A body cut short is a bad request.
            let (ct, mut body) = multipart(&[("_csrf", &token), ("title", "Coupé")], Some(("file", "c.bin", "application/octet-stream", &[1u8; 5000])));
            body.truncate(body.len() - 100);
            let r = post(&app, "/s/@@add?type=File", &c, (ct, body)).await;
            assert_eq!(r.status, 400, "{}", r.body);
            assert_eq!(db.spooled_files(), 0);
            let listing = app.get_with("/s", &[("cookie", &c), ("accept", "application/json")]).await.json();
            let titles: Vec<&str> = listing["items"].as_array().unwrap().iter().filter_map(|i| i["title"].as_str()).collect();
            assert_eq!(titles, ["Registre", "Juste"]);
        }

        async fn form_uploads_reach_the_disk_while_they_arrive(db) {
            editor(&db).await;
            let app = TestApp::new(&db).await;
            let c = session(&app).await;
            let token = csrf(&app.get_with("/s/@@add?type=File", &[("cookie", &c)]).await.body);
            // 12 MiB sent in pieces of 256 KiB from a channel. Once 8 MiB have gone,
            // the sender waits for the server to have written half of them to its spool
            // before sending the rest: a server that read the body whole first (into
            // memory) would write nothing until the end and the test would time out.
            const PIECE: usize = 256 * 1024;
            const PIECES: usize = 48;
            let (ct, framing) = multipart(&[("_csrf", &token), ("title", "Gros fichier")], Some(("file", "gros.bin", "application/octet-stream", b"")));
            let tail = "\r\n------beffroi-test-boundary--\r\n";
            let head = framing[..framing.len() - tail.len()].to_vec();
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
            let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|piece| (piece, rx)) });
            let request = app.request(
                Request::post("/s/@@add?type=File").header("host", "localhost").header("cookie", &c).header("content-type", ct)
                    .body(Body::from_stream(stream)).unwrap(),
            );
            let feed = async {
                tx.send(Ok(head.into())).await.unwrap();
                let mut spooled_mid_way = 0;
                for i in 0..PIECES {
                    tx.send(Ok(bytes::Bytes::from(vec![(i % 251) as u8; PIECE]))).await.unwrap();
                    if i + 1 == 32 {
                        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
                        while db.spooled_bytes() < 4 * 1024 * 1024 && std::time::Instant::now() < deadline {
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        }
                        spooled_mid_way = db.spooled_bytes();
                    }
                }
                tx.send(Ok(bytes::Bytes::from_static(tail.as_bytes()))).await.unwrap();
                drop(tx);
                spooled_mid_way
            };
            let (r, spooled_mid_way) = tokio::join!(request, feed);
            assert_eq!(r.status, 303, "{}", r.body);
            assert!(spooled_mid_way >= 4 * 1024 * 1024, "only {spooled_mid_way} bytes on disk after 8 MiB sent");
            assert_eq!(db.spooled_files(), 0, "the spooled upload is removed once stored");
            let v = app.get_with("/s/gros-fichier", &[("cookie", &c), ("accept", "application/json")]).await.json();
            assert_eq!(v["file"]["size"], PIECE * PIECES);
            let down = app.get_with("/s/gros-fichier/@@download/file", &[("cookie", &c)]).await;
            assert_eq!(down.raw.len(), PIECE * PIECES);
            assert!(down.raw.chunks(PIECE).enumerate().all(|(i, piece)| piece.iter().all(|b| *b == (i % 251) as u8)), "stored in order");
        }
    }
}
