//! `sync178-node deploy` writes the province hub's `hub.toml` beside the
//! province node's files; the hub's own [`Config::load`] (the one definition
//! of the format) reads it: the unit and the endpoint of the province node
//! it follows, certificates that exist and carry the hub's identity, the
//! topology beside it, a data folder inside the systemd unit's state
//! directory, and ports that agree with the node configs deploy wrote.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use sync178_hub::Config;
use sync178_node::config::Config as NodeConfig;
use sync178_node::deploy::{
    DEFAULT_HUB_DATA_DIR, DEFAULT_HUB_PORT, DEFAULT_HUB_WEB_PORT, DeployArgs, HUB_CONFIG_FILE,
    NODE_CONFIG_FILE, deploy_from_args,
};
use sync178_shared::history::History;
use sync178_shared::tls::{Identity, Role};
use sync178_shared::unit::UnitId;

fn id(s: &str) -> UnitId {
    s.parse().unwrap_or_else(|e| panic!("bad unit id {s}: {e}"))
}

fn shipped(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/topology")
        .join(file)
}

/// `deploy`'s arguments as the command line's defaults give them.
fn args(topology: &str, province: &str, out: &Path) -> DeployArgs {
    DeployArgs {
        topology: shipped(topology),
        province: id(province),
        districts: None,
        communes: Some(1),
        out: out.to_path_buf(),
        base_port: 7100,
        host: "127.0.0.1".parse().expect("address"),
        data_dir: PathBuf::from("/var/lib/sync178/{unit}"),
        hub_data_dir: PathBuf::from(DEFAULT_HUB_DATA_DIR),
        hub_port: DEFAULT_HUB_PORT,
        hub_web_port: DEFAULT_HUB_WEB_PORT,
    }
}

/// Loads the hub.toml deploy wrote and checks what every deployment's must
/// say; returns it.
fn check_hub_toml(out: &Path, province: UnitId) -> Config {
    let folder = out.join(province.to_string());
    let path = folder.join(HUB_CONFIG_FILE);
    let hub = Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let node = NodeConfig::load(&folder.join(NODE_CONFIG_FILE)).expect("node.toml loads");

    // It follows the province node deploy wrote, at the address that node listens on.
    assert_eq!(hub.node.unit, province);
    assert_eq!(node.unit, province);
    assert!(node.parent.is_none(), "the province's node has no parent");
    assert_eq!(hub.node.endpoint, format!("https://{}", node.listen));
    assert_eq!(hub.node.endpoint, "https://127.0.0.1:7100");

    // The same CA and topology as the node beside it; its own certificate.
    assert_eq!(hub.tls.ca, node.tls.ca);
    assert_eq!(hub.topology, node.topology);
    for file in [&hub.tls.ca, &hub.tls.cert, &hub.tls.key, &hub.topology] {
        assert!(file.is_file(), "{} does not exist", file.display());
        assert!(
            file.starts_with(&folder),
            "{} is not in the province's folder",
            file.display()
        );
    }
    let tls = hub.tls.load().expect("the hub's certificates load");
    assert_eq!(tls.identity, Identity::new(province, Role::Hub));
    let history = History::from_path(&hub.topology).expect("topology loads");
    assert!(history.topology().contains(province));

    // The data folder is inside the hub unit's StateDirectory (sync178-hub),
    // the one place it may write under ProtectSystem=strict.
    assert!(hub.data_dir.is_absolute(), "{}", hub.data_dir.display());
    assert_eq!(
        hub.data_dir,
        Path::new("/var/lib/sync178-hub").join(province.to_string())
    );
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/systemd/sync178-hub.service"),
    )
    .expect("the hub's systemd unit");
    assert!(unit.contains("StateDirectory=sync178-hub\n"), "{unit}");
    assert!(unit.contains("--config /etc/sync178/hub.toml"), "{unit}");

    // Ports: the hub's own defaults, none of them a node's.
    assert_eq!(hub.listen, SocketAddr::from(([127, 0, 0, 1], 7300)));
    let web = hub.web.as_ref().expect("[web]");
    assert_eq!(web.listen, SocketAddr::from(([127, 0, 0, 1], 7380)));
    assert!(
        !web.tls && web.tokens_file.is_none(),
        "loopback needs no sign-in"
    );
    hub
}

#[test]
fn deploy_writes_a_hub_toml_the_hub_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("p33-deploy");
    let report = deploy_from_args(&args("vn-admin-units-2024.csv", "p33", &out))
        .unwrap_or_else(|e| panic!("deploy: {e}"));
    assert_eq!(report.hub_config, out.join("p33").join(HUB_CONFIG_FILE));
    let hub = check_hub_toml(&out, id("p33"));
    assert_eq!(hub.topology, out.join("p33").join("topology.csv"));
    assert_eq!(
        report.operator.cert,
        out.join("certs").join("operator").join("operator.pem")
    );
}

#[test]
fn deploy_from_the_history_writes_the_hub_of_todays_province() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("p33-deploy");
    let p33 = id("p33@2025");
    let report = deploy_from_args(&args("history.toml", "p33@2025", &out))
        .unwrap_or_else(|e| panic!("deploy: {e}"));
    let hub = check_hub_toml(&out, p33);
    assert_eq!(hub.topology, out.join("p33@2025").join("history.toml"));
    // The certificates of today's province, not of the old p33.
    assert_eq!(
        report.hub.cert,
        out.join("certs").join("hub-p33@2025").join("hub.pem")
    );
    assert_eq!(
        report.operator.cert,
        out.join("certs")
            .join("operator-p33@2025")
            .join("operator.pem")
    );
    assert!(report.operator.cert.is_file());

    // The hub opens with it (store, certificate, unit and history together),
    // here with its data folder moved into the temporary folder.
    let mut local = hub.clone();
    local.data_dir = dir.path().join("hub-data");
    let (opened, _) = sync178_hub::open(&local).unwrap_or_else(|e| panic!("open: {e}"));
    assert_eq!(opened.root, p33);
}
