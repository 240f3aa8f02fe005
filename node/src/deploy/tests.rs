//! deploy's unit tests: plans, subsets, port clashes, the files written
//! and what is printed.

use super::*;

const LISTING: &str = "\
province_code,province_name,district_code,district_name,commune_code,commune_name\r
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11950,Phường Lam Sơn\r
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11953,Phường Hiến Nam\r
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,12331,Xã Phú Cường\r
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11956,\"Phường An Tảo, \"\"mới\"\"\"\r
33,Tỉnh Hưng Yên,325,Huyện Văn Lâm,11986,Thị trấn Như Quỳnh\r
33,Tỉnh Hưng Yên,325,Huyện Văn Lâm,11989,Xã Lạc Đạo\r
33,Tỉnh Hưng Yên,325,Huyện Văn Lâm,11992,Xã Chỉ Đạo\r
33,Tỉnh Hưng Yên,316,Huyện Ba,11995,Xã Ba\r
01,Thành phố Hà Nội,001,Quận Ba Đình,00001,Phường Phúc Xá\r
";

fn id(s: &str) -> UnitId {
    s.parse().expect("valid unit id")
}

fn topology() -> Topology {
    Topology::from_csv_reader(LISTING.as_bytes(), "test").expect("listing loads")
}

fn units(nodes: &[PlannedNode]) -> Vec<String> {
    nodes.iter().map(|n| n.unit.to_string()).collect()
}

#[test]
fn the_splitter_reads_quotes_and_line_ends() {
    let recs = csv_records("a,\"b,\"\"c\"\"\"\r\n\"x\r\ny\",z\nlast");
    let fields: Vec<Vec<String>> = recs.iter().map(|(_, f)| f.clone()).collect();
    assert_eq!(
        fields,
        [vec!["a", "b,\"c\""], vec!["x\r\ny", "z"], vec!["last"]]
    );
    assert_eq!(recs[1].0, "\"x\r\ny\",z");
}

#[test]
fn ports_follow_province_then_districts_then_communes_in_listing_order() {
    let topo = topology();
    let p = id("p33");
    let whole = select(&topo, p, None, None).expect("selects");
    let nodes = plan(&whole, p, IpAddr::from([127, 0, 0, 1]), 7100).expect("plans");
    assert_eq!(
        units(&nodes),
        [
            "p33", "d323", "d325", "d316", "c11950", "c11953", "c12331", "c11956", "c11986",
            "c11989", "c11992", "c11995"
        ]
    );
    assert_eq!(nodes[0].listen.to_string(), "127.0.0.1:7100");
    assert_eq!(nodes[0].parent, None);
    assert_eq!(nodes[3].listen.port(), 7103);
    let c = &nodes[4];
    assert_eq!(
        c.parent.map(|(u, a)| (u.to_string(), a.port())),
        Some(("d323".to_owned(), 7101))
    );
    assert_eq!(
        nodes[1].parent.map(|(u, a)| (u.to_string(), a.port())),
        Some(("p33".to_owned(), 7100))
    );
}

#[test]
fn a_subset_takes_the_first_districts_and_communes_in_listing_order() {
    let topo = topology();
    let p = id("p33");
    let sub = select(&topo, p, Some(2), Some(3)).expect("selects");
    let nodes = plan(&sub, p, IpAddr::from([127, 0, 0, 1]), 17100).expect("plans");
    assert_eq!(
        units(&nodes),
        [
            "p33", "d323", "d325", "c11950", "c11953", "c12331", "c11986", "c11989", "c11992"
        ]
    );
    let only_communes = select(&topo, p, None, Some(1)).expect("selects");
    assert_eq!(only_communes.communes_under(p), 3);
    let quoted = select(&topo, p, Some(1), Some(4)).expect("selects");
    assert_eq!(quoted.name(id("c11956")), Some("Phường An Tảo, \"mới\""));
}

#[test]
fn bad_selections_and_ports_are_refused() {
    let topo = topology();
    let p = id("p33");
    assert!(matches!(
        select(&topo, p, Some(0), None),
        Err(DeployError::ZeroLimit("districts"))
    ));
    assert!(matches!(
        select(&topo, id("d323"), None, None),
        Err(DeployError::Topology(_))
    ));
    assert!(matches!(
        select(&topo, id("p99"), None, None),
        Err(DeployError::Topology(_))
    ));
    let whole = select(&topo, p, None, None).expect("selects");
    let host = IpAddr::from([127, 0, 0, 1]);
    assert!(matches!(
        plan(&whole, p, host, 65530),
        Err(DeployError::Ports { count: 12, .. })
    ));
    assert!(matches!(
        plan(&whole, p, host, 0),
        Err(DeployError::Ports { .. })
    ));
    assert!(plan(&whole, p, host, 65524).is_ok());
    let two_tier = Topology::from_csv_reader(
        "province_code,province_name,commune_code,commune_name\r\n33,Hưng Yên,12745,Xã  Bắc Đông Quan\r\n33,Hưng Yên,11950,Phường A\r\n".as_bytes(),
        "2025",
    )
    .expect("loads");
    assert!(matches!(
        select(&two_tier, p, Some(1), None),
        Err(DeployError::NoDistricts(_))
    ));
    let one = select(&two_tier, p, None, Some(1)).expect("selects");
    let nodes = plan(&one, p, host, 7100).expect("plans");
    assert_eq!(units(&nodes), ["p33", "c12745"]);
    assert_eq!(nodes[1].parent.map(|(u, _)| u), Some(p));
}

fn args(out: &Path) -> DeployArgs {
    DeployArgs {
        topology: PathBuf::from("unused.csv"),
        province: id("p33"),
        districts: Some(2),
        communes: Some(2),
        out: out.to_path_buf(),
        base_port: 17100,
        host: IpAddr::from([127, 0, 0, 1]),
        data_dir: PathBuf::from("data"),
        hub_data_dir: PathBuf::from("hub-data/{unit}"),
        hub_port: 17300,
        hub_web_port: 17380,
    }
}

#[test]
fn deploy_writes_loadable_bundles_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let topo = topology();
    let first = deploy(&topo, &args(&out)).expect("deploys");
    assert!(first.certs.ca_created);
    assert_eq!(first.nodes.len(), 7);
    assert!(first.stale.is_empty());

    let c = Config::load(&out.join("c11950").join(NODE_CONFIG_FILE)).expect("loads");
    assert_eq!(c.listen.port(), 17103);
    assert_eq!(
        c.parent.as_ref().map(|p| p.endpoint.as_str()),
        Some("https://127.0.0.1:17101")
    );
    assert_eq!(c.tls.key, out.join("c11950").join("tls").join("node.key"));
    assert_eq!(c.data_dir, out.join("c11950").join("data"));
    let tls = c.tls.load().expect("certificates load");
    assert_eq!(tls.identity, Identity::new(id("c11950"), Role::Node));
    let local = Topology::from_csv_path(&c.topology).expect("topology loads");
    assert_eq!(local.communes_under(id("p33")), 4);
    let root = Config::load(&out.join("p33").join(NODE_CONFIG_FILE)).expect("loads");
    assert!(root.parent.is_none());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&c.tls.key)
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let tsv = std::fs::read_to_string(out.join(NODES_FILE)).expect("nodes.tsv");
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(
        lines[1],
        "p33\t-\t127.0.0.1:17100\thttps://127.0.0.1:17100\tp33/node.toml\tTỉnh Hưng Yên"
    );
    assert!(lines[4].starts_with("c11950\td323\t127.0.0.1:17103\t"));

    // Again, with other ports and a smaller subset: certificates kept,
    // configs rewritten, the left-over folders reported.
    let key_before = std::fs::read(&c.tls.key).expect("key");
    let mut again = args(&out);
    again.base_port = 18000;
    again.data_dir = PathBuf::from("/var/lib/sync178/{unit}");
    again.communes = Some(1);
    let second = deploy(&topo, &again).expect("deploys again");
    assert!(!second.certs.ca_created);
    assert!(second.certs.created.is_empty());
    assert_eq!(second.nodes.len(), 5);
    assert_eq!(
        second
            .stale
            .iter()
            .map(UnitId::to_string)
            .collect::<Vec<_>>(),
        ["c11953", "c11989"]
    );
    let c = Config::load(&out.join("c11950").join(NODE_CONFIG_FILE)).expect("loads");
    assert_eq!(c.listen.port(), 18003);
    assert_eq!(c.data_dir, Path::new("/var/lib/sync178/c11950"));
    assert_eq!(std::fs::read(&c.tls.key).expect("key"), key_before);

    let en = render(&second, Lang::En);
    assert!(en.starts_with("Deployed p33 — Tỉnh Hưng Yên to "), "{en}");
    assert!(
        en.contains("5 nodes (1 province, 2 districts, 2 communes)"),
        "{en}"
    );
    assert!(en.contains("ca reused; 0 created, "), "{en}");
    assert!(en.contains("c11950  127.0.0.1:18003"), "{en}");
    assert!(en.contains("d323 https://127.0.0.1:18001"), "{en}");
    assert!(
        en.contains("not in this deployment (left as they are): c11953, c11989"),
        "{en}"
    );
    let hub_toml = out.join("p33").join(HUB_CONFIG_FILE);
    assert_eq!(second.hub_config, hub_toml);
    assert!(
        en.contains(&format!(
            "run: sync178-hub run --config {}",
            hub_toml.display()
        )),
        "{en}"
    );
    assert!(
        en.contains("follows node p33 at https://127.0.0.1:18000"),
        "{en}"
    );
    assert!(
        en.contains("query the hub at https://127.0.0.1:17300"),
        "{en}"
    );
    assert!(!en.contains("once the hub ships"), "{en}");
    let written: toml::Table = std::fs::read_to_string(&hub_toml)
        .expect("hub.toml")
        .parse()
        .expect("valid TOML");
    assert_eq!(
        written["node"]["endpoint"].as_str(),
        Some("https://127.0.0.1:18000")
    );
    assert_eq!(written["data_dir"].as_str(), Some("hub-data/p33"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = out.join("p33").join(TLS_DIR).join(HUB_KEY_FILE);
        let mode = std::fs::metadata(&key)
            .expect("hub key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mut clash = args(&out);
    clash.hub_port = 17101;
    let e = deploy(&topo, &clash).expect_err("hub port of d323");
    assert!(matches!(e, DeployError::HubPorts { .. }), "{e}");
    assert_eq!(e.exit_code(), exit::USAGE);
    assert!(
        e.to_string()
            .contains("node d323 listens on 127.0.0.1:17101"),
        "{e}"
    );
    let vi = e.render(Lang::Vi);
    assert!(vi.contains("node d323 đã nghe ở 127.0.0.1:17101"), "{vi}");
    assert!(vi.contains("hãy chọn cổng khác"), "{vi}");
    let vi = render(&second, Lang::Vi);
    assert!(vi.contains("Đã triển khai p33"), "{vi}");
    assert!(vi.contains("chạy: sync178-hub run --config "), "{vi}");
    assert!(
        vi.contains("5 node (1 cấp tỉnh, 2 cấp huyện, 2 cấp xã)"),
        "{vi}"
    );
}
