//! Figures over the 2025 reform: the same code read as two places by date,
//! in both views, and the two views agreeing (province totals equal;
//! today's communes are the sum of their predecessors) over random merge
//! tables with splits.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::{Script, u};
use proptest::prelude::*;
use sync178_hub::query::{self, QueryError};
use sync178_hub::state::{State, View, metric};
use sync178_shared::history::{History, ListingInput};
use sync178_shared::period::{Period, parse_date};
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::{AwarenessActivityHeld, InspectionConducted, Kpi};
use sync178_shared::topology::Topology;
use sync178_shared::unit::{Edition, Level, UnitId};

fn inspection(workers: u32) -> Kind {
    Kind::InspectionConducted(InspectionConducted {
        inspection_id: format!("i{workers}"),
        business_id: "b1".into(),
        workers_reached: workers,
        ..Default::default()
    })
}

fn awareness(participants: u32) -> Kind {
    Kind::AwarenessActivityHeld(AwarenessActivityHeld {
        activity_id: format!("a{participants}"),
        participants,
        ..Default::default()
    })
}

fn apply_all(history: &History, script: &Script) -> State {
    let mut st = State::new(history);
    let mut f = script.fetcher();
    for (i, ev) in script.events.iter().enumerate() {
        let _ = st.apply(history, i as u64, ev, 0, &mut f);
    }
    st
}

fn year(y: i32) -> Period {
    Period::Year { year: y }
}

fn events(st: &State, unit: UnitId, p: Period) -> i64 {
    st.cell(unit, p).map_or(0, |c| c[metric::base("events")])
}

#[test]
fn the_same_code_in_two_listings_counts_for_two_places_in_both_views() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/topology/history.toml");
    let history = History::from_path(&path).expect("shipped history");
    // c12478 is Xã An Đồng (Thái Bình) until 2025-06-30, which went into
    // c12499@2025 Xã A Sào; from 2025-07-01 the code names Xã Tân Tiến.
    assert_eq!(history.today_path(u("c12478"))[0], u("c12499@2025"));
    let mut s = Script::default();
    s.add("c12478", "c12478", "2024-05-01", inspection(3));
    s.add("c12478@2025", "c12478", "2026-03-01", inspection(4));
    // A bare id dated before the reform naming the new unit's edition is
    // refused, not credited to either place.
    s.add("c12478@2025", "c12478@2025", "2024-06-01", inspection(5));
    let st = apply_all(&history, &s);

    let rec = st.view(View::AsRecorded);
    assert_eq!(events(rec, u("c12478"), year(2024)), 1);
    assert_eq!(events(rec, u("c12478@2025"), year(2026)), 1);
    assert_eq!(events(rec, u("c12478"), year(2026)), 0);
    assert_eq!(events(rec, u("c12478@2025"), year(2024)), 0);
    assert_eq!(
        events(rec, u("d338"), year(2024)),
        1,
        "An Đồng's district, Quỳnh Phụ"
    );

    let today = st.view(View::Today);
    assert_eq!(
        events(today, u("c12499@2025"), year(2024)),
        1,
        "An Đồng's 2024 event counts for A Sào"
    );
    assert_eq!(events(today, u("c12478@2025"), year(2026)), 1);
    assert_eq!(
        events(today, u("c12478@2025"), year(2024)),
        0,
        "never for Tân Tiến"
    );
    assert_eq!(st.skipped.get("bad_envelope"), Some(&1));

    // What an operator types is read by the chosen view.
    assert_eq!(
        query::unit_in(&history, View::Today, "c12478", year(2024)),
        Ok(u("c12478@2025"))
    );
    assert_eq!(
        query::unit_in(&history, View::AsRecorded, "c12478", year(2024)),
        Ok(u("c12478"))
    );
    assert_eq!(
        query::unit_in(&history, View::AsRecorded, "c12478", year(2026)),
        Ok(u("c12478@2025"))
    );
    let old_in_today = query::unit_in(&history, View::Today, "d338", year(2024));
    assert!(
        matches!(&old_in_today, Err(QueryError::OtherStructure { reason, .. }) if reason.contains("p33@2025")),
        "{old_in_today:?}"
    );
    let new_in_old = query::unit_in(&history, View::AsRecorded, "p33@2025", year(2024));
    assert!(
        matches!(&new_in_old, Err(QueryError::OtherStructure { reason, .. })
            if reason.contains("p33 (") && reason.contains("p34 (")),
        "{new_in_old:?}"
    );
    // Denominators count the chosen structure's communes.
    let topo = history.topology();
    let k_today = query::kpis(today, topo, u("p33@2025"), 2024, 30, true).expect("kpis");
    let k_rec = query::kpis(rec, topo, u("p34"), 2024, 30, true).expect("kpis");
    let communes = |k: &sync178_shared::proto::v1::KpiResponse| {
        k.kpis
            .iter()
            .find(|v| v.kpi == Kpi::CommunesWithPlan as i32)
            .map(|v| v.denominator)
    };
    assert_eq!(
        communes(&k_today),
        Some(104),
        "today's communes of the new Hưng Yên"
    );
    assert_eq!(communes(&k_rec), Some(topo.communes_under(u("p34")) as u64));
    assert!(topo.communes_under(u("p34")) > 104);
}

/// A random reform of one province: old communes in districts, new ones
/// directly under the province, and a merge table (whole and split rows,
/// some old communes left unmapped).
#[derive(Debug, Clone)]
struct Reform {
    /// Old commune i: its district (0-based).
    old: Vec<u8>,
    /// New communes.
    new: usize,
    /// Old commune i: `None` unmapped, else (default successor, other
    /// successor of a split).
    map: Vec<Option<(usize, Option<usize>)>>,
    /// (old?, commune index, year offset, participants)
    records: Vec<(bool, usize, u8, u32)>,
}

fn reform() -> impl Strategy<Value = Reform> {
    (2usize..10, 1usize..5).prop_flat_map(|(n_old, n_new)| {
        let old = prop::collection::vec(0u8..3, n_old);
        let map = prop::collection::vec(
            prop_oneof![
                1 => Just(None),
                6 => (0..n_new, prop::option::of(0..n_new)).prop_map(|(d, o)| Some((d, o.filter(|o| *o != d)))),
            ],
            n_old,
        );
        let records = prop::collection::vec(
            (any::<bool>(), 0usize..16, 0u8..4, 1u32..9),
            0..40,
        );
        (old, Just(n_new), map, records).prop_map(|(old, new, map, records)| Reform {
            old,
            new,
            map,
            records,
        })
    })
}

fn old_id(i: usize) -> String {
    format!("{:05}", i + 1)
}

fn new_id(i: usize) -> String {
    format!("{:05}", i + 101)
}

fn history_of(r: &Reform) -> History {
    let mut a = String::from(
        "province_code,province_name,district_code,district_name,commune_code,commune_name\n",
    );
    for (i, d) in r.old.iter().enumerate() {
        a += &format!("01,Tỉnh Một,{:03},Huyện {d},{},Xã {i}\n", d + 1, old_id(i));
    }
    let mut b = String::from("province_code,province_name,commune_code,commune_name\n");
    for j in 0..r.new {
        b += &format!("01,Tỉnh Một,{},Xã mới {j}\n", new_id(j));
    }
    let mut m = String::from(
        "old_province_code,old_district_code,old_commune_code,old_commune_name,new_province_code,new_commune_code,new_commune_name,kind,default\n",
    );
    for (i, to) in r.map.iter().enumerate() {
        let d = r.old[i] + 1;
        match to {
            None => {}
            Some((def, None)) => {
                m += &format!(
                    "01,{d:03},{},X,01,{},Y,whole,yes\n",
                    old_id(i),
                    new_id(*def)
                );
            }
            Some((def, Some(other))) => {
                m += &format!(
                    "01,{d:03},{},X,01,{},Y,split,yes\n",
                    old_id(i),
                    new_id(*def)
                );
                m += &format!(
                    "01,{d:03},{},X,01,{},Y,split,no\n",
                    old_id(i),
                    new_id(*other)
                );
            }
        }
    }
    let topo =
        |csv: &str, name: &str| Topology::from_csv_reader(csv.as_bytes(), name).expect("listing");
    History::from_listings(vec![
        ListingInput {
            edition: Edition::FIRST,
            from: None,
            topology: topo(&a, "a.csv"),
            merges: None,
        },
        ListingInput {
            edition: Edition::from_year(2027).expect("edition"),
            from: Some(parse_date("2027-01-01").expect("date")),
            topology: topo(&b, "b.csv"),
            merges: Some((m.into_bytes(), "ab.csv".into())),
        },
    ])
    .expect("random reform loads")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn both_views_agree_on_province_totals_and_communes_sum_their_predecessors(r in reform()) {
        let history = history_of(&r);
        let mut s = Script::default();
        for (old, i, dy, n) in &r.records {
            let (unit, year) = if *old {
                (format!("c{}", old_id(i % r.old.len())), 2025 + i32::from(*dy % 2))
            } else {
                (format!("c{}", new_id(i % r.new)), 2027 + i32::from(*dy))
            };
            let date = format!("{year}-0{}-15", 1 + dy);
            let origin = if *old { unit.clone() } else { format!("{unit}@2027") };
            let kind = if n % 2 == 0 { inspection(*n) } else { awareness(*n) };
            s.add(&origin, &unit, &date, kind);
        }
        let st = apply_all(&history, &s);
        prop_assert!(st.skipped.is_empty(), "{:?}", st.skipped);
        let (rec, today) = (st.view(View::AsRecorded), st.view(View::Today));
        let topo = history.topology();
        let p_old = u("p01");
        let p_new = u("p01@2027");
        for y in 2025..=2030 {
            let p = year(y);
            let zero = vec![0; metric::LEN];
            let total_rec: Vec<i64> = [p_old, p_new]
                .iter()
                .map(|x| rec.cell(*x, p).cloned().unwrap_or_else(|| zero.clone()))
                .fold(zero.clone(), |a, c| a.iter().zip(&c).map(|(x, y)| x + y).collect());
            let total_today = today.cell(p_new, p).cloned().unwrap_or_else(|| zero.clone());
            prop_assert_eq!(&total_rec, &total_today, "province total, {}", y);
            let mut old_sum = zero.clone();
            for c in topo.children(p_new).iter().filter(|c| c.level() == Level::Commune) {
                let mut want = rec.cell(*c, p).cloned().unwrap_or_else(|| zero.clone());
                let preds: BTreeSet<UnitId> = history.predecessors(*c).iter().copied().collect();
                for pre in preds.iter().filter(|x| x.level() == Level::Commune) {
                    let cell = rec.cell(*pre, p).cloned().unwrap_or_else(|| zero.clone());
                    want = want.iter().zip(&cell).map(|(x, y)| x + y).collect();
                    old_sum = old_sum.iter().zip(&cell).map(|(x, y)| x + y).collect();
                }
                let got = today.cell(*c, p).cloned().unwrap_or_else(|| zero.clone());
                prop_assert_eq!(&got, &want, "{} in {}", c, y);
            }
            // What no commune took (unmapped old communes) stays in the
            // province total, never dropped.
            let unmapped: i64 = history
                .unmapped()
                .iter()
                .map(|x| rec.cell(*x, p).map_or(0, |c| c[metric::base("events")]))
                .sum();
            let old_total = rec.cell(p_old, p).map_or(0, |c| c[metric::base("events")]);
            prop_assert_eq!(old_total, old_sum[metric::base("events")] + unmapped);
        }
    }
}
