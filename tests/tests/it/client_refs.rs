//! Client references across tiers: events recorded with a commune's `client_ref` reach the district, the province and the hub, and the commune's secret is found in none of their data folders.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use sync178_node::client_ref::{ClientSecret, SECRET_FILE};
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::{
    Body, ClientNeedAssessed, Event, ServiceKind, SupportServiceProvided, SyncStatusRequest,
};
use sync178_shared::testing::draft;
use sync178_shared::unit::Level;
use sync178_tests::cluster::{Cluster, hung_yen};

const WAIT: Duration = Duration::from_secs(60);

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.push((path, bytes));
            }
        }
    }
    out
}

fn holds(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A draft at `unit` with `kind` as its body.
fn client_event(unit: &str, kind: Kind) -> Event {
    let mut e = draft(unit, 1);
    e.body = Some(Body { kind: Some(kind) });
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_communes_secret_is_in_no_parents_or_hubs_data() {
    let c = Cluster::start(&hung_yen(1, 1)).await;
    let hub = c.start_hub().await;
    let commune = c
        .topology
        .units()
        .find(|u| u.level() == Level::Commune)
        .expect("a commune");
    let district = c.topology.parent(commune).expect("district");
    // Once the node answers, it has made its secret.
    c.submit(commune, 1).await;
    let secret = ClientSecret::load(&c.data_dir(commune)).expect("the node made its secret");
    let name = commune.to_string();
    let first_ref = secret.reference("HS-2024-0001").expect("case number");
    let mut events = Vec::new();
    for case in ["HS-2024-0001", "HS-2024-0002", "HS-2024-0003"] {
        let client_ref = secret.reference(case).expect("case number");
        events.push(client_event(
            &name,
            Kind::ClientNeedAssessed(ClientNeedAssessed {
                client_key_id: secret.key_id(),
                client_ref: client_ref.clone(),
                needs: vec![ServiceKind::Health as i32],
            }),
        ));
        events.push(client_event(
            &name,
            Kind::SupportServiceProvided(SupportServiceProvided {
                client_key_id: secret.key_id(),
                client_ref,
                service: ServiceKind::Health as i32,
                provider: "Trạm y tế".into(),
                cost_vnd: 0,
            }),
        ));
    }
    let accepted = c.submit_events(commune, events).await;
    let head = accepted.last().expect("accepted").seq;
    let heads = HashMap::from([(commune, head)]);
    c.wait_for_heads(district, &heads, WAIT).await;
    c.wait_for_heads(c.province, &heads, WAIT).await;
    // The hub has applied everything the province holds.
    let want = c.status(c.province).await.log_length;
    let mut q = c.query(hub.addr).await;
    let start = Instant::now();
    loop {
        let s = q
            .sync_status(SyncStatusRequest {
                unit: String::new(),
            })
            .await
            .expect("sync status")
            .into_inner();
        if s.checkpoint >= want {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "hub stuck at {} of {want}",
            s.checkpoint
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hub.stop().await;
    let status = serde_json::to_string(&c.status(commune).await).expect("json");
    for u in [commune, district, c.province] {
        c.stop_node(u).await;
    }

    let raw = secret.bytes().to_vec();
    let hex = hex::encode(&raw);
    assert!(!status.contains(&hex));
    // The check finds the secret where it is: the commune's own folder, in its file only.
    let own = files(&c.data_dir(commune));
    let found: Vec<_> = own
        .iter()
        .filter(|(_, b)| holds(b, &raw) || holds(b, hex.as_bytes()))
        .map(|(p, _)| p.file_name().expect("name").to_owned())
        .collect();
    assert_eq!(found, vec![std::ffi::OsString::from(SECRET_FILE)]);
    for dir in [
        c.data_dir(district),
        c.data_dir(c.province),
        c.hub_config().data_dir,
    ] {
        let all = files(&dir);
        // A control: the grep does see what the events carry.
        assert!(
            all.iter().any(|(_, b)| holds(b, first_ref.as_bytes())),
            "{} does not hold the events' client_ref",
            dir.display()
        );
        for (path, bytes) in all {
            assert!(
                !holds(&bytes, &raw) && !holds(&bytes, hex.as_bytes()),
                "{} holds the commune's secret",
                path.display()
            );
        }
    }
    c.shutdown().await;
}
