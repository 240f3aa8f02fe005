//! The administrative history: the shipped 2024 and 2025 listings with their
//! merge table, ids read by date, bad merge tables refused with the row, and
//! a made-up third listing that loads and works without code changes.

use std::path::{Path, PathBuf};

use sync178_shared::history::{History, HistoryError};
use sync178_shared::i18n::{Lang, Localized};
use sync178_shared::period::parse_date;
use sync178_shared::unit::UnitId;

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/topology/history.toml")
}

fn id(s: &str) -> UnitId {
    s.parse().expect("valid id")
}

fn day(s: &str) -> sync178_shared::period::Date {
    parse_date(s).expect("valid date")
}

#[test]
fn shipped_history_reads_the_same_code_as_two_places() {
    let h = History::from_path(&shipped()).expect("shipped history loads");
    assert_eq!(h.listings().len(), 2);
    let t = h.topology();
    // c00004: Phường Trúc Bạch in 2024, the merged Phường Ba Đình in 2025.
    let old = h.read("c00004", day("2024-03-01")).expect("in 2024");
    let new = h.read("c00004", day("2026-03-01")).expect("in 2026");
    assert_eq!(old, id("c00004"));
    assert_eq!(new, id("c00004@2025"));
    assert_ne!(old, new);
    assert_eq!(t.name(old), Some("Phường Trúc Bạch"));
    assert_eq!(t.name(new), Some("Phường Ba Đình"));
    // The reform date is the manifest's: the day before is the old listing.
    assert_eq!(h.read("c00004", day("2025-06-30")), Ok(old));
    assert_eq!(h.read("c00004", day("2025-07-01")), Ok(new));
    // Trúc Bạch went whole into Ba Đình; its district is gone today, its
    // records count for today's Hà Nội.
    assert_eq!(h.today_path(old), [new, id("p01@2025")]);
    assert_eq!(h.today_path(id("d001")), [id("p01@2025")]);
    assert!(h.predecessors(new).contains(&old));
    // Thái Bình (p34) became part of Hưng Yên (p33) in 2025.
    assert_eq!(h.today_path(id("p34")), [id("p33@2025")]);
    assert_eq!(h.today_path(id("p33")), [id("p33@2025")]);
    let thai_binh_commune = t
        .subtree(id("p34"))
        .into_iter()
        .find(|u| u.level() == sync178_shared::unit::Level::Commune)
        .expect("p34 has communes");
    assert!(h.is_within(thai_binh_commune, id("p33@2025")));
    assert!(!h.is_within(thai_binh_commune, id("p01@2025")));
    assert!(
        !h.is_within(new, old),
        "a new unit is never inside an old one"
    );
    // The 26 communes the table does not map stay, listed as unmapped.
    assert_eq!(h.unmapped().len(), 26);
    for u in h.unmapped() {
        let path = h.today_path(*u);
        assert_eq!(path.len(), 1, "{u}: only today's province");
        assert_eq!(path[0].level(), sync178_shared::unit::Level::Province);
    }
    // Counts of today's structure come from the 2025 listing.
    assert_eq!(t.communes_under(id("p33@2025")), 104);
    assert_eq!(t.communes_under(id("p33")), 139);
}

#[test]
fn an_id_outside_the_listing_in_force_is_refused_naming_unit_date_and_listing() {
    let h = History::from_path(&shipped()).expect("shipped history loads");
    // d008 (Quận Hoàng Mai) is a district: none exist after the reform.
    let err = h
        .read("d008", day("2026-01-10"))
        .expect_err("no districts in 2026");
    assert_eq!(
        err.to_string(),
        "d008 does not exist in the listing 2025 (from 2025-07-01) in force on 2026-01-10 (it exists as d008)"
    );
    let err = h
        .read("c00004@2025", day("2024-05-01"))
        .expect_err("not yet");
    assert_eq!(
        err.to_string(),
        "c00004@2025 does not exist in the listing 2024 (until 2025-06-30) in force on 2024-05-01 (it exists as c00004)"
    );
    // What the officer reads by default: Vietnamese dates, and the other
    // listing's id to use instead (not the id given, which is refused).
    assert_eq!(
        err.text(Lang::Vi),
        "c00004@2025 không có trong danh mục 2024 (đến 30/06/2025), danh mục có hiệu lực ngày 01/05/2024 (cùng mã ở danh mục khác: c00004)"
    );
    // A 2024 code the 2025 listing did not reuse.
    let gone = h
        .topology()
        .units()
        .find(|u| {
            u.edition().is_first()
                && u.level() == sync178_shared::unit::Level::Commune
                && !h.topology().contains(u.with_edition(h.today().edition()))
        })
        .expect("some 2024 code is not reused");
    let err = h
        .read(&gone.to_string(), day("2025-07-01"))
        .expect_err("gone after the reform");
    assert!(
        err.to_string()
            .starts_with(&format!("{gone} does not exist in the listing 2025")),
        "{err}"
    );
}

/// A small world of three listings, written to `dir`.
fn made_up(dir: &Path, third_merges: &str) -> PathBuf {
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
    w(
        "a.csv",
        "province_code,province_name,district_code,district_name,commune_code,commune_name\n\
         01,Tỉnh Một,001,Huyện Một,00001,Xã A\n\
         01,Tỉnh Một,001,Huyện Một,00002,Xã B\n\
         01,Tỉnh Một,002,Huyện Hai,00003,Xã C\n\
         02,Tỉnh Hai,003,Huyện Ba,00004,Xã D\n",
    );
    w(
        "b.csv",
        "province_code,province_name,commune_code,commune_name\n\
         01,Tỉnh Một,00001,Xã AB\n\
         01,Tỉnh Một,00003,Xã CD\n",
    );
    w(
        "ab.csv",
        "old_province_code,old_district_code,old_commune_code,old_commune_name,new_province_code,new_commune_code,new_commune_name,kind,default\n\
         01,001,00001,Xã A,01,00001,Xã AB,whole,yes\n\
         01,001,00002,Xã B,01,00001,Xã AB,split,no\n\
         01,001,00002,Xã B,01,00003,Xã CD,split,yes\n\
         01,002,00003,Xã C,01,00003,Xã CD,whole,yes\n\
         02,003,00004,Xã D,01,00003,Xã CD,whole,yes\n",
    );
    w(
        "c.csv",
        "province_code,province_name,commune_code,commune_name\n\
         07,Tỉnh Bảy,00009,Xã Mới\n",
    );
    w("bc.csv", third_merges);
    w(
        "history.toml",
        "[[listing]]\nedition = 2024\nfile = \"a.csv\"\n\n\
         [[listing]]\nedition = 2025\nfrom = \"2025-07-01\"\nfile = \"b.csv\"\nmerges = \"ab.csv\"\n\n\
         [[listing]]\nedition = 2027\nfrom = \"2027-01-01\"\nfile = \"c.csv\"\nmerges = \"bc.csv\"\n",
    );
    dir.join("history.toml")
}

const BC: &str = "old_province_code,old_district_code,old_commune_code,old_commune_name,new_province_code,new_commune_code,new_commune_name,kind,default\n\
                  01,,00001,Xã AB,07,00009,Xã Mới,whole,yes\n\
                  01,,00003,Xã CD,07,00009,Xã Mới,whole,yes\n";

#[test]
fn a_made_up_third_listing_loads_and_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = History::from_path(&made_up(dir.path(), BC)).expect("three listings load");
    assert_eq!(h.listings().len(), 3);
    assert_eq!(h.today().edition().year(), 2027);
    assert_eq!(h.read("c00001", day("2024-01-01")), Ok(id("c00001")));
    assert_eq!(h.read("c00001", day("2026-12-31")), Ok(id("c00001@2025")));
    assert_eq!(h.read("c00009", day("2027-01-01")), Ok(id("c00009@2027")));
    assert!(h.read("c00001", day("2027-01-01")).is_err());
    // Two steps to today's structure; a split goes to its default.
    assert_eq!(
        h.today_path(id("c00002")),
        [id("c00009@2027"), id("p07@2027")]
    );
    assert_eq!(
        h.successors(id("c00002")),
        [id("c00003@2025"), id("c00001@2025")]
    );
    assert_eq!(h.today_path(id("p02")), [id("p07@2027")]);
    let mut preds = h.predecessors(id("c00009@2027")).to_vec();
    preds.sort();
    assert_eq!(
        preds,
        [
            "c00001",
            "c00002",
            "c00003",
            "c00004",
            "c00001@2025",
            "c00003@2025"
        ]
        .map(id)
    );
    assert!(h.is_within(id("c00004"), id("p07@2027")));
    assert!(
        h.is_within(id("d003"), id("p01@2025")),
        "d003's province went into p01@2025"
    );
    assert!(h.unmapped().is_empty());
    assert_eq!(h.listings()[1].until(), Some(day("2026-12-31")));
}

#[test]
fn bad_merge_tables_are_refused_with_the_row() {
    let header = "old_province_code,old_district_code,old_commune_code,old_commune_name,new_province_code,new_commune_code,new_commune_name,kind,default\n";
    let cases: &[(&str, &str)] = &[
        (
            "01,,00001,X,07,00009,Y,whole,yes\n01,,00005,X,07,00009,Y,whole,yes\n",
            "bc.csv row 2: old_commune_code: c00005@2025 is not in listing 2025",
        ),
        (
            "01,,00001,X,07,00008,Y,whole,yes\n",
            "bc.csv row 1: new_commune_code: c00008@2027 is not in listing 2027",
        ),
        (
            "01,,00001,X,07,00009,Y,whole,yes\n01,,00003,X,07,00009,Y,split,no\n",
            "bc.csv: split commune c00003@2025 (row 2) has 0 default successors, expected exactly 1",
        ),
        (
            "02,,00001,X,07,00009,Y,whole,yes\n",
            "bc.csv row 1: old_province_code: c00001@2025 is not in p02@2025 in listing 2025",
        ),
        (
            "01,,00001,X,07,00009,Y,merged,yes\n",
            "bc.csv row 1: kind \"merged\" must be whole or split",
        ),
        (
            "01,,1,X,07,00009,Y,whole,yes\n",
            "bc.csv row 1: old_commune_code \"1\" must have exactly 5 digits",
        ),
        (
            "01,,00001,X,07,00009,Y,whole,yes\n01,,00001,X,07,00009,Y,whole,yes\n",
            "bc.csv row 2: c00001@2025 into c00009@2027 is listed twice",
        ),
        (
            "01,,00001,X,07,00009,Y,whole,yes\n01,,00003,X,07,00009,Y,whole,no\n",
            "bc.csv row 2: default: a whole row (c00003@2025 into c00009@2027) is its commune's default",
        ),
    ];
    for (rows, expected) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = History::from_path(&made_up(dir.path(), &format!("{header}{rows}")))
            .expect_err(expected);
        assert!(
            matches!(
                err,
                HistoryError::MergeRow { .. } | HistoryError::SplitDefault { .. }
            ),
            "{err:?}"
        );
        let shown = err.to_string();
        let shown = shown.rsplit('/').next().unwrap_or_default();
        assert_eq!(shown, *expected);
    }
    // Two defaults for a split commune, in the shipped shape.
    let dir = tempfile::tempdir().expect("tempdir");
    made_up(dir.path(), BC);
    std::fs::write(
        dir.path().join("ab.csv"),
        "old_province_code,old_district_code,old_commune_code,old_commune_name,new_province_code,new_commune_code,new_commune_name,kind,default\n\
         01,001,00001,Xã A,01,00001,Xã AB,split,yes\n\
         01,001,00001,Xã A,01,00003,Xã CD,split,yes\n",
    )
    .expect("write");
    let err = History::from_path(&dir.path().join("history.toml")).expect_err("two defaults");
    assert!(
        err.to_string().ends_with(
            "ab.csv: split commune c00001 (row 1) has 2 default successors, expected exactly 1"
        ),
        "{err}"
    );
    // A province left with no place: nothing of it mapped, no same code.
    let dir = tempfile::tempdir().expect("tempdir");
    let err = History::from_path(&made_up(dir.path(), header)).expect_err("no place");
    assert!(
        err.to_string().ends_with(
            "bc.csv: province p01@2025 has no place in the next listing: none of its communes \
             is mapped and no province there has its code"
        ),
        "{err}"
    );
}

#[test]
fn bad_manifests_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = made_up(dir.path(), BC);
    let cases = [
        (
            "[[listing]]\nedition = 2024\nfile = \"a.csv\"\n[[listing]]\nedition = 2025\nfile = \"b.csv\"\nmerges = \"ab.csv\"\n",
            "listing 2 (edition 2025): from must be given",
        ),
        (
            "[[listing]]\nedition = 2024\nfile = \"a.csv\"\n[[listing]]\nedition = 2025\nfrom = \"2026-07-01\"\nfile = \"b.csv\"\nmerges = \"ab.csv\"\n",
            "listing 2: edition 2025 must come into force in 2025, not on 2026-07-01",
        ),
        (
            "[[listing]]\nedition = 2024\nfile = \"a.csv\"\n[[listing]]\nedition = 2025\nfrom = \"2025-07-01\"\nfile = \"b.csv\"\n",
            "listing 2 (edition 2025): merges (the table from edition 2024) must be given",
        ),
        (
            "[[listing]]\nedition = 2025\nfile = \"b.csv\"\n[[listing]]\nedition = 2024\nfrom = \"2024-07-01\"\nfile = \"a.csv\"\nmerges = \"ab.csv\"\n",
            "listing 2: edition 2024 must come after 2025",
        ),
        (
            "[[listing]]\nedition = 1999\nfile = \"a.csv\"\n",
            "listing 1: edition: listing year 1999 is outside 2024–2151",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&path, text).expect("write");
        let err = History::from_path(&path).expect_err(expected);
        assert!(err.to_string().ends_with(expected), "{err} / {expected}");
    }
    std::fs::write(
        &path,
        "[[listing]]\nedition = 2024\nfile = \"a.csv\"\ncolour = 1\n",
    )
    .expect("write");
    let err = History::from_path(&path).expect_err("unknown key");
    assert!(err.to_string().contains("colour"), "{err}");
}

#[test]
fn a_province_cut_keeps_the_old_units_that_became_part_of_it() {
    let h = History::from_path(&shipped()).expect("shipped history loads");
    let cut = h.province(id("p33@2025")).expect("new Hưng Yên");
    let t = cut.topology();
    assert!(
        t.contains(id("p33")) && t.contains(id("p34")),
        "old Hưng Yên and Thái Bình"
    );
    assert_eq!(t.communes_under(id("p33")), 139);
    assert_eq!(t.communes_under(id("p34")), 242);
    assert_eq!(t.communes_under(id("p33@2025")), 104);
    assert!(!t.contains(id("p01@2025")) && !t.contains(id("p01")));
    assert_eq!(cut.today_path(id("p34")), [id("p33@2025")]);
    assert!(cut.province(id("p01@2025")).is_err());
}

#[test]
fn a_single_listing_is_a_history_of_one() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/topology/vn-admin-units-2024.csv");
    let h = History::from_path(&path).expect("one listing");
    assert_eq!(h.listings().len(), 1);
    assert_eq!(h.read("c00004", day("2030-01-01")), Ok(id("c00004")));
    assert_eq!(
        h.today_path(id("c00004")),
        [id("c00004"), id("d001"), id("p01")]
    );
}

/// Everything a history answers about its units, to compare two histories.
fn answers(h: &History) -> Vec<String> {
    let mut out: Vec<String> = h
        .topology()
        .units()
        .map(|u| {
            format!(
                "{u} {:?} parent {:?} place {:?} next {:?} preds {:?}",
                h.topology().name(u),
                h.topology().parent(u),
                h.place_today(u),
                h.successors(u),
                h.predecessors(u),
            )
        })
        .collect();
    out.extend(h.listings().iter().map(|l| {
        format!(
            "listing {} from {:?} until {:?}",
            l.edition(),
            l.from(),
            l.until()
        )
    }));
    out.push(format!("unmapped {:?}", h.unmapped()));
    out
}

#[test]
fn a_written_history_reads_back_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A province's cut of the shipped history (old Hưng Yên and Thái Bình,
    // today's Hưng Yên), and a made-up history of three listings.
    let h = History::from_path(&shipped()).expect("shipped history loads");
    let cut = h.province(id("p33@2025")).expect("new Hưng Yên");
    let made = History::from_path(&made_up(dir.path(), BC)).expect("three listings load");
    for (name, h) in [("cut", cut), ("made-up", made)] {
        let out = dir.path().join(name);
        let manifest = h.write(&out).expect("writes");
        let back = History::from_path(&manifest).expect("reads back");
        assert_eq!(answers(&back), answers(&h), "{name}");
        assert_eq!(
            back.topology().format(),
            h.topology().format(),
            "{name}: today's listing keeps its format"
        );
    }
}
