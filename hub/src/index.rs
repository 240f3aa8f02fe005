//! KPI counters kept current on apply, so a KPI or client query is a handful
//! of lookups rather than a scan of the registries. What each KPI counts is
//! defined in docs/KPI.md.
//!
//! Every registry entity — a business, a tip-off, a client, a violation
//! record, the pilot models of a commune, a commune's awareness, plan or
//! health in a year, a unit's workers reached in a year — *contributes* a
//! few signed counts. When an event changes an entity, [`crate::state`]
//! computes the entity's contribution before and after the change and adds
//! the difference. The index is therefore a function of the projections
//! alone (and of the history's merge tables, which say which old communes
//! a commune of today was made of: docs/KPI.md, "Merged communes"):
//! [`KpiIndex::build`] from the projections must equal the index kept
//! incrementally, which the property test and `reconcile projections` check.
//!
//! Two kinds of counter:
//! - `at[(unit, period, slot)]`: a count in that period (years, and every
//!   period for clients);
//! - `since[(unit, slot, year)]`: a change from that year on, for what stays
//!   true for years (a business active, a commune with a pilot model); the
//!   count in year Y is the sum over years ≤ Y.
//!
//! Counts are kept at the entity's unit and every ancestor (clients: at the
//! distinct units of their need, see [`Slot::expands`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sync178_shared::period::Period;
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::topology::Topology;
use sync178_shared::unit::{Level, UnitId};

use crate::state::{Business, BusinessView, Day, Places, Projections, month_of, year_of};

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Slot {
    /// Conditional businesses active (`since`).
    Active,
    /// Workers of the conditional businesses active (`since`).
    ActiveWorkers,
    /// Communes with a pilot model running (`since`).
    PilotCommunes,
    /// Active conditional businesses inspected in the year.
    Inspected,
    /// Workers reached by inspections and awareness for business workers.
    WorkersReached,
    /// Communes with an awareness activity in the year.
    AwarenessCommunes,
    /// Communes with a plan for the year.
    PlanCommunes,
    /// Communes assessed healthy for the year (latest assessment).
    HealthyCommunes,
    /// Tip-offs first received in the year.
    TipsReceived,
    /// Of those, closed this many days after they were received.
    TipClosedAfter(i32),
    /// Violation records first recorded in the year.
    Violations,
    /// Of those, decided by a penalty or a referral.
    ViolationsHandled,
    /// Distinct clients with a need in the period.
    ClientsInNeed,
    /// Of those, served in the same period and subtree.
    ClientsServed,
}

impl Slot {
    /// Whether a contribution counts at the unit and every ancestor. Client
    /// contributions are computed per unit already: a client is counted
    /// once in a district even with needs in two of its communes.
    pub fn expands(self) -> bool {
        !matches!(self, Slot::ClientsInNeed | Slot::ClientsServed)
    }
}

/// One counter's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// A count in a period.
    At(UnitId, Period, Slot),
    /// A change from a year on.
    Since(UnitId, Slot, i32),
}

impl Key {
    fn slot(self) -> Slot {
        match self {
            Key::At(_, _, s) | Key::Since(_, s, _) => s,
        }
    }
    fn with_unit(self, u: UnitId) -> Key {
        match self {
            Key::At(_, p, s) => Key::At(u, p, s),
            Key::Since(_, s, y) => Key::Since(u, s, y),
        }
    }
    fn unit(self) -> UnitId {
        match self {
            Key::At(u, ..) | Key::Since(u, ..) => u,
        }
    }
}

/// A registry entity whose contribution an event may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entity<'a> {
    /// A business: its activity and its inspections.
    Business(&'a str),
    /// A business's inspections in one year (its activity unchanged).
    Inspected(&'a str, i32),
    /// A tip-off.
    Tip(&'a str),
    /// A violation record.
    Violation(&'a str),
    /// A client, in the periods containing a month index.
    Client(&'a str, i32),
    /// The pilot models of a unit.
    Pilots(UnitId),
    /// A unit's awareness activities in a year.
    Awareness(UnitId, i32),
    /// A unit's plan for a year.
    Plan(UnitId, i32),
    /// A unit's healthy-commune assessments for a year.
    Healthy(UnitId, i32),
    /// A unit's workers reached in a year.
    WorkersReached(UnitId, i32),
}

/// The entities an event of `kind` at `unit` on `day` changes, as the
/// projections stand *before* it is applied.
pub fn touched<'a>(proj: &Projections, kind: &'a Kind, unit: UnitId, day: Day) -> Vec<Entity<'a>> {
    let year = year_of(day);
    match kind {
        Kind::BusinessRegistered(b) => vec![Entity::Business(&b.business_id)],
        Kind::BusinessUpdated(b) => vec![Entity::Business(&b.business_id)],
        Kind::BusinessClosed(b) => vec![Entity::Business(&b.business_id)],
        Kind::InspectionConducted(i) => vec![
            Entity::Inspected(&i.business_id, year),
            Entity::WorkersReached(unit, year),
        ],
        Kind::ViolationRecorded(v) => vec![Entity::Violation(&v.record_no)],
        Kind::PenaltyDecided(p) => vec![Entity::Violation(&p.record_no)],
        Kind::CaseReferred(r) => vec![Entity::Violation(&r.record_no)],
        Kind::TipReceived(t) => vec![Entity::Tip(&t.tip_id)],
        Kind::TipVerified(t) => vec![Entity::Tip(&t.tip_id)],
        Kind::TipClosed(t) => vec![Entity::Tip(&t.tip_id)],
        Kind::AwarenessActivityHeld(_) => vec![
            Entity::Awareness(unit, year),
            Entity::WorkersReached(unit, year),
        ],
        Kind::ClientNeedAssessed(c) => {
            vec![Entity::Client(&c.client_ref, month_of(day))]
        }
        Kind::SupportServiceProvided(s) => {
            vec![Entity::Client(&s.client_ref, month_of(day))]
        }
        Kind::PlanAdopted(p) => vec![Entity::Plan(unit, p.year as i32)],
        Kind::HealthyCommuneAssessed(h) => vec![Entity::Healthy(unit, h.year as i32)],
        Kind::PilotModelStarted(p) => pilot_units(proj, &p.model_id, Some(unit)),
        Kind::PilotModelEnded(p) => pilot_units(proj, &p.model_id, None),
        Kind::TargetSet(_)
        | Kind::VolunteerTeamReported(_)
        | Kind::TrainingHeld(_)
        | Kind::HotspotIdentified(_)
        | Kind::HotspotCleared(_)
        | Kind::EventVoided(_)
        | Kind::EventCorrected(_) => vec![],
    }
}

/// Every unit a pilot model was started at, and `also`.
fn pilot_units<'a>(proj: &Projections, model: &str, also: Option<UnitId>) -> Vec<Entity<'a>> {
    let mut units: BTreeSet<UnitId> = proj
        .pilots
        .get(model)
        .map(|p| p.started.iter().map(|s| s.1).collect())
        .unwrap_or_default();
    units.extend(also);
    units.into_iter().map(Entity::Pilots).collect()
}

/// A contribution: counters and signed amounts, at the entity's own unit
/// for slots that expand.
pub type Contribution = Vec<(Key, i64)>;

/// The contribution of `entities` as the projections stand, units read by
/// `places` (whose history says which communes a merged one was made of).
pub fn contribution(
    proj: &Projections,
    places: Places<'_>,
    entities: &[Entity<'_>],
) -> Contribution {
    let topo = places.topology();
    let mut out = Vec::new();
    for e in entities {
        match *e {
            Entity::Business(id) => business(proj, id, &mut out),
            Entity::Inspected(id, year) => {
                if let Some(v) = proj.businesses.get(id).and_then(Business::view)
                    && v.conditional
                {
                    inspected(proj, id, &v, Some(year), &mut out);
                }
            }
            Entity::Tip(id) => tip(proj, id, &mut out),
            Entity::Violation(id) => violation(proj, id, &mut out),
            Entity::Client(id, month) => client(proj, topo, id, Some(month), &mut out),
            Entity::Pilots(u) => pilots(proj, u, &mut out),
            Entity::Awareness(u, y) => {
                let n = proj.awareness.get(&(u, y)).copied().unwrap_or(0);
                commune_flag(u, y, n > 0, Slot::AwarenessCommunes, &mut out);
            }
            Entity::Plan(u, y) => {
                let on = proj
                    .plans
                    .get(&(u, y))
                    .is_some_and(|v| crate::state::has_plan(v, u, &places.parts(u, y)));
                commune_flag(u, y, on, Slot::PlanCommunes, &mut out);
            }
            Entity::Healthy(u, y) => {
                let healthy = proj
                    .healthy
                    .get(&(u, y))
                    .is_some_and(|v| crate::state::is_healthy(v, u, &places.parts(u, y)));
                commune_flag(u, y, healthy, Slot::HealthyCommunes, &mut out);
            }
            Entity::WorkersReached(u, y) => {
                let n = proj.workers_reached.get(&(u, y)).copied().unwrap_or(0);
                if n != 0 {
                    out.push((
                        Key::At(u, Period::Year { year: y }, Slot::WorkersReached),
                        n,
                    ));
                }
            }
        }
    }
    out
}

fn commune_flag(u: UnitId, year: i32, on: bool, slot: Slot, out: &mut Contribution) {
    if on && u.level() == Level::Commune {
        out.push((Key::At(u, Period::Year { year }, slot), 1));
    }
}

/// `[from, to]` years as `since` changes: +n from `from`, −n after `to`.
fn span(u: UnitId, slot: Slot, from: i32, to: Option<i32>, n: i64, out: &mut Contribution) {
    if n == 0 || to.is_some_and(|t| t < from) {
        return;
    }
    out.push((Key::Since(u, slot, from), n));
    if let Some(t) = to {
        out.push((Key::Since(u, slot, t + 1), -n));
    }
}

fn business(proj: &Projections, id: &str, out: &mut Contribution) {
    let Some(v) = proj.businesses.get(id).and_then(Business::view) else {
        return;
    };
    if !v.conditional {
        return;
    }
    let (from, to) = (year_of(v.registered), v.closed.map(year_of));
    span(v.unit, Slot::Active, from, to, 1, out);
    let workers = i64::from(v.workers);
    span(v.unit, Slot::ActiveWorkers, from, to, workers, out);
    inspected(proj, id, &v, None, out);
}

/// +1 for each year (or only `year`) the conditional business `v` was
/// active and inspected in.
fn inspected(
    proj: &Projections,
    id: &str,
    v: &BusinessView,
    year: Option<i32>,
    out: &mut Contribution,
) {
    let Some(years) = proj.inspected.get(id) else {
        return;
    };
    for (y, n) in years {
        if *n > 0 && year.is_none_or(|w| w == *y) && Business::active_in(v, *y) {
            out.push((
                Key::At(v.unit, Period::Year { year: *y }, Slot::Inspected),
                1,
            ));
        }
    }
}

fn tip(proj: &Projections, id: &str, out: &mut Contribution) {
    let Some(t) = proj.tips.get(id) else { return };
    let Some(&(_, u, received)) = t.received.iter().min_by_key(|r| (r.2, r.0)) else {
        return;
    };
    let p = Period::Year {
        year: year_of(received),
    };
    out.push((Key::At(u, p, Slot::TipsReceived), 1));
    if let Some(closed) = t.closed.iter().map(|c| c.1).min() {
        out.push((Key::At(u, p, Slot::TipClosedAfter(closed - received)), 1));
    }
}

fn violation(proj: &Projections, id: &str, out: &mut Contribution) {
    let Some(v) = proj.violations.get(id) else {
        return;
    };
    let Some(&(_, u, d)) = v.recorded.iter().min_by_key(|r| (r.2, r.0)) else {
        return;
    };
    let p = Period::Year { year: year_of(d) };
    out.push((Key::At(u, p, Slot::Violations), 1));
    if !v.handled.is_empty() {
        out.push((Key::At(u, p, Slot::ViolationsHandled), 1));
    }
}

/// The periods containing month index `m`.
fn periods_of_month(m: i32) -> [Period; 4] {
    let first = time::Date::from_calendar_date(
        m.div_euclid(12),
        time::Month::January.nth_next(m.rem_euclid(12) as u8),
        1,
    )
    .unwrap_or(time::Date::MIN);
    Period::containing(first)
}

/// A client's contribution: for every period (containing `month`, if
/// given), +1 in need at each distinct unit with a need in it, and +1 served
/// where a service was also received in the same period and subtree.
fn client(
    proj: &Projections,
    topo: &Topology,
    id: &str,
    month: Option<i32>,
    out: &mut Contribution,
) {
    let Some(c) = proj.clients.get(id) else {
        return;
    };
    let only = month.map(periods_of_month);
    let reach = |m: &BTreeMap<(UnitId, i32), i64>| {
        let mut set: BTreeSet<(Period, UnitId)> = BTreeSet::new();
        for ((u, month), n) in m {
            if *n <= 0 {
                continue;
            }
            for p in periods_of_month(*month) {
                if only.is_some_and(|o| !o.contains(&p)) {
                    continue;
                }
                for a in std::iter::once(*u).chain(topo.ancestors(*u)) {
                    set.insert((p, a));
                }
            }
        }
        set
    };
    let needs = reach(&c.needs);
    if needs.is_empty() {
        return;
    }
    let served = reach(&c.services);
    for (p, u) in needs {
        out.push((Key::At(u, p, Slot::ClientsInNeed), 1));
        if served.contains(&(p, u)) {
            out.push((Key::At(u, p, Slot::ClientsServed), 1));
        }
    }
}

/// The years a commune has a pilot model running, as `since` changes of the
/// union of its models' spans.
fn pilots(proj: &Projections, commune: UnitId, out: &mut Contribution) {
    if commune.level() != Level::Commune {
        return;
    }
    // Each model counts where and when it was first started, until it first ended.
    let mut spans: Vec<(i32, Option<i32>)> = proj
        .pilots
        .values()
        .filter_map(|m| {
            let &(_, u, start) = m.started.iter().min_by_key(|s| (s.2, s.0))?;
            let end = m.ended.iter().map(|e| e.1).min().map(year_of);
            let from = year_of(start);
            (u == commune && end.is_none_or(|e| e >= from)).then_some((from, end))
        })
        .collect();
    spans.sort_unstable();
    let mut run: Option<(i32, Option<i32>)> = None;
    for (from, to) in spans {
        run = match run {
            // Overlapping or adjacent: extend the run.
            Some((a, b)) if b.is_none_or(|b| from <= b + 1) => {
                Some((a, b.zip(to).map(|(b, t)| b.max(t))))
            }
            Some((a, b)) => {
                span(commune, Slot::PilotCommunes, a, b, 1, out);
                Some((from, to))
            }
            None => Some((from, to)),
        };
    }
    if let Some((a, b)) = run {
        span(commune, Slot::PilotCommunes, a, b, 1, out);
    }
}

/// The counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiIndex {
    /// Counts in a period.
    at: BTreeMap<(UnitId, Period, Slot), i64>,
    /// Changes from a year on.
    since: BTreeMap<(UnitId, Slot, i32), i64>,
}

impl KpiIndex {
    /// The index of `proj`, built from scratch, units read by `places`.
    pub fn build<'a>(proj: &Projections, places: impl Into<Places<'a>>) -> KpiIndex {
        let places = places.into();
        let topo = places.topology();
        let mut c = Contribution::new();
        for id in proj.businesses.keys() {
            business(proj, id, &mut c);
        }
        for id in proj.tips.keys() {
            tip(proj, id, &mut c);
        }
        for id in proj.violations.keys() {
            violation(proj, id, &mut c);
        }
        for id in proj.clients.keys() {
            client(proj, topo, id, None, &mut c);
        }
        let pilot_units: BTreeSet<UnitId> = proj
            .pilots
            .values()
            .flat_map(|m| m.started.iter().map(|s| s.1))
            .collect();
        for u in pilot_units {
            pilots(proj, u, &mut c);
        }
        for (&(u, y), n) in &proj.awareness {
            commune_flag(u, y, *n > 0, Slot::AwarenessCommunes, &mut c);
        }
        for &(u, y) in proj.plans.keys() {
            c.extend(contribution(proj, places, &[Entity::Plan(u, y)]));
        }
        for &(u, y) in proj.healthy.keys() {
            c.extend(contribution(proj, places, &[Entity::Healthy(u, y)]));
        }
        for &(u, y) in proj.workers_reached.keys() {
            c.extend(contribution(proj, places, &[Entity::WorkersReached(u, y)]));
        }
        let mut index = KpiIndex::default();
        index.change(topo, Vec::new(), c);
        index
    }

    /// Replaces contribution `before` by `after`.
    pub fn change(&mut self, topo: &Topology, before: Contribution, after: Contribution) {
        if before == after {
            return;
        }
        let mut net: Vec<(Key, i64)> = before
            .into_iter()
            .map(|(k, n)| (k, -n))
            .chain(after)
            .collect();
        net.sort_unstable_by_key(|(k, _)| *k);
        let mut i = 0;
        while i < net.len() {
            let key = net[i].0;
            let mut n = 0;
            while i < net.len() && net[i].0 == key {
                n += net[i].1;
                i += 1;
            }
            if n == 0 {
                continue;
            }
            let base = key.unit();
            if key.slot().expands() {
                for u in std::iter::once(base).chain(topo.ancestors(base)) {
                    self.add(key.with_unit(u), n);
                }
            } else {
                self.add(key, n);
            }
        }
    }

    fn add(&mut self, key: Key, n: i64) {
        fn bump<K: Ord + Copy>(m: &mut BTreeMap<K, i64>, k: K, n: i64) {
            let v = m.entry(k).or_default();
            *v += n;
            if *v == 0 {
                // An emptied counter leaves no key, so the kept index equals a fresh build.
                m.remove(&k);
            }
        }
        match key {
            Key::At(u, p, s) => bump(&mut self.at, (u, p, s), n),
            Key::Since(u, s, y) => bump(&mut self.since, (u, s, y), n),
        }
    }

    /// The count of `slot` at `unit` in `period`.
    pub fn at(&self, unit: UnitId, period: Period, slot: Slot) -> i64 {
        self.at.get(&(unit, period, slot)).copied().unwrap_or(0)
    }

    /// The count of a `since` slot at `unit` in `year`.
    pub fn in_year(&self, unit: UnitId, slot: Slot, year: i32) -> i64 {
        self.since
            .range((unit, slot, i32::MIN)..=(unit, slot, year))
            .map(|(_, n)| n)
            .sum()
    }

    /// Tip-offs received at `unit` in `year` and closed within `days`.
    pub fn tips_closed_within(&self, unit: UnitId, year: i32, days: i32) -> i64 {
        let p = Period::Year { year };
        self.at
            .range(
                (unit, p, Slot::TipClosedAfter(i32::MIN))..=(unit, p, Slot::TipClosedAfter(days)),
            )
            .map(|(_, n)| n)
            .sum()
    }
}
