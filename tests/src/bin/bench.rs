//! The benchmark command: `bench log [--quick]` prints medians and ratios to
//! baselines measured in the same run, and writes `target/bench/results.json`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use bytes::Bytes;
use clap::{Parser, Subcommand};
use sync178_shared::log::Log;
use sync178_shared::testing::{chain, draft};
use sync178_shared::unit::UnitId;
use sync178_tests::report::{Report, median};

#[derive(Parser)]
#[command(about = "sync178 benchmarks: medians of several runs, ratios to same-run baselines")]
struct Args {
    #[command(subcommand)]
    what: What,
    /// A tiny run that only checks the benchmark still works.
    #[arg(long, global = true)]
    quick: bool,
    /// Runs per figure (the median is reported).
    #[arg(long, global = true, default_value_t = 5)]
    runs: usize,
    /// Where to write the figures as JSON.
    #[arg(long, global = true, default_value = "target/bench/results.json")]
    json: std::path::PathBuf,
}

#[derive(Subcommand)]
enum What {
    /// Durable appends to the event log against raw sled.
    Log,
    /// Everything.
    All,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut report = Report::default();
    let runs = if args.quick { 1 } else { args.runs.max(1) };
    match args.what {
        What::Log | What::All => bench_log(&mut report, runs, args.quick)?,
    }
    report
        .write_json(&args.json)
        .with_context(|| format!("writing {}", args.json.display()))?;
    println!("\nfigures written to {}", args.json.display());
    Ok(())
}

/// Events of about the size of a real one (~230 bytes).
fn sample_events(n: u64) -> Vec<Bytes> {
    chain("c00292".parse().expect("unit"), n)
}

/// Raw sled ceiling: `apply_batch` + `flush` of the same bytes, one key per event.
fn raw_sled(events: &[Bytes], batch: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let db = sled::Config::new()
        .path(dir.path())
        .flush_every_ms(None)
        .open()?;
    let tree = db.open_tree("raw")?;
    let start = Instant::now();
    let mut pos = 0u64;
    for chunk in events.chunks(batch) {
        let mut b = sled::Batch::default();
        for e in chunk {
            b.insert(&pos.to_be_bytes(), e.as_ref());
            pos += 1;
        }
        tree.apply_batch(b)?;
        db.flush()?;
    }
    Ok(events.len() as f64 / start.elapsed().as_secs_f64())
}

fn log_own(n: usize, batch: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let log = Log::open(dir.path(), "d008".parse()?)?;
    let drafts: Vec<_> = (0..n).map(|i| draft("d008", i as u32)).collect();
    let start = Instant::now();
    for chunk in drafts.chunks(batch) {
        log.append_own_blocking(chunk.to_vec())?;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

fn log_replicated(events: &[Bytes], batch: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let log = Log::open(dir.path(), "d008".parse()?)?;
    let c: UnitId = "c00292".parse()?;
    let start = Instant::now();
    for chunk in events.chunks(batch) {
        log.append_replicated_blocking(chunk.to_vec(), |o| o == c)?;
    }
    Ok(events.len() as f64 / start.elapsed().as_secs_f64())
}

fn log_concurrent(n: usize, writers: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let log = Arc::new(Log::open(dir.path(), "d008".parse()?)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let per = n / writers;
    let elapsed = rt.block_on(async {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..per {
                    log.append_own(vec![draft("d008", (w * per + i) as u32)])
                        .await?;
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        anyhow::Ok(start.elapsed())
    })?;
    Ok((per * writers) as f64 / elapsed.as_secs_f64())
}

fn repeat(runs: usize, mut f: impl FnMut() -> anyhow::Result<f64>) -> anyhow::Result<f64> {
    let mut xs = Vec::with_capacity(runs);
    for _ in 0..runs {
        xs.push(f()?);
    }
    Ok(median(&xs))
}

fn bench_log(r: &mut Report, runs: usize, quick: bool) -> anyhow::Result<()> {
    let n = if quick { 2_000 } else { 50_000 };
    let n1 = if quick { 100 } else { 2_000 };
    println!("== event log: durable appends (median of {runs} runs; {n} events, {n1} for batch 1)");
    let events = sample_events(n as u64);
    for batch in [1usize, 100, 1000] {
        let slice = if batch == 1 {
            &events[..n1]
        } else {
            &events[..]
        };
        let base = format!("raw sled apply_batch+flush, batch {batch}");
        r.add(&base, repeat(runs, || raw_sled(slice, batch))?, "events/s");
        let count = slice.len();
        r.add_vs(
            &format!("log own append, batch {batch}"),
            repeat(runs, || log_own(count, batch))?,
            "events/s",
            &base,
        );
        r.add_vs(
            &format!("log replicated append, batch {batch}"),
            repeat(runs, || log_replicated(slice, batch))?,
            "events/s",
            &base,
        );
    }
    let c = if quick { 640 } else { 32_000 };
    r.add_vs(
        "log own append, 64 concurrent writers of 1",
        repeat(runs, || log_concurrent(c, 64))?,
        "events/s",
        "raw sled apply_batch+flush, batch 1",
    );
    Ok(())
}
