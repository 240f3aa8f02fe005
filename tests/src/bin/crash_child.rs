//! Child process of the crash test: appends to a log forever, printing each acknowledgement.
//!
//! Usage: `crash_child DIR`. Four threads append own events in batches of
//! random size and one replicates a fake commune's chain. A line is printed
//! (and flushed) only after the append returned, i.e. after the flush: every
//! printed line is a promise the parent checks after killing us.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::sync::Mutex;

use rand::Rng;
use sync178_shared::event::{ZERO_HASH, hex_hash};
use sync178_shared::log::Log;
use sync178_shared::testing::{chain_from, draft};
use sync178_shared::unit::UnitId;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: crash_child DIR"))?;
    let me: UnitId = "d008".parse()?;
    let child: UnitId = "c00292".parse()?;
    let log = Log::open(std::path::Path::new(&dir), me)?;
    let out = Mutex::new(std::io::stdout());
    let say = |line: String| {
        let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
        // The parent reads until EOF; a failed write means it is gone.
        let _ = writeln!(o, "{line}");
        let _ = o.flush();
    };
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut rng = rand::rng();
                loop {
                    let n = rng.random_range(1..40);
                    let drafts = (0..n).map(|i| draft("d008", i)).collect();
                    match log.append_own_blocking(drafts) {
                        Ok(acks) => {
                            for a in acks {
                                say(format!("own {} {}", a.seq, hex_hash(&a.hash)));
                            }
                        }
                        Err(e) => {
                            eprintln!("append failed: {e}");
                            std::process::exit(3);
                        }
                    }
                }
            });
        }
        s.spawn(|| {
            let mut rng = rand::rng();
            loop {
                let head = log.head(child);
                let (seq, prev) = head.map_or((1, ZERO_HASH), |h| (h.seq + 1, h.hash));
                let n = rng.random_range(1..200);
                let batch = chain_from(child, seq, prev, n);
                match log.append_replicated_blocking(batch, |o| o == child) {
                    Ok(r) => {
                        for (o, h) in r.heads {
                            say(format!("rep {o} {} {}", h.seq, hex_hash(&h.hash)));
                        }
                    }
                    Err(e) => {
                        eprintln!("replicate failed: {e}");
                        std::process::exit(3);
                    }
                }
            }
        });
    });
    Ok(())
}
