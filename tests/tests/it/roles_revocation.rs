//! Issue 15: a server must prove its role (a recorder certificate cannot pose
//! as a district), and a revoked certificate is refused everywhere once the
//! province's revocation list has flowed down the tree.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sync178_node::revocation::{HELD_FILE, INCOMING_FILE, REFUSED_FILE};
use sync178_node::revoke::{self, Target};
use sync178_shared::proto::v1::ingest_client::IngestClient;
use sync178_shared::proto::v1::sync_server::{Sync, SyncServer};
use sync178_shared::proto::v1::{
    DigestRequest, DigestResponse, HandshakeRequest, HandshakeResponse, LinkState, PushAck,
    PushBatch, RecoverBatch, RecoverRequest, StatusResponse, SubmitRequest,
};
use sync178_shared::testing::draft;
use sync178_shared::tls::{Identity, LoadedTls, Role, TlsFiles};
use sync178_shared::unit::UnitId;
use sync178_tests::cluster::{Cluster, hung_yen};
use tokio::net::TcpListener;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

const WAIT: Duration = Duration::from_secs(20);

/// Polls `unit`'s status until `done` holds; panics with the last status after [`WAIT`].
async fn wait_status(
    c: &Cluster,
    unit: UnitId,
    what: &str,
    done: impl Fn(&StatusResponse) -> bool,
) -> StatusResponse {
    let start = Instant::now();
    loop {
        let s = c.status(unit).await;
        if done(&s) {
            return s;
        }
        assert!(
            start.elapsed() < WAIT,
            "{unit}: {what} not reached; status: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A "district" that acknowledges whatever it is pushed: what a stolen
/// recorder laptop would run to swallow a commune's data.
#[derive(Default)]
struct Swallower {
    handshakes: AtomicUsize,
    events: Arc<AtomicUsize>,
    parent: String,
}

#[tonic::async_trait]
impl Sync for Swallower {
    async fn handshake(
        &self,
        _req: Request<HandshakeRequest>,
    ) -> Result<Response<HandshakeResponse>, Status> {
        self.handshakes.fetch_add(1, Ordering::SeqCst);
        Ok(Response::new(HandshakeResponse {
            parent: self.parent.clone(),
            ..HandshakeResponse::default()
        }))
    }

    type PushStream = ReceiverStream<Result<PushAck, Status>>;

    async fn push(
        &self,
        req: Request<Streaming<PushBatch>>,
    ) -> Result<Response<Self::PushStream>, Status> {
        let mut incoming = req.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let events = self.events.clone();
        tokio::spawn(async move {
            while let Ok(Some(b)) = incoming.message().await {
                events.fetch_add(b.events.len(), Ordering::SeqCst);
                let ack = PushAck {
                    batch_id: b.batch_id,
                    applied: b.events.len() as u32,
                    ..PushAck::default()
                };
                if tx.send(Ok(ack)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn digest(
        &self,
        _req: Request<DigestRequest>,
    ) -> Result<Response<DigestResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    type RecoverStream = ReceiverStream<Result<RecoverBatch, Status>>;

    async fn recover(
        &self,
        _req: Request<RecoverRequest>,
    ) -> Result<Response<Self::RecoverStream>, Status> {
        Err(Status::unimplemented("fake"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorder_certificate_cannot_pose_as_district() {
    let c = Cluster::start(&hung_yen(1, 1)).await;
    let commune = c
        .topology
        .subtree(c.province)
        .into_iter()
        .find(|u| u.level() == sync178_shared::unit::Level::Commune)
        .expect("commune");
    let district = c.topology.parent(commune).expect("district");

    // The district recorder's laptop serves Sync with its recorder certificate.
    let tls: LoadedTls = c
        .files(Identity::new(district, Role::Recorder))
        .load()
        .expect("loads");
    let fake = Arc::new(Swallower {
        parent: district.to_string(),
        ..Swallower::default()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .tls_config(tls.server_config())
            .expect("tls")
            .add_service(SyncServer::from_arc(fake.clone()))
            .serve_with_incoming_shutdown(
                TcpListenerStream::new(listener),
                stop.clone().cancelled_owned(),
            ),
    );

    // Once the real district has confirmed the commune's chain (so the
    // commune records), its uplink is sent to the fake (as by ARP or DNS
    // spoofing on the LAN).
    wait_status(&c, commune, "a live uplink", |s| {
        s.recording_closed.is_empty()
            && s.uplink
                .as_ref()
                .is_some_and(|u| u.state == LinkState::Live as i32)
    })
    .await;
    c.stop_node(commune).await;
    c.proxy(district).retarget(addr);
    c.start_node(commune).await;
    c.submit(commune, 3).await;

    let s = wait_status(&c, commune, "a refused uplink", |s| {
        s.uplink
            .as_ref()
            .is_some_and(|u| u.reconnects >= 2 && !u.last_error.is_empty())
    })
    .await;
    let up = s.uplink.expect("uplink");
    assert!(
        up.last_error.contains(&format!(
            "server certificate is a recorder certificate of {district}, expected the node of {district}"
        )),
        "{}",
        up.last_error
    );
    assert_ne!(up.state, LinkState::Live as i32);
    assert_eq!(up.backlog, 3, "nothing acknowledged");
    assert_eq!(fake.handshakes.load(Ordering::SeqCst), 0);
    assert_eq!(fake.events.load(Ordering::SeqCst), 0);

    stop.cancel();
    let _ = server.await;
    c.shutdown().await;
}

/// Revokes `target` with the province CA and gives the list to the province node.
async fn revoke_and_install(c: &Cluster, target: &Target) -> revoke::RevokeReport {
    // The node is serving, so its data directory exists.
    status_as_hub(c).await;
    let ca_dir = c.dir.path().join("certs");
    let report = revoke::revoke(&ca_dir, target).expect("revokes");
    let tmp = c.data_dir(c.province).join("incoming.tmp");
    std::fs::copy(&report.crl, &tmp).expect("copies");
    std::fs::rename(&tmp, c.data_dir(c.province).join(INCOMING_FILE)).expect("installs");
    report
}

/// The TLS files of a revoked certificate, from where `certs revoke` moved them.
fn moved_files(c: &Cluster, report: &revoke::RevokeReport) -> TlsFiles {
    let find = |ext: &str| {
        report
            .moved
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == ext))
            .cloned()
            .expect("moved file")
    };
    TlsFiles {
        ca: c.dir.path().join("certs").join("ca.pem"),
        cert: find("pem"),
        key: find("key"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_recorder_is_refused_at_its_node() {
    let c = Cluster::start(&hung_yen(1, 1)).await;
    let commune = c
        .topology
        .subtree(c.province)
        .into_iter()
        .find(|u| u.level() == sync178_shared::unit::Level::Commune)
        .expect("commune");
    let district = c.topology.parent(commune).expect("district");
    // An open connection of the recorder, made before the revocation.
    let ch = c
        .channel(commune, Identity::new(commune, Role::Recorder))
        .await;
    let mut client = IngestClient::new(ch);
    client
        .submit(SubmitRequest {
            events: vec![draft(&commune.to_string(), 0)],
        })
        .await
        .expect("accepted before the revocation");

    // A recorder of another unit is not served here at all.
    let other = c
        .channel(commune, Identity::new(district, Role::Recorder))
        .await;
    let err = IngestClient::new(other)
        .submit(SubmitRequest {
            events: vec![draft(&commune.to_string(), 9)],
        })
        .await
        .expect_err("a recorder of another unit was served");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);

    let report = revoke_and_install(
        &c,
        &Target::Identity(Identity::new(commune, Role::Recorder)),
    )
    .await;
    assert_eq!(report.number, 1);
    for u in [c.province, district, commune] {
        wait_status(&c, u, "revocation list 1", |s| s.revocation_number == 1).await;
    }
    assert!(
        c.data_dir(commune).join(HELD_FILE).is_file(),
        "stored durably"
    );

    // The open connection is refused on its next request, and a new one too.
    let err = client
        .submit(SubmitRequest {
            events: vec![draft(&commune.to_string(), 1)],
        })
        .await
        .expect_err("a revoked recorder was served");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    assert!(
        err.message().contains(&format!("recorder {commune}"))
            && err.message().contains("revoked by revocation list 1"),
        "{}",
        err.message()
    );
    let tls = moved_files(&c, &report).load().expect("loads");
    let dialer = tls
        .dialer(Identity::new(commune, Role::Node), None)
        .expect("dialer");
    let ep = dialer
        .endpoint(&format!("https://{}", c.addr(commune)))
        .expect("endpoint");
    let err = IngestClient::new(dialer.connect(ep).await.expect("connects"))
        .submit(SubmitRequest {
            events: vec![draft(&commune.to_string(), 2)],
        })
        .await
        .expect_err("a revoked recorder was served");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let s = c.status(commune).await;
    let own = s
        .origins
        .iter()
        .find(|o| o.origin == commune.to_string())
        .expect("origin");
    assert_eq!(own.seq, 1, "nothing stored after the revocation");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_node_is_refused_and_list_reaches_an_offline_node() {
    let c = Cluster::start(&hung_yen(1, 2)).await;
    let communes: Vec<UnitId> = c
        .topology
        .subtree(c.province)
        .into_iter()
        .filter(|u| u.level() == sync178_shared::unit::Level::Commune)
        .collect();
    let (revoked, offline) = (communes[0], communes[1]);
    let district = c.topology.parent(revoked).expect("district");
    c.submit(revoked, 2).await;
    c.wait_for_heads(district, &HashMap::from([(revoked, 2)]), WAIT)
        .await;

    c.stop_node(offline).await;
    revoke_and_install(&c, &Target::Identity(Identity::new(revoked, Role::Node))).await;
    wait_status(&c, district, "revocation list 1", |s| {
        s.revocation_number == 1
    })
    .await;

    // The revoked commune is refused by its parent: what it records stays home.
    c.submit(revoked, 3).await;
    let s = wait_status(&c, revoked, "a refused uplink", |s| {
        s.uplink
            .as_ref()
            .is_some_and(|u| u.last_error.contains("revoked"))
    })
    .await;
    let up = s.uplink.expect("uplink");
    assert!(
        up.last_error
            .contains(&format!("certificate of node {revoked}"))
            && up.last_error.contains("revocation list 1"),
        "{}",
        up.last_error
    );
    let d = c.status(district).await;
    let held = d
        .origins
        .iter()
        .find(|o| o.origin == revoked.to_string())
        .expect("origin");
    assert_eq!(
        held.seq, 2,
        "nothing of the revoked node taken after the revocation"
    );

    // The commune that was offline gets the list from its district at its next contact.
    c.start_node(offline).await;
    wait_status(&c, offline, "revocation list 1", |s| {
        s.revocation_number == 1
    })
    .await;
    assert!(c.data_dir(offline).join(HELD_FILE).is_file());
    c.shutdown().await;
}

/// Status of the province node asked with the hub's certificate.
async fn status_as_hub(c: &Cluster) -> StatusResponse {
    let p = c.province;
    let tls = c.files(Identity::new(p, Role::Hub)).load().expect("loads");
    let dialer = tls
        .dialer(Identity::new(p, Role::Node), None)
        .expect("dialer");
    let ep = dialer
        .endpoint(&format!("https://{}", c.addr(p)))
        .expect("endpoint");
    sync178_shared::proto::v1::admin_client::AdminClient::new(
        dialer.connect(ep).await.expect("connects"),
    )
    .status(sync178_shared::proto::v1::StatusRequest {})
    .await
    .expect("status")
    .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_revocation_lists_are_refused_and_the_old_kept() {
    let c = Cluster::start(&hung_yen(1, 1)).await;
    let commune = c
        .topology
        .subtree(c.province)
        .into_iter()
        .find(|u| u.level() == sync178_shared::unit::Level::Commune)
        .expect("commune");
    let ca_dir = c.dir.path().join("certs");
    // Lists 1 and 2 of our CA; list 2 is installed.
    let first = revoke::revoke(
        &ca_dir,
        &Target::Identity(Identity::new(commune, Role::Recorder)),
    )
    .expect("list 1");
    let list1 = std::fs::read(&first.crl).expect("reads");
    let operator = revoke_and_install(
        &c,
        &Target::Identity(Identity::new(c.province, Role::Operator)),
    )
    .await;
    // (Status is asked with the operator certificate: revoked now, so ask as the hub.)
    let p = c.province;
    let start = Instant::now();
    while status_as_hub(&c).await.revocation_number != 2 {
        assert!(start.elapsed() < WAIT, "list 2 not adopted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let list2 = std::fs::read(c.data_dir(p).join(HELD_FILE)).expect("held");
    // The revoked operator is refused.
    let tls = moved_files(&c, &operator).load().expect("loads");
    let dialer = tls
        .dialer(Identity::new(p, Role::Node), None)
        .expect("dialer");
    let ep = dialer
        .endpoint(&format!("https://{}", c.addr(p)))
        .expect("endpoint");
    let err = sync178_shared::proto::v1::admin_client::AdminClient::new(
        dialer.connect(ep).await.expect("connects"),
    )
    .status(sync178_shared::proto::v1::StatusRequest {})
    .await
    .expect_err("a revoked operator was served");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);

    // Another province's CA.
    let other = tempfile::tempdir().expect("tempdir");
    let csv = "province_code,province_name,district_code,district_name,commune_code,commune_name\n\
               01,Thành phố Hà Nội,001,Quận Ba Đình,00001,Phường Phúc Xá\n";
    std::fs::write(other.path().join("t.csv"), csv).expect("writes");
    let topo = sync178_shared::topology::Topology::from_csv_path(&other.path().join("t.csv"))
        .expect("loads");
    let p01: UnitId = "p01".parse().expect("unit");
    sync178_node::certs::issue_province(&topo, p01, other.path()).expect("certs");
    let foreign =
        revoke::revoke(other.path(), &Target::Serial(vec![1, 2, 3])).expect("foreign list");
    let foreign = std::fs::read(&foreign.crl).expect("reads");

    let mut bad_signature = list2.clone();
    let n = bad_signature.len();
    bad_signature[n - 3] ^= 0x40;
    let truncated = list2[..list2.len() / 2].to_vec();
    for (what, bytes, reason) in [
        ("bad signature", bad_signature, "signature"),
        ("another province", foreign, "was issued by"),
        ("older", list1, "older than the list held (number 2)"),
        ("truncated", truncated, "truncated"),
    ] {
        std::fs::write(c.data_dir(p).join(INCOMING_FILE), &bytes).expect("writes");
        let start = Instant::now();
        let s = loop {
            let s = status_as_hub(&c).await;
            if !c.data_dir(p).join(INCOMING_FILE).exists() && s.revocation_error.contains(reason) {
                break s;
            }
            assert!(start.elapsed() < WAIT, "{what}: not taken in: {s:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(
            std::fs::read(c.data_dir(p).join(REFUSED_FILE))
                .ok()
                .as_deref(),
            Some(bytes.as_slice()),
            "{what}: the refused list is kept aside"
        );
        assert!(
            s.revocation_error.contains(reason),
            "{what}: {}",
            s.revocation_error
        );
        assert!(
            s.revocation_error.contains("list 2 kept"),
            "{what}: {}",
            s.revocation_error
        );
        assert_eq!(s.revocation_number, 2, "{what}");
        assert_eq!(
            std::fs::read(c.data_dir(p).join(HELD_FILE)).expect("held"),
            list2,
            "{what}"
        );
        // The same list 2 again is "already held": taken in, nothing changes.
        std::fs::write(c.data_dir(p).join(INCOMING_FILE), &list2).expect("writes");
        let start = Instant::now();
        while c.data_dir(p).join(INCOMING_FILE).exists() {
            assert!(start.elapsed() < WAIT, "{what}: list 2 again not taken in");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    c.shutdown().await;
}
