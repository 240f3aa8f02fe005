//! `sync178-node deploy`: writes a province's whole set of node configs and certificates from one admin-unit listing or an administrative history, one self-contained folder per node.
//!
//! Layout of the output folder `OUT`:
//!
//! ```text
//! OUT/topology.csv            the deployed units only (the province, or the subset asked for)
//!                             — from a history (`--topology history.toml`), OUT/history.toml
//!                             and the files it names instead: the province's cut, subset
//!                             to the units deployed and the older units now part of them
//! OUT/certs/                  certs::issue_province: ca.pem, ca.key, <unit>/{node,recorder}.*, hub/, operator/
//! OUT/nodes.tsv               one line per node: unit, parent, listen, endpoint, config, name
//! OUT/<unit>/node.toml        the node's config, every path relative to it
//! OUT/<unit>/topology.csv     copy of OUT/topology.csv (or of OUT/history.toml and its files)
//! OUT/<unit>/tls/ca.pem       copy of OUT/certs/ca.pem
//! OUT/<unit>/tls/node.{pem,key}  copies of OUT/certs/<unit>/node.{pem,key}
//! OUT/<province>/hub.toml     the province hub's config (`sync178-hub run --config …`),
//!                             beside the province node's: same topology file and CA
//! OUT/<province>/tls/hub.{pem,key}  copies of the hub's certificate and key
//!                             (OUT/certs/hub/, or OUT/certs/hub-<province>/ for a
//!                             province of a later listing, e.g. p33@2025)
//! ```
//!
//! So `OUT/<unit>/` is everything the unit's machine needs, and `OUT/certs/ca.key`
//! never has to leave the province. Ports are `base_port + index`, the index
//! counting the province first, then its districts, then its communes, each in
//! the order of the listing's rows. Running it again keeps the CA and the
//! certificates, rewrites configs, copies and lists, and never touches `data`.
//!
//! From a history the nodes deployed are today's structure (a province of
//! the last listing and its communes); certificates are issued for every
//! unit of the cut, old ones included, so the old structure's nodes can hand
//! over to today's province under the same CA (README, "Switch-over").

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use sync178_shared::history::{History, HistoryError};
use sync178_shared::tls::{Identity, Role, TlsFiles};
use sync178_shared::topology::{Topology, TopologyError};
use sync178_shared::unit::{Level, UnitId};

use crate::certs::{self, CertError, IssueReport};
use crate::config::{Config, ConfigError};
use crate::i18n::Lang;
use sync178_shared::exit;

/// The config file in each node folder.
pub const NODE_CONFIG_FILE: &str = "node.toml";
/// The topology file, in `OUT` and in each node folder.
pub const TOPOLOGY_FILE: &str = "topology.csv";
/// The history manifest, in `OUT` and in each node folder, from a history.
pub const HISTORY_FILE: &str = "history.toml";
/// The machine-readable list of nodes in `OUT`.
pub const NODES_FILE: &str = "nodes.tsv";
/// The certificates folder in `OUT`.
pub const CERTS_DIR: &str = "certs";
/// The TLS folder in each node folder.
pub const TLS_DIR: &str = "tls";
/// Replaced by the node's unit in `--data-dir` (by the province in `--hub-data-dir`).
pub const UNIT_PLACEHOLDER: &str = "{unit}";
/// The hub's config file, in the province's folder.
pub const HUB_CONFIG_FILE: &str = "hub.toml";
/// The hub's certificate and key in the province's `tls/` folder.
pub const HUB_CERT_FILE: &str = "hub.pem";
/// See [`HUB_CERT_FILE`].
pub const HUB_KEY_FILE: &str = "hub.key";
/// The hub's data folder by default: inside the `StateDirectory` of
/// deploy/systemd/sync178-hub.service, the one place the hub may write under
/// its `ProtectSystem=strict`; one folder per province, so a switch to
/// today's province (p33 → p33@2025) starts a fresh store.
pub const DEFAULT_HUB_DATA_DIR: &str = "/var/lib/sync178-hub/{unit}";
/// The hub's gRPC `Query` port by default (its config's own default).
pub const DEFAULT_HUB_PORT: u16 = 7300;
/// The hub's web page port by default (its config's own default).
pub const DEFAULT_HUB_WEB_PORT: u16 = 7380;

/// The `deploy` subcommand's arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    /// The administrative history (deploy/topology/history.toml: today's
    /// structure, with the old units that merged into it), or one listing
    /// CSV in the GSO format (e.g. deploy/topology/vn-admin-units-2024.csv).
    #[arg(long)]
    pub topology: PathBuf,
    /// The province, e.g. p33@2025 (today's Hưng Yên) or p33 with a 2024 listing.
    #[arg(long)]
    pub province: UnitId,
    /// Only the first N districts, in listing order (three-tier listings only).
    #[arg(long, value_name = "N")]
    pub districts: Option<usize>,
    /// Only the first M communes of each district (of the province in a two-tier listing), in listing order.
    #[arg(long, value_name = "M")]
    pub communes: Option<usize>,
    /// Output folder: topology.csv, certs/, nodes.tsv and one folder per node.
    #[arg(long)]
    pub out: PathBuf,
    /// Port of the province's node; the others follow (districts, then communes).
    #[arg(long, default_value_t = 7100)]
    pub base_port: u16,
    /// Address every node listens on and every child dials.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// `data_dir` written into every node.toml, `{unit}` replaced by the
    /// node's unit; relative to the node's folder (with the systemd units:
    /// /var/lib/sync178/{unit}).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// The hub's `data_dir` in OUT/<province>/hub.toml, `{unit}` replaced
    /// by the province; the default is inside the hub's systemd
    /// StateDirectory, writable under its ProtectSystem=strict. A relative
    /// path is relative to hub.toml's folder.
    #[arg(long, default_value = DEFAULT_HUB_DATA_DIR)]
    pub hub_data_dir: PathBuf,
    /// Port of the hub's gRPC Query service (operators' `sync178-hub
    /// query`), on `--host`.
    #[arg(long, default_value_t = DEFAULT_HUB_PORT)]
    pub hub_port: u16,
    /// Port of the hub's web page, on 127.0.0.1 (loopback needs no sign-in;
    /// to open it to the network, see `[web]` in the README).
    #[arg(long, default_value_t = DEFAULT_HUB_WEB_PORT)]
    pub hub_web_port: u16,
}

/// Why a deployment could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The listing could not be read, or the province is not in it.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// The history could not be read or written.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// `--districts` on a listing without districts.
    #[error("--districts: {0} has no districts in this (two-tier) listing; use --communes alone")]
    NoDistricts(UnitId),
    /// A limit of zero would deploy nothing below it.
    #[error("--{0} must be at least 1")]
    ZeroLimit(&'static str),
    /// The ports do not fit.
    #[error("--base-port {base}: {count} nodes need ports {base}..={last}, past 65535 or below 1")]
    Ports {
        /// The base port asked for.
        base: u16,
        /// Nodes to place.
        count: usize,
        /// The last port needed.
        last: usize,
    },
    /// `--data-dir` or `--hub-data-dir` cannot be written into TOML.
    #[error("{option} {}: not valid UTF-8", path.display())]
    DataDir {
        /// `--data-dir` or `--hub-data-dir`.
        option: &'static str,
        /// The path given.
        path: PathBuf,
    },
    /// The hub's ports collide with each other or with a node's.
    #[error(
        "--hub-port {port}, --hub-web-port {web}: {clash}; choose other ports (the nodes use {first}..={last})"
    )]
    HubPorts {
        /// The gRPC port asked for.
        port: u16,
        /// The web port asked for.
        web: u16,
        /// Which ports collide.
        clash: HubClash,
        /// The nodes' first port.
        first: u16,
        /// The nodes' last port.
        last: u16,
    },
    /// Issuing or checking certificates failed.
    #[error("certificates: {0}")]
    Certs(#[from] CertError),
    /// A file or folder could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `write`, `read`, `create directory`, …
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The listing written by the topology could not be read back (a bug).
    #[error("reading the province's listing back: {0}")]
    Listing(String),
    /// A config just written does not load (a bug).
    #[error("the config just written does not load: {0}")]
    SelfCheck(#[from] ConfigError),
}

impl DeployError {
    /// The process exit code for this error: 64 for bad arguments, 65 for a
    /// bad listing, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            DeployError::Topology(
                TopologyError::NotAProvince { .. } | TopologyError::UnknownProvince { .. },
            )
            | DeployError::NoDistricts(_)
            | DeployError::ZeroLimit(_)
            | DeployError::Ports { .. }
            | DeployError::HubPorts { .. }
            | DeployError::DataDir { .. } => exit::USAGE,
            DeployError::Topology(TopologyError::Io { .. })
            | DeployError::History(HistoryError::Io { .. }) => 1,
            DeployError::Topology(_) | DeployError::History(_) => exit::DATAERR,
            _ => 1,
        }
    }
}

/// How the hub's ports collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubClash {
    /// A port of 0.
    Zero,
    /// The gRPC and web ports are the same.
    Same,
    /// A node listens on one of them.
    Node(UnitId, SocketAddr),
}

impl std::fmt::Display for HubClash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HubClash::Zero => write!(f, "port 0 is not a port"),
            HubClash::Same => write!(f, "the same port twice"),
            HubClash::Node(unit, addr) => write!(f, "node {unit} listens on {addr}"),
        }
    }
}

impl DeployError {
    /// The error as one line in `lang`; the causes from the listing, the
    /// history, the certificates and the system stay as they are.
    pub fn render(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return self.to_string();
        }
        match self {
            DeployError::Topology(e) => format!("danh mục đơn vị: {e}"),
            DeployError::History(e) => format!("lịch sử địa giới: {e}"),
            DeployError::NoDistricts(p) => format!(
                "--districts: {p} không có cấp huyện trong danh mục này (hai cấp); chỉ dùng --communes"
            ),
            DeployError::ZeroLimit(option) => format!("--{option} phải từ 1 trở lên"),
            DeployError::Ports { base, count, last } => format!(
                "--base-port {base}: {count} node cần các cổng {base}..={last}, vượt quá 65535 hoặc dưới 1"
            ),
            DeployError::DataDir { option, path } => {
                format!("{option} {}: không phải UTF-8 hợp lệ", path.display())
            }
            DeployError::HubPorts {
                port,
                web,
                clash,
                first,
                last,
            } => {
                let clash = match clash {
                    HubClash::Zero => "cổng 0 không dùng được".to_owned(),
                    HubClash::Same => "hai cổng trùng nhau".to_owned(),
                    HubClash::Node(unit, addr) => format!("node {unit} đã nghe ở {addr}"),
                };
                format!(
                    "--hub-port {port}, --hub-web-port {web}: {clash}; hãy chọn cổng khác (các node dùng {first}..={last})"
                )
            }
            DeployError::Certs(e) => format!("chứng thư: {e}"),
            DeployError::Io {
                action,
                path,
                source,
            } => {
                let action = match *action {
                    "write" => "ghi",
                    "read" => "đọc",
                    "create directory" => "tạo thư mục",
                    "read directory" => "đọc thư mục",
                    other => other,
                };
                format!("không {action} được {}: {source}", path.display())
            }
            DeployError::Listing(e) => format!("đọc lại danh mục của tỉnh (lỗi chương trình): {e}"),
            DeployError::SelfCheck(e) => {
                format!("cấu hình vừa viết không đọc lại được (lỗi chương trình): {e}")
            }
        }
    }
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DeployError {
    let path = path.to_path_buf();
    move |source| DeployError::Io {
        action,
        path,
        source,
    }
}

/// One node of a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNode {
    /// The unit.
    pub unit: UnitId,
    /// Its name in the listing.
    pub name: String,
    /// Where it listens.
    pub listen: SocketAddr,
    /// Its parent and the parent's address; `None` for the province.
    pub parent: Option<(UnitId, SocketAddr)>,
}

impl PlannedNode {
    /// The URL others dial to reach this node.
    pub fn endpoint(&self) -> String {
        endpoint(self.listen)
    }
}

fn endpoint(addr: SocketAddr) -> String {
    format!("https://{addr}")
}

/// The communes of `topology` in the order of the listing's rows, read back
/// from [`Topology::write_csv`] (the only API that exposes that order).
fn listing_order(topology: &Topology) -> Result<(String, Vec<(UnitId, String)>), DeployError> {
    let mut bytes = Vec::new();
    topology
        .write_csv(&mut bytes)
        .map_err(|e| DeployError::Listing(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| DeployError::Listing(e.to_string()))?;
    let edition = topology
        .roots()
        .first()
        .map_or(sync178_shared::unit::Edition::FIRST, |r| r.edition());
    let mut records = csv_records(&text).into_iter();
    let (header_raw, header) = records
        .next()
        .ok_or_else(|| DeployError::Listing("no header".to_owned()))?;
    let col = header
        .iter()
        .position(|h| h == "commune_code")
        .ok_or_else(|| DeployError::Listing("no commune_code column".to_owned()))?;
    let mut rows = Vec::new();
    for (raw, fields) in records {
        let code = fields
            .get(col)
            .and_then(|c| c.parse::<u32>().ok())
            .ok_or_else(|| DeployError::Listing(format!("bad row {raw:?}")))?;
        let unit = UnitId::new(Level::Commune, code)
            .map_err(|e| DeployError::Listing(format!("row {raw:?}: {e}")))?
            .with_edition(edition);
        if !topology.contains(unit) {
            return Err(DeployError::Listing(format!("row {raw:?}: unknown {unit}")));
        }
        rows.push((unit, raw.to_owned()));
    }
    Ok((header_raw.to_owned(), rows))
}

/// Splits CSV text into records, each as its raw text (terminator excluded)
/// and its unquoted fields. Handles quoted fields, doubled quotes and line
/// breaks inside quotes, as the `csv` writer produces them.
fn csv_records(text: &str) -> Vec<(&str, Vec<String>)> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' if quoted && chars.peek().map(|&(_, n)| n) == Some('"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            '\r' | '\n' if !quoted => {
                if c == '\r' && chars.peek().map(|&(_, n)| n) == Some('\n') {
                    chars.next();
                }
                fields.push(std::mem::take(&mut field));
                out.push((&text[start..i], std::mem::take(&mut fields)));
                start = chars.peek().map_or(text.len(), |&(j, _)| j);
            }
            c => field.push(c),
        }
    }
    if start < text.len() {
        fields.push(field);
        out.push((&text[start..], fields));
    }
    out
}

/// The part of `topology` to deploy: the province, or its first `districts`
/// districts and the first `communes` communes of each (of the province, in
/// a two-tier listing), in listing order.
pub fn select(
    topology: &Topology,
    province: UnitId,
    districts: Option<usize>,
    communes: Option<usize>,
) -> Result<Topology, DeployError> {
    let whole = topology.province(province)?;
    if districts == Some(0) {
        return Err(DeployError::ZeroLimit("districts"));
    }
    if communes == Some(0) {
        return Err(DeployError::ZeroLimit("communes"));
    }
    if districts.is_some()
        && !whole
            .children(province)
            .iter()
            .any(|u| u.level() == Level::District)
    {
        return Err(DeployError::NoDistricts(province));
    }
    if districts.is_none() && communes.is_none() {
        return Ok(whole);
    }
    let (header, rows) = listing_order(&whole)?;
    let mut group_rank: HashMap<UnitId, usize> = HashMap::new();
    let mut taken: HashMap<UnitId, usize> = HashMap::new();
    let mut text = format!("{header}\r\n");
    let mut kept = 0usize;
    for (commune, raw) in &rows {
        let group = whole.parent(*commune).unwrap_or(province);
        let next = group_rank.len();
        let rank = *group_rank.entry(group).or_insert(next);
        if group.level() == Level::District && districts.is_some_and(|n| rank >= n) {
            continue;
        }
        let n = taken.entry(group).or_insert(0);
        if communes.is_some_and(|m| *n >= m) {
            continue;
        }
        *n += 1;
        kept += 1;
        text.push_str(raw);
        text.push_str("\r\n");
    }
    let source = format!("{} subset", province);
    let subset = Topology::from_csv_reader(text.as_bytes(), &source)
        .map_err(|e| DeployError::Listing(e.to_string()))?
        .in_edition(province.edition());
    if subset.communes_under(province) != kept {
        return Err(DeployError::Listing(format!(
            "expected {kept} communes, read back {}",
            subset.communes_under(province)
        )));
    }
    Ok(subset)
}

/// The nodes of `topology` (one province, as [`select`] returns it) with
/// their addresses: the province at `base_port`, then its districts, then its
/// communes, in listing order.
pub fn plan(
    topology: &Topology,
    province: UnitId,
    host: IpAddr,
    base_port: u16,
) -> Result<Vec<PlannedNode>, DeployError> {
    let (_, rows) = listing_order(topology)?;
    let mut order = vec![province];
    let mut seen = HashSet::from([province]);
    for (commune, _) in &rows {
        if let Some(d) = topology.parent(*commune)
            && d.level() == Level::District
            && seen.insert(d)
        {
            order.push(d);
        }
    }
    order.extend(rows.iter().map(|(c, _)| *c));
    let count = order.len();
    let last = usize::from(base_port) + count - 1;
    if base_port == 0 || last > usize::from(u16::MAX) {
        return Err(DeployError::Ports {
            base: base_port,
            count,
            last,
        });
    }
    let mut addr = HashMap::new();
    for (i, &unit) in (0u16..).zip(&order) {
        addr.insert(unit, SocketAddr::new(host, base_port + i));
    }
    Ok(order
        .iter()
        .map(|&unit| PlannedNode {
            unit,
            name: topology.name(unit).unwrap_or_default().to_owned(),
            listen: addr[&unit],
            parent: topology
                .parent(unit)
                .and_then(|p| addr.get(&p).map(|&a| (p, a))),
        })
        .collect())
}

/// What [`deploy`] wrote.
#[derive(Debug, Clone)]
pub struct DeployReport {
    /// The province.
    pub province: UnitId,
    /// Its name in the listing.
    pub province_name: String,
    /// The output folder.
    pub out: PathBuf,
    /// `OUT/topology.csv`, or `OUT/history.toml` from a history.
    pub topology: PathBuf,
    /// `OUT/certs`.
    pub certs_dir: PathBuf,
    /// What certificate issuing did.
    pub certs: IssueReport,
    /// Every node, in port order, with its config file.
    pub nodes: Vec<(PlannedNode, PathBuf)>,
    /// `OUT/nodes.tsv`.
    pub nodes_file: PathBuf,
    /// The hub's certificate and key (and the CA), as issued in `OUT/certs`.
    pub hub: TlsFiles,
    /// The hub's config, `OUT/<province>/hub.toml`.
    pub hub_config: PathBuf,
    /// The hub's `data_dir`, a relative one joined to `hub_config`'s folder
    /// (as the hub reads it).
    pub hub_data_dir: PathBuf,
    /// Where the hub's gRPC `Query` service listens.
    pub hub_listen: SocketAddr,
    /// Where the hub's web page listens.
    pub hub_web: SocketAddr,
    /// The province operators' certificate and key (and the CA).
    pub operator: TlsFiles,
    /// Unit folders in `OUT` with a node.toml that this deployment does not
    /// include (from an earlier, larger run); left untouched.
    pub stale: Vec<UnitId>,
}

/// Runs `deploy` as the command line asks: reads the history (`.toml`) or
/// the listing, then [`deploy_history`] or [`deploy`].
pub fn deploy_from_args(args: &DeployArgs) -> Result<DeployReport, DeployError> {
    if args.topology.extension().is_some_and(|e| e == "toml") {
        let history = History::from_manifest(&args.topology)?;
        deploy_history(&history, args)
    } else {
        let topology = Topology::from_csv_path(&args.topology)?;
        deploy(&topology, args)
    }
}

/// Writes the deployment `args` describes from `topology` (the whole listing).
pub fn deploy(topology: &Topology, args: &DeployArgs) -> Result<DeployReport, DeployError> {
    let selected = select(topology, args.province, args.districts, args.communes)?;
    write_deployment(&selected, None, args)
}

/// Writes the deployment `args` describes from `history` (the whole
/// history): today's structure of the province, every node reading the
/// province's history.
pub fn deploy_history(history: &History, args: &DeployArgs) -> Result<DeployReport, DeployError> {
    let cut = history.province(args.province)?;
    let today = cut.today_topology();
    let selected = select(&today, args.province, args.districts, args.communes)?;
    let deployed: HashSet<UnitId> = selected.units().collect();
    let sub = cut.subset(&deployed);
    write_deployment(&selected, Some(&sub), args)
}

/// The topology files a node folder (or `OUT`) gets: a listing, or a history.
enum Files<'a> {
    Listing(Vec<u8>),
    History(&'a History),
}

impl Files<'_> {
    /// Writes them into `dir`; returns the file a config names.
    fn write(&self, dir: &Path) -> Result<PathBuf, DeployError> {
        match self {
            Files::Listing(bytes) => {
                let path = dir.join(TOPOLOGY_FILE);
                write_file(&path, bytes, false)?;
                Ok(path)
            }
            Files::History(h) => Ok(h.write(dir)?),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Files::Listing(_) => TOPOLOGY_FILE,
            Files::History(_) => HISTORY_FILE,
        }
    }
}

/// Writes the deployment of `selected` (one province, as [`select`] returns
/// it), its nodes reading `history` if given, else `selected` itself.
fn write_deployment(
    selected: &Topology,
    history: Option<&History>,
    args: &DeployArgs,
) -> Result<DeployReport, DeployError> {
    let province = args.province;
    let nodes = plan(selected, province, args.host, args.base_port)?;
    let data_dir = args.data_dir.to_str().ok_or_else(|| DeployError::DataDir {
        option: "--data-dir",
        path: args.data_dir.clone(),
    })?;
    let hub_data_dir = args
        .hub_data_dir
        .to_str()
        .ok_or_else(|| DeployError::DataDir {
            option: "--hub-data-dir",
            path: args.hub_data_dir.clone(),
        })?
        .replace(UNIT_PLACEHOLDER, &province.to_string());
    let (hub_listen, hub_web) = hub_addresses(&nodes, args)?;
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(io_err("create directory", out))?;

    let files = match history {
        Some(h) => Files::History(h),
        None => {
            let mut listing = Vec::new();
            selected
                .write_csv(&mut listing)
                .map_err(|e| DeployError::Listing(e.to_string()))?;
            Files::Listing(listing)
        }
    };
    let topology_path = files.write(out)?;

    let certs_dir = out.join(CERTS_DIR);
    let issued = match history {
        Some(h) => certs::issue_history(h, province, &certs_dir)?,
        None => certs::issue_province(selected, province, &certs_dir)?,
    };
    let ca = certs_dir.join(certs::CA_CERT_FILE);
    let ca_pem = std::fs::read(&ca).map_err(io_err("read", &ca))?;

    let mut written = Vec::with_capacity(nodes.len());
    let mut tsv = String::from("# unit\tparent\tlisten\tendpoint\tconfig\tname\n");
    for node in &nodes {
        let dir = out.join(node.unit.to_string());
        let tls = dir.join(TLS_DIR);
        std::fs::create_dir_all(&tls).map_err(io_err("create directory", &tls))?;
        files.write(&dir)?;
        write_file(&tls.join("ca.pem"), &ca_pem, false)?;
        let issued = certs::province_files(&certs_dir, Identity::new(node.unit, Role::Node));
        for (from, to, secret) in [
            (&issued.cert, tls.join("node.pem"), false),
            (&issued.key, tls.join("node.key"), true),
        ] {
            let bytes = std::fs::read(from).map_err(io_err("read", from))?;
            write_file(&to, &bytes, secret)?;
        }
        let config = dir.join(NODE_CONFIG_FILE);
        let node_data = data_dir.replace(UNIT_PLACEHOLDER, &node.unit.to_string());
        write_file(
            &config,
            node_toml(node, files.name(), &node_data).as_bytes(),
            false,
        )?;
        let loaded = Config::load(&config)?;
        if loaded.unit != node.unit || loaded.listen != node.listen {
            return Err(DeployError::Listing(format!(
                "{} reads back as {} on {}",
                config.display(),
                loaded.unit,
                loaded.listen
            )));
        }
        let _ = writeln!(
            tsv,
            "{}\t{}\t{}\t{}\t{}/{NODE_CONFIG_FILE}\t{}",
            node.unit,
            node.parent
                .map_or_else(|| "-".to_owned(), |(p, _)| p.to_string()),
            node.listen,
            node.endpoint(),
            node.unit,
            one_line(&node.name),
        );
        written.push((node.clone(), config));
    }
    let nodes_file = out.join(NODES_FILE);
    write_file(&nodes_file, tsv.as_bytes(), false)?;

    let hub = certs::province_files(&certs_dir, Identity::new(province, Role::Hub));
    let root = nodes.first().ok_or_else(|| {
        DeployError::Listing(format!("{province}: no node planned for the province"))
    })?;
    let root_dir = out.join(province.to_string());
    let tls = root_dir.join(TLS_DIR);
    for (from, to, secret) in [
        (&hub.cert, tls.join(HUB_CERT_FILE), false),
        (&hub.key, tls.join(HUB_KEY_FILE), true),
    ] {
        let bytes = std::fs::read(from).map_err(io_err("read", from))?;
        write_file(&to, &bytes, secret)?;
    }
    let hub_config = root_dir.join(HUB_CONFIG_FILE);
    let text = hub_toml(&HubPlan {
        province,
        name: selected.name(province).unwrap_or_default(),
        node: root,
        topology: files.name(),
        data_dir: &hub_data_dir,
        listen: hub_listen,
        web: hub_web,
    });
    if let Err(e) = text.parse::<toml::Table>() {
        return Err(DeployError::Listing(format!(
            "{} is not valid TOML: {e}",
            hub_config.display()
        )));
    }
    write_file(&hub_config, text.as_bytes(), false)?;

    let deployed: HashSet<UnitId> = nodes.iter().map(|n| n.unit).collect();
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(out).map_err(io_err("read directory", out))? {
        let entry = entry.map_err(io_err("read directory", out))?;
        if let Some(unit) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<UnitId>().ok())
            && !deployed.contains(&unit)
            && entry.path().join(NODE_CONFIG_FILE).exists()
        {
            stale.push(unit);
        }
    }
    stale.sort_unstable();

    Ok(DeployReport {
        province,
        province_name: selected.name(province).unwrap_or_default().to_owned(),
        out: out.clone(),
        topology: topology_path,
        hub,
        hub_config,
        hub_data_dir: root_dir.join(&hub_data_dir),
        hub_listen,
        hub_web,
        operator: certs::province_files(&certs_dir, Identity::new(province, Role::Operator)),
        certs_dir,
        certs: issued,
        nodes: written,
        nodes_file,
        stale,
    })
}

/// The hub's gRPC address (`--host`, `--hub-port`) and web address
/// (loopback, `--hub-web-port`), refused if they collide with each other or
/// with a node's port (every node `deploy` writes shares `--host`).
fn hub_addresses(
    nodes: &[PlannedNode],
    args: &DeployArgs,
) -> Result<(SocketAddr, SocketAddr), DeployError> {
    let (port, web) = (args.hub_port, args.hub_web_port);
    let ports = nodes.iter().map(|n| n.listen.port());
    let (first, last) = (
        ports.clone().min().unwrap_or(args.base_port),
        ports.max().unwrap_or(args.base_port),
    );
    let clash = if port == 0 || web == 0 {
        Some(HubClash::Zero)
    } else if port == web {
        Some(HubClash::Same)
    } else {
        nodes
            .iter()
            .find(|n| n.listen.port() == port || n.listen.port() == web)
            .map(|n| HubClash::Node(n.unit, n.listen))
    };
    match clash {
        Some(clash) => Err(DeployError::HubPorts {
            port,
            web,
            clash,
            first,
            last,
        }),
        None => Ok((
            SocketAddr::new(args.host, port),
            SocketAddr::from(([127, 0, 0, 1], web)),
        )),
    }
}

/// What the hub's config says.
struct HubPlan<'a> {
    province: UnitId,
    name: &'a str,
    /// The province's node, which the hub follows.
    node: &'a PlannedNode,
    /// The topology file beside the config (the province node's).
    topology: &'a str,
    data_dir: &'a str,
    listen: SocketAddr,
    web: SocketAddr,
}

/// The hub.toml of the province (the format is the hub's,
/// `sync178_hub::Config`; its integration tests load this file).
fn hub_toml(hub: &HubPlan<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# sync178 hub of {} — {}",
        hub.province,
        one_line(hub.name)
    );
    let _ = writeln!(
        s,
        "# Written by `sync178-node deploy`; running it again overwrites this file."
    );
    let _ = writeln!(
        s,
        "# Run: sync178-hub run --config <this file>; installed as /etc/sync178/hub.toml,\n\
         # deploy/systemd/sync178-hub.service runs it. Relative paths are relative to this file's folder."
    );
    let _ = writeln!(
        s,
        "# The hub's store; it must be writable by the hub (the systemd unit: /var/lib/sync178-hub)."
    );
    let _ = writeln!(s, "data_dir = {}", toml_str(hub.data_dir));
    let _ = writeln!(s, "topology = {}", toml_str(hub.topology));
    let _ = writeln!(
        s,
        "# gRPC Query service for `sync178-hub query` (operator certificates of this CA)."
    );
    let _ = writeln!(s, "listen = {}", toml_str(&hub.listen.to_string()));
    let _ = writeln!(
        s,
        "\n[node]\n# The province's node ({}/node.toml), whose feed the hub follows.",
        hub.node.unit
    );
    let _ = writeln!(s, "endpoint = {}", toml_str(&hub.node.endpoint()));
    let _ = writeln!(s, "unit = {}", toml_str(&hub.node.unit.to_string()));
    let _ = writeln!(s, "\n[tls]");
    for (field, file) in [
        ("ca", "ca.pem"),
        ("cert", HUB_CERT_FILE),
        ("key", HUB_KEY_FILE),
    ] {
        let _ = writeln!(s, "{field} = {}", toml_str(&format!("{TLS_DIR}/{file}")));
    }
    let _ = writeln!(
        s,
        "\n[web]\n# The operators' web page. On loopback it needs no sign-in; off loopback set\n\
         # tls = true or tokens_file (README, \"Operator web page\")."
    );
    let _ = writeln!(s, "listen = {}", toml_str(&hub.web.to_string()));
    s
}

/// `s` with control characters (line breaks, tabs) replaced by spaces, for
/// comments and tab-separated lines.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The node.toml of `node`.
fn node_toml(node: &PlannedNode, topology: &str, data_dir: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# sync178 node {} — {}", node.unit, one_line(&node.name));
    let _ = writeln!(
        s,
        "# Written by `sync178-node deploy`; running it again overwrites this file."
    );
    let _ = writeln!(s, "# Relative paths are relative to this file's folder.");
    let _ = writeln!(s, "unit = {}", toml_str(&node.unit.to_string()));
    let _ = writeln!(s, "topology = {}", toml_str(topology));
    let _ = writeln!(s, "data_dir = {}", toml_str(data_dir));
    let _ = writeln!(s, "listen = {}", toml_str(&node.listen.to_string()));
    match node.parent {
        Some((parent, addr)) => {
            let _ = writeln!(s, "\n[parent]\n# {parent}");
            let _ = writeln!(s, "endpoint = {}", toml_str(&endpoint(addr)));
        }
        None => {
            let _ = writeln!(s, "# No [parent]: the province is the root of the tree.");
        }
    }
    let _ = writeln!(s, "\n[tls]");
    for (field, file) in [("ca", "ca.pem"), ("cert", "node.pem"), ("key", "node.key")] {
        let _ = writeln!(s, "{field} = {}", toml_str(&format!("{TLS_DIR}/{file}")));
    }
    s
}

/// Writes `path` through a temporary file and a rename; `secret` files get
/// mode 0600 on unix.
fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), DeployError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(&tmp).map_err(io_err("write", &tmp))?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io_err("write", &tmp))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    file.write_all(contents).map_err(io_err("write", &tmp))?;
    file.sync_all().map_err(io_err("write", &tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io_err("write", path))
}

mod render;
pub use render::render;

#[cfg(test)]
mod tests;
