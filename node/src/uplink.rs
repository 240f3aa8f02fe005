//! The child side of upward sync: handshake, push what the parent lacks,
//! follow the log live, and reconnect with capped exponential backoff.
//!
//! The parent's handshake is the source of truth of what it holds. The
//! uplink pushes from the earliest position the parent lacks, skipping what
//! it has, several batches in flight; a refused batch stalls only its origin
//! (status says why) and the others keep flowing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sync178_shared::backoff::Backoff;
use sync178_shared::dial::Dialer;
use sync178_shared::event::{self, Hash, hex_hash, now_ms};
use sync178_shared::exit::error_chain;
use sync178_shared::log::{Log, LogError};
use sync178_shared::proto::v1::sync_client::SyncClient;
use sync178_shared::proto::v1::{HandshakeRequest, LinkState, PushBatch};
use sync178_shared::unit::UnitId;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::Ctx;
use crate::config::{Limits, UplinkConfig};
use crate::state::Stall;

/// Why a session ended.
#[derive(Debug)]
struct SessionEnd {
    message: String,
    /// The session got acknowledgements (or a refusal): reconnect soon.
    progressed: bool,
}

impl SessionEnd {
    fn new(message: impl Into<String>, progressed: bool) -> SessionEnd {
        SessionEnd {
            message: message.into(),
            progressed,
        }
    }
}

/// Runs the uplink until `ctx.shutdown`.
pub(crate) async fn run(
    ctx: Arc<Ctx>,
    parent: UnitId,
    endpoint: String,
    tls: Dialer,
    cfg: UplinkConfig,
) {
    let mut backoff = Backoff::new(cfg.backoff_min(), cfg.backoff_max());
    loop {
        if ctx.shutdown.is_cancelled() {
            break;
        }
        ctx.state.uplink(|u| u.state = LinkState::Connecting);
        match session(&ctx, parent, &endpoint, &tls, &cfg).await {
            Ok(()) => break,
            Err(end) => {
                if end.progressed {
                    backoff.reset();
                }
                tracing::warn!(unit = %ctx.unit, %parent, error = %end.message, "uplink down");
                ctx.state.uplink(|u| {
                    u.state = LinkState::BackingOff;
                    u.last_error = end.message;
                    u.last_error_at = now_ms();
                    u.connected_since = 0;
                    u.reconnects += 1;
                });
            }
        }
        let delay = backoff.next_delay();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = ctx.shutdown.cancelled() => break,
        }
    }
    ctx.state.uplink(|u| u.state = LinkState::Stopped);
}

fn parse_head(origin: &str, hash: &[u8]) -> Option<(UnitId, Hash)> {
    Some((origin.parse().ok()?, hash.try_into().ok()?))
}

async fn session(
    ctx: &Arc<Ctx>,
    parent: UnitId,
    endpoint: &str,
    tls: &Dialer,
    cfg: &UplinkConfig,
) -> Result<(), SessionEnd> {
    let fail =
        |what: &str, e: &dyn std::fmt::Display| SessionEnd::new(format!("{what}: {e}"), false);
    let limit = ctx.limits.max_message_bytes;
    // The dialer accepts only the node of `parent` (from the config or the
    // topology, never from what the server says), with an unrevoked certificate.
    let ep = tls
        .endpoint(endpoint)
        .map_err(|e| fail("bad parent endpoint", &e))?
        .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms))
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(20))
        .keep_alive_while_idle(true);
    let channel = tls
        .connect(ep)
        .await
        .map_err(|e| fail(&format!("cannot connect to {endpoint}"), &error_chain(&e)))?;
    let mut client = SyncClient::new(channel)
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit);
    let hs = client
        .handshake(HandshakeRequest {})
        .await
        .map_err(|s| fail("handshake refused", &s.message()))?
        .into_inner();
    if hs.parent != parent.to_string() {
        return Err(fail(
            "handshake",
            &format!("endpoint is {}, expected parent {parent}", hs.parent),
        ));
    }
    let mut acked: HashMap<UnitId, (u64, Hash)> = HashMap::new();
    for h in &hs.heads {
        if let Some((o, hash)) = parse_head(&h.origin, &h.hash) {
            acked.insert(o, (h.seq, hash));
        }
    }
    match crate::recover::after_handshake(ctx, &mut client, &acked).await {
        Ok(_) => {}
        Err(e) => {
            tracing::error!(unit = %ctx.unit, %parent, error = %e, "recovery from the parent failed");
            return Err(fail("recovering from the parent", &e));
        }
    }
    let stalled = check_handshake(ctx, &acked, cfg).map_err(|e| fail("reading the log", &e))?;
    let start =
        start_position(&ctx.log, &acked, &stalled).map_err(|e| fail("reading the log", &e))?;
    tracing::info!(unit = %ctx.unit, %parent, origins = acked.len(), from = start, "uplink connected");
    if !hs.revocations.is_empty() {
        // A refused list is logged and shown in status; the session goes on.
        let _ = ctx
            .revocations
            .install(&hs.revocations, &format!("parent {parent}"));
    }
    ctx.state.uplink(|u| {
        u.acked = acked.clone();
        u.connected_since = now_ms();
        u.state = LinkState::CatchingUp;
    });

    let window = ctx.limits.max_inflight_batches.max(1);
    let (tx, rx) = mpsc::channel(window);
    let mut acks = client
        .push(ReceiverStream::new(rx))
        .await
        .map_err(|s| fail("push refused", &s.message()))?
        .into_inner();
    let mut sent: HashMap<UnitId, u64> = acked.iter().map(|(o, (s, _))| (*o, *s)).collect();
    let mut pos = start;
    let mut inflight = 0usize;
    let mut batch_id = 0u64;
    let mut progressed = false;
    let mut len = ctx.log.subscribe();
    loop {
        len.borrow_and_update();
        while inflight < window {
            let batch = next_batch(&ctx.log, &mut pos, &mut sent, &stalled, &ctx.limits)
                .map_err(|e| SessionEnd::new(format!("reading the log: {e}"), progressed))?;
            let Some(events) = batch else { break };
            batch_id += 1;
            tracing::trace!(batch = batch_id, events = events.len(), "push");
            tx.send(PushBatch { batch_id, events })
                .await
                .map_err(|_| SessionEnd::new("push stream closed", progressed))?;
            inflight += 1;
        }
        if inflight == 0 {
            ctx.state.uplink(|u| u.state = LinkState::Live);
        }
        tokio::select! {
            msg = acks.message() => {
                let ack = match msg {
                    Ok(Some(a)) => a,
                    Ok(None) => return Err(SessionEnd::new("parent closed the push stream", progressed)),
                    Err(s) => return Err(SessionEnd::new(format!("push stream: {}", s.message()), progressed)),
                };
                inflight = inflight.saturating_sub(1);
                progressed = true;
                if let Some(r) = ack.refused {
                    let reason = format!("refused by {parent} at {} seq {}: {}", r.origin, r.seq, r.reason);
                    tracing::warn!(unit = %ctx.unit, origin = %r.origin, seq = r.seq, reason = %r.reason, "push refused; origin stalled");
                    if let Ok(o) = r.origin.parse::<UnitId>() {
                        ctx.state.uplink(|u| { u.stalled.insert(o, Stall { reason: reason.clone(), since: now_ms() }); });
                    }
                    // Start again from the parent's handshake, without that origin.
                    return Err(SessionEnd::new(reason, true));
                }
                ctx.state.uplink(|u| {
                    u.last_ack_at = now_ms();
                    for h in &ack.heads {
                        if let Some((o, hash)) = parse_head(&h.origin, &h.hash) {
                            u.acked.insert(o, (h.seq, hash));
                        }
                    }
                });
            }
            r = len.changed(), if inflight < window => {
                if r.is_err() {
                    return Ok(());
                }
            }
            _ = ctx.shutdown.cancelled() => return Ok(()),
        }
    }
}

/// Compares the parent's heads with ours: a different hash at the parent's
/// head, or a parent ahead of our own chain, stalls that origin. Expired
/// stalls are lifted. Returns the origins not to offer.
fn check_handshake(
    ctx: &Ctx,
    acked: &HashMap<UnitId, (u64, Hash)>,
    cfg: &UplinkConfig,
) -> Result<HashSet<UnitId>, LogError> {
    let now = now_ms();
    let retry_ms = i64::try_from(cfg.stall_retry_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let mut found: Vec<(UnitId, String)> = Vec::new();
    for (o, (pseq, phash)) in acked {
        let ours = ctx.log.head(*o);
        let our_seq = ours.map_or(0, |h| h.seq);
        if *pseq == 0 {
            continue;
        }
        if our_seq >= *pseq {
            let our_hash = match ours {
                Some(h) if h.seq == *pseq => Some(h.hash),
                _ => ctx
                    .log
                    .get_by_origin_seq(*o, *pseq)?
                    .and_then(|(_, b)| event::peek(&b).ok())
                    .map(|h| h.hash),
            };
            if our_hash != Some(*phash) {
                found.push((
                    *o,
                    format!(
                        "diverged at seq {pseq}: parent holds {}, this node holds {}",
                        hex_hash(phash),
                        our_hash.map_or("nothing".into(), |h| hex_hash(&h))
                    ),
                ));
            }
        } else if *o == ctx.unit {
            found.push((
                *o,
                format!(
                    "the parent holds seq {pseq} of this node's own chain but this store ends at seq {our_seq}: \
                     it is older than what was acknowledged; restore it from a newer copy"
                ),
            ));
        }
    }
    Ok(ctx.state.uplink(|u| {
        u.stalled.retain(|_, s| now - s.since < retry_ms);
        for (o, reason) in found {
            tracing::error!(unit = %ctx.unit, origin = %o, %reason, "origin stalled at handshake");
            u.stalled.insert(o, Stall { reason, since: now });
        }
        u.stalled.keys().copied().collect()
    }))
}

/// The first position holding an event the parent lacks.
fn start_position(
    log: &Log,
    acked: &HashMap<UnitId, (u64, Hash)>,
    stalled: &HashSet<UnitId>,
) -> Result<u64, LogError> {
    let mut start = log.len();
    for (o, h) in log.heads() {
        if stalled.contains(&o) {
            continue;
        }
        let have = acked.get(&o).map_or(0, |(s, _)| *s);
        if h.seq > have
            && let Some(p) = log.position_of(o, have + 1)?
        {
            start = start.min(p);
        }
    }
    Ok(start)
}

/// The next batch of events the parent lacks, from `pos` on.
fn next_batch(
    log: &Log,
    pos: &mut u64,
    sent: &mut HashMap<UnitId, u64>,
    stalled: &HashSet<UnitId>,
    limits: &Limits,
) -> Result<Option<Vec<Bytes>>, LogError> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    loop {
        let items = log.read(*pos, limits.max_batch_events, limits.max_batch_bytes)?;
        if items.is_empty() {
            break;
        }
        for (p, ev) in items {
            if out.len() >= limits.max_batch_events
                || (bytes + ev.len() > limits.max_batch_bytes && !out.is_empty())
            {
                return Ok(Some(out));
            }
            *pos = p + 1;
            let h = event::peek(&ev).map_err(|e| LogError::Corrupt {
                at: format!("position {p}"),
                reason: e.to_string(),
            })?;
            if stalled.contains(&h.origin) {
                continue;
            }
            let s = sent.entry(h.origin).or_insert(0);
            if h.seq <= *s {
                continue;
            }
            *s = h.seq;
            bytes += ev.len();
            out.push(ev);
        }
        if out.len() >= limits.max_batch_events {
            break;
        }
    }
    Ok((!out.is_empty()).then_some(out))
}
