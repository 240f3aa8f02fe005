//! Sync status: lag in time and in events per origin, from what the hub
//! applied and what the followed node holds.

use crate::common::{Script, topology, u};
use sync178_hub::follower::NodeHeads;
use sync178_hub::query::sync_status;
use sync178_hub::state::State;
use sync178_shared::proto::v1::HotspotCleared;
use sync178_shared::proto::v1::body::Kind;

fn cleared(s: &mut Script, origin: &str) {
    s.add(
        origin,
        origin,
        "2024-05-05",
        Kind::HotspotCleared(HotspotCleared {
            hotspot_id: "h".into(),
        }),
    );
}

#[test]
fn lag_in_events_is_what_the_node_holds_beyond_what_was_applied() {
    let topo = topology();
    let mut s = Script::default();
    for _ in 0..3 {
        cleared(&mut s, "c11950");
    }
    cleared(&mut s, "c12142");
    let mut st = State::default();
    let mut f = s.fetcher();
    for (i, ev) in s.events.iter().enumerate() {
        st.apply(&topo, i as u64, ev, 5_000, &mut f)
            .expect("applies");
    }
    let node = NodeHeads {
        next_position: 11,
        seqs: [(u("c11950"), 7), (u("c12142"), 1), (u("c11953"), 2)]
            .into_iter()
            .collect(),
        at_ms: 9_000,
    };
    let r = sync_status(&st, &topo, u("p33"), Some(&node));
    assert_eq!(r.checkpoint, 4);
    assert_eq!(r.node_next_position, 11);
    assert_eq!(r.lag_events, 7, "11 held, 4 applied");
    assert_eq!(r.heads_at, 9_000);
    let lag: Vec<(&str, u64, u64, u64)> = r
        .origins
        .iter()
        .map(|o| (o.origin.as_str(), o.last_seq, o.node_seq, o.lag_events))
        .collect();
    assert_eq!(
        lag,
        [
            ("c11950", 3, 7, 4),
            // Held by the node, nothing applied yet: listed, all behind.
            ("c11953", 0, 2, 2),
            ("c12142", 1, 1, 0),
        ]
    );

    // Scoped to a district: only its origins.
    let d = sync_status(&st, &topo, u("d324"), Some(&node));
    assert_eq!(
        d.origins
            .iter()
            .map(|o| o.origin.as_str())
            .collect::<Vec<_>>(),
        ["c12142"]
    );

    // Before the node was asked: no lag in events claimed.
    let unknown = sync_status(&st, &topo, u("p33"), None);
    assert_eq!(unknown.heads_at, 0);
    assert_eq!(unknown.lag_events, 0);
    assert!(
        unknown
            .origins
            .iter()
            .all(|o| o.node_seq == 0 && o.lag_events == 0)
    );
    assert_eq!(unknown.origins.len(), 2);
}
