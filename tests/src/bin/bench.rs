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
    /// End-to-end commune → district → province over mTLS.
    Sync,
    /// Everything.
    All,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut report = Report::default();
    let runs = if args.quick { 1 } else { args.runs.max(1) };
    match args.what {
        What::Log => bench_log(&mut report, runs, args.quick)?,
        What::Sync => bench_sync(&mut report, runs, args.quick)?,
        What::All => {
            bench_log(&mut report, runs, args.quick)?;
            bench_sync(&mut report, runs, args.quick)?;
        }
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

fn bench_sync(r: &mut Report, runs: usize, quick: bool) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let n = if quick { 5_000 } else { 200_000 };
    let backlog = if quick { 10_000 } else { 1_000_000 };
    let steady_secs = if quick { 1 } else { 10 };
    println!(
        "\n== sync: commune → district → province, three in-process nodes, mTLS, flush at every tier (median of {runs} runs)"
    );
    let mut tput = Vec::new();
    let mut p50 = Vec::new();
    let mut p99 = Vec::new();
    for _ in 0..runs {
        tput.push(rt.block_on(sync::throughput(n))?);
        let (a, b) = rt.block_on(sync::latency_at(5_000, steady_secs))?;
        p50.push(a);
        p99.push(b);
    }
    r.add(
        &format!("sync end-to-end, {n} events"),
        median(&tput),
        "events/s",
    );
    r.add(
        "sync submit→province latency p50 at 5k events/s",
        median(&p50),
        "ms",
    );
    r.add(
        "sync submit→province latency p99 at 5k events/s",
        median(&p99),
        "ms",
    );
    let secs = rt.block_on(sync::catch_up(backlog))?;
    r.add(
        &format!("sync catch-up of a {backlog}-event backlog"),
        secs,
        "s",
    );
    r.add(
        &format!("sync catch-up rate, {backlog} backlog"),
        backlog as f64 / secs,
        "events/s",
    );
    Ok(())
}

mod sync {
    //! End-to-end sync figures on a one-district, one-commune province.

    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use sync178_shared::event;
    use sync178_shared::proto::v1::feed_client::FeedClient;
    use sync178_shared::proto::v1::ingest_client::IngestClient;
    use sync178_shared::proto::v1::{Event, SubmitRequest, SubscribeRequest};
    use sync178_shared::testing::draft;
    use sync178_shared::tls::{Identity, Role};
    use sync178_shared::unit::{Level, UnitId};
    use sync178_tests::cluster::{Cluster, hung_yen};
    use sync178_tests::report::quantile;

    fn commune(c: &Cluster) -> UnitId {
        c.topology
            .units()
            .find(|u| u.level() == Level::Commune)
            .expect("a commune")
    }

    async fn submit_all(
        c: &Cluster,
        unit: UnitId,
        n: usize,
        submitters: usize,
    ) -> anyhow::Result<()> {
        let ch = c.channel(unit, Identity::new(unit, Role::Recorder)).await;
        let per = n / submitters;
        let mut tasks = Vec::new();
        for _ in 0..submitters {
            let mut client = IngestClient::new(ch.clone());
            let u = unit.to_string();
            tasks.push(tokio::spawn(async move {
                let mut left = per;
                while left > 0 {
                    let k = left.min(1000);
                    let events: Vec<Event> = (0..k).map(|i| draft(&u, i as u32)).collect();
                    let r = client.submit(SubmitRequest { events }).await?.into_inner();
                    anyhow::ensure!(r.rejected.is_empty(), "refused: {:?}", r.rejected);
                    left -= k;
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        Ok(())
    }

    async fn wait_for(c: &Cluster, unit: UnitId, origin: UnitId, n: u64) {
        c.wait_for_heads(
            unit,
            &HashMap::from([(origin, n)]),
            Duration::from_secs(600),
        )
        .await;
    }

    /// Events per second from the first submit at the commune until the province holds them all.
    pub async fn throughput(n: usize) -> anyhow::Result<f64> {
        let c = Cluster::start(&hung_yen(1, 1)).await;
        let u = commune(&c);
        let start = Instant::now();
        submit_all(&c, u, n, 4).await?;
        wait_for(&c, c.province, u, n as u64).await;
        let secs = start.elapsed().as_secs_f64();
        c.shutdown().await;
        Ok(n as f64 / secs)
    }

    /// Submits `rate` events/s in batches every 10 ms for `secs`; returns the
    /// p50 and p99 of submit → arrival in the province's feed, ms.
    pub async fn latency_at(rate: usize, secs: u64) -> anyhow::Result<(f64, f64)> {
        let c = Cluster::start(&hung_yen(1, 1)).await;
        let u = commune(&c);
        let total = rate * secs as usize;
        let hub = c
            .channel(c.province, Identity::new(c.province, Role::Hub))
            .await;
        let mut feed = FeedClient::new(hub)
            .subscribe(SubscribeRequest { from_position: 0 })
            .await?
            .into_inner();
        let arrivals = tokio::spawn(async move {
            let mut seen: HashMap<u64, Instant> = HashMap::new();
            while seen.len() < total {
                let Some(batch) = feed.message().await? else {
                    break;
                };
                let now = Instant::now();
                for item in batch.items {
                    let h = event::peek(&item.event)?;
                    seen.insert(h.seq, now);
                }
            }
            anyhow::Ok(seen)
        });
        let mut client = IngestClient::new(c.channel(u, Identity::new(u, Role::Recorder)).await);
        let per_tick = rate / 100;
        let mut sent: HashMap<u64, Instant> = HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let us = u.to_string();
        for _ in 0..(total / per_tick) {
            tick.tick().await;
            let at = Instant::now();
            let events: Vec<Event> = (0..per_tick).map(|i| draft(&us, i as u32)).collect();
            let r = client.submit(SubmitRequest { events }).await?.into_inner();
            for a in r.accepted {
                sent.insert(a.seq, at);
            }
        }
        let seen = tokio::time::timeout(Duration::from_secs(120), arrivals).await???;
        let lat: Vec<f64> = sent
            .iter()
            .filter_map(|(s, t0)| {
                seen.get(s)
                    .map(|t1| t1.duration_since(*t0).as_secs_f64() * 1000.0)
            })
            .collect();
        anyhow::ensure!(
            lat.len() == total,
            "only {} of {total} events arrived",
            lat.len()
        );
        c.shutdown().await;
        Ok((quantile(&lat, 0.5), quantile(&lat, 0.99)))
    }

    /// Seconds for a backlog of `n` events recorded while the commune was cut
    /// off to reach the province once the link heals.
    pub async fn catch_up(n: usize) -> anyhow::Result<f64> {
        let c = Cluster::start(&hung_yen(1, 1)).await;
        let u = commune(&c);
        let district = c.topology.parent(u).expect("district");
        c.proxy(district).cut();
        let t = Instant::now();
        submit_all(&c, u, n, 4).await?;
        println!(
            "   (backlog of {n} recorded offline in {:.1} s)",
            t.elapsed().as_secs_f64()
        );
        let start = Instant::now();
        c.proxy(district).heal();
        wait_for(&c, c.province, u, n as u64).await;
        let secs = start.elapsed().as_secs_f64();
        c.shutdown().await;
        Ok(secs)
    }
}
