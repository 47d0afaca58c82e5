//! What programs read of a site: RSS and Atom feeds of folders and Collections,
//! iCalendar files of events, the sitemap and robots.txt, and what a page's head says
//! of it (canonical address, feeds, OpenGraph, schema.org) — through the real router,
//! on both backends.

use base64::Engine;
use beffroi_model::security::Role;
use serde_json::json;

use crate::both_backends;
use crate::support::{TestApp, TestDb};

fn basic(login: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{login}:correct horse battery")))
}

/// The text between each `<tag>` and `</tag>` of `xml`, in order.
fn all<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    xml.split(&open).skip(1).filter_map(|p| p.split(&format!("</{tag}>")).next()).collect()
}

/// Site `s` with a news folder (two news published in November and December, one
/// private), a private folder, and a Collection of what is about "travaux".
async fn news_site(db: &TestDb) -> beffroi_service::SiteRow {
    let s = db.site("s").await;
    db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
    db.add(&s, "", "Folder", json!({"title": "Actualités", "description": "Les nouvelles de la commune"})).await;
    db.add(
        &s,
        "/actualites",
        "News Item",
        json!({"title": "Marché de Noël", "effective": "2026-11-01T09:00:00+00:00", "subjects": ["fêtes"]}),
    )
    .await;
    db.add(&s, "/actualites", "News Item", json!({"title": "Travaux rue Haute & place", "description": "Circulation <alternée>", "effective": "2026-12-01T09:00:00+00:00", "subjects": ["travaux"]})).await;
    db.add_private(&s, "/actualites", "News Item", json!({"title": "Projet secret"})).await;
    db.add_private(&s, "", "Folder", json!({"title": "Interne"})).await;
    db.add(
        &s,
        "",
        "Collection",
        json!({"title": "Chantiers",
        "query": [{"i": "Subject", "o": "plone.app.querystring.operation.selection.any", "v": ["travaux"]}]}),
    )
    .await;
    s
}

both_backends! {
    async fn folders_and_collections_have_feeds_of_what_the_reader_may_see(db) {
        news_site(&db).await;
        let app = TestApp::new(&db).await;

        let rss = app.get("/s/actualites/@@rss").await;
        assert_eq!(rss.status, 200, "{}", rss.body);
        assert_eq!(rss.header("content-type"), "application/rss+xml; charset=utf-8");
        assert!(rss.body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\""), "{}", rss.body);
        // Newest first, escaped, the private one left out.
        assert_eq!(all(&rss.body, "title"), ["Actualités", "Travaux rue Haute &amp; place", "Marché de Noël"]);
        assert!(rss.body.contains("<description>Circulation &lt;alternée&gt;</description>"), "{}", rss.body);
        assert!(rss.body.contains("<link>http://localhost/s/actualites/travaux-rue-haute-place</link>"), "{}", rss.body);
        assert!(rss.body.contains("<pubDate>Tue, 1 Dec 2026 09:00:00 +0000</pubDate>"), "{}", rss.body);
        assert!(!rss.body.contains("Projet secret"));

        let atom = app.get("/s/actualites/@@atom").await;
        assert_eq!(atom.status, 200);
        assert_eq!(atom.header("content-type"), "application/atom+xml; charset=utf-8");
        assert!(atom.body.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"fr\">"), "{}", atom.body);
        assert_eq!(all(&atom.body, "entry").len(), 2);
        assert!(atom.body.contains("<published>2026-12-01T09:00:00+00:00</published>"), "{}", atom.body);
        assert!(atom.body.contains("<link rel=\"self\" type=\"application/atom+xml\" href=\"http://localhost/s/actualites/@@atom\"/>"));

        // The one who may see the private news item finds it in the feed.
        let managed = app.get_with("/s/actualites/@@rss", &[("authorization", &basic("max"))]).await;
        assert!(managed.body.contains("Projet secret"), "{}", managed.body);

        // A Collection's feed is its results.
        let chantiers = app.get("/s/chantiers/@@rss").await;
        assert_eq!(all(&chantiers.body, "title"), ["Chantiers", "Travaux rue Haute &amp; place"]);

        // A private folder's feed: 401 for anonymous, not an empty feed with its title,
        // nor the login form.
        for feed in ["@@rss", "@@atom", "@@ics_view"] {
            let r = app.get(&format!("/s/interne/{feed}")).await;
            assert_eq!(r.status, 401, "{feed}: {}", r.body);
            assert!(!r.body.contains("Interne"), "{feed}: {}", r.body);
        }
        // A page has no feed.
        assert_eq!(app.get("/s/actualites/marche-de-noel/@@rss").await.status, 404);

        // The folder's page links its feeds and says where it lives.
        let page = app.get("/s/actualites").await.body;
        assert!(page.contains("<link rel=\"alternate\" type=\"application/rss+xml\" title=\"Actualités (RSS)\" href=\"http://localhost/s/actualites/@@rss\">"), "{page}");
        assert!(page.contains("<link rel=\"alternate\" type=\"application/atom+xml\""), "{page}");
        assert!(page.contains("<link rel=\"canonical\" href=\"http://localhost/s/actualites\">"), "{page}");
        assert!(page.contains("<meta property=\"og:type\" content=\"website\">"), "{page}");
        // A news item's page: an article for OpenGraph and schema.org.
        let news = app.get("/s/actualites/travaux-rue-haute-place").await.body;
        assert!(news.contains("<meta property=\"og:type\" content=\"article\">"), "{news}");
        assert!(news.contains("<meta property=\"og:description\" content=\"Circulation &lt;alternée&gt;\">"), "{news}");
        let ld = news.split("<script type=\"application/ld+json\">").nth(1).and_then(|s| s.split("</script>").next()).expect("JSON-LD");
        assert!(!ld.contains('<'), "no markup inside the script: {ld}");
        let ld: serde_json::Value = serde_json::from_str(ld).unwrap();
        assert_eq!(ld["@type"], "NewsArticle", "as its type file says");
        assert_eq!(ld["headline"], "Travaux rue Haute & place");
        assert_eq!(ld["description"], "Circulation <alternée>");
        assert_eq!(ld["datePublished"], "2026-12-01T09:00:00+00:00");
        assert_eq!(ld["publisher"]["@type"], "GovernmentOrganization");
        // The home page: the commune itself.
        let home = app.get("/s").await.body;
        let ld = home.split("<script type=\"application/ld+json\">").nth(1).and_then(|s| s.split("</script>").next()).expect("JSON-LD");
        let ld: serde_json::Value = serde_json::from_str(ld).unwrap();
        assert_eq!(ld["@type"], "GovernmentOrganization");
        assert_eq!(ld["url"], "http://localhost/s");
    }

    async fn events_export_to_icalendar_in_the_site_time_zone(db) {
        let s = db.site("s").await;
        db.add(&s, "", "Folder", json!({"title": "Agenda"})).await;
        db.add(&s, "/agenda", "Event", json!({"title": "Conseil communal",
            "start": "2026-12-14T18:00:00+00:00", "end": "2026-12-14T20:00:00+00:00",
            "location": "Salle du conseil, Hôtel de ville", "contact_email": "secretariat@commune.be"})).await;
        db.add(&s, "/agenda", "Event", json!({"title": "Marché hebdomadaire",
            "start": "2026-03-05T07:00:00+00:00", "end": "2026-03-05T12:00:00+00:00",
            "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=TH;COUNT=40"})).await;
        db.add(&s, "/agenda", "Event", json!({"title": "Fête de la musique", "whole_day": true,
            "start": "2026-06-20T22:00:00+00:00", "end": "2026-06-21T21:59:00+00:00"})).await;
        db.add_private(&s, "/agenda", "Event", json!({"title": "Réunion interne",
            "start": "2026-12-15T18:00:00+00:00", "end": "2026-12-15T19:00:00+00:00"})).await;
        db.add(&s, "/agenda", "Document", json!({"title": "Plan d'accès"})).await;
        let app = TestApp::new(&db).await;

        let one = app.get("/s/agenda/conseil-communal/@@ics_view").await;
        assert_eq!(one.status, 200, "{}", one.body);
        assert_eq!(one.header("content-type"), "text/calendar; charset=utf-8");
        assert_eq!(one.header("content-disposition"), "attachment; filename=\"conseil-communal.ics\"");
        let ics = &one.body;
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"), "{ics}");
        assert!(ics.ends_with("END:VCALENDAR\r\n"), "{ics}");
        assert!(ics.split("\r\n").all(|l| l.len() <= 75), "lines folded: {ics}");
        assert!(!ics.replace("\r\n", "").contains('\n'), "CRLF only: {ics}");
        // Local wall-clock times in the site's zone (Brussels: UTC+1 in December).
        assert!(ics.contains("DTSTART;TZID=Europe/Brussels:20261214T190000\r\n"), "{ics}");
        assert!(ics.contains("DTEND;TZID=Europe/Brussels:20261214T210000\r\n"), "{ics}");
        assert!(ics.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Brussels\r\n"), "{ics}");
        assert!(ics.contains("BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"), "{ics}");
        assert!(ics.contains("LOCATION:Salle du conseil\\, Hôtel de ville\r\n"), "{ics}");
        assert!(ics.contains("SUMMARY:Conseil communal\r\n"), "{ics}");
        assert!(ics.contains("URL:http://localhost/s/agenda/conseil-communal\r\n"), "{ics}");
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1);

        // The folder's calendar: its events the reader may see, soonest first.
        let all_events = app.get("/s/agenda/@@ics_view").await.body;
        let summaries: Vec<&str> = all_events.split("\r\n").filter_map(|l| l.strip_prefix("SUMMARY:")).collect();
        assert_eq!(summaries, ["Marché hebdomadaire", "Fête de la musique", "Conseil communal"]);
        assert!(all_events.contains("DTSTART;TZID=Europe/Brussels:20260305T080000\r\nDTEND;TZID=Europe/Brussels:20260305T130000\r\nRRULE:FREQ=WEEKLY;BYDAY=TH;COUNT=40\r\n"), "{all_events}");
        assert!(all_events.contains("DTSTART;VALUE=DATE:20260621\r\nDTEND;VALUE=DATE:20260622\r\n"), "a day-long event ends the next day: {all_events}");
        assert!(all_events.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"), "{all_events}");
        // A page is no event.
        assert_eq!(app.get("/s/agenda/plan-d-acces/@@ics_view").await.status, 404);
        // The private event, for anonymous: 401, and not in the folder's file.
        assert_eq!(app.get("/s/agenda/reunion-interne/@@ics_view").await.status, 401);
        assert!(!all_events.contains("Réunion interne"));

        // The event's page links its calendar file and describes it for schema.org.
        let page = app.get("/s/agenda/conseil-communal").await.body;
        assert!(page.contains("<link rel=\"alternate\" type=\"text/calendar\" title=\"Conseil communal (iCalendar)\" href=\"http://localhost/s/agenda/conseil-communal/@@ics_view\">"), "{page}");
        let ld = page.split("<script type=\"application/ld+json\">").nth(1).and_then(|s| s.split("</script>").next()).expect("JSON-LD");
        let ld: serde_json::Value = serde_json::from_str(ld).unwrap();
        assert_eq!(ld["@type"], "Event");
        assert_eq!(ld["startDate"], "2026-12-14T18:00:00+00:00");
        assert_eq!(ld["location"]["name"], "Salle du conseil, Hôtel de ville");
    }

    async fn the_sitemap_and_robots_txt_list_what_anonymous_may_see(db) {
        let s = db.site_with_hosts("namur", &["www.namur.be"]).await;
        db.add(&s, "", "Document", json!({"title": "Horaires"})).await;
        db.add(&s, "", "Document", json!({"title": "Ancien avis", "expires": "2000-01-01T00:00:00+00:00"})).await;
        db.add_private(&s, "", "Document", json!({"title": "Brouillon"})).await;
        let app = TestApp::new(&db).await;
        let host = [("host", "www.namur.be")];

        let map = app.get_with("/sitemap.xml", &host).await;
        assert_eq!(map.status, 200, "{}", map.body);
        assert_eq!(map.header("content-type"), "application/xml; charset=utf-8");
        assert!(map.body.contains("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"), "{}", map.body);
        assert_eq!(all(&map.body, "loc"), ["http://www.namur.be", "http://www.namur.be/horaires"]);
        assert_eq!(all(&map.body, "lastmod").len(), 2);
        // On the server's own address, under the site's id.
        let by_path = app.get("/namur/sitemap.xml").await;
        assert_eq!(all(&by_path.body, "loc"), ["http://localhost/namur", "http://localhost/namur/horaires"]);
        // No such page.
        for q in ["page=2", "page=0", "page=deux"] {
            assert_eq!(app.get_with(&format!("/sitemap.xml?{q}"), &host).await.status, 404, "{q}");
        }

        let robots = app.get_with("/robots.txt", &host).await;
        assert_eq!(robots.status, 200);
        assert_eq!(robots.header("content-type"), "text/plain; charset=utf-8");
        assert!(robots.body.contains("User-agent: *\nDisallow: /@@search\n"), "{}", robots.body);
        assert!(robots.body.contains("Sitemap: http://www.namur.be/sitemap.xml\n"), "{}", robots.body);
        let by_path = app.get("/namur/robots.txt").await.body;
        assert!(by_path.contains("Disallow: /namur/@@search\n") && by_path.contains("Sitemap: http://localhost/namur/sitemap.xml"), "{by_path}");

        // Past a file's size, sitemap.xml is an index of numbered files.
        let options = beffroi_web::WebOptions { sitemap_size: 1, ..Default::default() };
        let small = TestApp::with_options(db.services.clone(), options).await;
        let index = small.get_with("/sitemap.xml", &host).await.body;
        assert!(index.contains("<sitemapindex"), "{index}");
        assert_eq!(all(&index, "loc"), ["http://www.namur.be/sitemap.xml?page=1", "http://www.namur.be/sitemap.xml?page=2"]);
        let second = small.get_with("/sitemap.xml?page=2", &host).await.body;
        assert_eq!(all(&second, "loc"), ["http://www.namur.be/horaires"]);
    }
}
