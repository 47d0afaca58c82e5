//! Volto's blocks: stored and served untouched, checked for shape, indexed, drawn by
//! Beffroi's own pages with the visitor's rights; a classic page served as blocks; the
//! site root composed of blocks (a commune's home page).

use beffroi_model::security::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Reply, TestApp, TestDb, csrf};

/// A JSON request with no credentials.
async fn anonymous(app: &TestApp, method: &str, uri: &str, body: Value) -> Reply {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "localhost")
        .header("accept", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    app.request(req).await
}

/// A commune with a page, a published and a private news item, and a manager.
async fn commune(db: &TestDb) -> beffroi_service::SiteRow {
    let s = db.site("namur").await;
    db.add(&s, "", "Folder", json!({"title": "Services"})).await;
    db.add(&s, "/services", "Document", json!({"title": "Population", "description": "Cartes d'identité"})).await;
    db.add_private(&s, "/services", "Document", json!({"title": "Brouillon secret"})).await;
    db.add(
        &s,
        "/services",
        "Document",
        json!({"title": "État civil", "text": {"content-type": "text/html", "data": "<h2>Horaires</h2><p>Du lundi <strong>au</strong> vendredi</p>"}}),
    )
    .await;
    db.add(&s, "", "Folder", json!({"title": "Actualités"})).await;
    db.add(&s, "/actualites", "News Item", json!({"title": "Nouvelle piscine", "description": "Ouverture en mars"}))
        .await;
    db.add_private(&s, "/actualites", "News Item", json!({"title": "Nouvelle pas encore publiée"})).await;
    db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
    s
}

/// The ids of the blocks of the blocks editor's form that have field `field`, in order.
fn form_ids(body: &str, field: &str) -> Vec<String> {
    let end = format!(".{field}\"");
    body.match_indices("name=\"b.")
        .filter_map(|(i, m)| {
            let rest = &body[i + m.len()..];
            let close = rest.find('"')?;
            rest[..close + 1].ends_with(&end).then(|| rest[..close + 1 - end.len()].to_owned())
        })
        .collect()
}

fn home_blocks() -> Value {
    json!({
        "blocks": {
            "t": {"@type": "title"},
            "intro": {"@type": "slate", "plaintext": "Bienvenue", "value": [
                {"type": "p", "children": [{"text": "Bienvenue à "}, {"type": "strong", "children": [{"text": "xylophone"}]},
                    {"type": "link", "data": {"url": "javascript:alert(1)"}, "children": [{"text": " piège"}]}]}
            ], "volto_extra": {"kept": true}},
            "news": {"@type": "listing", "headline": "Actualités", "variation": "summary", "querystring": {
                "query": [{"i": "portal_type", "o": "plone.app.querystring.operation.selection.any", "v": ["News Item"]}],
                "sort_on": "effective", "sort_order": "descending", "b_size": "3"}},
            "quick": {"@type": "gridBlock", "headline": "Démarches", "blocks": {
                "a": {"@type": "teaser", "href": [{"@id": "http://localhost:3000/services/population"}]},
                "b": {"@type": "teaser", "href": [{"@id": "/services/brouillon-secret"}], "title": "Secret"}
            }, "blocks_layout": {"items": ["a", "b"]}},
            "raw": {"@type": "html", "html": "<p>Horaires<script>alert(1)</script></p>"},
            "find": {"@type": "search", "headline": "Rechercher"},
            "odd": {"@type": "some-addon-block", "whatever": [1, 2, 3]}
        },
        "blocks_layout": {"items": ["t", "intro", "news", "quick", "raw", "find", "odd"]}
    })
}

both_backends! {
    async fn blocks_are_kept_checked_indexed_and_drawn(db) {
        commune(&db).await;
        let app = TestApp::new(&db).await;
        let auth = app.bearer("namur", "max", "correct horse battery").await;
        let page = "/namur/services/population";
        let r = app.send_json("PATCH", page, &auth, home_blocks()).await;
        assert_eq!(r.status, 204, "{}", r.body);

        // Served as written, but for the HTML block's cleaning.
        let v = app.get_json(page).await.json();
        let mut expected = home_blocks();
        expected["blocks"]["raw"]["html"] = json!("<p>Horaires</p>");
        // Teasers are filled from what they point at, as plone.restapi fills them.
        let teaser = &v["blocks"]["quick"]["blocks"]["a"];
        assert_eq!(teaser["title"], "Population");
        assert_eq!(teaser["description"], "Cartes d'identité");
        assert_eq!(teaser["href"][0]["@id"], "http://localhost/namur/services/population");
        assert_eq!(teaser["href"][0]["hasPreviewImage"], false);
        let secret = &v["blocks"]["quick"]["blocks"]["b"];
        assert_eq!(secret, &expected["blocks"]["quick"]["blocks"]["b"], "what anonymous may not see is left as stored");
        let mut got = v["blocks"].clone();
        got["quick"]["blocks"]["a"] = expected["blocks"]["quick"]["blocks"]["a"].clone();
        assert_eq!(got, expected["blocks"]);
        assert_eq!(v["blocks_layout"], expected["blocks_layout"]);
        // Published as plone.volto's behavior: Volto draws its blocks editor from it.
        let schema = app.get_with("/namur/@types/Document", &[("authorization", &auth), ("accept", "application/json")]).await.json();
        assert_eq!(schema["properties"]["blocks"]["widget"], "json");
        assert_eq!(schema["properties"]["blocks_layout"]["default"], json!({"items": []}));
        assert!(schema["fieldsets"].as_array().unwrap().iter().any(|f| f["id"] == "layout"));

        // Their text is found.
        let found = app.get_json("/namur/@search?SearchableText=xylophone").await.json();
        assert_eq!(found["items_total"], 1, "{found}");
        assert_eq!(found["items"][0]["@id"], "http://localhost/namur/services/population");
        let found = app.get_json("/namur/@search?SearchableText=d%C3%A9marches").await.json();
        assert_eq!(found["items_total"], 1, "a grid's headline: {found}");

        // Beffroi's page draws them, with the visitor's rights.
        let r = app.get(page).await;
        assert_eq!(r.status, 200);
        let b = &r.body;
        for needle in [
            "<h1>Population</h1>",
            "<p>Bienvenue à <strong>xylophone</strong> piège</p>",
            "<h2 id=\"listing-news\">Actualités</h2>",
            ">Nouvelle piscine</a></h3>",
            "<h2>Démarches</h2>",
            "<h3><a href=\"http://localhost/namur/services/population\">Population</a></h3>",
            "identité</p>",
            "<p>Horaires</p>",
            "action=\"http://localhost/namur/@@search\"",
        ] {
            assert!(b.contains(needle), "missing {needle:?} in\n{b}");
        }
        for absent in ["javascript", "<script>alert", "Nouvelle pas encore publiée", "Secret", "whatever"] {
            assert!(!b.contains(absent), "{absent:?} shown to anonymous in\n{b}");
        }
        assert!(r.header("last-modified").is_empty(), "its listings change without it");
        // A manager's page lists the private news and the private page's teaser.
        let m = app.get_with(page, &[("authorization", &auth)]).await;
        assert!(m.body.contains("Nouvelle pas encore publiée"), "{}", m.body);
        assert!(m.body.contains(">Secret</a>"), "{}", m.body);
    }

    async fn bad_blocks_are_refused_with_what_is_wrong(db) {
        commune(&db).await;
        let app = TestApp::new(&db).await;
        let auth = app.bearer("namur", "max", "correct horse battery").await;
        let page = "/namur/services/population";
        for (body, words) in [
            (json!({"blocks": {"a": {"text": "x"}}, "blocks_layout": {"items": ["a"]}}), "@type"),
            (json!({"blocks": {"a": {"@type": "slate"}}, "blocks_layout": {"items": ["a", "b"]}}), "block b"),
            (json!({"blocks": [1, 2]}), "object"),
            (json!({"blocks_layout": {"items": ["a", "a"]}}), "twice"),
            (json!({"blocks_layout": {"items": ["zz"]}}), "block zz"),
        ] {
            let r = app.send_json("PATCH", page, &auth, body.clone()).await;
            assert_eq!(r.status, 400, "{body}: {}", r.body);
            assert!(r.body.contains(words), "{words:?} in {}", r.body);
        }
        let v = app.get_json(page).await.json();
        assert!(v["blocks_layout"].is_null(), "nothing was written: {v}");
    }

    async fn a_classic_page_opens_in_volto_with_its_text_as_blocks(db) {
        commune(&db).await;
        let app = TestApp::new(&db).await;
        // Other clients read its fields; Volto (through ++api++) its text as blocks.
        assert!(app.get_json("/namur/services/etat-civil").await.json()["blocks"].is_null());
        let v = app.get_json("/namur/++api++/services/etat-civil").await.json();
        let items: Vec<&str> = v["blocks_layout"]["items"].as_array().unwrap().iter().map(|i| i.as_str().unwrap()).collect();
        assert_eq!(items, ["beffroi-title", "beffroi-text-1", "beffroi-text-2"]);
        assert_eq!(v["blocks"]["beffroi-title"]["@type"], "title");
        assert_eq!(v["blocks"]["beffroi-text-1"]["value"][0]["type"], "h2");
        assert_eq!(v["blocks"]["beffroi-text-2"]["plaintext"], "Du lundi au vendredi");
        assert_eq!(v["blocks"]["beffroi-text-2"]["value"][0]["children"][1]["type"], "strong");
        // Its own page still shows its text (nothing was stored).
        let r = app.get("/namur/services/etat-civil").await;
        assert!(r.body.contains("<h2>Horaires</h2><p>Du lundi <strong>au</strong> vendredi</p>"), "{}", r.body);
        // Volto saves what changed only: the blocks, not their order. The order they
        // were served in is kept, a new block goes last.
        let auth = app.bearer("namur", "max", "correct horse battery").await;
        let mut blocks = v["blocks"].clone();
        blocks["beffroi-text-2"]["value"][0]["children"] = json!([{"text": "Le samedi aussi"}]);
        blocks.as_object_mut().unwrap().remove("beffroi-text-1");
        blocks["new"] = json!({"@type": "slate", "value": [{"type": "p", "children": [{"text": "Nouveau"}]}]});
        let r = app.send_json("PATCH", "/namur/services/etat-civil", &auth, json!({ "blocks": blocks })).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let v = app.get_json("/namur/services/etat-civil").await.json();
        assert_eq!(v["blocks_layout"]["items"], json!(["beffroi-title", "beffroi-text-2", "new"]), "stored now");
        let page = app.get("/namur/services/etat-civil").await.body;
        assert!(page.contains("<p>Le samedi aussi</p>") && page.contains("<p>Nouveau</p>"), "{page}");
        assert!(!page.contains("Horaires"), "the blocks replace the text: {page}");
        // The site root, composed of nothing yet: its title and a listing of its contents.
        let root = app.get_json("/namur/++api++").await.json();
        assert_eq!(root["blocks_layout"]["items"], json!(["beffroi-title", "beffroi-contents"]));
        assert_eq!(root["blocks"]["beffroi-contents"]["@type"], "listing");
    }

    async fn the_home_page_is_composed_of_blocks(db) {
        commune(&db).await;
        let app = TestApp::new(&db).await;
        let auth = app.bearer("namur", "max", "correct horse battery").await;
        let r = app.send_json("PATCH", "/namur", &auth, home_blocks()).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let v = app.get_json("/namur").await.json();
        assert_eq!(v["blocks_layout"], home_blocks()["blocks_layout"]);
        assert_eq!(v["title"], "Commune de namur");
        let r = app.get("/namur").await;
        assert_eq!(r.status, 200);
        for needle in ["<h1>Commune de namur</h1>", "xylophone", ">Nouvelle piscine</a></h3>", "<h2>Démarches</h2>"] {
            assert!(r.body.contains(needle), "missing {needle:?} in\n{}", r.body);
        }
        assert!(!r.body.contains("id=\"listing-title\""), "the blocks replace the listing of its contents");
        // Only those who may change the site compose it.
        let r = anonymous(&app, "PATCH", "/namur", json!({"blocks": {}, "blocks_layout": {"items": []}})).await;
        assert_eq!(r.status, 401, "{}", r.body);
        // The root takes no other field than its title and description (Volto's title
        // and description blocks write them); its title is the site's.
        let r = app.send_json("PATCH", "/namur", &auth, json!({"text": "x"})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let r = app.send_json("PATCH", "/namur", &auth, json!({"title": "Ville de Namur", "description": "Capitale de la Wallonie"})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let v = app.get_json("/namur").await.json();
        assert_eq!((v["title"].as_str(), v["description"].as_str()), (Some("Ville de Namur"), Some("Capitale de la Wallonie")));
        assert_eq!(app.get_json("/namur/@site").await.json()["plone.site_title"], "Ville de Namur");
        assert!(app.get("/namur").await.body.contains("<h1>Ville de Namur</h1>"));
        let r = app.send_json("PATCH", "/namur", &auth, json!({"title": ""})).await;
        assert_eq!(r.status, 400, "a site has a title: {}", r.body);
    }

    async fn volto_listing_blocks_find_their_indexes_and_run_their_queries(db) {
        let s = commune(&db).await;
        let app = TestApp::new(&db).await;
        // @querystring: what Volto's query editor offers, in the site's language.
        let r = app.get_json("/namur/@querystring").await;
        assert_eq!(r.status, 200, "{}", r.body);
        let qs = r.json();
        let types = &qs["indexes"]["portal_type"];
        assert_eq!(types["title"], "Type");
        assert_eq!(types["values"]["News Item"]["title"], "Actualité");
        assert!(types["values"].get("Plone Site").is_none(), "nobody adds a site root");
        assert_eq!(
            types["operators"]["plone.app.querystring.operation.selection.any"]["widget"],
            "MultipleSelectionWidget"
        );
        assert_eq!(qs["indexes"]["review_state"]["values"]["published"]["title"], "Publié");
        assert!(qs["indexes"]["start"]["operations"].as_array().unwrap().iter().any(|o| o == "plone.app.querystring.operation.date.afterToday"));
        for sortable in ["sortable_title", "effective", "start", "getObjPositionInParent"] {
            assert!(qs["sortable_indexes"].get(sortable).is_some(), "{sortable}");
        }
        // The listing block's request, numbers as text as Volto sends them.
        let body = json!({"metadata_fields": "_all", "b_size": "3", "limit": "3", "b_start": 0,
            "query": [{"i": "portal_type", "o": "plone.app.querystring.operation.selection.any", "v": ["News Item"]}],
            "sort_on": "effective", "sort_order": "descending"});
        let r = anonymous(&app, "POST", "/namur/@querystring-search", body).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["items_total"], 1, "the published news only: {}", r.body);
        // Tags are suggested from those in use (what the caller may see).
        db.add(&s, "/actualites", "News Item", json!({"title": "Piscine", "subjects": ["sport", "piscine"]})).await;
        db.add_private(&s, "/actualites", "News Item", json!({"title": "Secret", "subjects": ["secret-tag"]})).await;
        let v = app.get_json("/namur/@vocabularies/plone.app.vocabularies.Keywords").await.json();
        let tokens: Vec<&str> = v["items"].as_array().unwrap().iter().map(|t| t["token"].as_str().unwrap()).collect();
        assert!(tokens.contains(&"piscine") && tokens.contains(&"sport") && !tokens.contains(&"secret-tag"), "{v}");
        let auth = app.bearer("namur", "max", "correct horse battery").await;
        let schema = app.get_with("/namur/@types/News%20Item", &[("authorization", &auth), ("accept", "application/json")]).await.json();
        assert_eq!(
            schema["properties"]["subjects"]["widgetOptions"]["vocabulary"]["@id"],
            "http://localhost/namur/@vocabularies/plone.app.vocabularies.Keywords"
        );
        let states = app.get_json("/namur/@vocabularies/plone.app.vocabularies.WorkflowStates").await.json();
        assert!(states["items"].as_array().unwrap().iter().any(|t| t["token"] == "published" && t["title"] == "Publié"), "{states}");
        // Through ++api++ (Volto), Beffroi's own listing views read as the summary view
        // Volto draws; to other clients as they are.
        let auth2 = auth.clone();
        let r = app.send_json("PATCH", "/namur/actualites", &auth2, json!({"layout": "news_listing"})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(app.get_json("/namur/++api++/actualites").await.json()["layout"], "summary_view");
        assert_eq!(app.get_json("/namur/actualites").await.json()["layout"], "news_listing");
        let bad = json!({"b_size": "trois", "query": []});
        let r = anonymous(&app, "POST", "/namur/@querystring-search", bad).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("trois"), "{}", r.body);
    }

    async fn the_home_page_is_composed_in_the_browser_without_writing_html(db) {
        commune(&db).await;
        let app = TestApp::new(&db).await;
        // Anonymous visitors do not get the editor.
        let r = app.get("/namur/@@blocks").await;
        assert!(r.status == 401 || r.status == 302 || r.status == 303, "{}", r.status);
        let cookie = app.session_on("namur", "max", "correct horse battery").await;
        let home = app.get_with("/namur", &[("cookie", &cookie)]).await;
        assert!(home.body.contains("href=\"http://localhost/namur/@@blocks\">Composer la page</a>"), "{}", home.body);
        let r = app.get_with("/namur/@@blocks", &[("cookie", &cookie)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("1. Titre de la page"), "the root starts with its title: {}", r.body);
        let token = csrf(&r.body);
        let post = |pairs: Vec<(&'static str, String)>| {
            let mut all: Vec<(String, String)> = vec![("_csrf".into(), token.clone())];
            all.extend(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)));
            let body = serde_urlencoded::to_string(&all).unwrap();
            let app = &app;
            let cookie = cookie.clone();
            async move { app.post_form("/namur/@@blocks", &cookie, body).await }
        };
        // A text block, then a listing, then links to pages.
        let r = post(vec![("op", "add".into()), ("new_kind", "slate".into())]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = app.get_with("/namur/@@blocks", &[("cookie", &cookie)]).await.body;
        let text = form_ids(&page, "html");
        assert_eq!(text.len(), 1, "{page}");
        let key = |id: &str, f: &str| -> &'static str { Box::leak(format!("b.{id}.{f}").into_boxed_str()) };
        let r = post(vec![
            (key(&text[0], "html"), "<p>Bonjour <strong>tous</strong><script>alert(1)</script></p>".into()),
            ("op", "add".into()),
            ("new_kind", "listing".into()),
        ])
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = app.get_with("/namur/@@blocks", &[("cookie", &cookie)]).await.body;
        assert!(page.contains("Bonjour &lt;strong&gt;tous&lt;/strong&gt;"), "the text comes back to its editor: {page}");
        // The root's listing of its contents, then the one added.
        let listing = form_ids(&page, "sort");
        assert_eq!(listing.len(), 2, "{page}");
        let listing = [listing[1].clone()];
        let r = post(vec![
            (key(&listing[0], "headline"), "Dernières nouvelles".into()),
            (key(&listing[0], "type"), "News Item".into()),
            (key(&listing[0], "limit"), "2".into()),
            (key(&listing[0], "sort"), "effective".into()),
            (key(&listing[0], "variation"), "summary".into()),
            ("op", "add".into()),
            ("new_kind", "gridBlock".into()),
        ])
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = app.get_with("/namur/@@blocks", &[("cookie", &cookie)]).await.body;
        let grid = form_ids(&page, "targets");
        assert_eq!(grid.len(), 1, "{page}");
        assert!(page.contains("value=\"Dernières nouvelles\""), "{page}");
        // The links, and the grid moved above the listing; then saved.
        let r = post(vec![
            (key(&grid[0], "headline"), "Vos démarches".into()),
            (key(&grid[0], "targets"), "/services/population\nhttp://localhost/namur/services/etat-civil".into()),
            ("op", format!("up:{}", grid[0])),
        ])
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post(vec![("op", "save".into())]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.header("location"), "http://localhost/namur");

        let home = app.get("/namur").await.body;
        let at = |needle: &str| home.find(needle).unwrap_or_else(|| panic!("missing {needle:?} in\n{home}"));
        let (title, text_at, grid_at, listing_at) =
            (at("<h1>Commune de namur</h1>"), at("Bonjour <strong>tous</strong>"), at("<h2>Vos démarches</h2>"), at("Dernières nouvelles"));
        assert!(title < text_at && text_at < grid_at && grid_at < listing_at, "in the order composed");
        at(">Population</a></h3>");
        at(">État civil</a></h3>");
        at(">Nouvelle piscine</a></h3>");
        assert!(!home.contains("alert(1)"), "{home}");
        let v = app.get_json("/namur").await.json();
        // The title and the contents' listing the root stood with, and the three added.
        assert_eq!(v["blocks_layout"]["items"].as_array().unwrap().len(), 5);
        assert_eq!(v["blocks"][&grid[0]]["blocks_layout"]["items"].as_array().unwrap().len(), 2);
        assert_eq!(v["blocks"][&listing[0]]["querystring"]["b_size"], "2");

        // A block removed is gone from the page.
        let r = post(vec![("op", format!("delete:{}", text[0]))]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(!app.get("/namur").await.body.contains("Bonjour"));
        // The editor's own buttons only: anything else saves the form as it is.
        let r = post(vec![(key(&grid[0], "targets"), "/services/population".into()), ("op", "bogus".into())]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let v = app.get_json("/namur").await.json();
        assert_eq!(v["blocks"][&grid[0]]["blocks_layout"]["items"].as_array().unwrap().len(), 1);
    }
}
