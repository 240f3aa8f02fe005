//! Crash test: a child appends in a loop and is killed with SIGKILL at random
//! points, many times; after each kill every acknowledged event is there, the
//! chain verifies, and appending continues.
//!
//! `SYNC178_CRASH_KILLS` sets the number of kills (default 12).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::Rng;
use sync178_shared::event::hex_hash;
use sync178_shared::log::Log;
use sync178_shared::unit::UnitId;

#[test]
fn acknowledged_events_survive_sigkill() {
    let kills: usize = std::env::var("SYNC178_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let dir = tempfile::tempdir().expect("tempdir");
    let me: UnitId = "d008".parse().expect("unit");
    let mut rng = rand::rng();
    let mut last_own = 0u64;
    let mut total_acks = 0usize;
    for round in 0..kills {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash_child"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("child starts");
        let stdout = child.stdout.take().expect("piped");
        let (first_tx, first_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.is_empty() {
                    let _ = first_tx.send(());
                }
                lines.push(line);
            }
            lines
        });
        // Kill at a random moment after the child has acknowledged something.
        first_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("child acknowledges within a minute");
        std::thread::sleep(Duration::from_millis(rng.random_range(0..250)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let acked = reader.join().expect("reader");
        assert!(!acked.is_empty());
        total_acks += acked.len();

        let log = Log::open(dir.path(), me).expect("reopens after kill");
        log.verify()
            .unwrap_or_else(|e| panic!("round {round}: log does not verify: {e}"));
        for line in &acked {
            let parts: Vec<&str> = line.split(' ').collect();
            let (origin, seq, hash) = match parts.as_slice() {
                ["own", seq, hash] => (me, *seq, *hash),
                ["rep", origin, seq, hash] => (origin.parse().expect("unit"), *seq, *hash),
                // A line cut by the kill was never a complete acknowledgement.
                _ => continue,
            };
            let Ok(seq) = seq.parse::<u64>() else {
                continue;
            };
            if hash.len() != 64 {
                continue;
            }
            let (_, bytes) = log
                .get_by_origin_seq(origin, seq)
                .expect("reads")
                .unwrap_or_else(|| panic!("round {round}: acknowledged {origin} seq {seq} lost"));
            let stored = sync178_shared::event::open(bytes)
                .expect("verifies")
                .header
                .hash;
            assert_eq!(
                hex_hash(&stored),
                hash,
                "round {round}: {origin} seq {seq} changed"
            );
        }
        let own = log.head(me).map_or(0, |h| h.seq);
        assert!(own >= last_own, "own chain went backwards");
        last_own = own;
    }
    assert!(last_own > 0 && total_acks > kills);
}
