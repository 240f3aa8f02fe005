//! The hub's command line: tables, CSV and number formats in both languages on hand-built answers, and `query` and `rebuild` through the real binary against an in-process node and hub.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use sync178_hub::cli::{
    Answer, Digests, RebuildReport, render_breakdown, render_completeness, render_csv, render_kpis,
    render_rebuild, render_rollup, render_sync_status, render_units,
};
use sync178_hub::config::NodeLink;
use sync178_hub::i18n::{int, metric_label, percent_bp};
use sync178_node::certs::{issue_province, province_files};
use sync178_node::config::{Limits, UplinkConfig};
use sync178_shared::i18n::Lang;
use sync178_shared::proto::v1::ingest_client::IngestClient;
use sync178_shared::proto::v1::query_client::QueryClient;
use sync178_shared::proto::v1::{
    BreakdownResponse, CompletenessResponse, Kpi, KpiResponse, KpiValue, Metric, OriginLag, Rollup,
    RollupResponse, SubmitRequest, SyncStatusRequest, SyncStatusResponse, UnitActivity, UnitInfo,
    UnitsResponse,
};
use sync178_shared::tls::{Identity, Role};
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;
use tokio_util::sync::CancellationToken;

fn unit(s: &str) -> UnitId {
    s.parse().unwrap_or_else(|e| panic!("bad unit id {s}: {e}"))
}

/// Checks that `text` contains every word.
fn has_all(text: &str, words: &[&str]) {
    for w in words {
        assert!(text.contains(w), "missing {w:?} in:\n{text}");
    }
}

/// The cells of the table row that starts with `label` (cells are separated
/// by two or more spaces).
fn row<'a>(table: &'a str, label: &str) -> Vec<&'a str> {
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no row {label:?} in:\n{table}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

// ---------------------------------------------------------------- numbers

#[test]
fn numbers_read_as_each_language_writes_them() {
    for (n, vi, en) in [
        (0, "0", "0"),
        (999, "999", "999"),
        (1000, "1.000", "1,000"),
        (1_234_567, "1.234.567", "1,234,567"),
        (
            u64::MAX,
            "18.446.744.073.709.551.615",
            "18,446,744,073,709,551,615",
        ),
    ] {
        assert_eq!(int(Lang::Vi, n), vi);
        assert_eq!(int(Lang::En, n), en);
    }
    for (bp, vi, en) in [
        (8500, "85,0%", "85.0%"),
        (0, "0,0%", "0.0%"),
        (10_000, "100,0%", "100.0%"),
        (3333, "33,3%", "33.3%"),
        (9_999, "99,9%", "99.9%"),
        (1_234_560, "12.345,6%", "12,345.6%"),
    ] {
        assert_eq!(percent_bp(Lang::Vi, bp), vi);
        assert_eq!(percent_bp(Lang::En, bp), en);
    }
}

#[test]
fn metric_names_are_translated_and_unknown_ones_shown_as_they_are() {
    assert_eq!(
        metric_label(Lang::Vi, "inspections.unannounced"),
        "Kiểm tra đột xuất"
    );
    assert_eq!(
        metric_label(Lang::En, "inspections.unannounced"),
        "Unannounced inspections"
    );
    assert_eq!(
        metric_label(Lang::Vi, "awareness.form.meeting"),
        "Tuyên truyền — hình thức: họp dân"
    );
    assert_eq!(
        metric_label(Lang::En, "violations.act.buying_sex"),
        "Violations — act: buying sex"
    );
    assert_eq!(
        metric_label(Lang::En, "violations.act.42"),
        "Violations — act: 42"
    );
    assert_eq!(metric_label(Lang::En, "brand.new"), "brand.new");
    // Every metric the hub keeps has a label of its own.
    for name in sync178_hub::state::metric_names()
        .iter()
        .filter(|n| !n.ends_with(|c: char| c.is_ascii_digit()))
    {
        assert_ne!(metric_label(Lang::Vi, name), *name, "no label for {name}");
    }
}

// ---------------------------------------------------------------- answers

fn kpi(k: Kpi) -> KpiValue {
    KpiValue {
        kpi: k as i32,
        ..KpiValue::default()
    }
}

/// KPIs of a province: one not met, one met, one without a target, one
/// without a value, one suppressed, one in the millions.
fn kpis() -> KpiResponse {
    KpiResponse {
        unit: "p33".into(),
        unit_name: "Tỉnh Hưng Yên".into(),
        year: 2024,
        kpis: vec![
            KpiValue {
                numerator: 12,
                denominator: 15,
                has_value: true,
                value_bp: 8000,
                has_target: true,
                target_bp: 8500,
                target_from: "p33".into(),
                met: false,
                ..kpi(Kpi::InspectionCoverage)
            },
            KpiValue {
                numerator: 2,
                denominator: 2,
                has_value: true,
                value_bp: 10_000,
                has_target: true,
                target_bp: 5000,
                target_from: "d323".into(),
                met: true,
                ..kpi(Kpi::CommunesWithAwareness)
            },
            KpiValue {
                numerator: 0,
                denominator: 0,
                has_target: true,
                target_bp: 10_000,
                target_from: "p33".into(),
                ..kpi(Kpi::HealthyCommunes)
            },
            KpiValue {
                suppressed: true,
                has_target: true,
                target_bp: 7000,
                target_from: "p33".into(),
                ..kpi(Kpi::ServiceAccess)
            },
            KpiValue {
                numerator: 1_234_567,
                denominator: 2_000_000,
                has_value: true,
                value_bp: 6172,
                ..kpi(Kpi::WorkersReached)
            },
        ],
    }
}

#[test]
fn kpis_read_in_vietnamese_and_english() {
    let r = kpis();
    let vi = render_kpis(&r, Lang::Vi);
    has_all(
        &vi,
        &[
            "Đơn vị: p33 — Tỉnh Hưng Yên · Năm 2024",
            "chỉ tiêu",
            "mục tiêu",
        ],
    );
    assert_eq!(
        row(&vi, "Tỷ lệ cơ sở được kiểm tra"),
        [
            "Tỷ lệ cơ sở được kiểm tra",
            "12",
            "15",
            "80,0%",
            "85,0%",
            "chưa đạt",
            "p33"
        ]
    );
    assert_eq!(
        row(&vi, "Xã có hoạt động tuyên truyền"),
        [
            "Xã có hoạt động tuyên truyền",
            "2",
            "2",
            "100,0%",
            "50,0%",
            "đạt",
            "d323"
        ]
    );
    assert_eq!(
        row(&vi, "Xã lành mạnh"),
        [
            "Xã lành mạnh",
            "0",
            "0",
            "không có",
            "100,0%",
            "không có",
            "p33"
        ]
    );
    assert_eq!(
        row(&vi, "Người có nhu cầu được hỗ trợ"),
        [
            "Người có nhu cầu được hỗ trợ",
            "<5",
            "ẩn",
            "ẩn",
            "70,0%",
            "ẩn",
            "p33"
        ]
    );
    assert_eq!(
        row(&vi, "Người lao động được tiếp cận"),
        [
            "Người lao động được tiếp cận",
            "1.234.567",
            "2.000.000",
            "61,7%",
            "—",
            "—"
        ]
    );
    has_all(&vi, &["<5: số người dưới 5 được ẩn"]);

    let en = render_kpis(&r, Lang::En);
    has_all(&en, &["Unit: p33 — Tỉnh Hưng Yên · Year 2024", "indicator"]);
    assert_eq!(
        row(&en, "Inspection coverage"),
        [
            "Inspection coverage",
            "12",
            "15",
            "80.0%",
            "85.0%",
            "not met",
            "p33"
        ]
    );
    assert_eq!(row(&en, "Communes with awareness activity")[5], "met");
    assert_eq!(row(&en, "Healthy communes")[3], "n/a");
    assert_eq!(row(&en, "Clients in need served")[1], "<5");
    assert_eq!(row(&en, "Workers reached")[1], "1,234,567");
    has_all(&en, &["<5: person counts below 5 are hidden"]);

    // Columns line up: every cell of the value column ends at the same place.
    let ends: Vec<usize> = en
        .lines()
        .skip(1)
        .take(1 + r.kpis.len())
        .map(|l| {
            let mut end = 0;
            for cell in l
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .take(4)
            {
                end += l[end..].find(cell).unwrap_or_default() + cell.len();
            }
            l[..end].chars().count()
        })
        .collect();
    assert!(
        ends.windows(2).all(|w| w[0] == w[1]),
        "value column: {ends:?}\n{en}"
    );
}

fn metric(name: &str, value: u64) -> Metric {
    Metric {
        name: name.into(),
        value,
        ..Metric::default()
    }
}

fn rollup(unit: &str, name: &str, awareness: u64) -> Rollup {
    Rollup {
        unit: unit.into(),
        unit_name: name.into(),
        period: "2024-Q2".into(),
        metrics: vec![
            metric("events", awareness + 1),
            metric("inspections", 1),
            metric("awareness.activities", awareness),
            metric("awareness.participants", 1_500),
            metric("penalties.fines_vnd", 12_500_000),
            metric("awareness.form.meeting", awareness),
            Metric {
                person_based: true,
                ..metric("clients.in_need", 12)
            },
            Metric {
                person_based: true,
                suppressed: true,
                ..metric("clients.served", 0)
            },
        ],
    }
}

#[test]
fn a_rollup_shows_every_count_and_hides_small_person_counts() {
    let r = rollup("c11950", "Phường Lam Sơn", 3);
    let vi = render_rollup(&r, Lang::Vi);
    has_all(&vi, &["Đơn vị: c11950 — Phường Lam Sơn · Quý 2/2024"]);
    assert_eq!(
        row(&vi, "Hoạt động tuyên truyền"),
        ["Hoạt động tuyên truyền", "3"]
    );
    assert_eq!(
        row(&vi, "Tiền phạt (đồng)"),
        ["Tiền phạt (đồng)", "12.500.000"]
    );
    assert_eq!(row(&vi, "Người được hỗ trợ"), ["Người được hỗ trợ", "<5"]);
    assert_eq!(
        row(&vi, "Người có nhu cầu hỗ trợ"),
        ["Người có nhu cầu hỗ trợ", "12"]
    );
    // The breakdown by form sits right under its total, indented.
    let lines: Vec<&str> = vi.lines().collect();
    let total = lines
        .iter()
        .position(|l| l.starts_with("Hoạt động tuyên truyền"))
        .unwrap_or_default();
    assert!(
        lines[total + 1].starts_with("  Tuyên truyền — hình thức: họp dân"),
        "{vi}"
    );
    has_all(&vi, &["<5: "]);
    let en = render_rollup(&r, Lang::En);
    has_all(&en, &["Q2 2024", "Fines (VND)"]);
    assert_eq!(
        row(&en, "Awareness participants"),
        ["Awareness participants", "1,500"]
    );
    assert_eq!(row(&en, "Clients served"), ["Clients served", "<5"]);
}

#[test]
fn csv_starts_with_a_bom_and_a_header_and_keeps_numbers_plain() {
    let csv = render_csv(&Answer::Kpis(kpis()), Lang::Vi);
    assert!(csv.starts_with('\u{feff}'), "{csv:?}");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert_eq!(
        lines[0],
        "unit,unit_name,year,kpi,label,numerator,denominator,value_pct,target_pct,target_from,met,suppressed"
    );
    assert_eq!(
        lines.len(),
        1 + 5 + 1,
        "header, five rows, a final CRLF: {csv:?}"
    );
    assert_eq!(
        lines[1],
        "p33,Tỉnh Hưng Yên,2024,inspection_coverage,Tỷ lệ cơ sở được kiểm tra,12,15,80.00,85.00,p33,false,false"
    );
    assert_eq!(
        lines[3],
        "p33,Tỉnh Hưng Yên,2024,healthy_communes,Xã lành mạnh,0,0,,100.00,p33,,false"
    );
    assert_eq!(
        lines[4],
        "p33,Tỉnh Hưng Yên,2024,service_access,Người có nhu cầu được hỗ trợ,<5,,,70.00,p33,,true"
    );
    assert!(lines[5].contains(",1234567,2000000,61.72,"), "{}", lines[5]);

    let csv = render_csv(
        &Answer::Rollup(RollupResponse {
            rollup: Some(rollup("c11950", "Phường Lam Sơn, \"cũ\"", 3)),
        }),
        Lang::En,
    );
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert_eq!(lines[0], "unit,unit_name,period,metric,label,value");
    has_all(
        &csv,
        &[
            "c11950,\"Phường Lam Sơn, \"\"cũ\"\"\",2024-Q2,awareness.activities,Awareness activities,3\r\n",
            ",clients.served,Clients served,<5\r\n",
        ],
    );
}

#[test]
fn a_breakdown_lists_children_with_counts_and_kpis() {
    let r = BreakdownResponse {
        total: Some(rollup("d323", "Thành phố Hưng Yên", 5)),
        children: vec![
            rollup("c11950", "Phường Lam Sơn", 3),
            rollup("c11953", "Phường Hiến Nam", 2),
        ],
        child_kpis: vec![
            KpiResponse {
                unit: "c11950".into(),
                year: 2024,
                kpis: vec![KpiValue {
                    numerator: 1,
                    denominator: 1,
                    has_value: true,
                    value_bp: 10_000,
                    has_target: true,
                    target_bp: 5000,
                    met: true,
                    ..kpi(Kpi::CommunesWithAwareness)
                }],
                ..KpiResponse::default()
            },
            KpiResponse {
                unit: "c11953".into(),
                year: 2024,
                kpis: vec![KpiValue {
                    has_target: true,
                    target_bp: 5000,
                    ..kpi(Kpi::CommunesWithAwareness)
                }],
                ..KpiResponse::default()
            },
        ],
    };
    let vi = render_breakdown(&r, Lang::Vi);
    has_all(
        &vi,
        &[
            "Thành phố Hưng Yên · Quý 2/2024",
            "Đơn vị trực thuộc",
            "✓ đạt mục tiêu",
        ],
    );
    assert_eq!(
        row(&vi, "c11950"),
        [
            "c11950",
            "Phường Lam Sơn",
            "4",
            "1",
            "0",
            "12.500.000",
            "0",
            "3",
            "0",
            "<5"
        ]
    );
    assert_eq!(row(&vi, "d323")[1], "Tổng");
    let kpi_rows: Vec<&str> = vi.lines().filter(|l| l.starts_with("c1195")).collect();
    assert_eq!(kpi_rows.len(), 4, "counts and KPIs of both communes:\n{vi}");
    assert!(kpi_rows[2].contains("100,0% ✓"), "{vi}");
    assert!(kpi_rows[3].contains("không có"), "{vi}");
    let en = render_breakdown(&r, Lang::En);
    has_all(
        &en,
        &[
            "Units below",
            "Total",
            "awareness = Communes with awareness activity",
        ],
    );
}

#[test]
fn completeness_sync_status_and_units_read_in_both_languages() {
    const NOW: i64 = 1_750_000_000_000;
    let c = CompletenessResponse {
        unit: "d323".into(),
        period: "2024".into(),
        units: vec![
            UnitActivity {
                unit: "c11950".into(),
                name: "Phường Lam Sơn".into(),
                events: 1_200,
                has_plan: true,
                last_recorded_at: NOW - 3 * 60_000,
            },
            UnitActivity {
                unit: "c11953".into(),
                name: "Phường Hiến Nam".into(),
                ..UnitActivity::default()
            },
        ],
    };
    let vi = render_completeness(&c, Lang::Vi, NOW);
    has_all(&vi, &["Năm 2024", "1/2 đơn vị chưa ghi nhận gì trong kỳ"]);
    assert_eq!(
        row(&vi, "c11950"),
        ["c11950", "Phường Lam Sơn", "1.200", "có", "3 phút trước"]
    );
    assert_eq!(
        row(&vi, "c11953"),
        [
            "c11953",
            "Phường Hiến Nam",
            "0",
            "không",
            "chưa có",
            "chưa ghi nhận gì; chưa có kế hoạch"
        ]
    );
    let en = render_completeness(&c, Lang::En, NOW);
    has_all(
        &en,
        &[
            "1 of 2 units recorded nothing",
            "nothing recorded; no plan",
            "never",
        ],
    );

    let s = SyncStatusResponse {
        checkpoint: 12_345,
        skipped: 2,
        origins: vec![OriginLag {
            origin: "c11950".into(),
            name: "Phường Lam Sơn".into(),
            last_seq: 1_001,
            last_recorded_at: NOW - 10 * 60_000,
            last_received_at: NOW - 5 * 60_000,
            lag_ms: 5 * 60_000,
            node_seq: 1_251,
            lag_events: 250,
        }],
        node_next_position: 12_600,
        lag_events: 255,
        heads_at: NOW - 2_000,
    };
    let vi = render_sync_status(&s, Lang::Vi, NOW);
    has_all(
        &vi,
        &[
            "12.345",
            "Sự kiện bỏ qua: 2",
            "Nút nguồn đang giữ (sự kiện) / chưa về hub: 12.600 / 255",
        ],
    );
    assert_eq!(
        row(&vi, "c11950"),
        [
            "c11950",
            "Phường Lam Sơn",
            "1.001",
            "10 phút trước",
            "5 phút trước",
            "5 phút",
            "250"
        ]
    );
    let en = render_sync_status(&s, Lang::En, NOW);
    assert_eq!(row(&en, "c11950")[5], "5 min");
    assert_eq!(row(&en, "c11950")[6], "250");
    // Before the node was asked, lag in events is unknown, not zero.
    let unknown = SyncStatusResponse {
        heads_at: 0,
        ..s.clone()
    };
    let en = render_sync_status(&unknown, Lang::En, NOW);
    assert_eq!(row(&en, "c11950")[6], "—");
    assert!(!en.contains("The node holds"), "{en}");
    has_all(
        &render_sync_status(&SyncStatusResponse::default(), Lang::En, NOW),
        &["nothing received yet"],
    );

    // As the hub sends them: by level, communes first.
    let info = |unit: &str, name: &str, parent: &str| UnitInfo {
        unit: unit.into(),
        name: name.into(),
        parent: parent.into(),
    };
    let u = UnitsResponse {
        units: vec![
            info("c11950", "Phường Lam Sơn", "d323"),
            info("c11953", "Phường Hiến Nam", "d323"),
            info("d323", "Thành phố Hưng Yên", "p33"),
            info("p33", "Tỉnh Hưng Yên", ""),
        ],
    };
    let vi = render_units(&u, Lang::Vi);
    has_all(
        &vi,
        &[
            "\np33         Tỉnh Hưng Yên\n  d323      Thành phố Hưng Yên  p33\n    c11950  Phường Lam Sơn      d323\n    c11953",
        ],
    );
    let csv = render_csv(&Answer::Units(u), Lang::Vi);
    assert!(
        csv.starts_with("\u{feff}unit,name,parent\r\nc11950,Phường Lam Sơn,d323\r\n"),
        "{csv:?}"
    );
}

#[test]
fn a_rebuild_report_names_the_projections_that_differ() {
    let d = |all: &str, cells: &str| Digests {
        all: all.repeat(64),
        parts: vec![
            ("cells".into(), cells.repeat(64)),
            ("tips".into(), "c".repeat(64)),
        ],
    };
    let same = RebuildReport {
        checkpoint: 1_234,
        stored: d("a", "b"),
        rebuilt: d("a", "b"),
        replaced: false,
    };
    assert_eq!(same.exit_code(), 0);
    let vi = render_rebuild(&same, Lang::Vi);
    has_all(&vi, &["1.234 sự kiện", &"a".repeat(64), "Khớp"]);
    let differ = RebuildReport {
        rebuilt: d("e", "f"),
        replaced: true,
        ..same
    };
    assert_eq!(differ.exit_code(), 1);
    assert_eq!(differ.differing(), ["cells"]);
    let en = render_rebuild(&differ, Lang::En);
    has_all(
        &en,
        &[
            &"e".repeat(64),
            "Differ in: cells",
            &"b".repeat(16),
            &"f".repeat(16),
            "written to the hub's store",
        ],
    );
    assert!(!en.contains("tips"), "{en}");
}

// ------------------------------------------------------------ end to end

/// A small 2024-format topology: one district of Hưng Yên with two communes.
const TOPOLOGY: &str = "\
province_code,province_name,district_code,district_name,commune_code,commune_name
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11950,Phường Lam Sơn
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11953,Phường Hiến Nam
";

/// Runs the real `sync178-hub` binary with `args`, isolated from the caller's environment.
fn sync178_hub(args: &[String]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sync178-hub"));
    for var in [
        "SYNC178_LANG",
        "SYNC178_ENDPOINT",
        "SYNC178_CA",
        "SYNC178_CERT",
        "SYNC178_KEY",
        "SYNC178_HUB_CONFIG",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args).output().expect("run sync178-hub")
}

/// Exit code, stdout and stderr of a run, for assertions.
fn result(out: &Output) -> (Option<i32>, String, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `--endpoint --ca --cert --key` for the certificate of `id`.
fn conn_args(endpoint: &str, pki: &Path, id: Identity) -> Vec<String> {
    let files = province_files(pki, id);
    let path = |p: &Path| p.display().to_string();
    vec![
        "--endpoint".into(),
        endpoint.into(),
        "--ca".into(),
        path(&files.ca),
        "--cert".into(),
        path(&files.cert),
        "--key".into(),
        path(&files.key),
    ]
}

fn args(lead: &[&str], conn: &[String], tail: &[&str]) -> Vec<String> {
    lead.iter()
        .map(|s| (*s).to_owned())
        .chain(conn.iter().cloned())
        .chain(tail.iter().map(|s| (*s).to_owned()))
        .collect()
}

/// The 64-hex-digit words of `text` (the digests a rebuild prints).
fn digests(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .filter(|w| w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .collect()
}

#[test]
fn query_and_rebuild_through_the_real_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let topology_path = dir.path().join("topology.csv");
    std::fs::write(&topology_path, TOPOLOGY).expect("write topology");
    let topology = Topology::from_csv_path(&topology_path).unwrap_or_else(|e| panic!("{e}"));
    let pki: PathBuf = dir.path().join("pki");
    let province = unit("p33");
    issue_province(&topology, province, &pki).unwrap_or_else(|e| panic!("certs: {e}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    // The province node.
    let node_listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind node");
    let node_addr = node_listener.local_addr().expect("node addr");
    let node_endpoint = format!("https://{node_addr}");
    let node_config = sync178_node::Config {
        unit: province,
        topology: topology_path.clone(),
        data_dir: dir.path().join("node"),
        listen: node_addr,
        parent: None,
        tls: province_files(&pki, Identity::new(province, Role::Node)),
        limits: Limits::default(),
        entry: None,
        uplink: UplinkConfig::default(),
    };
    let node_token = CancellationToken::new();
    let node = rt.spawn(sync178_node::run(
        node_config,
        node_listener,
        node_token.clone(),
    ));

    // The hub, following the node.
    let hub_listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind hub");
    let hub_addr = hub_listener.local_addr().expect("hub addr");
    let hub_endpoint = format!("https://{hub_addr}");
    let hub_config = sync178_hub::Config {
        data_dir: dir.path().join("hub"),
        topology: topology_path,
        listen: hub_addr,
        node: NodeLink {
            endpoint: node_endpoint.clone(),
            unit: province,
        },
        tls: province_files(&pki, Identity::new(province, Role::Hub)),
        tipoff_deadline_days: 20,
        snapshot_every_ms: 50,
        web: None,
    };
    let hub_token = CancellationToken::new();
    let hub = rt.spawn(sync178_hub::run(
        hub_config.clone(),
        hub_listener,
        hub_token.clone(),
    ));

    // Three awareness meetings at a commune, recorded by the province's recorder.
    const N: u32 = 3;
    rt.block_on(async {
        let recorder = province_files(&pki, Identity::new(province, Role::Recorder));
        let channel = sync178_node::cli::connect(&node_endpoint, &recorder, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let events = (1..=N)
            .map(|n| sync178_shared::testing::draft("c11950", n))
            .collect();
        let resp = IngestClient::new(channel)
            .submit(SubmitRequest { events })
            .await
            .unwrap_or_else(|e| panic!("submit: {e}"))
            .into_inner();
        assert!(resp.rejected.is_empty(), "{resp:?}");
        assert_eq!(resp.accepted.len(), N as usize);
    });

    // Wait until the hub has applied them.
    let operator_files = province_files(&pki, Identity::new(province, Role::Operator));
    rt.block_on(async {
        let channel = sync178_node::cli::connect_hub(&hub_endpoint, &operator_files, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut client = QueryClient::new(channel);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = client
                .sync_status(SyncStatusRequest::default())
                .await
                .unwrap_or_else(|e| panic!("sync_status: {e}"))
                .into_inner();
            if s.checkpoint >= u64::from(N) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the hub applied only {} events",
                s.checkpoint
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });

    let operator = conn_args(&hub_endpoint, &pki, Identity::new(province, Role::Operator));

    // The roll-up of the commune: three meetings, 1 + 2 + 3 participants.
    let (code, vi, stderr) = result(&sync178_hub(&args(
        &["query"],
        &operator,
        &["rollup", "c11950", "2024"],
    )));
    assert_eq!(code, Some(0), "rollup: {stderr}");
    has_all(&vi, &["Đơn vị: c11950 — Phường Lam Sơn · Năm 2024"]);
    assert_eq!(
        row(&vi, "Hoạt động tuyên truyền"),
        ["Hoạt động tuyên truyền", "3"]
    );
    assert_eq!(
        row(&vi, "Lượt người tham dự tuyên truyền"),
        ["Lượt người tham dự tuyên truyền", "6"]
    );
    let (code, en, stderr) = result(&sync178_hub(&args(
        &["query", "--lang", "en"],
        &operator,
        &["rollup", "d323", "2024-05"],
    )));
    assert_eq!(code, Some(0), "rollup en: {stderr}");
    has_all(&en, &["Unit: d323 — Thành phố Hưng Yên · May 2024"]);
    assert_eq!(
        row(&en, "Awareness activities"),
        ["Awareness activities", "3"]
    );

    // The KPIs of the province for the year.
    let (code, vi, stderr) = result(&sync178_hub(&args(
        &["query"],
        &operator,
        &["kpi", "p33", "2024"],
    )));
    assert_eq!(code, Some(0), "kpi: {stderr}");
    has_all(
        &vi,
        &["Tỉnh Hưng Yên · Năm 2024", "Xã có hoạt động tuyên truyền"],
    );
    assert_eq!(
        &row(&vi, "Xã có hoạt động tuyên truyền")[1..4],
        ["1", "2", "50,0%"]
    );

    // A year with nothing recorded, a malformed period, an unknown unit: the
    // hub's message on one line, in Vietnamese by default, and exit 65 (not
    // clap's 2).
    for (question, says) in [
        (
            ["kpi", "p33", "2019"],
            vec!["no events recorded", "p33", "2019"],
        ),
        (["rollup", "p33", "2024-Q5"], vec!["period", "2024-Q5"]),
        (["breakdown", "c99999", "2024"], vec!["c99999"]),
    ] {
        let (code, stdout, stderr) = result(&sync178_hub(&args(&["query"], &operator, &question)));
        assert_eq!(code, Some(65), "{question:?}: {stdout}{stderr}");
        has_all(&stderr, &says);
        has_all(&stderr, &["hub không trả lời được câu hỏi"]);
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stdout.is_empty(), "no table for {question:?}: {stdout}");
    }

    // The same refusal in English with --lang en.
    let (code, stdout, stderr) = result(&sync178_hub(&args(
        &["--lang", "en", "query"],
        &operator,
        &["rollup", "c99999", "2024-Q2"],
    )));
    assert_eq!(code, Some(65), "{stdout}{stderr}");
    has_all(&stderr, &["the hub cannot answer the question", "c99999"]);
    assert!(!stderr.contains("không"), "English only: {stderr}");
    // A bad command line stays clap's 2.
    let (code, _, stderr) = result(&sync178_hub(&args(
        &["query"],
        &operator,
        &["rollup", "p33"],
    )));
    assert_eq!(code, Some(2), "{stderr}");

    // --json after the question, as the README's reader types it.
    let (code, json, stderr) = result(&sync178_hub(&args(
        &["query"],
        &operator,
        &["rollup", "c11950", "2024-Q2", "--json"],
    )));
    assert_eq!(code, Some(0), "rollup … --json: {stderr}");
    let parsed: RollupResponse =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(
        parsed.rollup.unwrap_or_default().unit_name,
        "Phường Lam Sơn"
    );

    // --json is the canonical JSON of the response; --csv starts with a BOM.
    let (code, json, stderr) = result(&sync178_hub(&args(
        &["query", "--json"],
        &operator,
        &["rollup", "c11950", "2024"],
    )));
    assert_eq!(code, Some(0), "rollup --json: {stderr}");
    let parsed: RollupResponse =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let r = parsed.rollup.unwrap_or_default();
    assert_eq!(r.unit_name, "Phường Lam Sơn");
    let activities = r.metrics.iter().find(|m| m.name == "awareness.activities");
    assert_eq!(activities.map(|m| m.value), Some(3), "{json}");
    let out = sync178_hub(&args(
        &["query", "--csv"],
        &operator,
        &["kpi", "p33", "2024"],
    ));
    let (code, csv, stderr) = result(&out);
    assert_eq!(code, Some(0), "kpi --csv: {stderr}");
    assert!(
        out.stdout
            .starts_with(b"\xef\xbb\xbfunit,unit_name,year,kpi,"),
        "{csv}"
    );
    has_all(&csv, &["p33,Tỉnh Hưng Yên,2024,communes_with_awareness,"]);

    // The other questions answer too.
    for (question, says) in [
        (vec!["breakdown", "d323", "2024"], "Phường Lam Sơn"),
        (
            vec!["completeness", "p33", "2024-H1"],
            "1/3 đơn vị chưa ghi nhận gì",
        ),
        (vec!["sync-status"], "Tỉnh Hưng Yên"),
        (vec!["units"], "Phường Hiến Nam"),
    ] {
        let (code, stdout, stderr) = result(&sync178_hub(&args(&["query"], &operator, &question)));
        assert_eq!(code, Some(0), "{question:?}: {stderr}");
        assert!(stdout.contains(says), "{question:?}: {stdout}");
    }

    // The wrong hub identity: a connection failure, 69; a recorder may not ask: 77.
    let (code, _, stderr) = result(&sync178_hub(&args(
        &["query", "--lang", "en"],
        &operator,
        &["--node", "d323", "units"],
    )));
    assert_eq!(code, Some(69), "{stderr}");
    has_all(&stderr, &[&hub_endpoint, "verifying hub d323"]);
    let recorder = conn_args(&hub_endpoint, &pki, Identity::new(province, Role::Recorder));
    let (code, _, stderr) = result(&sync178_hub(&args(&["query"], &recorder, &["units"])));
    assert_eq!(code, Some(77), "{stderr}");
    has_all(&stderr, &["PermissionDenied"]);

    // Stop the hub; rebuild from the node's feed gives the same state.
    hub_token.cancel();
    let stopped = rt.block_on(hub).expect("hub task");
    assert!(stopped.is_ok(), "hub stopped with {stopped:?}");
    let config_path = dir.path().join("hub.toml");
    std::fs::write(
        &config_path,
        toml::to_string(&hub_config).unwrap_or_else(|e| panic!("{e}")),
    )
    .expect("write hub.toml");
    let config_arg = config_path.display().to_string();
    let (code, stdout, stderr) = result(&sync178_hub(&args(
        &["rebuild", "--config"],
        &[],
        &[&config_arg],
    )));
    assert_eq!(code, Some(0), "rebuild: {stdout}{stderr}");
    let d = digests(&stdout);
    assert_eq!(d.len(), 2, "both digests: {stdout}");
    assert_eq!(d[0], d[1], "{stdout}");
    has_all(&stdout, &["3 sự kiện", "Khớp"]);

    // A stored state that drifted: rebuild says where (exit 1), --replace
    // writes the rebuilt state, and the next rebuild matches again.
    {
        let (opened, _) = sync178_hub::open(&hub_config).unwrap_or_else(|e| panic!("{e}"));
        let mut drifted = opened.read().clone();
        let key = sync178_hub::state::EvKey {
            origin: unit("c11953"),
            seq: 999,
        };
        drifted
            .proj
            .plans
            .insert((unit("c11953"), 2024), vec![(key, unit("c11953"))]);
        opened
            .replace_state(drifted)
            .unwrap_or_else(|e| panic!("{e}"));
        // While a hub holds the store, rebuild says so plainly and exits 2.
        let (code, stdout, stderr) = result(&sync178_hub(&args(
            &["rebuild", "--config"],
            &[],
            &[&config_arg],
        )));
        assert_eq!(code, Some(2), "rebuild of a store in use: {stdout}{stderr}");
        has_all(
            &stderr,
            &["đang được một hub khác sử dụng", "sync178-hub run"],
        );
    }
    let (code, stdout, stderr) = result(&sync178_hub(&args(
        &["--lang", "en", "rebuild", "--replace", "--config"],
        &[],
        &[&config_arg],
    )));
    assert_eq!(code, Some(1), "drifted rebuild: {stdout}{stderr}");
    has_all(&stdout, &["Differ in: plans", "written to the hub's store"]);
    let d = digests(&stdout);
    assert!(d.len() == 2 && d[0] != d[1], "{stdout}");
    let (code, stdout, stderr) = result(&sync178_hub(&args(
        &["rebuild", "--config"],
        &[],
        &[&config_arg],
    )));
    assert_eq!(code, Some(0), "rebuild after replace: {stdout}{stderr}");

    // A bad config: 64, for both commands.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "data_dir = 3\n").expect("write bad.toml");
    for command in ["rebuild", "run"] {
        let (code, _, stderr) = result(&sync178_hub(&args(
            &[command, "--config"],
            &[],
            &[&bad.display().to_string()],
        )));
        assert_eq!(code, Some(64), "{command}: {stderr}");
        has_all(&stderr, &["bad.toml", "data_dir"]);
    }

    // The daemon: serves, stops on SIGTERM with exit 0, and saves its state.
    let run_config = dir.path().join("run.toml");
    let mut on_any_port = hub_config.clone();
    on_any_port.listen = "127.0.0.1:0".parse().expect("addr");
    std::fs::write(
        &run_config,
        toml::to_string(&on_any_port).unwrap_or_else(|e| panic!("{e}")),
    )
    .expect("write run.toml");
    let mut daemon = std::process::Command::new(env!("CARGO_BIN_EXE_sync178-hub"))
        .args(["run", "--config", &run_config.display().to_string()])
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start sync178-hub run");
    let stderr = daemon.stderr.take().expect("stderr");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines_tx.send(line);
        }
    });
    let mut log = String::new();
    while !log.contains("hub serving") {
        match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => log.push_str(&(line + "\n")),
            Err(e) => panic!("no \"hub serving\" ({e}): {log}"),
        }
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = daemon.wait().expect("wait for sync178-hub run");
    let _ = reader.join();
    log.extend(lines.try_iter().map(|l| l + "\n"));
    assert_eq!(status.code(), Some(0), "{log}");
    has_all(&log, &["SIGTERM", "state saved"]);

    node_token.cancel();
    let stopped = rt.block_on(node).expect("node task");
    assert!(stopped.is_ok(), "node stopped with {stopped:?}");
}
