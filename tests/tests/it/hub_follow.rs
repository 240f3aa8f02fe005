//! A hub following a real province over mTLS: it applies every event once,
//! survives a restart mid-stream without applying anything twice, and its
//! state digest equals a replay of the province's log from scratch.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sync178_hub::follower::decode_batch;
use sync178_hub::state::State;
use sync178_hub::workload;
use sync178_shared::proto::v1::query_client::QueryClient;
use sync178_shared::proto::v1::{
    FeedBatch, FeedItem, KpiRequest, RollupRequest, StateDigestRequest, SyncStatusRequest,
    SyncStatusResponse,
};
use sync178_shared::unit::UnitId;
use sync178_tests::cluster::{Cluster, hung_yen};
use tonic::transport::Channel;

/// Replays `unit`'s log (read through its feed) into a fresh state.
async fn replay(c: &Cluster, unit: UnitId) -> State {
    let log = c.read_log(unit).await;
    let batch = FeedBatch {
        items: log
            .into_iter()
            .map(|(position, event)| FeedItem { position, event })
            .collect(),
    };
    let events = decode_batch(batch, 0).expect("decodes");
    let mut state = State::default();
    let by_key: HashMap<(String, u64), sync178_shared::proto::v1::Event> = events
        .iter()
        .map(|(_, e)| ((e.origin.clone(), e.seq), e.clone()))
        .collect();
    let mut fetch = |o: UnitId, s: u64| by_key.get(&(o.to_string(), s)).cloned();
    for (pos, ev) in &events {
        let _ = state.apply(&*c.topology, *pos, ev, 0, &mut fetch);
    }
    state
}

/// The hub's sync status for its whole tree.
async fn sync_status(q: &mut QueryClient<Channel>) -> SyncStatusResponse {
    q.sync_status(SyncStatusRequest {
        unit: String::new(),
    })
    .await
    .expect("status")
    .into_inner()
}

async fn wait_for_checkpoint(c: &Cluster, hub: std::net::SocketAddr, want: u64) {
    let start = Instant::now();
    let mut q = c.query(hub).await;
    loop {
        let s = sync_status(&mut q).await;
        if s.checkpoint >= want {
            assert_eq!(s.checkpoint, want, "hub applied more than the log holds");
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "hub stuck at {} of {want}",
            s.checkpoint
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_hub_applies_everything_once_across_a_restart_and_equals_a_replay() {
    let c = Cluster::start(&hung_yen(2, 3)).await;
    let hub = c.start_hub().await;
    let (first, t1) = workload::year(&c.topology, c.province, 2024, 7, 1);
    c.submit_planned(&first).await;
    let len = c.status(c.province).await.log_length;
    assert!(len > 0);
    // Wait until the province holds every generated event, then the hub.
    let total = t1.events;
    let start = Instant::now();
    while c.status(c.province).await.log_length < total {
        assert!(start.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_for_checkpoint(&c, hub.addr, total).await;

    // Restart the hub while a second year is arriving.
    let (second, t2) = workload::year(&c.topology, c.province, 2025, 7, 1);
    let submit = c.submit_planned(&second);
    let restart = async {
        hub.stop().await;
        c.start_hub().await
    };
    let ((), hub) = futures::future::join(submit, restart).await;
    let total = t1.events + t2.events;
    let start = Instant::now();
    while c.status(c.province).await.log_length < total {
        assert!(start.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_for_checkpoint(&c, hub.addr, total).await;

    // The incremental state equals a replay from scratch.
    let mut q = c.query(hub.addr).await;
    let d = q
        .state_digest(StateDigestRequest {})
        .await
        .expect("digest")
        .into_inner();
    let replayed = replay(&c, c.province).await;
    assert_eq!(d.checkpoint, replayed.checkpoint);
    assert_eq!(
        d.digest,
        replayed.digest().0.as_bytes().to_vec(),
        "incremental state differs from a replay"
    );

    // Nothing applied twice: the generator's own tally matches.
    let r = q
        .rollup(RollupRequest {
            unit: c.province.to_string(),
            period: "2024".into(),
            no_suppress: true,
            ..Default::default()
        })
        .await
        .expect("rollup")
        .into_inner()
        .rollup
        .expect("rollup");
    let get = |n: &str| r.metrics.iter().find(|m| m.name == n).map(|m| m.value);
    assert_eq!(get("inspections"), Some(t1.inspections));
    assert_eq!(get("awareness.activities"), Some(t1.awareness));
    assert_eq!(get("tipoffs.received"), Some(t1.tips));
    let k = q
        .kpis(KpiRequest {
            unit: c.province.to_string(),
            year: 2025,
            no_suppress: false,
            ..Default::default()
        })
        .await
        .expect("kpis")
        .into_inner();
    assert_eq!(k.kpis.len(), 9);

    // Lag in events: once the hub has asked the province what it holds, it
    // is zero for every origin, and the province's heads are what it applied.
    let heads = c.status(c.province).await.origins;
    let start = Instant::now();
    let s = loop {
        let s = sync_status(&mut q).await;
        if s.heads_at > 0 && s.node_next_position == total {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the hub never learnt the province's heads: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(s.lag_events, 0);
    assert!(!s.origins.is_empty());
    for o in &s.origins {
        assert_eq!(o.lag_events, 0, "{o:?}");
        assert_eq!(o.node_seq, o.last_seq, "{o:?}");
        let held = heads
            .iter()
            .find(|h| h.origin == o.origin)
            .expect("province holds the origin");
        assert_eq!(held.seq, o.node_seq, "{o:?}");
    }
    hub.stop().await;
    c.shutdown().await;
}
