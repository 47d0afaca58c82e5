//! Requests that would exhaust the server: recurrences too dense to expand, reads over
//! their time budget (in-process, on both backends), and image decompression bombs
//! (against the real binary, whose memory is measured).

use std::time::{Duration, Instant};

use base64::Engine;
use beffroi_model::security::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::support::{Reply, Server, TestApp, TestDb, path};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

async fn send(app: &TestApp, method: &str, uri: &str, auth: &str, body: Value) -> Reply {
    app.send_json(method, uri, auth, body).await
}

/// Takes every connection of the pool that serves reads.
async fn hold_all_connections(db: &TestDb) -> Vec<beffroi_store::Conn> {
    let mut held = Vec::new();
    while let Ok(Ok(c)) = tokio::time::timeout(Duration::from_millis(200), db.store.conn()).await {
        held.push(c);
    }
    held
}

both_backends! {
    async fn recurrences_denser_than_daily_are_refused_and_stored_ones_render_fast(db) {
        let s = db.site("s").await;
        db.user(&s, "paul", "contributor password", "", &[Role::Contributor]).await;
        let auth = format!("Basic {}", B64.encode("paul:contributor password"));
        let app = TestApp::new(&db).await;
        let event = |rule: &str| json!({
            "@type": "Event", "title": "Permanence",
            "start": "2016-01-01T00:00:00+00:00", "end": "2016-01-01T01:00:00+00:00", "recurrence": rule,
        });
        for rule in ["RRULE:FREQ=SECONDLY", "RRULE:FREQ=HOURLY;COUNT=10", "RRULE:FREQ=DAILY;BYHOUR=8,12,18", "RRULE:FREQ=WEEKLY;INTERVAL=5000"] {
            let r = send(&app, "POST", "/s", &auth, event(rule)).await;
            assert_eq!(r.status, 400, "{rule}: {}", r.body);
            assert_eq!(r.json()["type"], "BadRequest");
            assert!(r.json()["message"].as_str().unwrap().contains("recurrence"), "{}", r.body);
        }
        let r = send(&app, "POST", "/s", &auth, event("RRULE:FREQ=WEEKLY;BYDAY=FR")).await;
        assert_eq!(r.status, 201, "{}", r.body);

        // A rule stored before the checks existed (written around them, in the store):
        // its page is still quick, and lists no date rather than stalling.
        let p = path("/permanence");
        let mut tx = db.store.begin().await.unwrap();
        let mut row = tx.db().item_by_path(&s.scope(), &p).await.unwrap().unwrap();
        row.fields.insert("recurrence".into(), json!("RRULE:FREQ=SECONDLY"));
        tx.db().update_item(&s.scope(), &row).await.unwrap();
        tx.commit().await.unwrap();
        let t = Instant::now();
        let page = app.get_with("/s/permanence", &[("authorization", &auth)]).await;
        let took = t.elapsed();
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Permanence"));
        assert!(took < Duration::from_secs(3), "the page took {took:?}");
        eprintln!("page of a stored FREQ=SECONDLY event from 2016: {took:?}");
    }

    async fn a_read_over_its_time_budget_gets_503_and_writes_have_none(db) {
        let s = db.site("s").await;
        db.user(&s, "ed", "editor password", "", &[Role::SiteAdministrator]).await;
        let auth = format!("Basic {}", B64.encode("ed:editor password"));
        db.add(&s, "/", "Document", json!({"title": "Horaires"})).await;
        let options = beffroi_web::WebOptions { request_timeout: Some(Duration::from_millis(300)), ..Default::default() };
        let app = TestApp::with_options(db.services.clone(), options).await;
        // Every connection for reads is taken: a read waits for one (up to the pool's
        // 5 s) past its budget.
        let held = hold_all_connections(&db).await;
        let t = Instant::now();
        let r = app.get_json("/s/horaires").await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(t.elapsed() < Duration::from_secs(3), "stopped at its budget, not the pool's: {:?}", t.elapsed());
        assert_eq!(r.json()["type"], "ServiceUnavailable");
        assert!(r.json()["message"].as_str().unwrap().contains("took longer than 300 ms"), "{}", r.body);
        let page = app.get("/s/horaires").await;
        assert_eq!(page.status, 503);
        assert!(page.header("content-type").starts_with("text/html"));
        drop(held);
        assert_eq!(app.get("/s/horaires").await.status, 200);
        // A write has no budget: this one waits past 300 ms for the connections (on
        // PostgreSQL; SQLite writes on a connection of their own) and is not stopped.
        let held = hold_all_connections(&db).await;
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            drop(held);
        });
        let r = send(&app, "POST", "/s", &auth, json!({"@type": "Document", "title": "Écrit sans limite"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        release.await.unwrap();
    }
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Bits of a deflate stream, least significant first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, sent most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A decompression bomb: a valid PNG of `w`×`h` black RGB pixels, its zlib data one
/// fixed-Huffman block of a zero byte and copies of 258 of them (13 bits for 258 bytes:
/// 4.8 MB for the 768 MB of 16000×16000).
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    // Each row: its filter byte, then 3 bytes a pixel.
    let total = u64::from(h) * (1 + 3 * u64::from(w));
    let mut bits = Bits::default();
    bits.put(1, 1); // the last block
    bits.put(1, 2); // fixed Huffman codes
    bits.code(0x30, 8); // the literal 0
    let mut left = total - 1;
    while left >= 258 {
        bits.code(0xC5, 8); // length 258 (code 285)
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0x30, 8);
    }
    bits.code(0, 7); // end of block
    let mut zlib = vec![0x78, 0x01];
    zlib.extend_from_slice(&bits.finish());
    // Adler-32 of zero bytes: a = 1, b = their count.
    zlib.extend_from_slice(&((((total % 65521) as u32) << 16) | 1).to_be_bytes());
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn image_json(title: &str, png: &[u8]) -> Vec<u8> {
    json!({
        "@type": "Image", "title": title,
        "image": {"data": B64.encode(png), "encoding": "base64", "filename": "x.png", "content-type": "image/png"}
    })
    .to_string()
    .into_bytes()
}

#[test]
fn image_bombs_are_refused_and_one_large_scale_is_made_once_in_bounded_memory() {
    let data = tempfile::tempdir().unwrap();
    let cli = |args: &[&str], stdin: &str| {
        let (code, _, err) = crate::cli::beffroi_stdin(data.path(), args, stdin);
        assert_eq!(code, 0, "{args:?}: {err}");
    };
    cli(&["site", "create", "s", "--title", "Commune"], "");
    cli(
        &["user", "create", "--site", "s", "paul", "--role", "Contributor", "--password-stdin"],
        "contributor password\n",
    );
    cli(
        &["user", "create", "--site", "s", "ed", "--role", "Site Administrator", "--password-stdin"],
        "editor password\n",
    );
    // The default limit, said aloud: 50 million pixels.
    let server = Server::start(data.path(), &["--max-image-pixels", "50"]);
    let json = [("content-type", "application/json"), ("accept", "application/json")];
    let as_user = |who: &str| format!("Basic {}", B64.encode(who));

    // (a) A 4.8 MB file of 16000×16000 pixels (768 MB decoded): refused from its header.
    let bomb = png_bomb(16_000, 16_000);
    assert!(bomb.len() < 5 << 20);
    assert_eq!(image::load_from_memory(&png_bomb(300, 200)).unwrap().width(), 300, "a valid PNG");
    let paul = as_user("paul:contributor password");
    let mut headers = json.to_vec();
    headers.push(("authorization", &paul));
    let (status, body) = server.request("POST", "/s", &headers, &image_json("Bombe", &bomb)).unwrap();
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("image: the image is too large (16000×16000"), "{body}");
    let after_bomb = server.peak_memory();
    assert!(after_bomb < 150 << 20, "the bomb took the server to {} MB", after_bomb >> 20);

    // (b) A public 7000×7000 image (49 million pixels, 147 MB decoded), cheap to
    // compress and to send.
    let side = 7000;
    let mut large = std::io::Cursor::new(Vec::new());
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut large),
        &vec![90u8; (side * side * 3) as usize],
        side,
        side,
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    let ed = as_user("ed:editor password");
    let mut headers = json.to_vec();
    headers.push(("authorization", &ed));
    let (status, body) = server.request("POST", "/s", &headers, &image_json("Vue aérienne", large.get_ref())).unwrap();
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    // Images have no workflow of their own: this one is public like the site root.
    assert_eq!(server.request("GET", "/s/vue-aerienne", &[], b"").unwrap().0, 200);

    // Eight visitors at once ask for a scale nobody has made yet.
    let started = Instant::now();
    let answers: Vec<(u16, Vec<u8>)> = std::thread::scope(|scope| {
        let asks: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| server.request("GET", "/s/vue-aerienne/@@images/image/preview", &[], b"").unwrap()))
            .collect();
        asks.into_iter().map(|a| a.join().unwrap()).collect()
    });
    let took = started.elapsed();
    let peak = server.peak_memory();
    eprintln!(
        "peak memory: {} MB after the bomb, {} MB after 8 scale requests ({took:?})",
        after_bomb >> 20,
        peak >> 20
    );
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{}", String::from_utf8_lossy(body));
        assert_eq!(body, &answers[0].1, "the same scale for everyone");
    }
    let scale = image::load_from_memory(&answers[0].1).unwrap();
    assert_eq!((scale.width(), scale.height()), (400, 400));
    assert!(peak < 300 << 20, "the server's memory peaked at {} MB", peak >> 20);
}
