//! A node that lost its store gets its events back from its parent before it
//! records again: a commune reinstalled on an empty store, a commune whose
//! sled files were damaged, a district reinstalled with its whole subtree.
//! Nothing forked, nothing lost, every event at the province exactly once.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use sync178_shared::event::{self, ZERO_HASH};
use sync178_shared::unit::{Level, UnitId};
use sync178_tests::cluster::{Cluster, hung_yen};

const WAIT: Duration = Duration::from_secs(60);

fn of_level(c: &Cluster, level: Level) -> Vec<UnitId> {
    c.topology.units().filter(|u| u.level() == level).collect()
}

/// Every origin's events once, in seq order, chains unbroken; counts per origin.
async fn check_log(c: &Cluster, unit: UnitId) -> HashMap<UnitId, u64> {
    let mut heads: HashMap<UnitId, (u64, event::Hash)> = HashMap::new();
    let mut ids = HashSet::new();
    for (_, bytes) in c.read_log(unit).await {
        let h = event::open(bytes).expect("verifies").header;
        let (seq, prev) = heads.get(&h.origin).copied().unwrap_or((0, ZERO_HASH));
        assert_eq!(
            h.seq,
            seq + 1,
            "{unit}: {} out of order or doubled",
            h.origin
        );
        assert_eq!(h.prev_hash, prev, "{unit}: {} chain broken", h.origin);
        assert!(ids.insert(h.id), "{unit}: an id stored twice");
        heads.insert(h.origin, (h.seq, h.hash));
    }
    heads.into_iter().map(|(o, (s, _))| (o, s)).collect()
}

/// Waits until `unit`'s status counts exactly `n` events recovered from its
/// parent (counted as each batch is stored, so a submit that the reopened
/// recording accepted may answer first); never more.
async fn wait_recovered(c: &Cluster, unit: UnitId, n: u64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = c.status(unit).await.uplink.expect("uplink").recovered;
        assert!(got <= n, "{unit}: recovered {got}, more than {n}");
        if got == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{unit}: recovered {got} of {n} after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Seqs the submits were given, which must be exactly `from..=to`.
fn assert_seqs(accepted: &[sync178_shared::proto::v1::Accepted], from: u64, to: u64) {
    let seqs: Vec<u64> = accepted.iter().map(|a| a.seq).collect();
    assert_eq!(seqs, (from..=to).collect::<Vec<_>>());
    assert!(accepted.iter().all(|a| !a.duplicate));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reinstalled_commune_recovers_its_chain_from_the_district_and_continues() {
    let c = Cluster::start(&hung_yen(1, 2)).await;
    let commune = of_level(&c, Level::Commune)[0];
    assert_seqs(&c.submit(commune, 30).await, 1, 30);
    c.wait_for_heads(c.province, &HashMap::from([(commune, 30)]), WAIT)
        .await;

    // The PC is reinstalled: same certificates, an empty data folder.
    c.stop_node(commune).await;
    std::fs::remove_dir_all(c.data_dir(commune)).expect("removes");
    c.start_node(commune).await;

    // Recording waits for the parent, then continues at seq 31.
    assert_seqs(&c.submit(commune, 5).await, 31, 35);
    let s = c.status(commune).await;
    assert!(s.recording_closed.is_empty(), "{}", s.recording_closed);
    wait_recovered(&c, commune, 30).await;
    assert_eq!(check_log(&c, commune).await.get(&commune), Some(&35));
    c.wait_for_heads(c.province, &HashMap::from([(commune, 35)]), WAIT)
        .await;
    assert_eq!(check_log(&c, c.province).await.get(&commune), Some(&35));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_damaged_commune_store_is_closed_until_the_district_gives_its_events_back() {
    let c = Cluster::start(&hung_yen(1, 1)).await;
    let commune = of_level(&c, Level::Commune)[0];
    let district = c.topology.parent(commune).expect("district");
    for _ in 0..8 {
        c.submit(commune, 5).await;
    }
    c.wait_for_heads(district, &HashMap::from([(commune, 40)]), WAIT)
        .await;

    // Stopped, its sled files cut in half; its link to the district down.
    c.stop_node(commune).await;
    let log_dir = c.data_dir(commune).join("log");
    let mut cut = 0;
    for e in std::fs::read_dir(&log_dir).expect("readable").flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_file() && !name.starts_with("sync178-anchor") && name != "conf" {
            let bytes = std::fs::read(&p).expect("reads");
            std::fs::write(&p, &bytes[..bytes.len() / 2]).expect("writes");
            cut += 1;
        }
    }
    assert!(cut > 0);
    c.proxy(district).cut();
    c.start_node(commune).await;

    // It says it lost events and refuses to record: no seq is reused.
    let s = c.status(commune).await;
    assert!(!s.recording_closed.is_empty(), "recording stayed open");
    let own = s
        .origins
        .iter()
        .find(|o| o.origin == commune.to_string())
        .map_or(0, |o| o.seq);
    assert!(own < 40, "nothing was lost: the test damaged nothing");
    let refused = c.try_submit(commune, 1).await;
    assert!(refused.is_err(), "a damaged store recorded: {refused:?}");

    // The district comes back: every acknowledged event returns, then seq 41.
    c.proxy(district).heal();
    c.wait_for_heads(commune, &HashMap::from([(commune, 40)]), WAIT)
        .await;
    assert_seqs(&c.submit(commune, 2).await, 41, 42);
    assert!(c.status(commune).await.recording_closed.is_empty());
    assert_eq!(check_log(&c, commune).await.get(&commune), Some(&42));
    c.wait_for_heads(c.province, &HashMap::from([(commune, 42)]), WAIT)
        .await;
    assert_eq!(check_log(&c, c.province).await.get(&commune), Some(&42));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reinstalled_district_gets_its_own_chain_and_its_subtree_back_from_the_province() {
    let c = Cluster::start(&hung_yen(1, 2)).await;
    let district = of_level(&c, Level::District)[0];
    let cs = of_level(&c, Level::Commune);
    c.submit(district, 7).await;
    for u in &cs {
        c.submit(*u, 12).await;
    }
    let mut expected: HashMap<UnitId, u64> = cs.iter().map(|u| (*u, 12)).collect();
    expected.insert(district, 7);
    c.wait_for_heads(c.province, &expected, WAIT).await;

    // Reinstalled with its communes cut off: only the province can refill it.
    c.proxy(district).cut();
    c.stop_node(district).await;
    std::fs::remove_dir_all(c.data_dir(district)).expect("removes");
    c.start_node(district).await;
    c.wait_for_heads(district, &expected, WAIT).await;
    assert_seqs(&c.submit(district, 1).await, 8, 8);
    expected.insert(district, 8);
    assert_eq!(check_log(&c, district).await, expected);
    c.proxy(district).heal();
    c.wait_for_heads(c.province, &expected, WAIT).await;
    assert_eq!(check_log(&c, c.province).await, expected);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_day_old_backup_restored_on_a_new_pc_converges_with_the_district() {
    use sync178_shared::tls::{Identity, Role};
    let c = Cluster::start(&hung_yen(1, 1)).await;
    let commune = of_level(&c, Level::Commune)[0];
    let district = c.topology.parent(commune).expect("district");
    c.submit(commune, 20).await;
    let file = c.dir.path().join("c.backup");
    let ch = c
        .channel(commune, Identity::new(c.province, Role::Operator))
        .await;
    let b = sync178_node::backup::backup(ch, "test", &file, None)
        .await
        .expect("backs up");
    assert_eq!(b.events.len(), 20);
    // A day of work after the backup, acknowledged by the district.
    c.submit(commune, 10).await;
    c.wait_for_heads(district, &HashMap::from([(commune, 30)]), WAIT)
        .await;

    // The PC dies; the backup goes onto a new one.
    c.stop_node(commune).await;
    std::fs::remove_dir_all(c.data_dir(commune)).expect("removes");
    let log_dir = c.data_dir(commune);
    let n = sync178_node::backup::restore(&log_dir, commune, &file, true)
        .await
        .expect("restores");
    assert_eq!(n, 20);
    // Restoring twice is refused: the store is no longer empty.
    assert!(matches!(
        sync178_node::backup::restore(&log_dir, commune, &file, true).await,
        Err(sync178_node::backup::BackupError::StoreNotEmpty { events: 20, .. })
    ));
    c.start_node(commune).await;
    assert_seqs(&c.submit(commune, 2).await, 31, 32);
    wait_recovered(&c, commune, 10).await;
    assert_eq!(check_log(&c, commune).await.get(&commune), Some(&32));
    c.wait_for_heads(c.province, &HashMap::from([(commune, 32)]), WAIT)
        .await;
    assert_eq!(check_log(&c, c.province).await.get(&commune), Some(&32));
    c.shutdown().await;
}

#[tokio::test]
async fn a_truncated_altered_or_foreign_backup_is_refused_and_nothing_is_written() {
    use sync178_node::backup::{Backup, BackupError, read_file, restore, write_file};
    use sync178_shared::testing::chain;
    let dir = tempfile::tempdir().expect("tempdir");
    let me: UnitId = "c11950".parse().expect("unit");
    let good = dir.path().join("good.backup");
    write_file(
        &good,
        &Backup {
            unit: me,
            created_at: 1,
            events: chain(me, 12),
            secret: None,
        },
    )
    .expect("writes");
    assert_eq!(read_file(&good).expect("reads").events.len(), 12);
    let bytes = std::fs::read(&good).expect("reads");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", bytes[..bytes.len() / 2].to_vec()),
        ("altered", {
            let mut b = bytes.clone();
            b[100] ^= 1;
            b
        }),
        ("empty", Vec::new()),
    ];
    let log_dir = dir.path().join("log");
    for (name, b) in cases {
        let f = dir.path().join(name);
        std::fs::write(&f, b).expect("writes");
        match restore(&log_dir, me, &f, true).await {
            Err(BackupError::Damaged { reason, .. }) => assert!(!reason.is_empty()),
            other => panic!("{name}: {other:?}"),
        }
        assert!(!log_dir.exists(), "{name}: a refused restore wrote a store");
    }
    let other: UnitId = "c11953".parse().expect("unit");
    match restore(&log_dir, other, &good, false).await {
        Err(BackupError::OtherUnit { found, unit, .. }) => assert_eq!((found, unit), (me, other)),
        r => panic!("another unit's backup: {r:?}"),
    }
    assert!(!log_dir.exists());
}
