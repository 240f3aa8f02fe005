//! The one-command demo, run as a person would: a real province (Hưng Yên,
//! 150 nodes over mutual TLS) with a small seed, bounded in time. Every
//! generated event must reach the hub, and the printed KPIs must equal those
//! computed from the generator's own events replayed locally.

use std::process::Command;
use std::time::{Duration, Instant};

use sync178_hub::demo::{LISTING_2024, expected_kpis};
use sync178_shared::proto::v1::KpiResponse;
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;

#[test]
fn the_demo_delivers_every_event_and_prints_the_kpis_of_its_own_tally() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_sync178-hub"))
        .args([
            "demo",
            "--no-serve",
            "--json",
            "--seed",
            "5",
            "--web",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(&data)
        .output()
        .expect("demo runs");
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed: {stderr}");
    assert!(took < Duration::from_secs(120), "demo took {took:?}");

    // Every generated event arrived.
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

    // The KPIs equal a local replay of the generator's own events.
    let printed: KpiResponse = serde_json::from_slice(&out.stdout).expect("KPI JSON");
    let all = Topology::from_csv_reader(LISTING_2024.as_bytes(), "listing").expect("listing");
    let p33: UnitId = "p33".parse().expect("unit");
    let topo = all.province(p33).expect("province");
    let expected = expected_kpis(&topo, p33, 2024, 5, 1, 20).expect("kpis");
    assert_eq!(printed, expected);
    assert_eq!(printed.kpis.len(), 9);
    assert!(
        printed.kpis.iter().all(|k| k.has_target),
        "targets were generated for every KPI"
    );
    // The data is where it says.
    assert!(data.join("nodes").join("p33").join("log").exists());
    assert!(data.join("hub").exists());
}

#[test]
fn a_demo_that_does_not_serve_prints_no_addresses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_sync178-hub"))
        .args(["--lang", "en", "demo", "--no-serve", "--seed", "5"])
        .args(["--web", "127.0.0.1:0", "--dir"])
        .arg(dir.path().join("demo"))
        .output()
        .expect("demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Inspection coverage") || stdout.contains("inspect"),
        "{stdout}"
    );
    assert!(stdout.contains("data: "), "{stdout}");
    assert!(
        !stdout.contains("dashboard") && !stdout.contains("https://"),
        "nothing answers there after exit: {stdout}"
    );
}
