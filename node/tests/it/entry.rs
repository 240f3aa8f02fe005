//! The data-entry page of a running node, over HTTP as a browser speaks it:
//! a form refused with the reason beside its input and nothing stored, the
//! same form stored once however often it is sent, posts from elsewhere
//! refused, and what was stored visible in the node's status.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use sync178_shared::tls::{Identity, Role};

use crate::common::{Node, args, result, sync178_node, unit};

/// Status, `Location` header and body of one HTTP/1.1 exchange.
struct Answer {
    status: u16,
    location: String,
    body: String,
}

/// Sends one request to `addr` with `headers` (Host included) and reads the answer.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut s = TcpStream::connect(addr).expect("connects to the page");
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "POST" {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("sends");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("reads");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_default()
        .to_owned();
    Answer {
        status,
        location,
        body: body.to_owned(),
    }
}

/// The value of hidden input `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {page}"));
    let rest = &page[at + key.len()..];
    rest[..rest.find('"').expect("closing quote")].to_owned()
}

/// Percent-encodes a form value.
fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// An inspection as an officer fills it, with `members` present.
fn inspection(token: &str, id: &str, lang: &str, members: &str) -> String {
    form_body(&[
        ("token", token),
        ("lang", lang),
        ("id", id),
        ("occurred_on", "05/03/2025"),
        ("unit", "c11950"),
        ("recorded_by", "cb-01"),
        ("inspection_id", "KT-01"),
        ("business_id", "KARAOKE-7"),
        ("team_level", "LEVEL_COMMUNE"),
        ("mode", "INSPECTION_MODE_UNANNOUNCED"),
        ("trigger", "INSPECTION_TRIGGER_PLAN"),
        ("members_present", members),
        ("agencies", "AGENCY_POLICE"),
        ("agencies", "AGENCY_CULTURE"),
        ("checks.contracts", "CHECK_OUTCOME_COMPLIANT"),
        ("checks.under18", "CHECK_OUTCOME_COMPLIANT"),
        ("checks.residence", "CHECK_OUTCOME_COMPLIANT"),
        ("checks.health_check", "CHECK_OUTCOME_NOT_CHECKED"),
        ("checks.security", "CHECK_OUTCOME_COMPLIANT"),
        ("checks.culture", "CHECK_OUTCOME_COMPLIANT"),
        ("result", "INSPECTION_RESULT_COMPLIANT"),
        ("workers_reached", "1.200"),
    ])
}

#[test]
fn an_officer_records_through_the_page_and_a_bad_field_is_refused_beside_it() {
    let node = Node::start_with("c11950", true);
    let addr = node.entry.expect("the node serves its page");
    let host = addr.to_string();
    let host = host.as_str();
    let operator = node.conn_args(Identity::new(unit("p33"), Role::Operator));
    let log_length = || {
        let (code, out, err) = result(&sync178_node(&args(
            &["status"],
            &operator,
            &["--node", "c11950", "--json"],
        )));
        assert_eq!(code, Some(0), "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("status json");
        v["log_length"].as_str().map_or_else(
            || v["log_length"].as_u64().unwrap_or(0),
            |s| s.parse().unwrap_or(0),
        )
    };

    // The start page lists the groups and their forms, in Vietnamese.
    let start = http(addr, "GET", "/", &[("Host", host)], "");
    assert_eq!(start.status, 200, "{}", start.body);
    for words in [
        "Phường Lam Sơn (c11950)",
        "Kiểm tra — vi phạm — xử phạt",
        "Kiểm tra cơ sở",
        "Chưa ghi gì.",
    ] {
        assert!(
            start.body.contains(words),
            "{words} missing: {}",
            start.body
        );
    }

    // Every group of the catalogue is there, the programme's own words.
    for words in [
        "Tụ điểm",
        "Đội công tác xã hội tình nguyện",
        "Tập huấn",
        "Mô hình điểm",
        "Xã, phường lành mạnh không có tệ nạn mại dâm",
        "Giao chỉ tiêu",
    ] {
        assert!(start.body.contains(words), "{words} missing");
    }
    // A business change asks yes, no or unchanged; a target takes a percent.
    let change = http(addr, "GET", "/new/business_updated", &[("Host", host)], "");
    assert_eq!(change.status, 200);
    assert!(
        change.body.contains(
            "<select id=\"f-conditional\" name=\"conditional\"><option value=\"\" selected>— không đổi —</option>"
        ),
        "{}",
        change.body
    );
    let target = http(addr, "GET", "/new/target_set", &[("Host", host)], "");
    assert!(
        target.body.contains("Mức chỉ tiêu (%)")
            && target
                .body
                .contains("name=\"target_bp\" value=\"\" inputmode=\"decimal\""),
        "{}",
        target.body
    );

    // The inspection form: today's date, the commune, a token and an id.
    let page = http(
        addr,
        "GET",
        "/new/inspection_conducted",
        &[("Host", host)],
        "",
    );
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Số thành viên có mặt"), "{}", page.body);
    assert!(
        page.body
            .contains("<option value=\"INSPECTION_MODE_UNANNOUNCED\">Đột xuất</option>")
    );
    let (token, id) = (hidden(&page.body, "token"), hidden(&page.body, "id"));

    // Two members present: refused, the reason beside the input, in Vietnamese.
    let bad = http(
        addr,
        "POST",
        "/new/inspection_conducted",
        &[("Host", host), ("Origin", &format!("http://{host}"))],
        &inspection(&token, &id, "vi", "2"),
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    let at = bad
        .body
        .find("id=\"f-members_present\"")
        .expect("the input is shown again");
    let beside = &bad.body[at..at + 400];
    assert!(beside.contains("aria-invalid=\"true\""), "{beside}");
    assert!(
        beside.contains("phải có ít nhất 3 thành viên, nhận được 2"),
        "the reason sits beside its input: {beside}"
    );
    assert!(
        bad.body.contains("value=\"KARAOKE-7\""),
        "typed values are kept"
    );
    assert_eq!(log_length(), 0, "nothing of a refused form is stored");

    // The same refusal in English.
    let bad_en = http(
        addr,
        "POST",
        "/new/inspection_conducted",
        &[("Host", host)],
        &inspection(&token, &id, "en", "2"),
    );
    assert!(
        bad_en.body.contains("must be at least 3, got 2"),
        "{}",
        bad_en.body
    );

    // Corrected: stored, and the start page says so; sent again (a reload),
    // stored once.
    for _ in 0..2 {
        let good = http(
            addr,
            "POST",
            "/new/inspection_conducted",
            &[
                ("Host", host),
                ("Origin", &format!("http://{host}")),
                ("Sec-Fetch-Site", "same-origin"),
            ],
            &inspection(&token, &id, "vi", "4"),
        );
        assert_eq!(
            (good.status, good.location.as_str()),
            (303, "/?lang=vi&saved=1"),
            "{}",
            good.body
        );
    }
    assert_eq!(log_length(), 1, "the same form twice is one event");
    let after = http(addr, "GET", "/?saved=1", &[("Host", host)], "");
    assert!(
        after.body.contains("Đã lưu vào sổ của nút, số thứ tự 1"),
        "{}",
        after.body
    );
    assert!(
        after
            .body
            .contains("<td>1</td><td>Kiểm tra cơ sở</td><td>05/03/2025</td><td>cb-01</td>"),
        "{}",
        after.body
    );

    // Posts from elsewhere store nothing: another site's form, no token, a
    // rebinding host name.
    let fresh = hidden(
        &http(addr, "GET", "/new/tip_received", &[("Host", host)], "").body,
        "id",
    );
    let tip = |token: &str| {
        form_body(&[
            ("token", token),
            ("id", &fresh),
            ("occurred_on", "06/03/2025"),
            ("unit", "c11950"),
            ("recorded_by", "cb-01"),
            ("tip_id", "TB-01"),
            ("channel", "TIP_CHANNEL_HOTLINE"),
            ("category", "TIP_CATEGORY_BUSINESS"),
        ])
    };
    let cross = http(
        addr,
        "POST",
        "/new/tip_received",
        &[
            ("Host", host),
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        &tip(&token),
    );
    assert_eq!(cross.status, 403, "{}", cross.body);
    let tokenless = http(
        addr,
        "POST",
        "/new/tip_received",
        &[("Host", host)],
        &tip("guess"),
    );
    assert_eq!(tokenless.status, 403);
    let rebound = http(
        addr,
        "POST",
        "/new/tip_received",
        &[("Host", "evil.example")],
        &tip(&token),
    );
    assert_eq!(rebound.status, 421);
    assert_eq!(log_length(), 1, "nothing stored from elsewhere");
    let unknown = http(addr, "GET", "/new/no_such_form", &[("Host", host)], "");
    assert_eq!(unknown.status, 404);

    // The page's own post of the tip-off is stored.
    let ok = http(
        addr,
        "POST",
        "/new/tip_received",
        &[("Host", host)],
        &tip(&token),
    );
    assert_eq!(
        (ok.status, ok.location.as_str()),
        (303, "/?lang=vi&saved=2"),
        "{}",
        ok.body
    );
    assert_eq!(log_length(), 2);
    node.stop();
}

/// Every file under `dir`, read whole.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("reads dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, bytes));
        }
    }
    out
}

fn holds(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_clients_case_number_becomes_its_pseudonym_and_is_never_stored() {
    let node = Node::start_with("c11950", true);
    let addr = node.entry.expect("the node serves its page");
    let host = addr.to_string();
    let page = http(
        addr,
        "GET",
        "/new/client_need_assessed",
        &[("Host", &host)],
        "",
    );
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Số hồ sơ tại xã"), "{}", page.body);
    let (token, id) = (hidden(&page.body, "token"), hidden(&page.body, "id"));
    let case = "HS-2025-0417";
    let sent = http(
        addr,
        "POST",
        "/new/client_need_assessed",
        &[("Host", &host)],
        &form_body(&[
            ("token", &token),
            ("id", &id),
            ("occurred_on", "07/04/2025"),
            ("unit", "c11950"),
            ("recorded_by", "cb-02"),
            ("client_ref", case),
            ("needs", "SERVICE_KIND_HEALTH"),
            ("needs", "SERVICE_KIND_JOB"),
        ]),
    );
    assert_eq!(
        (sent.status, sent.location.as_str()),
        (303, "/?lang=vi&saved=1"),
        "{}",
        sent.body
    );
    // A case number the node cannot use is refused beside its input.
    let too_long = "x".repeat(200);
    let refused = http(
        addr,
        "POST",
        "/new/client_need_assessed",
        &[("Host", &host)],
        &form_body(&[
            ("token", &token),
            ("client_ref", &too_long),
            ("needs", "SERVICE_KIND_JOB"),
        ]),
    );
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("số hồ sơ dài quá"),
        "{}",
        refused.body
    );
    let data = node.dir.path().join("data");
    let secret = sync178_node::client_ref::ClientSecret::load(&data).expect("the node's secret");
    let reference = secret.reference(case).expect("a reference");
    let key_id = secret.key_id();
    let dir = node.stop();
    let files = files_under(&dir.path().join("data").join("log"));
    assert!(
        files
            .iter()
            .any(|(_, b)| holds(b, &reference) && holds(b, &key_id)),
        "the stored event carries the pseudonym and the key id"
    );
    for (path, bytes) in &files {
        assert!(
            !holds(bytes, case),
            "{} holds the case number",
            path.display()
        );
    }
}
