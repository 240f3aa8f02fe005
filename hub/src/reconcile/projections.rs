//! Projection and completeness reconciliation: the live hub's state must
//! equal a replay of the node's feed, and every commune must be heard from.
//!
//! `check_projections` asks the running hub for its state digest (with its
//! checkpoint), replays the node's feed into scratch memory up to that same
//! checkpoint, and compares per projection; where the roll-up cells differ it
//! names the (unit, period) pairs. `check_completeness` lists, for a period,
//! the units that recorded nothing, that have not synced for longer than a
//! threshold, or whose plan is missing.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;
use sync178_shared::history::History;
use sync178_shared::proto::v1::query_client::QueryClient;
use sync178_shared::proto::v1::{
    CompletenessRequest, ProjectionDigest, RollupRequest, RollupResponse, StateDigestRequest,
    StateDigestResponse, SyncStatusRequest,
};
use sync178_shared::tls::{Identity, Role, TlsFiles};
use sync178_shared::topology::Topology;
use sync178_shared::unit::{Level, UnitId};
use tonic::transport::Channel;

use super::ReconcileError;
use crate::follower::{FeedSource, replay};
use crate::state::{State, metric_names};

/// One projection compared.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectionCheck {
    /// Projection name.
    pub projection: String,
    /// Digest in the live hub, hex.
    pub live: String,
    /// Digest of the replay, hex.
    pub replayed: String,
}

/// A roll-up cell that differs: (unit, period, metric, live, replayed).
#[derive(Debug, Clone, Serialize)]
pub struct CellDiff {
    /// Unit.
    pub unit: String,
    /// Period.
    pub period: String,
    /// Metric name.
    pub metric: String,
    /// Value in the live hub.
    pub live: i64,
    /// Value in the replay.
    pub replayed: i64,
}

/// What `check_projections` found.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectionReport {
    /// Feed position both states stand at.
    pub checkpoint: u64,
    /// Every projection, with both digests.
    pub projections: Vec<ProjectionCheck>,
    /// Roll-up cells that differ (when `cells` differs).
    pub cells: Vec<CellDiff>,
    /// The hub moved on while the cells were compared: re-run to confirm.
    pub moved: bool,
}

impl ProjectionReport {
    /// Every projection equals the replay.
    pub fn is_consistent(&self) -> bool {
        self.projections.iter().all(|p| p.live == p.replayed)
    }

    /// Readable summary.
    pub fn render_text(&self) -> String {
        let mut s = format!("projections at checkpoint {}:\n", self.checkpoint);
        for p in &self.projections {
            let verdict = if p.live == p.replayed {
                "equal"
            } else {
                "DIFFERENT"
            };
            s.push_str(&format!(
                "  {:<16} {verdict:<9} live {} replay {}\n",
                p.projection,
                short(&p.live),
                short(&p.replayed)
            ));
        }
        for c in &self.cells {
            s.push_str(&format!(
                "  cell {} {} {}: live {}, replay {}\n",
                c.unit, c.period, c.metric, c.live, c.replayed
            ));
        }
        if self.moved {
            s.push_str(
                "  (the hub applied more events while cells were compared; re-run to confirm)\n",
            );
        }
        s.push_str(if self.is_consistent() {
            "consistent\n"
        } else {
            "DISCREPANCIES FOUND\n"
        });
        s
    }

    /// CSV, UTF-8 with BOM: one row per projection and per differing cell.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("\u{feff}kind,name,unit,period,live,replayed\n");
        for p in &self.projections {
            s.push_str(&format!(
                "projection,{},,,{},{}\n",
                p.projection, p.live, p.replayed
            ));
        }
        for c in &self.cells {
            s.push_str(&format!(
                "cell,{},{},{},{},{}\n",
                c.metric, c.unit, c.period, c.live, c.replayed
            ));
        }
        s
    }
}

/// The first 12 characters of a hex digest (all of a shorter text).
fn short(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}

/// The live hub's digest of projection `name`, hex: "missingmissing" when
/// the hub does not report it (a discrepancy), an error naming the
/// projection when its digest is not 32 bytes.
fn live_digest(
    hub: UnitId,
    name: &str,
    live: &[ProjectionDigest],
) -> Result<String, ReconcileError> {
    let Some(p) = live.iter().find(|p| p.projection == name) else {
        return Ok("missing".repeat(2));
    };
    if p.digest.len() != 32 {
        return Err(ReconcileError::BadAnswer {
            unit: hub,
            call: "Query.StateDigest",
            reason: format!(
                "the digest of projection {name} is {} bytes, not 32",
                p.digest.len()
            ),
        });
    }
    Ok(hex::encode(&p.digest))
}

/// The cells of (`unit`, `period`) that differ between the hub's answer to
/// `Query.Rollup` and the replay's values `want`. A failed call or an answer
/// without a roll-up is an error naming the cell: never a row of zeros.
fn cell_diffs(
    hub: UnitId,
    unit: UnitId,
    period: &str,
    want: &[i64],
    names: &[String],
    answer: Result<RollupResponse, tonic::Status>,
) -> Result<Vec<CellDiff>, ReconcileError> {
    let bad = |reason: String| ReconcileError::BadAnswer {
        unit: hub,
        call: "Query.Rollup",
        reason: format!("{unit} {period}: {reason}"),
    };
    let got = answer
        .map_err(|s| bad(format!("{:?}: {}", s.code(), s.message())))?
        .rollup
        .ok_or_else(|| bad("the answer holds no roll-up".into()))?;
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let live_v = got
            .metrics
            .iter()
            .find(|m| m.name == *name)
            .map_or(0, |m| i64::try_from(m.value).unwrap_or(i64::MAX));
        let want_v = want.get(i).copied().unwrap_or(0);
        if live_v != want_v {
            out.push(CellDiff {
                unit: unit.to_string(),
                period: period.to_string(),
                metric: name.clone(),
                live: live_v,
                replayed: want_v,
            });
        }
    }
    Ok(out)
}

/// Whether the hub moved on from `checkpoint` while cells were compared; a
/// failed re-read of its checkpoint is an error, not "moved".
fn moved_on(
    hub: UnitId,
    checkpoint: u64,
    after: Result<StateDigestResponse, tonic::Status>,
) -> Result<bool, ReconcileError> {
    let after = after.map_err(|s| ReconcileError::BadAnswer {
        unit: hub,
        call: "Query.StateDigest",
        reason: format!(
            "re-reading the checkpoint after comparing cells: {:?}: {}",
            s.code(),
            s.message()
        ),
    })?;
    Ok(after.checkpoint != checkpoint)
}

/// A channel to the hub of the province `server`.
async fn channel(
    endpoint: &str,
    tls: &TlsFiles,
    server: UnitId,
) -> Result<Channel, ReconcileError> {
    let loaded = tls.load()?;
    let unreachable = |reason: String| ReconcileError::Unreachable {
        unit: server,
        reason,
    };
    let dialer = loaded
        .dialer(Identity::new(server, Role::Hub), None)
        .map_err(|e| unreachable(e.to_string()))?;
    let ep = dialer
        .endpoint(endpoint)
        .map_err(|e| unreachable(e.to_string()))?
        .connect_timeout(Duration::from_secs(5));
    dialer
        .connect(ep)
        .await
        .map_err(|e| unreachable(sync178_shared::exit::error_chain(&e)))
}

/// Compares the live hub's projections with a replay of the node's feed.
pub async fn check_projections(
    hub_endpoint: &str,
    node_endpoint: &str,
    province: UnitId,
    tls: &TlsFiles,
    history: &History,
) -> Result<ProjectionReport, ReconcileError> {
    let mut q = QueryClient::new(channel(hub_endpoint, tls, province).await?);
    let live = q
        .state_digest(StateDigestRequest {})
        .await
        .map_err(|s| ReconcileError::Unreachable {
            unit: province,
            reason: s.message().to_string(),
        })?
        .into_inner();
    let loaded = tls.load()?;
    let mut source = FeedSource::connect(node_endpoint, &loaded, province)
        .await
        .map_err(|e| ReconcileError::Unreachable {
            unit: province,
            reason: e.to_string(),
        })?;
    let replayed: State = replay(&mut source, history, live.checkpoint)
        .await
        .map_err(|e| ReconcileError::Unreachable {
            unit: province,
            reason: e.to_string(),
        })?;
    let (_, parts) = replayed.digest();
    let projections = parts
        .iter()
        .map(|(name, d)| {
            Ok(ProjectionCheck {
                projection: name.to_string(),
                live: live_digest(province, name, &live.projections)?,
                replayed: d.to_hex().to_string(),
            })
        })
        .collect::<Result<Vec<_>, ReconcileError>>()?;
    let mut cells = Vec::new();
    let mut moved = false;
    if projections
        .iter()
        .any(|p| p.projection == "cells" && p.live != p.replayed)
    {
        let names = metric_names();
        let keys: BTreeSet<_> = replayed.proj.cells.keys().copied().collect();
        for (unit, period) in keys {
            let want = &replayed.proj.cells[&(unit, period)];
            let answer = q
                .rollup(RollupRequest {
                    unit: unit.to_string(),
                    period: period.to_string(),
                    no_suppress: true,
                    // The cells compared are the as-recorded view's; the
                    // digest covers today's view as a whole.
                    view: sync178_shared::proto::v1::View::AsRecorded as i32,
                })
                .await
                .map(tonic::Response::into_inner);
            cells.extend(cell_diffs(
                province,
                unit,
                &period.to_string(),
                &want[..],
                &names,
                answer,
            )?);
        }
        let after = q
            .state_digest(StateDigestRequest {})
            .await
            .map(tonic::Response::into_inner);
        moved = moved_on(province, live.checkpoint, after)?;
    }
    Ok(ProjectionReport {
        checkpoint: live.checkpoint,
        projections,
        cells,
        moved,
    })
}

/// A unit with a completeness problem in a period.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    /// Unit id.
    pub unit: String,
    /// Its name.
    pub name: String,
    /// Recorded nothing in the period.
    pub silent: bool,
    /// No plan adopted for the period's year (communes).
    pub no_plan: bool,
    /// Not heard from for longer than the threshold (or never).
    pub stale: bool,
    /// Age of its last event at the hub, ms; None when never seen.
    pub last_seen_ago_ms: Option<i64>,
}

/// What `check_completeness` found.
#[derive(Debug, Clone, Serialize)]
pub struct CompletenessReport {
    /// The unit checked.
    pub unit: String,
    /// The period.
    pub period: String,
    /// Units with a problem.
    pub gaps: Vec<Gap>,
    /// Units checked.
    pub checked: usize,
}

impl CompletenessReport {
    /// No gap.
    pub fn is_consistent(&self) -> bool {
        self.gaps.is_empty()
    }

    /// Readable summary.
    pub fn render_text(&self) -> String {
        let mut s = format!(
            "completeness of {} in {}: {} units checked, {} with gaps\n",
            self.unit,
            self.period,
            self.checked,
            self.gaps.len()
        );
        for g in &self.gaps {
            let mut why = Vec::new();
            if g.silent {
                why.push("recorded nothing");
            }
            if g.no_plan {
                why.push("no plan");
            }
            if g.stale {
                why.push("not synced recently");
            }
            s.push_str(&format!("  {} {:<28} {}\n", g.unit, g.name, why.join(", ")));
        }
        s
    }

    /// CSV, UTF-8 with BOM.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("\u{feff}unit,name,silent,no_plan,stale,last_seen_ago_ms\n");
        for g in &self.gaps {
            let name = g.name.replace('"', "\"\"");
            s.push_str(&format!(
                "{},\"{name}\",{},{},{},{}\n",
                g.unit,
                g.silent,
                g.no_plan,
                g.stale,
                g.last_seen_ago_ms
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            ));
        }
        s
    }
}

/// Lists units under `unit` that recorded nothing in `period`, have no plan,
/// or have not been heard from for `stale_after`.
pub async fn check_completeness(
    hub_endpoint: &str,
    province: UnitId,
    tls: &TlsFiles,
    topology: &Topology,
    unit: UnitId,
    period: &str,
    stale_after: Duration,
) -> Result<CompletenessReport, ReconcileError> {
    let mut q = QueryClient::new(channel(hub_endpoint, tls, province).await?);
    let err = |s: tonic::Status| ReconcileError::Options {
        field: "unit/period",
        reason: s.message().to_string(),
    };
    let c = q
        .completeness(CompletenessRequest {
            unit: unit.to_string(),
            period: period.to_string(),
            view: sync178_shared::proto::v1::View::Today as i32,
        })
        .await
        .map_err(err)?
        .into_inner();
    let sync = q
        .sync_status(SyncStatusRequest {
            unit: unit.to_string(),
        })
        .await
        .map_err(err)?
        .into_inner();
    let now = sync178_shared::event::now_ms();
    let stale_ms = i64::try_from(stale_after.as_millis()).unwrap_or(i64::MAX);
    let mut gaps = Vec::new();
    for a in &c.units {
        // A unit is heard from when anything recorded in its subtree arrived.
        let seen = a.unit.parse::<UnitId>().ok().and_then(|u| {
            sync.origins
                .iter()
                .filter(|o| {
                    o.origin
                        .parse::<UnitId>()
                        .is_ok_and(|x| topology.is_within(x, u))
                })
                .map(|o| now - o.last_received_at)
                .min()
        });
        let is_commune = a.unit.starts_with(Level::Commune.letter());
        let g = Gap {
            unit: a.unit.clone(),
            name: a.name.clone(),
            silent: a.events == 0,
            no_plan: is_commune && !a.has_plan,
            stale: seen.is_none_or(|ago| ago > stale_ms),
            last_seen_ago_ms: seen,
        };
        if g.silent || g.no_plan || g.stale {
            gaps.push(g);
        }
    }
    Ok(CompletenessReport {
        unit: unit.to_string(),
        period: c.period,
        checked: c.units.len(),
        gaps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync178_shared::proto::v1::{Metric, Rollup};

    fn hub() -> UnitId {
        "p33".parse().expect("ok")
    }

    #[test]
    fn short_remote_digest_is_an_error_naming_the_projection() {
        let live = vec![ProjectionDigest {
            projection: "cells".into(),
            digest: vec![0xab; 4],
        }];
        let e = live_digest(hub(), "cells", &live).expect_err("an error");
        let text = e.to_string();
        assert!(matches!(
            e,
            ReconcileError::BadAnswer {
                call: "Query.StateDigest",
                ..
            }
        ));
        assert!(
            text.contains("p33") && text.contains("cells") && text.contains("4 bytes"),
            "{text}"
        );
        // A report holding a short digest still renders instead of panicking.
        let report = ProjectionReport {
            checkpoint: 1,
            projections: vec![ProjectionCheck {
                projection: "cells".into(),
                live: "abcd".into(),
                replayed: "ab".repeat(32),
            }],
            cells: vec![],
            moved: false,
        };
        assert!(
            report
                .render_text()
                .contains("live abcd replay abababababab")
        );
        let full = ProjectionDigest {
            projection: "cells".into(),
            digest: vec![0xab; 32],
        };
        assert_eq!(
            live_digest(hub(), "cells", &[full]).expect("ok"),
            "ab".repeat(32)
        );
    }

    #[test]
    fn failed_rollup_is_an_error_not_zero_cells() {
        let names = vec!["events".to_string(), "inspections".to_string()];
        let unit: UnitId = "c12142".parse().expect("ok");
        let e = cell_diffs(
            hub(),
            unit,
            "2024",
            &[3, 1],
            &names,
            Err(tonic::Status::unavailable("connection reset")),
        )
        .expect_err("an error");
        let text = e.to_string();
        assert!(
            text.contains("Query.Rollup")
                && text.contains("c12142 2024")
                && text.contains("connection reset"),
            "{text}"
        );
        let empty = cell_diffs(
            hub(),
            unit,
            "2024",
            &[3, 1],
            &names,
            Ok(RollupResponse { rollup: None }),
        );
        assert!(
            empty
                .expect_err("an error")
                .to_string()
                .contains("no roll-up")
        );
        // A real answer is compared metric by metric.
        let answer = RollupResponse {
            rollup: Some(Rollup {
                unit: unit.to_string(),
                period: "2024".into(),
                metrics: vec![
                    Metric {
                        name: "events".into(),
                        value: 3,
                        ..Default::default()
                    },
                    Metric {
                        name: "inspections".into(),
                        value: 2,
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
        };
        let diffs = cell_diffs(hub(), unit, "2024", &[3, 1], &names, Ok(answer)).expect("ok");
        assert_eq!(diffs.len(), 1);
        assert_eq!(
            (diffs[0].metric.as_str(), diffs[0].live, diffs[0].replayed),
            ("inspections", 2, 1)
        );
    }

    #[test]
    fn failed_reread_is_an_error_not_moved() {
        let e = moved_on(hub(), 7, Err(tonic::Status::deadline_exceeded("slow")))
            .expect_err("an error");
        assert!(e.to_string().contains("re-reading the checkpoint"), "{e}");
        let same = StateDigestResponse {
            checkpoint: 7,
            ..Default::default()
        };
        assert!(!moved_on(hub(), 7, Ok(same)).expect("ok"));
        let later = StateDigestResponse {
            checkpoint: 9,
            ..Default::default()
        };
        assert!(moved_on(hub(), 7, Ok(later)).expect("ok"));
    }
}
