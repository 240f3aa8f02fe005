//! A seeded generator of a realistic year of programme activity for a
//! province: businesses, planned and unannounced inspections, violations and
//! penalties, tip-offs with handling times, awareness, clients and services,
//! plans, targets, pilot models, healthy-commune assessments and a few
//! corrections. Used by the demo and the hub benchmarks.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::*;
use sync178_shared::topology::Topology;
use sync178_shared::unit::{Level, UnitId};

/// An event to submit at `at` (the recording unit), with a local handle for corrections.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Recording unit (its node assigns origin and seq).
    pub at: UnitId,
    /// The draft: unit, occurred_on, recorded_by, body, id.
    pub draft: Event,
}

/// What the generator produced, counted as it went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Events generated.
    pub events: u64,
    /// Inspections counted (after voids).
    pub inspections: u64,
    /// Awareness activities counted.
    pub awareness: u64,
    /// Tip-offs received.
    pub tips: u64,
    /// Voids and corrections.
    pub corrections: u64,
}

/// Days of a year the activity falls on: [`Window::YEAR`], or part of it
/// (a province that switched structure on 1 July records its first half
/// under the old units and its second under the new).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First day of the year (1 = 1 January).
    pub first: u16,
    /// Last day of the year, at most 365.
    pub last: u16,
}

impl Window {
    /// The whole year.
    pub const YEAR: Window = Window {
        first: 1,
        last: 365,
    };

    /// Maps a day of a whole year (1..=365) into the window, keeping order.
    fn map(self, day_of_year: u16) -> u16 {
        let (first, last) = (self.first.clamp(1, 365), self.last.clamp(1, 365));
        let span = u32::from(last.saturating_sub(first));
        let d = u32::from(day_of_year.clamp(1, 365) - 1);
        first + (d * span / 364) as u16
    }
}

fn date(year: i32, day_of_year: u16) -> String {
    let d = sync178_shared::period::Date::from_ordinal_date(year, day_of_year.clamp(1, 365))
        .unwrap_or(sync178_shared::period::Date::MIN);
    sync178_shared::period::format_date(d)
}

fn id(rng: &mut StdRng) -> Vec<u8> {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x70; // version 7 nibble, for looks
    b.to_vec()
}

/// Generates a year of activity for every commune under `root`, and the
/// province's and districts' own events. `scale` multiplies the volumes
/// (1 is a realistic commune).
pub fn year(
    topo: &Topology,
    root: UnitId,
    year: i32,
    seed: u64,
    scale: u32,
) -> (Vec<Planned>, Tally) {
    activity(topo, root, year, Window::YEAR, seed, scale)
}

/// [`year`], with every date inside `window`. Event and business ids are
/// unique across roots, years and windows (they carry the unit's id), so
/// activity generated for several provinces or both halves of a year can
/// share one log.
pub fn activity(
    topo: &Topology,
    root: UnitId,
    year: i32,
    window: Window,
    seed: u64,
    scale: u32,
) -> (Vec<Planned>, Tally) {
    let salt = u64::from(u32::from_be_bytes(root.to_bytes())) << 16 | u64::from(window.first);
    let seed = seed ^ salt.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut rng = StdRng::seed_from_u64(seed ^ (year as u64).wrapping_mul(0x9e37_79b9));
    // Ids and officer pseudonyms from their own stream, so `push` can borrow it
    // while the arguments draw from `rng`.
    let mut ids = StdRng::seed_from_u64(seed.rotate_left(17) ^ year as u64);
    let mut out: Vec<Planned> = Vec::new();
    let mut tally = Tally::default();
    let scale = scale.max(1);
    let push = |out: &mut Vec<Planned>,
                rng: &mut StdRng,
                at: UnitId,
                unit: UnitId,
                day: u16,
                kind: Kind| {
        out.push(Planned {
            at,
            draft: Event {
                id: id(rng),
                unit: unit.to_string(),
                occurred_on: date(year, window.map(day)),
                recorded_by: format!("officer-{}", rng.random_range(1..6)),
                schema: 1,
                body: Some(Body { kind: Some(kind) }),
                ..Event::default()
            },
        });
    };
    let units = topo.subtree(root);
    // Targets at the province, one district overriding inspection coverage.
    let targets = [
        (Kpi::InspectionCoverage, 8000),
        (Kpi::CommunesWithAwareness, 8500),
        (Kpi::CommunesWithPlan, 10000),
        (Kpi::TipoffsOnTime, 10000),
        (Kpi::ServiceAccess, 8500),
        (Kpi::PilotModelCoverage, 2000),
        (Kpi::WorkersReached, 5000),
        (Kpi::HealthyCommunes, 10000),
        (Kpi::ViolationsHandled, 8000),
    ];
    for (kpi, bp) in targets {
        push(
            &mut out,
            &mut ids,
            root,
            root,
            5,
            Kind::TargetSet(TargetSet {
                year: year as u32,
                kpi: kpi as i32,
                target_bp: bp,
            }),
        );
    }
    if let Some(d) = units.iter().find(|u| u.level() == Level::District) {
        push(
            &mut out,
            &mut ids,
            *d,
            *d,
            10,
            Kind::TargetSet(TargetSet {
                year: year as u32,
                kpi: Kpi::InspectionCoverage as i32,
                target_bp: 6000,
            }),
        );
    }
    for c in units
        .iter()
        .filter(|u| u.level() == Level::Commune)
        .copied()
    {
        let code = c.code();
        // The unit's id, not its bare code: codes are reused across listings.
        let tag = c.to_string();
        // Plan for the year (most communes).
        if rng.random_bool(0.9) {
            push(
                &mut out,
                &mut ids,
                c,
                c,
                rng.random_range(5..40),
                Kind::PlanAdopted(PlanAdopted {
                    plan_id: format!("kh-{tag}-{year}"),
                    year: year as u32,
                    decision_no: format!("{}/QĐ-UBND", rng.random_range(1..300)),
                }),
            );
        }
        // Businesses registered this year.
        let n_business = rng.random_range(2..8) * scale;
        let mut businesses = Vec::new();
        for b in 0..n_business {
            let bid = format!("{tag}-{year}-{b}");
            let kinds = [
                BusinessKind::Karaoke,
                BusinessKind::Massage,
                BusinessKind::Hotel,
                BusinessKind::Guesthouse,
                BusinessKind::Bar,
            ];
            let kind = kinds[rng.random_range(0..kinds.len())];
            push(
                &mut out,
                &mut ids,
                c,
                c,
                rng.random_range(1..60),
                Kind::BusinessRegistered(BusinessRegistered {
                    business_id: bid.clone(),
                    kind: kind as i32,
                    conditional: rng.random_bool(0.85),
                    workers: rng.random_range(2..30),
                    commitment_signed: rng.random_bool(0.8),
                    licence_no: String::new(),
                }),
            );
            businesses.push(bid);
        }
        // Inspections, some with violations and penalties.
        for (k, bid) in businesses.iter().enumerate() {
            if !rng.random_bool(0.7) {
                continue;
            }
            let unannounced = rng.random_bool(0.3);
            let day = rng.random_range(60..340);
            let violation = rng.random_bool(0.2);
            let insp = format!("{bid}-i{k}");
            push(
                &mut out,
                &mut ids,
                c,
                c,
                day,
                Kind::InspectionConducted(InspectionConducted {
                    inspection_id: insp.clone(),
                    business_id: bid.clone(),
                    team_level: sync178_shared::proto::v1::Level::Commune as i32,
                    mode: if unannounced {
                        InspectionMode::Unannounced
                    } else {
                        InspectionMode::Planned
                    } as i32,
                    trigger: InspectionTrigger::Plan as i32,
                    members_present: rng.random_range(3..7),
                    agencies: vec![Agency::Police as i32, Agency::Culture as i32],
                    checks: Some(Checks {
                        contracts: 1,
                        under18: 1,
                        residence: if violation { 2 } else { 1 },
                        health_check: 1,
                        security: 1,
                        culture: 1,
                    }),
                    result: if violation {
                        InspectionResult::ViolationsFound
                    } else {
                        InspectionResult::Compliant
                    } as i32,
                    workers_reached: rng.random_range(0..10),
                    tip_id: String::new(),
                }),
            );
            tally.inspections += 1;
            if violation {
                let rec = format!("{insp}-bb");
                push(
                    &mut out,
                    &mut ids,
                    c,
                    c,
                    day,
                    Kind::ViolationRecorded(ViolationRecorded {
                        record_no: rec.clone(),
                        inspection_id: insp.clone(),
                        business_id: bid.clone(),
                        act: ViolationAct::ResidenceRules as i32,
                        act_code: "144/2021".into(),
                        subject: SubjectType::Business as i32,
                        persons: 0,
                    }),
                );
                if rng.random_bool(0.8) {
                    push(
                        &mut out,
                        &mut ids,
                        c,
                        c,
                        (day + 10).min(365),
                        Kind::PenaltyDecided(PenaltyDecided {
                            decision_no: format!("{rec}-qd"),
                            record_no: rec,
                            kind: PenaltyKind::Fine as i32,
                            fine_vnd: rng.random_range(1..20) * 1_000_000,
                            suspension_months: 0,
                        }),
                    );
                }
            }
        }
        // Awareness activities.
        for a in 0..rng.random_range(0..5) * scale {
            let audiences = [
                Audience::Residents,
                Audience::Students,
                Audience::BusinessWorkers,
                Audience::IndustrialParkWorkers,
            ];
            push(
                &mut out,
                &mut ids,
                c,
                c,
                rng.random_range(20..350),
                Kind::AwarenessActivityHeld(AwarenessActivityHeld {
                    activity_id: format!("{tag}-{year}-a{a}"),
                    form: rng.random_range(1..8),
                    audience: audiences[rng.random_range(0..audiences.len())] as i32,
                    participants: rng.random_range(10..200),
                    leaflets: rng.random_range(0..300),
                }),
            );
            tally.awareness += 1;
        }
        // Tip-offs with realistic handling times.
        for t in 0..rng.random_range(0..3) * scale {
            let tid = format!("{tag}-{year}-t{t}");
            let day = rng.random_range(1..330);
            push(
                &mut out,
                &mut ids,
                c,
                c,
                day,
                Kind::TipReceived(TipReceived {
                    tip_id: tid.clone(),
                    channel: rng.random_range(1..6),
                    category: 1,
                    business_id: String::new(),
                }),
            );
            tally.tips += 1;
            let handled = rng.random_range(3..35);
            push(
                &mut out,
                &mut ids,
                c,
                c,
                (day + 2).min(365),
                Kind::TipVerified(TipVerified {
                    tip_id: tid.clone(),
                    substantiated: rng.random_bool(0.5),
                }),
            );
            if rng.random_bool(0.9) {
                push(
                    &mut out,
                    &mut ids,
                    c,
                    c,
                    (day + handled).min(365),
                    Kind::TipClosed(TipClosed {
                        tip_id: tid,
                        outcome: rng.random_range(1..4),
                    }),
                );
            }
        }
        // Clients in need and services (pseudonymous refs).
        for k in 0..rng.random_range(0..4) * scale {
            let client_ref = format!(
                "{:016x}{:048x}",
                rng.random::<u64>(),
                u64::from(code) * 1000 + u64::from(k)
            );
            let day = rng.random_range(1..300);
            push(
                &mut out,
                &mut ids,
                c,
                c,
                day,
                Kind::ClientNeedAssessed(ClientNeedAssessed {
                    client_key_id: String::new(),
                    client_ref: client_ref.clone(),
                    needs: vec![ServiceKind::Health as i32],
                }),
            );
            if rng.random_bool(0.8) {
                push(
                    &mut out,
                    &mut ids,
                    c,
                    c,
                    (day + 7).min(365),
                    Kind::SupportServiceProvided(SupportServiceProvided {
                        client_key_id: String::new(),
                        client_ref,
                        service: rng.random_range(1..10),
                        provider: "Trạm y tế".into(),
                        cost_vnd: 200_000,
                    }),
                );
            }
        }
        // Pilot models, healthy-commune assessment.
        if rng.random_bool(0.15) {
            push(
                &mut out,
                &mut ids,
                c,
                c,
                rng.random_range(30..200),
                Kind::PilotModelStarted(PilotModelStarted {
                    model_id: format!("{tag}-{year}-m"),
                    kind: rng.random_range(1..4),
                    budget_vnd: 50_000_000,
                }),
            );
        }
        push(
            &mut out,
            &mut ids,
            c,
            c,
            rng.random_range(330..365),
            Kind::HealthyCommuneAssessed(HealthyCommuneAssessed {
                year: year as u32,
                score: rng.random_range(40..100),
                classification: if rng.random_bool(0.7) { 1 } else { 2 },
            }),
        );
    }
    // A few corrections: void an awareness activity entered twice.
    let candidates: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            matches!(
                p.draft.body.as_ref().and_then(|b| b.kind.as_ref()),
                Some(Kind::AwarenessActivityHeld(_))
            )
        })
        .map(|(i, _)| i)
        .collect();
    for &i in candidates.iter().step_by(50) {
        let t = out[i].clone();
        push(
            &mut out,
            &mut ids,
            t.at,
            t.at,
            365,
            Kind::EventVoided(EventVoided {
                target_id: t.draft.id.clone(),
                reason: "nhập trùng".into(),
                target_seq: 0,
            }),
        );
        tally.awareness -= 1;
        tally.corrections += 1;
    }
    tally.events = out.len() as u64;
    (out, tally)
}
