//! What an operator watches and does: metrics (a token on the public address, none on
//! an address of their own), health, readiness and liveness, through the real router on
//! both backends; then the real binary stopped with SIGTERM while a request is in
//! flight, and its log level changed with SIGHUP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use beffroi_model::security::Role;
use serde_json::json;
use tower::ServiceExt;

use crate::both_backends;
use crate::support::{Server, TestApp};

/// The value of the series `name{labels}` (or `name` without labels) in a scrape.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.split(' ').next()?.parse().ok())
}

async fn ops_get(router: &axum::Router, uri: &str) -> (u16, String, String) {
    let r = router.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = r.status().as_u16();
    let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
    (status, kind, String::from_utf8(body.to_vec()).unwrap())
}

both_backends! {
    async fn metrics_health_and_readiness(db) {
        let s = db.site("s").await;
        db.user(&s, "max", "correct horse battery", "Max", &[Role::Manager]).await;
        db.add(&s, "", "Folder", json!({"title": "Actualités"})).await;
        // Without a token, the public address serves no metrics.
        let open = TestApp::new(&db).await;
        assert_eq!(open.get("/@@metrics").await.status, 404);

        let options = beffroi_web::WebOptions {
            metrics_token: Some(beffroi_service::Secret("s3cret-metrics".into())),
            ..Default::default()
        };
        let state = beffroi_web::AppState::load_with(db.services.clone(), options).await.unwrap();
        let app = TestApp::with_state(state.clone());
        let ops = beffroi_web::operations_router(state.clone());
        for auth in [None, Some("Bearer wrong"), Some("Basic bWF4OmNvcnJlY3QgaG9yc2UgYmF0dGVyeQ==")] {
            let headers: Vec<(&str, &str)> = auth.map(|a| vec![("authorization", a)]).unwrap_or_default();
            let r = app.get_with("/@@metrics", &headers).await;
            assert_eq!(r.status, 401, "{auth:?}");
            assert!(r.header("www-authenticate").starts_with("Bearer"));
        }

        // Some traffic: pages (one from the cache), a JSON read, a 404, a failed and a
        // good login, a file.
        app.get("/s/actualites").await;
        assert_eq!(app.get("/s/actualites").await.header("x-beffroi-cache"), "hit");
        app.get_json("/s/actualites").await;
        assert_eq!(app.get("/s/nulle-part").await.status, 404);
        let login = |password: &str| {
            Request::post("/s/@login")
                .header("host", "localhost")
                .header("accept", "application/json")
                .body(Body::from(json!({"login": "max", "password": password}).to_string()))
                .unwrap()
        };
        assert_eq!(app.request(login("wrong")).await.status, 401);
        let token = app.request(login("correct horse battery")).await.json()["token"].as_str().unwrap().to_owned();
        let file = json!({"@type": "File", "title": "Règlement", "file": {
            "data": base64::engine::general_purpose::STANDARD.encode(vec![7u8; 5000]), "encoding": "base64",
            "filename": "reglement.bin", "content-type": "application/octet-stream"}});
        let r = app.send_json("POST", "/s", &format!("Bearer {token}"), file).await;
        assert_eq!(r.status, 201, "{}", r.body);

        let r = app.get_with("/@@metrics", &[("authorization", "Bearer s3cret-metrics")]).await;
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").starts_with("application/openmetrics-text"), "{}", r.header("content-type"));
        let text = &r.body;
        assert!(text.ends_with("# EOF\n"));
        let at = |series: &str| sample(text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
        assert_eq!(at("beffroi_http_requests_total{class=\"page\",code=\"200\"}"), 2.0);
        assert_eq!(at("beffroi_http_requests_total{class=\"page\",code=\"404\"}"), 1.0);
        assert_eq!(at("beffroi_http_requests_total{class=\"json\",code=\"200\"}"), 1.0);
        assert_eq!(at("beffroi_http_requests_total{class=\"api\",code=\"401\"}"), 1.0);
        assert_eq!(at("beffroi_http_requests_total{class=\"operations\",code=\"401\"}"), 3.0);
        assert_eq!(at("beffroi_page_cache_requests_total{outcome=\"hit\"}"), 1.0);
        assert_eq!(at("beffroi_logins_total{outcome=\"failure\"}"), 1.0);
        assert_eq!(at("beffroi_logins_total{outcome=\"success\"}"), 1.0);
        assert_eq!(at("beffroi_logins_total{outcome=\"throttled\"}"), 0.0);
        assert_eq!(at("beffroi_http_request_duration_seconds_count{class=\"page\"}"), 3.0);
        assert_eq!(at("beffroi_http_request_duration_seconds_bucket{le=\"+Inf\",class=\"page\"}"), 3.0);
        assert_eq!(at("beffroi_sites"), 1.0);
        assert_eq!(at("beffroi_catalog_items"), 3.0, "the root, the folder, the file");
        assert!(at("beffroi_blob_files") >= 1.0);
        assert!(at("beffroi_blob_bytes") >= 5000.0);
        assert!(at("beffroi_db_connections_max") >= 1.0);
        assert!(sample(text, "beffroi_db_connections{state=\"idle\"}").is_some());

        // The address of its own needs no token; health, readiness and liveness.
        let (status, _, text) = ops_get(&ops, "/@@metrics").await;
        assert_eq!(status, 200);
        assert_eq!(sample(&text, "beffroi_http_requests_total{class=\"operations\",code=\"200\"}"), Some(1.0));
        for uri in ["/@@health", "/@@ready", "/@@live"] {
            let (status, kind, body) = ops_get(&ops, uri).await;
            assert_eq!((status, kind.as_str()), (200, "application/json"), "{uri}: {body}");
            assert_eq!(app.get(uri).await.status, 200, "{uri} on the public address");
        }
        let (_, _, body) = ops_get(&ops, "/@@health").await;
        let health: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((health["database_answers"].clone(), health["blobs_answer"].clone()), (json!(true), json!(true)));
        assert_eq!(ops_get(&ops, "/s/actualites").await.0, 404, "no content on the operations address");

        // Stopping: not ready any more, still alive.
        state.drain();
        assert_eq!(ops_get(&ops, "/@@ready").await.0, 503);
        assert_eq!(ops_get(&ops, "/@@live").await.0, 200);
        // The database gone: unhealthy.
        db.services.close().await;
        let (status, _, body) = ops_get(&ops, "/@@health").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("\"database_answers\":false"), "{body}");
    }
}

fn signal(server: &Server, name: &str) {
    let ok = std::process::Command::new("kill").args([&format!("-{name}"), &server.child.id().to_string()]).status();
    assert!(ok.unwrap().success(), "kill -{name}");
}

/// Waits for the server process to end, at most `within`; its exit status.
fn exits(server: &mut Server, within: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < within, "still running after {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A request whose body has only begun to arrive: in flight until the rest is sent.
fn begin_request(port: u16, body: &str) -> TcpStream {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "POST /demo/@login HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&body.as_bytes()[..10]).unwrap();
    conn
}

fn ops_status(port: u16, path: &str) -> Option<u16> {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes()).ok()?;
    let mut raw = String::new();
    conn.read_to_string(&mut raw).ok()?;
    raw.split(' ').nth(1)?.parse().ok()
}

#[test]
fn sigterm_lets_requests_in_flight_finish_within_the_grace_and_sighup_reloads_the_log_level() {
    let data = tempfile::tempdir().unwrap();
    let ops_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ops_addr = format!("127.0.0.1:{ops_port}");
    let log_path = data.path().join("server.log");
    let args = ["--demo", "--metrics-listen", &ops_addr, "--shutdown-grace", "2"];
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server = Server::start_logged(data.path(), &args, "warn", Stdio::from(log));
    let log_text = || std::fs::read_to_string(&log_path).unwrap();

    // SIGHUP: the log level file is read again (a bad filter is refused, the level kept).
    std::fs::write(data.path().join("log-level"), "info,beffroi::request=debug\n").unwrap();
    signal(&server, "HUP");
    let start = Instant::now();
    while !log_text().contains("log level set") {
        assert!(start.elapsed() < Duration::from_secs(5), "no reload logged:\n{}", log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    server.request("GET", "/demo", &[], b"").unwrap();
    let start = Instant::now();
    while !log_text().contains("beffroi::request") {
        assert!(start.elapsed() < Duration::from_secs(5), "requests are not logged at the new level:\n{}", log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(data.path().join("log-level"), "info,[[[\n").unwrap();
    signal(&server, "HUP");
    let start = Instant::now();
    while !log_text().contains("does not parse") {
        assert!(start.elapsed() < Duration::from_secs(5), "a bad filter is not reported:\n{}", log_text());
        std::thread::sleep(Duration::from_millis(20));
    }

    // SIGTERM with a request in flight: not ready any more, the request finishes.
    assert_eq!(ops_status(ops_port, "/@@ready"), Some(200));
    let body = json!({"login": "admin", "password": "wrong password"}).to_string();
    let mut in_flight = begin_request(server.port, &body);
    std::thread::sleep(Duration::from_millis(200));
    signal(&server, "TERM");
    let start = Instant::now();
    while ops_status(ops_port, "/@@ready") != Some(503) {
        assert!(start.elapsed() < Duration::from_secs(2), "still ready while stopping");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(ops_status(ops_port, "/@@live"), Some(200));
    assert!(server.child.try_wait().unwrap().is_none(), "stopped with a request in flight");
    in_flight.write_all(&body.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(exits(&mut server, Duration::from_secs(5)).success());

    // A request that never finishes does not hold the server past the grace.
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server = Server::start_logged(data.path(), &["--shutdown-grace", "1"], "warn", Stdio::from(log));
    let _stuck = begin_request(server.port, &body);
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    signal(&server, "TERM");
    assert!(exits(&mut server, Duration::from_secs(8)).success());
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(900), "stopped before the grace: {took:?}");
    assert!(log_text().contains("grace period"), "{}", log_text());
}
