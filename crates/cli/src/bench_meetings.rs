//! `beffroi bench --meetings`: the meetings application at a council's scale, through
//! the services and the real router in the process (server-side times, no network):
//!
//! - a service with `--items` items (most decided long ago, some waiting at its
//!   reviewers), and 300 more validated for one meeting;
//! - presenting the 300 (one use case each: numbered, referenced) and freezing the
//!   meeting (one use case taking 300 item transitions);
//! - the meeting's page (its 300-item agenda) in HTML and `@agenda` in JSON;
//! - the body's page of the service's agent ("my items") and of its head ("items to
//!   validate").

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::body::Body;
use axum::http::Request;
use beffroi_model::security::{Principal, Role};
use beffroi_model::{ItemPath, Language, Login, SiteId};
use beffroi_service::{Blobs, NewSite, NewUser, Secret, Services, SharingChange, StoreOptions, TransitionRequest};
use serde_json::json;
use tower::ServiceExt;

use crate::bench::obj;

const PASSWORD: &str = "mot de passe du banc d'essai";
/// Items on the meeting's agenda.
const AGENDA: usize = 300;
/// Requests timed per page.
const REQUESTS: usize = 200;

/// What one backend measured.
pub struct MeetingsReport {
    backend: &'static str,
    background: u32,
    seed: Duration,
    present: Duration,
    freeze: Duration,
    pages: Vec<(&'static str, Timing)>,
}

/// Median and 99th percentile of one page.
struct Timing {
    median: Duration,
    p99: Duration,
}

fn timing(mut samples: Vec<Duration>) -> Timing {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Timing { median: at(0.5), p99: at(0.99) }
}

async fn user(services: &Services, site: &beffroi_service::SiteRow, login: &str, groups: &[&str]) -> Result<()> {
    let new = NewUser {
        login: Login::parse(login)?,
        password: Secret(PASSWORD.into()),
        fullname: login.to_owned(),
        email: String::new(),
        roles: vec![Role::Member],
    };
    services.create_user(&Principal::System, site, new).await?;
    for g in groups {
        services.add_member(&Principal::System, site, g, login).await?;
    }
    Ok(())
}

/// Creates the site on `url` and measures; `background` items besides the agenda's.
pub async fn run(backend: &'static str, url: &str, blobs: &Path, background: u32) -> Result<MeetingsReport> {
    let services = Services::open(url, &StoreOptions::default(), Blobs::local(blobs)?).await?;
    let services = beffroi_web::assemble(services, crate::apps::APPS)?;
    services.migrate_apps().await?;
    services.reconcile_workflows().await?;
    let system = Principal::System;
    let started = Instant::now();
    let new = NewSite {
        id: SiteId::parse("seances")?,
        title: "Séances".into(),
        language: Language::Fr,
        hosts: vec![],
        time_zone: Default::default(),
    };
    let site = services.create_site(&system, new).await?;
    services.set_site_apps(&system, &site, &["meetings".into()], &[]).await?;
    let site = services.site(&site.id).await?.context("the site")?;
    let root = ItemPath::root();
    let org =
        services.create(&system, &site, &root, "Organisation", Some("org"), &obj(json!({"title": "Org"}))).await?;
    services.create(&system, &site, &org.path, "Service", Some("travaux"), &obj(json!({"title": "Travaux"}))).await?;
    user(&services, &site, "agent", &["travaux_creators"]).await?;
    user(&services, &site, "chef", &["travaux_reviewers"]).await?;
    user(&services, &site, "secretaire", &[]).await?;
    let body = services
        .create(
            &system,
            &site,
            &root,
            "Decision Body",
            Some("conseil"),
            &obj(json!({"title": "Conseil", "code": "CONS", "categories": "Travaux publics\nMobilité\nEnvironnement"})),
        )
        .await?;
    let manager = Role::parse("MeetingManager")?;
    let change = SharingChange {
        entries: vec![(beffroi_model::security::Grantee::User("secretaire".into()), vec![(manager, true)])],
        inherit: None,
    };
    services.update_sharing(&system, &site, &body.path, change).await?;
    let who = |login: &str| {
        let (services, site, login) = (&services, site.clone(), login.to_owned());
        async move { services.principal(&site, &login).await?.context("a bench user") }
    };
    let (agent, chef, secretaire) = (who("agent").await?, who("chef").await?, who("secretaire").await?);
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let meeting = services
        .create(
            &secretaire,
            &site,
            &body.path,
            "Meeting",
            Some("seance"),
            &obj(json!({"title": "Grande séance", "date": yesterday})),
        )
        .await?;
    let item = |i: usize, prefix: &str| {
        let category = ["Travaux publics", "Mobilité", "Environnement"][i % 3];
        obj(json!({
            "title": format!("{prefix} {i} — convention de travaux de voirie"),
            "proposing_group": "travaux",
            "category": category,
            "motivation": {"content-type": "text/html", "data": "<p>Vu le Code de la démocratie locale ;</p><p>Considérant le rapport du service ;</p>"},
            "decision": {"content-type": "text/html", "data": "<p>Décide d'approuver la convention.</p>"},
        }))
    };
    // The service's history: decided long ago, a twentieth waiting at its head.
    let progress = indicatif::ProgressBar::new(u64::from(background) + AGENDA as u64);
    for i in 0..background as usize {
        let it = services.create(&agent, &site, &body.path, "Meeting Item", None, &item(i, "Point")).await?;
        if i % 20 == 0 {
            services.transition(&agent, &site, &it.path, "propose", TransitionRequest::default()).await?;
        } else {
            services.force_state(&system, &site, &it.path, "accepted").await?;
        }
        progress.inc(1);
    }
    let mut agenda = Vec::new();
    for i in 0..AGENDA {
        let it = services.create(&agent, &site, &body.path, "Meeting Item", None, &item(i, "Ordre du jour")).await?;
        services.transition(&agent, &site, &it.path, "propose", TransitionRequest::default()).await?;
        services.transition(&chef, &site, &it.path, "validate", TransitionRequest::default()).await?;
        agenda.push(it.path);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let seed = started.elapsed();

    tracing::info!("bench: presenting");
    let t = Instant::now();
    for path in &agenda {
        services.transition(&secretaire, &site, path, "present", TransitionRequest::default()).await?;
    }
    let present = t.elapsed();
    tracing::info!("bench: presented");
    let t = Instant::now();
    services.transition(&secretaire, &site, &meeting.path, "freeze", TransitionRequest::default()).await?;
    let freeze = t.elapsed();

    let state =
        beffroi_web::AppState::load_apps(services.clone(), beffroi_web::WebOptions::default(), crate::apps::APPS)
            .await?;
    let router = beffroi_web::router(state);
    let session = |login: &'static str| {
        let router = router.clone();
        async move {
            let form = format!("login={login}&password={}", PASSWORD.replace(' ', "+").replace('\'', "%27"));
            let req = Request::post("/seances/@@login")
                .header("host", "localhost")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))?;
            let res = router.oneshot(req).await?;
            let cookie = res.headers().get("set-cookie").and_then(|v| v.to_str().ok()).context("no session")?;
            anyhow::Ok(cookie.split(';').next().unwrap_or_default().to_owned())
        }
    };
    let mut pages = Vec::new();
    let targets: [(&str, &str, &str, &str); 4] = [
        ("agenda, HTML (300 items)", "secretaire", "/seances/conseil/seance", "text/html"),
        ("agenda, JSON @agenda", "secretaire", "/seances/conseil/seance/@agenda", "application/json"),
        ("my items (agent)", "agent", "/seances/conseil", "text/html"),
        ("to validate (head)", "chef", "/seances/conseil", "text/html"),
    ];
    for (name, login, uri, accept) in targets {
        let cookie = session(login).await?;
        let mut samples = Vec::with_capacity(REQUESTS);
        for n in 0..REQUESTS + 10 {
            let req = Request::get(uri)
                .header("host", "localhost")
                .header("cookie", &cookie)
                .header("accept", accept)
                .body(Body::empty())?;
            let t = Instant::now();
            let res = router.clone().oneshot(req).await?;
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await?;
            let took = t.elapsed();
            if bytes.len() < 1000 {
                bail!("{name}: a short answer: {}", String::from_utf8_lossy(&bytes));
            }
            if n >= 10 {
                samples.push(took);
            }
        }
        pages.push((name, timing(samples)));
    }
    services.close().await;
    Ok(MeetingsReport { backend, background, seed, present, freeze, pages })
}

pub fn print(reports: &[MeetingsReport]) {
    println!("Meetings: an agenda of {AGENDA} items, a service with more (server-side, in process)\n");
    println!(
        "| backend | items in all | seed | present {AGENDA} (each a use case) | freeze (one use case, {AGENDA} transitions) |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for r in reports {
        println!(
            "| {} | {} | {:.1} s | {:.2} s ({:.1} ms each) | {:.2} s |",
            r.backend,
            r.background as usize + AGENDA,
            r.seed.as_secs_f64(),
            r.present.as_secs_f64(),
            r.present.as_secs_f64() * 1000.0 / AGENDA as f64,
            r.freeze.as_secs_f64()
        );
    }
    println!("\n| backend | page | median | p99 |");
    println!("| --- | --- | --- | --- |");
    for r in reports {
        for (name, t) in &r.pages {
            println!(
                "| {} | {name} | {:.1} ms | {:.1} ms |",
                r.backend,
                t.median.as_secs_f64() * 1000.0,
                t.p99.as_secs_f64() * 1000.0
            );
        }
    }
}
