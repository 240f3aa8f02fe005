//! The operator's queries over the projection state, and the gRPC `Query`
//! service that serves them (role `operator`). The web page uses the same
//! functions.

use std::collections::BTreeMap;
use std::sync::Arc;

use sync178_shared::history::History;
use sync178_shared::period::{Date, Period};
use sync178_shared::proto::v1::query_server::Query;
use sync178_shared::proto::v1::{
    BreakdownRequest, BreakdownResponse, CompletenessRequest, CompletenessResponse, KpiRequest,
    KpiResponse, KpiValue, Metric, OriginLag, ProjectionDigest, Rollup, RollupRequest,
    RollupResponse, StateDigestRequest, StateDigestResponse, SyncStatusRequest, SyncStatusResponse,
    UnitActivity, UnitInfo, UnitsRequest, UnitsResponse, View as ProtoView,
};
use sync178_shared::tls::{Role, peer_identity};
use sync178_shared::topology::Topology;
use sync178_shared::unit::{Level, UnitId};
use tonic::{Request, Response, Status};

use crate::Hub;
use crate::follower::NodeHeads;
use crate::index::Slot;
use crate::kpi::{self, SUPPRESS_BELOW};
use crate::state::{OriginSeen, State, View, metric, metric_names};

/// A query that cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Malformed input (unit id, period, year).
    #[error("{field}: {reason}")]
    Invalid {
        /// The parameter at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A unit not in the topology.
    #[error("unit {0} is not in this hub's topology")]
    UnknownUnit(String),
    /// A unit of another structure than the one the query is read by: an
    /// old unit asked by today's structure, or a unit not yet (or no
    /// longer) in force in the period asked by the structure of the time.
    #[error("{unit} ({name}) {reason}")]
    OtherStructure {
        /// The unit.
        unit: String,
        /// Its name.
        name: String,
        /// Why, and which units to ask instead.
        reason: String,
    },
    /// Nothing was recorded for the unit in the period: not a table of zeros.
    #[error("no events recorded for {unit} ({name}) in {period}")]
    NoData {
        /// The unit.
        unit: String,
        /// Its name.
        name: String,
        /// The period.
        period: String,
    },
}

impl From<QueryError> for Status {
    fn from(e: QueryError) -> Status {
        match e {
            QueryError::Invalid { .. } => Status::invalid_argument(e.to_string()),
            QueryError::UnknownUnit(_)
            | QueryError::NoData { .. }
            | QueryError::OtherStructure { .. } => Status::not_found(e.to_string()),
        }
    }
}

/// Parses and checks a unit id against the topology.
pub fn unit(topo: &Topology, s: &str) -> Result<UnitId, QueryError> {
    let u: UnitId = s.parse().map_err(|e| QueryError::Invalid {
        field: "unit",
        reason: format!("{e}"),
    })?;
    if !topo.contains(u) {
        return Err(QueryError::UnknownUnit(s.to_string()));
    }
    Ok(u)
}

/// Reads a unit id an operator typed, for figures of `p` by `view`: a bare
/// id is read in today's listing (by today's structure) or in the listing
/// in force at the period's end (by the structure of the time). Refuses,
/// naming the units to ask instead, an old unit by today's structure and a
/// unit not in force during `p` by the structure of the time.
pub fn unit_in(history: &History, view: View, s: &str, p: Period) -> Result<UnitId, QueryError> {
    let topo = history.topology();
    let last = match view {
        View::Today => Date::MAX,
        View::AsRecorded => p.last_day(),
    };
    let u = history
        .read_for_operator(s, last)
        .map_err(|e| QueryError::Invalid {
            field: "unit",
            reason: format!("{e}"),
        })?;
    if !topo.contains(u) {
        return Err(QueryError::UnknownUnit(s.to_string()));
    }
    let list = |units: &[UnitId]| {
        units
            .iter()
            .map(|u| format!("{u} ({})", name(topo, *u)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let other = |reason: String| QueryError::OtherStructure {
        unit: u.to_string(),
        name: name(topo, u),
        reason,
    };
    match view {
        View::Today if u.edition() != history.today().edition() => Err(other(format!(
            "is not a unit of today's structure; its records count today for {}; \
                 ask for it by the structure at the time of the records",
            history
                .place_today(u)
                .map_or_else(|| "no unit".to_string(), |p| list(&[p]))
        ))),
        View::AsRecorded => {
            let listing = history.listing(u.edition());
            let in_force = listing.is_some_and(|l| {
                l.from().is_none_or(|f| f <= p.last_day())
                    && l.until().is_none_or(|t| p.first_day() <= t)
            });
            if in_force {
                return Ok(u);
            }
            let before = history.predecessors(u);
            let instead = if before.is_empty() {
                history.place_today(u).into_iter().collect()
            } else {
                before.to_vec()
            };
            Err(other(format!(
                "was not in force in {p}; by the structure of that time ask for {}",
                list(&instead)
            )))
        }
        View::Today => Ok(u),
    }
}

/// Parses a view: `today` / `hien-nay`, `as-recorded` / `bao-cao`; empty is today.
pub fn view(s: &str) -> Result<View, QueryError> {
    match s {
        "" | "today" | "hien-nay" => Ok(View::Today),
        "as-recorded" | "bao-cao" => Ok(View::AsRecorded),
        other => Err(QueryError::Invalid {
            field: "view",
            reason: format!("{other:?} is not a view: today (hien-nay) or as-recorded (bao-cao)"),
        }),
    }
}

/// The view a request names.
pub fn view_of(v: i32) -> View {
    if v == ProtoView::AsRecorded as i32 {
        View::AsRecorded
    } else {
        View::Today
    }
}

/// Parses a period ("2024", "2024-H1", "2024-Q3", "2024-03").
pub fn period(s: &str) -> Result<Period, QueryError> {
    s.parse().map_err(|e| QueryError::Invalid {
        field: "period",
        reason: format!("{e}"),
    })
}

fn name(topo: &Topology, u: UnitId) -> String {
    topo.name(u).unwrap_or_default().to_string()
}

fn events_in(state: &State, u: UnitId, p: Period) -> i64 {
    state.cell(u, p).map_or(0, |c| c[metric::base("events")])
}

fn require_data(state: &State, topo: &Topology, u: UnitId, p: Period) -> Result<(), QueryError> {
    if events_in(state, u, p) > 0 {
        return Ok(());
    }
    Err(QueryError::NoData {
        unit: u.to_string(),
        name: name(topo, u),
        period: p.to_string(),
    })
}

/// KPIs of `unit` for `year`.
pub fn kpis(
    state: &State,
    topo: &Topology,
    unit: UnitId,
    year: u32,
    deadline: u32,
    no_suppress: bool,
) -> Result<KpiResponse, QueryError> {
    let y = i32::try_from(year)
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or(QueryError::Invalid {
            field: "year",
            reason: format!("{year} is not between 2000 and 2100"),
        })?;
    require_data(state, topo, unit, Period::Year { year: y })?;
    Ok(kpi_response(state, topo, unit, y, deadline, no_suppress))
}

fn kpi_response(
    state: &State,
    topo: &Topology,
    unit: UnitId,
    year: i32,
    deadline: u32,
    no_suppress: bool,
) -> KpiResponse {
    let figures = kpi::compute(state, topo, unit, year, deadline as i32);
    KpiResponse {
        unit: unit.to_string(),
        unit_name: name(topo, unit),
        year: year as u32,
        kpis: figures
            .into_iter()
            .map(|f| {
                let suppressed = f.suppressed() && !no_suppress;
                let value = f.value_bp();
                KpiValue {
                    kpi: f.kpi as i32,
                    numerator: if suppressed { 0 } else { f.numerator },
                    denominator: if suppressed { 0 } else { f.denominator },
                    has_value: value.is_some() && !suppressed,
                    value_bp: if suppressed { 0 } else { value.unwrap_or(0) },
                    has_target: f.target.is_some(),
                    target_bp: f.target.map_or(0, |t| t.0),
                    target_from: f.target.map(|t| t.1.to_string()).unwrap_or_default(),
                    met: f.met().unwrap_or(false),
                    suppressed,
                }
            })
            .collect(),
    }
}

/// Counts of `unit`'s subtree for `period`.
pub fn rollup(
    state: &State,
    topo: &Topology,
    unit: UnitId,
    p: Period,
    no_suppress: bool,
) -> Result<Rollup, QueryError> {
    require_data(state, topo, unit, p)?;
    Ok(rollup_of(state, topo, unit, p, no_suppress))
}

fn rollup_of(state: &State, topo: &Topology, unit: UnitId, p: Period, no_suppress: bool) -> Rollup {
    let names = metric_names();
    let empty = vec![0; metric::LEN];
    let cell = state.cell(unit, p).unwrap_or(&empty);
    let mut metrics: Vec<Metric> = cell
        .iter()
        .enumerate()
        .filter(|(i, v)| *i < metric::BASE.len() || **v != 0)
        .map(|(i, v)| Metric {
            name: names[i].clone(),
            value: u64::try_from(*v).unwrap_or(0),
            person_based: false,
            suppressed: false,
        })
        .collect();
    let (in_need, served) = kpi::clients(state, unit, p);
    for (n, v) in [("clients.in_need", in_need), ("clients.served", served)] {
        let suppressed = !no_suppress && v > 0 && v < SUPPRESS_BELOW;
        metrics.push(Metric {
            name: n.into(),
            value: if suppressed { 0 } else { v },
            person_based: true,
            suppressed,
        });
    }
    Rollup {
        unit: unit.to_string(),
        unit_name: name(topo, unit),
        period: p.to_string(),
        metrics,
    }
}

/// Counts and KPIs of `unit`'s children for `period`.
pub fn breakdown(
    state: &State,
    topo: &Topology,
    unit: UnitId,
    p: Period,
    deadline: u32,
    no_suppress: bool,
) -> Result<BreakdownResponse, QueryError> {
    require_data(state, topo, unit, p)?;
    let children = topo.children(unit);
    Ok(BreakdownResponse {
        total: Some(rollup_of(state, topo, unit, p, no_suppress)),
        children: children
            .iter()
            .map(|c| rollup_of(state, topo, *c, p, no_suppress))
            .collect(),
        child_kpis: children
            .iter()
            .map(|c| kpi_response(state, topo, *c, p.year(), deadline, no_suppress))
            .collect(),
    })
}

/// Which communes and districts under `unit` recorded nothing in `period`.
pub fn completeness(
    state: &State,
    topo: &Topology,
    unit: UnitId,
    p: Period,
) -> CompletenessResponse {
    let units = topo
        .subtree(unit)
        .into_iter()
        .filter(|u| u.level() != Level::Province)
        .map(|u| {
            // Events recorded by the unit itself (its own origin), in the period.
            UnitActivity {
                unit: u.to_string(),
                name: name(topo, u),
                events: u64::try_from(events_in(state, u, p)).unwrap_or(0),
                // A commune as the plan KPI counts it (docs/KPI.md); another unit: a plan of its own.
                has_plan: if u.level() == Level::Commune {
                    let y = Period::Year { year: p.year() };
                    state.index.at(u, y, Slot::PlanCommunes) > 0
                } else {
                    state
                        .proj
                        .plans
                        .get(&(u, p.year()))
                        .is_some_and(|v| !v.is_empty())
                },
                last_recorded_at: state.origins.get(&u).map_or(0, |o| o.last_recorded_at),
            }
        })
        .collect();
    CompletenessResponse {
        unit: unit.to_string(),
        period: p.to_string(),
        units,
    }
}

/// Per origin under `unit`: last event recorded and received, lag.
pub fn sync_status(
    state: &State,
    topo: &Topology,
    unit: UnitId,
    node: Option<&NodeHeads>,
) -> SyncStatusResponse {
    let empty = BTreeMap::new();
    let node_seqs = node.map_or(&empty, |n| &n.seqs);
    // Origins the hub applied, and those the node holds that it has not.
    let mut origins: BTreeMap<UnitId, OriginSeen> = state
        .origins
        .iter()
        .filter(|(o, _)| topo.is_within(**o, unit))
        .map(|(o, s)| (*o, *s))
        .collect();
    for o in node_seqs.keys().filter(|o| topo.is_within(**o, unit)) {
        origins.entry(*o).or_default();
    }
    SyncStatusResponse {
        checkpoint: state.checkpoint,
        origins: origins
            .into_iter()
            .map(|(o, s)| {
                let node_seq = node_seqs.get(&o).copied().unwrap_or(0);
                OriginLag {
                    origin: o.to_string(),
                    name: name(topo, o),
                    last_seq: s.last_seq,
                    last_recorded_at: s.last_recorded_at,
                    last_received_at: s.last_received_at,
                    lag_ms: (s.last_received_at - s.last_recorded_at).max(0),
                    node_seq,
                    lag_events: node_seq.saturating_sub(s.last_seq),
                }
            })
            .collect(),
        skipped: state.skipped.values().sum(),
        node_next_position: node.map_or(0, |n| n.next_position),
        lag_events: node.map_or(0, |n| n.next_position.saturating_sub(state.checkpoint)),
        heads_at: node.map_or(0, |n| n.at_ms),
    }
}

/// The units under `unit`.
pub fn units(topo: &Topology, unit: UnitId) -> UnitsResponse {
    UnitsResponse {
        units: topo
            .subtree(unit)
            .into_iter()
            .map(|u| UnitInfo {
                unit: u.to_string(),
                name: name(topo, u),
                parent: topo.parent(u).map(|p| p.to_string()).unwrap_or_default(),
            })
            .collect(),
    }
}

/// Digest of the state, per projection.
pub fn digest(state: &State) -> StateDigestResponse {
    let (all, parts) = state.digest();
    StateDigestResponse {
        checkpoint: state.checkpoint,
        digest: all.as_bytes().to_vec(),
        projections: parts
            .into_iter()
            .map(|(n, d)| ProjectionDigest {
                projection: n.to_string(),
                digest: d.as_bytes().to_vec(),
            })
            .collect(),
    }
}

/// The gRPC service.
#[derive(Debug, Clone)]
pub struct QueryService {
    hub: Arc<Hub>,
}

impl QueryService {
    /// Serves queries over `hub`.
    pub fn new(hub: Arc<Hub>) -> QueryService {
        QueryService { hub }
    }

    fn check<T>(&self, req: &Request<T>) -> Result<(), Status> {
        let peer = peer_identity(req)?;
        if !matches!(peer.role, Role::Operator | Role::Hub) {
            return Err(Status::permission_denied(format!(
                "queries are for operators; the certificate is {peer}"
            )));
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl Query for QueryService {
    async fn kpis(&self, req: Request<KpiRequest>) -> Result<Response<KpiResponse>, Status> {
        self.check(&req)?;
        let r = req.into_inner();
        let h = &self.hub;
        let v = view_of(r.view);
        let year = i32::try_from(r.year).unwrap_or(i32::MAX);
        let p = Period::Year { year }
            .validate()
            .map_err(|e| QueryError::Invalid {
                field: "year",
                reason: e.to_string(),
            })?;
        let u = unit_in(&h.history, v, &r.unit, p)?;
        let s = h.read();
        Ok(Response::new(kpis(
            s.view(v),
            h.topology(),
            u,
            r.year,
            h.deadline_days,
            r.no_suppress,
        )?))
    }

    async fn rollup(
        &self,
        req: Request<RollupRequest>,
    ) -> Result<Response<RollupResponse>, Status> {
        self.check(&req)?;
        let r = req.into_inner();
        let h = &self.hub;
        let v = view_of(r.view);
        let p = period(&r.period)?;
        let u = unit_in(&h.history, v, &r.unit, p)?;
        let s = h.read();
        Ok(Response::new(RollupResponse {
            rollup: Some(rollup(s.view(v), h.topology(), u, p, r.no_suppress)?),
        }))
    }

    async fn breakdown(
        &self,
        req: Request<BreakdownRequest>,
    ) -> Result<Response<BreakdownResponse>, Status> {
        self.check(&req)?;
        let r = req.into_inner();
        let h = &self.hub;
        let v = view_of(r.view);
        let p = period(&r.period)?;
        let u = unit_in(&h.history, v, &r.unit, p)?;
        let s = h.read();
        Ok(Response::new(breakdown(
            s.view(v),
            h.topology(),
            u,
            p,
            h.deadline_days,
            r.no_suppress,
        )?))
    }

    async fn completeness(
        &self,
        req: Request<CompletenessRequest>,
    ) -> Result<Response<CompletenessResponse>, Status> {
        self.check(&req)?;
        let r = req.into_inner();
        let h = &self.hub;
        let v = view_of(r.view);
        let p = period(&r.period)?;
        let u = unit_in(&h.history, v, &r.unit, p)?;
        Ok(Response::new(completeness(
            h.read().view(v),
            h.topology(),
            u,
            p,
        )))
    }

    async fn sync_status(
        &self,
        req: Request<SyncStatusRequest>,
    ) -> Result<Response<SyncStatusResponse>, Status> {
        self.check(&req)?;
        let r = req.into_inner();
        let h = &self.hub;
        let u = if r.unit.is_empty() {
            h.root
        } else {
            unit(h.topology(), &r.unit)?
        };
        Ok(Response::new(sync_status(
            &h.read(),
            h.topology(),
            u,
            h.node_heads().as_ref(),
        )))
    }

    async fn units(&self, req: Request<UnitsRequest>) -> Result<Response<UnitsResponse>, Status> {
        self.check(&req)?;
        let r = req.into_inner();
        let h = &self.hub;
        let u = if r.under.is_empty() {
            h.root
        } else {
            unit(h.topology(), &r.under)?
        };
        Ok(Response::new(units(h.topology(), u)))
    }

    async fn state_digest(
        &self,
        req: Request<StateDigestRequest>,
    ) -> Result<Response<StateDigestResponse>, Status> {
        self.check(&req)?;
        Ok(Response::new(digest(&self.hub.read())))
    }
}
