//! Opening a log: what sled recovered, checked against what the log knows it
//! acknowledged, before a single write.
//!
//! Three checks, in order:
//! 1. **Consistency**: every stored head points at a durable event with its
//!    origin, seq and hash, and no event of the last segment is past its
//!    origin's head. A failed write can leave the derived keys (heads and
//!    indexes) out of step with the segments; they are rebuilt from the
//!    segments, which are never touched.
//! 2. **The anchor** ([`super::anchor`]): a store shorter than the anchor, or
//!    whose own chain ends before the anchor's own seq or differs at it, lost
//!    acknowledged events. The log then closes its own chain (a [`Gate`])
//!    until the missing events are back: it never assigns a seq it may have
//!    assigned before.
//! 3. **The gate** kept in the store's meta survives restarts until lifted.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use bytes::Bytes;

use super::anchor::{Anchor, AnchorFile, Found};
use super::store::{self, Store, WriteBatch, prefix};
use super::{Gate, Head, LogError, load_heads, load_len, load_segment};
use crate::event::{self, EventId};
use crate::unit::UnitId;

/// What [`open`] found and settled.
#[derive(Debug)]
pub(super) struct Opened {
    pub heads: HashMap<UnitId, Head>,
    pub len: u64,
    /// The store was created by this open.
    pub fresh: bool,
    pub gate: Option<Gate>,
    pub anchor: AnchorFile,
    /// What was found wrong and what was done about it, for the log and status.
    pub notices: Vec<String>,
}

/// Meta key of the gate.
pub(super) const GATE_KEY: &str = "gate";

pub(super) fn open(store: &Store, path: &Path, unit: UnitId) -> Result<Opened, LogError> {
    let fresh = super::check_meta(store, path, unit)?;
    let mut notices = Vec::new();
    let mut heads = load_heads(store)?;
    let len = load_len(store)?;
    if let Some(why) = inconsistency(store, &heads, len)? {
        tracing::warn!(log = %path.display(), %why, "event log indexes out of step with the segments; rebuilding them");
        heads = rebuild_indexes(store, unit, len)?;
        notices.push(format!(
            "heads and indexes were out of step with the stored events ({why}); rebuilt from the events"
        ));
    }
    let mut gate = load_gate(store)?;
    let (mut anchor_file, found) = AnchorFile::read(path);
    let own = heads.get(&unit).copied().unwrap_or(Head::EMPTY);
    match found {
        Found::Absent if !fresh && len > 0 => notices
            .push("no durability anchor: a store written before anchors; taken as it is".into()),
        Found::Absent => {}
        Found::Unreadable(why) => {
            let reason = format!(
                "the durability anchor is unreadable ({why}): what this node acknowledged is not known; \
                 its own chain stays closed until the parent confirms it"
            );
            notices.push(reason.clone());
            gate = Some(merge_gate(gate, 0, false, reason));
        }
        Found::Read(a) => {
            if let Some(lost) = own_loss(store, unit, own, &a)? {
                let reason = format!(
                    "the store lost acknowledged events of this node's own chain: {lost}; \
                     recording is closed until seq {} is back (from the parent or a backup)",
                    a.own_seq
                );
                notices.push(reason.clone());
                gate = Some(merge_gate(gate, a.own_seq, true, reason));
            }
            if len < a.len {
                notices.push(format!(
                    "the store holds {len} events but {} were acknowledged: {} events of other \
                     origins are missing and will be sent again by the children",
                    a.len,
                    a.len - len
                ));
            }
        }
    }
    if gate
        .as_ref()
        .is_some_and(|g| g.confirmed && own.seq >= g.need_own_seq)
    {
        gate = None;
    }
    save_gate(store, gate.as_ref())?;
    anchor_file
        .write(&Anchor {
            len,
            own_seq: own.seq,
            own_hash: own.hash,
        })
        .map_err(|e| LogError::Corrupt {
            at: format!("anchor in {}", path.display()),
            reason: format!("cannot write: {e}"),
        })?;
    for n in &notices {
        tracing::error!(log = %path.display(), notice = %n, "event log opened with a finding");
    }
    Ok(Opened {
        heads,
        len,
        fresh,
        gate,
        anchor: anchor_file,
        notices,
    })
}

/// Combines a gate already held with a new finding: the stricter wins.
pub(super) fn merge_gate(held: Option<Gate>, need: u64, confirmed: bool, reason: String) -> Gate {
    match held {
        Some(g) => Gate {
            need_own_seq: g.need_own_seq.max(need),
            confirmed: g.confirmed && confirmed,
            reason,
        },
        None => Gate {
            need_own_seq: need,
            confirmed,
            reason,
        },
    }
}

/// How the own chain falls short of the anchor, if it does.
fn own_loss(
    store: &Store,
    unit: UnitId,
    own: Head,
    a: &Anchor,
) -> Result<Option<String>, LogError> {
    if a.own_seq == 0 {
        return Ok(None);
    }
    if own.seq < a.own_seq {
        return Ok(Some(format!(
            "the chain ends at seq {}, seq {} was acknowledged",
            own.seq, a.own_seq
        )));
    }
    let held = if own.seq == a.own_seq {
        Some(own.hash)
    } else {
        super::find_origin_seq(store, unit, a.own_seq)?
            .and_then(|(_, b)| event::peek(&b).ok())
            .map(|h| h.hash)
    };
    Ok((held != Some(a.own_hash)).then(|| {
        format!(
            "seq {} differs from the one acknowledged ({})",
            a.own_seq,
            event::hex_hash(&a.own_hash)
        )
    }))
}

/// Why heads and segments disagree, if they do.
fn inconsistency(
    store: &Store,
    heads: &HashMap<UnitId, Head>,
    len: u64,
) -> Result<Option<String>, LogError> {
    let mut segments: HashMap<u64, Vec<Bytes>> = HashMap::new();
    for (origin, h) in heads {
        if h.position >= len {
            return Ok(Some(format!(
                "the head of {origin} (seq {}) is at position {}, past the end of the log ({len})",
                h.seq, h.position
            )));
        }
        let Some((seg_pos, events)) = segment_at(store, &mut segments, h.position)? else {
            return Ok(Some(format!("no segment holds the head of {origin}")));
        };
        let found = events
            .get((h.position - seg_pos) as usize)
            .and_then(|b| event::peek(b).ok());
        match found {
            Some(e) if e.origin == *origin && e.seq == h.seq && e.hash == h.hash => {}
            _ => {
                return Ok(Some(format!(
                    "the head of {origin} (seq {}) does not match the event at position {}",
                    h.seq, h.position
                )));
            }
        }
    }
    // The last segment's events are all at or below their origin's head.
    if len > 0
        && let Some((_, events)) = segment_at(store, &mut segments, len - 1)?
    {
        for b in events {
            let Ok(e) = event::peek(b) else { continue };
            let head = heads.get(&e.origin).map_or(0, |h| h.seq);
            if e.seq > head {
                return Ok(Some(format!(
                    "{} seq {} is stored but its head says seq {head}",
                    e.origin, e.seq
                )));
            }
        }
    }
    Ok(None)
}

/// The decoded segment holding `pos`, cached.
fn segment_at<'a>(
    store: &Store,
    cache: &'a mut HashMap<u64, Vec<Bytes>>,
    pos: u64,
) -> Result<Option<(u64, &'a Vec<Bytes>)>, LogError> {
    let Some((k, v)) = store.last_in(&store::segment_key(0), &store::segment_key(pos))? else {
        return Ok(None);
    };
    let seg_pos = store::be_u64(&k, 1).unwrap_or(0);
    if let std::collections::hash_map::Entry::Vacant(e) = cache.entry(seg_pos) {
        let (_, events) = load_segment(&k, &v)?;
        e.insert(events);
    }
    Ok(cache.get(&seg_pos).map(|e| (seg_pos, e)))
}

/// Rewrites heads, origin index and id index from the segments; returns the heads.
fn rebuild_indexes(
    store: &Store,
    unit: UnitId,
    len: u64,
) -> Result<HashMap<UnitId, Head>, LogError> {
    let mut heads: HashMap<UnitId, Head> = HashMap::new();
    let mut batch = WriteBatch::default();
    let mut next = 0u64;
    for r in store.scan_prefix(&[prefix::SEGMENT]) {
        let (k, v) = r?;
        let (seg_pos, events) = load_segment(&k, &v)?;
        if seg_pos != next {
            return Err(LogError::Corrupt {
                at: format!("segment {seg_pos}"),
                reason: format!("expected a segment at position {next}"),
            });
        }
        let mut seen: HashSet<UnitId> = HashSet::new();
        for (i, b) in events.iter().enumerate() {
            let pos = seg_pos + i as u64;
            let e = event::peek(b).map_err(|e| LogError::Corrupt {
                at: format!("position {pos}"),
                reason: e.to_string(),
            })?;
            let prev = heads.get(&e.origin).copied().unwrap_or(Head::EMPTY);
            if e.seq != prev.seq + 1 || e.prev_hash != prev.hash {
                return Err(LogError::Corrupt {
                    at: format!("position {pos} ({} seq {})", e.origin, e.seq),
                    reason: format!("does not follow seq {} of its chain", prev.seq),
                });
            }
            if seen.insert(e.origin) {
                let mut ov = [0u8; 12];
                ov[..8].copy_from_slice(&seg_pos.to_be_bytes());
                ov[8..].copy_from_slice(&(i as u32).to_be_bytes());
                batch.put(store::origin_key(e.origin.to_bytes(), e.seq), ov);
            }
            if e.origin == unit {
                batch.put(store::id_key(&e.id), pos.to_be_bytes());
            }
            heads.insert(
                e.origin,
                Head {
                    seq: e.seq,
                    hash: e.hash,
                    position: pos,
                },
            );
        }
        next = seg_pos + events.len() as u64;
    }
    debug_assert_eq!(next, len);
    // Entries written for events that never became durable.
    for r in store.scan_prefix(&[prefix::HEAD]) {
        let (k, _) = r?;
        let origin = k
            .get(1..5)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .and_then(UnitId::from_bytes);
        if origin.is_none_or(|o| !heads.contains_key(&o)) {
            batch.remove(&k);
        }
    }
    for r in store.scan_prefix(&[prefix::ORIGIN]) {
        let (k, v) = r?;
        if store::be_u64(&v, 0).is_none_or(|p| p >= len) {
            batch.remove(&k);
        }
    }
    for r in store.scan_prefix(&[prefix::ID]) {
        let (k, v) = r?;
        let id: Option<EventId> = k.get(1..17).and_then(|b| b.try_into().ok());
        if id.is_none() || store::be_u64(&v, 0).is_none_or(|p| p >= len) {
            batch.remove(&k);
        }
    }
    for (origin, h) in &heads {
        batch.put(store::head_key(origin.to_bytes()), h.encode());
    }
    store.commit(batch)?;
    Ok(heads)
}

fn load_gate(store: &Store) -> Result<Option<Gate>, LogError> {
    let Some(v) = store.get(&store::meta_key(GATE_KEY))? else {
        return Ok(None);
    };
    let (Some(need), Some(&confirmed)) = (store::be_u64(&v, 0), v.get(8)) else {
        return Err(LogError::Corrupt {
            at: "meta gate".into(),
            reason: "unreadable".into(),
        });
    };
    Ok(Some(Gate {
        need_own_seq: need,
        confirmed: confirmed == 1,
        reason: String::from_utf8_lossy(v.get(9..).unwrap_or_default()).into_owned(),
    }))
}

/// Puts the gate (or its removal) into `batch`.
pub(super) fn put_gate(batch: &mut WriteBatch, gate: Option<&Gate>) {
    let key = store::meta_key(GATE_KEY);
    match gate {
        None => batch.remove(&key),
        Some(g) => {
            let mut v = g.need_own_seq.to_be_bytes().to_vec();
            v.push(u8::from(g.confirmed));
            v.extend_from_slice(g.reason.as_bytes());
            batch.put(key, v);
        }
    }
}

fn save_gate(store: &Store, gate: Option<&Gate>) -> Result<(), LogError> {
    let mut b = WriteBatch::default();
    put_gate(&mut b, gate);
    store.commit(b)?;
    Ok(())
}
