//! Requests that would exhaust the server: recurrences too dense to expand and reads
//! over their time budget (in-process, on both backends).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use beffroi_model::security::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Reply, TestApp, path};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn send(app: &TestApp, method: &str, uri: &str, auth: &str, body: Value) -> Reply {
    app.request(
        Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost")
            .header("accept", "application/json")
            .header("authorization", auth)
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

both_backends! {
    async fn recurrences_denser_than_daily_are_refused_and_stored_ones_render_fast(db) {
        let s = db.site("s").await;
        db.user(&s, "paul", "contributor password", "", &[Role::Contributor]).await;
        let auth = format!("Basic {}", B64.encode("paul:contributor password"));
        let app = TestApp::new(&db).await;
        let event = |rule: &str| json!({
            "@type": "Event", "title": "Permanence",
            "start": "2016-01-01T00:00:00+00:00", "end": "2016-01-01T01:00:00+00:00", "recurrence": rule,
        });
        for rule in ["RRULE:FREQ=SECONDLY", "RRULE:FREQ=HOURLY;COUNT=10", "RRULE:FREQ=DAILY;BYHOUR=8,12,18", "RRULE:FREQ=WEEKLY;INTERVAL=5000"] {
            let r = send(&app, "POST", "/s", &auth, event(rule)).await;
            assert_eq!(r.status, 400, "{rule}: {}", r.body);
            assert_eq!(r.json()["type"], "BadRequest");
            assert!(r.json()["message"].as_str().unwrap().contains("recurrence"), "{}", r.body);
        }
        let r = send(&app, "POST", "/s", &auth, event("RRULE:FREQ=WEEKLY;BYDAY=FR")).await;
        assert_eq!(r.status, 201, "{}", r.body);

        // A rule stored before the checks existed (written around them, in the store):
        // its page is still quick, and lists no date rather than stalling.
        let p = path("/permanence");
        let mut tx = db.services.store().begin().await.unwrap();
        let mut row = tx.db().item_by_path(&s.scope(), &p).await.unwrap().unwrap();
        row.fields.insert("recurrence".into(), json!("RRULE:FREQ=SECONDLY"));
        tx.db().update_item(&s.scope(), &row).await.unwrap();
        tx.commit().await.unwrap();
        let t = Instant::now();
        let page = app.get_with("/s/permanence", &[("authorization", &auth)]).await;
        let took = t.elapsed();
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Permanence"));
        assert!(took < Duration::from_secs(3), "the page took {took:?}");
        eprintln!("page of a stored FREQ=SECONDLY event from 2016: {took:?}");
    }

    async fn a_read_over_its_time_budget_gets_503_and_writes_have_none(db) {
        let s = db.site("s").await;
        db.user(&s, "ed", "editor password", "", &[Role::SiteAdministrator]).await;
        let auth = format!("Basic {}", B64.encode("ed:editor password"));
        db.add(&s, "/", "Document", json!({"title": "Horaires"})).await;
        // No time at all: any read that waits for the database is over it.
        let options = beffroi_web::WebOptions { request_timeout: Some(Duration::ZERO) };
        let app = TestApp::with_options(db.services.clone(), options).await;
        let r = app.get_json("/s/horaires").await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.json()["type"], "ServiceUnavailable");
        assert!(r.json()["message"].as_str().unwrap().contains("took longer"), "{}", r.body);
        let page = app.get("/s/horaires").await;
        assert_eq!(page.status, 503);
        assert!(page.header("content-type").starts_with("text/html"));
        let r = send(&app, "POST", "/s", &auth, json!({"@type": "Document", "title": "Écrit sans limite"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        // The default budget lets ordinary reads through.
        let app = TestApp::new(&db).await;
        assert_eq!(app.get("/s/horaires").await.status, 200);
    }
}

