//! Following a node's feed: verify, prefetch correction targets, apply in
//! order, save state with its checkpoint, reconnect on failure.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sync178_shared::event::{self, now_ms};
use sync178_shared::history::History;
use sync178_shared::proto::v1::body::Kind;
use sync178_shared::proto::v1::feed_client::FeedClient;
use sync178_shared::proto::v1::{Event, FeedBatch, FetchRequest, HeadsRequest, SubscribeRequest};
use sync178_shared::revocation::{Offered, Revocations};
use sync178_shared::tls::{Identity, LoadedTls, Role};
use sync178_shared::unit::UnitId;
use tonic::transport::Channel;

use sync178_shared::exit::error_chain;

use crate::state::State;

/// Why following or replaying the feed failed.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Could not reach the node.
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect {
        /// The node's endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// The node answered with an error.
    #[error("node: {0}")]
    Status(#[from] tonic::Status),
    /// The feed skipped or repeated a position.
    #[error("feed gave position {got}, expected {expected}")]
    Position {
        /// Next position the state needs.
        expected: u64,
        /// What came.
        got: u64,
    },
    /// An event that does not verify or decode (the node's store was altered).
    #[error("event at position {position}: {reason}")]
    BadEvent {
        /// Feed position.
        position: u64,
        /// Why.
        reason: String,
    },
    /// The feed ended before the wanted position.
    #[error("feed ended at position {0}")]
    Ended(u64),
}

/// How often a following hub asks the node what it holds, for lag in events.
pub const HEADS_EVERY: Duration = Duration::from_secs(2);

/// Snapshots wait at least this many times as long as the last one took.
const SAVE_SHARE: u32 = 10;

/// Whether a snapshot is due `since` the last one, which took `last_took`:
/// after `every`, and after `SAVE_SHARE` times the last save (a big state
/// takes seconds to save; this keeps saving to ~1/`SAVE_SHARE` of the time).
pub fn snapshot_due(since: Duration, every: Duration, last_took: Duration) -> bool {
    since >= every.max(last_took * SAVE_SHARE)
}

/// What the followed node holds, when last asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeHeads {
    /// The node's feed length.
    pub next_position: u64,
    /// Highest seq held per origin.
    pub seqs: BTreeMap<UnitId, u64>,
    /// When it was asked, ms since the epoch.
    pub at_ms: i64,
}

/// A connection to a node's feed.
#[derive(Debug, Clone)]
pub struct FeedSource {
    client: FeedClient<Channel>,
    /// The hub's revocation list, refreshed from every `Feed.Heads` answer.
    revocations: Option<Revocations>,
}

impl FeedSource {
    /// Connects to `endpoint`, expecting the node `unit`, with the hub's certificate.
    pub async fn connect(
        endpoint: &str,
        tls: &LoadedTls,
        unit: UnitId,
    ) -> Result<FeedSource, FollowError> {
        FeedSource::connect_with(endpoint, tls, unit, None).await
    }

    /// [`FeedSource::connect`], refusing the node if `revocations` revokes
    /// it, and keeping `revocations` up to date from the node's heads.
    pub async fn connect_with(
        endpoint: &str,
        tls: &LoadedTls,
        unit: UnitId,
        revocations: Option<Revocations>,
    ) -> Result<FeedSource, FollowError> {
        let err = |reason: String| FollowError::Connect {
            endpoint: endpoint.to_string(),
            reason,
        };
        let dialer = tls
            .dialer(Identity::new(unit, Role::Node), revocations.clone())
            .map_err(|e| err(e.to_string()))?;
        let ep = dialer
            .endpoint(endpoint)
            .map_err(|e| err(e.to_string()))?
            .connect_timeout(Duration::from_secs(5));
        let channel = dialer.connect(ep).await.map_err(|e| err(error_chain(&e)))?;
        Ok(FeedSource {
            client: FeedClient::new(channel).max_decoding_message_size(64 << 20),
            revocations,
        })
    }

    /// The feed from `from` on.
    pub async fn subscribe(
        &mut self,
        from: u64,
    ) -> Result<tonic::Streaming<FeedBatch>, FollowError> {
        Ok(self
            .client
            .subscribe(SubscribeRequest {
                from_position: from,
            })
            .await?
            .into_inner())
    }

    /// What the node holds now.
    pub async fn heads(&mut self) -> Result<NodeHeads, FollowError> {
        let r = self.client.heads(HeadsRequest {}).await?.into_inner();
        if let Some(list) = &self.revocations
            && !r.revocations.is_empty()
        {
            match list.offer(&r.revocations) {
                Ok((Offered::Adopted(number), l)) => {
                    tracing::info!(
                        number,
                        revoked = l.len(),
                        "revocation list adopted from the node"
                    );
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "revocation list from the node refused; the old one kept")
                }
            }
        }
        Ok(NodeHeads {
            next_position: r.next_position,
            seqs: r
                .heads
                .iter()
                .filter_map(|h| Some((h.origin.parse().ok()?, h.seq)))
                .collect(),
            at_ms: now_ms(),
        })
    }

    /// Fetches the targets of the voids and corrections among `events`.
    pub async fn prefetch(
        &mut self,
        events: &[(u64, Event)],
    ) -> Result<HashMap<(UnitId, u64), Event>, FollowError> {
        let mut out = HashMap::new();
        for (_, ev) in events {
            let target_seq = match ev.body.as_ref().and_then(|b| b.kind.as_ref()) {
                Some(Kind::EventVoided(v)) => v.target_seq,
                Some(Kind::EventCorrected(c)) => c.target_seq,
                _ => continue,
            };
            let Ok(origin) = ev.origin.parse::<UnitId>() else {
                continue;
            };
            if target_seq == 0 || out.contains_key(&(origin, target_seq)) {
                continue;
            }
            let r = self
                .client
                .fetch(FetchRequest {
                    origin: origin.to_string(),
                    seq: target_seq,
                })
                .await?
                .into_inner();
            if !r.event.is_empty()
                && let Ok(t) = event::decode(&r.event)
            {
                out.insert((origin, target_seq), t);
            }
        }
        Ok(out)
    }
}

/// Verifies and decodes a feed batch, checking positions follow `next`.
pub fn decode_batch(batch: FeedBatch, next: u64) -> Result<Vec<(u64, Event)>, FollowError> {
    let mut out = Vec::with_capacity(batch.items.len());
    for (expected, item) in (next..).zip(batch.items) {
        if item.position != expected {
            return Err(FollowError::Position {
                expected,
                got: item.position,
            });
        }
        out.push((item.position, decode_verified(item.position, item.event)?));
    }
    Ok(out)
}

fn decode_verified(position: u64, bytes: Bytes) -> Result<Event, FollowError> {
    let bad = |reason: String| FollowError::BadEvent { position, reason };
    event::open(bytes.clone()).map_err(|e| bad(e.to_string()))?;
    event::decode(&bytes).map_err(|e| bad(e.to_string()))
}

/// Applies decoded events in order; skipped events are logged and counted.
pub fn apply_all(
    state: &mut State,
    history: &History,
    events: &[(u64, Event)],
    fetched: &HashMap<(UnitId, u64), Event>,
) {
    let now = now_ms();
    let mut fetch = |o: UnitId, s: u64| fetched.get(&(o, s)).cloned();
    for (pos, ev) in events {
        if let Err(skip) = state.apply(history, *pos, ev, now, &mut fetch) {
            tracing::warn!(position = pos, origin = %ev.origin, seq = ev.seq, reason = %skip, "event skipped");
        }
    }
}

/// Replays the feed from position 0 into a fresh state, up to (not including) `upto`.
pub async fn replay(
    source: &mut FeedSource,
    history: &History,
    upto: u64,
) -> Result<State, FollowError> {
    let mut state = State::new(history);
    if upto == 0 {
        return Ok(state);
    }
    let mut stream = source.subscribe(0).await?;
    while state.checkpoint < upto {
        let batch = stream
            .message()
            .await?
            .ok_or(FollowError::Ended(state.checkpoint))?;
        let mut events = decode_batch(batch, state.checkpoint)?;
        events.retain(|(p, _)| *p < upto);
        let fetched = source.prefetch(&events).await?;
        apply_all(&mut state, history, &events, &fetched);
    }
    Ok(state)
}

/// What a follower reports as it goes.
pub struct Hooks<'a> {
    /// Saves the state (on the snapshot interval).
    pub save: &'a (dyn Fn() -> futures::future::BoxFuture<'static, ()> + Send + Sync),
    /// After each applied batch, with the new checkpoint.
    pub on_applied: &'a (dyn Fn(u64) + Send + Sync),
    /// Every [`HEADS_EVERY`], with what the node holds.
    pub on_heads: &'a (dyn Fn(NodeHeads) + Send + Sync),
}

/// One connection's worth of following: applies batches until the stream
/// ends, an error, or `stop`; saves on the snapshot interval; asks the node
/// for its heads every [`HEADS_EVERY`] (a node that cannot answer only
/// leaves lag in events unknown).
pub async fn follow_once(
    source: &mut FeedSource,
    history: &History,
    state: &Arc<RwLock<State>>,
    snapshot_every: Duration,
    hooks: &Hooks<'_>,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<(), FollowError> {
    let from = read(state).checkpoint;
    let mut stream = source.subscribe(from).await?;
    let mut heads_source = source.clone();
    let mut last_save = Instant::now();
    let mut last_took = Duration::ZERO;
    let mut ask = tokio::time::interval(HEADS_EVERY);
    ask.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let msg = tokio::select! {
            m = stream.message() => m?,
            _ = ask.tick() => {
                match heads_source.heads().await {
                    Ok(h) => (hooks.on_heads)(h),
                    Err(e) => tracing::debug!(error = %e, "the node did not give its heads"),
                }
                continue;
            }
            _ = stop.cancelled() => return Ok(()),
        };
        let Some(batch) = msg else {
            return Err(FollowError::Ended(read(state).checkpoint));
        };
        let next = read(state).checkpoint;
        let events = decode_batch(batch, next)?;
        let fetched = source.prefetch(&events).await?;
        let checkpoint = {
            let mut s = state.write().unwrap_or_else(|p| p.into_inner());
            apply_all(&mut s, history, &events, &fetched);
            s.checkpoint
        };
        (hooks.on_applied)(checkpoint);
        if snapshot_due(last_save.elapsed(), snapshot_every, last_took) {
            let t = Instant::now();
            (hooks.save)().await;
            last_took = t.elapsed();
            last_save = Instant::now();
        }
    }
}

/// Read access to shared state (a poisoned lock still holds a whole state).
pub fn read(state: &RwLock<State>) -> std::sync::RwLockReadGuard<'_, State> {
    state.read().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_wait_for_the_interval_and_ten_times_the_last_save() {
        let ms = Duration::from_millis;
        // A quick save: the configured interval decides.
        assert!(!snapshot_due(ms(999), ms(1000), ms(5)));
        assert!(snapshot_due(ms(1000), ms(1000), ms(5)));
        // A 2.3 s save (a 10M-event state): the next waits 23 s.
        assert!(!snapshot_due(ms(22_999), ms(1000), ms(2300)));
        assert!(snapshot_due(ms(23_000), ms(1000), ms(2300)));
    }
}
