//! What the node's integration tests share: a commune node running
//! in-process (with its data-entry page when asked), and the real
//! `sync178-node` binary run against it.

use std::path::{Path, PathBuf};
use std::process::Output;

use sync178_node::certs::{issue_province, province_files};
use sync178_node::config::{EntryConfig, Limits, UplinkConfig};
use sync178_node::{Config, Listeners, NodeError};
use sync178_shared::tls::{Identity, Role};
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;
use tokio_util::sync::CancellationToken;

pub(crate) fn unit(s: &str) -> UnitId {
    s.parse().unwrap_or_else(|e| panic!("bad unit id {s}: {e}"))
}

/// A small 2024-format topology: one district of Hưng Yên with two communes.
const TOPOLOGY: &str = "\
province_code,province_name,district_code,district_name,commune_code,commune_name
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11950,Phường Lam Sơn
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11953,Phường Hiến Nam
";

/// A commune node running in-process on 127.0.0.1 with an ephemeral port, and its PKI.
pub(crate) struct Node {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) endpoint: String,
    /// The data-entry page's address, when started with one.
    pub(crate) entry: Option<std::net::SocketAddr>,
    token: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), NodeError>>,
    rt: tokio::runtime::Runtime,
}

impl Node {
    pub(crate) fn start(commune: &str) -> Node {
        Node::start_with(commune, false)
    }

    /// A node, with its data-entry page on another ephemeral port when `entry`.
    pub(crate) fn start_with(commune: &str, entry: bool) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let topology_path = dir.path().join("topology.csv");
        std::fs::write(&topology_path, TOPOLOGY).expect("write topology");
        let topology = Topology::from_csv_path(&topology_path).unwrap_or_else(|e| panic!("{e}"));
        let pki = dir.path().join("pki");
        issue_province(&topology, unit("p33"), &pki).unwrap_or_else(|e| panic!("certs: {e}"));
        Node::run_in(dir, commune, entry)
    }

    /// Starts the node again in the folder of one [`Node::stop`] returned.
    pub(crate) fn start_in(dir: tempfile::TempDir, commune: &str) -> Node {
        Node::run_in(dir, commune, false)
    }

    fn run_in(dir: tempfile::TempDir, commune: &str, entry: bool) -> Node {
        let topology_path = dir.path().join("topology.csv");
        let pki = dir.path().join("pki");
        let me = unit(commune);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let entry_listener = entry.then(|| {
            rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .expect("bind entry")
        });
        let entry_addr = entry_listener
            .as_ref()
            .map(|l| l.local_addr().expect("entry addr"));
        let config = Config {
            unit: me,
            topology: topology_path,
            data_dir: dir.path().join("data"),
            listen: addr,
            parent: None,
            tls: province_files(&pki, Identity::new(me, Role::Node)),
            limits: Limits::default(),
            entry: entry_addr.map(|listen| EntryConfig { listen }),
            uplink: UplinkConfig::default(),
        };
        let token = CancellationToken::new();
        let listeners = Listeners {
            grpc: listener,
            entry: entry_listener,
        };
        let task = rt.spawn(sync178_node::run(config, listeners, token.clone()));
        Node {
            dir,
            endpoint: format!("https://{addr}"),
            entry: entry_addr,
            token,
            task,
            rt,
        }
    }

    pub(crate) fn pki(&self) -> PathBuf {
        self.dir.path().join("pki")
    }

    /// `--endpoint --ca --cert --key` for the certificate of `id`.
    pub(crate) fn conn_args(&self, id: Identity) -> Vec<String> {
        let files = province_files(&self.pki(), id);
        let path = |p: &Path| p.display().to_string();
        vec![
            "--endpoint".into(),
            self.endpoint.clone(),
            "--ca".into(),
            path(&files.ca),
            "--cert".into(),
            path(&files.cert),
            "--key".into(),
            path(&files.key),
        ]
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write input");
        p.display().to_string()
    }

    /// Stops the node; its folder lives on as long as the returned value.
    pub(crate) fn stop(self) -> tempfile::TempDir {
        self.token.cancel();
        let res = self.rt.block_on(self.task).expect("node task");
        assert!(res.is_ok(), "node stopped with {res:?}");
        self.dir
    }
}

/// Runs the real `sync178-node` binary with `args`, isolated from the caller's environment.
pub(crate) fn sync178_node(args: &[String]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sync178-node"));
    for var in [
        "SYNC178_LANG",
        "SYNC178_ENDPOINT",
        "SYNC178_CA",
        "SYNC178_CERT",
        "SYNC178_KEY",
        "SYNC178_NODE_CONFIG",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args).output().expect("run sync178-node")
}

/// Exit code, stdout and stderr of a run, for assertions.
pub(crate) fn result(out: &Output) -> (Option<i32>, String, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn args(lead: &[&str], conn: &[String], tail: &[&str]) -> Vec<String> {
    lead.iter()
        .map(|s| (*s).to_owned())
        .chain(conn.iter().cloned())
        .chain(tail.iter().map(|s| (*s).to_owned()))
        .collect()
}
