//! Smoke run of the benchmark, so it cannot rot: `bench all --quick` must
//! finish well within its time limit, print one table and the targets, and
//! write figures that parse, with the expected names, positive values, and a
//! ratio wherever a baseline exists. NATS is optional here: without
//! `nats-server` the bench says it skipped NATS and why, and that is accepted
//! (the bench never installs anything in a `--quick` run).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What `--quick` may take: it takes seconds; a minute means it has grown.
const QUICK: Duration = Duration::from_secs(60);
/// When a stuck run is killed, to fail rather than hang.
const LIMIT: Duration = Duration::from_secs(240);

/// Figures every quick run must have, by name prefix.
const ALWAYS: &[&str] = &[
    "raw sled apply_batch+flush, batch 1",
    "raw sled apply_batch+flush, batch 1000",
    "log own append, batch 1000",
    "log replicated append, batch 1000",
    "log own append, 64 concurrent writers of 1",
    "loopback gRPC push ceiling, ",
    "sync end-to-end, ",
    "sync submit→province latency p50",
    "sync submit→province latency p99",
    "sync catch-up rate, ",
    "hub ",
];

/// Figures a quick run has when NATS ran, by name prefix.
const WITH_NATS: &[&str] = &[
    "NATS JetStream acked at commune, ",
    "NATS JetStream end-to-end, ",
    "sync end-to-end vs NATS JetStream, ",
];

/// Figures that must carry a ratio to a baseline whose name starts so.
const RATIOS: &[(&str, &str)] = &[
    (
        "log own append, batch 1000",
        "raw sled apply_batch+flush, batch 1000",
    ),
    ("sync end-to-end, ", "loopback gRPC push ceiling, "),
    (
        "sync end-to-end vs NATS JetStream, ",
        "NATS JetStream end-to-end, ",
    ),
];

fn find<'a>(figures: &'a [Value], prefix: &str) -> Option<&'a Value> {
    figures
        .iter()
        .find(|f| f["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
}

#[test]
fn bench_all_quick_writes_sane_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("results.json");
    let stdout_path = dir.path().join("stdout.txt");
    let stderr_path = dir.path().join("stderr.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["all", "--quick", "--json"])
        .arg(&json)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("bench starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("bench runs") {
            break status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "bench all --quick still running after {LIMIT:?}; output so far:\n{}",
                std::fs::read_to_string(&stdout_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&stdout_path).expect("stdout");
    let stderr = std::fs::read_to_string(&stderr_path).expect("stderr");
    assert!(
        status.success(),
        "bench all --quick failed ({status}):\n{stdout}\n{stderr}"
    );
    let took = start.elapsed();
    assert!(
        took < QUICK,
        "bench all --quick took {took:?}; it must stay well under a minute"
    );
    assert!(stdout.contains("== all figures"), "no table:\n{stdout}");
    assert!(stdout.contains("== targets"), "no targets:\n{stdout}");

    let text = std::fs::read_to_string(&json).expect("results.json written");
    let parsed: Value = serde_json::from_str(&text).expect("results.json parses");
    let figures = parsed.as_array().expect("an array of figures");
    assert!(!figures.is_empty(), "no figures");
    for f in figures {
        let name = f["name"].as_str().expect("name is a string");
        let value = f["value"].as_f64().expect("value is a number");
        assert!(
            value.is_finite() && value > 0.0,
            "{name}: value {value} is not positive"
        );
        assert!(
            f["unit"].as_str().is_some_and(|u| !u.is_empty()),
            "{name}: unit"
        );
        match (&f["baseline"], &f["ratio"]) {
            (Value::Null, Value::Null) => {}
            (Value::String(b), Value::Number(r)) => {
                let r = r.as_f64().expect("ratio");
                assert!(r.is_finite() && r > 0.0, "{name}: ratio {r} to {b}");
                assert!(
                    figures.iter().any(|g| g["name"].as_str() == Some(b)),
                    "{name}: baseline {b} is not a figure of the run"
                );
            }
            (b, r) => panic!("{name}: baseline {b} and ratio {r} must both be set or both null"),
        }
    }

    let nats_ran = find(figures, "NATS JetStream").is_some();
    let mut expected: Vec<&str> = ALWAYS.to_vec();
    if nats_ran {
        expected.extend(WITH_NATS);
    } else {
        assert!(
            stdout.contains("NATS skipped: "),
            "no NATS figures and no word on why:\n{stdout}"
        );
    }
    for prefix in &expected {
        assert!(
            find(figures, prefix).is_some(),
            "no figure named {prefix}…; got {:?}",
            figures.iter().map(|f| &f["name"]).collect::<Vec<_>>()
        );
    }
    for (figure, baseline) in RATIOS {
        let Some(f) = find(figures, figure) else {
            assert!(!nats_ran || !figure.contains("NATS"), "{figure} missing");
            continue;
        };
        let b = f["baseline"].as_str().unwrap_or("");
        assert!(
            b.starts_with(baseline) && f["ratio"].as_f64().is_some(),
            "{figure}: expected a ratio to {baseline}…, got baseline {b:?}"
        );
    }
}
