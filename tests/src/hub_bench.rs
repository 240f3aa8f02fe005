//! Hub figures: projection apply rate from local feed bytes (verify, decode,
//! apply), a replay of millions of events, and `kpi` query latency on a big
//! province over five years.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;
use sync178_hub::follower::decode_batch;
use sync178_hub::query;
use sync178_hub::state::State;
use sync178_shared::event::{self, Hash, ZERO_HASH};
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::{Event, FeedBatch, FeedItem};
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;

use crate::report::quantile;
use sync178_hub::workload;

/// Seals the workload of `years` as the province node's feed would carry it:
/// per-origin seqs and chains, correction targets' seqs filled.
pub fn feed(
    topo: &Topology,
    root: UnitId,
    years: std::ops::Range<i32>,
    seed: u64,
    scale: u32,
) -> Vec<Bytes> {
    let mut heads: HashMap<UnitId, (u64, Hash)> = HashMap::new();
    let mut seq_of_id: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut out = Vec::new();
    for y in years {
        let (planned, _) = workload::year(topo, root, y, seed, scale);
        for p in planned {
            let mut ev = p.draft;
            let (seq, prev) = heads
                .get(&p.at)
                .map_or((1, ZERO_HASH), |(s, h)| (s + 1, *h));
            if let Some(Kind::EventVoided(v)) = ev.body.as_mut().and_then(|b| b.kind.as_mut()) {
                v.target_seq = seq_of_id.get(&v.target_id).copied().unwrap_or(0);
            }
            ev.origin = p.at.to_string();
            ev.seq = seq;
            ev.prev_hash = prev.to_vec();
            ev.recorded_at = 1_700_000_000_000;
            seq_of_id.insert(ev.id.clone(), seq);
            let (bytes, hash) = event::seal(&mut ev);
            heads.insert(p.at, (seq, hash));
            out.push(bytes);
        }
    }
    out
}

/// Applies `events` (feed bytes) to `state` in batches of 1,000, as the
/// follower does: verify, decode, apply. Correction targets come from the
/// same bytes. Returns events per second.
pub fn apply(state: &mut State, topo: &Topology, events: &[Bytes]) -> f64 {
    let start = Instant::now();
    // Recent awareness events: the workload's voids target those.
    let mut decoded_all: Vec<Event> = Vec::new();
    for chunk in events.chunks(1000) {
        let first = state.checkpoint;
        let batch = FeedBatch {
            items: chunk
                .iter()
                .enumerate()
                .map(|(i, b)| FeedItem {
                    position: first + i as u64,
                    event: b.clone(),
                })
                .collect(),
        };
        let decoded = decode_batch(batch, first).unwrap_or_else(|e| panic!("feed decodes: {e}"));
        let mut fetch = |o: UnitId, s: u64| {
            decoded_all
                .iter()
                .rev()
                .find(|e| e.seq == s && e.origin == o.to_string())
                .cloned()
        };
        for (pos, ev) in &decoded {
            let _ = state.apply(topo, *pos, ev, 0, &mut fetch);
        }
        decoded_all.extend(decoded.into_iter().map(|(_, e)| e).filter(|e| {
            matches!(
                e.body.as_ref().and_then(|b| b.kind.as_ref()),
                Some(Kind::AwarenessActivityHeld(_))
            )
        }));
        if decoded_all.len() > 200_000 {
            decoded_all.drain(..100_000);
        }
    }
    events.len() as f64 / start.elapsed().as_secs_f64()
}

/// p50 and p99 (ms) of `ask` for units of `topo` over `years`.
pub fn kpi_latency(
    topo: &Topology,
    root: UnitId,
    years: std::ops::Range<i32>,
    queries: usize,
    ask: impl Fn(UnitId, i32),
) -> (f64, f64) {
    let units = topo.subtree(root);
    let ys: Vec<i32> = years.collect();
    let mut lat = Vec::with_capacity(queries);
    for i in 0..queries {
        // Mostly the province and districts (what operators ask), some communes.
        let u = if i % 4 == 0 {
            root
        } else {
            units[(i * 7919) % units.len()]
        };
        let y = ys[i % ys.len()];
        let t = Instant::now();
        ask(u, y);
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    (quantile(&lat, 0.5), quantile(&lat, 0.99))
}

/// The hub section of the benchmark: apply rate, a large replay, `kpi` latency.
pub fn section(r: &mut crate::report::Report, runs: usize, quick: bool) {
    let all = Topology::from_csv_reader(sync178_hub::demo::LISTING_2024.as_bytes(), "listing")
        .expect("listing");
    // Hà Nội: 30 districts, 526 communes (the "500 communes" province).
    let root: UnitId = "p01".parse().expect("unit");
    let topo = all.province(root).expect("province");
    let years = 2020..2025;
    let (scale, big) = if quick { (1, 1) } else { (4, 30) };
    println!(
        "\n== hub: projections (Hà Nội, {} communes, 5 years)",
        topo.units()
            .filter(|u| u.level() == sync178_shared::unit::Level::Commune)
            .count()
    );
    let events = feed(&topo, root, years.clone(), 11, scale);
    println!(
        "   ({} events generated for 5 years at scale {scale})",
        events.len()
    );
    let mut rates = Vec::new();
    let mut state = State::default();
    for _ in 0..runs {
        state = State::default();
        rates.push(apply(&mut state, &topo, &events));
    }
    r.add(
        &format!("hub apply (verify+decode+apply), {} events", events.len()),
        crate::report::median(&rates),
        "events/s",
    );
    // Baseline from the same run: the same KPIs computed by scanning the registries.
    let (s50, s99) = kpi_latency(
        &topo,
        root,
        years.clone(),
        if quick { 50 } else { 300 },
        |u, y| {
            std::hint::black_box(sync178_hub::kpi::scan::compute(&state, &topo, u, y, 20));
        },
    );
    r.add("baseline: kpi by registry scan, p50", s50, "ms");
    r.add("baseline: kpi by registry scan, p99", s99, "ms");
    let (p50, p99) = kpi_latency(
        &topo,
        root,
        years.clone(),
        if quick { 200 } else { 20_000 },
        |u, y| {
            std::hint::black_box(query::kpis(&state, &topo, u, y as u32, 20, false).ok());
        },
    );
    r.add_vs(
        "hub kpi query p50, 526 communes × 5 years",
        p50,
        "ms",
        "baseline: kpi by registry scan, p50",
    );
    r.add_vs(
        "hub kpi query p99, 526 communes × 5 years",
        p99,
        "ms",
        "baseline: kpi by registry scan, p99",
    );
    // A large replay: the same province, many more events per commune.
    let target = if quick { 20_000 } else { 10_000_000 };
    let mut state = State::default();
    let mut applied = 0usize;
    let mut secs = 0.0;
    let mut seed = 100;
    while applied < target {
        let chunk = feed(&topo, root, 2020..2025, seed, big);
        seed += 1;
        let take = chunk.len().min(target - applied);
        // Each chunk is a fresh generation: its chains restart, positions continue.
        let rate = {
            let mut s2 = std::mem::take(&mut state);
            let before = s2.checkpoint;
            let t = Instant::now();
            let _ = apply(&mut s2, &topo, &chunk[..take]);
            let dt = t.elapsed().as_secs_f64();
            secs += dt;
            state = s2;
            (state.checkpoint - before) as f64 / dt
        };
        applied += take;
        if !quick {
            println!("   replay: {applied} events, {rate:.0} events/s");
        }
    }
    r.add(&format!("hub replay of {target} events"), secs, "s");

    // What a snapshot of that state costs the follower: encode and flush.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = sync178_hub::store::Store::open(&dir.path().join("state"), &root.to_string())
        .expect("hub store");
    let t = Instant::now();
    let bytes = postcard::to_allocvec(&state).expect("encodes");
    let encode = t.elapsed().as_secs_f64();
    let t = Instant::now();
    store.save(&state).expect("saves");
    let save = t.elapsed().as_secs_f64();
    r.add(
        &format!("hub state after {target} events"),
        bytes.len() as f64 / 1e6,
        "MB",
    );
    r.add("hub state encode", encode * 1000.0, "ms");
    r.add("hub state save (encode, write, flush)", save * 1000.0, "ms");
}
