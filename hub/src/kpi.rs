//! The KPIs defined in docs/KPI.md for a unit and year, against the nearest target.
//!
//! Attribution: an event counts for the period of its `occurred_on` and for
//! its `unit` and every ancestor (the exceptions, and every KPI's exact
//! definition, in docs/KPI.md). Denominators come from the registry and the
//! topology (communes in the unit), never from counting events alone. A KPI
//! whose denominator is 0 has no value.
//!
//! [`compute`] reads the counters of [`crate::index`], kept current on
//! apply; [`scan`] computes the same figures from the registries and is the
//! reference the index is tested against.

use sync178_shared::period::Period;
use sync178_shared::proto::v1::Kpi;
use sync178_shared::topology::Topology;
use sync178_shared::unit::{Level, UnitId};

use crate::index::Slot;
use crate::state::{Business, Places, State, month_of, year_of};

/// Person-based counts below this are shown as "<5" to operators.
pub const SUPPRESS_BELOW: u64 = 5;

/// Every KPI, in report order.
pub const ALL: [Kpi; 9] = [
    Kpi::InspectionCoverage,
    Kpi::CommunesWithAwareness,
    Kpi::CommunesWithPlan,
    Kpi::TipoffsOnTime,
    Kpi::ServiceAccess,
    Kpi::PilotModelCoverage,
    Kpi::WorkersReached,
    Kpi::HealthyCommunes,
    Kpi::ViolationsHandled,
];

/// One KPI's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiFigure {
    /// Which KPI.
    pub kpi: Kpi,
    /// Numerator.
    pub numerator: u64,
    /// Denominator.
    pub denominator: u64,
    /// The target in basis points and the unit that set it.
    pub target: Option<(u32, UnitId)>,
}

impl KpiFigure {
    /// The value in basis points (rounded down), or None when the denominator is 0.
    pub fn value_bp(&self) -> Option<u32> {
        (self.denominator > 0).then(|| {
            u32::try_from(self.numerator.saturating_mul(10_000) / self.denominator)
                .unwrap_or(u32::MAX)
        })
    }

    /// Met: value ≥ target, compared exactly (numerator·10000 ≥ target·denominator).
    pub fn met(&self) -> Option<bool> {
        let (t, _) = self.target?;
        (self.denominator > 0).then(|| self.numerator * 10_000 >= u64::from(t) * self.denominator)
    }

    /// Counts persons (clients).
    pub fn person_based(&self) -> bool {
        self.kpi == Kpi::ServiceAccess
    }

    /// Hidden from operators unless they ask: person-based and a count below 5.
    pub fn suppressed(&self) -> bool {
        self.person_based()
            && ((self.numerator > 0 && self.numerator < SUPPRESS_BELOW)
                || (self.denominator > 0 && self.denominator < SUPPRESS_BELOW))
    }
}

/// Stable lowercase name of a KPI ("inspection_coverage").
pub fn name(k: Kpi) -> String {
    k.as_str_name().trim_start_matches("KPI_").to_lowercase()
}

/// The communes of `unit`'s subtree.
pub fn communes(topo: &Topology, unit: UnitId) -> Vec<UnitId> {
    topo.subtree(unit)
        .into_iter()
        .filter(|u| u.level() == Level::Commune)
        .collect()
}

/// Every KPI for `unit` and `year`, from the KPI index: a few lookups each.
pub fn compute(
    state: &State,
    topo: &Topology,
    unit: UnitId,
    year: i32,
    deadline_days: i32,
) -> Vec<KpiFigure> {
    let ix = &state.index;
    let y = Period::Year { year };
    let at = |slot| u64::try_from(ix.at(unit, y, slot)).unwrap_or(0);
    let since = |slot| u64::try_from(ix.in_year(unit, slot, year)).unwrap_or(0);
    let communes = topo.communes_under(unit) as u64;
    ALL.iter()
        .map(|&kpi| {
            let (numerator, denominator) = match kpi {
                Kpi::InspectionCoverage => (at(Slot::Inspected), since(Slot::Active)),
                Kpi::CommunesWithAwareness => (at(Slot::AwarenessCommunes), communes),
                Kpi::CommunesWithPlan => (at(Slot::PlanCommunes), communes),
                Kpi::TipoffsOnTime => (
                    u64::try_from(ix.tips_closed_within(unit, year, deadline_days)).unwrap_or(0),
                    at(Slot::TipsReceived),
                ),
                Kpi::ServiceAccess => (at(Slot::ClientsServed), at(Slot::ClientsInNeed)),
                Kpi::PilotModelCoverage => (since(Slot::PilotCommunes), communes),
                Kpi::WorkersReached => (at(Slot::WorkersReached), since(Slot::ActiveWorkers)),
                Kpi::HealthyCommunes => (at(Slot::HealthyCommunes), communes),
                Kpi::ViolationsHandled => (at(Slot::ViolationsHandled), at(Slot::Violations)),
                Kpi::Unspecified => (0, 0),
            };
            figure(state, topo, unit, year, kpi, numerator, denominator)
        })
        .collect()
}

/// Distinct clients with a need, and of those served, in `period` under
/// `unit`, from the KPI index.
pub fn clients(state: &State, unit: UnitId, period: Period) -> (u64, u64) {
    let n = |slot| u64::try_from(state.index.at(unit, period, slot)).unwrap_or(0);
    (n(Slot::ClientsInNeed), n(Slot::ClientsServed))
}

/// The KPIs and client counts computed by scanning the registries, as
/// docs/KPI.md defines them. Slow (every business, tip-off and client each time);
/// kept as the reference the KPI index is tested and reconciled against.
pub mod scan {
    use super::*;

    /// What several KPIs of one (unit, year) share, computed once per request.
    struct Prepass<'a> {
        communes: Vec<UnitId>,
        /// Conditional businesses of the subtree active during the year: id, workers.
        active: Vec<(&'a String, u32)>,
    }

    fn prepass<'a>(state: &'a State, topo: &Topology, unit: UnitId, year: i32) -> Prepass<'a> {
        Prepass {
            communes: communes(topo, unit),
            active: state
                .proj
                .businesses
                .iter()
                .filter_map(|(id, b)| {
                    let v = b.view()?;
                    (v.conditional && topo.is_within(v.unit, unit) && Business::active_in(&v, year))
                        .then_some((id, v.workers))
                })
                .collect(),
        }
    }

    /// Every KPI for `unit` and `year`, units read by `places` (a bare
    /// topology, or a history: which communes a merged one was made of).
    pub fn compute<'a>(
        state: &State,
        places: impl Into<Places<'a>>,
        unit: UnitId,
        year: i32,
        deadline_days: i32,
    ) -> Vec<KpiFigure> {
        let places = places.into();
        let pre = prepass(state, places.topology(), unit, year);
        ALL.iter()
            .map(|k| compute_with(state, places, unit, year, deadline_days, *k, &pre))
            .collect()
    }

    fn count(it: impl Iterator<Item = bool>) -> (u64, u64) {
        it.fold((0, 0), |(n, d), hit| (n + u64::from(hit), d + 1))
    }

    #[allow(clippy::too_many_arguments)]
    fn compute_with(
        state: &State,
        places: Places<'_>,
        unit: UnitId,
        year: i32,
        deadline_days: i32,
        kpi: Kpi,
        pre: &Prepass<'_>,
    ) -> KpiFigure {
        let topo = places.topology();
        let p = &state.proj;
        let within = |u: UnitId| topo.is_within(u, unit);
        let cs = || pre.communes.iter().copied();
        let positive = |v: Option<&i64>| v.is_some_and(|n| *n > 0);
        let (numerator, denominator) = match kpi {
            Kpi::InspectionCoverage => count(
                pre.active
                    .iter()
                    .map(|(id, _)| positive(p.inspected.get(*id).and_then(|m| m.get(&year)))),
            ),
            Kpi::CommunesWithAwareness => {
                count(cs().map(|c| positive(p.awareness.get(&(c, year)))))
            }
            Kpi::CommunesWithPlan => count(cs().map(|c| {
                p.plans
                    .get(&(c, year))
                    .is_some_and(|v| crate::state::has_plan(v, c, &places.parts(c, year)))
            })),
            Kpi::TipoffsOnTime => count(p.tips.values().filter_map(|t| {
                let (_, u, received) = *t.received.iter().min_by_key(|r| (r.2, r.0))?;
                if !within(u) || year_of(received) != year {
                    return None;
                }
                let closed = t.closed.iter().map(|c| c.1).min();
                Some(closed.is_some_and(|c| c - received <= deadline_days))
            })),
            Kpi::ServiceAccess => count(p.clients.values().filter_map(|c| {
                let in_year = |m: &(UnitId, i32)| within(m.0) && m.1.div_euclid(12) == year;
                let needed = c.needs.iter().any(|(m, n)| *n > 0 && in_year(m));
                needed.then(|| c.services.iter().any(|(m, n)| *n > 0 && in_year(m)))
            })),
            Kpi::PilotModelCoverage => {
                let with_pilot: std::collections::HashSet<UnitId> = p
                    .pilots
                    .values()
                    .filter_map(|m| {
                        let (_, u, start) = *m.started.iter().min_by_key(|s| (s.2, s.0))?;
                        let end = m.ended.iter().map(|e| e.1).min();
                        (year_of(start) <= year && end.is_none_or(|e| year_of(e) >= year))
                            .then_some(u)
                    })
                    .collect();
                count(cs().map(|c| with_pilot.contains(&c)))
            }
            Kpi::WorkersReached => {
                let reached: i64 = p
                    .workers_reached
                    .iter()
                    .filter(|((u, y), _)| *y == year && within(*u))
                    .map(|(_, n)| *n)
                    .sum();
                let workers: u64 = pre.active.iter().map(|(_, w)| u64::from(*w)).sum();
                (u64::try_from(reached).unwrap_or(0), workers)
            }
            Kpi::HealthyCommunes => count(cs().map(|c| {
                p.healthy
                    .get(&(c, year))
                    .is_some_and(|v| crate::state::is_healthy(v, c, &places.parts(c, year)))
            })),
            Kpi::ViolationsHandled => count(p.violations.values().filter_map(|v| {
                let (_, u, d) = *v.recorded.iter().min_by_key(|r| (r.2, r.0))?;
                (within(u) && year_of(d) == year).then_some(!v.handled.is_empty())
            })),
            Kpi::Unspecified => (0, 0),
        };
        figure(state, topo, unit, year, kpi, numerator, denominator)
    }

    /// Distinct clients with a need, and of those served, in the months `[from, to]` under `unit`.
    pub fn clients(
        state: &State,
        topo: &Topology,
        unit: UnitId,
        from_month: i32,
        to_month: i32,
    ) -> (u64, u64) {
        let mut in_need = 0;
        let mut served = 0;
        for c in state.proj.clients.values() {
            let hit = |m: &(UnitId, i32), n: &i64| {
                *n > 0 && m.1 >= from_month && m.1 <= to_month && topo.is_within(m.0, unit)
            };
            if c.needs.iter().any(|(m, n)| hit(m, n)) {
                in_need += 1;
                if c.services.iter().any(|(m, n)| hit(m, n)) {
                    served += 1;
                }
            }
        }
        (in_need, served)
    }
}

/// A KPI's figures with the target that applies to `unit`.
fn figure(
    state: &State,
    topo: &Topology,
    unit: UnitId,
    year: i32,
    kpi: Kpi,
    numerator: u64,
    denominator: u64,
) -> KpiFigure {
    KpiFigure {
        kpi,
        numerator,
        denominator,
        target: target(state, topo, unit, year, kpi),
    }
}

/// The target for `unit`: the nearest TargetSet on the path to the root; at
/// one unit the latest recorded wins.
pub fn target(
    state: &State,
    topo: &Topology,
    unit: UnitId,
    year: i32,
    kpi: Kpi,
) -> Option<(u32, UnitId)> {
    std::iter::once(unit)
        .chain(topo.ancestors(unit))
        .find_map(|u| {
            state
                .proj
                .targets
                .get(&(u, year, kpi as i32))
                .and_then(|v| v.iter().max_by_key(|(at, key, _)| (*at, *key)))
                .map(|(_, _, bp)| (*bp, u))
        })
}

/// Month index of a date, re-exported for queries.
pub fn month_index(d: sync178_shared::period::Date) -> i32 {
    month_of(crate::state::day(d))
}
