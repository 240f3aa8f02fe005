//! `sync178-hub demo`: a whole real province on this machine in one command.
//!
//! Builds the province's tree from the official listing shipped in the
//! project, issues its certificates, starts one node per unit in-process,
//! each listening on loopback with mutual TLS exactly as in production, starts
//! the hub, and feeds a year of activity generated from a seed. Two communes
//! record while offline and catch up. When everything has arrived at the hub
//! it prints the province's KPI table.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sync178_node::config::{Limits, ParentConfig, UplinkConfig};
use sync178_node::{NodeError, certs};
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::ingest_client::IngestClient;
use sync178_shared::proto::v1::{Event, KpiResponse, SubmitRequest};
use sync178_shared::tls::{Identity, Role};
use sync178_shared::topology::Topology;
use sync178_shared::unit::{Level, UnitId};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::state::State;
use crate::workload::{self, Planned, Tally};
use crate::{Hub, HubError, query};

/// The 2024 three-tier listing, shipped in the project.
pub const LISTING_2024: &str = include_str!("../../deploy/topology/vn-admin-units-2024.csv");

/// Options of the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Province code ("33" Hưng Yên, "01" Hà Nội).
    pub province: String,
    /// Seed of the generated activity.
    pub seed: u64,
    /// Year of the activity.
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
    /// The province is not in the listing.
    #[error("province {0}: {1}")]
    Province(String, String),
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

/// A running demo: the nodes and the hub.
#[derive(Debug)]
pub struct Demo {
    /// The province.
    pub province: UnitId,
    /// Its tree.
    pub topology: Arc<Topology>,
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
    /// How long it took to be ready.
    pub ready_in: Duration,
    nodes: HashMap<UnitId, (CancellationToken, JoinHandle<Result<(), NodeError>>)>,
    hub_task: (CancellationToken, JoinHandle<Result<(), HubError>>),
}

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |e| DemoError::Io(p.to_path_buf(), e)
}

fn node_config(
    dir: &Path,
    topo_path: &Path,
    unit: UnitId,
    parent: Option<(UnitId, String)>,
) -> sync178_node::Config {
    sync178_node::Config {
        unit,
        topology: topo_path.to_path_buf(),
        data_dir: dir.join("nodes").join(unit.to_string()),
        listen: ([127, 0, 0, 1], 0).into(),
        parent: parent.map(|(u, endpoint)| ParentConfig {
            endpoint,
            unit: Some(u),
        }),
        tls: certs::province_files(&dir.join("certs"), Identity::new(unit, Role::Node)),
        limits: Limits::default(),
        uplink: UplinkConfig {
            backoff_min_ms: 50,
            backoff_max_ms: 1000,
            // Every demo unit is new (it never recorded anywhere), and two
            // communes start offline: they may record before first contact.
            record_before_first_contact: true,
            ..UplinkConfig::default()
        },
    }
}

fn bar(show: bool, len: u64, msg: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template("{msg:<34} [{bar:40}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    b.set_message(msg.to_string());
    b
}

/// Starts the whole province and feeds it a year of activity; returns once
/// the hub has applied every event.
pub async fn start(opts: &DemoOptions) -> Result<Demo, DemoError> {
    let t0 = Instant::now();
    sync178_shared::tls::init_crypto();
    let all = Topology::from_csv_reader(
        LISTING_2024.as_bytes(),
        "deploy/topology/vn-admin-units-2024.csv",
    )
    .map_err(|e| DemoError::Province(opts.province.clone(), e.to_string()))?;
    let province: UnitId = format!("p{:0>2}", opts.province)
        .parse()
        .map_err(|e| DemoError::Province(opts.province.clone(), format!("{e}")))?;
    let topo = all
        .province(province)
        .map_err(|e| DemoError::Province(opts.province.clone(), e.to_string()))?;
    let topology = Arc::new(topo);
    // A fresh folder each run: the demo's data only.
    let dir = opts.dir.clone();
    if dir.join(".sync178-demo").exists() {
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
    } else if dir.exists() && std::fs::read_dir(&dir).map_err(io(&dir))?.next().is_some() {
        return Err(DemoError::Io(
            dir.clone(),
            std::io::Error::other(
                "folder exists and is not a demo folder; choose another with --dir",
            ),
        ));
    }
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    std::fs::write(
        dir.join(".sync178-demo"),
        b"data of sync178-hub demo; safe to delete\n",
    )
    .map_err(io(&dir))?;
    let topo_path = dir.join("topology.csv");
    let mut f = std::fs::File::create(&topo_path).map_err(io(&topo_path))?;
    topology.write_csv(&mut f).map_err(io(&topo_path))?;
    certs::issue_province(&topology, province, &dir.join("certs"))?;

    // Bind every listener first so every parent's address is known.
    let units = topology.subtree(province);
    let mut listeners = HashMap::new();
    for u in &units {
        let l = TcpListener::bind("127.0.0.1:0").await.map_err(io(&dir))?;
        listeners.insert(*u, l);
    }
    let addr_of: HashMap<UnitId, SocketAddr> = listeners
        .iter()
        .filter_map(|(u, l)| l.local_addr().ok().map(|a| (*u, a)))
        .collect();
    // Two communes start offline: their parent address refuses connections.
    let offline: Vec<UnitId> = units
        .iter()
        .filter(|u| u.level() == Level::Commune)
        .copied()
        .step_by(37)
        .take(2)
        .collect();
    let dead = TcpListener::bind("127.0.0.1:0").await.map_err(io(&dir))?;
    let dead_addr = dead.local_addr().map_err(io(&dir))?;
    drop(dead);
    let mut nodes = HashMap::new();
    let starting = bar(
        opts.progress,
        units.len() as u64,
        "starting nodes (mTLS, sled)",
    );
    for u in &units {
        let parent = topology.parent(*u).map(|p| {
            let a = if offline.contains(u) {
                dead_addr
            } else {
                addr_of[&p]
            };
            (p, format!("https://{a}"))
        });
        let cfg = node_config(&dir, &topo_path, *u, parent);
        let token = CancellationToken::new();
        let listener = listeners
            .remove(u)
            .ok_or_else(|| DemoError::Node(*u, "no listener".into()))?;
        let task = tokio::spawn(sync178_node::run(cfg, listener, token.clone()));
        nodes.insert(*u, (token, task));
        starting.inc(1);
    }
    starting.finish();

    // The hub, following the province's node.
    let hub_cfg = crate::Config {
        data_dir: dir.join("hub"),
        topology: topo_path.clone(),
        listen: ([127, 0, 0, 1], 0).into(),
        node: crate::config::NodeLink {
            endpoint: format!("https://{}", addr_of[&province]),
            unit: province,
        },
        tls: certs::province_files(&dir.join("certs"), Identity::new(province, Role::Hub)),
        tipoff_deadline_days: 20,
        snapshot_every_ms: 500,
        web: None,
    };
    let (hub, tls) = crate::open(&hub_cfg)?;
    let hub_listener = TcpListener::bind("127.0.0.1:0").await.map_err(io(&dir))?;
    let hub_addr = hub_listener.local_addr().map_err(io(&dir))?;
    let hub_token = CancellationToken::new();
    let web_listener = TcpListener::bind(opts.web).await.map_err(io(&dir))?;
    let web_addr = web_listener.local_addr().map_err(io(&dir))?;
    let web_cfg = crate::config::WebConfig {
        listen: web_addr,
        ..crate::config::WebConfig::default()
    };
    let web_hub = hub.clone();
    let web_token = hub_token.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::web::serve(web_hub, web_listener, web_cfg, None, web_token).await {
            tracing::error!(error = %e, "dashboard stopped");
        }
    });
    let hub_task = tokio::spawn(crate::run_with(
        hub.clone(),
        tls,
        hub_cfg,
        hub_listener,
        hub_token.clone(),
    ));

    // A year of activity, submitted by each unit's recorder.
    let (planned, tally) = workload::year(&topology, province, opts.year, opts.seed, opts.scale);
    let feeding = bar(
        opts.progress,
        planned.len() as u64,
        "recording a year of activity",
    );
    submit_all(&dir, &addr_of, &planned, &feeding).await?;
    feeding.finish();

    // The offline communes come back: restart them with their real parent.
    for u in &offline {
        if let Some((token, task)) = nodes.remove(u) {
            token.cancel();
            let _ = task.await;
        }
        let listener = TcpListener::bind(addr_of[u]).await.map_err(io(&dir))?;
        let parent = topology
            .parent(*u)
            .map(|p| (p, format!("https://{}", addr_of[&p])));
        let token = CancellationToken::new();
        let task = tokio::spawn(sync178_node::run(
            node_config(&dir, &topo_path, *u, parent),
            listener,
            token.clone(),
        ));
        nodes.insert(*u, (token, task));
    }

    // Wait until the hub has applied every event.
    let syncing = bar(
        opts.progress,
        tally.events,
        "syncing to the province and hub",
    );
    let mut changed = hub.changed.subscribe();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let at = *changed.borrow_and_update();
        syncing.set_position(at.min(tally.events));
        if at >= tally.events {
            break;
        }
        if Instant::now() > deadline {
            return Err(DemoError::Timeout(format!(
                "the hub applied {at} of {} events",
                tally.events
            )));
        }
        let _ = tokio::time::timeout(Duration::from_millis(500), changed.changed()).await;
    }
    syncing.finish();
    Ok(Demo {
        province,
        topology,
        dir,
        hub,
        hub_addr,
        web_addr,
        tally,
        ready_in: t0.elapsed(),
        nodes,
        hub_task: (hub_token, hub_task),
    })
}

async fn submit_all(
    dir: &Path,
    addr_of: &HashMap<UnitId, SocketAddr>,
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
        let addr = addr_of[&unit];
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

impl Demo {
    /// The province's KPIs for the demo year, as the hub answers them.
    pub fn kpis(&self, year: i32) -> Result<KpiResponse, query::QueryError> {
        let s = self.hub.read();
        query::kpis(
            &s,
            &self.topology,
            self.province,
            year as u32,
            self.hub.deadline_days,
            false,
        )
    }

    /// Events the province's node holds.
    pub fn hub_checkpoint(&self) -> u64 {
        self.hub.read().checkpoint
    }

    /// Stops the hub and every node.
    pub async fn stop(self) {
        self.hub_task.0.cancel();
        let _ = self.hub_task.1.await;
        for (_, (token, task)) in self.nodes {
            token.cancel();
            let _ = task.await;
        }
    }
}

/// The KPIs computed from the generator's own events, replayed locally
/// without any node or network: what the demo's table must show.
pub fn expected_kpis(
    topology: &Topology,
    province: UnitId,
    year: i32,
    seed: u64,
    scale: u32,
    deadline: u32,
) -> Result<KpiResponse, query::QueryError> {
    let (planned, _) = workload::year(topology, province, year, seed, scale);
    let mut state = State::default();
    let mut seqs: HashMap<UnitId, u64> = HashMap::new();
    let mut by_id: HashMap<Vec<u8>, (UnitId, u64)> = HashMap::new();
    let mut events: Vec<Event> = Vec::new();
    for p in planned {
        let mut ev = p.draft;
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
        let _ = state.apply(topology, i as u64, ev, 0, &mut fetch);
    }
    query::kpis(&state, topology, province, year as u32, deadline, false)
}
