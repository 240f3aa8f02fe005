//! `deploy` from the shipped administrative history: today's province and
//! communes (ids `@2025`) as nodes, every node reading the province's cut of
//! the history, and certificates for the old units that merged into the
//! deployed communes, so their nodes can hand over under today's CA.

use std::path::{Path, PathBuf};

use sync178_node::certs::province_files;
use sync178_node::config::Config;
use sync178_node::deploy::{DeployArgs, NODE_CONFIG_FILE, deploy_from_args};
use sync178_shared::history::History;
use sync178_shared::tls::{Identity, Role};
use sync178_shared::unit::UnitId;

fn id(s: &str) -> UnitId {
    s.parse().unwrap_or_else(|e| panic!("bad unit id {s}: {e}"))
}

fn shipped_history() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/topology/history.toml")
}

fn args(out: &Path) -> DeployArgs {
    DeployArgs {
        topology: shipped_history(),
        province: id("p33@2025"),
        districts: None,
        communes: Some(2),
        out: out.to_path_buf(),
        base_port: 17200,
        host: "127.0.0.1".parse().expect("address"),
        data_dir: PathBuf::from("data"),
        hub_data_dir: PathBuf::from("hub-data/{unit}"),
        hub_port: 17400,
        hub_web_port: 17480,
    }
}

#[test]
fn a_history_deploys_todays_units_and_certifies_the_old_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let report = deploy_from_args(&args(&out)).expect("deploys");

    // Today's structure: the province and its first two communes, no district.
    let units: Vec<UnitId> = report.nodes.iter().map(|(n, _)| n.unit).collect();
    assert_eq!(
        units,
        [id("p33@2025"), id("c11953@2025"), id("c11983@2025")]
    );
    assert_eq!(report.topology, out.join("history.toml"));
    let (sơn_nam, config_path) = &report.nodes[2];
    assert_eq!(
        sơn_nam.parent.map(|(p, _)| p),
        Some(id("p33@2025")),
        "a commune dials its province directly"
    );

    // Each node reads its own copy of the province's history.
    let config = Config::load(config_path).expect("config loads");
    assert_eq!(config.unit, id("c11983@2025"));
    assert_eq!(
        config.topology,
        out.join("c11983@2025").join("history.toml")
    );
    let history = History::from_path(&config.topology).expect("history loads");
    assert_eq!(history.today_topology().communes_under(id("p33@2025")), 2);
    // Old Lam Sơn and Phú Cường merged into Sơn Nam: read in the node's
    // history, and within today's province.
    assert_eq!(history.place_today(id("c11950")), Some(id("c11983@2025")));
    assert_eq!(history.place_today(id("c12331")), Some(id("c11983@2025")));
    assert!(history.is_within(id("c11950"), id("p33@2025")));
    // A Thái Bình commune merged elsewhere is not in this deployment's cut.
    assert_eq!(
        history
            .today_topology()
            .units()
            .filter(|u| u.to_string().starts_with('d'))
            .count(),
        0
    );

    // Certificates: today's units, and the old communes now inside them.
    let certs = out.join("certs");
    for unit in ["c11983@2025", "c11950", "c12331", "c11953"] {
        let files = province_files(&certs, Identity::new(id(unit), Role::Node));
        assert!(files.cert.exists(), "no node certificate for {unit}");
    }
    let elsewhere = province_files(&certs, Identity::new(id("c11986"), Role::Node));
    assert!(
        !elsewhere.cert.exists(),
        "old Như Quỳnh did not merge into the deployed communes"
    );
    let tls = config.tls.load().expect("node certificates load");
    assert_eq!(tls.identity, Identity::new(id("c11983@2025"), Role::Node));
    let node_toml =
        std::fs::read_to_string(out.join("p33@2025").join(NODE_CONFIG_FILE)).expect("node.toml");
    assert!(
        node_toml.contains("topology = \"history.toml\""),
        "{node_toml}"
    );

    // Again: certificates and the CA kept.
    let again = deploy_from_args(&args(&out)).expect("deploys again");
    assert!(!again.certs.ca_created);
    assert!(again.certs.created.is_empty(), "{:?}", again.certs.created);
    assert!(again.stale.is_empty());
}

#[test]
fn a_retired_province_is_refused_with_todays_place_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = args(&dir.path().join("out"));
    args.province = id("p34");
    let err = deploy_from_args(&args).expect_err("Thái Bình no longer exists");
    let text = err.to_string();
    assert!(text.contains("p34"), "{text}");
    assert!(!dir.path().join("out").join("p34").exists());
}
