//! The operator web page end to end, in Debian's headless Chromium driven
//! through chromedriver (WebDriver): a small Hưng Yên province in-process, a
//! hub following it with its web page on 127.0.0.1, a year of generated
//! activity. The page must show the KPIs a replay of the province's log gives,
//! let the operator click into a district and a commune, switch to English,
//! and update by itself (no reload) when a new event arrives. Screenshots of
//! the overview and a district page at 1366×768 go to
//! `target/web-screenshots/`.
//!
//! Access off loopback is checked on the page's router with a peer address
//! that is not loopback (192.0.2.10, TEST-NET-1, set as the connection's
//! address): this workplace sends no traffic to any address but loopback.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver`
//! (`tests/scripts/install-browser.sh`); fails, never skips, without them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use sync178_hub::config::WebConfig;
use sync178_hub::follower::decode_batch;
use sync178_hub::state::State;
use sync178_hub::{Hub, kpi, query, web, workload};
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::{FeedBatch, FeedItem, Kpi, KpiResponse, KpiValue};
use sync178_shared::testing::draft;
use sync178_shared::unit::{Level, UnitId};
use sync178_tests::cluster::{Cluster, hung_yen};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const YEAR: i32 = 2024;
const WAIT: Duration = Duration::from_secs(30);

fn on_path(name: &str) -> Option<PathBuf> {
    let fixed = Path::new("/usr/bin").join(name);
    if fixed.is_file() {
        return Some(fixed);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

/// Debian's chromium and chromedriver, or a failure that says how to install them.
fn browser() -> (PathBuf, PathBuf) {
    match (on_path("chromium"), on_path("chromedriver")) {
        (Some(c), Some(d)) => (c, d),
        (c, d) => panic!(
            "the web page's end-to-end test needs Debian's headless browser: chromium {} and chromedriver {}. \
             Run tests/scripts/install-browser.sh (apt-get install chromium chromium-driver) and run the test again.",
            if c.is_some() { "found" } else { "MISSING" },
            if d.is_some() { "found" } else { "MISSING" },
        ),
    }
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("web-screenshots");
    std::fs::create_dir_all(&dir).expect("creates target/web-screenshots");
    dir
}

/// A minimal HTTP/1.1 GET on loopback: status, headers (lowercase names),
/// body (by Content-Length, else to the end: chromedriver keeps connections open).
async fn http_get(addr: SocketAddr, path: &str) -> (u16, HashMap<String, String>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.expect("connects");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("writes");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let split = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = tokio::time::timeout(WAIT, s.read(&mut chunk))
            .await
            .expect("answers in time")
            .expect("reads");
        assert!(n > 0, "{addr}{path}: connection closed before the headers");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[split + 4..].to_vec();
    match headers
        .get("content-length")
        .and_then(|l| l.parse::<usize>().ok())
    {
        Some(len) => {
            while body.len() < len {
                let n = tokio::time::timeout(WAIT, s.read(&mut chunk))
                    .await
                    .expect("answers in time")
                    .expect("reads");
                assert!(n > 0, "{addr}{path}: body cut short");
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(len);
        }
        None => {
            tokio::time::timeout(WAIT, s.read_to_end(&mut body))
                .await
                .expect("ends in time")
                .expect("reads");
        }
    }
    (status, headers, body)
}

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: std::process::Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(bin: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let d = Driver { child, port };
        // Ready when its /status says so (polled, bounded).
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let start = Instant::now();
        loop {
            if let Ok(Ok(s)) =
                tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await
            {
                drop(s);
                let (code, _, body) = http_get(addr, "/status").await;
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                if code == 200 && v["value"]["ready"] == serde_json::Value::Bool(true) {
                    return d;
                }
            }
            assert!(
                start.elapsed() < WAIT,
                "chromedriver did not become ready on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn browser(&self, chromium: &Path, profile: &Path) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1366,768", "--lang=vi",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let b = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a chromium session");
        // A 1366×768 viewport: the window is that plus whatever the browser
        // keeps around the page.
        let frame = b
            .execute("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];", vec![])
            .await
            .expect("measures the window");
        let dw = frame[0].as_u64().unwrap_or(0) as u32;
        let dh = frame[1].as_u64().unwrap_or(0) as u32;
        b.set_window_size(1366 + dw, 768 + dh)
            .await
            .expect("sizes the window");
        b
    }

    fn stop(self) {
        drop(self);
    }
}

/// Replays the province's log (read through its feed) into a fresh state:
/// the KPIs computed apart from the hub that serves the page.
async fn replayed_kpis(c: &Cluster) -> KpiResponse {
    let log = c.read_log(c.province).await;
    let batch = FeedBatch {
        items: log
            .into_iter()
            .map(|(position, event)| FeedItem { position, event })
            .collect(),
    };
    let events = decode_batch(batch, 0).expect("decodes");
    let by_key: HashMap<(String, u64), sync178_shared::proto::v1::Event> = events
        .iter()
        .map(|(_, e)| ((e.origin.clone(), e.seq), e.clone()))
        .collect();
    let mut fetch = |o: UnitId, s: u64| by_key.get(&(o.to_string(), s)).cloned();
    let mut state = State::default();
    for (pos, ev) in &events {
        let _ = state.apply(&*c.topology, *pos, ev, 0, &mut fetch);
    }
    query::kpis(&state, &c.topology, c.province, YEAR as u32, 20, false)
        .expect("kpis of the replay")
}

/// A KPI's value as the Vietnamese page writes it, by hand: `62,5%`, `<5`, `không có`.
fn vi_value(k: &KpiValue) -> String {
    if k.suppressed {
        "<5".into()
    } else if !k.has_value {
        "không có".into()
    } else {
        let tenths = k.value_bp / 10;
        format!("{},{}%", tenths / 10, tenths % 10)
    }
}

fn vi_int(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, ch) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(ch);
    }
    out
}

fn en_int(n: u64) -> String {
    vi_int(n).replace('.', ",")
}

async fn wait_checkpoint(hub: &Hub, want: u64) {
    let mut rx = hub.changed.subscribe();
    let start = Instant::now();
    while *rx.borrow_and_update() < want {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "hub stuck at {} of {want}",
            hub.read().checkpoint
        );
        let _ = tokio::time::timeout(Duration::from_millis(500), rx.changed()).await;
    }
    assert_eq!(
        hub.read().checkpoint,
        want,
        "hub applied more than the log holds"
    );
}

async fn text(b: &Client, css: &str) -> String {
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} not on the page: {e}"))
        .text()
        .await
        .expect("text")
}

/// Waits (bounded) until the element's text satisfies `ok`; returns it.
async fn wait_text(b: &Client, css: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let t = match b.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if ok(&t) {
            return t;
        }
        assert!(start.elapsed() < WAIT, "{what}: {css} still shows {t:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_url(b: &Client, part: &str) -> String {
    let start = Instant::now();
    loop {
        let u = b.current_url().await.expect("url").to_string();
        if u.contains(part) {
            return u;
        }
        assert!(
            start.elapsed() < WAIT,
            "the browser did not reach {part}; it is at {u}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
    (be(16), be(20))
}

async fn screenshot(b: &Client, name: &str) -> PathBuf {
    let png = b.screenshot().await.expect("screenshot");
    assert_eq!(
        png_size(&png),
        (1366, 768),
        "screenshot of {name} is not 1366×768"
    );
    let path = screenshots_dir().join(name);
    std::fs::write(&path, &png).expect("writes screenshot");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_page_shows_the_kpis_drills_down_switches_language_and_updates_live() {
    let (chromium, chromedriver) = browser();
    let c = Cluster::start(&hung_yen(2, 2)).await;

    // The hub, with its web page on a loopback port of our own.
    let config = c.hub_config();
    let (hub, tls) = sync178_hub::open(&config).expect("hub opens");
    let shutdown = CancellationToken::new();
    let grpc = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let hub_task = tokio::spawn(sync178_hub::run_with(
        hub.clone(),
        tls,
        config,
        grpc,
        shutdown.clone(),
    ));
    let web_listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let web_addr = web_listener.local_addr().expect("addr");
    let web_task = tokio::spawn(web::serve(
        hub.clone(),
        web_listener,
        WebConfig::default(),
        None,
        shutdown.clone(),
    ));

    // A year of activity, all of it through the province to the hub.
    let (planned, tally) = workload::year(&c.topology, c.province, YEAR, 7, 1);
    c.submit_planned(&planned).await;
    let start = Instant::now();
    while c.status(c.province).await.log_length < tally.events {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the province did not receive everything"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let len = c.status(c.province).await.log_length;
    assert_eq!(len, tally.events);
    wait_checkpoint(&hub, len).await;
    let expected = replayed_kpis(&c).await;
    let client_refs: Vec<String> = planned
        .iter()
        .filter_map(
            |p| match p.draft.body.as_ref().and_then(|b| b.kind.as_ref()) {
                Some(Kind::ClientNeedAssessed(x)) => Some(x.client_ref.clone()),
                Some(Kind::SupportServiceProvided(x)) => Some(x.client_ref.clone()),
                _ => None,
            },
        )
        .collect();
    assert!(!client_refs.is_empty());

    // The JSON API answers what a replay computes.
    let (code, h, body) = http_get(
        web_addr,
        &format!("/api/kpis?unit={}&year={YEAR}", c.province),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        h.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let api: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        api,
        serde_json::to_value(&expected).expect("json"),
        "the API's KPIs differ from a replay's"
    );
    let (code, _, body) = http_get(web_addr, "/api/kpis?unit=zz9&year=2024").await;
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    assert!(serde_json::from_slice::<serde_json::Value>(&body).expect("json")["error"].is_string());
    let (code, _, _) = http_get(web_addr, "/api/rollup?unit=p01&period=2024").await;
    assert_eq!(code, 404, "a unit outside the hub's province");
    let (code, _, _) = http_get(web_addr, "/api/breakdown?period=1999").await;
    assert_eq!(code, 404, "nothing recorded in 1999");
    // CSV: UTF-8 with BOM, as an attachment, Vietnamese labels.
    let (code, h, body) = http_get(
        web_addr,
        &format!("/export/kpis.csv?unit={}&year={YEAR}", c.province),
    )
    .await;
    assert_eq!(code, 200);
    assert!(
        h.get("content-disposition")
            .is_some_and(|d| d.starts_with("attachment")),
        "{h:?}"
    );
    assert!(body.starts_with("\u{feff}".as_bytes()), "no BOM");
    let csv = String::from_utf8(body).expect("utf-8");
    assert!(csv.contains("Tỷ lệ cơ sở được kiểm tra"), "{csv}");
    assert!(!client_refs.iter().any(|r| csv.contains(r.as_str())));
    let (code, _, body) = http_get(
        web_addr,
        &format!("/export/breakdown.csv?unit={}&period={YEAR}-Q2", c.province),
    )
    .await;
    assert_eq!(code, 200);
    assert!(
        String::from_utf8(body)
            .expect("utf-8")
            .contains("Cuộc kiểm tra")
    );

    // The browser.
    let driver = Driver::start(&chromedriver).await;
    let profile = tempfile::tempdir().expect("profile dir");
    let b = driver.browser(&chromium, profile.path()).await;
    let base = format!("http://{web_addr}");

    // The overview shows every KPI as the replay computed it, Vietnamese style.
    b.goto(&format!("{base}/"))
        .await
        .expect("loads the overview");
    let province_name = c.topology.name(c.province).expect("name").to_string();
    assert_eq!(text(&b, "header .org").await, province_name);
    for k in &expected.kpis {
        let kpi = Kpi::try_from(k.kpi).expect("kpi");
        let css = format!("#kpi-{} .k-value", kpi::name(kpi));
        assert_eq!(
            text(&b, &css).await,
            vi_value(k),
            "{css}: the page and a replay disagree"
        );
    }
    let cov = expected
        .kpis
        .iter()
        .find(|k| k.kpi == Kpi::InspectionCoverage as i32)
        .expect("coverage");
    assert!(
        cov.has_value && cov.denominator > 0,
        "the workload has businesses: {cov:?}"
    );
    assert_eq!(
        text(&b, "#kpi-inspection_coverage .k-frac").await,
        format!("{} / {}", vi_int(cov.numerator), vi_int(cov.denominator))
    );
    let shot_overview = screenshot(&b, "overview.png").await;
    // The chart and tables of the districts, further down (an extra artefact).
    b.execute(
        "document.getElementById('by-unit').scrollIntoView(); return true;",
        vec![],
    )
    .await
    .expect("scrolls");
    screenshot(&b, "overview-districts.png").await;

    // Into a district…
    let district = c.topology.children(c.province)[0];
    let district_name = c.topology.name(district).expect("name").to_string();
    let link = b
        .find(Locator::Css(&format!(
            "table.kpis td.name a[href^='/unit/{district}']"
        )))
        .await
        .expect("a district link in the KPI table");
    link.click().await.expect("clicks the district");
    wait_url(&b, &format!("/unit/{district}")).await;
    assert_eq!(text(&b, "main h1").await, district_name);
    assert!(text(&b, "nav.crumbs").await.contains(&province_name));
    let shot_district = screenshot(&b, "district.png").await;

    // …sorted by inspection coverage, high to low, by its column header…
    b.find(Locator::Css(
        "table.kpis th a[href*='sort=k.inspection_coverage']",
    ))
    .await
    .expect("sortable header")
    .click()
    .await
    .expect("clicks the header");
    wait_url(&b, "sort=k.inspection_coverage").await;
    let mut communes: Vec<(u32, String)> = {
        let s = hub.read();
        c.topology
            .children(district)
            .iter()
            .map(|u| {
                let r = query::kpis(&s, &c.topology, *u, YEAR as u32, 20, false).ok();
                let v = r
                    .and_then(|r| {
                        r.kpis
                            .into_iter()
                            .find(|k| k.kpi == Kpi::InspectionCoverage as i32)
                    })
                    .filter(|k| k.has_value)
                    .map_or(0, |k| k.value_bp + 1);
                (v, c.topology.name(*u).expect("name").to_string())
            })
            .collect()
    };
    communes.sort_by_key(|x| std::cmp::Reverse(x.0));
    assert_eq!(
        text(&b, "table.kpis tbody tr:first-child td.name").await,
        communes[0].1,
        "sorted high to low"
    );

    // …and into a commune: counts by month, no personal data.
    let commune = c.topology.children(district)[0];
    b.find(Locator::Css(&format!(
        "table.kpis td.name a[href^='/unit/{commune}']"
    )))
    .await
    .expect("a commune link")
    .click()
    .await
    .expect("clicks the commune");
    wait_url(&b, &format!("/unit/{commune}")).await;
    assert_eq!(
        text(&b, "main h1").await,
        c.topology.name(commune).expect("name")
    );
    let recent = text(&b, "#recent").await;
    assert!(recent.contains("Tháng 12/2024"), "{recent}");
    let source = b.source().await.expect("page source");
    assert!(
        !client_refs.iter().any(|r| source.contains(r.as_str())),
        "a client ref is on the commune page"
    );
    screenshot(&b, "commune.png").await;

    // English.
    b.find(Locator::Id("lang-en"))
        .await
        .expect("language switch")
        .click()
        .await
        .expect("clicks English");
    wait_text(&b, "#recent h2", "English", |t| {
        t == "Recent activity by month"
    })
    .await;
    assert!(text(&b, "#recent").await.contains("December 2024"));

    // Back to the overview (still English: the choice is remembered), then a
    // new awareness activity appears without a reload.
    b.goto(&format!("{base}/")).await.expect("overview");
    wait_text(&b, "#kpis h2", "English overview", |t| {
        t.starts_with("KPIs")
    })
    .await;
    let (before, quiet) = {
        let s = hub.read();
        let before = query::rollup(
            &s,
            &c.topology,
            c.province,
            sync178_shared::period::Period::Year { year: YEAR },
            false,
        )
        .expect("rollup")
        .metrics
        .iter()
        .find(|m| m.name == "awareness.activities")
        .map_or(0, |m| m.value);
        // A commune with no awareness activity this year, if any, so a KPI moves too.
        let quiet = kpi::communes(&c.topology, c.province)
            .into_iter()
            .find(|u| s.proj.awareness.get(&(*u, YEAR)).is_none_or(|n| *n <= 0));
        (before, quiet)
    };
    let target = quiet.unwrap_or(commune);
    assert_eq!(target.level(), Level::Commune);
    assert_eq!(
        text(&b, "#m-awareness_activities .s-val").await,
        en_int(before)
    );
    let awareness_kpi_before = text(&b, "#kpi-communes_with_awareness .k-value").await;
    b.execute("window.__noReload = 178; return true;", vec![])
        .await
        .expect("marks the window");
    let mut ev = draft(&target.to_string(), 40);
    ev.occurred_on = format!("{YEAR}-06-15");
    if let Some(Kind::AwarenessActivityHeld(a)) = ev.body.as_mut().and_then(|b| b.kind.as_mut()) {
        a.activity_id = "e2e-live".into();
    }
    c.submit_events(target, vec![ev]).await;
    let want = en_int(before + 1);
    wait_text(
        &b,
        "#m-awareness_activities .s-val",
        "the new activity",
        |t| t == want,
    )
    .await;
    if quiet.is_some() {
        wait_text(
            &b,
            "#kpi-communes_with_awareness .k-value",
            "the awareness KPI",
            |t| t != awareness_kpi_before,
        )
        .await;
    }
    let marker = b
        .execute("return window.__noReload || 0;", vec![])
        .await
        .expect("reads the mark");
    assert_eq!(
        marker,
        serde_json::json!(178),
        "the page reloaded instead of updating in place"
    );

    // Sync health, colour-coded (an extra artefact; English by now).
    b.goto(&format!("{base}/health")).await.expect("health");
    wait_text(&b, "main h1", "the health page", |t| {
        t == "Sync and completeness"
    })
    .await;
    screenshot(&b, "health.png").await;

    b.close().await.expect("closes the browser");
    driver.stop();
    for p in [&shot_overview, &shot_district] {
        assert!(
            std::fs::metadata(p).is_ok_and(|m| m.len() > 10_000),
            "{} is empty",
            p.display()
        );
    }

    shutdown.cancel();
    web_task
        .await
        .expect("web task")
        .expect("web page stopped cleanly");
    hub_task
        .await
        .expect("hub task")
        .expect("hub stopped cleanly");
    c.shutdown().await;
}

async fn call(
    app: &axum::Router,
    peer: &str,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = req;
    let addr: SocketAddr = peer.parse().expect("addr");
    req.extensions_mut().insert(ConnectInfo(addr));
    let r = app.clone().oneshot(req).await.expect("answers");
    let status = r.status();
    let headers = r.headers().clone();
    let body = axum::body::to_bytes(r.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, headers, String::from_utf8_lossy(&body).to_string())
}

fn get(path: &str, bearer: Option<&str>, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(t) = bearer {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_loopback_the_page_refuses_anonymous_requests() {
    let c = Cluster::start(&hung_yen(1, 2)).await;
    let (hub, _) = sync178_hub::open(&c.hub_config()).expect("hub opens");
    let token = "e2e-operator-token-0123456789";
    let tokens = c.dir.path().join("web-tokens");
    std::fs::write(
        &tokens,
        format!(
            "# operators of the test\n{}\n",
            web::auth::token_line("lan", token)
        ),
    )
    .expect("writes tokens");
    let shutdown = CancellationToken::new();

    // Listening off loopback without TLS or tokens: refused at start. (Binding
    // the wildcard address sends nothing anywhere.)
    let wild = TcpListener::bind("0.0.0.0:0").await.expect("binds");
    let err = web::serve(
        hub.clone(),
        wild,
        WebConfig::default(),
        None,
        shutdown.clone(),
    )
    .await
    .expect_err("refuses to start exposed");
    assert!(matches!(err, web::WebError::Exposed { .. }), "{err}");
    // The same through the hub's own start with a `[web]` section: the hub
    // does not start at all.
    let mut exposed = c.hub_config();
    exposed.data_dir = c.dir.path().join("hub-exposed");
    exposed.web = Some(WebConfig {
        listen: ([0, 0, 0, 0], 0).into(),
        ..WebConfig::default()
    });
    let (hub2, tls2) = sync178_hub::open(&exposed).expect("hub opens");
    let grpc = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let err = sync178_hub::run_with(hub2, tls2, exposed, grpc, CancellationToken::new())
        .await
        .expect_err("the hub refuses to start");
    assert!(
        matches!(
            err,
            sync178_hub::HubError::Web(web::WebError::Exposed { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("tokens_file"), "{err}");

    let cfg = WebConfig {
        tokens_file: Some(tokens),
        ..WebConfig::default()
    };
    let app = web::router(hub.clone(), &cfg, false, shutdown.clone()).expect("router");
    let lan = "192.0.2.10:40000";
    let (code, h, body) = call(&app, lan, get("/api/units", None, None)).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{body}");
    assert!(h.get(header::WWW_AUTHENTICATE).is_some());
    assert!(serde_json::from_str::<serde_json::Value>(&body).expect("json")["error"].is_string());
    let (code, _, body) = call(&app, lan, get("/", None, None)).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert!(
        body.contains(r#"action="/login""#),
        "the page offers to sign in"
    );
    for path in [
        "/events",
        "/export/kpis.csv",
        "/health",
        &format!("/unit/{}", c.province),
    ] {
        assert_eq!(
            call(&app, lan, get(path, None, None)).await.0,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    assert_eq!(
        call(&app, lan, get("/api/units", Some("wrong"), None))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (code, _, body) = call(&app, lan, get("/api/units", Some(token), None)).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert!(body.contains(&c.province.to_string()));
    // On loopback, no token needed.
    assert_eq!(
        call(&app, "127.0.0.1:40000", get("/api/units", None, None))
            .await
            .0,
        StatusCode::OK
    );

    // The sign-in form: an HttpOnly session cookie, then pages open off loopback.
    let form = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "operator=lan&token={token}&next=%2Fhealth"
        )))
        .expect("request");
    let (code, h, _) = call(&app, lan, form).await;
    assert_eq!(code, StatusCode::SEE_OTHER);
    assert_eq!(
        h.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some("/health")
    );
    let set = h
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a cookie")
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let session = set.split(';').next().expect("name=value").to_string();
    let (code, _, body) = call(&app, lan, get("/health", None, Some(&session))).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let bad = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("operator=lan&token=nope&next=%2F"))
        .expect("request");
    assert_eq!(call(&app, lan, bad).await.0, StatusCode::UNAUTHORIZED);

    c.shutdown().await;
}

/// One HTTPS GET over HTTP/2 (what tonic's TLS acceptor offers by ALPN),
/// presenting `client` (the files of a certificate) if given.
async fn https_get(
    addr: SocketAddr,
    server: UnitId,
    ca: &Path,
    client: Option<&sync178_shared::tls::TlsFiles>,
    path: &str,
) -> (StatusCode, String) {
    use http_body_util::BodyExt;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    sync178_shared::tls::init_crypto();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).expect("ca") {
        roots.add(c.expect("ca cert")).expect("adds ca");
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let mut config = match client {
        Some(f) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&f.cert)
                .expect("cert")
                .map(|c| c.expect("cert"))
                .collect();
            let key = PrivateKeyDer::from_pem_file(&f.key).expect("key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client cert")
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let name = ServerName::try_from(sync178_shared::tls::dns_name(server)).expect("server name");
    let tcp = TcpStream::connect(addr).await.expect("connects");
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .expect("h2 handshake");
    tokio::spawn(conn);
    let req = Request::get(format!(
        "https://{}{path}",
        sync178_shared::tls::dns_name(server)
    ))
    .body(http_body_util::Empty::<bytes::Bytes>::new())
    .expect("request");
    let r = send.send_request(req).await.expect("answers");
    let status = r.status();
    let body = r.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_operator_certificates_sign_in() {
    use sync178_shared::tls::{Identity, Role};
    let c = Cluster::start(&hung_yen(1, 1)).await;
    let (hub, tls) = sync178_hub::open(&c.hub_config()).expect("hub opens");
    let shutdown = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    let cfg = WebConfig {
        tls: true,
        ..WebConfig::default()
    };
    // TLS asked for but no certificate given: refused.
    let other = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    assert!(matches!(
        web::WebServer::new(hub.clone(), other, &cfg, None, shutdown.clone()),
        Err(web::WebError::NoTls)
    ));
    let task = tokio::spawn(web::serve(
        hub.clone(),
        listener,
        cfg,
        Some(tls),
        shutdown.clone(),
    ));

    let operator = c.files(Identity::new(c.province, Role::Operator));
    let ca = operator.ca.clone();
    // With the operator's certificate the page knows who is asking.
    let (code, body) = https_get(addr, c.province, &ca, Some(&operator), "/").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert!(
        body.contains(&format!("operator {}", c.province)),
        "the page does not name the operator"
    );
    let (code, body) = https_get(addr, c.province, &ca, Some(&operator), "/api/units").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    // A node's certificate is no operator's; without one, loopback still opens.
    let node = c.files(Identity::new(c.province, Role::Node));
    let (code, body) = https_get(addr, c.province, &ca, Some(&node), "/").await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        !body.contains("action=\"/logout\""),
        "a node certificate signed in"
    );
    let (code, _) = https_get(addr, c.province, &ca, None, "/api/units").await;
    assert_eq!(code, StatusCode::OK);

    shutdown.cancel();
    task.await.expect("web task").expect("stopped cleanly");
    c.shutdown().await;
}
