//! `beffroi bench --sites N`: one deployment holding many communes on PostgreSQL.
//! Creates N sites of 200 published pages each (10 folders of 19 pages), starts the
//! server as its own process, and spreads page views and searches over every site;
//! reports the server's start time, its memory (RSS) after each scenario and at its
//! peak, and requests/s with p50/p99.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use beffroi_model::security::Principal;
use beffroi_model::{ItemPath, Language, SiteId};
use beffroi_service::{Blobs, NewSite, Services, SiteRow, StoreOptions, TransitionRequest};
use beffroi_store::pg_admin;
use futures_util::StreamExt;
use serde_json::json;

use crate::bench::{Server, WORDS, done_with_database, free_port, load_spread, obj, request_bytes, status_kb};
use crate::cli::BenchArgs;

/// Folders per site, pages per folder: 10 + 190 = 200 items.
const FOLDERS: u32 = 10;
const PAGES_PER_FOLDER: u32 = 19;

/// Sites created at once while seeding.
const SEEDING_AT_ONCE: usize = 4;

fn site_id(n: u32) -> String {
    format!("c{n:04}")
}

async fn seed_site(services: &Services, n: u32) -> Result<()> {
    let system = Principal::System;
    let site: SiteRow = services
        .create_site(
            &system,
            NewSite {
                id: SiteId::parse(&site_id(n))?,
                title: format!("Commune {n}"),
                language: Language::Fr,
                hosts: vec![],
                time_zone: Default::default(),
            },
        )
        .await?;
    let publish = |path: ItemPath| {
        let site = site.clone();
        async move { services.transition(&Principal::System, &site, &path, "publish", TransitionRequest::default()).await }
    };
    for a in 0..FOLDERS {
        let folder = services
            .create(&system, &site, &ItemPath::root(), "Folder", None, &obj(json!({"title": format!("Quartier {a}")})))
            .await?;
        publish(folder.path.clone()).await?;
        for p in 0..PAGES_PER_FOLDER {
            let made = a * PAGES_PER_FOLDER + p;
            let words: Vec<&str> =
                (0..12).map(|w| WORDS[(made as usize * 7 + w * 13 + n as usize) % WORDS.len()]).collect();
            let page = services
                .create(
                    &system,
                    &site,
                    &folder.path,
                    "Document",
                    None,
                    &obj(json!({
                        "title": format!("Avis numéro {made}"),
                        "description": "Avis à la population de la commune.",
                        "text": {"content-type": "text/html", "data": format!("<p>{}</p>", words.join(" "))},
                    })),
                )
                .await?;
            publish(page.path).await?;
        }
    }
    Ok(())
}

/// The sites already made by an earlier run (`--reuse`), else none.
async fn existing_sites(services: &Services) -> Result<u32> {
    Ok(services.list_sites().await?.iter().filter(|s| s.id.as_str().starts_with('c')).count() as u32)
}

pub async fn run(args: &BenchArgs) -> Result<()> {
    let sites = args.sites.unwrap_or(1000);
    let Some(admin) = &args.postgres else {
        bail!("--sites measures a deployment on PostgreSQL: pass --postgres URL (or set BEFFROI_BENCH_POSTGRES)");
    };
    let (url, made_here) = if args.reuse {
        (admin.clone(), None)
    } else {
        let name = format!("beffroi_sites_{}", std::process::id());
        let url = pg_admin::create_database(admin, &name).await.context("cannot create the bench database")?;
        (url, Some(name))
    };
    let data = std::env::temp_dir().join(format!("beffroi-bench-sites-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let result = measure(&url, &data, sites, args).await;
    let _ = std::fs::remove_dir_all(&data);
    if let Some(name) = made_here {
        done_with_database(admin, &name, args.keep).await?;
    }
    result
}

async fn measure(url: &str, data: &std::path::Path, sites: u32, args: &BenchArgs) -> Result<()> {
    let services = Services::open(url, &StoreOptions::default(), Blobs::local(&data.join("blobs"))?).await?;
    let services = beffroi_web::assemble(services, crate::apps::APPS)?;
    services.reconcile_workflows().await?;
    let already = existing_sites(&services).await?;
    if already < sites {
        let t = Instant::now();
        eprintln!("[sites] creating sites {already}..{sites} of 200 pages each…");
        let done = std::sync::atomic::AtomicU32::new(already);
        let mut seeding = futures_util::stream::iter(already..sites)
            .map(|n| {
                let (services, done) = (&services, &done);
                async move {
                    seed_site(services, n).await?;
                    let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    if d % 50 == 0 {
                        eprintln!("[sites] {d} sites, {:.0} s", t.elapsed().as_secs_f64());
                    }
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(SEEDING_AT_ONCE);
        while let Some(r) = seeding.next().await {
            r?;
        }
        let items = u64::from(sites - already) * 200;
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "[sites] created {} sites ({items} items) in {secs:.0} s ({:.0} items/s)",
            sites - already,
            items as f64 / secs
        );
    }
    services.close().await;
    drop(services);

    let addr = free_port()?;
    let log = std::fs::File::create(data.join("server.log"))?;
    let started = Instant::now();
    let child = std::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--listen", &addr.to_string(), "--database", url, "--data"])
        .arg(data)
        .env("BEFFROI_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start the server")?;
    let server = Server(child);
    let pid = server.0.id();
    let probe = request_bytes(&format!("/{}/quartier-0/avis-numero-0", site_id(0)), "text/html", false);
    let start_ms = loop {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the server did not answer within 60 s");
        }
        if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
            let mut buf = Vec::new();
            if let Ok(200) = crate::bench::exchange(&mut s, &probe, &mut buf).await {
                break started.elapsed().as_secs_f64() * 1000.0;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let rss = |field| status_kb(pid, field).unwrap_or(0) as f64 / 1024.0;
    eprintln!("[sites] server answered {start_ms:.0} ms after start, RSS {:.1} MB", rss("VmRSS:"));

    // Addresses over every site, in an order that jumps from site to site.
    let mut state = 0x2545_f491_u64;
    let mut next = |n: u32| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) % u64::from(n)) as u32
    };
    let plain: Vec<&str> = WORDS.iter().copied().filter(|w| w.is_ascii()).collect();
    let mut pages = Vec::new();
    let mut searches = Vec::new();
    for _ in 0..50_000 {
        let (s, a, p) = (next(sites), next(FOLDERS), next(PAGES_PER_FOLDER));
        pages.push(format!("/{}/quartier-{a}/avis-numero-{}", site_id(s), a * PAGES_PER_FOLDER + p));
        let word = plain[next(plain.len() as u32) as usize];
        searches.push(format!("/{}/@@search?SearchableText={word}", site_id(next(sites))));
    }
    let scenarios: [(&str, &[String], bool); 3] = [
        ("page view, any site, made", &pages, false),
        ("page view, any site, page cache", &pages, true),
        ("search, any site", &searches, false),
    ];
    println!();
    println!("| {sites} sites × 200 pages (PostgreSQL) | req/s | p50 | p99 | errors | RSS after |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, paths, cached) in scenarios {
        let requests: Arc<Vec<Vec<u8>>> =
            Arc::new(paths.iter().map(|p| request_bytes(p, "text/html", cached)).collect());
        load_spread(addr, requests.clone(), args.connections, Duration::from_secs(1)).await?;
        let m = load_spread(addr, requests, args.connections, Duration::from_secs(args.duration)).await?;
        if m.requests == 0 {
            bail!("{name}: no successful response");
        }
        println!(
            "| {name} | {:.0} | {:.2} ms | {:.2} ms | {} | {:.1} MB |",
            m.requests as f64 / m.seconds,
            m.p50_us as f64 / 1000.0,
            m.p99_us as f64 / 1000.0,
            m.errors,
            rss("VmRSS:")
        );
    }
    println!();
    println!(
        "Start to first page: {start_ms:.0} ms. Server RSS now {:.1} MB, peak {:.1} MB.",
        rss("VmRSS:"),
        rss("VmHWM:")
    );
    Ok(())
}
