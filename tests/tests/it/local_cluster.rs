//! `deploy/local-cluster.sh` end to end: a real multi-process cluster of Hưng Yên (province, 2 districts, 4 communes) comes up, carries events recorded at two communes to the province, survives a restart with its data, and goes down leaving no process behind.
//!
//! The test runs no cargo: it hands the script the `sync178-node` and
//! `sync178-hub` the test command built (`sync178_tests::workspace_bin`)
//! with `--bin`. Ports are picked by the script from a free block
//! starting at a port that differs per run, never fixed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the script may take to bring the cluster up or down.
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);
/// How long events may take to reach the province.
const ARRIVAL_LIMIT: Duration = Duration::from_secs(60);
/// Interval between polls.
const POLL: Duration = Duration::from_millis(200);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace")
        .to_path_buf()
}

/// Runs `cmd` with its output captured, killing it (it is ours) after `limit`.
fn run(cmd: &mut Command, limit: Duration) -> Output {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {limit:?}");
            }
            Err(e) => panic!("waiting for {what}: {e}"),
        }
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// Reads `pipe` to its end on a thread of its own.
fn drain<R: std::io::Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A base port for this run, below the ephemeral range so that other tests'
/// `127.0.0.1:0` listeners never land on it; the script moves on if taken.
fn base_port() -> u16 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let spread = (std::process::id() ^ nanos) % 1000;
    20_000 + u16::try_from(spread).unwrap_or(0) * 10
}

/// One line of `nodes.tsv`.
#[derive(Debug, Clone)]
struct Node {
    unit: String,
    parent: String,
    endpoint: String,
    dir: PathBuf,
}

/// The cluster in `dir`; brings it down on drop if the test did not.
struct Cluster {
    script: PathBuf,
    bin: PathBuf,
    dir: PathBuf,
    pids: Vec<u32>,
    down: bool,
}

impl Cluster {
    fn script(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(&self.script)
            .args(args)
            .arg("--dir")
            .arg(&self.dir)
            .arg("--bin")
            .arg(&self.bin)
            .args(["--lang", "en"]);
        run(&mut cmd, SCRIPT_LIMIT)
    }

    /// The hub's checkpoint, through `sync178-hub query sync-status --json`.
    fn hub_checkpoint(&self) -> Option<u64> {
        let hub = self.bin.with_file_name("sync178-hub");
        let certs = self.dir.join("certs");
        let port = std::fs::read_to_string(self.dir.join("p33/hub.toml"))
            .ok()?
            .lines()
            .find_map(|l| {
                l.strip_prefix("listen = \"127.0.0.1:")
                    .map(|p| p.trim_end_matches('"').to_string())
            })?;
        let out = Command::new(hub)
            .args([
                "query",
                "--endpoint",
                &format!("https://127.0.0.1:{port}"),
                "--json",
            ])
            .arg("--ca")
            .arg(certs.join("ca.pem"))
            .arg("--cert")
            .arg(certs.join("operator/operator.pem"))
            .arg("--key")
            .arg(certs.join("operator/operator.key"))
            .arg("sync-status")
            .output()
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        Some(num(&v["checkpoint"]))
    }

    fn nodes(&self) -> Vec<Node> {
        let tsv = std::fs::read_to_string(self.dir.join("nodes.tsv")).expect("nodes.tsv");
        tsv.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                assert_eq!(f.len(), 6, "nodes.tsv line {l:?}");
                Node {
                    unit: f[0].to_owned(),
                    parent: f[1].to_owned(),
                    endpoint: f[3].to_owned(),
                    dir: self.dir.join(f[0]),
                }
            })
            .collect()
    }

    /// The pids the script started, from its pid files (none before `up`
    /// wrote the node list).
    fn read_pids(&mut self) {
        if !self.dir.join("nodes.tsv").exists() {
            return;
        }
        self.pids = self
            .nodes()
            .iter()
            .filter_map(|n| {
                std::fs::read_to_string(n.dir.join("node.pid"))
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
            })
            .collect();
    }

    /// Logs of every node, for failure messages.
    fn logs(&self) -> String {
        let mut s = String::new();
        for n in self.nodes() {
            let log = std::fs::read_to_string(n.dir.join("node.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            s.push_str(&format!("--- {} log (last lines)\n", n.unit));
            for l in tail.iter().rev() {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }

    fn node(&self, args: &[&str]) -> Output {
        run(
            Command::new(&self.bin).args(["--lang", "en"]).args(args),
            Duration::from_secs(60),
        )
    }

    fn certs(&self) -> PathBuf {
        self.dir.join("certs")
    }

    /// `sync178-node <command> …` against `node`, with the operator's certificate.
    fn as_operator(&self, command: &[&str], node: &Node) -> Output {
        let certs = self.certs();
        let mut args = command.to_vec();
        let (ca, cert, key) = (
            certs.join("ca.pem").display().to_string(),
            certs.join("operator/operator.pem").display().to_string(),
            certs.join("operator/operator.key").display().to_string(),
        );
        args.extend([
            "--endpoint",
            &node.endpoint,
            "--node",
            &node.unit,
            "--ca",
            &ca,
            "--cert",
            &cert,
            "--key",
            &key,
        ]);
        self.node(&args)
    }

    /// `status --json` of `node`, with the operator's certificate.
    fn status_json(&self, node: &Node) -> Result<serde_json::Value, String> {
        let out = self.as_operator(&["status", "--json"], node);
        if !out.status.success() {
            return Err(text(&out));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {}", text(&out)))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.down {
            return;
        }
        let _ = self.script(&["down", "--timeout", "40"]);
        for &pid in &self.pids {
            if running(pid, &self.dir) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}

/// Whether `pid` is a live (not zombie) process whose command line names `dir`.
fn running(pid: u32, dir: &Path) -> bool {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let Ok(stat) = std::fs::read_to_string(proc.join("stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    if state == Some('Z') {
        return false;
    }
    let cmdline = std::fs::read(proc.join("cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&cmdline).contains(&*dir.to_string_lossy())
}

/// `n` NDJSON awareness events recorded at `unit`.
fn events(unit: &str, n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                r#"{{"unit": "{unit}", "occurred_on": "2025-03-01", "recorded_by": "officer-1", "body": {{"awareness_activity_held": {{"activity_id": "{unit}-a{i}", "form": "AWARENESS_FORM_MEETING", "audience": "AUDIENCE_RESIDENTS", "participants": 40}}}}}}"#
            ) + "\n"
        })
        .collect()
}

/// A JSON number that pbjson may print as a string (64-bit integers).
fn num(v: &serde_json::Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// Head seq per origin in a status.
fn heads(status: &serde_json::Value) -> HashMap<String, u64> {
    status["origins"]
        .as_array()
        .map(|origins| {
            origins
                .iter()
                .filter_map(|o| Some((o["origin"].as_str()?.to_owned(), num(&o["seq"]))))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn local_cluster_carries_commune_events_to_the_province_and_stops_cleanly() {
    let bin = sync178_tests::workspace_bin("sync178-node");
    sync178_tests::workspace_bin("sync178-hub");
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cluster = Cluster {
        script: repo_root().join("deploy/local-cluster.sh"),
        bin,
        dir: tmp.path().join("cluster"),
        pids: Vec::new(),
        down: false,
    };

    // Up: seven processes, each answering.
    let port = base_port().to_string();
    let up = cluster.script(&["up", "--base-port", &port, "--timeout", "60"]);
    cluster.read_pids();
    assert!(up.status.success(), "up: {}\n{}", text(&up), cluster.logs());
    let up_text = String::from_utf8_lossy(&up.stdout);
    assert!(
        up_text.contains("7 nodes (1 province, 2 districts, 4 communes)"),
        "{up_text}"
    );
    assert!(up_text.contains("hub answers"), "{up_text}");
    let nodes = cluster.nodes();
    let units: Vec<&str> = nodes.iter().map(|n| n.unit.as_str()).collect();
    assert_eq!(
        units,
        [
            "p33", "d323", "d325", "c11950", "c11953", "c11986", "c11989"
        ]
    );
    assert_eq!(cluster.pids.len(), 7);
    for (&pid, n) in cluster.pids.iter().zip(&nodes) {
        assert!(running(pid, &cluster.dir), "{} (pid {pid}) runs", n.unit);
    }
    let status = cluster.script(&["status"]);
    assert!(status.status.success(), "status: {}", text(&status));
    let status_text = String::from_utf8_lossy(&status.stdout);
    for u in &units {
        assert!(
            status_text.contains(&format!("Unit: {u} ")),
            "{status_text}"
        );
    }

    // Record at the first commune of each district.
    let province = nodes[0].clone();
    let mut sent = HashMap::new();
    for (district, count) in [("d323", 3), ("d325", 2)] {
        let commune = nodes
            .iter()
            .find(|n| n.parent == district && n.unit.starts_with('c'))
            .unwrap_or_else(|| panic!("a commune of {district}"));
        let file = tmp.path().join(format!("{}.ndjson", commune.unit));
        std::fs::write(&file, events(&commune.unit, count)).expect("writes events");
        let certs = cluster.certs().join(&commune.unit);
        let out = cluster.node(&[
            "submit",
            "--endpoint",
            &commune.endpoint,
            "--ca",
            &cluster.certs().join("ca.pem").display().to_string(),
            "--cert",
            &certs.join("recorder.pem").display().to_string(),
            "--key",
            &certs.join("recorder.key").display().to_string(),
            &file.display().to_string(),
        ]);
        assert!(
            out.status.success(),
            "submit at {}: {}",
            commune.unit,
            text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("{count} accepted")),
            "{}",
            text(&out)
        );
        sent.insert(commune.unit.clone(), count as u64);
    }

    // The province holds them, through the districts.
    let deadline = Instant::now() + ARRIVAL_LIMIT;
    let mut last: String;
    loop {
        match cluster.status_json(&province) {
            Ok(s) => {
                let h = heads(&s);
                if sent.iter().all(|(u, &n)| h.get(u) == Some(&n)) {
                    assert_eq!(num(&s["log_length"]), 5, "{s}");
                    if cluster.hub_checkpoint() == Some(5) {
                        break;
                    }
                }
                last = s.to_string();
            }
            Err(e) => last = e,
        }
        assert!(
            Instant::now() < deadline,
            "the province did not get {sent:?} within {ARRIVAL_LIMIT:?}; last status: {last}\n{}",
            cluster.logs()
        );
        std::thread::sleep(POLL);
    }

    // The province's whole log verifies, from the operator's command line.
    let out = cluster.as_operator(&["verify"], &province);
    assert!(out.status.success(), "verify: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("is sound: 5 events, 2 origins"),
        "{}",
        text(&out)
    );

    // Down, then up again on the same folder: certificates and data kept.
    let down = cluster.script(&["down"]);
    assert!(down.status.success(), "down: {}", text(&down));
    for (&pid, n) in cluster.pids.iter().zip(&nodes) {
        assert!(
            !running(pid, &cluster.dir),
            "{} (pid {pid}) still runs",
            n.unit
        );
    }
    let status = cluster.script(&["status"]);
    assert!(
        !status.status.success(),
        "status after down: {}",
        text(&status)
    );

    let up = cluster.script(&["up", "--base-port", &port, "--timeout", "60"]);
    cluster.read_pids();
    assert!(
        up.status.success(),
        "up again: {}\n{}",
        text(&up),
        cluster.logs()
    );
    assert!(
        String::from_utf8_lossy(&up.stdout).contains("ca reused; 0 created, 16 kept"),
        "{}",
        text(&up)
    );
    let province = cluster.nodes()[0].clone();
    let s = cluster
        .status_json(&province)
        .unwrap_or_else(|e| panic!("province status after restart: {e}"));
    assert_eq!(num(&s["log_length"]), 5, "{s}");

    let down = cluster.script(&["down"]);
    assert!(down.status.success(), "down: {}", text(&down));
    cluster.down = true;
    for &pid in &cluster.pids {
        assert!(!running(pid, &cluster.dir), "pid {pid} still runs");
    }
    let down_text = String::from_utf8_lossy(&down.stdout);
    assert_eq!(down_text.matches(" stopped").count(), 8, "{down_text}"); // 7 nodes and the hub
}
