//! A void or correction in the same request as its target: validated against the earlier events of the request, stored in order with the target's seq filled in, idempotent on retry, and applied by a hub.

use std::collections::HashMap;

use sync178_hub::follower::decode_batch;
use sync178_hub::state::State;
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::{
    Body, Event, EventCorrected, EventVoided, FeedBatch, FeedItem, TipCategory, TipChannel,
    TipReceived,
};
use sync178_shared::testing::draft;
use sync178_shared::unit::Level;
use sync178_tests::cluster::{Cluster, hung_yen};

fn with_body(unit: &str, kind: Kind) -> Event {
    let mut e = draft(unit, 1);
    e.body = Some(Body { kind: Some(kind) });
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_and_its_void_or_correction_in_one_request_are_stored_in_order() {
    let c = Cluster::start(&hung_yen(1, 1)).await;
    let commune = c
        .topology
        .units()
        .find(|u| u.level() == Level::Commune)
        .expect("a commune");
    let name = commune.to_string();
    let meeting = draft(&name, 40);
    let mut fixed = meeting.clone();
    if let Some(Kind::AwarenessActivityHeld(a)) = fixed.body.as_mut().and_then(|b| b.kind.as_mut())
    {
        a.participants = 45;
    }
    let correction = with_body(
        &name,
        Kind::EventCorrected(Box::new(EventCorrected {
            target_id: meeting.id.clone(),
            unit: name.clone(),
            occurred_on: meeting.occurred_on.clone(),
            body: fixed.body.clone().map(Box::new),
            reason: "nhập sai số người dự".into(),
            target_seq: 0,
        })),
    );
    let tip = with_body(
        &name,
        Kind::TipReceived(TipReceived {
            tip_id: "TB-1".into(),
            channel: TipChannel::Hotline as i32,
            category: TipCategory::Street as i32,
            business_id: String::new(),
        }),
    );
    let void = with_body(
        &name,
        Kind::EventVoided(EventVoided {
            target_id: tip.id.clone(),
            reason: "nhập trùng".into(),
            target_seq: 0,
        }),
    );

    // A void before its target is refused: the request is read in order.
    let r = c
        .try_submit_events(commune, vec![void.clone(), tip.clone()])
        .await;
    assert!(r.accepted.is_empty());
    assert_eq!(r.rejected.len(), 1, "{:?}", r.rejected);
    assert_eq!(r.rejected[0].index, 0);
    assert_eq!(r.rejected[0].field, "body.event_voided.target_id");

    let batch = vec![meeting, correction, tip, void];
    let first = c.submit_events(commune, batch.clone()).await;
    let seqs: Vec<u64> = first.iter().map(|a| a.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    // A retry stores nothing new and answers the first seqs.
    let again = c.submit_events(commune, batch).await;
    assert!(again.iter().all(|a| a.duplicate), "{again:?}");
    assert_eq!(again.iter().map(|a| a.seq).collect::<Vec<_>>(), seqs);

    // The stored void and correction carry their targets' seqs.
    let log = c.read_log(commune).await;
    let events = decode_batch(
        FeedBatch {
            items: log
                .into_iter()
                .map(|(position, event)| FeedItem { position, event })
                .collect(),
        },
        0,
    )
    .expect("decodes");
    let kinds: Vec<_> = events
        .iter()
        .map(|(_, e)| e.body.clone().and_then(|b| b.kind).expect("a body"))
        .collect();
    match (&kinds[1], &kinds[3]) {
        (Kind::EventCorrected(c), Kind::EventVoided(v)) => {
            assert_eq!((c.target_seq, v.target_seq), (1, 3));
        }
        other => panic!("not a correction and a void: {other:?}"),
    }
    // A hub applies both: it fetches each target by its seq.
    let by_key: HashMap<u64, Event> = events.iter().map(|(_, e)| (e.seq, e.clone())).collect();
    let mut fetch = |_, s: u64| by_key.get(&s).cloned();
    let mut state = State::default();
    for (pos, ev) in &events {
        let applied = state.apply(&*c.topology, *pos, ev, 0, &mut fetch);
        assert!(applied.is_ok(), "seq {}: {applied:?}", ev.seq);
    }
    c.shutdown().await;
}
