//! The loopback gRPC ceiling: the node's own `Sync.Push` stream over mutual
//! TLS on `127.0.0.1`, served by a no-op parent that acknowledges every batch
//! at once without storing it. The same event bytes, batches and pipelining as
//! the uplink (1,000 events a batch, 8 in flight): what one hop could carry if
//! storing cost nothing.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sync178_node::certs;
use sync178_shared::proto::v1::sync_client::SyncClient;
use sync178_shared::proto::v1::sync_server::{Sync, SyncServer};
use sync178_shared::proto::v1::{
    DigestRequest, DigestResponse, HandshakeRequest, HandshakeResponse, PushAck, PushBatch,
    RecoverBatch, RecoverRequest,
};
use sync178_shared::tls::{Identity, LoadedTls, Role};
use sync178_shared::topology::Topology;
use sync178_shared::unit::{Level, UnitId};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic::{Request, Response, Status, Streaming};

/// Message size limit, as the node's default (`Limits::max_message_bytes`).
const MAX_MESSAGE: usize = 4 << 20;

/// A parent that acknowledges every pushed batch immediately and keeps nothing.
struct NoOpParent;

#[tonic::async_trait]
impl Sync for NoOpParent {
    async fn handshake(
        &self,
        _req: Request<HandshakeRequest>,
    ) -> Result<Response<HandshakeResponse>, Status> {
        Ok(Response::new(HandshakeResponse::default()))
    }

    type PushStream = ReceiverStream<Result<PushAck, Status>>;

    async fn push(
        &self,
        req: Request<Streaming<PushBatch>>,
    ) -> Result<Response<Self::PushStream>, Status> {
        let mut incoming = req.into_inner();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            while let Ok(Some(batch)) = incoming.message().await {
                let ack = PushAck {
                    batch_id: batch.batch_id,
                    applied: u32::try_from(batch.events.len()).unwrap_or(u32::MAX),
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
        Err(Status::unimplemented("the no-op parent keeps no digest"))
    }

    type RecoverStream = ReceiverStream<Result<RecoverBatch, Status>>;

    async fn recover(
        &self,
        _req: Request<RecoverRequest>,
    ) -> Result<Response<Self::RecoverStream>, Status> {
        Err(Status::unimplemented("the no-op parent keeps nothing"))
    }
}

/// Certificates of a province's tree, issued once and reused by every run:
/// the province's node certificate serves, a district's pushes, exactly as
/// on a real district → province link.
pub struct Certs {
    _dir: tempfile::TempDir,
    province: UnitId,
    server: LoadedTls,
    client: LoadedTls,
}

impl Certs {
    /// Issues the certificates of the test province (one district, one commune)
    /// with `sync178_node::certs::issue_province`, as the test cluster does.
    pub fn issue() -> anyhow::Result<Certs> {
        sync178_shared::tls::init_crypto();
        let dir = tempfile::tempdir()?;
        let topo_path = dir.path().join("topology.csv");
        std::fs::write(&topo_path, sync178_tests::cluster::hung_yen(1, 1))?;
        let topology = Topology::from_csv_path(&topo_path)?;
        let province = *topology
            .roots()
            .first()
            .ok_or_else(|| anyhow::anyhow!("the test topology has no province"))?;
        let district = topology
            .units()
            .find(|u| u.level() == Level::District)
            .ok_or_else(|| anyhow::anyhow!("the test topology has no district"))?;
        let out = dir.path().join("certs");
        certs::issue_province(&topology, province, &out)?;
        let server = certs::province_files(&out, Identity::new(province, Role::Node)).load()?;
        let client = certs::province_files(&out, Identity::new(district, Role::Node)).load()?;
        Ok(Certs {
            _dir: dir,
            province,
            server,
            client,
        })
    }
}

/// Events per second through one `Sync.Push` stream to a no-op parent:
/// `events` in batches of `batch`, at most `inflight` batches unacknowledged.
/// Timed from the first batch sent to the last ack received, on a connection
/// already established (one handshake call first).
pub async fn push_ceiling(
    certs: &Certs,
    events: &[Bytes],
    batch: usize,
    inflight: usize,
) -> anyhow::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let server = tokio::spawn(
        Server::builder()
            .tls_config(certs.server.server_config())?
            .tcp_nodelay(true)
            .add_service(
                SyncServer::new(NoOpParent)
                    .max_decoding_message_size(MAX_MESSAGE)
                    .max_encoding_message_size(MAX_MESSAGE),
            )
            .serve_with_incoming_shutdown(
                TcpListenerStream::new(listener),
                stop.clone().cancelled_owned(),
            ),
    );
    let dialer = certs.client.dialer(
        sync178_shared::tls::Identity::new(certs.province, sync178_shared::tls::Role::Node),
        None,
    )?;
    let ep = dialer
        .endpoint(&format!("https://{addr}"))?
        .connect_timeout(Duration::from_secs(5));
    let channel = dialer.connect(ep).await?;
    let mut client = SyncClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    client.handshake(HandshakeRequest {}).await?;

    let batches: Vec<PushBatch> = events
        .chunks(batch.max(1))
        .zip(1u64..)
        .map(|(chunk, batch_id)| PushBatch {
            batch_id,
            events: chunk.to_vec(),
        })
        .collect();
    let total = batches.len();
    let window = inflight.max(1);
    let (tx, rx) = mpsc::channel(window);
    let start = Instant::now();
    let mut acks = client.push(ReceiverStream::new(rx)).await?.into_inner();
    let mut to_send = batches.into_iter();
    let mut in_flight = 0usize;
    let mut acked = 0usize;
    let mut applied = 0usize;
    while acked < total {
        while in_flight < window {
            let Some(b) = to_send.next() else { break };
            tx.send(b)
                .await
                .map_err(|_| anyhow::anyhow!("push stream closed"))?;
            in_flight += 1;
        }
        let ack = acks
            .message()
            .await?
            .ok_or_else(|| anyhow::anyhow!("the no-op parent closed the push stream"))?;
        in_flight -= 1;
        acked += 1;
        applied += ack.applied as usize;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(tx);
    drop(acks);
    drop(client);
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .map_err(|_| anyhow::anyhow!("the no-op parent did not stop"))???;
    anyhow::ensure!(
        applied == events.len(),
        "acked {applied} of {} events",
        events.len()
    );
    Ok(events.len() as f64 / secs)
}
