//! `Feed`: catch-up then live stream of the log for hubs and tools, one
//! event by (origin, seq), and the heads the node holds.

use std::sync::Arc;

use sync178_shared::log::LogError;
use sync178_shared::proto::v1::feed_server::Feed;
use sync178_shared::proto::v1::{
    FeedBatch, FeedItem, FetchRequest, FetchResponse, HeadsRequest, HeadsResponse, SubscribeRequest,
};
use sync178_shared::tls::{Role, peer_identity, serial_of_der};
use sync178_shared::unit::UnitId;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::Ctx;

/// Most events in one feed message.
const FEED_BATCH_EVENTS: usize = 1000;

/// The feed service of one node.
#[derive(Debug, Clone)]
pub struct FeedService {
    ctx: Arc<Ctx>,
}

impl FeedService {
    /// Serves the feed of the node behind `ctx`.
    pub(crate) fn new(ctx: Arc<Ctx>) -> FeedService {
        FeedService { ctx }
    }
}

fn authorize<T>(req: &Request<T>) -> Result<sync178_shared::tls::Identity, Status> {
    let peer = peer_identity(req)?;
    if !matches!(peer.role, Role::Hub | Role::Operator) {
        return Err(Status::permission_denied(format!(
            "the feed is for hubs and operators; the certificate is {peer}"
        )));
    }
    Ok(peer)
}

/// Runs a read of the log on tokio's blocking pool (sled reads block on
/// disk), as `Sync.Digest` and `Sync.Recover` do, so a large catch-up never
/// stalls the runtime's workers; a failed read is `internal`.
async fn off_runtime<T, F>(read: F) -> Result<T, Status>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, LogError> + Send + 'static,
{
    tokio::task::spawn_blocking(read)
        .await
        .map_err(|e| Status::internal(format!("reading the log: task failed: {e}")))?
        .map_err(|e| Status::internal(format!("reading the log: {e}")))
}

#[tonic::async_trait]
impl Feed for FeedService {
    async fn fetch(&self, req: Request<FetchRequest>) -> Result<Response<FetchResponse>, Status> {
        authorize(&req)?;
        let r = req.into_inner();
        let origin: UnitId = r
            .origin
            .parse()
            .map_err(|e| Status::invalid_argument(format!("origin: {e}")))?;
        let log = self.ctx.log.clone();
        let seq = r.seq;
        let found = off_runtime(move || log.get_by_origin_seq(origin, seq)).await?;
        Ok(Response::new(found.map_or_else(
            FetchResponse::default,
            |(position, event)| FetchResponse { event, position },
        )))
    }

    async fn heads(&self, req: Request<HeadsRequest>) -> Result<Response<HeadsResponse>, Status> {
        authorize(&req)?;
        // Heads first: every event they cover is within the length read after.
        let heads = self.ctx.log.heads();
        Ok(Response::new(HeadsResponse {
            next_position: self.ctx.log.len(),
            heads: crate::state::wire_heads(heads.into_iter().map(|(o, h)| (o, h.seq, h.hash))),
            revocations: self.ctx.revocations.current_der(),
        }))
    }

    type SubscribeStream = ReceiverStream<Result<FeedBatch, Status>>;

    async fn subscribe(
        &self,
        req: Request<SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let peer = authorize(&req)?;
        // An open feed ends when a new revocation list revokes its subscriber.
        let serial = req
            .peer_certs()
            .and_then(|c| c.first().and_then(|leaf| serial_of_der(leaf)));
        let mut revocations = self.ctx.revocations.list().subscribe();
        revocations.borrow_and_update();
        let mut pos = req.into_inner().from_position;
        let ctx = self.ctx.clone();
        let (tx, rx) = mpsc::channel(4);
        let max_bytes = ctx.limits.max_batch_bytes;
        tracing::info!(%peer, from = pos, "feed subscribed");
        ctx.tasks.clone().spawn(async move {
            let mut len = ctx.log.subscribe();
            loop {
                len.borrow_and_update();
                let log = ctx.log.clone();
                let read = off_runtime(move || log.read(pos, FEED_BATCH_EVENTS, max_bytes));
                let items = match read.await {
                    Ok(items) => items,
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                };
                if items.is_empty() {
                    tokio::select! {
                        r = len.changed() => if r.is_err() { return },
                        _ = ctx.shutdown.cancelled() => return,
                        _ = tx.closed() => return,
                        Ok(()) = revocations.changed() => {
                            if let Some(number) = serial.as_deref().and_then(|s| ctx.revocations.list().revokes(s)) {
                                tracing::warn!(%peer, number, "feed closed: subscriber revoked");
                                let _ = tx.send(Err(Status::permission_denied(format!(
                                    "certificate of {peer} is revoked by revocation list {number}"
                                )))).await;
                                return;
                            }
                        }
                    }
                    continue;
                }
                pos = items.last().map_or(pos, |(p, _)| p + 1);
                let batch = FeedBatch {
                    items: items
                        .into_iter()
                        .map(|(position, event)| FeedItem { position, event })
                        .collect(),
                };
                tokio::select! {
                    r = tx.send(Ok(batch)) => if r.is_err() { return },
                    _ = ctx.shutdown.cancelled() => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a single-threaded runtime a read on the runtime's own thread would
    /// stall every other task of the node; reads run on another thread.
    #[tokio::test(flavor = "current_thread")]
    async fn log_reads_run_off_the_runtime_thread() {
        let runtime_thread = std::thread::current().id();
        let read_thread = off_runtime(|| Ok(std::thread::current().id()))
            .await
            .expect("ok");
        assert_ne!(read_thread, runtime_thread);
        let failed = off_runtime(|| -> Result<(), LogError> {
            Err(LogError::Corrupt {
                at: "S 7".into(),
                reason: "short segment".into(),
            })
        })
        .await
        .expect_err("an error");
        assert_eq!(failed.code(), tonic::Code::Internal);
        assert!(failed.message().contains("reading the log") && failed.message().contains("S 7"));
    }
}
