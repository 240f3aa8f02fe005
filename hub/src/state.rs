//! The projection state: roll-ups per (unit, period), registries and
//! per-entity counts, built by applying events in feed order.
//!
//! Every contribution of an event is either a signed count or an entry keyed
//! by the event's (origin, seq), so a void or a correction takes back exactly
//! what its target contributed and a replay gives the same state. Sync
//! health (when each origin's events were received) is kept apart from the
//! projections and out of the digest, since a replay receives them later.

use std::collections::BTreeMap;

use prost::Message;
use serde::{Deserialize, Serialize};
use sync178_shared::history::History;
use sync178_shared::period::{Date, Period, parse_date};
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::{
    Audience, AwarenessForm, Body, Event, InspectionMode, ServiceKind, ViolationAct,
};
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;
use sync178_shared::validate::CURRENT_SCHEMA;

use crate::index::{self, KpiIndex};

/// An event's place in its origin's chain: the key of its contributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EvKey {
    /// Recording unit.
    pub origin: UnitId,
    /// Seq in its chain.
    pub seq: u64,
}

/// Whether `commune` was healthy in a year, from the assessments kept for
/// it (`docs/KPI.md`, "Healthy communes" and "Merged communes"): its own
/// latest assessment (greatest `recorded_at`, then key) decides; with none
/// of its own (by today's structure, a year before the commune existed) it
/// was healthy only if every one of its `parts` was assessed and its latest
/// assessment says healthy. A part not assessed makes it not healthy.
pub fn is_healthy(assessments: &[Assessment], commune: UnitId, parts: &[UnitId]) -> bool {
    let healthy = sync178_shared::proto::v1::HealthyClass::Healthy as i32;
    let latest = |u: UnitId| {
        assessments
            .iter()
            .filter(|a| a.2 == u)
            .max_by_key(|a| (a.0, a.1))
            .map(|a| a.3 == healthy)
    };
    if let Some(own) = latest(commune) {
        return own;
    }
    !parts.is_empty() && parts.iter().all(|p| latest(*p) == Some(true))
}

/// Whether `commune` had a plan for a year (`docs/KPI.md`, "Communes with
/// a plan" and "Merged communes"): a plan recorded for the commune itself;
/// with none of its own, a plan recorded for every one of its `parts`.
pub fn has_plan(plans: &[PlanEntry], commune: UnitId, parts: &[UnitId]) -> bool {
    let of = |u: UnitId| plans.iter().any(|p| p.1 == u);
    of(commune) || (!parts.is_empty() && parts.iter().all(|p| of(*p)))
}

/// A day as its Julian day number (compact and ordered).
pub type Day = i32;

/// The day number of `d`.
pub fn day(d: Date) -> Day {
    d.to_julian_day()
}

/// The date of day number `n`.
pub fn date_of(n: Day) -> Option<Date> {
    Date::from_julian_day(n).ok()
}

pub fn year_of(n: Day) -> i32 {
    date_of(n).map_or(0, |d| d.year())
}

/// Month index `year * 12 + month - 1` of a day.
pub fn month_of(n: Day) -> i32 {
    date_of(n).map_or(0, |d| d.year() * 12 + i32::from(u8::from(d.month())) - 1)
}

/// The index of base metric `$name`, resolved at compile time (a name that
/// is not a metric does not compile).
macro_rules! m {
    ($name:literal) => {
        const {
            match metric::find($name) {
                Some(i) => i,
                None => panic!(concat!("unknown metric ", $name)),
            }
        }
    };
}

/// The roll-up metrics kept per (unit, period), by index.
pub mod metric {
    /// Base metric names; enum breakdowns follow (see [`names`]).
    pub const BASE: &[&str] = &[
        "events",
        "inspections",
        "inspections.planned",
        "inspections.unannounced",
        "inspections.workers_reached",
        "violations",
        "penalties",
        "penalties.fines_vnd",
        "referrals",
        "tipoffs.received",
        "tipoffs.verified",
        "tipoffs.closed",
        "awareness.activities",
        "awareness.participants",
        "awareness.leaflets",
        "services.provided",
        "services.cost_vnd",
        "clients.assessments",
        "plans.adopted",
        "pilot_models.started",
        "pilot_models.ended",
        "trainings",
        "trainings.trainees",
        "volunteer_teams.reports",
        "volunteer_teams.members",
        "hotspots.identified",
        "hotspots.cleared",
        "businesses.registered",
        "businesses.closed",
        "healthy.assessments",
        "corrections",
    ];
    /// Index of a base metric (0, `events`, for an unknown name).
    pub const fn base(name: &str) -> usize {
        match find(name) {
            Some(i) => i,
            None => 0,
        }
    }
    /// Index of a base metric, if `name` is one. A `const fn`, so the apply
    /// path resolves (and checks) names at compile time.
    pub const fn find(name: &str) -> Option<usize> {
        let name = name.as_bytes();
        let mut i = 0;
        while i < BASE.len() {
            let n = BASE[i].as_bytes();
            if n.len() == name.len() {
                let mut j = 0;
                while j < n.len() && n[j] == name[j] {
                    j += 1;
                }
                if j == n.len() {
                    return Some(i);
                }
            }
            i += 1;
        }
        None
    }
    pub(crate) const ACTS: usize = 100;
    pub(crate) const FORMS: usize = 8;
    pub(crate) const AUDIENCES: usize = 7;
    pub(crate) const SERVICES: usize = 10;
    /// First index of violations by act (act value 0..100).
    pub fn act(v: i32) -> usize {
        BASE.len() + (v.clamp(0, ACTS as i32 - 1) as usize)
    }
    /// Awareness activities by form.
    pub fn form(v: i32) -> usize {
        BASE.len() + ACTS + (v.clamp(0, FORMS as i32 - 1) as usize)
    }
    /// Awareness participants by audience.
    pub fn audience(v: i32) -> usize {
        BASE.len() + ACTS + FORMS + (v.clamp(0, AUDIENCES as i32 - 1) as usize)
    }
    /// Services provided by kind.
    pub fn service(v: i32) -> usize {
        BASE.len() + ACTS + FORMS + AUDIENCES + (v.clamp(0, SERVICES as i32 - 1) as usize)
    }
    /// Number of metrics in a cell.
    pub const LEN: usize = BASE.len() + ACTS + FORMS + AUDIENCES + SERVICES;
}

/// Counters of one (unit, period).
pub type Cell = Vec<i64>;

/// A registration: key, unit, day, kind, conditional, workers.
pub type Registration = (EvKey, UnitId, Day, i32, bool, u32);
/// An update: key, day, kind (0 keeps), conditional, workers.
pub type Update = (EvKey, Day, i32, Option<bool>, Option<u32>);
/// A setting where the latest recorded wins: recorded_at, key, value.
pub type Setting<T> = (i64, EvKey, T);
/// A healthy-commune assessment: recorded_at, key, the commune as recorded
/// (by today's structure, possibly a predecessor of the commune it counts
/// for), classification.
pub type Assessment = (i64, EvKey, UnitId, i32);
/// A plan adopted: key, the unit as recorded (by today's structure, possibly
/// a predecessor of the unit it counts for).
pub type PlanEntry = (EvKey, UnitId);
/// What an event counts as: unit, day, body.
pub type Counted = (UnitId, Day, Body);

/// A business's registry entry, folded from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Business {
    /// Registrations (normally one): key, unit, day, kind, conditional, workers.
    pub registrations: Vec<Registration>,
    /// Updates: key, day, kind (0 keeps), conditional, workers.
    pub updates: Vec<Update>,
    /// Closures: key, day.
    pub closures: Vec<(EvKey, Day)>,
}

/// The effective view of a business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessView {
    /// Where it is.
    pub unit: UnitId,
    /// Kind.
    pub kind: i32,
    /// Conditional on security and order.
    pub conditional: bool,
    /// Latest worker count.
    pub workers: u32,
    /// First registration day.
    pub registered: Day,
    /// First closure day.
    pub closed: Option<Day>,
}

impl Business {
    /// The business as its events say, if it was registered.
    pub fn view(&self) -> Option<BusinessView> {
        let first = self.registrations.iter().min_by_key(|r| (r.2, r.0))?;
        let mut v = BusinessView {
            unit: first.1,
            kind: first.3,
            conditional: first.4,
            workers: first.5,
            registered: first.2,
            closed: self.closures.iter().map(|c| c.1).min(),
        };
        if self.updates.is_empty() {
            return Some(v);
        }
        let mut ups: Vec<_> = self.updates.iter().collect();
        ups.sort_by_key(|u| (u.1, u.0));
        for u in ups {
            if u.2 != 0 {
                v.kind = u.2;
            }
            if let Some(c) = u.3 {
                v.conditional = c;
            }
            if let Some(w) = u.4 {
                v.workers = w;
            }
        }
        Some(v)
    }

    /// Active during `year`: registered on or before 31/12 and not closed before 1/1.
    pub fn active_in(v: &BusinessView, year: i32) -> bool {
        year_of(v.registered) <= year && v.closed.is_none_or(|c| year_of(c) >= year)
    }
}

/// A tip-off's handling.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tip {
    /// Received: key, unit, day.
    pub received: Vec<(EvKey, UnitId, Day)>,
    /// Verified: key, day.
    pub verified: Vec<(EvKey, Day)>,
    /// Closed: key, day.
    pub closed: Vec<(EvKey, Day)>,
}

/// A client (pseudonymous), counted where the commune recorded them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Client {
    /// Assessments with a need, by unit and month.
    pub needs: BTreeMap<(UnitId, i32), i64>,
    /// Services received, by unit and month.
    pub services: BTreeMap<(UnitId, i32), i64>,
}

/// A pilot model's life.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pilot {
    /// Started: key, unit, day.
    pub started: Vec<(EvKey, UnitId, Day)>,
    /// Ended: key, day.
    pub ended: Vec<(EvKey, Day)>,
}

/// A violation record and how it was handled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// Recorded: key, unit, day.
    pub recorded: Vec<(EvKey, UnitId, Day)>,
    /// Penalties and referrals deciding on it.
    pub handled: Vec<EvKey>,
}

/// What a void or correction did to its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    /// The target's key.
    pub target: EvKey,
    /// The target counts for nothing.
    pub voided: bool,
    /// The target counts as this: unit, day, body (protobuf bytes).
    pub replacement: Option<(UnitId, Day, Vec<u8>)>,
}

/// The projections. Everything here is in the digest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Projections {
    /// Roll-ups for every unit on the path to the root and every period.
    pub cells: BTreeMap<(UnitId, Period), Cell>,
    /// Business registry.
    pub businesses: BTreeMap<String, Business>,
    /// Inspections per business and year.
    pub inspected: BTreeMap<String, BTreeMap<i32, i64>>,
    /// Workers reached (inspections and awareness for business workers) per (unit, year), at the event's unit only.
    pub workers_reached: BTreeMap<(UnitId, i32), i64>,
    /// Awareness activities per (unit, year), at the event's unit only.
    pub awareness: BTreeMap<(UnitId, i32), i64>,
    /// Plans adopted per (unit, plan year), with the unit each was recorded for.
    pub plans: BTreeMap<(UnitId, i32), Vec<PlanEntry>>,
    /// Tip-offs.
    pub tips: BTreeMap<String, Tip>,
    /// Clients by `client_ref`.
    pub clients: BTreeMap<String, Client>,
    /// Pilot models.
    pub pilots: BTreeMap<String, Pilot>,
    /// Healthy-commune assessments per (commune, year): recorded_at, key,
    /// commune as recorded, class.
    pub healthy: BTreeMap<(UnitId, i32), Vec<Assessment>>,
    /// Targets per (unit, year, kpi): recorded_at, key, target in bp.
    pub targets: BTreeMap<(UnitId, i32, i32), Vec<Setting<u32>>>,
    /// Violation records by record number.
    pub violations: BTreeMap<String, Violation>,
    /// Hotspots open: id → (key, unit) of identification, cleared flag count.
    pub hotspots: BTreeMap<String, (Vec<(EvKey, UnitId)>, i64)>,
    /// Voids and corrections by target id.
    pub overrides: BTreeMap<Vec<u8>, Override>,
}

/// Per origin: what the hub has received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginSeen {
    /// Last seq applied.
    pub last_seq: u64,
    /// Its recorded_at.
    pub last_recorded_at: i64,
    /// When the hub applied it.
    pub last_received_at: i64,
}

/// The whole hub state, persisted with its checkpoint in one value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Next feed position to apply.
    pub checkpoint: u64,
    /// The projections (digested).
    pub proj: Projections,
    /// Sync health per origin (not digested).
    pub origins: BTreeMap<UnitId, OriginSeen>,
    /// Events skipped, and why (not digested: counts of what was not applied).
    pub skipped: BTreeMap<String, u64>,
    /// KPI counters derived from the projections, kept on apply (digested
    /// as `kpi_index`, so a replay checks them too; tests also check them
    /// against [`KpiIndex::build`]).
    pub index: KpiIndex,
    /// The same events by today's structure (each event's unit replaced by
    /// its place in today's listing), kept when the history has more than
    /// one listing; `None` when today's structure is the only one.
    pub today: Option<Box<State>>,
    /// Fingerprint of the history the state was built with: a state built
    /// with other listings or merges is rebuilt from the feed.
    pub history: [u8; 32],
}

/// Which structure figures are read by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum View {
    /// By today's structure: records of units that merged count for the
    /// units that took their place ("theo địa giới hiện nay"). The default.
    #[default]
    Today,
    /// By the structure in force on the records' dates ("theo địa giới tại
    /// thời điểm báo cáo").
    AsRecorded,
}

/// How the units named in events are read: in the history's listing in
/// force on each event's date, and, for [`View::Today`], moved to their
/// place in today's structure. A bare topology reads ids as they are.
#[derive(Debug, Clone, Copy)]
pub struct Places<'a> {
    topo: &'a Topology,
    history: Option<&'a History>,
    view: View,
}

impl<'a> From<&'a Topology> for Places<'a> {
    fn from(topo: &'a Topology) -> Self {
        Places {
            topo,
            history: None,
            view: View::AsRecorded,
        }
    }
}

impl<'a> From<&'a History> for Places<'a> {
    fn from(history: &'a History) -> Self {
        Places {
            topo: history.topology(),
            history: Some(history),
            view: View::AsRecorded,
        }
    }
}

impl<'a> Places<'a> {
    /// The union of every listing's units.
    pub fn topology(&self) -> &'a Topology {
        self.topo
    }

    fn in_view(self, view: View) -> Self {
        Places { view, ..self }
    }

    /// The communes whose records decide a commune's status (plan, healthy)
    /// for `year` when it has no record of its own: itself when its listing
    /// was in force on 1 January of `year`, else its predecessors of the
    /// listing then in force (`docs/KPI.md`, "Merged communes"). A bare
    /// topology has one listing: the commune itself.
    pub fn parts(&self, commune: UnitId, year: i32) -> Vec<UnitId> {
        let Some(history) = self.history else {
            return vec![commune];
        };
        let Ok(jan1) = Date::from_calendar_date(year, time::Month::January, 1) else {
            return vec![commune];
        };
        let edition = history.in_force_on(jan1).edition();
        if commune.edition() == edition {
            return vec![commune];
        }
        history
            .predecessors(commune)
            .iter()
            .copied()
            .filter(|p| p.edition() == edition)
            .collect()
    }

    /// The unit as read in its own listing, the unit this view counts it
    /// for, and the day an event names.
    fn resolve_part(&self, unit: &str, occurred_on: &str) -> Result<(UnitId, UnitId, Day), Skip> {
        let (u, d) = self.resolve_in(unit, occurred_on, View::AsRecorded)?;
        let placed = match self.view {
            View::AsRecorded => u,
            View::Today => match self.history {
                None => u,
                Some(history) => history.place_today(u).ok_or_else(|| {
                    Skip::BadEnvelope(format!("unit {u} has no place in today's structure"))
                })?,
            },
        };
        Ok((u, placed, d))
    }

    /// The unit and day an event names, read as this view reads them.
    fn resolve(&self, unit: &str, occurred_on: &str) -> Result<(UnitId, Day), Skip> {
        self.resolve_in(unit, occurred_on, self.view)
    }

    /// The unit and day an event names, read as `view` reads them.
    fn resolve_in(&self, unit: &str, occurred_on: &str, view: View) -> Result<(UnitId, Day), Skip> {
        let d =
            parse_date(occurred_on).map_err(|e| Skip::BadEnvelope(format!("occurred_on: {e}")))?;
        let Some(history) = self.history else {
            let u: UnitId = unit
                .parse()
                .map_err(|e| Skip::BadEnvelope(format!("unit: {e}")))?;
            if !self.topo.contains(u) {
                return Err(Skip::BadEnvelope(format!(
                    "unit {u} is not in the topology"
                )));
            }
            return Ok((u, day(d)));
        };
        let u = history
            .read(unit, d)
            .map_err(|e| Skip::BadEnvelope(format!("unit: {e}")))?;
        let u = match view {
            View::AsRecorded => u,
            View::Today => history.place_today(u).ok_or_else(|| {
                Skip::BadEnvelope(format!("unit {u} has no place in today's structure"))
            })?,
        };
        Ok((u, day(d)))
    }
}

/// Why an event was skipped rather than applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// A newer schema than this build knows.
    #[error("newer schema {0}")]
    NewerSchema(u32),
    /// No body, or a body kind this build does not know.
    #[error("unknown body")]
    UnknownBody,
    /// Envelope fields unusable (unit, date, origin).
    #[error("bad envelope: {0}")]
    BadEnvelope(String),
    /// A void or correction whose target cannot be found or used.
    #[error("bad correction: {0}")]
    BadCorrection(String),
}

impl Skip {
    /// Short name for counting.
    pub fn label(&self) -> &'static str {
        match self {
            Skip::NewerSchema(_) => "newer_schema",
            Skip::UnknownBody => "unknown_body",
            Skip::BadEnvelope(_) => "bad_envelope",
            Skip::BadCorrection(_) => "bad_correction",
        }
    }
}

/// Looks up an event by (origin, seq) — the node's `Feed.Fetch`.
pub trait Fetch {
    /// The event, if the node holds it.
    fn fetch(&mut self, origin: UnitId, seq: u64) -> Option<Event>;
}

impl<F: FnMut(UnitId, u64) -> Option<Event>> Fetch for F {
    fn fetch(&mut self, origin: UnitId, seq: u64) -> Option<Event> {
        self(origin, seq)
    }
}

/// What an event counts as: where, when, and the body.
struct Fact<'a> {
    key: EvKey,
    /// The unit as read in its own listing (a predecessor of `unit` by
    /// today's structure). Only additions use it: what a void or
    /// correction takes back is found by `key`.
    part: UnitId,
    unit: UnitId,
    day: Day,
    recorded_at: i64,
    body: &'a Body,
}

impl State {
    /// An empty state for `history`: with a today's-structure view when the
    /// history has more than one listing.
    pub fn new(history: &History) -> State {
        State {
            today: (history.listings().len() > 1).then(Box::default),
            history: history.fingerprint(),
            ..State::default()
        }
    }

    /// Whether this state was built with `history` (else it is rebuilt).
    pub fn is_built_with(&self, history: &History) -> bool {
        self.history == history.fingerprint()
            && self.today.is_some() == (history.listings().len() > 1)
    }

    /// The figures of `view` (as recorded when there is only one structure).
    pub fn view(&self, view: View) -> &State {
        match (view, &self.today) {
            (View::Today, Some(today)) => today,
            _ => self,
        }
    }

    /// Applies the event at `position` (must be the checkpoint), in every
    /// view. Returns whether it was skipped, and why; either way the
    /// checkpoint moves on.
    pub fn apply<'a>(
        &mut self,
        places: impl Into<Places<'a>>,
        position: u64,
        ev: &Event,
        received_at: i64,
        fetch: &mut dyn Fetch,
    ) -> Result<(), Skip> {
        let places = places.into();
        if let Some(today) = &mut self.today {
            // Skips are the as-recorded view's to report: a unit that reads
            // there has a place today unless the merge table is broken.
            let _ = today.apply_view(
                places.in_view(View::Today),
                position,
                ev,
                received_at,
                fetch,
            );
        }
        self.apply_view(
            places.in_view(View::AsRecorded),
            position,
            ev,
            received_at,
            fetch,
        )
    }

    fn apply_view(
        &mut self,
        places: Places<'_>,
        position: u64,
        ev: &Event,
        received_at: i64,
        fetch: &mut dyn Fetch,
    ) -> Result<(), Skip> {
        debug_assert_eq!(position, self.checkpoint);
        self.checkpoint = position + 1;
        let r = self.apply_inner(places, ev, fetch);
        if let Ok(origin) = ev.origin.parse::<UnitId>() {
            let seen = self.origins.entry(origin).or_default();
            seen.last_seq = seen.last_seq.max(ev.seq);
            seen.last_recorded_at = seen.last_recorded_at.max(ev.recorded_at);
            seen.last_received_at = received_at;
        }
        if let Err(skip) = &r {
            *self.skipped.entry(skip.label().to_string()).or_default() += 1;
        }
        r
    }

    fn apply_inner(
        &mut self,
        places: Places<'_>,
        ev: &Event,
        fetch: &mut dyn Fetch,
    ) -> Result<(), Skip> {
        let topo = places.topology();
        if ev.schema > CURRENT_SCHEMA {
            return Err(Skip::NewerSchema(ev.schema));
        }
        let origin: UnitId = ev
            .origin
            .parse()
            .map_err(|e| Skip::BadEnvelope(format!("origin: {e}")))?;
        let key = EvKey {
            origin,
            seq: ev.seq,
        };
        let (part, unit, day) = places.resolve_part(&ev.unit, &ev.occurred_on)?;
        let body = ev
            .body
            .as_ref()
            .filter(|b| b.kind.is_some())
            .ok_or(Skip::UnknownBody)?;
        match &body.kind {
            Some(Kind::EventVoided(v)) => {
                let (target, current) =
                    self.current(places, origin, &v.target_id, v.target_seq, fetch)?;
                let Some((tu, td, tbody)) = current else {
                    return Err(Skip::BadCorrection("target already voided".into()));
                };
                self.contribute(
                    places,
                    &Fact {
                        key: target,
                        part: tu,
                        unit: tu,
                        day: td,
                        recorded_at: 0,
                        body: &tbody,
                    },
                    -1,
                );
                self.proj.overrides.insert(
                    v.target_id.clone(),
                    Override {
                        target,
                        voided: true,
                        replacement: None,
                    },
                );
                self.bump(topo, unit, day, &[(m!("corrections"), 1)]);
                Ok(())
            }
            Some(Kind::EventCorrected(c)) => {
                let (target, current) =
                    self.current(places, origin, &c.target_id, c.target_seq, fetch)?;
                let new_body = c
                    .body
                    .as_deref()
                    .filter(|b| b.kind.is_some())
                    .ok_or(Skip::UnknownBody)?;
                if matches!(
                    new_body.kind,
                    Some(Kind::EventVoided(_) | Kind::EventCorrected(_))
                ) {
                    return Err(Skip::BadCorrection(
                        "a replacement cannot be a void or correction".into(),
                    ));
                }
                let (npart, nu, nd) = places.resolve_part(&c.unit, &c.occurred_on)?;
                if let Some((tu, td, tbody)) = current {
                    self.contribute(
                        places,
                        &Fact {
                            key: target,
                            part: tu,
                            unit: tu,
                            day: td,
                            recorded_at: 0,
                            body: &tbody,
                        },
                        -1,
                    );
                }
                self.contribute(
                    places,
                    &Fact {
                        key: target,
                        part: npart,
                        unit: nu,
                        day: nd,
                        recorded_at: ev.recorded_at,
                        body: new_body,
                    },
                    1,
                );
                self.proj.overrides.insert(
                    c.target_id.clone(),
                    Override {
                        target,
                        voided: false,
                        replacement: Some((nu, nd, new_body.encode_to_vec())),
                    },
                );
                self.bump(topo, unit, day, &[(m!("corrections"), 1)]);
                Ok(())
            }
            _ => {
                self.contribute(
                    places,
                    &Fact {
                        key,
                        part,
                        unit,
                        day,
                        recorded_at: ev.recorded_at,
                        body,
                    },
                    1,
                );
                Ok(())
            }
        }
    }

    /// The target of a correction by `origin`, and what it counts as now
    /// (None when voided).
    fn current(
        &self,
        places: Places<'_>,
        origin: UnitId,
        target_id: &[u8],
        target_seq: u64,
        fetch: &mut dyn Fetch,
    ) -> Result<(EvKey, Option<Counted>), Skip> {
        if let Some(o) = self.proj.overrides.get(target_id) {
            if o.target.origin != origin {
                return Err(Skip::BadCorrection(
                    "target recorded by another origin".into(),
                ));
            }
            if o.voided {
                return Ok((o.target, None));
            }
            if let Some((u, d, bytes)) = &o.replacement {
                let body = Body::decode(bytes.as_slice())
                    .map_err(|e| Skip::BadCorrection(e.to_string()))?;
                return Ok((o.target, Some((*u, *d, body))));
            }
        }
        if target_seq == 0 {
            return Err(Skip::BadCorrection("target seq not given".into()));
        }
        let t = fetch.fetch(origin, target_seq).ok_or_else(|| {
            Skip::BadCorrection(format!("target {origin} seq {target_seq} not found"))
        })?;
        if t.id != target_id {
            return Err(Skip::BadCorrection(format!(
                "{origin} seq {target_seq} is not the target id"
            )));
        }
        let body = t
            .body
            .clone()
            .filter(|b| b.kind.is_some())
            .ok_or(Skip::UnknownBody)?;
        if matches!(
            body.kind,
            Some(Kind::EventVoided(_) | Kind::EventCorrected(_))
        ) {
            return Err(Skip::BadCorrection(
                "the target is itself a void or correction".into(),
            ));
        }
        let (u, d) = places.resolve(&t.unit, &t.occurred_on)?;
        Ok((
            EvKey {
                origin,
                seq: target_seq,
            },
            Some((u, d, body)),
        ))
    }

    /// Adds each (metric, amount) of `bumps` to `unit` and its ancestors,
    /// for every period containing `day`: one cell lookup per (unit, period).
    fn bump(&mut self, topo: &Topology, unit: UnitId, day: Day, bumps: &[(usize, i64)]) {
        if bumps.iter().all(|(_, by)| *by == 0) {
            return;
        }
        let Some(date) = date_of(day) else { return };
        let periods = Period::containing(date);
        for u in std::iter::once(unit).chain(topo.ancestors(unit)) {
            for p in periods {
                let cell = self
                    .proj
                    .cells
                    .entry((u, p))
                    .or_insert_with(|| vec![0; metric::LEN]);
                for &(m, by) in bumps {
                    cell[m] += by;
                }
            }
        }
    }

    /// Adds (`sign` 1) or takes back (`sign` -1) what `f` counts for, in
    /// the projections and in the KPI index.
    fn contribute(&mut self, places: Places<'_>, f: &Fact<'_>, sign: i64) {
        let topo = places.topology();
        let touched = match &f.body.kind {
            Some(kind) => index::touched(&self.proj, kind, f.unit, f.day),
            None => Vec::new(),
        };
        let before = index::contribution(&self.proj, places, &touched);
        self.project(topo, f, sign);
        let after = index::contribution(&self.proj, places, &touched);
        self.index.change(topo, before, after);
    }

    /// Whether the KPI index equals one built from the projections, units
    /// read by `places`: the history the state was built with (either view:
    /// a commune's parts are the same in both), or a bare topology.
    pub fn index_is_consistent<'a>(&self, places: impl Into<Places<'a>>) -> bool {
        self.index == KpiIndex::build(&self.proj, places)
    }

    fn project(&mut self, topo: &Topology, f: &Fact<'_>, sign: i64) {
        let (unit, day, key) = (f.unit, f.day, f.key);
        let year = year_of(day);
        // Roll-up metrics to add, applied to the cells in one pass.
        let mut bumps: Vec<(usize, i64)> = Vec::with_capacity(8);
        bumps.push((m!("events"), sign));
        let Some(kind) = &f.body.kind else {
            self.bump(topo, unit, day, &bumps);
            return;
        };
        match kind {
            Kind::BusinessRegistered(b) => {
                bumps.push((m!("businesses.registered"), sign));
                let e = self
                    .proj
                    .businesses
                    .entry(b.business_id.clone())
                    .or_default();
                edit(
                    &mut e.registrations,
                    sign,
                    (key, unit, day, b.kind, b.conditional, b.workers),
                    |x| x.0 == key,
                );
            }
            Kind::BusinessUpdated(b) => {
                let e = self
                    .proj
                    .businesses
                    .entry(b.business_id.clone())
                    .or_default();
                edit(
                    &mut e.updates,
                    sign,
                    (key, day, b.kind, b.conditional, b.workers),
                    |x| x.0 == key,
                );
            }
            Kind::BusinessClosed(b) => {
                bumps.push((m!("businesses.closed"), sign));
                let e = self
                    .proj
                    .businesses
                    .entry(b.business_id.clone())
                    .or_default();
                edit(&mut e.closures, sign, (key, day), |x| x.0 == key);
            }
            Kind::InspectionConducted(i) => {
                bumps.push((m!("inspections"), sign));
                let mode = if i.mode == InspectionMode::Unannounced as i32 {
                    m!("inspections.unannounced")
                } else {
                    m!("inspections.planned")
                };
                bumps.push((mode, sign));
                bumps.push((
                    m!("inspections.workers_reached"),
                    sign * i64::from(i.workers_reached),
                ));
                *self
                    .proj
                    .inspected
                    .entry(i.business_id.clone())
                    .or_default()
                    .entry(year)
                    .or_default() += sign;
                *self.proj.workers_reached.entry((unit, year)).or_default() +=
                    sign * i64::from(i.workers_reached);
            }
            Kind::ViolationRecorded(v) => {
                bumps.push((m!("violations"), sign));
                bumps.push((metric::act(v.act), sign));
                let e = self.proj.violations.entry(v.record_no.clone()).or_default();
                edit(&mut e.recorded, sign, (key, unit, day), |x| x.0 == key);
            }
            Kind::PenaltyDecided(p) => {
                bumps.push((m!("penalties"), sign));
                bumps.push((
                    m!("penalties.fines_vnd"),
                    sign * i64::try_from(p.fine_vnd).unwrap_or(i64::MAX),
                ));
                let e = self.proj.violations.entry(p.record_no.clone()).or_default();
                edit(&mut e.handled, sign, key, |x| *x == key);
            }
            Kind::CaseReferred(r) => {
                bumps.push((m!("referrals"), sign));
                let e = self.proj.violations.entry(r.record_no.clone()).or_default();
                edit(&mut e.handled, sign, key, |x| *x == key);
            }
            Kind::TipReceived(t) => {
                bumps.push((m!("tipoffs.received"), sign));
                let e = self.proj.tips.entry(t.tip_id.clone()).or_default();
                edit(&mut e.received, sign, (key, unit, day), |x| x.0 == key);
            }
            Kind::TipVerified(t) => {
                bumps.push((m!("tipoffs.verified"), sign));
                let e = self.proj.tips.entry(t.tip_id.clone()).or_default();
                edit(&mut e.verified, sign, (key, day), |x| x.0 == key);
            }
            Kind::TipClosed(t) => {
                bumps.push((m!("tipoffs.closed"), sign));
                let e = self.proj.tips.entry(t.tip_id.clone()).or_default();
                edit(&mut e.closed, sign, (key, day), |x| x.0 == key);
            }
            Kind::AwarenessActivityHeld(a) => {
                bumps.push((m!("awareness.activities"), sign));
                bumps.push((metric::form(a.form), sign));
                bumps.push((
                    m!("awareness.participants"),
                    sign * i64::from(a.participants),
                ));
                bumps.push((
                    metric::audience(a.audience),
                    sign * i64::from(a.participants),
                ));
                bumps.push((m!("awareness.leaflets"), sign * i64::from(a.leaflets)));
                *self.proj.awareness.entry((unit, year)).or_default() += sign;
                if a.audience == Audience::BusinessWorkers as i32 {
                    *self.proj.workers_reached.entry((unit, year)).or_default() +=
                        sign * i64::from(a.participants);
                }
            }
            Kind::ClientNeedAssessed(c) => {
                bumps.push((m!("clients.assessments"), sign));
                let e = self.proj.clients.entry(c.client_ref.clone()).or_default();
                *e.needs.entry((unit, month_of(day))).or_default() += sign;
            }
            Kind::SupportServiceProvided(s) => {
                bumps.push((m!("services.provided"), sign));
                bumps.push((metric::service(s.service), sign));
                bumps.push((
                    m!("services.cost_vnd"),
                    sign * i64::try_from(s.cost_vnd).unwrap_or(i64::MAX),
                ));
                let e = self.proj.clients.entry(s.client_ref.clone()).or_default();
                *e.services.entry((unit, month_of(day))).or_default() += sign;
            }
            Kind::PlanAdopted(p) => {
                bumps.push((m!("plans.adopted"), sign));
                let e = self.proj.plans.entry((unit, p.year as i32)).or_default();
                edit(e, sign, (key, f.part), |x| x.0 == key);
            }
            Kind::TargetSet(t) => {
                let e = self
                    .proj
                    .targets
                    .entry((unit, t.year as i32, t.kpi))
                    .or_default();
                edit(e, sign, (f.recorded_at, key, t.target_bp), |x| x.1 == key);
            }
            Kind::PilotModelStarted(p) => {
                bumps.push((m!("pilot_models.started"), sign));
                let e = self.proj.pilots.entry(p.model_id.clone()).or_default();
                edit(&mut e.started, sign, (key, unit, day), |x| x.0 == key);
            }
            Kind::PilotModelEnded(p) => {
                bumps.push((m!("pilot_models.ended"), sign));
                let e = self.proj.pilots.entry(p.model_id.clone()).or_default();
                edit(&mut e.ended, sign, (key, day), |x| x.0 == key);
            }
            Kind::HealthyCommuneAssessed(h) => {
                bumps.push((m!("healthy.assessments"), sign));
                let e = self.proj.healthy.entry((unit, h.year as i32)).or_default();
                edit(
                    e,
                    sign,
                    (f.recorded_at, key, f.part, h.classification),
                    |x| x.1 == key,
                );
            }
            Kind::VolunteerTeamReported(v) => {
                bumps.push((m!("volunteer_teams.reports"), sign));
                bumps.push((m!("volunteer_teams.members"), sign * i64::from(v.members)));
            }
            Kind::TrainingHeld(t) => {
                bumps.push((m!("trainings"), sign));
                bumps.push((m!("trainings.trainees"), sign * i64::from(t.trainees)));
            }
            Kind::HotspotIdentified(h) => {
                bumps.push((m!("hotspots.identified"), sign));
                let e = self.proj.hotspots.entry(h.hotspot_id.clone()).or_default();
                edit(&mut e.0, sign, (key, unit), |x| x.0 == key);
            }
            Kind::HotspotCleared(h) => {
                bumps.push((m!("hotspots.cleared"), sign));
                self.proj
                    .hotspots
                    .entry(h.hotspot_id.clone())
                    .or_default()
                    .1 += sign;
            }
            Kind::EventVoided(_) | Kind::EventCorrected(_) => {}
        }
        self.bump(topo, unit, day, &bumps);
    }

    /// Digest of the projections and the KPI index, and of each on its own.
    pub fn digest(&self) -> (blake3::Hash, Vec<(&'static str, blake3::Hash)>) {
        fn h<T: Serialize>(v: &T) -> blake3::Hash {
            blake3::hash(&postcard::to_allocvec(v).unwrap_or_default())
        }
        let p = &self.proj;
        let parts = vec![
            ("cells", h(&p.cells)),
            ("businesses", h(&p.businesses)),
            ("inspected", h(&p.inspected)),
            ("workers_reached", h(&p.workers_reached)),
            ("awareness", h(&p.awareness)),
            ("plans", h(&p.plans)),
            ("tips", h(&p.tips)),
            ("clients", h(&p.clients)),
            ("pilots", h(&p.pilots)),
            ("healthy", h(&p.healthy)),
            ("targets", h(&p.targets)),
            ("violations", h(&p.violations)),
            ("hotspots", h(&p.hotspots)),
            ("overrides", h(&p.overrides)),
            ("kpi_index", h(&self.index)),
        ];
        let mut parts = parts;
        if let Some(today) = &self.today {
            parts.push(("today", today.digest().0));
        }
        let mut all = blake3::Hasher::new();
        all.update(&self.checkpoint.to_be_bytes());
        for (_, d) in &parts {
            all.update(d.as_bytes());
        }
        (all.finalize(), parts)
    }

    /// Cells of one (unit, period), if anything was recorded.
    pub fn cell(&self, unit: UnitId, period: Period) -> Option<&Cell> {
        self.proj.cells.get(&(unit, period))
    }
}

/// Adds (`sign` > 0) or removes (`sign` < 0) the entry matching `is`.
fn edit<T>(v: &mut Vec<T>, sign: i64, entry: T, is: impl Fn(&T) -> bool) {
    if sign > 0 {
        if !v.iter().any(&is) {
            v.push(entry);
        }
    } else if let Some(i) = v.iter().position(is) {
        v.remove(i);
    }
}

/// Labels for enum breakdown metrics, for queries.
pub fn metric_names() -> Vec<String> {
    /// `prefix.value` for values `0..n`, named from the proto enum where known.
    fn breakdown(
        names: &mut Vec<String>,
        prefix: &str,
        strip: &str,
        n: usize,
        name: impl Fn(i32) -> Option<&'static str>,
    ) {
        for v in 0..n as i32 {
            names.push(match name(v) {
                Some(s) => format!("{prefix}.{}", s.trim_start_matches(strip).to_lowercase()),
                None => format!("{prefix}.{v}"),
            });
        }
    }
    let mut names: Vec<String> = metric::BASE.iter().map(|s| s.to_string()).collect();
    breakdown(
        &mut names,
        "violations.act",
        "VIOLATION_ACT_",
        metric::ACTS,
        |v| ViolationAct::try_from(v).ok().map(|a| a.as_str_name()),
    );
    breakdown(
        &mut names,
        "awareness.form",
        "AWARENESS_FORM_",
        metric::FORMS,
        |v| AwarenessForm::try_from(v).ok().map(|a| a.as_str_name()),
    );
    breakdown(
        &mut names,
        "awareness.participants",
        "AUDIENCE_",
        metric::AUDIENCES,
        |v| Audience::try_from(v).ok().map(|a| a.as_str_name()),
    );
    breakdown(
        &mut names,
        "services.kind",
        "SERVICE_KIND_",
        metric::SERVICES,
        |v| ServiceKind::try_from(v).ok().map(|a| a.as_str_name()),
    );
    names
}
