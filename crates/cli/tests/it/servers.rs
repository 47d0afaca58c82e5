//! Several servers on one database: what one changes, the others see at once. On
//! PostgreSQL each server tells the others (LISTEN/NOTIFY) and a server that lost its
//! connection forgets what it kept; on SQLite (whose other processes are commands) what
//! a process keeps expires after two seconds.

use std::time::{Duration, Instant};

use beffroi_model::schema::TypeRule;
use beffroi_model::security::{Principal, Role};
use beffroi_model::zone::SiteZone;
use beffroi_service::{Services, SiteRow};
use beffroi_store::Store;
use serde_json::json;

use crate::both_backends;
use crate::support::{TestApp, TestDb, obj, path};

/// How soon a change must show on the other server: told on PostgreSQL, expired on
/// SQLite.
fn allowed(db: &TestDb) -> Duration {
    match db.store {
        Store::Postgres { .. } => Duration::from_millis(100),
        _ => Duration::from_millis(2_500),
    }
}

/// Waits until `seen` holds on the other server, at most `within`; returns how long.
async fn until<F, Fut>(what: &str, within: Duration, mut seen: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if seen().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{what}: not seen by the other server within {within:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn zone_on(b: &Services, site: &SiteRow) -> String {
    b.site(&site.id).await.unwrap().unwrap().time_zone.name().to_owned()
}

both_backends! {
    async fn a_change_on_one_server_is_seen_by_the_other_at_once(db) {
        let s = db.site("s").await;
        db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
        db.add(&s, "", "Folder", json!({"title": "Actualités"})).await;
        db.add(&s, "/actualites", "Document", json!({"title": "Marché de Noël"})).await;
        let (a, b) = (db.services.clone(), db.second_server().await);
        let heard = b.listen().await.unwrap();
        assert_eq!(heard, matches!(db.store, Store::Postgres { .. }), "only PostgreSQL carries notices");
        let within = allowed(&db);
        let sys = Principal::System;
        let mut slowest = Duration::ZERO;

        // The site's settings.
        assert_eq!(zone_on(&b, &s).await, "Europe/Brussels");
        a.set_time_zone(&sys, &s, SiteZone::parse("Europe/Paris").unwrap()).await.unwrap();
        slowest = slowest.max(until("time zone", within, || async { zone_on(&b, &s).await == "Europe/Paris" }).await);

        // Which types go where.
        assert!(b.may_add(&s, Some("Folder"), "Event").await.unwrap());
        let rule = TypeRule { allowed_types: None, global_allow: Some(false) };
        a.set_type_rule(&sys, &s, "Event", rule).await.unwrap();
        slowest = slowest.max(until("type rule", within, || async { !b.may_add(&s, Some("Folder"), "Event").await.unwrap() }).await);

        // Workflows: Documents made to follow the one-state workflow.
        let s = b.site(&s.id).await.unwrap().unwrap();
        let chain = |sv: &Services| {
            let (sv, s) = (sv.clone(), s.clone());
            async move { sv.workflows(&s).await.unwrap().for_type("Document").map(|w| w.id.clone()) }
        };
        let before = chain(&b).await;
        a.set_chain(&sys, &s, "Document", Some("one_state"), &Default::default()).await.unwrap();
        let after = chain(&a).await;
        assert_ne!(before, after);
        slowest = slowest.max(until("workflow chain", within, || async { chain(&b).await == after }).await);

        // Pages anonymous visitors read from the other server's memory, and its
        // navigation.
        let app = TestApp::with_services(b.clone()).await;
        app.get("/s/actualites/marche-de-noel").await;
        assert_eq!(app.get("/s/actualites/marche-de-noel").await.header("x-beffroi-cache"), "hit");
        a.update(&sys, &s, &path("/actualites/marche-de-noel"), &obj(json!({"title": "Marché hivernal"}))).await.unwrap();
        let edited = until("edited page", within, || async {
            app.get("/s/actualites/marche-de-noel").await.body.contains("Marché hivernal")
        });
        slowest = slowest.max(edited.await);
        let folder = db.add(&s, "", "Folder", json!({"title": "Agenda communal"})).await;
        assert_eq!(folder.as_str(), "/agenda-communal");
        slowest = slowest.max(until("navigation", within, || async { app.get("/s/actualites").await.body.contains("Agenda communal") }).await);
        eprintln!("slowest change seen by the other server: {slowest:?}");
        b.close().await;
    }
}

mod postgres_only {
    use super::*;

    async fn title_on(b: &Services, site: &SiteRow) -> String {
        b.site(&site.id).await.unwrap().unwrap().title.clone()
    }

    async fn listener_pid(db: &TestDb) -> Option<i32> {
        let Store::Postgres { pool, .. } = &db.store else { unreachable!() };
        // Once it listens (its last statement), not as soon as it is connected.
        sqlx::query_scalar(
            "select pid from pg_stat_activity where application_name = $1 and datname = current_database() and query ilike 'listen%'",
        )
            .bind(beffroi_store::notices::LISTENER_NAME)
            .fetch_optional(pool)
            .await
            .unwrap()
    }

    /// A notice that does not parse is ignored; a server that lost its connection
    /// listens again and forgets what it kept meanwhile (what changed while it did not
    /// listen was never told).
    #[tokio::test]
    async fn a_server_that_lost_its_connection_forgets_and_listens_again() {
        let Some(db) = TestDb::postgres().await else { return };
        let s = db.site("s").await;
        let (a, b) = (db.services.clone(), db.second_server().await);
        assert!(b.listen().await.unwrap());
        let Store::Postgres { pool, .. } = &db.store else { unreachable!() };
        let sys = Principal::System;

        // The other server keeps the site's row: the change below reaches it only by
        // the notice.
        assert_eq!(zone_on(&b, &s).await, "Europe/Brussels");
        sqlx::query("select pg_notify($1, 'not a notice')")
            .bind(beffroi_store::notices::CHANNEL)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("select pg_notify($1, '{\"from\":\"00000000-0000-0000-0000-000000000000\",\"stale\":\"site\"}')")
            .bind(beffroi_store::notices::CHANNEL)
            .execute(pool)
            .await
            .unwrap();
        a.set_time_zone(&sys, &s, SiteZone::parse("Europe/Paris").unwrap()).await.unwrap();
        until("a change after notices that do not parse", Duration::from_millis(100), || async {
            zone_on(&b, &s).await == "Europe/Paris"
        })
        .await;

        // A change nobody tells (written under the services): the other server keeps
        // what it read.
        assert_eq!(title_on(&b, &s).await, "Commune de s");
        sqlx::query("update sites set title = 'Ville de S' where id = 's'").execute(pool).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(title_on(&b, &s).await, "Commune de s", "kept while nothing is told");

        // Its connection is cut: it listens again, with nothing kept from before.
        let pid = listener_pid(&db).await.expect("the other server listens on a connection of its own");
        sqlx::query("select pg_terminate_backend($1)").bind(pid).execute(pool).await.unwrap();
        until("listening again", Duration::from_secs(5), || async {
            listener_pid(&db).await.is_some_and(|p| p != pid)
        })
        .await;
        until("forgotten on the lost connection", Duration::from_secs(1), || async {
            title_on(&b, &s).await == "Ville de S"
        })
        .await;
        a.set_time_zone(&sys, &s, SiteZone::parse("Europe/Brussels").unwrap()).await.unwrap();
        until("a change after listening again", Duration::from_millis(100), || async {
            zone_on(&b, &s).await == "Europe/Brussels"
        })
        .await;
        b.close().await;
        db.cleanup().await;
    }
}
