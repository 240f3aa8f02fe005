//! The one-command demo, run as a person would: a real province through the
//! 2025 reform (three tiers until 30 June 2025, two since) and, with
//! `--listing 2024`, one year of the old three tiers. Every generated event
//! must reach the hub, and the printed KPIs, in both views, must equal those
//! computed from the demo's own plan replayed locally.

use std::path::Path;
use std::process::{Command, Output};

use sync178_hub::demo::{DemoKpis, DemoOptions, expected_kpis};

fn run(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sync178-hub"))
        .args(args)
        .args(["--web", "127.0.0.1:0", "--dir"])
        .arg(data)
        .output()
        .expect("demo runs")
}

/// Runs the demo with `--json` and checks every event arrived; returns the
/// printed figures.
fn figures(args: &[&str], data: &Path) -> DemoKpis {
    let mut all = vec!["demo", "--no-serve", "--json", "--seed", "5"];
    all.extend_from_slice(args);
    let out = run(&all, data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed: {stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("events: "))
        .unwrap_or_else(|| panic!("no events line in {stderr}"));
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(nums.len(), 2, "{line}");
    assert!(nums[0] > 1000, "{line}");
    assert_eq!(nums[0], nums[1], "not every event reached the hub: {line}");
    serde_json::from_slice(&out.stdout).expect("KPI JSON")
}

fn options(province: &str, listing: u16, year: i32) -> DemoOptions {
    DemoOptions {
        province: province.into(),
        listing,
        seed: 5,
        year,
        scale: 1,
        dir: "unused".into(),
        progress: false,
        web: ([127, 0, 0, 1], 0).into(),
    }
}

#[test]
fn a_province_through_the_reform_shows_its_figures_in_both_views() {
    // Lai Châu: not merged with another province, its 106 communes merged
    // into 38; the smallest of today's provinces, so a debug build runs it
    // quickly. The code path is the new Hưng Yên's.
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    let printed = figures(&["--province", "12"], &data);
    let expected = expected_kpis(&options("12", 2025, 2024), &dir.path().join("x"), 20)
        .expect("expected figures");
    assert_eq!(printed, expected);
    // By today's structure: today's Lai Châu, its 38 communes the
    // denominators of commune KPIs; by the structure of the time: the old
    // Lai Châu with its 106.
    assert_eq!(printed.today.unit, "p12@2025");
    let plans = |k: &sync178_shared::proto::v1::KpiResponse| {
        k.kpis
            .iter()
            .find(|v| v.kpi == sync178_shared::proto::v1::Kpi::CommunesWithPlan as i32)
            .map(|v| v.denominator)
    };
    assert_eq!(plans(&printed.today), Some(38));
    assert_eq!(printed.as_recorded.len(), 1);
    assert_eq!(printed.as_recorded[0].unit, "p12");
    assert_eq!(plans(&printed.as_recorded[0]), Some(106));
    assert!(printed.today.kpis.iter().all(|k| k.has_target));
    // Nodes of both structures ran, today's province's log holds all.
    for unit in ["p12", "p12@2025", "c03637", "c03637@2025"] {
        assert!(data.join("nodes").join(unit).join("log").exists(), "{unit}");
    }
    assert!(data.join("topology").join("history.toml").exists());
}

#[test]
fn the_2024_listing_keeps_the_old_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    let printed = figures(&["--listing", "2024"], &data);
    let expected = expected_kpis(&options("33", 2024, 2024), &dir.path().join("x"), 20)
        .expect("expected figures");
    assert_eq!(printed, expected);
    assert_eq!(printed.today.unit, "p33");
    assert_eq!(printed.as_recorded, std::slice::from_ref(&printed.today));
    assert_eq!(printed.today.kpis.len(), 9);
    assert!(
        printed.today.kpis.iter().all(|k| k.has_target),
        "targets were generated for every KPI"
    );
    assert!(data.join("nodes").join("p33").join("log").exists());
    assert!(data.join("hub").exists());
}

#[test]
fn a_demo_that_does_not_serve_prints_both_views_and_no_addresses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &[
            "--lang",
            "en",
            "demo",
            "--no-serve",
            "--seed",
            "5",
            "--province",
            "12",
        ],
        &dir.path().join("demo"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Inspection coverage"), "{stdout}");
    assert!(
        stdout.contains("BY TODAY'S STRUCTURE") && stdout.contains("BY THE STRUCTURE AT THE TIME"),
        "{stdout}"
    );
    assert!(stdout.contains("from 2025-07-01"), "{stdout}");
    assert!(stdout.contains("data: "), "{stdout}");
    assert!(
        !stdout.contains("dashboard") && !stdout.contains("https://"),
        "nothing answers there after exit: {stdout}"
    );
}

#[test]
fn a_province_not_in_todays_listing_is_refused_with_the_choices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &["demo", "--no-serve", "--province", "35"],
        &dir.path().join("demo"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    // Old Thái Bình (34) is no province today; 33 and 01 are.
    assert!(
        stderr.contains("province 35") && stderr.contains("today's listing"),
        "{stderr}"
    );
    assert!(stderr.contains("01, ") && stderr.contains("33"), "{stderr}");
}

/// A demo that fails after its nodes started (here: the dashboard's address
/// is taken) stops and awaits every node before it returns the error: no
/// task of it is left running on the caller's runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_that_fails_leaves_no_task_running() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = DemoOptions {
        dir: dir.path().join("demo"),
        web: busy.local_addr().expect("address"),
        ..options("33", 2024, 2024)
    };
    let Err(e) = sync178_hub::demo::start(&opts).await else {
        panic!("the demo started although the dashboard's address is taken");
    };
    assert!(matches!(e, sync178_hub::demo::DemoError::Io(..)), "{e:?}");
    // Libraries' own tasks (a dropped channel's worker) end just after; the
    // demo's nodes would run on for ever.
    let metrics = tokio::runtime::Handle::current().metrics();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while metrics.num_alive_tasks() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} tasks of the failed demo still running",
            metrics.num_alive_tasks()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The nodes ran before the hub was started.
    assert!(opts.dir.join("nodes").join("p33").join("log").exists());
}
