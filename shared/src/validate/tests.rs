//! The validation rules' tests: a table of drafts per rule, each naming the
//! field and the reason expected, and property tests that no input panics.

use super::*;
use crate::proto::v1::{Audience, AwarenessForm};
use time::macros::date;

/// Province 33 with districts 323 and 324, two communes each.
pub(super) const CSV: &str = "\
province_code,province_name,district_code,district_name,commune_code,commune_name
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11953,Phường Lê Lợi
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11956,Phường Minh Khai
33,Tỉnh Hưng Yên,324,Huyện Văn Lâm,11986,Thị trấn Như Quỳnh
33,Tỉnh Hưng Yên,324,Huyện Văn Lâm,11989,Xã Lạc Đạo
";
pub(super) const TODAY: Date = date!(2025 - 06 - 15);
/// An earlier event recorded by d323 (the usual origin).
pub(super) const OWN: [u8; 16] = [7; 16];
/// An earlier event recorded by c11953.
pub(super) const CHILDS: [u8; 16] = [8; 16];

pub(super) type Expect = Result<(), (&'static str, &'static str)>;
/// One case of a table: name, mutation of the base draft, expectation.
pub(super) type Case = (&'static str, fn(&mut Event), Expect);
pub(super) const OK: Expect = Ok(());

pub(super) fn topology() -> History {
    let t = crate::topology::Topology::from_csv_reader(CSV.as_bytes(), "test")
        .expect("test topology parses");
    History::single(t).expect("one listing")
}

pub(super) fn u(s: &str) -> UnitId {
    s.parse().expect("test unit id parses")
}

pub(super) fn lookup(id: &[u8]) -> Option<UnitId> {
    if id == OWN {
        Some(u("d323"))
    } else if id == CHILDS {
        Some(u("c11953"))
    } else {
        None
    }
}

pub(super) fn set(e: &mut Event, k: Kind) {
    e.body = Some(Body { kind: Some(k) });
}

pub(super) fn body(k: Kind) -> Option<Body> {
    Some(Body { kind: Some(k) })
}

/// A correction's replacement body.
pub(super) fn boxed(k: Kind) -> Option<Box<Body>> {
    Some(Box::new(Body { kind: Some(k) }))
}

// ---- one valid body of each kind

pub(super) fn business_registered() -> BusinessRegistered {
    BusinessRegistered {
        business_id: "HY-KAR-0012".into(),
        kind: BusinessKind::Karaoke as i32,
        conditional: true,
        workers: 8,
        commitment_signed: true,
        licence_no: "0900123456".into(),
    }
}
pub(super) fn business_updated() -> BusinessUpdated {
    BusinessUpdated {
        business_id: "HY-KAR-0012".into(),
        workers: Some(10),
        ..Default::default()
    }
}
pub(super) fn business_closed() -> BusinessClosed {
    BusinessClosed {
        business_id: "HY-KAR-0012".into(),
        reason: "owner stopped trading".into(),
    }
}
pub(super) fn checks(o: CheckOutcome) -> Checks {
    let o = o as i32;
    Checks {
        contracts: o,
        under18: o,
        residence: o,
        health_check: o,
        security: o,
        culture: o,
    }
}
pub(super) fn inspection() -> InspectionConducted {
    InspectionConducted {
        inspection_id: "KT-2025-041".into(),
        business_id: "HY-KAR-0012".into(),
        team_level: ProtoLevel::District as i32,
        mode: InspectionMode::Planned as i32,
        trigger: InspectionTrigger::Plan as i32,
        members_present: 4,
        agencies: vec![
            Agency::Police as i32,
            Agency::Labour as i32,
            Agency::Culture as i32,
        ],
        checks: Some(checks(CheckOutcome::Compliant)),
        result: InspectionResult::Compliant as i32,
        workers_reached: 6,
        tip_id: String::new(),
    }
}
pub(super) fn violation() -> ViolationRecorded {
    ViolationRecorded {
        record_no: "15/BB-178".into(),
        inspection_id: "KT-2025-041".into(),
        business_id: "HY-KAR-0012".into(),
        act: ViolationAct::LabourRules as i32,
        act_code: "144/2021 Art. 25(1)".into(),
        subject: SubjectType::Business as i32,
        persons: 0,
    }
}
pub(super) fn penalty() -> PenaltyDecided {
    PenaltyDecided {
        decision_no: "27/QĐ-XPHC".into(),
        record_no: "15/BB-178".into(),
        kind: PenaltyKind::Fine as i32,
        fine_vnd: 5_000_000,
        suspension_months: 0,
    }
}
pub(super) fn referral() -> CaseReferred {
    CaseReferred {
        record_no: "15/BB-178".into(),
        referred_to: ReferralAgency::Police as i32,
        criminal: true,
    }
}
pub(super) fn tip_received() -> TipReceived {
    TipReceived {
        tip_id: "TB-2025-07".into(),
        channel: TipChannel::Hotline as i32,
        category: TipCategory::Business as i32,
        business_id: "HY-KAR-0012".into(),
    }
}
pub(super) fn tip_verified() -> TipVerified {
    TipVerified {
        tip_id: "TB-2025-07".into(),
        substantiated: true,
    }
}
pub(super) fn tip_closed() -> TipClosed {
    TipClosed {
        tip_id: "TB-2025-07".into(),
        outcome: TipOutcome::ActionTaken as i32,
    }
}
pub(super) fn awareness() -> AwarenessActivityHeld {
    AwarenessActivityHeld {
        activity_id: "TT-2025-03".into(),
        form: AwarenessForm::Meeting as i32,
        audience: Audience::BusinessWorkers as i32,
        participants: 45,
        leaflets: 200,
    }
}
pub(super) const REF: &str = "3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea";
pub(super) fn need() -> ClientNeedAssessed {
    ClientNeedAssessed {
        client_key_id: String::new(),
        client_ref: REF.into(),
        needs: vec![ServiceKind::HivSti as i32, ServiceKind::Job as i32],
    }
}
pub(super) fn service() -> SupportServiceProvided {
    SupportServiceProvided {
        client_key_id: String::new(),
        client_ref: REF.into(),
        service: ServiceKind::HivSti as i32,
        provider: "Trung tâm Y tế huyện Văn Lâm".into(),
        cost_vnd: 350_000,
    }
}
pub(super) fn plan() -> PlanAdopted {
    PlanAdopted {
        plan_id: "KH-2025-12".into(),
        year: 2025,
        decision_no: "12/KH-UBND".into(),
    }
}
pub(super) fn target() -> TargetSet {
    TargetSet {
        year: 2025,
        kpi: Kpi::InspectionCoverage as i32,
        target_bp: 8000,
    }
}
pub(super) fn pilot_started() -> PilotModelStarted {
    PilotModelStarted {
        model_id: "MH-361-2".into(),
        kind: PilotModelKind::PeerGroups as i32,
        budget_vnd: 120_000_000,
    }
}
pub(super) fn pilot_ended() -> PilotModelEnded {
    PilotModelEnded {
        model_id: "MH-361-2".into(),
        reason: String::new(),
    }
}
pub(super) fn healthy() -> HealthyCommuneAssessed {
    HealthyCommuneAssessed {
        year: 2024,
        score: 92,
        classification: HealthyClass::Healthy as i32,
    }
}
pub(super) fn volunteers() -> VolunteerTeamReported {
    VolunteerTeamReported {
        team_id: "CTXH-01".into(),
        members: 12,
        activities: 5,
    }
}
pub(super) fn training() -> TrainingHeld {
    TrainingHeld {
        training_id: "TH-2025-01".into(),
        role: TraineeRole::TeamMember as i32,
        trainees: 30,
        days: 2,
    }
}
pub(super) fn hotspot() -> HotspotIdentified {
    HotspotIdentified {
        hotspot_id: "TD-04".into(),
        kind: HotspotKind::Street as i32,
        estimated_persons: 6,
    }
}
pub(super) fn voided() -> EventVoided {
    EventVoided {
        target_id: OWN.to_vec(),
        reason: "entered twice".into(),
        target_seq: 0,
    }
}
pub(super) fn corrected() -> EventCorrected {
    EventCorrected {
        target_id: OWN.to_vec(),
        unit: "c11953".into(),
        occurred_on: "2025-06-01".into(),
        body: boxed(Kind::InspectionConducted(inspection())),
        reason: "members present was mistyped".into(),
        target_seq: 0,
    }
}

/// A valid body of every kind.
pub(super) fn every_kind() -> Vec<Kind> {
    vec![
        Kind::BusinessRegistered(business_registered()),
        Kind::BusinessUpdated(business_updated()),
        Kind::BusinessClosed(business_closed()),
        Kind::InspectionConducted(inspection()),
        Kind::ViolationRecorded(violation()),
        Kind::PenaltyDecided(penalty()),
        Kind::CaseReferred(referral()),
        Kind::TipReceived(tip_received()),
        Kind::TipVerified(tip_verified()),
        Kind::TipClosed(tip_closed()),
        Kind::AwarenessActivityHeld(awareness()),
        Kind::ClientNeedAssessed(need()),
        Kind::SupportServiceProvided(service()),
        Kind::PlanAdopted(plan()),
        Kind::TargetSet(target()),
        Kind::PilotModelStarted(pilot_started()),
        Kind::PilotModelEnded(pilot_ended()),
        Kind::HealthyCommuneAssessed(healthy()),
        Kind::VolunteerTeamReported(volunteers()),
        Kind::TrainingHeld(training()),
        Kind::HotspotIdentified(hotspot()),
        Kind::HotspotCleared(HotspotCleared {
            hotspot_id: "TD-04".into(),
        }),
        Kind::EventVoided(voided()),
        Kind::EventCorrected(Box::new(corrected())),
    ]
}

/// A valid draft recorded at d323 for commune c11953.
pub(super) fn draft() -> Event {
    Event {
        id: vec![1; 16],
        unit: "c11953".into(),
        occurred_on: "2025-06-01".into(),
        recorded_by: "officer-7".into(),
        schema: 1,
        body: body(Kind::InspectionConducted(inspection())),
        ..Default::default()
    }
}

/// The draft as the node stores it.
pub(super) fn stored() -> Event {
    Event {
        origin: "d323".into(),
        seq: 1,
        recorded_at: 1_749_800_000_000,
        prev_hash: vec![0; 32],
        hash: vec![9; 32],
        ..draft()
    }
}

/// How to run one case.
#[derive(Clone, Copy)]
pub(super) struct Env {
    origin: &'static str,
    stored: bool,
    lookup: bool,
}
pub(super) const DRAFT: Env = Env {
    origin: "d323",
    stored: false,
    lookup: true,
};

pub(super) fn run(env: Env, mutate: impl FnOnce(&mut Event), expect: Expect) -> String {
    let topo = topology();
    let lookup_fn = lookup;
    let ctx = Context {
        history: &topo,
        origin: u(env.origin),
        today: TODAY,
        target_origin: if env.lookup { Some(&lookup_fn) } else { None },
    };
    let mut ev = if env.stored { stored() } else { draft() };
    if env.stored {
        ev.origin = env.origin.into();
    }
    mutate(&mut ev);
    let got = if env.stored {
        validate_stored(&ev, &ctx)
    } else {
        validate_draft(&ev, &ctx)
    };
    match (&got, expect) {
        (Ok(()), Ok(())) => String::new(),
        (Err(e), Err((field, reason)))
            if e.field == field && e.reason.to_string().contains(reason) =>
        {
            String::new()
        }
        _ => format!("expected {expect:?}, got {got:?}"),
    }
}

/// Validates a valid draft (origin d323, today 2025-06-15, targets known)
/// after `mutate`, and compares with `expect`: `Ok`, or the field and a
/// part of the reason.
#[track_caller]
pub(super) fn check(mutate: impl FnOnce(&mut Event), expect: Expect) {
    let failed = run(DRAFT, mutate, expect);
    assert!(failed.is_empty(), "{failed}");
}

/// Runs a table of `(name, mutation, expectation)` cases in `env`.
pub(super) fn table(env: Env, cases: &[Case]) {
    let failed: Vec<String> = cases
        .iter()
        .filter_map(|&(name, mutate, expect)| {
            let f = run(env, mutate, expect);
            (!f.is_empty()).then(|| format!("{name}: {f}"))
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

pub(super) fn long(n: usize) -> String {
    "x".repeat(n)
}

/// Replaces the body with `base()` after `f` changed it.
pub(super) fn edit<T>(e: &mut Event, base: fn() -> T, wrap: fn(T) -> Kind, f: impl FnOnce(&mut T)) {
    let mut b = base();
    f(&mut b);
    set(e, wrap(b));
}
pub(super) fn on_registered(e: &mut Event, f: impl FnOnce(&mut BusinessRegistered)) {
    edit(e, business_registered, Kind::BusinessRegistered, f);
}
pub(super) fn on_updated(e: &mut Event, f: impl FnOnce(&mut BusinessUpdated)) {
    edit(e, business_updated, Kind::BusinessUpdated, f);
}
pub(super) fn on_closed(e: &mut Event, f: impl FnOnce(&mut BusinessClosed)) {
    edit(e, business_closed, Kind::BusinessClosed, f);
}
pub(super) fn on_inspection(e: &mut Event, f: impl FnOnce(&mut InspectionConducted)) {
    edit(e, inspection, Kind::InspectionConducted, f);
}
pub(super) fn on_checks(e: &mut Event, f: impl FnOnce(&mut Checks)) {
    on_inspection(e, |b| {
        if let Some(c) = b.checks.as_mut() {
            f(c);
        }
    });
}
pub(super) fn on_violation(e: &mut Event, f: impl FnOnce(&mut ViolationRecorded)) {
    edit(e, violation, Kind::ViolationRecorded, f);
}
pub(super) fn on_penalty(e: &mut Event, f: impl FnOnce(&mut PenaltyDecided)) {
    edit(e, penalty, Kind::PenaltyDecided, f);
}
pub(super) fn on_referral(e: &mut Event, f: impl FnOnce(&mut CaseReferred)) {
    edit(e, referral, Kind::CaseReferred, f);
}
pub(super) fn on_tip(e: &mut Event, f: impl FnOnce(&mut TipReceived)) {
    edit(e, tip_received, Kind::TipReceived, f);
}
pub(super) fn on_tip_verified(e: &mut Event, f: impl FnOnce(&mut TipVerified)) {
    edit(e, tip_verified, Kind::TipVerified, f);
}
pub(super) fn on_tip_closed(e: &mut Event, f: impl FnOnce(&mut TipClosed)) {
    edit(e, tip_closed, Kind::TipClosed, f);
}
pub(super) fn on_awareness(e: &mut Event, f: impl FnOnce(&mut AwarenessActivityHeld)) {
    edit(e, awareness, Kind::AwarenessActivityHeld, f);
}
pub(super) fn on_need(e: &mut Event, f: impl FnOnce(&mut ClientNeedAssessed)) {
    edit(e, need, Kind::ClientNeedAssessed, f);
}
pub(super) fn on_service(e: &mut Event, f: impl FnOnce(&mut SupportServiceProvided)) {
    edit(e, service, Kind::SupportServiceProvided, f);
}
pub(super) fn on_plan(e: &mut Event, f: impl FnOnce(&mut PlanAdopted)) {
    edit(e, plan, Kind::PlanAdopted, f);
}
pub(super) fn on_target(e: &mut Event, f: impl FnOnce(&mut TargetSet)) {
    edit(e, target, Kind::TargetSet, f);
}
pub(super) fn on_pilot(e: &mut Event, f: impl FnOnce(&mut PilotModelStarted)) {
    edit(e, pilot_started, Kind::PilotModelStarted, f);
}
pub(super) fn on_pilot_ended(e: &mut Event, f: impl FnOnce(&mut PilotModelEnded)) {
    edit(e, pilot_ended, Kind::PilotModelEnded, f);
}
pub(super) fn on_healthy(e: &mut Event, f: impl FnOnce(&mut HealthyCommuneAssessed)) {
    edit(e, healthy, Kind::HealthyCommuneAssessed, f);
}
pub(super) fn on_volunteers(e: &mut Event, f: impl FnOnce(&mut VolunteerTeamReported)) {
    edit(e, volunteers, Kind::VolunteerTeamReported, f);
}
pub(super) fn on_training(e: &mut Event, f: impl FnOnce(&mut TrainingHeld)) {
    edit(e, training, Kind::TrainingHeld, f);
}
pub(super) fn on_hotspot(e: &mut Event, f: impl FnOnce(&mut HotspotIdentified)) {
    edit(e, hotspot, Kind::HotspotIdentified, f);
}
pub(super) fn on_void(e: &mut Event, f: impl FnOnce(&mut EventVoided)) {
    edit(e, voided, Kind::EventVoided, f);
}
pub(super) fn on_correction(e: &mut Event, f: impl FnOnce(&mut EventCorrected)) {
    edit(e, corrected, |c| Kind::EventCorrected(Box::new(c)), f);
}

#[test]
pub(super) fn every_body_kind_is_valid_in_a_draft_and_stored() {
    let stored = Env {
        stored: true,
        ..DRAFT
    };
    for k in every_kind() {
        let name = kind_name(&k);
        let kk = k.clone();
        let failed = run(DRAFT, move |e| set(e, kk), OK);
        assert!(failed.is_empty(), "draft {name}: {failed}");
        let failed = run(stored, move |e| set(e, k), OK);
        assert!(failed.is_empty(), "stored {name}: {failed}");
    }
}

#[test]
pub(super) fn draft_envelope() {
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("base", |_| {}, OK),
        ("no id is fine", |e| e.id.clear(), OK),
        ("short id", |e| e.id = vec![1; 3], Err(("id", "must be 16 bytes, got 3"))),
        ("nil id", |e| e.id = vec![0; 16], Err(("id", "all zeros"))),
        ("origin set", |e| e.origin = "d323".into(), Err(("origin", "must be empty: the node assigns it"))),
        ("seq set", |e| e.seq = 4, Err(("seq", "must be empty: the node assigns it"))),
        ("prev_hash set", |e| e.prev_hash = vec![0; 32], Err(("prev_hash", "must be empty: the node assigns it"))),
        ("hash set", |e| e.hash = vec![0; 32], Err(("hash", "must be empty: the node assigns it"))),
        ("first error in field order", |e| { e.origin = "d323".into(); e.unit = "c99999".into() }, Err(("origin", "must be empty"))),
        ("unit missing", |e| e.unit.clear(), Err(("unit", "must be given"))),
        ("unit malformed", |e| e.unit = "x1".into(), Err(("unit", "must start with p, d or c"))),
        ("unit huge", |e| e.unit = long(10_000), Err(("unit", "too long for a unit id"))),
        ("unit unknown", |e| e.unit = "c99999".into(), Err(("unit", "c99999 does not exist in the listing 2024 in force on 2025-06-01"))),
        ("unit outside subtree", |e| e.unit = "c11986".into(), Err(("unit", "c11986 is outside the subtree of origin d323"))),
        ("unit above origin", |e| e.unit = "p33".into(), Err(("unit", "outside the subtree"))),
        ("unit is origin", |e| e.unit = "d323".into(), OK),
        ("date missing", |e| e.occurred_on.clear(), Err(("occurred_on", "must be given"))),
        ("date not iso", |e| e.occurred_on = "01/06/2025".into(), Err(("occurred_on", "YYYY-MM-DD"))),
        ("date not padded", |e| e.occurred_on = "2025-6-1".into(), Err(("occurred_on", "YYYY-MM-DD"))),
        ("date with time", |e| e.occurred_on = "2025-06-01T10:00".into(), Err(("occurred_on", "YYYY-MM-DD"))),
        ("date huge", |e| e.occurred_on = long(5_000), Err(("occurred_on", "too long for a date"))),
        ("date does not exist", |e| e.occurred_on = "2025-02-30".into(), Err(("occurred_on", "does not exist"))),
        ("date before 2000", |e| e.occurred_on = "1999-12-31".into(), Err(("occurred_on", "1999-12-31 is before 2000-01-01"))),
        ("first day of 2000", |e| e.occurred_on = "2000-01-01".into(), OK),
        ("tomorrow", |e| e.occurred_on = "2025-06-16".into(), OK),
        ("future date", |e| e.occurred_on = "2025-06-17".into(), Err(("occurred_on", "2025-06-17 is in the future (latest 2025-06-16)"))),
        ("recorded_by missing", |e| e.recorded_by.clear(), Err(("recorded_by", "must be given"))),
        ("recorded_by 64 vietnamese chars", |e| e.recorded_by = "đ".repeat(64), OK),
        ("recorded_by too long", |e| e.recorded_by = long(65), Err(("recorded_by", "65 characters, over the limit of 64"))),
        ("recorded_by control char", |e| e.recorded_by = "officer\n7".into(), Err(("recorded_by", "control characters"))),
        ("recorded_by bidi override", |e| e.recorded_by = "officer\u{202e}7".into(), Err(("recorded_by", "control characters"))),
        ("recorded_by padded", |e| e.recorded_by = " officer-7".into(), Err(("recorded_by", "whitespace"))),
        ("schema 0 means current", |e| e.schema = 0, OK),
        ("schema 2", |e| e.schema = 2, Err(("schema", "newer schema 2"))),
        ("body missing", |e| e.body = None, Err(("body", "must be given"))),
        ("body without kind", |e| e.body = Some(Body { kind: None }), Err(("body", "must hold one kind of event"))),
        ("too large", |e| e.recorded_by = long(MAX_EVENT_BYTES), Err(("event", "over the limit of 65536"))),
    ];
    table(DRAFT, cases);
}

#[test]
pub(super) fn stored_envelope() {
    let env = Env {
        stored: true,
        ..DRAFT
    };
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("base", |_| {}, OK),
        ("no id", |e| e.id.clear(), Err(("id", "must be 16 bytes, got 0"))),
        ("origin missing", |e| e.origin.clear(), Err(("origin", "must be given"))),
        ("origin malformed", |e| e.origin = "D323".into(), Err(("origin", "must start with p, d or c"))),
        ("origin other", |e| e.origin = "c11953".into(), Err(("origin", "is c11953, expected d323"))),
        ("seq 0", |e| e.seq = 0, Err(("seq", "must be at least 1"))),
        ("unit outside subtree", |e| e.unit = "c11989".into(), Err(("unit", "outside the subtree"))),
        ("future date", |e| e.occurred_on = "2026-01-01".into(), Err(("occurred_on", "in the future"))),
        ("recorded_at 0", |e| e.recorded_at = 0, Err(("recorded_at", "after the unix epoch"))),
        ("recorded_at negative", |e| e.recorded_at = -5, Err(("recorded_at", "got -5"))),
        ("recorded_by missing", |e| e.recorded_by.clear(), Err(("recorded_by", "must be given"))),
        ("schema 0", |e| e.schema = 0, Err(("schema", "must be 1, got 0"))),
        ("schema 2", |e| e.schema = 2, Err(("schema", "newer schema 2"))),
        ("body missing", |e| e.body = None, Err(("body", "must be given"))),
        ("chain is the log's", |e| { e.prev_hash.clear(); e.hash.clear() }, OK),
    ];
    table(env, cases);
}

#[test]
pub(super) fn newer_schema_is_recognisable() {
    let topo = topology();
    let ctx = Context {
        history: &topo,
        origin: u("d323"),
        today: TODAY,
        target_origin: None,
    };
    let mut ev = stored();
    ev.schema = 2;
    let err = validate_stored(&ev, &ctx).expect_err("schema 2 is refused");
    assert!(err.is_newer_schema(), "{err}");
    assert_eq!(
        err.to_string(),
        "schema: newer schema 2 than this build's 1"
    );
    ev.schema = 0;
    let err = validate_stored(&ev, &ctx).expect_err("schema 0 is refused");
    assert!(!err.is_newer_schema());
}

#[test]
pub(super) fn inspection_conducted() {
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("id too long", |e| on_inspection(e, |b| b.inspection_id = long(65)), Err(("body.inspection_conducted.inspection_id", "over the limit of 64"))),
        ("id of 64 chars", |e| on_inspection(e, |b| b.inspection_id = long(64)), OK),
        ("id missing", |e| on_inspection(e, |b| b.inspection_id.clear()), Err(("body.inspection_conducted.inspection_id", "must be given"))),
        ("id with a tab", |e| on_inspection(e, |b| b.inspection_id = "KT\t1".into()), Err(("body.inspection_conducted.inspection_id", "control characters"))),
        ("business missing", |e| on_inspection(e, |b| b.business_id.clear()), Err(("body.inspection_conducted.business_id", "must be given"))),
        ("team level zero", |e| on_inspection(e, |b| b.team_level = 0), Err(("body.inspection_conducted.team_level", "must be given"))),
        ("team level 42", |e| on_inspection(e, |b| b.team_level = 42), Err(("body.inspection_conducted.team_level", "unknown value 42"))),
        ("team level negative", |e| on_inspection(e, |b| b.team_level = -1), Err(("body.inspection_conducted.team_level", "unknown value -1"))),
        ("province team at a district node", |e| on_inspection(e, |b| b.team_level = ProtoLevel::Province as i32), Err(("body.inspection_conducted.team_level", "a province team's inspection cannot be recorded by d323"))),
        ("commune team at a district node", |e| on_inspection(e, |b| b.team_level = ProtoLevel::Commune as i32), OK),
        ("mode zero", |e| on_inspection(e, |b| b.mode = 0), Err(("body.inspection_conducted.mode", "must be given"))),
        ("mode 42", |e| on_inspection(e, |b| b.mode = 42), Err(("body.inspection_conducted.mode", "unknown value 42"))),
        ("trigger zero", |e| on_inspection(e, |b| b.trigger = 0), Err(("body.inspection_conducted.trigger", "must be given"))),
        ("trigger 42", |e| on_inspection(e, |b| b.trigger = 42), Err(("body.inspection_conducted.trigger", "unknown value 42"))),
        ("two members", |e| on_inspection(e, |b| b.members_present = 2), Err(("body.inspection_conducted.members_present", "must be at least 3, got 2"))),
        ("three members", |e| on_inspection(e, |b| b.members_present = 3), OK),
        ("51 members", |e| on_inspection(e, |b| b.members_present = 51), Err(("body.inspection_conducted.members_present", "must be at most 50, got 51"))),
        ("no agencies", |e| on_inspection(e, |b| b.agencies.clear()), Err(("body.inspection_conducted.agencies", "must not be empty"))),
        ("agency zero", |e| on_inspection(e, |b| b.agencies[1] = 0), Err(("body.inspection_conducted.agencies[1]", "must be given"))),
        ("agency 42", |e| on_inspection(e, |b| b.agencies[2] = 42), Err(("body.inspection_conducted.agencies[2]", "unknown value 42"))),
        ("agency twice", |e| on_inspection(e, |b| b.agencies[2] = Agency::Police as i32), Err(("body.inspection_conducted.agencies[2]", "duplicate value 1"))),
        ("more agencies than members", |e| on_inspection(e, |b| { b.members_present = 3; b.agencies.push(Agency::Health as i32) }), Err(("body.inspection_conducted.agencies", "4 agencies but only 3 members present"))),
        ("checks missing", |e| on_inspection(e, |b| b.checks = None), Err(("body.inspection_conducted.checks", "must be given"))),
        ("check outcome zero", |e| on_checks(e, |c| c.under18 = 0), Err(("body.inspection_conducted.checks.under18", "must be given"))),
        ("check outcome 42", |e| on_checks(e, |c| c.culture = 42), Err(("body.inspection_conducted.checks.culture", "unknown value 42"))),
        ("result zero", |e| on_inspection(e, |b| b.result = 0), Err(("body.inspection_conducted.result", "must be given"))),
        ("result 42", |e| on_inspection(e, |b| b.result = 42), Err(("body.inspection_conducted.result", "unknown value 42"))),
        ("violations without a non-compliant check", |e| on_inspection(e, |b| b.result = InspectionResult::ViolationsFound as i32), Err(("body.inspection_conducted.result", "no check is non-compliant"))),
        ("violations with a non-compliant check", |e| on_inspection(e, |b| { b.result = InspectionResult::ViolationsFound as i32; b.checks = Some(Checks { health_check: CheckOutcome::NonCompliant as i32, ..checks(CheckOutcome::Compliant) }) }), OK),
        ("compliant with a non-compliant check", |e| on_checks(e, |c| c.contracts = CheckOutcome::NonCompliant as i32), Err(("body.inspection_conducted.result", "a check is non-compliant"))),
        ("business not operating, nothing checked", |e| on_inspection(e, |b| { b.result = InspectionResult::BusinessNotOperating as i32; b.checks = Some(checks(CheckOutcome::NotChecked)) }), OK),
        ("too many workers reached", |e| on_inspection(e, |b| b.workers_reached = 100_001), Err(("body.inspection_conducted.workers_reached", "at most 100000"))),
        ("tip-off without tip", |e| on_inspection(e, |b| { b.mode = InspectionMode::Unannounced as i32; b.trigger = InspectionTrigger::TipOff as i32 }), Err(("body.inspection_conducted.tip_id", "must be given"))),
        ("tip-off with tip", |e| on_inspection(e, |b| { b.mode = InspectionMode::Unannounced as i32; b.trigger = InspectionTrigger::TipOff as i32; b.tip_id = "TB-2025-07".into() }), OK),
        ("tip without tip-off", |e| on_inspection(e, |b| b.tip_id = "TB-2025-07".into()), Err(("body.inspection_conducted.tip_id", "only when trigger is tip-off"))),
    ];
    table(DRAFT, cases);
}

#[test]
pub(super) fn team_level_is_bounded_by_the_recording_node() {
    let commune = Env {
        origin: "c11953",
        ..DRAFT
    };
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("commune team", |e| on_inspection(e, |b| b.team_level = ProtoLevel::Commune as i32), OK),
        ("district team", |e| on_inspection(e, |_| {}), Err(("body.inspection_conducted.team_level", "a district team's inspection cannot be recorded by c11953"))),
    ];
    table(commune, cases);
    let province = Env {
        origin: "p33",
        ..DRAFT
    };
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("province team", |e| on_inspection(e, |b| b.team_level = ProtoLevel::Province as i32), OK),
        ("unit in another district", |e| e.unit = "c11989".into(), OK),
    ];
    table(province, cases);
}

#[test]
pub(super) fn registry() {
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("kind zero", |e| on_registered(e, |b| b.kind = 0), Err(("body.business_registered.kind", "must be given"))),
        ("kind 42", |e| on_registered(e, |b| b.kind = 42), Err(("body.business_registered.kind", "unknown value 42"))),
        ("kind other", |e| on_registered(e, |b| b.kind = BusinessKind::Other as i32), OK),
        ("no licence", |e| on_registered(e, |b| b.licence_no.clear()), OK),
        ("licence too long", |e| on_registered(e, |b| b.licence_no = long(501)), Err(("body.business_registered.licence_no", "501 characters, over the limit of 500"))),
        ("too many workers", |e| on_registered(e, |b| b.workers = 100_001), Err(("body.business_registered.workers", "at most 100000"))),
        ("id with nul", |e| on_registered(e, |b| b.business_id = "HY\0".into()), Err(("body.business_registered.business_id", "control characters"))),
        ("update keeps kind", |e| on_updated(e, |b| { b.workers = None; b.commitment_signed = Some(false) }), OK),
        ("update kind 42", |e| on_updated(e, |b| b.kind = 42), Err(("body.business_updated.kind", "unknown value 42"))),
        ("update too many workers", |e| on_updated(e, |b| b.workers = Some(100_001)), Err(("body.business_updated.workers", "at most 100000"))),
        ("update of nothing", |e| on_updated(e, |b| b.workers = None), Err(("body.business_updated", "changes nothing"))),
        ("update without id", |e| on_updated(e, |b| b.business_id.clear()), Err(("body.business_updated.business_id", "must be given"))),
        ("closed without id", |e| on_closed(e, |b| b.business_id.clear()), Err(("body.business_closed.business_id", "must be given"))),
        ("closed without reason", |e| on_closed(e, |b| b.reason.clear()), OK),
        ("closed reason too long", |e| on_closed(e, |b| b.reason = long(501)), Err(("body.business_closed.reason", "over the limit of 500"))),
        ("closed reason on two lines", |e| on_closed(e, |b| b.reason = "moved\nto hà nội".into()), OK),
        ("closed reason with escape", |e| on_closed(e, |b| b.reason = "moved\u{1b}[2J".into()), Err(("body.business_closed.reason", "control characters"))),
    ];
    table(DRAFT, cases);
}

#[test]
pub(super) fn violations_penalties_referrals() {
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("record_no missing", |e| on_violation(e, |b| b.record_no.clear()), Err(("body.violation_recorded.record_no", "must be given"))),
        ("no inspection is fine", |e| on_violation(e, |b| b.inspection_id.clear()), OK),
        ("act zero", |e| on_violation(e, |b| b.act = 0), Err(("body.violation_recorded.act", "must be given"))),
        ("act 42", |e| on_violation(e, |b| b.act = 42), Err(("body.violation_recorded.act", "unknown value 42"))),
        ("act_code blank", |e| on_violation(e, |b| b.act_code = "  ".into()), Err(("body.violation_recorded.act_code", "must be given"))),
        ("subject zero", |e| on_violation(e, |b| b.subject = 0), Err(("body.violation_recorded.subject", "must be given"))),
        ("business subject without business", |e| on_violation(e, |b| b.business_id.clear()), Err(("body.violation_recorded.business_id", "when the subject is a business"))),
        ("person subject without persons", |e| on_violation(e, |b| { b.subject = SubjectType::Person as i32; b.business_id.clear() }), Err(("body.violation_recorded.persons", "at least 1"))),
        ("person subject", |e| on_violation(e, |b| { b.subject = SubjectType::Person as i32; b.persons = 2; b.act = ViolationAct::BuyingSex as i32 }), OK),
        ("too many persons", |e| on_violation(e, |b| b.persons = 10_001), Err(("body.violation_recorded.persons", "at most 10000"))),
        ("decision_no missing", |e| on_penalty(e, |b| b.decision_no.clear()), Err(("body.penalty_decided.decision_no", "must be given"))),
        ("penalty record_no missing", |e| on_penalty(e, |b| b.record_no.clear()), Err(("body.penalty_decided.record_no", "must be given"))),
        ("penalty kind zero", |e| on_penalty(e, |b| b.kind = 0), Err(("body.penalty_decided.kind", "must be given"))),
        ("penalty kind 42", |e| on_penalty(e, |b| b.kind = 42), Err(("body.penalty_decided.kind", "unknown value 42"))),
        ("fine of 0", |e| on_penalty(e, |b| b.fine_vnd = 0), Err(("body.penalty_decided.fine_vnd", "must be at least 1, got 0"))),
        ("fine too large", |e| on_penalty(e, |b| b.fine_vnd = 1_000_000_001), Err(("body.penalty_decided.fine_vnd", "at most 1000000000"))),
        ("largest fine", |e| on_penalty(e, |b| b.fine_vnd = 1_000_000_000), OK),
        ("warning", |e| on_penalty(e, |b| { b.kind = PenaltyKind::Warning as i32; b.fine_vnd = 0 }), OK),
        ("warning with a fine", |e| on_penalty(e, |b| b.kind = PenaltyKind::Warning as i32), Err(("body.penalty_decided.fine_vnd", "must be 0 with a warning"))),
        ("suspension with a fine", |e| on_penalty(e, |b| { b.kind = PenaltyKind::LicenceSuspension as i32; b.suspension_months = 3 }), OK),
        ("suspension of 0 months", |e| on_penalty(e, |b| b.kind = PenaltyKind::LicenceSuspension as i32), Err(("body.penalty_decided.suspension_months", "must be at least 1, got 0"))),
        ("suspension of 25 months", |e| on_penalty(e, |b| { b.kind = PenaltyKind::LicenceSuspension as i32; b.suspension_months = 25 }), Err(("body.penalty_decided.suspension_months", "must be at most 24, got 25"))),
        ("months without suspension", |e| on_penalty(e, |b| b.suspension_months = 3), Err(("body.penalty_decided.suspension_months", "only with a licence suspension"))),
        ("revocation", |e| on_penalty(e, |b| { b.kind = PenaltyKind::LicenceRevocation as i32; b.fine_vnd = 0 }), OK),
        ("referral agency zero", |e| on_referral(e, |b| b.referred_to = 0), Err(("body.case_referred.referred_to", "must be given"))),
        ("referral agency 42", |e| on_referral(e, |b| b.referred_to = 42), Err(("body.case_referred.referred_to", "unknown value 42"))),
        ("referral record_no missing", |e| on_referral(e, |b| b.record_no.clear()), Err(("body.case_referred.record_no", "must be given"))),
    ];
    table(DRAFT, cases);
}

#[test]
pub(super) fn tips_and_awareness() {
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("tip id missing", |e| on_tip(e, |b| b.tip_id.clear()), Err(("body.tip_received.tip_id", "must be given"))),
        ("channel zero", |e| on_tip(e, |b| b.channel = 0), Err(("body.tip_received.channel", "must be given"))),
        ("category 42", |e| on_tip(e, |b| b.category = 42), Err(("body.tip_received.category", "unknown value 42"))),
        ("tip about no business", |e| on_tip(e, |b| { b.business_id.clear(); b.category = TipCategory::Street as i32 }), OK),
        ("tip business id too long", |e| on_tip(e, |b| b.business_id = long(65)), Err(("body.tip_received.business_id", "over the limit of 64"))),
        ("verified id missing", |e| on_tip_verified(e, |b| b.tip_id.clear()), Err(("body.tip_verified.tip_id", "must be given"))),
        ("closed outcome zero", |e| on_tip_closed(e, |b| b.outcome = 0), Err(("body.tip_closed.outcome", "must be given"))),
        ("closed outcome 42", |e| on_tip_closed(e, |b| b.outcome = 42), Err(("body.tip_closed.outcome", "unknown value 42"))),
        ("closed id too long", |e| on_tip_closed(e, |b| b.tip_id = long(65)), Err(("body.tip_closed.tip_id", "over the limit of 64"))),
        ("activity id missing", |e| on_awareness(e, |b| b.activity_id.clear()), Err(("body.awareness_activity_held.activity_id", "must be given"))),
        ("form zero", |e| on_awareness(e, |b| b.form = 0), Err(("body.awareness_activity_held.form", "must be given"))),
        ("audience 42", |e| on_awareness(e, |b| b.audience = 42), Err(("body.awareness_activity_held.audience", "unknown value 42"))),
        ("too many participants", |e| on_awareness(e, |b| b.participants = 1_000_001), Err(("body.awareness_activity_held.participants", "at most 1000000"))),
        ("too many leaflets", |e| on_awareness(e, |b| b.leaflets = 1_000_001), Err(("body.awareness_activity_held.leaflets", "at most 1000000"))),
        ("loudspeaker, nobody counted", |e| on_awareness(e, |b| { b.form = AwarenessForm::Loudspeaker as i32; b.participants = 0; b.leaflets = 0 }), OK),
    ];
    table(DRAFT, cases);
}

#[test]
pub(super) fn services_keep_clients_pseudonymous_and_at_the_commune() {
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("client_ref missing", |e| on_need(e, |b| b.client_ref.clear()), Err(("body.client_need_assessed.client_ref", "must be given"))),
        ("client_ref is a name", |e| on_need(e, |b| b.client_ref = "Nguyễn Thị A".into()), Err(("body.client_need_assessed.client_ref", "64 lowercase hex characters"))),
        ("client_ref is a case number", |e| on_need(e, |b| b.client_ref = "HS-2025-0042".into()), Err(("body.client_need_assessed.client_ref", "never a name or case number"))),
        ("client_ref uppercase", |e| on_need(e, |b| b.client_ref = REF.to_uppercase()), Err(("body.client_need_assessed.client_ref", "lowercase hex"))),
        ("client_ref of 63 chars", |e| on_need(e, |b| b.client_ref = REF[..63].into()), Err(("body.client_need_assessed.client_ref", "64 lowercase hex"))),
        ("client_ref of 64 non-hex chars", |e| on_need(e, |b| b.client_ref = "g".repeat(64)), Err(("body.client_need_assessed.client_ref", "64 lowercase hex"))),
        ("no needs", |e| on_need(e, |b| b.needs.clear()), Err(("body.client_need_assessed.needs", "must not be empty"))),
        ("need zero", |e| on_need(e, |b| b.needs = vec![0]), Err(("body.client_need_assessed.needs[0]", "must be given"))),
        ("need 42", |e| on_need(e, |b| b.needs = vec![1, 42]), Err(("body.client_need_assessed.needs[1]", "unknown value 42"))),
        ("need twice", |e| on_need(e, |b| b.needs = vec![7, 2, 7]), Err(("body.client_need_assessed.needs[2]", "duplicate value 7"))),
        ("need at a district", |e| { e.unit = "d323".into(); on_need(e, |_| {}) }, Err(("unit", "must be a commune, not d323"))),
        ("service zero", |e| on_service(e, |b| b.service = 0), Err(("body.support_service_provided.service", "must be given"))),
        ("service 42", |e| on_service(e, |b| b.service = 42), Err(("body.support_service_provided.service", "unknown value 42"))),
        ("client_key_id given", |e| on_need(e, |b| b.client_key_id = "0123456789abcdef".into()), Ok(())),
        ("client_key_id too short", |e| on_need(e, |b| b.client_key_id = "0123".into()), Err(("body.client_need_assessed.client_key_id", "16 lowercase hex"))),
        ("service client_key_id uppercase", |e| on_service(e, |b| b.client_key_id = "0123456789ABCDEF".into()), Err(("body.support_service_provided.client_key_id", "16 lowercase hex"))),
        ("service bad client_ref", |e| on_service(e, |b| b.client_ref = "42".into()), Err(("body.support_service_provided.client_ref", "64 lowercase hex"))),
        ("provider missing", |e| on_service(e, |b| b.provider.clear()), Err(("body.support_service_provided.provider", "must be given"))),
        ("provider too long", |e| on_service(e, |b| b.provider = long(501)), Err(("body.support_service_provided.provider", "over the limit of 500"))),
        ("cost too large", |e| on_service(e, |b| b.cost_vnd = 1_000_000_001), Err(("body.support_service_provided.cost_vnd", "at most"))),
        ("free service", |e| on_service(e, |b| b.cost_vnd = 0), OK),
        ("service at a district", |e| { e.unit = "d323".into(); on_service(e, |_| {}) }, Err(("unit", "must be a commune"))),
    ];
    table(DRAFT, cases);
}

#[test]
pub(super) fn programme() {
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("plan id missing", |e| on_plan(e, |b| b.plan_id.clear()), Err(("body.plan_adopted.plan_id", "must be given"))),
        ("plan year 1999", |e| on_plan(e, |b| b.year = 1999), Err(("body.plan_adopted.year", "must be at least 2000, got 1999"))),
        ("plan year 2101", |e| on_plan(e, |b| b.year = 2101), Err(("body.plan_adopted.year", "must be at most 2100, got 2101"))),
        ("plan for next year", |e| on_plan(e, |b| b.year = 2026), OK),
        ("plan two years ahead", |e| on_plan(e, |b| b.year = 2027), Err(("body.plan_adopted.year", "2027 is more than a year ahead (latest 2026)"))),
        ("plan without decision", |e| on_plan(e, |b| b.decision_no.clear()), OK),
        ("plan decision too long", |e| on_plan(e, |b| b.decision_no = long(501)), Err(("body.plan_adopted.decision_no", "over the limit of 500"))),
        ("target year 0", |e| on_target(e, |b| b.year = 0), Err(("body.target_set.year", "at least 2000"))),
        ("target year ahead", |e| on_target(e, |b| b.year = 2030), Err(("body.target_set.year", "more than a year ahead"))),
        ("kpi zero", |e| on_target(e, |b| b.kpi = 0), Err(("body.target_set.kpi", "must be given"))),
        ("kpi 42", |e| on_target(e, |b| b.kpi = 42), Err(("body.target_set.kpi", "unknown value 42"))),
        ("target of 100%", |e| on_target(e, |b| b.target_bp = 10_000), OK),
        ("target over 100%", |e| on_target(e, |b| b.target_bp = 10_001), Err(("body.target_set.target_bp", "at most 10000, got 10001"))),
        ("pilot id missing", |e| on_pilot(e, |b| b.model_id.clear()), Err(("body.pilot_model_started.model_id", "must be given"))),
        ("pilot kind zero", |e| on_pilot(e, |b| b.kind = 0), Err(("body.pilot_model_started.kind", "must be given"))),
        ("pilot kind 42", |e| on_pilot(e, |b| b.kind = 42), Err(("body.pilot_model_started.kind", "unknown value 42"))),
        ("pilot budget too large", |e| on_pilot(e, |b| b.budget_vnd = MAX_BUDGET_VND + 1), Err(("body.pilot_model_started.budget_vnd", "at most"))),
        ("pilot ended without id", |e| on_pilot_ended(e, |b| b.model_id.clear()), Err(("body.pilot_model_ended.model_id", "must be given"))),
        ("pilot ended reason too long", |e| on_pilot_ended(e, |b| b.reason = long(501)), Err(("body.pilot_model_ended.reason", "over the limit of 500"))),
        ("healthy at a district", |e| { e.unit = "d323".into(); on_healthy(e, |_| {}) }, Err(("unit", "must be a commune, not d323"))),
        ("healthy score 101", |e| on_healthy(e, |b| b.score = 101), Err(("body.healthy_commune_assessed.score", "at most 100"))),
        ("healthy class zero", |e| on_healthy(e, |b| b.classification = 0), Err(("body.healthy_commune_assessed.classification", "must be given"))),
        ("healthy class 42", |e| on_healthy(e, |b| b.classification = 42), Err(("body.healthy_commune_assessed.classification", "unknown value 42"))),
        ("healthy year 1999", |e| on_healthy(e, |b| b.year = 1999), Err(("body.healthy_commune_assessed.year", "at least 2000"))),
        ("healthy year ahead", |e| on_healthy(e, |b| b.year = 2027), Err(("body.healthy_commune_assessed.year", "more than a year ahead"))),
        ("volunteer team without members", |e| on_volunteers(e, |b| b.members = 0), Err(("body.volunteer_team_reported.members", "at least 1"))),
        ("volunteer team id missing", |e| on_volunteers(e, |b| b.team_id.clear()), Err(("body.volunteer_team_reported.team_id", "must be given"))),
        ("volunteer activities too many", |e| on_volunteers(e, |b| b.activities = 10_001), Err(("body.volunteer_team_reported.activities", "at most 10000"))),
        ("training id missing", |e| on_training(e, |b| b.training_id.clear()), Err(("body.training_held.training_id", "must be given"))),
        ("training role 42", |e| on_training(e, |b| b.role = 42), Err(("body.training_held.role", "unknown value 42"))),
        ("training without trainees", |e| on_training(e, |b| b.trainees = 0), Err(("body.training_held.trainees", "at least 1"))),
        ("training of 0 days", |e| on_training(e, |b| b.days = 0), Err(("body.training_held.days", "at least 1"))),
        ("hotspot kind 42", |e| on_hotspot(e, |b| b.kind = 42), Err(("body.hotspot_identified.kind", "unknown value 42"))),
        ("hotspot too many persons", |e| on_hotspot(e, |b| b.estimated_persons = 10_001), Err(("body.hotspot_identified.estimated_persons", "at most 10000"))),
        ("hotspot cleared id too long", |e| set(e, Kind::HotspotCleared(HotspotCleared { hotspot_id: long(65) })), Err(("body.hotspot_cleared.hotspot_id", "over the limit of 64"))),
    ];
    table(DRAFT, cases);
}

#[test]
pub(super) fn corrections() {
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("void short target", |e| on_void(e, |b| b.target_id = vec![7; 15]), Err(("body.event_voided.target_id", "must be 16 bytes, got 15"))),
        ("void without reason", |e| on_void(e, |b| b.reason.clear()), Err(("body.event_voided.reason", "must be given"))),
        ("void reason too long", |e| on_void(e, |b| b.reason = long(501)), Err(("body.event_voided.reason", "over the limit of 500"))),
        ("void reason of 500 chars", |e| on_void(e, |b| b.reason = "ă".repeat(500)), OK),
        ("void of an unknown event", |e| on_void(e, |b| b.target_id = vec![5; 16]), Err(("body.event_voided.target_id", "unknown event"))),
        ("void of another origin", |e| on_void(e, |b| b.target_id = CHILDS.to_vec()), Err(("body.event_voided.target_id", "corrections only of the same origin: target was recorded by c11953"))),
        ("correction of another origin", |e| on_correction(e, |b| b.target_id = CHILDS.to_vec()), Err(("body.event_corrected.target_id", "corrections only of the same origin: target was recorded by c11953"))),
        ("correction of an unknown event", |e| on_correction(e, |b| b.target_id = vec![5; 16]), Err(("body.event_corrected.target_id", "unknown event"))),
        ("correction target nil", |e| on_correction(e, |b| b.target_id = vec![0; 16]), Err(("body.event_corrected.target_id", "all zeros"))),
        ("correction unit missing", |e| on_correction(e, |b| b.unit.clear()), Err(("body.event_corrected.unit", "must be given"))),
        ("correction unit outside subtree", |e| on_correction(e, |b| b.unit = "c11986".into()), Err(("body.event_corrected.unit", "outside the subtree of origin d323"))),
        ("correction unit unknown", |e| on_correction(e, |b| b.unit = "c00001".into()), Err(("body.event_corrected.unit", "c00001 does not exist in the listing 2024 in force on 2025-06-01"))),
        ("correction date missing", |e| on_correction(e, |b| b.occurred_on.clear()), Err(("body.event_corrected.occurred_on", "must be given"))),
        ("correction date future", |e| on_correction(e, |b| b.occurred_on = "2025-07-01".into()), Err(("body.event_corrected.occurred_on", "in the future"))),
        ("correction date before 2000", |e| on_correction(e, |b| b.occurred_on = "1990-01-01".into()), Err(("body.event_corrected.occurred_on", "before 2000-01-01"))),
        ("correction without body", |e| on_correction(e, |b| b.body = None), Err(("body.event_corrected.body", "must be given"))),
        ("correction body without kind", |e| on_correction(e, |b| b.body = Some(Box::default())), Err(("body.event_corrected.body", "must hold one kind of event"))),
        ("nested correction", |e| on_correction(e, |b| b.body = boxed(Kind::EventCorrected(Box::new(corrected())))), Err(("body.event_corrected.body", "must not be a void or a correction"))),
        ("correction to a void", |e| on_correction(e, |b| b.body = boxed(Kind::EventVoided(voided()))), Err(("body.event_corrected.body", "must not be a void or a correction"))),
        ("invalid replacement", |e| on_correction(e, |b| b.body = boxed(Kind::InspectionConducted(InspectionConducted { members_present: 2, ..inspection() }))), Err(("body.event_corrected.body.inspection_conducted.members_present", "must be at least 3, got 2"))),
        ("replacement client at a district", |e| on_correction(e, |b| { b.unit = "d323".into(); b.body = boxed(Kind::ClientNeedAssessed(need())) }), Err(("body.event_corrected.unit", "must be a commune, not d323"))),
        ("replacement client at a commune", |e| { e.unit = "d323".into(); on_correction(e, |b| b.body = boxed(Kind::ClientNeedAssessed(need()))) }, OK),
        ("correction without reason", |e| on_correction(e, |b| b.reason.clear()), OK),
        ("correction reason too long", |e| on_correction(e, |b| b.reason = long(501)), Err(("body.event_corrected.reason", "over the limit of 500"))),
    ];
    table(DRAFT, cases);
}

#[test]
pub(super) fn without_a_lookup_the_target_origin_is_not_checked() {
    let env = Env {
        lookup: false,
        ..DRAFT
    };
    #[rustfmt::skip]
    let cases: &[Case] = &[
        ("void of another origin", |e| on_void(e, |b| b.target_id = CHILDS.to_vec()), OK),
        ("correction of an unknown event", |e| on_correction(e, |b| b.target_id = vec![5; 16]), OK),
        ("still 16 bytes", |e| on_void(e, |b| b.target_id.clear()), Err(("body.event_voided.target_id", "must be 16 bytes, got 0"))),
    ];
    table(env, cases);
}

#[test]
pub(super) fn validate_body_prefixes_the_given_path() {
    let topo = topology();
    let ctx = Context {
        history: &topo,
        origin: u("d323"),
        today: TODAY,
        target_origin: None,
    };
    let b = Body {
        kind: Some(Kind::TipClosed(TipClosed {
            outcome: 0,
            ..tip_closed()
        })),
    };
    let err = validate_body(&b, &ctx, u("c11953"), "replacement").expect_err("outcome 0");
    assert_eq!(err.field, "replacement.tip_closed.outcome");
    let b = Body {
        kind: Some(Kind::HealthyCommuneAssessed(healthy())),
    };
    let err = validate_body(&b, &ctx, u("d323"), "body.event_corrected.body")
        .expect_err("district assessment");
    assert_eq!(err.field, "body.event_corrected.unit");
}

#[test]
pub(super) fn check_helper_reports_mismatches() {
    check(|_| {}, OK);
    check(|e| e.schema = 2, Err(("schema", "newer schema")));
    assert!(!run(DRAFT, |_| {}, Err(("unit", "x"))).is_empty());
    assert!(!run(DRAFT, |e| e.seq = 1, OK).is_empty());
    assert!(!run(DRAFT, |e| e.seq = 1, Err(("seq", "no such reason"))).is_empty());
}

#[test]
pub(super) fn error_display_is_field_then_reason() {
    let e = ValidationError::new("body.tip_closed.outcome", Reason::Missing);
    assert_eq!(e.to_string(), "body.tip_closed.outcome: must be given");
}
