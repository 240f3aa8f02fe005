//! `sync178-hub demo`: a whole real province on this machine in one command.
//!
//! By default it runs a province of today's structure through the 2025
//! reform, built from the listings and merge table shipped in
//! `deploy/topology/`: the old provinces that formed it (for the new Hưng
//! Yên, old Hưng Yên and Thái Bình) record 2023, 2024 and the first half of
//! 2025 under the old three tiers, one node per old province, district and
//! commune; on the reform date the province switches (today's province node
//! starts, every old node hands what it holds to it, today's communes
//! start) and records the second half of 2025 under two tiers. One commune
//! is offline across the switch and catches up after it. The hub follows
//! today's province node; the demo prints the KPIs of a year by today's
//! structure and by the structure of the time.
//!
//! `--listing 2024` runs the old demo: one year of one province of the 2024
//! listing, no reform.
//!
//! Every node listens on loopback with mutual TLS exactly as in production.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sync178_node::config::{Limits, ParentConfig, UplinkConfig};
use sync178_node::{NodeError, certs};
use sync178_shared::history::{History, HistoryError};
use sync178_shared::period::Date;
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::ingest_client::IngestClient;
use sync178_shared::proto::v1::{Event, KpiResponse, SubmitRequest};
use sync178_shared::tls::{Identity, Role};
use sync178_shared::topology::Topology;
use sync178_shared::unit::{Edition, Level, UnitId};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::state::{State, View};
use crate::workload::{self, Planned, Tally, Window};
use crate::{Hub, HubError, query};

/// The 2024 three-tier listing, shipped in the project.
pub const LISTING_2024: &str = include_str!("../../deploy/topology/vn-admin-units-2024.csv");
/// The 2025 two-tier listing, shipped in the project.
pub const LISTING_2025: &str = include_str!("../../deploy/topology/vn-admin-units-2025.csv");
/// The merge table from the 2024 listing to the 2025 one.
pub const MERGES_2025: &str = include_str!("../../deploy/topology/vn-commune-merges-2025.csv");
/// The manifest naming the three files above and the reform date.
pub const HISTORY: &str = include_str!("../../deploy/topology/history.toml");

/// Options of the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Province code: of today's 34 provinces ("33" the new Hưng Yên, "01"
    /// Hà Nội), or of the 2024 listing with `listing` 2024.
    pub province: String,
    /// Which structure runs: 2025 (today's, through the reform; the
    /// default) or 2024 (one year of the old three tiers).
    pub listing: u16,
    /// Seed of the generated activity.
    pub seed: u64,
    /// Year of the KPIs printed (with `listing` 2024, also the year of the
    /// activity).
    pub year: i32,
    /// Volume multiplier (1 = a realistic commune).
    pub scale: u32,
    /// Where the data lives.
    pub dir: PathBuf,
    /// Show progress bars.
    pub progress: bool,
    /// Address of the dashboard (loopback; port 0 picks a free one).
    pub web: SocketAddr,
}

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The province or year is not one the demo can run.
    #[error("province {0}: {1}")]
    Province(String, String),
    /// The shipped listings could not be read.
    #[error("shipped history: {0}")]
    History(#[from] HistoryError),
    /// A file or folder could not be written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// Certificates could not be issued.
    #[error("certificates: {0}")]
    Certs(#[from] certs::CertError),
    /// A node failed.
    #[error("node {0}: {1}")]
    Node(UnitId, String),
    /// The hub failed.
    #[error("hub: {0}")]
    Hub(#[from] HubError),
    /// Submitting generated events failed.
    #[error("submit at {0}: {1}")]
    Submit(UnitId, String),
    /// Events did not arrive in time.
    #[error("timed out: {0}")]
    Timeout(String),
}

/// The demo's figures: a year's KPIs of the province by today's structure,
/// and of each province of the time by the structure of the time (with one
/// listing, the same province twice).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DemoKpis {
    /// By today's structure ("theo địa giới hiện nay").
    pub today: KpiResponse,
    /// By the structure of the time ("theo địa giới tại thời điểm báo
    /// cáo"), one table per province that was in force in the year.
    pub as_recorded: Vec<KpiResponse>,
}

/// What the demo runs, planned before anything starts: the province's
/// history and the activity recorded before and after the reform.
#[derive(Debug)]
pub struct Plan {
    /// The province's history (a province's cut of the shipped one, or one
    /// listing).
    pub history: History,
    /// Today's province.
    pub province: UnitId,
    /// The provinces of the old structure that formed it (empty with one
    /// listing).
    pub old_provinces: Vec<UnitId>,
    /// The reform date (`None` with one listing).
    pub reform: Option<Date>,
    /// Recorded by the old structure's units (everything, with one listing).
    pub before: Vec<Planned>,
    /// Recorded by today's units after the reform.
    pub after: Vec<Planned>,
    /// Counts of what was generated.
    pub tally: Tally,
}

/// The shipped history (the 2024 and 2025 listings and their merge table),
/// written into `dir` exactly as shipped and read from there: the dates are
/// the manifest's, not the demo's.
pub fn shipped_history(dir: &Path) -> Result<History, DemoError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for (name, text) in [
        ("history.toml", HISTORY),
        ("vn-admin-units-2024.csv", LISTING_2024),
        ("vn-admin-units-2025.csv", LISTING_2025),
        ("vn-commune-merges-2025.csv", MERGES_2025),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(io(&p))?;
    }
    Ok(History::from_path(&dir.join("history.toml"))?)
}

/// Plans the demo of `opts` (no file written but the shipped history in
/// `scratch`).
pub fn plan(opts: &DemoOptions, scratch: &Path) -> Result<Plan, DemoError> {
    let bad = |e: String| DemoError::Province(opts.province.clone(), e);
    match opts.listing {
        2024 => {
            let all = Topology::from_csv_reader(
                LISTING_2024.as_bytes(),
                "deploy/topology/vn-admin-units-2024.csv",
            )
            .map_err(|e| bad(e.to_string()))?;
            let province: UnitId = format!("p{:0>2}", opts.province)
                .parse()
                .map_err(|e| bad(format!("{e}")))?;
            let topo = all.province(province).map_err(|e| bad(e.to_string()))?;
            let (before, tally) = workload::year(&topo, province, opts.year, opts.seed, opts.scale);
            Ok(Plan {
                history: History::single(topo)?,
                province,
                old_provinces: Vec::new(),
                reform: None,
                before,
                after: Vec::new(),
                tally,
            })
        }
        2025 => plan_today(opts, scratch),
        other => Err(bad(format!(
            "--listing {other}: the demo runs 2025 (today's structure) or 2024"
        ))),
    }
}

fn plan_today(opts: &DemoOptions, scratch: &Path) -> Result<Plan, DemoError> {
    let bad = |e: String| DemoError::Province(opts.province.clone(), e);
    let shipped = shipped_history(scratch)?;
    let today = shipped.today();
    let reform = today
        .from()
        .ok_or_else(|| bad("the shipped history has one listing".into()))?;
    let province = UnitId::in_edition(
        Level::Province,
        opts.province
            .parse()
            .map_err(|_| bad("must be a province code such as 33".into()))?,
        today.edition(),
    )
    .map_err(|e| bad(format!("{e}")))?;
    if !shipped.topology().roots().contains(&province) {
        let mut codes: Vec<String> = shipped
            .topology()
            .roots()
            .iter()
            .filter(|p| p.edition() == today.edition())
            .map(|p| p.code_str())
            .collect();
        codes.sort();
        return Err(bad(format!(
            "not a province of today's listing; one of {}",
            codes.join(", ")
        )));
    }
    let history = shipped.province(province)?;
    let topo = history.topology();
    let old_provinces: Vec<UnitId> = topo
        .roots()
        .iter()
        .copied()
        .filter(|p| p.edition() == Edition::FIRST)
        .collect();
    let year = reform.year();
    let last_old_day = reform.ordinal().saturating_sub(1).max(1);
    let mut tally = Tally::default();
    let mut add = |t: Tally| {
        tally.events += t.events;
        tally.inspections += t.inspections;
        tally.awareness += t.awareness;
        tally.tips += t.tips;
        tally.corrections += t.corrections;
    };
    // The old provinces: two whole years and the first half of the reform
    // year, under three tiers.
    let mut before = Vec::new();
    for &p in &old_provinces {
        for (y, window) in [
            (year - 2, Window::YEAR),
            (year - 1, Window::YEAR),
            (
                year,
                Window {
                    first: 1,
                    last: last_old_day,
                },
            ),
        ] {
            let (mut planned, t) = workload::activity(topo, p, y, window, opts.seed, opts.scale);
            add(t);
            // A district's own target would land, by today's structure, on
            // today's province beside the province's own: which applies
            // depends on which was recorded last, not something a replay
            // of the plan can know. The demo leaves districts' targets out.
            planned.retain(|e| {
                !(e.at.level() == Level::District
                    && matches!(
                        e.draft.body.as_ref().and_then(|b| b.kind.as_ref()),
                        Some(Kind::TargetSet(_))
                    ))
            });
            before.extend(planned);
        }
    }
    // Today's province: the second half of the reform year, two tiers.
    let (after, t) = workload::activity(
        topo,
        province,
        year,
        Window {
            first: last_old_day + 1,
            last: 365,
        },
        opts.seed,
        opts.scale,
    );
    add(t);
    tally.events = (before.len() + after.len()) as u64;
    Ok(Plan {
        history,
        province,
        old_provinces,
        reform: Some(reform),
        before,
        after,
        tally,
    })
}

/// A running demo: the nodes and the hub.
#[derive(Debug)]
pub struct Demo {
    /// Today's province.
    pub province: UnitId,
    /// The provinces of the old structure that formed it (empty with one
    /// listing).
    pub old_provinces: Vec<UnitId>,
    /// The reform date (`None` with one listing).
    pub reform: Option<Date>,
    /// Its history, as the nodes and the hub read it.
    pub history: Arc<History>,
    /// Where the data lives.
    pub dir: PathBuf,
    /// The hub.
    pub hub: Arc<Hub>,
    /// The hub's gRPC address.
    pub hub_addr: SocketAddr,
    /// The dashboard's address.
    pub web_addr: SocketAddr,
    /// Events generated and submitted.
    pub tally: Tally,
    /// Nodes that ran (every unit of every listing).
    pub nodes_run: usize,
    /// How long it took to be ready.
    pub ready_in: Duration,
    fleet: Fleet,
    running_hub: RunningHub,
}

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |e| DemoError::Io(p.to_path_buf(), e)
}

fn bar(show: bool, len: u64, msg: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template("{msg:<38} [{bar:40}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    b.set_message(msg.to_string());
    b
}

/// The demo's nodes: one listener address per unit, and the running ones.
#[derive(Debug)]
struct Fleet {
    dir: PathBuf,
    /// Where each unit's node listens (bound up front, so every parent's
    /// address is known before any node starts).
    addr_of: HashMap<UnitId, SocketAddr>,
    listeners: HashMap<UnitId, TcpListener>,
    /// An address nothing answers at: the parent of an offline commune.
    dead: SocketAddr,
    running: HashMap<UnitId, (CancellationToken, JoinHandle<Result<(), NodeError>>)>,
}

impl Fleet {
    async fn bind(dir: &Path, units: &[UnitId]) -> Result<Fleet, DemoError> {
        let mut listeners = HashMap::new();
        let mut addr_of = HashMap::new();
        for u in units {
            let l = TcpListener::bind("127.0.0.1:0").await.map_err(io(dir))?;
            addr_of.insert(*u, l.local_addr().map_err(io(dir))?);
            listeners.insert(*u, l);
        }
        let dead = TcpListener::bind("127.0.0.1:0").await.map_err(io(dir))?;
        let dead_addr = dead.local_addr().map_err(io(dir))?;
        drop(dead);
        Ok(Fleet {
            dir: dir.to_path_buf(),
            addr_of,
            listeners,
            dead: dead_addr,
            running: HashMap::new(),
        })
    }

    /// Starts `unit`'s node reading `topology`, pushing to `parent` (or to
    /// nowhere when `offline`), on its bound listener the first time and a
    /// fresh port afterwards (nothing dials an old unit after the switch).
    async fn start(
        &mut self,
        unit: UnitId,
        topology: &Path,
        parent: Option<UnitId>,
        offline: bool,
    ) -> Result<(), DemoError> {
        self.stop(&[unit]).await;
        let listener = match self.listeners.remove(&unit) {
            Some(l) => l,
            None => TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(io(&self.dir))?,
        };
        let parent = match parent {
            Some(p) => {
                let a = if offline {
                    self.dead
                } else {
                    *self
                        .addr_of
                        .get(&p)
                        .ok_or_else(|| DemoError::Node(unit, format!("no address for {p}")))?
                };
                Some((p, format!("https://{a}")))
            }
            None => None,
        };
        let config = sync178_node::Config {
            unit,
            topology: topology.to_path_buf(),
            data_dir: self.dir.join("nodes").join(unit.to_string()),
            listen: ([127, 0, 0, 1], 0).into(),
            parent: parent.map(|(u, endpoint)| ParentConfig {
                endpoint,
                unit: Some(u),
            }),
            tls: certs::province_files(&self.dir.join("certs"), Identity::new(unit, Role::Node)),
            limits: Limits::default(),
            entry: None,
            uplink: UplinkConfig {
                backoff_min_ms: 50,
                backoff_max_ms: 1000,
                // Every demo unit is new (it never recorded anywhere), and
                // communes start offline: they may record before first contact.
                record_before_first_contact: true,
                ..UplinkConfig::default()
            },
        };
        let token = CancellationToken::new();
        let task = tokio::spawn(sync178_node::run(config, listener, token.clone()));
        self.running.insert(unit, (token, task));
        Ok(())
    }

    /// Stops the nodes of `units` that run: all asked first, then awaited.
    async fn stop(&mut self, units: &[UnitId]) {
        let stopping: Vec<_> = units
            .iter()
            .filter_map(|u| self.running.remove(u))
            .collect();
        for (token, _) in &stopping {
            token.cancel();
        }
        for (_, task) in stopping {
            let _ = task.await;
        }
    }

    /// Stops every running node: all asked first, then awaited.
    async fn stop_all(&mut self) {
        let units: Vec<UnitId> = self.running.keys().copied().collect();
        self.stop(&units).await;
    }

    /// Where `unit`'s node listened first (where the recorders submit).
    fn addr(&self, unit: UnitId) -> Result<SocketAddr, DemoError> {
        self.addr_of
            .get(&unit)
            .copied()
            .ok_or_else(|| DemoError::Node(unit, "not in the demo".into()))
    }
}

/// Empties a demo folder from an earlier run (and only a demo folder).
fn fresh_dir(dir: &Path) -> Result<(), DemoError> {
    if dir.join(".sync178-demo").exists() {
        std::fs::remove_dir_all(dir).map_err(io(dir))?;
    } else if dir.exists() && std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
        return Err(DemoError::Io(
            dir.to_path_buf(),
            std::io::Error::other(
                "folder exists and is not a demo folder; choose another with --dir",
            ),
        ));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    std::fs::write(
        dir.join(".sync178-demo"),
        b"data of sync178-hub demo; safe to delete\n",
    )
    .map_err(io(dir))
}

/// Starts the whole province and feeds it its activity; returns once the
/// hub has applied every event.
pub async fn start(opts: &DemoOptions) -> Result<Demo, DemoError> {
    let t0 = Instant::now();
    sync178_shared::tls::init_crypto();
    let dir = opts.dir.clone();
    fresh_dir(&dir)?;
    let plan = plan(opts, &dir.join("shipped"))?;
    let province = plan.province;
    // The history every node and the hub read: the province's own cut.
    let manifest = plan.history.write(&dir.join("topology"))?;
    certs::issue_history(&plan.history, province, &dir.join("certs"))?;
    let topo = plan.history.topology();
    let units: Vec<UnitId> = topo.units().collect();
    let mut fleet = Fleet::bind(&dir, &units).await?;
    let mut hub: Option<RunningHub> = None;
    // On any error below, what was started is stopped and awaited before
    // the error is returned: no node or hub keeps running behind it.
    let started = async {
        let old: Vec<UnitId> = if plan.reform.is_some() {
            units
                .iter()
                .copied()
                .filter(|u| u.edition() == Edition::FIRST)
                .collect()
        } else {
            units.clone()
        };
        // Two communes start offline; with a reform the second one stays
        // offline across the switch.
        let offline: Vec<UnitId> = old
            .iter()
            .filter(|u| u.level() == Level::Commune)
            .copied()
            .step_by(37)
            .take(2)
            .collect();
        // Before the reform the old units' nodes read the old listing alone, as
        // they were installed.
        let old_listing = dir
            .join("topology")
            .join(format!("listing-{}.csv", Edition::FIRST.year()));
        let old_topo = Topology::from_csv_path(&old_listing)
            .map_err(|e| DemoError::Province(opts.province.clone(), e.to_string()))?;
        let starting = bar(
            opts.progress,
            old.len() as u64,
            if plan.reform.is_some() {
                "starting the old structure's nodes"
            } else {
                "starting nodes (mTLS, sled)"
            },
        );
        for u in &old {
            fleet
                .start(*u, &old_listing, old_topo.parent(*u), offline.contains(u))
                .await?;
            starting.inc(1);
        }
        starting.finish();

        let hub_start = |fleet: &Fleet| -> Result<_, DemoError> {
            Ok(RunningHub::start(
                &dir,
                &manifest,
                province,
                fleet.addr(province)?,
                opts.web,
            ))
        };
        if plan.reform.is_none() {
            hub = Some(hub_start(&fleet)?.await?);
        }

        let recording = bar(
            opts.progress,
            plan.before.len() as u64,
            if let Some(r) = plan.reform {
                format!(
                    "recording until {} (three tiers)",
                    sync178_shared::period::format_date(r.previous_day().unwrap_or(r))
                )
            } else {
                "recording a year of activity".to_owned()
            }
            .as_str(),
        );
        submit_all(&dir, &fleet, &plan.before, &recording).await?;
        recording.finish();

        // The offline communes come back under the old structure: both without
        // a reform, the first one only with a reform.
        let back = if plan.reform.is_some() {
            1
        } else {
            offline.len()
        };
        for u in offline.iter().take(back) {
            fleet
                .start(*u, &old_listing, old_topo.parent(*u), false)
                .await?;
        }

        if plan.reform.is_some() {
            // The switch, in the order an IT officer follows (README): today's
            // province node, every old node on the history pushing to it (the
            // second offline commune still offline), today's communes, the hub.
            let today: Vec<UnitId> = topo.subtree(province);
            let switching = bar(
                opts.progress,
                (old.len() + today.len()) as u64,
                "switching to two tiers",
            );
            fleet.start(province, &manifest, None, false).await?;
            switching.inc(1);
            for u in &old {
                let parent = plan.history.parent_today(*u);
                let still_offline = offline.get(1) == Some(u);
                fleet.start(*u, &manifest, parent, still_offline).await?;
                switching.inc(1);
            }
            for u in today.iter().filter(|u| **u != province) {
                fleet
                    .start(*u, &manifest, plan.history.parent_today(*u), false)
                    .await?;
                switching.inc(1);
            }
            switching.finish();
            hub = Some(hub_start(&fleet)?.await?);
            let recording = bar(
                opts.progress,
                plan.after.len() as u64,
                "recording under two tiers",
            );
            submit_all(&dir, &fleet, &plan.after, &recording).await?;
            recording.finish();
            // The commune offline across the switch comes back, on the history.
            if let Some(u) = offline.get(1) {
                fleet
                    .start(*u, &manifest, plan.history.parent_today(*u), false)
                    .await?;
            }
        }
        let Some(hub) = hub.as_ref() else {
            return Err(DemoError::Timeout("the hub did not start".into()));
        };

        // Wait until the hub has applied every event.
        let syncing = bar(
            opts.progress,
            plan.tally.events,
            "syncing to the province and hub",
        );
        let mut changed = hub.hub.changed.subscribe();
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let at = *changed.borrow_and_update();
            syncing.set_position(at.min(plan.tally.events));
            if at >= plan.tally.events {
                break;
            }
            if Instant::now() > deadline {
                return Err(DemoError::Timeout(format!(
                    "the hub applied {at} of {} events",
                    plan.tally.events
                )));
            }
            let _ = tokio::time::timeout(Duration::from_millis(500), changed.changed()).await;
        }
        syncing.finish();
        Ok::<(), DemoError>(())
    }
    .await;
    let hub = match (started, hub) {
        (Ok(()), Some(hub)) => hub,
        (started, hub) => {
            if let Some(hub) = hub {
                hub.stop().await;
            }
            fleet.stop_all().await;
            return Err(started
                .err()
                .unwrap_or_else(|| DemoError::Timeout("the hub did not start".into())));
        }
    };
    Ok(Demo {
        province,
        old_provinces: plan.old_provinces,
        reform: plan.reform,
        history: hub.hub.history.clone(),
        dir,
        hub: hub.hub.clone(),
        hub_addr: hub.addr,
        web_addr: hub.web_addr,
        tally: plan.tally,
        nodes_run: units.len(),
        ready_in: t0.elapsed(),
        fleet,
        running_hub: hub,
    })
}

/// The hub and its dashboard, following today's province node.
#[derive(Debug)]
struct RunningHub {
    hub: Arc<Hub>,
    addr: SocketAddr,
    web_addr: SocketAddr,
    /// Cancels both tasks.
    token: CancellationToken,
    /// The hub (feed follower and gRPC).
    task: JoinHandle<Result<(), HubError>>,
    /// The dashboard.
    web_task: JoinHandle<()>,
}

impl RunningHub {
    async fn start(
        dir: &Path,
        topology: &Path,
        province: UnitId,
        node: SocketAddr,
        web: SocketAddr,
    ) -> Result<RunningHub, DemoError> {
        let cfg = crate::Config {
            data_dir: dir.join("hub"),
            topology: topology.to_path_buf(),
            listen: ([127, 0, 0, 1], 0).into(),
            node: crate::config::NodeLink {
                endpoint: format!("https://{node}"),
                unit: province,
            },
            tls: certs::province_files(&dir.join("certs"), Identity::new(province, Role::Hub)),
            tipoff_deadline_days: 20,
            snapshot_every_ms: 500,
            web: None,
        };
        let (hub, tls) = crate::open(&cfg)?;
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(io(dir))?;
        let addr = listener.local_addr().map_err(io(dir))?;
        let token = CancellationToken::new();
        let web_listener = TcpListener::bind(web).await.map_err(io(dir))?;
        let web_addr = web_listener.local_addr().map_err(io(dir))?;
        let web_cfg = crate::config::WebConfig {
            listen: web_addr,
            ..crate::config::WebConfig::default()
        };
        let web_hub = hub.clone();
        let web_token = token.clone();
        let web_task = tokio::spawn(async move {
            if let Err(e) = crate::web::serve(web_hub, web_listener, web_cfg, None, web_token).await
            {
                tracing::error!(error = %e, "dashboard stopped");
            }
        });
        let task = tokio::spawn(crate::run_with(
            hub.clone(),
            tls,
            cfg,
            listener,
            token.clone(),
        ));
        Ok(RunningHub {
            hub,
            addr,
            web_addr,
            token,
            task,
            web_task,
        })
    }

    /// Stops the hub and its dashboard, and waits for both.
    async fn stop(self) {
        self.token.cancel();
        let _ = self.task.await;
        let _ = self.web_task.await;
    }
}

async fn submit_all(
    dir: &Path,
    fleet: &Fleet,
    planned: &[Planned],
    progress: &ProgressBar,
) -> Result<(), DemoError> {
    let is_fix = |e: &Event| {
        matches!(
            e.body.as_ref().and_then(|b| b.kind.as_ref()),
            Some(Kind::EventVoided(_) | Kind::EventCorrected(_))
        )
    };
    let mut by_unit: HashMap<UnitId, (Vec<Event>, Vec<Event>)> = HashMap::new();
    for p in planned {
        let e = by_unit.entry(p.at).or_default();
        if is_fix(&p.draft) {
            e.1.push(p.draft.clone())
        } else {
            e.0.push(p.draft.clone())
        }
    }
    let certs_dir = dir.join("certs");
    let mut tasks = tokio::task::JoinSet::new();
    for (unit, (events, fixes)) in by_unit {
        let files = certs::province_files(&certs_dir, Identity::new(unit, Role::Recorder));
        let addr = fleet.addr(unit)?;
        let progress = progress.clone();
        tasks.spawn(async move {
            let err = |e: String| DemoError::Submit(unit, e);
            let tls = files.load().map_err(|e| err(e.to_string()))?;
            let dialer = tls
                .dialer(Identity::new(unit, Role::Node), None)
                .map_err(|e| err(e.to_string()))?;
            let ep = dialer
                .endpoint(&format!("https://{addr}"))
                .map_err(|e| err(e.to_string()))?;
            let ch = dialer.connect(ep).await.map_err(|e| err(e.to_string()))?;
            let mut client = IngestClient::new(ch);
            for chunk in events.chunks(500).chain(std::iter::once(fixes.as_slice())) {
                if chunk.is_empty() {
                    continue;
                }
                let r = client
                    .submit(SubmitRequest {
                        events: chunk.to_vec(),
                    })
                    .await
                    .map_err(|s| err(s.message().to_string()))?
                    .into_inner();
                if let Some(x) = r.rejected.first() {
                    return Err(err(format!("event {}: {}: {}", x.index, x.field, x.reason)));
                }
                progress.inc(chunk.len() as u64);
            }
            Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.map_err(|e| DemoError::Timeout(format!("submit task: {e}")))??;
    }
    Ok(())
}

/// The figures of `year` in both views, as `state` holds them.
fn figures(
    state: &State,
    history: &History,
    province: UnitId,
    old_provinces: &[UnitId],
    year: i32,
    deadline: u32,
) -> Result<DemoKpis, query::QueryError> {
    let topo = history.topology();
    let y = year as u32;
    let today = query::kpis(state.view(View::Today), topo, province, y, deadline, false)?;
    let p = sync178_shared::period::Period::Year { year };
    let mut as_recorded = Vec::new();
    let then: Vec<UnitId> = if old_provinces.is_empty() {
        vec![province]
    } else {
        // The provinces in force during the year: the old ones until the
        // reform, today's from it.
        std::iter::once(province)
            .chain(old_provinces.iter().copied())
            .filter(|u| {
                history.listing(u.edition()).is_some_and(|l| {
                    l.from().is_none_or(|f| f <= p.last_day())
                        && l.until().is_none_or(|t| p.first_day() <= t)
                })
            })
            .collect()
    };
    for u in then {
        as_recorded.push(query::kpis(
            state.view(View::AsRecorded),
            topo,
            u,
            y,
            deadline,
            false,
        )?);
    }
    Ok(DemoKpis { today, as_recorded })
}

impl Demo {
    /// The KPIs of `year` in both views, as the hub answers them.
    pub fn kpis(&self, year: i32) -> Result<DemoKpis, query::QueryError> {
        figures(
            &self.hub.read(),
            &self.history,
            self.province,
            &self.old_provinces,
            year,
            self.hub.deadline_days,
        )
    }

    /// Events the hub has applied.
    pub fn hub_checkpoint(&self) -> u64 {
        self.hub.read().checkpoint
    }

    /// Stops the hub and every node.
    pub async fn stop(mut self) {
        self.running_hub.stop().await;
        self.fleet.stop_all().await;
    }
}

/// The KPIs computed from the plan's own events, replayed locally without
/// any node or network: what the demo's tables must show.
pub fn expected_kpis(
    opts: &DemoOptions,
    scratch: &Path,
    deadline: u32,
) -> Result<DemoKpis, DemoError> {
    let plan = plan(opts, scratch)?;
    let mut state = State::new(&plan.history);
    let mut seqs: HashMap<UnitId, u64> = HashMap::new();
    let mut by_id: HashMap<Vec<u8>, (UnitId, u64)> = HashMap::new();
    let mut events: Vec<Event> = Vec::new();
    for p in plan.before.iter().chain(&plan.after) {
        let mut ev = p.draft.clone();
        let seq = seqs.entry(p.at).or_default();
        *seq += 1;
        ev.origin = p.at.to_string();
        ev.seq = *seq;
        if let Some(Kind::EventVoided(v)) = ev.body.as_mut().and_then(|b| b.kind.as_mut()) {
            v.target_seq = by_id.get(&v.target_id).map_or(0, |t| t.1);
        }
        by_id.insert(ev.id.clone(), (p.at, *seq));
        events.push(ev);
    }
    let index: HashMap<(String, u64), usize> = events
        .iter()
        .enumerate()
        .map(|(i, e)| ((e.origin.clone(), e.seq), i))
        .collect();
    let mut fetch = |o: UnitId, s: u64| index.get(&(o.to_string(), s)).map(|i| events[*i].clone());
    for (i, ev) in events.iter().enumerate() {
        let _ = state.apply(&plan.history, i as u64, ev, 0, &mut fetch);
    }
    figures(
        &state,
        &plan.history,
        plan.province,
        &plan.old_provinces,
        opts.year,
        deadline,
    )
    .map_err(|e| DemoError::Province(opts.province.clone(), e.to_string()))
}
