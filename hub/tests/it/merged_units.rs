//! The merged-unit rule of docs/KPI.md ("Merged communes") for every
//! commune-count KPI: two old communes that disagree merge into one on
//! 2025-07-01, and each KPI of a year before the merge is checked by
//! today's structure and by the structure of the time. The figures are
//! worked out from the rule in the comments, then the KPI index is checked
//! against the scan it is tested against everywhere else.

use crate::common::{Script, u};
use sync178_hub::kpi::{self, KpiFigure};
use sync178_hub::state::{State, View};
use sync178_shared::history::{History, ListingInput};
use sync178_shared::period::parse_date;
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::{
    AwarenessActivityHeld, HealthyClass, HealthyCommuneAssessed, Kpi, PilotModelStarted,
    PlanAdopted,
};
use sync178_shared::topology::Topology;
use sync178_shared::unit::Edition;

/// Old commune A (Xã An), merged with B into M on 2025-07-01.
const A: &str = "c00001";
/// Old commune B (Xã Bình), merged with A into M.
const B: &str = "c00002";
/// Old commune C (Xã Cầu), which became N alone.
const C: &str = "c00003";
/// Today's commune made of A and B.
const M: &str = "c00101@2025";
/// Today's commune that was C.
const N: &str = "c00102@2025";
/// The province before and after.
const P_OLD: &str = "p01";
const P_NEW: &str = "p01@2025";

/// One province; before 2025-07-01 a district of three communes, after it
/// two communes under the province: A and B → M, C → N.
fn history() -> History {
    let old = "province_code,province_name,district_code,district_name,commune_code,commune_name\n\
01,Tỉnh Một,001,Huyện Một,00001,Xã An\n\
01,Tỉnh Một,001,Huyện Một,00002,Xã Bình\n\
01,Tỉnh Một,001,Huyện Một,00003,Xã Cầu\n";
    let new = "province_code,province_name,commune_code,commune_name\n\
01,Tỉnh Một,00101,Xã An Bình\n\
01,Tỉnh Một,00102,Xã Cầu\n";
    let merges = "old_province_code,old_district_code,old_commune_code,old_commune_name,new_province_code,new_commune_code,new_commune_name,kind,default\n\
01,001,00001,Xã An,01,00101,Xã An Bình,whole,yes\n\
01,001,00002,Xã Bình,01,00101,Xã An Bình,whole,yes\n\
01,001,00003,Xã Cầu,01,00102,Xã Cầu,whole,yes\n";
    let topo =
        |csv: &str, name: &str| Topology::from_csv_reader(csv.as_bytes(), name).expect("listing");
    History::from_listings(vec![
        ListingInput {
            edition: Edition::FIRST,
            from: None,
            topology: topo(old, "old.csv"),
            merges: None,
        },
        ListingInput {
            edition: Edition::from_year(2025).expect("edition"),
            from: Some(parse_date("2025-07-01").expect("date")),
            topology: topo(new, "new.csv"),
            merges: Some((merges.as_bytes().to_vec(), "merges.csv".into())),
        },
    ])
    .expect("history loads")
}

fn plan(id: &str, year: u32) -> Kind {
    Kind::PlanAdopted(PlanAdopted {
        plan_id: id.into(),
        year,
        decision_no: String::new(),
    })
}

fn awareness(id: &str) -> Kind {
    Kind::AwarenessActivityHeld(AwarenessActivityHeld {
        activity_id: id.into(),
        participants: 20,
        ..Default::default()
    })
}

fn pilot(id: &str) -> Kind {
    Kind::PilotModelStarted(PilotModelStarted {
        model_id: id.into(),
        ..Default::default()
    })
}

fn assessed(year: u32, healthy: bool) -> Kind {
    let class = if healthy {
        HealthyClass::Healthy
    } else {
        HealthyClass::NotHealthy
    };
    Kind::HealthyCommuneAssessed(HealthyCommuneAssessed {
        year,
        score: 50,
        classification: class as i32,
    })
}

fn apply_all(history: &History, script: &Script) -> State {
    let mut st = State::new(history);
    let mut f = script.fetcher();
    for (i, ev) in script.events.iter().enumerate() {
        st.apply(history, i as u64, ev, 0, &mut f)
            .unwrap_or_else(|e| panic!("event {i} skipped: {e}"));
    }
    st
}

/// (numerator, denominator) of `k` for `unit` in `year`, read in `view`;
/// the KPI index and the reference scan must agree on every KPI.
fn fig(st: &State, history: &History, view: View, unit: &str, year: i32, k: Kpi) -> (u64, u64) {
    let s = st.view(view);
    let topo = history.topology();
    let by_index = kpi::compute(s, topo, u(unit), year, 20);
    let by_scan = kpi::scan::compute(s, history, u(unit), year, 20);
    assert_eq!(by_index, by_scan, "{view:?} {unit} {year}: index vs scan");
    let f: &KpiFigure = by_index
        .iter()
        .find(|f| f.kpi == k)
        .expect("every KPI computed");
    (f.numerator, f.denominator)
}

#[test]
fn every_commune_count_kpi_follows_the_merged_unit_rule_when_predecessors_disagree() {
    let history = history();
    let mut s = Script::default();
    // 2024, before the merge: A and B, which became M, disagree on everything.
    // Plan: A adopted one, B none; C adopted one.
    s.add(A, A, "2024-01-10", plan("kh-a-2024", 2024));
    s.add(C, C, "2024-01-12", plan("kh-c-2024", 2024));
    // Awareness: A held an activity, B none, C none.
    s.add(A, A, "2024-03-01", awareness("tt-a-1"));
    // Pilot model: started in A in 2024, none in B or C.
    s.add(A, A, "2024-04-01", pilot("mh-a"));
    // Healthy: A healthy, B not healthy; C healthy.
    s.add(A, A, "2024-12-01", assessed(2024, true));
    s.add(B, B, "2024-12-02", assessed(2024, false));
    s.add(C, C, "2024-12-03", assessed(2024, true));
    // 2023: A and B agree on the plan (both adopted one); C none. Healthy:
    // A healthy, B never assessed.
    s.add(A, A, "2023-01-10", plan("kh-a-2023", 2023));
    s.add(B, B, "2023-01-11", plan("kh-b-2023", 2023));
    s.add(A, A, "2023-12-01", assessed(2023, true));
    let st = apply_all(&history, &s);
    for view in [View::Today, View::AsRecorded] {
        assert!(
            st.view(view).index_is_consistent(&history),
            "{view:?}: kept index equals a fresh build"
        );
    }
    let f = |view, unit, year, k| fig(&st, &history, view, unit, year, k);
    use View::{AsRecorded, Today};

    // Structure of the time: three communes, each its own record.
    // Today: two communes, M standing for A and B.
    // Communes with a plan, 2024: as recorded A and C; today M needs a plan
    // of every part (B had none), N had C's.
    assert_eq!(f(AsRecorded, P_OLD, 2024, Kpi::CommunesWithPlan), (2, 3));
    assert_eq!(f(Today, P_NEW, 2024, Kpi::CommunesWithPlan), (1, 2));
    assert_eq!(f(Today, M, 2024, Kpi::CommunesWithPlan), (0, 1));
    assert_eq!(f(Today, N, 2024, Kpi::CommunesWithPlan), (1, 1));
    // 2023: A and B both had one, so M counts; C (N) had none.
    assert_eq!(f(AsRecorded, P_OLD, 2023, Kpi::CommunesWithPlan), (2, 3));
    assert_eq!(f(Today, P_NEW, 2023, Kpi::CommunesWithPlan), (1, 2));
    assert_eq!(f(Today, M, 2023, Kpi::CommunesWithPlan), (1, 1));

    // Awareness, 2024: an activity in any part is an activity in M.
    assert_eq!(
        f(AsRecorded, P_OLD, 2024, Kpi::CommunesWithAwareness),
        (1, 3)
    );
    assert_eq!(f(Today, P_NEW, 2024, Kpi::CommunesWithAwareness), (1, 2));
    assert_eq!(f(Today, M, 2024, Kpi::CommunesWithAwareness), (1, 1));
    assert_eq!(f(Today, N, 2024, Kpi::CommunesWithAwareness), (0, 1));

    // Pilot models, 2024: a model in any part is a model in M.
    assert_eq!(f(AsRecorded, P_OLD, 2024, Kpi::PilotModelCoverage), (1, 3));
    assert_eq!(f(Today, P_NEW, 2024, Kpi::PilotModelCoverage), (1, 2));
    assert_eq!(f(Today, M, 2024, Kpi::PilotModelCoverage), (1, 1));
    // Still running in 2026 (never ended), still M's.
    assert_eq!(f(Today, P_NEW, 2026, Kpi::PilotModelCoverage), (1, 2));

    // Healthy, 2024: as recorded A and C; today M is not (B was not), N is.
    assert_eq!(f(AsRecorded, P_OLD, 2024, Kpi::HealthyCommunes), (2, 3));
    assert_eq!(f(Today, P_NEW, 2024, Kpi::HealthyCommunes), (1, 2));
    assert_eq!(f(Today, M, 2024, Kpi::HealthyCommunes), (0, 1));
    // 2023: A healthy but B never assessed: M was not known healthy.
    assert_eq!(f(AsRecorded, P_OLD, 2023, Kpi::HealthyCommunes), (1, 3));
    assert_eq!(f(Today, P_NEW, 2023, Kpi::HealthyCommunes), (0, 2));

    // The old district exists only in the structure of the time, and
    // agrees with its province there.
    assert_eq!(f(AsRecorded, "d001", 2024, Kpi::HealthyCommunes), (2, 3));
}

#[test]
fn one_node_recording_for_both_predecessors_does_not_let_the_last_entry_decide() {
    // After the reform M's node types in the backlog of its predecessors:
    // A not healthy in 2022, then B healthy. Each part's own latest
    // assessment counts, not the node's last entry.
    let history = history();
    let mut s = Script::default();
    s.add(M, A, "2022-12-01", assessed(2022, false));
    s.add(M, B, "2022-12-02", assessed(2022, true));
    // 2021: both healthy, typed by M's node; and A's district first said
    // A was not healthy, A's own later assessment says it is: the latest
    // recorded for A wins, whoever recorded it.
    s.add("d001", A, "2021-11-01", assessed(2021, false));
    s.add(M, A, "2021-12-01", assessed(2021, true));
    s.add(M, B, "2021-12-02", assessed(2021, true));
    // Plans typed by M's node for A only (2022): M had no plan for 2022.
    s.add(M, A, "2022-01-05", plan("kh-a-2022", 2022));
    let st = apply_all(&history, &s);
    let f = |view, unit, year, k| fig(&st, &history, view, unit, year, k);
    use View::{AsRecorded, Today};
    assert_eq!(f(AsRecorded, P_OLD, 2022, Kpi::HealthyCommunes), (1, 3));
    assert_eq!(f(Today, M, 2022, Kpi::HealthyCommunes), (0, 1));
    assert_eq!(f(AsRecorded, P_OLD, 2021, Kpi::HealthyCommunes), (2, 3));
    assert_eq!(f(Today, M, 2021, Kpi::HealthyCommunes), (1, 1));
    assert_eq!(f(AsRecorded, P_OLD, 2022, Kpi::CommunesWithPlan), (1, 3));
    assert_eq!(f(Today, M, 2022, Kpi::CommunesWithPlan), (0, 1));
}

#[test]
fn in_the_year_of_the_merge_the_new_communes_own_records_decide() {
    // 2025: A and B, before 1 July, each adopted a 2025 plan and were
    // assessed healthy for 2025; M, after 1 July, assessed itself not
    // healthy for 2025 and adopted no plan of its own.
    let history = history();
    let mut s = Script::default();
    s.add(A, A, "2025-01-10", plan("kh-a-2025", 2025));
    s.add(B, B, "2025-01-11", plan("kh-b-2025", 2025));
    s.add(A, A, "2025-06-01", assessed(2025, true));
    s.add(B, B, "2025-06-02", assessed(2025, true));
    s.add(M, M, "2025-12-15", assessed(2025, false));
    // N adopted its own 2025 plan after the merge; C had none.
    s.add(N, N, "2025-08-01", plan("kh-n-2025", 2025));
    let st = apply_all(&history, &s);
    let f = |view, unit, year, k| fig(&st, &history, view, unit, year, k);
    use View::{AsRecorded, Today};
    // M: both parts had a plan (parts are the communes of 1 January 2025).
    assert_eq!(f(Today, M, 2025, Kpi::CommunesWithPlan), (1, 1));
    assert_eq!(f(Today, N, 2025, Kpi::CommunesWithPlan), (1, 1));
    // M's own assessment decides over its parts'.
    assert_eq!(f(Today, M, 2025, Kpi::HealthyCommunes), (0, 1));
    // By the structure of the time each listing keeps its own records.
    assert_eq!(f(AsRecorded, P_OLD, 2025, Kpi::HealthyCommunes), (2, 3));
    assert_eq!(f(AsRecorded, P_NEW, 2025, Kpi::HealthyCommunes), (0, 2));
    assert_eq!(f(AsRecorded, P_OLD, 2025, Kpi::CommunesWithPlan), (2, 3));
    assert_eq!(f(AsRecorded, P_NEW, 2025, Kpi::CommunesWithPlan), (1, 2));
}
