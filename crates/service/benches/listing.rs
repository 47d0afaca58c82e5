//! A permission-filtered listing of a 1,000-item folder on SQLite (target: ≤ 10 ms):
//! half the pages private, some shared with the reader through a group.

use beffroi_model::security::{Grantee, Principal, Role};
use beffroi_model::{ItemPath, Login};
use beffroi_service::{NewUser, Secret, SharingChange};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

mod common;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (services, site, reader) = rt.block_on(async {
        let (s, site) = common::site(dir.path()).await;
        let sys = Principal::System;
        let values = |t: String| json!({"title": t}).as_object().cloned().unwrap();
        s.create(&sys, &site, &ItemPath::root(), "Folder", None, &values("Dossier".into())).await.unwrap();
        let folder = ItemPath::parse("/dossier").unwrap();
        for i in 0..1000 {
            let p = s.create(&sys, &site, &folder, "Document", None, &values(format!("Page {i}"))).await.unwrap();
            if i % 2 == 0 {
                s.force_state(&sys, &site, &p.path, "private").await.unwrap();
            }
            if i % 10 == 0 {
                let share = SharingChange {
                    entries: vec![(Grantee::Group("lecteurs".into()), vec![(Role::Reader, true)])],
                    inherit: None,
                };
                if i == 0 {
                    s.create_group(&sys, &site, "lecteurs", "Lecteurs", vec![]).await.unwrap();
                }
                s.update_sharing(&sys, &site, &p.path, share).await.unwrap();
            }
        }
        let login = Login::parse("marie").unwrap();
        s.create_user(
            &sys,
            &site,
            NewUser {
                login,
                password: Secret("long password".into()),
                fullname: String::new(),
                email: String::new(),
                roles: vec![],
            },
        )
        .await
        .unwrap();
        s.add_member(&sys, &site, "lecteurs", "marie").await.unwrap();
        let reader = s.principal(&site, "marie").await.unwrap().unwrap();
        (s, site, reader)
    });
    let folder = rt.block_on(services.item(&Principal::System, &site, &ItemPath::parse("/dossier").unwrap())).unwrap();
    let n = rt.block_on(services.children(&reader, &site, &folder, 0, 1000)).unwrap().items.len();
    assert_eq!(n, 600, "500 public pages and the 100 private ones shared with the group");
    c.bench_function("listing of a 1,000-item folder, filtered for a group member (SQLite)", |b| {
        b.to_async(&rt).iter(|| async { services.children(&reader, &site, &folder, 0, 1000).await.unwrap() })
    });
    c.bench_function("listing of a 1,000-item folder, filtered for anonymous (SQLite)", |b| {
        b.to_async(&rt)
            .iter(|| async { services.children(&Principal::Anonymous, &site, &folder, 0, 1000).await.unwrap() })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
