//! Measures the tier check (`sync178_hub::reconcile::tiers::check_tiers`) at
//! province scale: a province node and a district node whose logs each hold
//! every event of 500 communes × 2,000 events, and the check of that one
//! link, which digests all 500 origins on both nodes and compares them.
//!
//! Usage: `cargo run --release -p sync178-tests --bin reconcile_scale [--
//! --communes 500 --events 2000 --checkpoint-every 1000 --runs 3 --diverge 0]`
//! (`--diverge N`: the district's copy of N origins forks at three quarters
//! of the chain, to time locating divergences).
//!
//! The logs are written directly into the stores before the nodes start
//! (`Log::submit_replicated`, many batches of 1,000 events queued at once so
//! that group commit packs them into the large mixed segments a busy parent
//! writes — the costly layout for digest look-ups). Then both nodes run
//! in-process on loopback with mutual TLS, the district's uplink connected to
//! the province, and the check runs as the province operator.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use sync178_hub::reconcile::tiers::{OriginClass, TierOptions, check_tiers};
use sync178_node::certs::{self, CertAuthority};
use sync178_node::config::{Config, Limits, ParentConfig, UplinkConfig};
use sync178_shared::event;
use sync178_shared::i18n::Lang;
use sync178_shared::log::Log;
use sync178_shared::testing::{chain, chain_from};
use sync178_shared::tls::{Identity, Role};
use sync178_shared::topology::Topology;
use sync178_shared::unit::{Level, UnitId};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Measures the tier check on one province←district link at scale.
#[derive(Debug, Parser)]
struct Args {
    /// Communes under the one district (origins in each log).
    #[arg(long, default_value_t = 500)]
    communes: u32,
    /// Events per commune.
    #[arg(long, default_value_t = 2000)]
    events: u64,
    /// Digest checkpoint distance.
    #[arg(long, default_value_t = 1000)]
    checkpoint_every: u64,
    /// Timed runs of the check.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Origins whose district copy forks at three quarters of the chain.
    #[arg(long, default_value_t = 0)]
    diverge: usize,
}

const PROVINCE: &str = "p33";
const DISTRICT: &str = "d323";

fn topology_csv(communes: u32) -> String {
    let mut s = String::from(
        "province_code,province_name,district_code,district_name,commune_code,commune_name\n",
    );
    for i in 0..communes {
        s.push_str(&format!(
            "33,Tỉnh Thử Nghiệm,323,Huyện Thử Nghiệm,{:05},Xã Thử Nghiệm {}\n",
            20_001 + i,
            i + 1
        ));
    }
    s
}

/// The first seq of a forked district copy.
fn fork_at(events: u64) -> u64 {
    events * 3 / 4 + 1
}

/// Writes `events` events of every commune into the logs of the province and
/// of the district, the same bytes in both, except that the district's copy
/// of the first `diverge` origins forks at [`fork_at`]. Returns the events written.
fn fill(
    root: &Path,
    (p, d): (UnitId, UnitId),
    origins: &[UnitId],
    events: u64,
    diverge: usize,
) -> anyhow::Result<u64> {
    let plog = Log::open(&root.join(p.to_string()).join("log"), p)?;
    let dlog = Log::open(&root.join(d.to_string()).join("log"), d)?;
    let at = fork_at(events);
    let mut k = 0usize;
    for wave in origins.chunks(50) {
        let mut pending = Vec::new();
        for o in wave {
            let ours = chain(*o, events);
            let mut theirs = ours.clone();
            if k < diverge && at > 1 && at <= events {
                let keep = usize::try_from(at - 1)?;
                let prev = event::peek(&ours[keep - 1])?.hash;
                theirs.truncate(keep);
                theirs.extend(chain_from(*o, at, prev, events - at + 1));
            }
            k += 1;
            for batch in ours.chunks(1000) {
                pending.push(plog.submit_replicated(batch.to_vec(), |_| true)?);
            }
            for batch in theirs.chunks(1000) {
                pending.push(dlog.submit_replicated(batch.to_vec(), |_| true)?);
            }
        }
        for r in pending {
            r.wait()?;
        }
    }
    Ok(plog.len() + dlog.len())
}

fn issue(ca: &CertAuthority, out: &Path, id: Identity) -> anyhow::Result<()> {
    let files = certs::province_files(out, id);
    let dir = files.cert.parent().context("certificate folder")?;
    let stem = files
        .cert
        .file_stem()
        .and_then(|s| s.to_str())
        .context("certificate name")?;
    ca.issue(id)?.write(dir, stem)?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    sync178_shared::tls::init_crypto();
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    let topo_path = root.join("topology.csv");
    std::fs::write(&topo_path, topology_csv(args.communes))?;
    let topology = Arc::new(Topology::from_csv_path(&topo_path)?);
    let p: UnitId = PROVINCE.parse()?;
    let d: UnitId = DISTRICT.parse()?;
    let origins: Vec<UnitId> = topology
        .units()
        .filter(|u| u.level() == Level::Commune)
        .collect();

    let certs_dir = root.join("certs");
    let ca = CertAuthority::create(p, "Tỉnh Thử Nghiệm")?;
    ca.save(&certs_dir)?;
    for id in [
        Identity::new(p, Role::Node),
        Identity::new(d, Role::Node),
        Identity::new(p, Role::Operator),
    ] {
        issue(&ca, &certs_dir, id)?;
    }

    let t = Instant::now();
    let total = fill(root, (p, d), &origins, args.events, args.diverge)?;
    println!(
        "wrote {} origins × {} events into 2 logs ({total} events) in {:.1} s",
        origins.len(),
        args.events,
        t.elapsed().as_secs_f64()
    );

    let setup = Setup {
        root,
        topo_path: &topo_path,
        certs_dir: &certs_dir,
        topology,
        origins: origins.len(),
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(measure(&args, setup))
}

/// What the measurement needs from the setup.
struct Setup<'a> {
    root: &'a Path,
    topo_path: &'a Path,
    certs_dir: &'a Path,
    topology: Arc<Topology>,
    origins: usize,
}

async fn measure(args: &Args, s: Setup<'_>) -> anyhow::Result<()> {
    let p: UnitId = PROVINCE.parse()?;
    let d: UnitId = DISTRICT.parse()?;
    let shutdown = CancellationToken::new();
    let mut endpoints = HashMap::new();
    let mut tasks = Vec::new();
    for (unit, parent) in [(p, None), (d, Some(p))] {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        endpoints.insert(unit, format!("https://{addr}"));
        let config = Config {
            unit,
            topology: s.topo_path.to_path_buf(),
            data_dir: s.root.join(unit.to_string()),
            listen: addr,
            parent: parent.map(|pu: UnitId| ParentConfig {
                endpoint: endpoints.get(&pu).cloned().unwrap_or_default(),
                unit: Some(pu),
            }),
            tls: certs::province_files(s.certs_dir, Identity::new(unit, Role::Node)),
            limits: Limits::default(),
            entry: None,
            uplink: UplinkConfig::default(),
        };
        tasks.push(tokio::spawn(sync178_node::run(
            config,
            listener,
            shutdown.clone(),
        )));
    }
    let mut opts = TierOptions::new(
        p,
        endpoints,
        certs::province_files(s.certs_dir, Identity::new(p, Role::Operator)),
        s.topology.clone(),
    );
    opts.checkpoint_every = args.checkpoint_every;

    // Until the district's uplink has connected (its own origin is then
    // "nothing recorded yet" rather than "missing").
    let start = Instant::now();
    loop {
        let r = check_tiers(&opts).await?;
        if r.summary().count(OriginClass::Missing) == 0 {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(120),
            "the district never connected:\n{}",
            r.render_text(Lang::En)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut times = Vec::new();
    for run in 1..=args.runs {
        let t = Instant::now();
        let r = check_tiers(&opts).await?;
        let secs = t.elapsed().as_secs_f64();
        times.push(secs);
        let sum = r.summary();
        println!(
            "run {run}: check_tiers {p} ← {d}: {secs:.2} s; {} links, {} in step, {} diverged, {} empty, consistent: {}",
            sum.links,
            sum.count(OriginClass::InStep),
            sum.count(OriginClass::Diverged),
            sum.count(OriginClass::Empty),
            r.is_consistent()
        );
        let located = r
            .links
            .iter()
            .flat_map(|l| l.origins.iter())
            .filter(|o| {
                o.divergence
                    .as_ref()
                    .is_some_and(|x| x.seq == fork_at(args.events))
            })
            .count();
        anyhow::ensure!(
            sum.count(OriginClass::Diverged) == args.diverge
                && located == args.diverge
                && sum.count(OriginClass::InStep) + args.diverge == s.origins,
            "unexpected result:\n{}",
            r.render_text(Lang::En)
        );
    }
    times.sort_by(f64::total_cmp);
    let median = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(0.0);
    println!(
        "tier check, {} communes × {} events (both logs {} events each), {} diverged, checkpoint every {}: median {:.2} s, best {:.2} s, worst {:.2} s",
        args.communes,
        args.events,
        u64::from(args.communes) * args.events,
        args.diverge,
        args.checkpoint_every,
        median(&times),
        times.first().copied().unwrap_or(0.0),
        times.last().copied().unwrap_or(0.0),
    );

    // The same check with every node re-reading its whole log (`--verify`).
    opts.verify = true;
    let mut verified = Vec::new();
    for run in 1..=args.runs {
        let t = Instant::now();
        let r = check_tiers(&opts).await?;
        let secs = t.elapsed().as_secs_f64();
        verified.push(secs);
        let node_ms: Vec<String> = r
            .log_checks
            .iter()
            .map(|c| format!("{} {} events in {} ms", c.unit, c.events, c.took_ms))
            .collect();
        println!("run {run} --verify: {secs:.2} s; {}", node_ms.join(", "));
        anyhow::ensure!(
            r.log_checks.len() == 2 && r.log_checks.iter().all(|c| c.ok),
            "a log did not verify:\n{}",
            r.render_text(Lang::En)
        );
    }
    verified.sort_by(f64::total_cmp);
    println!(
        "tier check with --verify: median {:.2} s, {:.2}× the check without it",
        median(&verified),
        median(&verified) / median(&times)
    );
    shutdown.cancel();
    for t in tasks {
        t.await??;
    }
    Ok(())
}
