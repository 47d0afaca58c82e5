//! The listing views of folders and Collections (their `layout`): summaries with dates
//! and thumbnails, news newest first, events by month, a table, an album — chosen
//! through the API or the edit form, refused when unknown; through the real router, on
//! both backends.

use base64::Engine;
use beffroi_model::security::{Principal, Role};
use chrono::{Duration, Utc};
use serde_json::json;

use crate::both_backends;
use crate::support::{TestApp, TestDb, obj, path, png};

fn basic(login: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{login}:correct horse battery")))
}

/// The listed titles of a page, in order (the links of its listing section).
fn listed(page: &str) -> Vec<String> {
    let section =
        page.split("<section class=\"listing").nth(1).and_then(|s| s.split("</section>").next()).unwrap_or_default();
    section
        .split("<a href=\"")
        .skip(1)
        .filter_map(|a| a.split('>').nth(1).and_then(|t| t.split('<').next()))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn news_folder(db: &TestDb) -> beffroi_service::SiteRow {
    let s = db.site("s").await;
    db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
    db.add(&s, "", "Folder", json!({"title": "Actualités"})).await;
    let image = base64::engine::general_purpose::STANDARD.encode(png(40, 30));
    db.add(&s, "/actualites", "News Item", json!({"title": "Ancienne", "effective": "2026-10-05T09:00:00+00:00"}))
        .await;
    db.add(
        &s,
        "/actualites",
        "News Item",
        json!({"title": "Récente", "effective": "2026-12-01T09:00:00+00:00",
        "image": {"data": image, "encoding": "base64", "filename": "r.png", "content-type": "image/png"}}),
    )
    .await;
    db.add(&s, "/actualites", "News Item", json!({"title": "Moyenne", "effective": "2026-11-10T09:00:00+00:00"})).await;
    s
}

both_backends! {
    async fn a_folder_is_shown_in_the_listing_view_chosen_for_it(db) {
        let s = news_folder(&db).await;
        let app = TestApp::new(&db).await;
        let max = basic("max");

        // By default, the plain list in the folder's order, without dates.
        let page = app.get("/s/actualites").await.body;
        assert_eq!(listed(&page), ["Ancienne", "Récente", "Moyenne"]);
        assert!(!page.contains("class=\"date\""), "{page}");
        assert_eq!(app.get_json("/s/actualites").await.json()["layout"], "listing_view");

        // An unknown view is refused and changes nothing.
        let r = app.send_json("PATCH", "/s/actualites", &max, json!({"layout": "carousel_view"})).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("layout"), "{}", r.body);
        assert_eq!(app.get_json("/s/actualites").await.json()["layout"], "listing_view");

        // News: newest first, each with its date written out, the image's thumbnail.
        let r = app.send_json("PATCH", "/s/actualites", &max, json!({"layout": "news_listing"})).await;
        assert_eq!(r.status, 204, "{}", r.body);
        assert_eq!(app.get_json("/s/actualites").await.json()["layout"], "news_listing");
        let page = app.get("/s/actualites").await.body;
        assert_eq!(listed(&page), ["Récente", "Moyenne", "Ancienne"]);
        assert!(page.contains("<time datetime=\"2026-12-01T09:00:00+00:00\">1 décembre 2026</time>"), "{page}");
        assert!(page.contains("<img class=\"thumb\" src=\"http://localhost/s/actualites/recente/@@images/image/thumb\" alt=\"\""), "{page}");
        assert_eq!(page.matches("class=\"thumb\"").count(), 1, "only the one with an image");

        // A table: the type, the date and the author of each.
        db.services.update(&Principal::System, &s, &path("/actualites"), &obj(json!({"layout": "tabular_view"}))).await.unwrap();
        let page = app.get("/s/actualites").await.body;
        assert!(page.contains("<table class=\"tabular\">"), "{page}");
        assert!(page.contains("<td>Actualité</td><td><time datetime=\"2026-10-05T09:00:00+00:00\">5 octobre 2026</time></td>"), "{page}");

        // An album: the images large, every item a tile.
        db.services.update(&Principal::System, &s, &path("/actualites"), &obj(json!({"layout": "album_view"}))).await.unwrap();
        let page = app.get("/s/actualites").await.body;
        assert!(page.contains("<ul class=\"album\">"), "{page}");
        assert!(page.contains("<img src=\"http://localhost/s/actualites/recente/@@images/image/preview\" alt=\"\" loading=\"lazy\"><span class=\"caption\">Récente</span>"), "{page}");

        // Dates in the page's language.
        db.services.update(&Principal::System, &s, &path("/actualites"), &obj(json!({"layout": "summary_view", "language": "nl"}))).await.unwrap();
        let page = app.get("/s/actualites").await.body;
        assert!(page.contains(">1 december 2026</time>") || page.contains(">5 oktober 2026</time>"), "{page}");

        // The edit form offers the views by their names.
        let cookie = app.session("max", "correct horse battery").await;
        let form = app.get_with("/s/actualites/@@edit", &[("cookie", &cookie)]).await.body;
        assert!(form.contains("<option value=\"news_listing\">"), "{form}");
        assert!(form.contains("Actualités (les plus récentes d&#39;abord)") || form.contains("Nieuws (nieuwste eerst)"), "{form}");
    }

    async fn the_event_listing_shows_what_is_to_come_by_month_and_the_past_on_request(db) {
        let s = db.site("s").await;
        db.add(&s, "", "Folder", json!({"title": "Agenda", "layout": "event_listing"})).await;
        let at = |days: i64| (Utc::now() + Duration::days(days)).format("%Y-%m-%dT10:00:00+00:00").to_string();
        let until = |days: i64| (Utc::now() + Duration::days(days)).format("%Y-%m-%dT12:00:00+00:00").to_string();
        db.add(&s, "/agenda", "Event", json!({"title": "Bientôt", "start": at(3), "end": until(3), "location": "Salle des fêtes"})).await;
        db.add(&s, "/agenda", "Event", json!({"title": "Plus tard", "start": at(70), "end": until(70)})).await;
        db.add(&s, "/agenda", "Event", json!({"title": "Passé", "start": at(-20), "end": until(-20)})).await;
        // Began long ago, comes back every week: listed at its next date.
        db.add(&s, "/agenda", "Event", json!({"title": "Chaque semaine", "start": "2025-01-06T07:00:00+00:00",
            "end": "2025-01-06T09:00:00+00:00", "recurrence": "RRULE:FREQ=WEEKLY"})).await;
        db.add_private(&s, "/agenda", "Event", json!({"title": "Interne", "start": at(5), "end": until(5)})).await;
        db.add(&s, "/agenda", "Document", json!({"title": "Plan d'accès"})).await;
        let app = TestApp::new(&db).await;

        let page = app.get("/s/agenda").await.body;
        let titles = listed(&page);
        assert_eq!(titles.len(), 4, "{titles:?}: three to come, and the link to the past ones");
        assert_eq!(titles[3], "Voir les événements passés");
        let week = titles.iter().position(|t| t == "Chaque semaine").expect("the weekly one is to come");
        assert!(week <= 1, "its next date is within a week: {titles:?}");
        let soon = titles.iter().position(|t| t == "Bientôt").unwrap();
        let later = titles.iter().position(|t| t == "Plus tard").unwrap();
        assert!(soon < later, "{titles:?}");
        assert!(!page.contains("Passé<") && !page.contains("Interne") && !page.contains("Plan d"), "{page}");
        assert!(page.contains("Lieu : Salle des fêtes"), "{page}");
        // Grouped by month: at least the two months 70 days apart.
        assert!(page.matches("<h3 class=\"month\">").count() >= 2, "{page}");
        // Times in the site's zone (Brussels), written out.
        assert!(page.contains(" à 11:00</time> – 13:00</p>") || page.contains(" à 12:00</time> – 14:00</p>"), "{page}");

        let past = app.get("/s/agenda?past=1").await.body;
        assert_eq!(listed(&past), ["Passé", "Voir les événements à venir"]);
        assert!(past.contains("<h2 id=\"listing-title\">Événements passés</h2>"), "{past}");
    }
}
