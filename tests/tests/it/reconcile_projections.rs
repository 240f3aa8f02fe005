//! Projection reconciliation: a live hub equals a replay of its node's feed;
//! a state altered behind the hub's back is found, down to the roll-up cell.
//! Completeness: a commune that never recorded is listed as silent, planless
//! and not synced.

use std::time::{Duration, Instant};

use sync178_hub::reconcile::projections::{check_completeness, check_projections};
use sync178_hub::state::metric;
use sync178_hub::store::Store;
use sync178_hub::workload;
use sync178_shared::proto::v1::SyncStatusRequest;
use sync178_shared::tls::{Identity, Role};
use sync178_shared::unit::Level;
use sync178_tests::cluster::{Cluster, hung_yen};

async fn wait_hub(c: &Cluster, addr: std::net::SocketAddr, want: u64) {
    let start = Instant::now();
    let mut q = c.query(addr).await;
    while q
        .sync_status(SyncStatusRequest {
            unit: String::new(),
        })
        .await
        .expect("status")
        .into_inner()
        .checkpoint
        < want
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "hub did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_altered_projection_is_found_and_a_silent_commune_is_listed() {
    let c = Cluster::start(&hung_yen(1, 3)).await;
    let silent = c
        .topology
        .units()
        .find(|u| u.level() == Level::Commune)
        .expect("commune");
    let (planned, tally) = workload::year(&c.topology, c.province, 2024, 3, 1);
    let planned: Vec<_> = planned.into_iter().filter(|p| p.at != silent).collect();
    let total = planned.len() as u64;
    assert!(total > 20 && total < tally.events);
    let hub = c.start_hub().await;
    c.submit_planned(&planned).await;
    wait_hub(&c, hub.addr, total).await;

    let tls = c.files(Identity::new(c.province, Role::Operator));
    let hub_url = format!("https://{}", hub.addr);
    let node_url = format!("https://{}", c.proxy(c.province).addr());
    let r = check_projections(&hub_url, &node_url, c.province, &tls, &c.history)
        .await
        .expect("runs");
    assert!(r.is_consistent(), "{}", r.render_text());
    assert_eq!(r.checkpoint, total);

    // Alter the stored state behind the hub's back: one more awareness activity in a cell.
    hub.stop().await;
    let cfg = c.hub_config();
    let store = Store::open(&cfg.data_dir.join("state"), &c.province.to_string()).expect("opens");
    let mut state = store.load().expect("loads");
    let (key, cell) = state
        .proj
        .cells
        .iter_mut()
        .find(|(_, v)| v[metric::base("awareness.activities")] > 0)
        .expect("a cell");
    cell[metric::base("awareness.activities")] += 1;
    let (unit, period) = *key;
    store
        .put_raw_state(&postcard::to_allocvec(&state).expect("encodes"))
        .expect("writes");
    drop(store);
    let hub = c.start_hub().await;
    wait_hub(&c, hub.addr, total).await;
    let r = check_projections(&hub_url_of(&hub), &node_url, c.province, &tls, &c.history)
        .await
        .expect("runs");
    assert!(!r.is_consistent());
    let differing: Vec<&str> = r
        .projections
        .iter()
        .filter(|p| p.live != p.replayed)
        .map(|p| p.projection.as_str())
        .collect();
    assert_eq!(differing, vec!["cells"]);
    assert!(
        r.cells.iter().any(|d| d.unit == unit.to_string()
            && d.period == period.to_string()
            && d.metric == "awareness.activities"
            && d.live == d.replayed + 1),
        "{}",
        r.render_text()
    );
    assert!(r.to_csv().starts_with('\u{feff}'));

    // Completeness for 2024: the commune that never recorded is listed.
    let g = check_completeness(
        &hub_url_of(&hub),
        c.province,
        &tls,
        &c.topology,
        c.province,
        "2024",
        Duration::from_secs(3600),
    )
    .await
    .expect("runs");
    let gap = g
        .gaps
        .iter()
        .find(|x| x.unit == silent.to_string())
        .unwrap_or_else(|| panic!("{}", g.render_text()));
    assert!(gap.silent && gap.no_plan && gap.stale && gap.last_seen_ago_ms.is_none());
    assert!(g.gaps.iter().all(|x| x.unit != c.province.to_string()));
    hub.stop().await;
    c.shutdown().await;
}

fn hub_url_of(h: &sync178_tests::cluster::RunningHub) -> String {
    format!("https://{}", h.addr)
}
