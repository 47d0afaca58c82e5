//! A workflow transition and a sharing change on a folder with 1,000 descendants on
//! SQLite (target for the transition: ≤ 50 ms). First the documents below have states
//! of their own; then Documents follow no workflow on the site, so all 1,000 acquire
//! their permissions from the folder and every transition rewrites their viewers.

use std::sync::atomic::{AtomicBool, Ordering};

use beffroi_model::security::{Grantee, Principal, Role};
use beffroi_model::{ItemPath, Login};
use beffroi_service::{NewUser, Secret, SharingChange, TransitionRequest};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

mod common;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sys = Principal::System;
    let (services, site) = rt.block_on(async {
        let (s, site) = common::site(dir.path()).await;
        let values = |t: String| json!({"title": t}).as_object().cloned().unwrap();
        s.create(&sys, &site, &ItemPath::root(), "Folder", None, &values("Dossier".into())).await.unwrap();
        let folder = ItemPath::parse("/dossier").unwrap();
        for i in 0..10 {
            let sub =
                s.create(&sys, &site, &folder, "Folder", None, &values(format!("Sous-dossier {i}"))).await.unwrap();
            for j in 0..99 {
                s.create(&sys, &site, &sub.path, "Document", None, &values(format!("Page {j}"))).await.unwrap();
            }
        }
        s.create(&sys, &site, &ItemPath::root(), "Folder", None, &values("Plat".into())).await.unwrap();
        let flat = ItemPath::parse("/plat").unwrap();
        for j in 0..1000 {
            s.create(&sys, &site, &flat, "Document", None, &values(format!("Avis {j}"))).await.unwrap();
        }
        let login = Login::parse("marie").unwrap();
        let new = NewUser {
            login,
            password: Secret("long password".into()),
            fullname: String::new(),
            email: String::new(),
            roles: vec![],
        };
        s.create_user(&sys, &site, new).await.unwrap();
        (s, site)
    });
    let folder = ItemPath::parse("/dossier").unwrap();
    let published = AtomicBool::new(false);
    c.bench_function("transition on a folder with 1,000 descendants (SQLite)", |b| {
        b.to_async(&rt).iter(|| async {
            let t = if published.fetch_xor(true, Ordering::Relaxed) { "retract" } else { "publish" };
            services.transition(&sys, &site, &folder, t, TransitionRequest::default()).await.unwrap()
        })
    });
    rt.block_on(services.set_chain(&sys, &site, "Document", None, &Default::default())).unwrap();
    let flat = ItemPath::parse("/plat").unwrap();
    let flat_published = AtomicBool::new(false);
    c.bench_function("transition on a folder with 1,000 documents that acquire from it (SQLite)", |b| {
        b.to_async(&rt).iter(|| async {
            let t = if flat_published.fetch_xor(true, Ordering::Relaxed) { "retract" } else { "publish" };
            services.transition(&sys, &site, &flat, t, TransitionRequest::default()).await.unwrap()
        })
    });
    let shared = AtomicBool::new(false);
    c.bench_function("sharing change on a folder with 1,000 private descendants (SQLite)", |b| {
        b.to_async(&rt).iter(|| async {
            let on = !shared.fetch_xor(true, Ordering::Relaxed);
            let change = SharingChange {
                entries: vec![(Grantee::User("marie".into()), vec![(Role::Reader, on)])],
                inherit: None,
            };
            services.update_sharing(&sys, &site, &folder, change).await.unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
