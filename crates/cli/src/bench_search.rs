//! `beffroi bench --search`: the catalog at scale. Creates a site of generated French
//! and Dutch pages (~300 words each, words drawn from a skewed vocabulary as in real
//! text) through the service, so every page is indexed in its own transaction, on a
//! realistic site: pages of several owners, a fifth of them private or pending, some
//! outside their publication window, folders shared with groups (`--all-public` makes
//! the old best case, every page public). Then times a full reindex and two-word
//! queries as an anonymous visitor, a member of a group a share names and a Manager
//! (the security filter and the publication window included), in process, one after
//! the other.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use beffroi_model::security::{Grantee, Principal, Role};
use beffroi_model::{ItemPath, Language, SiteId};
use beffroi_service::{
    Blobs, CatalogQuery, NewSite, NewUser, Secret, Services, SharingChange, StoreOptions, TransitionRequest, with_text,
};
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
    /// What the pages were made as (see [`Corpus`]); empty when the site was reused.
    pub corpus: String,
    /// Per reader: who, then typical and frequent-word queries.
    pub readers: Vec<(&'static str, QueryStats, QueryStats)>,
}

/// The readers the queries run as: anonymous, a member of a group one of the site's
/// shares names (and nothing else), and a Manager (who sees every page, in its window
/// or not).
const MEMBER: &str = "agent";
const MANAGER: &str = "gestionnaire";
/// The users who write the pages, two per folder, each the Owner of what they wrote.
const WRITERS: usize = 8;
/// The groups folders are shared with (as Reader); the member is in the first.
const GROUPS: [&str; 3] = ["urbanisme", "finances", "population"];
const FUTURE: &str = "2099-01-01T00:00:00+00:00";
const PAST: &str = "2001-01-01T00:00:00+00:00";

/// What becomes of a page after it is made.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Fate {
    Published,
    /// Published with an expiry date still to come: seen by everyone, but not marked
    /// as such in the index (a marked page may not expire), so checked one by one.
    PublishedUntil,
    Private,
    Pending,
    /// Published, effective in 2099.
    NotYet,
    /// Published, expired in 2001.
    Expired,
}

/// The shares of a realistic site (the rest published for good): 20% private or
/// pending, 5% outside their publication window, 5% with a future expiry date.
fn fate(u: f64) -> Fate {
    match u {
        u if u < 0.70 => Fate::Published,
        u if u < 0.82 => Fate::Private,
        u if u < 0.90 => Fate::Pending,
        u if u < 0.925 => Fate::NotYet,
        u if u < 0.95 => Fate::Expired,
        _ => Fate::PublishedUntil,
    }
}

/// Which site the bench makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Corpus {
    /// Pages of several owners in several states and windows, folders shared with
    /// groups (see [`fate`]).
    Realistic,
    /// Every page public (one-state workflow, no dates): the security filter and the
    /// publication window exclude nothing. The best case, kept for comparison.
    AllPublic,
}

async fn new_user(services: &Services, site: &beffroi_service::SiteRow, login: &str, roles: Vec<Role>) -> Result<()> {
    let new = NewUser {
        login: beffroi_model::Login::parse(login)?,
        password: Secret("mot de passe du banc d'essai".into()),
        fullname: login.to_owned(),
        email: String::new(),
        roles,
    };
    Ok(services.create_user(&Principal::System, site, new).await?)
}

/// Grants `roles` on `path` to one user or group, as the system.
async fn share(
    services: &Services,
    site: &beffroi_service::SiteRow,
    path: &ItemPath,
    who: Grantee,
    role: Role,
) -> Result<()> {
    let change = SharingChange { entries: vec![(who, vec![(role, true)])], inherit: None };
    Ok(services.update_sharing(&Principal::System, site, path, change).await?)
}

pub async fn run(
    backend: &'static str,
    url: &str,
    blobs: &Path,
    args: &crate::cli::BenchArgs,
    reuse: bool,
) -> Result<SearchReport> {
    let (items, queries) = (args.items, args.queries);
    let corpus = if args.all_public { Corpus::AllPublic } else { Corpus::Realistic };
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
    for g in GROUPS {
        services.create_group(&system, &site, g, g, vec![]).await?;
    }
    let writers: Vec<String> = (0..WRITERS).map(|i| format!("redacteur{i}")).collect();
    for w in &writers {
        new_user(services, &site, w, vec![]).await?;
    }
    new_user(services, &site, MEMBER, vec![]).await?;
    services.add_member(&system, &site, GROUPS[0], MEMBER).await?;
    new_user(services, &site, MANAGER, vec![Role::Manager]).await?;
    if corpus == Corpus::AllPublic {
        // Pages published from the start (one-state workflow).
        services.set_chain(&system, &site, "Document", Some("one_state"), &BTreeMap::new()).await?;
    }
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
        services.transition(&system, &site, &f.path, "publish", TransitionRequest::default()).await?;
        // Each folder has two writers; four are shared with a group (two with the
        // member's), whose members see what is private or pending there.
        for w in [i % WRITERS, (i + 3) % WRITERS] {
            share(services, &site, &f.path, Grantee::User(writers[w].clone()), Role::Contributor).await?;
        }
        if let Some(g) = [GROUPS[0], GROUPS[0], GROUPS[1], GROUPS[2]].get(i) {
            share(services, &site, &f.path, Grantee::Group((*g).to_owned()), Role::Reader).await?;
        }
        folders.push(f.path);
    }
    let mut authors = Vec::new();
    for w in &writers {
        authors.push(services.principal(&site, w).await?.context("a writer")?);
    }
    eprintln!("[{backend}] creating {items} pages of ~300 words…");
    // The fates have their own generator: the texts are those of the all-public corpus.
    let mut fates = Rng(0x5eed_beff_0002);
    let mut made: BTreeMap<Fate, u32> = BTreeMap::new();
    let started = Instant::now();
    for n in 0..items {
        let dutch = n % 3 == 2;
        let vocab = if dutch { &nl } else { &fr };
        let title = format!("{} {} {n}", vocab[skewed(&mut rng, 400)], vocab[skewed(&mut rng, 400)]);
        let mut values = json!({
            "title": title,
            "description": text(&mut rng, vocab, 20).replace("<p>", "").replace("</p>", ""),
            "language": if dutch { "nl" } else { "fr" },
            "text": {"content-type": "text/html", "data": text(&mut rng, vocab, 280)},
        });
        let folder = n as usize % folders.len();
        if corpus == Corpus::AllPublic {
            services.create(&system, &site, &folders[folder], "Document", None, &crate::bench::obj(values)).await?;
        } else {
            let page = fate(fates.unit());
            match page {
                Fate::NotYet => values["effective"] = FUTURE.into(),
                Fate::Expired => values["expires"] = PAST.into(),
                Fate::PublishedUntil => values["expires"] = FUTURE.into(),
                _ => {}
            }
            let author = &authors[[folder % WRITERS, (folder + 3) % WRITERS][(n as usize / folders.len()) % 2]];
            let p =
                services.create(author, &site, &folders[folder], "Document", None, &crate::bench::obj(values)).await?;
            let transition = match page {
                Fate::Private => None,
                Fate::Pending => Some("submit"),
                _ => Some("publish"),
            };
            if let Some(t) = transition {
                services.transition(&system, &site, &p.path, t, TransitionRequest::default()).await?;
            }
            *made.entry(page).or_default() += 1;
        }
        if n > 0 && n % 10_000 == 0 {
            eprintln!("[{backend}]   {n} pages, {:.0}/s", n as f64 / started.elapsed().as_secs_f64());
        }
    }
    let create_per_s = items as f64 / started.elapsed().as_secs_f64();
    let corpus = match corpus {
        Corpus::AllPublic => "all public (best case)".to_owned(),
        Corpus::Realistic => made.iter().map(|(f, n)| format!("{f:?} {n}")).collect::<Vec<_>>().join(", "),
    };
    eprintln!("[{backend}] created and indexed {items} pages at {create_per_s:.0}/s ({corpus}); reindexing…");
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
    report.corpus = corpus;
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
    // Two-word queries: "typical" ones of words of middling frequency (what people
    // look for: a few percent of pages hold each), and "frequent" ones of two of the 80
    // commonest words (half the pages or more: the worst case). The same queries for
    // each reader, 20 untimed first.
    let mut lists: Vec<Vec<String>> = Vec::new();
    for (lo, hi) in [(80usize, 1500usize), (0, 80)] {
        let list = (0..queries + 20)
            .map(|i| {
                let vocab = if i % 3 == 2 { nl } else { fr };
                let mut pick = || vocab[lo + (rng.next() as usize) % (hi - lo)].clone();
                format!("{} {}", pick(), pick())
            })
            .collect();
        lists.push(list);
    }
    let member = services.principal(site, MEMBER).await?.context("no group member on the site")?;
    let manager = services.principal(site, MANAGER).await?.context("no Manager on the site")?;
    let mut readers = Vec::new();
    for (who, actor) in [("anonymous", Principal::Anonymous), ("group member", member), ("Manager", manager)] {
        let mut kinds = Vec::new();
        for list in &lists {
            let mut lat = Vec::with_capacity(queries);
            let mut hits = 0i64;
            for (i, q) in list.iter().enumerate() {
                let mut cq = with_text(CatalogQuery::default(), q);
                cq.limit = 25;
                let t = Instant::now();
                let page = services.search(&actor, site, cq).await?;
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
        let frequent = kinds.remove(1);
        readers.push((who, kinds.remove(0), frequent));
    }
    Ok(SearchReport {
        backend: "",
        items: 0,
        create_per_s: 0.0,
        reindex_s: 0.0,
        reindexed: 0,
        queries,
        corpus: String::new(),
        readers,
    })
}

pub struct QueryStats {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_hits: f64,
}

pub fn print(reports: &[SearchReport]) {
    println!();
    println!("beffroi bench --search: two-word queries, 25 results by relevance with the total, in process");
    for r in reports {
        let reindex = match r.reindexed {
            0 => "—".to_owned(),
            n => format!("{:.1} s ({:.0} items/s)", r.reindex_s, n as f64 / r.reindex_s),
        };
        println!(
            "{}: {} pages ({}), made at {:.0}/s, reindex {reindex}, {} queries of each kind per reader",
            r.backend,
            r.items,
            if r.corpus.is_empty() { "the site of an earlier run" } else { &r.corpus },
            r.create_per_s,
            r.queries
        );
    }
    println!("| backend | reader | typical: hits, p50, p99 ms | frequent words: hits, p50, p99 ms |");
    println!("| --- | --- | ---: | ---: |");
    for r in reports {
        for (who, typical, frequent) in &r.readers {
            println!(
                "| {} | {who} | {:.0}, {:.2}, {:.2} | {:.0}, {:.2}, {:.2} |",
                r.backend,
                typical.mean_hits,
                typical.p50_ms,
                typical.p99_ms,
                frequent.mean_hits,
                frequent.p50_ms,
                frequent.p99_ms
            );
        }
    }
}
