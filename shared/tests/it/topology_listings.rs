//! Loads the real GSO listings shipped in `deploy/topology/` and checks known facts about them.

use std::path::PathBuf;

use sync178_shared::topology::{ListingFormat, Topology};
use sync178_shared::unit::{Level, UnitId};

/// Path of a listing under `deploy/topology/`.
fn listing_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/topology")
        .join(file)
}

/// Loads a listing under `deploy/topology/`.
fn listing(file: &str) -> Topology {
    let path = listing_path(file);
    Topology::from_csv_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn id(s: &str) -> UnitId {
    s.parse().expect("valid unit id")
}

/// Number of units of `level` in the topology.
fn count(t: &Topology, level: Level) -> usize {
    t.units().filter(|u| u.level() == level).count()
}

/// Number of children of `unit` (its districts, or its communes).
fn children(t: &Topology, unit: &str) -> usize {
    t.children(id(unit)).len()
}

#[test]
fn listing_2024_counts() {
    let t = listing("vn-admin-units-2024.csv");
    assert_eq!(t.format(), ListingFormat::ThreeTier);
    assert_eq!(count(&t, Level::Province), 63);
    assert_eq!(t.roots().len(), 63);
    // Official counts say 696 districts. Five island districts have no
    // communes and therefore no rows: Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa,
    // Côn Đảo, Lý Sơn.
    assert_eq!(count(&t, Level::District), 691);
    assert_eq!(count(&t, Level::Commune), 10_051);
    assert_eq!(t.len(), 63 + 691 + 10_051);
    assert_eq!(
        t.roots()
            .iter()
            .map(|&p| t.communes_under(p))
            .sum::<usize>(),
        10_051
    );

    // (province, name, districts, communes)
    let provinces = [
        ("p01", "Thành phố Hà Nội", 30, 526),
        ("p22", "Tỉnh Quảng Ninh", 13, 171),
        ("p33", "Tỉnh Hưng Yên", 10, 139),
        ("p38", "Tỉnh Thanh Hóa", 26, 549),
    ];
    for (p, name, districts, communes) in provinces {
        assert_eq!(t.name(id(p)), Some(name), "{p}");
        assert_eq!(children(&t, p), districts, "{p} districts");
        assert_eq!(t.communes_under(id(p)), communes, "{p} communes");
    }
    assert_eq!(t.name(id("d008")), Some("Quận Hoàng Mai"));
    assert_eq!(children(&t, "d008"), 14);
    assert_eq!(t.communes_under(id("d008")), 14);
    assert_eq!(t.name(id("d329")), Some("Huyện Ân Thi"));
    assert_eq!(t.parent(id("d329")), Some(id("p33")));
    assert_eq!(t.name(id("c00292")), Some("Phường Bạch Mai"));
    let ancestors: Vec<UnitId> = t.ancestors(id("c00292")).collect();
    assert_eq!(ancestors, [id("d007"), id("p01")]);
    // Every commune sits under a district, every district under a province.
    for u in t.units() {
        let want = match u.level() {
            Level::Commune => Some(Level::District),
            Level::District => Some(Level::Province),
            Level::Province => None,
        };
        assert_eq!(t.parent(u).map(UnitId::level), want, "{u}");
    }
}

#[test]
fn listing_2025_counts() {
    let t = listing("vn-admin-units-2025.csv");
    assert_eq!(t.format(), ListingFormat::TwoTier);
    assert_eq!(count(&t, Level::Province), 34);
    assert_eq!(count(&t, Level::District), 0);
    assert_eq!(count(&t, Level::Commune), 3_321);
    assert_eq!(t.len(), 34 + 3_321);
    assert_eq!(t.name(id("p01")), Some("Thành phố Hà Nội"));
    assert_eq!(children(&t, "p01"), 126);
    assert_eq!(t.communes_under(id("p33")), 104);
    assert_eq!(t.parent(id("c00070")), Some(id("p01")));
    assert_eq!(t.name(id("c00070")), Some("Phường Hoàn Kiếm"));
    assert!(!t.contains(id("d008")));
    for u in t.units().filter(|u| u.level() == Level::Commune) {
        assert_eq!(t.parent(u).map(UnitId::level), Some(Level::Province), "{u}");
    }
}

#[test]
fn is_within_on_real_units() {
    let t = listing("vn-admin-units-2024.csv");
    // Phường Bạch Mai, Quận Hai Bà Trưng, Hà Nội.
    let (c, d, p) = (id("c00292"), id("d007"), id("p01"));
    for (unit, ancestor) in [(c, c), (c, d), (c, p), (d, d), (d, p), (p, p)] {
        assert!(t.is_within(unit, ancestor), "{unit} within {ancestor}");
    }
    let negatives = [
        (c, id("d008")),   // a sibling district
        (c, id("p33")),    // another province
        (d, c),            // upside down
        (p, d),            // upside down
        (id("c99999"), p), // unknown unit
        (c, id("p99")),    // unknown ancestor
    ];
    for (unit, ancestor) in negatives {
        assert!(!t.is_within(unit, ancestor), "{unit} not within {ancestor}");
    }
    let t25 = listing("vn-admin-units-2025.csv");
    assert!(t25.is_within(id("c00070"), id("p01")));
    assert!(!t25.is_within(id("c00070"), id("p33")));
    assert!(!t25.is_within(c, d), "no districts in 2025");
}

#[test]
fn province_extraction_and_write_back() {
    let t = listing("vn-admin-units-2024.csv");
    let hn = t.province(id("p01")).expect("Hà Nội is in the listing");
    assert_eq!(hn.roots(), [id("p01")]);
    assert_eq!(hn.len(), 1 + 30 + 526);
    assert_eq!(hn.communes_under(id("p01")), 526);
    assert_eq!(hn.children(id("d008")).len(), 14);
    assert!(hn.contains(id("c00292")));
    assert!(!hn.contains(id("p33")));
    assert!(!hn.contains(id("d329")));
    assert_eq!(hn.subtree(id("p01")), t.subtree(id("p01")));

    // Writing the whole listing back gives the file byte for byte.
    let original = std::fs::read(listing_path("vn-admin-units-2024.csv")).expect("readable");
    let mut written = Vec::new();
    t.write_csv(&mut written).expect("writes");
    assert!(written == original, "2024 listing does not round-trip");

    // A one-province file reloads to the same subtree.
    let mut one = Vec::new();
    hn.write_csv(&mut one).expect("writes");
    let reloaded = Topology::from_csv_reader(&one[..], "p01.csv").expect("reloads");
    assert_eq!(
        reloaded.units().collect::<Vec<_>>(),
        hn.units().collect::<Vec<_>>()
    );
    assert_eq!(reloaded.name(id("d008")), Some("Quận Hoàng Mai"));

    let t25 = listing("vn-admin-units-2025.csv");
    let original = std::fs::read(listing_path("vn-admin-units-2025.csv")).expect("readable");
    let mut written = Vec::new();
    t25.write_csv(&mut written).expect("writes");
    assert!(written == original, "2025 listing does not round-trip");
    let hy = t25
        .province(id("p33"))
        .expect("Hưng Yên is in the 2025 listing");
    assert_eq!(hy.len(), 1 + 104);
    assert_eq!(hy.format(), ListingFormat::TwoTier);

    let err = t.province(id("p99")).expect_err("no such province");
    assert!(
        err.to_string().starts_with("province p99 is not in "),
        "{err}"
    );
}
