//! Getting lost events back from the parent: `Sync.Recover` on both ends.
//!
//! A node whose store holds less of its own chain than its parent does (a
//! damaged disk, a reinstalled PC, a day-old backup) must not record until
//! it has that chain back, or it would assign a seq it assigned before. At
//! every handshake the uplink tells the log what the parent holds of the own
//! chain ([`Log::confirm_own`]); when the parent is ahead, it asks for
//! everything after what the node holds (own chain and subtree) and stores
//! it verbatim, each event's hash and chain checked, so the log reopens by
//! itself. A parent whose events do not continue the chain the node holds
//! is refused: nothing is stored, and the link says why.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use sync178_shared::event::{self, Hash, hex_hash};
use sync178_shared::log::{Log, LogError};
use sync178_shared::proto::v1::sync_client::SyncClient;
use sync178_shared::proto::v1::{Head as WireHead, RecoverBatch, RecoverRequest};
use sync178_shared::unit::UnitId;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use tonic::transport::Channel;

use crate::Ctx;

/// Parent side: streams what this node holds of `child`'s subtree after the given seqs.
pub(crate) fn serve(
    ctx: &Arc<Ctx>,
    child: UnitId,
    after: Vec<WireHead>,
) -> Result<ReceiverStream<Result<RecoverBatch, Status>>, Status> {
    let mut wanted = Vec::with_capacity(after.len());
    for h in after {
        let origin: UnitId = h.origin.parse().map_err(|_| {
            Status::invalid_argument(format!("after: {:?} is not a unit id", h.origin))
        })?;
        if !ctx.history.is_within(origin, child) {
            return Err(Status::permission_denied(format!(
                "{origin} is not in the subtree of {child}"
            )));
        }
        wanted.push((origin, h.seq));
    }
    let (tx, rx) = mpsc::channel(4);
    let log = ctx.log.clone();
    let limits = ctx.limits.clone();
    ctx.tasks.spawn_blocking(move || {
        for (origin, after) in wanted {
            if let Err(e) = send_chain(&log, origin, after, &limits, &tx) {
                let _ = tx.blocking_send(Err(Status::internal(format!(
                    "reading {origin} after seq {after}: {e}"
                ))));
                return;
            }
        }
    });
    Ok(ReceiverStream::new(rx))
}

/// Sends origin's events after seq `after`, in batches.
fn send_chain(
    log: &Log,
    origin: UnitId,
    after: u64,
    limits: &crate::config::Limits,
    tx: &mpsc::Sender<Result<RecoverBatch, Status>>,
) -> Result<(), LogError> {
    let Some(head) = log.head(origin) else {
        return Ok(());
    };
    if head.seq <= after {
        return Ok(());
    }
    let Some(mut pos) = log.position_of(origin, after + 1)? else {
        return Ok(());
    };
    let mut last = after;
    let mut batch: Vec<Bytes> = Vec::new();
    let mut bytes = 0usize;
    while last < head.seq {
        let items = log.read(pos, limits.max_batch_events, limits.max_batch_bytes)?;
        if items.is_empty() {
            break;
        }
        for (p, ev) in items {
            pos = p + 1;
            let h = event::peek(&ev).map_err(|e| LogError::Corrupt {
                at: format!("position {p}"),
                reason: e.to_string(),
            })?;
            if h.origin != origin || h.seq <= last {
                continue;
            }
            last = h.seq;
            bytes += ev.len();
            batch.push(ev);
            if batch.len() >= limits.max_batch_events || bytes >= limits.max_batch_bytes {
                let events = std::mem::take(&mut batch);
                bytes = 0;
                if tx.blocking_send(Ok(RecoverBatch { events })).is_err() {
                    return Ok(());
                }
            }
            if last >= head.seq {
                break;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Ok(RecoverBatch { events: batch }));
    }
    Ok(())
}

/// Child side, after a handshake: tells the log what the parent holds of
/// the own chain and, when the parent is ahead anywhere in the subtree,
/// fetches and stores what this node lacks, counting them in the uplink's
/// state as they are stored. Returns how many events came back.
pub(crate) async fn after_handshake(
    ctx: &Arc<Ctx>,
    client: &mut SyncClient<Channel>,
    parent_heads: &HashMap<UnitId, (u64, Hash)>,
) -> Result<u64, String> {
    let me = ctx.unit;
    let parent_own = parent_heads.get(&me).map_or(0, |(s, _)| *s);
    ctx.log
        .confirm_own(parent_own)
        .await
        .map_err(|e| format!("event log: {e}"))?;
    let behind: Vec<WireHead> = parent_heads
        .iter()
        .filter_map(|(o, (pseq, _))| {
            let ours = ctx.log.head(*o).map_or(0, |h| h.seq);
            (*pseq > ours).then(|| WireHead {
                origin: o.to_string(),
                seq: ours,
                hash: Vec::new(),
            })
        })
        .collect();
    if behind.is_empty() {
        return Ok(0);
    }
    tracing::warn!(unit = %me, origins = behind.len(), "this store holds less than the parent: recovering");
    let mut stream = client
        .recover(RecoverRequest { after: behind })
        .await
        .map_err(|s| format!("recovery refused by the parent: {}", s.message()))?
        .into_inner();
    let topology = ctx.history.clone();
    let mut got = 0u64;
    while let Some(batch) = stream
        .message()
        .await
        .map_err(|s| format!("recovery stream: {}", s.message()))?
    {
        let r = ctx
            .log
            .append_recovered(batch.events, |o| topology.is_within(o, me))
            .await
            .map_err(|e| format!("the parent's events do not continue this node's chains: {e}"))?;
        got += u64::from(r.applied);
        // Counted as each batch is stored, not when the stream ends: status
        // shows a long recovery's progress, and recording (open again once
        // the own chain is back, maybe mid-stream) never runs ahead of it.
        ctx.state.uplink(|u| u.recovered += u64::from(r.applied));
    }
    // Every origin now ends where the parent's handshake said.
    for (o, (pseq, phash)) in parent_heads {
        let Some(h) = ctx.log.head(*o) else { continue };
        if h.seq == *pseq && h.hash != *phash {
            return Err(format!(
                "{o} seq {pseq}: recovered hash {} differs from the parent's head {}",
                hex_hash(&h.hash),
                hex_hash(phash)
            ));
        }
    }
    tracing::info!(unit = %me, events = got, own_seq = ctx.log.head(me).map_or(0, |h| h.seq), "recovered from the parent");
    Ok(got)
}
