//! The parent side of upward sync: `Sync.Handshake`, `Sync.Push`,
//! `Sync.Digest`, and `Sync.Recover` (served by [`crate::recover`]).
//!
//! The parent is the source of truth of what it holds. It accepts only its
//! direct children (by certificate) and only events whose origin is in that
//! child's subtree; it checks every event (hash, chain, content) and stores
//! each batch atomically and durably before acknowledging it.

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::FuturesOrdered;
use futures::{Future, StreamExt};
use sync178_shared::event::{self, Hash};
use sync178_shared::log::{Head, LogError, RefusalKind};
use sync178_shared::period::format_date;
use sync178_shared::proto::v1::sync_server::Sync;
use sync178_shared::proto::v1::{
    DigestRequest, DigestResponse, HandshakeRequest, HandshakeResponse, OriginDigest, PushAck,
    PushBatch, PushRefusal, RecoverBatch, RecoverRequest, RefusalKind as WireRefusal,
};
use sync178_shared::tls::{Role, peer_identity};
use sync178_shared::unit::UnitId;
use sync178_shared::validate::{self, Context};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::Ctx;
use crate::state::wire_heads;

/// Days a child's clock may run ahead of the parent's before its events' dates are refused.
pub const CLOCK_SKEW_DAYS: i64 = 7;

/// Default distance between digest checkpoints.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;

/// The sync service of one node (parent side).
#[derive(Debug, Clone)]
pub struct SyncService {
    ctx: Arc<Ctx>,
}

impl SyncService {
    /// Serves sync for the node behind `ctx`.
    pub(crate) fn new(ctx: Arc<Ctx>) -> SyncService {
        SyncService { ctx }
    }

    /// The child unit behind a request, if it is a direct child node in
    /// today's structure (an old unit's node is the child of today's
    /// province its place lies in; see [`sync178_shared::history::History::parent_today`]).
    fn child<T>(&self, req: &Request<T>) -> Result<UnitId, Status> {
        let peer = peer_identity(req)?;
        let me = self.ctx.unit;
        let history = &self.ctx.history;
        if peer.role == Role::Node && history.parent_today(peer.unit) == Some(me) {
            return Ok(peer.unit);
        }
        tracing::warn!(%peer, unit = %me, "sync refused: not a direct child node");
        let was_child = history.topology().parent(peer.unit) == Some(me);
        let reason = match history.parent_today(peer.unit) {
            Some(now) if peer.role == Role::Node && was_child => {
                let listing = history.today();
                format!(
                    "{peer} is no longer a child node of {me}: since {} ({listing}) its \
                     parent is {now} ({}); set [parent] in its node.toml to {now}'s node",
                    listing.from().map(format_date).unwrap_or_default(),
                    history.topology().name(now).unwrap_or_default(),
                )
            }
            _ => format!("{peer} is not a direct child node of {me}"),
        };
        Err(Status::permission_denied(reason))
    }
}

type AckFuture = Pin<Box<dyn Future<Output = PushAck> + Send>>;

fn refusal_ack(
    batch_id: u64,
    kind: WireRefusal,
    origin: String,
    seq: u64,
    index: usize,
    reason: String,
) -> PushAck {
    PushAck {
        batch_id,
        refused: Some(PushRefusal {
            kind: kind as i32,
            origin,
            seq,
            reason,
            index: index as u32,
        }),
        ..PushAck::default()
    }
}

fn wire_kind(k: RefusalKind) -> WireRefusal {
    match k {
        RefusalKind::Malformed => WireRefusal::Malformed,
        RefusalKind::Tampered => WireRefusal::Tampered,
        RefusalKind::Gap => WireRefusal::Gap,
        RefusalKind::Diverged => WireRefusal::Diverged,
        RefusalKind::ForbiddenOrigin => WireRefusal::ForbiddenOrigin,
        RefusalKind::Chain => WireRefusal::Chain,
    }
}

/// Checks every event's content as its origin would have; the first
/// invalid one refuses the batch.
fn check_content(ctx: &Ctx, batch_id: u64, events: &[Bytes]) -> Result<(), PushAck> {
    // The recording node checked dates against its own clock; allow for a
    // child whose clock runs ahead, so it does not stall its whole chain.
    let today = crate::today().saturating_add(time::Duration::days(CLOCK_SKEW_DAYS));
    for (index, bytes) in events.iter().enumerate() {
        let refuse = |kind, origin: String, seq, reason| {
            Err(refusal_ack(batch_id, kind, origin, seq, index, reason))
        };
        let ev = match event::decode(bytes) {
            Ok(ev) => ev,
            Err(e) => return refuse(WireRefusal::Malformed, String::new(), 0, e.to_string()),
        };
        let Ok(origin) = ev.origin.parse::<UnitId>() else {
            return refuse(
                WireRefusal::Malformed,
                ev.origin.clone(),
                ev.seq,
                format!("origin {:?} is not a unit id", ev.origin),
            );
        };
        let vctx = Context {
            history: &ctx.history,
            origin,
            today,
            target_origin: None,
        };
        if let Err(e) = validate::validate_stored(&ev, &vctx) {
            // A newer schema is stored and forwarded as is: the hub decides.
            if !e.is_newer_schema() {
                return refuse(WireRefusal::Invalid, ev.origin, ev.seq, e.to_string());
            }
        }
    }
    Ok(())
}

fn heads_ack(batch_id: u64, applied: u32, duplicates: u32, heads: &[(UnitId, Head)]) -> PushAck {
    PushAck {
        batch_id,
        applied,
        duplicates,
        heads: wire_heads(heads.iter().map(|(o, h)| (*o, h.seq, h.hash))),
        refused: None,
    }
}

#[tonic::async_trait]
impl Sync for SyncService {
    #[tracing::instrument(skip_all, fields(unit = %self.ctx.unit))]
    async fn handshake(
        &self,
        req: Request<HandshakeRequest>,
    ) -> Result<Response<HandshakeResponse>, Status> {
        let child = self.child(&req)?;
        let topo = &self.ctx.history;
        let heads: Vec<(UnitId, u64, Hash)> = self
            .ctx
            .log
            .heads()
            .into_iter()
            .filter(|(o, _)| topo.is_within(*o, child))
            .map(|(o, h)| (o, h.seq, h.hash))
            .collect();
        self.ctx.state.child(child, |c| {
            c.heads = heads.iter().map(|(o, s, h)| (*o, (*s, *h))).collect();
        });
        tracing::info!(peer = %child, origins = heads.len(), "handshake");
        Ok(Response::new(HandshakeResponse {
            parent: self.ctx.unit.to_string(),
            child: child.to_string(),
            heads: wire_heads(heads.into_iter()),
            revocations: self.ctx.revocations.current_der(),
        }))
    }

    type PushStream = ReceiverStream<Result<PushAck, Status>>;

    async fn push(
        &self,
        req: Request<Streaming<PushBatch>>,
    ) -> Result<Response<Self::PushStream>, Status> {
        let child = self.child(&req)?;
        let mut incoming = req.into_inner();
        let ctx = self.ctx.clone();
        let window = ctx.limits.max_inflight_batches.max(1) * 2;
        let (tx, rx) = mpsc::channel(window);
        let shutdown = ctx.shutdown.clone();
        // A new revocation list ends the stream: the child reconnects, gets
        // the list in its handshake, and is refused if it is now revoked.
        let mut revoked = ctx.revocations.list().subscribe();
        revoked.borrow_and_update();
        ctx.state.child(child, |c| c.connected = true);
        ctx.tasks.clone().spawn(async move {
            let mut inflight: FuturesOrdered<AckFuture> = FuturesOrdered::new();
            let topo = ctx.history.clone();
            let reason = loop {
                tokio::select! {
                    Some(ack) = inflight.next(), if !inflight.is_empty() => {
                        note_ack(&ctx, child, &ack);
                        if tx.send(Ok(ack)).await.is_err() {
                            break "child stopped reading".to_string();
                        }
                    }
                    msg = incoming.message(), if inflight.len() < window => {
                        let batch = match msg {
                            Ok(Some(b)) => b,
                            Ok(None) => break "child closed the stream".to_string(),
                            Err(e) => {
                                // Tell the child why (e.g. a message over the size limit).
                                let reason = format!("stream error: {}", e.message());
                                let _ = tx.send(Err(e)).await;
                                break reason;
                            }
                        };
                        let batch_id = batch.batch_id;
                        if batch.events.len() > ctx.limits.max_batch_events {
                            let ack = refusal_ack(batch_id, WireRefusal::Malformed, String::new(), 0, 0,
                                format!("batch of {} events is over the limit of {}", batch.events.len(), ctx.limits.max_batch_events));
                            inflight.push_back(Box::pin(std::future::ready(ack)));
                            continue;
                        }
                        if let Err(ack) = check_content(&ctx, batch_id, &batch.events) {
                            inflight.push_back(Box::pin(std::future::ready(ack)));
                            continue;
                        }
                        let topo = topo.clone();
                        let n = batch.events.len();
                        match ctx.log.submit_replicated(batch.events, move |o| topo.is_within(o, child)) {
                            Ok(pending) => inflight.push_back(Box::pin(async move {
                                match pending.await {
                                    Ok(r) => heads_ack(batch_id, r.applied, r.duplicates, &r.heads),
                                    Err(LogError::Refused(f)) => refusal_ack(batch_id, wire_kind(f.kind),
                                        f.origin.map(|o| o.to_string()).unwrap_or_default(), f.seq.unwrap_or(0), f.index, f.reason),
                                    Err(e) => refusal_ack(batch_id, WireRefusal::Unspecified, String::new(), 0, 0, format!("parent storage: {e}")),
                                }
                            })),
                            Err(LogError::Refused(f)) => {
                                let ack = refusal_ack(batch_id, wire_kind(f.kind),
                                    f.origin.map(|o| o.to_string()).unwrap_or_default(), f.seq.unwrap_or(0), f.index, f.reason);
                                inflight.push_back(Box::pin(std::future::ready(ack)));
                            }
                            Err(e) => break format!("parent storage: {e} ({n} events not taken)"),
                        }
                    }
                    _ = shutdown.cancelled() => {
                        // Finish what is in flight: each was accepted for writing.
                        while let Some(ack) = inflight.next().await {
                            note_ack(&ctx, child, &ack);
                            let _ = tx.send(Ok(ack)).await;
                        }
                        break "parent shutting down".to_string();
                    }
                    Ok(()) = revoked.changed() => {
                        while let Some(ack) = inflight.next().await {
                            note_ack(&ctx, child, &ack);
                            let _ = tx.send(Ok(ack)).await;
                        }
                        let number = *revoked.borrow();
                        let _ = tx.send(Err(Status::unavailable(format!(
                            "revocation list {number} adopted; reconnect to receive it"
                        )))).await;
                        break format!("revocation list {number} adopted");
                    }
                }
            };
            tracing::info!(peer = %child, %reason, "push stream ended");
            ctx.state.child(child, |c| c.connected = false);
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    type RecoverStream = ReceiverStream<Result<RecoverBatch, Status>>;

    #[tracing::instrument(skip_all, fields(unit = %self.ctx.unit))]
    async fn recover(
        &self,
        req: Request<RecoverRequest>,
    ) -> Result<Response<Self::RecoverStream>, Status> {
        let child = self.child(&req)?;
        let after = req.into_inner().after;
        tracing::info!(%child, origins = after.len(), "child recovering its events");
        crate::recover::serve(&self.ctx, child, after).map(Response::new)
    }

    async fn digest(
        &self,
        req: Request<DigestRequest>,
    ) -> Result<Response<DigestResponse>, Status> {
        let peer = peer_identity(&req)?;
        if !matches!(peer.role, Role::Node | Role::Hub | Role::Operator) {
            return Err(Status::permission_denied(format!(
                "{peer} may not read digests"
            )));
        }
        let r = req.into_inner();
        let every = if r.checkpoint_every == 0 {
            DEFAULT_CHECKPOINT_EVERY
        } else {
            r.checkpoint_every
        };
        let wanted: Option<Vec<UnitId>> = if r.origins.is_empty() {
            None
        } else {
            Some(
                r.origins
                    .iter()
                    .map(|o| {
                        o.parse::<UnitId>()
                            .map_err(|e| Status::invalid_argument(format!("origins: {e}")))
                    })
                    .collect::<Result<_, _>>()?,
            )
        };
        let log = self.ctx.log.clone();
        let unit = self.ctx.unit;
        let resp = tokio::task::spawn_blocking(move || -> Result<DigestResponse, LogError> {
            let mut out = Vec::new();
            for (origin, head) in log.heads() {
                if wanted.as_ref().is_some_and(|w| !w.contains(&origin)) {
                    continue;
                }
                let mut checkpoints = Vec::new();
                let mut seq = every;
                while seq <= head.seq {
                    let (_, bytes) =
                        log.get_by_origin_seq(origin, seq)?
                            .ok_or_else(|| LogError::Corrupt {
                                at: format!("{origin} seq {seq}"),
                                reason: "below the head but not found".into(),
                            })?;
                    checkpoints.push(stored_hash(origin, seq, &bytes)?.to_vec());
                    seq += every;
                }
                out.push(OriginDigest {
                    origin: origin.to_string(),
                    head_seq: head.seq,
                    head_hash: head.hash.to_vec(),
                    checkpoint_every: every,
                    checkpoints,
                });
            }
            Ok(DigestResponse {
                unit: unit.to_string(),
                origins: out,
            })
        })
        .await
        .map_err(|e| Status::internal(format!("digest task: {e}")))?
        .map_err(|e| Status::internal(format!("digest: {e}")))?;
        Ok(Response::new(resp))
    }
}

/// The hash trailer (the last 32 bytes) of the stored event `origin` `seq`;
/// a stored value too short to hold one is corrupt, named by where it is.
fn stored_hash(origin: UnitId, seq: u64, bytes: &[u8]) -> Result<&[u8], LogError> {
    bytes
        .len()
        .checked_sub(32)
        .map(|start| &bytes[start..])
        .ok_or_else(|| LogError::Corrupt {
            at: format!("{origin} seq {seq}"),
            reason: format!(
                "the stored event is {} bytes, too short for its 32-byte hash",
                bytes.len()
            ),
        })
}

fn note_ack(ctx: &Ctx, child: UnitId, ack: &PushAck) {
    ctx.state.child(child, |c| {
        for h in &ack.heads {
            if let (Ok(o), Ok(hash)) = (
                h.origin.parse::<UnitId>(),
                <Hash>::try_from(h.hash.as_slice()),
            ) {
                c.heads.insert(o, (h.seq, hash));
            }
        }
        if let Some(r) = &ack.refused {
            c.last_refusal = format!("{} seq {}: {}", r.origin, r.seq, r.reason);
        }
    });
    if let Some(r) = &ack.refused {
        tracing::warn!(peer = %child, origin = %r.origin, seq = r.seq, reason = %r.reason, "push batch refused");
    } else {
        tracing::debug!(peer = %child, applied = ack.applied, duplicates = ack.duplicates, "push batch stored");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_stored_value_is_a_corrupt_error_not_a_panic() {
        let origin: UnitId = "c12142".parse().expect("ok");
        let e = stored_hash(origin, 100, &[1, 2, 3]).expect_err("an error");
        let text = e.to_string();
        assert!(matches!(e, LogError::Corrupt { .. }), "{text}");
        assert!(
            text.contains("c12142 seq 100") && text.contains("3 bytes"),
            "{text}"
        );
        let mut event = vec![7u8; 10];
        event.extend([9u8; 32]);
        assert_eq!(
            stored_hash(origin, 100, &event).expect("ok"),
            &[9u8; 32][..]
        );
    }
}
