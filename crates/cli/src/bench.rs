//! `beffroi bench`: builds a site of nested folders, starts the server as its own
//! process, drives it over loopback with a fixed number of keep-alive connections for
//! a fixed time, and prints requests/s, p50/p99 latency and the server's peak RSS, on
//! SQLite and, when given a server, on PostgreSQL.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use beffroi_model::security::Principal;
use beffroi_model::{ItemPath, Language, SiteId};
use beffroi_service::{Blobs, NewSite, Services, StoreOptions, TransitionRequest};
use beffroi_store::pg_admin;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cli::BenchArgs;

struct Scenario {
    name: &'static str,
    path: String,
    accept: &'static str,
    /// Whether the anonymous page cache may answer (the others ask for a fresh answer
    /// with `Cache-Control: no-cache`, so they measure the page being made).
    cached: bool,
}

pub(crate) struct Measure {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) seconds: f64,
    pub(crate) p50_us: u32,
    pub(crate) p99_us: u32,
}

struct Report {
    backend: &'static str,
    items: u32,
    seed_seconds: f64,
    first_response_ms: f64,
    peak_rss_mb: f64,
    rows: Vec<(&'static str, Measure)>,
    writes: Writes,
    upload: Upload,
}

/// A large file sent through the HTML add form (multipart), right after start.
struct Upload {
    mb: u64,
    seconds: f64,
    rss_before_mb: f64,
    rss_after_mb: f64,
}

/// The size of the file the upload scenario sends.
const UPLOAD_MB: u64 = 40;

const BENCH_PASSWORD: &str = "mot de passe du banc d'essai";

pub(crate) const WORDS: &[&str] = &[
    "commune",
    "conseil",
    "collège",
    "délibération",
    "séance",
    "rue",
    "travaux",
    "école",
    "citoyen",
    "service",
    "permis",
    "urbanisme",
    "budget",
    "enquête",
    "publique",
    "avis",
    "règlement",
    "voirie",
    "environnement",
    "culture",
];

/// The word the search scenario looks for, and in how many pages it is.
const SEARCH_WORD: &str = "carillon";
const SEARCH_HITS: u32 = 50;

fn body_text(n: u32) -> String {
    let mut s = String::from("<p>");
    for i in 0..300u32 {
        s.push_str(WORDS[((n.wrapping_mul(31)).wrapping_add(i * 7) as usize) % WORDS.len()]);
        s.push(if i % 25 == 24 { '.' } else { ' ' });
        if i % 100 == 99 {
            s.push_str("</p><p>");
        }
    }
    s.push_str("</p>");
    s
}

pub(crate) fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Creates site `bench`: 10 folders × 10 sub-folders, the pages spread among them.
/// Returns a page path and a folder path in the middle of the tree.
async fn seed(services: &Services, items: u32) -> Result<(String, String)> {
    let system = Principal::System;
    let site = services
        .create_site(
            &system,
            NewSite {
                id: SiteId::parse("bench")?,
                title: "Commune de Banc-d'Essai".into(),
                language: Language::Fr,
                hosts: vec![],
                time_zone: Default::default(),
            },
        )
        .await?;
    let per_leaf = items.div_ceil(100).max(1);
    // One page in every `rare`-th has the word of the search scenario in its title:
    // fifty hits whatever the size.
    let rare = (items / SEARCH_HITS).max(1);
    let mut made = 0;
    let (mut page, mut folder) = (String::new(), String::new());
    'outer: for a in 0..10 {
        let f = services
            .create(
                &system,
                &site,
                &ItemPath::root(),
                "Folder",
                None,
                &obj(json!({"title": format!("Quartier {a}"), "description": "Un quartier de la commune."})),
            )
            .await?;
        services.transition(&system, &site, &f.path, "publish", TransitionRequest::default()).await?;
        for b in 0..10 {
            let sub = services
                .create(
                    &system,
                    &site,
                    &f.path,
                    "Folder",
                    None,
                    &obj(json!({"title": format!("Rue {b}"), "description": "Une rue du quartier."})),
                )
                .await?;
            services.transition(&system, &site, &sub.path, "publish", TransitionRequest::default()).await?;
            for c in 0..per_leaf {
                if made >= items {
                    break 'outer;
                }
                let p = services
                    .create(
                        &system,
                        &site,
                        &sub.path,
                        "Document",
                        None,
                        &obj(json!({
                            "title": if made % rare == 0 {
                                format!("Avis numéro {made}, {SEARCH_WORD}")
                            } else {
                                format!("Avis numéro {made}")
                            },
                            "description": "Avis à la population concernant les travaux de voirie.",
                            "text": {"content-type": "text/html", "data": body_text(made)},
                        })),
                    )
                    .await?;
                services.transition(&system, &site, &p.path, "publish", TransitionRequest::default()).await?;
                made += 1;
                if a == 5 && b == 5 && c == per_leaf / 2 {
                    page = p.path.to_string();
                    folder = sub.path.to_string();
                }
            }
        }
    }
    if page.is_empty() {
        bail!("too few items for the benchmark tree (need at least 5,600)");
    }
    services
        .create_user(
            &system,
            &site,
            beffroi_service::NewUser {
                login: beffroi_model::Login::parse("bench")?,
                password: beffroi_service::Secret(BENCH_PASSWORD.into()),
                fullname: "Banc d'essai".into(),
                email: String::new(),
                roles: vec![beffroi_model::security::Role::SiteAdministrator],
            },
        )
        .await?;
    services.create(&system, &site, &ItemPath::root(), "Folder", Some("api"), &obj(json!({"title": "API"}))).await?;
    Ok((page, folder))
}

pub(crate) fn free_port() -> Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

/// Sends one GET and reads the whole response; returns its status.
pub(crate) async fn exchange(stream: &mut TcpStream, request: &[u8], buf: &mut Vec<u8>) -> Result<u16> {
    stream.write_all(request).await?;
    buf.clear();
    let mut chunk = [0u8; 16384];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed");
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = std::str::from_utf8(&buf[..header_end])?;
    let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).ok_or_else(|| anyhow!("bad status line"))?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed in body");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(status)
}

pub(crate) fn request_bytes(path: &str, accept: &str, cached: bool) -> Vec<u8> {
    let fresh = if cached { "" } else { "Cache-Control: no-cache\r\n" };
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\nUser-Agent: beffroi-bench\r\n{fresh}\r\n")
        .into_bytes()
}

async fn load(addr: SocketAddr, s: &Scenario, connections: usize, duration: Duration) -> Result<Measure> {
    let requests = Arc::new(vec![request_bytes(&s.path, s.accept, s.cached)]);
    load_spread(addr, requests, connections, duration).await
}

/// Sends `requests` over `connections` keep-alive connections for `duration`, each
/// connection going through the list from its own place (so that requests spread
/// over the addresses listed).
pub(crate) async fn load_spread(
    addr: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    connections: usize,
    duration: Duration,
) -> Result<Measure> {
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            let mut next = c * 7919;
            let mut lat: Vec<u32> = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            let mut buf = Vec::with_capacity(65536);
            let mut stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            while Instant::now() < deadline {
                let t = Instant::now();
                let req = &requests[next % requests.len()];
                next += 1;
                match exchange(&mut stream, req, &mut buf).await {
                    Ok(200) => lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32),
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        stream = TcpStream::connect(addr).await?;
                    }
                }
            }
            anyhow::Ok((lat, errors))
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await??;
        all.extend(lat);
        errors += e;
    }
    let seconds = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct =
        |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0);
    Ok(Measure { requests: all.len() as u64, errors, seconds, p50_us: pct(0.50), p99_us: pct(0.99) })
}

pub(crate) fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn run_backend(backend: &'static str, url: &str, data: &Path, args: &BenchArgs) -> Result<Report> {
    eprintln!("[{backend}] creating {} pages…", args.items);
    let services = Services::open(url, &StoreOptions::default(), Blobs::local(&data.join("blobs"))?).await?;
    let services = beffroi_web::assemble(services, crate::apps::APPS)?;
    // As `serve` does on a new database: record the workflow definitions in force.
    services.reconcile_workflows().await?;
    let t = Instant::now();
    let (page, folder) = seed(&services, args.items).await?;
    let seed_seconds = t.elapsed().as_secs_f64();
    services.close().await;
    drop(services);

    let addr = free_port()?;
    let exe = std::env::current_exe()?;
    let log = std::fs::File::create(data.join(format!("server-{}.log", backend.to_ascii_lowercase())))?;
    let started = Instant::now();
    let child = Command::new(exe)
        .args(["serve", "--listen", &addr.to_string(), "--database", url, "--data"])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start the server")?;
    let server = Server(child);
    let probe = request_bytes(&format!("/bench{page}"), "text/html", false);
    let first_response_ms = loop {
        if started.elapsed() > Duration::from_secs(20) {
            bail!("the server did not answer within 20 s");
        }
        if let Ok(mut s) = TcpStream::connect(addr).await {
            let mut buf = Vec::new();
            if let Ok(200) = exchange(&mut s, &probe, &mut buf).await {
                break started.elapsed().as_secs_f64() * 1000.0;
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let token = login(addr).await?;
    let upload = upload(addr, &token, server.0.id()).await?;
    eprintln!(
        "[{backend}] a {} MB file through the add form in {:.2} s; server peak RSS {:.1} MB before, {:.1} MB after",
        upload.mb, upload.seconds, upload.rss_before_mb, upload.rss_after_mb
    );
    // The scenarios of earlier versions first, in their order, so that their figures
    // compare from one version to the next; those added since after them.
    let scenarios = [
        Scenario { name: "HTML page view", path: format!("/bench{page}"), accept: "text/html", cached: false },
        Scenario { name: "JSON view", path: format!("/bench{page}"), accept: "application/json", cached: false },
        Scenario {
            name: "folder listing (HTML, 100 items)",
            path: format!("/bench{folder}"),
            accept: "text/html",
            cached: false,
        },
        Scenario {
            name: "folder listing (JSON, 100 items)",
            path: format!("/bench{folder}"),
            accept: "application/json",
            cached: false,
        },
        Scenario {
            name: "HTML page view, page cache",
            path: format!("/bench{page}"),
            accept: "text/html",
            cached: true,
        },
        Scenario {
            name: "JSON view as Volto asks it (expand=breadcrumbs,actions,navroot,navigation,types)",
            path: format!("/bench{page}?expand=breadcrumbs,actions,navroot,navigation,types"),
            accept: "application/json",
            cached: false,
        },
        Scenario {
            name: "@search, a word in 50 pages",
            path: format!("/bench/@search?SearchableText={SEARCH_WORD}"),
            accept: "application/json",
            cached: false,
        },
    ];
    let mut rows = Vec::new();
    for s in &scenarios {
        let warm = load(addr, s, args.connections, Duration::from_secs(1)).await?;
        if warm.requests == 0 {
            bail!("{}: no successful response from {} during the warm-up", s.name, s.path);
        }
        let m = load(addr, s, args.connections, Duration::from_secs(args.duration)).await?;
        eprintln!(
            "[{backend}] {}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
            s.name,
            m.requests as f64 / m.seconds,
            m.p50_us as f64 / 1000.0,
            m.p99_us as f64 / 1000.0
        );
        rows.push((s.name, m));
    }
    let writes = writes(addr, backend, &page, &token, args).await?;
    let peak_rss_mb = status_kb(server.0.id(), "VmHWM:").unwrap_or(0) as f64 / 1024.0;
    drop(server);
    Ok(Report { backend, items: args.items, seed_seconds, first_response_ms, peak_rss_mb, rows, writes, upload })
}

/// A token for the bench user.
async fn login(addr: SocketAddr) -> Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let login = json!({"login": "bench", "password": BENCH_PASSWORD}).to_string();
    let req = format!(
        "POST /bench/@login HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{login}",
        login.len()
    );
    let mut buf = Vec::new();
    if exchange(&mut stream, req.as_bytes(), &mut buf).await? != 200 {
        bail!("cannot log in as the bench user");
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    Ok(text.split("\"token\":\"").nth(1).and_then(|t| t.split('"').next()).unwrap_or("").to_owned())
}

/// Sends a file of `UPLOAD_MB` through the add form as a browser would (multipart, in
/// pieces as they are read) and reads the server's peak memory before and after.
async fn upload(addr: SocketAddr, token: &str, pid: u32) -> Result<Upload> {
    let rss = || status_kb(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0;
    let rss_before_mb = rss();
    let boundary = "bench-upload-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nArchive\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"archive.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let size = UPLOAD_MB * 1024 * 1024;
    let length = head.len() as u64 + size + tail.len() as u64;
    let mut stream = TcpStream::connect(addr).await?;
    let started = Instant::now();
    let request = format!(
        "POST /bench/@@add?type=File HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n{head}"
    );
    stream.write_all(request.as_bytes()).await?;
    // Bytes that never repeat a boundary; each piece differs, as a real file's would,
    // and each run's file is new to the blob store (which keeps equal files once).
    let mut piece: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
    piece[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let mut sent = 0u64;
    while sent < size {
        let n = (size - sent).min(piece.len() as u64) as usize;
        stream.write_all(&piece[..n]).await?;
        piece[(sent / 65536) as usize % 65536] ^= 0x5a;
        sent += n as u64;
    }
    let mut buf = Vec::new();
    let status = exchange(&mut stream, tail.as_bytes(), &mut buf).await?;
    if status != 303 {
        bail!("the upload answered {status}: {}", String::from_utf8_lossy(&buf));
    }
    Ok(Upload { mb: UPLOAD_MB, seconds: started.elapsed().as_secs_f64(), rss_before_mb, rss_after_mb: rss() })
}

fn write_request(method: &str, path: &str, token: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nUser-Agent: beffroi-bench\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// REST writes: pages created with POST by 4 clients at once (SQLite takes one
/// writer at a time anyway), and edit-saves (PATCH making a new revision) one after
/// the other.
async fn writes(addr: SocketAddr, backend: &str, page: &str, token: &str, args: &BenchArgs) -> Result<Writes> {
    let mut buf = Vec::new();
    let clients = 4usize;
    let per = (args.items as usize).div_ceil(clients);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let token = token.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut buf = Vec::with_capacity(65536);
            let mut lat = Vec::with_capacity(per);
            for i in 0..per {
                let body = json!({
                    "@type": "Document",
                    "title": format!("Communiqué {c}-{i}"),
                    "description": "Publié par l'API.",
                    "text": {"content-type": "text/html", "data": body_text((c * per + i) as u32)},
                })
                .to_string();
                let t = Instant::now();
                let status =
                    exchange(&mut stream, &write_request("POST", "/bench/api", &token, &body), &mut buf).await?;
                if status != 201 {
                    bail!("POST answered {status}");
                }
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let create_per_s = lat.len() as f64 / started.elapsed().as_secs_f64();
    lat.sort_unstable();
    let create_p99 = lat[(lat.len() * 99 / 100).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    let mut edits = Vec::new();
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    for i in 0..300 {
        let body = json!({"description": format!("Version {i}"), "changeNote": format!("Révision {i}")}).to_string();
        let t = Instant::now();
        let status =
            exchange(&mut stream, &write_request("PATCH", &format!("/bench{page}"), token, &body), &mut buf).await?;
        if status != 204 {
            bail!("PATCH answered {status}");
        }
        edits.push(t.elapsed());
    }
    edits.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let w = Writes {
        created: lat.len(),
        create_per_s,
        create_p99_ms: create_p99,
        edit_p50_ms: ms(edits[edits.len() / 2]),
        edit_p99_ms: ms(edits[edits.len() * 99 / 100]),
    };
    eprintln!(
        "[{backend}] REST: {} pages created at {:.0}/s (p99 {:.1} ms); edit-save with a revision p50 {:.2} ms, p99 {:.2} ms",
        w.created, w.create_per_s, w.create_p99_ms, w.edit_p50_ms, w.edit_p99_ms
    );
    Ok(w)
}

struct Writes {
    created: usize,
    create_per_s: f64,
    create_p99_ms: f64,
    edit_p50_ms: f64,
    edit_p99_ms: f64,
}

fn print(reports: &[Report], args: &BenchArgs) {
    println!();
    println!(
        "beffroi bench: {} connections, {} s per scenario, load generator on one core of this machine ({} cores)",
        args.connections,
        args.duration,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    println!("| backend | scenario | req/s | p50 ms | p99 ms | errors |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for r in reports {
        for (name, m) in &r.rows {
            println!(
                "| {} | {} | {:.0} | {:.2} | {:.2} | {} |",
                r.backend,
                name,
                m.requests as f64 / m.seconds,
                m.p50_us as f64 / 1000.0,
                m.p99_us as f64 / 1000.0,
                m.errors
            );
        }
    }
    println!();
    for r in reports {
        let w = &r.writes;
        println!(
            "{}: REST POST of {} pages by 4 clients: {:.0} pages/s (p99 {:.1} ms); PATCH with a new revision (one client): p50 {:.2} ms, p99 {:.2} ms",
            r.backend, w.created, w.create_per_s, w.create_p99_ms, w.edit_p50_ms, w.edit_p99_ms
        );
    }
    for r in reports {
        let u = &r.upload;
        println!(
            "{}: a {} MB file through the HTML add form (multipart) in {:.2} s ({:.0} MB/s); server peak RSS {:.1} MB before it, {:.1} MB after",
            r.backend,
            u.mb,
            u.seconds,
            u.mb as f64 / u.seconds,
            u.rss_before_mb,
            u.rss_after_mb
        );
    }
    for r in reports {
        println!(
            "{}: {} pages created through the service in {:.1} s ({:.0} items/s); start to first response {:.0} ms; server peak RSS {:.1} MB",
            r.backend,
            r.items,
            r.seed_seconds,
            r.items as f64 / r.seed_seconds,
            r.first_response_ms,
            r.peak_rss_mb
        );
    }
}

pub fn run(args: BenchArgs) -> Result<()> {
    // Quiet unless asked: `BEFFROI_LOG=sqlx::query=debug` times each statement.
    if std::env::var_os("BEFFROI_LOG").is_some() {
        crate::serve::init_logs();
    }
    // The load generator runs on one thread so that the server keeps the other core.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let mut reports = Vec::new();
        let (data, temporary): (PathBuf, bool) = match &args.data {
            Some(d) => (d.clone(), false),
            None => (std::env::temp_dir().join(format!("beffroi-bench-{}", std::process::id())), true),
        };
        std::fs::create_dir_all(&data)?;
        if args.sites.is_some() {
            return crate::bench_sites::run(&args).await;
        }
        if args.search || args.meetings {
            let result = if args.search { search(&data, &args).await } else { meetings(&data, &args).await };
            if temporary {
                let _ = std::fs::remove_dir_all(&data);
            }
            return result;
        }
        let sqlite = if args.no_sqlite {
            None
        } else {
            let db = data.join("bench.db");
            let _ = std::fs::remove_file(&db);
            let url = format!("sqlite://{}", db.display());
            Some(run_backend("SQLite", &url, &data, &args).await)
        };
        let pg = match &args.postgres {
            Some(admin) => {
                let name = format!("beffroi_bench_{}", std::process::id());
                let url = pg_admin::create_database(admin, &name)
                    .await
                    .context("cannot create the PostgreSQL bench database")?;
                let pg = run_backend("PostgreSQL", &url, &data, &args).await;
                done_with_database(admin, &name, args.keep).await?;
                Some(pg)
            }
            None => {
                eprintln!("(PostgreSQL skipped: pass --postgres URL or set BEFFROI_BENCH_POSTGRES)");
                None
            }
        };
        for report in [sqlite, pg].into_iter().flatten() {
            reports.push(report?);
        }
        if temporary {
            let _ = std::fs::remove_dir_all(&data);
        }
        print(&reports, &args);
        Ok(())
    })
}

/// Drops the PostgreSQL database a bench made, or with `--keep` says where it is.
pub(crate) async fn done_with_database(admin: &str, name: &str, keep: bool) -> Result<()> {
    if keep {
        eprintln!("[PostgreSQL] kept the database {name}");
    } else {
        pg_admin::drop_database(admin, name).await?;
    }
    Ok(())
}

/// `--meetings`: the meetings application on SQLite and, when given a server, on
/// PostgreSQL.
async fn meetings(data: &Path, args: &BenchArgs) -> Result<()> {
    let mut reports = Vec::new();
    let blobs = data.join("blobs");
    if !args.no_sqlite {
        let db = data.join("meetings.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let url = format!("sqlite://{}", db.display());
        reports.push(crate::bench_meetings::run("SQLite", &url, &blobs, args.items).await?);
    }
    if let Some(admin) = &args.postgres {
        let name = format!("beffroi_bench_meetings_{}", std::process::id());
        let url =
            pg_admin::create_database(admin, &name).await.context("cannot create the PostgreSQL bench database")?;
        let pg = crate::bench_meetings::run("PostgreSQL", &url, &blobs, args.items).await;
        done_with_database(admin, &name, args.keep).await?;
        reports.push(pg?);
    }
    crate::bench_meetings::print(&reports);
    Ok(())
}

/// `--search`: the catalog on SQLite and, when given a server, on PostgreSQL.
async fn search(data: &Path, args: &BenchArgs) -> Result<()> {
    if args.reuse && args.data.is_none() {
        bail!("--search --reuse queries the site an earlier run left in --data: pass --data DIR");
    }
    let mut reports = Vec::new();
    let db = data.join("search.db");
    if !args.reuse {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
    let blobs = data.join("blobs");
    if !args.no_sqlite {
        let url = format!("sqlite://{}", db.display());
        reports.push(crate::bench_search::run("SQLite", &url, &blobs, args, args.reuse).await?);
    }
    if let (Some(url), true) = (&args.postgres, args.reuse) {
        reports.push(crate::bench_search::run("PostgreSQL", url, &blobs, args, true).await?);
    } else if let Some(admin) = &args.postgres {
        let name = format!("beffroi_bench_search_{}", std::process::id());
        let url =
            pg_admin::create_database(admin, &name).await.context("cannot create the PostgreSQL bench database")?;
        let pg = crate::bench_search::run("PostgreSQL", &url, &blobs, args, false).await;
        done_with_database(admin, &name, args.keep).await?;
        reports.push(pg?);
    }
    crate::bench_search::print(&reports);
    Ok(())
}
