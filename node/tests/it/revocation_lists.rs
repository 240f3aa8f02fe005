//! `certs revoke` lists and the checks every holder makes before believing one.

use std::path::Path;

use sync178_node::certs::issue_province;
use sync178_node::revoke::{Target, parse_serial, revoke};
use sync178_shared::revocation::{Offered, RevocationError, RevocationList, Revocations};
use sync178_shared::tls::{Identity, Role};
use sync178_shared::topology::Topology;
use sync178_shared::unit::UnitId;

const HUNG_YEN: &str = "\
province_code,province_name,district_code,district_name,commune_code,commune_name
33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11950,Phường Lam Sơn
";
const HA_NOI: &str = "\
province_code,province_name,district_code,district_name,commune_code,commune_name
01,Thành phố Hà Nội,001,Quận Ba Đình,00001,Phường Phúc Xá
";

fn unit(s: &str) -> UnitId {
    s.parse().unwrap_or_else(|e| panic!("bad unit {s}: {e}"))
}

fn province(dir: &Path, csv: &str, p: &str) -> Vec<u8> {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("t.csv"), csv).expect("writes");
    let topo = Topology::from_csv_path(&dir.join("t.csv")).expect("topology");
    issue_province(&topo, unit(p), dir).expect("issues");
    let pem = std::fs::read_to_string(dir.join("ca.pem")).expect("ca");
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("pem");
    pem.contents
}

#[test]
fn revoke_numbers_lists_and_moves_the_certificate_aside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = province(dir.path(), HUNG_YEN, "p33");
    let recorder = Identity::new(unit("c11950"), Role::Recorder);
    let first = revoke(dir.path(), &Target::Identity(recorder)).expect("revokes");
    assert_eq!((first.number, first.revoked, first.already), (1, 1, false));
    assert!(
        !dir.path().join("c11950/recorder.pem").exists(),
        "moved aside"
    );
    assert_eq!(first.moved.len(), 2);

    let again = revoke(
        dir.path(),
        &Target::Serial(parse_serial(&first.serial).expect("hex")),
    )
    .expect("revokes");
    assert!(again.already, "{again:?}");
    assert_eq!(again.number, 1, "nothing changed");

    let second = revoke(
        dir.path(),
        &Target::Identity(Identity::new(unit("p33"), Role::Operator)),
    )
    .expect("revokes");
    assert_eq!((second.number, second.revoked), (2, 2));
    let list =
        RevocationList::verify(&std::fs::read(&second.crl).expect("reads"), &ca).expect("verifies");
    assert_eq!(list.number(), 2);
    assert!(list.revokes(&parse_serial(&first.serial).expect("hex")));

    assert!(parse_serial("zz").is_err());
    assert!(parse_serial("00").is_err());
    assert_eq!(parse_serial("0A:0b").ok(), Some(vec![10, 11]));
}

#[test]
fn bad_lists_are_refused_and_the_held_one_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = province(&dir.path().join("p33"), HUNG_YEN, "p33");
    province(&dir.path().join("p01"), HA_NOI, "p01");
    let ours = dir.path().join("p33");
    let one = revoke(&ours, &Target::Serial(vec![1])).expect("list 1");
    let list1 = std::fs::read(&one.crl).expect("reads");
    let two = revoke(&ours, &Target::Serial(vec![2])).expect("list 2");
    let list2 = std::fs::read(&two.crl).expect("reads");
    let foreign = revoke(&dir.path().join("p01"), &Target::Serial(vec![3])).expect("foreign");
    let foreign = std::fs::read(&foreign.crl).expect("reads");

    let held = Revocations::new(ca.clone());
    assert_eq!(held.offer(&list2).map(|(o, _)| o), Ok(Offered::Adopted(2)));
    assert_eq!(
        held.offer(&list2).map(|(o, _)| o),
        Ok(Offered::AlreadyHeld(2))
    );

    let der = RevocationList::verify(&list2, &ca)
        .expect("verifies")
        .der()
        .to_vec();
    let mut bad_signature = der.clone();
    let n = bad_signature.len();
    bad_signature[n - 3] ^= 0x40;
    let truncated = der[..der.len() / 2].to_vec();
    let cases: [(&str, &[u8]); 5] = [
        ("bad signature", &bad_signature),
        ("another province", &foreign),
        ("older", &list1),
        ("truncated", &truncated),
        ("empty", b""),
    ];
    for (what, bytes) in cases {
        let err = held.offer(bytes).map(|(o, _)| o).expect_err(what);
        let ok = match what {
            "bad signature" => matches!(err, RevocationError::BadSignature),
            "another province" => matches!(err, RevocationError::ForeignIssuer { .. }),
            "older" => err == RevocationError::Older { got: 1, held: 2 },
            _ => matches!(err, RevocationError::Malformed(_)),
        };
        assert!(ok, "{what}: {err:?} ({err})");
        assert_eq!(held.number(), 2, "{what}: the held list stays");
    }
    assert!(held.revokes(&[2]).is_some() && held.revokes(&[1]).is_some());
    assert_eq!(held.revokes(&[3]), None);
}
