//! Test support: a real, empty database per test on each backend, and a test app on
//! the real router.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use beffroi_model::security::Principal;
use beffroi_model::{ItemPath, Language, SiteId};
use beffroi_service::{Blobs, NewSite, Services, SiteRow, Store, StoreOptions};
use beffroi_store::pg_admin;
use serde_json::{Map, Value};
use tower::ServiceExt;

/// A fresh database: an SQLite file in a temporary folder, or a PostgreSQL database
/// created for this test on the server of BEFFROI_TEST_DATABASE_URL and dropped after.
pub struct TestDb {
    pub services: Services,
    /// The database itself, for tests that look under the services (the services
    /// hand out no store).
    pub store: Store,
    pub url: String,
    pg: Option<(String, String)>,
    dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let blobs = Blobs::local(&dir.path().join("blobs")).expect("blob folder");
        let store = Store::open(&url, &StoreOptions::default()).await.expect("open sqlite");
        let services = Services::new(store.clone(), blobs);
        let services = beffroi_web::assemble(services, &[beffroi_cms::CMS]).expect("the content application loads");
        TestDb { services, store, url, pg: None, dir }
    }

    /// None when no PostgreSQL is configured outside CI; under CI=true a missing
    /// PostgreSQL fails the test instead of skipping it.
    pub async fn postgres() -> Option<TestDb> {
        let admin = match std::env::var("BEFFROI_TEST_DATABASE_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!(
                        "CI=true but BEFFROI_TEST_DATABASE_URL is not set: PostgreSQL tests cannot be skipped in CI"
                    );
                }
                skipped(
                    "PostgreSQL",
                    "BEFFROI_TEST_DATABASE_URL is not set: the postgres:: half of every store, service and HTTP test returns at once and shows as ok (run under scripts/with-postgres.sh, or with CI=true to fail instead)",
                );
                return None;
            }
        };
        let name = format!("beffroi_t_{}", uuid::Uuid::new_v4().simple());
        let url = pg_admin::create_database(&admin, &name).await.expect("create test database");
        let opts = StoreOptions { max_connections: 4, ..StoreOptions::default() };
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = Blobs::local(&dir.path().join("blobs")).expect("blob folder");
        let store = Store::open(&url, &opts).await.expect("open postgres");
        let services = Services::new(store.clone(), blobs);
        let services = beffroi_web::assemble(services, &[beffroi_cms::CMS]).expect("the content application loads");
        Some(TestDb { services, store, url, pg: Some((admin, name)), dir })
    }

    /// Another server on the same database and files, as a second process would be
    /// (its own pool and caches).
    pub async fn second_server(&self) -> Services {
        let opts = StoreOptions { max_connections: 4, ..StoreOptions::default() };
        let store = Store::open(&self.url, &opts).await.expect("open the database again");
        let blobs = Blobs::local(&self.blobs_dir()).expect("blob folder");
        beffroi_web::assemble(Services::new(store, blobs), &[beffroi_cms::CMS]).expect("the content application loads")
    }

    /// The folder of the blob store (for a command run on this database).
    pub fn blobs_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("blobs")
    }

    /// The files of uploads being received (spooled beside the blobs).
    pub fn spooled_files(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("blobs/spool")).map(|d| d.count()).unwrap_or(0)
    }

    /// The bytes written so far to the files of uploads being received.
    pub fn spooled_bytes(&self) -> u64 {
        let Ok(dir) = std::fs::read_dir(self.dir.path().join("blobs/spool")) else { return 0 };
        dir.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum()
    }

    /// The files kept in the blob store (uploads and their scales), the spool aside.
    pub fn blob_files(&self) -> usize {
        fn count(dir: &std::path::Path) -> usize {
            let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
            entries
                .filter_map(Result::ok)
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() && e.file_name() != "spool" => count(&e.path()),
                    Ok(t) if t.is_file() => 1,
                    _ => 0,
                })
                .sum()
        }
        count(&self.dir.path().join("blobs"))
    }

    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some((admin, name)) = &self.pg {
            pg_admin::drop_database(admin, name).await.expect("drop test database");
        }
    }

    /// Creates a site with the given id (French, no host names).
    pub async fn site(&self, id: &str) -> SiteRow {
        self.site_with_hosts(id, &[]).await
    }

    pub async fn site_with_hosts(&self, id: &str, hosts: &[&str]) -> SiteRow {
        self.services
            .create_site(
                &Principal::System,
                NewSite {
                    id: SiteId::parse(id).unwrap(),
                    title: format!("Commune de {id}"),
                    language: Language::Fr,
                    hosts: hosts.iter().map(|h| h.to_string()).collect(),
                    time_zone: Default::default(),
                },
            )
            .await
            .expect("create site")
    }

    /// Creates a user of `site` as the system.
    pub async fn user(
        &self,
        site: &SiteRow,
        login: &str,
        password: &str,
        fullname: &str,
        roles: &[beffroi_model::security::Role],
    ) {
        let new = beffroi_service::NewUser {
            login: beffroi_model::Login::parse(login).expect("valid login"),
            password: beffroi_service::Secret(password.to_owned()),
            fullname: fullname.to_owned(),
            email: String::new(),
            roles: roles.to_vec(),
        };
        self.services.create_user(&Principal::System, site, new).await.expect("create user");
    }

    /// Creates and publishes an item as the system; returns its path.
    pub async fn add(&self, site: &SiteRow, parent: &str, type_name: &str, values: Value) -> ItemPath {
        let p = self.add_private(site, parent, type_name, values).await;
        self.services
            .transition(&Principal::System, site, &p, "publish", beffroi_service::TransitionRequest::default())
            .await
            .expect("publish item");
        p
    }

    /// Creates an item as the system and leaves it in its initial (private) state.
    pub async fn add_private(&self, site: &SiteRow, parent: &str, type_name: &str, values: Value) -> ItemPath {
        self.services
            .create(&Principal::System, site, &path(parent), type_name, None, &obj(values))
            .await
            .expect("create item")
            .path
    }
}

/// Says, once per kind and test binary, that tests of that kind are skipped and why.
/// Written to the process's standard error directly: the test harness captures only
/// `print!` and `eprint!`, and hides what a passing test printed through them, so a
/// skipped half would otherwise look like one that ran.
pub fn skipped(kind: &'static str, why: &str) {
    use std::io::Write;
    static SAID: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if said.contains(&kind) {
        return;
    }
    said.push(kind);
    let _ = writeln!(std::io::stderr().lock(), "\nNOTE: {kind} tests skipped: {why}");
}

/// Runs each test body once on SQLite and once on PostgreSQL, in modules `sqlite` and
/// `postgres`, with a fresh database bound to the given name.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($db:ident) $body:block)*) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let $db = $crate::support::TestDb::sqlite().await;
                    $body
                    $db.cleanup().await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let Some($db) = $crate::support::TestDb::postgres().await else { return };
                    $body
                    $db.cleanup().await;
                }
            )*
        }
    };
}

pub fn path(s: &str) -> ItemPath {
    ItemPath::parse(s).expect("valid path")
}

pub fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("a JSON object")
}

/// A response read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body's bytes, for files.
    pub raw: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// The real router on the test database.
pub struct TestApp {
    router: axum::Router,
}

impl TestApp {
    pub async fn new(db: &TestDb) -> TestApp {
        Self::with_services(db.services.clone()).await
    }

    pub async fn with_services(services: Services) -> TestApp {
        Self::with_options(services, beffroi_web::WebOptions::default()).await
    }

    pub async fn with_options(services: Services, options: beffroi_web::WebOptions) -> TestApp {
        // Errors the server logs show in the output of a failing test.
        let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
        let state = beffroi_web::AppState::load_apps(services, options, &[beffroi_cms::CMS]).await.expect("app state");
        TestApp { router: beffroi_web::router(state) }
    }

    /// The router on state loaded by the test (with applications).
    pub fn with_state(state: std::sync::Arc<beffroi_web::AppState>) -> TestApp {
        TestApp { router: beffroi_web::router(state) }
    }

    pub async fn request(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024).await.expect("body");
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), raw: bytes.to_vec() }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.request(Request::get(uri).header("host", "localhost").body(Body::empty()).unwrap()).await
    }

    pub async fn get_json(&self, uri: &str) -> Reply {
        self.request(
            Request::get(uri)
                .header("host", "localhost")
                .header("accept", "application/json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> Reply {
        let mut b = Request::get(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            b = b.header("host", "localhost");
        }
        self.request(b.body(Body::empty()).unwrap()).await
    }
}

impl TestApp {
    /// Logs in through the HTML form on site `s`; returns the session cookie (`name=value`).
    pub async fn session(&self, login: &str, password: &str) -> String {
        self.session_on("s", login, password).await
    }

    /// Logs in through the HTML form on the given site; returns the session cookie.
    pub async fn session_on(&self, site: &str, login: &str, password: &str) -> String {
        let body = serde_urlencoded::to_string([("login", login), ("password", password)]).unwrap();
        let r = self
            .request(
                Request::post(format!("/{site}/@@login"))
                    .header("host", "localhost")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, 303, "login failed: {}", r.body);
        r.header("set-cookie").split(';').next().unwrap().to_owned()
    }
}

impl TestApp {
    /// A URL-encoded form (`body`) posted with a session cookie.
    pub async fn post_form(&self, uri: &str, cookie: &str, body: String) -> Reply {
        let req = Request::post(uri)
            .header("host", "localhost")
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.request(req).await
    }
}

/// The CSRF token of the first form of a page.
pub fn csrf(body: &str) -> String {
    let i = body.find("name=\"_csrf\" value=\"").expect("a CSRF field") + 20;
    body[i..i + 64].to_owned()
}

/// A multipart body with text fields and one file.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----beffroi-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    if let Some((name, filename, ct, data)) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {ct}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A real PNG of `w`×`h` pixels.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

impl TestApp {
    /// A JSON request with the given method and `Authorization` header.
    /// `Bearer <token>` from `@login` on `site`.
    pub async fn bearer(&self, site: &str, login: &str, password: &str) -> String {
        let req = Request::post(format!("/{site}/@login"))
            .header("host", "localhost")
            .header("accept", "application/json")
            .body(Body::from(serde_json::json!({"login": login, "password": password}).to_string()))
            .unwrap();
        let r = self.request(req).await;
        assert_eq!(r.status, 200, "{}", r.body);
        format!("Bearer {}", r.json()["token"].as_str().unwrap())
    }

    pub async fn send_json(&self, method: &str, uri: &str, auth: &str, body: Value) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost")
            .header("accept", "application/json")
            .header("authorization", auth)
            .body(Body::from(body.to_string()))
            .unwrap();
        self.request(req).await
    }
}

/// `beffroi serve` on a data folder, stopped when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(data: &std::path::Path, args: &[&str]) -> Server {
        Self::start_logged(data, args, "warn", Stdio::inherit())
    }

    /// Like [`Server::start`], logging at `level` to `log` (its standard error).
    pub fn start_logged(data: &std::path::Path, args: &[&str], level: &str, log: Stdio) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_beffroi"))
            .args(["serve", "--listen", &listen])
            .args(args)
            .env("BEFFROI_DATA", data)
            .env("BEFFROI_LOG", level)
            .env_remove("BEFFROI_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("run beffroi serve");
        let server = Server { child, port };
        let started = Instant::now();
        while server.request("GET", "/@@health", &[], b"").map(|r| r.0) != Some(200) {
            assert!(started.elapsed() < Duration::from_secs(60), "the server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// One HTTP/1.1 exchange on a fresh connection: status and body.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Option<(u16, Vec<u8>)> {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head += &format!("{k}: {v}\r\n");
        }
        head += "\r\n";
        conn.write_all(head.as_bytes()).ok()?;
        conn.write_all(body).ok()?;
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).ok()?;
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let status = head.split(' ').nth(1)?.parse().ok()?;
        let mut body = raw[split + 4..].to_vec();
        if head.contains("transfer-encoding: chunked") {
            body = unchunk(&body);
        }
        Some((status, body))
    }

    /// The most memory the server process has held (VmHWM), in bytes.
    pub fn peak_memory(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
    }
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&data[..eol]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 4 + size..];
    }
    out
}
