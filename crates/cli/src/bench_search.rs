//! `beffroi bench --search`: the catalog at scale. Creates a site of generated French
//! and Dutch pages (~300 words each, words drawn from a skewed vocabulary as in real
//! text) through the service, so every page is indexed in its own transaction; then
//! times a full reindex and two-word queries as an anonymous visitor (the security
//! filter and the publication window included), in process, one after the other.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use beffroi_model::security::Principal;
use beffroi_model::{ItemPath, Language, SiteId};
use beffroi_service::{Blobs, CatalogQuery, NewSite, Services, StoreOptions, with_text};
use serde_json::json;

/// French words beyond the page bench's twenty.
const FR_MORE: &[&str] = &[
    "bibliothèque",
    "crèche",
    "enfant",
    "parent",
    "sport",
    "piscine",
    "marché",
    "fête",
    "village",
    "église",
    "parc",
    "arbre",
    "jardin",
    "déchet",
    "collecte",
    "recyclage",
    "eau",
    "égout",
    "route",
    "chantier",
    "stationnement",
    "vélo",
    "bus",
    "train",
    "gare",
    "police",
    "pompier",
    "sécurité",
    "santé",
    "médecin",
    "hôpital",
    "aîné",
    "logement",
    "loyer",
    "impôt",
    "taxe",
    "redevance",
    "subside",
    "association",
    "bénévole",
    "jeunesse",
    "emploi",
    "entreprise",
    "commerce",
    "tourisme",
    "patrimoine",
    "musée",
    "théâtre",
    "concert",
    "exposition",
    "mariage",
    "naissance",
    "décès",
    "population",
    "registre",
    "passeport",
    "identité",
    "carte",
    "document",
    "formulaire",
];
const NL: &[&str] = &[
    "gemeente",
    "raad",
    "college",
    "besluit",
    "zitting",
    "straat",
    "werken",
    "school",
    "burger",
    "dienst",
    "vergunning",
    "stedenbouw",
    "begroting",
    "onderzoek",
    "openbaar",
    "advies",
    "reglement",
    "wegen",
    "milieu",
    "cultuur",
    "bibliotheek",
    "kinderopvang",
    "kind",
    "ouder",
    "sport",
    "zwembad",
    "markt",
    "feest",
    "dorp",
    "kerk",
    "park",
    "boom",
    "tuin",
    "afval",
    "ophaling",
    "recyclage",
    "water",
    "riolering",
    "weg",
    "bouwwerf",
    "parkeren",
    "fiets",
    "bus",
    "trein",
    "station",
    "politie",
    "brandweer",
    "veiligheid",
    "gezondheid",
    "dokter",
    "ziekenhuis",
    "senior",
    "woning",
    "huur",
    "belasting",
    "taks",
    "retributie",
    "subsidie",
    "vereniging",
    "vrijwilliger",
];
const SYLLABLES: &[&str] = &[
    "ba", "ver", "lo", "mi", "tan", "ré", "gon", "pu", "del", "sa", "qui", "nor", "ta", "bel", "vi", "zo", "mar", "ken",
];

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A vocabulary: the real words first (the frequent ones), then made-up rare words.
fn vocabulary(real: &[&str], size: usize) -> Vec<String> {
    let mut v: Vec<String> = real.iter().map(|w| (*w).to_owned()).collect();
    let mut i = 0usize;
    while v.len() < size {
        let a = SYLLABLES[i % SYLLABLES.len()];
        let b = SYLLABLES[(i / SYLLABLES.len()) % SYLLABLES.len()];
        let c = SYLLABLES[(i / (SYLLABLES.len() * SYLLABLES.len())) % SYLLABLES.len()];
        v.push(format!("{a}{b}{c}"));
        i += 1;
    }
    v
}

/// A word index skewed toward the start, roughly as word frequencies are.
fn skewed(rng: &mut Rng, len: usize) -> usize {
    ((rng.unit().powi(3)) * len as f64) as usize % len
}

fn text(rng: &mut Rng, vocab: &[String], words: usize) -> String {
    let mut s = String::from("<p>");
    for i in 0..words {
        s.push_str(&vocab[skewed(rng, vocab.len())]);
        s.push(if i % 20 == 19 { '.' } else { ' ' });
        if i % 100 == 99 {
            s.push_str("</p><p>");
        }
    }
    s.push_str("</p>");
    s
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

pub struct SearchReport {
    pub backend: &'static str,
    pub items: u32,
    pub create_per_s: f64,
    pub reindex_s: f64,
    pub reindexed: u64,
    pub queries: usize,
    pub typical: QueryStats,
    pub frequent: QueryStats,
}

pub async fn run(
    backend: &'static str,
    url: &str,
    blobs: &Path,
    args: &crate::cli::BenchArgs,
    reuse: bool,
) -> Result<SearchReport> {
    let (items, queries) = (args.items, args.queries);
    let open = || async {
        let services = Services::open(url, &StoreOptions::default(), Blobs::local(blobs)?).await?;
        let services = beffroi_web::assemble(services, crate::apps::APPS)?;
        services.reconcile_workflows().await?;
        anyhow::Ok(services)
    };
    let services = &open().await?;
    let system = Principal::System;
    let fr_words: Vec<&str> = crate::bench::WORDS.iter().chain(FR_MORE).copied().collect();
    let fr = vocabulary(&fr_words, 5000);
    let nl = vocabulary(NL, 5000);
    let mut rng = Rng(0x5eed_beff_0001);
    if reuse {
        let site = services.site(&SiteId::parse("recherche")?).await?.context("no site made by an earlier run")?;
        let mut report = queries_on(services, &site, queries, &fr, &nl, &mut rng).await?;
        services.close().await;
        report.backend = backend;
        return Ok(report);
    }
    let site = services
        .create_site(
            &system,
            NewSite {
                id: SiteId::parse("recherche")?,
                title: "Recherche".into(),
                language: Language::Fr,
                hosts: vec![],
                time_zone: Default::default(),
            },
        )
        .await?;
    // Pages published from the start (one-state workflow): the bench measures indexing,
    // not publishing.
    services.set_chain(&system, &site, "Document", Some("one_state"), &BTreeMap::new()).await?;
    let mut folders = Vec::new();
    for i in 0..20 {
        let f = services
            .create(
                &system,
                &site,
                &ItemPath::root(),
                "Folder",
                None,
                &crate::bench::obj(json!({"title": format!("Rubrique {i}")})),
            )
            .await?;
        services.transition(&system, &site, &f.path, "publish", beffroi_service::TransitionRequest::default()).await?;
        folders.push(f.path);
    }
    eprintln!("[{backend}] creating {items} pages of ~300 words…");
    let started = Instant::now();
    for n in 0..items {
        let dutch = n % 3 == 2;
        let vocab = if dutch { &nl } else { &fr };
        let title = format!("{} {} {n}", vocab[skewed(&mut rng, 400)], vocab[skewed(&mut rng, 400)]);
        let values = json!({
            "title": title,
            "description": text(&mut rng, vocab, 20).replace("<p>", "").replace("</p>", ""),
            "language": if dutch { "nl" } else { "fr" },
            "text": {"content-type": "text/html", "data": text(&mut rng, vocab, 280)},
        });
        services
            .create(&system, &site, &folders[n as usize % folders.len()], "Document", None, &crate::bench::obj(values))
            .await?;
        if n > 0 && n % 10_000 == 0 {
            eprintln!("[{backend}]   {n} pages, {:.0}/s", n as f64 / started.elapsed().as_secs_f64());
        }
    }
    let create_per_s = items as f64 / started.elapsed().as_secs_f64();
    eprintln!("[{backend}] created and indexed {items} pages at {create_per_s:.0}/s; reindexing…");
    services.close().await;
    let (n, reindex_s) = if args.no_reindex {
        (0, 0.0)
    } else {
        // Timed as an operator runs it: the `beffroi reindex` command, in a process
        // of its own.
        let t = Instant::now();
        let out = std::process::Command::new(std::env::current_exe()?)
            .args(["reindex", "--site", "recherche", "--database", url, "--blobs"])
            .arg(blobs)
            .arg("--data")
            .arg(blobs.parent().unwrap_or(blobs))
            .stderr(std::process::Stdio::inherit())
            .output()
            .context("cannot run beffroi reindex")?;
        let reindex_s = t.elapsed().as_secs_f64();
        let said = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!("beffroi reindex failed: {said}");
        }
        let n: u64 =
            said.split_whitespace().next().and_then(|w| w.parse().ok()).context("unexpected reindex output")?;
        eprintln!("[{backend}] reindexed {n} items in {reindex_s:.1} s ({:.0}/s)", n as f64 / reindex_s);
        (n, reindex_s)
    };
    let services = &open().await?;
    let mut report = queries_on(services, &site, queries, &fr, &nl, &mut rng).await?;
    services.close().await;
    report.backend = backend;
    report.items = items;
    report.create_per_s = create_per_s;
    report.reindex_s = reindex_s;
    report.reindexed = n;
    Ok(report)
}

async fn queries_on(
    services: &Services,
    site: &beffroi_service::SiteRow,
    queries: usize,
    fr: &[String],
    nl: &[String],
    rng: &mut Rng,
) -> Result<SearchReport> {
    // Two-word queries as a visitor: "typical" ones of words of middling frequency
    // (what people look for: a few percent of pages hold each), and "frequent" ones of
    // two of the 80 commonest words (half the pages or more: the worst case).
    let anon = Principal::Anonymous;
    let mut kinds = Vec::new();
    for (lo, hi) in [(80usize, 1500usize), (0, 80)] {
        let mut lat = Vec::with_capacity(queries);
        let mut hits = 0i64;
        for i in 0..queries + 20 {
            let vocab = if i % 3 == 2 { nl } else { fr };
            let mut pick = || &vocab[lo + (rng.next() as usize) % (hi - lo)];
            let q = format!("{} {}", pick(), pick());
            let mut cq = with_text(CatalogQuery::default(), &q);
            cq.limit = 25;
            let t = Instant::now();
            let page = services.search(&anon, site, cq).await?;
            if i >= 20 {
                lat.push(t.elapsed());
                hits += page.total;
            }
        }
        if lat.is_empty() {
            bail!("no query ran");
        }
        lat.sort_unstable();
        kinds.push(QueryStats {
            p50_ms: pct(&lat, 0.50),
            p99_ms: pct(&lat, 0.99),
            mean_hits: hits as f64 / queries as f64,
        });
    }
    Ok(SearchReport {
        backend: "",
        items: 0,
        create_per_s: 0.0,
        reindex_s: 0.0,
        reindexed: 0,
        queries,
        typical: kinds.remove(0),
        frequent: kinds.remove(0),
    })
}

pub struct QueryStats {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_hits: f64,
}

pub fn print(reports: &[SearchReport]) {
    println!();
    println!(
        "beffroi bench --search: two-word queries as an anonymous visitor, 25 results by relevance with the total, in process"
    );
    println!(
        "| backend | pages | create+index /s | reindex s (items/s) | queries | typical: hits, p50, p99 ms | frequent words: hits, p50, p99 ms |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in reports {
        let reindex = match r.reindexed {
            0 => "—".to_owned(),
            n => format!("{:.1} ({:.0})", r.reindex_s, n as f64 / r.reindex_s),
        };
        println!(
            "| {} | {} | {:.0} | {} | {} | {:.0}, {:.2}, {:.2} | {:.0}, {:.2}, {:.2} |",
            r.backend,
            r.items,
            r.create_per_s,
            reindex,
            r.queries,
            r.typical.mean_hits,
            r.typical.p50_ms,
            r.typical.p99_ms,
            r.frequent.mean_hits,
            r.frequent.p50_ms,
            r.frequent.p99_ms
        );
    }
}
