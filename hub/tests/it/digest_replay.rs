//! Property: any sequence of events, applied incrementally in any split of
//! batches with restarts in between, gives the same state digest as one
//! replay from scratch — including voids and corrections.

use crate::common::{Script, topology};
use proptest::prelude::*;
use sync178_hub::kpi;
use sync178_hub::state::State;
use sync178_shared::period::Period;
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::*;

const COMMUNES: [&str; 4] = ["c11950", "c11953", "c12142", "c12145"];

/// One step of a random history.
#[derive(Debug, Clone)]
enum Step {
    Business(usize, u8, bool, u32),
    Inspect(usize, u8, u32, u8),
    Close(usize, u8),
    Awareness(usize, u8, u32),
    Tip(usize, u8, bool),
    Client(usize, u8, bool),
    Healthy(usize, bool),
    Pilot(usize, u8, bool),
    Violation(usize, u8, bool),
    Plan(usize),
    Void(usize),
    Correct(usize, u8),
}

fn step() -> impl Strategy<Value = Step> {
    let c = 0usize..4;
    prop_oneof![
        (c.clone(), 0u8..4, any::<bool>(), 0u32..50)
            .prop_map(|(c, b, k, w)| Step::Business(c, b, k, w)),
        (c.clone(), 0u8..4, 0u32..10, 1u8..13).prop_map(|(c, b, w, m)| Step::Inspect(c, b, w, m)),
        (c.clone(), 0u8..4).prop_map(|(c, b)| Step::Close(c, b)),
        (c.clone(), 0u8..7, 0u32..200).prop_map(|(c, a, n)| Step::Awareness(c, a, n)),
        (c.clone(), 0u8..3, any::<bool>()).prop_map(|(c, t, close)| Step::Tip(c, t, close)),
        (c.clone(), 0u8..6, any::<bool>()).prop_map(|(c, k, served)| Step::Client(c, k, served)),
        (c.clone(), any::<bool>()).prop_map(|(c, h)| Step::Healthy(c, h)),
        (c.clone(), 0u8..2, any::<bool>()).prop_map(|(c, m, end)| Step::Pilot(c, m, end)),
        (c.clone(), 0u8..3, any::<bool>()).prop_map(|(c, r, h)| Step::Violation(c, r, h)),
        c.clone().prop_map(Step::Plan),
        (0usize..100).prop_map(Step::Void),
        (0usize..100, 1u8..13).prop_map(|(t, m)| Step::Correct(t, m)),
    ]
}

/// Years the random histories spread over.
const YEARS: [i32; 3] = [2023, 2024, 2025];

fn build(steps: &[(Step, usize)]) -> Script {
    let mut s = Script::default();
    for (st, y) in steps {
        let y = YEARS[*y];
        match *st {
            Step::Business(c, b, k, w) => {
                let unit = COMMUNES[c];
                s.add(
                    unit,
                    unit,
                    &format!("{y}-01-10"),
                    Kind::BusinessRegistered(BusinessRegistered {
                        business_id: format!("b{c}{b}"),
                        kind: BusinessKind::Karaoke as i32,
                        conditional: k,
                        workers: w,
                        commitment_signed: true,
                        licence_no: String::new(),
                    }),
                );
            }
            Step::Inspect(c, b, w, m) => {
                let unit = COMMUNES[c];
                s.add(
                    unit,
                    unit,
                    &format!("{y}-{m:02}-15"),
                    Kind::InspectionConducted(InspectionConducted {
                        inspection_id: format!("i{}", s.events.len()),
                        business_id: format!("b{c}{b}"),
                        team_level: Level::Commune as i32,
                        mode: InspectionMode::Planned as i32,
                        trigger: InspectionTrigger::Plan as i32,
                        members_present: 3,
                        agencies: vec![1],
                        checks: None,
                        result: 1,
                        workers_reached: w,
                        tip_id: String::new(),
                    }),
                );
            }
            Step::Close(c, b) => {
                let unit = COMMUNES[c];
                s.add(
                    unit,
                    unit,
                    &format!("{y}-06-30"),
                    Kind::BusinessClosed(BusinessClosed {
                        business_id: format!("b{c}{b}"),
                        reason: String::new(),
                    }),
                );
            }
            Step::Awareness(c, a, n) => {
                let unit = COMMUNES[c];
                s.add(
                    unit,
                    unit,
                    &format!("{y}-05-05"),
                    Kind::AwarenessActivityHeld(AwarenessActivityHeld {
                        activity_id: format!("a{}", s.events.len()),
                        form: 1,
                        audience: i32::from(a % 6) + 1,
                        participants: n,
                        leaflets: 1,
                    }),
                );
            }
            Step::Tip(c, t, close) => {
                let unit = COMMUNES[c];
                let id = format!("t{c}{t}");
                if close {
                    s.add(
                        unit,
                        unit,
                        &format!("{y}-03-20"),
                        Kind::TipClosed(TipClosed {
                            tip_id: id,
                            outcome: 1,
                        }),
                    );
                } else {
                    s.add(
                        unit,
                        unit,
                        &format!("{y}-03-01"),
                        Kind::TipReceived(TipReceived {
                            tip_id: id,
                            channel: 1,
                            category: 1,
                            business_id: String::new(),
                        }),
                    );
                }
            }
            Step::Client(c, k, served) => {
                let unit = COMMUNES[c];
                let client_ref = format!("{:064x}", c * 10 + k as usize);
                if served {
                    s.add(
                        unit,
                        unit,
                        &format!("{y}-04-01"),
                        Kind::SupportServiceProvided(SupportServiceProvided {
                            client_key_id: String::new(),
                            client_ref,
                            service: 1,
                            provider: "x".into(),
                            cost_vnd: 5,
                        }),
                    );
                } else {
                    s.add(
                        unit,
                        unit,
                        &format!("{y}-03-01"),
                        Kind::ClientNeedAssessed(ClientNeedAssessed {
                            client_key_id: String::new(),
                            client_ref,
                            needs: vec![1],
                        }),
                    );
                }
            }
            Step::Healthy(c, h) => {
                let unit = COMMUNES[c];
                s.add(
                    unit,
                    unit,
                    &format!("{y}-12-01"),
                    Kind::HealthyCommuneAssessed(HealthyCommuneAssessed {
                        year: y as u32,
                        score: 50,
                        classification: if h { 1 } else { 2 },
                    }),
                );
            }
            Step::Pilot(c, m, end) => {
                let unit = COMMUNES[c];
                let model_id = format!("m{c}{m}");
                if end {
                    s.add(
                        unit,
                        unit,
                        &format!("{y}-11-30"),
                        Kind::PilotModelEnded(PilotModelEnded {
                            model_id,
                            reason: String::new(),
                        }),
                    );
                } else {
                    s.add(
                        unit,
                        unit,
                        &format!("{y}-02-01"),
                        Kind::PilotModelStarted(PilotModelStarted {
                            model_id,
                            kind: 1,
                            budget_vnd: 10,
                        }),
                    );
                }
            }
            Step::Violation(c, r, handled) => {
                let unit = COMMUNES[c];
                let record_no = format!("v{c}{r}");
                if handled {
                    s.add(
                        unit,
                        unit,
                        &format!("{y}-08-01"),
                        Kind::PenaltyDecided(PenaltyDecided {
                            decision_no: "d".into(),
                            record_no,
                            kind: 1,
                            fine_vnd: 1_000_000,
                            suspension_months: 0,
                        }),
                    );
                } else {
                    s.add(
                        unit,
                        unit,
                        &format!("{y}-07-01"),
                        Kind::ViolationRecorded(ViolationRecorded {
                            record_no,
                            act: 1,
                            ..ViolationRecorded::default()
                        }),
                    );
                }
            }
            Step::Plan(c) => {
                let unit = COMMUNES[c];
                s.add(
                    unit,
                    unit,
                    &format!("{y}-01-05"),
                    Kind::PlanAdopted(PlanAdopted {
                        plan_id: format!("kh{c}{y}"),
                        year: y as u32,
                        decision_no: "kh".into(),
                    }),
                );
            }
            Step::Void(t) => {
                if !s.events.is_empty() {
                    let t = t % s.events.len();
                    s.void(t, &format!("{y}-07-01"));
                }
            }
            Step::Correct(t, m) => {
                if !s.events.is_empty() {
                    let t = t % s.events.len();
                    let body = s.events[t].body.clone().and_then(|b| b.kind);
                    if let Some(kind) = body {
                        let unit = s.events[t].unit.clone();
                        s.correct(t, &unit, &format!("{y}-{m:02}-02"), kind);
                    }
                }
            }
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn incremental_with_restarts_equals_a_replay(
        steps in proptest::collection::vec((step(), 0usize..3), 1..60),
        cuts in proptest::collection::vec(0usize..80, 0..6),
        restarts in proptest::collection::vec(any::<bool>(), 6),
    ) {
        let script = build(&steps);
        let topo = topology();
        let n = script.events.len();

        // One replay from scratch.
        let mut replayed = State::default();
        let mut fetch = script.fetcher();
        for (i, ev) in script.events.iter().enumerate() {
            let _ = replayed.apply(&topo, i as u64, ev, 1, &mut fetch);
        }

        // Incremental, in batches cut at random places, restarting from the
        // stored encoding between some batches.
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(n)).collect();
        cuts.push(n);
        cuts.sort_unstable();
        let mut state = State::default();
        let mut start = 0;
        for (k, end) in cuts.into_iter().enumerate() {
            for i in start..end {
                let _ = state.apply(&topo, i as u64, &script.events[i], 2, &mut fetch);
            }
            start = end;
            if restarts.get(k).copied().unwrap_or(false) {
                let bytes = postcard::to_allocvec(&state).expect("encodes");
                state = postcard::from_bytes(&bytes).expect("decodes");
            }
        }
        prop_assert_eq!(state.checkpoint, n as u64);
        prop_assert_eq!(state.digest().0, replayed.digest().0);
        prop_assert_eq!(&state.proj, &replayed.proj);

        // The KPI index kept on apply equals one built from the projections,
        // and every KPI and client count read from it equals a scan.
        prop_assert!(state.index_is_consistent(&topo));
        prop_assert_eq!(&state.index, &replayed.index);
        for unit in topo.units() {
            for year in 2022..=2027 {
                prop_assert_eq!(
                    kpi::compute(&state, &topo, unit, year, 15),
                    kpi::scan::compute(&state, &topo, unit, year, 15),
                    "{} {}", unit, year
                );
                for p in periods(year) {
                    let from = kpi::month_index(p.first_day());
                    let to = kpi::month_index(p.last_day());
                    prop_assert_eq!(
                        kpi::clients(&state, unit, p),
                        kpi::scan::clients(&state, &topo, unit, from, to),
                        "{} {}", unit, p
                    );
                }
            }
        }
    }
}

/// Every period of `year`: the year, its halves, quarters and months.
fn periods(year: i32) -> Vec<Period> {
    let mut out = vec![Period::Year { year }];
    out.extend((1..=2).map(|half| Period::Half { year, half }));
    out.extend((1..=4).map(|quarter| Period::Quarter { year, quarter }));
    out.extend((1..=12).map(|month| Period::Month { year, month }));
    out
}

#[test]
fn a_void_then_a_correction_then_a_void_leaves_nothing() {
    let mut s = Script::default();
    let unit = COMMUNES[0];
    let a = s.add(
        unit,
        unit,
        "2024-05-05",
        Kind::AwarenessActivityHeld(AwarenessActivityHeld {
            activity_id: "a".into(),
            form: 1,
            audience: 1,
            participants: 10,
            leaflets: 0,
        }),
    );
    let topo = topology();
    let empty = {
        let mut st = State::default();
        let mut f = s.fetcher();
        for (i, ev) in s.events.iter().enumerate() {
            st.apply(&topo, i as u64, ev, 0, &mut f).expect("applies");
        }
        st
    };
    s.correct(
        a,
        unit,
        "2024-06-06",
        Kind::AwarenessActivityHeld(AwarenessActivityHeld {
            activity_id: "a".into(),
            form: 1,
            audience: 1,
            participants: 99,
            leaflets: 0,
        }),
    );
    s.void(a, "2024-06-07");
    let mut st = State::default();
    {
        let mut f = s.fetcher();
        for (i, ev) in s.events.iter().enumerate() {
            st.apply(&topo, i as u64, ev, 0, &mut f).expect("applies");
        }
    }
    let y = "2024".parse().expect("period");
    let participants = |st: &State| {
        st.cell(crate::common::u(unit), y)
            .map(|c| c[sync178_hub::state::metric::base("awareness.participants")])
    };
    assert_eq!(participants(&empty), Some(10));
    assert_eq!(
        participants(&st),
        Some(0),
        "the corrected-then-voided activity counts for nothing"
    );
    // A second void of the same target is skipped, not applied twice.
    s.void(a, "2024-06-08");
    let last = s.events.len() - 1;
    let mut f = s.fetcher();
    let r = st.apply(&topo, last as u64, &s.events[last], 0, &mut f);
    assert!(r.is_err());
    assert_eq!(participants(&st), Some(0));
}

#[test]
fn newer_schemas_and_unknown_bodies_are_counted_and_skipped() {
    let mut s = Script::default();
    let unit = COMMUNES[1];
    s.add(
        unit,
        unit,
        "2024-05-05",
        Kind::AwarenessActivityHeld(AwarenessActivityHeld {
            activity_id: "a".into(),
            form: 1,
            audience: 1,
            participants: 10,
            leaflets: 0,
        }),
    );
    let newer = s.add(
        unit,
        unit,
        "2024-05-06",
        Kind::HotspotCleared(HotspotCleared {
            hotspot_id: "h".into(),
        }),
    );
    s.events[newer].schema = 2;
    let unknown = s.add(
        unit,
        unit,
        "2024-05-07",
        Kind::HotspotCleared(HotspotCleared {
            hotspot_id: "h".into(),
        }),
    );
    s.events[unknown].body = Some(Body { kind: None }); // a body kind from a newer build decodes as none
    let bad_unit = s.add(
        unit,
        unit,
        "2024-05-08",
        Kind::HotspotCleared(HotspotCleared {
            hotspot_id: "h".into(),
        }),
    );
    s.events[bad_unit].unit = "c99999".into();
    let topo = topology();
    let mut st = State::default();
    let mut f = s.fetcher();
    let results: Vec<bool> = s
        .events
        .iter()
        .enumerate()
        .map(|(i, ev)| st.apply(&topo, i as u64, ev, 0, &mut f).is_ok())
        .collect();
    assert_eq!(results, vec![true, false, false, false]);
    assert_eq!(st.checkpoint, 4, "skipped events still move the checkpoint");
    assert_eq!(st.skipped.get("newer_schema"), Some(&1));
    assert_eq!(st.skipped.get("unknown_body"), Some(&1));
    assert_eq!(st.skipped.get("bad_envelope"), Some(&1));
    let y = "2024".parse().expect("period");
    assert_eq!(
        st.cell(crate::common::u(unit), y)
            .map(|c| c[sync178_hub::state::metric::base("events")]),
        Some(1)
    );
}
