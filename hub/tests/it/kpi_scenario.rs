//! A year of mixed events in a 2-district × 3-commune province, with
//! corrections, a business closed mid-year and a target overridden at a
//! district: every KPI and roll-up number the hub answers is compared with
//! the figure computed by hand in the comments.

use crate::common::{Script, topology, u};
use sync178_hub::query::{self, QueryError};
use sync178_hub::state::State;
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::*;
use sync178_shared::topology::Topology;

const P: &str = "p33";
const D1: &str = "d323";
const D2: &str = "d324";
const C1: &str = "c11950";
const C2: &str = "c11953";
const C3: &str = "c11956";
const C4: &str = "c12142";
const C5: &str = "c12145";
const C6: &str = "c12148";

fn business(id: &str, kind: BusinessKind, conditional: bool, workers: u32) -> Kind {
    Kind::BusinessRegistered(BusinessRegistered {
        business_id: id.into(),
        kind: kind as i32,
        conditional,
        workers,
        commitment_signed: true,
        licence_no: String::new(),
    })
}

fn inspection(id: &str, business: &str, mode: InspectionMode, workers: u32) -> Kind {
    Kind::InspectionConducted(InspectionConducted {
        inspection_id: id.into(),
        business_id: business.into(),
        team_level: Level::Commune as i32,
        mode: mode as i32,
        trigger: InspectionTrigger::Plan as i32,
        members_present: 3,
        agencies: vec![Agency::Police as i32],
        checks: None,
        result: InspectionResult::Compliant as i32,
        workers_reached: workers,
        tip_id: String::new(),
    })
}

fn awareness(id: &str, audience: Audience, participants: u32) -> Kind {
    Kind::AwarenessActivityHeld(AwarenessActivityHeld {
        activity_id: id.into(),
        form: AwarenessForm::Meeting as i32,
        audience: audience as i32,
        participants,
        leaflets: 10,
    })
}

fn plan(year: u32) -> Kind {
    Kind::PlanAdopted(PlanAdopted {
        plan_id: format!("kh-{year}"),
        year,
        decision_no: String::new(),
    })
}

fn target(kpi: Kpi, bp: u32) -> Kind {
    Kind::TargetSet(TargetSet {
        year: 2024,
        kpi: kpi as i32,
        target_bp: bp,
    })
}

fn client(n: u32) -> String {
    format!("{:064x}", n)
}

fn scenario() -> (Topology, State) {
    let mut s = Script::default();
    // Registry. B(p33, 2024) = {b1, b2, b4, b6}: b3 is not conditional, b5 closed in 2023.
    s.add(
        C1,
        C1,
        "2023-06-01",
        business("b1", BusinessKind::Karaoke, true, 10),
    );
    s.add(
        C1,
        C1,
        "2024-02-01",
        business("b2", BusinessKind::Massage, true, 6),
    );
    s.add(
        C2,
        C2,
        "2024-01-15",
        business("b3", BusinessKind::Hotel, false, 20),
    );
    s.add(
        C4,
        C4,
        "2023-01-10",
        business("b4", BusinessKind::Karaoke, true, 8),
    );
    s.add(
        C4,
        C4,
        "2024-07-15",
        Kind::BusinessClosed(BusinessClosed {
            business_id: "b4".into(),
            reason: "closed".into(),
        }),
    );
    s.add(
        C5,
        C5,
        "2022-05-05",
        business("b5", BusinessKind::Bar, true, 4),
    );
    s.add(
        C5,
        C5,
        "2023-12-01",
        Kind::BusinessClosed(BusinessClosed {
            business_id: "b5".into(),
            reason: "closed".into(),
        }),
    );
    s.add(
        C6,
        C6,
        "2024-03-03",
        business("b6", BusinessKind::Massage, true, 5),
    );
    s.add(
        C6,
        C6,
        "2024-06-01",
        Kind::BusinessUpdated(BusinessUpdated {
            business_id: "b6".into(),
            workers: Some(9),
            ..Default::default()
        }),
    );
    // Workers of B(p33, 2024) = 10 + 6 + 8 + 9 = 33.

    // Inspections: b1 twice, b4 by the district team, b6 (voided later), b5 (not active).
    s.add(
        C1,
        C1,
        "2024-03-10",
        inspection("i1", "b1", InspectionMode::Planned, 4),
    );
    s.add(
        C1,
        C1,
        "2024-09-10",
        inspection("i2", "b1", InspectionMode::Unannounced, 2),
    );
    s.add(
        D2,
        C4,
        "2024-04-01",
        inspection("i3", "b4", InspectionMode::Planned, 3),
    );
    let i4 = s.add(
        C6,
        C6,
        "2024-05-05",
        inspection("i4", "b6", InspectionMode::Planned, 5),
    );
    s.add(
        C5,
        C5,
        "2024-02-02",
        inspection("i5", "b5", InspectionMode::Unannounced, 1),
    );
    s.void(i4, "2024-05-06");

    // Awareness: C1, C2, C4 (business workers), the district itself, and C3's
    // activity entered with the wrong year, corrected into 2024.
    s.add(
        C1,
        C1,
        "2024-04-04",
        awareness("a1", Audience::Residents, 50),
    );
    s.add(
        C2,
        C2,
        "2024-04-05",
        awareness("a2", Audience::Students, 100),
    );
    s.add(
        C4,
        C4,
        "2024-04-06",
        awareness("a3", Audience::BusinessWorkers, 15),
    );
    s.add(
        D2,
        D2,
        "2024-04-07",
        awareness("a4", Audience::Officials, 30),
    );
    let a5 = s.add(
        C3,
        C3,
        "2023-12-31",
        awareness("a5", Audience::Residents, 20),
    );
    s.correct(
        a5,
        C3,
        "2024-01-05",
        awareness("a5", Audience::Residents, 20),
    );

    // Plans for 2024 everywhere but C3.
    for c in [C1, C2, C4, C5, C6] {
        s.add(c, c, "2024-01-02", plan(2024));
    }

    // Tip-offs (deadline 20 days): t1 on time, t2 late, t3 open, t4 of 2023.
    let tip = |id: &str| {
        Kind::TipReceived(TipReceived {
            tip_id: id.into(),
            channel: TipChannel::Hotline as i32,
            category: TipCategory::Business as i32,
            business_id: String::new(),
        })
    };
    let close = |id: &str| {
        Kind::TipClosed(TipClosed {
            tip_id: id.into(),
            outcome: TipOutcome::ActionTaken as i32,
        })
    };
    s.add(C1, C1, "2024-01-10", tip("t1"));
    s.add(C1, C1, "2024-01-25", close("t1"));
    s.add(C2, C2, "2024-03-01", tip("t2"));
    s.add(C2, C2, "2024-04-10", close("t2"));
    s.add(C4, C4, "2024-11-20", tip("t3"));
    s.add(C5, C5, "2023-12-20", tip("t4"));
    s.add(C5, C5, "2024-01-02", close("t4"));

    // Clients: six in need at C1, five served; one at C4, served.
    for n in 1..=6 {
        s.add(
            C1,
            C1,
            "2024-02-10",
            Kind::ClientNeedAssessed(ClientNeedAssessed {
                client_key_id: String::new(),
                client_ref: client(n),
                needs: vec![ServiceKind::Health as i32],
            }),
        );
    }
    for n in 1..=5 {
        s.add(
            C1,
            C1,
            "2024-03-10",
            Kind::SupportServiceProvided(SupportServiceProvided {
                client_key_id: String::new(),
                client_ref: client(n),
                service: ServiceKind::Health as i32,
                provider: "TTYT".into(),
                cost_vnd: 100_000,
            }),
        );
    }
    s.add(
        C4,
        C4,
        "2024-02-10",
        Kind::ClientNeedAssessed(ClientNeedAssessed {
            client_key_id: String::new(),
            client_ref: client(7),
            needs: vec![ServiceKind::LegalAid as i32],
        }),
    );
    s.add(
        C4,
        C4,
        "2024-02-11",
        Kind::SupportServiceProvided(SupportServiceProvided {
            client_key_id: String::new(),
            client_ref: client(7),
            service: ServiceKind::LegalAid as i32,
            provider: "TGPL".into(),
            cost_vnd: 0,
        }),
    );

    // Pilot models: C2 (since 2023), C5 (from August), C6 (ended 2023).
    let start = |id: &str| {
        Kind::PilotModelStarted(PilotModelStarted {
            model_id: id.into(),
            kind: PilotModelKind::PeerGroups as i32,
            budget_vnd: 0,
        })
    };
    s.add(C2, C2, "2023-05-01", start("m1"));
    s.add(C5, C5, "2024-08-01", start("m2"));
    s.add(C6, C6, "2022-01-01", start("m3"));
    s.add(
        C6,
        C6,
        "2023-06-01",
        Kind::PilotModelEnded(PilotModelEnded {
            model_id: "m3".into(),
            reason: String::new(),
        }),
    );

    // Healthy communes: C1 yes; C2 no then yes; C4 yes then no.
    let healthy = |c: HealthyClass| {
        Kind::HealthyCommuneAssessed(HealthyCommuneAssessed {
            year: 2024,
            score: 80,
            classification: c as i32,
        })
    };
    s.add(C1, C1, "2024-12-01", healthy(HealthyClass::Healthy));
    s.add(C2, C2, "2024-12-01", healthy(HealthyClass::NotHealthy));
    s.add(C2, C2, "2024-12-15", healthy(HealthyClass::Healthy));
    s.add(C4, C4, "2024-12-01", healthy(HealthyClass::Healthy));
    s.add(C4, C4, "2024-12-20", healthy(HealthyClass::NotHealthy));

    // Violations: r1 penalised, r2 referred, r3 not handled.
    let violation = |r: &str| {
        Kind::ViolationRecorded(ViolationRecorded {
            record_no: r.into(),
            inspection_id: String::new(),
            business_id: "b1".into(),
            act: ViolationAct::LabourRules as i32,
            act_code: "144/2021".into(),
            subject: SubjectType::Business as i32,
            persons: 0,
        })
    };
    s.add(C1, C1, "2024-03-10", violation("r1"));
    s.add(
        C1,
        C1,
        "2024-03-20",
        Kind::PenaltyDecided(PenaltyDecided {
            decision_no: "qd1".into(),
            record_no: "r1".into(),
            kind: PenaltyKind::Fine as i32,
            fine_vnd: 5_000_000,
            suspension_months: 0,
        }),
    );
    s.add(C4, C4, "2024-04-01", violation("r2"));
    s.add(
        D2,
        C4,
        "2024-04-05",
        Kind::CaseReferred(CaseReferred {
            record_no: "r2".into(),
            referred_to: ReferralAgency::Police as i32,
            criminal: false,
        }),
    );
    s.add(C4, C4, "2024-09-09", violation("r3"));

    // Targets: province-wide, overridden at D2 for inspections; the later of two wins.
    s.add(P, P, "2024-01-01", target(Kpi::InspectionCoverage, 8000));
    s.add(P, P, "2024-01-01", target(Kpi::CommunesWithAwareness, 8500));
    s.add(P, P, "2024-01-01", target(Kpi::CommunesWithPlan, 9000));
    s.add(P, P, "2024-01-02", target(Kpi::CommunesWithPlan, 10000));
    s.add(D2, D2, "2024-01-03", target(Kpi::InspectionCoverage, 5000));

    let topo = topology();
    let mut state = State::default();
    let mut fetch = s.fetcher();
    for (i, ev) in s.events.iter().enumerate() {
        state
            .apply(&topo, i as u64, ev, 0, &mut fetch)
            .expect("applies");
    }
    (topo, state)
}

/// (kpi, numerator, denominator, value_bp, target_bp or 0, target unit, met)
type Row = (Kpi, u64, u64, u32, u32, &'static str, bool);

fn check(topo: &Topology, state: &State, unit: &str, expect: &[Row]) {
    let r = query::kpis(state, topo, u(unit), 2024, 20, true).expect("kpis");
    for (kpi, num, den, bp, target, from, met) in expect {
        let got = r
            .kpis
            .iter()
            .find(|k| k.kpi == *kpi as i32)
            .expect("kpi present");
        assert_eq!(
            (
                got.numerator,
                got.denominator,
                got.value_bp,
                got.target_bp,
                got.target_from.as_str(),
                got.met
            ),
            (*num, *den, *bp, *target, *from, *met),
            "{unit} {kpi:?}"
        );
    }
}

#[test]
fn every_kpi_matches_the_figures_computed_by_hand() {
    let (topo, state) = scenario();
    use Kpi::*;
    check(
        &topo,
        &state,
        P,
        &[
            (InspectionCoverage, 2, 4, 5000, 8000, P, false), // b1, b4 of {b1, b2, b4, b6}
            (CommunesWithAwareness, 4, 6, 6666, 8500, P, false), // C1, C2, C3 (corrected), C4
            (CommunesWithPlan, 5, 6, 8333, 10000, P, false),  // later target wins
            (TipoffsOnTime, 1, 3, 3333, 0, "", false),        // t1 of t1, t2, t3
            (ServiceAccess, 6, 7, 8571, 0, "", false),
            (PilotModelCoverage, 2, 6, 3333, 0, "", false), // C2, C5
            (WorkersReached, 25, 33, 7575, 0, "", false), // 4+2+3+1 inspections + 15 workers at a3
            (HealthyCommunes, 2, 6, 3333, 0, "", false),  // C1, C2
            (ViolationsHandled, 2, 3, 6666, 0, "", false),
        ],
    );
    check(
        &topo,
        &state,
        D1,
        &[
            (InspectionCoverage, 1, 2, 5000, 8000, P, false),
            (CommunesWithAwareness, 3, 3, 10000, 8500, P, true),
            (CommunesWithPlan, 2, 3, 6666, 10000, P, false),
            (TipoffsOnTime, 1, 2, 5000, 0, "", false),
            (ServiceAccess, 5, 6, 8333, 0, "", false),
            (WorkersReached, 6, 16, 3750, 0, "", false),
            (ViolationsHandled, 1, 1, 10000, 0, "", false),
        ],
    );
    check(
        &topo,
        &state,
        D2,
        &[
            (InspectionCoverage, 1, 2, 5000, 5000, D2, true), // the district's own target
            (CommunesWithAwareness, 1, 3, 3333, 8500, P, false),
            (CommunesWithPlan, 3, 3, 10000, 10000, P, true),
            (TipoffsOnTime, 0, 1, 0, 0, "", false),
            (WorkersReached, 19, 17, 11176, 0, "", false), // 3+1 inspections + 15; workers 8 + 9
            (HealthyCommunes, 0, 3, 0, 0, "", false),
            (ViolationsHandled, 1, 2, 5000, 0, "", false),
        ],
    );
}

#[test]
fn small_person_counts_are_suppressed_unless_asked() {
    let (topo, state) = scenario();
    let r = query::kpis(&state, &topo, u(D2), 2024, 20, false).expect("kpis");
    let sa = r
        .kpis
        .iter()
        .find(|k| k.kpi == Kpi::ServiceAccess as i32)
        .expect("present");
    assert!(sa.suppressed && sa.numerator == 0 && sa.denominator == 0 && !sa.has_value);
    let r = query::kpis(&state, &topo, u(D2), 2024, 20, true).expect("kpis");
    let sa = r
        .kpis
        .iter()
        .find(|k| k.kpi == Kpi::ServiceAccess as i32)
        .expect("present");
    assert_eq!((sa.suppressed, sa.numerator, sa.denominator), (false, 1, 1));
    // Not person-based: never suppressed.
    let ic = r
        .kpis
        .iter()
        .find(|k| k.kpi == Kpi::InspectionCoverage as i32)
        .expect("present");
    assert!(!ic.suppressed);
    // Roll-ups: distinct clients under 5 show as suppressed.
    let roll = query::rollup(&state, &topo, u(D2), "2024".parse().expect("period"), false)
        .expect("rollup");
    let m = roll
        .metrics
        .iter()
        .find(|m| m.name == "clients.in_need")
        .expect("metric");
    assert!(m.person_based && m.suppressed && m.value == 0);
}

fn metric(r: &Rollup, name: &str) -> u64 {
    r.metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
        .value
}

#[test]
fn rollups_count_by_unit_and_period_after_corrections() {
    let (topo, state) = scenario();
    let y2024 = "2024".parse().expect("period");
    let p = query::rollup(&state, &topo, u(P), y2024, true).expect("rollup");
    assert_eq!(metric(&p, "inspections"), 4, "i4 was voided");
    assert_eq!(metric(&p, "inspections.planned"), 2);
    assert_eq!(metric(&p, "inspections.unannounced"), 2);
    assert_eq!(
        metric(&p, "awareness.activities"),
        5,
        "a5 corrected into 2024"
    );
    assert_eq!(metric(&p, "awareness.participants"), 215);
    assert_eq!(metric(&p, "tipoffs.received"), 3);
    assert_eq!(metric(&p, "penalties.fines_vnd"), 5_000_000);
    assert_eq!(metric(&p, "referrals"), 1);
    assert_eq!(metric(&p, "clients.in_need"), 7);
    assert_eq!(metric(&p, "clients.served"), 6);
    assert_eq!(metric(&p, "corrections"), 2);
    let q2 = query::rollup(
        &state,
        &topo,
        u(D1),
        "2024-Q2".parse().expect("period"),
        true,
    )
    .expect("rollup");
    assert_eq!(metric(&q2, "awareness.activities"), 2); // a1, a2 in April
    let c1_march = query::rollup(
        &state,
        &topo,
        u(C1),
        "2024-03".parse().expect("period"),
        true,
    )
    .expect("rollup");
    assert_eq!(metric(&c1_march, "inspections"), 1);
    assert_eq!(metric(&c1_march, "services.provided"), 5);

    // C3's only activity moved out of 2023: that year has no data, said plainly.
    let err = query::rollup(&state, &topo, u(C3), "2023".parse().expect("period"), true)
        .expect_err("no data");
    assert!(matches!(err, QueryError::NoData { .. }), "{err}");
    assert!(
        err.to_string().contains("no events recorded for c11956"),
        "{err}"
    );
    // Unknown unit and malformed period are clear errors.
    assert!(matches!(
        query::unit(&topo, "c99999"),
        Err(QueryError::UnknownUnit(_))
    ));
    assert!(matches!(
        query::period("2024-Q5"),
        Err(QueryError::Invalid {
            field: "period",
            ..
        })
    ));
    assert!(matches!(
        query::kpis(&state, &topo, u(P), 2019, 20, true),
        Err(QueryError::NoData { .. })
    ));
}

#[test]
fn completeness_names_silent_communes_and_missing_plans() {
    let (topo, state) = scenario();
    let r = query::completeness(&state, &topo, u(P), "2024-Q4".parse().expect("period"));
    let silent: Vec<&str> = r
        .units
        .iter()
        .filter(|a| a.events == 0)
        .map(|a| a.unit.as_str())
        .collect();
    // Q4 2024: C1 (healthy), C2 (healthy), C4 (tip t3, healthy) recorded; C3, C5, C6 silent.
    // Districts count their subtree: D1 and D2 both recorded.
    assert_eq!(silent, vec![C3, C5, C6]);
    let no_plan: Vec<&str> = r
        .units
        .iter()
        .filter(|a| !a.has_plan && a.unit.starts_with('c'))
        .map(|a| a.unit.as_str())
        .collect();
    assert_eq!(no_plan, vec![C3]);
}
