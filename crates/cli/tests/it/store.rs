//! Store tests: migrations, site scoping, tree paths, redirects — on both backends.

use beffroi_model::Language;
use beffroi_model::SiteId;
use beffroi_service::{Store, StoreOptions};

use crate::both_backends;
use crate::support::path;

both_backends! {
    async fn migrations_are_idempotent(db) {
        // Opening the same database again applies nothing and fails nothing.
        let again = Store::open(&db.url, &StoreOptions::default()).await.expect("reopen");
        let mut c = again.conn().await.unwrap();
        assert!(c.db().list_sites().await.unwrap().is_empty());
        drop(c);
        again.close().await;
    }

    async fn sites_round_trip_with_hosts(db) {
        let site = db.site_with_hosts("namur", &["www.namur.be", "namur.be"]).await;
        let mut c = db.services.store().conn().await.unwrap();
        let got = c.db().get_site(&SiteId::parse("namur").unwrap()).await.unwrap().unwrap();
        assert_eq!(got.title, "Commune de namur");
        assert_eq!(got.language, Language::Fr);
        assert_eq!(got.hosts, ["namur.be", "www.namur.be"]);
        assert_eq!(got.id, site.id);
        assert!(c.db().get_site(&SiteId::parse("liege").unwrap()).await.unwrap().is_none());
    }

    async fn queries_never_cross_sites(db) {
        let a = db.site("a").await;
        let b = db.site("b").await;
        db.add(&a, "", "Document", serde_json::json!({"title": "Secret de A"})).await;
        let mut c = db.services.store().conn().await.unwrap();
        assert!(c.db().item_by_path(&a.scope(), &path("/secret-de-a")).await.unwrap().is_some());
        assert!(c.db().item_by_path(&b.scope(), &path("/secret-de-a")).await.unwrap().is_none());
        let item = c.db().item_by_path(&a.scope(), &path("/secret-de-a")).await.unwrap().unwrap();
        assert!(c.db().item_by_uuid(&b.scope(), item.uuid).await.unwrap().is_none());
        assert_eq!(c.db().lineage(&b.scope(), &path("/secret-de-a")).await.unwrap().len(), 1, "only b's root");
    }

    async fn subtree_moves_rewrite_every_path(db) {
        let s = db.site("s").await;
        db.add(&s, "", "Folder", serde_json::json!({"title": "A"})).await;
        db.add(&s, "/a", "Folder", serde_json::json!({"title": "B"})).await;
        db.add(&s, "/a/b", "Document", serde_json::json!({"title": "C"})).await;
        db.add(&s, "", "Folder", serde_json::json!({"title": "AB"})).await;
        db.add(&s, "/ab", "Document", serde_json::json!({"title": "Other"})).await;
        db.add(&s, "", "Folder", serde_json::json!({"title": "Target"})).await;
        db.services.move_item(&beffroi_model::security::Principal::System, &s, &path("/a"), &path("/target")).await.unwrap();
        let mut c = db.services.store().conn().await.unwrap();
        for p in ["/target/a", "/target/a/b", "/target/a/b/c", "/ab", "/ab/other"] {
            assert!(c.db().item_by_path(&s.scope(), &path(p)).await.unwrap().is_some(), "{p} missing");
        }
        for p in ["/a", "/a/b", "/a/b/c"] {
            assert!(c.db().item_by_path(&s.scope(), &path(p)).await.unwrap().is_none(), "{p} still there");
        }
        assert_eq!(c.db().count_descendants(&s.scope(), &path("/target")).await.unwrap(), 3);
        assert_eq!(
            c.db().find_redirect(&s.scope(), &path("/a/b/c")).await.unwrap().unwrap().as_str(),
            "/target/a/b/c"
        );
        assert!(c.db().find_redirect(&s.scope(), &path("/ab/x")).await.unwrap().is_none(), "no prefix confusion");
    }
}

/// Beffroi's PostgreSQL connections cost random reads as PostgreSQL advises for SSDs
/// (the test server leaves the setting at its default); a value the administrator set
/// is kept.
#[tokio::test]
async fn postgres_connections_cost_random_reads_as_on_ssd_unless_set() {
    let Some(db) = crate::support::TestDb::postgres().await else { return };
    let show = |store: Store| async move {
        let mut c = store.conn().await.unwrap();
        let beffroi_store::Db::Postgres(pg) = c.db() else { unreachable!() };
        let v: String = sqlx::query_scalar("show random_page_cost").fetch_one(&mut *pg).await.unwrap();
        drop(c);
        store.close().await;
        v
    };
    assert_eq!(show(Store::open(&db.url, &StoreOptions::default()).await.unwrap()).await, "1.1");
    let mut c = db.services.store().conn().await.unwrap();
    let beffroi_store::Db::Postgres(pg) = c.db() else { unreachable!() };
    let name: String = sqlx::query_scalar("select current_database()").fetch_one(&mut *pg).await.unwrap();
    // The name is the test database's own, made by the test support.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("alter database \"{name}\" set random_page_cost = 2")))
        .execute(&mut *pg)
        .await
        .unwrap();
    drop(c);
    assert_eq!(show(Store::open(&db.url, &StoreOptions::default()).await.unwrap()).await, "2");
    db.cleanup().await;
}

/// SQLite runs without planner statistics (gathered while a site is small, they
/// mislead the planner once it has grown): those an earlier version left are removed
/// when the database is opened.
#[tokio::test]
async fn sqlite_forgets_old_planner_statistics_when_opened() {
    let db = crate::support::TestDb::sqlite().await;
    let stats = |store: Store| async move {
        let mut c = store.conn().await.unwrap();
        let beffroi_store::Db::Sqlite(lite) = c.db() else { unreachable!() };
        let n: i64 = sqlx::query_scalar("select count(*) from sqlite_stat1").fetch_one(&mut *lite).await.unwrap();
        drop(c);
        store.close().await;
        n
    };
    let before = Store::open(&db.url, &StoreOptions::default()).await.unwrap();
    let mut c = before.conn().await.unwrap();
    let beffroi_store::Db::Sqlite(lite) = c.db() else { unreachable!() };
    sqlx::raw_sql("analyze").execute(&mut *lite).await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from sqlite_stat1").fetch_one(&mut *lite).await.unwrap();
    assert!(n > 0, "analyze gathers statistics");
    drop(c);
    before.close().await;
    assert_eq!(stats(Store::open(&db.url, &StoreOptions::default()).await.unwrap()).await, 0);
    db.cleanup().await;
}
