//! The benchmark command: `bench all [--quick]` (or one section: `log`,
//! `limits`, `sync`, `nats`, `hub`) prints medians and ratios to baselines
//! measured in the same run, one table of every figure with the targets met
//! or missed, and writes `target/bench/results.json`.
//!
//! Sections: the event log against raw sled; the machine's ceilings (raw
//! sled, and a no-op `Sync.Push` stream over loopback mTLS); sync178 end to
//! end; NATS JetStream on the same events; the hub (not built yet).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use bytes::Bytes;
use clap::{Parser, Subcommand};
use sync178_shared::event;
use sync178_shared::log::Log;
use sync178_shared::testing::{chain, draft};
use sync178_shared::unit::UnitId;
use sync178_tests::report::{Report, median};

#[path = "../bench/grpc.rs"]
mod grpc;
#[path = "../bench/hub.rs"]
mod hub;
#[path = "../bench/nats.rs"]
mod nats;

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
    json: PathBuf,
    /// The `nats-server` binary (default: found on PATH or in /usr/sbin).
    #[arg(long, global = true)]
    nats_server: Option<PathBuf>,
    /// Never run tests/scripts/install-nats.sh when `nats-server` is missing
    /// (`--quick` never does either): the NATS section is skipped instead.
    #[arg(long, global = true)]
    no_install: bool,
    /// Publish acks the NATS client keeps outstanding, over all publishers.
    #[arg(long, global = true, default_value_t = 4_000)]
    nats_window: usize,
    /// Concurrent publishing tasks on the NATS client's connection.
    #[arg(long, global = true, default_value_t = 4)]
    nats_publishers: usize,
}

#[derive(Subcommand)]
enum What {
    /// Durable appends to the event log against raw sled.
    Log,
    /// The machine's ceilings: a no-op Sync.Push stream over loopback mTLS.
    Limits,
    /// End-to-end commune → district → province over mTLS.
    Sync,
    /// NATS JetStream, commune → district → province leaf nodes, same events.
    Nats,
    /// Hub apply rate, rebuild and kpi latency (not built yet).
    Hub,
    /// Everything.
    All,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut report = Report::default();
    let mut notes = Vec::new();
    let runs = if args.quick { 1 } else { args.runs.max(1) };
    let nats = NatsArgs {
        server: args.nats_server.clone(),
        install: !args.quick && !args.no_install,
        window: args.nats_window,
        publishers: args.nats_publishers,
    };
    match args.what {
        What::Log => bench_log(&mut report, runs, args.quick)?,
        What::Limits => bench_limits(&mut report, runs, args.quick)?,
        What::Sync => bench_sync(&mut report, runs, args.quick)?,
        What::Nats => bench_nats(&mut report, &mut notes, runs, args.quick, &nats)?,
        What::Hub => hub::bench_hub(&mut report, runs, args.quick)?,
        What::All => {
            bench_log(&mut report, runs, args.quick)?;
            bench_limits(&mut report, runs, args.quick)?;
            bench_sync(&mut report, runs, args.quick)?;
            bench_nats(&mut report, &mut notes, runs, args.quick, &nats)?;
            hub::bench_hub(&mut report, runs, args.quick)?;
        }
    }
    print_table(&report, args.quick);
    if !notes.is_empty() {
        println!("\n== not measured");
        for n in &notes {
            println!("{n}");
        }
    }
    report
        .write_json(&args.json)
        .with_context(|| format!("writing {}", args.json.display()))?;
    println!("\nfigures written to {}", args.json.display());
    Ok(())
}

/// Events pushed end to end, the same for sync178, the gRPC ceiling and NATS.
fn e2e_events(quick: bool) -> usize {
    if quick { 5_000 } else { 200_000 }
}

fn ceiling_name(n: usize) -> String {
    format!("loopback gRPC push ceiling, {n} events")
}

fn sync_name(n: usize) -> String {
    format!("sync end-to-end, {n} events")
}

/// The targets of issue 8: (figure, least ratio to its baseline).
fn targets(quick: bool) -> Vec<(String, f64)> {
    let n = e2e_events(quick);
    vec![
        ("log own append, batch 1000".to_string(), 0.8),
        (sync_name(n), 0.35),
        (
            format!("sync end-to-end vs NATS JetStream, {n} events"),
            2.0,
        ),
        (
            format!("sync end-to-end vs NATS JetStream sync always, {n} events"),
            2.0,
        ),
    ]
}

/// One table of every figure, then the targets met or missed.
fn print_table(r: &Report, quick: bool) {
    let figures = r.figures();
    let width = figures
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    println!("\n== all figures (median of the runs; ratio = value / baseline, same run)");
    println!(
        "{:<width$} {:>14} {:<9} {:>8}  baseline",
        "figure", "value", "unit", "ratio"
    );
    for f in figures {
        let ratio = f.ratio.map_or("—".to_string(), |x| {
            if x >= 0.01 {
                format!("{x:.2}×")
            } else {
                format!("{x:.5}×")
            }
        });
        println!(
            "{:<width$} {:>14} {:<9} {:>8}  {}",
            f.name,
            sync178_tests::report::shown(f.value),
            f.unit,
            ratio,
            f.baseline.as_deref().unwrap_or("—")
        );
    }
    println!("\n== targets");
    for (name, least) in targets(quick) {
        match figures
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.ratio)
        {
            Some(x) if x >= least => println!("met     {name}: {x:.2}× (target ≥ {least}×)"),
            Some(x) => println!("MISSED  {name}: {x:.2}× (target ≥ {least}×)"),
            None => println!("n/a     {name}: not measured in this run"),
        }
    }
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
    let n = e2e_events(quick);
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
    r.add_vs(&sync_name(n), median(&tput), "events/s", &ceiling_name(n));
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
    let mut secs = Vec::new();
    for _ in 0..runs {
        secs.push(rt.block_on(sync::catch_up(backlog))?);
    }
    let secs = median(&secs);
    r.add(
        &format!("sync catch-up of a {backlog}-event backlog"),
        secs,
        "s",
    );
    r.add_vs(
        &format!("sync catch-up rate, {backlog} backlog"),
        backlog as f64 / secs,
        "events/s",
        &ceiling_name(n),
    );
    Ok(())
}

fn bench_limits(r: &mut Report, runs: usize, quick: bool) -> anyhow::Result<()> {
    let n = e2e_events(quick);
    println!(
        "\n== limits: no-op Sync.Push over loopback mTLS, batches of 1000, 8 in flight (median of {runs} runs; {n} events)"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let certs = grpc::Certs::issue()?;
    let events = sample_events(n as u64);
    let mut xs = Vec::with_capacity(runs);
    for _ in 0..runs {
        xs.push(rt.block_on(grpc::push_ceiling(&certs, &events, 1000, 8))?);
    }
    r.add(&ceiling_name(n), median(&xs), "events/s");
    Ok(())
}

/// How to find and drive `nats-server`.
struct NatsArgs {
    server: Option<PathBuf>,
    install: bool,
    window: usize,
    publishers: usize,
}

/// NATS figures; what could not be measured, and why, goes to `notes`.
fn bench_nats(
    r: &mut Report,
    notes: &mut Vec<String>,
    runs: usize,
    quick: bool,
    a: &NatsArgs,
) -> anyhow::Result<()> {
    let n = e2e_events(quick);
    println!(
        "\n== NATS JetStream: commune → district → province leaf nodes, JetStream domains, sourced file streams, acked publishes with Nats-Msg-Id (median of {runs} runs; {n} events; {} publishers, {} acks outstanding)",
        a.publishers, a.window
    );
    let bin = match nats::find_server(a.server.as_deref(), a.install) {
        Ok(bin) => bin,
        Err(why) => {
            println!("NATS skipped: {why}");
            notes.push(format!("NATS skipped: {why}"));
            return Ok(());
        }
    };
    let version = nats::version(&bin)?;
    println!("   {version} ({})", bin.display());
    let events = sample_events(n as u64);
    let ids = events
        .iter()
        .map(|b| Ok(hex::encode(event::peek(b)?.id)))
        .collect::<anyhow::Result<Vec<String>>>()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let sync_e2e = r
        .figures()
        .iter()
        .find(|f| f.name == sync_name(n))
        .map(|f| f.value);
    let mut modes = vec![(false, String::new())];
    match nats::sync_always_supported(&bin)? {
        Ok(()) => modes.push((true, " sync always".to_string())),
        Err(refusal) => {
            let note = format!(
                "NATS JetStream sync always (sync_interval: always, fsync before every ack): not measured — \
                 {version} refuses it ({refusal}); its figures here are NATS acking before any fsync \
                 (its file store syncs on a timer), while sync178 fsyncs before every ack at every tier"
            );
            println!("   {note}");
            notes.push(note);
        }
    }
    for (sync_always, label) in modes {
        let mut e2e = Vec::with_capacity(runs);
        let mut acked = Vec::with_capacity(runs);
        for _ in 0..runs {
            let run = rt.block_on(nats::end_to_end(
                &bin,
                &events,
                &ids,
                a.window,
                a.publishers,
                sync_always,
            ))?;
            e2e.push(run.end_to_end);
            acked.push(run.acked);
        }
        let name = format!("NATS JetStream{label} end-to-end, {n} events");
        r.add(
            &format!("NATS JetStream{label} acked at commune, {n} events"),
            median(&acked),
            "events/s",
        );
        r.add(&name, median(&e2e), "events/s");
        if let Some(v) = sync_e2e {
            r.add_vs(
                &format!("sync end-to-end vs NATS JetStream{label}, {n} events"),
                v,
                "events/s",
                &name,
            );
        }
    }
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
        // The commune must have met its parent once before it records offline
        // (a new store waits for that); then its link is cut.
        c.submit(u, 1).await;
        wait_for(&c, c.province, u, 1).await;
        c.proxy(district).cut();
        let t = Instant::now();
        submit_all(&c, u, n, 4).await?;
        println!(
            "   (backlog of {n} recorded offline in {:.1} s)",
            t.elapsed().as_secs_f64()
        );
        let start = Instant::now();
        c.proxy(district).heal();
        wait_for(&c, c.province, u, n as u64 + 1).await;
        let secs = start.elapsed().as_secs_f64();
        c.shutdown().await;
        Ok(secs)
    }
}
