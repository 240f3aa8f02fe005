//! Whole topologies of real nodes over loopback mTLS: exactly-once arrival,
//! partitions, restarts, an older store, and forged or broken pushes.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use sync178_shared::event::{self, ZERO_HASH};
use sync178_shared::proto::v1::{HandshakeRequest, LinkState, PushBatch, RefusalKind};
use sync178_shared::testing::chain_from;
use sync178_shared::tls::{Identity, Role};
use sync178_shared::unit::{Level, UnitId};
use sync178_tests::cluster::{Cluster, hung_yen};

const WAIT: Duration = Duration::from_secs(60);

fn communes(c: &Cluster) -> Vec<UnitId> {
    c.topology
        .units()
        .filter(|u| u.level() == Level::Commune)
        .collect()
}

fn districts(c: &Cluster) -> Vec<UnitId> {
    c.topology
        .units()
        .filter(|u| u.level() == Level::District)
        .collect()
}

/// Reads `unit`'s whole log and checks: every origin's events appear once,
/// seqs 1..n in position order, chains verify; returns counts per origin.
async fn check_log(c: &Cluster, unit: UnitId) -> HashMap<UnitId, u64> {
    let log = c.read_log(unit).await;
    let mut heads: HashMap<UnitId, (u64, event::Hash)> = HashMap::new();
    let mut ids = HashSet::new();
    for (i, (pos, bytes)) in log.iter().enumerate() {
        assert_eq!(*pos, i as u64, "positions are dense");
        let v = event::open(bytes.clone()).expect("every stored event verifies");
        let h = v.header;
        let (seq, prev) = heads.get(&h.origin).copied().unwrap_or((0, ZERO_HASH));
        assert_eq!(
            h.seq,
            seq + 1,
            "{unit}: {} out of order or doubled",
            h.origin
        );
        assert_eq!(h.prev_hash, prev, "{unit}: {} chain broken", h.origin);
        assert!(ids.insert(h.id), "{unit}: id stored twice");
        heads.insert(h.origin, (h.seq, h.hash));
    }
    heads.into_iter().map(|(o, (s, _))| (o, s)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_of_every_unit_reaches_the_province_exactly_once() {
    let c = Cluster::start(&hung_yen(2, 3)).await;
    let mut expected = HashMap::new();
    let mut units = communes(&c);
    units.extend(districts(&c));
    units.push(c.province);
    assert_eq!(units.len(), 9);
    // Submit at every unit concurrently, in several batches each.
    let mut tasks = Vec::new();
    for (k, u) in units.iter().enumerate() {
        let per_batch = 20 + k;
        expected.insert(*u, (per_batch * 4) as u64);
        let c = &c;
        tasks.push(async move {
            for _ in 0..4 {
                c.submit(*u, per_batch).await;
            }
        });
    }
    futures::future::join_all(tasks).await;
    c.wait_for_heads(c.province, &expected, WAIT).await;
    assert_eq!(check_log(&c, c.province).await, expected);
    // Each district holds exactly its subtree.
    for d in districts(&c) {
        let mine: HashMap<UnitId, u64> = expected
            .iter()
            .filter(|(o, _)| c.topology.is_within(**o, d))
            .map(|(o, n)| (*o, *n))
            .collect();
        c.wait_for_heads(d, &mine, WAIT).await;
        assert_eq!(check_log(&c, d).await, mine);
    }
    // Status: every link live, nothing left to send.
    for u in communes(&c) {
        let s = c.status(u).await;
        let up = s.uplink.expect("uplink");
        assert_eq!(up.backlog, 0, "{u}");
        assert_eq!(up.state, LinkState::Live as i32, "{u}: {up:?}");
    }
    let root = c.status(c.province).await.uplink.expect("uplink");
    assert_eq!(root.state, LinkState::NoParent as i32);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_commune_cut_off_keeps_recording_and_catches_up_by_itself() {
    let c = Cluster::start(&hung_yen(1, 2)).await;
    let commune = communes(&c)[0];
    let district = c.topology.parent(commune).expect("parent");
    c.submit(commune, 10).await;
    c.wait_for_heads(c.province, &HashMap::from([(commune, 10)]), WAIT)
        .await;
    // The province can hold them before the district's acknowledgement reaches
    // the commune: wait for it, so the backlog below is exactly what was cut off.
    let start = std::time::Instant::now();
    loop {
        let s = c.status(commune).await;
        let acked = s
            .origins
            .iter()
            .find(|o| o.origin == commune.to_string())
            .map(|o| o.parent_seq);
        if acked == Some(10) {
            break;
        }
        assert!(start.elapsed() < WAIT, "never acknowledged: {acked:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Cut the commune's link to its district; it keeps recording.
    c.proxy(district).cut();
    for _ in 0..5 {
        c.submit(commune, 20).await;
    }
    let s = c.status(commune).await;
    assert_eq!(s.log_length, 110, "ingest is not blocked by the parent");
    let d = c.status(district).await;
    assert_eq!(
        d.origins
            .iter()
            .find(|o| o.origin == commune.to_string())
            .map(|o| o.seq),
        Some(10)
    );

    // Status says the link is down and why, with the backlog.
    let start = std::time::Instant::now();
    loop {
        let up = c.status(commune).await.uplink.expect("uplink");
        if up.state != LinkState::Live as i32 && !up.last_error.is_empty() {
            assert_eq!(up.backlog, 100);
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "status never showed the cut: {up:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    c.proxy(district).heal();
    c.wait_for_heads(c.province, &HashMap::from([(commune, 110)]), WAIT)
        .await;
    let counts = check_log(&c, c.province).await;
    assert_eq!(counts.get(&commune), Some(&110));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_district_restarted_mid_stream_ends_with_exactly_the_right_events() {
    let c = Cluster::start(&hung_yen(1, 3)).await;
    let cs = communes(&c);
    let district = districts(&c)[0];
    // Communes keep submitting while the district restarts twice.
    let mut expected = HashMap::new();
    let writers = cs.iter().map(|u| {
        let c = &c;
        async move {
            for _ in 0..30 {
                c.submit(*u, 10).await;
            }
        }
    });
    let restarts = async {
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            c.stop_node(district).await;
            c.start_node(district).await;
        }
    };
    futures::future::join(futures::future::join_all(writers), restarts).await;
    for u in &cs {
        expected.insert(*u, 300);
    }
    c.wait_for_heads(c.province, &expected, WAIT).await;
    assert_eq!(check_log(&c, c.province).await, expected);
    assert_eq!(check_log(&c, district).await, expected);
    c.shutdown().await;
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("readable").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copies");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_district_restored_from_an_older_copy_is_refilled_from_below() {
    let c = Cluster::start(&hung_yen(1, 2)).await;
    let cs = communes(&c);
    let district = districts(&c)[0];
    c.submit(district, 5).await;
    for u in &cs {
        c.submit(*u, 10).await;
    }
    let mut expected: HashMap<UnitId, u64> = cs.iter().map(|u| (*u, 10)).collect();
    expected.insert(district, 5);
    c.wait_for_heads(c.province, &expected, WAIT).await;

    // Take a copy of the district's store while it is stopped.
    c.stop_node(district).await;
    let backup = c.dir.path().join("backup");
    copy_dir(&c.data_dir(district), &backup);
    c.start_node(district).await;
    for u in &cs {
        c.submit(*u, 15).await;
        expected.insert(*u, 25);
    }
    c.wait_for_heads(c.province, &expected, WAIT).await;

    // Replace the district's store by the older copy.
    c.stop_node(district).await;
    std::fs::remove_dir_all(c.data_dir(district)).expect("removes");
    copy_dir(&backup, &c.data_dir(district));
    c.start_node(district).await;
    let s = c.status(district).await;
    assert!(
        s.origins
            .iter()
            .all(|o| o.seq <= 10 || o.origin == district.to_string())
    );

    // The communes see the district's older heads and push again.
    c.wait_for_heads(district, &expected, WAIT).await;
    assert_eq!(check_log(&c, district).await, expected);
    assert_eq!(check_log(&c, c.province).await, expected);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_tampered_gapped_and_divergent_pushes_are_refused_and_honest_data_flows() {
    let c = Cluster::start(&hung_yen(2, 2)).await;
    let ds = districts(&c);
    let (d1, d2) = (ds[0], ds[1]);
    let c1 = c.topology.children(d1)[0];
    let sibling = c.topology.children(d1)[1];
    c.submit(c1, 3).await;
    c.wait_for_heads(d1, &HashMap::from([(c1, 3)]), WAIT).await;

    // A commune cannot handshake with another district.
    let err = c
        .sync_client(d2, Identity::new(c1, Role::Node))
        .await
        .handshake(HandshakeRequest {})
        .await
        .expect_err("not its parent");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    assert!(
        err.message().contains("not a direct child"),
        "{}",
        err.message()
    );

    // A recorder certificate cannot push.
    let err = c
        .sync_client(d1, Identity::new(c1, Role::Recorder))
        .await
        .handshake(HandshakeRequest {})
        .await
        .expect_err("wrong role");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);

    // A certificate of another province's CA does not even connect.
    let other = tempfile::tempdir().expect("tempdir");
    let other_csv = "province_code,province_name,district_code,district_name,commune_code,commune_name\n\
                     01,Thành phố Hà Nội,001,Quận Ba Đình,00001,Phường Phúc Xá\n";
    let other_topo_path = other.path().join("t.csv");
    std::fs::write(&other_topo_path, other_csv).expect("writes");
    let other_topo =
        sync178_shared::topology::Topology::from_csv_path(&other_topo_path).expect("loads");
    let p01: UnitId = "p01".parse().expect("unit");
    sync178_node::certs::issue_province(&other_topo, p01, other.path()).expect("certs");
    let foreign = sync178_node::certs::province_files(
        other.path(),
        Identity::new("c00001".parse().expect("unit"), Role::Node),
    );
    let ours = c.files(Identity::new(c1, Role::Node));
    let read = |p: &std::path::Path| std::fs::read_to_string(p).expect("reads");
    // Trusts our CA (so the server is accepted) but presents the other province's certificate.
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(read(&ours.ca)))
        .domain_name(sync178_shared::tls::dns_name(d1))
        .identity(tonic::transport::Identity::from_pem(
            read(&foreign.cert),
            read(&foreign.key),
        ));
    let refused = match c.try_channel(d1, tls).await {
        Err(_) => true,
        Ok(ch) => sync178_shared::proto::v1::sync_client::SyncClient::new(ch)
            .handshake(HandshakeRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a foreign CA's certificate was accepted");

    // Pushes from c1's real certificate that break the rules.
    let d1_heads = c.status(d1).await;
    let head = d1_heads
        .origins
        .iter()
        .find(|o| o.origin == c1.to_string())
        .expect("head");
    let prev: event::Hash = head.hash.as_slice().try_into().expect("hash");
    let next = chain_from(c1, 4, prev, 3);
    let mut tampered = next[0].to_vec();
    let n = tampered.len();
    tampered[n / 3] ^= 1;
    let forged_sibling = chain_from(sibling, 1, ZERO_HASH, 1);
    let divergent = chain_from(c1, 3, [9; 32], 1); // a different seq 3
    let cases: Vec<(&str, Vec<Bytes>, RefusalKind)> = vec![
        (
            "sibling origin",
            forged_sibling,
            RefusalKind::ForbiddenOrigin,
        ),
        (
            "tampered",
            vec![Bytes::from(tampered)],
            RefusalKind::Tampered,
        ),
        ("gap", vec![next[1].clone()], RefusalKind::Gap),
        ("divergent duplicate", divergent, RefusalKind::Diverged),
    ];
    for (what, events, kind) in cases {
        let mut client = c.sync_client(d1, Identity::new(c1, Role::Node)).await;
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tx.send(PushBatch {
            batch_id: 7,
            events,
        })
        .await
        .expect("sends");
        let mut acks = client
            .push(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .expect("push opens")
            .into_inner();
        let ack = acks.message().await.expect("ack").expect("an ack");
        let refused = ack.refused.unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!(refused.kind, kind as i32, "{what}: {refused:?}");
        assert!(!refused.reason.is_empty());
        assert_eq!(ack.batch_id, 7);
    }
    // Status of the district reports the last refusal of that child.
    let d1s = c.status(d1).await;
    let child = d1s
        .children
        .iter()
        .find(|x| x.unit == c1.to_string())
        .expect("child");
    assert!(!child.last_refusal.is_empty());

    // Nothing of it was stored; the honest data keeps flowing.
    c.submit(c1, 4).await;
    c.submit(sibling, 2).await;
    let expected = HashMap::from([(c1, 7), (sibling, 2)]);
    c.wait_for_heads(c.province, &expected, WAIT).await;
    assert_eq!(check_log(&c, c.province).await, expected);
    c.shutdown().await;
}
