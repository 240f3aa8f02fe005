//! The 2025 reform on a running province: three tiers record, the province
//! switches to two tiers (a new province node, new commune nodes, every old
//! node handing what it holds to today's province) while communes keep
//! recording and one commune is offline across the switch; then two tiers
//! record. Every event arrives once at today's province, chains intact; old
//! districts say when they are safe to retire; a commune left pointing at
//! its old district is refused with the reason; and the hub's figures by
//! either structure equal a replay.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sync178_hub::reconcile::projections::check_projections;
use sync178_node::config::ParentConfig;
use sync178_shared::proto::v1::{Event, RollupRequest, View};
use sync178_shared::testing::draft;
use sync178_shared::tls::{Identity, Role};
use sync178_shared::unit::UnitId;
use sync178_tests::cluster::{Cluster, hung_yen};

const WAIT: Duration = Duration::from_secs(60);

/// Today's listing for the four old communes of `hung_yen(2, 2)`.
const LISTING_2025: &str = "province_code,province_name,commune_code,commune_name\n\
33,Hưng Yên,11953,Phường Phố Hiến\n\
33,Hưng Yên,11983,Phường Sơn Nam\n\
33,Hưng Yên,11986,Xã Như Quỳnh\n\
33,Hưng Yên,11992,Xã Lạc Đạo\n\
33,Hưng Yên,11995,Xã Đại Đồng\n";

/// Their rows of the shipped merge table (Lạc Đạo was split).
const MERGES: &str = "old_province_code,old_district_code,old_commune_code,old_commune_name,new_province_code,new_commune_code,new_commune_name,kind,default\n\
33,323,11950,Phường Lam Sơn,33,11983,Phường Sơn Nam,whole,yes\n\
33,323,11953,Phường Hiến Nam,33,11953,Phường Phố Hiến,whole,yes\n\
33,325,11986,Thị trấn Như Quỳnh,33,11986,Xã Như Quỳnh,whole,yes\n\
33,325,11989,Xã Lạc Đạo,33,11992,Xã Lạc Đạo,split,yes\n\
33,325,11989,Xã Lạc Đạo,33,11995,Xã Đại Đồng,split,no\n";

fn u(s: &str) -> UnitId {
    s.parse().expect("unit id")
}

/// `n` events at `unit` (as written in the event) dated `on`.
fn events(unit: &str, on: &str, n: usize, base: u32) -> Vec<Event> {
    (0..n)
        .map(|i| Event {
            occurred_on: on.into(),
            ..draft(unit, base + i as u32)
        })
        .collect()
}

/// Every origin's head at `unit`'s node.
async fn heads(c: &Cluster, unit: UnitId) -> HashMap<String, (u64, Vec<u8>)> {
    c.status(unit)
        .await
        .origins
        .into_iter()
        .map(|o| (o.origin, (o.seq, o.hash)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_three_tier_province_switches_to_two_tiers_losing_and_doubling_nothing() {
    let mut c = Cluster::start(&hung_yen(2, 2)).await;
    let (p_old, d323, d325) = (u("p33"), u("d323"), u("d325"));
    let (lam_son, hien_nam, nhu_quynh, lac_dao) =
        (u("c11950"), u("c11953"), u("c11986"), u("c11989"));
    // Three tiers record 2024 and the first half of 2025.
    for (i, commune) in [lam_son, hien_nam, nhu_quynh, lac_dao].iter().enumerate() {
        let code = commune.to_string();
        c.submit_events(*commune, events(&code, "2024-05-01", 3 + i, 0))
            .await;
        c.submit_events(*commune, events(&code, "2025-03-01", 2, 100))
            .await;
    }
    c.submit_events(d323, events("d323", "2024-06-01", 2, 0))
        .await;
    c.submit_events(p_old, events("p33", "2024-07-01", 1, 0))
        .await;
    let mut want: HashMap<UnitId, u64> = [
        (lam_son, 5),
        (hien_nam, 6),
        (nhu_quynh, 7),
        (lac_dao, 8),
        (d323, 2),
        (p_old, 1),
    ]
    .into_iter()
    .collect();
    c.wait_for_heads(p_old, &want, WAIT).await;

    // Lạc Đạo goes offline (its parent unreachable) and keeps recording
    // the end of June.
    let mut offline = c.config(lac_dao);
    offline.parent = Some(ParentConfig {
        endpoint: "https://127.0.0.1:9".into(),
        unit: Some(d325),
    });
    c.restart_with(lac_dao, offline).await;
    c.submit_events(lac_dao, events("c11989", "2025-06-28", 3, 200))
        .await;
    *want.get_mut(&lac_dao).expect("lac dao") += 3;

    // The switch: today's province node first, then each old node on the
    // new history (it now pushes to today's province) while the others
    // keep recording, then the new communes.
    c.switch(LISTING_2025, MERGES, "2025-07-01").await;
    let p_new = u("p33@2025");
    assert_eq!(c.province, p_new);
    c.restart_with(p_new, c.config(p_new)).await;
    for unit in [p_old, d323, d325, lam_son, hien_nam, nhu_quynh] {
        c.restart_with(unit, c.config(unit)).await;
        // A late entry, dated before the reform, still goes in.
        if unit == hien_nam {
            c.submit_events(hien_nam, events("c11953", "2025-06-30", 1, 300))
                .await;
            *want.get_mut(&hien_nam).expect("hien nam") += 1;
        }
    }
    // An old commune cannot record after the reform: the bare id names
    // today's Phường Phố Hiến, another unit than its node's.
    let refused = c
        .try_submit_events(hien_nam, events("c11953", "2025-07-02", 1, 400))
        .await;
    assert_eq!(refused.rejected.len(), 1, "{refused:?}");
    let new_communes = [
        u("c11953@2025"),
        u("c11983@2025"),
        u("c11986@2025"),
        u("c11992@2025"),
        u("c11995@2025"),
    ];
    for (i, commune) in new_communes.iter().enumerate() {
        c.restart_with(*commune, c.config(*commune)).await;
        let bare = commune.to_string().replace("@2025", "");
        c.submit_events(*commune, events(&bare, "2025-09-01", 2 + i, 0))
            .await;
        want.insert(*commune, 2 + i as u64);
    }
    c.submit_events(p_new, events("p33", "2025-10-01", 1, 0))
        .await;
    want.insert(p_new, 1);

    // Lạc Đạo comes back after the switch, on the new history: its June
    // events reach today's province directly.
    c.restart_with(lac_dao, c.config(lac_dao)).await;
    c.wait_for_heads(p_new, &want, WAIT).await;

    // Every old origin's chain is the one the old province holds (heads and
    // hashes equal), but for the late entries that went to today's province
    // directly after the switch (Hiến Nam's and offline Lạc Đạo's).
    let at_old = heads(&c, p_old).await;
    let at_new = heads(&c, p_new).await;
    for (origin, head) in &at_old {
        if origin != "c11989" && origin != "c11953" {
            assert_eq!(at_new.get(origin), Some(head), "{origin}");
        }
    }
    assert_eq!(at_old.get("c11953").map(|h| h.0), Some(6));
    assert_eq!(at_old.get("c11989").map(|h| h.0), Some(8));
    assert_eq!(at_new.len(), want.len(), "{at_new:?}");
    // Every event once: the log holds exactly the heads' sum.
    let total: u64 = want.values().sum();
    assert_eq!(c.status(p_new).await.log_length, total);

    // Districts say when they are safe to retire.
    let start = Instant::now();
    loop {
        let r = c.status(d323).await.retirement.expect("d323 is retired");
        assert_eq!(r.until, "2025-06-30");
        assert_eq!(r.parent, "p33@2025");
        if r.confirmed && r.not_held == 0 {
            break;
        }
        assert!(start.elapsed() < WAIT, "d323 never safe to retire: {r:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(c.status(lam_son).await.retirement.is_some());
    assert!(c.status(new_communes[0]).await.retirement.is_none());

    // A commune left pointing at its old district is refused, with why.
    let mut stale = c.config(nhu_quynh);
    stale.parent = Some(ParentConfig {
        endpoint: format!("https://{}", c.proxy(d325).addr()),
        unit: Some(d325),
    });
    c.restart_with(nhu_quynh, stale).await;
    let start = Instant::now();
    let why = loop {
        let up = c.status(nhu_quynh).await.uplink.unwrap_or_default();
        if up.last_error.contains("no longer a child node") {
            break up.last_error;
        }
        assert!(start.elapsed() < WAIT, "not refused: {up:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        why.contains("p33@2025") && why.contains("2025-07-01"),
        "{why}"
    );

    // The hub of today's province: by today's structure and by the
    // structure of the time, equal to a replay.
    let hub = c.start_hub().await;
    let mut q = c.query(hub.addr).await;
    let events_2024 = |r: sync178_shared::proto::v1::RollupResponse| {
        r.rollup
            .expect("rollup")
            .metrics
            .into_iter()
            .find(|m| m.name == "events")
            .map_or(0, |m| m.value)
    };
    let start = Instant::now();
    let today_2024 = loop {
        let r = q
            .rollup(RollupRequest {
                unit: "p33@2025".into(),
                period: "2024".into(),
                no_suppress: true,
                view: View::Today as i32,
            })
            .await;
        if let Ok(r) = r {
            let n = events_2024(r.into_inner());
            if n == 3 + 4 + 5 + 6 + 2 + 1 {
                break n;
            }
        }
        assert!(start.elapsed() < WAIT, "the hub never showed 2024");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let as_recorded = q
        .rollup(RollupRequest {
            unit: "p33".into(),
            period: "2024".into(),
            no_suppress: true,
            view: View::AsRecorded as i32,
        })
        .await
        .expect("as recorded")
        .into_inner();
    assert_eq!(
        events_2024(as_recorded),
        today_2024,
        "province totals agree"
    );
    let hub_url = format!("https://{}", hub.addr);
    let node_url = format!("https://{}", c.proxy(p_new).addr());
    let tls = c.files(Identity::new(p_new, Role::Hub));
    let start = Instant::now();
    loop {
        let r = check_projections(&hub_url, &node_url, p_new, &tls, &c.history)
            .await
            .expect("reconcile runs");
        if r.is_consistent() && r.checkpoint == total {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "projections differ: {}",
            r.render_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    hub.stop().await;
    c.shutdown().await;
}

/// Today's Hưng Yên for two communes of old Hưng Yên and two of Thái Bình.
const MERGED_2025: &str = "province_code,province_name,commune_code,commune_name\n\
33,Hưng Yên,11983,Phường Sơn Nam\n\
33,Hưng Yên,11986,Xã Như Quỳnh\n\
33,Hưng Yên,12472,Xã Quỳnh Phụ\n\
33,Hưng Yên,13225,Phường Thái Bình\n";

const MERGED_ROWS: &str = "old_province_code,old_district_code,old_commune_code,old_commune_name,new_province_code,new_commune_code,new_commune_name,kind,default\n\
33,323,11950,Phường Lam Sơn,33,11983,Phường Sơn Nam,whole,yes\n\
33,325,11986,Thị trấn Như Quỳnh,33,11986,Xã Như Quỳnh,whole,yes\n\
34,336,12433,Phường Lê Hồng Phong,33,13225,Phường Thái Bình,whole,yes\n\
34,338,12472,Thị trấn Quỳnh Côi,33,12472,Xã Quỳnh Phụ,whole,yes\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_province_merge_brings_the_retired_provinces_whole_logs_into_the_new_one() {
    let thai_binh = sync178_tests::cluster::province_subset("34", 2, 1);
    let both = hung_yen(2, 1) + thai_binh.split_once('\n').map_or("", |(_, rows)| rows);
    let mut c = Cluster::start(&both).await;
    let (hy, tb) = (u("p33"), u("p34"));
    let mut want_hy = HashMap::new();
    let mut want_tb = HashMap::new();
    for (i, (commune, code, province)) in [
        (u("c11950"), "c11950", hy),
        (u("c11986"), "c11986", hy),
        (u("c12433"), "c12433", tb),
        (u("c12472"), "c12472", tb),
    ]
    .into_iter()
    .enumerate()
    {
        c.submit_events(commune, events(code, "2024-04-01", 2 + i, 0))
            .await;
        let want = if province == hy {
            &mut want_hy
        } else {
            &mut want_tb
        };
        want.insert(commune, 2 + i as u64);
    }
    c.submit_events(u("d336"), events("d336", "2024-08-01", 2, 0))
        .await;
    want_tb.insert(u("d336"), 2);
    c.submit_events(tb, events("p34", "2024-09-01", 1, 0)).await;
    want_tb.insert(tb, 1);
    c.wait_for_heads(hy, &want_hy, WAIT).await;
    c.wait_for_heads(tb, &want_tb, WAIT).await;
    let (old_hy, old_tb) = (heads(&c, hy).await, heads(&c, tb).await);

    // The merge: today's province node, then both old provinces hand over.
    c.switch(MERGED_2025, MERGED_ROWS, "2025-07-01").await;
    let p_new = u("p33@2025");
    c.restart_with(p_new, c.config(p_new)).await;
    for p in [hy, tb] {
        c.restart_with(p, c.config(p)).await;
    }
    let all: HashMap<UnitId, u64> = want_hy
        .iter()
        .chain(&want_tb)
        .map(|(k, v)| (*k, *v))
        .collect();
    c.wait_for_heads(p_new, &all, WAIT).await;
    // Every origin with its chain intact: heads and hashes equal.
    let at_new = heads(&c, p_new).await;
    for (origin, head) in old_hy.iter().chain(&old_tb) {
        assert_eq!(at_new.get(origin), Some(head), "{origin}");
    }
    assert_eq!(at_new.len(), old_hy.len() + old_tb.len());

    // The new hub: 2024 by today's structure is the sum of the two old
    // provinces' by the structure of the time, metric by metric.
    let hub = c.start_hub().await;
    let q = c.query(hub.addr).await;
    let total: u64 = all.values().sum();
    let ask = |unit: &str, view: View| {
        let req = RollupRequest {
            unit: unit.into(),
            period: "2024".into(),
            no_suppress: true,
            view: view as i32,
        };
        let mut q = q.clone();
        async move {
            q.rollup(req)
                .await
                .ok()
                .and_then(|r| r.into_inner().rollup)
                .map(|r| {
                    r.metrics
                        .into_iter()
                        .map(|m| (m.name, m.value))
                        .collect::<HashMap<String, u64>>()
                })
        }
    };
    let start = Instant::now();
    let today = loop {
        if let Some(m) = ask("p33@2025", View::Today).await
            && m.get("events") == Some(&total)
        {
            break m;
        }
        assert!(start.elapsed() < WAIT, "the hub never showed all of 2024");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let a = ask("p33", View::AsRecorded).await.expect("old Hưng Yên");
    let b = ask("p34", View::AsRecorded).await.expect("Thái Bình");
    for (name, v) in &today {
        let sum = a.get(name).copied().unwrap_or(0) + b.get(name).copied().unwrap_or(0);
        assert_eq!(*v, sum, "{name}");
    }
    hub.stop().await;
    c.shutdown().await;
}
