//! In-process topologies of real nodes on loopback with real certificates:
//! each node runs `sync178_node::run` on `127.0.0.1:0`, and each child reaches
//! its parent through a [`Proxy`] the test can cut, heal and retarget.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sync178_node::config::{Config, Limits, ParentConfig, UplinkConfig};
use sync178_node::{NodeError, certs};
use sync178_shared::history::History;
use sync178_shared::proto::v1::admin_client::AdminClient;
use sync178_shared::proto::v1::feed_client::FeedClient;
use sync178_shared::proto::v1::ingest_client::IngestClient;
use sync178_shared::proto::v1::sync_client::SyncClient;
use sync178_shared::proto::v1::{
    Accepted, Event, StatusRequest, StatusResponse, SubmitRequest, SubscribeRequest,
};
use sync178_shared::testing::draft;
use sync178_shared::tls::{Identity, Role, TlsFiles};
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::proxy::Proxy;

/// A province with `districts` × `communes` taken from the shipped 2024
/// listing of Hưng Yên (p33), as CSV text.
pub fn hung_yen(districts: usize, communes: usize) -> String {
    province_subset("33", districts, communes)
}

/// The first `districts` districts of province `code` in the shipped 2024
/// listing, with their first `communes` communes each, as listing CSV.
pub fn province_subset(code: &str, districts: usize, communes: usize) -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/topology/vn-admin-units-2024.csv");
    let text = std::fs::read_to_string(&path).expect("shipped listing");
    let mut lines = text.lines();
    let header = lines.next().expect("header").to_string();
    let mut out = vec![header];
    let mut per: Vec<(String, usize)> = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        if f[0] != code {
            continue;
        }
        let d = f[2].to_string();
        let known = per.iter().position(|(x, _)| *x == d);
        match known {
            Some(i) if per[i].1 < communes => {
                per[i].1 += 1;
                out.push(line.to_string());
            }
            Some(_) => {}
            None if per.len() < districts => {
                per.push((d, 1));
                out.push(line.to_string());
            }
            None => {}
        }
    }
    out.join("\n") + "\n"
}

/// A running node.
#[derive(Debug)]
pub struct RunningNode {
    /// Where it listens.
    pub addr: SocketAddr,
    token: CancellationToken,
    task: JoinHandle<Result<(), NodeError>>,
}

/// A whole topology of in-process nodes.
#[derive(Debug)]
pub struct Cluster {
    /// Scratch folder: topology, certificates, data.
    pub dir: tempfile::TempDir,
    /// The tree.
    pub topology: Arc<Topology>,
    /// The tree as a history of one listing (what the hub reads).
    pub history: Arc<History>,
    /// The province (root).
    pub province: UnitId,
    topo_path: PathBuf,
    certs: PathBuf,
    nodes: Mutex<HashMap<UnitId, RunningNode>>,
    proxies: HashMap<UnitId, Proxy>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Cluster {
    /// Writes the topology, issues certificates and starts one node per unit.
    pub async fn start(csv: &str) -> Cluster {
        sync178_shared::tls::init_crypto();
        let dir = tempfile::tempdir().expect("tempdir");
        let topo_path = dir.path().join("topology.csv");
        std::fs::write(&topo_path, csv).expect("writes topology");
        let topology = Arc::new(Topology::from_csv_path(&topo_path).expect("topology loads"));
        let province = topology.roots()[0];
        let certs = dir.path().join("certs");
        certs::issue_province(&topology, province, &certs).expect("certificates");
        // Other provinces of the listing (a test of a province merge runs
        // two) get node and recorder certificates from the same CA; the hub
        // and operator folders stay the first province's.
        for p in topology.roots().iter().skip(1) {
            let keep = |role: &str, back: bool| {
                let (a, b) = (certs.join(role), certs.join(format!("{role}.first")));
                let (from, to) = if back { (b, a) } else { (a, b) };
                if back {
                    let _ = std::fs::remove_dir_all(&to);
                }
                std::fs::rename(from, to).expect("moves the first province's folder");
            };
            keep("hub", false);
            keep("operator", false);
            certs::issue_province(&topology, *p, &certs).expect("certificates");
            keep("hub", true);
            keep("operator", true);
        }
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        // A proxy in front of every unit, first pointing nowhere useful.
        let mut proxies = HashMap::new();
        let placeholder: SocketAddr = ([127, 0, 0, 1], 9).into();
        for u in topology.units() {
            let p = Proxy::start(placeholder, shutdown.clone(), &tasks)
                .await
                .expect("proxy");
            proxies.insert(u, p);
        }
        let history = Arc::new(History::single((*topology).clone()).expect("one listing"));
        let c = Cluster {
            dir,
            topology: topology.clone(),
            history,
            province,
            topo_path,
            certs,
            nodes: Mutex::new(HashMap::new()),
            proxies,
            shutdown,
            tasks,
        };
        for u in topology.units() {
            c.start_node(u).await;
        }
        c
    }

    /// Moves the cluster to a history of two listings: its listing until the
    /// day before `from`, then `listing` (a two-tier CSV) with `merges` (the
    /// merge table between them). Issues certificates for the new
    /// province's units and puts a proxy in front of each; running nodes
    /// keep the history they started with until restarted, and a restarted
    /// node of the old listing pushes to today's province.
    pub async fn switch(&mut self, listing: &str, merges: &str, from: &str) {
        let dir = self.dir.path();
        std::fs::write(dir.join("listing-new.csv"), listing).expect("writes listing");
        std::fs::write(dir.join("merges.csv"), merges).expect("writes merges");
        let manifest = dir.join("history.toml");
        let old_name = self
            .topo_path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("topology file name")
            .to_owned();
        let year = &from[..4];
        std::fs::write(
            &manifest,
            format!(
                "[[listing]]\nedition = 2024\nfile = \"{old_name}\"\n\n\
                 [[listing]]\nedition = {year}\nfrom = \"{from}\"\nfile = \"listing-new.csv\"\nmerges = \"merges.csv\"\n"
            ),
        )
        .expect("writes history");
        let history = History::from_path(&manifest).expect("history loads");
        let topology = Arc::new(history.topology().clone());
        let today = history.today().edition();
        let province = *topology
            .roots()
            .iter()
            .find(|p| p.edition() == today)
            .expect("a province in the new listing");
        certs::issue_province(&topology, province, &self.certs).expect("certificates");
        let placeholder: SocketAddr = ([127, 0, 0, 1], 9).into();
        for u in topology.subtree(province) {
            if !self.proxies.contains_key(&u) {
                let p = Proxy::start(placeholder, self.shutdown.clone(), &self.tasks)
                    .await
                    .expect("proxy");
                self.proxies.insert(u, p);
            }
        }
        self.history = Arc::new(history);
        self.topology = topology;
        self.province = province;
        self.topo_path = manifest;
    }

    /// Stops `unit`'s node if it runs, and starts it with `config`.
    pub async fn restart_with(&self, unit: UnitId, config: Config) {
        if self.lock().contains_key(&unit) {
            self.stop_node(unit).await;
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("addr");
        let token = CancellationToken::new();
        let task = tokio::spawn(sync178_node::run(config, listener, token.clone()));
        self.proxies[&unit].retarget(addr);
        self.lock().insert(unit, RunningNode { addr, token, task });
    }

    /// The config of `unit`'s node.
    pub fn config(&self, unit: UnitId) -> Config {
        let parent = self.history.parent_today(unit).map(|p| ParentConfig {
            endpoint: format!("https://{}", self.proxies[&p].addr()),
            unit: Some(p),
        });
        Config {
            unit,
            topology: self.topo_path.clone(),
            data_dir: self.data_dir(unit),
            listen: ([127, 0, 0, 1], 0).into(),
            parent,
            tls: self.files(Identity::new(unit, Role::Node)),
            limits: Limits::default(),
            entry: None,
            uplink: UplinkConfig {
                backoff_min_ms: 20,
                backoff_max_ms: 500,
                stall_retry_secs: 3600,
                connect_timeout_ms: 2000,
                ..UplinkConfig::default()
            },
        }
    }

    /// The data folder of `unit`'s node.
    pub fn data_dir(&self, unit: UnitId) -> PathBuf {
        self.dir.path().join("data").join(unit.to_string())
    }

    /// Certificate files of `id`.
    pub fn files(&self, id: Identity) -> TlsFiles {
        certs::province_files(&self.certs, id)
    }

    /// Starts (or restarts) `unit`'s node on a fresh port and points its proxy there.
    pub async fn start_node(&self, unit: UnitId) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("addr");
        let token = CancellationToken::new();
        let task = tokio::spawn(sync178_node::run(
            self.config(unit),
            listener,
            token.clone(),
        ));
        self.proxies[&unit].retarget(addr);
        let old = self.lock().insert(unit, RunningNode { addr, token, task });
        assert!(old.is_none(), "{unit} was already running");
    }

    /// Stops `unit`'s node and waits until it has finished.
    pub async fn stop_node(&self, unit: UnitId) {
        let n = self.lock().remove(&unit).expect("node running");
        n.token.cancel();
        n.task
            .await
            .expect("node task")
            .expect("node stopped cleanly");
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UnitId, RunningNode>> {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where `unit`'s node listens now (not through its proxy); panics if it is not running.
    pub fn addr(&self, unit: UnitId) -> SocketAddr {
        self.lock().get(&unit).expect("node running").addr
    }

    /// The proxy children use to reach `unit`.
    pub fn proxy(&self, unit: UnitId) -> &Proxy {
        &self.proxies[&unit]
    }

    /// A channel to `unit`'s node with the certificate of `as_id`.
    pub async fn channel(&self, unit: UnitId, as_id: Identity) -> Channel {
        let tls = self.files(as_id).load().expect("certificate loads");
        let dialer = tls
            .dialer(Identity::new(unit, Role::Node), None)
            .expect("dialer");
        let addr = self.lock().get(&unit).expect("node running").addr;
        let ep = dialer
            .endpoint(&format!("https://{addr}"))
            .expect("endpoint");
        dialer.connect(ep).await.expect("connects")
    }

    /// A channel to `unit`'s node with a hand-made TLS config.
    pub async fn try_channel(
        &self,
        unit: UnitId,
        tls: ClientTlsConfig,
    ) -> Result<Channel, tonic::transport::Error> {
        let addr = self.lock().get(&unit).expect("node running").addr;
        Endpoint::from_shared(format!("https://{addr}"))
            .expect("endpoint")
            .tls_config(tls)
            .expect("tls")
            .connect()
            .await
    }

    /// Submits `n` valid events at `unit` as its recorder.
    pub async fn submit(&self, unit: UnitId, n: usize) -> Vec<Accepted> {
        let events: Vec<Event> = (0..n).map(|i| draft(&unit.to_string(), i as u32)).collect();
        self.submit_events(unit, events).await
    }

    /// Submits `events` at `unit` as its recorder; panics on refusal.
    pub async fn submit_events(&self, unit: UnitId, events: Vec<Event>) -> Vec<Accepted> {
        let r = self.try_submit_events(unit, events).await;
        assert!(r.rejected.is_empty(), "refused: {:?}", r.rejected);
        r.accepted
    }

    /// Submits `events` at `unit` as its recorder; the node's answer, refusals included.
    pub async fn try_submit_events(
        &self,
        unit: UnitId,
        events: Vec<Event>,
    ) -> sync178_shared::proto::v1::SubmitResponse {
        let ch = self
            .channel(unit, Identity::new(unit, Role::Recorder))
            .await;
        IngestClient::new(ch)
            .submit(SubmitRequest { events })
            .await
            .expect("submit answers")
            .into_inner()
    }

    /// Submits `n` valid events at `unit` as its recorder; the node's answer as it is.
    pub async fn try_submit(
        &self,
        unit: UnitId,
        n: usize,
    ) -> Result<sync178_shared::proto::v1::SubmitResponse, tonic::Status> {
        let events: Vec<Event> = (0..n).map(|i| draft(&unit.to_string(), i as u32)).collect();
        let ch = self
            .channel(unit, Identity::new(unit, Role::Recorder))
            .await;
        IngestClient::new(ch)
            .submit(SubmitRequest { events })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Status of `unit`'s node, asked as the province operator.
    pub async fn status(&self, unit: UnitId) -> StatusResponse {
        let ch = self
            .channel(unit, Identity::new(self.province, Role::Operator))
            .await;
        AdminClient::new(ch)
            .status(StatusRequest {})
            .await
            .expect("status")
            .into_inner()
    }

    /// A sync client to `unit`'s node presenting `as_id`.
    pub async fn sync_client(&self, unit: UnitId, as_id: Identity) -> SyncClient<Channel> {
        SyncClient::new(self.channel(unit, as_id).await)
    }

    /// Every event of `unit`'s log, read through its feed as the hub.
    pub async fn read_log(&self, unit: UnitId) -> Vec<(u64, Bytes)> {
        let len = self.status(unit).await.log_length;
        let ch = self
            .channel(unit, Identity::new(self.province, Role::Hub))
            .await;
        let mut stream = FeedClient::new(ch)
            .subscribe(SubscribeRequest { from_position: 0 })
            .await
            .expect("subscribes")
            .into_inner();
        let mut out = Vec::new();
        while (out.len() as u64) < len {
            let batch = stream.message().await.expect("feed").expect("feed open");
            out.extend(batch.items.into_iter().map(|i| (i.position, i.event)));
        }
        out
    }

    /// Waits (polling) until `unit`'s node holds `expected` events per origin.
    pub async fn wait_for_heads(
        &self,
        unit: UnitId,
        expected: &HashMap<UnitId, u64>,
        timeout: Duration,
    ) {
        let start = Instant::now();
        loop {
            let s = self.status(unit).await;
            let held: HashMap<String, u64> = s
                .origins
                .iter()
                .map(|o| (o.origin.clone(), o.seq))
                .collect();
            if expected
                .iter()
                .all(|(o, n)| held.get(&o.to_string()).copied().unwrap_or(0) == *n)
            {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "{unit} did not reach {expected:?} within {timeout:?}; it holds {held:?}; uplinks: {:?}",
                s.uplink
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops every node and proxy.
    pub async fn shutdown(self) {
        let units: Vec<UnitId> = self.lock().keys().copied().collect();
        for u in units {
            self.stop_node(u).await;
        }
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// A running hub.
#[derive(Debug)]
pub struct RunningHub {
    /// Where its `Query` service listens.
    pub addr: SocketAddr,
    token: CancellationToken,
    task: JoinHandle<Result<(), sync178_hub::HubError>>,
}

impl RunningHub {
    /// Stops the hub and waits until it has saved its state.
    pub async fn stop(self) {
        self.token.cancel();
        self.task
            .await
            .expect("hub task")
            .expect("hub stopped cleanly");
    }
}

impl Cluster {
    /// The config of a hub following the province's node.
    pub fn hub_config(&self) -> sync178_hub::Config {
        sync178_hub::Config {
            data_dir: self.dir.path().join("hub"),
            topology: self.topo_path.clone(),
            listen: ([127, 0, 0, 1], 0).into(),
            node: sync178_hub::config::NodeLink {
                endpoint: format!("https://{}", self.proxies[&self.province].addr()),
                unit: self.province,
            },
            tls: self.files(Identity::new(self.province, Role::Hub)),
            tipoff_deadline_days: 20,
            snapshot_every_ms: 50,
            web: None,
        }
    }

    /// Starts a hub following the province's node.
    pub async fn start_hub(&self) -> RunningHub {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("addr");
        let token = CancellationToken::new();
        let task = tokio::spawn(sync178_hub::run(self.hub_config(), listener, token.clone()));
        RunningHub { addr, token, task }
    }

    /// A query client to the hub at `addr`, as the province operator.
    pub async fn query(
        &self,
        addr: SocketAddr,
    ) -> sync178_shared::proto::v1::query_client::QueryClient<Channel> {
        let tls = self
            .files(Identity::new(self.province, Role::Operator))
            .load()
            .expect("loads");
        let dialer = tls
            .dialer(Identity::new(self.province, Role::Hub), None)
            .expect("dialer");
        let ep = dialer
            .endpoint(&format!("https://{addr}"))
            .expect("endpoint");
        let ch = dialer.connect(ep).await.expect("connects");
        sync178_shared::proto::v1::query_client::QueryClient::new(ch)
    }

    /// Submits generated activity at each recording unit, in order; voids and
    /// corrections go after the events they target.
    pub async fn submit_planned(&self, planned: &[sync178_hub::workload::Planned]) {
        use sync178_shared::proto::v1::body::Kind;
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
        let tasks = by_unit.into_iter().map(|(u, (events, fixes))| async move {
            for chunk in events.chunks(500) {
                self.submit_events(u, chunk.to_vec()).await;
            }
            if !fixes.is_empty() {
                self.submit_events(u, fixes).await;
            }
        });
        futures::future::join_all(tasks).await;
    }
}
