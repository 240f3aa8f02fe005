//! The web page's sign-in as an attacker on the LAN meets it: guessing is
//! held back per address and per account (429 with Retry-After) and ends in
//! a lockout the hub's operator lifts with `sync178-hub web unlock`; after
//! signing in the browser goes to local paths only; a cross-site POST is
//! refused even with a good token; error bodies stay short whatever the
//! query. Driven on the page's router with peer addresses of TEST-NET-1
//! (192.0.2.0/24) set as the connection's address: nothing leaves loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use sync178_hub::config::{NodeLink, WebConfig};
use sync178_hub::web::{self, guard};
use sync178_hub::{Config, Hub};
use sync178_node::certs::{issue_province, province_files};
use sync178_shared::tls::{Identity, Role};
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const TOPOLOGY: &str = "\
province_code,province_name,district_code,district_name,commune_code,commune_name
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11950,Phường Lam Sơn
";
const LAN_TOKEN: &str = "token-of-lan-0123456789abcdef";
const MINH_TOKEN: &str = "token-of-minh-0123456789abcdef";

/// A hub (not following anything) with a tokens file for `lan` and `minh`.
struct Page {
    dir: tempfile::TempDir,
    config: Config,
    hub: Arc<Hub>,
    tokens: PathBuf,
}

impl Page {
    fn new() -> Page {
        let dir = tempfile::tempdir().expect("tempdir");
        let topo = dir.path().join("topology.csv");
        std::fs::write(&topo, TOPOLOGY).expect("writes topology");
        let t = Topology::from_csv_path(&topo).unwrap_or_else(|e| panic!("{e}"));
        let p33: UnitId = "p33".parse().expect("unit");
        let pki = dir.path().join("pki");
        issue_province(&t, p33, &pki).unwrap_or_else(|e| panic!("certs: {e}"));
        let tokens = dir.path().join("web-tokens");
        std::fs::write(
            &tokens,
            format!(
                "{}\n{}\n",
                web::auth::token_line("lan", LAN_TOKEN),
                web::auth::token_line("minh", MINH_TOKEN)
            ),
        )
        .expect("writes tokens");
        let config = Config {
            data_dir: dir.path().join("hub"),
            topology: topo,
            listen: ([127, 0, 0, 1], 0).into(),
            node: NodeLink {
                endpoint: "https://127.0.0.1:9".into(),
                unit: p33,
            },
            tls: province_files(&pki, Identity::new(p33, Role::Hub)),
            tipoff_deadline_days: 20,
            snapshot_every_ms: 1000,
            web: Some(WebConfig {
                tokens_file: Some(tokens.clone()),
                ..WebConfig::default()
            }),
        };
        let (hub, _) = sync178_hub::open(&config).unwrap_or_else(|e| panic!("{e}"));
        Page {
            dir,
            config,
            hub,
            tokens,
        }
    }

    fn router(&self) -> axum::Router {
        let cfg = WebConfig {
            tokens_file: Some(self.tokens.clone()),
            ..WebConfig::default()
        };
        web::router(self.hub.clone(), &cfg, false, CancellationToken::new()).expect("router")
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn call(app: &axum::Router, peer: &str, mut req: Request<Body>) -> Answer {
    let addr: SocketAddr = peer.parse().expect("addr");
    req.extensions_mut().insert(ConnectInfo(addr));
    let r = app.clone().oneshot(req).await.expect("answers");
    let status = r.status();
    let headers = r.headers().clone();
    let body = axum::body::to_bytes(r.into_body(), 4 << 20)
        .await
        .expect("body");
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn login(operator: &str, token: &str, next: &str) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "operator={}&token={}&next={}",
            enc(operator),
            enc(token),
            enc(next)
        )))
        .expect("request")
}

fn bearer(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request")
}

fn retry_after(a: &Answer) -> Option<u64> {
    a.headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

fn location(a: &Answer) -> Option<&str> {
    a.headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn login_rate_limited() {
    let page = Page::new();
    let app = page.router();
    let attacker = "192.0.2.66:50000";
    let mut unauthorized: u32 = 0;
    let mut last = None;
    for i in 0..1000 {
        let a = call(&app, attacker, login("lan", &format!("guess-{i}"), "/")).await;
        match a.status {
            StatusCode::UNAUTHORIZED => {
                assert!(
                    last.is_none(),
                    "guess {i} was checked after being held back"
                );
                unauthorized += 1;
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let secs = retry_after(&a).unwrap_or_else(|| panic!("guess {i}: no Retry-After"));
                assert!(secs >= 1, "guess {i}: Retry-After {secs}");
                assert!(a.body.contains("sync178"), "the sign-in page explains");
                last = Some(i);
            }
            other => panic!("guess {i}: {other} {}", a.body),
        }
    }
    assert!(
        unauthorized <= guard::FREE_FAILURES + 1,
        "{unauthorized} guesses were checked"
    );
    assert_eq!(last, Some(999), "the guessing ends in 429s");
    // Even the right token is held back from that address now.
    let a = call(&app, attacker, login("minh", MINH_TOKEN, "/")).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.headers.get(header::SET_COOKIE).is_none());
    // Another operator at another address signs in.
    let a = call(
        &app,
        "192.0.2.20:40000",
        login("minh", MINH_TOKEN, "/health"),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(location(&a), Some("/health"));
    assert!(a.headers.get(header::SET_COOKIE).is_some());

    // Bearer tokens on the API are held back the same way, per address.
    let mut held = 0;
    for i in 0..1000 {
        let a = call(&app, "192.0.2.67:1", bearer("/api/units", &format!("g{i}"))).await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(
                retry_after(&a).is_some(),
                "bearer guess {i}: no Retry-After"
            );
            held += 1;
        } else {
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "bearer guess {i}");
        }
    }
    assert!(held >= 1000 - (guard::FREE_FAILURES as usize + 1), "{held}");
    let a = call(&app, "192.0.2.68:1", bearer("/api/units", LAN_TOKEN)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

/// Runs `sync178-hub` with `args`.
fn hub_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sync178-hub"))
        .env_remove("SYNC178_HUB_CONFIG")
        .env_remove("SYNC178_LANG")
        .args(args)
        .output()
        .expect("runs sync178-hub")
}

#[tokio::test]
async fn lockout_can_be_lifted() {
    let page = Page::new();
    let app = page.router();
    let config_path = page.dir.path().join("hub.toml");
    std::fs::write(
        &config_path,
        toml::to_string(&page.config).unwrap_or_else(|e| panic!("{e}")),
    )
    .expect("writes hub.toml");
    let config_arg = config_path.display().to_string();
    let attacker = "192.0.2.66:50000";
    for i in 0..guard::LOCK_AFTER {
        call(&app, attacker, login("lan", &format!("guess-{i}"), "/")).await;
    }
    // The account is locked: lan's own token from lan's own desk is refused.
    let a = call(&app, "192.0.2.10:40000", login("lan", LAN_TOKEN, "/")).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    assert_eq!(retry_after(&a), Some(guard::LOCKED_RETRY.as_secs()));
    assert!(a.body.contains("sync178-hub web unlock"), "{}", a.body);
    // No waiting lifts it.
    let a = call(&app, "192.0.2.10:40000", login("lan", LAN_TOKEN, "/")).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);

    // Something that is neither an address nor an operator's name: 64, nothing written.
    let out = hub_cli(&[
        "web",
        "unlock",
        "--config",
        &config_arg,
        "lan",
        "not a name",
    ]);
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a name"));
    let a = call(&app, "192.0.2.10:40000", login("lan", LAN_TOKEN, "/")).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);

    // The hub's operator lifts the account's lock on the running hub.
    let out = hub_cli(&[
        "--lang",
        "en",
        "web",
        "unlock",
        "--config",
        &config_arg,
        "lan",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Unlock requested"));
    let a = call(&app, "192.0.2.10:40000", login("lan", LAN_TOKEN, "/")).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    // The attacker's address stays locked until lifted too.
    let a = call(&app, attacker, login("minh", MINH_TOKEN, "/")).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    let out = hub_cli(&["web", "unlock", "--config", &config_arg, "192.0.2.66"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let a = call(&app, attacker, login("minh", MINH_TOKEN, "/")).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
}

#[tokio::test]
async fn next_tab_refused() {
    let page = Page::new();
    let app = page.router();
    for (next, goes_to) in [
        ("/\t/evil.example", "/"),
        ("/\r\n/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("/ /evil.example", "/"),
        ("/login?next=//evil.example", "/"),
        ("/unit/d323?period=2024", "/unit/d323?period=2024"),
        ("/health", "/health"),
    ] {
        let a = call(&app, "192.0.2.10:40000", login("lan", LAN_TOKEN, next)).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{next:?}: {}", a.body);
        assert_eq!(location(&a), Some(goes_to), "{next:?}");
        // The form offered with that next carries only a safe one.
        let form = call(
            &app,
            "127.0.0.1:1",
            Request::get(format!("/login?next={}", enc(next)))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert!(
            form.body.contains(&format!(
                r#"name="next" value="{}""#,
                goes_to.replace('&', "&amp;")
            )),
            "{next:?}"
        );
    }
}

#[tokio::test]
async fn cross_site_login_refused() {
    let page = Page::new();
    let app = page.router();
    let host = "hub.example:7380";
    let with = |name: header::HeaderName, value: &str| {
        let mut r = login("lan", LAN_TOKEN, "/");
        r.headers_mut()
            .insert(header::HOST, host.parse().expect("host"));
        r.headers_mut().insert(name, value.parse().expect("value"));
        r
    };
    for (name, value) in [
        (header::ORIGIN, "https://evil.example"),
        (header::ORIGIN, "null"),
        (header::ORIGIN, "http://hub.example:7380.evil.example"),
        (header::REFERER, "https://evil.example/page"),
    ] {
        let a = call(&app, "192.0.2.10:40000", with(name.clone(), value)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{name}: {value}");
        assert!(
            a.headers.get(header::SET_COOKIE).is_none(),
            "{name}: {value} got a session"
        );
    }
    // Signing out from another site is refused too.
    let mut out = Request::post("/logout")
        .body(Body::empty())
        .expect("request");
    out.headers_mut()
        .insert(header::HOST, host.parse().expect("host"));
    out.headers_mut().insert(
        header::ORIGIN,
        "https://evil.example".parse().expect("origin"),
    );
    assert_eq!(
        call(&app, "127.0.0.1:1", out).await.status,
        StatusCode::FORBIDDEN
    );
    // From the page itself it works.
    let a = call(
        &app,
        "192.0.2.10:40000",
        with(header::ORIGIN, "http://hub.example:7380"),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert!(a.headers.get(header::SET_COOKIE).is_some());
    // Our pages send their origin on their own form posts.
    let form = call(
        &app,
        "127.0.0.1:1",
        Request::get("/login").body(Body::empty()).expect("request"),
    )
    .await;
    assert_eq!(
        form.headers
            .get(header::REFERRER_POLICY)
            .and_then(|v| v.to_str().ok()),
        Some("same-origin")
    );
}

#[tokio::test]
async fn api_error_body_bounded() {
    let page = Page::new();
    let app = page.router();
    let long = "x".repeat(60_000);
    for path in [
        format!("/api/rollup?unit={long}"),
        format!("/api/kpis?year={long}"),
        format!("/api/rollup?unit=p33&period={long}"),
        format!("/api/breakdown?period={long}"),
        format!("/unit/{long}"),
    ] {
        let a = call(
            &app,
            "127.0.0.1:1",
            Request::get(&path).body(Body::empty()).expect("request"),
        )
        .await;
        assert!(a.status.is_client_error(), "{}: {}", &path[..30], a.status);
        let echoed = a.body.split(|c| c != 'x').map(str::len).max().unwrap_or(0);
        assert!(
            echoed <= web::api::MAX_MESSAGE,
            "{}: {echoed} characters of the query echoed",
            &path[..30]
        );
        if path.starts_with("/api/") {
            assert!(
                a.body.len() < 1_000,
                "{}: {} bytes",
                &path[..30],
                a.body.len()
            );
            let v: serde_json::Value = serde_json::from_str(&a.body).expect("json");
            assert!(v["error"].is_string(), "{}", a.body);
        }
    }
}
