//! The log's single writer: group commit of concurrent appends.
//!
//! Requests queue on a channel; the writer takes every request waiting (up
//! to a cap), checks each against the heads as they stand after the requests
//! before it, puts the accepted ones into one segment, writes segment,
//! indexes and heads in one sled batch, flushes, writes the durability
//! anchor, and only then answers. A request that fails its checks is
//! answered at once and leaves no trace.
//!
//! When the disk refuses a write (full, read-only, failing), nothing of the
//! group is acknowledged and the log stops writing: sled 0.34 cannot be
//! trusted after an IO error (its next write may block forever waiting for a
//! flush that failed), so every later request is refused at once with the
//! same reason, and [`super::Log::failure`] tells the daemon, which stops so
//! that its supervisor restarts it. The next open settles whatever part of
//! the refused batch reached the disk (see `open.rs`).

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::anchor::{Anchor, AnchorFile};
use super::segment::SegmentBuilder;
use super::store::{self, WriteBatch};
use super::{
    Appended, Gate, Head, LogError, LogOptions, Refusal, RefusalKind, Replicated, Shared, open,
};
use crate::event::{self, EventId, Hash, Verified};
use crate::proto::v1::Event;
use crate::unit::UnitId;
use crate::validate::MAX_EVENT_BYTES;

/// One append request.
pub(super) enum Request {
    Own {
        drafts: Vec<Event>,
        reply: oneshot::Sender<Result<Vec<Appended>, LogError>>,
    },
    Replicated {
        events: Vec<Verified>,
        /// Events of the own chain are admitted (recovery from a parent or a backup).
        own: bool,
        reply: oneshot::Sender<Result<Replicated, LogError>>,
    },
    Gate {
        op: GateOp,
        reply: oneshot::Sender<Result<Option<Gate>, LogError>>,
    },
}

/// A change of the own chain's gate.
#[derive(Debug)]
pub(super) enum GateOp {
    /// Close until a parent confirms.
    Close { reason: String },
    /// A parent holds `parent_seq` of the own chain.
    Confirm { parent_seq: u64 },
}

impl Request {
    fn events(&self) -> usize {
        match self {
            Request::Own { drafts, .. } => drafts.len(),
            Request::Replicated { events, .. } => events.len(),
            Request::Gate { .. } => 0,
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Request::Own { drafts, .. } => drafts.len() * 256,
            Request::Replicated { events, .. } => events.iter().map(|e| e.bytes.len()).sum(),
            Request::Gate { .. } => 0,
        }
    }

    fn refuse(self, e: impl Fn() -> LogError) {
        match self {
            Request::Own { reply, .. } => {
                let _ = reply.send(Err(e()));
            }
            Request::Replicated { reply, .. } => {
                let _ = reply.send(Err(e()));
            }
            Request::Gate { reply, .. } => {
                let _ = reply.send(Err(e()));
            }
        }
    }
}

/// The writer thread and the way to reach it. Dropping it stops the thread
/// after the requests already queued.
#[derive(Debug)]
pub(super) struct Handle {
    tx: Mutex<Option<mpsc::Sender<Request>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Handle {
    pub(super) fn send(&self, r: Request) -> Result<(), LogError> {
        let guard = self.tx.lock().map_err(|_| LogError::Closed)?;
        guard
            .as_ref()
            .ok_or(LogError::Closed)?
            .send(r)
            .map_err(|_| LogError::Closed)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Ok(mut t) = self.thread.lock()
            && let Some(t) = t.take()
        {
            let _ = t.join();
        }
    }
}

pub(super) fn spawn(
    shared: Arc<Shared>,
    heads: HashMap<UnitId, Head>,
    len: u64,
    gate: Option<Gate>,
    anchor: AnchorFile,
    opts: LogOptions,
) -> Result<Handle, LogError> {
    let (tx, rx) = mpsc::channel();
    let mut w = Writer {
        shared,
        heads,
        next_pos: len,
        gate,
        anchor,
        opts,
        poisoned: None,
    };
    let thread = std::thread::Builder::new()
        .name("sync178-log-writer".into())
        .spawn(move || w.run(rx))
        .map_err(|e| LogError::Poisoned(format!("cannot start the writer thread: {e}")))?;
    Ok(Handle {
        tx: Mutex::new(Some(tx)),
        thread: Mutex::new(Some(thread)),
    })
}

struct Writer {
    shared: Arc<Shared>,
    /// Durable heads.
    heads: HashMap<UnitId, Head>,
    /// Durable length.
    next_pos: u64,
    /// The own chain's gate as applied to the store.
    gate: Option<Gate>,
    anchor: AnchorFile,
    opts: LogOptions,
    /// Set by the first storage error: the store takes no more writes.
    poisoned: Option<String>,
}

/// What readers learn once a write is durable.
struct Publish {
    heads: Vec<(UnitId, Head)>,
    gate: Option<Gate>,
}

/// An event accepted by a request, not yet placed in the segment.
struct Pending {
    origin: UnitId,
    seq: u64,
    hash: Hash,
    own_id: Option<EventId>,
    bytes: Bytes,
}

/// What one group commit collects.
struct Group {
    base: u64,
    segment: SegmentBuilder,
    /// (origin, seq, hash) of every event in the segment, in order.
    entries: Vec<(UnitId, u64, Hash)>,
    /// Heads changed by the group.
    heads: HashMap<UnitId, Head>,
    /// Own ids stored by the group.
    ids: HashMap<EventId, Appended>,
    /// Content of the own events staged, by id, to tell a retry from a conflict.
    contents: HashMap<EventId, Event>,
    /// The gate as it stands after the staged requests.
    gate: Option<Gate>,
    gate_changed: bool,
    /// First event of each origin in the segment: (origin, seq, index).
    firsts: Vec<(UnitId, u64, u32)>,
    seen: HashSet<UnitId>,
}

/// Answers waiting for the flush.
enum Answer {
    Own(
        oneshot::Sender<Result<Vec<Appended>, LogError>>,
        Vec<Appended>,
    ),
    Replicated(oneshot::Sender<Result<Replicated, LogError>>, Replicated),
    Gate(
        oneshot::Sender<Result<Option<Gate>, LogError>>,
        Option<Gate>,
    ),
}

impl Answer {
    fn send(self, result: Result<(), &LogError>) {
        fn err(e: &LogError) -> LogError {
            match e {
                LogError::Storage(s) => LogError::Storage(s.clone()),
                other => LogError::Poisoned(other.to_string()),
            }
        }
        match (self, result) {
            (Answer::Own(tx, res), Ok(())) => {
                let _ = tx.send(Ok(res));
            }
            (Answer::Replicated(tx, res), Ok(())) => {
                let _ = tx.send(Ok(res));
            }
            (Answer::Gate(tx, res), Ok(())) => {
                let _ = tx.send(Ok(res));
            }
            (Answer::Own(tx, _), Err(e)) => {
                let _ = tx.send(Err(err(e)));
            }
            (Answer::Replicated(tx, _), Err(e)) => {
                let _ = tx.send(Err(err(e)));
            }
            (Answer::Gate(tx, _), Err(e)) => {
                let _ = tx.send(Err(err(e)));
            }
        }
    }
}

/// The content of an own draft or event: what the submitter chose, without
/// what the node assigns (chain fields, `recorded_at`).
fn content(ev: &Event) -> Event {
    let mut e = ev.clone();
    e.origin.clear();
    e.seq = 0;
    e.prev_hash.clear();
    e.hash.clear();
    e.recorded_at = 0;
    e
}

impl Writer {
    fn run(&mut self, rx: mpsc::Receiver<Request>) {
        while let Ok(first) = rx.recv() {
            let mut events = first.events();
            let mut bytes = first.bytes();
            let mut group = vec![first];
            while events < self.opts.max_group_events && bytes < self.opts.max_group_bytes {
                match rx.try_recv() {
                    Ok(r) => {
                        events += r.events();
                        bytes += r.bytes();
                        group.push(r);
                    }
                    Err(_) => break,
                }
            }
            self.commit(group);
        }
    }

    fn commit(&mut self, requests: Vec<Request>) {
        if let Some(why) = &self.poisoned {
            for r in requests {
                r.refuse(|| LogError::Storage(why.clone()));
            }
            return;
        }
        let mut g = Group {
            base: self.next_pos,
            segment: SegmentBuilder::new(),
            entries: Vec::new(),
            heads: HashMap::new(),
            ids: HashMap::new(),
            contents: HashMap::new(),
            gate: self.gate.clone(),
            gate_changed: false,
            firsts: Vec::new(),
            seen: HashSet::new(),
        };
        let mut answers = Vec::with_capacity(requests.len());
        for r in requests {
            match r {
                Request::Own { drafts, reply } => match self.stage_own(&mut g, drafts) {
                    Ok(res) => answers.push(Answer::Own(reply, res)),
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                },
                Request::Replicated { events, own, reply } => {
                    match self.stage_replicated(&mut g, events, own) {
                        Ok(res) => answers.push(Answer::Replicated(reply, res)),
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    }
                }
                Request::Gate { op, reply } => {
                    let gate = self.stage_gate(&mut g, op);
                    answers.push(Answer::Gate(reply, gate));
                }
            }
        }
        self.lift_gate(&mut g);
        let added = u64::from(g.segment.len());
        if added == 0 && !g.gate_changed {
            for a in answers {
                a.send(Ok(()));
            }
            return;
        }
        let result = self.write(g);
        for a in answers {
            a.send(result.as_ref().map(|_| ()));
        }
    }

    /// Applies, flushes and publishes a group; the first storage error
    /// stops the log (see the module header).
    fn write(&mut self, g: Group) -> Result<(), LogError> {
        let added = u64::from(g.segment.len());
        let changed: Vec<(UnitId, Head)> = g.heads.iter().map(|(o, h)| (*o, *h)).collect();
        let gate = g.gate.clone();
        let gate_changed = g.gate_changed;
        let batch = self.batch(g);
        if let Err(e) = self
            .shared
            .store
            .apply(batch)
            .and_then(|()| self.shared.store.flush())
        {
            return Err(self.fail(e.to_string()));
        }
        self.next_pos += added;
        self.heads.extend(changed.iter().copied());
        if gate_changed {
            self.gate = gate.clone();
        }
        self.publish(Publish {
            heads: changed,
            gate,
        })
    }

    /// Stops the log after a storage error; returns the error to answer with.
    fn fail(&mut self, why: String) -> LogError {
        tracing::error!(error = %why, "the disk refused a write: nothing acknowledged, the log takes no more writes");
        self.poisoned = Some(why.clone());
        self.shared.failure.send_replace(Some(why.clone()));
        LogError::Storage(why)
    }

    /// Writes the anchor and shows a durable write to readers.
    fn publish(&mut self, p: Publish) -> Result<(), LogError> {
        let own = self
            .heads
            .get(&self.shared.unit)
            .copied()
            .unwrap_or(Head::EMPTY);
        let anchored = self.anchor.write(&Anchor {
            len: self.next_pos,
            own_seq: own.seq,
            own_hash: own.hash,
        });
        {
            let mut shared = self.shared.heads.write().unwrap_or_else(|p| p.into_inner());
            shared.extend(p.heads.iter().copied());
        }
        self.shared.len.send_replace(self.next_pos);
        self.shared.gate.send_replace(p.gate);
        // The events are durable in the store either way; without the
        // anchor they are not acknowledged (a retry by id finds them).
        anchored.map_err(|e| self.fail(format!("durability anchor: {e}")))
    }

    /// Applies a gate change to the staged gate; returns it.
    fn stage_gate(&self, g: &mut Group, op: GateOp) -> Option<Gate> {
        let me = self.shared.unit;
        let own = self.head(g, &HashMap::new(), me).seq;
        let next = match op {
            GateOp::Close { reason } => Some(open::merge_gate(g.gate.take(), 0, false, reason)),
            GateOp::Confirm { parent_seq } => match g.gate.take() {
                None if parent_seq <= own => None,
                held => {
                    let need = held.as_ref().map_or(0, |h| h.need_own_seq).max(parent_seq);
                    let reason = if need > own {
                        format!(
                            "the parent holds seq {parent_seq} of this node's own chain and seq {need} \
                             was acknowledged, this store ends at seq {own}: recovering from the parent"
                        )
                    } else {
                        held.as_ref().map(|h| h.reason.clone()).unwrap_or_default()
                    };
                    Some(Gate {
                        need_own_seq: need,
                        confirmed: true,
                        reason,
                    })
                }
            },
        };
        g.gate_changed |= next != self.gate;
        g.gate = next;
        self.lift_gate(g);
        g.gate.clone()
    }

    /// Opens the gate once the staged own chain holds what it needs.
    fn lift_gate(&self, g: &mut Group) {
        let own = self.head(g, &HashMap::new(), self.shared.unit).seq;
        if g.gate
            .as_ref()
            .is_some_and(|gate| gate.confirmed && own >= gate.need_own_seq)
        {
            tracing::info!(unit = %self.shared.unit, own_seq = own, "own chain complete again; recording reopens");
            g.gate = None;
            g.gate_changed = self.gate.is_some();
        }
    }

    fn batch(&self, g: Group) -> WriteBatch {
        let mut batch = WriteBatch::default();
        if g.gate_changed {
            open::put_gate(&mut batch, g.gate.as_ref());
        }
        for (origin, seq, index) in &g.firsts {
            let mut v = [0u8; 12];
            v[..8].copy_from_slice(&g.base.to_be_bytes());
            v[8..].copy_from_slice(&index.to_be_bytes());
            batch.put(store::origin_key(origin.to_bytes(), *seq), v);
        }
        for (id, a) in &g.ids {
            batch.put(store::id_key(id), a.position.to_be_bytes());
        }
        for (origin, h) in &g.heads {
            batch.put(store::head_key(origin.to_bytes()), h.encode());
        }
        if !g.segment.is_empty() {
            batch.put(store::segment_key(g.base), g.segment.finish());
        }
        batch
    }

    /// The head of `origin` as it stands after what is staged.
    fn head(&self, g: &Group, local: &HashMap<UnitId, Head>, origin: UnitId) -> Head {
        local
            .get(&origin)
            .or_else(|| g.heads.get(&origin))
            .or_else(|| self.heads.get(&origin))
            .copied()
            .unwrap_or(Head::EMPTY)
    }

    /// Places accepted events in the group's segment; returns their heads.
    fn place(&self, g: &mut Group, pending: Vec<Pending>) -> Vec<(Option<EventId>, Head)> {
        let mut placed = Vec::with_capacity(pending.len());
        for p in pending {
            let index = g.segment.len();
            let position = g.base + u64::from(index);
            g.segment.push(&p.bytes);
            g.entries.push((p.origin, p.seq, p.hash));
            if g.seen.insert(p.origin) {
                g.firsts.push((p.origin, p.seq, index));
            }
            let head = Head {
                seq: p.seq,
                hash: p.hash,
                position,
            };
            g.heads.insert(p.origin, head);
            placed.push((p.own_id, head));
        }
        placed
    }

    fn stage_own(&self, g: &mut Group, drafts: Vec<Event>) -> Result<Vec<Appended>, LogError> {
        let me = self.shared.unit;
        let mut local: HashMap<UnitId, Head> = HashMap::new();
        let mut local_ids: HashMap<EventId, usize> = HashMap::new();
        let mut local_contents: Vec<(EventId, Event)> = Vec::new();
        // Per draft: Ok(first result) for a duplicate, Err(index into pending) for a new event.
        let mut slots: Vec<Result<Appended, usize>> = Vec::with_capacity(drafts.len());
        let mut pending = Vec::new();
        for (index, mut ev) in drafts.into_iter().enumerate() {
            let reject = |reason: String| LogError::Rejected { index, reason };
            let id: EventId = ev
                .id
                .as_slice()
                .try_into()
                .map_err(|_| reject(format!("id must be 16 bytes, got {}", ev.id.len())))?;
            let conflict = |seq: u64| LogError::Conflict {
                index,
                id: hex::encode(id),
                seq,
            };
            // A void or correction of an earlier event of this request: the
            // caller could not know its target's seq, the writer does.
            link_target(&mut ev, |target| {
                let target: EventId = target.try_into().ok()?;
                local_ids
                    .get(&target)
                    .map(|&i| pending_seq(&pending, i))
                    .filter(|&seq| seq > 0)
            });
            let wanted = content(&ev);
            if let Some(&i) = local_ids.get(&id) {
                if local_contents[i].1 != wanted {
                    return Err(conflict(pending_seq(&pending, i)));
                }
                slots.push(Err(i));
                continue;
            }
            if let Some((first, stored)) = self.find_own(g, &id)? {
                if stored != wanted {
                    return Err(conflict(first.seq));
                }
                slots.push(Ok(first));
                continue;
            }
            if let Some(gate) = &g.gate {
                return Err(LogError::Gated(gate.reason.clone()));
            }
            let head = self.head(g, &local, me);
            ev.origin = me.to_string();
            ev.seq = head.seq + 1;
            ev.prev_hash = head.hash.to_vec();
            let (bytes, hash) = event::seal(&mut ev);
            if bytes.len() > MAX_EVENT_BYTES {
                return Err(reject(format!(
                    "event is {} bytes, over the limit of {MAX_EVENT_BYTES}",
                    bytes.len()
                )));
            }
            local.insert(
                me,
                Head {
                    seq: ev.seq,
                    hash,
                    position: u64::MAX,
                },
            );
            local_ids.insert(id, pending.len());
            local_contents.push((id, wanted));
            slots.push(Err(pending.len()));
            pending.push(Pending {
                origin: me,
                seq: ev.seq,
                hash,
                own_id: Some(id),
                bytes,
            });
        }
        let placed = self.place(g, pending);
        g.contents.extend(local_contents);
        let mut fresh = vec![false; placed.len()];
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            match slot {
                Ok(first) => out.push(first),
                Err(i) => {
                    let (id, head) = placed[i];
                    let id = id.unwrap_or_default();
                    let a = Appended {
                        id,
                        seq: head.seq,
                        position: head.position,
                        hash: head.hash,
                        duplicate: fresh[i],
                    };
                    fresh[i] = true;
                    g.ids.insert(
                        id,
                        Appended {
                            duplicate: false,
                            ..a
                        },
                    );
                    out.push(a);
                }
            }
        }
        Ok(out)
    }

    /// The first result of an own event already stored or staged with
    /// `id`, and its content.
    fn find_own(&self, g: &Group, id: &EventId) -> Result<Option<(Appended, Event)>, LogError> {
        if let (Some(a), Some(c)) = (g.ids.get(id), g.contents.get(id)) {
            return Ok(Some((
                Appended {
                    duplicate: true,
                    ..*a
                },
                c.clone(),
            )));
        }
        let Some(pos) = super::id_position(&self.shared.store, id)? else {
            return Ok(None);
        };
        let found = super::read_range(&self.shared.store, pos, self.next_pos, 1, usize::MAX)?;
        let (_, bytes) = found.into_iter().next().ok_or_else(|| LogError::Corrupt {
            at: format!("id {}", hex::encode(id)),
            reason: format!("points at missing position {pos}"),
        })?;
        let corrupt = |e: event::EventError| LogError::Corrupt {
            at: format!("position {pos}"),
            reason: e.to_string(),
        };
        let h = event::peek(&bytes).map_err(corrupt)?;
        let stored = event::decode(&bytes).map_err(corrupt)?;
        Ok(Some((
            Appended {
                id: *id,
                seq: h.seq,
                position: pos,
                hash: h.hash,
                duplicate: true,
            },
            content(&stored),
        )))
    }

    fn stage_replicated(
        &self,
        g: &mut Group,
        events: Vec<Verified>,
        own: bool,
    ) -> Result<Replicated, LogError> {
        let me = self.shared.unit;
        let mut local: HashMap<UnitId, Head> = HashMap::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut duplicates = 0u32;
        let mut origins: Vec<UnitId> = Vec::new();
        for (index, v) in events.into_iter().enumerate() {
            let h = v.header;
            let refuse = |kind: RefusalKind, reason: String| {
                LogError::Refused(Refusal {
                    kind,
                    index,
                    origin: Some(h.origin),
                    seq: Some(h.seq),
                    reason,
                })
            };
            if !origins.contains(&h.origin) {
                origins.push(h.origin);
            }
            let cur = self.head(g, &local, h.origin);
            if h.seq <= cur.seq {
                let held = if h.seq == cur.seq {
                    Some(cur.hash)
                } else {
                    self.held_hash(g, &pending, h.origin, h.seq)?
                };
                match held {
                    Some(held) if held == h.hash => {
                        duplicates += 1;
                        continue;
                    }
                    Some(held) => {
                        return Err(refuse(
                            RefusalKind::Diverged,
                            format!(
                                "diverged: held hash {}, received {}",
                                event::hex_hash(&held),
                                event::hex_hash(&h.hash)
                            ),
                        ));
                    }
                    None => {
                        return Err(LogError::Corrupt {
                            at: format!("{} seq {}", h.origin, h.seq),
                            reason: "below the head but not found".into(),
                        });
                    }
                }
            }
            if h.seq > cur.seq + 1 {
                return Err(refuse(
                    RefusalKind::Gap,
                    format!("gap: expected seq {}, got {}", cur.seq + 1, h.seq),
                ));
            }
            if h.prev_hash != cur.hash {
                return Err(refuse(
                    RefusalKind::Chain,
                    format!(
                        "chain broken: prev_hash {} is not the hash of seq {} ({})",
                        event::hex_hash(&h.prev_hash),
                        cur.seq,
                        event::hex_hash(&cur.hash)
                    ),
                ));
            }
            local.insert(
                h.origin,
                Head {
                    seq: h.seq,
                    hash: h.hash,
                    position: u64::MAX,
                },
            );
            let own_id = (own && h.origin == me).then_some(h.id);
            if let Some(id) = own_id
                && (g.ids.contains_key(&id)
                    || super::id_position(&self.shared.store, &id)?.is_some())
            {
                return Err(refuse(
                    RefusalKind::Diverged,
                    format!("id {} is already stored at another seq", hex::encode(id)),
                ));
            }
            if let Some(id) = own_id {
                let ev = event::decode(&v.bytes)
                    .map_err(|e| refuse(RefusalKind::Malformed, format!("undecodable: {e}")))?;
                g.contents.insert(id, content(&ev));
            }
            pending.push(Pending {
                origin: h.origin,
                seq: h.seq,
                hash: h.hash,
                own_id,
                bytes: v.bytes,
            });
        }
        let applied = pending.len() as u32;
        for (id, head) in self.place(g, pending) {
            if let Some(id) = id {
                g.ids.insert(
                    id,
                    Appended {
                        id,
                        seq: head.seq,
                        position: head.position,
                        hash: head.hash,
                        duplicate: false,
                    },
                );
            }
        }
        let heads = origins
            .into_iter()
            .map(|o| (o, self.head(g, &HashMap::new(), o)))
            .collect();
        Ok(Replicated {
            applied,
            duplicates,
            heads,
        })
    }

    /// The hash held (stored, staged or pending) for origin's `seq`.
    fn held_hash(
        &self,
        g: &Group,
        pending: &[Pending],
        origin: UnitId,
        seq: u64,
    ) -> Result<Option<Hash>, LogError> {
        if let Some(p) = pending.iter().find(|p| p.origin == origin && p.seq == seq) {
            return Ok(Some(p.hash));
        }
        if let Some(e) = g.entries.iter().find(|e| e.0 == origin && e.1 == seq) {
            return Ok(Some(e.2));
        }
        let found = super::find_origin_seq(&self.shared.store, origin, seq)?;
        match found {
            Some((pos, bytes)) => {
                let h = event::peek(&bytes).map_err(|e| LogError::Corrupt {
                    at: format!("position {pos}"),
                    reason: e.to_string(),
                })?;
                Ok(Some(h.hash))
            }
            None => Ok(None),
        }
    }
}

/// Seq given to the `i`-th new event of a request being staged.
/// Sets `target_seq` of a void or correction that has none from `seq_of`
/// its target id: the one field of a body the log writes, for a target
/// stored by the same request (the caller validated the link).
fn link_target(ev: &mut Event, seq_of: impl Fn(&[u8]) -> Option<u64>) {
    use crate::proto::v1::body::Kind;
    let (target_id, target_seq) = match ev.body.as_mut().and_then(|b| b.kind.as_mut()) {
        Some(Kind::EventVoided(v)) => (&v.target_id, &mut v.target_seq),
        Some(Kind::EventCorrected(c)) => {
            let c = &mut **c;
            (&c.target_id, &mut c.target_seq)
        }
        _ => return,
    };
    if *target_seq == 0
        && let Some(seq) = seq_of(target_id)
    {
        *target_seq = seq;
    }
}

fn pending_seq(pending: &[Pending], i: usize) -> u64 {
    pending.get(i).map_or(0, |p| p.seq)
}
